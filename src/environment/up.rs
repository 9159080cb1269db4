//! `up` as a few typed steps: what the plan wants ([`desired`]) -> what to do with each world
//! ([`reconcile`](super::reconcile)) -> doing it ([`apply`]). Nothing here prints: messages
//! go through the [`Progress`] reporter, results are returned to the command.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use chrono::Local;
use futures::future::join_all;
use tracing::{debug, info};

use super::names::{container_name, volume_name};
use super::reconcile::{reconcile, Action, Have, Wanted};
use super::record::{Outcome, Partial, Record};
use super::snapshots::Found;
use super::World;
use crate::catalog::{Plan, PlannedWorld};
use crate::config::Config;
use crate::db::{wait_ready, Target};
use crate::engine::snapshot::ImageFacts;
use crate::engine::{allocate_ports, is_port_conflict, is_port_taken, Engine, WorldSpec};
use crate::error::{escape, unusable};
use crate::filter::TableFilter;
use crate::identity::{identify_dump, DumpIdentity};
use crate::load::progress::Progress;
use crate::load::{phase, restore, Counters, Phase, RestoreOptions, SESSION_SETUP};
use crate::snapshot::{now_text, short_id, KeyParts, Manifest, TableRows, FORMAT};

/// A planned world with what identifies its dump.
#[derive(Debug, Clone)]
pub struct Desired {
    pub planned: PlannedWorld,
    /// Canonical path of the dump file.
    pub path: String,
    pub identity: DumpIdentity,
}

/// The plan of this `up`, ready to compare with what exists.
#[derive(Debug, Clone)]
pub struct Desire {
    pub worlds: Vec<Desired>,
    /// Canonical dumps folder.
    pub dumps_dir: String,
    /// `--at` as given ("" for the latest dumps).
    pub at: String,
    /// Canonical project folder.
    pub project: String,
    /// Whose tables' data the restores load (every table's for `--no-restore`).
    pub filter: TableFilter,
}

fn canonical(path: &Path) -> String {
    std::fs::canonicalize(path)
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// Step 1: identify every planned dump by content.
pub fn desired(
    config: &Config,
    plan: &Plan,
    at: Option<&str>,
    filter: TableFilter,
) -> Result<Desire> {
    let worlds = plan
        .worlds
        .iter()
        .map(|w| {
            Ok(Desired {
                identity: identify_dump(&w.dump).map_err(|e| {
                    crate::error::usage(format!(
                        "cannot read the dump {}: {e:#}",
                        escape(&w.dump.path.display().to_string())
                    ))
                })?,
                path: match &w.dump.object {
                    Some(o) => o.url.clone(),
                    None => canonical(&w.dump.path),
                },
                planned: w.clone(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Desire {
        worlds,
        dumps_dir: match config.dumps_url()? {
            Some(url) => url.to_string(),
            None => canonical(&config.dumps),
        },
        at: at.unwrap_or_default().trim().to_string(),
        project: config.project_dir(),
        filter,
    })
}

/// Step 2: one action per desired world.
pub fn actions(
    desire: &Desire,
    existing: &[World],
    replace: bool,
    no_restore: bool,
) -> Vec<Action> {
    let wanted: Vec<Wanted> = desire
        .worlds
        .iter()
        .map(|d| Wanted {
            world: &d.planned.world,
            file: &d.planned.dump.file_name,
            identity: &d.identity,
            dumps_dir: &desire.dumps_dir,
            at: &desire.at,
            filter: &desire.filter,
        })
        .collect();
    let have: Vec<Have> = existing
        .iter()
        .map(|w| Have {
            world: w.name(),
            state: &w.state,
            restored: w.restored(),
            empty: w.empty(),
            file: &w.container.dump,
            identity: DumpIdentity::from_label(&w.container.dump_id),
            dumps_dir: &w.container.dumps_dir,
            at: &w.container.at,
            filter: w.record.as_ref().map(Record::filter).unwrap_or_default(),
        })
        .collect();
    reconcile(&wanted, &have, replace, no_restore)
}

/// Settings of the `apply` step.
pub struct Settings {
    pub no_restore: bool,
    pub start_timeout: Duration,
    pub restore: RestoreOptions,
    /// This run's session id (labels of the containers it creates).
    pub session: String,
    /// The server image, when verified restores keep snapshots (`None`: they do not).
    pub snapshots: Option<ImageFacts>,
    /// Per planned world, the snapshot it starts from instead of restoring its dump.
    pub sources: Vec<Option<Found>>,
}

/// What happened to one world.
#[derive(Debug)]
pub struct WorldResult {
    pub world: String,
    pub action: Action,
    pub outcome: Result<Outcome, String>,
    pub rows: u64,
    pub sql_bytes: u64,
    pub elapsed: Duration,
    /// The port its server listens on at 127.0.0.1 (when it has one).
    pub port: Option<u16>,
    /// Tables loaded of the dump's, when it holds a partial restore.
    pub partial: Option<Partial>,
    /// Its data was copied from a snapshot by this run.
    pub from_snapshot: bool,
    /// The snapshot this run took of it or started it from.
    pub snapshot: Option<String>,
}

impl WorldResult {
    /// Left as it was (kept) or only started again.
    pub fn untouched(&self) -> bool {
        matches!(self.action, Action::Keep | Action::Start)
    }
}

/// Step 3: carry out the actions (no `Refuse` may be among them).
#[allow(clippy::too_many_arguments)]
pub async fn apply(
    engine: &Engine,
    config: &Config,
    desire: &Desire,
    actions: &[Action],
    existing: &[World],
    password: &str,
    settings: &Settings,
    counters: &[Arc<Counters>],
    progress: &Progress,
) -> Result<Vec<WorldResult>> {
    if actions.iter().any(|a| matches!(a, Action::Refuse(_))) {
        return Err(anyhow!("refused worlds cannot be applied"));
    }
    // Objects in the way that are not ours stop everything before anything is touched.
    for (d, a) in desire.worlds.iter().zip(actions) {
        if !matches!(a, Action::Keep | Action::Start) {
            engine.check_free(&config.env, &d.planned.world).await?;
        }
    }
    // Ports: world i wants port_base + i; skip ports of other worlds and busy ones.
    let all = engine.list_worlds(None).await?;
    let staying: HashSet<&str> = desire
        .worlds
        .iter()
        .zip(actions)
        .filter(|(_, a)| matches!(a, Action::Keep | Action::Start))
        .map(|(d, _)| d.planned.world.as_str())
        .collect();
    let planned: HashSet<&str> = desire
        .worlds
        .iter()
        .map(|d| d.planned.world.as_str())
        .collect();
    // Ports of this environment's worlds that are about to be redone are theirs again; every
    // other world keeps its port (worlds of this environment outside the plan stay as well).
    let redone = |c: &&crate::engine::WorldContainer| {
        c.env == config.env
            && planned.contains(c.world.as_str())
            && !staying.contains(c.world.as_str())
    };
    let mut claimed: HashSet<u16> = all.iter().filter(|c| !redone(c)).map(|c| c.port).collect();
    let freed: HashSet<u16> = all.iter().filter(redone).map(|c| c.port).collect();
    let choices = allocate_ports(config.port_base, desire.worlds.len(), &claimed, |p| {
        !claimed.contains(&p) && !freed.contains(&p) && is_port_taken(p)
    })
    .ok_or_else(|| unusable(format!("no free ports from {} up", config.port_base)))?;
    claimed.extend(choices.iter().map(|c| c.port));
    let claimed = Mutex::new(claimed);

    let tasks = desire.worlds.iter().enumerate().map(|(i, d)| {
        let action = actions[i].clone();
        let source = settings.sources.get(i).and_then(Option::as_ref);
        let existing = existing.iter().find(|w| w.name() == d.planned.world);
        let claimed = &claimed;
        let choice = choices[i];
        let counters = counters[i].clone();
        async move {
            let mut restored_rows = 0;
            let mut snapshot_key = None;
            let mut cloned = false;
            let mut partial = existing.and_then(|w| w.record.as_ref()?.partial());
            let started = Instant::now();
            let world = d.planned.world.clone();
            let mut port = existing.map(|w| w.container.port);
            let outcome = match &action {
                Action::Keep => Ok(if existing.is_some_and(World::empty) {
                    Outcome::Empty
                } else {
                    Outcome::Ready
                }),
                Action::Start => start_again(engine, existing, settings, progress).await,
                _ => {
                    if choice.port != choice.wanted {
                        progress.println(&format!(
                            "{}: port {} is taken, using {}",
                            escape(&world),
                            choice.wanted,
                            choice.port
                        ));
                    }
                    let mut world_run = WorldRun {
                        engine,
                        config,
                        desire,
                        d,
                        password,
                        settings,
                        progress,
                        record: new_record(d, &settings.session, &desire.filter, settings),
                        started,
                        created: None,
                        port: choice.port,
                    };
                    let result = match source {
                        Some(found) => match world_run
                            .create_from_snapshot(found, choice.port, claimed, counters.clone())
                            .await
                        {
                            Ok(outcome) => {
                                cloned = true;
                                Ok(outcome)
                            }
                            Err(e) => {
                                // A snapshot gone meanwhile or damaged: the dump is the truth.
                                progress.println(&format!(
                                    "{}: cannot start from snapshot {}: {}; restoring from \
                                     the dump instead",
                                    escape(&world),
                                    short_id(&found.manifest.key),
                                    escape(&format!("{e:#}"))
                                ));
                                world_run.record =
                                    new_record(d, &settings.session, &desire.filter, settings);
                                world_run.created = None;
                                world_run
                                    .create_and_restore(choice.port, claimed, counters.clone())
                                    .await
                            }
                        },
                        None => {
                            world_run
                                .create_and_restore(choice.port, claimed, counters.clone())
                                .await
                        }
                    };
                    world_run.record.sql_bytes = counters
                        .sql_bytes
                        .load(std::sync::atomic::Ordering::Relaxed);
                    restored_rows = world_run.record.total_rows();
                    port = Some(world_run.port);
                    let outcome = world_run.finish(result).await;
                    snapshot_key = world_run
                        .record
                        .snapshot
                        .clone()
                        .filter(|_| outcome.is_ok());
                    partial = world_run.record.partial();
                    counters.set_phase(if outcome.is_ok() {
                        Phase::Done
                    } else {
                        Phase::Failed
                    });
                    let began = counters.phases();
                    let failed_in = began
                        .iter()
                        .rev()
                        .find(|(p, _)| !p.finished())
                        .map(|(p, _)| p.name());
                    debug!(
                        "{}: {}{} (total {})",
                        escape(&world),
                        if outcome.is_err() {
                            format!("failed while {}; ", failed_in.unwrap_or("starting"))
                        } else {
                            String::new()
                        },
                        phase::describe(&phase::durations(&began, Instant::now())),
                        crate::output::human_duration(started.elapsed())
                    );
                    outcome
                }
            };
            match &outcome {
                Ok(Outcome::Ready) if !matches!(action, Action::Keep) => progress.finish(
                    &world,
                    false,
                    &[
                        Some("ready".to_string()),
                        cloned.then(|| "from snapshot".to_string()),
                        partial.map(Partial::describe),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(", "),
                ),
                Ok(Outcome::Empty) if !matches!(action, Action::Keep) => {
                    progress.finish(&world, false, "empty (--no-restore)")
                }
                Err(_) => progress.finish(&world, true, "see below"),
                _ => {}
            }
            let rows = match (&action, existing) {
                (Action::Keep | Action::Start, Some(w)) => {
                    w.record.as_ref().map(Record::total_rows).unwrap_or(0)
                }
                _ => restored_rows,
            };
            let from_snapshot = source.is_some() && !matches!(action, Action::Keep | Action::Start);
            WorldResult {
                world,
                action,
                outcome: outcome.map_err(|e| format!("{e:#}")),
                rows,
                sql_bytes: counters
                    .sql_bytes
                    .load(std::sync::atomic::Ordering::Relaxed),
                elapsed: started.elapsed(),
                port,
                partial,
                from_snapshot,
                snapshot: snapshot_key,
            }
        }
    });
    Ok(join_all(tasks).await)
}

/// Start a stopped world again; its data and record stay as they were.
async fn start_again(
    engine: &Engine,
    existing: Option<&World>,
    settings: &Settings,
    progress: &Progress,
) -> Result<Outcome> {
    let w = existing.ok_or_else(|| anyhow!("the world to start is gone"))?;
    let name = &w.container.name;
    progress.println(&format!(
        "{}: starting the stopped world again",
        escape(w.name())
    ));
    if let Err(e) = engine.start(name).await {
        return Err(anyhow!("cannot start container {name}: {e}"));
    }
    let password = w
        .password
        .as_deref()
        .ok_or_else(|| anyhow!("no password for world {}", w.name()))?;
    wait_for_server(engine, name, w.name(), w.container.port, password, settings).await?;
    Ok(if w.empty() {
        Outcome::Empty
    } else {
        Outcome::Ready
    })
}

async fn wait_for_server(
    engine: &Engine,
    name: &str,
    world: &str,
    port: u16,
    password: &str,
    settings: &Settings,
) -> Result<()> {
    let target = Target::root(port, password);
    if let Err(e) = wait_ready(&target, settings.start_timeout, || async {
        Ok(engine.is_running(name).await?.unwrap_or(false))
    })
    .await
    {
        let tail = engine.log_tail(name, 20).await;
        return Err(e.context(format!(
            "world {} (container {name}) did not become ready\n--- last log lines of {name} ---\n{}",
            escape(world),
            escape(tail.trim_end())
        )));
    }
    Ok(())
}

/// Make the redo log small before the server stops for a snapshot, so the snapshot does
/// not carry hundreds of megabytes of a log that a clean shutdown leaves unneeded. Servers
/// that cannot resize it online (MariaDB before 10.11, MySQL before 8.0.30) keep theirs.
/// A world's server grows it back to its setting when it starts.
async fn shrink_redo_log(target: &Target, flavor: crate::config::Flavor) {
    let Ok(mut conn) = target.connect(None).await else {
        return;
    };
    use mysql_async::prelude::Queryable;
    let resize = match flavor {
        // MariaDB 10.11: at least innodb_log_buffer_size (16 MiB by default).
        crate::config::Flavor::Mariadb => {
            "SET GLOBAL innodb_log_file_size = GREATEST(16777216, @@innodb_log_buffer_size)"
        }
        // MySQL 8.0.30 and later.
        crate::config::Flavor::Mysql => "SET GLOBAL innodb_redo_log_capacity = 8388608",
    };
    for sql in [
        // The resize writes every dirty page first: at the disk's speed (shutdown would
        // write them too).
        "SET GLOBAL innodb_io_capacity_max = 100000",
        "SET GLOBAL innodb_io_capacity = 100000",
        resize,
    ] {
        if let Err(e) = conn.query_drop(sql).await {
            debug!("redo log not resized ({sql}): {e}");
        }
    }
    conn.disconnect().await.ok();
}

fn new_record(d: &Desired, session: &str, filter: &TableFilter, settings: &Settings) -> Record {
    Record {
        outcome: Outcome::Restoring,
        session: session.to_string(),
        dump: d.planned.dump.file_name.clone(),
        dump_path: d.path.clone(),
        size_bytes: d.planned.dump.size,
        started: Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        finished: None,
        seconds: None,
        restore_seconds: None,
        error: None,
        rows: Default::default(),
        sql_bytes: 0,
        statements: 0,
        // An empty world holds no data: no filter.
        tables_filter: (!filter.is_all() && !settings.no_restore).then(|| filter.clone()),
        skipped_tables: Default::default(),
        snapshot: None,
        from_snapshot: None,
    }
}

/// One world being (re)created and restored.
struct WorldRun<'a> {
    engine: &'a Engine,
    config: &'a Config,
    desire: &'a Desire,
    d: &'a Desired,
    password: &'a str,
    settings: &'a Settings,
    progress: &'a Progress,
    record: Record,
    started: Instant,
    /// Id of the container this run created (records go only there).
    created: Option<String>,
    /// The port its server publishes.
    port: u16,
}

impl WorldRun<'_> {
    fn name(&self) -> String {
        container_name(&self.config.env, &self.d.planned.world)
    }

    /// Create the world (replacing what was there), fill it from `source` when given,
    /// start it (moving to the next free port when its port was taken meanwhile) and wait
    /// for its server.
    async fn create_and_start(
        &mut self,
        first_port: u16,
        claimed: &Mutex<HashSet<u16>>,
        counters: &Counters,
        source: Option<&Found>,
    ) -> Result<()> {
        let world = &self.d.planned.world;
        let name = self.name();
        counters.set_phase(Phase::Starting);
        let dump_id = self.d.identity.to_label();
        let timestamp = self
            .d
            .planned
            .dump
            .timestamp
            .format("%Y-%m-%dT%H:%M:%S")
            .to_string();
        let init_file = source.is_some()
            && !self
                .settings
                .snapshots
                .as_ref()
                .is_some_and(|i| i.resets_password);
        let mut port = first_port;
        let mut attempts = 0;
        loop {
            let spec = WorldSpec {
                env: &self.config.env,
                world,
                dump_file: &self.d.planned.dump.file_name,
                dump_path: &self.d.path,
                dump_timestamp: &timestamp,
                dump_size: self.d.planned.dump.size,
                port,
                password: self.password,
                project: &self.desire.project,
                dumps_dir: &self.desire.dumps_dir,
                at: &self.desire.at,
                dump_id: &dump_id,
                session: &self.settings.session,
                init_file,
                from_snapshot: source.is_some(),
            };
            let id = self.engine.create_world(self.config, &spec).await?;
            debug!(
                "{}: created container {name} ({}) with image {}, port 127.0.0.1:{port}",
                escape(world),
                &id[..id.len().min(12)],
                self.config.image
            );
            self.created = Some(id.clone());
            self.port = port;
            if let Some(found) = source {
                counters.set_phase(Phase::Cloning);
                let copying = Instant::now();
                self.engine
                    .clone_snapshot(
                        &self.config.image,
                        &found.volume,
                        &volume_name(&self.config.env, world),
                    )
                    .await?;
                debug!(
                    "{}: copied snapshot {} ({}) in {}",
                    escape(world),
                    short_id(&found.manifest.key),
                    crate::output::human_bytes(found.manifest.size_bytes),
                    crate::output::human_duration(copying.elapsed())
                );
                if init_file {
                    self.engine.write_init_file(&id, self.password).await?;
                }
                counters.set_phase(Phase::Starting);
            }
            match self.engine.start(&id).await {
                Ok(()) => break,
                Err(e) if is_port_conflict(&e) && attempts < 20 => {
                    attempts += 1;
                    // The next `create_world` removes this one before it makes a new one.
                    self.created = None;
                    let next = {
                        let mut claimed =
                            claimed.lock().map_err(|_| anyhow!("port table poisoned"))?;
                        let mut p = port.checked_add(1).ok_or_else(|| anyhow!("no free port"))?;
                        while claimed.contains(&p) || is_port_taken(p) {
                            p = p.checked_add(1).ok_or_else(|| anyhow!("no free port"))?;
                        }
                        claimed.insert(p);
                        p
                    };
                    self.progress.println(&format!(
                        "{}: port {port} was taken meanwhile, using {next}",
                        escape(world)
                    ));
                    port = next;
                }
                Err(e) => {
                    let tail = self.engine.log_tail(&id, 20).await;
                    return Err(anyhow!(
                        "cannot start container {name}: {e}\n--- last log lines ---\n{}",
                        escape(&tail)
                    ));
                }
            }
        }
        wait_for_server(
            self.engine,
            &name,
            world,
            port,
            self.password,
            self.settings,
        )
        .await?;
        debug!(
            "{}: server answers on 127.0.0.1:{port} after {}",
            escape(world),
            crate::output::human_duration(self.started.elapsed())
        );
        Ok(())
    }

    /// Create the world from a snapshot of its dump and verify every table's row count
    /// against the counts verified when the snapshot was taken.
    async fn create_from_snapshot(
        &mut self,
        found: &Found,
        first_port: u16,
        claimed: &Mutex<HashSet<u16>>,
        counters: Arc<Counters>,
    ) -> Result<Outcome> {
        let world = self.d.planned.world.clone();
        self.create_and_start(first_port, claimed, &counters, Some(found))
            .await?;
        let m = &found.manifest;
        self.record.from_snapshot = Some(m.created.clone());
        self.record.snapshot = Some(m.key.clone());
        self.engine.write_record(&self.name(), &self.record).await?;
        counters.set_phase(Phase::Verifying);
        let target = Target::root(self.port, self.password);
        crate::load::verify::verify(&target, &m.dumped(), &self.desire.filter)
            .await
            .map_err(|e| {
                e.context(format!(
                    "world {} was copied from snapshot {}, but its data is not what the \
                     snapshot's restore verified; `worlds up --fresh` restores it from the dump",
                    escape(&world),
                    short_id(&m.key)
                ))
            })?;
        let (rows, skipped) = m.rows();
        self.record.rows = rows;
        self.record.skipped_tables = skipped;
        self.record.statements = m.statements;
        counters
            .sql_bytes
            .store(0, std::sync::atomic::Ordering::Relaxed);
        Ok(Outcome::Ready)
    }

    /// Create (replacing what was there), start, wait, restore and verify.
    async fn create_and_restore(
        &mut self,
        first_port: u16,
        claimed: &Mutex<HashSet<u16>>,
        counters: Arc<Counters>,
    ) -> Result<Outcome> {
        let world = &self.d.planned.world.clone();
        let name = self.name();
        self.create_and_start(first_port, claimed, &counters, None)
            .await?;
        let port = self.port;
        if self.settings.no_restore {
            return Ok(Outcome::Empty);
        }
        self.engine.write_record(&name, &self.record).await?;
        let options = &self.settings.restore;
        debug!(
            "{}: restoring {} with {} loading connection(s), defer_indexes {}, load_data {}, \
             data of {}; each restore connection first runs `{SESSION_SETUP}`",
            escape(world),
            escape(&self.d.path),
            options.jobs,
            options.defer_indexes,
            options.load_data,
            escape(&options.filter.describe()),
        );
        let loading = Instant::now();
        let target = Target::root(port, self.password);
        let report = restore(
            &target,
            &self.d.planned.dump.location(),
            &self.settings.restore,
            counters.clone(),
        )
        .await
        .map_err(|e| {
            e.context(format!(
                "restoring {} into world {}",
                escape(&self.d.path),
                escape(world)
            ))
        })?;
        for note in &report.notes {
            info!("{}: {}", escape(world), escape(note));
        }
        debug!(
            "{}: {} statements, {} tables verified{}",
            escape(world),
            report.statements,
            report.rows.len(),
            if report.skipped.is_empty() {
                String::new()
            } else {
                format!(
                    ", {} left out by the tables filter (verified empty)",
                    report.skipped.len()
                )
            }
        );
        self.record.restore_seconds = Some(loading.elapsed().as_secs_f64());
        self.record.rows = report.rows.clone();
        self.record.skipped_tables = report.skipped.clone();
        self.record.statements = report.statements;
        if let Some(image) = &self.settings.snapshots {
            counters.set_phase(Phase::Snapshotting);
            let taking = Instant::now();
            match self.take_snapshot(image, &report, &counters).await? {
                Ok(m) => {
                    debug!(
                        "{}: snapshot {} taken ({}) in {}",
                        escape(world),
                        short_id(&m.key),
                        crate::output::human_bytes(m.size_bytes),
                        crate::output::human_duration(taking.elapsed())
                    );
                    self.record.snapshot = Some(m.key);
                }
                Err(why) => info!("{}: no snapshot kept: {}", escape(world), escape(&why)),
            }
        }
        Ok(Outcome::Ready)
    }

    /// Stop the verified world's server cleanly, copy its data into a snapshot, start it
    /// again. The outer error is the world's (it did not come back); the inner one only
    /// says why no snapshot was kept.
    async fn take_snapshot(
        &mut self,
        image: &ImageFacts,
        report: &crate::load::RestoreReport,
        counters: &Counters,
    ) -> Result<std::result::Result<Manifest, String>> {
        let world = self.d.planned.world.clone();
        let Some(sha) = counters.content.digest(self.d.planned.dump.size) else {
            return Ok(Err(
                "the dump changed size while it was restored, or was not read to its end"
                    .to_string(),
            ));
        };
        let filter = &self.desire.filter;
        let parts = KeyParts::new(&sha, &image.identity, self.config, filter);
        let manifest = Manifest {
            format: FORMAT,
            key: parts.key(),
            parts,
            world: world.clone(),
            dump: self.d.planned.dump.file_name.clone(),
            dump_size: self.d.identity.size,
            dump_sample: self.d.identity.hash.clone(),
            created: now_text(),
            size_bytes: 0,
            sql_bytes: counters
                .sql_bytes
                .load(std::sync::atomic::Ordering::Relaxed),
            statements: report.statements,
            tables: report
                .tables
                .iter()
                .map(|((db, table), rows)| TableRows {
                    db: db.clone(),
                    table: table.clone(),
                    rows: *rows,
                    loaded: filter.loads(db, table),
                })
                .collect(),
        };
        let name = self.name();
        let step = Instant::now();
        shrink_redo_log(&Target::root(self.port, self.password), self.config.flavor).await;
        let shrunk = step.elapsed();
        self.engine
            .stop_within(&name, 600)
            .await
            .context("stopping the server for its snapshot")?;
        let stopped = step.elapsed();
        let taken = self
            .engine
            .take_snapshot(
                &self.config.image,
                &volume_name(&self.config.env, &world),
                manifest,
            )
            .await
            .map_err(|e| format!("{e:#}"));
        let copied = step.elapsed();
        if let Err(e) = self.engine.start(&name).await {
            return Err(anyhow!(
                "cannot start container {name} again after its snapshot: {e}"
            ));
        }
        wait_for_server(
            self.engine,
            &name,
            &world,
            self.port,
            self.password,
            self.settings,
        )
        .await
        .context("the server did not come back after its snapshot")?;
        let human = crate::output::human_duration;
        debug!(
            "{}: snapshot: redo log shrunk in {}, server stopped in {}, data copied in {}, \
             server answering again in {}",
            escape(&world),
            human(shrunk),
            human(stopped - shrunk),
            human(copied - stopped),
            human(step.elapsed() - copied)
        );
        Ok(taken)
    }

    /// Write the final record into the world: `ready` (verified), `empty`, or `failed`.
    /// A world whose record cannot be written is not ready.
    async fn finish(&mut self, result: Result<Outcome>) -> Result<Outcome> {
        let Some(id) = self.created.clone() else {
            // Nothing was created (say a foreign object was in the way): nothing to write to.
            return result;
        };
        self.record.finished =
            Some(Local::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, false));
        self.record.seconds = Some(self.started.elapsed().as_secs_f64());
        match result {
            Ok(outcome) => {
                self.record.outcome = outcome;
                self.engine
                    .write_record(&id, &self.record)
                    .await
                    .context("the restore was verified, but its record could not be stored")?;
                Ok(outcome)
            }
            Err(e) => {
                self.record.outcome = Outcome::Failed;
                self.record.error = Some(format!("{e:#}"));
                // Best effort: a container that never came to be cannot hold a record, and
                // without one the world shows as interrupted, never as ready.
                let _ = self.engine.write_record(&id, &self.record).await;
                Err(e)
            }
        }
    }
}
