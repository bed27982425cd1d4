//! Hinted handoff: cells kept for a replica that missed them, redelivered until acknowledged.
//!
//! Hints live in the node's own [`Storage`] under reserved keys, so they survive a restart as
//! far as the storage synced them:
//! - `"\u{1}hint/<target>/<key>"` holds the newest cell meant for `target` (the storage's
//!   last-write-wins merge keeps only the newest, which is all a replica needs);
//! - `"\u{1}done/<target>/<key>"` holds a cell with the version last delivered or expired
//!   (value `nil`);
//! - `"\u{1}hts/<target>/<key>"` holds the hint's store time: a `nil` cell whose version
//!   timestamp is the simulated time (in microseconds) the hint was last stored, so the merge
//!   keeps the latest. It is written before the hint; a hint recovered without one (the write
//!   failed) counts as stored at recovery, which keeps it a window longer rather than less.
//!
//! The storage has no delete, so delivery is recorded rather than erased: a hint is pending
//! while its version is above the delivered one. Both keys only grow in version, so the merge
//! never loses a record. Client keys may not start with [`RESERVED_PREFIX`].
//!
//! In memory, [`HintStore`] keeps the pending hints with their next delivery time; every
//! `hint_retry` each is sent again until a `HintAck` arrives (bounded per tick and in total).
//!
//! Hint window (Cassandra's `max_hint_window`, default 3 h): [`HintStore::expire`] drops the
//! hints stored longer ago than the window and records them as done, so that a restart does
//! not bring them back; recovery drops them too. (Cassandra itself stops hinting a node down
//! longer than the window, `StorageProxy.shouldHint`, and lets older hints lapse by their TTL;
//! the node enforces the first rule where it stores hints, see `Node`.) A replica that missed
//! writes for longer than the window needs anti-entropy repair to catch up.

use std::collections::BTreeMap;
use std::time::Duration;

use base::{Cell, Version};
use history::Value;

use crate::message::PeerMessage;
use crate::storage::{Storage, StorageError};

/// Keys starting with this belong to the node, not to clients.
pub const RESERVED_PREFIX: &str = "\u{1}";
const HINT_PREFIX: &str = "\u{1}hint/";
const DONE_PREFIX: &str = "\u{1}done/";
const TIME_PREFIX: &str = "\u{1}hts/";

/// Most hint deliveries sent per tick.
pub const MAX_DELIVERIES_PER_TICK: usize = 256;

/// Whether `key` is one of the node's reserved keys.
pub fn is_reserved(key: &str) -> bool {
    key.starts_with(RESERVED_PREFIX)
}

fn hint_key(target: u32, key: &str) -> String {
    format!("{HINT_PREFIX}{target}/{key}")
}

fn done_key(target: u32, key: &str) -> String {
    format!("{DONE_PREFIX}{target}/{key}")
}

fn time_key(target: u32, key: &str) -> String {
    format!("{TIME_PREFIX}{target}/{key}")
}

/// `at` as a cell version timestamp (microseconds), the store-time record's encoding.
fn micros(at: Duration) -> u64 {
    u64::try_from(at.as_micros()).unwrap_or(u64::MAX)
}

/// Splits `"<target>/<key>"`.
fn parse_target(rest: &str) -> Option<(u32, &str)> {
    let (target, key) = rest.split_once('/')?;
    Some((target.parse().ok()?, key))
}

/// A hint waiting for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pending {
    cell: Cell,
    /// When the hint was last stored (simulated time).
    stored_at: Duration,
    next_attempt: Duration,
    in_flight: Option<u64>,
}

/// What became of a hint handed to [`HintStore::store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Kept; `durable` when the storage accepted it too.
    Kept {
        /// Whether it was persisted.
        durable: bool,
    },
    /// Dropped: the store is full.
    Dropped,
}

/// The pending hints of one node.
#[derive(Debug, Clone, Default)]
pub struct HintStore {
    pending: BTreeMap<(u32, String), Pending>,
    /// Delivery id -> the hint and version it carried.
    deliveries: BTreeMap<u64, (u32, String, Version)>,
    max: usize,
    /// Hints dropped for being older than the window, in total.
    expired: u64,
}

impl HintStore {
    /// An empty store holding at most `max` hints.
    pub fn new(max: usize) -> Self {
        Self { max, ..Self::default() }
    }

    /// Rebuilds the pending hints from a storage scan; every one is due at `now`, except those
    /// stored longer than `window` ago, which are dropped and counted ([`HintStore::expired`]).
    pub fn recover(entries: &[(String, Cell)], max: usize, now: Duration, window: Duration) -> Self {
        let mut hints: BTreeMap<(u32, String), Cell> = BTreeMap::new();
        let mut done: BTreeMap<(u32, String), Version> = BTreeMap::new();
        let mut times: BTreeMap<(u32, String), Duration> = BTreeMap::new();
        for (stored, cell) in entries {
            if let Some((target, key)) = stored.strip_prefix(HINT_PREFIX).and_then(parse_target) {
                hints.insert((target, key.to_owned()), cell.clone());
            } else if let Some((target, key)) = stored.strip_prefix(DONE_PREFIX).and_then(parse_target) {
                done.insert((target, key.to_owned()), cell.version);
            } else if let Some((target, key)) = stored.strip_prefix(TIME_PREFIX).and_then(parse_target) {
                times.insert((target, key.to_owned()), Duration::from_micros(cell.version.timestamp));
            }
        }
        let mut store = Self::new(max);
        for (id, cell) in hints {
            if done.get(&id).is_some_and(|&delivered| delivered >= cell.version) || store.pending.len() >= max {
                continue;
            }
            let stored_at = times.get(&id).copied().unwrap_or(now).min(now);
            if now.saturating_sub(stored_at) > window {
                store.expired += 1;
                continue;
            }
            store.pending.insert(id, Pending { cell, stored_at, next_attempt: now, in_flight: None });
        }
        store
    }

    /// Hints dropped for being older than the window (at recovery or by [`HintStore::expire`]).
    pub fn expired(&self) -> u64 {
        self.expired
    }

    /// Drops the pending hints stored more than `window` before `now`, recording them as done
    /// so that recovery does not bring them back. Returns how many were dropped and how many
    /// of those records the storage failed to take (such a hint is dropped again at recovery).
    pub fn expire(&mut self, storage: &mut dyn Storage, now: Duration, window: Duration) -> (u64, u64) {
        let old: Vec<(u32, String)> = self
            .pending
            .iter()
            .filter(|(_, p)| now.saturating_sub(p.stored_at) > window)
            .map(|(id, _)| id.clone())
            .collect();
        let mut errors = 0;
        for id in &old {
            let Some(pending) = self.pending.remove(id) else { continue };
            if let Some(hid) = pending.in_flight {
                self.deliveries.remove(&hid);
            }
            if storage.put(&done_key(id.0, &id.1), Cell::new(Value::Nil, pending.cell.version)).is_err() {
                errors += 1;
            }
        }
        self.expired += old.len() as u64;
        (old.len() as u64, errors)
    }

    /// The oldest store time among the pending hints (when the next one may expire).
    pub fn oldest(&self) -> Option<Duration> {
        self.pending.values().map(|p| p.stored_at).min()
    }

    /// Pending hints.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether no hint is pending.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// Pending hints per target node.
    pub fn per_target(&self) -> BTreeMap<u32, usize> {
        let mut counts = BTreeMap::new();
        for (target, _) in self.pending.keys() {
            *counts.entry(*target).or_insert(0) += 1;
        }
        counts
    }

    /// Keeps `cell` for `target`, stored at `now` (its window starts again), persisted first;
    /// the first delivery is due at `due`.
    pub fn store(
        &mut self,
        storage: &mut dyn Storage,
        target: u32,
        key: &str,
        cell: Cell,
        now: Duration,
        due: Duration,
    ) -> Stored {
        let id = (target, key.to_owned());
        if !self.pending.contains_key(&id) && self.pending.len() >= self.max {
            return Stored::Dropped;
        }
        let timed = storage.put(&time_key(target, key), Cell::new(Value::Nil, Version::new(micros(now), 0))).is_ok();
        let durable = timed && storage.put(&hint_key(target, key), cell.clone()).is_ok();
        match self.pending.get_mut(&id) {
            Some(pending) => {
                pending.stored_at = pending.stored_at.max(now);
                if cell.supersedes(&pending.cell) {
                    pending.cell = cell;
                }
            }
            None => {
                self.pending.insert(id, Pending { cell, stored_at: now, next_attempt: due, in_flight: None });
            }
        }
        Stored::Kept { durable }
    }

    /// The deliveries due at `now` (at most `limit`), as `(target, message)`; each is due again
    /// `retry` later unless acknowledged. `next_id` numbers the deliveries.
    pub fn due(
        &mut self,
        now: Duration,
        retry: Duration,
        limit: usize,
        next_id: &mut dyn FnMut() -> u64,
    ) -> Vec<(u32, PeerMessage)> {
        let mut out = Vec::new();
        for ((target, key), pending) in &mut self.pending {
            if out.len() >= limit {
                break;
            }
            if pending.next_attempt > now {
                continue;
            }
            if let Some(old) = pending.in_flight.take() {
                self.deliveries.remove(&old);
            }
            let hid = next_id();
            pending.in_flight = Some(hid);
            pending.next_attempt = now.saturating_add(retry);
            self.deliveries.insert(hid, (*target, key.clone(), pending.cell.version));
            out.push((*target, PeerMessage::Hint { hid, key: key.clone(), cell: pending.cell.clone() }));
        }
        out
    }

    /// The target acknowledged delivery `hid`. Records the delivery and forgets the hint
    /// unless a newer one for the same key arrived meanwhile. Returns whether `hid` was known
    /// and from `from`.
    pub fn acked(&mut self, storage: &mut dyn Storage, from: u32, hid: u64, ok: bool) -> Result<bool, StorageError> {
        match self.deliveries.get(&hid) {
            Some((target, _, _)) if *target == from => {}
            _ => return Ok(false),
        }
        let Some((target, key, version)) = self.deliveries.remove(&hid) else { return Ok(false) };
        let id = (target, key);
        if !ok {
            if let Some(pending) = self.pending.get_mut(&id) {
                pending.in_flight = None;
            }
            return Ok(true);
        }
        storage.put(&done_key(target, &id.1), Cell::new(Value::Nil, version))?;
        match self.pending.get_mut(&id) {
            Some(pending) if pending.cell.version <= version => {
                self.pending.remove(&id);
            }
            // A newer hint arrived while this one was in flight: it goes out next time.
            Some(pending) => pending.in_flight = None,
            None => {}
        }
        Ok(true)
    }

    /// When the next delivery is due.
    pub fn next_due(&self) -> Option<Duration> {
        self.pending.values().map(|p| p.next_attempt).min()
    }

    /// Makes every hint for `target` due at `now` (the target just showed it is alive).
    pub fn hurry(&mut self, target: u32, now: Duration) {
        for ((t, _), pending) in self.pending.range_mut((target, String::new())..) {
            if *t != target {
                break;
            }
            if pending.in_flight.is_none() {
                pending.next_attempt = pending.next_attempt.min(now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemStorage;

    const HOUR: Duration = Duration::from_secs(3600);

    fn cell(v: i64, ts: u64) -> Cell {
        Cell::new(Value::Int(v), Version::new(ts, 0))
    }

    #[test]
    fn hints_older_than_the_window_are_dropped_and_counted_for_good() {
        let mut storage = MemStorage::new();
        let mut store = HintStore::new(10);
        let minute = Duration::from_secs(60);
        store.store(&mut storage, 1, "old", cell(1, 1), Duration::ZERO, Duration::ZERO);
        store.store(&mut storage, 1, "young", cell(2, 2), 30 * minute, 30 * minute);
        assert_eq!(store.oldest(), Some(Duration::ZERO));
        assert_eq!(store.expire(&mut storage, HOUR, HOUR), (0, 0), "exactly the window old is kept");
        assert_eq!(store.expire(&mut storage, HOUR + minute, HOUR), (1, 0));
        assert_eq!((store.len(), store.expired()), (1, 1));
        // Still within the window after a restart: "young" only; "old" is recorded as done.
        let recovered = HintStore::recover(&storage.scan().expect("scan"), 10, HOUR + minute, HOUR);
        assert_eq!((recovered.len(), recovered.expired()), (1, 0));
        // Storing again restarts a hint's window.
        store.store(&mut storage, 1, "young", cell(3, 3), 80 * minute, 80 * minute);
        assert_eq!(store.expire(&mut storage, 120 * minute, HOUR), (0, 0));
        // Recovery applies the window to the persisted store times.
        let recovered = HintStore::recover(&storage.scan().expect("scan"), 10, 141 * minute, HOUR);
        assert_eq!((recovered.len(), recovered.expired()), (0, 1));
        // Without a store-time record (its write failed), a hint counts as stored at recovery.
        let mut bare = MemStorage::new();
        bare.put(&hint_key(2, "k"), cell(1, 1)).expect("put");
        assert_eq!(HintStore::recover(&bare.scan().expect("scan"), 10, 100 * HOUR, HOUR).len(), 1);
    }

    #[test]
    fn an_expired_hint_in_flight_is_forgotten() {
        let mut storage = MemStorage::new();
        let mut store = HintStore::new(10);
        store.store(&mut storage, 1, "k", cell(1, 1), Duration::ZERO, Duration::ZERO);
        let mut ids = 1..;
        let sent = store.due(Duration::ZERO, HOUR, 10, &mut || ids.next().unwrap_or(0));
        let PeerMessage::Hint { hid, .. } = sent[0].1 else { panic!("a hint") };
        assert_eq!(store.expire(&mut storage, 2 * HOUR, HOUR), (1, 0));
        assert_eq!(store.acked(&mut storage, 1, hid, true), Ok(false), "a late ack finds nothing");
        assert!(store.is_empty() && store.next_due().is_none());
    }

    #[test]
    fn hints_are_delivered_until_acked_and_survive_recovery() {
        let mut storage = MemStorage::new();
        let mut store = HintStore::new(10);
        let t0 = Duration::ZERO;
        let retry = Duration::from_millis(100);
        assert_eq!(store.store(&mut storage, 2, "a/b", cell(1, 1), t0, t0), Stored::Kept { durable: true });
        assert_eq!(store.store(&mut storage, 3, "k", cell(2, 2), t0, t0), Stored::Kept { durable: true });
        let mut ids = 0..;
        let mut next = || ids.next().unwrap_or(0);
        let sent = store.due(t0, retry, 10, &mut next);
        assert_eq!(sent.len(), 2);
        assert!(store.due(t0, retry, 10, &mut next).is_empty(), "not due again before retry");
        let again = store.due(retry, retry, 10, &mut next);
        assert_eq!(again.len(), 2, "unacknowledged hints are resent");
        let PeerMessage::Hint { hid, ref key, .. } = again[0].1 else { panic!("a hint") };
        assert_eq!((again[0].0, key.as_str()), (2, "a/b"));
        assert_eq!(store.acked(&mut storage, 3, hid, true), Ok(false), "only the target can ack");
        assert_eq!(store.acked(&mut storage, 2, hid, true), Ok(true));
        assert_eq!(store.len(), 1);

        let recovered = HintStore::recover(&storage.scan().expect("scan"), 10, t0, HOUR);
        assert_eq!(recovered.per_target(), BTreeMap::from([(3, 1)]));
        // A newer hint for a delivered key is pending again.
        let mut store = recovered;
        store.store(&mut storage, 2, "a/b", cell(5, 9), t0, t0);
        let recovered = HintStore::recover(&storage.scan().expect("scan"), 10, t0, HOUR);
        assert_eq!(recovered.per_target(), BTreeMap::from([(2, 1), (3, 1)]));
    }

    #[test]
    fn a_full_store_drops_new_hints() {
        let mut storage = MemStorage::new();
        let mut store = HintStore::new(1);
        assert!(matches!(
            store.store(&mut storage, 1, "a", cell(1, 1), Duration::ZERO, Duration::ZERO),
            Stored::Kept { .. }
        ));
        assert_eq!(store.store(&mut storage, 1, "b", cell(1, 1), Duration::ZERO, Duration::ZERO), Stored::Dropped);
        assert!(matches!(
            store.store(&mut storage, 1, "a", cell(2, 2), Duration::ZERO, Duration::ZERO),
            Stored::Kept { .. }
        ));
        storage.failing = true;
        assert_eq!(
            store.store(&mut storage, 1, "a", cell(3, 3), Duration::ZERO, Duration::ZERO),
            Stored::Kept { durable: false }
        );
    }

    #[test]
    fn reserved_keys_parse() {
        assert!(is_reserved(&hint_key(1, "x")));
        assert!(!is_reserved("x"));
        assert_eq!(parse_target("12/a/b"), Some((12, "a/b")));
        assert_eq!(parse_target("x/a"), None);
    }
}
