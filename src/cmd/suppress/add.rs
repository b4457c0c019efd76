//! `suppress add`: ingest event records and failed send-log records into the store, in
//! batches of one transaction each, and report what changed.

use anyhow::Result;
use serde_json::Value;

use super::AddArgs;
use crate::address::Address;
use crate::clock;
use crate::exit::Exit;
use crate::io::{self, TableWriter};
use crate::record::Kind;
use crate::records::{self, Incoming, Item};
use crate::store::{Change, NewEvent, Origin, ReportChanges, StateChange, Store, event_id};

/// Events per transaction: large, because a batch costs mostly the store pages it dirties
/// (see `Batcher`): into a store of 1,000,000 addresses, 500,000 events took 6.3 s in batches
/// of up to 100,000 and 4.2 s in two of 250,000. A killed run redoes at most one batch.
const BATCH: usize = 250_000;

const CHANGE_COLUMNS: &[&str] = &["email", "from", "to", "reason", "time", "event", "source"];

/// What a run has seen, for the summary.
#[derive(Debug, Default)]
struct Tally {
    read: u64,
    new: u64,
    duplicates: u64,
    /// Records that say nothing about an address's deliverability (ordinary mail, sends that
    /// went out, unreadable messages) or name no valid address.
    ignored: u64,
    bad: u64,
    changes: u64,
}

pub fn run(args: AddArgs, store: &mut Store, quiet: bool) -> Result<Exit> {
    let rules = super::rules_in_force(&args.rules, store)?;
    let mut changes = args
        .changes
        .then(|| io::open_output(args.output.as_deref()))
        .transpose()?
        .map(|out| TableWriter::new(out, args.format, CHANGE_COLUMNS));
    let inputs = if args.inputs.is_empty() {
        vec!["-".to_string()]
    } else {
        args.inputs.clone()
    };
    let now = clock::now();
    let mut tally = Tally::default();
    let read = |send: &mut dyn FnMut(Vec<NewEvent>) -> Result<()>| {
        let mut read = Tally::default();
        let mut batch = super::Batcher::new(BATCH);
        for name in &inputs {
            let reader = io::open_input(name)?;
            records::for_each_record(reader, false, |item| {
                match item {
                    Item::Bad { at, error } => {
                        read.bad += 1;
                        eprintln!("bouncekit: {name}:{at}: {error}");
                    }
                    Item::Record(record) => {
                        read.read += 1;
                        match to_event(record, name, now) {
                            Some(event) => batch.push(event, send)?,
                            None => read.ignored += 1,
                        }
                    }
                }
                Ok(())
            })?;
        }
        batch.finish(send)?;
        Ok(read)
    };
    let write = |batch: Vec<NewEvent>| {
        // The change records are written and flushed before the batch commits (see
        // `Store::ingest_reporting`): none is ever lost to a run killed in between.
        let mut report = |done: &[StateChange]| -> Result<()> {
            if let Some(w) = changes.as_mut() {
                for c in done {
                    w.write(&change_values(c))?;
                }
                w.flush()?;
            }
            Ok(())
        };
        let report: Option<&mut ReportChanges<'_>> = if args.changes {
            Some(&mut report)
        } else {
            None
        };
        let done = store.ingest_reporting(&batch, &rules, now, report)?;
        tally.new += done.new;
        tally.duplicates += done.duplicates;
        tally.changes += done.changed;
        Ok(())
    };
    let read = super::pipelined(read, write)?;
    if let Some(w) = changes.as_mut() {
        w.finish()?;
    }
    if !quiet {
        eprintln!(
            "bouncekit: suppress add: {} records: {} new events, {} duplicates, {} ignored, {} unreadable; {} state changes",
            read.read, tally.new, tally.duplicates, read.ignored, read.bad, tally.changes
        );
    }
    Ok(if args.strict && read.bad > 0 {
        Exit::Failure
    } else {
        Exit::Success
    })
}

pub(super) fn change_values(c: &StateChange) -> Vec<Value> {
    let opt = |v: &Option<String>| v.clone().map_or(Value::Null, Value::String);
    vec![
        Value::String(c.email.clone()),
        Value::String(c.from.as_str().into()),
        Value::String(c.to.as_str().into()),
        opt(&c.reason),
        Value::String(clock::format_rfc3339(c.time)),
        Value::String(c.event.clone()),
        opt(&c.source),
    ]
}

/// The event a record stands for, or `None` when it says nothing about an address's
/// deliverability.
fn to_event(r: Incoming, input: &str, now: i64) -> Option<NewEvent> {
    if r.send_status().is_some() {
        return send_failure(r, now);
    }
    if r.error.is_some() {
        return None;
    }
    let kind = Kind::parse(r.kind.as_deref()?)?;
    if matches!(kind, Kind::NotBounce | Kind::Unknown) {
        return None;
    }
    let address = Address::parse(r.recipient.as_deref()?).ok()?;
    let time = r
        .date
        .as_deref()
        .and_then(clock::parse_rfc3339)
        .unwrap_or(now);
    let source = r.source.or_else(|| Some(input.to_string()));
    // The report's own Message-ID names it wherever it was read from (a Maildir file, an IMAP
    // message); without one, where it was read from has to do.
    let report = r.message_id.as_deref().or(source.as_deref());
    let id = event_id(&[
        "classify",
        kind.as_str(),
        r.reason.as_deref().unwrap_or(""),
        r.status.as_deref().unwrap_or(""),
        report.unwrap_or(""),
        r.date.as_deref().unwrap_or(""),
        r.original_message_id.as_deref().unwrap_or(""),
    ]);
    Some(NewEvent {
        address,
        change: Change::Event(kind),
        reason: r.reason,
        status: r.status,
        time,
        origin: Origin::Classify,
        source,
        detail: r.diagnostic,
        id,
        force: false,
    })
}

/// A send-log record: only a failure (a 5xx at send time, with the kind and reason the reply
/// classifier gave it) is an event; a send, a deferral or a skip says nothing yet.
fn send_failure(r: Incoming, now: i64) -> Option<NewEvent> {
    if r.status.as_deref() != Some("failed") {
        return None;
    }
    let kind = Kind::parse(r.kind.as_deref()?)?;
    let address = Address::parse(r.recipient.as_deref()?).ok()?;
    let time = r
        .time
        .as_deref()
        .and_then(clock::parse_rfc3339)
        .unwrap_or(now);
    let id = event_id(&[
        "send",
        kind.as_str(),
        r.message_id.as_deref().unwrap_or(""),
        r.time.as_deref().unwrap_or(""),
        r.enhanced_status.as_deref().unwrap_or(""),
    ]);
    Some(NewEvent {
        address,
        change: Change::Event(kind),
        reason: r.reason,
        status: r.enhanced_status,
        time,
        origin: Origin::Send,
        source: r.message_id.map(|m| format!("send {m}")),
        detail: r.response,
        id,
        force: false,
    })
}
