//! `bouncekit validate`: checks a recipient list's addresses before the first mailing
//! (syntax, DNS, disposable domains, role accounts, likely typos) and writes every row back
//! with four columns added, or only the valid or the invalid rows as they were.
//!
//! The list is read twice. The first pass counts the list's domains and hands each new one
//! to DNS at once, so that lookups run while the rest of the list is read; the typo
//! suggestions need the whole list's counts, and no row can be written before its domain's
//! answer is in. The second pass judges and writes the rows, CSV rows byte for byte with the
//! cells appended (never re-encoded). Standard input is copied to a temporary file on the
//! first pass to be read again. Memory holds one entry per distinct domain, never the list.
//!
//! The store is touched only with `--to-store`, and only after the rows it records are
//! written and flushed.

mod checks;
mod jsonl;
mod typos;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, IsTerminal, Read, Seek, Write};
use std::net::SocketAddr;
use std::ops::Range;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use serde_json::{Map, Value};
use xxhash_rust::xxh3::Xxh3DefaultBuilder;

use crate::address::{self, Address};
use crate::chunks::{self, ChunkReader, Field};
use crate::clock;
use crate::dns::{self, Mail};
use crate::exit::Exit;
use crate::io;
use crate::records::{self, InputFormat};
use crate::store::{self, Change, Decision, NewEvent, Origin, Rules, State, Store, event_id};
use checks::{CHECKS, Check, Disposable, Domains, Judge, Validity, Verdict};

/// Checks the addresses of a recipient list before the first mailing: syntax as mail servers
/// take it, the domain's mail servers in DNS, disposable domains, role accounts and likely
/// typos.
///
/// Every row is written back with four columns added: `valid` (true, false, or unknown when
/// DNS gave no answer: never false for want of one), `check` (what failed, or is worth a
/// look: empty, syntax, no_domain, null_mx, no_mail_host, disposable, dns_timeout,
/// dns_error, typo, role), `suggestion` (the address probably meant) and `normalized` (the
/// address as the store keeps it). JSONL records get them as fields (`valid` is true, false
/// or null). The address column is found by name as in `suppress filter`.
///
/// DNS: the MX records, falling back to the domain's own A/AAAA records (RFC 5321); a Null
/// MX (RFC 7505) and NXDOMAIN make an address invalid, and so does a domain whose mail hosts
/// have no address. Each domain is asked once per run, many at a time.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    bouncekit validate customers.csv > checked.csv\n  \
    bouncekit validate --only-valid new-leads.csv -o clean.csv\n  \
    bouncekit validate --only-invalid --no-dns scraped.csv\n  \
    bouncekit validate --to-store --disposable disposable-domains.txt list.jsonl > checked.jsonl\n  \
    bouncekit validate --nameserver 127.0.0.1:5353 --dns-timeout 2 list.csv")]
pub struct ValidateArgs {
    /// The recipient list: CSV with a header, or JSONL; `-` for stdin (the default).
    #[arg(value_name = "LIST")]
    pub input: Option<String>,

    /// Write to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// The address column, when it is not found by name (email, e-mail, mail, address, ...).
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,

    /// Write only the rows not found invalid, exactly as they were (rows whose domain got no
    /// DNS answer are kept: unknown is not invalid).
    #[arg(long, conflicts_with = "only_invalid")]
    pub only_valid: bool,

    /// Write only the rows found invalid, exactly as they were.
    #[arg(long)]
    pub only_invalid: bool,

    /// Check syntax, disposable domains, role accounts and typos only; ask no DNS.
    #[arg(long, conflicts_with_all = ["nameserver", "dns_timeout", "dns_concurrency"])]
    pub no_dns: bool,

    /// The DNS server to ask (a recursive resolver), as IP or IP:PORT; repeatable [default:
    /// the system's, from /etc/resolv.conf].
    #[arg(long, value_name = "IP[:PORT]", value_parser = dns::parse_nameserver)]
    pub nameserver: Vec<SocketAddr>,

    /// Seconds a domain's lookups may take in all (a query unanswered for half of it is sent
    /// once more); a domain still unanswered is `unknown`, not invalid.
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = parse_seconds)]
    pub dns_timeout: Duration,

    /// Domains looked up at the same time.
    #[arg(long, value_name = "N", default_value_t = 128,
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub dns_concurrency: u32,

    /// A list of disposable domains, one per line (`#` comments); repeatable. Replaces the
    /// small built-in list (mailinator.com, yopmail.com, guerrillamail.com and a few more).
    #[arg(long, value_name = "FILE")]
    pub disposable: Vec<PathBuf>,

    /// Record the invalid addresses in the store as bounced, reason invalid_address
    /// (disposable ones excepted: they do take mail). Without it the store is not touched.
    #[arg(long)]
    pub to_store: bool,

    /// The store (SQLite file) for --to-store.
    #[arg(long, value_name = "PATH", env = "BOUNCEKIT_DB")]
    pub db: Option<PathBuf>,

    /// Exit 1 at the end if any record could not be read.
    #[arg(long)]
    pub strict: bool,
}

/// Parses a number of seconds (`5`, `0.5`) as a duration of at least a millisecond.
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("not a number of seconds: {text:?}"))?;
    if !(0.001..=3600.0).contains(&secs) {
        return Err(format!("{text} is out of range (0.001 to 3600 seconds)"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The columns added to every row, in order.
const COLUMNS: [&str; 4] = ["valid", "check", "suggestion", "normalized"];

/// Which rows are written, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Every row, with the four columns.
    Annotate,
    /// The rows not found invalid, as they were.
    OnlyValid,
    /// The rows found invalid, as they were.
    OnlyInvalid,
}

impl Mode {
    fn keeps(self, validity: Validity) -> bool {
        match self {
            Mode::Annotate => true,
            Mode::OnlyValid => validity != Validity::Invalid,
            Mode::OnlyInvalid => validity == Validity::Invalid,
        }
    }
}

/// At most this many unreadable records are named on stderr; the rest are only counted.
const NAMED_BAD: u64 = 10;

/// Rows seen and what was found.
#[derive(Debug, Default)]
struct Tally {
    rows: u64,
    valid: u64,
    invalid: u64,
    unknown: u64,
    checks: [u64; CHECKS.len()],
    unreadable: u64,
    written: u64,
}

impl Tally {
    fn add(&mut self, verdict: &Verdict) {
        self.rows += 1;
        match verdict.validity() {
            Validity::Valid => self.valid += 1,
            Validity::Invalid => self.invalid += 1,
            Validity::Unknown => self.unknown += 1,
        }
        if let Some(check) = verdict.check
            && let Some(i) = CHECKS.iter().position(|&c| c == check)
        {
            self.checks[i] += 1;
        }
    }

    /// "12 role, 3 typo" for the checks of one validity.
    fn breakdown(&self, validity: Validity) -> String {
        CHECKS
            .iter()
            .zip(self.checks)
            .filter(|(c, n)| *n > 0 && c.validity() == validity)
            .map(|(c, n)| format!("{n} {}", c.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

pub fn run(args: ValidateArgs, quiet: bool) -> Result<Exit> {
    let started = Instant::now();
    let name = args.input.clone().unwrap_or_else(|| "-".into());
    let shown = if io::is_stdio(&name) { "stdin" } else { &name };
    let mode = if args.only_valid {
        Mode::OnlyValid
    } else if args.only_invalid {
        Mode::OnlyInvalid
    } else {
        Mode::Annotate
    };
    let disposable = if args.disposable.is_empty() {
        Disposable::default_list()
    } else {
        Disposable::from_files(&args.disposable)?
    };
    let mut recorder = if args.to_store {
        let path = store::resolve_path(args.db.as_deref())?;
        Some(Recorder::new(Store::open(&path)?, shown))
    } else {
        None
    };
    let dns = !args.no_dns;
    refuse_to_overwrite(&name, args.output.as_deref())?;

    // First pass: count the domains, asking DNS about each new one as it comes.
    let (mut input, spool) = first_reader(&name)?;
    let format = records::sniff(&mut input, false)?;
    let checker = dns
        .then(|| {
            dns::Checker::start(dns::Config {
                nameservers: args.nameserver.clone(),
                timeout: args.dns_timeout,
                concurrency: args.dns_concurrency as usize,
            })
        })
        .transpose()?;
    let mut domains = Domains::new(disposable);
    let mut seen = SeenDomains::default();
    let mut see = |raw: &[u8]| {
        seen.see(raw, |domain| {
            domains.add(domain, 0, |domain| {
                if let Some(checker) = &checker {
                    checker.ask(domain);
                }
            })
        })
    };
    let column = args.column.as_deref();
    match format {
        InputFormat::Jsonl => scan_jsonl(input, column, &mut see),
        InputFormat::Csv | InputFormat::AddressLines => scan_csv(input, column, mode, &mut see),
    }
    .with_context(|| format!("cannot read {shown}"))?;
    seen.count_into(&mut domains);
    if let Some(checker) = checker {
        let answers = wait_for(checker, domains.len(), quiet)?;
        domains.set_mail(answers);
    }
    let suggester = domains.suggest();

    // Second pass: judge and write every row.
    let input = second_reader(&name, spool)?;
    let mut out = io::open_output(args.output.as_deref())?;
    let mut judge = Judge::new(&domains, &suggester, dns);
    let mut tally = Tally::default();
    let mut writer = RowWriter {
        out: &mut out,
        mode,
        recorder: recorder.as_mut(),
        tally: &mut tally,
    };
    match format {
        InputFormat::Jsonl => write_jsonl(input, column, &mut judge, &mut writer, shown),
        InputFormat::Csv | InputFormat::AddressLines => {
            write_csv(input, column, &mut judge, &mut writer)
        }
    }
    .with_context(|| format!("cannot validate {shown}"))?;
    out.flush()?;
    let recorded = recorder.map(Recorder::finish).transpose()?;

    let (unanswered, asked) = domains.unanswered();
    if !quiet {
        summary(&tally, &domains, recorded, started.elapsed());
    }
    if asked > 0 && unanswered == asked {
        let why = domains
            .unanswered_examples(1)
            .pop()
            .map_or_else(String::new, |(_, why)| format!(" ({why})"));
        eprintln!(
            "bouncekit: validate: DNS answered for none of the {asked} domains{why}: is the name server reachable? (--nameserver, or --no-dns for syntax only)"
        );
        return Ok(Exit::Failure);
    }
    if args.strict && tally.unreadable > 0 {
        return Ok(Exit::Failure);
    }
    Ok(Exit::Success)
}

/// The domain parts of the first pass, as written, each normalised once: the first pass
/// only counts domains, so it takes the text after an address's last `@` rather than
/// checking the whole address (the second pass does that). A domain is counted even when
/// the rest of its address is bad, which makes no difference to what it is used for.
#[derive(Default)]
struct SeenDomains {
    /// Domain part as written (ASCII lower-cased) → its normalised form, and its count.
    raw: HashMap<Vec<u8>, (Option<Box<str>>, u32), Xxh3DefaultBuilder>,
    lower: Vec<u8>,
    scratch: String,
}

impl SeenDomains {
    /// Counts the domain of an address field; `first` gets each new normalised domain.
    fn see(&mut self, field: &[u8], first: impl FnOnce(&str)) {
        let Some(at) = memchr::memrchr(b'@', field) else {
            return;
        };
        let domain = field[at + 1..].trim_ascii();
        let domain = domain.strip_suffix(b">").unwrap_or(domain).trim_ascii_end();
        self.lower.clear();
        self.lower.extend(domain.iter().map(u8::to_ascii_lowercase));
        if let Some(entry) = self.raw.get_mut(self.lower.as_slice()) {
            entry.1 += 1;
            return;
        }
        let normalized = std::str::from_utf8(&self.lower).ok().and_then(|d| {
            address::normalize(&format!("x@{d}"), &mut self.scratch).ok()?;
            Some(Box::<str>::from(&self.scratch[2..]))
        });
        if let Some(domain) = &normalized {
            first(domain);
        }
        self.raw.insert(self.lower.clone(), (normalized, 1));
    }

    /// Adds the counts to `domains` (every normalised domain is in it already).
    fn count_into(self, domains: &mut Domains) {
        for (normalized, n) in self.raw.into_values() {
            if let Some(domain) = normalized {
                domains.add(&domain, n, |_| {});
            }
        }
    }
}

/// Waits for DNS, with a count of the domains answered on a terminal.
fn wait_for(checker: dns::Checker, domains: usize, quiet: bool) -> Result<HashMap<String, Mail>> {
    if quiet || !std::io::stderr().is_terminal() {
        return checker.finish();
    }
    let bar = indicatif::ProgressBar::new(domains as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} {pos}/{len} domains looked up")
    {
        bar.set_style(style);
    }
    let answers = checker.finish_with_progress(|done| bar.set_position(done as u64));
    bar.finish_and_clear();
    answers
}

fn summary(tally: &Tally, domains: &Domains, recorded: Option<u64>, took: Duration) {
    let part = |n: u64, word: &str, validity: Validity| {
        let detail = tally.breakdown(validity);
        if detail.is_empty() {
            format!("{n} {word}")
        } else {
            format!("{n} {word} ({detail})")
        }
    };
    let (unanswered, asked) = domains.unanswered();
    let mut line = format!(
        "bouncekit: validate: {}: {}, {}, {}; {}",
        plural(tally.rows, "row"),
        part(tally.valid, "valid", Validity::Valid),
        part(tally.invalid, "invalid", Validity::Invalid),
        part(tally.unknown, "unknown", Validity::Unknown),
        plural(domains.len() as u64, "domain"),
    );
    if asked > 0 {
        line += &format!(" ({asked} looked up, {unanswered} without an answer)");
    }
    if let Some(n) = recorded {
        line += &format!("; {n} recorded in the store as bounced");
    }
    line += &format!(
        "; {} written; {:.1} s",
        plural(tally.written, "row"),
        took.as_secs_f64()
    );
    eprintln!("{line}");
    for (domain, why) in domains.unanswered_examples(5) {
        eprintln!("bouncekit: validate: no DNS answer for {domain}: {why}");
    }
}

/// The list is read twice, the second time after the output is opened: writing over the
/// list (`-o` naming it) would lose it.
fn refuse_to_overwrite(input: &str, output: Option<&std::path::Path>) -> Result<()> {
    let Some(output) = output.filter(|o| !io::is_stdio(&o.to_string_lossy())) else {
        return Ok(());
    };
    if io::is_stdio(input) {
        return Ok(());
    }
    if let (Ok(a), Ok(b)) = (std::fs::canonicalize(input), std::fs::canonicalize(output))
        && a == b
    {
        bail!(
            "the output {} is the list itself: write elsewhere",
            output.display()
        );
    }
    Ok(())
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The first pass's reader: the file, or stdin copied to a temporary file as it is read
/// (returned too, for the second pass).
fn first_reader(name: &str) -> Result<(Box<dyn BufRead + Send>, Option<File>)> {
    if !io::is_stdio(name) {
        return Ok((io::open_input(name)?, None));
    }
    let spool = tempfile::tempfile().context("cannot create a temporary file for stdin")?;
    let tee = Tee {
        input: std::io::stdin(),
        copy: spool.try_clone()?,
    };
    Ok((
        Box::new(BufReader::with_capacity(64 * 1024, tee)),
        Some(spool),
    ))
}

/// The second pass's reader: the file again, or the copy of stdin.
fn second_reader(name: &str, spool: Option<File>) -> Result<Box<dyn Read + Send>> {
    match spool {
        None => Ok(io::open_input(name)?),
        Some(mut file) => {
            file.rewind()?;
            Ok(Box::new(BufReader::with_capacity(64 * 1024, file)))
        }
    }
}

/// Copies what it reads into `copy`.
struct Tee<R> {
    input: R,
    copy: File,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.input.read(buf)?;
        self.copy.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// Where a row's address field is, in its chunk's `extra` bytes.
#[derive(Debug, Clone)]
enum At {
    Blank,
    Missing,
    Field(Range<usize>),
}

/// Copies each address field into the chunk (on the thread that cuts the list), for the
/// thread that judges the rows.
fn keep_field(field: Field<'_>, extra: &mut Vec<u8>) -> At {
    match field {
        Field::Blank => At::Blank,
        Field::Missing => At::Missing,
        Field::Value(value) => {
            let start = extra.len();
            extra.extend_from_slice(value);
            At::Field(start..extra.len())
        }
    }
}

/// Chunks the cutting thread may run ahead (each is about 4 MB).
const CHUNKS_AHEAD: usize = 2;

/// A part of a CSV list, as `csv_chunks` hands it on.
enum Part<'a> {
    /// The header record's bytes and its column names.
    Header(&'a [u8], &'a [String]),
    Chunk(&'a chunks::Chunk<At>),
}

/// Cuts a CSV list on a second thread and hands its header and then its chunks to `each` on
/// this one.
fn csv_chunks(
    input: impl Read + Send,
    column: Option<&str>,
    mut each: impl FnMut(Part<'_>) -> Result<()>,
) -> Result<()> {
    let mut names = Vec::new();
    let (mut reader, header_bytes) = ChunkReader::new(
        input,
        |found| {
            names = found.to_vec();
            records::address_column(found, column)
        },
        keep_field,
    )?;
    each(Part::Header(&header_bytes, &names))?;
    std::thread::scope(|scope| {
        let (sender, receiver) = std::sync::mpsc::sync_channel(CHUNKS_AHEAD);
        let cutter = scope.spawn(move || -> Result<()> {
            while let Some(chunk) = reader.next_chunk()? {
                if sender.send(chunk).is_err() {
                    break;
                }
            }
            Ok(())
        });
        let done = receiver
            .iter()
            .try_for_each(|chunk| each(Part::Chunk(&chunk)));
        // On an error here the receiver is dropped, which stops the cutter.
        drop(receiver);
        let cut = cutter
            .join()
            .map_err(|_| anyhow::anyhow!("the thread reading the list panicked"))?;
        done?;
        cut
    })
}

/// The first pass over a CSV list: every address field to `see`.
fn scan_csv(
    input: impl Read + Send,
    column: Option<&str>,
    mode: Mode,
    see: &mut dyn FnMut(&[u8]),
) -> Result<()> {
    csv_chunks(input, column, |part| {
        match part {
            Part::Header(_, names) => {
                let taken: Vec<&str> = COLUMNS
                    .iter()
                    .copied()
                    .filter(|c| names.iter().any(|n| n.trim().eq_ignore_ascii_case(c)))
                    .collect();
                if mode == Mode::Annotate && !taken.is_empty() {
                    bail!(
                        "the list already has a column named {} (validated before?): remove it, or use --only-valid or --only-invalid, which add no columns",
                        taken.join(", ")
                    );
                }
            }
            Part::Chunk(chunk) => {
                for row in &chunk.rows {
                    if let At::Field(range) = &row.address {
                        see(&chunk.extra[range.clone()]);
                    }
                }
            }
        }
        Ok(())
    })
}

/// The first pass over a JSONL list.
fn scan_jsonl(
    input: Box<dyn BufRead + Send>,
    column: Option<&str>,
    see: &mut dyn FnMut(&[u8]),
) -> Result<()> {
    for line in input.split(b'\n') {
        let line = line.context("cannot read the list")?;
        if let Ok(jsonl::Scanned {
            address: Some(address),
            ..
        }) = jsonl::scan(&line, column)
        {
            see(address.as_bytes());
        }
    }
    Ok(())
}

/// Writes the rows the mode keeps, counts them, and hands the invalid ones to the store.
struct RowWriter<'a> {
    out: &'a mut Box<dyn Write + Send>,
    mode: Mode,
    recorder: Option<&'a mut Recorder>,
    tally: &'a mut Tally,
}

impl RowWriter<'_> {
    /// Counts a verdict and queues its address for the store; true when the row is written.
    fn take(&mut self, verdict: &Verdict, normalized: &str) -> Result<bool> {
        self.tally.add(verdict);
        if let (Some(recorder), Some(check)) = (self.recorder.as_deref_mut(), verdict.check)
            && verdict.validity() == Validity::Invalid
            && check != Check::Disposable
            && verdict.normalized
        {
            recorder.push(normalized, check, &mut **self.out)?;
        }
        let keep = self.mode.keeps(verdict.validity());
        if keep {
            self.tally.written += 1;
        }
        Ok(keep)
    }

    /// The four cells of a verdict, as CSV text.
    fn cells<'v>(verdict: &'v Verdict, normalized: &'v str) -> [&'v str; 4] {
        [
            verdict.validity().as_str(),
            verdict.check.map_or("", Check::as_str),
            verdict.suggestion.as_deref().unwrap_or(""),
            if verdict.normalized { normalized } else { "" },
        ]
    }
}

/// The second pass over a CSV list.
fn write_csv(
    input: impl Read + Send,
    column: Option<&str>,
    judge: &mut Judge<'_>,
    writer: &mut RowWriter<'_>,
) -> Result<()> {
    let mut ending: &[u8] = b"\n";
    csv_chunks(input, column, |part| {
        let chunk = match part {
            Part::Header(header, _) => {
                ending = chunks::line_ending(header);
                if writer.mode == Mode::Annotate {
                    chunks::write_with_cells(&mut **writer.out, header, &COLUMNS, ending)?;
                } else {
                    writer.out.write_all(header)?;
                }
                return Ok(());
            }
            Part::Chunk(chunk) => chunk,
        };
        let mut start = 0;
        for row in &chunk.rows {
            let bytes = &chunk.bytes[start..row.end];
            start = row.end;
            let verdict = match &row.address {
                At::Blank => {
                    // No record: kept as it is when the whole list is written.
                    if writer.mode == Mode::Annotate {
                        writer.out.write_all(bytes)?;
                    }
                    continue;
                }
                At::Missing => judge.judge(b""),
                At::Field(range) => judge.judge(&chunk.extra[range.clone()]),
            };
            let normalized = judge.normalized();
            if !writer.take(&verdict, normalized)? {
                continue;
            }
            if writer.mode == Mode::Annotate {
                let cells = RowWriter::cells(&verdict, normalized);
                chunks::write_with_cells(&mut **writer.out, bytes, &cells, ending)?;
            } else {
                writer.out.write_all(bytes)?;
            }
        }
        Ok(())
    })
}

/// The second pass over a JSONL list: each object with the four fields added (its own text
/// kept, the fields appended before its closing brace, unless it has fields of those names
/// already, which are then replaced), or each line as it was.
fn write_jsonl(
    input: Box<dyn Read + Send>,
    column: Option<&str>,
    judge: &mut Judge<'_>,
    writer: &mut RowWriter<'_>,
    shown: &str,
) -> Result<()> {
    let input = BufReader::with_capacity(64 * 1024, input);
    for (at, line) in (1u64..).zip(input.split(b'\n')) {
        let line = line.context("cannot read the list")?;
        let (body, ending): (&[u8], &[u8]) = match line.strip_suffix(b"\r") {
            Some(body) => (body, b"\r\n"),
            None => (&line, b"\n"),
        };
        if body.iter().all(u8::is_ascii_whitespace) {
            if writer.mode == Mode::Annotate {
                writer.out.write_all(&line)?;
                writer.out.write_all(b"\n")?;
            }
            continue;
        }
        let scanned = match jsonl::scan(body, column) {
            Ok(scanned) => scanned,
            Err(e) => {
                let why = format!("not a JSON object: {e}");
                unreadable(writer, body, ending, &why, at, shown)?;
                continue;
            }
        };
        let verdict = judge.judge(scanned.address.as_deref().unwrap_or("").as_bytes());
        let normalized = judge.normalized();
        if !writer.take(&verdict, normalized)? {
            continue;
        }
        if writer.mode != Mode::Annotate {
            writer.out.write_all(body)?;
            writer.out.write_all(ending)?;
            continue;
        }
        let values = [
            verdict.validity().to_json(),
            verdict.check.map_or(Value::Null, |c| c.as_str().into()),
            verdict
                .suggestion
                .as_ref()
                .map_or(Value::Null, |s| s.as_str().into()),
            if verdict.normalized {
                normalized.into()
            } else {
                Value::Null
            },
        ];
        append_fields(&mut **writer.out, body, &scanned, &values)?;
        writer.out.write_all(ending)?;
    }
    Ok(())
}

/// Writes a JSON object with `COLUMNS` set to `values`: appended to its text as it was, or,
/// when it has such fields already, the object re-encoded with them replaced.
fn append_fields(
    out: &mut dyn Write,
    body: &[u8],
    scanned: &jsonl::Scanned,
    values: &[Value; 4],
) -> Result<()> {
    if scanned.has_ours {
        let mut map: Map<String, Value> = serde_json::from_slice(body)?;
        for (name, value) in COLUMNS.iter().zip(values) {
            map.insert(name.to_string(), value.clone());
        }
        serde_json::to_writer(&mut *out, &map)?;
        return Ok(());
    }
    let text = body.trim_ascii_end();
    let open = text
        .strip_suffix(b"}")
        .context("a JSON object that does not end with }")?;
    out.write_all(open)?;
    for (i, (name, value)) in COLUMNS.iter().zip(values).enumerate() {
        if i > 0 || scanned.fields > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, name)?;
        out.write_all(b":")?;
        serde_json::to_writer(&mut *out, value)?;
    }
    out.write_all(b"}")?;
    Ok(())
}

/// A JSONL line that is no object: counted, named on stderr (the first few), and written
/// as a record with `error` (or as it was, with the invalid rows).
fn unreadable(
    writer: &mut RowWriter<'_>,
    body: &[u8],
    ending: &[u8],
    why: &str,
    at: u64,
    shown: &str,
) -> Result<()> {
    writer.tally.unreadable += 1;
    let verdict = Verdict {
        check: Some(Check::Unreadable),
        suggestion: None,
        normalized: false,
    };
    writer.tally.add(&verdict);
    if writer.tally.unreadable <= NAMED_BAD {
        eprintln!("bouncekit: {shown}: line {at}: {why}");
    }
    match writer.mode {
        Mode::OnlyValid => {}
        Mode::OnlyInvalid => {
            writer.tally.written += 1;
            writer.out.write_all(body)?;
            writer.out.write_all(ending)?;
        }
        Mode::Annotate => {
            writer.tally.written += 1;
            let mut record = Map::new();
            record.insert(
                "line".into(),
                String::from_utf8_lossy(body).into_owned().into(),
            );
            record.insert("error".into(), why.into());
            let values = [
                verdict.validity().to_json(),
                Check::Unreadable.as_str().into(),
                Value::Null,
                Value::Null,
            ];
            for (name, value) in COLUMNS.iter().zip(values) {
                record.insert(name.to_string(), value);
            }
            serde_json::to_writer(&mut **writer.out, &record)?;
            writer.out.write_all(ending)?;
        }
    }
    Ok(())
}

/// Events per store transaction.
const BATCH: usize = 20_000;

/// Records invalid addresses in the store as bounced, in batches; the output is flushed
/// before each batch, so that the store never knows of a verdict the output lost.
struct Recorder {
    store: Store,
    batch: Vec<NewEvent>,
    source: String,
    now: i64,
    recorded: u64,
}

impl Recorder {
    fn new(store: Store, source: &str) -> Recorder {
        Recorder {
            store,
            batch: Vec::new(),
            source: source.to_string(),
            now: clock::now(),
            recorded: 0,
        }
    }

    fn push(&mut self, email: &str, check: Check, out: &mut dyn Write) -> Result<()> {
        let Ok(address) = Address::parse(email) else {
            return Ok(());
        };
        self.batch.push(NewEvent {
            address,
            change: Change::Decision(Decision::Import(State::Bounced)),
            reason: Some("invalid_address".into()),
            status: None,
            time: self.now,
            origin: Origin::Validate,
            source: Some(self.source.clone()),
            detail: Some(format!("{}: {}", check.as_str(), check.describe())),
            // The same verdict on the same address is the same event, however often the
            // list is validated.
            id: event_id(&["validate", check.as_str()]),
            force: false,
        });
        if self.batch.len() >= BATCH {
            out.flush()?;
            self.write()?;
        }
        Ok(())
    }

    fn write(&mut self) -> Result<()> {
        if !self.batch.is_empty() {
            let done = self
                .store
                .ingest(&self.batch, &Rules::default(), self.now, false)?;
            self.recorded += done.new;
            self.batch.clear();
        }
        Ok(())
    }

    /// Writes what is left (the output must be flushed first); the number of new events.
    fn finish(mut self) -> Result<u64> {
        self.write()?;
        Ok(self.recorded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_parse_as_durations() {
        assert_eq!(parse_seconds("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_seconds("0.25"), Ok(Duration::from_millis(250)));
        assert!(parse_seconds("0").is_err());
        assert!(parse_seconds("soon").is_err());
    }

    #[test]
    fn fields_are_appended_to_the_object_as_written() {
        let values = [
            Value::Bool(true),
            Value::Null,
            Value::Null,
            "a@example.org".into(),
        ];
        let append = |body: &[u8]| {
            let mut out = Vec::new();
            let scanned = jsonl::scan(body, None).unwrap();
            append_fields(&mut out, body, &scanned, &values).unwrap();
            String::from_utf8(out).unwrap()
        };
        assert_eq!(
            append(br#"{ "email" : "a@example.org",  "n":1.50 }  "#),
            r#"{ "email" : "a@example.org",  "n":1.50 ,"valid":true,"check":null,"suggestion":null,"normalized":"a@example.org"}"#
        );
        assert!(append(b"{}").starts_with(r#"{"valid":true,"#));
        assert!(append(b"{ }").starts_with(r#"{ "valid":true,"#));
        // Fields of the same names are replaced, not doubled.
        let out = append(br#"{"email":"a@example.org","valid":"yes"}"#);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["valid"], true);
        assert_eq!(v.as_object().unwrap().len(), 5);
    }

    #[test]
    fn the_filter_modes_are_complements() {
        for v in [Validity::Valid, Validity::Invalid, Validity::Unknown] {
            assert!(
                Mode::OnlyValid.keeps(v) != Mode::OnlyInvalid.keeps(v),
                "{v:?}"
            );
            assert!(Mode::Annotate.keeps(v));
        }
    }
}
