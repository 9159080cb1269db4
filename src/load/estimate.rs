//! How many bytes of SQL a dump holds, estimated cheaply (without reading the whole file):
//!
//! - plain SQL: the file's size;
//! - every file: the first [`SAMPLE`] bytes of SQL are decompressed, which gives the
//!   compression ratio of the file's start (and the exact size of a file that short);
//! - gzip: the trailer's ISIZE field, the SQL size modulo 4 GiB of the last gzip member: exact
//!   for single-member files under 4 GiB of SQL; for larger ones the multiple of 4 GiB closest
//!   to the sampled ratio is added;
//! - zstd: the frame content size of the first frame's header, when the compressor wrote it.
//!
//! A size field that disagrees with the sampled ratio by more than [`TRUST`] times (a
//! multi-member gzip, a zstd file of several frames) is not used: the estimate is then the
//! file's size times the sampled ratio.

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use flate2::read::MultiGzDecoder;

/// SQL bytes decompressed to measure a file's compression ratio.
pub const SAMPLE: u64 = 4 << 20;
/// How far (as a factor) a size field may be from the sampled ratio and still be believed.
const TRUST: f64 = 2.0;
/// Read buffer of the sampling decoder: what it reads ahead skews the ratio at most this much.
const BUFFER: usize = 16 << 10;

/// Where an estimate comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Source {
    /// A plain SQL file's size, or a compressed file read to its end.
    Exact,
    /// The gzip trailer's ISIZE field.
    GzipTrailer,
    /// The zstd frame header's content size.
    ZstdHeader,
    /// The file's size times the compression ratio of its first bytes.
    SampledRatio(f64),
}

impl Source {
    pub fn describe(self) -> String {
        match self {
            Source::Exact => "exact".to_string(),
            Source::GzipTrailer => "from the gzip size field".to_string(),
            Source::ZstdHeader => "from the zstd frame header".to_string(),
            Source::SampledRatio(r) => format!("file size x {r:.1}, the ratio of its start"),
        }
    }
}

/// The SQL a dump holds, as estimated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SqlSize {
    pub bytes: u64,
    pub source: Source,
}

/// Estimate the SQL bytes of the dump at `location` (a file, or an object read with
/// ranged GETs: its start and its last bytes).
pub fn sql_size_at(location: &crate::location::Location) -> io::Result<SqlSize> {
    match location {
        crate::location::Location::File(path) => sql_size(path),
        crate::location::Location::Object(object) => sql_size_of(
            crate::store::read::ObjectSeeker::new(object.clone()),
            object.size,
        ),
    }
}

/// Estimate the SQL bytes of the dump at `path`.
pub fn sql_size(path: &Path) -> io::Result<SqlSize> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    sql_size_of(file, size)
}

/// Estimate the SQL bytes of a dump of `size` bytes read through `file`.
pub fn sql_size_of<R: Read + Seek + 'static>(mut file: R, size: u64) -> io::Result<SqlSize> {
    let mut head = [0u8; 18];
    let got = read_up_to(&mut file, &mut head)?;
    let head = &head[..got];
    let kind = if head.starts_with(&[0x1f, 0x8b]) {
        Kind::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Kind::Zstd
    } else {
        return Ok(SqlSize {
            bytes: size,
            source: Source::Exact,
        });
    };
    // The size field first (it needs the file's end), then the sample from the start.
    let field = match kind {
        Kind::Gzip if size >= 18 => {
            file.seek(SeekFrom::End(-4))?;
            let mut isize = [0u8; 4];
            file.read_exact(&mut isize)?;
            Some(u64::from(u32::from_le_bytes(isize)))
        }
        Kind::Zstd => zstd::zstd_safe::get_frame_content_size(head).ok().flatten(),
        Kind::Gzip => None,
    };
    file.seek(SeekFrom::Start(0))?;
    let sample = sample(file, kind)?;
    Ok(decide(size, kind, field, sample))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gzip,
    Zstd,
}

/// What decompressing the start of a file showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sample {
    /// SQL bytes decompressed.
    sql: u64,
    /// File bytes read to get them.
    file: u64,
    /// The whole file was read.
    whole: bool,
}

/// Decompress up to [`SAMPLE`] bytes of SQL. A file that cannot be decompressed gives what
/// was read before the error (its restore will say what is wrong with it).
fn sample<R: Read + 'static>(file: R, kind: Kind) -> io::Result<Sample> {
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counting = Counting {
        inner: file,
        count: counter.clone(),
    };
    let buffered = BufReader::with_capacity(BUFFER, counting);
    let mut reader: Box<dyn Read> = match kind {
        Kind::Gzip => Box::new(MultiGzDecoder::new(buffered)),
        Kind::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
    };
    let mut buf = vec![0u8; 64 << 10];
    let mut sql = 0u64;
    let mut whole = false;
    while sql < SAMPLE {
        match reader.read(&mut buf) {
            Ok(0) => {
                whole = true;
                break;
            }
            Ok(n) => sql += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    Ok(Sample {
        sql,
        file: counter.load(std::sync::atomic::Ordering::Relaxed),
        whole,
    })
}

/// The estimate from the file size, its size field (if any) and the sample.
fn decide(size: u64, kind: Kind, field: Option<u64>, sample: Sample) -> SqlSize {
    if sample.whole {
        return SqlSize {
            bytes: sample.sql,
            source: Source::Exact,
        };
    }
    // At least 1: a compressed dump is not smaller than its file.
    let ratio = if sample.file > 0 && sample.sql > 0 {
        (sample.sql as f64 / sample.file as f64).max(1.0)
    } else {
        1.0
    };
    let sampled = size as f64 * ratio;
    let believable = |v: f64| v >= sampled / TRUST && v <= sampled * TRUST;
    match (kind, field) {
        (Kind::Gzip, Some(isize)) => {
            // ISIZE is the size modulo 2^32: pick the wrap count nearest the sampled size.
            let wraps = ((sampled - isize as f64) / 4_294_967_296.0)
                .round()
                .max(0.0);
            let bytes = isize as f64 + wraps * 4_294_967_296.0;
            if believable(bytes) {
                return SqlSize {
                    bytes: bytes as u64,
                    source: Source::GzipTrailer,
                };
            }
        }
        (Kind::Zstd, Some(content)) if believable(content as f64) => {
            return SqlSize {
                bytes: content,
                source: Source::ZstdHeader,
            };
        }
        _ => {}
    }
    SqlSize {
        bytes: sampled as u64,
        source: Source::SampledRatio((ratio * 10.0).round() / 10.0),
    }
}

fn read_up_to<R: Read>(file: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

struct Counting<R> {
    inner: R,
    count: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn temp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("worlds-estimate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// SQL-like text that compresses about as a dump does, `n` bytes of it.
    fn sql(n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 100);
        let mut i: u64 = 1;
        while out.len() < n {
            i = i
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            write!(
                out,
                "({},'name{}',{},'2024-06-{:02} 10:{:02}:00'),",
                i % 100_000,
                (i >> 20) % 5000,
                (i >> 33) % 10_000,
                1 + (i >> 40) % 28,
                (i >> 50) % 60
            )
            .unwrap();
        }
        out.truncate(n);
        out
    }

    #[test]
    fn plain_sql_is_its_size_and_short_files_are_read_whole() {
        let p = temp("plain.sql", b"SELECT 1;\n");
        assert_eq!(
            sql_size(&p).unwrap(),
            SqlSize {
                bytes: 10,
                source: Source::Exact
            }
        );
        let data = sql(100_000);
        let p = temp("short.sql.gz", &gz(&data));
        assert_eq!(
            sql_size(&p).unwrap(),
            SqlSize {
                bytes: 100_000,
                source: Source::Exact
            }
        );
    }

    #[test]
    fn a_gzip_file_is_measured_by_its_isize_field() {
        let data = sql(10 << 20);
        let p = temp("big.sql.gz", &gz(&data));
        let got = sql_size(&p).unwrap();
        assert_eq!(got.bytes, 10 << 20);
        assert_eq!(got.source, Source::GzipTrailer);
    }

    #[test]
    fn isize_wraps_at_4_gib_and_the_sampled_ratio_finds_the_wrap() {
        let sample = Sample {
            sql: 4 << 20,
            file: 1 << 20,
            whole: false,
        };
        // A 2 GB gzip of about 8 GB of SQL: ISIZE is the size modulo 4 GiB.
        let real: u64 = 8_100_000_000;
        let got = decide(2_000_000_000, Kind::Gzip, Some(real % (1 << 32)), sample);
        assert_eq!(
            got,
            SqlSize {
                bytes: real,
                source: Source::GzipTrailer
            }
        );
        // Small files never wrap.
        let got = decide(1_000_000, Kind::Gzip, Some(4_200_000), sample);
        assert_eq!(got.bytes, 4_200_000);
    }

    #[test]
    fn a_size_field_far_from_the_sampled_ratio_is_not_believed() {
        let sample = Sample {
            sql: 4 << 20,
            file: 1 << 20,
            whole: false,
        };
        // Two gzip members: ISIZE is the last member's size only.
        let got = decide(100_000_000, Kind::Gzip, Some(3_000_000), sample);
        assert_eq!(
            got,
            SqlSize {
                bytes: 400_000_000,
                source: Source::SampledRatio(4.0)
            }
        );
        // A zstd frame header with its content size, and a file of several frames.
        let got = decide(100_000_000, Kind::Zstd, Some(390_000_000), sample);
        assert_eq!(got.source, Source::ZstdHeader);
        let got = decide(100_000_000, Kind::Zstd, Some(1_000_000), sample);
        assert_eq!(got.bytes, 400_000_000);
        let got = decide(100_000_000, Kind::Zstd, None, sample);
        assert_eq!(got.source, Source::SampledRatio(4.0));
    }

    #[test]
    fn multi_member_gzip_and_zstd_files() {
        let data = sql(12 << 20);
        let mut two = gz(&data[..6 << 20]);
        two.extend(gz(&data[6 << 20..(6 << 20) + 1000]));
        let got = sql_size(&temp("two.sql.gz", &two)).unwrap();
        assert!(matches!(got.source, Source::SampledRatio(_)), "{got:?}");
        let rel = got.bytes as f64 / (6 << 20) as f64;
        assert!((0.8..1.25).contains(&rel), "{got:?}");
        let z = zstd::bulk::compress(&data, 3).unwrap();
        let got = sql_size(&temp("one.sql.zst", &z)).unwrap();
        assert_eq!(
            got,
            SqlSize {
                bytes: 12 << 20,
                source: Source::ZstdHeader
            }
        );
    }

    #[test]
    fn a_broken_file_still_gets_an_estimate() {
        let data = sql(10 << 20);
        let mut bad = gz(&data);
        let cut = bad.len() / 100;
        bad.truncate(cut);
        let got = sql_size(&temp("cut.sql.gz", &bad)).unwrap();
        // What could be read of it, exactly.
        assert!(got.bytes > 0 && got.bytes < 10 << 20, "{got:?}");
        let got = sql_size(&temp("junk.sql.gz", &[0x1f, 0x8b, 1, 2, 3])).unwrap();
        assert!(got.bytes <= 5, "{got:?}");
    }
}
