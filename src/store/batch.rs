//! The statements of `Store::ingest`, prepared once per batch. (Multi-row statements were
//! measured too: with RETURNING, `IN (...)` lists and multi-row upserts they were slower
//! than one cached statement per row.)

use anyhow::Result;
use rusqlite::{OptionalExtension, Transaction, params};

use super::{NewEvent, RECIPIENT_COLUMNS, Recipient, Tombstone, parse_state, read_recipient};

/// Inserts the events of `batch` taken in `order` (a permutation of its indices); returns,
/// per index, whether the event was new. An event already stored, or repeated earlier in
/// the batch, is not. (One row per statement: the row count a statement reports is what
/// tells a new event from a repeated one, cheaper than a multi-row insert's RETURNING.)
pub(super) fn insert_events(
    tx: &Transaction<'_>,
    batch: &[NewEvent],
    rids: &[i64],
    order: &[usize],
    now: i64,
) -> Result<Vec<bool>> {
    let mut stmt = tx.prepare_cached(
        "INSERT OR IGNORE INTO events
         (recipient, id, kind, reason, status, time, ingested, origin, source, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    let mut new = vec![false; batch.len()];
    for &i in order {
        let e = &batch[i];
        new[i] = stmt.execute(params![
            rids[i],
            e.id,
            e.change.name(),
            e.reason,
            e.status,
            e.time,
            now,
            e.origin.as_str(),
            e.source,
            e.detail,
        ])? > 0;
    }
    Ok(new)
}

/// The statements that read and write recipients during a batch, prepared once.
pub(super) struct Recipients<'tx> {
    select: rusqlite::CachedStatement<'tx>,
    /// `None` when the store has no tombstones (then there is nothing to look up).
    tombstone: Option<rusqlite::CachedStatement<'tx>>,
    update: rusqlite::CachedStatement<'tx>,
    insert: rusqlite::CachedStatement<'tx>,
}

impl<'tx> Recipients<'tx> {
    pub(super) fn prepare(tx: &'tx Transaction<'_>) -> Result<Self> {
        let any_tombstones: bool =
            tx.query_row("SELECT EXISTS (SELECT 1 FROM tombstones)", [], |r| r.get(0))?;
        Ok(Recipients {
            select: tx.prepare_cached(&format!(
                "SELECT {RECIPIENT_COLUMNS} FROM recipients WHERE id = ?1"
            ))?,
            tombstone: any_tombstones
                .then(|| {
                    tx.prepare_cached(
                        "SELECT key, state, reason, since FROM tombstones WHERE id = ?1",
                    )
                })
                .transpose()?,
            update: tx.prepare_cached(
                "UPDATE recipients SET state = ?2, reason = ?3, since = ?4, soft_streak = ?5,
                   streak_start = ?6, bounces = ?7, last_event = ?8
                 WHERE id = ?1",
            )?,
            insert: tx.prepare_cached(
                "INSERT INTO recipients (id, email, state, reason, since, soft_streak,
                   streak_start, bounces, last_event)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?,
        })
    }

    /// The stored recipient with this id, if any.
    pub(super) fn stored(&mut self, rid: i64) -> Result<Option<Recipient>> {
        self.select
            .query_row([rid], |r| Ok(read_recipient(r, 0)))
            .optional()?
            .transpose()
    }

    /// The tombstone with this id, if any.
    pub(super) fn tombstone(&mut self, rid: i64) -> Result<Option<Tombstone>> {
        let Some(stmt) = &mut self.tombstone else {
            return Ok(None);
        };
        let row: Option<(String, String, Option<String>, i64)> = stmt
            .query_row([rid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .optional()?;
        row.map(|(key, state, reason, since)| {
            Ok(Tombstone {
                key,
                state: parse_state(&state)?,
                reason,
                since,
            })
        })
        .transpose()
    }

    /// Writes a recipient: an update of its row, or its first row.
    pub(super) fn save(&mut self, r: &RecipientRow<'_>) -> Result<()> {
        let s = r.standing;
        if r.stored {
            self.update.execute(params![
                r.rid,
                s.state.as_str(),
                s.reason,
                s.since,
                s.soft_streak,
                s.streak_start,
                s.bounces,
                s.last_event,
            ])?;
        } else {
            self.insert.execute(params![
                r.rid,
                r.email,
                s.state.as_str(),
                s.reason,
                s.since,
                s.soft_streak,
                s.streak_start,
                s.bounces,
                s.last_event,
            ])?;
        }
        Ok(())
    }
}

/// A recipient row to write.
pub(super) struct RecipientRow<'a> {
    pub rid: i64,
    /// Whether it has a row already.
    pub stored: bool,
    pub email: &'a str,
    pub standing: &'a super::Standing,
}
