//! An object as a blocking byte stream for the reader thread, fed by a task on the runtime.
//!
//! A dropped connection, a cut response or a 5xx answer resumes with a ranged GET from the
//! last byte received (`If-Match` the listed ETag), after an exponential backoff with jitter,
//! at most [`ATTEMPTS`] times in a row (every byte received starts the count again); each
//! attempt is logged. An object whose ETag or size is not the listed one any more fails the
//! read with that reason; so do a missing object and refused credentials.

use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures::{FutureExt, StreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{GetOptions, GetRange};
use tokio::sync::mpsc;
use tracing::{debug, warn};

use super::{explain, Failure, ObjectRef};
use crate::output::human_bytes;

/// Failed attempts in a row before the read gives up.
pub const ATTEMPTS: u32 = 8;
/// Batches in flight between the network task and the reader thread.
const QUEUE: usize = 4;
/// Bytes handed over at once, at most (from chunks that have already arrived).
const BATCH: usize = 256 * 1024;

/// The wait before attempt `n` (1-based): 250 ms doubled each time, at most 8 s, plus up to
/// half of it again at random, so that many worlds do not retry in step.
pub fn backoff(n: u32) -> Duration {
    let base = Duration::from_millis(250)
        .saturating_mul(1u32 << n.saturating_sub(1).min(6))
        .min(Duration::from_secs(8));
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let jitter_ms = random % (base.as_millis() as u64 / 2 + 1);
    base + Duration::from_millis(jitter_ms)
}

/// Reads an object from its start to its end, resuming where a connection dropped.
pub struct ObjectReader {
    rx: mpsc::Receiver<Result<Bytes, String>>,
    current: Bytes,
    done: bool,
    task: tokio::task::AbortHandle,
}

impl ObjectReader {
    /// Start reading `object` (call from a thread that is not the runtime's).
    pub fn open(object: &ObjectRef) -> ObjectReader {
        ObjectReader::open_at(object, 0)
    }

    /// Start reading `object` at byte `start`.
    pub fn open_at(object: &ObjectRef, start: u64) -> ObjectReader {
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = object
            .store
            .runtime()
            .spawn(fetch(object.clone(), start, tx))
            .abort_handle();
        ObjectReader {
            rx,
            current: Bytes::new(),
            done: false,
            task,
        }
    }
}

impl Drop for ObjectReader {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.current.is_empty() {
            if self.done {
                return Ok(0);
            }
            match self.rx.blocking_recv() {
                Some(Ok(bytes)) => self.current = bytes,
                Some(Err(message)) => {
                    self.done = true;
                    return Err(io::Error::other(message));
                }
                None => self.done = true,
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

/// An object as `Read + Seek`: each seek starts a new ranged GET at the next read (for
/// reading a few places of an object, such as its start and its last bytes).
pub struct ObjectSeeker {
    object: ObjectRef,
    pos: u64,
    reader: Option<ObjectReader>,
}

impl ObjectSeeker {
    pub fn new(object: ObjectRef) -> ObjectSeeker {
        ObjectSeeker {
            object,
            pos: 0,
            reader: None,
        }
    }
}

impl Read for ObjectSeeker {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.object.size {
            return Ok(0);
        }
        let object = &self.object;
        let pos = self.pos;
        let reader = self
            .reader
            .get_or_insert_with(|| ObjectReader::open_at(object, pos));
        let n = reader.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl io::Seek for ObjectSeeker {
    fn seek(&mut self, to: io::SeekFrom) -> io::Result<u64> {
        let target = match to {
            io::SeekFrom::Start(n) => Some(n),
            io::SeekFrom::End(d) => self.object.size.checked_add_signed(d),
            io::SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        if target != self.pos {
            self.reader = None;
            self.pos = target;
        }
        Ok(self.pos)
    }
}

/// Why one GET stopped before the object's end.
enum Stop {
    /// Worth another ranged GET.
    Retry(String),
    /// Not: the message says why.
    Fatal(String),
    /// The reader went away.
    Gone,
}

async fn fetch(object: ObjectRef, start: u64, tx: mpsc::Sender<Result<Bytes, String>>) {
    let mut pos = start;
    let mut failures = 0u32;
    // The listed ETag; a store that lists none gives it with the first GET.
    let mut e_tag = object.e_tag.clone();
    loop {
        if pos >= object.size {
            return;
        }
        let stop = get_from(&object, &mut e_tag, &mut pos, &mut failures, &tx).await;
        let reason = match stop {
            None => return,
            Some(Stop::Gone) => return,
            Some(Stop::Fatal(message)) => {
                let _ = tx.send(Err(message)).await;
                return;
            }
            Some(Stop::Retry(reason)) => reason,
        };
        failures += 1;
        if failures > ATTEMPTS {
            let _ = tx
                .send(Err(format!(
                    "cannot read {}: gave up after {ATTEMPTS} attempts in a row at byte {pos} \
                     of {}; the last one: {reason}",
                    object.url, object.size
                )))
                .await;
            return;
        }
        let wait = backoff(failures);
        warn!(
            "{}: {reason} at byte {pos} of {} ({}); resuming from there with a ranged GET in \
             {} ms (attempt {failures} of {ATTEMPTS})",
            object.url,
            object.size,
            human_bytes(object.size),
            wait.as_millis()
        );
        tokio::time::sleep(wait).await;
    }
}

/// One GET from `pos` to the end; `None` when the object was read to its end.
async fn get_from(
    object: &ObjectRef,
    e_tag: &mut Option<String>,
    pos: &mut u64,
    failures: &mut u32,
    tx: &mpsc::Sender<Result<Bytes, String>>,
) -> Option<Stop> {
    let store = &object.store;
    let options = GetOptions {
        range: Some(GetRange::Bounded(*pos..object.size)),
        if_match: e_tag.clone(),
        ..GetOptions::default()
    };
    debug!(
        "{}: GET bytes {}..{} of {}",
        object.url, *pos, object.size, object.size
    );
    let location = ObjectPath::from(object.key.as_str());
    let fatal = |failure: Failure, detail: String| {
        Stop::Fatal(explain(
            &failure,
            store.bucket(),
            store.endpoint(),
            store.credentials(),
            &object.url,
            "read",
            &detail,
        ))
    };
    let result = match store.reading().get_opts(&location, options).await {
        Ok(r) => r,
        Err(e) => {
            return Some(match Failure::of(&e) {
                Failure::Unreachable | Failure::Other => {
                    Stop::Retry(format!("the GET failed: {e}"))
                }
                f => fatal(f, e.to_string()),
            })
        }
    };
    let changed = match (e_tag.as_ref(), &result.meta.e_tag) {
        (Some(want), Some(got)) => want != got,
        _ => false,
    } || result.meta.size != object.size;
    if changed {
        return Some(Stop::Fatal(format!(
            "{} changed while it was being read: listed with ETag {} and {} bytes, now ETag \
             {} and {} bytes; restore again once the upload to bucket {} is complete",
            object.url,
            e_tag.as_deref().unwrap_or("(none)"),
            object.size,
            result.meta.e_tag.as_deref().unwrap_or("(none)"),
            result.meta.size,
            store.bucket()
        )));
    }
    if e_tag.is_none() {
        e_tag.clone_from(&result.meta.e_tag);
    }
    let mut stream = result.into_stream();
    // Small network chunks are handed over together (what has arrived, up to BATCH), so the
    // reader thread wakes once per batch rather than once per chunk.
    let mut batch = BytesMut::new();
    let mut ended = false;
    let mut dropped = None;
    while !ended && dropped.is_none() {
        let mut next = Some(stream.next().await);
        while let Some(item) = next.take() {
            match item {
                None => ended = true,
                Some(Err(e)) => dropped = Some(e),
                Some(Ok(bytes)) => {
                    batch.extend_from_slice(&bytes);
                    if batch.len() < BATCH {
                        next = stream.next().now_or_never();
                    }
                }
            }
        }
        if !batch.is_empty() {
            let bytes = batch.split().freeze();
            *pos += bytes.len() as u64;
            *failures = 0;
            if tx.send(Ok(bytes)).await.is_err() {
                return Some(Stop::Gone);
            }
        }
    }
    if let Some(e) = dropped {
        return Some(Stop::Retry(format!("the connection dropped: {e}")));
    }
    if *pos < object.size {
        return Some(Stop::Retry("the response ended early".to_string()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_bounded_and_jittered() {
        let first = backoff(1);
        assert!(first >= Duration::from_millis(250) && first <= Duration::from_millis(375));
        let third = backoff(3);
        assert!(third >= Duration::from_secs(1) && third <= Duration::from_millis(1500));
        let late = backoff(30);
        assert!(late >= Duration::from_secs(8) && late <= Duration::from_secs(12));
        let spread: std::collections::HashSet<_> = (0..20).map(|_| backoff(4)).collect();
        assert!(spread.len() > 1, "no jitter");
    }
}
