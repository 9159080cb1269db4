//! `worlds down`: remove everything of an environment (or of all), found by label.

use anyhow::Result;

use crate::cli::DownArgs;
use crate::config::Config;
use crate::engine::Engine;
use crate::state::EnvDir;

pub async fn run(config: &Config, args: &DownArgs) -> Result<i32> {
    let engine = Engine::connect().await?;
    let env = if args.all {
        None
    } else {
        Some(config.env.as_str())
    };
    let containers = engine.list_worlds(env).await?;
    let mut envs: Vec<String> = containers.iter().map(|c| c.env.clone()).collect();
    let mut errors = Vec::new();
    let engine_ref = &engine;
    let removals = containers
        .iter()
        .map(|c| async move { (c, engine_ref.remove_container(&c.id).await) });
    for (c, result) in futures::future::join_all(removals).await {
        match result {
            Ok(()) => println!(
                "removed container {} (world {}, env {})",
                c.name, c.world, c.env
            ),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    for volume in engine.list_volumes(env).await? {
        match engine.remove_volume(&volume).await {
            Ok(()) => println!("removed volume {volume}"),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    if args.all {
        if let Ok(entries) = std::fs::read_dir(&config.state_dir) {
            envs.extend(
                entries
                    .flatten()
                    .filter_map(|e| e.file_name().to_str().map(String::from)),
            );
        }
    } else {
        envs.push(config.env.clone());
    }
    envs.sort();
    envs.dedup();
    for name in envs {
        let dir = EnvDir::new(config.state_dir.join(&name));
        match dir.remove() {
            Ok(true) => println!("removed {}", dir.dir.display()),
            Ok(false) => {}
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    if containers.is_empty() {
        match env {
            Some(env) => println!("environment {env}: nothing to remove"),
            None => println!("no worlds in any environment"),
        }
    }
    if errors.is_empty() {
        Ok(0)
    } else {
        anyhow::bail!("some things could not be removed: {}", errors.join("; "))
    }
}
