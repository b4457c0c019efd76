//! `bouncekit send`: mails a template to a recipient list over SMTP, with delivery status
//! notifications asked for, and writes the send log, a journal that lets a crashed run be
//! resumed without mailing anyone twice.
//!
//! This module holds the command line and the run: reading the list, deciding each row
//! (invalid, duplicate, suppressed in the store, already done in the log being resumed),
//! rendering (`template`), and handing messages to the sessions (`deliver`) that write the
//! journal (`journal`). Rows are decided in list order; messages go out in parallel.

mod deliver;
mod journal;
mod template;

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use nohash_hasher::BuildNoHashHasher;
use serde_json::{Map, Value};

use crate::address::{self, Address};
use crate::exit::Exit;
use crate::io::Format;
use crate::record::{SendRecord, SendStatus};
use crate::records::{self, Item};
use crate::smtp::{self, Connector, Credentials, Server};
use crate::store::{self, Store};
use deliver::{Counters, Job, Options, Rate, Shared};
use journal::{Journal, Resumed};
use template::{Fixed, Template};

/// Mails a template to every row of a recipient list and writes the send log: one record per
/// recipient (sent, failed, deferred, skipped or dry_run), each flushed as it is decided.
///
/// LIST is a CSV file with a header, or JSONL; stdin by default. The address column is found by
/// name (email, e-mail, mail, address, ...; --column names another); every column is a template
/// variable. A row is never mailed when its address is invalid, not sendable in the store
/// (bounced, unsubscribed, complained, inactive), already mailed in this run, or when the
/// template needs a value the row does not have (or has empty): each is logged as `skipped`
/// with its reason.
///
/// Delivery reports (DSN, RFC 3461) are asked for whenever the server offers them, and each
/// message carries a Message-ID, envelope id and X-Bouncekit-Campaign that `classify` links its
/// reports back to. Replies: 2xx is `sent`; 4xx is tried again with backoff, then `deferred`;
/// 5xx is `failed`, with kind and reason from the reply classifier, ready for `suppress add`.
///
/// Exactly once: a `sending` record is flushed before each message is committed (the final dot
/// of DATA) and its outcome right after the reply. Run the same command with `-o LOG --resume
/// LOG` after a crash: recipients sent (or failed) in LOG are passed over, deferred and skipped
/// ones are tried again, and one whose message was being committed when the run died is
/// reported and not sent again unless --resend-unknown.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    bouncekit send --smtp smtp://mail.example.com:587 --from news@example.com \\\n      \
    --template offer.eml --campaign may-2026 customers.csv > sent.jsonl\n  \
    bouncekit suppress filter customers.csv | bouncekit send --smtp smtps://mail.example.com \\\n      \
    --user news --password-file ~/.smtp-password --from news@example.com \\\n      \
    --subject 'Hello {{ first_name }}' --text offer.txt --html offer.html\n  \
    # resumable, e.g. from cron: the same command finishes what a crashed run left\n  \
    bouncekit send --smtp smtp://mail.example.com --from news@example.com --template offer.eml \\\n      \
    --campaign may-2026 -o may-2026.jsonl --resume may-2026.jsonl customers.csv\n  \
    bouncekit send --from news@example.com --template offer.eml --dry-run preview/ customers.csv\n  \
    bouncekit suppress add sent.jsonl     # remember the addresses refused at send time")]
pub struct SendArgs {
    /// The recipient list: CSV with a header, or JSONL; `-` for stdin (the default).
    #[arg(value_name = "LIST")]
    pub list: Option<String>,

    /// The SMTP server: smtp://HOST[:PORT] (STARTTLS whenever offered; port 25 by default) or
    /// smtps://HOST[:PORT] (TLS from the start; port 465).
    #[arg(long, value_name = "URL", required_unless_present = "dry_run")]
    pub smtp: Option<String>,

    /// The sender: the envelope sender (which gets the delivery reports, unless --verp) and
    /// the From header when the template has none. `Name <address>` sets a display name.
    #[arg(long, value_name = "ADDRESS")]
    pub from: String,

    /// The message template: an RFC 5322 file (headers, blank line, body; MIME allowed) with
    /// variables like {{ first_name }} in headers and body.
    #[arg(long, value_name = "FILE", required_unless_present = "subject", conflicts_with_all = ["subject", "text", "html"])]
    pub template: Option<PathBuf>,

    /// The Subject (a template) when there is no --template file; with --text and/or --html.
    #[arg(long, value_name = "TEXT")]
    pub subject: Option<String>,

    /// The plain-text body (a template file), with --subject.
    #[arg(long, value_name = "FILE", requires = "subject")]
    pub text: Option<PathBuf>,

    /// The HTML body (a template file; values are HTML-escaped), with --subject.
    #[arg(long, value_name = "FILE", requires = "subject")]
    pub html: Option<PathBuf>,

    /// The campaign's name, recorded in the log, the X-Bouncekit-Campaign header, the
    /// Message-ID and the envelope id (letters, digits, `.`, `_`, `-`).
    #[arg(long, value_name = "NAME", value_parser = parse_campaign)]
    pub campaign: Option<String>,

    /// The address column, when it is not found by name.
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,

    /// Write the send log to FILE instead of stdout (the same FILE as --resume appends to it).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Format of the send log.
    #[arg(long, value_enum, default_value_t = Format::Jsonl)]
    pub format: Format,

    /// Resume from a send log: recipients sent or failed in LOG are not mailed again. LOG must
    /// exist, unless it is also the -o file (the first run of a resumable command).
    #[arg(long, value_name = "LOG")]
    pub resume: Option<PathBuf>,

    /// With --resume: send again to recipients whose outcome is unknown (the run died while
    /// their message was being committed; they may have received it).
    #[arg(long, requires = "resume")]
    pub resend_unknown: bool,

    /// The recipient store (SQLite) whose unsendable addresses are never mailed [default:
    /// $BOUNCEKIT_DB, else the default store when it exists].
    #[arg(long, value_name = "PATH", env = "BOUNCEKIT_DB")]
    pub db: Option<PathBuf>,

    /// Do not consult the recipient store (not even the one $BOUNCEKIT_DB names).
    #[arg(long)]
    pub no_store: bool,

    /// What a delivery report returns of the message: the headers or the full message.
    #[arg(long, value_enum, default_value_t = DsnRet::Hdrs, value_name = "WHAT")]
    pub dsn_ret: DsnRet,

    /// Which delivery reports to ask for: any of failure, delay, success (comma-separated),
    /// or never.
    #[arg(long, value_name = "LIST", default_value = "failure,delay", value_parser = parse_notify)]
    pub notify: String,

    /// Stop when the server does not offer DSN (by default: say so once and send anyway).
    #[arg(long)]
    pub require_dsn: bool,

    /// Ask for read receipts (Disposition-Notification-To: the --from address).
    #[arg(long)]
    pub read_receipt: bool,

    /// VERP: send each message from BASE's local part plus the recipient (bounces@example.com
    /// sends to jan@example.org from bounces+jan=example.org@example.com), which
    /// `classify --verp` decodes.
    #[arg(long, value_name = "BASE")]
    pub verp: Option<String>,

    /// Add List-Unsubscribe with this https URL (a template: e.g.
    /// https://example.com/u?e={{ email | urlencode }}) and List-Unsubscribe-Post for one-click
    /// unsubscribing (RFC 8058).
    #[arg(long, value_name = "URL")]
    pub unsubscribe_url: Option<String>,

    /// Add List-Unsubscribe with this mailto address (a template).
    #[arg(long, value_name = "ADDRESS")]
    pub unsubscribe_mailto: Option<String>,

    /// Parallel SMTP sessions, each sending many messages.
    #[arg(short = 'c', long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub connections: u16,

    /// The overall limit: N messages per second, minute or hour (e.g. 20/s, 600/m, 5000/h).
    #[arg(long, value_name = "N/UNIT", value_parser = parse_rate)]
    pub rate: Option<f64>,

    /// Messages per session before it is closed and a new one opened [default: no limit].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_per_connection: Option<u64>,

    /// Attempts after a temporary refusal (4xx) before the recipient is `deferred`.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,

    /// The wait before the first retry; it doubles with each one (e.g. 500ms, 10s, 2m).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub retry_delay: Duration,

    /// How long to wait for the server at any step.
    #[arg(long, value_name = "DURATION", default_value = "2m", value_parser = parse_duration)]
    pub timeout: Duration,

    /// Trust only the CA certificates in FILE (PEM), e.g. a private CA, instead of the system's.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,

    /// The user to authenticate as (AUTH PLAIN or LOGIN), with --password-env or
    /// --password-file.
    #[arg(long, value_name = "NAME")]
    pub user: Option<String>,

    /// The environment variable that holds the password.
    #[arg(
        long,
        value_name = "NAME",
        requires = "user",
        conflicts_with = "password_file"
    )]
    pub password_env: Option<String>,

    /// The file whose first line is the password.
    #[arg(long, value_name = "FILE", requires = "user")]
    pub password_file: Option<PathBuf>,

    /// Authenticate even when the server offers no TLS (the password then travels in plain
    /// text).
    #[arg(long)]
    pub allow_plaintext_auth: bool,

    /// The name given in EHLO [default: this machine's host name].
    #[arg(long, value_name = "NAME")]
    pub helo: Option<String>,

    /// Render every message into DIR as .eml files and connect nowhere.
    #[arg(long, value_name = "DIR")]
    pub dry_run: Option<PathBuf>,

    /// Exit 1 at the end if any row was failed, deferred, of unknown outcome, unreadable, had
    /// an invalid address or could not be rendered.
    #[arg(long)]
    pub strict: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DsnRet {
    /// Only the headers of the message (RET=HDRS).
    Hdrs,
    /// The whole message (RET=FULL).
    Full,
}

fn parse_campaign(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && !text.starts_with('.')
        && !text.ends_with('.')
        && !text.contains("..");
    if ok {
        Ok(text.to_string())
    } else {
        Err("use 1 to 64 letters, digits, `.`, `_` and `-` (it goes into the Message-ID)".into())
    }
}

fn parse_notify(text: &str) -> Result<String, String> {
    let words: Vec<String> = text
        .split(',')
        .map(|w| w.trim().to_ascii_uppercase())
        .filter(|w| !w.is_empty())
        .collect();
    if words == ["NEVER"] {
        return Ok("NEVER".into());
    }
    if words.is_empty()
        || words
            .iter()
            .any(|w| !matches!(w.as_str(), "SUCCESS" | "FAILURE" | "DELAY"))
    {
        return Err("use any of failure, delay, success (comma-separated), or never".into());
    }
    let mut unique = Vec::new();
    for w in words {
        if !unique.contains(&w) {
            unique.push(w);
        }
    }
    Ok(unique.join(","))
}

/// `20/s`, `600/m`, `5000/h` (or a bare number per second) as messages per second.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let (n, unit) = text.split_once('/').unwrap_or((text, "s"));
    let n: f64 = n
        .trim()
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n > 0.0)
        .ok_or_else(|| format!("not a rate: {text:?} (use e.g. 20/s, 600/m, 5000/h)"))?;
    let per = match unit.trim() {
        "s" | "sec" | "second" => 1.0,
        "m" | "min" | "minute" => 60.0,
        "h" | "hour" => 3600.0,
        other => return Err(format!("unknown rate unit {other:?} (use s, m or h)")),
    };
    Ok(n / per)
}

/// `500ms`, `10s`, `2m`, `1h` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n: f64 = n
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n >= 0.0)
        .ok_or_else(|| format!("not a duration: {text:?} (use e.g. 500ms, 10s, 2m)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "" | "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        other => {
            return Err(format!(
                "unknown duration unit {other:?} (use ms, s, m or h)"
            ));
        }
    };
    Ok(Duration::from_secs_f64(secs))
}

/// Now as the send log writes it: RFC 3339 UTC with milliseconds.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `Name <a@b>` or `a@b` as (the From header's value, the address).
fn parse_from(text: &str) -> Result<(String, Address)> {
    let text = text.trim();
    let (display, raw) = match (text.rfind('<'), text.ends_with('>')) {
        (Some(i), true) => (text[..i].trim(), &text[i..]),
        _ => ("", text),
    };
    let address = Address::parse(raw).map_err(|e| anyhow::anyhow!("--from: {e}: {raw:?}"))?;
    if display.contains(['\r', '\n']) {
        bail!("--from: a line break in the display name");
    }
    let header = if display.is_empty() {
        address.email.clone()
    } else {
        format!("{display} <{}>", address.email)
    };
    Ok((header, address))
}

/// `bounces@example.com` and `jan@example.org` → `bounces+jan=example.org@example.com`.
fn verp_address(base: &Address, recipient: &Address) -> String {
    let (local, domain) = base.email.rsplit_once('@').expect("an address has an @");
    let (r_local, r_domain) = recipient
        .email
        .rsplit_once('@')
        .expect("an address has an @");
    format!("{local}+{r_local}={r_domain}@{domain}")
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        })
        .unwrap_or_else(|| "localhost".into())
}

/// 64 random bits in base 36: the run's part of every Message-ID and envelope id.
fn run_id() -> Result<String> {
    let mut n = getrandom::u64().context("no randomness for the Message-IDs")?;
    let mut out = Vec::new();
    while n > 0 {
        out.push(b"0123456789abcdefghijklmnopqrstuvwxyz"[(n % 36) as usize]);
        n /= 36;
    }
    out.reverse();
    Ok(String::from_utf8(out).expect("ASCII"))
}

/// The store's unsendable addresses, by key hash, with `suppressed:<state>` and the store's
/// reason.
type Unsendable = HashMap<u64, (String, Option<String>), BuildNoHashHasher<u64>>;

fn load_store(args: &SendArgs, quiet: bool) -> Result<Unsendable> {
    let mut map = Unsendable::default();
    if args.no_store {
        return Ok(map);
    }
    let path = match &args.db {
        Some(p) => p.clone(),
        None => match store::default_path() {
            Ok(path) if path.exists() => path,
            found => {
                if !quiet {
                    let place = found
                        .map_or_else(|e| format!("({e:#})"), |p| format!("at {}", p.display()));
                    eprintln!(
                        "bouncekit: send: no recipient store {place}: nothing is suppressed \
                         (--no-store says that is intended)"
                    );
                }
                return Ok(map);
            }
        },
    };
    let store = Store::open_existing(&path)?;
    store.for_each_unsendable(|hash, _key, state, reason| {
        map.insert(
            hash,
            (
                format!("suppressed:{}", state.as_str()),
                reason.map(str::to_string),
            ),
        );
    })?;
    Ok(map)
}

/// What the main thread tallies (the workers count the rest in `Counters`).
#[derive(Debug, Default)]
struct Tally {
    rows: u64,
    already: u64,
    suppressed: u64,
    invalid: u64,
    duplicate: u64,
    template: u64,
    unknown_held: Vec<String>,
    unreadable: u64,
}

pub fn run(args: SendArgs, quiet: bool) -> Result<Exit> {
    // Everything that can be wrong with the command is found before anything is sent.
    let (from_header, from) = parse_from(&args.from)?;
    let verp = args
        .verp
        .as_deref()
        .map(|v| Address::parse(v).map_err(|e| anyhow::anyhow!("--verp: {e}: {v:?}")))
        .transpose()?;
    if let Some(url) = &args.unsubscribe_url
        && !url
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("https://")
    {
        bail!("--unsubscribe-url must be an https:// URL (RFC 8058 one-click unsubscribing)");
    }
    let domain = from.email.rsplit_once('@').expect("an address has an @").1;
    let mut fixed = Fixed {
        from: from_header,
        ..Fixed::default()
    };
    if let Some(c) = &args.campaign {
        fixed
            .extra
            .push((crate::classify::links::CAMPAIGN_HEADER.into(), c.clone()));
    }
    if args.read_receipt {
        fixed.extra.push((
            "Disposition-Notification-To".into(),
            format!("<{}>", from.email),
        ));
    }
    let unsubscribe: Vec<String> = [
        args.unsubscribe_url
            .as_ref()
            .map(|u| format!("<{}>", u.trim())),
        args.unsubscribe_mailto
            .as_ref()
            .map(|m| format!("<mailto:{}>", m.trim().trim_start_matches("mailto:"))),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !unsubscribe.is_empty() {
        fixed
            .extra_templates
            .push(("List-Unsubscribe".into(), unsubscribe.join(", ")));
    }
    if args.unsubscribe_url.is_some() {
        fixed.extra.push((
            "List-Unsubscribe-Post".into(),
            "List-Unsubscribe=One-Click".into(),
        ));
    }
    let template = match (&args.template, &args.subject) {
        (Some(path), _) => Template::from_file(path, fixed)?,
        (None, Some(subject)) => {
            Template::from_parts(subject, args.text.as_deref(), args.html.as_deref(), fixed)?
        }
        (None, None) => bail!("give --template FILE, or --subject with --text and/or --html"),
    };
    let unsendable = load_store(&args, quiet)?;
    let same_file = |a: &Path, b: &Path| {
        a == b
            || (a.exists()
                && b.exists()
                && std::fs::canonicalize(a).ok() == std::fs::canonicalize(b).ok())
    };
    let append = match (&args.resume, &args.output) {
        (Some(r), Some(o)) => same_file(r, o),
        _ => false,
    };
    if let Some(path) = &args.resume
        && !append
        && !path.exists()
    {
        bail!(
            "no log to resume at {} (for a command that creates its log on the first run and \
             resumes it after, give the same file to -o and --resume)",
            path.display()
        );
    }
    // The log is opened (and locked) before the log to resume is read: a run that finishes
    // between the two could otherwise leave this one with a stale view of who was mailed.
    // Resuming from the log being appended to, a missing one is a first run (opening made it).
    let journal = Arc::new(Journal::open(args.output.as_deref(), args.format, append)?);
    let resumed = match &args.resume {
        Some(path) => Resumed::read(path)?,
        None => Resumed::default(),
    };
    if resumed.unreadable > 0 && !quiet {
        eprintln!(
            "bouncekit: send: {} unreadable line(s) in the log to resume (a line cut short by a \
             crash is one)",
            resumed.unreadable
        );
    }
    if let Some(dir) = &args.dry_run {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the --dry-run folder {}", dir.display()))?;
    }
    let list = args.list.clone().unwrap_or_else(|| "-".into());
    let show_bar = !quiet && std::io::stderr().is_terminal();
    let total = if show_bar && io_is_file(&list) {
        Some(count_rows(&list)?)
    } else {
        None
    };

    let mut counters = Counters::default();
    if show_bar {
        counters.bar = Some(progress_bar(total));
    }
    let counters = Arc::new(counters);
    if let (Some(bar), true) = (&counters.bar, show_bar) {
        style_bar(bar, counters.clone(), total.is_some());
    }
    if args.read_receipt && !quiet {
        eprintln!(
            "bouncekit: send: note: --read-receipt asks every recipient's mail program to send a \
             read receipt; many never do, and some recipients find being asked intrusive"
        );
    }

    let connector = match &args.smtp {
        Some(url) if args.dry_run.is_none() => Some(connector(&args, url)?),
        _ => None,
    };
    let run_id = run_id()?;
    let started = Instant::now();
    let mut tally = Tally::default();
    let options = Options {
        campaign: args.campaign.clone(),
        dsn_ret: match args.dsn_ret {
            DsnRet::Hdrs => "HDRS",
            DsnRet::Full => "FULL",
        },
        notify: args.notify.clone(),
        require_dsn: args.require_dsn,
        retries: args.retries,
        retry_delay: args.retry_delay,
        max_per_connection: args.max_per_connection,
        quiet,
        sender_per_message: verp.is_some(),
    };
    let ctx = RowContext {
        args: &args,
        template: &template,
        unsendable: &unsendable,
        resumed: &resumed,
        verp: verp.as_ref(),
        from: &from,
        domain,
        run_id: &run_id,
        journal: &journal,
        counters: &counters,
    };

    let result: Result<()> = match connector {
        None => read_list(&ctx, &list, &mut tally, &mut |_job| true),
        Some(connector) => {
            let shared = Shared::new(
                connector,
                journal.clone(),
                usize::from(args.connections) * 64,
                args.rate.map(Rate::new),
                counters.clone(),
                options,
            );
            // The first session is opened before the list is read: a wrong address, port,
            // certificate or password stops the run before any row is decided.
            let first = shared.connect().map_err(anyhow::Error::new)?;
            std::thread::scope(|scope| {
                let mut first = Some(first);
                for _ in 0..args.connections {
                    let conn = first.take();
                    let shared = &shared;
                    scope.spawn(move || {
                        // A worker that panics must not leave the reader waiting for room in
                        // the queue forever.
                        let _guard = deliver::StopOnPanic(shared);
                        deliver::worker(shared, conn)
                    });
                }
                let read = read_list(&ctx, &list, &mut tally, &mut |job| shared.queue.push(job));
                if let Err(e) = &read {
                    shared.stop(anyhow::anyhow!("{e:#}"));
                }
                shared.queue.close();
                read
            })
            .and_then(|()| {
                let fatal = shared
                    .fatal
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .take();
                match fatal {
                    Some(e) => Err(e.context(stopped(&args, append, shared.queue.abandoned()))),
                    None => Ok(()),
                }
            })
        }
    };
    if let Some(bar) = &counters.bar {
        bar.finish_and_clear();
    }
    if !quiet {
        summary(&tally, &counters, started.elapsed(), &args);
    }
    result?;
    let c = |s| counters.get(s);
    let bad = c(SendStatus::Failed)
        + c(SendStatus::Deferred)
        + c(SendStatus::Unknown)
        + tally.invalid
        + tally.template
        + tally.unreadable
        + tally.unknown_held.len() as u64;
    Ok(if args.strict && bad > 0 {
        Exit::Failure
    } else {
        Exit::Success
    })
}

/// What a run that stopped says about the rows it left, and how to go on.
fn stopped(args: &SendArgs, append: bool, left: u64) -> String {
    let how = match &args.output {
        Some(o) if append => format!("; run the same command again to go on from {}", o.display()),
        Some(o) => format!(
            "; to go on, run the same command with -o {o} --resume {o}",
            o = o.display()
        ),
        None => "; to go on, run the same command with --resume and the log written so far".into(),
    };
    format!("the run stopped with {left} message(s) not sent{how}")
}

fn io_is_file(name: &str) -> bool {
    !crate::io::is_stdio(name) && Path::new(name).is_file()
}

/// The rows of a list file, for the progress bar's total.
fn count_rows(name: &str) -> Result<u64> {
    let mut n = 0;
    records::for_each_record(crate::io::open_input(name)?, false, |_: Item<Value>| {
        n += 1;
        Ok(())
    })?;
    Ok(n)
}

fn connector(args: &SendArgs, url: &str) -> Result<Connector> {
    let server = Server::parse(url).map_err(|e| anyhow::anyhow!("--smtp: {e}"))?;
    let credentials = match &args.user {
        None => None,
        Some(user) => {
            let password = match (&args.password_env, &args.password_file) {
                (Some(var), _) => std::env::var(var)
                    .with_context(|| format!("--password-env: ${var} is not set"))?,
                (None, Some(path)) => smtp::read_password_file(path)?,
                (None, None) => bail!(
                    "--user needs --password-env NAME or --password-file FILE (never the password \
                     itself on the command line)"
                ),
            };
            Some(Credentials {
                user: user.clone(),
                password,
            })
        }
    };
    Ok(Connector {
        server,
        helo: args.helo.clone().unwrap_or_else(host_name),
        timeout: args.timeout,
        tls: smtp::client_config(args.ca_file.as_deref())?,
        credentials,
        allow_plaintext_auth: args.allow_plaintext_auth,
    })
}

/// What deciding a row needs.
struct RowContext<'a> {
    args: &'a SendArgs,
    template: &'a Template,
    unsendable: &'a Unsendable,
    resumed: &'a Resumed,
    verp: Option<&'a Address>,
    from: &'a Address,
    domain: &'a str,
    run_id: &'a str,
    journal: &'a Journal,
    counters: &'a Counters,
}

impl RowContext<'_> {
    fn skip(&self, recipient: Option<String>, reason: &str, detail: Option<String>) -> Result<()> {
        let record = SendRecord {
            recipient,
            campaign: self.args.campaign.clone(),
            status: Some(SendStatus::Skipped),
            reason: Some(reason.to_string()),
            detail,
            time: Some(now_rfc3339()),
            ..SendRecord::default()
        };
        self.journal.write(&record)?;
        self.counters.count(SendStatus::Skipped);
        Ok(())
    }
}

/// Reads the list and decides every row in order; `push` hands a message on (false: the run
/// stopped, read no further).
fn read_list(
    ctx: &RowContext,
    list: &str,
    tally: &mut Tally,
    push: &mut dyn FnMut(Job) -> bool,
) -> Result<()> {
    let reader = crate::io::open_input(list)?;
    let mut seen: HashSet<u64, BuildNoHashHasher<u64>> = HashSet::default();
    let mut stop = false;
    let mut stuffed_len = 0usize;
    records::for_each_record(reader, false, |item: Item<Map<String, Value>>| {
        if stop {
            return Ok(());
        }
        tally.rows += 1;
        let row = match item {
            Item::Record(row) => row,
            Item::Bad { at, error } => {
                tally.unreadable += 1;
                return ctx.skip(
                    None,
                    "unreadable_row",
                    Some(format!("row at line {at}: {error}")),
                );
            }
        };
        let names: Vec<&str> = row.keys().map(String::as_str).collect();
        let column = records::address_column(&names, ctx.args.column.as_deref())?;
        let raw = records::text(&row, names[column]);
        let address = match raw.as_deref().map(Address::parse) {
            Some(Ok(a)) => a,
            Some(Err(e)) => {
                tally.invalid += 1;
                return ctx.skip(raw, "invalid_address", Some(e.to_string()));
            }
            None => {
                tally.invalid += 1;
                return ctx.skip(
                    None,
                    "invalid_address",
                    Some("no address in the row".into()),
                );
            }
        };
        if ctx.resumed.is_done(&address) {
            tally.already += 1;
            return Ok(());
        }
        let hash = address::key_hash(&address.key);
        if !seen.insert(hash) {
            tally.duplicate += 1;
            return ctx.skip(Some(address.email), "duplicate", None);
        }
        if let Some((_, message_id)) = ctx.resumed.unknown(&address)
            && !ctx.args.resend_unknown
        {
            tally.unknown_held.push(address.email.clone());
            return ctx.skip(
                Some(address.email),
                "unknown_outcome",
                Some(format!(
                    "a run stopped while {message_id} was being committed: it may have been \
                     delivered (--resend-unknown sends it again)"
                )),
            );
        }
        if let Some((reason, why)) = ctx.unsendable.get(&hash) {
            tally.suppressed += 1;
            return ctx.skip(Some(address.email), reason, why.clone());
        }
        let unique = format!("{}.{}", ctx.run_id, tally.rows);
        let envelope_id = match &ctx.args.campaign {
            Some(c) => format!("{c}.{unique}"),
            None => unique.clone(),
        };
        let message_id = format!("<{envelope_id}@{}>", ctx.domain);
        let date = chrono::Utc::now().to_rfc2822();
        let vars = template::row_vars(&row);
        let message = match ctx.template.render(
            &vars,
            &template::Envelope {
                recipient: &address.email,
                message_id: &message_id,
                unique: &unique,
                date: &date,
            },
        ) {
            Ok(m) => m,
            Err(e) => {
                tally.template += 1;
                return ctx.skip(Some(address.email), e.reason, Some(e.detail));
            }
        };
        if let Some(dir) = &ctx.args.dry_run {
            let name = format!("{:06}-{}.eml", tally.rows, file_safe(&address.email));
            let path = dir.join(name);
            std::fs::write(&path, &message)
                .with_context(|| format!("cannot write {}", path.display()))?;
            let record = SendRecord {
                recipient: Some(address.email),
                message_id: Some(message_id),
                envelope_id: Some(envelope_id),
                campaign: ctx.args.campaign.clone(),
                status: Some(SendStatus::DryRun),
                detail: Some(path.display().to_string()),
                time: Some(now_rfc3339()),
                ..SendRecord::default()
            };
            ctx.journal.write(&record)?;
            ctx.counters.count(SendStatus::DryRun);
            return Ok(());
        }
        let mut wire = Vec::with_capacity(stuffed_len.max(message.len() + 64));
        smtp::dot_stuff_into(&message, &mut wire);
        stuffed_len = wire.len();
        let envelope_from = match ctx.verp {
            Some(base) => verp_address(base, &address),
            None => ctx.from.email.clone(),
        };
        let job = Job {
            utf8_address: !address.email.is_ascii(),
            eight_bit: !message.is_ascii(),
            recipient: address.email,
            message_id,
            envelope_id,
            envelope_from,
            wire,
            attempts: 0,
        };
        if !push(job) {
            stop = true;
        }
        Ok(())
    })
}

/// An address as part of a file name.
fn file_safe(email: &str) -> String {
    email
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '@' | '.' | '_' | '-' | '+' | '=') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn progress_bar(total: Option<u64>) -> indicatif::ProgressBar {
    let bar = match total {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::new_spinner(),
    };
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(5));
    bar
}

fn style_bar(bar: &indicatif::ProgressBar, counters: Arc<Counters>, has_total: bool) {
    let template = if has_total {
        "{bar:30} {pos}/{len} {counts} {rate} ETA {eta}"
    } else {
        "{spinner} {pos} rows {counts} {rate}"
    };
    let style = indicatif::ProgressStyle::with_template(template)
        .expect("a valid template")
        .with_key(
            "counts",
            move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let c = |s| counters.get(s);
                let _ = write!(
                    w,
                    "sent {} failed {} deferred {} skipped {}",
                    c(SendStatus::Sent) + c(SendStatus::DryRun),
                    c(SendStatus::Failed),
                    c(SendStatus::Deferred),
                    c(SendStatus::Skipped)
                );
            },
        )
        .with_key(
            "rate",
            |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0}/s", state.per_sec());
            },
        );
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(200));
}

fn summary(t: &Tally, counters: &Counters, took: Duration, args: &SendArgs) {
    let c = |s| counters.get(s);
    let mut line = format!("bouncekit: send: {} rows: ", t.rows);
    if args.dry_run.is_some() {
        let _ = write!(line, "{} rendered", c(SendStatus::DryRun));
    } else {
        let _ = write!(
            line,
            "{} sent, {} failed, {} deferred",
            c(SendStatus::Sent),
            c(SendStatus::Failed),
            c(SendStatus::Deferred)
        );
        if c(SendStatus::Unknown) > 0 {
            let _ = write!(line, ", {} unknown", c(SendStatus::Unknown));
        }
    }
    let _ = write!(line, ", {} skipped", c(SendStatus::Skipped));
    let why: Vec<String> = [
        (t.suppressed, "suppressed"),
        (t.invalid, "invalid"),
        (t.duplicate, "duplicates"),
        (t.template, "not rendered"),
        (t.unreadable, "unreadable"),
        (t.unknown_held.len() as u64, "unknown outcome"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect();
    if !why.is_empty() {
        let _ = write!(line, " ({})", why.join(", "));
    }
    if t.already > 0 {
        let _ = write!(line, "; {} already done in the resumed log", t.already);
    }
    let secs = took.as_secs_f64();
    let messages = c(SendStatus::Sent) + c(SendStatus::Failed) + c(SendStatus::DryRun);
    if secs > 0.0 && messages > 0 {
        let _ = write!(line, "; {:.0} messages/s", messages as f64 / secs);
    }
    eprintln!("{line}");
    if !t.unknown_held.is_empty() {
        let shown: Vec<&str> = t.unknown_held.iter().take(10).map(String::as_str).collect();
        eprintln!(
            "bouncekit: send: warning: {} recipient(s) may or may not have received the message \
             (the earlier run stopped while it was being committed), not sent again: {}{} \
             (--resend-unknown sends to them)",
            t.unknown_held.len(),
            shown.join(", "),
            if t.unknown_held.len() > 10 {
                ", ..."
            } else {
                ""
            }
        );
    }
    if c(SendStatus::Unknown) > 0 {
        eprintln!(
            "bouncekit: send: warning: {} message(s) were sent but no reply came: they may have \
             been delivered and are not sent again (see the `unknown` records)",
            c(SendStatus::Unknown)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_and_durations_parse() {
        assert_eq!(parse_rate("20/s"), Ok(20.0));
        assert_eq!(parse_rate("600/m"), Ok(10.0));
        assert_eq!(parse_rate("3600/h"), Ok(1.0));
        assert!(parse_rate("0/s").is_err() && parse_rate("5/d").is_err());
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn notify_and_campaign_are_checked() {
        assert_eq!(parse_notify("failure,delay").unwrap(), "FAILURE,DELAY");
        assert_eq!(
            parse_notify("Success, failure,success").unwrap(),
            "SUCCESS,FAILURE"
        );
        assert_eq!(parse_notify("never").unwrap(), "NEVER");
        assert!(parse_notify("never,success").is_err() && parse_notify("bounce").is_err());
        assert!(parse_campaign("may-2026").is_ok());
        assert!(parse_campaign("may 2026").is_err() && parse_campaign("a..b").is_err());
    }

    #[test]
    fn verp_and_from_are_built_from_addresses() {
        let base = Address::parse("bounces@example.com").unwrap();
        let r = Address::parse("Jan.K@Example.ORG").unwrap();
        assert_eq!(
            verp_address(&base, &r),
            "bounces+Jan.K=example.org@example.com"
        );
        let verp = crate::classify::links::Verp::new("bounces@example.com").unwrap();
        assert_eq!(
            verp.decode(&verp_address(&base, &r)).as_deref(),
            Some("Jan.K@example.org")
        );
        let (header, a) = parse_from("Shop News <news@Example.com>").unwrap();
        assert_eq!(header, "Shop News <news@example.com>");
        assert_eq!(a.email, "news@example.com");
        assert!(parse_from("not an address").is_err());
    }
}
