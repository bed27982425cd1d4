//! [`LockTable`]: the file locks of one host's database, arbitrated between the connections
//! of that host's store, as the operating system's byte-range locks arbitrate them between
//! processes for SQLite's `unix` VFS.
//!
//! The protocol is SQLite's rollback-journal locking ("File Locking And Concurrency In SQLite
//! Version 3", sqlite.org/lockingv3.html; `unixLock` in os_unix.c), per database file:
//! - SHARED (from none) is granted unless another connection holds PENDING or EXCLUSIVE;
//! - RESERVED (from SHARED) is granted unless another connection holds RESERVED or more;
//! - EXCLUSIVE (from SHARED or more) first takes PENDING (refused if another holds PENDING or
//!   more), then is granted only when no other connection holds SHARED or more; otherwise the
//!   connection keeps PENDING (no new readers get in) and is told BUSY, as `unixLock` does;
//! - unlocking to SHARED or none always succeeds.
//!
//! A refusal is `false` (SQLite's `SQLITE_BUSY`); nothing ever blocks: waiting is the
//! server's business, in simulated time ([`crate::server`]).
//!
//! Holding across the commit's disk time: SQLite releases its locks when `COMMIT` returns,
//! but on the simulated disk the commit's syncs take their time only afterwards, when the
//! server charges them. [`LockTable::hold`] makes a connection's unlocks keep the highest
//! level it held visible to the others until [`LockTable::release_held`], which the server
//! calls once the charged disk time has passed. Only the level seen by *other* connections is
//! kept; the connection itself sees (and SQLite believes) what it asked for.
//!
//! The table belongs to one incarnation of the host's server: a crash drops it with the
//! processes, and the next incarnation starts with no locks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sqlite_vfs::LockKind;

use super::lock;
use super::shm::SharedMemory;

/// A connection of the host's store (its index in the server's pool).
pub type ConnId = u64;

fn rank(kind: LockKind) -> u8 {
    match kind {
        LockKind::None => 0,
        LockKind::Shared => 1,
        LockKind::Reserved => 2,
        LockKind::Pending => 3,
        LockKind::Exclusive => 4,
    }
}

fn kind_of(rank: u8) -> LockKind {
    match rank {
        0 => LockKind::None,
        1 => LockKind::Shared,
        2 => LockKind::Reserved,
        3 => LockKind::Pending,
        _ => LockKind::Exclusive,
    }
}

/// One connection's locks on one file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Held {
    /// The level the connection holds (what SQLite believes, plus PENDING after a refused
    /// EXCLUSIVE).
    level: u8,
    /// While [`LockTable::hold`] is on: the highest level held since, seen by the others.
    kept: Option<u8>,
}

impl Held {
    /// The level other connections see.
    fn seen(&self) -> u8 {
        self.level.max(self.kept.unwrap_or(0))
    }
}

/// The file locks of one host's database files, shared by its connections, and their WAL
/// shared memory ([`SharedMemory`]: the `-shm` file's mapping and its lock slots).
#[derive(Debug, Default)]
pub struct LockTable {
    files: Mutex<BTreeMap<PathBuf, BTreeMap<ConnId, Held>>>,
    shm: SharedMemory,
}

impl LockTable {
    /// Asks for `kind` on `path` for `conn`: `true` when granted, `false` for BUSY (see the
    /// module docs for the rules). Asking for a level at or below the one held changes
    /// nothing.
    pub fn lock(&self, path: &Path, conn: ConnId, kind: LockKind) -> bool {
        let mut files = lock(&self.files);
        let holders = files.entry(path.to_path_buf()).or_default();
        let mine = holders.get(&conn).copied().unwrap_or_default();
        let wanted = rank(kind);
        if wanted <= mine.level {
            return true;
        }
        let others = holders.iter().filter(|(id, _)| **id != conn).map(|(_, held)| held.seen());
        let others_max = others.clone().max().unwrap_or(0);
        let others_shared = others.filter(|&level| level >= rank(LockKind::Shared)).count();
        let granted = match kind {
            LockKind::None => true,
            LockKind::Shared => others_max < rank(LockKind::Pending),
            LockKind::Reserved => others_max < rank(LockKind::Reserved),
            LockKind::Pending | LockKind::Exclusive => {
                if others_max >= rank(LockKind::Pending) {
                    false
                } else if others_shared > 0 {
                    // PENDING now (no new readers), EXCLUSIVE once the readers are gone.
                    holders.insert(conn, Held { level: rank(LockKind::Pending), ..mine });
                    kind == LockKind::Pending
                } else {
                    true
                }
            }
        };
        if granted {
            holders.insert(conn, Held { level: wanted, ..mine });
        }
        granted
    }

    /// Lowers `conn`'s lock on `path` to `kind` (SHARED or none); always succeeds. While the
    /// connection is held ([`LockTable::hold`]) the others still see its highest level.
    pub fn unlock(&self, path: &Path, conn: ConnId, kind: LockKind) {
        let mut files = lock(&self.files);
        let holders = files.entry(path.to_path_buf()).or_default();
        let mine = holders.get(&conn).copied().unwrap_or_default();
        let level = mine.level.min(rank(kind));
        let kept = mine.kept.map(|kept| kept.max(mine.level));
        holders.insert(conn, Held { level, kept });
    }

    /// The level `conn` holds on `path`.
    pub fn level(&self, path: &Path, conn: ConnId) -> LockKind {
        let files = lock(&self.files);
        kind_of(files.get(path).and_then(|holders| holders.get(&conn)).map_or(0, |held| held.level))
    }

    /// Whether any connection holds RESERVED or more on `path` (os_unix's
    /// `unixCheckReservedLock` asks the file, whoever holds it).
    pub fn reserved(&self, path: &Path) -> bool {
        let files = lock(&self.files);
        files.get(path).is_some_and(|holders| holders.values().any(|held| held.seen() >= rank(LockKind::Reserved)))
    }

    /// The WAL shared memory of the host's databases.
    pub fn shm(&self) -> &SharedMemory {
        &self.shm
    }

    /// From now on, `conn`'s unlocks keep its highest level visible to the others until
    /// [`LockTable::release_held`] (see the module docs). Covers the files `conn` has locked
    /// so far (the server holds just before `COMMIT`, when every lock it will release is
    /// taken, except EXCLUSIVE, which is kept as it is reached).
    pub fn hold(&self, conn: ConnId) {
        self.shm.hold(conn);
        let mut files = lock(&self.files);
        for holders in files.values_mut() {
            let held = holders.entry(conn).or_default();
            held.kept = Some(held.level);
        }
    }

    /// Ends [`LockTable::hold`]: the others now see what `conn` really holds (file locks and
    /// WAL slots).
    pub fn release_held(&self, conn: ConnId) {
        self.shm.release_held(conn);
        let mut files = lock(&self.files);
        for holders in files.values_mut() {
            if let Some(held) = holders.get_mut(&conn) {
                held.kept = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DB: &str = "/data/store.db";

    fn table() -> (LockTable, PathBuf) {
        (LockTable::default(), PathBuf::from(DB))
    }

    #[test]
    fn readers_share_and_a_writer_reserves_alongside_them() {
        let (t, db) = table();
        assert!(t.lock(&db, 1, LockKind::Shared));
        assert!(t.lock(&db, 2, LockKind::Shared));
        assert!(t.lock(&db, 1, LockKind::Reserved));
        assert!(!t.lock(&db, 2, LockKind::Reserved), "one RESERVED at a time");
        assert!(t.reserved(&db));
        assert!(t.lock(&db, 3, LockKind::Shared), "new readers come in beside RESERVED");
    }

    #[test]
    fn exclusive_waits_for_readers_in_pending_which_keeps_new_readers_out() {
        let (t, db) = table();
        assert!(t.lock(&db, 1, LockKind::Shared));
        assert!(t.lock(&db, 2, LockKind::Shared));
        assert!(t.lock(&db, 1, LockKind::Reserved));
        assert!(!t.lock(&db, 1, LockKind::Exclusive), "a reader is still there");
        assert_eq!(t.level(&db, 1), LockKind::Pending);
        assert!(!t.lock(&db, 3, LockKind::Shared), "PENDING keeps new readers out");
        t.unlock(&db, 2, LockKind::None);
        assert!(t.lock(&db, 1, LockKind::Exclusive));
        assert!(!t.lock(&db, 2, LockKind::Shared), "EXCLUSIVE keeps readers out");
        t.unlock(&db, 1, LockKind::None);
        assert!(t.lock(&db, 2, LockKind::Shared));
        assert!(!t.reserved(&db));
    }

    #[test]
    fn a_hold_keeps_the_released_level_visible_until_released() {
        let (t, db) = table();
        assert!(t.lock(&db, 1, LockKind::Shared));
        assert!(t.lock(&db, 1, LockKind::Reserved));
        t.hold(1);
        assert!(t.lock(&db, 1, LockKind::Exclusive));
        t.unlock(&db, 1, LockKind::Shared);
        t.unlock(&db, 1, LockKind::None);
        assert_eq!(t.level(&db, 1), LockKind::None, "the connection itself released");
        assert!(!t.lock(&db, 2, LockKind::Shared), "the others still see EXCLUSIVE");
        t.release_held(1);
        assert!(t.lock(&db, 2, LockKind::Shared));
        assert!(t.lock(&db, 2, LockKind::Reserved));
    }

    #[test]
    fn files_are_locked_independently() {
        let (t, db) = table();
        let other = PathBuf::from("/data/other.db");
        assert!(t.lock(&db, 1, LockKind::Shared));
        assert!(t.lock(&db, 1, LockKind::Exclusive));
        assert!(t.lock(&other, 2, LockKind::Shared));
        assert!(t.lock(&other, 2, LockKind::Exclusive));
    }
}
