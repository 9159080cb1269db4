//! Restore one dump into one world: decompress -> split -> execute, then verify row counts.
//!
//! - [`plan`]: read the dump once and plan a parallel restore (or say why it must be serial);
//! - [`schema`]: everything but table data, in dump order, holding back triggers and keys;
//! - [`worker`]: loading connections, each taking whole tables, part by part;
//! - [`load_data`]: INSERT rows as LOAD DATA where the result is exactly the same;
//! - [`serial`]: one connection, every statement in order, as the stock client would;
//! - [`verify`]: every table holds the rows its INSERTs carried (none, for tables whose data
//!   a table filter left out);
//! - [`disk`]: a server that ran out of space says so in words that are recognised.

pub mod disk;
pub mod estimate;
mod ledger;
mod load_data;
pub mod phase;
mod plan;
pub mod progress;
mod reader;
mod schema;
mod serial;
mod session;
pub mod source;
pub mod verify;
mod worker;

use crate::location::Location;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Result;
use futures::future::try_join_all;

pub use phase::Phase;
pub use reader::Counters;
pub use session::{quote_ident, SESSION_SETUP};

use ledger::Ledger;
use reader::ReadOptions;
use session::Server;

use crate::db::Target;
use crate::filter::TableFilter;
use crate::sql::trailer::TrailerPolicy;

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
    /// What the end of a dump must look like.
    pub trailer: TrailerPolicy,
    /// Whose tables' data is loaded (the others' rows are read and counted, never sent).
    pub filter: TableFilter,
}

/// What a finished restore loaded.
#[derive(Debug, Clone, Default)]
pub struct RestoreReport {
    /// Rows per `db.table` from the dump's INSERTs, all verified with `COUNT(*)`: every
    /// table whose data was loaded.
    pub rows: BTreeMap<String, u64>,
    /// Tables whose data the filter left out, with the rows the dump had for them (their
    /// tables were verified empty).
    pub skipped: BTreeMap<String, u64>,
    /// Every table of the dump with its rows (`(db, table)`), loaded or left out.
    pub tables: BTreeMap<(String, String), u64>,
    pub statements: u64,
    /// Things worth telling the user (say, why the dump was restored serially).
    pub notes: Vec<String>,
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

/// Restore `path` into the world at `target`, then verify the row counts.
pub async fn restore(
    target: &Target,
    path: &Location,
    options: &RestoreOptions,
    counters: Arc<Counters>,
) -> Result<RestoreReport> {
    restore_inner(target, path, options, counters)
        .await
        .map_err(disk::explain)
}

async fn restore_inner(
    target: &Target,
    path: &Location,
    options: &RestoreOptions,
    counters: Arc<Counters>,
) -> Result<RestoreReport> {
    let server = {
        let mut conn = target.connect(None).await?;
        let server = Server::detect(&mut conn).await?;
        conn.disconnect().await.ok();
        server
    };
    let read = ReadOptions {
        max_statement: server.max_packet,
        trailer: options.trailer,
    };
    let filter = &options.filter;
    let mut notes = Vec::new();
    let parallel = options.jobs > 1 || options.defer_indexes || options.load_data;
    counters.set_phase(if parallel {
        Phase::Reading
    } else {
        Phase::Loading
    });
    let ledger = if parallel {
        let plan = plan::scan(
            path,
            &options.default_db,
            filter,
            read,
            &counters.sql_bytes,
            counters.content.clone(),
        )
        .await
        .map_err(|e| with_packet_hint(e, server))?;
        // A filter that loads nothing fails before anything runs.
        notes.extend(check_filter(filter, &plan.ledger)?);
        match plan.serial_reason.clone() {
            None => parallel_restore(target, path, options, plan, server, read, &counters).await?,
            Some(reason) => {
                notes.push(format!("restored serially: {reason}"));
                // The serial pass counts the SQL again from the start.
                counters.sql_bytes.store(0, Ordering::Relaxed);
                counters.set_phase(Phase::Loading);
                serial::restore(
                    target,
                    path,
                    &options.default_db,
                    filter,
                    server,
                    read,
                    counters.clone(),
                )
                .await?
            }
        }
    } else {
        let ledger = serial::restore(
            target,
            path,
            &options.default_db,
            filter,
            server,
            read,
            counters.clone(),
        )
        .await
        .map_err(|e| with_packet_hint(e, server))?;
        notes.extend(check_filter(filter, &ledger)?);
        ledger
    };
    if ledger.statements == 0 {
        anyhow::bail!("the dump holds no SQL statements");
    }
    counters.set_phase(Phase::Verifying);
    // Loaded tables hold the dump's rows; left-out ones hold none.
    verify::verify(target, &ledger.rows, filter).await?;
    let (rows, skipped) = split_rows(&ledger.rows, filter);
    Ok(RestoreReport {
        rows,
        skipped,
        tables: ledger.rows.clone(),
        statements: ledger.statements,
        notes,
    })
}

/// The tables of the dump, by whether the filter loads their data: (`db.table` -> rows
/// loaded, `db.table` -> rows left out).
fn split_rows(
    rows: &BTreeMap<(String, String), u64>,
    filter: &TableFilter,
) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
    let mut loaded = BTreeMap::new();
    let mut skipped = BTreeMap::new();
    for ((db, t), n) in rows {
        let side = if filter.loads(db, t) {
            &mut loaded
        } else {
            &mut skipped
        };
        side.insert(table_key(db, t), *n);
    }
    (loaded, skipped)
}

/// A filter must load at least one table of the dump: else the error names the filter and
/// the dump's tables. Globs that match no table are notes.
fn check_filter(filter: &TableFilter, ledger: &Ledger) -> Result<Vec<String>> {
    if filter.is_all() {
        return Ok(Vec::new());
    }
    let tables: Vec<(String, String)> = ledger.rows.keys().cloned().collect();
    if !tables.iter().any(|(db, t)| filter.loads(db, t)) {
        const SHOWN: usize = 40;
        let mut names: Vec<String> = tables.iter().map(|(d, t)| table_key(d, t)).collect();
        let more = names.len().saturating_sub(SHOWN);
        names.truncate(SHOWN);
        let list = if names.is_empty() {
            "it creates no table".to_string()
        } else if more > 0 {
            format!("its tables: {} and {more} more", names.join(", "))
        } else {
            format!("its tables: {}", names.join(", "))
        };
        anyhow::bail!(
            "the tables filter `{}` loads no table of this dump ({list}); a name or glob is \
             `table` in any database or `db.table`, with * and ?",
            filter.describe()
        );
    }
    Ok(filter
        .unmatched(&tables)
        .into_iter()
        .map(|g| format!("the tables filter's {g:?} matches no table of this dump"))
        .collect())
}

/// Say which setting lets a world take larger statements.
fn with_packet_hint(e: anyhow::Error, server: Server) -> anyhow::Error {
    if format!("{e}").contains("larger than max_allowed_packet") {
        e.context(format!(
            "the world's server accepts statements of up to {} bytes; if the dump really \
             holds larger ones, raise it in worlds.yaml: server_args: ['--max-allowed-packet=1G']",
            server.max_packet
        ))
    } else {
        e
    }
}

/// Schema on one connection, table data on `jobs` connections, then triggers.
async fn parallel_restore(
    target: &Target,
    path: &Location,
    options: &RestoreOptions,
    plan: plan::Plan,
    server: Server,
    read: ReadOptions,
    counters: &Arc<Counters>,
) -> Result<Ledger> {
    let plan::Plan {
        kept,
        sets,
        tables,
        ledger,
        ..
    } = plan;
    // Tables whose data is loaded by no one (left out by the filter, or without rows) still
    // get their held-back keys below.
    counters.set_phase(Phase::Loading);
    let mut conn = session::open(target).await?;
    let held = schema::run(
        &mut conn,
        kept,
        server,
        schema::SchemaOptions {
            default_db: &options.default_db,
            default_db_created: ledger.default_db_created,
            defer_indexes: options.defer_indexes,
        },
    )
    .await?;

    let total: u64 = tables.iter().map(|t| t.bytes).sum::<u64>().max(1);
    let done = AtomicU64::new(0);
    let file_size = path.size();
    let worker = worker::Worker {
        target,
        path,
        sets: &sets,
        indexes: &held.indexes,
        load_data: options.load_data,
        server,
        read,
    };
    let bins = worker::assign(&tables, options.jobs);
    // try_join_all drops the other workers at the first error; their readers stop.
    try_join_all(bins.iter().map(|mine| {
        worker.run(mine, |n| {
            let d = done.fetch_add(n, Ordering::Relaxed) + n;
            if d >= total && !held.indexes.is_empty() {
                // Every row is in; what is left is building the held-back keys.
                counters.set_phase(Phase::Indexing);
            }
            let shown = u128::from(file_size) * u128::from(d.min(total)) / u128::from(total);
            counters
                .file_bytes
                .store(u64::try_from(shown).unwrap_or(file_size), Ordering::Relaxed);
        })
    }))
    .await?;
    // Keys of tables that had no data.
    if !held.indexes.is_empty() {
        counters.set_phase(Phase::Indexing);
    }
    for ((db, table), add) in &held.indexes {
        if !tables.iter().any(|t| &t.db == db && &t.table == table) {
            schema::add_indexes(&mut conn, db, table, add).await?;
        }
    }
    if !held.triggers.is_empty() {
        let mut c = session::open(target).await?;
        schema::create_triggers(&mut c, held.triggers, &sets, server).await?;
        session::close(c).await?;
    }
    session::close(conn).await?;
    Ok(ledger)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger(tables: &[(&str, &str, u64)]) -> Ledger {
        let mut l = Ledger::default();
        for (db, t, n) in tables {
            l.rows.insert((db.to_string(), t.to_string()), *n);
        }
        l
    }

    fn filter(tables: &[&str], skip: &[&str]) -> TableFilter {
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        TableFilter::new(&v(tables), &v(skip), ("--tables", "--skip-tables")).unwrap()
    }

    #[test]
    fn a_filter_that_loads_nothing_names_itself_and_the_dumps_tables() {
        let l = ledger(&[("game", "player", 3), ("game", "guild", 1)]);
        let e = check_filter(&filter(&["plyer"], &[]), &l).unwrap_err();
        let e = format!("{e:#}");
        assert!(e.contains("`--tables plyer` loads no table"), "{e}");
        assert!(e.contains("its tables: game.guild, game.player"), "{e}");
        let e = check_filter(&filter(&[], &["*"]), &l).unwrap_err();
        assert!(format!("{e}").contains("--skip-tables *"), "{e}");
        let e = check_filter(&filter(&["x"], &[]), &ledger(&[])).unwrap_err();
        assert!(format!("{e}").contains("it creates no table"), "{e}");
        // Some globs match, others do not: a note.
        let notes = check_filter(&filter(&["player", "event_*"], &[]), &l).unwrap();
        assert_eq!(
            notes,
            ["the tables filter's \"event_*\" matches no table of this dump"]
        );
        assert!(check_filter(&TableFilter::default(), &ledger(&[]))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn rows_split_into_loaded_and_left_out() {
        let l = ledger(&[("game", "player", 3), ("game", "event_log", 9)]);
        let (loaded, skipped) = split_rows(&l.rows, &filter(&[], &["event_*"]));
        assert_eq!(loaded, BTreeMap::from([("game.player".to_string(), 3)]));
        assert_eq!(skipped, BTreeMap::from([("game.event_log".to_string(), 9)]));
    }
}
