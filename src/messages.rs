//! Where messages come from: .eml files, mbox files, Maildir folders, directories, the JSONL
//! message records of `fetch-bounces`, or one raw message on stdin.
//!
//! Messages are handed out one at a time, in input order, so memory stays bounded by the
//! largest message (itself capped by `max_size`) whatever the length of the input. A message
//! that cannot be read becomes an `InputMessage` with `error` set: it is reported, never lost.
//!
//! The files of a directory are handed out unread (`path` set): `InputMessage::load` reads
//! one, so that the caller can read them on its worker threads, in parallel. A file there that
//! turns out to hold several messages (an mbox, message records) is read as it would be when
//! named on the command line, by `read_messages_in`. An entry of a directory that cannot be
//! read (a dangling link, a folder that cannot be listed) is handed out as a message with
//! `error`, so that it is counted and the rest of the directory still read.

use std::fs;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use base64::Engine;
use serde::Deserialize;

use crate::io::{self, open_input};

/// One message to classify.
#[derive(Debug, Default)]
pub struct InputMessage {
    /// Where it came from: a path, `path:N` for the Nth message of an mbox that holds more
    /// than one, `stdin:N`, or the `source` of a fetched message record.
    pub source: String,
    pub raw: Vec<u8>,
    /// Why the message could not be read (then `raw` may be empty or partial).
    pub error: Option<String>,
    /// A file still to be read (then `source` is not set yet): see `load`.
    pub path: Option<PathBuf>,
}

/// A message handed out unread, once read.
#[derive(Debug)]
pub enum Loaded {
    /// The message (or why it could not be read).
    Message(InputMessage),
    /// The file holds several messages (an mbox, message records): read them, in order, with
    /// `read_messages_in`, handing it the bytes already read when they are the whole file.
    Several(PathBuf, Option<Vec<u8>>),
}

impl InputMessage {
    /// Reads the file of a message handed out unread; any other message is returned as is.
    pub fn load(self, max_size: u64) -> Loaded {
        match self.path {
            Some(path) if is_message_file(&path) => {
                Loaded::Message(read_message_file(&path, max_size))
            }
            Some(path) => {
                let msg = read_file(&path, max_size);
                // Judged by its start, as a file named on the command line is (an mbox over
                // `max_size` is read message by message all the same, from the file again).
                match sniff(&msg.raw) {
                    StreamKind::Single => Loaded::Message(msg),
                    _ => Loaded::Several(path, msg.error.is_none().then_some(msg.raw)),
                }
            }
            None => Loaded::Message(self),
        }
    }
}

/// A `.eml` file is one message, whatever its lines: one saved with its mbox From_ line may
/// quote another message whose own From_ line is no separator (`.eml` files are not mbox
/// files, whose writers quote such lines as `>From `).
fn is_message_file(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("eml"))
}

/// A `.eml` file (`is_message_file`), without the From_ line it may have been saved with.
fn read_message_file(path: &Path, max_size: u64) -> InputMessage {
    let msg = read_file(path, max_size);
    if sniff(&msg.raw) == StreamKind::Mbox {
        without_from_line(msg)
    } else {
        msg
    }
}

/// The message without the From_ line it was saved with (the envelope, no part of it).
fn without_from_line(mut msg: InputMessage) -> InputMessage {
    let start = msg
        .raw
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    if msg.raw[start..].starts_with(b"From ") {
        // The line ends at LF, CRLF or a lone CR, as an mbox's lines do.
        let cut = match msg.raw[start..]
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
        {
            None => msg.raw.len(),
            Some(i) if msg.raw[start + i..].starts_with(b"\r\n") => start + i + 2,
            Some(i) => start + i + 1,
        };
        msg.raw.drain(..cut);
    }
    msg
}

/// Reads the messages of a directory's file that holds several (`Loaded::Several`), as if it
/// had been named on the command line (`path:1`, `path:2`, ...): from `read`, the whole file
/// already read, or else from the file. If the file cannot be read (any more), one message
/// with `error` says why.
pub fn read_messages_in(
    path: &Path,
    read: Option<Vec<u8>>,
    max_size: u64,
    each: &mut dyn FnMut(InputMessage) -> Result<()>,
) -> Result<()> {
    let name = path.display().to_string();
    // An error of `each` (writing the records) is the caller's; one of reading is the file's.
    let mut each_failed = false;
    let reader: Result<Box<dyn BufRead + Send>> = match read {
        Some(bytes) => Ok(Box::new(std::io::Cursor::new(bytes))),
        None => fs::File::open(path)
            .with_context(|| format!("cannot open {name}"))
            .map(|file| {
                Box::new(std::io::BufReader::with_capacity(64 * 1024, file))
                    as Box<dyn BufRead + Send>
            }),
    };
    let result = reader.and_then(|reader| {
        read_stream(reader, &name, false, max_size, &mut |msg| {
            let done = each(msg);
            each_failed = done.is_err();
            done
        })
    });
    match result {
        Err(err) if !each_failed => each(InputMessage {
            source: name,
            // Already "cannot open PATH: ..." or "cannot read PATH: ...".
            error: Some(format!("{err:#}")),
            ..InputMessage::default()
        }),
        result => result,
    }
}

/// The `fetch-bounces` message record, as far as `classify` needs it.
#[derive(Debug, Deserialize)]
struct MessageRecord {
    source: Option<String>,
    raw_base64: Option<String>,
    /// Why the message was not fetched (e.g. over `--max-size`): carried on to the event.
    error: Option<String>,
}

/// A message record as `fetch-bounces` writes it (the design's "Message record").
#[derive(Debug, Clone, Copy)]
pub struct OutgoingRecord<'a> {
    /// The message's RFC 5092 URL, e.g. `imaps://u@h/INBOX;UIDVALIDITY=7;UID=42`.
    pub source: &'a str,
    pub mailbox: &'a str,
    pub uid: u32,
    pub uidvalidity: u32,
    /// The server's arrival time, Unix seconds.
    pub internal_date: Option<i64>,
    pub size: u64,
    /// The exact bytes, or `None` when the message was not read (then `error` says why).
    pub raw: Option<&'a [u8]>,
    pub error: Option<&'a str>,
}

/// Appends one message record as a JSON line to `out`. Written by hand rather than through
/// serde: the base64 of the message is most of the line and is encoded straight into `out`,
/// with no intermediate string.
pub fn encode_message_record(record: &OutgoingRecord<'_>, out: &mut Vec<u8>) {
    let string = |out: &mut Vec<u8>, text: &str| {
        // Writing JSON into a Vec cannot fail.
        serde_json::to_writer(&mut *out, text).expect("JSON string into memory");
    };
    out.extend_from_slice(b"{\"source\":");
    string(out, record.source);
    out.extend_from_slice(b",\"mailbox\":");
    string(out, record.mailbox);
    out.extend_from_slice(
        format!(
            ",\"uid\":{},\"uidvalidity\":{},\"internal_date\":",
            record.uid, record.uidvalidity
        )
        .as_bytes(),
    );
    match record.internal_date {
        Some(t) => string(out, &crate::clock::format_rfc3339(t)),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(format!(",\"size\":{}", record.size).as_bytes());
    if let Some(raw) = record.raw {
        out.extend_from_slice(b",\"raw_base64\":\"");
        let start = out.len();
        let len = base64::encoded_len(raw.len(), true).expect("a message fits in memory");
        out.resize(start + len, 0);
        let written = base64::engine::general_purpose::STANDARD
            .encode_slice(raw, &mut out[start..])
            .expect("the buffer was sized for it");
        out.truncate(start + written);
        out.push(b'"');
    }
    if let Some(error) = record.error {
        out.extend_from_slice(b",\"error\":");
        string(out, error);
    }
    out.extend_from_slice(b"}\n");
}

/// Reads every input in turn and calls `each` with every message, in order. Errors opening
/// one input are returned after the others have been read, so one bad path does not stop
/// the run.
/// Returns how many inputs could not be read (each already reported on stderr in one line).
pub fn for_each_message(
    inputs: &[String],
    max_size: u64,
    each: &mut dyn FnMut(InputMessage) -> Result<()>,
) -> Result<usize> {
    let stdin = ["-".to_string()];
    let inputs = if inputs.is_empty() {
        &stdin[..]
    } else {
        inputs
    };
    let mut failures = Vec::new();
    for input in inputs {
        if let Err(err) = read_input(input, max_size, each) {
            if io::is_broken_pipe(&err) {
                return Err(err);
            }
            eprintln!("bouncekit: {err:#}");
            failures.push(input.clone());
        }
    }
    Ok(failures.len())
}

fn read_input(
    input: &str,
    max_size: u64,
    each: &mut dyn FnMut(InputMessage) -> Result<()>,
) -> Result<()> {
    if io::is_stdio(input) {
        let reader = open_input(input)?;
        return read_stream(reader, "stdin", true, max_size, each);
    }
    let path = Path::new(input);
    let meta = fs::metadata(path).with_context(|| format!("cannot read {input}"))?;
    if meta.is_dir() {
        for entry in message_files(path)? {
            each(match entry {
                Entry::File(file) => InputMessage {
                    path: Some(file),
                    ..InputMessage::default()
                },
                Entry::Unreadable(path, why) => InputMessage {
                    source: path.display().to_string(),
                    error: Some(why),
                    ..InputMessage::default()
                },
            })?;
        }
        return Ok(());
    }
    if is_message_file(path) {
        return each(read_message_file(path, max_size));
    }
    let reader = open_input(input)?;
    read_stream(reader, input, false, max_size, each)
}

/// An entry of a directory to read: a file, or one that cannot be read and why.
#[derive(Debug, PartialEq)]
enum Entry {
    File(PathBuf),
    Unreadable(PathBuf, String),
}

/// The message files of a directory: a Maildir's cur/ and new/, or every regular file below
/// it, in name order. Hidden files (Maildir's own, editors') are skipped. Only a directory
/// that cannot be listed at all is an error; what cannot be read below it is an entry.
fn message_files(dir: &Path) -> Result<Vec<Entry>> {
    let is_maildir = dir.join("cur").is_dir() || dir.join("new").is_dir();
    let mut files = Vec::new();
    let walk = |dir: &Path, recurse: bool, files: &mut Vec<Entry>| {
        // The folders being walked, resolved, so that a symbolic link back to one of them is
        // reported instead of being followed for ever.
        let mut open = vec![fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())];
        sorted_files(dir, recurse, &mut open, files)
            .with_context(|| format!("cannot list {}", dir.display()))
    };
    if is_maildir {
        for sub in ["cur", "new"] {
            let sub = dir.join(sub);
            if sub.is_dir() {
                walk(&sub, false, &mut files)?;
            }
        }
    } else {
        walk(dir, true, &mut files)?;
    }
    Ok(files)
}

/// Appends the files of `dir` to `files`, in name order, and those of its folders when
/// `recurse`. `open` holds the resolved paths of `dir` and the folders it is in.
fn sorted_files(
    dir: &Path,
    recurse: bool,
    open: &mut Vec<PathBuf>,
    files: &mut Vec<Entry>,
) -> std::io::Result<()> {
    // The entry's own type (from the directory listing, no stat) is trusted unless it is a
    // symbolic link, which is followed.
    let mut entries: Vec<(PathBuf, Option<fs::FileType>)> = Vec::new();
    let mut unlisted = None;
    for entry in fs::read_dir(dir)? {
        match entry {
            Ok(e) => {
                let kind = e.file_type().ok().filter(|t| !t.is_symlink());
                entries.push((e.path(), kind));
            }
            // The listing broke off: what was listed is read, and the folder reported.
            Err(err) => unlisted = Some(format!("cannot list all of it: {err}")),
        }
    }
    entries.retain(|(p, _)| {
        !p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'))
    });
    // Every entry is in `dir`, so paths order as their file names do (compared as bytes,
    // much cheaper than `Path`'s component-wise comparison).
    entries.sort_unstable_by(|a, b| a.0.file_name().cmp(&b.0.file_name()));
    for (path, kind) in entries {
        let (kind, linked) = match kind {
            Some(t) => (t, false),
            None => match fs::metadata(&path) {
                Ok(meta) => (meta.file_type(), true),
                // A dangling link, or one we may not follow: an input that cannot be read.
                Err(err) => {
                    files.push(Entry::Unreadable(path, format!("cannot read: {err}")));
                    continue;
                }
            },
        };
        if kind.is_file() {
            files.push(Entry::File(path));
        } else if kind.is_dir() {
            if !recurse {
                continue;
            }
            let resolved = match (linked, open.last()) {
                (false, Some(parent)) => path.file_name().map(|n| parent.join(n)),
                _ => fs::canonicalize(&path).ok(),
            }
            .unwrap_or_else(|| path.clone());
            if open.contains(&resolved) {
                files.push(Entry::Unreadable(
                    path,
                    "not read: a symbolic link to a folder it is in".into(),
                ));
                continue;
            }
            open.push(resolved);
            if let Err(err) = sorted_files(&path, true, open, files) {
                files.push(Entry::Unreadable(path, format!("cannot list: {err}")));
            }
            open.pop();
        } else {
            // A FIFO would block the run, a socket or a device holds no message.
            files.push(Entry::Unreadable(
                path,
                "not read: not a regular file".into(),
            ));
        }
    }
    if let Some(why) = unlisted {
        files.push(Entry::Unreadable(dir.to_path_buf(), why));
    }
    Ok(())
}

fn read_file(path: &Path, max_size: u64) -> InputMessage {
    let source = path.display().to_string();
    // Read into a buffer kept by the thread: a message file is read with one call (and one
    // more to see its end), with no call to learn its size first, then copied out at its size.
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    const KEPT_CAPACITY: usize = 256 << 10;
    let result = fs::File::open(path).and_then(|f| {
        BUFFER.with_borrow_mut(|buf| {
            if buf.capacity() < KEPT_CAPACITY {
                buf.reserve_exact(KEPT_CAPACITY);
            }
            buf.clear();
            let more = io::read_capped_into(f, max_size, buf);
            let raw = buf.as_slice().to_vec();
            buf.clear();
            // A huge file is not kept hold of after it is gone.
            buf.shrink_to(KEPT_CAPACITY);
            Ok((raw, more?))
        })
    });
    match result {
        Ok((raw, false)) => InputMessage {
            source,
            raw,
            ..InputMessage::default()
        },
        Ok((raw, true)) => too_big(source, raw, max_size),
        Err(err) => InputMessage {
            source,
            raw: Vec::new(),
            error: Some(format!("cannot read: {err}")),
            path: None,
        },
    }
}

fn too_big(source: String, raw: Vec<u8>, max_size: u64) -> InputMessage {
    InputMessage {
        source,
        raw,
        error: Some(format!(
            "message larger than --max-size ({max_size} bytes); only its start was read"
        )),
        path: None,
    }
}

/// What a stream holds, judged from its first bytes.
#[derive(Debug, PartialEq)]
enum StreamKind {
    Mbox,
    Records,
    Single,
}

fn sniff(head: &[u8]) -> StreamKind {
    let first = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map(|i| &head[i..]);
    match first {
        Some(rest) if rest.starts_with(b"From ") => StreamKind::Mbox,
        Some(rest) if rest.starts_with(b"{") => StreamKind::Records,
        _ => StreamKind::Single,
    }
}

fn read_stream(
    mut reader: Box<dyn BufRead + Send>,
    name: &str,
    numbered: bool,
    max_size: u64,
    each: &mut dyn FnMut(InputMessage) -> Result<()>,
) -> Result<()> {
    let head = reader
        .fill_buf()
        .with_context(|| format!("cannot read {name}"))?
        .to_vec();
    match sniff(&head) {
        StreamKind::Mbox => read_mbox(reader, name, numbered, max_size, each),
        StreamKind::Records => read_records(reader, name, max_size, each),
        StreamKind::Single => {
            let source = if numbered {
                format!("{name}:1")
            } else {
                name.to_string()
            };
            let (raw, more) =
                io::read_capped(reader, max_size).with_context(|| format!("cannot read {name}"))?;
            each(if more {
                too_big(source, raw, max_size)
            } else {
                InputMessage {
                    source,
                    raw,
                    error: None,
                    path: None,
                }
            })
        }
    }
}

/// Splits an mbox on its `From ` separator lines (mboxo/mboxrd: `>From ` lines are unquoted
/// one level). Lines end at LF, CRLF or a lone CR (old Mac mail). A message over `max_size`
/// is cut and marked, and the rest of it skipped. Messages are named `name:N`, except the
/// only message of a file (one saved with its From_ line), which is named as the file is,
/// unless `numbered`.
fn read_mbox(
    mut reader: Box<dyn BufRead + Send>,
    name: &str,
    numbered: bool,
    max_size: u64,
    each: &mut dyn FnMut(InputMessage) -> Result<()>,
) -> Result<()> {
    // A line longer than a whole message may be is only read as far as needed to tell.
    let keep = usize::try_from(max_size.saturating_add(1)).unwrap_or(usize::MAX);
    let mut line = Vec::new();
    let mut current: Option<InputMessage> = None;
    let mut count = 0usize;
    let mut previous_blank = true;
    loop {
        line.clear();
        let n = read_line(&mut reader, &mut line, keep)
            .with_context(|| format!("cannot read {name}"))?;
        if n == 0 {
            break;
        }
        if line.starts_with(b"From ") && previous_blank {
            if let Some(mut done) = current.take() {
                done.source = format!("{name}:{count}");
                each(done)?;
            }
            count += 1;
            current = Some(InputMessage::default());
            previous_blank = false;
            continue;
        }
        previous_blank = matches!(line.as_slice(), b"\n" | b"\r\n" | b"\r");
        let Some(msg) = current.as_mut() else {
            continue;
        };
        if msg.error.is_some() {
            continue;
        }
        let body = unquote_from(&line);
        if (msg.raw.len() + body.len()) as u64 > max_size {
            msg.error = Some(format!(
                "message larger than --max-size ({max_size} bytes); only its start was read"
            ));
            continue;
        }
        msg.raw.extend_from_slice(body);
    }
    if let Some(mut done) = current.take() {
        done.source = if count == 1 && !numbered {
            name.to_string()
        } else {
            format!("{name}:{count}")
        };
        each(done)?;
    }
    Ok(())
}

/// Reads one line into `line`, its ending included: LF, CRLF, or a CR followed by anything
/// else. Only the first `keep` bytes of a longer line are kept; the rest is read past.
/// Returns how many bytes were read (0 at the end of the input).
fn read_line(reader: &mut dyn BufRead, line: &mut Vec<u8>, keep: usize) -> std::io::Result<usize> {
    let mut read = 0;
    let mut after_cr = false;
    loop {
        let buf = match reader.fill_buf() {
            Ok(buf) => buf,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if after_cr {
            // The CR ended the line; an LF right after it belongs to the same ending.
            if buf.first() == Some(&b'\n') {
                if line.len() < keep {
                    line.push(b'\n');
                }
                reader.consume(1);
                read += 1;
            }
            return Ok(read);
        }
        if buf.is_empty() {
            return Ok(read);
        }
        let (take, ended, cr) = match memchr::memchr2(b'\n', b'\r', buf) {
            Some(i) => (i + 1, buf[i] == b'\n', buf[i] == b'\r'),
            None => (buf.len(), false, false),
        };
        let room = keep.saturating_sub(line.len()).min(take);
        line.extend_from_slice(&buf[..room]);
        reader.consume(take);
        read += take;
        if ended {
            return Ok(read);
        }
        after_cr = cr;
    }
}

fn unquote_from(line: &[u8]) -> &[u8] {
    let quotes = line.iter().take_while(|&&b| b == b'>').count();
    if quotes > 0 && line[quotes..].starts_with(b"From ") {
        &line[1..]
    } else {
        line
    }
}

/// Reads `fetch-bounces` message records, one JSON object per line.
fn read_records(
    reader: Box<dyn BufRead + Send>,
    name: &str,
    max_size: u64,
    each: &mut dyn FnMut(InputMessage) -> Result<()>,
) -> Result<()> {
    // A base64 line is 4/3 the message; allow for that plus the other fields.
    let line_limit = max_size / 3 * 4 + 64 * 1024;
    let mut reader = reader;
    let mut line = Vec::new();
    let mut number = 0usize;
    loop {
        line.clear();
        let n = (&mut reader)
            .take(line_limit)
            .read_until(b'\n', &mut line)
            .with_context(|| format!("cannot read {name}"))?;
        if n == 0 {
            break;
        }
        number += 1;
        let fallback_source = format!("{name}:{number}");
        if !line.ends_with(b"\n") && n as u64 == line_limit {
            skip_line(&mut reader)?;
            each(InputMessage {
                source: fallback_source,
                raw: Vec::new(),
                error: Some(format!(
                    "message record larger than --max-size ({max_size} bytes)"
                )),
                path: None,
            })?;
            continue;
        }
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        each(decode_record(&line, fallback_source))?;
    }
    Ok(())
}

fn skip_line(reader: &mut Box<dyn BufRead + Send>) -> Result<()> {
    let mut sink = Vec::new();
    loop {
        sink.clear();
        let n = reader.by_ref().take(1 << 20).read_until(b'\n', &mut sink)?;
        if n == 0 || sink.ends_with(b"\n") {
            return Ok(());
        }
    }
}

fn decode_record(line: &[u8], fallback_source: String) -> InputMessage {
    let record: MessageRecord = match serde_json::from_slice(line) {
        Ok(r) => r,
        Err(err) => {
            return InputMessage {
                source: fallback_source,
                raw: Vec::new(),
                error: Some(format!("bad message record: {err}")),
                path: None,
            };
        }
    };
    let source = record.source.unwrap_or(fallback_source);
    let Some(b64) = record.raw_base64 else {
        return InputMessage {
            source,
            raw: Vec::new(),
            error: Some(
                record
                    .error
                    .unwrap_or_else(|| "message record has no raw_base64".into()),
            ),
            path: None,
        };
    };
    match base64::engine::general_purpose::STANDARD.decode(b64.trim()) {
        Ok(raw) => InputMessage {
            source,
            raw,
            error: None,
            path: None,
        },
        Err(err) => InputMessage {
            source,
            raw: Vec::new(),
            error: Some(format!("bad raw_base64: {err}")),
            path: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect_stream(data: &'static [u8], max: u64) -> Vec<InputMessage> {
        let mut out = Vec::new();
        read_stream(Box::new(data), "t", true, max, &mut |m| {
            out.push(m);
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn mbox_is_split_and_unquoted() {
        let msgs = collect_stream(
            b"From a@b Mon Jan  1 00:00:00 2024\nSubject: one\n\n>From here\n\nFrom c@d Mon Jan  1 00:00:00 2024\nSubject: two\n\nbody\n",
            1 << 20,
        );
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].source, "t:1");
        assert!(String::from_utf8_lossy(&msgs[0].raw).contains("\nFrom here"));
        assert_eq!(msgs[1].source, "t:2");
    }

    #[test]
    fn mbox_lines_end_at_lf_crlf_or_a_lone_cr() {
        for ending in ["\n", "\r\n", "\r"] {
            let mbox = "From a@b Mon Jan  1 00:00:00 2024\nSubject: one\n\n>From here\n\n\
                        From c@d Mon Jan  1 00:00:00 2024\nSubject: two\n\nbody\n"
                .replace('\n', ending);
            let msgs = collect_stream(mbox.leak().as_bytes(), 1 << 20);
            assert_eq!(msgs.len(), 2, "{ending:?}");
            assert_eq!(
                msgs[0].raw,
                format!("Subject: one{ending}{ending}From here{ending}{ending}").as_bytes(),
                "{ending:?}"
            );
            assert_eq!(msgs[1].source, "t:2");
        }
    }

    #[test]
    fn the_only_message_of_an_mbox_file_is_named_as_the_file() {
        let mbox: &'static [u8] = b"From a@b Mon Jan  1 00:00:00 2024\nSubject: one\n\nbody\n";
        let mut names = Vec::new();
        for numbered in [false, true] {
            read_stream(Box::new(mbox), "f.eml", numbered, 1 << 20, &mut |m| {
                names.push(m.source);
                Ok(())
            })
            .unwrap();
        }
        assert_eq!(names, ["f.eml", "f.eml:1"]);
    }

    #[test]
    fn read_line_keeps_endings_and_caps_long_lines() {
        // A tiny buffer, so that a CRLF is split between two reads.
        let input: &[u8] = b"a\r\nbb\rc\n\r\rlong line\nend";
        let mut reader = std::io::BufReader::with_capacity(2, input);
        let mut lines = Vec::new();
        loop {
            let mut line = Vec::new();
            let n = read_line(&mut reader, &mut line, 4).unwrap();
            if n == 0 {
                break;
            }
            lines.push((n, String::from_utf8(line).unwrap()));
        }
        let expected = [
            (3, "a\r\n"),
            (3, "bb\r"),
            (2, "c\n"),
            (1, "\r"),
            (1, "\r"),
            (10, "long"),
            (3, "end"),
        ];
        assert_eq!(lines, expected.map(|(n, l)| (n, l.to_string())).to_vec());
    }

    #[test]
    fn records_keep_their_source_and_report_bad_lines() {
        let msgs = collect_stream(
            b"{\"source\":\"imap://u@h/INBOX;UIDVALIDITY=1;UID=2\",\"raw_base64\":\"U3ViamVjdDogeA0KDQpi\"}\nnot json\n{\"source\":\"x\",\"raw_base64\":\"***\"}\n",
            1 << 20,
        );
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[0].source, "imap://u@h/INBOX;UIDVALIDITY=1;UID=2");
        assert_eq!(msgs[0].raw, b"Subject: x\r\n\r\nb");
        assert!(
            msgs[1]
                .error
                .as_deref()
                .unwrap()
                .starts_with("bad message record")
        );
        assert!(
            msgs[2]
                .error
                .as_deref()
                .unwrap()
                .starts_with("bad raw_base64")
        );
    }

    #[test]
    fn written_message_records_read_back_with_their_source_and_bytes() {
        let raw = b"Subject: \xff\r\n\r\nbody \"quoted\"\r\n";
        let mut out = Vec::new();
        encode_message_record(
            &OutgoingRecord {
                source: "imaps://u@h/INBOX;UIDVALIDITY=7;UID=42",
                mailbox: "INBOX",
                uid: 42,
                uidvalidity: 7,
                internal_date: Some(1_795_428_000),
                size: raw.len() as u64,
                raw: Some(raw),
                error: None,
            },
            &mut out,
        );
        encode_message_record(
            &OutgoingRecord {
                source: "imaps://u@h/INBOX;UIDVALIDITY=7;UID=43",
                mailbox: "INBOX",
                uid: 43,
                uidvalidity: 7,
                internal_date: None,
                size: 1 << 30,
                raw: None,
                error: Some("message larger than --max-size"),
            },
            &mut out,
        );
        let first: serde_json::Value =
            serde_json::from_slice(out.split(|&b| b == b'\n').next().unwrap()).unwrap();
        assert_eq!(first["uid"], 42);
        assert_eq!(first["uidvalidity"], 7);
        assert_eq!(first["size"], raw.len());
        assert_eq!(first["internal_date"], "2026-11-23T10:00:00Z");
        let data: &'static [u8] = out.leak();
        let msgs = collect_stream(data, 1 << 20);
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[0].source, "imaps://u@h/INBOX;UIDVALIDITY=7;UID=42");
        assert_eq!(msgs[0].raw, raw);
        assert!(msgs[0].error.is_none());
        assert_eq!(msgs[1].source, "imaps://u@h/INBOX;UIDVALIDITY=7;UID=43");
        assert_eq!(
            msgs[1].error.as_deref(),
            Some("message larger than --max-size")
        );
    }

    #[test]
    fn single_message_over_the_limit_is_marked() {
        let msgs = collect_stream(b"Subject: x\n\n0123456789", 8);
        assert_eq!(msgs.len(), 1);
        assert!(msgs[0].error.is_some());
    }
}
