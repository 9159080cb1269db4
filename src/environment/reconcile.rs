//! What `up` does with each planned world, given what exists: pure, so every rule is a test.
//!
//! - A world that holds the same dump (same content identity) is kept, whatever the path.
//! - A world whose restore failed, was interrupted, or that was started empty is redone.
//! - A ready world with another dump is replaced only when the user asked (`--replace`).

use super::state::State;
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
    /// Ready with another dump, and `--replace` was given.
    Replace(String),
    /// Ready with another dump, and no `--replace`: touch nothing.
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
    let same = h.identity.as_ref() == Some(w.identity);
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

/// Why a ready world is not the one the plan wants: other dump, other folder, other `--at`.
fn why(w: &Wanted, h: &Have) -> String {
    let mut reasons = Vec::new();
    if w.file != h.file {
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
    if w.dumps_dir != h.dumps_dir {
        reasons.push(format!(
            "other folder: {} (it came from {})",
            w.dumps_dir, h.dumps_dir
        ));
    }
    if w.at != h.at {
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

    fn wanted<'a>(identity: &'a DumpIdentity, dir: &'a str) -> Wanted<'a> {
        Wanted {
            world: "host1",
            file: "host1_fulldump_20240618_000000.sql.gz",
            identity,
            dumps_dir: dir,
            at: "",
        }
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
}
