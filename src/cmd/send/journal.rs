//! The send log as a journal: each record is written and flushed with one write before the
//! run goes on (a `sending` record before the final dot of a message, its outcome right after
//! the reply), and `--resume` reads a log back to know who must not be mailed again.
//!
//! What `--resume LOG` makes of a recipient's records (read in order):
//! - `sent` or `failed` anywhere: done; never mailed again (a 5xx is the server's final word).
//! - a `sending` with no `sent`, `failed` or `deferred` of the same message after it (an
//!   `unknown` does not count): the run died, or the connection broke, while the message was
//!   being committed. It may have been delivered: reported, and sent again only with
//!   `--resend-unknown`.
//! - anything else (`deferred`, `skipped`, `dry_run`): tried again as if new.
//!
//! It must never let a record of a committed message go unwritten: a record that cannot be
//! written stops the run before the next dot.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::Mutex;

use anyhow::{Context, Result, bail};
use nohash_hasher::BuildNoHashHasher;
use serde::Deserialize;

use crate::address::{self, Address};
use crate::io::Format;
use crate::record::{SEND_COLUMNS, SendRecord, SendStatus};
use crate::records::{self, Item, lenient_text};

enum Sink {
    File(File),
    Stdout,
}

/// Where records go: a file (created, or appended to when resuming from it) or stdout.
pub struct Journal {
    sink: Mutex<Sink>,
    format: Format,
}

impl Journal {
    /// Opens `-o FILE` (or stdout). With `append`, records go after those already in the file
    /// (the log `--resume` reads); else the file is truncated. A file is locked for the run,
    /// so that two runs of the same mailing cannot both send.
    pub fn open(path: Option<&Path>, format: Format, append: bool) -> Result<Journal> {
        let Some(path) = path.filter(|p| p.as_os_str() != "-") else {
            let journal = Journal {
                sink: Mutex::new(Sink::Stdout),
                format,
            };
            if format == Format::Csv {
                journal.write_raw(&csv_line(SEND_COLUMNS.iter().copied())?)?;
            }
            return Ok(journal);
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .with_context(|| format!("cannot open the send log {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => bail!(
                "{} is in use by another bouncekit send: one run per log",
                path.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
        let meta = file.metadata()?;
        let len = meta.len();
        if !meta.is_file() {
            // A device or a pipe (`-o /dev/null`, a FIFO): nothing to truncate or resume.
        } else if append && len > 0 {
            // A run killed in the middle of a line leaves it unfinished: end it, so that the
            // next record starts on a line of its own (the torn line reads as a bad record).
            file.seek(SeekFrom::End(-1))?;
            let mut last = [0u8];
            file.read_exact(&mut last)?;
            file.seek(SeekFrom::End(0))?;
            if last[0] != b'\n' {
                file.write_all(b"\n")?;
            }
        } else {
            file.set_len(0)
                .with_context(|| format!("cannot empty the send log {}", path.display()))?;
            file.seek(SeekFrom::Start(0))?;
        }
        let fresh = file.metadata()?.len() == 0;
        let journal = Journal {
            sink: Mutex::new(Sink::File(file)),
            format,
        };
        if format == Format::Csv && fresh {
            journal.write_raw(&csv_line(SEND_COLUMNS.iter().copied())?)?;
        }
        Ok(journal)
    }

    /// Writes one record and flushes it to the operating system before returning.
    pub fn write(&self, record: &SendRecord) -> Result<()> {
        let line = match self.format {
            Format::Jsonl => {
                let mut line = serde_json::to_vec(record)?;
                line.push(b'\n');
                line
            }
            Format::Csv => csv_line(record.csv_cells().iter().map(String::as_str))?,
        };
        self.write_raw(&line)
    }

    fn write_raw(&self, line: &[u8]) -> Result<()> {
        let mut sink = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *sink {
            Sink::File(f) => f.write_all(line).context("cannot write the send log"),
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(line)
                    .and_then(|()| out.flush())
                    .context("cannot write the send log to standard output")
            }
        }
    }
}

fn csv_line<'a>(cells: impl IntoIterator<Item = &'a str>) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(cells)?;
    w.into_inner()
        .map_err(|e| anyhow::anyhow!("cannot encode a CSV record: {}", e.error()))
}

type ByKey<V> = HashMap<u64, V, BuildNoHashHasher<u64>>;

/// What a log says about the recipients it names.
#[derive(Debug, Default)]
pub struct Resumed {
    /// Sent or failed: not to be mailed again.
    pub done: ByKey<()>,
    /// Committed without a known outcome: the address and the Message-ID.
    pub unknown: ByKey<(String, String)>,
    /// Lines that could not be read (a torn last line after a kill).
    pub unreadable: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Line {
    #[serde(deserialize_with = "lenient_text")]
    recipient: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    status: Option<String>,
    #[serde(deserialize_with = "lenient_text")]
    message_id: Option<String>,
}

impl Resumed {
    pub fn read(path: &Path) -> Result<Resumed> {
        let reader = crate::io::open_input(&path.to_string_lossy())
            .with_context(|| format!("cannot read the log to resume, {}", path.display()))?;
        let mut r = Resumed::default();
        // The message a recipient was being sent when the log stops talking about it.
        let mut pending: ByKey<(String, String)> = ByKey::default();
        let mut scratch = String::new();
        records::for_each_record(reader, false, |item: Item<Line>| {
            let line = match item {
                Item::Record(line) => line,
                Item::Bad { .. } => {
                    r.unreadable += 1;
                    return Ok(());
                }
            };
            let (Some(recipient), Some(status)) = (line.recipient, line.status) else {
                return Ok(());
            };
            let Ok(key) = address::parse_key_hash(&recipient, &mut scratch) else {
                return Ok(());
            };
            match SendStatus::parse(&status) {
                Some(SendStatus::Sending) => {
                    pending.insert(key, (recipient, line.message_id.unwrap_or_default()));
                }
                Some(s @ (SendStatus::Sent | SendStatus::Failed | SendStatus::Deferred)) => {
                    if pending
                        .get(&key)
                        .is_some_and(|(_, m)| Some(m) == line.message_id.as_ref())
                    {
                        pending.remove(&key);
                    }
                    if s != SendStatus::Deferred {
                        r.done.insert(key, ());
                    }
                }
                _ => {}
            }
            Ok(())
        })
        .with_context(|| format!("cannot read the log to resume, {}", path.display()))?;
        r.unknown = pending
            .into_iter()
            .filter(|(k, _)| !r.done.contains_key(k))
            .collect();
        Ok(r)
    }

    pub fn is_done(&self, address: &Address) -> bool {
        self.done.contains_key(&address::key_hash(&address.key))
    }

    pub fn unknown(&self, address: &Address) -> Option<&(String, String)> {
        self.unknown.get(&address::key_hash(&address.key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resumed(log: &str) -> Resumed {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(&path, log).unwrap();
        Resumed::read(&path).unwrap()
    }

    fn a(s: &str) -> Address {
        Address::parse(s).unwrap()
    }

    #[test]
    fn resume_knows_sent_failed_unknown_and_retries_the_rest() {
        let log = r#"{"recipient":"sent@x.example","status":"sending","message_id":"<1>"}
{"recipient":"sent@x.example","status":"sent","message_id":"<1>"}
{"recipient":"failed@x.example","status":"failed","message_id":"<2>"}
{"recipient":"deferred@x.example","status":"deferred","message_id":"<3>"}
{"recipient":"skipped@x.example","status":"skipped"}
{"recipient":"Lost@X.example","status":"sending","message_id":"<4>"}
{"recipient":"broken@x.example","status":"sending","message_id":"<5>"}
{"recipient":"broken@x.example","status":"unknown","message_id":"<5>"}
{"recipient":"lost@x.example","status":"skipped","reason":"unknown_outcome"}
{"recipient":"retried@x.example","status":"sending","message_id":"<6>"}
{"recipient":"retried@x.example","status":"deferred","message_id":"<6>"}
{"recipient":"torn@x.example","status":"sen"#;
        let r = resumed(log);
        assert!(r.is_done(&a("SENT@x.example")));
        assert!(r.is_done(&a("failed@x.example")));
        for retried in [
            "deferred@x.example",
            "skipped@x.example",
            "retried@x.example",
        ] {
            assert!(
                !r.is_done(&a(retried)) && r.unknown(&a(retried)).is_none(),
                "{retried}"
            );
        }
        assert_eq!(r.unknown(&a("lost@x.example")).unwrap().1, "<4>");
        assert_eq!(r.unknown(&a("broken@x.example")).unwrap().1, "<5>");
        assert_eq!(r.unknown.len(), 2);
        assert_eq!(r.unreadable, 1);
    }

    #[test]
    fn an_appended_log_continues_on_a_line_of_its_own_and_is_locked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(
            &path,
            "{\"recipient\":\"a@b.example\",\"status\":\"sent\"}\n{\"torn",
        )
        .unwrap();
        let journal = Journal::open(Some(&path), Format::Jsonl, true).unwrap();
        assert!(Journal::open(Some(&path), Format::Jsonl, true).is_err());
        journal.write(&SendRecord::default()).unwrap();
        drop(journal);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(
            text.lines()
                .nth(2)
                .unwrap()
                .starts_with("{\"recipient\":null"),
            "{text}"
        );
    }
}
