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
/// None of our own addresses (`is_own`) is ever the recipient: when the report names only
/// ours, the returned message's To is asked next, and when that is ours too the event has no
/// recipient (the caller may still find one in a VERP address).
pub fn read(msg: &Message, is_own: &dyn Fn(&str) -> bool) -> Option<Vec<Event>> {
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
        .filter(|a| !is_own(a))
        .collect();
    if recipients.is_empty()
        && let Some(returned) = msg.returned_headers_ref()
    {
        recipients.extend(
            returned
                .get_all("To")
                .flat_map(address::find_all)
                .filter(|a| !is_own(a)),
        );
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

    fn report(feedback: &str, returned: &str) -> Message {
        let raw = format!(
            "From: fbl@isp.example\nTo: abuse@example.com\nSubject: FW: offer\n\
Content-Type: multipart/report; report-type=feedback-report; boundary=b\n\n--b\n\
Content-Type: text/plain\n\nA complaint.\n--b\nContent-Type: message/feedback-report\n\n{feedback}\n\
--b\nContent-Type: text/rfc822-headers\n\n{returned}\n--b--\n"
        );
        let mail = mailparse::parse_mail(raw.as_bytes()).unwrap();
        Message::from_mail(&mail)
    }

    #[test]
    fn every_original_rcpt_to_is_a_complaint() {
        let msg = report(
            "Feedback-Type: abuse\nOriginal-Rcpt-To: a@one.example\nOriginal-Rcpt-To: <b@two.example>",
            "From: news@example.com\nTo: someone@else.example\n",
        );
        let events = read(&msg, &|_| false).unwrap();
        let who: Vec<_> = events
            .iter()
            .map(|e| e.recipient.clone().unwrap())
            .collect();
        assert_eq!(who, ["a@one.example", "b@two.example"]);
        assert!(events.iter().all(|e| e.kind == Some(Kind::Complaint)));
    }

    #[test]
    fn without_original_rcpt_to_the_returned_to_is_the_recipient() {
        let msg = report(
            "Feedback-Type: opt-out",
            "From: news@example.com\nTo: Jan <jan@example.org>\n",
        );
        let events = read(&msg, &|_| false).unwrap();
        assert_eq!(events[0].recipient.as_deref(), Some("jan@example.org"));
        assert_eq!(events[0].kind, Some(Kind::Unsubscribe));
    }

    #[test]
    fn our_own_address_is_never_the_recipient() {
        let msg = report(
            "Feedback-Type: abuse\nOriginal-Rcpt-To: news@example.com",
            "From: news@example.com\nTo: Jan <jan@example.org>\n",
        );
        let ours = |a: &str| a.ends_with("@example.com");
        let events = read(&msg, &ours).unwrap();
        assert_eq!(events[0].recipient.as_deref(), Some("jan@example.org"));
        let all = |_: &str| true;
        let events = read(&msg, &all).unwrap();
        assert_eq!(events[0].recipient, None);
        assert_eq!(events[0].kind, Some(Kind::Complaint));
    }

    #[test]
    fn feedback_types_map_to_kinds() {
        assert_eq!(kind_of("abuse").0, Kind::Complaint);
        assert_eq!(kind_of("auth-failure").0, Kind::Complaint);
        assert_eq!(kind_of("opt-out").0, Kind::Unsubscribe);
    }
}
