//! A small harness that runs the real `worlds` binary in its own folder, with its own
//! environment name and ports, and removes the environment again even when a test panics.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

pub const WORLDS: &str = env!("CARGO_BIN_EXE_worlds");
pub const GEN: &str = env!("CARGO_BIN_EXE_worlds-gen");

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The repository root (for the sample dumps).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One test's environment: a temp folder (cwd of every command) and an env name.
pub struct TestEnv {
    pub dir: PathBuf,
    pub env: String,
    pub port_base: u16,
}

impl TestEnv {
    /// `slot` gives every test its own port range (20 ports from 34000 + 20 * slot).
    pub fn new(name: &str, slot: u16) -> TestEnv {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let env = format!("t-{name}-{}-{n}", std::process::id());
        let dir = std::env::temp_dir().join(format!("worlds-it-{env}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create test dir");
        let port_base = 34000 + 20 * slot;
        let t = TestEnv {
            dir,
            env,
            port_base,
        };
        t.write_config("");
        t
    }

    /// Write worlds.yaml in the test folder: the port base plus `extra` lines.
    pub fn write_config(&self, extra: &str) {
        let text = format!("port_base: {}\n{extra}", self.port_base);
        std::fs::write(self.dir.join("worlds.yaml"), text).expect("write config");
    }

    /// A `worlds` command in this environment.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(WORLDS);
        c.current_dir(&self.dir)
            .args(args)
            .arg("--env")
            .arg(&self.env)
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run worlds")
    }

    /// Run and insist on exit code 0; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "worlds {args:?} failed with {:?}\nstdout:\n{}\nstderr:\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let text = self.ok(args);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }

    /// A folder inside the test dir.
    pub fn subdir(&self, name: &str) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::create_dir_all(&p).expect("mkdir");
        p
    }

    /// Password and port of a world, from `worlds env --format json`.
    pub fn creds(&self, world: &str) -> (String, u16) {
        let env = self.json(&["env", "--format", "json"]);
        let w = env["worlds"]
            .as_array()
            .and_then(|a| a.iter().find(|w| w["world"] == world))
            .unwrap_or_else(|| panic!("no world {world} in {env}"))
            .clone();
        (
            w["password"].as_str().unwrap_or_default().to_string(),
            w["port"].as_u64().unwrap_or(0) as u16,
        )
    }

    /// Run SQL on a world with the mysql/mariadb client over 127.0.0.1; returns batch output.
    pub fn sql(&self, world: &str, sql: &str) -> String {
        let (pw, port) = self.creds(world);
        mysql(port, &pw, sql)
    }

    /// Labelled containers and volumes of this environment still present.
    pub fn leftovers(&self) -> (usize, usize) {
        let filter = format!("label=io.worlds.env={}", self.env);
        let count = |args: &[&str]| {
            let out = Command::new("docker").args(args).output().expect("docker");
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter(|l| !l.trim().is_empty())
                .count()
        };
        (
            count(&["ps", "-aq", "--filter", &filter]),
            count(&["volume", "ls", "-q", "--filter", &filter]),
        )
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        let _ = self.cmd(&["down"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The mysql command-line client of this machine.
pub fn client() -> &'static str {
    for c in ["mariadb", "mysql"] {
        if Command::new(c).arg("--version").output().is_ok() {
            return c;
        }
    }
    panic!("no mysql or mariadb client installed (.ci/run installs mariadb-client)");
}

pub fn mysql(port: u16, password: &str, sql: &str) -> String {
    let out = Command::new(client())
        .args([
            "-h",
            "127.0.0.1",
            "--protocol=TCP",
            "-uroot",
            "--batch",
            "--raw",
            "--default-character-set=utf8mb4",
        ])
        .arg(format!("-P{port}"))
        .env("MYSQL_PWD", password)
        .arg("-e")
        .arg(sql)
        .output()
        .expect("run mysql client");
    assert!(
        out.status.success(),
        "mysql -e {sql:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Generate dumps with the project's generator.
pub fn generate(dir: &Path, args: &[&str]) {
    let out = Command::new(GEN)
        .arg("--out")
        .arg(dir)
        .args(args)
        .output()
        .expect("run worlds-gen");
    assert!(
        out.status.success(),
        "worlds-gen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}
