//! `worlds diff`: one table (or one query's result) compared between two environments,
//! world by world.
//!
//! Each world pair runs in a task of its own with one session per side. Both sides are read
//! in key order as streams and walked side by side ([`crate::diff::Merge`]), so memory does
//! not grow with the table. A task sends what it found through a small bounded channel; the
//! printer takes the worlds in natural order, and a world waiting for its turn waits with its
//! rows in its servers' send buffers (the sessions' `net_write_timeout` is raised for that).

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use mysql_async::prelude::Queryable;
use mysql_async::{Column, Conn, Row as MyRow, Value};
use serde_json::{json, Map, Value as Json};
use tokio::sync::{mpsc, Semaphore};

use crate::catalog::natural_cmp;
use crate::cli::{DiffArgs, DiffFormat};
use crate::config::{validate_env, Config};
use crate::db::Target;
use crate::diff::outlier::median;
use crate::diff::{outliers, Change, KeyOrder, Kind, Merge, Number, OrderError, Side, Tally};
use crate::engine::Engine;
use crate::environment::state::State;
use crate::environment::{self, World};
use crate::error::{escape, usage};
use crate::load::quote_ident;
use crate::output::human_duration;
use crate::query::sink::{Delimited, Sink, Statement, WorldError};
use crate::query::{collapse, Cell};
use crate::state::EnvDir;

/// Listed rows that the table and JSON outputs hold at most, over all worlds.
const LIST_CAP: usize = 1_000_000;
/// Events in flight per world.
const CHANNEL: usize = 256;
/// How long a world's server waits for us to read its rows.
const NET_WRITE_TIMEOUT_SECS: u32 = 86_400;

/// What to compare.
#[derive(Debug, Clone)]
enum Source {
    Table { db: String, table: String },
    Query(String),
}

impl Source {
    fn name(&self) -> String {
        match self {
            Source::Table { db, table } => format!("{db}.{table}"),
            Source::Query(_) => "the query".to_string(),
        }
    }

    /// The FROM clause.
    fn relation(&self) -> String {
        match self {
            Source::Table { db, table } => format!("{}.{}", quote_ident(db), quote_ident(table)),
            Source::Query(q) => format!("({}) AS worlds_diff", q.trim().trim_end_matches(';')),
        }
    }
}

#[derive(Debug)]
struct Spec {
    source: Source,
    /// The default database of the sessions (for unqualified names in --query and --where).
    database: String,
    key: Vec<String>,
    columns: Vec<String>,
    condition: Option<String>,
    /// Changed rows listed per world.
    list: usize,
    from_env: String,
    to_env: String,
}

/// A column of one side: name, kind, and its type as the side describes it.
#[derive(Debug, Clone)]
struct Col {
    name: String,
    kind: Kind,
    sql_type: String,
}

/// A column that is not the same on both sides.
#[derive(Debug, Clone, PartialEq)]
struct Drift {
    column: String,
    change: &'static str,
    from: Option<String>,
    to: Option<String>,
}

/// A world's layout, sent before its rows.
#[derive(Debug, Clone)]
struct Layout {
    key: Vec<String>,
    compared: Vec<String>,
    drift: Vec<Drift>,
}

/// A changed row as listed: key, and the values of each side (column name, value).
#[derive(Debug, Clone)]
struct Listed {
    change: Change,
    key: Vec<Cell>,
    from: Vec<(String, Cell)>,
    to: Vec<(String, Cell)>,
    /// For changed numeric values: (column, after - before).
    deltas: Vec<(String, Number)>,
}

#[derive(Debug)]
enum Event {
    Layout(Layout),
    Row(Listed),
    Done(Tally),
    Error(String),
}

/// What the printer gathered about one world.
#[derive(Debug, Default)]
struct Outcome {
    layout: Option<Layout>,
    rows: Vec<Listed>,
    /// Listed rows left out by the holding cap.
    left_out: u64,
    tally: Option<Tally>,
    error: Option<String>,
}

impl Outcome {
    /// A world's last event: its counts or its error.
    fn end(&mut self, event: Event) {
        match event {
            Event::Done(t) => self.tally = Some(t),
            Event::Error(e) => self.error = Some(e),
            Event::Layout(_) | Event::Row(_) => {}
        }
    }

    /// A world whose task stopped without its counts or an error.
    fn ended(&mut self) {
        if self.tally.is_none() && self.error.is_none() {
            self.error = Some("the comparison ended early".to_string());
        }
    }
}

pub async fn run(config: &Config, args: &DiffArgs) -> Result<i32> {
    let started = Instant::now();
    let to_name = args.to.clone().unwrap_or_else(|| config.env.clone());
    let from_name = validate_env(&args.from).map_err(|e| usage(format!("--from: {e:#}")))?;
    let to_name = validate_env(&to_name).map_err(|e| usage(format!("--to: {e:#}")))?;
    let spec = Arc::new(spec(config, args, from_name.clone(), to_name.clone())?);
    let engine = Engine::connect().await?;
    let from_config = config.for_env(&from_name);
    let to_config = config.for_env(&to_name);
    environment::known::require(&engine, &from_config).await?;
    environment::known::require(&engine, &to_config).await?;
    let from = environment::load(&engine, &from_name, &EnvDir::new(from_config.env_dir())).await?;
    let to = environment::load(&engine, &to_name, &EnvDir::new(to_config.env_dir())).await?;
    if from.is_empty() && to.is_empty() {
        return Err(usage(format!(
            "environments {from_name} and {to_name} have no worlds; start them with \
             `worlds --env {from_name} up` and `worlds --env {to_name} up`"
        )));
    }
    let mut names: Vec<&str> = from.iter().chain(&to).map(World::name).collect();
    names.sort_by(|a, b| natural_cmp(a, b));
    names.dedup();
    environment::check_names(&args.worlds, &names, &format!("{from_name} or {to_name}"))?;
    let names: Vec<String> = names
        .into_iter()
        .filter(|n| args.worlds.is_empty() || args.worlds.iter().any(|w| w == n))
        .map(str::to_string)
        .collect();

    let slots = Arc::new(Semaphore::new(args.parallel.unwrap_or(names.len()).max(1)));
    let mut feeds = Vec::new();
    let mut tasks = Vec::new();
    for name in &names {
        let (tx, rx) = mpsc::channel(CHANNEL);
        feeds.push((name.clone(), rx));
        let side = |worlds: &[World], env: &str| -> Result<Target, String> {
            let Some(w) = worlds.iter().find(|w| w.name() == name) else {
                return Err(format!("only in environment {}", other(env, &spec)));
            };
            match (&w.state, w.target()) {
                (State::Ready, Some(t)) => Ok(t),
                (State::Ready, None) => Err(format!("no password for this world in {env}")),
                (state, _) => Err(match state.reason() {
                    Some(r) => format!("world is {} in {env}: {r}", state.name()),
                    None => format!("world is {} in {env}", state.name()),
                }),
            }
        };
        let pair = (side(&from, &from_name), side(&to, &to_name));
        let spec = spec.clone();
        let slots = slots.clone();
        tasks.push(tokio::spawn(async move {
            let (from, to) = match pair {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => {
                    let _ = tx.send(Event::Error(e)).await;
                    return;
                }
            };
            let Ok(_slot) = slots.acquire().await else {
                return;
            };
            if let Err(e) = compare_world(&spec, &from, &to, &tx).await {
                let _ = tx.send(Event::Error(e)).await;
            }
        }));
    }

    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        DiffFormat::Table
    } else {
        DiffFormat::Tsv
    });
    let printed = match format {
        DiffFormat::Csv | DiffFormat::Tsv => stream_delimited(format, &spec, &mut feeds).await,
        DiffFormat::Table | DiffFormat::Json => gather(&mut feeds).await.map(Some),
    };
    for t in &tasks {
        t.abort();
    }
    let outcomes = match printed {
        Ok(Some(o)) => o,
        Ok(None) => return Ok(0),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(0),
        Err(e) => return Err(e).context("cannot write the result"),
    };
    let report = Report::new(&spec, &names, outcomes);
    let text = match format {
        DiffFormat::Json => format!("{}\n", serde_json::to_string(&report.json())?),
        DiffFormat::Table => report.human(),
        DiffFormat::Csv | DiffFormat::Tsv => {
            // The rows went to stdout; the summary is a note, errors are warnings (-q keeps them).
            tracing::info!("{}", report.summary_text(false).trim_end());
            for line in report.error_lines() {
                tracing::warn!("{line}");
            }
            String::new()
        }
    };
    if !text.is_empty() {
        crate::output::print(&text)?;
    }
    let compared = report.compared();
    tracing::info!(
        "{compared} of {} worlds compared, {} rows differ, {}",
        names.len(),
        report.differing_rows(),
        human_duration(started.elapsed())
    );
    Ok(
        if report.has_errors() || (args.exit_code && report.differs()) {
            1
        } else {
            0
        },
    )
}

/// The environment on the other side of `env`.
fn other<'a>(env: &str, spec: &'a Spec) -> &'a str {
    if env == spec.from_env {
        &spec.to_env
    } else {
        &spec.from_env
    }
}

fn spec(config: &Config, args: &DiffArgs, from_env: String, to_env: String) -> Result<Spec> {
    let names = |flag: &str, list: &[String]| -> Result<Vec<String>> {
        let list: Vec<String> = list.iter().map(|c| c.trim().to_string()).collect();
        if list.iter().any(String::is_empty) {
            return Err(usage(format!("{flag}: an empty column name")));
        }
        let mut seen = BTreeSet::new();
        if let Some(dup) = list.iter().find(|c| !seen.insert(c.to_ascii_lowercase())) {
            return Err(usage(format!("{flag}: column {dup} is named twice")));
        }
        Ok(list)
    };
    let source = match (&args.table, &args.query) {
        (_, Some(q)) if q.trim().is_empty() => return Err(usage("--query: the query is empty")),
        (_, Some(q)) => Source::Query(q.clone()),
        (Some(t), None) => {
            let (db, table) = match t.split_once('.') {
                Some((db, table)) => (db.to_string(), table.to_string()),
                None => (config.database.clone(), t.clone()),
            };
            if db.is_empty() || table.is_empty() {
                return Err(usage(format!(
                    "table {t:?}: give `table` or `database.table`"
                )));
            }
            Source::Table { db, table }
        }
        (None, None) => return Err(usage("give a TABLE, or --query \"SELECT ...\" with --key")),
    };
    Ok(Spec {
        source,
        database: config.database.clone(),
        key: names("--key", &args.key)?,
        columns: names("--columns", &args.columns)?,
        condition: args.condition.clone().filter(|c| !c.trim().is_empty()),
        list: if args.all_rows { usize::MAX } else { args.rows },
        from_env,
        to_env,
    })
}

// ----- one world -----

/// Open a session for reading: long write timeout, whole-value sorting, default database.
async fn session(target: &Target, database: &str, env: &str) -> Result<Conn, String> {
    let mut conn = target
        .connect(None)
        .await
        .map_err(|e| format!("cannot connect to the world in {env}: {e:#}"))?;
    let _ = conn
        .query_drop(format!(
            "SET SESSION net_write_timeout = {NET_WRITE_TIMEOUT_SECS}"
        ))
        .await;
    // Text and blob keys are sorted on far more than their first 1024 bytes.
    let _ = conn
        .query_drop(crate::query::pushdown::sort_settings())
        .await;
    let _ = conn
        .query_drop(format!("USE {}", quote_ident(database)))
        .await;
    Ok(conn)
}

/// One side's columns (with their kinds) and primary key.
async fn describe(
    conn: &mut Conn,
    spec: &Spec,
    env: &str,
) -> Result<(Vec<Col>, Vec<String>), String> {
    let probe = format!("SELECT * FROM {} LIMIT 0", spec.source.relation());
    let result = conn
        .query_iter(probe)
        .await
        .map_err(|e| match &spec.source {
            Source::Table { .. } => format!("cannot read {} in {env}: {e}", spec.source.name()),
            Source::Query(_) => format!("the query fails in {env}: {e}{}", hint(&e, None)),
        })?;
    let columns: Vec<Column> = result.columns().map(|c| c.to_vec()).unwrap_or_default();
    result
        .drop_result()
        .await
        .map_err(|e| format!("cannot read {} in {env}: {e}", spec.source.name()))?;
    let mut cols: Vec<Col> = columns
        .iter()
        .map(|c| {
            let kind = Kind::of(c);
            Col {
                name: c.name_str().into_owned(),
                kind,
                sql_type: kind.name().to_string(),
            }
        })
        .collect();
    let Source::Table { db, table } = &spec.source else {
        return Ok((cols, Vec::new()));
    };
    let types: Vec<(String, String)> = conn
        .exec(
            "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (db, table),
        )
        .await
        .map_err(|e| format!("cannot read the columns of {db}.{table} in {env}: {e}"))?;
    for c in &mut cols {
        if let Some((_, t)) = types.iter().find(|(n, _)| n.eq_ignore_ascii_case(&c.name)) {
            c.sql_type = t.clone();
        }
    }
    let primary: Vec<String> = conn
        .exec(
            "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND CONSTRAINT_NAME = 'PRIMARY' \
             ORDER BY ORDINAL_POSITION",
            (db, table),
        )
        .await
        .map_err(|e| format!("cannot read the primary key of {db}.{table} in {env}: {e}"))?;
    Ok((cols, primary))
}

fn find<'a>(cols: &'a [Col], name: &str) -> Option<&'a Col> {
    cols.iter()
        .find(|c| c.name == name)
        .or_else(|| cols.iter().find(|c| c.name.eq_ignore_ascii_case(name)))
}

/// Key, compared columns and drift of a world from both sides' descriptions.
fn layout(
    spec: &Spec,
    (from_cols, from_pk): (&[Col], &[String]),
    (to_cols, to_pk): (&[Col], &[String]),
) -> Result<Layout, String> {
    let key: Vec<String> = if !spec.key.is_empty() {
        spec.key.clone()
    } else if !from_pk.is_empty() {
        from_pk.to_vec()
    } else if !to_pk.is_empty() {
        to_pk.to_vec()
    } else {
        return Err(format!(
            "{} has no primary key; give --key COL[,COL] with columns that identify a row",
            spec.source.name()
        ));
    };
    for k in &key {
        for (cols, env) in [(from_cols, &spec.from_env), (to_cols, &spec.to_env)] {
            if find(cols, k).is_none() {
                return Err(format!(
                    "key column {k} is not in {} in {env}; its columns are {}",
                    spec.source.name(),
                    cols.iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
    }
    let is_key = |name: &str| key.iter().any(|k| k.eq_ignore_ascii_case(name));
    // The columns considered: those named, else every column of either side.
    let considered: Vec<String> = if spec.columns.is_empty() {
        let mut all: Vec<String> = from_cols.iter().map(|c| c.name.clone()).collect();
        for c in to_cols {
            if find(from_cols, &c.name).is_none() {
                all.push(c.name.clone());
            }
        }
        all
    } else {
        for c in &spec.columns {
            if find(from_cols, c).is_none() && find(to_cols, c).is_none() {
                return Err(format!(
                    "--columns: {c} is not in {} on either side; its columns are {}",
                    spec.source.name(),
                    from_cols
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        spec.columns.clone()
    };
    let mut compared = Vec::new();
    let mut drift = Vec::new();
    for name in considered.iter().filter(|n| !is_key(n)) {
        match (find(from_cols, name), find(to_cols, name)) {
            (Some(a), Some(b)) => {
                if a.sql_type != b.sql_type {
                    drift.push(Drift {
                        column: a.name.clone(),
                        change: "type",
                        from: Some(a.sql_type.clone()),
                        to: Some(b.sql_type.clone()),
                    });
                }
                compared.push(a.name.clone());
            }
            (Some(a), None) => drift.push(Drift {
                column: a.name.clone(),
                change: "removed",
                from: Some(a.sql_type.clone()),
                to: None,
            }),
            (None, Some(b)) => drift.push(Drift {
                column: b.name.clone(),
                change: "added",
                from: None,
                to: Some(b.sql_type.clone()),
            }),
            (None, None) => {}
        }
    }
    Ok(Layout {
        key,
        compared,
        drift,
    })
}

/// The SELECT of one side: key columns, then compared columns, in key order.
fn select(spec: &Spec, layout: &Layout, orders: &[KeyOrder]) -> String {
    let columns: Vec<String> = layout
        .key
        .iter()
        .chain(&layout.compared)
        .map(|c| quote_ident(c))
        .collect();
    let order: Vec<String> = layout
        .key
        .iter()
        .zip(orders)
        .map(|(k, o)| o.expression(&quote_ident(k)))
        .collect();
    let mut sql = format!(
        "SELECT {} FROM {}",
        columns.join(", "),
        spec.source.relation()
    );
    if let Some(c) = &spec.condition {
        sql.push_str(&format!(" WHERE ({c})"));
    }
    sql.push_str(&format!(" ORDER BY {}", order.join(", ")));
    sql
}

async fn compare_world(
    spec: &Spec,
    from: &Target,
    to: &Target,
    tx: &mpsc::Sender<Event>,
) -> Result<(), String> {
    let (a, b) = tokio::join!(
        session(from, &spec.database, &spec.from_env),
        session(to, &spec.database, &spec.to_env)
    );
    let (mut a, mut b) = (a?, b?);
    let (da, db) = tokio::join!(
        describe(&mut a, spec, &spec.from_env),
        describe(&mut b, spec, &spec.to_env)
    );
    let ((from_cols, from_pk), (to_cols, to_pk)) = (da?, db?);
    let layout = layout(spec, (&from_cols, &from_pk), (&to_cols, &to_pk))?;
    let kinds_of = |cols: &[Col], names: &[String]| -> Vec<Kind> {
        names
            .iter()
            .map(|n| find(cols, n).map_or(Kind::Text, |c| c.kind))
            .collect()
    };
    let key_kinds: Vec<KeyOrder> = kinds_of(&from_cols, &layout.key)
        .into_iter()
        .zip(kinds_of(&to_cols, &layout.key))
        .map(|(x, y)| KeyOrder::for_kinds(x, y))
        .collect();
    let kinds: Vec<(Kind, Kind)> = kinds_of(&from_cols, &layout.compared)
        .into_iter()
        .zip(kinds_of(&to_cols, &layout.compared))
        .collect();
    let sql = select(spec, &layout, &key_kinds);
    tracing::debug!("diff select: {sql}");
    send(tx, Event::Layout(layout.clone())).await?;

    let (ra, rb) = tokio::join!(a.query_iter(sql.as_str()), b.query_iter(sql.as_str()));
    let mut ra = ra.map_err(|e| read_failed(spec, &spec.from_env, &e))?;
    let mut rb = rb.map_err(|e| read_failed(spec, &spec.to_env, &e))?;
    let columns_a: Arc<[Column]> = ra.columns().unwrap_or_else(|| Arc::from(Vec::new()));
    let columns_b: Arc<[Column]> = rb.columns().unwrap_or_else(|| Arc::from(Vec::new()));
    let keys = layout.key.len();
    let width = keys + layout.compared.len();
    if columns_a.len() != width || columns_b.len() != width {
        return Err(format!(
            "{} did not return the columns asked for",
            spec.source.name()
        ));
    }
    let mut merge = Merge::new(keys, kinds.clone());
    let convert = |row: MyRow| -> Result<crate::diff::Row, String> {
        let values: Vec<Value> = row.unwrap();
        let key = values[..keys]
            .iter()
            .zip(&key_kinds)
            .map(|(v, o)| o.part(v))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(crate::diff::Row { key, values })
    };
    let read_err = |env: &str, e: mysql_async::Error| format!("reading {env} failed: {e}");
    let mut head_a = ra
        .next()
        .await
        .map_err(|e| read_err(&spec.from_env, e))?
        .map(convert)
        .transpose()?;
    let mut head_b = rb
        .next()
        .await
        .map_err(|e| read_err(&spec.to_env, e))?
        .map(convert)
        .transpose()?;
    let mut listed = 0usize;
    while let Some(ordering) = Merge::order(head_a.as_ref(), head_b.as_ref()) {
        let (x, y) = match ordering {
            Ordering::Less => (head_a.take(), None),
            Ordering::Greater => (None, head_b.take()),
            Ordering::Equal => (head_a.take(), head_b.take()),
        };
        let found = merge
            .step(ordering, x, y)
            .map_err(|e| order_error(spec, &layout, e))?;
        if let Some(found) = found {
            if listed < spec.list {
                listed += 1;
                let row = list(&found, &layout, &kinds, &columns_a, &columns_b);
                send(tx, Event::Row(row)).await?;
            }
        }
        // Read what was consumed, both sides at once where both were.
        match ordering {
            Ordering::Less => {
                head_a = next(&mut ra, &spec.from_env, &convert).await?;
            }
            Ordering::Greater => {
                head_b = next(&mut rb, &spec.to_env, &convert).await?;
            }
            Ordering::Equal => {
                let (x, y) = tokio::join!(
                    next(&mut ra, &spec.from_env, &convert),
                    next(&mut rb, &spec.to_env, &convert)
                );
                head_a = x?;
                head_b = y?;
            }
        }
    }
    drop(ra);
    drop(rb);
    send(tx, Event::Done(merge.tally)).await?;
    let _ = tokio::join!(a.disconnect(), b.disconnect());
    Ok(())
}

/// Why reading a side failed, with what to check.
fn read_failed(spec: &Spec, env: &str, e: &mysql_async::Error) -> String {
    format!(
        "cannot read {} in {env}: {e}{}",
        spec.source.name(),
        hint(e, spec.condition.as_deref())
    )
}

/// What to check for a server error about the SQL given on the command line.
fn hint(e: &mysql_async::Error, condition: Option<&str>) -> &'static str {
    let mysql_async::Error::Server(server) = e else {
        return "";
    };
    match (server.code, condition) {
        (1060, _) => " (give every column of the query its own name, e.g. with AS)",
        (1064 | 1054, Some(_)) => " (check --where)",
        _ => "",
    }
}

async fn next<'a, F>(
    result: &mut mysql_async::QueryResult<'a, 'static, mysql_async::TextProtocol>,
    env: &str,
    convert: &F,
) -> Result<Option<crate::diff::Row>, String>
where
    F: Fn(MyRow) -> Result<crate::diff::Row, String>,
{
    match result.next().await {
        Ok(Some(row)) => convert(row).map(Some),
        Ok(None) => Ok(None),
        Err(e) => Err(format!("reading {env} failed: {e}")),
    }
}

/// The printer went away (a closed pipe): stop quietly.
async fn send(tx: &mpsc::Sender<Event>, event: Event) -> Result<(), String> {
    tx.send(event)
        .await
        .map_err(|_| "the output was closed".to_string())
}

fn order_error(spec: &Spec, layout: &Layout, e: OrderError) -> String {
    let env = |side: Side| match side {
        Side::From => &spec.from_env,
        Side::To => &spec.to_env,
    };
    let show = |key: &[crate::diff::KeyPart]| -> String {
        key.iter()
            .map(|p| match p {
                crate::diff::KeyPart::Null => "NULL".to_string(),
                crate::diff::KeyPart::Int(i) => i.to_string(),
                crate::diff::KeyPart::Bytes(b) => format!("{:?}", String::from_utf8_lossy(b)),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    match e {
        OrderError::Repeated(side, key) => format!(
            "the key ({}) does not identify rows in {}: ({}) appears more than once; give \
             --key with columns that are unique",
            layout.key.join(", "),
            env(side),
            show(&key)
        ),
        OrderError::Backwards(side, key) => format!(
            "rows of {} arrived out of key order at ({}) (keys that share their first {} bytes \
             sort in any order); cannot compare them",
            env(side),
            show(&key),
            crate::query::pushdown::SORT_LENGTH
        ),
    }
}

/// A found difference as listed: cells typed by each side's columns.
fn list(
    found: &crate::diff::Found,
    layout: &Layout,
    kinds: &[(Kind, Kind)],
    columns_a: &[Column],
    columns_b: &[Column],
) -> Listed {
    let keys = layout.key.len();
    let side = |row: &crate::diff::Row, columns: &[Column], which: &[usize]| {
        which
            .iter()
            .map(|&i| {
                (
                    layout.compared[i].clone(),
                    Cell::of(row.values[keys + i].clone(), &columns[keys + i]),
                )
            })
            .collect::<Vec<_>>()
    };
    let all: Vec<usize> = (0..layout.compared.len()).collect();
    let (key_row, key_columns) = match (&found.from, &found.to) {
        (Some(r), _) => (r, columns_a),
        (None, Some(r)) => (r, columns_b),
        (None, None) => unreachable!("a difference has a row"),
    };
    let key = (0..keys)
        .map(|i| Cell::of(key_row.values[i].clone(), &key_columns[i]))
        .collect();
    let which: &[usize] = match found.change {
        Change::Changed => &found.columns,
        Change::Added | Change::Removed => &all,
    };
    let mut deltas = Vec::new();
    if let (Some(a), Some(b)) = (&found.from, &found.to) {
        for &i in &found.columns {
            let (ka, kb) = kinds[i];
            if !(ka.numeric() && kb.numeric()) {
                continue;
            }
            let x = Number::parse(ka, &a.values[keys + i]);
            let y = Number::parse(kb, &b.values[keys + i]);
            if let (Some(x), Some(y)) = (x, y) {
                deltas.push((layout.compared[i].clone(), y.minus(&x)));
            }
        }
    }
    Listed {
        change: found.change,
        key,
        from: found
            .from
            .as_ref()
            .map(|r| side(r, columns_a, which))
            .unwrap_or_default(),
        to: found
            .to
            .as_ref()
            .map(|r| side(r, columns_b, which))
            .unwrap_or_default(),
        deltas,
    }
}

// ----- printing -----

type Feed = (String, mpsc::Receiver<Event>);

/// Every world's outcome, in world order, holding at most [`LIST_CAP`] listed rows.
async fn gather(feeds: &mut [Feed]) -> std::io::Result<Vec<Outcome>> {
    let mut outcomes = Vec::new();
    let mut held = 0usize;
    for (_, rx) in feeds.iter_mut() {
        let mut o = Outcome::default();
        while let Some(event) = rx.recv().await {
            match event {
                Event::Layout(l) => o.layout = Some(l),
                Event::Row(r) if held < LIST_CAP => {
                    held += 1;
                    o.rows.push(r);
                }
                Event::Row(_) => o.left_out += 1,
                last => {
                    o.end(last);
                    break;
                }
            }
        }
        o.ended();
        outcomes.push(o);
    }
    Ok(outcomes)
}

/// csv / tsv: one line per changed value (or per value of an added or removed row), streamed
/// world after world. The header takes the key columns of the first world that answers; a
/// world with another key is reported as an error.
async fn stream_delimited(
    format: DiffFormat,
    spec: &Spec,
    feeds: &mut [Feed],
) -> std::io::Result<Option<Vec<Outcome>>> {
    let out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());
    let mut sink = match format {
        DiffFormat::Csv => Delimited::csv(out, true),
        _ => Delimited::tsv(out, true),
    };
    let st = Statement {
        index: 0,
        total: 1,
        sql: "",
    };
    let mut header_key: Option<Vec<String>> = (!spec.key.is_empty()).then(|| spec.key.clone());
    let mut begun = false;
    let mut outcomes = Vec::new();
    for (world, rx) in feeds.iter_mut() {
        let mut o = Outcome::default();
        while let Some(event) = rx.recv().await {
            match event {
                Event::Layout(l) => {
                    let key = header_key.get_or_insert_with(|| l.key.clone()).clone();
                    if !begun {
                        let mut columns = vec!["world".to_string(), "change".to_string()];
                        columns.extend(key.iter().cloned());
                        columns.extend(["column", "from", "to", "delta"].map(String::from));
                        sink.begin(&st, &columns)?;
                        begun = true;
                    }
                    if l.key != key {
                        o.error = Some(format!(
                            "its primary key ({}) differs from the other worlds' ({}); give --key",
                            l.key.join(", "),
                            key.join(", ")
                        ));
                        break;
                    }
                    o.layout = Some(l);
                }
                Event::Row(r) => {
                    for line in delimited_lines(world, &r) {
                        sink.row(line)?;
                    }
                }
                last => {
                    o.end(last);
                    break;
                }
            }
        }
        o.ended();
        outcomes.push(o);
    }
    if !begun {
        let mut columns = vec!["world".to_string(), "change".to_string()];
        columns.extend(header_key.unwrap_or_default());
        columns.extend(["column", "from", "to", "delta"].map(String::from));
        sink.begin(&st, &columns)?;
    }
    sink.end(&st, &[])?;
    sink.finish()?;
    Ok(Some(outcomes))
}

fn delimited_lines(world: &str, r: &Listed) -> Vec<Vec<Cell>> {
    let names: Vec<&String> = match r.change {
        Change::Added => r.to.iter().map(|(n, _)| n).collect(),
        _ => r.from.iter().map(|(n, _)| n).collect(),
    };
    let value = |side: &[(String, Cell)], name: &str| {
        side.iter()
            .find(|(n, _)| n == name)
            .map_or(Cell::Null, |(_, c)| c.clone())
    };
    names
        .into_iter()
        .map(|name| {
            let mut line = vec![
                Cell::Text(world.to_string()),
                Cell::Text(r.change.name().to_string()),
            ];
            line.extend(r.key.iter().cloned());
            line.push(Cell::Text(name.clone()));
            line.push(value(&r.from, name));
            line.push(value(&r.to, name));
            line.push(
                r.deltas
                    .iter()
                    .find(|(n, _)| n == name)
                    .map_or(Cell::Null, |(_, d)| Cell::Text(d.to_string())),
            );
            line
        })
        .collect()
}

/// Everything gathered, ready to print.
struct Report<'a> {
    spec: &'a Spec,
    worlds: Vec<(String, Outcome)>,
    /// Per world (same order): why it stands out, if it does.
    stands_out: Vec<Vec<String>>,
    key: Vec<String>,
}

impl<'a> Report<'a> {
    fn new(spec: &'a Spec, names: &[String], outcomes: Vec<Outcome>) -> Report<'a> {
        let mut worlds: Vec<(String, Outcome)> = names.iter().cloned().zip(outcomes).collect();
        // Every world compares with the first world's key; another key is an error.
        let key = if !spec.key.is_empty() {
            spec.key.clone()
        } else {
            worlds
                .iter()
                .find_map(|(_, o)| o.layout.as_ref().map(|l| l.key.clone()))
                .unwrap_or_default()
        };
        for (_, o) in &mut worlds {
            if let Some(l) = &o.layout {
                if o.error.is_none() && l.key != key {
                    o.error = Some(format!(
                        "its primary key ({}) differs from the other worlds' ({}); give --key",
                        l.key.join(", "),
                        key.join(", ")
                    ));
                    o.tally = None;
                }
            }
        }
        let stands_out = stand_out(&worlds);
        Report {
            spec,
            worlds,
            stands_out,
            key,
        }
    }

    fn compared(&self) -> usize {
        self.worlds
            .iter()
            .filter(|(_, o)| o.tally.is_some())
            .count()
    }

    fn has_errors(&self) -> bool {
        self.worlds.iter().any(|(_, o)| o.error.is_some())
    }

    fn differing_rows(&self) -> u64 {
        self.worlds
            .iter()
            .filter_map(|(_, o)| o.tally.as_ref())
            .map(|t| t.added + t.removed + t.changed)
            .sum()
    }

    fn differs(&self) -> bool {
        self.differing_rows() > 0
            || self.worlds.iter().any(|(_, o)| {
                o.tally.is_some() && o.layout.as_ref().is_some_and(|l| !l.drift.is_empty())
            })
    }

    fn errors(&self) -> Vec<WorldError> {
        self.worlds
            .iter()
            .filter_map(|(w, o)| o.error.as_ref().map(|e| (w.clone(), e.clone())))
            .collect()
    }

    fn json(&self) -> Json {
        let mut worlds = Vec::new();
        let mut rows = Vec::new();
        let mut schema = Vec::new();
        for (i, (name, o)) in self.worlds.iter().enumerate() {
            let (Some(t), Some(l)) = (&o.tally, &o.layout) else {
                continue;
            };
            let mut changed_columns = Map::new();
            let mut deltas = Map::new();
            for (c, column) in l.compared.iter().enumerate() {
                if t.changed_columns[c] > 0 {
                    changed_columns.insert(column.clone(), json!(t.changed_columns[c]));
                }
                if let Some(d) = &t.deltas[c] {
                    if d.count > 0 {
                        deltas.insert(column.clone(), d.to_json());
                    }
                }
            }
            worlds.push(json!({
                "world": name,
                "rows_from": t.rows_from,
                "rows_to": t.rows_to,
                "added": t.added,
                "removed": t.removed,
                "changed": t.changed,
                "unchanged": t.unchanged,
                "changed_columns": changed_columns,
                "deltas": deltas,
                "outlier": !self.stands_out[i].is_empty(),
            }));
            for r in &o.rows {
                let object = |pairs: &[(String, Cell)]| {
                    let mut m = Map::new();
                    for (n, c) in pairs {
                        m.insert(n.clone(), c.to_json());
                    }
                    Json::Object(m)
                };
                let mut key = Map::new();
                for (k, c) in self.key.iter().zip(&r.key) {
                    key.insert(k.clone(), c.to_json());
                }
                rows.push(json!({
                    "world": name,
                    "change": r.change.name(),
                    "key": key,
                    "from": if r.change == Change::Added { Json::Null } else { object(&r.from) },
                    "to": if r.change == Change::Removed { Json::Null } else { object(&r.to) },
                }));
            }
            for d in &l.drift {
                schema.push(json!({
                    "world": name, "column": d.column, "change": d.change,
                    "from": d.from, "to": d.to,
                }));
            }
        }
        let errors: Vec<Json> = self
            .errors()
            .into_iter()
            .map(|(w, e)| json!({"world": w, "error": e}))
            .collect();
        let table = match &self.spec.source {
            Source::Table { .. } => json!(self.spec.source.name()),
            Source::Query(_) => Json::Null,
        };
        // Written key by key so the order is the documented one.
        let mut m = Map::new();
        m.insert("table".into(), table);
        m.insert("from".into(), json!(self.spec.from_env));
        m.insert("to".into(), json!(self.spec.to_env));
        m.insert("key".into(), json!(self.key));
        m.insert("worlds".into(), Json::Array(worlds));
        m.insert("rows".into(), Json::Array(rows));
        m.insert("errors".into(), Json::Array(errors));
        m.insert("schema_changes".into(), Json::Array(schema));
        Json::Object(m)
    }

    /// The summary per world, the worlds that stand out, schema changes and errors.
    /// One line per error (identical errors of several worlds collapsed).
    fn error_lines(&self) -> Vec<String> {
        collapse(&self.errors())
            .into_iter()
            .map(|(worlds, error)| escape(&format!("error: {worlds}: {error}")))
            .collect()
    }

    fn summary_text(&self, with_errors: bool) -> String {
        let mut text = String::new();
        let what = match &self.spec.source {
            Source::Table { .. } => self.spec.source.name(),
            Source::Query(q) => format!("query {}", one_line(q, 60)),
        };
        text.push_str(&format!(
            "{what}: {} -> {}, rows matched by {}\n",
            self.spec.from_env,
            self.spec.to_env,
            if self.key.is_empty() {
                "their key".to_string()
            } else {
                self.key.join(", ")
            }
        ));
        // Numeric columns with a change in some world get a column of their own.
        let mut numeric: Vec<String> = Vec::new();
        for (_, o) in &self.worlds {
            if let (Some(t), Some(l)) = (&o.tally, &o.layout) {
                for (c, name) in l.compared.iter().enumerate() {
                    if t.deltas[c].as_ref().is_some_and(|d| d.count > 0) && !numeric.contains(name)
                    {
                        numeric.push(name.clone());
                    }
                }
            }
        }
        let mut header: Vec<String> = vec![
            "world".into(),
            format!("rows {} -> {}", self.spec.from_env, self.spec.to_env),
            "added".into(),
            "removed".into(),
            "changed".into(),
            "columns changed".into(),
        ];
        header.extend(numeric.iter().map(|n| format!("{n}: sum (min..max)")));
        let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
        let mut table = crate::output::table(&header_refs);
        for (i, (name, o)) in self.worlds.iter().enumerate() {
            let (Some(t), Some(l)) = (&o.tally, &o.layout) else {
                continue;
            };
            let mark = if self.stands_out[i].is_empty() {
                ""
            } else {
                " !"
            };
            let columns: Vec<String> = l
                .compared
                .iter()
                .enumerate()
                .filter(|(c, _)| t.changed_columns[*c] > 0)
                .map(|(c, n)| format!("{n} {}", t.changed_columns[c]))
                .collect();
            let mut cells = vec![
                format!("{name}{mark}"),
                format!("{} -> {}", t.rows_from, t.rows_to),
                t.added.to_string(),
                t.removed.to_string(),
                t.changed.to_string(),
                if columns.is_empty() {
                    "-".to_string()
                } else {
                    columns.join(", ")
                },
            ];
            for n in &numeric {
                let d = l
                    .compared
                    .iter()
                    .position(|c| c == n)
                    .and_then(|c| t.deltas[c].as_ref())
                    .filter(|d| d.count > 0);
                cells.push(match d {
                    Some(d) => format!(
                        "{} ({}..{})",
                        show_number(&d.sum),
                        show_number(&d.min),
                        show_number(&d.max)
                    ),
                    None => "-".to_string(),
                });
            }
            table.add_row(cells);
        }
        if self.compared() > 0 {
            text.push_str(&format!("{table}\n"));
        }
        for (i, (name, _)) in self.worlds.iter().enumerate() {
            if !self.stands_out[i].is_empty() {
                text.push_str(&format!(
                    "! {name} stands out: {}\n",
                    self.stands_out[i].join("; ")
                ));
            }
        }
        for (name, o) in &self.worlds {
            if let (Some(_), Some(l)) = (&o.tally, &o.layout) {
                for d in &l.drift {
                    let what = match d.change {
                        "added" => format!(
                            "column {} added in {} ({})",
                            d.column,
                            self.spec.to_env,
                            d.to.as_deref().unwrap_or("")
                        ),
                        "removed" => format!(
                            "column {} removed in {} (was {})",
                            d.column,
                            self.spec.to_env,
                            d.from.as_deref().unwrap_or("")
                        ),
                        _ => format!(
                            "column {} changed type: {} -> {}",
                            d.column,
                            d.from.as_deref().unwrap_or(""),
                            d.to.as_deref().unwrap_or("")
                        ),
                    };
                    text.push_str(&format!("schema: {name}: {what}\n"));
                }
            }
        }
        if with_errors {
            for line in self.error_lines() {
                text.push_str(&line);
                text.push('\n');
            }
        }
        text
    }

    /// The table format: the summary, then the listed rows.
    fn human(&self) -> String {
        let mut text = self.summary_text(true);
        let listed: usize = self.worlds.iter().map(|(_, o)| o.rows.len()).sum();
        if listed > 0 {
            let mut header = vec!["world".to_string(), "change".to_string()];
            header.extend(self.key.iter().cloned());
            header.push("values (before -> after)".to_string());
            let header_refs: Vec<&str> = header.iter().map(String::as_str).collect();
            let mut table = crate::output::table(&header_refs);
            for (name, o) in &self.worlds {
                for r in &o.rows {
                    let mut cells = vec![name.clone(), r.change.name().to_string()];
                    cells.extend(r.key.iter().map(Cell::display));
                    cells.push(values_text(r));
                    table.add_row(cells);
                }
            }
            text.push('\n');
            text.push_str(&format!("{table}\n"));
        }
        for (name, o) in &self.worlds {
            let Some(t) = &o.tally else { continue };
            let differing = t.added + t.removed + t.changed;
            let shown = o.rows.len() as u64;
            if shown < differing {
                text.push_str(&format!(
                    "{name}: {shown} of {differing} differing rows listed (--rows N or \
                     --all-rows for more{})\n",
                    if o.left_out > 0 {
                        "; --format csv or tsv streams any number"
                    } else {
                        ""
                    }
                ));
            }
        }
        text
    }
}

fn values_text(r: &Listed) -> String {
    match r.change {
        Change::Changed => r
            .from
            .iter()
            .zip(&r.to)
            .map(|((name, a), (_, b))| {
                let delta = r
                    .deltas
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, d)| format!(" ({})", d.readable()))
                    .unwrap_or_default();
                format!("{name}: {} -> {}{delta}", a.display(), b.display())
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Change::Added | Change::Removed => {
            let side = if r.change == Change::Added {
                &r.to
            } else {
                &r.from
            };
            side.iter()
                .map(|(n, c)| format!("{n}: {}", c.display()))
                .collect::<Vec<_>>()
                .join("\n")
        }
    }
}

fn show_number(n: &Option<Number>) -> String {
    n.as_ref().map_or("?".to_string(), Number::readable)
}

fn one_line(s: &str, max: usize) -> String {
    let line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > max {
        format!("{}...", line.chars().take(max).collect::<String>())
    } else {
        line
    }
}

/// Per world, why it stands out: by its changed fraction, and by the summed change of each
/// numeric column, among the worlds compared (3 or more).
fn stand_out(worlds: &[(String, Outcome)]) -> Vec<Vec<String>> {
    let mut reasons = vec![Vec::new(); worlds.len()];
    let compared: Vec<(usize, &Tally, &Layout)> = worlds
        .iter()
        .enumerate()
        .filter_map(|(i, (_, o))| Some((i, o.tally.as_ref()?, o.layout.as_ref()?)))
        .collect();
    if compared.len() < 3 {
        return reasons;
    }
    let fractions: Vec<f64> = compared
        .iter()
        .map(|(_, t, _)| t.changed_fraction())
        .collect();
    let med = median(&fractions);
    for (flag, (i, t, _)) in outliers(&fractions).into_iter().zip(&compared) {
        if flag {
            let differing = t.added + t.removed + t.changed;
            reasons[*i].push(format!(
                "{differing} of {} rows differ ({:.1}%; median of the worlds {:.1}%)",
                t.rows_from.max(t.rows_to),
                100.0 * t.changed_fraction(),
                100.0 * med
            ));
        }
    }
    let mut numeric: Vec<&String> = Vec::new();
    for (_, t, l) in &compared {
        for (c, name) in l.compared.iter().enumerate() {
            if t.deltas[c].is_some() && !numeric.contains(&name) {
                numeric.push(name);
            }
        }
    }
    for name in numeric {
        let sums: Vec<f64> = compared
            .iter()
            .map(|(_, t, l)| {
                l.compared
                    .iter()
                    .position(|c| c == name)
                    .and_then(|c| t.deltas[c].as_ref())
                    .and_then(|d| d.sum)
                    .map_or(0.0, Number::to_f64)
            })
            .collect();
        let med = median(&sums);
        for ((flag, (i, _, _)), sum) in outliers(&sums).into_iter().zip(&compared).zip(&sums) {
            if flag {
                reasons[*i].push(format!(
                    "{name} changed by {} in total (median of the worlds {})",
                    signed_f64(*sum),
                    signed_f64(med)
                ));
            }
        }
    }
    reasons
}

fn signed_f64(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        Number::Exact {
            unscaled: x as i128,
            scale: 0,
        }
        .readable()
    } else {
        format!("{x:+}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, kind: Kind, t: &str) -> Col {
        Col {
            name: name.to_string(),
            kind,
            sql_type: t.to_string(),
        }
    }

    fn spec(key: &[&str], columns: &[&str]) -> Spec {
        Spec {
            source: Source::Table {
                db: "game".into(),
                table: "player".into(),
            },
            database: "game".into(),
            key: key.iter().map(|s| s.to_string()).collect(),
            columns: columns.iter().map(|s| s.to_string()).collect(),
            condition: Some("player_score > 0".into()),
            list: 20,
            from_env: "before".into(),
            to_env: "after".into(),
        }
    }

    #[test]
    fn the_layout_reports_drift_and_compares_common_columns() {
        let from = vec![
            col("player_id", Kind::Int, "int(11)"),
            col("player_name", Kind::Text, "varchar(64)"),
            col("player_score", Kind::Int, "int(11)"),
            col("old", Kind::Text, "text"),
        ];
        let to = vec![
            col("player_id", Kind::Int, "int(11)"),
            col("player_name", Kind::Text, "varchar(64)"),
            col("player_score", Kind::Int, "bigint(20)"),
            col("bonus", Kind::Int, "int(11)"),
        ];
        let pk = vec!["player_id".to_string()];
        let l = layout(&spec(&[], &[]), (&from, &pk), (&to, &pk)).unwrap();
        assert_eq!(l.key, ["player_id"]);
        assert_eq!(l.compared, ["player_name", "player_score"]);
        let drift: Vec<(&str, &str)> = l
            .drift
            .iter()
            .map(|d| (d.column.as_str(), d.change))
            .collect();
        assert_eq!(
            drift,
            [
                ("player_score", "type"),
                ("old", "removed"),
                ("bonus", "added")
            ]
        );
        // --columns narrows both the comparison and the drift reported.
        let l = layout(&spec(&[], &["player_score"]), (&from, &pk), (&to, &pk)).unwrap();
        assert_eq!(l.compared, ["player_score"]);
        assert_eq!(l.drift.len(), 1);
        // No primary key and no --key: a clear error.
        let e = layout(&spec(&[], &[]), (&from, &[]), (&to, &[])).unwrap_err();
        assert!(e.contains("--key"), "{e}");
        let e = layout(&spec(&["bonus"], &[]), (&from, &[]), (&to, &[])).unwrap_err();
        assert!(e.contains("not in game.player in before"), "{e}");
        let e = layout(&spec(&[], &["nope"]), (&from, &pk), (&to, &pk)).unwrap_err();
        assert!(e.contains("--columns: nope"), "{e}");
    }

    #[test]
    fn the_select_orders_by_key_as_compared() {
        let s = spec(&[], &[]);
        let l = Layout {
            key: vec!["guild".into(), "player_id".into()],
            compared: vec!["player_score".into()],
            drift: vec![],
        };
        assert_eq!(
            select(&s, &l, &[KeyOrder::TextBytes, KeyOrder::Number]),
            "SELECT `guild`, `player_id`, `player_score` FROM `game`.`player` \
             WHERE (player_score > 0) ORDER BY CAST(CONVERT(`guild` USING utf8mb4) AS BINARY), \
             `player_id`"
        );
        let q = Spec {
            source: Source::Query("SELECT 1 AS k;".into()),
            condition: None,
            ..spec(&["k"], &[])
        };
        let l = Layout {
            key: vec!["k".into()],
            compared: vec![],
            drift: vec![],
        };
        assert_eq!(
            select(&q, &l, &[KeyOrder::Number]),
            "SELECT `k` FROM (SELECT 1 AS k) AS worlds_diff ORDER BY `k`"
        );
    }
}
