//! `bouncekit classify`: returned mail in, event records out.
//!
//! Messages are read in input order, classified in parallel in bounded batches (rayon), and
//! written back in input order, so memory does not grow with the input and the output is
//! deterministic. A message that cannot be read is reported in-band and counted, never fatal.

use std::io::IsTerminal;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use crate::classify::{Classifier, Options};
use crate::cli::ClassifyArgs;
use crate::exit::Exit;
use crate::io::{EventWriter, open_output};
use crate::messages::{InputMessage, for_each_message};
use crate::record::{Event, Kind};

/// How many messages, or bytes, are classified together. Small enough to keep memory flat,
/// large enough that both cores stay busy between writes.
const BATCH_MESSAGES: usize = 512;
const BATCH_BYTES: usize = 32 << 20;

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
    let classifier = Classifier::new(&Options {
        own_domains: args.own_domain.clone(),
        own_addresses: args.own_address.clone(),
        verp: args.verp.clone(),
    });
    let mut writer = EventWriter::new(open_output(args.output.as_deref())?, args.format)?;
    let progress = progress_bar(quiet);
    let mut tally = Tally::default();
    let mut batch: Vec<InputMessage> = Vec::with_capacity(BATCH_MESSAGES);
    let mut batch_bytes = 0usize;

    let read_result = for_each_message(&args.inputs, args.max_size, &mut |msg| {
        batch_bytes += msg.raw.len();
        batch.push(msg);
        if batch.len() >= BATCH_MESSAGES || batch_bytes >= BATCH_BYTES {
            flush_batch(&classifier, &mut batch, &mut writer, &args, &mut tally)?;
            progress.set_position(tally.messages as u64);
            batch_bytes = 0;
        }
        Ok(())
    });
    let flushed = flush_batch(&classifier, &mut batch, &mut writer, &args, &mut tally)
        .and_then(|()| writer.flush());
    progress.finish_and_clear();
    if !quiet {
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

fn flush_batch(
    classifier: &Classifier,
    batch: &mut Vec<InputMessage>,
    writer: &mut EventWriter,
    args: &ClassifyArgs,
    tally: &mut Tally,
) -> Result<()> {
    let results: Vec<Vec<Event>> = batch
        .par_iter()
        .map(|m| classify_one(classifier, m))
        .collect();
    tally.messages += batch.len();
    batch.clear();
    for events in results {
        if events.iter().any(|e| e.error.is_some()) {
            tally.errors += 1;
        }
        for event in events {
            if args.bounces_only && event.kind == Some(Kind::NotBounce) && event.error.is_none() {
                continue;
            }
            if event.kind.is_some_and(Kind::is_failure) {
                tally.bounces += 1;
            }
            tally.records += 1;
            writer.write(&event)?;
        }
    }
    Ok(())
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
