//! Messages on stderr: every informational, warning and debug line goes through `tracing`,
//! set up once here from `-q` / `-v`. Results go to stdout elsewhere; the final error of a
//! command is printed by `main`.
//!
//! | flags | shown on stderr |
//! |---|---|
//! | `-q` | warnings and errors (no progress, no notes) |
//! | (none) | progress, notes, warnings, errors |
//! | `-v` | also debug details: restore phases with timings, session setup, engine |
//! | `-vv` | also trace details |

use std::io::Write;
use std::sync::Mutex;

use indicatif::MultiProgress;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// The level of this crate's messages for the command line's `-q` and `-v` count.
pub fn level(quiet: bool, verbose: u8) -> LevelFilter {
    match (quiet, verbose) {
        (true, _) => LevelFilter::WARN,
        (false, 0) => LevelFilter::INFO,
        (false, 1) => LevelFilter::DEBUG,
        (false, _) => LevelFilter::TRACE,
    }
}

/// Install the stderr subscriber. Only this crate's events are shown; libraries stay quiet.
pub fn init(quiet: bool, verbose: u8) {
    let filter = Targets::new().with_target("worlds", level(quiet, verbose));
    let layer = tracing_subscriber::fmt::layer()
        .event_format(Plain)
        .with_writer(StderrLines);
    // A second init (tests calling `run` twice) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter)
        .try_init();
}

/// Progress bars that messages must not tear: lines are printed while they are suspended.
static BARS: Mutex<Option<MultiProgress>> = Mutex::new(None);

/// Register (or with `None`, forget) the bars on screen.
pub fn set_bars(bars: Option<MultiProgress>) {
    if let Ok(mut slot) = BARS.lock() {
        *slot = bars;
    }
}

/// The prefix of a message of `level`: none for the ordinary ones, which read as sentences.
fn prefix(level: Level) -> &'static str {
    match level {
        Level::ERROR | Level::WARN | Level::INFO => "",
        Level::DEBUG => "debug: ",
        Level::TRACE => "trace: ",
    }
}

/// One event per line: the message (and any fields) with a prefix for debug and trace.
struct Plain;

impl<S, N> FormatEvent<S, N> for Plain
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        writer.write_str(prefix(*event.metadata().level()))?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Writes each event to stderr in one piece, around any progress bars.
struct StderrLines;

impl<'a> MakeWriter<'a> for StderrLines {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line(Vec::new())
    }
}

/// One event's text, written out when dropped.
struct Line(Vec<u8>);

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Line {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        let write = || {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(&self.0);
            let _ = err.flush();
        };
        let bars = BARS.lock().ok().and_then(|b| b.clone());
        match bars {
            Some(bars) => bars.suspend(write),
            None => write(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_and_verbose_pick_the_level() {
        assert_eq!(level(false, 0), LevelFilter::INFO);
        assert_eq!(level(true, 0), LevelFilter::WARN);
        assert_eq!(level(false, 1), LevelFilter::DEBUG);
        assert_eq!(level(false, 2), LevelFilter::TRACE);
        assert_eq!(level(false, 7), LevelFilter::TRACE);
    }

    #[test]
    fn only_debug_and_trace_lines_carry_a_prefix() {
        assert_eq!(prefix(Level::INFO), "");
        assert_eq!(prefix(Level::ERROR), "");
        assert_eq!(prefix(Level::DEBUG), "debug: ");
        assert_eq!(prefix(Level::TRACE), "trace: ");
    }
}
