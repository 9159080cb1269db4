use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use worlds::gen::{self, DumpTime, GenOptions, GeneratedFile, Style, TableSet};

/// Write synthetic mysqldump / mariadb-dump files of the `game` database,
/// one world per host, several dumps per world.
///
/// Every file is deterministic: the same options always produce the same
/// bytes, and each world and each dump has its own content. Files are named
/// `<prefix><host>_fulldump_<YYYYmmdd>_<HHMMSS>.sql.gz`; dump N of a host is
/// taken N-1 days after its first one.
///
/// `--samples` writes the sample dumps of dumps/ instead: three worlds dumped
/// by MySQL 5.7's mysqldump before and after a game update, with the update's
/// bug in host2 (see dumps/README.md).
#[derive(Parser, Debug)]
#[command(name = "worlds-gen", version)]
#[command(after_help = "Examples:\n  \
    worlds-gen --out dumps --samples\n  \
    worlds-gen --out /tmp/small --tables player --rows 8\n  \
    worlds-gen --out bench-data --hosts 4 --dumps 1 --mb 200 --level 1\n  \
    worlds-gen --out /tmp/maria --style mariadb --hex-blob --plain")]
struct Cli {
    /// Directory to write the dumps into (created if missing).
    #[arg(long, short, value_name = "DIR")]
    out: PathBuf,

    /// Write exactly the six sample dumps of dumps/ (MySQL 5.7 mysqldump, three
    /// worlds before and after a game update); takes no option but --out.
    #[arg(long, conflicts_with_all = [
        "hosts", "dumps", "rows", "mb", "seed", "style", "tables", "plain", "level",
        "hex_blob", "no_create_db", "insert_bytes", "start", "host_prefix", "jobs",
    ])]
    samples: bool,

    /// Number of hosts (worlds), numbered from 1.
    #[arg(long, default_value_t = 3, value_name = "N")]
    hosts: usize,

    /// Number of dumps per host, one day apart.
    #[arg(long, default_value_t = 2, value_name = "N")]
    dumps: usize,

    /// Approximate rows per dump. With `--tables player` they are all players;
    /// with `--tables full` about a tenth are players and the bulk goes to
    /// inventory and event_log. Each dump varies a little below this.
    #[arg(long, default_value_t = 10, value_name = "N", conflicts_with = "mb")]
    rows: u64,

    /// Approximate uncompressed SQL size per dump in MiB, instead of --rows.
    #[arg(long, value_name = "SIZE_MB")]
    mb: Option<f64>,

    /// Seed of all generated content.
    #[arg(long, default_value_t = 42)]
    seed: u64,

    /// Imitate the output of this dump tool.
    #[arg(long, value_enum, default_value_t = StyleArg::Mysql)]
    style: StyleArg,

    /// Tables to dump: only `player`, or player, guild, inventory and event_log.
    #[arg(long, value_enum, default_value_t = TablesArg::Full)]
    tables: TablesArg,

    /// Write plain .sql files instead of .sql.gz.
    #[arg(long)]
    plain: bool,

    /// gzip compression level, 0 (none) to 9 (best).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(0..=9))]
    level: u32,

    /// Write binary columns as 0x hex literals, like mysqldump --hex-blob.
    #[arg(long)]
    hex_blob: bool,

    /// Leave out CREATE DATABASE and USE, like dumping without --databases.
    #[arg(long)]
    no_create_db: bool,

    /// Start a new INSERT statement before one reaches this many bytes, like
    /// mysqldump's net_buffer_length.
    #[arg(long, default_value_t = 1_000_000, value_name = "BYTES")]
    insert_bytes: usize,

    /// Time of the first dump; host 1 starts 13 s later and each further
    /// host a little after the previous one.
    #[arg(
        long,
        default_value = "2024-06-17T21:13:00",
        value_name = "YYYY-MM-DDTHH:MM:SS"
    )]
    start: DumpTime,

    /// File name prefix before the host number.
    #[arg(long, default_value = "host", value_name = "PREFIX")]
    host_prefix: String,

    /// Files to write at the same time (0: one per CPU).
    #[arg(long, short, default_value_t = 0, value_name = "N")]
    jobs: usize,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum StyleArg {
    /// mysqldump 8.0
    Mysql,
    /// mariadb-dump 11.4
    Mariadb,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum TablesArg {
    /// only the player table
    Player,
    /// player, guild, inventory and event_log
    Full,
}

fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

fn describe(file: &GeneratedFile) -> String {
    let rows: Vec<String> = file
        .stats
        .rows
        .iter()
        .map(|(t, n)| format!("{t}={n}"))
        .collect();
    format!(
        "{}  {} (SQL {})  {}",
        file.path.display(),
        human(file.file_bytes),
        human(file.stats.sql_bytes),
        rows.join(" ")
    )
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.samples {
        return samples(&cli.out);
    }
    let target_bytes = match cli.mb {
        Some(mb) if !(mb.is_finite() && mb > 0.0) => {
            eprintln!("worlds-gen: --mb must be a positive number");
            return ExitCode::from(2);
        }
        Some(mb) => Some((mb * 1024.0 * 1024.0) as u64),
        None => None,
    };
    let opts = GenOptions {
        seed: cli.seed,
        hosts: cli.hosts,
        dumps: cli.dumps,
        rows: cli.rows,
        target_bytes,
        style: match cli.style {
            StyleArg::Mysql => Style::Mysql,
            StyleArg::Mariadb => Style::Mariadb,
        },
        tables: match cli.tables {
            TablesArg::Player => TableSet::Player,
            TablesArg::Full => TableSet::Full,
        },
        gzip: !cli.plain,
        level: cli.level,
        hex_blob: cli.hex_blob,
        create_db: !cli.no_create_db,
        insert_bytes: cli.insert_bytes,
        start: cli.start,
        host_prefix: cli.host_prefix,
        jobs: cli.jobs,
    };

    let began = Instant::now();
    let result = gen::generate_with(&opts, &cli.out, |file| {
        let _ = writeln!(std::io::stdout(), "{}", describe(file));
    });
    let files = match result {
        Ok(files) => files,
        Err(e) => {
            eprintln!("worlds-gen: writing into {}: {e}", cli.out.display());
            return ExitCode::FAILURE;
        }
    };
    summary(&files, began);
    ExitCode::SUCCESS
}

fn samples(out: &std::path::Path) -> ExitCode {
    let began = Instant::now();
    match gen::samples::write_samples(out) {
        Ok(files) => {
            for file in &files {
                let _ = writeln!(std::io::stdout(), "{}", describe(file));
            }
            summary(&files, began);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("worlds-gen: writing into {}: {e}", out.display());
            ExitCode::FAILURE
        }
    }
}

fn summary(files: &[GeneratedFile], began: Instant) {
    let secs = began.elapsed().as_secs_f64();
    let sql: u64 = files.iter().map(|f| f.stats.sql_bytes).sum();
    let disk: u64 = files.iter().map(|f| f.file_bytes).sum();
    let _ = writeln!(
        std::io::stdout(),
        "wrote {} files, {} on disk ({} of SQL) in {secs:.2} s, {:.1} MiB/s of SQL",
        files.len(),
        human(disk),
        human(sql),
        sql as f64 / (1024.0 * 1024.0) / secs.max(1e-9)
    );
}
