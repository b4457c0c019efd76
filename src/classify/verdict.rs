//! Verdicts: from a failure event's diagnostic and the report around it to its kind, reason
//! and status. The reply classifier reads the words; this module adds what only the whole
//! report can tell (the SMTP stage the refusal came at, the software that wrote it, whether the
//! delivery was delayed or given up) and never lets a sender-side refusal count against the
//! address.

use std::cell::OnceCell;

use crate::classify::mime::Headers;
use crate::classify::{address, reply, status};
use crate::record::{Event, Kind, Reason};

/// What the whole report says, read at most once per message (and only as far as a verdict
/// needs it), shared by its recipients' verdicts.
#[derive(Debug, Default)]
pub struct ReportContext<'a> {
    report: &'a str,
    /// The report's headers, when known: who wrote it (`FILTERING_GATEWAYS`).
    headers: Option<&'a Headers>,
    /// The report's words with line breaks folded: reports wrap sentences anywhere, and
    /// phrases must match across the breaks.
    folded: OnceCell<String>,
    stages: OnceCell<reply::Stages>,
}

impl<'a> ReportContext<'a> {
    pub fn of(report: &'a str) -> Self {
        ReportContext {
            report,
            headers: None,
            folded: OnceCell::new(),
            stages: OnceCell::new(),
        }
    }

    /// The same, for a report whose headers are `headers`.
    pub fn of_message(report: &'a str, headers: &'a Headers) -> Self {
        ReportContext {
            headers: Some(headers),
            ..ReportContext::of(report)
        }
    }

    /// Was the report written by a filtering gateway? Asked only of a "user unknown" verdict.
    fn by_filtering_gateway(&self) -> bool {
        self.headers.is_some_and(written_by_filtering_gateway)
    }

    fn folded(&self) -> &str {
        self.folded
            .get_or_init(|| self.report.split_whitespace().collect::<Vec<_>>().join(" "))
    }

    /// The first status code anywhere in the report.
    fn status(&self) -> Option<String> {
        reply::find_status(self.report)
    }

    /// The SMTP commands the report says refusals answered.
    fn stages(&self) -> reply::Stages {
        *self
            .stages
            .get_or_init(|| reply::stages_named(self.folded()))
    }
}

/// Decides kind, reason, status and SMTP code of a failure event from its diagnostic, with
/// the rest of the report as context when the diagnostic alone names no reason.
pub fn judge(event: &mut Event, context: &ReportContext) {
    judge_with_note(event, context, None);
}

/// `judge`, with `note`: the reporting MTA's own words beside the recipient's Status field
/// ("mailbox disabled, not accepting messages"). They are read with the diagnostic, but they
/// are not the server's words, so the event's diagnostic stays as it was.
pub fn judge_with_note(event: &mut Event, context: &ReportContext, note: Option<&str>) {
    let mut diagnostic = event.diagnostic.clone().unwrap_or_default();
    if let Some(note) = note {
        diagnostic = format!("{diagnostic} ({note})").trim_start().to_string();
    }
    if event.smtp_code.is_none() {
        event.smtp_code = reply::find_smtp_code(&diagnostic);
    }
    let mut quoted = reply::find_status(&diagnostic);
    if let Some(reported) = event.status.as_deref().filter(|r| status::is_vague(r))
        && quoted.as_deref() == Some(reported)
    {
        // The reply repeats the vague code; the cause's own code may follow it.
        quoted = reply::find_status_other_than(&diagnostic, reported).or(quoted);
    }
    event.status = if event.status.is_none() && quoted.is_none() {
        context.status()
    } else {
        status::prefer(event.status.as_deref(), quoted.as_deref(), event.smtp_code)
    };
    // "Action: failed" with a 2.x.x status contradicts itself. The action is what the MTA did,
    // so the failure stands: the success class is not read (the status stays in the record as
    // written) and the words decide why.
    let failed_with_success = event.action.as_deref() == Some("failed")
        && event.status.as_deref().is_some_and(|s| s.starts_with('2'));
    let (code_read, status_read) = if failed_with_success {
        (event.smtp_code.filter(|c| *c >= 400), None)
    } else {
        (event.smtp_code, event.status.as_deref())
    };
    let (mut verdict, diagnostic_decides) =
        reply::classify_reply_in_context(code_read, status_read, &diagnostic, || context.folded());
    if verdict.kind == Kind::Delivered && failed_with_success {
        verdict = reply::Verdict {
            kind: Kind::Soft,
            reason: if diagnostic.trim().is_empty() {
                Reason::Undefined
            } else {
                Reason::OnHold
            },
        };
    }
    if verdict.reason == Reason::OnHold && !diagnostic_decides && diagnostic.trim().is_empty() {
        // The report has no words for this recipient and the rest of it names no reason:
        // nothing was said that could be held for a closer look.
        verdict.reason = Reason::Undefined;
    }
    // The recipient's own words say which command was refused; failing that, the report's.
    // Only these verdicts depend on it, and most reports need not be folded to read it.
    let stages = matches!(
        verdict.reason,
        Reason::UserUnknown | Reason::HostUnknown | Reason::Filtered
    )
    .then(|| {
        Some(reply::stages_named(&diagnostic))
            .filter(|s| s.any())
            .unwrap_or_else(|| context.stages())
    })
    .unwrap_or_default();
    if stages.mail_from {
        // The server refused the envelope sender; the recipient was never even asked about.
        verdict = reply::Verdict {
            kind: Kind::Block,
            reason: Reason::Rejected,
        };
    }
    if verdict.reason == Reason::UserUnknown {
        let words = if diagnostic_decides {
            diagnostic.as_str()
        } else {
            context.folded()
        };
        let status_says_user_unknown = event.status.as_deref().and_then(reply::reason_from_status)
            == Some(Reason::UserUnknown);
        if !status_says_user_unknown
            && diagnostic_decides
            && reply::reason_from_text(context.folded()) == Some(Reason::Suspended)
        {
            // Some servers answer "user unknown" for a disabled account (au does), and the
            // report's own words say which it is.
            verdict = reply::Verdict {
                kind: Kind::Soft,
                reason: Reason::Suspended,
            };
        } else if !address_refused(event, stages, words, context)
            && !provider_says_no_such_user(event, words)
        {
            // "User unknown" is also what content filters and recipients' own block lists
            // answer after DATA, to give nothing away; when the report says that is what
            // happened, it is a filter's refusal: soft, never a reason to drop the address.
            verdict = reply::Verdict {
                kind: Kind::Soft,
                reason: Reason::Filtered,
            };
        }
    }
    event.reason = Some(verdict.reason);
    if event.status.is_none() {
        let temporary = event.smtp_code.is_some_and(|c| c / 100 == 4)
            || event.action.as_deref() == Some("delayed");
        event.status = status::internal_code(verdict.reason, temporary);
    }
    event.kind = Some(match event.action.as_deref() {
        Some("delivered" | "relayed" | "expanded" | "deliverable") => {
            event.reason = Some(Reason::Delivered);
            Kind::Delivered
        }
        Some("delayed") => {
            // A delay report that names no cause is about the queue: it is expiring.
            // (A network error read from the status alone is no more than that.)
            if matches!(event.reason, Some(Reason::OnHold | Reason::Undefined))
                || (event.reason == Some(Reason::NetworkError) && !diagnostic_decides)
            {
                event.reason = Some(Reason::Expired);
            }
            Kind::Delay
        }
        // The MTA gave up: a temporary "user unknown" that never cleared is as final as a
        // permanent one. (A null MX or "not accepting mail" said with 4xx may still change.)
        Some("failed")
            if matches!(
                verdict.reason,
                Reason::UserUnknown | Reason::HostUnknown | Reason::HasMoved
            ) =>
        {
            Kind::Hard
        }
        _ => verdict.kind,
    });
}

/// Does a "user unknown" refusal concern the address itself?
///
/// A server's reply (it has an SMTP reply code) that says "No such user" under a status that
/// names nothing more (none, or X.0.0) is taken at its word unless the report says otherwise:
/// words that name a filter, content or spam policy (`NOT_ABOUT_THE_ADDRESS`), or a session
/// transcript whose refusal answered DATA (`DATA_TRANSCRIPTS`), say a filter refused this
/// message. Words without a reply code ("a@b.example [User unknown]") are a report's own
/// summary, which filtering gateways also write: they need the evidence any verdict has, a
/// status that says "user unknown" (X.1.1 and kin), a refusal in reply to RCPT TO, a reply
/// that names the address, or a directory's own answer (`reply::says_lookup_failed`). A
/// refusal the report places after DATA is never about the address.
fn address_refused(
    event: &Event,
    stages: reply::Stages,
    words: &str,
    context: &ReportContext,
) -> bool {
    if stages.data {
        return false;
    }
    let status_reason = event.status.as_deref().and_then(reply::reason_from_status);
    let status_says_nothing = status_reason.is_none_or(|r| r == Reason::Undefined);
    let servers_reply = event.smtp_code.is_some_and(|c| c >= 500);
    status_reason == Some(Reason::UserUnknown)
        || stages.rcpt
        || (status_says_nothing && reply::reply_names_recipient(words))
        || reply::says_lookup_failed(words)
        || (status_says_nothing
            && servers_reply
            && !context.by_filtering_gateway()
            && !names_a_filter(words)
            && !transcript_answers_data(context.folded()))
}

/// Filtering gateways: products that stand in front of a mail system, take the message and
/// scan it before handing it on, and answer for the whole system when they refuse. Their "no
/// such user" with no sign of the RCPT stage is the gateway's verdict, not the mailbox
/// server's, and sisimai, whose vocabulary and labels we follow, reads it as `filtered`. Each
/// is known by a header field it writes: (field, words in its value).
const FILTERING_GATEWAYS: &[(&str, &str)] = &[
    // McAfee Email Gateway (formerly IronMail / Secure Computing).
    ("X-NAI-Header", "mcafee"),
    // SurfControl E-mail Filter (Websense).
    ("X-Mailer", "surfcontrol"),
    // McAfee SaaS Email Protection (MX Logic), which sends its reports from its own hosts.
    ("From", "mxlogic.net"),
    ("Message-ID", "mxlogic.net"),
];

fn written_by_filtering_gateway(headers: &Headers) -> bool {
    FILTERING_GATEWAYS.iter().any(|(field, words)| {
        headers
            .get_all(field)
            .any(|value| contains_ignore_ascii_case(value, words))
    })
}

/// Session transcripts, folded into one line, whose refusal is the answer to DATA: Sendmail's
/// ">>> DATA" then "<<< 550 ...", and reports that name the refused command under a "SMTP
/// command" heading. They are weaker than the report's own words (`reply::stages_named`): with
/// pipelining the first reply after DATA may still be a RCPT's, so they only keep a reply
/// that names nothing else from being taken at its word. 554 is left out: it is also the
/// "no valid recipients" answer to DATA after every RCPT was refused.
const DATA_TRANSCRIPTS: &[&str] = &[
    ">>> data <<< 550",
    ">>> data <<< 551",
    ">>> data <<< 552",
    ">>> data <<< 553",
    "smtp command data",
    "smtp command: data",
];

fn transcript_answers_data(folded: &str) -> bool {
    DATA_TRANSCRIPTS
        .iter()
        .any(|p| contains_ignore_ascii_case(folded, p))
}

/// Words that, next to "user unknown", say a filter refused the message rather than that the
/// address does not exist ("550 No such user (content filter)", "user unknown - spam policy").
/// Not a bare "content", which every "Content-Type" has.
const NOT_ABOUT_THE_ADDRESS: &[&str] = &[
    "filter",
    "spam",
    "policy",
    "policies",
    "content rejected",
    "content restriction",
];

fn names_a_filter(words: &str) -> bool {
    NOT_ABOUT_THE_ADDRESS
        .iter()
        .any(|w| contains_ignore_ascii_case(words, w))
}

/// Providers whose generic words are their documented answer for an address that does not
/// exist: (the domain of the reporting or remote MTA, phrase). Hotmail/Outlook answers a
/// missing mailbox with RFC 5321's "Requested action not taken: mailbox unavailable";
/// MessageLabs (Symantec Email Security.cloud) with "No such user" or "Invalid recipient".
const PROVIDER_NO_SUCH_USER: &[(&str, &str)] = &[
    (
        "hotmail.com",
        "requested action not taken: mailbox unavailable",
    ),
    (
        "outlook.com",
        "requested action not taken: mailbox unavailable",
    ),
    ("messagelabs.com", "no such user"),
    ("messagelabs.com", "invalid recipient"),
];

/// Did a provider in `PROVIDER_NO_SUCH_USER` say, in its words for a missing mailbox, that
/// this address does not exist?
fn provider_says_no_such_user(event: &Event, words: &str) -> bool {
    let hosts = [event.reporting_mta.as_deref(), event.remote_mta.as_deref()];
    PROVIDER_NO_SUCH_USER.iter().any(|(suffix, phrase)| {
        hosts.iter().flatten().any(|host| {
            let host = host
                .split_whitespace()
                .next()
                .unwrap_or("")
                .trim_end_matches('.');
            address::in_domain(host, suffix)
        }) && contains_ignore_ascii_case(words, phrase)
    })
}

fn contains_ignore_ascii_case(text: &str, phrase: &str) -> bool {
    text.as_bytes()
        .windows(phrase.len())
        .any(|w| w.eq_ignore_ascii_case(phrase.as_bytes()))
}

/// What a report means when its words name no reason, by the software that wrote it:
/// Google Groups only ever bounces a poster the group does not accept (in any language).
const FORMAT_DEFAULT_REASONS: &[(&str, Reason)] = &[("googlegroups", Reason::Rejected)];

pub fn format_default(event: &mut Event) {
    if !matches!(event.reason, Some(Reason::OnHold | Reason::Undefined)) {
        return;
    }
    let format = event.format.as_deref().unwrap_or("");
    if let Some((_, reason)) = FORMAT_DEFAULT_REASONS.iter().find(|(f, _)| *f == format) {
        event.reason = Some(*reason);
        event.kind = Some(reason.default_kind());
        if event.status.as_deref().is_some_and(status::is_internal) {
            event.status = status::internal_code(*reason, false);
        }
    }
}

/// A report that could not be tied to a recipient still says something about why.
pub fn judge_unknown(event: &mut Event, report: &str) {
    event.status = reply::find_status(report);
    if let Some(reason) = reply::reason_from_text(report) {
        event.reason = Some(reason);
    }
}
