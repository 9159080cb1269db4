//! The sample dumps tell their story once restored: an environment brought up with
//! `--at "2024-06-18 10:00"` holds every world as it was before the game update, one
//! brought up without `--at` holds them as they are after it, and the two differ by a day of
//! ordinary play in every world and by the wrong scores of host2.

mod common;

use std::collections::BTreeMap;

use common::{repo, TestEnv};
use worlds::gen::samples::{sample_dumps, UPDATE};

/// (world, player_id) -> (player_name, player_score, updated_at)
type Rows = BTreeMap<(String, u64), (String, i64, String)>;

const PLAYERS: &str =
    "SELECT player_id, player_name, player_score, updated_at FROM player ORDER BY player_id";

fn restored(t: &TestEnv) -> Rows {
    let v = t.json(&["query", "--format", "json", PLAYERS]);
    assert_eq!(v["errors"], serde_json::json!([]), "{v}");
    v["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows in {v}"))
        .iter()
        .map(|r| {
            (
                (r[0].as_str().unwrap().to_string(), r[1].as_u64().unwrap()),
                (
                    r[2].as_str().unwrap().to_string(),
                    r[3].as_i64().unwrap(),
                    r[4].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

/// The rows the generator put into the dumps before (1) or after (2) the update.
fn generated(dump: usize) -> Rows {
    sample_dumps()
        .into_iter()
        .filter(|d| d.dump == dump)
        .flat_map(|d| {
            d.players.into_iter().map(move |p| {
                (
                    (format!("host{}", d.host), u64::from(p.player_id)),
                    (p.player_name, p.player_score, p.updated_at.to_string()),
                )
            })
        })
        .collect()
}

fn dumps_held(t: &TestEnv) -> Vec<String> {
    let status = t.json(&["status", "--format", "json"]);
    status["worlds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["dump"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn before_and_after_the_update() {
    let dumps = repo().join("dumps");
    let dumps = dumps.to_str().unwrap();
    let at = &UPDATE[..16];
    assert_eq!(at, "2024-06-18 10:00");

    let before = TestEnv::new("samples-before", 40);
    before.ok(&["up", "--dumps", dumps, "--at", at]);
    let after = TestEnv::new("samples-after", 41);
    after.ok(&["up", "--dumps", dumps]);
    assert_eq!(
        dumps_held(&before),
        [
            "host1_fulldump_20240617_211713.sql.gz",
            "host2_fulldump_20240617_211748.sql.gz",
            "host3_fulldump_20240617_211821.sql.gz",
        ]
    );
    assert_eq!(
        dumps_held(&after),
        [
            "host1_fulldump_20240618_211706.sql.gz",
            "host2_fulldump_20240618_211752.sql.gz",
            "host3_fulldump_20240618_211819.sql.gz",
        ]
    );

    // Every row arrives exactly as the generator wrote it, non-ASCII names included.
    let (old, new) = (restored(&before), restored(&after));
    assert_eq!(old, generated(1));
    assert_eq!(new, generated(2));

    // What changed: who joined, who played, whose score went wrong.
    let mut joined = Vec::new();
    let mut played = Vec::new();
    let mut wrong = Vec::new();
    for (key, (name, score, _)) in &new {
        match old.get(key) {
            None => joined.push(key.clone()),
            Some((old_name, old_score, _)) if old_score != score => {
                assert_eq!(old_name, name);
                if *score == old_score * 10 {
                    wrong.push(key.clone());
                } else {
                    assert!((1..=500).contains(&(score - old_score)), "{key:?}");
                    played.push(key.clone());
                }
            }
            Some(_) => {}
        }
    }
    let ids = |keys: &[(String, u64)], world: &str| -> Vec<u64> {
        keys.iter()
            .filter(|(w, _)| w == world)
            .map(|(_, id)| *id)
            .collect()
    };
    assert_eq!(ids(&joined, "host1"), [25]);
    assert_eq!(ids(&joined, "host2"), [31]);
    assert_eq!(ids(&joined, "host3"), [28]);
    assert_eq!(ids(&played, "host1"), [3, 8, 15, 21]);
    assert_eq!(ids(&played, "host2"), [2, 11, 19]);
    assert_eq!(ids(&played, "host3"), [5, 12, 20]);
    assert_eq!(ids(&wrong, "host2"), [4, 9, 13, 22, 27]);
    assert_eq!(wrong.len(), 5, "wrong scores outside host2: {wrong:?}");

    before.ok(&["down"]);
    after.ok(&["down"]);
    assert_eq!(before.leftovers(), (0, 0));
    assert_eq!(after.leftovers(), (0, 0));
}
