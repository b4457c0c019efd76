//! Decisions by hand: `block`, `unblock`, `inactive`, `activate` and `delete`. Each is kept
//! as an event, so `show` says who changed what and why.

use anyhow::Result;

use super::{DeleteArgs, HandArgs};
use crate::clock;
use crate::exit::Exit;
use crate::store::{Change, Decision, NewEvent, Origin, Rules, Store, event_id};

pub fn run(args: HandArgs, decision: Decision, store: &mut Store) -> Result<Exit> {
    let now = clock::now();
    // Every decision is a new event, even one repeated: the time (to the nanosecond) is part
    // of its identity.
    let stamp = chrono::Utc::now()
        .timestamp_nanos_opt()
        .unwrap_or(now)
        .to_string();
    let name = Change::Decision(decision);
    let batch: Vec<NewEvent> = args
        .addresses
        .iter()
        .map(|address| NewEvent {
            id: event_id(&["hand", name.name(), &stamp]),
            address: address.clone(),
            change: name,
            reason: args.reason.clone().or_else(|| Some("by hand".into())),
            status: None,
            time: now,
            origin: Origin::Hand,
            source: None,
            detail: None,
            force: args.force,
        })
        .collect();
    let done = store.ingest(&batch, &Rules::default(), now, true)?;
    for change in &done.changes {
        eprintln!("{}: {} -> {}", change.email, change.from, change.to);
    }
    for (email, why) in &done.refused {
        eprintln!("bouncekit: {email}: not changed: {why}");
    }
    Ok(if done.refused.is_empty() {
        Exit::Success
    } else {
        Exit::Failure
    })
}

pub fn delete(args: DeleteArgs, store: &mut Store) -> Result<Exit> {
    let keys: Vec<String> = args.addresses.iter().map(|a| a.key.clone()).collect();
    let done = store.delete(&keys)?;
    for (address, (existed, tombstone)) in args.addresses.iter().zip(done) {
        let what = match (existed, tombstone) {
            (false, _) => "not in the store",
            (true, false) => "deleted",
            (true, true) => "deleted; kept as a tombstone, so it is never mailed again",
        };
        eprintln!("{}: {what}", address.email);
    }
    Ok(Exit::Success)
}
