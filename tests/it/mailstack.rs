//! Real delivery reports through the test mail stack (a private Postfix and Dovecot, see
//! tests/mailstack/mailstack.sh): mail sent over SMTP with DSN parameters, the reports Postfix
//! makes fetched back over IMAPS with the per-run CA, and `bouncekit classify` run on them.
//!
//! Each report is also kept as a fixture under tests/fixtures/postfix/ (real Postfix output),
//! and the same expectations are checked on the fixtures, so the classifier stays tested on
//! them even where the stack is not the point. Refresh the fixtures with
//! `BOUNCEKIT_SAVE_FIXTURES=1 cargo test --locked report_is_classified`.

use std::fs;

use crate::common::mailstack::{self, BOUNCES, MailStack};
use crate::common::*;

/// The X-Bouncekit-Campaign of every message the tests send.
const CAMPAIGN: &str = "mailstack-test";

/// One kind of report the stack makes: the recipient that provokes it, the envelope id and
/// Message-ID of the message sent (fixed, so that a fixture and a live report are checked
/// alike), and what `classify` must say about it.
struct Case {
    /// The fixture's name under tests/fixtures/postfix/, without .eml.
    name: &'static str,
    /// The local part of the recipient, at example.test.
    to: &'static str,
    envid: &'static str,
    message_id: &'static str,
    expect: fn() -> Vec<(&'static str, Want)>,
}

/// Delivered into alice's mailbox; asked for with NOTIFY=SUCCESS.
const DELIVERED: Case = Case {
    name: "delivered",
    to: "alice",
    envid: "mailstack-delivered",
    message_id: "delivered.mailstack@bouncekit.test",
    expect: || {
        vec![
            ("recipient", is("alice@example.test")),
            ("kind", is("delivered")),
            ("reason", is("delivered")),
            ("status", is("2.0.0")),
            ("action", is("delivered")),
            ("smtp_code", is(250)),
            ("diagnostic", line_with(&["250 2.0.0", "Saved"])),
            ("remote_mta", is("mail.example.test")),
        ]
    },
};

/// No such user: Postfix accepts it for the domain, Dovecot refuses it over LMTP.
const USER_UNKNOWN: Case = Case {
    name: "user_unknown",
    to: "nobody",
    envid: "mailstack-user-unknown",
    message_id: "user-unknown.mailstack@bouncekit.test",
    expect: || {
        vec![
            ("recipient", is("nobody@example.test")),
            ("kind", is("hard")),
            ("reason", is("user_unknown")),
            ("status", is("5.1.1")),
            ("action", is("failed")),
            ("smtp_code", is(550)),
            ("diagnostic", line_with(&["5.1.1", "User doesn't exist"])),
            ("remote_mta", is("mail.example.test")),
        ]
    },
};

/// Over quota: Dovecot refuses the message at the end of DATA (the `full` user has 1 KB).
const OVER_QUOTA: Case = Case {
    name: "over_quota",
    to: "full",
    envid: "mailstack-over-quota",
    message_id: "over-quota.mailstack@bouncekit.test",
    expect: || {
        vec![
            ("recipient", is("full@example.test")),
            ("kind", is("soft")),
            ("reason", is("mailbox_full")),
            ("status", is("5.2.2")),
            ("action", is("failed")),
            ("smtp_code", is(552)),
            ("diagnostic", line_with(&["5.2.2", "Quota exceeded"])),
            ("remote_mta", is("mail.example.test")),
        ]
    },
};

/// Postfix's error transport, chosen in the transport map: "error:5.2.2 Mailbox full". No
/// server replied, so there is no SMTP code.
const TRANSPORT_MAILBOX_FULL: Case = Case {
    name: "transport_mailbox_full",
    to: "bounce-full",
    envid: "mailstack-transport-mailbox-full",
    message_id: "transport-mailbox-full.mailstack@bouncekit.test",
    expect: || {
        vec![
            ("recipient", is("bounce-full@example.test")),
            ("kind", is("soft")),
            ("reason", is("mailbox_full")),
            ("status", is("5.2.2")),
            ("action", is("failed")),
            ("smtp_code", missing()),
            ("diagnostic", line_with(&["Mailbox full"])),
            ("remote_mta", missing()),
        ]
    },
};

/// The error transport again, with a blocklist refusal: the sender's problem, not the
/// address's.
const TRANSPORT_BLOCKED: Case = Case {
    name: "transport_blocked",
    to: "bounce-blocked",
    envid: "mailstack-transport-blocked",
    message_id: "transport-blocked.mailstack@bouncekit.test",
    expect: || {
        vec![
            ("recipient", is("bounce-blocked@example.test")),
            ("kind", is("block")),
            ("reason", is("blocked")),
            ("status", is("5.7.1")),
            ("action", is("failed")),
            ("smtp_code", missing()),
            ("diagnostic", line_with(&["blocked using zen.spamhaus.org"])),
            ("remote_mta", missing()),
        ]
    },
};

/// Deferred by the transport map ("retry:4.2.2 ..."): with NOTIFY=DELAY, Postfix warns at
/// once (delay_warning_time is one second) and keeps retrying.
const DELAYED: Case = Case {
    name: "delayed",
    to: "delayed",
    envid: "mailstack-delayed",
    message_id: "delayed.mailstack@bouncekit.test",
    expect: || {
        vec![
            ("recipient", is("delayed@example.test")),
            ("kind", is("delay")),
            ("reason", is("mailbox_full")),
            ("status", is("4.2.2")),
            ("action", is("delayed")),
            ("smtp_code", missing()),
            ("diagnostic", line_with(&["Mailbox full, try again later"])),
            ("remote_mta", missing()),
        ]
    },
};

/// A message of a bit more than 2 KB (over the `full` user's quota), from the bounce mailbox.
fn message(stack: &MailStack, to: &str, message_id: &str) -> Vec<u8> {
    let mut text = format!(
        "From: Bouncekit Tests <{from}>\r\n\
         To: <{to}>\r\n\
         Subject: bouncekit mail stack test\r\n\
         Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\
         Message-ID: <{message_id}>\r\n\
         X-Bouncekit-Campaign: {CAMPAIGN}\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         \r\n",
        from = stack.address(BOUNCES),
    );
    for i in 0..40 {
        text += &format!("Line {i:02} of a message long enough to go over a 1 KB quota.\r\n");
    }
    text.into_bytes()
}

/// Sends one message to `to` with every DSN parameter and asserts it was accepted.
fn send(stack: &MailStack, to: &str, envid: &str, message_id: &str, notify: &str) {
    let mut smtp = stack.smtp();
    let reply = smtp.mail_from(&stack.address(BOUNCES), envid);
    assert_eq!(reply.code, 250, "MAIL FROM refused: {reply}");
    let reply = smtp.rcpt_to(to, notify);
    assert_eq!(reply.code, 250, "RCPT TO:<{to}> refused: {reply}");
    let reply = smtp.data(&message(stack, to, message_id));
    assert_eq!(reply.code, 250, "message to {to} refused: {reply}");
    smtp.quit();
}

/// Runs `bouncekit classify` on one report and checks its one record: the case's own fields
/// plus the links back to the message sent and the report's origin.
fn check_report(case: &Case, fixture: &str, report: &[u8]) {
    let sandbox = Sandbox::new();
    let file = sandbox.write("report.eml", report);
    let records = sandbox.run(&["classify", &file]).ok_records();
    let record = single(&records);
    let mut wants = (case.expect)();
    wants.extend([
        ("envelope_id", is(case.envid)),
        ("original_message_id", msgid(case.message_id)),
        ("campaign", is(CAMPAIGN)),
        ("reporting_mta", is("mail.example.test")),
        ("message_id", non_empty()),
        ("date", non_empty()),
        ("format", is("rfc3464")),
        ("error", missing()),
    ]);
    check(&format!("{} ({fixture})", case.name), record, &wants);
}

/// Sends the case's message with NOTIFY=SUCCESS,FAILURE,DELAY, fetches the report over IMAPS,
/// keeps it as a fixture when asked to, and checks what `classify` makes of it.
fn live_case(case: &Case) {
    let stack = mailstack::shared();
    send(
        stack,
        &stack.address(case.to),
        case.envid,
        case.message_id,
        "SUCCESS,FAILURE,DELAY",
    );
    let report = stack.wait_for_report(case.envid);
    // The DSN parameters were honoured: ORCPT comes back as Original-Recipient, and RET=HDRS
    // returns the headers of the message without its body.
    let text = String::from_utf8_lossy(&report);
    let orcpt = format!("Original-Recipient: rfc822;{}", stack.address(case.to));
    assert!(text.contains(&orcpt), "no {orcpt} in the report:\n{text}");
    assert!(
        text.contains("Content-Type: text/rfc822-headers") && !text.contains("Line 00 of"),
        "the report does not return the headers only (RET=HDRS):\n{text}"
    );
    if std::env::var_os("BOUNCEKIT_SAVE_FIXTURES").is_some() {
        let path = fixture_path(&format!("postfix/{}.eml", case.name));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, &report).unwrap();
    }
    check_report(case, "fetched over IMAPS", &report);
}

fn fixture_case(case: &Case) {
    let name = format!("postfix/{}.eml", case.name);
    check_report(case, &name, &fixture_bytes(&name));
}

#[test]
fn smtp_advertises_dsn_and_accepts_dsn_parameters() {
    let stack = mailstack::shared();
    let mut smtp = stack.smtp();
    let ehlo = smtp.ehlo_lines();
    for keyword in ["DSN", "ENHANCEDSTATUSCODES", "STARTTLS", "8BITMIME"] {
        assert!(
            ehlo.iter().any(|l| l == keyword),
            "EHLO does not advertise {keyword}: {ehlo:?}"
        );
    }
    smtp.quit();

    // Asking for failure and delay reports only (no success report): bob gets the message.
    let id = "dsn-parameters.mailstack@bouncekit.test";
    send(
        stack,
        &stack.address("bob"),
        "mailstack-dsn-parameters",
        id,
        "FAILURE,DELAY",
    );
    let delivered = String::from_utf8(stack.wait_for_delivery("bob", &format!("<{id}>"))).unwrap();
    assert!(
        delivered.contains("Delivered-To: bob@example.test")
            && delivered.contains(&format!("X-Bouncekit-Campaign: {CAMPAIGN}")),
        "not the message sent:\n{delivered}"
    );
}

#[test]
fn rcpt_time_replies_are_the_chosen_ones() {
    let stack = mailstack::shared();
    let mut smtp = stack.smtp();
    let reply = smtp.mail_from(&stack.address(BOUNCES), "mailstack-rcpt-time");
    assert_eq!(reply.code, 250, "MAIL FROM refused: {reply}");

    let full = smtp.rcpt_to(&stack.address("rcpt-full"), "FAILURE");
    assert_eq!(full.code, 452, "{full}");
    assert!(
        full.text.starts_with("4.2.2 ") && full.text.ends_with("Mailbox full"),
        "{full}"
    );

    let blocked = smtp.rcpt_to(&stack.address("rcpt-blocked"), "FAILURE");
    assert_eq!(blocked.code, 550, "{blocked}");
    assert!(
        blocked.text.starts_with("5.7.1 ")
            && blocked.text.contains("blocked using zen.spamhaus.org"),
        "{blocked}"
    );

    // No relaying: another domain is refused before anything is queued.
    let outside = smtp.rcpt_to("someone@example.org", "FAILURE");
    assert_eq!(outside.code, 554, "{outside}");
    assert!(outside.text.contains("Relay access denied"), "{outside}");

    // The session goes on: a good recipient after the refusals is taken.
    let ok = smtp.rcpt_to(&stack.address("alice"), "NEVER");
    assert_eq!(ok.code, 250, "{ok}");
    smtp.quit();
}

#[test]
fn imaps_trusts_the_per_run_ca_only() {
    let stack = mailstack::shared();
    let mut session = stack
        .imaps("alice")
        .unwrap_or_else(|e| panic!("IMAPS with the per-run CA: {e}\n{}", stack.log_tail()));
    let inbox = session.select("INBOX").expect("SELECT INBOX");
    assert!(inbox.uid_validity.is_some(), "no UIDVALIDITY: {inbox:?}");
    session.logout().expect("LOGOUT");

    // Without the CA the certificate is not trusted (the system's CAs do not know it).
    let system_cas = std::path::Path::new("/etc/ssl/certs/ca-certificates.crt");
    let cas: Vec<&std::path::Path> = if system_cas.exists() {
        vec![system_cas]
    } else {
        vec![]
    };
    match mailstack::tls_connect(stack.imaps_port, &cas) {
        Ok(_) => panic!("the IMAPS certificate was trusted without the per-run CA"),
        Err(e) => assert!(
            e.contains("certificate") || e.contains("Certificate"),
            "{e}"
        ),
    }

    // Plain IMAP works with the password from the passwd-file, and only with it.
    let mut session = stack
        .imap_plain("alice")
        .unwrap_or_else(|e| panic!("plain IMAP: {e}\n{}", stack.log_tail()));
    session.select("INBOX").expect("SELECT INBOX");
    session.logout().expect("LOGOUT");
    let tcp = std::net::TcpStream::connect(("127.0.0.1", stack.imap_port)).expect("connect");
    let mut client = imap::Client::new(tcp);
    client.read_greeting().expect("IMAP greeting");
    assert!(
        client.login("alice", "not-the-password").is_err(),
        "a wrong password was accepted"
    );
}

#[test]
fn success_report_is_classified_delivered() {
    live_case(&DELIVERED);
}

#[test]
fn unknown_user_report_is_classified_hard() {
    live_case(&USER_UNKNOWN);
}

#[test]
fn over_quota_report_is_classified_mailbox_full() {
    live_case(&OVER_QUOTA);
}

#[test]
fn transport_error_report_is_classified_mailbox_full() {
    live_case(&TRANSPORT_MAILBOX_FULL);
}

#[test]
fn transport_blocked_report_is_classified_block() {
    live_case(&TRANSPORT_BLOCKED);
}

#[test]
fn delay_report_is_classified_delay() {
    live_case(&DELAYED);
}

#[test]
fn fixture_success_report() {
    fixture_case(&DELIVERED);
}

#[test]
fn fixture_unknown_user_report() {
    fixture_case(&USER_UNKNOWN);
}

#[test]
fn fixture_over_quota_report() {
    fixture_case(&OVER_QUOTA);
}

#[test]
fn fixture_transport_mailbox_full_report() {
    fixture_case(&TRANSPORT_MAILBOX_FULL);
}

#[test]
fn fixture_transport_blocked_report() {
    fixture_case(&TRANSPORT_BLOCKED);
}

#[test]
fn fixture_delay_report() {
    fixture_case(&DELAYED);
}

#[test]
fn missing_packages_fail_with_how_to_install_them() {
    // The tests that need the stack fail with this message; they are never skipped.
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/mailstack/mailstack.sh"
        ))
        .arg("start")
        .arg(dir.path().join("stack"))
        .env("MAILSTACK_DOVECOT", "/nonexistent/dovecot")
        .output()
        .expect("run mailstack.sh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("missing: /nonexistent/dovecot")
            && stderr.contains("apt-get install postfix dovecot-imapd"),
        "{stderr}"
    );
}
