//! Recognises what a dump statement is (which table it creates, fills or
//! locks, whether it only changes session settings, ...) and rewrites
//! `DEFINER=` clauses.
//!
//! Statements are looked at through the conditional comments mysqldump and
//! mariadb-dump wrap them in: `/*!40000 ALTER TABLE ... */` is an
//! `ALTER TABLE`, and `/*!50003 CREATE*/ /*!50017 DEFINER=...*/ /*!50003
//! TRIGGER ...*/` is a trigger.

use std::borrow::Cow;

use super::charset::{Assign, Charset};
use super::lexer::{
    comment_end, ident_text, is_ident, is_ws, kw, line_end, quoted_end, skip_ws, Lexer, Tok,
};
use super::split::find_either;

/// What a statement is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `CREATE DATABASE` / `CREATE SCHEMA`.
    CreateDatabase { db: String },
    /// `USE db`.
    Use { db: String },
    /// `CREATE TABLE`; `db` when the name is qualified (`db.table`).
    CreateTable { db: Option<String>, table: String },
    /// `DROP TABLE [IF EXISTS]` (the first table named).
    DropTable { db: Option<String>, table: String },
    /// `INSERT` or `REPLACE`; `rows` is the number of row tuples after
    /// `VALUES` (1 for `INSERT ... SET`, 0 for `INSERT ... SELECT`).
    Insert {
        db: Option<String>,
        table: String,
        rows: u64,
    },
    /// `LOCK TABLES`.
    LockTables,
    /// `UNLOCK TABLES`.
    UnlockTables,
    /// `ALTER TABLE`, e.g. `/*!40000 ALTER TABLE t DISABLE KEYS */`.
    AlterTable { db: Option<String>, table: String },
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

/// Tells what `sql` (one statement, without its delimiter) is, reading
/// strings byte by byte (right for utf8mb4, latin1 and the like).
pub fn classify(sql: &[u8]) -> Kind {
    classify_in(sql, Charset::AsciiSafe)
}

/// Tells what `sql` is, reading strings per character of the client
/// character set `cs`.
pub fn classify_in(sql: &[u8], cs: Charset) -> Kind {
    let mut lx = Lexer::new(sql, cs);
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
        match lx.qualified_name() {
            Some((db, table)) => Kind::DropTable { db, table },
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
        match lx.qualified_name() {
            Some((db, table)) => Kind::AlterTable { db, table },
            None => Kind::Other,
        }
    } else {
        Kind::Other
    }
}

/// The first `n` bare words of a statement, upper-cased (conditional comments read as
/// code): `/*!50001 DROP VIEW IF EXISTS `v`*/` gives `["DROP", "VIEW", "IF"]` for n = 3.
pub fn leading_words(sql: &[u8], n: usize) -> Vec<String> {
    let mut lx = Lexer::new(sql, Charset::AsciiSafe);
    let mut words = Vec::with_capacity(n);
    while words.len() < n {
        match lx.next_token() {
            Some(t) if t.kind == Tok::Word => {
                words.push(String::from_utf8_lossy(&sql[t.start..t.end]).to_ascii_uppercase())
            }
            _ => break,
        }
    }
    words
}

/// The changes a `SET` statement makes to the client character set, in
/// order (see [`charset::Tracker`]). Anything else gives nothing.
pub fn charset_assignments(sql: &[u8]) -> Vec<Assign> {
    let mut out = Vec::new();
    if sql.len() > 4096 {
        return out;
    }
    let mut lx = Lexer::new(sql, Charset::AsciiSafe);
    if !lx.eat_word("SET") {
        return out;
    }
    loop {
        if let Some(a) = assignment(&mut lx) {
            out.push(a);
        }
        // On to the next top-level comma.
        let mut depth = 0u32;
        loop {
            match lx.next_token().map(|t| t.kind) {
                None => return out,
                Some(Tok::Punct(b'(')) => depth += 1,
                Some(Tok::Punct(b')')) => depth = depth.saturating_sub(1),
                Some(Tok::Punct(b',')) if depth == 0 => break,
                _ => {}
            }
        }
    }
}

/// One `SET` assignment, if it concerns the client character set.
fn assignment(lx: &mut Lexer<'_>) -> Option<Assign> {
    let value = |lx: &mut Lexer<'_>| -> Option<String> {
        let t = lx.next_token()?;
        ident_text(lx.s, t).map(|v| v.to_ascii_lowercase())
    };
    if lx.eat_word("NAMES") || lx.eat_words(&["CHARACTER", "SET"]) || lx.eat_word("CHARSET") {
        return value(lx).map(Assign::Client);
    }
    while lx.eat_word("SESSION") || lx.eat_word("LOCAL") {}
    if lx.eat_word("GLOBAL") {
        return None;
    }
    let target = variable(lx)?;
    let assigns = lx.eat_punct(b'=') || (lx.eat_punct(b':') && lx.eat_punct(b'='));
    if !assigns {
        return None;
    }
    match target {
        Var::System(name) if name == "character_set_client" => {
            if lx.peek_punct(b'@') {
                match variable(lx)? {
                    Var::User(v) => Some(Assign::ClientFromVar(v)),
                    Var::System(_) => None,
                }
            } else {
                value(lx).map(Assign::Client)
            }
        }
        Var::User(v) => match variable(lx)? {
            Var::System(name) if name == "character_set_client" => Some(Assign::VarFromClient(v)),
            _ => None,
        },
        Var::System(_) => None,
    }
}

enum Var {
    /// `@@[session.]name` or a bare `name`, lower-cased.
    System(String),
    /// `@name`, lower-cased.
    User(String),
}

/// A variable reference: `@user`, `@@[session.|local.]name` or a bare `name`.
fn variable(lx: &mut Lexer<'_>) -> Option<Var> {
    let text = |lx: &mut Lexer<'_>| -> Option<String> {
        let t = lx.next_token()?;
        ident_text(lx.s, t).map(|v| v.to_ascii_lowercase())
    };
    if !lx.eat_punct(b'@') {
        return text(lx).map(Var::System);
    }
    if !lx.eat_punct(b'@') {
        return text(lx).map(Var::User);
    }
    let first = text(lx)?;
    if matches!(first.as_str(), "session" | "local" | "global") && lx.eat_punct(b'.') {
        if first == "global" {
            return None;
        }
        return text(lx).map(Var::System);
    }
    Some(Var::System(first))
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
        return match lx.qualified_name() {
            Some((db, table)) => Kind::CreateTable { db, table },
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
    let Some((db, table)) = lx.qualified_name() else {
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
        count_rows(lx.s, lx.pos, lx.cs)
    } else if lx.eat_word("SET") {
        1
    } else {
        0
    };
    Kind::Insert { db, table, rows }
}

/// Bytes the row counter has to look at inside a row tuple.
const ROW_SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    t[b'(' as usize] = true;
    t[b')' as usize] = true;
    t[b'\'' as usize] = true;
    t[b'"' as usize] = true;
    t[b'`' as usize] = true;
    t[b'/' as usize] = true;
    t[b'-' as usize] = true;
    t[b'#' as usize] = true;
    t
};

/// If a comment starts at `p`, the position just after it.
fn skip_comment(s: &[u8], p: usize) -> Option<usize> {
    match s.get(p)? {
        b'#' => Some(line_end(s, p)),
        b'-' if s.get(p + 1) == Some(&b'-')
            && s.get(p + 2).is_none_or(|&c| c <= b' ' || c == 0x7f) =>
        {
            Some(line_end(s, p))
        }
        b'/' if s.get(p + 1) == Some(&b'*') => Some(comment_end(s, p + 2)),
        _ => None,
    }
}

/// Counts the top-level `( ... )` tuples of a `VALUES` list starting at
/// `p`, stopping at whatever follows the list (`ON DUPLICATE KEY UPDATE`,
/// `AS alias`, ...). Never fails: a malformed list gives the tuples seen.
fn count_rows(s: &[u8], mut p: usize, cs: Charset) -> u64 {
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
            } else if let Some(end) = skip_comment(s, p) {
                p = end;
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
            b'\'' | b'"' | b'`' => p = quoted_end(s, p, cs),
            _ => p = skip_comment(s, p).unwrap_or(p + 1),
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
    let mut lx = Lexer::new(sql, Charset::AsciiSafe);
    while let Some(t) = lx.next_token() {
        if t.kind != Tok::Word {
            continue;
        }
        let word = &sql[t.start..t.end];
        // The clause stands before the object; past it is the body, where `definer`
        // may be a column or a variable.
        if ["VIEW", "TRIGGER", "PROCEDURE", "FUNCTION", "EVENT"]
            .iter()
            .any(|k| kw(word, k))
        {
            break;
        }
        if !kw(word, "DEFINER") {
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
        if is_current_user(sql, value) {
            continue;
        }
        let o = out.get_or_insert_with(|| Vec::with_capacity(sql.len()));
        o.extend_from_slice(&sql[copied..t.start]);
        o.extend_from_slice(b"DEFINER=CURRENT_USER");
        if sql.get(end).is_some_and(|&b| is_ident(b)) {
            // Keep the next token apart from the keyword.
            o.push(b' ');
        }
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

/// The account name at `p` is `CURRENT_USER` (maybe with `()`) already.
fn is_current_user(s: &[u8], p: usize) -> bool {
    part_end(s, p, false).is_some_and(|e| kw(&s[p..e], "CURRENT_USER"))
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
        if let Some(end) = part_end(s, host, true) {
            return Some(end);
        }
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
        return Some(quoted_end(s, p, Charset::AsciiSafe));
    }
    let mut e = p;
    while e < s.len() && (is_ident(s[e]) || (host && matches!(s[e], b'.' | b'-' | b'%'))) {
        e += 1;
    }
    (e > p).then_some(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn c(sql: &str) -> Kind {
        classify(sql.as_bytes())
    }

    fn s(v: &str) -> String {
        v.to_string()
    }

    fn rw(sql: &str) -> String {
        String::from_utf8(rewrite_definer(sql.as_bytes()).into_owned()).expect("utf8")
    }

    fn insert(table: &str, rows: u64) -> Kind {
        Kind::Insert {
            db: None,
            table: s(table),
            rows,
        }
    }

    #[test]
    fn definer_in_a_body_is_not_rewritten() {
        let sql = b"CREATE DEFINER=`ops`@`%` PROCEDURE `p`() BEGIN SELECT * FROM docs WHERE definer = 'bob'; END";
        let out = rewrite_definer(sql);
        let text = String::from_utf8_lossy(&out);
        assert!(
            text.starts_with("CREATE DEFINER=CURRENT_USER PROCEDURE"),
            "{text}"
        );
        assert!(text.contains("WHERE definer = 'bob'"), "{text}");
        let trg = b"/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER t BEFORE INSERT ON docs FOR EACH ROW SET NEW.definer = 'system' */";
        let text = String::from_utf8_lossy(&rewrite_definer(trg)).into_owned();
        assert!(text.contains("DEFINER=CURRENT_USER"), "{text}");
        assert!(text.contains("NEW.definer = 'system'"), "{text}");
    }

    #[test]
    fn leading_words_see_through_conditional_comments() {
        assert_eq!(
            leading_words(b"/*!50001 DROP VIEW IF EXISTS `v`*/", 3),
            vec!["DROP", "VIEW", "IF"]
        );
        assert_eq!(leading_words(b"update t set a=1", 1), vec!["UPDATE"]);
        assert!(leading_words(b"", 2).is_empty());
    }

    #[test]
    fn session_settings() {
        for sql in [
            "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */",
            "/*!40103 SET TIME_ZONE='+00:00' */",
            "/*!50503 SET NAMES utf8mb4 */",
            "/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */",
            "/*M!100616 SET @OLD_NOTE_VERBOSITY=@@NOTE_VERBOSITY, NOTE_VERBOSITY=0 */",
            "/*!50003 SET sql_mode              = 'ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES' */",
            "SET @saved_cs_client     = @@character_set_client",
            "SET @@SESSION.SQL_LOG_BIN= 0",
            "set names utf8",
            "/*! SET @x = 1 */",
        ] {
            assert_eq!(c(sql), Kind::Set, "{sql}");
        }
    }

    #[test]
    fn create_database_and_use() {
        assert_eq!(
            c("CREATE DATABASE /*!32312 IF NOT EXISTS*/ `game` /*!40100 DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci */ /*!80016 DEFAULT ENCRYPTION='N' */"),
            Kind::CreateDatabase { db: s("game") }
        );
        assert_eq!(
            c("create schema if not exists world_2"),
            Kind::CreateDatabase { db: s("world_2") }
        );
        assert_eq!(c("USE `game`"), Kind::Use { db: s("game") });
        assert_eq!(c("use game"), Kind::Use { db: s("game") });
        assert_eq!(c("USE `we``ird`"), Kind::Use { db: s("we`ird") });
        assert_eq!(c("USE"), Kind::Other);
    }

    #[test]
    fn create_and_drop_table() {
        let create = "CREATE TABLE `player` (\n  `id` int NOT NULL AUTO_INCREMENT,\n  `name` varchar(64) NOT NULL COMMENT 'display name; may hold ''quotes''',\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='players -- all of them'";
        assert_eq!(
            c(create),
            Kind::CreateTable {
                db: None,
                table: s("player")
            }
        );
        assert_eq!(
            c("CREATE TABLE IF NOT EXISTS game.player (id int)"),
            Kind::CreateTable {
                db: Some(s("game")),
                table: s("player")
            }
        );
        assert_eq!(
            c("CREATE TEMPORARY TABLE `db`.`t` LIKE `u`"),
            Kind::CreateTable {
                db: Some(s("db")),
                table: s("t")
            }
        );
        assert_eq!(
            c("create /* note */ table -- x\n `t2`(a int)"),
            Kind::CreateTable {
                db: None,
                table: s("t2")
            }
        );
        assert_eq!(
            c("CREATE OR REPLACE TABLE t3 (a int)"),
            Kind::CreateTable {
                db: None,
                table: s("t3")
            }
        );
        assert_eq!(
            c("DROP TABLE IF EXISTS `player`"),
            Kind::DropTable {
                db: None,
                table: s("player")
            }
        );
        assert_eq!(
            c("DROP TABLE `game`.`player`"),
            Kind::DropTable {
                db: Some(s("game")),
                table: s("player")
            }
        );
        assert_eq!(
            c("drop temporary table if exists tmp"),
            Kind::DropTable {
                db: None,
                table: s("tmp")
            }
        );
        assert_eq!(
            c("/*!50001 DROP VIEW IF EXISTS `top_players`*/"),
            Kind::Other
        );
        assert_eq!(c("DROP DATABASE game"), Kind::Other);
    }

    #[test]
    fn non_utf8_names_are_lossy() {
        assert_eq!(
            classify(b"CREATE TABLE `pl\xffyer` (a int)"),
            Kind::CreateTable {
                db: None,
                table: s("pl\u{fffd}yer")
            }
        );
        assert_eq!(
            classify("CREATE TABLE `игрок` (a int)".as_bytes()),
            Kind::CreateTable {
                db: None,
                table: s("игрок")
            }
        );
    }

    #[test]
    fn inserts() {
        assert_eq!(
            c("INSERT INTO `player` VALUES (1,'O\\'Brien',3,_binary 'a;b'),(2,'semi;colon',1,NULL),(3,'back\\\\slash',2,'x')"),
            insert("player", 3)
        );
        assert_eq!(
            c("INSERT INTO `player` VALUES\n(1,'alice'),\n(2,'bob')"),
            insert("player", 2)
        );
        assert_eq!(
            c("INSERT INTO `player` (`id`, `name`) VALUES (1,'a'),(2,'b')"),
            insert("player", 2)
        );
        assert_eq!(c("INSERT INTO t(a,b) VALUES(1,2)"), insert("t", 1));
        assert_eq!(
            c("INSERT IGNORE INTO `t` VALUES (1),(2),(3)"),
            insert("t", 3)
        );
        assert_eq!(
            c("insert low_priority ignore into t value (1)"),
            insert("t", 1)
        );
        assert_eq!(c("REPLACE INTO `t` VALUES (1),(2)"), insert("t", 2));
        assert_eq!(c("INSERT t VALUES (1)"), insert("t", 1));
        assert_eq!(
            c("INSERT INTO `game`.`t` VALUES (1)"),
            Kind::Insert {
                db: Some(s("game")),
                table: s("t"),
                rows: 1
            }
        );
        assert_eq!(
            c("INSERT INTO t PARTITION (p0) (a) VALUES (1),(2)"),
            insert("t", 2)
        );
        assert_eq!(c("INSERT INTO t VALUES ROW(1,2), ROW(3,4)"), insert("t", 2));
        assert_eq!(c("INSERT INTO t VALUES ()"), insert("t", 1));
        assert_eq!(c("INSERT INTO t SET a = 1, b = 2"), insert("t", 1));
        assert_eq!(c("INSERT INTO t SELECT * FROM u"), insert("t", 0));
        assert_eq!(c("INSERT INTO t (a) SELECT a FROM u"), insert("t", 0));
        assert_eq!(c("INSERT INTO t (SELECT a FROM u)"), insert("t", 0));
        assert_eq!(c("INSERT INTO"), Kind::Other);
    }

    #[test]
    fn insert_rows_with_tricky_strings() {
        assert_eq!(
            c("INSERT INTO t VALUES (1,'),('),(2,')'),(3,'(('),(4,\"),(\\\"\")"),
            insert("t", 4)
        );
        assert_eq!(
            c("INSERT INTO t VALUES ('it''s (', 'x\\\\'), (')'), ('\\''),(`(`)"),
            insert("t", 4)
        );
        assert_eq!(
            c("INSERT INTO t VALUES (1,POINT(1,2),CONCAT('a',(SELECT 1))),(2,NULL,0x28)"),
            insert("t", 2)
        );
        let mut bin = b"INSERT INTO b VALUES (_binary '".to_vec();
        for b in 0..=255u8 {
            match b {
                b'\'' => bin.extend_from_slice(b"\\'"),
                b'\\' => bin.extend_from_slice(b"\\\\"),
                _ => bin.push(b),
            }
        }
        bin.extend_from_slice(b"'),(2)");
        assert_eq!(classify(&bin), insert("b", 2));
    }

    #[test]
    fn insert_rows_skip_comments() {
        assert_eq!(
            c("INSERT INTO t VALUES /* first */ (1,'a') -- x ( \n, # y (\n(2, /* ( ' */ -3-1)"),
            insert("t", 2)
        );
    }

    #[test]
    fn insert_rows_stop_at_the_end_of_the_values_list() {
        assert_eq!(
            c("INSERT INTO t VALUES (1),(2) ON DUPLICATE KEY UPDATE a=VALUES(a)"),
            insert("t", 2)
        );
        assert_eq!(
            c("INSERT INTO t VALUES (1) AS new ON DUPLICATE KEY UPDATE a=new.a"),
            insert("t", 1)
        );
        assert_eq!(
            c("INSERT INTO t VALUES (1),(2) RETURNING id"),
            insert("t", 2)
        );
    }

    #[test]
    fn malformed_inserts_do_not_panic() {
        assert_eq!(c("INSERT INTO t VALUES (1,(2"), insert("t", 1));
        assert_eq!(c("INSERT INTO t VALUES (1))),(2)"), insert("t", 1));
        assert_eq!(c("INSERT INTO t VALUES (1,'abc"), insert("t", 1));
        assert_eq!(c("INSERT INTO t VALUES (1,'abc\\"), insert("t", 1));
        assert_eq!(c("INSERT INTO t VALUES"), insert("t", 0));
        assert_eq!(c("INSERT INTO t VALUES ,,,"), insert("t", 0));
        assert_eq!(c("INSERT INTO t VALUES ro"), insert("t", 0));
        assert_eq!(c("INSERT INTO t (a, b"), insert("t", 0));
    }

    #[test]
    fn lock_unlock_alter() {
        assert_eq!(c("LOCK TABLES `player` WRITE"), Kind::LockTables);
        assert_eq!(c("lock tables t1 read local, t2 write"), Kind::LockTables);
        assert_eq!(c("UNLOCK TABLES"), Kind::UnlockTables);
        assert_eq!(c("LOCK"), Kind::Other);
        assert_eq!(
            c("/*!40000 ALTER TABLE `player` DISABLE KEYS */"),
            Kind::AlterTable {
                db: None,
                table: s("player")
            }
        );
        assert_eq!(
            c("/*!40000 ALTER TABLE `player` ENABLE KEYS */"),
            Kind::AlterTable {
                db: None,
                table: s("player")
            }
        );
        assert_eq!(
            c("ALTER ONLINE TABLE game.t ADD COLUMN x int"),
            Kind::AlterTable {
                db: Some(s("game")),
                table: s("t")
            }
        );
        assert_eq!(
            c("ALTER DATABASE `game` CHARACTER SET utf8mb4"),
            Kind::Other
        );
    }

    #[test]
    fn views() {
        assert_eq!(
            c("/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */\n/*!50001 VIEW `top_players` AS select `player`.`id` AS `id` from `player` */"),
            Kind::CreateView { name: s("top_players") }
        );
        assert_eq!(
            c("/*!50001 CREATE VIEW `top_players` AS SELECT \n 1 AS `id`,\n 1 AS `name`*/"),
            Kind::CreateView {
                name: s("top_players")
            }
        );
        assert_eq!(
            c("CREATE OR REPLACE ALGORITHM = MERGE DEFINER = 'root'@'%' SQL SECURITY INVOKER VIEW game.v AS SELECT 1"),
            Kind::CreateView { name: s("v") }
        );
        assert_eq!(
            c("CREATE DEFINER=CURRENT_USER() VIEW v2 AS SELECT 1"),
            Kind::CreateView { name: s("v2") }
        );
    }

    #[test]
    fn triggers() {
        assert_eq!(
            c("/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER `player_bi` BEFORE INSERT ON `player` FOR EACH ROW BEGIN\n  SET NEW.name = TRIM(NEW.name);\nEND */"),
            Kind::CreateTrigger { name: s("player_bi"), table: s("player") }
        );
        assert_eq!(
            c("/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER player_ai AFTER INSERT ON player FOR EACH ROW\nBEGIN\n  INSERT INTO audit VALUES (NEW.id, 'created; ok');\nEND */"),
            Kind::CreateTrigger { name: s("player_ai"), table: s("player") }
        );
        assert_eq!(
            c("CREATE DEFINER=root@localhost TRIGGER IF NOT EXISTS g.t1 BEFORE UPDATE ON game.player FOR EACH ROW SET @x = 1"),
            Kind::CreateTrigger { name: s("t1"), table: s("player") }
        );
    }

    #[test]
    fn routines_and_events() {
        assert_eq!(
            c("CREATE DEFINER=`root`@`localhost` PROCEDURE `level_up`(IN p_id INT)\nBEGIN\n  UPDATE player SET level = level + 1 WHERE id = p_id;\nEND"),
            Kind::CreateRoutine { name: s("level_up") }
        );
        assert_eq!(
            c("CREATE DEFINER=`root`@`%` FUNCTION `score`(x INT) RETURNS int\n    DETERMINISTIC\nRETURN x * 2"),
            Kind::CreateRoutine { name: s("score") }
        );
        assert_eq!(
            c("CREATE PROCEDURE p() SELECT 1"),
            Kind::CreateRoutine { name: s("p") }
        );
        assert_eq!(
            c("/*!50106 CREATE*/ /*!50117 DEFINER=`root`@`localhost`*/ /*!50106 EVENT `cleanup` ON SCHEDULE EVERY 1 DAY STARTS '2024-01-01 00:00:00' ON COMPLETION NOT PRESERVE ENABLE DO DELETE FROM sessions */"),
            Kind::CreateEvent { name: s("cleanup") }
        );
    }

    #[test]
    fn other_statements() {
        for sql in [
            "",
            "   ",
            "/* only a comment */",
            "/*!40000 */",
            "SELECT 1",
            "DELETE FROM t",
            "CREATE INDEX i ON t (a)",
            "CREATE USER 'x'@'%'",
            "CREATE",
            "'SET'",
            "(SELECT 1)",
            "/*!50106 DROP EVENT IF EXISTS `cleanup` */",
            "/*!50003 DROP PROCEDURE IF EXISTS `level_up` */",
            "\x00\x01\x02",
        ] {
            assert_eq!(c(sql), Kind::Other, "{sql:?}");
        }
    }

    #[test]
    fn rewrite_definer_forms() {
        assert_eq!(
            rw("/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER t BEFORE INSERT ON p FOR EACH ROW SET @a=1 */"),
            "/*!50003 CREATE*/ /*!50017 DEFINER=CURRENT_USER*/ /*!50003 TRIGGER t BEFORE INSERT ON p FOR EACH ROW SET @a=1 */"
        );
        assert_eq!(
            rw("CREATE DEFINER='root'@'%' PROCEDURE p() SELECT 1"),
            "CREATE DEFINER=CURRENT_USER PROCEDURE p() SELECT 1"
        );
        assert_eq!(
            rw("CREATE DEFINER = root@localhost PROCEDURE p() SELECT 1"),
            "CREATE DEFINER=CURRENT_USER PROCEDURE p() SELECT 1"
        );
        assert_eq!(
            rw("CREATE definer=\"app\"@\"10.0.%\" FUNCTION f() RETURNS INT RETURN 1"),
            "CREATE DEFINER=CURRENT_USER FUNCTION f() RETURNS INT RETURN 1"
        );
        assert_eq!(
            rw("CREATE DEFINER=app@127.0.0.1 EVENT e ON SCHEDULE EVERY 1 DAY DO SELECT 1"),
            "CREATE DEFINER=CURRENT_USER EVENT e ON SCHEDULE EVERY 1 DAY DO SELECT 1"
        );
        assert_eq!(
            rw("CREATE DEFINER=`we``ird`@`h``o` VIEW v AS SELECT 1"),
            "CREATE DEFINER=CURRENT_USER VIEW v AS SELECT 1"
        );
        assert_eq!(
            rw("CREATE DEFINER='o\\'x'@'%' VIEW v AS SELECT 1"),
            "CREATE DEFINER=CURRENT_USER VIEW v AS SELECT 1"
        );
        assert_eq!(
            rw("CREATE DEFINER=admin VIEW v AS SELECT 1"),
            "CREATE DEFINER=CURRENT_USER VIEW v AS SELECT 1"
        );
    }

    #[test]
    fn rewrite_definer_in_a_mysqldump_view() {
        let view = "/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */\n/*!50001 VIEW `top_players` AS select `player`.`id` AS `id` from `player` where (`player`.`name` <> 'DEFINER=`x`@`y`') */";
        assert_eq!(
            rw(view),
            "/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER=CURRENT_USER SQL SECURITY DEFINER */\n/*!50001 VIEW `top_players` AS select `player`.`id` AS `id` from `player` where (`player`.`name` <> 'DEFINER=`x`@`y`') */"
        );
        let rewritten = rewrite_definer(view.as_bytes());
        assert_eq!(
            classify(&rewritten),
            Kind::CreateView {
                name: s("top_players")
            }
        );
    }

    #[test]
    fn rewrite_definer_multiple_and_lowercase() {
        assert_eq!(
            rw("/*!50003 CREATE*/ /*!50017 definer=`a`@`b`*/ /*!50003 TRIGGER t BEFORE INSERT ON p FOR EACH ROW BEGIN END */ /* DEFINER=`c`@`d` */ DEFINER = 'e'@'f'"),
            "/*!50003 CREATE*/ /*!50017 DEFINER=CURRENT_USER*/ /*!50003 TRIGGER t BEFORE INSERT ON p FOR EACH ROW BEGIN END */ /* DEFINER=`c`@`d` */ DEFINER = 'e'@'f'"
        );
        assert_eq!(
            rw("CREATE definer = 'e'@'f' SQL SECURITY DEFINER VIEW v AS SELECT 1"),
            "CREATE DEFINER=CURRENT_USER SQL SECURITY DEFINER VIEW v AS SELECT 1"
        );
    }

    #[test]
    fn rewrite_definer_borrows_when_nothing_to_do() {
        for sql in [
            "INSERT INTO t VALUES (1,'x')",
            "SQL SECURITY DEFINER",
            "CREATE DEFINER=CURRENT_USER PROCEDURE p() SELECT 1",
            "CREATE DEFINER = CURRENT_USER() VIEW v AS SELECT 1",
            "INSERT INTO t VALUES ('DEFINER=`root`@`localhost`')",
            "INSERT INTO t VALUES (\"DEFINER='root'@'%'\")",
            "SELECT `DEFINER=root@localhost`",
            "SELECT 1 /* DEFINER=`root`@`localhost` */",
            "SELECT 1 -- DEFINER=`root`@`localhost`",
            "SELECT DEFINER",
            "SELECT xDEFINER=root@localhost",
            "DEFINER=",
        ] {
            let out = rewrite_definer(sql.as_bytes());
            assert!(matches!(out, Cow::Borrowed(_)), "{sql}");
            assert_eq!(&*out, sql.as_bytes());
        }
    }

    // ---------- property tests ----------

    #[derive(Debug, Clone)]
    enum Field {
        Int(i64),
        Null,
        Float(f64),
        Str(Vec<u8>, bool),
        Binary(Vec<u8>),
        Hex(Vec<u8>),
    }

    fn field() -> impl Strategy<Value = Field> {
        let tricky = prop_oneof![
            3 => prop::sample::select(b"(),'\"`\\;-#/* \n".to_vec()),
            1 => any::<u8>(),
        ];
        prop_oneof![
            any::<i64>().prop_map(Field::Int),
            Just(Field::Null),
            (-1e6f64..1e6).prop_map(Field::Float),
            (prop::collection::vec(tricky.clone(), 0..16), any::<bool>())
                .prop_map(|(v, d)| Field::Str(v, d)),
            prop::collection::vec(tricky, 0..16).prop_map(Field::Binary),
            prop::collection::vec(any::<u8>(), 1..8).prop_map(Field::Hex),
        ]
    }

    fn quote_into(out: &mut Vec<u8>, v: &[u8], double_style: bool) {
        out.push(b'\'');
        for &b in v {
            match b {
                b'\'' if double_style => out.extend_from_slice(b"''"),
                b'\'' => out.extend_from_slice(b"\\'"),
                b'\\' => out.extend_from_slice(b"\\\\"),
                _ => out.push(b),
            }
        }
        out.push(b'\'');
    }

    fn render_rows(rows: &[Vec<Field>], newline: bool) -> Vec<u8> {
        let mut sql = b"INSERT INTO `player` VALUES ".to_vec();
        for (i, row) in rows.iter().enumerate() {
            if i > 0 {
                sql.extend_from_slice(if newline { b",\n" } else { b"," });
            }
            sql.push(b'(');
            for (j, f) in row.iter().enumerate() {
                if j > 0 {
                    sql.push(b',');
                }
                match f {
                    Field::Int(n) => sql.extend_from_slice(n.to_string().as_bytes()),
                    Field::Null => sql.extend_from_slice(b"NULL"),
                    Field::Float(x) => sql.extend_from_slice(format!("{x:?}").as_bytes()),
                    Field::Str(v, d) => quote_into(&mut sql, v, *d),
                    Field::Binary(v) => {
                        sql.extend_from_slice(b"_binary ");
                        quote_into(&mut sql, v, false);
                    }
                    Field::Hex(v) => {
                        sql.extend_from_slice(b"0x");
                        for b in v {
                            sql.extend_from_slice(format!("{b:02X}").as_bytes());
                        }
                    }
                }
            }
            sql.push(b')');
        }
        sql
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn prop_insert_row_count(
            rows in prop::collection::vec(prop::collection::vec(field(), 1..6), 1..20),
            newline in any::<bool>(),
        ) {
            let sql = render_rows(&rows, newline);
            prop_assert_eq!(
                classify(&sql),
                Kind::Insert { db: None, table: "player".to_string(), rows: rows.len() as u64 }
            );
            // The splitter keeps the statement whole, too.
            let mut input = sql.clone();
            input.extend_from_slice(b";\nUNLOCK TABLES;\n");
            let stmts = crate::sql::split_all(&input).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(stmts.len(), 2);
            prop_assert_eq!(&stmts[0].sql, &sql);
        }

        #[test]
        fn prop_random_bytes_never_panic(
            input in prop::collection::vec(
                prop_oneof![
                    2 => prop::sample::select(b"()'\"`\\/*!M-# \n=@,.;".to_vec()),
                    1 => any::<u8>(),
                ],
                0..200,
            ),
            prefix in prop::sample::select(vec![
                "", "INSERT INTO t VALUES ", "CREATE ", "CREATE DEFINER=", "/*!50003 CREATE*/ ",
                "DROP TABLE ", "USE ", "ALTER TABLE ", "CREATE TRIGGER x BEFORE INSERT ON ",
            ]),
        ) {
            let mut sql = prefix.as_bytes().to_vec();
            sql.extend_from_slice(&input);
            let _ = classify(&sql);
            let once = rewrite_definer(&sql).into_owned();
            let twice = rewrite_definer(&once).into_owned();
            prop_assert_eq!(&once, &twice);
            if !sql.to_ascii_uppercase().windows(7).any(|w| w == b"DEFINER") {
                prop_assert!(matches!(rewrite_definer(&sql), Cow::Borrowed(_)));
            }
        }

        #[test]
        fn prop_rewrite_definer_replaces_generated_accounts(
            user in "[a-z_]{1,8}",
            host in prop::sample::select(vec!["localhost", "%", "10.0.0.%", "127.0.0.1"]),
            style in 0usize..3,
            spaces in any::<bool>(),
        ) {
            let account = match style {
                0 => format!("`{user}`@`{host}`"),
                1 => format!("'{user}'@'{host}'"),
                _ if host == "%" => format!("{user}@'%'"),
                _ => format!("{user}@{host}"),
            };
            let eq = if spaces { " = " } else { "=" };
            let sql = format!("/*!50003 CREATE*/ /*!50017 DEFINER{eq}{account}*/ /*!50003 TRIGGER t BEFORE INSERT ON p FOR EACH ROW SET @x='{account}' */");
            let out = rewrite_definer(sql.as_bytes());
            let expected = format!("/*!50003 CREATE*/ /*!50017 DEFINER=CURRENT_USER*/ /*!50003 TRIGGER t BEFORE INSERT ON p FOR EACH ROW SET @x='{account}' */");
            prop_assert_eq!(String::from_utf8_lossy(&out), expected);
        }
    }

    #[test]
    fn qualified_inserts_name_their_database() {
        assert_eq!(
            c("INSERT INTO `other`.`t` VALUES (1),(2)"),
            Kind::Insert {
                db: Some(s("other")),
                table: s("t"),
                rows: 2
            }
        );
        assert_eq!(
            c("INSERT INTO `a.b` VALUES (1)"),
            Kind::Insert {
                db: None,
                table: s("a.b"),
                rows: 1
            }
        );
    }

    #[test]
    fn rows_are_counted_per_character() {
        // In gbk, 0x81 0x5C is one character: the quote after it ends the string.
        let sql = b"INSERT INTO t VALUES ('\x81\x5C'),('x'),('\x81\x5C\\\\')";
        assert_eq!(classify_in(sql, Charset::Gbk), insert("t", 3));
        assert_ne!(classify(sql), insert("t", 3));
    }

    #[test]
    fn charset_assignments_of_set_statements() {
        assert_eq!(
            charset_assignments(b"/*!40101 SET NAMES gbk */"),
            vec![Assign::Client(s("gbk"))]
        );
        assert_eq!(
            charset_assignments(b"SET @a = 1, character_set_client = @saved, NAMES 'big5'"),
            vec![Assign::ClientFromVar(s("saved")), Assign::Client(s("big5"))]
        );
        assert_eq!(
            charset_assignments(b"SET @X := @@SESSION.character_set_client"),
            vec![Assign::VarFromClient(s("x"))]
        );
        assert!(charset_assignments(b"SET GLOBAL character_set_client = gbk").is_empty());
        assert!(charset_assignments(b"SET @@global.character_set_client = gbk").is_empty());
        assert!(charset_assignments(b"SELECT 'SET NAMES gbk'").is_empty());
    }
}
