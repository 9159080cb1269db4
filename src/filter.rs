//! Which tables' data a restore loads: `--tables` / `--skip-tables` (or `tables:` /
//! `skip_tables:` in worlds.yaml), comma-separated globs. Pure: every rule is a unit test.
//!
//! - `*` is any run of characters (also none), `?` exactly one; everything else is itself.
//! - A glob without a dot names a table in any database (`player`); a glob with a dot names
//!   `db.table`, split at its first dot (`game.event_*`, `*.player`).
//! - Matching ignores case (`Player` matches `player`), as names are typed by people.
//! - `tables` first chooses (all when empty), then `skip_tables` takes away.
//!
//! Only data is filtered: every table's definition, views, routines and triggers are
//! restored whatever the filter.

use serde::{Deserialize, Serialize};

/// A restore's table filter, normalized (trimmed, lower case, sorted, no duplicates), so two
/// filters that choose alike by their globs compare equal. The default chooses every table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableFilter {
    /// Globs of the tables whose data is loaded (empty: every table).
    #[serde(default)]
    pub tables: Vec<String>,
    /// Globs of the tables whose data is left out, applied after `tables`.
    #[serde(default)]
    pub skip_tables: Vec<String>,
}

impl TableFilter {
    /// Build a filter from the globs as given. `what` names the two settings in errors
    /// (`--tables`/`--skip-tables`, or the config keys). A list that is one empty text means
    /// "none" (so `--skip-tables ''` overrides worlds.yaml); `*` in `tables` means every table.
    pub fn new(
        tables: &[String],
        skip_tables: &[String],
        what: (&str, &str),
    ) -> Result<TableFilter, String> {
        let mut tables = normalize(tables, what.0)?;
        if tables.iter().any(|g| g == "*" || g == "*.*") {
            tables.clear();
        }
        Ok(TableFilter {
            tables,
            skip_tables: normalize(skip_tables, what.1)?,
        })
    }

    /// Does the filter load every table's data?
    pub fn is_all(&self) -> bool {
        self.tables.is_empty() && self.skip_tables.is_empty()
    }

    /// Is the data of `db`.`table` loaded?
    pub fn loads(&self, db: &str, table: &str) -> bool {
        let (db, table) = (db.to_lowercase(), table.to_lowercase());
        (self.tables.is_empty() || self.tables.iter().any(|g| matches(g, &db, &table)))
            && !self.skip_tables.iter().any(|g| matches(g, &db, &table))
    }

    /// Globs that match none of `tables` (`(db, table)` pairs), in the filter's order.
    pub fn unmatched<'a>(&'a self, tables: &[(String, String)]) -> Vec<&'a str> {
        let lower: Vec<(String, String)> = tables
            .iter()
            .map(|(d, t)| (d.to_lowercase(), t.to_lowercase()))
            .collect();
        self.tables
            .iter()
            .chain(&self.skip_tables)
            .filter(|g| !lower.iter().any(|(d, t)| matches(g, d, t)))
            .map(String::as_str)
            .collect()
    }

    /// The filter as flags: `--tables player,guild --skip-tables event_*`, or `all tables`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.tables.is_empty() {
            parts.push(format!("--tables {}", self.tables.join(",")));
        }
        if !self.skip_tables.is_empty() {
            parts.push(format!("--skip-tables {}", self.skip_tables.join(",")));
        }
        if parts.is_empty() {
            "all tables".to_string()
        } else {
            parts.join(" ")
        }
    }
}

/// Trim, check, lower-case, sort and deduplicate one list of globs.
fn normalize(globs: &[String], what: &str) -> Result<Vec<String>, String> {
    if globs.len() == 1 && globs[0].trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for glob in globs {
        let g = glob.trim();
        if g.is_empty() {
            return Err(format!(
                "{what}: an empty name in the list {:?}; give comma-separated names or globs \
                 such as player,guild or 'event_*'",
                globs.join(",")
            ));
        }
        if let Some((db, table)) = g.split_once('.') {
            if db.is_empty() || table.is_empty() {
                return Err(format!(
                    "{what}: {g:?} is not a table name: with a dot it must be db.table, \
                     such as game.player or '*.player'"
                ));
            }
        }
        if g.chars().any(char::is_control) {
            return Err(format!(
                "{what}: {:?} holds a control character",
                g.escape_default().to_string()
            ));
        }
        out.push(g.to_lowercase());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Does `glob` (lower case) choose `db`.`table` (lower case)?
fn matches(glob: &str, db: &str, table: &str) -> bool {
    match glob.split_once('.') {
        Some((gd, gt)) => glob_match(gd, db) && glob_match(gt, table),
        None => glob_match(glob, table),
    }
}

/// `*` and `?` glob matching over characters, without backtracking blow-ups.
pub fn glob_match(glob: &str, text: &str) -> bool {
    let g: Vec<char> = glob.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut gi, mut ti) = (0, 0);
    // Where the last `*` was, and the text position it has eaten up to.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if gi < g.len() && (g[gi] == '?' || (g[gi] != '*' && g[gi] == t[ti])) {
            gi += 1;
            ti += 1;
        } else if gi < g.len() && g[gi] == '*' {
            star = Some((gi, ti));
            gi += 1;
        } else if let Some((sg, st)) = star {
            // Let the last `*` eat one more character and try again.
            gi = sg + 1;
            ti = st + 1;
            star = Some((sg, st + 1));
        } else {
            return false;
        }
    }
    g[gi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(text: &str) -> Vec<String> {
        text.split(',').map(str::to_string).collect()
    }

    fn filter(tables: &str, skip: &str) -> TableFilter {
        let parse = |t: &str| if t.is_empty() { vec![] } else { list(t) };
        TableFilter::new(&parse(tables), &parse(skip), ("--tables", "--skip-tables")).unwrap()
    }

    #[test]
    fn globs_match_star_and_question_mark() {
        for (glob, text, want) in [
            ("player", "player", true),
            ("player", "players", false),
            ("play*", "player", true),
            ("play*", "play", true),
            ("*_log", "event_log", true),
            ("*_log", "event_logs", false),
            ("e*t_*g", "event_log", true),
            ("p?ayer", "player", true),
            ("p?ayer", "payer", false),
            ("?", "", false),
            ("*", "", true),
            ("**a*", "bab", true),
            (
                "a*a*a*a*b",
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                false,
            ),
            ("ü*", "über", true),
            ("[ab]", "[ab]", true),
            ("[ab]", "a", false),
        ] {
            assert_eq!(glob_match(glob, text), want, "{glob} ~ {text}");
        }
    }

    #[test]
    fn a_name_without_a_dot_is_a_table_in_any_database_with_a_dot_db_table() {
        let f = filter("player,audit.*", "");
        assert!(f.loads("game", "player"));
        assert!(f.loads("other", "player"));
        assert!(f.loads("audit", "event_log"));
        assert!(!f.loads("game", "event_log"));
        let f = filter("game.player", "");
        assert!(f.loads("game", "player"));
        assert!(!f.loads("other", "player"));
        let f = filter("*.player", "");
        assert!(f.loads("x", "player"));
        // Split at the first dot: a table may have a dot in its name.
        let f = filter("game.a.b", "");
        assert!(f.loads("game", "a.b"));
        assert!(!f.loads("game.a", "b"));
    }

    #[test]
    fn case_is_ignored() {
        let f = filter("Player,GAME.Guild", "");
        assert!(f.loads("game", "player"));
        assert!(f.loads("Game", "PLAYER"));
        assert!(f.loads("game", "guild"));
        assert_eq!(f.tables, ["game.guild", "player"]);
    }

    #[test]
    fn tables_choose_then_skip_tables_take_away() {
        let f = filter("", "event_*");
        assert!(f.loads("game", "player"));
        assert!(!f.loads("game", "event_log"));
        let f = filter("p*,guild", "player_log");
        assert!(f.loads("game", "player"));
        assert!(f.loads("game", "guild"));
        assert!(!f.loads("game", "player_log"));
        assert!(!f.loads("game", "inventory"));
        assert!(TableFilter::default().loads("a", "b"));
    }

    #[test]
    fn normalized_filters_compare_by_their_globs() {
        assert_eq!(
            filter("guild, player", ""),
            filter("player,guild,player", "")
        );
        assert_ne!(filter("player", ""), filter("player,guild", ""));
        assert!(filter("*", "").is_all());
        assert!(filter("game.x,*", "").is_all());
        assert!(!filter("", "x").is_all());
        // One empty text is "none": it overrides a list from worlds.yaml.
        assert!(
            TableFilter::new(&[String::new()], &[" ".into()], ("a", "b"))
                .unwrap()
                .is_all()
        );
        assert_eq!(
            filter("player,guild", "event_*").describe(),
            "--tables guild,player --skip-tables event_*"
        );
        assert_eq!(TableFilter::default().describe(), "all tables");
    }

    #[test]
    fn bad_globs_are_refused_with_the_setting_named() {
        let err = |t: &[&str]| {
            let t: Vec<String> = t.iter().map(|s| s.to_string()).collect();
            TableFilter::new(&t, &[], ("--tables", "--skip-tables")).unwrap_err()
        };
        assert!(err(&["player", ""]).contains("--tables: an empty name"));
        assert!(err(&["game."]).contains("db.table"));
        assert!(err(&[".player"]).contains("db.table"));
        assert!(err(&["a\u{1b}b"]).contains("control character"));
        let e = TableFilter::new(&[], &["x".into(), " ".into()], ("t", "skip_tables"));
        assert!(e.unwrap_err().starts_with("skip_tables:"));
    }

    #[test]
    fn unmatched_globs_are_named() {
        let tables = vec![
            ("game".to_string(), "Player".to_string()),
            ("game".to_string(), "guild".to_string()),
        ];
        let f = filter("player,nosuch", "event_*");
        assert_eq!(f.unmatched(&tables), ["nosuch", "event_*"]);
    }
}
