//! A SQLite VFS whose files live on turmoil's simulated disk.
//!
//! SQLite's C code never sees turmoil's fs shim, so without a VFS it would write real files
//! and a simulated crash would lose nothing. This VFS (registered once per process under
//! [`VFS_NAME`]) maps SQLite's file calls onto `turmoil::fs::shim::std::fs`, whose writes stay
//! pending until synced and are discarded by `Sim::crash`.
//!
//! Routing: the VFS is process-wide, but each store (one per host) has its own [`DiskIo`]:
//! liveness flag, counters, seeded RNG and open-file registry. A store enters an [`IoScope`]
//! around every call into SQLite; files opened inside the scope keep that `DiskIo`. SQLite
//! runs synchronously on the host's task, so the shim resolves to that host's disk.
//!
//! Rules every callback follows (they are `extern "C"`: a panic would abort the process):
//! - refuse with an `io::Error` when not inside a turmoil host (the shim would panic), or when
//!   the store is dead (its host crashed: its leaked connection must never touch the disk);
//! - no `unwrap`; poisoned mutexes are recovered;
//! - short reads zero-fill the rest of the buffer and report `UnexpectedEof`;
//! - `sync` is `sync_all`, plus `sync_dir` of the parent on a handle's first sync (a new
//!   file's name survives a crash only after its directory is synced); `delete` syncs the
//!   parent directory too, so a deleted rollback journal stays deleted;
//! - locks are only recorded: one connection per host, nothing to arbitrate;
//! - `random` draws from a seeded RNG (but see the limit below: SQLite never asks this VFS)
//!   and `sleep` returns at once.
//!
//! Known limit on determinism: SQLite's internal PRNG (journal nonces, WAL salts) is
//! process-wide and seeds itself once from the *default* VFS (`unix`), not from this one, so
//! those few bytes on the simulated disk differ between processes. They never change what
//! SQLite returns, how many bytes it writes or how often it syncs; replies and disk costs are
//! deterministic. `temp_store=MEMORY` keeps temporary files (and their names) off the disk.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, Weak};
use std::time::Duration;

use sqlite_vfs::{DatabaseHandle, LockKind, OpenAccess, OpenOptions, Vfs, WalDisabled};
use turmoil::fs::shim::std::fs as simfs;

use sim::disk_cost::DiskWork;

/// The name the VFS is registered under.
pub const VFS_NAME: &str = "turmoil-simdisk";

/// The VFS could not be registered with SQLite.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("registering the SQLite VFS {VFS_NAME:?}: {0}")]
pub struct RegisterError(String);

/// Registers the VFS with SQLite (once per process; later calls return the first outcome).
pub fn register() -> Result<(), RegisterError> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| sqlite_vfs::register(VFS_NAME, SimDiskVfs::default(), false).map_err(|e| e.to_string()))
        .clone()
        .map_err(RegisterError)
}

/// One store's view of its host's disk: liveness, counters, RNG and open files.
///
/// Shared (`Arc`) between the store, its open file handles and the write-back task.
#[derive(Debug)]
pub struct DiskIo {
    alive: AtomicBool,
    syncs: AtomicU64,
    bytes_written: AtomicU64,
    writeback_syncs: AtomicU64,
    rng: Mutex<SplitMix64>,
    next_temp: AtomicU64,
    next_file: AtomicU64,
    open: Mutex<BTreeMap<u64, OpenFile>>,
}

#[derive(Debug)]
struct OpenFile {
    path: PathBuf,
    file: Weak<simfs::File>,
}

impl DiskIo {
    /// A live store's disk; `seed` seeds [`Vfs::random`].
    pub fn new(seed: u64) -> Self {
        DiskIo {
            alive: AtomicBool::new(true),
            syncs: AtomicU64::new(0),
            bytes_written: AtomicU64::new(0),
            writeback_syncs: AtomicU64::new(0),
            rng: Mutex::new(SplitMix64(seed)),
            next_temp: AtomicU64::new(0),
            next_file: AtomicU64::new(0),
            open: Mutex::new(BTreeMap::new()),
        }
    }

    /// Marks the store dead (its host crashed or it was closed): every later I/O is refused.
    pub fn kill(&self) {
        self.alive.store(false, Ordering::SeqCst);
    }

    /// Whether the store is still alive.
    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }

    /// Fails unless the shim may be used now: inside a turmoil host, store alive.
    pub fn check(&self) -> io::Result<()> {
        if !self.is_alive() {
            return Err(io::Error::other("store is dead (host crashed or store closed): I/O refused"));
        }
        check_in_host()
    }

    /// The work counted since the last call (syncs issued, bytes written), resetting it.
    /// Write-back syncs are not included: the kernel does them in the background.
    pub fn take_work(&self) -> DiskWork {
        DiskWork {
            syncs: self.syncs.swap(0, Ordering::SeqCst),
            bytes_written: self.bytes_written.swap(0, Ordering::SeqCst),
        }
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
        let files: Vec<(PathBuf, Arc<simfs::File>)> =
            lock(&self.open).values().filter_map(|open| Some((open.path.clone(), open.file.upgrade()?))).collect();
        let mut dirs = BTreeSet::new();
        let mut syncs = 0;
        for (path, file) in &files {
            file.sync_all()?;
            syncs += 1;
            dirs.insert(parent_of(path));
        }
        for dir in dirs {
            simfs::sync_dir(&dir)?;
            syncs += 1;
        }
        self.writeback_syncs.fetch_add(syncs, Ordering::SeqCst);
        Ok(syncs)
    }

    fn count_sync(&self) {
        self.syncs.fetch_add(1, Ordering::SeqCst);
    }

    fn count_written(&self, bytes: usize) {
        self.bytes_written.fetch_add(u64::try_from(bytes).unwrap_or(u64::MAX), Ordering::SeqCst);
    }

    fn fill_random(&self, buffer: &mut [i8]) {
        lock(&self.rng).fill(buffer);
    }

    fn register_file(&self, path: &Path, file: &Arc<simfs::File>) -> u64 {
        let id = self.next_file.fetch_add(1, Ordering::SeqCst);
        lock(&self.open).insert(id, OpenFile { path: path.to_path_buf(), file: Arc::downgrade(file) });
        id
    }

    fn unregister_file(&self, id: u64) {
        lock(&self.open).remove(&id);
    }
}

/// Fails unless called from inside a turmoil host (where the fs shim can be used).
pub fn check_in_host() -> io::Result<()> {
    // `sim_elapsed` is `None` outside a simulation, while the world is borrowed, or with no
    // current host: exactly the cases in which the shim would panic.
    match turmoil::sim_elapsed() {
        Some(_) => Ok(()),
        None => Err(io::Error::other("not inside a turmoil host: simulated disk unavailable")),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("/"),
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<DiskIo>>> = const { RefCell::new(None) };
}

/// While alive, files SQLite opens on this thread belong to the given store's [`DiskIo`].
/// Scopes nest; dropping one restores the previous.
#[must_use = "the scope ends when this guard is dropped"]
pub struct IoScope {
    previous: Option<Arc<DiskIo>>,
}

impl IoScope {
    /// Enters `io`'s scope.
    pub fn enter(io: &Arc<DiskIo>) -> IoScope {
        let previous = CURRENT.with(|current| current.replace(Some(Arc::clone(io))));
        IoScope { previous }
    }
}

impl Drop for IoScope {
    fn drop(&mut self) {
        let previous = self.previous.take();
        // `try_with`: never panic, even during thread teardown.
        let _ = CURRENT.try_with(|current| {
            if let Ok(mut slot) = current.try_borrow_mut() {
                *slot = previous;
            }
        });
    }
}

fn current_io() -> io::Result<Arc<DiskIo>> {
    CURRENT
        .try_with(|current| current.try_borrow().ok().and_then(|io| io.clone()))
        .ok()
        .flatten()
        .ok_or_else(|| io::Error::other("SQLite called the simulated-disk VFS outside a store's I/O scope"))
}

/// A small deterministic RNG (SplitMix64) for [`Vfs::random`].
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fill(&mut self, buffer: &mut [i8]) {
        for chunk in buffer.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            for (slot, byte) in chunk.iter_mut().zip(bytes) {
                *slot = i8::from_le_bytes([byte]);
            }
        }
    }
}

/// The VFS itself. Per-store state lives in [`DiskIo`]; this only holds a fallback RNG for
/// the (unexpected) case of SQLite asking for randomness outside any store's scope.
#[derive(Debug)]
struct SimDiskVfs {
    fallback_rng: Mutex<SplitMix64>,
}

impl Default for SimDiskVfs {
    fn default() -> Self {
        SimDiskVfs { fallback_rng: Mutex::new(SplitMix64(0x5EED)) }
    }
}

impl Vfs for SimDiskVfs {
    type Handle = SimFile;

    fn open(&self, db: &str, opts: OpenOptions) -> io::Result<SimFile> {
        open_file(db, opts.access)
    }

    fn delete(&self, db: &str) -> io::Result<()> {
        let io = current_io()?;
        io.check()?;
        let path = Path::new(db);
        // turmoil keys pending writes by path, not by file: an unsynced deleted file's writes
        // would stay in the pending list forever (every later shim call scans it) and be
        // overlaid on the next file created under the same name (the next rollback journal).
        // Flushing them first is invisible: the removal below is made durable before anything
        // else can happen (no await, so no crash, in between), which discards the data.
        if simfs::exists(path) {
            simfs::File::open(path)?.sync_all()?;
        }
        simfs::remove_file(path)?;
        // sqlite-vfs drops SQLite's `dirSync` flag; sync always, so that a deleted rollback
        // journal cannot reappear after a crash and roll back a committed transaction.
        simfs::sync_dir(parent_of(path))?;
        io.count_sync();
        Ok(())
    }

    fn exists(&self, db: &str) -> io::Result<bool> {
        current_io()?.check()?;
        Ok(simfs::exists(db))
    }

    fn temporary_name(&self) -> String {
        // `temp_store=MEMORY` means SQLite should never ask; stay deterministic if it does.
        let n = current_io().map(|io| io.next_temp.fetch_add(1, Ordering::SeqCst)).unwrap_or(u64::MAX);
        format!("/sqlite-temp-{n}")
    }

    fn random(&self, buffer: &mut [i8]) {
        match current_io() {
            Ok(io) => io.fill_random(buffer),
            Err(_) => lock(&self.fallback_rng).fill(buffer),
        }
    }

    fn sleep(&self, duration: Duration) -> Duration {
        // Never block the simulation thread; with one connection per host SQLite has nobody
        // to wait for anyway.
        duration
    }
}

/// Opens `db` on the current scope's disk with SQLite's requested access.
fn open_file(db: &str, access: OpenAccess) -> io::Result<SimFile> {
    let io = current_io()?;
    io.check()?;
    let path = PathBuf::from(db);
    let mut options = simfs::OpenOptions::new();
    options.read(true);
    match access {
        OpenAccess::Read => {}
        OpenAccess::Write => {
            options.write(true);
        }
        OpenAccess::Create => {
            options.write(true).create(true);
        }
        OpenAccess::CreateNew => {
            options.write(true).create_new(true);
        }
    }
    let file = Arc::new(options.open(&path)?);
    let id = io.register_file(&path, &file);
    Ok(SimFile { file, path, io, lock: LockKind::None, entry_synced: false, id })
}

/// A file SQLite opened through the VFS: a shim file plus the recorded lock level.
struct SimFile {
    file: Arc<simfs::File>,
    path: PathBuf,
    io: Arc<DiskIo>,
    lock: LockKind,
    /// Whether this handle has synced its directory (made its name durable) yet.
    entry_synced: bool,
    id: u64,
}

impl Drop for SimFile {
    fn drop(&mut self) {
        self.io.unregister_file(self.id);
    }
}

impl DatabaseHandle for SimFile {
    type WalIndex = WalDisabled;

    fn size(&self) -> io::Result<u64> {
        self.io.check()?;
        Ok(self.file.metadata()?.len())
    }

    fn read_exact_at(&mut self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.io.check()?;
        let mut filled = 0;
        while filled < buf.len() {
            let at = offset.saturating_add(u64::try_from(filled).unwrap_or(u64::MAX));
            match self.file.read_at(&mut buf[filled..], at) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if filled < buf.len() {
            // SQLite requires the unread tail zeroed on SQLITE_IOERR_SHORT_READ.
            buf[filled..].fill(0);
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "short read"));
        }
        Ok(())
    }

    fn write_all_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.io.check()?;
        self.file.write_all_at(buf, offset)?;
        self.io.count_written(buf.len());
        Ok(())
    }

    fn sync(&mut self, _data_only: bool) -> io::Result<()> {
        self.io.check()?;
        self.file.sync_all()?;
        self.io.count_sync();
        if !self.entry_synced {
            simfs::sync_dir(parent_of(&self.path))?;
            self.io.count_sync();
            self.entry_synced = true;
        }
        Ok(())
    }

    fn set_len(&mut self, size: u64) -> io::Result<()> {
        self.io.check()?;
        self.file.set_len(size)
    }

    fn lock(&mut self, lock: LockKind) -> io::Result<bool> {
        self.lock = lock;
        Ok(true)
    }

    fn reserved(&mut self) -> io::Result<bool> {
        Ok(self.lock >= LockKind::Reserved)
    }

    fn current_lock(&self) -> io::Result<LockKind> {
        Ok(self.lock)
    }

    fn wal_index(&self, _readonly: bool) -> io::Result<WalDisabled> {
        // WAL runs with `locking_mode=EXCLUSIVE`, which keeps the wal-index in heap memory.
        Ok(WalDisabled)
    }
}

#[cfg(test)]
mod tests;
