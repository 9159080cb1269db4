//! The sample dumps in `dumps/`: three game worlds, each dumped twice by MySQL 5.7's
//! `mysqldump --databases game --add-drop-database`, once before a game update and once
//! after it.
//!
//! Between its two dumps every world lives a normal day: a few players play (their score
//! grows a little and `updated_at` moves) and one new player joins. In `host2` the update
//! also went wrong: the players who logged in there after it have ten times their score.
//! That is the bug a developer finds by comparing a restore of the dumps before the
//! update with one of the dumps after it.
//!
//! Everything here is fixed data and a fixed seed, so the files come out the same, byte
//! for byte, on every run.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use flate2::{Compression, GzBuilder};

use super::{
    completed_stamp, escape_into, push_datetime, push_i64, DumpStats, DumpTime, GeneratedFile, Rng,
};

/// When the game update went live on every world: after the first dump of each world and
/// before its second.
pub const UPDATE: &str = "2024-06-18 10:00:00";

/// What happened in one world between its two dumps.
struct Story {
    host: usize,
    /// Times of the dumps before and after the update (the times in the file names).
    before: &'static str,
    after: &'static str,
    /// Names of the players in the first dump; player `i + 1` is `names[i]`.
    names: &'static [&'static str],
    /// Players who play as usual: (player_id, points won, when they last played).
    plays: &'static [(u32, i64, &'static str)],
    /// The player who joins between the dumps: (name, score, when they last played).
    newcomer: (&'static str, i64, &'static str),
    /// Players whose score the update multiplied by ten: (player_id, when it happened).
    wrong: &'static [(u32, &'static str)],
}

const STORIES: [Story; 3] = [
    Story {
        host: 1,
        before: "2024-06-17 21:17:13",
        after: "2024-06-18 21:17:06",
        names: &[
            "Aldric",
            "Wren",
            "Caspian7",
            "Jürgen",
            "EamonTheBold",
            "pip",
            "Freya",
            "Hyacinth",
            "Ivo_K",
            "NadiaX",
            "gideon",
            "Lysandra",
            "O'Rourke",
            "Dolores",
            "Oberon",
            "Kestrel",
            "Quilla",
            "brynja_w",
            "Saoirse",
            "Tobias",
            "さくら",
            "Ulric",
            "Vesna",
            "Mordecai",
        ],
        plays: &[
            (3, 45, "2024-06-17 22:41:09"),
            (8, 120, "2024-06-18 13:05:52"),
            (15, 12, "2024-06-18 18:30:17"),
            (21, 260, "2024-06-18 20:12:44"),
        ],
        newcomer: ("Yara", 35, "2024-06-18 19:48:03"),
        wrong: &[],
    },
    Story {
        host: 2,
        before: "2024-06-17 21:17:48",
        after: "2024-06-18 21:17:52",
        names: &[
            "Magnus", "Astrid", "Kaito", "BigBjorn", "Calla", "Søren", "Darius", "Elowen", "Noor",
            "Finnegan", "Greta", "Halvard", "Łucja", "Ines", "Jarek", "Liesl", "Osric", "Paloma",
            "李娜", "Quentin", "Ragnhild", "Sven", "Thalia", "Çağla", "Ugo", "Valka", "Wolfram",
            "Xiomara", "Yusuf", "Zofia",
        ],
        plays: &[
            (2, 30, "2024-06-17 22:03:31"),
            (11, 85, "2024-06-17 23:26:10"),
            (19, 140, "2024-06-18 07:55:48"),
        ],
        newcomer: ("Mireille", 20, "2024-06-18 08:14:29"),
        wrong: &[
            (4, "2024-06-18 10:02:41"),
            (9, "2024-06-18 10:17:05"),
            (13, "2024-06-18 10:48:33"),
            (22, "2024-06-18 11:26:19"),
            (27, "2024-06-18 13:51:07"),
        ],
    },
    Story {
        host: 3,
        before: "2024-06-17 21:18:21",
        after: "2024-06-18 21:18:19",
        names: &[
            "Isolde",
            "Bastian",
            "Anouk",
            "Cyrus",
            "Dagny",
            "Emrys",
            "Joaquín",
            "Fenna",
            "Gwyn",
            "Hamid",
            "D'Arcy",
            "Kalinda",
            "Leofric",
            "Marisol",
            "Ольга",
            "Nils",
            "Orla",
            "Pavel",
            "Rhiannon",
            "Sabine",
            "Tamsin",
            "Viggo",
            "Willa",
            "Ximena",
            "Yorick",
            "Zuzana",
            "Ezra",
        ],
        plays: &[
            (5, 75, "2024-06-18 12:37:26"),
            (12, 18, "2024-06-18 16:09:58"),
            (20, 210, "2024-06-18 21:02:35"),
        ],
        newcomer: ("Haruto", 60, "2024-06-18 17:21:40"),
        wrong: &[],
    },
];

/// One row of `game.player`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Player {
    pub player_id: u32,
    pub player_name: String,
    pub player_score: i64,
    pub updated_at: DumpTime,
}

/// One sample dump: which world, when it was taken, and the players it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SampleDump {
    /// World number, from 1 (`host1`).
    pub host: usize,
    /// 1 for the dump before the update, 2 for the one after it.
    pub dump: usize,
    /// When the dump started: the time in the file name.
    pub taken: DumpTime,
    /// Players ordered by `player_id`, as mysqldump writes them.
    pub players: Vec<Player>,
}

impl SampleDump {
    /// `host<N>_fulldump_<YYYYmmdd>_<HHMMSS>.sql.gz`
    pub fn file_name(&self) -> String {
        format!("host{}_fulldump_{}.sql.gz", self.host, self.taken.compact())
    }

    /// When mysqldump finished: a second after it started.
    pub fn completed(&self) -> DumpTime {
        self.taken.plus_seconds(1)
    }
}

fn at(text: &str) -> DumpTime {
    text.parse()
        .unwrap_or_else(|e| panic!("sample time {text:?}: {e}"))
}

/// Seed of the first dumps' scores and times.
const SEED: u64 = 0x5A3F_1E50;

/// The players of a world's first dump: scores from 150 to 9,600, each last played
/// between ten minutes and three weeks before the dump.
fn first_players(story: &Story) -> Vec<Player> {
    let before = at(story.before);
    (1..)
        .zip(story.names)
        .map(|(id, name)| {
            let mut rng = Rng::from_parts(&[SEED, story.host as u64, u64::from(id)]);
            let score = rng.between(150, 9_600) as i64;
            let ago = rng.between(600, 21 * 86_400) as i64;
            Player {
                player_id: id,
                player_name: (*name).to_string(),
                player_score: score,
                updated_at: before.plus_seconds(-ago),
            }
        })
        .collect()
}

/// The players of a world's second dump: the first dump's, after the day told by `story`.
fn second_players(story: &Story, first: &[Player]) -> Vec<Player> {
    let mut players = first.to_vec();
    fn find(players: &mut [Player], host: usize, id: u32) -> &mut Player {
        players
            .iter_mut()
            .find(|p| p.player_id == id)
            .unwrap_or_else(|| panic!("host{host}: no player {id}"))
    }
    for &(id, gain, when) in story.plays {
        let p = find(&mut players, story.host, id);
        p.player_score += gain;
        p.updated_at = at(when);
    }
    for &(id, when) in story.wrong {
        let p = find(&mut players, story.host, id);
        p.player_score *= 10;
        p.updated_at = at(when);
    }
    let (name, score, when) = story.newcomer;
    players.push(Player {
        player_id: players.len() as u32 + 1,
        player_name: name.to_string(),
        player_score: score,
        updated_at: at(when),
    });
    players
}

/// All six sample dumps, ordered by host, then time.
pub fn sample_dumps() -> Vec<SampleDump> {
    STORIES
        .iter()
        .flat_map(|story| {
            let first = first_players(story);
            let second = second_players(story, &first);
            [
                SampleDump {
                    host: story.host,
                    dump: 1,
                    taken: at(story.before),
                    players: first,
                },
                SampleDump {
                    host: story.host,
                    dump: 2,
                    taken: at(story.after),
                    players: second,
                },
            ]
        })
        .collect()
}

/// The SQL text of a dump, as `mysqldump --databases game --add-drop-database` of MySQL
/// 5.7 writes it with its default options.
pub fn sql(dump: &SampleDump) -> Vec<u8> {
    let mut out = Vec::with_capacity(4096);
    out.extend_from_slice(HEADER.as_bytes());
    out.extend_from_slice(CREATE.as_bytes());
    let next_id = dump.players.iter().map(|p| p.player_id).max().unwrap_or(0) + 1;
    out.extend_from_slice(
        format!(") ENGINE=InnoDB AUTO_INCREMENT={next_id} DEFAULT CHARSET=utf8;\n").as_bytes(),
    );
    out.extend_from_slice(DATA.as_bytes());
    out.extend_from_slice(b"INSERT INTO `player` VALUES ");
    for (i, p) in dump.players.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'(');
        push_i64(&mut out, i64::from(p.player_id));
        out.extend_from_slice(b",'");
        escape_into(&mut out, p.player_name.as_bytes());
        out.extend_from_slice(b"',");
        push_i64(&mut out, p.player_score);
        out.push(b',');
        push_datetime(&mut out, p.updated_at);
        out.push(b')');
    }
    out.extend_from_slice(b";\n");
    out.extend_from_slice(FOOTER.as_bytes());
    out.extend_from_slice(
        format!(
            "\n-- Dump completed on {}\n",
            completed_stamp(dump.completed())
        )
        .as_bytes(),
    );
    out
}

/// The dump as `mysqldump ... | gzip` writes it: default level, the time the dump
/// finished as the gzip time stamp, Unix as the system, no file name.
pub fn gzipped(dump: &SampleDump) -> io::Result<Vec<u8>> {
    let mtime = u32::try_from(dump.completed().seconds()).unwrap_or(0);
    let mut gz = GzBuilder::new()
        .mtime(mtime)
        .operating_system(3)
        .write(Vec::new(), Compression::new(6));
    gz.write_all(&sql(dump))?;
    gz.finish()
}

/// Writes the six sample dumps into `dir` (created if missing).
pub fn write_samples(dir: &Path) -> io::Result<Vec<GeneratedFile>> {
    std::fs::create_dir_all(dir)?;
    sample_dumps()
        .iter()
        .map(|dump| {
            let path = dir.join(dump.file_name());
            let bytes = gzipped(dump)?;
            let mut file = BufWriter::new(File::create(&path)?);
            file.write_all(&bytes)?;
            file.flush()?;
            Ok(GeneratedFile {
                path,
                host: dump.host,
                dump: dump.dump,
                time: dump.taken,
                file_bytes: bytes.len() as u64,
                stats: DumpStats {
                    rows: vec![("player".to_string(), dump.players.len() as u64)],
                    sql_bytes: sql(dump).len() as u64,
                },
            })
        })
        .collect()
}

const HEADER: &str = concat!(
    "-- MySQL dump 10.13  Distrib 5.7.44, for Linux (x86_64)\n",
    "--\n",
    "-- Host: localhost    Database: game\n",
    "-- ------------------------------------------------------\n",
    "-- Server version\t5.7.44-log\n",
    "\n",
    "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n",
    "/*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;\n",
    "/*!40101 SET @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION */;\n",
    "/*!40101 SET NAMES utf8 */;\n",
    "/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;\n",
    "/*!40103 SET TIME_ZONE='+00:00' */;\n",
    "/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;\n",
    "/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;\n",
    "/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;\n",
    "/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;\n",
    "\n",
    "--\n",
    "-- Current Database: `game`\n",
    "--\n",
    "\n",
    "/*!40000 DROP DATABASE IF EXISTS `game`*/;\n",
    "\n",
    "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `game` /*!40100 DEFAULT CHARACTER SET utf8 */;\n",
    "\n",
    "USE `game`;\n",
);

const CREATE: &str = concat!(
    "\n",
    "--\n",
    "-- Table structure for table `player`\n",
    "--\n",
    "\n",
    "DROP TABLE IF EXISTS `player`;\n",
    "/*!40101 SET @saved_cs_client     = @@character_set_client */;\n",
    "/*!40101 SET character_set_client = utf8 */;\n",
    "CREATE TABLE `player` (\n",
    "  `player_id` int(11) NOT NULL AUTO_INCREMENT,\n",
    "  `player_name` varchar(64) NOT NULL,\n",
    "  `player_score` int(11) NOT NULL DEFAULT '0',\n",
    "  `updated_at` datetime NOT NULL,\n",
    "  PRIMARY KEY (`player_id`),\n",
    "  KEY `idx_player_score` (`player_score`)\n",
);

const DATA: &str = concat!(
    "/*!40101 SET character_set_client = @saved_cs_client */;\n",
    "\n",
    "--\n",
    "-- Dumping data for table `player`\n",
    "--\n",
    "\n",
    "LOCK TABLES `player` WRITE;\n",
    "/*!40000 ALTER TABLE `player` DISABLE KEYS */;\n",
);

const FOOTER: &str = concat!(
    "/*!40000 ALTER TABLE `player` ENABLE KEYS */;\n",
    "UNLOCK TABLES;\n",
    "/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;\n",
    "\n",
    "/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;\n",
    "/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;\n",
    "/*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;\n",
    "/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;\n",
    "/*!40101 SET CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS */;\n",
    "/*!40101 SET COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION */;\n",
    "/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;\n",
);

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows of the dump's INSERT, read back: (id, name, score, updated_at) as text.
    fn rows_of(sql: &[u8]) -> Vec<[String; 4]> {
        let text = std::str::from_utf8(sql).expect("the dump is UTF-8");
        let start = text
            .find("INSERT INTO `player` VALUES (")
            .expect("an INSERT")
            + 28;
        let mut rows = Vec::new();
        let mut fields: Vec<String> = Vec::new();
        let mut field = String::new();
        let mut chars = text[start..].chars();
        let (mut quoted, mut depth) = (false, 0);
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '\\') => field.push(match chars.next() {
                    Some('0') => '\0',
                    Some('n') => '\n',
                    Some('r') => '\r',
                    Some('Z') => '\x1a',
                    Some(other) => other,
                    None => panic!("a lone backslash"),
                }),
                (true, '\'') => quoted = false,
                (true, c) => field.push(c),
                (false, '\'') => quoted = true,
                (false, '(') => depth += 1,
                (false, ',') if depth == 1 => fields.push(std::mem::take(&mut field)),
                (false, ')') => {
                    depth -= 1;
                    fields.push(std::mem::take(&mut field));
                    let row: [String; 4] = std::mem::take(&mut fields)
                        .try_into()
                        .expect("four columns");
                    rows.push(row);
                }
                (false, ',') => {}
                (false, ';') => break,
                (false, c) => field.push(c),
            }
        }
        rows
    }

    fn by_host(host: usize) -> (SampleDump, SampleDump) {
        let dumps: Vec<SampleDump> = sample_dumps()
            .into_iter()
            .filter(|d| d.host == host)
            .collect();
        assert_eq!(dumps.len(), 2, "two dumps of host{host}");
        (dumps[0].clone(), dumps[1].clone())
    }

    #[test]
    fn the_same_files_every_time() {
        let names: Vec<String> = sample_dumps().iter().map(SampleDump::file_name).collect();
        assert_eq!(
            names,
            [
                "host1_fulldump_20240617_211713.sql.gz",
                "host1_fulldump_20240618_211706.sql.gz",
                "host2_fulldump_20240617_211748.sql.gz",
                "host2_fulldump_20240618_211752.sql.gz",
                "host3_fulldump_20240617_211821.sql.gz",
                "host3_fulldump_20240618_211819.sql.gz",
            ]
        );
        assert_eq!(sample_dumps(), sample_dumps());
        for dump in sample_dumps() {
            let gz = gzipped(&dump).unwrap();
            assert_eq!(gz, gzipped(&dump).unwrap(), "{}", dump.file_name());
            // gzip's header: the time the dump finished, Unix, no file name.
            let mtime = u32::from_le_bytes([gz[4], gz[5], gz[6], gz[7]]);
            assert_eq!(i64::from(mtime), dump.completed().seconds());
            assert_eq!((gz[3], gz[9]), (0, 3));
            let mut sql = Vec::new();
            io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut sql).unwrap();
            assert_eq!(sql, super::sql(&dump));
        }
    }

    #[test]
    fn the_files_in_dumps_are_these() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("dumps");
        let mut found: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.contains("_fulldump_"))
            .collect();
        found.sort();
        let dumps = sample_dumps();
        let wanted: Vec<String> = dumps.iter().map(SampleDump::file_name).collect();
        assert_eq!(
            found, wanted,
            "regenerate with: worlds-gen --out dumps --samples"
        );
        for dump in &dumps {
            let gz = std::fs::read(dir.join(dump.file_name())).unwrap();
            // The same header and the same SQL; the compressed bytes may differ with
            // another version of the compressor.
            assert_eq!(
                gz[..10],
                gzipped(dump).unwrap()[..10],
                "{}",
                dump.file_name()
            );
            let mut sql = Vec::new();
            io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&gz[..]), &mut sql)
                .unwrap();
            assert!(sql == super::sql(dump), "{} differs", dump.file_name());
        }
    }

    #[test]
    fn written_like_mysqldump_57() {
        let (_, after) = by_host(2);
        let text = String::from_utf8(sql(&after)).unwrap();
        assert!(text.starts_with(
            "-- MySQL dump 10.13  Distrib 5.7.44, for Linux (x86_64)\n--\n-- Host: localhost    Database: game\n"
        ));
        for line in [
            "/*!40101 SET NAMES utf8 */;\n",
            "\n/*!40000 DROP DATABASE IF EXISTS `game`*/;\n\nCREATE DATABASE /*!32312 IF NOT EXISTS*/ `game` /*!40100 DEFAULT CHARACTER SET utf8 */;\n\nUSE `game`;\n",
            "/*!40101 SET character_set_client = utf8 */;\nCREATE TABLE `player` (\n  `player_id` int(11) NOT NULL AUTO_INCREMENT,\n",
            "\n) ENGINE=InnoDB AUTO_INCREMENT=32 DEFAULT CHARSET=utf8;\n",
            "\nLOCK TABLES `player` WRITE;\n/*!40000 ALTER TABLE `player` DISABLE KEYS */;\nINSERT INTO `player` VALUES (1,'Magnus',",
            "),(31,'Mireille',20,'2024-06-18 08:14:29');\n/*!40000 ALTER TABLE `player` ENABLE KEYS */;\nUNLOCK TABLES;\n",
        ] {
            assert!(text.contains(line), "no {line:?} in:\n{text}");
        }
        assert_eq!(text.matches("INSERT INTO").count(), 1);
        assert!(text.ends_with(
            "/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;\n\n-- Dump completed on 2024-06-18 21:17:53\n"
        ));
        // Every row, names with quotes and non-ASCII letters included, reads back.
        for dump in sample_dumps() {
            let want: Vec<[String; 4]> = dump
                .players
                .iter()
                .map(|p| {
                    [
                        p.player_id.to_string(),
                        p.player_name.clone(),
                        p.player_score.to_string(),
                        p.updated_at.to_string(),
                    ]
                })
                .collect();
            assert_eq!(rows_of(&sql(&dump)), want, "{}", dump.file_name());
        }
        let (first, _) = by_host(1);
        assert!(String::from_utf8(sql(&first))
            .unwrap()
            .contains(",(13,'O\\'Rourke',"));
    }

    #[test]
    fn the_story_between_the_dumps() {
        let update = at(UPDATE);
        let mut wrong_scores = Vec::new();
        let mut other_scores = Vec::new();
        for host in 1..=3 {
            let (before, after) = by_host(host);
            // --at "2024-06-18 10:00" picks the dumps before the update.
            assert!(before.taken < update && update < after.taken, "host{host}");
            let n = before.players.len();
            assert!((20..=40).contains(&n), "host{host}: {n} players");
            assert!(before.players.iter().any(|p| !p.player_name.is_ascii()));
            for (i, p) in before.players.iter().enumerate() {
                assert_eq!(p.player_id as usize, i + 1);
                assert!(p.updated_at < before.taken, "{p:?}");
            }
            // The same players, and one who joined.
            assert_eq!(after.players.len(), n + 1, "host{host}");
            let newcomer = &after.players[n];
            assert_eq!(newcomer.player_id as usize, n + 1);
            assert!(newcomer.player_score < 100, "{newcomer:?}");
            assert!(before.taken < newcomer.updated_at && newcomer.updated_at < after.taken);

            let (mut played, mut wrong) = (0, 0);
            for (old, new) in before.players.iter().zip(&after.players) {
                assert_eq!(
                    (old.player_id, &old.player_name),
                    (new.player_id, &new.player_name)
                );
                if old == new {
                    other_scores.push(new.player_score);
                    continue;
                }
                assert!(
                    before.taken < new.updated_at && new.updated_at < after.taken,
                    "{new:?}"
                );
                if new.player_score == old.player_score * 10 {
                    assert!(update < new.updated_at, "{new:?}");
                    wrong += 1;
                    wrong_scores.push(new.player_score);
                } else {
                    let gain = new.player_score - old.player_score;
                    assert!((1..=500).contains(&gain), "{old:?} -> {new:?}");
                    played += 1;
                    other_scores.push(new.player_score);
                }
            }
            assert!(played >= 3, "host{host}: {played} players played");
            if host == 2 {
                assert!((4..=6).contains(&wrong), "host2: {wrong} wrong scores");
            } else {
                assert_eq!(wrong, 0, "host{host}");
            }
            other_scores.extend(before.players.iter().map(|p| p.player_score));
            other_scores.push(newcomer.player_score);
        }
        // The wrong scores stand out: each is above every right one.
        let highest = other_scores.iter().max().unwrap();
        assert!(wrong_scores.iter().all(|s| s > highest), "{wrong_scores:?}");
    }
}
