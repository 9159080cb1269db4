//! `worlds query`: every statement of the query text on every ready world, one session per
//! world, results streamed grouped by world in natural order.
//!
//! Each world runs in a task of its own and sends its rows through a small bounded channel;
//! rows are printed world after world, so a world that is not being printed yet waits with
//! its result in its server's send buffer (its session's `net_write_timeout` is raised for
//! that). Memory stays bounded whatever the result size, and the first row is printed as soon
//! as the first world sends it.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use mysql_async::consts::{ColumnFlags, ColumnType};
use mysql_async::prelude::Queryable;
use mysql_async::{Column, Conn, Value};
use tokio::sync::{mpsc, Semaphore};

use crate::cli::{QueryArgs, QueryFormat};
use crate::config::Config;
use crate::db::Target;
use crate::engine::Engine;
use crate::environment::state::State;
use crate::environment::{self, select};
use crate::error::{escape, usage};
use crate::output::human_duration;
use crate::query::sink::{
    Counted, Delimited, JsonOut, Limited, Ordered, Sink, Statement, TableOut, Vertical, WorldError,
};
use crate::query::{union_header, Cell, Lineup};
use crate::state::EnvDir;

/// Rows a holding output (the table, `--order-by` without `--limit`) takes per statement.
const HOLD_CAP: usize = 200_000;
/// Batches in flight per world, and rows per batch: a few thousand rows at most wait.
const CHANNEL: usize = 4;
const BATCH: usize = 1024;
/// How long a world's server waits for us to read its result.
const NET_WRITE_TIMEOUT_SECS: u32 = 86_400;

/// What a world's task reports, statement after statement. After `Error` it stops.
#[derive(Debug)]
enum Event {
    Columns(Vec<String>),
    Rows(Vec<Vec<Cell>>),
    /// The statement finished; rows affected when it returned no result set.
    Done(u64),
    Error(String),
}

struct Feed {
    world: String,
    rx: mpsc::Receiver<Event>,
    /// Why the rest of the statements do not run on this world.
    stopped: Option<String>,
    errors: usize,
}

pub async fn run(config: &Config, args: &QueryArgs) -> Result<i32> {
    let text = read_sql(args)?;
    let statements = split_statements(&text)?;
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
    let parallel = args.parallel.unwrap_or(chosen.len()).max(1);
    let started = Instant::now();
    let statements = Arc::new(statements);

    // At most `parallel` worlds start a statement at once; a world holds its slot only until
    // the server starts answering, never while it waits to be printed.
    let slots = Arc::new(Semaphore::new(parallel));
    let mut feeds = Vec::new();
    let mut starts = Vec::new();
    for w in &chosen {
        let (tx, rx) = mpsc::channel(CHANNEL);
        feeds.push(Feed {
            world: w.name().to_string(),
            rx,
            stopped: None,
            errors: 0,
        });
        let not_ready = match (&w.state, w.target()) {
            (State::Ready, Some(target)) => Ok(target),
            (State::Ready, None) => Err("no password for this world".to_string()),
            (state, _) => Err(match state.reason() {
                Some(r) => format!("world is {}: {r}", state.name()),
                None => format!("world is {}", state.name()),
            }),
        };
        starts.push((not_ready, tx));
    }
    let database = config.database.clone();
    let mut tasks = Vec::new();
    for (target, tx) in starts {
        let target = match target {
            Ok(t) => t,
            Err(reason) => {
                let _ = tx.send(Event::Error(reason)).await;
                continue;
            }
        };
        let statements = statements.clone();
        let database = database.clone();
        let slots = slots.clone();
        tasks.push(tokio::spawn(async move {
            world(&target, &database, &statements, timeout, &slots, &tx).await;
        }));
    }

    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        QueryFormat::Table
    } else {
        QueryFormat::Tsv
    });
    let to_file = args.output.is_some();
    let out: Box<dyn Write + Send> = match &args.output {
        Some(path) => Box::new(std::io::BufWriter::with_capacity(
            1 << 18,
            std::fs::File::create(path)
                .map_err(|e| usage(format!("cannot write --output {}: {e}", path.display())))?,
        )),
        None => Box::new(std::io::BufWriter::with_capacity(
            1 << 18,
            std::io::stdout(),
        )),
    };
    let header = !args.no_header;
    let shown = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let base: Box<dyn Sink + Send> = match format {
        QueryFormat::Table => Box::new(TableOut::new(out, HOLD_CAP, header)),
        QueryFormat::Csv => Box::new(Delimited::csv(out, header)),
        QueryFormat::Tsv => Box::new(Delimited::tsv(out, header)),
        QueryFormat::Json => Box::new(JsonOut::new(out, statements.len())),
        QueryFormat::Vertical => Box::new(Vertical::new(out)),
    };
    let base: Box<dyn Sink + Send> = Box::new(Counted::new(base, shown.clone()));
    let mut sink: Box<dyn Sink + Send> = match (&args.order_by, args.limit) {
        (Some(col), limit) => Box::new(Ordered::new(base, col, args.desc, limit, HOLD_CAP)),
        (None, Some(n)) => Box::new(Limited::new(base, n)),
        (None, None) => base,
    };

    let mut notes: Vec<String> = Vec::new();
    let printed = print_all(&mut sink, &mut feeds, &statements, &mut notes).await;
    let printed = printed.and_then(|()| sink.finish());
    drop(sink);
    for t in &tasks {
        t.abort();
    }
    match printed {
        Ok(()) => {}
        // `worlds query ... | head`: the reader has what it wanted.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(0),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::Other | std::io::ErrorKind::InvalidInput
            ) =>
        {
            return Err(usage(e.to_string()))
        }
        Err(e) => return Err(e).context("cannot write the result"),
    }
    let elapsed = started.elapsed();
    let answered = feeds.iter().filter(|f| f.errors == 0).count();
    let rows = shown.load(std::sync::atomic::Ordering::Relaxed);
    let summary = format!(
        "{answered} of {} worlds answered, {rows} rows, {}",
        feeds.len(),
        human_duration(elapsed)
    );
    let human = matches!(format, QueryFormat::Table | QueryFormat::Vertical) && !to_file;
    let mut tail = String::new();
    for n in &notes {
        tail.push_str(&escape(n));
        tail.push('\n');
    }
    tail.push_str(&summary);
    tail.push('\n');
    if human {
        let mut stdout = std::io::stdout().lock();
        match stdout
            .write_all(tail.as_bytes())
            .and_then(|()| stdout.flush())
        {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(0),
            other => other.context("cannot write the result")?,
        }
    } else {
        eprint!("{tail}");
    }
    Ok(if feeds.iter().any(|f| f.errors > 0) {
        1
    } else {
        0
    })
}

/// Read every statement's results, world by world in natural order, into the sink: first
/// how each world starts answering (columns, rows affected or an error), which gives the
/// header, then each world's rows.
async fn print_all(
    sink: &mut Box<dyn Sink + Send>,
    feeds: &mut [Feed],
    statements: &[String],
    notes: &mut Vec<String>,
) -> std::io::Result<()> {
    let total = statements.len();
    for (index, sql) in statements.iter().enumerate() {
        let st = Statement { index, total, sql };
        let label = if total > 1 {
            format!("{}: ", st.label())
        } else {
            String::new()
        };
        let mut errors: Vec<WorldError> = Vec::new();
        let stop = |feed: &mut Feed, e: String, errors: &mut Vec<WorldError>| {
            errors.push((feed.world.clone(), e));
            feed.errors += 1;
            feed.stopped = Some(format!("not run: statement {} failed", index + 1));
        };
        // How each world starts.
        let mut starts: Vec<Option<Event>> = Vec::with_capacity(feeds.len());
        for feed in feeds.iter_mut() {
            if let Some(why) = &feed.stopped {
                errors.push((feed.world.clone(), why.clone()));
                starts.push(None);
                continue;
            }
            let first = feed.rx.recv().await;
            match first {
                None => stop(
                    feed,
                    "the connection to the world ended".to_string(),
                    &mut errors,
                ),
                Some(Event::Error(e)) => stop(feed, e, &mut errors),
                Some(Event::Rows(_)) => stop(feed, "rows without columns".to_string(), &mut errors),
                Some(event) => {
                    starts.push(Some(event));
                    continue;
                }
            }
            starts.push(None);
        }
        let answered_columns: Vec<&[String]> = starts
            .iter()
            .filter_map(|s| match s {
                Some(Event::Columns(c)) => Some(&c[..]),
                _ => None,
            })
            .collect();
        if answered_columns.is_empty() {
            // No result sets: rows affected per world.
            let affected: Vec<(String, u64)> = feeds
                .iter()
                .zip(&starts)
                .filter_map(|(f, s)| match s {
                    Some(Event::Done(n)) => Some((f.world.clone(), *n)),
                    _ => None,
                })
                .collect();
            let columns: Vec<String> = if affected.is_empty() {
                vec!["world".to_string()]
            } else {
                vec!["world".to_string(), "affected_rows".to_string()]
            };
            sink.begin(&st, &columns)?;
            for (w, n) in affected {
                sink.row(vec![Cell::Text(w), Cell::UInt(n)])?;
            }
        } else {
            let first: Vec<String> = answered_columns[0].to_vec();
            let header = union_header(answered_columns);
            let mut all = vec!["world".to_string()];
            all.extend(header.iter().cloned());
            sink.begin(&st, &all)?;
            for (feed, start) in feeds.iter_mut().zip(starts) {
                let columns = match start {
                    Some(Event::Columns(c)) => c,
                    Some(Event::Done(n)) => {
                        notes.push(format!(
                            "note: {}: {label}returned no result set ({n} rows affected)",
                            feed.world
                        ));
                        continue;
                    }
                    _ => continue,
                };
                let lineup = Lineup::new(&header, &first, &columns);
                if let Some(drift) = &lineup.drift {
                    notes.push(format!("note: {}: {label}{drift}", feed.world));
                }
                loop {
                    match feed.rx.recv().await {
                        Some(Event::Rows(batch)) => {
                            for values in batch {
                                sink.row(lineup.row(&feed.world, values))?;
                            }
                        }
                        Some(Event::Done(_)) => break,
                        Some(Event::Error(e)) => {
                            stop(feed, e, &mut errors);
                            break;
                        }
                        Some(Event::Columns(_)) | None => {
                            stop(
                                feed,
                                "the connection to the world ended".to_string(),
                                &mut errors,
                            );
                            break;
                        }
                    }
                }
            }
        }
        for (worlds, error) in collapse(&errors) {
            notes.push(format!("error: {worlds}: {label}{error}"));
        }
        sink.end(&st, &errors)?;
    }
    Ok(())
}

/// The same error from several worlds on one line: (`host1, host3`, error).
fn collapse(errors: &[WorldError]) -> Vec<(String, String)> {
    let mut by_text: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    for (world, error) in errors {
        let e = error.as_str();
        if !by_text.contains_key(e) {
            order.push(e);
        }
        by_text.entry(e).or_default().push(world);
    }
    order
        .into_iter()
        .map(|e| (by_text[e].join(", "), e.to_string()))
        .collect()
}

fn read_sql(args: &QueryArgs) -> Result<String> {
    if let Some(sql) = &args.sql {
        Ok(sql.clone())
    } else if let Some(file) = &args.file {
        std::fs::read_to_string(file)
            .map_err(|e| usage(format!("cannot read --file {}: {e}", file.display())))
    } else if !std::io::stdin().is_terminal() {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read SQL from standard input")?;
        Ok(s)
    } else {
        Err(usage(
            "no SQL given: worlds query \"SELECT ...\" (or --file q.sql, or SQL on stdin)",
        ))
    }
}

/// The statements of a query text, split as the mysql client splits them (`;`,
/// `DELIMITER`, quotes and comments).
fn split_statements(text: &str) -> Result<Vec<String>> {
    let statements = crate::sql::split_all(text.as_bytes())
        .map_err(|e| usage(format!("cannot read the SQL: {e}")))?;
    let statements: Vec<String> = statements
        .into_iter()
        .map(|s| String::from_utf8_lossy(&s.sql).into_owned())
        .collect();
    if statements.is_empty() {
        return Err(usage("the SQL text holds no statement"));
    }
    Ok(statements)
}

/// One world's session: every statement in order until one fails.
async fn world(
    target: &Target,
    database: &str,
    statements: &[String],
    timeout: Duration,
    slots: &Semaphore,
    tx: &mpsc::Sender<Event>,
) {
    let mut conn = match tokio::time::timeout(timeout, target.connect(None)).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            let _ = tx
                .send(Event::Error(format!("cannot connect: {e:#}")))
                .await;
            return;
        }
        Err(_) => {
            let _ = tx
                .send(Event::Error(format!("cannot connect within {timeout:?}")))
                .await;
            return;
        }
    };
    // The server waits while rows of worlds before this one are printed.
    let _ = conn
        .query_drop(format!(
            "SET SESSION net_write_timeout = {NET_WRITE_TIMEOUT_SECS}"
        ))
        .await;
    // Start in the default database when the world has it; statements may name others.
    let _ = conn
        .query_drop(format!("USE {}", crate::load::quote_ident(database)))
        .await;
    for sql in statements {
        if statement(&mut conn, target, sql, timeout, slots, tx)
            .await
            .is_err()
        {
            return;
        }
    }
    let _ = conn.disconnect().await;
}

/// Why a world stops.
struct Stop;

/// Run one statement, streaming its rows. `timeout` bounds the time the server takes, not the
/// time spent waiting for the printer.
async fn statement(
    conn: &mut Conn,
    target: &Target,
    sql: &str,
    timeout: Duration,
    slots: &Semaphore,
    tx: &mpsc::Sender<Event>,
) -> Result<(), Stop> {
    let id = conn.id();
    let mut used = Duration::ZERO;
    let timed_out = |target: Target| async move {
        let seconds = timeout.as_secs_f64();
        match cancel(&target, id).await {
            Ok(()) => {
                format!("timed out after {seconds} s; the statement was cancelled on the server")
            }
            Err(e) => format!("timed out after {seconds} s, and cancelling it failed: {e}"),
        }
    };
    let send = |e: Event| async move { tx.send(e).await.map_err(|_| Stop) };
    let slot = slots.acquire().await.map_err(|_| Stop)?;
    let clock = Instant::now();
    let started = tokio::time::timeout(timeout, conn.query_iter(sql)).await;
    used += clock.elapsed();
    drop(slot);
    let mut result = match started {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            send(Event::Error(e.to_string())).await?;
            return Err(Stop);
        }
        Err(_) => {
            send(Event::Error(timed_out(target.clone()).await)).await?;
            return Err(Stop);
        }
    };
    let columns = result.columns().filter(|c| !c.is_empty());
    let Some(columns) = columns else {
        let affected = result.affected_rows();
        if let Err(e) = result.drop_result().await {
            send(Event::Error(e.to_string())).await?;
            return Err(Stop);
        }
        return send(Event::Done(affected)).await;
    };
    send(Event::Columns(
        columns.iter().map(|c| c.name_str().into_owned()).collect(),
    ))
    .await?;
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let clock = Instant::now();
        let next = tokio::time::timeout(timeout.saturating_sub(used), result.next()).await;
        used += clock.elapsed();
        match next {
            Ok(Ok(Some(row))) => {
                batch.push(to_cells(row, &columns));
                if batch.len() == BATCH {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    send(Event::Rows(full)).await?;
                }
            }
            Ok(Ok(None)) => {
                if !batch.is_empty() {
                    send(Event::Rows(batch)).await?;
                }
                break;
            }
            Ok(Err(e)) => {
                send(Event::Error(e.to_string())).await?;
                return Err(Stop);
            }
            Err(_) => {
                drop(result);
                send(Event::Error(timed_out(target.clone()).await)).await?;
                return Err(Stop);
            }
        }
    }
    // Further result sets (a procedure's) are not shown.
    if let Err(e) = result.drop_result().await {
        send(Event::Error(e.to_string())).await?;
        return Err(Stop);
    }
    send(Event::Done(0)).await
}

/// KILL QUERY on a connection of its own.
async fn cancel(target: &Target, id: u32) -> Result<(), String> {
    let mut k = target.connect(None).await.map_err(|e| e.to_string())?;
    let r = k.query_drop(format!("KILL QUERY {id}")).await;
    let _ = k.disconnect().await;
    r.map_err(|e| e.to_string())
}

/// A row's values, with room for the world's name in front.
fn to_cells(row: mysql_async::Row, columns: &[Column]) -> Vec<Cell> {
    let mut cells = Vec::with_capacity(columns.len() + 1);
    cells.extend(
        row.unwrap()
            .into_iter()
            .zip(columns)
            .map(|(v, c)| to_cell(v, c)),
    );
    cells
}

const BINARY_CHARSET: u16 = 63;

/// What a column's values become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer {
        unsigned: bool,
    },
    /// DECIMAL, FLOAT, DOUBLE: written out.
    Written,
    Bytes,
    Text,
}

fn kind(column: &Column) -> Kind {
    use ColumnType::*;
    let ty = column.column_type();
    match ty {
        MYSQL_TYPE_TINY | MYSQL_TYPE_SHORT | MYSQL_TYPE_LONG | MYSQL_TYPE_LONGLONG
        | MYSQL_TYPE_INT24 | MYSQL_TYPE_YEAR => Kind::Integer {
            unsigned: column.flags().contains(ColumnFlags::UNSIGNED_FLAG),
        },
        MYSQL_TYPE_DECIMAL | MYSQL_TYPE_NEWDECIMAL | MYSQL_TYPE_FLOAT | MYSQL_TYPE_DOUBLE => {
            Kind::Written
        }
        MYSQL_TYPE_BIT => Kind::Bytes,
        MYSQL_TYPE_STRING
        | MYSQL_TYPE_VAR_STRING
        | MYSQL_TYPE_VARCHAR
        | MYSQL_TYPE_BLOB
        | MYSQL_TYPE_TINY_BLOB
        | MYSQL_TYPE_MEDIUM_BLOB
        | MYSQL_TYPE_LONG_BLOB
        | MYSQL_TYPE_GEOMETRY
            if column.character_set() == BINARY_CHARSET =>
        {
            Kind::Bytes
        }
        _ => Kind::Text,
    }
}

fn to_cell(value: Value, column: &Column) -> Cell {
    let mut bytes = match value {
        Value::NULL => return Cell::Null,
        Value::Bytes(b) => b,
        Value::Int(i) => return Cell::Int(i),
        Value::UInt(u) => return Cell::UInt(u),
        other => other.as_sql(true).into_bytes(),
    };
    match kind(column) {
        Kind::Integer { unsigned } => {
            if let Ok(text) = std::str::from_utf8(&bytes) {
                if unsigned {
                    if let Ok(u) = text.parse::<u64>() {
                        return Cell::UInt(u);
                    }
                } else if let Ok(i) = text.parse::<i64>() {
                    return Cell::Int(i);
                }
            }
        }
        Kind::Written => match String::from_utf8(bytes) {
            Ok(text) => return Cell::written_number(text),
            Err(e) => bytes = e.into_bytes(),
        },
        Kind::Bytes => return Cell::Bytes(bytes),
        Kind::Text => {}
    }
    match String::from_utf8(bytes) {
        Ok(s) => Cell::Text(s),
        Err(e) => Cell::Bytes(e.into_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_errors_collapse_into_one_line() {
        let errors = vec![
            ("host1".to_string(), "no table".to_string()),
            ("host2".to_string(), "timed out".to_string()),
            ("host3".to_string(), "no table".to_string()),
        ];
        assert_eq!(
            collapse(&errors),
            vec![
                ("host1, host3".to_string(), "no table".to_string()),
                ("host2".to_string(), "timed out".to_string())
            ]
        );
    }

    #[test]
    fn query_text_is_split_like_the_client_does() {
        let s = split_statements("USE mysql; SELECT 'a;b' AS x;\n-- done\nSELECT 2").unwrap();
        assert_eq!(s, vec!["USE mysql", "SELECT 'a;b' AS x", "SELECT 2"]);
        let s = split_statements(
            "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; END//\nDELIMITER ;\nCALL p();",
        )
        .unwrap();
        assert_eq!(s.len(), 2);
        assert!(split_statements(" ;; -- nothing\n").is_err());
        assert!(split_statements("SELECT 'open").is_err());
    }
}
