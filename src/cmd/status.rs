//! `worlds status`: one row per world, from Docker labels, restore records and the servers.
//! The table fits the terminal (80 columns when not on one); `--wide` shows every column.

use std::collections::BTreeMap;
use std::io::IsTerminal;

use anyhow::Result;
use comfy_table::{ColumnConstraint, Row, Table, Width};
use serde::Serialize;

use crate::cli::{Format, StatusArgs};
use crate::config::Config;
use crate::engine::Engine;
use crate::environment::state::State;
use crate::environment::{self, World};
use crate::error::escape;
use crate::output::{human_bytes, human_duration, print, print_json, table};
use crate::state::EnvDir;

/// Width of the table when stdout is not a terminal and `COLUMNS` does not say.
const DEFAULT_WIDTH: usize = 80;

#[derive(Serialize)]
struct StatusJson<'a> {
    env: &'a str,
    worlds: Vec<WorldJson<'a>>,
}

/// One world. The first seven keys are a stable contract; new keys are only ever added.
#[derive(Serialize)]
struct WorldJson<'a> {
    world: &'a str,
    state: &'a str,
    container: &'a str,
    host: &'a str,
    port: u16,
    dump: &'a str,
    timestamp: &'a str,
    /// Rows per `db.table`, verified in the world (empty until a restore finished).
    rows: BTreeMap<&'a str, u64>,
    /// Seconds spent loading and verifying the dump once the server was up.
    restore_seconds: Option<f64>,
    /// Why the restore failed.
    error: Option<&'a str>,
    /// The dumps folder the dump came from (canonical path).
    dumps_dir: &'a str,
    /// The table filter of a partial restore (`null`: every table's data).
    partial: Option<PartialJson<'a>>,
    /// Id of the snapshot that holds this world's data as restored (`null`: none).
    snapshot: Option<&'a str>,
    /// When the world was started from a snapshot: when that snapshot was taken (RFC 3339;
    /// `null`: restored from its dump).
    from_snapshot: Option<&'a str>,
}

/// A restore with a table filter: the filter, and once verified what it loaded.
#[derive(Serialize)]
struct PartialJson<'a> {
    /// `--tables` globs (empty: every table), normalized to lower case.
    tables: &'a [String],
    /// `--skip-tables` globs.
    skip_tables: &'a [String],
    /// Tables whose data was loaded (`null` until the restore is verified).
    tables_loaded: Option<usize>,
    /// Every table of the dump (`null` until the restore is verified).
    tables_total: Option<usize>,
    /// Tables whose data was left out, with the rows the dump has for them; each was
    /// verified empty in the world.
    skipped_tables: BTreeMap<&'a str, u64>,
}

fn partial_json(w: &World) -> Option<PartialJson<'_>> {
    let r = w.record.as_ref()?;
    let filter = r.tables_filter.as_ref().filter(|f| !f.is_all())?;
    let done = r.partial();
    Some(PartialJson {
        tables: &filter.tables,
        skip_tables: &filter.skip_tables,
        tables_loaded: done.map(|p| p.loaded),
        tables_total: done.map(|p| p.total),
        skipped_tables: r
            .skipped_tables
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect(),
    })
}

/// The state as the table shows it: `ready (from snapshot, 3 h old)` for a world started
/// from a snapshot, `ready (partial: 2 of 5 tables)` for a partial restore.
fn state_text(w: &World) -> String {
    if w.state != State::Ready {
        return w.state.name().to_string();
    }
    let record = w.record.as_ref();
    let snapshot = record
        .and_then(|r| r.from_snapshot.as_deref())
        .map(|taken| {
            let age = crate::snapshot::parse_time(taken)
                .map(|t| format!(", {} old", crate::snapshot::age(t, chrono::Utc::now())))
                .unwrap_or_default();
            format!("from snapshot{age}")
        });
    let partial = record.and_then(|r| r.partial()).map(|p| p.describe());
    let notes: Vec<String> = [snapshot, partial].into_iter().flatten().collect();
    if notes.is_empty() {
        "ready".to_string()
    } else {
        format!("ready ({})", notes.join("; "))
    }
}

fn world_json(w: &World) -> WorldJson<'_> {
    WorldJson {
        world: w.name(),
        state: w.state.name(),
        container: &w.container.name,
        host: "127.0.0.1",
        port: w.container.port,
        dump: &w.container.dump,
        timestamp: &w.container.dump_timestamp,
        rows: w
            .record
            .as_ref()
            .map(|r| r.rows.iter().map(|(k, v)| (k.as_str(), *v)).collect())
            .unwrap_or_default(),
        restore_seconds: w.record.as_ref().and_then(|r| r.restore_seconds),
        error: match &w.state {
            State::Failed(reason) => Some(reason),
            _ => None,
        },
        dumps_dir: &w.container.dumps_dir,
        partial: partial_json(w),
        snapshot: w.record.as_ref().and_then(|r| r.snapshot.as_deref()),
        from_snapshot: w.record.as_ref().and_then(|r| r.from_snapshot.as_deref()),
    }
}

pub async fn run(config: &Config, args: &StatusArgs) -> Result<i32> {
    let engine = Engine::connect().await?;
    environment::known::require(&engine, config).await?;
    let all = environment::load(&engine, &config.env, &EnvDir::new(config.env_dir())).await?;
    let worlds: Vec<World> = environment::select(&all, &args.worlds.worlds, &config.env)?
        .into_iter()
        .cloned()
        .collect();
    match args.format {
        Format::Json => print_json(&StatusJson {
            env: &config.env,
            worlds: worlds.iter().map(world_json).collect(),
        })?,
        Format::Table if args.wide => print(&render_wide(&config.env, &worlds))?,
        Format::Table => print(&render(&config.env, &worlds, width()))?,
    }
    Ok(0)
}

/// The width to fit off a terminal: `COLUMNS`, else 80. `None` on a terminal, whose width
/// the table finds itself.
fn width() -> Option<usize> {
    if std::io::stdout().is_terminal() {
        return None;
    }
    Some(
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse::<usize>().ok())
            .filter(|&c| c >= 20)
            .unwrap_or(DEFAULT_WIDTH),
    )
}

/// The distinct dumps folders of the worlds.
fn folders(worlds: &[World]) -> Vec<&str> {
    let mut folders: Vec<&str> = worlds
        .iter()
        .map(|w| w.container.dumps_dir.as_str())
        .collect();
    folders.sort();
    folders.dedup();
    folders
}

/// `text` cut to `width` characters, keeping its end (`…/backups/dumps`).
pub fn keep_end(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width {
        return text.to_string();
    }
    let keep = width.saturating_sub(1);
    let tail: String = text.chars().skip(n - keep).collect();
    format!("…{tail}")
}

/// `text` cut to `width` characters, keeping its start (`host1 is failed: cannot…`).
pub fn keep_start(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let head: String = text.chars().take(width.saturating_sub(1)).collect();
    format!("{head}…")
}

/// How long the restore took, or since when it runs.
fn took(w: &World) -> String {
    match &w.record {
        Some(r) => match r.seconds {
            Some(s) => human_duration(std::time::Duration::from_secs_f64(s.max(0.0))),
            None => format!("since {}", time_of_day(&r.started)),
        },
        None => "-".to_string(),
    }
}

/// `21:13:05` of `2024-06-18T21:13:05+02:00`.
fn time_of_day(rfc3339: &str) -> &str {
    rfc3339
        .split_once('T')
        .map(|(_, t)| t.get(..8).unwrap_or(t))
        .unwrap_or(rfc3339)
}

/// The essential columns, one line per world, fitted to `width` (the terminal's if `None`).
fn render(env: &str, worlds: &[World], width: Option<usize>) -> String {
    if worlds.is_empty() {
        return format!("environment {env} has no worlds; start them with `worlds up`");
    }
    let fit = |line: String| match width {
        Some(w) => keep_start(&line, w),
        None => line,
    };
    let folders = folders(worlds);
    let mut out = fit(format!("environment {env}, servers on 127.0.0.1"));
    out.push('\n');
    let label = "dumps folder: ";
    if folders.len() == 1 {
        let room = width.map_or(usize::MAX, |w| w.saturating_sub(label.len()));
        out.push_str(&format!("{label}{}\n", keep_end(&escape(folders[0]), room)));
    } else {
        out.push_str(&fit(format!(
            "dumps from {} folders (`worlds status --wide` shows them)",
            folders.len()
        )));
        out.push('\n');
    }
    let header = ["world", "state", "port", "dump time", "rows", "took"];
    let mut t = table(&header);
    let mut failures = Vec::new();
    let mut lines = Vec::new();
    for w in worlds {
        // Reasons are messages, shown whole below the table.
        if let Some(reason) = w.state.reason() {
            failures.push(format!(
                "{} is {}: {}",
                escape(w.name()),
                w.state.name(),
                escape(reason)
            ));
        }
        let rows = w
            .record
            .as_ref()
            .map_or("-".to_string(), |r| r.total_rows().to_string());
        lines.push(vec![
            escape(w.name()),
            state_text(w),
            w.container.port.to_string(),
            w.container.dump_timestamp.replace('T', " "),
            rows,
            took(w),
        ]);
    }
    // A terminal that does not say its width (or a silly one) gets 80 columns.
    let width = width
        .or_else(|| t.width().map(usize::from).filter(|&w| w >= 20))
        .unwrap_or(DEFAULT_WIDTH);
    t.set_width(u16::try_from(width).unwrap_or(u16::MAX));
    // The world's name gives way first; the other columns are short and fixed.
    let max = |lines: &[Vec<String>], i: usize| {
        lines
            .iter()
            .map(|l: &Vec<String>| l[i].chars().count())
            .chain([header[i].len()])
            .max()
            .unwrap_or(0)
    };
    let mut others: usize = (1..header.len()).map(|i| max(&lines, i)).sum();
    let borders = 3 * header.len() + 1;
    // `ready (partial: 2 of 5 tables)` is long: where it would squeeze the world's name
    // (or not fit at all), the cell says `ready (partial)` (or `ready (snapshot)`) and a
    // line below says the rest.
    let names = max(&lines, 0).min(12);
    let mut partial_notes = Vec::new();
    if others + borders + names > width {
        for (w, line) in worlds.iter().zip(lines.iter_mut()) {
            let Some(r) = w.record.as_ref().filter(|_| w.state == State::Ready) else {
                continue;
            };
            let partial = r.partial();
            if partial.is_none() && r.from_snapshot.is_none() {
                continue;
            }
            let full = line[1].clone();
            line[1] = if partial.is_some() {
                "ready (partial)".to_string()
            } else {
                "ready (snapshot)".to_string()
            };
            let filter = if partial.is_some() {
                format!(", {}", r.filter().describe())
            } else {
                String::new()
            };
            let full = match full.strip_suffix(')') {
                Some(open) => format!("{open}{filter})"),
                None => full,
            };
            partial_notes.push(format!("{} is {full}", escape(w.name())));
        }
        others = (1..header.len()).map(|i| max(&lines, i)).sum();
    }
    let room = width.saturating_sub(others + borders).max(6);
    if let Some(column) = t.column_mut(0) {
        column.set_constraint(ColumnConstraint::UpperBoundary(Width::Fixed(
            u16::try_from(room).unwrap_or(u16::MAX),
        )));
    }
    let mut head = Row::from(header);
    head.max_height(1);
    t.set_header(head);
    for line in lines {
        add_line(&mut t, line);
    }
    out.push_str(&format!("{t}\n"));
    // Messages, shown whole.
    for line in partial_notes.into_iter().chain(failures) {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// A row that never wraps: what does not fit is cut with `…`.
fn add_line(t: &mut Table, cells: Vec<String>) {
    let mut row = Row::from(cells);
    row.max_height(1);
    t.add_row(row);
}

/// Every column, as wide as it takes.
fn render_wide(env: &str, worlds: &[World]) -> String {
    if worlds.is_empty() {
        return format!("environment {env} has no worlds; start them with `worlds up`");
    }
    let folders = folders(worlds);
    let one_folder = folders.len() == 1;
    let mut header = vec![
        "world",
        "state",
        "container",
        "address",
        "dump file",
        "dump time",
    ];
    if !one_folder {
        header.push("dumps folder");
    }
    header.extend(["rows", "restore"]);
    let mut t = table(&header);
    let mut failures = Vec::new();
    for w in worlds {
        let (rows, restore) = match &w.record {
            Some(r) => (
                r.total_rows().to_string(),
                match r.seconds {
                    Some(s) => format!("{:.1} s, {} of SQL", s, human_bytes(r.sql_bytes)),
                    None => format!("since {}", r.started.replace('T', " ")),
                },
            ),
            None => ("-".to_string(), "-".to_string()),
        };
        if let Some(reason) = w.state.reason() {
            failures.push((escape(w.name()), w.state.name(), reason.to_string()));
        }
        let mut row = vec![
            escape(w.name()),
            state_text(w),
            w.container.name.clone(),
            format!("127.0.0.1:{}", w.container.port),
            escape(&w.container.dump),
            w.container.dump_timestamp.replace('T', " "),
        ];
        if !one_folder {
            row.push(escape(&w.container.dumps_dir));
        }
        row.extend([rows, restore]);
        t.add_row(row);
    }
    let mut out = format!("environment {env}\n");
    if one_folder {
        out.push_str(&format!("dumps folder: {}\n", escape(folders[0])));
    }
    out.push_str(&format!("{t}\n"));
    for (name, state, reason) in failures {
        out.push_str(&format!("{name} is {state}: {}\n", escape(&reason)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Flavor;
    use crate::environment::record::{Outcome, Record};

    fn world(name: &str, state: State, port: u16) -> World {
        World {
            container: crate::engine::WorldContainer {
                id: format!("id-{name}"),
                name: format!("worlds.default.{name}"),
                env: "default".into(),
                world: name.into(),
                dump: format!("{name}_fulldump_20240618_211313.sql.gz"),
                dump_path: format!("/srv/dumps/{name}_fulldump_20240618_211313.sql.gz"),
                dump_timestamp: "2024-06-18T21:13:13".into(),
                dump_size: 1000,
                flavor: Flavor::Mariadb,
                port,
                project: "/srv".into(),
                dumps_dir: "/srv/backups/game/dumps".into(),
                at: String::new(),
                dump_id: String::new(),
                session: "s1".into(),
                running: true,
                docker_state: "running".into(),
                status: String::new(),
            },
            record: Some(Record {
                outcome: Outcome::Ready,
                session: "s1".into(),
                dump: String::new(),
                dump_path: String::new(),
                size_bytes: 1000,
                started: "2024-06-19T08:00:00+00:00".into(),
                finished: None,
                seconds: Some(9.84),
                restore_seconds: Some(7.5),
                error: None,
                rows: BTreeMap::from([
                    ("game.player".to_string(), 812_000),
                    ("game.guild".to_string(), 4),
                ]),
                sql_bytes: 98_100_000,
                statements: 900,
                tables_filter: None,
                skipped_tables: BTreeMap::new(),
                snapshot: None,
                from_snapshot: None,
            }),
            password: None,
            state,
        }
    }

    fn lines(text: &str) -> Vec<&str> {
        text.lines().collect()
    }

    #[test]
    fn the_default_table_fits_80_columns_one_line_per_world() {
        let worlds = vec![
            world("host1", State::Ready, 33061),
            world("eu-west-with-a-long-name", State::Creating, 33062),
            world("host10", State::Failed("boom".into()), 33063),
        ];
        let text = render("default", &worlds, Some(80));
        for line in lines(&text) {
            assert!(line.chars().count() <= 80, "too wide: {line:?}\n{text}");
        }
        let rows: Vec<&str> = lines(&text)
            .into_iter()
            .filter(|l| l.starts_with('│'))
            .collect();
        assert_eq!(rows.len(), 4, "header + one line per world:\n{text}");
        assert!(
            rows[1].contains("host1") && rows[1].contains("33061"),
            "{text}"
        );
        assert!(
            rows[1].contains("812004") && rows[1].contains("9.8 s"),
            "{text}"
        );
        assert!(
            text.contains("dumps folder: /srv/backups/game/dumps"),
            "{text}"
        );
        assert!(text.contains("host10 is failed: boom"), "{text}");
        assert!(!text.contains("worlds.default.host1"), "{text}");
    }

    #[test]
    fn a_narrow_width_cuts_cells_instead_of_wrapping() {
        let worlds = vec![world("a-very-long-world-name-indeed", State::Ready, 33061)];
        let text = render("default", &worlds, Some(50));
        for line in lines(&text) {
            assert!(line.chars().count() <= 50, "too wide: {line:?}\n{text}");
        }
        assert_eq!(
            lines(&text).iter().filter(|l| l.starts_with('│')).count(),
            2
        );
        assert!(text.contains('…'), "{text}");
    }

    #[test]
    fn wide_shows_every_column() {
        let worlds = vec![world("host1", State::Ready, 33061)];
        let text = render_wide("default", &worlds);
        for word in [
            "container",
            "worlds.default.host1",
            "127.0.0.1:33061",
            "host1_fulldump_20240618_211313.sql.gz",
            "98.1 MB of SQL",
        ] {
            assert!(text.contains(word), "no {word}:\n{text}");
        }
    }

    #[test]
    fn json_keeps_the_old_keys_and_adds_the_record() {
        let mut failed = world("host2", State::Failed("row counts differ".into()), 33062);
        if let Some(r) = failed.record.as_mut() {
            r.restore_seconds = None;
        }
        let ready = world("host1", State::Ready, 33061);
        let json = serde_json::to_value(vec![world_json(&ready), world_json(&failed)]).unwrap();
        let keys: Vec<&str> = json[0]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for key in [
            "world",
            "state",
            "container",
            "host",
            "port",
            "dump",
            "timestamp",
            "rows",
            "restore_seconds",
            "error",
            "dumps_dir",
            "partial",
        ] {
            assert!(keys.contains(&key), "no {key} in {keys:?}");
        }
        assert_eq!(json[0]["rows"]["game.player"], 812_000);
        assert_eq!(json[0]["restore_seconds"], 7.5);
        assert_eq!(json[0]["error"], serde_json::Value::Null);
        assert_eq!(json[0]["dumps_dir"], "/srv/backups/game/dumps");
        assert_eq!(json[1]["error"], "row counts differ");
        assert_eq!(json[1]["restore_seconds"], serde_json::Value::Null);
        assert_eq!(json[0]["partial"], serde_json::Value::Null);
    }

    #[test]
    fn a_partial_restore_says_so_in_the_table_and_in_json() {
        let mut w = world("host1", State::Ready, 33061);
        if let Some(r) = w.record.as_mut() {
            r.tables_filter = Some(
                crate::filter::TableFilter::new(
                    &["player".into(), "guild".into()],
                    &[],
                    ("--tables", "--skip-tables"),
                )
                .unwrap(),
            );
            r.skipped_tables = BTreeMap::from([
                ("game.event_log".to_string(), 900),
                ("game.inventory".to_string(), 50),
                ("game.audit".to_string(), 0),
            ]);
        }
        let text = render("default", std::slice::from_ref(&w), Some(100));
        assert!(text.contains("ready (partial: 2 of 5 tables)"), "{text}");
        // In 80 columns the cell is short and a line below the table says the rest.
        let text = render("default", std::slice::from_ref(&w), Some(80));
        for line in lines(&text) {
            assert!(line.chars().count() <= 80, "too wide: {line:?}\n{text}");
        }
        assert!(text.contains("│ host1 ┆ ready (partial) "), "{text}");
        assert!(
            text.contains("host1 is ready (partial: 2 of 5 tables, --tables guild,player)"),
            "{text}"
        );
        let text = render_wide("default", std::slice::from_ref(&w));
        assert!(text.contains("ready (partial: 2 of 5 tables)"), "{text}");
        let json = serde_json::to_value(world_json(&w)).unwrap();
        assert_eq!(json["state"], "ready");
        assert_eq!(
            json["partial"],
            serde_json::json!({
                "tables": ["guild", "player"],
                "skip_tables": [],
                "tables_loaded": 2,
                "tables_total": 5,
                "skipped_tables": {"game.audit": 0, "game.event_log": 900, "game.inventory": 50},
            })
        );
        // While restoring: the filter, no counts yet.
        if let Some(r) = w.record.as_mut() {
            r.outcome = Outcome::Restoring;
            r.skipped_tables.clear();
        }
        w.state = State::Restoring;
        let json = serde_json::to_value(world_json(&w)).unwrap();
        assert_eq!(json["partial"]["tables_loaded"], serde_json::Value::Null);
        assert!(!render("default", &[w], Some(100)).contains("partial"));
    }

    #[test]
    fn cutting_keeps_the_informative_end() {
        assert_eq!(
            keep_end("/srv/backups/game/dumps", 40),
            "/srv/backups/game/dumps"
        );
        assert_eq!(keep_end("/srv/backups/game/dumps", 12), "…/game/dumps");
        assert_eq!(keep_start("host1 is failed", 8), "host1 i…");
        assert_eq!(keep_start("ü-world", 7), "ü-world");
        assert_eq!(time_of_day("2024-06-19T08:00:00+00:00"), "08:00:00");
        assert_eq!(time_of_day("garbage"), "garbage");
    }
}
