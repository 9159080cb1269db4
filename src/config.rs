//! `worlds.yaml` -> a validated [`Config`]; defaults and flag overrides.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use regex::Regex;
use serde::Deserialize;

use crate::error::usage;
use crate::filter::TableFilter;
use crate::sql::trailer::TrailerPolicy;

pub const DEFAULT_PATTERN: &str =
    r"^(?P<host>.+?)_fulldump_(?P<ts>\d{8}_\d{6})\.sql(?:\.gz|\.zst)?$";
pub const DEFAULT_TIMESTAMP_FORMAT: &str = "%Y%m%d_%H%M%S";
pub const DEFAULT_IMAGE: &str = "worlds/mariadb:10.11";
pub const DEFAULT_PORT_BASE: u16 = 33061;
pub const DEFAULT_DATABASE: &str = "game";
pub const DEFAULT_BUFFER_POOL: &str = "256M";
pub const CONFIG_FILE: &str = "worlds.yaml";

/// The server family of an image: decides environment variables, command line and client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Flavor {
    Mariadb,
    Mysql,
}

impl Flavor {
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Mariadb => "mariadb",
            Flavor::Mysql => "mysql",
        }
    }

    /// Guess the flavor from an image name such as `mysql:8.0` or `mariadb:11`.
    pub fn guess(image: &str) -> Flavor {
        let name = image
            .rsplit('/')
            .next()
            .unwrap_or(image)
            .to_ascii_lowercase();
        if name.starts_with("mysql") || name.contains("percona") {
            Flavor::Mysql
        } else {
            Flavor::Mariadb
        }
    }
}

/// The file as written by a person: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    dumps: Option<PathBuf>,
    pattern: Option<String>,
    timestamp_format: Option<String>,
    image: Option<String>,
    flavor: Option<Flavor>,
    port_base: Option<u16>,
    database: Option<String>,
    buffer_pool: Option<String>,
    import_tuning: Option<bool>,
    server_args: Option<Vec<String>>,
    /// `jobs` is the older spelling.
    #[serde(alias = "jobs")]
    table_jobs: Option<usize>,
    defer_indexes: Option<bool>,
    load_data: Option<bool>,
    dump_trailer: Option<String>,
    tables: Option<serde_yaml::Value>,
    skip_tables: Option<serde_yaml::Value>,
    s3_endpoint: Option<String>,
    snapshots: Option<bool>,
    snapshot_budget: Option<serde_yaml::Value>,
}

/// A list of names in worlds.yaml: a YAML list, or one text of comma-separated names.
fn names(key: &str, value: Option<serde_yaml::Value>) -> Result<Vec<String>> {
    use serde_yaml::Value;
    let one = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    let bad = || {
        usage(format!(
            "config key `{key}` must be a list of table names or globs, or one text of \
             comma-separated ones, e.g. {key}: [player, 'event_*']"
        ))
    };
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Sequence(items)) => items.iter().map(|v| one(v).ok_or_else(bad)).collect(),
        Some(v) => Ok(one(&v)
            .ok_or_else(bad)?
            .split(',')
            .map(str::to_string)
            .collect()),
    }
}

/// The validated configuration every command works from.
#[derive(Debug, Clone)]
pub struct Config {
    /// Folder holding the dumps, or an `s3://bucket/prefix/` URL (see [`Config::dumps_url`]).
    pub dumps: PathBuf,
    /// Endpoint of an S3-compatible store (`s3_endpoint:`), e.g. `http://127.0.0.1:9000`.
    pub s3_endpoint: Option<String>,
    /// AWS profile named by `--profile` (AWS_PROFILE is read where the store is reached).
    pub aws_profile: Option<String>,
    /// File-name pattern with the named groups `host` and `ts`.
    pub pattern: Regex,
    /// chrono format of the `ts` group.
    pub timestamp_format: String,
    pub image: String,
    pub flavor: Flavor,
    /// First published port; world i gets `port_base + i`.
    pub port_base: u16,
    /// Database that dumps without `CREATE DATABASE`/`USE` load into.
    pub database: String,
    /// InnoDB buffer pool size of each server, e.g. `256M` or `1G`.
    pub buffer_pool: String,
    /// Start servers with bulk-load settings (no binary log, relaxed flushing).
    pub import_tuning: bool,
    /// Extra server options, appended last so they win.
    pub server_args: Vec<String>,
    /// Tables loaded at once per world; None = derived from the CPU count.
    pub table_jobs: Option<usize>,
    /// Create secondary indexes after the data is loaded.
    pub defer_indexes: bool,
    /// Load INSERT rows with LOAD DATA LOCAL where that is exact.
    pub load_data: bool,
    /// Which dumps must end with `-- Dump completed`.
    pub dump_trailer: TrailerPolicy,
    /// Whose tables' data `up` loads (`tables:` / `skip_tables:`); flags override it.
    pub filter: TableFilter,
    /// Keep a snapshot of every verified restore and start later worlds from it.
    pub snapshots: bool,
    /// Bytes all snapshots on the engine may hold (least recently used go first).
    pub snapshot_budget: Option<u64>,
    /// Environment name.
    pub env: String,
    /// Where per-environment files (password, my.cnf, restore records) live.
    pub state_dir: PathBuf,
}

impl Config {
    /// Load the config file (the explicit one, else `./worlds.yaml` if present) and apply
    /// the global flags.
    pub fn load(
        explicit: Option<&Path>,
        dumps_flag: Option<&Path>,
        env_flag: Option<&str>,
    ) -> Result<Config> {
        let (raw, base) = match explicit {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    usage(format!("cannot read config file {}: {e}", path.display()))
                })?;
                (parse_raw(&text, path)?, parent_dir(path))
            }
            None => {
                let path = Path::new(CONFIG_FILE);
                match std::fs::read_to_string(path) {
                    Ok(text) => (parse_raw(&text, path)?, PathBuf::from(".")),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                        (RawConfig::default(), PathBuf::from("."))
                    }
                    Err(e) => return Err(usage(format!("cannot read {}: {e}", path.display()))),
                }
            }
        };
        let mut config = Config::from_raw(raw, &base)?;
        if let Some(dir) = dumps_flag {
            config.dumps = dir.to_path_buf();
            config.dumps_url()?;
        }
        if let Some(env) = env_flag {
            config.env = validate_env(env)?;
        }
        config.state_dir = base.join(".worlds");
        Ok(config)
    }

    /// Parse config text (used by tests and `load`).
    pub fn from_yaml(text: &str) -> Result<Config> {
        Config::from_raw(parse_raw(text, Path::new(CONFIG_FILE))?, Path::new("."))
    }

    fn from_raw(raw: RawConfig, base: &Path) -> Result<Config> {
        let pattern_text = raw.pattern.unwrap_or_else(|| DEFAULT_PATTERN.to_string());
        let pattern = Regex::new(&pattern_text)
            .map_err(|e| usage(format!("config key `pattern` is not a valid regex: {e}")))?;
        for group in ["host", "ts"] {
            if !pattern.capture_names().flatten().any(|n| n == group) {
                return Err(usage(format!(
                    "config key `pattern` must have a named group `{group}`, \
                     e.g. (?P<{group}>...); got {pattern_text}"
                )));
            }
        }
        let timestamp_format = raw
            .timestamp_format
            .unwrap_or_else(|| DEFAULT_TIMESTAMP_FORMAT.to_string());
        check_timestamp_format(&timestamp_format)?;
        let image = raw.image.unwrap_or_else(|| DEFAULT_IMAGE.to_string());
        if image.trim().is_empty() {
            return Err(usage("config key `image` must not be empty".to_string()));
        }
        let flavor = raw.flavor.unwrap_or_else(|| Flavor::guess(&image));
        let port_base = raw.port_base.unwrap_or(DEFAULT_PORT_BASE);
        if port_base < 1024 {
            return Err(usage(format!(
                "config key `port_base` must be between 1024 and 65535, got {port_base}"
            )));
        }
        let database = raw.database.unwrap_or_else(|| DEFAULT_DATABASE.to_string());
        if database.is_empty() || database.len() > 64 || database.contains('`') {
            return Err(usage(format!(
                "config key `database` must be 1 to 64 characters without backticks, got {database:?}"
            )));
        }
        let buffer_pool = raw
            .buffer_pool
            .unwrap_or_else(|| DEFAULT_BUFFER_POOL.to_string());
        if !Regex::new(r"^[0-9]+[KMGkmg]?$")
            .map(|r| r.is_match(&buffer_pool))
            .unwrap_or(false)
        {
            return Err(usage(format!(
                "config key `buffer_pool` must be a size such as 256M or 2G, got {buffer_pool:?}"
            )));
        }
        let dump_trailer = match raw.dump_trailer.as_deref() {
            None => TrailerPolicy::Auto,
            Some(text) => TrailerPolicy::parse(text).ok_or_else(|| {
                usage(format!(
                    "config key `dump_trailer` must be auto, required or ignore, got {text:?}"
                ))
            })?,
        };
        if let Some(n) = raw.table_jobs {
            if !(1..=crate::cli::MAX_TABLE_JOBS).contains(&n) {
                return Err(usage(format!(
                    "config key `table_jobs` (or `jobs`) must be from 1 to {} (or left out for \
                     automatic), got {n}",
                    crate::cli::MAX_TABLE_JOBS
                )));
            }
        }
        let filter = TableFilter::new(
            &names("tables", raw.tables)?,
            &names("skip_tables", raw.skip_tables)?,
            ("config key `tables`", "config key `skip_tables`"),
        )
        .map_err(usage)?;
        let snapshot_budget = match raw.snapshot_budget {
            None | Some(serde_yaml::Value::Null) => None,
            Some(v) => {
                let text = match &v {
                    serde_yaml::Value::String(s) => s.clone(),
                    serde_yaml::Value::Number(n) => n.to_string(),
                    _ => String::new(),
                };
                Some(crate::snapshot::parse_size(&text).ok_or_else(|| {
                    usage(format!(
                        "config key `snapshot_budget` must be a size such as 50G or 500M, \
                         got {text:?}"
                    ))
                })?)
            }
        };
        let dumps = raw.dumps.unwrap_or_else(|| PathBuf::from("dumps"));
        let is_url = crate::store::S3Url::parse(&dumps.to_string_lossy())?.is_some();
        Ok(Config {
            dumps: if is_url { dumps } else { base.join(dumps) },
            s3_endpoint: raw.s3_endpoint.filter(|e| !e.trim().is_empty()),
            aws_profile: None,
            pattern,
            timestamp_format,
            image,
            flavor,
            port_base,
            database,
            buffer_pool,
            import_tuning: raw.import_tuning.unwrap_or(true),
            server_args: raw.server_args.unwrap_or_default(),
            table_jobs: raw.table_jobs,
            defer_indexes: raw.defer_indexes.unwrap_or(true),
            load_data: raw.load_data.unwrap_or(true),
            dump_trailer,
            filter,
            snapshots: raw.snapshots.unwrap_or(true),
            snapshot_budget,
            env: "default".to_string(),
            state_dir: base.join(".worlds"),
        })
    }

    /// The bucket and prefix when the dumps are in object storage, `None` for a folder.
    pub fn dumps_url(&self) -> Result<Option<crate::store::S3Url>> {
        crate::store::S3Url::parse(&self.dumps.to_string_lossy())
    }

    /// How to reach the object store of the dumps.
    pub fn store_settings(&self) -> crate::store::Settings {
        crate::store::Settings {
            endpoint: self.s3_endpoint.clone(),
            profile: self.aws_profile.clone(),
        }
    }

    /// The same settings for another environment.
    pub fn for_env(&self, env: &str) -> Config {
        Config {
            env: env.to_string(),
            ..self.clone()
        }
    }

    /// Folder of this environment's files.
    pub fn env_dir(&self) -> PathBuf {
        self.state_dir.join(&self.env)
    }

    /// The project folder (where the config and `.worlds/` live), canonical: environments
    /// carry it as a label, and `down --all` removes only this folder's environments.
    pub fn project_dir(&self) -> String {
        let base = self
            .state_dir
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::canonicalize(base)
            .or_else(|_| std::path::absolute(base))
            .unwrap_or_else(|_| base.to_path_buf())
            .display()
            .to_string()
    }
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn parse_raw(text: &str, path: &Path) -> Result<RawConfig> {
    if text.trim().is_empty() {
        return Ok(RawConfig::default());
    }
    serde_yaml::from_str::<RawConfig>(text)
        .map_err(|e| usage(format!("invalid config file {}: {e}", path.display())))
        .context("allowed keys: dumps, pattern, timestamp_format, image, flavor (mariadb|mysql), port_base, database, buffer_pool, import_tuning, server_args, table_jobs (or jobs), defer_indexes, load_data, dump_trailer, tables, skip_tables, snapshots, snapshot_budget, s3_endpoint")
}

fn check_timestamp_format(format: &str) -> Result<()> {
    use chrono::format::{Item, StrftimeItems};
    if StrftimeItems::new(format).any(|item| matches!(item, Item::Error)) {
        return Err(usage(format!(
            "config key `timestamp_format` is not a valid chrono format: {format:?} \
             (example: %Y%m%d_%H%M%S)"
        )));
    }
    Ok(())
}

/// Environment names become part of container names: keep them simple.
pub fn validate_env(env: &str) -> Result<String> {
    let ok = !env.is_empty()
        && env.len() <= 32
        && env
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && env.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(env.to_string())
    } else {
        Err(usage(format!(
            "invalid environment name {env:?}: use 1 to 32 lowercase letters, digits, - or _, \
             starting with a letter or digit"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        format!("{:#}", Config::from_yaml(text).unwrap_err())
    }

    #[test]
    fn defaults_when_empty() {
        let c = Config::from_yaml("").unwrap();
        assert_eq!(c.port_base, 33061);
        assert_eq!(c.database, "game");
        assert_eq!(c.image, DEFAULT_IMAGE);
        assert_eq!(c.flavor, Flavor::Mariadb);
        assert_eq!(c.env, "default");
        assert!(c.pattern.is_match("host1_fulldump_20240617_211713.sql.gz"));
        assert!(c.pattern.is_match("host1_fulldump_20240617_211713.sql"));
    }

    #[test]
    fn unknown_key_is_named_with_the_allowed_ones() {
        let e = err("port_bas: 4000\n");
        assert!(e.contains("port_bas"), "{e}");
        assert!(e.contains("port_base"), "{e}");
    }

    #[test]
    fn bad_values_name_the_key() {
        assert!(err("port_base: 80\n").contains("`port_base`"));
        assert!(err("port_base: 70000\n").contains("port_base"));
        assert!(err("flavor: postgres\n").contains("flavor"));
        assert!(err("pattern: '(?P<host>x)'\n").contains("named group `ts`"));
        assert!(err("pattern: '(['\n").contains("`pattern`"));
        assert!(err("buffer_pool: lots\n").contains("`buffer_pool`"));
        assert!(err("timestamp_format: '%Q'\n").contains("`timestamp_format`"));
        assert!(err("jobs: 0\n").contains("`jobs`"));
        assert!(err("table_jobs: 0\n").contains("`table_jobs`"));
        assert!(err("table_jobs: 65\n").contains("65"));
        assert!(err("dump_trailer: sometimes\n").contains("`dump_trailer`"));
        let c = Config::from_yaml("dump_trailer: required\n").unwrap();
        assert_eq!(c.dump_trailer, TrailerPolicy::Required);
        assert_eq!(
            Config::from_yaml("").unwrap().dump_trailer,
            TrailerPolicy::Auto
        );
    }

    #[test]
    fn table_jobs_has_the_older_spelling_jobs() {
        assert_eq!(
            Config::from_yaml("table_jobs: 3\n").unwrap().table_jobs,
            Some(3)
        );
        assert_eq!(Config::from_yaml("jobs: 2\n").unwrap().table_jobs, Some(2));
        assert_eq!(Config::from_yaml("").unwrap().table_jobs, None);
    }

    #[test]
    fn table_filters_are_lists_or_comma_separated_text() {
        let c = Config::from_yaml("tables: [player, Guild]\nskip_tables: 'event_*, x'\n").unwrap();
        assert_eq!(c.filter.tables, ["guild", "player"]);
        assert_eq!(c.filter.skip_tables, ["event_*", "x"]);
        assert!(Config::from_yaml("").unwrap().filter.is_all());
        assert!(err("tables: 'player,'\n").contains("config key `tables`: an empty name"));
        assert!(err("skip_tables: ['game.']\n").contains("config key `skip_tables`"));
        assert!(err("tables: {a: b}\n").contains("config key `tables` must be a list"));
        assert!(err("tables: [[a]]\n").contains("config key `tables` must be a list"));
    }

    #[test]
    fn flavor_is_guessed_from_the_image() {
        let c = Config::from_yaml("image: mysql:8.0\n").unwrap();
        assert_eq!(c.flavor, Flavor::Mysql);
        let c = Config::from_yaml("image: mariadb:11.4\n").unwrap();
        assert_eq!(c.flavor, Flavor::Mariadb);
        let c = Config::from_yaml("image: registry.local/mysql:5.7\nflavor: mysql\n").unwrap();
        assert_eq!(c.flavor, Flavor::Mysql);
    }

    #[test]
    fn env_names() {
        assert!(validate_env("before-update").is_ok());
        assert!(validate_env("Before").is_err());
        assert!(validate_env("-x").is_err());
        assert!(validate_env("a/b").is_err());
        assert!(validate_env("").is_err());
    }
}
