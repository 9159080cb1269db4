//! Streaming splitter that turns the byte stream of a mysqldump or
//! mariadb-dump file into the statements the `mysql` / `mariadb`
//! command-line client would send to the server.
//!
//! The splitter works on raw bytes (dumps routinely hold binary data inside
//! string literals), keeps its state across [`Splitter::feed`] calls so a
//! chunk may end anywhere, and never rescans bytes it has already classified,
//! so the total work is linear in the size of the input.

use std::fmt;

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
            cond_start: 0,
            cmd_start: 0,
            delim: b";".to_vec(),
            code_special: [false; 256],
            cond_special: [false; 256],
            line_idx: 0,
            line_no: 1,
            newlines: 0,
            bytes_seen: 0,
        };
        s.rebuild_tables();
        s
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
            State::BlockComment { keep } => {
                let at = if keep && self.in_cond {
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
            State::Between | State::LineComment { keep: false } => self.pos,
            State::BlockComment { keep: false } => self.comment_start,
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
                    self.comment_start = p;
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
        let mut p = self.pos;
        while p < buf.len() && !table[usize::from(buf[p])] {
            p += 1;
        }
        self.pos = p;
        if p >= buf.len() {
            return Flow::Continue;
        }
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
        let rest = self.buf.len() - resume;
        let sql = if start == 0 && rest < e && self.buf.capacity() / 2 <= e {
            // Hand the buffer itself over instead of copying a large
            // statement; only the (smaller) remainder is copied.
            self.line_at(resume);
            let tail = self.buf[resume..].to_vec();
            let mut sql = std::mem::replace(&mut self.buf, tail);
            sql.truncate(e);
            self.base += resume as u64;
            self.line_idx -= resume;
            self.pos = 0;
            self.str_close = NONE;
            sql
        } else {
            self.buf[start..e].to_vec()
        };
        out.push(Statement { sql, line, offset });
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
    let mut n = 0u64;
    for block in hay.chunks(4096) {
        n += block.iter().filter(|&&b| b == b'\n').count() as u64;
    }
    n
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
