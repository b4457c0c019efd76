//! The whole loop a sender runs, on a mail stack of its own: `send` a campaign asking for
//! delivery reports → `fetch-bounces` | `classify --own-domain` | `suppress add`, as a cron job
//! pipes them → `suppress filter` on the original list → `report`. The list mixes every outcome
//! the stack can produce: delivered, unknown user, over quota, refused at RCPT with 4xx, with a
//! Spamhaus-style 5xx and with an unknown-user 5xx, a Spamhaus-style block that comes back as a
//! bounce, and a vacation autoreply.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::mailstack::{BOUNCES, MailStack};
use crate::common::*;

/// The sender's own domain: the stack delivers it to the same mailboxes, so the reports come
/// back to bounces@sender.test while every recipient is at example.test.
const OWN_DOMAIN: &str = "sender.test";

const LIST: &str = "email,first_name,city\n\
    alice@example.test,Alice,Praha\n\
    bob@example.test,Bob,\"Oslo, Norway\"\n\
    away@example.test,Ann,Brno\n\
    nobody@example.test,Nobody,Bergen\n\
    full@example.test,Fred,Warszawa\n\
    rcpt-full@example.test,Rita,Krakow\n\
    rcpt-blocked@example.test,Blake,Praha\n\
    rcpt-unknown@example.test,Uma,Tallinn\n\
    bounce-blocked@example.test,Boris,Riga\n";

/// A newsletter of a realistic size: more than the 1 KB quota of the user `full`.
fn template() -> String {
    let mut t = String::from(
        "From: Example Shop <bounces@sender.test>\n\
         Subject: {{ first_name }}, our May offer\n\
         Content-Type: text/plain; charset=utf-8\n\n\
         Hello {{ first_name }},\n\n",
    );
    for i in 1..=20 {
        t.push_str(&format!(
            "{i}. Something from our shop that a reader in {{{{ city }}}} might like this May.\n"
        ));
    }
    t.push_str("\nBest regards,\nthe Example Shop\n");
    t
}

/// Runs the cron job's pipe once: fetch what is new, classify it, remember it.
fn fetch_classify_remember(sb: &Sandbox, stack: &MailStack) {
    let pipe = format!(
        "{bin} -q fetch-bounces --imap imaps://{BOUNCES}@127.0.0.1:{port}/INBOX \
           --ca-file {ca} --password-file pw --db store.db \
         | {bin} -q classify --own-domain {OWN_DOMAIN} \
         | tee -a events.jsonl \
         | {bin} -q suppress --db store.db add",
        bin = BIN,
        port = stack.imaps_port,
        ca = stack.ca_file.display(),
    );
    let out = Command::new("bash")
        .args(["-o", "pipefail", "-c", &pipe])
        .current_dir(sb.path())
        .env_clear()
        .output()
        .expect("run the pipe");
    assert!(
        out.status.success(),
        "the pipe failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        stack.log_tail()
    );
}

fn events(sb: &Sandbox) -> Vec<Value> {
    std::fs::read_to_string(sb.path().join("events.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("an event record"))
        .collect()
}

/// (recipient, kind) of every event, counted.
fn outcomes(events: &[Value]) -> BTreeMap<(String, String), usize> {
    let mut out = BTreeMap::new();
    for e in events {
        *out.entry((
            text(e, "recipient").to_string(),
            text(e, "kind").to_string(),
        ))
        .or_default() += 1;
    }
    out
}

#[test]
fn send_fetch_classify_suppress_filter_report_close_the_loop() {
    let stack = MailStack::start().unwrap_or_else(|e| panic!("{e}"));
    let sb = Sandbox::new();
    sb.write("customers.csv", LIST.as_bytes());
    sb.write("offer.eml", template().as_bytes());
    sb.write("pw", format!("{}\n", stack.password(BOUNCES)).as_bytes());
    // The store exists from the start, as a cron user's does.
    sb.run(&["suppress", "--db", "store.db", "config"])
        .assert_code(0);

    let sent = sb.run(&[
        "send",
        "--smtp",
        &stack.smtp_url(),
        "--ca-file",
        &stack.ca_file.display().to_string(),
        "--from",
        "bounces@sender.test",
        "--template",
        "offer.eml",
        "--campaign",
        "may-2026",
        "--notify",
        "failure,delay,success",
        "--retries",
        "1",
        "--retry-delay",
        "1s",
        "--db",
        "store.db",
        "-o",
        "sent.jsonl",
        "customers.csv",
    ]);
    sent.assert_code(0);
    let log: Vec<Value> = std::fs::read_to_string(sb.path().join("sent.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &Value| r["status"] != "sending")
        .collect();
    let statuses: BTreeMap<&str, &str> = log
        .iter()
        .map(|r| {
            (
                r["recipient"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        BTreeMap::from([
            ("alice@example.test", "sent"),
            ("away@example.test", "sent"),
            ("bob@example.test", "sent"),
            ("bounce-blocked@example.test", "sent"),
            ("full@example.test", "sent"),
            ("nobody@example.test", "sent"),
            ("rcpt-blocked@example.test", "failed"),
            ("rcpt-full@example.test", "deferred"),
            ("rcpt-unknown@example.test", "failed"),
        ]),
        "{}",
        stack.log_tail()
    );

    // Poll as cron would, until every report is in: three success reports, the vacation
    // reply, the unknown user, the full mailbox and the block returned by Postfix.
    let want = BTreeMap::from([
        (
            ("alice@example.test".to_string(), "delivered".to_string()),
            1,
        ),
        (
            ("away@example.test".to_string(), "autoreply".to_string()),
            1,
        ),
        (
            ("away@example.test".to_string(), "delivered".to_string()),
            1,
        ),
        (("bob@example.test".to_string(), "delivered".to_string()), 1),
        (
            (
                "bounce-blocked@example.test".to_string(),
                "block".to_string(),
            ),
            1,
        ),
        (("full@example.test".to_string(), "soft".to_string()), 1),
        (("nobody@example.test".to_string(), "hard".to_string()), 1),
    ]);
    let started = Instant::now();
    loop {
        fetch_classify_remember(&sb, &stack);
        let got = outcomes(&events(&sb));
        if got == want {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the reports did not all come back: got {got:?}, want {want:?}\n{}",
            stack.log_tail()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    // Every report links back to what was sent, and our own domain is never the recipient.
    for e in events(&sb) {
        assert!(!text(&e, "recipient").ends_with(OWN_DOMAIN), "{e}");
        if text(&e, "kind") != "autoreply" {
            check(
                "report",
                &e,
                &[
                    ("campaign", is("may-2026")),
                    ("original_message_id", non_empty()),
                ],
            );
        }
    }
    // The refusals at send time go into the store too, as a cron job would add them.
    sb.run(&["suppress", "--db", "store.db", "add", "sent.jsonl"])
        .assert_code(0);

    // Exactly the bad addresses are suppressed (the unknown user, whether its 5.1.1 came back
    // as a bounce or at RCPT time): the blocks, at RCPT time or bounced, and the autoreply
    // suppressed nobody, a full mailbox is only soft, a deferral nothing.
    let filtered = sb.run(&[
        "suppress",
        "--db",
        "store.db",
        "filter",
        "customers.csv",
        "--rejected",
        "dropped.csv",
    ]);
    filtered.assert_code(0);
    let kept = LIST
        .replace("nobody@example.test,Nobody,Bergen\n", "")
        .replace("rcpt-unknown@example.test,Uma,Tallinn\n", "");
    assert_eq!(String::from_utf8_lossy(&filtered.stdout), kept);
    assert_eq!(
        std::fs::read_to_string(sb.path().join("dropped.csv")).unwrap(),
        "email,first_name,city,state,reason\n\
         nobody@example.test,Nobody,Bergen,bounced,user_unknown\n\
         rcpt-unknown@example.test,Uma,Tallinn,bounced,user_unknown\n"
    );
    let state = |address: &str| {
        let shown = sb.run(&[
            "suppress", "--db", "store.db", "show", "--format", "jsonl", address,
        ]);
        text(single(&shown.ok_records()), "state").to_string()
    };
    assert_eq!(state("rcpt-blocked@example.test"), "unknown");
    assert_eq!(state("bounce-blocked@example.test"), "unknown");
    assert_eq!(state("rcpt-unknown@example.test"), "bounced");
    assert_eq!(state("away@example.test"), "active");
    assert_eq!(state("full@example.test"), "soft_bouncing");

    // The report's numbers are what was sent and what came back.
    let report = sb.run(&[
        "report",
        "--format",
        "json",
        "--db",
        "store.db",
        "sent.jsonl",
        "events.jsonl",
    ]);
    report.assert_code(0);
    let report: Value = serde_json::from_slice(&report.stdout).unwrap();
    check(
        "campaign",
        &report["campaigns"][0],
        &[
            ("campaign", is("may-2026")),
            ("sent", is(6)),
            ("rejected", is(2)),
            ("deferred", is(1)),
            ("delivered", is(3)),
            ("hard", is(1)),
            ("soft", is(1)),
            ("block", is(1)),
            ("autoreply", is(1)),
            ("no_feedback", is(0)),
            ("bounce_rate", is(2.0 / 6.0)),
            ("deliverability", is(4.0 / 6.0)),
        ],
    );
    assert_eq!(report["unmatched_events"], 0);
    // Both blocks, the one refused at RCPT time and the one bounced, are sender-side alerts;
    // the unknown user refused at RCPT time is a failure but no alert.
    let alerts = |key: &str| -> Vec<(String, u64)> {
        report[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                assert!(text(a, "example").contains("zen.spamhaus.org"), "{a}");
                (text(a, "name").to_string(), a["count"].as_u64().unwrap())
            })
            .collect()
    };
    assert_eq!(alerts("blocks_by_list"), [("Spamhaus".to_string(), 2)]);
    assert_eq!(
        alerts("blocks_by_domain"),
        [("example.test".to_string(), 2)]
    );
    // A list of {name, count} in the report, as a map.
    let counts = |key: &str| -> BTreeMap<String, u64> {
        report[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (text(c, "name").to_string(), c["count"].as_u64().unwrap()))
            .collect()
    };
    let reasons = counts("reasons");
    assert_eq!(reasons.get("user_unknown"), Some(&2), "{reasons:?}");
    let store = counts("store");
    assert_eq!(
        store,
        BTreeMap::from([
            ("active".to_string(), 3),
            ("bounced".to_string(), 2),
            ("soft_bouncing".to_string(), 1),
            ("unknown".to_string(), 2),
        ])
    );

    // And the next mailing goes only to who is left, without mailing anyone twice: the
    // unconfirmed ones (no delivery report) are the full mailbox, the unknown user and the
    // bounced block (those refused at RCPT time were never sent).
    let again = sb.run(&[
        "report",
        "--unconfirmed",
        "--list",
        "customers.csv",
        "sent.jsonl",
        "events.jsonl",
    ]);
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        "email,first_name,city\n\
         nobody@example.test,Nobody,Bergen\n\
         full@example.test,Fred,Warszawa\n\
         bounce-blocked@example.test,Boris,Riga\n"
    );
}
