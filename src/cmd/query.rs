//! `worlds query`: one statement on every ready world at once, merged into one table.

use std::io::{IsTerminal, Read};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use futures::StreamExt;
use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::prelude::Queryable;
use mysql_async::{Column, Value};

use crate::cli::{QueryArgs, QueryFormat};
use crate::config::Config;
use crate::db::Target;
use crate::engine::Engine;
use crate::environment::state::State;
use crate::environment::{self, select};
use crate::error::usage;
use crate::output::{human_duration, print};
use crate::query::{merge, Answer, Cell, Rows};
use crate::state::EnvDir;

pub async fn run(config: &Config, args: &QueryArgs) -> Result<i32> {
    let sql = read_sql(args)?;
    if !(args.timeout > 0.0 && args.timeout.is_finite()) {
        return Err(usage("--timeout must be a positive number of seconds"));
    }
    let engine = Engine::connect().await?;
    environment::known::require(&engine, config).await?;
    let all = environment::load(&engine, &config.env, &EnvDir::new(config.env_dir())).await?;
    if all.is_empty() {
        return Err(usage(format!(
            "environment {} has no worlds; start them with `worlds up`",
            config.env
        )));
    }
    let chosen = select(&all, &args.worlds, &config.env)?;
    let timeout = Duration::from_secs_f64(args.timeout);
    let jobs = args.parallel.unwrap_or(chosen.len()).max(1);
    let started = Instant::now();
    let answers: Vec<(String, Answer)> = futures::stream::iter(chosen.into_iter().map(|w| {
        let sql = sql.clone();
        async move {
            let answer = match (&w.state, w.target()) {
                (State::Ready, Some(target)) => {
                    run_one(&target, &config.database, &sql, timeout).await
                }
                (State::Ready, None) => Answer::Error("no password for this world".to_string()),
                (state, _) => Answer::Error(match state.reason() {
                    Some(r) => format!("world is {}: {r}", state.name()),
                    None => format!("world is {}", state.name()),
                }),
            };
            (w.name().to_string(), answer)
        }
    }))
    .buffer_unordered(jobs)
    .collect()
    .await;
    let elapsed = started.elapsed();

    let mut merged = merge(answers);
    merged
        .order_and_limit(args.order_by.as_deref(), args.desc, args.limit)
        .map_err(usage)?;
    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        QueryFormat::Table
    } else {
        QueryFormat::Tsv
    });
    let summary = format!(
        "{} of {} worlds answered, {} rows, {}",
        merged.answered,
        merged.worlds,
        merged.rows.len(),
        human_duration(elapsed)
    );
    let mut notes = Vec::new();
    for (world, what) in &merged.drift {
        notes.push(crate::error::escape(&format!("note: {world} {what}")));
    }
    for (world, error) in &merged.errors {
        notes.push(crate::error::escape(&format!("error: {world}: {error}")));
    }
    match format {
        QueryFormat::Table => {
            let mut out = if merged.rows.is_empty() && merged.answered == 0 {
                String::new()
            } else {
                format!("{}\n", merged.to_table())
            };
            for n in &notes {
                out.push_str(n);
                out.push('\n');
            }
            out.push_str(&summary);
            print(&out)?;
        }
        other => {
            let text = match other {
                QueryFormat::Csv => merged.to_csv(),
                QueryFormat::Json => merged.to_json(),
                _ => merged.to_tsv(),
            };
            print(&text)?;
            for n in &notes {
                eprintln!("{n}");
            }
            eprintln!("{summary}");
        }
    }
    Ok(if merged.errors.is_empty() { 0 } else { 1 })
}

fn read_sql(args: &QueryArgs) -> Result<String> {
    let sql = if let Some(sql) = &args.sql {
        sql.clone()
    } else if let Some(file) = &args.file {
        std::fs::read_to_string(file)
            .map_err(|e| usage(format!("cannot read --file {}: {e}", file.display())))?
    } else if !std::io::stdin().is_terminal() {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read SQL from standard input")?;
        s
    } else {
        return Err(usage(
            "no SQL given: worlds query \"SELECT ...\" (or --file q.sql, or SQL on stdin)",
        ));
    };
    let sql = sql.trim().trim_end_matches(';').trim().to_string();
    if sql.is_empty() {
        return Err(usage("the SQL statement is empty"));
    }
    Ok(sql)
}

/// Run on one world; on timeout cancel the statement on the server with KILL QUERY.
async fn run_one(target: &Target, database: &str, sql: &str, timeout: Duration) -> Answer {
    let deadline = Instant::now() + timeout;
    let connect = tokio::time::timeout(timeout, target.connect(None)).await;
    let mut conn = match connect {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return Answer::Error(format!("cannot connect: {e:#}")),
        Err(_) => return Answer::Error(format!("cannot connect within {timeout:?}")),
    };
    let id = conn.id();
    // Start in the default database when the world has it; statements may name others.
    let _ = conn
        .query_drop(format!("USE {}", crate::load::quote_ident(database)))
        .await;
    let left = deadline.saturating_duration_since(Instant::now());
    let work = async {
        let mut result = conn.query_iter(sql).await?;
        let columns = result.columns();
        let rows: Vec<mysql_async::Row> = result.collect().await?;
        let affected = result.affected_rows();
        drop(result);
        Ok::<_, mysql_async::Error>((columns, rows, affected))
    };
    match tokio::time::timeout(left, work).await {
        Ok(Ok((Some(columns), rows, _))) if !columns.is_empty() => {
            Answer::Rows(to_rows(&columns, rows))
        }
        Ok(Ok((_, _, affected))) => {
            let _ = conn.disconnect().await;
            Answer::Affected(affected)
        }
        Ok(Err(e)) => Answer::Error(e.to_string()),
        Err(_) => {
            let killed = match target.connect(None).await {
                Ok(mut k) => {
                    let r = k.query_drop(format!("KILL QUERY {id}")).await;
                    let _ = k.disconnect().await;
                    r.map_err(|e| e.to_string())
                }
                Err(e) => Err(e.to_string()),
            };
            match killed {
                Ok(()) => Answer::Error(format!(
                    "timed out after {} s; the statement was cancelled on the server",
                    timeout.as_secs_f64()
                )),
                Err(e) => Answer::Error(format!(
                    "timed out after {} s, and cancelling it failed: {e}",
                    timeout.as_secs_f64()
                )),
            }
        }
    }
}

fn to_rows(columns: &[Column], rows: Vec<mysql_async::Row>) -> Rows {
    Rows {
        columns: columns.iter().map(|c| c.name_str().into_owned()).collect(),
        rows: rows
            .into_iter()
            .map(|row| {
                row.unwrap()
                    .into_iter()
                    .zip(columns)
                    .map(|(v, c)| to_cell(v, c))
                    .collect()
            })
            .collect(),
    }
}

const BINARY_CHARSET: u16 = 63;

fn to_cell(value: Value, column: &Column) -> Cell {
    use ColumnType::*;
    let bytes = match value {
        Value::NULL => return Cell::Null,
        Value::Bytes(b) => b,
        Value::Int(i) => return Cell::Int(i),
        Value::UInt(u) => return Cell::UInt(u),
        other => other.as_sql(true).into_bytes(),
    };
    let ty = column.column_type();
    let integer = matches!(
        ty,
        MYSQL_TYPE_TINY
            | MYSQL_TYPE_SHORT
            | MYSQL_TYPE_LONG
            | MYSQL_TYPE_LONGLONG
            | MYSQL_TYPE_INT24
            | MYSQL_TYPE_YEAR
    );
    if integer {
        if let Ok(text) = std::str::from_utf8(&bytes) {
            if column.flags().contains(ColumnFlags::UNSIGNED_FLAG) {
                if let Ok(u) = text.parse::<u64>() {
                    return Cell::UInt(u);
                }
            } else if let Ok(i) = text.parse::<i64>() {
                return Cell::Int(i);
            }
        }
    }
    let binary_type = matches!(
        ty,
        MYSQL_TYPE_STRING
            | MYSQL_TYPE_VAR_STRING
            | MYSQL_TYPE_VARCHAR
            | MYSQL_TYPE_BLOB
            | MYSQL_TYPE_TINY_BLOB
            | MYSQL_TYPE_MEDIUM_BLOB
            | MYSQL_TYPE_LONG_BLOB
            | MYSQL_TYPE_GEOMETRY
            | MYSQL_TYPE_BIT
    );
    if (binary_type && column.character_set() == BINARY_CHARSET) || ty == MYSQL_TYPE_BIT {
        return Cell::Bytes(bytes);
    }
    match String::from_utf8(bytes) {
        Ok(s) => Cell::Text(s),
        Err(e) => Cell::Bytes(e.into_bytes()),
    }
}
