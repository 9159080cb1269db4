//! The statements that are not table data, run in dump order on one connection before the
//! data, holding back triggers (created last, so they do not fire while rows load) and,
//! when enabled, the plain secondary keys of each table (added after its rows).

use std::collections::{HashMap, HashSet};

use anyhow::{anyhow, Result};
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::plan::Kept;
use super::session::{create_database, execute, quote_ident, use_default_db, Server};
use crate::sql::create_table::{referenced_tables, split_secondary_indexes};
use crate::sql::{Kind, Statement};

/// A statement to run after the data, with the session settings it needs.
#[derive(Debug)]
pub struct Trigger {
    pub stmt: Statement,
    pub sets_before: usize,
    pub db: Option<String>,
}

/// What the schema pass held back.
#[derive(Debug, Default)]
pub struct HeldBack {
    pub triggers: Vec<Trigger>,
    /// `ADD KEY ...` clauses per (db, table).
    pub indexes: HashMap<(String, String), String>,
}

pub struct SchemaOptions<'a> {
    pub default_db: &'a str,
    pub default_db_created: bool,
    pub defer_indexes: bool,
}

pub async fn run(
    conn: &mut Conn,
    kept: Vec<Kept>,
    server: Server,
    options: SchemaOptions<'_>,
) -> Result<HeldBack> {
    let mut held = HeldBack::default();
    let mut sets_seen = 0usize;
    let mut created_default = false;
    // Tables other tables' foreign keys point at keep their keys from the start.
    let resolve = |db: Option<String>, current: &Option<String>| {
        db.or_else(|| current.clone()).unwrap_or_default()
    };
    // An unqualified referenced table is in the database of the table that refers to it.
    let referenced: HashSet<(String, String)> = kept
        .iter()
        .filter_map(|k| match &k.kind {
            Kind::CreateTable { db, .. } => Some((k, db.clone().or_else(|| k.db.clone()))),
            _ => None,
        })
        .flat_map(|(k, home)| {
            referenced_tables(&k.stmt.sql, k.stmt.charset)
                .into_iter()
                .map(move |(db, t)| (resolve(db, &home), t))
        })
        .collect();
    for Kept { stmt, kind, db } in kept {
        match &kind {
            Kind::Set => sets_seen += 1,
            Kind::CreateTrigger { .. } => {
                held.triggers.push(Trigger {
                    stmt,
                    sets_before: sets_seen,
                    db,
                });
                continue;
            }
            _ => {}
        }
        if db.as_deref() == Some(options.default_db)
            && options.default_db_created
            && !created_default
        {
            use_default_db(conn, options.default_db).await?;
            created_default = true;
        }
        if let (Kind::CreateTable { db: q, table }, true) = (&kind, options.defer_indexes) {
            let key = (resolve(q.clone(), &db), table.clone());
            if !referenced.contains(&key) {
                if let Some(split) = split_secondary_indexes(&stmt.sql, stmt.charset) {
                    let short = Statement {
                        sql: split.create,
                        ..stmt.clone()
                    };
                    execute(conn, &short, server.compat).await?;
                    held.indexes.insert(key, split.add);
                    continue;
                }
            }
        }
        if let Kind::Use { db } = &kind {
            create_database(conn, db).await?;
        }
        execute(conn, &stmt, server.compat).await?;
    }
    Ok(held)
}

/// Add a table's held-back keys.
pub async fn add_indexes(conn: &mut Conn, db: &str, table: &str, add: &str) -> Result<()> {
    let sql = format!(
        "ALTER TABLE {}.{} {add}",
        quote_ident(db),
        quote_ident(table)
    );
    conn.query_drop(&sql).await.map_err(|e| {
        anyhow!("adding the secondary indexes of {db}.{table} failed: {e}\n  statement: {sql}")
    })
}

/// Create the triggers, each with the session settings it had in the dump.
pub async fn create_triggers(
    conn: &mut Conn,
    triggers: Vec<Trigger>,
    sets: &[Statement],
    server: Server,
) -> Result<()> {
    let mut applied = 0usize;
    let mut current_db: Option<String> = None;
    for t in triggers {
        for s in &sets[applied.min(sets.len())..t.sets_before.min(sets.len())] {
            execute(conn, s, server.compat).await?;
        }
        applied = applied.max(t.sets_before);
        if t.db != current_db {
            if let Some(db) = &t.db {
                conn.query_drop(format!("USE {}", quote_ident(db))).await?;
            }
            current_db = t.db.clone();
        }
        execute(conn, &t.stmt, server.compat).await?;
    }
    Ok(())
}
