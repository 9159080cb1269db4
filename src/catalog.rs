//! Scan the dump folder, parse host and time from each file name, and pick one dump per world.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use chrono::NaiveDateTime;
use regex::Regex;
use serde::Serialize;

use crate::error::{escape, unusable, usage};
use crate::location::Location;
use crate::store::{ObjectRef, S3Url, Settings};

/// One dump file whose name matched the pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpFile {
    pub host: String,
    pub file_name: String,
    pub path: PathBuf,
    pub timestamp: NaiveDateTime,
    pub size: u64,
    /// The object, when the dump is in object storage (`path` is then its URL).
    pub object: Option<ObjectRef>,
}

impl DumpFile {
    /// Where the restore reads the dump from.
    pub fn location(&self) -> Location {
        match &self.object {
            Some(o) => Location::Object(o.clone()),
            None => Location::File(self.path.clone()),
        }
    }
}

/// A file (or a host) left out of the plan, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub file: String,
    pub reason: String,
}

/// The world a host becomes, with the dump chosen for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedWorld {
    pub world: String,
    pub dump: DumpFile,
    /// How many dumps the host has in the folder.
    pub candidates: usize,
}

/// What `up` will restore.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub worlds: Vec<PlannedWorld>,
    pub skipped: Vec<Skipped>,
}

/// How a name is parsed.
pub struct NameRules<'a> {
    pub pattern: &'a Regex,
    pub timestamp_format: &'a str,
}

/// Why a name did not give a dump.
#[derive(Debug, PartialEq, Eq)]
pub enum NameError {
    NoMatch,
    BadTimestamp(String),
    EmptyHost,
}

impl NameRules<'_> {
    /// Parse `host1_fulldump_20240617_211713.sql.gz` into host and time.
    pub fn parse(&self, name: &str) -> Result<(String, NaiveDateTime), NameError> {
        let caps = self.pattern.captures(name).ok_or(NameError::NoMatch)?;
        let host = caps.name("host").map(|m| m.as_str()).unwrap_or("");
        let ts = caps.name("ts").map(|m| m.as_str()).unwrap_or("");
        if host.is_empty() {
            return Err(NameError::EmptyHost);
        }
        let time = NaiveDateTime::parse_from_str(ts, self.timestamp_format)
            .map_err(|e| NameError::BadTimestamp(format!("{ts:?}: {e}")))?;
        Ok((host.to_string(), time))
    }
}

/// Every dump of every host, plus the files that were skipped.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Dumps per host, oldest first.
    pub hosts: BTreeMap<HostKey, Vec<DumpFile>>,
    pub skipped: Vec<Skipped>,
}

/// A host name that sorts naturally: `host2` before `host10`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostKey(pub String);

impl Ord for HostKey {
    fn cmp(&self, other: &Self) -> Ordering {
        natural_cmp(&self.0, &other.0)
    }
}

impl PartialOrd for HostKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Compare strings so that runs of digits compare as numbers (`host2` < `host10`).
/// Names that differ only in leading zeros still compare unequal (by the plain bytes).
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    while !x.is_empty() && !y.is_empty() {
        let (xd, yd) = (x[0].is_ascii_digit(), y[0].is_ascii_digit());
        if xd && yd {
            let xn = x.iter().take_while(|c| c.is_ascii_digit()).count();
            let yn = y.iter().take_while(|c| c.is_ascii_digit()).count();
            let xs = trim_zeros(&x[..xn]);
            let ys = trim_zeros(&y[..yn]);
            let ord = xs.len().cmp(&ys.len()).then_with(|| xs.cmp(ys));
            if ord != Ordering::Equal {
                return ord;
            }
            x = &x[xn..];
            y = &y[yn..];
        } else {
            let ord = x[0].cmp(&y[0]);
            if ord != Ordering::Equal {
                return ord;
            }
            x = &x[1..];
            y = &y[1..];
        }
    }
    x.len().cmp(&y.len()).then_with(|| a.cmp(b))
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let n = digits.iter().take_while(|&&c| c == b'0').count();
    &digits[n.min(digits.len().saturating_sub(1))..]
}

/// One name in a folder or a listing, before its name is parsed.
#[derive(Debug)]
pub struct Entry {
    /// The name, or how it is shown when it is not valid UTF-8.
    pub name: Result<String, String>,
    pub kind: EntryKind,
}

/// What a name stands for.
#[derive(Debug)]
pub enum EntryKind {
    /// A file (a link to one included) or an object, of this size.
    File {
        path: PathBuf,
        size: u64,
        object: Option<ObjectRef>,
    },
    /// Something that holds no dump, and why (a folder, a device...).
    NotFile(String),
    /// Cannot be read: the error.
    Unreadable(String),
}

impl Catalog {
    /// Scan one folder (not recursive).
    pub fn scan(dir: &Path, rules: &NameRules) -> Result<Catalog> {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            usage(format!(
                "cannot read the dump folder {}: {e} (set `dumps:` in worlds.yaml or pass --dumps DIR)",
                dir.display()
            ))
        })?;
        let mut found = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| {
                usage(format!(
                    "cannot list the dump folder {}: {e}",
                    dir.display()
                ))
            })?;
            let os_name = entry.file_name();
            let Some(name) = os_name.to_str() else {
                found.push(Entry {
                    name: Err(os_name.to_string_lossy().into_owned()),
                    kind: EntryKind::NotFile(String::new()),
                });
                continue;
            };
            let path = entry.path();
            // Follows symbolic links: a link to a regular file is a dump.
            let kind = match std::fs::metadata(&path) {
                Ok(m) if m.is_file() => EntryKind::File {
                    path,
                    size: m.len(),
                    object: None,
                },
                Ok(_) => EntryKind::NotFile("not a regular file".to_string()),
                Err(e) => EntryKind::Unreadable(format!("cannot read file: {e}")),
            };
            found.push(Entry {
                name: Ok(name.to_string()),
                kind,
            });
        }
        Ok(Catalog::from_entries(found, rules))
    }

    /// Sort named files and objects into hosts' dumps and skipped names, with reasons.
    pub fn from_entries(entries: Vec<Entry>, rules: &NameRules) -> Catalog {
        let mut catalog = Catalog::default();
        for entry in entries {
            let name = match entry.name {
                Ok(name) => name,
                Err(shown) => {
                    catalog.skip(shown, "file name is not valid UTF-8");
                    continue;
                }
            };
            if name.starts_with('.') {
                continue;
            }
            let shown = name.clone();
            let (host, timestamp) = match rules.parse(&name) {
                Ok(parsed) => parsed,
                Err(NameError::NoMatch) => {
                    catalog.skip(shown, "name does not match the dump file pattern");
                    continue;
                }
                Err(NameError::EmptyHost) => {
                    catalog.skip(shown, "the pattern matched but the host part is empty");
                    continue;
                }
                Err(NameError::BadTimestamp(detail)) => {
                    catalog.skip(shown, &format!("impossible timestamp {detail}"));
                    continue;
                }
            };
            let (path, size, object) = match entry.kind {
                EntryKind::File { path, size, object } => (path, size, object),
                EntryKind::NotFile(reason) | EntryKind::Unreadable(reason) => {
                    catalog.skip(shown, &reason);
                    continue;
                }
            };
            if size == 0 {
                catalog.skip(shown, "file is empty (0 bytes)");
                continue;
            }
            catalog
                .hosts
                .entry(HostKey(host.clone()))
                .or_default()
                .push(DumpFile {
                    host,
                    file_name: name,
                    path,
                    timestamp,
                    size,
                    object,
                });
        }
        for dumps in catalog.hosts.values_mut() {
            dumps.sort_by(|a, b| {
                a.timestamp
                    .cmp(&b.timestamp)
                    .then_with(|| a.file_name.cmp(&b.file_name))
            });
        }
        catalog
            .skipped
            .sort_by(|a, b| natural_cmp(&a.file, &b.file));
        catalog
    }

    /// List a bucket's prefix (not recursive: deeper keys are its folders).
    pub async fn list(url: &S3Url, settings: &Settings, rules: &NameRules<'_>) -> Result<Catalog> {
        let store = crate::store::connect(url, settings)?;
        let listing = store.list(url).await?;
        if listing.objects.is_empty() && listing.folders.is_empty() {
            return Err(unusable(format!(
                "no objects under {url} in bucket {} at {}: check the prefix in --dumps / \
                 dumps: (keys are case-sensitive; the prefix is a folder, e.g. s3://{}/daily/)",
                escape(&url.bucket),
                escape(store.endpoint()),
                escape(&url.bucket)
            )));
        }
        let mut entries: Vec<Entry> = listing
            .objects
            .into_iter()
            .map(|o| Entry {
                name: Ok(o.file_name().to_string()),
                kind: EntryKind::File {
                    path: PathBuf::from(&o.url),
                    size: o.size,
                    object: Some(o),
                },
            })
            .collect();
        entries.extend(listing.folders.into_iter().map(|f| Entry {
            name: Ok(f.trim_end_matches('/').to_string()),
            kind: EntryKind::NotFile("a folder in the bucket (not searched)".to_string()),
        }));
        Ok(Catalog::from_entries(entries, rules))
    }

    fn skip(&mut self, file: String, reason: &str) {
        self.skipped.push(Skipped {
            file,
            reason: reason.to_string(),
        });
    }

    /// Pick one dump per host: the latest, or the latest at or before `at`.
    pub fn plan(&self, at: Option<NaiveDateTime>, hosts: &[String]) -> Result<Plan> {
        for wanted in hosts {
            if !self.hosts.contains_key(&HostKey(wanted.clone())) {
                let known: Vec<&str> = self.hosts.keys().map(|k| k.0.as_str()).collect();
                return Err(usage(format!(
                    "no dumps for host {wanted:?} in the folder; hosts found: {}",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )));
            }
        }
        let mut plan = Plan {
            worlds: Vec::new(),
            skipped: self.skipped.clone(),
        };
        for (host, dumps) in &self.hosts {
            if !hosts.is_empty() && !hosts.contains(&host.0) {
                continue;
            }
            for pair in dumps.windows(2) {
                if pair[0].timestamp == pair[1].timestamp {
                    return Err(usage(format!(
                        "host {} has two dumps with the same timestamp {}: {} and {}; \
                         move one of them out of the folder",
                        host.0, pair[0].timestamp, pair[0].file_name, pair[1].file_name
                    )));
                }
            }
            if let Some(reason) = crate::environment::names::unrepresentable(&host.0) {
                for d in dumps {
                    plan.skipped.push(Skipped {
                        file: d.file_name.clone(),
                        reason: format!("cannot be a world: {reason}"),
                    });
                }
                continue;
            }
            let chosen = match at {
                None => dumps.last(),
                Some(t) => dumps.iter().rev().find(|d| d.timestamp <= t),
            };
            match chosen {
                Some(dump) => plan.worlds.push(PlannedWorld {
                    world: host.0.clone(),
                    dump: dump.clone(),
                    candidates: dumps.len(),
                }),
                None => {
                    let first = &dumps[0];
                    plan.skipped.push(Skipped {
                        file: first.file_name.clone(),
                        reason: format!(
                            "host {} has no dump at or before {}; its earliest is from {}",
                            host.0,
                            at.map(|t| t.to_string()).unwrap_or_default(),
                            first.timestamp
                        ),
                    });
                }
            }
        }
        Ok(plan)
    }
}

/// Parse `--at`: `2024-06-18T21:00:00`, `2024-06-18 21:00[:00]`, `20240618_210000`.
pub fn parse_at(text: &str) -> Result<NaiveDateTime> {
    const FORMATS: [&str; 6] = [
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
        "%Y%m%d_%H%M%S",
        "%Y%m%d_%H%M",
    ];
    let text = text.trim();
    FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .ok_or_else(|| {
            usage(format!(
                "cannot read --at {text:?}: use a time such as 2024-06-18T21:00:00, \
                 \"2024-06-18 21:00\" or 20240618_210000"
            ))
        })
}

/// Scan the configured folder and build the plan; an empty result is an error.
pub fn build_plan(
    dir: &Path,
    rules: &NameRules,
    at: Option<&str>,
    hosts: &[String],
) -> Result<Plan> {
    let at = at.map(parse_at).transpose()?;
    let catalog = Catalog::scan(dir, rules)?;
    plan_catalog(catalog, &dir.display().to_string(), at, hosts)
}

/// The plan of a scanned folder or listed prefix (`place` names it); none is an error.
fn plan_catalog(
    catalog: Catalog,
    place: &str,
    at: Option<NaiveDateTime>,
    hosts: &[String],
) -> Result<Plan> {
    if catalog.hosts.is_empty() {
        let detail = if catalog.skipped.is_empty() {
            "it holds no files".to_string()
        } else {
            format!(
                "none of its {} files is a dump; first skipped: {} ({})",
                catalog.skipped.len(),
                catalog.skipped[0].file,
                catalog.skipped[0].reason
            )
        };
        return Err(usage(format!(
            "no dumps found in {}: {detail}. Dump files are named like \
             host1_fulldump_20240617_211713.sql.gz",
            escape(place)
        )));
    }
    catalog.plan(at, hosts)
}

/// The plan for the configured folder (or bucket prefix) and naming rules.
pub async fn plan_for(
    config: &crate::config::Config,
    at: Option<&str>,
    hosts: &[String],
) -> Result<Plan> {
    let rules = NameRules {
        pattern: &config.pattern,
        timestamp_format: &config.timestamp_format,
    };
    match config.dumps_url()? {
        None => build_plan(&config.dumps, &rules, at, hosts),
        Some(url) => {
            let at = at.map(parse_at).transpose()?;
            let catalog = Catalog::list(&url, &config.store_settings(), &rules).await?;
            plan_catalog(catalog, &url.to_string(), at, hosts)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DEFAULT_PATTERN, DEFAULT_TIMESTAMP_FORMAT};
    use std::fs;

    fn rules(re: &Regex) -> NameRules<'_> {
        NameRules {
            pattern: re,
            timestamp_format: DEFAULT_TIMESTAMP_FORMAT,
        }
    }

    fn default_re() -> Regex {
        Regex::new(DEFAULT_PATTERN).unwrap()
    }

    struct TempDir(PathBuf);
    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let p = std::env::temp_dir().join(format!(
                "worlds-catalog-{tag}-{}-{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            let _ = fs::remove_dir_all(&p);
            fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
        fn file(&self, name: &str, bytes: &[u8]) {
            fs::write(self.0.join(name), bytes).unwrap();
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn ts(s: &str) -> NaiveDateTime {
        parse_at(s).unwrap()
    }

    #[test]
    fn parses_names() {
        let re = default_re();
        let r = rules(&re);
        assert_eq!(
            r.parse("host1_fulldump_20240617_211713.sql.gz").unwrap(),
            ("host1".to_string(), ts("2024-06-17T21:17:13"))
        );
        assert_eq!(
            r.parse("eu_west_2_fulldump_20240617_211713.sql").unwrap().0,
            "eu_west_2"
        );
        assert_eq!(
            r.parse("host1_fulldump_20240617_211713.sql.zst").unwrap().0,
            "host1"
        );
    }

    #[test]
    fn near_misses_do_not_match() {
        let re = default_re();
        let r = rules(&re);
        for name in [
            "host1_fulldump_20240617_211713.sql.gz.tmp",
            "host1_fulldump_20240617_21171.sql.gz",
            "host1_fulldump_2024061_211713.sql.gz",
            "host1_fulldump_20240617-211713.sql.gz",
            "host1_full_dump_20240617_211713.sql.gz",
            "host1_fulldump_20240617_211713.sql.bz2",
            "host1_fulldump_20240617_211713.txt",
            "_fulldump_20240617_211713.sql.gz",
            "Host1_fulldump_20240617_211713.sql.gz.partial",
        ] {
            assert_eq!(r.parse(name), Err(NameError::NoMatch), "{name}");
        }
    }

    #[test]
    fn impossible_dates_are_rejected() {
        let re = default_re();
        let r = rules(&re);
        for name in [
            "host1_fulldump_20240231_120000.sql.gz",
            "host1_fulldump_20241301_120000.sql.gz",
            "host1_fulldump_20240617_250000.sql.gz",
            "host1_fulldump_20230229_120000.sql.gz",
        ] {
            assert!(
                matches!(r.parse(name), Err(NameError::BadTimestamp(_))),
                "{name}"
            );
        }
        assert!(r.parse("host1_fulldump_20240229_120000.sql.gz").is_ok());
    }

    #[test]
    fn natural_order() {
        let mut v = vec![
            "host10", "host2", "host1", "host02x", "alpha", "host9", "host100",
        ];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            vec!["alpha", "host1", "host2", "host02x", "host9", "host10", "host100"]
        );
        assert_ne!(natural_cmp("host01", "host1"), Ordering::Equal);
        assert_eq!(natural_cmp("host1", "host1"), Ordering::Equal);
    }

    #[test]
    fn latest_per_host_and_at_boundaries() {
        let d = TempDir::new("at");
        d.file("host1_fulldump_20240617_211713.sql.gz", b"x");
        d.file("host1_fulldump_20240618_211713.sql.gz", b"xx");
        d.file("host10_fulldump_20240618_220000.sql.gz", b"x");
        d.file("host2_fulldump_20240617_100000.sql.gz", b"x");
        let re = default_re();
        let plan = build_plan(&d.0, &rules(&re), None, &[]).unwrap();
        let names: Vec<_> = plan.worlds.iter().map(|w| w.world.as_str()).collect();
        assert_eq!(names, vec!["host1", "host2", "host10"]);
        assert_eq!(
            plan.worlds[0].dump.file_name,
            "host1_fulldump_20240618_211713.sql.gz"
        );
        assert_eq!(plan.worlds[0].candidates, 2);
        assert_eq!(plan.worlds[0].dump.size, 2);

        // Exactly equal is included.
        let plan = build_plan(&d.0, &rules(&re), Some("20240618_211713"), &[]).unwrap();
        assert_eq!(
            plan.worlds[0].dump.file_name,
            "host1_fulldump_20240618_211713.sql.gz"
        );
        // One second earlier picks the older dump.
        let plan = build_plan(&d.0, &rules(&re), Some("2024-06-18T21:17:12"), &[]).unwrap();
        assert_eq!(
            plan.worlds[0].dump.file_name,
            "host1_fulldump_20240617_211713.sql.gz"
        );
        // host10 has nothing that early: reported, not silently dropped.
        let names: Vec<_> = plan.worlds.iter().map(|w| w.world.as_str()).collect();
        assert_eq!(names, vec!["host1", "host2"]);
        let skip = plan
            .skipped
            .iter()
            .find(|s| s.file.starts_with("host10_"))
            .expect("host10 skipped");
        assert!(
            skip.reason.contains("no dump at or before"),
            "{}",
            skip.reason
        );
    }

    #[test]
    fn hosts_filter_keeps_host1_and_host10_apart() {
        let d = TempDir::new("hosts");
        d.file("host1_fulldump_20240617_211713.sql.gz", b"x");
        d.file("host10_fulldump_20240617_211713.sql.gz", b"x");
        let re = default_re();
        let plan = build_plan(&d.0, &rules(&re), None, &["host1".to_string()]).unwrap();
        assert_eq!(plan.worlds.len(), 1);
        assert_eq!(plan.worlds[0].world, "host1");
        let err = build_plan(&d.0, &rules(&re), None, &["host3".to_string()]).unwrap_err();
        assert!(format!("{err}").contains("host1, host10"), "{err}");
    }

    #[test]
    fn duplicate_timestamps_name_both_files() {
        let d = TempDir::new("dup");
        d.file("host1_fulldump_20240617_211713.sql.gz", b"x");
        d.file("host1_fulldump_20240617_211713.sql", b"x");
        let re = default_re();
        let err = format!("{}", build_plan(&d.0, &rules(&re), None, &[]).unwrap_err());
        assert!(
            err.contains("host1_fulldump_20240617_211713.sql.gz"),
            "{err}"
        );
        assert!(
            err.contains("host1_fulldump_20240617_211713.sql and"),
            "{err}"
        );
    }

    #[test]
    fn skipped_files_have_reasons() {
        let d = TempDir::new("skip");
        d.file("host1_fulldump_20240617_211713.sql.gz", b"x");
        d.file("host2_fulldump_20240617_211713.sql.gz", b"");
        d.file("notes.txt", b"hello");
        d.file("host3_fulldump_20240231_211713.sql.gz", b"x");
        fs::create_dir(d.0.join("host4_fulldump_20240617_211713.sql.gz")).unwrap();
        let re = default_re();
        let plan = build_plan(&d.0, &rules(&re), None, &[]).unwrap();
        assert_eq!(plan.worlds.len(), 1);
        let reason = |f: &str| {
            plan.skipped
                .iter()
                .find(|s| s.file == f)
                .map(|s| s.reason.clone())
                .unwrap_or_default()
        };
        assert!(reason("host2_fulldump_20240617_211713.sql.gz").contains("empty"));
        assert!(reason("notes.txt").contains("does not match"));
        assert!(reason("host3_fulldump_20240231_211713.sql.gz").contains("impossible timestamp"));
        assert!(reason("host4_fulldump_20240617_211713.sql.gz").contains("not a regular file"));
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_names_are_skipped() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let d = TempDir::new("utf8");
        d.file("host1_fulldump_20240617_211713.sql.gz", b"x");
        let bad = OsStr::from_bytes(b"host\xff_fulldump_20240617_211713.sql.gz");
        fs::write(d.0.join(bad), b"x").unwrap();
        let re = default_re();
        let plan = build_plan(&d.0, &rules(&re), None, &[]).unwrap();
        assert_eq!(plan.worlds.len(), 1);
        assert_eq!(plan.skipped.len(), 1);
        assert!(plan.skipped[0].reason.contains("UTF-8"));
    }

    #[test]
    fn empty_and_missing_folders_are_errors() {
        let d = TempDir::new("empty");
        let re = default_re();
        let err = build_plan(&d.0, &rules(&re), None, &[]).unwrap_err();
        assert_eq!(crate::error::exit_for(&err).code(), 2);
        assert!(format!("{err}").contains("no dumps found"));
        let err = build_plan(&d.0.join("nope"), &rules(&re), None, &[]).unwrap_err();
        assert_eq!(crate::error::exit_for(&err).code(), 2);
        assert!(format!("{err}").contains("cannot read the dump folder"));
    }

    #[test]
    fn at_formats() {
        let want = ts("2024-06-18T21:00:00");
        assert_eq!(parse_at("2024-06-18 21:00").unwrap(), want);
        assert_eq!(parse_at("20240618_210000").unwrap(), want);
        assert_eq!(parse_at("2024-06-18 21:00:00").unwrap(), want);
        assert!(parse_at("yesterday").is_err());
        assert!(parse_at("2024-02-30T00:00:00").is_err());
    }
}
