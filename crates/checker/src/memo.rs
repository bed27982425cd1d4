//! The memo of configurations already explored: (set of linearized operations, model state).
//!
//! Reaching a configuration twice cannot lead anywhere new (Lowe's observation), so the search
//! prunes it. Keys are a bitset plus an interned state id, stored in one flat arena; the table
//! is open addressing over arena offsets tagged with hash fingerprints, and the caller supplies the key's hash (an
//! incremental Zobrist hash of the bitset), so inserting costs no allocation and no rehash of
//! the bitset.
//!
//! Memory is bounded: when the table would pass its byte limit it is emptied. Forgetting
//! configurations never makes the search wrong, only slower. A limit too small for even one
//! entry (a tiny `--memory-mib`, or a limit shared by very many partitions) remembers
//! nothing at all rather than emptying and retrying forever.

/// A set of (bitset, state) keys with a byte limit. A key's bitset may have any number of
/// words (the search passes a window of the linearized set: see `search`).
///
/// Layout, chosen so that inserting a new key touches one random cache line: each slot holds
/// the upper half of the key's hash (a fingerprint) and where its entry begins in the arena;
/// an entry is `[state | words << 32, hash, word...]`. A probe compares fingerprints in the
/// slot array and reads the arena only when they agree.
pub struct Memo {
    /// Every entry's words, one after another.
    arena: Vec<u64>,
    /// Open-addressing slots: 0 is empty, otherwise `fingerprint << 32 | (arena offset + 1)`.
    slots: Vec<u64>,
    entries: usize,
    limit_bytes: usize,
    /// How many times the table was emptied to stay under its limit.
    pub resets: u64,
    /// Insertions not remembered because the limit cannot hold a single entry.
    pub skipped: u64,
}

const INITIAL_SLOTS: usize = 1 << 10;
/// Words an entry holds besides its bitset: the state (with the bitset's length) and the hash.
const HEADER_WORDS: usize = 2;

#[inline]
fn fingerprint(hash: u64) -> u64 {
    hash >> 32
}

impl Memo {
    /// An empty memo using at most about `limit_bytes`.
    pub fn new(limit_bytes: usize) -> Self {
        Self { arena: Vec::new(), slots: vec![0; INITIAL_SLOTS], entries: 0, limit_bytes, resets: 0, skipped: 0 }
    }

    /// Changes the byte limit; it applies from the next insertion.
    pub fn set_limit(&mut self, bytes: usize) {
        self.limit_bytes = bytes;
    }

    /// Number of configurations remembered.
    pub fn len(&self) -> usize {
        self.entries
    }

    /// True when nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// Bytes held by the table.
    pub fn bytes(&self) -> usize {
        self.arena.capacity() * 8 + self.slots.capacity() * 8
    }

    /// True when the entry at arena offset `at` is (bits, state).
    #[inline]
    fn holds(&self, at: usize, bits: &[u64], state: u32) -> bool {
        let header = self.arena[at];
        header == (u64::from(state) | (bits.len() as u64) << 32)
            && self.arena[at + HEADER_WORDS..at + HEADER_WORDS + bits.len()] == *bits
    }

    /// Inserts (bits, state) with hash `hash`; true when it was not there before.
    pub fn insert(&mut self, bits: &[u64], state: u32, hash: u64) -> bool {
        let mask = self.slots.len() - 1;
        let tag = fingerprint(hash);
        let mut slot = (hash as usize) & mask;
        loop {
            let occupant = self.slots[slot];
            if occupant == 0 {
                break;
            }
            if occupant >> 32 == tag && self.holds((occupant & u64::from(u32::MAX)) as usize - 1, bits, state) {
                return false;
            }
            slot = (slot + 1) & mask;
        }
        let words = bits.len() + HEADER_WORDS;
        let too_long = bits.len() >= u32::MAX as usize || self.arena.len() + words >= u32::MAX as usize;
        if too_long || self.bytes_after_insert(words) > self.limit_bytes {
            if self.is_empty() {
                // Not even one entry fits: remember nothing. The configuration counts as new
                // (the search explores it again, exact but slower) and the memory stays put.
                self.skipped += 1;
                return true;
            }
            self.clear();
            return self.insert(bits, state, hash);
        }
        let at = self.arena.len();
        self.arena.push(u64::from(state) | (bits.len() as u64) << 32);
        self.arena.push(hash);
        self.arena.extend_from_slice(bits);
        self.slots[slot] = tag << 32 | (at as u64 + 1);
        self.entries += 1;
        if self.entries * 2 > self.slots.len() {
            self.grow();
        }
        true
    }

    /// What the table would hold after one more entry of `words` words (and the growth it may
    /// trigger).
    fn bytes_after_insert(&self, words: usize) -> usize {
        let entries = self.entries + 1;
        let slots = if entries * 2 > self.slots.len() { self.slots.len() * 2 } else { self.slots.len() };
        // Vec growth doubles: count the capacity the pushes would reserve.
        let needed = self.arena.len() + words;
        let arena = if needed > self.arena.capacity() {
            (self.arena.capacity() * 2).max(needed).max(4)
        } else {
            self.arena.capacity()
        };
        arena * 8 + slots * 8
    }

    fn grow(&mut self) {
        let size = self.slots.len() * 2;
        let mask = size - 1;
        let mut slots = vec![0u64; size];
        let mut at = 0;
        while at < self.arena.len() {
            let hash = self.arena[at + 1];
            let mut slot = (hash as usize) & mask;
            while slots[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            slots[slot] = fingerprint(hash) << 32 | (at as u64 + 1);
            at += HEADER_WORDS + (self.arena[at] >> 32) as usize;
        }
        self.slots = slots;
    }

    /// Forgets every configuration.
    pub fn clear(&mut self) {
        self.resets += 1;
        self.arena = Vec::new();
        self.slots = vec![0; INITIAL_SLOTS];
        self.entries = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_keys_and_tells_states_apart() {
        let mut memo = Memo::new(1 << 20);
        for i in 0..5000u64 {
            assert!(memo.insert(&[i, !i], 1, i.wrapping_mul(77)));
        }
        for i in 0..5000u64 {
            assert!(!memo.insert(&[i, !i], 1, i.wrapping_mul(77)), "{i} is remembered");
            assert!(memo.insert(&[i, !i], 2, i.wrapping_mul(77)), "another state is a new key");
        }
        assert_eq!(memo.len(), 10_000);
        assert_eq!(memo.resets, 0);
    }

    #[test]
    fn a_limit_too_small_for_one_entry_remembers_nothing_and_returns() {
        for limit in [0, 1, 4096] {
            let mut memo = Memo::new(limit);
            for i in 0..100u64 {
                assert!(memo.insert(&[i, 0, 0, 0], 1, i), "limit {limit}: every key is new");
                assert!(memo.insert(&[i, 0, 0, 0], 1, i), "limit {limit}: nothing is remembered");
            }
            assert!(memo.is_empty());
            assert_eq!(memo.skipped, 200, "limit {limit}");
        }
    }

    #[test]
    fn colliding_hashes_stay_distinct() {
        let mut memo = Memo::new(1 << 20);
        assert!(memo.insert(&[1], 0, 42));
        assert!(memo.insert(&[2], 0, 42));
        assert!(!memo.insert(&[1], 0, 42));
        assert!(!memo.insert(&[2], 0, 42));
        // Keys of different lengths are different keys, even when one is a prefix.
        assert!(memo.insert(&[1, 0], 0, 42));
        assert!(memo.insert(&[], 0, 42));
        assert!(!memo.insert(&[1, 0], 0, 42));
    }

    #[test]
    fn stays_under_its_byte_limit() {
        let limit = 64 * 1024;
        let mut memo = Memo::new(limit);
        for i in 0..100_000u64 {
            memo.insert(&[i, 0, 0, 0], 0, crate::hashing::mix(i));
            assert!(memo.bytes() <= limit, "{} bytes after {i} inserts", memo.bytes());
        }
        assert!(memo.resets > 0);
    }
}
