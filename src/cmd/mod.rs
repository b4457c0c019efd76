//! One module per subcommand: each turns its parsed arguments into work and an exit status.

pub mod classify;
pub mod fetch;
pub mod generate;
pub mod report;
pub mod send;
pub mod suppress;
pub mod validate;
