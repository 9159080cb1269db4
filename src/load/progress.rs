//! Progress of restores: one bar per world and an overall line on a terminal, plain
//! periodic log lines otherwise.

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Counters;
use crate::output::human_bytes;

struct Item {
    world: String,
    total: u64,
    counters: Arc<Counters>,
    bar: Option<ProgressBar>,
    done: bool,
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
    /// `worlds`: name, compressed size, counters the reader updates.
    pub fn new(worlds: Vec<(String, u64, Arc<Counters>)>) -> Progress {
        let tty = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        let multi = tty.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let width = worlds.iter().map(|w| w.0.len()).max().unwrap_or(5);
        let style = ProgressStyle::with_template(&format!(
            "{{prefix:<{width}}} [{{bar:30.cyan/blue}}] {{bytes:>9}}/{{total_bytes:<9}} {{bytes_per_sec:>11}} eta {{eta:<4}} {{msg}}"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        let total: u64 = worlds.iter().map(|w| w.1).sum();
        let items = worlds
            .into_iter()
            .map(|(world, size, counters)| {
                let bar = multi.as_ref().map(|m| {
                    let b = m.add(ProgressBar::new(size));
                    b.set_style(style.clone());
                    b.set_prefix(world.clone());
                    b
                });
                Item {
                    world,
                    total: size,
                    counters,
                    bar,
                    done: false,
                }
            })
            .collect();
        let overall = multi.as_ref().map(|m| {
            let b = m.add(ProgressBar::new(total));
            b.set_style(
                ProgressStyle::with_template(
                    "all worlds: {bytes}/{total_bytes} compressed, {bytes_per_sec}, {elapsed} elapsed, eta {eta} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b
        });
        Progress {
            inner: Arc::new(Mutex::new(Inner {
                items,
                overall,
                started: Instant::now(),
                last_log: Instant::now(),
            })),
            multi,
        }
    }

    /// Refresh the bars (or print log lines when due); call a few times a second.
    pub fn tick(&self) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let mut sum = 0;
        for item in &inner.items {
            let read = item
                .counters
                .file_bytes
                .load(Ordering::Relaxed)
                .min(item.total);
            sum += if item.done { item.total } else { read };
            if let (Some(bar), false) = (&item.bar, item.done) {
                bar.set_position(read);
            }
        }
        if let Some(overall) = &inner.overall {
            overall.set_position(sum);
        } else if inner.last_log.elapsed() >= LOG_EVERY {
            inner.last_log = Instant::now();
            let secs = inner.started.elapsed().as_secs_f64().max(0.001);
            for item in inner.items.iter().filter(|i| !i.done) {
                let read = item.counters.file_bytes.load(Ordering::Relaxed);
                let sql = item.counters.sql_bytes.load(Ordering::Relaxed);
                eprintln!(
                    "{}: {:.0}% of {} read, {} of SQL, {:.1} MB/s",
                    item.world,
                    100.0 * read as f64 / item.total.max(1) as f64,
                    human_bytes(item.total),
                    human_bytes(sql),
                    sql as f64 / secs / 1e6
                );
            }
        }
    }

    /// Mark one world finished with a short message (`ready`, `failed`).
    pub fn finish(&self, world: &str, message: &str) {
        let Ok(mut inner) = self.inner.lock() else {
            return;
        };
        let tty = inner.overall.is_some();
        if let Some(item) = inner.items.iter_mut().find(|i| i.world == world) {
            item.done = true;
            match &item.bar {
                Some(bar) => {
                    bar.set_position(item.total);
                    bar.abandon_with_message(message.to_string());
                }
                None if !tty => eprintln!("{}: {message}", item.world),
                None => {}
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
        if let Some(m) = &self.multi {
            let _ = m.clear();
        }
    }

    /// Print a line without tearing the bars.
    pub fn println(&self, line: &str) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(line);
            }
            None => eprintln!("{line}"),
        }
    }
}
