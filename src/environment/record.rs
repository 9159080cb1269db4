//! The record a world carries in its own data volume: what it holds and how its restore
//! went. Written when the restore starts (`restoring`) and again when it ends (`ready`
//! only after the row counts were verified, else `failed`; `empty` for `--no-restore`).
//! Any shell, in any folder, after any crash, reads the same record from Docker.

use std::collections::BTreeMap;
use std::io::Read;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::filter::TableFilter;

/// Folder of the record inside the world's container (its data volume).
pub const RECORD_DIR: &str = "/var/lib/mysql";
/// File name of the record.
pub const RECORD_FILE: &str = ".worlds-record.json";

/// What a record says about the world's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Restoring,
    Ready,
    Failed,
    Empty,
}

/// Written into the world by the `up` that created it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub outcome: Outcome,
    /// The `up` run that created the container (its `io.worlds.session` label); a record of
    /// another run (a reused volume) says nothing about this container.
    pub session: String,
    pub dump: String,
    pub dump_path: String,
    pub size_bytes: u64,
    pub started: String,
    #[serde(default)]
    pub finished: Option<String>,
    /// Seconds from container creation to the end of the restore.
    #[serde(default)]
    pub seconds: Option<f64>,
    /// Seconds spent loading the dump (after the server was up).
    #[serde(default)]
    pub restore_seconds: Option<f64>,
    #[serde(default)]
    pub error: Option<String>,
    /// Rows per `db.table`, as counted in the dump and verified in the world.
    #[serde(default)]
    pub rows: BTreeMap<String, u64>,
    #[serde(default)]
    pub sql_bytes: u64,
    #[serde(default)]
    pub statements: u64,
    /// The table filter of the restore; `None` for every table's data (and for records
    /// written before filters existed). Part of what the world holds, like its dump.
    #[serde(default)]
    pub tables_filter: Option<TableFilter>,
    /// Tables whose data the filter left out, with the rows the dump has for them; each was
    /// verified empty in the world.
    #[serde(default)]
    pub skipped_tables: BTreeMap<String, u64>,
    /// Key of the snapshot that holds this world's data as restored (taken after its
    /// restore, or the one it was started from).
    #[serde(default)]
    pub snapshot: Option<String>,
    /// When the world was started from a snapshot: when that snapshot was taken.
    #[serde(default)]
    pub from_snapshot: Option<String>,
}

/// A tar archive of small files owned by root, the format Docker's archive endpoint takes.
pub fn tar_of(files: &[(&str, &[u8])], mode: u32) -> Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(mode);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(chrono::Utc::now().timestamp().max(0) as u64);
        builder
            .append_data(&mut header, name, *bytes)
            .with_context(|| format!("cannot pack {name}"))?;
    }
    builder.into_inner().context("cannot pack files")
}

/// How much of its dump's data a world restored with a table filter holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partial {
    /// Tables whose data was loaded.
    pub loaded: usize,
    /// Every table of the dump.
    pub total: usize,
}

impl Partial {
    /// `partial: 2 of 5 tables`.
    pub fn describe(self) -> String {
        format!(
            "partial: {} of {} table{}",
            self.loaded,
            self.total,
            if self.total == 1 { "" } else { "s" }
        )
    }
}

impl Record {
    pub fn total_rows(&self) -> u64 {
        self.rows.values().sum()
    }

    /// The filter the world was restored with (every table when it had none).
    pub fn filter(&self) -> TableFilter {
        self.tables_filter.clone().unwrap_or_default()
    }

    /// Tables loaded of the dump's tables, for a verified restore with a table filter.
    pub fn partial(&self) -> Option<Partial> {
        let filtered = self.tables_filter.as_ref().is_some_and(|f| !f.is_all());
        (filtered && self.outcome == Outcome::Ready).then(|| Partial {
            loaded: self.rows.len(),
            total: self.rows.len() + self.skipped_tables.len(),
        })
    }

    /// The record as a one-file tar archive, the format Docker's archive endpoint takes.
    pub fn to_tar(&self) -> Result<Vec<u8>> {
        let json = serde_json::to_vec_pretty(self)?;
        tar_of(&[(RECORD_FILE, json.as_slice())], 0o600).context("cannot pack the world's record")
    }

    /// Read the record out of a tar archive from Docker; `None` when it holds no valid record
    /// (a record cut short by a crash is no record).
    pub fn from_tar(archive: &[u8]) -> Option<Record> {
        let mut tar = tar::Archive::new(archive);
        for entry in tar.entries().ok()? {
            let mut entry = entry.ok()?;
            let is_record = entry
                .path()
                .ok()
                .and_then(|p| p.file_name().map(|n| n == RECORD_FILE))
                .unwrap_or(false);
            if is_record {
                let mut text = Vec::new();
                entry.read_to_end(&mut text).ok()?;
                return serde_json::from_slice(&text).ok();
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            outcome: Outcome::Ready,
            session: "s1".into(),
            dump: "host1_fulldump_20240618_000000.sql.gz".into(),
            dump_path: "/d/host1_fulldump_20240618_000000.sql.gz".into(),
            size_bytes: 42,
            started: "2024-06-18T00:00:00+00:00".into(),
            finished: None,
            seconds: Some(1.5),
            restore_seconds: None,
            error: None,
            rows: BTreeMap::from([("game.player".to_string(), 3)]),
            sql_bytes: 100,
            statements: 7,
            tables_filter: None,
            skipped_tables: BTreeMap::new(),
            snapshot: None,
            from_snapshot: None,
        }
    }

    #[test]
    fn a_record_survives_the_tar_round_trip() {
        let r = record();
        let tar = r.to_tar().unwrap();
        assert_eq!(Record::from_tar(&tar), Some(r));
    }

    #[test]
    fn a_cut_or_foreign_archive_is_no_record() {
        let tar = record().to_tar().unwrap();
        assert_eq!(Record::from_tar(&tar[..600]), None);
        assert_eq!(Record::from_tar(b"not a tar"), None);
        assert_eq!(Record::from_tar(&[]), None);
    }

    #[test]
    fn the_filter_travels_with_the_record_and_old_records_have_none() {
        let mut r = record();
        r.tables_filter =
            Some(TableFilter::new(&["player".into()], &[], ("--tables", "--skip-tables")).unwrap());
        r.skipped_tables = BTreeMap::from([
            ("game.guild".to_string(), 4),
            ("game.event_log".to_string(), 900),
        ]);
        let back = Record::from_tar(&r.to_tar().unwrap()).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.filter().tables, ["player"]);
        let p = back.partial().unwrap();
        assert_eq!((p.loaded, p.total), (1, 3));
        assert_eq!(p.describe(), "partial: 1 of 3 tables");
        // Not verified yet: no claim.
        r.outcome = Outcome::Restoring;
        assert_eq!(r.partial(), None);
        // A record written before filters existed restored every table.
        let mut json = serde_json::to_value(record()).unwrap();
        let obj = json.as_object_mut().unwrap();
        obj.remove("tables_filter");
        obj.remove("skipped_tables");
        let old: Record = serde_json::from_value(json).unwrap();
        assert!(old.filter().is_all());
        assert_eq!(old.partial(), None);
    }
}
