//! A small harness that runs the real `worlds` binary in its own folder, with its own
//! environment name and ports, and removes the environment again even when a test panics.

#![allow(dead_code)]

use std::io::Write;
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

    /// Write worlds.yaml in the test folder: the port base plus `extra` lines. Snapshots
    /// are shared by every environment on the engine, so tests keep none unless `extra`
    /// turns them on (`snapshots: true`): each test restores what it means to test.
    pub fn write_config(&self, extra: &str) {
        let snapshots = if extra.contains("snapshots:") {
            ""
        } else {
            "snapshots: false\n"
        };
        let text = format!("port_base: {}\n{snapshots}{extra}", self.port_base);
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

    /// The container of a world, from `worlds status --format json`.
    pub fn container(&self, world: &str) -> String {
        let status = self.json(&["status", "--format", "json"]);
        status["worlds"]
            .as_array()
            .and_then(|a| a.iter().find(|w| w["world"] == world))
            .and_then(|w| w["container"].as_str())
            .unwrap_or_else(|| panic!("no container for world {world} in {status}"))
            .to_string()
    }

    /// How to reach a world's server from inside its container.
    pub fn login(&self, world: &str) -> Login {
        Login {
            container: self.container(world),
            password: self.creds(world).0,
        }
    }

    /// Run SQL on a world with the client inside its container; returns batch output.
    pub fn sql(&self, world: &str, sql: &str) -> String {
        mysql(&self.login(world), sql)
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

/// A world's container and root password: enough to run the client inside the container.
#[derive(Clone, Debug)]
pub struct Login {
    pub container: String,
    pub password: String,
}

/// `docker exec -i -e MYSQL_PWD <container> mariadb -uroot ARGS`. The password reaches the
/// client through the environment of `docker` (never through a command line), and the
/// client connects over the container's own socket, so the host needs no client.
pub fn client_in(login: &Login, args: &[&str]) -> Command {
    let mut c = Command::new("docker");
    c.args(["exec", "-i", "-e", "MYSQL_PWD"])
        .arg(&login.container)
        .args(["mariadb", "-uroot"])
        .args(args)
        .env("MYSQL_PWD", &login.password);
    c
}

/// Run SQL with `mariadb --batch --raw` inside the world's container; returns its output.
pub fn mysql(login: &Login, sql: &str) -> String {
    let out = client_in(
        login,
        &[
            "--batch",
            "--raw",
            "--default-character-set=utf8mb4",
            "-e",
            sql,
        ],
    )
    .stdin(Stdio::null())
    .output()
    .expect("run docker exec mariadb");
    assert!(
        out.status.success(),
        "mariadb -e {sql:?} in {} failed: {}",
        login.container,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Run `command` with `input` on its stdin; returns its output.
pub fn feed(mut command: Command, input: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn a client");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    // Write on another thread so a chatty client cannot block on a full stdout pipe.
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("wait for a client");
    if let Err(e) = writer.join().unwrap() {
        panic!(
            "writing to the client failed: {e}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// The image a world's container runs (its image ID), for clients started next to it.
pub fn image_of(container: &str) -> String {
    let out = Command::new("docker")
        .args(["inspect", "--format", "{{.Image}}", container])
        .output()
        .expect("docker inspect");
    assert!(
        out.status.success(),
        "docker inspect {container}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The client of `image` run on the host's network (so 127.0.0.1 is the host's loopback,
/// where the worlds publish their ports): `docker run --rm --network host <image> mariadb ARGS`.
/// `docker_args` go before the image (mounts, `-e NAME` passthrough).
pub fn host_network_client(image: &str, docker_args: &[&str], args: &[&str]) -> Command {
    let mut c = Command::new("docker");
    c.args([
        "run",
        "--rm",
        "--network",
        "host",
        "--user",
        "0",
        "--entrypoint",
        "mariadb",
    ])
    .args(docker_args)
    .arg(image)
    .args(args);
    c
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
