//! Seeing what happens: `status` fits 80 columns (`--wide` shows everything), its JSON
//! carries the restore record, `up` names its phases and the worlds' addresses, `-q` keeps
//! stderr quiet but for errors, `-v` shows the phases with their timings.

mod common;

use std::process::Command;

use common::{generate, repo, stderr, stdout, TestEnv};

fn sample() -> String {
    repo().join("dumps").to_str().unwrap().to_string()
}

/// The restore record a world keeps in its data volume, read straight from the container.
fn record(container: &str) -> serde_json::Value {
    let out = Command::new("docker")
        .args([
            "exec",
            "-u",
            "0",
            container,
            "cat",
            "/var/lib/mysql/.worlds-record.json",
        ])
        .output()
        .expect("docker exec");
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("the record is JSON")
}

/// Lines of a table that hold a row (header included).
fn table_rows(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with('│')).collect()
}

#[test]
fn status_fits_80_columns_wide_shows_all_and_json_carries_the_record() {
    let t = TestEnv::new("see-status", 33);
    let dumps = sample();
    let out = t.run(&["-v", "up", "--dumps", &dumps]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let (up_out, up_err) = (stdout(&out), stderr(&out));

    // The summary names each world's address (the port status reports: a port another
    // program holds for a moment moves a world to the next free one).
    let status = t.json(&["status", "--format", "json"]);
    for w in status["worlds"].as_array().unwrap() {
        let port = w["port"].as_u64().unwrap();
        assert!(
            (u64::from(t.port_base)..u64::from(t.port_base) + 20).contains(&port),
            "{w}"
        );
        let address = format!("127.0.0.1:{port}");
        let row = up_out
            .lines()
            .find(|l| l.contains(&format!(" {} ", w["world"].as_str().unwrap())))
            .unwrap_or_else(|| panic!("no row of {w} in:\n{up_out}"));
        assert!(row.contains(&address), "no {address} in {row:?}:\n{up_out}");
    }
    // -v: every world's phases with their timings, the session setup, the engine.
    for world in ["host1", "host2", "host3"] {
        let line = up_err
            .lines()
            .find(|l| l.starts_with(&format!("debug: {world}: starting server ")))
            .unwrap_or_else(|| panic!("no phase timings of {world} in:\n{up_err}"));
        for phase in ["loading ", "verifying ", "(total "] {
            assert!(line.contains(phase), "no {phase:?} in {line:?}");
        }
        assert!(
            line.split(", ")
                .all(|p| p.contains(" ms") || p.contains(" s")),
            "{line}"
        );
    }
    assert!(up_err.contains("SET SESSION unique_checks = 0"), "{up_err}");
    assert!(up_err.contains("debug: Docker engine"), "{up_err}");

    // The default table: at most 80 columns, one line per world, off a terminal too.
    let out = t
        .cmd(&["status"])
        .env("COLUMNS", "80")
        .output()
        .expect("run worlds");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for line in text.lines() {
        assert!(line.chars().count() <= 80, "{} columns: {line}", line.len());
    }
    let rows = table_rows(&text);
    assert_eq!(rows.len(), 4, "header and one line per world:\n{text}");
    for (i, world) in ["host1", "host2", "host3"].iter().enumerate() {
        let row = rows[i + 1];
        assert!(row.contains(world) && row.contains("ready"), "{row}");
        assert!(row.contains(&(t.port_base + i as u16).to_string()), "{row}");
        assert!(row.contains("2024-06-18 21:"), "{row}");
    }
    // Without COLUMNS, off a terminal: 80 as well.
    let plain = t.ok(&["status"]);
    assert!(plain.lines().all(|l| l.chars().count() <= 80), "{plain}");
    // A narrower COLUMNS cuts cells instead of wrapping rows.
    let out = t
        .cmd(&["status"])
        .env("COLUMNS", "50")
        .output()
        .expect("run worlds");
    let narrow = stdout(&out);
    assert!(narrow.lines().all(|l| l.chars().count() <= 50), "{narrow}");
    assert_eq!(table_rows(&narrow).len(), 4, "{narrow}");

    // --wide: today's columns, container and dump file included.
    let wide = t.ok(&["status", "--wide"]);
    for word in [
        "container",
        "dump file",
        &format!("worlds.{}.host2", t.env),
        &format!("127.0.0.1:{}", t.port_base + 1),
        "host2_fulldump_20240618_211752.sql.gz",
        "of SQL",
    ] {
        assert!(wide.contains(word), "no {word} in:\n{wide}");
    }
    assert!(!text.contains("of SQL"), "{text}");

    // JSON: the old keys unchanged, the record's rows, restore seconds, error, dumps folder.
    let status = t.json(&["status", "--format", "json"]);
    assert_eq!(status["env"], t.env.as_str());
    let worlds = status["worlds"].as_array().unwrap();
    assert_eq!(worlds.len(), 3);
    let dumps_dir = std::fs::canonicalize(&dumps).unwrap();
    for (i, w) in worlds.iter().enumerate() {
        let name = format!("host{}", i + 1);
        let container = format!("worlds.{}.{name}", t.env);
        assert_eq!(w["world"], name.as_str());
        assert_eq!(w["state"], "ready");
        assert_eq!(w["container"], container.as_str());
        assert_eq!(w["host"], "127.0.0.1");
        assert_eq!(w["port"], u64::from(t.port_base) + i as u64);
        assert!(w["dump"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{name}_fulldump_20240618_")));
        assert!(w["timestamp"].as_str().unwrap().starts_with("2024-06-18T"));

        let kept = record(&container);
        assert_eq!(w["rows"], kept["rows"], "{w}");
        assert_eq!(w["restore_seconds"], kept["restore_seconds"], "{w}");
        assert!(w["restore_seconds"].as_f64().unwrap() > 0.0, "{w}");
        assert_eq!(w["error"], serde_json::Value::Null);
        assert_eq!(w["dumps_dir"], dumps_dir.to_str().unwrap());
        // Rows per table are what the world holds.
        let rows = w["rows"].as_object().unwrap();
        assert!(rows.contains_key("game.player"), "{w}");
        let players = t.sql(&name, "SELECT COUNT(*) FROM game.player");
        let players: u64 = players.lines().nth(1).unwrap().trim().parse().unwrap();
        assert_eq!(rows["game.player"], players, "{w}");
    }
}

#[test]
fn quiet_up_prints_no_progress_but_still_its_errors() {
    let t = TestEnv::new("see-quiet", 34);
    let out = t.run(&["-q", "up", "--dumps", &sample(), "--hosts", "host1"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert_eq!(stderr(&out), "", "-q printed on stderr");
    // The result itself is output, not progress.
    assert!(
        stdout(&out).contains("1 of 1 worlds ready"),
        "{}",
        stdout(&out)
    );

    // Without -q the same kind of run tells what it does (here: a world kept as it is).
    let out = t.run(&["up", "--dumps", &sample(), "--hosts", "host1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("connect: worlds connect host1"),
        "{}",
        stderr(&out)
    );

    // A failing world under -q: no progress, but the error and exit code 1.
    let bad = t.subdir("bad");
    std::fs::write(
        bad.join("broken_fulldump_20240101_000000.sql"),
        "CREATE TABLE t (a INT);\nINSERT INTO no_such_table VALUES (1);\n",
    )
    .unwrap();
    let out = t.run(&["-q", "up", "--dumps", "bad"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("broken failed:"), "{err}");
    assert!(err.contains("no_such_table"), "{err}");
    assert!(
        !err.contains("starting server") && !err.contains("loading"),
        "{err}"
    );
    // -v says in which phase it failed.
    let out = t.run(&["-v", "up", "--dumps", "bad"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("debug: broken: failed while loading; starting server "),
        "{}",
        stderr(&out)
    );
}

#[test]
fn progress_lines_name_the_phase_and_show_eta_only_while_loading() {
    let t = TestEnv::new("see-progress", 35);
    let dumps = t.subdir("dumps");
    generate(
        &dumps,
        &[
            "--hosts", "1", "--dumps", "1", "--tables", "full", "--mb", "60",
        ],
    );
    // Off a terminal, progress is a line per world at each new phase and every 5 seconds.
    let out = t.run(&["up", "--dumps", "dumps"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    let phases = [
        "starting server",
        "reading dump",
        "loading",
        "building indexes",
        "verifying",
    ];
    let progress: Vec<&str> = err
        .lines()
        .filter_map(|l| l.strip_prefix("host1: "))
        .filter(|l| phases.iter().any(|p| l.starts_with(p)))
        .collect();
    assert!(!progress.is_empty(), "no progress lines in:\n{err}");
    for line in &progress {
        assert!(!line.contains("iB"), "binary units in {line:?}");
        if !line.starts_with("loading") {
            assert!(
                !line.contains("eta") && !line.contains("/s"),
                "rate or ETA outside loading: {line:?}"
            );
        }
    }
    // The first line names the first phase, and the lines follow the phases in order (a phase
    // shorter than a tick may have no line; rate and ETA need a second of loading: the unit
    // tests of the progress lines cover them).
    assert!(progress[0].starts_with("starting server"), "{err}");
    let order: Vec<usize> = progress
        .iter()
        .filter_map(|l| phases.iter().position(|p| l.starts_with(p)))
        .collect();
    assert!(order.windows(2).all(|w| w[0] <= w[1]), "{err}");
    assert!(err.contains("host1: done (ready)"), "{err}");
    assert!(
        stdout(&out).contains(&format!("127.0.0.1:{}", t.port_base)),
        "{}",
        stdout(&out)
    );
}
