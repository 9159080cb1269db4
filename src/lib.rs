//! `worlds`: restore many MySQL dumps side by side, one server container per game world,
//! and query them all at once.
//!
//! Data flows one way: dump files -> [`catalog`] (plan) -> [`engine`] (containers) ->
//! [`load`] (restore) -> [`query`] -> [`output`].

pub mod catalog;
pub mod cli;
mod cmd;
pub mod config;
pub mod db;
pub mod diff;
pub mod engine;
pub mod environment;
pub mod error;
pub mod filter;
pub mod gen;
pub mod identity;
pub mod load;
pub mod location;
pub mod messages;
pub mod output;
pub mod query;
pub mod snapshot;
pub mod sql;
pub mod state;
pub mod store;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::config::Config;

/// Parse the command line, run the command, and return the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    messages::init(cli.quiet, cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return 1;
        }
    };
    let code = match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", error::escape(&format!("{err:#}")));
            error::exit_for(&err).code()
        }
    };
    // Reader threads of a stopped restore end on their own; do not wait for them.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}

/// Run one parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<i32> {
    // These describe the command line itself: no config, no Docker.
    match &cli.command {
        Command::Completions(args) => return cmd::completions::completions(args.shell),
        Command::Man => return cmd::completions::man(),
        _ => {}
    }
    let mut config = Config::load(
        cli.config.as_deref(),
        cli.command.dumps(),
        cli.env_name.as_deref(),
    )?;
    config.aws_profile = cli.command.profile().map(str::to_string);
    match &cli.command {
        Command::Plan(args) => cmd::plan::run(&config, args).await,
        Command::Up(args) => cmd::up::run(&config, args).await,
        Command::Status(args) => cmd::status::run(&config, args).await,
        Command::Env(args) => cmd::env::run(&config, args).await,
        Command::Connect(args) => cmd::connect::run(&config, args).await,
        Command::Query(args) => cmd::query::run(&config, args).await,
        Command::Diff(args) => cmd::diff::run(&config, args).await,
        Command::Down(args) => cmd::down::run(&config, args).await,
        Command::Logs(args) => cmd::logs::run(&config, args).await,
        Command::Envs(args) => cmd::envs::run(&config, args).await,
        Command::Snapshots(args) => cmd::snapshots::run(&config, args).await,
        Command::Completions(_) | Command::Man => unreachable!("handled above"),
    }
}
