//! Where `fetch-bounces` remembers how far it has read each mailbox: in the store (`--db`,
//! table `mailbox_positions`) or in a small JSON file (`--state FILE`) for those who keep no
//! store.
//!
//! A position may only ever say "every message up to this UID has been written": it is saved
//! after the records are flushed, never before, so a run killed at any moment is followed by
//! one that fetches what was not written yet. The JSON file is replaced atomically (a
//! temporary file, fsync, rename, fsync of the folder): it is either the old one or the new
//! one, never half of each.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::clock;
use crate::store::Store;

/// Which mailbox a position is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxKey {
    /// `host:port`.
    pub server: String,
    pub user: String,
    pub mailbox: String,
}

/// How far a mailbox has been read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// The mailbox's UIDVALIDITY when it was read: UIDs of another one mean nothing.
    pub uidvalidity: u32,
    /// Every message up to this UID has been written (or skipped with an error record).
    pub last_uid: u32,
}

/// Remembered positions, whatever keeps them.
pub trait Positions {
    fn get(&self, mailbox: &MailboxKey) -> Result<Option<Position>>;
    fn set(&mut self, mailbox: &MailboxKey, position: Position) -> Result<()>;
}

impl Positions for Store {
    fn get(&self, mailbox: &MailboxKey) -> Result<Option<Position>> {
        self.mailbox_position(mailbox)
            .with_context(|| format!("cannot read the position from {}", self.path().display()))
    }

    fn set(&mut self, mailbox: &MailboxKey, position: Position) -> Result<()> {
        let path = self.path().to_path_buf();
        self.set_mailbox_position(mailbox, position, clock::now())
            .with_context(|| format!("cannot save the position in {}", path.display()))
    }
}

/// The `--state` file.
pub struct StateFile {
    path: PathBuf,
    state: StateJson,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct StateJson {
    version: u32,
    mailboxes: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    server: String,
    user: String,
    mailbox: String,
    uidvalidity: u32,
    last_uid: u32,
    /// RFC 3339, for people reading the file.
    updated: String,
}

const STATE_VERSION: u32 = 1;

impl StateFile {
    /// Reads the file; a missing one is an empty state. A damaged one is an error, not a
    /// fresh start: silently forgetting every position would fetch whole mailboxes again.
    pub fn open(path: &Path) -> Result<StateFile> {
        Ok(StateFile {
            path: path.to_path_buf(),
            state: read_state(path)?,
        })
    }

    /// Holds `.NAME.lock` beside the file while a position is saved: two runs sharing one
    /// state file (two mailboxes, two cron jobs) then never write over each other's.
    fn lock(&self) -> Result<fs::File> {
        let dir = self.dir();
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let lock_path = self.hidden_beside(".lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("cannot open {}", lock_path.display()))?;
        file.lock()
            .with_context(|| format!("cannot lock {}", lock_path.display()))?;
        Ok(file)
    }

    /// The folder the file is in.
    fn dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// `.NAME` + `suffix` in the file's folder: its lock and its temporary copy.
    fn hidden_beside(&self, suffix: &str) -> PathBuf {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "state".into());
        self.dir().join(format!(".{name}{suffix}"))
    }

    fn save(&self) -> Result<()> {
        let context = || format!("cannot write the state file {}", self.path.display());
        let dir = self.dir();
        fs::create_dir_all(&dir).with_context(context)?;
        let tmp = self.hidden_beside(&format!(".tmp-{}", std::process::id()));
        let mut json = serde_json::to_vec_pretty(&self.state)?;
        json.push(b'\n');
        let written = (|| -> std::io::Result<()> {
            let mut file = fs::File::create(&tmp)?;
            file.write_all(&json)?;
            file.sync_all()?;
            fs::rename(&tmp, &self.path)?;
            // The rename itself is durable only once the folder is.
            fs::File::open(&dir)?.sync_all()
        })();
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written.with_context(context)
    }
}

/// The state in the file at `path`; a missing file is an empty state.
fn read_state(path: &Path) -> Result<StateJson> {
    match fs::read(path) {
        Ok(bytes) => {
            let state: StateJson = serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "the state file {} is damaged (fix or delete it to read every mailbox again)",
                    path.display()
                )
            })?;
            if state.version != STATE_VERSION {
                bail!(
                    "the state file {} has version {}, which this bouncekit does not know",
                    path.display(),
                    state.version
                );
            }
            Ok(state)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StateJson {
            version: STATE_VERSION,
            mailboxes: Vec::new(),
        }),
        Err(e) => Err(e).with_context(|| format!("cannot read the state file {}", path.display())),
    }
}

impl Positions for StateFile {
    fn get(&self, mailbox: &MailboxKey) -> Result<Option<Position>> {
        Ok(self
            .state
            .mailboxes
            .iter()
            .find(|e| {
                e.server == mailbox.server && e.user == mailbox.user && e.mailbox == mailbox.mailbox
            })
            .map(|e| Position {
                uidvalidity: e.uidvalidity,
                last_uid: e.last_uid,
            }))
    }

    fn set(&mut self, mailbox: &MailboxKey, position: Position) -> Result<()> {
        let updated = clock::format_rfc3339(clock::now());
        let entry = Entry {
            server: mailbox.server.clone(),
            user: mailbox.user.clone(),
            mailbox: mailbox.mailbox.clone(),
            uidvalidity: position.uidvalidity,
            last_uid: position.last_uid,
            updated,
        };
        let _lock = self.lock()?;
        // Another run may have saved other mailboxes' positions since this one read the file.
        self.state = read_state(&self.path)?;
        match self.state.mailboxes.iter_mut().find(|e| {
            e.server == mailbox.server && e.user == mailbox.user && e.mailbox == mailbox.mailbox
        }) {
            Some(e) => *e = entry,
            None => self.state.mailboxes.push(entry),
        }
        self.save()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(mailbox: &str) -> MailboxKey {
        MailboxKey {
            server: "mail.example.com:993".into(),
            user: "bounces".into(),
            mailbox: mailbox.into(),
        }
    }

    #[test]
    fn the_state_file_round_trips_and_keeps_other_mailboxes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.json");
        let mut state = StateFile::open(&path).unwrap();
        assert_eq!(state.get(&key("INBOX")).unwrap(), None);
        let p = Position {
            uidvalidity: 7,
            last_uid: 42,
        };
        state.set(&key("INBOX"), p).unwrap();
        state
            .set(
                &key("Junk"),
                Position {
                    uidvalidity: 1,
                    last_uid: 2,
                },
            )
            .unwrap();
        let p2 = Position {
            uidvalidity: 7,
            last_uid: 50,
        };
        state.set(&key("INBOX"), p2).unwrap();
        let again = StateFile::open(&path).unwrap();
        assert_eq!(again.get(&key("INBOX")).unwrap(), Some(p2));
        assert_eq!(again.get(&key("Junk")).unwrap().unwrap().last_uid, 2);
        // No temporary file is left beside it (the lock file stays, empty).
        let mut names: Vec<String> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, vec![".state.json.lock", "state.json"]);
    }

    #[test]
    fn two_runs_sharing_a_state_file_keep_each_others_positions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        // Both read the file before either saved (two cron jobs starting together).
        let mut first = StateFile::open(&path).unwrap();
        let mut second = StateFile::open(&path).unwrap();
        let at = |last_uid| Position {
            uidvalidity: 1,
            last_uid,
        };
        first.set(&key("INBOX"), at(10)).unwrap();
        second.set(&key("Junk"), at(20)).unwrap();
        first.set(&key("INBOX"), at(11)).unwrap();
        let again = StateFile::open(&path).unwrap();
        assert_eq!(again.get(&key("INBOX")).unwrap(), Some(at(11)));
        assert_eq!(again.get(&key("Junk")).unwrap(), Some(at(20)));
    }

    #[test]
    fn a_damaged_state_file_is_an_error_not_a_fresh_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        fs::write(&path, "{\"version\":1,\"mailboxes\":[").unwrap();
        let err = StateFile::open(&path).err().unwrap();
        assert!(format!("{err:#}").contains("damaged"), "{err:#}");
    }
}
