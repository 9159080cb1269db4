//! Progress of `up`: one line per world naming its phase (starting server, reading dump,
//! loading, building indexes, verifying, done or failed) and an overall line on a terminal;
//! plain lines otherwise, at each new phase and every few seconds; nothing with `-q`. Sizes and rates are in decimal units
//! (kB, MB, GB), as everywhere else in `worlds`; rate and ETA appear once loading started.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing::{info, Level};

use super::{Counters, Phase};
use crate::output::human_bytes;

struct Item {
    world: String,
    total: u64,
    counters: Arc<Counters>,
    bar: Option<ProgressBar>,
    done: bool,
    /// When loading began, and the bytes read by then.
    loading_since: Option<(Instant, u64)>,
    /// The phase seen last, and since when.
    phase: (Phase, Instant),
    /// The phase of the last log line (off a terminal, every new phase gets a line).
    logged: Option<Phase>,
}

impl Item {
    /// Observe the counters: (phase, bytes read, rate and ETA once loading).
    fn observe(&mut self, now: Instant) -> Observed {
        let phase = self.counters.phase();
        let read = self
            .counters
            .file_bytes
            .load(std::sync::atomic::Ordering::Relaxed)
            .min(self.total);
        if phase != self.phase.0 {
            self.phase = (phase, now);
        }
        if phase.loading() && self.loading_since.is_none() {
            self.loading_since = Some((now, read));
        }
        let (rate, eta) = match (phase.loading(), self.loading_since) {
            (true, Some((since, at_start))) => {
                rate_and_eta(read - at_start.min(read), self.total - read, now - since)
            }
            _ => (None, None),
        };
        Observed {
            phase,
            read,
            total: self.total,
            rate,
            eta,
            in_phase: now - self.phase.1,
        }
    }
}

/// What one world's line shows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Observed {
    pub phase: Phase,
    pub read: u64,
    pub total: u64,
    /// Bytes of the dump file per second since loading began.
    pub rate: Option<f64>,
    pub eta: Option<Duration>,
    /// Time spent in this phase so far.
    pub in_phase: Duration,
}

/// Rate and time left from the bytes loaded in `elapsed` (not before a second of data).
pub fn rate_and_eta(loaded: u64, left: u64, elapsed: Duration) -> (Option<f64>, Option<Duration>) {
    let secs = elapsed.as_secs_f64();
    if secs < 1.0 || loaded == 0 {
        return (None, None);
    }
    let rate = loaded as f64 / secs;
    let eta = Duration::try_from_secs_f64(left as f64 / rate).ok();
    (Some(rate), eta)
}

/// `8.1 MB/s`.
pub fn human_rate(bytes_per_sec: f64) -> String {
    format!("{}/s", human_bytes(bytes_per_sec.max(0.0) as u64))
}

/// `7s`, `2m05s`, `1h02m`: coarse, for times that change while you look.
pub fn short_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

/// The text after a world's bar: its phase, then sizes, rate and ETA while loading, or the
/// time spent in the phase otherwise. `pad` aligns the details of lines drawn one above the
/// other.
pub fn describe(o: &Observed, pad: bool) -> String {
    let details = match (o.phase, o.rate) {
        (Phase::Loading, Some(rate)) => format!(
            "{}/{}  {}  eta {}",
            human_bytes(o.read),
            human_bytes(o.total),
            human_rate(rate),
            o.eta.map(short_duration).unwrap_or_else(|| "-".into())
        ),
        (Phase::Loading, None) => format!("{}/{}", human_bytes(o.read), human_bytes(o.total)),
        _ => short_duration(o.in_phase),
    };
    if pad {
        format!("{:<16} {details}", o.phase.name())
    } else {
        format!("{} {details}", o.phase.name())
    }
}

struct Inner {
    items: Vec<Item>,
    overall: Option<ProgressBar>,
    started: Instant,
    last_log: Instant,
}

/// Shows how far each world's restore is; cheap to clone.
#[derive(Clone)]
pub struct Progress {
    inner: Arc<Mutex<Inner>>,
    multi: Option<MultiProgress>,
}

const LOG_EVERY: Duration = Duration::from_secs(5);

impl Progress {
    /// `worlds`: name, compressed size, counters the restore updates. Bars are drawn on a
    /// terminal unless informational output is off (`-q`).
    pub fn new(worlds: Vec<(String, u64, Arc<Counters>)>) -> Progress {
        let tty = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        let show = tracing::enabled!(Level::INFO);
        let multi =
            (tty && show).then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let width = worlds.iter().map(|w| w.0.len()).max().unwrap_or(5);
        let style = ProgressStyle::with_template("{prefix} [{bar:20.cyan/blue}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        let total: u64 = worlds.iter().map(|w| w.1).sum();
        let now = Instant::now();
        let items = worlds
            .into_iter()
            .map(|(world, size, counters)| {
                let bar = multi.as_ref().map(|m| {
                    let b = m.add(ProgressBar::new(size.max(1)));
                    b.set_style(style.clone());
                    b.set_prefix(format!("{world:<width$}"));
                    b
                });
                Item {
                    world,
                    total: size,
                    counters,
                    bar,
                    done: false,
                    loading_since: None,
                    phase: (Phase::Starting, now),
                    logged: None,
                }
            })
            .collect();
        let overall = multi.as_ref().map(|m| {
            let b = m.add(ProgressBar::new(total.max(1)));
            b.set_style(
                ProgressStyle::with_template("{msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        });
        crate::messages::set_bars(multi.clone());
        Progress {
            inner: Arc::new(Mutex::new(Inner {
                items,
                overall,
                started: now,
                last_log: now,
            })),
            multi,
        }
    }

    /// Refresh the bars (or print log lines when due); call a few times a second.
    pub fn tick(&self) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let now = Instant::now();
        let log_due = inner.overall.is_none() && inner.last_log.elapsed() >= LOG_EVERY;
        let mut sum = 0;
        let mut rate = 0.0;
        let mut loading = 0;
        let mut eta: Option<Duration> = None;
        for item in &mut inner.items {
            let seen = item.observe(now);
            sum += if item.done { item.total } else { seen.read };
            if let Some(r) = seen.rate {
                rate += r;
                loading += 1;
                eta = eta.max(seen.eta);
            }
            if item.done {
                continue;
            }
            if let Some(bar) = &item.bar {
                bar.set_position(seen.read);
                bar.set_message(describe(&seen, true));
            } else if log_due || item.logged != Some(seen.phase) {
                info!("{}: {}", item.world, describe(&seen, false));
                item.logged = Some(seen.phase);
            }
        }
        let total: u64 = inner.items.iter().map(|i| i.total).sum();
        if let Some(overall) = &inner.overall {
            let mut line = format!(
                "all worlds: {}/{}, {} elapsed",
                human_bytes(sum),
                human_bytes(total),
                short_duration(inner.started.elapsed())
            );
            if loading > 0 {
                line.push_str(&format!(", {}", human_rate(rate)));
                if let Some(eta) = eta {
                    line.push_str(&format!(", eta {}", short_duration(eta)));
                }
            }
            overall.set_position(sum);
            overall.set_message(line);
        }
        if log_due {
            inner.last_log = now;
        }
    }

    /// Mark one world finished: done (`ready`, `empty`) or failed, with a short message.
    pub fn finish(&self, world: &str, failed: bool, message: &str) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let phase = if failed { Phase::Failed } else { Phase::Done };
        if let Some(item) = inner.items.iter_mut().find(|i| i.world == world) {
            item.done = true;
            match &item.bar {
                Some(bar) => {
                    if !failed {
                        bar.set_position(item.total);
                    }
                    bar.abandon_with_message(format!("{:<16} {message}", phase.name()));
                }
                None => info!("{}: {} ({message})", item.world, phase.name()),
            }
        }
    }

    /// Remove the bars from the screen.
    pub fn clear(&self) {
        if let Ok(inner) = self.inner.lock() {
            if let Some(o) = &inner.overall {
                o.finish_and_clear();
            }
        }
        crate::messages::set_bars(None);
        if let Some(m) = &self.multi {
            let _ = m.clear();
        }
    }

    /// Print an informational line without tearing the bars.
    pub fn println(&self, line: &str) {
        info!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(phase: Phase, rate: Option<f64>, eta: Option<u64>) -> Observed {
        Observed {
            phase,
            read: 12_300_000,
            total: 45_000_000,
            rate,
            eta: eta.map(Duration::from_secs),
            in_phase: Duration::from_millis(3_400),
        }
    }

    #[test]
    fn no_rate_or_eta_before_a_second_of_loaded_data() {
        assert_eq!(rate_and_eta(0, 100, Duration::from_secs(5)), (None, None));
        assert_eq!(
            rate_and_eta(100, 100, Duration::from_millis(500)),
            (None, None)
        );
        let (rate, eta) = rate_and_eta(8_000_000, 16_000_000, Duration::from_secs(2));
        assert_eq!(rate, Some(4_000_000.0));
        assert_eq!(eta, Some(Duration::from_secs(4)));
    }

    #[test]
    fn lines_name_the_phase_and_show_eta_only_while_loading() {
        assert_eq!(
            describe(&observed(Phase::Starting, None, None), true),
            "starting server  3s"
        );
        assert_eq!(
            describe(&observed(Phase::Loading, None, None), true),
            "loading          12.3 MB/45.0 MB"
        );
        assert_eq!(
            describe(&observed(Phase::Loading, Some(8_100_000.0), Some(4)), true),
            "loading          12.3 MB/45.0 MB  8.1 MB/s  eta 4s"
        );
        assert_eq!(
            describe(&observed(Phase::Loading, None, None), false),
            "loading 12.3 MB/45.0 MB"
        );
        let indexing = describe(&observed(Phase::Indexing, Some(1.0), Some(1)), true);
        assert_eq!(indexing, "building indexes 3s");
        for phase in [Phase::Starting, Phase::Reading, Phase::Verifying] {
            let line = describe(&observed(phase, None, None), false);
            assert!(!line.contains("eta") && !line.contains("/s"), "{line}");
        }
    }

    #[test]
    fn one_unit_system() {
        let line = describe(
            &observed(Phase::Loading, Some(2_500_000.0), Some(75)),
            false,
        );
        assert!(!line.contains("iB"), "{line}");
        assert_eq!(human_rate(2_500_000.0), "2.5 MB/s");
        assert_eq!(human_rate(999.0), "999 B/s");
    }

    #[test]
    fn coarse_durations() {
        assert_eq!(short_duration(Duration::from_millis(7_900)), "7s");
        assert_eq!(short_duration(Duration::from_secs(125)), "2m05s");
        assert_eq!(short_duration(Duration::from_secs(3_720)), "1h02m");
    }
}
