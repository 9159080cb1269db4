//! A world's state, derived from what Docker says, the record in the world and the
//! environment's lock. Pure: every case is a unit test.

use super::record::{Outcome, Record};

/// A world's state as `status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Its `up` is creating the container or waiting for the server.
    Creating,
    /// Its `up` is loading the dump.
    Restoring,
    /// The restore finished and the row counts were verified.
    Ready,
    /// The restore failed (the reason is kept in the world).
    Failed(String),
    /// The container is not running.
    Stopped,
    /// Started with `--no-restore`: the server runs, no dump was loaded.
    Empty,
    /// Its `up` is gone (killed, crashed) before the restore finished.
    Interrupted,
}

impl State {
    pub fn name(&self) -> &'static str {
        match self {
            State::Creating => "creating",
            State::Restoring => "restoring",
            State::Ready => "ready",
            State::Failed(_) => "failed",
            State::Stopped => "stopped",
            State::Empty => "empty",
            State::Interrupted => "interrupted",
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            State::Failed(r) => Some(r),
            State::Interrupted => {
                Some("its `worlds up` stopped before the restore finished; `worlds up` redoes it")
            }
            _ => None,
        }
    }
}

/// What the container looks like to Docker.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub running: bool,
    /// The `up` run that created the container.
    pub session: &'a str,
}

/// The state of a world: `record` is the one read from the world (if any), `live_session`
/// the `up` run that holds the environment's lock right now (if any).
pub fn derive(facts: Facts<'_>, record: Option<&Record>, live_session: Option<&str>) -> State {
    let record = record.filter(|r| r.session == facts.session);
    let its_up_is_alive = live_session == Some(facts.session);
    match record.map(|r| r.outcome) {
        Some(Outcome::Failed) => State::Failed(
            record
                .and_then(|r| r.error.clone())
                .unwrap_or_else(|| "the restore failed".to_string()),
        ),
        Some(Outcome::Ready) if facts.running => State::Ready,
        Some(Outcome::Empty) if facts.running => State::Empty,
        Some(Outcome::Ready | Outcome::Empty) => State::Stopped,
        Some(Outcome::Restoring) if its_up_is_alive => State::Restoring,
        None if its_up_is_alive => State::Creating,
        Some(Outcome::Restoring) | None => State::Interrupted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(outcome: Outcome, session: &str) -> Record {
        Record {
            outcome,
            session: session.into(),
            dump: String::new(),
            dump_path: String::new(),
            size_bytes: 0,
            started: String::new(),
            finished: None,
            seconds: None,
            restore_seconds: None,
            error: (outcome == Outcome::Failed).then(|| "dump has 10 rows".to_string()),
            rows: Default::default(),
            sql_bytes: 0,
            statements: 0,
            tables_filter: None,
            skipped_tables: Default::default(),
            snapshot: None,
            from_snapshot: None,
        }
    }

    const RUNNING: Facts = Facts {
        running: true,
        session: "s1",
    };
    const STOPPED: Facts = Facts {
        running: false,
        session: "s1",
    };

    #[test]
    fn ready_only_with_a_ready_record_of_this_container() {
        assert_eq!(
            derive(RUNNING, Some(&rec(Outcome::Ready, "s1")), None),
            State::Ready
        );
        // A record left by another run (a reused volume) does not make this one ready.
        assert_eq!(
            derive(RUNNING, Some(&rec(Outcome::Ready, "s0")), None),
            State::Interrupted
        );
        assert_eq!(derive(RUNNING, None, None), State::Interrupted);
    }

    #[test]
    fn a_dead_restorer_shows_at_once_as_interrupted() {
        let restoring = rec(Outcome::Restoring, "s1");
        assert_eq!(
            derive(RUNNING, Some(&restoring), Some("s1")),
            State::Restoring
        );
        assert_eq!(derive(RUNNING, Some(&restoring), None), State::Interrupted);
        // Another `up` holds the lock now: this world's own restorer is still gone.
        assert_eq!(
            derive(RUNNING, Some(&restoring), Some("s2")),
            State::Interrupted
        );
        assert_eq!(derive(STOPPED, None, Some("s1")), State::Creating);
    }

    #[test]
    fn empty_failed_and_stopped() {
        assert_eq!(
            derive(RUNNING, Some(&rec(Outcome::Empty, "s1")), None),
            State::Empty
        );
        assert_eq!(
            derive(STOPPED, Some(&rec(Outcome::Ready, "s1")), None),
            State::Stopped
        );
        assert_eq!(
            derive(STOPPED, Some(&rec(Outcome::Failed, "s1")), None),
            State::Failed("dump has 10 rows".into())
        );
    }
}
