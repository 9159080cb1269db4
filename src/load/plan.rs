//! The plan of a parallel restore, made by reading the dump once without executing it:
//! every statement that is not table data (schema, session settings, views, routines) is
//! kept in order; each table's data is a list of parts, the runs of consecutive INSERTs into
//! it, with where they stand in the dump and the session settings in force there. A dump
//! with anything this plan does not fully understand (UPDATE, INSERT ... SELECT, a table
//! dropped after its data, the server's own databases...) is restored serially instead.
//! Tables a [`TableFilter`] leaves out get no parts: their rows are counted, never loaded.

use crate::location::Location;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{anyhow, Result};

use super::ledger::Ledger;
use super::reader::{spawn_reader, Counters, ReadOptions};
use super::source::ContentHash;
use crate::filter::TableFilter;
use crate::sql::{leading_words, Charset, Kind, Statement};

/// Statements kept in memory during the scan are capped; a dump with more schema than this
/// is restored serially.
const MAX_KEPT_BYTES: usize = 64 << 20;
/// A dump whose tables' data is broken into more parts than this is restored serially.
const MAX_PARTS: usize = 100_000;

/// A run of consecutive INSERTs into one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Offsets of the first INSERT's first byte and of the last INSERT's last byte + 1.
    pub start: u64,
    pub end: u64,
    pub line: u64,
    /// The client character set at `start`.
    pub charset: Charset,
    /// Session settings (`Plan::sets`) executed before this part in the dump.
    pub sets_before: usize,
    /// The current database at this point (unqualified names in the INSERTs mean it).
    pub use_db: Option<String>,
}

/// One table's data in the dump.
#[derive(Debug, Clone)]
pub struct TableData {
    pub db: String,
    pub table: String,
    pub parts: Vec<Part>,
    pub bytes: u64,
}

/// A statement that is not table data, with the database current where it stands.
#[derive(Debug)]
pub struct Kept {
    pub stmt: Statement,
    pub kind: Kind,
    pub db: Option<String>,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub kept: Vec<Kept>,
    /// Every `SET` of the dump, in order.
    pub sets: Vec<Statement>,
    pub tables: Vec<TableData>,
    pub ledger: Ledger,
    /// Why this dump is restored serially, if it is.
    pub serial_reason: Option<String>,
}

/// Builds a [`Plan`] one statement at a time.
#[derive(Debug)]
pub struct Planner {
    default_db: String,
    filter: TableFilter,
    plan: Plan,
    index: HashMap<(String, String), usize>,
    /// The table whose part the last statement extended.
    open: Option<usize>,
    kept_bytes: usize,
    parts: usize,
}

impl Planner {
    pub fn new(default_db: &str, filter: &TableFilter) -> Planner {
        Planner {
            default_db: default_db.to_string(),
            filter: filter.clone(),
            plan: Plan::default(),
            index: HashMap::new(),
            open: None,
            kept_bytes: 0,
            parts: 0,
        }
    }

    pub fn observe(&mut self, stmt: Statement) {
        let kind = stmt.kind();
        let ledger = &mut self.plan.ledger;
        if ledger.needs_default_db(&kind) {
            ledger.current_db = Some(self.default_db.clone());
            ledger.default_db_created = true;
        }
        ledger.note(&kind);
        if self.plan.serial_reason.is_some() {
            return;
        }
        let db = self.plan.ledger.current_db.clone();
        if let Kind::Insert {
            db: qualified,
            table,
            rows,
        } = &kind
        {
            if *rows == 0 {
                self.serial(format!(
                    "line {}: an INSERT without a VALUES list",
                    stmt.line
                ));
                return;
            }
            self.insert(&stmt, qualified.as_ref(), table, db);
            return;
        }
        self.open = None;
        match &kind {
            Kind::LockTables | Kind::UnlockTables => return,
            Kind::AlterTable { .. } if is_keys_toggle(&stmt.sql) => return,
            Kind::AlterTable { .. } => {
                self.serial(format!("line {}: ALTER TABLE in the data", stmt.line));
                return;
            }
            Kind::DropTable { db: q, table } => {
                let key = (self.plan.ledger.resolve(q.as_ref()), table.clone());
                // The key was removed from the ledger; the plan still knows the data.
                if self.index.contains_key(&key) {
                    self.serial(format!(
                        "line {}: table {}.{table} is dropped after its data",
                        stmt.line, key.0
                    ));
                    return;
                }
            }
            Kind::Other if !is_harmless_other(&stmt.sql) => {
                let words = leading_words(&stmt.sql, 2).join(" ");
                self.serial(format!(
                    "line {}: a `{words}` statement must run in dump order",
                    stmt.line
                ));
                return;
            }
            Kind::Use { db: used } if is_system_db(used) => {
                self.serial(format!(
                    "line {}: the dump restores the `{used}` system database",
                    stmt.line
                ));
                return;
            }
            Kind::Set => self.plan.sets.push(stmt.clone()),
            _ => {}
        }
        self.kept_bytes += stmt.sql.len();
        self.plan.kept.push(Kept { stmt, kind, db });
        if self.kept_bytes > MAX_KEPT_BYTES {
            self.serial("more than 64 MB of schema statements".to_string());
        }
    }

    fn insert(
        &mut self,
        stmt: &Statement,
        qualified: Option<&String>,
        table: &str,
        db: Option<String>,
    ) {
        let key = (self.plan.ledger.resolve(qualified), table.to_string());
        if !self.filter.loads(&key.0, &key.1) {
            // Counted by the ledger, loaded by no one; a part of another table that stood
            // before it ends here, so no worker reads these rows.
            self.open = None;
            return;
        }
        let len = stmt.sql.len() as u64;
        let end = stmt.offset + len;
        let i = match self.index.get(&key) {
            Some(&i) => i,
            None => {
                self.index.insert(key.clone(), self.plan.tables.len());
                self.plan.tables.push(TableData {
                    db: key.0,
                    table: key.1,
                    parts: Vec::new(),
                    bytes: 0,
                });
                self.plan.tables.len() - 1
            }
        };
        let sets_before = self.plan.sets.len();
        let t = &mut self.plan.tables[i];
        t.bytes += len;
        match t.parts.last_mut() {
            Some(part) if self.open == Some(i) => part.end = end,
            _ => {
                t.parts.push(Part {
                    start: stmt.offset,
                    end,
                    line: stmt.line,
                    charset: stmt.charset,
                    sets_before,
                    use_db: db,
                });
                self.parts += 1;
                if self.parts > MAX_PARTS {
                    self.serial(format!(
                        "the rows of its tables are spread over more than {MAX_PARTS} places"
                    ));
                }
            }
        }
        self.open = Some(i);
    }

    fn serial(&mut self, reason: String) {
        self.plan.serial_reason = Some(reason);
        // Keep counting rows, but free what is no longer needed.
        self.plan.kept = Vec::new();
        self.plan.sets = Vec::new();
        self.plan.tables = Vec::new();
        self.index = HashMap::new();
    }

    pub fn finish(self) -> Plan {
        self.plan
    }
}

/// Read the dump once, executing nothing.
pub async fn scan(
    path: &Location,
    default_db: &str,
    filter: &TableFilter,
    read: ReadOptions,
    sql_bytes: &AtomicU64,
    content: Arc<ContentHash>,
) -> Result<Plan> {
    let scanned = Arc::new(Counters::hashing(content));
    let mut rx = spawn_reader(path, vec![], scanned.clone(), read);
    let mut planner = Planner::new(default_db, filter);
    while let Some(batch) = rx.recv().await {
        let batch = batch.map_err(|e| anyhow!(e.message))?;
        for stmt in batch {
            planner.observe(stmt);
        }
    }
    sql_bytes.store(scanned.sql_bytes.load(Ordering::Relaxed), Ordering::Relaxed);
    Ok(planner.finish())
}

/// `/*!40000 ALTER TABLE `t` DISABLE KEYS */` and its ENABLE twin: no-ops for InnoDB.
fn is_keys_toggle(sql: &[u8]) -> bool {
    if sql.len() > 400 {
        return false;
    }
    let text = String::from_utf8_lossy(sql).to_ascii_uppercase();
    let text = text.trim_end_matches(|c: char| c == '*' || c == '/' || c.is_whitespace());
    text.ends_with("DISABLE KEYS") || text.ends_with("ENABLE KEYS")
}

/// Databases the server keeps itself.
pub fn is_system_db(db: &str) -> bool {
    ["mysql", "sys", "performance_schema", "information_schema"]
        .iter()
        .any(|s| db.eq_ignore_ascii_case(s))
}

/// Statements of kind Other that a dump writes and that do not touch table data.
fn is_harmless_other(sql: &[u8]) -> bool {
    let w = leading_words(sql, 2);
    let w: Vec<&str> = w.iter().map(String::as_str).collect();
    matches!(
        w.as_slice(),
        [
            "DROP",
            "VIEW"
                | "PROCEDURE"
                | "FUNCTION"
                | "EVENT"
                | "TRIGGER"
                | "DATABASE"
                | "SCHEMA"
                | "SEQUENCE"
        ] | ["CREATE", "SEQUENCE"]
            | ["SELECT" | "DO", "SETVAL"]
            | ["COMMIT"]
            | ["START", "TRANSACTION"]
            | ["BEGIN"]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::split_all;

    fn plan(sql: &str) -> Plan {
        plan_with(sql, &TableFilter::default())
    }

    fn plan_with(sql: &str, filter: &TableFilter) -> Plan {
        let mut p = Planner::new("game", filter);
        for s in split_all(sql.as_bytes()).unwrap() {
            p.observe(s);
        }
        p.finish()
    }

    #[test]
    fn a_table_in_several_places_has_a_part_for_each_under_its_settings() {
        let sql = "SET NAMES utf8mb4;\nUSE a;\nCREATE TABLE x (i int);\nCREATE TABLE y (i int);\n\
                   INSERT INTO x VALUES (1);\nINSERT INTO x VALUES (2);\nINSERT INTO y VALUES (3);\n\
                   SET NAMES gbk;\nINSERT INTO x VALUES (4);\nINSERT INTO b.x VALUES (5);\n";
        let p = plan(sql);
        assert_eq!(p.serial_reason, None);
        let names: Vec<(&str, &str, usize)> = p
            .tables
            .iter()
            .map(|t| (t.db.as_str(), t.table.as_str(), t.parts.len()))
            .collect();
        assert_eq!(names, vec![("a", "x", 2), ("a", "y", 1), ("b", "x", 1)]);
        let x = &p.tables[0];
        assert_eq!(x.parts[0].sets_before, 1);
        assert_eq!(x.parts[0].charset, Charset::AsciiSafe);
        assert_eq!(x.parts[1].sets_before, 2);
        assert_eq!(x.parts[1].charset, Charset::Gbk);
        assert_eq!(x.parts[1].use_db.as_deref(), Some("a"));
        assert!(x.parts[0].end < p.tables[1].parts[0].start);
        assert!(p.tables[1].parts[0].end < x.parts[1].start);
        assert_eq!(p.ledger.rows[&("a".into(), "x".into())], 3);
        assert_eq!(p.ledger.rows[&("b".into(), "x".into())], 1);
        // Kept: SET, USE, 2 x CREATE, SET.
        assert_eq!(p.kept.len(), 5);
    }

    #[test]
    fn what_needs_dump_order_goes_serial() {
        for (sql, reason) in [
            (
                "CREATE TABLE t (i int);\nINSERT INTO t VALUES (1);\nDROP TABLE t;\n",
                "dropped after its data",
            ),
            (
                "USE a;\nINSERT INTO b.t VALUES (1);\nDROP TABLE IF EXISTS b.t;\n",
                "b.t is dropped",
            ),
            ("UPDATE t SET i = 1;\n", "`UPDATE T` statement"),
            ("INSERT INTO t SELECT 1;\n", "without a VALUES list"),
            ("USE mysql;\n", "system database"),
            ("ALTER TABLE t ADD COLUMN c int;\n", "ALTER TABLE"),
        ] {
            let p = plan(sql);
            let got = p.serial_reason.unwrap_or_default();
            assert!(got.contains(reason), "{sql}: {got}");
            assert!(p.tables.is_empty() && p.kept.is_empty());
        }
        let fine =
            plan("/*!40000 ALTER TABLE `t` DISABLE KEYS */;\nLOCK TABLES t WRITE;\nCOMMIT;\n");
        assert_eq!(fine.serial_reason, None);
    }

    #[test]
    fn dumps_without_use_go_to_the_default_database() {
        let p = plan("CREATE TABLE t (i int);\nINSERT INTO t VALUES (1),(2);\n");
        assert!(p.ledger.default_db_created);
        assert_eq!(p.tables[0].db, "game");
        assert_eq!(p.tables[0].parts[0].use_db.as_deref(), Some("game"));
    }

    #[test]
    fn rows_of_filtered_tables_get_no_parts_but_are_counted() {
        let sql = "USE a;\nCREATE TABLE x (i int);\nCREATE TABLE ev (i int);\n\
                   INSERT INTO x VALUES (1);\nINSERT INTO ev VALUES (2),(3);\n\
                   INSERT INTO x VALUES (4);\nINSERT INTO b.ev VALUES (5);\n\
                   DROP TABLE IF EXISTS ev2;\nCREATE TABLE ev2 (i int);\n\
                   INSERT INTO ev2 VALUES (6);\nDROP TABLE ev2;\n";
        let filter = TableFilter::new(&[], &["ev*".into()], ("t", "s")).unwrap();
        let p = plan_with(sql, &filter);
        // Dropping a table whose rows are not loaded needs no serial restore.
        assert_eq!(p.serial_reason, None);
        let names: Vec<(&str, &str)> = p
            .tables
            .iter()
            .map(|t| (t.db.as_str(), t.table.as_str()))
            .collect();
        assert_eq!(names, vec![("a", "x")]);
        // x's rows are two parts: the ev rows between them are in neither.
        let x = &p.tables[0];
        assert_eq!(x.parts.len(), 2);
        let ev_at = sql.find("INSERT INTO ev ").unwrap() as u64;
        assert!(x.parts[0].end <= ev_at && x.parts[1].start > ev_at);
        assert_eq!(x.bytes, 2 * "INSERT INTO x VALUES (1)".len() as u64);
        // The ledger still knows every table and the rows the dump carried.
        assert_eq!(p.ledger.rows[&("a".into(), "ev".into())], 2);
        assert_eq!(p.ledger.rows[&("b".into(), "ev".into())], 1);
        assert!(!p.ledger.rows.contains_key(&("a".into(), "ev2".into())));
        // The schema is kept whole.
        assert!(p
            .kept
            .iter()
            .any(|k| matches!(&k.kind, Kind::CreateTable { table, .. } if table == "ev")));
    }
}
