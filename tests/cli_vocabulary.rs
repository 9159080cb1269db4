//! One vocabulary across commands: `--worlds` everywhere, flags only where they act, hidden
//! old spellings, unknown environments refused with a hint and without writing anything,
//! numbers checked by range, `logs`, shell completions and the man page.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{repo, stderr, stdout, TestEnv, WORLDS};

fn sample() -> String {
    repo().join("dumps").display().to_string()
}

/// `worlds ARGS` in `dir`, with no `--env` added.
fn worlds_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(WORLDS)
        .current_dir(dir)
        .args(args)
        .env_remove("WORLDS_ENV")
        .env_remove("WORLDS_CONFIG")
        .output()
        .expect("run worlds")
}

fn assert_code(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}\nstdout:\n{}\nstderr:\n{}",
        stdout(out),
        stderr(out)
    );
}

/// Every file and folder under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let p = e.path();
                out.push(p.strip_prefix(base).unwrap().display().to_string());
                if p.is_dir() {
                    walk(base, &p, out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Lock files of environment `env` (they live in one folder for the whole host).
fn lock_files(env: &str) -> usize {
    let dir = std::env::var_os("WORLDS_LOCK_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| "/tmp/worlds-locks".into());
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .ends_with(&format!(".{env}.lock"))
                })
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn unknown_env_is_refused_with_a_hint_and_logs_show_the_server_log() {
    let t = TestEnv::new("vocab-env", 30);
    t.ok(&[
        "up",
        "--dumps",
        &sample(),
        "--worlds",
        "host1",
        "--no-restore",
    ]);
    let before = tree(&t.dir);

    // A typo of an existing environment: exit 2, the name, this folder's environments and
    // a hint, on every command that reads an environment; nothing written anywhere.
    let typo = format!("{}x", t.env);
    for args in [
        vec!["status"],
        vec!["status", "--format", "json"],
        vec!["env"],
        vec!["env", "--format", "cnf"],
        vec!["query", "SELECT 1"],
        vec!["connect", "host1", "-e", "SELECT 1"],
        vec!["logs", "host1"],
    ] {
        let mut full = args.clone();
        full.extend(["--env", typo.as_str()]);
        let out = worlds_in(&t.dir, &full);
        assert_code(&out, 2, &format!("{args:?}"));
        let err = stderr(&out);
        assert!(err.contains(&format!("no environment {typo}")), "{err}");
        assert!(
            err.contains(&format!("environments of this project folder: {}", t.env)),
            "{err}"
        );
        assert!(
            err.contains(&format!("Did you mean `--env {}`?", t.env)),
            "{err}"
        );
        assert!(stdout(&out).is_empty(), "{args:?}: {}", stdout(&out));
        assert!(!err.contains("panicked"), "{err}");
    }
    // down of it: nothing to remove is no error, but it says so and names the close one.
    let out = worlds_in(&t.dir, &["down", "--env", &typo]);
    assert_code(&out, 0, "down of an unknown env");
    assert!(
        stdout(&out).contains("nothing to remove"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains(&format!("Did you mean `--env {}`?", t.env)),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        tree(&t.dir),
        before,
        "a command on an unknown env wrote files"
    );
    assert!(!t.dir.join(".worlds").join(&typo).exists());
    assert_eq!(lock_files(&typo), 0, "a lock file was made for {typo}");

    // The environment itself, read from another folder, creates nothing there either.
    let elsewhere = t.subdir("elsewhere");
    let out = worlds_in(&elsewhere, &["env", "--env", &t.env]);
    assert_code(&out, 0, "env from another folder");
    assert!(
        stdout(&out).contains("none in this folder"),
        "{}",
        stdout(&out)
    );
    let out = worlds_in(&elsewhere, &["status", "--env", &t.env]);
    assert_code(&out, 0, "status from another folder");
    assert!(tree(&elsewhere).is_empty(), "{:?}", tree(&elsewhere));

    // logs: the server's own output, the last N lines with --tail.
    let full = t.ok(&["logs", "host1"]);
    assert!(full.contains("ready for connections"), "{full}");
    let tail = t.ok(&["logs", "host1", "--tail", "5"]);
    let lines: Vec<&str> = tail.lines().collect();
    assert!(
        !lines.is_empty() && lines.len() <= 5,
        "--tail 5 printed {} lines:\n{tail}",
        lines.len()
    );
    for line in &lines {
        assert!(full.contains(line), "{line:?} is not in the log");
    }
    let out = t.run(&["logs", "host7"]);
    assert_code(&out, 2, "logs of an unknown world");
    assert!(
        stderr(&out).contains("no world \"host7\"") && stderr(&out).contains("host1"),
        "{}",
        stderr(&out)
    );
    let out = t.run(&["logs", "host1", "--tail", "-3"]);
    assert_code(&out, 2, "logs --tail -3");

    t.ok(&["down"]);
    assert_eq!(t.leftovers(), (0, 0));
}

#[test]
fn worlds_selects_on_every_command_and_old_spellings_still_work() {
    let t = TestEnv::new("vocab-worlds", 31);
    // `--hosts` and `--jobs` are the older spellings of `--worlds` and `--table-jobs`.
    let out = t.ok(&[
        "up",
        "--dumps",
        &sample(),
        "--hosts",
        "host1,host2",
        "--jobs",
        "2",
    ]);
    assert!(out.contains("2 of 2 worlds ready"), "{out}");
    let out = t.ok(&[
        "up",
        "--dumps",
        &sample(),
        "--worlds",
        "host1,host2",
        "--table-jobs",
        "1",
    ]);
    assert!(out.contains("ready (kept)"), "{out}");

    let worlds_of = |v: &serde_json::Value| -> Vec<String> {
        v["worlds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["world"].as_str().unwrap().to_string())
            .collect()
    };
    let all = t.json(&["status", "--format", "json"]);
    assert_eq!(worlds_of(&all), ["host1", "host2"]);
    let one = t.json(&["status", "--format", "json", "--worlds", "host2"]);
    assert_eq!(worlds_of(&one), ["host2"]);
    let one = t.json(&["env", "--format", "json", "--worlds", "host1"]);
    assert_eq!(worlds_of(&one), ["host1"]);
    let cnf = t.ok(&["env", "--format", "cnf", "--worlds", "host2"]);
    assert!(cnf.contains("_host2]") && !cnf.contains("_host1]"), "{cnf}");

    let sql = "SELECT COUNT(*) AS n FROM player";
    for flags in [
        &["--worlds", "host2"][..],
        &["--worlds", "host2", "--parallel", "1"],
        &["--worlds", "host2", "--jobs", "1"],
    ] {
        let mut args = vec!["query", "--format", "json"];
        args.extend_from_slice(flags);
        args.push(sql);
        let v = t.json(&args);
        let rows = v["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 1, "{flags:?}: {v}");
        assert_eq!(rows[0][0], "host2", "{flags:?}: {v}");
    }
    for args in [
        &["status", "--worlds", "host9"][..],
        &["env", "--worlds", "host1,host9"],
        &["query", "--worlds", "host9", "SELECT 1"],
    ] {
        let out = t.run(args);
        assert_code(&out, 2, &format!("{args:?}"));
        assert!(
            stderr(&out).contains("no world \"host9\"") && stderr(&out).contains("host1, host2"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    t.ok(&["down"]);
    assert_eq!(t.leftovers(), (0, 0));
}

#[test]
fn flags_act_only_where_they_belong_and_numbers_are_checked() {
    let t = TestEnv::new("vocab-flags", 32);
    let dumps = sample();
    // --dumps belongs to plan and up.
    let plan = t.json(&[
        "plan", "--format", "json", "--dumps", &dumps, "--worlds", "host3",
    ]);
    assert_eq!(plan["worlds"].as_array().unwrap().len(), 1, "{plan}");
    for args in [
        &["status", "--dumps", dumps.as_str()][..],
        &["--dumps", dumps.as_str(), "env"],
        &["query", "--dumps", dumps.as_str(), "SELECT 1"],
        &["down", "--dumps", dumps.as_str()],
    ] {
        let out = worlds_in(&t.dir, args);
        assert_code(&out, 2, &format!("{args:?}"));
        assert!(stderr(&out).contains("--dumps"), "{}", stderr(&out));
    }
    // Out of range: exit 2 naming the flag, never a panic.
    for (args, flag) in [
        (&["query", "--timeout", "1e20", "SELECT 1"][..], "--timeout"),
        (&["query", "--timeout", "1e19", "SELECT 1"], "--timeout"),
        (&["query", "--timeout", "0", "SELECT 1"], "--timeout"),
        (&["query", "--timeout", "nan", "SELECT 1"], "--timeout"),
        (&["query", "--parallel", "0", "SELECT 1"], "--parallel"),
        (&["query", "--jobs", "0", "SELECT 1"], "--parallel"),
        (&["query", "--limit", "-1", "SELECT 1"], "--limit"),
        (
            &["query", "--limit", "99999999999999999999999", "SELECT 1"],
            "--limit",
        ),
        (&["up", "--table-jobs", "0"], "--table-jobs"),
        (&["up", "--table-jobs", "100000"], "--table-jobs"),
        (&["up", "--start-timeout", "0"], "--start-timeout"),
        (
            &["up", "--start-timeout", "18446744073709551615"],
            "--start-timeout",
        ),
        (&["logs", "host1", "--tail", "1e3"], "--tail"),
    ] {
        let out = worlds_in(&t.dir, args);
        assert_code(&out, 2, &format!("{args:?}"));
        let err = stderr(&out);
        assert!(
            err.contains("invalid value") && err.contains(flag),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    // The help shows the new names only.
    let help = stdout(&worlds_in(&t.dir, &["up", "--help"]));
    assert!(
        help.contains("--table-jobs") && help.contains("--worlds"),
        "{help}"
    );
    assert!(!help.contains("--jobs"), "{help}");
    let help = stdout(&worlds_in(&t.dir, &["query", "--help"]));
    assert!(
        help.contains("--parallel") && !help.contains("--jobs"),
        "{help}"
    );
    let top = stdout(&worlds_in(&t.dir, &["--help"]));
    assert!(!top.contains("--dumps"), "--dumps is not global: {top}");
}

#[test]
fn completions_and_man_page_come_from_the_command_line() {
    let t = TestEnv::new("vocab-docs", 32);
    // A broken worlds.yaml does not matter: these need no config.
    t.write_config("no_such_key: 1\n");
    let subcommands = [
        "plan", "up", "status", "env", "connect", "query", "logs", "down", "envs",
    ];
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = t.run(&["completions", shell]);
        assert_code(&out, 0, shell);
        let script = stdout(&out);
        for sub in subcommands {
            assert!(script.contains(sub), "{shell} script lacks {sub}");
        }
        for flag in ["table-jobs", "parallel", "worlds", "follow"] {
            assert!(script.contains(flag), "{shell} script lacks {flag}");
        }
    }
    let out = t.run(&["completions", "tcsh"]);
    assert_code(&out, 2, "unknown shell");

    let out = t.run(&["man"]);
    assert_code(&out, 0, "man");
    let page = stdout(&out);
    assert!(page.contains(".TH worlds 1"), "{page}");
    for sub in subcommands {
        assert!(
            page.contains(&format!(".SH \"WORLDS {}\"", sub.to_uppercase())),
            "man page lacks {sub}"
        );
    }
    assert!(
        page.contains("\\-\\-start\\-timeout"),
        "man page lacks up's options"
    );
    // Every option of a subcommand is in its section, escaped for roff.
    let logs = page
        .split(".SH \"WORLDS LOGS\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no logs section:\n{page}"));
    assert!(
        logs.contains("\\-\\-tail"),
        "logs section lacks --tail:\n{logs}"
    );
}
