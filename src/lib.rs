//! bouncekit: email bounce handling and mailing-list hygiene.
//!
//! The binary is a thin layer over these modules: `classify` (the bounce classifier and its
//! reply tables), `record` (the event record contract), `records` and `io` (record input and
//! output shared by every subcommand), `address` (address normalisation and syntax), `store`
//! (the recipient store) and `cmd` (one module per subcommand).

pub mod address;
pub mod chunks;
pub mod classify;
pub mod cli;
pub mod clock;
pub mod cmd;
pub mod exit;
pub mod io;
pub mod messages;
pub mod record;
pub mod records;
pub mod store;
