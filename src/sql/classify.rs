//! Recognises what a dump statement is (which table it creates, fills or
//! locks, whether it only changes session settings, ...) and rewrites
//! `DEFINER=` clauses.
//!
//! Statements are looked at through the conditional comments mysqldump and
//! mariadb-dump wrap them in: `/*!40000 ALTER TABLE ... */` is an
//! `ALTER TABLE`, and `/*!50003 CREATE*/ /*!50017 DEFINER=...*/ /*!50003
//! TRIGGER ...*/` is a trigger.

use std::borrow::Cow;

use super::split::{find_byte, find_either};

/// What a statement is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `CREATE DATABASE` / `CREATE SCHEMA`.
    CreateDatabase { db: String },
    /// `USE db`.
    Use { db: String },
    /// `CREATE TABLE`.
    CreateTable { table: String },
    /// `DROP TABLE [IF EXISTS]` (the first table named).
    DropTable { table: String },
    /// `INSERT` or `REPLACE`; `rows` is the number of row tuples after
    /// `VALUES` (1 for `INSERT ... SET`, 0 for `INSERT ... SELECT`).
    Insert { table: String, rows: u64 },
    /// `LOCK TABLES`.
    LockTables,
    /// `UNLOCK TABLES`.
    UnlockTables,
    /// `ALTER TABLE`, e.g. `/*!40000 ALTER TABLE t DISABLE KEYS */`.
    AlterTable { table: String },
    /// `CREATE [..] VIEW`.
    CreateView { name: String },
    /// `CREATE [..] TRIGGER name ... ON table`.
    CreateTrigger { name: String, table: String },
    /// `CREATE [..] PROCEDURE` or `FUNCTION`.
    CreateRoutine { name: String },
    /// `CREATE [..] EVENT`.
    CreateEvent { name: String },
    /// `SET ...`: session settings.
    Set,
    /// Anything else.
    Other,
}

/// Tells what `sql` (one statement, without its delimiter) is.
pub fn classify(sql: &[u8]) -> Kind {
    let mut lx = Lexer::new(sql);
    let Some(first) = lx.next_token() else {
        return Kind::Other;
    };
    if first.kind != Tok::Word {
        return Kind::Other;
    }
    let word = &sql[first.start..first.end];
    if kw(word, "SET") {
        Kind::Set
    } else if kw(word, "USE") {
        match lx.name() {
            Some(db) => Kind::Use { db },
            None => Kind::Other,
        }
    } else if kw(word, "CREATE") {
        create(&mut lx)
    } else if kw(word, "DROP") {
        lx.eat_word("TEMPORARY");
        if !(lx.eat_word("TABLE") || lx.eat_word("TABLES")) {
            return Kind::Other;
        }
        lx.eat_words(&["IF", "EXISTS"]);
        match lx.name() {
            Some(table) => Kind::DropTable { table },
            None => Kind::Other,
        }
    } else if kw(word, "INSERT") || kw(word, "REPLACE") {
        insert(&mut lx)
    } else if kw(word, "LOCK") {
        if lx.eat_word("TABLES") || lx.eat_word("TABLE") {
            Kind::LockTables
        } else {
            Kind::Other
        }
    } else if kw(word, "UNLOCK") {
        if lx.eat_word("TABLES") || lx.eat_word("TABLE") {
            Kind::UnlockTables
        } else {
            Kind::Other
        }
    } else if kw(word, "ALTER") {
        while lx.eat_word("ONLINE") || lx.eat_word("OFFLINE") || lx.eat_word("IGNORE") {}
        if !lx.eat_word("TABLE") {
            return Kind::Other;
        }
        match lx.name() {
            Some(table) => Kind::AlterTable { table },
            None => Kind::Other,
        }
    } else {
        Kind::Other
    }
}

/// `CREATE` has been read.
fn create(lx: &mut Lexer<'_>) -> Kind {
    // Clauses that may sit between CREATE and the object type.
    loop {
        if lx.eat_words(&["OR", "REPLACE"])
            || lx.eat_word("TEMPORARY")
            || lx.eat_word("AGGREGATE")
            || lx.eat_word("ONLINE")
            || lx.eat_word("OFFLINE")
        {
            continue;
        }
        if lx.eat_word("ALGORITHM") {
            lx.eat_punct(b'=');
            lx.next_token();
            continue;
        }
        if lx.eat_words(&["SQL", "SECURITY"]) {
            lx.next_token();
            continue;
        }
        if lx.eat_word("DEFINER") {
            lx.eat_punct(b'=');
            let at = skip_ws(lx.s, lx.pos);
            match account_end(lx.s, at) {
                Some(end) => lx.pos = end,
                None => {
                    lx.next_token();
                }
            }
            continue;
        }
        break;
    }
    if lx.eat_word("DATABASE") || lx.eat_word("SCHEMA") {
        lx.eat_words(&["IF", "NOT", "EXISTS"]);
        return match lx.name() {
            Some(db) => Kind::CreateDatabase { db },
            None => Kind::Other,
        };
    }
    if lx.eat_word("TABLE") {
        lx.eat_words(&["IF", "NOT", "EXISTS"]);
        return match lx.name() {
            Some(table) => Kind::CreateTable { table },
            None => Kind::Other,
        };
    }
    if lx.eat_word("VIEW") {
        lx.eat_words(&["IF", "NOT", "EXISTS"]);
        return match lx.name() {
            Some(name) => Kind::CreateView { name },
            None => Kind::Other,
        };
    }
    if lx.eat_word("TRIGGER") {
        lx.eat_words(&["IF", "NOT", "EXISTS"]);
        let Some(name) = lx.name() else {
            return Kind::Other;
        };
        // {BEFORE | AFTER} {INSERT | UPDATE | DELETE} ON table
        let mut table = String::new();
        for _ in 0..8 {
            if lx.eat_word("ON") {
                table = lx.name().unwrap_or_default();
                break;
            }
            if lx.next_token().is_none() {
                break;
            }
        }
        return Kind::CreateTrigger { name, table };
    }
    if lx.eat_word("PROCEDURE") || lx.eat_word("FUNCTION") {
        lx.eat_words(&["IF", "NOT", "EXISTS"]);
        return match lx.name() {
            Some(name) => Kind::CreateRoutine { name },
            None => Kind::Other,
        };
    }
    if lx.eat_word("EVENT") {
        lx.eat_words(&["IF", "NOT", "EXISTS"]);
        return match lx.name() {
            Some(name) => Kind::CreateEvent { name },
            None => Kind::Other,
        };
    }
    Kind::Other
}

/// `INSERT` or `REPLACE` has been read.
fn insert(lx: &mut Lexer<'_>) -> Kind {
    while lx.eat_word("LOW_PRIORITY")
        || lx.eat_word("DELAYED")
        || lx.eat_word("HIGH_PRIORITY")
        || lx.eat_word("IGNORE")
    {}
    lx.eat_word("INTO");
    let Some(table) = lx.name() else {
        return Kind::Other;
    };
    if lx.eat_word("PARTITION") {
        lx.skip_group();
    }
    if lx.peek_punct(b'(') {
        let save = lx.clone();
        lx.skip_group();
        // `INSERT INTO t (SELECT ...)` has no column list.
        if !(lx.peek_word("VALUES") || lx.peek_word("VALUE") || lx.peek_word("SELECT")) {
            *lx = save;
        }
    }
    let rows = if lx.eat_word("VALUES") || lx.eat_word("VALUE") {
        count_rows(lx.s, lx.pos)
    } else if lx.eat_word("SET") {
        1
    } else {
        0
    };
    Kind::Insert { table, rows }
}

/// Bytes the row counter has to look at inside a row tuple.
const ROW_SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b'(' as usize] = true;
    t[b')' as usize] = true;
    t[b'\'' as usize] = true;
    t[b'"' as usize] = true;
    t[b'`' as usize] = true;
    t
};

/// Counts the top-level `( ... )` tuples of a `VALUES` list starting at
/// `p`, stopping at whatever follows the list (`ON DUPLICATE KEY UPDATE`,
/// `AS alias`, ...). Never fails: a malformed list gives the tuples seen.
fn count_rows(s: &[u8], mut p: usize) -> u64 {
    let mut rows = 0u64;
    let mut depth = 0u64;
    while p < s.len() {
        if depth == 0 {
            let b = s[p];
            if b == b'(' {
                rows += 1;
                depth = 1;
                p += 1;
            } else if b == b',' || is_ws(b) {
                p += 1;
            } else if s[p..].len() >= 3
                && s[p..p + 3].eq_ignore_ascii_case(b"ROW")
                && s.get(p + 3).is_some_and(|&c| c == b'(' || is_ws(c))
            {
                p += 3;
            } else {
                break;
            }
            continue;
        }
        while p < s.len() && !ROW_SPECIAL[usize::from(s[p])] {
            p += 1;
        }
        let Some(&b) = s.get(p) else {
            break;
        };
        match b {
            b'(' => {
                depth += 1;
                p += 1;
            }
            b')' => {
                depth -= 1;
                p += 1;
            }
            _ => p = quoted_end(s, p),
        }
    }
    rows
}

/// Replaces every `DEFINER = user@host` clause outside string literals and
/// ordinary comments with `DEFINER=CURRENT_USER`, so that views, triggers,
/// routines and events can be created by an account that is not the one
/// that made the dump. Borrows `sql` when there is nothing to replace.
pub fn rewrite_definer(sql: &[u8]) -> Cow<'_, [u8]> {
    if !contains_definer(sql) {
        return Cow::Borrowed(sql);
    }
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut lx = Lexer::new(sql);
    while let Some(t) = lx.next_token() {
        if t.kind != Tok::Word || !kw(&sql[t.start..t.end], "DEFINER") {
            continue;
        }
        let eq = skip_ws(sql, t.end);
        if sql.get(eq) != Some(&b'=') {
            continue;
        }
        let value = skip_ws(sql, eq + 1);
        let Some(end) = account_end(sql, value) else {
            continue;
        };
        lx.pos = end;
        if is_current_user(&sql[value..end]) {
            continue;
        }
        let o = out.get_or_insert_with(|| Vec::with_capacity(sql.len()));
        o.extend_from_slice(&sql[copied..t.start]);
        o.extend_from_slice(b"DEFINER=CURRENT_USER");
        copied = end;
    }
    match out {
        None => Cow::Borrowed(sql),
        Some(mut o) => {
            o.extend_from_slice(&sql[copied..]);
            Cow::Owned(o)
        }
    }
}

/// `value` is `CURRENT_USER` or `CURRENT_USER()` already.
fn is_current_user(value: &[u8]) -> bool {
    let name = b"CURRENT_USER";
    if value.len() < name.len() || !value[..name.len()].eq_ignore_ascii_case(name) {
        return false;
    }
    value[name.len()..]
        .iter()
        .all(|&b| b == b'(' || b == b')' || is_ws(b))
}

/// Case-insensitive search for `DEFINER`.
fn contains_definer(s: &[u8]) -> bool {
    // Look for the F, the rarest letter of the word, then check around it.
    let mut from = 0;
    while from < s.len() {
        let Some(i) = find_either(&s[from..], b'f', b'F') else {
            return false;
        };
        let at = from + i;
        if at >= 2 && at + 5 <= s.len() && s[at - 2..at + 5].eq_ignore_ascii_case(b"DEFINER") {
            return true;
        }
        from = at + 1;
    }
    false
}

/// End of an account name `user[@host]` starting at `p` (or of
/// `CURRENT_USER[()]`), or `None` if there is no account name there.
fn account_end(s: &[u8], p: usize) -> Option<usize> {
    let user_end = part_end(s, p, false)?;
    let at = skip_ws(s, user_end);
    if s.get(at) == Some(&b'@') {
        let host = skip_ws(s, at + 1);
        return part_end(s, host, true).or(Some(at + 1));
    }
    if kw(&s[p..user_end], "CURRENT_USER") {
        let open = skip_ws(s, user_end);
        if s.get(open) == Some(&b'(') {
            let close = skip_ws(s, open + 1);
            if s.get(close) == Some(&b')') {
                return Some(close + 1);
            }
        }
    }
    Some(user_end)
}

/// End of one part of an account name: a quoted string or identifier, or a
/// bare name (a host name may also hold `.`, `-` and `%`).
fn part_end(s: &[u8], p: usize, host: bool) -> Option<usize> {
    let &b = s.get(p)?;
    if matches!(b, b'\'' | b'"' | b'`') {
        return Some(quoted_end(s, p));
    }
    let mut e = p;
    while e < s.len() && (is_ident(s[e]) || (host && matches!(s[e], b'.' | b'-' | b'%'))) {
        e += 1;
    }
    (e > p).then_some(e)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
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
struct Token {
    kind: Tok,
    start: usize,
    end: usize,
}

/// Token reader that skips whitespace and ordinary comments and reads the
/// inside of `/*!NNNNN ... */` and `/*M!NNNNNN ... */` as code.
#[derive(Debug, Clone)]
struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
    in_cond: bool,
}

impl<'a> Lexer<'a> {
    fn new(s: &'a [u8]) -> Self {
        Lexer {
            s,
            pos: 0,
            in_cond: false,
        }
    }

    fn skip_trivia(&mut self) {
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
                    && s.get(p + 2).map_or(true, |&c| c <= b' ' || c == 0x7f) =>
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

    fn next_token(&mut self) -> Option<Token> {
        self.skip_trivia();
        let s = self.s;
        let start = self.pos;
        let &b = s.get(start)?;
        let kind = if b == b'`' {
            self.pos = quoted_end(s, start);
            Tok::Quoted
        } else if b == b'\'' || b == b'"' {
            self.pos = quoted_end(s, start);
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

    fn peek(&self) -> Option<Token> {
        self.clone().next_token()
    }

    fn peek_word(&self, word: &str) -> bool {
        self.peek()
            .is_some_and(|t| t.kind == Tok::Word && kw(&self.s[t.start..t.end], word))
    }

    fn peek_punct(&self, c: u8) -> bool {
        self.peek().is_some_and(|t| t.kind == Tok::Punct(c))
    }

    /// Consumes the next token if it is the keyword `word`.
    fn eat_word(&mut self, word: &str) -> bool {
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
    fn eat_words(&mut self, words: &[&str]) -> bool {
        let mut probe = self.clone();
        if words.iter().all(|w| probe.eat_word(w)) {
            *self = probe;
            true
        } else {
            false
        }
    }

    fn eat_punct(&mut self, c: u8) -> bool {
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
    fn skip_group(&mut self) {
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
    fn name(&mut self) -> Option<String> {
        let t = self.next_token()?;
        let mut last = ident_text(self.s, t)?;
        loop {
            let mut probe = self.clone();
            if !probe.eat_punct(b'.') {
                break;
            }
            match probe.next_token().and_then(|t| ident_text(self.s, t)) {
                Some(part) => {
                    last = part;
                    *self = probe;
                }
                None => break,
            }
        }
        Some(last)
    }
}

/// The unquoted text of an identifier token.
fn ident_text(s: &[u8], t: Token) -> Option<String> {
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
                if c == q && inner.get(i + 1) == Some(&q) {
                    i += 1;
                } else if c == b'\\' && q != b'`' && i + 1 < inner.len() {
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
/// (`s[p]` is the quote), or the end of `s` if it is not closed.
fn quoted_end(s: &[u8], p: usize) -> usize {
    let q = s[p];
    let mut i = p + 1;
    loop {
        let found = if q == b'`' {
            find_byte(&s[i..], q)
        } else {
            find_either(&s[i..], q, b'\\')
        };
        let Some(j) = found else {
            return s.len();
        };
        let at = i + j;
        if s[at] == b'\\' {
            i = at + 2;
        } else if s.get(at + 1) == Some(&q) {
            i = at + 2;
        } else {
            return at + 1;
        }
        if i >= s.len() {
            return s.len();
        }
    }
}

/// Position just after the `*/` closing a comment whose body starts at `p`.
fn comment_end(s: &[u8], mut p: usize) -> usize {
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
fn line_end(s: &[u8], p: usize) -> usize {
    find_byte(&s[p..], b'\n').map_or(s.len(), |j| p + j + 1)
}

fn skip_ws(s: &[u8], mut p: usize) -> usize {
    while p < s.len() && is_ws(s[p]) {
        p += 1;
    }
    p
}

#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// A byte of a bare identifier or number.
#[inline]
fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// `word` is the keyword `k` (ASCII case-insensitive).
#[inline]
fn kw(word: &[u8], k: &str) -> bool {
    word.eq_ignore_ascii_case(k.as_bytes())
}
