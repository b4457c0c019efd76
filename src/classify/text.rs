//! Non-standard bounces: the human-readable reports of real MTAs and providers (Postfix,
//! Exim, Sendmail, qmail, Courier, Exchange, Gmail, Domino, ...), read from their text.
//!
//! Everything here is table-driven: `RETURNED_MARKERS` say where the copy of the original
//! message starts (and so where the report's own words end), `ANCHORS` say how a line names a
//! failed recipient, `MTA_SIGNATURES` name the software that wrote the report. A recogniser
//! that finds no recipient line falls back to X-Failed-Recipients and then to the returned
//! message's To, and never reports one of the sender's own addresses.

use std::sync::LazyLock;

use regex::Regex;

use crate::classify::address;
use crate::classify::mime::Message;

/// Lines that start the copy of the original message (or its headers) inside a text bounce.
/// Matched case-insensitively against the start of the trimmed line.
const RETURNED_MARKERS: &[&str] = &[
    "------ this is a copy of the message",
    "original mail as follows:", // fml
    "--- below this line is a copy of the message",
    "------- returned message",
    "----- original message",
    "original message:",
    "original message follows",
    "--- the header of the original message",
    "from mailer-daemon ",
    "-----original message",
    "--- original message",
    "original message follows",
    "the original message was:",
    "the original message follows",
    "message headers follow",
    "------ original message",
    "----- message header follows",
    "the header of the original message",
    "headers of the original message",
    "-- the header and top",
    "----- unsent message follows",
    "----- returned message",
    "included is a copy of the message",
    "------ original message header",
    "--- the header of the original message",
    "original-envelope-id:",
    "reporting-mta:",
    "content-type: message/rfc822",
    "received: from",
    "return-path: <",
];

/// Which software wrote a report, from a phrase it always uses: (format name, phrase).
/// Checked in order against the report text, then the From and Subject.
const MTA_SIGNATURES: &[(&str, &str)] = &[
    ("postfix", "this is the mail system at host"),
    ("postfix", "this is the postfix program"),
    (
        "exim",
        "this message was created automatically by mail delivery software",
    ),
    ("exim", "x-failed-recipients"),
    ("qmail", "this is the qmail-send program"),
    ("qmail", "i'm afraid i wasn't able to deliver your message"),
    ("sendmail", "the original message was received at"),
    ("sendmail", "----- transcript of session follows -----"),
    ("courier", "courier mail server"),
    ("dragonfly", "dragonfly mail agent"),
    (
        "opensmtpd",
        "this is the mailer-daemon, please do not reply",
    ),
    ("gmail", "delivery to the following recipient failed"),
    ("gmail", "google tried to deliver your message"),
    // fml, the mailing-list manager: its notices to a poster the list refused.
    ("fml", "you are not a member of this mailing list"),
    ("fml", "duplicated message-id in <"),
    ("exchange", "did not reach the following recipient"),
    (
        "exchange",
        "your message did not reach some or all of the intended recipients",
    ),
    ("office365", "diagnostic information for administrators"),
    ("domino", "was not delivered to:"),
    ("yahoo", "sorry, we were unable to deliver your message"),
    ("yahoo", "message from yahoo"),
    (
        "outlook",
        "this is an automatically generated delivery status notification",
    ),
    (
        "messagingserver",
        "this report relates to a message you sent",
    ),
];

/// Product names that say which software wrote a message already known to be a report, but
/// not that a message is one: a person may write "we use Lotus Notes" or sign from a
/// Mimecast-filtered company.
const PRODUCT_NAMES: &[(&str, &str)] = &[
    ("googlegroups", "google groups"),
    ("notes", "lotus notes"),
    ("amazonses", "amazon ses"),
    ("amazonses", "amazonses.com"),
    ("mimecast", "mimecast"),
];

/// Providers that write their reports with software of their own (GMX and mail.ru in Exim's
/// words, MessageLabs in its own), known by the domain of the mail system the report comes
/// from: (format name, domain; its subdomains too). Checked before `MTA_SIGNATURES`.
/// Their names are no signature in the text: a person writing from jan@gmx.de or
/// ivan@mail.ru, or a footer saying "scanned by MessageLabs", sends no report.
const PROVIDER_SENDERS: &[(&str, &str)] = &[
    ("gmx", "gmx.net"),
    ("gmx", "gmx.de"),
    ("gmx", "gmx.com"),
    ("gmx", "gmx.at"),
    ("gmx", "gmx.ch"),
    ("mailru", "mail.ru"),
    ("messagelabs", "messagelabs.com"),
];

/// The provider whose mail system (MAILER-DAEMON@, postmaster@, ...) sent the report.
fn provider_format(msg: &Message) -> Option<&'static str> {
    let from = address::find_first(msg.headers.get("From")?)?;
    if !address::is_system_address(&from) {
        return None;
    }
    let (_, domain) = address::split(&from);
    PROVIDER_SENDERS
        .iter()
        .find(|(_, d)| address::in_domain(domain, d))
        .map(|(name, _)| *name)
}

/// How sure an anchor is that the address it finds is a failed recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strength {
    /// The line's shape says "this address failed" (it stands alone, or leads the line):
    /// trusted even when the address is also the sender (people test by mailing themselves).
    Strong,
    /// The address is named inside a sentence or label: dropped when it is the sender's.
    Weak,
}

/// How a line of a report names a failed recipient. Each pattern has an `a` group (the
/// address) and may have a `d` group (the server's words on the same line). `ADDR` is
/// replaced by the address pattern. The first pattern that matches a line wins.
const ANCHORS: &[(Strength, &str)] = &[
    // Final-Recipient / Original-Recipient fields written into the text.
    (
        Strength::Strong,
        r"(?i)^(?:final|original)-recipient:\s*(?:rfc822;)?\s*<?(?P<a>ADDR)>?",
    ),
    // The address alone on its line: Exim, qmail, Courier, Gmail, Domino.
    (
        Strength::Strong,
        r#"(?i)^(?:>>>\s*|[*-]\s+)?["'<]?(?P<a>ADDR)["'>]?\s*:?\s*$"#,
    ),
    // The address first, then the reason: Postfix "<a>: host said", Sendmail "a... User
    // unknown", Exchange "a on <date>", others "a (reason)", "a [reason]" or "a - reason".
    (
        Strength::Strong,
        r#"(?i)^(?:>>>\s*|[*-]\s+)?["'<]?(?P<a>ADDR)["'>]?\s*(?:\.\.\.|:|\s+on\s|\s+-+\s|\s*\(|\s*\[|\s*,|\s+<<<|\s+>>>|\s+<)\s*(?P<d>.*)$"#,
    ),
    // Zoho: "a Invalid Address, ERROR_CODE :550, ERROR_CODE :<the server's words>".
    (
        Strength::Strong,
        r"(?i)^<?(?P<a>ADDR)>?\s+(?P<d>[^@]*\berror_code\b.*)$",
    ),
    // Sendmail transcripts: "550 <a>... User unknown", "554 5.0.0 <a>... Service unavailable".
    (
        Strength::Strong,
        r"(?i)^[245]\d\d[ -](?:[245]\.\d{1,3}\.\d{1,3}\s+)?<?(?P<a>ADDR)>?\.\.\.\s*(?P<d>.*)$",
    ),
    // SMTP transcripts: RCPT TO:<a> followed by the reply.
    (
        Strength::Strong,
        r"(?i)rcpt\s+to:\s*<?(?P<a>ADDR)>?(?P<d>.*)$",
    ),
    // A labelled address: "Recipient address: a", "Failed recipient: a", "Unknown user: a".
    (
        Strength::Weak,
        r"(?i)(?:recipient|recipients|address|addressee|user|mailbox|rcpt|destinat[a-z]*)(?:\s+address)?\s*:\s*<?(?P<a>ADDR)>?(?P<d>.*)$",
    ),
    // A mailing-list manager (fml) names the list that refused the message; the whole line
    // is the reason.
    (
        Strength::Weak,
        r"(?i)^(?P<d>.*\b(?:this mailing list|duplicated message-id in)\s+<(?P<a>ADDR)>.*)$",
    ),
    // "... delivering your mail to <a>", "could not be delivered to: a", "message to a was".
    (
        Strength::Weak,
        r#"(?i)\b(?:to|for)\s*:?\s*["'<](?P<a>ADDR)["'>](?P<d>.*)$"#,
    ),
    (
        Strength::Weak,
        r"(?i)(?:delivering (?:your )?(?:mail|message) to|delivered to|delivery to|deliver to|message to|mail to|sent to|failed for|undeliverable to|address(?:ed)? to)\s*:?\s+<?(?P<a>ADDR)>?(?P<d>.*)$",
    ),
];

/// All anchors in one set, so a line is scanned once to learn which (if any) pattern matches
/// before the one capturing search.
static ANCHOR_SET: LazyLock<regex::RegexSet> = LazyLock::new(|| {
    regex::RegexSet::new(ANCHOR_REGEXES.iter().map(|(_, re)| re.as_str())).expect("anchor set")
});

static ANCHOR_REGEXES: LazyLock<Vec<(Strength, Regex)>> = LazyLock::new(|| {
    let addr = r#"(?:"[^"]{1,64}"|[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+)@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z0-9-]+"#;
    ANCHORS
        .iter()
        .map(|(strength, p)| {
            (
                *strength,
                Regex::new(&p.replace("ADDR", addr)).expect("anchor pattern"),
            )
        })
        .collect()
});

/// Sendmail's statements about a host rather than a recipient ("550 example.org (smtp)... 550
/// Host unknown", "... while talking to mx.example.org:"): they end the words of the recipient
/// (or the reply) above them, which they do not concern.
static SENDMAIL_HOST_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:[245]\d\d [^\s@<>]+ \([a-z0-9-]+\)\.\.\. |(?:\.\.\. )?while talking to )")
        .expect("Sendmail host line")
});

/// Does `line` start something other than the words above it (another recipient, another
/// host)?
fn starts_another_statement(line: &str) -> bool {
    SENDMAIL_HOST_LINE.is_match(line)
        || match_anchor(line).is_some_and(|(strength, _, _)| strength == Strength::Strong)
}

/// The first line of the report that is a server's reply ("550 5.1.1 <a@b>: User unknown"),
/// with the lines that continue it: the best diagnostic when the recipient's own lines carry
/// no reply code (Gmail, Exchange and others quote the reply in a paragraph of its own).
pub fn server_reply(report: &str) -> Option<String> {
    static REPLY_LINE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)(?:^(?:<<<\s*)?|said:\s*)[45]\d\d[ -]").expect("reply line pattern")
    });
    let lines: Vec<&str> = report.lines().map(str::trim).collect();
    let (start, at) = lines
        .iter()
        .enumerate()
        .find_map(|(i, l)| REPLY_LINE.find(l).map(|m| (i, m.start())))?;
    let mut reply: Vec<&str> = vec![&lines[start][at..]];
    reply.extend(
        lines[start + 1..]
            .iter()
            .take_while(|l| !l.is_empty() && !starts_another_statement(l))
            .take(5)
            .copied(),
    );
    let text = reply.join(" ");
    Some(text.trim_start_matches("said:").trim().to_string())
}

/// A failed recipient found in the report text, with the words the report gives for it.
#[derive(Debug, Clone, PartialEq)]
pub struct TextRecipient {
    pub recipient: String,
    pub diagnostic: Option<String>,
}

/// The report's own words: the readable text up to the copy of the original message.
pub fn report_text(msg: &Message) -> &str {
    split_at_returned(&msg.text).0
}

/// Splits readable text into the report's own words and what follows the first marker of
/// the returned message (the marker line excluded).
pub fn split_at_returned(text: &str) -> (&str, &str) {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if offset > 0
            && RETURNED_MARKERS
                .iter()
                .any(|m| starts_with_ignore_case(trimmed, m))
        {
            let rest = if is_header_line(trimmed) {
                &text[offset..]
            } else {
                &text[offset + line.len()..]
            };
            return (&text[..offset], rest);
        }
        offset += line.len();
    }
    (text, "")
}

/// ASCII case-insensitive prefix test, without allocating.
fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len()
        && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

/// Markers that are themselves the first header of the returned copy.
fn is_header_line(lower: &str) -> bool {
    [
        "received:",
        "return-path:",
        "content-type:",
        "reporting-mta:",
        "original-envelope-id:",
    ]
    .iter()
    .any(|h| lower.starts_with(h))
}

/// The provider or software that wrote the report, when its mail system's address or a
/// signature phrase says so.
pub fn mta_format(msg: &Message, report: &str) -> Signed {
    if let Some(provider) = provider_format(msg) {
        return Signed::Report(provider);
    }
    let haystack = format!(
        "{}\n{}\n{}",
        report.to_ascii_lowercase(),
        msg.headers.get("From").unwrap_or("").to_ascii_lowercase(),
        msg.headers
            .get("Subject")
            .unwrap_or("")
            .to_ascii_lowercase()
    );
    let signed = MTA_SIGNATURES
        .iter()
        .find(|(_, phrase)| haystack.contains(phrase))
        .map(|(name, _)| *name);
    if let Some(format) = signed {
        return Signed::Report(format);
    }
    let named = PRODUCT_NAMES
        .iter()
        .find(|(_, name)| haystack.contains(name))
        .map(|(format, _)| *format);
    // X-Failed-Recipients says "report"; Exim writes it, but so do others (Google Groups),
    // whose name then says which.
    match (msg.headers.get("X-Failed-Recipients"), named) {
        (Some(_), Some(format)) => Signed::Report(format),
        (Some(_), None) => Signed::Report("exim"),
        (None, Some(format)) => Signed::Named(format),
        (None, None) => Signed::Nothing,
    }
}

/// What `mta_format` found in a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signed {
    /// A phrase only that software's reports use: the message is a report, in this format.
    Report(&'static str),
    /// A product's name: the format, should the message be a report.
    Named(&'static str),
    Nothing,
}

impl Signed {
    /// The format named, whatever the evidence.
    pub fn format(self) -> Option<&'static str> {
        match self {
            Signed::Report(f) | Signed::Named(f) => Some(f),
            Signed::Nothing => None,
        }
    }
}

/// The recipients a text report names, in order, each once, without the sender's own
/// addresses (`is_own`).
/// `is_own` drops the user's own addresses from every anchor; `is_sender` drops the
/// original sender's addresses from weak anchors only.
pub fn recipients(
    report: &str,
    is_own: &dyn Fn(&str) -> bool,
    is_sender: &dyn Fn(&str) -> bool,
) -> Vec<TextRecipient> {
    let lines: Vec<&str> = report.lines().map(|l| l.trim()).collect();
    let found = recipients_in_lines(&lines, is_own, is_sender);
    if !found.is_empty() {
        return found;
    }
    // A bounce forwarded with every line quoted ("> ...") still names its recipients.
    let unquoted: Vec<&str> = lines
        .iter()
        .map(|l| if is_quoted_line(l) { l[1..].trim() } else { l })
        .collect();
    recipients_in_lines(&unquoted, is_own, is_sender)
}

fn recipients_in_lines(
    lines: &[&str],
    is_own: &dyn Fn(&str) -> bool,
    is_sender: &dyn Fn(&str) -> bool,
) -> Vec<TextRecipient> {
    let mut found: Vec<TextRecipient> = Vec::new();
    // How each of `found` was named: a line's shape beats a sentence.
    let mut named: Vec<Strength> = Vec::new();
    let mut anchor_lines = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.len() > 1000 {
            continue;
        }
        if is_quoted_line(line) {
            continue;
        }
        let Some((strength, addr, rest)) = match_anchor(line) else {
            continue;
        };
        let Some(recipient) = address::normalize(&addr) else {
            continue;
        };
        if is_own(&recipient) || address::is_system_address(&recipient) {
            continue;
        }
        if strength == Strength::Weak && (is_sender(&recipient) || is_quoted_header(line)) {
            continue;
        }
        anchor_lines.push(i);
        let diagnostic = diagnostic_after(lines, i, &rest);
        match found
            .iter()
            .position(|f| address::same(&f.recipient, &recipient))
        {
            Some(k) => {
                // The words after a line that names the address by its shape beat the rest of
                // a sentence that mentioned it first (Office 365: "Your message to a@b
                // couldn't be delivered.", then "a@b" alone and the server's reply).
                let stronger = strength == Strength::Strong && named[k] == Strength::Weak;
                if found[k].diagnostic.is_none() || (stronger && diagnostic.is_some()) {
                    found[k].diagnostic = diagnostic;
                }
                if stronger {
                    named[k] = strength;
                }
            }
            None => {
                found.push(TextRecipient {
                    recipient,
                    diagnostic,
                });
                named.push(strength);
            }
        }
    }
    found
}

/// A line of the original message quoted back with "> " (not an SMTP transcript's ">>>").
fn is_quoted_line(line: &str) -> bool {
    line.starts_with('>') && !line.starts_with(">>>")
}

/// A header line of the quoted original ("To: ...", "> From: ..."): it names who the
/// message was for or from, not who failed.
fn is_quoted_header(line: &str) -> bool {
    let line = line.trim_start_matches(['>', ' ']).to_ascii_lowercase();
    [
        "to:",
        "from:",
        "cc:",
        "bcc:",
        "reply-to:",
        "sender:",
        "return-path:",
        "delivered-to:",
        "x-original-to:",
    ]
    .iter()
    .any(|h| line.starts_with(h))
}

fn match_anchor(line: &str) -> Option<(Strength, String, String)> {
    if !line.contains('@') {
        return None;
    }
    let first = ANCHOR_SET.matches(line).iter().next()?;
    let (strength, re) = &ANCHOR_REGEXES[first];
    let caps = re.captures(line)?;
    let addr = caps.name("a")?.as_str().to_string();
    let rest = caps
        .name("d")
        .map(|d| d.as_str().trim().to_string())
        .unwrap_or_default();
    Some((*strength, addr, rest))
}

/// The server's words for the recipient on line `i`: the rest of that line, then the lines
/// that follow up to a blank line (or, when the address stood alone, the next paragraph).
fn diagnostic_after(lines: &[&str], i: usize, rest: &str) -> Option<String> {
    let mut words: Vec<&str> = Vec::new();
    if rest.chars().filter(|c| c.is_alphanumeric()).count() > 3 {
        words.push(rest);
    }
    let mut j = i + 1;
    if words.is_empty() {
        while j < lines.len() && lines[j].is_empty() && j < i + 3 {
            j += 1;
        }
        // Domino puts a heading of its own between the address and the reason ("because:").
        if lines.get(j).is_some_and(|l| is_heading(l))
            && lines.get(j + 1).is_some_and(|l| l.is_empty())
        {
            j += 2;
        }
    }
    while j < lines.len() && !lines[j].is_empty() && !lines[j].starts_with("--") && words.len() < 8
    {
        if starts_another_statement(lines[j]) {
            break;
        }
        words.push(lines[j]);
        j += 1;
    }
    if words.is_empty()
        && lines.get(i + 1).is_none_or(|l| l.is_empty())
        && let Some(before) = i.checked_sub(1).map(|k| lines[k])
        && is_reason_above(before)
    {
        // Lotus Notes writes the reason first, then the address it concerns.
        words.push(before);
    }
    let text = words.join(" ");
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}

/// A short line that only introduces what follows ("because:", "Reason:").
fn is_heading(line: &str) -> bool {
    line.len() <= 20 && line.ends_with(':') && !line.contains('@') && !line.contains(' ')
}

/// Can the line just above a bare address (with nothing below it) be its reason? Not a blank
/// line, a rule, a heading that introduces a list ("... the following addresses:"), or a line
/// about another address.
fn is_reason_above(line: &str) -> bool {
    !line.is_empty() && !line.starts_with("--") && !line.ends_with(':') && !line.contains('@')
}

/// Builds this module's tables now (see `classify::warm_up`).
pub(crate) fn warm_up() {
    LazyLock::force(&ANCHOR_SET);
    LazyLock::force(&SENDMAIL_HOST_LINE);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none(_: &str) -> bool {
        false
    }

    #[test]
    fn qmail_style_address_line_then_reason() {
        let report = "Hi. This is the qmail-send program at mx.example.jp.\n\n<kijitora@example.ne.jp>:\nremote host said: 550 Unknown user\n\n";
        let found = recipients(report, &none, &none);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].recipient, "kijitora@example.ne.jp");
        assert_eq!(
            found[0].diagnostic.as_deref(),
            Some("remote host said: 550 Unknown user")
        );
    }

    #[test]
    fn sendmail_style_address_then_dots() {
        let found = recipients("<neko@example.org>... User unknown\n", &none, &none);
        assert_eq!(found[0].recipient, "neko@example.org");
        assert_eq!(found[0].diagnostic.as_deref(), Some("User unknown"));
    }

    #[test]
    fn own_and_system_addresses_are_skipped() {
        let own = |a: &str| a.ends_with("@sender.example");
        let report = "To: <me@sender.example>\nMAILER-DAEMON@mx.example.org:\n<you@rcpt.example>: mailbox full\n";
        let found = recipients(report, &own, &none);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].recipient, "you@rcpt.example");
    }

    #[test]
    fn a_reason_written_above_a_bare_address_is_its_diagnostic() {
        let report = "------- Failure Reasons  --------\nUser not listed in public Name & Address Book\na@b.example\n\n";
        let found = recipients(report, &none, &none);
        assert_eq!(
            found[0].diagnostic.as_deref(),
            Some("User not listed in public Name & Address Book")
        );
        // ... but never a heading, nor the words of another address.
        let found = recipients(
            "The following addresses failed:\na@b.example\n",
            &none,
            &none,
        );
        assert_eq!(found[0].diagnostic, None);
        let found = recipients("a@b.example: mailbox full\nc@d.example\n", &none, &none);
        assert_eq!(found[1].diagnostic, None);
    }

    #[test]
    fn zoho_style_address_then_error_code() {
        let found = recipients(
            "a@b.example Invalid Address, ERROR_CODE :550, ERROR_CODE :mailbox unavailable\n",
            &none,
            &none,
        );
        assert_eq!(found[0].recipient, "a@b.example");
        assert_eq!(
            found[0].diagnostic.as_deref(),
            Some("Invalid Address, ERROR_CODE :550, ERROR_CODE :mailbox unavailable")
        );
    }

    #[test]
    fn a_sendmail_line_about_another_host_ends_a_recipients_words() {
        let report = "554 <a@b.example>... Remote protocol error: Connection reset by peer\n550 c.example (smtp)... 550 Host unknown\n554 <d@c.example>... 550 Host unknown\n";
        let found = recipients(report, &none, &none);
        assert_eq!(
            found[0].diagnostic.as_deref(),
            Some("Remote protocol error: Connection reset by peer")
        );
        assert_eq!(found[1].recipient, "d@c.example");
    }

    #[test]
    fn dragonfly_style_sentence() {
        let found = recipients(
            "There was an error delivering your mail to <a@b.example>.\n",
            &none,
            &none,
        );
        assert_eq!(found[0].recipient, "a@b.example");
    }

    #[test]
    fn a_providers_report_is_known_by_its_mail_systems_address() {
        let msg = |from: &str| {
            let raw = format!("From: {from}\nTo: news@example.com\nSubject: Hello\n\nHello.\n");
            Message::from_mail(&mailparse::parse_mail(raw.as_bytes()).unwrap())
        };
        assert_eq!(
            mta_format(&msg("Mail Delivery System <mailer-daemon@gmx.net>"), ""),
            Signed::Report("gmx")
        );
        assert_eq!(
            mta_format(&msg("<MAILER-DAEMON@corp.mail.ru>"), ""),
            Signed::Report("mailru")
        );
        // A person at the provider, or its name in the text, is no report.
        assert_eq!(mta_format(&msg("Jan <jan@gmx.de>"), ""), Signed::Nothing);
        assert_eq!(
            mta_format(&msg("Ivan <ivan@mail.ru>"), "see mail.ru"),
            Signed::Nothing
        );
        assert_eq!(
            mta_format(&msg("Jan <jan@example.org>"), "Scanned by MessageLabs"),
            Signed::Nothing
        );
        // A product's name only names the format of what is otherwise known to be a report.
        assert_eq!(
            mta_format(&msg("Anna <anna@example.org>"), "we moved to Mimecast"),
            Signed::Named("mimecast")
        );
        assert_eq!(
            mta_format(
                &msg("Anna <anna@example.org>"),
                "This is the Postfix program"
            ),
            Signed::Report("postfix")
        );
    }

    #[test]
    fn a_heading_between_the_address_and_its_reason_is_skipped() {
        let report = "was not delivered to:\n\n  a@b.example\n\nbecause:\n\n  User a (a@b.example) not listed in Domino Directory\n";
        let found = recipients(report, &none, &none);
        assert_eq!(
            found[0].diagnostic.as_deref(),
            Some("User a (a@b.example) not listed in Domino Directory")
        );
    }

    #[test]
    fn the_words_after_the_address_alone_beat_a_sentence_that_named_it_first() {
        let report = "Your message to a@b.example couldn't be delivered.\n\na@b.example\nRemote Server returned '550 5.1.10 RecipientNotFound'\n";
        let found = recipients(report, &none, &none);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].diagnostic.as_deref(),
            Some("Remote Server returned '550 5.1.10 RecipientNotFound'")
        );
    }
}
