//! `suppress show`: an address's state and the full history that explains it.

use std::io::Write;

use anyhow::Result;
use serde_json::{Value, json};

use super::{ShowArgs, ShowFormat};
use crate::address::Address;
use crate::clock;
use crate::exit::Exit;
use crate::store::{State, Store, StoredEvent};

pub fn run(args: ShowArgs, store: &Store) -> Result<Exit> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for address in &args.addresses {
        let shown = describe(store, address)?;
        match args.format {
            ShowFormat::Jsonl => {
                serde_json::to_writer(&mut out, &shown)?;
                writeln!(out)?;
            }
            ShowFormat::Text => write_text(&mut out, &shown)?,
        }
    }
    out.flush()?;
    Ok(Exit::Success)
}

/// One address as a JSON object: its standing, or the tombstone it left, and its events.
fn describe(store: &Store, address: &Address) -> Result<Value> {
    let time = |t: i64| Value::String(clock::format_rfc3339(t));
    if let Some(r) = store.recipient(&address.key)? {
        let s = &r.standing;
        let events: Vec<Value> = store
            .history(&address.key)?
            .iter()
            .map(event_json)
            .collect();
        return Ok(json!({
            "email": r.email,
            "state": s.state.as_str(),
            "reason": s.reason,
            "since": time(s.since),
            "soft_streak": s.soft_streak,
            "bounces": s.bounces,
            "last_event": s.last_event.map(time),
            "sendable": s.state.is_sendable(),
            "events": events,
        }));
    }
    let (state, reason, note) = match store.tombstone(&address.key)? {
        Some((state, reason)) => (state, reason, "deleted; its owner's choice is remembered"),
        None => (State::Unknown, None, "not in the store"),
    };
    Ok(json!({
        "email": address.email,
        "state": state.as_str(),
        "reason": reason,
        "sendable": state.is_sendable(),
        "note": note,
        "events": [],
    }))
}

fn event_json(e: &StoredEvent) -> Value {
    json!({
        "time": clock::format_rfc3339(e.time),
        "event": e.kind,
        "reason": e.reason,
        "status": e.status,
        "origin": e.origin,
        "source": e.source,
        "detail": e.detail,
        "recorded": clock::format_rfc3339(e.ingested),
    })
}

fn write_text(out: &mut impl Write, v: &Value) -> Result<()> {
    let s = |key: &str| v[key].as_str().unwrap_or("").to_string();
    write!(out, "{}: {}", s("email"), s("state"))?;
    if let Some(reason) = v["reason"].as_str() {
        write!(out, " ({reason})")?;
    }
    if let Some(since) = v["since"].as_str() {
        write!(out, " since {since}")?;
    }
    if let Some(note) = v["note"].as_str() {
        write!(out, " — {note}")?;
    }
    writeln!(
        out,
        "; {}",
        if v["sendable"] == Value::Bool(true) {
            "sendable"
        } else {
            "not sendable"
        }
    )?;
    if v.get("bounces").is_some() {
        writeln!(
            out,
            "  bounces: {}, soft streak: {}",
            v["bounces"], v["soft_streak"]
        )?;
    }
    for e in v["events"].as_array().into_iter().flatten() {
        let field = |key: &str| e[key].as_str().unwrap_or("-").to_string();
        writeln!(
            out,
            "  {}  {:<20} {:<18} {:<8} {:<8} {}",
            field("time"),
            field("event"),
            field("reason"),
            field("status"),
            field("origin"),
            field("source")
        )?;
        if let Some(detail) = e["detail"].as_str() {
            writeln!(out, "      {detail}")?;
        }
    }
    Ok(())
}
