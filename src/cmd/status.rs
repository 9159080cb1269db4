//! `worlds status`: one row per world, from Docker labels, restore records and the servers.

use anyhow::Result;
use serde::Serialize;

use crate::cli::{Format, StatusArgs};
use crate::config::Config;
use crate::engine::Engine;
use crate::environment::{self, World};
use crate::error::escape;
use crate::output::{human_bytes, print, print_json, table};
use crate::state::EnvDir;

#[derive(Serialize)]
struct StatusJson<'a> {
    env: &'a str,
    worlds: Vec<WorldJson<'a>>,
}

#[derive(Serialize)]
struct WorldJson<'a> {
    world: &'a str,
    state: &'a str,
    container: &'a str,
    host: &'a str,
    port: u16,
    dump: &'a str,
    timestamp: &'a str,
}

pub async fn run(config: &Config, args: &StatusArgs) -> Result<i32> {
    let engine = Engine::connect().await?;
    environment::known::require(&engine, config).await?;
    let all = environment::load(&engine, &config.env, &EnvDir::new(config.env_dir())).await?;
    let worlds: Vec<World> = environment::select(&all, &args.worlds.worlds, &config.env)?
        .into_iter()
        .cloned()
        .collect();
    match args.format {
        Format::Json => print_json(&StatusJson {
            env: &config.env,
            worlds: worlds
                .iter()
                .map(|w| WorldJson {
                    world: w.name(),
                    state: w.state.name(),
                    container: &w.container.name,
                    host: "127.0.0.1",
                    port: w.container.port,
                    dump: &w.container.dump,
                    timestamp: &w.container.dump_timestamp,
                })
                .collect(),
        })?,
        Format::Table => print(&render(&config.env, &worlds))?,
    }
    Ok(0)
}

fn render(env: &str, worlds: &[World]) -> String {
    if worlds.is_empty() {
        return format!("environment {env} has no worlds; start them with `worlds up`");
    }
    let mut folders: Vec<&str> = worlds
        .iter()
        .map(|w| w.container.dumps_dir.as_str())
        .collect();
    folders.sort();
    folders.dedup();
    let one_folder = folders.len() == 1;
    let mut header = vec![
        "world",
        "state",
        "container",
        "address",
        "dump file",
        "dump time",
    ];
    if !one_folder {
        header.push("dumps folder");
    }
    header.extend(["rows", "restore"]);
    let mut t = table(&header);
    let mut failures = Vec::new();
    for w in worlds {
        let (rows, restore) = match &w.record {
            Some(r) => (
                r.total_rows().to_string(),
                match r.seconds {
                    Some(s) => format!("{:.1} s, {} of SQL", s, human_bytes(r.sql_bytes)),
                    None => format!("since {}", r.started.replace('T', " ")),
                },
            ),
            None => ("-".to_string(), "-".to_string()),
        };
        if let Some(reason) = w.state.reason() {
            failures.push((escape(w.name()), w.state.name(), reason.to_string()));
        }
        let mut row = vec![
            escape(w.name()),
            w.state.name().to_string(),
            w.container.name.clone(),
            format!("127.0.0.1:{}", w.container.port),
            escape(&w.container.dump),
            w.container.dump_timestamp.replace('T', " "),
        ];
        if !one_folder {
            row.push(escape(&w.container.dumps_dir));
        }
        row.extend([rows, restore]);
        t.add_row(row);
    }
    let mut out = format!("environment {env}\n");
    if one_folder {
        out.push_str(&format!("dumps folder: {}\n", escape(folders[0])));
    }
    out.push_str(&format!("{t}\n"));
    for (name, state, reason) in failures {
        out.push_str(&format!("{name} is {state}: {}\n", escape(&reason)));
    }
    out
}
