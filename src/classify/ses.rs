//! Amazon SES notifications (delivered by SNS as mail): JSON instead of a report.
//!
//! The message body is an SNS envelope whose `Message` is itself JSON with a
//! `notificationType` (or `eventType`) of Bounce, Complaint or Delivery. Each listed
//! recipient becomes one event, with SES's own status and diagnostic code.

use serde_json::Value;

use crate::classify::address;
use crate::classify::mime::Message;
use crate::record::{Event, Kind, Reason};

/// One recipient of a notification, before the reply classifier has judged it.
#[derive(Debug, Default)]
pub struct SesRecipient {
    pub event: Event,
    /// True for a Bounce recipient, whose kind and reason the reply classifier decides.
    pub needs_judging: bool,
}

/// The recipients of an SES notification, or `None` when the body is not one. None of our
/// own addresses (`is_own`) is ever a recipient (see `drop_own`).
pub fn read(msg: &Message, is_own: &dyn Fn(&str) -> bool) -> Option<Vec<SesRecipient>> {
    let start = msg.text.find('{')?;
    let body = &msg.text[start..];
    if !body.contains("notificationType") && !body.contains("eventType") {
        return None;
    }
    // Some relays fold the long SNS line; JSON strings cannot hold the inserted newlines.
    let outer = first_json_value(body).or_else(|| {
        first_json_value(
            &body
                .replace("\r\n ", "")
                .replace("\n ", "")
                .replace('\n', ""),
        )
    })?;
    let notification = match outer.get("Message").and_then(Value::as_str) {
        Some(inner) => serde_json::from_str::<Value>(inner).ok()?,
        None => outer,
    };
    let kind = notification
        .get("notificationType")
        .or_else(|| notification.get("eventType"))
        .and_then(Value::as_str)?;
    let original_message_id = notification
        .pointer("/mail/commonHeaders/messageId")
        .and_then(Value::as_str)
        .map(str::to_string);
    let mut found = match kind {
        "Bounce" => bounced(&notification),
        "Complaint" => complained(&notification),
        "Delivery" => delivered(&notification),
        _ => return None,
    };
    drop_own(&mut found, &notification, is_own);
    for r in &mut found {
        r.event.original_message_id = original_message_id.clone();
        r.event.format = Some("amazonses".into());
    }
    Some(found)
}

/// Removes the recipients that are our own addresses. When they were all ours, one event stays,
/// about the first other address the sent mail went to (`mail.destination`), or about nobody.
fn drop_own(found: &mut Vec<SesRecipient>, n: &Value, is_own: &dyn Fn(&str) -> bool) {
    let ours = |r: &SesRecipient| r.event.recipient.as_deref().is_some_and(is_own);
    if !found.iter().any(ours) {
        return;
    }
    if found.iter().all(ours) {
        found.truncate(1);
        found[0].event.recipient = n
            .pointer("/mail/destination")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(address::normalize)
            .find(|a| !is_own(a));
    } else {
        found.retain(|r| !ours(r));
    }
}

fn first_json_value(text: &str) -> Option<Value> {
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .next()?
        .ok()
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

fn bounced(n: &Value) -> Vec<SesRecipient> {
    let list = n
        .pointer("/bounce/bouncedRecipients")
        .and_then(Value::as_array);
    list.into_iter()
        .flatten()
        .filter_map(|r| {
            Some(SesRecipient {
                event: Event {
                    recipient: address::normalize(&text(r, "emailAddress")?),
                    action: text(r, "action").or_else(|| Some("failed".into())),
                    status: text(r, "status"),
                    diagnostic: text(r, "diagnosticCode")
                        .map(|d| crate::classify::fields::strip_type(&d).to_string()),
                    reporting_mta: text(n.get("bounce")?, "reportingMTA")
                        .map(|m| crate::classify::fields::strip_type(&m).to_string()),
                    remote_mta: text(n.get("bounce")?, "remoteMtaIp"),
                    ..Event::default()
                },
                needs_judging: true,
            })
        })
        .collect()
}

fn complained(n: &Value) -> Vec<SesRecipient> {
    let feedback = n
        .pointer("/complaint/complaintFeedbackType")
        .and_then(Value::as_str)
        .unwrap_or("abuse")
        .to_string();
    let (kind, reason) = if feedback.eq_ignore_ascii_case("not-spam") || feedback == "opt-out" {
        (Kind::Unsubscribe, Reason::Unsubscribe)
    } else {
        (Kind::Complaint, Reason::Complaint)
    };
    let list = n
        .pointer("/complaint/complainedRecipients")
        .and_then(Value::as_array);
    list.into_iter()
        .flatten()
        .filter_map(|r| {
            Some(SesRecipient {
                event: Event {
                    recipient: address::normalize(&text(r, "emailAddress")?),
                    kind: Some(kind),
                    reason: Some(reason),
                    diagnostic: Some(format!("feedback-type: {feedback}")),
                    ..Event::default()
                },
                needs_judging: false,
            })
        })
        .collect()
}

fn delivered(n: &Value) -> Vec<SesRecipient> {
    let response = n
        .pointer("/delivery/smtpResponse")
        .and_then(Value::as_str)
        .map(str::to_string);
    let list = n.pointer("/delivery/recipients").and_then(Value::as_array);
    list.into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(address::normalize)
        .map(|recipient| SesRecipient {
            event: Event {
                recipient: Some(recipient),
                kind: Some(Kind::Delivered),
                reason: Some(Reason::Delivered),
                action: Some("delivered".into()),
                smtp_code: response
                    .as_deref()
                    .and_then(crate::classify::reply::find_smtp_code),
                status: response
                    .as_deref()
                    .and_then(crate::classify::reply::find_status),
                diagnostic: response.clone(),
                reporting_mta: n
                    .pointer("/delivery/reportingMTA")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                ..Event::default()
            },
            needs_judging: false,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(body: &str) -> Message {
        Message {
            text: body.to_string(),
            ..Message::default()
        }
    }

    fn read_any(msg: &Message) -> Option<Vec<SesRecipient>> {
        read(msg, &|_| false)
    }

    #[test]
    fn our_own_address_is_never_a_recipient() {
        let c = r#"{"notificationType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"news@example.com"}]},"mail":{"destination":["news@example.com","jan@example.org"]}}"#;
        let ours = |a: &str| a.ends_with("@example.com");
        let found = read(&message(c), &ours).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].event.recipient.as_deref(), Some("jan@example.org"));
        assert_eq!(found[0].event.kind, Some(Kind::Complaint));
        let b = r#"{"notificationType":"Bounce","bounce":{"bouncedRecipients":[{"emailAddress":"news@example.com"},{"emailAddress":"ola@example.org"}]}}"#;
        let found = read(&message(b), &ours).unwrap();
        let who: Vec<_> = found.iter().map(|r| r.event.recipient.clone()).collect();
        assert_eq!(who, [Some("ola@example.org".to_string())]);
    }

    #[test]
    fn sns_wrapped_bounce() {
        let inner = r#"{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bouncedRecipients":[{"emailAddress":"a@b.example","action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"}]},"mail":{"commonHeaders":{"messageId":"<x@y.example>"}}}"#;
        let outer = serde_json::json!({"Type": "Notification", "Message": inner}).to_string();
        let found = read_any(&message(&outer)).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].event.recipient.as_deref(), Some("a@b.example"));
        assert_eq!(
            found[0].event.diagnostic.as_deref(),
            Some("550 5.1.1 user unknown")
        );
        assert_eq!(
            found[0].event.original_message_id.as_deref(),
            Some("<x@y.example>")
        );
        assert!(found[0].needs_judging);
    }

    #[test]
    fn complaint_and_delivery() {
        let c = r#"{"notificationType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"c@d.example"}]}}"#;
        assert_eq!(
            read_any(&message(c)).unwrap()[0].event.kind,
            Some(Kind::Complaint)
        );
        let d = r#"{"notificationType":"Delivery","delivery":{"recipients":["e@f.example"],"smtpResponse":"250 2.6.0 Message received"}}"#;
        let found = read_any(&message(d)).unwrap();
        assert_eq!(found[0].event.kind, Some(Kind::Delivered));
        assert_eq!(found[0].event.status.as_deref(), Some("2.6.0"));
    }
}
