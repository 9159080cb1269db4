//! Where a dump is read from: a file in a folder, or an object in a bucket.

use std::fmt;
use std::path::PathBuf;

use crate::store::ObjectRef;

/// A dump's place: everything the restore needs to open it again (once per reading pass).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File(PathBuf),
    Object(ObjectRef),
}

impl Location {
    /// The name the compression is checked against (`host1_..._211713.sql.gz`).
    pub fn file_name(&self) -> String {
        match self {
            Location::File(p) => p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            Location::Object(o) => o.file_name().to_string(),
        }
    }

    /// Bytes to read: the file's or the object's size (0 when a file cannot be read).
    pub fn size(&self) -> u64 {
        match self {
            Location::File(p) => std::fs::metadata(p).map(|m| m.len()).unwrap_or(0),
            Location::Object(o) => o.size,
        }
    }
}

impl From<PathBuf> for Location {
    fn from(path: PathBuf) -> Self {
        Location::File(path)
    }
}

impl From<&std::path::Path> for Location {
    fn from(path: &std::path::Path) -> Self {
        Location::File(path.to_path_buf())
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(p) => write!(f, "{}", p.display()),
            Location::Object(o) => f.write_str(&o.url),
        }
    }
}
