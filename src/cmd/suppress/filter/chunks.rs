//! A CSV list cut into chunks of whole records, each record located and its address hashed,
//! ready for the thread that judges and writes them.
//!
//! Most lists hold no quotes at all: a record is then a line, and its address the n-th
//! comma-separated field, found with `memchr` alone. A line with a quote (a quoted field, a
//! field spanning lines) or a stray CR is read by `csv-core` instead, so quoting is always
//! understood; either way the record's bytes are passed on exactly as read.

use std::io::Read;

use anyhow::{Context, Result, bail};
use csv_core::ReadRecordResult;

use crate::address;

/// About how many bytes a chunk holds (it ends at the last record boundary before this).
const CHUNK: usize = 4 << 20;

/// What a record's address field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Address {
    /// A valid address: the hash of its key (`address::key_hash`).
    Key(u64),
    /// No valid address (missing field, not UTF-8, bad syntax).
    Invalid,
    /// An empty line: no record at all, passed through as it is.
    Blank,
}

/// One record of a chunk: where it ends (its first byte is where the previous one ended)
/// and its address.
#[derive(Debug, Clone, Copy)]
pub struct Row {
    pub end: usize,
    pub address: Address,
}

/// Whole records and their rows.
#[derive(Debug, Default)]
pub struct Chunk {
    pub bytes: Vec<u8>,
    pub rows: Vec<Row>,
}

/// Reads a CSV list chunk by chunk.
pub struct ChunkReader<R> {
    input: R,
    /// Bytes read past the last chunk's end.
    rest: Vec<u8>,
    eof: bool,
    /// The address column.
    column: usize,
    scratch: RowScratch,
}

/// Buffers reused from record to record.
struct RowScratch {
    parser: csv_core::Reader,
    /// The fields of the record last parsed by `parse_record`, and where each ends.
    fields: Vec<u8>,
    ends: Vec<usize>,
    nfields: usize,
    key: String,
}

impl<R: Read> ChunkReader<R> {
    /// Reads the header record (returned as its exact bytes); `choose_column` picks the
    /// address column from its names.
    pub fn new(
        mut input: R,
        choose_column: impl FnOnce(&[String]) -> Result<usize>,
    ) -> Result<(Self, Vec<u8>)> {
        let mut rest = Vec::with_capacity(CHUNK);
        let mut eof = false;
        let mut scratch = RowScratch::default();
        loop {
            if let Some(end) = scratch.parse_record(&rest, eof)? {
                let names = (0..scratch.nfields)
                    .map(|i| {
                        String::from_utf8_lossy(scratch.field(i).unwrap_or_default()).into_owned()
                    })
                    .collect::<Vec<_>>();
                let column = choose_column(&names)?;
                let bytes = rest.drain(..end).collect();
                let reader = ChunkReader {
                    input,
                    rest,
                    eof,
                    column,
                    scratch,
                };
                return Ok((reader, bytes));
            }
            if eof {
                bail!("the list is empty: a CSV list needs a header row");
            }
            eof = fill(&mut input, &mut rest, CHUNK)?;
        }
    }

    /// The next chunk of whole records, `None` at the end of the input.
    pub fn next_chunk(&mut self) -> Result<Option<Chunk>> {
        while !self.eof && self.rest.len() < CHUNK {
            self.eof = fill(&mut self.input, &mut self.rest, CHUNK)?;
        }
        if self.rest.is_empty() {
            return Ok(None);
        }
        let boundary = loop {
            if self.eof {
                break self.rest.len();
            }
            if let Some(b) = last_record_boundary(&self.rest) {
                break b;
            }
            // One record longer than the buffer: read on until it ends.
            let more = self.rest.len().max(CHUNK);
            self.eof = fill(&mut self.input, &mut self.rest, more)?;
        };
        let tail = self.rest.split_off(boundary);
        let bytes = std::mem::replace(&mut self.rest, {
            let mut next = Vec::with_capacity(CHUNK.max(tail.len() * 2));
            next.extend_from_slice(&tail);
            next
        });
        let mut rows = Vec::with_capacity(bytes.len() / 32);
        self.scratch.rows(&bytes, self.column, &mut rows)?;
        Ok(Some(Chunk { bytes, rows }))
    }
}

/// Reads up to `want` more bytes onto the end of `buf`; true at the end of the input.
fn fill(input: &mut impl Read, buf: &mut Vec<u8>, want: usize) -> Result<bool> {
    let start = buf.len();
    buf.resize(start + want, 0);
    let mut filled = start;
    let result = loop {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break Ok(true),
            Ok(n) => {
                filled += n;
                if filled == buf.len() {
                    break Ok(false);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e).context("cannot read the list"),
        }
    };
    buf.truncate(filled);
    result
}

/// The end of the last whole record in `buf`: just after a newline that is outside quotes
/// (an even number of `"` before it, since every quote in CSV comes in pairs or doubles).
fn last_record_boundary(buf: &[u8]) -> Option<usize> {
    if memchr::memchr(b'"', buf).is_none() {
        return memchr::memrchr(b'\n', buf).map(|i| i + 1);
    }
    let mut in_quotes = false;
    let mut last = None;
    for at in memchr::memchr2_iter(b'"', b'\n', buf) {
        if buf[at] == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes {
            last = Some(at + 1);
        }
    }
    last
}

impl Default for RowScratch {
    fn default() -> Self {
        RowScratch {
            // Not `csv_core::Reader::default()`: that one has no delimiter or quote set.
            parser: csv_core::Reader::new(),
            fields: vec![0; 1024],
            ends: vec![0; 32],
            nfields: 0,
            key: String::new(),
        }
    }
}

impl RowScratch {
    /// Field `i` of the record last parsed by `parse_record`.
    fn field(&self, i: usize) -> Option<&[u8]> {
        if i >= self.nfields {
            return None;
        }
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.fields[start..self.ends[i]])
    }

    /// Parses the record at the start of `buf` with `csv-core`; its end (a CR LF counted
    /// whole), or `None` when `buf` ends before the record does and more input may come.
    fn parse_record(&mut self, buf: &[u8], eof: bool) -> Result<Option<usize>> {
        'again: loop {
            self.parser.reset();
            let (mut pos, mut nout, mut nend) = (0, 0, 0);
            loop {
                if pos == buf.len() && !eof {
                    return Ok(None);
                }
                let (result, nin, o, e) = self.parser.read_record(
                    &buf[pos..],
                    &mut self.fields[nout..],
                    &mut self.ends[nend..],
                );
                pos += nin;
                nout += o;
                nend += e;
                match result {
                    ReadRecordResult::InputEmpty => {}
                    ReadRecordResult::OutputFull => {
                        let len = self.fields.len() * 2;
                        self.fields.resize(len, 0);
                        continue 'again;
                    }
                    ReadRecordResult::OutputEndsFull => {
                        let len = self.ends.len() * 2;
                        self.ends.resize(len, 0);
                        continue 'again;
                    }
                    ReadRecordResult::Record => {
                        // The parser ends a record at the CR of a CR LF; the LF is its too.
                        if pos > 0 && buf[pos - 1] == b'\r' {
                            if pos == buf.len() && !eof {
                                return Ok(None);
                            }
                            if buf.get(pos) == Some(&b'\n') {
                                pos += 1;
                            }
                        }
                        self.nfields = nend;
                        return Ok(Some(pos));
                    }
                    ReadRecordResult::End => {
                        self.nfields = 0;
                        return Ok(Some(pos).filter(|&p| p > 0));
                    }
                }
            }
        }
    }

    /// Locates every record of `chunk` (which holds whole records) and hashes its address
    /// (field `column`).
    fn rows(&mut self, chunk: &[u8], column: usize, rows: &mut Vec<Row>) -> Result<()> {
        let mut pos = 0;
        while pos < chunk.len() {
            let rest = &chunk[pos..];
            let line_len = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
            let line = &rest[..line_len];
            let body = line.strip_suffix(b"\n").unwrap_or(line);
            let body = body.strip_suffix(b"\r").unwrap_or(body);
            if body.is_empty() {
                pos += line_len;
                rows.push(Row {
                    end: pos,
                    address: Address::Blank,
                });
                continue;
            }
            if memchr::memchr2(b'"', b'\r', body).is_none() {
                pos += line_len;
                let field = body.split(|&b| b == b',').nth(column);
                rows.push(Row {
                    end: pos,
                    address: hash_address(field, &mut self.key),
                });
                continue;
            }
            let len = self
                .parse_record(rest, true)?
                .context("a record of the list could not be read")?;
            let field = self.field(column).map(<[u8]>::to_vec);
            pos += len;
            rows.push(Row {
                end: pos,
                address: hash_address(field.as_deref(), &mut self.key),
            });
        }
        Ok(())
    }
}

fn hash_address(field: Option<&[u8]>, scratch: &mut String) -> Address {
    field
        .and_then(|f| address::key_hash_of_bytes(f, scratch).ok())
        .map_or(Address::Invalid, Address::Key)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header (bytes and names) and every record (bytes and address) of `input`.
    struct ReadBack {
        header: (Vec<u8>, Vec<String>),
        records: Vec<(Vec<u8>, Address)>,
    }

    fn read_all(input: &[u8]) -> ReadBack {
        let mut names = Vec::new();
        let (mut reader, header) = ChunkReader::new(input, |found| {
            names = found.to_vec();
            crate::records::address_column(found, None)
        })
        .unwrap();
        let header = (header, names);
        let mut records = Vec::new();
        while let Some(chunk) = reader.next_chunk().unwrap() {
            let mut start = 0;
            for row in &chunk.rows {
                records.push((chunk.bytes[start..row.end].to_vec(), row.address));
                start = row.end;
            }
            assert_eq!(start, chunk.bytes.len(), "rows cover the chunk");
        }
        ReadBack { header, records }
    }

    fn key(a: &str) -> Address {
        Address::Key(address::key_hash(&address::Address::parse(a).unwrap().key))
    }

    #[test]
    fn records_are_cut_exactly_quoted_or_not() {
        let input = b"name,email\r\n\"Novak, Jan\",Jan@Example.org\r\n\"two\nlines\",b@example.org\n\nx,not-an-address\nlast,c@example.org";
        let ReadBack { header, records } = read_all(input);
        assert_eq!(header.0, b"name,email\r\n");
        assert_eq!(header.1, ["name", "email"]);
        let cut: Vec<&[u8]> = records.iter().map(|(b, _)| b.as_slice()).collect();
        assert_eq!(
            cut,
            [
                &b"\"Novak, Jan\",Jan@Example.org\r\n"[..],
                b"\"two\nlines\",b@example.org\n",
                b"\n",
                b"x,not-an-address\n",
                b"last,c@example.org",
            ]
        );
        let addresses: Vec<Address> = records.iter().map(|(_, a)| *a).collect();
        assert_eq!(
            addresses,
            [
                key("jan@example.org"),
                key("b@example.org"),
                Address::Blank,
                Address::Invalid,
                key("c@example.org")
            ]
        );
    }

    #[test]
    fn boundaries_never_fall_inside_quotes() {
        assert_eq!(last_record_boundary(b"a\nb\nc"), Some(4));
        assert_eq!(last_record_boundary(b"a\n\"b\nc"), Some(2));
        assert_eq!(last_record_boundary(b"\"a\"\"\nb\"\nc"), Some(8));
        assert_eq!(last_record_boundary(b"abc"), None);
    }

    #[test]
    fn records_longer_than_a_chunk_are_read_whole() {
        let mut input = b"email,notes\n".to_vec();
        let long = "x".repeat(CHUNK + 10);
        input.extend_from_slice(
            format!("a@example.org,\"{long}\"\nb@example.org,{long}\n").as_bytes(),
        );
        let records = read_all(&input).records;
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].1, key("b@example.org"));
    }

    #[test]
    fn an_empty_list_has_no_header() {
        let err = ChunkReader::new(&b""[..], |_| Ok(0)).err().unwrap();
        assert!(err.to_string().contains("header"), "{err}");
    }
}
