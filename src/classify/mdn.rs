//! RFC 8098 message disposition notifications (read receipts).
//!
//! Only `displayed` means "read". `deleted`, `dispatched`, `processed` and failures keep their
//! disposition in `reason`/`diagnostic` and are never counted as a bounce.

use crate::classify::address;
use crate::classify::fields::{parse_groups, strip_type};
use crate::classify::mime::{Message, PartRole};
use crate::record::{Event, Kind, Reason};

/// The event of a read receipt, or `None` when the message has no disposition part. The
/// recipient is the first of Final-Recipient, Original-Recipient, the receipt's From and the
/// returned message's To that is not one of our own addresses (`is_own`).
pub fn read(msg: &Message, is_own: &dyn Fn(&str) -> bool) -> Option<Event> {
    let part = msg.parts_with(PartRole::DispositionNotification).next()?;
    let groups = parse_groups(&part.text());
    let get = |name: &str| groups.iter().find_map(|g| g.get(name)).map(str::to_string);
    let field_address =
        |v: String| address::normalize(strip_type(&v)).or_else(|| address::find_first(&v));
    let returned_to = || {
        msg.returned_headers_ref().into_iter().flat_map(|h| {
            h.get_all("To")
                .flat_map(address::find_all)
                .collect::<Vec<_>>()
        })
    };
    let recipient = get("Final-Recipient")
        .and_then(field_address)
        .into_iter()
        .chain(get("Original-Recipient").and_then(field_address))
        .chain(msg.headers.get("From").and_then(address::find_first))
        .chain(returned_to())
        .find(|a| !is_own(a));
    let disposition = get("Disposition").unwrap_or_default();
    let displayed = disposition_type(&disposition) == "displayed";
    Some(Event {
        recipient,
        kind: Some(if displayed {
            Kind::Read
        } else {
            Kind::NotBounce
        }),
        reason: Some(if displayed {
            Reason::Read
        } else {
            Reason::Undefined
        }),
        diagnostic: Some(format!("disposition: {}", disposition.trim())),
        original_message_id: get("Original-Message-ID").map(|v| v.trim().to_string()),
        // Reporting-UA is "host; product": only the host belongs in reporting_mta.
        reporting_mta: get("Reporting-UA")
            .and_then(|v| v.split(';').next().map(|h| h.trim().to_string()))
            .filter(|h| !h.is_empty()),
        action: Some(disposition_type(&disposition).to_string()),
        format: Some("mdn".into()),
        ..Event::default()
    })
}

/// `manual-action/MDN-sent-manually; displayed/error` → `displayed`.
fn disposition_type(disposition: &str) -> &str {
    disposition
        .rsplit(';')
        .next()
        .unwrap_or("")
        .split('/')
        .next()
        .unwrap_or("")
        .trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(disposition: &str) -> Message {
        let raw = format!(
            "From: Jan <jan@example.org>\nTo: news@example.com\nSubject: Read: offer\n\
Content-Type: multipart/report; report-type=disposition-notification; boundary=b\n\n--b\n\
Content-Type: text/plain\n\nYour message was displayed.\n--b\n\
Content-Type: message/disposition-notification\n\nReporting-UA: pc.example.org; Mail 1.0\n\
Final-Recipient: rfc822; jan@example.org\nOriginal-Message-ID: <offer-1@example.com>\n\
Disposition: manual-action/MDN-sent-manually; {disposition}\n--b--\n"
        );
        let mail = mailparse::parse_mail(raw.as_bytes()).unwrap();
        Message::from_mail(&mail)
    }

    fn read_all(msg: &Message) -> Option<Event> {
        read(msg, &|_| false)
    }

    #[test]
    fn our_own_address_is_never_the_reader() {
        let msg = receipt("displayed");
        let ours = |a: &str| a == "jan@example.org";
        assert_eq!(read(&msg, &ours).unwrap().recipient, None);
        assert_eq!(read(&msg, &ours).unwrap().kind, Some(Kind::Read));
    }

    #[test]
    fn displayed_is_read_and_links_back() {
        let event = read_all(&receipt("displayed")).unwrap();
        assert_eq!(event.kind, Some(Kind::Read));
        assert_eq!(event.recipient.as_deref(), Some("jan@example.org"));
        assert_eq!(
            event.original_message_id.as_deref(),
            Some("<offer-1@example.com>")
        );
        assert_eq!(event.reporting_mta.as_deref(), Some("pc.example.org"));
    }

    #[test]
    fn other_dispositions_are_never_a_bounce() {
        let event = read_all(&receipt("deleted")).unwrap();
        assert_eq!(event.kind, Some(Kind::NotBounce));
        assert_eq!(event.action.as_deref(), Some("deleted"));
    }

    #[test]
    fn disposition_type_is_after_the_semicolon() {
        assert_eq!(
            disposition_type("manual-action/MDN-sent-manually; displayed"),
            "displayed"
        );
        assert_eq!(
            disposition_type("automatic-action/MDN-sent-automatically; deleted"),
            "deleted"
        );
        assert_eq!(disposition_type(""), "");
    }
}
