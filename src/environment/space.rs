//! Will the restores fit? Before `up` creates anything it estimates the disk space of the
//! worlds it restores and compares it with the free space of Docker's data root.
//!
//! The estimate, per world restored (kept worlds need none): the dump's SQL bytes (see
//! [`crate::load::estimate`]) times [`INNODB_FACTOR`] for InnoDB's files, plus
//! [`SERVER_BYTES`] for a fresh server's own files. Measured with MariaDB 10.11 and the
//! default settings: 268 MB of SQL (the bench dump: four tables, secondary indexes) became
//! 370 MB of table files (1.38 x), the system tablespace grew to 80 MB with the undo of the
//! load, and the redo log (268 MB) and the rest took 286 MB: 736 MB in all; the estimate
//! says 836 MB.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use anyhow::{Context, Result};
use tracing::debug;

use super::reconcile::Action;
use super::snapshots::Found;
use super::up::Desire;
use crate::engine::Engine;
use crate::error::{escape, unusable, usage};
use crate::load::estimate::{sql_size_at, SqlSize};
use crate::output::human_bytes;

/// Bytes of InnoDB files per byte of SQL: rows, indexes and page slack (1.38 measured), the
/// undo of the load in the system tablespace (0.3), with room for an index build's sort
/// files.
pub const INNODB_FACTOR: f64 = 2.0;
/// A fresh server's own files: the 256 MB redo log, the system tablespace, system tables.
pub const SERVER_BYTES: u64 = 300_000_000;
/// For tests: pretend Docker's data root has this many bytes free.
pub const FAKE_FREE_VAR: &str = "WORLDS_FAKE_FREE_BYTES";

/// The space one world's restore takes, estimated.
pub fn world_bytes(sql: u64) -> u64 {
    (sql as f64 * INNODB_FACTOR) as u64 + SERVER_BYTES
}

/// What the check compares.
#[derive(Debug, Clone)]
pub struct Check {
    /// SQL of each world to restore (`None`: started empty with `--no-restore`).
    pub worlds: Vec<(String, Option<SqlSize>)>,
    /// Free bytes, where, and whether they came from [`FAKE_FREE_VAR`].
    pub free: u64,
    pub root: String,
    pub faked: bool,
    /// A table filter is set: less data than the estimate counts is loaded.
    pub filtered: bool,
    /// Worlds replaced or redone: their old data is removed first, which is not counted.
    pub replaced: usize,
    /// Each restored world's data is copied into a snapshot as well (twice the space).
    pub snapshots: bool,
    /// Worlds copied from a snapshot, with the snapshot's (exact) size.
    pub clones: Vec<(String, u64)>,
}

impl Check {
    pub fn sql_bytes(&self) -> u64 {
        self.worlds
            .iter()
            .filter_map(|(_, s)| s.map(|s| s.bytes))
            .sum()
    }

    pub fn needed(&self) -> u64 {
        let restores: u64 = self
            .worlds
            .iter()
            .map(|(_, s)| match s {
                Some(s) if self.snapshots => 2 * world_bytes(s.bytes),
                s => world_bytes(s.map_or(0, |s| s.bytes)),
            })
            .sum();
        restores + self.clones.iter().map(|(_, b)| b).sum::<u64>()
    }

    /// `None` when the restores fit; else the message `up` stops with.
    pub fn shortfall(&self) -> Option<String> {
        let needed = self.needed();
        if needed <= self.free {
            return None;
        }
        let n = self.worlds.len();
        let mut what = Vec::new();
        let mut how = Vec::new();
        if n > 0 {
            what.push(format!(
                "restoring {n} world{}",
                if n == 1 { "" } else { "s" }
            ));
            how.push(format!(
                "an estimate: {} of SQL x {INNODB_FACTOR} for InnoDB's files, plus {} per \
                 server{}",
                human_bytes(self.sql_bytes()),
                human_bytes(SERVER_BYTES),
                if self.snapshots {
                    ", twice for a snapshot of each"
                } else {
                    ""
                }
            ));
        }
        if !self.clones.is_empty() {
            let k = self.clones.len();
            what.push(format!(
                "copying {k} snapshot{}",
                if k == 1 { "" } else { "s" }
            ));
            how.push(format!(
                "the snapshots hold {}",
                human_bytes(self.clones.iter().map(|(_, b)| b).sum())
            ));
        }
        let mut text = format!(
            "not enough disk space: {} needs about {} ({}), and Docker's data root {} has {} \
             free{}. Make room: `worlds envs` lists the environments on this engine and \
             `worlds down --env NAME` removes one; `worlds snapshots` lists the snapshots and \
             `worlds snapshots prune` removes them; `docker system df` shows what else uses \
             the space. Or run `worlds up --ignore-space` to go on anyway{}.",
            what.join(" and "),
            human_bytes(needed),
            how.join("; "),
            escape(&self.root),
            human_bytes(self.free),
            if self.faked {
                format!(" (as {FAKE_FREE_VAR} says)")
            } else {
                String::new()
            },
            if self.snapshots {
                " (`--no-snapshot` keeps no snapshots)"
            } else {
                ""
            },
        );
        if self.filtered {
            text.push_str(
                " The estimate counts every table's data; with a tables filter less is \
                 loaded, so the restore may well fit with --ignore-space.",
            );
        }
        if self.replaced > 0 {
            text.push_str(&format!(
                " The {} world{} this up restores again free{} their present data first, \
                 which the estimate does not count.",
                self.replaced,
                if self.replaced == 1 { "" } else { "s" },
                if self.replaced == 1 { "s" } else { "" },
            ));
        }
        Some(text)
    }
}

/// Free bytes of the file system holding `path` (for an unprivileged user).
// The statvfs fields are 32 bits wide on some targets.
#[allow(clippy::useless_conversion)]
pub fn free_bytes(path: &Path) -> io::Result<u64> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // SAFETY: `c` is a valid NUL-terminated path and `st` a writable statvfs for the call.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(u64::from(st.f_bavail).saturating_mul(u64::from(st.f_frsize)))
}

/// [`FAKE_FREE_VAR`] when set: a number of bytes, or a usage error.
pub fn fake_free() -> Result<Option<u64>> {
    match std::env::var(FAKE_FREE_VAR) {
        Ok(text) => text.trim().parse::<u64>().map(Some).map_err(|_| {
            usage(format!(
                "{FAKE_FREE_VAR} (for tests) must be a number of bytes, got {:?}",
                escape(&text)
            ))
        }),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(e) => Err(usage(format!("{FAKE_FREE_VAR}: {e}"))),
    }
}

/// Stop `up` (exit 3) before anything is created when the worlds it restores will not fit.
/// Where the free space cannot be seen, a debug line says so and `up` goes on.
pub async fn check(
    engine: &Engine,
    desire: &Desire,
    actions: &[Action],
    sources: &[Option<Found>],
    snapshots: bool,
    no_restore: bool,
    ignore: bool,
) -> Result<()> {
    let mut clones = Vec::new();
    let mut todo = Vec::new();
    for ((d, a), found) in desire.worlds.iter().zip(actions).zip(sources) {
        match (a, found) {
            (Action::Keep | Action::Start, _) => {}
            (_, Some(f)) => clones.push((d.planned.world.clone(), f.manifest.size_bytes)),
            (_, None) => todo.push((d, a)),
        }
    }
    let todo_len = todo.len() + clones.len();
    if todo_len == 0 {
        return Ok(());
    }
    if ignore {
        debug!("disk check skipped (--ignore-space)");
        return Ok(());
    }
    let (free, root, faked) = match fake_free()? {
        Some(free) => {
            let root = engine.data_root().await.ok().flatten();
            (free, root.unwrap_or_else(|| "?".to_string()), true)
        }
        None => {
            let Some(root) = engine.data_root().await? else {
                debug!(
                    "no disk check: the Docker engine at {} is not on this machine, so its \
                     free space cannot be seen",
                    engine.socket()
                );
                return Ok(());
            };
            match free_bytes(Path::new(&root)) {
                Ok(free) => (free, root, false),
                Err(e) => {
                    debug!(
                        "no disk check: cannot see the free space of Docker's data root \
                         {}: {e}",
                        escape(&root)
                    );
                    return Ok(());
                }
            }
        }
    };
    let replaced = todo
        .iter()
        .filter(|(_, a)| matches!(a, Action::Redo(_) | Action::Replace(_)))
        .count();
    let paths: Vec<(String, crate::location::Location)> = todo
        .iter()
        .map(|(d, _)| (d.planned.world.clone(), d.planned.dump.location()))
        .collect();
    let worlds = if no_restore {
        paths.into_iter().map(|(w, _)| (w, None)).collect()
    } else {
        // Reading the dumps' starts is file and CPU work: off the async threads.
        tokio::task::spawn_blocking(move || {
            paths
                .into_iter()
                .map(|(w, p)| {
                    let size = sql_size_at(&p).with_context(|| {
                        format!("cannot read the dump {}", escape(&p.to_string()))
                    })?;
                    Ok((w, Some(size)))
                })
                .collect::<Result<Vec<_>>>()
        })
        .await
        .context("the disk estimate stopped")??
    };
    for (world, size) in &worlds {
        if let Some(s) = size {
            debug!(
                "{}: about {} of SQL ({}), {} on disk",
                escape(world),
                human_bytes(s.bytes),
                s.source.describe(),
                human_bytes(world_bytes(s.bytes))
            );
        }
    }
    let check = Check {
        worlds,
        free,
        root,
        faked,
        filtered: !desire.filter.is_all() && !no_restore,
        replaced,
        snapshots: snapshots && !no_restore,
        clones,
    };
    debug!(
        "disk check: about {} needed, {} free in {}",
        human_bytes(check.needed()),
        human_bytes(check.free),
        escape(&check.root)
    );
    match check.shortfall() {
        Some(message) => Err(unusable(message)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::estimate::Source;

    fn check(sql: &[u64], free: u64) -> Check {
        Check {
            worlds: sql
                .iter()
                .enumerate()
                .map(|(i, &b)| {
                    (
                        format!("host{}", i + 1),
                        Some(SqlSize {
                            bytes: b,
                            source: Source::GzipTrailer,
                        }),
                    )
                })
                .collect(),
            free,
            root: "/var/lib/docker".into(),
            faked: false,
            filtered: false,
            replaced: 0,
            snapshots: false,
            clones: Vec::new(),
        }
    }

    #[test]
    fn snapshots_double_a_restore_and_clones_count_their_size() {
        let mut c = check(&[100_000_000], 0);
        let one = c.needed();
        c.snapshots = true;
        assert_eq!(c.needed(), 2 * one);
        let text = c.shortfall().unwrap();
        assert!(text.contains("twice for a snapshot of each"), "{text}");
        assert!(text.contains("--no-snapshot"), "{text}");
        c.clones.push(("host2".into(), 5_000_000));
        assert_eq!(c.needed(), 2 * one + 5_000_000);
        let text = c.shortfall().unwrap();
        assert!(text.contains("copying 1 snapshot needs about"), "{text}");
        assert!(text.contains("the snapshots hold 5.0 MB"), "{text}");
        assert!(text.contains("worlds snapshots prune"), "{text}");
    }

    #[test]
    fn the_estimate_is_sql_times_the_factor_plus_a_server() {
        assert_eq!(world_bytes(0), SERVER_BYTES);
        assert_eq!(world_bytes(1_000_000_000), 2_000_000_000 + SERVER_BYTES);
        // The bench dump: 268 MB of SQL took 736 MB.
        let bench = world_bytes(267_876_281);
        assert!((736_000_000..900_000_000).contains(&bench), "{bench}");
        let c = check(&[1_000_000_000, 500_000_000], 0);
        assert_eq!(c.sql_bytes(), 1_500_000_000);
        assert_eq!(c.needed(), 3_000_000_000 + 2 * SERVER_BYTES);
        let mut empty = check(&[], 0);
        empty.worlds.push(("host1".into(), None));
        assert_eq!(empty.needed(), SERVER_BYTES);
    }

    #[test]
    fn a_shortfall_says_how_much_is_needed_and_free_and_what_to_remove() {
        assert_eq!(check(&[1_000_000_000], 2_300_000_000).shortfall(), None);
        let text = check(&[1_000_000_000, 1_000_000_000], 1_000_000_000)
            .shortfall()
            .unwrap();
        for part in [
            "restoring 2 worlds needs about 4.6 GB",
            "an estimate: 2.0 GB of SQL x 2 for InnoDB's files, plus 300.0 MB per server",
            "Docker's data root /var/lib/docker has 1.0 GB free",
            "`worlds down --env NAME`",
            "`docker system df`",
            "--ignore-space",
        ] {
            assert!(text.contains(part), "no {part:?} in {text}");
        }
        assert!(!text.contains("tables filter"), "{text}");
        let mut c = check(&[1_000_000_000], 1);
        c.filtered = true;
        c.replaced = 1;
        c.faked = true;
        let text = c.shortfall().unwrap();
        assert!(
            text.contains("with a tables filter less is loaded"),
            "{text}"
        );
        assert!(
            text.contains("The 1 world this up restores again frees"),
            "{text}"
        );
        assert!(text.contains("(as WORLDS_FAKE_FREE_BYTES says)"), "{text}");
    }

    #[test]
    fn free_space_is_read_from_the_file_system() {
        let free = free_bytes(&std::env::temp_dir()).unwrap();
        assert!(free > 0);
        assert!(free_bytes(Path::new("/no/such/folder/anywhere")).is_err());
    }
}
