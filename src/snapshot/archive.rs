//! The export file of a snapshot: a zstd-compressed tar holding the manifest first (so an
//! import checks the key before it reads gigabytes), then the data directory under `data/`,
//! then a SHA-256 of every data entry (path, size and bytes), checked on import.
//!
//! Blocking I/O only; the commands run these on threads of their own.

use std::io::{self, Read, Write};

use anyhow::{anyhow, bail, Context, Result};
use sha2::{Digest, Sha256};

use super::Manifest;
use crate::identity::hex;

/// First member of an export.
pub const ARCHIVE_MANIFEST: &str = "worlds-snapshot.json";
/// Last member of an export: hex SHA-256 of the data entries.
pub const ARCHIVE_SUM: &str = "worlds-snapshot.sha256";
/// zstd level of exports: fast, and InnoDB pages still shrink a lot.
const LEVEL: i32 = 3;

/// Running hash of the data entries.
struct DataHash(Sha256);

impl DataHash {
    fn entry(&mut self, path: &str, size: u64) {
        self.0.update((path.len() as u64).to_le_bytes());
        self.0.update(path.as_bytes());
        self.0.update(size.to_le_bytes());
    }
}

/// Feeds every byte read through to the hash.
struct Hashing<'a, R> {
    inner: R,
    hash: &'a mut Sha256,
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

fn small_header(len: usize) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_size(len as u64);
    header.set_mode(0o644);
    header.set_mtime(chrono::Utc::now().timestamp().max(0) as u64);
    header
}

/// Copy the entries of `data_tar` (paths under `data/`) into `builder`, hashing them.
fn copy_entries<R: Read, W: Write>(
    data_tar: R,
    builder: &mut tar::Builder<W>,
    hash: &mut DataHash,
    stop_at_sum: bool,
) -> Result<Option<String>> {
    let mut archive = tar::Archive::new(data_tar);
    for entry in archive.entries().context("cannot read the data archive")? {
        let entry = entry.context("cannot read the data archive")?;
        let path = entry
            .path()
            .context("a path in the data archive is not valid")?
            .to_string_lossy()
            .into_owned();
        if stop_at_sum && path == ARCHIVE_MANIFEST {
            continue;
        }
        if stop_at_sum && path == ARCHIVE_SUM {
            let mut text = String::new();
            let mut entry = entry;
            entry.read_to_string(&mut text)?;
            return Ok(Some(text.trim().to_string()));
        }
        let clean = path.trim_start_matches("./");
        if !(clean == "data" || clean == "data/" || clean.starts_with("data/"))
            || clean.split('/').any(|p| p == "..")
        {
            bail!("unexpected entry {path:?} in the snapshot's data");
        }
        let mut header = entry.header().clone();
        let size = entry.size();
        hash.entry(clean, size);
        let mut reading = Hashing {
            inner: entry,
            hash: &mut hash.0,
        };
        builder
            .append_data(&mut header, clean, &mut reading)
            .with_context(|| format!("cannot copy {clean}"))?;
    }
    Ok(None)
}

/// Write an export of the snapshot `manifest` whose data directory `data_tar` holds (a tar
/// with paths under `data/`, as Docker's archive endpoint gives it) to `out`.
pub fn write_export<R: Read, W: Write>(manifest: &Manifest, data_tar: R, out: W) -> Result<W> {
    let encoder = zstd::stream::write::Encoder::new(out, LEVEL)?;
    let mut builder = tar::Builder::new(encoder);
    let json = serde_json::to_vec_pretty(manifest)?;
    builder.append_data(
        &mut small_header(json.len()),
        ARCHIVE_MANIFEST,
        json.as_slice(),
    )?;
    let mut hash = DataHash(Sha256::new());
    copy_entries(data_tar, &mut builder, &mut hash, false)?;
    let sum = hex(&hash.0.finalize());
    builder.append_data(&mut small_header(sum.len()), ARCHIVE_SUM, sum.as_bytes())?;
    let encoder = builder.into_inner()?;
    Ok(encoder.finish()?)
}

/// The manifest of an export (its first member), checked: a known format, and a key that
/// its parts make.
pub fn read_manifest<R: Read>(input: R) -> Result<Manifest> {
    let decoder = zstd::stream::read::Decoder::new(input)
        .context("not a snapshot export (not zstd-compressed)")?;
    let mut archive = tar::Archive::new(decoder);
    let mut entries = archive
        .entries()
        .context("not a snapshot export (not a tar archive)")?;
    let mut first = entries
        .next()
        .ok_or_else(|| anyhow!("not a snapshot export: the archive is empty"))?
        .context("not a snapshot export")?;
    let path = first.path()?.to_string_lossy().into_owned();
    if path != ARCHIVE_MANIFEST {
        bail!("not a snapshot export: it starts with {path:?}, not {ARCHIVE_MANIFEST}");
    }
    let mut json = Vec::new();
    first.by_ref().take(16 << 20).read_to_end(&mut json)?;
    let manifest: Manifest = serde_json::from_slice(&json)
        .with_context(|| format!("the export's {ARCHIVE_MANIFEST} cannot be read"))?;
    if manifest.format != super::FORMAT {
        bail!(
            "the export is a snapshot of format {}; this worlds reads format {}",
            manifest.format,
            super::FORMAT
        );
    }
    if !manifest.consistent() {
        bail!(
            "the export's key {} does not match what its manifest describes: the file was \
             changed or damaged",
            super::short_id(&manifest.key)
        );
    }
    Ok(manifest)
}

/// Write the data entries of an export as a tar (paths under `data/`) to `out`, and check
/// them against the export's checksum: an error when they differ or it is missing (the
/// data written must then be thrown away).
pub fn read_data<R: Read, W: Write>(input: R, out: W) -> Result<W> {
    let decoder = zstd::stream::read::Decoder::new(input)?;
    let mut builder = tar::Builder::new(out);
    let mut hash = DataHash(Sha256::new());
    // The manifest (skipped), the data entries, then the checksum.
    let sum = copy_entries(decoder, &mut builder, &mut hash, true)?;
    let have = hex(&hash.0.finalize());
    match sum {
        Some(want) if want == have => Ok(builder.into_inner()?),
        Some(_) => bail!("the export's data does not match its checksum: the file is damaged"),
        None => bail!("the export ends before its checksum: the file was cut"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{KeyParts, FORMAT};

    fn manifest() -> Manifest {
        let parts = KeyParts {
            dump_sha256: "a".repeat(64),
            image: "worlds image mariadb-10.11".into(),
            flavor: "mariadb".into(),
            settings: "database=game".into(),
            filter: String::new(),
        };
        Manifest {
            format: FORMAT,
            key: parts.key(),
            parts,
            world: "host1".into(),
            dump: "host1_fulldump_20240618_211706.sql.gz".into(),
            dump_size: 10,
            dump_sample: "b".repeat(64),
            created: "2026-11-22T05:00:00Z".into(),
            size_bytes: 1000,
            sql_bytes: 2000,
            statements: 3,
            tables: Vec::new(),
        }
    }

    fn data() -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        let mut dir = tar::Header::new_gnu();
        dir.set_entry_type(tar::EntryType::Directory);
        dir.set_mode(0o755);
        dir.set_uid(999);
        dir.set_gid(999);
        dir.set_mtime(1);
        dir.set_size(0);
        b.append_data(&mut dir, "data/", io::empty()).unwrap();
        for (name, bytes) in [
            ("data/ibdata1", vec![7u8; 100_000]),
            ("data/game/player.ibd", b"rows".to_vec()),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_mode(0o660);
            h.set_uid(999);
            h.set_gid(999);
            h.set_mtime(1);
            b.append_data(&mut h, name, bytes.as_slice()).unwrap();
        }
        b.into_inner().unwrap()
    }

    fn files(tar_bytes: &[u8]) -> Vec<(String, Vec<u8>, u64)> {
        let mut a = tar::Archive::new(tar_bytes);
        a.entries()
            .unwrap()
            .map(|e| {
                let mut e = e.unwrap();
                let p = e.path().unwrap().to_string_lossy().into_owned();
                let uid = e.header().uid().unwrap();
                let mut v = Vec::new();
                e.read_to_end(&mut v).unwrap();
                (p, v, uid)
            })
            .collect()
    }

    #[test]
    fn an_export_reads_back_with_its_manifest_and_data() {
        let file = write_export(&manifest(), data().as_slice(), Vec::new()).unwrap();
        assert_eq!(read_manifest(file.as_slice()).unwrap(), manifest());
        let out = read_data(file.as_slice(), Vec::new()).unwrap();
        assert_eq!(files(&out), files(&data()));
    }

    #[test]
    fn damage_is_found() {
        let file = write_export(&manifest(), data().as_slice(), Vec::new()).unwrap();
        // Rewrite the export with one data byte changed.
        let plain = zstd::decode_all(file.as_slice()).unwrap();
        let mut bad = plain.clone();
        let at = bad.windows(4).position(|w| w == b"rows").unwrap();
        bad[at] = b'R';
        let bad = zstd::encode_all(bad.as_slice(), 1).unwrap();
        let err = read_data(bad.as_slice(), Vec::new()).unwrap_err();
        assert!(
            format!("{err:#}").contains("does not match its checksum"),
            "{err:#}"
        );
        // Cut before the checksum.
        let cut = zstd::encode_all(&plain[..plain.len() - 2048], 1).unwrap();
        assert!(read_data(cut.as_slice(), Vec::new()).is_err());
        // A manifest whose key is not its parts'.
        let mut m = manifest();
        m.parts.filter = "tables=player skip=".into();
        let file = write_export(&m, data().as_slice(), Vec::new()).unwrap();
        let err = read_manifest(file.as_slice()).unwrap_err();
        assert!(format!("{err:#}").contains("does not match"), "{err:#}");
        // Not an export at all.
        assert!(read_manifest(&b"hello"[..]).is_err());
    }

    #[test]
    fn paths_outside_data_are_refused() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        b.append_data(&mut h, "etc/passwd", &b"x"[..]).unwrap();
        let evil = b.into_inner().unwrap();
        let err = write_export(&manifest(), evil.as_slice(), Vec::new()).unwrap_err();
        assert!(format!("{err:#}").contains("unexpected entry"), "{err:#}");
    }
}
