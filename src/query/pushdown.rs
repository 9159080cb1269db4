//! `--order-by` handed to the worlds: a statement that can stand as a derived table runs as
//! `SELECT * FROM (<statement>) AS t ORDER BY <key> [DESC] [LIMIT n]`, so each world sorts
//! its rows and sends only the best `--limit` ones. The key sorts the way [`super::compare`]
//! does: a number by its value, binary by its bytes, and anything else by the bytes of its
//! text in the character set the client receives. Pure: the SQL text only.

use crate::load::quote_ident;
use crate::sql::lexer::{kw, Lexer, Tok};
use crate::sql::Charset;

/// The alias of the derived table.
const ALIAS: &str = "`sorted`";

/// How a world sorts a column so that its order is [`super::compare`]'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    /// Numbers (integers, DECIMAL, FLOAT, DOUBLE, YEAR): the column itself.
    Value,
    /// Binary strings, BIT, GEOMETRY: their bytes (`CAST(c AS BINARY)`: an ENUM of a
    /// binary character set would sort by its index otherwise).
    Bytes,
    /// Text, dates, times, ENUM, SET, JSON...: the bytes of the text as the client receives
    /// it, in this character set (`utf8mb4` or `utf8mb3`). Not a `_bin` collation: those
    /// ignore trailing spaces.
    Text(&'static str),
}

/// Whether `sql` can be the inside of a derived table with the same rows and no other
/// effect: a SELECT, a WITH query or a parenthesised query, without INTO, locking reads
/// (`FOR UPDATE`, `FOR SHARE`, `LOCK IN SHARE MODE`) or PROCEDURE. Anything else, or in
/// doubt: no.
/// Bytes of a value a server compares when it sorts (`max_sort_length`; values that share a
/// longer prefix may come in any order, which the readers of sorted streams then report), and
/// the sort buffer that takes such keys (the server wants room for about 15 of them).
pub const SORT_LENGTH: usize = 1 << 20;
pub const SORT_BUFFER: usize = 20 << 20;

/// The session settings under which a server sorts long values by more than their first
/// 1024 bytes.
pub fn sort_settings() -> String {
    format!(
        "SET SESSION max_sort_length = {SORT_LENGTH}, \
         sort_buffer_size = GREATEST(@@sort_buffer_size, {SORT_BUFFER})"
    )
}

pub fn derived(sql: &str) -> bool {
    let mut lexer = Lexer::new(sql.as_bytes(), Charset::AsciiSafe);
    let word = |t: crate::sql::lexer::Token, w: &str| {
        t.kind == Tok::Word && kw(&sql.as_bytes()[t.start..t.end], w)
    };
    match lexer.next_token() {
        Some(t) if word(t, "SELECT") || word(t, "WITH") || t.kind == Tok::Punct(b'(') => {}
        _ => return false,
    }
    let mut previous = None;
    while let Some(t) = lexer.next_token() {
        if word(t, "INTO") || word(t, "PROCEDURE") || t.kind == Tok::Punct(b';') {
            return false;
        }
        if let Some(p) = previous {
            let locking = (word(p, "FOR") && (word(t, "UPDATE") || word(t, "SHARE")))
                || (word(p, "LOCK") && word(t, "IN"));
            if locking {
                return false;
            }
        }
        previous = Some(t);
    }
    true
}

/// `sql` as a derived table: its rows, unsorted (to learn its columns).
pub fn wrapped(sql: &str) -> String {
    // Line breaks: a `-- comment` at the end of `sql` must not hide the closing parenthesis.
    format!("SELECT * FROM (\n{sql}\n) AS {ALIAS}")
}

/// `sql` sorted by its column `column` with `key`, cut to `limit` rows.
pub fn sorted(sql: &str, column: &str, key: SortKey, desc: bool, limit: Option<usize>) -> String {
    let c = format!("{ALIAS}.{}", quote_ident(column));
    let expr = match key {
        SortKey::Value => c,
        SortKey::Bytes => format!("CAST({c} AS BINARY)"),
        SortKey::Text(charset) => format!("CAST(CONVERT({c} USING {charset}) AS BINARY)"),
    };
    let mut out = format!(
        "{} ORDER BY {expr}{}",
        wrapped(sql),
        if desc { " DESC" } else { "" }
    );
    if let Some(n) = limit {
        out.push_str(&format!(" LIMIT {n}"));
    }
    out
}

/// The character set to convert text to, for a session whose `character_set_results` is
/// `results`: only the UTF-8 ones, whose text arrives as such (anything else, or none:
/// no sorting by the world).
pub fn text_charset(results: Option<&str>) -> Option<&'static str> {
    match results?.to_ascii_lowercase().as_str() {
        "utf8mb4" => Some("utf8mb4"),
        "utf8mb3" | "utf8" => Some("utf8mb3"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_queries_can_be_derived_tables() {
        for sql in [
            "SELECT name, score FROM player",
            "select * from player where name = 'INTO' -- into\n",
            "WITH t AS (SELECT 1 AS x) SELECT x FROM t",
            "(SELECT 1 AS x) UNION (SELECT 2)",
            "/* note */ SELECT `into`, \"for update\" FROM t",
            "SELECT SUBSTRING(name FOR 3) AS s FROM t",
            "SELECT * FROM t FOR SYSTEM_TIME ALL",
        ] {
            assert!(derived(sql), "{sql}");
        }
        for sql in [
            "UPDATE player SET score = 1",
            "SHOW TABLES",
            "VALUES (1), (2)",
            "SELECT 1 INTO @x",
            "SELECT id FROM t INTO OUTFILE '/tmp/x'",
            "SELECT * FROM t FOR UPDATE",
            "SELECT * FROM t FOR SHARE",
            "SELECT * FROM t LOCK IN SHARE MODE",
            "SELECT * FROM t /*!50000 FOR UPDATE */",
            "SELECT * FROM t PROCEDURE ANALYSE()",
            "SELECT 1; SELECT 2",
            "",
            "-- only a comment",
        ] {
            assert!(!derived(sql), "{sql}");
        }
    }

    #[test]
    fn the_sorted_statement() {
        assert_eq!(
            sorted("SELECT a FROM t -- x", "a", SortKey::Value, false, None),
            "SELECT * FROM (\nSELECT a FROM t -- x\n) AS `sorted` ORDER BY `sorted`.`a`"
        );
        assert_eq!(
            sorted("SELECT b", "b`1", SortKey::Bytes, true, Some(10)),
            "SELECT * FROM (\nSELECT b\n) AS `sorted` ORDER BY CAST(`sorted`.`b``1` AS BINARY) \
             DESC LIMIT 10"
        );
        assert_eq!(
            sorted("SELECT c", "c", SortKey::Text("utf8mb4"), false, Some(0)),
            "SELECT * FROM (\nSELECT c\n) AS `sorted` ORDER BY \
             CAST(CONVERT(`sorted`.`c` USING utf8mb4) AS BINARY) LIMIT 0"
        );
        assert_eq!(text_charset(Some("UTF8MB4")), Some("utf8mb4"));
        assert_eq!(text_charset(Some("utf8")), Some("utf8mb3"));
        assert_eq!(text_charset(Some("latin1")), None);
        assert_eq!(text_charset(None), None);
    }
}
