//! The sending side of `send`: a queue of rendered messages, `--connections` worker threads
//! each holding one SMTP session for many messages, the overall `--rate` limit, and retries
//! of temporary refusals with backoff.
//!
//! Every outcome goes to the journal from the worker that saw it. A message is committed only
//! after its `sending` record is written, and no worker goes on after the journal failed.

use std::collections::{BinaryHeap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use anyhow::Result;

use super::journal::Journal;
use crate::classify::reply::classify_reply;
use crate::record::{Kind, Reason, SendRecord, SendStatus};
use crate::smtp::{self, ConnectError, Connection, Connector, Outcome, Reply, Stage};

/// One rendered message for one recipient.
pub struct Job {
    pub recipient: String,
    pub message_id: String,
    pub envelope_id: String,
    pub envelope_from: String,
    /// The message as DATA content: dot-stuffed, CRLF, ending with the `.` line.
    pub wire: Vec<u8>,
    /// The message holds 8-bit bytes (BODY=8BITMIME when offered).
    pub eight_bit: bool,
    /// The recipient's local part is UTF-8: the server must offer SMTPUTF8.
    pub utf8_address: bool,
    pub attempts: u32,
}

/// What every worker shares.
pub struct Shared {
    pub connector: Connector,
    pub journal: Arc<Journal>,
    pub queue: Queue,
    pub rate: Option<Rate>,
    pub counters: Arc<Counters>,
    pub options: Options,
    /// The first error that stops the run.
    pub fatal: Mutex<Option<anyhow::Error>>,
    dsn_checked: AtomicBool,
    /// Envelope senders refused since one was last accepted.
    sender_refusals: AtomicU32,
}

/// The choices of the command line the workers need.
pub struct Options {
    pub campaign: Option<String>,
    /// RET=HDRS or RET=FULL.
    pub dsn_ret: &'static str,
    /// The NOTIFY value, e.g. FAILURE,DELAY.
    pub notify: String,
    pub require_dsn: bool,
    pub retries: u32,
    pub retry_delay: Duration,
    pub max_per_connection: Option<u64>,
    pub quiet: bool,
    /// Each message has an envelope sender of its own (VERP), so a refused sender may be
    /// about that one message rather than about the whole mailing.
    pub sender_per_message: bool,
}

/// With a sender per message, the refusals of the sender in a row after which the refusal is
/// taken to be about the mailing (the base address, the server's policy) and the run stops.
const SENDER_REFUSALS_TO_STOP: u32 = 5;

impl Shared {
    pub fn new(
        connector: Connector,
        journal: Arc<Journal>,
        queue_capacity: usize,
        rate: Option<Rate>,
        counters: Arc<Counters>,
        options: Options,
    ) -> Shared {
        Shared {
            connector,
            journal,
            queue: Queue::new(queue_capacity),
            rate,
            counters,
            options,
            fatal: Mutex::new(None),
            dsn_checked: AtomicBool::new(false),
            sender_refusals: AtomicU32::new(0),
        }
    }

    /// Stops the run: no worker takes another message; the first error is kept.
    pub fn stop(&self, error: anyhow::Error) {
        let mut fatal = self.fatal.lock().unwrap_or_else(|e| e.into_inner());
        if fatal.is_none() {
            *fatal = Some(error);
        }
        self.queue.abort();
    }

    /// Opens a session, trying again twice (after 1 s, then 2 s) when the failure may pass.
    pub fn connect(&self) -> Result<Connection, ConnectError> {
        let mut delay = Duration::from_secs(1);
        let mut attempt = 1;
        loop {
            match Connection::open(&self.connector) {
                Ok(conn) => return self.check_dsn(conn),
                Err(ConnectError::Transient(e)) if attempt < 3 && !self.queue.is_aborted() => {
                    if !self.options.quiet {
                        eprintln!("bouncekit: send: {e:#}; trying again in {delay:?}");
                    }
                    std::thread::sleep(delay);
                    delay *= 2;
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Says once per run when the server does not offer DSN; an error with --require-dsn.
    fn check_dsn(&self, conn: Connection) -> Result<Connection, ConnectError> {
        if conn.ext.dsn || self.dsn_checked.swap(true, Ordering::SeqCst) {
            return Ok(conn);
        }
        let server = &self.connector.server;
        if self.options.require_dsn {
            return Err(ConnectError::Fatal(anyhow::anyhow!(
                "{server} does not offer DSN (RFC 3461) and --require-dsn is given: ask your \
                 provider to enable delivery status notifications"
            )));
        }
        eprintln!(
            "bouncekit: send: warning: {server} does not offer DSN (RFC 3461): the messages go \
             out without asking for delivery reports (no NOTIFY, RET, ENVID, ORCPT); ask your \
             provider to enable DSN, or use --require-dsn to stop instead"
        );
        Ok(conn)
    }

    fn record(&self, job: &Job, status: SendStatus) -> SendRecord {
        SendRecord {
            recipient: Some(job.recipient.clone()),
            message_id: Some(job.message_id.clone()),
            envelope_id: Some(job.envelope_id.clone()),
            campaign: self.options.campaign.clone(),
            status: Some(status),
            attempts: Some(job.attempts),
            time: Some(super::now_rfc3339()),
            ..SendRecord::default()
        }
    }

    /// Writes a record; a failure stops the run (nothing is committed without its record).
    fn write(&self, record: &SendRecord) -> bool {
        match self.journal.write(record) {
            Ok(()) => true,
            Err(e) => {
                self.stop(e);
                false
            }
        }
    }

    fn settle(
        &self,
        job: &Job,
        status: SendStatus,
        reply: Option<&Reply>,
        fill: impl FnOnce(&mut SendRecord),
    ) {
        let mut record = self.record(job, status);
        if let Some(reply) = reply {
            record.smtp_code = Some(reply.code);
            record.enhanced_status = reply.enhanced_status();
            record.response = Some(reply.one_line());
        }
        fill(&mut record);
        if self.write(&record) {
            self.counters.count(status);
        }
    }

    /// A temporary refusal or a broken session before the commit: again later, or deferred
    /// once the retries are spent.
    fn retry_or_defer(&self, job: Job, reply: Option<&Reply>, detail: Option<String>) {
        if job.attempts <= self.options.retries {
            let delay = self.options.retry_delay * 2u32.saturating_pow(job.attempts - 1);
            self.queue.retry(job, delay);
            return;
        }
        self.settle(&job, SendStatus::Deferred, reply, |r| {
            if let Some(reply) = reply {
                let verdict = classify_reply(
                    Some(reply.code),
                    r.enhanced_status.as_deref(),
                    &reply.one_line(),
                );
                r.reason = Some(verdict.reason.as_str().to_string());
            }
            r.detail = detail;
        });
        self.queue.finish();
    }
}

/// Stops the run when dropped during a panic of the thread holding it.
pub struct StopOnPanic<'a>(pub &'a Shared);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.stop(anyhow::anyhow!(
                "a sending thread failed (a bug: please report it)"
            ));
        }
    }
}

/// Sends messages from the queue until it is empty or the run stops. `conn` is a session
/// already open (the one the run checked the server with), if any.
pub fn worker(shared: &Shared, mut conn: Option<Connection>) {
    let mut on_conn: u64 = 0;
    let mut reset = false;
    while let Some(mut job) = shared.queue.next() {
        if let (Some(max), Some(_)) = (shared.options.max_per_connection, &conn)
            && on_conn >= max
        {
            conn.take().expect("open").quit();
        }
        if conn.is_none() {
            match shared.connect() {
                Ok(c) => {
                    conn = Some(c);
                    on_conn = 0;
                    reset = false;
                }
                Err(e) => {
                    shared.queue.give_back(job);
                    shared.stop(anyhow::Error::new(e));
                    break;
                }
            }
        }
        let session = conn.as_mut().expect("open");
        if job.utf8_address && !session.ext.smtputf8 {
            let mut record = shared.record(&job, SendStatus::Skipped);
            record.reason = Some("smtputf8_unsupported".into());
            record.detail =
                Some("the address is not ASCII and the server does not offer SMTPUTF8".into());
            if shared.write(&record) {
                shared.counters.count(SendStatus::Skipped);
            }
            shared.queue.finish();
            continue;
        }
        if let Some(rate) = &shared.rate {
            rate.acquire();
        }
        job.attempts += 1;
        let (mail_params, rcpt_params) = parameters(&shared.options, session, &job);
        let envelope = smtp::Envelope {
            from: &job.envelope_from,
            mail_params: &mail_params,
            to: &job.recipient,
            rcpt_params: &rcpt_params,
        };
        let sending = shared.record(&job, SendStatus::Sending);
        let outcome = session.transaction(reset, &envelope, &job.wire, || {
            shared.journal.write(&sending)
        });
        match outcome {
            Outcome::Accepted(reply) => {
                on_conn += 1;
                reset = false;
                shared.sender_refusals.store(0, Ordering::Relaxed);
                shared.settle(&job, SendStatus::Sent, Some(&reply), |_| {});
                shared.queue.finish();
            }
            Outcome::Refused(stage, reply) => {
                reset = true;
                on_conn += u64::from(stage == Stage::EndOfData);
                if reply.code == 421 || stage == Stage::Rset {
                    // The server is closing the session (or lost track of it): a new one.
                    conn = None;
                }
                refused(shared, job, stage, &reply);
            }
            Outcome::BrokenBefore(e) => {
                conn = None;
                shared.retry_or_defer(job, None, Some(format!("{e:#}")));
            }
            Outcome::BrokenAfter(e) => {
                conn = None;
                shared.settle(&job, SendStatus::Unknown, None, |r| {
                    r.reason = Some("no_reply_to_data".into());
                    r.detail = Some(format!(
                        "the message was sent but no reply came ({e:#}): it may have been \
                         delivered, so it is not sent again"
                    ));
                });
                shared.queue.finish();
            }
            Outcome::Aborted(e) => {
                // The journal failed: the session is in the middle of DATA; drop it.
                conn = None;
                shared.queue.give_back(job);
                shared.stop(e);
                break;
            }
        }
    }
    if let Some(c) = conn {
        c.quit();
    }
}

/// What a refusal means for the message.
fn refused(shared: &Shared, job: Job, stage: Stage, reply: &Reply) {
    if stage != Stage::MailFrom {
        // The sender passed: refusals of it are no longer in a row.
        shared.sender_refusals.store(0, Ordering::Relaxed);
    }
    if reply.is_transient() {
        shared.retry_or_defer(job, Some(reply), None);
        return;
    }
    let enhanced = reply.enhanced_status();
    let too_big = reply.code == 552 || enhanced.as_deref() == Some("5.3.4");
    if stage == Stage::MailFrom && !too_big {
        let in_a_row = shared.sender_refusals.fetch_add(1, Ordering::Relaxed) + 1;
        if shared.options.sender_per_message && in_a_row < SENDER_REFUSALS_TO_STOP {
            // A VERP sender of its own (too long a local part, say): this message only.
            shared.settle(&job, SendStatus::Failed, Some(reply), |r| {
                r.kind = Some(Kind::Block);
                r.reason = Some(Reason::Rejected.as_str().to_string());
            });
            shared.queue.finish();
            return;
        }
        // The sender was refused: every message would be. Nothing is the recipients' fault.
        shared.queue.give_back(job);
        shared.stop(anyhow::anyhow!(
            "{} refused the envelope sender: {reply}",
            shared.connector.server
        ));
        return;
    }
    let mut verdict = classify_reply(Some(reply.code), enhanced.as_deref(), &reply.one_line());
    if stage == Stage::EndOfData
        && matches!(verdict.reason, Reason::UserUnknown | Reason::HostUnknown)
    {
        // After DATA the recipients were already accepted: a content filter's words.
        verdict.reason = Reason::Filtered;
        verdict.kind = Kind::Soft;
    }
    shared.settle(&job, SendStatus::Failed, Some(reply), |r| {
        r.kind = Some(verdict.kind);
        r.reason = Some(verdict.reason.as_str().to_string());
    });
    shared.queue.finish();
}

/// The MAIL and RCPT parameters for this message on this session.
fn parameters(o: &Options, session: &Connection, job: &Job) -> (Vec<String>, Vec<String>) {
    let mut mail = Vec::with_capacity(4);
    let mut rcpt = Vec::with_capacity(2);
    if session.ext.size.is_some() {
        mail.push(format!("SIZE={}", job.wire.len()));
    }
    if job.eight_bit && session.ext.eight_bit_mime {
        mail.push("BODY=8BITMIME".into());
    }
    if job.utf8_address {
        mail.push("SMTPUTF8".into());
    }
    if session.ext.dsn {
        mail.push(format!("RET={}", o.dsn_ret));
        mail.push(format!("ENVID={}", smtp::xtext(&job.envelope_id)));
        rcpt.push(format!("NOTIFY={}", o.notify));
        if job.recipient.is_ascii() {
            rcpt.push(format!("ORCPT=rfc822;{}", smtp::xtext(&job.recipient)));
        }
    }
    (mail, rcpt)
}

/// Counts by status, for the progress bar and the summary.
#[derive(Debug, Default)]
pub struct Counters {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
    pub deferred: AtomicU64,
    pub skipped: AtomicU64,
    pub dry_run: AtomicU64,
    pub unknown: AtomicU64,
    pub bar: Option<indicatif::ProgressBar>,
}

impl Counters {
    pub fn count(&self, status: SendStatus) {
        let counter = match status {
            SendStatus::Sent => &self.sent,
            SendStatus::Failed => &self.failed,
            SendStatus::Deferred => &self.deferred,
            SendStatus::Skipped => &self.skipped,
            SendStatus::DryRun => &self.dry_run,
            SendStatus::Unknown => &self.unknown,
            SendStatus::Sending => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    pub fn get(&self, status: SendStatus) -> u64 {
        match status {
            SendStatus::Sent => &self.sent,
            SendStatus::Failed => &self.failed,
            SendStatus::Deferred => &self.deferred,
            SendStatus::Skipped => &self.skipped,
            SendStatus::DryRun => &self.dry_run,
            SendStatus::Unknown => &self.unknown,
            SendStatus::Sending => return 0,
        }
        .load(Ordering::Relaxed)
    }
}

/// The overall limit: one message every `interval`, however many sessions share it. No
/// credit is saved up while idle, so no burst follows a pause.
pub struct Rate {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Rate {
    pub fn new(per_second: f64) -> Rate {
        Rate {
            interval: Duration::from_secs_f64(1.0 / per_second),
            next: Mutex::new(Instant::now()),
        }
    }

    pub fn acquire(&self) {
        let at = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let at = (*next).max(Instant::now());
            *next = at + self.interval;
            at
        };
        let now = Instant::now();
        if at > now {
            std::thread::sleep(at - now);
        }
    }
}

/// A job waiting for its next attempt, earliest first.
struct Delayed {
    due: Instant,
    seq: u64,
    job: Job,
}

impl PartialEq for Delayed {
    fn eq(&self, other: &Self) -> bool {
        (self.due, self.seq) == (other.due, other.seq)
    }
}
impl Eq for Delayed {}
impl PartialOrd for Delayed {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Delayed {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Reversed: BinaryHeap is a max-heap.
        (other.due, other.seq).cmp(&(self.due, self.seq))
    }
}

#[derive(Default)]
struct QueueState {
    fresh: VecDeque<Job>,
    retry: BinaryHeap<Delayed>,
    /// Jobs a worker holds; each comes back through `finish`, `retry` or `give_back`.
    in_flight: usize,
    closed: bool,
    aborted: bool,
    seq: u64,
    /// Jobs never settled because the run stopped.
    abandoned: u64,
}

/// The messages waiting to go: new ones (bounded, so rendering stays just ahead of sending)
/// and retries, each due at its time.
pub struct Queue {
    state: Mutex<QueueState>,
    ready: Condvar,
    capacity: usize,
}

impl Queue {
    fn new(capacity: usize) -> Queue {
        Queue {
            state: Mutex::new(QueueState::default()),
            ready: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a new job, waiting while the queue is full; false once the run has stopped.
    pub fn push(&self, job: Job) -> bool {
        let mut s = self.lock();
        while s.fresh.len() >= self.capacity && !s.aborted {
            s = self.ready.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        if s.aborted {
            s.abandoned += 1;
            return false;
        }
        s.fresh.push_back(job);
        self.ready.notify_all();
        true
    }

    /// No more new jobs will come.
    pub fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }

    pub fn abort(&self) {
        let mut s = self.lock();
        s.aborted = true;
        s.abandoned += (s.fresh.len() + s.retry.len()) as u64;
        s.fresh.clear();
        s.retry.clear();
        self.ready.notify_all();
    }

    pub fn is_aborted(&self) -> bool {
        self.lock().aborted
    }

    /// Messages that were never settled because the run stopped.
    pub fn abandoned(&self) -> u64 {
        self.lock().abandoned
    }

    /// The next job to send: a retry that is due, else a new one; `None` when everything is
    /// settled or the run stopped.
    pub fn next(&self) -> Option<Job> {
        let mut s = self.lock();
        loop {
            if s.aborted {
                return None;
            }
            let now = Instant::now();
            if s.retry.peek().is_some_and(|d| d.due <= now) {
                let job = s.retry.pop().expect("peeked").job;
                s.in_flight += 1;
                return Some(job);
            }
            if let Some(job) = s.fresh.pop_front() {
                s.in_flight += 1;
                self.ready.notify_all();
                return Some(job);
            }
            if s.closed && s.retry.is_empty() && s.in_flight == 0 {
                self.ready.notify_all();
                return None;
            }
            s = match s.retry.peek().map(|d| d.due) {
                Some(due) => {
                    self.ready
                        .wait_timeout(s, due.saturating_duration_since(now))
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => self.ready.wait(s).unwrap_or_else(|e| e.into_inner()),
            };
        }
    }

    /// The job taken by `next` is settled.
    pub fn finish(&self) {
        let mut s = self.lock();
        s.in_flight -= 1;
        self.ready.notify_all();
    }

    fn retry(&self, job: Job, delay: Duration) {
        let mut s = self.lock();
        s.in_flight -= 1;
        s.seq += 1;
        let seq = s.seq;
        if s.aborted {
            s.abandoned += 1;
        } else {
            s.retry.push(Delayed {
                due: Instant::now() + delay,
                seq,
                job,
            });
        }
        self.ready.notify_all();
    }

    /// The job taken by `next` was not settled (the run is stopping).
    fn give_back(&self, _job: Job) {
        let mut s = self.lock();
        s.in_flight -= 1;
        s.abandoned += 1;
        self.ready.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(n: u32) -> Job {
        Job {
            recipient: format!("r{n}@x.example"),
            message_id: String::new(),
            envelope_id: String::new(),
            envelope_from: String::new(),
            wire: Vec::new(),
            eight_bit: false,
            utf8_address: false,
            attempts: n,
        }
    }

    #[test]
    fn retries_come_back_when_due_and_the_queue_ends_when_all_are_settled() {
        let q = Queue::new(8);
        q.push(job(1));
        q.push(job(2));
        q.close();
        let first = q.next().unwrap();
        q.retry(first, Duration::from_millis(50));
        let second = q.next().unwrap();
        assert_eq!(second.attempts, 2);
        q.finish();
        let started = Instant::now();
        let again = q.next().unwrap();
        assert_eq!(again.attempts, 1);
        assert!(started.elapsed() >= Duration::from_millis(40));
        q.finish();
        assert!(q.next().is_none());
    }

    #[test]
    fn rate_spaces_messages_evenly() {
        let rate = Rate::new(100.0);
        let started = Instant::now();
        for _ in 0..21 {
            rate.acquire();
        }
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(195) && took < Duration::from_millis(400),
            "{took:?}"
        );
    }
}
