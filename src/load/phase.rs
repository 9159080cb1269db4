//! What a world's `up` is doing right now, as the progress display names it.

use std::time::{Duration, Instant};

/// The phases of one world's `up`, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[repr(u8)]
pub enum Phase {
    /// Creating the container and waiting for its server to answer.
    #[default]
    Starting = 0,
    /// Reading the whole dump once to plan a parallel restore (nothing runs yet).
    Reading = 1,
    /// Executing the dump's statements.
    Loading = 2,
    /// Every row is in; deferred secondary indexes are being built.
    Indexing = 3,
    /// Comparing every table's row count with the dump.
    Verifying = 4,
    Done = 5,
    Failed = 6,
    /// Copying a snapshot's data into the world (before its server starts).
    Cloning = 7,
    /// The restore is verified; the server is stopped, its data copied into a snapshot,
    /// and started again.
    Snapshotting = 8,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Starting => "starting server",
            Phase::Reading => "reading dump",
            Phase::Loading => "loading",
            Phase::Indexing => "building indexes",
            Phase::Verifying => "verifying",
            Phase::Done => "done",
            Phase::Failed => "failed",
            Phase::Cloning => "copying snapshot",
            Phase::Snapshotting => "taking snapshot",
        }
    }

    pub fn from_u8(n: u8) -> Phase {
        match n {
            1 => Phase::Reading,
            2 => Phase::Loading,
            3 => Phase::Indexing,
            4 => Phase::Verifying,
            5 => Phase::Done,
            6 => Phase::Failed,
            7 => Phase::Cloning,
            8 => Phase::Snapshotting,
            _ => Phase::Starting,
        }
    }

    /// Rows are being sent: the moment rate and ETA start to mean something.
    pub fn loading(self) -> bool {
        self == Phase::Loading
    }

    pub fn finished(self) -> bool {
        matches!(self, Phase::Done | Phase::Failed)
    }
}

/// How long each phase took, from the moments each one began (in order); the last one
/// runs until `end` unless it is a final phase.
pub fn durations(began: &[(Phase, Instant)], end: Instant) -> Vec<(Phase, Duration)> {
    began
        .iter()
        .enumerate()
        .filter(|(_, (phase, _))| !phase.finished())
        .map(|(i, (phase, at))| {
            let until = began.get(i + 1).map(|(_, t)| *t).unwrap_or(end);
            (*phase, until.saturating_duration_since(*at))
        })
        .collect()
}

/// `starting server 3.1 s, loading 1.2 s, verifying 42 ms`.
pub fn describe(durations: &[(Phase, Duration)]) -> String {
    durations
        .iter()
        .map(|(phase, d)| format!("{} {}", phase.name(), crate::output::human_duration(*d)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_phase_survives_the_atomic_round_trip_and_has_a_name() {
        for n in 0..=6u8 {
            let p = Phase::from_u8(n);
            assert_eq!(p as u8, n);
            assert!(!p.name().is_empty());
        }
        assert_eq!(Phase::from_u8(99), Phase::Starting);
        assert_eq!(Phase::Indexing.name(), "building indexes");
        assert_eq!(Phase::Starting.name(), "starting server");
        assert!(Phase::Loading.loading() && !Phase::Starting.loading());
        assert!(Phase::Failed.finished() && !Phase::Verifying.finished());
    }

    #[test]
    fn phase_durations_run_until_the_next_phase_begins() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let began = [
            (Phase::Starting, at(0)),
            (Phase::Loading, at(3100)),
            (Phase::Verifying, at(4300)),
            (Phase::Done, at(4342)),
        ];
        let d = durations(&began, at(9000));
        assert_eq!(
            d,
            vec![
                (Phase::Starting, Duration::from_millis(3100)),
                (Phase::Loading, Duration::from_millis(1200)),
                (Phase::Verifying, Duration::from_millis(42)),
            ]
        );
        assert_eq!(
            describe(&d),
            "starting server 3.1 s, loading 1.2 s, verifying 42 ms"
        );
        // A phase still running lasts until `end`.
        let d = durations(&began[..2], at(5000));
        assert_eq!(d[1], (Phase::Loading, Duration::from_millis(1900)));
    }
}
