//! Rendering helpers shared by the commands: tables, sizes, durations, printing.

use std::io::Write;

use comfy_table::{presets, Cell, ContentArrangement, Table};

/// A table in the project's style: light borders, wraps to the terminal width.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.iter().map(Cell::new));
    t
}

/// Print to stdout; a closed pipe (`worlds plan | head`) is not an error.
pub fn print(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match out
        .write_all(text.as_bytes())
        .and_then(|_| {
            if text.ends_with('\n') {
                Ok(())
            } else {
                out.write_all(b"\n")
            }
        })
        .and_then(|_| out.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Print a value as one line of JSON.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    print(&serde_json::to_string(value)?)?;
    Ok(())
}

/// `1.2 MB`, `875 B`: decimal units, as people read file sizes.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `850 ms`, `12.4 s`, `3m 05s`.
pub fn human_duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        let s = d.as_secs();
        format!("{}m {:02}s", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn sizes() {
        assert_eq!(human_bytes(875), "875 B");
        assert_eq!(human_bytes(1_234_567), "1.2 MB");
        assert_eq!(human_bytes(25_000_000_000), "25.0 GB");
    }

    #[test]
    fn durations() {
        assert_eq!(human_duration(Duration::from_millis(42)), "42 ms");
        assert_eq!(human_duration(Duration::from_millis(12_400)), "12.4 s");
        assert_eq!(human_duration(Duration::from_secs(185)), "3m 05s");
    }
}
