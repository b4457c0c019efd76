//! Integration tests of `bouncekit classify` on input that once crashed it or lost messages:
//! non-ASCII where only ASCII was expected, mutated fixtures, odd line endings, mbox files and
//! broken entries inside directories, undeclared charsets, broken MIME and oversized messages.
//! Every test states the contract that broke: no panic, every message gets a record, and the
//! run goes on.

use std::fs;
use std::path::Path;

use serde_json::Value;

use crate::common::*;

/// Classifies one fixture, copied into a fresh sandbox; exit status 0.
fn classify_fixture(name: &str) -> Vec<Value> {
    let sb = Sandbox::new();
    let input = sb.fixture(name);
    sb.run(&["classify", &input]).ok_records()
}

/// The `source` of every record, in order.
fn sources(records: &[Value]) -> Vec<&str> {
    records.iter().map(|r| text(r, "source")).collect()
}

// ---------------------------------------------------------------------------------------------
// Non-ASCII text where the classifier looked at fixed byte offsets
// ---------------------------------------------------------------------------------------------

#[test]
fn non_ascii_in_dsn_fields_and_own_address_is_read_not_a_crash() {
    let sb = Sandbox::new();
    let dsn = sb.fixture("dsn_non_ascii_fields.eml");
    let next = sb.fixture("exim_user_unknown.eml");
    let records = sb
        .run(&["classify", "--own-address", "Zażółć@x.pl", &dsn, &next])
        .ok_records();
    assert_eq!(
        sources(&records),
        vec![dsn.as_str(), &dsn, &next],
        "{records:#?}"
    );
    check(
        "Final-Recipient: rfc822é ...",
        &records[0],
        &[
            ("recipient", is("anna@example.org")),
            ("kind", is("hard")),
            ("reason", is("user_unknown")),
            ("reporting_mta", is("éutlook.com")),
            ("remote_mta", is("mx.przykład.pl")),
            ("envelope_id", is("ENV-ŁÓDŹ-0001")),
            ("diagnostic", line_with(&["Użytkownik nieznany"])),
            ("error", missing()),
        ],
    );
    check(
        "Reporting-MTA: dns; éutlook.com",
        &records[1],
        &[
            ("recipient", is("Zażółć@example.pl")),
            ("kind", is("hard")),
            ("reason", is("user_unknown")),
            ("error", missing()),
        ],
    );
    check(
        "the next message",
        &records[2],
        &[("recipient", is("adam@example.org")), ("kind", is("hard"))],
    );
    // The same address given as the user's own is never the failed recipient.
    let records = sb
        .run(&["classify", "--own-address", "Zażółć@example.pl", &dsn])
        .ok_records();
    check(
        "own non-ASCII address",
        single(&records),
        &[("recipient", is("anna@example.org"))],
    );
}

/// Mutations of a fixture: a multibyte character (or a lone continuation byte) inserted
/// after every byte that readers cut text at, then `flips` bytes changed at pseudo-random
/// places (`flips` = 0 for none). Deterministic.
fn mutate(raw: &[u8], flips: usize) -> Vec<Vec<u8>> {
    const INSERTS: &[&[u8]] = &[
        "é".as_bytes(),
        "ż".as_bytes(),
        "日".as_bytes(),
        "😀".as_bytes(),
        b"\x80",
    ];
    let mut out = Vec::new();
    let cut_points = (1..raw.len()).filter(|&i| matches!(raw[i - 1], b':' | b';' | b'@' | b'<'));
    for (n, at) in cut_points.enumerate() {
        let mut m = raw.to_vec();
        m.splice(at..at, INSERTS[n % INSERTS.len()].iter().copied());
        out.push(m);
    }
    let mut state: u64 = 0x2545_F491_4F6C_DD1D ^ raw.len() as u64;
    for _ in 0..flips {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let mut m = raw.to_vec();
        let at = (state % raw.len() as u64) as usize;
        m[at] ^= 0x80 | (state >> 32) as u8;
        out.push(m);
    }
    out
}

#[test]
fn mutated_fixtures_each_get_a_record_and_never_an_internal_error() {
    let sb = Sandbox::new();
    let mut names = Vec::new();
    for fixture in [
        "rfc3464_two_recipients.eml",
        "dsn_non_ascii_fields.eml",
        "exim_user_unknown.eml",
        "arf_abuse.eml",
        "mdn_displayed.eml",
    ] {
        for (i, m) in mutate(&fixture_bytes(fixture), 40).iter().enumerate() {
            names.push(sb.write(&format!("mutated/{fixture}.{i:03}"), m));
        }
    }
    names.sort();
    assert!(names.len() > 300, "only {} mutations", names.len());
    let run = sb.run(&["classify", "mutated"]);
    let records = run.ok_records();
    let mut seen: Vec<&str> = sources(&records);
    seen.dedup();
    assert_eq!(seen, names, "one message, at least one record, in order");
    for r in &records {
        assert!(
            !text(r, "error").contains("internal error"),
            "a bug, not bad input: {r}"
        );
    }
    assert!(!run.stderr.contains("internal error"), "{}", run.stderr);

    // The same kind of damage inside an mbox: one record per message still, in order.
    let mut mbox = Vec::new();
    let mutated = mutate(&fixture_bytes("rfc3464_two_recipients.eml"), 0);
    for m in &mutated {
        mbox.extend_from_slice(b"From MAILER-DAEMON Tue Mar  4 10:15:01 2025\n");
        mbox.extend_from_slice(m);
        mbox.extend_from_slice(b"\n");
    }
    let input = sb.write("mutated.mbox", &mbox);
    let records = sb.run(&["classify", &input]).ok_records();
    let mut seen = sources(&records);
    seen.dedup();
    let expected: Vec<String> = (1..=mutated.len())
        .map(|n| format!("{input}:{n}"))
        .collect();
    assert_eq!(seen, expected);
}

// ---------------------------------------------------------------------------------------------
// Line endings
// ---------------------------------------------------------------------------------------------

#[test]
fn mbox_with_crlf_or_cr_only_line_endings_reads_as_the_lf_one() {
    let lf = String::from_utf8(fixture_bytes("three_messages.mbox")).unwrap();
    assert!(!lf.contains('\r'), "three_messages.mbox must use LF");
    let sb = Sandbox::new();
    let mut by_ending = Vec::new();
    for (ending, sep) in [("lf", "\n"), ("crlf", "\r\n"), ("cr", "\r")] {
        let input = sb.write(&format!("{ending}.mbox"), lf.replace('\n', sep).as_bytes());
        let mut records = sb.run(&["classify", &input]).ok_records();
        let numbered: Vec<String> = (1..=3).map(|n| format!("{input}:{n}")).collect();
        assert_eq!(sources(&records), numbered, "{ending}: {records:#?}");
        for r in &mut records {
            assert!(!has_error(r), "{ending}: {r}");
            r["source"] = Value::Null;
        }
        by_ending.push((ending, records));
    }
    let (_, lf_records) = &by_ending[0];
    for (ending, records) in &by_ending[1..] {
        assert_eq!(records, lf_records, "{ending} differs from LF");
    }
}

// ---------------------------------------------------------------------------------------------
// Directories
// ---------------------------------------------------------------------------------------------

/// `records` with their `source` taken out, to compare the same messages read two ways.
fn without_sources(records: &[Value]) -> Vec<Value> {
    records
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r["source"] = Value::Null;
            r
        })
        .collect()
}

#[test]
fn mbox_and_message_records_inside_a_directory_are_split_as_on_the_command_line() {
    let sb = Sandbox::new();
    let mbox = fixture_bytes("three_messages.mbox");
    sb.write("dir/a.eml", &fixture_bytes("exim_user_unknown.eml"));
    sb.write("dir/b.mbox", &mbox);
    sb.write("dir/sub/c.mbox", &mbox);
    let raw = fixture_bytes("qmail_user_unknown.eml");
    let record = format!(
        "{{\"source\":\"imap://bounces@mail.example.com/INBOX;UIDVALIDITY=7;UID=42\",\"raw_base64\":\"{}\"}}\n",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &raw)
    );
    sb.write("dir/d.jsonl", record.as_bytes());
    sb.write("dir/e.eml", &fixture_bytes("ordinary_mail.eml"));
    // One message saved with its From_ line is named as its file, as on the command line.
    let mut saved = b"From MAILER-DAEMON Tue Mar  4 10:16:00 2025\n".to_vec();
    saved.extend_from_slice(&fixture_bytes("exim_user_unknown.eml"));
    sb.write("dir/f.eml", &saved);
    let records = sb.run(&["classify", "dir"]).ok_records();
    assert_eq!(
        sources(&records),
        vec![
            "dir/a.eml",
            "dir/b.mbox:1",
            "dir/b.mbox:2",
            "dir/b.mbox:3",
            "imap://bounces@mail.example.com/INBOX;UIDVALIDITY=7;UID=42",
            "dir/e.eml",
            "dir/f.eml",
            "dir/sub/c.mbox:1",
            "dir/sub/c.mbox:2",
            "dir/sub/c.mbox:3",
        ],
        "{records:#?}"
    );
    let alone = sb.run(&["classify", "dir/b.mbox"]).ok_records();
    assert_eq!(without_sources(&records[1..4]), without_sources(&alone));
    assert_eq!(without_sources(&records[7..10]), without_sources(&alone));
    let alone = sb.run(&["classify", "dir/f.eml"]).ok_records();
    assert_eq!(sources(&alone), vec!["dir/f.eml"]);
    assert_eq!(records[6], alone[0]);
    assert_eq!(
        without_sources(&alone),
        without_sources(&classify_fixture("exim_user_unknown.eml")),
        "the From_ line is no part of the message"
    );
    check(
        "message record in a directory",
        &records[4],
        &[
            ("recipient", is("lukasz@example.org")),
            ("kind", is("hard")),
        ],
    );

    // An mbox larger than --max-size is still read message by message: each is smaller.
    let records = sb
        .run(&["classify", "--max-size", "2K", "dir/b.mbox"])
        .ok_records();
    assert!(mbox.len() > 2048 && records.len() == 3 && !records.iter().any(has_error));
    let in_dir = sb
        .run(&["classify", "--max-size", "2K", "dir/sub"])
        .ok_records();
    assert_eq!(without_sources(&in_dir), without_sources(&records));
}

#[test]
fn every_entry_of_a_directory_gets_a_record_or_an_error_and_the_rest_is_read() {
    use std::os::unix::fs::symlink;
    let sb = Sandbox::new();
    sb.write("dir/a.eml", &fixture_bytes("exim_user_unknown.eml"));
    symlink("nowhere.eml", sb.path().join("dir/b-dangling.eml")).unwrap();
    let _socket = std::os::unix::net::UnixListener::bind(sb.path().join("dir/c-socket")).unwrap();
    sb.write("dir/d/e.eml", &fixture_bytes("qmail_user_unknown.eml"));
    symlink("..", sb.path().join("dir/d/loop")).unwrap();
    // A folder that cannot be listed, whoever runs the tests (root lists a folder of mode
    // 000): its path is longer than Linux allows (PATH_MAX, 4096 bytes). It is made one
    // level at a time, each a short path from the one before (`cd -P`: dash refuses a
    // logical path that long).
    let level = "f".repeat(250);
    let made = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "cd dir && for i in $(seq 17); do mkdir {level} && cd -P {level} || exit 1; done"
        ))
        .current_dir(sb.path())
        .status()
        .unwrap();
    assert!(made.success());
    sb.write("dir/g.eml", &fixture_bytes("ordinary_mail.eml"));

    let run = sb.run(&["classify", "dir"]);
    let records = run.ok_records();
    let deepest = format!("dir{}", format!("/{level}").repeat(17));
    assert_eq!(
        sources(&records),
        vec![
            "dir/a.eml",
            "dir/b-dangling.eml",
            "dir/c-socket",
            "dir/d/e.eml",
            "dir/d/loop",
            &deepest,
            "dir/g.eml",
        ]
    );
    let errors: Vec<&str> = records.iter().map(|r| text(r, "error")).collect();
    assert!(errors[1].starts_with("cannot read: "), "{}", records[1]);
    assert!(errors[2].contains("not a regular file"), "{}", records[2]);
    assert!(errors[4].contains("symbolic link"), "{}", records[4]);
    assert!(errors[5].starts_with("cannot list: "), "{}", records[5]);
    for i in [0, 3, 6] {
        assert!(errors[i].is_empty(), "{}", records[i]);
    }
    assert!(
        run.stderr.contains("4 unreadable"),
        "each counted: {}",
        run.stderr
    );
    sb.run(&["classify", "--strict", "dir"]).assert_code(1);
}

// ---------------------------------------------------------------------------------------------
// Charsets
// ---------------------------------------------------------------------------------------------

#[test]
fn utf8_text_that_declares_no_charset_or_us_ascii_is_read_as_utf8() {
    for (fixture, recipient, kind) in [
        (
            "reply_unsubscribe_polish_no_charset.eml",
            "zofia@example.org",
            "unsubscribe",
        ),
        (
            "reply_unsubscribe_czech_us_ascii.eml",
            "jiri@example.cz",
            "unsubscribe",
        ),
        (
            "reply_unsubscribe_japanese_no_charset.eml",
            "taro@example.jp",
            "unsubscribe",
        ),
        (
            "text_bounce_french_no_charset.eml",
            "jean@example.fr",
            "soft",
        ),
    ] {
        let records = classify_fixture(fixture);
        check(
            fixture,
            single(&records),
            &[
                ("recipient", is(recipient)),
                ("kind", is(kind)),
                ("error", missing()),
            ],
        );
    }
    let records = classify_fixture("text_bounce_french_no_charset.eml");
    check(
        "French diagnostic, no charset",
        single(&records),
        &[
            ("reason", is("mailbox_full")),
            (
                "diagnostic",
                is("552 5.2.2 Boîte aux lettres pleine (quota dépassé)"),
            ),
        ],
    );
}

#[test]
fn latin1_text_that_declares_no_charset_is_still_read_as_latin1() {
    let sb = Sandbox::new();
    // "Veuillez me désinscrire", with é as the one Latin-1 byte 0xE9: not UTF-8.
    let eml = b"From: Claire <claire@example.fr>\nTo: news@example.com\nSubject: Re: Soldes\n\
                Date: Tue, 04 Mar 2025 11:35:00 +0000\n\nVeuillez me d\xe9sinscrire, merci.\n";
    let input = sb.write("latin1.eml", eml);
    let records = sb.run(&["classify", &input]).ok_records();
    check(
        "Latin-1 body, no charset",
        single(&records),
        &[
            ("recipient", is("claire@example.fr")),
            ("kind", is("unsubscribe")),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Bad input: broken MIME, oversized messages
// ---------------------------------------------------------------------------------------------

#[test]
fn missing_or_wrong_mime_boundaries_still_yield_the_recipients() {
    let dsn = String::from_utf8(fixture_bytes("rfc3464_two_recipients.eml")).unwrap();
    let header = "Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"BOUNDARY-3464\"";
    assert!(dsn.contains(header));
    let exim = String::from_utf8(fixture_bytes("exim_user_unknown.eml")).unwrap();
    let (exim_head, exim_body) = exim.split_once("\n\n").unwrap();
    let dsn_recipients = [
        ("anna.kowalska@example.org", "hard"),
        ("piotr@example.net", "delay"),
    ];
    let cases = [
        (
            "no boundary parameter",
            dsn.replace(
                header,
                "Content-Type: multipart/report; report-type=delivery-status",
            ),
            &dsn_recipients[..],
        ),
        (
            "a boundary that never occurs",
            dsn.replace(
                "boundary=\"BOUNDARY-3464\"",
                "boundary=\"NOT-THE-BOUNDARY\"",
            ),
            &dsn_recipients[..],
        ),
        (
            "an empty boundary",
            dsn.replace("boundary=\"BOUNDARY-3464\"", "boundary=\"\""),
            &dsn_recipients[..],
        ),
        (
            "no closing delimiter",
            dsn.replace("--BOUNDARY-3464--\n", ""),
            &dsn_recipients[..],
        ),
        (
            "an inner part with the wrong boundary",
            format!(
                "{exim_head}\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"OUTER\"\n\n\
                 --OUTER\nContent-Type: multipart/alternative; boundary=\"INNER\"\n\n\
                 --WRONG-INNER\nContent-Type: text/plain\n\n{exim_body}\n--OUTER--\n"
            ),
            &[("adam@example.org", "hard")][..],
        ),
    ];
    let sb = Sandbox::new();
    let next = sb.fixture("qmail_user_unknown.eml");
    for (what, eml, expected) in &cases {
        let input = sb.write("broken.eml", eml.as_bytes());
        let records = sb.run(&["classify", &input, &next]).ok_records();
        let found: Vec<(&str, &str)> = records
            .iter()
            .map(|r| (text(r, "recipient"), text(r, "kind")))
            .collect();
        let mut expected = expected.to_vec();
        expected.push(("lukasz@example.org", "hard"));
        assert_eq!(found, expected, "{what}: {records:#?}");
    }
}

/// A message of about `size` bytes: the Exim bounce with its body padded by lines of text.
fn padded_bounce(size: usize) -> Vec<u8> {
    let mut eml = fixture_bytes("exim_user_unknown.eml");
    let line = format!("{}\n", "x".repeat(75));
    eml.reserve(size);
    while eml.len() < size {
        eml.extend_from_slice(line.as_bytes());
    }
    eml
}

/// Checks a run over one message larger than the limit followed by a small one: the large one
/// gets a record with an error naming --max-size (its start still read), the next one is
/// classified, stderr counts one unreadable message, and --strict exits 1.
fn check_over_max_size(sb: &Sandbox, flags: &[&str], inputs: &[&str], big: &str, next: &str) {
    let mut args = vec!["classify"];
    args.extend_from_slice(flags);
    args.extend_from_slice(inputs);
    let run = sb.run(&args);
    let records = run.ok_records();
    assert_eq!(sources(&records), vec![big, next], "{flags:?}");
    check(
        "the message over --max-size",
        &records[0],
        &[
            ("recipient", is("adam@example.org")),
            ("error", non_empty()),
        ],
    );
    assert!(
        text(&records[0], "error").contains("--max-size"),
        "{}",
        records[0]
    );
    check(
        "the message after it",
        &records[1],
        &[
            ("recipient", is("lukasz@example.org")),
            ("kind", is("hard")),
            ("error", missing()),
        ],
    );
    assert!(run.stderr.contains("1 unreadable"), "{}", run.stderr);
    args.insert(1, "--strict");
    sb.run(&args).assert_code(1);
}

#[test]
fn a_message_over_the_default_max_size_gets_an_error_record_and_the_run_goes_on() {
    let sb = Sandbox::new();
    let next = sb.fixture("qmail_user_unknown.eml");
    // 70 MB, over the default --max-size of 64M.
    let big = padded_bounce(70 << 20);
    sb.write("big.eml", &big);
    check_over_max_size(&sb, &[], &["big.eml", &next], "big.eml", &next);
    fs::remove_file(sb.path().join("big.eml")).unwrap();
    let mut mbox = b"From MAILER-DAEMON Tue Mar  4 10:16:00 2025\n".to_vec();
    mbox.extend_from_slice(&big);
    drop(big);
    mbox.extend_from_slice(b"\nFrom MAILER-DAEMON Tue Mar  4 10:17:00 2025\n");
    mbox.extend_from_slice(&fixture_bytes("qmail_user_unknown.eml"));
    sb.write("big.mbox", &mbox);
    check_over_max_size(&sb, &[], &["big.mbox"], "big.mbox:1", "big.mbox:2");
}

#[test]
fn a_message_over_a_max_size_of_1m_gets_an_error_record_in_every_input_form() {
    let sb = Sandbox::new();
    let next = sb.fixture("qmail_user_unknown.eml");
    let big = padded_bounce(2 << 20);
    sb.write("big.eml", &big);
    let flags = ["--max-size", "1M"];
    check_over_max_size(&sb, &flags, &["big.eml", &next], "big.eml", &next);
    sb.write("dir/a.eml", &big);
    sb.write("dir/b.eml", &fixture_bytes("qmail_user_unknown.eml"));
    check_over_max_size(&sb, &flags, &["dir"], "dir/a.eml", "dir/b.eml");
    let mut mbox = b"From MAILER-DAEMON Tue Mar  4 10:16:00 2025\n".to_vec();
    mbox.extend_from_slice(&big);
    mbox.extend_from_slice(b"\nFrom MAILER-DAEMON Tue Mar  4 10:17:00 2025\n");
    mbox.extend_from_slice(&fixture_bytes("qmail_user_unknown.eml"));
    sb.write("big.mbox", &mbox);
    check_over_max_size(&sb, &flags, &["big.mbox"], "big.mbox:1", "big.mbox:2");
    // Just under the limit: read in full.
    let fits = padded_bounce((1 << 20) - 100);
    let input = sb.write("fits.eml", &fits);
    let records = sb
        .run(&["classify", "--max-size", "1M", &input])
        .ok_records();
    check(
        "a message just under --max-size",
        single(&records),
        &[("recipient", is("adam@example.org")), ("error", missing())],
    );
}

#[test]
fn an_eml_file_is_one_message_even_when_it_quotes_a_from_line() {
    // A bounce saved with its From_ line, quoting the returned message with that message's own
    // From_ line after a blank line: in an mbox that would be a separator, in a .eml it is text.
    let mut saved = b"From MAILER-DAEMON Tue Mar  4 10:16:00 2025\n".to_vec();
    saved.extend_from_slice(&fixture_bytes("exim_user_unknown.eml"));
    saved.extend_from_slice(
        b"\nFrom news@example.com Tue Mar  4 10:15:00 2025\nSubject: quoted\n\nhello\n",
    );
    let sb = Sandbox::new();
    sb.write("dir/bounce.eml", &saved);
    sb.write("dir/bounce.mbox", &saved);
    let alone = sb.run(&["classify", "dir/bounce.eml"]).ok_records();
    assert_eq!(sources(&alone), vec!["dir/bounce.eml"], "{alone:#?}");
    assert_eq!(text(single(&alone), "kind"), "hard");
    let in_dir = sb.run(&["classify", "dir"]).ok_records();
    assert_eq!(
        sources(&in_dir),
        vec!["dir/bounce.eml", "dir/bounce.mbox:1", "dir/bounce.mbox:2"],
        "{in_dir:#?}"
    );
    assert_eq!(in_dir[0], alone[0]);
}

/// A full disk (`/dev/full` as the output): every command says in one line that it could not
/// write, and fails; none claims to have written what it could not.
#[test]
fn a_full_disk_is_one_clear_line_and_exit_1_for_every_command() {
    let sb = Sandbox::new();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let bounces = examples.join("bounces").display().to_string();
    let sent = examples.join("sent.jsonl").display().to_string();
    let customers = examples.join("customers.csv").display().to_string();
    let offer = examples.join("offer.eml").display().to_string();
    let events = sb.write(
        "events.jsonl",
        &sb.run(&["classify", &bounces])
            .ok_records()
            .iter()
            .fold(Vec::new(), |mut out, r| {
                out.extend_from_slice(format!("{r}\n").as_bytes());
                out
            }),
    );
    sb.run(&["suppress", "--db", "store.db", "add", &events])
        .assert_code(0);
    let commands: Vec<Vec<&str>> = vec![
        vec!["classify", &bounces, "-o", "/dev/full"],
        vec!["report", "--format", "csv", &sent, "-o", "/dev/full"],
        vec!["validate", "--no-dns", &customers, "-o", "/dev/full"],
        vec![
            "suppress",
            "--db",
            "store.db",
            "filter",
            &customers,
            "-o",
            "/dev/full",
        ],
        vec!["suppress", "--db", "store.db", "export", "-o", "/dev/full"],
        vec![
            "send",
            "--from",
            "news@example.com",
            "--template",
            &offer,
            "--no-store",
            "--dry-run",
            "out",
            &customers,
            "-o",
            "/dev/full",
        ],
    ];
    for args in commands {
        let run = sb.run(&args);
        run.assert_code(1);
        let lines: Vec<&str> = run.stderr.lines().collect();
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("bouncekit: ") && l.contains("No space left on device")),
            "{args:?}: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains("classified"),
            "{args:?} claims to have written: {}",
            run.stderr
        );
    }
}
