//! Restore one dump into one world: decompress -> split -> execute, then verify row counts.

mod parallel;
pub mod progress;
mod reader;
pub mod source;
mod verify;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use reader::spawn_reader;
pub use reader::Counters;

use crate::db::Target;
use crate::sql::{classify, leading_words, rewrite_definer, Kind, Statement};

/// How to restore.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// Connections that load table data at once (1 = one stream, like the mysql client).
    pub jobs: usize,
    /// Database for dumps that never say `USE`.
    pub default_db: String,
    /// Create secondary indexes after the data.
    pub defer_indexes: bool,
    /// Load the rows of plain INSERTs with LOAD DATA LOCAL (exact cases only).
    pub load_data: bool,
}

/// What a finished restore loaded.
#[derive(Debug, Clone, Default)]
pub struct RestoreReport {
    /// Rows per `db.table` from the dump's INSERTs, all verified with `COUNT(*)`.
    pub rows: BTreeMap<String, u64>,
    pub statements: u64,
}

/// A statement the server refused.
#[derive(Debug, Clone)]
pub struct StatementError {
    pub line: u64,
    pub offset: u64,
    pub snippet: String,
    pub server: String,
}

impl fmt::Display for StatementError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "statement at line {} (byte {} of the SQL) failed: {}\n  statement: {}",
            self.line, self.offset, self.server, self.snippet
        )
    }
}

impl std::error::Error for StatementError {}

/// The first 200 characters of a statement, on one line.
pub fn snippet(sql: &[u8]) -> String {
    let text = String::from_utf8_lossy(&sql[..sql.len().min(800)]);
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    if text.chars().count() > 200 || sql.len() > 800 {
        format!("{one_line}...")
    } else {
        one_line
    }
}

/// A table the dump creates, keyed `db.table`.
pub fn table_key(db: &str, table: &str) -> String {
    format!("{db}.{table}")
}

/// Quote an identifier with backticks.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Bookkeeping shared by the serial and parallel paths: current database, tables created,
/// rows counted per table.
#[derive(Debug, Default)]
pub struct Ledger {
    pub current_db: Option<String>,
    /// Tables the dump leaves behind, with the rows its INSERTs put in them.
    pub rows: BTreeMap<(String, String), u64>,
    pub statements: u64,
    pub default_db_created: bool,
}

impl Ledger {
    /// Note what a statement does; returns the statement's kind.
    pub fn note(&mut self, kind: &Kind) {
        self.statements += 1;
        match kind {
            Kind::Use { db } => self.current_db = Some(db.clone()),
            Kind::CreateTable { table } => {
                let key = (self.db().to_string(), table.clone());
                self.rows.entry(key).or_insert(0);
            }
            Kind::DropTable { table } => {
                let key = (self.db().to_string(), table.clone());
                self.rows.remove(&key);
            }
            Kind::Insert { table, rows } => {
                let key = (self.db().to_string(), table.clone());
                *self.rows.entry(key).or_insert(0) += rows;
            }
            _ => {}
        }
    }

    fn db(&self) -> &str {
        self.current_db.as_deref().unwrap_or("")
    }

    /// Does this statement need a current database that the dump has not chosen yet?
    pub fn needs_default_db(&self, kind: &Kind) -> bool {
        self.current_db.is_none()
            && !matches!(
                kind,
                Kind::Set | Kind::Use { .. } | Kind::CreateDatabase { .. }
            )
    }
}

/// Settings every restore connection starts with.
pub const SESSION_SETUP: &str = "SET SESSION unique_checks = 0, foreign_key_checks = 0";

pub async fn open_session(target: &Target) -> Result<Conn> {
    let mut conn = target.connect(None).await?;
    conn.query_drop(SESSION_SETUP).await?;
    Ok(conn)
}

/// Make `db` exist: a dump made with `--no-create-db` still says `USE db`.
pub async fn create_database(conn: &mut Conn, db: &str) -> Result<()> {
    conn.query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", quote_ident(db)))
        .await?;
    Ok(())
}

/// Make `db` exist and be the connection's current database.
pub async fn use_default_db(conn: &mut Conn, db: &str) -> Result<()> {
    let q = quote_ident(db);
    conn.query_drop(format!("CREATE DATABASE IF NOT EXISTS {q}"))
        .await?;
    conn.query_drop(format!("USE {q}")).await?;
    Ok(())
}

/// What the world's server needs changed in a dump made elsewhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct Compat {
    /// The server lacks MySQL 8's `utf8mb4_0900_*` collations (MariaDB): use its closest.
    pub map_0900_collations: bool,
}

impl Compat {
    /// Ask the server what it supports.
    pub async fn detect(conn: &mut Conn) -> Result<Compat> {
        let have: Option<u64> = conn
            .query_first(
                "SELECT COUNT(*) FROM information_schema.COLLATIONS \
                 WHERE COLLATION_NAME = 'utf8mb4_0900_ai_ci'",
            )
            .await?;
        Ok(Compat {
            map_0900_collations: have == Some(0),
        })
    }
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
pub fn adapt<'a>(sql: &'a [u8], compat: Compat) -> Option<std::borrow::Cow<'a, [u8]>> {
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
    Some(std::borrow::Cow::Owned(out))
}

/// Execute one statement as [`adapt`]ed; a refusal becomes a [`StatementError`].
pub async fn execute(
    conn: &mut Conn,
    stmt: &Statement,
    compat: Compat,
) -> Result<(), StatementError> {
    let Some(sql) = adapt(&stmt.sql, compat) else {
        return Ok(());
    };
    conn.query_drop(&*sql).await.map_err(|e| StatementError {
        line: stmt.line,
        offset: stmt.offset,
        snippet: snippet(&stmt.sql),
        server: e.to_string(),
    })
}

/// Restore `path` into the world at `target`, then verify the row counts.
pub async fn restore(
    target: &Target,
    path: &Path,
    options: &RestoreOptions,
    counters: Arc<Counters>,
) -> Result<RestoreReport> {
    let parallel = if options.jobs > 1 || options.defer_indexes || options.load_data {
        parallel::restore(target, path, options, counters.clone()).await?
    } else {
        None
    };
    let ledger = match parallel {
        Some(ledger) => ledger,
        None => {
            // The serial pass counts the SQL again from the start.
            counters
                .sql_bytes
                .store(0, std::sync::atomic::Ordering::Relaxed);
            serial(target, path, options, counters).await?
        }
    };
    if ledger.statements == 0 {
        anyhow::bail!("the dump holds no SQL statements");
    }
    let verifying = std::time::Instant::now();
    verify::verify(target, &ledger.rows).await?;
    if std::env::var_os("WORLDS_TRACE").is_some() {
        eprintln!(
            "trace: row counts verified in {:.2} s",
            verifying.elapsed().as_secs_f64()
        );
    }
    Ok(RestoreReport {
        rows: ledger
            .rows
            .iter()
            .map(|((db, t), n)| (table_key(db, t), *n))
            .collect(),
        statements: ledger.statements,
    })
}

/// One connection, every statement in order, as the mysql client would.
async fn serial(
    target: &Target,
    path: &Path,
    options: &RestoreOptions,
    counters: Arc<Counters>,
) -> Result<Ledger> {
    let mut conn = open_session(target).await?;
    let compat = Compat::detect(&mut conn).await?;
    let mut rx = spawn_reader(path, vec![], counters);
    let mut ledger = Ledger::default();
    while let Some(batch) = rx.recv().await {
        let batch = batch.map_err(|e| anyhow::anyhow!(e.message))?;
        for stmt in &batch {
            let kind = classify(&stmt.sql);
            if ledger.needs_default_db(&kind) {
                use_default_db(&mut conn, &options.default_db).await?;
                ledger.current_db = Some(options.default_db.clone());
                ledger.default_db_created = true;
            }
            if let Kind::Use { db } = &kind {
                create_database(&mut conn, db).await?;
            }
            execute(&mut conn, stmt, compat).await?;
            ledger.note(&kind);
        }
    }
    conn.disconnect().await.ok();
    Ok(ledger)
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
