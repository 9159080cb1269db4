//! One file per subcommand.

pub mod completions;
pub mod connect;
pub mod diff;
pub mod down;
pub mod env;
pub mod envs;
pub mod logs;
pub mod plan;
pub mod query;
pub mod snapshots;
pub mod status;
pub mod up;
