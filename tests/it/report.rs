//! Integration tests of `bouncekit report`: the figures per campaign from send logs and
//! events joined by Message-ID, envelope id and recipient; the alerts; every format,
//! including HTML rendered by a real headless Chromium; and the lists to mail again.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::common::*;

fn send(recipient: &str, n: u32, campaign: &str, status: &str) -> Value {
    json!({
        "recipient": recipient,
        "message_id": format!("<{campaign}.{n}@news.example.com>"),
        "envelope_id": format!("{campaign}-{n}"),
        "campaign": campaign,
        "status": status,
        "smtp_code": if status == "sent" { 250 } else { 550 },
        "attempts": 1,
        "time": "2026-05-05T07:00:00Z",
    })
}

fn event(recipient: &str, kind: &str, reason: &str) -> Value {
    json!({
        "source": "x.eml",
        "recipient": recipient,
        "kind": kind,
        "reason": reason,
        "status": null,
        "diagnostic": format!("{kind} {reason}"),
        "original_message_id": null,
        "envelope_id": null,
        "campaign": null,
        "format": "rfc3464",
    })
}

fn jsonl(records: &[Value]) -> Vec<u8> {
    records
        .iter()
        .map(|r| format!("{r}\n"))
        .collect::<String>()
        .into_bytes()
}

/// A May campaign of six sends and a June one of two, with their reports.
fn campaign_files(sb: &Sandbox) {
    let mut refused = send("blocked@example.net", 6, "may", "failed");
    refused["kind"] = json!("block");
    refused["reason"] = json!("blocked");
    refused["response"] =
        json!("550 5.7.1 Service unavailable; client [192.0.2.1] blocked using zen.spamhaus.org");
    let sends = [
        send("ok@example.org", 1, "may", "sent"),
        send("gone@example.org", 2, "may", "sent"),
        send("full@example.net", 3, "may", "sent"),
        send("away@example.org", 4, "may", "sent"),
        send("silent@example.org", 5, "may", "sent"),
        refused,
        send("ok@example.org", 1, "june", "sent"),
        send("reader@example.org", 2, "june", "deferred"),
        send("reader@example.org", 2, "june", "sent"),
    ];
    sb.write("sent.jsonl", &jsonl(&sends));
    // Joined by Message-ID, by envelope id, and by recipient within a campaign.
    let mut delivered = event("ok@example.org", "delivered", "delivered");
    delivered["original_message_id"] = json!("<may.1@news.example.com>");
    let mut hard = event("gone@example.org", "hard", "user_unknown");
    hard["envelope_id"] = json!("may-2");
    let mut soft = event("full@example.net", "soft", "mailbox_full");
    soft["campaign"] = json!("may");
    let mut block = event("away@example.org", "block", "blocked");
    block["diagnostic"] = json!("554 5.7.1 rejected: listed at b.barracudacentral.org");
    let events = [
        delivered,
        hard,
        soft,
        event("away@example.org", "autoreply", "autoreply"),
        block,
        event("reader@example.org", "read", "read"),
        event("stranger@example.org", "hard", "user_unknown"),
        json!({"source": "y.eml", "kind": "not_bounce", "recipient": null}),
    ];
    sb.write("events.csv", &csv_of(&events));
}

/// The records as CSV (so the report reads a mix of formats).
fn csv_of(records: &[Value]) -> Vec<u8> {
    let columns = [
        "source",
        "recipient",
        "kind",
        "reason",
        "status",
        "diagnostic",
        "original_message_id",
        "envelope_id",
        "campaign",
        "format",
    ];
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(columns).unwrap();
    for r in records {
        w.write_record(columns.iter().map(|c| match &r[*c] {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        }))
        .unwrap();
    }
    w.into_inner().unwrap()
}

fn report_json(sb: &Sandbox) -> Value {
    let run = sb.run(&["report", "--format", "json", "sent.jsonl", "events.csv"]);
    run.assert_code(0);
    serde_json::from_slice(&run.stdout).expect("one JSON document")
}

#[test]
fn campaign_figures_count_each_message_once_by_what_came_back() {
    let sb = Sandbox::new();
    campaign_files(&sb);
    let report = report_json(&sb);
    let may = &report["campaigns"][1];
    check(
        "may",
        may,
        &[
            ("campaign", is("may")),
            ("sent", is(5)),
            ("rejected", is(1)),
            ("delivered", is(1)),
            ("hard", is(1)),
            ("soft", is(1)),
            ("block", is(1)),
            ("autoreply", is(1)),
            ("read", is(0)),
            ("no_feedback", is(1)),
            ("bounce_rate", is(0.4)),
            ("deliverability", is(0.6)),
        ],
    );
    let june = &report["campaigns"][0];
    check(
        "june",
        june,
        &[
            ("campaign", is("june")),
            ("sent", is(2)),
            ("deferred", is(0)),
            ("read", is(1)),
            ("no_feedback", is(1)),
        ],
    );
    assert_eq!(report["unmatched_events"], 1, "the stranger");
}

#[test]
fn alerts_group_sender_side_blocks_by_domain_and_blocklist_with_an_example() {
    let sb = Sandbox::new();
    campaign_files(&sb);
    let report = report_json(&sb);
    let lists = report["blocks_by_list"].as_array().unwrap();
    let names: Vec<&str> = lists.iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Barracuda", "Spamhaus"]);
    assert!(
        lists[1]["example"]
            .as_str()
            .unwrap()
            .contains("zen.spamhaus.org")
    );
    let domains = report["blocks_by_domain"].as_array().unwrap();
    assert_eq!(domains.len(), 2);
    let reasons = &report["reasons"];
    assert_eq!(reasons[0]["name"], "blocked");
    assert_eq!(reasons[0]["count"], 2);
}

#[test]
fn text_formats_carry_the_same_figures() {
    let sb = Sandbox::new();
    campaign_files(&sb);
    let table = sb.run(&["report", "--format", "table", "sent.jsonl", "events.csv"]);
    table.assert_code(0);
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(!table.contains('\x1b'), "no colour when not on a terminal");
    assert!(
        table.contains("deliverability") && table.contains("60.0%"),
        "{table}"
    );
    assert!(table.contains("Spamhaus"), "{table}");
    let md = sb.run(&["report", "--format", "markdown", "sent.jsonl", "events.csv"]);
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(md.contains("| bounce rate | 0.0% | 40.0% |"), "{md}");
    assert!(md.contains("| --- | ---: | ---: |"), "{md}");
    let csv = sb.run(&["report", "--format", "csv", "sent.jsonl", "events.csv"]);
    let csv = String::from_utf8(csv.stdout).unwrap();
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("campaign,sent,rejected,deferred,skipped,unknown_outcome,delivered,")
    );
    assert!(
        lines.any(|l| l.starts_with("may,5,1,0,0,0,1,0,1,1,1,0,1,0,0,1,0.4000,0.6000")),
        "{csv}"
    );
}

#[test]
fn top_limits_reasons_domains_and_alerts_and_domains_have_their_own_figures() {
    let sb = Sandbox::new();
    campaign_files(&sb);
    let report = report_json(&sb);
    // A failed send counts for its domain's list, not as a message sent; the stranger's
    // report matched no send, so it counts for no domain.
    let domains = report["domains"].as_array().unwrap();
    assert_eq!(domains.len(), 2);
    let want = [
        ("example.org", [6, 1, 1, 0, 1, 0]),
        ("example.net", [1, 0, 0, 1, 0, 0]),
    ];
    for (domain, (name, figures)) in domains.iter().zip(want) {
        check(
            name,
            domain,
            &[
                ("domain", is(name)),
                ("sent", is(figures[0])),
                ("delivered", is(figures[1])),
                ("hard", is(figures[2])),
                ("soft", is(figures[3])),
                ("block", is(figures[4])),
                ("complaint", is(figures[5])),
            ],
        );
    }
    let names = |report: &Value, key: &str| -> Vec<String> {
        report[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| text(v, if key == "domains" { "domain" } else { "name" }).to_string())
            .collect()
    };
    assert_eq!(
        names(&report, "reasons"),
        ["blocked", "user_unknown", "mailbox_full"]
    );

    let run = sb.run(&[
        "report",
        "--format",
        "json",
        "--top",
        "1",
        "sent.jsonl",
        "events.csv",
    ]);
    run.assert_code(0);
    let top: Value = serde_json::from_slice(&run.stdout).unwrap();
    // The largest of each (ties by name), and the campaign figures untouched.
    assert_eq!(names(&top, "reasons"), ["blocked"]);
    assert_eq!(top["reasons"][0]["count"], 2);
    assert_eq!(names(&top, "domains"), ["example.org"]);
    assert_eq!(names(&top, "blocks_by_list"), ["Barracuda"]);
    assert_eq!(names(&top, "blocks_by_domain").len(), 1);
    assert_eq!(top["campaigns"], report["campaigns"]);
}

#[test]
fn records_on_stdin_count_like_files() {
    let sb = Sandbox::new();
    campaign_files(&sb);
    let from_files = report_json(&sb);
    let sent = std::fs::read(sb.path().join("sent.jsonl")).unwrap();
    let events = std::fs::read(sb.path().join("events.csv")).unwrap();
    for (args, stdin) in [
        (&["events.csv", "-"][..], &sent),
        (&["sent.jsonl", "-"][..], &events),
        // No FILE at all: stdin.
        (&[][..], &sent),
    ] {
        let mut all = vec!["report", "--format", "json"];
        all.extend_from_slice(args);
        let run = sb.run_with_stdin(&all, stdin);
        run.assert_code(0);
        let report: Value = serde_json::from_slice(&run.stdout).unwrap();
        if args.is_empty() {
            // The sends alone: no event came back.
            assert_eq!(report["campaigns"][1]["sent"], 5);
            assert_eq!(report["campaigns"][1]["no_feedback"], 5);
        } else {
            assert_eq!(report["campaigns"], from_files["campaigns"], "{args:?}");
        }
    }
}

/// A report that names no recipient and quotes nothing of the message, returned to a VERP
/// address: `classify --verp` decodes the recipient from it, and `report` joins the event to
/// the send by that recipient.
#[test]
fn an_event_joins_its_send_through_the_recipient_its_verp_address_names() {
    let sb = Sandbox::new();
    let fixture = sb.fixture("verp_names_no_recipient.eml");
    sb.write(
        "sent.jsonl",
        &jsonl(&[
            send("jan@example.org", 1, "march", "sent"),
            send("eva@example.org", 2, "march", "sent"),
        ]),
    );
    let report_of = |classify_args: &[&str]| -> Value {
        let mut args = vec!["classify"];
        args.extend_from_slice(classify_args);
        args.push(&fixture);
        let events = sb.run(&args);
        events.assert_code(0);
        let run = sb.run_with_stdin(
            &["report", "--format", "json", "sent.jsonl", "-"],
            &events.stdout,
        );
        run.assert_code(0);
        serde_json::from_slice(&run.stdout).unwrap()
    };
    let report = report_of(&["--verp", "bounces@example.com"]);
    check(
        "march, with --verp",
        &report["campaigns"][0],
        &[
            ("campaign", is("march")),
            ("sent", is(2)),
            ("hard", is(1)),
            ("no_feedback", is(1)),
        ],
    );
    assert_eq!(report["unmatched_events"], 0);
    assert_eq!(report["domains"][0]["hard"], 1);
    // Without --verp the report is about nobody the logs know.
    let report = report_of(&[]);
    assert_eq!(report["campaigns"][0]["hard"], 0);
}

/// `bouncekit report sent.jsonl events.csv` on a pseudo-terminal (`script`, util-linux) of
/// `columns` columns (None: the 0 x 0 one `script` makes without a terminal of its own, as
/// under cron or CI), with NO_COLOR or not. Its output, colour codes removed, and whether
/// there were any.
fn report_on_a_terminal(sb: &Sandbox, columns: Option<u16>, no_color: bool) -> (String, bool) {
    let size = columns.map_or(String::new(), |c| format!("stty cols {c} rows 50; "));
    let mut cmd = Command::new("script");
    cmd.args([
        "-qec",
        &format!("{size}exec '{BIN}' -q report sent.jsonl events.csv"),
        "/dev/null",
    ])
    .env_clear()
    .env("PATH", "/usr/bin:/bin")
    .current_dir(sb.path())
    .stdin(std::process::Stdio::null());
    if no_color {
        cmd.env("NO_COLOR", "1");
    }
    let out = cmd
        .output()
        .expect("`script` (util-linux) runs the report on a pseudo-terminal");
    let text = String::from_utf8(out.stdout).unwrap().replace("\r\n", "\n");
    assert!(out.status.success(), "{text}");
    let plain = regex::Regex::new("\x1b\\[[0-9;]*m")
        .unwrap()
        .replace_all(&text, "")
        .into_owned();
    let coloured = plain != text;
    (plain, coloured)
}

/// Regression: a terminal of 0 columns squeezed every column to one character, and with
/// NO_COLOR the table ignored the terminal's width.
#[test]
fn tables_on_a_terminal_fit_it_and_one_of_no_width_gets_120_columns() {
    let sb = Sandbox::new();
    campaign_files(&sb);
    for (columns, no_color, width) in [
        (None, false, 120),
        (None, true, 120),
        (Some(70), false, 70),
        (Some(70), true, 70),
    ] {
        let (text, coloured) = report_on_a_terminal(&sb, columns, no_color);
        let what = format!("{columns:?} columns, NO_COLOR {no_color}:\n{text}");
        assert_eq!(coloured, !no_color, "{what}");
        // The tables' lines (a heading may be longer: the terminal wraps it).
        let widest = text
            .lines()
            .filter(|l| l.starts_with(['┌', '│', '╞', '└']))
            .map(|l| l.chars().count())
            .max()
            .unwrap();
        assert!(widest <= width, "{widest} columns wide: {what}");
        assert!(
            text.lines()
                .any(|l| l.contains("deliverability") && l.contains("60.0%")),
            "{what}"
        );
        assert!(text.contains("zen.spamhaus.org"), "{what}");
    }
}

#[test]
fn the_store_summary_counts_addresses_per_state() {
    let sb = Sandbox::new();
    campaign_files(&sb);
    sb.run(&[
        "suppress",
        "--db",
        "s.db",
        "block",
        "a@example.org",
        "b@example.org",
    ])
    .assert_code(0);
    let run = sb.run(&["report", "--format", "json", "--db", "s.db", "sent.jsonl"]);
    let report: Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report["store"], json!([{"name": "bounced", "count": 2}]));
}

#[test]
fn unconfirmed_recipients_come_out_as_a_list_to_mail_again() {
    let sb = Sandbox::new();
    campaign_files(&sb);
    sb.write(
        "customers.csv",
        b"first_name,Email\nOla,ok@example.org\n\"Gone, Sadly\",gone@example.org\nSi,silent@example.org\nRe,reader@example.org\n",
    );
    let plain = sb.run(&["report", "--unconfirmed", "sent.jsonl", "events.csv"]);
    plain.assert_code(0);
    let plain = String::from_utf8(plain.stdout).unwrap();
    let emails: Vec<&str> = plain
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(
        emails,
        [
            "gone@example.org",
            "full@example.net",
            "away@example.org",
            "silent@example.org",
            "ok@example.org"
        ]
    );
    let rows = sb.run(&[
        "report",
        "--confirmed",
        "--list",
        "customers.csv",
        "sent.jsonl",
        "events.csv",
    ]);
    assert_eq!(
        String::from_utf8(rows.stdout).unwrap(),
        "first_name,Email\nOla,ok@example.org\nRe,reader@example.org\n"
    );
    let rows = sb.run(&[
        "report",
        "--unconfirmed",
        "--list",
        "customers.csv",
        "sent.jsonl",
        "events.csv",
    ]);
    assert_eq!(
        String::from_utf8(rows.stdout).unwrap(),
        "first_name,Email\nOla,ok@example.org\n\"Gone, Sadly\",gone@example.org\nSi,silent@example.org\n"
    );
}

/// The recipients to mail again go straight into `send`: with `--list`, their rows keep the
/// columns the template uses (without it, `{{ first_name }}` has no value and every row is
/// skipped, as `--help` warns).
#[test]
fn unconfirmed_rows_of_the_list_pipe_into_send_with_their_template_variables() {
    let sb = Sandbox::new();
    campaign_files(&sb);
    sb.write(
        "customers.csv",
        b"first_name,Email\nOla,ok@example.org\n\"Gone, Sadly\",gone@example.org\nSi,silent@example.org\nRe,reader@example.org\n",
    );
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/offer.eml");
    let pipe = |report_args: &str, dir: &str| {
        let script = format!(
            "set -e; '{BIN}' -q report --unconfirmed {report_args} sent.jsonl events.csv \
             | '{BIN}' -q send --dry-run {dir} --no-store --from x@example.com \
               --template '{}' - > {dir}.log",
            template.display()
        );
        let out = Command::new("bash")
            .args(["-o", "pipefail", "-c", &script])
            .env_clear()
            .current_dir(sb.path())
            .output()
            .expect("run bash");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut files: Vec<(String, String)> = std::fs::read_dir(sb.path().join(dir))
            .map(|d| {
                d.map(|e| {
                    let e = e.unwrap();
                    (
                        e.file_name().to_string_lossy().into_owned(),
                        std::fs::read_to_string(e.path()).unwrap(),
                    )
                })
                .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
    };

    let files = pipe("--list customers.csv", "again");
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "000001-ok@example.org.eml",
            "000002-gone@example.org.eml",
            "000003-silent@example.org.eml"
        ]
    );
    for ((_, eml), (name, to)) in files.iter().zip([
        ("Ola", "ok@example.org"),
        ("Gone, Sadly", "gone@example.org"),
        ("Si", "silent@example.org"),
    ]) {
        assert!(
            eml.contains(&format!("Subject: {name}, our May offer"))
                && eml.contains(&format!("Hello {name},"))
                && eml.contains(&format!("To: <{to}>")),
            "{eml}"
        );
    }

    // Without --list there is nothing to fill {{ first_name }} with.
    assert!(pipe("", "bare").is_empty());
    let log = std::fs::read_to_string(sb.path().join("bare.log")).unwrap();
    assert_eq!(log.lines().count(), 5, "{log}");
    assert!(
        log.lines().all(|l| l.contains("\"missing_variable\"")),
        "{log}"
    );
}

#[test]
fn help_says_how_to_keep_the_lists_columns_for_templates() {
    let help = Sandbox::new().run(&["report", "--help"]);
    help.assert_code(0);
    let text = String::from_utf8_lossy(&help.stdout).replace('\n', " ");
    let words = regex::Regex::new(r"\s+").unwrap().replace_all(&text, " ");
    assert!(
        words.contains("add `--list FILE` to get the list's own rows"),
        "{words}"
    );
}

#[test]
fn html_is_one_self_contained_page_with_svg_charts() {
    let sb = Sandbox::new();
    campaign_files(&sb);
    let run = sb.run(&[
        "report",
        "--format",
        "html",
        "sent.jsonl",
        "events.csv",
        "-o",
        "r.html",
    ]);
    run.assert_code(0);
    let html = std::fs::read_to_string(sb.path().join("r.html")).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<svg").count(), 3, "kinds, reasons, domains");
    for forbidden in ["<script", "src=", "href=", "@import", "url("] {
        assert!(!html.contains(forbidden), "{forbidden} in the page");
    }
    assert!(html.contains("zen.spamhaus.org"));
}

/// Renders `html` to a PNG with headless Chromium and returns its pixels (RGBA) and width.
fn render_with_chromium(dir: &Path, html: &Path) -> (Vec<u8>, u32) {
    let chromium = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok())
        .expect(
            "Chromium is needed to test the HTML report: install it with \
             `apt-get install chromium`, or run `bash .ci/run`",
        );
    let png = dir.join("report.png");
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=900,1400",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("run chromium");
    assert!(
        png.exists(),
        "chromium wrote no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    pixels.truncate(info.buffer_size());
    let rgba = match info.color_type {
        png::ColorType::Rgba => pixels,
        png::ColorType::Rgb => pixels
            .chunks(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    (rgba, info.width)
}

#[test]
fn the_html_report_renders_its_charts_in_chromium() {
    let sb = Sandbox::new();
    campaign_files(&sb);
    sb.run(&[
        "report",
        "--format",
        "html",
        "sent.jsonl",
        "events.csv",
        "-o",
        "r.html",
    ])
    .assert_code(0);
    let (pixels, width) = render_with_chromium(sb.path(), &sb.path().join("r.html"));
    let count = |rgb: [u8; 3]| {
        pixels
            .chunks(4)
            .filter(|p| p[..3].iter().zip(rgb).all(|(a, b)| a.abs_diff(b) <= 6))
            .count()
    };
    // The delivered (blue) and hard (vermillion) parts of the campaign bars, and the bars
    // of the top reasons, are drawn.
    assert!(
        count([0x00, 0x72, 0xb2]) > 500,
        "no blue bars drawn (width {width})"
    );
    assert!(count([0xd5, 0x5e, 0x00]) > 500, "no vermillion bars drawn");
    let white = count([255, 255, 255]);
    assert!(
        white < pixels.len() / 4,
        "the page is mostly white: nothing rendered?"
    );
}
