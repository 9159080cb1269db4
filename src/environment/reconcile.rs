//! What `up` does with each planned world, given what exists: pure, so every rule is a test.
//!
//! - A world that holds the same dump (same content identity) restored with the same table
//!   filter is kept, whatever the path.
//! - A world whose restore failed, was interrupted, or that was started empty is redone.
//! - A ready world with another dump, or the same dump under another table filter, is
//!   replaced only when the user asked (`--replace`).

use super::state::State;
use crate::filter::TableFilter;
use crate::identity::DumpIdentity;

/// A world as the plan wants it.
#[derive(Debug, Clone)]
pub struct Wanted<'a> {
    pub world: &'a str,
    pub file: &'a str,
    pub identity: &'a DumpIdentity,
    /// Canonical dumps folder.
    pub dumps_dir: &'a str,
    /// The `--at` of this run ("" for the latest).
    pub at: &'a str,
    /// Whose tables' data this run loads.
    pub filter: &'a TableFilter,
}

/// A world that exists, as its labels and record describe it.
#[derive(Debug, Clone)]
pub struct Have<'a> {
    pub world: &'a str,
    pub state: &'a State,
    /// The record says the data was verified (it may be stopped now).
    pub restored: bool,
    /// The record says it was started with `--no-restore`.
    pub empty: bool,
    pub file: &'a str,
    pub identity: Option<DumpIdentity>,
    pub dumps_dir: &'a str,
    pub at: &'a str,
    /// The table filter it was restored with (every table when its record has none).
    pub filter: TableFilter,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Running with the same dump: leave it.
    Keep,
    /// Stopped with the same dump: start it again; its data stays.
    Start,
    /// Nothing there yet.
    Create,
    /// Failed, interrupted or empty: remove and restore again (no question asked).
    Redo(String),
    /// Ready with another dump (or table filter), and `--replace` was given.
    Replace(String),
    /// Ready with another dump (or table filter), and no `--replace`: touch nothing.
    Refuse(String),
}

/// One action per wanted world, in the same order.
pub fn reconcile(wanted: &[Wanted], have: &[Have], replace: bool, no_restore: bool) -> Vec<Action> {
    wanted
        .iter()
        .map(|w| match have.iter().find(|h| h.world == w.world) {
            None => Action::Create,
            Some(h) => decide(w, h, replace, no_restore),
        })
        .collect()
}

fn decide(w: &Wanted, h: &Have, replace: bool, no_restore: bool) -> Action {
    // An empty world holds no data, so no filter either.
    let same = h.identity.as_ref() == Some(w.identity) && (h.empty || h.filter == *w.filter);
    let keep = || {
        if matches!(h.state, State::Stopped) {
            Action::Start
        } else {
            Action::Keep
        }
    };
    match h.state {
        State::Failed(_) => Action::Redo("its last restore failed".to_string()),
        State::Interrupted | State::Creating | State::Restoring => {
            Action::Redo("its last restore was interrupted".to_string())
        }
        State::Ready | State::Stopped | State::Empty if h.restored || (h.empty && no_restore) => {
            if same {
                keep()
            } else if h.empty && no_restore {
                Action::Redo("it is empty and the plan has another dump".to_string())
            } else if replace {
                Action::Replace(why(w, h))
            } else {
                Action::Refuse(why(w, h))
            }
        }
        State::Ready | State::Stopped | State::Empty => {
            Action::Redo("it was started with --no-restore".to_string())
        }
    }
}

/// Why a ready world is not the one the plan wants: other dump, other folder, other `--at`,
/// other table filter.
fn why(w: &Wanted, h: &Have) -> String {
    let mut reasons = Vec::new();
    if h.identity.as_ref() == Some(w.identity) {
        // The same dump: only the filter differs.
    } else if w.file != h.file {
        reasons.push(format!("other dump: {} (it holds {})", w.file, h.file));
    } else if h.identity.is_none() {
        reasons.push(format!(
            "{} cannot be told the same: the world has no record of its dump's content",
            w.file
        ));
    } else {
        reasons.push(format!(
            "other content: {} is not the file it was restored from (size, time or bytes differ)",
            w.file
        ));
    }
    let other_dump = h.identity.as_ref() != Some(w.identity);
    if other_dump && w.dumps_dir != h.dumps_dir {
        reasons.push(format!(
            "other folder: {} (it came from {})",
            w.dumps_dir, h.dumps_dir
        ));
    }
    if other_dump && w.at != h.at {
        let show = |a: &str| {
            if a.is_empty() {
                "latest".to_string()
            } else {
                a.to_string()
            }
        };
        reasons.push(format!(
            "other --at: {} (it was restored with {})",
            show(w.at),
            show(h.at)
        ));
    }
    if w.filter != &h.filter {
        reasons.push(format!(
            "other tables filter: {} (it was restored with {})",
            w.filter.describe(),
            h.filter.describe()
        ));
    }
    reasons.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(hash: char) -> DumpIdentity {
        DumpIdentity {
            size: 10,
            mtime: 1,
            hash: hash.to_string().repeat(64),
        }
    }

    static ALL: TableFilter = TableFilter {
        tables: Vec::new(),
        skip_tables: Vec::new(),
    };

    fn wanted<'a>(identity: &'a DumpIdentity, dir: &'a str) -> Wanted<'a> {
        Wanted {
            world: "host1",
            file: "host1_fulldump_20240618_000000.sql.gz",
            identity,
            dumps_dir: dir,
            at: "",
            filter: &ALL,
        }
    }

    fn tables(globs: &[&str]) -> TableFilter {
        let g: Vec<String> = globs.iter().map(|s| s.to_string()).collect();
        TableFilter::new(&g, &[], ("--tables", "--skip-tables")).unwrap()
    }

    fn have<'a>(state: &'a State, identity: DumpIdentity) -> Have<'a> {
        Have {
            world: "host1",
            state,
            restored: matches!(state, State::Ready | State::Stopped),
            empty: false,
            file: "host1_fulldump_20240618_000000.sql.gz",
            identity: Some(identity),
            dumps_dir: "/dumps",
            at: "",
            filter: TableFilter::default(),
        }
    }

    #[test]
    fn same_content_is_kept_whatever_the_folder_spelling() {
        let a = id('a');
        let w = wanted(&a, "/elsewhere/dumps");
        let ready = State::Ready;
        let stopped = State::Stopped;
        assert_eq!(
            reconcile(
                std::slice::from_ref(&w),
                &[have(&ready, a.clone())],
                false,
                false
            ),
            [Action::Keep]
        );
        assert_eq!(
            reconcile(
                std::slice::from_ref(&w),
                &[have(&stopped, a.clone())],
                false,
                false
            ),
            [Action::Start]
        );
        assert_eq!(reconcile(&[w], &[], false, false), [Action::Create]);
    }

    #[test]
    fn a_ready_world_with_another_dump_is_replaced_only_when_asked() {
        let (a, b) = (id('a'), id('b'));
        let ready = State::Ready;
        let mut w = wanted(&b, "/other");
        w.file = "host1_fulldump_20240617_000000.sql.gz";
        w.at = "2024-06-17 12:00";
        let refused = reconcile(
            std::slice::from_ref(&w),
            &[have(&ready, a.clone())],
            false,
            false,
        );
        let Action::Refuse(why) = &refused[0] else {
            panic!("{refused:?}")
        };
        assert!(why.contains("other dump"), "{why}");
        assert!(
            why.contains("other folder: /other (it came from /dumps)"),
            "{why}"
        );
        assert!(
            why.contains("other --at: 2024-06-17 12:00 (it was restored with latest)"),
            "{why}"
        );
        assert!(matches!(
            reconcile(&[w], &[have(&ready, a)], true, false)[0],
            Action::Replace(_)
        ));
    }

    #[test]
    fn failed_interrupted_and_empty_worlds_are_redone_without_asking() {
        let a = id('a');
        let w = wanted(&a, "/dumps");
        for state in [
            State::Failed("x".into()),
            State::Interrupted,
            State::Restoring,
        ] {
            let action = &reconcile(
                std::slice::from_ref(&w),
                &[have(&state, a.clone())],
                false,
                false,
            )[0];
            assert!(matches!(action, Action::Redo(_)), "{state:?}: {action:?}");
        }
        let empty_state = State::Empty;
        let mut empty = have(&empty_state, a.clone());
        empty.restored = false;
        empty.empty = true;
        assert!(matches!(
            reconcile(std::slice::from_ref(&w), &[empty.clone()], false, false)[0],
            Action::Redo(_)
        ));
        // Another `up --no-restore` keeps an empty world of the same dump.
        assert_eq!(reconcile(&[w], &[empty], false, true), [Action::Keep]);
    }

    #[test]
    fn the_table_filter_is_part_of_what_a_world_holds() {
        let a = id('a');
        let ready = State::Ready;
        let player = tables(&["player"]);
        let player_again = tables(&["Player", "player"]);
        let two = tables(&["player", "guild"]);
        let mut partial = have(&ready, a.clone());
        partial.filter = player.clone();
        // The same filter (however spelled) keeps the world.
        let mut w = wanted(&a, "/elsewhere");
        w.filter = &player_again;
        assert_eq!(
            reconcile(
                std::slice::from_ref(&w),
                std::slice::from_ref(&partial),
                false,
                false
            ),
            [Action::Keep]
        );
        // Another filter is another restore: refused, or replaced with --replace.
        w.filter = &two;
        let refused = reconcile(
            std::slice::from_ref(&w),
            std::slice::from_ref(&partial),
            false,
            false,
        );
        let Action::Refuse(why) = &refused[0] else {
            panic!("{refused:?}")
        };
        assert_eq!(
            why,
            "other tables filter: --tables guild,player (it was restored with --tables player)"
        );
        assert!(matches!(
            reconcile(
                std::slice::from_ref(&w),
                std::slice::from_ref(&partial),
                true,
                false
            )[0],
            Action::Replace(_)
        ));
        // No filter now, a filter then (and the other way round).
        let full = wanted(&a, "/dumps");
        let Action::Refuse(why) = &reconcile(
            std::slice::from_ref(&full),
            std::slice::from_ref(&partial),
            false,
            false,
        )[0] else {
            panic!()
        };
        assert!(
            why.contains("other tables filter: all tables (it was restored with --tables player)"),
            "{why}"
        );
        let Action::Refuse(why) = &reconcile(&[w], &[have(&ready, a.clone())], false, false)[0]
        else {
            panic!()
        };
        assert!(why.ends_with("(it was restored with all tables)"), "{why}");
        // Another dump and another filter: both reasons.
        let b = id('b');
        let mut other = wanted(&b, "/dumps");
        other.filter = &two;
        let Action::Refuse(why) = &reconcile(&[other], &[partial], false, false)[0] else {
            panic!()
        };
        assert!(
            why.contains("other content") && why.contains("other tables filter"),
            "{why}"
        );
        // An empty world (--no-restore) holds no data: the filter does not matter.
        let empty_state = State::Empty;
        let mut empty = have(&empty_state, a.clone());
        empty.restored = false;
        empty.empty = true;
        let mut w = wanted(&a, "/dumps");
        w.filter = &player;
        assert_eq!(reconcile(&[w], &[empty], false, true), [Action::Keep]);
    }
}
