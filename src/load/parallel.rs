//! Parallel restore of one plain mysqldump stream, table by table.
//!
//! 1. Scan: read the whole dump once without executing it. Keep every statement that is not
//!    table data (schema, session settings, views, routines), note where each table's INSERTs
//!    are and how large they are. A dump with anything this plan does not fully understand
//!    (UPDATE, INSERT ... SELECT, non-key ALTER TABLE...) is restored serially instead.
//! 2. Schema: run the kept statements in order on one connection, holding back triggers and,
//!    when enabled, the secondary indexes of each table.
//! 3. Data: a pool of connections loads the tables at once. Each worker reads the dump again
//!    (decompressing is much cheaper than inserting) but splits only its tables' byte ranges,
//!    replaying the dump's session settings in the order the dump set them.
//! 4. Finish: each worker adds its tables' deferred indexes; then the triggers are created,
//!    each with the session settings it had in the dump.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{anyhow, Result};
use futures::future::try_join_all;
use futures::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::reader::{spawn_reader, Counters, Range};
use super::{
    create_database, execute, open_session, quote_ident, use_default_db, Compat, Ledger,
    RestoreOptions,
};
use crate::db::Target;
use crate::sql::{classify, insert_to_load_rows, leading_words, Kind, LoadRows, Statement};

/// Statements kept in memory during the scan are capped; a dump with more schema than this
/// is restored serially.
const MAX_KEPT_BYTES: usize = 64 << 20;

/// One table's data in the dump.
#[derive(Debug, Clone)]
struct TableData {
    db: String,
    table: String,
    start: u64,
    end: u64,
    line: u64,
    bytes: u64,
    /// Session settings in force at its first INSERT (index into `sets`).
    sets_before: usize,
}

/// A statement to run after the data, with the session settings it needs.
#[derive(Debug)]
struct Deferred {
    stmt: Statement,
    sets_before: usize,
    db: Option<String>,
}

/// What the scan learnt.
#[derive(Debug, Default)]
struct Scan {
    /// Everything but table data, in dump order, with the database current at that point.
    kept: Vec<(Statement, Kind, Option<String>)>,
    sets: Vec<Statement>,
    tables: Vec<TableData>,
    ledger: Ledger,
    /// Why this dump is restored serially, if it is.
    serial_reason: Option<String>,
}

pub(super) async fn restore(
    target: &Target,
    path: &Path,
    options: &RestoreOptions,
    counters: Arc<Counters>,
) -> Result<Option<Ledger>> {
    let clock = std::time::Instant::now();
    let trace = std::env::var_os("WORLDS_TRACE").is_some();
    let phase = |name: &str| {
        if trace {
            eprintln!(
                "trace: {name} done at {:.2} s",
                clock.elapsed().as_secs_f64()
            );
        }
    };
    let scan = scan(path, options, &counters.sql_bytes).await?;
    phase("scan");
    if let Some(reason) = &scan.serial_reason {
        eprintln!(
            "{}: restoring serially: {reason}",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        );
        return Ok(None);
    }
    let Scan {
        kept,
        sets,
        tables,
        ledger,
        ..
    } = scan;

    // 2. Schema, holding back triggers and secondary indexes.
    let mut conn = open_session(target).await?;
    let compat = Compat::detect(&mut conn).await?;
    let mut triggers = Vec::new();
    let mut indexes: HashMap<(String, String), String> = HashMap::new();
    let mut sets_seen = 0usize;
    let mut created_default = false;
    // Tables other tables' foreign keys point at keep their indexes from the start.
    let referenced: std::collections::HashSet<String> = kept
        .iter()
        .flat_map(|(stmt, _, _)| referenced_tables(&stmt.sql))
        .collect();
    for (stmt, kind, db) in kept {
        match &kind {
            Kind::Set => sets_seen += 1,
            Kind::CreateTrigger { .. } => {
                triggers.push(Deferred {
                    stmt,
                    sets_before: sets_seen,
                    db,
                });
                continue;
            }
            _ => {}
        }
        if db.as_deref() == Some(options.default_db.as_str())
            && ledger.default_db_created
            && !created_default
        {
            use_default_db(&mut conn, &options.default_db).await?;
            created_default = true;
        }
        let defer = match &kind {
            Kind::CreateTable { table } => {
                options.defer_indexes && !referenced.contains(table.as_str())
            }
            _ => false,
        };
        if let (Kind::CreateTable { table }, true) = (&kind, defer) {
            if let Some((create, add)) = split_secondary_indexes(&stmt.sql) {
                let db = db.clone().unwrap_or_default();
                let short = Statement {
                    sql: create,
                    ..stmt.clone()
                };
                execute(&mut conn, &short, compat).await?;
                indexes.insert((db, table.clone()), add);
                continue;
            }
        }
        if let Kind::Use { db } = &kind {
            create_database(&mut conn, db).await?;
        }
        execute(&mut conn, &stmt, compat).await?;
    }

    phase("schema");
    // 3. Data on a pool of connections; 4a. each worker adds its tables' indexes.
    let total: u64 = tables.iter().map(|t| t.bytes).sum::<u64>().max(1);
    let done = Arc::new(AtomicU64::new(0));
    let file_size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let sets = Arc::new(sets);
    let plan = assign(&tables, options.jobs);
    let workers = plan.into_iter().filter(|p| !p.is_empty()).map(|mine| {
        let sets = sets.clone();
        let done = done.clone();
        let counters = counters.clone();
        let indexes: Vec<(TableData, Option<String>)> = mine
            .into_iter()
            .map(|t| {
                let add = indexes.get(&(t.db.clone(), t.table.clone())).cloned();
                (t, add)
            })
            .collect();
        // try_join_all drops the other workers at the first error; their readers stop.
        async move {
            load_tables(
                target,
                path,
                &indexes,
                &sets,
                options.load_data,
                compat,
                |n| {
                    let d = done.fetch_add(n, Ordering::Relaxed) + n;
                    let shown =
                        u128::from(file_size) * u128::from(d.min(total)) / u128::from(total);
                    counters
                        .file_bytes
                        .store(u64::try_from(shown).unwrap_or(file_size), Ordering::Relaxed);
                },
            )
            .await
        }
    });
    try_join_all(workers).await?;
    phase("data and indexes");
    // Indexes of tables that had no data.
    for ((db, table), add) in &indexes {
        if !tables.iter().any(|t| &t.db == db && &t.table == table) {
            alter(&mut conn, db, table, add).await?;
        }
    }

    // 4b. Triggers last, each with its session settings replayed on a fresh connection.
    if !triggers.is_empty() {
        let mut c = open_session(target).await?;
        let mut applied = 0usize;
        let mut current_db: Option<String> = None;
        for t in triggers {
            for s in &sets[applied..t.sets_before.min(sets.len())] {
                execute(&mut c, s, compat).await?;
            }
            applied = applied.max(t.sets_before);
            if t.db != current_db {
                if let Some(db) = &t.db {
                    c.query_drop(format!("USE {}", quote_ident(db))).await?;
                }
                current_db = t.db.clone();
            }
            execute(&mut c, &t.stmt, compat).await?;
        }
        c.disconnect().await.ok();
    }
    conn.disconnect().await.ok();
    Ok(Some(ledger))
}

/// Read the dump once, executing nothing.
async fn scan(path: &Path, options: &RestoreOptions, sql_bytes: &AtomicU64) -> Result<Scan> {
    let scanned = Arc::new(Counters::default());
    let mut rx = spawn_reader(path, vec![], scanned.clone());
    let mut s = Scan::default();
    let mut kept_bytes = 0usize;
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    while let Some(batch) = rx.recv().await {
        let batch = batch.map_err(|e| anyhow!(e.message))?;
        for stmt in batch {
            let kind = classify(&stmt.sql);
            if s.ledger.needs_default_db(&kind) {
                s.ledger.current_db = Some(options.default_db.clone());
                s.ledger.default_db_created = true;
            }
            s.ledger.note(&kind);
            if s.serial_reason.is_some() {
                continue;
            }
            let db = s.ledger.current_db.clone();
            match &kind {
                Kind::Insert { table, rows } => {
                    if *rows == 0 {
                        s.serial_reason = Some(format!(
                            "line {}: an INSERT without a VALUES list",
                            stmt.line
                        ));
                        continue;
                    }
                    let key = (db.clone().unwrap_or_default(), table.clone());
                    let end = stmt.offset + stmt.sql.len() as u64;
                    match index.get(&key) {
                        Some(&i) => {
                            let t = &mut s.tables[i];
                            t.end = end;
                            t.bytes += stmt.sql.len() as u64;
                        }
                        None => {
                            index.insert(key.clone(), s.tables.len());
                            s.tables.push(TableData {
                                db: key.0,
                                table: key.1,
                                start: stmt.offset,
                                end,
                                line: stmt.line,
                                bytes: stmt.sql.len() as u64,
                                sets_before: s.sets.len(),
                            });
                        }
                    }
                }
                Kind::LockTables | Kind::UnlockTables => {}
                Kind::AlterTable { .. } => {
                    if !is_keys_toggle(&stmt.sql) {
                        s.serial_reason =
                            Some(format!("line {}: ALTER TABLE in the data", stmt.line));
                    }
                }
                Kind::DropTable { table } => {
                    let key = (db.clone().unwrap_or_default(), table.clone());
                    if index.contains_key(&key) {
                        s.serial_reason = Some(format!(
                            "line {}: table {table} is dropped after its data",
                            stmt.line
                        ));
                    }
                    kept_bytes += stmt.sql.len();
                    s.kept.push((stmt, kind, db));
                }
                Kind::Other if !is_harmless_other(&stmt.sql) => {
                    let words = leading_words(&stmt.sql, 2).join(" ");
                    s.serial_reason = Some(format!(
                        "line {}: a `{words}` statement must run in dump order",
                        stmt.line
                    ));
                }
                Kind::Use { db: used } if is_system_db(used) => {
                    s.serial_reason = Some(format!(
                        "line {}: the dump restores the `{used}` system database",
                        stmt.line
                    ));
                }
                Kind::Set => {
                    s.sets.push(stmt.clone());
                    kept_bytes += stmt.sql.len();
                    s.kept.push((stmt, kind, db));
                }
                _ => {
                    kept_bytes += stmt.sql.len();
                    s.kept.push((stmt, kind, db));
                }
            }
            if kept_bytes > MAX_KEPT_BYTES && s.serial_reason.is_none() {
                s.serial_reason = Some("more than 64 MB of schema statements".to_string());
            }
        }
        if s.serial_reason.is_some() {
            // Keep counting rows, but free what is no longer needed.
            s.kept.clear();
            s.sets.clear();
        }
    }
    sql_bytes.store(scanned.sql_bytes.load(Ordering::Relaxed), Ordering::Relaxed);
    Ok(s)
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
pub(super) fn is_system_db(db: &str) -> bool {
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

/// Split tables over `jobs` workers, largest first onto the least loaded; each worker's
/// tables in dump order so it reads the file once.
fn assign(tables: &[TableData], jobs: usize) -> Vec<Vec<TableData>> {
    let jobs = jobs.max(1).min(tables.len().max(1));
    let mut order: Vec<&TableData> = tables.iter().collect();
    order.sort_by_key(|t| std::cmp::Reverse(t.bytes));
    let mut bins: Vec<(u64, Vec<TableData>)> = vec![(0, Vec::new()); jobs];
    for t in order {
        if let Some(bin) = bins.iter_mut().min_by_key(|b| b.0) {
            bin.0 += t.bytes;
            bin.1.push(t.clone());
        }
    }
    bins.into_iter()
        .map(|(_, mut v)| {
            v.sort_by_key(|t| t.start);
            v
        })
        .collect()
}

/// One worker: load its tables' INSERTs, then add their deferred indexes.
async fn load_tables(
    target: &Target,
    path: &Path,
    tables: &[(TableData, Option<String>)],
    sets: &[Statement],
    load_data: bool,
    compat: Compat,
    mut progress: impl FnMut(u64),
) -> Result<()> {
    let mut conn = open_session(target).await?;
    let mut as_load_data = false;
    let ranges: Vec<Range> = tables
        .iter()
        .map(|(t, _)| Range {
            start: t.start,
            end: Some(t.end),
            line: t.line,
        })
        .collect();
    let mut rx = spawn_reader(path, ranges, Arc::new(Counters::default()));
    let mut applied = 0usize;
    let mut current: Option<usize> = None;
    let mut current_db: Option<String> = None;
    while let Some(batch) = rx.recv().await {
        let batch = batch.map_err(|e| anyhow!(e.message))?;
        for stmt in batch {
            let Kind::Insert { table, .. } = classify(&stmt.sql) else {
                continue;
            };
            // Which of my tables is this? Ranges are in dump order.
            let Some(i) = tables.iter().position(|(t, _)| {
                t.table == table && stmt.offset >= t.start && stmt.offset <= t.end
            }) else {
                continue;
            };
            if current != Some(i) {
                if let Some(prev) = current {
                    finish_table(&mut conn, &tables[prev]).await?;
                }
                let t = &tables[i].0;
                for s in &sets[applied.min(sets.len())..t.sets_before.min(sets.len())] {
                    execute(&mut conn, s, compat).await?;
                }
                applied = applied.max(t.sets_before);
                if current_db.as_deref() != Some(t.db.as_str()) {
                    conn.query_drop(format!("USE {}", quote_ident(&t.db)))
                        .await?;
                    current_db = Some(t.db.clone());
                }
                as_load_data = load_data && load_data_fits(&mut conn, &t.db, &t.table).await?;
                current = Some(i);
            }
            let converted = if as_load_data {
                insert_to_load_rows(&stmt.sql).filter(|r| r.rows >= LOAD_DATA_MIN_ROWS)
            } else {
                None
            };
            match converted {
                Some(rows) => {
                    // After a fallback the rest of the table goes as INSERTs too.
                    as_load_data =
                        load_rows(&mut conn, &tables[i].0.table, rows, &stmt, compat).await?;
                }
                None => execute(&mut conn, &stmt, compat).await?,
            }
            progress(stmt.sql.len() as u64);
        }
    }
    if let Some(prev) = current {
        finish_table(&mut conn, &tables[prev]).await?;
    }
    conn.disconnect().await.ok();
    Ok(())
}

/// Can this table's INSERTs become LOAD DATA with the exact same result? Only InnoDB tables
/// (a refused batch is rolled back and redone as INSERT), whose text columns use the
/// session's client character set (the rows go in without conversion), and whose columns
/// are all of the plain types LOAD DATA reads exactly like INSERT does.
async fn load_data_fits(conn: &mut Conn, db: &str, table: &str) -> Result<bool> {
    let client: Option<String> = conn.query_first("SELECT @@character_set_client").await?;
    let normalize = |cs: &str| match cs {
        "utf8" => "utf8mb3".to_string(),
        other => other.to_string(),
    };
    let client = normalize(&client.unwrap_or_default());
    let engine: Option<String> = conn
        .exec_first(
            "SELECT ENGINE FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (db, table),
        )
        .await?;
    if !engine.is_some_and(|e| e.eq_ignore_ascii_case("InnoDB")) {
        return Ok(false);
    }
    let columns: Vec<(Option<String>, String, String)> = conn
        .exec(
            "SELECT CHARACTER_SET_NAME, DATA_TYPE, EXTRA FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (db, table),
        )
        .await?;
    if columns.is_empty() {
        return Ok(false);
    }
    Ok(columns.iter().all(|(charset, data_type, extra)| {
        let charset_ok = charset.as_deref().is_none_or(|cs| normalize(cs) == client);
        let type_ok = matches!(
            data_type.to_ascii_lowercase().as_str(),
            "tinyint"
                | "smallint"
                | "mediumint"
                | "int"
                | "integer"
                | "bigint"
                | "decimal"
                | "numeric"
                | "float"
                | "double"
                | "char"
                | "varchar"
                | "tinytext"
                | "text"
                | "mediumtext"
                | "longtext"
                | "binary"
                | "varbinary"
                | "tinyblob"
                | "blob"
                | "mediumblob"
                | "longblob"
                | "date"
                | "datetime"
                | "timestamp"
                | "time"
                | "year"
                | "enum"
                | "set"
        );
        let extra = extra.to_ascii_uppercase();
        let extra_ok = !(extra.contains("GENERATED")
            || extra.contains("VIRTUAL")
            || extra.contains("PERSISTENT")
            || extra.contains("STORED")
            || extra.contains("INVISIBLE"));
        charset_ok && type_ok && extra_ok
    }))
}

/// Statements with fewer rows than this are executed as they are: one LOAD DATA per row
/// (`--skip-extended-insert` dumps) costs more than the INSERT.
const LOAD_DATA_MIN_ROWS: u64 = 16;

/// Load one INSERT's rows with LOAD DATA LOCAL in a transaction. If the server stores
/// anything differently (a warning, a missing row), the transaction is rolled back and the
/// INSERT runs as the dump wrote it. Returns false when it fell back.
async fn load_rows(
    conn: &mut Conn,
    table: &str,
    rows: LoadRows,
    stmt: &Statement,
    compat: Compat,
) -> Result<bool> {
    let expected = rows.rows;
    let data = bytes::Bytes::from(rows.data);
    conn.set_infile_handler(async move { Ok(futures::stream::iter([Ok(data)]).boxed()) });
    let sql = format!(
        "LOAD DATA LOCAL INFILE 'worlds' INTO TABLE {} CHARACTER SET binary \
         FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' {}",
        quote_ident(table),
        rows.columns
            .as_deref()
            .map(String::from_utf8_lossy)
            .unwrap_or_default()
    );
    conn.query_drop("START TRANSACTION").await?;
    let loaded = conn.query_drop(&sql).await;
    let exact = loaded.is_ok() && conn.affected_rows() == expected && conn.get_warnings() == 0;
    if exact {
        conn.query_drop("COMMIT").await?;
        return Ok(true);
    }
    conn.query_drop("ROLLBACK").await?;
    execute(conn, stmt, compat).await?;
    Ok(false)
}

async fn finish_table(conn: &mut Conn, (t, add): &(TableData, Option<String>)) -> Result<()> {
    if let Some(add) = add {
        let start = std::time::Instant::now();
        alter(conn, &t.db, &t.table, add).await?;
        if std::env::var_os("WORLDS_TRACE").is_some() {
            eprintln!(
                "trace: indexes of {}.{} took {:.2} s",
                t.db,
                t.table,
                start.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

async fn alter(conn: &mut Conn, db: &str, table: &str, add: &str) -> Result<()> {
    let sql = format!(
        "ALTER TABLE {}.{} {add}",
        quote_ident(db),
        quote_ident(table)
    );
    conn.query_drop(&sql).await.map_err(|e| {
        anyhow!("adding the secondary indexes of {db}.{table} failed: {e}\n  statement: {sql}")
    })
}

/// Tables named after `REFERENCES` in a statement.
fn referenced_tables(sql: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(sql);
    let upper = text.to_ascii_uppercase();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = upper[from..].find("REFERENCES ") {
        let rest = text[from + i + "REFERENCES ".len()..].trim_start();
        // `db`.`t` or `t`: the last quoted part before the column list.
        let target = rest.split('(').next().unwrap_or("");
        if let Some(name) = target.trim().rsplit('.').next() {
            out.push(name.trim().trim_matches('`').replace("``", "`"));
        }
        from += i + 1;
    }
    out
}

/// Take the plain secondary indexes (`KEY ...`/`INDEX ...` lines) out of a mysqldump
/// `CREATE TABLE`: returns the shorter statement and `ADD KEY ..., ADD KEY ...`.
/// None when there is nothing to defer or the table has foreign keys.
fn split_secondary_indexes(sql: &[u8]) -> Option<(Vec<u8>, String)> {
    let text = std::str::from_utf8(sql).ok()?;
    let lines: Vec<&str> = text.split('\n').collect();
    if lines.len() < 3 {
        return None;
    }
    let upper = text.to_ascii_uppercase();
    if upper.contains("FOREIGN KEY") || upper.contains("REFERENCES") {
        return None;
    }
    // A key that starts with the AUTO_INCREMENT column must exist when the table is created.
    let auto_column: Option<&str> = lines.iter().find_map(|l| {
        let t = l.trim_start();
        let rest = t.strip_prefix('`')?;
        let name = &rest[..rest.find('`')?];
        t.to_ascii_uppercase()
            .contains(" AUTO_INCREMENT")
            .then_some(name)
    });
    let mut keep = Vec::with_capacity(lines.len());
    let mut keys = Vec::new();
    for line in &lines {
        let t = line.trim_start();
        let first_column = t
            .split_once('(')
            .map(|(_, cols)| cols.trim_start_matches('`'))
            .and_then(|cols| cols.split(['`', ',', '(', ')']).next());
        let needed = auto_column.is_some() && first_column == auto_column;
        if (t.starts_with("KEY `") || t.starts_with("INDEX `")) && !needed {
            keys.push(t.trim_end().trim_end_matches(',').to_string());
        } else {
            keep.push(line.to_string());
        }
    }
    if keys.is_empty() {
        return None;
    }
    // The definition before the closing `) ENGINE=...` line must not end with a comma.
    let close = keep.iter().rposition(|l| l.starts_with(')'))?;
    if close == 0 {
        return None;
    }
    let last = &mut keep[close - 1];
    let trimmed = last.trim_end().trim_end_matches(',').to_string();
    *last = trimmed;
    let add = keys
        .iter()
        .map(|k| format!("ADD {k}"))
        .collect::<Vec<_>>()
        .join(", ");
    Some((keep.join("\n").into_bytes(), add))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secondary_indexes_are_split_off() {
        let sql = "CREATE TABLE `inventory` (\n  `id` bigint NOT NULL,\n  `player_id` int NOT NULL,\n  PRIMARY KEY (`id`),\n  UNIQUE KEY `u` (`id`,`player_id`),\n  KEY `idx_player` (`player_id`),\n  KEY `idx_both` (`player_id`,`id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4";
        let (create, add) = split_secondary_indexes(sql.as_bytes()).unwrap();
        let create = String::from_utf8(create).unwrap();
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
    fn the_key_of_an_auto_increment_column_stays() {
        let sql = "CREATE TABLE `t` (\n  `id` int NOT NULL AUTO_INCREMENT,\n  `a` int,\n  KEY `id` (`id`),\n  KEY `k_a` (`a`)\n) ENGINE=InnoDB";
        let (create, add) = split_secondary_indexes(sql.as_bytes()).unwrap();
        let create = String::from_utf8(create).unwrap();
        assert!(create.contains("KEY `id` (`id`)\n)"), "{create}");
        assert_eq!(add, "ADD KEY `k_a` (`a`)");
    }

    #[test]
    fn referenced_tables_are_found() {
        let sql = b"CREATE TABLE `c` (\n  `p` int,\n  CONSTRAINT `f` FOREIGN KEY (`p`) REFERENCES `parent` (`id`),\n  CONSTRAINT `g` FOREIGN KEY (`p`) REFERENCES `db`.`other` (`id`)\n)";
        assert_eq!(referenced_tables(sql), vec!["parent", "other"]);
    }

    #[test]
    fn tables_with_foreign_keys_or_no_keys_are_left_alone() {
        let fk = "CREATE TABLE `a` (\n  `id` int,\n  KEY `k` (`id`),\n  CONSTRAINT `f` FOREIGN KEY (`id`) REFERENCES `b` (`id`)\n) ENGINE=InnoDB";
        assert!(split_secondary_indexes(fk.as_bytes()).is_none());
        let plain = "CREATE TABLE `a` (\n  `id` int,\n  PRIMARY KEY (`id`)\n) ENGINE=InnoDB";
        assert!(split_secondary_indexes(plain.as_bytes()).is_none());
    }

    fn table(name: &str, start: u64, bytes: u64) -> TableData {
        TableData {
            db: "game".into(),
            table: name.into(),
            start,
            end: start + bytes,
            line: 1,
            bytes,
            sets_before: 0,
        }
    }

    #[test]
    fn tables_are_balanced_over_workers() {
        let tables = vec![
            table("a", 0, 100),
            table("b", 100, 60),
            table("c", 160, 50),
            table("d", 210, 10),
        ];
        let bins = assign(&tables, 2);
        let sums: Vec<u64> = bins
            .iter()
            .map(|b| b.iter().map(|t| t.bytes).sum())
            .collect();
        assert_eq!(sums.iter().sum::<u64>(), 220);
        assert!(sums.iter().all(|&s| (100..=120).contains(&s)), "{sums:?}");
        for b in &bins {
            assert!(b.windows(2).all(|w| w[0].start < w[1].start));
        }
        assert_eq!(assign(&tables, 9).len(), 4);
    }

    #[test]
    fn keys_toggles() {
        assert!(is_keys_toggle(
            b"/*!40000 ALTER TABLE `event_log` DISABLE KEYS */"
        ));
        assert!(is_keys_toggle(b"ALTER TABLE t ENABLE KEYS"));
        assert!(!is_keys_toggle(
            b"ALTER TABLE t ADD COLUMN keys_enabled INT"
        ));
    }

    #[test]
    fn harmless_statements() {
        assert!(is_harmless_other(b"/*!50001 DROP VIEW IF EXISTS `v`*/"));
        assert!(is_harmless_other(
            b"/*!50003 DROP PROCEDURE IF EXISTS `p` */"
        ));
        assert!(!is_harmless_other(b"UPDATE player SET score = 0"));
        assert!(!is_harmless_other(b"DELETE FROM player"));
    }
}
