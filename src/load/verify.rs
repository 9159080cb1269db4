//! After a restore: every table holds exactly the rows the dump's INSERTs carried.

use std::collections::BTreeMap;

use anyhow::{bail, Result};
use mysql_async::prelude::Queryable;

use super::quote_ident;
use crate::db::Target;

/// Compare `SELECT COUNT(*)` of every table with the expected rows (`db.table` -> rows).
pub async fn verify(target: &Target, expected: &BTreeMap<(String, String), u64>) -> Result<()> {
    let mut conn = target.connect(None).await?;
    let mut differ = Vec::new();
    for ((db, table), want) in expected {
        let key = super::table_key(db, table);
        let sql = format!(
            "SELECT COUNT(*) FROM {}.{}",
            quote_ident(db),
            quote_ident(table)
        );
        match conn.query_first::<u64, _>(sql).await {
            Ok(Some(have)) if have == *want => {}
            Ok(have) => differ.push(format!(
                "{key}: dump has {want} rows, world has {}",
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
