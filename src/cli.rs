//! Command-line interface: clap derive structs only.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// Restore many MySQL dumps side by side, one server container per game world,
/// and query them all at once.
#[derive(Debug, Parser)]
#[command(name = "worlds", version, about, long_about = None, propagate_version = true)]
#[command(
    after_help = "Start with `worlds plan` to see which dump each world gets, \
then `worlds up`. Docs: docs/guide.md\n\n\
Exit codes: 0 all good; 1 some world failed or a query failed somewhere; 2 usage or \
configuration error; 3 the environment is not usable (Docker unreachable, image missing, \
environment in use by another command, a foreign object in the way)."
)]
pub struct Cli {
    /// Config file (default: ./worlds.yaml when it exists).
    #[arg(long, global = true, value_name = "FILE", env = "WORLDS_CONFIG")]
    pub config: Option<PathBuf>,

    /// Folder holding the dump files (overrides `dumps` in the config).
    #[arg(long, global = true, value_name = "DIR")]
    pub dumps: Option<PathBuf>,

    /// Environment name: several restores can live side by side, e.g. `before` and `after`.
    #[arg(long = "env", global = true, value_name = "NAME", env = "WORLDS_ENV")]
    pub env_name: Option<String>,

    /// Print only results, warnings and errors (no progress, no notes).
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print debug details on stderr (restore phases with timings, session setup); -vv for
    /// more.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show which dump each world would get, and which files are skipped and why.
    Plan(PlanArgs),
    /// Start one server per world and restore its dump into it.
    Up(UpArgs),
    /// Show the worlds of the environment: state, port, dump, restore outcome.
    Status(StatusArgs),
    /// Print connection details per world (table, JSON, or a mysql option file).
    Env(EnvArgs),
    /// Open a mysql shell on one world (or run one statement with -e).
    Connect(ConnectArgs),
    /// Run one SQL statement on every ready world and merge the results.
    Query(QueryArgs),
    /// Remove every container, volume and file of the environment.
    Down(DownArgs),
    /// List every environment on the Docker engine, of every project folder.
    Envs(EnvsArgs),
}

/// Which dumps to pick.
#[derive(Debug, Args, Clone, Default)]
pub struct SelectArgs {
    /// Pick the latest dump at or before this time instead of the latest one.
    /// Accepts `2024-06-18T21:00:00`, `2024-06-18 21:00` and `20240618_210000`.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,

    /// Only these hosts (comma-separated), e.g. `--hosts host1,host3`.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub hosts: Vec<String>,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub select: SelectArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    pub select: SelectArgs,

    /// Tables loaded at once per world (default: from the CPU count and the number of worlds).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,

    /// Start the servers but do not restore the dumps.
    #[arg(long)]
    pub no_restore: bool,

    /// Seconds to wait for a server to accept queries.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub start_timeout: u64,

    /// Replace ready worlds that hold another dump than the plan (without it, `up` lists
    /// them and changes nothing).
    #[arg(long)]
    pub replace: bool,

    /// When another command is changing the environment, wait for it instead of failing.
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Show every column (container, address, dump file, dumps folder, SQL size), even when
    /// rows wrap; without it the table fits the terminal (80 columns when not a terminal).
    #[arg(long)]
    pub wide: bool,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    /// Output format: a table, JSON, or the mysql client option file (`cnf`).
    #[arg(long, value_enum, default_value_t = EnvFormat::Table)]
    pub format: EnvFormat,
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The world to connect to, e.g. `host1`.
    pub world: String,

    /// Run this statement and exit instead of opening a shell.
    #[arg(short = 'e', long = "execute", value_name = "SQL")]
    pub execute: Option<String>,

    /// Extra arguments for the mysql client (after `--`).
    #[arg(last = true, value_name = "MYSQL_ARGS")]
    pub extra: Vec<String>,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The SQL: one statement or several separated by `;`. Also read from --file, or from
    /// standard input when omitted.
    pub sql: Option<String>,

    /// Read the statement from this file.
    #[arg(long, value_name = "FILE", conflicts_with = "sql")]
    pub file: Option<PathBuf>,

    /// Only these worlds (comma-separated).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub worlds: Vec<String>,

    /// How many worlds are queried at once (default: all).
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,

    /// Seconds a world may take before its statement is cancelled on the server.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,

    /// Output format (default: table on a terminal, tsv otherwise).
    #[arg(long, value_enum)]
    pub format: Option<QueryFormat>,

    /// Sort the merged rows by this column.
    #[arg(long, value_name = "COL")]
    pub order_by: Option<String>,

    /// Sort descending (with --order-by).
    #[arg(long, requires = "order_by")]
    pub desc: bool,

    /// Keep only the first N rows of each statement (after --order-by).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,

    /// Leave out the header line (table, csv and tsv).
    #[arg(long)]
    pub no_header: bool,

    /// Write the result to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Remove every environment of this project folder, not just the selected one.
    #[arg(long)]
    pub all: bool,

    /// Also remove an environment that was created from another project folder.
    #[arg(long, conflicts_with = "all")]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct EnvsArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EnvFormat {
    Table,
    Json,
    Cnf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryFormat {
    Table,
    Csv,
    Tsv,
    Json,
    /// One `column: value` line per column, like the mysql client's `\G`.
    Vertical,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_options_go_before_or_after_the_subcommand() {
        let before = Cli::try_parse_from(["worlds", "--env", "x", "--dumps", "d", "plan"]).unwrap();
        let after = Cli::try_parse_from(["worlds", "plan", "--env", "x", "--dumps", "d"]).unwrap();
        assert_eq!(before.env_name.as_deref(), Some("x"));
        assert_eq!(after.env_name.as_deref(), Some("x"));
        assert_eq!(after.dumps, Some(PathBuf::from("d")));
    }

    #[test]
    fn quiet_and_verbose_are_global_and_exclusive() {
        let cli = Cli::try_parse_from(["worlds", "-vv", "status"]).unwrap();
        assert_eq!((cli.quiet, cli.verbose), (false, 2));
        let cli = Cli::try_parse_from(["worlds", "up", "-q"]).unwrap();
        assert_eq!((cli.quiet, cli.verbose), (true, 0));
        assert!(Cli::try_parse_from(["worlds", "-q", "-v", "up"]).is_err());
    }

    #[test]
    fn hosts_are_comma_separated() {
        let cli = Cli::try_parse_from(["worlds", "plan", "--hosts", "host1,host10"]).unwrap();
        match cli.command {
            Command::Plan(p) => assert_eq!(p.select.hosts, vec!["host1", "host10"]),
            other => panic!("parsed as {other:?}"),
        }
    }
}
