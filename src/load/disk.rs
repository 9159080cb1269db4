//! A server that runs out of disk space says so in several ways: MySQL/MariaDB errors 1021
//! (ER_DISK_FULL) and 1114 (ER_RECORD_FILE_FULL, "The table ... is full"), or the operating
//! system's errno 28 (ENOSPC, "No space left on device") inside another error's text, such
//! as error 3 (ER_ERROR_ON_WRITE, "Errcode: 28"). A restore that fails that way says "disk
//! full" and what to do, instead of a generic error.

use std::sync::OnceLock;

use regex::Regex;

/// What the restore's error says first when the disk is full.
pub const DISK_FULL: &str = "disk full: the world's server ran out of space on Docker's data \
root; make room (`docker system df` shows what uses it, `worlds envs` lists environments and \
`worlds down --env NAME` removes one) and run `worlds up` again, which redoes this world";

/// Does this error text say the disk (or a table's file) is full?
pub fn is_disk_full(text: &str) -> bool {
    static PATTERN: OnceLock<Option<Regex>> = OnceLock::new();
    let pattern = PATTERN.get_or_init(|| {
        Regex::new(
            r"(?ix)
            \bERROR\s+(1021|1114)\b                       # mysql_async: ERROR 1114 (HY000): ...
            | \b(errcode|errno|os\ error|error)[:\s]+28\b  # Errcode: 28, errno: 28, os error 28
            | no\ space\ left\ on\ device
            | \bdisk\ full\b
            | \btable\ \S+\ is\ full\b",
        )
        .ok()
    });
    match pattern {
        Some(re) => re.is_match(text),
        None => text
            .to_ascii_lowercase()
            .contains("no space left on device"),
    }
}

/// The error, with "disk full" and what to do in front when it is one.
pub fn explain(e: anyhow::Error) -> anyhow::Error {
    if e.chain().any(|c| is_disk_full(&c.to_string())) {
        e.context(DISK_FULL)
    } else {
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_full_errors_are_recognised() {
        for text in [
            "statement at line 9 (byte 1 of the SQL) failed: ERROR 1114 (HY000): The table \
             'event_log' is full",
            "ERROR 1021 (HY000): Disk full (/tmp/#sql_1_0.MAI); waiting for someone to free \
             some space... (errno: 28 \"No space left on device\")",
            "ERROR 3 (HY000): Error writing file './game/player.ibd' (Errcode: 28 \"No space \
             left on device\")",
            "ERROR 1030 (HY000): Got error 28 \"No space left on device\" from storage engine \
             InnoDB",
            "cannot write the record: No space left on device (os error 28)",
            "The table `game`.`player` is full",
            "InnoDB: Error: Write to file ./ibdata1 failed at offset 0. OS errno 28",
        ] {
            assert!(is_disk_full(text), "not recognised: {text}");
        }
    }

    #[test]
    fn other_errors_are_not_disk_full() {
        for text in [
            "ERROR 1062 (23000): Duplicate entry '28' for key 'PRIMARY'",
            "ERROR 1146 (42S02): Table 'game.error_28' doesn't exist",
            "ERROR 1064 (42000): You have an error in your SQL syntax near 'errno 280'",
            "row counts differ in 1 table(s): game.player: dump has 28 rows, world has 27",
            "ERROR 11140 (HY000): made up",
            "connection refused",
        ] {
            assert!(!is_disk_full(text), "taken for disk full: {text}");
        }
    }

    #[test]
    fn explain_puts_disk_full_first() {
        let e = anyhow::anyhow!("ERROR 1114 (HY000): The table 't' is full").context("line 5");
        let text = format!("{:#}", explain(e));
        assert!(text.starts_with("disk full: "), "{text}");
        assert!(text.contains("The table 't' is full"), "{text}");
        let other = format!("{:#}", explain(anyhow::anyhow!("ERROR 1062: duplicate")));
        assert_eq!(other, "ERROR 1062: duplicate");
    }
}
