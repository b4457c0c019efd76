//! Status codes for reports that give none.
//!
//! Many text bounces carry no RFC 3463 code at all. Rather than leave `status` empty, we use
//! the internal codes of sisimai, the de-facto reference for bounce classification: class
//! (4 or 5), subject `0` ("other or undefined", which RFC 3463 allows), and a detail in the
//! 9NN range that names the reason. Tools that already read sisimai output understand them,
//! and `X.0.9NN` can never be mistaken for a code a server sent. A code found in the report
//! always wins over these.

use crate::record::Reason;

/// (reason, detail number): the detail of `X.0.9NN` for each reason that has one.
const INTERNAL_DETAILS: &[(Reason, u16)] = &[
    (Reason::Undefined, 900),
    (Reason::OnHold, 901),
    (Reason::SyntaxError, 902),
    (Reason::Suppressed, 903),
    (Reason::NoRelaying, 909),
    (Reason::Filtered, 910),
    (Reason::UserUnknown, 911),
    (Reason::HostUnknown, 912),
    (Reason::HasMoved, 916),
    (Reason::Rejected, 918),
    (Reason::Suspended, 921),
    (Reason::MailboxFull, 922),
    (Reason::ExceedLimit, 923),
    (Reason::AuthFailure, 926),
    (Reason::SystemError, 930),
    (Reason::SystemFull, 931),
    (Reason::NotAccept, 932),
    (Reason::MessageTooBig, 934),
    (Reason::MailerError, 939),
    (Reason::NetworkError, 944),
    (Reason::TooManyConnections, 945),
    (Reason::RateLimited, 946),
    (Reason::Expired, 947),
    (Reason::ContentError, 960),
    (Reason::SecurityError, 970),
    (Reason::Blocked, 971),
    (Reason::PolicyViolation, 972),
    (Reason::RequirePtr, 973),
    (Reason::NotCompliantRfc, 974),
    (Reason::BadReputation, 975),
    (Reason::FailedStarttls, 976),
    (Reason::SpamDetected, 980),
    (Reason::VirusDetected, 981),
];

/// Reasons that only exist as permanent failures: a temporary code is never made for them.
const PERMANENT_ONLY: &[Reason] = &[Reason::UserUnknown, Reason::HostUnknown, Reason::HasMoved];

/// The internal code for `reason`, temporary (`4.0.9NN`) or permanent (`5.0.9NN`).
pub fn internal_code(reason: Reason, temporary: bool) -> Option<String> {
    let (_, detail) = INTERNAL_DETAILS.iter().find(|(r, _)| *r == reason)?;
    let class = if temporary && !PERMANENT_ONLY.contains(&reason) {
        4
    } else {
        5
    };
    // sisimai numbers a temporary "filtered" differently from the permanent one.
    let detail = if class == 4 && reason == Reason::Filtered {
        924
    } else {
        *detail
    };
    Some(format!("{class}.0.{detail}"))
}

/// DSN Status values that say less than a code quoted in the server's reply: "expired"
/// (4.4.7) and "other security" (4.7.0) hide the cause, X.3.x is a catch-all for system
/// trouble, and X.5.1/2/4/5 are protocol complaints about the command, not the message.
const VAGUE_REPORT_CODES: &[&str] = &["4.4.7", "4.7.0", "5.3.", "X.5.1", "X.5.2", "X.5.4", "X.5.5"];

/// Chooses between the Status a report states and the code quoted in the server's reply
/// (`in_reply`), using the SMTP reply code's class as the tie-breaker. The report wins unless
/// it is vaguer than the reply.
pub fn prefer(
    reported: Option<&str>,
    in_reply: Option<&str>,
    reply_code: Option<u16>,
) -> Option<String> {
    let (reported, quoted) = match (reported, in_reply) {
        (None, q) => return q.map(str::to_string),
        (r, None) => return r.map(str::to_string),
        (Some(r), Some(q)) => (r, q),
    };
    let pick = |s: &str| Some(s.to_string());
    if reported == quoted {
        return pick(reported);
    }
    if let Some(code) = reply_code {
        let class = (b'0' + (code / 100) as u8) as char;
        if reported.starts_with(class) != quoted.starts_with(class) {
            return pick(if reported.starts_with(class) {
                reported
            } else {
                quoted
            });
        }
    }
    let says_nothing = |s: &str| s.ends_with(".0.0");
    // A report's Status field is any text (SES passes its JSON on): `get`, never `[1..]`.
    let has_zero = |s: &str| s.get(1..).is_some_and(|rest| rest.contains(".0"));
    if says_nothing(reported) {
        return pick(if says_nothing(quoted) {
            reported
        } else {
            quoted
        });
    }
    if has_zero(reported) && !has_zero(quoted) {
        return pick(quoted);
    }
    if says_nothing(quoted) {
        return pick(reported);
    }
    if is_vague(reported) {
        return pick(quoted);
    }
    if reported == "5.1.1" {
        // "user unknown" stands unless the reply is more specific about something else.
        return pick(if has_zero(quoted) || quoted.starts_with("5.5.") {
            reported
        } else {
            quoted
        });
    }
    pick(reported)
}

/// True for a report Status that hides the cause (`VAGUE_REPORT_CODES`).
pub fn is_vague(reported: &str) -> bool {
    VAGUE_REPORT_CODES
        .iter()
        .any(|v| match v.strip_prefix('X') {
            Some(rest) => reported.get(1..).is_some_and(|r| r.starts_with(rest)),
            None => reported.starts_with(v),
        })
}

/// True for a code made here rather than sent by a server.
pub fn is_internal(status: &str) -> bool {
    let parts: Vec<&str> = status.split('.').collect();
    parts.len() == 3 && parts[1] == "0" && parts[2].len() == 3 && parts[2].starts_with('9')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reply_code_wins_over_a_vague_report_status() {
        assert_eq!(
            prefer(Some("4.4.7"), Some("4.7.1"), Some(450)).as_deref(),
            Some("4.7.1")
        );
        assert_eq!(
            prefer(Some("5.0.0"), Some("5.1.1"), None).as_deref(),
            Some("5.1.1")
        );
        assert_eq!(
            prefer(Some("5.1.1"), Some("5.7.1"), Some(550)).as_deref(),
            Some("5.7.1")
        );
        assert_eq!(
            prefer(Some("4.5.0"), Some("5.5.0"), Some(550)).as_deref(),
            Some("5.5.0")
        );
        assert_eq!(
            prefer(Some("5.2.2"), Some("5.0.0"), None).as_deref(),
            Some("5.2.2")
        );
        assert_eq!(prefer(Some("5.1.1"), None, None).as_deref(), Some("5.1.1"));
        assert_eq!(prefer(None, Some("4.2.2"), None).as_deref(), Some("4.2.2"));
    }

    #[test]
    fn a_status_that_is_not_a_code_is_compared_without_panicking() {
        // An SES notification's "status" is whatever its JSON says.
        assert_eq!(prefer(Some("é"), Some("5.1.1"), None).as_deref(), Some("é"));
        assert!(!is_vague("é"));
    }

    #[test]
    fn internal_codes_name_the_reason_and_the_class() {
        assert_eq!(
            internal_code(Reason::UserUnknown, false).as_deref(),
            Some("5.0.911")
        );
        assert_eq!(
            internal_code(Reason::UserUnknown, true).as_deref(),
            Some("5.0.911")
        );
        assert_eq!(
            internal_code(Reason::Expired, true).as_deref(),
            Some("4.0.947")
        );
        assert_eq!(
            internal_code(Reason::Filtered, true).as_deref(),
            Some("4.0.924")
        );
        assert_eq!(internal_code(Reason::Delivered, false), None);
        assert!(is_internal("5.0.911"));
        assert!(!is_internal("5.1.1"));
    }
}
