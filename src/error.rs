//! Errors that decide the exit code, and the exit codes themselves (mapped once, in `main`).
//!
//! | code | meaning |
//! |---|---|
//! | 0 | all good |
//! | 1 | some world failed, or a query failed somewhere |
//! | 2 | usage or configuration error (the command line, worlds.yaml, the dumps folder) |
//! | 3 | the environment is not usable (Docker unreachable, image missing, lock held, a foreign object in the way) |

use std::fmt;

/// The process exit codes of `worlds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Failed = 1,
    Usage = 2,
    Unusable = 3,
}

impl Exit {
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// The text `--help` shows about exit codes.
pub const EXIT_CODES_HELP: &str = "Exit codes: 0 all good; 1 some world failed or a query failed \
somewhere; 2 usage or configuration error; 3 the environment is not usable (Docker \
unreachable, image missing, environment locked by another command, a foreign object in the way).";

/// A mistake in the command line, the config or the input folder: exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The environment cannot be used right now (Docker, image, lock, foreign objects): exit 3.
#[derive(Debug)]
pub struct UnusableError(pub String);

impl fmt::Display for UnusableError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UnusableError {}

/// Build a usage error as an `anyhow::Error`.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(message.into()))
}

/// Build an "environment not usable" error as an `anyhow::Error`.
pub fn unusable(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UnusableError(message.into()))
}

/// Exit code for an error that reached the top.
pub fn exit_for(err: &anyhow::Error) -> Exit {
    if err.chain().any(|e| e.is::<UnusableError>()) {
        Exit::Unusable
    } else if err.chain().any(|e| e.is::<UsageError>()) {
        Exit::Usage
    } else {
        Exit::Failed
    }
}

/// Make text from files and servers safe for a terminal: control characters (other than
/// newline and tab) are shown escaped, so a file name cannot move the cursor or recolour.
pub fn escape(text: &str) -> String {
    if !text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return text.to_string();
    }
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_error_kind() {
        assert_eq!(exit_for(&usage("x")), Exit::Usage);
        assert_eq!(exit_for(&unusable("x")), Exit::Unusable);
        assert_eq!(exit_for(&unusable("x").context("outer")), Exit::Unusable);
        assert_eq!(exit_for(&anyhow::anyhow!("x")), Exit::Failed);
        assert_eq!(Exit::Unusable.code(), 3);
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape("host1\x1b[31m"), "host1\\u{1b}[31m");
        assert_eq!(escape("a\rb"), "a\\rb");
        assert_eq!(escape("line\nnext\ttab"), "line\nnext\ttab");
        assert_eq!(escape("plain ü"), "plain ü");
    }
}
