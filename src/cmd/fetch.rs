//! `bouncekit fetch-bounces`: returned mail from an IMAP mailbox, out as message records
//! (JSONL with `raw_base64`, ready for `classify`) and/or as Maildir files.
//!
//! Incremental and safe, in this order for every batch of messages: the records are written
//! and flushed (the output file synced, the Maildir files synced and moved into `new/`), then
//! the explicit actions (`--mark-seen`, `--move-to`, `--delete`) are applied to the messages
//! whose contents were written, then the position (UIDVALIDITY, highest UID) is saved in one
//! small transaction. A run killed between any two steps is followed by one that writes again
//! what may not have been kept; nothing is ever lost, and records written twice are harmless
//! (`suppress add` knows its events by id). Reading alone never changes the mailbox: it is
//! opened with EXAMINE and read with BODY.PEEK, so messages stay unread for other readers.
//!
//! The IMAP protocol stays behind `imap::Session`; the loop here only decides what to fetch,
//! in which order, and when a position may move.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use chrono::NaiveDate;
use clap::{ArgGroup, Args};
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};

use crate::exit::Exit;
use crate::imap::{self, ConnectOptions, ImapUrl, Meta, Scheme, Security, Session};
use crate::maildir::{self, Maildir};
use crate::messages::{OutgoingRecord, encode_message_record};
use crate::positions::{MailboxKey, Position, Positions, StateFile};
use crate::store::{self, Store};

/// Bytes per batch (and `--batch` messages): the unit written, flushed and remembered
/// together. Memory does not depend on it (messages are written as they arrive, one at a
/// time); it bounds what a killed run fetches again and how long a stop request waits.
const BATCH_BYTES: u64 = 64 << 20;

/// UIDs whose sizes are asked for at once (a few dozen bytes each).
const META_CHUNK: usize = 5000;

/// Reads returned mail from an IMAP mailbox and writes one message record per message (JSONL
/// with the exact bytes in `raw_base64`, ready for `bouncekit classify`), or stores each
/// message in a Maildir.
///
/// Incremental: the mailbox's UIDVALIDITY and the highest UID written are remembered per
/// (server, user, mailbox) in the store (--db) or a state file (--state), and the next run
/// fetches only newer messages. Reading never changes the mailbox (EXAMINE and BODY.PEEK:
/// messages stay unread); --mark-seen, --move-to and --delete act, by explicit choice, only on
/// messages whose records were already written and flushed. The position advances only then
/// too: a run killed at any moment is followed by one that returns what was not yet written.
#[derive(Debug, Args)]
#[command(
    group(ArgGroup::new("password").required(true).args(["password_env", "password_file"])),
    after_help = "Examples:\n  \
    BOUNCES_PW=... bouncekit fetch-bounces --imap imaps://bounces@mail.example.com/INBOX \\\n      \
    --password-env BOUNCES_PW | bouncekit classify | bouncekit suppress add\n  \
    bouncekit fetch-bounces --imap imaps://mail.example.com/INBOX --user bounces@example.com \\\n      \
    --password-file ~/.config/bouncekit/imap-password --move-to Processed -o fetched.jsonl\n  \
    bouncekit fetch-bounces --imap imap://bounces@localhost/INBOX --password-env PW \\\n      \
    --maildir ~/Maildir/.bounces --no-output --watch 15m\n  \
    bouncekit fetch-bounces --imap imaps://bounces@mail.example.com/INBOX --password-env PW \\\n      \
    --all --since 2026-01-01 --state ./fetch-state.json > all-since-january.jsonl"
)]
pub struct FetchArgs {
    /// The mailbox: imaps://USER@HOST[:PORT]/MAILBOX (TLS), or imap://... (STARTTLS). The user
    /// may be percent-encoded (bounces%40example.com); the mailbox defaults to INBOX.
    #[arg(long, value_name = "URL", value_parser = parse_url)]
    pub imap: ImapUrl,

    /// The user to log in as, when it is not in the URL (handy when it is itself an address).
    #[arg(long, value_name = "USER")]
    pub user: Option<String>,

    /// Read the password from this environment variable.
    #[arg(long, value_name = "NAME")]
    pub password_env: Option<String>,

    /// Read the password from this file (its first line).
    #[arg(long, value_name = "PATH")]
    pub password_file: Option<PathBuf>,

    /// Trust only the CA certificates in this PEM file (a private CA) instead of the system's.
    #[arg(long, value_name = "PATH")]
    pub ca_file: Option<PathBuf>,

    /// With imap://, log in even when the server offers no STARTTLS: the password then
    /// crosses the network in clear. Only for a trusted network.
    #[arg(long)]
    pub allow_plaintext_auth: bool,

    /// With imap:// and --allow-plaintext-auth, do not use STARTTLS even when offered (a
    /// server on this machine).
    #[arg(long, requires = "allow_plaintext_auth")]
    pub no_starttls: bool,

    /// The store that remembers the positions (SQLite file).
    #[arg(long, value_name = "PATH", env = "BOUNCEKIT_DB")]
    pub db: Option<PathBuf>,

    /// Remember the positions in this JSON file instead of the store (--db and $BOUNCEKIT_DB
    /// are then not used).
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Read the whole mailbox, ignoring the remembered position (which still never moves
    /// back).
    #[arg(long)]
    pub all: bool,

    /// Only messages that arrived on or after DATE (YYYY-MM-DD, the server's INTERNALDATE).
    /// Older ones below the newest message written are behind the position afterwards: later
    /// runs do not read them either.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub since: Option<NaiveDate>,

    /// At most N messages this run (the oldest new ones); the next run goes on from there.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,

    /// Largest message to fetch, in bytes (suffixes K, M, G); a larger one is not read: it
    /// gets a record with an `error` field and is left untouched on the server.
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = crate::cli::parse_size)]
    pub max_size: u64,

    /// Set \Seen on the messages written.
    #[arg(long)]
    pub mark_seen: bool,

    /// Move the messages written to FOLDER (which must exist): MOVE when the server offers
    /// it, else COPY, \Deleted and UID EXPUNGE.
    #[arg(long, value_name = "FOLDER", conflicts_with = "delete")]
    pub move_to: Option<String>,

    /// Delete the messages written from the server (\Deleted and UID EXPUNGE).
    #[arg(long)]
    pub delete: bool,

    /// Write the records to FILE instead of stdout. FILE is emptied only once the mailbox is
    /// being read: a run that fails before (wrong password, server down) leaves it as it was.
    #[arg(short, long, value_name = "FILE", conflicts_with = "no_output")]
    pub output: Option<PathBuf>,

    /// Also store each message as a file in this Maildir (created if missing).
    #[arg(long, value_name = "DIR")]
    pub maildir: Option<PathBuf>,

    /// Write no records (with --maildir: the Maildir is the only output).
    #[arg(long, requires = "maildir")]
    pub no_output: bool,

    /// Keep polling: fetch, sleep INTERVAL (e.g. 900, 90s, 15m, 1h), again. SIGINT or SIGTERM
    /// stops it once the current batch is written and remembered.
    #[arg(long, value_name = "INTERVAL", value_parser = parse_interval)]
    pub watch: Option<Duration>,

    /// Messages fetched, written and remembered together (a batch is also cut at 64 MiB). A
    /// run killed mid-batch fetches that batch again next time.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub batch: u64,

    /// Seconds to wait for the server to connect or answer before giving up.
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout: u64,
}

fn parse_url(text: &str) -> Result<ImapUrl, String> {
    text.parse()
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map_err(|_| format!("not a date: {text:?} (use YYYY-MM-DD)"))
}

/// `900`, `90s`, `15m`, `1h`: at least one second.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, ""),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("not an interval: {text:?} (use e.g. 90s, 15m, 1h)"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        other => return Err(format!("unknown interval unit {other:?} (use s, m or h)")),
    };
    if secs == 0 {
        return Err("the interval must be at least one second".into());
    }
    Ok(Duration::from_secs(secs))
}

/// What a run is to do, resolved from the arguments once.
struct Plan {
    user: String,
    key: MailboxKey,
    /// `imaps://user@host/MAILBOX`, the start of every record's `source`.
    mailbox_url: String,
    all: bool,
    since: Option<NaiveDate>,
    limit: Option<u64>,
    max_size: u64,
    mark_seen: bool,
    move_to: Option<String>,
    delete: bool,
    batch_messages: usize,
    batch_bytes: u64,
}

impl Plan {
    fn writes_to_mailbox(&self) -> bool {
        self.mark_seen || self.move_to.is_some() || self.delete
    }
}

/// A command line that makes no sense, said the way errors are, with the exit status of
/// clap's own usage errors.
fn usage(why: std::fmt::Arguments) -> Result<Exit> {
    eprintln!("bouncekit: fetch-bounces: {why}");
    Ok(Exit::Usage)
}

pub fn run(args: FetchArgs, quiet: bool) -> Result<Exit> {
    let user = match (&args.imap.user, &args.user) {
        (Some(_), Some(_)) => {
            return usage(format_args!(
                "the user is given twice: in the URL and with --user"
            ));
        }
        (Some(u), None) | (None, Some(u)) => u.clone(),
        (None, None) => {
            return usage(format_args!(
                "no user: put it in the URL (imaps://USER@{}/...) or give --user",
                args.imap.host
            ));
        }
    };
    if args.no_starttls && args.imap.scheme == Scheme::Imaps {
        return usage(format_args!(
            "--no-starttls makes no sense with imaps://, which is TLS from the start"
        ));
    }
    let password = read_password(&args)?;
    let security = match args.imap.scheme {
        Scheme::Imaps => Security::Tls,
        Scheme::Imap if args.no_starttls => Security::Plain,
        Scheme::Imap => Security::StartTls {
            required: !args.allow_plaintext_auth,
        },
    };
    let connect = ConnectOptions {
        host: args.imap.host.clone(),
        port: args.imap.port,
        security,
        ca_file: args.ca_file.clone(),
        timeout: Duration::from_secs(args.timeout),
    };
    let plan = Plan {
        key: MailboxKey {
            server: args.imap.server(),
            user: user.clone(),
            mailbox: args.imap.mailbox.clone(),
        },
        mailbox_url: args.imap.mailbox_url(&user),
        user,
        all: args.all,
        since: args.since,
        limit: args.limit,
        max_size: args.max_size,
        mark_seen: args.mark_seen,
        move_to: args.move_to.clone(),
        delete: args.delete,
        batch_messages: args.batch as usize,
        batch_bytes: BATCH_BYTES,
    };
    let mut positions: Box<dyn Positions> = match &args.state {
        Some(path) => Box::new(StateFile::open(path)?),
        None => Box::new(Store::open(&store::resolve_path(args.db.as_deref())?)?),
    };
    let output = if args.no_output {
        None
    } else {
        Some(args.output.as_deref())
    };
    let mut sinks = Sinks::open(output, args.maildir.as_deref())?;
    let connect_and_login = || -> Result<Box<dyn Session>> {
        let mut client = imap::Client::connect(&connect)?;
        client.login(&plan.user, &password)?;
        Ok(Box::new(client))
    };

    let Some(interval) = args.watch else {
        let stop = Stop::default();
        let mut progress = Progress::new(quiet);
        let tally = poll(
            &plan,
            &connect_and_login,
            positions.as_mut(),
            &mut sinks,
            &mut progress,
            &stop,
        )
        .map_err(Failure::into_inner)?;
        if !quiet {
            eprintln!("bouncekit: fetch-bounces: {}", tally.summary(&plan));
        }
        return Ok(Exit::Success);
    };

    let stop = Stop::install()?;
    loop {
        let mut progress = Progress::new(quiet);
        match poll(
            &plan,
            &connect_and_login,
            positions.as_mut(),
            &mut sinks,
            &mut progress,
            &stop,
        ) {
            Ok(tally) if !quiet && (tally.written > 0 || tally.too_big > 0) => {
                eprintln!("bouncekit: fetch-bounces: {}", tally.summary(&plan));
            }
            Ok(_) => {}
            // The server may be back by the next poll; our own side failing is not going to
            // mend itself.
            Err(Failure::Server(e)) => eprintln!("bouncekit: {e:#}"),
            Err(Failure::Local(e)) => return Err(e),
        }
        if stop.wait(interval) {
            break;
        }
    }
    if !quiet {
        eprintln!("bouncekit: fetch-bounces: stopped");
    }
    Ok(Exit::Success)
}

fn read_password(args: &FetchArgs) -> Result<String> {
    let password = if let Some(name) = &args.password_env {
        std::env::var(name).map_err(|e| match e {
            std::env::VarError::NotPresent => {
                anyhow!("the environment variable {name} (--password-env) is not set")
            }
            std::env::VarError::NotUnicode(_) => {
                anyhow!("the environment variable {name} (--password-env) is not UTF-8")
            }
        })?
    } else if let Some(path) = &args.password_file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the password file {}", path.display()))?;
        text.lines().next().unwrap_or("").to_string()
    } else {
        // clap requires one of the two.
        bail!("no password: give --password-env NAME or --password-file PATH");
    };
    if password.is_empty() {
        bail!("the password is empty");
    }
    Ok(password)
}

/// A failure of one poll: the server's side (retried by --watch) or ours (fatal).
#[derive(Debug)]
enum Failure {
    Server(anyhow::Error),
    Local(anyhow::Error),
}

impl Failure {
    fn into_inner(self) -> anyhow::Error {
        match self {
            Failure::Server(e) | Failure::Local(e) => e,
        }
    }
}

trait Blame<T> {
    fn server(self) -> Result<T, Failure>;
    fn local(self) -> Result<T, Failure>;
}

impl<T> Blame<T> for Result<T> {
    fn server(self) -> Result<T, Failure> {
        self.map_err(Failure::Server)
    }
    fn local(self) -> Result<T, Failure> {
        self.map_err(Failure::Local)
    }
}

/// What one poll did, for the summary line.
#[derive(Debug, Default, Clone)]
struct Tally {
    written: u64,
    bytes: u64,
    too_big: u64,
    marked_seen: u64,
    moved: u64,
    deleted: u64,
    position: Option<Position>,
    stopped_early: bool,
}

impl Tally {
    fn summary(&self, plan: &Plan) -> String {
        let mut out = format!(
            "{}: {} written ({})",
            plan.mailbox_url,
            plural(self.written, "message"),
            HumanBytes(self.bytes)
        );
        if self.too_big > 0 {
            out += &format!(", {} over --max-size left unread", self.too_big);
        }
        if plan.mark_seen {
            out += &format!(", {} marked seen", self.marked_seen);
        }
        if let Some(folder) = &plan.move_to {
            out += &format!(", {} moved to {folder}", self.moved);
        }
        if plan.delete {
            out += &format!(", {} deleted", self.deleted);
        }
        if let Some(p) = self.position {
            out += &format!(
                "; position UIDVALIDITY {} UID {}",
                p.uidvalidity, p.last_uid
            );
        }
        if self.stopped_early {
            out += "; stopped before the end, on request";
        }
        out
    }
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// One poll: log in, fetch what is new batch by batch, log out.
fn poll(
    plan: &Plan,
    connect: &dyn Fn() -> Result<Box<dyn Session>>,
    positions: &mut dyn Positions,
    sinks: &mut Sinks,
    progress: &mut Progress,
    stop: &Stop,
) -> Result<Tally, Failure> {
    let mut session = connect().server()?;
    let result = fetch_new(plan, session.as_mut(), positions, sinks, progress, stop)
        .and_then(|tally| sinks.start().local().map(|()| tally));
    progress.finish();
    // A failed session is not worth a polite goodbye: it may be what failed.
    if result.is_ok() {
        session.logout();
    }
    result
}

fn fetch_new(
    plan: &Plan,
    session: &mut dyn Session,
    positions: &mut dyn Positions,
    sinks: &mut Sinks,
    progress: &mut Progress,
    stop: &Stop,
) -> Result<Tally, Failure> {
    let mailbox = &plan.key.mailbox;
    let info = session.open(mailbox, plan.writes_to_mailbox()).server()?;
    if let Some(folder) = &plan.move_to {
        session.check_mailbox(folder).server()?;
    }
    let remembered = positions.get(&plan.key).local()?;
    // `floor`: the position never moves below what is remembered for this UIDVALIDITY.
    let (mut start, floor) = match remembered {
        Some(p) if p.uidvalidity == info.uidvalidity => (p.last_uid, p.last_uid),
        Some(p) => {
            eprintln!(
                "bouncekit: {}: UIDVALIDITY changed from {} to {} (the mailbox was recreated or \
                 restored): its old position means nothing, reading it from the start",
                plan.mailbox_url, p.uidvalidity, info.uidvalidity
            );
            (0, 0)
        }
        None => (0, 0),
    };
    if plan.all {
        start = 0;
    }
    let mut position = Position {
        uidvalidity: info.uidvalidity,
        last_uid: floor,
    };
    let mut tally = Tally {
        position: Some(position),
        ..Tally::default()
    };
    let nothing_new = info
        .uidnext
        .is_some_and(|next| next <= start.saturating_add(1));
    let mut uids = if nothing_new {
        Vec::new()
    } else {
        session.search(start, plan.since).server()?
    };
    if let Some(limit) = plan.limit {
        uids.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    }
    if remembered != Some(position) {
        // A first run, or a new UIDVALIDITY: remembered even when nothing is fetched, so the
        // change is announced once.
        positions.set(&plan.key, position).local()?;
    }
    progress.begin(uids.len() as u64, &plan.mailbox_url);
    let mut done = 0;
    // Without actions, the next batch is asked for before this one is made durable and
    // remembered, so the server goes on sending meanwhile (a gap per batch cost ~10 ms
    // here). An action waits for durability and is a command of its own, so with one the
    // batches go one at a time.
    let pipeline = !plan.writes_to_mailbox();
    'chunks: for chunk in uids.chunks(META_CHUNK) {
        let metas = session.fetch_meta(chunk).server()?;
        let mut batches = Vec::new();
        let mut from = 0;
        while from < chunk.len() {
            let (to, batch_metas) = next_batch(plan, chunk, from, &metas);
            batches.push((from, to, batch_metas));
            from = to;
        }
        let mut requested = false;
        for (i, &(from, to, batch_metas)) in batches.iter().enumerate() {
            if !requested {
                session
                    .request_bodies(&bodies_to_read(plan, batch_metas), plan.max_size)
                    .server()?;
            }
            let written = write_batch(
                plan,
                session,
                sinks,
                progress,
                info.uidvalidity,
                batch_metas,
                &mut tally,
            )?;
            requested = false;
            if pipeline
                && !stop.requested()
                && let Some(&(_, _, next)) = batches.get(i + 1)
            {
                session
                    .request_bodies(&bodies_to_read(plan, next), plan.max_size)
                    .server()?;
                requested = true;
            }
            sinks.make_durable().local()?;
            act_on(plan, session, &written, &mut tally).server()?;
            let last = chunk[to - 1];
            if last > position.last_uid {
                position.last_uid = last;
                positions.set(&plan.key, position).local()?;
                tally.position = Some(position);
            }
            done += to - from;
            // A batch already asked for is read first (and written, and remembered).
            if stop.requested() && !requested {
                tally.stopped_early = done < uids.len();
                break 'chunks;
            }
        }
    }
    Ok(tally)
}

/// The batch starting at `chunk[from]`: where it ends (exclusive) and the metadata of the
/// messages in it that still exist. At least one UID, at most BATCH_MESSAGES, and no more
/// than BATCH_BYTES of messages to read (messages over --max-size are not read and count
/// nothing).
fn next_batch<'m>(
    plan: &Plan,
    chunk: &[u32],
    from: usize,
    metas: &'m [Meta],
) -> (usize, &'m [Meta]) {
    let first_meta = metas.partition_point(|m| m.uid < chunk[from]);
    let mut to = from;
    let mut bytes = 0u64;
    let mut meta_end = first_meta;
    while to < chunk.len() && to - from < plan.batch_messages {
        let uid = chunk[to];
        if let Some(meta) = metas.get(meta_end).filter(|m| m.uid == uid) {
            let size = if meta.size > plan.max_size {
                0
            } else {
                meta.size
            };
            if to > from && bytes + size > plan.batch_bytes {
                break;
            }
            bytes += size;
            meta_end += 1;
        }
        to += 1;
    }
    (to, &metas[first_meta..meta_end])
}

/// The messages of a batch to download: those not over --max-size.
fn bodies_to_read(plan: &Plan, metas: &[Meta]) -> Vec<u32> {
    metas
        .iter()
        .filter(|m| m.size <= plan.max_size)
        .map(|m| m.uid)
        .collect()
}

/// Reads and writes one batch (its bodies already requested), in UID order: a record (and
/// Maildir file) for each message read, an error record for each one over --max-size.
/// Returns the UIDs whose contents were written (the only ones the actions may touch).
fn write_batch(
    plan: &Plan,
    session: &mut dyn Session,
    sinks: &mut Sinks,
    progress: &mut Progress,
    uidvalidity: u32,
    metas: &[Meta],
    tally: &mut Tally,
) -> Result<Vec<u32>, Failure> {
    let mut too_big = metas.iter().filter(|m| m.size > plan.max_size).peekable();
    let mut written = Vec::with_capacity(metas.len());
    let mut local: Option<anyhow::Error> = None;
    let fetched = session.read_bodies(&mut |uid, raw| {
        let result = (|| {
            while let Some(big) = too_big.next_if(|m| m.uid < uid) {
                sinks.write_too_big(plan, uidvalidity, big)?;
                tally.too_big += 1;
            }
            let meta = metas
                .binary_search_by_key(&uid, |m| m.uid)
                .map(|i| metas[i])
                .unwrap_or(Meta {
                    uid,
                    size: raw.len() as u64,
                    internal_date: None,
                });
            sinks.write_message(plan, uidvalidity, &meta, raw)?;
            Ok(())
        })();
        if let Err(e) = result {
            local = Some(e);
            return Err(anyhow!("stopped reading: the output failed"));
        }
        written.push(uid);
        tally.written += 1;
        tally.bytes += raw.len() as u64;
        progress.message(raw.len());
        Ok(())
    });
    if let Some(e) = local {
        return Err(Failure::Local(e));
    }
    fetched.server()?;
    for big in too_big {
        sinks.write_too_big(plan, uidvalidity, big).local()?;
        tally.too_big += 1;
    }
    Ok(written)
}

/// The explicit actions, on messages already written and flushed.
fn act_on(
    plan: &Plan,
    session: &mut dyn Session,
    written: &[u32],
    tally: &mut Tally,
) -> Result<()> {
    if written.is_empty() {
        return Ok(());
    }
    if plan.mark_seen {
        session.mark_seen(written)?;
        tally.marked_seen += written.len() as u64;
    }
    if let Some(folder) = &plan.move_to {
        session.move_to(written, folder)?;
        tally.moved += written.len() as u64;
    } else if plan.delete {
        session.delete(written)?;
        tally.deleted += written.len() as u64;
    }
    Ok(())
}

/// Where messages go: records (stdout or -o) and/or a Maildir.
struct Sinks {
    records: Option<Records>,
    maildir: Option<Maildir>,
}

/// The record output, started on first use.
enum Records {
    /// `-o FILE`, opened but not yet truncated. The records a file holds were counted in the
    /// position by the run that wrote them: emptying it on a run that then fails (a wrong
    /// password, a refused connection, a missing mailbox) would lose them. So it is emptied
    /// only by the first record of this run, or by a poll that succeeded with none.
    Waiting(File, String),
    Started(RecordSink),
}

/// Records are encoded here and written by a thread of their own: the write calls (40 MB
/// for 10,000 messages) then overlap reading the next messages from the socket, instead of
/// leaving the server stalled meanwhile (measured: 0.05-0.15 s of a 0.45 s fetch).
struct RecordSink {
    /// Encoded records not yet handed to the writer.
    chunk: Vec<u8>,
    jobs: Option<mpsc::SyncSender<Job>>,
    writer: Option<std::thread::JoinHandle<Result<()>>>,
    name: String,
}

enum Job {
    Write(Vec<u8>),
    /// Written so far made durable (synced, for a regular file); the answer says whether.
    Durable(mpsc::Sender<Result<()>>),
}

/// Records handed to the writer at a time; at most WRITER_QUEUE such chunks wait for it.
const CHUNK: usize = 256 << 10;
const WRITER_QUEUE: usize = 8;

impl RecordSink {
    fn start(file: File, name: String) -> RecordSink {
        // Synced at each batch when a regular file; a pipe or terminal cannot be.
        let sync = file.metadata().map(|m| m.is_file()).unwrap_or(false);
        let (jobs, queue) = mpsc::sync_channel::<Job>(WRITER_QUEUE);
        let context = format!("cannot write to {name}");
        let writer = std::thread::spawn(move || -> Result<()> {
            let mut file = file;
            for job in queue {
                match job {
                    Job::Write(bytes) => file.write_all(&bytes).context(context.clone())?,
                    Job::Durable(answer) => {
                        let synced = if sync {
                            file.sync_data().context(context.clone())
                        } else {
                            Ok(())
                        };
                        let failed = synced.is_err();
                        let _ = answer.send(synced);
                        if failed {
                            return Ok(());
                        }
                    }
                }
            }
            Ok(())
        });
        RecordSink {
            chunk: Vec::with_capacity(CHUNK + (64 << 10)),
            jobs: Some(jobs),
            writer: Some(writer),
            name,
        }
    }

    /// Hands the encoded records over once there are enough of them.
    fn maybe_hand_over(&mut self) -> Result<()> {
        if self.chunk.len() >= CHUNK {
            self.hand_over()?;
        }
        Ok(())
    }

    fn hand_over(&mut self) -> Result<()> {
        if self.chunk.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(CHUNK + (64 << 10)));
        self.send(Job::Write(chunk))
    }

    fn send(&mut self, job: Job) -> Result<()> {
        let sent = self.jobs.as_ref().map(|jobs| jobs.send(job).is_ok());
        if sent == Some(true) {
            Ok(())
        } else {
            Err(self.writer_error())
        }
    }

    /// Why the writer stopped (it only stops early on an error).
    fn writer_error(&mut self) -> anyhow::Error {
        drop(self.jobs.take());
        match self.writer.take().map(|w| w.join()) {
            Some(Ok(Err(e))) => e,
            Some(Err(_)) => anyhow!("the writer of {} panicked", self.name),
            _ => anyhow!("cannot write to {}", self.name),
        }
    }

    /// Everything encoded so far written, and synced when the output is a file.
    fn make_durable(&mut self) -> Result<()> {
        self.hand_over()?;
        let (answer, answered) = mpsc::channel();
        self.send(Job::Durable(answer))?;
        match answered.recv() {
            Ok(result) => result,
            Err(_) => Err(self.writer_error()),
        }
    }
}

impl Drop for RecordSink {
    /// What was encoded still goes out (a run that fails mid-batch writes those records; its
    /// position was not advanced, so they come again next time, which is harmless).
    fn drop(&mut self) {
        let _ = self.hand_over();
        drop(self.jobs.take());
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}

impl Sinks {
    /// `output`: `None` for no records, `Some(None)` (or `-`) for stdout, else a file, which
    /// is opened (so that a path that cannot be written fails before connecting) but left
    /// as it is until `records` starts it.
    fn open(output: Option<Option<&Path>>, maildir: Option<&Path>) -> Result<Sinks> {
        let records = match output {
            None => None,
            Some(Some(path)) if path.as_os_str() != "-" => {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(path)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                Some(Records::Waiting(file, path.display().to_string()))
            }
            Some(_) => Some(Records::Started(RecordSink::start(
                stdout_file()?,
                "stdout".to_string(),
            ))),
        };
        let maildir = maildir.map(Maildir::create).transpose()?;
        Ok(Sinks { records, maildir })
    }

    /// The record output, emptied first if it is a file not started yet.
    fn records(&mut self) -> Result<Option<&mut RecordSink>> {
        let waiting = self.records.take_if(|r| matches!(r, Records::Waiting(..)));
        if let Some(Records::Waiting(file, name)) = waiting {
            // A pipe or a device has nothing to empty.
            if file.metadata().is_ok_and(|m| m.is_file()) {
                file.set_len(0)
                    .with_context(|| format!("cannot empty {name}"))?;
            }
            self.records = Some(Records::Started(RecordSink::start(file, name)));
        }
        Ok(match &mut self.records {
            Some(Records::Started(sink)) => Some(sink),
            _ => None,
        })
    }

    /// Called once a poll has succeeded: the output holds this run's records, even none.
    fn start(&mut self) -> Result<()> {
        self.records().map(drop)
    }

    fn write_message(
        &mut self,
        plan: &Plan,
        uidvalidity: u32,
        meta: &Meta,
        raw: &[u8],
    ) -> Result<()> {
        if let Some(sink) = self.records()? {
            let source = format!(
                "{};UIDVALIDITY={uidvalidity};UID={}",
                plan.mailbox_url, meta.uid
            );
            encode_message_record(
                &OutgoingRecord {
                    source: &source,
                    mailbox: &plan.key.mailbox,
                    uid: meta.uid,
                    uidvalidity,
                    internal_date: meta.internal_date,
                    size: raw.len() as u64,
                    raw: Some(raw),
                    error: None,
                },
                &mut sink.chunk,
            );
            sink.maybe_hand_over()?;
        }
        if let Some(md) = &mut self.maildir {
            let name = maildir::file_name(
                // Not the time now: the same message must get the same name in every run.
                meta.internal_date.unwrap_or(0),
                &plan.mailbox_url,
                uidvalidity,
                meta.uid,
                raw.len(),
            );
            md.stage(&name, raw)?;
        }
        Ok(())
    }

    fn write_too_big(&mut self, plan: &Plan, uidvalidity: u32, meta: &Meta) -> Result<()> {
        let source = format!(
            "{};UIDVALIDITY={uidvalidity};UID={}",
            plan.mailbox_url, meta.uid
        );
        let error = format!(
            "message of {} bytes is larger than --max-size ({} bytes); left unread on the server",
            meta.size, plan.max_size
        );
        eprintln!("bouncekit: {source}: {error}");
        if let Some(sink) = self.records()? {
            encode_message_record(
                &OutgoingRecord {
                    source: &source,
                    mailbox: &plan.key.mailbox,
                    uid: meta.uid,
                    uidvalidity,
                    internal_date: meta.internal_date,
                    size: meta.size,
                    raw: None,
                    error: Some(&error),
                },
                &mut sink.chunk,
            );
            sink.maybe_hand_over()?;
        }
        Ok(())
    }

    /// Everything written so far, handed to the kernel (and to the disk, for files).
    fn make_durable(&mut self) -> Result<()> {
        if let Some(Records::Started(sink)) = &mut self.records {
            sink.make_durable()?;
        }
        if let Some(md) = &mut self.maildir {
            md.commit()?;
        }
        Ok(())
    }
}

/// Standard output as a file of its own (a duplicate of descriptor 1): written without the
/// line buffering of `io::stdout`, and syncable when it is a regular file.
fn stdout_file() -> Result<File> {
    use std::os::fd::AsFd;
    let fd = std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .context("cannot use standard output")?;
    Ok(File::from(fd))
}

/// A progress bar on stderr when it is a terminal and not `-q`: messages, bytes, rate.
struct Progress {
    bar: ProgressBar,
    bytes: u64,
    started: Instant,
}

impl Progress {
    fn new(quiet: bool) -> Progress {
        let bar = if quiet || !std::io::stderr().is_terminal() {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(0)
        };
        Progress {
            bar,
            bytes: 0,
            started: Instant::now(),
        }
    }

    fn begin(&mut self, total: u64, label: &str) {
        if self.bar.is_hidden() || total == 0 {
            return;
        }
        if let Ok(style) = ProgressStyle::with_template(
            "{prefix} [{bar:30}] {pos}/{len} messages, {msg} ({per_sec}, eta {eta})",
        ) {
            self.bar.set_style(style.progress_chars("=> "));
        }
        self.bar.set_prefix(label.to_string());
        self.bar.set_length(total);
        self.bar.enable_steady_tick(Duration::from_millis(200));
        self.started = Instant::now();
    }

    fn message(&mut self, size: usize) {
        if self.bar.is_hidden() {
            return;
        }
        self.bytes += size as u64;
        self.bar.inc(1);
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        self.bar.set_message(format!(
            "{} at {}/s",
            HumanBytes(self.bytes),
            HumanBytes((self.bytes as f64 / secs) as u64)
        ));
    }

    fn finish(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// The stop request of --watch (SIGINT, SIGTERM, SIGHUP): asked after each batch, and it cuts
/// a sleep short. A second signal stops at once, which is safe too (see the module doc).
#[derive(Default)]
struct Stop {
    requested: Arc<AtomicBool>,
    wake: Arc<(Mutex<()>, Condvar)>,
}

impl Stop {
    fn install() -> Result<Stop> {
        let stop = Stop::default();
        let (requested, wake) = (stop.requested.clone(), stop.wake.clone());
        ctrlc::set_handler(move || {
            if requested.swap(true, Ordering::SeqCst) {
                eprintln!("bouncekit: fetch-bounces: stopping at once");
                std::process::exit(130);
            }
            eprintln!(
                "bouncekit: fetch-bounces: stopping once the current batch is written (signal again to stop at once)"
            );
            let _guard = wake.0.lock();
            wake.1.notify_all();
        })
        .context("cannot handle SIGINT and SIGTERM")?;
        Ok(stop)
    }

    fn requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// Sleeps `interval` unless a stop is requested first; true when it was.
    fn wait(&self, interval: Duration) -> bool {
        let deadline = Instant::now() + interval;
        let mut guard = self.wake.0.lock().unwrap_or_else(|p| p.into_inner());
        while !self.requested() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            guard = match self.wake.1.wait_timeout(guard, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        self.requested()
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;
    use crate::imap::MailboxInfo;

    /// A mailbox in memory, with a log of what was done to it and a way to fail.
    #[derive(Default)]
    struct Mailbox {
        uidvalidity: u32,
        messages: Vec<(u32, Vec<u8>)>,
        seen: Vec<u32>,
        moved: Vec<u32>,
        deleted: Vec<u32>,
        /// Fail the Nth body fetch (0-based) after handing over this many messages.
        fail_fetch: Option<(usize, usize)>,
        /// Fail opening the mailbox (as a missing one does).
        fail_open: bool,
        /// Request a stop (as SIGTERM does) while the first batch is being read.
        stop_while_reading: Option<Arc<AtomicBool>>,
        fetches: usize,
        /// The output file, to check that a message's record is there before it is touched.
        output: Option<PathBuf>,
        /// The UIDs of a FETCH requested and not yet read.
        requested: Option<Vec<u32>>,
    }

    struct Fake(Rc<RefCell<Mailbox>>);

    impl Fake {
        fn written_before(&self, uids: &[u32]) {
            let mailbox = self.0.borrow();
            let Some(path) = &mailbox.output else { return };
            let text = std::fs::read_to_string(path).unwrap();
            for uid in uids {
                assert!(
                    text.contains(&format!(";UID={uid}\"")),
                    "UID {uid} acted on before its record was flushed"
                );
            }
        }
    }

    impl Session for Fake {
        fn open(&mut self, _: &str, _: bool) -> Result<MailboxInfo> {
            let m = self.0.borrow();
            if m.fail_open {
                bail!("NO Mailbox doesn't exist");
            }
            Ok(MailboxInfo {
                uidvalidity: m.uidvalidity,
                uidnext: Some(m.messages.last().map_or(1, |(u, _)| u + 1)),
                exists: m.messages.len() as u32,
            })
        }
        fn search(&mut self, after: u32, _: Option<NaiveDate>) -> Result<Vec<u32>> {
            let m = self.0.borrow();
            Ok(m.messages
                .iter()
                .map(|(u, _)| *u)
                .filter(|&u| u > after)
                .collect())
        }
        fn fetch_meta(&mut self, uids: &[u32]) -> Result<Vec<Meta>> {
            let m = self.0.borrow();
            Ok(m.messages
                .iter()
                .filter(|(u, _)| uids.contains(u))
                .map(|(u, raw)| Meta {
                    uid: *u,
                    size: raw.len() as u64,
                    internal_date: Some(1_700_000_000 + i64::from(*u)),
                })
                .collect())
        }
        fn request_bodies(&mut self, uids: &[u32], _: u64) -> Result<()> {
            let mut m = self.0.borrow_mut();
            assert!(m.requested.is_none(), "two FETCHes in flight");
            m.requested = Some(uids.to_vec());
            Ok(())
        }
        fn read_bodies(&mut self, each: &mut dyn FnMut(u32, &[u8]) -> Result<()>) -> Result<()> {
            let (messages, fail, n, uids) = {
                let mut m = self.0.borrow_mut();
                m.fetches += 1;
                let uids = m.requested.take().expect("read without request");
                if let Some(stop) = m.stop_while_reading.take() {
                    stop.store(true, Ordering::SeqCst);
                }
                (m.messages.clone(), m.fail_fetch, m.fetches - 1, uids)
            };
            for (i, (uid, raw)) in messages
                .iter()
                .filter(|(u, _)| uids.contains(u))
                .enumerate()
            {
                if fail.is_some_and(|(at, after)| at == n && i == after) {
                    bail!("connection reset by peer");
                }
                each(*uid, raw)?;
            }
            Ok(())
        }
        fn mark_seen(&mut self, uids: &[u32]) -> Result<()> {
            self.written_before(uids);
            self.0.borrow_mut().seen.extend(uids);
            Ok(())
        }
        fn move_to(&mut self, uids: &[u32], _: &str) -> Result<()> {
            self.written_before(uids);
            let mut m = self.0.borrow_mut();
            m.moved.extend(uids);
            m.messages.retain(|(u, _)| !uids.contains(u));
            Ok(())
        }
        fn delete(&mut self, uids: &[u32]) -> Result<()> {
            self.written_before(uids);
            let mut m = self.0.borrow_mut();
            m.deleted.extend(uids);
            m.messages.retain(|(u, _)| !uids.contains(u));
            Ok(())
        }
        fn check_mailbox(&mut self, _: &str) -> Result<()> {
            Ok(())
        }
        fn logout(&mut self) {}
    }

    /// Positions in memory, with every save kept. When told the output and the UIDs there
    /// are, each save checks that the records of the UIDs it moves past are already written.
    #[derive(Default)]
    struct Memory {
        saved: Vec<Position>,
        check: Option<(PathBuf, Vec<u32>)>,
    }

    impl Positions for Memory {
        fn get(&self, _: &MailboxKey) -> Result<Option<Position>> {
            Ok(self.saved.last().copied())
        }
        fn set(&mut self, _: &MailboxKey, position: Position) -> Result<()> {
            let before = self.saved.last().map_or(0, |p| p.last_uid);
            if let Some((output, uids)) = &self.check {
                let text = std::fs::read_to_string(output).unwrap();
                for uid in uids
                    .iter()
                    .filter(|&&u| u > before && u <= position.last_uid)
                {
                    assert!(
                        text.contains(&format!(";UID={uid}\"")),
                        "position {} saved before the record of UID {uid} was written",
                        position.last_uid
                    );
                }
            }
            self.saved.push(position);
            Ok(())
        }
    }

    fn plan() -> Plan {
        Plan {
            user: "u".into(),
            key: MailboxKey {
                server: "h:993".into(),
                user: "u".into(),
                mailbox: "INBOX".into(),
            },
            mailbox_url: "imaps://u@h/INBOX".into(),
            all: false,
            since: None,
            limit: None,
            max_size: 100,
            mark_seen: false,
            move_to: None,
            delete: false,
            batch_messages: 3,
            batch_bytes: 1 << 20,
        }
    }

    fn mailbox(n: u32) -> Rc<RefCell<Mailbox>> {
        Rc::new(RefCell::new(Mailbox {
            uidvalidity: 7,
            messages: (1..=n)
                .map(|u| (u * 2, format!("Subject: {u}\r\n\r\nbody").into_bytes()))
                .collect(),
            ..Mailbox::default()
        }))
    }

    /// One poll writing to `out`; the UIDs of the records it wrote.
    fn poll_into(
        plan: &Plan,
        mailbox: &Rc<RefCell<Mailbox>>,
        positions: &mut Memory,
        out: &Path,
    ) -> (Result<Tally, Failure>, Vec<u64>) {
        let mut sinks = Sinks::open(Some(Some(out)), None).unwrap();
        mailbox.borrow_mut().output = Some(out.to_path_buf());
        let connect = || -> Result<Box<dyn Session>> { Ok(Box::new(Fake(mailbox.clone()))) };
        let result = poll(
            plan,
            &connect,
            positions,
            &mut sinks,
            &mut Progress::new(true),
            &Stop::default(),
        );
        drop(sinks);
        let uids = std::fs::read_to_string(out)
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["uid"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        (result, uids)
    }

    #[test]
    fn a_second_poll_fetches_only_what_is_new() {
        let dir = tempfile::tempdir().unwrap();
        let (plan, mb, mut pos) = (plan(), mailbox(5), Memory::default());
        let (tally, uids) = poll_into(&plan, &mb, &mut pos, &dir.path().join("1"));
        assert_eq!(uids, vec![2, 4, 6, 8, 10]);
        assert_eq!(tally.unwrap().written, 5);
        // Saved per batch of 3 (after a first save of where it starts).
        assert_eq!(
            pos.saved.iter().map(|p| p.last_uid).collect::<Vec<_>>(),
            vec![0, 6, 10]
        );
        let (_, uids) = poll_into(&plan, &mb, &mut pos, &dir.path().join("2"));
        assert!(uids.is_empty());
        mb.borrow_mut()
            .messages
            .push((11, b"Subject: new\r\n\r\n".to_vec()));
        let (_, uids) = poll_into(&plan, &mb, &mut pos, &dir.path().join("3"));
        assert_eq!(uids, vec![11]);
        assert!(mb.borrow().seen.is_empty(), "reading marked messages seen");
    }

    #[test]
    fn a_connection_lost_mid_batch_loses_nothing_and_advances_only_past_flushed_batches() {
        let dir = tempfile::tempdir().unwrap();
        let (plan, mb, mut pos) = (plan(), mailbox(8), Memory::default());
        // The second batch (UIDs 8, 10, 12) fails after handing over one message.
        mb.borrow_mut().fail_fetch = Some((1, 1));
        let (result, first) = poll_into(&plan, &mb, &mut pos, &dir.path().join("1"));
        let Err(Failure::Server(err)) = result else {
            panic!("expected a server failure")
        };
        assert!(format!("{err:#}").contains("connection reset"), "{err:#}");
        assert_eq!(first, vec![2, 4, 6, 8]);
        assert_eq!(pos.saved.last().unwrap().last_uid, 6);
        mb.borrow_mut().fail_fetch = None;
        let (_, second) = poll_into(&plan, &mb, &mut pos, &dir.path().join("2"));
        assert_eq!(second, vec![8, 10, 12, 14, 16]);
        assert_eq!(pos.saved.last().unwrap().last_uid, 16);
    }

    #[test]
    fn actions_touch_only_messages_written_never_those_too_big() {
        let dir = tempfile::tempdir().unwrap();
        let mut plan = plan();
        plan.mark_seen = true;
        plan.delete = true;
        let (mb, mut pos) = (mailbox(4), Memory::default());
        mb.borrow_mut().messages.insert(1, (3, vec![b'x'; 500]));
        let (tally, uids) = poll_into(&plan, &mb, &mut pos, &dir.path().join("1"));
        let tally = tally.unwrap();
        assert_eq!(
            uids,
            vec![2, 3, 4, 6, 8],
            "records in UID order, the big one included"
        );
        let text = std::fs::read_to_string(dir.path().join("1")).unwrap();
        let big: serde_json::Value = serde_json::from_str(text.lines().nth(1).unwrap()).unwrap();
        assert!(
            big["error"].as_str().unwrap().contains("--max-size"),
            "{big}"
        );
        assert!(big.get("raw_base64").is_none());
        assert_eq!((tally.written, tally.too_big), (4, 1));
        let m = mb.borrow();
        assert_eq!(m.seen, vec![2, 4, 6, 8]);
        assert_eq!(m.deleted, vec![2, 4, 6, 8]);
        assert_eq!(
            m.messages.iter().map(|(u, _)| *u).collect::<Vec<_>>(),
            vec![3]
        );
        assert_eq!(pos.saved.last().unwrap().last_uid, 8);
    }

    #[test]
    fn a_new_uidvalidity_reads_from_the_start_and_all_never_moves_back() {
        let dir = tempfile::tempdir().unwrap();
        let (mut plan, mb, mut pos) = (plan(), mailbox(3), Memory::default());
        poll_into(&plan, &mb, &mut pos, &dir.path().join("1"))
            .0
            .unwrap();
        mb.borrow_mut().uidvalidity = 8;
        mb.borrow_mut().messages.truncate(1);
        let (_, uids) = poll_into(&plan, &mb, &mut pos, &dir.path().join("2"));
        assert_eq!(uids, vec![2]);
        assert_eq!(
            *pos.saved.last().unwrap(),
            Position {
                uidvalidity: 8,
                last_uid: 2
            }
        );
        mb.borrow_mut().messages.push((4, b"x".to_vec()));
        plan.all = true;
        plan.limit = Some(1);
        let (_, uids) = poll_into(&plan, &mb, &mut pos, &dir.path().join("3"));
        assert_eq!(uids, vec![2]);
        assert_eq!(
            pos.saved.last().unwrap().last_uid,
            2,
            "--all moved the position back"
        );
    }

    #[test]
    fn a_position_is_saved_only_once_the_records_it_covers_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let (plan, mb) = (plan(), mailbox(10));
        let out = dir.path().join("1");
        let mut pos = Memory {
            check: Some((
                out.clone(),
                mb.borrow().messages.iter().map(|m| m.0).collect(),
            )),
            ..Memory::default()
        };
        let (tally, uids) = poll_into(&plan, &mb, &mut pos, &out);
        assert_eq!(tally.unwrap().written, 10);
        assert_eq!(uids.len(), 10);
        assert_eq!(
            pos.saved.iter().map(|p| p.last_uid).collect::<Vec<_>>(),
            vec![0, 6, 12, 18, 20]
        );
    }

    /// Regression: `-o FILE` was truncated before connecting, so a run failing at login lost
    /// the records of the previous run, whose position had already moved past them.
    #[test]
    fn a_poll_that_fails_before_its_first_record_leaves_the_output_file_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("fetched.jsonl");
        let before = "{\"uid\":1}\n{\"uid\":2}\n";
        let (plan, mb, mut pos) = (plan(), mailbox(2), Memory::default());
        let poll_once = |connect: &dyn Fn() -> Result<Box<dyn Session>>, pos: &mut Memory| {
            let mut sinks = Sinks::open(Some(Some(&out)), None).unwrap();
            let result = poll(
                &plan,
                connect,
                pos,
                &mut sinks,
                &mut Progress::new(true),
                &Stop::default(),
            );
            drop(sinks);
            result
        };
        let fake = || -> Result<Box<dyn Session>> { Ok(Box::new(Fake(mb.clone()))) };

        std::fs::write(&out, before).unwrap();
        let refused = || -> Result<Box<dyn Session>> { bail!("Connection refused") };
        assert!(matches!(
            poll_once(&refused, &mut pos),
            Err(Failure::Server(_))
        ));
        assert_eq!(std::fs::read_to_string(&out).unwrap(), before);
        mb.borrow_mut().fail_open = true;
        assert!(poll_once(&fake, &mut pos).is_err());
        assert_eq!(std::fs::read_to_string(&out).unwrap(), before);
        assert!(pos.saved.is_empty());

        // A poll that reads the mailbox replaces the file, even with nothing to write.
        mb.borrow_mut().fail_open = false;
        assert_eq!(poll_once(&fake, &mut pos).unwrap().written, 2);
        let text = std::fs::read_to_string(&out).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.contains(";UID=4\""), "{text}");
        assert_eq!(poll_once(&fake, &mut pos).unwrap().written, 0);
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "");
    }

    /// What --watch does on SIGINT or SIGTERM: the batch being read is written, acted on and
    /// remembered, and no other is asked for.
    #[test]
    fn a_stop_request_ends_the_poll_once_the_current_batch_is_written_and_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let (mut plan, mb, mut pos) = (plan(), mailbox(8), Memory::default());
        plan.mark_seen = true;
        let out = dir.path().join("1");
        let stop = Stop::default();
        mb.borrow_mut().stop_while_reading = Some(stop.requested.clone());
        let mut sinks = Sinks::open(Some(Some(&out)), None).unwrap();
        mb.borrow_mut().output = Some(out.clone());
        let connect = || -> Result<Box<dyn Session>> { Ok(Box::new(Fake(mb.clone()))) };
        let tally = poll(
            &plan,
            &connect,
            &mut pos,
            &mut sinks,
            &mut Progress::new(true),
            &stop,
        )
        .unwrap();
        drop(sinks);
        assert_eq!(tally.written, 3);
        assert!(tally.stopped_early);
        assert_eq!(mb.borrow().fetches, 1, "a second batch was fetched");
        assert_eq!(mb.borrow().seen, vec![2, 4, 6]);
        assert_eq!(
            pos.saved.iter().map(|p| p.last_uid).collect::<Vec<_>>(),
            vec![0, 6]
        );
        assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 3);
        // Without actions the next batch is asked for early; a stop still ends after one.
        plan.mark_seen = false;
        let stop = Stop::default();
        mb.borrow_mut().stop_while_reading = Some(stop.requested.clone());
        let mut sinks = Sinks::open(Some(Some(&dir.path().join("2"))), None).unwrap();
        let tally = poll(
            &plan,
            &connect,
            &mut pos,
            &mut sinks,
            &mut Progress::new(true),
            &stop,
        )
        .unwrap();
        assert_eq!((tally.written, tally.stopped_early), (3, true));
        assert_eq!(pos.saved.last().unwrap().last_uid, 12);
        // The next run goes on from there.
        let (_, uids) = poll_into(&plan, &mb, &mut pos, &dir.path().join("3"));
        assert_eq!(uids, vec![14, 16]);
    }

    #[test]
    fn limit_stops_early_and_the_next_run_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let (mut plan, mb, mut pos) = (plan(), mailbox(5), Memory::default());
        plan.limit = Some(2);
        let (_, uids) = poll_into(&plan, &mb, &mut pos, &dir.path().join("1"));
        assert_eq!(uids, vec![2, 4]);
        let (_, uids) = poll_into(&plan, &mb, &mut pos, &dir.path().join("2"));
        assert_eq!(uids, vec![6, 8]);
    }

    #[test]
    fn batches_respect_both_limits() {
        let mut plan = plan();
        plan.batch_messages = 10;
        plan.batch_bytes = 100;
        plan.max_size = 1000;
        let meta = |uid, size| Meta {
            uid,
            size,
            internal_date: None,
        };
        let chunk = [1, 2, 3, 4, 5];
        // 3 has vanished; 4 is over --max-size and reads nothing.
        let metas = [meta(1, 60), meta(2, 30), meta(4, 5000), meta(5, 20)];
        let (to, in_batch) = next_batch(&plan, &chunk, 0, &metas);
        assert_eq!((to, in_batch.len()), (4, 3), "{in_batch:?}");
        let (to, in_batch) = next_batch(&plan, &chunk, 4, &metas);
        assert_eq!((to, in_batch), (5, &metas[3..]));
        // A single message larger than a batch still makes one.
        let (to, _) = next_batch(&plan, &[9], 0, &[meta(9, 900)]);
        assert_eq!(to, 1);
    }

    #[test]
    fn intervals_parse() {
        assert_eq!(parse_interval("900"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_interval("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_interval("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_interval("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_interval("0").is_err());
        assert!(parse_interval("soon").is_err());
        assert!(parse_interval("5d").is_err());
    }
}
