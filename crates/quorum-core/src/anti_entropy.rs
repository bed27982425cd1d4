//! Anti-entropy: periodic digest comparison between replicas, repairing what hints and read
//! repair missed.
//!
//! Digest scheme: for a pair of nodes (A, B), the *shared keys* are the client keys whose
//! preference list holds both. Each shared key falls in one of [`BUCKETS`] buckets by its ring
//! hash; a bucket's digest is the wrapping sum of a hash of `(key, version)` over its keys, so
//! it does not depend on order and both sides compute it from their own storage alone.
//!
//! Exchange (three messages at most, per pair and period):
//! 1. A sends `Digest` (all bucket hashes) to every peer it shares keys with.
//! 2. B compares with its own digest for A; for differing buckets it sends its cells there
//!    (`Cells`, `reply: true`).
//! 3. A merges them (last-write-wins) and sends back its cells in those buckets that B lacks or
//!    holds older (`Cells`, `reply: false`); B merges.
//!
//! Each message carries at most [`MAX_CELLS`] cells; what does not fit is found again next
//! period. Each side scans its storage once per round and once per digest received: fine for
//! the lab's key counts, not for a production data set (Cassandra keeps Merkle trees).
//!
//! [`diverged_keys`] is the test's and the lab's convergence check over nodes' data.

use std::collections::{BTreeMap, BTreeSet};

use base::{Cell, Version};

use crate::hints;
use crate::message::{Effect, PeerMessage};
use crate::node::Node;
use crate::ring::{hash_key, mix, Ring};
use crate::storage::Storage;

/// Digest buckets per node pair.
pub const BUCKETS: usize = 64;
/// Most cells in one `Cells` message.
pub const MAX_CELLS: usize = 512;

/// The bucket of `key`.
pub fn bucket_of(key: &str) -> usize {
    (hash_key(key) % BUCKETS as u64) as usize
}

fn entry_hash(key: &str, version: Version) -> u64 {
    mix(hash_key(key) ^ mix(version.timestamp ^ mix(u64::from(version.node) ^ 0x5bd1_e995)))
}

/// The per-bucket digest of `cells`.
pub fn digest<'a>(cells: impl IntoIterator<Item = (&'a str, &'a Cell)>) -> Vec<u64> {
    let mut buckets = vec![0u64; BUCKETS];
    for (key, cell) in cells {
        let slot = &mut buckets[bucket_of(key)];
        *slot = slot.wrapping_add(entry_hash(key, cell.version));
    }
    buckets
}

/// Buckets whose digests differ.
pub fn differing(mine: &[u64], theirs: &[u64]) -> Vec<u32> {
    (0..BUCKETS).filter(|&b| mine.get(b) != theirs.get(b)).map(|b| b as u32).collect()
}

/// Cells of `mine` that `theirs` lacks or holds an older version of.
pub fn newer_than(mine: &[(String, Cell)], theirs: &[(String, Cell)]) -> Vec<(String, Cell)> {
    let theirs: BTreeMap<&str, &Cell> = theirs.iter().map(|(k, c)| (k.as_str(), c)).collect();
    mine.iter().filter(|(k, c)| theirs.get(k.as_str()).is_none_or(|t| c.supersedes(t))).cloned().collect()
}

/// The keys whose preference-list replicas (of `n`) do not all hold the same cell, given
/// each node's client data. Nodes missing from `data` are skipped (a crashed node).
pub fn diverged_keys(ring: &Ring, n: usize, data: &BTreeMap<u32, BTreeMap<String, Cell>>) -> Vec<String> {
    let keys: BTreeSet<&String> = data.values().flat_map(|cells| cells.keys()).collect();
    keys.into_iter()
        .filter(|key| {
            let mut seen = ring.preference_list(key, n).into_iter().filter_map(|r| data.get(&r)).map(|d| d.get(*key));
            let first = seen.next();
            seen.any(|cell| Some(cell) != first)
        })
        .cloned()
        .collect()
}

impl<S: Storage> Node<S> {
    /// Client cells shared with each peer: peer -> cells, in key order.
    fn shared_cells(&mut self) -> BTreeMap<u32, Vec<(String, Cell)>> {
        let me = self.config.id;
        let mut shared: BTreeMap<u32, Vec<(String, Cell)>> = BTreeMap::new();
        let cells = match self.storage.scan() {
            Ok(cells) => cells,
            Err(_) => {
                self.stats.storage_errors += 1;
                return shared;
            }
        };
        for (key, cell) in cells {
            if hints::is_reserved(&key) {
                continue;
            }
            let replicas = self.ring.preference_list(&key, self.config.replication);
            if !replicas.contains(&me) {
                continue;
            }
            for peer in replicas.into_iter().filter(|&p| p != me) {
                shared.entry(peer).or_default().push((key.clone(), cell.clone()));
            }
        }
        shared
    }

    /// Starts a round: a digest to every live peer that shares key ranges with this node.
    pub(crate) fn anti_entropy_round(&mut self, out: &mut Vec<Effect>) {
        self.stats.ae_rounds += 1;
        let round = self.stats.ae_rounds;
        let mut shared = self.shared_cells();
        for peer in self.ring.peers_sharing(self.config.id, self.config.replication) {
            let cells = shared.remove(&peer).unwrap_or_default();
            let buckets = digest(cells.iter().map(|(k, c)| (k.as_str(), c)));
            out.push(Effect::Send { to: peer, msg: PeerMessage::Digest { round, buckets } });
        }
    }

    /// This node's cells shared with `peer` in `buckets`.
    fn shared_in(&mut self, peer: u32, buckets: &BTreeSet<u32>) -> Vec<(String, Cell)> {
        let mut cells = self.shared_cells().remove(&peer).unwrap_or_default();
        cells.retain(|(k, _)| buckets.contains(&(bucket_of(k) as u32)));
        cells
    }

    pub(crate) fn on_digest(&mut self, from: u32, round: u64, theirs: &[u64], out: &mut Vec<Effect>) {
        if theirs.len() != BUCKETS {
            self.stats.rejected += 1;
            return;
        }
        let cells = self.shared_cells().remove(&from).unwrap_or_default();
        let mine = digest(cells.iter().map(|(k, c)| (k.as_str(), c)));
        let buckets = differing(&mine, theirs);
        if buckets.is_empty() {
            return;
        }
        let wanted: BTreeSet<u32> = buckets.iter().copied().collect();
        let mut cells: Vec<(String, Cell)> =
            cells.into_iter().filter(|(k, _)| wanted.contains(&(bucket_of(k) as u32))).collect();
        cells.truncate(MAX_CELLS);
        self.stats.ae_cells_sent += cells.len() as u64;
        out.push(Effect::Send { to: from, msg: PeerMessage::Cells { round, buckets, cells, reply: true } });
    }

    pub(crate) fn on_cells(
        &mut self,
        from: u32,
        round: u64,
        buckets: &[u32],
        cells: Vec<(String, Cell)>,
        reply: bool,
        out: &mut Vec<Effect>,
    ) {
        if buckets.len() > BUCKETS || buckets.iter().any(|&b| b as usize >= BUCKETS) || cells.len() > MAX_CELLS {
            self.stats.rejected += 1;
            return;
        }
        let me = self.config.id;
        for (key, cell) in &cells {
            let replicas = self.ring.preference_list(key, self.config.replication);
            if hints::is_reserved(key) || !replicas.contains(&me) || !replicas.contains(&from) {
                self.stats.rejected += 1;
                continue;
            }
            if self.storage.put(key, cell.clone()).is_err() {
                self.stats.storage_errors += 1;
            }
        }
        if !reply {
            return;
        }
        let wanted: BTreeSet<u32> = buckets.iter().copied().collect();
        let mine = self.shared_in(from, &wanted);
        let mut missing = newer_than(&mine, &cells);
        missing.truncate(MAX_CELLS);
        if !missing.is_empty() {
            self.stats.ae_cells_sent += missing.len() as u64;
            let buckets = buckets.to_vec();
            out.push(Effect::Send {
                to: from,
                msg: PeerMessage::Cells { round, buckets, cells: missing, reply: false },
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use history::Value;

    fn cell(v: i64, ts: u64) -> Cell {
        Cell::new(Value::Int(v), Version::new(ts, 0))
    }

    #[test]
    fn digests_ignore_order_and_see_versions() {
        let a = [("x".to_owned(), cell(1, 1)), ("y".to_owned(), cell(2, 2))];
        let b = [("y".to_owned(), cell(2, 2)), ("x".to_owned(), cell(1, 1))];
        let da = digest(a.iter().map(|(k, c)| (k.as_str(), c)));
        let db = digest(b.iter().map(|(k, c)| (k.as_str(), c)));
        assert_eq!(da, db);
        let c = [("x".to_owned(), cell(1, 3)), ("y".to_owned(), cell(2, 2))];
        let dc = digest(c.iter().map(|(k, c)| (k.as_str(), c)));
        assert_eq!(differing(&da, &dc), vec![bucket_of("x") as u32]);
        assert_eq!(newer_than(&c, &a), vec![("x".to_owned(), cell(1, 3))]);
        assert_eq!(newer_than(&a, &c), vec![]);
        assert_eq!(newer_than(&a, &[]).len(), 2);
    }

    #[test]
    fn divergence_is_per_preference_list() {
        let ring = Ring::new(&[0, 1, 2], 8);
        let mut data: BTreeMap<u32, BTreeMap<String, Cell>> = BTreeMap::new();
        for node in 0..3 {
            data.entry(node).or_default().insert("k".into(), cell(1, 1));
        }
        assert!(diverged_keys(&ring, 3, &data).is_empty());
        data.entry(1).or_default().insert("k".into(), cell(2, 2));
        assert_eq!(diverged_keys(&ring, 3, &data), vec!["k".to_owned()]);
        data.entry(2).or_default().insert("j".into(), cell(2, 2));
        assert_eq!(diverged_keys(&ring, 3, &data).len(), 2);
    }
}
