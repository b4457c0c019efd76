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

/// True for a code made here rather than sent by a server.
pub fn is_internal(status: &str) -> bool {
    let parts: Vec<&str> = status.split('.').collect();
    parts.len() == 3 && parts[1] == "0" && parts[2].len() == 3 && parts[2].starts_with('9')
}

#[cfg(test)]
mod tests {
    use super::*;

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
