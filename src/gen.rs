//! Deterministic generator of synthetic dumps of the `game` database.
//!
//! The output imitates, byte for byte where it matters, what `mysqldump` 8.0
//! (`--databases game`) or `mariadb-dump` 11.4 writes: the same header and
//! footer comments, the same `/*!NNNNN ... */` session settings, `SHOW CREATE
//! TABLE` output in each server's dialect, extended `INSERT` statements split
//! at a byte budget like `net_buffer_length`, and string escaping as done by
//! `mysql_real_escape_string`.
//!
//! Every world (host) and every dump of it gets its own content, derived only
//! from `(seed, host, dump)`, so the same options always give the same bytes.
//! Player names are stable per world across dumps while scores, counts and
//! the other tables change from one dump to the next.
//!
//! The sample dumps of `dumps/` are not made here but by [`samples`]: a fixed
//! story of three worlds in MySQL 5.7's mysqldump format.

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use flate2::write::GzEncoder;
use flate2::Compression;

pub mod samples;

/// Name of the database every dump contains.
pub const DATABASE: &str = "game";

/// Which dump tool's output to imitate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Style {
    /// `mysqldump` 8.0.36 talking to a MySQL 8.0.36 server.
    #[default]
    Mysql,
    /// `mariadb-dump` from MariaDB 11.4.2 talking to a MariaDB 11.4.2 server.
    Mariadb,
}

impl FromStr for Style {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "mysql" | "mysqldump" => Ok(Style::Mysql),
            "mariadb" | "mariadb-dump" => Ok(Style::Mariadb),
            other => Err(format!(
                "unknown dump style {other:?} (expected mysql or mariadb)"
            )),
        }
    }
}

impl fmt::Display for Style {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Style::Mysql => "mysql",
            Style::Mariadb => "mariadb",
        })
    }
}

/// Which tables a dump contains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum TableSet {
    /// Only `player`; every row of `--rows` goes there.
    Player,
    /// `event_log`, `guild`, `inventory` and `player`; most of the bytes are
    /// in `inventory` and `event_log`, `player` gets about a tenth of the rows.
    #[default]
    Full,
}

impl FromStr for TableSet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "player" => Ok(TableSet::Player),
            "full" => Ok(TableSet::Full),
            other => Err(format!(
                "unknown table set {other:?} (expected player or full)"
            )),
        }
    }
}

impl fmt::Display for TableSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TableSet::Player => "player",
            TableSet::Full => "full",
        })
    }
}

/// A wall-clock time without time zone, with one-second resolution.
///
/// Parses `2024-06-17T21:13:00`, `2024-06-17 21:13:00`, `2024-06-17T21:13`
/// and `2024-06-17`; displays as `2024-06-17 21:13:00`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DumpTime(i64);

impl DumpTime {
    /// Builds a time from its calendar parts; `None` if any part is out of range.
    pub fn from_parts(
        year: i64,
        month: u32,
        day: u32,
        hour: u32,
        min: u32,
        sec: u32,
    ) -> Option<Self> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        if hour > 23 || min > 59 || sec > 59 {
            return None;
        }
        let days = days_from_civil(year, month, day);
        Some(DumpTime(
            days * 86_400 + i64::from(hour * 3600 + min * 60 + sec),
        ))
    }

    /// Seconds since 1970-01-01 00:00:00.
    pub fn seconds(self) -> i64 {
        self.0
    }

    /// The time `secs` seconds later (earlier when negative).
    pub fn plus_seconds(self, secs: i64) -> Self {
        DumpTime(self.0 + secs)
    }

    /// `(year, month, day, hour, minute, second)`.
    pub fn parts(self) -> (i64, u32, u32, u32, u32, u32) {
        let days = self.0.div_euclid(86_400);
        let rem = self.0.rem_euclid(86_400) as u32;
        let (y, m, d) = civil_from_days(days);
        (y, m, d, rem / 3600, rem / 60 % 60, rem % 60)
    }

    /// `YYYYmmdd_HHMMSS`, as used in dump file names.
    pub fn compact(self) -> String {
        let (y, mo, d, h, mi, s) = self.parts();
        format!("{y:04}{mo:02}{d:02}_{h:02}{mi:02}{s:02}")
    }
}

impl fmt::Display for DumpTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s) = self.parts();
        write!(f, "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
    }
}

impl FromStr for DumpTime {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("invalid time {s:?} (expected YYYY-MM-DDTHH:MM:SS)");
        let s = s.trim();
        let (date, time) = match s.find(['T', 't', ' ']) {
            Some(i) => (&s[..i], s[i + 1..].trim()),
            None => (s, ""),
        };
        let num = |p: &str| -> Result<i64, String> {
            if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            p.parse::<i64>().map_err(|_| bad())
        };
        let dp: Vec<&str> = date.split('-').collect();
        if dp.len() != 3 {
            return Err(bad());
        }
        let (y, mo, d) = (num(dp[0])?, num(dp[1])?, num(dp[2])?);
        let (mut h, mut mi, mut sec) = (0, 0, 0);
        if !time.is_empty() {
            let tp: Vec<&str> = time.split(':').collect();
            if tp.len() < 2 || tp.len() > 3 {
                return Err(bad());
            }
            h = num(tp[0])?;
            mi = num(tp[1])?;
            if tp.len() == 3 {
                sec = num(tp[2])?;
            }
        }
        let small = |v: i64| u32::try_from(v).map_err(|_| bad());
        DumpTime::from_parts(y, small(mo)?, small(d)?, small(h)?, small(mi)?, small(sec)?)
            .ok_or_else(bad)
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Everything that decides what the generator writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenOptions {
    /// Seed of all pseudo-random content.
    pub seed: u64,
    /// Number of hosts (worlds), numbered from 1.
    pub hosts: usize,
    /// Number of dumps per host, one day apart, numbered from 1.
    pub dumps: usize,
    /// Approximate total rows per dump (each dump varies a little around it).
    /// With [`TableSet::Player`] these are all player rows; with
    /// [`TableSet::Full`] about a tenth are players and the bulk goes to
    /// `inventory` and `event_log`.
    pub rows: u64,
    /// When set, `rows` is ignored and picked so that each dump's SQL text is
    /// about this many bytes (before compression).
    pub target_bytes: Option<u64>,
    /// Which tool's output to imitate.
    pub style: Style,
    /// Which tables to dump.
    pub tables: TableSet,
    /// Write `.sql.gz` files (otherwise plain `.sql`).
    pub gzip: bool,
    /// gzip level, 0 to 9.
    pub level: u32,
    /// Write binary columns as `0x...` hex literals, like `--hex-blob`.
    pub hex_blob: bool,
    /// Write `CREATE DATABASE` and `USE`, like `--databases`.
    pub create_db: bool,
    /// Start a new `INSERT` statement before one would reach this many bytes,
    /// like `net_buffer_length`.
    pub insert_bytes: usize,
    /// Time of the first dump of the first world.
    pub start: DumpTime,
    /// File name prefix before the host number.
    pub host_prefix: String,
    /// Files written at once by [`generate`]; 0 means one per CPU.
    pub jobs: usize,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            seed: 42,
            hosts: 3,
            dumps: 2,
            rows: 10,
            target_bytes: None,
            style: Style::Mysql,
            tables: TableSet::Full,
            gzip: true,
            level: 6,
            hex_blob: false,
            create_db: true,
            insert_bytes: 1_000_000,
            start: DumpTime::from_parts(2024, 6, 17, 21, 13, 0).expect("valid default start"),
            host_prefix: "host".to_string(),
            jobs: 0,
        }
    }
}

/// What one dump contains.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DumpStats {
    /// `(table, rows)` in the order the tables appear in the dump.
    pub rows: Vec<(String, u64)>,
    /// Size of the SQL text, before any compression.
    pub sql_bytes: u64,
}

impl DumpStats {
    /// Rows of one table, 0 if the dump does not have it.
    pub fn rows_of(&self, table: &str) -> u64 {
        self.rows
            .iter()
            .find(|(t, _)| t == table)
            .map_or(0, |(_, n)| *n)
    }

    /// Rows of all tables together.
    pub fn total_rows(&self) -> u64 {
        self.rows.iter().map(|(_, n)| n).sum()
    }
}

/// One file written by [`generate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeneratedFile {
    pub path: PathBuf,
    /// Host number, from 1.
    pub host: usize,
    /// Dump number of that host, from 1.
    pub dump: usize,
    /// When the dump was taken (the time in the file name).
    pub time: DumpTime,
    /// Size of the file on disk.
    pub file_bytes: u64,
    pub stats: DumpStats,
}

/// When dump `dump` of host `host` (both from 1) was taken.
///
/// Dump `d` is exactly `d - 1` days after dump 1 of the same host; host 1
/// starts 13 seconds after `opts.start` and each further host a seed-dependent
/// 20 to 119 seconds after the previous one.
pub fn dump_time(opts: &GenOptions, host: usize, dump: usize) -> DumpTime {
    let mut offset: i64 = 13;
    for h in 2..=host {
        offset += 20 + (mix(opts.seed ^ 0x686f_7374, h as u64) % 100) as i64;
    }
    let day = dump.saturating_sub(1) as i64;
    opts.start.plus_seconds(offset + day * 86_400)
}

/// File name of a dump: `<prefix><host>_fulldump_<YYYYmmdd>_<HHMMSS>.sql[.gz]`.
pub fn file_name(opts: &GenOptions, host: usize, dump: usize) -> String {
    let ext = if opts.gzip { "sql.gz" } else { "sql" };
    format!(
        "{}{}_fulldump_{}.{}",
        opts.host_prefix,
        host,
        dump_time(opts, host, dump).compact(),
        ext
    )
}

/// The `rows` value in effect: `opts.rows`, or the one that makes dumps about
/// `opts.target_bytes` long.
///
/// The size is modelled as `a + b*n + c*n*ln(n)` (ids get longer as tables
/// grow), fitted on three small dumps, and corrected for the average amount
/// by which [`table_rows`] varies each dump below the base count.
pub fn effective_rows(opts: &GenOptions) -> u64 {
    let Some(target) = opts.target_bytes else {
        return opts.rows;
    };
    let measure = |n: u64| -> f64 {
        let counts = base_counts(opts.tables, n);
        let mut sink = CountingSink(0);
        write_counts(opts, 1, 1, &counts, &mut sink).map_or(0.0, |s| s.sql_bytes as f64)
    };
    let basis = |n: f64| [1.0, n, n * n.ln()];
    let points = [1_000.0, 4_000.0, 16_000.0];
    let mut m = [[0.0f64; 4]; 3];
    for (row, &n) in m.iter_mut().zip(points.iter()) {
        let b = basis(n);
        *row = [b[0], b[1], b[2], measure(n as u64)];
    }
    let Some([a, b, c]) = solve3(m) else {
        return opts.rows;
    };
    let size = |n: f64| a + b * n + c * n * n.ln();
    let target = target as f64;
    let (mut lo, mut hi) = (1.0f64, 1.0e13f64);
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if size(mid) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let n = if lo > 320.0 { lo / 0.975 } else { lo };
    (n.round() as u64).max(1)
}

/// Solves a 3x3 linear system given as an augmented matrix.
fn solve3(mut m: [[f64; 4]; 3]) -> Option<[f64; 3]> {
    for col in 0..3 {
        let pivot = (col..3).max_by(|&i, &j| m[i][col].abs().total_cmp(&m[j][col].abs()))?;
        if m[pivot][col].abs() < 1e-12 {
            return None;
        }
        m.swap(col, pivot);
        let pivot_row = m[col];
        for (r, row) in m.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / pivot_row[col];
                for (x, p) in row.iter_mut().zip(pivot_row.iter()).skip(col) {
                    *x -= f * p;
                }
            }
        }
    }
    Some([m[0][3] / m[0][0], m[1][3] / m[1][1], m[2][3] / m[2][2]])
}

/// Rows each table of dump `dump` of host `host` gets, in dump order.
pub fn table_rows(opts: &GenOptions, host: usize, dump: usize) -> Vec<(&'static str, u64)> {
    let n = effective_rows(opts);
    planned_counts(opts, n, host, dump)
        .into_iter()
        .map(|(t, c)| (t.name(), c))
        .collect()
}

/// Writes the SQL text of dump `dump` (from 1) of host `host` (from 1) to `out`.
///
/// The text is written in chunks, so memory use does not grow with the size
/// of the dump. `out` is not flushed.
pub fn write_dump<W: Write>(
    opts: &GenOptions,
    host: usize,
    dump: usize,
    out: W,
) -> io::Result<DumpStats> {
    if host == 0 || dump == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "host and dump numbers start at 1",
        ));
    }
    let n = effective_rows(opts);
    let counts = planned_counts(opts, n, host, dump);
    write_counts(opts, host, dump, &counts, out)
}

/// Writes every dump of every host into `dir` (created if missing).
pub fn generate(opts: &GenOptions, dir: &Path) -> io::Result<Vec<GeneratedFile>> {
    generate_with(opts, dir, |_| {})
}

/// Like [`generate`], calling `on_file` as soon as each file is complete.
///
/// Files are written by up to `opts.jobs` threads at once, so `on_file` may
/// see them out of order; the returned list is ordered by host, then dump.
pub fn generate_with<F>(opts: &GenOptions, dir: &Path, on_file: F) -> io::Result<Vec<GeneratedFile>>
where
    F: Fn(&GeneratedFile) + Sync,
{
    std::fs::create_dir_all(dir)?;
    let mut resolved = opts.clone();
    resolved.rows = effective_rows(opts);
    resolved.target_bytes = None;
    let work: Vec<(usize, usize)> = (1..=opts.hosts)
        .flat_map(|h| (1..=opts.dumps).map(move |d| (h, d)))
        .collect();
    let jobs = match opts.jobs {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        j => j,
    }
    .clamp(1, work.len().max(1));

    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<GeneratedFile>> = Mutex::new(Vec::with_capacity(work.len()));
    let failure: Mutex<Option<io::Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= work.len() || failure.lock().map_or(true, |f| f.is_some()) {
                    break;
                }
                let (host, dump) = work[i];
                match write_file(&resolved, dir, host, dump) {
                    Ok(file) => {
                        on_file(&file);
                        if let Ok(mut r) = results.lock() {
                            r.push(file);
                        }
                    }
                    Err(e) => {
                        if let Ok(mut f) = failure.lock() {
                            f.get_or_insert(e);
                        }
                        break;
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e);
    }
    let mut files = results.into_inner().unwrap_or_default();
    files.sort_by_key(|f| (f.host, f.dump));
    Ok(files)
}

fn write_file(
    opts: &GenOptions,
    dir: &Path,
    host: usize,
    dump: usize,
) -> io::Result<GeneratedFile> {
    let path = dir.join(file_name(opts, host, dump));
    let file = BufWriter::with_capacity(1 << 20, File::create(&path)?);
    let stats = if opts.gzip {
        let mut gz = GzEncoder::new(file, Compression::new(opts.level.min(9)));
        let stats = write_dump(opts, host, dump, &mut gz)?;
        let mut file = gz.finish()?;
        file.flush()?;
        stats
    } else {
        let mut file = file;
        let stats = write_dump(opts, host, dump, &mut file)?;
        file.flush()?;
        stats
    };
    let file_bytes = std::fs::metadata(&path)?.len();
    Ok(GeneratedFile {
        path,
        host,
        dump,
        time: dump_time(opts, host, dump),
        file_bytes,
        stats,
    })
}

/// Appends `bytes` escaped the way `mysql_real_escape_string` does: NUL,
/// newline, carriage return, backslash, both quotes and Ctrl-Z (0x1A) get a
/// backslash; every other byte, including multi-byte UTF-8, is copied as is.
pub fn escape_into(buf: &mut Vec<u8>, bytes: &[u8]) {
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let e = ESCAPES[b as usize];
        if e != 0 {
            buf.extend_from_slice(&bytes[start..i]);
            buf.push(b'\\');
            buf.push(e);
            start = i + 1;
        }
    }
    buf.extend_from_slice(&bytes[start..]);
}

const ESCAPES: [u8; 256] = {
    let mut t = [0u8; 256];
    t[0] = b'0';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\\' as usize] = b'\\';
    t[b'\'' as usize] = b'\'';
    t[b'"' as usize] = b'"';
    t[0x1A] = b'Z';
    t
};

// ---------------------------------------------------------------------------
// Pseudo-random numbers

/// SplitMix64 finalizer of `a` combined with `b`.
fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A SplitMix64 stream.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn from_parts(parts: &[u64]) -> Self {
        Rng(parts
            .iter()
            .fold(0x5EED_F00D_0A11_u64, |acc, &p| mix(acc, p)))
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `pct` percent.
    fn percent(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

// ---------------------------------------------------------------------------
// Tables

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Table {
    EventLog,
    Guild,
    Inventory,
    Player,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::EventLog => "event_log",
            Table::Guild => "guild",
            Table::Inventory => "inventory",
            Table::Player => "player",
        }
    }

    fn tag(self) -> u64 {
        match self {
            Table::EventLog => 1,
            Table::Guild => 2,
            Table::Inventory => 3,
            Table::Player => 4,
        }
    }

    /// Column and key lines of `SHOW CREATE TABLE`, in each server's dialect.
    fn definition(self, style: Style) -> &'static [&'static str] {
        match (self, style) {
            (Table::Player, Style::Mysql) => &[
                "`id` int NOT NULL AUTO_INCREMENT",
                "`name` varchar(64) COLLATE utf8mb4_unicode_ci NOT NULL",
                "`score` int NOT NULL DEFAULT '0'",
                "`updated_at` datetime NOT NULL",
                "PRIMARY KEY (`id`)",
                "KEY `idx_score` (`score`)",
            ],
            (Table::Player, Style::Mariadb) => &[
                "`id` int(11) NOT NULL AUTO_INCREMENT",
                "`name` varchar(64) NOT NULL",
                "`score` int(11) NOT NULL DEFAULT 0",
                "`updated_at` datetime NOT NULL",
                "PRIMARY KEY (`id`)",
                "KEY `idx_score` (`score`)",
            ],
            (Table::Guild, Style::Mysql) => &[
                "`id` int NOT NULL AUTO_INCREMENT",
                "`name` varchar(100) COLLATE utf8mb4_unicode_ci NOT NULL",
                "`created_at` datetime NOT NULL",
                "PRIMARY KEY (`id`)",
            ],
            (Table::Guild, Style::Mariadb) => &[
                "`id` int(11) NOT NULL AUTO_INCREMENT",
                "`name` varchar(100) NOT NULL",
                "`created_at` datetime NOT NULL",
                "PRIMARY KEY (`id`)",
            ],
            (Table::Inventory, Style::Mysql) => &[
                "`id` bigint NOT NULL AUTO_INCREMENT",
                "`player_id` int NOT NULL",
                "`item_id` int NOT NULL",
                "`qty` int NOT NULL DEFAULT '1'",
                "`note` varchar(255) COLLATE utf8mb4_unicode_ci DEFAULT NULL",
                "`blob_data` varbinary(64) DEFAULT NULL",
                "PRIMARY KEY (`id`)",
                "KEY `idx_player` (`player_id`)",
                "KEY `idx_item` (`item_id`)",
            ],
            (Table::Inventory, Style::Mariadb) => &[
                "`id` bigint(20) NOT NULL AUTO_INCREMENT",
                "`player_id` int(11) NOT NULL",
                "`item_id` int(11) NOT NULL",
                "`qty` int(11) NOT NULL DEFAULT 1",
                "`note` varchar(255) DEFAULT NULL",
                "`blob_data` varbinary(64) DEFAULT NULL",
                "PRIMARY KEY (`id`)",
                "KEY `idx_player` (`player_id`)",
                "KEY `idx_item` (`item_id`)",
            ],
            (Table::EventLog, Style::Mysql) => &[
                "`id` bigint NOT NULL AUTO_INCREMENT",
                "`player_id` int NOT NULL",
                "`kind` enum('login','logout','trade','craft','quest','death') COLLATE utf8mb4_unicode_ci NOT NULL",
                "`payload` text COLLATE utf8mb4_unicode_ci",
                "`amount` decimal(12,2) NOT NULL DEFAULT '0.00'",
                "`created_at` datetime NOT NULL",
                "PRIMARY KEY (`id`)",
                "KEY `idx_player_created` (`player_id`,`created_at`)",
            ],
            (Table::EventLog, Style::Mariadb) => &[
                "`id` bigint(20) NOT NULL AUTO_INCREMENT",
                "`player_id` int(11) NOT NULL",
                "`kind` enum('login','logout','trade','craft','quest','death') NOT NULL",
                "`payload` text DEFAULT NULL",
                "`amount` decimal(12,2) NOT NULL DEFAULT 0.00",
                "`created_at` datetime NOT NULL",
                "PRIMARY KEY (`id`)",
                "KEY `idx_player_created` (`player_id`,`created_at`)",
            ],
        }
    }
}

/// Row counts for a base row count, before per-dump variation.
fn base_counts(tables: TableSet, n: u64) -> Vec<(Table, u64)> {
    match tables {
        TableSet::Player => vec![(Table::Player, n)],
        TableSet::Full => {
            let player = (n / 10).max(1);
            let guild = (n / 200).max(1);
            let inventory = n * 4 / 10;
            let event_log = n.saturating_sub(player + guild + inventory);
            vec![
                (Table::EventLog, event_log),
                (Table::Guild, guild),
                (Table::Inventory, inventory),
                (Table::Player, player),
            ]
        }
    }
}

/// Row counts of one dump: the base counts, each lowered by a deterministic
/// amount (up to 3/8 for tiny tables, up to 5% otherwise).
fn planned_counts(opts: &GenOptions, n: u64, host: usize, dump: usize) -> Vec<(Table, u64)> {
    let mut rng = Rng::from_parts(&[opts.seed, host as u64, dump as u64, 0xC0DE]);
    base_counts(opts.tables, n)
        .into_iter()
        .map(|(t, c)| {
            let spread = if c <= 16 { c * 3 / 8 } else { c / 20 };
            (t, c - rng.below(spread + 1))
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Output

const FLUSH_AT: usize = 256 * 1024;

/// Buffers output and counts bytes.
struct Out<W: Write> {
    inner: W,
    buf: Vec<u8>,
    written: u64,
}

impl<W: Write> Out<W> {
    fn new(inner: W) -> Self {
        Out {
            inner,
            buf: Vec::with_capacity(FLUSH_AT + 64 * 1024),
            written: 0,
        }
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.buf.extend_from_slice(bytes);
        self.written += bytes.len() as u64;
        if self.buf.len() >= FLUSH_AT {
            self.drain()?;
        }
        Ok(())
    }

    fn put_str(&mut self, s: &str) -> io::Result<()> {
        self.put(s.as_bytes())
    }

    fn drain(&mut self) -> io::Result<()> {
        self.inner.write_all(&self.buf)?;
        self.buf.clear();
        Ok(())
    }
}

/// Counts bytes and discards them.
struct CountingSink(u64);

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Groups rows into extended `INSERT` statements the way mysqldump does with
/// `net_buffer_length`.
struct Inserts {
    head: Vec<u8>,
    sep: &'static [u8],
    limit: usize,
    used: usize,
    open: bool,
}

impl Inserts {
    fn new(table: &str, style: Style, limit: usize) -> Self {
        let (after, sep): (&str, &'static [u8]) = match style {
            Style::Mysql => (" ", b","),
            Style::Mariadb => ("\n", b",\n"),
        };
        Inserts {
            head: format!("INSERT INTO `{table}` VALUES{after}").into_bytes(),
            sep,
            limit,
            used: 0,
            open: false,
        }
    }

    fn row<W: Write>(&mut self, out: &mut Out<W>, row: &[u8]) -> io::Result<()> {
        let len = row.len() + 2;
        if self.open && self.used + len < self.limit {
            self.used += len;
            out.put(self.sep)?;
        } else {
            if self.open {
                out.put(b";\n")?;
            }
            out.put(&self.head)?;
            self.used = len + self.head.len() + 4;
            self.open = true;
        }
        out.put(row)
    }

    fn finish<W: Write>(&mut self, out: &mut Out<W>) -> io::Result<()> {
        if self.open {
            self.open = false;
            out.put(b";\n")?;
        }
        Ok(())
    }
}

fn push_u64(buf: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

fn push_i64(buf: &mut Vec<u8>, v: i64) {
    if v < 0 {
        buf.push(b'-');
    }
    push_u64(buf, v.unsigned_abs());
}

fn push_2(buf: &mut Vec<u8>, v: u32) {
    buf.push(b'0' + (v / 10 % 10) as u8);
    buf.push(b'0' + (v % 10) as u8);
}

/// `'YYYY-MM-DD HH:MM:SS'`
fn push_datetime(buf: &mut Vec<u8>, t: DumpTime) {
    let (y, mo, d, h, mi, s) = t.parts();
    buf.push(b'\'');
    let y = y.clamp(0, 9999) as u32;
    push_2(buf, y / 100);
    push_2(buf, y % 100);
    buf.push(b'-');
    push_2(buf, mo);
    buf.push(b'-');
    push_2(buf, d);
    buf.push(b' ');
    push_2(buf, h);
    buf.push(b':');
    push_2(buf, mi);
    buf.push(b':');
    push_2(buf, s);
    buf.push(b'\'');
}

/// A decimal with two fractional digits, from hundredths.
fn push_cents(buf: &mut Vec<u8>, cents: i64) {
    if cents < 0 {
        buf.push(b'-');
    }
    let a = cents.unsigned_abs();
    push_u64(buf, a / 100);
    buf.push(b'.');
    push_2(buf, (a % 100) as u32);
}

fn push_quoted(buf: &mut Vec<u8>, text: &[u8]) {
    buf.push(b'\'');
    escape_into(buf, text);
    buf.push(b'\'');
}

fn push_binary(buf: &mut Vec<u8>, bytes: &[u8], style: Style, hex_blob: bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    if bytes.is_empty() {
        buf.extend_from_slice(b"''");
    } else if hex_blob {
        buf.extend_from_slice(b"0x");
        for &b in bytes {
            buf.push(HEX[usize::from(b >> 4)]);
            buf.push(HEX[usize::from(b & 15)]);
        }
    } else {
        if style == Style::Mysql {
            buf.extend_from_slice(b"_binary ");
        }
        push_quoted(buf, bytes);
    }
}

/// `-- Dump completed on` uses a space-padded hour, like the real tools.
fn completed_stamp(t: DumpTime) -> String {
    let (y, mo, d, h, mi, s) = t.parts();
    format!("{y:04}-{mo:02}-{d:02} {h:2}:{mi:02}:{s:02}")
}

fn write_header<W: Write>(opts: &GenOptions, out: &mut Out<W>) -> io::Result<()> {
    match opts.style {
        Style::Mysql => out.put_str(concat!(
            "-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n",
            "--\n",
            "-- Host: localhost    Database: game\n",
            "-- ------------------------------------------------------\n",
            "-- Server version\t8.0.36\n",
            "\n",
            "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n",
            "/*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;\n",
            "/*!40101 SET @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION */;\n",
            "/*!50503 SET NAMES utf8mb4 */;\n",
        ))?,
        Style::Mariadb => out.put_str(concat!(
            "/*M!999999\\- enable the sandbox mode */ \n",
            "-- MariaDB dump 10.19-11.4.2-MariaDB, for debian-linux-gnu (x86_64)\n",
            "--\n",
            "-- Host: localhost    Database: game\n",
            "-- ------------------------------------------------------\n",
            "-- Server version\t11.4.2-MariaDB-ubu2404\n",
            "\n",
            "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n",
            "/*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;\n",
            "/*!40101 SET @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION */;\n",
            "/*!40101 SET NAMES utf8mb4 */;\n",
        ))?,
    }
    out.put_str(concat!(
        "/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;\n",
        "/*!40103 SET TIME_ZONE='+00:00' */;\n",
        "/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;\n",
        "/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;\n",
        "/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;\n",
    ))?;
    out.put_str(match opts.style {
        Style::Mysql => "/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;\n",
        Style::Mariadb => {
            "/*M!100616 SET @OLD_NOTE_VERBOSITY=@@NOTE_VERBOSITY, NOTE_VERBOSITY=0 */;\n"
        }
    })?;
    if opts.create_db {
        out.put_str("\n--\n-- Current Database: `game`\n--\n\n")?;
        out.put_str(match opts.style {
            Style::Mysql => concat!(
                "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `game` ",
                "/*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci */ ",
                "/*!80016 DEFAULT ENCRYPTION='N' */;\n"
            ),
            Style::Mariadb => concat!(
                "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `game` ",
                "/*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci */;\n"
            ),
        })?;
        out.put_str("\nUSE `game`;\n")?;
    }
    Ok(())
}

fn write_footer<W: Write>(
    opts: &GenOptions,
    out: &mut Out<W>,
    finished: DumpTime,
) -> io::Result<()> {
    out.put_str(concat!(
        "/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;\n",
        "\n",
        "/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;\n",
        "/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;\n",
        "/*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;\n",
        "/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;\n",
        "/*!40101 SET CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS */;\n",
        "/*!40101 SET COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION */;\n",
    ))?;
    out.put_str(match opts.style {
        Style::Mysql => "/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;\n",
        Style::Mariadb => "/*M!100616 SET NOTE_VERBOSITY=@OLD_NOTE_VERBOSITY */;\n",
    })?;
    out.put_str(&format!(
        "\n-- Dump completed on {}\n",
        completed_stamp(finished)
    ))
}

fn write_structure<W: Write>(
    opts: &GenOptions,
    out: &mut Out<W>,
    table: Table,
    rows: u64,
) -> io::Result<()> {
    let name = table.name();
    let mut s = String::with_capacity(1024);
    s.push_str(&format!(
        "\n--\n-- Table structure for table `{name}`\n--\n\nDROP TABLE IF EXISTS `{name}`;\n"
    ));
    s.push_str("/*!40101 SET @saved_cs_client     = @@character_set_client */;\n");
    s.push_str(match opts.style {
        Style::Mysql => "/*!50503 SET character_set_client = utf8mb4 */;\n",
        Style::Mariadb => "/*!40101 SET character_set_client = utf8mb4 */;\n",
    });
    s.push_str(&format!("CREATE TABLE `{name}` (\n  "));
    s.push_str(&table.definition(opts.style).join(",\n  "));
    s.push_str("\n) ENGINE=InnoDB");
    if rows > 0 {
        s.push_str(&format!(" AUTO_INCREMENT={}", rows + 1));
    }
    s.push_str(" DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;\n");
    s.push_str("/*!40101 SET character_set_client = @saved_cs_client */;\n");
    s.push_str(&format!(
        "\n--\n-- Dumping data for table `{name}`\n--\n\nLOCK TABLES `{name}` WRITE;\n/*!40000 ALTER TABLE `{name}` DISABLE KEYS */;\n"
    ));
    out.put_str(&s)
}

fn write_counts<W: Write>(
    opts: &GenOptions,
    host: usize,
    dump: usize,
    counts: &[(Table, u64)],
    out: W,
) -> io::Result<DumpStats> {
    let mut out = Out::new(out);
    let time = dump_time(opts, host, dump);
    let players = counts
        .iter()
        .find(|(t, _)| *t == Table::Player)
        .map_or(1, |&(_, c)| c.max(1));
    let world = World {
        seed: opts.seed,
        host: host as u64,
        dump: dump as u64,
        players,
        time,
        style: opts.style,
        hex_blob: opts.hex_blob,
    };
    write_header(opts, &mut out)?;
    let mut row = Vec::with_capacity(1024);
    let mut scratch = Vec::with_capacity(512);
    for &(table, rows) in counts {
        write_structure(opts, &mut out, table, rows)?;
        let mut rng = Rng::from_parts(&[opts.seed, host as u64, dump as u64, table.tag()]);
        let mut inserts = Inserts::new(table.name(), opts.style, opts.insert_bytes);
        for id in 1..=rows {
            row.clear();
            match table {
                Table::Player => world.player_row(&mut rng, id, &mut row, &mut scratch),
                Table::Guild => world.guild_row(&mut rng, id, &mut row),
                Table::Inventory => world.inventory_row(&mut rng, id, &mut row, &mut scratch),
                Table::EventLog => world.event_row(&mut rng, id, rows, &mut row, &mut scratch),
            }
            inserts.row(&mut out, &row)?;
        }
        inserts.finish(&mut out)?;
        let name = table.name();
        out.put_str(&format!(
            "/*!40000 ALTER TABLE `{name}` ENABLE KEYS */;\nUNLOCK TABLES;\n"
        ))?;
    }
    let elapsed = 2 + (out.written / (24 * 1024 * 1024)) as i64;
    write_footer(opts, &mut out, time.plus_seconds(elapsed))?;
    out.drain()?;
    Ok(DumpStats {
        rows: counts
            .iter()
            .map(|&(t, c)| (t.name().to_string(), c))
            .collect(),
        sql_bytes: out.written,
    })
}

// ---------------------------------------------------------------------------
// Content

const SYLLABLES: &[&str] = &[
    "ka", "lo", "ri", "en", "dor", "mir", "tha", "vel", "zan", "gor", "ul", "is", "bra", "nok",
    "sel", "ae", "qua", "fen", "rin", "tor", "mal", "eth", "wyn", "cas", "bel", "dru", "ix", "sha",
    "om", "pel",
];
const ACCENTED: &[&str] = &["é", "ü", "ñ", "ø", "ç", "ä", "ß", "å", "è", "ō"];
const CJK_NAMES: &[&str] = &[
    "日本",
    "太郎",
    "桜",
    "龍之介",
    "花子",
    "星",
    "한별",
    "Дракон",
];
const EMOJI: &[&str] = &["🐉", "⚔️", "🔥", "🌙", "🦊", "👑"];

const GUILD_NAMES: &[&str] = &[
    "Iron Wolves",
    "Les Éclaireurs",
    "Ørnenes Klan",
    "龍の牙",
    "Die Übermächtigen",
    "Los Niños Perdidos",
    "O'Malley's Crew",
    "🔥 Firebrand 🔥",
    "Knights of \"Dawn\"",
    "Back\\Slash",
    "Semi;Colon",
    "Crème brûlée",
];

const NOTE_PARTS: &[&str] = &[
    "gift from guild",
    "don't sell",
    "it's \"legendary\"",
    "C:\\Users\\player\\loot.txt",
    "a; DROP TABLE player; --",
    "line one\nline two",
    "windows\r\nline",
    "🗡️ sharp",
    "🛡️ + 🐉 = 💰",
    "日本語のメモ",
    "Ünïcödé ñ ß",
    "tab\tseparated",
    "50% off_sale",
    "ctrl-z \u{1a} marker",
    "nul \u{0} byte",
    "/* not a comment */",
    "-- not a comment either",
    "ends with backslash\\",
    "semi;colon;;",
    "quote at end'",
    "(1,'x'),(2,'y')",
    "stack of 99",
    "soulbound",
    "crafted",
];

const QUESTS: &[&str] = &[
    "Les Mystères d'Ébène",
    "The \\\"Lost\\\" Crown",
    "Drachenhöhle",
    "月の神殿",
    "Rescue the 🐱",
    "Into the Abyss",
];

const MESSAGES: &[&str] = &[
    "gg",
    "wp!",
    "he said \\\"hi\\\"",
    "path C:\\\\games\\\\save",
    "multi\\nline",
    "l'été est là",
    "¿qué tal?",
    "안녕하세요",
    "🎉🎉🎉",
    "a;b;c",
];

const KINDS: &[(&str, u64)] = &[
    ("login", 30),
    ("logout", 25),
    ("trade", 15),
    ("craft", 12),
    ("quest", 13),
    ("death", 5),
];

/// What every row of one dump shares.
struct World {
    seed: u64,
    host: u64,
    dump: u64,
    players: u64,
    time: DumpTime,
    style: Style,
    hex_blob: bool,
}

impl World {
    /// Name of player `id` of this world; the same in every dump.
    fn player_name(&self, id: u64, name: &mut Vec<u8>) -> Rng {
        let mut r = Rng::from_parts(&[self.seed, self.host, id, 0x4E41_4D45]);
        name.clear();
        // Every eighth player, starting within the first five, gets a CJK or
        // emoji name, so that even tiny dumps carry some multi-byte text.
        let special = (id - 1) % 8 == mix(self.seed, self.host) % 5;
        let roll = match (special, r.percent(50)) {
            (true, true) => r.between(5, 8),
            (true, false) => r.between(24, 26),
            (false, _) => r.below(100),
        };
        if roll < 5 {
            name.extend_from_slice(if r.percent(50) { b"O'" } else { b"D'" });
        }
        if (5..9).contains(&roll) {
            name.extend_from_slice(r.pick(CJK_NAMES).as_bytes());
        } else {
            let n = r.between(2, 3);
            for i in 0..n {
                let s = r.pick(SYLLABLES).as_bytes();
                if i == 0 {
                    name.push(s[0].to_ascii_uppercase());
                    name.extend_from_slice(&s[1..]);
                } else {
                    name.extend_from_slice(s);
                }
                if i == 0 && (9..12).contains(&roll) {
                    name.push(b'\'');
                }
                if (12..24).contains(&roll) && i + 1 == n {
                    name.extend_from_slice(r.pick(ACCENTED).as_bytes());
                }
            }
        }
        if (24..27).contains(&roll) {
            name.push(b' ');
            name.extend_from_slice(r.pick(EMOJI).as_bytes());
        }
        if (30..38).contains(&roll) {
            push_u64(name, r.between(1, 999));
        }
        r
    }

    fn player_row(&self, rng: &mut Rng, id: u64, row: &mut Vec<u8>, name: &mut Vec<u8>) {
        let mut own = self.player_name(id, name);
        let base = own.below(5000);
        let gain = own.below(400);
        let score = base + gain * (self.dump - 1) + rng.below(50);
        let updated = self
            .time
            .plus_seconds(-(60 + rng.below(30 * 86_400) as i64));
        row.push(b'(');
        push_u64(row, id);
        row.push(b',');
        push_quoted(row, name);
        row.push(b',');
        push_u64(row, score);
        row.push(b',');
        push_datetime(row, updated);
        row.push(b')');
    }

    fn guild_row(&self, rng: &mut Rng, id: u64, row: &mut Vec<u8>) {
        let mut own = Rng::from_parts(&[self.seed, self.host, id, 0x4755_494C]);
        let mut name = own.pick(GUILD_NAMES).as_bytes().to_vec();
        name.push(b' ');
        push_u64(&mut name, id);
        let created = self
            .time
            .plus_seconds(-(86_400 + own.below(700 * 86_400) as i64 + rng.below(3600) as i64));
        row.push(b'(');
        push_u64(row, id);
        row.push(b',');
        push_quoted(row, &name);
        row.push(b',');
        push_datetime(row, created);
        row.push(b')');
    }

    fn inventory_row(&self, rng: &mut Rng, id: u64, row: &mut Vec<u8>, tmp: &mut Vec<u8>) {
        row.push(b'(');
        push_u64(row, id);
        row.push(b',');
        push_u64(row, rng.between(1, self.players));
        row.push(b',');
        let item = if rng.percent(30) {
            rng.between(1, 100)
        } else {
            rng.between(1, 5000)
        };
        push_u64(row, item);
        row.push(b',');
        let qty = match rng.below(100) {
            0..=69 => rng.between(1, 20),
            70..=94 => rng.between(1, 99),
            _ => rng.between(100, 9999),
        };
        push_u64(row, qty);
        row.push(b',');
        if rng.percent(10) {
            row.extend_from_slice(b"NULL");
        } else {
            tmp.clear();
            let parts = rng.between(1, 3);
            for i in 0..parts {
                if i > 0 {
                    tmp.push(b' ');
                }
                tmp.extend_from_slice(rng.pick(NOTE_PARTS).as_bytes());
            }
            push_quoted(row, tmp);
        }
        row.push(b',');
        if rng.percent(10) {
            row.extend_from_slice(b"NULL");
        } else {
            tmp.clear();
            let len = rng.between(4, 32) as usize;
            while tmp.len() < len {
                let word = rng.next_u64().to_le_bytes();
                let take = (len - tmp.len()).min(8);
                tmp.extend_from_slice(&word[..take]);
            }
            push_binary(row, tmp, self.style, self.hex_blob);
        }
        row.push(b')');
    }

    fn event_row(&self, rng: &mut Rng, id: u64, rows: u64, row: &mut Vec<u8>, tmp: &mut Vec<u8>) {
        const SPAN: u64 = 7 * 86_400;
        let player = rng.between(1, self.players);
        let mut roll = rng.below(100);
        let mut kind = "login";
        for &(k, w) in KINDS {
            if roll < w {
                kind = k;
                break;
            }
            roll -= w;
        }
        row.push(b'(');
        push_u64(row, id);
        row.push(b',');
        push_u64(row, player);
        row.push(b',');
        row.push(b'\'');
        row.extend_from_slice(kind.as_bytes());
        row.extend_from_slice(b"',");
        let mut cents: i64 = 0;
        if rng.percent(5) {
            row.extend_from_slice(b"NULL");
        } else {
            tmp.clear();
            match kind {
                "login" => {
                    tmp.extend_from_slice(b"{\"ip\":\"10.");
                    for i in 0..3 {
                        if i > 0 {
                            tmp.push(b'.');
                        }
                        push_u64(tmp, rng.below(256));
                    }
                    tmp.extend_from_slice(b"\",\"client\":\"1.");
                    push_u64(tmp, rng.below(10));
                    tmp.push(b'.');
                    push_u64(tmp, rng.below(30));
                    tmp.extend_from_slice(b"\",\"lang\":\"");
                    tmp.extend_from_slice(
                        rng.pick(&["en", "fr", "de", "ja", "es", "pt-BR"])
                            .as_bytes(),
                    );
                    tmp.extend_from_slice(b"\"}");
                }
                "logout" => {
                    tmp.extend_from_slice(b"{\"session_s\":");
                    push_u64(tmp, rng.between(5, 20_000));
                    tmp.extend_from_slice(b",\"reason\":\"");
                    tmp.extend_from_slice(
                        rng.pick(&["quit", "timeout", "kicked", "crash"]).as_bytes(),
                    );
                    tmp.extend_from_slice(b"\"}");
                }
                "trade" => {
                    cents = rng.between(1, 5_000_000) as i64;
                    if rng.percent(20) {
                        cents = -cents;
                    }
                    let other = rng.between(1, self.players);
                    let mut name = Vec::with_capacity(32);
                    self.player_name(other, &mut name);
                    tmp.extend_from_slice(b"{\"item\":");
                    push_u64(tmp, rng.between(1, 5000));
                    tmp.extend_from_slice(b",\"qty\":");
                    push_u64(tmp, rng.between(1, 50));
                    tmp.extend_from_slice(b",\"with\":\"");
                    tmp.extend_from_slice(&name);
                    tmp.extend_from_slice(b"\",\"price\":");
                    push_cents(tmp, cents);
                    tmp.extend_from_slice(b",\"msg\":\"");
                    tmp.extend_from_slice(rng.pick(MESSAGES).as_bytes());
                    tmp.extend_from_slice(b"\"}");
                }
                "craft" => {
                    tmp.extend_from_slice(b"{\"recipe\":");
                    push_u64(tmp, rng.between(1, 800));
                    tmp.extend_from_slice(if rng.percent(85) {
                        b",\"ok\":true,\"uses\":["
                    } else {
                        b",\"ok\":false,\"uses\":["
                    });
                    for i in 0..rng.between(1, 4) {
                        if i > 0 {
                            tmp.push(b',');
                        }
                        push_u64(tmp, rng.between(1, 5000));
                    }
                    tmp.extend_from_slice(b"]}");
                }
                "quest" => {
                    cents = rng.between(0, 100_000) as i64;
                    tmp.extend_from_slice(b"{\"quest\":\"");
                    tmp.extend_from_slice(rng.pick(QUESTS).as_bytes());
                    tmp.extend_from_slice(b"\",\"stage\":");
                    push_u64(tmp, rng.between(1, 12));
                    tmp.extend_from_slice(b",\"reward\":");
                    push_cents(tmp, cents);
                    tmp.push(b'}');
                }
                _ => {
                    tmp.extend_from_slice(b"{\"by\":\"");
                    tmp.extend_from_slice(
                        rng.pick(&["Ancient 🐉", "a trap", "Gravity", "O'Grim the Troll"])
                            .as_bytes(),
                    );
                    tmp.extend_from_slice(b"\",\"x\":");
                    push_i64(tmp, rng.below(20_000) as i64 - 10_000);
                    tmp.extend_from_slice(b",\"y\":");
                    push_i64(tmp, rng.below(20_000) as i64 - 10_000);
                    tmp.extend_from_slice(b",\"last_words\":\"");
                    tmp.extend_from_slice(rng.pick(MESSAGES).as_bytes());
                    tmp.extend_from_slice(b"\"}");
                }
            }
            push_quoted(row, tmp);
        }
        row.push(b',');
        push_cents(row, cents);
        row.push(b',');
        let step = SPAN * id / rows.max(1);
        let at = self
            .time
            .plus_seconds(-((SPAN - step) as i64) - 1 - rng.below(90) as i64);
        push_datetime(row, at);
        row.push(b')');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(style: Style, tables: TableSet, rows: u64) -> GenOptions {
        GenOptions {
            style,
            tables,
            rows,
            ..GenOptions::default()
        }
    }

    fn dump_bytes(opts: &GenOptions, host: usize, dump: usize) -> (Vec<u8>, DumpStats) {
        let mut buf = Vec::new();
        let stats = write_dump(opts, host, dump, &mut buf).expect("write to a Vec");
        (buf, stats)
    }

    /// Undoes [`escape_into`].
    fn unescape(s: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < s.len() {
            if s[i] == b'\\' && i + 1 < s.len() {
                out.push(match s[i + 1] {
                    b'0' => 0,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b'Z' => 0x1A,
                    b't' => b'\t',
                    other => other,
                });
                i += 2;
            } else {
                out.push(s[i]);
                i += 1;
            }
        }
        out
    }

    /// Splits the INSERT statements of a dump into `(table, tuples)`; each
    /// tuple is a list of raw value texts (strings keep their quotes).
    fn parse_inserts(sql: &[u8]) -> Vec<(String, Vec<Vec<Vec<u8>>>)> {
        let mut result = Vec::new();
        let mut pos = 0;
        let marker = b"INSERT INTO `";
        while let Some(off) = find(&sql[pos..], marker) {
            let start = pos + off + marker.len();
            let end_name = start + find(&sql[start..], b"`").expect("closing backtick");
            let table = String::from_utf8(sql[start..end_name].to_vec()).expect("utf8 name");
            let mut i = end_name + 1 + find(&sql[end_name..], b"VALUES").expect("VALUES") + 5;
            let mut tuples = Vec::new();
            let mut values: Vec<Vec<u8>> = Vec::new();
            let mut cur = Vec::new();
            let mut in_str = false;
            let mut depth = 0;
            loop {
                let b = sql[i];
                if in_str {
                    cur.push(b);
                    if b == b'\\' {
                        cur.push(sql[i + 1]);
                        i += 1;
                    } else if b == b'\'' {
                        in_str = false;
                    }
                } else {
                    match b {
                        b'\'' => {
                            in_str = true;
                            cur.push(b);
                        }
                        b'(' if depth == 0 => depth = 1,
                        b')' if depth == 1 => {
                            depth = 0;
                            values.push(std::mem::take(&mut cur));
                            tuples.push(std::mem::take(&mut values));
                        }
                        b',' if depth == 1 => values.push(std::mem::take(&mut cur)),
                        b';' if depth == 0 => break,
                        _ if depth == 1 => cur.push(b),
                        _ => {}
                    }
                }
                i += 1;
            }
            result.push((table, tuples));
            pos = i;
        }
        result
    }

    fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len()).position(|w| w == needle)
    }

    fn tuples_per_table(sql: &[u8]) -> Vec<(String, u64)> {
        let mut counts: Vec<(String, u64)> = Vec::new();
        for (table, tuples) in parse_inserts(sql) {
            match counts.iter_mut().find(|(t, _)| *t == table) {
                Some((_, n)) => *n += tuples.len() as u64,
                None => counts.push((table, tuples.len() as u64)),
            }
        }
        counts
    }

    #[test]
    fn same_seed_same_bytes() {
        for style in [Style::Mysql, Style::Mariadb] {
            let opts = small(style, TableSet::Full, 500);
            assert_eq!(dump_bytes(&opts, 2, 1), dump_bytes(&opts, 2, 1));
        }
        let a = small(Style::Mysql, TableSet::Full, 500);
        let b = GenOptions {
            seed: 43,
            ..a.clone()
        };
        assert_ne!(dump_bytes(&a, 1, 1).0, dump_bytes(&b, 1, 1).0);
    }

    #[test]
    fn hosts_and_dumps_differ() {
        let opts = small(Style::Mysql, TableSet::Player, 8);
        let mut seen = Vec::new();
        for host in 1..=3 {
            for dump in 1..=2 {
                let (sql, _) = dump_bytes(&opts, host, dump);
                let tuples = parse_inserts(&sql).remove(0).1;
                assert!(
                    !seen.contains(&tuples),
                    "host {host} dump {dump} repeats another world"
                );
                seen.push(tuples);
            }
        }
    }

    #[test]
    fn player_names_stay_with_their_world() {
        let opts = small(Style::Mysql, TableSet::Player, 40);
        let names = |host, dump| -> Vec<Vec<u8>> {
            let (sql, _) = dump_bytes(&opts, host, dump);
            parse_inserts(&sql)
                .remove(0)
                .1
                .into_iter()
                .map(|t| t[1].clone())
                .collect()
        };
        let (a, b, c) = (names(1, 1), names(1, 2), names(2, 1));
        let common = a.len().min(b.len()).min(c.len());
        assert!(common >= 30);
        assert_eq!(a[..common], b[..common]);
        assert_ne!(c[..common], a[..common]);
    }

    #[test]
    fn small_player_dumps_have_five_to_eight_rows() {
        let opts = small(Style::Mysql, TableSet::Player, 8);
        for host in 1..=3 {
            for dump in 1..=2 {
                let (sql, stats) = dump_bytes(&opts, host, dump);
                let n = stats.rows_of("player");
                assert!((5..=8).contains(&n), "{n} rows");
                assert_eq!(tuples_per_table(&sql), vec![("player".to_string(), n)]);
                let names: Vec<Vec<u8>> = parse_inserts(&sql)
                    .remove(0)
                    .1
                    .into_iter()
                    .map(|t| t[1].clone())
                    .collect();
                assert!(
                    names.iter().any(|n| !n.is_ascii()),
                    "host {host} has only ASCII names"
                );
            }
        }
    }

    #[test]
    fn stats_match_tuples_written() {
        for style in [Style::Mysql, Style::Mariadb] {
            for hex_blob in [false, true] {
                let opts = GenOptions {
                    hex_blob,
                    insert_bytes: 10_000,
                    ..small(style, TableSet::Full, 3000)
                };
                let (sql, stats) = dump_bytes(&opts, 3, 2);
                assert_eq!(stats.sql_bytes, sql.len() as u64);
                assert_eq!(tuples_per_table(&sql), stats.rows);
                let expected: Vec<(String, u64)> = table_rows(&opts, 3, 2)
                    .into_iter()
                    .map(|(t, n)| (t.to_string(), n))
                    .collect();
                assert_eq!(stats.rows, expected);
                assert!(
                    stats.rows_of("inventory") + stats.rows_of("event_log")
                        > stats.total_rows() * 3 / 4
                );
                for (table, tuples) in parse_inserts(&sql) {
                    let width = match table.as_str() {
                        "player" => 4,
                        "guild" => 3,
                        _ => 6,
                    };
                    assert!(tuples.iter().all(|t| t.len() == width), "{table}");
                    let ids: Vec<u64> = tuples
                        .iter()
                        .map(|t| std::str::from_utf8(&t[0]).unwrap().parse().unwrap())
                        .collect();
                    assert!(ids.windows(2).all(|w| w[1] == w[0] + 1));
                }
            }
        }
    }

    #[test]
    fn inserts_split_at_the_byte_budget() {
        for style in [Style::Mysql, Style::Mariadb] {
            let limit = 2000;
            let opts = GenOptions {
                insert_bytes: limit,
                ..small(style, TableSet::Full, 2000)
            };
            let (sql, stats) = dump_bytes(&opts, 1, 1);
            let mut statements: Vec<&[u8]> = Vec::new();
            let mut rest = &sql[..];
            while let Some(end) = find(rest, b";\n") {
                if rest.starts_with(b"INSERT INTO") {
                    statements.push(&rest[..end + 2]);
                }
                rest = &rest[end + 2..];
            }
            assert!(statements.len() > 20, "{} statements", statements.len());
            for s in &statements {
                let rows = parse_inserts(s)[0].1.len();
                assert!(
                    s.len() < limit || rows == 1,
                    "{} bytes, {rows} rows",
                    s.len()
                );
            }
            let short = statements.iter().filter(|s| s.len() + 400 < limit).count();
            assert!(short <= 4, "{short} statements ended early");
            assert_eq!(tuples_per_table(&sql), stats.rows);

            let big = GenOptions {
                insert_bytes: 1_000_000,
                ..opts.clone()
            };
            let (sql, _) = dump_bytes(&big, 1, 1);
            let text = String::from_utf8_lossy(&sql);
            assert_eq!(text.matches("INSERT INTO").count(), 4);

            let one = GenOptions {
                insert_bytes: 1,
                ..opts
            };
            let (sql, stats) = dump_bytes(&one, 1, 1);
            let text = String::from_utf8_lossy(&sql);
            assert_eq!(
                text.matches("INSERT INTO").count() as u64,
                stats.total_rows()
            );
        }
    }

    #[test]
    fn escapes_every_special_byte() {
        let mut out = Vec::new();
        escape_into(&mut out, b"\0\n\r\\'\"\x1a");
        assert_eq!(out, b"\\0\\n\\r\\\\\\'\\\"\\Z".to_vec());

        let all: Vec<u8> = (0..=255u8).collect();
        let mut out = Vec::new();
        escape_into(&mut out, &all);
        assert_eq!(out.len(), all.len() + 7);
        assert_eq!(unescape(&out), all);
        for b in [0u8, b'\n', b'\r', 0x1A] {
            assert!(!out.contains(&b), "raw byte {b:#x} left in output");
        }

        let mut out = Vec::new();
        escape_into(&mut out, "日本 é 🐉 tab\t".as_bytes());
        assert_eq!(out, "日本 é 🐉 tab\t".as_bytes());
    }

    #[test]
    fn values_are_written_like_the_real_tools() {
        let mut b = Vec::new();
        push_binary(&mut b, b"\x00\x1a'\\\xff", Style::Mysql, false);
        assert_eq!(b, b"_binary '\\0\\Z\\'\\\\\xff'".to_vec());
        b.clear();
        push_binary(&mut b, b"\x00\x1a'\\\xff", Style::Mariadb, false);
        assert_eq!(b, b"'\\0\\Z\\'\\\\\xff'".to_vec());
        b.clear();
        push_binary(&mut b, b"\x00\x1a'\\\xff", Style::Mysql, true);
        assert_eq!(b, b"0x001A275CFF".to_vec());
        b.clear();
        push_cents(&mut b, -505);
        b.push(b' ');
        push_cents(&mut b, 12345);
        b.push(b' ');
        push_cents(&mut b, 0);
        assert_eq!(b, b"-5.05 123.45 0.00".to_vec());
        b.clear();
        push_datetime(&mut b, "2024-06-17T21:13:00".parse().unwrap());
        assert_eq!(b, b"'2024-06-17 21:13:00'".to_vec());
    }

    #[test]
    fn generated_strings_need_escaping() {
        let opts = small(Style::Mysql, TableSet::Full, 4000);
        let (sql, _) = dump_bytes(&opts, 1, 1);
        let inserts = parse_inserts(&sql);
        let strings: Vec<Vec<u8>> = inserts
            .iter()
            .flat_map(|(_, t)| t.iter().flatten())
            .filter(|v| v.first() == Some(&b'\''))
            .map(|v| unescape(&v[1..v.len() - 1]))
            .collect();
        for needle in [
            &b"\0"[..],
            b"\n",
            b"\r",
            b"\\",
            b"'",
            b"\"",
            b"\x1a",
            "🐉".as_bytes(),
            "日本".as_bytes(),
        ] {
            assert!(
                strings.iter().any(|s| find(s, needle).is_some()),
                "no value holds {needle:?}"
            );
        }
        assert!(inserts
            .iter()
            .flat_map(|(_, t)| t.iter().flatten())
            .any(|v| v.as_slice() == b"NULL"));
        assert!(inserts
            .iter()
            .flat_map(|(_, t)| t.iter().flatten())
            .any(|v| v.starts_with(b"_binary '")));
    }

    #[test]
    fn header_and_footer() {
        let opts = small(Style::Mysql, TableSet::Player, 8);
        let (sql, _) = dump_bytes(&opts, 1, 1);
        let text = String::from_utf8(sql).unwrap();
        assert!(text.starts_with(
            "-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n--\n-- Host: localhost    Database: game\n"
        ));
        assert!(text.contains("\n-- Server version\t8.0.36\n"));
        assert!(text.contains("\nCREATE DATABASE /*!32312 IF NOT EXISTS*/ `game` /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci */"));
        assert!(text.contains("\nUSE `game`;\n"));
        assert!(text.contains("\n  `score` int NOT NULL DEFAULT '0',\n"));
        assert!(text.contains("\nINSERT INTO `player` VALUES (1,'"));
        assert!(text.ends_with("/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;\n\n-- Dump completed on 2024-06-17 21:13:15\n"));

        let no_db = GenOptions {
            create_db: false,
            ..opts.clone()
        };
        let text = String::from_utf8(dump_bytes(&no_db, 1, 1).0).unwrap();
        assert!(!text.contains("CREATE DATABASE") && !text.contains("USE `game`"));

        let maria = small(Style::Mariadb, TableSet::Player, 8);
        let text = String::from_utf8(dump_bytes(&maria, 1, 2).0).unwrap();
        assert!(text.starts_with("/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump 10.19-11.4.2-MariaDB, for debian-linux-gnu (x86_64)\n"));
        assert!(text.contains(
            "/*M!100616 SET @OLD_NOTE_VERBOSITY=@@NOTE_VERBOSITY, NOTE_VERBOSITY=0 */;\n"
        ));
        assert!(text.contains("\nINSERT INTO `player` VALUES\n(1,'"));
        assert!(text.ends_with("/*M!100616 SET NOTE_VERBOSITY=@OLD_NOTE_VERBOSITY */;\n\n-- Dump completed on 2024-06-18 21:13:15\n"));
    }

    #[test]
    fn times_and_file_names() {
        let opts = GenOptions::default();
        assert_eq!(
            file_name(&opts, 1, 1),
            "host1_fulldump_20240617_211313.sql.gz"
        );
        assert_eq!(
            file_name(&opts, 1, 2),
            "host1_fulldump_20240618_211313.sql.gz"
        );
        let t2 = dump_time(&opts, 2, 1);
        let t3 = dump_time(&opts, 3, 1);
        assert!(dump_time(&opts, 1, 1) < t2 && t2 < t3);
        assert_eq!(dump_time(&opts, 3, 2).seconds() - t3.seconds(), 86_400);
        let plain = GenOptions {
            gzip: false,
            host_prefix: "eu-".into(),
            ..opts
        };
        assert_eq!(file_name(&plain, 1, 1), "eu-1_fulldump_20240617_211313.sql");

        let t: DumpTime = "2024-02-29T23:59:59".parse().unwrap();
        assert_eq!(t.plus_seconds(1).to_string(), "2024-03-01 00:00:00");
        assert_eq!(
            "2023-12-31 23:59:59"
                .parse::<DumpTime>()
                .unwrap()
                .plus_seconds(1)
                .compact(),
            "20240101_000000"
        );
        assert_eq!("1970-01-01".parse::<DumpTime>().unwrap().seconds(), 0);
        assert!("2023-02-29T00:00:00".parse::<DumpTime>().is_err());
        assert!("2024-06-17T25:00:00".parse::<DumpTime>().is_err());
        assert!("yesterday".parse::<DumpTime>().is_err());
        assert_eq!(
            completed_stamp("2025-06-06T02:00:01".parse().unwrap()),
            "2025-06-06  2:00:01"
        );
    }

    #[test]
    fn target_size_is_roughly_met() {
        for tables in [TableSet::Player, TableSet::Full] {
            let target = 2_000_000;
            let opts = GenOptions {
                target_bytes: Some(target),
                tables,
                ..GenOptions::default()
            };
            let mut sink = CountingSink(0);
            let stats = write_dump(&opts, 2, 1, &mut sink).unwrap();
            assert_eq!(stats.sql_bytes, sink.0);
            let ratio = stats.sql_bytes as f64 / target as f64;
            assert!(
                (0.9..1.05).contains(&ratio),
                "{tables}: {} bytes",
                stats.sql_bytes
            );
        }
    }

    #[test]
    fn generate_writes_gzip_files() {
        use std::io::Read;
        let dir = std::env::temp_dir().join(format!("worlds-gen-test-{}", std::process::id()));
        let opts = GenOptions {
            tables: TableSet::Player,
            rows: 8,
            hosts: 2,
            ..GenOptions::default()
        };
        let files = generate(&opts, &dir).unwrap();
        assert_eq!(files.len(), 4);
        for f in &files {
            assert_eq!(
                f.path.file_name().unwrap().to_string_lossy(),
                file_name(&opts, f.host, f.dump)
            );
            let mut sql = Vec::new();
            flate2::read::GzDecoder::new(File::open(&f.path).unwrap())
                .read_to_end(&mut sql)
                .unwrap();
            assert_eq!(sql, dump_bytes(&opts, f.host, f.dump).0);
            assert_eq!(f.stats.sql_bytes, sql.len() as u64);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn host_zero_is_rejected() {
        let opts = GenOptions::default();
        assert!(write_dump(&opts, 0, 1, Vec::new()).is_err());
        assert!(write_dump(&opts, 1, 0, Vec::new()).is_err());
    }
}
