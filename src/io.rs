//! Record I/O shared by all subcommands: "a path, `-` or nothing" as input, `-o FILE` or
//! stdout as output, and the JSONL / CSV writers of the event record.
//!
//! Writers flush per record when asked to, because a later side effect (marking a message
//! seen, recording a send) may depend on the record being on disk first.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use clap::ValueEnum;

use crate::record::{EVENT_COLUMNS, Event};

/// Machine-readable output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// One JSON object per line.
    #[default]
    Jsonl,
    /// Comma-separated values with a header row.
    Csv,
}

/// True when `name` means standard input / output.
pub fn is_stdio(name: &str) -> bool {
    name == "-"
}

/// Opens a named input, `-` meaning stdin.
pub fn open_input(name: &str) -> Result<Box<dyn BufRead + Send>> {
    if is_stdio(name) {
        return Ok(Box::new(BufReader::new(io::stdin())));
    }
    let file = File::open(name).with_context(|| format!("cannot open {name}"))?;
    Ok(Box::new(BufReader::with_capacity(64 * 1024, file)))
}

/// Opens `-o FILE`, or stdout when there is none (or it is `-`). A failed write names the
/// output ("cannot write out.jsonl: No space left on device"), not just the system's words.
pub fn open_output(path: Option<&Path>) -> Result<Box<dyn Write + Send>> {
    match path {
        Some(p) if !is_stdio(&p.to_string_lossy()) => {
            let file = File::create(p).with_context(|| format!("cannot create {}", p.display()))?;
            Ok(Box::new(Named {
                inner: BufWriter::with_capacity(64 * 1024, file),
                name: p.display().to_string(),
            }))
        }
        _ => Ok(Box::new(Named {
            inner: BufWriter::with_capacity(64 * 1024, io::stdout()),
            name: "standard output".to_string(),
        })),
    }
}

/// A writer whose errors say what was being written. The error keeps its kind, so that a
/// broken pipe is still recognised as one (`is_broken_pipe`).
struct Named<W: Write> {
    inner: W,
    name: String,
}

impl<W: Write> Named<W> {
    fn named(&self, e: io::Error) -> io::Error {
        io::Error::new(e.kind(), format!("cannot write {}: {e}", self.name))
    }
}

impl<W: Write> Write for Named<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(|e| self.named(e))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner.write_all(buf).map_err(|e| self.named(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.named(e))
    }
}

/// Writes event records as JSONL or CSV.
pub struct EventWriter {
    out: Box<dyn Write + Send>,
    format: Format,
}

/// Appends one event record to `out`, exactly as `EventWriter::write` writes it, so that
/// records can be encoded on worker threads and written in order with `write_encoded`.
pub fn encode_event(format: Format, event: &Event, out: &mut Vec<u8>) -> Result<()> {
    match format {
        Format::Jsonl => {
            serde_json::to_writer(&mut *out, event)?;
            out.push(b'\n');
        }
        Format::Csv => csv_row(event.csv_cells(), out)?,
    }
    Ok(())
}

/// One CSV row, appended to `out` (a CSV writer keeps no state between rows but their
/// number of fields, which is the same for every event record).
fn csv_row<I, T>(cells: I, out: &mut Vec<u8>) -> Result<()>
where
    I: IntoIterator<Item = T>,
    T: AsRef<[u8]>,
{
    let mut w = csv::Writer::from_writer(std::mem::take(out));
    w.write_record(cells)?;
    *out = w
        .into_inner()
        .map_err(|e| anyhow::anyhow!("cannot encode a CSV record: {}", e.error()))?;
    Ok(())
}

impl EventWriter {
    pub fn new(mut out: Box<dyn Write + Send>, format: Format) -> Result<Self> {
        if format == Format::Csv {
            let mut header = Vec::new();
            csv_row(EVENT_COLUMNS, &mut header)?;
            out.write_all(&header)?;
        }
        Ok(EventWriter { out, format })
    }

    /// The format records are written in (for `encode_event`).
    pub fn format(&self) -> Format {
        self.format
    }

    /// Writes records encoded by `encode_event` in this writer's format.
    pub fn write_encoded(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes)?;
        Ok(())
    }

    pub fn write(&mut self, event: &Event) -> Result<()> {
        match self.format {
            Format::Jsonl => {
                serde_json::to_writer(&mut *self.out, event)?;
                self.out.write_all(b"\n")?;
            }
            Format::Csv => {
                let mut row = Vec::new();
                csv_row(event.csv_cells(), &mut row)?;
                self.out.write_all(&row)?;
            }
        }
        Ok(())
    }

    pub fn flush(&mut self) -> Result<()> {
        self.out.flush()?;
        Ok(())
    }
}

/// Writes records with a fixed set of columns (state changes, exports, rejected rows) as
/// JSONL objects or CSV rows under a header.
pub struct TableWriter {
    out: Box<dyn Write + Send>,
    format: Format,
    columns: Vec<String>,
    /// Neutralise cells a spreadsheet would run as a formula (see `spreadsheet_safe`).
    spreadsheet_safe: bool,
    header_written: bool,
}

impl TableWriter {
    pub fn new(out: Box<dyn Write + Send>, format: Format, columns: &[&str]) -> Self {
        TableWriter {
            out,
            format,
            columns: columns.iter().map(|c| c.to_string()).collect(),
            spreadsheet_safe: false,
            header_written: false,
        }
    }

    /// CSV cells that start like a formula get a leading `'` (OWASP's advice against CSV
    /// injection); JSONL is left exact, since no spreadsheet opens it.
    pub fn spreadsheet_safe(mut self) -> Self {
        self.spreadsheet_safe = true;
        self
    }

    /// Writes one record; `values` are in column order (null for none).
    pub fn write(&mut self, values: &[serde_json::Value]) -> Result<()> {
        debug_assert_eq!(values.len(), self.columns.len());
        match self.format {
            Format::Jsonl => {
                let object: serde_json::Map<String, serde_json::Value> = self
                    .columns
                    .iter()
                    .cloned()
                    .zip(values.iter().cloned())
                    .collect();
                serde_json::to_writer(&mut *self.out, &object)?;
                self.out.write_all(b"\n")?;
            }
            Format::Csv => {
                let mut row = Vec::new();
                if !self.header_written {
                    csv_row(&self.columns, &mut row)?;
                    self.header_written = true;
                }
                let cells = values.iter().map(|v| {
                    let text = cell_text(v);
                    if self.spreadsheet_safe {
                        spreadsheet_safe(&text)
                    } else {
                        text
                    }
                });
                csv_row(cells, &mut row)?;
                self.out.write_all(&row)?;
            }
        }
        Ok(())
    }

    /// Writes the CSV header even when no record follows (an empty export is still a table).
    pub fn finish(&mut self) -> Result<()> {
        if self.format == Format::Csv && !self.header_written {
            let mut row = Vec::new();
            csv_row(&self.columns, &mut row)?;
            self.out.write_all(&row)?;
            self.header_written = true;
        }
        self.flush()
    }

    pub fn flush(&mut self) -> Result<()> {
        self.out.flush()?;
        Ok(())
    }
}

/// A JSON value as a CSV cell: strings as they are, null as empty, anything else as JSON.
fn cell_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A cell that a spreadsheet would take for a formula (`=`, `+`, `-`, `@`, tab, CR), with a
/// `'` in front so it is shown as text.
pub fn spreadsheet_safe(cell: &str) -> String {
    if starts_like_a_formula(cell.as_bytes()) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

/// The first bytes that make a spreadsheet read a cell as a formula.
fn starts_like_a_formula(cell: &[u8]) -> bool {
    matches!(
        cell.first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

/// The cell as it was before `spreadsheet_safe`: a list that bouncekit exported (and a
/// spreadsheet saved again) imports to the same addresses.
pub fn spreadsheet_unescaped(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if starts_like_a_formula(rest.as_bytes()) => rest,
        _ => cell,
    }
}

/// True when the error (anywhere in its chain) is a broken pipe: the reader went away, as
/// `bouncekit classify big.mbox | head` does, which is not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<csv::Error>()
                .is_some_and(|e| matches!(e.kind(), csv::ErrorKind::Io(io) if io.kind() == io::ErrorKind::BrokenPipe))
            || cause
                .downcast_ref::<serde_json::Error>()
                .is_some_and(|e| e.io_error_kind() == Some(io::ErrorKind::BrokenPipe))
    })
}

/// Reads at most `limit` bytes; returns the bytes and whether more were left.
pub fn read_capped(reader: impl Read, limit: u64) -> io::Result<(Vec<u8>, bool)> {
    read_capped_sized(reader, limit, 0)
}

/// `read_capped` for a reader of about `size_hint` bytes (a file's length; 0 when unknown):
/// the buffer is sized for it up front, so a file is read in one call, not a dozen.
pub fn read_capped_sized(
    mut reader: impl Read,
    limit: u64,
    size_hint: u64,
) -> io::Result<(Vec<u8>, bool)> {
    // One byte more than the hint, so that reaching the end takes no extra probe; never more
    // than the limit allows, so a huge or lying hint cannot make us allocate much.
    let capacity = size_hint.min(limit).saturating_add(1).min(64 << 20) as usize;
    let mut buf = Vec::with_capacity(if size_hint > 0 { capacity } else { 0 });
    reader.by_ref().take(limit).read_to_end(&mut buf)?;
    if (buf.len() as u64) < limit {
        // `take` stopped short of the limit, so the reader is at its end.
        return Ok((buf, false));
    }
    let mut probe = [0u8; 1];
    let more = reader.read(&mut probe)? > 0;
    Ok((buf, more))
}

/// `read_capped` into `buf` (appended to it, using its spare capacity): whether more than
/// `limit` bytes were left.
pub fn read_capped_into(mut reader: impl Read, limit: u64, buf: &mut Vec<u8>) -> io::Result<bool> {
    let start = buf.len();
    reader.by_ref().take(limit).read_to_end(buf)?;
    if ((buf.len() - start) as u64) < limit {
        return Ok(false);
    }
    let mut probe = [0u8; 1];
    Ok(reader.read(&mut probe)? > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_writer_starts_with_the_header() {
        let buf: Vec<u8> = Vec::new();
        let shared = std::sync::Arc::new(std::sync::Mutex::new(buf));
        struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, b: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let mut w = EventWriter::new(Box::new(Sink(shared.clone())), Format::Csv).unwrap();
        w.write(&Event {
            recipient: Some("a@b.example".into()),
            ..Event::default()
        })
        .unwrap();
        w.flush().unwrap();
        let text = String::from_utf8(shared.lock().unwrap().clone()).unwrap();
        assert!(text.starts_with("source,message_id,date,recipient,"));
        assert!(text.contains(",a@b.example,"));
    }

    #[test]
    fn formula_like_cells_are_neutralised() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(spreadsheet_safe("+1"), "'+1");
        assert_eq!(spreadsheet_safe("@x"), "'@x");
        assert_eq!(spreadsheet_safe("jan@example.org"), "jan@example.org");
        for cell in [
            "=HYPERLINK(1)",
            "-x@example.org",
            "+1",
            "jan@example.org",
            "'quoted",
        ] {
            assert_eq!(spreadsheet_unescaped(&spreadsheet_safe(cell)), cell);
        }
    }

    #[test]
    fn read_capped_reports_overflow() {
        let (buf, more) = read_capped(&b"abcdef"[..], 4).unwrap();
        assert_eq!(buf, b"abcd");
        assert!(more);
        let (buf, more) = read_capped(&b"abc"[..], 4).unwrap();
        assert_eq!(buf, b"abc");
        assert!(!more);
    }
}
