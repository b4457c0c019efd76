//! A CSV recipient list cut into chunks of whole records, for the commands that pass a
//! list's rows through byte for byte (`suppress filter`, `validate`): each record is located
//! and its address field handed to the caller's function, whose result goes with the row.
//!
//! Most lists hold no quotes at all: a record is then a line, and its address the n-th
//! comma-separated field, found with `memchr` alone. A line with a quote (a quoted field, a
//! field spanning lines) or a stray CR is read by `csv-core` instead, so quoting is always
//! understood; either way the record's bytes are passed on exactly as read, never re-encoded.

use std::io::{Read, Write};

use anyhow::{Context, Result, bail};
use csv_core::ReadRecordResult;

/// About how many bytes a chunk holds (it ends at the last record boundary before this).
const CHUNK: usize = 4 << 20;

/// A record's address field, as the caller's function gets it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field<'a> {
    /// An empty line: no record at all (passed through as it is).
    Blank,
    /// A record with fewer fields than the address column needs.
    Missing,
    /// The field's value, unquoted.
    Value(&'a [u8]),
}

/// One record of a chunk: where it ends (its first byte is where the previous one ended)
/// and what the caller's function made of its address field.
#[derive(Debug, Clone, Copy)]
pub struct Row<T> {
    pub end: usize,
    pub address: T,
}

/// Whole records and their rows, and bytes the caller's function kept for them (`extra`:
/// e.g. copies of the address fields, so that another thread can judge them).
#[derive(Debug)]
pub struct Chunk<T> {
    pub bytes: Vec<u8>,
    pub rows: Vec<Row<T>>,
    pub extra: Vec<u8>,
}

/// Reads a CSV list chunk by chunk, calling `on_field` with every record's address field
/// (and the chunk's `extra` bytes).
pub struct ChunkReader<R, F> {
    input: R,
    /// Bytes read past the last chunk's end.
    rest: Vec<u8>,
    eof: bool,
    /// The address column.
    column: usize,
    scratch: RowScratch,
    on_field: F,
}

/// Buffers reused from record to record.
struct RowScratch {
    parser: csv_core::Reader,
    /// The fields of the record last parsed by `parse_record`, and where each ends.
    fields: Vec<u8>,
    ends: Vec<usize>,
    nfields: usize,
}

impl<R: Read, F: FnMut(Field<'_>, &mut Vec<u8>) -> T, T> ChunkReader<R, F> {
    /// Reads the header record (returned as its exact bytes); `choose_column` picks the
    /// address column from its names.
    pub fn new(
        mut input: R,
        choose_column: impl FnOnce(&[String]) -> Result<usize>,
        on_field: F,
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
                    on_field,
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
    pub fn next_chunk(&mut self) -> Result<Option<Chunk<T>>> {
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
        let mut extra = Vec::new();
        self.scratch.rows(
            &bytes,
            self.column,
            &mut rows,
            &mut extra,
            &mut self.on_field,
        )?;
        Ok(Some(Chunk { bytes, rows, extra }))
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

    /// Locates every record of `chunk` (which holds whole records) and hands its address
    /// field (field `column`) to `on_field`.
    fn rows<T>(
        &mut self,
        chunk: &[u8],
        column: usize,
        rows: &mut Vec<Row<T>>,
        extra: &mut Vec<u8>,
        on_field: &mut impl FnMut(Field<'_>, &mut Vec<u8>) -> T,
    ) -> Result<()> {
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
                    address: on_field(Field::Blank, extra),
                });
                continue;
            }
            if memchr::memchr2(b'"', b'\r', body).is_none() {
                pos += line_len;
                let field = body.split(|&b| b == b',').nth(column);
                rows.push(Row {
                    end: pos,
                    address: on_field(field.map_or(Field::Missing, Field::Value), extra),
                });
                continue;
            }
            let len = self
                .parse_record(rest, true)?
                .context("a record of the list could not be read")?;
            pos += len;
            let field = self.field(column);
            rows.push(Row {
                end: pos,
                address: on_field(field.map_or(Field::Missing, Field::Value), extra),
            });
        }
        Ok(())
    }
}

/// Writes a CSV record as read (`raw`, its line ending included) with `cells` appended,
/// quoted where CSV needs it; the record keeps its own line ending, and one that has none
/// (the last line of a file) gets `ending`.
pub fn write_with_cells(
    out: &mut (impl Write + ?Sized),
    raw: &[u8],
    cells: &[&str],
    ending: &[u8],
) -> std::io::Result<()> {
    let (body, ending): (&[u8], &[u8]) = if let Some(b) = raw.strip_suffix(b"\r\n") {
        (b, b"\r\n")
    } else if let Some(b) = raw.strip_suffix(b"\n") {
        (b, b"\n")
    } else {
        (raw, ending)
    };
    out.write_all(body)?;
    for cell in cells {
        out.write_all(b",")?;
        write_cell(out, cell)?;
    }
    out.write_all(ending)
}

/// Writes one CSV cell, quoted when it holds a comma, a quote or a line break.
pub fn write_cell(out: &mut (impl Write + ?Sized), cell: &str) -> std::io::Result<()> {
    if cell
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
    {
        write!(out, "\"{}\"", cell.replace('"', "\"\""))
    } else {
        out.write_all(cell.as_bytes())
    }
}

/// The line ending of a record as read (`\n` when it has none).
pub fn line_ending(raw: &[u8]) -> &'static [u8] {
    if raw.ends_with(b"\r\n") {
        b"\r\n"
    } else {
        b"\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the tests' `on_field` makes of a field: its text, or what it lacks.
    fn seen(field: Field<'_>) -> String {
        match field {
            Field::Blank => "(blank)".into(),
            Field::Missing => "(missing)".into(),
            Field::Value(v) => String::from_utf8_lossy(v).into_owned(),
        }
    }

    /// The header (bytes and names) and every record (bytes and address field) of `input`.
    struct ReadBack {
        header: (Vec<u8>, Vec<String>),
        records: Vec<(Vec<u8>, String)>,
    }

    fn read_all(input: &[u8]) -> ReadBack {
        let mut names = Vec::new();
        let (mut reader, header) = ChunkReader::new(
            input,
            |found| {
                names = found.to_vec();
                crate::records::address_column(found, None)
            },
            |field, _| seen(field),
        )
        .unwrap();
        let header = (header, names);
        let mut records = Vec::new();
        while let Some(chunk) = reader.next_chunk().unwrap() {
            let mut start = 0;
            for row in chunk.rows {
                records.push((chunk.bytes[start..row.end].to_vec(), row.address));
                start = row.end;
            }
            assert_eq!(start, chunk.bytes.len(), "rows cover the chunk");
        }
        ReadBack { header, records }
    }

    #[test]
    fn records_are_cut_exactly_quoted_or_not() {
        let input = b"name,email\r\n\"Novak, Jan\",Jan@Example.org\r\n\"two\nlines\",\"b@example.org\"\n\nx\nlast,c@example.org";
        let ReadBack { header, records } = read_all(input);
        assert_eq!(header.0, b"name,email\r\n");
        assert_eq!(header.1, ["name", "email"]);
        let cut: Vec<&[u8]> = records.iter().map(|(b, _)| b.as_slice()).collect();
        assert_eq!(
            cut,
            [
                &b"\"Novak, Jan\",Jan@Example.org\r\n"[..],
                b"\"two\nlines\",\"b@example.org\"\n",
                b"\n",
                b"x\n",
                b"last,c@example.org",
            ]
        );
        let fields: Vec<&str> = records.iter().map(|(_, a)| a.as_str()).collect();
        assert_eq!(
            fields,
            [
                "Jan@Example.org",
                "b@example.org",
                "(blank)",
                "(missing)",
                "c@example.org"
            ]
        );
    }

    #[test]
    fn the_callback_can_keep_bytes_with_the_chunk() {
        let input = b"email\na@example.org\n\"b@example.org\"\n";
        let (mut reader, _) = ChunkReader::new(
            &input[..],
            |_| Ok(0),
            |field, extra: &mut Vec<u8>| {
                let start = extra.len();
                if let Field::Value(v) = field {
                    extra.extend_from_slice(v);
                }
                start..extra.len()
            },
        )
        .unwrap();
        let chunk = reader.next_chunk().unwrap().unwrap();
        let kept: Vec<&[u8]> = chunk
            .rows
            .iter()
            .map(|r| &chunk.extra[r.address.clone()])
            .collect();
        assert_eq!(kept, [&b"a@example.org"[..], b"b@example.org"]);
        assert!(reader.next_chunk().unwrap().is_none());
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
        assert_eq!(records[1].1, "b@example.org");
    }

    #[test]
    fn an_empty_list_has_no_header() {
        let err = ChunkReader::new(&b""[..], |_| Ok(0), |f, _| seen(f))
            .err()
            .unwrap();
        assert!(err.to_string().contains("header"), "{err}");
    }

    #[test]
    fn cells_are_appended_before_the_line_ending() {
        let mut out = Vec::new();
        write_with_cells(&mut out, b"a,\"b\nc\"\r\n", &["x", "y,z", ""], b"\n").unwrap();
        write_with_cells(&mut out, b"last", &["\"q\""], b"\r\n").unwrap();
        assert_eq!(out, b"a,\"b\nc\",x,\"y,z\",\r\nlast,\"\"\"q\"\"\"\r\n");
        assert_eq!(line_ending(b"a\r\n"), b"\r\n");
        assert_eq!(line_ending(b"a"), b"\n");
    }
}
