//! `worlds connect WORLD`: a mysql shell on one world.

use std::process::Command;

use anyhow::{Context, Result};

use super::env::write_cnf;
use super::worlds::{load_worlds, select};
use crate::cli::ConnectArgs;
use crate::config::{Config, Flavor};
use crate::engine::Engine;
use crate::error::usage;

/// The first of these clients found on PATH.
fn host_client() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["mysql", "mariadb"].iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

pub async fn run(config: &Config, args: &ConnectArgs) -> Result<i32> {
    let engine = Engine::connect().await?;
    let worlds = load_worlds(&engine, config).await?;
    let chosen = select(&worlds, std::slice::from_ref(&args.world), &config.env)?;
    let Some(world) = chosen.first() else {
        return Err(usage(format!("no world {:?}", args.world)));
    };
    if !world.container.running {
        return Err(usage(format!(
            "world {} is {}; start it with `worlds up`",
            world.name(),
            world.state.name()
        )));
    }
    let mut command = match host_client() {
        Some(client) => {
            let cnf = write_cnf(config, &worlds)?;
            let mut c = Command::new(client);
            c.arg(format!("--defaults-file={}", cnf.display()))
                .arg(format!("--defaults-group-suffix=_{}", world.name()));
            c
        }
        None => {
            // No client on this host: use the one inside the world's container.
            let tty = std::io::IsTerminal::is_terminal(&std::io::stdin());
            let client = match world.container.flavor {
                Flavor::Mariadb => "mariadb",
                Flavor::Mysql => "mysql",
            };
            let mut c = Command::new("docker");
            c.arg("exec").arg(if tty { "-it" } else { "-i" });
            c.arg("-e").arg(format!(
                "MYSQL_PWD={}",
                world.password.as_deref().unwrap_or_default()
            ));
            c.arg(&world.container.name)
                .arg(client)
                .arg("-uroot")
                .arg(&config.database);
            c
        }
    };
    if let Some(sql) = &args.execute {
        command.arg("-e").arg(sql);
    }
    command.args(&args.extra);
    let status = command
        .status()
        .context("cannot start the mysql client (install mysql-client or mariadb-client)")?;
    Ok(status.code().unwrap_or(1))
}
