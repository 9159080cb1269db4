//! Character sets as far as reading SQL text is concerned.
//!
//! In most client character sets (utf8mb4, latin1, ujis, euckr, ...) every byte of a
//! multi-byte character is 0x80 or above, so quotes and backslashes can be found byte by
//! byte. In big5, gbk, gb18030, sjis and cp932 the second byte of a character can be 0x5C
//! (`\`), 0x27 (`'`), 0x60 (`` ` ``) and other ASCII bytes, and mysqldump does not escape
//! such a byte. The server reads string literals character by character in the connection's
//! client character set; [`Charset::char_len`] lets the splitter, the classifier and the row
//! re-encoder do the same.
//!
//! [`Tracker`] follows the client character set through a dump's `SET NAMES`,
//! `SET CHARACTER SET`, `SET character_set_client = ...` and the `@saved_cs_client` variables
//! mysqldump saves and restores it with.

use std::collections::HashMap;

use super::split::{find_byte, find_either};

/// How a client character set shapes the bytes of SQL text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Charset {
    /// Every byte below 0x80 is an ASCII character (utf8mb4, utf8mb3, latin1, binary, ...).
    #[default]
    AsciiSafe,
    /// big5: lead 0xA1-0xF9, trail 0x40-0x7E or 0xA1-0xFE.
    Big5,
    /// gbk: lead 0x81-0xFE, trail 0x40-0x7E or 0x80-0xFE.
    Gbk,
    /// gb18030: gbk's two-byte characters plus four-byte ones (lead, 0x30-0x39, 0x81-0xFE,
    /// 0x30-0x39).
    Gb18030,
    /// sjis and cp932: lead 0x81-0x9F or 0xE0-0xFC, trail 0x40-0x7E or 0x80-0xFC.
    Sjis,
}

impl Charset {
    /// The class of a server character set name (`gbk`, `'big5'`, `utf8mb4`...).
    pub fn from_name(name: &str) -> Charset {
        match name.trim().to_ascii_lowercase().as_str() {
            "big5" => Charset::Big5,
            "gbk" => Charset::Gbk,
            "gb18030" => Charset::Gb18030,
            "sjis" | "cp932" => Charset::Sjis,
            _ => Charset::AsciiSafe,
        }
    }

    /// Can an ASCII byte be part of a multi-byte character?
    #[inline]
    pub fn hides_ascii(self) -> bool {
        self != Charset::AsciiSafe
    }

    /// Length of the multi-byte character `s` starts with, as the server's `my_ismbchar`
    /// sees it: 0 when `s` does not start with a complete, valid multi-byte character.
    #[inline]
    pub fn char_len(self, s: &[u8]) -> usize {
        let Some(&lead) = s.first() else {
            return 0;
        };
        if lead < 0x80 {
            return 0;
        }
        let second = s.get(1).copied();
        match self {
            Charset::AsciiSafe => 0,
            Charset::Big5 => match second {
                Some(t) if (0xA1..=0xF9).contains(&lead) && big5_trail(t) => 2,
                _ => 0,
            },
            Charset::Gbk => match second {
                Some(t) if (0x81..=0xFE).contains(&lead) && gbk_trail(t) => 2,
                _ => 0,
            },
            Charset::Gb18030 => {
                if !(0x81..=0xFE).contains(&lead) {
                    return 0;
                }
                match second {
                    Some(t) if gbk_trail(t) => 2,
                    Some(t) if t.is_ascii_digit() => match (s.get(2), s.get(3)) {
                        (Some(&u), Some(&v))
                            if (0x81..=0xFE).contains(&u) && v.is_ascii_digit() =>
                        {
                            4
                        }
                        _ => 0,
                    },
                    _ => 0,
                }
            }
            Charset::Sjis => match second {
                Some(t) if sjis_lead(lead) && sjis_trail(t) => 2,
                _ => 0,
            },
        }
    }

    /// `s` holds the start of what may become a multi-byte character once more bytes
    /// arrive (a streaming reader must wait before deciding).
    #[inline]
    pub fn needs_more(self, s: &[u8]) -> bool {
        let Some(&lead) = s.first() else {
            return false;
        };
        match self {
            Charset::AsciiSafe => false,
            Charset::Big5 => s.len() < 2 && (0xA1..=0xF9).contains(&lead),
            Charset::Gbk => s.len() < 2 && (0x81..=0xFE).contains(&lead),
            Charset::Sjis => s.len() < 2 && sjis_lead(lead),
            Charset::Gb18030 => {
                (0x81..=0xFE).contains(&lead)
                    && (s.len() < 2
                        || (s[1].is_ascii_digit()
                            && s.len() < 4
                            && s.get(2).is_none_or(|u| (0x81..=0xFE).contains(u))))
            }
        }
    }
}

#[inline]
fn big5_trail(t: u8) -> bool {
    (0x40..=0x7E).contains(&t) || (0xA1..=0xFE).contains(&t)
}

#[inline]
fn gbk_trail(t: u8) -> bool {
    (0x40..=0x7E).contains(&t) || (0x80..=0xFE).contains(&t)
}

#[inline]
fn sjis_lead(b: u8) -> bool {
    (0x81..=0x9F).contains(&b) || (0xE0..=0xFC).contains(&b)
}

#[inline]
fn sjis_trail(t: u8) -> bool {
    (0x40..=0x7E).contains(&t) || (0x80..=0xFC).contains(&t)
}

/// Position just after the quote that closes a string or quoted identifier whose body
/// starts at `from` (`quote` is `'`, `"` or `` ` ``), reading characters in `cs`; None when
/// `s` ends first. Inside `'...'` and `"..."` a backslash escapes the next byte, and a
/// doubled quote is read as two strings side by side (the caller sees where the first ends).
pub fn quoted_end(s: &[u8], mut from: usize, quote: u8, cs: Charset) -> Option<usize> {
    let escapes = quote != b'`';
    if !cs.hides_ascii() {
        // Byte by byte is right here; look for the next quote or backslash at word speed.
        loop {
            let rest = s.get(from..)?;
            let i = if escapes {
                find_either(rest, quote, b'\\')?
            } else {
                find_byte(rest, quote)?
            };
            let at = from + i;
            if s[at] == quote {
                return Some(at + 1);
            }
            from = at + 2;
        }
    }
    while from < s.len() {
        let b = s[from];
        if b == quote {
            return Some(from + 1);
        }
        if b == b'\\' && escapes {
            from += 2;
            continue;
        }
        if b >= 0x80 {
            let n = cs.char_len(&s[from..]);
            if n > 0 {
                from += n;
                continue;
            }
        }
        from += 1;
    }
    None
}

/// What a `SET` statement does to the client character set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assign {
    /// `character_set_client` becomes this character set (by name).
    Client(String),
    /// `character_set_client` becomes the value of this user variable.
    ClientFromVar(String),
    /// This user variable takes the value of `character_set_client`.
    VarFromClient(String),
}

/// Follows the client character set along a dump.
#[derive(Debug, Clone, Default)]
pub struct Tracker {
    current: Charset,
    vars: HashMap<String, Charset>,
}

impl Tracker {
    /// A tracker that starts in `cs`.
    pub fn new(cs: Charset) -> Tracker {
        Tracker {
            current: cs,
            vars: HashMap::new(),
        }
    }

    pub fn current(&self) -> Charset {
        self.current
    }

    /// Note the effect of one statement.
    pub fn observe(&mut self, sql: &[u8]) {
        for assign in super::classify::charset_assignments(sql) {
            match assign {
                Assign::Client(name) => self.current = Charset::from_name(&name),
                Assign::ClientFromVar(var) => {
                    if let Some(cs) = self.vars.get(&var) {
                        self.current = *cs;
                    }
                }
                Assign::VarFromClient(var) => {
                    self.vars.insert(var, self.current);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(Charset::from_name("GBK"), Charset::Gbk);
        assert_eq!(Charset::from_name("cp932"), Charset::Sjis);
        assert_eq!(Charset::from_name("utf8mb4"), Charset::AsciiSafe);
        assert_eq!(Charset::from_name("big5"), Charset::Big5);
        assert_eq!(Charset::from_name("gb18030"), Charset::Gb18030);
    }

    #[test]
    fn trail_backslashes_belong_to_their_character() {
        // 0x81 0x5C is one gbk character; the quote after it closes the string.
        let s = b"'\x81\x5C', 'x'";
        assert_eq!(quoted_end(s, 1, b'\'', Charset::Gbk), Some(4));
        // Byte by byte, the backslash escapes the quote.
        assert_eq!(quoted_end(s, 1, b'\'', Charset::AsciiSafe), Some(7));
        // A character ending in 0x5C, then an escaped backslash, then the quote.
        let s = b"'\x95\x5C\\\\'";
        assert_eq!(quoted_end(s, 1, b'\'', Charset::Sjis), Some(s.len()));
        assert_eq!(quoted_end(b"'\xA4\x5C\\'", 1, b'\'', Charset::Big5), None);
        assert_eq!(quoted_end(b"`\x81\x60`", 1, b'`', Charset::Gbk), Some(4));
    }

    #[test]
    fn invalid_pairs_are_single_bytes() {
        // 0x80 is no gbk lead byte; 0xFF no trail.
        assert_eq!(Charset::Gbk.char_len(b"\x80\x5C"), 0);
        assert_eq!(Charset::Gbk.char_len(b"\x81\xFF"), 0);
        assert_eq!(Charset::Gbk.char_len(b"\x81"), 0);
        assert!(Charset::Gbk.needs_more(b"\x81"));
        assert!(!Charset::Gbk.needs_more(b"\x81\x5C"));
        assert_eq!(Charset::Big5.char_len(b"\xA0\x5C"), 0);
        assert_eq!(Charset::Sjis.char_len(b"\xA0\x5C"), 0);
        assert_eq!(Charset::Sjis.char_len(b"\xE0\x5C"), 2);
        assert_eq!(Charset::Gb18030.char_len(b"\x81\x30\x81\x30"), 4);
        assert_eq!(Charset::Gb18030.char_len(b"\x81\x30\x20\x30"), 0);
        assert!(Charset::Gb18030.needs_more(b"\x81\x30\x81"));
        assert!(!Charset::Gb18030.needs_more(b"\x81\x30\x20"));
        assert_eq!(Charset::AsciiSafe.char_len(b"\x81\x5C"), 0);
    }

    #[test]
    fn tracker_follows_a_mysqldump_header_and_table() {
        let mut t = Tracker::default();
        for sql in [
            "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */",
            "/*!40101 SET NAMES gbk */",
        ] {
            t.observe(sql.as_bytes());
        }
        assert_eq!(t.current(), Charset::Gbk);
        t.observe(b"/*!40101 SET @saved_cs_client     = @@character_set_client */");
        t.observe(b"/*!50503 SET character_set_client = utf8mb4 */");
        assert_eq!(t.current(), Charset::AsciiSafe);
        t.observe(b"/*!40101 SET character_set_client = @saved_cs_client */");
        assert_eq!(t.current(), Charset::Gbk);
        t.observe(b"SET CHARACTER SET 'big5'");
        assert_eq!(t.current(), Charset::Big5);
        t.observe(b"SET @@session.character_set_client = 'sjis', sql_mode = ''");
        assert_eq!(t.current(), Charset::Sjis);
        t.observe(b"/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */");
        assert_eq!(t.current(), Charset::AsciiSafe);
        t.observe(b"SET NAMES 'gb18030' COLLATE 'gb18030_chinese_ci'");
        assert_eq!(t.current(), Charset::Gb18030);
        t.observe(b"INSERT INTO t VALUES ('SET NAMES utf8')");
        assert_eq!(t.current(), Charset::Gb18030);
    }
}
