//! bouncekit: email bounce handling and mailing-list hygiene.
//!
//! The binary is a thin layer over these modules: `classify` (the bounce classifier and its
//! reply tables), `record` (the event record contract), `records` and `io` (record input and
//! output shared by every subcommand), `chunks` (CSV lists cut into records passed through
//! byte for byte), `messages` (message input, and the message record of `fetch-bounces`),
//! `address` (address normalisation and syntax), `dns` (whether a domain takes mail, asked of
//! DNS), `store` (the recipient store), `smtp` (the SMTP client of `send`), `imap` (the IMAP
//! client of `fetch-bounces`), `positions` and `maildir` (what `fetch-bounces` remembers and
//! writes) and `cmd` (one module per subcommand).

pub mod address;
pub mod chunks;
pub mod classify;
pub mod cli;
pub mod clock;
pub mod cmd;
pub mod dns;
pub mod exit;
pub mod imap;
pub mod io;
pub mod maildir;
pub mod messages;
pub mod positions;
pub mod record;
pub mod records;
pub mod smtp;
pub mod store;
