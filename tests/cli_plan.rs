//! `worlds plan`, `--help` and config errors, run through the real binary (no Docker needed).

mod common;

use std::process::Command;

use common::{generate, repo, stderr, stdout, TestEnv, WORLDS};

fn plan_json(t: &TestEnv, extra: &[&str]) -> serde_json::Value {
    let dumps = repo().join("dumps");
    let mut args = vec![
        "plan",
        "--format",
        "json",
        "--dumps",
        dumps.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    t.json(&args)
}

fn picked(v: &serde_json::Value) -> Vec<(String, String)> {
    v["worlds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["world"].as_str().unwrap().to_string(),
                w["dump"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn plan_picks_the_newest_dump_of_each_sample_host() {
    let t = TestEnv::new("plan", 0);
    let v = plan_json(&t, &[]);
    let worlds = picked(&v);
    assert_eq!(
        worlds.iter().map(|w| w.0.as_str()).collect::<Vec<_>>(),
        ["host1", "host2", "host3"]
    );
    for (world, dump) in &worlds {
        assert!(
            dump.starts_with(&format!("{world}_fulldump_20240618_")),
            "{dump}"
        );
    }
    // The exact JSON shape scripts rely on.
    let w = &v["worlds"][0];
    let keys: Vec<&str> = w.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(keys.len(), 6, "unexpected fields in {w}");
    for key in [
        "world",
        "dump",
        "path",
        "timestamp",
        "size_bytes",
        "candidates",
    ] {
        assert!(w.get(key).is_some(), "missing {key} in {w}");
    }
    assert_eq!(w["candidates"], 2);
    assert!(w["size_bytes"].as_u64().unwrap() > 100);
    let path = std::path::Path::new(w["path"].as_str().unwrap());
    assert!(path.is_file(), "path {path:?} is not a file");
    assert!(w["timestamp"].as_str().unwrap().starts_with("2024-06-18T"));
    assert!(v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["file"] != "host1"));
}

#[test]
fn plan_at_between_the_dump_days_picks_the_older_dumps() {
    let t = TestEnv::new("plan-at", 0);
    for at in [
        "2024-06-18 00:00",
        "2024-06-18T00:00:00",
        "20240618_000000",
        "2024-06-18 10:00",
    ] {
        let v = plan_json(&t, &["--at", at]);
        for (world, dump) in picked(&v) {
            assert!(
                dump.starts_with(&format!("{world}_fulldump_20240617_")),
                "{at}: {dump}"
            );
        }
    }
    // Before every dump: nothing to restore, each host reported as skipped.
    let v = plan_json(&t, &["--at", "2020-01-01 00:00"]);
    assert!(picked(&v).is_empty());
    let reasons: Vec<&str> = v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons
            .iter()
            .filter(|r| r.contains("no dump at or before"))
            .count(),
        3
    );
}

#[test]
fn plan_table_lists_worlds_and_skipped_files() {
    let t = TestEnv::new("plan-table", 0);
    let dumps = t.subdir("dumps");
    generate(&dumps, &["--hosts", "2", "--dumps", "1", "--rows", "3"]);
    std::fs::write(dumps.join("README.txt"), "notes").unwrap();
    std::fs::write(dumps.join("host9_fulldump_20241301_000000.sql.gz"), "x").unwrap();
    let out = t.ok(&["plan", "--dumps", "dumps", "--hosts", "host2"]);
    assert!(out.contains("host2_fulldump_"), "{out}");
    assert!(!out.contains("host1_fulldump_"), "{out}");
    assert!(
        out.contains("README.txt") && out.contains("does not match"),
        "{out}"
    );
    assert!(out.contains("impossible timestamp"), "{out}");
}

#[test]
fn empty_or_missing_folder_is_a_usage_error() {
    let t = TestEnv::new("plan-empty", 0);
    t.subdir("empty");
    let out = t.run(&["plan", "--dumps", "empty"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no dumps found"), "{}", stderr(&out));
    let out = t.run(&["plan", "--dumps", "does-not-exist"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does-not-exist"), "{}", stderr(&out));
}

#[test]
fn bad_config_and_flags_exit_2_with_the_key_named() {
    let t = TestEnv::new("plan-config", 0);
    t.write_config("prot_base: 1\n");
    let out = t.run(&["plan"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("prot_base"), "{}", stderr(&out));
    t.write_config("flavor: oracle\n");
    let out = t.run(&["plan"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("flavor"), "{}", stderr(&out));
    t.write_config("");
    let out = t.run(&[
        "plan",
        "--dumps",
        repo().join("dumps").to_str().unwrap(),
        "--at",
        "soon",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("2024-06-18T21:00:00"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn help_explains_every_command_and_flag() {
    let help = |args: &[&str]| {
        let out = Command::new(WORLDS).args(args).output().unwrap();
        assert!(out.status.success());
        stdout(&out)
    };
    let top = help(&["--help"]);
    for word in [
        "plan",
        "up",
        "status",
        "env",
        "connect",
        "query",
        "logs",
        "down",
        "completions",
        "man",
        "--config",
        "--env",
    ] {
        assert!(top.contains(word), "--help lacks {word}:\n{top}");
    }
    let plan = help(&["plan", "--help"]);
    for word in [
        "--at",
        "--worlds",
        "--hosts",
        "--dumps",
        "--format",
        "2024-06-18T21:00:00",
    ] {
        assert!(plan.contains(word), "plan --help lacks {word}:\n{plan}");
    }
}

#[test]
fn control_characters_in_file_names_are_escaped_and_such_hosts_refused() {
    let t = TestEnv::new("plan-ctrl", 0);
    let dumps = t.subdir("dumps");
    let sample = std::fs::read(repo().join("dumps/host1_fulldump_20240618_211706.sql.gz")).unwrap();
    std::fs::write(dumps.join("host1_fulldump_20240618_000000.sql.gz"), &sample).unwrap();
    std::fs::write(
        dumps.join("evil\x1b[2J_fulldump_20240618_000000.sql.gz"),
        &sample,
    )
    .unwrap();
    std::fs::write(dumps.join("notes\x07.txt"), b"x").unwrap();
    let out = t.run(&["plan", "--dumps", "dumps"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        !text.contains('\x1b') && !text.contains('\x07'),
        "raw control characters: {text:?}"
    );
    assert!(text.contains("evil\\u{1b}[2J"), "{text}");
    assert!(text.contains("control characters"), "{text}");
    let v = t.json(&["plan", "--dumps", "dumps", "--format", "json"]);
    assert_eq!(picked(&v).len(), 1, "{v}");
}

#[test]
fn help_documents_the_exit_codes() {
    let out = Command::new(WORLDS).arg("--help").output().unwrap();
    let text = stdout(&out);
    for code in [
        "0 all good",
        "1 some world failed",
        "2 usage",
        "3 the environment is not usable",
    ] {
        assert!(text.contains(code), "--help lacks {code:?}: {text}");
    }
}
