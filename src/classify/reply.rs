//! TEMPORARY STUB (being replaced by the real reply classifier).
use crate::record::{Kind, Reason};
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub kind: Kind,
    pub reason: Reason,
}
pub fn classify_reply(smtp_code: Option<u16>, status: Option<&str>, text: &str) -> Verdict {
    let reason = reason_from_text(text)
        .or_else(|| status.and_then(reason_from_status))
        .unwrap_or(Reason::Undefined);
    let temp =
        smtp_code.is_some_and(|c| c / 100 == 4) || status.is_some_and(|s| s.starts_with('4'));
    let kind = if temp && reason.default_kind() == Kind::Hard {
        Kind::Soft
    } else {
        reason.default_kind()
    };
    Verdict { kind, reason }
}
pub fn reason_from_text(text: &str) -> Option<Reason> {
    let t = text.to_ascii_lowercase();
    if t.contains("user unknown") || t.contains("no such user") {
        Some(Reason::UserUnknown)
    } else if t.contains("full") {
        Some(Reason::MailboxFull)
    } else {
        None
    }
}
pub fn reason_from_status(status: &str) -> Option<Reason> {
    match &status.get(1..) {
        Some(".1.1") => Some(Reason::UserUnknown),
        Some(".2.2") => Some(Reason::MailboxFull),
        _ => None,
    }
}
pub fn find_status(text: &str) -> Option<String> {
    let re = regex::Regex::new(r"\b([245]\.\d{1,3}\.\d{1,3})\b").unwrap();
    re.captures(text).map(|c| c[1].to_string())
}
pub fn find_smtp_code(text: &str) -> Option<u16> {
    let re = regex::Regex::new(r"\b([245]\d\d)[ -]").unwrap();
    re.captures(text).and_then(|c| c[1].parse().ok())
}
