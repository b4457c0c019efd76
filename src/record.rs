//! The records subcommands hand each other: the event record (what `classify` says about one
//! (message, recipient) pair) and the send-log record (what `send` did for one recipient).
//!
//! These are the contracts between `classify`, `send`, `suppress` and `report` (see the
//! design's "Event record" and "Send log record"). Field names and the kind/reason/status
//! vocabularies are part of them: never rename one without a migration note in the CHANGELOG.

use serde::{Deserialize, Serialize};

/// What a report means for the address it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The address is bad: suppress it.
    Hard,
    /// Recipient-side and temporary: count it.
    Soft,
    /// The sender's fault (blacklist, reputation, authentication, policy): never the address's.
    Block,
    /// Not final yet.
    Delay,
    /// A DSN success report.
    Delivered,
    /// An MDN that says the message was displayed.
    Read,
    /// A vacation or other automatic reply.
    Autoreply,
    /// A reply asking to be removed.
    Unsubscribe,
    /// An abuse / spam feedback report.
    Complaint,
    /// Ordinary mail.
    NotBounce,
    /// Looks like a report but could not be read.
    Unknown,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Hard => "hard",
            Kind::Soft => "soft",
            Kind::Block => "block",
            Kind::Delay => "delay",
            Kind::Delivered => "delivered",
            Kind::Read => "read",
            Kind::Autoreply => "autoreply",
            Kind::Unsubscribe => "unsubscribe",
            Kind::Complaint => "complaint",
            Kind::NotBounce => "not_bounce",
            Kind::Unknown => "unknown",
        }
    }

    /// The kind named `text` (as the records write it), if any.
    pub fn parse(text: &str) -> Option<Kind> {
        serde_json::from_value(serde_json::Value::String(text.to_string())).ok()
    }

    /// True for the kinds that say a delivery failed (what `--bounces-only` keeps, with the
    /// other report kinds).
    pub fn is_failure(self) -> bool {
        matches!(self, Kind::Hard | Kind::Soft | Kind::Block)
    }
}

/// Why a delivery failed (or what a non-failure report is). The vocabulary follows sisimai's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    // hard
    UserUnknown,
    HostUnknown,
    HasMoved,
    NotAccept,
    // soft
    MailboxFull,
    MessageTooBig,
    ExceedLimit,
    Suspended,
    Expired,
    NetworkError,
    SystemError,
    SystemFull,
    MailerError,
    Filtered,
    OnHold,
    // block
    Blocked,
    SpamDetected,
    VirusDetected,
    PolicyViolation,
    SecurityError,
    AuthFailure,
    BadReputation,
    RequirePtr,
    RateLimited,
    TooManyConnections,
    NoRelaying,
    Rejected,
    ContentError,
    NotCompliantRfc,
    SyntaxError,
    FailedStarttls,
    // others
    Delivered,
    Read,
    Autoreply,
    Unsubscribe,
    Complaint,
    Suppressed,
    Undefined,
}

impl Reason {
    /// The kind a reason means when nothing else (the action, the status class) says otherwise.
    pub fn default_kind(self) -> Kind {
        use Reason::*;
        match self {
            UserUnknown | HostUnknown | HasMoved | NotAccept => Kind::Hard,
            MailboxFull | MessageTooBig | ExceedLimit | Suspended | Expired | NetworkError
            | SystemError | SystemFull | MailerError | Filtered | OnHold | Undefined => Kind::Soft,
            Blocked | SpamDetected | VirusDetected | PolicyViolation | SecurityError
            | AuthFailure | BadReputation | RequirePtr | RateLimited | TooManyConnections
            | NoRelaying | Rejected | ContentError | NotCompliantRfc | SyntaxError
            | FailedStarttls | Suppressed => Kind::Block,
            Delivered => Kind::Delivered,
            Read => Kind::Read,
            Autoreply => Kind::Autoreply,
            Unsubscribe => Kind::Unsubscribe,
            Complaint => Kind::Complaint,
        }
    }

    pub fn as_str(self) -> &'static str {
        use Reason::*;
        match self {
            UserUnknown => "user_unknown",
            HostUnknown => "host_unknown",
            HasMoved => "has_moved",
            NotAccept => "not_accept",
            MailboxFull => "mailbox_full",
            MessageTooBig => "message_too_big",
            ExceedLimit => "exceed_limit",
            Suspended => "suspended",
            Expired => "expired",
            NetworkError => "network_error",
            SystemError => "system_error",
            SystemFull => "system_full",
            MailerError => "mailer_error",
            Filtered => "filtered",
            OnHold => "on_hold",
            Blocked => "blocked",
            SpamDetected => "spam_detected",
            VirusDetected => "virus_detected",
            PolicyViolation => "policy_violation",
            SecurityError => "security_error",
            AuthFailure => "auth_failure",
            BadReputation => "bad_reputation",
            RequirePtr => "require_ptr",
            RateLimited => "rate_limited",
            TooManyConnections => "too_many_connections",
            NoRelaying => "no_relaying",
            Rejected => "rejected",
            ContentError => "content_error",
            NotCompliantRfc => "not_compliant_rfc",
            SyntaxError => "syntax_error",
            FailedStarttls => "failed_starttls",
            Delivered => "delivered",
            Read => "read",
            Autoreply => "autoreply",
            Unsubscribe => "unsubscribe",
            Complaint => "complaint",
            Suppressed => "suppressed",
            Undefined => "undefined",
        }
    }
}

/// One (message, recipient) verdict. Every field but `error` is always present in the output,
/// `null` where unknown, so CSV columns and JSON keys are stable.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub source: Option<String>,
    pub message_id: Option<String>,
    pub date: Option<String>,
    pub recipient: Option<String>,
    pub kind: Option<Kind>,
    pub reason: Option<Reason>,
    pub status: Option<String>,
    pub smtp_code: Option<u16>,
    pub action: Option<String>,
    pub diagnostic: Option<String>,
    pub remote_mta: Option<String>,
    pub reporting_mta: Option<String>,
    pub original_message_id: Option<String>,
    pub envelope_id: Option<String>,
    pub campaign: Option<String>,
    pub format: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
}

/// The CSV header of the event record, in output order.
pub const EVENT_COLUMNS: &[&str] = &[
    "source",
    "message_id",
    "date",
    "recipient",
    "kind",
    "reason",
    "status",
    "smtp_code",
    "action",
    "diagnostic",
    "remote_mta",
    "reporting_mta",
    "original_message_id",
    "envelope_id",
    "campaign",
    "format",
    "error",
];

impl Event {
    /// The event as CSV cells in `EVENT_COLUMNS` order.
    pub fn csv_cells(&self) -> [String; 17] {
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        [
            s(&self.source),
            s(&self.message_id),
            s(&self.date),
            s(&self.recipient),
            self.kind
                .map(|k| k.as_str().to_string())
                .unwrap_or_default(),
            self.reason
                .map(|r| r.as_str().to_string())
                .unwrap_or_default(),
            s(&self.status),
            self.smtp_code.map(|c| c.to_string()).unwrap_or_default(),
            s(&self.action),
            s(&self.diagnostic),
            s(&self.remote_mta),
            s(&self.reporting_mta),
            s(&self.original_message_id),
            s(&self.envelope_id),
            s(&self.campaign),
            s(&self.format),
            s(&self.error),
        ]
    }
}

/// What `send` did about one recipient. `Sending` and `Unknown` are journal states: a
/// `sending` record is flushed just before the message is committed (the final dot of DATA),
/// and the record of the outcome right after the server's reply, so that a log whose last word
/// about a recipient is `sending` (or `unknown`: the connection broke while the server was
/// answering) says the message may or may not have been taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendStatus {
    /// The server took the message (2xx to the final dot).
    Sent,
    /// The server refused it for good (5xx); `kind` and `reason` say whose fault.
    Failed,
    /// Refused for now (4xx) on every attempt, or never tried because the run gave up.
    Deferred,
    /// Never sent: suppressed, invalid, a duplicate, or its row could not be rendered.
    Skipped,
    /// Rendered into the `--dry-run` folder instead of being sent.
    DryRun,
    /// About to be committed: the journal record written before the final dot.
    Sending,
    /// The message was committed but no reply came: it may have been taken.
    Unknown,
}

impl SendStatus {
    pub const ALL: &[SendStatus] = &[
        SendStatus::Sent,
        SendStatus::Failed,
        SendStatus::Deferred,
        SendStatus::Skipped,
        SendStatus::DryRun,
        SendStatus::Sending,
        SendStatus::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SendStatus::Sent => "sent",
            SendStatus::Failed => "failed",
            SendStatus::Deferred => "deferred",
            SendStatus::Skipped => "skipped",
            SendStatus::DryRun => "dry_run",
            SendStatus::Sending => "sending",
            SendStatus::Unknown => "unknown",
        }
    }

    pub fn parse(text: &str) -> Option<SendStatus> {
        SendStatus::ALL.iter().copied().find(|s| s.as_str() == text)
    }
}

/// One line of the send log. Every field is always written (`null` where it does not apply),
/// so CSV columns and JSON keys are stable.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SendRecord {
    pub recipient: Option<String>,
    pub message_id: Option<String>,
    pub envelope_id: Option<String>,
    pub campaign: Option<String>,
    pub status: Option<SendStatus>,
    pub smtp_code: Option<u16>,
    pub enhanced_status: Option<String>,
    pub response: Option<String>,
    pub kind: Option<Kind>,
    /// For `failed`, the reply classifier's reason; for `skipped`, why (`duplicate`,
    /// `invalid_address`, `suppressed:bounced`, `missing_variable`, ...).
    pub reason: Option<String>,
    /// Words for a person: the missing variable, the store's reason, the broken connection.
    pub detail: Option<String>,
    pub attempts: Option<u32>,
    /// When it was decided, RFC 3339 UTC with milliseconds.
    pub time: Option<String>,
}

/// The CSV header of the send log, in output order.
pub const SEND_COLUMNS: &[&str] = &[
    "recipient",
    "message_id",
    "envelope_id",
    "campaign",
    "status",
    "smtp_code",
    "enhanced_status",
    "response",
    "kind",
    "reason",
    "detail",
    "attempts",
    "time",
];

impl SendRecord {
    /// The record as CSV cells in `SEND_COLUMNS` order.
    pub fn csv_cells(&self) -> [String; 13] {
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        [
            s(&self.recipient),
            s(&self.message_id),
            s(&self.envelope_id),
            s(&self.campaign),
            self.status
                .map(|k| k.as_str().to_string())
                .unwrap_or_default(),
            self.smtp_code.map(|c| c.to_string()).unwrap_or_default(),
            s(&self.enhanced_status),
            s(&self.response),
            self.kind
                .map(|k| k.as_str().to_string())
                .unwrap_or_default(),
            s(&self.reason),
            s(&self.detail),
            self.attempts.map(|c| c.to_string()).unwrap_or_default(),
            s(&self.time),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_reasons_serialise_as_snake_case() {
        assert_eq!(
            serde_json::to_string(&Kind::NotBounce).unwrap(),
            "\"not_bounce\""
        );
        assert_eq!(
            serde_json::to_string(&Reason::TooManyConnections).unwrap(),
            "\"too_many_connections\""
        );
        for r in [
            Reason::UserUnknown,
            Reason::NotCompliantRfc,
            Reason::FailedStarttls,
        ] {
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.as_str())
            );
        }
    }

    #[test]
    fn sender_side_reasons_never_count_against_the_address() {
        for r in [
            Reason::Blocked,
            Reason::BadReputation,
            Reason::AuthFailure,
            Reason::NoRelaying,
        ] {
            assert_eq!(r.default_kind(), Kind::Block);
        }
        assert_eq!(Reason::UserUnknown.default_kind(), Kind::Hard);
        assert_eq!(Reason::MailboxFull.default_kind(), Kind::Soft);
    }

    #[test]
    fn csv_cells_match_the_header() {
        assert_eq!(Event::default().csv_cells().len(), EVENT_COLUMNS.len());
        assert_eq!(SendRecord::default().csv_cells().len(), SEND_COLUMNS.len());
    }

    #[test]
    fn send_log_fields_are_the_ones_suppress_add_reads() {
        let record = SendRecord {
            recipient: Some("a@b.example".into()),
            status: Some(SendStatus::Failed),
            kind: Some(Kind::Hard),
            reason: Some("user_unknown".into()),
            ..SendRecord::default()
        };
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["status"], "failed");
        assert_eq!(json["kind"], "hard");
        let names: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(names, SEND_COLUMNS);
        for s in SendStatus::ALL {
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
            assert_eq!(SendStatus::parse(s.as_str()), Some(*s));
        }
    }
}
