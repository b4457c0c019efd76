//! The command line, defined once: `--help`, the man pages and the shell completions are all
//! generated from these definitions (see `cmd::generate`).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::io::Format;

/// Email bounce handling and mailing-list hygiene for the command line.
///
/// bouncekit reads returned mail (bounces, delivery reports, read receipts, autoreplies,
/// complaints) and says who failed, how and why, as JSONL or CSV that pipes into the next tool.
#[derive(Debug, Parser)]
#[command(
    name = "bouncekit",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Silence progress bars and the summary on stderr (errors are still printed).
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Fetch returned mail from an IMAP mailbox as message records, incrementally.
    #[command(name = "fetch-bounces")]
    FetchBounces(Box<crate::cmd::fetch::FetchArgs>),

    /// Read returned mail and write one event record per (message, recipient).
    Classify(ClassifyArgs),

    /// Keep the recipient store and clean lists against it.
    Suppress(crate::cmd::suppress::SuppressArgs),

    /// Turn send logs and events into per-campaign figures, charts and alerts.
    Report(crate::cmd::report::ReportArgs),

    /// Mail a template to a recipient list, with delivery reports, exactly once.
    Send(Box<crate::cmd::send::SendArgs>),

    /// Check a list's addresses before the first mailing: syntax, DNS, disposable, role, typos.
    Validate(crate::cmd::validate::ValidateArgs),

    /// Write the man pages and shell completions (for packagers and the repository).
    #[command(hide = true)]
    Generate(GenerateArgs),
}

/// Reads .eml files, mbox files, Maildir folders, directories of messages, the message records
/// of `fetch-bounces` (JSONL with raw_base64) or one raw message on stdin, and writes one event
/// record per (message, recipient): who the report is about, whether the failure is hard, soft
/// or the sender's own fault (block), and why.
///
/// Every input message yields at least one record: ordinary mail is `not_bounce`, a report
/// that could not be read is `unknown`, and a message that could not be parsed carries `error`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    bouncekit classify ~/Maildir/.bounces --own-domain example.com\n  \
    bouncekit fetch-bounces --imap imaps://bounces@mail.example.com/INBOX | bouncekit classify\n  \
    bouncekit classify --format csv returned.mbox -o events.csv")]
pub struct ClassifyArgs {
    /// Messages to read: .eml files, mbox files, Maildir folders, directories, or `-` for stdin
    /// (the default).
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,

    /// Write the records to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// VERP return address used when sending (e.g. bounces@example.com): an address like
    /// bounces+jan=example.org@example.com in To, Delivered-To or X-Original-To names the
    /// recipient when the report itself does not. Repeatable.
    #[arg(long, value_name = "ADDRESS")]
    pub verp: Vec<String>,

    /// A domain of your own: its addresses are never reported as the failed recipient.
    /// Repeatable. Name only domains you send from; a public domain here breaks recognition.
    #[arg(long, value_name = "DOMAIN")]
    pub own_domain: Vec<String>,

    /// An address of your own, never reported as the failed recipient. Repeatable.
    #[arg(long, value_name = "ADDRESS")]
    pub own_address: Vec<String>,

    /// Leave out the records of ordinary mail (kind not_bounce).
    #[arg(long)]
    pub bounces_only: bool,

    /// Exit 1 at the end if any message could not be read (records with `error`).
    #[arg(long)]
    pub strict: bool,

    /// Largest message to read, in bytes (suffixes K, M, G); larger ones get an error record.
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_size)]
    pub max_size: u64,

    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, value_name = "N")]
    pub threads: Option<usize>,
}

/// What `generate` writes.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Folder for the man pages (one per subcommand).
    #[arg(long, value_name = "DIR", default_value = "man")]
    pub man_dir: PathBuf,

    /// Folder for the bash, zsh and fish completions.
    #[arg(long, value_name = "DIR", default_value = "completions")]
    pub completions_dir: PathBuf,
}

/// Parses a byte size such as `512`, `64K`, `64M` or `1G` (binary multiples).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, ""),
    };
    let number: u64 = digits
        .parse()
        .map_err(|_| format!("not a size: {text:?} (use e.g. 512K, 64M, 1G)"))?;
    let factor: u64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        other => return Err(format!("unknown size unit {other:?} (use K, M or G)")),
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("size too large: {text}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_size("512"), Ok(512));
        assert_eq!(parse_size("64K"), Ok(64 * 1024));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("").is_err());
    }
}
