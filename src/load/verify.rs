//! After a restore: every table holds exactly the rows the dump's INSERTs carried, and every
//! table whose data a table filter left out holds none.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use mysql_async::prelude::Queryable;

use super::quote_ident;
use crate::db::Target;
use crate::filter::TableFilter;

/// Compare `SELECT COUNT(*)` of every table with the rows the dump carried (`db.table` ->
/// rows), or with none where `filter` leaves the table's data out.
pub async fn verify(
    target: &Target,
    dumped: &BTreeMap<(String, String), u64>,
    filter: &TableFilter,
) -> Result<()> {
    let mut conn = target.connect(None).await?;
    let mut differ = Vec::new();
    for ((db, table), dumped) in dumped {
        let loaded = filter.loads(db, table);
        let want = if loaded { dumped } else { &0 };
        // The server writes to its own tables (statistics, logs) during the restore.
        if super::plan::is_system_db(db) {
            continue;
        }
        let key = super::table_key(db, table);
        let sql = format!(
            "SELECT COUNT(*) FROM {}.{}",
            quote_ident(db),
            quote_ident(table)
        );
        let mut count = conn.query_first::<u64, _>(&sql).await;
        if !matches!(count, Ok(Some(have)) if have == *want) {
            // A system-versioned table dumped with its history holds old row versions too.
            let all = format!("{sql} FOR SYSTEM_TIME ALL");
            if let Ok(Some(have)) = conn.query_first::<u64, _>(all).await {
                if have == *want {
                    count = Ok(Some(have));
                }
            }
        }
        match count {
            Ok(Some(have)) if have == *want => {}
            Ok(have) if loaded => differ.push(format!(
                "{key}: dump has {want} rows, world has {}",
                have.unwrap_or(0)
            )),
            Ok(have) => differ.push(format!(
                "{key}: its data was left out by the tables filter, but the world has {} rows",
                have.unwrap_or(0)
            )),
            Err(e) => differ.push(format!("{key}: cannot count rows: {e}")),
        }
    }
    conn.disconnect().await.ok();
    if !differ.is_empty() {
        bail!(
            "row counts differ in {} table(s): {}",
            differ.len(),
            differ.join("; ")
        );
    }
    Ok(())
}
