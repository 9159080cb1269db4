//! Streaming splitter that turns the byte stream of a mysqldump or
//! mariadb-dump file into the statements the `mysql` / `mariadb`
//! command-line client would send to the server.
//!
//! The splitter works on raw bytes (dumps routinely hold binary data inside
//! string literals), keeps its state across [`Splitter::feed`] calls so a
//! chunk may end anywhere, and never rescans bytes it has already classified,
//! so the total work is linear in the size of the input.

use std::fmt;

use super::charset::{self, Charset, Tracker};

/// First line written by mariadb-dump 10.5.25+/10.6.18+/10.11.8+/11.x: a
/// client command that switches the `mariadb` client into sandbox mode.
const SANDBOX: &[u8] = b"/*M!999999\\- enable the sandbox mode */";

/// The `DELIMITER` client command keyword.
const DELIMITER_CMD: &[u8] = b"delimiter";

/// One statement as the command-line client would send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// Raw bytes of the statement, without the delimiter, without leading
    /// whitespace and ordinary comments, with trailing whitespace trimmed.
    pub sql: Vec<u8>,
    /// 1-based line number of the first byte of `sql` in the whole stream.
    pub line: u64,
    /// Byte offset of the first byte of `sql` in the whole stream.
    pub offset: u64,
    /// The client character set in force where the statement stands (the
    /// server reads its strings per character of it).
    pub charset: Charset,
}

impl Statement {
    /// What the statement is, read in its character set.
    pub fn kind(&self) -> super::Kind {
        super::classify_in(&self.sql, self.charset)
    }
}

/// The input ended in a place where no complete statement can end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SplitError {
    /// The input ended inside a quoted string or quoted identifier.
    UnterminatedString {
        /// The opening quote byte: `'`, `"` or `` ` ``.
        quote: u8,
        /// 1-based line of the opening quote.
        line: u64,
        /// Byte offset of the opening quote.
        offset: u64,
    },
    /// The input ended inside a `/* ... */` comment (ordinary or
    /// conditional).
    UnterminatedComment {
        /// 1-based line of the `/*`.
        line: u64,
        /// Byte offset of the `/*`.
        offset: u64,
    },
    /// A statement grew past the size limit (see [`Splitter::with_limit`]).
    TooLarge {
        /// 1-based line where the statement starts.
        line: u64,
        /// Byte offset where it starts.
        offset: u64,
        /// Bytes of it seen so far.
        size: u64,
        /// The limit.
        limit: u64,
    },
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SplitError::UnterminatedString {
                quote: b'`',
                line,
                offset,
            } => write!(
                f,
                "the dump ends inside a `...` quoted identifier that starts at line {line} \
                 (byte offset {offset}); the file is probably truncated"
            ),
            SplitError::UnterminatedString {
                quote,
                line,
                offset,
            } => {
                let q = char::from(quote);
                write!(
                    f,
                    "the dump ends inside a {q}...{q} string that starts at line {line} \
                     (byte offset {offset}); the file is probably truncated"
                )
            }
            SplitError::UnterminatedComment { line, offset } => write!(
                f,
                "the dump ends inside a /* ... */ comment that starts at line {line} \
                 (byte offset {offset}); the file is probably truncated"
            ),
            SplitError::TooLarge {
                line,
                offset,
                size,
                limit,
            } => write!(
                f,
                "the statement that starts at line {line} (byte offset {offset}) is larger \
                 than max_allowed_packet: {size} bytes read so far, the limit is {limit} \
                 bytes (an unclosed quote makes the rest of a dump one statement)"
            ),
        }
    }
}

impl std::error::Error for SplitError {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first code byte of a statement: whitespace, ordinary
    /// comments and lone delimiters are dropped here.
    Between,
    /// Inside a statement, outside quotes and ordinary comments (possibly
    /// inside a conditional comment, see `in_cond`).
    Code,
    /// Inside a quoted string or identifier that opened with this byte.
    Str(u8),
    /// Inside a `-- ` or `#` comment (or a dropped sandbox line). `keep`
    /// tells whether it belongs to a statement.
    LineComment { keep: bool },
    /// Inside an ordinary `/* ... */` comment.
    BlockComment { keep: bool },
    /// Reading the rest of a `DELIMITER` command line.
    DelimiterCmd,
}

/// Outcome of a lookahead test that may need more input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Look {
    Yes,
    No,
    NeedMore,
}

/// What a `/` byte starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slash {
    /// A plain `/`.
    Plain,
    /// An ordinary `/*` comment.
    Block,
    /// A conditional comment opener (`/*!` or `/*M!`) of this many bytes.
    Cond(usize),
    NeedMore,
}

/// Whether the main loop can go on or has to wait for more input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    Pause,
}

const NONE: usize = usize::MAX;

/// Statements at least this long that fill the front of the buffer are
/// handed over without a copy (small in tests so that path gets exercised).
const HAND_OVER_MIN: usize = if cfg!(test) { 8 } else { 256 * 1024 };

/// Streaming statement splitter. See the module documentation.
#[derive(Debug, Clone)]
pub struct Splitter {
    /// Bytes not yet dropped; `buf[0]` is at stream offset `base`.
    buf: Vec<u8>,
    base: u64,
    /// Everything before `pos` has been classified.
    pos: usize,
    state: State,
    /// Inside a `/*!` or `/*M!` conditional comment.
    in_cond: bool,
    stmt_start: usize,
    stmt_line: u64,
    str_start: usize,
    /// Index just after the last closing quote of the current statement,
    /// used to see `''` as one string when reporting an unterminated one.
    str_close: usize,
    str_close_quote: u8,
    comment_start: usize,
    /// Stream offset and line of a dropped comment that is still open
    /// (its bytes are not kept).
    dropped_comment: (u64, u64),
    cond_start: usize,
    cmd_start: usize,
    delim: Vec<u8>,
    /// Bytes the code loop must stop at, outside / inside a conditional
    /// comment.
    code_special: [bool; 256],
    cond_special: [bool; 256],
    /// Line counting cursor: `buf[line_idx]` is on line `line_no`.
    line_idx: usize,
    line_no: u64,
    newlines: u64,
    bytes_seen: u64,
    /// The client character set along the stream.
    tracker: Tracker,
    /// Statements may not grow past this many bytes.
    limit: usize,
    too_large: Option<SplitError>,
}

impl Default for Splitter {
    fn default() -> Self {
        Self::new()
    }
}

impl Splitter {
    /// A splitter at the start of a stream, with `;` as the delimiter.
    pub fn new() -> Self {
        let mut s = Splitter {
            buf: Vec::new(),
            base: 0,
            pos: 0,
            state: State::Between,
            in_cond: false,
            stmt_start: 0,
            stmt_line: 1,
            str_start: 0,
            str_close: NONE,
            str_close_quote: 0,
            comment_start: 0,
            dropped_comment: (0, 1),
            cond_start: 0,
            cmd_start: 0,
            delim: b";".to_vec(),
            code_special: [false; 256],
            cond_special: [false; 256],
            line_idx: 0,
            line_no: 1,
            newlines: 0,
            bytes_seen: 0,
            tracker: Tracker::default(),
            limit: usize::MAX,
            too_large: None,
        };
        s.rebuild_tables();
        s
    }

    /// A splitter whose stream starts in client character set `cs`.
    pub fn with_charset(cs: Charset) -> Self {
        let mut s = Self::new();
        s.tracker = Tracker::new(cs);
        s
    }

    /// Refuse statements longer than `limit` bytes (see [`Splitter::check`]): memory stays
    /// bounded even when a quote is never closed.
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// The client character set in force at this point of the stream.
    pub fn charset(&self) -> Charset {
        self.tracker.current()
    }

    /// Err once a statement has grown past the limit; feeding more is pointless then.
    pub fn check(&self) -> Result<(), SplitError> {
        match &self.too_large {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn note_size(&mut self, start: usize, end: usize) {
        let size = end.saturating_sub(start);
        if size > self.limit && self.too_large.is_none() {
            let line = if start == self.stmt_start {
                self.stmt_line
            } else {
                self.line_at(start)
            };
            self.too_large = Some(SplitError::TooLarge {
                line,
                offset: self.base + start as u64,
                size: size as u64,
                limit: self.limit as u64,
            });
        }
    }

    /// Total number of bytes fed so far.
    pub fn bytes_seen(&self) -> u64 {
        self.bytes_seen
    }

    /// Line number of the next byte to be fed (1 + newlines seen so far).
    pub fn line(&self) -> u64 {
        self.newlines + 1
    }

    /// The delimiter currently in force.
    pub fn delimiter(&self) -> &[u8] {
        &self.delim
    }

    /// Feeds the next chunk of the stream and appends every statement it
    /// completes to `out`. The chunk may end anywhere.
    pub fn feed(&mut self, chunk: &[u8], out: &mut Vec<Statement>) {
        if chunk.is_empty() {
            return;
        }
        self.bytes_seen += chunk.len() as u64;
        self.newlines += count_newlines(chunk);
        self.compact();
        self.buf.extend_from_slice(chunk);
        self.scan(false, out);
        if matches!(
            self.state,
            State::Code
                | State::Str(_)
                | State::LineComment { keep: true }
                | State::BlockComment { keep: true }
        ) {
            self.note_size(self.stmt_start, self.buf.len());
        }
    }

    /// Marks the end of the stream: emits a last statement that has no
    /// delimiter, or fails if the stream ends inside a quoted string or a
    /// `/* ... */` comment. The splitter is then back at a statement
    /// boundary with an empty buffer.
    pub fn finish(&mut self, out: &mut Vec<Statement>) -> Result<(), SplitError> {
        self.scan(true, out);
        let len = self.buf.len();
        let result = match self.state {
            State::Str(quote) => {
                let at = self.str_start;
                Err(SplitError::UnterminatedString {
                    quote,
                    line: self.line_at(at),
                    offset: self.base + at as u64,
                })
            }
            State::BlockComment { keep: false } => {
                let (offset, line) = self.dropped_comment;
                Err(SplitError::UnterminatedComment { line, offset })
            }
            State::BlockComment { keep: true } => {
                let at = if self.in_cond {
                    self.cond_start
                } else {
                    self.comment_start
                };
                Err(self.comment_error(at))
            }
            State::Code | State::LineComment { keep: true } if self.in_cond => {
                Err(self.comment_error(self.cond_start))
            }
            State::Code | State::LineComment { keep: true } => {
                self.emit(len, len, out);
                Ok(())
            }
            State::DelimiterCmd => {
                self.apply_delimiter(self.cmd_start + DELIMITER_CMD.len(), len);
                Ok(())
            }
            State::Between | State::LineComment { keep: false } => Ok(()),
        };
        let len = self.buf.len();
        self.base += len as u64;
        self.buf.clear();
        self.pos = 0;
        self.line_idx = 0;
        self.line_no = self.newlines + 1;
        self.state = State::Between;
        self.in_cond = false;
        self.str_close = NONE;
        result
    }

    fn comment_error(&mut self, at: usize) -> SplitError {
        SplitError::UnterminatedComment {
            line: self.line_at(at),
            offset: self.base + at as u64,
        }
    }

    fn rebuild_tables(&mut self) {
        let mut t = [false; 256];
        for b in [b'\'', b'"', b'`', b'#', b'-', b'/'] {
            t[usize::from(b)] = true;
        }
        if let Some(&d) = self.delim.first() {
            t[usize::from(d)] = true;
        }
        self.code_special = t;
        t[usize::from(b'*')] = true;
        self.cond_special = t;
    }

    /// Line number of `buf[at]`; `at` must not be before the line cursor.
    fn line_at(&mut self, at: usize) -> u64 {
        let at = at.min(self.buf.len());
        if at > self.line_idx {
            self.line_no += count_newlines(&self.buf[self.line_idx..at]);
            self.line_idx = at;
        }
        self.line_no
    }

    /// First buffer index that is still needed in the current state.
    fn keep_from(&self) -> usize {
        match self.state {
            State::Between
            | State::LineComment { keep: false }
            | State::BlockComment { keep: false } => self.pos,
            State::DelimiterCmd => self.cmd_start,
            State::Code
            | State::Str(_)
            | State::LineComment { keep: true }
            | State::BlockComment { keep: true } => self.stmt_start,
        }
    }

    /// Drops the bytes no longer needed from the front of the buffer.
    fn compact(&mut self) {
        let k = self.keep_from().min(self.buf.len());
        if k == 0 {
            return;
        }
        self.line_at(k);
        self.buf.drain(..k);
        self.base += k as u64;
        self.pos -= k;
        self.line_idx -= k;
        self.stmt_start = self.stmt_start.saturating_sub(k);
        self.str_start = self.str_start.saturating_sub(k);
        self.comment_start = self.comment_start.saturating_sub(k);
        self.cond_start = self.cond_start.saturating_sub(k);
        self.cmd_start = self.cmd_start.saturating_sub(k);
        self.str_close = if self.str_close != NONE && self.str_close >= k {
            self.str_close - k
        } else {
            NONE
        };
    }

    fn scan(&mut self, eof: bool, out: &mut Vec<Statement>) {
        while self.pos < self.buf.len() {
            let flow = match self.state {
                State::Between => self.between(eof),
                State::Code => self.code(eof, out),
                State::Str(q) => self.string(q, eof),
                State::LineComment { keep } => self.line_comment(keep),
                State::BlockComment { keep } => self.block_comment(keep, eof),
                State::DelimiterCmd => self.delimiter_cmd(),
            };
            if flow == Flow::Pause {
                return;
            }
        }
    }

    fn start_statement(&mut self, at: usize) {
        self.stmt_line = self.line_at(at);
        self.stmt_start = at;
        self.pos = at;
        self.state = State::Code;
        self.in_cond = false;
        self.str_close = NONE;
    }

    fn between(&mut self, eof: bool) -> Flow {
        let buf = &self.buf;
        let mut p = self.pos;
        while p < buf.len() && is_ws(buf[p]) {
            p += 1;
        }
        self.pos = p;
        if p >= buf.len() {
            return Flow::Continue;
        }
        let rest = &buf[p..];
        let b = rest[0];
        if (b | 0x20) == b'd' {
            match delimiter_command(rest, eof) {
                Look::NeedMore => return Flow::Pause,
                Look::Yes => {
                    self.cmd_start = p;
                    self.pos = p + DELIMITER_CMD.len();
                    self.state = State::DelimiterCmd;
                    return Flow::Continue;
                }
                Look::No => {}
            }
        }
        if b == b'/' {
            match prefix(rest, SANDBOX, eof) {
                Look::NeedMore => return Flow::Pause,
                Look::Yes => {
                    self.pos = p + SANDBOX.len();
                    self.state = State::LineComment { keep: false };
                    return Flow::Continue;
                }
                Look::No => {}
            }
        }
        if self.delim.first() == Some(&b) {
            match prefix(rest, &self.delim, eof) {
                Look::NeedMore => return Flow::Pause,
                Look::Yes => {
                    self.pos = p + self.delim.len();
                    return Flow::Continue;
                }
                Look::No => {}
            }
        }
        match b {
            b'#' => {
                self.pos = p + 1;
                self.state = State::LineComment { keep: false };
            }
            b'-' => match dash_comment(rest, eof) {
                Look::NeedMore => return Flow::Pause,
                Look::Yes => {
                    self.pos = p + 2;
                    self.state = State::LineComment { keep: false };
                }
                Look::No => self.start_statement(p),
            },
            b'/' => match slash(rest, eof) {
                Slash::NeedMore => return Flow::Pause,
                Slash::Block => {
                    let line = self.line_at(p);
                    self.dropped_comment = (self.base + p as u64, line);
                    self.pos = p + 2;
                    self.state = State::BlockComment { keep: false };
                }
                Slash::Cond(_) | Slash::Plain => self.start_statement(p),
            },
            _ => self.start_statement(p),
        }
        Flow::Continue
    }

    fn code(&mut self, eof: bool, out: &mut Vec<Statement>) -> Flow {
        let table = if self.in_cond {
            &self.cond_special
        } else {
            &self.code_special
        };
        let buf = &self.buf;
        let len = buf.len();
        let mut p = self.pos;
        // Fast path: plain code bytes and complete quoted strings.
        loop {
            while p < len && !table[usize::from(buf[p])] {
                p += 1;
            }
            if p >= len {
                self.pos = p;
                return Flow::Continue;
            }
            let q = buf[p];
            if !matches!(q, b'\'' | b'"' | b'`') || self.delim.first() == Some(&q) {
                break;
            }
            if !(p == self.str_close && q == self.str_close_quote) {
                self.str_start = p;
            }
            let cs = self.tracker.current();
            let end = if cs.hides_ascii() {
                charset::quoted_end(buf, p + 1, q, cs)
            } else {
                string_end(buf, p + 1, q)
            };
            match end {
                Some(end) => {
                    self.str_close = end;
                    self.str_close_quote = q;
                    p = end;
                }
                None => {
                    self.pos = p + 1;
                    self.state = State::Str(q);
                    return Flow::Continue;
                }
            }
        }
        self.pos = p;
        let rest = &buf[p..];
        let b = rest[0];
        if !self.in_cond && self.delim.first() == Some(&b) {
            match prefix(rest, &self.delim, eof) {
                Look::NeedMore => return Flow::Pause,
                Look::Yes => {
                    let resume = p + self.delim.len();
                    self.emit(p, resume, out);
                    self.state = State::Between;
                    return Flow::Continue;
                }
                Look::No => {}
            }
        }
        match b {
            b'\'' | b'"' | b'`' => {
                if !(p == self.str_close && b == self.str_close_quote) {
                    self.str_start = p;
                }
                self.pos = p + 1;
                self.state = State::Str(b);
            }
            b'#' => {
                self.pos = p + 1;
                self.state = State::LineComment { keep: true };
            }
            b'-' => match dash_comment(rest, eof) {
                Look::NeedMore => return Flow::Pause,
                Look::Yes => {
                    self.pos = p + 2;
                    self.state = State::LineComment { keep: true };
                }
                Look::No => self.pos = p + 1,
            },
            b'/' => match slash(rest, eof) {
                Slash::NeedMore => return Flow::Pause,
                Slash::Plain => self.pos = p + 1,
                Slash::Cond(n) if !self.in_cond => {
                    self.in_cond = true;
                    self.cond_start = p;
                    self.pos = p + n;
                }
                Slash::Cond(_) | Slash::Block => {
                    self.comment_start = p;
                    self.pos = p + 2;
                    self.state = State::BlockComment { keep: true };
                }
            },
            b'*' if self.in_cond => match rest.get(1) {
                Some(b'/') => {
                    self.in_cond = false;
                    self.pos = p + 2;
                }
                Some(_) => self.pos = p + 1,
                None if eof => self.pos = p + 1,
                None => return Flow::Pause,
            },
            _ => self.pos = p + 1,
        }
        Flow::Continue
    }

    fn string(&mut self, quote: u8, eof: bool) -> Flow {
        let cs = self.tracker.current();
        if cs.hides_ascii() {
            return self.string_in(quote, cs, eof);
        }
        let buf = &self.buf;
        let p = self.pos;
        let found = if quote == b'`' {
            find_byte(&buf[p..], quote)
        } else {
            find_either(&buf[p..], quote, b'\\')
        };
        let Some(i) = found else {
            self.pos = buf.len();
            return Flow::Continue;
        };
        let at = p + i;
        if buf[at] == b'\\' {
            if at + 1 < buf.len() {
                self.pos = at + 2;
            } else if eof {
                self.pos = buf.len();
            } else {
                self.pos = at;
                return Flow::Pause;
            }
        } else {
            self.pos = at + 1;
            self.str_close = at + 1;
            self.str_close_quote = quote;
            self.state = State::Code;
        }
        Flow::Continue
    }

    /// [`Splitter::string`] per character of a character set whose multi-byte
    /// characters may hold ASCII bytes.
    fn string_in(&mut self, quote: u8, cs: Charset, eof: bool) -> Flow {
        let buf = &self.buf;
        let len = buf.len();
        let escapes = quote != b'`';
        let mut i = self.pos;
        while i < len {
            let b = buf[i];
            if b == quote {
                self.pos = i + 1;
                self.str_close = i + 1;
                self.str_close_quote = quote;
                self.state = State::Code;
                return Flow::Continue;
            }
            if escapes && b == b'\\' {
                if i + 1 < len {
                    i += 2;
                    continue;
                }
                if eof {
                    break;
                }
                self.pos = i;
                return Flow::Pause;
            }
            if b >= 0x80 {
                let n = cs.char_len(&buf[i..]);
                if n > 0 {
                    i += n;
                    continue;
                }
                if !eof && cs.needs_more(&buf[i..]) {
                    self.pos = i;
                    return Flow::Pause;
                }
            }
            i += 1;
        }
        self.pos = len;
        Flow::Continue
    }

    fn line_comment(&mut self, keep: bool) -> Flow {
        let p = self.pos;
        match find_byte(&self.buf[p..], b'\n') {
            None => self.pos = self.buf.len(),
            Some(i) => {
                self.pos = p + i + 1;
                self.state = if keep { State::Code } else { State::Between };
            }
        }
        Flow::Continue
    }

    fn block_comment(&mut self, keep: bool, eof: bool) -> Flow {
        let buf = &self.buf;
        let mut p = self.pos;
        loop {
            let Some(i) = find_byte(&buf[p..], b'*') else {
                self.pos = buf.len();
                return Flow::Continue;
            };
            let at = p + i;
            match buf.get(at + 1) {
                Some(b'/') => {
                    self.pos = at + 2;
                    self.state = if keep { State::Code } else { State::Between };
                    return Flow::Continue;
                }
                Some(_) => p = at + 1,
                None if eof => {
                    self.pos = buf.len();
                    return Flow::Continue;
                }
                None => {
                    self.pos = at;
                    return Flow::Pause;
                }
            }
        }
    }

    fn delimiter_cmd(&mut self) -> Flow {
        let p = self.pos;
        match find_byte(&self.buf[p..], b'\n') {
            None => self.pos = self.buf.len(),
            Some(i) => {
                let nl = p + i;
                self.apply_delimiter(self.cmd_start + DELIMITER_CMD.len(), nl);
                self.pos = nl + 1;
                self.state = State::Between;
            }
        }
        Flow::Continue
    }

    /// Takes the argument of a `DELIMITER` command from `buf[from..to]` the
    /// way the client does: the first word, or a quoted string. An empty
    /// argument or one with a backslash leaves the delimiter unchanged.
    fn apply_delimiter(&mut self, from: usize, to: usize) {
        let to = to.min(self.buf.len());
        let from = from.min(to);
        if let Some(d) = delimiter_argument(&self.buf[from..to]) {
            if !d.is_empty() && !d.contains(&b'\\') {
                self.delim = d.to_vec();
                self.rebuild_tables();
            }
        }
    }

    /// Emits the statement `buf[stmt_start..end]` (trailing whitespace
    /// trimmed) and moves the scan position to `resume`.
    fn emit(&mut self, end: usize, resume: usize, out: &mut Vec<Statement>) {
        let start = self.stmt_start;
        let mut e = end;
        while e > start && is_ws(self.buf[e - 1]) {
            e -= 1;
        }
        let offset = self.base + start as u64;
        let line = self.stmt_line;
        self.pos = resume;
        if e <= start {
            return;
        }
        self.note_size(start, e);
        let rest = self.buf.len() - resume;
        let sql = if start == 0 && rest < e && e >= HAND_OVER_MIN {
            // Hand the buffer itself over instead of copying a large
            // statement; only the (smaller) remainder is copied.
            self.line_at(resume);
            let tail = self.buf[resume..].to_vec();
            let mut sql = std::mem::replace(&mut self.buf, tail);
            sql.truncate(e);
            if sql.capacity() - e > e / 4 {
                sql.shrink_to_fit();
            }
            self.base += resume as u64;
            self.line_idx -= resume;
            self.pos = 0;
            self.str_close = NONE;
            sql
        } else {
            self.buf[start..e].to_vec()
        };
        let charset = self.tracker.current();
        if sql.len() < 4096 {
            self.tracker.observe(&sql);
        }
        out.push(Statement {
            sql,
            line,
            offset,
            charset,
        });
    }
}

/// Position just after the quote that closes a string opened by `quote`
/// whose body starts at `from`, if the buffer holds it.
#[inline]
fn string_end(buf: &[u8], mut from: usize, quote: u8) -> Option<usize> {
    loop {
        let rest = buf.get(from..)?;
        let i = if quote == b'`' {
            find_byte(rest, quote)?
        } else {
            find_either(rest, quote, b'\\')?
        };
        let at = from + i;
        if buf[at] == quote {
            return Some(at + 1);
        }
        from = at + 2;
    }
}

/// Whitespace as the client and server see it between tokens.
#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// `rest` starts with `pat`? Needs more input when `rest` is a proper
/// prefix of `pat` and the stream has not ended.
#[inline]
fn prefix(rest: &[u8], pat: &[u8], eof: bool) -> Look {
    if rest.len() >= pat.len() {
        if rest[..pat.len()] == *pat {
            Look::Yes
        } else {
            Look::No
        }
    } else if !eof && pat.starts_with(rest) {
        Look::NeedMore
    } else {
        Look::No
    }
}

/// `rest` (starting with `-`) starts a `-- ` comment: two dashes followed by
/// a space, a control character or the end of the input.
#[inline]
fn dash_comment(rest: &[u8], eof: bool) -> Look {
    match rest.get(1) {
        None if eof => Look::No,
        None => Look::NeedMore,
        Some(&b'-') => match rest.get(2) {
            None if eof => Look::Yes,
            None => Look::NeedMore,
            Some(&c) if c <= b' ' || c == 0x7f => Look::Yes,
            Some(_) => Look::No,
        },
        Some(_) => Look::No,
    }
}

/// Classifies `rest`, which starts with `/`.
#[inline]
fn slash(rest: &[u8], eof: bool) -> Slash {
    match rest.get(1) {
        None if eof => Slash::Plain,
        None => Slash::NeedMore,
        Some(&b'*') => match rest.get(2) {
            None if eof => Slash::Block,
            None => Slash::NeedMore,
            Some(&b'!') => Slash::Cond(3),
            Some(&b'M') => match rest.get(3) {
                None if eof => Slash::Block,
                None => Slash::NeedMore,
                Some(&b'!') => Slash::Cond(4),
                Some(_) => Slash::Block,
            },
            Some(_) => Slash::Block,
        },
        Some(_) => Slash::Plain,
    }
}

/// `rest` starts with the `DELIMITER` command word (any case) followed by
/// whitespace or the end of the input.
fn delimiter_command(rest: &[u8], eof: bool) -> Look {
    let n = DELIMITER_CMD.len();
    let head = &rest[..rest.len().min(n)];
    if !head.eq_ignore_ascii_case(&DELIMITER_CMD[..head.len()]) {
        return Look::No;
    }
    match rest.get(n) {
        Some(&c) if is_ws(c) => Look::Yes,
        Some(_) => Look::No,
        None if !eof => Look::NeedMore,
        None if head.len() == n => Look::Yes,
        None => Look::No,
    }
}

/// The argument of a `DELIMITER` command line (without the command word):
/// a quoted string, or the first whitespace-separated word.
fn delimiter_argument(line: &[u8]) -> Option<&[u8]> {
    let start = line.iter().position(|&b| !is_ws(b))?;
    let arg = &line[start..];
    let first = arg[0];
    if matches!(first, b'\'' | b'"' | b'`') {
        let inner = &arg[1..];
        let end = inner
            .iter()
            .position(|&b| b == first)
            .unwrap_or(inner.len());
        Some(&inner[..end])
    } else {
        let end = arg.iter().position(|&b| is_ws(b)).unwrap_or(arg.len());
        Some(&arg[..end])
    }
}

/// Number of `\n` bytes in `hay`.
#[inline]
pub(crate) fn count_newlines(hay: &[u8]) -> u64 {
    // A block of at most 255 bytes cannot overflow a u8 count, and the
    // byte-wide sum compiles to vector compares.
    hay.chunks(255)
        .map(|block| {
            let n = block
                .iter()
                .fold(0u8, |n, &b| n.wrapping_add(u8::from(b == b'\n')));
            u64::from(n)
        })
        .sum()
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// High bit set in every byte of the result whose byte in `x` is zero; the
/// lowest flagged byte is always exact (later ones may be spurious).
#[inline(always)]
fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(LO) & !x & HI
}

#[inline(always)]
fn word_at(hay: &[u8], i: usize) -> u64 {
    u64::from_le_bytes([
        hay[i],
        hay[i + 1],
        hay[i + 2],
        hay[i + 3],
        hay[i + 4],
        hay[i + 5],
        hay[i + 6],
        hay[i + 7],
    ])
}

/// Position of the first `a` in `hay`.
#[inline]
pub(crate) fn find_byte(hay: &[u8], a: u8) -> Option<usize> {
    let ra = LO.wrapping_mul(u64::from(a));
    let mut i = 0;
    while i + 8 <= hay.len() {
        let m = zero_bytes(word_at(hay, i) ^ ra);
        if m != 0 {
            return Some(i + (m.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    hay[i..].iter().position(|&c| c == a).map(|j| i + j)
}

/// Position of the first `a` or `b` in `hay`.
#[inline]
pub(crate) fn find_either(hay: &[u8], a: u8, b: u8) -> Option<usize> {
    let ra = LO.wrapping_mul(u64::from(a));
    let rb = LO.wrapping_mul(u64::from(b));
    let mut i = 0;
    while i + 16 <= hay.len() {
        let x = word_at(hay, i);
        let y = word_at(hay, i + 8);
        let mx = zero_bytes(x ^ ra) | zero_bytes(x ^ rb);
        let my = zero_bytes(y ^ ra) | zero_bytes(y ^ rb);
        if mx | my != 0 {
            if mx != 0 {
                return Some(i + (mx.trailing_zeros() / 8) as usize);
            }
            return Some(i + 8 + (my.trailing_zeros() / 8) as usize);
        }
        i += 16;
    }
    hay[i..]
        .iter()
        .position(|&c| c == a || c == b)
        .map(|j| i + j)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn split_chunked(input: &[u8], sizes: &[usize]) -> Result<Vec<Statement>, SplitError> {
        let mut s = Splitter::new();
        let mut out = Vec::new();
        let mut rest = input;
        let mut i = 0;
        while !rest.is_empty() {
            let n = sizes
                .get(i % sizes.len().max(1))
                .copied()
                .unwrap_or(1)
                .clamp(1, rest.len());
            s.feed(&rest[..n], &mut out);
            rest = &rest[n..];
            i += 1;
        }
        s.finish(&mut out).map(|()| out)
    }

    fn split(input: &[u8]) -> Result<Vec<Statement>, SplitError> {
        let whole = split_chunked(input, &[usize::MAX]);
        assert_eq!(whole, split_chunked(input, &[1]), "1-byte chunks differ");
        assert_eq!(whole, split_chunked(input, &[3, 7, 2]), "odd chunks differ");
        if let Ok(stmts) = &whole {
            check_positions(input, stmts);
        }
        whole
    }

    fn texts(input: &str) -> Vec<String> {
        split(input.as_bytes())
            .expect("split failed")
            .into_iter()
            .map(|s| String::from_utf8(s.sql).expect("utf8"))
            .collect()
    }

    /// Every statement is a verbatim slice of the input at its offset, on
    /// the line it claims, and has no surrounding whitespace.
    fn check_positions(input: &[u8], stmts: &[Statement]) {
        let mut last_end = 0u64;
        for s in stmts {
            let off = usize::try_from(s.offset).expect("offset");
            assert!(!s.sql.is_empty());
            assert!(s.offset >= last_end, "statements overlap or go back");
            assert_eq!(&input[off..off + s.sql.len()], &s.sql[..]);
            assert_eq!(s.line, 1 + count_newlines(&input[..off]));
            assert!(!is_ws(s.sql[0]));
            assert!(!is_ws(s.sql[s.sql.len() - 1]));
            last_end = s.offset + s.sql.len() as u64;
        }
    }

    const MYSQLDUMP_80: &str = r"-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
--
-- Host: localhost    Database: game
-- ------------------------------------------------------
-- Server version	8.0.36

/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;
/*!40101 SET @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION */;
/*!50503 SET NAMES utf8mb4 */;
/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;
/*!40103 SET TIME_ZONE='+00:00' */;
/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;
/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;
/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;
/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;

--
-- Current Database: `game`
--

CREATE DATABASE /*!32312 IF NOT EXISTS*/ `game` /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci */ /*!80016 DEFAULT ENCRYPTION='N' */;

USE `game`;

--
-- Table structure for table `player`
--

DROP TABLE IF EXISTS `player`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!50503 SET character_set_client = utf8mb4 */;
CREATE TABLE `player` (
  `id` int NOT NULL AUTO_INCREMENT,
  `name` varchar(64) NOT NULL COMMENT 'display name; may hold ''quotes''',
  `level` int NOT NULL DEFAULT '1',
  `data` blob,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB AUTO_INCREMENT=4 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci COMMENT='players -- all of them';
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table `player`
--

LOCK TABLES `player` WRITE;
/*!40000 ALTER TABLE `player` DISABLE KEYS */;
INSERT INTO `player` VALUES (1,'O\'Brien',3,_binary 'a;b'),(2,'semi;colon -- not a comment',1,NULL),(3,'back\\slash',2,'x');
/*!40000 ALTER TABLE `player` ENABLE KEYS */;
UNLOCK TABLES;
/*!50003 SET @saved_cs_client      = @@character_set_client */ ;
/*!50003 SET @saved_cs_results     = @@character_set_results */ ;
/*!50003 SET @saved_col_connection = @@collation_connection */ ;
/*!50003 SET character_set_client  = utf8mb4 */ ;
/*!50003 SET character_set_results = utf8mb4 */ ;
/*!50003 SET collation_connection  = utf8mb4_0900_ai_ci */ ;
/*!50003 SET @saved_sql_mode       = @@sql_mode */ ;
/*!50003 SET sql_mode              = 'ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION' */ ;
DELIMITER ;;
/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER `player_bi` BEFORE INSERT ON `player` FOR EACH ROW BEGIN
  SET NEW.name = TRIM(NEW.name);
  IF NEW.level < 1 THEN SET NEW.level = 1; END IF;
END */;;
DELIMITER ;
/*!50003 SET sql_mode              = @saved_sql_mode */ ;
/*!50003 SET character_set_client  = @saved_cs_client */ ;
/*!50003 SET character_set_results = @saved_cs_results */ ;
/*!50003 SET collation_connection  = @saved_col_connection */ ;

--
-- Temporary view structure for view `top_players`
--

DROP TABLE IF EXISTS `top_players`;
/*!50001 DROP VIEW IF EXISTS `top_players`*/;
SET @saved_cs_client     = @@character_set_client;
/*!50503 SET character_set_client = utf8mb4 */;
/*!50001 CREATE VIEW `top_players` AS SELECT 
 1 AS `id`,
 1 AS `name`*/;
SET character_set_client = @saved_cs_client;

--
-- Dumping events for database 'game'
--
/*!50106 SET @save_time_zone= @@TIME_ZONE */ ;
/*!50106 DROP EVENT IF EXISTS `cleanup` */;
DELIMITER ;;
/*!50003 SET @saved_cs_client      = @@character_set_client */ ;;
/*!50003 SET time_zone             = 'SYSTEM' */ ;;
/*!50106 CREATE*/ /*!50117 DEFINER=`root`@`localhost`*/ /*!50106 EVENT `cleanup` ON SCHEDULE EVERY 1 DAY STARTS '2024-01-01 00:00:00' ON COMPLETION NOT PRESERVE ENABLE DO DELETE FROM sessions WHERE created < NOW() - INTERVAL 1 DAY */ ;;
/*!50003 SET time_zone             = @saved_time_zone */ ;;
/*!50003 SET character_set_client  = @saved_cs_client */ ;;
DELIMITER ;
/*!50106 SET TIME_ZONE= @save_time_zone */ ;

--
-- Dumping routines for database 'game'
--
/*!50003 DROP PROCEDURE IF EXISTS `level_up` */;
/*!50003 SET @saved_sql_mode       = @@sql_mode */ ;
DELIMITER ;;
CREATE DEFINER=`root`@`localhost` PROCEDURE `level_up`(IN p_id INT)
BEGIN
  -- bump the level; never below 1
  UPDATE player SET level = level + 1 WHERE id = p_id;
  SELECT 'done;' AS msg;
END ;;
DELIMITER ;
/*!50003 SET sql_mode              = @saved_sql_mode */ ;

--
-- Final view structure for view `top_players`
--

/*!50001 DROP VIEW IF EXISTS `top_players`*/;
/*!50001 SET @saved_cs_client          = @@character_set_client */;
/*!50001 SET character_set_client      = utf8mb4 */;
/*!50001 CREATE ALGORITHM=UNDEFINED */
/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */
/*!50001 VIEW `top_players` AS select `player`.`id` AS `id`,`player`.`name` AS `name` from `player` where (`player`.`level` > 10) */;
/*!50001 SET character_set_client      = @saved_cs_client */;
/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;

/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;
/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;
/*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;
/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
/*!40101 SET CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS */;
/*!40101 SET COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION */;
/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;

-- Dump completed on 2024-05-01 12:00:00
";

    const MARIADB_1011: &str = "/*M!999999\\- enable the sandbox mode */ \n\
-- MariaDB dump 10.19-10.11.8-MariaDB, for debian-linux-gnu (x86_64)
--
-- Host: localhost    Database: game
-- ------------------------------------------------------
-- Server version\t10.11.8-MariaDB-ubu2204

/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET NAMES utf8mb4 */;
/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;
/*!40103 SET TIME_ZONE='+00:00' */;
/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;
/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;
/*M!100616 SET @OLD_NOTE_VERBOSITY=@@NOTE_VERBOSITY, NOTE_VERBOSITY=0 */;

--
-- Table structure for table `player`
--

DROP TABLE IF EXISTS `player`;
/*!40101 SET @saved_cs_client     = @@character_set_client */;
/*!40101 SET character_set_client = utf8 */;
CREATE TABLE `player` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `name` varchar(64) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB AUTO_INCREMENT=3 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci;
/*!40101 SET character_set_client = @saved_cs_client */;

--
-- Dumping data for table `player`
--

LOCK TABLES `player` WRITE;
/*!40000 ALTER TABLE `player` DISABLE KEYS */;
INSERT INTO `player` VALUES
(1,'alice'),
(2,'bob; the builder');
/*!40000 ALTER TABLE `player` ENABLE KEYS */;
UNLOCK TABLES;
/*!50003 SET @saved_sql_mode       = @@sql_mode */ ;
DELIMITER ;;
/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER player_ai AFTER INSERT ON player FOR EACH ROW
BEGIN
  INSERT INTO audit VALUES (NEW.id, 'created; ok');
END */;;
DELIMITER ;
/*!50003 SET sql_mode              = @saved_sql_mode */ ;
/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;
/*M!100616 SET NOTE_VERBOSITY=@OLD_NOTE_VERBOSITY */;

-- Dump completed on 2024-06-01 10:00:00
";

    #[test]
    fn simple_statements() {
        assert_eq!(
            texts("SELECT 1;\nSELECT 2;\n"),
            vec!["SELECT 1", "SELECT 2"]
        );
    }

    #[test]
    fn trailing_statement_without_delimiter() {
        assert_eq!(texts("SELECT 1;\nSELECT 2"), vec!["SELECT 1", "SELECT 2"]);
        assert_eq!(texts("SELECT 2  \n\t"), vec!["SELECT 2"]);
    }

    #[test]
    fn lone_delimiters_give_nothing() {
        assert!(texts(";").is_empty());
        assert!(texts(";;; ;\n;\n").is_empty());
        assert_eq!(texts(";SELECT 1;;"), vec!["SELECT 1"]);
    }

    #[test]
    fn empty_and_comment_only_inputs_give_nothing() {
        assert!(texts("").is_empty());
        assert!(texts("   \n\r\n\t").is_empty());
        assert!(texts("-- a\n# b\n/* c; */\n--\n-- ").is_empty());
        assert!(texts("/* only */;\n-- x\n;").is_empty());
    }

    #[test]
    fn leading_comments_are_dropped_and_position_is_first_code_byte() {
        let input = "-- header\n/* a; 'b */  # c\n\n  SELECT 1;";
        let stmts = split(input.as_bytes()).expect("split");
        assert_eq!(stmts.len(), 1);
        assert_eq!(stmts[0].sql, b"SELECT 1");
        assert_eq!(stmts[0].line, 4);
        assert_eq!(stmts[0].offset, input.find("SELECT").expect("pos") as u64);
    }

    #[test]
    fn comments_inside_a_statement_are_kept() {
        assert_eq!(
            texts("SELECT 1 /* ; */ + 2 -- ;\n + 3 # ;\n;"),
            vec!["SELECT 1 /* ; */ + 2 -- ;\n + 3 # ;"]
        );
    }

    #[test]
    fn trailing_whitespace_before_delimiter_is_trimmed() {
        assert_eq!(texts("SELECT 1   \n\t ;"), vec!["SELECT 1"]);
        assert_eq!(texts("SELECT 1 -- note\n;"), vec!["SELECT 1 -- note"]);
    }

    #[test]
    fn double_dash_needs_whitespace_or_control_char() {
        assert_eq!(texts("SELECT 5--1;"), vec!["SELECT 5--1"]);
        assert_eq!(texts("--x;\nSELECT 1;"), vec!["--x", "SELECT 1"]);
        assert_eq!(texts("SELECT 1 --\t;\n;"), vec!["SELECT 1 --\t;"]);
        assert_eq!(texts("SELECT 1 --\r\n;"), vec!["SELECT 1 --"]);
        assert_eq!(texts("SELECT 1 --\x01;\n;"), vec!["SELECT 1 --\x01;"]);
        assert_eq!(texts("SELECT 1 ---;"), vec!["SELECT 1 ---"]);
        assert_eq!(texts("SELECT 1 --- ;\n2;"), vec!["SELECT 1 --- ;\n2"]);
    }

    #[test]
    fn double_dash_comment_at_end_of_input() {
        assert_eq!(texts("SELECT 1;\n-- bye"), vec!["SELECT 1"]);
        assert_eq!(texts("SELECT 1;\n--"), vec!["SELECT 1"]);
        assert_eq!(texts("SELECT 1 -- bye"), vec!["SELECT 1 -- bye"]);
        assert_eq!(texts("SELECT 1 --"), vec!["SELECT 1 --"]);
        assert_eq!(texts("SELECT 1 -"), vec!["SELECT 1 -"]);
    }

    #[test]
    fn hash_comments() {
        assert_eq!(
            texts("# top ; comment\nSELECT 1 # ; not the end\n, 2;"),
            vec!["SELECT 1 # ; not the end\n, 2"]
        );
        assert!(texts("#").is_empty());
    }

    #[test]
    fn single_quote_escapes() {
        assert_eq!(
            texts(
                r"INSERT INTO t VALUES ('O\'Brien;'),('it''s; fine'),('back\\'),('\\\'');SELECT 2;"
            ),
            vec![
                r"INSERT INTO t VALUES ('O\'Brien;'),('it''s; fine'),('back\\'),('\\\'')",
                "SELECT 2"
            ]
        );
    }

    #[test]
    fn double_quote_strings() {
        assert_eq!(
            texts(r#"SELECT "a;\"b", "c"";d", 'e"f;';SELECT 2;"#),
            vec![r#"SELECT "a;\"b", "c"";d", 'e"f;'"#, "SELECT 2"]
        );
    }

    #[test]
    fn backticks_have_no_backslash_escape() {
        assert_eq!(
            texts("SELECT `a\\`;SELECT 2;"),
            vec!["SELECT `a\\`", "SELECT 2"]
        );
        assert_eq!(
            texts("SELECT `we``ird;name`, `x'y`;SELECT 2;"),
            vec!["SELECT `we``ird;name`, `x'y`", "SELECT 2"]
        );
    }

    #[test]
    fn comment_markers_inside_quotes_are_data() {
        assert_eq!(
            texts("SELECT '-- x', '# y', '/* z', \"*/\", `--`, `#`, `/*`;\nSELECT 2;"),
            vec![
                "SELECT '-- x', '# y', '/* z', \"*/\", `--`, `#`, `/*`",
                "SELECT 2"
            ]
        );
    }

    #[test]
    fn quotes_inside_comments_are_data() {
        assert_eq!(
            texts("SELECT 1 /* don't */ -- it's\n# \"q\n;SELECT 2;"),
            vec!["SELECT 1 /* don't */ -- it's\n# \"q", "SELECT 2"]
        );
        assert_eq!(texts("/* don't */ SELECT 1;"), vec!["SELECT 1"]);
    }

    #[test]
    fn raw_bytes_inside_strings() {
        let mut input = b"INSERT INTO b VALUES (_binary '".to_vec();
        for b in 0..=255u8 {
            match b {
                b'\'' => input.extend_from_slice(b"\\'"),
                b'\\' => input.extend_from_slice(b"\\\\"),
                _ => input.push(b),
            }
        }
        input.extend_from_slice(b"');\nSELECT 2;");
        let stmts = split(&input).expect("split");
        assert_eq!(stmts.len(), 2);
        assert_eq!(stmts[0].sql, input[..input.len() - 11].to_vec());
        assert_eq!(stmts[1].sql, b"SELECT 2");
        assert_eq!(stmts[1].line, 3);
    }

    #[test]
    fn conditional_comment_is_code() {
        assert_eq!(
            texts("/*!40101 SET NAMES utf8mb4 */;\n/*M!100616 SET @X=1 */;\n/*! SET @Y=2 */;"),
            vec![
                "/*!40101 SET NAMES utf8mb4 */",
                "/*M!100616 SET @X=1 */",
                "/*! SET @Y=2 */"
            ]
        );
    }

    #[test]
    fn delimiter_inside_conditional_comment_does_not_end_statement() {
        assert_eq!(
            texts("/*!50003 CREATE TRIGGER t BEFORE INSERT ON p FOR EACH ROW BEGIN SET @a=1; SET @b=2; END */;\nSELECT 2;"),
            vec![
                "/*!50003 CREATE TRIGGER t BEFORE INSERT ON p FOR EACH ROW BEGIN SET @a=1; SET @b=2; END */",
                "SELECT 2"
            ]
        );
    }

    #[test]
    fn quotes_inside_conditional_comment_are_tracked() {
        assert_eq!(
            texts("/*!50003 SET @a=';*/' */;\nSELECT 2;"),
            vec!["/*!50003 SET @a=';*/' */", "SELECT 2"]
        );
    }

    #[test]
    fn ordinary_comment_nested_in_conditional_comment() {
        assert_eq!(
            texts("/*!50003 SET @a=1 /* ; */ ; */;SELECT 2;"),
            vec!["/*!50003 SET @a=1 /* ; */ ; */", "SELECT 2"]
        );
    }

    #[test]
    fn conditional_comment_after_code_and_between_code() {
        assert_eq!(
            texts("CREATE DATABASE /*!32312 IF NOT EXISTS*/ `game` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;\nUSE `game`;"),
            vec![
                "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `game` /*!40100 DEFAULT CHARACTER SET utf8mb4 */",
                "USE `game`"
            ]
        );
    }

    #[test]
    fn delimiter_command_changes_delimiter_and_is_not_emitted() {
        let input = "DELIMITER ;;\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END;;\nDELIMITER ;\nSELECT 3;";
        assert_eq!(
            texts(input),
            vec![
                "CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END",
                "SELECT 3"
            ]
        );
        let stmts = split(input.as_bytes()).expect("split");
        assert_eq!(stmts[0].line, 2);
        assert_eq!(stmts[1].line, 4);
    }

    #[test]
    fn delimiter_command_is_case_insensitive_and_takes_any_delimiter() {
        assert_eq!(
            texts("delimiter $$\nSELECT ';' $$\nDeLiMiTeR //\nSELECT 1; SELECT 2//\ndelimiter ;\nSELECT 3;"),
            vec!["SELECT ';'", "SELECT 1; SELECT 2", "SELECT 3"]
        );
    }

    #[test]
    fn delimiter_command_with_crlf_and_surrounding_blanks() {
        assert_eq!(
            texts("  DELIMITER   ;;  \r\nSELECT 1;;\r\nDELIMITER ;\r\nSELECT 2;\r\n"),
            vec!["SELECT 1", "SELECT 2"]
        );
    }

    #[test]
    fn delimiter_command_after_leading_comment() {
        assert_eq!(
            texts("-- switch\n/* now */ DELIMITER $$\nSELECT 1$$"),
            vec!["SELECT 1"]
        );
    }

    #[test]
    fn delimiter_command_takes_first_word_or_quoted_argument() {
        assert_eq!(
            texts("DELIMITER $$ trailing junk\nSELECT 1$$"),
            vec!["SELECT 1"]
        );
        assert_eq!(texts("DELIMITER '&&'\nSELECT 1&&"), vec!["SELECT 1"]);
    }

    #[test]
    fn delimiter_command_without_argument_keeps_delimiter() {
        assert_eq!(texts("DELIMITER\nSELECT 1;"), vec!["SELECT 1"]);
        assert_eq!(texts("DELIMITER   \nSELECT 1;"), vec!["SELECT 1"]);
        assert!(texts("DELIMITER").is_empty());
        assert_eq!(texts("DELIMITER \\x\nSELECT 1;"), vec!["SELECT 1"]);
    }

    #[test]
    fn delimiter_at_end_of_input_applies() {
        let mut s = Splitter::new();
        let mut out = Vec::new();
        s.feed(b"DELIMITER $$", &mut out);
        s.finish(&mut out).expect("finish");
        assert_eq!(s.delimiter(), b"$$");
        assert!(out.is_empty());
    }

    #[test]
    fn delimiter_word_not_at_statement_start_is_plain_code() {
        assert_eq!(
            texts("SELECT 1 DELIMITER ;;\nSELECT 2;"),
            vec!["SELECT 1 DELIMITER", "SELECT 2"]
        );
        assert_eq!(texts("DELIMITERS;"), vec!["DELIMITERS"]);
    }

    #[test]
    fn multi_char_delimiter_split_across_feeds() {
        let mut s = Splitter::new();
        let mut out = Vec::new();
        s.feed(b"DELIMI", &mut out);
        s.feed(b"TER ;", &mut out);
        s.feed(b";\nSELECT 1; SELECT 2;", &mut out);
        assert!(out.is_empty());
        s.feed(b";SELECT 3", &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].sql, b"SELECT 1; SELECT 2");
        s.finish(&mut out).expect("finish");
        assert_eq!(out[1].sql, b"SELECT 3");
    }

    #[test]
    fn single_semicolon_is_code_under_double_semicolon_delimiter() {
        assert_eq!(texts("DELIMITER ;;\n;\nSELECT 1;;"), vec![";\nSELECT 1"]);
    }

    #[test]
    fn sandbox_first_line_is_dropped() {
        let input = "/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump\nSELECT 1;";
        let stmts = split(input.as_bytes()).expect("split");
        assert_eq!(stmts.len(), 1);
        assert_eq!(stmts[0].sql, b"SELECT 1");
        assert_eq!(stmts[0].line, 3);
    }

    #[test]
    fn sandbox_line_at_a_later_statement_start_is_dropped() {
        assert_eq!(
            texts("SELECT 1;\n/*M!999999\\- enable the sandbox mode */\nSELECT 2;/*M!999999\\- enable the sandbox mode */"),
            vec!["SELECT 1", "SELECT 2"]
        );
    }

    #[test]
    fn other_mariadb_conditional_comments_are_kept() {
        assert_eq!(
            texts("/*M!999999 SET @x=1 */;\n/*M!100616 SET @y=1 */;"),
            vec!["/*M!999999 SET @x=1 */", "/*M!100616 SET @y=1 */"]
        );
    }

    #[test]
    fn unterminated_single_quote() {
        let err = split(b"SELECT 1;\nSELECT 'abc;\n\n").expect_err("must fail");
        assert_eq!(
            err,
            SplitError::UnterminatedString {
                quote: b'\'',
                line: 2,
                offset: 17
            }
        );
        let msg = err.to_string();
        assert!(
            msg.contains("the dump ends inside a '...' string that starts at line 2"),
            "{msg}"
        );
    }

    #[test]
    fn unterminated_string_reports_start_of_string_with_doubled_quotes() {
        let err = split(b"SELECT 'it''s").expect_err("must fail");
        assert_eq!(
            err,
            SplitError::UnterminatedString {
                quote: b'\'',
                line: 1,
                offset: 7
            }
        );
        let err = split(b"SELECT \"a\\\"").expect_err("must fail");
        assert_eq!(
            err,
            SplitError::UnterminatedString {
                quote: b'"',
                line: 1,
                offset: 7
            }
        );
        let err = split(b"SELECT 'a\\").expect_err("must fail");
        assert!(matches!(
            err,
            SplitError::UnterminatedString { offset: 7, .. }
        ));
    }

    #[test]
    fn unterminated_backtick() {
        let err = split(b"\nSELECT `abc").expect_err("must fail");
        assert_eq!(
            err,
            SplitError::UnterminatedString {
                quote: b'`',
                line: 2,
                offset: 8
            }
        );
        assert!(err.to_string().contains("line 2"));
    }

    #[test]
    fn unterminated_comments() {
        let err = split(b"SELECT 1;\n/* never closed ;").expect_err("must fail");
        assert_eq!(
            err,
            SplitError::UnterminatedComment {
                line: 2,
                offset: 10
            }
        );
        assert!(err
            .to_string()
            .contains("the dump ends inside a /* ... */ comment that starts at line 2"));
        let err = split(b"SELECT 1 /* x").expect_err("must fail");
        assert_eq!(err, SplitError::UnterminatedComment { line: 1, offset: 9 });
        let err = split(b"\n\n/*!40101 SET x=1; ").expect_err("must fail");
        assert_eq!(err, SplitError::UnterminatedComment { line: 3, offset: 2 });
        let err = split(b"/*!40101 SET x=1 /* y */ -- z").expect_err("must fail");
        assert_eq!(err, SplitError::UnterminatedComment { line: 1, offset: 0 });
        let err = split(b"/*!40101 SET x=1 /* y ").expect_err("must fail");
        assert_eq!(err, SplitError::UnterminatedComment { line: 1, offset: 0 });
        let err = split(b"/*").expect_err("must fail");
        assert_eq!(err, SplitError::UnterminatedComment { line: 1, offset: 0 });
        let err = split(b"/*M").expect_err("must fail");
        assert_eq!(err, SplitError::UnterminatedComment { line: 1, offset: 0 });
    }

    #[test]
    fn slash_at_end_is_code() {
        assert_eq!(texts("SELECT 4 /"), vec!["SELECT 4 /"]);
        assert_eq!(texts("SELECT 4 / 2;"), vec!["SELECT 4 / 2"]);
    }

    #[test]
    fn line_and_offset_tracking() {
        let input = "SELECT 1;\n\nSELECT\n2;  SELECT 3;\n";
        let stmts = split(input.as_bytes()).expect("split");
        let got: Vec<(u64, u64)> = stmts.iter().map(|s| (s.line, s.offset)).collect();
        assert_eq!(got, vec![(1, 0), (3, 11), (4, 22)]);
    }

    #[test]
    fn bytes_seen_and_line() {
        let mut s = Splitter::new();
        let mut out = Vec::new();
        assert_eq!((s.bytes_seen(), s.line()), (0, 1));
        s.feed(b"SELECT 1;\nSEL", &mut out);
        assert_eq!((s.bytes_seen(), s.line()), (13, 2));
        s.feed(b"ECT\n2;\n", &mut out);
        assert_eq!((s.bytes_seen(), s.line()), (20, 4));
        s.finish(&mut out).expect("finish");
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].sql, b"SELECT\n2");
        assert_eq!((out[1].line, out[1].offset), (2, 10));
    }

    #[test]
    fn splitter_can_be_fed_again_after_finish() {
        let mut s = Splitter::new();
        let mut out = Vec::new();
        s.feed(b"SELECT 1", &mut out);
        s.finish(&mut out).expect("finish");
        s.feed(b"\nSELECT 2;", &mut out);
        s.finish(&mut out).expect("finish");
        let got: Vec<(&[u8], u64, u64)> = out
            .iter()
            .map(|s| (s.sql.as_slice(), s.line, s.offset))
            .collect();
        assert_eq!(
            got,
            vec![(&b"SELECT 1"[..], 1, 0), (&b"SELECT 2"[..], 2, 9)]
        );
    }

    #[test]
    fn mysqldump_80_file() {
        let stmts = texts(MYSQLDUMP_80);
        let starts: Vec<String> = stmts
            .iter()
            .map(|s| s.chars().take(24).collect::<String>())
            .collect();
        assert_eq!(stmts.len(), 66, "{starts:#?}");
        assert_eq!(
            stmts[0],
            "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */"
        );
        assert!(stmts[10].starts_with("CREATE DATABASE /*!32312 IF NOT EXISTS*/ `game`"));
        assert_eq!(stmts[11], "USE `game`");
        assert_eq!(stmts[12], "DROP TABLE IF EXISTS `player`");
        assert!(stmts[15].starts_with("CREATE TABLE `player` (\n"));
        assert!(stmts[15].ends_with("COMMENT='players -- all of them'"));
        assert_eq!(stmts[17], "LOCK TABLES `player` WRITE");
        assert_eq!(stmts[18], "/*!40000 ALTER TABLE `player` DISABLE KEYS */");
        assert!(stmts[19].starts_with("INSERT INTO `player` VALUES (1,'O\\'Brien'"));
        assert!(stmts[19].ends_with("(3,'back\\\\slash',2,'x')"));
        assert_eq!(stmts[21], "UNLOCK TABLES");
        let trigger = stmts
            .iter()
            .find(|s| s.contains("TRIGGER `player_bi`"))
            .expect("trigger");
        assert!(trigger.starts_with("/*!50003 CREATE*/ /*!50017 DEFINER="));
        assert!(trigger.ends_with("IF NEW.level < 1 THEN SET NEW.level = 1; END IF;\nEND */"));
        let procedure = stmts
            .iter()
            .find(|s| s.contains("PROCEDURE `level_up`("))
            .expect("procedure");
        assert!(procedure.ends_with("SELECT 'done;' AS msg;\nEND"));
        assert!(procedure.contains("-- bump the level; never below 1\n"));
        let event = stmts
            .iter()
            .find(|s| s.contains("EVENT `cleanup`"))
            .expect("event");
        assert!(event.ends_with("INTERVAL 1 DAY */"));
        let view = stmts
            .iter()
            .find(|s| s.contains("VIEW `top_players` AS select"))
            .expect("view");
        assert!(view.starts_with("/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER="));
        assert_eq!(
            stmts.last().map(String::as_str),
            Some("/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */")
        );
        assert!(stmts.iter().all(|s| !s.contains("DELIMITER")));
        assert!(stmts.iter().all(|s| !s.starts_with("--")));
    }

    #[test]
    fn mariadb_1011_file() {
        let stmts = texts(MARIADB_1011);
        assert_eq!(stmts.len(), 22, "{stmts:#?}");
        assert_eq!(
            stmts[0],
            "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */"
        );
        assert_eq!(
            stmts[6],
            "/*M!100616 SET @OLD_NOTE_VERBOSITY=@@NOTE_VERBOSITY, NOTE_VERBOSITY=0 */"
        );
        assert_eq!(
            stmts[14],
            "INSERT INTO `player` VALUES\n(1,'alice'),\n(2,'bob; the builder')"
        );
        assert!(stmts[18].ends_with("INSERT INTO audit VALUES (NEW.id, 'created; ok');\nEND */"));
        assert_eq!(
            stmts[21],
            "/*M!100616 SET NOTE_VERBOSITY=@OLD_NOTE_VERBOSITY */"
        );
        let first = &split(MARIADB_1011.as_bytes()).expect("split")[0];
        assert_eq!(first.line, 8);
    }

    #[test]
    fn dumps_fed_in_every_chunk_size_agree() {
        for input in [MYSQLDUMP_80, MARIADB_1011] {
            let whole = split_chunked(input.as_bytes(), &[usize::MAX]);
            for n in 1..70 {
                assert_eq!(whole, split_chunked(input.as_bytes(), &[n]), "chunk {n}");
            }
        }
    }

    #[test]
    fn strings_are_read_per_character_of_the_declared_charset() {
        // 0x81 0x5C is one gbk character: the quote after it ends the string, and a value
        // ending in such a character before an escaped backslash ends too.
        let input: &[u8] = b"/*!40101 SET NAMES gbk */;\nINSERT INTO t VALUES ('\x81\x5C'),('a;b'),('\x95\x5C\\\\');\nSELECT 1;\n/*!40101 SET NAMES utf8mb4 */;\nSELECT '\\'';\n";
        let whole = split_chunked(input, &[usize::MAX]).unwrap();
        let texts: Vec<&[u8]> = whole.iter().map(|s| &s.sql[..]).collect();
        assert_eq!(texts.len(), 5, "{whole:?}");
        assert_eq!(texts[2], b"SELECT 1");
        assert_eq!(whole[0].charset, Charset::AsciiSafe);
        assert_eq!(whole[1].charset, Charset::Gbk);
        assert_eq!(whole[3].charset, Charset::Gbk);
        assert_eq!(whole[4].charset, Charset::AsciiSafe);
        for n in 1..40 {
            assert_eq!(whole, split_chunked(input, &[n]).unwrap(), "chunk {n}");
        }
        // A splitter that starts inside a gbk part of a dump.
        let mut s = Splitter::with_charset(Charset::Gbk);
        let mut out = Vec::new();
        s.feed(b"INSERT INTO t VALUES ('\x81\x5C');", &mut out);
        s.finish(&mut out).unwrap();
        assert_eq!(out.len(), 1);
        let mut s = Splitter::new();
        let mut out = Vec::new();
        s.feed(b"INSERT INTO t VALUES ('\x81\x5C');", &mut out);
        assert!(s.finish(&mut out).is_err());
    }

    #[test]
    fn statements_over_the_limit_are_refused() {
        let mut s = Splitter::new().with_limit(1000);
        let mut out = Vec::new();
        s.feed(b"SELECT 1;\nINSERT INTO t VALUES ('", &mut out);
        assert!(s.check().is_ok());
        for _ in 0..20 {
            s.feed(&[b'x'; 100], &mut out);
        }
        match s.check() {
            Err(SplitError::TooLarge {
                line: 2,
                offset: 10,
                size,
                limit: 1000,
            }) => assert!(size > 1000),
            other => panic!("{other:?}"),
        }
        // A complete statement over the limit is refused as well.
        let mut s = Splitter::new().with_limit(10);
        s.feed(b"SELECT 'a long one';", &mut out);
        assert!(matches!(s.check(), Err(SplitError::TooLarge { .. })));
        assert!(s
            .check()
            .unwrap_err()
            .to_string()
            .contains("max_allowed_packet"));
    }

    #[test]
    fn huge_statement_across_many_feeds() {
        let mut input = b"INSERT INTO `t` VALUES ".to_vec();
        for i in 0..40_000 {
            if i > 0 {
                input.push(b',');
            }
            input.extend_from_slice(format!("({i},'row;{i}\\'s',NULL)").as_bytes());
        }
        let first_len = input.len();
        input.extend_from_slice(b";\nSELECT 1;\n");
        input.extend_from_within(..first_len);
        input.extend_from_slice(b";");
        for size in [4096, 65536, 1 << 20, 1000] {
            let stmts = split_chunked(&input, &[size]).expect("split");
            assert_eq!(stmts.len(), 3);
            assert_eq!(stmts[0].sql, input[..first_len].to_vec());
            assert_eq!(stmts[1].sql, b"SELECT 1");
            assert_eq!(stmts[2].sql, input[..first_len].to_vec());
            assert_eq!(stmts[2].line, 3);
            check_positions(&input, &stmts);
        }
    }

    #[test]
    fn chunk_boundaries_inside_tokens() {
        let input = b"SELECT 'it''s', \"a\\\"b\" -- c\n /*!4 x */ /* y */;SELECT 2;";
        let whole = split(input).expect("split");
        assert_eq!(whole.len(), 2);
        for cut in 0..input.len() {
            let mut s = Splitter::new();
            let mut out = Vec::new();
            s.feed(&input[..cut], &mut out);
            s.feed(&input[cut..], &mut out);
            s.finish(&mut out).expect("finish");
            assert_eq!(out, whole, "cut at {cut}");
        }
    }

    #[test]
    fn find_helpers() {
        let hay: Vec<u8> = (0..100u8).collect();
        for i in 0..100u8 {
            assert_eq!(find_byte(&hay, i), Some(usize::from(i)));
            assert_eq!(find_either(&hay, 200, i), Some(usize::from(i)));
            assert_eq!(find_either(&hay, i, 200), Some(usize::from(i)));
        }
        assert_eq!(find_byte(&hay, 200), None);
        assert_eq!(find_either(&hay, 200, 201), None);
        assert_eq!(find_either(b"", 1, 2), None);
        let ff = [0xffu8; 40];
        assert_eq!(find_byte(&ff, 0xfe), None);
        assert_eq!(find_either(&ff, 0x7f, 0), None);
        assert_eq!(count_newlines(b"a\nb\n\nc"), 3);
    }

    // ---------- property tests ----------

    /// Bytes that matter to the splitter, plus anything else.
    fn tricky_byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            3 => prop::sample::select(b";'\"`\\-#/*\n \t$M!()|".to_vec()),
            1 => any::<u8>(),
        ]
    }

    /// A quoted string or identifier holding arbitrary bytes, correctly
    /// escaped, in one of the styles the server accepts.
    fn quoted() -> impl Strategy<Value = Vec<u8>> {
        (
            prop::sample::select(vec![b'\'', b'"', b'`']),
            prop::collection::vec(tricky_byte(), 0..24),
            any::<bool>(),
        )
            .prop_map(|(q, content, double_style)| {
                let mut v = vec![q];
                for b in content {
                    if b == q {
                        if q == b'`' || double_style {
                            v.extend_from_slice(&[q, q]);
                        } else {
                            v.extend_from_slice(&[b'\\', q]);
                        }
                    } else if b == b'\\' && q != b'`' {
                        v.extend_from_slice(b"\\\\");
                    } else {
                        v.push(b);
                    }
                }
                v.push(q);
                v
            })
    }

    fn word() -> impl Strategy<Value = Vec<u8>> {
        "[A-Za-z_][A-Za-z0-9_]{0,8}".prop_map(String::into_bytes)
    }

    fn block_comment() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(tricky_byte(), 0..24).prop_map(|mut body| {
            while body.first() == Some(&b'!') || body.starts_with(b"M!") {
                body.remove(0);
            }
            while let Some(i) = body.windows(2).position(|w| w == b"*/") {
                body.remove(i);
            }
            let mut v = b"/*".to_vec();
            v.extend_from_slice(&body);
            v.extend_from_slice(b"*/");
            v
        })
    }

    fn line_comment() -> impl Strategy<Value = Vec<u8>> {
        (
            prop::sample::select(vec![&b"-- "[..], b"--\t", b"#"]),
            prop::collection::vec(tricky_byte(), 0..24),
        )
            .prop_map(|(open, body)| {
                let mut v = open.to_vec();
                v.extend(body.into_iter().filter(|&b| b != b'\n'));
                v.push(b'\n');
                v
            })
    }

    fn cond_comment() -> impl Strategy<Value = Vec<u8>> {
        (
            prop::sample::select(vec![&b"/*!40101 "[..], b"/*M!100616 ", b"/*!", b"/*!50003"]),
            prop::collection::vec(
                prop_oneof![
                    word(),
                    quoted(),
                    Just(b";".to_vec()),
                    Just(b";;".to_vec()),
                    Just(b"$$".to_vec()),
                    Just(b"=".to_vec())
                ],
                0..6,
            ),
        )
            .prop_map(|(open, parts)| {
                let mut v = open.to_vec();
                for p in parts {
                    v.push(b' ');
                    v.extend_from_slice(&p);
                }
                v.extend_from_slice(b" */");
                v
            })
    }

    /// A statement that the splitter must give back unchanged when it is
    /// followed directly by a delimiter. Fragments are separated by one
    /// space; the last one never ends in a way that could merge with the
    /// delimiter.
    fn statement() -> impl Strategy<Value = Vec<u8>> {
        let first = prop_oneof![
            3 => prop::sample::select(vec![
                &b"SELECT"[..], b"INSERT", b"SET", b"CREATE", b"UPDATE", b"CALL", b"REPLACE"
            ])
            .prop_map(<[u8]>::to_vec),
            1 => cond_comment(),
        ];
        let middle = prop_oneof![
            4 => word(),
            4 => quoted(),
            1 => block_comment(),
            1 => line_comment(),
            1 => cond_comment(),
            1 => prop::sample::select(vec![
                &b"="[..], b"(", b")", b",", b"1--2", b"-", b"-5", b"a-b", b"*", b"@", b".", b"\n", b"\\"
            ])
            .prop_map(<[u8]>::to_vec),
        ];
        let last = prop_oneof![word(), quoted(), block_comment(), cond_comment()];
        (first, prop::collection::vec(middle, 0..8), last).prop_map(|(first, middle, last)| {
            let mut v = first;
            for m in middle.into_iter().chain(std::iter::once(last)) {
                v.push(b' ');
                v.extend_from_slice(&m);
            }
            v
        })
    }

    /// Text that may sit between statements: dropped by the splitter.
    fn gap() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop_oneof![
                Just(b"\n".to_vec()),
                Just(b" \t\r\n".to_vec()),
                line_comment(),
                block_comment(),
                Just(b"-- Dump completed on 2024-05-01 12:00:00\n".to_vec()),
            ],
            0..3,
        )
        .prop_map(|parts| parts.concat())
    }

    fn chunk_sizes() -> impl Strategy<Value = Vec<usize>> {
        prop::collection::vec(1usize..80, 1..12)
    }

    /// Builds `gap stmt delim gap stmt delim ...` and the statements the
    /// splitter has to find in it.
    fn assemble(
        out: &mut Vec<u8>,
        expected: &mut Vec<Statement>,
        stmts: &[(Vec<u8>, Vec<u8>)],
        delim: &[u8],
    ) {
        for (g, s) in stmts {
            out.extend_from_slice(g);
            expected.push(Statement {
                sql: s.clone(),
                line: 1 + count_newlines(out),
                offset: out.len() as u64,
                charset: Charset::AsciiSafe,
            });
            out.extend_from_slice(s);
            out.extend_from_slice(delim);
        }
    }

    fn random_input() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop_oneof![
                3 => prop::collection::vec(tricky_byte(), 1..4),
                1 => prop::sample::select(vec![
                    &b"DELIMITER ;;\n"[..], b"DELIMITER ;\n", b"delimiter $$ \r\n", b"DELIMITER",
                    b";", b";;", b"$$", b"'", b"\"", b"`", b"\\", b"--", b"-- ", b"#", b"/*", b"*/",
                    b"/*!", b"/*M!", b"/*!40101 ", b"/*M!999999\\- enable the sandbox mode */",
                    b"\n", b"\r\n", b"SELECT ", b"x", b"''", b"``",
                ])
                .prop_map(<[u8]>::to_vec),
            ],
            0..120,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn prop_statements_survive_any_chunking(
            stmts in prop::collection::vec((gap(), statement()), 0..10),
            tail in gap(),
            sizes in chunk_sizes(),
        ) {
            let mut input = Vec::new();
            let mut expected = Vec::new();
            assemble(&mut input, &mut expected, &stmts, b";\n");
            input.extend_from_slice(&tail);
            let whole = split_chunked(&input, &[usize::MAX]);
            prop_assert_eq!(whole.as_ref(), Ok(&expected));
            prop_assert_eq!(&split_chunked(&input, &sizes), &whole);
            prop_assert_eq!(&split_chunked(&input, &[1]), &whole);
        }

        #[test]
        fn prop_statements_without_final_delimiter(
            stmts in prop::collection::vec((gap(), statement()), 1..6),
            sizes in chunk_sizes(),
        ) {
            let mut input = Vec::new();
            let mut expected = Vec::new();
            assemble(&mut input, &mut expected, &stmts, b";");
            input.pop();
            prop_assert_eq!(split_chunked(&input, &sizes), Ok(expected));
        }

        #[test]
        fn prop_multi_char_delimiter(
            before in prop::collection::vec((gap(), statement()), 0..3),
            delim in prop::sample::select(vec![&b";;"[..], b"$$", b"//", b"|", b"~~", b"END_"]),
            inside in prop::collection::vec((gap(), statement()), 0..6),
            after in prop::collection::vec((gap(), statement()), 0..3),
            sizes in chunk_sizes(),
        ) {
            prop_assume!(!inside.iter().any(|(_, s)| s.windows(delim.len()).any(|w| w == delim)) || delim != b"END_");
            let mut input = Vec::new();
            let mut expected = Vec::new();
            assemble(&mut input, &mut expected, &before, b";\n");
            input.extend_from_slice(b"DELIMITER ");
            input.extend_from_slice(delim);
            input.extend_from_slice(b"\n");
            let mut terminated = delim.to_vec();
            terminated.push(b'\n');
            assemble(&mut input, &mut expected, &inside, &terminated);
            input.extend_from_slice(b"DELIMITER ;\n");
            assemble(&mut input, &mut expected, &after, b";\n");
            let whole = split_chunked(&input, &[usize::MAX]);
            prop_assert_eq!(whole.as_ref(), Ok(&expected));
            prop_assert_eq!(&split_chunked(&input, &sizes), &whole);
            prop_assert_eq!(&split_chunked(&input, &[1]), &whole);
        }

        #[test]
        fn prop_random_bytes_never_panic_and_are_chunk_invariant(
            input in random_input(),
            sizes in chunk_sizes(),
        ) {
            let whole = split_chunked(&input, &[usize::MAX]);
            prop_assert_eq!(&split_chunked(&input, &sizes), &whole);
            prop_assert_eq!(&split_chunked(&input, &[1]), &whole);
            if let Ok(stmts) = &whole {
                check_positions(&input, stmts);
            }
        }

        #[test]
        fn prop_arbitrary_bytes_never_panic(
            input in prop::collection::vec(any::<u8>(), 0..300),
            sizes in chunk_sizes(),
        ) {
            let whole = split_chunked(&input, &[usize::MAX]);
            prop_assert_eq!(&split_chunked(&input, &sizes), &whole);
            if let Ok(stmts) = &whole {
                check_positions(&input, stmts);
            }
        }
    }
}
