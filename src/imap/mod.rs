//! An IMAP client with just what `fetch-bounces` needs, behind a small trait (`Session`), so
//! the fetch loop never sees the protocol and its tests can run on a fake mailbox.
//!
//! Why our own client and not the `imap` crate (3.0.0-alpha.15, which the test harness still
//! uses to check our work independently): the crate reads a FETCH response line by line,
//! re-parsing as it goes, and then parses the whole response a second time, holding it all in
//! memory. On the test Dovecot that read 10,000 messages of 3 KB in 0.26-0.37 s where Python's
//! imaplib takes 0.17-0.22 s, before any record was encoded, so the benchmark's floor (half of
//! imaplib's speed for the whole command) was out of reach; and its stream is private, so a
//! hand-written FETCH loop cannot share its connection. What we need is a small subset
//! (LOGIN/AUTHENTICATE PLAIN, STARTTLS, EXAMINE/SELECT, UID SEARCH, UID FETCH, UID STORE,
//! UID MOVE/COPY/EXPUNGE, STATUS, LOGOUT) and is written here against RFC 3501/9051, with a
//! FETCH parser that reads each message's literal in one call (see `wire`).
//!
//! This module must never change a mailbox on its own: reading uses EXAMINE and BODY.PEEK,
//! and only the explicit `mark_seen`, `move_to` and `delete` write.

mod client;
mod url;
mod wire;

use anyhow::Result;
use chrono::NaiveDate;

pub use client::{Client, ConnectOptions, Security};
pub use url::{ImapUrl, Scheme};

/// What opening a mailbox tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailboxInfo {
    /// Changes when the server renumbers the mailbox (recreated, restored): the UIDs of
    /// before then mean nothing.
    pub uidvalidity: u32,
    /// The UID the next message will get, when the server says (a cheap "nothing new" test).
    pub uidnext: Option<u32>,
    pub exists: u32,
}

/// A message's metadata, read before its body so that a large one can be skipped unread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub uid: u32,
    pub size: u64,
    /// The server's INTERNALDATE (when the message arrived), in Unix seconds.
    pub internal_date: Option<i64>,
}

/// The IMAP operations `fetch-bounces` uses. Every UID list is sorted ascending.
pub trait Session {
    /// Opens `mailbox`: read-only (EXAMINE) unless `writable` (SELECT), which only the
    /// explicit actions need.
    fn open(&mut self, mailbox: &str, writable: bool) -> Result<MailboxInfo>;

    /// The UIDs above `after`, arrived on or after `since` when given, ascending.
    fn search(&mut self, after: u32, since: Option<NaiveDate>) -> Result<Vec<u32>>;

    /// Size and arrival time of the messages among `uids` that still exist.
    fn fetch_meta(&mut self, uids: &[u32]) -> Result<Vec<Meta>>;

    /// Asks for the exact bytes of the messages among `uids` (BODY.PEEK: \Seen is not set),
    /// without waiting for them: the server starts sending while the caller finishes the
    /// previous batch. No other command may be run until `read_bodies` has read them.
    fn request_bodies(&mut self, uids: &[u32], max_size: u64) -> Result<()>;

    /// Hands each message asked for by `request_bodies` that still exists to `each`, as it
    /// arrives (in UID order).
    fn read_bodies(&mut self, each: &mut dyn FnMut(u32, &[u8]) -> Result<()>) -> Result<()>;

    /// `request_bodies` and `read_bodies` at once.
    fn fetch_bodies(
        &mut self,
        uids: &[u32],
        max_size: u64,
        each: &mut dyn FnMut(u32, &[u8]) -> Result<()>,
    ) -> Result<()> {
        self.request_bodies(uids, max_size)?;
        self.read_bodies(each)
    }

    /// Sets \Seen on `uids`.
    fn mark_seen(&mut self, uids: &[u32]) -> Result<()>;

    /// Moves `uids` to `folder` (MOVE, else COPY + \Deleted + UID EXPUNGE).
    fn move_to(&mut self, uids: &[u32], folder: &str) -> Result<()>;

    /// Deletes `uids` (\Deleted + UID EXPUNGE).
    fn delete(&mut self, uids: &[u32]) -> Result<()>;

    /// Fails, saying why, unless `mailbox` exists (and is not the one open).
    fn check_mailbox(&mut self, mailbox: &str) -> Result<()>;

    /// Ends the session politely; errors are of no interest by then.
    fn logout(&mut self);
}

/// A UID set in IMAP syntax, runs collapsed: `1:5,7,9:12`.
pub fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end.wrapping_add(1) {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out += &start.to_string();
        } else {
            out += &format!("{start}:{end}");
        }
        i += 1;
    }
    out
}

/// A mailbox name as a quoted IMAP string: non-ASCII in modified UTF-7 (RFC 3501 5.1.3), the
/// way every server takes it, and `"` and `\` escaped.
pub fn quote_mailbox(name: &str) -> String {
    let mut out = String::from("\"");
    for c in mutf7(name).chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Modified UTF-7: printable ASCII as itself (`&` as `&-`), anything else as base64 of its
/// UTF-16 with `,` for `/`, between `&` and `-`.
fn mutf7(name: &str) -> String {
    use base64::Engine;
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::IMAP_MUTF7,
        base64::engine::general_purpose::NO_PAD,
    );
    let mut out = String::new();
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if !pending.is_empty() {
            let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
            out.push('&');
            out.push_str(&engine.encode(bytes));
            out.push('-');
            pending.clear();
        }
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut units = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// A date as IMAP's SEARCH SINCE takes it: `1-Feb-2026`.
pub fn imap_date(date: NaiveDate) -> String {
    date.format("%-d-%b-%Y").to_string()
}

/// An INTERNALDATE (`23-Nov-2026 10:00:00 +0000`, the day possibly space-padded) in Unix
/// seconds.
pub fn parse_internal_date(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_str(text.trim(), "%d-%b-%Y %H:%M:%S %z")
        .ok()
        .map(|t| t.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_collapse_runs() {
        assert_eq!(uid_set(&[1, 2, 3, 5, 7, 8]), "1:3,5,7:8");
        assert_eq!(uid_set(&[42]), "42");
        assert_eq!(uid_set(&[]), "");
        assert_eq!(
            uid_set(&[u32::MAX - 1, u32::MAX]),
            format!("{}:{}", u32::MAX - 1, u32::MAX)
        );
    }

    #[test]
    fn mailbox_names_in_modified_utf7() {
        // The examples of RFC 3501 5.1.3 and the usual suspects.
        assert_eq!(quote_mailbox("INBOX"), "\"INBOX\"");
        assert_eq!(quote_mailbox("Tom & Jerry"), "\"Tom &- Jerry\"");
        assert_eq!(
            quote_mailbox("~peter/mail/台北/日本語"),
            "\"~peter/mail/&U,BTFw-/&ZeVnLIqe-\""
        );
        assert_eq!(
            quote_mailbox("Odeslaná pošta"),
            "\"Odeslan&AOE- po&AWE-ta\""
        );
        assert_eq!(quote_mailbox("a\"b\\c"), "\"a\\\"b\\\\c\"");
    }

    #[test]
    fn dates_both_ways() {
        assert_eq!(
            imap_date(NaiveDate::from_ymd_opt(2026, 2, 1).unwrap()),
            "1-Feb-2026"
        );
        assert_eq!(
            parse_internal_date(" 1-Feb-2026 10:00:00 +0100"),
            Some(
                chrono::DateTime::parse_from_rfc3339("2026-02-01T09:00:00Z")
                    .unwrap()
                    .timestamp()
            )
        );
        assert_eq!(
            parse_internal_date("23-Nov-2026 10:00:00 +0000").map(crate::clock::format_rfc3339),
            Some("2026-11-23T10:00:00Z".to_string())
        );
        assert_eq!(parse_internal_date("yesterday"), None);
    }
}
