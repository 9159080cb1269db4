//! One connection, every statement in order, as the stock client would run the dump.

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;

use super::ledger::Ledger;
use super::reader::{spawn_reader, Counters, ReadOptions};
use super::session::{self, create_database, execute, use_default_db, Server};
use crate::db::Target;
use crate::sql::Kind;

pub async fn restore(
    target: &Target,
    path: &Path,
    default_db: &str,
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
            execute(&mut conn, stmt, server.compat).await?;
            ledger.note(&kind);
        }
    }
    session::close(conn).await?;
    Ok(ledger)
}
