//! The bounce classifier: one raw message in, one or more event records out.
//!
//! Recognisers run in order of trust: RFC 3464 delivery-status reports, RFC 5965 feedback
//! reports, RFC 8098 read receipts, the text reports of real MTAs, RFC 3834 autoreplies,
//! replies asking to be removed; anything else is `not_bounce`. The classifier never drops a
//! message: whatever happens, at least one record comes out, with `error` when the message
//! could not be read. It never reports one of the sender's own addresses as the recipient.

pub mod address;
pub mod arf;
pub mod autoreply;
pub mod detect;
pub mod dsn;
pub mod fields;
pub mod links;
pub mod mdn;
pub mod mime;
#[cfg(test)]
mod mutations;
pub mod reply;
pub mod ses;
pub mod status;
pub mod text;
pub mod verdict;

use std::cell::OnceCell;

use crate::record::{Event, Kind, Reason};
use detect::{looks_like_bounce, says_delivery_failed};
use links::Verp;
use mime::Message;
use verdict::{ReportContext, format_default, judge, judge_unknown, judge_with_note};

/// Who "we" are, and how we send: what the classifier needs to know about the sender.
#[derive(Debug, Default, Clone)]
pub struct Options {
    pub own_domains: Vec<String>,
    pub own_addresses: Vec<String>,
    pub verp: Vec<String>,
}

/// A configured classifier; cheap to share between threads.
#[derive(Debug, Default)]
pub struct Classifier {
    own_domains: Vec<String>,
    own_addresses: Vec<String>,
    verp: Vec<Verp>,
}

impl Classifier {
    pub fn new(opts: &Options) -> Self {
        Classifier {
            own_domains: opts
                .own_domains
                .iter()
                .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
                .filter(|d| !d.is_empty())
                .collect(),
            own_addresses: opts
                .own_addresses
                .iter()
                .filter_map(|a| address::normalize(a))
                .collect(),
            verp: opts.verp.iter().filter_map(|v| Verp::new(v)).collect(),
        }
    }

    /// True for an address the user said is their own.
    pub fn is_own(&self, addr: &str) -> bool {
        let (_, domain) = address::split(addr);
        self.own_addresses.iter().any(|o| address::same(o, addr))
            || self
                .own_domains
                .iter()
                .any(|d| address::in_domain(domain, d))
            || self.verp.iter().any(|v| v.decode(addr).is_some())
    }

    /// Classifies one raw message. Never panics on bad input, never returns an empty list.
    pub fn classify(&self, raw: &[u8]) -> Vec<Event> {
        let raw = mime::normalize_line_endings(raw);
        if raw.iter().all(|b| b.is_ascii_whitespace()) {
            return vec![error_event("empty message")];
        }
        let parsed = mailparse::parse_mail(&raw);
        let (msg, parse_error) = match &parsed {
            Ok(mail) => (Message::from_mail(mail), None),
            Err(err) => (
                headers_only(&raw),
                Some(format!("unreadable MIME structure: {err}")),
            ),
        };
        if !has_mail_headers(&msg) {
            return vec![error_event(
                "no e-mail headers found (not an e-mail message?)",
            )];
        }
        let mut events = self.classify_message(&msg);
        for event in &mut events {
            if let Some(err) = &parse_error {
                event.error = Some(err.clone());
            }
        }
        events
    }

    fn classify_message(&self, msg: &Message) -> Vec<Event> {
        let base = Event {
            message_id: msg.headers.get("Message-ID").map(str::to_string),
            date: msg.headers.get("Date").and_then(rfc3339_date),
            ..Event::default()
        };
        let original = links::original_links(msg);
        let mut events = self.recognise(msg, &original);
        let verp_recipient = links::verp_recipient(msg, &self.verp);
        for event in &mut events {
            event.message_id = base.message_id.clone();
            event.date = base.date.clone();
            if event.original_message_id.is_none() {
                event.original_message_id = original
                    .message_id
                    .clone()
                    .or_else(|| in_reply_to(msg, event.kind));
            }
            event.campaign = original.campaign.clone();
            if event.recipient.is_none() && event.kind != Some(Kind::NotBounce) {
                event.recipient = verp_recipient.clone();
            }
        }
        events
    }

    fn recognise(&self, msg: &Message, original: &links::OriginalLinks) -> Vec<Event> {
        let dsn_reports = dsn::recipient_reports(msg);
        if !dsn_reports.is_empty() {
            let events = self.read_dsn(msg, &dsn_reports);
            if !events.is_empty() {
                return events;
            }
        }
        let is_own = |a: &str| self.is_own(a);
        if let Some(events) = arf::read(msg, &is_own) {
            return events;
        }
        if let Some(event) = mdn::read(msg, &is_own) {
            return vec![event];
        }
        if let Some(found) = ses::read(msg, &is_own).filter(|f| !f.is_empty()) {
            return found
                .into_iter()
                .map(|r| {
                    let mut event = r.event;
                    if r.needs_judging {
                        judge(&mut event, &ReportContext::of(""));
                    }
                    event
                })
                .collect();
        }
        let report = text::report_text(msg);
        let signed = text::mta_format(msg, report);
        let format = signed.format();
        if looks_like_bounce(msg)
            || (matches!(signed, text::Signed::Report(_)) && !autoreply::is_autoreply(msg))
        {
            return self.read_text_report(msg, report, format, original);
        }
        // A mail client's one-click unsubscribe (Apple Mail's, for one) is sent as an
        // auto-reply whose subject says it; the request matters more than the automation.
        if msg
            .headers
            .get("Subject")
            .is_some_and(autoreply::asks_to_unsubscribe)
            && let Some(event) = autoreply::read_unsubscribe(msg, &is_own)
        {
            return vec![event];
        }
        if let Some(event) = autoreply::read_autoreply(msg, &is_own) {
            return vec![event];
        }
        if let Some(event) = autoreply::read_unsubscribe(msg, &is_own) {
            return vec![event];
        }
        // "I am on holiday" in a reply's first lines is weaker evidence than a request to be
        // removed, and than a report that says a delivery failed.
        let failed = says_delivery_failed(report);
        if !failed && let Some(event) = autoreply::read_body_autoreply(msg, &is_own) {
            return vec![event];
        }
        if failed {
            let events = self.read_text_report(msg, report, Some("text"), original);
            if events.iter().all(|e| e.recipient.is_some()) {
                return events;
            }
        }
        vec![Event {
            kind: Some(Kind::NotBounce),
            ..Event::default()
        }]
    }

    fn read_dsn(&self, msg: &Message, reports: &[dsn::RecipientReport]) -> Vec<Event> {
        let report_text = text::report_text(msg);
        let is_own = |a: &str| self.is_own(a);
        // The report's own lines for each recipient are only needed when the DSN gives no
        // diagnostic; most do, so they are read on demand.
        let text_recipients = OnceCell::new();
        let context = ReportContext::of_message(report_text, &msg.headers);
        // A group that names no recipient (some gateways write only Action and Status) is about
        // the recipient a VERP address names, unless another group already names that one.
        let verp_recipient = reports
            .iter()
            .any(|r| r.recipient.is_none())
            .then(|| links::verp_recipient(msg, &self.verp))
            .flatten()
            .filter(|v| {
                !reports
                    .iter()
                    .filter_map(|r| r.recipient.as_deref())
                    .any(|r| address::same(r, v))
            });
        let mut events = Vec::new();
        for report in reports {
            let recipient = match (&report.recipient, &verp_recipient) {
                (Some(r), _) if self.is_own(r) => continue,
                (Some(r), _) | (None, Some(r)) => r.clone(),
                (None, None) => continue,
            };
            let mut event = Event::default();
            dsn::apply(report, &mut event);
            event.recipient = Some(recipient.clone());
            if event.diagnostic.is_none() {
                event.diagnostic = text_recipients
                    .get_or_init(|| text::recipients(report_text, &is_own, &is_own))
                    .iter()
                    .find(|t| address::same(&t.recipient, &recipient))
                    .and_then(|t| t.diagnostic.clone());
            }
            judge_with_note(&mut event, &context, report.status_note.as_deref());
            if report.diagnostic_type.as_deref() == Some("x-unix")
                && matches!(
                    event.reason,
                    Some(Reason::OnHold | Reason::Undefined | Reason::Expired)
                )
            {
                // A local delivery program failed (exit status, not an SMTP reply).
                event.reason = Some(Reason::MailerError);
                if event.kind.is_some_and(Kind::is_failure) {
                    event.kind = Some(Kind::Soft);
                }
            }
            events.push(event);
        }
        events
    }

    fn read_text_report(
        &self,
        msg: &Message,
        report: &str,
        format: Option<&'static str>,
        original: &links::OriginalLinks,
    ) -> Vec<Event> {
        let verp_recipient = links::verp_recipient(msg, &self.verp);
        let addressees = report_addressees(msg);
        let is_own = |a: &str| self.is_own(a);
        let not_ours = |a: &str| {
            self.is_own(a)
                || original.senders.iter().any(|s| address::same(s, a))
                || addressees.iter().any(|s| address::same(s, a))
        };
        let mut found = text::recipients(report, &is_own, &not_ours);
        let failed_header: Vec<String> = msg
            .headers
            .get_all("X-Failed-Recipients")
            .flat_map(address::find_all)
            .filter(|a| !self.is_own(a))
            .collect();
        if !failed_header.is_empty() {
            found = failed_header
                .into_iter()
                .map(|recipient| {
                    let diagnostic = found
                        .iter()
                        .find(|f| address::same(&f.recipient, &recipient))
                        .and_then(|f| f.diagnostic.clone());
                    text::TextRecipient {
                        recipient,
                        diagnostic,
                    }
                })
                .collect();
        }
        // When no line of the report names the recipient, the recipient comes from the VERP
        // address or the returned message's To, and the report's words (as an unreadable
        // report would keep them) are the diagnostic.
        let named_in_report = !found.is_empty();
        if found.is_empty()
            && let Some(recipient) = verp_recipient
        {
            found.push(text::TextRecipient {
                recipient,
                diagnostic: None,
            });
        }
        if found.is_empty() {
            found = original
                .to
                .iter()
                .filter(|a| !not_ours(a))
                .map(|a| text::TextRecipient {
                    recipient: a.clone(),
                    diagnostic: None,
                })
                .collect();
        }
        let format = format.unwrap_or("text");
        if found.is_empty() {
            let mut event = Event {
                kind: Some(Kind::Unknown),
                reason: Some(Reason::Undefined),
                format: Some(format.into()),
                diagnostic: first_words(report),
                ..Event::default()
            };
            judge_unknown(&mut event, report);
            return vec![event];
        }
        let quoted_reply = text::server_reply(report);
        let context = ReportContext::of_message(report, &msg.headers);
        found
            .into_iter()
            .map(|f| {
                let diagnostic = match (f.diagnostic, &quoted_reply) {
                    (Some(d), Some(reply)) if reply::find_smtp_code(&d).is_none() => {
                        Some(format!("{reply} {d}"))
                    }
                    (None, Some(reply)) => Some(reply.clone()),
                    (d, _) => d,
                };
                let mut event = Event {
                    recipient: Some(f.recipient),
                    diagnostic,
                    action: Some("failed".into()),
                    format: Some(format.into()),
                    ..Event::default()
                };
                judge(&mut event, &context);
                format_default(&mut event);
                if event.diagnostic.is_none() && !named_in_report {
                    // Filled only now: the verdict was read from the whole report, as before.
                    event.diagnostic = first_words(report);
                }
                event
            })
            .collect()
    }
}

/// The addresses a report was sent to: the original sender, never a failed recipient.
fn report_addressees(msg: &Message) -> Vec<String> {
    ["To", "Return-Path"]
        .iter()
        .flat_map(|h| msg.headers.get_all(h))
        .flat_map(address::find_all)
        .collect()
}

/// A person's reply (autoreply, unsubscribe request, read receipt) names what it answers in
/// In-Reply-To; a bounce's In-Reply-To is not reliable, so only replies use it.
fn in_reply_to(msg: &Message, kind: Option<Kind>) -> Option<String> {
    matches!(kind, Some(Kind::Autoreply | Kind::Unsubscribe | Kind::Read))
        .then(|| msg.headers.get("In-Reply-To"))
        .flatten()
        .and_then(|v| v.split_whitespace().next())
        .map(str::to_string)
}

fn has_mail_headers(msg: &Message) -> bool {
    msg.headers.looks_like_mail()
}

/// When the MIME structure cannot be parsed, the header block and the body as plain text.
fn headers_only(raw: &[u8]) -> Message {
    match mailparse::parse_headers(raw) {
        Ok((headers, offset)) => {
            let body = &raw[offset.min(raw.len())..];
            let body = &body[..body.len().min(1 << 20)];
            Message {
                headers: mime::Headers::from_mail(&headers),
                text: String::from_utf8_lossy(body).into_owned(),
                ..Message::default()
            }
        }
        Err(_) => Message::default(),
    }
}

fn error_event(why: &str) -> Event {
    Event {
        kind: Some(Kind::Unknown),
        error: Some(why.to_string()),
        ..Event::default()
    }
}

fn first_words(text: &str) -> Option<String> {
    let line: String = text
        .split_whitespace()
        .take(40)
        .collect::<Vec<_>>()
        .join(" ");
    (!line.is_empty()).then_some(line)
}

/// An RFC 5322 date as RFC 3339 (UTC), or `None` when it cannot be read.
pub fn rfc3339_date(value: &str) -> Option<String> {
    let ts = mailparse::dateparse(value).ok()?;
    let dt = chrono::DateTime::from_timestamp(ts, 0)?;
    Some(dt.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// One case-insensitive regex that matches where any of `patterns` does, for a table whose
/// callers ask whether (or where) any matches, not which: unlike a `RegexSet`, one regex
/// gets a literal prefilter, and builds faster.
pub(crate) fn any_of_ignoring_case(patterns: &[&str]) -> regex::Regex {
    let alternatives: Vec<String> = patterns.iter().map(|p| format!("(?:{p})")).collect();
    regex::Regex::new(&format!("(?i){}", alternatives.join("|"))).expect("a table of patterns")
}

/// Builds the classifier's largest tables on the threads of the pool, two at a time, before
/// the first message needs them: otherwise the first worker builds each while the others
/// wait on it (some 40 ms of a 10,000-message run).
pub fn warm_up() {
    rayon::join(text::warm_up, || {
        reply::warm_up();
        detect::warm_up();
        autoreply::warm_up();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(raw: &str) -> Vec<Event> {
        Classifier::new(&Options::default()).classify(raw.as_bytes())
    }

    #[test]
    fn empty_input_gets_an_error_record() {
        let events = classify("  \n");
        assert_eq!(events.len(), 1);
        assert!(events[0].error.is_some());
    }

    #[test]
    fn ordinary_mail_is_not_a_bounce() {
        let events =
            classify("From: a@b.example\nTo: c@d.example\nSubject: lunch?\n\nSee you at noon.\n");
        assert_eq!(events[0].kind, Some(Kind::NotBounce));
    }

    fn dsn(action: &str, status: &str, diagnostic: &str) -> String {
        format!(
            "From: MAILER-DAEMON@mx.example.net\nTo: news@example.com\nSubject: Delivery Status Notification\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n--b\nContent-Type: text/plain\n\n\
Delivery failed.\n--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n\
Final-Recipient: rfc822; jan@example.org\nAction: {action}\nStatus: {status}\nDiagnostic-Code: {diagnostic}\n--b--\n"
        )
    }

    #[test]
    fn refusal_after_mail_from_is_about_the_sender() {
        let text = "From: MAILER-DAEMON@mx.example.net\nTo: news@example.com\nSubject: Mail delivery failed\n\n\
A message that you sent could not be delivered.\n\n  jan@example.org\n    host mx.example.org: SMTP error from remote mail server after MAIL FROM:<news@example.com>:\n    550 5.1.7 No such domain\n";
        let events = classify(text);
        assert_eq!(events[0].recipient.as_deref(), Some("jan@example.org"));
        assert_eq!(events[0].kind, Some(Kind::Block));
        assert_eq!(events[0].reason, Some(Reason::Rejected));
    }

    #[test]
    fn a_final_failure_with_a_temporary_user_unknown_is_hard() {
        let events = classify(&dsn(
            "failed",
            "4.1.1",
            "smtp; 450 4.1.1 <jan@example.org>: Recipient address rejected: User unknown",
        ));
        assert_eq!(events[0].reason, Some(Reason::UserUnknown));
        assert_eq!(events[0].kind, Some(Kind::Hard));
    }

    #[test]
    fn a_servers_user_unknown_is_believed_unless_the_report_says_otherwise() {
        // A status that says so.
        let events = classify(&dsn("failed", "5.1.1", "smtp; 550 User unknown"));
        assert_eq!(events[0].kind, Some(Kind::Hard));
        // A server's reply under a status that names nothing more: the address is bad (the
        // requirement's "550 No such user"), whatever form the reply takes.
        for diagnostic in [
            "smtp; 550 No such user",
            "smtp; 550 jan@example.org... No such user",
            "smtp; 550 <jan@example.org>: User unknown",
        ] {
            let events = classify(&dsn("failed", "5.0.0", diagnostic));
            assert_eq!(events[0].reason, Some(Reason::UserUnknown), "{diagnostic}");
            assert_eq!(events[0].kind, Some(Kind::Hard), "{diagnostic}");
        }
        // A status about the mailbox or policy, words that name a filter, or a transcript whose
        // refusal answered DATA: a filter refused this message, not the address.
        for (status, diagnostic) in [
            ("5.2.1", "smtp; 550 jan@example.org... No such user"),
            ("5.7.1", "smtp; 550 jan@example.org... No such user"),
            ("5.0.0", "smtp; 550 No such user (content filter)"),
            ("5.0.0", "smtp; 550 User unknown - rejected by spam policy"),
        ] {
            let events = classify(&dsn("failed", status, diagnostic));
            assert_eq!(events[0].reason, Some(Reason::Filtered), "{diagnostic}");
            assert_eq!(events[0].kind, Some(Kind::Soft), "{diagnostic}");
        }
        let transcript = dsn("failed", "5.0.0", "smtp; 550 No such user").replace(
            "Delivery failed.",
            "... while talking to mx.example.org.:\n>>> DATA\n<<< 550 No such user",
        );
        assert_eq!(classify(&transcript)[0].reason, Some(Reason::Filtered));
        // Words with no reply code are the report's own summary: they need evidence.
        let events = classify(&dsn("failed", "5.0.0", "x-local; User unknown"));
        assert_eq!(events[0].reason, Some(Reason::Filtered));
        // A directory's own answer stands on its own.
        let events = classify(&dsn(
            "failed",
            "5.0.0",
            "smtp; 554 delivery error: dd This user doesn't have a yahoo.com account",
        ));
        assert_eq!(events[0].kind, Some(Kind::Hard));
    }

    #[test]
    fn a_one_click_unsubscribe_sent_as_an_auto_reply_is_an_unsubscribe() {
        let text = "From: jan@example.org\nTo: opt-out-42@example.com\nSubject: unsubscribe\n\
Auto-Submitted: auto-replied\n\nThe mail app sent this to unsubscribe from the list.\n";
        let events = classify(text);
        assert_eq!(events[0].kind, Some(Kind::Unsubscribe));
        assert_eq!(events[0].recipient.as_deref(), Some("jan@example.org"));
    }

    #[test]
    fn delay_without_a_cause_is_expiring() {
        let events = classify(&dsn("delayed", "4.4.0", "smtp; 451 try again later"));
        assert_eq!(events[0].kind, Some(Kind::Delay));
        assert_eq!(events[0].reason, Some(Reason::Expired));
    }

    #[test]
    fn a_network_error_read_from_a_delay_status_alone_is_expiring() {
        let events = classify(&dsn("delayed", "4.4.0", ""));
        assert_eq!(events[0].reason, Some(Reason::Expired));
        let events = classify(&dsn(
            "delayed",
            "4.4.1",
            "X-Postfix; connect to mx.example.org[192.0.2.2]:25: No route to host",
        ));
        assert_eq!(events[0].reason, Some(Reason::NetworkError));
        assert_eq!(events[0].kind, Some(Kind::Delay));
    }

    #[test]
    fn a_failure_with_no_words_at_all_is_undefined_not_on_hold() {
        let events = classify(&dsn("failed", "5.0.0", ""));
        assert_eq!(events[0].reason, Some(Reason::Undefined));
        let events = classify(&dsn("failed", "5.0.0", "smtp; 550 nope"));
        assert_eq!(events[0].reason, Some(Reason::OnHold));
    }

    #[test]
    fn a_vague_status_gives_way_to_the_cause_quoted_after_it() {
        let events = classify(&dsn(
            "failed",
            "4.4.7",
            "smtp; 554 4.4.7 Message expired: unable to deliver in 840 minutes.<421 4.4.2 Connection timed out>",
        ));
        assert_eq!(events[0].status.as_deref(), Some("4.4.2"));
        assert_eq!(events[0].reason, Some(Reason::Expired));
    }

    #[test]
    fn the_reporting_mtas_note_beside_the_status_is_read_with_the_diagnostic() {
        let events = classify(&dsn(
            "failed",
            "5.2.1 (mailbox disabled, not accepting messages)",
            "smtp; 550 5.2.1 <jan@example.org>... User Unknown",
        ));
        assert_eq!(events[0].reason, Some(Reason::Suspended));
        assert_eq!(events[0].status.as_deref(), Some("5.2.1"));
        assert_eq!(
            events[0].diagnostic.as_deref(),
            Some("550 5.2.1 <jan@example.org>... User Unknown")
        );
    }

    #[test]
    fn a_report_saying_the_account_is_disabled_explains_a_user_unknown_reply() {
        let text = dsn("failed", "5.0.0", "smtp; 550 user unknown")
            .replace("Delivery failed.", "The user(s) account is disabled.");
        let events = classify(&text);
        assert_eq!(events[0].reason, Some(Reason::Suspended));
        assert_eq!(events[0].kind, Some(Kind::Soft));
        // ... but not a status that says the address does not exist.
        let text = dsn("failed", "5.1.1", "smtp; 550 user unknown")
            .replace("Delivery failed.", "The user(s) account is disabled.");
        assert_eq!(classify(&text)[0].reason, Some(Reason::UserUnknown));
    }

    #[test]
    fn a_providers_documented_words_for_a_missing_mailbox_stand() {
        // Under a status that names nothing more, RFC 5321's words are believed from anyone.
        let report = dsn(
            "failed",
            "5.5.0",
            "smtp;550 Requested action not taken: mailbox unavailable",
        );
        assert_eq!(classify(&report)[0].reason, Some(Reason::UserUnknown));
        // Under a policy status they are a filter's, unless the provider documents them as its
        // answer for an address that does not exist.
        let report = dsn(
            "failed",
            "5.7.1",
            "smtp;550 Requested action not taken: mailbox unavailable",
        );
        assert_eq!(classify(&report)[0].reason, Some(Reason::Filtered));
        let hotmail = report.replace(
            "Reporting-MTA: dns; mx.example.net",
            "Reporting-MTA: dns; BAY004-MC1.hotmail.com",
        );
        let events = classify(&hotmail);
        assert_eq!(events[0].reason, Some(Reason::UserUnknown));
        assert_eq!(events[0].kind, Some(Kind::Hard));
    }

    #[test]
    fn a_reporting_mta_that_starts_inside_a_providers_suffix_is_no_panic() {
        // "éutlook.com" is one byte longer than "outlook.com", and that byte is inside 'é'.
        let report = dsn(
            "failed",
            "5.5.0",
            "smtp;550 Requested action not taken: mailbox unavailable",
        )
        .replace(
            "Reporting-MTA: dns; mx.example.net",
            "Reporting-MTA: dns; éutlook.com",
        );
        let events = classify(&report);
        assert_eq!(events[0].recipient.as_deref(), Some("jan@example.org"));
        // Not the provider's words (the name is not outlook.com's): the server's reply is
        // taken at its word.
        assert_eq!(events[0].reason, Some(Reason::UserUnknown));
    }

    #[test]
    fn a_mangled_final_recipient_type_still_names_the_address() {
        let report = dsn("failed", "5.1.1", "smtp; 550 5.1.1 User unknown").replace(
            "Final-Recipient: rfc822; jan@example.org",
            "Final-Recipient: rfc822é jan@example.org",
        );
        let events = classify(&report);
        assert_eq!(events[0].recipient.as_deref(), Some("jan@example.org"));
        assert_eq!(events[0].kind, Some(Kind::Hard));
    }

    #[test]
    fn own_addresses_may_be_non_ascii() {
        let classifier = Classifier::new(&Options {
            own_addresses: vec!["Zażółć@x.pl".into()],
            ..Options::default()
        });
        assert!(classifier.is_own("zażółć@X.pl"));
    }

    #[test]
    fn x_unix_exit_status_is_a_mailer_error() {
        let events = classify(&dsn("failed", "5.0.0", "X-Unix; 77"));
        assert_eq!(events[0].reason, Some(Reason::MailerError));
        assert_eq!(events[0].kind, Some(Kind::Soft));
    }

    #[test]
    fn google_groups_bounce_in_any_language_is_rejected() {
        let text = "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\nTo: news@example.com\n\
Subject: Delivery Status Notification (Failure)\nX-Failed-Recipients: team@googlegroups.com\n\n\
Hallo news@example.com, die Gruppe existiert nicht.\n\nGoogle Groups\n";
        let events = classify(text);
        assert_eq!(
            events[0].recipient.as_deref(),
            Some("team@googlegroups.com")
        );
        assert_eq!(events[0].reason, Some(Reason::Rejected));
        assert_eq!(events[0].kind, Some(Kind::Block));
    }

    #[test]
    fn dates_become_rfc3339() {
        assert_eq!(
            rfc3339_date("Fri, 01 Oct 2010 19:15:23 +0900").as_deref(),
            Some("2010-10-01T10:15:23Z")
        );
    }
}
