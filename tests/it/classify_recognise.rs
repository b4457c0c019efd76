//! Integration tests of what `bouncekit classify` recognises beyond the basics of classify.rs:
//! out-of-office notices and unsubscribe requests in the languages of our users (and the mail
//! that only looks like them), the header markers of automatic replies, DSN actions, our own
//! addresses in every recogniser, VERP edge cases, the requirement phrases end to end, and the
//! text bounces of vendors. Fixtures are hand-written under tests/fixtures/; the rest is
//! generated here.

use crate::common::*;
use serde_json::Value;

/// Classifies one fixture (copied into a fresh sandbox) with extra flags; exit status 0.
fn classify_fixture(name: &str, flags: &[&str]) -> Vec<Value> {
    let sb = Sandbox::new();
    let input = sb.fixture(name);
    classify_in(&sb, &input, flags)
}

/// Classifies a message written here; exit status 0.
fn classify_text(text: &str, flags: &[&str]) -> Vec<Value> {
    let sb = Sandbox::new();
    let input = sb.write("message.eml", text.as_bytes());
    classify_in(&sb, &input, flags)
}

fn classify_in(sb: &Sandbox, input: &str, flags: &[&str]) -> Vec<Value> {
    let mut args = vec!["classify"];
    args.extend_from_slice(flags);
    args.push(input);
    sb.run(&args).ok_records()
}

/// The text of a fixture, to build variants of it.
fn fixture_text(name: &str) -> String {
    String::from_utf8(fixture_bytes(name)).expect("fixture is UTF-8")
}

// ---------------------------------------------------------------------------------------------
// Out-of-office notices
// ---------------------------------------------------------------------------------------------

#[test]
fn out_of_office_subjects_in_every_required_language() {
    // (fixture, author). Polish, Czech and German are in classify.rs.
    for (fixture, author) in [
        ("ooo_english_subject.eml", "sarah.miller@example.net"),
        ("ooo_norwegian_subject.eml", "kari@example.no"),
        ("ooo_french_subject.eml", "camille@example.fr"),
        ("ooo_spanish_subject.eml", "lucia@example.es"),
        ("ooo_japanese_subject.eml", "taro.yamada@example.jp"),
    ] {
        check_reply(fixture, author, "autoreply", "rfc3834");
    }
}

/// A reply fixture gives one record about its author, of this kind (and reason) and format.
fn check_reply(fixture: &str, author: &str, kind: &str, format: &str) {
    check(
        fixture,
        single(&classify_fixture(fixture, &[])),
        &[
            ("recipient", is(author)),
            ("kind", is(kind)),
            ("reason", is(kind)),
            ("format", is(format)),
            ("error", missing()),
        ],
    );
}

#[test]
fn more_out_of_office_subject_wordings() {
    for subject in [
        "Auto-Reply: Spring sale",
        "Ausente: Rebajas de primavera",
        "=?UTF-8?Q?Jestem_na_urlopie?=",
        "=?UTF-8?Q?Jsem_na_dovolen=C3=A9?=",
        "Estoy de vacaciones",
        "Absent: Les soldes",
        "Ferie: tilbud",
    ] {
        let text = format!(
            "From: Jan <jan@example.org>\nTo: news@example.com\nSubject: {subject}\n\
Message-ID: <ooo@example.org>\nContent-Type: text/plain\n\nBack soon.\n"
        );
        check(
            subject,
            single(&classify_text(&text, &[])),
            &[
                ("recipient", is("jan@example.org")),
                ("kind", is("autoreply")),
            ],
        );
    }
}

#[test]
fn out_of_office_words_must_be_the_whole_phrase() {
    // Regression: the subject patterns matched any subject that merely started with them.
    for fixture in ["not_ooo_absence_of_invoice.eml", "not_ooo_urlaubsfotos.eml"] {
        check(
            fixture,
            single(&classify_fixture(fixture, &[])),
            &[("kind", is("not_bounce")), ("recipient", missing())],
        );
    }
}

#[test]
fn a_reply_saying_its_author_is_away_is_an_autoreply() {
    for (fixture, author) in [
        ("ooo_body_english_reply.eml", "tom.baker@example.net"),
        ("ooo_body_polish_reply.eml", "ewa@example.pl"),
    ] {
        check(
            fixture,
            single(&classify_fixture(fixture, &[])),
            &[
                ("recipient", is(author)),
                ("kind", is("autoreply")),
                ("reason", is("autoreply")),
                ("error", missing()),
            ],
        );
    }
    // The same words in a message that answers nothing are news, not a notice.
    let text = fixture_text("ooo_body_english_reply.eml")
        .replace("Subject: RE: ", "Subject: ")
        .replace("In-Reply-To: <campaign-0042.tom@example.com>\n", "");
    check(
        "not a reply",
        single(&classify_text(&text, &[])),
        &[("kind", is("not_bounce"))],
    );
}

#[test]
fn autoreply_header_markers() {
    for (fixture, author) in [
        ("autoreply_x_autoreply.eml", "olga@example.org"),
        ("autoreply_x_autorespond.eml", "pawel@example.org"),
        ("autoreply_precedence_auto_reply.eml", "nina@example.org"),
    ] {
        check(
            fixture,
            single(&classify_fixture(fixture, &[])),
            &[
                ("recipient", is(author)),
                ("kind", is("autoreply")),
                ("reason", is("autoreply")),
                ("format", is("rfc3834")),
            ],
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Unsubscribe requests
// ---------------------------------------------------------------------------------------------

#[test]
fn unsubscribe_requests_in_every_required_language() {
    // English and Polish are in classify.rs.
    for (fixture, author) in [
        ("reply_unsubscribe_czech.eml", "jana@example.cz"),
        ("reply_unsubscribe_norwegian.eml", "ola@example.no"),
        ("reply_unsubscribe_spanish.eml", "carlos@example.es"),
        ("reply_unsubscribe_japanese.eml", "hanako.sato@example.jp"),
        ("reply_unsubscribe_german.eml", "petra@example.de"),
        ("reply_unsubscribe_french.eml", "louis@example.fr"),
    ] {
        check_reply(fixture, author, "unsubscribe", "reply");
    }
}

#[test]
fn more_unsubscribe_wordings() {
    for words in [
        "Wypiszcie mnie z tej listy.",
        "Proszę o usunięcie mojego adresu z bazy.",
        "Jeg vil avmelde meg.",
        "Bitte abmelden.",
        "Merci de me désinscrire.",
        "Quiero dar de baja mi dirección.",
        "Prosím, odhlaste mě.",
    ] {
        let text = format!(
            "From: Jan <jan@example.org>\nTo: news@example.com\nSubject: Re: offer\n\
Message-ID: <r@example.org>\nContent-Type: text/plain; charset=utf-8\n\
Content-Transfer-Encoding: 8bit\n\n{words}\n"
        );
        check(
            words,
            single(&classify_text(&text, &[])),
            &[
                ("recipient", is("jan@example.org")),
                ("kind", is("unsubscribe")),
            ],
        );
    }
}

#[test]
fn a_newsletter_saying_unsubscribe_is_not_a_request() {
    // Regression: any mail with "Unsubscribe" in its first lines was a request.
    check(
        "List-Id, List-Unsubscribe, Precedence: bulk",
        single(&classify_fixture(
            "newsletter_with_list_unsubscribe.eml",
            &[],
        )),
        &[("kind", is("not_bounce"))],
    );
    // Each marker of bulk or list mail is enough on its own.
    let request = fixture_text("reply_unsubscribe_english.eml");
    for header in [
        "List-Id: <offers.example.net>",
        "List-Unsubscribe: <mailto:leave@example.net>",
        "Precedence: bulk",
        "Precedence: list",
        "Precedence: junk",
    ] {
        let text = request.replace("MIME-Version:", &format!("{header}\nMIME-Version:"));
        check(
            header,
            single(&classify_text(&text, &[])),
            &[("kind", is("not_bounce"))],
        );
    }
}

#[test]
fn a_request_turned_round_is_not_a_request() {
    check(
        "Do not unsubscribe me, I love it!",
        single(&classify_fixture("reply_do_not_unsubscribe.eml", &[])),
        &[("kind", is("not_bounce"))],
    );
}

#[test]
fn words_below_the_reply_are_not_a_request() {
    // The list footer in the original below an Outlook separator, not quoted with ">".
    let text = fixture_text("reply_quoting_unsubscribe_footer.eml").replace(
        "> Everything is 20% off until Sunday.\n> --\n> You get this because you signed up at example.com.\n> To unsubscribe, click https://example.com/unsubscribe?u=henryk\n",
        "-----Original Message-----\nFrom: Example News <news@example.com>\nSubject: Spring sale starts today\n\nEverything is 20% off until Sunday.\nUnsubscribe: reply with STOP\n",
    );
    assert!(text.contains("-----Original Message-----"));
    check(
        "footer below -----Original Message-----",
        single(&classify_text(&text, &[])),
        &[("kind", is("not_bounce"))],
    );
}

// ---------------------------------------------------------------------------------------------
// Delivery-status reports
// ---------------------------------------------------------------------------------------------

/// A delivery-status report about jan@example.org with one per-recipient group: these fields
/// (each a whole line, or left out when empty), after a text part of `human` words.
fn dsn_with(human: &str, fields: &[(&str, &str)]) -> String {
    let group: String = fields
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}: {v}\n"))
        .collect();
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\nTo: news@example.com\n\
Subject: Delivery Status Notification\nDate: Tue, 04 Mar 2025 10:40:00 +0000\n\
Message-ID: <dsn-gen@mx.example.net>\nMIME-Version: 1.0\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\n\n\
--b\nContent-Type: text/plain\n\n{human}\n\n\
--b\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.net\n\n{group}\n\
--b\nContent-Type: text/rfc822-headers\n\nFrom: Example News <news@example.com>\n\
To: jan@example.org\nSubject: Spring sale\nMessage-ID: <campaign-0042.jan@example.com>\n\n--b--\n"
    )
}

/// `dsn_with` for Final-Recipient jan@example.org and the usual three fields.
fn dsn(action: &str, status: &str, diagnostic: &str) -> String {
    dsn_with(
        "This is an automatically generated Delivery Status Notification.",
        &[
            ("Final-Recipient", "rfc822; jan@example.org"),
            ("Action", action),
            ("Status", status),
            ("Diagnostic-Code", diagnostic),
        ],
    )
}

#[test]
fn relayed_and_expanded_actions_are_delivered() {
    for action in ["relayed", "expanded"] {
        let text = dsn(action, "2.0.0", "smtp; 250 2.0.0 Ok");
        check(
            action,
            single(&classify_text(&text, &[])),
            &[
                ("recipient", is("jan@example.org")),
                ("kind", is("delivered")),
                ("reason", is("delivered")),
                ("action", is(action)),
                ("status", is("2.0.0")),
                ("format", is("rfc3464")),
            ],
        );
    }
}

#[test]
fn a_failed_action_is_never_delivered_whatever_the_status_class() {
    // Regression: "Action: failed" with "Status: 2.0.0" came out delivered.
    check(
        "failed, 2.0.0, mailbox full",
        single(&classify_text(
            &dsn("failed", "2.0.0", "smtp; 552 Mailbox is full"),
            &[],
        )),
        &[
            ("kind", is("soft")),
            ("reason", is("mailbox_full")),
            ("status", is("2.0.0")),
            ("action", is("failed")),
            ("smtp_code", is(552)),
        ],
    );
    check(
        "failed, 2.0.0, no words",
        single(&classify_text(&dsn("failed", "2.0.0", ""), &[])),
        &[
            ("kind", is("soft")),
            ("reason", is("undefined")),
            ("status", is("2.0.0")),
            ("action", is("failed")),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Our own addresses, in every recogniser
// ---------------------------------------------------------------------------------------------

const OWN_DOMAIN: &[&str] = &["--own-domain", "example.com"];

#[test]
fn arf_naming_our_own_address_falls_back_to_the_returned_to() {
    // Regression: the complaint was about news@example.com, our own list address.
    let text = fixture_text("arf_abuse.eml").replace(
        "Original-Rcpt-To: <marta@example.net>",
        "Original-Rcpt-To: <news@example.com>",
    );
    check(
        "Original-Rcpt-To is ours",
        single(&classify_text(&text, OWN_DOMAIN)),
        &[
            ("recipient", is("marta@example.net")),
            ("kind", is("complaint")),
            ("format", is("arf")),
        ],
    );
    // Nothing but our own addresses: no recipient, still a complaint.
    let text = text.replace("To: marta@example.net", "To: news@example.com");
    check(
        "every candidate is ours",
        single(&classify_text(&text, OWN_DOMAIN)),
        &[("recipient", missing()), ("kind", is("complaint"))],
    );
}

#[test]
fn mdn_naming_our_own_address_names_its_reader() {
    let text = fixture_text("mdn_displayed.eml")
        .replace("rfc822;jan.nowak@example.org", "rfc822;news@example.com");
    check(
        "Final-Recipient is ours",
        single(&classify_text(&text, OWN_DOMAIN)),
        &[
            ("recipient", is("jan.nowak@example.org")),
            ("kind", is("read")),
            ("format", is("mdn")),
        ],
    );
    check(
        "--own-address for every candidate",
        single(&classify_text(
            &text,
            &[
                "--own-domain",
                "example.com",
                "--own-address",
                "jan.nowak@example.org",
            ],
        )),
        &[("recipient", missing()), ("kind", is("read"))],
    );
}

#[test]
fn ses_notification_naming_our_own_address_falls_back_to_the_destination() {
    let records = classify_fixture("ses_complaint_own_address.eml", OWN_DOMAIN);
    check(
        "complainedRecipients is ours",
        single(&records),
        &[
            ("recipient", is("lena@example.org")),
            ("kind", is("complaint")),
            ("format", is("amazonses")),
        ],
    );
}

#[test]
fn autoreply_and_unsubscribe_from_our_own_address_name_nobody_or_the_verp_recipient() {
    let from_colleague =
        |fixture: &str, author: &str| fixture_text(fixture).replace(author, "anna@example.com");
    for (fixture, author, kind) in [
        (
            "ooo_english_subject.eml",
            "sarah.miller@example.net",
            "autoreply",
        ),
        (
            "reply_unsubscribe_english.eml",
            "robert@example.net",
            "unsubscribe",
        ),
    ] {
        let text = from_colleague(fixture, author);
        check(
            fixture,
            single(&classify_text(&text, OWN_DOMAIN)),
            &[("recipient", missing()), ("kind", is(kind))],
        );
        // A VERP address it was sent back to still names the recipient.
        let text = text.replace(
            "To: news@example.com",
            "To: bounces+jan=example.org@example.com",
        );
        check(
            fixture,
            single(&classify_text(
                &text,
                &[
                    "--own-domain",
                    "example.com",
                    "--verp",
                    "bounces@example.com",
                ],
            )),
            &[("recipient", is("jan@example.org")), ("kind", is(kind))],
        );
    }
}

// ---------------------------------------------------------------------------------------------
// VERP edge cases
// ---------------------------------------------------------------------------------------------

const VERP: &[&str] = &["--verp", "bounces@example.com"];

#[test]
fn a_dsn_group_without_a_recipient_keeps_its_fields_and_takes_the_verp_recipient() {
    // Regression: the DSN was thrown away and the text read instead (soft, undefined, 5.0.900).
    check(
        "Action and Status, no Final-Recipient, --verp",
        single(&classify_fixture("verp_dsn_without_recipient.eml", VERP)),
        &[
            ("recipient", is("jan@example.org")),
            ("kind", is("hard")),
            ("reason", is("user_unknown")),
            ("status", is("5.1.1")),
            ("smtp_code", is(550)),
            ("action", is("failed")),
            (
                "diagnostic",
                line_with(&["550 5.1.1", "User unknown in local recipient table"]),
            ),
            ("remote_mta", is("mx.example.org")),
            ("reporting_mta", is("gw.example.net")),
            ("format", is("rfc3464")),
        ],
    );
}

#[test]
fn a_text_bounce_whose_recipient_comes_from_verp_keeps_its_words() {
    // Regression: with --verp the diagnostic was null; without it, the record kept the words.
    let without = classify_fixture("verp_text_bounce_no_reply_line.eml", &[]);
    let words = single(&without)["diagnostic"].clone();
    assert!(
        words
            .as_str()
            .is_some_and(|w| w.contains("mailbox is full"))
    );
    let with = classify_fixture("verp_text_bounce_no_reply_line.eml", VERP);
    check(
        "text bounce, --verp",
        single(&with),
        &[
            ("recipient", is("jan@example.org")),
            ("kind", is("soft")),
            ("reason", is("mailbox_full")),
            ("action", is("failed")),
            ("diagnostic", Want::Is(words)),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// The phrases of requirements.md, end to end
// ---------------------------------------------------------------------------------------------

/// The wordings requirements.md lists for an address that does not exist.
const USER_UNKNOWN_PHRASES: &[&str] = &[
    "User unknown",
    "No such user",
    "mailbox unavailable",
    "invalid recipient",
    "not a valid mailbox",
    "no mailbox here by that name",
    "User unknown in virtual mailbox table",
];

/// A plain-text bounce that quotes the server's reply and says nothing of the SMTP stage.
fn text_bounce(reply: &str) -> String {
    format!(
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\nTo: news@example.com\n\
Subject: Mail delivery failed: returning message to sender\nDate: Tue, 04 Mar 2025 10:50:00 +0000\n\
Message-ID: <text-gen@mx.example.net>\n\n\
A message that you sent could not be delivered to one or more of its recipients.\n\n\
  jan@example.org\n    {reply}\n"
    )
}

#[test]
fn required_user_unknown_phrases_are_hard_in_a_dsn_with_a_status_that_names_nothing() {
    // Regression: with Status 5.0.0 and no sign of the SMTP stage these came out soft/filtered,
    // so "550 No such user" never suppressed the address.
    for phrase in USER_UNKNOWN_PHRASES {
        let text = dsn("failed", "5.0.0", &format!("smtp; 550 {phrase}"));
        check(
            phrase,
            single(&classify_text(&text, &[])),
            &[
                ("recipient", is("jan@example.org")),
                ("kind", is("hard")),
                ("reason", is("user_unknown")),
                ("status", is("5.0.0")),
                ("smtp_code", is(550)),
                ("format", is("rfc3464")),
            ],
        );
    }
}

#[test]
fn required_user_unknown_phrases_are_hard_in_a_text_bounce() {
    for phrase in USER_UNKNOWN_PHRASES {
        let text = text_bounce(&format!("550 {phrase}"));
        check(
            phrase,
            single(&classify_text(&text, &[])),
            &[
                ("recipient", is("jan@example.org")),
                ("kind", is("hard")),
                ("reason", is("user_unknown")),
                ("smtp_code", is(550)),
                ("action", is("failed")),
            ],
        );
    }
}

#[test]
fn a_user_unknown_that_a_filter_gave_is_not_the_addresss_fault() {
    // What the rule keeps: the report says a filter refused the message, or that the refusal
    // answered DATA.
    for (what, text) in [
        (
            "filter words",
            dsn("failed", "5.0.0", "smtp; 550 No such user (content filter)"),
        ),
        (
            "after DATA",
            text_bounce("550 No such user").replace(
                "    550 No such user",
                "    SMTP error from remote mail server after end of data:\n    550 No such user",
            ),
        ),
        (
            "a filtering gateway's report",
            dsn(
                "failed",
                "5.0.0",
                "smtp; 550 jan@example.org... No such user",
            )
            .replacen(
                "MIME-Version: 1.0\n",
                "MIME-Version: 1.0\nX-Mailer: SurfControl E-mail Filter\n",
                1,
            ),
        ),
        (
            "a filtering gateway's report (McAfee)",
            dsn(
                "failed",
                "5.0.0",
                "smtp; 550 jan@example.org... No such user",
            )
            .replacen(
                "MIME-Version: 1.0\n",
                "MIME-Version: 1.0\nX-NAI-Header: Modified by McAfee Email Gateway\n",
                1,
            ),
        ),
    ] {
        check(
            what,
            single(&classify_text(&text, &[])),
            &[("kind", is("soft")), ("reason", is("filtered"))],
        );
    }
    // The same words from a mail server of its own are the address's fault.
    check(
        "a mail server's report",
        single(&classify_text(
            &dsn(
                "failed",
                "5.0.0",
                "smtp; 550 jan@example.org... No such user",
            ),
            &[],
        )),
        &[("kind", is("hard")), ("reason", is("user_unknown"))],
    );
}

// ---------------------------------------------------------------------------------------------
// Vendor text bounces
// ---------------------------------------------------------------------------------------------

#[test]
fn vendor_text_bounces_name_the_recipient_and_the_reason() {
    // (fixture, recipient, kind, reason, format)
    for (fixture, recipient, kind, reason, format) in [
        (
            "courier_user_unknown.eml",
            "dorota@example.org",
            "hard",
            "user_unknown",
            "courier",
        ),
        (
            "exchange_user_unknown.eml",
            "wojciech@example.org",
            "hard",
            "user_unknown",
            "exchange",
        ),
        (
            "office365_recipient_not_found.eml",
            "agnieszka@example.org",
            "hard",
            "user_unknown",
            "office365",
        ),
        (
            "yahoo_mailbox_full.eml",
            "krzysztof@example.org",
            "soft",
            "mailbox_full",
            "yahoo",
        ),
        (
            "outlook_blocked.eml",
            "barbara@example.org",
            "block",
            "blocked",
            "outlook",
        ),
        (
            "domino_user_unknown.eml",
            "stanislaw@example.org",
            "hard",
            "user_unknown",
            "domino",
        ),
        (
            "gmx_user_unknown.eml",
            "jadwiga@example.org",
            "hard",
            "user_unknown",
            "gmx",
        ),
        (
            "mailru_mailbox_full.eml",
            "bogdan@example.org",
            "soft",
            "mailbox_full",
            "mailru",
        ),
        (
            "messagelabs_user_unknown.eml",
            "elzbieta@example.org",
            "hard",
            "user_unknown",
            "messagelabs",
        ),
    ] {
        check(
            fixture,
            single(&classify_fixture(fixture, &[])),
            &[
                ("recipient", is(recipient)),
                ("kind", is(kind)),
                ("reason", is(reason)),
                ("format", is(format)),
                ("action", is("failed")),
                ("diagnostic", non_empty()),
                ("error", missing()),
            ],
        );
    }
}

#[test]
fn vendor_reports_keep_the_servers_words() {
    // Domino puts "because:" between the address and the reason; Office 365 names the address
    // in a sentence before the line that carries the server's reply.
    check(
        "Domino",
        single(&classify_fixture("domino_user_unknown.eml", &[])),
        &[(
            "diagnostic",
            is("User stanislaw (stanislaw@example.org) not listed in Domino Directory"),
        )],
    );
    check(
        "Office 365",
        single(&classify_fixture("office365_recipient_not_found.eml", &[])),
        &[
            (
                "diagnostic",
                line_with(&["550 5.1.10", "RESOLVER.ADR.RecipientNotFound"]),
            ),
            ("status", is("5.1.10")),
            ("smtp_code", is(550)),
        ],
    );
}

#[test]
fn mail_from_a_person_at_gmx_or_mail_ru_is_no_report() {
    // Regression: "gmx" or "mail.ru" anywhere in From, Subject or text made a message a report.
    for from in ["Jan <jan@gmx.de>", "Ivan <ivan@mail.ru>"] {
        let text = format!(
            "From: {from}\nTo: news@example.com\nSubject: Question about the offer\n\
Message-ID: <q@example.net>\n\nIs the offer still valid?\n"
        );
        check(
            from,
            single(&classify_text(&text, &[])),
            &[("kind", is("not_bounce")), ("format", missing())],
        );
    }
}

#[test]
fn a_product_named_in_a_persons_mail_makes_no_report() {
    // Regression: "Mimecast", "Lotus Notes", "Google Groups" or "Amazon SES" anywhere in a
    // message made it an unreadable report (kind unknown).
    for words in [
        "Our mail now goes through Mimecast.",
        "We still use Lotus Notes here.",
        "Join our Google Groups forum.",
        "Do you send with Amazon SES?",
    ] {
        let text = format!(
            "From: Anna <anna@example.net>\nTo: news@example.com\nSubject: Hello\n\
Message-ID: <p@example.net>\n\n{words}\n"
        );
        check(
            words,
            single(&classify_text(&text, &[])),
            &[("kind", is("not_bounce"))],
        );
    }
}
