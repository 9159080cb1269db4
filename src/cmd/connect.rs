//! `worlds connect WORLD`: a mysql shell on one world. The password travels in a private
//! option file (host client, when `up` made one in this folder) or in the environment (the client inside the world's
//! container), never in process arguments. The client owns the terminal: Ctrl-C reaches it,
//! and `worlds` waits for it and returns its exit code.

use anyhow::{Context, Result};
use tokio::process::Command;

use crate::cli::ConnectArgs;
use crate::config::{Config, Flavor};
use crate::engine::Engine;
use crate::environment::names::group_suffix;
use crate::environment::{self, cnf, select};
use crate::error::{escape, usage, Exit};
use crate::state::EnvDir;

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
    environment::known::require(&engine, config).await?;
    let env_dir = EnvDir::new(config.env_dir());
    let worlds = environment::load(&engine, &config.env, &env_dir).await?;
    let chosen = select(&worlds, std::slice::from_ref(&args.world), &config.env)?;
    let Some(world) = chosen.first() else {
        return Err(usage(format!("no world {:?}", escape(&args.world))));
    };
    if !world.container.running {
        return Err(usage(format!(
            "world {} is {}; start it with `worlds up`",
            escape(world.name()),
            world.state.name()
        )));
    }
    if let Some(reason) = world.state.reason() {
        tracing::warn!(
            "note: world {} is {}: {}",
            escape(world.name()),
            world.state.name(),
            escape(reason)
        );
    }
    // The host's client reads the option file `up` keeps in this folder; without one (the
    // environment was made from another folder) the client inside the container is used.
    let host = match host_client() {
        Some(client) => env_dir
            .refresh_cnf(&cnf::render(&worlds, &config.database))?
            .map(|cnf| (client, cnf)),
        None => None,
    };
    let mut command = match host {
        Some((client, cnf)) => {
            let mut c = Command::new(client);
            c.arg(format!("--defaults-file={}", cnf.display()))
                .arg(format!(
                    "--defaults-group-suffix={}",
                    group_suffix(world.name())
                ));
            c
        }
        None => {
            // No client on this host: use the one inside the world's container. `-e MYSQL_PWD`
            // without a value makes docker pass it on from this process's environment.
            let tty = std::io::IsTerminal::is_terminal(&std::io::stdin());
            let client = match world.container.flavor {
                Flavor::Mariadb => "mariadb",
                Flavor::Mysql => "mysql",
            };
            let mut c = Command::new("docker");
            c.arg("exec").arg(if tty { "-it" } else { "-i" });
            c.args(["-e", "MYSQL_PWD"]);
            c.env("MYSQL_PWD", world.password.as_deref().unwrap_or_default());
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
    run_foreground(command).await
}

/// Run the client in the foreground: while it runs, Ctrl-C and Ctrl-\ are its own (they
/// reach it through the terminal), not reasons for `worlds` to exit; its exit code is ours.
async fn run_foreground(mut command: Command) -> Result<i32> {
    use tokio::signal::unix::{signal, SignalKind};
    // Handling the signals here (and doing nothing) keeps them from killing `worlds`.
    let mut interrupts = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    let mut quits = signal(SignalKind::quit()).context("cannot handle SIGQUIT")?;
    let mut child = command
        .kill_on_drop(false)
        .spawn()
        .context("cannot start the mysql client (install mysql-client or mariadb-client)")?;
    loop {
        tokio::select! {
            status = child.wait() => {
                let status = status.context("cannot wait for the mysql client")?;
                use std::os::unix::process::ExitStatusExt;
                return Ok(status
                    .code()
                    .or_else(|| status.signal().map(|s| 128 + s))
                    .unwrap_or(Exit::Failed.code()));
            }
            _ = interrupts.recv() => {}
            _ = quits.recv() => {}
        }
    }
}
