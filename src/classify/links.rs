//! Links from a report back to what `send` sent: the original Message-ID and campaign from
//! the returned headers, and the recipient encoded in a VERP return address.

use crate::classify::address;
use crate::classify::mime::{Headers, Message};

/// The header `send` writes the campaign name into.
pub const CAMPAIGN_HEADER: &str = "X-Bouncekit-Campaign";

/// Headers of the report that carry the address it was delivered to, where a VERP return
/// path shows up.
const DELIVERY_HEADERS: &[&str] = &[
    "To",
    "Delivered-To",
    "X-Original-To",
    "Envelope-To",
    "X-Envelope-To",
];

/// What the returned copy of the original message says about the send.
#[derive(Debug, Default, Clone)]
pub struct OriginalLinks {
    pub message_id: Option<String>,
    pub campaign: Option<String>,
    /// The recipients the original was addressed to (its To and Cc), a last resort.
    pub to: Vec<String>,
    /// The original's sender addresses (never a failed recipient).
    pub senders: Vec<String>,
}

pub fn original_links(msg: &Message) -> OriginalLinks {
    let inline;
    let h = match msg.returned_headers_ref() {
        Some(h) => h,
        None => {
            inline = inline_headers(&msg.text);
            match &inline {
                Some(h) => h,
                None => return OriginalLinks::default(),
            }
        }
    };
    if h.get("To").is_none() && h.get("Message-ID").is_none() {
        return OriginalLinks::default();
    }
    OriginalLinks {
        message_id: h.get("Message-ID").map(|v| v.trim().to_string()),
        campaign: h.get(CAMPAIGN_HEADER).map(|v| v.trim().to_string()),
        to: h
            .get_all("To")
            .chain(h.get_all("Cc"))
            .flat_map(address::find_all)
            .collect(),
        senders: ["From", "Return-Path", "Sender", "Reply-To"]
            .iter()
            .flat_map(|n| h.get_all(n))
            .flat_map(address::find_all)
            .collect(),
    }
}

/// The original's headers when the report quotes them inline in its text (after a marker
/// line) rather than attaching them.
fn inline_headers(text: &str) -> Option<Headers> {
    let (_, returned) = crate::classify::text::split_at_returned(text);
    if !returned.trim().is_empty() {
        let block = crate::classify::mime::skip_leading_blank_lines(returned.as_bytes());
        let headers = Headers::parse(block);
        if headers.get("To").is_some() || headers.get("Message-ID").is_some() {
            return Some(headers);
        }
    }
    let mut offset = 0;
    let mut headers = None;
    for line in text.split_inclusive('\n') {
        let starts = |prefix: &str| {
            line.as_bytes()
                .get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
        };
        if (starts("message-id:") || starts("return-path:") || starts("received:"))
            && headers.is_none()
        {
            headers = Some(Headers::parse(&text.as_bytes()[offset..]));
            break;
        }
        offset += line.len();
    }
    headers.filter(|h| !h.is_empty())
}

/// A VERP base address split once: `bounces@example.com` → ("bounces", "example.com").
#[derive(Debug, Clone)]
pub struct Verp {
    local: String,
    domain: String,
}

impl Verp {
    pub fn new(base: &str) -> Option<Verp> {
        let base = address::normalize(base)?;
        let (local, domain) = address::split(&base);
        Some(Verp {
            local: local.to_ascii_lowercase(),
            domain: domain.to_string(),
        })
    }

    /// `bounces+jan=example.org@example.com` → `jan@example.org`.
    pub fn decode(&self, candidate: &str) -> Option<String> {
        let candidate = address::normalize(candidate)?;
        let (local, domain) = address::split(&candidate);
        if !domain.eq_ignore_ascii_case(&self.domain) {
            return None;
        }
        let lower = local.to_ascii_lowercase();
        let encoded = lower.strip_prefix(&self.local)?.strip_prefix(['+', '-'])?;
        let encoded = &local[local.len() - encoded.len()..];
        let eq = encoded.rfind('=')?;
        address::normalize(&format!("{}@{}", &encoded[..eq], &encoded[eq + 1..]))
    }
}

/// The recipient named by a VERP address in the report's delivery headers.
pub fn verp_recipient(msg: &Message, verps: &[Verp]) -> Option<String> {
    if verps.is_empty() {
        return None;
    }
    DELIVERY_HEADERS
        .iter()
        .flat_map(|h| msg.headers.get_all(h))
        .flat_map(address::find_all)
        .find_map(|a| verps.iter().find_map(|v| v.decode(&a)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verp_addresses_decode_to_the_recipient() {
        let verp = Verp::new("bounces@example.com").unwrap();
        assert_eq!(
            verp.decode("bounces+jan=example.org@example.com")
                .as_deref(),
            Some("jan@example.org")
        );
        assert_eq!(
            verp.decode("<Bounces+Jan.K=Example.ORG@EXAMPLE.com>")
                .as_deref(),
            Some("Jan.K@example.org")
        );
        assert_eq!(verp.decode("bounces@example.com"), None);
        assert_eq!(verp.decode("bounces+jan=example.org@other.example"), None);
    }
}
