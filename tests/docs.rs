//! Docs that run: every `worlds ...` command shown in README.md and docs/guide.md runs, in
//! the order shown, on a copy of the sample dumps, and does what the docs say: plain command
//! lines succeed, and `$ worlds ...` transcripts end the way their shown output does.
//! Environment names in the commands get a prefix of this test's own, so the test never meets
//! a user's environments.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::{repo, TestEnv, WORLDS};

/// One command as the docs show it.
#[derive(Debug)]
struct Shown {
    file: &'static str,
    line: usize,
    command: String,
    /// The output shown under a `$ ` transcript line, if any.
    output: Option<Vec<String>>,
}

/// Commands left out, each with the reason.
const SKIPPED: &[(&str, &str)] = &[
    ("worlds logs host1 -f", "follows the log until Ctrl-C"),
    (
        "worlds plan --dumps /mnt/backups/game",
        "a folder of the reader's",
    ),
    // Snapshots belong to the whole engine: these would remove the reader's own.
    (
        "worlds snapshots rm host1",
        "removes snapshots of the reader's",
    ),
    (
        "worlds snapshots prune --older-than 7d",
        "removes snapshots of the reader's",
    ),
    (
        "worlds snapshots prune --all",
        "removes snapshots of the reader's",
    ),
    // This test keeps no snapshots (tests/snapshots.rs exports and imports one).
    (
        "worlds snapshots export host1 -o host1.snapshot",
        "the test's worlds have no snapshot",
    ),
    (
        "worlds snapshots import host1.snapshot",
        "needs the file export writes",
    ),
    (
        "worlds plan --dumps s3://game-backups/daily/",
        "a bucket of the reader's (tests/s3.rs runs these against a local store)",
    ),
    (
        "worlds up --dumps s3://game-backups/daily/ --profile backup",
        "a bucket of the reader's",
    ),
    (
        "worlds up --dumps s3://game-backups/daily/ --at \"2024-06-18 10:00\"",
        "a bucket of the reader's",
    ),
];

/// Cut a trailing `# comment` that stands outside quotes.
fn without_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev.is_whitespace() => return line[..i].trim_end(),
            _ => {}
        }
        prev = c;
    }
    line.trim_end()
}

fn open_quote(text: &str) -> bool {
    text.chars().filter(|&c| c == '"').count() % 2 == 1
}

/// Every `worlds` command in the fenced blocks of `text`.
fn commands(file: &'static str, text: &str) -> Vec<Shown> {
    let mut out = Vec::new();
    let mut in_block = false;
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim_start().starts_with("```") {
            in_block = !in_block;
            i += 1;
            continue;
        }
        let trimmed = line.trim();
        let transcript = trimmed.starts_with("$ worlds ");
        // `make up` is `worlds up` after building (see the Makefile).
        let make_up = without_comment(trimmed) == "make up";
        if !in_block || !(trimmed.starts_with("worlds ") || transcript || make_up) {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut command = if make_up {
            "worlds up".to_string()
        } else {
            trimmed.trim_start_matches("$ ").to_string()
        };
        while open_quote(&command) && i + 1 < lines.len() {
            i += 1;
            command.push('\n');
            command.push_str(lines[i].trim());
        }
        let command = without_comment(&command).to_string();
        let output = transcript.then(|| {
            let mut shown = Vec::new();
            while i + 1 < lines.len() && !lines[i + 1].trim_start().starts_with("```") {
                i += 1;
                shown.push(lines[i].to_string());
            }
            shown
        });
        out.push(Shown {
            file,
            line: start,
            command,
            output,
        });
        i += 1;
    }
    out
}

/// `--env NAME` (and `diff`'s `--from NAME`, `--to NAME`) becomes `--env PREFIX-NAME`.
fn with_prefix(command: &str, prefix: &str) -> String {
    let mut out = String::new();
    let mut rest = command;
    let next = |text: &str| {
        ["--env ", "--from ", "--to "]
            .iter()
            .filter_map(|flag| text.find(flag).map(|at| at + flag.len()))
            .min()
    };
    while let Some(end) = next(rest) {
        let (head, tail) = rest.split_at(end);
        out.push_str(head);
        let tail = tail.trim_start();
        out.push_str(prefix);
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// Whether a shown output line depends on how long things took (`293 ms`, `1.2 s`).
fn timed(line: &str) -> bool {
    let words: Vec<&str> = line.split_whitespace().collect();
    words.windows(2).any(|w| {
        let unit = w[1].trim_end_matches([',', ')', '.']);
        (unit == "ms" || unit == "s") && w[0].parse::<f64>().is_ok()
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn every_command_in_the_docs_runs_as_shown() {
    let t = TestEnv::new("docs", 37);
    let prefix = format!("{}-", t.env);
    copy_dir(&repo().join("dumps"), &t.dir.join("dumps"));
    std::fs::write(
        t.dir.join("investigation.sql"),
        "SELECT COUNT(*) AS players FROM player;\nSELECT MAX(player_score) AS best FROM player;\n",
    )
    .unwrap();
    let bin = Path::new(WORLDS).parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let mut shown = commands("README.md", include_str!("../README.md"));
    shown.extend(commands("docs/guide.md", include_str!("../docs/guide.md")));
    assert!(shown.len() >= 30, "too few commands found: {shown:?}");
    let mut failures = Vec::new();
    let mut ran = 0;
    for s in &shown {
        if SKIPPED.iter().any(|(c, _)| s.command == *c) {
            continue;
        }
        let mut command = with_prefix(&s.command, &prefix);
        // Transcripts show what a terminal shows, a table; off a terminal the default is tsv.
        let table = s.output.iter().flatten().any(|l| l.contains('┌'));
        if table && !command.contains("--format") {
            command.push_str(" --format table");
        }
        let out = Command::new("sh")
            .arg("-c")
            .arg(&command)
            .current_dir(&t.dir)
            .env("PATH", &path)
            .env("WORLDS_ENV", format!("{prefix}default"))
            .env_remove("WORLDS_CONFIG")
            .stdin(Stdio::null())
            .output()
            .expect("run sh");
        ran += 1;
        let code = out.status.code().unwrap_or(-1);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .replace(&prefix, "");
        let want_failure = s.output.as_ref().is_some_and(|o| {
            o.iter()
                .any(|l| l.starts_with("error:") || l.contains("Nothing was changed"))
        });
        let ok = if want_failure { code != 0 } else { code == 0 };
        // A transcript's first line of text (not a table) is in the output.
        let first_shown = s
            .output
            .as_ref()
            .and_then(|o| o.first())
            .map(|l| l.chars().take(25).collect::<String>())
            .filter(|l| l.starts_with(|c: char| c.is_ascii_alphabetic()));
        // Every other shown line that does not depend on timing is in the output as shown.
        // Compared without spaces: a table's padding depends on the environment names, which
        // carry this test's prefix; rules (lines of box-drawing characters only) are left out.
        let squeeze = |l: &str| l.split_whitespace().collect::<String>();
        let output_lines: Vec<String> = text.lines().map(squeeze).collect();
        let missing: Vec<&String> = s
            .output
            .iter()
            .flatten()
            // Error lines may name environments that earlier commands made; `...` elides.
            .filter(|l| {
                let l = l.trim();
                !l.is_empty() && l != "..." && !timed(l) && !l.starts_with("error:")
            })
            .filter(|l| {
                !l.chars()
                    .all(|c| c.is_whitespace() || "┌┬┐├┼┤└┴┘─═╞╪╡".contains(c))
            })
            .filter(|l| !output_lines.contains(&squeeze(l)))
            .collect();
        let shown_ok = first_shown
            .as_ref()
            .is_none_or(|l| text.contains(l.as_str()))
            && missing.is_empty();
        if !ok || !shown_ok {
            failures.push(format!(
                "{}:{}: `{}` exited {code}{}\n{}",
                s.file,
                s.line,
                s.command,
                if shown_ok {
                    String::new()
                } else {
                    format!(
                        ", without the shown {:?} {missing:?}",
                        first_shown.unwrap_or_default()
                    )
                },
                text.lines().take(12).collect::<Vec<_>>().join("\n")
            ));
        }
    }
    let _ = Command::new(WORLDS)
        .args(["down", "--all"])
        .current_dir(&t.dir)
        .output();
    assert!(ran >= 30, "only {ran} commands ran");
    assert!(
        failures.is_empty(),
        "{} of {ran} commands from the docs did not run as shown:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn commands_are_found_with_their_comments_and_quotes() {
    let text = "intro\n```sh\nworlds up   # start # all\nworlds query \"SELECT a\n  FROM t # not a comment\"\n$ worlds --env x status\nerror: no environment\n```\nworlds plan\n";
    let found = commands("t.md", text);
    let got: Vec<(&str, usize, bool)> = found
        .iter()
        .map(|s| (s.command.as_str(), s.line, s.output.is_some()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("worlds up", 3, false),
            (
                "worlds query \"SELECT a\nFROM t # not a comment\"",
                4,
                false
            ),
            ("worlds --env x status", 6, true),
        ]
    );
    assert_eq!(
        with_prefix("worlds --env  after up --env b", "p-"),
        "worlds --env p-after up --env p-b"
    );
    assert_eq!(
        with_prefix("worlds diff player --from before --to default", "p-"),
        "worlds diff player --from p-before --to p-default"
    );
    assert!(timed("3 of 3 worlds answered, 3 rows, 2 ms"));
    assert!(timed("took 1.5 s."));
    assert!(!timed("host1 ┆ 25 ┆ 9352"));
}
