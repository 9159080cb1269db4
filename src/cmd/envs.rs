//! `worlds envs`: every environment on the Docker engine, of every project folder.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;

use crate::cli::{EnvsArgs, Format};
use crate::config::Config;
use crate::engine::Engine;
use crate::environment;
use crate::error::escape;
use crate::output::{print, print_json, table};
use crate::state::EnvDir;

#[derive(Serialize)]
struct EnvsJson {
    envs: Vec<EnvJson>,
}

#[derive(Serialize)]
struct EnvJson {
    env: String,
    project: String,
    /// Whether the project folder is the one this command runs in.
    this_project: bool,
    worlds: Vec<WorldJson>,
}

#[derive(Serialize)]
struct WorldJson {
    world: String,
    state: String,
    port: u16,
    dump: String,
    dumps_dir: String,
}

pub async fn run(config: &Config, args: &EnvsArgs) -> Result<i32> {
    let engine = Engine::connect().await?;
    let mut names: Vec<String> = engine
        .list_worlds(None)
        .await?
        .into_iter()
        .map(|c| c.env)
        .collect();
    let volumes = engine.list_volumes(None).await?;
    names.extend(volumes.iter().map(|v| v.env.clone()));
    names.sort();
    names.dedup();
    let project = config.project_dir();
    let mut envs = Vec::new();
    for env in names {
        let worlds =
            environment::load(&engine, &env, &EnvDir::new(config.state_dir.join(&env))).await?;
        let mut projects: Vec<String> = worlds
            .iter()
            .map(|w| w.container.project.clone())
            .chain(
                volumes
                    .iter()
                    .filter(|v| v.env == env)
                    .map(|v| v.project.clone()),
            )
            .collect();
        projects.sort();
        projects.dedup();
        let project_text = projects.join(", ");
        envs.push(EnvJson {
            this_project: projects.contains(&project),
            env,
            project: project_text,
            worlds: worlds
                .iter()
                .map(|w| WorldJson {
                    world: w.name().to_string(),
                    state: w.state.name().to_string(),
                    port: w.container.port,
                    dump: w.container.dump.clone(),
                    dumps_dir: w.container.dumps_dir.clone(),
                })
                .collect(),
        });
    }
    match args.format {
        Format::Json => print_json(&EnvsJson { envs })?,
        Format::Table => print(&render(&envs))?,
    }
    Ok(0)
}

fn render(envs: &[EnvJson]) -> String {
    if envs.is_empty() {
        return "no environments on this Docker engine; start one with `worlds up`".to_string();
    }
    let mut t = table(&[
        "env",
        "project",
        "worlds",
        "states",
        "ports",
        "dumps folder",
    ]);
    for e in envs {
        let mut states: BTreeMap<&str, usize> = BTreeMap::new();
        for w in &e.worlds {
            *states.entry(w.state.as_str()).or_default() += 1;
        }
        let states = states
            .iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect::<Vec<_>>()
            .join(", ");
        let ports: Vec<u16> = e.worlds.iter().map(|w| w.port).collect();
        let ports = match (ports.iter().min(), ports.iter().max()) {
            (Some(a), Some(b)) if a == b => a.to_string(),
            (Some(a), Some(b)) => format!("{a}-{b}"),
            _ => "-".to_string(),
        };
        let mut dirs: Vec<&str> = e.worlds.iter().map(|w| w.dumps_dir.as_str()).collect();
        dirs.sort();
        dirs.dedup();
        t.add_row(vec![
            format!(
                "{}{}",
                escape(&e.env),
                if e.this_project { " *" } else { "" }
            ),
            escape(&e.project),
            e.worlds.len().to_string(),
            states,
            ports,
            escape(&dirs.join(", ")),
        ]);
    }
    format!("{t}\n* = an environment of this project folder")
}
