//! Content identity of a dump file: what makes two paths the same dump, whatever their
//! spelling (`./dumps`, `dumps/../dumps`, a symlink, an absolute path), and a file with the
//! same name but other content another dump.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

/// Bytes hashed at the start, the middle and the end of the file.
const SAMPLE: u64 = 1 << 20;

/// Size, modification time and a hash of the file's size, start, middle and end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpIdentity {
    pub size: u64,
    /// Seconds since the epoch.
    pub mtime: i64,
    /// Hex SHA-256 of the size and the sampled bytes (the whole file when it is small).
    pub hash: String,
}

impl DumpIdentity {
    /// The identity as one label value: `size:mtime:hash`.
    pub fn to_label(&self) -> String {
        format!("{}:{}:{}", self.size, self.mtime, self.hash)
    }

    pub fn from_label(text: &str) -> Option<DumpIdentity> {
        let mut parts = text.splitn(3, ':');
        let size = parts.next()?.parse().ok()?;
        let mtime = parts.next()?.parse().ok()?;
        let hash = parts.next()?.to_string();
        (hash.len() == 64).then_some(DumpIdentity { size, mtime, hash })
    }
}

/// The identity of a planned dump: a file's by [`identify`], an object's from what its
/// listing says (the same shape: size, last-modified time, and a SHA-256 of its ETag and
/// size, or of its URL, size and time when the store gives no ETag).
pub fn identify_dump(dump: &crate::catalog::DumpFile) -> Result<DumpIdentity> {
    match &dump.object {
        None => identify(&dump.path),
        Some(object) => Ok(DumpIdentity {
            size: object.size,
            mtime: object.last_modified.timestamp(),
            hash: hex_sha256(crate::store::identity_text(object).as_bytes()),
        }),
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Read the identity of the dump at `path`.
pub fn identify(path: &Path) -> Result<DumpIdentity> {
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let meta = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?;
    let size = meta.len();
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut hasher = Sha256::new();
    hasher.update(size.to_le_bytes());
    let starts: Vec<u64> = if size <= 3 * SAMPLE {
        vec![0]
    } else {
        vec![0, size / 2 - SAMPLE / 2, size - SAMPLE]
    };
    let len = if size <= 3 * SAMPLE { size } else { SAMPLE };
    let mut buf = vec![0u8; len as usize];
    for start in starts {
        file.seek(SeekFrom::Start(start))
            .and_then(|_| file.read_exact(&mut buf))
            .with_context(|| format!("cannot read {}", path.display()))?;
        hasher.update(&buf);
    }
    let hash = hex(&hasher.finalize());
    Ok(DumpIdentity { size, mtime, hash })
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(2 * bytes.len()), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// [`content_sha256`] of a file, or of an object read with GETs from start to end (call
/// off the async threads).
pub fn content_sha256_at(location: &crate::location::Location) -> Result<(String, u64)> {
    match location {
        crate::location::Location::File(path) => content_sha256(path),
        crate::location::Location::Object(object) => {
            sha256_of(crate::store::read::ObjectReader::open(object), &object.url)
        }
    }
}

/// SHA-256 of the whole file (what [`ContentHash`](crate::load::source::ContentHash)
/// computes while a restore reads it), read once from start to end.
pub fn content_sha256(path: &Path) -> Result<(String, u64)> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    sha256_of(file, &path.display().to_string())
}

fn sha256_of(mut file: impl Read, shown: &str) -> Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("cannot read {shown}"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex(&hasher.finalize()), total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bytes_same_identity_other_bytes_other() {
        let dir = std::env::temp_dir().join(format!("worlds-id-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let a = dir.join("a.sql");
        std::fs::write(&a, b"INSERT 1;").unwrap();
        let id = identify(&a).unwrap();
        let spelled = dir.join(".").join("a.sql");
        assert_eq!(identify(&spelled).unwrap(), id);
        assert_eq!(DumpIdentity::from_label(&id.to_label()), Some(id.clone()));
        std::fs::write(&a, b"INSERT 2;").unwrap();
        assert_ne!(identify(&a).unwrap().hash, id.hash);
        let big = dir.join("big.sql");
        let mut data = vec![7u8; 4 << 20];
        std::fs::write(&big, &data).unwrap();
        let before = identify(&big).unwrap();
        data[2 << 20] = 8;
        std::fs::write(&big, &data).unwrap();
        assert_ne!(identify(&big).unwrap().hash, before.hash);
        let _ = std::fs::remove_dir_all(dir);
    }
}
