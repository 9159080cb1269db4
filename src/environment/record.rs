//! The record a world carries in its own data volume: what it holds and how its restore
//! went. Written when the restore starts (`restoring`) and again when it ends (`ready`
//! only after the row counts were verified, else `failed`; `empty` for `--no-restore`).
//! Any shell, in any folder, after any crash, reads the same record from Docker.

use std::collections::BTreeMap;
use std::io::Read;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

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
}

impl Record {
    pub fn total_rows(&self) -> u64 {
        self.rows.values().sum()
    }

    /// The record as a one-file tar archive, the format Docker's archive endpoint takes.
    pub fn to_tar(&self) -> Result<Vec<u8>> {
        let json = serde_json::to_vec_pretty(self)?;
        let mut header = tar::Header::new_gnu();
        header.set_size(json.len() as u64);
        header.set_mode(0o600);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(chrono::Utc::now().timestamp().max(0) as u64);
        let mut builder = tar::Builder::new(Vec::new());
        builder
            .append_data(&mut header, RECORD_FILE, json.as_slice())
            .context("cannot pack the world's record")?;
        builder
            .into_inner()
            .context("cannot pack the world's record")
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
}
