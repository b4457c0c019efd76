//! `bouncekit validate` through the real binary: the DNS verdicts against a real DNS server
//! on loopback (dnsmasq, see `common::dns`), the syntax table, the typo suggestions, the
//! rows passed through byte for byte, the filter modes, JSONL, and the store.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::dns::DnsServer;
use crate::common::{Run, Sandbox, check, is};

/// Zones the tests add to the shared ones of `common::dns::ZONES`: big providers with MX
/// records, and NXDOMAIN for every other name under .com and .pl.
const PROVIDERS: &[&str] = &[
    "local=/com/",
    "local=/pl/",
    "local=/lp/",
    "mx-host=gmail.com,gmail-smtp-in.l.google.com,5",
    "host-record=gmail-smtp-in.l.google.com,192.0.2.40",
    "mx-host=wp.pl,mx.wp.pl,10",
    "host-record=mx.wp.pl,192.0.2.41",
    "mx-host=acme-corp.com,mail.acme-corp.com,10",
    "host-record=mail.acme-corp.com,192.0.2.42",
    "mx-host=mailinator.com,mail.mailinator.com,10",
    "host-record=mail.mailinator.com,192.0.2.43",
    "host-record=temp.mx.test,192.0.2.44",
];

fn dns_args(server: &DnsServer) -> Vec<String> {
    vec![
        "--nameserver".into(),
        server.addr(),
        "--dns-timeout".into(),
        "1".into(),
    ]
}

/// Runs `validate` with the DNS server's arguments and `args`.
fn validate(sb: &Sandbox, server: &DnsServer, args: &[&str]) -> Run {
    let mut all: Vec<String> = vec!["validate".into()];
    all.extend(dns_args(server));
    all.extend(args.iter().map(|a| a.to_string()));
    let all: Vec<&str> = all.iter().map(String::as_str).collect();
    sb.run(&all)
}

/// The record of `records` whose `email` is `email`.
#[track_caller]
fn row<'a>(records: &'a [Value], email: &str) -> &'a Value {
    records
        .iter()
        .find(|r| r["email"] == email)
        .unwrap_or_else(|| panic!("no record for {email:?} in {records:#?}"))
}

/// A JSONL list of one `email` field per line (exact strings, no CSV quoting in the way).
fn jsonl_list(addresses: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for a in addresses {
        out.extend_from_slice(serde_json::json!({ "email": a }).to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

#[test]
fn dns_verdicts_for_every_kind_of_domain() {
    let server = DnsServer::start(PROVIDERS);
    let sb = Sandbox::new();
    let list = jsonl_list(&[
        "jan@mx.test",
        "anna@a-only.test",
        "ola@aaaa-only.test",
        "null@nullmx.test",
        "dead@deadmx.test",
        "loop@loopmx.test",
        "txt@txt-only.test",
        "nobody@nx.test",
        "slow@slow.test",
        "fail@servfail.test",
    ]);
    sb.write("list.jsonl", &list);
    let started = Instant::now();
    let run = validate(&sb, &server, &["list.jsonl"]);
    let took = started.elapsed();
    let records = run.ok_records();
    assert_eq!(records.len(), 10, "one record per input line");
    for (email, valid, check_name) in [
        ("jan@mx.test", is(true), is(Value::Null)),
        ("anna@a-only.test", is(true), is(Value::Null)),
        ("ola@aaaa-only.test", is(true), is(Value::Null)),
        ("null@nullmx.test", is(false), is("null_mx")),
        ("dead@deadmx.test", is(false), is("no_mail_host")),
        ("loop@loopmx.test", is(false), is("no_mail_host")),
        ("txt@txt-only.test", is(false), is("no_mail_host")),
        ("nobody@nx.test", is(false), is("no_domain")),
        // A DNS failure is unknown (null), never invalid.
        ("slow@slow.test", is(Value::Null), is("dns_timeout")),
        ("fail@servfail.test", is(Value::Null), is("dns_error")),
    ] {
        check(
            email,
            row(&records, email),
            &[
                ("valid", valid),
                ("check", check_name),
                ("normalized", is(email)),
                ("suggestion", is(Value::Null)),
            ],
        );
    }
    // The domain that never answers costs the deadline (1 s), not more; the binary's start
    // and the other lookups take a fraction of a second.
    assert!(
        took < Duration::from_secs(3),
        "the run took {took:?} with --dns-timeout 1\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("no DNS answer for slow.test"),
        "stderr names the unanswered domains:\n{}",
        run.stderr
    );
}

#[test]
fn each_domain_is_asked_once_per_run() {
    let server = DnsServer::start(PROVIDERS);
    let sb = Sandbox::new();
    let mut csv = String::from("email,n\n");
    for i in 0..60 {
        csv += &format!("user{i}@mx.test,{i}\nother{i}@nx.test,{i}\nx{i}@a-only.test,{i}\n");
    }
    sb.write("list.csv", csv.as_bytes());
    let run = validate(&sb, &server, &["list.csv"]);
    run.assert_code(0);
    assert_eq!(
        String::from_utf8_lossy(&run.stdout).lines().count(),
        181,
        "header and 180 rows"
    );
    for (qtype, name, times) in [
        ("MX", "mx.test", 1),
        ("MX", "nx.test", 1),
        ("MX", "a-only.test", 1),
        ("A", "a-only.test", 1),
        // The MX answer carries mail.mx.test's address: no query of its own.
        ("A", "mail.mx.test", 0),
    ] {
        assert_eq!(
            server.queries(qtype, name),
            times,
            "{qtype} queries for {name}\n{}",
            server.log()
        );
    }
}

#[test]
fn a_name_server_that_cannot_be_reached_is_a_failure_not_a_verdict() {
    // A port that nothing listens on: every lookup fails, so nothing was validated.
    let closed = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap().to_string();
    drop(closed);
    let sb = Sandbox::new();
    sb.write("list.csv", b"email\na@mx.test\nb@nx.test\nnot-an-address\n");
    let run = sb.run(&[
        "validate",
        "--nameserver",
        &addr,
        "--dns-timeout",
        "1",
        "list.csv",
    ]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("DNS answered for none"),
        "stderr says why:\n{}",
        run.stderr
    );
    // Unknown, never invalid, for the addresses; the one that is no address is still judged.
    // (Whether the silence of a closed port is a timeout or an error depends on the system.)
    let out = String::from_utf8(run.stdout).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(lines[0], "email,valid,check,suggestion,normalized");
    for (line, address) in lines[1..3].iter().zip(["a@mx.test", "b@nx.test"]) {
        let timeout = format!("{address},unknown,dns_timeout,,{address}");
        let error = format!("{address},unknown,dns_error,,{address}");
        assert!(*line == timeout || *line == error, "{line}");
    }
    assert_eq!(lines[3], "not-an-address,false,syntax,,");
}

/// (address, valid, normalised form) for the syntax table; `None` where the value is no
/// address at all.
const SYNTAX: &[(&str, bool, Option<&str>)] = &[
    // Valid, and how they are kept.
    ("jan@example.org", true, Some("jan@example.org")),
    ("Jan.Novak@Example.ORG", true, Some("Jan.Novak@example.org")),
    ("  <jan@example.org> ", true, Some("jan@example.org")),
    ("mailto:jan@example.org", true, Some("jan@example.org")),
    ("user+tag@example.org", true, Some("user+tag@example.org")),
    ("o'brien@example.ie", true, Some("o'brien@example.ie")),
    (
        "#!$%&'*+-/=?^_`{}|~@example.org",
        true,
        Some("#!$%&'*+-/=?^_`{}|~@example.org"),
    ),
    (
        "\"jan novak\"@example.org",
        true,
        Some("\"jan novak\"@example.org"),
    ),
    ("\"a@b\"@example.org", true, Some("\"a@b\"@example.org")),
    (
        "\"quote\\\"inside\"@example.org",
        true,
        Some("\"quote\\\"inside\"@example.org"),
    ),
    ("jan@münchen.de", true, Some("jan@xn--mnchen-3ya.de")),
    ("jan@xn--mnchen-3ya.de", true, Some("jan@xn--mnchen-3ya.de")),
    ("用户@例子.广告", true, Some("用户@xn--fsqu00a.xn--4rr70v")),
    ("ä@example.org", true, Some("ä@example.org")),
    ("jan@example.org.", true, Some("jan@example.org")),
    ("jan@[192.0.2.1]", true, Some("jan@[192.0.2.1]")),
    (
        "jan@[IPv6:2001:db8::1]",
        true,
        Some("jan@[IPv6:2001:db8::1]"),
    ),
    ("a@b.co", true, Some("a@b.co")),
    // Invalid: not addresses at all.
    ("jan.example.org", false, None),
    ("@example.org", false, None),
    ("jan@", false, None),
    ("jan@example", false, None),
    ("jan.@example.org", false, None),
    (".jan@example.org", false, None),
    ("j..n@example.org", false, None),
    ("jan@@example.org", false, None),
    ("jan @example.org", false, None),
    ("jan@exa mple.org", false, None),
    ("jan@-example.org", false, None),
    ("jan@example-.org", false, None),
    ("jan@example..org", false, None),
    ("\"unbalanced@example.org", false, None),
    ("\"\"@example.org", false, None),
    ("(comment)jan@example.org", false, None),
    ("Jan Novak <jan@example.org>", false, None),
    // Invalid for a mail server though RFC 5322 allows them: kept in normalised form.
    ("jan@ex_ample.org", false, Some("jan@ex_ample.org")),
    ("jan@example.123", false, Some("jan@example.123")),
    ("jan@192.0.2.1", false, Some("jan@192.0.2.1")),
    ("jan@[300.1.1.1]", false, Some("jan@[300.1.1.1]")),
    ("jan@xn--zz.example", false, Some("jan@xn--zz.example")),
];

#[test]
fn every_case_of_the_syntax_table() {
    let sb = Sandbox::new();
    // The length limits of RFC 5321: 64 octets of local part, 63 of a label, 254 in all
    // (the 256-octet path less its angle brackets).
    let local_64 = format!("{}@example.org", "a".repeat(64));
    let local_65 = format!("{}@example.org", "a".repeat(65));
    let label_63 = format!("jan@{}.org", "b".repeat(63));
    let label_64 = format!("jan@{}.org", "b".repeat(64));
    let total_254 = format!(
        "{}@{}.{}.{}.{}",
        "a".repeat(64),
        "c".repeat(63),
        "c".repeat(63),
        "c".repeat(57),
        "org"
    );
    let total_255 = format!("{}x", total_254.strip_suffix(".org").unwrap()) + ".org";
    assert_eq!((total_254.len(), total_255.len()), (254, 255));
    let mut expected: Vec<(&str, bool, Option<&str>)> = SYNTAX.to_vec();
    expected.extend([
        (local_64.as_str(), true, Some(local_64.as_str())),
        (label_63.as_str(), true, Some(label_63.as_str())),
        (total_254.as_str(), true, Some(total_254.as_str())),
        (local_65.as_str(), false, None),
        (label_64.as_str(), false, None),
        (total_255.as_str(), false, None),
    ]);
    let addresses: Vec<&str> = expected.iter().map(|(a, _, _)| *a).collect();
    sb.write("list.jsonl", &jsonl_list(&addresses));
    let records = sb.run(&["validate", "--no-dns", "list.jsonl"]).ok_records();
    assert_eq!(records.len(), addresses.len());
    let mut wrong = Vec::new();
    for (record, (address, valid, normalized)) in records.iter().zip(expected) {
        let want_check = if valid { Value::Null } else { "syntax".into() };
        let want_normalized = normalized.map_or(Value::Null, Value::from);
        if record["email"] != address
            || record["valid"] != valid
            || record["check"] != want_check
            || record["normalized"] != want_normalized
        {
            wrong.push(format!(
                "{address:?}: expected valid={valid} normalized={want_normalized}, got {record}"
            ));
        }
    }
    assert!(wrong.is_empty(), "syntax table:\n{}", wrong.join("\n"));
}

#[test]
fn typical_typos_get_suggestions() {
    let sb = Sandbox::new();
    let mut list = vec![
        "jan@gmial.com",
        "ola@hotmial.com",
        "piotr@wp.lp",
        "kowalski@dżmail.pl",
        "eva@gmail.con",
        "tom@acme-crop.com",
        "raw@gmail,com",
        "ip@192.0.2.1",
        "Jan Novak <jan.novak@example.org>",
        "fine@gmail.com",
        "firma@firma.pl",
    ];
    // acme-corp.com is common in this list, so its one-edit neighbour is suggested.
    let common: Vec<String> = (0..12).map(|i| format!("user{i}@acme-corp.com")).collect();
    list.extend(common.iter().map(String::as_str));
    sb.write("list.jsonl", &jsonl_list(&list));
    let records = sb.run(&["validate", "--no-dns", "list.jsonl"]).ok_records();
    for (email, valid, check_name, suggestion) in [
        ("jan@gmial.com", true, "typo", "jan@gmail.com"),
        ("ola@hotmial.com", true, "typo", "ola@hotmail.com"),
        ("piotr@wp.lp", true, "typo", "piotr@wp.pl"),
        ("kowalski@dżmail.pl", true, "typo", "kowalski@gmail.com"),
        ("eva@gmail.con", true, "typo", "eva@gmail.com"),
        ("tom@acme-crop.com", true, "typo", "tom@acme-corp.com"),
        ("raw@gmail,com", false, "syntax", "raw@gmail.com"),
        ("ip@192.0.2.1", false, "syntax", "ip@[192.0.2.1]"),
        (
            "Jan Novak <jan.novak@example.org>",
            false,
            "syntax",
            "jan.novak@example.org",
        ),
    ] {
        check(
            email,
            row(&records, email),
            &[
                ("valid", is(valid)),
                ("check", is(check_name)),
                ("suggestion", is(suggestion)),
            ],
        );
    }
    for email in ["fine@gmail.com", "firma@firma.pl", "user3@acme-corp.com"] {
        check(
            email,
            row(&records, email),
            &[
                ("valid", is(true)),
                ("check", is(Value::Null)),
                ("suggestion", is(Value::Null)),
            ],
        );
    }
}

#[test]
fn typo_domains_that_do_not_exist_are_invalid_with_a_suggestion() {
    let server = DnsServer::start(PROVIDERS);
    let sb = Sandbox::new();
    sb.write(
        "list.jsonl",
        &jsonl_list(&["jan@gmial.com", "piotr@wp.lp", "ok@gmail.com", "ok@wp.pl"]),
    );
    let records = validate(&sb, &server, &["list.jsonl"]).ok_records();
    for (email, valid, check_name, suggestion) in [
        (
            "jan@gmial.com",
            is(false),
            is("no_domain"),
            is("jan@gmail.com"),
        ),
        ("piotr@wp.lp", is(false), is("no_domain"), is("piotr@wp.pl")),
        ("ok@gmail.com", is(true), is(Value::Null), is(Value::Null)),
        ("ok@wp.pl", is(true), is(Value::Null), is(Value::Null)),
    ] {
        check(
            email,
            row(&records, email),
            &[
                ("valid", valid),
                ("check", check_name),
                ("suggestion", suggestion),
            ],
        );
    }
}

#[test]
fn role_accounts_are_flagged_and_disposable_domains_rejected() {
    let server = DnsServer::start(PROVIDERS);
    let sb = Sandbox::new();
    sb.write(
        "list.jsonl",
        &jsonl_list(&[
            "postmaster@mx.test",
            "Abuse@mx.test",
            "noreply@mx.test",
            "info+news@mx.test",
            "jan@mx.test",
            "burner@mailinator.com",
            "x@temp.mx.test",
        ]),
    );
    let records = validate(&sb, &server, &["list.jsonl"]).ok_records();
    for email in [
        "postmaster@mx.test",
        "Abuse@mx.test",
        "noreply@mx.test",
        "info+news@mx.test",
    ] {
        check(
            email,
            row(&records, email),
            &[("valid", is(true)), ("check", is("role"))],
        );
    }
    check(
        "jan",
        row(&records, "jan@mx.test"),
        &[("valid", is(true)), ("check", is(Value::Null))],
    );
    // The built-in list knows mailinator.com, though its DNS is in order.
    check(
        "burner",
        row(&records, "burner@mailinator.com"),
        &[("valid", is(false)), ("check", is("disposable"))],
    );

    // A list of one's own replaces the built-in one (and covers subdomains).
    sb.write("disposable.txt", b"# ours\nmx.test\n");
    let records = validate(
        &sb,
        &server,
        &["--disposable", "disposable.txt", "list.jsonl"],
    )
    .ok_records();
    check(
        "burner, own list",
        row(&records, "burner@mailinator.com"),
        &[("valid", is(true)), ("check", is(Value::Null))],
    );
    for email in ["jan@mx.test", "postmaster@mx.test", "x@temp.mx.test"] {
        check(
            email,
            row(&records, email),
            &[("valid", is(false)), ("check", is("disposable"))],
        );
    }
}

#[test]
fn the_annotated_csv_keeps_every_other_column_intact() {
    let server = DnsServer::start(PROVIDERS);
    let sb = Sandbox::new();
    // Quoted fields with commas, quotes and line breaks, CRLF line ends, bytes that are not
    // UTF-8, a blank line, spaces kept, and no line end after the last row.
    let rows: &[&[u8]] = &[
        b"\"Novak, Jan\",jan@mx.test,\"said \"\"hi\"\"\",  spaced  \r\n",
        b"\"two\nlines\",\"anna@a-only.test\",x,\xff\xfe\r\n",
        b"\r\n",
        b"bad,not-an-address,,\r\n",
        b"null,null@nullmx.test,=1+1,\r\n",
        b"last,nobody@nx.test,\"\",end",
    ];
    let mut input = b"name,email,note,other\r\n".to_vec();
    for r in rows {
        input.extend_from_slice(r);
    }
    sb.write("list.csv", &input);
    let run = validate(&sb, &server, &["list.csv"]);
    run.assert_code(0);
    let mut expected = b"name,email,note,other,valid,check,suggestion,normalized\r\n".to_vec();
    let cells: [&[u8]; 6] = [
        b",true,,,jan@mx.test\r\n",
        b",true,,,anna@a-only.test\r\n",
        b"",
        b",false,syntax,,\r\n",
        b",false,null_mx,,null@nullmx.test\r\n",
        b",false,no_domain,,nobody@nx.test\r\n",
    ];
    for (r, added) in rows.iter().zip(cells) {
        if added.is_empty() {
            expected.extend_from_slice(r);
            continue;
        }
        let body = r.strip_suffix(b"\r\n").unwrap_or(r);
        expected.extend_from_slice(body);
        expected.extend_from_slice(added);
    }
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&expected)
    );
    assert_eq!(run.stdout, expected, "byte for byte");
}

#[test]
fn only_valid_and_only_invalid_split_the_list_without_losing_a_row() {
    let server = DnsServer::start(PROVIDERS);
    let sb = Sandbox::new();
    let rows = [
        "1,jan@mx.test\n",
        "2,dead@deadmx.test\n",
        "3,slow@slow.test\n",
        "4,\"\"\"jan novak\"\"@mx.test\"\n",
        "5,nope\n",
        "6,postmaster@mx.test\n",
    ];
    let input = format!("id,email\n{}", rows.concat());
    sb.write("list.csv", input.as_bytes());
    let valid = validate(&sb, &server, &["--only-valid", "list.csv"]);
    let invalid = validate(&sb, &server, &["--only-invalid", "list.csv"]);
    let valid = String::from_utf8(valid.stdout.clone()).unwrap();
    let invalid = String::from_utf8(invalid.stdout.clone()).unwrap();
    // Rows as they were; unknown (slow.test) is not invalid, so it stays with the valid.
    assert_eq!(
        valid,
        format!("id,email\n{}{}{}{}", rows[0], rows[2], rows[3], rows[5])
    );
    assert_eq!(invalid, format!("id,email\n{}{}", rows[1], rows[4]));

    // The same for JSONL, lines as they were.
    let lines = "{\"email\": \"jan@mx.test\", \"n\": 1}\n{\"email\":\"x@nx.test\"}\n";
    sb.write("list.jsonl", lines.as_bytes());
    let run = validate(&sb, &server, &["--only-invalid", "list.jsonl"]);
    run.assert_code(0);
    assert_eq!(
        String::from_utf8_lossy(&run.stdout),
        "{\"email\":\"x@nx.test\"}\n"
    );
}

#[test]
fn jsonl_records_keep_their_fields_and_unreadable_lines_are_reported() {
    let sb = Sandbox::new();
    sb.write(
        "list.jsonl",
        b"{\"Email\":\"Jan@Example.ORG\",\"first\":\"Jan\",\"n\":1.50}\n\
          not json at all\n\
          {\"email\":null,\"first\":\"nobody\"}\n\
          {\"mail\":\"a@example.org\",\"valid\":\"yes\"}\n",
    );
    let run = sb.run(&["validate", "--no-dns", "list.jsonl"]);
    run.assert_code(0);
    let text = String::from_utf8(run.stdout.clone()).unwrap();
    let first = text.lines().next().unwrap();
    assert_eq!(
        first,
        "{\"Email\":\"Jan@Example.ORG\",\"first\":\"Jan\",\"n\":1.50,\"valid\":true,\"check\":null,\"suggestion\":null,\"normalized\":\"Jan@example.org\"}",
        "the object's own text is kept"
    );
    let records = run.records();
    assert_eq!(records.len(), 4, "{text}");
    check(
        "unreadable line",
        &records[1],
        &[
            ("line", is("not json at all")),
            ("valid", is(false)),
            ("check", is("unreadable")),
        ],
    );
    assert!(records[1]["error"].as_str().is_some_and(|e| !e.is_empty()));
    check(
        "null address",
        &records[2],
        &[
            ("first", is("nobody")),
            ("valid", is(false)),
            ("check", is("empty")),
        ],
    );
    check(
        "fields of the same name are replaced",
        &records[3],
        &[("valid", is(true)), ("normalized", is("a@example.org"))],
    );
    run.assert_stderr_counts_one_bad_message();
    // --strict turns the unreadable line into a failure.
    sb.run(&["validate", "--no-dns", "--strict", "list.jsonl"])
        .assert_code(1);
}

#[test]
fn invalid_addresses_go_to_the_store_only_when_asked() {
    let server = DnsServer::start(PROVIDERS);
    let sb = Sandbox::new();
    sb.write(
        "list.csv",
        b"email\njan@mx.test\nnobody@nx.test\nnull@nullmx.test\nslow@slow.test\n\
          burner@mailinator.com\nnot-an-address\njan@ex_ample.org\n",
    );
    validate(&sb, &server, &["--db", "store.db", "list.csv"]).assert_code(0);
    assert!(
        !sb.path().join("store.db").exists(),
        "without --to-store the store is not touched"
    );

    let run = validate(
        &sb,
        &server,
        &["--to-store", "--db", "store.db", "list.csv"],
    );
    run.assert_code(0);
    assert!(
        run.stderr.contains("3 recorded in the store"),
        "{}",
        run.stderr
    );
    let export = sb.run(&[
        "suppress", "--db", "store.db", "export", "--format", "jsonl",
    ]);
    let mut stored: Vec<(String, String, String)> = export
        .ok_records()
        .iter()
        .map(|r| {
            (
                r["email"].as_str().unwrap_or("").to_string(),
                r["state"].as_str().unwrap_or("").to_string(),
                r["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    stored.sort();
    let want = |e: &str| {
        (
            e.to_string(),
            "bounced".to_string(),
            "invalid_address".to_string(),
        )
    };
    assert_eq!(
        stored,
        [
            want("jan@ex_ample.org"),
            want("nobody@nx.test"),
            want("null@nullmx.test")
        ],
        "only the invalid addresses the store can key: not the valid, the unknown (slow), \
         the disposable (they take mail) or a value that is no address"
    );
    let show = sb.run(&[
        "suppress",
        "--db",
        "store.db",
        "show",
        "--format",
        "jsonl",
        "null@nullmx.test",
    ]);
    let shown = show.ok_records();
    let event = &shown[0]["events"][0];
    check(
        "the store's event",
        event,
        &[
            ("origin", is("validate")),
            ("source", is("list.csv")),
            ("reason", is("invalid_address")),
        ],
    );
    assert!(
        event["detail"]
            .as_str()
            .unwrap_or("")
            .starts_with("null_mx"),
        "{event}"
    );

    // The same verdicts again are the same events: nothing new.
    let again = validate(
        &sb,
        &server,
        &["--to-store", "--db", "store.db", "list.csv"],
    );
    assert!(
        again.stderr.contains("0 recorded in the store"),
        "{}",
        again.stderr
    );
}

#[test]
fn stdin_is_read_like_a_file() {
    let server = DnsServer::start(PROVIDERS);
    let sb = Sandbox::new();
    let mut input = String::from("email,n\n");
    for i in 0..3000 {
        input += &format!(
            "user{i}@{},{i}\n",
            ["mx.test", "nx.test", "gmial.com"][i % 3]
        );
    }
    sb.write("list.csv", input.as_bytes());
    let from_file = validate(&sb, &server, &["list.csv"]);
    let mut args = vec!["validate".to_string()];
    args.extend(dns_args(&server));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let from_stdin = sb.run_with_stdin(&args, input.as_bytes());
    from_file.assert_code(0);
    from_stdin.assert_code(0);
    assert_eq!(from_stdin.stdout, from_file.stdout);
    let text = String::from_utf8(from_file.stdout).unwrap();
    assert_eq!(text.lines().count(), 3001);
    assert!(text.contains("\nuser2@gmial.com,2,false,no_domain,user2@gmail.com,user2@gmial.com\n"));
}

#[test]
fn a_list_validated_before_is_refused_rather_than_annotated_twice() {
    let sb = Sandbox::new();
    sb.write(
        "checked.csv",
        b"email,valid,check,suggestion,normalized\na@example.org,true,,,a@example.org\n",
    );
    let run = sb.run(&["validate", "--no-dns", "checked.csv"]);
    run.assert_code(1);
    assert!(
        run.stderr.contains("already has a column"),
        "{}",
        run.stderr
    );
    // The filter modes add no columns, so they work on it.
    let run = sb.run(&["validate", "--no-dns", "--only-valid", "checked.csv"]);
    run.assert_code(0);
}

#[test]
fn the_list_is_never_written_over() {
    let sb = Sandbox::new();
    let list = b"email\na@example.org\n";
    sb.write("list.csv", list);
    let run = sb.run(&["validate", "--no-dns", "list.csv", "-o", "./list.csv"]);
    run.assert_code(1);
    assert!(run.stderr.contains("is the list itself"), "{}", run.stderr);
    assert_eq!(std::fs::read(sb.path().join("list.csv")).unwrap(), list);
}

#[test]
fn help_has_examples_and_bad_options_are_usage_errors() {
    let sb = Sandbox::new();
    let help = sb.run(&["validate", "--help"]);
    help.assert_code(0);
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("Examples:"), "{text}");
    assert!(text.contains("--nameserver"), "{text}");
    sb.run(&["validate", "--no-dns", "--nameserver", "127.0.0.1"])
        .assert_code(2);
    sb.run(&["validate", "--only-valid", "--only-invalid"])
        .assert_code(2);
    sb.run(&["validate", "--nameserver", "dns.example"])
        .assert_code(2);
    sb.run(&["validate", "--dns-timeout", "0"]).assert_code(2);
}
