//! Restore connections: opening them, running a dump's statements on them, closing them.

use anyhow::Result;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::StatementError;
use crate::db::Target;
use crate::sql::{adapt, Compat, Statement};

/// Settings every restore connection starts with.
pub const SESSION_SETUP: &str = "SET SESSION unique_checks = 0, foreign_key_checks = 0";

/// What the restore needs to know about the world's server.
#[derive(Debug, Clone, Copy)]
pub struct Server {
    pub compat: Compat,
    /// The largest statement the server accepts.
    pub max_packet: usize,
}

impl Server {
    pub async fn detect(conn: &mut Conn) -> Result<Server> {
        let have_0900: Option<u64> = conn
            .query_first(
                "SELECT COUNT(*) FROM information_schema.COLLATIONS \
                 WHERE COLLATION_NAME = 'utf8mb4_0900_ai_ci'",
            )
            .await?;
        let max_packet: Option<u64> = conn
            .query_first("SELECT @@GLOBAL.max_allowed_packet")
            .await?;
        Ok(Server {
            compat: Compat {
                map_0900_collations: have_0900 == Some(0),
            },
            max_packet: max_packet
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(16 << 20),
        })
    }
}

pub async fn open(target: &Target) -> Result<Conn> {
    let mut conn = target.connect(None).await?;
    conn.query_drop(SESSION_SETUP).await?;
    Ok(conn)
}

/// Commit what the connection did (a dump's `SET autocommit=0` must not make the server
/// roll its last rows back at disconnect), then disconnect.
pub async fn close(mut conn: Conn) -> Result<()> {
    conn.query_drop("COMMIT").await?;
    conn.disconnect().await.ok();
    Ok(())
}

/// Make `db` exist: a dump made with `--no-create-db` still says `USE db`.
pub async fn create_database(conn: &mut Conn, db: &str) -> Result<()> {
    conn.query_drop(format!("CREATE DATABASE IF NOT EXISTS {}", quote_ident(db)))
        .await?;
    Ok(())
}

/// Make `db` exist and be the connection's current database.
pub async fn use_default_db(conn: &mut Conn, db: &str) -> Result<()> {
    create_database(conn, db).await?;
    conn.query_drop(format!("USE {}", quote_ident(db))).await?;
    Ok(())
}

/// Quote an identifier with backticks.
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
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
        snippet: super::snippet(&stmt.sql),
        server: e.to_string(),
    })
}
