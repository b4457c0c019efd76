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

/// Opens `-o FILE`, or stdout when there is none (or it is `-`).
pub fn open_output(path: Option<&Path>) -> Result<Box<dyn Write + Send>> {
    match path {
        Some(p) if !is_stdio(&p.to_string_lossy()) => {
            let file = File::create(p).with_context(|| format!("cannot create {}", p.display()))?;
            Ok(Box::new(BufWriter::with_capacity(64 * 1024, file)))
        }
        _ => Ok(Box::new(BufWriter::with_capacity(64 * 1024, io::stdout()))),
    }
}

/// Writes event records as JSONL or CSV.
pub struct EventWriter {
    inner: WriterKind,
}

enum WriterKind {
    Jsonl(Box<dyn Write + Send>),
    Csv(Box<csv::Writer<Box<dyn Write + Send>>>),
}

impl EventWriter {
    pub fn new(out: Box<dyn Write + Send>, format: Format) -> Result<Self> {
        let inner = match format {
            Format::Jsonl => WriterKind::Jsonl(out),
            Format::Csv => {
                let mut w = csv::Writer::from_writer(out);
                w.write_record(EVENT_COLUMNS)?;
                WriterKind::Csv(Box::new(w))
            }
        };
        Ok(EventWriter { inner })
    }

    pub fn write(&mut self, event: &Event) -> Result<()> {
        match &mut self.inner {
            WriterKind::Jsonl(w) => {
                serde_json::to_writer(&mut *w, event)?;
                w.write_all(b"\n")?;
            }
            WriterKind::Csv(w) => w.write_record(event.csv_cells())?,
        }
        Ok(())
    }

    pub fn flush(&mut self) -> Result<()> {
        match &mut self.inner {
            WriterKind::Jsonl(w) => w.flush()?,
            WriterKind::Csv(w) => w.flush()?,
        }
        Ok(())
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
pub fn read_capped(mut reader: impl Read, limit: u64) -> io::Result<(Vec<u8>, bool)> {
    let mut buf = Vec::new();
    reader.by_ref().take(limit).read_to_end(&mut buf)?;
    let mut probe = [0u8; 1];
    let more = reader.read(&mut probe)? > 0;
    Ok((buf, more))
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
    fn read_capped_reports_overflow() {
        let (buf, more) = read_capped(&b"abcdef"[..], 4).unwrap();
        assert_eq!(buf, b"abcd");
        assert!(more);
        let (buf, more) = read_capped(&b"abc"[..], 4).unwrap();
        assert_eq!(buf, b"abc");
        assert!(!more);
    }
}
