//! `worlds down`: stop whatever changes the environment, then remove everything of it that
//! carries its labels (or, with `--all`, of every environment of this project folder).

use std::time::Duration;

use anyhow::Result;

use crate::cli::DownArgs;
use crate::config::Config;
use crate::engine::{Engine, Removal, WorldContainer, WorldVolume};
use crate::environment::known::{Environments, DEFAULT_ENV};
use crate::environment::lock::{self, Contention, EnvLock, Holder};
use crate::environment::lock_path;
use crate::error::{escape, unusable, Exit};
use crate::output::human_bytes;
use crate::snapshot::short_id;
use crate::state::EnvDir;

/// How long `down` waits for a stopped `up` (or another `down`) to let go.
const LOCK_WAIT: Duration = Duration::from_secs(120);

pub async fn run(config: &Config, args: &DownArgs) -> Result<i32> {
    let engine = Engine::connect().await?;
    let project = config.project_dir();
    let envs: Vec<String> = if args.all {
        let mut mine = Vec::new();
        let mut others = Vec::new();
        for c in engine.list_worlds(None).await? {
            if c.project == project {
                mine.push(c.env)
            } else {
                others.push(c.env)
            }
        }
        for v in engine.list_volumes(None).await? {
            if v.project == project {
                mine.push(v.env)
            } else {
                others.push(v.env)
            }
        }
        if let Ok(entries) = std::fs::read_dir(&config.state_dir) {
            mine.extend(
                entries
                    .flatten()
                    .filter_map(|e| e.file_name().to_str().map(String::from)),
            );
        }
        mine.sort();
        mine.dedup();
        others.sort();
        others.dedup();
        others.retain(|e| !mine.contains(e));
        if !others.is_empty() {
            println!(
                "left alone: {} environment{} of other project folders ({}); see `worlds envs`",
                others.len(),
                if others.len() == 1 { "" } else { "s" },
                others.join(", ")
            );
        }
        if mine.is_empty() {
            println!("no environments of {project}");
            return Ok(Exit::Ok.code());
        }
        println!(
            "removing the environments of {project}: {}",
            mine.join(", ")
        );
        mine
    } else {
        let (containers, volumes) = objects(&engine, &config.env, None).await?;
        if containers.is_empty()
            && volumes.is_empty()
            && !config.env_dir().exists()
            && lock::probe(&lock_path(&engine, &config.env).await?).is_none()
        {
            // Nothing of it anywhere and no command changing it: say so, create nothing.
            println!("environment {}: nothing to remove", config.env);
            if config.env != DEFAULT_ENV {
                let envs = Environments::read(&engine, &project).await?;
                eprintln!("note: {}", envs.unknown_message(&config.env));
            }
            return Ok(Exit::Ok.code());
        }
        let mut others: Vec<&str> = containers
            .iter()
            .map(|c| c.project.as_str())
            .chain(volumes.iter().map(|v| v.project.as_str()))
            .filter(|p| *p != project)
            .collect();
        others.sort();
        others.dedup();
        if !others.is_empty() && !args.force {
            return Err(unusable(format!(
                "environment {} was created from the project folder {}; run `worlds down` \
                 there, or add --force to remove it from here",
                config.env,
                escape(&others.join(", "))
            )));
        }
        vec![config.env.clone()]
    };
    // The snapshots of the worlds' data, read before the worlds go.
    let mut snapshot_keys = Vec::new();
    if args.snapshots {
        for env in &envs {
            let dir = EnvDir::new(config.state_dir.join(env));
            for w in crate::environment::load(&engine, env, &dir)
                .await
                .unwrap_or_default()
            {
                if let Some(key) = w.record.and_then(|r| r.snapshot) {
                    snapshot_keys.push(key);
                }
            }
        }
    }
    let mut errors = Vec::new();
    for env in &envs {
        let only_project = args.all.then_some(project.as_str());
        if let Err(e) = down_one(&engine, config, env, only_project).await {
            errors.push(format!("environment {env}: {e:#}"));
        }
    }
    if let Err(e) = snapshots_after(&engine, config, &snapshot_keys, args.snapshots).await {
        errors.push(format!("snapshots: {e:#}"));
    }
    if errors.is_empty() {
        Ok(Exit::Ok.code())
    } else {
        Err(anyhow::anyhow!("{}", errors.join("\n")))
    }
}

/// With `--snapshots`, remove the snapshots of the removed worlds; then say how much space
/// the snapshots on the engine keep, and how to remove them.
async fn snapshots_after(
    engine: &Engine,
    config: &Config,
    keys: &[String],
    remove: bool,
) -> Result<()> {
    let volumes = engine.list_snapshots().await?;
    let mut failed = Vec::new();
    if remove {
        for v in volumes.iter().filter(|v| keys.contains(&v.key)) {
            match engine.remove_snapshot(&v.name).await {
                Ok(Removal::Removed) => println!("removed snapshot {}", short_id(&v.key)),
                Ok(Removal::AlreadyGone) => {}
                Err(e) => failed.push(format!("{e:#}")),
            }
        }
        if keys.is_empty() {
            println!("no snapshots of these worlds' data to remove");
        }
    }
    let left = engine.list_snapshots().await?;
    if !left.is_empty() {
        // Sizes are in the snapshots' manifests: read them when the image is here.
        let size = match engine.docker().inspect_image(&config.image).await {
            Ok(_) => engine
                .read_snapshots(&config.image, &left)
                .await
                .ok()
                .map(|e| e.iter().map(|e| e.size()).sum::<u64>()),
            Err(_) => None,
        };
        println!(
            "{} snapshot{} of restored worlds {} on this engine{} for the next `worlds up`; \
             `worlds snapshots` lists them, `worlds snapshots prune --all` removes them (or \
             `worlds down --snapshots` those of the worlds it removes)",
            left.len(),
            if left.len() == 1 { "" } else { "s" },
            if left.len() == 1 { "stays" } else { "stay" },
            size.map(|b| format!(", keeping {}", human_bytes(b)))
                .unwrap_or_default()
        );
    }
    if failed.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{}", failed.join("; "))
    }
}

/// Take the environment's lock; an `up` that holds it is asked to stop first (then the
/// second value is true).
async fn take_lock(engine: &Engine, env: &str) -> Result<(EnvLock, bool)> {
    let path = lock_path(engine, env).await?;
    let mut stopped = false;
    match lock::acquire(&path, env, Holder::me("down"), Contention::Fail).await {
        Ok(held) => return Ok((held, false)),
        Err(_) => {
            if let Some(holder) = lock::probe(&path) {
                if holder.command == "up" {
                    println!("stopping {} first", holder.describe());
                    stopped = true;
                    holder.ask_to_stop().map_err(|e| {
                        unusable(format!(
                            "environment {env} is in use by {} and it cannot be stopped from \
                             here: {e:#}. Stop it there, then run `worlds down` again",
                            holder.describe()
                        ))
                    })?;
                } else {
                    println!("waiting for {} to finish", holder.describe());
                }
            }
        }
    }
    let notice = |_: &Holder| {};
    let held = tokio::time::timeout(
        LOCK_WAIT,
        lock::acquire(&path, env, Holder::me("down"), Contention::Wait(&notice)),
    )
    .await
    .map_err(|_| {
        unusable(format!(
            "environment {env} is still in use after {} s; nothing was removed",
            LOCK_WAIT.as_secs()
        ))
    })??;
    Ok((held, stopped))
}

async fn down_one(
    engine: &Engine,
    config: &Config,
    env: &str,
    project: Option<&str>,
) -> Result<()> {
    let (held, stopped_an_up) = take_lock(engine, env).await?;
    let mut found = 0;
    let mut errors = Vec::new();
    // A request the stopped `up` had already sent may still create an object: look again
    // until nothing is left, a few rounds at most.
    for round in 0..4 {
        if round > 0 {
            tokio::time::sleep(Duration::from_millis(750)).await;
        }
        errors.clear();
        let (seen, left) = remove_round(engine, env, project, &mut errors).await?;
        found += seen;
        // After stopping an `up`, look once more a little later: a request it had already
        // sent may still be creating something.
        if left == 0 && errors.is_empty() && !(stopped_an_up && round == 0) {
            break;
        }
        if round == 3 && errors.is_empty() {
            errors.push(format!(
                "{left} objects are still there; run `worlds down` again"
            ));
        }
    }
    let dir = EnvDir::new(config.state_dir.join(env));
    match dir.remove() {
        Ok(true) => println!("removed {}", dir.dir.display()),
        Ok(false) => {}
        Err(e) => errors.push(format!("{e:#}")),
    }
    if found == 0 {
        println!("environment {env}: nothing to remove");
    }
    held.release();
    if errors.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("some things could not be removed: {}", errors.join("; "))
    }
}

/// The environment's containers and volumes (of one project folder, with `--all`).
async fn objects(
    engine: &Engine,
    env: &str,
    project: Option<&str>,
) -> Result<(Vec<WorldContainer>, Vec<WorldVolume>)> {
    let ours = |p: &str| project.is_none_or(|want| want == p);
    let mut containers = engine.list_worlds(Some(env)).await?;
    containers.retain(|c| ours(&c.project));
    let mut volumes = engine.list_volumes(Some(env)).await?;
    volumes.retain(|v| ours(&v.project));
    Ok((containers, volumes))
}

/// Remove the containers, then the volumes; returns (objects seen, objects left after).
async fn remove_round(
    engine: &Engine,
    env: &str,
    project: Option<&str>,
    errors: &mut Vec<String>,
) -> Result<(usize, usize)> {
    let (containers, volumes) = objects(engine, env, project).await?;
    let removals = containers
        .iter()
        .map(|c| async move { (c, engine.remove_container(&c.id).await) });
    for (c, result) in futures::future::join_all(removals).await {
        match result {
            Ok(Removal::Removed) => println!(
                "removed container {} (world {}, env {env})",
                c.name,
                escape(&c.world)
            ),
            Ok(Removal::AlreadyGone) => println!("container {} was already gone", c.name),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    for v in &volumes {
        match engine.remove_volume(&v.name).await {
            Ok(Removal::Removed) => println!("removed volume {}", v.name),
            Ok(Removal::AlreadyGone) => println!("volume {} was already gone", v.name),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    // Say "removed" only for what is gone: look again.
    let (left_containers, left_volumes) = objects(engine, env, project).await?;
    Ok((
        containers.len() + volumes.len(),
        left_containers.len() + left_volumes.len(),
    ))
}
