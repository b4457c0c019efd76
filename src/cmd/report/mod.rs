//! `bouncekit report`: send logs and event records turned into the figures a sender acts
//! on, per campaign, per reason and per domain, with the "your server is on a blocklist"
//! alerts; or, with `--unconfirmed` / `--confirmed`, the recipients to mail again.

mod data;
mod html;
mod render;
mod summary;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};

use crate::exit::Exit;
use crate::io;
use crate::store::{self, Store};

/// Turns send logs and event records into a report: per campaign (sent, rejected, confirmed
/// delivered and read, hard, soft, block, delay, autoreply, unsubscribe, complaint, no
/// feedback, bounce rate, deliverability), top reasons, top recipient domains, and the
/// sender-side blocks grouped by receiving domain and by the blocklist or provider named.
///
/// Events are joined to the message they are about by the original Message-ID, then the
/// envelope id, then the recipient (within the event's campaign when it names one).
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    bouncekit report sent.jsonl events.jsonl\n  \
    bouncekit report --format html sent.jsonl events.jsonl -o report.html\n  \
    bouncekit report --db ~/.local/share/bouncekit/bouncekit.db sent.jsonl events.jsonl\n  \
    bouncekit report --unconfirmed --list customers.csv sent.jsonl events.jsonl > resend.csv")]
pub struct ReportArgs {
    /// Send logs and event records (CSV or JSONL, mixed), or `-` for stdin (the default).
    #[arg(value_name = "FILE")]
    pub inputs: Vec<String>,

    /// Output format [default: table on a terminal, json otherwise].
    #[arg(long, value_enum)]
    pub format: Option<ReportFormat>,

    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// How many reasons, domains and alerts to show.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub top: usize,

    /// Add the store's addresses per state (the store: PATH, or $BOUNCEKIT_DB).
    #[arg(long, value_name = "PATH", env = "BOUNCEKIT_DB")]
    pub db: Option<PathBuf>,

    /// Instead of a report: the recipients sent to that have no delivery or read
    /// confirmation, as a recipient list (to mail them again). Alone its columns are only
    /// email, campaign and message_id, so a `send` template using {{ first_name }} skips every
    /// row: add `--list FILE` to get the list's own rows, with all their columns, back.
    #[arg(long, conflicts_with = "confirmed")]
    pub unconfirmed: bool,

    /// Instead of a report: the recipients with a delivery or read confirmation (columns as
    /// with --unconfirmed: add `--list FILE` for the list's rows and template variables).
    #[arg(long)]
    pub confirmed: bool,

    /// With --unconfirmed or --confirmed: the original recipient list, whose rows (all their
    /// columns, so `send` has its variables) are written for the recipients chosen.
    #[arg(long, value_name = "FILE")]
    pub list: Option<String>,

    /// With --list: the address column, when it is not found by name.
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,
}

/// How `report` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Aligned tables (coloured on a terminal unless NO_COLOR is set).
    Table,
    /// Markdown tables.
    Markdown,
    /// One row per campaign.
    Csv,
    /// Everything, as one JSON document.
    Json,
    /// One self-contained page with SVG charts.
    Html,
}

pub fn run(args: ReportArgs, quiet: bool) -> Result<Exit> {
    let inputs = if args.inputs.is_empty() {
        vec!["-".to_string()]
    } else {
        args.inputs.clone()
    };
    let data = data::read(&inputs)?;
    if data.skipped > 0 && !quiet {
        eprintln!(
            "bouncekit: report: {} records were neither a send nor an event about an address (unreadable, or ordinary mail); left out",
            data.skipped
        );
    }
    if args.unconfirmed || args.confirmed {
        return recipients(&args, &data);
    }
    let mut report = summary::summarize(&data, args.top);
    if let Some(db) = &args.db {
        let store = Store::open_existing(&store::resolve_path(Some(db))?)?;
        report.store = Some(
            store
                .state_counts()?
                .into_iter()
                .map(|(state, count)| summary::Count {
                    name: state.as_str().to_string(),
                    count,
                })
                .collect(),
        );
    }
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let format = args.format.unwrap_or(if to_terminal {
        ReportFormat::Table
    } else {
        ReportFormat::Json
    });
    let mut out = io::open_output(args.output.as_deref())?;
    match format {
        ReportFormat::Table => {
            let colour = to_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            let terminal = to_terminal.then(render::terminal_width).flatten();
            render::table(&report, colour, terminal, &mut out)?
        }
        ReportFormat::Markdown => render::markdown(&report, &mut out)?,
        ReportFormat::Csv => render::csv(&report, &mut out)?,
        ReportFormat::Json => render::json(&report, &mut out)?,
        ReportFormat::Html => html::write(&report, &mut out)?,
    }
    out.flush()?;
    Ok(Exit::Success)
}

/// `--unconfirmed` / `--confirmed`: the recipients sent to, with or without a delivery or
/// read confirmation; the rows of `--list` when given, else email, campaign and message id.
fn recipients(args: &ReportArgs, data: &data::Data) -> Result<Exit> {
    use std::collections::HashSet;
    let confirmed: HashSet<usize> = data
        .events
        .iter()
        .filter(|(e, _)| {
            matches!(
                e.kind,
                crate::record::Kind::Delivered | crate::record::Kind::Read
            )
        })
        .filter_map(|(_, send)| *send)
        .collect();
    let chosen: Vec<&data::Send> = data
        .sends
        .iter()
        .enumerate()
        .filter(|(i, s)| s.status == "sent" && confirmed.contains(i) == args.confirmed)
        .map(|(_, s)| s)
        .collect();
    let mut out = io::open_output(args.output.as_deref())?;
    match &args.list {
        Some(list) => {
            let wanted: HashSet<String> = chosen
                .iter()
                .map(|s| crate::address::key_of(&s.recipient))
                .collect();
            rows_of_list(list, args.column.as_deref(), &wanted, &mut out)
                .with_context(|| format!("cannot read {list}"))?;
            out.flush()?;
        }
        None => {
            let mut w =
                io::TableWriter::new(out, io::Format::Csv, &["email", "campaign", "message_id"]);
            for s in chosen {
                w.write(&[
                    s.recipient.clone().into(),
                    s.campaign.clone().into(),
                    s.message_id
                        .clone()
                        .map_or(serde_json::Value::Null, Into::into),
                ])?;
            }
            w.finish()?;
        }
    }
    Ok(Exit::Success)
}

/// Writes the header and the rows of a CSV recipient list whose address is in `wanted`,
/// each exactly as read.
fn rows_of_list(
    list: &str,
    column: Option<&str>,
    wanted: &std::collections::HashSet<String>,
    out: &mut dyn Write,
) -> Result<()> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(io::open_input(list)?);
    let mut record = csv::ByteRecord::new();
    let mut index = None;
    let mut raw = Vec::new();
    while reader.read_byte_record(&mut record)? {
        raw.clear();
        let mut w = csv::Writer::from_writer(&mut raw);
        w.write_byte_record(&record)?;
        drop(w);
        match index {
            None => {
                let names: Vec<String> = record
                    .iter()
                    .map(|c| String::from_utf8_lossy(c).into_owned())
                    .collect();
                index = Some(crate::records::address_column(&names, column)?);
                out.write_all(&raw)?;
            }
            Some(i) => {
                let address = record
                    .get(i)
                    .and_then(|a| std::str::from_utf8(a).ok())
                    .and_then(|a| crate::address::Address::parse(a).ok());
                if address.is_some_and(|a| wanted.contains(&a.key)) {
                    out.write_all(&raw)?;
                }
            }
        }
    }
    Ok(())
}
