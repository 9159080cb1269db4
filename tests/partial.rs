//! Partial restores (`up --tables`, `--skip-tables`, `tables:` in worlds.yaml) and the disk
//! check of `up`, on the real Docker engine.

mod common;

use std::fmt::Write as _;

use common::{repo, stderr, stdout, TestEnv};

/// Rows per table of the test dump.
const PLAYERS: usize = 40;
const GUILDS: usize = 5;
const EVENTS: usize = 300;
const LOGS: usize = 20;
const ARCHIVED: usize = 7;

/// A mysqldump-like dump of two databases: `game` (player, guild, event_log, a trigger, a
/// view, a function and a procedure) and `audit` (log, player). `update` adds an UPDATE
/// between the data, which makes the restore serial.
fn dump(update: bool) -> String {
    let mut s = String::from(
        "-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n--\n\
         -- Host: localhost    Database: game\n\
         -- ------------------------------------------------------\n\
         /*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n\
         /*!50503 SET NAMES utf8mb4 */;\n\
         /*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;\n\
         /*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;\n\n\
         CREATE DATABASE /*!32312 IF NOT EXISTS*/ `game` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;\n\
         USE `game`;\n\n\
         DROP TABLE IF EXISTS `player`;\n\
         CREATE TABLE `player` (\n  `player_id` int NOT NULL AUTO_INCREMENT,\n  \
         `player_name` varchar(64) NOT NULL,\n  `player_score` int NOT NULL,\n  \
         `guild_id` int DEFAULT NULL,\n  PRIMARY KEY (`player_id`),\n  \
         KEY `idx_score` (`player_score`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n\n\
         LOCK TABLES `player` WRITE;\n/*!40000 ALTER TABLE `player` DISABLE KEYS */;\n",
    );
    let rows =
        |n: usize, row: &dyn Fn(usize) -> String| (1..=n).map(row).collect::<Vec<_>>().join(",");
    writeln!(
        s,
        "INSERT INTO `player` VALUES {};",
        rows(PLAYERS, &|i| format!(
            "({i},'player {i}',{},{})",
            i * 37 % 1000,
            i % GUILDS + 1
        ))
    )
    .unwrap();
    s.push_str(
        "/*!40000 ALTER TABLE `player` ENABLE KEYS */;\nUNLOCK TABLES;\n\
         /*!50003 SET @saved_sql_mode = @@sql_mode */ ;\nDELIMITER ;;\n\
         /*!50003 CREATE*/ /*!50017 DEFINER=`game`@`%`*/ /*!50003 TRIGGER `player_joined` \
         AFTER INSERT ON `player` FOR EACH ROW INSERT INTO event_log (player_id, what) \
         VALUES (NEW.player_id, 'joined') */;;\nDELIMITER ;\n\
         /*!50003 SET sql_mode = @saved_sql_mode */ ;\n\n\
         DROP TABLE IF EXISTS `guild`;\n\
         CREATE TABLE `guild` (\n  `guild_id` int NOT NULL,\n  `guild_name` varchar(64) NOT NULL,\n  \
         PRIMARY KEY (`guild_id`)\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n\
         LOCK TABLES `guild` WRITE;\n",
    );
    writeln!(
        s,
        "INSERT INTO `guild` VALUES {};",
        rows(GUILDS, &|i| format!("({i},'guild {i}')"))
    )
    .unwrap();
    if update {
        s.push_str("UPDATE `guild` SET `guild_name` = UPPER(`guild_name`);\n");
    }
    s.push_str(
        "UNLOCK TABLES;\n\n\
         DROP TABLE IF EXISTS `event_log`;\n\
         CREATE TABLE `event_log` (\n  `event_id` bigint NOT NULL AUTO_INCREMENT,\n  \
         `player_id` int NOT NULL,\n  `what` varchar(32) NOT NULL,\n  \
         PRIMARY KEY (`event_id`),\n  KEY `idx_player` (`player_id`)\n\
         ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\nLOCK TABLES `event_log` WRITE;\n",
    );
    for chunk in 0..3 {
        let n = EVENTS / 3;
        writeln!(
            s,
            "INSERT INTO `event_log` VALUES {};",
            rows(n, &|i| {
                let id = chunk * n + i;
                format!("({id},{},'event; {id}')", id % PLAYERS + 1)
            })
        )
        .unwrap();
    }
    s.push_str(
        "UNLOCK TABLES;\n\n\
         CREATE DATABASE /*!32312 IF NOT EXISTS*/ `audit` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;\n\
         USE `audit`;\n\
         CREATE TABLE `log` (\n  `id` int NOT NULL,\n  `note` text,\n  PRIMARY KEY (`id`)\n\
         ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n",
    );
    writeln!(
        s,
        "INSERT INTO `log` VALUES {};",
        rows(LOGS, &|i| format!("({i},'note {i}')"))
    )
    .unwrap();
    s.push_str(
        "CREATE TABLE `player` (\n  `player_id` int NOT NULL,\n  PRIMARY KEY (`player_id`)\n\
         ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;\n",
    );
    writeln!(
        s,
        "INSERT INTO `player` VALUES {};",
        rows(ARCHIVED, &|i| format!("({})", 1000 + i))
    )
    .unwrap();
    s.push_str(
        "\nUSE `game`;\n\
         /*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER=`game`@`%` SQL SECURITY DEFINER */\n\
         /*!50001 VIEW `top_players` AS select `player`.`player_name` AS `player_name`,\
         `player`.`player_score` AS `player_score` from `player` order by \
         `player`.`player_score` desc limit 5 */;\n\
         DELIMITER ;;\n\
         CREATE DEFINER=`game`@`%` FUNCTION `guild_size`(g int) RETURNS int\n    READS SQL DATA\n\
         RETURN (SELECT COUNT(*) FROM player WHERE guild_id = g) ;;\n\
         CREATE DEFINER=`game`@`%` PROCEDURE `reset_scores`()\nBEGIN\n  \
         UPDATE player SET player_score = 0;\nEND ;;\nDELIMITER ;\n\n\
         /*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;\n\
         /*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;\n\
         /*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;\n\n\
         -- Dump completed on 2024-06-18  0:00:00\n",
    );
    s
}

/// Every definition of both databases, as the server shows it (AUTO_INCREMENT counters
/// left out: they follow the rows).
fn definitions(t: &TestEnv, world: &str) -> String {
    let list = t.sql(
        world,
        "SELECT table_schema, table_name, table_type FROM information_schema.tables \
         WHERE table_schema IN ('game','audit') ORDER BY 1,2; \
         SELECT routine_schema, routine_name, routine_type FROM information_schema.routines \
         WHERE routine_schema IN ('game','audit') ORDER BY 1,2; \
         SELECT trigger_schema, trigger_name, event_object_table, action_statement \
         FROM information_schema.triggers WHERE trigger_schema IN ('game','audit') ORDER BY 1,2",
    );
    let mut out = list.clone();
    for stmt in [
        "SHOW CREATE TABLE game.player",
        "SHOW CREATE TABLE game.guild",
        "SHOW CREATE TABLE game.event_log",
        "SHOW CREATE TABLE audit.log",
        "SHOW CREATE TABLE audit.player",
        "SHOW CREATE VIEW game.top_players",
        "SHOW CREATE FUNCTION game.guild_size",
        "SHOW CREATE PROCEDURE game.reset_scores",
    ] {
        let text = t.sql(world, stmt);
        out.push_str(
            &text
                .split_whitespace()
                .filter(|w| !w.starts_with("AUTO_INCREMENT="))
                .collect::<Vec<_>>()
                .join(" "),
        );
        out.push('\n');
    }
    out
}

/// Row counts of the five tables: player, guild, event_log, audit.log, audit.player.
fn counts(t: &TestEnv, world: &str) -> Vec<usize> {
    let text = t.sql(
        world,
        "SELECT (SELECT COUNT(*) FROM game.player), (SELECT COUNT(*) FROM game.guild), \
         (SELECT COUNT(*) FROM game.event_log), (SELECT COUNT(*) FROM audit.log), \
         (SELECT COUNT(*) FROM audit.player)",
    );
    let line = text.lines().nth(1).unwrap_or_default();
    line.split('\t')
        .map(|n| n.trim().parse().unwrap())
        .collect()
}

#[test]
fn a_partial_restore_loads_the_chosen_tables_and_every_definition() {
    let t = TestEnv::new("partial", 46);
    let dumps = t.subdir("dumps");
    // host1 is restored in parallel, host2 serially (its UPDATE must run in dump order).
    std::fs::write(
        dumps.join("host1_fulldump_20240618_000000.sql"),
        dump(false),
    )
    .unwrap();
    std::fs::write(dumps.join("host2_fulldump_20240618_000000.sql"), dump(true)).unwrap();

    // Contradictions and bad globs are usage errors, before anything is started.
    let out = t.run(&["up", "--no-restore", "--tables", "player"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = t.run(&["up", "--tables", "player,,guild"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--tables: an empty name"),
        "{}",
        stderr(&out)
    );

    // A filter (here from worlds.yaml) that matches no table fails the world, naming the
    // filter and the dump's tables.
    t.write_config("tables: [plyer]\n");
    let out = t.run(&["up", "--worlds", "host1"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("the tables filter `--tables plyer` loads no table of this dump"),
        "{err}"
    );
    assert!(
        err.contains(
            "its tables: audit.log, audit.player, game.event_log, game.guild, game.player"
        ),
        "{err}"
    );
    t.write_config("");

    // The failed host1 is redone without asking; host2 is new. Both paths honour the filter.
    let filter = [
        "--tables",
        "player,audit.*",
        "--skip-tables",
        "audit.player",
    ];
    let mut args = vec!["up"];
    args.extend(filter);
    let out = t.run(&args);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("ready (partial: 2 of 5 tables)"),
        "{}",
        stdout(&out)
    );
    assert!(
        stderr(&out).contains("host2: restored serially"),
        "{}",
        stderr(&out)
    );
    let mut partial_defs = Vec::new();
    for world in ["host1", "host2"] {
        assert_eq!(
            counts(&t, world),
            [PLAYERS, 0, 0, LOGS, 0],
            "{world}: data only in the chosen tables"
        );
        let defs = definitions(&t, world);
        for name in [
            "top_players\tVIEW",
            "guild_size\tFUNCTION",
            "reset_scores\tPROCEDURE",
            "player_joined\tplayer",
            "audit\tplayer\tBASE TABLE",
            "game\tevent_log\tBASE TABLE",
        ] {
            assert!(defs.contains(name), "{world}: no {name:?} in\n{defs}");
        }
        // The view and the function work on the loaded rows.
        let top = t.sql(
            world,
            "SELECT COUNT(*), game.guild_size(1) FROM game.top_players",
        );
        assert_eq!(
            top.lines().nth(1),
            Some(format!("5\t{}", PLAYERS / GUILDS).as_str())
        );
        partial_defs.push(defs);
    }

    // status: the table (wide enough, and in 80 columns) and JSON.
    let wide = t.cmd(&["status"]).env("COLUMNS", "120").output().unwrap();
    assert!(
        stdout(&wide).contains("ready (partial: 2 of 5 tables)"),
        "{}",
        stdout(&wide)
    );
    let narrow = t.ok(&["status"]);
    assert!(narrow.contains("ready (partial)"), "{narrow}");
    assert!(
        narrow.contains(
            "host1 is ready (partial: 2 of 5 tables, --tables audit.*,player --skip-tables audit.player)"
        ),
        "{narrow}"
    );
    let status = t.json(&["status", "--format", "json"]);
    for w in status["worlds"].as_array().unwrap() {
        assert_eq!(w["state"], "ready", "{w}");
        assert_eq!(
            w["rows"],
            serde_json::json!({"audit.log": LOGS, "game.player": PLAYERS}),
            "verified counts of the chosen tables: {w}"
        );
        assert_eq!(
            w["partial"],
            serde_json::json!({
                "tables": ["audit.*", "player"],
                "skip_tables": ["audit.player"],
                "tables_loaded": 2,
                "tables_total": 5,
                "skipped_tables": {
                    "audit.player": ARCHIVED,
                    "game.event_log": EVENTS,
                    "game.guild": GUILDS,
                },
            }),
            "{w}"
        );
    }

    // The same filter, spelled otherwise: kept.
    let out = t.run(&[
        "up",
        "--skip-tables",
        "AUDIT.player",
        "--tables",
        "audit.*,Player",
    ]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("ready (kept, partial: 2 of 5 tables)"),
        "{}",
        stdout(&out)
    );
    // Another filter, or none: refused, nothing changed.
    for other in [&["up", "--tables", "player"][..], &["up"][..]] {
        let out = t.run(other);
        assert_eq!(out.status.code(), Some(1), "{other:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("other tables filter: "), "{err}");
        assert!(
            err.contains(
                "(it was restored with --tables audit.*,player --skip-tables audit.player)"
            ),
            "{err}"
        );
        assert!(err.contains("Nothing was changed"), "{err}");
    }
    assert_eq!(counts(&t, "host1"), [PLAYERS, 0, 0, LOGS, 0]);

    // --replace restores every table's data; the definitions are the same as before.
    let out = t.run(&["up", "--replace"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    for (i, world) in ["host1", "host2"].into_iter().enumerate() {
        assert_eq!(
            counts(&t, world),
            [PLAYERS, GUILDS, EVENTS, LOGS, ARCHIVED],
            "{world}"
        );
        let full = definitions(&t, world);
        assert_eq!(full, partial_defs[i], "{world}: definitions differ");
    }
    let status = t.json(&["status", "--format", "json"]);
    assert!(status["worlds"][0]["partial"].is_null(), "{status}");

    // One connection, every statement in dump order (no plan): the filter holds there too.
    // A name without a dot is a table in any database: audit.player is loaded as well.
    t.ok(&["down"]);
    t.write_config("table_jobs: 1\ndefer_indexes: false\nload_data: false\n");
    let out = t.run(&["up", "--tables", "player"]);
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("ready (partial: 2 of 5 tables)"),
        "{}",
        stdout(&out)
    );
    for (i, world) in ["host1", "host2"].into_iter().enumerate() {
        assert_eq!(counts(&t, world), [PLAYERS, 0, 0, 0, ARCHIVED], "{world}");
        assert_eq!(definitions(&t, world), partial_defs[i], "{world}");
    }
}

#[test]
fn up_stops_before_creating_anything_when_the_disk_is_too_small() {
    let t = TestEnv::new("disk", 47);
    let dumps = repo().join("dumps");
    let dumps = dumps.to_str().unwrap();
    let out = t
        .cmd(&["up", "--dumps", dumps])
        .env("WORLDS_FAKE_FREE_BYTES", "100000000")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    for part in [
        "not enough disk space: restoring 3 worlds needs about 900.0 MB",
        "has 100.0 MB free (as WORLDS_FAKE_FREE_BYTES says)",
        "`worlds down --env NAME`",
        "`docker system df`",
        "`worlds up --ignore-space`",
    ] {
        assert!(err.contains(part), "no {part:?} in {err}");
    }
    assert_eq!(t.leftovers(), (0, 0), "nothing may be created");

    // A bad fake is a usage error.
    let out = t
        .cmd(&["up", "--dumps", dumps])
        .env("WORLDS_FAKE_FREE_BYTES", "lots")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    // --ignore-space goes on.
    let out = t
        .cmd(&["up", "--dumps", dumps, "--ignore-space"])
        .env("WORLDS_FAKE_FREE_BYTES", "100000000")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("3 of 3 worlds ready"),
        "{}",
        stdout(&out)
    );
    // Kept worlds need no space.
    let out = t
        .cmd(&["up", "--dumps", dumps])
        .env("WORLDS_FAKE_FREE_BYTES", "0")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("ready (kept)"), "{}", stdout(&out));
}
