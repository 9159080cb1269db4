//! Differential restores: one source world per test is filled with SQL and dumped with the
//! real mariadb-dump in many shapes; every dump is restored by `worlds up` (all of a test's
//! dumps in one environment) and, one after the other, by the stock client (`mariadb < dump`
//! in one container of the same image and server options). Both restores must leave the same
//! databases, tables, views, triggers, routines and events, the same
//! `CHECKSUM TABLE ... EXTENDED` and digest of every table's rows, the same `SHOW CREATE` text
//! (DEFINER aside: worlds names the restoring user on purpose) and the same results from the
//! routines the source defines; and the stock client's restore must match the source
//! database itself, except where a variant names what its dump cannot carry.
//!
//! All servers run in a time zone other than UTC, so that a dump's session time zone matters.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use common::{client_in, image_of, repo, Login, TestEnv};

/// Databases every server has; never compared.
const SYSTEM_DBS: &str = "'information_schema','mysql','performance_schema','sys'";

/// Bounds for the commands a test runs.
const CLIENT_LIMIT: Duration = Duration::from_secs(300);
const UP_LIMIT: Duration = Duration::from_secs(900);
const START_LIMIT: Duration = Duration::from_secs(180);

// ---------------------------------------------------------------------------------------
// Running commands with a time limit

/// Run `command`, feeding it `input`; kill it when it runs longer than `limit`.
fn run_bounded(mut command: Command, input: Option<&[u8]>, limit: Duration, what: &str) -> Output {
    command
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    // Write on another thread so a chatty client cannot block on a full stdout pipe. A client
    // that stops early closes its stdin: its exit status tells, not the broken pipe.
    let writer = input.map(|data| {
        let mut stdin = child.stdin.take().expect("piped stdin");
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        })
    });
    let pid = child.id();
    let (finished, wait) = mpsc::channel::<()>();
    let timed_out = Arc::new(AtomicBool::new(false));
    let flag = timed_out.clone();
    let watchdog = std::thread::spawn(move || {
        if let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(limit) {
            flag.store(true, Ordering::SeqCst);
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    });
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let _ = finished.send(());
    watchdog.join().expect("watchdog");
    if let Some(writer) = writer {
        writer.join().expect("writer");
    }
    assert!(
        !timed_out.load(Ordering::SeqCst),
        "{what}: no end within {} s\nstderr:\n{}",
        limit.as_secs(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A client's error output, short: its ERROR lines (or first lines), each cut at 300 chars.
fn brief(stderr: &str) -> String {
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("ERROR")).collect();
    let lines = if errors.is_empty() {
        stderr.lines().take(5).collect()
    } else {
        errors
    };
    lines
        .iter()
        .map(|l| l.chars().take(300).collect::<String>())
        .collect::<Vec<_>>()
        .join("\n      ")
}

/// The client inside `login`'s container with `args`, fed `input`.
fn client(login: &Login, args: &[&str], input: Option<&[u8]>) -> Output {
    run_bounded(
        client_in(login, args),
        input,
        CLIENT_LIMIT,
        &format!("mariadb in {}", login.container),
    )
}

/// Rows of `sql` as tab-separated lines (batch escaping), no column names.
fn rows(login: &Login, sql: &str) -> Vec<String> {
    let out = client(
        login,
        &[
            "--batch",
            "--skip-column-names",
            "--default-character-set=utf8mb4",
        ],
        Some(sql.as_bytes()),
    );
    assert!(
        out.status.success(),
        "{sql} in {} failed: {}",
        login.container,
        text(&out.stderr)
    );
    text(&out.stdout).lines().map(str::to_string).collect()
}

/// Undo the escaping of `mariadb --batch` in one field.
fn unescape(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut chars = field.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('0') => out.push('\0'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

// ---------------------------------------------------------------------------------------
// The source world and the reference server

/// A world started without a restore and filled with SQL, read by the real mariadb-dump.
struct Source {
    login: Login,
}

impl Source {
    fn start(t: &TestEnv) -> Source {
        let dumps = repo().join("dumps");
        let out = run_bounded(
            t.cmd(&[
                "up",
                "--dumps",
                dumps.to_str().unwrap(),
                "--hosts",
                "host1",
                "--no-restore",
            ]),
            None,
            START_LIMIT,
            "worlds up --no-restore",
        );
        assert!(
            out.status.success(),
            "worlds up --no-restore: {}\n{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        Source {
            login: t.login("host1"),
        }
    }

    /// Run SQL the way `mariadb --default-character-set=CHARSET < file` does.
    fn run(&self, sql: &[u8], charset: &str) {
        let arg = format!("--default-character-set={charset}");
        let out = client(&self.login, &[&arg], Some(sql));
        assert!(
            out.status.success(),
            "source SQL failed: {}",
            text(&out.stderr)
        );
    }

    fn dump(&self, args: &[&str]) -> Vec<u8> {
        // The password goes through the environment of `docker`, never a command line.
        let mut c = Command::new("docker");
        c.args(["exec", "-e", "MYSQL_PWD"])
            .args([self.login.container.as_str(), "mariadb-dump", "-uroot"])
            .args(args)
            .env("MYSQL_PWD", &self.login.password);
        let out = run_bounded(c, None, CLIENT_LIMIT, "mariadb-dump");
        assert!(
            out.status.success(),
            "mariadb-dump {args:?}: {}",
            text(&out.stderr)
        );
        out.stdout
    }
}

/// One server container, started like a world (same image, same server options) but
/// reached only through `docker exec`, where the stock client restores every dump in turn.
struct Reference {
    login: Login,
}

impl Reference {
    fn start(t: &TestEnv, like: &str) -> Reference {
        let image = image_of(like);
        let inspect = Command::new("docker")
            .args(["inspect", "--format", "{{json .Config.Cmd}}", like])
            .output()
            .expect("docker inspect");
        assert!(inspect.status.success(), "{}", text(&inspect.stderr));
        let server_args: Vec<String> = serde_json::from_slice(&inspect.stdout)
            .unwrap_or_else(|e| panic!("server options of {like}: {e}"));
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let reference = Reference {
            login: Login {
                container: format!("exact-reference-{}", t.env),
                password: format!("ref-{}-{nanos}", std::process::id()),
            },
        };
        // From here on, dropping `reference` removes the container, also after a panic.
        let mut run = Command::new("docker");
        run.args(["run", "-d", "--name", &reference.login.container])
            .args(["--label", &format!("io.worlds.test={}", t.env)])
            .args(["-e", "MARIADB_ROOT_PASSWORD", "-e", "MARIADB_ROOT_HOST=%"])
            .arg(&image)
            .args(&server_args)
            .env("MARIADB_ROOT_PASSWORD", &reference.login.password);
        let out = run_bounded(run, None, START_LIMIT, "docker run");
        assert!(
            out.status.success(),
            "docker run {image}: {}",
            text(&out.stderr)
        );
        reference.wait_ready();
        reference
    }

    /// A query through the container's own socket succeeds and is answered by a server
    /// with networking on: the password is set and the server that answers is the one that
    /// stays (an image may run a first server without networking while it initialises).
    fn wait_ready(&self) {
        let deadline = Instant::now() + START_LIMIT;
        loop {
            let out = client(
                &self.login,
                &[
                    "--batch",
                    "--skip-column-names",
                    "-e",
                    "SELECT @@skip_networking",
                ],
                None,
            );
            if out.status.success() && text(&out.stdout).trim() == "0" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the reference server did not start: {}",
                text(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// Drop every database but the system ones.
    fn reset(&self) {
        let dbs = rows(
            &self.login,
            &format!(
                "SELECT schema_name FROM information_schema.schemata \
                 WHERE schema_name NOT IN ({SYSTEM_DBS})"
            ),
        );
        if dbs.is_empty() {
            return;
        }
        let drops: String = dbs
            .iter()
            .map(|db| format!("DROP DATABASE {};\n", quote(&unescape(db))))
            .collect();
        let out = client(&self.login, &[], Some(drops.as_bytes()));
        assert!(out.status.success(), "reset: {}", text(&out.stderr));
    }

    /// `mariadb --default-character-set=CHARSET < dump`.
    fn restore(&self, dump: &[u8], charset: &str) -> Output {
        let arg = format!("--default-character-set={charset}");
        client(&self.login, &[&arg], Some(dump))
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", "-v", &self.login.container])
            .output();
    }
}

// ---------------------------------------------------------------------------------------
// Fingerprints

/// A statement whose output is compared: a routine call on a database's objects.
#[derive(Clone, Copy)]
struct Probe {
    db: &'static str,
    sql: &'static str,
}

/// What a server holds: (database, item) -> normalised value. Items are the database's
/// definition, each table's definition, checksum and row digest, each view, trigger,
/// procedure, function and event definition, and each probe's output.
type Fingerprint = BTreeMap<(String, String), String>;

/// `DEFINER=`user`@`host`` in any SHOW CREATE output.
fn definer() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"DEFINER=`(?:[^`]|``)*`@`(?:[^`]|``)*`").unwrap())
}

/// How a statement's output becomes a fingerprint value.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// SHOW CREATE: the row as printed, DEFINER normalised.
    Create,
    /// SHOW CREATE TRIGGER: as Create, without the `Created` time.
    Trigger,
    /// CHECKSUM TABLE: the checksum only.
    Checksum,
    /// A probe: every row as printed.
    Rows,
}

/// The fingerprint of the server behind `login`: all non-system databases, or only `only`;
/// `probes` run as well.
fn fingerprint(login: &Login, only: Option<&[&str]>, probes: &[Probe]) -> Fingerprint {
    let scope = |col: &str| match only {
        Some(dbs) => format!(
            "{col} IN ({})",
            dbs.iter()
                .map(|d| format!("'{d}'"))
                .collect::<Vec<_>>()
                .join(",")
        ),
        None => format!("{col} NOT IN ({SYSTEM_DBS})"),
    };
    let listing = format!(
        "SELECT 'database', schema_name, '' FROM information_schema.schemata WHERE {};\n\
         SELECT IF(table_type = 'VIEW', 'view', 'table'), table_schema, table_name \
           FROM information_schema.tables WHERE {};\n\
         SELECT 'trigger', trigger_schema, trigger_name FROM information_schema.triggers WHERE {};\n\
         SELECT LOWER(routine_type), routine_schema, routine_name \
           FROM information_schema.routines WHERE {};\n\
         SELECT 'event', event_schema, event_name FROM information_schema.events WHERE {};\n\
         SELECT 'column', c.table_schema, c.table_name, c.column_name, c.is_generated \
           FROM information_schema.columns c JOIN information_schema.tables t \
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
           WHERE t.table_type <> 'VIEW' AND {} \
           ORDER BY c.table_schema, c.table_name, c.ordinal_position;\n",
        scope("schema_name"),
        scope("table_schema"),
        scope("trigger_schema"),
        scope("routine_schema"),
        scope("event_schema"),
        scope("c.table_schema"),
    );
    let mut objects: Vec<(String, String, String)> = Vec::new();
    // (db, table) -> [(column, generated)]
    let mut columns: BTreeMap<(String, String), Vec<(String, bool)>> = BTreeMap::new();
    for line in rows(login, &listing) {
        let fields: Vec<String> = line.split('\t').map(unescape).collect();
        match &fields[..] {
            [kind, db, table, column, generated] if kind == "column" => columns
                .entry((db.clone(), table.clone()))
                .or_default()
                .push((column.clone(), generated != "NEVER")),
            [kind, db, name] => objects.push((kind.clone(), db.clone(), name.clone())),
            _ => panic!("unexpected listing line {line:?}"),
        }
    }
    let mut statements: Vec<((String, String), String, Shape)> = Vec::new();
    for (kind, db, name) in &objects {
        let object = format!("{}.{}", quote(db), quote(name));
        let key = |what: String| (db.clone(), what);
        match kind.as_str() {
            "database" => statements.push((
                key("database".into()),
                format!("SHOW CREATE DATABASE {}", quote(db)),
                Shape::Create,
            )),
            "table" => {
                statements.push((
                    key(format!("table {} definition", quote(name))),
                    format!("SHOW CREATE TABLE {object}"),
                    Shape::Create,
                ));
                let cols = &columns[&(db.clone(), name.clone())];
                // CHECKSUM TABLE of a table with generated columns changes from one run to
                // the next on this server; the row digest below covers those tables.
                if cols.iter().all(|(_, generated)| !generated) {
                    statements.push((
                        key(format!("table {} checksum", quote(name))),
                        format!("CHECKSUM TABLE {object} EXTENDED"),
                        Shape::Checksum,
                    ));
                }
                statements.push((
                    key(format!("table {} rows", quote(name))),
                    row_digest(&object, cols),
                    Shape::Rows,
                ));
            }
            "view" | "procedure" | "function" | "event" => statements.push((
                key(format!("{kind} {}", quote(name))),
                format!("SHOW CREATE {} {object}", kind.to_uppercase()),
                Shape::Create,
            )),
            "trigger" => statements.push((
                key(format!("trigger {}", quote(name))),
                format!("SHOW CREATE TRIGGER {object}"),
                Shape::Trigger,
            )),
            other => panic!("unexpected object kind {other}"),
        }
    }
    for probe in probes {
        statements.push((
            (probe.db.to_string(), format!("result of {}", probe.sql)),
            probe.sql.to_string(),
            Shape::Rows,
        ));
    }
    // One client run: a marker row before each statement, one statement per line, --force
    // so that an error (reported with its line) does not hide the statements after it.
    let mut input = String::from("SET SESSION group_concat_max_len = 1073741824;\n");
    for (i, (_, sql, _)) in statements.iter().enumerate() {
        assert!(!sql.contains('\n'), "{sql}");
        input.push_str(&format!("SELECT '~~{i}~~';\n{sql};\n"));
    }
    let out = client(
        login,
        &[
            "--batch",
            "--skip-column-names",
            "--force",
            "--default-character-set=utf8mb4",
        ],
        Some(input.as_bytes()),
    );
    let mut outputs: Vec<Vec<String>> = vec![Vec::new(); statements.len()];
    let mut current: Option<usize> = None;
    for line in text(&out.stdout).lines() {
        let marker = line
            .strip_prefix("~~")
            .and_then(|l| l.strip_suffix("~~"))
            .and_then(|n| n.parse::<usize>().ok());
        match (marker, current) {
            (Some(i), _) if i < statements.len() => current = Some(i),
            (_, Some(i)) => outputs[i].push(line.to_string()),
            (_, None) => panic!("output before the first marker: {line}"),
        }
    }
    // Statement i is on line 2i + 3 of the input.
    for line in text(&out.stderr).lines() {
        let at = line
            .split(" at line ")
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .and_then(|n| n.trim().parse::<usize>().ok());
        match at {
            Some(n) if n >= 3 && n % 2 == 1 && (n - 3) / 2 < statements.len() => {
                outputs[(n - 3) / 2].push(format!("ERROR: {line}"))
            }
            _ => panic!("unexpected client message in {}: {line}", login.container),
        }
    }
    statements
        .into_iter()
        .zip(outputs)
        .map(|((key, _, shape), lines)| {
            let value = match shape {
                Shape::Rows => lines.join("\n"),
                _ if lines.len() != 1 || lines[0].starts_with("ERROR: ") => lines.join("\n"),
                Shape::Checksum => lines[0].rsplit('\t').next().unwrap_or("").to_string(),
                Shape::Create | Shape::Trigger => {
                    let mut fields: Vec<&str> = lines[0].split('\t').collect();
                    if shape == Shape::Trigger && fields.len() >= 7 {
                        // Trigger, sql_mode, statement, character sets, collations, Created.
                        fields.remove(6);
                    }
                    definer()
                        .replace_all(&fields.join("\t"), "DEFINER=<user>")
                        .into_owned()
                }
            };
            (key, value)
        })
        .collect()
}

/// A query for the number of rows of `table` and a digest of their exact bytes, in any
/// order: every column (generated ones too) as the hex of its value cast to binary.
fn row_digest(table: &str, columns: &[(String, bool)]) -> String {
    let fields: Vec<String> = columns
        .iter()
        .map(|(c, _)| format!("IFNULL(HEX(CAST({} AS BINARY)), 'NULL')", quote(c)))
        .collect();
    format!(
        "SELECT COUNT(*), SHA2(GROUP_CONCAT(r ORDER BY r SEPARATOR ';'), 256) \
         FROM (SELECT CONCAT_WS(',', {}) AS r FROM {table}) AS x",
        fields.join(", ")
    )
}

/// The fingerprint restricted to `dbs`.
fn restrict(fp: &Fingerprint, dbs: &[&str]) -> Fingerprint {
    fp.iter()
        .filter(|((db, _), _)| dbs.contains(&db.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Shorten a value around `at` (a char index) for a message.
fn excerpt(value: &str, at: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    let start = at.saturating_sub(60).min(chars.len());
    let end = (at + 140).min(chars.len());
    // Carriage returns and other control characters are shown, not printed; so are the
    // ends of result rows.
    let shown: String = chars[start..end]
        .iter()
        .map(|&c| match c {
            '\r' => "\\r".to_string(),
            '\n' => " \u{23ce} ".to_string(),
            '\t' => "\t".to_string(),
            c if c.is_control() => format!("\\u{{{:x}}}", c as u32),
            c => c.to_string(),
        })
        .collect();
    format!(
        "{}{shown}{}",
        if start > 0 { "..." } else { "" },
        if end < chars.len() { "..." } else { "" }
    )
}

/// Every difference between two fingerprints, as messages.
fn differences(
    want_name: &str,
    want: &Fingerprint,
    got_name: &str,
    got: &Fingerprint,
) -> Vec<String> {
    let keys: BTreeSet<&(String, String)> = want.keys().chain(got.keys()).collect();
    let width = want_name.len().max(got_name.len());
    let mut out = Vec::new();
    for key @ (db, what) in keys {
        let item = format!("{}: {what}", quote(db));
        match (want.get(key), got.get(key)) {
            (Some(w), None) => out.push(format!(
                "{item}: missing in {got_name}\n      {want_name:width$}: {}",
                excerpt(w, 0)
            )),
            (None, Some(g)) => out.push(format!(
                "{item}: only in {got_name}\n      {got_name:width$}: {}",
                excerpt(g, 0)
            )),
            (Some(w), Some(g)) if w != g => {
                let at = w
                    .chars()
                    .zip(g.chars())
                    .position(|(a, b)| a != b)
                    .unwrap_or_else(|| w.chars().count().min(g.chars().count()));
                out.push(format!(
                    "{item}: differs (from character {at})\n      {want_name:width$}: {}\n      {got_name:width$}: {}",
                    excerpt(w, at),
                    excerpt(g, at)
                ));
            }
            _ => {}
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Variants and the comparison of their restores

/// What `worlds up` must make of a dump.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Expect {
    /// `ready`, with the stock client's restore (which matches the source).
    Same,
    /// `failed`, with this text in the world's failure message.
    Fails(&'static str),
}

/// One dump, restored as its own world.
struct Variant {
    world: &'static str,
    what: &'static str,
    dump: Vec<u8>,
    /// The stock client's `--default-character-set`.
    charset: &'static str,
    /// The source databases the dump holds.
    dbs: &'static [&'static str],
    expect: Expect,
    /// Items (database, item) where the dump itself cannot give back the source, so the
    /// stock client's restore is the only reference.
    source_differs: &'static [(&'static str, &'static str)],
}

impl Variant {
    fn new(world: &'static str, what: &'static str, dbs: &'static [&'static str]) -> Variant {
        Variant {
            world,
            what,
            dump: Vec::new(),
            charset: "utf8mb4",
            dbs,
            expect: Expect::Same,
            source_differs: &[],
        }
    }

    fn dump(mut self, dump: Vec<u8>) -> Variant {
        self.dump = dump;
        self
    }

    fn charset(mut self, charset: &'static str) -> Variant {
        self.charset = charset;
        self
    }

    fn source_differs(mut self, items: &'static [(&'static str, &'static str)]) -> Variant {
        self.source_differs = items;
        self
    }

    fn fails(mut self, mention: &'static str) -> Variant {
        self.expect = Expect::Fails(mention);
        self
    }
}

/// A test environment whose servers run with a time zone other than UTC, so that session
/// time zones in a dump matter.
fn environment(name: &str, slot: u16) -> TestEnv {
    let t = TestEnv::new(name, slot);
    t.write_config("buffer_pool: 64M\nserver_args: ['--default-time-zone=+03:00']\n");
    t
}

/// The text `worlds up` printed about `world`'s failure.
fn failure_section(err: &str, world: &str, all: &[Variant]) -> Option<String> {
    let start = err.find(&format!("\n{world} failed: "))? + 1;
    let rest = &err[start..];
    let end = all
        .iter()
        .filter(|v| v.world != world)
        .filter_map(|v| rest.find(&format!("\n{} failed: ", v.world)))
        .min()
        .unwrap_or(rest.len());
    let end = rest[..end].find("\n\n").unwrap_or(end);
    Some(rest[..end].to_string())
}

/// Restore every variant with `worlds up` (one environment) and with the stock client, and
/// compare; fails with every problem found, by variant.
fn compare_restores(t: &TestEnv, source: &Source, variants: &[Variant], probes: &[Probe]) {
    let dir = t.subdir("dumps");
    for v in variants {
        assert!(!v.dump.is_empty(), "{}: empty dump", v.world);
        std::fs::write(
            dir.join(format!("{}_fulldump_20240101_000000.sql", v.world)),
            &v.dump,
        )
        .unwrap();
    }
    let reference = Reference::start(t, &source.login.container);
    let clock = Instant::now();
    let up = run_bounded(
        t.cmd(&["up", "--dumps", "dumps", "--jobs", "3"]),
        None,
        UP_LIMIT,
        "worlds up",
    );
    eprintln!(
        "worlds up: {} worlds in {:.1} s",
        variants.len(),
        clock.elapsed().as_secs_f64()
    );
    let up_err = text(&up.stderr);
    let mut problems: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let want_code = if variants.iter().any(|v| v.expect != Expect::Same) {
        1
    } else {
        0
    };
    assert!(
        matches!(up.status.code(), Some(0 | 1)),
        "worlds up: {:?}\n{}\n{up_err}",
        up.status.code(),
        text(&up.stdout)
    );
    if up.status.code() != Some(want_code) {
        problems.entry("worlds up").or_default().push(format!(
            "worlds up exited with {:?}, want {want_code}",
            up.status.code()
        ));
    }
    let status = t.json(&["status", "--format", "json"]);
    let state = |world: &str| -> String {
        status["worlds"]
            .as_array()
            .and_then(|a| a.iter().find(|w| w["world"] == world))
            .and_then(|w| w["state"].as_str())
            .unwrap_or("absent")
            .to_string()
    };

    let source_fp = fingerprint(&source.login, None, probes);
    let mut compared = 0;
    for v in variants {
        let got_state = state(v.world);
        let failure = failure_section(&up_err, v.world, variants).unwrap_or_default();
        let failure = failure.trim_end().replace('\n', "\n      ");
        let mut found: Vec<String> = Vec::new();
        let mut path = String::new();
        match v.expect {
            Expect::Fails(_) if got_state != "failed" => {
                found.push(format!("state is {got_state}, want failed"))
            }
            Expect::Fails(mention) if !failure.contains(mention) => found.push(format!(
                "the failure message does not mention {mention:?}:\n      {failure}"
            )),
            Expect::Fails(_) => {}
            Expect::Same => {
                let probes: Vec<Probe> = probes
                    .iter()
                    .filter(|p| v.dbs.contains(&p.db))
                    .copied()
                    .collect();
                let mut want = restrict(&source_fp, v.dbs);
                for db in v.dbs {
                    assert!(
                        want.contains_key(&(db.to_string(), "database".into()))
                            && want
                                .keys()
                                .any(|(d, w)| d == db && w.ends_with(" checksum")),
                        "{}: the source has no tables in {db}",
                        v.world
                    );
                }
                reference.reset();
                let stock = reference.restore(&v.dump, v.charset);
                let stock_fp = if stock.status.success() {
                    let fp = fingerprint(&reference.login, None, &probes);
                    let mut restored = fp.clone();
                    for (db, item) in v.source_differs {
                        let key = (db.to_string(), item.to_string());
                        assert!(want.remove(&key).is_some(), "{}: no {key:?}", v.world);
                        restored.remove(&key);
                    }
                    for d in differences("source", &want, "stock client", &restored) {
                        found.push(format!("the stock client differs from the source: {d}"));
                    }
                    Some(fp)
                } else {
                    found.push(format!(
                        "the stock client failed, nothing to compare with: {}",
                        brief(&text(&stock.stderr))
                    ));
                    None
                };
                if got_state != "ready" {
                    found.push(format!("state is {got_state}, want ready\n      {failure}"));
                } else if let Some(stock_fp) = stock_fp {
                    let login = t.login(v.world);
                    let loads = rows(&login, "SHOW GLOBAL STATUS LIKE 'Com_load'");
                    path = loads
                        .first()
                        .and_then(|l| l.split('\t').nth(1))
                        .map(|n| format!(" ({n} LOAD DATA statements in the world)"))
                        .unwrap_or_default();
                    let world_fp = fingerprint(&login, None, &probes);
                    for d in differences("stock client", &stock_fp, "worlds", &world_fp) {
                        found.push(format!("worlds differs from the stock client: {d}"));
                    }
                    compared += 1;
                }
            }
        }
        // Which restore path worlds took, for the reader of the log.
        let serial = up_err
            .lines()
            .find_map(|l| {
                l.split_once(&format!("{}_fulldump_", v.world))?
                    .1
                    .split_once("restoring serially: ")
            })
            .map(|(_, why)| format!(" (worlds restored it serially: {why})"))
            .unwrap_or_default();
        eprintln!(
            "{} ({}): {}{path}{serial}",
            v.world,
            v.what,
            if found.is_empty() {
                "as expected".to_string()
            } else {
                format!("{} problems", found.len())
            }
        );
        if !found.is_empty() {
            problems.insert(v.world, found);
        }
    }
    drop(reference);

    if !problems.is_empty() {
        let mut report = String::new();
        for (world, found) in &problems {
            let title = match variants.iter().find(|v| v.world == *world) {
                Some(v) => format!("{world} ({})", v.what),
                None => world.to_string(),
            };
            report.push_str(&format!("\n== {title}: {} problems\n", found.len()));
            for f in found.iter().take(10) {
                report.push_str(&format!("  - {f}\n"));
            }
            if found.len() > 10 {
                report.push_str(&format!("  ... and {} more\n", found.len() - 10));
            }
        }
        panic!(
            "{} of {} variants are not restored as they should be:{report}",
            problems.keys().filter(|w| **w != "worlds up").count(),
            variants.len()
        );
    }
    assert!(compared > 0, "no world was compared");
}

// ---------------------------------------------------------------------------------------
// Editing real dumps

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

fn replace_all(hay: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while let Some(at) = find(hay, from, i) {
        out.extend_from_slice(&hay[i..at]);
        out.extend_from_slice(to);
        i = at + from.len();
    }
    out.extend_from_slice(&hay[i..]);
    out
}

/// The end of the first `UNLOCK TABLES;` line after `after`.
fn end_of_data_after(dump: &[u8], after: &[u8]) -> usize {
    let from = find(dump, after, 0).unwrap_or_else(|| panic!("no {:?} in the dump", text(after)));
    let unlock = b"UNLOCK TABLES;\n";
    find(dump, unlock, from).expect("UNLOCK TABLES after the data") + unlock.len()
}

/// The data statements of a one-table dump: `LOCK TABLES` ... `UNLOCK TABLES;`.
fn data_block(part: &[u8]) -> &[u8] {
    let start = find(part, b"\nLOCK TABLES ", 0).expect("LOCK TABLES in the part") + 1;
    &part[start..end_of_data_after(part, b"\nLOCK TABLES ")]
}

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

// ---------------------------------------------------------------------------------------
// 1. Qualified names and one table's rows in several places of a stream

const SPLIT_SQL: &str = r#"
CREATE DATABASE qa CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE qb CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE TABLE qa.t (id INT NOT NULL PRIMARY KEY, v VARCHAR(80) NOT NULL, n INT NULL, KEY idx_v (v)) ENGINE=InnoDB;
CREATE TABLE qb.t (id INT NOT NULL PRIMARY KEY, v VARCHAR(80) NOT NULL, n INT NULL, KEY idx_v (v)) ENGINE=InnoDB;
USE qa;
INSERT INTO qa.t SELECT seq, CONCAT('qa row ', seq, IF(seq % 4 = 0, ' it''s; (x)', '')), seq * 3 FROM seq_1_to_60;
INSERT INTO qb.t SELECT seq, CONCAT('qb row ', seq, IF(seq % 5 = 0, ' back\\slash', '')), IF(seq % 7 = 0, NULL, seq * 11) FROM seq_1_to_120;
CREATE FUNCTION qa.f_total() RETURNS VARCHAR(100) DETERMINISTIC
  RETURN CONCAT((SELECT COUNT(*) FROM qa.t), '/', (SELECT SUM(n) FROM qa.t), ' ',
                (SELECT COUNT(*) FROM qb.t), '/', (SELECT SUM(n) FROM qb.t), '/', (SELECT MAX(v) FROM qb.t));

CREATE DATABASE inter;
USE inter;
CREATE TABLE t1 (id INT NOT NULL PRIMARY KEY, a VARCHAR(40) NOT NULL, b DECIMAL(8,2) NULL, KEY idx_a (a)) ENGINE=InnoDB;
CREATE TABLE t2 (id INT NOT NULL PRIMARY KEY, t1_id INT NOT NULL, c VARCHAR(40) NULL, KEY idx_t1 (t1_id)) ENGINE=InnoDB;
INSERT INTO t1 SELECT seq, CONCAT('a', seq, IF(seq % 3 = 0, ';\n', '')), seq / 4 FROM seq_1_to_120;
INSERT INTO t2 SELECT seq, 1 + (seq * 7) % 120, IF(seq % 6 = 0, NULL, CONCAT('c''', seq)) FROM seq_1_to_60;
CREATE VIEW v_join AS SELECT t2.id, t1.a, t2.c FROM t2 JOIN t1 ON t1.id = t2.t1_id;
DELIMITER ;;
CREATE TRIGGER t2_bu BEFORE UPDATE ON t2 FOR EACH ROW SET NEW.c = CONCAT(NEW.c, '!');;
CREATE PROCEDURE p_counts()
BEGIN
  SELECT COUNT(*), SUM(b), MAX(a) FROM t1;
  SELECT COUNT(*), SUM(t1_id), MAX(c) FROM t2;
  SELECT COUNT(*) FROM v_join;
END;;
DELIMITER ;

CREATE DATABASE names CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
USE names;
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  s VARCHAR(60) NOT NULL,
  l VARCHAR(60) CHARACTER SET latin1 NULL,
  KEY idx_s (s)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
INSERT INTO t SELECT seq,
  IF(seq BETWEEN 41 AND 80, CONCAT('emoji 😀 日本 ', seq),
     CONCAT(ELT(1 + seq % 4, 'café', 'Müller', 'straße', '½ © ±'), ' ', seq)),
  CONCAT(ELT(1 + seq % 3, 'élan', 'naïve', 'Ångström'), ' ', seq)
FROM seq_1_to_120;
CREATE FUNCTION f_names() RETURNS TEXT DETERMINISTIC
  RETURN (SELECT GROUP_CONCAT(id, ':', HEX(s), ':', HEX(l) ORDER BY id) FROM t WHERE id IN (1, 2, 40, 41, 80, 81, 120));

CREATE DATABASE times;
USE times;
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  ts TIMESTAMP(3) NULL DEFAULT NULL,
  dt DATETIME NULL,
  ts2 TIMESTAMP NOT NULL DEFAULT '2001-02-03 04:05:06'
) ENGINE=InnoDB;
INSERT INTO t SELECT seq, FROM_UNIXTIME(1700000000.125 + seq * 5000), FROM_UNIXTIME(1600000000 + seq * 777),
  FROM_UNIXTIME(1500000000 + seq * 86400) FROM seq_1_to_120;
CREATE PROCEDURE p_times()
  SELECT id, ts, dt, ts2, UNIX_TIMESTAMP(ts), UNIX_TIMESTAMP(ts2) FROM t WHERE id IN (1, 40, 41, 80, 81, 120) ORDER BY id;
"#;

const SPLIT_PROBES: &[Probe] = &[
    Probe {
        db: "qa",
        sql: "SELECT qa.f_total()",
    },
    Probe {
        db: "inter",
        sql: "CALL inter.p_counts()",
    },
    Probe {
        db: "names",
        sql: "SELECT names.f_names()",
    },
    Probe {
        db: "times",
        sql: "CALL times.p_times()",
    },
];

/// `qb`'s rows 1..60 and `qa` as dumped, then, right after `qa.t`'s data (so while
/// `USE qa` is in force, and `qa` has a table `t` too), `qb.t`'s rows 61..120 as
/// `INSERT INTO `qb`.`t``.
fn qualified_dump(source: &Source, extra: &[&str]) -> Vec<u8> {
    let mut args = vec!["--routines", "--where", "id<=60"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--databases", "qb", "qa"]);
    let base = source.dump(&args);
    let mut args = vec!["--no-create-info", "--skip-triggers", "--where", "id>60"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["qb", "t"]);
    let part = source.dump(&args);
    let block = replace_all(data_block(&part), b"`t`", b"`qb`.`t`");
    assert!(count(&block, b"INSERT INTO `qb`.`t` VALUES") >= 1);
    let at = end_of_data_after(&base, b"\nUSE `qa`;\n");
    let dump = concat(&[&base[..at], &block, &base[at..]]);
    assert!(find(&dump, b"USE `qa`;", 0) < find(&dump, b"INSERT INTO `qb`.`t`", 0));
    dump
}

#[test]
fn qualified_names_and_split_tables_restore_like_the_stock_client() {
    let t = environment("exact-split", 25);
    let source = Source::start(&t);
    source.run(SPLIT_SQL.as_bytes(), "utf8mb4");

    // 1. INSERT INTO qb.t while USE qa: one extended INSERT of 60 rows, then one per row.
    let qualified = qualified_dump(&source, &[]);
    assert_eq!(count(&qualified, b"INSERT INTO `qb`.`t` VALUES"), 1);
    let qualified_rows = qualified_dump(&source, &["--skip-extended-insert"]);
    assert_eq!(count(&qualified_rows, b"INSERT INTO `qb`.`t` VALUES"), 60);

    // 3a. --where ranges one after another: t1, t2, t1 again.
    let ranges = concat(&[
        &source.dump(&["--no-data", "--routines", "--databases", "inter"]),
        &source.dump(&[
            "--no-create-info",
            "--skip-triggers",
            "--where",
            "id<50",
            "inter",
            "t1",
        ]),
        &source.dump(&["--no-create-info", "--skip-triggers", "inter", "t2"]),
        &source.dump(&[
            "--no-create-info",
            "--skip-triggers",
            "--where",
            "id>=50",
            "inter",
            "t1",
        ]),
    ]);
    assert_eq!(count(&ranges, b"INSERT INTO `t1` VALUES"), 2);

    // 3b. Two complete dumps, one after the other: the same one twice (its second half drops
    // and makes again what the first made), and two of other databases, the second without
    // `SET TIME_ZONE` (--skip-tz-utc), after the first one's `SET TIME_ZONE=@OLD_TIME_ZONE`.
    let full = source.dump(&["--routines", "--events", "--databases", "qa", "qb", "inter"]);
    let twice = concat(&[&full, &full]);
    let local_times = source.dump(&["--routines", "--skip-tz-utc", "--databases", "times"]);
    assert!(count(&local_times, b"TIME_ZONE") == 0);
    let two = concat(&[&full, &local_times]);

    // 3c. Parts of one table under SET NAMES latin1, utf8mb4, latin1.
    let latin1 = |range: &str| {
        source.dump(&[
            "--default-character-set=latin1",
            "--no-create-info",
            "--where",
            range,
            "names",
            "t",
        ])
    };
    let (first, last) = (latin1("id<=40"), latin1("id>80"));
    assert!(count(&first, b"SET NAMES latin1") == 1 && count(&first, b"caf\xe9") > 0);
    let middle = source.dump(&[
        "--no-create-info",
        "--where",
        "id>40 AND id<=80",
        "names",
        "t",
    ]);
    assert!(count(&middle, b"SET NAMES utf8mb4") == 1 && count(&middle, "😀".as_bytes()) > 0);
    let names = concat(&[
        &source.dump(&["--no-data", "--routines", "--databases", "names"]),
        &first,
        &middle,
        &last,
    ]);

    // 3c. Parts of one table in UTC (--tz-utc), in the server's zone (--skip-tz-utc), in UTC.
    let utc = |range: &str| source.dump(&["--no-create-info", "--where", range, "times", "t"]);
    let (first, last) = (utc("id<=40"), utc("id>80"));
    let local = source.dump(&[
        "--skip-tz-utc",
        "--no-create-info",
        "--where",
        "id>40 AND id<=80",
        "times",
        "t",
    ]);
    assert!(count(&first, b"SET TIME_ZONE='+00:00'") == 1);
    assert!(count(&local, b"TIME_ZONE") == 0);
    let times = concat(&[
        &source.dump(&["--no-data", "--routines", "--databases", "times"]),
        &first,
        &local,
        &last,
    ]);

    let variants = vec![
        Variant::new(
            "v01",
            "INSERT INTO qb.t while USE qa, extended INSERT",
            &["qa", "qb"],
        )
        .dump(qualified),
        Variant::new(
            "v02",
            "INSERT INTO qb.t while USE qa, one row per INSERT",
            &["qa", "qb"],
        )
        .dump(qualified_rows),
        Variant::new("v03", "--where ranges t1, t2, t1", &["inter"]).dump(ranges),
        Variant::new(
            "v04",
            "two complete dumps concatenated",
            &["qa", "qb", "inter"],
        )
        .dump(twice),
        Variant::new(
            "v05",
            "one table in parts under SET NAMES latin1, utf8mb4, latin1",
            &["names"],
        )
        .dump(names),
        Variant::new(
            "v06",
            "one table in parts with --tz-utc, --skip-tz-utc, --tz-utc",
            &["times"],
        )
        .dump(times),
        Variant::new(
            "v07",
            "two complete dumps of other databases concatenated, the second --skip-tz-utc",
            &["qa", "qb", "inter", "times"],
        )
        .dump(two),
    ];
    compare_restores(&t, &source, &variants, SPLIT_PROBES);
}

// ---------------------------------------------------------------------------------------
// 2. Multi-byte character sets whose second byte can be 0x5C; CREATE TABLE shapes

/// A character set, its test database, a character whose second byte is 0x5C and a plain
/// two-byte character (hex).
struct Multibyte {
    charset: &'static str,
    db: &'static str,
    trail_5c: &'static str,
    plain: &'static str,
}

const MULTIBYTE: [Multibyte; 4] = [
    Multibyte {
        charset: "gbk",
        db: "cgbk",
        trail_5c: "815C",
        plain: "D6D0",
    },
    Multibyte {
        charset: "big5",
        db: "cbig5",
        trail_5c: "A45C",
        plain: "A4A4",
    },
    Multibyte {
        charset: "sjis",
        db: "csjis",
        trail_5c: "955C",
        plain: "93FA",
    },
    Multibyte {
        charset: "cp932",
        db: "ccp932",
        trail_5c: "955C",
        plain: "93FA",
    },
];

/// `@X@` is replaced by the raw bytes of the 0x5C-trail character: the routine and the view
/// hold string literals that end in it, sent in the character set itself.
const MULTIBYTE_SQL: &str = r#"
CREATE DATABASE {db} CHARACTER SET {cs};
USE {db};
CREATE TABLE t (
  id INT NOT NULL PRIMARY KEY,
  a VARCHAR(60) NULL,
  b VARCHAR(60) NULL,
  c TEXT NULL,
  KEY idx_a (a(8))
) ENGINE=InnoDB DEFAULT CHARSET={cs};
SET @x = CONVERT(UNHEX('{x}') USING {cs}), @p = CONVERT(UNHEX('{p}') USING {cs});
INSERT INTO t SELECT seq,
  CASE seq % 7
    WHEN 0 THEN CONCAT('end', @x)
    WHEN 1 THEN CONCAT(@x, 'n')
    WHEN 2 THEN CONCAT(@x, '''')
    WHEN 3 THEN CONCAT(@x, 't', @x)
    WHEN 4 THEN CONCAT('mid', @x, @p, 'dle')
    WHEN 5 THEN @x
    ELSE CONCAT(@p, @x, @x) END,
  IF(seq % 5 = 0, NULL, CONCAT('back\\slash ', seq)),
  CONCAT(@x, '\\', @x, '\'', @p, REPEAT(@x, seq % 4), IF(seq % 2 = 0, CONCAT(@x, '\\n'), ''))
FROM seq_1_to_30;
CREATE FUNCTION f_x() RETURNS VARCHAR(40) CHARSET {cs} DETERMINISTIC RETURN CONCAT('ends in ', '@X@');
CREATE VIEW v_tail AS SELECT id, CONCAT(a, '@X@') AS tailed FROM t WHERE id <= 8;
"#;

const SHAPES_SQL: &str = r#"
CREATE DATABASE shapes CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE shapes;
CREATE TABLE `dot.ted` (
  id INT NOT NULL,
  code VARCHAR(20) NOT NULL,
  label VARCHAR(100) NOT NULL,
  label_len INT AS (CHAR_LENGTH(label)) VIRTUAL,
  PRIMARY KEY (id),
  UNIQUE KEY `uk(code, ``x``)` (code),
  KEY `k.label,(10)` (label(10)) USING BTREE
) ENGINE=InnoDB COMMENT='a table; AUTO_INCREMENT=99 KEY (x)';
INSERT INTO `dot.ted` (id, code, label) SELECT seq, CONCAT('C', LPAD(seq, 3, '0')), CONCAT('label (', seq, '), AUTO_INCREMENT') FROM seq_1_to_40;
CREATE TABLE child (
  ref VARCHAR(20) NOT NULL,
  note VARCHAR(100) NOT NULL COMMENT 'not the AUTO_INCREMENT, nor KEY (`x`)',
  seq INT NOT NULL AUTO_INCREMENT,
  parent_code VARCHAR(20) NULL,
  name VARCHAR(200) NOT NULL,
  score INT NOT NULL,
  twice INT AS (score * 2) STORED,
  PRIMARY KEY (ref),
  KEY `seq(first), ``a``` (seq, score DESC),
  KEY by_name (name(10), score DESC) USING BTREE,
  KEY `fk(dot)` (parent_code),
  CONSTRAINT `fk_dot.ted(code)` FOREIGN KEY (parent_code) REFERENCES `dot.ted` (code) ON UPDATE CASCADE
) ENGINE=InnoDB AUTO_INCREMENT=1000;
INSERT INTO child (ref, note, seq, parent_code, name, score)
SELECT CONCAT('r', seq), CONCAT('note ', seq), 1000 + seq * 2,
  IF(seq % 9 = 0, NULL, CONCAT('C', LPAD(1 + seq % 40, 3, '0'))),
  CONCAT('name ', REPEAT('n', seq % 30), seq), (seq * 37) % 101
FROM seq_1_to_120;
CREATE TABLE `multi.part` (
  a INT NOT NULL,
  b VARCHAR(50) NOT NULL,
  c DATETIME NOT NULL,
  d TEXT NULL,
  PRIMARY KEY (a, b(10)),
  KEY k_c_desc (c DESC, a),
  KEY `k(b,d)` (b(5), d(20)) USING BTREE
) ENGINE=InnoDB;
INSERT INTO `multi.part` SELECT seq % 7, CONCAT('b', seq), DATE_ADD('2024-01-01', INTERVAL seq HOUR),
  IF(seq % 4 = 0, NULL, CONCAT('d (', seq, '), `', seq, '`')) FROM seq_1_to_90;
CREATE VIEW `v.children` AS SELECT c.ref, d.label FROM child c JOIN `dot.ted` d ON d.code = c.parent_code;
DELIMITER ;;
CREATE PROCEDURE p_shapes()
BEGIN
  SELECT COUNT(*), MAX(seq), SUM(score), SUM(twice) FROM child;
  SELECT COUNT(*), MAX(label), SUM(label_len) FROM `v.children` JOIN `dot.ted` USING (label);
  SELECT COUNT(*), MAX(c), SUM(a) FROM `multi.part`;
END;;
DELIMITER ;
"#;

const MULTIBYTE_PROBES: &[Probe] = &[
    Probe {
        db: "cgbk",
        sql: "SELECT HEX(cgbk.f_x()), (SELECT GROUP_CONCAT(id, ':', HEX(tailed)) FROM cgbk.v_tail)",
    },
    Probe {
        db: "cbig5",
        sql: "SELECT HEX(cbig5.f_x()), (SELECT GROUP_CONCAT(id, ':', HEX(tailed)) FROM cbig5.v_tail)",
    },
    Probe {
        db: "csjis",
        sql: "SELECT HEX(csjis.f_x()), (SELECT GROUP_CONCAT(id, ':', HEX(tailed)) FROM csjis.v_tail)",
    },
    Probe {
        db: "ccp932",
        sql: "SELECT HEX(ccp932.f_x()), (SELECT GROUP_CONCAT(id, ':', HEX(tailed)) FROM ccp932.v_tail)",
    },
    Probe {
        db: "shapes",
        sql: "CALL shapes.p_shapes()",
    },
];

fn hex(bytes: &str) -> Vec<u8> {
    (0..bytes.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&bytes[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn multibyte_charsets_and_create_table_shapes_restore_like_the_stock_client() {
    let t = environment("exact-charsets", 26);
    let source = Source::start(&t);
    for m in &MULTIBYTE {
        let sql = MULTIBYTE_SQL
            .replace("{db}", m.db)
            .replace("{cs}", m.charset)
            .replace("{x}", m.trail_5c)
            .replace("{p}", m.plain);
        source.run(
            &replace_all(sql.as_bytes(), b"@X@", &hex(m.trail_5c)),
            m.charset,
        );
    }
    source.run(SHAPES_SQL.as_bytes(), "utf8mb4");

    let multibyte = |m: &Multibyte, extra: &[&str]| {
        let charset = format!("--default-character-set={}", m.charset);
        let mut args = vec![charset.as_str(), "--routines"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--databases", m.db]);
        let dump = source.dump(&args);
        // The 0x5C trail bytes are in the dump unescaped, some right before a quote.
        let x = hex(m.trail_5c);
        assert!(count(&dump, &[&x[..], b"'"].concat()) > 0, "{}", m.charset);
        assert!(count(&dump, &[&x[..], b"n"].concat()) > 0, "{}", m.charset);
        dump
    };
    let [gbk, big5, sjis, cp932] = &MULTIBYTE;
    let variants = vec![
        Variant::new("v01", "gbk, 0x5C second bytes", &["cgbk"])
            .dump(multibyte(gbk, &[]))
            .charset("gbk"),
        Variant::new("v02", "big5, 0x5C second bytes", &["cbig5"])
            .dump(multibyte(big5, &[]))
            .charset("big5"),
        Variant::new("v03", "sjis, 0x5C second bytes", &["csjis"])
            .dump(multibyte(sjis, &[]))
            .charset("sjis"),
        Variant::new("v04", "cp932, 0x5C second bytes", &["ccp932"])
            .dump(multibyte(cp932, &[]))
            .charset("cp932"),
        Variant::new(
            "v05",
            "gbk, 0x5C second bytes, one row per INSERT",
            &["cgbk"],
        )
        .dump(multibyte(gbk, &["--skip-extended-insert"]))
        .charset("gbk"),
        Variant::new(
            "v06",
            "CREATE TABLE shapes: dotted names, odd key names, AUTO_INCREMENT not first",
            &["shapes"],
        )
        .dump(source.dump(&["--routines", "--databases", "shapes"])),
    ];
    compare_restores(&t, &source, &variants, MULTIBYTE_PROBES);
}

// ---------------------------------------------------------------------------------------
// 3. mariadb-dump options, CRLF, a dump without comments and a cut dump

const RICH_SQL: &str = r#"
CREATE DATABASE rich CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE rich;
CREATE TABLE tiny (id INT NOT NULL PRIMARY KEY, label VARCHAR(40) NOT NULL) ENGINE=InnoDB;
INSERT INTO tiny VALUES (1,'one'),(2,'two; too'),(3,'it''s'),(4,'back\\slash'),(5,'tab\there'),(6,'😀'),(7,'');
CREATE TABLE big (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  note TEXT NULL,
  doc JSON NULL,
  bin VARBINARY(64) NULL,
  blb BLOB NULL,
  amount DECIMAL(12,3) NULL,
  ratio DOUBLE NULL,
  f FLOAT NULL,
  d DATE NULL,
  dt DATETIME(6) NULL,
  ts TIMESTAMP NULL DEFAULT NULL,
  tm TIME NULL,
  y YEAR NULL,
  flags BIT(10) NULL,
  e ENUM('red','green','blue') NULL,
  s SET('a','b','c') NULL,
  bu BIGINT UNSIGNED NULL,
  KEY idx_name (name),
  KEY idx_amount (amount, id)
) ENGINE=InnoDB;
INSERT INTO big (id, name, note, doc, bin, blb, amount, ratio, f, d, dt, ts, tm, y, flags, e, s, bu)
SELECT seq,
  CONCAT(ELT(1 + seq % 6, 'plain', 'O''Brien', 'semi;colon', 'emoji 😀', 'back\\slash', 'quote"d'), ' ', seq),
  IF(seq % 7 = 0, NULL, CONCAT('line1\nline2\r\n\ttab /* c */ -- d; ', REPEAT('x', seq % 13), CHAR(0), 'z', CHAR(26))),
  IF(seq % 5 = 0, NULL, JSON_OBJECT('n', seq, 's', CONCAT('it''s ', seq), 'a', JSON_ARRAY(1, 'x;y'))),
  IF(seq % 9 = 0, NULL, UNHEX(SHA2(seq, 256))),
  IF(seq % 11 = 0, '', UNHEX(REPEAT(SHA2(seq, 256), 1 + seq % 3))),
  IF(seq % 4 = 0, NULL, seq * 1.125 - 50),
  seq / 8,
  seq / 4,
  DATE_ADD('2020-01-01', INTERVAL seq DAY),
  DATE_ADD('2021-06-01 10:00:00.123456', INTERVAL seq * 3601 SECOND),
  FROM_UNIXTIME(1700000000 + seq * 3600),
  SEC_TO_TIME(seq * 97),
  1990 + seq % 50,
  seq % 1024,
  ELT(1 + seq % 3, 'red', 'green', 'blue'),
  ELT(1 + seq % 4, '', 'a', 'a,b', 'b,c'),
  18446744073709551615 - seq
FROM seq_1_to_300;
CREATE TABLE plain (
  id INT NOT NULL PRIMARY KEY,
  s VARCHAR(120) NULL,
  t TEXT NULL,
  b VARBINARY(40) NULL,
  bl BLOB NULL,
  n DECIMAL(14,4) NULL,
  dbl DOUBLE NULL,
  d DATE NULL,
  dt DATETIME(3) NULL,
  ts TIMESTAMP NULL DEFAULT NULL,
  e ENUM('x','y','z') NULL,
  st SET('p','q') NULL,
  tm TIME NULL,
  y YEAR NULL,
  u BIGINT UNSIGNED NULL,
  KEY idx_s (s(20)),
  KEY idx_n (n, id)
) ENGINE=InnoDB;
INSERT INTO plain SELECT seq,
  CASE seq % 10
    WHEN 0 THEN NULL
    WHEN 1 THEN ''
    WHEN 2 THEN 'NULL'
    WHEN 3 THEN '\\N'
    WHEN 4 THEN CONCAT('tab\there\nnew', CHAR(13), 'cr ', seq)
    WHEN 5 THEN CONCAT('zero', CHAR(0), 'ctrlz', CHAR(26), 'end ', seq)
    WHEN 6 THEN CONCAT('ends in a backslash ', seq, '\\')
    WHEN 7 THEN CONCAT('quotes '' " ` ; -- /* */ ', seq)
    WHEN 8 THEN CONCAT('emoji 😀 𝄞 ', seq)
    ELSE CONCAT('plain ', seq) END,
  IF(seq % 9 = 0, NULL, CONCAT(REPEAT('line;\n', seq % 5), '\t', seq)),
  IF(seq % 13 = 0, '', IF(seq % 11 = 0, NULL, UNHEX(SHA2(seq, 224)))),
  IF(seq % 7 = 0, NULL, UNHEX(CONCAT(REPEAT('5C4E0009', 1 + seq % 3), '0A0D5C', HEX(seq)))),
  IF(seq % 6 = 0, NULL, seq * 12.3456 - 999),
  IF(seq % 8 = 0, NULL, seq / 16 - 7),
  DATE_ADD('1999-12-31', INTERVAL seq * 7 DAY),
  DATE_ADD('2022-02-28 23:59:59.999', INTERVAL seq * 3599 SECOND),
  IF(seq % 10 = 0, NULL, FROM_UNIXTIME(1600000000 + seq * 4321)),
  ELT(1 + seq % 3, 'x', 'y', 'z'),
  ELT(1 + seq % 4, '', 'p', 'q', 'p,q'),
  IF(seq % 5 = 0, '-838:59:59', SEC_TO_TIME(seq * 123)),
  1901 + seq % 254,
  IF(seq % 3 = 0, 18446744073709551615, seq)
FROM seq_1_to_250;
CREATE TABLE audit (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, msg VARCHAR(200) NOT NULL) ENGINE=InnoDB;
INSERT INTO audit (msg) VALUES ('first'), ('second');
DELIMITER ;;
CREATE TRIGGER big_ai AFTER INSERT ON big FOR EACH ROW
BEGIN
  INSERT INTO audit (msg) VALUES (CONCAT('line one
line two; ', NEW.name));
END;;
CREATE PROCEDURE p_summary()
BEGIN
  SELECT COUNT(*), SUM(amount), MAX(name), SUM(CHAR_LENGTH(name)), SUM(LENGTH(blb)), BIT_XOR(CRC32(bin)) FROM big;
  SELECT COUNT(*), MAX(msg) FROM audit;
  SELECT COUNT(*), SUM(n), SUM(dbl), BIT_XOR(CRC32(CONCAT_WS('|', s, t, HEX(b), HEX(bl), ts))) FROM plain;
  SELECT 'multi
line; literal' AS m, HEX('multi
line') AS h;
END;;
CREATE FUNCTION f_label(p INT) RETURNS VARCHAR(200) DETERMINISTIC
RETURN CONCAT('row ', p, ':
', (SELECT name FROM big WHERE id = p));;
DELIMITER ;
SET SESSION sql_mode = 'PIPES_AS_CONCAT';
CREATE FUNCTION f_pipes() RETURNS VARCHAR(20) DETERMINISTIC RETURN 'a' || 'b';
SET SESSION sql_mode = DEFAULT;
CREATE VIEW v_top AS SELECT id, name FROM big WHERE amount > 100;
CREATE VIEW v_labels AS SELECT id, f_label(id) AS l FROM tiny;
CREATE EVENT ev_clean ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DISABLE
  DO DELETE FROM audit WHERE msg = 'line
break';

CREATE DATABASE rich2;
USE rich2;
CREATE TABLE r (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB;
INSERT INTO r SELECT seq, CONCAT('r', seq) FROM seq_1_to_40;
CREATE VIEW v_cross AS SELECT r.id, b.name FROM r JOIN rich.big b ON b.id = r.id;
"#;

const RICH_PROBES: &[Probe] = &[
    Probe {
        db: "rich",
        sql: "CALL rich.p_summary()",
    },
    Probe {
        db: "rich",
        sql: "SELECT HEX(rich.f_label(3)), rich.f_pipes()",
    },
    Probe {
        db: "rich",
        sql: "SELECT id, HEX(l) FROM rich.v_labels ORDER BY id",
    },
    Probe {
        db: "rich2",
        sql: "SELECT COUNT(*), MAX(name) FROM rich2.v_cross",
    },
];

#[test]
fn dump_option_variants_restore_like_the_stock_client() {
    let t = environment("exact-options", 27);
    let source = Source::start(&t);
    source.run(RICH_SQL.as_bytes(), "utf8mb4");

    let rich = |extra: &[&str]| {
        let mut args = vec!["--routines", "--events"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--databases", "rich"]);
        source.dump(&args)
    };
    let full = rich(&[]);
    assert!(count(&full, b"\n-- Dump completed on ") == 1);
    // Several INSERTs per table, each with more than 16 rows.
    let small_packets = rich(&["--net-buffer-length=16384"]);
    assert!(count(&small_packets, b"INSERT INTO `big` VALUES") >= 3);
    let no_autocommit = rich(&["--no-autocommit"]);
    assert!(count(&no_autocommit, b"@@AUTOCOMMIT=0;") >= 2);
    // Cut right after a complete statement in the middle: after the data of `big`, before
    // `tiny`, the routines and the views; no `-- Dump completed` line.
    let cut = full[..end_of_data_after(&full, b"Dumping data for table `big`")].to_vec();
    assert!(count(&cut, b"Dump completed") == 0 && count(&cut, b"PROCEDURE") == 0);
    assert!(count(&cut, b"INSERT INTO `tiny`") == 0);
    let crlf = replace_all(&full, b"\n", b"\r\n");
    assert!(count(&crlf, b"'multi\r\nline") > 0 && count(&crlf, b"DELIMITER ;;\r\n") > 0);
    let no_comments = rich(&["--skip-comments"]);
    assert!(count(&no_comments, b"\n-- ") == 0);

    let variants = vec![
        Variant::new("v01", "several INSERTs per table", &["rich"]).dump(small_packets),
        Variant::new("v02", "--skip-extended-insert", &["rich"])
            .dump(rich(&["--skip-extended-insert"])),
        Variant::new("v03", "--complete-insert", &["rich"]).dump(rich(&["--complete-insert"])),
        Variant::new("v04", "--insert-ignore", &["rich"]).dump(rich(&["--insert-ignore"])),
        Variant::new("v05", "--replace", &["rich"]).dump(rich(&["--replace"])),
        Variant::new("v06", "--hex-blob", &["rich"]).dump(rich(&["--hex-blob"])),
        // --compact leaves out `SET TIME_ZONE='+00:00'` but still writes TIMESTAMPs in UTC:
        // on a server in another zone they come back shifted, whoever restores them.
        Variant::new("v07", "--compact", &["rich"])
            .dump(rich(&["--compact"]))
            .source_differs(&[
                ("rich", "table `big` checksum"),
                ("rich", "table `big` rows"),
                ("rich", "table `plain` checksum"),
                ("rich", "table `plain` rows"),
                ("rich", "result of CALL rich.p_summary()"),
            ]),
        // --skip-opt leaves out the table options and with them AUTO_INCREMENT.
        Variant::new("v08", "--skip-opt", &["rich"])
            .dump(rich(&["--skip-opt"]))
            .source_differs(&[
                ("rich", "table `audit` definition"),
                ("rich", "table `big` definition"),
            ]),
        Variant::new(
            "v09",
            "--no-autocommit (a table under 16 rows and one of 300)",
            &["rich"],
        )
        .dump(no_autocommit),
        Variant::new("v10", "--databases rich rich2", &["rich", "rich2"]).dump(source.dump(&[
            "--routines",
            "--events",
            "--databases",
            "rich",
            "rich2",
        ])),
        Variant::new("v11", "CRLF line ends", &["rich"]).dump(crlf),
        Variant::new("v12", "--skip-comments", &["rich"]).dump(no_comments),
        Variant::new(
            "v13",
            "cut after a complete statement, no Dump completed line",
            &["rich"],
        )
        .dump(cut)
        .fails("Dump completed"),
        // The server's own databases too: restored statement by statement. (mysql.user is
        // a view since MariaDB 10.4, which mariadb-dump writes as a table that no server
        // takes back, the stock client included.)
        Variant::new("v14", "--all-databases", &["rich", "rich2"]).dump(source.dump(&[
            "--routines",
            "--events",
            "--all-databases",
            "--ignore-table=mysql.user",
        ])),
    ];
    compare_restores(&t, &source, &variants, RICH_PROBES);
}
