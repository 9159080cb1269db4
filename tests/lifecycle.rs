//! up -> status -> env -> connect -> down on the real Docker engine with the sample dumps.

mod common;

use common::{host_network_client, image_of, repo, stderr, stdout, TestEnv};

#[test]
fn sample_dumps_up_status_env_connect_down() {
    let t = TestEnv::new("life", 1);
    let dumps = repo().join("dumps");
    let dumps = dumps.to_str().unwrap();
    let out = t.run(&["up", "--dumps", dumps]);
    assert!(
        out.status.success(),
        "up failed: {}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("3 of 3 worlds ready"),
        "{}",
        stdout(&out)
    );

    // status --format json: exactly the documented shape.
    let status = t.json(&["status", "--format", "json"]);
    assert_eq!(status["env"], t.env.as_str());
    let worlds = status["worlds"].as_array().unwrap();
    assert_eq!(worlds.len(), 3);
    for (i, w) in worlds.iter().enumerate() {
        let name = format!("host{}", i + 1);
        assert_eq!(w["world"], name.as_str());
        assert_eq!(w["state"], "ready", "{w}");
        assert_eq!(w["host"], "127.0.0.1");
        // World i wants port_base + i; a port another program holds moves it up a little.
        let port = w["port"].as_u64().unwrap_or(0);
        let base = u64::from(t.port_base);
        assert!(
            (base + i as u64..base + 20).contains(&port),
            "{name} on port {port}, base {base}"
        );
        assert_eq!(w["container"], format!("worlds.{}.{name}", t.env).as_str());
        assert!(w["dump"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{name}_fulldump_20240618_")));
        assert!(w["timestamp"].as_str().unwrap().starts_with("2024-06-18T"));
        // The seven keys above, plus the restore record's (tests/seeing.rs checks those).
        let mut keys: Vec<&str> = w.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "container",
                "dump",
                "dumps_dir",
                "error",
                "from_snapshot",
                "host",
                "partial",
                "port",
                "restore_seconds",
                "rows",
                "snapshot",
                "state",
                "timestamp",
                "world"
            ],
            "unexpected fields in {w}"
        );
        // Every table's data was restored.
        assert!(w["partial"].is_null(), "{w}");
    }

    // env --format json, and the generated credentials really work over 127.0.0.1.
    let env = t.json(&["env", "--format", "json"]);
    let first = &env["worlds"][0];
    for key in ["world", "host", "port", "user", "password", "database"] {
        assert!(first.get(key).is_some(), "env json lacks {key}: {first}");
    }
    let pw = first["password"].as_str().unwrap();
    assert!(pw.len() >= 16, "weak password {pw:?}");
    let port = first["port"].as_u64().unwrap() as u16;
    // The client of the worlds image, on the host's network: no client needed on the host.
    let image = image_of(worlds[0]["container"].as_str().unwrap());
    let out = host_network_client(
        &image,
        &["-e", "MYSQL_PWD"],
        &[
            "-h",
            "127.0.0.1",
            "--protocol=TCP",
            &format!("-P{port}"),
            "-uroot",
            "--batch",
            "-e",
            "SELECT COUNT(*) FROM game.player",
        ],
    )
    .env("MYSQL_PWD", pw)
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = stdout(&out);
    let n: u64 = rows.lines().nth(1).unwrap().trim().parse().unwrap();
    assert!(n >= 3, "host1 has {n} players");

    // The password file is private.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(t.dir.join(".worlds").join(&t.env).join("password")).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }

    // The option file works with the ordinary client.
    let cnf = t.dir.join(".worlds").join(&t.env).join("my.cnf");
    let mount = format!("{}:/tmp/my.cnf:ro", cnf.display());
    let out = host_network_client(
        &image,
        &["-v", &mount],
        &[
            "--defaults-file=/tmp/my.cnf",
            "--defaults-group-suffix=_host2",
            "--batch",
            "-e",
            "SELECT DATABASE(), COUNT(*) FROM player",
        ],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("game"), "{}", stdout(&out));

    // connect -e runs one statement.
    let out = t.run(&["connect", "host3", "-e", "SELECT CONCAT('world-', 3) AS w"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("world-3"), "{}", stdout(&out));
    let out = t.run(&["connect", "host9", "-e", "SELECT 1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("host1, host2, host3"),
        "{}",
        stderr(&out)
    );

    // A second up with the same dumps leaves the worlds alone.
    let out = t.run(&["up", "--dumps", dumps]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("ready (kept)"), "{}", stdout(&out));

    // An up at an earlier time would replace ready worlds: it lists them and changes nothing.
    let out = t.run(&["up", "--dumps", dumps, "--at", "2024-06-18 00:00"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("other dump"), "{}", stderr(&out));
    let status = t.json(&["status", "--format", "json"]);
    for w in status["worlds"].as_array().unwrap() {
        assert!(w["dump"].as_str().unwrap().contains("_20240618_"), "{w}");
    }
    // With --replace it replaces every world with its older dump.
    let out = t.run(&[
        "up",
        "--dumps",
        dumps,
        "--at",
        "2024-06-18 00:00",
        "--replace",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let status = t.json(&["status", "--format", "json"]);
    for w in status["worlds"].as_array().unwrap() {
        assert!(w["dump"].as_str().unwrap().contains("_20240617_"), "{w}");
        assert_eq!(w["state"], "ready");
    }

    // down removes everything it made, and says so; a second down is a no-op.
    let out = t.ok(&["down"]);
    assert!(out.contains("removed container"), "{out}");
    assert_eq!(t.leftovers(), (0, 0));
    assert!(!t.dir.join(".worlds").join(&t.env).exists());
    let out = t.ok(&["down"]);
    assert!(out.contains("nothing to remove"), "{out}");
}
