//! Writing messages into a Maildir (`fetch-bounces --maildir`) the way Maildir promises
//! readers: each file is written in `tmp/`, made durable, and only then renamed into `new/`,
//! so a reader never sees half a message and a crash leaves at most a stray file in `tmp/`.
//!
//! Files are made durable a batch at a time (`commit`): writing a batch and then syncing it
//! lets the file system group the work, about twice as fast here as a sync per file. File
//! names are chosen by the caller and are meant to be the same for the same message, so that
//! writing a message twice (a re-run after a crash) replaces the file instead of adding one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// A Maildir being written to.
pub struct Maildir {
    dir: PathBuf,
    /// Written to `tmp/`, not yet durable nor in `new/`.
    pending: Vec<String>,
}

impl Maildir {
    /// Opens `dir` as a Maildir, creating it and its `tmp/`, `new/` and `cur/` as needed.
    pub fn create(dir: &Path) -> Result<Maildir> {
        for sub in ["tmp", "new", "cur"] {
            let path = dir.join(sub);
            fs::create_dir_all(&path)
                .with_context(|| format!("cannot create the Maildir folder {}", path.display()))?;
        }
        Ok(Maildir {
            dir: dir.to_path_buf(),
            pending: Vec::new(),
        })
    }

    /// Writes one message to `tmp/NAME`; it reaches `new/` at the next `commit`.
    pub fn stage(&mut self, name: &str, raw: &[u8]) -> Result<()> {
        let path = self.dir.join("tmp").join(name);
        let mut file =
            fs::File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
        file.write_all(raw)
            .with_context(|| format!("cannot write {}", path.display()))?;
        self.pending.push(name.to_string());
        Ok(())
    }

    /// Makes every staged message durable and moves it into `new/`.
    pub fn commit(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let tmp = self.dir.join("tmp");
        let new = self.dir.join("new");
        for name in &self.pending {
            let path = tmp.join(name);
            fs::File::open(&path)
                .and_then(|f| f.sync_data())
                .with_context(|| format!("cannot sync {}", path.display()))?;
        }
        for name in &self.pending {
            fs::rename(tmp.join(name), new.join(name))
                .with_context(|| format!("cannot move {name} into {}", new.display()))?;
        }
        fs::File::open(&new)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("cannot sync {}", new.display()))?;
        self.pending.clear();
        Ok(())
    }
}

/// A Maildir file name that is the same whenever the same message is written: arrival time
/// (so readers sort by it), a hash of where it came from, its UIDVALIDITY and UID, and this
/// host (with `/` and `:` encoded, as Maildir asks); `,S=` gives the size, which Dovecot
/// reads instead of the file.
pub fn file_name(time: i64, origin: &str, uidvalidity: u32, uid: u32, size: usize) -> String {
    let origin = xxhash_rust::xxh3::xxh3_64(origin.as_bytes());
    format!(
        "{time}.B{origin:016x}V{uidvalidity}U{uid}.{},S={size}",
        host_name()
    )
}

fn host_name() -> String {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        let name = fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| fs::read_to_string("/etc/hostname"))
            .map(|h| h.trim().to_string())
            .unwrap_or_default();
        let name = if name.is_empty() {
            "localhost".to_string()
        } else {
            name
        };
        name.replace('/', "\\057").replace(':', "\\072")
    })
    .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staged_messages_reach_new_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("Bounces");
        let mut md = Maildir::create(&root).unwrap();
        let name = file_name(1_700_000_000, "imaps://u@h/INBOX", 7, 42, 5);
        md.stage(&name, b"hello").unwrap();
        assert!(root.join("tmp").join(&name).exists());
        assert_eq!(fs::read_dir(root.join("new")).unwrap().count(), 0);
        md.commit().unwrap();
        assert_eq!(fs::read(root.join("new").join(&name)).unwrap(), b"hello");
        assert_eq!(fs::read_dir(root.join("tmp")).unwrap().count(), 0);
        // The same message again replaces its file.
        md.stage(&name, b"hello").unwrap();
        md.commit().unwrap();
        assert_eq!(fs::read_dir(root.join("new")).unwrap().count(), 1);
    }

    #[test]
    fn names_differ_by_origin_and_uid_and_hold_no_separator() {
        let a = file_name(1, "imaps://u@h/INBOX", 7, 42, 5);
        let b = file_name(1, "imaps://u@h/Junk", 7, 42, 5);
        let c = file_name(1, "imaps://u@h/INBOX", 7, 43, 5);
        assert!(a != b && a != c && b != c);
        assert!(!a.contains('/') && !a.contains(':'));
        assert!(a.starts_with("1.B") && a.ends_with(",S=5"), "{a}");
    }
}
