//! An insert-only set of 64-bit address hashes, for the ten-million-row lists of
//! `suppress filter`.
//!
//! Written here rather than taken from a crate because of how it is used: rows are judged
//! in groups, and `touch_all` first reads the slot of every hash of a group, so that the
//! cache misses of a group overlap instead of following one another (at ten million rows
//! the table is far larger than any cache, and those misses are most of the time spent).
//! `hashbrown` hides its slots, so it cannot be asked to do that. Open addressing with
//! linear probing over plain `u64`s: 8 bytes an address, no per-entry overhead.

/// The empty slot. A hash that happens to be 0 is stored as 1 (one more collision among
/// 2^64 values; see `address::key_hash` for what a collision can and cannot do).
const EMPTY: u64 = 0;

pub struct HashSet64 {
    slots: Vec<u64>,
    len: usize,
}

impl HashSet64 {
    /// A set with room for `n` hashes before it grows.
    pub fn with_capacity(n: usize) -> Self {
        HashSet64 {
            slots: vec![EMPTY; slots_for(n)],
            len: 0,
        }
    }

    /// Makes room for `additional` more hashes (growing once now rather than in steps).
    pub fn reserve(&mut self, additional: usize) {
        let wanted = slots_for(self.len + additional);
        if wanted > self.slots.len() {
            self.rebuild(wanted);
        }
    }

    /// Adds a hash; false when it was there already.
    pub fn insert(&mut self, hash: u64) -> bool {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.rebuild(self.slots.len() * 2);
        }
        let hash = stored(hash);
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        loop {
            match self.slots[at] {
                EMPTY => {
                    self.slots[at] = hash;
                    self.len += 1;
                    return true;
                }
                found if found == hash => return false,
                _ => at = (at + 1) & mask,
            }
        }
    }

    /// True when the hash is in the set.
    pub fn contains(&self, hash: u64) -> bool {
        let hash = stored(hash);
        let mask = self.slots.len() - 1;
        let mut at = hash as usize & mask;
        loop {
            match self.slots[at] {
                EMPTY => return false,
                found if found == hash => return true,
                _ => at = (at + 1) & mask,
            }
        }
    }

    /// Reads the home slot of every hash in `hashes`: independent loads, which the CPU
    /// keeps in flight together, so that the inserts that follow find their slots cached.
    pub fn touch_all(&self, hashes: impl Iterator<Item = u64>) {
        let mask = self.slots.len() - 1;
        let mut sum = 0u64;
        for hash in hashes {
            sum = sum.wrapping_add(self.slots[stored(hash) as usize & mask]);
        }
        std::hint::black_box(sum);
    }

    fn rebuild(&mut self, slots: usize) {
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; slots]);
        self.len = 0;
        for hash in old.into_iter().filter(|&h| h != EMPTY) {
            self.insert(hash);
        }
    }
}

/// A power of two of slots that holds `n` hashes at most three quarters full.
fn slots_for(n: usize) -> usize {
    (n.saturating_mul(4) / 3 + 1).next_power_of_two().max(16)
}

fn stored(hash: u64) -> u64 {
    if hash == EMPTY { 1 } else { hash }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_report_what_was_new_across_growth() {
        let mut set = HashSet64::with_capacity(4);
        for i in 0..10_000u64 {
            let h = xxhash_rust::xxh3::xxh3_64(&i.to_le_bytes());
            assert!(set.insert(h));
            assert!(!set.insert(h));
        }
        assert_eq!(set.len, 10_000);
        assert!(set.insert(0));
        assert!(!set.insert(0));
        assert!(set.contains(0) && !set.contains(12345));
        set.reserve(100_000);
        assert!(!set.insert(xxhash_rust::xxh3::xxh3_64(&5u64.to_le_bytes())));
        set.touch_all([1, 2, 3].into_iter());
    }
}
