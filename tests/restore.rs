//! Restores checked against their source: a database made with SQL in a world, dumped with
//! the real mariadb-dump, restored as gzip, multi-member gzip, zstd and without CREATE DATABASE;
//! and bad dumps that fail their world only.

mod common;

use std::io::Write;
use std::process::Command;

use common::{client_in, feed, generate, repo, stderr, stdout, Login, TestEnv};

const SOURCE_SQL: &str = r#"
CREATE DATABASE src CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
USE src;
CREATE TABLE player (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  note TEXT NULL,
  data JSON NULL,
  bin BLOB NULL,
  score DECIMAL(10,2) NULL,
  KEY idx_name (name)
) ENGINE=InnoDB;
CREATE TABLE audit (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, msg VARCHAR(200) NOT NULL);
DELIMITER ;;
CREATE TRIGGER trg_player_ins AFTER INSERT ON player FOR EACH ROW
BEGIN
  INSERT INTO audit (msg) VALUES (CONCAT('new;player ', NEW.name));
END;;
CREATE PROCEDURE add_score(IN p INT, IN delta INT)
BEGIN
  UPDATE player SET score = score + delta WHERE id = p;
  SELECT 'done; really' AS msg;
END;;
DELIMITER ;
CREATE VIEW top_players AS SELECT name, score FROM player WHERE score > 10;
CREATE USER 'gamedev'@'%' IDENTIFIED BY 'not-in-the-restored-world';
GRANT ALL ON src.* TO 'gamedev'@'%';
CREATE DEFINER = 'gamedev'@'%' SQL SECURITY DEFINER VIEW dev_view AS SELECT COUNT(*) AS n FROM player;
CREATE EVENT ev_noop ON SCHEDULE EVERY 1 DAY DISABLE DO DELETE FROM audit WHERE id < 0;
INSERT INTO player (name, note, data, bin, score) VALUES
  ('O''Brien; "the" `tick`', 'back\\slash \\n; -- not a comment', '{"a": [1, "x;y"], "q": "it''s"}', UNHEX('00'), 12.50),
  ('emoji 😀 𝄞 日本語', NULL, NULL, NULL, NULL),
  ('semi;colon', 'line1\nline2\r\n\ttab /* x */ # y', '{"n": null}', UNHEX('FF00FE'), -3.25),
  ('nul', CONCAT('a', CHAR(0), 'b'), '[]', '', 0);
UPDATE player SET bin = (
  SELECT UNHEX(GROUP_CONCAT(LPAD(HEX(seq), 2, '0') ORDER BY seq SEPARATOR ''))
  FROM seq_0_to_255
) WHERE id = 1;
"#;

/// Run `sql` through the client inside the world's container, the way `mariadb < file` does.
fn mysql_stdin(login: &Login, sql: &str) {
    let out = feed(
        client_in(login, &["--default-character-set=utf8mb4"]),
        sql.as_bytes(),
    );
    assert!(out.status.success(), "source SQL failed: {}", stderr(&out));
}

/// A world started without a restore and filled with SQL, to dump with the real mariadb-dump.
struct Source {
    login: Login,
}

impl Source {
    fn start(t: &TestEnv, sql: &str) -> Source {
        t.ok(&[
            "up",
            "--dumps",
            repo().join("dumps").to_str().unwrap(),
            "--hosts",
            "host1",
            "--no-restore",
        ]);
        let login = t.login("host1");
        mysql_stdin(&login, sql);
        Source { login }
    }

    fn dump(&self, args: &[&str]) -> Vec<u8> {
        // The password goes through the environment of `docker`, never a command line.
        let out = Command::new("docker")
            .args(["exec", "-e", "MYSQL_PWD"])
            .args([self.login.container.as_str(), "mariadb-dump", "-uroot"])
            .args(args)
            .env("MYSQL_PWD", &self.login.password)
            .output()
            .unwrap();
        assert!(out.status.success(), "mariadb-dump: {}", stderr(&out));
        out.stdout
    }
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Checksums of every base table of `db`, in name order.
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
            let value = out
                .lines()
                .nth(1)
                .unwrap_or_default()
                .split('\t')
                .nth(1)
                .unwrap_or_default()
                .to_string();
            format!("{n}={value}")
        })
        .collect()
}

#[test]
fn mariadb_dump_output_restores_identically() {
    let t = TestEnv::new("fidelity", 8);
    // The source: a world started without a restore, filled with SQL.
    let source = Source::start(&t, SOURCE_SQL);
    let with_db = source.dump(&["--routines", "--triggers", "--events", "--databases", "src"]);
    let without_db = source.dump(&["--routines", "--triggers", "--events", "src"]);
    assert!(with_db.starts_with(b"/*M!999999\\- enable the sandbox mode */"));

    let dir = t.subdir("dumps");
    std::fs::write(
        dir.join("srca_fulldump_20240101_000000.sql.gz"),
        gzip(&with_db),
    )
    .unwrap();
    let mid = with_db.len() / 2;
    let mut multi = gzip(&with_db[..mid]);
    multi.extend(gzip(&with_db[mid..]));
    std::fs::write(dir.join("srcb_fulldump_20240101_000000.sql.gz"), multi).unwrap();
    std::fs::write(
        dir.join("srcc_fulldump_20240101_000000.sql.gz"),
        gzip(&without_db),
    )
    .unwrap();
    let zst = zstd::encode_all(&with_db[..], 3).unwrap();
    std::fs::write(dir.join("srcd_fulldump_20240101_000000.sql.zst"), zst).unwrap();
    std::fs::write(dir.join("srce_fulldump_20240101_000000.sql"), &with_db).unwrap();

    // Several loading connections per world: the parallel path with deferred triggers.
    let out = t.run(&["up", "--dumps", "dumps", "--jobs", "3"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        !stderr(&out).contains("restoring serially"),
        "{}",
        stderr(&out)
    );

    let want = checksums(&t, "host1", "src");
    assert!(want.iter().any(|c| c.starts_with("audit=")));
    for world in ["srca", "srcb", "srcd", "srce"] {
        assert_eq!(
            checksums(&t, world, "src"),
            want,
            "{world} differs from the source"
        );
    }
    // Without CREATE DATABASE the dump lands in the default database.
    assert_eq!(
        checksums(&t, "srcc", "game"),
        want,
        "srcc differs from the source"
    );

    // Routines, triggers, views and events came along and work.
    for (world, db) in [("srca", "src"), ("srcc", "game")] {
        let got = t.sql(world, &format!("CALL `{db}`.add_score(2, 5)"));
        assert!(got.contains("done; really"), "{got}");
        // A view whose DEFINER does not exist in the restored world still works.
        let dev = t.sql(world, &format!("SELECT n FROM `{db}`.dev_view"));
        assert_eq!(dev.lines().nth(1), Some("4"), "{world}: {dev}");
        let top = t.sql(world, &format!("SELECT COUNT(*) FROM `{db}`.top_players"));
        assert_eq!(top.lines().nth(1), Some("1"), "{world}: {top}");
        let before = t.sql(world, &format!("SELECT COUNT(*) FROM `{db}`.audit"));
        t.sql(
            world,
            &format!("INSERT INTO `{db}`.player (name) VALUES ('fresh')"),
        );
        let after = t.sql(world, &format!("SELECT COUNT(*) FROM `{db}`.audit"));
        let n = |s: &str| s.lines().nth(1).unwrap_or("0").parse::<u64>().unwrap_or(0);
        assert_eq!(
            n(&after),
            n(&before) + 1,
            "{world}: the trigger did not fire"
        );
        let events = t.sql(
            world,
            &format!("SELECT COUNT(*) FROM information_schema.events WHERE event_schema = '{db}'"),
        );
        assert_eq!(events.lines().nth(1), Some("1"), "{world}: {events}");
    }
    // The restore record shows the rows.
    let status = t.ok(&["status"]);
    assert!(
        status.contains("srca") && status.contains("ready"),
        "{status}"
    );
}

#[test]
fn bad_dumps_fail_their_world_only() {
    let t = TestEnv::new("bad", 9);
    let dir = t.subdir("dumps");
    generate(&dir, &["--hosts", "2", "--dumps", "1", "--rows", "400"]);
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let good = files
        .iter()
        .find(|p| p.to_string_lossy().contains("host1_"))
        .unwrap();
    let data = std::fs::read(good).unwrap();
    // host2: truncated gzip.
    let host2 = files
        .iter()
        .find(|p| p.to_string_lossy().contains("host2_"))
        .unwrap();
    std::fs::write(host2, &data[..data.len() * 2 / 3]).unwrap();
    // host3: random bytes named .sql.gz.
    let noise: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(dir.join("host3_fulldump_20240617_000000.sql.gz"), noise).unwrap();
    // host4: a SQL error thousands of statements in.
    let sql_dir = t.subdir("sql");
    generate(
        &sql_dir,
        &[
            "--hosts",
            "1",
            "--dumps",
            "1",
            "--rows",
            "6000",
            "--insert-bytes",
            "300",
            "--plain",
        ],
    );
    let plain = std::fs::read_dir(&sql_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut sql = std::fs::read(&plain).unwrap();
    // Before the `-- Dump completed` line, which stays last.
    let end = sql
        .windows(17)
        .rposition(|w| w == b"-- Dump completed")
        .expect("the generator writes mysqldump's last line");
    let lines_before = sql[..end].iter().filter(|&&b| b == b'\n').count() + 1;
    sql.splice(
        end..end,
        b"INSERT INTO `player` VALUES (1,'duplicate; row',0,'2024-01-01 00:00:00');\n"
            .iter()
            .copied(),
    );
    std::fs::write(dir.join("host4_fulldump_20240617_000000.sql"), sql).unwrap();
    // host5: a valid gzip file that holds nothing.
    std::fs::write(dir.join("host5_fulldump_20240617_000000.sql.gz"), gzip(b"")).unwrap();

    let out = t.run(&["up", "--dumps", "dumps"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{}\n{err}", stdout(&out));
    let status = t.json(&["status", "--format", "json"]);
    let state = |w: &str| {
        status["worlds"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["world"] == w)
            .map(|x| x["state"].as_str().unwrap().to_string())
    };
    assert_eq!(state("host1").as_deref(), Some("ready"));
    for w in ["host2", "host3", "host4", "host5"] {
        assert_eq!(state(w).as_deref(), Some("failed"), "{w}: {status}");
    }
    let section = |w: &str| -> String {
        err.split(&format!("\n{w} failed: "))
            .nth(1)
            .map(|s| s.split("\nhost").next().unwrap_or(s).to_string())
            .unwrap_or_else(|| panic!("no failure for {w} in {err}"))
    };
    let s2 = section("host2");
    assert!(
        s2.contains("host2_fulldump_") && s2.contains("decompress"),
        "{s2}"
    );
    let s3 = section("host3");
    assert!(s3.contains("not gzip"), "{s3}");
    let s4 = section("host4");
    assert!(s4.contains(&format!("line {lines_before}")), "{s4}");
    assert!(
        s4.contains("INSERT INTO `player` VALUES (1,'duplicate; row'"),
        "{s4}"
    );
    assert!(s4.contains("Duplicate entry"), "{s4}");
    let s5 = section("host5");
    assert!(s5.contains("no SQL statements"), "{s5}");
    // Failed worlds keep their containers until down.
    assert_eq!(t.leftovers().0, 5);
    t.ok(&["down"]);
    assert_eq!(t.leftovers(), (0, 0));
}

#[test]
fn parallel_restore_equals_serial_restore() {
    let serial = TestEnv::new("serial", 12);
    // The baseline restores like the mysql client: one stream of the dump's own statements.
    serial.write_config("load_data: false\ndefer_indexes: false\n");
    let parallel = TestEnv::new("parallel", 13);
    let dir = serial.subdir("dumps");
    generate(
        &dir,
        &[
            "--hosts",
            "1",
            "--dumps",
            "1",
            "--tables",
            "full",
            "--rows",
            "30000",
            "--insert-bytes",
            "20000",
            "--style",
            "mariadb",
        ],
    );
    let dumps = dir.to_str().unwrap();
    serial.ok(&["up", "--dumps", dumps, "--jobs", "1"]);
    let out = parallel.run(&["up", "--dumps", dumps, "--jobs", "4"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        !stderr(&out).contains("restoring serially"),
        "{}",
        stderr(&out)
    );
    let a = checksums(&serial, "host1", "game");
    let b = checksums(&parallel, "host1", "game");
    assert_eq!(a.len(), 4, "{a:?}");
    assert_eq!(a, b);
    let indexes = |t: &TestEnv| {
        t.sql(
            "host1",
            "SELECT table_name, index_name, seq_in_index, column_name, non_unique \
             FROM information_schema.statistics WHERE table_schema = 'game' \
             ORDER BY table_name, index_name, seq_in_index",
        )
    };
    let (ia, ib) = (indexes(&serial), indexes(&parallel));
    assert!(ia.contains("idx_player"), "{ia}");
    assert_eq!(ia, ib, "the deferred indexes differ from the serial ones");
    // The fast path really ran: rows arrived as LOAD DATA, not as INSERTs.
    let loads = parallel.sql("host1", "SHOW GLOBAL STATUS LIKE 'Com_load'");
    let n: u64 = loads
        .lines()
        .nth(1)
        .and_then(|l| l.split('\t').nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(n > 0, "no LOAD DATA ran: {loads}");
    let inserts = serial.sql("host1", "SHOW GLOBAL STATUS LIKE 'Com_insert'");
    assert!(
        !inserts.contains("\t0"),
        "the baseline should load with INSERTs: {inserts}"
    );
}

#[test]
fn mysql8_dump_with_gtids_and_0900_collations_restores_into_mariadb() {
    let t = TestEnv::new("mysql8", 14);
    let dir = t.subdir("dumps");
    let fixture = std::fs::read(repo().join("tests/fixtures/mysql80-gtid.sql")).unwrap();
    std::fs::write(dir.join("eu1_fulldump_20240617_211713.sql"), &fixture).unwrap();
    std::fs::write(
        dir.join("eu2_fulldump_20240617_211713.sql.gz"),
        gzip(&fixture),
    )
    .unwrap();
    let out = t.run(&["up", "--dumps", "dumps"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    for world in ["eu1", "eu2"] {
        let got = t.sql(
            world,
            "SELECT HEX(avatar), name FROM game.player ORDER BY id",
        );
        let lines: Vec<&str> = got.lines().skip(1).collect();
        assert_eq!(lines.len(), 3, "{world}: {got}");
        assert_eq!(lines[0], "000A0D5C27221A\tAnn", "{world}");
        assert_eq!(lines[1], "NULL\tBjörn 🐉", "{world}");
        assert_eq!(
            lines[2], "6F6B\tutf8mb4_0900_ai_ci",
            "{world}: row data is never rewritten"
        );
        let guilds = t.sql(world, "SELECT name FROM game.guild ORDER BY id");
        assert!(
            guilds.contains("Night's Watch") && guilds.contains("semi;colon"),
            "{guilds}"
        );
        let top = t.sql(world, "CALL game.top_player()");
        assert_eq!(top.lines().nth(1), Some("Ann"), "{world}: {top}");
    }
}

const EDGE_SQL: &str = r#"
CREATE DATABASE edge;
USE edge;
CREATE TABLE net (id INT PRIMARY KEY, ip INET6, u UUID, e ENUM('a','b'), note VARCHAR(20)) ENGINE=InnoDB;
SET SESSION sql_mode = '';
INSERT INTO net SELECT seq, IF(seq % 2, '2001:db8::abcd:1', '::ffff:10.0.0.10'),
  '123e4567-e89b-12d3-a456-426614174000', IF(seq % 3, 'a', 'x'), CONCAT('n', seq) FROM seq_1_to_40;
CREATE TABLE docs (id INT PRIMARY KEY, definer VARCHAR(20)) ENGINE=InnoDB;
INSERT INTO docs VALUES (1, 'bob'), (2, 'bob'), (3, 'eve');
CREATE SEQUENCE ticket START WITH 100;
DELIMITER ;;
CREATE PROCEDURE count_bob() BEGIN SELECT COUNT(*) AS n FROM docs WHERE definer = 'bob'; END;;
DELIMITER ;
"#;

#[test]
fn typed_columns_definer_columns_and_sequences_restore_exactly() {
    let t = TestEnv::new("edge", 15);
    let source = Source::start(&t, EDGE_SQL);
    t.sql("host1", "SELECT NEXTVAL(edge.ticket)");
    let dir = t.subdir("dumps");
    let full = source.dump(&["--routines", "--databases", "edge"]);
    std::fs::write(
        dir.join("edgea_fulldump_20240101_000000.sql.gz"),
        gzip(&full),
    )
    .unwrap();
    let no_create = source.dump(&["--routines", "--no-create-db", "--databases", "edge"]);
    std::fs::write(
        dir.join("edgeb_fulldump_20240101_000000.sql.gz"),
        gzip(&no_create),
    )
    .unwrap();
    let out = t.run(&["up", "--dumps", "dumps", "--jobs", "2"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        !stderr(&out).contains("restoring serially"),
        "{}",
        stderr(&out)
    );
    let want = checksums(&t, "host1", "edge");
    let text = |w: &str| t.sql(w, "SELECT id, ip, u, e FROM edge.net ORDER BY id");
    for world in ["edgea", "edgeb"] {
        assert_eq!(
            checksums(&t, world, "edge"),
            want,
            "{world} differs from the source"
        );
        assert_eq!(text(world), text("host1"), "{world}");
        let bob = t.sql(world, "CALL edge.count_bob()");
        assert_eq!(bob.lines().nth(1), Some("2"), "{world}: {bob}");
        // The dump carries the sequence's next uncached value: never a value already used.
        let next = t.sql(world, "SELECT NEXTVAL(edge.ticket)");
        let n: u64 = next
            .lines()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        assert!(n > 100, "{world}: {next}");
    }
}
