//! `worlds query`: every statement of the query text on every ready world, one session per
//! world, results streamed grouped by world in natural order.
//!
//! Each world runs in a task of its own and sends its rows through a small bounded channel;
//! rows are printed world after world, so a world that is not being printed yet waits with
//! its result in its server's send buffer (its session's `net_write_timeout` is raised for
//! that). Memory stays bounded whatever the result size, and the first row is printed as soon
//! as the first world sends it.
//!
//! With `--order-by`, each world sorts its rows itself (and keeps the best `--limit`) when
//! the statement can be a derived table ([`pushdown`]); the rows of all worlds are then
//! printed as a merge of their sorted streams ([`merge`]), holding one batch per world. A
//! world that cannot sort a statement sends it unsorted, and its rows are sorted here.

use std::collections::VecDeque;
use std::io::{IsTerminal, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use mysql_async::prelude::Queryable;
use mysql_async::{Column, Conn};
use tokio::sync::{mpsc, Semaphore};

use crate::cli::{QueryArgs, QueryFormat};
use crate::config::Config;
use crate::db::Target;
use crate::engine::Engine;
use crate::environment::state::State;
use crate::environment::{self, select};
use crate::error::{escape, usage};
use crate::output::human_duration;
use crate::query::merge::{self, Held, Merge, Order, OutOfOrder};
use crate::query::pushdown::{self, SortKey};
use crate::query::sink::{
    Counted, Delimited, JsonOut, Limited, Sink, Statement, TableOut, Vertical, WorldError,
};
use crate::query::{collapse, find_column, kind, union_header, Cell, Kind, Lineup};
use crate::state::EnvDir;

/// Rows a holding output takes per statement: the table, and `--order-by` without `--limit`
/// for the worlds that could not sort a statement themselves.
const HOLD_CAP: usize = 200_000;
/// Batches in flight per world, and rows per batch: a few thousand rows at most wait.
const CHANNEL: usize = 4;
const BATCH: usize = 1024;
/// How long a world's server waits for us to read its result.
const NET_WRITE_TIMEOUT_SECS: u32 = 86_400;

/// `--order-by COL [--desc] [--limit N]`.
#[derive(Debug, Clone)]
struct OrderBy {
    column: String,
    desc: bool,
    limit: Option<usize>,
}

/// What a world's task reports, statement after statement. After `Error` it stops.
#[derive(Debug)]
enum Event {
    /// The statement's columns, and the column (if any) its rows come sorted by, for
    /// `--order-by` (they are then also cut to `--limit`).
    Columns {
        names: Vec<String>,
        sorted: Option<usize>,
    },
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
    let order = args.order_by.as_ref().map(|column| {
        Arc::new(OrderBy {
            column: column.clone(),
            desc: args.desc,
            limit: args.limit,
        })
    });
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
    for ((target, tx), name) in starts
        .into_iter()
        .zip(chosen.iter().map(|w| w.name().to_string()))
    {
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
        let order = order.clone();
        tasks.push(tokio::spawn(async move {
            let session = Session {
                world: &name,
                target: &target,
                timeout,
                slots: &slots,
                tx: &tx,
                order: order.as_deref(),
            };
            world(&session, &database, &statements).await;
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
    // `--order-by` sorts and cuts before the sink; `--limit` alone cuts in front of it.
    let mut sink: Box<dyn Sink + Send> = match (&order, args.limit) {
        (None, Some(n)) => Box::new(Limited::new(base, n)),
        _ => base,
    };

    let mut notes: Vec<String> = Vec::new();
    let printed = print_all(
        &mut sink,
        &mut feeds,
        &statements,
        order.as_deref(),
        &mut notes,
    )
    .await;
    let printed = printed.and_then(|()| sink.finish());
    drop(sink);
    for t in &tasks {
        t.abort();
    }
    match printed {
        Ok(()) => {}
        // `worlds query ... | head`: the reader has what it wanted.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(0),
        // A world's rows out of order: what was printed is in order; the rest is not shown.
        Err(e) if e.get_ref().is_some_and(|r| r.is::<Unsorted>()) => {
            return Err(anyhow::anyhow!("{e}"))
        }
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
        // Machine formats: notes and the summary on stderr (`-q` keeps only the errors).
        for n in &notes {
            if n.starts_with("error:") {
                tracing::warn!("{}", escape(n));
            } else {
                tracing::info!("{}", escape(n));
            }
        }
        tracing::info!("{summary}");
    }
    Ok(if feeds.iter().any(|f| f.errors > 0) {
        1
    } else {
        0
    })
}

/// Read every statement's results, world by world in natural order, into the sink: first
/// how each world starts answering (columns, rows affected or an error), which gives the
/// header, then each world's rows (with `--order-by`, all worlds' rows merged in order).
async fn print_all(
    sink: &mut Box<dyn Sink + Send>,
    feeds: &mut [Feed],
    statements: &[String],
    order: Option<&OrderBy>,
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
                    index,
                    "the connection to the world ended".to_string(),
                    &mut errors,
                ),
                Some(Event::Error(e)) => stop(feed, index, e, &mut errors),
                Some(Event::Rows(_)) => {
                    stop(feed, index, "rows without columns".to_string(), &mut errors)
                }
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
                Some(Event::Columns { names, .. }) => Some(&names[..]),
                _ => None,
            })
            .collect();
        if answered_columns.is_empty() {
            // No result sets: rows affected per world.
            let mut affected: Vec<Vec<Cell>> = feeds
                .iter()
                .zip(&starts)
                .filter_map(|(f, s)| match s {
                    Some(Event::Done(n)) => Some(vec![Cell::Text(f.world.clone()), Cell::UInt(*n)]),
                    _ => None,
                })
                .collect();
            let columns: Vec<String> = if affected.is_empty() {
                vec!["world".to_string()]
            } else {
                vec!["world".to_string(), "affected_rows".to_string()]
            };
            // Nothing to sort by (`--order-by` names a column of a result), but a limit cuts.
            if let Some(order) = order {
                affected.truncate(order.limit.unwrap_or(usize::MAX));
            }
            sink.begin(&st, &columns)?;
            for row in affected {
                sink.row(row)?;
            }
        } else {
            let first: Vec<String> = answered_columns[0].to_vec();
            let header = union_header(answered_columns);
            let mut all = vec!["world".to_string()];
            all.extend(header.iter().cloned());
            let by = match order {
                Some(order) => Some(order_of(order, &st, &all)?),
                None => None,
            };
            sink.begin(&st, &all)?;
            let mut runs = Vec::new();
            for (i, (feed, start)) in feeds.iter_mut().zip(starts).enumerate() {
                let (columns, sorted) = match start {
                    Some(Event::Columns { names, sorted }) => (names, sorted),
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
                match (order, by) {
                    (Some(order), Some(by)) => {
                        runs.push(Run::ordered(i, lineup, sorted, order, by));
                    }
                    _ => {
                        // This world's rows as they come, then the next world's.
                        let mut run = Run::plain(i, lineup);
                        while let Some(row) = run.next(feed, index, &mut errors).await? {
                            sink.row(row)?;
                        }
                    }
                }
            }
            if let (Some(order), Some(by)) = (order, by) {
                merged(sink, feeds, runs, order.limit, by, index, &mut errors).await?;
            }
        }
        for (worlds, error) in collapse(&errors) {
            notes.push(format!("error: {worlds}: {label}{error}"));
        }
        sink.end(&st, &errors)?;
    }
    Ok(())
}

/// A world stops: its error for this statement, and the statements after it do not run.
fn stop(feed: &mut Feed, index: usize, e: String, errors: &mut Vec<WorldError>) {
    errors.push((feed.world.clone(), e));
    feed.errors += 1;
    feed.stopped = Some(format!("not run: statement {} failed", index + 1));
}

/// Where `--order-by` sorts the merged rows of a statement with these columns.
fn order_of(order: &OrderBy, st: &Statement<'_>, columns: &[String]) -> std::io::Result<Order> {
    let key = find_column(columns, &order.column).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "--order-by {:?}: {} has no such column; its columns are {}",
                order.column,
                st.label(),
                columns.join(", ")
            ),
        )
    })?;
    Ok(Order {
        key,
        desc: order.desc,
    })
}

/// A world's rows that came out of order under `--order-by`: the error that stops the query.
#[derive(Debug)]
struct Unsorted(String);

impl std::fmt::Display for Unsorted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unsorted {}

/// One world's rows of a statement, lined up under the header: as they arrive (sorted by
/// the world, or in any order when nothing needs an order from them), or held and sorted
/// here.
struct Run {
    feed: usize,
    lineup: Lineup,
    /// `--order-by`'s column and the order arriving rows must keep (None: any order).
    check: Option<(String, Order)>,
    /// The key of the last row that arrived, for the check across batches.
    last: Option<Cell>,
    rows: VecDeque<Vec<Cell>>,
    /// Rows sorted here, all of them; the feed is read to its end first.
    held: Option<Held>,
    /// Why this world's rows cannot be used (the world cut them by another column).
    refused: Option<String>,
    done: bool,
}

impl Run {
    /// Rows in the order they arrive.
    fn plain(feed: usize, lineup: Lineup) -> Run {
        Run {
            feed,
            lineup,
            check: None,
            last: None,
            rows: VecDeque::new(),
            held: None,
            refused: None,
            done: false,
        }
    }

    /// Rows for the merge under `--order-by`; `sorted` is the world's column its rows come
    /// sorted by (and cut to the limit), if any.
    fn ordered(
        feed: usize,
        lineup: Lineup,
        sorted: Option<usize>,
        order: &OrderBy,
        by: Order,
    ) -> Run {
        let source = by.key.checked_sub(1).and_then(|i| lineup.source(i));
        let mut run = Run::plain(feed, lineup);
        match source {
            // The world tag, or a column this world lacks (NULL): the same value for every
            // row of the world, so any order is sorted.
            None => {}
            Some(j) if sorted == Some(j) => run.check = Some((order.column.clone(), by)),
            Some(_) if sorted.is_some() && order.limit.is_some() => {
                run.refused = Some(format!(
                    "--order-by {}: the world sorted and cut its rows by another column",
                    order.column
                ));
            }
            Some(_) => run.held = Some(Held::new(by, order.limit)),
        }
        run
    }

    /// Read a batch of the world's rows into `self.rows`; false at the end of its rows.
    async fn fill(
        &mut self,
        feed: &mut Feed,
        index: usize,
        errors: &mut Vec<WorldError>,
    ) -> std::io::Result<bool> {
        if self.done {
            return Ok(false);
        }
        match feed.rx.recv().await {
            Some(Event::Rows(batch)) => {
                let rows: Vec<Vec<Cell>> = batch
                    .into_iter()
                    .map(|values| self.lineup.row(&feed.world, values))
                    .collect();
                if let Some((column, by)) = &self.check {
                    if let Err(OutOfOrder { before, after }) =
                        merge::check(*by, self.last.as_ref(), &rows)
                    {
                        let (before, after, hint) = shown_pair(&before, &after);
                        return Err(std::io::Error::other(Unsorted(format!(
                            "--order-by {column}: {} sent its rows out of order: {after} came \
                             after {before}{hint}; the rows before them are printed in order, \
                             the rest is not shown",
                            feed.world,
                        ))));
                    }
                    self.last = rows.last().map(|r| r[by.key].clone());
                }
                // Only called with no rows waiting.
                debug_assert!(self.rows.is_empty());
                self.rows = rows.into();
                Ok(true)
            }
            Some(Event::Done(_)) => {
                self.done = true;
                Ok(false)
            }
            Some(Event::Error(e)) => {
                self.done = true;
                stop(feed, index, e, errors);
                Ok(false)
            }
            Some(Event::Columns { .. }) | None => {
                self.done = true;
                stop(
                    feed,
                    index,
                    "the connection to the world ended".to_string(),
                    errors,
                );
                Ok(false)
            }
        }
    }

    /// Read and sort every row of a world whose rows are sorted here; `held` counts the
    /// rows held for the statement.
    async fn hold(
        &mut self,
        feed: &mut Feed,
        index: usize,
        errors: &mut Vec<WorldError>,
        held: &mut usize,
    ) -> std::io::Result<()> {
        if let Some(why) = self.refused.take() {
            self.drain(feed, index, errors).await?;
            if feed.stopped.is_none() {
                stop(feed, index, why, errors);
            }
            return Ok(());
        }
        let Some(mut buffer) = self.held.take() else {
            return Ok(());
        };
        while self.fill(feed, index, errors).await? {
            for row in self.rows.drain(..) {
                buffer
                    .push(row, held, HOLD_CAP)
                    .map_err(|e| std::io::Error::other(e.to_string()))?;
            }
        }
        self.rows = buffer.finish().into();
        Ok(())
    }

    /// The world's next row in order.
    async fn next(
        &mut self,
        feed: &mut Feed,
        index: usize,
        errors: &mut Vec<WorldError>,
    ) -> std::io::Result<Option<Vec<Cell>>> {
        loop {
            if let Some(row) = self.rows.pop_front() {
                return Ok(Some(row));
            }
            if !self.fill(feed, index, errors).await? {
                return Ok(None);
            }
        }
    }

    /// Read the world's remaining rows of the statement without showing them.
    async fn drain(
        &mut self,
        feed: &mut Feed,
        index: usize,
        errors: &mut Vec<WorldError>,
    ) -> std::io::Result<()> {
        self.check = None;
        self.rows.clear();
        while self.fill(feed, index, errors).await? {
            self.rows.clear();
        }
        Ok(())
    }
}

/// Two values in an error message: quoted, long ones cut to the part around their first
/// difference; and a hint when they share a long prefix.
fn shown_pair(before: &Cell, after: &Cell) -> (String, String, String) {
    let text = |c: &Cell| match c {
        Cell::Text(_) | Cell::Bytes(_) => Some(c.display()),
        _ => None,
    };
    let (Some(a), Some(b)) = (text(before), text(after)) else {
        return (before.display(), after.display(), String::new());
    };
    let common = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    let cut = |s: &str| {
        let mut from = common.saturating_sub(20);
        while !s.is_char_boundary(from) {
            from -= 1;
        }
        let rest: String = s[from..].chars().take(60).collect();
        let lead = if from > 0 { "..." } else { "" };
        let tail = if from + rest.len() < s.len() {
            "..."
        } else {
            ""
        };
        format!("{lead}{rest:?}{tail}")
    };
    let hint = if common >= 64 {
        format!(
            " (the values share their first {common} bytes; a server sorts by at most the \
             first max_sort_length bytes of a value)"
        )
    } else {
        String::new()
    };
    (cut(&a), cut(&b), hint)
}

/// `--order-by`: one statement's rows of every world in order, as a merge of each world's
/// sorted rows; only the first `limit` of them are shown.
async fn merged(
    sink: &mut Box<dyn Sink + Send>,
    feeds: &mut [Feed],
    mut runs: Vec<Run>,
    limit: Option<usize>,
    by: Order,
    index: usize,
    errors: &mut Vec<WorldError>,
) -> std::io::Result<()> {
    // Worlds that did not sort: all their rows first (the sorted ones wait on their servers).
    let mut held = 0;
    for run in runs.iter_mut() {
        run.hold(&mut feeds[run.feed], index, errors, &mut held)
            .await?;
    }
    let mut merge = Merge::new(by);
    for (r, run) in runs.iter_mut().enumerate() {
        if let Some(row) = run.next(&mut feeds[run.feed], index, errors).await? {
            merge.push(r, row);
        }
    }
    let mut shown = 0;
    while limit.is_none_or(|n| shown < n) {
        let Some((r, row)) = merge.pop() else {
            break;
        };
        sink.row(row)?;
        shown += 1;
        let run = &mut runs[r];
        if let Some(next) = run.next(&mut feeds[run.feed], index, errors).await? {
            merge.push(r, next);
        }
    }
    // Past the limit: read what the worlds still send, for their errors.
    for run in runs.iter_mut() {
        run.drain(&mut feeds[run.feed], index, errors).await?;
    }
    Ok(())
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

/// What a world's task works with.
struct Session<'a> {
    world: &'a str,
    target: &'a Target,
    /// Bounds the time the server takes on a statement, not the time spent waiting for the
    /// printer.
    timeout: Duration,
    slots: &'a Semaphore,
    tx: &'a mpsc::Sender<Event>,
    order: Option<&'a OrderBy>,
}

/// One world's session: every statement in order until one fails.
async fn world(s: &Session<'_>, database: &str, statements: &[String]) {
    let timeout = s.timeout;
    let mut conn = match tokio::time::timeout(timeout, s.target.connect(None)).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            let _ =
                s.tx.send(Event::Error(format!("cannot connect: {e:#}")))
                    .await;
            return;
        }
        Err(_) => {
            let _ =
                s.tx.send(Event::Error(format!("cannot connect within {timeout:?}")))
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
    if s.order.is_some() {
        // Sort long values by more than their first 1024 bytes.
        let _ = conn
            .query_drop(crate::query::pushdown::sort_settings())
            .await;
    }
    // Start in the default database when the world has it; statements may name others.
    let _ = conn
        .query_drop(format!("USE {}", crate::load::quote_ident(database)))
        .await;
    for sql in statements {
        if statement(s, &mut conn, sql).await.is_err() {
            return;
        }
    }
    let _ = conn.disconnect().await;
}

/// Why a world stops.
struct Stop;

/// How a world runs a statement under `--order-by`: sorted (and cut) by its server.
struct Plan {
    sql: String,
    /// The sort column among the statement's columns, and how it sorts.
    column: usize,
    key: SortKey,
}

/// Run one statement, streaming its rows.
async fn statement(s: &Session<'_>, conn: &mut Conn, sql: &str) -> Result<(), Stop> {
    let (target, timeout) = (s.target, s.timeout);
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
    let send = |e: Event| async move { s.tx.send(e).await.map_err(|_| Stop) };
    let slot = s.slots.acquire().await.map_err(|_| Stop)?;
    let clock = Instant::now();
    let plan = match s.order {
        Some(order) => match tokio::time::timeout(timeout, plan(conn, sql, order)).await {
            Ok(Ok(plan)) => plan,
            Ok(Err(e)) => {
                drop(slot);
                send(Event::Error(e)).await?;
                return Err(Stop);
            }
            Err(_) => {
                drop(slot);
                send(Event::Error(timed_out(target.clone()).await)).await?;
                return Err(Stop);
            }
        },
        None => None,
    };
    if let Some(order) = s.order {
        match &plan {
            Some(p) => tracing::debug!("{}: sorted by the world: {}", s.world, p.sql),
            None => tracing::debug!(
                "{}: --order-by {} sorts here, the world runs the statement as given",
                s.world,
                order.column
            ),
        }
    }
    let run = plan.as_ref().map_or(sql, |p| p.sql.as_str());
    let started = tokio::time::timeout(
        timeout.saturating_sub(clock.elapsed()),
        conn.query_iter(run),
    )
    .await;
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
    let names: Vec<String> = columns.iter().map(|c| c.name_str().into_owned()).collect();
    // The rows come sorted as planned if the result has the planned sort column, of the
    // planned kind (a prepared statement's columns are the run's, short of a change of
    // schema in between).
    let sorted = match (&plan, s.order) {
        (Some(plan), Some(order)) => {
            let same = find_column(&names, &order.column) == Some(plan.column)
                && sort_key(&columns[plan.column], plan.key) == plan.key;
            if same {
                Some(plan.column)
            } else if order.limit.is_some() {
                drop(result);
                send(Event::Error(format!(
                    "--order-by {}: the statement's columns changed while it was being sorted",
                    order.column
                )))
                .await?;
                return Err(Stop);
            } else {
                None
            }
        }
        _ => None,
    };
    send(Event::Columns { names, sorted }).await?;
    // Rows are read a batch at a time under one timer: the time the server takes counts,
    // the time spent waiting for the printer (in `send`) does not.
    loop {
        let mut batch = Vec::with_capacity(BATCH);
        let clock = Instant::now();
        let read = tokio::time::timeout(timeout.saturating_sub(used), async {
            while batch.len() < BATCH {
                match result.next().await? {
                    Some(row) => batch.push(to_cells(row, &columns)),
                    None => return Ok(true),
                }
            }
            Ok::<bool, mysql_async::Error>(false)
        })
        .await;
        used += clock.elapsed();
        match read {
            Ok(Ok(last)) => {
                if !batch.is_empty() {
                    send(Event::Rows(batch)).await?;
                }
                if last {
                    break;
                }
            }
            Ok(Err(e)) => {
                // The rows before the error were read: they are shown, then the error.
                if !batch.is_empty() {
                    send(Event::Rows(batch)).await?;
                }
                send(Event::Error(e.to_string())).await?;
                return Err(Stop);
            }
            Err(_) => {
                if !batch.is_empty() {
                    send(Event::Rows(batch)).await?;
                }
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

/// Whether and how the world sorts `sql` itself for `--order-by`: when the statement can be
/// a derived table, the world has the column, and the server accepts the sorted statement.
/// Learnt from prepared statements, which the server checks but never runs (a `LIMIT 0`
/// probe would run a derived table without tables, `NEXTVAL` and all). None: the statement
/// runs as given and its rows are sorted here. Err: the connection failed.
async fn plan(conn: &mut Conn, sql: &str, order: &OrderBy) -> Result<Option<Plan>, String> {
    // `world` is the world's name (unless a world has a column of that exact name).
    if order.column.eq_ignore_ascii_case("world") || !pushdown::derived(sql) {
        return Ok(None);
    }
    let Some(columns) = prepared_columns(conn, &pushdown::wrapped(sql)).await? else {
        return Ok(None);
    };
    let names: Vec<String> = columns.iter().map(|c| c.name_str().into_owned()).collect();
    let Some(column) = find_column(&names, &order.column) else {
        return Ok(None);
    };
    let charset = match kind(&columns[column]) {
        Kind::Text => {
            let results: Option<Option<String>> = conn
                .query_first("SELECT @@character_set_results")
                .await
                .map_err(|e| e.to_string())?;
            match pushdown::text_charset(results.flatten().as_deref()) {
                Some(c) => c,
                None => return Ok(None),
            }
        }
        _ => "utf8mb4",
    };
    let key = sort_key(&columns[column], SortKey::Text(charset));
    let sorted = pushdown::sorted(sql, &names[column], key, order.desc, order.limit);
    if prepared_columns(conn, &sorted).await?.is_none() {
        return Ok(None);
    }
    Ok(Some(Plan {
        sql: sorted,
        column,
        key,
    }))
}

/// The columns of `sql` as the server prepares it (never runs it); None if it refuses.
async fn prepared_columns(
    conn: &mut Conn,
    sql: &str,
) -> Result<Option<std::sync::Arc<[Column]>>, String> {
    match conn.prep(sql).await {
        Ok(stmt) => {
            let columns = stmt.columns();
            conn.close(stmt).await.map_err(|e| e.to_string())?;
            Ok(Some(columns))
        }
        Err(mysql_async::Error::Server(_)) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
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
            .map(|(v, c)| Cell::of(v, c)),
    );
    cells
}

/// How a world sorts `column` so that the order is `compare`'s for the cells [`Cell::of`]
/// makes of it; `text` is the key for text.
fn sort_key(column: &Column, text: SortKey) -> SortKey {
    match kind(column) {
        Kind::Integer { .. } | Kind::Written => SortKey::Value,
        Kind::Bytes => SortKey::Bytes,
        Kind::Text => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_order_values_are_shown_around_their_difference() {
        let long = |tail: &str| Cell::Text(format!("{}{tail}", "x".repeat(100)));
        let (before, after, hint) = shown_pair(&long("919"), &long("0"));
        assert_eq!(before, format!("...\"{}919\"", "x".repeat(20)));
        assert_eq!(after, format!("...\"{}0\"", "x".repeat(20)));
        assert!(hint.contains("first 100 bytes") && hint.contains("max_sort_length"));
        let (before, after, hint) = shown_pair(&Cell::Int(3), &Cell::Decimal("2.5".into()));
        assert_eq!(
            (before.as_str(), after.as_str(), hint.as_str()),
            ("3", "2.5", "")
        );
        let (before, _, hint) = shown_pair(&Cell::Text("b".into()), &Cell::Text("a".into()));
        assert_eq!((before.as_str(), hint.as_str()), ("\"b\"", ""));
    }

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
