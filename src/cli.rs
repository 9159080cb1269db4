//! Command-line interface: clap derive structs only.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// Restore many MySQL dumps side by side, one server container per game world,
/// and query them all at once.
#[derive(Debug, Parser)]
#[command(name = "worlds", version, about, long_about = None, propagate_version = true)]
#[command(
    after_help = "Start with `worlds plan` to see which dump each world gets, \
then `worlds up`. Docs: docs/guide.md, `worlds man`; shell completions: \
`worlds completions bash` (or zsh, fish, elvish, powershell).\n\n\
Exit codes: 0 all good; 1 some world failed, a query failed somewhere, or `diff --exit-code` \
found differences; 2 usage or \
configuration error; 3 the environment is not usable (Docker unreachable, image missing, \
environment in use by another command, a foreign object in the way, not enough disk space \
for `up`)."
)]
pub struct Cli {
    /// Config file (default: ./worlds.yaml when it exists).
    #[arg(long, global = true, value_name = "FILE", env = "WORLDS_CONFIG")]
    pub config: Option<PathBuf>,

    /// Environment name: several restores can live side by side, e.g. `before` and `after`.
    /// Only `up` creates an environment; other commands reject names that do not exist
    /// (`default` always exists).
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
    /// Compare a table (or a query's result) between two environments, world by world.
    Diff(DiffArgs),
    /// Show a world's server log (the server container's output, through the Docker API).
    Logs(LogsArgs),
    /// Remove every container, volume and file of the environment.
    Down(DownArgs),
    /// List every environment on the Docker engine, of every project folder.
    Envs(EnvsArgs),
    /// List, remove, export and import the snapshots of restored worlds that `up` keeps.
    Snapshots(SnapshotsArgs),
    /// Print a shell completion script, e.g. `worlds completions bash > ~/.local/share/bash-completion/completions/worlds`.
    Completions(CompletionsArgs),
    /// Print the man page, e.g. `worlds man > worlds.1 && man ./worlds.1`.
    Man,
}

impl Command {
    /// The `--dumps` of the commands that read the dumps folder.
    pub fn dumps(&self) -> Option<&std::path::Path> {
        match self {
            Command::Plan(a) => a.select.dumps.as_deref(),
            Command::Up(a) => a.select.dumps.as_deref(),
            _ => None,
        }
    }

    /// The `--profile` of the commands that read the dumps.
    pub fn profile(&self) -> Option<&str> {
        match self {
            Command::Plan(a) => a.select.profile.as_deref(),
            Command::Up(a) => a.select.profile.as_deref(),
            _ => None,
        }
    }
}

/// Which dumps to pick.
#[derive(Debug, Args, Clone, Default)]
pub struct SelectArgs {
    /// Pick the latest dump at or before this time instead of the latest one.
    /// Accepts `2024-06-18T21:00:00`, `2024-06-18 21:00` and `20240618_210000`.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,

    /// Only these worlds (comma-separated), e.g. `--worlds host1,host3`.
    #[arg(
        long,
        visible_alias = "hosts",
        value_name = "LIST",
        value_delimiter = ','
    )]
    pub worlds: Vec<String>,

    /// Folder holding the dump files, or `s3://bucket/prefix/` (overrides `dumps` in the
    /// config).
    #[arg(long, value_name = "DIR")]
    pub dumps: Option<PathBuf>,

    /// AWS profile for `s3://` dumps (of ~/.aws/credentials and ~/.aws/config; default:
    /// AWS_PROFILE, else the keys in the environment, else `default`).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
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
#[command(after_help = "Examples:\n  \
    worlds up --at '2024-06-18 10:00' --worlds host1,host3\n  \
    worlds up --tables 'player,guild'             data of these tables only\n  \
    worlds up --skip-tables 'event_*,game.audit'  every table's data but these\n  \
    worlds up --tables 'p*' --skip-tables player_log\n\n\
With --tables or --skip-tables every table's definition, views, routines and triggers are \
restored, and the rows of the other tables are skipped while reading the dump (never sent \
to the server); their tables stay empty. A glob is `table` in any database or `db.table`, \
with `*` and `?`, case ignored; --tables chooses first, then --skip-tables takes away. A \
world restored with another filter is like one holding another dump (--replace replaces it).\n\n\
Before creating worlds, up estimates their disk space (docs/guide.md says how) and stops \
with exit 3 when Docker's data root has less free space; --ignore-space goes on anyway.\n\n\
After a verified restore, up keeps a snapshot of the world's data (a Docker volume); a later \
up of the same dump with the same image, settings and tables filter, in any environment, \
copies the snapshot instead of restoring the SQL: `ready (from snapshot)`. --fresh restores \
from the dump anyway; `worlds snapshots` lists and removes them.")]
pub struct UpArgs {
    #[command(flatten)]
    pub select: SelectArgs,

    /// Tables loaded at once per world (default: `table_jobs` in worlds.yaml, else from the
    /// CPU count and the number of worlds).
    #[arg(long, alias = "jobs", value_name = "N", allow_negative_numbers = true,
          value_parser = count(1, MAX_TABLE_JOBS))]
    pub table_jobs: Option<usize>,

    /// Start the servers but do not restore the dumps.
    #[arg(long)]
    pub no_restore: bool,

    /// Seconds to wait for a server to accept queries.
    #[arg(long, value_name = "SECS", default_value_t = 120, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u64).range(1..=MAX_START_TIMEOUT))]
    pub start_timeout: u64,

    /// Replace ready worlds that hold another dump than the plan (without it, `up` lists
    /// them and changes nothing).
    #[arg(long)]
    pub replace: bool,

    /// When another command is changing the environment, wait for it instead of failing.
    #[arg(long)]
    pub wait: bool,

    /// Load the data of these tables only (comma-separated names or globs with * and ?:
    /// `table` in any database, or `db.table`), e.g. --tables 'player,guild'. Overrides
    /// `tables` in worlds.yaml; '' or '*' loads every table.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        conflicts_with = "no_restore"
    )]
    pub tables: Option<Vec<String>>,

    /// Leave out the data of these tables (applied after --tables), e.g.
    /// --skip-tables 'event_*'. Overrides `skip_tables` in worlds.yaml; '' skips none.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        conflicts_with = "no_restore"
    )]
    pub skip_tables: Option<Vec<String>>,

    /// Go on even when the estimated disk space of the restores is more than Docker's data
    /// root has free.
    #[arg(long)]
    pub ignore_space: bool,

    /// Restore from the dumps even where a snapshot of the same dump exists (and replace
    /// that snapshot with a new one).
    #[arg(long, conflicts_with = "no_restore")]
    pub fresh: bool,

    /// Neither start worlds from snapshots nor keep snapshots of this run's restores
    /// (`snapshots: false` in worlds.yaml does this always).
    #[arg(long)]
    pub no_snapshot: bool,
}

#[derive(Debug, Args)]
#[command(
    after_long_help = "A snapshot is the data of a world right after its verified \
restore, kept as a Docker volume named worlds-snapshot-<id>. `up` starts later worlds of \
the same dump (same content, image, data settings and tables filter) from it, in any \
environment or project folder on this engine. Snapshots are never removed by `down` unless \
it is given --snapshots.\n\n\
Examples:\n  worlds snapshots\n  worlds snapshots rm 4ca000950731\n  \
worlds snapshots prune --older-than 7d\n  worlds snapshots export host1 -o host1.snapshot\n  \
worlds snapshots import host1.snapshot"
)]
pub struct SnapshotsArgs {
    #[command(subcommand)]
    pub action: Option<SnapshotsAction>,

    /// Output format of the list.
    #[arg(long, value_enum, default_value_t = Format::Table, global = true)]
    pub format: Format,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotsAction {
    /// List the snapshots: id, world, dump, size, created, last used (the default).
    #[command(visible_alias = "list")]
    Ls,
    /// Remove snapshots, named by the start of their id (4 characters or more), a world
    /// or a dump file name.
    Rm {
        #[arg(required = true, value_name = "SNAPSHOT")]
        which: Vec<String>,
    },
    /// Remove the snapshots not used within a span (--older-than 7d), or all (--all);
    /// incomplete ones (cut off while being taken) always go.
    Prune {
        /// Remove those neither taken nor used within this span: 30m, 12h, 7d, 2w.
        #[arg(long, value_name = "SPAN")]
        older_than: Option<String>,
        /// Remove every snapshot.
        #[arg(long)]
        all: bool,
    },
    /// Write a snapshot to a file another machine can import: a world of this
    /// environment (the snapshot of its data) or a snapshot id.
    Export {
        #[arg(value_name = "WORLD|SNAPSHOT")]
        which: String,
        /// The file to write (zstd-compressed tar).
        #[arg(short = 'o', long, value_name = "FILE")]
        output: PathBuf,
    },
    /// Add a snapshot from a file made by `export`; its key and data are checked.
    Import {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub worlds: WorldsArg,

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
    #[command(flatten)]
    pub worlds: WorldsArg,

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
    #[arg(long, alias = "jobs", value_name = "N", allow_negative_numbers = true,
          value_parser = count(1, MAX_PARALLEL))]
    pub parallel: Option<usize>,

    /// Seconds a world may take before its statement is cancelled on the server.
    #[arg(long, value_name = "SECS", default_value_t = 30.0, allow_negative_numbers = true,
          value_parser = seconds)]
    pub timeout: f64,

    /// Output format (default: table on a terminal, tsv otherwise).
    #[arg(long, value_enum)]
    pub format: Option<QueryFormat>,

    /// Sort the merged rows by this column: NULL, numbers, text (by its bytes), binary.
    /// Each world sorts a SELECT or WITH query itself (and sends only the best --limit
    /// rows), and the sorted rows are merged as they stream; any other statement, or one
    /// with duplicate column names, is sorted here, up to 200,000 rows without --limit.
    #[arg(long, value_name = "COL")]
    pub order_by: Option<String>,

    /// Sort descending (with --order-by).
    #[arg(long, requires = "order_by")]
    pub desc: bool,

    /// Keep only the first N rows of each statement (after --order-by, over all worlds).
    #[arg(long, value_name = "N", allow_negative_numbers = true,
          value_parser = count(0, usize::MAX))]
    pub limit: Option<usize>,

    /// Leave out the header line (table, csv and tsv).
    #[arg(long)]
    pub no_header: bool,

    /// Write the result to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    worlds diff player --from before --to after\n  \
    worlds diff game.player --from before --columns player_score --where 'player_score > 0'\n  \
    worlds diff --from before --query 'SELECT DATE(updated_at) AS day, COUNT(*) AS n FROM player GROUP BY day' --key day\n\n\
Rows are matched by the table's primary key (or --key) and compared value by value, \
exactly (bytes, types, NULL versus empty). A world whose change stands out from the \
others (3 or more worlds) is marked; docs/guide.md explains the rule.\n\n\
Exit codes: 0 compared (differences or not, unless --exit-code); 1 a world could not be \
compared, or with --exit-code something differs; 2 usage; 3 environment not usable.")]
pub struct DiffArgs {
    /// The table to compare: `player` (in the `database` of worlds.yaml, `game` by default)
    /// or `db.table`. Leave out with --query.
    #[arg(
        value_name = "TABLE",
        required_unless_present = "query",
        conflicts_with = "query"
    )]
    pub table: Option<String>,

    /// The environment before (the restore to compare from).
    #[arg(long, value_name = "ENV")]
    pub from: String,

    /// The environment after (default: the one --env names, else `default`).
    #[arg(long, value_name = "ENV")]
    pub to: Option<String>,

    /// Match rows by these columns instead of the primary key (needed for tables without
    /// one, and with --query).
    #[arg(long, value_name = "COL,...", value_delimiter = ',')]
    pub key: Vec<String>,

    /// Compare only these columns (default: every column both sides have).
    #[arg(long, value_name = "COL,...", value_delimiter = ',')]
    pub columns: Vec<String>,

    /// Only rows matching this SQL condition, on both sides, e.g. `--where 'guild_id = 7'`.
    #[arg(long = "where", value_name = "COND")]
    pub condition: Option<String>,

    /// Compare this query's result instead of a table (with --key), e.g. aggregates per day.
    #[arg(long, value_name = "SQL", requires = "key")]
    pub query: Option<String>,

    /// Only these worlds (comma-separated).
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub worlds: Vec<String>,

    /// Changed rows listed per world (the counts always cover every row).
    #[arg(long, value_name = "N", default_value_t = 20, allow_negative_numbers = true,
          value_parser = count(0, usize::MAX))]
    pub rows: usize,

    /// List every changed row (table and json hold at most 1,000,000 of them; csv and tsv
    /// stream them all).
    #[arg(long, conflicts_with = "rows")]
    pub all_rows: bool,

    /// How many worlds are compared at once (default: all).
    #[arg(long, value_name = "N", allow_negative_numbers = true,
          value_parser = count(1, MAX_PARALLEL))]
    pub parallel: Option<usize>,

    /// Output format (default: table on a terminal, tsv otherwise). csv and tsv print the
    /// changed rows, one line per changed value, and the summary on stderr.
    #[arg(long, value_enum)]
    pub format: Option<DiffFormat>,

    /// Exit with 1 when anything differs (rows or columns), like `git diff --exit-code`.
    #[arg(long)]
    pub exit_code: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Table,
    Csv,
    Tsv,
    Json,
}

/// `--worlds LIST` of the commands that show worlds.
#[derive(Debug, Args, Clone, Default)]
pub struct WorldsArg {
    /// Only these worlds (comma-separated), e.g. `--worlds host1,host3`.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub worlds: Vec<String>,
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The world whose server log to show, e.g. `host1`.
    pub world: String,

    /// Keep printing new lines as the server writes them (Ctrl-C ends).
    #[arg(short, long)]
    pub follow: bool,

    /// Show only the last N lines (default: the whole log).
    #[arg(long, value_name = "N", allow_negative_numbers = true,
          value_parser = count(0, MAX_TAIL))]
    pub tail: Option<usize>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write the script for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct DownArgs {
    /// Remove every environment of this project folder, not just the selected one.
    #[arg(long)]
    pub all: bool,

    /// Also remove an environment that was created from another project folder.
    #[arg(long, conflicts_with = "all")]
    pub force: bool,

    /// Also remove the snapshots of the removed worlds' data (without it, snapshots stay
    /// for the next `up`; `worlds snapshots` lists them).
    #[arg(long)]
    pub snapshots: bool,
}

#[derive(Debug, Args)]
pub struct EnvsArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Largest `up --table-jobs`.
pub const MAX_TABLE_JOBS: usize = 64;
/// Largest `query --parallel`.
pub const MAX_PARALLEL: usize = 4096;
/// Largest `up --start-timeout` (one day).
pub const MAX_START_TIMEOUT: u64 = 86_400;
/// Largest `query --timeout` (one day).
pub const MAX_QUERY_TIMEOUT: f64 = 86_400.0;
/// Largest `logs --tail`.
pub const MAX_TAIL: usize = 100_000_000;

/// A whole number from `min` to `max`; clap names the flag and the range when it is not.
fn count(min: usize, max: usize) -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(min as u64..=max as u64)
}

/// Seconds: a finite number above 0, at most a day.
fn seconds(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if value.is_finite() && value > 0.0 && value <= MAX_QUERY_TIMEOUT {
        Ok(value)
    } else {
        Err(format!(
            "{text} is out of range: give more than 0 and at most {MAX_QUERY_TIMEOUT} seconds"
        ))
    }
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

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("worlds").chain(args.iter().copied()))
    }

    #[test]
    fn global_options_go_before_or_after_the_subcommand() {
        let before = parse(&["--env", "x", "--config", "c.yaml", "status"]).unwrap();
        let after = parse(&["status", "--env", "x", "--config", "c.yaml"]).unwrap();
        assert_eq!(before.env_name.as_deref(), Some("x"));
        assert_eq!(after.env_name.as_deref(), Some("x"));
        assert_eq!(after.config, Some(PathBuf::from("c.yaml")));
    }

    #[test]
    fn dumps_is_a_flag_of_plan_and_up_only() {
        let plan = parse(&["plan", "--dumps", "d"]).unwrap();
        assert_eq!(plan.command.dumps(), Some(std::path::Path::new("d")));
        let up = parse(&["up", "--dumps", "d"]).unwrap();
        assert_eq!(up.command.dumps(), Some(std::path::Path::new("d")));
        for args in [
            &["--dumps", "d", "plan"][..],
            &["status", "--dumps", "d"],
            &["query", "--dumps", "d", "SELECT 1"],
            &["env", "--dumps", "d"],
            &["down", "--dumps", "d"],
        ] {
            let err = parse(args).unwrap_err();
            assert_eq!(
                err.kind(),
                clap::error::ErrorKind::UnknownArgument,
                "{args:?}"
            );
        }
    }

    #[test]
    fn worlds_are_comma_separated_and_hosts_stays_an_alias() {
        for flag in ["--worlds", "--hosts"] {
            match parse(&["plan", flag, "host1,host10"]).unwrap().command {
                Command::Plan(p) => assert_eq!(p.select.worlds, vec!["host1", "host10"]),
                other => panic!("parsed as {other:?}"),
            }
            match parse(&["up", flag, "host2"]).unwrap().command {
                Command::Up(u) => assert_eq!(u.select.worlds, vec!["host2"]),
                other => panic!("parsed as {other:?}"),
            }
        }
        match parse(&["status", "--worlds", "a,b"]).unwrap().command {
            Command::Status(s) => assert_eq!(s.worlds.worlds, vec!["a", "b"]),
            other => panic!("parsed as {other:?}"),
        }
        match parse(&["env", "--worlds", "a"]).unwrap().command {
            Command::Env(e) => assert_eq!(e.worlds.worlds, vec!["a"]),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn old_jobs_spellings_are_hidden_aliases() {
        for flag in ["--table-jobs", "--jobs"] {
            match parse(&["up", flag, "3"]).unwrap().command {
                Command::Up(u) => assert_eq!(u.table_jobs, Some(3)),
                other => panic!("parsed as {other:?}"),
            }
        }
        for flag in ["--parallel", "--jobs"] {
            match parse(&["query", flag, "2", "SELECT 1"]).unwrap().command {
                Command::Query(q) => assert_eq!(q.parallel, Some(2)),
                other => panic!("parsed as {other:?}"),
            }
        }
        let help = Cli::command()
            .find_subcommand_mut("up")
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(help.contains("--table-jobs"), "{help}");
        assert!(!help.contains("--jobs"), "{help}");
    }

    #[test]
    fn numbers_out_of_range_are_usage_errors() {
        for args in [
            &["query", "--timeout", "1e20", "SELECT 1"][..],
            &["query", "--timeout", "1e19", "SELECT 1"],
            &["query", "--timeout", "0", "SELECT 1"],
            &["query", "--timeout", "-1", "SELECT 1"],
            &["query", "--timeout", "NaN", "SELECT 1"],
            &["query", "--timeout", "inf", "SELECT 1"],
            &["query", "--parallel", "0", "SELECT 1"],
            &["query", "--parallel", "99999999999999999999", "SELECT 1"],
            &["query", "--limit", "-3", "SELECT 1"],
            &["query", "--limit", "18446744073709551616", "SELECT 1"],
            &["up", "--table-jobs", "0"],
            &["up", "--table-jobs", "65"],
            &["up", "--start-timeout", "0"],
            &["up", "--start-timeout", "18446744073709551615"],
            &["logs", "host1", "--tail", "-1"],
            &["logs", "host1", "--tail", "many"],
        ] {
            let err = parse(args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}");
            let text = err.to_string();
            assert!(text.contains("invalid value"), "{args:?}: {text}");
        }
        match parse(&["query", "--timeout", "0.5", "--limit", "0", "SELECT 1"])
            .unwrap()
            .command
        {
            Command::Query(q) => {
                assert_eq!(q.timeout, 0.5);
                assert_eq!(q.limit, Some(0));
            }
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn logs_takes_a_world_follow_and_tail() {
        match parse(&["logs", "host1", "-f", "--tail", "5"])
            .unwrap()
            .command
        {
            Command::Logs(l) => {
                assert_eq!(l.world, "host1");
                assert!(l.follow);
                assert_eq!(l.tail, Some(5));
            }
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn quiet_and_verbose_are_global_and_exclusive() {
        let cli = parse(&["-vv", "status"]).unwrap();
        assert_eq!((cli.quiet, cli.verbose), (false, 2));
        let cli = parse(&["up", "-q"]).unwrap();
        assert_eq!((cli.quiet, cli.verbose), (true, 0));
        assert!(parse(&["-q", "-v", "up"]).is_err());
    }
}
