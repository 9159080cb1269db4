//! `worlds env`: how to connect to each world.

use anyhow::Result;
use serde::Serialize;

use crate::cli::{EnvArgs, EnvFormat};
use crate::config::Config;
use crate::engine::Engine;
use crate::environment::names::group_suffix;
use crate::environment::{self, cnf};
use crate::error::escape;
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

pub async fn run(config: &Config, args: &EnvArgs) -> Result<i32> {
    let engine = Engine::connect().await?;
    environment::known::require(&engine, config).await?;
    let env_dir = EnvDir::new(config.env_dir());
    let all = environment::load(&engine, &config.env, &env_dir).await?;
    let worlds: Vec<environment::World> =
        environment::select(&all, &args.worlds.worlds, &config.env)?
            .into_iter()
            .cloned()
            .collect();
    if worlds.is_empty() {
        tracing::info!(
            "environment {} has no worlds; start them with `worlds up`",
            config.env
        );
    }
    let text = cnf::render(&worlds, &config.database);
    // The option file of this folder always lists every world of the environment.
    let cnf_path = env_dir.refresh_cnf(&cnf::render(&all, &config.database))?;
    match args.format {
        EnvFormat::Cnf => print(&text)?,
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
                    escape(w.name()),
                    "127.0.0.1".to_string(),
                    w.container.port.to_string(),
                    "root".to_string(),
                    w.password.clone().unwrap_or_default(),
                    config.database.clone(),
                ]);
            }
            let first = group_suffix(worlds.first().map(|w| w.name()).unwrap_or("host1"));
            let how = match cnf_path {
                Some(path) => format!(
                    "mysql option file: {}\n  mysql --defaults-file={} --defaults-group-suffix={first}\n",
                    path.display(),
                    path.display()
                ),
                None => format!(
                    "mysql option file: none in this folder (the environment was created from \
                     another one); write one with\n  worlds{} env --format cnf > my.cnf && \
                     mysql --defaults-file=my.cnf --defaults-group-suffix={first}\n",
                    crate::environment::lock::env_flag(&config.env)
                ),
            };
            print(&format!("{t}\n{how}"))?;
        }
    }
    Ok(0)
}
