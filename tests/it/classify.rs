//! Integration tests of `bouncekit classify` and the conventions every subcommand shares:
//! every recogniser, every input form, the output formats, bad input and the exit statuses, run
//! against hand-written synthetic fixtures (tests/fixtures/) or input generated here.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use base64::Engine;
use serde_json::Value;

use crate::common::*;

/// Classifies one fixture (copied into a fresh sandbox) with extra flags; exit status 0.
fn classify_fixture(name: &str, flags: &[&str]) -> Vec<Value> {
    let sb = Sandbox::new();
    let input = sb.fixture(name);
    let mut args = vec!["classify"];
    args.extend_from_slice(flags);
    args.push(&input);
    sb.run(&args).ok_records()
}

/// The kinds that say a delivery failed and count against (or for) an address.
const BOUNCE_KINDS: &[&str] = &["hard", "soft", "block"];

// ---------------------------------------------------------------------------------------------
// 1. Recognisers
// ---------------------------------------------------------------------------------------------

#[test]
fn rfc3464_report_gives_one_record_per_recipient_with_links_back() {
    let records = classify_fixture("rfc3464_two_recipients.eml", &[]);
    assert_eq!(records.len(), 2, "one record per recipient: {records:#?}");
    check(
        "failed recipient",
        &records[0],
        &[
            ("source", is("rfc3464_two_recipients.eml")),
            ("message_id", msgid("dsn-0001@mx1.example.net")),
            ("date", is("2025-03-04T10:15:00Z")),
            ("recipient", is("anna.kowalska@example.org")),
            ("kind", is("hard")),
            ("reason", is("user_unknown")),
            ("status", is("5.1.1")),
            ("smtp_code", is(550)),
            ("action", is("failed")),
            (
                "diagnostic",
                line_with(&[
                    "550 5.1.1 <anna.kowalska@example.org>: Recipient",
                    "User unknown in virtual mailbox table",
                ]),
            ),
            ("remote_mta", is("mx.example.org")),
            ("reporting_mta", is("mx1.example.net")),
            (
                "original_message_id",
                msgid("campaign-0042.anna@example.com"),
            ),
            ("envelope_id", is("ENV-2025-0042")),
            ("campaign", is("spring-sale")),
            ("format", is("rfc3464")),
            ("error", missing()),
        ],
    );
    check(
        "delayed recipient",
        &records[1],
        &[
            ("source", is("rfc3464_two_recipients.eml")),
            ("message_id", msgid("dsn-0001@mx1.example.net")),
            ("recipient", is("piotr@example.net")),
            ("kind", is("delay")),
            ("reason", is("mailbox_full")),
            ("status", is("4.2.2")),
            ("smtp_code", is(452)),
            ("action", is("delayed")),
            ("remote_mta", is("mx.example.net")),
            ("reporting_mta", is("mx1.example.net")),
            (
                "original_message_id",
                msgid("campaign-0042.anna@example.com"),
            ),
            ("envelope_id", is("ENV-2025-0042")),
            ("campaign", is("spring-sale")),
            ("format", is("rfc3464")),
            ("error", missing()),
        ],
    );
}

#[test]
fn rfc3464_success_report_is_delivered() {
    let records = classify_fixture("rfc3464_delivered.eml", &[]);
    check(
        "success DSN",
        single(&records),
        &[
            ("message_id", msgid("dsn-0002@mx2.example.net")),
            ("date", is("2025-03-05T08:00:00Z")),
            ("recipient", is("beata@example.org")),
            ("kind", is("delivered")),
            ("reason", is("delivered")),
            ("status", is("2.0.0")),
            ("smtp_code", is(250)),
            ("action", is("delivered")),
            ("remote_mta", is("mx.example.org")),
            ("reporting_mta", is("mx2.example.net")),
            (
                "original_message_id",
                msgid("campaign-0042.beata@example.com"),
            ),
            ("envelope_id", is("ENV-2025-0043")),
            ("campaign", is("spring-sale")),
            ("format", is("rfc3464")),
            ("error", missing()),
        ],
    );
}

#[test]
fn delivery_status_part_without_report_type_is_still_read() {
    let records = classify_fixture("dsn_without_report_type.eml", &[]);
    check(
        "multipart/report without report-type",
        single(&records),
        &[
            ("message_id", msgid("dsn-0003@relay.example.net")),
            ("recipient", is("bob@nonexistent.test")),
            ("status", is("5.1.2")),
            ("smtp_code", is(550)),
            ("action", is("failed")),
            ("reporting_mta", is("relay.example.net")),
            (
                "original_message_id",
                msgid("campaign-0042.bob@example.com"),
            ),
            ("format", is("rfc3464")),
            ("error", missing()),
        ],
    );
}

#[test]
fn status_5_1_2_host_unknown_is_hard_host_unknown() {
    // Same fixture: "550 5.1.2 Host unknown (Name server: ...: host not found)".
    let records = classify_fixture("dsn_without_report_type.eml", &[]);
    check(
        "5.1.2 Host unknown",
        single(&records),
        &[
            ("recipient", is("bob@nonexistent.test")),
            ("kind", is("hard")),
            ("reason", is("host_unknown")),
            ("status", is("5.1.2")),
        ],
    );
}

#[test]
fn postfix_dnsbl_rejection_is_a_block_never_hard() {
    let records = classify_fixture("postfix_spamhaus_block.eml", &[]);
    check(
        "Postfix DSN, client blocked using zen.spamhaus.org",
        single(&records),
        &[
            (
                "message_id",
                msgid("20250306120000.4F2A81C0123@mail.example.com"),
            ),
            ("recipient", is("kasia@example.org")),
            ("kind", is("block")),
            ("reason", one_of(&["blocked", "bad_reputation"])),
            ("status", is("5.7.1")),
            ("smtp_code", is(550)),
            ("action", is("failed")),
            (
                "diagnostic",
                line_with(&["550 5.7.1 Service unavailable", "zen.spamhaus.org"]),
            ),
            ("remote_mta", is("mx.example.org")),
            ("reporting_mta", is("mail.example.com")),
            (
                "original_message_id",
                msgid("campaign-0042.kasia@example.com"),
            ),
            ("campaign", is("spring-sale")),
            ("format", one_of(&["postfix", "rfc3464"])),
            ("error", missing()),
        ],
    );
}

#[test]
fn arf_abuse_report_is_a_complaint_about_original_rcpt_to() {
    let records = classify_fixture("arf_abuse.eml", &[]);
    check(
        "ARF abuse report",
        single(&records),
        &[
            ("message_id", msgid("arf-0001@feedback.example.net")),
            ("date", is("2025-03-07T14:00:00Z")),
            ("recipient", is("marta@example.net")),
            ("kind", is("complaint")),
            ("reason", is("complaint")),
            (
                "original_message_id",
                msgid("campaign-0042.marta@example.com"),
            ),
            ("campaign", is("spring-sale")),
            ("format", is("arf")),
            ("error", missing()),
        ],
    );
}

#[test]
fn arf_opt_out_report_is_an_unsubscribe() {
    let records = classify_fixture("arf_opt_out.eml", &[]);
    check(
        "ARF opt-out report",
        single(&records),
        &[
            ("recipient", is("kuba@example.org")),
            ("kind", is("unsubscribe")),
            ("reason", is("unsubscribe")),
            (
                "original_message_id",
                msgid("campaign-0042.kuba@example.com"),
            ),
            ("campaign", is("spring-sale")),
            ("format", is("arf")),
            ("error", missing()),
        ],
    );
}

#[test]
fn arf_without_original_rcpt_to_names_the_returned_messages_to() {
    let records = classify_fixture("arf_without_original_rcpt_to.eml", &[]);
    check(
        "ARF without Original-Rcpt-To",
        single(&records),
        &[
            ("recipient", is("tomasz@example.org")),
            ("kind", is("complaint")),
            ("reason", is("complaint")),
            (
                "original_message_id",
                msgid("campaign-0042.tomasz@example.com"),
            ),
            ("campaign", is("spring-sale")),
            ("format", is("arf")),
            ("error", missing()),
        ],
    );
}

#[test]
fn mdn_displayed_is_read() {
    let records = classify_fixture("mdn_displayed.eml", &[]);
    check(
        "MDN displayed",
        single(&records),
        &[
            ("message_id", msgid("mdn-0001@mail.example.org")),
            // Date: Sat, 08 Mar 2025 09:00:00 +0100, in UTC.
            ("date", is("2025-03-08T08:00:00Z")),
            ("recipient", is("jan.nowak@example.org")),
            ("kind", is("read")),
            ("reason", is("read")),
            (
                "original_message_id",
                msgid("campaign-0042.jan@example.com"),
            ),
            // "host names from the report": the Reporting-UA's host, not the whole field.
            ("reporting_mta", null_or("mail.example.org")),
            ("format", is("mdn")),
            ("error", missing()),
        ],
    );
}

#[test]
fn mdn_deleted_is_never_a_bounce_or_a_read() {
    let records = classify_fixture("mdn_deleted.eml", &[]);
    let mut banned = BOUNCE_KINDS.to_vec();
    banned.push("read");
    check(
        "MDN deleted",
        single(&records),
        &[
            ("kind", Want::NoneOf(banned)),
            ("kind", non_empty()),
            ("recipient", none_of(&["news@example.com"])),
            ("error", missing()),
        ],
    );
}

#[test]
fn rfc3834_autoreply_names_its_sender() {
    let records = classify_fixture("rfc3834_autoreply.eml", &[]);
    check(
        "Auto-Submitted: auto-replied",
        single(&records),
        &[
            ("message_id", msgid("vacation-0001@mail.example.org")),
            ("recipient", is("zofia@example.org")),
            ("kind", is("autoreply")),
            ("reason", is("autoreply")),
            ("format", is("rfc3834")),
            ("error", missing()),
        ],
    );
}

#[test]
fn out_of_office_subjects_are_autoreplies_in_polish_czech_and_german() {
    for (fixture, sender) in [
        ("ooo_polish_subject.eml", "malgorzata@example.org"),
        ("ooo_czech_subject.eml", "petr.novak@example.net"),
        ("ooo_german_subject.eml", "klaus@example.org"),
    ] {
        let records = classify_fixture(fixture, &[]);
        check(
            fixture,
            single(&records),
            &[
                ("recipient", is(sender)),
                ("kind", is("autoreply")),
                ("reason", is("autoreply")),
                ("error", missing()),
            ],
        );
    }
}

#[test]
fn human_reply_asking_to_be_removed_is_an_unsubscribe() {
    for (fixture, sender) in [
        ("reply_unsubscribe_english.eml", "robert@example.net"),
        ("reply_unsubscribe_polish.eml", "krystyna@example.org"),
    ] {
        let records = classify_fixture(fixture, &[]);
        check(
            fixture,
            single(&records),
            &[
                ("recipient", is(sender)),
                ("kind", is("unsubscribe")),
                ("reason", is("unsubscribe")),
                ("error", missing()),
            ],
        );
    }
}

#[test]
fn reply_quoting_an_unsubscribe_footer_is_not_an_unsubscribe() {
    let records = classify_fixture("reply_quoting_unsubscribe_footer.eml", &[]);
    check(
        "a question that quotes the list footer",
        single(&records),
        &[("kind", is("not_bounce")), ("error", missing())],
    );
}

#[test]
fn exim_text_bounce_names_the_failed_recipient() {
    let records = classify_fixture("exim_user_unknown.eml", &[]);
    check(
        "Exim text bounce",
        single(&records),
        &[
            ("message_id", msgid("E1tXyZa-000123-AB@mx.example.net")),
            ("date", is("2025-03-04T10:16:00Z")),
            ("recipient", is("adam@example.org")),
            ("kind", is("hard")),
            ("reason", is("user_unknown")),
            ("status", is("5.1.1")),
            ("smtp_code", is(550)),
            ("action", is("failed")),
            (
                "original_message_id",
                msgid("campaign-0042.adam@example.com"),
            ),
            ("campaign", is("spring-sale")),
            ("format", is("exim")),
            ("error", missing()),
        ],
    );
}

#[test]
fn qmail_text_bounce_names_the_failed_recipient() {
    let records = classify_fixture("qmail_user_unknown.eml", &[]);
    check(
        "qmail text bounce",
        single(&records),
        &[
            ("message_id", msgid("qmail-0001@mail.example.net")),
            ("recipient", is("lukasz@example.org")),
            ("kind", is("hard")),
            ("reason", is("user_unknown")),
            ("status", is("5.1.1")),
            ("smtp_code", is(550)),
            ("action", is("failed")),
            (
                "original_message_id",
                msgid("campaign-0042.lukasz@example.com"),
            ),
            ("campaign", is("spring-sale")),
            ("format", is("qmail")),
            ("error", missing()),
        ],
    );
}

#[test]
fn sendmail_text_bounce_names_the_failed_recipient() {
    let records = classify_fixture("sendmail_user_unknown.eml", &[]);
    check(
        "Sendmail 'addr... User unknown' text bounce",
        single(&records),
        &[
            ("recipient", is("marek@example.org")),
            ("kind", is("hard")),
            ("reason", is("user_unknown")),
            ("status", is("5.1.1")),
            ("smtp_code", is(550)),
            ("action", is("failed")),
            (
                "original_message_id",
                msgid("campaign-0042.marek@example.com"),
            ),
            ("format", non_empty()),
            ("error", missing()),
        ],
    );
}

#[test]
fn gmail_style_permanent_failure_names_the_failed_recipient() {
    let records = classify_fixture("gmail_permanent_failure.eml", &[]);
    check(
        "'Delivery to the following recipient failed permanently'",
        single(&records),
        &[
            ("recipient", is("ola.nowak@example.org")),
            ("kind", is("hard")),
            ("reason", is("user_unknown")),
            ("status", is("5.1.1")),
            ("smtp_code", is(550)),
            ("action", is("failed")),
            (
                "original_message_id",
                msgid("campaign-0042.ola@example.com"),
            ),
            ("format", non_empty()),
            ("error", missing()),
        ],
    );
}

#[test]
fn unknown_user_refused_at_rcpt_is_hard_whatever_the_status() {
    // Status 5.0.0 names nothing; "(in reply to RCPT TO command)" says the address was refused.
    let records = classify_fixture("postfix_unknown_user_at_rcpt.eml", &[]);
    check(
        "Postfix DSN, 5.0.0, no such user in reply to RCPT TO",
        single(&records),
        &[
            ("recipient", is("tomek@example.org")),
            ("kind", is("hard")),
            ("reason", is("user_unknown")),
            ("status", is("5.0.0")),
            ("smtp_code", is(550)),
        ],
    );
}

#[test]
fn unknown_user_without_sign_of_the_smtp_stage_is_hard() {
    // No status, no SMTP command named: a server's "550 ... No such user" is taken at its word
    // (requirements.md), unless the report says a filter refused the message after DATA.
    let records = classify_fixture("gateway_unknown_user_no_stage.eml", &[]);
    check(
        "gateway DSN, 550 no such user, no status",
        single(&records),
        &[
            ("recipient", is("zofia@example.org")),
            ("kind", is("hard")),
            ("reason", is("user_unknown")),
            ("status", is("5.0.911")),
            ("smtp_code", is(550)),
        ],
    );
}

#[test]
fn mailing_list_refusing_a_non_member_names_the_list_and_is_a_block() {
    // fml's notice: the list (not its command address) refused the poster.
    let records = classify_fixture("fml_not_a_member.eml", &[]);
    check(
        "fml 'You are not a member of this mailing list'",
        single(&records),
        &[
            ("recipient", is("team@lists.example.org")),
            ("kind", is("block")),
            ("reason", is("rejected")),
            ("format", is("fml")),
        ],
    );
}

#[test]
fn mailbox_full_text_bounce_is_soft_mailbox_full() {
    let records = classify_fixture("text_mailbox_full.eml", &[]);
    check(
        "over quota / Mailbox full",
        single(&records),
        &[
            ("recipient", is("irena@example.net")),
            ("kind", is("soft")),
            ("reason", is("mailbox_full")),
            ("status", is("5.2.2")),
            ("smtp_code", is(552)),
            ("action", is("failed")),
            ("error", missing()),
        ],
    );
}

#[test]
fn own_domain_is_never_reported_as_the_recipient() {
    let records = classify_fixture(
        "own_address_mentioned_first.eml",
        &["--own-domain", "example.com"],
    );
    check(
        "--own-domain example.com",
        single(&records),
        &[
            ("recipient", is("weronika@example.net")),
            ("kind", is("hard")),
            ("reason", is("user_unknown")),
            ("status", is("5.1.1")),
            ("smtp_code", is(550)),
            ("error", missing()),
        ],
    );
}

#[test]
fn own_address_is_never_reported_as_the_recipient() {
    let records = classify_fixture(
        "own_address_mentioned_first.eml",
        &["--own-address", "news@example.com"],
    );
    check(
        "--own-address news@example.com",
        single(&records),
        &[
            ("recipient", is("weronika@example.net")),
            ("kind", is("hard")),
            ("reason", is("user_unknown")),
            ("status", is("5.1.1")),
            ("error", missing()),
        ],
    );
}

#[test]
fn verp_address_names_the_recipient_when_the_report_does_not() {
    let records = classify_fixture(
        "verp_names_no_recipient.eml",
        &["--verp", "bounces@example.com"],
    );
    check(
        "--verp bounces@example.com",
        single(&records),
        &[
            ("message_id", msgid("verp-0001@mx.example.net")),
            ("recipient", is("jan@example.org")),
            ("kind", is("hard")),
            ("reason", is("user_unknown")),
            ("status", is("5.1.1")),
            ("smtp_code", is(550)),
            ("error", missing()),
        ],
    );
    // Without --verp the report's own addressee (the sender's return path) is never the
    // recipient either.
    let records = classify_fixture("verp_names_no_recipient.eml", &[]);
    for r in &records {
        check(
            "no --verp",
            r,
            &[(
                "recipient",
                none_of(&["bounces+jan=example.org@example.com"]),
            )],
        );
    }
}

#[test]
fn ordinary_mail_is_not_a_bounce_and_bounces_only_hides_it() {
    let records = classify_fixture("ordinary_mail.eml", &[]);
    check(
        "ordinary mail",
        single(&records),
        &[
            ("source", is("ordinary_mail.eml")),
            ("message_id", msgid("order-question-0001@mail.example.net")),
            ("kind", is("not_bounce")),
            ("error", missing()),
        ],
    );

    let sb = Sandbox::new();
    sb.write("in/a.eml", &fixture_bytes("ordinary_mail.eml"));
    sb.write("in/b.eml", &fixture_bytes("exim_user_unknown.eml"));
    let records = sb.run(&["classify", "--bounces-only", "in"]).ok_records();
    check(
        "--bounces-only keeps only the bounce",
        single(&records),
        &[
            ("source", is("in/b.eml")),
            ("recipient", is("adam@example.org")),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// 2. Input forms
// ---------------------------------------------------------------------------------------------

#[test]
fn single_eml_path_is_the_records_source() {
    let sb = Sandbox::new();
    sb.write("mail/exim.eml", &fixture_bytes("exim_user_unknown.eml"));
    let records = sb.run(&["classify", "mail/exim.eml"]).ok_records();
    check(
        "single .eml",
        single(&records),
        &[
            ("source", is("mail/exim.eml")),
            ("recipient", is("adam@example.org")),
        ],
    );
}

#[test]
fn directory_records_come_in_file_name_order() {
    let sb = Sandbox::new();
    // Written out of order on purpose.
    sb.write("dir/c.eml", &fixture_bytes("qmail_user_unknown.eml"));
    sb.write("dir/a.eml", &fixture_bytes("exim_user_unknown.eml"));
    sb.write("dir/b.eml", &fixture_bytes("ordinary_mail.eml"));
    let records = sb.run(&["classify", "dir"]).ok_records();
    let got: Vec<(&str, &str)> = records
        .iter()
        .map(|r| (text(r, "source"), text(r, "kind")))
        .collect();
    assert_eq!(
        got,
        vec![
            ("dir/a.eml", "hard"),
            ("dir/b.eml", "not_bounce"),
            ("dir/c.eml", "hard"),
        ]
    );
}

#[test]
fn mbox_messages_are_numbered_and_from_lines_unquoted() {
    let sb = Sandbox::new();
    let mbox = sb.fixture("three_messages.mbox");
    let records = sb.run(&["classify", &mbox]).ok_records();
    let sources: Vec<&str> = records.iter().map(|r| text(r, "source")).collect();
    assert_eq!(
        sources,
        vec![
            "three_messages.mbox:1",
            "three_messages.mbox:2",
            "three_messages.mbox:3"
        ],
        "{records:#?}"
    );
    check(
        "mbox message 1",
        &records[0],
        &[("kind", is("not_bounce")), ("error", missing())],
    );
    check(
        "mbox message 2",
        &records[1],
        &[
            ("recipient", is("adam@example.org")),
            ("kind", is("hard")),
            ("format", is("exim")),
        ],
    );
    check(
        "mbox message 3 (has a >From line)",
        &records[2],
        &[
            ("recipient", is("dorota@example.org")),
            ("kind", is("hard")),
            ("reason", is("user_unknown")),
        ],
    );
    assert!(
        !text(&records[2], "diagnostic").contains(">From"),
        "the >From line was not unquoted: {}",
        records[2]
    );

    // The bounces read exactly as they do on their own, once unquoted (message 1's body
    // differs only in its >From line, which no field shows).
    for (i, name) in [(1, "exim_user_unknown.eml"), (2, "qmail_from_line.eml")] {
        let alone = single(&classify_fixture(name, &[])).clone();
        let mut from_mbox = records[i].clone();
        from_mbox["source"] = alone["source"].clone();
        assert_eq!(
            from_mbox,
            alone,
            "mbox message {} differs from {name} read alone",
            i + 1
        );
    }
}

#[test]
fn maildir_reads_cur_and_new_only() {
    let sb = Sandbox::new();
    sb.write(
        "Maildir/cur/1741083360.M1P100.host.example.com:2,S",
        &fixture_bytes("exim_user_unknown.eml"),
    );
    sb.write(
        "Maildir/new/1741083420.M2P101.host.example.com",
        &fixture_bytes("qmail_user_unknown.eml"),
    );
    // A message still being delivered, and Maildir/IMAP server bookkeeping: never messages.
    sb.write(
        "Maildir/tmp/1741083480.M3P102.host.example.com",
        &fixture_bytes("ordinary_mail.eml"),
    );
    sb.write("Maildir/.dovecot.index", b"\x00\x01binary index");
    sb.write("Maildir/maildirfolder", b"");
    let records = sb.run(&["classify", "Maildir"]).ok_records();
    let mut got: Vec<(String, String)> = records
        .iter()
        .map(|r| {
            (
                text(r, "source").to_string(),
                text(r, "recipient").to_string(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (
                "Maildir/cur/1741083360.M1P100.host.example.com:2,S".to_string(),
                "adam@example.org".to_string()
            ),
            (
                "Maildir/new/1741083420.M2P101.host.example.com".to_string(),
                "lukasz@example.org".to_string()
            ),
        ],
        "{records:#?}"
    );
}

#[test]
fn raw_message_on_stdin_is_source_stdin_1() {
    let sb = Sandbox::new();
    let records = sb
        .run_with_stdin(&["classify"], &fixture_bytes("qmail_user_unknown.eml"))
        .ok_records();
    check(
        "raw message on stdin",
        single(&records),
        &[
            ("source", is("stdin:1")),
            ("recipient", is("lukasz@example.org")),
            ("kind", is("hard")),
            ("format", is("qmail")),
        ],
    );
}

#[test]
fn dash_means_stdin() {
    let sb = Sandbox::new();
    let records = sb
        .run_with_stdin(&["classify", "-"], &fixture_bytes("exim_user_unknown.eml"))
        .ok_records();
    check(
        "classify -",
        single(&records),
        &[
            ("source", is("stdin:1")),
            ("recipient", is("adam@example.org")),
            ("kind", is("hard")),
        ],
    );
}

#[test]
fn jsonl_message_records_on_stdin_keep_their_source() {
    let b64 = |name: &str| base64::engine::general_purpose::STANDARD.encode(fixture_bytes(name));
    let lines = [
        serde_json::json!({
            "source": "imap://u@h/INBOX;UIDVALIDITY=1;UID=7",
            "raw_base64": b64("exim_user_unknown.eml"),
        }),
        serde_json::json!({
            "source": "imap://u@h/INBOX;UIDVALIDITY=1;UID=8",
            "mailbox": "INBOX",
            "uid": 8,
            "uidvalidity": 1,
            "internal_date": "2025-03-04T10:17:00Z",
            "size": 1234,
            "raw_base64": b64("arf_abuse.eml"),
        }),
    ];
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let sb = Sandbox::new();
    let records = sb
        .run_with_stdin(&["classify"], input.as_bytes())
        .ok_records();
    assert_eq!(records.len(), 2, "{records:#?}");
    check(
        "record UID=7",
        &records[0],
        &[
            ("source", is("imap://u@h/INBOX;UIDVALIDITY=1;UID=7")),
            ("recipient", is("adam@example.org")),
            ("kind", is("hard")),
        ],
    );
    check(
        "record UID=8",
        &records[1],
        &[
            ("source", is("imap://u@h/INBOX;UIDVALIDITY=1;UID=8")),
            ("recipient", is("marta@example.net")),
            ("kind", is("complaint")),
        ],
    );
}

#[test]
fn bad_jsonl_message_record_is_reported_not_dropped() {
    let good = serde_json::json!({
        "source": "imap://u@h/INBOX;UIDVALIDITY=1;UID=9",
        "raw_base64": base64::engine::general_purpose::STANDARD
            .encode(fixture_bytes("qmail_user_unknown.eml")),
    });
    let input = format!(
        "{good}\n{{\"source\": \"imap://u@h/INBOX;UIDVALIDITY=1;UID=10\", \"raw_base64\": \"@@not base64@@\"}}\n"
    );
    let sb = Sandbox::new();
    let run = sb.run_with_stdin(&["classify"], input.as_bytes());
    let records = run.ok_records();
    assert_eq!(records.len(), 2, "{records:#?}");
    check(
        "good record",
        &records[0],
        &[
            ("recipient", is("lukasz@example.org")),
            ("error", missing()),
        ],
    );
    check(
        "bad record",
        &records[1],
        &[
            ("source", is("imap://u@h/INBOX;UIDVALIDITY=1;UID=10")),
            ("error", non_empty()),
        ],
    );
    run.assert_stderr_counts_one_bad_message();
    sb.run_with_stdin(&["classify", "--strict"], input.as_bytes())
        .assert_code(1);
}

// ---------------------------------------------------------------------------------------------
// 3. Line endings
// ---------------------------------------------------------------------------------------------

#[test]
fn lf_crlf_and_cr_line_endings_give_the_same_verdict() {
    const FIELDS: &[&str] = &[
        "recipient",
        "kind",
        "reason",
        "status",
        "smtp_code",
        "action",
        "original_message_id",
        "envelope_id",
    ];
    for name in [
        "rfc3464_two_recipients.eml",
        "postfix_spamhaus_block.eml",
        "exim_user_unknown.eml",
        "qmail_user_unknown.eml",
        "arf_abuse.eml",
    ] {
        let lf = String::from_utf8(fixture_bytes(name)).unwrap();
        assert!(!lf.contains('\r'), "fixture {name} must use LF");
        let sb = Sandbox::new();
        let mut verdicts = BTreeMap::new();
        for (ending, sep) in [("lf", "\n"), ("crlf", "\r\n"), ("cr", "\r")] {
            let file = sb.write(&format!("{ending}.eml"), lf.replace('\n', sep).as_bytes());
            let records = sb.run(&["classify", &file]).ok_records();
            let projected: Vec<Vec<Value>> = records
                .iter()
                .map(|r| FIELDS.iter().map(|f| r[*f].clone()).collect())
                .collect();
            verdicts.insert(ending, projected);
        }
        assert!(
            verdicts["lf"].iter().all(|r| r[0].is_string()),
            "{name}: LF baseline names no recipient: {:?}",
            verdicts["lf"]
        );
        for ending in ["crlf", "cr"] {
            assert_eq!(
                verdicts[ending], verdicts["lf"],
                "{name}: {ending} differs from LF (fields {FIELDS:?})"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Output
// ---------------------------------------------------------------------------------------------

const CSV_HEADER: &str = "source,message_id,date,recipient,kind,reason,status,smtp_code,action,diagnostic,remote_mta,reporting_mta,original_message_id,envelope_id,campaign,format,error";

#[test]
fn csv_output_has_the_documented_header_and_parses_back() {
    let sb = Sandbox::new();
    sb.write("in/1.eml", &fixture_bytes("rfc3464_two_recipients.eml"));
    sb.write("in/2.eml", &fixture_bytes("postfix_spamhaus_block.eml"));
    sb.write("in/3.eml", &fixture_bytes("ordinary_mail.eml"));
    sb.write("in/4.eml", b"");
    let jsonl = sb.run(&["classify", "in"]).ok_records();
    let run = sb.run(&["classify", "--format", "csv", "in"]);
    run.assert_code(0);
    let out = String::from_utf8(run.stdout.clone()).expect("CSV is UTF-8");
    assert_eq!(out.lines().next(), Some(CSV_HEADER), "CSV header:\n{out}");

    let mut reader = csv::Reader::from_reader(out.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .expect("CSV parses back");
    assert_eq!(rows.len(), jsonl.len(), "same records as JSONL:\n{out}");
    assert_eq!(rows.len(), 5, "2 + 1 + 1 + 1 records:\n{out}");
    for (row, record) in rows.iter().zip(&jsonl) {
        assert_eq!(row.len(), headers.len());
        for (column, cell) in headers.iter().zip(row.iter()) {
            let expected = match record.get(column) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            };
            assert_eq!(
                cell, expected,
                "column {column} of {row:?} differs from JSONL {record}"
            );
        }
    }
    let error_column = headers.iter().position(|h| h == "error").unwrap();
    assert!(
        !rows[4][error_column].is_empty(),
        "the empty file's error is in the CSV: {:?}",
        rows[4]
    );
}

#[test]
fn output_file_gets_the_records_and_stdout_stays_empty() {
    let sb = Sandbox::new();
    let input = sb.fixture("exim_user_unknown.eml");
    let run = sb.run(&["classify", "-o", "events.jsonl", &input]);
    run.assert_code(0);
    assert!(
        run.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&run.stdout)
    );
    let written = fs::read_to_string(sb.path().join("events.jsonl")).expect("-o FILE written");
    let records: Vec<Value> = written
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSONL in the file"))
        .collect();
    check(
        "-o events.jsonl",
        single(&records),
        &[
            ("source", is("exim_user_unknown.eml")),
            ("recipient", is("adam@example.org")),
        ],
    );

    let run = sb.run(&[
        "classify",
        "--format",
        "csv",
        "--output",
        "events.csv",
        &input,
    ]);
    run.assert_code(0);
    assert!(run.stdout.is_empty());
    let csv_text = fs::read_to_string(sb.path().join("events.csv")).expect("--output FILE");
    assert_eq!(csv_text.lines().next(), Some(CSV_HEADER));
    assert_eq!(csv_text.lines().count(), 2, "{csv_text}");
}

#[test]
fn broken_pipe_exits_zero_without_a_panic() {
    let sb = Sandbox::new();
    let mut mbox = String::new();
    for i in 0..20_000 {
        mbox.push_str(&format!(
            "From sender@example.net Tue Mar  4 10:00:00 2025\n\
             From: sender@example.net\nTo: news@example.com\nSubject: message {i}\n\
             Message-ID: <m{i}@example.net>\n\nhello {i}\n\n"
        ));
    }
    let path = sb.write("big.mbox", mbox.as_bytes());
    let mut child = Command::new(BIN)
        .args(["classify", &path])
        .env_clear()
        .current_dir(sb.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn bouncekit");
    {
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).expect("read one line");
        assert!(line.starts_with('{'), "first line: {line}");
        // The reader (and the pipe) is dropped here, like `| head -1`.
    }
    let out = child.wait_with_output().expect("wait for bouncekit");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "exit status after the reader went away; stderr:\n{stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.to_lowercase().contains("broken pipe"),
        "stderr:\n{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// 5. Bad input
// ---------------------------------------------------------------------------------------------

/// Runs `classify [flags] input` normally and with --strict and checks the bad-input contract:
/// no panic, exit 0, at least one record, a count on stderr when a record has an error, and
/// exit 1 under --strict exactly when a record has an error. Returns the records.
fn bad_input_contract(sb: &Sandbox, flags: &[&str], input: &str) -> Vec<Value> {
    let mut args = vec!["classify"];
    args.extend_from_slice(flags);
    args.push(input);
    let run = sb.run(&args);
    let records = run.ok_records();
    assert!(!records.is_empty(), "a bad input is never dropped");
    let errors = records.iter().any(has_error);
    if errors {
        run.assert_stderr_counts_one_bad_message();
    }
    let mut strict = vec!["classify", "--strict"];
    strict.extend_from_slice(flags);
    strict.push(input);
    sb.run(&strict).assert_code(if errors { 1 } else { 0 });
    records
}

#[test]
fn empty_file_gets_an_error_record() {
    let sb = Sandbox::new();
    let input = sb.write("empty.eml", b"");
    let records = bad_input_contract(&sb, &[], &input);
    check(
        "empty file",
        single(&records),
        &[
            ("source", is("empty.eml")),
            ("kind", one_of(&["unknown", "not_bounce"])),
            ("error", non_empty()),
        ],
    );
}

#[test]
fn binary_junk_gets_an_error_record() {
    // Deterministic pseudo-random bytes (xorshift), with NULs sprinkled in.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut junk: Vec<u8> = (0..8192)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    for i in (0..junk.len()).step_by(61) {
        junk[i] = 0;
    }
    assert!(junk.contains(&0));
    let sb = Sandbox::new();
    let input = sb.write("junk.bin", &junk);
    let records = bad_input_contract(&sb, &[], &input);
    check(
        "binary junk",
        single(&records),
        &[
            ("source", is("junk.bin")),
            ("kind", one_of(&["unknown", "not_bounce"])),
            ("error", non_empty()),
        ],
    );
}

#[test]
fn truncated_report_still_yields_the_recipient() {
    let full = String::from_utf8(fixture_bytes("rfc3464_two_recipients.eml")).unwrap();
    let cut = full
        .find("Diagnostic-Code: smtp; 452")
        .expect("cut point in the delivery-status part");
    let sb = Sandbox::new();
    let input = sb.write("truncated.eml", &full.as_bytes()[..cut]);
    let records = bad_input_contract(&sb, &[], &input);
    check(
        "report cut inside message/delivery-status",
        about(&records, "anna.kowalska@example.org"),
        &[
            ("kind", is("hard")),
            ("reason", is("user_unknown")),
            ("status", is("5.1.1")),
            ("action", is("failed")),
        ],
    );
}

#[test]
fn unknown_charset_label_is_tolerated() {
    let eml = String::from_utf8(fixture_bytes("exim_user_unknown.eml"))
        .unwrap()
        .replacen(
            "Date: Tue, 04 Mar 2025 10:16:00 +0000\n",
            "Date: Tue, 04 Mar 2025 10:16:00 +0000\nMIME-Version: 1.0\n\
             Content-Type: text/plain; charset=\"x-klingon-8\"\n\
             Content-Transfer-Encoding: 8bit\n",
            1,
        );
    assert!(eml.contains("x-klingon-8"));
    let sb = Sandbox::new();
    let input = sb.write("charset.eml", eml.as_bytes());
    let records = bad_input_contract(&sb, &[], &input);
    check(
        "charset=x-klingon-8",
        single(&records),
        &[
            ("recipient", is("adam@example.org")),
            ("kind", is("hard")),
            ("reason", is("user_unknown")),
        ],
    );
}

#[test]
fn raw_8bit_header_bytes_are_tolerated() {
    let mut eml: Vec<u8> = Vec::new();
    // Latin-1 "Frühling" and UTF-8 "Łódź" straight in the headers, no RFC 2047.
    eml.extend_from_slice(b"Subject: failure notice - Fr\xfchling\n");
    eml.extend_from_slice("From: Serwer Łódź <MAILER-DAEMON@mail.example.net>\n".as_bytes());
    let qmail = String::from_utf8(fixture_bytes("qmail_user_unknown.eml")).unwrap();
    for line in qmail.split_inclusive('\n') {
        if line.starts_with("Subject: ") || line.starts_with("From: MAILER-DAEMON") {
            continue;
        }
        if line.starts_with("To: lukasz@") {
            eml.extend_from_slice(b"To: \"M\xfcller, \xc5\x81ukasz\" <lukasz@example.org>\n");
            continue;
        }
        eml.extend_from_slice(line.as_bytes());
    }
    let sb = Sandbox::new();
    let input = sb.write("8bit.eml", &eml);
    let records = bad_input_contract(&sb, &[], &input);
    check(
        "8-bit header bytes",
        single(&records),
        &[
            ("recipient", is("lukasz@example.org")),
            ("kind", is("hard")),
            ("reason", is("user_unknown")),
            ("format", is("qmail")),
        ],
    );
}

#[test]
fn thousand_nested_multiparts_get_an_error_record_not_a_crash() {
    const DEPTH: usize = 1000;
    let mut eml = String::from(
        "From: MAILER-DAEMON@mx.example.net\nTo: news@example.com\n\
         Subject: Undelivered Mail Returned to Sender\nMessage-ID: <nested@mx.example.net>\n\
         MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b0\"\n\n",
    );
    for level in 0..DEPTH {
        eml.push_str(&format!(
            "--b{level}\nContent-Type: multipart/mixed; boundary=\"b{}\"\n\n",
            level + 1
        ));
    }
    eml.push_str(&format!(
        "--b{DEPTH}\nContent-Type: text/plain\n\n<deep@example.org>: 550 5.1.1 User unknown\n--b{DEPTH}--\n"
    ));
    for level in (0..DEPTH).rev() {
        eml.push_str(&format!("--b{level}--\n"));
    }
    let sb = Sandbox::new();
    let input = sb.write("nested.eml", eml.as_bytes());
    let records = bad_input_contract(&sb, &[], &input);
    check(
        "1,000 nested multiparts",
        single(&records),
        &[("source", is("nested.eml")), ("error", non_empty())],
    );
}

#[test]
fn message_over_max_size_gets_an_error_record_naming_max_size() {
    let sb = Sandbox::new();
    let input = sb.fixture("rfc3464_two_recipients.eml");
    assert!(fixture_bytes(&input).len() > 1024);
    let records = bad_input_contract(&sb, &["--max-size", "1K"], &input);
    assert!(!records.is_empty());
    for r in &records {
        check(
            "--max-size 1K",
            r,
            &[
                ("source", is("rfc3464_two_recipients.eml")),
                ("error", non_empty()),
            ],
        );
        assert!(text(r, "error").contains("max-size"), "{r}");
    }
    // A small message on the same command line is still read in full.
    let small = sb.write("small.eml", &fixture_bytes("ordinary_mail.eml"));
    let records = sb
        .run(&["classify", "--max-size", "1K", &small])
        .ok_records();
    check(
        "small message under --max-size 1K",
        single(&records),
        &[("kind", is("not_bounce")), ("error", missing())],
    );
}

#[test]
fn nonexistent_path_exits_1_but_other_inputs_are_still_classified() {
    let sb = Sandbox::new();
    let good = sb.fixture("exim_user_unknown.eml");
    let also = sb.fixture("qmail_user_unknown.eml");
    let run = sb.run(&["classify", &good, "no-such-file.eml", &also]);
    run.assert_code(1);
    let records = run.records();
    let recipients: Vec<&str> = records.iter().map(|r| text(r, "recipient")).collect();
    assert_eq!(
        recipients,
        vec!["adam@example.org", "lukasz@example.org"],
        "{}",
        run.stderr
    );
    let mentions: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("no-such-file.eml"))
        .collect();
    assert!(
        mentions.len() == 1 && mentions[0].starts_with("bouncekit: "),
        "expected exactly one `bouncekit: ...` line naming the missing input:\n{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("Caused by") && !run.stderr.contains("Error: "),
        "one-line errors, not a debug chain:\n{}",
        run.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// 6. Exit codes
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_flag_is_a_usage_error_exit_2() {
    let sb = Sandbox::new();
    let run = sb.run(&["classify", "--no-such-flag"]);
    run.assert_code(2);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("--no-such-flag"), "{}", run.stderr);
    sb.run(&["no-such-subcommand"]).assert_code(2);
    sb.run(&["classify", "--max-size", "12 parsecs"])
        .assert_code(2);
}

// ---------------------------------------------------------------------------------------------
// 7. Generated files
// ---------------------------------------------------------------------------------------------

/// Every file directly in `dir`, by name.
fn files_in(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let Ok(entries) = fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).expect("read generated file"),
            )
        })
        .collect()
}

#[test]
fn generated_docs_are_current() {
    let sb = Sandbox::new();
    sb.run(&[
        "generate",
        "--man-dir",
        "man",
        "--completions-dir",
        "completions",
    ])
    .assert_code(0);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut problems = Vec::new();
    for sub in ["man", "completions"] {
        let generated = files_in(&sb.path().join(sub));
        let committed = files_in(&root.join(sub));
        assert!(!generated.is_empty(), "`generate` wrote nothing to {sub}/");
        for (name, bytes) in &generated {
            match committed.get(name) {
                None => problems.push(format!("{sub}/{name} is missing")),
                Some(c) if c != bytes => problems.push(format!("{sub}/{name} differs")),
                Some(_) => {}
            }
        }
        for name in committed.keys().filter(|n| !generated.contains_key(*n)) {
            problems.push(format!("{sub}/{name} is no longer generated"));
        }
    }
    assert!(
        problems.is_empty(),
        "man/completions are stale: run `cargo run -- generate`\n  {}",
        problems.join("\n  ")
    );
}

/// Every subcommand (each has a man page) shows examples in its `--help`.
#[test]
fn every_subcommand_help_has_examples() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sb = Sandbox::new();
    let mut checked = 0;
    for name in files_in(&root.join("man")).keys() {
        let Some(words) = name
            .strip_prefix("bouncekit-")
            .and_then(|n| n.strip_suffix(".1"))
        else {
            continue;
        };
        let mut args: Vec<&str> = words.split('-').collect();
        // `fetch-bounces` is one word with a dash.
        if args.starts_with(&["fetch", "bounces"]) {
            args.splice(0..2, ["fetch-bounces"]);
        }
        args.push("--help");
        let run = sb.run(&args);
        run.assert_code(0);
        let help = String::from_utf8_lossy(&run.stdout);
        assert!(
            help.contains("\nExamples:\n  "),
            "no examples in `bouncekit {}`",
            args.join(" ")
        );
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} subcommands found");
}

// ---------------------------------------------------------------------------------------------
// The shared bounce corpus: a regression guard on the scores the issue asks for. The corpus is
// third-party data that lives beside the repository (../shared/corpus), never inside it.
// ---------------------------------------------------------------------------------------------

/// The scores we have reached on the corpus, kept as floors so a change that loses ground
/// fails here. Raise them as the classifier improves. A server's "550 No such user" is hard, as
/// requirements.md asks, where sisimai (whose labels the corpus carries) says "filtered" for a
/// "user unknown" not known to answer RCPT TO: two messages still differ (apachejames-01,
/// zoho-03); those of filtering gateways agree (`FILTERING_GATEWAYS` in verdict.rs).
const CORPUS_FLOORS: &[(&str, f64)] = &[
    ("R", 0.998),
    ("P", 1.000),
    ("hard_acc", 0.991),
    ("reason_acc", 0.958),
    ("status_acc", 0.961),
];

/// The corpus's genuine non-bounces: nothing but `not_bounce` records may come of them. Its
/// third "not bounce", rb-issue-368-bug.eml, is a real mailbox-full bounce that sisimai keeps
/// under not/ only as the regression test of a crash (rb-sisimai PR #369, "out of index in
/// multipart blocks"); we deliberately report it as soft/mailbox_full, so the scorer counts
/// it as the one false positive (fp_not=1), and it gets no special case.
const CORPUS_NOT_BOUNCES: &[&str] = &["is-not-bounce-01.eml", "is-not-bounce-02.eml"];

#[test]
fn corpus_scores_stay_above_their_floors() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    assert!(
        corpus.join("expected.jsonl").is_file(),
        "the bounce corpus is missing at {}: it ships beside the repository in ../shared/corpus",
        corpus.display()
    );
    let sandbox = Sandbox::new();
    let out_path = sandbox.path().join("corpus.jsonl");
    let status = Command::new(BIN)
        .args(["classify", "-q", "-o"])
        .arg(&out_path)
        .arg(corpus.join("bounces"))
        .status()
        .expect("run bouncekit");
    assert!(status.success(), "classify failed on the corpus");
    // Scored as the scorer reads our output, source by source: a record counts for a file
    // only when its source names that file (each corpus file is one .eml message).
    let records: Vec<Value> = fs::read_to_string(&out_path)
        .expect("read the corpus records")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON record"))
        .collect();
    for name in CORPUS_NOT_BOUNCES {
        let kinds: Vec<&str> = records
            .iter()
            .filter(|r| Path::new(text(r, "source")).file_name() == Some(name.as_ref()))
            .map(|r| text(r, "kind"))
            .collect();
        assert!(
            !kinds.is_empty() && kinds.iter().all(|k| *k == "not_bounce"),
            "{name} is no bounce, but gave the kinds {kinds:?}"
        );
    }
    let scored = Command::new("python3")
        .arg(corpus.join("score"))
        .arg(corpus.join("expected.jsonl"))
        .arg(&out_path)
        .output()
        .expect("run the corpus scorer (python3)");
    let report = String::from_utf8_lossy(&scored.stdout);
    let summary = report.lines().last().unwrap_or_default();
    let value = |key: &str| -> f64 {
        summary
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in the scorer's summary: {summary}"))
    };
    for (key, floor) in CORPUS_FLOORS {
        assert!(
            value(key) >= *floor,
            "corpus {key} fell below {floor}: {summary}\n{report}"
        );
    }
    assert!(
        value("no_output") == 0.0,
        "bounces with no record: {summary}"
    );
}
