//! Reading the records subcommands hand each other (event records, send logs, recipient
//! lists, imported address lists) whatever their format: JSONL objects, or CSV rows under a
//! header, told apart by the first non-blank byte (`{` means JSONL), as the design fixes.
//!
//! A record that cannot be read is handed on as `Item::Bad` with its line, never dropped:
//! the caller reports and counts it.

use std::io::{self, BufRead};

use anyhow::{Context, Result, bail};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// How an input is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// One JSON object per line.
    Jsonl,
    /// CSV with a header row.
    Csv,
    /// One address per line, no header (only where the caller allows it: see `sniff`).
    AddressLines,
}

/// Looks at the start of `reader` (without consuming it) to tell its format. With
/// `allow_address_lines`, a first line that holds an `@` and no comma or quote is taken as
/// the start of a bare list of addresses rather than a CSV header (a header names columns,
/// it never holds an address).
pub fn sniff(reader: &mut dyn BufRead, allow_address_lines: bool) -> io::Result<InputFormat> {
    let buf = reader.fill_buf()?;
    let start = buf.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else {
        return Ok(InputFormat::Csv);
    };
    if buf[start] == b'{' {
        return Ok(InputFormat::Jsonl);
    }
    if allow_address_lines {
        let rest = &buf[start..];
        let line = &rest[..memchr::memchr(b'\n', rest).unwrap_or(rest.len())];
        if line.contains(&b'@') && !line.contains(&b',') && !line.contains(&b'"') {
            return Ok(InputFormat::AddressLines);
        }
    }
    Ok(InputFormat::Csv)
}

/// One input record, or why it could not be read.
pub enum Item<T> {
    /// The record, deserialised (CSV cells by column name; an empty cell is absent).
    Record(T),
    /// A record that could not be read: where (1-based line or row) and why.
    Bad { at: u64, error: String },
}

/// Calls `each` with every record of `reader` in order, whatever its format, deserialised
/// as `T` (a struct with `#[serde(default)]` reads the fields it names and ignores the
/// rest; a `serde_json::Map` keeps them all). A bare list of addresses (when allowed) reads
/// as records with one field, `email`.
pub fn for_each_record<T: DeserializeOwned>(
    mut reader: Box<dyn BufRead + Send>,
    allow_address_lines: bool,
    mut each: impl FnMut(Item<T>) -> Result<()>,
) -> Result<()> {
    match sniff(&mut reader, allow_address_lines)? {
        InputFormat::Jsonl => for_each_jsonl(reader, each),
        InputFormat::Csv => for_each_csv(reader, each),
        InputFormat::AddressLines => {
            let header = csv::StringRecord::from(vec!["email"]);
            for (at, line) in (1u64..).zip(split_lines(reader)) {
                let line = line.context("cannot read the input")?;
                let text = String::from_utf8_lossy(&line);
                let text = text.trim();
                if text.is_empty() {
                    continue;
                }
                let row = csv::StringRecord::from(vec![text]);
                each(match row.deserialize(Some(&header)) {
                    Ok(record) => Item::Record(record),
                    Err(e) => Item::Bad {
                        at,
                        error: e.to_string(),
                    },
                })?;
            }
            Ok(())
        }
    }
}

/// Lines split at LF (a CR before it is removed), as raw bytes: a line that is not UTF-8 is
/// the caller's to report, not a reason to stop reading.
fn split_lines(reader: impl BufRead) -> impl Iterator<Item = io::Result<Vec<u8>>> {
    reader.split(b'\n').map(|line| {
        line.map(|mut l| {
            if l.last() == Some(&b'\r') {
                l.pop();
            }
            l
        })
    })
}

fn for_each_jsonl<T: DeserializeOwned>(
    reader: Box<dyn BufRead + Send>,
    mut each: impl FnMut(Item<T>) -> Result<()>,
) -> Result<()> {
    for (at, line) in (1u64..).zip(split_lines(reader)) {
        let line = line.context("cannot read the input")?;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let item = if line.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            Item::Bad {
                at,
                error: "not a JSON object".into(),
            }
        } else {
            match serde_json::from_slice::<T>(&line) {
                Ok(record) => Item::Record(record),
                Err(e) => Item::Bad {
                    at,
                    error: format!("not a record: {e}"),
                },
            }
        };
        each(item)?;
    }
    Ok(())
}

fn for_each_csv<T: DeserializeOwned>(
    reader: Box<dyn BufRead + Send>,
    mut each: impl FnMut(Item<T>) -> Result<()>,
) -> Result<()> {
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(reader);
    let header: csv::StringRecord = match csv.byte_headers() {
        Ok(h) => h
            .iter()
            .map(|c| String::from_utf8_lossy(c).trim().to_string())
            .collect(),
        Err(e) => bail!("cannot read the CSV header: {e}"),
    };
    let mut row = csv::ByteRecord::new();
    loop {
        let at = csv.position().line();
        match csv.read_byte_record(&mut row) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                if row.iter().all(<[u8]>::is_empty) {
                    continue;
                }
                if row.len() != header.len() {
                    each(Item::Bad {
                        at,
                        error: format!(
                            "{} fields where the header has {}",
                            row.len(),
                            header.len()
                        ),
                    })?;
                    continue;
                }
                let text = csv::StringRecord::from_byte_record_lossy(row.clone());
                each(match text.deserialize(Some(&header)) {
                    Ok(record) => Item::Record(record),
                    Err(e) => Item::Bad {
                        at,
                        error: e.to_string(),
                    },
                })?;
            }
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                return Err(e).context("cannot read the input");
            }
            Err(e) => each(Item::Bad {
                at,
                error: e.to_string(),
            })?,
        }
    }
}

/// The fields of an event record or a send-log record that the subcommands reading them
/// (`suppress add`, `report`) use; any others are ignored.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct Incoming {
    #[serde(deserialize_with = "lenient_text")]
    pub recipient: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    pub kind: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    pub reason: Option<String>,
    /// An event's RFC 3463 code, or a send-log record's outcome (`SendStatus`).
    #[serde(deserialize_with = "lenient_text")]
    pub status: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    pub date: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    pub source: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    pub message_id: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    pub original_message_id: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    pub envelope_id: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    pub campaign: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    pub diagnostic: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    pub remote_mta: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    pub error: Option<String>,
    // Send-log fields.
    #[serde(deserialize_with = "lenient_text")]
    pub time: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    pub enhanced_status: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    pub response: Option<String>,
}

impl Incoming {
    /// The outcome of a send-log record; `None` for an event record, whose `status` is an
    /// RFC 3463 code instead (which is how the two kinds of record are told apart).
    pub fn send_status(&self) -> Option<crate::record::SendStatus> {
        self.status
            .as_deref()
            .and_then(crate::record::SendStatus::parse)
    }
}

/// A field that may be written as text, a number or a boolean (CSV cells read as numbers
/// when they look like one; JSON writers differ), as text; null or blank as `None`.
pub fn lenient_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    use serde::Deserialize;
    Ok(match Value::deserialize(d)? {
        Value::String(s) if s.trim().len() == s.len() => (!s.is_empty()).then_some(s),
        Value::String(s) => Some(s.trim().to_string()).filter(|t| !t.is_empty()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

/// The names a recipient list's address column goes by, in order of preference.
pub const ADDRESS_COLUMNS: &[&str] = &[
    "email",
    "e-mail",
    "mail",
    "address",
    "email_address",
    "emailaddress",
    "recipient",
];

/// The index of the address column among `names`: the one named by `explicit`, else the
/// first of `ADDRESS_COLUMNS` present (names compared without regard to case and
/// surrounding space).
pub fn address_column<S: AsRef<str>>(names: &[S], explicit: Option<&str>) -> Result<usize> {
    let find = |wanted: &str| {
        names
            .iter()
            .position(|n| n.as_ref().trim().eq_ignore_ascii_case(wanted))
    };
    if let Some(wanted) = explicit {
        return find(wanted).with_context(|| {
            format!(
                "no column {wanted:?} in the header (it has: {})",
                list_names(names)
            )
        });
    }
    ADDRESS_COLUMNS
        .iter()
        .find_map(|c| find(c))
        .with_context(|| {
            format!(
                "no address column in the header (looked for {}; it has: {}); name it with --column",
                ADDRESS_COLUMNS.join(", "),
                list_names(names)
            )
        })
}

fn list_names<S: AsRef<str>>(names: &[S]) -> String {
    names
        .iter()
        .map(|n| n.as_ref().trim())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The text of a field, `None` when absent, null or blank. Numbers are given as text, so
/// a CSV cell and a JSON number read alike.
pub fn text(fields: &Map<String, Value>, name: &str) -> Option<String> {
    match fields.get(name)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(input: &str, address_lines: bool) -> Vec<Result<Map<String, Value>, u64>> {
        let mut out = Vec::new();
        let reader: Box<dyn BufRead + Send> = Box::new(io::Cursor::new(input.as_bytes().to_vec()));
        for_each_record(reader, address_lines, |item: Item<Map<String, Value>>| {
            out.push(match item {
                Item::Record(m) => Ok(m),
                Item::Bad { at, .. } => Err(at),
            });
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn jsonl_and_csv_are_told_apart_by_the_first_byte() {
        let json = read_all("\n  {\"email\":\"a@b.example\"}\n", false);
        assert_eq!(json.len(), 1);
        let csv = read_all("email,name\na@b.example,A\n", false);
        assert_eq!(text(csv[0].as_ref().unwrap(), "name").as_deref(), Some("A"));
    }

    #[test]
    fn bad_records_are_handed_on_with_their_line() {
        let items = read_all("{\"a\":1}\nnot json\n[1]\n{\"b\":2}\n", false);
        assert!(items[0].is_ok() && items[3].is_ok());
        assert_eq!(items[1], Err(2));
        assert_eq!(items[2], Err(3));
        let items = read_all("email,name\na@b.example\nc@d.example,C\n", false);
        assert_eq!(items[0], Err(2));
        assert!(items[1].is_ok());
    }

    #[test]
    fn bare_address_lists_are_read_only_when_allowed() {
        let items = read_all("a@b.example\r\n\r\nc@d.example\n", true);
        assert_eq!(items.len(), 2);
        assert_eq!(
            text(items[1].as_ref().unwrap(), "email").as_deref(),
            Some("c@d.example")
        );
        let as_csv = read_all("email\na@b.example\n", true);
        assert_eq!(as_csv.len(), 1);
    }

    #[test]
    fn address_column_is_found_by_name_or_named() {
        assert_eq!(address_column(&["Name", " E-Mail "], None).unwrap(), 1);
        assert_eq!(address_column(&["mail", "email"], None).unwrap(), 1);
        assert_eq!(
            address_column(&["x", "contact"], Some("Contact")).unwrap(),
            1
        );
        let err = address_column(&["x", "y"], None).unwrap_err().to_string();
        assert!(err.contains("--column"), "{err}");
    }
}
