//! Re-encode the rows of a dump's extended INSERT as `LOAD DATA` input (tab-separated fields,
//! newline-terminated lines, backslash escapes, `\N` for NULL), which the server loads with
//! much less work per row than it parses INSERT statements.
//!
//! Exactness is the point: only plain literals are converted (NULL, numbers, quoted strings
//! with the escapes mysqldump writes, `_binary` strings, hex literals). Anything else gives
//! `None` and the statement is executed as it is.

use super::charset::Charset;

/// The rows of one INSERT, ready for `LOAD DATA ... FIELDS TERMINATED BY '\t'`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadRows {
    /// The column list of the INSERT (`(`a`,`b`)`), if it had one, as written.
    pub columns: Option<Vec<u8>>,
    pub data: Vec<u8>,
    pub rows: u64,
}

/// Convert `INSERT INTO t [(cols)] VALUES (...),(...)`, whose strings are read per
/// character of the client character set `cs`, as the server reads them; None if anything
/// is not understood.
pub fn insert_to_load_rows(sql: &[u8], cs: Charset) -> Option<LoadRows> {
    let mut p = Parser { s: sql, i: 0, cs };
    p.ws();
    p.keyword(b"INSERT")?;
    p.ws();
    p.keyword(b"INTO")?;
    p.ws();
    p.identifier()?;
    p.ws();
    if p.peek() == Some(b'.') {
        p.i += 1;
        p.ws();
        p.identifier()?;
        p.ws();
    }
    let mut columns = None;
    if p.peek() == Some(b'(') {
        let start = p.i;
        p.i += 1;
        loop {
            p.ws();
            p.identifier()?;
            p.ws();
            match p.next()? {
                b',' => continue,
                b')' => break,
                _ => return None,
            }
        }
        columns = Some(sql[start..p.i].to_vec());
        p.ws();
    }
    p.keyword(b"VALUES")?;
    let mut data = Vec::with_capacity(sql.len());
    let mut rows = 0u64;
    let mut width = None;
    loop {
        p.ws();
        if p.next()? != b'(' {
            return None;
        }
        let mut fields = 0usize;
        loop {
            p.ws();
            if fields > 0 {
                data.push(b'\t');
            }
            p.value(&mut data)?;
            fields += 1;
            p.ws();
            match p.next()? {
                b',' => continue,
                b')' => break,
                _ => return None,
            }
        }
        if *width.get_or_insert(fields) != fields {
            return None;
        }
        data.push(b'\n');
        rows += 1;
        p.ws();
        match p.peek() {
            Some(b',') => p.i += 1,
            None => break,
            Some(_) => return None,
        }
    }
    Some(LoadRows {
        columns,
        data,
        rows,
    })
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    cs: Charset,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.i += 1;
        Some(b)
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn keyword(&mut self, word: &[u8]) -> Option<()> {
        let end = self.i + word.len();
        let here = self.s.get(self.i..end)?;
        if !here.eq_ignore_ascii_case(word) {
            return None;
        }
        if self
            .s
            .get(end)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            return None;
        }
        self.i = end;
        Some(())
    }

    fn identifier(&mut self) -> Option<()> {
        match self.peek()? {
            b'`' => {
                self.i += 1;
                loop {
                    let b = self.next()?;
                    if b >= 0x80 && self.cs.hides_ascii() {
                        // Left to the server.
                        return None;
                    }
                    if b == b'`' {
                        if self.peek() == Some(b'`') {
                            self.i += 1;
                        } else {
                            return Some(());
                        }
                    }
                }
            }
            b if b.is_ascii_alphanumeric() || b == b'_' || b == b'$' => {
                while self
                    .peek()
                    .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$')
                {
                    self.i += 1;
                }
                Some(())
            }
            _ => None,
        }
    }

    /// One value, appended to `out` in LOAD DATA form.
    fn value(&mut self, out: &mut Vec<u8>) -> Option<()> {
        match self.peek()? {
            b'\'' => self.string(out),
            b'N' | b'n' => {
                self.keyword(b"NULL")?;
                out.extend_from_slice(b"\\N");
                Some(())
            }
            b'_' => {
                self.keyword(b"_binary")?;
                self.ws();
                if self.peek()? != b'\'' {
                    return None;
                }
                self.string(out)
            }
            b'0' if matches!(self.s.get(self.i + 1), Some(b'x' | b'X')) => self.hex(out),
            b'-' | b'+' | b'0'..=b'9' | b'.' => self.number(out),
            _ => None,
        }
    }

    fn number(&mut self, out: &mut Vec<u8>) -> Option<()> {
        let start = self.i;
        if matches!(self.peek(), Some(b'-' | b'+')) {
            self.i += 1;
        }
        let digits_start = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.i += 1;
            }
        }
        if self.i == digits_start || self.s[digits_start..self.i] == *b"." {
            return None;
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'-' | b'+')) {
                self.i += 1;
            }
            let exp = self.i;
            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.i += 1;
            }
            if self.i == exp {
                return None;
            }
        }
        if self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return None;
        }
        out.extend_from_slice(&self.s[start..self.i]);
        Some(())
    }

    fn hex(&mut self, out: &mut Vec<u8>) -> Option<()> {
        self.i += 2;
        let start = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_hexdigit()) {
            self.i += 1;
        }
        let digits = &self.s[start..self.i];
        if digits.is_empty()
            || !digits.len().is_multiple_of(2)
            || self
                .peek()
                .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return None;
        }
        for pair in digits.chunks(2) {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            push_escaped(out, (hi * 16 + lo) as u8);
        }
        Some(())
    }

    /// A single-quoted string with the escapes mysqldump writes.
    fn string(&mut self, out: &mut Vec<u8>) -> Option<()> {
        self.i += 1;
        loop {
            // Copy the plain run up to the next quote, backslash or byte that needs escaping.
            let rest = &self.s[self.i..];
            let mb = self.cs.hides_ascii();
            let run = rest
                .iter()
                .position(|&b| {
                    matches!(b, b'\'' | b'\\' | b'\t' | b'\n' | b'\r' | 0) || (mb && b >= 0x80)
                })
                .unwrap_or(rest.len());
            out.extend_from_slice(&rest[..run]);
            self.i += run;
            if mb && self.peek().is_some_and(|b| b >= 0x80) {
                // A whole character, whatever bytes it is made of; LOAD DATA reads its
                // input byte by byte (CHARACTER SET binary), so each byte is escaped.
                let n = self.cs.char_len(&self.s[self.i..]).max(1);
                for &b in self.s.get(self.i..self.i + n)? {
                    push_escaped(out, b);
                }
                self.i += n;
                continue;
            }
            match self.next()? {
                b'\'' => {
                    if self.peek() == Some(b'\'') {
                        self.i += 1;
                        out.push(b'\'');
                    } else {
                        return Some(());
                    }
                }
                b'\\' => {
                    let e = self.next()?;
                    match e {
                        b'0' | b'n' | b'r' | b't' | b'Z' | b'b' | b'\\' => {
                            out.push(b'\\');
                            out.push(e);
                        }
                        b'\'' | b'"' => out.push(e),
                        // The server keeps the backslash of `\%` and `\_` (LIKE patterns).
                        b'%' | b'_' => return None,
                        // Any other escaped byte is the byte itself (mariadb-dump escapes
                        // lone lead bytes of multi-byte character sets this way).
                        other => push_escaped(out, other),
                    }
                }
                raw => push_escaped(out, raw),
            }
        }
    }
}

/// One raw byte of a value in LOAD DATA form.
fn push_escaped(out: &mut Vec<u8>, b: u8) {
    match b {
        0 => out.extend_from_slice(b"\\0"),
        b'\t' => out.extend_from_slice(b"\\t"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\\' => out.extend_from_slice(b"\\\\"),
        other => out.push(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(sql: &str) -> Option<(String, u64)> {
        insert_to_load_rows(sql.as_bytes(), Charset::AsciiSafe)
            .map(|r| (String::from_utf8_lossy(&r.data).into_owned(), r.rows))
    }

    #[test]
    fn plain_rows() {
        let (d, n) =
            conv("INSERT INTO `player` VALUES (1,'Ann',-5,'2024-06-17 21:13:00'),(2,NULL,3.50,'')")
                .unwrap();
        assert_eq!(n, 2);
        assert_eq!(d, "1\tAnn\t-5\t2024-06-17 21:13:00\n2\t\\N\t3.50\t\n");
    }

    #[test]
    fn escapes_become_load_data_escapes() {
        let (d, _) =
            conv(r"INSERT INTO t VALUES ('a\'b''c\\d\ne\0f\Zg','tab	here',_binary 'x\'y')")
                .unwrap();
        assert_eq!(d, "a'b'c\\\\d\\ne\\0f\\Zg\ttab\\there\tx'y\n");
    }

    #[test]
    fn hex_literals_are_decoded() {
        let r = insert_to_load_rows(b"INSERT INTO t VALUES (0x00FF5C0941)", Charset::AsciiSafe)
            .unwrap();
        assert_eq!(r.data, b"\\0\xff\\\\\\tA\n");
    }

    #[test]
    fn column_lists_and_qualified_names() {
        let r = insert_to_load_rows(
            b"INSERT INTO `db`.`t` (`a`,`b c`) VALUES (1,2)",
            Charset::AsciiSafe,
        )
        .unwrap();
        assert_eq!(r.columns.as_deref(), Some(&b"(`a`,`b c`)"[..]));
        assert_eq!(r.data, b"1\t2\n");
    }

    #[test]
    fn anything_unusual_is_left_to_insert() {
        for sql in [
            "INSERT INTO t VALUES (NOW())",
            "INSERT INTO t VALUES (b'0101')",
            "INSERT INTO t VALUES (X'00')",
            "INSERT INTO t VALUES (_utf8mb4'x')",
            "INSERT INTO t VALUES ('50\\% off')",
            "INSERT INTO t VALUES ('a\\_b')",
            "INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a=1",
            "INSERT IGNORE INTO t VALUES (1)",
            "REPLACE INTO t VALUES (1)",
            "INSERT INTO t SELECT * FROM u",
            "INSERT INTO t VALUES (1,2),(3)",
            "INSERT INTO t VALUES ('unterminated",
            "INSERT INTO t VALUES (1e)",
            "INSERT INTO t VALUES (0x1)",
        ] {
            assert_eq!(conv(sql), None, "{sql}");
        }
    }

    #[test]
    fn every_byte_survives_a_string() {
        // Build the SQL the way mysqldump escapes, then check the LOAD DATA form decodes back.
        let bytes: Vec<u8> = (0..=255u8).collect();
        let mut sql = b"INSERT INTO t VALUES (_binary '".to_vec();
        for &b in &bytes {
            match b {
                0 => sql.extend_from_slice(b"\\0"),
                b'\n' => sql.extend_from_slice(b"\\n"),
                b'\r' => sql.extend_from_slice(b"\\r"),
                b'\\' => sql.extend_from_slice(b"\\\\"),
                b'\'' => sql.extend_from_slice(b"\\'"),
                b'"' => sql.extend_from_slice(b"\\\""),
                0x1a => sql.extend_from_slice(b"\\Z"),
                other => sql.push(other),
            }
        }
        sql.extend_from_slice(b"')");
        let r = insert_to_load_rows(&sql, Charset::AsciiSafe).unwrap();
        let field = &r.data[..r.data.len() - 1];
        let mut decoded = Vec::new();
        let mut i = 0;
        while i < field.len() {
            if field[i] == b'\\' {
                decoded.push(match field[i + 1] {
                    b'0' => 0,
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'Z' => 0x1a,
                    b'b' => 8,
                    other => other,
                });
                i += 2;
            } else {
                assert!(field[i] != b'\t' && field[i] != b'\n');
                decoded.push(field[i]);
                i += 1;
            }
        }
        assert_eq!(decoded, bytes);
    }

    #[test]
    fn other_escaped_bytes_are_the_bytes() {
        let r =
            insert_to_load_rows(b"INSERT INTO t VALUES ('\\x\\\x9E\\\t')", Charset::Gbk).unwrap();
        assert_eq!(r.data, b"x\x9E\\t\n");
        // `\N` in SQL text is the letter N, not NULL as in LOAD DATA.
        let r = insert_to_load_rows(b"INSERT INTO t VALUES ('\\N')", Charset::AsciiSafe).unwrap();
        assert_eq!(r.data, b"N\n");
    }

    #[test]
    fn gbk_trail_backslashes_are_part_of_their_character() {
        // 0x81 0x5C is one gbk character, followed by a plain `n`; then a character ending
        // in 0x5C right before an escaped backslash.
        let sql = b"INSERT INTO t VALUES ('\x81\x5Cn','\x81\x5C\\\\')";
        let r = insert_to_load_rows(sql, Charset::Gbk).unwrap();
        assert_eq!(r.data, b"\x81\\\\n\t\x81\\\\\\\\\n");
        // Read byte by byte, the second string never ends.
        assert_eq!(insert_to_load_rows(sql, Charset::AsciiSafe), None);
        let first = insert_to_load_rows(b"INSERT INTO t VALUES ('\x81\x5Cn')", Charset::AsciiSafe);
        assert_eq!(first.map(|r| r.data), Some(b"\x81\\n\n".to_vec()));
    }
}
