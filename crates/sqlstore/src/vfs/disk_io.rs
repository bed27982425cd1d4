//! [`DiskIo`]: one store's view of its host's disk, shared by the store, its open files and
//! the write-back task: the [`Disk`] itself, liveness, disk-work counters, commit points, sync
//! failures (and their injection), the seeded RNG and the open-file registry.

use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use sim::disk_cost::{DiskWork, SyncKinds};

use super::disk::{Disk, DiskFile};
use super::locks::{ConnId, LockTable};
use super::{lock, parent_of, SimDisk, SplitMix64};

/// One store's view of its host's disk: liveness, counters, RNG and open files.
///
/// Shared (`Arc`) between the store, its open file handles and the write-back task.
#[derive(Debug)]
pub struct DiskIo {
    disk: Box<dyn Disk>,
    alive: AtomicBool,
    syncs: AtomicU64,
    in_place_syncs: AtomicU64,
    bytes_written: AtomicU64,
    writeback_syncs: AtomicU64,
    pub(super) commit_points: AtomicU64,
    /// Whether the main database file was written (or a write was tried) since the last
    /// rollback journal deletion.
    pub(super) db_written: AtomicBool,
    sync_failed: AtomicBool,
    fail_syncs: AtomicU64,
    rng: Mutex<SplitMix64>,
    pub(super) next_temp: AtomicU64,
    next_file: AtomicU64,
    open: Mutex<BTreeMap<u64, OpenFile>>,
    /// The host's file locks, shared by every connection of its store.
    locks: Arc<LockTable>,
    /// This connection, in `locks`.
    conn: ConnId,
}

#[derive(Debug)]
struct OpenFile {
    path: PathBuf,
    file: Weak<dyn DiskFile>,
}

impl DiskIo {
    /// A live store on the current host's simulated disk ([`SimDisk`]); `seed` seeds the
    /// VFS's `random`.
    pub fn new(seed: u64) -> Self {
        DiskIo::on(Box::new(SimDisk), seed)
    }

    /// A live store on `disk`; `seed` seeds the VFS's `random`. Its connection is alone on
    /// its own lock table.
    pub fn on(disk: Box<dyn Disk>, seed: u64) -> Self {
        DiskIo::connection(disk, seed, Arc::default(), 0)
    }

    /// Connection `conn` of a store whose connections share `locks`; `seed` seeds the VFS's
    /// `random`.
    pub fn connection(disk: Box<dyn Disk>, seed: u64, locks: Arc<LockTable>, conn: ConnId) -> Self {
        DiskIo {
            disk,
            alive: AtomicBool::new(true),
            syncs: AtomicU64::new(0),
            in_place_syncs: AtomicU64::new(0),
            bytes_written: AtomicU64::new(0),
            writeback_syncs: AtomicU64::new(0),
            commit_points: AtomicU64::new(0),
            db_written: AtomicBool::new(false),
            sync_failed: AtomicBool::new(false),
            fail_syncs: AtomicU64::new(0),
            rng: Mutex::new(SplitMix64(seed)),
            next_temp: AtomicU64::new(0),
            next_file: AtomicU64::new(0),
            open: Mutex::new(BTreeMap::new()),
            locks,
            conn,
        }
    }

    /// The host's lock table, shared by the store's connections.
    pub fn locks(&self) -> &Arc<LockTable> {
        &self.locks
    }

    /// This connection's id in [`DiskIo::locks`].
    pub fn conn(&self) -> ConnId {
        self.conn
    }

    /// Marks the store dead (its host crashed or it was closed): every later I/O is refused.
    pub fn kill(&self) {
        self.alive.store(false, Ordering::SeqCst);
    }

    /// Whether the store is still alive.
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }

    /// The disk the store's files are on.
    pub fn disk(&self) -> &dyn Disk {
        self.disk.as_ref()
    }

    /// Fails unless the disk may be used now: store alive, and the disk usable from here
    /// (turmoil's: inside a host).
    pub fn check(&self) -> io::Result<()> {
        if !self.is_alive() {
            return Err(io::Error::other("store is dead (host crashed or store closed): I/O refused"));
        }
        self.disk.check()
    }

    /// The work counted since the last call (syncs issued, bytes written), resetting it.
    /// Write-back syncs are not included: the kernel does them in the background.
    pub fn take_work(&self) -> DiskWork {
        DiskWork {
            syncs: self.syncs.swap(0, Ordering::SeqCst),
            bytes_written: self.bytes_written.swap(0, Ordering::SeqCst),
        }
    }

    /// How many of the syncs counted since the last call were in place (see the VFS's module
    /// docs), resetting the count. Take it with [`DiskIo::take_work`], which it divides.
    pub fn take_sync_kinds(&self) -> SyncKinds {
        SyncKinds { in_place: self.in_place_syncs.swap(0, Ordering::SeqCst) }
    }

    /// Commit points passed so far (see the module docs): compare before and after a
    /// transaction to learn whether it may have committed.
    pub fn commit_points(&self) -> u64 {
        self.commit_points.load(Ordering::SeqCst)
    }

    /// Whether a sync of this store's files has failed: after that its page cache, and so
    /// the store, cannot be trusted (PostgreSQL's "fsyncgate").
    pub fn sync_failed(&self) -> bool {
        self.sync_failed.load(Ordering::SeqCst)
    }

    /// Fault injection: the next `syncs` syncs of this store's files fail with an I/O error
    /// (turmoil's disk never fails a sync by itself).
    pub fn fail_next_syncs(&self, syncs: u64) {
        self.fail_syncs.store(syncs, Ordering::SeqCst);
    }

    /// Fails (and remembers the failure) if a sync failure was injected for this sync.
    pub(super) fn injected_sync_failure(&self) -> io::Result<()> {
        let injected =
            self.fail_syncs.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| left.checked_sub(1)).is_ok();
        if injected {
            self.sync_failed.store(true, Ordering::SeqCst);
            return Err(io::Error::other("injected write-back failure"));
        }
        Ok(())
    }

    /// Remembers a failed sync and passes the result on.
    pub(super) fn note_sync<T>(&self, result: io::Result<T>) -> io::Result<T> {
        if result.is_err() {
            self.sync_failed.store(true, Ordering::SeqCst);
        }
        result
    }

    /// Syncs issued by [`DiskIo::writeback`] so far.
    pub fn writeback_syncs(&self) -> u64 {
        self.writeback_syncs.load(Ordering::SeqCst)
    }

    /// Kernel write-back: syncs every file the store has open, then their directories, as a
    /// real kernel's periodic flush of dirty pages and metadata would. Returns the number of
    /// syncs issued. Runs between operations (SQLite calls never yield), so it always sees
    /// the files in a state SQLite left them in between two calls.
    pub fn writeback(&self) -> io::Result<u64> {
        self.check()?;
        let files: Vec<(PathBuf, Arc<dyn DiskFile>)> =
            lock(&self.open).values().filter_map(|open| Some((open.path.clone(), open.file.upgrade()?))).collect();
        let mut dirs = BTreeSet::new();
        let mut syncs = 0;
        for (path, file) in &files {
            self.injected_sync_failure()?;
            self.note_sync(file.sync_all())?;
            syncs += 1;
            dirs.insert(parent_of(path));
        }
        for dir in dirs {
            self.note_sync(self.disk.sync_dir(&dir))?;
            syncs += 1;
        }
        self.writeback_syncs.fetch_add(syncs, Ordering::SeqCst);
        Ok(syncs)
    }

    pub(super) fn count_sync(&self) {
        self.syncs.fetch_add(1, Ordering::SeqCst);
    }

    pub(super) fn count_in_place_sync(&self) {
        self.in_place_syncs.fetch_add(1, Ordering::SeqCst);
    }

    pub(super) fn count_written(&self, bytes: usize) {
        self.bytes_written.fetch_add(u64::try_from(bytes).unwrap_or(u64::MAX), Ordering::SeqCst);
    }

    pub(super) fn fill_random(&self, buffer: &mut [i8]) {
        lock(&self.rng).fill(buffer);
    }

    pub(super) fn register_file(&self, path: &Path, file: &Arc<dyn DiskFile>) -> u64 {
        let id = self.next_file.fetch_add(1, Ordering::SeqCst);
        lock(&self.open).insert(id, OpenFile { path: path.to_path_buf(), file: Arc::downgrade(file) });
        id
    }

    pub(super) fn unregister_file(&self, id: u64) {
        lock(&self.open).remove(&id);
    }
}
