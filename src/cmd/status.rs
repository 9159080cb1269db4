//! `worlds status`: one row per world, from Docker labels, restore records and the servers.

use anyhow::Result;
use serde::Serialize;

use super::worlds::{load_worlds, World};
use crate::cli::{Format, StatusArgs};
use crate::config::Config;
use crate::engine::Engine;
use crate::output::{human_bytes, print, print_json, table};

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
    let worlds = load_worlds(&engine, config).await?;
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
    let mut t = table(&[
        "world",
        "state",
        "container",
        "address",
        "dump file",
        "dump time",
        "rows",
        "restore",
    ]);
    let mut failures = Vec::new();
    for w in worlds {
        let (rows, restore) = match &w.record {
            Some(r) => (
                r.total_rows().to_string(),
                match r.seconds {
                    Some(s) => format!("{:.1} s, {} of SQL", s, human_bytes(r.sql_bytes)),
                    None => format!("since {}", r.started),
                },
            ),
            None => ("-".to_string(), "-".to_string()),
        };
        if let Some(reason) = w.state.reason() {
            failures.push(format!("{}: {reason}", w.name()));
        }
        t.add_row(vec![
            w.name().to_string(),
            w.state.name().to_string(),
            w.container.name.clone(),
            format!("127.0.0.1:{}", w.container.port),
            w.container.dump.clone(),
            w.container.dump_timestamp.replace('T', " "),
            rows,
            restore,
        ]);
    }
    let mut out = format!("environment {env}\n{t}\n");
    for f in failures {
        out.push_str(&format!("failed {f}\n"));
    }
    out
}
