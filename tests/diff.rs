//! `worlds diff` between two real restores: dumps written here, restored into two
//! environments, compared table by table and query by query, the JSON checked exactly.

mod common;

use std::path::Path;

use serde_json::{json, Value};

use common::{stderr, stdout, TestEnv};

/// (player_id, player_name, player_score, balance, note)
type P<'a> = (i64, &'a str, i64, &'a str, Option<&'a str>);

const BEFORE: [P; 5] = [
    (1, "Ann", 100, "10.50", Some("x")),
    (2, "Ben", 200, "20.00", Some("y")),
    (3, "bob", 300, "30.00", Some("z")),
    (4, "Cid", 400, "40.00", Some("")),
    (5, "Dan", 500, "50.00", Some("w")),
];

/// A dump of the `game` database: `player` (with a `bonus` column after the update) and
/// `event_log`, which has no primary key.
fn dump(players: &[P], bonus: bool, events: &[(&str, i64)]) -> String {
    let mut s = String::from(
        "SET NAMES utf8mb4;\nDROP DATABASE IF EXISTS game;\nCREATE DATABASE game;\nUSE game;\n",
    );
    s.push_str(
        "CREATE TABLE player (player_id INT NOT NULL, \
         player_name VARCHAR(64) COLLATE utf8mb4_general_ci NOT NULL, \
         player_score INT NOT NULL, balance DECIMAL(10,2) NOT NULL, note VARCHAR(20) NULL",
    );
    if bonus {
        s.push_str(", bonus INT NOT NULL DEFAULT 0");
    }
    s.push_str(", PRIMARY KEY (player_id));\n");
    let rows: Vec<String> = players
        .iter()
        .map(|(id, name, score, balance, note)| {
            let note = note.map_or("NULL".to_string(), |n| format!("'{n}'"));
            let extra = if bonus { ",0" } else { "" };
            format!("({id},'{name}',{score},{balance},{note}{extra})")
        })
        .collect();
    s.push_str(&format!("INSERT INTO player VALUES {};\n", rows.join(",")));
    s.push_str("CREATE TABLE event_log (event_day DATE NOT NULL, kind VARCHAR(10), n INT);\n");
    let rows: Vec<String> = events
        .iter()
        .map(|(day, n)| format!("('{day}','login',{n})"))
        .collect();
    s.push_str(&format!(
        "INSERT INTO event_log VALUES {};\n",
        rows.join(",")
    ));
    s
}

fn write(dir: &Path, host: &str, text: &str) {
    std::fs::write(
        dir.join(format!("{host}_fulldump_20240617_100000.sql")),
        text,
    )
    .unwrap();
}

fn after(host: &str) -> Vec<P<'static>> {
    let mut p = BEFORE.to_vec();
    match host {
        "host1" => {
            p[1] = (2, "Ben", 1200, "19.75", Some("y")); // score +1000, balance -0.25
            p[2] = (3, "Bob", 300, "30.00", Some("z")); // only the case of the name
            p[3] = (4, "Cid", 400, "40.00", None); // '' -> NULL
            p.remove(4); // Dan removed
            p.push((6, "Eve", 600, "60.00", Some("v"))); // added
        }
        "host2" => p[0] = (1, "Ann", 110, "10.75", Some("x")),
        // The broken world: three scores multiplied by 100.
        _ => {
            for row in p.iter_mut().take(3) {
                row.2 *= 100;
            }
        }
    }
    p
}

fn run(t: &TestEnv, args: &[&str], code: i32) -> String {
    let out = t.run(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "worlds {args:?}\nstdout:\n{}\nstderr:\n{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

fn json_of(t: &TestEnv, args: &[&str], code: i32) -> Value {
    let text = run(t, args, code);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn diff_between_two_restores_counts_lists_and_flags_exactly() {
    let t = TestEnv::new("diff", 42);
    let b = TestEnv {
        dir: t.dir.clone(),
        env: format!("{}-b", t.env),
        port_base: t.port_base,
    };
    let before_dir = t.subdir("before");
    let after_dir = t.subdir("after");
    let events_before = [("2024-06-16", 5), ("2024-06-17", 7)];
    let events_after = [("2024-06-17", 9), ("2024-06-18", 3)];
    for host in ["host1", "host2", "host3"] {
        write(&before_dir, host, &dump(&BEFORE, false, &events_before));
        write(&after_dir, host, &dump(&after(host), true, &events_after));
    }
    // A world that exists only after.
    write(&after_dir, "host4", &dump(&BEFORE, true, &events_after));
    b.ok(&["up", "--dumps", before_dir.to_str().unwrap()]);
    t.ok(&["up", "--dumps", after_dir.to_str().unwrap()]);
    let from = b.env.as_str();
    let three = "host1,host2,host3";

    // The whole contract, for the three worlds on both sides.
    let v = json_of(
        &t,
        &[
            "diff", "player", "--from", from, "--worlds", three, "--format", "json",
        ],
        0,
    );
    assert_eq!(v["table"], "game.player");
    assert_eq!(v["from"], from);
    assert_eq!(v["to"], t.env.as_str());
    assert_eq!(v["key"], json!(["player_id"]));
    assert_eq!(v["errors"], json!([]));
    assert_eq!(
        v["worlds"],
        json!([
            {"world": "host1", "rows_from": 5, "rows_to": 5, "added": 1, "removed": 1,
             "changed": 3, "unchanged": 1,
             "changed_columns": {"player_name": 1, "player_score": 1, "balance": 1, "note": 1},
             "deltas": {"player_score": {"sum": 1000, "min": 1000, "max": 1000},
                        "balance": {"sum": "-0.25", "min": "-0.25", "max": "-0.25"}},
             "outlier": false},
            {"world": "host2", "rows_from": 5, "rows_to": 5, "added": 0, "removed": 0,
             "changed": 1, "unchanged": 4,
             "changed_columns": {"player_score": 1, "balance": 1},
             "deltas": {"player_score": {"sum": 10, "min": 10, "max": 10},
                        "balance": {"sum": "0.25", "min": "0.25", "max": "0.25"}},
             "outlier": false},
            {"world": "host3", "rows_from": 5, "rows_to": 5, "added": 0, "removed": 0,
             "changed": 3, "unchanged": 2,
             "changed_columns": {"player_score": 3},
             "deltas": {"player_score": {"sum": 59400, "min": 9900, "max": 29700}},
             "outlier": true},
        ])
    );
    let host1: Vec<&Value> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["world"] == "host1")
        .collect();
    assert_eq!(
        host1,
        [
            &json!({"world": "host1", "change": "changed", "key": {"player_id": 2},
                    "from": {"player_score": 200, "balance": "20.00"},
                    "to": {"player_score": 1200, "balance": "19.75"}}),
            &json!({"world": "host1", "change": "changed", "key": {"player_id": 3},
                    "from": {"player_name": "bob"}, "to": {"player_name": "Bob"}}),
            &json!({"world": "host1", "change": "changed", "key": {"player_id": 4},
                    "from": {"note": ""}, "to": {"note": null}}),
            &json!({"world": "host1", "change": "removed", "key": {"player_id": 5},
                    "from": {"player_name": "Dan", "player_score": 500, "balance": "50.00",
                             "note": "w"},
                    "to": null}),
            &json!({"world": "host1", "change": "added", "key": {"player_id": 6},
                    "from": null,
                    "to": {"player_name": "Eve", "player_score": 600, "balance": "60.00",
                           "note": "v"}}),
        ]
    );
    assert_eq!(v["rows"].as_array().unwrap().len(), 5 + 1 + 3);
    // The column the update added is reported, per world.
    let schema = v["schema_changes"].as_array().unwrap();
    assert_eq!(schema.len(), 3, "{schema:?}");
    assert_eq!(
        schema[0],
        json!({"world": "host1", "column": "bonus", "change": "added", "from": null, "to": "int(11)"})
    );

    // Every world: host4 exists only after, which is an error (exit 1) naming it.
    let v = json_of(
        &t,
        &["diff", "player", "--from", from, "--format", "json"],
        1,
    );
    assert_eq!(v["worlds"].as_array().unwrap().len(), 3);
    assert_eq!(
        v["errors"],
        json!([{"world": "host4", "error": format!("only in environment {}", t.env)}])
    );

    // The table: the summary marks the broken world and says why; rows are listed.
    let text = run(
        &t,
        &[
            "diff", "player", "--from", from, "--worlds", three, "--format", "table", "--rows", "1",
        ],
        0,
    );
    assert!(text.contains("host3 !"), "{text}");
    assert!(
        text.contains("! host3 stands out: player_score changed by +59,400"),
        "{text}"
    );
    assert!(text.contains("schema: host1: column bonus added"), "{text}");
    assert!(
        text.contains("player_score: 200 -> 1200 (+1,000)"),
        "{text}"
    );
    assert!(
        text.contains("host1: 1 of 5 differing rows listed"),
        "{text}"
    );

    // --where on both sides, --columns, and --exit-code.
    let v = json_of(
        &t,
        &[
            "diff",
            "player",
            "--from",
            from,
            "--worlds",
            "host1",
            "--where",
            "player_id <= 3",
            "--columns",
            "player_score",
            "--format",
            "json",
            "--exit-code",
        ],
        1,
    );
    let w = &v["worlds"][0];
    assert_eq!(
        (w["rows_from"].as_u64(), w["rows_to"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(w["changed_columns"], json!({"player_score": 1}));
    assert_eq!(v["schema_changes"], json!([]));
    // An environment compared with itself: nothing differs, exit 0 even with --exit-code.
    let v = json_of(
        &t,
        &[
            "diff",
            "player",
            "--from",
            from,
            "--to",
            from,
            "--format",
            "json",
            "--exit-code",
        ],
        0,
    );
    assert!(v["worlds"]
        .as_array()
        .unwrap()
        .iter()
        .all(|w| w["changed"] == 0 && w["added"] == 0 && w["removed"] == 0 && w["unchanged"] == 5));

    // A table without a primary key needs --key; then it is compared by it.
    let out = t.run(&[
        "diff",
        "event_log",
        "--from",
        from,
        "--worlds",
        "host1",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let e = v["errors"][0]["error"].as_str().unwrap();
    assert!(e.contains("no primary key") && e.contains("--key"), "{e}");
    let v = json_of(
        &t,
        &[
            "diff",
            "event_log",
            "--from",
            from,
            "--worlds",
            "host1",
            "--key",
            "event_day,kind",
            "--format",
            "json",
        ],
        0,
    );
    assert_eq!(v["key"], json!(["event_day", "kind"]));
    assert_eq!(
        v["rows"],
        json!([
            {"world": "host1", "change": "removed", "key": {"event_day": "2024-06-16", "kind": "login"},
             "from": {"n": 5}, "to": null},
            {"world": "host1", "change": "changed", "key": {"event_day": "2024-06-17", "kind": "login"},
             "from": {"n": 7}, "to": {"n": 9}},
            {"world": "host1", "change": "added", "key": {"event_day": "2024-06-18", "kind": "login"},
             "from": null, "to": {"n": 3}},
        ])
    );
    // A key that does not identify rows is refused, not guessed.
    let out = t.run(&[
        "diff",
        "event_log",
        "--from",
        from,
        "--worlds",
        "host1",
        "--key",
        "kind",
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("appears more than once"),
        "{}",
        stdout(&out)
    );

    // Any query's result, matched by --key.
    let v = json_of(
        &t,
        &[
            "diff",
            "--from",
            from,
            "--worlds",
            "host3",
            "--format",
            "json",
            "--key",
            "big",
            "--query",
            "SELECT player_score >= 1000 AS big, COUNT(*) AS players FROM player GROUP BY big",
        ],
        0,
    );
    assert_eq!(v["table"], Value::Null);
    assert_eq!(
        v["rows"],
        json!([
            {"world": "host3", "change": "changed", "key": {"big": 0},
             "from": {"players": 5}, "to": {"players": 2}},
            {"world": "host3", "change": "added", "key": {"big": 1},
             "from": null, "to": {"players": 3}},
        ])
    );

    // csv: one line per changed value, the summary on stderr.
    let out = t.run(&[
        "diff", "player", "--from", from, "--worlds", "host2", "--format", "csv",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "world,change,player_id,column,from,to,delta\r\n\
         host2,changed,1,player_score,100,110,10\r\n\
         host2,changed,1,balance,10.50,10.75,0.25\r\n"
    );
    assert!(
        stderr(&out).contains("1 of 1 worlds compared"),
        "{}",
        stderr(&out)
    );

    // Usage errors: an unknown environment, a missing table.
    let out = t.run(&["diff", "player", "--from", "nosuch-env"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("nosuch-env"), "{}", stderr(&out));
    let out = t.run(&[
        "diff", "nosuch", "--from", from, "--worlds", "host1", "--format", "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("cannot read game.nosuch"),
        "{}",
        stdout(&out)
    );

    b.ok(&["down"]);
    t.ok(&["down"]);
    assert_eq!(t.leftovers(), (0, 0));
    assert_eq!(b.leftovers(), (0, 0));
}
