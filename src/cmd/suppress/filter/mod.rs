//! `suppress filter`: the sendable rows of a recipient list, each written exactly as it was
//! read (quoting, line ends, non-UTF-8 bytes and all), and the dropped ones, with their state
//! and reason, to `--rejected`.
//!
//! Built for lists of millions of rows: the CSV is split into records by `csv-core` straight
//! from a large buffer, so a kept row is one copy of its bytes; the store's unsendable
//! addresses and the addresses already seen are kept as 64-bit hashes (see
//! `address::key_hash` for why a collision can only drop a row, never let one through).

mod hashes;

use std::collections::HashMap;
use std::io::{BufRead, Read, Write};

use anyhow::{Context, Result};
use nohash_hasher::BuildNoHashHasher;
use serde_json::Value;

use super::FilterArgs;
use crate::address;
use crate::chunks::{self, ChunkReader, Field, Row};
use crate::exit::Exit;
use crate::io;
use crate::records::{self, InputFormat};
use crate::store::{State, Store};
use hashes::HashSet64;

/// What a row's address field holds, as the judge needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Address {
    /// A valid address: the hash of its key (`address::key_hash`).
    Key(u64),
    /// No valid address (missing field, not UTF-8, bad syntax).
    Invalid,
    /// An empty line: no record at all, passed through as it is.
    Blank,
}

impl Address {
    /// Hashes a field on the thread that cuts the list (`scratch` is reused).
    fn of(field: Field<'_>, scratch: &mut String) -> Address {
        match field {
            Field::Blank => Address::Blank,
            Field::Missing => Address::Invalid,
            Field::Value(raw) => {
                address::key_hash_of_bytes(raw, scratch).map_or(Address::Invalid, Address::Key)
            }
        }
    }
}

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

/// Rows seen and what became of them.
#[derive(Debug, Default)]
struct Counts {
    rows: u64,
    kept: u64,
    suppressed: u64,
    invalid: u64,
    duplicates: u64,
}

/// The decision for each row. One set of address hashes holds both the store's unsendable
/// addresses and the addresses already seen in this list, so that most rows cost one probe
/// of one table (at ten million rows the time goes into cache misses, and the memory into
/// that table: 8 bytes an address); only a row found there is looked up again, among the
/// unsendable ones.
struct Judge {
    seen: HashSet64,
    unsendable: Unsendable,
    /// Distinct (state, reason) pairs of the unsendable addresses (with `Unsendable::Why`).
    why: Vec<(String, String)>,
    keep_duplicates: bool,
    keep_invalid: bool,
    scratch: String,
    counts: Counts,
}

/// The store's unsendable addresses, by hash.
enum Unsendable {
    /// No more than that: the dropped rows are not written anywhere that would say why.
    Hashes(HashSet64),
    /// Why each is so, an index into `Judge::why`: for `--rejected`.
    Why(HashMap<u64, u32, BuildNoHashHasher<u64>>),
}

/// The state and reason of a dropped row when the store's reasons were not read.
const NOT_SENDABLE: Drop<'static> = Drop {
    state: "not_sendable",
    reason: "suppressed",
};

/// A set of these hashes, `count` of them.
fn hash_set(hashes: impl Iterator<Item = u64>, count: usize) -> HashSet64 {
    let mut set = HashSet64::with_capacity(count);
    for hash in hashes {
        set.insert(hash);
    }
    set
}

impl Judge {
    fn new(
        store: &Store,
        with_reasons: bool,
        keep_duplicates: bool,
        keep_invalid: bool,
    ) -> Result<Judge> {
        store.scan_lightly()?;
        let mut why = Vec::new();
        let (seen, unsendable) = if with_reasons {
            let mut reasons = HashMap::default();
            // Reasons by state, looked up by `&str`: a million rows share a handful of them,
            // and none should cost an allocation.
            let mut interned: HashMap<State, HashMap<String, u32>> = HashMap::new();
            store.for_each_unsendable(|hash, _email, state, reason| {
                let reason = reason.unwrap_or(state.as_str());
                let known = interned.entry(state).or_default();
                let index = match known.get(reason) {
                    Some(&index) => index,
                    None => {
                        let index = why.len() as u32;
                        why.push((state.as_str().to_string(), reason.to_string()));
                        known.insert(reason.to_string(), index);
                        index
                    }
                };
                reasons.insert(hash, index);
            })?;
            let seen = hash_set(reasons.keys().copied(), reasons.len());
            (seen, Unsendable::Why(reasons))
        } else {
            let mut hashes = Vec::new();
            store.for_each_unsendable_hash(|hash| hashes.push(hash))?;
            let seen = hash_set(hashes.iter().copied(), hashes.len());
            let unsendable = hash_set(hashes.iter().copied(), hashes.len());
            (seen, Unsendable::Hashes(unsendable))
        };
        Ok(Judge {
            seen,
            unsendable,
            why,
            keep_duplicates,
            keep_invalid,
            scratch: String::new(),
            counts: Counts::default(),
        })
    }

    /// Makes room for about `rows` more addresses at once (one early resize instead of a
    /// series, whose last would briefly hold two large tables).
    fn expect_rows(&mut self, rows: usize) {
        self.seen.reserve(rows);
    }

    /// `None` to keep a row with this address, else why it is dropped.
    fn judge(&mut self, address: Address) -> Option<Drop<'_>> {
        let hash = match address {
            Address::Blank => return None,
            Address::Key(hash) => hash,
            Address::Invalid => {
                self.counts.rows += 1;
                if self.keep_invalid {
                    self.counts.kept += 1;
                    return None;
                }
                self.counts.invalid += 1;
                return Some(INVALID);
            }
        };
        self.counts.rows += 1;
        if !self.seen.insert(hash) {
            let unsendable = match &self.unsendable {
                Unsendable::Hashes(set) => set.contains(hash).then_some(NOT_SENDABLE),
                Unsendable::Why(reasons) => reasons.get(&hash).map(|&index| {
                    let (state, reason) = &self.why[index as usize];
                    Drop { state, reason }
                }),
            };
            if unsendable.is_some() {
                self.counts.suppressed += 1;
                return unsendable;
            }
            if !self.keep_duplicates {
                self.counts.duplicates += 1;
                return Some(DUPLICATE);
            }
        }
        self.counts.kept += 1;
        None
    }

    /// `judge` for a raw address (the JSONL path).
    fn judge_raw(&mut self, raw: Option<&[u8]>) -> Option<Drop<'_>> {
        let address = raw
            .and_then(|a| std::str::from_utf8(a).ok())
            .and_then(|a| address::parse_key_hash(a, &mut self.scratch).ok())
            .map_or(Address::Invalid, Address::Key);
        self.judge(address)
    }
}

pub fn run(args: FilterArgs, store: Store, quiet: bool) -> Result<Exit> {
    let name = args.input.clone().unwrap_or_else(|| "-".into());
    let mut input = io::open_input(&name)?;
    let format = records::sniff(&mut input, false)?;
    let load = || {
        let judge = Judge::new(
            &store,
            args.rejected.is_some(),
            args.keep_duplicates,
            args.keep_invalid,
        );
        // Closed before the list is read on: its page cache and memory map are done with.
        drop(store);
        judge
    };
    let size = (!io::is_stdio(&name))
        .then(|| std::fs::metadata(&name).ok().map(|m| m.len()))
        .flatten();
    let mut out = io::open_output(args.output.as_deref())?;
    let mut rejected = args
        .rejected
        .as_deref()
        .map(|p| io::open_output(Some(p)))
        .transpose()?;
    let column = args.column.as_deref();
    let counts = match format {
        InputFormat::Jsonl => filter_jsonl(input, load, column, &mut out, rejected.as_mut()),
        InputFormat::Csv | InputFormat::AddressLines => {
            filter_csv(input, size, load, column, &mut out, rejected.as_mut())
        }
    }
    .with_context(|| format!("cannot filter {}", display(&name)))?;
    out.flush()?;
    if let Some(r) = rejected.as_mut() {
        r.flush()?;
    }
    if !quiet {
        let c = &counts;
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

/// Chunks the cutting thread may run ahead of the judging one (it starts while the store is
/// being read). More would overlap more of that read, but each chunk is memory (~5 MB), and
/// the memory figure to keep is 300 MB for ten million rows.
const CHUNKS_AHEAD: usize = 8;

/// The CSV path: one thread cuts the list into chunks of records and hashes their
/// addresses while this one reads the store (`load`), then judges the rows and writes each
/// kept run of rows with one call.
fn filter_csv(
    input: impl Read + Send,
    size: Option<u64>,
    load: impl FnOnce() -> Result<Judge>,
    column: Option<&str>,
    out: &mut dyn Write,
    mut rejected: Option<&mut Box<dyn Write + Send>>,
) -> Result<Counts> {
    let mut scratch = String::new();
    let (mut reader, header) = ChunkReader::new(
        input,
        |names| records::address_column(names, column),
        move |field, _| Address::of(field, &mut scratch),
    )?;
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
        let written = (|| -> Result<Counts> {
            let mut judge = load()?;
            out.write_all(&header)?;
            if let Some(r) = rejected.as_deref_mut() {
                chunks::write_with_cells(r, &header, &["state", "reason"], b"\n")?;
            }
            let mut first = true;
            for chunk in receiver {
                if first {
                    first = false;
                    if let Some(size) = size {
                        let per_row = chunk.bytes.len() / chunk.rows.len().max(1);
                        judge.expect_rows((size as usize / per_row.max(1)).saturating_add(1024));
                    }
                }
                let rejected = rejected
                    .as_deref_mut()
                    .map(|r| &mut **r as &mut (dyn Write + Send));
                write_chunk(&chunk, &mut judge, out, rejected)?;
            }
            Ok(judge.counts)
        })();
        let cut = cutter
            .join()
            .map_err(|_| anyhow::anyhow!("the thread reading the list panicked"))?;
        let counts = written?;
        cut?;
        Ok(counts)
    })
}

/// Rows whose slots are read together before they are judged (see `HashSet64::touch_all`).
const TOUCH_AHEAD: usize = 32;

/// Judges a chunk's rows; runs of kept rows are written with one call each.
fn write_chunk(
    chunk: &chunks::Chunk<Address>,
    judge: &mut Judge,
    out: &mut dyn Write,
    mut rejected: Option<&mut (dyn Write + Send)>,
) -> Result<()> {
    let mut run_start = 0;
    let mut start = 0;
    for (i, &Row { end, address }) in chunk.rows.iter().enumerate() {
        if i % TOUCH_AHEAD == 0 {
            let group = &chunk.rows[i..(i + TOUCH_AHEAD).min(chunk.rows.len())];
            judge
                .seen
                .touch_all(group.iter().filter_map(|r| match r.address {
                    Address::Key(hash) => Some(hash),
                    _ => None,
                }));
        }
        if let Some(drop) = judge.judge(address) {
            out.write_all(&chunk.bytes[run_start..start])?;
            if let Some(r) = rejected.as_deref_mut() {
                chunks::write_with_cells(
                    r,
                    &chunk.bytes[start..end],
                    &[drop.state, drop.reason],
                    b"\n",
                )?;
            }
            run_start = end;
        }
        start = end;
    }
    out.write_all(&chunk.bytes[run_start..start])?;
    Ok(())
}

/// The JSONL path: each line is one object; kept lines are written as read, dropped ones
/// with `state` and `reason` added. A line that is no JSON object has no address: invalid.
fn filter_jsonl(
    input: Box<dyn BufRead + Send>,
    load: impl FnOnce() -> Result<Judge>,
    column: Option<&str>,
    out: &mut dyn Write,
    mut rejected: Option<&mut Box<dyn Write + Send>>,
) -> Result<Counts> {
    let mut judge = load()?;
    let mut first_object = true;
    for line in input.split(b'\n') {
        let line = line.context("cannot read the list")?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let object = match serde_json::from_slice::<Value>(&line) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        };
        if let Some(map) = object.as_ref().filter(|_| first_object) {
            // JSONL has no header: the first record stands for it. A column it lacks (a
            // mistyped --column) is an error, as in a CSV header, not a list of invalid rows.
            first_object = false;
            let names: Vec<&str> = map.keys().map(String::as_str).collect();
            records::address_column(&names, column).context("in the list's first record")?;
        }
        let address = object.as_ref().and_then(|map| {
            let names: Vec<&str> = map.keys().map(String::as_str).collect();
            let index = records::address_column(&names, column).ok()?;
            map.get(names[index])?.as_str().map(str::as_bytes)
        });
        match judge.judge_raw(address) {
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
    Ok(judge.counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge() -> Judge {
        Judge {
            seen: HashSet64::with_capacity(16),
            unsendable: Unsendable::Why(HashMap::default()),
            why: Vec::new(),
            keep_duplicates: false,
            keep_invalid: false,
            scratch: String::new(),
            counts: Counts::default(),
        }
    }

    #[derive(Clone, Default)]
    struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl Write for Sink {
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
        let mut kept = Vec::new();
        let sink = Sink::default();
        let mut boxed: Box<dyn Write + Send> = Box::new(sink.clone());
        filter_csv(
            &input[..],
            None,
            || Ok(judge()),
            None,
            &mut kept,
            Some(&mut boxed),
        )
        .unwrap();
        assert_eq!(
            kept,
            b"name,email\r\n\"Novak, Jan\",jan@example.org\r\n".to_vec()
        );
        let rejected = String::from_utf8_lossy(&sink.0.lock().unwrap()).into_owned();
        assert_eq!(
            rejected,
            "name,email,state,reason\r\nX,not-an-address,invalid,invalid_address\r\n\"multi\nline\",JAN@example.org,duplicate,duplicate\r\nlast,\u{fffd}ok@example.org,invalid,invalid_address\n"
        );
    }
}
