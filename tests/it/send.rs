//! `bouncekit send` against the real Postfix of the test mail stack (see
//! tests/mailstack/mailstack.sh): what the server answered, what Dovecot received and what the
//! delivery reports say, plus a scripted SMTP server for what the stack cannot show (a server
//! without DSN, the exact parameters sent) and smtp-sink for one without TLS.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::mailstack::{self, BOUNCES, MailStack};
use crate::common::*;

/// `send` with the stack's server, its CA, the bounce mailbox as sender and no store.
fn send_args(stack: &MailStack, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "send".into(),
        "--smtp".into(),
        stack.smtp_url(),
        "--ca-file".into(),
        stack.ca_file.display().to_string(),
        "--from".into(),
        stack.address(BOUNCES),
        "--retry-delay".into(),
        "100ms".into(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

fn run(sandbox: &Sandbox, args: &[String]) -> Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    sandbox.run(&args)
}

/// The arguments of a plain "Hi" mailing from news@example.com (the text in `hi.txt`, which
/// `hi_sandbox` writes), with no store: the tests against scripted servers add the rest.
const HI: [&str; 7] = [
    "--from",
    "news@example.com",
    "--subject",
    "Hi",
    "--text",
    "hi.txt",
    "--no-store",
];

/// A sandbox holding `hi.txt` and `list.csv` with these addresses.
fn hi_sandbox(addresses: &[&str]) -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.write("hi.txt", b"Hi\n");
    let list: String = addresses
        .iter()
        .fold("email\n".to_string(), |list, a| list + a + "\n");
    sandbox.write("list.csv", list.as_bytes());
    sandbox
}

/// Records with this status.
fn with_status<'a>(records: &'a [Value], status: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["status"] == status).collect()
}

/// The record of `recipient` with `status`, which must exist.
#[track_caller]
fn record<'a>(records: &'a [Value], recipient: &str, status: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["recipient"] == recipient && r["status"] == status)
        .unwrap_or_else(|| {
            panic!(
                "no {status} record for {recipient}:\n{}",
                records
                    .iter()
                    .map(Value::to_string)
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })
}

const OFFER: &str = "Subject: Offer for {{ first_name }}\n\
From: Shop <bounces@example.test>\n\
MIME-Version: 1.0\n\
Content-Type: multipart/alternative; boundary=\"xyz\"\n\
\n\
--xyz\n\
Content-Type: text/plain; charset=us-ascii\n\
\n\
Dear {{ first_name }},\n\
your code is {{ code }}.\n\
--xyz\n\
Content-Type: text/html; charset=us-ascii\n\
\n\
<p>Dear {{ first_name }},</p><p>your code is {{ code }}.</p>\n\
--xyz--\n";

#[test]
fn template_is_rendered_into_the_delivered_message() {
    let stack = mailstack::shared();
    let sandbox = Sandbox::new();
    sandbox.write("offer.eml", OFFER.as_bytes());
    sandbox.write(
        "list.csv",
        "email,first_name,code\nalice@example.test,Žofie,<b>A&1</b>\n".as_bytes(),
    );
    let out = run(
        &sandbox,
        &send_args(
            stack,
            &[
                "--template",
                "offer.eml",
                "--campaign",
                "render-test",
                "--read-receipt",
                "--unsubscribe-url",
                "https://shop.example.test/u?e={{ email | urlencode }}",
                "--unsubscribe-mailto",
                "unsubscribe@example.test",
                "--no-store",
                "list.csv",
            ],
        ),
    );
    let records = out.ok_records();
    let sent = record(&records, "alice@example.test", "sent");
    check(
        "sent",
        sent,
        &[
            ("campaign", is("render-test")),
            ("smtp_code", is(250)),
            ("enhanced_status", is("2.0.0")),
            ("attempts", is(1)),
            ("kind", missing()),
        ],
    );
    assert!(
        out.stderr.contains("read receipt") && out.stderr.contains("intrusive"),
        "no read-receipt warning:\n{}",
        out.stderr
    );
    let message_id = text(sent, "message_id");
    assert!(
        message_id.starts_with("<render-test.") && message_id.ends_with("@example.test>"),
        "{message_id}"
    );
    let delivered = String::from_utf8(stack.wait_for_delivery("alice", message_id)).unwrap();
    for wanted in [
        "Subject: Offer for =?utf-8?b?xb1vZmll?=",
        "X-Bouncekit-Campaign: render-test",
        "Disposition-Notification-To: <bounces@example.test>",
        "List-Unsubscribe: <https://shop.example.test/u?e=alice%40example.test>,",
        "<mailto:unsubscribe@example.test>",
        "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
        "To: <alice@example.test>",
        // Text as it was given, quoted-printable for the Ž.
        "Dear =C5=BDofie,\r\nyour code is <b>A&1</b>.",
        // HTML escaped.
        "your code is &lt;b&gt;A&amp;1&lt;&#x2f;b&gt;.",
    ] {
        assert!(delivered.contains(wanted), "no {wanted:?} in:\n{delivered}");
    }
}

#[test]
fn rows_that_cannot_be_rendered_are_skipped_with_the_reason() {
    let stack = mailstack::shared();
    let sandbox = Sandbox::new();
    sandbox.write("offer.eml", OFFER.as_bytes());
    sandbox.write(
        "list.jsonl",
        concat!(
            "{\"email\":\"bob@example.test\",\"first_name\":\"Bob\"}\n",
            "{\"email\":\"load-7001@example.test\",\"first_name\":\"\",\"code\":\"1\"}\n",
            "{\"email\":\"load-7002@example.test\",\"first_name\":\"X\\r\\nBcc: victim@example.test\",\"code\":\"2\"}\n",
        )
        .as_bytes(),
    );
    let out = run(
        &sandbox,
        &send_args(
            stack,
            &["--template", "offer.eml", "--no-store", "list.jsonl"],
        ),
    );
    let records = out.ok_records();
    assert_eq!(records.len(), 3, "{records:?}");
    check(
        "no code",
        record(&records, "bob@example.test", "skipped"),
        &[
            ("reason", is("missing_variable")),
            ("detail", line_with(&["code"])),
            ("message_id", missing()),
        ],
    );
    check(
        "empty first name",
        record(&records, "load-7001@example.test", "skipped"),
        &[
            ("reason", is("missing_variable")),
            ("detail", line_with(&["first_name"])),
        ],
    );
    check(
        "header injection",
        record(&records, "load-7002@example.test", "skipped"),
        &[
            ("reason", is("header_injection")),
            ("detail", line_with(&["first_name", "Subject"])),
        ],
    );
    assert!(out.stderr.contains("3 skipped"), "{}", out.stderr);
    // --strict makes them an error.
    let strict = run(
        &sandbox,
        &send_args(
            stack,
            &[
                "--template",
                "offer.eml",
                "--no-store",
                "--strict",
                "list.jsonl",
            ],
        ),
    );
    strict.assert_code(1);
}

#[test]
fn dsn_parameters_reach_postfix_and_the_report_links_back() {
    let stack = mailstack::shared();
    let sandbox = Sandbox::new();
    sandbox.write("hello.txt", b"Hello {{ first_name }}\n");
    sandbox.write("list.csv", b"email,first_name\nbob@example.test,Bob\n");
    let out = run(
        &sandbox,
        &send_args(
            stack,
            &[
                "--subject",
                "DSN test",
                "--text",
                "hello.txt",
                "--campaign",
                "dsn-test",
                "--notify",
                "success,failure",
                "--no-store",
                "list.csv",
            ],
        ),
    );
    let records = out.ok_records();
    let sent = record(&records, "bob@example.test", "sent");
    let sending = record(&records, "bob@example.test", "sending");
    assert_eq!(sending["message_id"], sent["message_id"]);
    let envid = text(sent, "envelope_id");
    let report = stack.wait_for_report(envid);
    let report_text = String::from_utf8_lossy(&report);
    // ORCPT came back as Original-Recipient, RET=HDRS as headers without the body.
    assert!(
        report_text.contains("Original-Recipient: rfc822;bob@example.test")
            && report_text.contains("text/rfc822-headers")
            && !report_text.contains("Hello Bob"),
        "{report_text}"
    );
    let file = sandbox.write("report.eml", &report);
    let events = sandbox.run(&["classify", &file]).ok_records();
    check(
        "the success report",
        single(&events),
        &[
            ("kind", is("delivered")),
            ("recipient", is("bob@example.test")),
            ("envelope_id", Want::Is(sent["envelope_id"].clone())),
            ("original_message_id", Want::Is(sent["message_id"].clone())),
            ("campaign", is("dsn-test")),
        ],
    );
}

#[test]
fn a_452_is_retried_with_backoff_then_deferred() {
    let stack = mailstack::shared();
    let sandbox = Sandbox::new();
    sandbox.write("hi.txt", b"Hi\n");
    sandbox.write("list.csv", b"email\nrcpt-full@example.test\n");
    let started = Instant::now();
    let out = run(
        &sandbox,
        &send_args(
            stack,
            &[
                "--subject",
                "Hi",
                "--text",
                "hi.txt",
                "--retries",
                "2",
                "--no-store",
                "list.csv",
            ],
        ),
    );
    let took = started.elapsed();
    let records = out.ok_records();
    check(
        "deferred",
        single(&records),
        &[
            ("recipient", is("rcpt-full@example.test")),
            ("status", is("deferred")),
            ("smtp_code", is(452)),
            ("enhanced_status", is("4.2.2")),
            ("attempts", is(3)),
            ("reason", is("mailbox_full")),
            ("response", line_with(&["452 4.2.2", "Mailbox full"])),
        ],
    );
    // Backoff: 100 ms, then 200 ms.
    assert!(took >= Duration::from_millis(300), "{took:?}");
}

#[test]
fn a_550_fails_with_kind_and_reason_and_suppress_add_takes_it() {
    let stack = mailstack::shared();
    let sandbox = Sandbox::new();
    sandbox.write("hi.txt", b"Hi\n");
    sandbox.write(
        "list.csv",
        b"email\nrcpt-unknown@example.test\nrcpt-blocked@example.test\n",
    );
    let out = run(
        &sandbox,
        &send_args(
            stack,
            &[
                "--subject",
                "Hi",
                "--text",
                "hi.txt",
                "--no-store",
                "-o",
                "log.jsonl",
                "list.csv",
            ],
        ),
    );
    out.assert_code(0);
    let log = std::fs::read_to_string(sandbox.path().join("log.jsonl")).unwrap();
    let records: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    check(
        "unknown user",
        record(&records, "rcpt-unknown@example.test", "failed"),
        &[
            ("smtp_code", is(550)),
            ("enhanced_status", is("5.1.1")),
            ("kind", is("hard")),
            ("reason", is("user_unknown")),
            ("response", line_with(&["550 5.1.1", "User unknown"])),
        ],
    );
    check(
        "blocked",
        record(&records, "rcpt-blocked@example.test", "failed"),
        &[
            ("kind", is("block")),
            ("reason", is("blocked")),
            ("enhanced_status", is("5.7.1")),
        ],
    );
    // Ingested: the unknown user is bounced, the block is the sender's and changes nothing.
    sandbox
        .run(&["suppress", "--db", "store.db", "add", "log.jsonl"])
        .assert_code(0);
    let shown = sandbox
        .run(&[
            "suppress",
            "--db",
            "store.db",
            "show",
            "--format",
            "jsonl",
            "rcpt-unknown@example.test",
            "rcpt-blocked@example.test",
        ])
        .ok_records();
    assert_eq!(shown[0]["state"], "bounced", "{shown:?}");
    assert_ne!(shown[1]["state"], "bounced", "{shown:?}");
    // The next mailing with that store skips the bounced address.
    let again = run(
        &sandbox,
        &send_args(
            stack,
            &[
                "--subject",
                "Hi",
                "--text",
                "hi.txt",
                "--db",
                "store.db",
                "list.csv",
            ],
        ),
    );
    let records = again.ok_records();
    check(
        "suppressed",
        record(&records, "rcpt-unknown@example.test", "skipped"),
        &[("reason", is("suppressed:bounced"))],
    );
}

#[test]
fn suppressed_invalid_and_duplicate_rows_are_skipped() {
    let stack = mailstack::shared();
    let sandbox = Sandbox::new();
    sandbox.write("hi.txt", b"Hi\n");
    sandbox.write("gone.txt", b"load-8001@example.test\n");
    sandbox
        .run(&[
            "suppress",
            "--db",
            "store.db",
            "import",
            "gone.txt",
            "--state",
            "unsubscribed",
        ])
        .assert_code(0);
    sandbox.write(
        "list.csv",
        b"name,E-Mail\na,load-8002@example.test\nb,not an address\nc,LOAD-8002@example.test\nd,load-8001@example.test\n",
    );
    let out = run(
        &sandbox,
        &send_args(
            stack,
            &[
                "--subject",
                "Hi",
                "--text",
                "hi.txt",
                "--db",
                "store.db",
                "list.csv",
            ],
        ),
    );
    let records = out.ok_records();
    assert_eq!(with_status(&records, "sent").len(), 1, "{records:?}");
    record(&records, "load-8002@example.test", "sent");
    check(
        "invalid",
        record(&records, "not an address", "skipped"),
        &[("reason", is("invalid_address"))],
    );
    check(
        "duplicate",
        record(&records, "LOAD-8002@example.test", "skipped"),
        &[("reason", is("duplicate"))],
    );
    check(
        "suppressed",
        record(&records, "load-8001@example.test", "skipped"),
        &[("reason", is("suppressed:unsubscribed"))],
    );
}

/// `load-N@example.test` recipients as a CSV list.
fn load_list(from: usize, count: usize) -> String {
    let mut list = String::from("email,n\n");
    for n in from..from + count {
        list += &format!("load-{n}@example.test,{n}\n");
    }
    list
}

/// Milliseconds of an RFC 3339 time with milliseconds (the send log's).
fn millis(record: &Value) -> i64 {
    let t = text(record, "time");
    let (secs, frac) = t
        .trim_end_matches('Z')
        .rsplit_once('.')
        .expect("milliseconds");
    let (_, hms) = secs.split_once('T').unwrap();
    let parts: Vec<i64> = hms.split(':').map(|p| p.parse().unwrap()).collect();
    ((parts[0] * 60 + parts[1]) * 60 + parts[2]) * 1000 + frac.parse::<i64>().unwrap()
}

#[test]
fn the_rate_limit_holds_across_connections() {
    let stack = mailstack::shared();
    let sandbox = Sandbox::new();
    sandbox.write("hi.txt", b"Message {{ n }}\n");
    sandbox.write("list.csv", load_list(9000, 30).as_bytes());
    let started = Instant::now();
    let out = run(
        &sandbox,
        &send_args(
            stack,
            &[
                "--subject",
                "Rate",
                "--text",
                "hi.txt",
                "--rate",
                "20/s",
                "--connections",
                "4",
                "--no-store",
                "list.csv",
            ],
        ),
    );
    let took = started.elapsed();
    let records = out.ok_records();
    let mut starts: Vec<i64> = with_status(&records, "sending")
        .into_iter()
        .map(millis)
        .collect();
    assert_eq!(starts.len(), 30);
    starts.sort();
    // 30 messages at 20/s: 29 intervals of 50 ms. Allow 10% for timers and the commit.
    let span = starts[29] - starts[0];
    assert!((1300..=2200).contains(&span), "30 messages over {span} ms");
    // No second holds more than the limit, plus one for where the window falls.
    for (i, &t) in starts.iter().enumerate() {
        let in_window = starts[i..].iter().take_while(|&&u| u < t + 1000).count();
        assert!(
            in_window <= 21,
            "{in_window} messages within a second from {t}"
        );
    }
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn dry_run_writes_the_messages_and_connects_nowhere() {
    let sandbox = Sandbox::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("smtp://127.0.0.1:{}", listener.local_addr().unwrap().port());
    sandbox.write("offer.eml", OFFER.as_bytes());
    sandbox.write(
        "list.csv",
        b"email,first_name,code\njan@example.org,Jan,J1\nbad,X,Y\nmaria@example.net,Maria,M2\n",
    );
    let out = sandbox.run(&[
        "send",
        "--smtp",
        &url,
        "--from",
        "news@example.com",
        "--template",
        "offer.eml",
        "--no-store",
        "--dry-run",
        "out",
        "list.csv",
    ]);
    let records = out.ok_records();
    assert_eq!(with_status(&records, "dry_run").len(), 2, "{records:?}");
    let jan = record(&records, "jan@example.org", "dry_run");
    let file = sandbox.path().join(text(jan, "detail"));
    let message = std::fs::read_to_string(&file).unwrap();
    assert!(message.contains("Subject: Offer for Jan\r\n"), "{message}");
    assert!(
        message.contains(&format!("Message-ID: {}\r\n", text(jan, "message_id"))),
        "{message}"
    );
    assert_eq!(
        std::fs::read_dir(sandbox.path().join("out"))
            .unwrap()
            .count(),
        2
    );
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "--dry-run connected to the server"
    );
}

#[test]
fn no_store_wins_over_the_environment_and_the_log_may_be_a_device() {
    let sandbox = Sandbox::new();
    sandbox.write("offer.eml", OFFER.as_bytes());
    sandbox.write(
        "list.csv",
        b"email,first_name,code\njan@example.org,Jan,J1\n",
    );
    let args = [
        "send",
        "--from",
        "news@example.com",
        "--template",
        "offer.eml",
        "--dry-run",
        "out",
        "list.csv",
    ];
    // The cron set-up of the README exports BOUNCEKIT_DB; --no-store must still be usable.
    let missing = sandbox.path().join("no-such.db");
    let mut with_no_store = args.to_vec();
    with_no_store.insert(1, "--no-store");
    let out = sandbox.run_env(
        &with_no_store,
        &[("BOUNCEKIT_DB", missing.to_str().unwrap())],
    );
    assert_eq!(with_status(&out.ok_records(), "dry_run").len(), 1);
    assert!(!missing.exists(), "--no-store created the store");
    // Without --no-store, the store the environment names is used (and must exist).
    let out = sandbox.run_env(&args, &[("BOUNCEKIT_DB", missing.to_str().unwrap())]);
    out.assert_code(1);
    // The log may go to a device, as any output can.
    let mut to_null = args.to_vec();
    to_null.splice(1..1, ["--no-store", "-o", "/dev/null"]);
    let out = sandbox.run(&to_null);
    out.assert_code(0);
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn unsubscribe_headers_follow_rfc_8058() {
    let sandbox = hi_sandbox(&["jan@example.org"]);
    let dry = |extra: &[&str]| {
        let args = [
            &["send"][..],
            &HI,
            &["--dry-run", "out"],
            extra,
            &["list.csv"],
        ]
        .concat();
        sandbox.run(&args)
    };
    // One-click unsubscribing is for https only: a plain http URL is refused up front.
    let out = dry(&["--unsubscribe-url", "http://example.com/u"]);
    out.assert_code(1);
    assert!(out.stderr.contains("https://"), "{}", out.stderr);
    assert!(out.records().is_empty());
    // A mailto alone: List-Unsubscribe without the one-click List-Unsubscribe-Post.
    let records = dry(&["--unsubscribe-mailto", "leave+{{ email }}@example.com"]).ok_records();
    let file = sandbox.path().join(text(
        record(&records, "jan@example.org", "dry_run"),
        "detail",
    ));
    let message = std::fs::read_to_string(file).unwrap();
    assert!(
        message.contains("List-Unsubscribe: <mailto:leave+jan@example.org@example.com>\r\n"),
        "{message}"
    );
    assert!(!message.contains("List-Unsubscribe-Post"), "{message}");
}

#[test]
fn delivery_reports_of_failures_and_delays_by_default_over_the_sessions_asked_for() {
    let sandbox = Sandbox::new();
    sandbox.write("hi.txt", b"Hi\n");
    sandbox.write("list.csv", load_list(1, 40).as_bytes());
    let server = FakeServer::start(&["PIPELINING", "DSN"]);
    let url = server.url();
    let args = [
        &["send", "--smtp", &url][..],
        &HI,
        &["--connections", "3", "list.csv"],
    ]
    .concat();
    let records = sandbox.run(&args).ok_records();
    assert_eq!(with_status(&records, "sent").len(), 40);
    let commands = server.commands();
    let rcpts: Vec<&String> = commands.iter().filter(|c| c.starts_with("RCPT")).collect();
    assert_eq!(rcpts.len(), 40);
    assert!(
        rcpts.iter().all(|c| c.contains(" NOTIFY=FAILURE,DELAY ")),
        "{rcpts:?}"
    );
    assert!(
        commands
            .iter()
            .filter(|c| c.starts_with("MAIL"))
            .all(|c| c.contains(" RET=HDRS")),
        "{commands:?}"
    );
    // Three sessions, each used for many messages.
    assert_eq!(server.count("EHLO"), 3, "{commands:?}");
}

#[test]
fn starttls_is_used_and_the_certificate_checked() {
    let stack = mailstack::shared();
    let sandbox = Sandbox::new();
    sandbox.write("hi.txt", b"Hi\n");
    sandbox.write("list.csv", b"email\nload-9101@example.test\n");
    // Without the per-run CA the server's certificate is not trusted: nothing is sent.
    let out = sandbox.run(&[
        "send",
        "--smtp",
        &stack.smtp_url(),
        "--from",
        "bounces@example.test",
        "--subject",
        "Hi",
        "--text",
        "hi.txt",
        "--no-store",
        "list.csv",
    ]);
    out.assert_code(1);
    assert!(
        out.stderr.contains("TLS") && out.stderr.contains("certificate"),
        "{}",
        out.stderr
    );
    assert!(out.records().is_empty(), "a record without a send");
    // With it, Postfix logs a TLS connection.
    let out = run(
        &sandbox,
        &send_args(
            stack,
            &[
                "--subject",
                "Hi",
                "--text",
                "hi.txt",
                "--no-store",
                "list.csv",
            ],
        ),
    );
    let sent = record(&out.ok_records(), "load-9101@example.test", "sent").clone();
    let message = stack
        .maildir_messages("many")
        .into_iter()
        .find(|m| String::from_utf8_lossy(m).contains(text(&sent, "message_id")));
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut message = message;
    while message.is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        message = stack
            .maildir_messages("many")
            .into_iter()
            .find(|m| String::from_utf8_lossy(m).contains(text(&sent, "message_id")));
    }
    let message = String::from_utf8(message.expect("delivered")).unwrap();
    assert!(
        message.contains("with ESMTPS"),
        "not received over TLS:\n{message}"
    );
}

/// A scripted SMTP server on 127.0.0.1: offers `keywords` in EHLO, takes every message (but
/// see `Script`), and keeps every command line it was sent.
struct FakeServer {
    port: u16,
    commands: Arc<Mutex<Vec<String>>>,
}

/// How the scripted server misbehaves.
#[derive(Clone, Copy, Default)]
struct Script {
    /// After this many messages on a session, answer the next command with 421 and close.
    close_after: Option<usize>,
    /// Close without answering the final dot of a message to a recipient containing this.
    no_reply_for: Option<&'static str>,
    /// Refuse a MAIL FROM that contains this (553), and the RCPT and DATA that follow it.
    refuse_sender: Option<&'static str>,
    /// Refuse a RCPT TO that contains this (550 5.1.1).
    refuse_recipient: Option<&'static str>,
}

impl FakeServer {
    fn start(keywords: &'static [&'static str]) -> FakeServer {
        Self::scripted(keywords, Script::default())
    }

    fn scripted(keywords: &'static [&'static str], script: Script) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let commands = Arc::new(Mutex::new(Vec::new()));
        let seen = commands.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = seen.clone();
                std::thread::spawn(move || serve(stream, keywords, script, seen));
            }
        });
        FakeServer { port, commands }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    fn commands(&self) -> Vec<String> {
        self.commands.lock().unwrap().clone()
    }

    fn count(&self, prefix: &str) -> usize {
        self.commands()
            .iter()
            .filter(|c| c.starts_with(prefix))
            .count()
    }
}

fn serve(stream: TcpStream, keywords: &[&str], script: Script, seen: Arc<Mutex<Vec<String>>>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut out = stream.try_clone().unwrap();
    let mut lines = BufReader::new(stream);
    let _ = out.write_all(b"220 fake ESMTP\r\n");
    let mut line = String::new();
    let mut messages = 0;
    let mut rcpt = String::new();
    let mut sender_refused = false;
    while lines.read_line(&mut line).unwrap_or(0) > 0 {
        let command = line.trim_end().to_string();
        line.clear();
        seen.lock().unwrap().push(command.clone());
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        if script.close_after == Some(messages) && verb != "QUIT" && verb != "EHLO" {
            let _ = out.write_all(b"421 4.3.2 closing for the test\r\n");
            return;
        }
        let reply = match verb.as_str() {
            "EHLO" => {
                let mut r = String::from("250-fake\r\n");
                for k in keywords {
                    r += &format!("250-{k}\r\n");
                }
                r + "250 ENHANCEDSTATUSCODES\r\n"
            }
            "MAIL" if script.refuse_sender.is_some_and(|s| command.contains(s)) => {
                sender_refused = true;
                "553 5.1.7 sender address rejected: too long\r\n".to_string()
            }
            "RCPT" | "DATA" if sender_refused => "503 5.5.1 need MAIL first\r\n".to_string(),
            "RCPT" if script.refuse_recipient.is_some_and(|r| command.contains(r)) => {
                "550 5.1.1 no such user\r\n".to_string()
            }
            "RSET" => {
                sender_refused = false;
                "250 2.0.0 ok\r\n".to_string()
            }
            "RCPT" => {
                rcpt = command.clone();
                "250 2.1.5 ok\r\n".to_string()
            }
            "DATA" => {
                let _ = out.write_all(b"354 go on\r\n");
                let mut body = String::new();
                while lines.read_line(&mut body).unwrap_or(0) > 0 {
                    if body == ".\r\n" {
                        break;
                    }
                    body.clear();
                }
                if script.no_reply_for.is_some_and(|r| rcpt.contains(r)) {
                    return;
                }
                messages += 1;
                "250 2.0.0 queued\r\n".to_string()
            }
            "QUIT" => {
                let _ = out.write_all(b"221 2.0.0 bye\r\n");
                return;
            }
            _ => "250 2.0.0 ok\r\n".to_string(),
        };
        if out.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

#[test]
fn sessions_are_renewed_when_closed_or_used_up() {
    let sandbox = Sandbox::new();
    sandbox.write("hi.txt", b"Hi\n");
    sandbox.write("list.csv", load_list(1, 5).as_bytes());
    let base = [
        "--from",
        "news@example.com",
        "--subject",
        "Hi",
        "--text",
        "hi.txt",
        "--no-store",
        "--connections",
        "1",
        "--retry-delay",
        "10ms",
        "list.csv",
    ];
    // The server closes each session after two messages (421): the next message is tried
    // again on a new session.
    let closing = FakeServer::scripted(
        &["PIPELINING"],
        Script {
            close_after: Some(2),
            ..Script::default()
        },
    );
    let url = closing.url();
    let mut args = vec!["send", "--smtp", &url];
    args.extend(base);
    let records = sandbox.run(&args).ok_records();
    let sent = with_status(&records, "sent");
    assert_eq!(sent.len(), 5, "{records:?}");
    assert_eq!(
        sent.iter().filter(|r| r["attempts"] == 2).count(),
        2,
        "{records:?}"
    );
    assert_eq!(closing.count("EHLO"), 3);
    // --max-per-connection 2: a new session every two messages, each ended with QUIT.
    let server = FakeServer::start(&["PIPELINING"]);
    let url = server.url();
    let mut args = vec!["send", "--smtp", &url, "--max-per-connection", "2"];
    args.extend(base);
    assert_eq!(
        with_status(&sandbox.run(&args).ok_records(), "sent").len(),
        5
    );
    assert_eq!(server.count("EHLO"), 3);
    assert_eq!(server.count("QUIT"), 3);
    // Without PIPELINING every command waits for its reply, and it works all the same.
    let slow = FakeServer::start(&[]);
    let url = slow.url();
    let mut args = vec!["send", "--smtp", &url];
    args.extend(base);
    assert_eq!(
        with_status(&sandbox.run(&args).ok_records(), "sent").len(),
        5
    );
}

#[test]
fn no_reply_to_the_final_dot_is_an_unknown_outcome_never_resent() {
    let sandbox = Sandbox::new();
    sandbox.write("hi.txt", b"Hi\n");
    sandbox.write("list.csv", load_list(1, 3).as_bytes());
    let server = FakeServer::scripted(
        &["PIPELINING"],
        Script {
            no_reply_for: Some("load-2@"),
            ..Script::default()
        },
    );
    let url = server.url();
    let out = sandbox.run(&[
        "send",
        "--smtp",
        &url,
        "--from",
        "news@example.com",
        "--subject",
        "Hi",
        "--text",
        "hi.txt",
        "--no-store",
        "--connections",
        "1",
        "--retry-delay",
        "10ms",
        "list.csv",
    ]);
    let records = out.ok_records();
    check(
        "unknown",
        record(&records, "load-2@example.test", "unknown"),
        &[
            ("reason", is("no_reply_to_data")),
            ("attempts", is(1)),
            ("detail", non_empty()),
        ],
    );
    assert_eq!(
        server.count("RCPT TO:<load-2@"),
        1,
        "the message was sent again"
    );
    assert_eq!(with_status(&records, "sent").len(), 2);
    assert!(out.stderr.contains("no reply came"), "{}", out.stderr);
}

#[test]
fn dsn_parameters_are_sent_when_offered_and_their_absence_said_once() {
    let sandbox = hi_sandbox(&["jan+x=y@example.org", "maria@example.net"]);
    let base = HI;
    let server = FakeServer::start(&["PIPELINING", "DSN", "SIZE 1000000"]);
    let url = server.url();
    let mut args = vec![
        "send",
        "--smtp",
        &url,
        "--campaign",
        "c1",
        "--dsn-ret",
        "full",
        "--notify",
        "success,delay",
        "--verp",
        "bounces@example.com",
    ];
    args.extend(base);
    args.push("list.csv");
    let records = sandbox.run(&args).ok_records();
    let jan = record(&records, "jan+x=y@example.org", "sent");
    let envid = text(jan, "envelope_id");
    let commands = server.commands();
    let mail = commands
        .iter()
        .find(|c| {
            c.starts_with("MAIL FROM:<bounces+jan+2Bx")
                || c.starts_with("MAIL FROM:<bounces+jan+x=y=example.org@example.com>")
        })
        .unwrap_or_else(|| panic!("no VERP MAIL FROM: {commands:?}"));
    assert!(
        mail.starts_with("MAIL FROM:<bounces+jan+x=y=example.org@example.com> ")
            && mail.contains(" RET=FULL")
            && mail.contains(&format!(" ENVID={envid}"))
            && mail.contains(" SIZE="),
        "{mail}"
    );
    assert!(
        commands.contains(&"RCPT TO:<jan+x=y@example.org> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;jan+2Bx+3Dy@example.org".to_string()),
        "{commands:?}"
    );

    // No DSN offered: said once, sent anyway; with --require-dsn, nothing is sent.
    let plain = FakeServer::start(&["PIPELINING"]);
    let url = plain.url();
    let mut args = vec!["send", "--smtp", &url, "--connections", "2"];
    args.extend(base);
    args.push("list.csv");
    let out = sandbox.run(&args);
    assert_eq!(with_status(&out.ok_records(), "sent").len(), 2);
    assert_eq!(
        out.stderr.matches("does not offer DSN").count(),
        1,
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("provider"), "{}", out.stderr);
    assert!(
        plain
            .commands()
            .iter()
            .all(|c| !c.contains("NOTIFY=") && !c.contains("RET="))
    );
    args.insert(1, "--require-dsn");
    let out = sandbox.run(&args);
    out.assert_code(1);
    assert!(out.stderr.contains("--require-dsn"), "{}", out.stderr);
    assert!(out.records().is_empty());
}

#[test]
fn a_refused_verp_sender_fails_its_message_and_a_refused_sender_stops_the_run() {
    let sandbox = hi_sandbox(&[
        "jan@example.org",
        "an-extremely-long-local-part@example.net",
        "maria@example.net",
    ]);
    let base = [&HI[..], &["--connections", "1"]].concat();
    // With VERP each message has a sender of its own: the one refused fails alone, as a
    // sender-side refusal that never counts against the recipient.
    let server = FakeServer::scripted(
        &["PIPELINING"],
        Script {
            refuse_sender: Some("an-extremely-long"),
            ..Script::default()
        },
    );
    let url = server.url();
    let mut args = vec!["send", "--smtp", &url, "--verp", "bounces@example.com"];
    args.extend(&base);
    args.push("list.csv");
    let records = sandbox.run(&args).ok_records();
    assert_eq!(with_status(&records, "sent").len(), 2, "{records:?}");
    let refused = record(
        &records,
        "an-extremely-long-local-part@example.net",
        "failed",
    );
    assert_eq!(refused["kind"], "block", "{refused}");
    assert_eq!(refused["reason"], "rejected", "{refused}");
    assert_eq!(refused["smtp_code"], 553, "{refused}");

    // Without VERP the one sender is refused for every message: the run stops at once and
    // says why; the recipients are left for a later run, not failed.
    let server = FakeServer::scripted(
        &["PIPELINING"],
        Script {
            refuse_sender: Some("news@example.com"),
            ..Script::default()
        },
    );
    let url = server.url();
    let mut args = vec!["send", "--smtp", &url];
    args.extend(&base);
    args.push("list.csv");
    let out = sandbox.run(&args);
    out.assert_code(1);
    assert!(
        out.stderr.contains("refused the envelope sender"),
        "{}",
        out.stderr
    );
    assert!(with_status(&out.records(), "failed").is_empty());

    // Refusals of the sender only count in a row: a message whose sender passed (even one
    // refused at RCPT) starts the count again.
    let server = FakeServer::scripted(
        &["PIPELINING"],
        Script {
            refuse_sender: Some("bounces+long"),
            refuse_recipient: Some("nobody@"),
            ..Script::default()
        },
    );
    let mixed: String = (0..4)
        .map(|i| format!("long{i}@example.org\n"))
        .chain(["nobody@example.org\n".to_string()])
        .chain((4..8).map(|i| format!("long{i}@example.org\n")))
        .fold("email\n".to_string(), |list, row| list + &row);
    sandbox.write("mixed.csv", mixed.as_bytes());
    let url = server.url();
    let mut args = vec!["send", "--smtp", &url, "--verp", "bounces@example.com"];
    args.extend(&base);
    args.push("mixed.csv");
    let records = sandbox.run(&args).ok_records();
    let failed = with_status(&records, "failed");
    assert_eq!(failed.len(), 9, "{records:?}");
    assert_eq!(
        failed.iter().filter(|r| r["kind"] == "block").count(),
        8,
        "{records:?}"
    );

    // With VERP but every sender refused, the refusal is about the mailing: it stops too.
    let server = FakeServer::scripted(
        &["PIPELINING"],
        Script {
            refuse_sender: Some("bounces+"),
            ..Script::default()
        },
    );
    let many: String = (0..12).fold("email\n".to_string(), |list, i| {
        list + &format!("user{i}@example.org\n")
    });
    sandbox.write("many.csv", many.as_bytes());
    let url = server.url();
    let mut args = vec!["send", "--smtp", &url, "--verp", "bounces@example.com"];
    args.extend(&base);
    args.push("many.csv");
    let out = sandbox.run(&args);
    out.assert_code(1);
    assert!(
        out.stderr.contains("refused the envelope sender"),
        "{}",
        out.stderr
    );
    assert!(
        with_status(&out.records(), "failed").len() < 5,
        "{:?}",
        out.records()
    );
}

/// Postfix's smtp-sink on a free port of 127.0.0.1: it offers AUTH but no STARTTLS.
struct Sink {
    child: std::process::Child,
    port: u16,
}

impl Sink {
    fn start() -> Sink {
        let bin = "/usr/sbin/smtp-sink";
        assert!(
            std::path::Path::new(bin).exists(),
            "{bin} is missing: install it with apt-get install postfix"
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .args(["-u", "nobody", &format!("127.0.0.1:{port}"), "64"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start smtp-sink");
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "smtp-sink did not start on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Sink { child, port }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_password_never_goes_in_plain_text_unless_allowed() {
    let sink = Sink::start();
    let sandbox = Sandbox::new();
    sandbox.write("hi.txt", b"Hi\n");
    sandbox.write("list.csv", b"email\njan@example.org\n");
    sandbox.write("password", b"s3cret\n");
    let url = format!("smtp://127.0.0.1:{}", sink.port);
    let mut args = vec![
        "send",
        "--smtp",
        &url,
        "--from",
        "news@example.com",
        "--subject",
        "Hi",
        "--text",
        "hi.txt",
        "--no-store",
        "--user",
        "news",
        "--password-file",
        "password",
        "list.csv",
    ];
    let out = sandbox.run(&args);
    out.assert_code(1);
    assert!(
        out.stderr.contains("plain text") && out.stderr.contains("--allow-plaintext-auth"),
        "{}",
        out.stderr
    );
    assert!(out.records().is_empty());
    args.insert(1, "--allow-plaintext-auth");
    let records = sandbox.run(&args).ok_records();
    record(&records, "jan@example.org", "sent");
}

/// The To header of a delivered message.
fn to_header(message: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(message);
    text.lines()
        .take_while(|l| !l.is_empty())
        .find_map(|l| l.strip_prefix("To: "))
        .map(|v| v.trim().trim_matches(['<', '>']).to_string())
}

#[test]
fn killed_mid_run_then_resumed_mails_every_recipient_once() {
    const COUNT: usize = 2000;
    let stack = mailstack::shared();
    let sandbox = Sandbox::new();
    sandbox.write("hi.txt", b"Message {{ n }}\n");
    sandbox.write("list.csv", load_list(100_000, COUNT).as_bytes());
    let args = send_args(
        stack,
        &[
            "--subject",
            "Volume",
            "--text",
            "hi.txt",
            "--connections",
            "4",
            "--no-store",
            "-o",
            "log.jsonl",
            "--resume",
            "log.jsonl",
            "list.csv",
        ],
    );
    let log = sandbox.path().join("log.jsonl");
    let mut child = Command::new(BIN)
        .args(&args)
        .env_clear()
        .current_dir(sandbox.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill -9 once about a third has gone out.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let sent = std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches("\"status\":\"sent\"")
            .count();
        if sent >= COUNT / 3 {
            break;
        }
        assert!(Instant::now() < deadline, "only {sent} sent after a minute");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let first: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let sent_first = with_status(&first, "sent").len();
    assert!(
        sent_first < COUNT,
        "the kill came too late: {sent_first} sent"
    );

    let resumed = run(&sandbox, &args);
    resumed.assert_code(0);
    let all: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let unknown: Vec<String> = all
        .iter()
        .filter(|r| r["status"] == "skipped" && r["reason"] == "unknown_outcome")
        .map(|r| text(r, "recipient").to_string())
        .collect();
    eprintln!(
        "killed after {sent_first} sent; {} held back as unknown on resuming",
        unknown.len()
    );
    // At most one message per session was being committed at the kill.
    assert!(unknown.len() <= 4, "{unknown:?}");
    let sent: Vec<&str> = with_status(&all, "sent")
        .iter()
        .map(|r| text(r, "recipient"))
        .collect();
    assert_eq!(
        sent.len() + unknown.len(),
        COUNT,
        "sent {} + unknown {}",
        sent.len(),
        unknown.len()
    );

    // What Dovecot received: wait until every message logged as sent has arrived, and then
    // until nothing more arrives for a second (a message sent twice would come late).
    let count_received = || {
        let mut received: HashMap<String, usize> = HashMap::new();
        for message in stack.maildir_messages("many") {
            if let Some(to) = to_header(&message)
                && to.starts_with("load-1")
                && to.len() == "load-100000@example.test".len()
            {
                *received.entry(to).or_default() += 1;
            }
        }
        received
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut received = count_received();
    while !sent.iter().all(|r| received.contains_key(*r)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
        received = count_received();
    }
    loop {
        std::thread::sleep(Duration::from_secs(1));
        let now = count_received();
        if now == received || Instant::now() > deadline {
            break;
        }
        received = now;
    }
    eprintln!("Dovecot received {} of {COUNT} recipients", received.len());
    let twice: Vec<_> = received.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "mailed more than once: {twice:?}");
    for r in &sent {
        assert_eq!(
            received.get(*r),
            Some(&1),
            "{r} was logged sent but not received once"
        );
    }
    let never: Vec<String> = (100_000..100_000 + COUNT)
        .map(|n| format!("load-{n}@example.test"))
        .filter(|a| !received.contains_key(a))
        .collect();
    assert!(
        never.iter().all(|a| unknown.contains(a)),
        "never mailed and not reported unknown: {never:?}"
    );
    assert!(
        resumed.stderr.contains("already done in the resumed log"),
        "{}",
        resumed.stderr
    );
}

#[test]
fn an_unknown_outcome_is_reported_and_resent_only_when_asked() {
    let stack = mailstack::shared();
    let sandbox = Sandbox::new();
    sandbox.write("hi.txt", b"Hi\n");
    sandbox.write(
        "list.csv",
        b"email\nload-9201@example.test\nload-9202@example.test\nload-9203@example.test\n",
    );
    // A log as a run killed at the final dot leaves it: 9201 sent, 9202 being committed.
    sandbox.write(
        "log.jsonl",
        concat!(
            "{\"recipient\":\"load-9201@example.test\",\"status\":\"sending\",\"message_id\":\"<a@x>\"}\n",
            "{\"recipient\":\"load-9201@example.test\",\"status\":\"sent\",\"message_id\":\"<a@x>\"}\n",
            "{\"recipient\":\"load-9202@example.test\",\"status\":\"sending\",\"message_id\":\"<b@x>\"}\n",
        )
        .as_bytes(),
    );
    let args = send_args(
        stack,
        &[
            "--subject",
            "Hi",
            "--text",
            "hi.txt",
            "--no-store",
            "-o",
            "log.jsonl",
            "--resume",
            "log.jsonl",
            "list.csv",
        ],
    );
    let out = run(&sandbox, &args);
    out.assert_code(0);
    assert!(
        out.stderr.contains("load-9202@example.test") && out.stderr.contains("--resend-unknown"),
        "{}",
        out.stderr
    );
    let read = |sandbox: &Sandbox| -> Vec<Value> {
        std::fs::read_to_string(sandbox.path().join("log.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let records = read(&sandbox);
    assert_eq!(records.len(), 6, "{records:?}");
    check(
        "held back",
        record(&records, "load-9202@example.test", "skipped"),
        &[
            ("reason", is("unknown_outcome")),
            ("detail", line_with(&["<b@x>"])),
        ],
    );
    record(&records, "load-9203@example.test", "sent");
    assert_eq!(
        with_status(&records, "sent").len(),
        2,
        "9201 was sent again"
    );
    // Still unknown on the next resume; sent with --resend-unknown, and then done.
    let mut again = args.clone();
    again.insert(1, "--resend-unknown".into());
    run(&sandbox, &again).assert_code(0);
    let records = read(&sandbox);
    record(&records, "load-9202@example.test", "sent");
    run(&sandbox, &args).assert_code(0);
    assert_eq!(
        read(&sandbox).len(),
        records.len(),
        "a done recipient was logged again"
    );
}

#[test]
fn authenticates_after_starttls_with_the_password_from_a_file() {
    let stack = mailstack::shared();
    let sandbox = Sandbox::new();
    sandbox.write("hi.txt", b"Hi\n");
    sandbox.write("list.csv", b"email\nload-9301@example.test\n");
    sandbox.write(
        "password",
        format!("{}\n", stack.password("alice")).as_bytes(),
    );
    sandbox.write("wrong", b"not-the-password\n");
    let auth = |file: &str| {
        send_args(
            stack,
            &[
                "--subject",
                "Hi",
                "--text",
                "hi.txt",
                "--no-store",
                "--user",
                "alice",
                "--password-file",
                file,
                "list.csv",
            ],
        )
    };
    let refused = run(&sandbox, &auth("wrong"));
    refused.assert_code(1);
    assert!(
        refused.stderr.contains("refused the credentials of alice")
            && refused.stderr.contains("535"),
        "{}",
        refused.stderr
    );
    assert!(refused.records().is_empty());
    let records = run(&sandbox, &auth("password")).ok_records();
    let queue_id = text(
        record(&records, "load-9301@example.test", "sent"),
        "response",
    )
    .rsplit(' ')
    .next()
    .unwrap()
    .to_string();
    // Postfix says who logged in for that message.
    let log = std::fs::read_to_string(stack.dir.join("postfix/postfix.log")).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains(&format!("{queue_id}: client="))
                && l.contains("sasl_username=alice")),
        "no authenticated client for {queue_id} in the Postfix log"
    );
}

#[test]
fn implicit_tls_with_the_password_from_the_environment_and_verp_bounces_come_home() {
    let stack = mailstack::shared();
    let sandbox = Sandbox::new();
    sandbox.write("hi.txt", b"Hi\n");
    sandbox.write("list.csv", b"email\nverp-nobody@example.test\n");
    let verp_base = stack.address(BOUNCES);
    let ca = stack.ca_file.display().to_string();
    let smtps = stack.smtps_url();
    let args = [
        "send",
        "--smtp",
        &smtps,
        "--ca-file",
        &ca,
        "--from",
        &verp_base,
        "--verp",
        &verp_base,
        "--subject",
        "Hi",
        "--text",
        "hi.txt",
        "--no-store",
        "--user",
        "alice",
        "--password-env",
        "BK_SMTP_PASSWORD",
        "list.csv",
    ];
    // The variable must be set: an unset one is an error before anything is sent.
    let out = sandbox.run_env(&args, &[]);
    out.assert_code(1);
    assert!(out.stderr.contains("BK_SMTP_PASSWORD"), "{}", out.stderr);
    assert!(out.records().is_empty());
    let out = sandbox.run_env(&args, &[("BK_SMTP_PASSWORD", stack.password("alice"))]);
    let records = out.ok_records();
    let sent = record(&records, "verp-nobody@example.test", "sent");
    // Dovecot has no such user: Postfix's 5.1.1 report goes to the VERP return address, which
    // the bounce mailbox receives.
    let report = stack.wait_for_report(text(sent, "envelope_id"));
    let report_text = String::from_utf8_lossy(&report);
    assert!(
        report_text.contains("bounces+verp-nobody=example.test@example.test"),
        "{report_text}"
    );
    // The return address alone names the recipient, even when the report's recipient fields
    // are gone (as in the reports of MTAs that write none).
    let stripped: String = report_text
        .lines()
        .filter(|l| !l.contains("-Recipient: rfc822;verp-nobody@"))
        .map(|l| format!("{l}\n"))
        .collect();
    let file = sandbox.write("stripped.eml", stripped.as_bytes());
    let events = sandbox
        .run(&["classify", "--verp", &verp_base, &file])
        .ok_records();
    check(
        "the report, decoded through VERP",
        single(&events),
        &[
            ("recipient", is("verp-nobody@example.test")),
            ("kind", is("hard")),
            ("status", is("5.1.1")),
        ],
    );
}

#[test]
fn a_missing_log_to_resume_is_an_error_unless_it_is_the_one_written() {
    let sandbox = Sandbox::new();
    sandbox.write("hi.txt", b"Hi\n");
    sandbox.write("list.csv", b"email\njan@example.org\n");
    let base = [
        "send",
        "--from",
        "news@example.com",
        "--subject",
        "Hi",
        "--text",
        "hi.txt",
        "--no-store",
        "--dry-run",
        "out",
    ];
    let mut typo = base.to_vec();
    typo.extend(["-o", "log.jsonl", "--resume", "lgo.jsonl", "list.csv"]);
    let out = sandbox.run(&typo);
    out.assert_code(1);
    assert!(
        out.stderr.contains("no log to resume at lgo.jsonl"),
        "{}",
        out.stderr
    );
    assert!(
        !sandbox.path().join("log.jsonl").exists(),
        "the log was created all the same"
    );
    let mut first = base.to_vec();
    first.extend(["-o", "log.jsonl", "--resume", "log.jsonl", "list.csv"]);
    sandbox.run(&first).assert_code(0);
    let log = std::fs::read_to_string(sandbox.path().join("log.jsonl")).unwrap();
    assert!(log.contains("\"status\":\"dry_run\""), "{log}");
}

#[test]
fn a_progress_bar_on_a_terminal_and_none_in_a_pipe() {
    let sandbox = hi_sandbox(&[]);
    sandbox.write("list.csv", load_list(1, 12).as_bytes());
    let server = FakeServer::start(&["PIPELINING"]);
    let url = server.url();
    // Ten messages a second: the bar has time to be drawn (five times a second).
    let args = [
        &["send", "--smtp", &url][..],
        &HI,
        &["--rate", "10/s", "-o", "log.jsonl", "list.csv"],
    ]
    .concat();
    let on_a_terminal = Command::new("script")
        .args([
            "-qec",
            &format!("stty cols 120 rows 40; exec '{BIN}' {}", args.join(" ")),
            "/dev/null",
        ])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TERM", "xterm")
        .current_dir(sandbox.path())
        .stdin(Stdio::null())
        .output()
        .expect("`script` (util-linux) runs send on a pseudo-terminal");
    let shown = String::from_utf8_lossy(&on_a_terminal.stdout);
    assert!(on_a_terminal.status.success(), "{shown}");
    assert!(
        shown.contains("sent ") && shown.contains("failed 0") && shown.contains("ETA"),
        "no progress bar on the terminal: {shown:?}"
    );
    // The same run with stderr a pipe: the summary only.
    let piped = sandbox.run(&args);
    piped.assert_code(0);
    assert!(!piped.stderr.contains("ETA"), "{}", piped.stderr);
    assert!(piped.stderr.contains("12 sent"), "{}", piped.stderr);
}
