//! Open a dump file as a stream of decompressed bytes: gzip (also multi-member), zstd, or
//! plain SQL, chosen by the file's first bytes and checked against its name.

use crate::location::Location;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The compression of a dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    Plain,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Plain => "plain SQL",
        }
    }
}

/// SHA-256 of a file's bytes, computed as they are read: the dump's content identity for
/// snapshots, at no cost of an extra read.
#[derive(Debug, Default)]
pub struct ContentHash {
    state: Mutex<(Sha256, u64)>,
}

impl ContentHash {
    /// Start again (a dump read a second time from its start).
    fn reset(&self) {
        if let Ok(mut s) = self.state.lock() {
            *s = (Sha256::new(), 0);
        }
    }

    fn update(&self, bytes: &[u8]) {
        if let Ok(mut s) = self.state.lock() {
            s.0.update(bytes);
            s.1 += bytes.len() as u64;
        }
    }

    /// The hex digest, when exactly `size` bytes were hashed (the whole file was read);
    /// `None` when the read stopped early or the file changed size meanwhile.
    pub fn digest(&self, size: u64) -> Option<String> {
        let s = self.state.lock().ok()?;
        (s.1 == size).then(|| crate::identity::hex(&s.0.clone().finalize()))
    }
}

/// Counts (and, for the whole-file read, hashes) the bytes read from the file itself, for
/// progress, error offsets and content identity.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
    hash: Option<Arc<ContentHash>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        if let Some(hash) = &self.hash {
            hash.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// Open `path`, returning the decompressed stream and its compression.
/// `read_bytes` counts compressed bytes consumed from the file; `hash`, when given, is
/// started again and fed every byte read.
pub fn open_dump(
    path: &Location,
    read_bytes: Arc<AtomicU64>,
    hash: Option<Arc<ContentHash>>,
) -> io::Result<(Box<dyn Read + Send>, Compression)> {
    let mut file: Box<dyn Read + Send> = match path {
        Location::File(p) => Box::new(File::open(p)?),
        Location::Object(o) => Box::new(crate::store::read::ObjectReader::open(o)),
    };
    let mut head = [0u8; 4];
    let mut got = 0;
    while got < head.len() {
        let n = file.read(&mut head[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    let compression = if got >= 2 && head[..2] == GZIP_MAGIC {
        Compression::Gzip
    } else if got >= 4 && head == ZSTD_MAGIC {
        Compression::Zstd
    } else {
        Compression::Plain
    };
    let name = path.file_name().to_lowercase();
    let named = if name.ends_with(".gz") {
        Some(Compression::Gzip)
    } else if name.ends_with(".zst") {
        Some(Compression::Zstd)
    } else {
        None
    };
    if let Some(named) = named {
        // A file in another known format is read as what it is; only unknown content
        // under a compressed name is refused.
        if named != compression && compression == Compression::Plain {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the file is named like {} but is not {} (it starts with bytes {})",
                    named.name(),
                    named.name(),
                    hex(&head[..got])
                ),
            ));
        }
    }
    let rewound = io::Cursor::new(head[..got].to_vec()).chain(file);
    read_bytes.store(0, Ordering::Relaxed);
    if let Some(hash) = &hash {
        hash.reset();
    }
    let counted = Counting {
        inner: rewound,
        count: read_bytes,
        hash,
    };
    let reader: Box<dyn Read + Send> = match compression {
        Compression::Gzip => Box::new(MultiGzDecoder::new(BufReader::with_capacity(
            1 << 18,
            counted,
        ))),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(counted)?),
        Compression::Plain => Box::new(counted),
    };
    Ok((reader, compression))
}

fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "(none: the file is empty)".to_string();
    }
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use std::io::Write;
    use std::path::Path;

    fn temp(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("worlds-source-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn read_all(p: &Path) -> io::Result<Vec<u8>> {
        let (mut r, _) = open_dump(&p.into(), Arc::new(AtomicU64::new(0)), None)?;
        let mut out = Vec::new();
        r.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn multi_member_gzip_is_read_whole() {
        let mut both = gz(b"SELECT 1;\n");
        both.extend(gz(b"SELECT 2;\n"));
        let p = temp("multi.sql.gz", &both);
        assert_eq!(read_all(&p).unwrap(), b"SELECT 1;\nSELECT 2;\n");
    }

    #[test]
    fn zstd_and_plain() {
        let z = zstd::encode_all(&b"SELECT 3;"[..], 3).unwrap();
        assert_eq!(read_all(&temp("a.sql.zst", &z)).unwrap(), b"SELECT 3;");
        assert_eq!(
            read_all(&temp("a.sql", b"SELECT 4;")).unwrap(),
            b"SELECT 4;"
        );
        // A gzip file without the .gz name is still recognised.
        assert_eq!(
            read_all(&temp("b.sql", &gz(b"SELECT 5;"))).unwrap(),
            b"SELECT 5;"
        );
    }

    #[test]
    fn not_gzip_and_truncated() {
        let e = read_all(&temp("c.sql.gz", b"hello world")).unwrap_err();
        assert!(e.to_string().contains("is not gzip"), "{e}");
        let data = gz(&vec![b'x'; 100_000]);
        let cut = &data[..data.len() / 2];
        assert!(read_all(&temp("d.sql.gz", cut)).is_err());
    }

    #[test]
    fn content_decides_between_known_formats() {
        let z = zstd::encode_all(&b"SELECT 6;"[..], 3).unwrap();
        assert_eq!(read_all(&temp("f.sql.gz", &z)).unwrap(), b"SELECT 6;");
    }

    #[test]
    fn counts_compressed_bytes() {
        let data = gz(&vec![b'y'; 50_000]);
        let p = temp("e.sql.gz", &data);
        let counter = Arc::new(AtomicU64::new(0));
        let (mut r, c) = open_dump(&p.into(), counter.clone(), None).unwrap();
        assert_eq!(c, Compression::Gzip);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        assert_eq!(counter.load(Ordering::Relaxed), data.len() as u64);
    }
}

/// Drops each CR that comes right before an LF, as the mysql client does when it reads
/// a dump line by line (a CR anywhere else stays).
pub struct DropCrBeforeLf<R> {
    inner: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// A CR ended the last block read; whether it stays depends on the next byte.
    pending_cr: bool,
    eof: bool,
}

impl<R: Read> DropCrBeforeLf<R> {
    pub fn new(inner: R) -> Self {
        DropCrBeforeLf {
            inner,
            buf: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            pending_cr: false,
            eof: false,
        }
    }
}

impl<R: Read> Read for DropCrBeforeLf<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            if self.start == self.end {
                if self.eof {
                    if self.pending_cr {
                        self.pending_cr = false;
                        out[0] = b'\r';
                        return Ok(1);
                    }
                    return Ok(0);
                }
                let n = self.inner.read(&mut self.buf)?;
                self.start = 0;
                self.end = n;
                if n == 0 {
                    self.eof = true;
                }
                continue;
            }
            let mut w = 0;
            if self.pending_cr {
                self.pending_cr = false;
                if self.buf[self.start] != b'\n' {
                    out[w] = b'\r';
                    w += 1;
                }
            }
            while self.start < self.end && w < out.len() {
                let rest = &self.buf[self.start..self.end];
                let room = out.len() - w;
                let run = crate::sql::split::find_byte(&rest[..rest.len().min(room)], b'\r')
                    .unwrap_or(rest.len().min(room));
                out[w..w + run].copy_from_slice(&rest[..run]);
                w += run;
                self.start += run;
                if run == rest.len() || w == out.len() {
                    break;
                }
                // At a CR.
                match rest.get(run + 1) {
                    Some(b'\n') => self.start += 1,
                    Some(_) => {
                        out[w] = b'\r';
                        w += 1;
                        self.start += 1;
                    }
                    None => {
                        self.pending_cr = true;
                        self.start += 1;
                    }
                }
            }
            if w > 0 {
                return Ok(w);
            }
        }
    }
}

#[cfg(test)]
mod crlf_tests {
    use super::*;

    fn through(input: &[u8], inner_chunk: usize, out_chunk: usize) -> Vec<u8> {
        struct Chunky<'a>(&'a [u8], usize);
        impl Read for Chunky<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                let n = self.0.len().min(self.1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut r = DropCrBeforeLf::new(Chunky(input, inner_chunk));
        let mut out = Vec::new();
        let mut buf = vec![0; out_chunk];
        loop {
            let n = r.read(&mut buf).unwrap();
            if n == 0 {
                return out;
            }
            out.extend_from_slice(&buf[..n]);
        }
    }

    #[test]
    fn only_crs_before_lfs_go() {
        let input = b"a\r\nb\rc\r\r\nd\r";
        for inner in [1, 2, 3, 64] {
            for outer in [1, 2, 5, 64] {
                assert_eq!(
                    through(input, inner, outer),
                    b"a\nb\rc\r\nd\r",
                    "{inner} {outer}"
                );
            }
        }
        assert_eq!(through(b"", 4, 4), b"");
        assert_eq!(through(b"plain\n", 4, 4), b"plain\n");
    }
}
