//! `suppress filter`: the sendable rows of a recipient list, each written exactly as it was
//! read (quoting, line ends, non-UTF-8 bytes and all), and the dropped ones, with their state
//! and reason, to `--rejected`.
//!
//! Built for lists of millions of rows: the CSV is split into records by `csv-core` straight
//! from a large buffer, so a kept row is one copy of its bytes; the store's unsendable
//! addresses and the addresses already seen are kept as 64-bit hashes (see
//! `address::key_hash` for why a collision can only drop a row, never let one through).

use std::collections::HashMap;
use std::collections::HashSet;
use std::io::{BufRead, Read, Write};

use anyhow::{Context, Result};
use csv_core::ReadRecordResult;
use nohash_hasher::BuildNoHashHasher;
use serde_json::Value;

use super::FilterArgs;
use crate::address;
use crate::exit::Exit;
use crate::io;
use crate::records::{self, InputFormat};
use crate::store::{State, Store};

type HashKeyed<V> = HashMap<u64, V, BuildNoHashHasher<u64>>;

/// Why a row is dropped: the state and reason columns of `--rejected`.
#[derive(Debug, Clone, Copy)]
struct Drop<'a> {
    state: &'a str,
    reason: &'a str,
}

const INVALID: Drop<'static> = Drop {
    state: "invalid",
    reason: "invalid_address",
};
const DUPLICATE: Drop<'static> = Drop {
    state: "duplicate",
    reason: "duplicate",
};

/// The store's unsendable addresses (hashed) with their state and reason.
struct Unsendable {
    by_hash: HashKeyed<u32>,
    /// Distinct (state, reason) pairs; `by_hash` points into this.
    why: Vec<(String, String)>,
}

impl Unsendable {
    fn load(store: &Store) -> Result<Unsendable> {
        let mut by_hash = HashKeyed::default();
        let mut why = Vec::new();
        let mut interned: HashMap<(State, String), u32> = HashMap::new();
        store.for_each_unsendable(|hash, _key, state, reason| {
            let reason = reason.unwrap_or(state.as_str()).to_string();
            let next = why.len() as u32;
            let index = *interned.entry((state, reason.clone())).or_insert_with(|| {
                why.push((state.as_str().to_string(), reason));
                next
            });
            by_hash.insert(hash, index);
        })?;
        Ok(Unsendable { by_hash, why })
    }

    fn get(&self, hash: u64) -> Option<Drop<'_>> {
        self.by_hash.get(&hash).map(|&i| {
            let (state, reason) = &self.why[i as usize];
            Drop { state, reason }
        })
    }
}

/// Rows seen and what became of them.
#[derive(Debug, Default)]
struct Counts {
    rows: u64,
    kept: u64,
    suppressed: u64,
    invalid: u64,
    duplicates: u64,
}

/// The decision for each row.
struct Judge {
    unsendable: Unsendable,
    seen: HashSet<u64, BuildNoHashHasher<u64>>,
    keep_duplicates: bool,
    keep_invalid: bool,
    scratch: String,
    counts: Counts,
}

impl Judge {
    /// `None` to keep the row, else why it is dropped.
    fn judge(&mut self, address: Option<&[u8]>) -> Option<Drop<'_>> {
        self.counts.rows += 1;
        let hash = address
            .and_then(|a| std::str::from_utf8(a).ok())
            .and_then(|a| address::parse_key_hash(a, &mut self.scratch).ok());
        let Some(hash) = hash else {
            if self.keep_invalid {
                self.counts.kept += 1;
                return None;
            }
            self.counts.invalid += 1;
            return Some(INVALID);
        };
        if let Some(drop) = self.unsendable.get(hash) {
            self.counts.suppressed += 1;
            return Some(drop);
        }
        if !self.seen.insert(hash) && !self.keep_duplicates {
            self.counts.duplicates += 1;
            return Some(DUPLICATE);
        }
        self.counts.kept += 1;
        None
    }
}

pub fn run(args: FilterArgs, store: &Store, quiet: bool) -> Result<Exit> {
    let name = args.input.clone().unwrap_or_else(|| "-".into());
    let mut input = io::open_input(&name)?;
    let format = records::sniff(&mut input, false)?;
    let mut judge = Judge {
        unsendable: Unsendable::load(store)?,
        seen: HashSet::default(),
        keep_duplicates: args.keep_duplicates,
        keep_invalid: args.keep_invalid,
        scratch: String::new(),
        counts: Counts::default(),
    };
    let mut out = io::open_output(args.output.as_deref())?;
    let mut rejected = args
        .rejected
        .as_deref()
        .map(|p| io::open_output(Some(p)))
        .transpose()?;
    match format {
        InputFormat::Jsonl => filter_jsonl(
            input,
            &mut judge,
            args.column.as_deref(),
            &mut out,
            rejected.as_mut(),
        ),
        InputFormat::Csv | InputFormat::AddressLines => filter_csv(
            input,
            &mut judge,
            args.column.as_deref(),
            &mut out,
            rejected.as_mut(),
        ),
    }
    .with_context(|| format!("cannot filter {}", display(&name)))?;
    out.flush()?;
    if let Some(r) = rejected.as_mut() {
        r.flush()?;
    }
    if !quiet {
        let c = &judge.counts;
        eprintln!(
            "bouncekit: suppress filter: {} rows: {} kept; dropped {} not sendable, {} invalid, {} duplicates",
            c.rows, c.kept, c.suppressed, c.invalid, c.duplicates
        );
    }
    Ok(Exit::Success)
}

fn display(name: &str) -> &str {
    if io::is_stdio(name) { "stdin" } else { name }
}

/// The CSV path: records are cut out of a large buffer by `csv-core`; each is written as the
/// exact bytes it was read from.
fn filter_csv(
    mut input: impl Read,
    judge: &mut Judge,
    column: Option<&str>,
    out: &mut dyn Write,
    mut rejected: Option<&mut Box<dyn Write + Send>>,
) -> Result<()> {
    let mut buf = vec![0u8; 1 << 20];
    let (mut start, mut len, mut eof) = (0usize, 0usize, false);
    let mut parser = csv_core::Reader::new();
    let mut fields = vec![0u8; 1024];
    let mut ends = vec![0usize; 32];
    let mut address_index: Option<usize> = None;
    'records: loop {
        // Each record is parsed from its first byte with a fresh parser, so that running out
        // of input or output space can always be met by growing or refilling and parsing the
        // record again.
        parser.reset();
        let (mut pos, mut nout, mut nend) = (start, 0, 0);
        loop {
            // An empty slice means the end of the input to the parser: only give it one then.
            if pos == len && !eof {
                refill(&mut input, &mut buf, &mut start, &mut len, &mut eof)?;
                continue 'records;
            }
            let (result, nin, o, e) =
                parser.read_record(&buf[pos..len], &mut fields[nout..], &mut ends[nend..]);
            pos += nin;
            nout += o;
            nend += e;
            match result {
                // At the end of the input an empty slice tells the parser so.
                ReadRecordResult::InputEmpty if eof => {}
                ReadRecordResult::InputEmpty => {
                    refill(&mut input, &mut buf, &mut start, &mut len, &mut eof)?;
                    continue 'records;
                }
                ReadRecordResult::OutputFull => {
                    fields.resize(fields.len() * 2, 0);
                    continue 'records;
                }
                ReadRecordResult::OutputEndsFull => {
                    ends.resize(ends.len() * 2, 0);
                    continue 'records;
                }
                ReadRecordResult::Record => {
                    // The parser ends a record at the CR of a CRLF; the LF belongs to it too.
                    if pos > start && buf[pos - 1] == b'\r' {
                        if pos == len && !eof {
                            refill(&mut input, &mut buf, &mut start, &mut len, &mut eof)?;
                            continue 'records;
                        }
                        if pos < len && buf[pos] == b'\n' {
                            pos += 1;
                        }
                    }
                    let raw = &buf[start..pos];
                    let field = |i: usize| {
                        (i < nend).then(|| &fields[if i == 0 { 0 } else { ends[i - 1] }..ends[i]])
                    };
                    match address_index {
                        None => {
                            let names: Vec<String> = (0..nend)
                                .map(|i| {
                                    String::from_utf8_lossy(field(i).unwrap_or_default())
                                        .into_owned()
                                })
                                .collect();
                            address_index = Some(records::address_column(&names, column)?);
                            out.write_all(raw)?;
                            if let Some(r) = rejected.as_deref_mut() {
                                write_extended_csv_row(r, raw, "state", "reason")?;
                            }
                        }
                        Some(index) => match judge.judge(field(index)) {
                            None => out.write_all(raw)?,
                            Some(drop) => {
                                if let Some(r) = rejected.as_deref_mut() {
                                    write_extended_csv_row(r, raw, drop.state, drop.reason)?;
                                }
                            }
                        },
                    }
                    start = pos;
                    continue 'records;
                }
                ReadRecordResult::End => break 'records,
            }
        }
    }
    if address_index.is_none() {
        anyhow::bail!("the list is empty: a CSV list needs a header row");
    }
    Ok(())
}

/// Moves the unread bytes to the front of `buf` (growing it when one record fills it) and
/// reads more after them.
fn refill(
    input: &mut impl Read,
    buf: &mut Vec<u8>,
    start: &mut usize,
    len: &mut usize,
    eof: &mut bool,
) -> Result<()> {
    if *start > 0 {
        buf.copy_within(*start..*len, 0);
        *len -= *start;
        *start = 0;
    }
    if *len == buf.len() {
        buf.resize(buf.len() * 2, 0);
    }
    loop {
        match input.read(&mut buf[*len..]) {
            Ok(0) => {
                *eof = true;
                return Ok(());
            }
            Ok(n) => {
                *len += n;
                return Ok(());
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e).context("cannot read the list"),
        }
    }
}

/// Writes a CSV row as read with two cells appended, keeping its line ending.
fn write_extended_csv_row(
    out: &mut dyn Write,
    raw: &[u8],
    state: &str,
    reason: &str,
) -> Result<()> {
    let (body, ending): (&[u8], &[u8]) = if let Some(b) = raw.strip_suffix(b"\r\n") {
        (b, b"\r\n")
    } else if let Some(b) = raw.strip_suffix(b"\n") {
        (b, b"\n")
    } else {
        (raw, b"\n")
    };
    out.write_all(body)?;
    for cell in [state, reason] {
        out.write_all(b",")?;
        if cell.contains([',', '"', '\r', '\n']) {
            write!(out, "\"{}\"", cell.replace('"', "\"\""))?;
        } else {
            out.write_all(cell.as_bytes())?;
        }
    }
    out.write_all(ending)?;
    Ok(())
}

/// The JSONL path: each line is one object; kept lines are written as read, dropped ones
/// with `state` and `reason` added. A line that is no JSON object has no address: invalid.
fn filter_jsonl(
    input: Box<dyn BufRead + Send>,
    judge: &mut Judge,
    column: Option<&str>,
    out: &mut dyn Write,
    mut rejected: Option<&mut Box<dyn Write + Send>>,
) -> Result<()> {
    for line in input.split(b'\n') {
        let line = line.context("cannot read the list")?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let object = match serde_json::from_slice::<Value>(&line) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        };
        let address = object.as_ref().and_then(|map| {
            let names: Vec<&str> = map.keys().map(String::as_str).collect();
            let index = records::address_column(&names, column).ok()?;
            map.get(names[index])?.as_str().map(str::as_bytes)
        });
        match judge.judge(address) {
            None => {
                out.write_all(&line)?;
                out.write_all(b"\n")?;
            }
            Some(drop) => {
                if let Some(r) = rejected.as_deref_mut() {
                    let mut map = object.unwrap_or_else(|| {
                        let mut m = serde_json::Map::new();
                        m.insert(
                            "line".into(),
                            Value::String(String::from_utf8_lossy(&line).into_owned()),
                        );
                        m
                    });
                    map.insert("state".into(), Value::String(drop.state.into()));
                    map.insert("reason".into(), Value::String(drop.reason.into()));
                    serde_json::to_writer(&mut *r, &map)?;
                    r.write_all(b"\n")?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge() -> Judge {
        Judge {
            unsendable: Unsendable {
                by_hash: HashKeyed::default(),
                why: Vec::new(),
            },
            seen: HashSet::default(),
            keep_duplicates: false,
            keep_invalid: false,
            scratch: String::new(),
            counts: Counts::default(),
        }
    }

    fn run_csv(input: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let mut kept = Vec::new();
        let mut sink = RejectSink::default();
        let mut boxed: Box<dyn Write + Send> = Box::new(sink.clone());
        filter_csv(input, &mut judge(), None, &mut kept, Some(&mut boxed)).unwrap();
        (kept, sink.take())
    }

    #[derive(Clone, Default)]
    struct RejectSink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl RejectSink {
        fn take(&mut self) -> Vec<u8> {
            std::mem::take(&mut self.0.lock().unwrap())
        }
    }

    impl Write for RejectSink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn kept_rows_are_byte_for_byte_and_dropped_rows_say_why() {
        let input = b"name,email\r\n\"Novak, Jan\",jan@example.org\r\nX,not-an-address\r\n\"multi\nline\",JAN@example.org\r\nlast,\xffok@example.org";
        let (kept, rejected) = run_csv(input);
        assert_eq!(
            kept,
            b"name,email\r\n\"Novak, Jan\",jan@example.org\r\n".to_vec()
        );
        let rejected = String::from_utf8_lossy(&rejected).into_owned();
        assert_eq!(
            rejected,
            "name,email,state,reason\r\nX,not-an-address,invalid,invalid_address\r\n\"multi\nline\",JAN@example.org,duplicate,duplicate\r\nlast,\u{fffd}ok@example.org,invalid,invalid_address\n"
        );
    }

    #[test]
    fn records_longer_than_the_buffer_are_read_whole() {
        let mut input = b"email,notes\n".to_vec();
        let long = "x".repeat(3 << 20);
        input.extend_from_slice(
            format!("a@example.org,\"{long}\"\nb@example.org,short\n").as_bytes(),
        );
        let (kept, _) = run_csv(&input);
        assert_eq!(kept, input);
    }
}
