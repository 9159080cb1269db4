//! `worlds query --order-by` on real worlds: each world sorts (and cuts to `--limit`) its own
//! rows, and the merged order equals the client-side order of the unordered rows for every
//! kind of column; the worlds really send only their best rows; statements a world cannot
//! sort still come out right; results larger than any cap stream; a world's rows out of
//! order stop the query; `--parallel 1` cannot deadlock; a world lost mid-stream is reported.

mod common;

use std::cmp::Ordering;
use std::io::Read;
use std::process::{Output, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::Value;
use worlds::query::{compare, Cell};

use common::{repo, stderr, stdout, TestEnv};

const WORLDS3: [&str; 3] = ["host1", "host2", "host3"];

fn up_sample(t: &TestEnv) {
    let dumps = repo().join("dumps");
    let out = t.run(&["up", "--dumps", dumps.to_str().unwrap()]);
    assert!(
        out.status.success() && stdout(&out).contains("3 of 3 worlds ready"),
        "up failed with {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        stdout(&out),
        stderr(&out)
    );
}

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

/// Run within `limit` (a hang is a failure), expecting the exit code.
fn run_within(t: &TestEnv, args: &[&str], code: i32, limit: Duration) -> Output {
    let mut child = t
        .cmd(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn worlds");
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        out.read_to_end(&mut v).map(|_| v)
    });
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("worlds {args:?} still runs after {limit:?}");
        }
        sleep(Duration::from_millis(50));
    }
    let status = child.wait().unwrap();
    let mut err = Vec::new();
    child.stderr.take().unwrap().read_to_end(&mut err).unwrap();
    let out = Output {
        status,
        stdout: reader.join().unwrap().unwrap(),
        stderr: err,
    };
    assert_eq!(
        out.status.code(),
        Some(code),
        "worlds {args:?}\nstderr:\n{}",
        stderr(&out)
    );
    out
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&stdout(out))
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", stdout(out), stderr(out)))
}

fn rows(v: &Value) -> Vec<Vec<Value>> {
    v["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows in {v}"))
        .iter()
        .map(|r| r.as_array().unwrap().clone())
        .collect()
}

/// What the values of a column are, to rebuild the cells `worlds` compares.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Integer,
    Written,
    Text,
    Bytes,
}

fn cell(kind: Kind, v: &Value) -> Cell {
    match (kind, v) {
        (_, Value::Null) => Cell::Null,
        (Kind::Integer, Value::Number(n)) => match n.as_i64() {
            Some(i) => Cell::Int(i),
            None => Cell::UInt(n.as_u64().expect("an integer")),
        },
        (Kind::Written, Value::String(s)) => Cell::Decimal(s.clone()),
        (Kind::Text, Value::String(s)) => Cell::Text(s.clone()),
        (Kind::Bytes, Value::String(s)) => {
            let hex = s.strip_prefix("0x").expect("binary as 0x hex");
            Cell::Bytes(
                (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                    .collect(),
            )
        }
        other => panic!("unexpected {other:?}"),
    }
}

/// The client-side order: the unordered rows (world by world, as each world sent them)
/// sorted stably by the column, as (world, value); then the first `limit`.
fn expected(
    unordered: &[Vec<Value>],
    kind: Kind,
    desc: bool,
    limit: Option<usize>,
) -> Vec<(String, Value)> {
    let mut all: Vec<(Cell, (String, Value))> = unordered
        .iter()
        .map(|r| {
            (
                cell(kind, &r[2]),
                (r[0].as_str().unwrap().to_string(), r[2].clone()),
            )
        })
        .collect();
    all.sort_by(|a, b| {
        let o = compare(&a.0, &b.0);
        if desc {
            o.reverse()
        } else {
            o
        }
    });
    all.into_iter()
        .map(|(_, wv)| wv)
        .take(limit.unwrap_or(usize::MAX))
        .collect()
}

/// A small deterministic generator.
struct Lcg(u64);

impl Lcg {
    fn pick<'a>(&mut self, pool: &[&'a str]) -> &'a str {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        pool[((self.0 >> 33) as usize) % pool.len()]
    }
}

/// Columns of the `mix` table: name, SQL type, kind, pool of SQL values.
fn columns() -> Vec<(&'static str, &'static str, Kind, Vec<&'static str>)> {
    vec![
        (
            "i",
            "BIGINT",
            Kind::Integer,
            vec![
                "NULL",
                "0",
                "-1",
                "1",
                "42",
                "7",
                "7",
                "-9223372036854775808",
                "9223372036854775807",
            ],
        ),
        (
            "u",
            "BIGINT UNSIGNED",
            Kind::Integer,
            vec![
                "NULL",
                "0",
                "5",
                "5",
                "9223372036854775808",
                "18446744073709551615",
            ],
        ),
        (
            "dec",
            "DECIMAL(30,10)",
            Kind::Written,
            vec![
                "NULL",
                "0",
                "-1.5",
                "-1.25",
                "10",
                "9.99",
                "2.5",
                "-0.0000000001",
                "12345678901234567890.123456789",
            ],
        ),
        (
            "dbl",
            "DOUBLE",
            Kind::Written,
            vec![
                "NULL",
                "1e20",
                "1.2345678901234567e19",
                "123456789012345680000",
                "-1.5e-7",
                "0.1",
                "1e-300",
                "3",
                "2.5",
                "-1e308",
                "0",
            ],
        ),
        (
            "flt",
            "FLOAT",
            Kind::Written,
            vec![
                "NULL",
                "3.4e38",
                "1e-30",
                "0.3333333",
                "16777217",
                "-2.5",
                "0",
            ],
        ),
        (
            "vc",
            "VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
            Kind::Text,
            vec![
                "NULL",
                "'10'",
                "'9'",
                "'9.5'",
                "'-1'",
                "'a'",
                "'a '",
                "'A'",
                "'é'",
                "'e'",
                "'E'",
                "'ä'",
                "'z'",
                "''",
                "'abc  '",
                "'Zebra'",
                "CONCAT('a', CHAR(9))",
            ],
        ),
        (
            "dt",
            "DATE",
            Kind::Text,
            vec![
                "NULL",
                "'2024-01-01'",
                "'2024-01-02'",
                "'1999-12-31'",
                "'1000-01-01'",
                "'9999-12-31'",
            ],
        ),
        (
            "tm",
            "TIME",
            Kind::Text,
            vec![
                "NULL",
                "'-01:00:00'",
                "'100:00:00'",
                "'00:00:00'",
                "'-838:59:59'",
                "'838:59:59'",
                "'09:00:00'",
                "'10:00:00'",
                "'-00:00:01'",
            ],
        ),
        (
            "lt",
            "LONGTEXT",
            Kind::Text,
            vec![
                "NULL",
                "CONCAT(REPEAT('x', 2000), 'a')",
                "CONCAT(REPEAT('x', 2000), 'b')",
                "CONCAT(REPEAT('x', 2000), 'B')",
                "CONCAT(REPEAT('x', 2000), ' ')",
                "REPEAT('x', 2000)",
                "'y'",
            ],
        ),
        (
            "vb",
            "VARBINARY(10)",
            Kind::Bytes,
            vec![
                "NULL", "X''", "X'00'", "X'0020'", "X'FF'", "X'61'", "X'6120'", "X'6100'",
            ],
        ),
        (
            "en",
            "ENUM('z','a','m')",
            Kind::Text,
            vec!["NULL", "'z'", "'a'", "'m'"],
        ),
    ]
}

/// Fill `game.mix` with different rows in every world.
fn create_mix(t: &TestEnv) {
    let cols = columns();
    let defs: Vec<String> = cols
        .iter()
        .map(|(name, ty, _, _)| format!("`{name}` {ty} NULL"))
        .collect();
    for (w, world) in WORLDS3.iter().enumerate() {
        let mut rng = Lcg(w as u64 + 11);
        let rows: Vec<String> = (1..=40)
            .map(|id| {
                let values: Vec<&str> = cols.iter().map(|c| rng.pick(&c.3)).collect();
                format!("({id}, {})", values.join(", "))
            })
            .collect();
        t.sql(
            world,
            &format!(
                "CREATE TABLE game.mix (id INT PRIMARY KEY, {}) DEFAULT CHARSET = utf8mb4; \
                 INSERT INTO game.mix VALUES {}",
                defs.join(", "),
                rows.join(", ")
            ),
        );
    }
}

#[test]
fn worlds_sort_every_kind_of_column_as_the_merge_does() {
    let t = TestEnv::new("order-kinds", 38);
    up_sample(&t);
    create_mix(&t);

    for (name, _, kind, _) in columns() {
        let sql = format!("SELECT id, `{name}` FROM mix");
        let unordered = rows(&json(&run_code(
            &t,
            &["query", "--format", "json", &sql],
            0,
        )));
        assert_eq!(unordered.len(), 120, "{name}");
        for desc in [false, true] {
            for limit in [None, Some(7)] {
                let mut args = vec!["-v", "query", "--format", "json", "--order-by", name];
                if desc {
                    args.push("--desc");
                }
                let n = limit.map(|n| n.to_string());
                if let Some(n) = &n {
                    args.extend(["--limit", n.as_str()]);
                }
                args.push(&sql);
                let out = run_code(&t, &args, 0);
                let got = rows(&json(&out));
                for r in &got {
                    assert!(unordered.contains(r), "{r:?} is not a row of {name}");
                }
                let got: Vec<(String, Value)> = got
                    .iter()
                    .map(|r| (r[0].as_str().unwrap().to_string(), r[2].clone()))
                    .collect();
                let want = expected(&unordered, kind, desc, limit);
                assert_eq!(
                    got, want,
                    "--order-by {name} desc={desc} limit={limit:?}: the merged order differs \
                     from the client-side order"
                );
                let err = stderr(&out);
                for w in WORLDS3 {
                    assert!(
                        err.contains(&format!("{w}: sorted by the world: SELECT * FROM")),
                        "{name}: {w} should sort the statement itself:\n{err}"
                    );
                }
            }
        }
    }

    // A world whose columns differ still lines up, and the merge still holds.
    t.sql(
        "host2",
        "ALTER TABLE game.mix ADD COLUMN extra INT DEFAULT 3",
    );
    let out = run_code(
        &t,
        &[
            "query",
            "--format",
            "json",
            "--order-by",
            "dbl",
            "--desc",
            "SELECT * FROM mix",
        ],
        0,
    );
    let v = json(&out);
    let header: Vec<&str> = v["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(header.last(), Some(&"extra"), "{header:?}");
    let at = header.iter().position(|c| *c == "dbl").unwrap();
    let got = rows(&v);
    assert_eq!(got.len(), 120);
    for pair in got.windows(2) {
        let (a, b) = (
            cell(Kind::Written, &pair[0][at]),
            cell(Kind::Written, &pair[1][at]),
        );
        assert_ne!(compare(&a, &b), Ordering::Less, "{pair:?}");
    }
    assert!(stderr(&out).contains("host2") && stderr(&out).contains("differ"));

    // A world that fails is reported; the others still merge.
    t.sql("host3", "DROP TABLE game.mix");
    let out = run_code(
        &t,
        &[
            "query",
            "--format",
            "json",
            "--order-by",
            "i",
            "--limit",
            "5",
            "SELECT id, i FROM mix",
        ],
        1,
    );
    let v = json(&out);
    assert_eq!(rows(&v).len(), 5);
    assert_eq!(v["errors"][0]["world"], "host3", "{v}");
    assert!(
        v["errors"][0]["error"].as_str().unwrap().contains("mix"),
        "the world's own error: {v}"
    );

    t.ok(&["down"]);
}

/// A world's global `Bytes_sent`.
fn bytes_sent(t: &TestEnv, world: &str) -> u64 {
    let text = t.sql(world, "SHOW GLOBAL STATUS LIKE 'Bytes_sent'");
    text.lines()
        .nth(1)
        .and_then(|l| l.split('\t').nth(1))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("unexpected status answer {text:?}"))
}

/// How many bytes each world sends for a query.
fn sent_for(t: &TestEnv, args: &[&str]) -> (Output, Vec<u64>) {
    let before: Vec<u64> = WORLDS3.iter().map(|w| bytes_sent(t, w)).collect();
    let out = t.run(args);
    let after: Vec<u64> = WORLDS3.iter().map(|w| bytes_sent(t, w)).collect();
    (out, before.iter().zip(&after).map(|(b, a)| a - b).collect())
}

fn tsv_lines(out: &Output) -> Vec<String> {
    stdout(out).lines().map(str::to_string).collect()
}

#[test]
fn worlds_send_only_their_best_rows_and_large_results_stream() {
    let t = TestEnv::new("order-push", 39);
    up_sample(&t);

    // 1. With --limit 3 each world sorts 200,000 rows and sends 3 of them (about 7 MB each
    //    without the push-down).
    let big = "SELECT seq, CONCAT('player-', seq * 7919 % 200000) AS name \
               FROM seq_1_to_200000";
    let (out, sent) = sent_for(
        &t,
        &[
            "query",
            "--format",
            "tsv",
            "--no-header",
            "--order-by",
            "name",
            "--desc",
            "--limit",
            "3",
            big,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        tsv_lines(&out),
        [
            "host1\t82321\tplayer-99999",
            "host2\t82321\tplayer-99999",
            "host3\t82321\tplayer-99999"
        ]
    );
    for (w, n) in WORLDS3.iter().zip(&sent) {
        assert!(*n < 100_000, "{w} sent {n} bytes for 3 rows");
    }

    // 2. A statement the worlds cannot sort (two columns named `a`) is sorted here, right,
    //    and its worlds send every row.
    let dup = "SELECT seq AS a, seq * 7919 % 200000 AS a FROM seq_1_to_200000";
    let (out, sent) = sent_for(
        &t,
        &[
            "-v",
            "query",
            "--format",
            "tsv",
            "--no-header",
            "--order-by",
            "a",
            "--desc",
            "--limit",
            "4",
            dup,
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        tsv_lines(&out),
        [
            "host1\t200000\t0",
            "host2\t200000\t0",
            "host3\t200000\t0",
            "host1\t199999\t192081"
        ]
    );
    assert!(
        stderr(&out).contains("host1: --order-by a sorts here"),
        "{}",
        stderr(&out)
    );
    for (w, n) in WORLDS3.iter().zip(&sent) {
        assert!(*n > 1_000_000, "{w} sent only {n} bytes for every row");
    }
    // Duplicate names in another order: the first `a` is the sort column.
    let out = run_code(
        &t,
        &[
            "query",
            "--format",
            "tsv",
            "--no-header",
            "--order-by",
            "a",
            "--limit",
            "4",
            "SELECT seq * 7919 % 1000 AS a, seq AS a FROM seq_1_to_1000",
        ],
        0,
    );
    assert_eq!(
        tsv_lines(&out),
        [
            "host1\t0\t1000",
            "host2\t0\t1000",
            "host3\t0\t1000",
            "host1\t1\t679"
        ]
    );

    // A statement runs once per world, sorted by the world or not: learning how to sort it
    // runs nothing (a sequence moves on by one per statement).
    run_code(&t, &["query", "CREATE SEQUENCE game.seq_once"], 0);
    for (i, sql) in [
        "SELECT NEXTVAL(seq_once) AS n",
        "SELECT NEXTVAL(seq_once) AS n, 0 AS N",
        "SELECT NEXTVAL(seq_once) AS n",
    ]
    .iter()
    .enumerate()
    {
        let out = run_code(
            &t,
            &[
                "query",
                "--format",
                "tsv",
                "--no-header",
                "--order-by",
                "n",
                "--limit",
                "5",
                sql,
            ],
            0,
        );
        let want: Vec<String> = WORLDS3
            .iter()
            .map(|w| {
                if sql.contains("AS N") {
                    format!("{w}\t{}\t0", i + 1)
                } else {
                    format!("{w}\t{}", i + 1)
                }
            })
            .collect();
        assert_eq!(tsv_lines(&out), want, "{sql}");
    }

    // 3. Without --limit, more rows than the 200,000 any output holds in memory stream in
    //    order with --parallel 1 (every world's stream open at once), in bounded time.
    let many = "SELECT seq, seq * 7919 % 70001 AS k FROM seq_1_to_70000";
    let out = run_within(
        &t,
        &[
            "query",
            "--format",
            "tsv",
            "--no-header",
            "--parallel",
            "1",
            "--order-by",
            "k",
            many,
        ],
        0,
        Duration::from_secs(60),
    );
    let lines = tsv_lines(&out);
    assert_eq!(lines.len(), 210_000);
    let keys: Vec<(u64, &str)> = lines
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[2].parse().unwrap(), f[0])
        })
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] <= w[1]),
        "not in (key, world) order"
    );
    // ... while a statement the worlds cannot sort keeps the cap.
    let out = run_code(
        &t,
        &[
            "query",
            "--format",
            "tsv",
            "--order-by",
            "k",
            "SELECT seq AS k, seq AS K FROM seq_1_to_70000",
        ],
        2,
    );
    assert!(
        stderr(&out).contains("more than 200000 rows") && stderr(&out).contains("--limit"),
        "{}",
        stderr(&out)
    );

    // 4. A world that sends its rows out of order stops the query (here: the session sorts
    //    by only the first 64 bytes of values that share 100).
    let out = run_code(
        &t,
        &[
            "query",
            "--format",
            "tsv",
            "--order-by",
            "name",
            "SET SESSION max_sort_length = 64; \
             SELECT seq, CONCAT(REPEAT('x', 100), seq * 7919 % 1000) AS name FROM seq_1_to_3000",
        ],
        1,
    );
    let err = stderr(&out);
    assert!(
        err.contains("--order-by name: host") && err.contains("out of order"),
        "{err}"
    );
    assert!(
        err.contains("came after") && err.contains("max_sort_length"),
        "{err}"
    );

    // 5. A world lost in the middle of its rows: reported for that world, the others go on,
    //    and what was printed is in order. Each world's result (about 80 MB) is larger than
    //    what the sockets can hold (Linux grows a receive buffer up to 32 MB), so host2's
    //    server is still sending when its session is killed.
    let mut child = t
        .cmd(&[
            "query",
            "--format",
            "tsv",
            "--no-header",
            "--order-by",
            "k",
            "SELECT seq, seq * 7919 % 200003 AS k, REPEAT('p', 400) AS pad FROM seq_1_to_200000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn worlds query");
    let mut stdout_pipe = child.stdout.take().unwrap();
    let mut head = vec![0u8; 4096];
    stdout_pipe.read_exact(&mut head).unwrap();
    // Nobody reads now: every world waits with its rows. Cut host2's connection.
    // This statement's session, not one of an earlier command that the server is still
    // cleaning up.
    let find = "SELECT id FROM information_schema.processlist \
                WHERE info LIKE 'SELECT * FROM (%seq_1_to_200000%' AND id <> CONNECTION_ID()";
    let start = Instant::now();
    let id = loop {
        let text = t.sql("host2", find);
        if let Some(id) = text.lines().nth(1) {
            break id.trim().to_string();
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no sorted statement on host2"
        );
        sleep(Duration::from_millis(50));
    };
    t.sql("host2", &format!("KILL CONNECTION {id}"));
    let mut rest = Vec::new();
    stdout_pipe.read_to_end(&mut rest).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.lines().any(|l| l.starts_with("error: host2:")),
        "host2's loss is reported:\n{err}"
    );
    head.extend(rest);
    let text = String::from_utf8(head).unwrap();
    let keys: Vec<(u64, String)> = text
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[2].parse().unwrap(), f[0].to_string())
        })
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] <= w[1]),
        "printed out of order"
    );
    let per = |w: &str| keys.iter().filter(|(_, x)| x == w).count();
    assert_eq!(per("host1"), 200_000);
    assert_eq!(per("host3"), 200_000);
    assert!(per("host2") < 200_000, "host2 was cut: {}", per("host2"));
    assert!(err.contains("2 of 3 worlds answered"), "{err}");

    t.ok(&["down"]);
}
