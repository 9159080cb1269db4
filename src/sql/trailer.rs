//! Is a dump complete? mysqldump and mariadb-dump begin with a `-- MySQL dump ...` or
//! `-- MariaDB dump ...` comment and end with `-- Dump completed [on ...]`. A file of theirs
//! without that last line was cut off, even when it ends right after a complete statement
//! (disk full, a killed dump): its rows, routines, triggers and views past that point are
//! missing. `--skip-comments`, `--compact` and other tools write neither line.

/// What to require of a dump's last line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrailerPolicy {
    /// Dumps whose header names mysqldump or mariadb-dump must end with the trailer.
    #[default]
    Auto,
    /// Every dump must end with the trailer.
    Required,
    /// Never checked.
    Ignore,
}

impl TrailerPolicy {
    pub fn parse(text: &str) -> Option<TrailerPolicy> {
        match text.trim().to_ascii_lowercase().as_str() {
            "auto" => Some(TrailerPolicy::Auto),
            "required" => Some(TrailerPolicy::Required),
            "ignore" => Some(TrailerPolicy::Ignore),
            _ => None,
        }
    }
}

/// Bytes of the stream's start searched for the header.
const HEAD: usize = 1024;
/// Bytes of the stream's end kept to find the last line.
const TAIL: usize = 512;

/// Watches the start and the end of a byte stream.
#[derive(Debug, Default, Clone)]
pub struct DumpEnds {
    head: Vec<u8>,
    tail: Vec<u8>,
    total: u64,
}

impl DumpEnds {
    pub fn feed(&mut self, chunk: &[u8]) {
        self.total += chunk.len() as u64;
        if self.head.len() < HEAD {
            let take = (HEAD - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        if chunk.len() >= TAIL {
            self.tail.clear();
            self.tail.extend_from_slice(&chunk[chunk.len() - TAIL..]);
        } else {
            self.tail.extend_from_slice(chunk);
            if self.tail.len() > TAIL {
                self.tail.drain(..self.tail.len() - TAIL);
            }
        }
    }

    /// The tool named in the header, if the dump has one.
    pub fn writer(&self) -> Option<&'static str> {
        self.head.split(|&b| b == b'\n').take(8).find_map(|line| {
            if line.starts_with(b"-- MySQL dump ") {
                Some("mysqldump")
            } else if line.starts_with(b"-- MariaDB dump ") {
                Some("mariadb-dump")
            } else {
                None
            }
        })
    }

    /// The last line that is not blank.
    fn last_line(&self) -> &[u8] {
        let trimmed = self.tail.trim_ascii_end();
        match trimmed.iter().rposition(|&b| b == b'\n') {
            Some(i) => &trimmed[i + 1..],
            None => trimmed,
        }
    }

    pub fn has_trailer(&self) -> bool {
        self.last_line().starts_with(b"-- Dump completed")
    }

    /// Err with the reason when `policy` says the dump is incomplete.
    pub fn check(&self, policy: TrailerPolicy) -> Result<(), String> {
        let writer = match (policy, self.writer()) {
            (TrailerPolicy::Ignore, _) => return Ok(()),
            (TrailerPolicy::Auto, None) => return Ok(()),
            (TrailerPolicy::Auto, Some(w)) => w,
            (TrailerPolicy::Required, w) => w.unwrap_or("mysqldump or mariadb-dump"),
        };
        if self.has_trailer() {
            return Ok(());
        }
        let last = String::from_utf8_lossy(&self.last_line()[..self.last_line().len().min(80)])
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect::<String>();
        Err(format!(
            "the dump is incomplete: {writer} ends every dump with a `-- Dump completed` line, \
             and this one ends after {} bytes of SQL with `{last}`; the file was cut off \
             (disk full, a dump or copy that was stopped), so rows, routines, triggers or \
             views after that point are missing. Use a complete dump, or set \
             `dump_trailer: ignore` in worlds.yaml to restore what is there",
            self.total
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ends(text: &[u8], chunk: usize) -> DumpEnds {
        let mut e = DumpEnds::default();
        for c in text.chunks(chunk.max(1)) {
            e.feed(c);
        }
        e
    }

    const HEADER: &[u8] = b"/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump 10.19-11.4  Distrib 10.11.6-MariaDB, for debian-linux-gnu (x86_64)\n--\n";

    #[test]
    fn complete_and_cut_dumps() {
        let mut whole = HEADER.to_vec();
        whole.extend_from_slice(b"CREATE TABLE t (a int);\nINSERT INTO t VALUES (1);\n");
        let cut = whole.clone();
        whole.extend_from_slice(b"\n-- Dump completed on 2024-06-17 21:13:00\n\n");
        for chunk in [1, 7, 4096] {
            let e = ends(&whole, chunk);
            assert_eq!(e.writer(), Some("mariadb-dump"));
            assert!(e.check(TrailerPolicy::Auto).is_ok());
            let e = ends(&cut, chunk);
            let err = e.check(TrailerPolicy::Auto).unwrap_err();
            assert!(err.contains("Dump completed"), "{err}");
            assert!(err.contains("INSERT INTO t VALUES (1);"), "{err}");
            assert!(e.check(TrailerPolicy::Ignore).is_ok());
        }
    }

    #[test]
    fn dumps_without_a_header_are_checked_only_when_required() {
        let e = ends(b"CREATE TABLE t (a int);\n", 3);
        assert_eq!(e.writer(), None);
        assert!(e.check(TrailerPolicy::Auto).is_ok());
        assert!(e.check(TrailerPolicy::Required).is_err());
        let mysql = ends(
            b"-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\nSELECT 1;\n-- Dump completed\n",
            5,
        );
        assert_eq!(mysql.writer(), Some("mysqldump"));
        assert!(mysql.check(TrailerPolicy::Required).is_ok());
    }

    #[test]
    fn a_trailer_in_the_middle_does_not_count() {
        let mut two = HEADER.to_vec();
        two.extend_from_slice(b"SELECT 1;\n-- Dump completed on 2024-01-01\n");
        two.extend_from_slice(HEADER);
        two.extend_from_slice(b"SELECT 2;\n");
        assert!(ends(&two, 11).check(TrailerPolicy::Auto).is_err());
    }

    #[test]
    fn policies_parse() {
        assert_eq!(TrailerPolicy::parse("Auto"), Some(TrailerPolicy::Auto));
        assert_eq!(
            TrailerPolicy::parse("required"),
            Some(TrailerPolicy::Required)
        );
        assert_eq!(TrailerPolicy::parse("ignore"), Some(TrailerPolicy::Ignore));
        assert_eq!(TrailerPolicy::parse("maybe"), None);
    }
}
