//! RFC 3464 delivery-status reports: one event per per-recipient group.
//!
//! The report is the most trustworthy source there is, so its recipient, action and status
//! are kept as written; only the reason comes from the reply classifier, which reads the
//! Diagnostic-Code (and, when that says nothing, the human-readable text next to it).

use crate::classify::address;
use crate::classify::fields::{FieldGroup, parse_groups, strip_type};
use crate::classify::mime::{Message, PartRole};
use crate::record::Event;

/// What the per-message group says, shared by every recipient of the report.
#[derive(Debug, Default)]
struct PerMessage {
    reporting_mta: Option<String>,
    envelope_id: Option<String>,
}

/// One per-recipient group, as written in the report.
#[derive(Debug, Default, Clone)]
pub struct RecipientReport {
    /// `None` for a group that has an Action or Status but no recipient field (some gateways
    /// write no Final-Recipient); the caller may know the recipient from elsewhere (VERP).
    pub recipient: Option<String>,
    pub action: Option<String>,
    pub status: Option<String>,
    /// The reporting MTA's own words beside the Status code ("5.2.1 (mailbox disabled, not
    /// accepting messages)"), without the parentheses.
    pub status_note: Option<String>,
    pub diagnostic: Option<String>,
    /// The Diagnostic-Code type: `smtp` for a server's reply, `x-unix` for a local mailer's
    /// exit status, and so on.
    pub diagnostic_type: Option<String>,
    pub remote_mta: Option<String>,
    pub reporting_mta: Option<String>,
    pub envelope_id: Option<String>,
}

/// The per-recipient groups of every delivery-status part of the message.
pub fn recipient_reports(msg: &Message) -> Vec<RecipientReport> {
    let mut reports = Vec::new();
    for part in msg.parts_with(PartRole::DeliveryStatus) {
        read_part(&part.text(), &mut reports);
    }
    if reports.is_empty() && has_inline_fields(&msg.text) {
        read_part(&msg.text, &mut reports);
    }
    reports
}

/// True when readable text carries delivery-status fields itself (a report whose MIME
/// structure was lost, or an MTA that writes the fields into its text part).
fn has_inline_fields(text: &str) -> bool {
    let mut recipient = false;
    let mut action_or_status = false;
    let starts = |line: &str, prefix: &str| {
        line.as_bytes()
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
    };
    // Split at LF only: a line's CR (which `str::lines` would drop) is at its end, past
    // every prefix looked for.
    for line in text.split('\n') {
        let line = line.trim_start();
        recipient |= starts(line, "final-recipient:");
        action_or_status |= starts(line, "action:") || starts(line, "status:");
        if recipient && action_or_status {
            return true;
        }
    }
    false
}

/// Reads delivery-status fields from a part's text. Also used on text/plain parts that carry
/// the fields without the proper content type.
pub fn read_part(text: &str, out: &mut Vec<RecipientReport>) {
    let groups = parse_groups(text);
    let mut per_message = PerMessage::default();
    for group in &groups {
        if let Some(v) = group.get("Reporting-MTA") {
            per_message.reporting_mta = Some(strip_type(v).to_string());
        }
        if let Some(v) = group.get("Original-Envelope-Id") {
            per_message.envelope_id = Some(v.trim().to_string());
        }
        if let Some(report) = recipient_group(group, &per_message) {
            out.push(report);
        }
    }
}

fn recipient_group(group: &FieldGroup, per_message: &PerMessage) -> Option<RecipientReport> {
    let recipient = [
        "Final-Recipient",
        "Original-Recipient",
        "X-Actual-Recipient",
    ]
    .iter()
    .filter_map(|name| group.get(name))
    .find_map(|v| address::normalize(strip_type(v)).or_else(|| address::find_first(v)));
    if recipient.is_none() && group.get("Action").is_none() && group.get("Status").is_none() {
        // The per-message group, or something else that reports on no recipient.
        return None;
    }
    let clean = |v: &str| {
        let v = collapse_whitespace(v);
        (!v.is_empty()).then_some(v)
    };
    Some(RecipientReport {
        recipient,
        action: group
            .get("Action")
            .map(|a| a.trim().to_ascii_lowercase())
            .map(|a| a.split_whitespace().next().unwrap_or("").to_string()),
        status: group
            .get("Status")
            .and_then(|s| s.split_whitespace().next())
            .map(str::to_string)
            .filter(|s| s.len() >= 5 && s.as_bytes()[1] == b'.'),
        status_note: group
            .get("Status")
            .and_then(|s| s.split_once('('))
            .map(|(_, note)| note.trim_end().trim_end_matches(')').trim().to_string())
            .filter(|note| !note.is_empty()),
        diagnostic: group
            .get("Diagnostic-Code")
            .and_then(|d| clean(strip_type(d))),
        diagnostic_type: group
            .get("Diagnostic-Code")
            .and_then(|d| d.split_once(';'))
            .map(|(t, _)| t.trim().to_ascii_lowercase())
            .filter(|t| t.len() < 16),
        remote_mta: group.get("Remote-MTA").and_then(|d| clean(strip_type(d))),
        reporting_mta: per_message.reporting_mta.clone(),
        envelope_id: per_message.envelope_id.clone(),
    })
}

/// Joins the lines of a folded field or multi-line diagnostic into one trimmed line.
pub fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Fills the DSN fields of an event.
pub fn apply(report: &RecipientReport, event: &mut Event) {
    event.recipient = report.recipient.clone();
    event.action = report.action.clone();
    event.status = report.status.clone();
    event.diagnostic = report.diagnostic.clone();
    event.remote_mta = report.remote_mta.clone();
    event.reporting_mta = report.reporting_mta.clone();
    event.envelope_id = report.envelope_id.clone();
    event.format = Some("rfc3464".into());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_recipient_group() {
        let text = "Reporting-MTA: dns; mx.example.org\nOriginal-Envelope-Id: abc123\n\n\
Final-Recipient: rfc822; a@b.example\nAction: failed\nStatus: 5.1.1\nRemote-MTA: dns; mx.b.example\nDiagnostic-Code: smtp; 550 5.1.1 <a@b.example>:\n  Recipient address rejected: User unknown\n\n\
Original-Recipient: rfc822;C@D.Example\nFinal-Recipient: rfc822; c@d.example\nAction: delayed\nStatus: 4.4.1\n";
        let mut out = Vec::new();
        read_part(text, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].recipient.as_deref(), Some("a@b.example"));
        assert_eq!(out[0].status.as_deref(), Some("5.1.1"));
        assert_eq!(
            out[0].diagnostic.as_deref(),
            Some("550 5.1.1 <a@b.example>: Recipient address rejected: User unknown")
        );
        assert_eq!(out[0].reporting_mta.as_deref(), Some("mx.example.org"));
        assert_eq!(out[0].envelope_id.as_deref(), Some("abc123"));
        assert_eq!(out[1].recipient.as_deref(), Some("c@d.example"));
        assert_eq!(out[1].action.as_deref(), Some("delayed"));
        assert_eq!(out[0].status_note, None);
        let mut out = Vec::new();
        read_part(
            "Final-Recipient: rfc822; a@b.example\nAction: failed\nStatus: 5.2.1 (mailbox disabled, not accepting messages)\n",
            &mut out,
        );
        assert_eq!(out[0].status.as_deref(), Some("5.2.1"));
        assert_eq!(
            out[0].status_note.as_deref(),
            Some("mailbox disabled, not accepting messages")
        );
    }

    #[test]
    fn a_group_without_a_recipient_is_kept_when_it_reports_something() {
        let mut out = Vec::new();
        read_part(
            "Reporting-MTA: dns; gw.example.net\n\nAction: failed\nStatus: 5.1.1\n",
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].recipient, None);
        assert_eq!(out[0].status.as_deref(), Some("5.1.1"));
        assert_eq!(out[0].reporting_mta.as_deref(), Some("gw.example.net"));
    }
}
