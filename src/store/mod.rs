//! The recipient store: one SQLite file holding every recipient's state, every event that
//! explains it, the tombstones of deleted addresses whose owners withdrew consent, and the
//! settings later runs share.
//!
//! Safe for cron: WAL journal and a busy timeout let runs overlap; every batch of events is
//! one `BEGIN IMMEDIATE` transaction that records the events and the states they lead to
//! together, so a process killed at any moment leaves either all of a batch or none of it.
//! Events carry a stable id derived from their content, so ingesting the same input twice
//! changes nothing and a re-run after a crash finishes the job without double counting.

mod batch;
pub mod rules;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::address::Address;
pub use crate::positions::{MailboxKey, Position};
use crate::record::Kind;
pub use rules::{Decision, Refusal, Rules, Standing, State};

/// Schema migrations, applied in order; `PRAGMA user_version` counts those applied. Never
/// edit one that has shipped: add a new one.
const MIGRATIONS: &[&str] = &[
    // 1: recipients, their events, tombstones and settings. A recipient's row id is the
    // 64-bit hash of its key (`address::key_hash` of the address lower-cased): integer keys
    // make the B-tree work of ingesting millions of events cheap, and `suppress filter`
    // reads the hashes it matches on straight from the table. A row found under an id whose
    // address has another key (a hash collision) is an error, never a merge.
    "CREATE TABLE recipients (
        id INTEGER PRIMARY KEY,        -- key_hash(key), the key being email lower-cased
        email TEXT NOT NULL,           -- as first seen (domain lower-case, IDNA)
        state TEXT NOT NULL,
        reason TEXT,
        since INTEGER NOT NULL,        -- Unix seconds
        soft_streak INTEGER NOT NULL DEFAULT 0,
        streak_start INTEGER,
        bounces INTEGER NOT NULL DEFAULT 0,
        last_event INTEGER
    );
    CREATE TABLE events (
        recipient INTEGER NOT NULL,    -- recipients.id
        id INTEGER NOT NULL,           -- 64-bit hash of what identifies the event
        kind TEXT NOT NULL,            -- an event kind, or the decision taken by hand/import
        reason TEXT,
        status TEXT,
        time INTEGER NOT NULL,         -- when it happened (the report's date when known)
        ingested INTEGER NOT NULL,
        origin TEXT NOT NULL,          -- classify, send, import or hand
        source TEXT,
        detail TEXT
    );
    CREATE UNIQUE INDEX events_identity ON events(recipient, id);
    CREATE TABLE tombstones (
        id INTEGER PRIMARY KEY,        -- key_hash(key)
        key TEXT NOT NULL,
        state TEXT NOT NULL,
        reason TEXT,
        since INTEGER NOT NULL
    );
    CREATE TABLE settings (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;",
    // 2: how far `fetch-bounces` has read each mailbox. A position is good only while the
    // mailbox keeps its UIDVALIDITY; the server is `host:port`.
    "CREATE TABLE mailbox_positions (
        server TEXT NOT NULL,
        user TEXT NOT NULL,
        mailbox TEXT NOT NULL,
        uidvalidity INTEGER NOT NULL,
        last_uid INTEGER NOT NULL,     -- every message up to this UID has been written
        updated INTEGER NOT NULL,      -- Unix seconds
        PRIMARY KEY (server, user, mailbox)
    ) WITHOUT ROWID;",
];

/// The row id of the recipient with this key.
pub fn row_id(key: &str) -> i64 {
    crate::address::key_hash(key) as i64
}

/// Where the store is when `--db` is not given: `$BOUNCEKIT_DB` is handled by clap; this is
/// `$XDG_DATA_HOME/bouncekit/bouncekit.db`, with XDG's fallback `~/.local/share`.
pub fn default_path() -> Result<PathBuf> {
    let data = match std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let home = std::env::var_os("HOME").filter(|v| !v.is_empty()).context(
                "cannot find the store: set --db, $BOUNCEKIT_DB, $XDG_DATA_HOME or $HOME",
            )?;
            PathBuf::from(home).join(".local").join("share")
        }
    };
    Ok(data.join("bouncekit").join("bouncekit.db"))
}

/// The store named by `--db` (or `$BOUNCEKIT_DB`), else the default one.
pub fn resolve_path(db: Option<&Path>) -> Result<PathBuf> {
    match db {
        Some(path) => Ok(path.to_path_buf()),
        None => default_path(),
    }
}

/// Where an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// An event record of `classify`.
    Classify,
    /// A failed record of a `send` log.
    Send,
    /// `suppress import`.
    Import,
    /// `suppress block`, `unblock` and the other decisions by hand.
    Hand,
    /// `validate --to-store`: an address found invalid before any mail was sent.
    Validate,
}

impl Origin {
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Classify => "classify",
            Origin::Send => "send",
            Origin::Import => "import",
            Origin::Hand => "hand",
            Origin::Validate => "validate",
        }
    }
}

/// What happens to a recipient: an event the rules judge, or a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Event(Kind),
    Decision(Decision),
}

impl Change {
    /// The name kept in the events table.
    pub fn name(self) -> &'static str {
        match self {
            Change::Event(kind) => kind.as_str(),
            Change::Decision(Decision::Import(state)) => match state {
                State::Unknown => "import:unknown",
                State::Active => "import:active",
                State::SoftBouncing => "import:soft_bouncing",
                State::Bounced => "import:bounced",
                State::Unsubscribed => "import:unsubscribed",
                State::Complained => "import:complained",
                State::Inactive => "import:inactive",
            },
            Change::Decision(Decision::Block) => "block",
            Change::Decision(Decision::Unblock) => "unblock",
            Change::Decision(Decision::Inactive) => "inactive",
            Change::Decision(Decision::Activate) => "activate",
        }
    }
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub address: Address,
    pub change: Change,
    pub reason: Option<String>,
    pub status: Option<String>,
    /// When it happened (Unix seconds).
    pub time: i64,
    pub origin: Origin,
    pub source: Option<String>,
    /// The server's words, or a note.
    pub detail: Option<String>,
    /// Stable identity: the same input always gives the same id (see `event_id`).
    pub id: i64,
    /// Undo a recipient's own word by hand (`--force`).
    pub force: bool,
}

/// The id of an event: a 64-bit hash of the parts that identify it, so that reading the same
/// input again yields the same ids. Ids need only differ among one recipient's events.
pub fn event_id(parts: &[&str]) -> i64 {
    let mut joined = Vec::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for part in parts {
        joined.extend_from_slice(part.as_bytes());
        joined.push(0x1f);
    }
    xxhash_rust::xxh3::xxh3_64(&joined) as i64
}

/// A state change, for `suppress add --changes` and the summaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateChange {
    pub email: String,
    pub from: State,
    pub to: State,
    pub reason: Option<String>,
    pub time: i64,
    pub event: String,
    pub source: Option<String>,
}

/// The outcome of one batch.
#[derive(Debug, Default)]
pub struct Ingested {
    pub new: u64,
    pub duplicates: u64,
    /// How many state changes there were.
    pub changed: u64,
    /// The state changes themselves, when asked for.
    pub changes: Vec<StateChange>,
    /// Decisions refused (address and why).
    pub refused: Vec<(String, String)>,
}

/// A recipient row, as `export` and `show` give it.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub email: String,
    pub key: String,
    pub standing: Standing,
}

/// A stored event, as `show` gives it.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub kind: String,
    pub reason: Option<String>,
    pub status: Option<String>,
    pub time: i64,
    pub ingested: i64,
    pub origin: String,
    pub source: Option<String>,
    pub detail: Option<String>,
}

/// What `Store::ingest_reporting` hands a batch's state changes to, before it commits.
pub type ReportChanges<'a> = dyn FnMut(&[StateChange]) -> Result<()> + 'a;

/// An open store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// How long a run waits for another run's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

impl Store {
    /// Opens the store at `path`, creating it (and its folder) when missing, and brings its
    /// schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the store's folder {}", dir.display()))?;
        }
        Self::open_with(path)
    }

    /// Opens an existing store; a missing one is an error (a read-only command must not
    /// quietly work on an empty store because of a typo in `--db`).
    pub fn open_existing(path: &Path) -> Result<Store> {
        if !path.exists() {
            bail!(
                "no store at {} (create one with `suppress add` or `suppress import`, or name it with --db)",
                path.display()
            );
        }
        Self::open_with(path)
    }

    fn open_with(path: &Path) -> Result<Store> {
        let context = || format!("cannot open the store {}", path.display());
        let conn = Connection::open(path).with_context(context)?;
        conn.busy_timeout(BUSY_TIMEOUT).with_context(context)?;
        use_wal(&conn).with_context(context)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .with_context(context)?;
        // Reads through a memory map (no system call per page) and a generous page cache:
        // ingesting touches pages all over a store of millions of addresses.
        conn.pragma_update(None, "mmap_size", 1i64 << 32)
            .with_context(context)?;
        conn.pragma_update(None, "cache_size", -262_144)
            .with_context(context)?;
        // Checkpoint the WAL every 16 MB (not SQLite's 4 MB): fewer, larger copies into the
        // database, and a WAL small enough to be restarted and rewritten in place (a WAL that
        // keeps growing costs the file system a zeroed block for every new one). Measured
        // against checkpoints on a thread of their own, which let the WAL grow: slower here.
        conn.pragma_update(None, "wal_autocheckpoint", 4_096)
            .with_context(context)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .with_context(context)?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
        };
        store.migrate().with_context(context)?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// For a command that reads the store once from end to end (`suppress filter`): no memory
    /// map and a small page cache, since a page is never read twice, and the memory is better
    /// left to the caller's own tables.
    pub fn scan_lightly(&self) -> Result<()> {
        self.conn.pragma_update(None, "mmap_size", 0)?;
        self.conn.pragma_update(None, "cache_size", -8192)?;
        Ok(())
    }

    /// Applies the migrations this store has not had yet, each in its own transaction.
    fn migrate(&mut self) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let version = usize::try_from(version).unwrap_or(usize::MAX);
        if version > MIGRATIONS.len() {
            bail!(
                "the store has schema version {version}, newer than this bouncekit knows ({}); upgrade bouncekit",
                MIGRATIONS.len()
            );
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version) {
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The schema version (the number of migrations applied).
    pub fn schema_version(&self) -> Result<usize> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        Ok(usize::try_from(version)?)
    }

    /// A setting kept in the store, if set.
    pub fn setting(&self, name: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM settings WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Every setting, by name.
    pub fn settings(&self) -> Result<Vec<(String, String)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, value FROM settings ORDER BY name")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Sets (or with `None` removes) a setting.
    pub fn set_setting(&self, name: &str, value: Option<&str>) -> Result<()> {
        match value {
            Some(v) => self.conn.execute(
                "INSERT INTO settings(name, value) VALUES (?1, ?2)
                 ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                params![name, v],
            )?,
            None => self
                .conn
                .execute("DELETE FROM settings WHERE name = ?1", [name])?,
        };
        Ok(())
    }

    /// The remembered position of a mailbox: its UIDVALIDITY and the highest UID written.
    pub fn mailbox_position(&self, mailbox: &MailboxKey) -> Result<Option<Position>> {
        let row: Option<(i64, i64)> = self
            .conn
            .query_row(
                "SELECT uidvalidity, last_uid FROM mailbox_positions
                 WHERE server = ?1 AND user = ?2 AND mailbox = ?3",
                params![mailbox.server, mailbox.user, mailbox.mailbox],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        row.map(|(uidvalidity, last_uid)| {
            Ok(Position {
                uidvalidity: u32::try_from(uidvalidity)
                    .context("the store holds an impossible UIDVALIDITY")?,
                last_uid: u32::try_from(last_uid).context("the store holds an impossible UID")?,
            })
        })
        .transpose()
    }

    /// Remembers a mailbox's position, in a transaction of its own (a run killed right after
    /// has it, one killed before has the previous one).
    pub fn set_mailbox_position(
        &mut self,
        mailbox: &MailboxKey,
        position: Position,
        now: i64,
    ) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "INSERT INTO mailbox_positions(server, user, mailbox, uidvalidity, last_uid, updated)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(server, user, mailbox) DO UPDATE SET uidvalidity = excluded.uidvalidity,
               last_uid = excluded.last_uid, updated = excluded.updated",
            params![
                mailbox.server,
                mailbox.user,
                mailbox.mailbox,
                position.uidvalidity,
                position.last_uid,
                now
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Records a batch of events and applies them, in order, in one transaction.
    ///
    /// The batch is worked through in order of recipient id (stably, so each recipient's
    /// events keep their order, which is all the rules depend on): the B-trees are then
    /// walked from one end to the other instead of at random, which is what makes a large
    /// batch into a large store fast. State changes are reported in input order.
    pub fn ingest(
        &mut self,
        batch: &[NewEvent],
        rules: &Rules,
        now: i64,
        report_changes: bool,
    ) -> Result<Ingested> {
        let mut keep = |_: &[StateChange]| Ok(());
        self.ingest_reporting(batch, rules, now, report_changes.then_some(&mut keep))
    }

    /// `ingest`, handing the state changes to `report` before the transaction commits: a
    /// change is never in the store without having been reported. (If `report` fails, the
    /// batch is rolled back; if the process dies between the two, a re-run reports the
    /// batch's changes again: written twice rather than never.)
    pub fn ingest_reporting(
        &mut self,
        batch: &[NewEvent],
        rules: &Rules,
        now: i64,
        report: Option<&mut ReportChanges<'_>>,
    ) -> Result<Ingested> {
        let report_changes = report.is_some();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let rids: Vec<i64> = batch.iter().map(|e| row_id(&e.address.key)).collect();
        let mut order: Vec<usize> = (0..batch.len()).collect();
        order.sort_by_key(|&i| rids[i]);
        let new = batch::insert_events(&tx, batch, &rids, &order, now)?;
        let mut recipients = batch::Recipients::prepare(&tx)?;
        let mut out = Ingested {
            duplicates: new.iter().filter(|n| !**n).count() as u64,
            ..Ingested::default()
        };
        let mut changes: Vec<(usize, StateChange)> = Vec::new();
        let mut current: Option<Touched> = None;
        for &i in order.iter().filter(|&&i| new[i]) {
            let (event, rid) = (&batch[i], rids[i]);
            if current.as_ref().is_none_or(|t| t.rid != rid) {
                if let Some(done) = current.take() {
                    recipients.save(&done.row())?;
                }
                let (recipient, stored) = match recipients.stored(rid)? {
                    Some(found) => (same_key(found, &event.address.key)?, true),
                    None => (
                        new_recipient(&event.address, recipients.tombstone(rid)?, event.time)?,
                        false,
                    ),
                };
                current = Some(Touched {
                    rid,
                    stored,
                    email: recipient.email,
                    standing: recipient.standing,
                });
            }
            let entry = current.as_mut().expect("set above");
            let before = entry.standing.state;
            let changed = match event.change {
                Change::Event(kind) => rules::apply(
                    &mut entry.standing,
                    rules::Fact {
                        kind,
                        reason: event.reason.as_deref(),
                        time: event.time,
                    },
                    rules,
                ),
                Change::Decision(decision) => match rules::decide(
                    &mut entry.standing,
                    decision,
                    event.reason.as_deref(),
                    event.time,
                    event.force,
                ) {
                    Ok(changed) => changed,
                    Err(Refusal(why)) => {
                        out.refused.push((entry.email.clone(), why));
                        // A refused decision is no event: leave no trace of it.
                        tx.execute(
                            "DELETE FROM events WHERE recipient = ?1 AND id = ?2",
                            params![rid, event.id],
                        )?;
                        continue;
                    }
                },
            };
            out.new += 1;
            if changed {
                out.changed += 1;
                if report_changes {
                    changes.push((
                        i,
                        StateChange {
                            email: entry.email.clone(),
                            from: before,
                            to: entry.standing.state,
                            reason: entry.standing.reason.clone(),
                            time: event.time,
                            event: event.change.name().to_string(),
                            source: event.source.clone(),
                        },
                    ));
                }
            }
        }
        if let Some(done) = current.take() {
            recipients.save(&done.row())?;
        }
        drop(recipients);
        changes.sort_by_key(|(i, _)| *i);
        out.changes = changes.into_iter().map(|(_, c)| c).collect();
        if let Some(report) = report {
            report(&out.changes)?;
        }
        tx.commit()?;
        Ok(out)
    }

    /// The recipient stored under `key`, if any.
    pub fn recipient(&self, key: &str) -> Result<Option<Recipient>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {RECIPIENT_COLUMNS} FROM recipients WHERE id = ?1"
        ))?;
        let row = stmt
            .query_row([row_id(key)], |r| Ok(read_recipient(r, 0)))
            .optional()?
            .transpose()?;
        row.map(|r| same_key(r, key)).transpose()
    }

    /// The tombstone of a deleted address, if any: its state and reason.
    pub fn tombstone(&self, key: &str) -> Result<Option<(State, Option<String>)>> {
        let row: Option<(String, String, Option<String>)> = self
            .conn
            .query_row(
                "SELECT key, state, reason FROM tombstones WHERE id = ?1",
                [row_id(key)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        match row {
            Some((found, state, reason)) if found == key => {
                Ok(Some((parse_state(&state)?, reason)))
            }
            Some((found, ..)) => Err(collision(key, &found)),
            None => Ok(None),
        }
    }

    /// Every event of `key`, oldest first.
    pub fn history(&self, key: &str) -> Result<Vec<StoredEvent>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT kind, reason, status, time, ingested, origin, source, detail
             FROM events WHERE recipient = ?1 ORDER BY time, ingested, rowid",
        )?;
        let rows = stmt.query_map([row_id(key)], |r| {
            Ok(StoredEvent {
                kind: r.get(0)?,
                reason: r.get(1)?,
                status: r.get(2)?,
                time: r.get(3)?,
                ingested: r.get(4)?,
                origin: r.get(5)?,
                source: r.get(6)?,
                detail: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Calls `each` with every recipient in one of `states` (all when empty), in key order.
    pub fn for_each_recipient(
        &self,
        states: &[State],
        mut each: impl FnMut(Recipient) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {RECIPIENT_COLUMNS} FROM recipients ORDER BY email COLLATE NOCASE"
        ))?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let recipient = read_recipient(r, 0)?;
            if states.is_empty() || states.contains(&recipient.standing.state) {
                each(recipient)?;
            }
        }
        Ok(())
    }

    /// Calls `each(key_hash, address, state, reason)` for every address that must not be mailed:
    /// the recipients in a state that is not sendable, and the tombstones.
    pub fn for_each_unsendable(
        &self,
        mut each: impl FnMut(u64, &str, State, Option<&str>),
    ) -> Result<()> {
        let mut stmt = self.conn.prepare(&unsendable_query(
            "id, email, state, reason",
            "id, key, state, reason",
        ))?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let id: i64 = r.get(0)?;
            let key = r.get_ref(1)?.as_str()?;
            let state = parse_state(r.get_ref(2)?.as_str()?)?;
            let reason = r.get_ref(3)?.as_str_or_null()?;
            each(id as u64, key, state, reason);
        }
        Ok(())
    }

    /// Calls `each(key_hash)` for every address that must not be mailed: `for_each_unsendable`
    /// without the words, for callers that need no more than the hashes (a million rows read
    /// in a fraction of the time).
    pub fn for_each_unsendable_hash(&self, mut each: impl FnMut(u64)) -> Result<()> {
        let mut stmt = self.conn.prepare(&unsendable_query("id", "id"))?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            each(r.get::<_, i64>(0)? as u64);
        }
        Ok(())
    }

    /// Deletes recipients and their events; an unsubscribed or complained one leaves a
    /// tombstone so that no later import or event makes it sendable again. Returns, per
    /// address, whether it existed and whether a tombstone was kept.
    pub fn delete(&mut self, keys: &[String]) -> Result<Vec<(bool, bool)>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let rid = row_id(key);
            let row: Option<(String, String, Option<String>, i64)> = tx
                .query_row(
                    "SELECT email, state, reason, since FROM recipients WHERE id = ?1",
                    [rid],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()?;
            let Some((found, state, reason, since)) = row else {
                out.push((false, false));
                continue;
            };
            if crate::address::key_of(&found) != *key {
                return Err(collision(key, &found));
            }
            let tombstone = parse_state(&state)?.is_consent_withdrawn();
            if tombstone {
                tx.execute(
                    "INSERT INTO tombstones(id, key, state, reason, since) VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT(id) DO UPDATE SET state = excluded.state,
                       reason = excluded.reason, since = excluded.since",
                    params![rid, key, state, reason, since],
                )?;
            }
            tx.execute("DELETE FROM events WHERE recipient = ?1", [rid])?;
            tx.execute("DELETE FROM recipients WHERE id = ?1", [rid])?;
            out.push((true, tombstone));
        }
        tx.commit()?;
        Ok(out)
    }

    /// Number of recipients per state.
    pub fn state_counts(&self) -> Result<Vec<(State, u64)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT state, count(*) FROM recipients GROUP BY state")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        let mut counts = Vec::new();
        for row in rows {
            let (state, n) = row?;
            counts.push((parse_state(&state)?, n.max(0) as u64));
        }
        counts.sort();
        Ok(counts)
    }
}

/// The query of the unsendable addresses: `columns` of the recipients in a state that is not
/// sendable, and `tombstone_columns` of the tombstones of deleted ones. An address that came
/// back after its deletion has a recipient row again, which starts in the tombstone's state
/// and is what counts from then on (a forced `unblock` may have changed it).
fn unsendable_query(columns: &str, tombstone_columns: &str) -> String {
    let sendable: Vec<String> = State::ALL
        .iter()
        .filter(|s| s.is_sendable())
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    format!(
        "SELECT {columns} FROM recipients WHERE state NOT IN ({})
         UNION ALL SELECT {tombstone_columns} FROM tombstones
           WHERE id NOT IN (SELECT id FROM recipients)",
        sendable.join(",")
    )
}

/// Puts the store in WAL mode (once: the mode is kept in the file). Switching needs the
/// database to itself, and SQLite reports a concurrent switch or creation (two cron jobs
/// starting on a new store) as busy without waiting on the busy timeout: wait here instead.
fn use_wal(conn: &Connection) -> Result<()> {
    let started = std::time::Instant::now();
    loop {
        let mode: rusqlite::Result<String> =
            conn.query_row("PRAGMA journal_mode", [], |r| r.get(0));
        let result = match mode {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(_) => conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
                .map(|_| ()),
            Err(e) => Err(e),
        };
        match result {
            Ok(()) => return Ok(()),
            Err(e) if is_busy(&e) && started.elapsed() < BUSY_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// A recipient being changed by a batch.
struct Touched {
    rid: i64,
    stored: bool,
    email: String,
    standing: Standing,
}

impl Touched {
    fn row(&self) -> batch::RecipientRow<'_> {
        batch::RecipientRow {
            rid: self.rid,
            stored: self.stored,
            email: &self.email,
            standing: &self.standing,
        }
    }
}

/// The columns `read_recipient` reads, in its order.
const RECIPIENT_COLUMNS: &str =
    "email, state, reason, since, soft_streak, streak_start, bounces, last_event";

/// What a deleted address whose owner withdrew consent leaves behind.
struct Tombstone {
    key: String,
    state: State,
    reason: Option<String>,
    since: i64,
}

/// A recipient seen for the first time: a deleted address whose owner withdrew consent
/// comes back in its tombstone's state, anything else as unknown.
fn new_recipient(address: &Address, tombstone: Option<Tombstone>, time: i64) -> Result<Recipient> {
    let standing = match tombstone {
        Some(t) if t.key != address.key => return Err(collision(&address.key, &t.key)),
        Some(t) => Standing::new(t.state, t.reason, t.since),
        None => Standing::new(State::Unknown, None, time),
    };
    Ok(Recipient {
        email: address.email.clone(),
        key: address.key.clone(),
        standing,
    })
}

/// A recipient row in `RECIPIENT_COLUMNS` order, starting at column `at`.
fn read_recipient(r: &rusqlite::Row<'_>, at: usize) -> Result<Recipient> {
    let email: String = r.get(at)?;
    let state: String = r.get(at + 1)?;
    Ok(Recipient {
        key: crate::address::key_of(&email),
        email,
        standing: Standing {
            state: parse_state(&state)?,
            reason: r.get(at + 2)?,
            since: r.get(at + 3)?,
            soft_streak: r.get(at + 4)?,
            streak_start: r.get(at + 5)?,
            bounces: r.get(at + 6)?,
            last_event: r.get(at + 7)?,
        },
    })
}

/// The row found under a key's id, which must be that key's.
fn same_key(found: Recipient, key: &str) -> Result<Recipient> {
    if found.key == key {
        Ok(found)
    } else {
        Err(collision(key, &found.key))
    }
}

fn collision(key: &str, found: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{key} and {found} share a store id (a 64-bit hash collision, expected about once in \
         billions of stores); nothing was changed: please report this"
    )
}

fn parse_state(text: &str) -> Result<State> {
    text.parse::<State>()
        .map_err(|e| anyhow::anyhow!("the store holds {e}: is it from a newer bouncekit?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(addr: &str, kind: Kind, n: u32) -> NewEvent {
        let address = Address::parse(addr).unwrap();
        NewEvent {
            id: event_id(&[kind.as_str(), &n.to_string()]),
            address,
            change: Change::Event(kind),
            reason: Some("test".into()),
            status: None,
            time: i64::from(n),
            origin: Origin::Classify,
            source: None,
            detail: None,
            force: false,
        }
    }

    #[test]
    fn a_new_store_gets_the_whole_schema_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("s.db");
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len());
        drop(store);
        assert_eq!(
            Store::open_existing(&path)
                .unwrap()
                .schema_version()
                .unwrap(),
            MIGRATIONS.len()
        );
    }

    #[test]
    fn a_missing_store_is_an_error_for_readers() {
        let dir = tempfile::tempdir().unwrap();
        let err = Store::open_existing(&dir.path().join("none.db"))
            .err()
            .unwrap();
        assert!(err.to_string().contains("no store at"), "{err}");
    }

    #[test]
    fn the_same_batch_twice_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let batch = vec![
            event("a@x.example", Kind::Hard, 1),
            event("b@x.example", Kind::Soft, 2),
        ];
        let first = store.ingest(&batch, &Rules::default(), 10, false).unwrap();
        assert_eq!((first.new, first.duplicates, first.changed), (2, 0, 2));
        let second = store.ingest(&batch, &Rules::default(), 11, false).unwrap();
        assert_eq!((second.new, second.duplicates, second.changed), (0, 2, 0));
        let b = store.recipient("b@x.example").unwrap().unwrap();
        assert_eq!(
            (b.standing.state, b.standing.soft_streak),
            (State::SoftBouncing, 1)
        );
    }

    #[test]
    fn changes_are_reported_before_the_batch_commits() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        let batch = [event("a@x.example", Kind::Hard, 1)];
        // The report fails (a full disk, a closed pipe): nothing of the batch is kept.
        let mut failing = |_: &[StateChange]| -> Result<()> { anyhow::bail!("disk full") };
        let err = store
            .ingest_reporting(&batch, &Rules::default(), 2, Some(&mut failing))
            .unwrap_err();
        assert!(format!("{err:#}").contains("disk full"));
        assert!(store.recipient("a@x.example").unwrap().is_none());
        // Reported, then kept.
        let mut seen = Vec::new();
        let mut keep = |changes: &[StateChange]| -> Result<()> {
            seen.extend(changes.iter().map(|c| (c.email.clone(), c.to)));
            Ok(())
        };
        store
            .ingest_reporting(&batch, &Rules::default(), 2, Some(&mut keep))
            .unwrap();
        assert_eq!(seen, vec![("a@x.example".to_string(), State::Bounced)]);
        assert_eq!(
            store
                .recipient("a@x.example")
                .unwrap()
                .unwrap()
                .standing
                .state,
            State::Bounced
        );
    }

    #[test]
    fn deleting_an_unsubscribed_address_leaves_a_tombstone() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("s.db")).unwrap();
        store
            .ingest(
                &[event("U@x.example", Kind::Unsubscribe, 1)],
                &Rules::default(),
                5,
                false,
            )
            .unwrap();
        assert_eq!(
            store.delete(&["u@x.example".into()]).unwrap(),
            vec![(true, true)]
        );
        assert!(store.recipient("u@x.example").unwrap().is_none());
        store
            .ingest(
                &[event("u@x.example", Kind::Delivered, 7)],
                &Rules::default(),
                8,
                false,
            )
            .unwrap();
        let back = store.recipient("u@x.example").unwrap().unwrap();
        assert_eq!(back.standing.state, State::Unsubscribed);
        // Since when: the unsubscribe's time, kept through the deletion.
        assert_eq!(back.standing.since, 1);
        let unsendable = |store: &Store| {
            let mut found = Vec::new();
            store
                .for_each_unsendable(|_, key, state, _| found.push((key.to_string(), state)))
                .unwrap();
            found
        };
        assert_eq!(
            unsendable(&store),
            vec![("u@x.example".to_string(), State::Unsubscribed)]
        );
        // Once the address has a row again, the row decides: a forced unblock makes it
        // sendable, and the tombstone no longer counts.
        let mut unblock = event("u@x.example", Kind::Delivered, 9);
        unblock.change = Change::Decision(Decision::Unblock);
        unblock.force = true;
        store
            .ingest(&[unblock], &Rules::default(), 10, false)
            .unwrap();
        let back = store.recipient("u@x.example").unwrap().unwrap();
        assert_eq!(back.standing.state, State::Unknown);
        assert!(unsendable(&store).is_empty(), "{:?}", unsendable(&store));
    }

    #[test]
    fn mailbox_positions_are_kept_per_server_user_and_mailbox() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let mut store = Store::open(&path).unwrap();
        let key = |server: &str, mailbox: &str| MailboxKey {
            server: server.into(),
            user: "bounces".into(),
            mailbox: mailbox.into(),
        };
        assert_eq!(
            store.mailbox_position(&key("h:993", "INBOX")).unwrap(),
            None
        );
        let first = Position {
            uidvalidity: u32::MAX,
            last_uid: 7,
        };
        store
            .set_mailbox_position(&key("h:993", "INBOX"), first, 1)
            .unwrap();
        let second = Position {
            uidvalidity: 3,
            last_uid: 9,
        };
        store
            .set_mailbox_position(&key("h:143", "INBOX"), second, 2)
            .unwrap();
        drop(store);
        let store = Store::open_existing(&path).unwrap();
        assert_eq!(
            store.mailbox_position(&key("h:993", "INBOX")).unwrap(),
            Some(first)
        );
        assert_eq!(
            store.mailbox_position(&key("h:143", "INBOX")).unwrap(),
            Some(second)
        );
        assert_eq!(store.mailbox_position(&key("h:993", "Junk")).unwrap(), None);
    }

    #[test]
    fn a_store_of_schema_1_is_brought_up_to_date() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        drop(conn);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.schema_version().unwrap(), MIGRATIONS.len());
        assert!(
            store
                .mailbox_position(&MailboxKey {
                    server: "h:1".into(),
                    user: "u".into(),
                    mailbox: "INBOX".into(),
                })
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn settings_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        store.set_setting("soft-limit", Some("10")).unwrap();
        assert_eq!(store.setting("soft-limit").unwrap().as_deref(), Some("10"));
        store.set_setting("soft-limit", None).unwrap();
        assert_eq!(store.setting("soft-limit").unwrap(), None);
    }
}
