//! Trust: the world is the source of truth; `up` is safe to repeat and to run twice; nothing
//! that is not ours is ever used or removed; names are injective; secrets stay out of `ps`.

mod common;

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{generate, repo, stderr, stdout, TestEnv, WORLDS};

fn sample() -> String {
    repo().join("dumps").to_str().unwrap().to_string()
}

/// Worlds and states; none while the environment does not exist yet (an `up` just started
/// and has not taken its lock: `status` then says there is no such environment).
fn states(t: &TestEnv) -> Vec<(String, String)> {
    let out = t.run(&["status", "--format", "json"]);
    if out.status.code() == Some(2) && stderr(&out).contains("no environment") {
        return Vec::new();
    }
    let s = t.json(&["status", "--format", "json"]);
    s["worlds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["world"].as_str().unwrap().to_string(),
                w["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Wait until `cond` holds (polling), at most `secs` seconds.
fn wait_for(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    cond()
}

/// The state of `world` as `status` reports it.
fn state_of(t: &TestEnv, world: &str) -> String {
    states(t)
        .into_iter()
        .find(|(w, _)| w == world)
        .map(|(_, s)| s)
        .unwrap_or_else(|| "absent".to_string())
}

#[test]
fn kill_9_during_restore_is_interrupted_everywhere_then_redone() {
    let t = TestEnv::new("kill9", 16);
    let dumps = t.subdir("dumps");
    generate(
        &dumps,
        &[
            "--hosts", "1", "--dumps", "1", "--tables", "full", "--mb", "60",
        ],
    );
    let mut child = t
        .cmd(&["up", "--dumps", "dumps"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        wait_for(120, || state_of(&t, "host1") == "restoring"),
        "never saw the world restoring: {:?}",
        states(&t)
    );
    std::thread::sleep(Duration::from_millis(800));
    child.kill().unwrap(); // SIGKILL: no chance to clean up
    child.wait().unwrap();

    // From another folder, without the checkout's .worlds/: not ready, and at once.
    let elsewhere = std::env::temp_dir().join(format!("worlds-it-elsewhere-{}", t.env));
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::remove_dir_all(t.dir.join(".worlds")).unwrap();
    let out = Command::new(WORLDS)
        .current_dir(&elsewhere)
        .args(["status", "--format", "json", "--env", &t.env])
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["worlds"][0]["state"], "interrupted", "{status}");
    let _ = std::fs::remove_dir_all(&elsewhere);

    // A query refuses the partial world and says so with exit 1.
    let out = t.run(&["query", "--format", "json", "SELECT COUNT(*) FROM player"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));

    // The next up redoes it without asking.
    let out = t.run(&["up", "--dumps", "dumps"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
    assert_eq!(state_of(&t, "host1"), "ready");
    t.ok(&["down"]);
    assert_eq!(t.leftovers(), (0, 0));
}

#[test]
fn no_restore_is_empty_and_a_later_up_restores_it() {
    let t = TestEnv::new("empty", 17);
    t.ok(&[
        "up",
        "--dumps",
        &sample(),
        "--hosts",
        "host1",
        "--no-restore",
    ]);
    assert_eq!(state_of(&t, "host1"), "empty");
    // A second --no-restore keeps it.
    let out = t.ok(&[
        "up",
        "--dumps",
        &sample(),
        "--hosts",
        "host1",
        "--no-restore",
    ]);
    assert!(out.contains("empty (kept)"), "{out}");
    // A plain up restores it.
    let out = t.run(&["up", "--dumps", &sample(), "--hosts", "host1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("1 of 1 worlds ready"),
        "{}",
        stdout(&out)
    );
    assert_eq!(state_of(&t, "host1"), "ready");
    let rows = t.sql("host1", "SELECT COUNT(*) FROM game.player");
    let n: u64 = rows.lines().nth(1).unwrap().trim().parse().unwrap();
    assert!(n > 0, "{rows}");

    // A stopped world is `stopped`; `up` starts it again with its data, restoring nothing.
    t.sql(
        "host1",
        "CREATE TABLE game.notes (n INT); INSERT INTO game.notes VALUES (42)",
    );
    let container = t.json(&["status", "--format", "json"])["worlds"][0]["container"]
        .as_str()
        .unwrap()
        .to_string();
    let stop = Command::new("docker")
        .args(["stop", "-t", "10", &container])
        .output()
        .unwrap();
    assert!(stop.status.success(), "{}", stderr(&stop));
    assert_eq!(state_of(&t, "host1"), "stopped");
    let out = t.run(&["up", "--dumps", &sample(), "--hosts", "host1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("ready (started)"), "{}", stdout(&out));
    assert_eq!(state_of(&t, "host1"), "ready");
    assert!(t.sql("host1", "SELECT n FROM game.notes").contains("42"));
}

#[test]
fn same_dumps_through_other_spellings_keep_the_worlds_and_their_tables() {
    let t = TestEnv::new("spell", 18);
    let dumps = t.subdir("dumps");
    for entry in std::fs::read_dir(repo().join("dumps")).unwrap().flatten() {
        std::fs::copy(entry.path(), dumps.join(entry.file_name())).unwrap();
    }
    t.ok(&["up", "--dumps", "./dumps", "--hosts", "host1,host2"]);
    t.sql("host1", "CREATE TABLE game.investigation (id INT PRIMARY KEY); INSERT INTO game.investigation VALUES (7)");
    std::os::unix::fs::symlink(&dumps, t.dir.join("link")).unwrap();
    let absolute = dumps.to_str().unwrap().to_string();
    for spelling in ["dumps/../dumps", "link", absolute.as_str(), "dumps/"] {
        let out = t.run(&["up", "--dumps", spelling, "--hosts", "host1,host2"]);
        assert!(out.status.success(), "{spelling}: {}", stderr(&out));
        assert!(
            stdout(&out).matches("ready (kept)").count() == 2,
            "{spelling}: {}",
            stdout(&out)
        );
    }
    let kept = t.sql("host1", "SELECT id FROM game.investigation");
    assert!(kept.contains('7'), "{kept}");

    // Other dumps in another folder: listed, nothing touched, exit 1.
    let other = t.subdir("other");
    generate(&other, &["--hosts", "2", "--dumps", "1"]);
    let out = t.run(&["up", "--dumps", "other"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("other folder"), "{err}");
    assert!(err.contains("host1") && err.contains("host2"), "{err}");
    assert!(err.contains("--replace"), "{err}");
    assert!(t
        .sql("host1", "SELECT id FROM game.investigation")
        .contains('7'));
    let status = t.json(&["status", "--format", "json"]);
    for w in status["worlds"].as_array().unwrap() {
        assert!(w["dump"].as_str().unwrap().contains("_20240618_"), "{w}");
    }
    // Without --dumps: the config's folder (`dumps` beside worlds.yaml) is the same one.
    let out = t.run(&["up", "--hosts", "host1,host2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out).matches("ready (kept)").count(),
        2,
        "{}",
        stdout(&out)
    );
    // Asked for, it is replaced.
    let out = t.run(&["up", "--dumps", "other", "--replace"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("replacing"), "{}", stderr(&out));
    let dirs: Vec<String> = Command::new("docker")
        .args([
            "ps",
            "-a",
            "--filter",
            &format!("label=io.worlds.env={}", t.env),
        ])
        .args(["--format", "{{.Label \"io.worlds.dumps_dir\"}}"])
        .output()
        .map(|o| stdout(&o).lines().map(String::from).collect())
        .unwrap();
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    assert!(dirs.iter().all(|d| d.ends_with("/other")), "{dirs:?}");
}

#[test]
fn two_ups_at_once_and_down_during_up() {
    let t = TestEnv::new("twice", 19);
    let dumps = t.subdir("dumps");
    generate(
        &dumps,
        &[
            "--hosts", "2", "--dumps", "1", "--tables", "full", "--mb", "30",
        ],
    );
    let first = t
        .cmd(&["up", "--dumps", "dumps"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        wait_for(60, || t.leftovers().0 > 0),
        "the first up created nothing"
    );
    // A second up fails at once, naming the holder, and touches nothing.
    let out = t.run(&["up", "--dumps", "dumps"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&format!("pid {}", first.id())), "{err}");
    assert!(err.contains("--wait"), "{err}");

    // down during up: stops the up, then removes everything, and says only what is true.
    let down = t.run(&["down"]);
    assert!(down.status.success(), "{}", stderr(&down));
    let said = stdout(&down);
    assert!(said.contains("stopping `worlds up`"), "{said}");
    let first = first.wait_with_output().unwrap();
    assert_eq!(first.status.code(), Some(143), "{}", stderr(&first));
    assert_eq!(t.leftovers(), (0, 0), "down left objects: {said}");
    assert!(said.contains("removed container"), "{said}");
    // The stopped up does not come back to recreate the environment's files.
    std::thread::sleep(Duration::from_millis(500));
    assert!(!t.dir.join(".worlds").join(&t.env).exists());

    // --wait: the second up waits for the first and then keeps its worlds.
    let first = t
        .cmd(&["up", "--dumps", "dumps", "--hosts", "host1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(wait_for(60, || t.leftovers().0 > 0));
    let out = t.run(&["up", "--dumps", "dumps", "--hosts", "host1", "--wait"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("waiting"), "{}", stderr(&out));
    assert!(stdout(&out).contains("ready (kept)"), "{}", stdout(&out));
    assert!(first.wait_with_output().unwrap().status.success());
}

#[test]
fn a_foreign_volume_with_a_world_name_is_never_used_or_removed() {
    let t = TestEnv::new("foreign", 20);
    let name = format!("worlds.{}.host1.data", t.env);
    let made = Command::new("docker")
        .args(["volume", "create", "--label", "owner=someone-else", &name])
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", stderr(&made));
    let out = t.run(&["up", "--dumps", &sample(), "--hosts", "host1"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&name), "{err}");
    assert!(err.contains("not created by worlds"), "{err}");
    let containers = Command::new("docker")
        .args(["ps", "-aq", "--filter", &format!("name=worlds.{}.", t.env)])
        .output()
        .unwrap();
    assert!(
        stdout(&containers).trim().is_empty(),
        "a container was made"
    );
    t.ok(&["down"]);
    let still = Command::new("docker")
        .args([
            "volume",
            "inspect",
            "-f",
            "{{index .Labels \"owner\"}}",
            &name,
        ])
        .output()
        .unwrap();
    assert_eq!(stdout(&still).trim(), "someone-else", "{}", stderr(&still));
    let _ = Command::new("docker")
        .args(["volume", "rm", &name])
        .output();
}

#[test]
fn names_that_used_to_collide_are_distinct_worlds() {
    // env `x` + host `west-host1` and env `x-west` + host `host1`; hosts `eu west` and
    // `eu-west`; a host with `]` in its name.
    let a = TestEnv::new("n", 21);
    let mut b = TestEnv::new("n", 21);
    b.env = format!("{}-west", a.env);
    b.port_base = a.port_base + 10;
    b.write_config("");
    let src = std::fs::read(repo().join("dumps/host1_fulldump_20240618_211706.sql.gz")).unwrap();
    let da = a.subdir("dumps");
    for host in ["west-host1", "eu west", "eu-west", "h]x"] {
        std::fs::write(
            da.join(format!("{host}_fulldump_20240618_000000.sql.gz")),
            &src,
        )
        .unwrap();
    }
    let db = b.subdir("dumps");
    std::fs::write(db.join("host1_fulldump_20240618_000000.sql.gz"), &src).unwrap();
    let out = a.run(&["up", "--dumps", "dumps"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = b.run(&["up", "--dumps", "dumps"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let sa = a.json(&["status", "--format", "json"]);
    let sb = b.json(&["status", "--format", "json"]);
    let mut names: Vec<String> = sa["worlds"]
        .as_array()
        .unwrap()
        .iter()
        .chain(sb["worlds"].as_array().unwrap())
        .map(|w| {
            assert_eq!(w["state"], "ready", "{w}");
            w["container"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(names.len(), 5);
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 5, "{names:?}");
    // Each world answers as itself through `connect`, also `h]x` and `eu west`.
    for world in ["eu west", "eu-west", "h]x", "west-host1"] {
        a.ok(&[
            "connect",
            world,
            "-e",
            &format!(
                "CREATE TABLE game.me (n VARCHAR(20)); INSERT INTO game.me VALUES ('{world}')"
            ),
        ]);
    }
    for world in ["eu west", "eu-west", "h]x", "west-host1"] {
        let out = a.ok(&["connect", world, "-e", "SELECT n FROM game.me"]);
        assert!(out.lines().any(|l| l.trim() == world), "{world}: {out}");
    }
    // The option file has one group per world, none broken by `]`.
    let cnf = std::fs::read_to_string(a.dir.join(".worlds").join(&a.env).join("my.cnf")).unwrap();
    assert!(cnf.contains("[client_h_5dx]"), "{cnf}");
    assert!(cnf.contains("[client_eu_20west]"), "{cnf}");
    assert!(!cnf.contains("h]x"), "{cnf}");
}

#[test]
fn down_all_removes_only_this_project_folders_environments() {
    let a = TestEnv::new("alla", 22);
    let b = TestEnv::new("allb", 23);
    a.ok(&[
        "up",
        "--dumps",
        &sample(),
        "--hosts",
        "host1",
        "--no-restore",
    ]);
    b.ok(&[
        "up",
        "--dumps",
        &sample(),
        "--hosts",
        "host1",
        "--no-restore",
    ]);
    let envs = a.json(&["envs", "--format", "json"]);
    let listed: Vec<&str> = envs["envs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["env"].as_str().unwrap())
        .collect();
    assert!(
        listed.contains(&a.env.as_str()) && listed.contains(&b.env.as_str()),
        "{envs}"
    );
    // From B's folder, A's environment is A's: up and down refuse it (exit 3) and name A.
    let in_b = |args: &[&str]| {
        Command::new(WORLDS)
            .current_dir(&b.dir)
            .args(args)
            .args(["--env", &a.env])
            .output()
            .unwrap()
    };
    for args in [
        vec!["up", "--dumps", sample().as_str(), "--hosts", "host1"],
        vec!["down"],
    ] {
        let out = in_b(&args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(a.dir.file_name().unwrap().to_str().unwrap()),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(a.leftovers(), (1, 1));
    let out = Command::new(WORLDS)
        .current_dir(&a.dir)
        .args(["down", "--all"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("left alone"), "{}", stdout(&out));
    assert_eq!(a.leftovers(), (0, 0));
    assert_eq!(b.leftovers(), (1, 1), "down --all in A touched B");
    assert_eq!(state_of(&b, "host1"), "empty");
}

/// Every process's command line, joined.
fn all_command_lines() -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            text.push_str(&String::from_utf8_lossy(&cmdline).replace('\0', " "));
            text.push('\n');
        }
    }
    text
}

/// A pseudo-terminal: the master side, and a child process that has the slave side as its
/// controlling terminal.
fn spawn_in_pty(mut command: Command) -> (std::fs::File, std::process::Child) {
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two fds into the given ints; no other pointers are passed.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty failed");
    // SAFETY: the fds were just opened by openpty and are owned here.
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    let master = unsafe { std::fs::File::from_raw_fd(master) };
    command
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command.spawn().unwrap();
    (master, child)
}

#[test]
fn connect_under_a_terminal_passes_ctrl_c_to_the_client_and_hides_the_password() {
    let t = TestEnv::new("pty", 24);
    t.ok(&["up", "--dumps", &sample(), "--hosts", "host1"]);
    let (password, _) = t.creds("host1");
    let mut cmd = Command::new(WORLDS);
    cmd.current_dir(&t.dir)
        .args(["connect", "host1", "--env", &t.env])
        .env("TERM", "dumb");
    let (master, mut child) = spawn_in_pty(cmd);
    let screen = Arc::new(Mutex::new(String::new()));
    {
        let screen = screen.clone();
        let mut reader = master.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                screen
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
    }
    let mut writer = master.try_clone().unwrap();
    let seen = |s: &str| screen.lock().unwrap().contains(s);
    assert!(
        wait_for(30, || seen("]>")),
        "no client prompt: {}",
        screen.lock().unwrap()
    );
    // No password in any process's arguments while the client runs.
    assert!(
        !all_command_lines().contains(&password),
        "the password is in ps"
    );
    // Ctrl-C reaches the client, not worlds: the session goes on.
    writer.write_all(b"SELECT SLEEP(30);\r").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    writer.write_all(b"\x03").unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().unwrap().is_none(),
        "worlds exited on Ctrl-C: {}",
        screen.lock().unwrap()
    );
    writer
        .write_all(b"SELECT CONCAT('still', '-here') AS w;\r")
        .unwrap();
    assert!(
        wait_for(20, || seen("still-here")),
        "the session did not go on after Ctrl-C: {}",
        screen.lock().unwrap()
    );
    writer.write_all(b"exit\r").unwrap();
    let code = wait_for(20, || child.try_wait().unwrap().is_some());
    assert!(code, "worlds did not end with the client");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{}", screen.lock().unwrap());

    // No password in any process's arguments while `up` restores either.
    let dumps = t.subdir("big");
    generate(
        &dumps,
        &[
            "--hosts", "1", "--dumps", "1", "--tables", "full", "--mb", "20",
        ],
    );
    let mut up = t
        .cmd(&["up", "--dumps", "big", "--replace"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut looked = 0;
    while up.try_wait().unwrap().is_none() {
        assert!(
            !all_command_lines().contains(&password),
            "the password is in ps"
        );
        looked += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(looked > 3, "up ended before it could be looked at");
    assert!(up.wait().unwrap().success());
}
