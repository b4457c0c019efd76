//! `suppress import`: external lists (a CRM's unsubscribes, an ESP's suppression export)
//! into the store, each address given the list's state. Importing the same list again is a
//! no-op, like any repeated event.

use anyhow::{Context, Result};
use serde_json::{Map, Value};

use super::ImportArgs;
use crate::address::Address;
use crate::clock;
use crate::exit::Exit;
use crate::io;
use crate::records::{self, Item};
use crate::store::{Change, Decision, NewEvent, Origin, Rules, State, Store, event_id};

/// Events per transaction (see `Batcher`).
const BATCH: usize = 250_000;

/// At most this many bad addresses are named on stderr; the rest are only counted.
const NAMED_BAD: u64 = 10;

/// What the reading side saw.
#[derive(Debug, Default)]
struct Read {
    records: u64,
    bad: u64,
}

pub fn run(args: ImportArgs, store: &mut Store, quiet: bool) -> Result<Exit> {
    let state: State = args.state.into();
    let inputs = if args.inputs.is_empty() {
        vec!["-".to_string()]
    } else {
        args.inputs.clone()
    };
    let now = clock::now();
    let read = |send: &mut dyn FnMut(Vec<NewEvent>) -> Result<()>| {
        let mut seen = Read::default();
        let mut batch = super::Batcher::new(BATCH);
        for name in &inputs {
            read_list(name, &args, state, now, &mut seen, &mut |event| {
                batch.push(event, send)
            })?;
        }
        batch.finish(send)?;
        Ok(seen)
    };
    let (mut new, mut duplicates, mut changed) = (0u64, 0u64, 0u64);
    let write = |batch: Vec<NewEvent>| {
        let done = store.ingest(&batch, &Rules::default(), now, false)?;
        new += done.new;
        duplicates += done.duplicates;
        changed += done.changed;
        Ok(())
    };
    let seen = super::pipelined(read, write)?;
    if !quiet {
        eprintln!(
            "bouncekit: suppress import: {} records: {new} imported as {state}, {duplicates} already imported, {changed} state changes, {} skipped",
            seen.records, seen.bad
        );
    }
    Ok(Exit::Success)
}

/// Reads one list, handing an import event per valid address to `each`.
fn read_list(
    name: &str,
    args: &ImportArgs,
    state: State,
    now: i64,
    seen: &mut Read,
    each: &mut dyn FnMut(NewEvent) -> Result<()>,
) -> Result<()> {
    let shown = if io::is_stdio(name) { "stdin" } else { name };
    // The default reason names the list; a reason of the user's own gets the list as source.
    let (reason, source) = match &args.reason {
        Some(reason) => (reason.clone(), Some(shown.to_string())),
        None => (format!("imported from {shown}"), None),
    };
    let skip = |seen: &mut Read, what: &str, why: &str| {
        seen.bad += 1;
        if seen.bad <= NAMED_BAD {
            eprintln!("bouncekit: {name}: skipped {what}: {why}");
        }
    };
    let mut column: Option<String> = None;
    let reader = io::open_input(name)?;
    records::for_each_record(reader, true, |item: Item<Map<String, Value>>| {
        let fields = match item {
            Item::Record(fields) => fields,
            Item::Bad { at, error } => {
                skip(seen, &format!("line {at}"), &error);
                return Ok(());
            }
        };
        seen.records += 1;
        if column.is_none() {
            let names: Vec<&str> = fields.keys().map(String::as_str).collect();
            let index = records::address_column(&names, args.column.as_deref())
                .with_context(|| format!("cannot import {name}"))?;
            column = Some(names[index].to_string());
        }
        let Some(raw) = records::text(&fields, column.as_deref().unwrap_or("email")) else {
            skip(seen, "a record", "no address");
            return Ok(());
        };
        match Address::parse(io::spreadsheet_unescaped(&raw)) {
            Ok(address) => each(NewEvent {
                address,
                change: Change::Decision(Decision::Import(state)),
                reason: Some(reason.clone()),
                status: None,
                time: now,
                origin: Origin::Import,
                source: source.clone(),
                detail: None,
                id: event_id(&["import", state.as_str(), &reason]),
                force: false,
            }),
            Err(e) => {
                skip(seen, &format!("{raw:?}"), &e.to_string());
                Ok(())
            }
        }
    })
}
