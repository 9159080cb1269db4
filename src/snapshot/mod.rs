//! Snapshots of restored worlds: what identifies one (its key), what it carries (its
//! manifest), and which ones a budget or `prune` removes. Pure; the Docker side is
//! [`crate::engine::snapshot`].
//!
//! A snapshot is a labelled Docker volume holding `snapshot.json` (the [`Manifest`]) and
//! `data/`, the data directory of a cleanly stopped server right after a verified restore.
//! Its key is a SHA-256 of everything that decides those bytes: the dump's content, the
//! server image, the flavor, the settings that change data, the table filter and the
//! snapshot format. A later `up` of the same dump under the same key copies `data/` into
//! the new world instead of restoring the SQL again.

pub mod archive;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration as Span, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::filter::TableFilter;
use crate::identity::hex;

/// Version of what a snapshot holds and how it is taken; part of every key.
pub const FORMAT: u32 = 1;

/// Label every snapshot volume carries: its key.
pub const LABEL_SNAPSHOT: &str = "io.worlds.snapshot";
pub const LABEL_SNAP_WORLD: &str = "io.worlds.snapshot.world";
pub const LABEL_SNAP_DUMP: &str = "io.worlds.snapshot.dump";
pub const LABEL_SNAP_DUMP_SIZE: &str = "io.worlds.snapshot.dump_size";
/// The sampled identity hash of the dump ([`crate::identity`]): finds candidates cheaply.
pub const LABEL_SNAP_DUMP_SAMPLE: &str = "io.worlds.snapshot.dump_sample";
pub const LABEL_SNAP_CREATED: &str = "io.worlds.snapshot.created";
pub const LABEL_SNAP_IMAGE: &str = "io.worlds.snapshot.image";

/// Prefix of snapshot volume names; the rest is the start of the key.
pub const VOLUME_PREFIX: &str = "worlds-snapshot-";

/// File of the manifest at the root of a snapshot volume (and first in an export).
pub const MANIFEST_FILE: &str = "snapshot.json";
/// Folder of the data directory inside a snapshot volume.
pub const DATA_DIR: &str = "data";
/// File whose text is the time the snapshot was last copied into a world.
pub const USED_FILE: &str = "used";

/// Everything that decides the bytes of a restored world.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyParts {
    /// SHA-256 of the dump file's bytes, as read by the restore.
    pub dump_sha256: String,
    /// The server image as it identifies itself (flavor and version, else its id).
    pub image: String,
    pub flavor: String,
    /// Settings that change what a restore writes: the server options given by the user
    /// and the database that dumps without `USE` load into.
    pub settings: String,
    /// The table filter (`""` for every table's data).
    pub filter: String,
}

impl KeyParts {
    /// The parts for a dump restored under `config` with `filter`.
    pub fn new(dump_sha256: &str, image: &str, config: &Config, filter: &TableFilter) -> KeyParts {
        KeyParts {
            dump_sha256: dump_sha256.to_string(),
            image: image.to_string(),
            flavor: config.flavor.name().to_string(),
            settings: data_settings(config),
            filter: filter_text(filter),
        }
    }

    /// The key: hex SHA-256 of the format and every part.
    pub fn key(&self) -> String {
        let mut h = Sha256::new();
        for part in [
            format!("worlds snapshot format {FORMAT}"),
            self.dump_sha256.clone(),
            self.image.clone(),
            self.flavor.clone(),
            self.settings.clone(),
            self.filter.clone(),
        ] {
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        hex(&h.finalize())
    }
}

/// The settings that change a restore's bytes, as one text.
fn data_settings(config: &Config) -> String {
    let mut text = format!("database={}", config.database);
    for arg in &config.server_args {
        text.push('\n');
        text.push_str(arg);
    }
    text
}

/// The filter as one text that does not depend on the order its globs were given in.
pub fn filter_text(filter: &TableFilter) -> String {
    if filter.is_all() {
        return String::new();
    }
    let mut tables = filter.tables.clone();
    tables.sort();
    let mut skip = filter.skip_tables.clone();
    skip.sort();
    format!("tables={} skip={}", tables.join(","), skip.join(","))
}

/// Name of the snapshot volume of a key.
pub fn volume_name(key: &str) -> String {
    format!("{VOLUME_PREFIX}{}", &key[..key.len().min(24)])
}

/// The short id `worlds snapshots` shows (like Docker's 12-character ids).
pub fn short_id(key: &str) -> &str {
    &key[..key.len().min(12)]
}

/// Rows of one table, as verified after the restore the snapshot was taken from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRows {
    pub db: String,
    pub table: String,
    /// Rows the dump has for the table.
    pub rows: u64,
    /// Its data was loaded (else the table filter left it out and it is empty).
    pub loaded: bool,
}

/// What a snapshot carries about itself (`snapshot.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub key: String,
    pub parts: KeyParts,
    /// The world it was restored for (a name only: any world with the same dump uses it).
    pub world: String,
    /// File name of the dump.
    pub dump: String,
    pub dump_size: u64,
    /// Sampled identity hash of the dump (see [`crate::identity`]).
    pub dump_sample: String,
    /// RFC 3339 time the snapshot was taken.
    pub created: String,
    /// Bytes of its data directory.
    pub size_bytes: u64,
    /// Uncompressed SQL of the restore.
    pub sql_bytes: u64,
    pub statements: u64,
    /// Every table's verified row count.
    pub tables: Vec<TableRows>,
}

impl Manifest {
    /// Does the key match the parts (a manifest not changed by hand or by accident)?
    pub fn consistent(&self) -> bool {
        self.format == FORMAT && self.parts.key() == self.key
    }

    pub fn created_at(&self) -> Option<DateTime<Utc>> {
        parse_time(&self.created)
    }

    /// The counts to verify a world against: `(db, table)` -> rows the dump has.
    pub fn dumped(&self) -> BTreeMap<(String, String), u64> {
        self.tables
            .iter()
            .map(|t| ((t.db.clone(), t.table.clone()), t.rows))
            .collect()
    }

    /// `db.table` -> rows, of the loaded tables and of the left-out ones.
    pub fn rows(&self) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
        let mut loaded = BTreeMap::new();
        let mut skipped = BTreeMap::new();
        for t in &self.tables {
            let key = crate::load::table_key(&t.db, &t.table);
            if t.loaded {
                loaded.insert(key, t.rows);
            } else {
                skipped.insert(key, t.rows);
            }
        }
        (loaded, skipped)
    }
}

pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

pub fn now_text() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// How old a time is, in one rounded unit: `40 s`, `12 min`, `3 h`, `5 days`.
pub fn age(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (now - then).num_seconds().max(0);
    match secs {
        s if s < 90 => format!("{s} s"),
        s if s < 90 * 60 => format!("{} min", (s + 30) / 60),
        s if s < 36 * 3600 => format!("{} h", (s + 1800) / 3600),
        s => {
            let days = (s + 43_200) / 86_400;
            format!("{days} days")
        }
    }
}

/// A size as people write it: `50G`, `512M`, `1.5T`, `2GiB`, `100GB`, `1000000` (bytes).
/// Units are powers of 1024.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number.parse().ok().filter(|n: &f64| n.is_finite())?;
    let unit = unit.trim().to_ascii_uppercase();
    let unit = unit
        .strip_suffix("IB")
        .or_else(|| unit.strip_suffix('B'))
        .unwrap_or(&unit);
    let scale: u64 = match unit {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => return None,
    };
    let bytes = number * scale as f64;
    (bytes >= 0.0 && bytes < u64::MAX as f64).then_some(bytes.round() as u64)
}

/// A span as people write it: `7d`, `12h`, `30m`, `2w`, `45s`.
pub fn parse_span(text: &str) -> Option<Span> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: i64 = number.parse().ok()?;
    match unit.trim().to_ascii_lowercase().as_str() {
        "s" | "sec" | "secs" | "seconds" => Span::try_seconds(n),
        "m" | "min" | "mins" | "minutes" => Span::try_minutes(n),
        "h" | "hour" | "hours" => Span::try_hours(n),
        "d" | "day" | "days" => Span::try_days(n),
        "w" | "week" | "weeks" => Span::try_weeks(n),
        _ => None,
    }
}

/// A snapshot as `worlds snapshots` and the budget see it.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its volume.
    pub volume: String,
    pub key: String,
    /// `None` when the volume holds no manifest: a snapshot cut off while it was taken.
    pub manifest: Option<Manifest>,
    /// When it was last copied into a world (else when it was taken).
    pub last_used: Option<DateTime<Utc>>,
    /// The time Docker created its volume.
    pub volume_created: Option<DateTime<Utc>>,
}

impl Entry {
    pub fn complete(&self) -> bool {
        self.manifest.as_ref().is_some_and(|m| m.key == self.key)
    }

    pub fn size(&self) -> u64 {
        self.manifest.as_ref().map_or(0, |m| m.size_bytes)
    }

    pub fn created(&self) -> Option<DateTime<Utc>> {
        self.manifest
            .as_ref()
            .and_then(Manifest::created_at)
            .or(self.volume_created)
    }

    /// The last time it was taken or used.
    pub fn touched(&self) -> Option<DateTime<Utc>> {
        match (self.last_used, self.created()) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Which snapshots go so that the rest fit in `budget` bytes: the least recently used
/// first, never one of `keep` (the snapshots this run took or used) unless nothing else
/// is left. Incomplete ones always go. Returns indices into `entries`.
pub fn over_budget(entries: &[Entry], budget: u64, keep: &[String]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..entries.len()).collect();
    // Incomplete first, then the ones not kept, least recently used first.
    order.sort_by_key(|&i| {
        let e = &entries[i];
        (
            e.complete(),
            keep.contains(&e.key),
            e.touched().map(|t| t.timestamp()).unwrap_or(0),
        )
    });
    let mut total: u64 = entries.iter().map(Entry::size).sum();
    let mut gone = Vec::new();
    for i in order {
        let e = &entries[i];
        if e.complete() && total <= budget {
            break;
        }
        total = total.saturating_sub(e.size());
        gone.push(i);
    }
    gone
}

/// Which snapshots `prune` removes: with `older_than`, those not used (nor taken) within
/// it; with `all`, every one; incomplete ones always.
pub fn prunable(
    entries: &[Entry],
    older_than: Option<Span>,
    all: bool,
    now: DateTime<Utc>,
) -> Vec<usize> {
    entries
        .iter()
        .enumerate()
        .filter(|(_, e)| {
            all || !e.complete()
                || older_than.is_some_and(|span| e.touched().is_none_or(|t| now - t > span))
        })
        .map(|(i, _)| i)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts() -> KeyParts {
        let config = Config::from_yaml("").unwrap();
        KeyParts::new(
            &"a".repeat(64),
            "mariadb 10.11",
            &config,
            &TableFilter::default(),
        )
    }

    #[test]
    fn every_part_changes_the_key() {
        let base = parts();
        let key = base.key();
        assert_eq!(key.len(), 64);
        assert_eq!(key, parts().key());
        let mut changed = Vec::new();
        for f in [
            |p: &mut KeyParts| p.dump_sha256 = "b".repeat(64),
            |p: &mut KeyParts| p.image = "mariadb 11.4".into(),
            |p: &mut KeyParts| p.flavor = "mysql".into(),
            |p: &mut KeyParts| p.settings.push_str("\n--lower-case-table-names=1"),
            |p: &mut KeyParts| p.filter = "tables=player skip=".into(),
        ] {
            let mut p = base.clone();
            f(&mut p);
            changed.push(p.key());
        }
        for k in &changed {
            assert_ne!(k, &key);
        }
        // Parts are length-prefixed: moving text from one part to the next changes the key.
        let mut a = base.clone();
        a.image = "mariadb 10.1".into();
        a.flavor = "1mariadb".into();
        assert_ne!(a.key(), key);
    }

    #[test]
    fn settings_and_filter_are_part_of_the_key() {
        let config = Config::from_yaml("server_args: ['--lower-case-table-names=1']\n").unwrap();
        let with_args = KeyParts::new("x", "i", &config, &TableFilter::default());
        assert!(with_args.settings.contains("--lower-case-table-names=1"));
        let plain = Config::from_yaml("buffer_pool: 2G\nimport_tuning: false\n").unwrap();
        // Settings that only change speed do not change the key.
        assert_eq!(
            KeyParts::new("x", "i", &plain, &TableFilter::default()).key(),
            KeyParts::new(
                "x",
                "i",
                &Config::from_yaml("").unwrap(),
                &TableFilter::default()
            )
            .key()
        );
        let f = |t: &[&str]| {
            let t: Vec<String> = t.iter().map(|s| s.to_string()).collect();
            TableFilter::new(&t, &[], ("--tables", "--skip-tables")).unwrap()
        };
        assert_eq!(
            filter_text(&f(&["player", "guild"])),
            filter_text(&f(&["guild", "player"]))
        );
        assert_ne!(
            filter_text(&f(&["player"])),
            filter_text(&TableFilter::default())
        );
    }

    #[test]
    fn sizes_and_spans() {
        assert_eq!(parse_size("50G"), Some(50 << 30));
        assert_eq!(parse_size("50GB"), Some(50 << 30));
        assert_eq!(parse_size("2GiB"), Some(2 << 30));
        assert_eq!(parse_size("512m"), Some(512 << 20));
        assert_eq!(parse_size("1.5T"), Some(3 << 39));
        assert_eq!(parse_size("1000"), Some(1000));
        assert_eq!(parse_size("0"), Some(0));
        for bad in ["", "G", "-1G", "5X", "1e9", "five"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
        assert_eq!(parse_span("7d"), Some(Span::days(7)));
        assert_eq!(parse_span("12h"), Some(Span::hours(12)));
        assert_eq!(parse_span("30m"), Some(Span::minutes(30)));
        assert_eq!(parse_span("2w"), Some(Span::weeks(2)));
        assert_eq!(parse_span("45s"), Some(Span::seconds(45)));
        for bad in ["", "7", "d", "-1d", "7y"] {
            assert_eq!(parse_span(bad), None, "{bad}");
        }
    }

    #[test]
    fn ages() {
        let now = Utc::now();
        assert_eq!(age(now - Span::seconds(40), now), "40 s");
        assert_eq!(age(now - Span::minutes(12), now), "12 min");
        assert_eq!(age(now - Span::hours(3), now), "3 h");
        assert_eq!(age(now - Span::days(1), now), "24 h");
        assert_eq!(age(now - Span::hours(40), now), "2 days");
        assert_eq!(age(now - Span::days(5), now), "5 days");
        assert_eq!(age(now + Span::days(5), now), "0 s");
    }

    fn entry(key: &str, size: u64, used_days_ago: i64, complete: bool) -> Entry {
        let now = Utc::now();
        let then = now - Span::days(used_days_ago);
        let mut p = parts();
        p.dump_sha256 = key.repeat(64);
        Entry {
            volume: volume_name(key),
            key: key.to_string(),
            manifest: complete.then(|| Manifest {
                format: FORMAT,
                key: key.to_string(),
                parts: p,
                world: "host1".into(),
                dump: "d".into(),
                dump_size: 1,
                dump_sample: String::new(),
                created: (then - Span::days(1)).to_rfc3339(),
                size_bytes: size,
                sql_bytes: 0,
                statements: 0,
                tables: Vec::new(),
            }),
            last_used: Some(then),
            volume_created: None,
        }
    }

    #[test]
    fn the_budget_removes_the_least_recently_used_first() {
        let e = vec![
            entry("a", 10, 1, true),
            entry("b", 10, 5, true),
            entry("c", 10, 3, true),
            entry("d", 0, 0, false),
        ];
        // 30 bytes held, 25 allowed: the incomplete one and the oldest used go.
        assert_eq!(over_budget(&e, 25, &[]), vec![3, 1]);
        assert_eq!(over_budget(&e, 30, &[]), vec![3]);
        assert_eq!(over_budget(&e, 15, &[]), vec![3, 1, 2]);
        // The snapshot this run took stays while others can go instead.
        assert_eq!(over_budget(&e, 15, &["b".to_string()]), vec![3, 2, 0]);
        // A budget of 0 removes everything, kept ones last.
        assert_eq!(over_budget(&e, 0, &["b".to_string()]), vec![3, 2, 0, 1]);
    }

    #[test]
    fn prune_by_age_all_and_incomplete() {
        let e = vec![
            entry("a", 10, 1, true),
            entry("b", 10, 9, true),
            entry("c", 0, 0, false),
        ];
        let now = Utc::now();
        assert_eq!(prunable(&e, Some(Span::days(7)), false, now), vec![1, 2]);
        assert_eq!(prunable(&e, None, false, now), vec![2]);
        assert_eq!(prunable(&e, None, true, now), vec![0, 1, 2]);
    }

    #[test]
    fn a_manifest_whose_parts_do_not_make_its_key_is_not_consistent() {
        let mut m = entry("a", 1, 1, true).manifest.unwrap();
        m.key = m.parts.key();
        assert!(m.consistent());
        m.parts.filter = "tables=x skip=".into();
        assert!(!m.consistent());
    }
}
