//! One module per subcommand: each turns its parsed arguments into work and an exit status.

pub mod classify;
pub mod generate;
pub mod report;
pub mod suppress;
pub mod validate;
