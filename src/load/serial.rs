//! One connection, every statement in order, as the stock client would run the dump; only
//! the INSERTs into tables a [`TableFilter`] leaves out are counted and not sent.

use crate::location::Location;
use std::sync::Arc;

use anyhow::Result;

use super::ledger::Ledger;
use super::reader::{spawn_reader, Counters, ReadOptions};
use super::session::{self, create_database, execute, use_default_db, Server};
use crate::db::Target;
use crate::filter::TableFilter;
use crate::sql::Kind;

pub async fn restore(
    target: &Target,
    path: &Location,
    default_db: &str,
    filter: &TableFilter,
    server: Server,
    read: ReadOptions,
    counters: Arc<Counters>,
) -> Result<Ledger> {
    let mut conn = session::open(target).await?;
    let mut rx = spawn_reader(path, vec![], counters, read);
    let mut ledger = Ledger::default();
    while let Some(batch) = rx.recv().await {
        let batch = batch.map_err(|e| anyhow::anyhow!(e.message))?;
        for stmt in &batch {
            let kind = stmt.kind();
            if ledger.needs_default_db(&kind) {
                use_default_db(&mut conn, default_db).await?;
                ledger.current_db = Some(default_db.to_string());
                ledger.default_db_created = true;
            }
            if let Kind::Use { db } = &kind {
                create_database(&mut conn, db).await?;
            }
            if !skipped(&kind, &ledger, filter) {
                execute(&mut conn, stmt, server.compat).await?;
            }
            ledger.note(&kind);
        }
    }
    session::close(conn).await?;
    Ok(ledger)
}

/// Does this statement put rows into a table whose data the filter leaves out?
fn skipped(kind: &Kind, ledger: &Ledger, filter: &TableFilter) -> bool {
    match kind {
        Kind::Insert { db, table, .. } => !filter.loads(&ledger.resolve(db.as_ref()), table),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::split_all;

    /// The statements the serial restore sends, and the ledger it ends with.
    fn sent(sql: &str, filter: &TableFilter) -> (Vec<String>, Ledger) {
        let mut ledger = Ledger::default();
        let mut out = Vec::new();
        for stmt in split_all(sql.as_bytes()).unwrap() {
            let kind = stmt.kind();
            if !skipped(&kind, &ledger, filter) {
                out.push(String::from_utf8_lossy(&stmt.sql).into_owned());
            }
            ledger.note(&kind);
        }
        (out, ledger)
    }

    #[test]
    fn inserts_into_filtered_tables_are_counted_not_sent() {
        let sql = "USE a;\nCREATE TABLE x (i int);\nCREATE TABLE ev (i int);\n\
                   INSERT INTO x VALUES (1);\nINSERT INTO ev VALUES (2),(3);\n\
                   UPDATE x SET i = 2;\nINSERT INTO b.x VALUES (4);\nUSE b;\n\
                   INSERT INTO a.ev SELECT * FROM a.x;\nINSERT INTO x VALUES (5);\n";
        let filter = TableFilter::new(&["a.*".into()], &["ev".into()], ("t", "s")).unwrap();
        let (out, ledger) = sent(sql, &filter);
        let inserts: Vec<&String> = out.iter().filter(|s| s.starts_with("INSERT")).collect();
        assert_eq!(inserts, ["INSERT INTO x VALUES (1)"]);
        // Everything that is not an INSERT runs, the UPDATE too.
        assert!(out.iter().any(|s| s.starts_with("UPDATE")));
        assert!(out.iter().any(|s| s.starts_with("CREATE TABLE ev")));
        assert_eq!(ledger.rows[&("a".into(), "ev".into())], 2);
        assert_eq!(ledger.rows[&("b".into(), "x".into())], 2);
        let (all, _) = sent(sql, &TableFilter::default());
        assert_eq!(all.iter().filter(|s| s.starts_with("INSERT")).count(), 5);
    }
}
