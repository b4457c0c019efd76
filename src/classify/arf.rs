//! RFC 5965 feedback reports (ARF): a recipient complained about our mail.
//!
//! `abuse`, `fraud`, `virus` and the other types become `complaint`; `opt-out` (and the older
//! `unsubscribe`) become `unsubscribe`. The recipient is the Original-Rcpt-To (one event per
//! address), else the Removal-Recipient, else the To of the returned message.

use crate::classify::address;
use crate::classify::fields::parse_groups;
use crate::classify::mime::{Message, PartRole};
use crate::record::{Event, Kind, Reason};

/// The events of a feedback report, or `None` when the message has no feedback-report part.
pub fn read(msg: &Message) -> Option<Vec<Event>> {
    let part = msg.parts_with(PartRole::FeedbackReport).next()?;
    let groups = parse_groups(&part.text());
    let get = |name: &str| groups.iter().find_map(|g| g.get(name)).map(str::to_string);
    let feedback_type = get("Feedback-Type").unwrap_or_else(|| "abuse".into());
    let (kind, reason) = kind_of(&feedback_type);

    let mut recipients: Vec<String> = groups
        .iter()
        .flat_map(|g| {
            g.get_all("Original-Rcpt-To")
                .chain(g.get_all("Removal-Recipient"))
        })
        .filter_map(address::find_first)
        .collect();
    if recipients.is_empty()
        && let Some(returned) = msg.returned_headers()
    {
        recipients.extend(returned.get_all("To").flat_map(address::find_all));
    }
    recipients.dedup();

    let template = Event {
        kind: Some(kind),
        reason: Some(reason),
        diagnostic: Some(format!("feedback-type: {feedback_type}")),
        reporting_mta: get("Reporting-MTA")
            .map(|v| crate::classify::fields::strip_type(&v).to_string()),
        format: Some("arf".into()),
        ..Event::default()
    };
    if recipients.is_empty() {
        return Some(vec![template]);
    }
    Some(
        recipients
            .into_iter()
            .map(|r| Event {
                recipient: Some(r),
                ..template.clone()
            })
            .collect(),
    )
}

/// Feedback-Type → (kind, reason).
fn kind_of(feedback_type: &str) -> (Kind, Reason) {
    match feedback_type.trim().to_ascii_lowercase().as_str() {
        "opt-out" | "optout" | "unsubscribe" => (Kind::Unsubscribe, Reason::Unsubscribe),
        _ => (Kind::Complaint, Reason::Complaint),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feedback_types_map_to_kinds() {
        assert_eq!(kind_of("abuse").0, Kind::Complaint);
        assert_eq!(kind_of("auth-failure").0, Kind::Complaint);
        assert_eq!(kind_of("opt-out").0, Kind::Unsubscribe);
    }
}
