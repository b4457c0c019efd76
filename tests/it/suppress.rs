//! Integration tests of `bouncekit suppress`: every rule of the store through the binary,
//! idempotence, concurrent and interrupted runs, and list cleaning that keeps rows intact.

use std::fmt::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::*;

/// One event record as `classify` writes it (the fields `suppress add` reads).
fn event(recipient: &str, kind: &str, reason: &str, date: &str, source: &str) -> String {
    let mut line = json!({
        "source": source,
        "message_id": format!("<{source}@mx.example.net>"),
        "date": date,
        "recipient": recipient,
        "kind": kind,
        "reason": reason,
        "status": null,
        "smtp_code": null,
        "diagnostic": format!("{kind} {reason}"),
        "format": "rfc3464",
    })
    .to_string();
    line.push('\n');
    line
}

/// Events for one address, a day apart, as one JSONL text.
fn history(recipient: &str, kinds: &[(&str, &str)]) -> String {
    kinds
        .iter()
        .enumerate()
        .map(|(i, (kind, reason))| {
            event(
                recipient,
                kind,
                reason,
                &format!("2026-05-{:02}T10:00:00Z", i + 1),
                &format!("{recipient}-{i}"),
            )
        })
        .collect()
}

/// Runs `bouncekit suppress --db store.db ARGS`.
fn suppress(sb: &Sandbox, args: &[&str]) -> Run {
    let mut all = vec!["suppress", "--db", "store.db"];
    all.extend_from_slice(args);
    sb.run(&all)
}

fn suppress_stdin(sb: &Sandbox, args: &[&str], stdin: &[u8]) -> Run {
    let mut all = vec!["suppress", "--db", "store.db"];
    all.extend_from_slice(args);
    sb.run_with_stdin(&all, stdin)
}

/// The store's view of one address (`suppress show --format jsonl`).
fn shown(sb: &Sandbox, address: &str) -> Value {
    let run = suppress(sb, &["show", "--format", "jsonl", address]);
    single(&run.ok_records()).clone()
}

fn state_of(sb: &Sandbox, address: &str) -> String {
    text(&shown(sb, address), "state").to_string()
}

/// Adds the events in `jsonl` (written to a file) and returns the run.
fn add(sb: &Sandbox, file: &str, jsonl: &str, extra: &[&str]) -> Run {
    sb.write(file, jsonl.as_bytes());
    let mut args = vec!["add"];
    args.extend_from_slice(extra);
    args.push(file);
    let run = suppress(sb, &args);
    run.assert_code(0);
    run
}

// ---------------------------------------------------------------------------------------------
// The rules
// ---------------------------------------------------------------------------------------------

#[test]
fn hard_bounce_makes_the_address_bounced_with_its_reason() {
    let sb = Sandbox::new();
    add(
        &sb,
        "e.jsonl",
        &history("Jan@Example.org", &[("hard", "user_unknown")]),
        &[],
    );
    let jan = shown(&sb, "jan@example.org");
    check(
        "jan",
        &jan,
        &[
            ("email", is("Jan@example.org")),
            ("state", is("bounced")),
            ("reason", is("user_unknown")),
            ("bounces", is(1)),
            ("sendable", is(false)),
        ],
    );
    assert_eq!(jan["events"].as_array().unwrap().len(), 1);
}

#[test]
fn soft_bounces_below_the_limit_then_delivery_make_it_active_with_no_streak() {
    let sb = Sandbox::new();
    let mut kinds = vec![("soft", "mailbox_full"); 4];
    kinds.push(("delivered", "delivered"));
    add(&sb, "e.jsonl", &history("ola@example.org", &kinds), &[]);
    let ola = shown(&sb, "ola@example.org");
    check(
        "ola",
        &ola,
        &[
            ("state", is("active")),
            ("soft_streak", is(0)),
            ("bounces", is(4)),
        ],
    );
}

#[test]
fn the_soft_limit_of_consecutive_soft_bounces_bounces_the_address() {
    let sb = Sandbox::new();
    add(
        &sb,
        "e.jsonl",
        &history("full@example.org", &[("soft", "mailbox_full"); 5]),
        &[],
    );
    assert_eq!(state_of(&sb, "full@example.org"), "bounced");
    // A lower limit given on the command line, and one kept in the store.
    add(
        &sb,
        "f.jsonl",
        &history("two@example.org", &[("soft", "mailbox_full"); 2]),
        &["--soft-limit", "2"],
    );
    assert_eq!(state_of(&sb, "two@example.org"), "bounced");
    suppress(&sb, &["config", "soft-limit", "3"]).assert_code(0);
    add(
        &sb,
        "g.jsonl",
        &history("three@example.org", &[("soft", "mailbox_full"); 3]),
        &[],
    );
    assert_eq!(state_of(&sb, "three@example.org"), "bounced");
    let config = suppress(&sb, &["config"]);
    assert_eq!(String::from_utf8_lossy(&config.stdout), "soft-limit = 3\n");
}

#[test]
fn a_soft_streak_older_than_the_window_starts_again() {
    let sb = Sandbox::new();
    let jsonl = [
        event(
            "w@example.org",
            "soft",
            "mailbox_full",
            "2026-01-01T00:00:00Z",
            "a",
        ),
        event(
            "w@example.org",
            "soft",
            "mailbox_full",
            "2026-03-01T00:00:00Z",
            "b",
        ),
        event(
            "w@example.org",
            "soft",
            "mailbox_full",
            "2026-03-02T00:00:00Z",
            "c",
        ),
    ]
    .concat();
    add(
        &sb,
        "e.jsonl",
        &jsonl,
        &["--soft-limit", "3", "--soft-window", "30"],
    );
    let w = shown(&sb, "w@example.org");
    check(
        "w",
        &w,
        &[("state", is("soft_bouncing")), ("soft_streak", is(2))],
    );
    // The window kept in the store applies to every later run; a command-line value wins.
    suppress(&sb, &["config", "soft-window", "30"]).assert_code(0);
    suppress(&sb, &["config", "soft-limit", "3"]).assert_code(0);
    let renamed = jsonl.replace("w@example.org", "v@example.org");
    add(&sb, "v.jsonl", &renamed, &[]);
    check(
        "v",
        &shown(&sb, "v@example.org"),
        &[("state", is("soft_bouncing")), ("soft_streak", is(2))],
    );
    let renamed = jsonl.replace("w@example.org", "u@example.org");
    add(&sb, "u.jsonl", &renamed, &["--soft-window", "100"]);
    assert_eq!(state_of(&sb, "u@example.org"), "bounced");
}

#[test]
fn addresses_are_one_whatever_their_case_brackets_or_idna_form() {
    let sb = Sandbox::new();
    add(
        &sb,
        "e.jsonl",
        &history("Jan.Novak@BÜCHER.example", &[("hard", "user_unknown")]),
        &[],
    );
    for form in [
        "jan.novak@bücher.example",
        "JAN.NOVAK@xn--bcher-kva.example",
        "<jan.novak@Bücher.Example>",
        "mailto:jan.novak@bücher.example",
    ] {
        assert_eq!(state_of(&sb, form), "bounced", "{form}");
    }
    // Kept as first written, the domain in its ASCII form.
    assert_eq!(
        text(&shown(&sb, "jan.novak@bücher.example"), "email"),
        "Jan.Novak@xn--bcher-kva.example"
    );
    sb.write(
        "list.csv",
        "email,n\n jan.novak@BÜCHER.example ,1\n<JAN.NOVAK@xn--bcher-kva.example>,2\nok@bücher.example,3\n"
            .as_bytes(),
    );
    let clean = suppress(&sb, &["filter", "list.csv"]);
    clean.assert_code(0);
    assert_eq!(
        String::from_utf8_lossy(&clean.stdout),
        "email,n\nok@bücher.example,3\n"
    );
}

#[test]
fn blocks_and_delays_never_count_against_an_address_and_autoreplies_are_proof_of_life() {
    let sb = Sandbox::new();
    let mut jsonl = history(
        "blocked@example.org",
        &[
            ("block", "blocked"),
            ("delay", "expired"),
            ("block", "bad_reputation"),
        ],
    );
    jsonl.push_str(&history("away@example.org", &[("autoreply", "autoreply")]));
    jsonl.push_str(&history("reader@example.org", &[("read", "read")]));
    add(&sb, "e.jsonl", &jsonl, &[]);
    let blocked = shown(&sb, "blocked@example.org");
    check(
        "blocked",
        &blocked,
        &[
            ("state", is("unknown")),
            ("bounces", is(0)),
            ("sendable", is(true)),
        ],
    );
    assert_eq!(
        blocked["events"].as_array().unwrap().len(),
        3,
        "kept, not counted"
    );
    assert_eq!(state_of(&sb, "away@example.org"), "active");
    assert_eq!(state_of(&sb, "reader@example.org"), "active");
}

#[test]
fn failed_send_log_records_ingest_as_bounces_and_others_are_ignored() {
    let sb = Sandbox::new();
    let log = [
        json!({"recipient": "gone@example.org", "message_id": "<m1@example.com>", "status": "failed",
               "smtp_code": 550, "enhanced_status": "5.1.1", "response": "550 5.1.1 no such user",
               "kind": "hard", "reason": "user_unknown", "attempts": 1, "time": "2026-05-01T10:00:00Z"}),
        json!({"recipient": "ok@example.org", "message_id": "<m2@example.com>", "status": "sent",
               "smtp_code": 250, "attempts": 1, "time": "2026-05-01T10:00:01Z"}),
        json!({"recipient": "later@example.org", "message_id": "<m3@example.com>", "status": "deferred",
               "smtp_code": 452, "kind": "soft", "reason": "mailbox_full", "time": "2026-05-01T10:00:02Z"}),
    ]
    .iter()
    .map(|v| format!("{v}\n"))
    .collect::<String>();
    let run = add(&sb, "sent.jsonl", &log, &[]);
    assert!(run.stderr.contains("1 new events"), "{}", run.stderr);
    assert!(run.stderr.contains("2 ignored"), "{}", run.stderr);
    let gone = shown(&sb, "gone@example.org");
    check(
        "gone",
        &gone,
        &[("state", is("bounced")), ("reason", is("user_unknown"))],
    );
    assert_eq!(gone["events"][0]["origin"], "send");
    assert_eq!(state_of(&sb, "ok@example.org"), "unknown");
}

#[test]
fn changes_are_written_as_records_in_input_order() {
    let sb = Sandbox::new();
    let jsonl = [
        event(
            "z@example.org",
            "hard",
            "user_unknown",
            "2026-05-01T10:00:00Z",
            "1",
        ),
        event(
            "a@example.org",
            "complaint",
            "complaint",
            "2026-05-01T10:00:01Z",
            "2",
        ),
        event(
            "m@example.org",
            "block",
            "blocked",
            "2026-05-01T10:00:02Z",
            "3",
        ),
    ]
    .concat();
    sb.write("e.jsonl", jsonl.as_bytes());
    let changes = suppress(&sb, &["add", "--changes", "e.jsonl"]).ok_records();
    assert_eq!(changes.len(), 2, "{changes:?}");
    check(
        "first change",
        &changes[0],
        &[
            ("email", is("z@example.org")),
            ("from", is("unknown")),
            ("to", is("bounced")),
            ("reason", is("user_unknown")),
            ("time", is("2026-05-01T10:00:00Z")),
            ("event", is("hard")),
        ],
    );
    assert_eq!(changes[1]["to"], "complained");
}

// ---------------------------------------------------------------------------------------------
// Consent, decisions by hand
// ---------------------------------------------------------------------------------------------

#[test]
fn unsubscribes_and_complaints_survive_delete_and_reimport() {
    let sb = Sandbox::new();
    let mut jsonl = history("unsub@example.org", &[("unsubscribe", "unsubscribe")]);
    jsonl.push_str(&history("angry@example.org", &[("complaint", "complaint")]));
    jsonl.push_str(&history("plain@example.org", &[("hard", "user_unknown")]));
    add(&sb, "e.jsonl", &jsonl, &[]);
    let deleted = suppress(
        &sb,
        &[
            "delete",
            "unsub@example.org",
            "angry@example.org",
            "plain@example.org",
        ],
    );
    deleted.assert_code(0);
    assert!(deleted.stderr.contains("tombstone"), "{}", deleted.stderr);
    // The tombstone is what `show` and `filter` see now.
    assert_eq!(state_of(&sb, "unsub@example.org"), "unsubscribed");
    assert_eq!(state_of(&sb, "plain@example.org"), "unknown");
    // A CRM re-import as merely inactive, and new mail from them, change nothing.
    sb.write(
        "crm.csv",
        b"Email,Name\nunsub@example.org,U\nangry@example.org,A\nplain@example.org,P\n",
    );
    suppress(&sb, &["import", "crm.csv", "--state", "inactive"]).assert_code(0);
    add(
        &sb,
        "f.jsonl",
        &history("unsub@example.org", &[("delivered", "delivered")]),
        &[],
    );
    assert_eq!(state_of(&sb, "unsub@example.org"), "unsubscribed");
    assert_eq!(state_of(&sb, "angry@example.org"), "complained");
    assert_eq!(state_of(&sb, "plain@example.org"), "inactive");
    sb.write(
        "list.csv",
        b"email\nunsub@example.org\nangry@example.org\nnew@example.org\n",
    );
    let clean = suppress(&sb, &["filter", "list.csv"]);
    clean.assert_code(0);
    assert_eq!(
        String::from_utf8_lossy(&clean.stdout),
        "email\nnew@example.org\n"
    );
    // Only the recipient's own word undoes it (unblock --force, after they asked again);
    // then `show`, `filter` and `send` agree that the address may be mailed.
    suppress(&sb, &["unblock", "--force", "unsub@example.org"]).assert_code(0);
    assert_eq!(state_of(&sb, "unsub@example.org"), "unknown");
    let clean = suppress(&sb, &["filter", "list.csv"]);
    assert_eq!(
        String::from_utf8_lossy(&clean.stdout),
        "email\nunsub@example.org\nnew@example.org\n"
    );
}

#[test]
fn unblock_refuses_consent_without_force_and_clears_a_bounce_mark() {
    let sb = Sandbox::new();
    let mut jsonl = history("unsub@example.org", &[("unsubscribe", "unsubscribe")]);
    jsonl.push_str(&history("typo@example.org", &[("hard", "user_unknown")]));
    add(&sb, "e.jsonl", &jsonl, &[]);
    let refused = suppress(&sb, &["unblock", "unsub@example.org"]);
    refused.assert_code(1);
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    assert_eq!(state_of(&sb, "unsub@example.org"), "unsubscribed");
    suppress(
        &sb,
        &[
            "unblock",
            "--force",
            "unsub@example.org",
            "--reason",
            "asked again",
        ],
    )
    .assert_code(0);
    assert_eq!(state_of(&sb, "unsub@example.org"), "unknown");
    suppress(
        &sb,
        &["unblock", "typo@example.org", "--reason", "mailbox fixed"],
    )
    .assert_code(0);
    let typo = shown(&sb, "typo@example.org");
    check(
        "typo",
        &typo,
        &[("state", is("unknown")), ("reason", is("mailbox fixed"))],
    );
    let events = typo["events"].as_array().unwrap();
    assert_eq!(events.last().unwrap()["event"], "unblock");
    assert_eq!(events.last().unwrap()["origin"], "hand");
    // An address with no mark to clear keeps its state: unblocking never demotes an address
    // that proved to be alive.
    add(
        &sb,
        "alive.jsonl",
        &history("alive@example.org", &[("delivered", "delivered")]),
        &[],
    );
    suppress(&sb, &["unblock", "alive@example.org"]).assert_code(0);
    assert_eq!(state_of(&sb, "alive@example.org"), "active");
}

#[test]
fn block_inactive_and_activate_by_hand() {
    let sb = Sandbox::new();
    suppress(
        &sb,
        &["block", "a@example.org", "--reason", "asked by phone"],
    )
    .assert_code(0);
    suppress(&sb, &["inactive", "b@example.org"]).assert_code(0);
    assert_eq!(state_of(&sb, "a@example.org"), "bounced");
    assert_eq!(state_of(&sb, "b@example.org"), "inactive");
    suppress(&sb, &["activate", "b@example.org"]).assert_code(0);
    assert_eq!(state_of(&sb, "b@example.org"), "active");
    suppress(&sb, &["block", "not an address"]).assert_code(2);
}

// ---------------------------------------------------------------------------------------------
// Idempotence, concurrency, interruption
// ---------------------------------------------------------------------------------------------

/// `n` events over `n / 4` addresses: hard, soft, delivered and block in turn.
fn many_events(n: usize) -> String {
    let kinds = [
        ("hard", "user_unknown"),
        ("soft", "mailbox_full"),
        ("delivered", "delivered"),
        ("block", "blocked"),
    ];
    let mut out = String::with_capacity(n * 250);
    for i in 0..n {
        let (kind, reason) = kinds[i % 4];
        let _ = write!(
            out,
            "{}",
            event(
                &format!("user{}@domain{}.example", i % (n / 4), i % 7),
                kind,
                reason,
                &format!(
                    "2026-05-01T{:02}:{:02}:{:02}Z",
                    (i / 3600) % 24,
                    (i / 60) % 60,
                    i % 60
                ),
                &format!("r{i}"),
            )
        );
    }
    out
}

fn export(sb: &Sandbox) -> String {
    let run = suppress(sb, &["export", "--format", "csv"]);
    run.assert_code(0);
    String::from_utf8(run.stdout).unwrap()
}

#[test]
fn ingesting_the_same_file_twice_changes_nothing() {
    let sb = Sandbox::new();
    let jsonl = many_events(400);
    add(&sb, "e.jsonl", &jsonl, &[]);
    let before = export(&sb);
    let again = add(&sb, "e.jsonl", &jsonl, &[]);
    assert!(
        again.stderr.contains("0 new events, 400 duplicates")
            && again.stderr.contains("0 state changes"),
        "{}",
        again.stderr
    );
    assert_eq!(export(&sb), before);
    // The same events as CSV are the same events.
    let csv = csv_of_events(&jsonl);
    let from_csv = add(&sb, "e.csv", &csv, &[]);
    assert!(
        from_csv.stderr.contains("0 new events, 400 duplicates"),
        "{}",
        from_csv.stderr
    );
}

/// The event records of `jsonl` as CSV (the columns `event` writes).
fn csv_of_events(jsonl: &str) -> String {
    let columns = [
        "source",
        "message_id",
        "date",
        "recipient",
        "kind",
        "reason",
        "status",
        "smtp_code",
        "diagnostic",
        "format",
    ];
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(columns).unwrap();
    for line in jsonl.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        w.write_record(columns.iter().map(|c| match &v[*c] {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }))
        .unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

#[test]
fn two_concurrent_adds_of_one_file_lose_nothing_and_count_nothing_twice() {
    let reference = Sandbox::new();
    let jsonl = many_events(20_000);
    add(&reference, "e.jsonl", &jsonl, &[]);
    let expected = export(&reference);

    let sb = Sandbox::new();
    sb.write("e.jsonl", jsonl.as_bytes());
    let spawn = || {
        Command::new(BIN)
            .args(["suppress", "--db", "store.db", "add", "e.jsonl"])
            .current_dir(sb.path())
            .env_clear()
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert!(a.status.success() && b.status.success(), "{a:?}\n{b:?}");
    assert_eq!(export(&sb), expected);
    let again = add(&sb, "e.jsonl", &jsonl, &[]);
    assert!(
        again.stderr.contains("0 new events, 20000 duplicates"),
        "{}",
        again.stderr
    );
}

#[test]
fn a_run_killed_mid_ingest_is_completed_by_a_rerun() {
    let reference = Sandbox::new();
    let jsonl = many_events(60_000);
    add(&reference, "e.jsonl", &jsonl, &[]);
    let expected = export(&reference);

    let sb = Sandbox::new();
    sb.write("e.jsonl", jsonl.as_bytes());
    let mut child = Command::new(BIN)
        .args(["suppress", "--db", "store.db", "add", "e.jsonl"])
        .current_dir(sb.path())
        .env_clear()
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once its first batches are in: the WAL file has grown past the schema.
    let wal = sb.path().join("store.db-wal");
    let started = Instant::now();
    while std::fs::metadata(&wal).map_or(0, |m| m.len()) < 200_000 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed; make the input larger"
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no batch was written"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed, not finished: {status:?}");
    let rerun = add(&sb, "e.jsonl", &jsonl, &[]);
    assert!(!rerun.stderr.contains(" 0 new events"), "{}", rerun.stderr);
    assert_eq!(
        export(&sb),
        expected,
        "the rerun ends where one clean run ends"
    );
    let third = add(&sb, "e.jsonl", &jsonl, &[]);
    assert!(
        third.stderr.contains("0 new events, 60000 duplicates"),
        "{}",
        third.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// filter, import, export
// ---------------------------------------------------------------------------------------------

#[test]
fn filter_keeps_rows_byte_for_byte_and_rejects_with_state_and_reason() {
    let sb = Sandbox::new();
    add(
        &sb,
        "e.jsonl",
        &history("gone@example.org", &[("hard", "user_unknown")]),
        &[],
    );
    let mut list = b"id,\"E-Mail\",note\r\n".to_vec();
    list.extend_from_slice(b"1,jan@example.org,\"says \"\"hi\"\", twice\"\r\n");
    list.extend_from_slice(b"2,GONE@example.org,plain\r\n");
    list.extend_from_slice(b"3,ola@example.org,\"line one\nline two\"\r\n");
    list.extend_from_slice(b"4,Jan@Example.ORG,again\r\n");
    list.extend_from_slice(b"5,not-an-address,x\r\n");
    list.extend_from_slice(b"6,bytes@example.org,caf\xe9 \xff\r\n");
    list.extend_from_slice(b"7,\"=cmd|' /C calc'!A0\",formula\r\n");
    sb.write("list.csv", &list);
    let run = suppress(&sb, &["filter", "list.csv", "--rejected", "dropped.csv"]);
    run.assert_code(0);
    let mut kept = b"id,\"E-Mail\",note\r\n".to_vec();
    kept.extend_from_slice(b"1,jan@example.org,\"says \"\"hi\"\", twice\"\r\n");
    kept.extend_from_slice(b"3,ola@example.org,\"line one\nline two\"\r\n");
    kept.extend_from_slice(b"6,bytes@example.org,caf\xe9 \xff\r\n");
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&kept)
    );
    assert_eq!(run.stdout, kept, "byte for byte");
    let dropped = std::fs::read_to_string(sb.path().join("dropped.csv")).unwrap();
    assert_eq!(
        dropped,
        "id,\"E-Mail\",note,state,reason\r\n\
         2,GONE@example.org,plain,bounced,user_unknown\r\n\
         4,Jan@Example.ORG,again,duplicate,duplicate\r\n\
         5,not-an-address,x,invalid,invalid_address\r\n\
         7,\"=cmd|' /C calc'!A0\",formula,invalid,invalid_address\r\n"
    );
    assert!(run.stderr.contains("7 rows: 3 kept"), "{}", run.stderr);
}

#[test]
fn filter_options_keep_duplicates_keep_invalid_and_name_the_column() {
    let sb = Sandbox::new();
    suppress(&sb, &["config"]).assert_code(0); // creates the store
    sb.write(
        "list.csv",
        b"who,contact\na,x@example.org\nb,X@example.org\nc,nope\n",
    );
    let missing = suppress(&sb, &["filter", "list.csv"]);
    missing.assert_code(1);
    assert!(missing.stderr.contains("--column"), "{}", missing.stderr);
    let all = suppress(
        &sb,
        &[
            "filter",
            "list.csv",
            "--column",
            "contact",
            "--keep-duplicates",
            "--keep-invalid",
        ],
    );
    all.assert_code(0);
    assert_eq!(
        String::from_utf8_lossy(&all.stdout),
        "who,contact\na,x@example.org\nb,X@example.org\nc,nope\n"
    );
}

#[test]
fn filter_reads_jsonl_lists_and_stdin() {
    let sb = Sandbox::new();
    add(
        &sb,
        "e.jsonl",
        &history("gone@example.org", &[("hard", "user_unknown")]),
        &[],
    );
    let list = "{\"email\":\"gone@example.org\",\"n\":1}\n{\"n\":2,\"email\":\"ok@example.org\"}\n";
    let run = suppress_stdin(
        &sb,
        &["filter", "-", "--rejected", "r.jsonl"],
        list.as_bytes(),
    );
    run.assert_code(0);
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "{\"n\":2,\"email\":\"ok@example.org\"}\n"
    );
    let rejected: Value = serde_json::from_str(
        std::fs::read_to_string(sb.path().join("r.jsonl"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    assert_eq!(rejected["state"], "bounced");
    assert_eq!(rejected["n"], 1);
    // A column the records do not have is a mistake in the command, not a list of invalid
    // addresses: nothing is written and the run fails, as with a CSV header.
    let run = suppress_stdin(&sb, &["filter", "-", "--column", "mail"], list.as_bytes());
    run.assert_code(1);
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("\"mail\""), "{}", run.stderr);
}

#[test]
fn filter_without_a_store_is_an_error_not_an_empty_store() {
    let sb = Sandbox::new();
    sb.write("list.csv", b"email\na@example.org\n");
    let run = suppress(&sb, &["filter", "list.csv"]);
    run.assert_code(1);
    assert!(run.stderr.contains("no store at"), "{}", run.stderr);
    assert!(!sb.path().join("store.db").exists());
}

#[test]
fn import_reads_csv_jsonl_and_bare_lists_once() {
    let sb = Sandbox::new();
    sb.write(
        "crm.csv",
        b"Name,E-mail\nA,a@example.org\nB,<B@Example.org>\nC,broken\n",
    );
    sb.write("esp.jsonl", b"{\"address\":\"c@example.org\"}\n");
    sb.write("plain.txt", b"d@example.org\r\nmailto:e@example.org\n\n");
    let run = suppress(&sb, &["import", "crm.csv", "--state", "unsubscribed"]);
    run.assert_code(0);
    assert!(
        run.stderr.contains("2 imported as unsubscribed"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("1 skipped"), "{}", run.stderr);
    suppress(
        &sb,
        &[
            "import",
            "esp.jsonl",
            "plain.txt",
            "--state",
            "bounced",
            "--reason",
            "ESP export",
        ],
    )
    .assert_code(0);
    for (address, state) in [
        ("a@example.org", "unsubscribed"),
        ("b@example.org", "unsubscribed"),
        ("c@example.org", "bounced"),
        ("d@example.org", "bounced"),
        ("e@example.org", "bounced"),
    ] {
        assert_eq!(state_of(&sb, address), state, "{address}");
    }
    assert_eq!(text(&shown(&sb, "c@example.org"), "reason"), "ESP export");
    let again = suppress(&sb, &["import", "crm.csv", "--state", "unsubscribed"]);
    assert!(
        again
            .stderr
            .contains("0 imported as unsubscribed, 2 already imported"),
        "{}",
        again.stderr
    );
}

#[test]
fn export_is_safe_to_open_in_a_spreadsheet_and_filters_by_state() {
    let sb = Sandbox::new();
    suppress(
        &sb,
        &[
            "block",
            "=1+1@example.org",
            "--reason",
            "=HYPERLINK(\"http://x\")",
        ],
    )
    .assert_code(0);
    add(
        &sb,
        "e.jsonl",
        &history("ok@example.org", &[("delivered", "delivered")]),
        &[],
    );
    let csv = suppress(&sb, &["export", "--format", "csv", "--state", "bounced"]);
    csv.assert_code(0);
    let text = String::from_utf8(csv.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("email,state,reason,since,soft_streak,bounces,last_event")
    );
    let row = lines.next().unwrap();
    assert!(
        row.starts_with("'=1+1@example.org,bounced,\"'=HYPERLINK("),
        "{row}"
    );
    assert_eq!(lines.next(), None, "only the bounced one");
    // JSONL is the default, as everywhere.
    let jsonl = suppress(&sb, &["export", "--state", "active"]).ok_records();
    check(
        "active",
        single(&jsonl),
        &[
            ("email", is("ok@example.org")),
            ("state", is("active")),
            ("since", is("2026-05-01T10:00:00Z")),
        ],
    );
    // What was exported imports back to the same addresses: the `'` that keeps a spreadsheet
    // from running a cell is not part of the address.
    suppress(
        &sb,
        &["block", "--", "-dash@example.org", "+plus@example.org"],
    )
    .assert_code(0);
    sb.write(
        "exported.csv",
        &suppress(&sb, &["export", "--format", "csv", "--state", "bounced"]).stdout,
    );
    let other = |args: &[&str]| {
        let mut all = vec!["suppress", "--db", "other.db"];
        all.extend_from_slice(args);
        sb.run(&all)
    };
    other(&["import", "exported.csv", "--state", "bounced"]).assert_code(0);
    let mut emails: Vec<String> = other(&["export", "--state", "bounced"])
        .ok_records()
        .iter()
        .map(|r| r["email"].as_str().unwrap().to_string())
        .collect();
    emails.sort();
    assert_eq!(
        emails,
        ["+plus@example.org", "-dash@example.org", "=1+1@example.org"]
    );
}

#[test]
fn the_store_is_found_through_the_environment() {
    let sb = Sandbox::new();
    let mut cmd = assert_cmd::Command::new(BIN);
    cmd.args(["suppress", "block", "x@example.org"])
        .env_clear()
        .env("XDG_DATA_HOME", sb.path().join("data"))
        .current_dir(sb.path());
    assert!(cmd.output().unwrap().status.success());
    assert!(sb.path().join("data/bouncekit/bouncekit.db").exists());
    let mut cmd = assert_cmd::Command::new(BIN);
    cmd.args(["suppress", "show", "x@example.org", "--format", "jsonl"])
        .env_clear()
        .env(
            "BOUNCEKIT_DB",
            sb.path().join("data/bouncekit/bouncekit.db"),
        )
        .current_dir(sb.path());
    let out = cmd.output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"state\":\"bounced\""));
}
