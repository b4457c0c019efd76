//! `bouncekit suppress`: the recipient store and list cleaning. One file per action; this
//! module holds the command line they share and the dispatch.

mod add;
mod config;
mod export;
mod filter;
mod hand;
mod import;
mod show;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};

use crate::address::Address;
use crate::exit::Exit;
use crate::io::Format;
use crate::store::{self, State, Store};

/// Keeps the recipient store (who may be mailed, and why not) and cleans lists against it.
///
/// The store is one SQLite file: `--db`, else $BOUNCEKIT_DB, else
/// $XDG_DATA_HOME/bouncekit/bouncekit.db. Hard bounces make an address `bounced`; soft bounces
/// count, and a streak of --soft-limit of them bounces it; delivered, read and autoreply are
/// proof of life (`active`); unsubscribes and complaints are remembered forever, even after
/// the address is deleted. Sender-side blocks and delays never count against an address.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    bouncekit classify ~/Maildir/.bounces | bouncekit suppress add\n  \
    bouncekit suppress filter customers.csv --rejected dropped.csv > clean.csv\n  \
    bouncekit suppress import crm-unsubscribes.csv --state unsubscribed\n  \
    bouncekit suppress show jan@example.org\n  \
    bouncekit suppress unblock jan@example.org --reason 'mailbox fixed'")]
pub struct SuppressArgs {
    /// The store (SQLite file).
    #[arg(long, value_name = "PATH", env = "BOUNCEKIT_DB", global = true)]
    pub db: Option<PathBuf>,

    #[command(subcommand)]
    pub action: Action,
}

#[derive(Debug, Subcommand)]
pub enum Action {
    /// Ingest event records (from classify) and failed send-log records (from send).
    Add(AddArgs),
    /// Write the sendable rows of a recipient list; drop the rest.
    Filter(FilterArgs),
    /// Import an external list (a CRM's unsubscribes, an ESP's suppression export).
    Import(ImportArgs),
    /// Write the recipients and their states.
    Export(ExportArgs),
    /// Show addresses' states and their full event history.
    Show(ShowArgs),
    /// Mark addresses as bounced by hand.
    Block(HandArgs),
    /// Clear a bounce mark (back to unknown); refuses unsubscribed and complained unless --force.
    Unblock(HandArgs),
    /// Mark addresses inactive: kept, never mailed (a former employee, say).
    Inactive(HandArgs),
    /// Mark addresses active again by hand.
    Activate(HandArgs),
    /// Delete addresses and their history; unsubscribed and complained ones leave a tombstone.
    Delete(DeleteArgs),
    /// Show or set the options kept in the store (soft-limit, soft-window).
    Config(ConfigArgs),
}

/// Thresholds of the rules; given here they override the ones kept in the store.
#[derive(Debug, Args, Clone, Default)]
pub struct RuleArgs {
    /// Consecutive soft bounces that make an address bounced [default: 5, or the store's
    /// soft-limit setting].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub soft_limit: Option<u32>,

    /// Forget a soft-bounce streak whose first bounce is more than DAYS older than the new one
    /// [default: never, or the store's soft-window setting].
    #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u32).range(1..))]
    pub soft_window: Option<u32>,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    bouncekit classify ~/Maildir/.bounces | bouncekit suppress add\n  \
    bouncekit suppress add --changes events.jsonl sent.jsonl > changes.jsonl\n  \
    bouncekit suppress add --soft-limit 10 --soft-window 30 events.jsonl")]
pub struct AddArgs {
    /// Event records or send logs (JSONL or CSV), or `-` for stdin (the default).
    #[arg(value_name = "FILE")]
    pub inputs: Vec<String>,

    #[command(flatten)]
    pub rules: RuleArgs,

    /// Write one record per state change to stdout (email, from, to, reason, time, event,
    /// source).
    #[arg(long)]
    pub changes: bool,

    /// Format of the --changes records.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,

    /// Write the --changes records to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Exit 1 at the end if any record could not be read.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    bouncekit suppress filter customers.csv > clean.csv\n  \
    bouncekit suppress filter customers.csv --rejected dropped.csv -o clean.csv\n  \
    bouncekit suppress filter --column Contact crm-export.csv > clean.csv")]
pub struct FilterArgs {
    /// The recipient list: CSV with a header, or JSONL; `-` for stdin (the default).
    #[arg(value_name = "FILE")]
    pub input: Option<String>,

    /// Write the sendable rows to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Write the dropped rows to FILE, with `state` and `reason` added.
    #[arg(long, value_name = "FILE")]
    pub rejected: Option<PathBuf>,

    /// The address column, when it is not found by name (email, e-mail, mail, address, ...).
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,

    /// Keep every row of an address that appears more than once (default: the first only).
    #[arg(long)]
    pub keep_duplicates: bool,

    /// Keep rows whose address is not a valid address.
    #[arg(long)]
    pub keep_invalid: bool,
}

/// The states an import can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportState {
    Unsubscribed,
    Bounced,
    Complained,
    Inactive,
}

impl From<ImportState> for State {
    fn from(s: ImportState) -> State {
        match s {
            ImportState::Unsubscribed => State::Unsubscribed,
            ImportState::Bounced => State::Bounced,
            ImportState::Complained => State::Complained,
            ImportState::Inactive => State::Inactive,
        }
    }
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    bouncekit suppress import crm-unsubscribes.csv --state unsubscribed\n  \
    bouncekit suppress import esp-suppressions.jsonl --state bounced --reason 'ESP export'\n  \
    bouncekit suppress import - --state inactive < former-staff.txt")]
pub struct ImportArgs {
    /// Lists to import: CSV with a header, JSONL, or one address per line; `-` for stdin (the
    /// default).
    #[arg(value_name = "FILE")]
    pub inputs: Vec<String>,

    /// The state every listed address gets (unsubscribed and complained are never weakened).
    #[arg(long, value_enum)]
    pub state: ImportState,

    /// Why, as the store will show it [default: "imported from FILE"].
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,

    /// The address column, when it is not found by name.
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    bouncekit suppress export --format csv > store.csv     # for a spreadsheet\n  \
    bouncekit suppress export --state bounced --state complained\n  \
    bouncekit suppress export --format csv --state unsubscribed | crm-import")]
pub struct ExportArgs {
    /// Only recipients in this state (repeatable; default: all).
    #[arg(long, value_enum, value_name = "STATE")]
    pub state: Vec<State>,

    /// Output format (CSV cells that look like formulas are neutralised for spreadsheets, and
    /// `suppress import` reads them back as they were).
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,

    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// How `show` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShowFormat {
    /// Readable text.
    Text,
    /// One JSON object per address, its events in `events`.
    Jsonl,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    bouncekit suppress show jan@example.org\n  \
    bouncekit suppress show --format jsonl jan@example.org ola@example.net")]
pub struct ShowArgs {
    /// Addresses to show.
    #[arg(value_name = "ADDRESS", required = true, value_parser = parse_address)]
    pub addresses: Vec<Address>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
    pub format: ShowFormat,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    bouncekit suppress block jan@example.org --reason 'asked by phone'\n  \
    bouncekit suppress unblock jan@example.org --reason 'typo fixed'\n  \
    bouncekit suppress inactive former@example.org\n  \
    bouncekit suppress activate former@example.org")]
pub struct HandArgs {
    /// Addresses to change.
    #[arg(value_name = "ADDRESS", required = true, value_parser = parse_address)]
    pub addresses: Vec<Address>,

    /// Why, as the store will show it.
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,

    /// Override a recipient's own choice (unsubscribed, complained).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    bouncekit suppress delete jan@example.org")]
pub struct DeleteArgs {
    /// Addresses to delete.
    #[arg(value_name = "ADDRESS", required = true, value_parser = parse_address)]
    pub addresses: Vec<Address>,
}

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    bouncekit suppress config\n  \
    bouncekit suppress config soft-limit 10\n  \
    bouncekit suppress config --unset soft-window")]
pub struct ConfigArgs {
    /// The setting: soft-limit or soft-window (none: list every setting).
    #[arg(value_name = "NAME", value_parser = ["soft-limit", "soft-window"])]
    pub name: Option<String>,

    /// The new value (none: show the current one).
    #[arg(value_name = "VALUE", conflicts_with = "unset")]
    pub value: Option<String>,

    /// Remove the setting (back to the default).
    #[arg(long, requires = "name")]
    pub unset: bool,
}

/// Parses an address operand (a bad one is a usage error).
fn parse_address(raw: &str) -> Result<Address, String> {
    Address::parse(raw).map_err(|e| format!("{e}: {raw:?}"))
}

pub fn run(args: SuppressArgs, quiet: bool) -> Result<Exit> {
    let path = store::resolve_path(args.db.as_deref())?;
    match args.action {
        Action::Add(a) => add::run(a, &mut Store::open(&path)?, quiet),
        Action::Filter(a) => filter::run(a, Store::open_existing(&path)?, quiet),
        Action::Import(a) => import::run(a, &mut Store::open(&path)?, quiet),
        Action::Export(a) => export::run(a, &Store::open_existing(&path)?),
        Action::Show(a) => show::run(a, &Store::open_existing(&path)?),
        Action::Block(a) => hand::run(a, store::Decision::Block, &mut Store::open(&path)?),
        Action::Unblock(a) => hand::run(a, store::Decision::Unblock, &mut Store::open(&path)?),
        Action::Inactive(a) => hand::run(a, store::Decision::Inactive, &mut Store::open(&path)?),
        Action::Activate(a) => hand::run(a, store::Decision::Activate, &mut Store::open(&path)?),
        Action::Delete(a) => hand::delete(a, &mut Store::open_existing(&path)?),
        Action::Config(a) => config::run(a, &Store::open(&path)?),
    }
}

/// The rules in force: the options given, else the store's settings, else the defaults.
pub fn rules_in_force(args: &RuleArgs, store: &Store) -> Result<store::Rules> {
    let mut rules = store::Rules::default();
    if let Some(limit) = store.setting("soft-limit")? {
        rules.soft_limit = config::parse_setting("soft-limit", &limit)?;
    }
    if let Some(days) = store.setting("soft-window")? {
        rules.soft_window_secs =
            Some(i64::from(config::parse_setting("soft-window", &days)?) * 86_400);
    }
    if let Some(limit) = args.soft_limit {
        rules.soft_limit = limit;
    }
    if let Some(days) = args.soft_window {
        rules.soft_window_secs = Some(i64::from(days) * 86_400);
    }
    Ok(rules)
}

/// Runs `read` on a second thread, handing its batches of events to `write` on this one
/// through a channel that holds one batch: reading and parsing the next batch overlaps
/// writing the last one to the store. When `write` fails, reading stops at its next batch
/// and `write`'s error is the one returned.
fn pipelined<R: Send>(
    read: impl FnOnce(&mut dyn FnMut(Vec<store::NewEvent>) -> Result<()>) -> Result<R> + Send,
    mut write: impl FnMut(Vec<store::NewEvent>) -> Result<()>,
) -> Result<R> {
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<store::NewEvent>>(1);
        let reader = scope.spawn(move || {
            read(&mut |batch| {
                sender
                    .send(batch)
                    .map_err(|_| anyhow::anyhow!("the store stopped taking events"))
            })
        });
        let mut written = Ok(());
        for batch in receiver {
            written = write(batch);
            if written.is_err() {
                break;
            }
        }
        let read = reader
            .join()
            .map_err(|_| anyhow::anyhow!("the thread reading the input panicked"))?;
        written?;
        read
    })
}

/// Collects events into the batches `pipelined` hands to the store, `size` events each (each
/// batch is one transaction). The size is fixed, not ramped up from a small first batch: on a
/// store of a million addresses a batch's cost is mostly the pages it dirties, which are
/// spread over the whole store and rewritten through the WAL at each commit, so a small batch
/// costs nearly what a large one does (measured: 5,000 events took 0.25 s, 100,000 took 0.9 s).
struct Batcher {
    batch: Vec<store::NewEvent>,
    size: usize,
}

impl Batcher {
    fn new(size: usize) -> Self {
        Batcher {
            batch: Vec::new(),
            size,
        }
    }

    fn push(
        &mut self,
        event: store::NewEvent,
        send: &mut dyn FnMut(Vec<store::NewEvent>) -> Result<()>,
    ) -> Result<()> {
        self.batch.push(event);
        if self.batch.len() >= self.size {
            send(std::mem::take(&mut self.batch))?;
        }
        Ok(())
    }

    fn finish(self, send: &mut dyn FnMut(Vec<store::NewEvent>) -> Result<()>) -> Result<()> {
        if self.batch.is_empty() {
            Ok(())
        } else {
            send(self.batch)
        }
    }
}
