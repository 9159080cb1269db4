//! Bad environments: Docker unreachable, image missing, port taken, a server that dies,
//! two environments at once, Ctrl-C during `up`.

mod common;

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{generate, repo, stderr, stdout, TestEnv};

fn sample() -> String {
    repo().join("dumps").to_str().unwrap().to_string()
}

#[test]
fn docker_unreachable_names_the_socket_and_exits_3() {
    let t = TestEnv::new("nodocker", 2);
    let out = t
        .cmd(&["up", "--dumps", &sample()])
        .env("DOCKER_HOST", "unix:///tmp/worlds-no-such-docker.sock")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("/tmp/worlds-no-such-docker.sock"), "{err}");
    assert!(err.contains("Docker"), "{err}");
}

#[test]
fn missing_image_suggests_make_image() {
    let t = TestEnv::new("noimage", 3);
    t.write_config("image: worlds/no-such-image:0.0\n");
    let out = t.run(&["up", "--dumps", &sample(), "--hosts", "host1"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("worlds/no-such-image:0.0"), "{err}");
    assert!(err.contains("make image"), "{err}");
    assert_eq!(t.leftovers(), (0, 0));
}

#[test]
fn a_taken_port_is_skipped_and_reported() {
    let t = TestEnv::new("port", 4);
    // The port lies in Linux's ephemeral range: an outgoing connection of another program may
    // hold it for a moment. Then it is taken already; wait a little for it to be ours.
    let started = std::time::Instant::now();
    let _blocker = loop {
        match TcpListener::bind(("127.0.0.1", t.port_base)) {
            Ok(listener) => break Some(listener),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
                if started.elapsed() > std::time::Duration::from_secs(10) {
                    break None;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            Err(e) => panic!("bind test port: {e}"),
        }
    };
    let out = t.run(&["up", "--dumps", &sample(), "--hosts", "host1"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("port {} is taken", t.port_base)),
        "{err}"
    );
    let status = t.json(&["status", "--format", "json"]);
    let port = status["worlds"][0]["port"].as_u64().unwrap();
    assert_ne!(port, u64::from(t.port_base));
    assert_eq!(status["worlds"][0]["state"], "ready");
}

#[test]
fn a_server_that_dies_shows_its_log_and_fails_the_world() {
    let t = TestEnv::new("dies", 5);
    t.write_config("server_args: ['--no-such-server-option=1']\n");
    let out = t.run(&[
        "up",
        "--dumps",
        &sample(),
        "--hosts",
        "host2",
        "--start-timeout",
        "60",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("host2"), "{err}");
    assert!(err.contains("last log lines"), "{err}");
    assert!(
        err.contains("no-such-server-option"),
        "the log tail should show the server's complaint: {err}"
    );
    let status = t.json(&["status", "--format", "json"]);
    assert_eq!(status["worlds"][0]["state"], "failed");
    t.ok(&["down"]);
    assert_eq!(t.leftovers(), (0, 0));
}

#[test]
fn two_environments_at_once_get_distinct_ports() {
    let a = TestEnv::new("enva", 6);
    let mut b = TestEnv::new("envb", 6);
    b.port_base = a.port_base;
    b.write_config("");
    let spawn = |t: &TestEnv| {
        t.cmd(&["up", "--dumps", &sample()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (pa, pb) = (spawn(&a), spawn(&b));
    let (oa, ob) = (
        pa.wait_with_output().unwrap(),
        pb.wait_with_output().unwrap(),
    );
    assert!(oa.status.success(), "env A: {}", stderr(&oa));
    assert!(ob.status.success(), "env B: {}", stderr(&ob));
    let ports = |t: &TestEnv| -> Vec<u64> {
        let s = t.json(&["status", "--format", "json"]);
        s["worlds"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| {
                assert_eq!(w["state"], "ready", "{w}");
                w["port"].as_u64().unwrap()
            })
            .collect()
    };
    let (x, y) = (ports(&a), ports(&b));
    assert_eq!(x.len(), 3);
    assert_eq!(y.len(), 3);
    assert!(
        x.iter().all(|p| !y.contains(p)),
        "port clash: {x:?} vs {y:?}"
    );
    // Each environment's down leaves the other alone.
    a.ok(&["down"]);
    assert_eq!(a.leftovers(), (0, 0));
    assert_eq!(
        b.json(&["status", "--format", "json"])["worlds"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn ctrl_c_during_up_leaves_only_labelled_containers_that_down_removes() {
    let t = TestEnv::new("ctrlc", 7);
    let dumps = t.subdir("dumps");
    generate(
        &dumps,
        &[
            "--hosts", "2", "--dumps", "1", "--tables", "full", "--mb", "40",
        ],
    );
    let child = t
        .cmd(&["up", "--dumps", "dumps"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until at least one container of this environment exists, then interrupt.
    let start = Instant::now();
    while t.leftovers().0 == 0 && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(1500));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert_ne!(
        out.status.code(),
        Some(0),
        "up should report the interruption"
    );
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
    assert!(t.leftovers().0 > 0, "the containers stay until down");
    t.ok(&["down"]);
    assert_eq!(t.leftovers(), (0, 0));
}
