//! `worlds up`: plan -> lock -> reconcile -> apply -> summary.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tokio::signal::unix::{signal, Signal, SignalKind};
use tracing::{debug, error, info, warn};

use crate::catalog::plan_for;
use crate::cli::UpArgs;
use crate::config::Config;
use crate::engine::{ensure_image, Engine};
use crate::environment::lock::{self, env_flag, Contention, Holder};
use crate::environment::names::group_suffix;
use crate::environment::reconcile::Action;
use crate::environment::record::Outcome;
use crate::environment::up::{actions, apply, desired, Settings, WorldResult};
use crate::environment::{self, cnf, lock_path, snapshots, space};
use crate::error::{escape, unusable, usage, Exit};
use crate::filter::TableFilter;
use crate::load::progress::Progress;
use crate::load::{Counters, RestoreOptions};
use crate::output::{human_bytes, human_duration, print, table};
use crate::snapshot::{age, short_id};
use crate::state::EnvDir;

pub async fn run(config: &Config, args: &UpArgs) -> Result<i32> {
    // From the start, Ctrl-C and SIGTERM (`worlds down`) stop `up`: the work is dropped (its
    // lock with it), then the message says what is left.
    let mut signals = StopSignals::new()?;
    tokio::select! {
        result = up(config, args) => result,
        signal = signals.recv() => {
            warn!(
                "\n{signal}: stopped. Worlds whose restore did not finish show as `interrupted`; \
                 `worlds up{}` redoes them, `worlds down{}` removes everything",
                env_flag(&config.env),
                env_flag(&config.env)
            );
            Ok(if signal == "interrupted" { 130 } else { 143 })
        }
    }
}

/// Aborts the task when dropped (the progress ticker must not outlive `up`).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn up(config: &Config, args: &UpArgs) -> Result<i32> {
    let plan = plan_for(config, args.select.at.as_deref(), &args.select.worlds).await?;
    for s in &plan.skipped {
        info!("skipped {}: {}", escape(&s.file), escape(&s.reason));
    }
    if plan.worlds.is_empty() {
        return Err(usage(
            "no world to start: every host was skipped (see above)",
        ));
    }
    let filter = table_filter(config, args)?;
    let desire = desired(config, &plan, args.select.at.as_deref(), filter)?;
    let engine = Engine::connect().await?;
    ensure_image(&engine, &config.image).await?;

    let me = Holder::me("up");
    let session = me.session.clone();
    let notice = |h: &Holder| {
        info!(
            "environment {} is in use by {}; waiting for it to finish",
            config.env,
            h.describe()
        )
    };
    let contention = if args.wait {
        Contention::Wait(&notice)
    } else {
        Contention::Fail
    };
    let lock_file = lock_path(&engine, &config.env).await?;
    debug!("environment lock {}", lock_file.display());
    let held = lock::acquire(&lock_file, &config.env, me, contention).await?;

    let env_dir = EnvDir::new(config.env_dir());
    let existing = environment::load(&engine, &config.env, &env_dir).await?;
    check_existing(&config.env, &desire.project, &existing)?;
    let todo = actions(&desire, &existing, args.replace, args.no_restore);

    for w in &existing {
        if !desire.worlds.iter().any(|d| d.planned.world == w.name()) {
            info!(
                "note: world {} is not in this plan and keeps its dump {} from {} ({}); \
                 `worlds down{}` removes the whole environment",
                escape(w.name()),
                escape(&w.container.dump),
                escape(&w.container.dumps_dir),
                w.state.name(),
                env_flag(&config.env),
            );
        }
    }
    let refused: Vec<(&str, &str)> = desire
        .worlds
        .iter()
        .zip(&todo)
        .filter_map(|(d, a)| match a {
            Action::Refuse(why) => Some((d.planned.world.as_str(), why.as_str())),
            _ => None,
        })
        .collect();
    if !refused.is_empty() {
        error!(
            "up would replace {} ready world{} of environment {}:",
            refused.len(),
            if refused.len() == 1 { "" } else { "s" },
            config.env
        );
        for (world, why) in &refused {
            error!("  {}: {}", escape(world), escape(why));
        }
        error!(
            "Nothing was changed. Run `worlds up --replace` to replace them (their data and \
             any tables made in them are lost), or restore side by side in another \
             environment: `worlds up --env NAME`."
        );
        return Ok(Exit::Failed.code());
    }
    for (d, a) in desire.worlds.iter().zip(&todo) {
        match a {
            Action::Redo(why) => info!("{}: restoring again ({why})", escape(&d.planned.world)),
            Action::Replace(why) => {
                info!(
                    "{}: replacing the ready world ({})",
                    escape(&d.planned.world),
                    escape(why)
                )
            }
            _ => {}
        }
    }

    // Worlds whose dump has a snapshot start from it.
    let keep_snapshots = config.snapshots && !args.no_snapshot && !args.no_restore;
    let image = if keep_snapshots {
        Some(engine.image_facts(&config.image).await?)
    } else {
        None
    };
    let sources = match &image {
        Some(image) if !args.fresh => {
            snapshots::find(&engine, config, &desire, &todo, image).await?
        }
        _ => vec![None; desire.worlds.len()],
    };
    for (d, found) in desire.worlds.iter().zip(&sources) {
        if let Some(f) = found {
            info!(
                "{}: starting from snapshot {} of {} ({}, taken {} ago)",
                escape(&d.planned.world),
                short_id(&f.manifest.key),
                escape(&f.manifest.dump),
                human_bytes(f.manifest.size_bytes),
                f.manifest
                    .created_at()
                    .map(|t| age(t, chrono::Utc::now()))
                    .unwrap_or_else(|| "?".to_string())
            );
        }
    }

    // Nothing is created before the restores are known to fit (or --ignore-space).
    space::check(
        &engine,
        &desire,
        &todo,
        &sources,
        keep_snapshots,
        args.no_restore,
        args.ignore_space,
    )
    .await?;

    // The worlds' own password (read from their containers by `load`), else a stored or new one.
    let password = match existing.iter().find_map(|w| w.password.clone()) {
        Some(pw) => pw,
        None => env_dir.password_or_create()?,
    };
    let _ = env_dir.store_password(&password);
    let restoring = todo
        .iter()
        .filter(|a| !matches!(a, Action::Keep | Action::Start))
        .count();
    let settings = Settings {
        no_restore: args.no_restore,
        start_timeout: Duration::from_secs(args.start_timeout),
        restore: RestoreOptions {
            jobs: args
                .table_jobs
                .or(config.table_jobs)
                .unwrap_or_else(|| default_jobs(restoring)),
            default_db: config.database.clone(),
            defer_indexes: config.defer_indexes,
            load_data: config.load_data,
            trailer: config.dump_trailer,
            filter: desire.filter.clone(),
        },
        session,
        snapshots: image.filter(|_| keep_snapshots),
        sources,
    };
    let counters: Vec<Arc<Counters>> = desire
        .worlds
        .iter()
        .map(|_| Arc::new(Counters::default()))
        .collect();
    let progress = Progress::new(
        desire
            .worlds
            .iter()
            .zip(&counters)
            .zip(&todo)
            .filter(|(_, a)| !matches!(a, Action::Keep | Action::Start))
            .map(|((d, c), _)| (d.planned.world.clone(), d.planned.dump.size, c.clone()))
            .collect(),
    );
    let ticker = {
        let progress = progress.clone();
        AbortOnDrop(tokio::spawn(async move {
            loop {
                progress.tick();
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }))
    };
    let results = apply(
        &engine, config, &desire, &todo, &existing, &password, &settings, &counters, &progress,
    )
    .await;
    drop(ticker);
    progress.tick();
    progress.clear();
    let results = results?;
    if let Some(budget) = config.snapshot_budget {
        let keep: Vec<String> = results.iter().filter_map(|r| r.snapshot.clone()).collect();
        if let Err(e) = snapshots::enforce_budget(&engine, config, budget, &keep).await {
            warn!("cannot keep the snapshots within snapshot_budget: {e:#}");
        }
    }

    let worlds = environment::load(&engine, &config.env, &env_dir).await;
    held.release();
    // The option file is rewritten only from a complete list of worlds.
    let cnf_path = match worlds {
        Ok(worlds) => env_dir
            .create_cnf(&cnf::render(&worlds, &config.database))
            .ok(),
        Err(_) => None,
    };
    print(&summary(&results))?;
    for r in &results {
        if let Err(e) = &r.outcome {
            error!("\n{} failed: {}", escape(&r.world), escape(e));
        }
    }
    if let (Some(cnf), Some(first)) = (cnf_path, results.iter().find(|r| r.outcome.is_ok())) {
        info!(
            "\nconnect: worlds connect {}    or    mysql --defaults-file={} --defaults-group-suffix={}",
            escape(&first.world),
            cnf.display(),
            group_suffix(&first.world)
        );
    }
    let failed = results.iter().filter(|r| r.outcome.is_err()).count();
    if failed > 0 {
        error!(
            "{failed} of {} worlds failed; their containers are kept for inspection until \
             `worlds down{}` (or `worlds up` redoes them)",
            results.len(),
            env_flag(&config.env)
        );
        Ok(Exit::Failed.code())
    } else {
        Ok(Exit::Ok.code())
    }
}

/// The table filter of this run: the flags, else worlds.yaml (`--no-restore` loads nothing,
/// so it has none).
fn table_filter(config: &Config, args: &UpArgs) -> Result<TableFilter> {
    if args.no_restore {
        return Ok(TableFilter::default());
    }
    let tables = args.tables.as_ref().unwrap_or(&config.filter.tables);
    let skip = args
        .skip_tables
        .as_ref()
        .unwrap_or(&config.filter.skip_tables);
    TableFilter::new(tables, skip, ("--tables", "--skip-tables")).map_err(usage)
}

/// Worlds `up` must not act on: made by another project folder, by an older `worlds`
/// (no session label), or two containers for one world.
fn check_existing(env: &str, project: &str, existing: &[environment::World]) -> Result<()> {
    for (i, w) in existing.iter().enumerate() {
        if w.container.project != project {
            return Err(unusable(format!(
                "environment {env} was created from the project folder {}; run `worlds` there \
                 (or pick another environment with --env NAME) so one folder's `up` never \
                 changes another folder's worlds",
                escape(&w.container.project)
            )));
        }
        if w.container.session.is_empty() {
            return Err(unusable(format!(
                "world {} of environment {env} (container {}) was made by an older worlds and \
                 carries no record; remove it with `worlds down{}` and run `up` again",
                escape(w.name()),
                w.container.name,
                env_flag(env)
            )));
        }
        if existing[..i].iter().any(|o| o.name() == w.name()) {
            return Err(unusable(format!(
                "world {} of environment {env} has two containers; remove them with \
                 `worlds down{}` and run `up` again",
                escape(w.name()),
                env_flag(env)
            )));
        }
    }
    Ok(())
}

/// Ctrl-C, or SIGTERM (what `worlds down` sends to a running `up`).
struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl StopSignals {
    fn new() -> Result<StopSignals> {
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "interrupted",
            _ = self.terminate.recv() => "terminated",
        }
    }
}

/// Loading connections per world: enough to keep every core busy across all worlds.
fn default_jobs(worlds: usize) -> usize {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    cpus.div_ceil(worlds.max(1)).clamp(1, 8)
}

fn summary(results: &[WorldResult]) -> String {
    let mut t = table(&["world", "outcome", "address", "rows", "SQL", "time", "MB/s"]);
    for r in results {
        let secs = r.elapsed.as_secs_f64();
        let outcome = match (&r.outcome, &r.action) {
            (Ok(Outcome::Empty), Action::Keep) => "empty (kept)",
            (Ok(_), Action::Keep) => "ready (kept)",
            (Ok(Outcome::Empty), _) => "empty",
            (Ok(_), Action::Start) => "ready (started)",
            (Ok(_), _) if r.from_snapshot => "ready (from snapshot)",
            (Ok(_), _) => "ready",
            (Err(_), _) => "FAILED",
        };
        let outcome = match (r.partial, outcome.strip_suffix(')')) {
            (Some(p), Some(open)) if r.outcome.is_ok() => format!("{open}, {})", p.describe()),
            (Some(p), None) if r.outcome.is_ok() => format!("{outcome} ({})", p.describe()),
            _ => outcome.to_string(),
        };
        let untouched = r.untouched();
        t.add_row(vec![
            escape(&r.world),
            outcome,
            address(r),
            r.rows.to_string(),
            if untouched {
                "-".to_string()
            } else {
                human_bytes(r.sql_bytes)
            },
            if untouched {
                "-".to_string()
            } else {
                human_duration(r.elapsed)
            },
            if untouched || secs <= 0.0 || r.sql_bytes == 0 {
                "-".to_string()
            } else {
                format!("{:.1}", r.sql_bytes as f64 / 1e6 / secs)
            },
        ]);
    }
    let ok = results
        .iter()
        .filter(|r| matches!(r.outcome, Ok(Outcome::Ready)))
        .count();
    let empty = results
        .iter()
        .filter(|r| matches!(r.outcome, Ok(Outcome::Empty)))
        .count();
    let mut line = format!("{t}\n{ok} of {} worlds ready", results.len());
    if empty > 0 {
        line.push_str(&format!(", {empty} empty (--no-restore)"));
    }
    line
}

/// `127.0.0.1:33061` for a world whose server is up, `-` otherwise.
fn address(r: &WorldResult) -> String {
    match (&r.outcome, r.port) {
        (Ok(_), Some(port)) => format!("127.0.0.1:{port}"),
        _ => "-".to_string(),
    }
}
