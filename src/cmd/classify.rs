//! `bouncekit classify`: returned mail in, event records out.
//!
//! Messages are read in input order on a reader thread, handed over in bounded batches,
//! classified in parallel (rayon; the files of a directory are read by the workers too),
//! and written back in input order, so memory does not grow with the input and the output
//! is deterministic. A message that cannot be read is reported in-band and counted, never
//! fatal; nor is a bug the classifier hits on one message (a panic), which becomes that
//! message's record instead of ending the run.

use std::cell::{Cell, RefCell};
use std::io::IsTerminal;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Once, mpsc};

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::classify::{Classifier, Options};
use crate::cli::ClassifyArgs;
use crate::exit::Exit;
use crate::io::{EventWriter, Format, encode_event, open_output};
use crate::messages::{InputMessage, Loaded, for_each_message, read_messages_in};
use crate::record::{Event, Kind};

/// How many messages, or bytes, are classified together. Small enough to keep memory flat
/// (at most three batches are alive: one being read, one waiting, one being classified),
/// large enough that the cores stay busy between writes. Unread files count no bytes: the
/// workers read them one at a time each.
const BATCH_MESSAGES: usize = 512;
const BATCH_BYTES: usize = 16 << 20;

/// What the run saw, for the summary line on stderr.
#[derive(Debug, Default)]
struct Tally {
    messages: usize,
    records: usize,
    errors: usize,
    bounces: usize,
}

pub fn run(args: ClassifyArgs, quiet: bool) -> Result<Exit> {
    if let Some(n) = args.threads {
        // Only fails when a pool already exists, which is fine.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global();
    }
    quiet_panics_while_classifying();
    // On the pool's threads while this one opens the inputs.
    rayon::spawn(crate::classify::warm_up);
    let classifier = Classifier::new(&Options {
        own_domains: args.own_domain.clone(),
        own_addresses: args.own_address.clone(),
        verp: args.verp.clone(),
    });
    let mut writer = EventWriter::new(open_output(args.output.as_deref())?, args.format)?;
    let progress = progress_bar(quiet);
    let mut tally = Tally::default();
    let max_size = args.max_size;

    let (read_result, flushed) = std::thread::scope(|scope| {
        // The reader hands over full batches; one waits while the previous is classified.
        let (sender, batches) = mpsc::sync_channel::<Vec<InputMessage>>(1);
        let inputs = &args.inputs;
        let reader = scope.spawn(move || {
            let mut batch: Vec<InputMessage> = Vec::with_capacity(BATCH_MESSAGES);
            let mut batch_bytes = 0usize;
            let hand_over = |batch: Vec<InputMessage>| -> Result<()> {
                // The receiver only goes away after a write error: stop reading quietly.
                sender
                    .send(batch)
                    .map_err(|_| std::io::Error::from(std::io::ErrorKind::BrokenPipe).into())
            };
            let result = for_each_message(inputs, max_size, &mut |msg| {
                batch_bytes += msg.raw.len();
                batch.push(msg);
                if batch.len() >= BATCH_MESSAGES || batch_bytes >= BATCH_BYTES {
                    hand_over(std::mem::replace(
                        &mut batch,
                        Vec::with_capacity(BATCH_MESSAGES),
                    ))?;
                    batch_bytes = 0;
                }
                Ok(())
            });
            if !batch.is_empty() {
                // Nothing to do if the writer has gone: its error is the one reported.
                let _ = hand_over(batch);
            }
            result
        });
        let mut flushed = Ok(());
        for batch in batches.iter() {
            flushed = flush_batch(&classifier, batch, &mut writer, &args, max_size, &mut tally);
            progress.set_position(tally.messages as u64);
            if flushed.is_err() {
                break;
            }
        }
        // Dropping the receiver stops the reader at its next batch.
        drop(batches);
        let flushed = flushed.and_then(|()| writer.flush());
        let read_result = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (read_result, flushed)
    });
    progress.finish_and_clear();
    // A summary only of what was written: after a failed write the error says what happened.
    if !quiet && flushed.is_ok() {
        eprintln!(
            "bouncekit: classified {}: {}, {}, {} unreadable",
            plural(tally.messages, "message"),
            plural(tally.records, "record"),
            plural(tally.bounces, "bounce"),
            tally.errors
        );
    }
    flushed?;
    let unreadable_inputs = read_result?;
    if unreadable_inputs > 0 || (args.strict && tally.errors > 0) {
        return Ok(Exit::Failure);
    }
    Ok(Exit::Success)
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// A spinner with a message count, on stderr only when it is a terminal (never in pipes,
/// cron mail or CI logs) and not silenced with `-q`.
fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {pos} messages classified ({per_sec})")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}

/// One message's records, encoded, and what they add to the tally.
#[derive(Default)]
struct Classified {
    encoded: Vec<u8>,
    records: usize,
    bounces: usize,
    error: bool,
}

/// What became of one item of a batch.
enum Outcome {
    Classified(Classified),
    /// A directory's file that holds several messages (an mbox): they are read in its place.
    Several(PathBuf, Option<Vec<u8>>),
}

fn flush_batch(
    classifier: &Classifier,
    batch: Vec<InputMessage>,
    writer: &mut EventWriter,
    args: &ClassifyArgs,
    max_size: u64,
    tally: &mut Tally,
) -> Result<()> {
    let format = writer.format();
    let results: Vec<Result<Outcome>> = batch
        .into_par_iter()
        .map(|m| match m.load(max_size) {
            Loaded::Message(msg) => {
                let events = guarded(&msg.source, || classify_one(classifier, &msg));
                drop(msg);
                encode_events(events, format, args.bounces_only).map(Outcome::Classified)
            }
            Loaded::Several(path, read) => Ok(Outcome::Several(path, read)),
        })
        .collect();
    let mut out = Vec::with_capacity(
        results
            .iter()
            .map(|r| match r {
                Ok(Outcome::Classified(c)) => c.encoded.len(),
                _ => 0,
            })
            .sum(),
    );
    for result in results {
        match result? {
            Outcome::Classified(classified) => {
                tally.messages += 1;
                if classified.error {
                    tally.errors += 1;
                }
                tally.records += classified.records;
                tally.bounces += classified.bounces;
                out.extend_from_slice(&classified.encoded);
            }
            Outcome::Several(path, read) => {
                // What came before it goes out first, so that records stay in input order.
                writer.write_encoded(&std::mem::take(&mut out))?;
                flush_file_of_messages(classifier, &path, read, writer, args, max_size, tally)?;
            }
        }
    }
    writer.write_encoded(&out)
}

/// Classifies the messages of one directory file that holds several, in batches as the
/// input is, in order.
fn flush_file_of_messages(
    classifier: &Classifier,
    path: &Path,
    read: Option<Vec<u8>>,
    writer: &mut EventWriter,
    args: &ClassifyArgs,
    max_size: u64,
    tally: &mut Tally,
) -> Result<()> {
    let mut batch = Vec::with_capacity(BATCH_MESSAGES);
    let mut batch_bytes = 0usize;
    read_messages_in(path, read, max_size, &mut |msg| {
        batch_bytes += msg.raw.len();
        batch.push(msg);
        if batch.len() >= BATCH_MESSAGES || batch_bytes >= BATCH_BYTES {
            batch_bytes = 0;
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_MESSAGES));
            flush_batch(classifier, full, writer, args, max_size, tally)?;
        }
        Ok(())
    })?;
    flush_batch(classifier, batch, writer, args, max_size, tally)
}

/// Filters, counts and encodes one message's records (on a worker thread).
fn encode_events(events: Vec<Event>, format: Format, bounces_only: bool) -> Result<Classified> {
    let mut done = Classified {
        error: events.iter().any(|e| e.error.is_some()),
        ..Classified::default()
    };
    for event in events {
        if bounces_only && event.kind == Some(Kind::NotBounce) && event.error.is_none() {
            continue;
        }
        if event.kind.is_some_and(Kind::is_failure) {
            done.bounces += 1;
        }
        done.records += 1;
        encode_event(format, &event, &mut done.encoded)?;
    }
    Ok(done)
}

/// Classifies one input message; a read error still yields a record carrying it.
fn classify_one(classifier: &Classifier, msg: &InputMessage) -> Vec<Event> {
    let mut events = if msg.raw.is_empty() && msg.error.is_some() {
        vec![Event {
            kind: Some(Kind::Unknown),
            ..Event::default()
        }]
    } else {
        classifier.classify(&msg.raw)
    };
    for event in &mut events {
        event.source = Some(msg.source.clone());
        if let Some(err) = &msg.error {
            event.error = Some(err.clone());
        }
    }
    events
}

thread_local! {
    /// Set while this thread classifies a message (`guarded`): a panic then is reported as
    /// that message's record, not by the panic hook.
    static CLASSIFYING: Cell<bool> = const { Cell::new(false) };
    /// Where the panic being caught happened: the hook is told, `catch_unwind` is not.
    static PANIC_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once) a panic hook that stays silent about panics inside `guarded`, which report
/// them in one line of their own, and hands every other panic to the hook it replaces.
fn quiet_panics_while_classifying() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CLASSIFYING.get() {
                PANIC_LOCATION.set(info.location().map(ToString::to_string));
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `classify` for the message from `source`. Should it panic (a bug, never bad input),
/// the message gets one record with `error` saying so, counted with the unreadable ones,
/// one line goes to stderr, and the run goes on with the next message.
fn guarded(source: &str, classify: impl FnOnce() -> Vec<Event>) -> Vec<Event> {
    CLASSIFYING.set(true);
    // Nothing outlives the closure but its result: no half-updated state is seen again.
    let result = catch_unwind(AssertUnwindSafe(classify));
    CLASSIFYING.set(false);
    result.unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("unknown panic");
        let location = PANIC_LOCATION
            .take()
            .map(|at| format!(" (at {at})"))
            .unwrap_or_default();
        // One line, and not a page of it: a panic message may quote the text it choked on.
        let what: String = what
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .take(300)
            .collect();
        let why = format!("internal error while classifying: {what}{location}");
        eprintln!("bouncekit: {source}: {why}");
        vec![Event {
            source: Some(source.to_string()),
            kind: Some(Kind::Unknown),
            error: Some(why),
            ..Event::default()
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_while_classifying_becomes_that_messages_record() {
        quiet_panics_while_classifying();
        let events = guarded("bad.eml", || {
            let text = "é";
            // The kind of bug this guards against: a byte offset inside a character.
            let cut = std::hint::black_box(1);
            vec![Event {
                diagnostic: Some(text[cut..].to_string()),
                ..Event::default()
            }]
        });
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].source.as_deref(), Some("bad.eml"));
        assert_eq!(events[0].kind, Some(Kind::Unknown));
        let error = events[0].error.as_deref().unwrap_or_default();
        assert!(
            error.starts_with("internal error while classifying: ")
                && error.contains("byte index 1 is not a char boundary")
                && error.contains("(at src/cmd/classify.rs:")
                && !error.contains('\n'),
            "{error}"
        );
        // The next message is classified as usual, and a panic elsewhere is not caught.
        let events = guarded("good.eml", || vec![Event::default()]);
        assert_eq!(events.len(), 1);
        assert!(events[0].error.is_none());
        assert!(!CLASSIFYING.get());
    }
}
