//! `worlds query` on real worlds: merged rows, every output format parsed back, NULL /
//! unicode / binary / big numbers, ordering and limits, schema drift, SQL from a file or
//! stdin, per-world timeouts that cancel the statement on the server, and a stopped world.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{mysql, repo, stderr, stdout, Login, TestEnv};

const WORLDS3: [&str; 3] = ["host1", "host2", "host3"];

/// One player row as the mysql client shows it: (player_id, player_name, player_score).
type Player = (u64, String, i64);

fn sample() -> String {
    repo().join("dumps").to_str().unwrap().to_string()
}

fn up_sample(t: &TestEnv) {
    let out = t.run(&["up", "--dumps", &sample()]);
    assert!(
        out.status.success() && stdout(&out).contains("3 of 3 worlds ready"),
        "up failed with {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        stdout(&out),
        stderr(&out)
    );
}

/// Rows of a `mysql --batch --raw` answer, without the header line.
fn batch_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .skip(1)
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// Every world's players straight from the server, ordered by id.
fn direct_players(t: &TestEnv, world: &str) -> Vec<Player> {
    let text = t.sql(
        world,
        "SELECT player_id, player_name, player_score FROM game.player ORDER BY player_id",
    );
    let rows: Vec<Player> = batch_rows(&text)
        .into_iter()
        .map(|r| {
            assert_eq!(r.len(), 3, "unexpected mysql output line {r:?} in {text}");
            (
                r[0].parse().expect("id"),
                r[1].clone(),
                r[2].parse().expect("score"),
            )
        })
        .collect();
    assert!(!rows.is_empty(), "{world} has no players: {text}");
    rows
}

/// Run, expecting the given exit code; returns the output.
fn run_code(t: &TestEnv, args: &[&str], code: i32) -> Output {
    let out = t.run(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "worlds {args:?}: expected exit code {code}\nstdout:\n{}\nstderr:\n{}",
        stdout(&out),
        stderr(&out)
    );
    out
}

fn parse_json(out: &Output) -> Value {
    let text = stdout(out);
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{text}\nstderr:\n{}",
            stderr(out)
        )
    })
}

fn columns(v: &Value) -> Vec<String> {
    v["columns"]
        .as_array()
        .unwrap_or_else(|| panic!("no columns array in {v}"))
        .iter()
        .map(|c| c.as_str().expect("column names are strings").to_string())
        .collect()
}

fn rows(v: &Value) -> Vec<Vec<Value>> {
    v["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows array in {v}"))
        .iter()
        .map(|r| r.as_array().expect("a row is an array").clone())
        .collect()
}

fn errors(v: &Value) -> Vec<(String, String)> {
    v["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors array in {v}"))
        .iter()
        .map(|e| {
            (
                e["world"].as_str().expect("error.world").to_string(),
                e["error"].as_str().expect("error.error").to_string(),
            )
        })
        .collect()
}

/// The JSON answer of a player query as (world, player_id, player_name, player_score),
/// insisting on the types.
fn json_players(v: &Value) -> Vec<(String, Player)> {
    rows(v)
        .iter()
        .map(|r| {
            assert_eq!(r.len(), 4, "row {r:?}");
            let id = r[1]
                .as_u64()
                .unwrap_or_else(|| panic!("id is not a JSON number: {r:?}"));
            let score = r[3]
                .as_i64()
                .unwrap_or_else(|| panic!("score is not a JSON number: {r:?}"));
            (
                r[0].as_str().expect("world is a string").to_string(),
                (id, r[2].as_str().expect("name").to_string(), score),
            )
        })
        .collect()
}

fn tagged(world: &str, players: &[Player]) -> Vec<(String, Player)> {
    players
        .iter()
        .map(|p| (world.to_string(), p.clone()))
        .collect()
}

/// The last non-empty line of a text.
fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default()
        .to_string()
}

fn assert_summary(text: &str, answered: usize, worlds: usize, rows: usize) {
    let line = last_line(text);
    let want = format!("{answered} of {worlds} worlds answered, {rows} rows, ");
    assert!(
        line.starts_with(&want),
        "summary line should start with {want:?}, got {line:?} in:\n{text}"
    );
}

/// A merged result as text cells: header first, None for SQL NULL.
type Cells = Vec<Vec<Option<String>>>;

fn json_cells(v: &Value) -> Cells {
    let mut out = vec![columns(v).into_iter().map(Some).collect::<Vec<_>>()];
    for r in rows(v) {
        out.push(
            r.iter()
                .map(|c| match c {
                    Value::Null => None,
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    other => panic!("unexpected JSON value {other} in a row"),
                })
                .collect(),
        );
    }
    out
}

/// One CSV field: whether it was quoted, and its text.
#[derive(Debug, Clone, PartialEq)]
struct CsvField {
    quoted: bool,
    text: String,
}

/// A strict RFC 4180 reader: quoted fields with doubled quotes, embedded commas and line
/// breaks, records ended by CRLF (a bare LF is accepted too).
fn read_csv(input: &str) -> Result<Vec<Vec<CsvField>>, String> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut chars = input.chars().peekable();
    if chars.peek().is_none() {
        return Ok(records);
    }
    loop {
        let mut field = CsvField {
            quoted: false,
            text: String::new(),
        };
        if chars.peek() == Some(&'"') {
            chars.next();
            field.quoted = true;
            loop {
                match chars.next() {
                    None => return Err(format!("unterminated quoted field {:?}", field.text)),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.text.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.text.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                match c {
                    ',' | '\r' | '\n' => break,
                    '"' => return Err(format!("quote inside unquoted field {:?}", field.text)),
                    _ => {
                        field.text.push(c);
                        chars.next();
                    }
                }
            }
        }
        record.push(field);
        match chars.next() {
            Some(',') => {}
            Some('\r') => {
                if chars.next() != Some('\n') {
                    return Err("CR not followed by LF".to_string());
                }
                records.push(std::mem::take(&mut record));
            }
            Some('\n') => records.push(std::mem::take(&mut record)),
            None => {
                records.push(std::mem::take(&mut record));
                break;
            }
            Some(c) => return Err(format!("unexpected {c:?} after a quoted field")),
        }
        if chars.peek().is_none() {
            if !record.is_empty() {
                records.push(record);
            }
            break;
        }
    }
    Ok(records)
}

fn csv_cells(text: &str) -> Cells {
    let records = read_csv(text).unwrap_or_else(|e| panic!("bad CSV ({e}):\n{text}"));
    records
        .into_iter()
        .map(|r| {
            r.into_iter()
                .map(|f| {
                    if f.text.is_empty() && !f.quoted {
                        None
                    } else {
                        Some(f.text)
                    }
                })
                .collect()
        })
        .collect()
}

fn tsv_unescape(field: &str) -> Option<String> {
    if field == "\\N" {
        return None;
    }
    let mut out = String::new();
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('\\') => out.push('\\'),
            other => panic!("bad TSV escape \\{other:?} in {field:?}"),
        }
    }
    Some(out)
}

fn tsv_cells(text: &str) -> Cells {
    assert!(
        text.ends_with('\n'),
        "TSV should end with a newline: {text:?}"
    );
    text.trim_end_matches('\n')
        .split('\n')
        .map(|line| line.split('\t').map(tsv_unescape).collect())
        .collect()
}

/// Ask one formatted query and insist on exit code 0.
fn formatted(t: &TestEnv, format: &str, sql: &str) -> Output {
    run_code(t, &["query", "--format", format, sql], 0)
}

/// How many statements whose text starts with `prefix` run on a server (not counting ours).
fn running(login: &Login, prefix: &str) -> u64 {
    let sql = format!(
        "SELECT COUNT(*) FROM information_schema.processlist \
         WHERE info LIKE '{prefix}%' AND id <> CONNECTION_ID()"
    );
    let text = mysql(login, &sql);
    text.lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected processlist answer {text:?}"))
}

/// Wait (at most `limit`) until no statement starting with `prefix` runs on the world.
fn assert_cancelled(login: &Login, world: &str, prefix: &str, limit: Duration) {
    let start = Instant::now();
    loop {
        let n = running(login, prefix);
        if n == 0 {
            return;
        }
        assert!(
            start.elapsed() < limit,
            "{world}: {n} statement(s) {prefix:?} still run on the server {:?} after the timeout",
            start.elapsed()
        );
        sleep(Duration::from_millis(100));
    }
}

#[test]
fn query_merges_worlds_in_every_format() {
    let t = TestEnv::new("query", 10);
    up_sample(&t);

    let players: Vec<Vec<Player>> = WORLDS3.iter().map(|w| direct_players(&t, w)).collect();
    let expected: Vec<(String, Player)> = WORLDS3
        .iter()
        .zip(&players)
        .flat_map(|(w, p)| tagged(w, p))
        .collect();
    let total = expected.len();

    // 1. Merged rows: tagged with their world, worlds in natural order, each world's own
    //    row order kept, integers as JSON numbers.
    let sql = "SELECT player_id, player_name, player_score FROM player ORDER BY player_id";
    let out = formatted(&t, "json", sql);
    let v = parse_json(&out);
    assert_eq!(
        columns(&v),
        ["world", "player_id", "player_name", "player_score"],
        "{v}"
    );
    assert_eq!(errors(&v), vec![], "{v}");
    assert_eq!(
        json_players(&v),
        expected,
        "merged rows differ from what each world returns directly"
    );
    assert_summary(&stderr(&out), 3, 3, total);
    assert!(
        !stdout(&out).contains("worlds answered"),
        "the summary belongs on stderr for json: {}",
        stdout(&out)
    );

    // --jobs 1 gives the same answer.
    let out = run_code(&t, &["query", "--format", "json", "--jobs", "1", sql], 0);
    assert_eq!(json_players(&parse_json(&out)), expected, "with --jobs 1");

    // The table shows every world and ends with the summary on stdout.
    let out = formatted(&t, "table", sql);
    let table = stdout(&out);
    for w in WORLDS3 {
        assert!(table.contains(w), "table lacks {w}:\n{table}");
    }
    assert_summary(&table, 3, 3, total);

    // Piped without --format: TSV, summary on stderr.
    let out = run_code(&t, &["query", "SELECT COUNT(*) AS n FROM player"], 0);
    let want: String = WORLDS3
        .iter()
        .zip(&players)
        .map(|(w, p)| format!("{w}\t{}\n", p.len()))
        .collect();
    assert_eq!(stdout(&out), format!("world\tn\n{want}"));
    assert_summary(&stderr(&out), 3, 3, 3);

    // 4. CSV and TSV parse back to exactly the JSON answer.
    let json = json_cells(&v);
    let csv = stdout(&formatted(&t, "csv", sql));
    assert!(csv.ends_with("\r\n"), "CSV records end with CRLF: {csv:?}");
    assert_eq!(csv_cells(&csv), json, "CSV differs from JSON:\n{csv}");
    let tsv = stdout(&formatted(&t, "tsv", sql));
    assert_eq!(tsv_cells(&tsv), json, "TSV differs from JSON:\n{tsv}");

    // 8. The statement from --file, and from standard input.
    let counts: Vec<(String, u64)> = WORLDS3
        .iter()
        .zip(&players)
        .map(|(w, p)| (w.to_string(), p.len() as u64))
        .collect();
    let as_counts = |v: &Value| -> Vec<(String, u64)> {
        rows(v)
            .iter()
            .map(|r| {
                (
                    r[0].as_str().unwrap_or_default().to_string(),
                    r[1].as_u64()
                        .unwrap_or_else(|| panic!("count is not a number: {r:?}")),
                )
            })
            .collect()
    };
    let file = t.dir.join("count.sql");
    std::fs::write(
        &file,
        "-- how many players\nSELECT COUNT(*) AS n\n  FROM player;\n",
    )
    .unwrap();
    let out = run_code(
        &t,
        &[
            "query",
            "--format",
            "json",
            "--file",
            file.to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(as_counts(&parse_json(&out)), counts, "--file");

    let mut child = t
        .cmd(&["query", "--format", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn worlds query");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"SELECT COUNT(*) AS n FROM player\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "stdin: {}", stderr(&out));
    assert_eq!(as_counts(&parse_json(&out)), counts, "SQL on stdin");

    let out = run_code(
        &t,
        &["query", "--file", t.dir.join("nope.sql").to_str().unwrap()],
        2,
    );
    assert!(stderr(&out).contains("nope.sql"), "{}", stderr(&out));

    // 6. --order-by/--desc/--limit over all worlds; --worlds restricts; unknown names.
    let mut scores: Vec<i64> = expected.iter().map(|(_, p)| p.2).collect();
    scores.sort_unstable_by(|a, b| b.cmp(a));
    let out = run_code(
        &t,
        &[
            "query",
            "--format",
            "json",
            "--order-by",
            "player_score",
            "--desc",
            "--limit",
            "3",
            "SELECT player_id, player_name, player_score FROM player",
        ],
        0,
    );
    let top = json_players(&parse_json(&out));
    assert_eq!(
        top.iter().map(|(_, p)| p.2).collect::<Vec<_>>(),
        scores[..3].to_vec(),
        "top 3 scores over all worlds: {top:?}"
    );
    for row in &top {
        assert!(expected.contains(row), "{row:?} is not a real row");
    }
    assert_summary(&stderr(&out), 3, 3, 3);

    let out = run_code(
        &t,
        &["query", "--format", "json", "--worlds", "host1,host3", sql],
        0,
    );
    let want: Vec<(String, Player)> =
        [tagged("host1", &players[0]), tagged("host3", &players[2])].concat();
    assert_eq!(
        json_players(&parse_json(&out)),
        want,
        "--worlds host1,host3"
    );
    assert_summary(&stderr(&out), 2, 2, want.len());

    let out = run_code(&t, &["query", "--worlds", "host1,host9", sql], 2);
    assert!(stderr(&out).contains("host9"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    let out = run_code(&t, &["query", "--order-by", "nosuch", sql], 2);
    assert!(stderr(&out).contains("nosuch"), "{}", stderr(&out));

    // 5. NULL, empty string, unicode, a tricky string, exact decimals, the largest
    //    unsigned BIGINT and binary bytes, created through `worlds query` itself.
    let out = formatted(
        &t,
        "json",
        "CREATE TABLE game.rt (id INT PRIMARY KEY, nothing VARCHAR(20) NULL, \
         empty VARCHAR(20) NULL, uni VARCHAR(60) NULL, tricky VARCHAR(60) NULL, \
         amount DECIMAL(22,2) NULL, big BIGINT UNSIGNED NULL, raw VARBINARY(8) NULL) \
         DEFAULT CHARSET = utf8mb4",
    );
    let v = parse_json(&out);
    assert_eq!(columns(&v), ["world", "affected_rows"], "{v}");
    let affected: Vec<Vec<Value>> = WORLDS3
        .iter()
        .map(|w| vec![Value::from(*w), Value::from(0u64)])
        .collect();
    assert_eq!(rows(&v), affected, "CREATE TABLE: {v}");

    let unicode = "🐉 勇者の剣 한글 é";
    let tricky = "a,b \"c\" 'd'\te\nf\\g";
    let out = formatted(
        &t,
        "json",
        &format!(
            "INSERT INTO game.rt (id, nothing, empty, uni, tricky, amount, big, raw) VALUES \
             (1, NULL, '', '{unicode}', CONCAT('a,b \"c\" ''d''', CHAR(9), 'e', CHAR(10), \
             'f', CHAR(92), 'g'), 12345678901234567890.12, 18446744073709551615, 0x00FF275C), \
             (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
        ),
    );
    let v = parse_json(&out);
    assert_eq!(columns(&v), ["world", "affected_rows"], "{v}");
    let affected: Vec<Vec<Value>> = WORLDS3
        .iter()
        .map(|w| vec![Value::from(*w), Value::from(2u64)])
        .collect();
    assert_eq!(rows(&v), affected, "INSERT of 2 rows: {v}");
    assert_summary(&stderr(&out), 3, 3, 3);

    let rt = "SELECT id, nothing, empty, uni, tricky, amount, big, raw FROM game.rt ORDER BY id";
    let v = parse_json(&formatted(&t, "json", rt));
    assert_eq!(
        columns(&v),
        ["world", "id", "nothing", "empty", "uni", "tricky", "amount", "big", "raw"]
    );
    let got = rows(&v);
    assert_eq!(got.len(), 6, "two rows per world: {v}");
    for (i, w) in WORLDS3.iter().enumerate() {
        let full = &got[2 * i];
        assert_eq!(full[0], *w, "{full:?}");
        assert_eq!(full[1].as_u64(), Some(1), "{full:?}");
        assert!(full[2].is_null(), "NULL must be null: {full:?}");
        assert_eq!(full[3], "", "empty string: {full:?}");
        assert_eq!(full[4].as_str(), Some(unicode), "unicode: {full:?}");
        assert_eq!(full[5].as_str(), Some(tricky), "tricky string: {full:?}");
        assert_eq!(
            full[6].as_str(),
            Some("12345678901234567890.12"),
            "decimal keeps its digits as a string: {full:?}"
        );
        assert!(full[7].is_u64(), "BIGINT UNSIGNED is a number: {full:?}");
        assert_eq!(full[7].as_u64(), Some(u64::MAX), "{full:?}");
        assert_eq!(
            full[8].as_str(),
            Some("0x00FF275C"),
            "binary as hex: {full:?}"
        );
        let nulls = &got[2 * i + 1];
        assert_eq!(nulls[0], *w, "{nulls:?}");
        assert_eq!(nulls[1].as_u64(), Some(2), "{nulls:?}");
        assert!(nulls[2..].iter().all(Value::is_null), "{nulls:?}");
    }
    let json = json_cells(&v);

    let csv = stdout(&formatted(&t, "csv", rt));
    let parsed = csv_cells(&csv);
    assert_eq!(parsed, json, "CSV differs from JSON:\n{csv}");
    assert_eq!(
        parsed[1][2], None,
        "NULL is an empty unquoted CSV field:\n{csv}"
    );
    assert_eq!(
        parsed[1][3],
        Some(String::new()),
        "an empty string is \"\" in CSV:\n{csv}"
    );
    assert_eq!(parsed[1][5].as_deref(), Some(tricky), "{csv}");

    let tsv = stdout(&formatted(&t, "tsv", rt));
    let first = tsv.lines().nth(1).unwrap_or_default();
    assert_eq!(
        first,
        format!(
            "host1\t1\t\\N\t\t{unicode}\ta,b \"c\" 'd'\\te\\nf\\\\g\t\
             12345678901234567890.12\t18446744073709551615\t0x00FF275C"
        ),
        "raw TSV line:\n{tsv}"
    );
    assert_eq!(tsv_cells(&tsv), json, "TSV differs from JSON:\n{tsv}");

    // 7. Schema drift: a column only host3 has.
    t.sql(
        "host3",
        "ALTER TABLE game.player ADD COLUMN level INT DEFAULT 7",
    );
    let drift_sql = "SELECT * FROM player ORDER BY player_id";
    let out = formatted(&t, "json", drift_sql);
    let v = parse_json(&out);
    assert_eq!(
        columns(&v),
        [
            "world",
            "player_id",
            "player_name",
            "player_score",
            "updated_at",
            "level"
        ],
        "{v}"
    );
    assert_eq!(errors(&v), vec![], "{v}");
    let got = rows(&v);
    assert_eq!(got.len(), total, "rows of every world: {v}");
    for r in &got {
        let world = r[0].as_str().unwrap();
        assert!(r[4].is_string(), "updated_at: {r:?}");
        if world == "host3" {
            assert_eq!(r[5].as_i64(), Some(7), "host3 level: {r:?}");
        } else {
            assert!(r[5].is_null(), "{world} has no level: {r:?}");
        }
    }
    let got_ids: Vec<(String, u64)> = got
        .iter()
        .map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_u64().unwrap()))
        .collect();
    let want_ids: Vec<(String, u64)> = expected.iter().map(|(w, p)| (w.clone(), p.0)).collect();
    assert_eq!(got_ids, want_ids, "drifted rows keep world and row order");
    let err = stderr(&out);
    assert!(
        err.lines()
            .any(|l| l.contains("host3") && l.contains("level") && l.contains("differ")),
        "stderr should say host3's columns differ:\n{err}"
    );
    let table = stdout(&formatted(&t, "table", drift_sql));
    assert!(
        table
            .lines()
            .any(|l| l.contains("host3") && l.contains("level") && l.contains("differ")),
        "the table should say host3's columns differ:\n{table}"
    );
    assert_summary(&table, 3, 3, total);

    t.ok(&["down"]);
    assert_eq!(t.leftovers(), (0, 0), "containers or volumes left behind");
}

#[test]
fn query_timeouts_and_failing_worlds() {
    let t = TestEnv::new("query-fail", 11);
    up_sample(&t);
    let logins: Vec<Login> = WORLDS3.iter().map(|w| t.login(w)).collect();

    // 3. A statement slower than --timeout is cancelled on the server, in every world.
    let started = Instant::now();
    let mut child = t
        .cmd(&[
            "query",
            "--format",
            "json",
            "--timeout",
            "1",
            "SELECT SLEEP(5)",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn worlds query");
    let mut seen_running = false;
    while !seen_running && child.try_wait().unwrap().is_none() {
        seen_running = running(&logins[0], "SELECT SLEEP(5)") > 0;
        if !seen_running {
            sleep(Duration::from_millis(20));
        }
    }
    let out = child.wait_with_output().unwrap();
    let elapsed = started.elapsed();
    assert_eq!(
        out.status.code(),
        Some(1),
        "timeouts are failures\nstdout:\n{}\nstderr:\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        seen_running,
        "the sleep never showed in host1's processlist while the query ran"
    );
    assert!(
        elapsed < Duration::from_millis(3500),
        "--timeout 1 took {elapsed:?}"
    );
    for (w, login) in WORLDS3.iter().zip(&logins) {
        assert_cancelled(login, w, "SELECT SLEEP(5)", Duration::from_secs(2));
    }
    let v = parse_json(&out);
    assert!(rows(&v).is_empty(), "{v}");
    let errs = errors(&v);
    assert_eq!(
        errs.iter().map(|(w, _)| w.as_str()).collect::<Vec<_>>(),
        WORLDS3,
        "{v}"
    );
    for (w, e) in &errs {
        assert!(
            e.to_lowercase().contains("timed out") || e.to_lowercase().contains("timeout"),
            "{w}: the error should mention the timeout: {e}"
        );
    }
    assert_summary(&stderr(&out), 0, 3, 0);

    // Only host2 is slow: it times out, the others still answer.
    t.sql("host2", "CREATE TABLE game.slow_marker (x INT)");
    let slow = "SELECT (SELECT COUNT(*) FROM player) AS n, SLEEP(IF(EXISTS(SELECT 1 \
                FROM information_schema.tables WHERE table_schema = 'game' \
                AND table_name = 'slow_marker'), 5, 0)) AS slept";
    let started = Instant::now();
    let out = run_code(
        &t,
        &["query", "--format", "json", "--timeout", "2", slow],
        1,
    );
    assert!(
        started.elapsed() < Duration::from_millis(4500),
        "--timeout 2 took {:?}",
        started.elapsed()
    );
    let v = parse_json(&out);
    let answered: Vec<String> = rows(&v)
        .iter()
        .map(|r| r[0].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(answered, ["host1", "host3"], "{v}");
    let errs = errors(&v);
    assert_eq!(errs.len(), 1, "{v}");
    assert_eq!(errs[0].0, "host2", "{v}");
    assert!(errs[0].1.contains("timed out"), "{v}");
    assert_cancelled(
        &logins[1],
        "host2",
        "SELECT (SELECT COUNT(*) FROM player) AS n, SLEEP",
        Duration::from_secs(2),
    );
    assert_summary(&stderr(&out), 2, 3, 2);

    // A server error in some worlds: listed with the server's message, exit 1.
    let out = run_code(
        &t,
        &[
            "query",
            "--format",
            "json",
            "SELECT COUNT(*) AS n FROM slow_marker",
        ],
        1,
    );
    let v = parse_json(&out);
    assert_eq!(rows(&v), vec![vec![Value::from("host2"), Value::from(0)]]);
    let errs = errors(&v);
    assert_eq!(
        errs.iter().map(|(w, _)| w.as_str()).collect::<Vec<_>>(),
        ["host1", "host3"],
        "{v}"
    );
    for (w, e) in &errs {
        assert!(e.contains("slow_marker"), "{w}: {e}");
    }

    // 2. A stopped world: listed under errors, the others' rows still print, exit 1.
    let players: Vec<Vec<Player>> = WORLDS3.iter().map(|w| direct_players(&t, w)).collect();
    let container = t.container("host2");
    let stop = Command::new("docker")
        .args(["stop", "-t", "10", &container])
        .output()
        .expect("docker stop");
    assert!(stop.status.success(), "docker stop: {}", stderr(&stop));

    let sql = "SELECT player_id, player_name, player_score FROM player ORDER BY player_id";
    let out = run_code(&t, &["query", "--format", "json", sql], 1);
    let v = parse_json(&out);
    let want: Vec<(String, Player)> =
        [tagged("host1", &players[0]), tagged("host3", &players[2])].concat();
    assert_eq!(json_players(&v), want, "rows of the running worlds");
    let errs = errors(&v);
    assert_eq!(errs.len(), 1, "{v}");
    assert_eq!(errs[0].0, "host2", "{v}");
    assert!(!errs[0].1.trim().is_empty(), "an empty error message: {v}");
    let err = stderr(&out);
    assert!(
        err.lines()
            .any(|l| l.contains("host2") && l.contains(&errs[0].1)),
        "stderr should list host2's error:\n{err}"
    );
    assert_summary(&err, 2, 3, want.len());

    let out = run_code(&t, &["query", "--format", "table", sql], 1);
    let table = stdout(&out);
    assert!(
        table
            .lines()
            .any(|l| l.contains("host2") && l.contains(&errs[0].1)),
        "the table output should list host2's error:\n{table}"
    );
    assert!(
        table.contains("host1") && table.contains("host3"),
        "{table}"
    );
    assert_summary(&table, 2, 3, want.len());

    t.ok(&["down"]);
    assert_eq!(t.leftovers(), (0, 0), "containers or volumes left behind");
}

/// Several statements in one query text: one session per world (`USE` carries over), every
/// result labelled by its statement, an error in statement 2 of 3 reported once for all the
/// worlds it hit, and the outputs people know (`vertical`, `--no-header`, `--output`).
#[test]
fn several_statements_and_output_options() {
    let t = TestEnv::new("query-multi", 36);
    up_sample(&t);

    // 1. USE carries over to the next statement; each statement has its own result.
    let out = run_code(
        &t,
        &[
            "query",
            "--format",
            "json",
            "USE mysql; SELECT COUNT(*) AS n FROM db WHERE 1 = 0; SELECT DATABASE() AS d",
        ],
        0,
    );
    let v = parse_json(&out);
    let statements = v["statements"].as_array().unwrap_or_else(|| panic!("{v}"));
    assert_eq!(statements.len(), 3, "{v}");
    assert_eq!(statements[0]["sql"], "USE mysql", "{v}");
    assert_eq!(columns(&statements[0]), ["world", "affected_rows"], "{v}");
    assert_eq!(columns(&statements[1]), ["world", "n"], "{v}");
    let zeros: Vec<Vec<Value>> = WORLDS3
        .iter()
        .map(|w| vec![Value::from(*w), Value::from(0)])
        .collect();
    assert_eq!(rows(&statements[1]), zeros, "{v}");
    let dbs: Vec<Vec<Value>> = WORLDS3
        .iter()
        .map(|w| vec![Value::from(*w), Value::from("mysql")])
        .collect();
    assert_eq!(rows(&statements[2]), dbs, "USE must carry over: {v}");
    assert!(stdout(&out).ends_with("]}\n"), "JSON ends with a newline");
    assert_summary(&stderr(&out), 3, 3, 9);

    // 2. An error in statement 2 of 3: reported per world in JSON, once on stderr, and the
    //    statement after it does not run; exit code 1.
    let sql = "SELECT 1 AS a; SELECT * FROM no_such_table; SELECT 3 AS c";
    let out = run_code(&t, &["query", "--format", "json", sql], 1);
    let v = parse_json(&out);
    let statements = v["statements"].as_array().unwrap_or_else(|| panic!("{v}"));
    assert_eq!(rows(&statements[0]).len(), 3, "{v}");
    let second = errors(&statements[1]);
    assert_eq!(second.len(), 3, "{v}");
    assert!(
        second.iter().all(|(_, e)| e.contains("no_such_table")),
        "{v}"
    );
    let third = errors(&statements[2]);
    assert!(
        third
            .iter()
            .all(|(_, e)| e.contains("not run: statement 2 failed")),
        "{v}"
    );
    assert!(rows(&statements[2]).is_empty(), "{v}");
    let err = stderr(&out);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("no_such_table"))
        .collect();
    assert_eq!(
        lines.len(),
        1,
        "one line for the same error of 3 worlds:\n{err}"
    );
    assert!(
        lines[0].contains("host1, host2, host3") && lines[0].contains("statement 2 of 3"),
        "{err}"
    );
    assert_summary(&err, 0, 3, 3);

    // 3. The same from a file, in the table format: each result is labelled.
    let file = t.dir.join("investigate.sql");
    std::fs::write(
        &file,
        "-- how many players\nSELECT COUNT(*) AS players FROM player;\n\nSELECT MAX(player_score) AS best FROM player;\n",
    )
    .unwrap();
    let out = run_code(
        &t,
        &[
            "query",
            "--format",
            "table",
            "--file",
            file.to_str().unwrap(),
        ],
        0,
    );
    let table = stdout(&out);
    assert!(
        table.contains("statement 1 of 2: SELECT COUNT(*) AS players"),
        "{table}"
    );
    assert!(
        table.contains("statement 2 of 2: SELECT MAX(player_score) AS best"),
        "{table}"
    );
    assert!(
        table.contains("players") && table.contains("best"),
        "{table}"
    );

    // 4. Vertical output, like \G.
    let out = run_code(
        &t,
        &[
            "query",
            "--format",
            "vertical",
            "SELECT player_id, player_name FROM player WHERE player_id = 1",
        ],
        0,
    );
    let text = stdout(&out);
    assert!(
        text.contains("*************************** 1. row ***************************"),
        "{text}"
    );
    assert!(
        text.contains("world: host1") && text.contains("world: host3"),
        "{text}"
    );
    assert!(text.contains("  player_id: 1"), "{text}");

    // 5. --no-header and --output.
    let out = run_code(
        &t,
        &[
            "query",
            "--format",
            "tsv",
            "--no-header",
            "SELECT player_id FROM player WHERE player_id = 1",
        ],
        0,
    );
    assert_eq!(stdout(&out), "host1\t1\nhost2\t1\nhost3\t1\n");
    let target = t.dir.join("out.csv");
    let out = run_code(
        &t,
        &[
            "query",
            "--format",
            "csv",
            "--output",
            target.to_str().unwrap(),
            "SELECT player_id FROM player WHERE player_id = 1",
        ],
        0,
    );
    assert_eq!(stdout(&out), "");
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        "world,player_id\r\nhost1,1\r\nhost2,1\r\nhost3,1\r\n"
    );
    assert_summary(&stderr(&out), 3, 3, 3);

    // 6. A result larger than any buffer streams through, grouped by world in order.
    let out = run_code(
        &t,
        &[
            "query",
            "--format",
            "tsv",
            "--no-header",
            "SELECT seq FROM seq_1_to_50000",
        ],
        0,
    );
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 150_000);
    assert_eq!(lines[0], "host1\t1");
    assert_eq!(lines[49_999], "host1\t50000");
    assert_eq!(lines[50_000], "host2\t1");
    assert_eq!(lines[149_999], "host3\t50000");

    t.ok(&["down"]);
}
