//! `worlds env`: how to connect to each world.

use anyhow::Result;
use serde::Serialize;

use super::worlds::{load_worlds, World};
use crate::cli::{EnvArgs, EnvFormat};
use crate::config::Config;
use crate::engine::Engine;
use crate::output::{print, print_json, table};
use crate::state::EnvDir;

#[derive(Serialize)]
struct EnvJson<'a> {
    env: &'a str,
    worlds: Vec<Conn<'a>>,
}

#[derive(Serialize)]
struct Conn<'a> {
    world: &'a str,
    host: &'a str,
    port: u16,
    user: &'a str,
    password: &'a str,
    database: &'a str,
}

/// The client option file: one `[client_<world>]` group per world.
pub fn render_cnf(worlds: &[World], database: &str) -> String {
    let mut out = String::from(
        "# Written by `worlds env`. Use it like:\n\
         #   mysql --defaults-file=THIS_FILE --defaults-group-suffix=_host1\n",
    );
    for w in worlds {
        let pw = w.password.as_deref().unwrap_or("");
        out.push_str(&format!(
            "\n[client_{name}]\nhost=127.0.0.1\nport={port}\nuser=root\npassword={pw}\nprotocol=TCP\n\
             \n[mysql_{name}]\ndatabase={database}\n\n[mariadb-client_{name}]\ndatabase={database}\n",
            name = w.name(),
            port = w.container.port,
        ));
    }
    out
}

/// Write `.worlds/<env>/my.cnf` for the worlds that exist now.
pub fn write_cnf(config: &Config, worlds: &[World]) -> Result<std::path::PathBuf> {
    EnvDir::new(config.env_dir()).write_cnf(&render_cnf(worlds, &config.database))
}

pub async fn run(config: &Config, args: &EnvArgs) -> Result<i32> {
    let engine = Engine::connect().await?;
    let worlds = load_worlds(&engine, config).await?;
    if worlds.is_empty() {
        eprintln!(
            "environment {} has no worlds; start them with `worlds up`",
            config.env
        );
    }
    let cnf_path = write_cnf(config, &worlds)?;
    match args.format {
        EnvFormat::Cnf => print(&render_cnf(&worlds, &config.database))?,
        EnvFormat::Json => print_json(&EnvJson {
            env: &config.env,
            worlds: worlds
                .iter()
                .map(|w| Conn {
                    world: w.name(),
                    host: "127.0.0.1",
                    port: w.container.port,
                    user: "root",
                    password: w.password.as_deref().unwrap_or(""),
                    database: &config.database,
                })
                .collect(),
        })?,
        EnvFormat::Table => {
            let mut t = table(&["world", "host", "port", "user", "password", "database"]);
            for w in &worlds {
                t.add_row(vec![
                    w.name().to_string(),
                    "127.0.0.1".to_string(),
                    w.container.port.to_string(),
                    "root".to_string(),
                    w.password.clone().unwrap_or_default(),
                    config.database.clone(),
                ]);
            }
            let first = worlds.first().map(|w| w.name()).unwrap_or("host1");
            print(&format!(
                "{t}\nmysql option file: {}\n  mysql --defaults-file={} --defaults-group-suffix=_{first}\n",
                cnf_path.display(),
                cnf_path.display()
            ))?;
        }
    }
    Ok(0)
}
