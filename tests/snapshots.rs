//! Snapshots: a verified restore is kept, and later worlds of the same dump start from it
//! (after `down`, in another environment and folder, after export and import), never from a
//! snapshot of other content; `--fresh`, `rm`, `prune` and the budget. Every snapshot here
//! holds dumps that name this run, so the test touches only its own snapshots.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{image_of, TestEnv};

/// A mysqldump-shaped dump of `rows` players, one guild per 100, a view, a procedure and a
/// trigger; `marker` makes its content this run's own.
fn dump(marker: &str, rows: usize) -> String {
    let mut s = String::from(
        "-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n\
         /*!40101 SET NAMES utf8mb4 */;\n\
         DROP TABLE IF EXISTS `player`;\n\
         CREATE TABLE `player` (`id` int NOT NULL, `name` varchar(64) NOT NULL, \
         `score` bigint NOT NULL, PRIMARY KEY (`id`), KEY `score` (`score`)) \
         ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n",
    );
    for chunk in (1..=rows).collect::<Vec<_>>().chunks(1000) {
        let values: Vec<String> = chunk
            .iter()
            .map(|i| format!("({i},'p-{marker}-{i:06}',{})", 1_000_000 + i))
            .collect();
        s.push_str(&format!(
            "INSERT INTO `player` VALUES {};\n",
            values.join(",")
        ));
    }
    s.push_str(
        "DROP TABLE IF EXISTS `guild`;\n\
         CREATE TABLE `guild` (`id` int NOT NULL AUTO_INCREMENT, `name` varchar(64), \
         PRIMARY KEY (`id`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n",
    );
    let guilds: Vec<String> = (1..=rows.div_ceil(100))
        .map(|g| format!("({g},'guild {g}')"))
        .collect();
    s.push_str(&format!(
        "INSERT INTO `guild` VALUES {};\n",
        guilds.join(",")
    ));
    s.push_str(
        "CREATE VIEW `top` AS SELECT `id`, `score` FROM `player` WHERE `score` > 1000050;\n\
         DELIMITER ;;\n\
         CREATE PROCEDURE `best`() BEGIN SELECT MAX(`score`) FROM `player`; END ;;\n\
         CREATE TRIGGER `guild_upper` BEFORE INSERT ON `guild` FOR EACH ROW \
         SET NEW.`name` = UPPER(NEW.`name`) ;;\n\
         DELIMITER ;\n\
         -- Dump completed on 2024-06-18 21:17:06\n",
    );
    s
}

fn gzip(text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(text.as_bytes()).unwrap();
    e.finish().unwrap()
}

/// Rows of host1's dump: about 3.9 MB of SQL, more than the sampled identity reads in full.
const ROWS: usize = 100_000;
const HOST1: &str = "host1_fulldump_20240618_211706.sql";
const HOST2: &str = "host2_fulldump_20240618_211752.sql.gz";

/// Write the two dumps into `dir`.
fn write_dumps(dir: &Path, marker: &str) {
    std::fs::write(dir.join(HOST1), dump(marker, ROWS)).unwrap();
    std::fs::write(dir.join(HOST2), gzip(&dump(&format!("{marker}-2"), 300))).unwrap();
}

/// Checksums of the data and the text of every object: what must be identical between a
/// world restored from its dump and one started from its snapshot.
fn fingerprint(t: &TestEnv, world: &str) -> String {
    t.sql(
        world,
        "CHECKSUM TABLE game.player, game.guild EXTENDED; \
         SHOW CREATE TABLE game.player; SHOW CREATE TABLE game.guild; \
         SHOW CREATE VIEW game.top; SHOW CREATE PROCEDURE game.best; \
         SHOW TRIGGERS FROM game; SELECT COUNT(*), SUM(score) FROM game.player",
    )
}

/// The fingerprint without the `Created` column of SHOW TRIGGERS.
fn trigger_times_left_out(fingerprint: &str) -> String {
    fingerprint
        .lines()
        .map(|l| {
            if l.starts_with("guild_upper\t") {
                let mut cells: Vec<&str> = l.split('\t').collect();
                cells.remove(5);
                cells.join("\t")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn status(t: &TestEnv) -> serde_json::Value {
    t.json(&["status", "--format", "json"])
}

fn world_json(t: &TestEnv, world: &str) -> serde_json::Value {
    status(t)["worlds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["world"] == world)
        .unwrap_or_else(|| panic!("no {world}"))
        .clone()
}

/// The snapshot id of a world's data.
fn snapshot_of(t: &TestEnv, world: &str) -> String {
    world_json(t, world)["snapshot"]
        .as_str()
        .unwrap_or_else(|| panic!("{world} has no snapshot: {}", world_json(t, world)))
        .to_string()
}

/// Every snapshot on the engine (`worlds snapshots --format json`).
fn snapshots(t: &TestEnv) -> Vec<serde_json::Value> {
    t.json(&["snapshots", "--format", "json"])
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn find(t: &TestEnv, id: &str) -> Option<serde_json::Value> {
    snapshots(t).into_iter().find(|s| s["id"] == id)
}

/// Make a snapshot look taken and last used long ago (its manifest and use file).
fn age(image: &str, id: &str, when: &str) {
    let volume = format!("worlds-snapshot-{}", &id[..24]);
    let script = format!(
        "echo {when} > /s/used && sed -i 's/\"created\": \"[^\"]*\"/\"created\": \"{when}\"/' \
         /s/snapshot.json"
    );
    let out = Command::new("docker")
        .args([
            "run",
            "--rm",
            "-v",
            &format!("{volume}:/s"),
            "--entrypoint",
            "sh",
        ])
        .args([image, "-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Removes this test's snapshots whatever happens.
struct Cleanup<'a>(&'a TestEnv, Vec<String>);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for id in &self.1 {
            let _ = self.0.cmd(&["snapshots", "rm", id]).output();
        }
    }
}

/// `up` in `t`, returning stdout; every world must be ready.
fn up(t: &TestEnv, args: &[&str]) -> String {
    let mut all = vec!["up"];
    all.extend_from_slice(args);
    t.ok(&all)
}

fn env_with_dumps(name: &str, slot: u16, marker: &str, extra: &str) -> (TestEnv, PathBuf) {
    let t = TestEnv::new(name, slot);
    t.write_config(&format!("snapshots: true\n{extra}"));
    let dumps = t.subdir("dumps");
    write_dumps(&dumps, marker);
    (t, dumps)
}

#[test]
fn restore_once_then_start_from_the_snapshot_anywhere() {
    let marker = format!("snap{}", std::process::id());
    let (a, dumps) = env_with_dumps("snap-a", 48, &marker, "");
    let mut cleanup = Cleanup(&a, Vec::new());

    // 1. The first up restores from the dumps and keeps a snapshot of each world.
    let out = up(&a, &[]);
    assert!(!out.contains("from snapshot"), "{out}");
    let (id1, id2) = (snapshot_of(&a, "host1"), snapshot_of(&a, "host2"));
    cleanup.1 = vec![id1.clone(), id2.clone()];
    assert_ne!(id1, id2);
    assert_eq!(
        world_json(&a, "host1")["from_snapshot"],
        serde_json::Value::Null
    );
    let restored = [fingerprint(&a, "host1"), fingerprint(&a, "host2")];
    assert!(restored[0].contains(&ROWS.to_string()), "{}", restored[0]);
    let listed = find(&a, &id1).expect("the snapshot is listed");
    assert_eq!(listed["world"], "host1");
    assert_eq!(listed["dump"], HOST1);
    assert_eq!(listed["complete"], true);
    assert!(
        listed["size_bytes"].as_u64().unwrap() > 1_000_000,
        "{listed}"
    );
    let image = image_of(&a.container("host1"));

    // 2. down keeps the snapshots and says so; up again starts from them, identical.
    let down = a.run(&["down"]);
    let said = String::from_utf8_lossy(&down.stdout);
    assert!(said.contains("snapshots of restored worlds stay"), "{said}");
    assert!(find(&a, &id1).is_some() && find(&a, &id2).is_some());
    let out = up(&a, &[]);
    assert_eq!(out.matches("ready (from snapshot)").count(), 2, "{out}");
    assert_eq!(
        [fingerprint(&a, "host1"), fingerprint(&a, "host2")],
        restored
    );
    let w = world_json(&a, "host1");
    assert_eq!(w["state"], "ready");
    assert_eq!(w["snapshot"], id1.as_str());
    assert!(w["from_snapshot"].is_string(), "{w}");
    assert_eq!(w["rows"]["game.player"], ROWS);
    let table = a.ok(&["status"]);
    assert!(table.contains("from snapshot"), "{table}");
    // The world is a copy: writing to it leaves the snapshot as it was.
    a.sql("host1", "DELETE FROM game.player WHERE id <= 10");

    // 3. Another environment in another folder, with copies of the dumps (new times).
    let b = TestEnv::new("snap-b", 49);
    b.write_config("snapshots: true\n");
    let b_dumps = b.subdir("dumps");
    for f in [HOST1, HOST2] {
        std::fs::copy(dumps.join(f), b_dumps.join(f)).unwrap();
    }
    let out = up(&b, &[]);
    assert_eq!(out.matches("ready (from snapshot)").count(), 2, "{out}");
    assert_eq!(fingerprint(&b, "host1"), restored[0]);
    drop(b);

    // 4. Same name, same size, same time, other bytes where the sampled identity does not
    //    look: the snapshot is not used, the dump is restored.
    let c = TestEnv::new("snap-c", 49);
    c.write_config("snapshots: true\n");
    let c_dumps = c.subdir("dumps");
    let text = dump(&marker, ROWS);
    let size = text.len();
    // A row between the first sampled MiB and the middle sampled one.
    let (lo, hi) = ((1 << 20) + 4096, size / 2 - (1 << 19) - 4096);
    let row = (0..200)
        .map(|k| (lo + 1000) / 39 + 50 * k)
        .map(|i| (i, format!("({i},'p-{marker}-{i:06}',{})", 1_000_000 + i)))
        .find(|(_, r)| text.find(r.as_str()).is_some_and(|at| at > lo && at < hi))
        .expect("a row outside the sampled parts");
    let at = text.find(row.1.as_str()).unwrap() + row.1.len() - 2;
    let mut text = text.into_bytes();
    text[at] = if text[at] == b'9' { b'8' } else { b'9' };
    let path = c_dumps.join(HOST1);
    std::fs::write(&path, &text).unwrap();
    let original = std::fs::metadata(dumps.join(HOST1)).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(original.modified().unwrap())
        .unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), original.len());
    let out = up(&c, &["--worlds", "host1"]);
    assert!(!out.contains("from snapshot"), "{out}");
    let changed = snapshot_of(&c, "host1");
    cleanup.1.push(changed.clone());
    assert_ne!(changed, id1, "other content, other key");
    let score = c.sql(
        "host1",
        &format!("SELECT score FROM game.player WHERE id = {}", row.0),
    );
    assert!(
        !score.contains(&(1_000_000 + row.0).to_string()),
        "the changed row must hold the new score: {score}"
    );
    drop(c);

    // 5. --fresh restores from the dump and takes the snapshot again.
    a.ok(&["down"]);
    let before = find(&a, &id2).unwrap()["created"].clone();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = up(&a, &["--fresh", "--worlds", "host2"]);
    assert!(!out.contains("from snapshot"), "{out}");
    let after = find(&a, &id2).expect("taken again");
    assert_ne!(after["created"], before, "{after}");
    // A new restore: the same data and objects; only its trigger's creation time is new.
    assert_eq!(
        trigger_times_left_out(&fingerprint(&a, "host2")),
        trigger_times_left_out(&restored[1])
    );

    // 6. Export, remove, import (the engine holds it no more), and start from it.
    let file = a.dir.join("host1.snapshot");
    a.ok(&[
        "snapshots",
        "export",
        &id1[..12],
        "-o",
        file.to_str().unwrap(),
    ]);
    assert!(std::fs::metadata(&file).unwrap().len() > 10_000);
    let mut damaged = std::fs::read(&file).unwrap();
    let mid = damaged.len() / 2;
    damaged[mid] ^= 0x55;
    let bad = a.dir.join("damaged.snapshot");
    std::fs::write(&bad, &damaged).unwrap();
    a.ok(&["snapshots", "rm", &id1]);
    assert!(find(&a, &id1).is_none());
    let refused = a.run(&["snapshots", "import", bad.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(find(&a, &id1).is_none(), "a damaged import leaves nothing");
    a.ok(&["snapshots", "import", file.to_str().unwrap()]);
    assert_eq!(find(&a, &id1).unwrap()["complete"], true);
    a.ok(&["down"]);
    let out = up(&a, &["--worlds", "host1"]);
    assert!(out.contains("ready (from snapshot)"), "{out}");
    assert_eq!(fingerprint(&a, "host1"), restored[0]);

    // 7. Another tables filter is another key: no snapshot is used for it.
    a.ok(&["down"]);
    let out = up(&a, &["--worlds", "host1", "--tables", "guild"]);
    assert!(!out.contains("from snapshot"), "{out}");
    let partial = snapshot_of(&a, "host1");
    cleanup.1.push(partial.clone());
    assert_ne!(partial, id1, "another tables filter, another key");
    assert_eq!(
        a.sql("host1", "SELECT COUNT(*) FROM game.player")
            .trim_end(),
        "COUNT(*)\n0"
    );

    // 8. The budget removes the least recently used first: host2's, made old here.
    age(&image, &id2, "2001-01-01T00:00:00Z");
    let total: u64 = snapshots(&a)
        .iter()
        .map(|s| s["size_bytes"].as_u64().unwrap())
        .sum();
    a.write_config(&format!(
        "snapshots: true\nsnapshot_budget: {}\n",
        total - 1
    ));
    a.ok(&["down"]);
    let out = a.run(&["up", "--worlds", "host1", "--replace"]);
    assert!(out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("snapshot budget"), "{said}");
    assert!(find(&a, &id2).is_none(), "the least recently used one went");
    assert!(find(&a, &id1).is_some(), "the one just used stays");

    // 9. prune --older-than removes what was not used within the span: host1's, made old.
    age(&image, &id1, "2002-01-01T00:00:00Z");
    a.ok(&["snapshots", "prune", "--older-than", "3650d"]);
    assert!(find(&a, &id1).is_none());
    let unknown = a.run(&["snapshots", "rm", &id1]);
    assert_eq!(
        unknown.status.code(),
        Some(2),
        "an unknown snapshot is a usage error"
    );
}
