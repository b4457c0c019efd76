//! Is this message a delivery failure report at all? Sender, subject and wording tell, before
//! any recogniser tries to read recipients out of it. Ordinary mail must never pass.

use std::sync::LazyLock;

use regex::Regex;

use crate::classify::mime::Message;

/// Subjects of delivery failure reports (any language the big MTAs use), matched anywhere in
/// the subject, case-insensitively.
const BOUNCE_SUBJECTS: &[&str] = &[
    r"undeliver",
    r"undelivered mail",
    r"returned mail",
    r"mail delivery (failed|failure|problem|subsystem)",
    r"delivery (status notification|failure|failed|problem|notification|report)",
    r"failure notice",
    r"non[- ]?delivery",
    r"could not (be )?deliver",
    r"delivery has failed",
    r"returned to sender",
    r"message not delivered",
    r"mail system error",
    r"rejected:",
    r"warning: could not send message",
    r"nondeliverable",
    r"permanent (error|failure)",
    r"unzustellbar",
    r"non remis",
    r"no entregado",
    r"niedostarczon",
    r"nedoru[cč]itel",
    r"kan ikke leveres",
    r"mail could not be delivered",
    r"unable to deliver",
    r"delivery notification",
    r"message you sent",
    r"\bbounce",
    r"エラー",
    r"未達",
    r"配信不能",
];

static BOUNCE_SUBJECT_RE: LazyLock<Regex> =
    LazyLock::new(|| super::any_of_ignoring_case(BOUNCE_SUBJECTS));

/// Display names and local parts of the systems that send bounces.
const BOUNCE_SENDERS: &[&str] = &[
    "mailer-daemon",
    "mail delivery",
    "postmaster",
    "mail administrator",
    "mail-daemon",
    "maildaemon",
    "mailer daemon",
    "delivery status notification",
    "mail delivery system",
    "mail delivery subsystem",
    "microsoftexchange",
    "mdaemon",
    "bounce",
];

/// Phrases that say "your message was not delivered" in a report whose sender and subject
/// do not (provider notices sent from no-reply addresses, mobile carriers).
const FAILURE_PHRASES: &[&str] = &[
    "could not be delivered",
    "was not delivered",
    "couldn't be delivered",
    "cannot be delivered",
    "undeliverable",
    "delivery has failed",
    "delivery failed",
    "invalid user address",
    "no such user",
    "user unknown",
    "mailbox is full",
    "送信できませんでした",
    "配信できませんでした",
];

pub fn says_delivery_failed(report: &str) -> bool {
    let head = &report[..floor_boundary(report, 4096)].to_lowercase();
    FAILURE_PHRASES.iter().any(|p| head.contains(p))
}

fn floor_boundary(s: &str, max: usize) -> usize {
    let mut i = max.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// True when the sender or subject says "delivery failure report".
pub fn looks_like_bounce(msg: &Message) -> bool {
    let from = msg.headers.get("From").unwrap_or("").to_ascii_lowercase();
    let from_system = BOUNCE_SENDERS.iter().any(|s| from.contains(s));
    let subject_says = msg
        .headers
        .get("Subject")
        .is_some_and(|s| BOUNCE_SUBJECT_RE.is_match(s));
    from_system || subject_says
}

/// Builds this module's tables now (see `classify::warm_up`).
pub(crate) fn warm_up() {
    LazyLock::force(&BOUNCE_SUBJECT_RE);
}
