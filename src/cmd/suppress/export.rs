//! `suppress export`: the recipients and their states as CSV (safe to open in a
//! spreadsheet) or JSONL.

use anyhow::Result;
use serde_json::Value;

use super::ExportArgs;
use crate::clock;
use crate::exit::Exit;
use crate::io::{self, TableWriter};
use crate::store::{Recipient, Store};

const COLUMNS: &[&str] = &[
    "email",
    "state",
    "reason",
    "since",
    "soft_streak",
    "bounces",
    "last_event",
];

pub fn run(args: ExportArgs, store: &Store) -> Result<Exit> {
    let out = io::open_output(args.output.as_deref())?;
    let mut writer = TableWriter::new(out, args.format, COLUMNS).spreadsheet_safe();
    store.for_each_recipient(&args.state, |r| writer.write(&values(&r)))?;
    writer.finish()?;
    Ok(Exit::Success)
}

fn values(r: &Recipient) -> Vec<Value> {
    let s = &r.standing;
    vec![
        Value::String(r.email.clone()),
        Value::String(s.state.as_str().into()),
        s.reason.clone().map_or(Value::Null, Value::String),
        Value::String(clock::format_rfc3339(s.since)),
        Value::from(s.soft_streak),
        Value::from(s.bounces),
        s.last_event
            .map_or(Value::Null, |t| Value::String(clock::format_rfc3339(t))),
    ]
}
