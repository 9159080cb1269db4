//! One file per subcommand.

pub mod connect;
pub mod down;
pub mod env;
pub mod plan;
pub mod query;
pub mod status;
pub mod up;
pub mod worlds;
