//! `worlds up`: plan -> containers -> restore -> summary.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use chrono::Local;
use futures::future::join_all;

use super::env::write_cnf;
use super::plan::make_plan;
use super::worlds::{env_password, load_worlds};
use crate::catalog::PlannedWorld;
use crate::cli::UpArgs;
use crate::config::Config;
use crate::db::{wait_ready, Target};
use crate::engine::{
    allocate_ports, container_name, ensure_image, is_port_conflict, is_port_taken, Engine,
    WorldContainer, WorldSpec,
};
use crate::error::usage;
use crate::load::progress::Progress;
use crate::load::{restore, Counters, RestoreOptions};
use crate::output::{human_bytes, human_duration, print, table};
use crate::state::{EnvDir, Outcome, RestoreRecord};

/// What to do with one planned world.
enum Action {
    /// Running from the same dump and restored: leave it.
    Keep,
    /// A container exists but holds another dump, or failed: remove and start over.
    Replace,
    Create,
}

/// The end of one world's `up`.
struct WorldResult {
    world: String,
    outcome: Result<(), String>,
    rows: u64,
    sql_bytes: u64,
    elapsed: Duration,
    kept: bool,
}

pub async fn run(config: &Config, args: &UpArgs) -> Result<i32> {
    let plan = make_plan(config, &args.select)?;
    for s in &plan.skipped {
        eprintln!("skipped {}: {}", s.file, s.reason);
    }
    if plan.worlds.is_empty() {
        return Err(usage(
            "no world to start: every host was skipped (see above)",
        ));
    }
    let engine = Engine::connect().await?;
    ensure_image(&engine, &config.image).await?;
    let env_dir = EnvDir::new(config.env_dir());
    let existing = engine.list_worlds(Some(&config.env)).await?;
    let password = match env_password(&engine, &env_dir, &existing).await {
        Some(pw) => {
            if env_dir.password().is_none() {
                env_dir.store_password(&pw)?;
            }
            pw
        }
        None => env_dir.password_or_create()?,
    };

    let interrupted = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    tokio::select! {
        result = bring_up(&engine, config, args, &plan.worlds, &existing, &password) => result,
        _ = interrupted => {
            eprintln!(
                "\ninterrupted: the containers created so far are labelled and stay until \
                 `worlds down{}` removes them (or `worlds up` finishes the job)",
                if config.env == "default" { String::new() } else { format!(" --env {}", config.env) }
            );
            Ok(130)
        }
    }
}

async fn bring_up(
    engine: &Engine,
    config: &Config,
    args: &UpArgs,
    planned: &[PlannedWorld],
    existing: &[WorldContainer],
    password: &str,
) -> Result<i32> {
    let env_dir = EnvDir::new(config.env_dir());
    for c in existing {
        if !planned.iter().any(|w| w.world == c.world) {
            eprintln!(
                "note: world {} is not in this plan and keeps its dump {} ({}); \
                 remove it with `worlds down` and run `up` again if the environment must match",
                c.world,
                c.dump,
                c.dump_timestamp.replace('T', " ")
            );
        }
    }
    let mut actions = Vec::new();
    for w in planned {
        let action = match existing.iter().find(|c| c.world == w.world) {
            Some(c) if same_dump(c, w) && c.running => {
                let restored = env_dir
                    .read_record(&w.world)
                    .map(|r| r.outcome == Outcome::Ready)
                    .unwrap_or(args.no_restore);
                if restored {
                    Action::Keep
                } else {
                    Action::Replace
                }
            }
            Some(_) => Action::Replace,
            None => Action::Create,
        };
        actions.push(action);
    }
    for (w, action) in planned.iter().zip(&actions) {
        if let Action::Replace = action {
            eprintln!(
                "{}: replacing the old world (other dump, stopped or not restored)",
                w.world
            );
            engine.remove_world(&config.env, &w.world).await?;
            env_dir.remove_record(&w.world);
        }
    }

    // Ports: world i wants port_base + i; skip ports of other worlds and busy ones.
    let all = engine.list_worlds(None).await?;
    let kept: HashSet<&str> = planned
        .iter()
        .zip(&actions)
        .filter(|(_, a)| matches!(a, Action::Keep))
        .map(|(w, _)| w.world.as_str())
        .collect();
    let mut claimed: HashSet<u16> = all
        .iter()
        .filter(|c| c.env != config.env || kept.contains(c.world.as_str()))
        .map(|c| c.port)
        .collect();
    let choices = allocate_ports(config.port_base, planned.len(), &claimed, |p| {
        !claimed.contains(&p) && is_port_taken(p)
    })
    .ok_or_else(|| usage(format!("no free ports from {} up", config.port_base)))?;
    claimed.extend(choices.iter().map(|c| c.port));
    let claimed = Arc::new(Mutex::new(claimed));

    let restoring = actions
        .iter()
        .filter(|a| !matches!(a, Action::Keep))
        .count();
    let options = RestoreOptions {
        jobs: args
            .jobs
            .or(config.jobs)
            .unwrap_or_else(|| default_jobs(restoring)),
        default_db: config.database.clone(),
        defer_indexes: config.defer_indexes,
        load_data: config.load_data,
    };
    let counters: Vec<Arc<Counters>> = planned
        .iter()
        .map(|_| Arc::new(Counters::default()))
        .collect();
    let progress = Progress::new(
        planned
            .iter()
            .zip(&counters)
            .zip(&actions)
            .filter(|(_, a)| !matches!(a, Action::Keep))
            .map(|((w, c), _)| (w.world.clone(), w.dump.size, c.clone()))
            .collect(),
    );
    let ticker = {
        let progress = progress.clone();
        tokio::spawn(async move {
            loop {
                progress.tick();
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };

    let tasks = planned.iter().enumerate().map(|(i, w)| {
        let choice = choices[i];
        let counters = counters[i].clone();
        let claimed = claimed.clone();
        let progress = progress.clone();
        let options = options.clone();
        let env_dir = env_dir.clone();
        let keep = matches!(actions[i], Action::Keep);
        async move {
            let started = Instant::now();
            if keep {
                let rows = env_dir
                    .read_record(&w.world)
                    .map(|r| r.total_rows())
                    .unwrap_or(0);
                return WorldResult {
                    world: w.world.clone(),
                    outcome: Ok(()),
                    rows,
                    sql_bytes: 0,
                    elapsed: Duration::ZERO,
                    kept: true,
                };
            }
            if choice.port != choice.wanted {
                progress.println(&format!(
                    "{}: port {} is taken, using {}",
                    w.world, choice.wanted, choice.port
                ));
            }
            let mut record = new_record(config, w, std::process::id());
            let _ = env_dir.write_record(&record);
            let outcome = one_world(
                engine,
                config,
                args,
                w,
                choice.port,
                password,
                &claimed,
                &options,
                counters.clone(),
                &progress,
                &env_dir,
                &mut record,
            )
            .await;
            record.finished = Some(Local::now().to_rfc3339());
            record.seconds = Some(started.elapsed().as_secs_f64());
            record.sql_bytes = counters
                .sql_bytes
                .load(std::sync::atomic::Ordering::Relaxed);
            match &outcome {
                Ok(()) => {
                    record.outcome = Outcome::Ready;
                    progress.finish(&w.world, "ready");
                }
                Err(e) => {
                    record.outcome = Outcome::Failed;
                    record.error = Some(format!("{e:#}"));
                    progress.finish(&w.world, "FAILED");
                }
            }
            let _ = env_dir.write_record(&record);
            WorldResult {
                world: w.world.clone(),
                outcome: outcome.map_err(|e| format!("{e:#}")),
                rows: record.total_rows(),
                sql_bytes: record.sql_bytes,
                elapsed: started.elapsed(),
                kept: false,
            }
        }
    });
    let results = join_all(tasks).await;
    ticker.abort();
    progress.tick();
    progress.clear();

    let worlds = load_worlds(engine, config).await.unwrap_or_default();
    let cnf = write_cnf(config, &worlds).ok();
    print(&summary(&results))?;
    for r in &results {
        if let Err(e) = &r.outcome {
            eprintln!("\n{} failed: {e}", r.world);
        }
    }
    let failed = results.iter().filter(|r| r.outcome.is_err()).count();
    if let Some(cnf) = cnf {
        let first = results
            .iter()
            .find(|r| r.outcome.is_ok())
            .map(|r| r.world.as_str());
        if let Some(first) = first {
            eprintln!(
                "\nconnect: worlds connect {first}    or    mysql --defaults-file={} --defaults-group-suffix=_{first}",
                cnf.display()
            );
        }
    }
    if failed > 0 {
        eprintln!(
            "{failed} of {} worlds failed; their containers are kept for inspection until `worlds down`",
            results.len()
        );
        Ok(1)
    } else {
        Ok(0)
    }
}

/// Loading connections per world: enough to keep every core busy across all worlds.
fn default_jobs(worlds: usize) -> usize {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    cpus.div_ceil(worlds.max(1)).clamp(1, 8)
}

/// Does the container hold this very dump file (name, folder and size)?
fn same_dump(c: &WorldContainer, w: &PlannedWorld) -> bool {
    let path = std::path::absolute(&w.dump.path).unwrap_or_else(|_| w.dump.path.clone());
    c.dump == w.dump.file_name
        && c.dump_path == path.display().to_string()
        && c.dump_size == w.dump.size
}

fn new_record(config: &Config, w: &PlannedWorld, pid: u32) -> RestoreRecord {
    RestoreRecord {
        world: w.world.clone(),
        container: container_name(&config.env, &w.world),
        dump: w.dump.file_name.clone(),
        dump_path: w.dump.path.display().to_string(),
        size_bytes: w.dump.size,
        timestamp: w.dump.timestamp.format("%Y-%m-%dT%H:%M:%S").to_string(),
        started: Local::now().to_rfc3339(),
        finished: None,
        seconds: None,
        restore_seconds: None,
        outcome: Outcome::Creating,
        error: None,
        rows: Default::default(),
        sql_bytes: 0,
        statements: 0,
        pid,
    }
}

/// Create, start and wait for one world, then restore its dump.
#[allow(clippy::too_many_arguments)]
async fn one_world(
    engine: &Engine,
    config: &Config,
    args: &UpArgs,
    w: &PlannedWorld,
    first_port: u16,
    password: &str,
    claimed: &Mutex<HashSet<u16>>,
    options: &RestoreOptions,
    counters: Arc<Counters>,
    progress: &Progress,
    env_dir: &EnvDir,
    record: &mut RestoreRecord,
) -> Result<()> {
    let name = container_name(&config.env, &w.world);
    let dump_path = std::path::absolute(&w.dump.path).unwrap_or_else(|_| w.dump.path.clone());
    let dump_path = dump_path.display().to_string();
    let timestamp = w.dump.timestamp.format("%Y-%m-%dT%H:%M:%S").to_string();
    let mut port = first_port;
    let mut attempts = 0;
    loop {
        let spec = WorldSpec {
            env: &config.env,
            world: &w.world,
            dump_file: &w.dump.file_name,
            dump_path: &dump_path,
            dump_timestamp: &timestamp,
            dump_size: w.dump.size,
            port,
            password,
        };
        engine.create_world(config, &spec).await?;
        match engine.start(&name).await {
            Ok(()) => break,
            Err(e) if is_port_conflict(&e) && attempts < 20 => {
                attempts += 1;
                engine.remove_world(&config.env, &w.world).await?;
                let next = {
                    let mut claimed = claimed.lock().map_err(|_| anyhow!("port table poisoned"))?;
                    let mut p = port.checked_add(1).ok_or_else(|| anyhow!("no free port"))?;
                    while claimed.contains(&p) || is_port_taken(p) {
                        p = p.checked_add(1).ok_or_else(|| anyhow!("no free port"))?;
                    }
                    claimed.insert(p);
                    p
                };
                progress.println(&format!(
                    "{}: port {port} was taken meanwhile, using {next}",
                    w.world
                ));
                port = next;
            }
            Err(e) => {
                let tail = engine.log_tail(&name, 20).await;
                return Err(anyhow!(
                    "cannot start container {name}: {e}\n--- last log lines ---\n{tail}"
                ));
            }
        }
    }
    let target = Target::root(port, password);
    let timeout = Duration::from_secs(args.start_timeout);
    if let Err(e) = wait_ready(&target, timeout, || async {
        Ok(engine.is_running(&name).await?.unwrap_or(false))
    })
    .await
    {
        let tail = engine.log_tail(&name, 20).await;
        return Err(e.context(format!(
            "world {} (container {name}) did not become ready\n--- last log lines of {name} ---\n{}",
            w.world,
            tail.trim_end()
        )));
    }
    if args.no_restore {
        return Ok(());
    }
    record.outcome = Outcome::Importing;
    let _ = env_dir.write_record(record);
    let loading = Instant::now();
    let report = restore(&target, &w.dump.path, options, counters)
        .await
        .map_err(|e| {
            e.context(format!(
                "restoring {} into world {}",
                w.dump.path.display(),
                w.world
            ))
        })?;
    record.restore_seconds = Some(loading.elapsed().as_secs_f64());
    record.rows = report.rows;
    record.statements = report.statements;
    Ok(())
}

fn summary(results: &[WorldResult]) -> String {
    let mut t = table(&["world", "outcome", "rows", "SQL", "time", "MB/s"]);
    for r in results {
        let secs = r.elapsed.as_secs_f64();
        t.add_row(vec![
            r.world.clone(),
            match (&r.outcome, r.kept) {
                (Ok(()), true) => "ready (kept)".to_string(),
                (Ok(()), false) => "ready".to_string(),
                (Err(_), _) => "FAILED".to_string(),
            },
            r.rows.to_string(),
            if r.kept {
                "-".to_string()
            } else {
                human_bytes(r.sql_bytes)
            },
            if r.kept {
                "-".to_string()
            } else {
                human_duration(r.elapsed)
            },
            if r.kept || secs <= 0.0 {
                "-".to_string()
            } else {
                format!("{:.1}", r.sql_bytes as f64 / 1e6 / secs)
            },
        ]);
    }
    let ok = results.iter().filter(|r| r.outcome.is_ok()).count();
    format!("{t}\n{ok} of {} worlds ready", results.len())
}
