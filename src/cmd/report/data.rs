//! The records `report` reads (send logs and event records, in any format, mixed), and the
//! join of each event to the send it is about.
//!
//! An event is joined by the original Message-ID it quotes, else by the envelope id its
//! report carries, else by its recipient (which `classify --verp` has already decoded from a
//! VERP return address), within its campaign when it names one. Repeated send-log records
//! of one recipient in one campaign (a deferral, then a send on resume) count once, as the
//! last one says: `send` mails nobody twice in a campaign.

use std::collections::HashMap;

use anyhow::Result;

use crate::address;
use crate::io;
use crate::record::{Kind, SendStatus};
use crate::records::{self, Incoming, Item};

/// One message of a send log, as its last record says.
#[derive(Debug, Clone)]
pub struct Send {
    pub recipient: String,
    pub campaign: String,
    pub status: String,
    pub message_id: Option<String>,
    pub envelope_id: Option<String>,
    pub kind: Option<Kind>,
    pub reason: Option<String>,
    pub response: Option<String>,
}

/// One event record about a recipient.
#[derive(Debug, Clone)]
pub struct Event {
    pub recipient: String,
    pub kind: Kind,
    pub reason: Option<String>,
    pub campaign: Option<String>,
    pub original_message_id: Option<String>,
    pub envelope_id: Option<String>,
    pub diagnostic: Option<String>,
    pub remote_mta: Option<String>,
}

/// What was read: the sends and the events, each event with the index of its send.
#[derive(Debug, Default)]
pub struct Data {
    pub sends: Vec<Send>,
    pub events: Vec<(Event, Option<usize>)>,
    /// Records that were neither (unreadable, or about no address).
    pub skipped: u64,
}

/// The campaign name of sends and events that name none.
pub const NO_CAMPAIGN: &str = "(none)";

/// Reads every input and joins the events to the sends.
pub fn read(inputs: &[String]) -> Result<Data> {
    let mut sends: Vec<Send> = Vec::new();
    let mut by_recipient: HashMap<(String, String), usize> = HashMap::new();
    let mut events = Vec::new();
    let mut skipped = 0;
    for name in inputs {
        records::for_each_record(io::open_input(name)?, false, |item: Item<Incoming>| {
            let Item::Record(r) = item else {
                skipped += 1;
                return Ok(());
            };
            match read_one(r) {
                Some(Read::Send(send)) => {
                    let key = (send.campaign.clone(), address::key_of(&send.recipient));
                    match by_recipient.get(&key) {
                        Some(&i) => sends[i] = send,
                        None => {
                            by_recipient.insert(key, sends.len());
                            sends.push(send);
                        }
                    }
                }
                Some(Read::Event(event)) => events.push(event),
                Some(Read::Nothing) => {}
                None => skipped += 1,
            }
            Ok(())
        })?;
    }
    let index = SendIndex::new(&sends);
    let events = events
        .into_iter()
        .map(|e| {
            let send = index.find(&e);
            (e, send)
        })
        .collect();
    Ok(Data {
        sends,
        events,
        skipped,
    })
}

enum Read {
    Send(Send),
    Event(Event),
    Nothing,
}

fn read_one(r: Incoming) -> Option<Read> {
    let recipient = address::Address::parse(r.recipient.as_deref()?).ok()?.email;
    let kind = r.kind.as_deref().and_then(Kind::parse);
    if let Some(status) = r.send_status() {
        if status == SendStatus::Sending {
            // The journal's note before the final dot: its outcome follows (or, after a
            // crash, an `unknown` record of the resumed run does).
            return Some(Read::Nothing);
        }
        return Some(Read::Send(Send {
            recipient,
            campaign: r.campaign.unwrap_or_else(|| NO_CAMPAIGN.into()),
            status: status.as_str().to_string(),
            message_id: r.message_id.as_deref().map(bare_id),
            envelope_id: r.envelope_id,
            kind,
            reason: r.reason,
            response: r.response,
        }));
    }
    if r.error.is_some() {
        return None;
    }
    let kind = kind.filter(|k| !matches!(k, Kind::NotBounce | Kind::Unknown))?;
    Some(Read::Event(Event {
        recipient,
        kind,
        reason: r.reason,
        campaign: r.campaign,
        original_message_id: r.original_message_id.as_deref().map(bare_id),
        envelope_id: r.envelope_id,
        diagnostic: r.diagnostic,
        remote_mta: r.remote_mta,
    }))
}

/// A Message-ID without its angle brackets and spaces, as both sides are compared.
fn bare_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_string()
}

/// The sends by Message-ID, by envelope id and by recipient.
struct SendIndex {
    by_message_id: HashMap<String, usize>,
    by_envelope_id: HashMap<String, usize>,
    by_recipient: HashMap<String, Vec<usize>>,
    campaigns: Vec<String>,
}

impl SendIndex {
    fn new(sends: &[Send]) -> Self {
        let mut index = SendIndex {
            by_message_id: HashMap::new(),
            by_envelope_id: HashMap::new(),
            by_recipient: HashMap::new(),
            campaigns: sends.iter().map(|s| s.campaign.clone()).collect(),
        };
        for (i, s) in sends.iter().enumerate() {
            if let Some(id) = &s.message_id {
                index.by_message_id.insert(id.clone(), i);
            }
            if let Some(id) = &s.envelope_id {
                index.by_envelope_id.insert(id.clone(), i);
            }
            index
                .by_recipient
                .entry(address::key_of(&s.recipient))
                .or_default()
                .push(i);
        }
        index
    }

    /// The send an event is about, if any (see the module doc for the order of evidence).
    fn find(&self, e: &Event) -> Option<usize> {
        if let Some(i) = e
            .original_message_id
            .as_ref()
            .and_then(|id| self.by_message_id.get(id))
        {
            return Some(*i);
        }
        if let Some(i) = e
            .envelope_id
            .as_ref()
            .and_then(|id| self.by_envelope_id.get(id))
        {
            return Some(*i);
        }
        let candidates = self.by_recipient.get(&address::key_of(&e.recipient))?;
        // The last send to the recipient, in the event's campaign when it names one.
        candidates
            .iter()
            .rev()
            .find(|&&i| e.campaign.as_ref().is_none_or(|c| *c == self.campaigns[i]))
            .copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send(recipient: &str, id: &str, env: &str, campaign: &str) -> Send {
        Send {
            recipient: recipient.into(),
            campaign: campaign.into(),
            status: "sent".into(),
            message_id: Some(id.into()),
            envelope_id: Some(env.into()),
            kind: None,
            reason: None,
            response: None,
        }
    }

    fn event(recipient: &str) -> Event {
        Event {
            recipient: recipient.into(),
            kind: Kind::Hard,
            reason: None,
            campaign: None,
            original_message_id: None,
            envelope_id: None,
            diagnostic: None,
            remote_mta: None,
        }
    }

    #[test]
    fn events_join_by_message_id_then_envelope_id_then_recipient() {
        let sends = vec![
            send("a@example.org", "m1@x", "e1", "may"),
            send("a@example.org", "m2@x", "e2", "june"),
        ];
        let index = SendIndex::new(&sends);
        let mut e = event("a@example.org");
        assert_eq!(index.find(&e), Some(1), "the last send to the recipient");
        e.campaign = Some("may".into());
        assert_eq!(index.find(&e), Some(0), "within the event's campaign");
        e.envelope_id = Some("e2".into());
        assert_eq!(index.find(&e), Some(1));
        e.original_message_id = Some(bare_id("<m1@x>"));
        assert_eq!(index.find(&e), Some(0));
        assert_eq!(index.find(&event("b@example.org")), None);
    }
}
