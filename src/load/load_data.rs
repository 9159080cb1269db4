//! Loading the rows of a dump's INSERT with `LOAD DATA LOCAL INFILE` (about half the server
//! work per row), where the result is exactly what the INSERT would store.

use std::collections::HashMap;

use anyhow::Result;
use futures::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::session::{execute, quote_ident};
use crate::sql::{Compat, LoadRows, Statement};

/// Statements with fewer rows than this are executed as they are: one LOAD DATA per row
/// (`--skip-extended-insert` dumps) costs more than the INSERT.
pub const MIN_ROWS: u64 = 16;

/// Which tables can take LOAD DATA, per table and client character set.
#[derive(Debug, Default)]
pub struct Fits {
    known: HashMap<(String, String, String), bool>,
}

impl Fits {
    /// Can this table's INSERTs become LOAD DATA with the exact same result? Only InnoDB
    /// tables (a refused batch is rolled back and redone as INSERT), whose text columns use
    /// the session's client character set (the rows go in without conversion), and whose
    /// columns are all of the plain types LOAD DATA reads exactly like INSERT does.
    pub async fn check(&mut self, conn: &mut Conn, db: &str, table: &str) -> Result<bool> {
        let client: Option<String> = conn.query_first("SELECT @@character_set_client").await?;
        let client = normalize(&client.unwrap_or_default());
        let key = (db.to_string(), table.to_string(), client.clone());
        if let Some(&fits) = self.known.get(&key) {
            return Ok(fits);
        }
        let fits = fits(conn, db, table, &client).await?;
        self.known.insert(key, fits);
        Ok(fits)
    }
}

fn normalize(cs: &str) -> String {
    match cs {
        "utf8" => "utf8mb3".to_string(),
        other => other.to_string(),
    }
}

async fn fits(conn: &mut Conn, db: &str, table: &str, client: &str) -> Result<bool> {
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

/// Load one INSERT's rows into `db`.`table` with LOAD DATA LOCAL in a transaction. If the
/// server stores anything differently (a warning, a missing row), the transaction is rolled
/// back and the INSERT runs as the dump wrote it. Returns false when it fell back.
pub async fn load_rows(
    conn: &mut Conn,
    db: &str,
    table: &str,
    rows: LoadRows,
    stmt: &Statement,
    compat: Compat,
) -> Result<bool> {
    let expected = rows.rows;
    let data = bytes::Bytes::from(rows.data);
    conn.set_infile_handler(async move { Ok(futures::stream::iter([Ok(data)]).boxed()) });
    let sql = format!(
        "LOAD DATA LOCAL INFILE 'worlds' INTO TABLE {}.{} CHARACTER SET binary \
         FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' {}",
        quote_ident(db),
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
