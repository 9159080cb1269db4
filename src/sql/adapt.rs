//! Statements as a world runs them: what a dump made elsewhere needs changed.

use std::borrow::Cow;

use super::classify::{leading_words, rewrite_definer};

/// What the world's server needs changed in a dump made elsewhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct Compat {
    /// The server lacks MySQL 8's `utf8mb4_0900_*` collations (MariaDB): use its closest.
    pub map_0900_collations: bool,
}

/// MySQL 8 collations and what a MariaDB server uses instead.
const COLLATIONS_0900: [(&[u8], &[u8]); 4] = [
    (b"utf8mb4_0900_ai_ci", b"utf8mb4_unicode_520_ci"),
    (b"utf8mb4_0900_as_ci", b"utf8mb4_unicode_520_ci"),
    (b"utf8mb4_0900_as_cs", b"utf8mb4_bin"),
    (b"utf8mb4_0900_bin", b"utf8mb4_bin"),
];

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// The statement as this world should run it; None when it must be skipped.
/// - `SET @@GLOBAL.GTID_PURGED=...` (mysqldump of a GTID server) is replication state of
///   the source, meaningless in a world and refused by servers without GTIDs: skipped.
/// - DEFINER clauses name the restoring user (the dump's users do not exist here).
/// - MySQL 8 collations are mapped when the server lacks them (not inside row data).
pub fn adapt<'a>(sql: &'a [u8], compat: Compat) -> Option<Cow<'a, [u8]>> {
    let small = sql.len() < 4096;
    if small && find(sql, b"GTID_PURGED").is_some() && leading_words(sql, 1) == ["SET"] {
        return None;
    }
    let sql = rewrite_definer(sql);
    if !compat.map_0900_collations
        || matches!(
            leading_words(&sql, 1).first().map(String::as_str),
            Some("INSERT" | "REPLACE")
        )
    {
        return Some(sql);
    }
    if find(&sql, b"_0900_").is_none() {
        return Some(sql);
    }
    let mut out = sql.into_owned();
    for (from, to) in COLLATIONS_0900 {
        while let Some(i) = find(&out, from) {
            out.splice(i..i + from.len(), to.iter().copied());
        }
    }
    Some(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtid_purged_is_skipped() {
        let c = Compat::default();
        assert!(adapt(b"SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ 'abc:1-5'", c).is_none());
        assert!(adapt(b"SET @@SESSION.SQL_LOG_BIN= 0", c).is_some());
        assert!(adapt(b"INSERT INTO t VALUES ('GTID_PURGED')", c).is_some());
    }

    #[test]
    fn mysql8_collations_are_mapped_only_when_needed() {
        let sql = b"CREATE TABLE `t` (\n  `a` varchar(5) COLLATE utf8mb4_0900_bin\n) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci";
        let kept = adapt(sql, Compat::default()).unwrap();
        assert_eq!(&*kept, &sql[..]);
        let mapped = adapt(
            sql,
            Compat {
                map_0900_collations: true,
            },
        )
        .unwrap();
        let text = String::from_utf8(mapped.into_owned()).unwrap();
        assert!(text.contains("COLLATE utf8mb4_bin"), "{text}");
        assert!(text.ends_with("COLLATE=utf8mb4_unicode_520_ci"), "{text}");
        let set = adapt(
            b"/*!50003 SET collation_connection  = utf8mb4_0900_ai_ci */",
            Compat {
                map_0900_collations: true,
            },
        )
        .unwrap();
        assert_eq!(
            &*set,
            &b"/*!50003 SET collation_connection  = utf8mb4_unicode_520_ci */"[..]
        );
        let row = b"INSERT INTO t VALUES ('utf8mb4_0900_ai_ci')";
        assert_eq!(
            &*adapt(
                row,
                Compat {
                    map_0900_collations: true
                }
            )
            .unwrap(),
            &row[..]
        );
    }
}
