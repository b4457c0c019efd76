//! The reply classifier: from an SMTP reply code, an RFC 3463 enhanced status code and the
//! server's text to a (kind, reason) verdict.
//!
//! `classify` uses it for DSN `Diagnostic-Code` text and for plain-text bounces; `send` uses it
//! for synchronous SMTP rejections. Everything it knows lives in data tables below:
//!
//! * phrase tables, one per reason, matched by a single Aho-Corasick automaton (ASCII
//!   case-insensitive, leftmost-longest, so a long specific phrase hides the shorter phrases
//!   inside it), plus a short table of regexes for phrases with a variable middle;
//! * a priority order that decides between reasons when several phrases match;
//! * a status table (RFC 3463 / RFC 5248 defaults), and a last-resort reply-code table.
//!
//! The text decides first, then the status, then the reply code; but a *weak* phrase (generic
//! words such as "mailbox unavailable" or "access denied") does not override a status code that
//! is specific enough to be trusted (for example X.1.1 or X.2.2).
//!
//! What this module must never do: call a sender-side problem (blacklisted IP, reputation,
//! authentication, policy, relaying, rate limits) the address's fault. Those reasons all have
//! `Kind::Block`, and only the four "the address is bad" reasons (user_unknown, host_unknown,
//! has_moved, not_accept) can ever produce `Kind::Hard` — and only for a permanent failure.
//!
//! Performance: the automaton and regexes are built once; a call allocates nothing.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::bytes::{Regex, RegexBuilder};

use crate::record::{Kind, Reason};

/// Result of classifying one SMTP reply / diagnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub kind: Kind,
    pub reason: Reason,
}

/// How much a phrase says on its own.
///
/// A `Weak` phrase is a generic wording ("mailbox unavailable", "access denied") that servers
/// use for many different problems; a trusted status code beats it. A `Strong` phrase names the
/// problem precisely and beats any status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Weight {
    Weak,
    Strong,
}

use Weight::{Strong, Weak};

/// One row of the phrase tables: every phrase in `phrases` names `reason`.
/// Phrases are lower case; matching is ASCII case-insensitive.
struct PhraseTable {
    reason: Reason,
    weight: Weight,
    phrases: &'static [&'static str],
}

const fn table(reason: Reason, weight: Weight, phrases: &'static [&'static str]) -> PhraseTable {
    PhraseTable {
        reason,
        weight,
        phrases,
    }
}

/// One row of the regex table, for wordings with a variable middle ("mailbox ... full").
/// Patterns are compiled case-insensitive and ASCII-only.
struct PatternRow {
    reason: Reason,
    weight: Weight,
    pattern: &'static str,
}

const fn pattern(reason: Reason, weight: Weight, pattern: &'static str) -> PatternRow {
    PatternRow {
        reason,
        weight,
        pattern,
    }
}

// ---------------------------------------------------------------------------------------------
// Phrase tables, one per reason. They are facts about the wording of real MTAs.
// ---------------------------------------------------------------------------------------------

/// The local part does not exist.
const USER_UNKNOWN: &[&str] = &[
    "user unknown",
    "please check if address is correct",
    "check the recipient address",
    "recipient not found",
    "unknown user",
    "no such user",
    "no such recipient",
    "no such mailbox",
    "no such address",
    "no such person",
    "unknown recipient",
    "recipient unknown",
    "unknown mailbox",
    "mailbox unknown",
    "address unknown",
    "invalid recipient",
    "invalid mailbox",
    "not a valid mailbox",
    "not a valid recipient",
    "not a valid user",
    "is not a known user",
    "no mailbox here by that name",
    "no mailbox by that name",
    "no mailbox found",
    "no account by that name",
    "mailbox not found",
    "mailbox does not exist",
    "mailbox not present",
    "mailbox invalid",
    "mailbox is inactive",
    "user not found",
    "user does not exist",
    "user doesn't exist",
    "user not exist",
    "user not known",
    "user not active",
    "recipient not found",
    "recipient does not exist",
    "recipient not exist",
    "recipient address does not exist",
    "address does not exist",
    "email address does not exist",
    "email address could not be found",
    "address not present in directory",
    "account does not exist",
    "account that you tried to reach does not exist",
    "destination addresses were unknown",
    "there is no one at this address",
    "this user doesn't have a",
    "recipientnotfound",
    "recipient address rejected: access denied",
    "recipient address rejected: invalid user",
    "recipient address rejected: unknown user",
    "recipient address rejected: user unknown",
    "recipient address rejected: invalid-recipient",
    "inactive email address",
    "not a local address",
    "badrcptto",
    "not in my validrcptto list",
    "no mail box available for this user",
    "unknown local part",
    "unknown local-part",
    "invalid or unknown virtual user",
    "user missing home directory",
    "this address no longer accepts mail",
    "email address is wrong or no longer valid",
    "utilisateur inconnu",
    "destinataire invalide",
    "no existe dicha persona",
    "no existe ese usuario",
    "nessun utente simile",
];

/// Generic wordings that usually mean an unknown recipient but are also used for other refusals.
const USER_UNKNOWN_WEAK: &[&str] = &[
    "address not found", // Gmail's heading for unknown users and unknown domains alike
    "mailbox unavailable",
    "mailbox is unavailable",
    "recipient address rejected",
    "recipient rejected",
    "address rejected",
    "recipient not ok",
    "invalid address", // also said of a sender address (X.1.7)
    "recipient is not accepted",
    "recipient is not local",
];

/// The domain part does not exist (or has no usable mail route).
const HOST_UNKNOWN: &[&str] = &[
    "host unknown",
    "unknown host",
    "domain not found",
    "domain name not found",
    "host or domain name not found",
    "no such domain",
    "domain does not exist",
    "domain doesn't exist",
    "domain doesnt exist", // au (KDDI): "As the remote domain doesnt exist"
    "domain must exist",
    "domain is not reachable",
    "host not found",
    "host unreachable",
    "name or service not known",
    "unroutable address",
    "unrouteable address",
    "unknown domain",
    "mail domain mentioned in email address is unknown",
    "the account or domain may not exist",
    // GoDaddy: "The account or domain may not exist, they may be blacklisted, or missing the
    // proper dns entries." The guess at a block list is not a block list's answer.
    "the account or domain may not exist, they may be blacklisted",
];

/// A DNS failure wording that, without better evidence, means the domain cannot be resolved.
const HOST_UNKNOWN_WEAK: &[&str] = &["name service error"];

/// The mailbox has moved and mail is not forwarded.
const HAS_MOVED: &[&str] = &[
    "has been replaced by",
    "no longer on server",
    "mailbox has moved",
    "user has moved",
    "address has changed",
];

/// The destination does not accept mail at all (null MX, RFC 7505; "521"/"556" hosts).
const NOT_ACCEPT: &[&str] = &[
    "null mx",
    "system not accepting network messages",
    "indicated no smtp service",
    "no smtp service",
    "nullmx",
    "does not accept mail",
    "doesn't receive email",
    "does not receive email",
    "mail receiving disabled",
    "no mx record found for domain",
    "domain does not accept email",
    // qmail: the domain exists, but has neither an MX nor an address to deliver to.
    "couldn't find a mail exchanger or ip address",
];

/// The recipient's mailbox is over its quota.
const MAILBOX_FULL: &[&str] = &[
    "mailbox full",
    "mailbox is full",
    "full mailbox",
    "mailfolder is full",
    "over quota",
    "overquota",
    "quota exceeded",
    "quota violation",
    "exceeded storage allocation",
    "exceeded its storage",
    "mailbox size limit exceeded",
    "mailbox limit exceeded",
    "mailbox exceeds allowed size",
    "would exceed maximum allowed storage",
    "out of storage space",
    "insufficient disk space",
    "not enough disk space",
    "not sufficient disk space",
    "no space left on device",
    "user's space has been used up",
    "too much mail data",
    "user has too many messages on the server",
    "boite du destinataire pleine",
    "quotaexceeded",
];

/// The message is larger than the server (or the mailbox) accepts.
const MESSAGE_TOO_BIG: &[&str] = &[
    "message too big",
    "message too large",
    "message is too large",
    "message is too big",
    "message file too big",
    "message size exceeds",
    "exceeds size limit",
    "size limit",
    "max message size exceeded",
    "exceeded maximum inbound message size",
    "exceeded the maximum incoming message size",
    "message length exceeds administrative limit",
    "message exceeds maximum size",
    "message exceeds the maximum size",
    "line limit exceeded",
    "taille limite du message atteinte",
];

/// A per-mailbox or per-header limit other than storage was exceeded (RFC 3463 X.2.3).
const EXCEED_LIMIT: &[&str] = &[
    "message length exceeds limit",
    "message header size exceeds limit",
];

/// The account exists but is disabled or suspended.
const SUSPENDED: &[&str] = &[
    "account has been disabled",
    "account is disabled",
    "account is temporarily limited", // au: "The user(s) account is temporarily limited."
    "account disabled",
    "account has been suspended",
    "account is suspended",
    "has been suspended",
    "is currently suspended",
    "user suspended",
    "mailbox disabled",
    "mailbox is disabled",
    "mailbox currently suspended",
    "mailbox is frozen",
    "mailbox unavailable or access denied",
    "account that you tried to reach is disabled",
    "account that you tried to reach is inactive",
    "account has been disabled or discontinued",
    "inactive account",
    "invalid/inactive user",
    "is a deactivated mailbox",
    "user is terminated",
    "temporarily inactive",
    "temporary locked",
    "account is locked",
    "archived recipient",
    "disabled recipient",
    "recipient suspend the service",
    "user or domain is disabled",
    "boite du destinataire archivee",
];

/// Delivery was retried until the queue lifetime ran out.
const EXPIRED: &[&str] = &[
    "was not delivered within",
    "delivery time expired",
    "envelope expired",
    "could not deliver for the last",
    "delivery was aborted after",
    "was aborted after",
    "delivery expired",
    "retry timeout exceeded",
    "message expired",
    "queue.expired",
    "message timed out",
    "have been failing for a long time",
    "has not been collected after",
    "unable to deliver message after multiple retries",
    "was not reachable within the allowed queue period",
    "could not be delivered for more than",
    "retry time not reached for any host after a long failure period",
    "delivery attempts will continue to be",
    "did not accept our requests to connect",
    "server did not respond",
];

/// The queue gave up, said in words that often follow a more specific cause.
const EXPIRED_WEAK: &[&str] = &[
    "giving up on",
    "this message has been in the queue too long",
    "i'm not going to try again",
    "connection timed out",
    "will be retried for",
    "host not reachable", // Zoho, when it gives up
];

/// Network, DNS and routing-loop failures.
const NETWORK_ERROR: &[&str] = &[
    "dns error",
    "wasn't able to establish an smtp connection",
    "was not able to establish an smtp connection",
    "network error on destination",
    "host not found, try again",
    "too many hops",
    "hop count exceeded",
    "routing loop",
    "mail forwarding loop",
    "message looping",
    "maximum forwarding loop count exceeded",
    "no route to host",
    "host is unreachable",
    "network is unreachable",
    "host name lookup failure",
    "malformed name server reply",
    "malformed or unexpected name server reply",
    "unable to resolve route",
    "unrouteable mail domain",
    "dns records for the destination computer could not be found",
    "could not connect and send the mail to",
    "dns lookup failed",          // Courier
    "exceeded maximum hop count", // Lotus Notes
];

/// Symptoms of a network problem that other, better evidence may explain.
const NETWORK_ERROR_WEAK: &[&str] = &[
    "connection refused",
    "connection reset",
    "timed out",
    "lost connection",
    "connection dropped",
];

/// The remote system itself failed.
const SYSTEM_ERROR: &[&str] = &[
    "ofr005_505", // Orange / Wanadoo: "Service refuse ... OFR005_505"
    "local error in processing",
    "unable to contact ldap server",
    "local configuration error",
    "mail system configuration error",
    "server configuration error",
    "system config error",
    "remote server is misconfigured",
    "temporary local problem",
    "queue file write error",
    "interrupted system call",
    "could not load drd for domain",
    "internal error reading data",
    "internal server error",
    "it encountered an error while being processed",
    "aliasing/forwarding loop broken",
    "it would create a mail loop",
    "loops back to myself",
    "duplicated message-id", // fml's loop guard: the list has seen this message before
    "loop was found in the mail exchanger",
    "can't create user output file",
    "timeout waiting for input",
    "this domain's dns violates rfc 1035", // Courier
    "several matches found in domino directory",
];

const SYSTEM_ERROR_WEAK: &[&str] = &["service currently unavailable", "service unavailable"];

/// The remote mail system is out of storage (not one mailbox).
const SYSTEM_FULL: &[&str] = &["mail system full", "insufficient system storage"];

/// A local delivery program (procmail, a pipe) failed.
const MAILER_ERROR: &[&str] = &[
    "x-unix;",
    "mailer error",
    "procmail:",
    "bin/procmail",
    "bin/maildrop",
    "command failed:",
    "command died with status",
    "command output:",
    "pipe to |",
];

/// The recipient's own filter or preferences refused the message.
const FILTERED: &[&str] = &[
    "rejected by filter",
    "recipient's filter",
    "recipients filter",
    "message filtered",
    "message rejected due to user rules",
    "refused due to recipient preferences",
    "user refuses to receive",
    "user reject",
    "recipient id refuse to receive mail",
    "is only accepting mail from specific email addresses",
    "you have been blocked by the recipient",
    "has restricted sms e-mail",
    "account is protected by",
    "email preferences of the person",
    "is not accepting any mail",
    "cannot route mail to user", // Domino
    "(000c0595)",                // Exchange 2003: "... (000C0595) Ambiguous Recipient"
    // au (EZweb): what its recipients' domain filters answer.
    "each of the following recipients was rejected by a remote mail server",
];

/// The recipient (server or network) does not allow the sender to relay.
const NO_RELAYING: &[&str] = &[
    "relay access denied",
    "relaying denied",
    "relay denied",
    "relay not permitted",
    "relaying not permitted",
    "relaying not allowed",
    "no relaying",
    "unable to relay",
    "not permitted to relay",
    "not allowed to relay",
    "not an open relay",
    "is not configured to relay mail",
    "insecure mail relay",
    "we don't handle mail for",
    "that domain isn't in my list of allowed rcpthost",
    "as a relay",
    "due to the following smtp relay error", // au (KDDI)
];

/// The envelope sender (MAIL FROM) was refused.
const REJECTED: &[&str] = &[
    "sender address rejected",
    "an address that has been blacklisted",
    "may not have permission to post",
    "sender rejected",
    "sender was rejected",
    "sender email address rejected",
    "sender verify failed",
    "sender not pre-approved",
    "sender is spammer",
    "sender is in my black list",
    "sender address has been blacklisted",
    "your email address has been blacklisted",
    "domain of sender address",
    "sender domain is empty",
    "sender domain must exist",
    "invalid sender",
    "unroutable sender address",
    "mail from not owned by user",
    "bogus mail from",
    "null sender is not allowed",
    "empty envelope senders not allowed",
    "returned mail not accepted here",
    "no third-party dsns",
    "can't determine purported responsible address",
    "batv failed to verify",
    "batv validation failure",
    "rejected by batv",
    "administrative prohibition",
    "this server does not accept mail from",
    "you are not allowed to post to this mailing list",
    "you are not a member of this mailing list", // fml
    "access denied (sender blacklisted)",
    "emetteur invalide",
    "email address is not verified",
    "please provide a valid from", // "From: Domain is invalid. Please provide a valid From:"
];

/// Generic refusals that, without a better phrase, most often concern the sender.
const REJECTED_WEAK: &[&str] = &["access denied"];

/// The sending IP or host is blocked (RBL, local block list, refused connection by policy).
const BLOCKED: &[&str] = &[
    "blocked using",
    "my name was rejected",
    "refused to talk to me",
    "error from remote mail server after initial connection",
    "invalid ip for sending",
    "too many unwanted messages",
    "blacklisted",
    "black-listed",
    "black list",
    "blocklist",
    "block list",
    "spamhaus",
    "spamcop",
    "barracudacentral",
    "sorbs.net",
    "dnsbl",
    "client host rejected",
    "helo command rejected",
    "banned sending ip",
    "sender ip address rejected",
    "bad sender ip address",
    "is not allowed to send mail from",
    "you are not allowed to connect",
    "not currently accepting mail from your ip",
    "esmtp not accepting connections",
    "hosts with dynamic ip",
    "dynamic ip",
    "rejecting open proxy",
    "part of their network is on our block list",
    "your ip address is listed",
    "ip address is listed",
    "blocked - see http",
    "refused - see http",
    "was blocked by",
    "blocked by rbl",
    "go away",
    "service refuse",
    "too many spams from your ip",
    "you are sending spam",
    "please use the smtp server of your isp",
    "listed as abusive",
    "host network not allowed",
];

/// The content was judged to be spam.
const SPAM_DETECTED: &[&str] = &[
    "ofr_506", // Orange / Wanadoo: "Mail rejete. Mail rejected. OFR_506"
    "spam detected",
    "detected as spam",
    "identified as spam",
    "classified as spam",
    "considered spam",
    "considered as spam",
    "spam message rejected",
    "spam message",
    "message looks like spam",
    "appears to be spam",
    "looked like spam",
    "rejected as spam",
    "spam content",
    "spam classification",
    "spam score",
    "spam not accepted",
    "spam refused",
    "spam rejection",
    "spam blocked",
    "spam-like",
    "probable spam",
    "high probability of spam",
    "unsolicited",
    "bulk email",
    "bulk mail",
    "message content rejected",
    "content filter rejection",
    "rejecting banned content",
    "mail content denied",
    "blocked by spamassassin",
    "spamassassin",
    "spam firewall",
    "spam & virus firewall",
    "message contains spam or virus",
    "message considered as spam or virus",
    "possible spam/virus content",
    "prohibited virus or spam content",
    "- spam",
    "spamming not allowed",
    "spam complaints",
    "failed several antispam checks",
    "uribl",
    "blacklisted url in message", // IMail; longer than the block list's "blacklisted"
];

/// The content carried a virus or a dangerous attachment.
const VIRUS_DETECTED: &[&str] = &[
    "virus",
    "malware",
    "infected",
    "potentially executable attachment",
    "executable files are not allowed",
    // Mimecast: "554 Email rejected due to security policies - MCSpamSignature...", its code
    // for a message that matched a virus signature (or scored above the spam ceiling).
    "email rejected due to security policies",
];

/// The message broke a local policy (content, attachments, list membership).
const POLICY_VIOLATION: &[&str] = &[
    "policy violation",
    "denied by policy",
    "for policy reasons",
    "rejected for policy reasons",
    "due to local policy",
    "due to security policies",
    "by organization policy",
    "due to organizational settings",
    "protocol violation",
    "closed mailing list",
    "members-only list",
    "is not subscribed to this group",
    "illegal attachment",
    "header are not accepted",
    "header error",
    "content presents a potential",
    "containing images or other attachments",
    "you're using a mass mailer",
    "message given low priority",
];

/// A security check failed (authentication required, credentials, certificate).
const SECURITY_ERROR: &[&str] = &[
    "authentication required",
    "turn on smtp authentication",
    "authentication failure",
    "authentication failed",
    "authentication credentials invalid",
    "unauthenticated senders not allowed",
    "you don't authenticate",
    "not authorized to send mail, authentication is required",
    "verification failure",
    "account not subscribed to ses",
    "is a dead domain",
];

/// The sender's domain failed SPF, DKIM or DMARC.
const AUTH_FAILURE: &[&str] = &[
    "bad spf records",
    "spf check",
    "spf fail",
    "spf softfail",
    "spf validation",
    "failed spf",
    "spf record check",
    "per it's spf record",
    "per its spf record",
    "dmarc check",
    "dmarc fail",
    "dmarc verification",
    "dmarc rejection",
    "sender policy framework",
    "dmarc policy",
    "dkim check failed",
    "dkim validation",
    "dkim signature",
    "no valid dkim",
    "unauthenticated email",
    "doesn't meet the required authentication level",
    "doesn't meet the authentication requirements",
    "does not pass dmarc",
];

/// The sending IP or domain has a bad reputation.
const BAD_REPUTATION: &[&str] = &[
    "very low reputation",
    "poor reputation",
    "bad reputation",
    "poor email reputation",
    "due to ip reputation",
    "reputation problems",
    "low reputation",
    "unexpected volume or user complaints",
];

/// The sending IP has no (or a mismatching) reverse DNS record.
const REQUIRE_PTR: &[&str] = &[
    "reverse hostname",
    "reverse dns",
    "reverse lookup",
    "ptr record",
    "ptr resource record",
    "cannot find your hostname",
    "cannot resolve your address",
    "ip name lookup failed",
    "mismatches client ip",
    "unresolvable relay host name",
    "generic dns ptr",
    "invalid rdns",
    "unverifyable sending ip", // "service permits 2 unverifyable sending IPs"
    "unverifiable sending ip",
];

/// The sender is sending too fast (messages or recipients per time unit).
const RATE_LIMITED: &[&str] = &[
    "rate limited",
    "rate limit",
    "ratelimit",
    "rate-limit",
    "too many messages",
    "sending too fast",
    "please try again slower",
    "throttled",
    "throttling failure",
    "max emails per hour",
    "receiving mail at a rate that prevents additional messages",
    "too many errors from your ip",
    "sending quota",
    "daily message quota",
    "sending limit",
];

/// The sender opened too many connections, or sent too many recipients at once.
const TOO_MANY_CONNECTIONS: &[&str] = &[
    "too many connections",
    "too many concurrent",
    "too many smtp sessions",
    "too many sessions",
    "connection rate limit exceeded",
    "connection limit",
    "maximum connection limit",
    "too many recipients",
    "trop de connexions",
];

/// The message (headers, MIME structure) is malformed.
const CONTENT_ERROR: &[&str] = &[
    "headers too large",
    "header size exceeds",
    "improper use of 8-bit data in message header",
    "invalid mime",
    "mime complexity",
    "improperly-formatted binary content",
    "unnecessary base64 encoding",
    "too many received: headers",
];

/// The message is not RFC 5322 compliant.
const NOT_COMPLIANT_RFC: &[&str] = &[
    "not rfc 5322 compliant",
    "not rfc5322 compliant",
    "rfc 5322",
    "rfcmessagenoncompliant",
    "duplicate header",
    "multiple addresses in from",
];

/// An SMTP command or argument was malformed.
const SYNTAX_ERROR: &[&str] = &[
    "syntax error",
    "command unrecognized",
    "command not recognized",
    "command not implemented",
    "bad sequence of commands",
    "parameter not implemented",
];

/// TLS was required (by either side) and could not be negotiated.
const FAILED_STARTTLS: &[&str] = &[
    "starttls is required",
    "must issue a starttls command first",
    "tls is required",
    "tls required",
    "requiretls",
    "encryption required",
    "encryption needed",
    "tls negotiation failed",
    "starttls failed",
];

/// Not a reason but context: the refusal came after the message content was sent. A recipient
/// refused only then was refused by a content filter, not for being unknown (see
/// `AFTER_DATA_OVERRIDES`). Postfix and Exim write these into their bounce text.
const AFTER_DATA: &[&str] = &[
    "in reply to end of data command",
    "in reply to data command",
    "after end of data",
    "error from remote server for text command", // 1&1
    "(state 15)",                                // Gmail's older reports: the DATA states
    "(state 17)",
    "(state 18)",
];

/// Context: the refusal came in reply to MAIL FROM, so it is about the sender, whatever the
/// words say of "user" or "domain" (see `stages_named`).
const AFTER_MAIL_FROM: &[&str] = &[
    "error from remote mail server after mail from",
    "in reply to mail from command",
];

/// Context: the refusal answered RCPT TO, so the server spoke of the address itself before it
/// saw any content. A "user unknown" said then is believed even when the status code names
/// nothing (see `verdict::judge`).
const AFTER_RCPT: &[&str] = &[
    "in reply to rcpt to command",                 // Postfix
    "error from remote mail server after rcpt to", // Exim
    "error from remote mailer after rcpt to",      // older Exim
    "rcpt to response",                            // qmail: "most progress was RCPT TO response"
    "does not like recipient",                     // qmail
    "[rcpt_to]",                                   // Yahoo
    "smtp:rcpt host",                              // "SMTP:RCPT host 192.0.2.8: 553 ..."
    ">>> rcpt to",                                 // Sendmail transcripts
    "did not like our rcpt to",                    // DragonFly
    "(state 14)",                                  // Gmail's older reports number the SMTP state
];

/// "User unknown" wordings that are the answer of a directory lookup by the recipient's own
/// system (or a provider's documented code for it), not an SMTP refusal that a content filter
/// may have dressed up as one: they stand whatever SMTP command they followed. They also name
/// `user_unknown` (they are a phrase table of their own).
const ADDRESS_LOOKUP_FAILED: &[&str] = &[
    "not listed in domino directory",
    "no se encuentra en el directorio de domino",
    "non répertorié dans l'annuaire domino",
    "not listed in public name & address book", // Lotus Notes
    "recipient name is not recognized",         // Exchange 2003
    "(000c05a6)",                               // Exchange 2003: "... (000C05A6) Unknown Recipient"
    "please check if address is correct",       // InterScan
    "no valid recipients",
    "address couldn't be found", // Gmail
    "resolver.adr.recip",        // Exchange
    "recipnotfound",
    "dd this user doesn't have a", // Yahoo: "dd This user doesn't have a yahoo.com account"
    "ofr_416",                     // Orange: invalid recipient
    "lpn007_416",                  // La Poste: invalid recipient
    "unknown user:",               // IMail: "Unknown user: <address>"
    "invalid final delivery userid", // IMail
];

/// Reasons that mean something else when the refusal came after DATA: (text reason, verdict).
static AFTER_DATA_OVERRIDES: &[(Reason, Reason)] = &[(Reason::UserUnknown, Reason::Filtered)];

/// Short words that only count as whole words ("spf", not "xspfy"); same automaton, with the
/// boundary checked after the match.
static WORD_TABLES: &[PhraseTable] = &[
    // A bare mention of SPF or DMARC is usually the cause, but may be advice next to another.
    table(Reason::AuthFailure, Weak, &["spf", "dmarc", "dkim"]),
    table(Reason::Blocked, Strong, &["rbl", "dnsbl", "(bl)"]),
    table(Reason::SpamDetected, Strong, &["ube"]),
];

/// Every phrase table. The order here does not matter: `PRIORITY` decides between reasons.
static PHRASE_TABLES: &[PhraseTable] = &[
    table(Reason::UserUnknown, Strong, USER_UNKNOWN),
    table(Reason::UserUnknown, Strong, ADDRESS_LOOKUP_FAILED),
    table(Reason::UserUnknown, Weak, USER_UNKNOWN_WEAK),
    table(Reason::HostUnknown, Strong, HOST_UNKNOWN),
    table(Reason::HostUnknown, Weak, HOST_UNKNOWN_WEAK),
    table(Reason::HasMoved, Strong, HAS_MOVED),
    table(Reason::NotAccept, Strong, NOT_ACCEPT),
    table(Reason::MailboxFull, Strong, MAILBOX_FULL),
    table(Reason::MessageTooBig, Strong, MESSAGE_TOO_BIG),
    table(Reason::ExceedLimit, Strong, EXCEED_LIMIT),
    table(Reason::Suspended, Strong, SUSPENDED),
    table(Reason::Expired, Strong, EXPIRED),
    table(Reason::Expired, Weak, EXPIRED_WEAK),
    table(Reason::NetworkError, Strong, NETWORK_ERROR),
    table(Reason::NetworkError, Weak, NETWORK_ERROR_WEAK),
    table(Reason::SystemError, Strong, SYSTEM_ERROR),
    table(Reason::SystemError, Weak, SYSTEM_ERROR_WEAK),
    table(Reason::SystemFull, Strong, SYSTEM_FULL),
    table(Reason::MailerError, Strong, MAILER_ERROR),
    table(Reason::Filtered, Strong, FILTERED),
    table(Reason::NoRelaying, Strong, NO_RELAYING),
    table(Reason::Rejected, Strong, REJECTED),
    table(Reason::Rejected, Weak, REJECTED_WEAK),
    table(Reason::Blocked, Strong, BLOCKED),
    table(Reason::SpamDetected, Strong, SPAM_DETECTED),
    table(Reason::VirusDetected, Strong, VIRUS_DETECTED),
    table(Reason::PolicyViolation, Strong, POLICY_VIOLATION),
    table(Reason::SecurityError, Strong, SECURITY_ERROR),
    table(Reason::AuthFailure, Strong, AUTH_FAILURE),
    table(Reason::BadReputation, Strong, BAD_REPUTATION),
    table(Reason::RequirePtr, Strong, REQUIRE_PTR),
    table(Reason::RateLimited, Strong, RATE_LIMITED),
    table(Reason::TooManyConnections, Strong, TOO_MANY_CONNECTIONS),
    table(Reason::ContentError, Strong, CONTENT_ERROR),
    table(Reason::NotCompliantRfc, Strong, NOT_COMPLIANT_RFC),
    table(Reason::SyntaxError, Strong, SYNTAX_ERROR),
    table(Reason::FailedStarttls, Strong, FAILED_STARTTLS),
];

/// Wordings with a variable middle. `[^.;\n]*` keeps a match inside one clause.
static PATTERN_TABLE: &[PatternRow] = &[
    pattern(
        Reason::MailboxFull,
        Strong,
        r"\bmailbox\b[^.;\n]*\b(?:full|quota|exceeded)",
    ),
    pattern(
        Reason::MailboxFull,
        Strong,
        r"\b(?:disk|maildir|mailbox|storage)\s+quota\b",
    ),
    pattern(
        Reason::MailboxFull,
        Strong,
        r"\bquota\b[^.;\n]*\bexceeded\b",
    ),
    pattern(
        Reason::UserUnknown,
        Strong,
        r"\b(?:user|mailbox|recipient|account|address)\s+\S+\s+(?:does\s+not|doesn't|not)\s+exist",
    ),
    pattern(
        Reason::UserUnknown,
        Strong,
        r"\b(?:user|recipient)\s+\S+\s+(?:was\s+)?not\s+found\b",
    ),
    pattern(
        Reason::UserUnknown,
        Strong,
        r"\bunknown\s+e-?mail\s+address",
    ),
    pattern(
        Reason::HostUnknown,
        Strong,
        r"\bdomain\s+\S+\s+(?:couldn't|could\s+not|cannot|can't)\s+be\s+found",
    ),
    // A host name on its own, not an address's domain: "553 mx.example.org does not exist".
    pattern(
        Reason::HostUnknown,
        Strong,
        r"(?:^|[\s<(\[:;,])(?:[a-z0-9-]+\.)+[a-z]{2,}>?\s+does\s+not\s+exist\b",
    ),
    pattern(
        Reason::UserUnknown,
        Strong,
        r"\bnon-?existent\s+(?:user|recipient|address|mailbox)",
    ),
    // "550 : User unknown" names no address: a content filter's refusal after DATA (KDDI's,
    // whose RCPT refusal reads "550 <a@b>: User unknown"), not a missing mailbox.
    pattern(
        Reason::Filtered,
        Strong,
        r"\b[45][0-9][0-9]:?\s+:\s+user\s+unknown",
    ),
    pattern(
        Reason::Blocked,
        Strong,
        r"\bip\b[^.;\n]*\b(?:is\s+)?(?:blocked|listed|banned)\b",
    ),
    pattern(
        Reason::Expired,
        Strong,
        r"\b(?:could\s+not|couldn't)\s+be\s+delivered\s+(?:for|within)\s[^.;\n]*\b(?:days?|hours?)\b",
    ),
];

/// When several reasons match, the first in this list wins. Sender-side, precise reasons come
/// first (an SPF failure or an RBL hit explains a refusal better than "user unknown" next to
/// it); the recipient-side reasons follow, most specific first; the vague ones come last.
static PRIORITY: &[Reason] = &[
    Reason::AuthFailure,
    Reason::RequirePtr,
    Reason::BadReputation,
    Reason::VirusDetected,
    Reason::SpamDetected,
    Reason::NoRelaying,
    Reason::Rejected,
    Reason::Blocked,
    Reason::NotCompliantRfc,
    Reason::ContentError,
    Reason::PolicyViolation,
    Reason::FailedStarttls,
    Reason::TooManyConnections,
    Reason::RateLimited,
    Reason::MailboxFull,
    Reason::ExceedLimit,
    Reason::MessageTooBig,
    Reason::Suspended,
    Reason::HasMoved,
    Reason::NotAccept,
    Reason::Filtered,
    Reason::UserUnknown,
    Reason::SystemFull,
    Reason::NetworkError,
    Reason::HostUnknown,
    Reason::Expired,
    Reason::SystemError,
    Reason::SecurityError,
    Reason::MailerError,
    Reason::SyntaxError,
];

// ---------------------------------------------------------------------------------------------
// Status and reply-code tables.
// ---------------------------------------------------------------------------------------------

/// How far a status code's default reason can be trusted against the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trust {
    /// A precise code (X.1.1, X.2.2 ...): it beats weak phrases such as "rejected".
    Specific,
    /// A vague code (X.7.1, X.3.0 ...): any phrase in the text beats it.
    Vague,
}

/// One row of the status table. `code` is "C.S.D", "X.S.D" (any class), "C.S" or "X.S" (any
/// detail of that subject). Rows are searched in order and the first match wins, so keep
/// class-specific rows above `X` rows and detail rows above subject rows.
struct StatusRow {
    code: &'static str,
    reason: Reason,
    trust: Trust,
}

const fn row(code: &'static str, reason: Reason, trust: Trust) -> StatusRow {
    StatusRow {
        code,
        reason,
        trust,
    }
}

use Trust::{Specific, Vague};

/// RFC 3463 / RFC 5248 / RFC 7372 / RFC 7505 defaults.
static STATUS_TABLE: &[StatusRow] = &[
    // X.1: addressing
    row("X.1.0", Reason::UserUnknown, Vague),
    row("X.1.1", Reason::UserUnknown, Specific),
    row("X.1.2", Reason::HostUnknown, Specific),
    row("X.1.3", Reason::UserUnknown, Vague), // bad destination address syntax
    row("X.1.4", Reason::UserUnknown, Vague), // ambiguous destination address
    row("X.1.6", Reason::HasMoved, Specific),
    row("X.1.7", Reason::Rejected, Specific), // bad sender address syntax
    row("X.1.8", Reason::Rejected, Specific), // bad sender system address
    row("X.1.9", Reason::SystemError, Vague), // relayed to a non-compliant mailer
    row("X.1.10", Reason::NotAccept, Specific), // recipient has a null MX
    // X.2: mailbox
    row("X.2.0", Reason::Filtered, Vague),
    row("X.2.1", Reason::Suspended, Vague), // mailbox disabled
    row("X.2.2", Reason::MailboxFull, Specific),
    row("X.2.3", Reason::ExceedLimit, Specific), // per-mailbox message length limit
    row("X.2.4", Reason::Filtered, Vague),       // mailing-list expansion problem
    // X.3: mail system
    row("5.3.0", Reason::SystemError, Vague), // 4.3.0 is too vague to name anything
    row("X.3.1", Reason::SystemFull, Specific),
    row("X.3.2", Reason::NotAccept, Vague), // system not accepting network messages
    row("X.3.3", Reason::SystemError, Vague),
    row("X.3.4", Reason::MessageTooBig, Specific),
    row("X.3.5", Reason::SystemError, Vague),
    // X.4: network and routing
    row("X.4.1", Reason::Expired, Specific), // no answer from host: a DSN says retries ran out
    row("X.4.3", Reason::SystemError, Vague), // directory server failure
    row("5.4.4", Reason::HostUnknown, Vague), // unable to route, permanently
    row("X.4.5", Reason::SystemFull, Vague), // mail system congestion
    row("X.4.6", Reason::NetworkError, Specific), // routing loop
    row("X.4.7", Reason::Expired, Specific),
    row("X.4", Reason::NetworkError, Vague),
    // X.5: protocol. X.5.0 ("other protocol status") is too vague to name anything.
    row("X.5.0", Reason::Undefined, Vague),
    row("X.5.3", Reason::TooManyConnections, Vague), // too many recipients
    row("X.5", Reason::SyntaxError, Vague),
    // X.6: content
    row("X.6", Reason::ContentError, Specific), // a media error is never about the mailbox
    // X.7: security and policy
    row("4.7.1", Reason::Blocked, Vague), // temporary refusal of the sending host
    row("4.7.2", Reason::Blocked, Vague),
    row("X.7.13", Reason::Suspended, Specific), // user account disabled
    row("X.7.16", Reason::MessageTooBig, Specific), // too big for the priority
    row("X.7.17", Reason::HasMoved, Specific),  // mailbox owner has changed
    row("X.7.18", Reason::HasMoved, Specific),  // domain owner has changed
    row("X.7.20", Reason::AuthFailure, Specific), // no passing DKIM signature
    row("X.7.21", Reason::AuthFailure, Specific),
    row("X.7.22", Reason::AuthFailure, Specific),
    row("X.7.23", Reason::AuthFailure, Specific), // SPF validation failed
    row("X.7.24", Reason::AuthFailure, Specific), // SPF validation error
    row("X.7.25", Reason::RequirePtr, Specific),  // reverse DNS validation failed
    row("X.7.26", Reason::AuthFailure, Specific), // multiple authentication checks failed
    row("X.7.27", Reason::Rejected, Specific),    // the SENDER's domain has a null MX
    row("X.7.28", Reason::SpamDetected, Specific), // mail flood
    row("X.7.29", Reason::AuthFailure, Specific), // ARC validation failed
    row("X.7.30", Reason::FailedStarttls, Specific), // REQUIRETLS support required
    row("5.7.509", Reason::AuthFailure, Specific), // Microsoft: DMARC reject
    row("X.7", Reason::SecurityError, Vague),
];

/// Statuses that change what a phrase means: (status key, reason the text names, verdict).
///
/// X.2.0 is a *mailbox* status: the mailbox exists. A "user unknown" under it is a recipient-side
/// filter refusing the sender in disguise (Japanese mobile carriers do this), not a bad address.
static STATUS_OVERRIDES: &[(&str, Reason, Reason)] = &[
    // A mailbox-status or policy code with "user unknown" words: the mailbox exists (or the
    // server will not say), and something refused this message. Not the address's fault.
    ("X.2.0", Reason::UserUnknown, Reason::Filtered),
];

/// The last resort when neither text nor status says anything: reply codes whose meaning is
/// fixed by RFC 5321 / RFC 7504 / RFC 5248. Codes such as 421, 450, 550 or 554 are used for
/// everything and are deliberately absent.
static REPLY_CODE_TABLE: &[(u16, Reason)] = &[
    (500, Reason::SyntaxError),    // command unrecognized
    (501, Reason::SyntaxError),    // syntax error in parameters
    (502, Reason::SyntaxError),    // command not implemented
    (503, Reason::SyntaxError),    // bad sequence of commands
    (504, Reason::SyntaxError),    // parameter not implemented
    (521, Reason::NotAccept),      // host does not accept mail (RFC 7504)
    (523, Reason::FailedStarttls), // encryption needed (RFC 5248)
    (525, Reason::Suspended),      // user account disabled (RFC 5248)
    (530, Reason::SecurityError),  // authentication required
    (534, Reason::SecurityError),  // authentication mechanism too weak
    (535, Reason::SecurityError),  // authentication credentials invalid
    (538, Reason::FailedStarttls), // encryption required for the auth mechanism
    (556, Reason::NotAccept),      // domain does not accept mail (RFC 7504)
];

// ---------------------------------------------------------------------------------------------
// Matching machinery, built once.
// ---------------------------------------------------------------------------------------------

/// What a phrase of the automaton stands for.
#[derive(Debug, Clone, Copy)]
enum Tag {
    Names(Reason, Weight),
    /// Like `Names`, if the match is a whole word.
    Word(Reason, Weight),
    AfterData,
}

/// What the text says: the best reason it names, and whether the refusal came after DATA.
#[derive(Debug, Clone, Copy, Default)]
struct TextEvidence {
    best: Option<(Reason, Weight)>,
    after_data: bool,
}

/// The compiled phrase automaton and regex set, with what each of their patterns stands for.
struct Matcher {
    phrases: AhoCorasick,
    phrase_tag: Vec<Tag>,
    /// One regex per `PATTERN_TABLE` row: separate regexes each get a literal prefilter, which
    /// makes them several times faster than one `RegexSet` on long bounce text.
    patterns: Vec<Regex>,
}

static MATCHER: LazyLock<Matcher> = LazyLock::new(|| {
    let mut phrase_list = Vec::new();
    let mut phrase_tag = Vec::new();
    for table in PHRASE_TABLES {
        for phrase in table.phrases {
            phrase_list.push(*phrase);
            phrase_tag.push(Tag::Names(table.reason, table.weight));
        }
    }
    for table in WORD_TABLES {
        for phrase in table.phrases {
            phrase_list.push(*phrase);
            phrase_tag.push(Tag::Word(table.reason, table.weight));
        }
    }
    for phrase in AFTER_DATA {
        phrase_list.push(*phrase);
        phrase_tag.push(Tag::AfterData);
    }
    let phrases = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostLongest)
        .build(&phrase_list)
        .expect("phrase tables build an automaton");
    let patterns = PATTERN_TABLE
        .iter()
        .map(|p| {
            RegexBuilder::new(p.pattern)
                .case_insensitive(true)
                .unicode(false)
                .build()
                .expect("pattern table compiles")
        })
        .collect();
    Matcher {
        phrases,
        phrase_tag,
        patterns,
    }
});

/// "4.2.2" style codes anywhere in text; `find_status` checks what surrounds a match.
static STATUS_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[245]\.[0-7]\.[0-9]{1,3}").expect("status regex"));

/// A reply code at the start of a line (after indentation), after ":" or ";" (as in "said:
/// 550" or "smtp; 550"), after "<<<" (transcripts), after the word "code" (Zoho's "ERROR_CODE
/// :550", "ResponseCode 421"), or anywhere when an enhanced status code follows it ("... 421
/// 4.2.1 ...").
static REPLY_CODE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?m)(?:(?:^[ \t>]*|[;:][ \t]*|<<<[ \t]*|(?i:code)[ \t]*:?[ \t]*)[245][0-5][0-9](?:[ \t\-,]|\r?$)|\b[245][0-5][0-9][ \-]#?[245]\.[0-7]\.[0-9])",
    )
    .expect("reply code regex")
});

/// A parsed RFC 3463 status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Status {
    class: u16,
    subject: u16,
    detail: u16,
}

impl Status {
    /// Parses the leading "C.S.D" of `s` ("4.4.7 (delivery expired)" is fine).
    fn parse(s: &str) -> Option<Status> {
        let s = s.trim_start();
        let end = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let mut parts = s[..end].split('.');
        let class = parse_number(parts.next()?)?;
        let subject = parse_number(parts.next()?)?;
        let detail = parse_number(parts.next()?)?;
        if parts.next().is_some() || !matches!(class, 2 | 4 | 5) {
            return None;
        }
        Some(Status {
            class,
            subject,
            detail,
        })
    }

    /// X.0.0 carries no information beyond its class.
    fn is_generic(self) -> bool {
        self.subject == 0 && self.detail == 0
    }
}

fn parse_number(s: &str) -> Option<u16> {
    if s.is_empty() || s.len() > 3 {
        return None;
    }
    s.parse().ok()
}

/// A status table key, parsed once: `None` stands for "X" (any class) or a missing detail.
#[derive(Debug, Clone, Copy)]
struct StatusKey {
    class: Option<u16>,
    subject: Option<u16>,
    detail: Option<u16>,
}

impl StatusKey {
    fn parse(key: &str) -> StatusKey {
        let mut parts = key.split('.');
        StatusKey {
            class: parts.next().and_then(parse_number),
            subject: parts.next().and_then(parse_number),
            detail: parts.next().and_then(parse_number),
        }
    }

    fn covers(self, status: Status) -> bool {
        self.class.is_none_or(|c| c == status.class)
            && self.subject == Some(status.subject)
            && self.detail.is_none_or(|d| d == status.detail)
    }
}

static STATUS_KEYS: LazyLock<Vec<StatusKey>> = LazyLock::new(|| {
    STATUS_TABLE
        .iter()
        .map(|r| StatusKey::parse(r.code))
        .collect()
});

/// Does a status table key ("X.1.1", "5.4.4", "X.7") cover `status`?
fn key_matches(key: &str, status: Status) -> bool {
    StatusKey::parse(key).covers(status)
}

fn status_rule(status: Status) -> Option<&'static StatusRow> {
    STATUS_TABLE
        .iter()
        .zip(STATUS_KEYS.iter())
        .find(|(_, key)| key.covers(status))
        .map(|(row, _)| row)
}

// ---------------------------------------------------------------------------------------------
// Public API.
// ---------------------------------------------------------------------------------------------

/// Classifies a reply. `text` may be long multi-line bounce text; matching is case-insensitive.
///
/// Order of evidence: a strong phrase in the text; a specific status code; a weak phrase; any
/// status code; the reply code; and finally `on_hold` (there was text but it named nothing) or
/// `undefined` (there was nothing to read). When `status` is missing or only says X.0.0, a
/// status found in `text` is used instead; when `smtp_code` is missing, one found in `text`.
pub fn classify_reply(smtp_code: Option<u16>, status: Option<&str>, text: &str) -> Verdict {
    classify_with(smtp_code, status, text, scan_text(text))
}

/// Classifies a diagnostic, falling back to the wider `context` (the rest of the report) only
/// when the diagnostic itself names no reason; the context is not computed otherwise.
/// Returns the verdict and whether the diagnostic alone decided it.
pub fn classify_reply_in_context<'a>(
    smtp_code: Option<u16>,
    status: Option<&str>,
    diagnostic: &str,
    context: impl FnOnce() -> &'a str,
) -> (Verdict, bool) {
    let evidence = scan_text(diagnostic);
    if evidence.reason().is_some() {
        return (classify_with(smtp_code, status, diagnostic, evidence), true);
    }
    (classify_reply(smtp_code, status, context()), false)
}

fn classify_with(
    smtp_code: Option<u16>,
    status: Option<&str>,
    text: &str,
    evidence: TextEvidence,
) -> Verdict {
    let status = effective_status(status, text);
    let code = smtp_code.or_else(|| find_smtp_code(text));
    if is_success(code, status) {
        return Verdict {
            kind: Kind::Delivered,
            reason: Reason::Delivered,
        };
    }
    let reason = decide_reason(code, status, text, evidence);
    Verdict {
        kind: kind_for(reason, code, status),
        reason,
    }
}

/// The SMTP commands a report's words say a refusal answered. A report may name several (one
/// per recipient, or a transcript of a whole session).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stages {
    pub mail_from: bool,
    pub rcpt: bool,
    pub data: bool,
}

impl Stages {
    pub fn any(self) -> bool {
        self.mail_from || self.rcpt || self.data
    }
}

/// Which SMTP commands `text` says a refusal answered.
pub fn stages_named(text: &str) -> Stages {
    // A small automaton of its own: this is asked of whole reports, where the full phrase
    // scan would cost several times more.
    static STAGE_MATCHER: LazyLock<(AhoCorasick, Vec<u8>)> = LazyLock::new(|| {
        let tables: [(&[&str], u8); 3] = [(AFTER_MAIL_FROM, 0), (AFTER_RCPT, 1), (AFTER_DATA, 2)];
        let mut phrases = Vec::new();
        let mut stage = Vec::new();
        for (table, s) in tables {
            phrases.extend_from_slice(table);
            stage.extend(std::iter::repeat_n(s, table.len()));
        }
        let matcher = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(phrases)
            .expect("SMTP stage phrases");
        (matcher, stage)
    });
    let (matcher, stage) = &*STAGE_MATCHER;
    let mut found = Stages::default();
    for m in matcher.find_iter(text) {
        match stage[m.pattern().as_usize()] {
            0 => found.mail_from = true,
            1 => found.rcpt = true,
            _ => found.data = true,
        }
    }
    found
}

/// True when `text` says the refusal was the reply to MAIL FROM (the sender was refused).
pub fn refused_after_mail_from(text: &str) -> bool {
    stages_named(text).mail_from
}

/// True when `text` says the refusal came only after the message content was sent (a
/// content filter's verdict rather than the recipient's existence).
pub fn refused_after_data(text: &str) -> bool {
    stages_named(text).data
}

/// True when a "user unknown" in `text` is a directory's answer that stands on its own
/// (`ADDRESS_LOOKUP_FAILED`), whatever SMTP command it followed.
pub fn says_lookup_failed(text: &str) -> bool {
    static LOOKUP_MATCHER: LazyLock<AhoCorasick> = LazyLock::new(|| {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(ADDRESS_LOOKUP_FAILED)
            .expect("address lookup phrases")
    });
    LOOKUP_MATCHER.is_match(text)
}

/// True when a server's reply leads with the recipient's address in angle brackets and a
/// colon ("550 <a@b.example>: User unknown"): the form of a reply to RCPT TO (Postfix's
/// "Recipient address rejected" and its imitators), which names the address it refuses. A
/// refusal after DATA concerns the whole message and names no recipient.
pub fn reply_names_recipient(text: &str) -> bool {
    static RCPT_REPLY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\b[45][0-9][0-9][ -](?:#?[45]\.[0-9]{1,3}\.[0-9]{1,3} )?<[^<>@\s]+@[^<>\s]+>:")
            .expect("RCPT reply pattern")
    });
    RCPT_REPLY.is_match(text.as_bytes())
}

/// The reason a phrase in `text` names, if any (table lookup only, no status fallback).
pub fn reason_from_text(text: &str) -> Option<Reason> {
    scan_text(text).reason().map(|(reason, _)| reason)
}

/// The default reason of an RFC 3463 status code such as "5.1.1" or "4.2.2" (no text), if any.
pub fn reason_from_status(status: &str) -> Option<Reason> {
    let status = Status::parse(status)?;
    if status.class == 2 {
        return Some(Reason::Delivered);
    }
    status_rule(status)
        .map(|r| r.reason)
        .filter(|r| *r != Reason::Undefined)
}

/// Extracts an RFC 3463 enhanced status code (e.g. "5.7.1") from free text, if present.
///
/// A failure code (4.x.x / 5.x.x) is preferred to a success code; digits that are part of an IP
/// address or a version number ("192.0.2.1", "2.11.3.4") are not taken for a status.
pub fn find_status(text: &str) -> Option<String> {
    find_status_str(text).map(str::to_owned)
}

/// Extracts a 3-digit SMTP reply code (2xx/4xx/5xx at the start of a line or after "said:"/"host
/// ... said" etc.) from free text, if present. A failure code is preferred to a 2xx greeting.
pub fn find_smtp_code(text: &str) -> Option<u16> {
    let mut success = None;
    // The prefixes the regex allows contain no digits, so a match's first digits are the code.
    // (`find_iter` runs on the DFA alone; captures would cost a slower engine.)
    for m in REPLY_CODE_RE.find_iter(text.as_bytes()) {
        let Some(start) = m.as_bytes().iter().position(u8::is_ascii_digit) else {
            continue;
        };
        let Some(digits) = m.as_bytes().get(start..start + 3) else {
            continue;
        };
        let code = digits
            .iter()
            .fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
        if code >= 400 {
            return Some(code);
        }
        success.get_or_insert(code);
    }
    success
}

// ---------------------------------------------------------------------------------------------
// The decision, step by step.
// ---------------------------------------------------------------------------------------------

/// The status to use: the caller's, unless it is missing or only X.0.0 and the text has better.
fn effective_status(given: Option<&str>, text: &str) -> Option<Status> {
    let given = given.and_then(Status::parse);
    match given {
        Some(s) if !s.is_generic() => Some(s),
        _ => find_status_str(text).and_then(Status::parse).or(given),
    }
}

fn is_success(code: Option<u16>, status: Option<Status>) -> bool {
    match status {
        Some(s) => s.class == 2,
        None => code.is_some_and(|c| (200..300).contains(&c)),
    }
}

fn decide_reason(
    code: Option<u16>,
    status: Option<Status>,
    text: &str,
    evidence: TextEvidence,
) -> Reason {
    let from_text = evidence.reason();
    let from_status = status
        .and_then(status_rule)
        .filter(|r| r.reason != Reason::Undefined);
    match (from_text, from_status) {
        (Some((reason, Strong)), _) => override_for(reason, status),
        (Some((_, Weak)), Some(rule)) if rule.trust == Specific => rule.reason,
        (Some((reason, Weak)), _) => override_for(reason, status),
        (None, Some(rule)) => rule.reason,
        (None, None) => reason_from_code(code).unwrap_or(if text.trim().is_empty() {
            Reason::Undefined
        } else {
            Reason::OnHold
        }),
    }
}

/// Applies `STATUS_OVERRIDES` to a reason read from the text.
fn override_for(reason: Reason, status: Option<Status>) -> Reason {
    let Some(status) = status else { return reason };
    STATUS_OVERRIDES
        .iter()
        .find(|(key, from, _)| *from == reason && key_matches(key, status))
        .map_or(reason, |(_, _, to)| *to)
}

fn reason_from_code(code: Option<u16>) -> Option<Reason> {
    let code = code?;
    REPLY_CODE_TABLE
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, r)| *r)
}

/// The kind a reason means for this reply: a "bad address" reason is only `Hard` for a
/// permanent failure; a temporary (4xx / 4.x.x) one may still resolve itself.
fn kind_for(reason: Reason, code: Option<u16>, status: Option<Status>) -> Kind {
    let temporary =
        code.is_some_and(|c| (400..500).contains(&c)) || status.is_some_and(|s| s.class == 4);
    match reason.default_kind() {
        Kind::Hard if temporary => Kind::Soft,
        kind => kind,
    }
}

/// Reads `text` once: the best reason named (strong beats weak, then `PRIORITY` decides) and
/// the after-DATA context.
fn scan_text(text: &str) -> TextEvidence {
    let matcher = &*MATCHER;
    let mut evidence = TextEvidence::default();
    for m in matcher.phrases.find_iter(text) {
        match matcher.phrase_tag[m.pattern().as_usize()] {
            Tag::Names(reason, weight) => evidence.consider(reason, weight),
            Tag::Word(reason, weight) if is_whole_word(text.as_bytes(), m.start(), m.end()) => {
                evidence.consider(reason, weight)
            }
            Tag::Word(..) => {}
            Tag::AfterData => evidence.after_data = true,
        }
    }
    for (row, regex) in PATTERN_TABLE.iter().zip(&matcher.patterns) {
        if evidence.could_change(row.reason, row.weight) && regex.is_match(text.as_bytes()) {
            evidence.consider(row.reason, row.weight);
        }
    }
    evidence
}

impl TextEvidence {
    fn consider(&mut self, reason: Reason, weight: Weight) {
        if self.could_change(reason, weight) {
            self.best = Some((reason, weight));
        }
    }

    /// Would a match for (reason, weight) beat the best so far?
    fn could_change(&self, reason: Reason, weight: Weight) -> bool {
        let key = |(r, w): (Reason, Weight)| (w, std::cmp::Reverse(rank(r)));
        self.best
            .is_none_or(|best| key((reason, weight)) > key(best))
    }

    /// The reason named, corrected by the after-DATA context.
    fn reason(self) -> Option<(Reason, Weight)> {
        let (reason, weight) = self.best?;
        if !self.after_data {
            return Some((reason, weight));
        }
        let corrected = AFTER_DATA_OVERRIDES
            .iter()
            .find(|(from, _)| *from == reason)
            .map_or(reason, |(_, to)| *to);
        Some((corrected, weight))
    }
}

/// No letter or digit glued to either end of `bytes[start..end]`.
fn is_whole_word(bytes: &[u8], start: usize, end: usize) -> bool {
    let glued = |b: Option<&u8>| b.is_some_and(u8::is_ascii_alphanumeric);
    !glued(start.checked_sub(1).and_then(|i| bytes.get(i))) && !glued(bytes.get(end))
}

/// Position of `reason` in `PRIORITY` (lower wins).
fn rank(reason: Reason) -> usize {
    PRIORITY
        .iter()
        .position(|r| *r == reason)
        .unwrap_or(PRIORITY.len())
}

/// The first plausible status code in `text`, as a slice of it.
fn find_status_str(text: &str) -> Option<&str> {
    find_status_where(text, |_| true)
}

/// The first plausible failure status code in `text` other than `other`: the cause a vague
/// code quotes after itself ("4.4.7 Message expired ... <421 4.4.2 Connection timed out>").
pub fn find_status_other_than(text: &str, other: &str) -> Option<String> {
    find_status_where(text, |s| s != other && !s.starts_with('2')).map(str::to_owned)
}

/// The first plausible status code in `text` that `accept` takes (a failure code before a
/// success code).
fn find_status_where(text: &str, accept: impl Fn(&str) -> bool) -> Option<&str> {
    let bytes = text.as_bytes();
    let mut success = None;
    for m in STATUS_RE.find_iter(bytes) {
        let before = m.start().checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(m.end()).copied();
        let after2 = bytes.get(m.end() + 1).copied();
        let glued_before = before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'.');
        let glued_after = after.is_some_and(|b| b.is_ascii_alphanumeric())
            || (after == Some(b'.') && after2.is_some_and(|b| b.is_ascii_digit()));
        if glued_before || glued_after {
            continue;
        }
        let found = &text[m.start()..m.end()];
        if !accept(found) {
            continue;
        }
        if !found.starts_with('2') {
            return Some(found);
        }
        success.get_or_insert(found);
    }
    success
}

/// Builds this module's tables now (see `classify::warm_up`).
pub(crate) fn warm_up() {
    LazyLock::force(&MATCHER);
    LazyLock::force(&STATUS_RE);
    LazyLock::force(&REPLY_CODE_RE);
    LazyLock::force(&STATUS_KEYS);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (reply code, status, text, expected kind, expected reason)
    type Case = (
        Option<u16>,
        Option<&'static str>,
        &'static str,
        Kind,
        Reason,
    );

    fn check(code: Option<u16>, status: Option<&str>, text: &str, kind: Kind, reason: Reason) {
        let v = classify_reply(code, status, text);
        assert_eq!(
            (v.kind, v.reason),
            (kind, reason),
            "classify_reply({code:?}, {status:?}, {text:?})"
        );
    }

    /// The product's must-pass phrases, as (code, status, text, kind, reason).
    #[test]
    fn required_phrases() {
        use Kind::{Block, Hard, Soft};
        use Reason::*;
        let cases: &[Case] = &[
            (None, None, "User unknown", Hard, UserUnknown),
            (None, None, "No such user", Hard, UserUnknown),
            (
                Some(550),
                Some("5.1.1"),
                "mailbox unavailable",
                Hard,
                UserUnknown,
            ),
            (
                None,
                None,
                "550 5.1.1 Requested action not taken: mailbox unavailable",
                Hard,
                UserUnknown,
            ),
            (None, None, "mailbox unavailable", Hard, UserUnknown),
            (None, None, "invalid recipient", Hard, UserUnknown),
            (None, None, "not a valid mailbox", Hard, UserUnknown),
            (
                None,
                None,
                "no mailbox here by that name",
                Hard,
                UserUnknown,
            ),
            (
                None,
                None,
                "User unknown in virtual mailbox table",
                Hard,
                UserUnknown,
            ),
            (None, None, "Domain not found", Hard, HostUnknown),
            (None, None, "Connection timed out", Soft, Expired),
            (None, None, "Connection refused", Soft, NetworkError),
            (None, None, "Mailbox is full", Soft, MailboxFull),
            (None, None, "over quota", Soft, MailboxFull),
            (None, None, "Mailbox limit exceeded", Soft, MailboxFull),
            (None, None, "exceeded storage allocation", Soft, MailboxFull),
            (
                None,
                None,
                "Message exceeds size limit",
                Soft,
                MessageTooBig,
            ),
            (None, None, "too many hops", Soft, NetworkError),
            (None, None, "Relay access denied", Block, NoRelaying),
            (None, None, "Sender address rejected", Block, Rejected),
            (None, None, "Black-listed by recipient", Block, Blocked),
            (None, None, "Very low reputation", Block, BadReputation),
            (None, None, "Bad SPF records", Block, AuthFailure),
            (None, None, "blocked using zen.spamhaus.org", Block, Blocked),
            (None, None, "452 4.2.2 Mailbox full", Soft, MailboxFull),
            (
                None,
                None,
                "550 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org",
                Block,
                Blocked,
            ),
        ];
        for &(code, status, text, kind, reason) in cases {
            check(code, status, text, kind, reason);
        }
    }

    /// Other typical wordings from real MTAs.
    #[test]
    fn typical_phrases() {
        use Kind::{Block, Hard, Soft};
        use Reason::*;
        let cases: &[Case] = &[
            (
                None,
                None,
                "553 mx.example.org does not exist",
                Hard,
                HostUnknown,
            ),
            // ... but an address's domain is not a host name on its own.
            (
                None,
                None,
                "550 mailbox jan@mx.example.org does not exist",
                Hard,
                UserUnknown,
            ),
            (None, None, "Quota exceeded", Soft, MailboxFull),
            (None, None, "552 mailbox full", Soft, MailboxFull),
            (
                None,
                None,
                "552 Requested action aborted: exceeded storage allocation",
                Soft,
                MailboxFull,
            ),
            (
                None,
                None,
                "550 5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy",
                Block,
                AuthFailure,
            ),
            (
                None,
                None,
                "421 Too many connections",
                Block,
                TooManyConnections,
            ),
            (None, None, "450 4.7.1 rate limited", Block, RateLimited),
            (
                None,
                None,
                "421 too many messages in this connection",
                Block,
                RateLimited,
            ),
            (None, None, "550 Spam message rejected", Block, SpamDetected),
            (
                None,
                None,
                "554 5.7.1 Message rejected: virus found",
                Block,
                VirusDetected,
            ),
            (None, None, "552 Message too large", Soft, MessageTooBig),
            (
                None,
                None,
                "550 5.2.1 The account has been disabled",
                Soft,
                Suspended,
            ),
            (None, None, "550 account is disabled", Soft, Suspended),
            (
                None,
                None,
                "Host or domain name not found. Name service error for name=x.example type=A: Host not found",
                Hard,
                HostUnknown,
            ),
            (None, None, "Name service error", Hard, HostUnknown),
            (None, None, "delivery time expired", Soft, Expired),
            (None, None, "retry timeout exceeded", Soft, Expired),
            (None, None, "Message expired", Soft, Expired),
            (
                None,
                None,
                "550 5.1.10 RESOLVER.ADR.Null MX",
                Hard,
                NotAccept,
            ),
            (
                None,
                None,
                "450 4.7.1 Client host rejected: cannot find your reverse hostname, [192.0.2.1]",
                Block,
                RequirePtr,
            ),
            (
                None,
                None,
                "530 5.7.0 Must issue a STARTTLS command first",
                Block,
                FailedStarttls,
            ),
            (None, None, "TLS is required", Block, FailedStarttls),
            (
                None,
                None,
                "550 5.7.1 Sender address rejected: Domain not found",
                Block,
                Rejected,
            ),
            (
                None,
                None,
                "550 5.1.1 <x@example.org>: Recipient address rejected: Domain not found",
                Hard,
                HostUnknown,
            ),
            (
                None,
                None,
                "User not found or rejected by filter",
                Soft,
                Filtered,
            ),
            (
                None,
                None,
                "554 Throttling failure: Daily message quota exceeded",
                Block,
                RateLimited,
            ),
            (
                None,
                None,
                "552 5.2.2 Mailbox quota exceeded",
                Soft,
                MailboxFull,
            ),
            (Some(501), Some("5.1.7"), "Invalid address", Block, Rejected),
            (
                None,
                None,
                "550 Message rejected: your IP is listed on youtube",
                Block,
                Blocked,
            ),
            (
                None,
                None,
                "host mx.example[192.0.2.1] said: 550 User unknown (in reply to end of DATA command)",
                Soft,
                Filtered,
            ),
            (
                None,
                None,
                "550 5.1.6 recipient no longer on server",
                Hard,
                HasMoved,
            ),
        ];
        for &(code, status, text, kind, reason) in cases {
            check(code, status, text, kind, reason);
        }
    }

    /// Wordings of particular MTAs and providers, each with the reason it stands for even next
    /// to a shorter phrase that would say something else.
    #[test]
    fn provider_wordings() {
        use Kind::{Block, Hard, Soft};
        use Reason::*;
        let cases: &[Case] = &[
            (
                None,
                None,
                "The mail server could not deliver mail to a@b.example. The account or domain may not exist, they may be blacklisted, or missing the proper dns entries.",
                Hard,
                HostUnknown,
            ),
            (
                None,
                Some("5.4.4"),
                "Sorry, I couldn't find a mail exchanger or IP address. (#5.4.4)",
                Hard,
                NotAccept,
            ),
            (
                Some(450),
                None,
                "450 service permits 2 unverifyable sending IPs - b.example is not 192.0.2.1",
                Block,
                RequirePtr,
            ),
            (
                Some(550),
                Some("5.2.0"),
                "550 5.2.0 <a@b.example> From: Domain is invalid. Please provide a valid From:",
                Block,
                Rejected,
            ),
            (
                None,
                None,
                "Each of the following recipients was rejected by a remote mail server.",
                Soft,
                Filtered,
            ),
            (
                Some(554),
                None,
                "554 Email rejected due to security policies - MCSpamSignature.sa.2.2",
                Block,
                VirusDetected,
            ),
            (
                None,
                None,
                "MSEXCH:IMS:EXAMPLE:SITE:SERVER 0 (000C05A6) Unknown Recipient",
                Hard,
                UserUnknown,
            ),
            (
                None,
                None,
                "MSEXCH:IMS:EXAMPLE:SITE:SERVER 0 (000C0595) Ambiguous Recipient",
                Soft,
                Filtered,
            ),
            (
                None,
                None,
                "Usuario a.b (a@b.example) no se encuentra en el Directorio de Domino",
                Hard,
                UserUnknown,
            ),
            (
                None,
                None,
                "As the remote domain doesnt exist.",
                Hard,
                HostUnknown,
            ),
            (
                Some(550),
                None,
                "550 Blacklisted URL in message",
                Block,
                SpamDetected,
            ),
            (
                None,
                None,
                "You are not a member of this mailing list <team@lists.example.org>.",
                Block,
                Rejected,
            ),
            (
                None,
                None,
                "Duplicated Message-ID in <team@lists.example.org>.",
                Soft,
                SystemError,
            ),
        ];
        for &(code, status, text, kind, reason) in cases {
            check(code, status, text, kind, reason);
        }
    }

    #[test]
    fn a_specific_status_beats_a_generic_word() {
        check(
            Some(550),
            Some("5.1.1"),
            "rejected",
            Kind::Hard,
            Reason::UserUnknown,
        );
        check(
            Some(550),
            Some("5.1.1"),
            "Access denied",
            Kind::Hard,
            Reason::UserUnknown,
        );
        check(
            Some(552),
            Some("5.2.2"),
            "Recipient address rejected",
            Kind::Soft,
            Reason::MailboxFull,
        );
        // ... but a precise phrase beats even a specific status.
        check(
            Some(550),
            Some("5.1.1"),
            "IP address blacklisted by recipient",
            Kind::Block,
            Reason::Blocked,
        );
        // ... and a weak phrase beats a vague status.
        check(
            Some(550),
            Some("5.7.1"),
            "Access denied",
            Kind::Block,
            Reason::Rejected,
        );
    }

    #[test]
    fn temporary_failures_never_make_an_address_hard() {
        check(
            Some(450),
            Some("4.1.1"),
            "Recipient address rejected: User unknown",
            Kind::Soft,
            Reason::UserUnknown,
        );
        check(
            None,
            None,
            "450 mailbox unavailable",
            Kind::Soft,
            Reason::UserUnknown,
        );
        check(
            Some(550),
            Some("4.1.2"),
            "Host unknown",
            Kind::Soft,
            Reason::HostUnknown,
        );
    }

    #[test]
    fn status_and_code_fallbacks() {
        check(None, Some("5.1.1"), "", Kind::Hard, Reason::UserUnknown);
        check(None, Some("4.4.7"), "", Kind::Soft, Reason::Expired);
        check(None, Some("5.7.23"), "", Kind::Block, Reason::AuthFailure);
        check(None, Some("5.7.25"), "", Kind::Block, Reason::RequirePtr);
        check(None, Some("5.6.1"), "", Kind::Block, Reason::ContentError);
        check(None, Some("5.7.99"), "", Kind::Block, Reason::SecurityError);
        check(
            Some(504),
            None,
            "Command parameter not implemented",
            Kind::Block,
            Reason::SyntaxError,
        );
        check(Some(556), None, "", Kind::Hard, Reason::NotAccept);
        check(Some(550), None, "", Kind::Soft, Reason::Undefined);
        check(Some(550), None, "550 nope", Kind::Soft, Reason::OnHold);
        check(
            Some(250),
            Some("2.1.5"),
            "250 2.1.5 Ok",
            Kind::Delivered,
            Reason::Delivered,
        );
    }

    #[test]
    fn stages_are_read_from_the_words_of_each_mta() {
        let rcpt = [
            "said: 550 Sorry (in reply to RCPT TO command)",
            "SMTP error from remote mail server after RCPT TO:<a@b.example>:",
            "192.0.2.1 does not like recipient.",
            "most progress was RCPT TO response",
            "550 5.1.1 <a@b.example>... User Unknown [RCPT_TO]",
            "SMTP:RCPT host 192.0.2.8: 553 5.3.0 <a@b.example>... No such user here",
            ">>> RCPT To:<a@b.example>",
            "550 550 5.1.1 <a@b.example>... User Unknown (state 14).",
        ];
        for text in rcpt {
            let stages = stages_named(text);
            assert!(stages.rcpt && !stages.data && !stages.mail_from, "{text}");
        }
        assert!(stages_named("550 User unknown (in reply to end of DATA command)").data);
        assert!(stages_named("SMTP error from remote mail server after MAIL FROM:<x@y>").mail_from);
        assert!(!stages_named("550 5.1.1 User unknown").any());
    }

    #[test]
    fn directory_answers_and_rcpt_replies_are_recognised() {
        assert!(says_lookup_failed(
            "User some.name (a@b.example) not listed in Domino Directory"
        ));
        assert!(says_lookup_failed(
            "554 delivery error: dd This user doesn't have a yahoo.com account"
        ));
        assert!(!says_lookup_failed("550 User unknown"));
        assert!(says_lookup_failed(
            "Invalid final delivery userid: a@b.example"
        ));
        assert!(stages_named("SMTP error from remote server for TEXT command, host: x").data);
        assert!(reply_names_recipient("550 <a@b.example>: User unknown"));
        assert!(reply_names_recipient(
            "said: 550 5.0.0 <a@b.example>: Recipient address rejected."
        ));
        assert!(!reply_names_recipient("550 : User unknown"));
        assert!(!reply_names_recipient("550 a@b.example... No such user"));
    }

    #[test]
    fn a_user_unknown_that_names_no_address_is_a_filter() {
        check(
            Some(550),
            Some("5.0.0"),
            "550 : User unknown",
            Kind::Soft,
            Reason::Filtered,
        );
        check(
            None,
            None,
            "550: : User unknown",
            Kind::Soft,
            Reason::Filtered,
        );
        check(
            None,
            None,
            "550 <a@b.example>: User unknown",
            Kind::Hard,
            Reason::UserUnknown,
        );
    }

    #[test]
    fn reason_from_status_reads_the_table() {
        assert_eq!(reason_from_status("5.1.1"), Some(Reason::UserUnknown));
        assert_eq!(reason_from_status("4.2.2"), Some(Reason::MailboxFull));
        assert_eq!(reason_from_status("5.4.4"), Some(Reason::HostUnknown));
        assert_eq!(reason_from_status("4.4.4"), Some(Reason::NetworkError));
        assert_eq!(
            reason_from_status("4.4.7 (delivery expired)"),
            Some(Reason::Expired)
        );
        assert_eq!(reason_from_status("5.5.0"), None);
        assert_eq!(reason_from_status("5.0.0"), None);
        assert_eq!(reason_from_status("nonsense"), None);
    }

    #[test]
    fn reason_from_text_has_no_status_fallback() {
        assert_eq!(reason_from_text("5.1.1"), None);
        assert_eq!(reason_from_text("MAILBOX FULL"), Some(Reason::MailboxFull));
    }

    #[test]
    fn find_status_skips_addresses_and_versions() {
        assert_eq!(find_status("550 5.7.1 blocked").as_deref(), Some("5.7.1"));
        assert_eq!(
            find_status("host 192.0.2.4.5 said 550 #5.1.0 Address rejected").as_deref(),
            Some("5.1.0")
        );
        assert_eq!(
            find_status("from 10.2.4.5 (Postfix 2.11.3) 250 2.0.0 Ok").as_deref(),
            Some("2.0.0")
        );
        assert_eq!(
            find_status("550-5.1.1 The email account"),
            Some("5.1.1".to_string())
        );
        assert_eq!(find_status("552 5.2.2."), Some("5.2.2".to_string()));
        assert_eq!(find_status("no code"), None);
        assert_eq!(
            find_status_other_than(
                "554 4.4.7 Message expired: unable to deliver.<421 4.4.2 Connection timed out>",
                "4.4.7"
            )
            .as_deref(),
            Some("4.4.2")
        );
    }

    #[test]
    fn find_smtp_code_reads_common_layouts() {
        assert_eq!(find_smtp_code("smtp; 550 5.1.1 User unknown"), Some(550));
        assert_eq!(
            find_smtp_code("host mx.example[192.0.2.1] said: 452 4.2.2 full"),
            Some(452)
        );
        assert_eq!(find_smtp_code("550-5.1.1 The email account"), Some(550));
        assert_eq!(
            find_smtp_code(
                "SMTP error from remote mail server after RCPT TO:<a@b>:\n    550 No such user"
            ),
            Some(550)
        );
        assert_eq!(
            find_smtp_code("220-greeting 421 4.2.1 Service refused"),
            Some(421)
        );
        assert_eq!(find_smtp_code("<<< 554 5.7.1 rejected"), Some(554));
        assert_eq!(
            find_smtp_code("a@b.example Error, ERROR_CODE :421, ERROR_CODE :, Host not reachable."),
            Some(421)
        );
        assert_eq!(
            find_smtp_code("[Status: Error, Address: <a@b.example>, ResponseCode 421, , x]"),
            Some(421)
        );
        assert_eq!(find_smtp_code("port 25 on 192.0.2.1, 1 recipient"), None);
    }

    #[test]
    fn tables_are_consistent() {
        for table in PHRASE_TABLES.iter().chain(WORD_TABLES) {
            assert!(
                PRIORITY.contains(&table.reason),
                "{:?} has no priority",
                table.reason
            );
            for phrase in table.phrases {
                assert_eq!(
                    *phrase,
                    phrase.to_ascii_lowercase(),
                    "phrases are lower case"
                );
            }
        }
        for p in PATTERN_TABLE {
            assert!(
                PRIORITY.contains(&p.reason),
                "{:?} has no priority",
                p.reason
            );
        }
        for r in STATUS_TABLE {
            let probe = r.code.replace('X', "5");
            let probe = if probe.matches('.').count() == 1 {
                format!("{probe}.99")
            } else {
                probe
            };
            let status = Status::parse(&probe).expect("status key parses");
            assert!(key_matches(r.code, status), "{} matches itself", r.code);
        }
        // Only the four bad-address reasons can be hard, and never for a temporary failure.
        let hard = [
            Reason::UserUnknown,
            Reason::HostUnknown,
            Reason::HasMoved,
            Reason::NotAccept,
        ];
        for reason in PRIORITY {
            let permanent = kind_for(*reason, Some(550), Status::parse("5.0.0"));
            let temporary = kind_for(*reason, Some(450), Status::parse("4.0.0"));
            assert_eq!(permanent == Kind::Hard, hard.contains(reason), "{reason:?}");
            assert_ne!(temporary, Kind::Hard, "{reason:?}");
        }
        let _ = &*MATCHER;
    }
}
