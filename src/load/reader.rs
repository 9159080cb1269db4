//! The CPU side of a restore: decompress and split on a thread of its own, handing batches
//! of statements to the async side through a bounded channel (bounded memory).

use crate::location::Location;
use std::io::Read;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::mpsc;

use super::phase::Phase;
use super::source::{open_dump, ContentHash, DropCrBeforeLf};
use crate::sql::trailer::{DumpEnds, TrailerPolicy};
use crate::sql::{Charset, Splitter, Statement};

/// Bytes read per call from the decompressor.
const CHUNK: usize = 256 * 1024;
/// A batch is handed over once it holds this many bytes of SQL.
const BATCH_BYTES: usize = 512 * 1024;
/// Batches in flight between the reader thread and the executor.
const QUEUE: usize = 4;

/// Why reading the dump stopped.
#[derive(Debug, Clone)]
pub struct ReadError {
    pub message: String,
}

/// Where to read: the whole dump, or only the part from `start` to `end` (decompressed
/// byte offsets of statement starts), skipping what comes before without splitting it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Range {
    pub start: u64,
    pub end: Option<u64>,
    /// Line number of the byte at `start` (1 for the whole dump).
    pub line: u64,
    /// The client character set in force at `start`.
    pub charset: Charset,
}

/// How to read.
#[derive(Debug, Clone, Copy)]
pub struct ReadOptions {
    /// No statement may be longer (the server's max_allowed_packet).
    pub max_statement: usize,
    /// What a whole dump must end with.
    pub trailer: TrailerPolicy,
}

/// Shared counters a progress display reads.
#[derive(Debug, Default)]
pub struct Counters {
    /// Compressed bytes consumed from the file.
    pub file_bytes: Arc<AtomicU64>,
    /// Decompressed SQL bytes.
    pub sql_bytes: AtomicU64,
    /// The current [`Phase`] (as `u8`).
    phase: AtomicU8,
    /// When each phase began, in order.
    began: Mutex<Vec<(Phase, Instant)>>,
    /// SHA-256 of the file, fed by every read of the whole dump from its start.
    pub content: Arc<ContentHash>,
}

impl Counters {
    /// Fresh counters whose whole-file reads feed `content`.
    pub fn hashing(content: Arc<ContentHash>) -> Counters {
        Counters {
            content,
            ..Counters::default()
        }
    }

    /// Enter `phase` (entering the current one again changes nothing).
    pub fn set_phase(&self, phase: Phase) {
        if let Ok(mut began) = self.began.lock() {
            if began.last().map(|(p, _)| *p) != Some(phase) {
                began.push((phase, Instant::now()));
            }
        }
        self.phase.store(phase as u8, Ordering::Relaxed);
    }

    pub fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Relaxed))
    }

    /// When each phase began, in order.
    pub fn phases(&self) -> Vec<(Phase, Instant)> {
        self.began.lock().map(|b| b.clone()).unwrap_or_default()
    }
}

pub type Batch = Result<Vec<Statement>, ReadError>;

/// Start a reader thread over `path`; statements arrive on the returned channel.
pub fn spawn_reader(
    path: &Location,
    ranges: Vec<Range>,
    counters: Arc<Counters>,
    options: ReadOptions,
) -> mpsc::Receiver<Batch> {
    let (tx, rx) = mpsc::channel(QUEUE);
    let path = path.clone();
    let failed = tx.clone();
    let started = std::thread::Builder::new()
        .name("worlds-reader".to_string())
        .spawn(move || {
            if let Err(e) = read_dump(&path, &ranges, &counters, options, &tx) {
                let _ = tx.blocking_send(Err(e));
            }
        });
    if let Err(e) = started {
        // The channel is empty: the error fits.
        let _ = failed.try_send(Err(ReadError {
            message: format!("cannot start a thread to read the dump: {e}"),
        }));
    }
    rx
}

fn read_dump(
    path: &Location,
    ranges: &[Range],
    counters: &Counters,
    options: ReadOptions,
    tx: &mpsc::Sender<Batch>,
) -> Result<(), ReadError> {
    let (reader, compression) = open_dump(
        path,
        counters.file_bytes.clone(),
        ranges.is_empty().then(|| counters.content.clone()),
    )
    .map_err(|e| ReadError {
        message: format!("cannot open the dump: {e}"),
    })?;
    // The mysql client drops the CR of every CRLF line ending, inside strings too.
    let mut reader: Box<dyn Read + Send> = Box::new(DropCrBeforeLf::new(reader));
    let mut ends = ranges.is_empty().then(DumpEnds::default);
    let whole = [Range {
        line: 1,
        ..Range::default()
    }];
    let ranges = if ranges.is_empty() {
        &whole[..]
    } else {
        ranges
    };
    let mut buf = vec![0u8; CHUNK];
    let mut pos: u64 = 0; // decompressed bytes consumed
    let mut out: Vec<Statement> = Vec::new();
    let mut batch_bytes = 0usize;
    let mut eof = false;
    let mut filled = 0usize; // bytes in buf not yet consumed, starting at buf_start
    let mut buf_start = 0usize;
    for range in ranges {
        let mut splitter = Splitter::with_charset(range.charset).with_limit(options.max_statement);
        let base = range.start;
        let first_line = range.line.saturating_sub(1);
        // Skip to the start of the range without splitting.
        loop {
            if filled > 0 && pos + filled as u64 > range.start {
                let skip = (range.start.saturating_sub(pos)) as usize;
                buf_start += skip;
                filled -= skip;
                pos += skip as u64;
                break;
            }
            pos += filled as u64;
            filled = 0;
            buf_start = 0;
            if eof {
                break;
            }
            let n = read_chunk(&mut reader, &mut buf, compression.name(), pos, counters)?;
            if n == 0 {
                eof = true;
            }
            filled = n;
        }
        // Split the range.
        let mut done = false;
        while !done {
            if filled == 0 {
                if eof {
                    break;
                }
                buf_start = 0;
                let n = read_chunk(&mut reader, &mut buf, compression.name(), pos, counters)?;
                if n == 0 {
                    eof = true;
                    break;
                }
                filled = n;
            }
            let mut take = filled;
            if let Some(end) = range.end {
                let left = end.saturating_sub(pos);
                if left < take as u64 {
                    take = left as usize;
                    done = true;
                }
                if left == 0 {
                    done = true;
                }
            }
            let before = out.len();
            let chunk = &buf[buf_start..buf_start + take];
            if let Some(ends) = &mut ends {
                ends.feed(chunk);
            }
            splitter.feed(chunk, &mut out);
            splitter.check().map_err(|e| ReadError {
                message: e.to_string(),
            })?;
            buf_start += take;
            filled -= take;
            pos += take as u64;
            for s in &mut out[before..] {
                s.offset += base;
                s.line += first_line;
                batch_bytes += s.sql.len();
            }
            if batch_bytes >= BATCH_BYTES {
                send(tx, std::mem::take(&mut out))?;
                batch_bytes = 0;
            }
        }
        let before = out.len();
        splitter.finish(&mut out).map_err(|e| ReadError {
            message: e.to_string(),
        })?;
        for s in &mut out[before..] {
            s.offset += base;
            s.line += first_line;
        }
    }
    if !out.is_empty() {
        send(tx, out)?;
    }
    if let Some(ends) = ends {
        ends.check(options.trailer)
            .map_err(|message| ReadError { message })?;
    }
    Ok(())
}

fn read_chunk(
    reader: &mut Box<dyn Read + Send>,
    buf: &mut [u8],
    what: &str,
    pos: u64,
    counters: &Counters,
) -> Result<usize, ReadError> {
    loop {
        match reader.read(buf) {
            Ok(n) => {
                counters.sql_bytes.fetch_add(n as u64, Ordering::Relaxed);
                return Ok(n);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                let hint = if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    " (the file ends early: was it cut off while copying?)"
                } else {
                    ""
                };
                return Err(ReadError {
                    message: format!(
                        "cannot decompress the dump ({what}): {e}{hint}; {} compressed bytes \
                         read, {pos} bytes of SQL before the error",
                        counters.file_bytes.load(Ordering::Relaxed)
                    ),
                });
            }
        }
    }
}

fn send(tx: &mpsc::Sender<Batch>, batch: Vec<Statement>) -> Result<(), ReadError> {
    tx.blocking_send(Ok(batch)).map_err(|_| ReadError {
        message: "the restore stopped".to_string(),
    })
}
