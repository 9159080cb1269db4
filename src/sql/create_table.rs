//! Reading a `CREATE TABLE` statement by its tokens: which plain secondary keys can be
//! created after the data (`ALTER TABLE ... ADD KEY ...`), and which tables its foreign keys
//! point at. Column comments, string defaults, key names holding `(` or `,`, and table
//! names holding `.` are tokens like any other here.

use super::charset::Charset;
use super::lexer::{ident_text, kw, Lexer, Tok};

/// A `CREATE TABLE` without some of its plain secondary keys, and the clause that adds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deferred {
    /// The statement without the deferred keys.
    pub create: Vec<u8>,
    /// `ADD KEY ..., ADD KEY ...`, in the statement's order.
    pub add: String,
}

/// One top-level definition inside the parentheses.
#[derive(Debug)]
enum Def {
    Column {
        name: String,
        auto_increment: bool,
    },
    /// `KEY`/`INDEX` [name] [USING x] (first column, ...).
    PlainKey {
        first_column: Option<String>,
    },
    /// SPATIAL keys sort among the plain keys.
    SpatialKey,
    /// PRIMARY, UNIQUE, FULLTEXT, CHECK, PERIOD ...
    Other,
    ForeignKey,
}

/// Split the plain secondary keys off `sql`. None when there is nothing to defer, the
/// table has foreign keys, or the statement is not a plain `CREATE TABLE t (...)`.
///
/// Keys keep their order in `SHOW CREATE TABLE`: the server lists plain and SPATIAL keys in
/// the order they were made, so only the plain keys after the last key that must stay
/// (a SPATIAL key, or a key that starts with the AUTO_INCREMENT column) are deferred.
pub fn split_secondary_indexes(sql: &[u8], cs: Charset) -> Option<Deferred> {
    let (open, close, pieces) = definitions(sql, cs)?;
    let defs: Vec<Def> = pieces
        .iter()
        .map(|&(a, b)| definition(&sql[a..b], cs))
        .collect();
    if defs.iter().any(|d| matches!(d, Def::ForeignKey)) {
        return None;
    }
    let auto = defs.iter().find_map(|d| match d {
        Def::Column {
            name,
            auto_increment: true,
        } => Some(name.to_ascii_lowercase()),
        _ => None,
    });
    let mut defer = vec![false; defs.len()];
    for (i, d) in defs.iter().enumerate().rev() {
        match d {
            Def::PlainKey { first_column } => {
                let needed = match (&auto, first_column) {
                    (Some(a), Some(f)) => a == &f.to_ascii_lowercase(),
                    (Some(_), None) => true,
                    (None, _) => false,
                };
                if needed {
                    break;
                }
                defer[i] = true;
            }
            Def::SpatialKey => break,
            _ => {}
        }
    }
    if !defer.contains(&true) {
        return None;
    }
    let text = |i: usize| {
        let (a, b) = pieces[i];
        String::from_utf8_lossy(sql[a..b].trim_ascii()).into_owned()
    };
    let kept: Vec<&[u8]> = (0..defs.len())
        .filter(|&i| !defer[i])
        .map(|i| sql[pieces[i].0..pieces[i].1].trim_ascii())
        .collect();
    if kept.is_empty() {
        return None;
    }
    let mut create = sql[..=open].to_vec();
    for (n, piece) in kept.iter().enumerate() {
        create.extend_from_slice(if n == 0 { b"\n  " } else { b",\n  " });
        create.extend_from_slice(piece);
    }
    create.extend_from_slice(b"\n");
    create.extend_from_slice(&sql[close..]);
    let add = (0..defs.len())
        .filter(|&i| defer[i])
        .map(|i| format!("ADD {}", text(i)))
        .collect::<Vec<_>>()
        .join(", ");
    Some(Deferred { create, add })
}

/// Tables named after `REFERENCES`: (database if qualified, table).
pub fn referenced_tables(sql: &[u8], cs: Charset) -> Vec<(Option<String>, String)> {
    let mut lx = Lexer::new(sql, cs);
    let mut out = Vec::new();
    while let Some(t) = lx.next_token() {
        if t.kind == Tok::Word && kw(&sql[t.start..t.end], "REFERENCES") {
            if let Some(name) = lx.qualified_name() {
                out.push(name);
            }
        }
    }
    out
}

/// Byte positions of the `(` and `)` around the definitions of `CREATE TABLE name (...)`,
/// and the byte ranges of the definitions between their commas.
type Definitions = (usize, usize, Vec<(usize, usize)>);

fn definitions(sql: &[u8], cs: Charset) -> Option<Definitions> {
    let mut lx = Lexer::new(sql, cs);
    if !lx.eat_word("CREATE") {
        return None;
    }
    lx.eat_word("TEMPORARY");
    if !lx.eat_word("TABLE") {
        return None;
    }
    lx.eat_words(&["IF", "NOT", "EXISTS"]);
    lx.qualified_name()?;
    let open = lx.next_token()?;
    if open.kind != Tok::Punct(b'(') || lx.in_cond {
        return None;
    }
    let mut pieces = Vec::new();
    let mut from = open.end;
    let mut depth = 1u32;
    while let Some(t) = lx.next_token() {
        match t.kind {
            Tok::Punct(b'(') => depth += 1,
            Tok::Punct(b')') if depth == 1 => {
                if lx.in_cond {
                    return None;
                }
                pieces.push((from, t.start));
                return Some((open.start, t.start, pieces));
            }
            Tok::Punct(b')') => depth -= 1,
            Tok::Punct(b',') if depth == 1 => {
                if lx.in_cond {
                    return None;
                }
                pieces.push((from, t.start));
                from = t.end;
            }
            _ => {}
        }
    }
    None
}

fn definition(def: &[u8], cs: Charset) -> Def {
    let mut lx = Lexer::new(def, cs);
    let Some(first) = lx.next_token() else {
        return Def::Other;
    };
    let word =
        |t: &super::lexer::Token, k: &str| t.kind == Tok::Word && kw(&def[t.start..t.end], k);
    if word(&first, "KEY") || word(&first, "INDEX") {
        return Def::PlainKey {
            first_column: first_key_column(&mut lx),
        };
    }
    if word(&first, "SPATIAL") {
        return Def::SpatialKey;
    }
    let mut tokens = vec![first];
    tokens.extend(std::iter::from_fn(|| lx.next_token()));
    if tokens
        .iter()
        .any(|t| word(t, "REFERENCES") || word(t, "FOREIGN"))
    {
        return Def::ForeignKey;
    }
    if [
        "PRIMARY",
        "UNIQUE",
        "FULLTEXT",
        "CONSTRAINT",
        "CHECK",
        "PERIOD",
    ]
    .iter()
    .any(|k| word(&first, k))
    {
        return Def::Other;
    }
    match ident_text(def, first) {
        Some(name) if matches!(first.kind, Tok::Word | Tok::Quoted) => Def::Column {
            name,
            auto_increment: tokens.iter().any(|t| word(t, "AUTO_INCREMENT")),
        },
        _ => Def::Other,
    }
}

/// After `KEY`/`INDEX`: `[name] [USING type] (first_column ...`.
fn first_key_column(lx: &mut Lexer<'_>) -> Option<String> {
    let s = lx.s;
    if !lx.peek_punct(b'(') && !lx.peek_word("USING") {
        lx.next_token()?;
    }
    if lx.eat_word("USING") {
        lx.next_token()?;
    }
    if !lx.eat_punct(b'(') {
        return None;
    }
    let t = lx.next_token()?;
    match t.kind {
        Tok::Word | Tok::Quoted => ident_text(s, t),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(sql: &str) -> Option<(String, String)> {
        split_secondary_indexes(sql.as_bytes(), Charset::AsciiSafe)
            .map(|d| (String::from_utf8(d.create).unwrap(), d.add))
    }

    #[test]
    fn secondary_indexes_are_split_off() {
        let sql = "CREATE TABLE `inventory` (\n  `id` bigint NOT NULL,\n  `player_id` int NOT NULL,\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `u` (`id`,`player_id`),\n  KEY `idx_player` (`player_id`),\n  KEY `idx_both` (`player_id`,`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";
        let (create, add) = split(sql).unwrap();
        assert_eq!(
            create,
            "CREATE TABLE `inventory` (\n  `id` bigint NOT NULL,\n  `player_id` int NOT NULL,\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `u` (`id`,`player_id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
        );
        assert_eq!(
            add,
            "ADD KEY `idx_player` (`player_id`), ADD KEY `idx_both` (`player_id`,`id`)"
        );
    }

    #[test]
    fn keys_before_a_key_that_stays_stay_too() {
        // The AUTO_INCREMENT column's key must exist from the start; the key before it
        // stays as well so that SHOW CREATE TABLE lists them in the same order.
        let sql = "CREATE TABLE `t` (\n  `a` int,\n  `id` int NOT NULL AUTO_INCREMENT,\n  KEY `k_a` (`a`),\n  KEY `id` (`id`),\n  KEY `k_a2` (`a`,`id`)\n) ENGINE=InnoDB";
        let (create, add) = split(sql).unwrap();
        assert!(
            create.contains("KEY `k_a` (`a`),\n  KEY `id` (`id`)\n)"),
            "{create}"
        );
        assert_eq!(add, "ADD KEY `k_a2` (`a`,`id`)");
        let spatial = "CREATE TABLE `g` (\n  `p` point NOT NULL,\n  `a` int,\n  KEY `k1` (`a`),\n  SPATIAL KEY `sp` (`p`),\n  KEY `k2` (`a`)\n)";
        let (create, add) = split(spatial).unwrap();
        assert!(create.contains("KEY `k1`"), "{create}");
        assert_eq!(add, "ADD KEY `k2` (`a`)");
    }

    #[test]
    fn words_in_comments_and_names_are_not_clauses() {
        // A comment that says AUTO_INCREMENT, key names with `(` and `,`, USING, prefixes.
        let sql = "CREATE TABLE `t` (\n  `id` int NOT NULL COMMENT 'not AUTO_INCREMENT, (really)',\n  `n` varchar(20) DEFAULT 'KEY (x)',\n  `seq` int NOT NULL AUTO_INCREMENT,\n  PRIMARY KEY (`seq`),\n  KEY `by (id), n` (`id`,`n`(10) DESC),\n  KEY `k` USING BTREE (`n`)\n) ENGINE=InnoDB COMMENT='FOREIGN KEY'";
        let (create, add) = split(sql).unwrap();
        assert!(
            create.ends_with("PRIMARY KEY (`seq`)\n) ENGINE=InnoDB COMMENT='FOREIGN KEY'"),
            "{create}"
        );
        assert_eq!(
            add,
            "ADD KEY `by (id), n` (`id`,`n`(10) DESC), ADD KEY `k` USING BTREE (`n`)"
        );
    }

    #[test]
    fn a_key_on_the_auto_increment_column_stays() {
        let sql = "CREATE TABLE `t` (\n  `x` int,\n  `id` int NOT NULL AUTO_INCREMENT,\n  KEY `id` (`id`)\n)";
        assert_eq!(split(sql), None);
        let quoted = "CREATE TABLE t (x int, `Id` int AUTO_INCREMENT, INDEX (id, x))";
        assert_eq!(split(quoted), None);
    }

    #[test]
    fn tables_with_foreign_keys_or_no_keys_are_left_alone() {
        let fk = "CREATE TABLE `a` (\n  `id` int,\n  KEY `k` (`id`),\n  CONSTRAINT `f` FOREIGN KEY (`id`) REFERENCES `b` (`id`)\n) ENGINE=InnoDB";
        assert!(split(fk).is_none());
        let plain = "CREATE TABLE `a` (\n  `id` int,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB";
        assert!(split(plain).is_none());
        assert!(split("CREATE TABLE a LIKE b").is_none());
        assert!(split("CREATE TABLE a (id int, KEY (id)").is_none());
        assert!(split("CREATE TABLE a (KEY k (id))").is_none());
    }

    #[test]
    fn referenced_tables_are_found_with_their_database() {
        let sql = b"CREATE TABLE `c` (\n  `p` int,\n  CONSTRAINT `f` FOREIGN KEY (`p`) REFERENCES `parent` (`id`),\n  CONSTRAINT `g` FOREIGN KEY (`p`) REFERENCES `db`.`other.t` (`id`),\n  `note` varchar(9) DEFAULT 'REFERENCES x'\n)";
        assert_eq!(
            referenced_tables(sql, Charset::AsciiSafe),
            vec![
                (None, "parent".to_string()),
                (Some("db".to_string()), "other.t".to_string())
            ]
        );
    }
}
