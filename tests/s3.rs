//! Dumps in object storage: `--dumps s3://bucket/prefix/` against a real S3-compatible
//! server (`s3s-fs`, installed by `make test` under target/s3s-fs) on 127.0.0.1, with a
//! fault-injecting TCP proxy of this file in between that cuts connections mid-object,
//! answers 503 or refuses access. Restores are compared by checksums with the same dumps
//! restored from a folder.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{generate, repo, stderr, stdout, TestEnv};

const KEY: &str = "worlds-test-key";
const SECRET: &str = "worlds-test-secret-0123456789";
const BUCKET: &str = "dumps";

/// The server binary: WORLDS_S3S_FS, else where `make s3-server` installs it.
fn server_binary() -> PathBuf {
    let path = std::env::var_os("WORLDS_S3S_FS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/s3s-fs/bin/s3s-fs"));
    assert!(
        path.is_file(),
        "{} is missing: `make s3-server` (a prerequisite of `make test`) installs it",
        path.display()
    );
    path
}

/// An `s3s-fs` server on 127.0.0.1 serving `root` (a bucket is a folder, an object a file).
struct Server {
    child: Child,
    port: u16,
    root: PathBuf,
}

impl Server {
    /// Start on the first of `port..port + 5` it can listen on: the ports lie in Linux's
    /// ephemeral range, where another program's outgoing connection may hold one a moment.
    fn start(root: &Path, port: u16) -> Server {
        std::fs::create_dir_all(root).unwrap();
        for port in port..port + 5 {
            let log = std::fs::File::create(root.with_extension("log")).unwrap();
            let mut child = Command::new(server_binary())
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--access-key", KEY, "--secret-key", SECRET])
                .arg(root)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .expect("start s3s-fs");
            let started = Instant::now();
            loop {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Server {
                        child,
                        port,
                        root: root.to_path_buf(),
                    };
                }
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "s3s-fs does not listen on 127.0.0.1:{port}: {}",
                    std::fs::read_to_string(root.with_extension("log")).unwrap_or_default()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!(
            "s3s-fs could not listen on 127.0.0.1:{port}..{}: {}",
            port + 5,
            std::fs::read_to_string(root.with_extension("log")).unwrap_or_default()
        );
    }

    /// Put an object (a file under the bucket's folder).
    fn put(&self, key: &str, bytes: &[u8]) {
        let path = self.root.join(BUCKET).join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }

    fn put_folder(&self, prefix: &str, dir: &Path) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if entry.path().is_file() {
                let name = entry.file_name().into_string().unwrap();
                self.put(
                    &format!("{prefix}{name}"),
                    &std::fs::read(entry.path()).unwrap(),
                );
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the proxy does to the connections it relays.
#[derive(Default)]
struct Faults {
    /// Cut a connection once it has sent this many bytes towards `worlds` (0: never)...
    cut_after: AtomicU64,
    /// ...this many times.
    cuts_left: AtomicUsize,
    cuts: AtomicUsize,
    /// After a cut, answer this many new connections with 503 Service Unavailable.
    unavailable_after_cut: AtomicUsize,
    unavailable: AtomicUsize,
    /// Answer every request with 403 AccessDenied.
    deny: AtomicBool,
    /// Runs once, at the first cut (before the connection closes).
    on_cut: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

/// A TCP proxy on 127.0.0.1 in front of the server.
struct Proxy {
    port: u16,
    faults: Arc<Faults>,
}

impl Proxy {
    /// Listen on the first free port of `port..port + 5` (see [`Server::start`]).
    fn start(port: u16, upstream: u16) -> Proxy {
        let listener = (port..port + 5)
            .find_map(|p| TcpListener::bind(("127.0.0.1", p)).ok())
            .expect("bind a proxy port");
        let port = listener.local_addr().expect("proxy address").port();
        let faults = Arc::new(Faults::default());
        let shared = faults.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let faults = shared.clone();
                std::thread::spawn(move || relay(client, upstream, &faults));
            }
        });
        Proxy { port, faults }
    }
}

/// Read a request's head, answer with a canned response, close.
fn answer(mut client: TcpStream, response: &str) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && client.read(&mut byte).map(|n| n == 1).unwrap_or(false) {
        head.push(byte[0]);
    }
    let _ = client.write_all(response.as_bytes());
    let _ = client.shutdown(Shutdown::Both);
}

fn canned(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
}

fn relay(client: TcpStream, upstream: u16, faults: &Faults) {
    if faults.deny.load(Ordering::SeqCst) {
        return answer(
            client,
            &canned(
                "403 Forbidden",
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code>\
                 <Message>Access Denied</Message></Error>",
            ),
        );
    }
    if faults.cuts.load(Ordering::SeqCst) > 0
        && faults
            .unavailable_after_cut
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    {
        faults.unavailable.fetch_add(1, Ordering::SeqCst);
        return answer(
            client,
            &canned(
                "503 Service Unavailable",
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>ServiceUnavailable\
                 </Code><Message>try again</Message></Error>",
            ),
        );
    }
    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
        return;
    };
    let (mut c_read, mut s_write) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut c_read, &mut s_write);
        let _ = s_write.shutdown(Shutdown::Write);
    });
    let (mut s_read, mut c_write) = (server, client);
    let mut sent = 0u64;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match s_read.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let limit = faults.cut_after.load(Ordering::SeqCst);
        if limit > 0
            && sent + n as u64 > limit
            && faults
                .cuts_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            let keep = (limit - sent) as usize;
            let _ = c_write.write_all(&buf[..keep]);
            let hook = faults.on_cut.lock().unwrap().take();
            if let Some(hook) = hook {
                hook();
            }
            faults.cuts.fetch_add(1, Ordering::SeqCst);
            let _ = c_write.shutdown(Shutdown::Both);
            let _ = s_read.shutdown(Shutdown::Both);
            return;
        }
        if c_write.write_all(&buf[..n]).is_err() {
            break;
        }
        sent += n as u64;
    }
    let _ = c_write.shutdown(Shutdown::Write);
}

/// A `worlds` command that reaches the store at `port` with the test keys, and nothing of
/// the machine's AWS settings.
fn s3_cmd(t: &TestEnv, args: &[&str]) -> Command {
    let mut c = t.cmd(args);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("AWS_") {
            c.env_remove(name);
        }
    }
    c.env("HOME", &t.dir)
        .env("AWS_ACCESS_KEY_ID", KEY)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_REGION", "us-east-1");
    c
}

fn run(mut c: Command) -> Output {
    c.output().expect("run worlds")
}

fn ok(c: Command, what: &str) -> String {
    let out = run(c);
    assert!(
        out.status.success(),
        "{what} failed with {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

fn endpoint(port: u16) -> String {
    format!("s3_endpoint: http://127.0.0.1:{port}\n")
}

fn sample() -> PathBuf {
    repo().join("dumps")
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

#[test]
fn plan_lists_a_prefix_like_a_folder_with_every_page() {
    let t = TestEnv::new("s3plan", 62);
    let server = Server::start(&t.dir.join("store"), t.port_base + 10);
    t.write_config(&endpoint(server.port));
    let folder = t.subdir("folder");
    for entry in std::fs::read_dir(sample()).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, folder.join(p.file_name().unwrap())).unwrap();
    }
    std::fs::write(folder.join("host4_fulldump_20240231_000000.sql.gz"), b"x").unwrap();
    std::fs::write(folder.join("host5_fulldump_20240617_000000.sql.gz"), b"").unwrap();
    server.put_folder("daily/", &folder);
    server.put("daily/old/host1_fulldump_20240101_000000.sql.gz", b"x");
    server.put("elsewhere/host9_fulldump_20240617_000000.sql.gz", b"x");
    let dumps = format!("s3://{BUCKET}/daily/");

    for at in [None, Some("2024-06-18 00:00")] {
        let mut args = vec!["plan", "--format", "json"];
        if let Some(at) = at {
            args.extend(["--at", at]);
        }
        let from_s3 = json(&ok(
            s3_cmd(&t, &[&args[..], &["--dumps", &dumps]].concat()),
            "plan from s3",
        ));
        let folder_arg = folder.to_str().unwrap();
        let from_folder = json(&ok(
            s3_cmd(&t, &[&args[..], &["--dumps", folder_arg]].concat()),
            "plan from a folder",
        ));
        let worlds = |v: &serde_json::Value| {
            v["worlds"]
                .as_array()
                .unwrap()
                .iter()
                .map(|w| {
                    (
                        w["world"].to_string(),
                        w["dump"].to_string(),
                        w["size_bytes"].to_string(),
                        w["timestamp"].to_string(),
                    )
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(worlds(&from_s3), worlds(&from_folder), "{at:?}");
        assert_eq!(from_s3["worlds"].as_array().unwrap().len(), 3);
        assert!(
            from_s3["worlds"][0]["path"]
                .as_str()
                .unwrap()
                .starts_with("s3://dumps/daily/host1_fulldump_2024061"),
            "{from_s3}"
        );
        // The same files are skipped for the same reasons; the bucket's sub-prefix is
        // skipped like a sub-folder.
        let skipped = |v: &serde_json::Value| {
            v["skipped"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| format!("{} {}", s["file"], s["reason"]))
                .collect::<Vec<_>>()
        };
        let mut want = skipped(&from_folder);
        want.push("\"old\" \"name does not match the dump file pattern\"".to_string());
        want.sort();
        let mut got = skipped(&from_s3);
        got.sort();
        assert_eq!(got, want);
    }

    // Listings come in pages of 1000: objects past the first page are seen too.
    let many = t.subdir("many");
    for i in 0..1100 {
        std::fs::write(many.join(format!("notes-{i:04}.txt")), b"x").unwrap();
    }
    server.put_folder("big/", &many);
    server.put("big/host7_fulldump_20240617_000000.sql.gz", b"x");
    let plan = json(&ok(
        s3_cmd(
            &t,
            &["plan", "--format", "json", "--dumps", "s3://dumps/big"],
        ),
        "plan of 1101 objects",
    ));
    assert_eq!(plan["worlds"][0]["world"], "host7", "{plan}");
    assert_eq!(plan["skipped"].as_array().unwrap().len(), 1100);
    // The table shows the same.
    let table = ok(s3_cmd(&t, &["plan", "--dumps", &dumps]), "plan table");
    assert!(table.contains("3 worlds to restore"), "{table}");
    assert!(
        table.contains("host2_fulldump_20240618_211752.sql.gz"),
        "{table}"
    );
}

#[test]
fn store_errors_exit_3_naming_the_bucket_before_anything_starts() {
    let t = TestEnv::new("s3err", 63);
    let server = Server::start(&t.dir.join("store"), t.port_base + 10);
    let proxy = Proxy::start(t.port_base + 15, server.port);
    server.put_folder("daily/", &sample());
    t.write_config(&endpoint(server.port));
    let expect_3 = |c: Command, needle: &str| {
        let out = run(c);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(3), "{needle}: {err}");
        assert!(err.contains(needle), "wanted {needle:?} in: {err}");
        err
    };
    // Wrong secret.
    let mut c = s3_cmd(&t, &["plan", "--dumps", "s3://dumps/daily/"]);
    c.env("AWS_SECRET_ACCESS_KEY", "wrong");
    let err = expect_3(c, "refused the credentials for bucket dumps");
    assert!(err.contains("AWS_ACCESS_KEY_ID"), "{err}");
    // A bucket that does not exist.
    expect_3(
        s3_cmd(&t, &["plan", "--dumps", "s3://nobucket/daily/"]),
        "bucket nobucket does not exist at http://127.0.0.1:",
    );
    // A prefix that holds nothing.
    let err = expect_3(
        s3_cmd(&t, &["plan", "--dumps", "s3://dumps/dialy/"]),
        "no objects under s3://dumps/dialy/ in bucket dumps",
    );
    assert!(err.contains("check the prefix"), "{err}");
    // up stops at the same place, before any container exists.
    expect_3(
        s3_cmd(&t, &["up", "--dumps", "s3://dumps/dialy/"]),
        "no objects under s3://dumps/dialy/",
    );
    assert_eq!(t.leftovers(), (0, 0));
    // Access denied (the proxy answers 403 AccessDenied).
    proxy.faults.deny.store(true, Ordering::SeqCst);
    t.write_config(&endpoint(proxy.port));
    let err = expect_3(
        s3_cmd(&t, &["plan", "--dumps", "s3://dumps/daily/"]),
        "access denied to bucket dumps",
    );
    assert!(err.contains("s3:ListBucket"), "{err}");
    // Nothing listening.
    t.write_config(&endpoint(t.port_base + 19));
    expect_3(
        s3_cmd(&t, &["plan", "--dumps", "s3://dumps/daily/"]),
        "cannot reach http://127.0.0.1:",
    );
    // Another scheme is a usage error.
    let out = run(s3_cmd(&t, &["plan", "--dumps", "gs://dumps/daily/"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("only s3://"), "{}", stderr(&out));
}

#[test]
fn profiles_of_the_aws_files_give_keys_region_and_endpoint() {
    let t = TestEnv::new("s3profile", 64);
    let server = Server::start(&t.dir.join("store"), t.port_base + 10);
    server.put_folder("daily/", &sample());
    let aws = t.subdir(".aws");
    std::fs::write(
        aws.join("credentials"),
        format!(
            "[default]\naws_access_key_id = nobody\naws_secret_access_key = nothing\n\n\
             [backup]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n"
        ),
    )
    .unwrap();
    std::fs::write(
        aws.join("config"),
        format!(
            "[default]\nregion = us-east-1\n\n[profile backup]\nregion = us-east-1\n\
             endpoint_url = http://127.0.0.1:{}\n",
            server.port
        ),
    )
    .unwrap();
    let without_keys = |args: &[&str]| {
        let mut c = s3_cmd(&t, args);
        c.env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY");
        c
    };
    let plan = ["plan", "--format", "json", "--dumps", "s3://dumps/daily/"];
    // --profile: keys and endpoint from ~/.aws.
    let v = json(&ok(
        without_keys(&[&plan[..], &["--profile", "backup"]].concat()),
        "plan --profile backup",
    ));
    assert_eq!(v["worlds"].as_array().unwrap().len(), 3, "{v}");
    // AWS_PROFILE does the same.
    let mut c = without_keys(&plan);
    c.env("AWS_PROFILE", "backup");
    ok(c, "plan with AWS_PROFILE");
    // --profile wins over keys in the environment.
    let mut c = s3_cmd(&t, &[&plan[..], &["--profile", "backup"]].concat());
    c.env("AWS_SECRET_ACCESS_KEY", "wrong");
    ok(c, "plan --profile with other keys in the environment");
    // The default profile's keys are refused by the server: named in the error.
    let mut c = without_keys(&plan);
    c.env(
        "AWS_ENDPOINT_URL",
        format!("http://127.0.0.1:{}", server.port),
    );
    let out = run(c);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("profile \"default\""),
        "{}",
        stderr(&out)
    );
    // A profile that is nowhere.
    let out = run(without_keys(&[&plan[..], &["--profile", "nope"]].concat()));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("AWS profile \"nope\" is in neither"),
        "{}",
        stderr(&out)
    );
}

/// Wait while another benchmark measures on this machine.
fn wait_for_bench_lock() {
    while Path::new("/tmp/worlds-bench.lock").exists() {
        std::thread::sleep(Duration::from_secs(5));
    }
}

/// Checksums of every base table of `db` in a world, in name order.
fn checksums(t: &TestEnv, world: &str, db: &str) -> Vec<String> {
    let tables = t.sql(
        world,
        &format!(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = '{db}' \
             AND table_type = 'BASE TABLE' ORDER BY table_name"
        ),
    );
    let names: Vec<&str> = tables.lines().skip(1).collect();
    assert!(!names.is_empty(), "{world} has no tables in {db}");
    names
        .iter()
        .map(|n| {
            let out = t.sql(world, &format!("CHECKSUM TABLE `{db}`.`{n}` EXTENDED"));
            format!("{n}={}", out.lines().nth(1).unwrap_or_default())
        })
        .collect()
}

#[test]
fn up_streams_objects_through_cut_connections_and_matches_a_folder_restore() {
    wait_for_bench_lock();
    let t = TestEnv::new("s3up", 60);
    let folder_env = TestEnv::new("s3fold", 61);
    let dumps = t.subdir("gen");
    generate(
        &dumps,
        &[
            "--hosts", "2", "--dumps", "1", "--mb", "3", "--level", "1", "--seed", "14",
        ],
    );
    let server = Server::start(&t.dir.join("store"), t.port_base + 10);
    let proxy = Proxy::start(t.port_base + 15, server.port);
    server.put_folder("gen/", &dumps);
    let sizes: Vec<u64> = std::fs::read_dir(&dumps)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .collect();
    let smallest = sizes.iter().copied().min().unwrap();
    assert!(smallest > 200_000, "dumps too small to cut: {sizes:?}");
    // Every object read is cut mid-body a few times, and the first reconnection after a
    // cut is answered 503.
    proxy.faults.cut_after.store(smallest / 3, Ordering::SeqCst);
    proxy.faults.cuts_left.store(4, Ordering::SeqCst);
    proxy
        .faults
        .unavailable_after_cut
        .store(1, Ordering::SeqCst);
    t.write_config(&endpoint(proxy.port));
    let out = run(s3_cmd(&t, &["up", "--dumps", "s3://dumps/gen/"]));
    let err = stderr(&out);
    assert!(out.status.success(), "{}\n{err}", stdout(&out));
    assert_eq!(proxy.faults.cuts.load(Ordering::SeqCst), 4, "{err}");
    assert_eq!(proxy.faults.unavailable.load(Ordering::SeqCst), 1, "{err}");
    assert!(
        err.contains("resuming from there with a ranged GET"),
        "{err}"
    );
    assert!(err.contains("503"), "{err}");

    folder_env.ok(&["up", "--dumps", dumps.to_str().unwrap()]);
    let status = json(&ok(s3_cmd(&t, &["status", "--format", "json"]), "status"));
    let worlds = status["worlds"].as_array().unwrap();
    assert_eq!(worlds.len(), 2, "{status}");
    for w in worlds {
        assert_eq!(w["state"], "ready", "{status}");
        let name = w["world"].as_str().unwrap();
        assert_eq!(
            checksums(&t, name, "game"),
            checksums(&folder_env, name, "game"),
            "{name}"
        );
    }
    // diff compares the worlds restored from the bucket with those from the folder: equal.
    for table in ["player", "inventory", "event_log"] {
        let out = t.run(&["diff", table, "--from", &folder_env.env, "--exit-code"]);
        assert!(
            out.status.success(),
            "diff {table}: {}\n{}",
            stdout(&out),
            stderr(&out)
        );
    }
    // The same objects again: kept, nothing read.
    let again = run(s3_cmd(&t, &["up", "--dumps", "s3://dumps/gen/"]));
    assert!(again.status.success(), "{}", stderr(&again));
    let text = format!("{}{}", stdout(&again), stderr(&again));
    assert!(text.contains("kept"), "{text}");
}

#[test]
fn an_object_that_changes_while_it_is_read_fails_its_world() {
    wait_for_bench_lock();
    let t = TestEnv::new("s3changed", 65);
    let dumps = t.subdir("gen");
    generate(
        &dumps,
        &[
            "--hosts", "1", "--dumps", "1", "--mb", "3", "--level", "1", "--seed", "15",
        ],
    );
    let server = Server::start(&t.dir.join("store"), t.port_base + 10);
    let proxy = Proxy::start(t.port_base + 15, server.port);
    server.put_folder("gen/", &dumps);
    let file = std::fs::read_dir(&dumps)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let object = server
        .root
        .join(BUCKET)
        .join("gen")
        .join(file.file_name().unwrap());
    proxy.faults.cut_after.store(100_000, Ordering::SeqCst);
    proxy.faults.cuts_left.store(1, Ordering::SeqCst);
    // At the cut, the object is replaced by another upload.
    *proxy.faults.on_cut.lock().unwrap() = Some(Box::new(move || {
        let mut bytes = std::fs::read(&object).unwrap();
        bytes.extend_from_slice(b"-- another upload\n");
        std::fs::write(&object, bytes).unwrap();
    }));
    t.write_config(&endpoint(proxy.port));
    // Without the disk estimate (which reads the object too), the first read is the restore's.
    let out = run(s3_cmd(
        &t,
        &["up", "--dumps", "s3://dumps/gen/", "--ignore-space"],
    ));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{}\n{err}", stdout(&out));
    assert!(err.contains("changed while it was being read"), "{err}");
    let status = json(&ok(s3_cmd(&t, &["status", "--format", "json"]), "status"));
    assert_eq!(status["worlds"][0]["state"], "failed", "{status}");
}

/// Snapshot volumes on the engine (they are shared by every environment).
fn snapshot_volumes() -> Vec<String> {
    let out = Command::new("docker")
        .args(["volume", "ls", "-q", "--filter", "label=io.worlds.snapshot"])
        .output()
        .expect("docker volume ls");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// A label of a volume.
fn volume_label(volume: &str, label: &str) -> String {
    let out = Command::new("docker")
        .args([
            "volume",
            "inspect",
            "--format",
            &format!("{{{{index .Labels \"{label}\"}}}}"),
            volume,
        ])
        .output()
        .expect("docker volume inspect");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_restore_from_an_object_keeps_a_snapshot_that_the_next_up_starts_from() {
    wait_for_bench_lock();
    let t = TestEnv::new("s3snap", 66);
    let dumps = t.subdir("gen");
    generate(
        &dumps,
        &[
            "--hosts", "1", "--dumps", "1", "--mb", "1", "--seed", "1466",
        ],
    );
    let file = std::fs::read_dir(&dumps)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let size = std::fs::metadata(&file).unwrap().len().to_string();
    let name = file.file_name().unwrap().to_str().unwrap().to_string();
    let server = Server::start(&t.dir.join("store"), t.port_base + 10);
    server.put_folder("gen/", &dumps);
    t.write_config(&format!("{}snapshots: true\n", endpoint(server.port)));
    let before = snapshot_volumes();
    let first = run(s3_cmd(&t, &["up", "--dumps", "s3://dumps/gen/"]));
    let mine: Vec<String> = snapshot_volumes()
        .into_iter()
        .filter(|v| !before.contains(v))
        .filter(|v| {
            volume_label(v, "io.worlds.snapshot.dump_size") == size
                && volume_label(v, "io.worlds.snapshot.dump") == name
        })
        .collect();
    // Whatever happens, the snapshot this test made is removed (snapshots outlive `down`).
    let second = || {
        assert!(first.status.success(), "{}", stderr(&first));
        let checksum = checksums(&t, "host1", "game");
        ok(s3_cmd(&t, &["down"]), "down");
        let out = run(s3_cmd(&t, &["up", "--dumps", "s3://dumps/gen/"]));
        let text = format!("{}{}", stdout(&out), stderr(&out));
        assert!(out.status.success(), "{text}");
        assert!(text.contains("from snapshot"), "{text}");
        assert_eq!(checksums(&t, "host1", "game"), checksum);
    };
    let result = std::panic::catch_unwind(second);
    let _ = run(s3_cmd(&t, &["down"]));
    for v in &mine {
        let _ = Command::new("docker").args(["volume", "rm", v]).output();
    }
    assert_eq!(mine.len(), 1, "snapshots made by this test: {mine:?}");
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
