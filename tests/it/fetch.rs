//! `bouncekit fetch-bounces` against the real Dovecot of the test mail stack: incremental
//! runs, messages left unread, the explicit actions, UIDVALIDITY changes, TLS with the right
//! and the wrong CA, clean failures, a server killed mid-fetch, `--watch` and the whole chain
//! fetch → classify → suppress add.
//!
//! Each test reads mailboxes of its own (named after it) of the stack's `bounces` user, so the
//! tests share the stack without seeing each other's mail; the test that kills Dovecot runs a
//! stack of its own. Mailboxes are filled with MULTIAPPEND, and what the server holds is
//! checked with the `imap` crate, independently of bouncekit's own client.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

use crate::common::mailstack::{self, BOUNCES, MailStack};
use crate::common::*;

/// A returned message of about 3 KB in Postfix's plain-text style, about
/// `user{n}@example.org` (so each one is a distinct hard bounce for `classify`).
fn bounce(tag: &str, n: usize) -> Vec<u8> {
    let mut text = format!(
        "From: MAILER-DAEMON@mail.example.test (Mail Delivery System)\r\n\
         To: bounces@example.test\r\n\
         Subject: Undelivered Mail Returned to Sender\r\n\
         Message-ID: <{tag}-{n}@mail.example.test>\r\n\
         Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         \r\n\
         This is the mail system at host mail.example.test.\r\n\
         \r\n\
         I'm sorry to have to inform you that your message could not\r\n\
         be delivered to one or more recipients.\r\n\
         \r\n\
         <{tag}.user{n}@example.org>: host mx.example.org[192.0.2.1] said: 550 5.1.1\r\n    \
         <{tag}.user{n}@example.org>: Recipient address rejected: User unknown (in reply to RCPT TO command)\r\n\
         \r\n"
    );
    let mut line = 0;
    while text.len() < 3000 {
        text += &format!("Line {line:03} of the returned message, quoted back to the sender.\r\n");
        line += 1;
    }
    text.into_bytes()
}

fn bounces(tag: &str, range: std::ops::Range<usize>) -> Vec<Vec<u8>> {
    range.map(|n| bounce(tag, n)).collect()
}

/// The arguments of a fetch from `mailbox` of `bounces` over IMAPS with the stack's CA, the
/// password in `pw` (written by `password_file`) and the positions in `store.db`.
fn imaps_args(stack: &MailStack, mailbox: &str) -> Vec<String> {
    vec![
        "fetch-bounces".into(),
        "--imap".into(),
        format!("imaps://{BOUNCES}@127.0.0.1:{}/{mailbox}", stack.imaps_port),
        "--ca-file".into(),
        stack.ca_file.display().to_string(),
        "--password-file".into(),
        "pw".into(),
        "--db".into(),
        "store.db".into(),
    ]
}

fn password_file(sb: &Sandbox, stack: &MailStack) {
    sb.write("pw", format!("{}\n", stack.password(BOUNCES)).as_bytes());
}

fn run(sb: &Sandbox, args: &[String], more: &[&str]) -> Run {
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    all.extend_from_slice(more);
    sb.run(&all)
}

fn uids(records: &[Value]) -> Vec<u64> {
    records.iter().map(|r| r["uid"].as_u64().unwrap()).collect()
}

fn raw(record: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(record["raw_base64"].as_str().expect("raw_base64"))
        .expect("valid base64")
}

/// An error run: exit 1, one line on stderr naming `what`, nothing on stdout.
#[track_caller]
fn assert_clean_failure(run: &Run, what: &[&str]) {
    run.assert_code(1);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "not one line of error:\n{}", run.stderr);
    assert!(lines[0].starts_with("bouncekit: "), "{}", run.stderr);
    for w in what {
        assert!(
            lines[0].contains(w),
            "the error does not say {w:?}: {}",
            run.stderr
        );
    }
    assert!(run.stdout.is_empty(), "records written by a failed run");
}

#[test]
fn first_run_outputs_all_the_second_none_new_arrivals_only_the_new_and_all_stay_unread() {
    let stack = mailstack::shared();
    let mailbox = "fetch-incremental";
    let sent = bounces("incr", 0..1000);
    stack.fill(BOUNCES, mailbox, sent.clone());
    let sb = Sandbox::new();
    let url = format!("imaps://{BOUNCES}@127.0.0.1:{}/{mailbox}", stack.imaps_port);
    let ca = stack.ca_file.display().to_string();
    let args = [
        "fetch-bounces",
        "--imap",
        &url,
        "--ca-file",
        &ca,
        "--password-env",
        "IMAP_PW",
        "--db",
        "store.db",
    ];
    let env = [("IMAP_PW", stack.password(BOUNCES))];

    let first = sb.run_env(&args, &env).ok_records();
    assert_eq!(first.len(), 1000, "{}", sb.run_env(&args, &env).stderr);
    assert_eq!(uids(&first), (1..=1000).collect::<Vec<_>>());
    let uidvalidity = first[0]["uidvalidity"].as_u64().unwrap();
    for (record, message) in first.iter().zip(&sent) {
        let uid = record["uid"].as_u64().unwrap();
        check(
            "a message record",
            record,
            &[
                (
                    "source",
                    Want::Is(
                        format!(
                            "imaps://bounces@127.0.0.1:{}/{mailbox};UIDVALIDITY={uidvalidity};UID={uid}",
                            stack.imaps_port
                        )
                        .into(),
                    ),
                ),
                ("mailbox", is(mailbox)),
                ("uidvalidity", is(uidvalidity)),
                ("size", is(message.len())),
                ("error", missing()),
            ],
        );
        assert_eq!(
            &raw(record),
            message,
            "UID {uid} is not the exact message appended"
        );
        let date = text(record, "internal_date");
        assert!(
            chrono::DateTime::parse_from_rfc3339(date).is_ok() && date.ends_with('Z'),
            "internal_date {date:?} is not RFC 3339 UTC"
        );
    }

    let second = sb.run_env(&args, &env);
    assert!(
        second.ok_records().is_empty(),
        "the second run fetched again"
    );
    assert!(
        second.stderr.contains("0 messages written"),
        "{}",
        second.stderr
    );

    stack.append(BOUNCES, mailbox, bounces("incr", 1000..1003));
    let third = sb.run_env(&args, &env).ok_records();
    assert_eq!(uids(&third), vec![1001, 1002, 1003]);
    assert_eq!(raw(&third[2]), bounce("incr", 1002));

    let flags = stack.seen_flags(BOUNCES, mailbox);
    assert_eq!(flags.len(), 1003);
    assert!(
        flags.iter().all(|(_, seen)| !seen),
        "fetching marked messages seen"
    );
}

#[test]
fn a_state_file_starttls_and_a_user_that_is_an_address() {
    let stack = mailstack::shared();
    let mailbox = "fetch-state-file";
    stack.fill(BOUNCES, mailbox, bounces("state", 0..5));
    let sb = Sandbox::new();
    password_file(&sb, stack);
    let ca = stack.ca_file.display().to_string();
    // imap:// upgrades with STARTTLS; the passwd-file knows "bounces" as bounces@example.test.
    let url = format!("imap://127.0.0.1:{}/{mailbox}", stack.imap_port);
    let args = [
        "fetch-bounces",
        "--imap",
        &url,
        "--user",
        "bounces@example.test",
        "--ca-file",
        &ca,
        "--password-file",
        "pw",
        "--state",
        "state/fetch.json",
    ];
    let first = sb.run(&args).ok_records();
    assert_eq!(uids(&first), vec![1, 2, 3, 4, 5]);
    assert!(
        text(&first[0], "source").starts_with(&format!(
            "imap://bounces%40example.test@127.0.0.1:{}/{mailbox};UIDVALIDITY=",
            stack.imap_port
        )),
        "{}",
        first[0]
    );
    let state: Value =
        serde_json::from_slice(&std::fs::read(sb.path().join("state/fetch.json")).unwrap())
            .unwrap();
    let entry = &state["mailboxes"][0];
    assert_eq!(entry["server"], format!("127.0.0.1:{}", stack.imap_port));
    assert_eq!(entry["user"], "bounces@example.test");
    assert_eq!(entry["mailbox"], mailbox);
    assert_eq!(entry["last_uid"], 5);
    assert!(!sb.path().join("store.db").exists());
    assert!(sb.run(&args).ok_records().is_empty());

    // The same user percent-encoded in the URL is the same mailbox, so nothing new either.
    let encoded = format!(
        "imap://bounces%40example.test@127.0.0.1:{}/{mailbox}",
        stack.imap_port
    );
    let again = [
        "fetch-bounces",
        "--imap",
        &encoded,
        "--ca-file",
        &ca,
        "--password-file",
        "pw",
        "--state",
        "state/fetch.json",
    ];
    assert!(sb.run(&again).ok_records().is_empty());

    // STARTTLS is used whenever it is offered: without the private CA, no login happens.
    let no_ca = [
        "fetch-bounces",
        "--imap",
        &url,
        "--user",
        "bounces",
        "--password-file",
        "pw",
        "--state",
        "other.json",
    ];
    assert_clean_failure(&sb.run(&no_ca), &["TLS", "certificate"]);
    // Plain text only by explicit choice, twice over.
    let plain = sb.run(&[
        "fetch-bounces",
        "--imap",
        &url,
        "--user",
        "bounces",
        "--password-file",
        "pw",
        "--state",
        "plain.json",
        "--no-starttls",
    ]);
    plain.assert_code(2);
    let plain = sb.run(&[
        "fetch-bounces",
        "--imap",
        &url,
        "--user",
        "bounces",
        "--password-file",
        "pw",
        "--state",
        "plain.json",
        "--no-starttls",
        "--allow-plaintext-auth",
    ]);
    assert_eq!(plain.ok_records().len(), 5);
}

#[test]
fn mark_seen_move_to_and_delete_act_only_on_what_was_written() {
    let stack = mailstack::shared();
    let big = {
        let mut m = bounce("big", 0);
        m.extend(std::iter::repeat_n(b'x', 20_000));
        m.extend_from_slice(b"\r\n");
        m
    };
    let with_big = |tag: &str| {
        let mut v = bounces(tag, 0..10);
        v.insert(3, big.clone());
        v
    };
    let sb = Sandbox::new();
    password_file(&sb, stack);

    // --mark-seen: the ten read are seen; the one over --max-size is neither read nor touched.
    stack.fill(BOUNCES, "fetch-mark-seen", with_big("seen"));
    let args = imaps_args(stack, "fetch-mark-seen");
    let records = run(&sb, &args, &["--mark-seen", "--max-size", "8K"]).ok_records();
    assert_eq!(uids(&records), (1..=11).collect::<Vec<_>>());
    check(
        "the message over --max-size",
        &records[3],
        &[
            ("uid", is(4)),
            ("size", is(big.len())),
            ("raw_base64", missing()),
            ("error", line_with(&["--max-size", "left unread"])),
        ],
    );
    let flags = stack.seen_flags(BOUNCES, "fetch-mark-seen");
    let seen: Vec<u32> = flags.iter().filter(|f| f.1).map(|f| f.0).collect();
    assert_eq!(seen, vec![1, 2, 3, 5, 6, 7, 8, 9, 10, 11]);

    // --move-to: only what was written moves; the big one stays where it was.
    stack.fill(BOUNCES, "fetch-move-from", with_big("move"));
    stack.fill(BOUNCES, "fetch-move-to", Vec::<Vec<u8>>::new());
    let args = imaps_args(stack, "fetch-move-from");
    let records = run(
        &sb,
        &args,
        &["--move-to", "fetch-move-to", "--max-size", "8K"],
    )
    .ok_records();
    assert_eq!(records.len(), 11);
    assert_eq!(
        stack.seen_flags(BOUNCES, "fetch-move-from"),
        vec![(4, false)]
    );
    let moved = stack.seen_flags(BOUNCES, "fetch-move-to");
    assert_eq!(moved.len(), 10);
    assert!(moved.iter().all(|f| !f.1), "moving marked messages seen");

    // A folder that does not exist: a clean error before anything is read.
    stack.fill(BOUNCES, "fetch-move-nowhere", bounces("nowhere", 0..3));
    let args = imaps_args(stack, "fetch-move-nowhere");
    let failed = run(&sb, &args, &["--move-to", "fetch-no-such-folder"]);
    assert_clean_failure(&failed, &["fetch-no-such-folder"]);
    assert_eq!(stack.seen_flags(BOUNCES, "fetch-move-nowhere").len(), 3);

    // --delete with --limit: exactly the four written are gone.
    stack.fill(BOUNCES, "fetch-delete", with_big("delete"));
    let args = imaps_args(stack, "fetch-delete");
    let records = run(
        &sb,
        &args,
        &["--delete", "--limit", "4", "--max-size", "8K"],
    )
    .ok_records();
    assert_eq!(uids(&records), vec![1, 2, 3, 4]);
    let left: Vec<u32> = stack
        .seen_flags(BOUNCES, "fetch-delete")
        .iter()
        .map(|f| f.0)
        .collect();
    assert_eq!(
        left,
        vec![4, 5, 6, 7, 8, 9, 10, 11],
        "deleted more or less than written"
    );
}

#[test]
fn a_recreated_mailbox_is_announced_and_read_from_the_start() {
    let stack = mailstack::shared();
    let mailbox = "fetch-uidvalidity";
    stack.fill(BOUNCES, mailbox, bounces("before", 0..3));
    let sb = Sandbox::new();
    password_file(&sb, stack);
    let args = imaps_args(stack, mailbox);
    let before = run(&sb, &args, &[]).ok_records();
    assert_eq!(before.len(), 3);

    stack.recreate(BOUNCES, mailbox);
    stack.append(BOUNCES, mailbox, bounces("after", 0..2));
    let after = run(&sb, &args, &[]);
    let records = after.ok_records();
    assert_eq!(
        uids(&records),
        vec![1, 2],
        "the new mailbox was not read from its start"
    );
    assert_ne!(records[0]["uidvalidity"], before[0]["uidvalidity"]);
    assert_eq!(raw(&records[0]), bounce("after", 0));
    assert!(
        after.stderr.contains("UIDVALIDITY changed"),
        "{}",
        after.stderr
    );
    // Said once: the new UIDVALIDITY is remembered.
    let again = run(&sb, &args, &[]);
    assert!(again.ok_records().is_empty());
    assert!(
        !again.stderr.contains("UIDVALIDITY changed"),
        "{}",
        again.stderr
    );
}

#[test]
fn tls_with_another_ca_a_wrong_password_a_missing_mailbox_and_a_refused_connection_fail_cleanly() {
    let stack = mailstack::shared();
    let mailbox = "fetch-failures";
    stack.fill(BOUNCES, mailbox, bounces("fail", 0..2));
    let sb = Sandbox::new();
    password_file(&sb, stack);
    let url = format!("imaps://{BOUNCES}@127.0.0.1:{}/{mailbox}", stack.imaps_port);
    let other = stack.other_ca_file.display().to_string();
    let base = [
        "fetch-bounces",
        "--imap",
        &url,
        "--password-file",
        "pw",
        "--db",
        "store.db",
    ];
    let with =
        |more: &[&str]| -> Vec<String> { base.iter().chain(more).map(|s| s.to_string()).collect() };

    let wrong_ca = run(&sb, &with(&["--ca-file", &other]), &[]);
    assert_clean_failure(
        &wrong_ca,
        &["TLS", "certificate", "not signed by the CA of --ca-file"],
    );

    sb.write("bad-pw", b"not-the-password\n");
    let ca = stack.ca_file.display().to_string();
    let mut bad = with(&["--ca-file", &ca]);
    bad[4] = "bad-pw".into();
    let wrong_password = run(&sb, &bad, &[]);
    assert_clean_failure(
        &wrong_password,
        &["login as bounces", "Authentication failed"],
    );
    assert!(!wrong_password.stderr.contains("not-the-password"));

    let missing_url = format!(
        "imaps://{BOUNCES}@127.0.0.1:{}/fetch-no-such-mailbox",
        stack.imaps_port
    );
    let mut missing = with(&["--ca-file", &ca]);
    missing[2] = missing_url;
    assert_clean_failure(
        &run(&sb, &missing, &[]),
        &["fetch-no-such-mailbox", "exist"],
    );

    // Port 1: nothing listens there.
    let mut refused = with(&["--ca-file", &ca]);
    refused[2] = format!("imaps://{BOUNCES}@127.0.0.1:1/{mailbox}");
    assert_clean_failure(
        &run(&sb, &refused, &[]),
        &["cannot connect", "127.0.0.1:1", "refused"],
    );

    // None of them remembered anything: the first good run gets every message.
    let good = run(&sb, &with(&["--ca-file", &ca]), &[]).ok_records();
    assert_eq!(uids(&good), vec![1, 2]);
}

/// Regression: `-o FILE` was emptied before connecting, so a failed run lost the records of
/// the previous one, whose position had already moved on.
#[test]
fn a_run_that_cannot_connect_leaves_the_output_file_as_it_was() {
    let sb = Sandbox::new();
    sb.write("pw", b"secret\n");
    let before = "{\"source\":\"imaps://bounces@127.0.0.1/INBOX;UIDVALIDITY=1;UID=7\"}\n";
    sb.write("fetched.jsonl", before.as_bytes());
    // Port 1: nothing listens there.
    let run = sb.run(&[
        "fetch-bounces",
        "--imap",
        "imaps://bounces@127.0.0.1:1/INBOX",
        "--password-file",
        "pw",
        "--state",
        "state.json",
        "-o",
        "fetched.jsonl",
    ]);
    assert_clean_failure(&run, &["cannot connect", "127.0.0.1:1"]);
    assert_eq!(
        std::fs::read_to_string(sb.path().join("fetched.jsonl")).unwrap(),
        before
    );
}

#[test]
fn since_narrows_a_run_by_arrival_date() {
    let stack = mailstack::shared();
    let mailbox = "fetch-since";
    stack.fill(BOUNCES, mailbox, bounces("since", 0..3));
    let sb = Sandbox::new();
    password_file(&sb, stack);
    let args = imaps_args(stack, mailbox);
    let day = |days: i64| {
        (chrono::Utc::now() + chrono::Duration::days(days))
            .format("%Y-%m-%d")
            .to_string()
    };
    // Appended just now: nothing arrived from the day after tomorrow on...
    let later = run(&sb, &args, &["--since", &day(2)]).ok_records();
    assert!(later.is_empty(), "{later:?}");
    // ...and everything since yesterday, the position not having moved.
    let recent = run(&sb, &args, &["--since", &day(-1)]).ok_records();
    assert_eq!(uids(&recent), vec![1, 2, 3]);
    run(&sb, &args, &["--since", "2026-02-30"]).assert_code(2);
}

/// What `--since` does to the position (its help says it): older messages below the newest
/// one written are left behind for good, older ones above it are read by the next run, and
/// `--all` brings back the ones left behind.
#[test]
fn since_leaves_older_messages_below_the_newest_written_behind_the_position() {
    let stack = mailstack::shared();
    let mailbox = "fetch-since-behind";
    stack.fill(BOUNCES, mailbox, Vec::<Vec<u8>>::new());
    let old = chrono::DateTime::parse_from_rfc3339("2020-01-01T10:00:00+00:00").unwrap();
    let now = chrono::Utc::now().fixed_offset();
    let mut session = stack.imap_plain(BOUNCES).expect("IMAP login");
    // UIDs 1 to 5: old, new, old, new, old.
    for (n, date) in [old, now, old, now, old].into_iter().enumerate() {
        session
            .append(mailbox, &bounce("behind", n))
            .internal_date(date)
            .finish()
            .expect("APPEND with a date");
    }
    let _ = session.logout();
    let sb = Sandbox::new();
    password_file(&sb, stack);
    let mut args = imaps_args(stack, mailbox);
    let n = args.len();
    args.splice(n - 2.., ["--state".to_string(), "state.json".to_string()]);
    let last_uid = || -> Value {
        let state: Value =
            serde_json::from_slice(&std::fs::read(sb.path().join("state.json")).unwrap()).unwrap();
        state["mailboxes"][0]["last_uid"].clone()
    };
    let yesterday = (chrono::Utc::now() - chrono::Duration::days(1))
        .format("%Y-%m-%d")
        .to_string();

    let recent = run(&sb, &args, &["--since", &yesterday]).ok_records();
    assert_eq!(uids(&recent), vec![2, 4]);
    assert_eq!(last_uid(), 4, "the position is the newest message written");
    // UIDs 1 and 3 are behind it now; 5, older but above it, comes next.
    let next = run(&sb, &args, &[]).ok_records();
    assert_eq!(uids(&next), vec![5]);
    assert_eq!(last_uid(), 5);
    assert!(run(&sb, &args, &[]).ok_records().is_empty());
    // --all reads them again, without moving the position back.
    let all = run(&sb, &args, &["--all"]).ok_records();
    assert_eq!(uids(&all), vec![1, 2, 3, 4, 5]);
    assert_eq!(last_uid(), 5);
}

#[test]
fn a_maildir_gets_one_file_per_message_and_the_same_names_again() {
    let stack = mailstack::shared();
    let mailbox = "fetch-maildir";
    let sent = bounces("maildir", 0..4);
    stack.fill(BOUNCES, mailbox, sent.clone());
    let sb = Sandbox::new();
    password_file(&sb, stack);
    let args = imaps_args(stack, mailbox);
    let run1 = run(&sb, &args, &["--maildir", "md", "--no-output"]);
    assert!(run1.ok_records().is_empty(), "--no-output wrote records");
    let files = |dir: &str| -> BTreeSet<String> {
        std::fs::read_dir(sb.path().join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    let names = files("md/new");
    assert_eq!(names.len(), 4);
    assert!(files("md/tmp").is_empty() && files("md/cur").is_empty());
    let contents: BTreeSet<Vec<u8>> = names
        .iter()
        .map(|n| std::fs::read(sb.path().join("md/new").join(n)).unwrap())
        .collect();
    assert_eq!(contents, sent.into_iter().collect());
    // Everything again (--all), with records too: the files are replaced, not duplicated.
    let records = run(&sb, &args, &["--maildir", "md", "--all"]).ok_records();
    assert_eq!(records.len(), 4);
    assert_eq!(files("md/new"), names);
    // classify reads the Maildir as well as the records.
    let from_maildir = sb.run(&["classify", "md"]).ok_records();
    assert_eq!(from_maildir.len(), 4);
    assert!(from_maildir.iter().all(|r| r["kind"] == "hard"));
}

#[test]
fn watch_polls_again_and_stops_cleanly_on_sigterm() {
    watch_then_stop_with("TERM", "fetch-watch");
}

/// Ctrl-C on a terminal: the same clean stop as SIGTERM.
#[test]
fn watch_stops_cleanly_on_sigint() {
    watch_then_stop_with("INT", "fetch-watch-int");
}

/// Runs `--watch 1s` on `mailbox`, sees it pick up new mail, then sends it SIG`signal` and
/// checks it stops by itself, exit 0, with every record written once.
fn watch_then_stop_with(signal: &str, mailbox: &str) {
    let stack = mailstack::shared();
    stack.fill(BOUNCES, mailbox, bounces("watch", 0..3));
    let sb = Sandbox::new();
    password_file(&sb, stack);
    let mut args = imaps_args(stack, mailbox);
    args.extend([
        "--watch".into(),
        "1s".into(),
        "-o".into(),
        "out.jsonl".into(),
    ]);
    let mut child = Command::new(BIN)
        .args(&args)
        .env_clear()
        .current_dir(sb.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start fetch-bounces --watch");
    let lines = || {
        std::fs::read_to_string(sb.path().join("out.jsonl"))
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    let wait_for = |n: usize, child: &mut std::process::Child| {
        let deadline = Instant::now() + Duration::from_secs(30);
        while lines() < n {
            if let Some(status) = child.try_wait().unwrap() {
                panic!("--watch ended by itself: {status}");
            }
            assert!(Instant::now() < deadline, "no {n} records after 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_for(3, &mut child);
    stack.append(BOUNCES, mailbox, bounces("watch", 3..5));
    wait_for(5, &mut child);
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "--watch did not stop on SIG{signal}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(exit.code(), Some(0), "{stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(lines(), 5, "records written twice or lost");
}

/// Runs `sh -c SCRIPT` in the sandbox (for real pipes between bouncekit processes).
fn shell(sb: &Sandbox, script: &str, env: &[(&str, &str)]) -> (i32, String) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("BK", BIN)
        .envs(env.iter().copied())
        .current_dir(sb.path())
        .output()
        .expect("run sh");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (out.status.code().unwrap_or(-1), stderr)
}

/// The store's events: (how many, how many distinct recipients, how many bounced).
fn store_counts(sb: &Sandbox) -> (i64, i64, i64) {
    let db = rusqlite::Connection::open(sb.path().join("store.db")).unwrap();
    let events: (i64, i64) = db
        .query_row(
            "SELECT count(*), count(DISTINCT recipient) FROM events",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let bounced: i64 = db
        .query_row(
            "SELECT count(*) FROM recipients WHERE state = 'bounced'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    (events.0, events.1, bounced)
}

#[test]
fn the_server_killed_mid_fetch_then_a_rerun_puts_every_bounce_in_the_store_once() {
    // A stack of its own: its Dovecot is killed.
    let stack = MailStack::start().unwrap_or_else(|e| panic!("{e}"));
    let mailbox = "fetch-killed";
    let total = 1000;
    stack.fill(BOUNCES, mailbox, bounces("killed", 0..total));
    let sb = Sandbox::new();
    password_file(&sb, &stack);
    let mut args = imaps_args(&stack, mailbox);
    args.extend(["--batch".into(), "100".into()]);

    // The test reads the records itself, slowly: once it has 150, fetch-bounces is blocked
    // on a full pipe in the middle of the mailbox, and the server dies under it.
    let mut child = Command::new(BIN)
        .args(&args)
        .env_clear()
        .current_dir(sb.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start fetch-bounces");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = Vec::new();
    let mut line = String::new();
    while first.len() < 150 {
        line.clear();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "fetch-bounces ended early"
        );
        first.push(line.clone());
    }
    stack.kill_dovecot();
    loop {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        first.push(line.clone());
    }
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(1), "killed server, yet: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        first.len() < total,
        "the whole mailbox came before the kill"
    );
    assert!(
        first.iter().all(|l| l.ends_with("}\n")),
        "a truncated record"
    );
    sb.write("first.jsonl", first.concat().as_bytes());
    let (code, err) = shell(
        &sb,
        "\"$BK\" classify first.jsonl | \"$BK\" suppress add --db store.db",
        &[],
    );
    assert_eq!(code, 0, "{err}");

    stack.start_dovecot();
    let fetch: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
    let script = format!(
        "set -e; \"$BK\" {} | \"$BK\" classify | \"$BK\" suppress add --db store.db",
        fetch.join(" ")
    );
    let (code, err) = shell(&sb, &script, &[]);
    assert_eq!(code, 0, "{err}");
    let (events, recipients, bounced) = store_counts(&sb);
    assert_eq!(
        (events, recipients, bounced),
        (total as i64, total as i64, total as i64),
        "every bounce exactly once in the store\n{err}"
    );
    let flags = stack.seen_flags(BOUNCES, mailbox);
    assert!(flags.len() == total && flags.iter().all(|f| !f.1));
}

#[test]
fn the_whole_chain_fetch_classify_suppress_add_in_one_pipe() {
    let stack = mailstack::shared();
    // A real Postfix report: mail to an unknown user, returned to bounces@.
    let envid = "fetch-chain";
    let to = stack.address("fetch-chain-nobody");
    let mut smtp = stack.smtp();
    assert_eq!(smtp.mail_from(&stack.address(BOUNCES), envid).code, 250);
    assert_eq!(smtp.rcpt_to(&to, "FAILURE").code, 250);
    let message = format!(
        "From: <{}>\r\nTo: <{to}>\r\nSubject: chain\r\nMessage-ID: <fetch-chain@bouncekit.test>\r\n\r\nhello\r\n",
        stack.address(BOUNCES)
    );
    assert_eq!(smtp.data(message.as_bytes()).code, 250);
    smtp.quit();
    stack.wait_for_report(envid);

    let sb = Sandbox::new();
    let url = format!("imaps://{BOUNCES}@127.0.0.1:{}/INBOX", stack.imaps_port);
    let ca = stack.ca_file.display().to_string();
    let pw = stack.password(BOUNCES);
    let script = format!(
        "set -e; \"$BK\" fetch-bounces --imap '{url}' --ca-file '{ca}' --password-env PW --db store.db \
         | \"$BK\" classify --own-domain bouncekit.test \
         | \"$BK\" suppress add --db store.db"
    );
    let (code, err) = shell(&sb, &script, &[("PW", pw)]);
    assert_eq!(code, 0, "{err}");
    let show = sb.run(&[
        "suppress", "show", &to, "--db", "store.db", "--format", "jsonl",
    ]);
    let shown = show.ok_records();
    let record = single(&shown);
    assert_eq!(record["state"], "bounced", "{record}");
    assert!(
        record.to_string().contains(&format!(
            "imaps://{BOUNCES}@127.0.0.1:{}/INBOX;UIDVALIDITY=",
            stack.imaps_port
        )),
        "the event does not keep the IMAP source: {record}"
    );
    // Run again: nothing new is fetched, so nothing changes.
    let (code, err) = shell(&sb, &script, &[("PW", pw)]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("0 messages written"), "{err}");
}

#[test]
fn help_has_examples_and_a_password_on_the_command_line_is_refused() {
    let sb = Sandbox::new();
    let help = sb.run(&["fetch-bounces", "--help"]);
    help.assert_code(0);
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(
        text.contains("Examples:") && text.contains("--password-env"),
        "{text}"
    );
    let url_password = sb.run(&[
        "fetch-bounces",
        "--imap",
        "imaps://u:secret@h/INBOX",
        "--password-env",
        "X",
    ]);
    url_password.assert_code(2);
    assert!(
        url_password.stderr.contains("--password-env"),
        "{}",
        url_password.stderr
    );
    // No password source at all is a usage error too.
    sb.run(&["fetch-bounces", "--imap", "imaps://u@h/INBOX"])
        .assert_code(2);
}

/// Regression: these were found after parsing and exited 1, like a server failure.
#[test]
fn contradictions_clap_cannot_see_are_usage_errors_too() {
    let sb = Sandbox::new();
    for (args, says) in [
        (
            &["--imap", "imaps://u@127.0.0.1:1/INBOX", "--user", "v"][..],
            "the user is given twice",
        ),
        (&["--imap", "imaps://127.0.0.1:1/INBOX"][..], "no user"),
        (
            &[
                "--imap",
                "imaps://u@127.0.0.1:1/INBOX",
                "--no-starttls",
                "--allow-plaintext-auth",
            ][..],
            "--no-starttls makes no sense with imaps://",
        ),
    ] {
        let mut all = vec!["fetch-bounces", "--password-env", "PW", "--state", "s.json"];
        all.extend_from_slice(args);
        let run = sb.run_env(&all, &[("PW", "secret")]);
        run.assert_code(2);
        assert!(
            run.stderr.starts_with("bouncekit: fetch-bounces: ") && run.stderr.contains(says),
            "{}",
            run.stderr
        );
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(
            !sb.path().join("s.json").exists(),
            "a usage error touched the state"
        );
    }
}
