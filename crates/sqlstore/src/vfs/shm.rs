//! [`SharedMemory`]: the wal-index of one host's databases, as the operating system's shared
//! memory (the mapped `-shm` file) gives it to SQLite's `unix` VFS: one copy of every region,
//! mapped by every connection of the host's store, and the eight lock slots that WAL mode
//! arbitrates its readers, writer, checkpointer and recovery with.
//!
//! The protocol is `unixShmMap`/`unixShmLock` in os_unix.c, and the WAL file format's
//! "wal-index" (sqlite.org/walformat.html, section 2):
//! - regions are 32 KiB; mapping region *n* with `extend` allocates every region up to *n*,
//!   zeroed; mapping one that does not exist without `extend` gives nothing;
//! - a slot is held SHARED by any number of connections, or EXCLUSIVE by one: SHARED is granted
//!   unless another connection holds the slot EXCLUSIVE, EXCLUSIVE (on a range of slots) unless
//!   another holds any of them at all. A refusal is `SQLITE_BUSY` at once, never a wait;
//! - unmapping releases the connection's slots; with `delete` (SQLite closing the last
//!   connection after a checkpoint), and nobody else mapping it, the memory goes.
//!
//! The memory is the host's, not the disk's: it is zeroed for a new incarnation of the host's
//! store (a crash or a restart), and SQLite then rebuilds it from the WAL file (its header's
//! checksum fails, so the first reader runs recovery under the RECOVER and WRITE slots), as it
//! does after a reboot.
//!
//! Holding across the commit's disk time ([`super::LockTable::hold`]) covers the slots too: a
//! committing connection's WRITE slot stays EXCLUSIVE for the others until its syncs have taken
//! their simulated time, so a second writer cannot commit in the middle of the first's fsync.
//!
//! Everything SQLite does on the memory happens on the simulation's one thread, between two
//! of its calls no other connection runs: the memory needs no atomics, only the locks SQLite
//! asks for. The raw pointers handed out stay valid as long as this table lives (regions are
//! never moved or freed before it is dropped, except by a `delete` unmap of the last user).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::Mutex;

use super::lock;
use super::locks::ConnId;

/// The size of a wal-index region (SQLite's `WALINDEX_PGSZ`).
pub const REGION_BYTES: usize = 32 * 1024;

/// The number of lock slots (`SQLITE_SHM_NLOCK`): WRITE, CHECKPOINT, RECOVER and five READ
/// slots.
pub const SLOTS: usize = 8;

/// A lock request on a range of slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotLock {
    /// Take the slots SHARED.
    Shared,
    /// Take the slots EXCLUSIVE.
    Exclusive,
    /// Release them.
    Unlock,
}

/// One region: a zeroed heap block whose address never changes.
#[derive(Debug)]
struct Region(NonNull<[u8]>);

impl Region {
    fn zeroed() -> Region {
        let block: Box<[u8]> = vec![0u8; REGION_BYTES].into_boxed_slice();
        Region(NonNull::from(Box::leak(block)))
    }

    fn as_ptr(&self) -> *mut u8 {
        self.0.as_ptr().cast::<u8>()
    }
}

impl Drop for Region {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // SAFETY: the pointer came from `Box::leak` in `Region::zeroed` and is freed only here,
        // once; no reference into the block exists on the Rust side (SQLite's copies of the
        // pointer are gone by contract: see the module docs).
        drop(unsafe { Box::from_raw(self.0.as_ptr()) });
    }
}

// SAFETY: `Region` owns its block exclusively; the block is plain bytes reached only through
// raw pointers on the simulation's thread, so sending the owner sends ownership and no data.
#[allow(unsafe_code)]
unsafe impl Send for Region {}

/// One connection's hold on one slot: 0 none, 1 shared, 2 exclusive; `kept`: the level it
/// held when [`SharedMemory::hold`] began, which the others still see.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct SlotHeld {
    level: u8,
    kept: Option<u8>,
}

impl SlotHeld {
    fn seen(&self) -> u8 {
        self.level.max(self.kept.unwrap_or(0))
    }
}

/// The wal-index of one database: its regions, who maps it, and its slots.
#[derive(Debug, Default)]
struct Node {
    regions: Vec<Region>,
    mapped: BTreeSet<ConnId>,
    slots: [BTreeMap<ConnId, SlotHeld>; SLOTS],
}

/// The wal-index shared memory of one host's databases (see the module docs).
#[derive(Debug, Default)]
pub struct SharedMemory {
    nodes: Mutex<BTreeMap<PathBuf, Node>>,
}

impl SharedMemory {
    /// Maps region `region` of `db`'s wal-index for `conn`: its address, or `None` when it
    /// does not exist and `extend` is false.
    pub fn map(&self, db: &Path, conn: ConnId, region: usize, extend: bool) -> Option<NonNull<u8>> {
        let mut nodes = lock(&self.nodes);
        let node = nodes.entry(db.to_path_buf()).or_default();
        node.mapped.insert(conn);
        if region >= node.regions.len() {
            if !extend {
                return None;
            }
            node.regions.resize_with(region + 1, Region::zeroed);
        }
        node.regions.get(region).and_then(|r| NonNull::new(r.as_ptr()))
    }

    /// Applies `request` to slots `first..first + count` of `db`'s wal-index for `conn`:
    /// `true` when granted, `false` for BUSY (see the module docs). A range past the eighth
    /// slot is refused.
    pub fn lock(&self, db: &Path, conn: ConnId, first: usize, count: usize, request: SlotLock) -> bool {
        let end = first.saturating_add(count);
        if end > SLOTS || count == 0 {
            return false;
        }
        let mut nodes = lock(&self.nodes);
        let node = nodes.entry(db.to_path_buf()).or_default();
        let slots = &mut node.slots[first..end];
        let others_max = |slot: &BTreeMap<ConnId, SlotHeld>| {
            slot.iter().filter(|(id, _)| **id != conn).map(|(_, held)| held.seen()).max().unwrap_or(0)
        };
        let (wanted, granted) = match request {
            SlotLock::Unlock => (0, true),
            SlotLock::Shared => (1, slots.iter().all(|slot| others_max(slot) < 2)),
            SlotLock::Exclusive => (2, slots.iter().all(|slot| others_max(slot) == 0)),
        };
        if granted {
            for slot in slots {
                // `kept` stays what the hold began with (see `SharedMemory::hold`).
                let kept = slot.get(&conn).and_then(|mine| mine.kept);
                slot.insert(conn, SlotHeld { level: wanted, kept });
            }
        }
        granted
    }

    /// Ends `conn`'s mapping of `db`'s wal-index and releases its slots; with `delete`, and
    /// no other connection mapping it, frees the memory.
    pub fn unmap(&self, db: &Path, conn: ConnId, delete: bool) {
        let mut nodes = lock(&self.nodes);
        let Some(node) = nodes.get_mut(db) else { return };
        node.mapped.remove(&conn);
        for slot in &mut node.slots {
            slot.remove(&conn);
        }
        if delete && node.mapped.is_empty() {
            nodes.remove(db);
        }
    }

    /// The level (0 none, 1 shared, 2 exclusive) `conn` holds on slot `slot` of `db`.
    pub fn level(&self, db: &Path, conn: ConnId, slot: usize) -> u8 {
        let nodes = lock(&self.nodes);
        nodes.get(db).and_then(|node| node.slots.get(slot)).and_then(|s| s.get(&conn)).map_or(0, |held| held.level)
    }

    /// From now on, until [`SharedMemory::release_held`], the others see `conn` holding at
    /// least what it holds now, whatever it releases: the slots of the transaction about to
    /// commit (its WRITE slot, its READ slot), which SQLite holds through the commit's sync.
    /// Unlike the database file's locks ([`super::LockTable::hold`]), slots taken after this
    /// call are not kept once released: those are the commit's brief exclusive locks (a WAL
    /// restart's READ slots, a checkpoint's), which SQLite takes and drops around the sync,
    /// not across it; keeping them would lock every reader out of every READ slot until the
    /// commit's disk time had passed, where SQLite never does.
    pub fn hold(&self, conn: ConnId) {
        let mut nodes = lock(&self.nodes);
        for node in nodes.values_mut() {
            for slot in &mut node.slots {
                let held = slot.entry(conn).or_default();
                held.kept = Some(held.level);
            }
        }
    }

    /// Ends [`SharedMemory::hold`].
    pub fn release_held(&self, conn: ConnId) {
        let mut nodes = lock(&self.nodes);
        for node in nodes.values_mut() {
            for slot in &mut node.slots {
                if let Some(held) = slot.get_mut(&conn) {
                    held.kept = None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRITE: usize = 0;
    const READ0: usize = 3;

    fn db() -> PathBuf {
        PathBuf::from("/data/store.db")
    }

    #[test]
    fn every_connection_maps_the_same_zeroed_memory() {
        let shm = SharedMemory::default();
        assert_eq!(shm.map(&db(), 1, 0, false), None, "no region without extend");
        let first = shm.map(&db(), 1, 0, true).expect("extended");
        let second = shm.map(&db(), 2, 0, false).expect("exists now");
        assert_eq!(first, second, "one copy, shared");
        let third = shm.map(&db(), 2, 2, true).expect("extended to region 2");
        assert_eq!(shm.map(&db(), 1, 0, false), Some(first), "extending moves nothing");
        assert_ne!(third, first);
        assert!(shm.map(&db(), 1, 1, false).is_some(), "regions up to the one asked for exist");
        let other = shm.map(Path::new("/data/other.db"), 1, 0, true).expect("another database");
        assert_ne!(other, first);
    }

    #[test]
    fn shared_slots_are_shared_and_exclusive_ones_are_not() {
        let shm = SharedMemory::default();
        assert!(shm.lock(&db(), 1, READ0, 1, SlotLock::Shared));
        assert!(shm.lock(&db(), 2, READ0, 1, SlotLock::Shared));
        assert!(!shm.lock(&db(), 3, READ0, 1, SlotLock::Exclusive), "readers hold it");
        assert!(shm.lock(&db(), 3, WRITE, 1, SlotLock::Exclusive), "the writer slot is free");
        assert!(!shm.lock(&db(), 1, WRITE, 1, SlotLock::Exclusive), "one writer");
        assert!(!shm.lock(&db(), 1, WRITE, 1, SlotLock::Shared), "EXCLUSIVE keeps SHARED out");
        assert!(!shm.lock(&db(), 3, 0, SLOTS, SlotLock::Exclusive), "a range fails if any slot is taken");
        assert_eq!(shm.level(&db(), 3, READ0), 0, "a refused range takes nothing");
        assert!(shm.lock(&db(), 3, WRITE, 1, SlotLock::Unlock));
        assert!(shm.lock(&db(), 1, WRITE, 1, SlotLock::Exclusive));
        assert!(!shm.lock(&db(), 1, 0, SLOTS + 1, SlotLock::Shared), "past the last slot");
    }

    #[test]
    fn unmapping_releases_the_slots_and_delete_frees_only_when_nobody_maps() {
        let shm = SharedMemory::default();
        let region = shm.map(&db(), 1, 0, true).expect("mapped");
        assert!(shm.lock(&db(), 1, WRITE, 1, SlotLock::Exclusive));
        shm.map(&db(), 2, 0, false).expect("mapped by 2");
        shm.unmap(&db(), 1, true);
        assert!(shm.lock(&db(), 2, WRITE, 1, SlotLock::Exclusive), "1's slot went with its mapping");
        assert_eq!(shm.map(&db(), 2, 0, false), Some(region), "2 still maps it");
        shm.unmap(&db(), 2, true);
        // The memory went with the last user: mapping again starts from nothing.
        assert_eq!(shm.map(&db(), 3, 0, false), None);
    }

    #[test]
    fn a_hold_keeps_the_writer_slot_visible_until_released() {
        let shm = SharedMemory::default();
        assert!(shm.lock(&db(), 1, WRITE, 1, SlotLock::Exclusive));
        shm.hold(1);
        assert!(shm.lock(&db(), 1, WRITE, 1, SlotLock::Unlock));
        assert_eq!(shm.level(&db(), 1, WRITE), 0, "the connection itself released");
        assert!(!shm.lock(&db(), 2, WRITE, 1, SlotLock::Exclusive), "the others still see it");
        assert!(shm.lock(&db(), 1, WRITE, 1, SlotLock::Exclusive), "its owner may take it again");
        assert!(shm.lock(&db(), 1, WRITE, 1, SlotLock::Unlock));
        shm.release_held(1);
        assert!(shm.lock(&db(), 2, WRITE, 1, SlotLock::Exclusive));
    }

    #[test]
    fn a_hold_does_not_keep_slots_taken_after_it_began() {
        let shm = SharedMemory::default();
        assert!(shm.lock(&db(), 1, READ0, 1, SlotLock::Shared));
        shm.hold(1);
        // A WAL restart during the commit: the other READ slots, exclusively, for a moment.
        assert!(shm.lock(&db(), 1, READ0 + 1, 4, SlotLock::Exclusive));
        assert!(shm.lock(&db(), 1, READ0 + 1, 4, SlotLock::Unlock));
        assert!(shm.lock(&db(), 2, READ0 + 1, 1, SlotLock::Shared), "released for good");
        assert!(shm.lock(&db(), 1, READ0, 1, SlotLock::Unlock));
        assert!(!shm.lock(&db(), 2, READ0, 1, SlotLock::Exclusive), "the slot held when the hold began is kept");
        assert!(shm.lock(&db(), 2, READ0, 1, SlotLock::Shared), "as SHARED");
        shm.release_held(1);
        assert!(shm.lock(&db(), 2, READ0, 1, SlotLock::Exclusive));
    }
}
