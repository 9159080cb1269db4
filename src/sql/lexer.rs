//! A token reader for SQL text as mysqldump writes it: skips whitespace and
//! ordinary comments, reads the inside of conditional comments as code, and
//! reads quoted strings per character of the client character set.

use super::charset::{self, Charset};
use super::split::find_byte;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tok {
    /// Bare word: keyword, identifier or number.
    Word,
    /// Backtick-quoted identifier.
    Quoted,
    /// `'...'` or `"..."` literal.
    Str,
    /// Any other single byte.
    Punct(u8),
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Token {
    pub(crate) kind: Tok,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

/// Token reader that skips whitespace and ordinary comments and reads the
/// inside of `/*!NNNNN ... */` and `/*M!NNNNNN ... */` as code.
#[derive(Debug, Clone)]
pub(crate) struct Lexer<'a> {
    pub(crate) s: &'a [u8],
    pub(crate) pos: usize,
    pub(crate) in_cond: bool,
    pub(crate) cs: Charset,
}

impl<'a> Lexer<'a> {
    pub(crate) fn new(s: &'a [u8], cs: Charset) -> Self {
        Lexer {
            s,
            pos: 0,
            in_cond: false,
            cs,
        }
    }

    pub(crate) fn skip_trivia(&mut self) {
        let s = self.s;
        loop {
            let p = self.pos;
            let Some(&b) = s.get(p) else {
                return;
            };
            match b {
                _ if is_ws(b) => self.pos += 1,
                b'#' => self.pos = line_end(s, p),
                b'-' if s.get(p + 1) == Some(&b'-')
                    && s.get(p + 2).is_none_or(|&c| c <= b' ' || c == 0x7f) =>
                {
                    self.pos = line_end(s, p)
                }
                b'/' if s.get(p + 1) == Some(&b'*') => {
                    let opener = match (s.get(p + 2), s.get(p + 3)) {
                        (Some(b'!'), _) => 3,
                        (Some(b'M'), Some(b'!')) => 4,
                        _ => 0,
                    };
                    if opener > 0 && !self.in_cond {
                        let mut q = p + opener;
                        while s.get(q).is_some_and(u8::is_ascii_digit) {
                            q += 1;
                        }
                        self.pos = q;
                        self.in_cond = true;
                    } else {
                        self.pos = comment_end(s, p + 2);
                    }
                }
                b'*' if self.in_cond && s.get(p + 1) == Some(&b'/') => {
                    self.pos = p + 2;
                    self.in_cond = false;
                }
                _ => return,
            }
        }
    }

    pub(crate) fn next_token(&mut self) -> Option<Token> {
        self.skip_trivia();
        let s = self.s;
        let start = self.pos;
        let &b = s.get(start)?;
        let kind = if b == b'`' {
            self.pos = quoted_end(s, start, self.cs);
            Tok::Quoted
        } else if b == b'\'' || b == b'"' {
            self.pos = quoted_end(s, start, self.cs);
            Tok::Str
        } else if is_ident(b) {
            let mut e = start + 1;
            while e < s.len() && is_ident(s[e]) {
                e += 1;
            }
            self.pos = e;
            Tok::Word
        } else {
            self.pos = start + 1;
            Tok::Punct(b)
        };
        Some(Token {
            kind,
            start,
            end: self.pos,
        })
    }

    pub(crate) fn peek(&self) -> Option<Token> {
        self.clone().next_token()
    }

    pub(crate) fn peek_word(&self, word: &str) -> bool {
        self.peek()
            .is_some_and(|t| t.kind == Tok::Word && kw(&self.s[t.start..t.end], word))
    }

    pub(crate) fn peek_punct(&self, c: u8) -> bool {
        self.peek().is_some_and(|t| t.kind == Tok::Punct(c))
    }

    /// Consumes the next token if it is the keyword `word`.
    pub(crate) fn eat_word(&mut self, word: &str) -> bool {
        let mut probe = self.clone();
        match probe.next_token() {
            Some(t) if t.kind == Tok::Word && kw(&self.s[t.start..t.end], word) => {
                *self = probe;
                true
            }
            _ => false,
        }
    }

    /// Consumes the keywords `words` if they all come next.
    pub(crate) fn eat_words(&mut self, words: &[&str]) -> bool {
        let mut probe = self.clone();
        if words.iter().all(|w| probe.eat_word(w)) {
            *self = probe;
            true
        } else {
            false
        }
    }

    pub(crate) fn eat_punct(&mut self, c: u8) -> bool {
        let mut probe = self.clone();
        match probe.next_token() {
            Some(t) if t.kind == Tok::Punct(c) => {
                *self = probe;
                true
            }
            _ => false,
        }
    }

    /// Skips a balanced `( ... )` group if one comes next.
    pub(crate) fn skip_group(&mut self) {
        if !self.eat_punct(b'(') {
            return;
        }
        let mut depth = 1u32;
        while let Some(t) = self.next_token() {
            match t.kind {
                Tok::Punct(b'(') => depth += 1,
                Tok::Punct(b')') => {
                    depth -= 1;
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    /// Reads a possibly qualified name (`t`, `db`.`t`) and returns its last
    /// part, unquoted.
    pub(crate) fn name(&mut self) -> Option<String> {
        self.qualified_name().map(|(_, name)| name)
    }

    /// Reads a possibly qualified name: (`db` if given, the name), unquoted.
    pub(crate) fn qualified_name(&mut self) -> Option<(Option<String>, String)> {
        let t = self.next_token()?;
        let mut parts = vec![ident_text(self.s, t)?];
        loop {
            let mut probe = self.clone();
            if !probe.eat_punct(b'.') {
                break;
            }
            match probe.next_token().and_then(|t| ident_text(self.s, t)) {
                Some(part) => {
                    parts.push(part);
                    *self = probe;
                }
                None => break,
            }
        }
        let name = parts.pop()?;
        Some((parts.pop(), name))
    }
}

/// The unquoted text of an identifier token.
pub(crate) fn ident_text(s: &[u8], t: Token) -> Option<String> {
    let raw = &s[t.start..t.end];
    match t.kind {
        Tok::Word => Some(String::from_utf8_lossy(raw).into_owned()),
        Tok::Quoted | Tok::Str => {
            let q = raw[0];
            let inner = if raw.len() >= 2 && raw[raw.len() - 1] == q {
                &raw[1..raw.len() - 1]
            } else {
                &raw[1..]
            };
            let mut v = Vec::with_capacity(inner.len());
            let mut i = 0;
            while i < inner.len() {
                let c = inner[i];
                let doubled = c == q && inner.get(i + 1) == Some(&q);
                let escaped = c == b'\\' && q != b'`' && i + 1 < inner.len();
                if doubled || escaped {
                    i += 1;
                }
                v.push(inner[i]);
                i += 1;
            }
            Some(String::from_utf8_lossy(&v).into_owned())
        }
        Tok::Punct(_) => None,
    }
}

/// Position just after the quoted string or identifier opening at `p`
/// (`s[p]` is the quote), or the end of `s` if it is not closed; a doubled
/// quote stays inside.
pub(crate) fn quoted_end(s: &[u8], p: usize, cs: Charset) -> usize {
    let q = s[p];
    let mut i = p + 1;
    loop {
        match charset::quoted_end(s, i, q, cs) {
            Some(end) if s.get(end) == Some(&q) => i = end + 1,
            Some(end) => return end,
            None => return s.len(),
        }
    }
}

/// Position just after the `*/` closing a comment whose body starts at `p`.
pub(crate) fn comment_end(s: &[u8], mut p: usize) -> usize {
    while p < s.len() {
        let Some(j) = find_byte(&s[p..], b'*') else {
            return s.len();
        };
        let at = p + j;
        if s.get(at + 1) == Some(&b'/') {
            return at + 2;
        }
        p = at + 1;
    }
    s.len()
}

/// Position just after the newline ending the line that holds `p`.
pub(crate) fn line_end(s: &[u8], p: usize) -> usize {
    find_byte(&s[p..], b'\n').map_or(s.len(), |j| p + j + 1)
}

pub(crate) fn skip_ws(s: &[u8], mut p: usize) -> usize {
    while p < s.len() && is_ws(s[p]) {
        p += 1;
    }
    p
}

#[inline]
pub(crate) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// A byte of a bare identifier or number.
#[inline]
pub(crate) fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// `word` is the keyword `k` (ASCII case-insensitive).
#[inline]
pub(crate) fn kw(word: &[u8], k: &str) -> bool {
    word.eq_ignore_ascii_case(k.as_bytes())
}
