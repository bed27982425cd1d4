//! A SQLite VFS whose files live on a [`Disk`]: in the simulations, turmoil's simulated disk
//! ([`SimDisk`]).
//!
//! SQLite's C code never sees turmoil's fs shim, so without a VFS it would write real files
//! and a simulated crash would lose nothing. This VFS (registered once per process under
//! [`VFS_NAME`]) maps SQLite's file calls onto the store's [`Disk`]; [`SimDisk`] maps them onto
//! `turmoil::fs::shim::std::fs`, whose writes stay pending until synced and are discarded by
//! `Sim::crash`. The disk is a trait, as the storage engine's `lsm::FileSystem` is, so that the
//! VFS's own logic (below) does not depend on turmoil: only [`SimDisk`] does.
//!
//! Routing: the VFS is process-wide, but each store (one per host) has its own [`DiskIo`]:
//! its disk, liveness flag, counters, seeded RNG and open-file registry. A store enters an
//! [`IoScope`] around every call into SQLite; files opened inside the scope keep that
//! `DiskIo`. SQLite runs synchronously on the host's task, so the shim resolves to that host's
//! disk.
//!
//! Rules every callback follows (they are `extern "C"`: a panic would abort the process):
//! - refuse with an `io::Error` when the disk cannot be used from here ([`Disk::check`]:
//!   turmoil's shim would panic outside a host), or when the store is dead (its host
//!   crashed: its leaked connection must never touch the disk);
//! - no `unwrap`; poisoned mutexes are recovered;
//! - short reads zero-fill the rest of the buffer and report `UnexpectedEof`;
//! - `sync` is `sync_all`, plus `sync_dir` of the parent on a handle's first sync (a new
//!   file's name survives a crash only after its directory is synced); `delete` syncs the
//!   parent directory too, so a deleted rollback journal stays deleted;
//! - syncs are counted by kind ([`DiskIo::take_sync_kinds`]): a file sync is *in place* when
//!   the handle did not change the file's length since its previous sync (SQLite's WAL once
//!   it is reused after a checkpoint), and commits metadata otherwise (the WAL or journal
//!   growing, the database extended or truncated); directory syncs always commit metadata.
//!   On the real disk the difference is the file system's journal commit: on this machine's
//!   ext4, 4 KiB appended + `fdatasync` took about twice as long as 4 KiB overwritten +
//!   `fdatasync` (`lab bench calibration` measures both);
//! - locks are arbitrated between the connections of the host's store by its
//!   [`LockTable`] (SQLite's rollback-journal protocol, see [`locks`]): a conflict is
//!   `SQLITE_BUSY` at once, never a wait;
//! - WAL mode's wal-index is one shared memory for all the store's connections, with its own
//!   lock slots ([`shm`]; the SQLite methods that reach it are in `shm_methods`, the crate's
//!   one unsafe module). With a single connection the store runs WAL with
//!   `locking_mode=EXCLUSIVE`, where SQLite keeps the wal-index in its own heap memory instead;
//! - `random` draws from a seeded RNG (but see the limit below: SQLite never asks this VFS)
//!   and `sleep` returns at once.
//!
//! Disk faults (turmoil's `io_error_probability` and `capacity`), as SQLite sees them:
//! - a write past the disk's capacity ("no space left on device") becomes
//!   `ErrorKind::WriteZero`, which `sqlite-vfs` reports as `SQLITE_FULL`; every other failed
//!   read or write is `SQLITE_IOERR_READ`/`_WRITE`;
//! - [`DiskIo::commit_points`] counts the moments a transaction may become durable: a
//!   complete WAL commit frame (without one no recovery replays the transaction's frames) and
//!   the deletion of a rollback journal after the database file was written (the commit of
//!   journal mode DELETE writes the database's pages, then deletes the journal; a deletion
//!   with no database write since the last one ends a rollback of a transaction that never
//!   touched the database; one after writes may also end a rollback, which errs on the side
//!   of "unknown"). A transaction that failed
//!   without passing one certainly did not commit ([`crate::store`] builds on this). SQLite
//!   writes a frame's 24-byte header, then its page; a commit frame's header holds a non-zero
//!   database size. If the page of a commit frame cannot be written after its header was, the
//!   VFS zeroes that header before failing: a zero salt never matches the WAL's, so recovery
//!   stops before the frame whatever bytes follow it, and the transaction certainly did not
//!   commit. If zeroing fails too, the commit point counts as passed;
//! - a failed sync (a real one, one injected with [`DiskIo::fail_next_syncs`], or one of the
//!   write-back model's) is remembered ([`DiskIo::sync_failed`]): the store must then be
//!   reopened rather than trusted (see [`crate::server`]).
//!
//! Known limit on determinism: SQLite's internal PRNG (journal nonces, WAL salts) is
//! process-wide and seeds itself once from the *default* VFS (`unix`), not from this one, so
//! those few bytes on the simulated disk differ between processes. They never change what
//! SQLite returns, how many bytes it writes or how often it syncs; replies and disk costs are
//! deterministic. `temp_store=MEMORY` keeps temporary files (and their names) off the disk.

use std::cell::RefCell;
use std::ffi::CStr;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use sqlite_vfs::{DatabaseHandle, LockKind, OpenAccess, OpenOptions, Vfs, WalDisabled};

pub mod disk;
mod disk_io;
pub mod locks;
pub mod shm;
mod shm_methods;
mod sim_disk;

pub use disk::{Access, Disk, DiskFile};
pub use disk_io::DiskIo;
pub use locks::{ConnId, LockTable};
pub use sim_disk::{check_in_host, SimDisk};

/// The name the VFS is registered under.
pub const VFS_NAME: &str = "turmoil-simdisk";

/// The name `sqlite-vfs`'s layer of it is registered under: the same VFS without shared
/// memory (see [`shm_methods`]). SQLite is never opened on it directly.
const FILES_VFS_NAME: &CStr = c"turmoil-simdisk-files";

/// The VFS could not be registered with SQLite.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("registering the SQLite VFS {VFS_NAME:?}: {0}")]
pub struct RegisterError(String);

/// Registers the VFS with SQLite (once per process; later calls return the first outcome).
pub fn register() -> Result<(), RegisterError> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            let files = FILES_VFS_NAME.to_str().map_err(|e| e.to_string())?;
            sqlite_vfs::register(files, DiskVfs::default(), false).map_err(|e| e.to_string())?;
            shm_methods::register(FILES_VFS_NAME, c"turmoil-simdisk")
        })
        .clone()
        .map_err(RegisterError)
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
struct DiskVfs {
    fallback_rng: Mutex<SplitMix64>,
}

impl Default for DiskVfs {
    fn default() -> Self {
        DiskVfs { fallback_rng: Mutex::new(SplitMix64(0x5EED)) }
    }
}

impl Vfs for DiskVfs {
    type Handle = VfsFile;

    fn open(&self, db: &str, opts: OpenOptions) -> io::Result<VfsFile> {
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
        let disk = io.disk();
        if disk.exists(path) {
            io.note_sync(disk.open(path, Access::Read)?.sync_all())?;
        }
        disk.remove_file(path)?;
        if db.ends_with("-journal") && io.db_written.swap(false, Ordering::SeqCst) {
            io.commit_points.fetch_add(1, Ordering::SeqCst);
        }
        // sqlite-vfs drops SQLite's `dirSync` flag; sync always, so that a deleted rollback
        // journal cannot reappear after a crash and roll back a committed transaction.
        io.note_sync(disk.sync_dir(&parent_of(path)))?;
        io.count_sync();
        Ok(())
    }

    fn exists(&self, db: &str) -> io::Result<bool> {
        let io = current_io()?;
        io.check()?;
        Ok(io.disk().exists(Path::new(db)))
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
fn open_file(db: &str, access: OpenAccess) -> io::Result<VfsFile> {
    let io = current_io()?;
    io.check()?;
    let path = PathBuf::from(db);
    let access = match access {
        OpenAccess::Read => Access::Read,
        OpenAccess::Write => Access::Write,
        OpenAccess::Create => Access::Create,
        OpenAccess::CreateNew => Access::CreateNew,
    };
    let file = io.disk().open(&path, access)?;
    let id = io.register_file(&path, &file);
    let wal = db.ends_with("-wal");
    let main = !wal && !db.ends_with("-journal");
    let len = file.size()?;
    Ok(VfsFile {
        file,
        path,
        io,
        lock: LockKind::None,
        entry_synced: false,
        id,
        wal,
        main,
        commit_header_at: None,
        len,
        resized: false,
    })
}

/// The size of a WAL frame header, and of the WAL file header before the first frame.
const WAL_FRAME_HEADER_BYTES: usize = 24;
const WAL_HEADER_BYTES: u64 = 32;

/// Whether a write to a WAL file is the header of a commit frame: SQLite writes each frame's
/// 24-byte header on its own (`walWriteOneFrame`), and a commit frame's bytes 4..8 hold the
/// database size in pages, which is zero in every other frame.
fn is_commit_frame_header(buf: &[u8], offset: u64) -> bool {
    offset >= WAL_HEADER_BYTES
        && buf.len() == WAL_FRAME_HEADER_BYTES
        && buf.get(4..8).is_some_and(|size| size.iter().any(|&b| b != 0))
}

/// The error SQLite should see for a failed write: `WriteZero` (`SQLITE_FULL`) when the disk
/// is full (turmoil reports its capacity limit as an untyped "No space left on device").
fn write_error(error: io::Error) -> io::Error {
    const ENOSPC: i32 = 28;
    let full = error.kind() == io::ErrorKind::StorageFull
        || error.raw_os_error() == Some(ENOSPC)
        || error.to_string().contains("No space left on device");
    if full {
        io::Error::new(io::ErrorKind::WriteZero, "disk full")
    } else {
        error
    }
}

/// A file SQLite opened through the VFS: a file of the store's disk plus the recorded lock
/// level.
struct VfsFile {
    file: Arc<dyn DiskFile>,
    path: PathBuf,
    io: Arc<DiskIo>,
    lock: LockKind,
    /// Whether this handle has synced its directory (made its name durable) yet.
    entry_synced: bool,
    id: u64,
    /// Whether this is a WAL file (whose commit frames are commit points).
    wal: bool,
    /// Whether this is the main database file (written before a DELETE-mode commit point).
    main: bool,
    /// Where a commit frame's header was just written, its page not yet.
    commit_header_at: Option<u64>,
    /// The file's length as this handle made it (writes past the end grow it).
    len: u64,
    /// Whether the length changed since this handle's last sync: the sync must then commit
    /// metadata too (a journal commit on ext4), else it is a sync in place
    /// ([`sim::disk_cost::SyncKinds`]).
    resized: bool,
}

impl VfsFile {
    /// Tracks commit frames across the two writes of each (see the module docs); `written`
    /// is the outcome of the write of `buf` at `offset`.
    fn track_commit(&mut self, buf: &[u8], offset: u64, written: &io::Result<()>) {
        if !self.wal {
            return;
        }
        let passed = match self.commit_header_at.take() {
            None => {
                if written.is_ok() && is_commit_frame_header(buf, offset) {
                    self.commit_header_at = Some(offset);
                }
                false
            }
            // The commit frame's page: written, or not; then the header must go.
            Some(header) if offset == header + WAL_FRAME_HEADER_BYTES as u64 => {
                written.is_ok() || self.file.write_all_at(&[0u8; WAL_FRAME_HEADER_BYTES], header).is_err()
            }
            // Not what SQLite does; count it, to err on the side of "unknown".
            Some(_) => true,
        };
        if passed {
            self.io.commit_points.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Drop for VfsFile {
    fn drop(&mut self) {
        self.io.unregister_file(self.id);
    }
}

impl DatabaseHandle for VfsFile {
    type WalIndex = WalDisabled;

    fn size(&self) -> io::Result<u64> {
        self.io.check()?;
        self.file.size()
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
        if self.main {
            self.io.db_written.store(true, Ordering::SeqCst);
        }
        let written = self.file.write_all_at(buf, offset).map_err(write_error);
        self.track_commit(buf, offset, &written);
        written?;
        self.io.count_written(buf.len());
        let end = offset.saturating_add(u64::try_from(buf.len()).unwrap_or(u64::MAX));
        if end > self.len {
            self.len = end;
            self.resized = true;
        }
        Ok(())
    }

    fn sync(&mut self, _data_only: bool) -> io::Result<()> {
        self.io.check()?;
        if self.commit_header_at.take().is_some() {
            // Not what SQLite does (the page follows the header at once); err on "unknown".
            self.io.commit_points.fetch_add(1, Ordering::SeqCst);
        }
        self.io.injected_sync_failure()?;
        self.io.note_sync(self.file.sync_all())?;
        self.io.count_sync();
        if !std::mem::take(&mut self.resized) {
            self.io.count_in_place_sync();
        }
        if !self.entry_synced {
            self.io.note_sync(self.io.disk().sync_dir(&parent_of(&self.path)))?;
            self.io.count_sync();
            self.entry_synced = true;
        }
        Ok(())
    }

    fn set_len(&mut self, size: u64) -> io::Result<()> {
        self.io.check()?;
        self.file.set_len(size)?;
        if size != self.len {
            self.len = size;
            self.resized = true;
        }
        Ok(())
    }

    fn lock(&mut self, lock: LockKind) -> io::Result<bool> {
        let granted = self.io.locks().lock(&self.path, self.io.conn(), lock);
        self.lock = self.io.locks().level(&self.path, self.io.conn());
        Ok(granted)
    }

    fn unlock(&mut self, lock: LockKind) -> io::Result<bool> {
        self.io.locks().unlock(&self.path, self.io.conn(), lock);
        self.lock = self.io.locks().level(&self.path, self.io.conn());
        Ok(true)
    }

    fn reserved(&mut self) -> io::Result<bool> {
        Ok(self.io.locks().reserved(&self.path))
    }

    fn current_lock(&self) -> io::Result<LockKind> {
        Ok(self.lock)
    }

    fn wal_index(&self, _readonly: bool) -> io::Result<WalDisabled> {
        // Never asked: the VFS's shared-memory methods are `shm_methods`', not sqlite-vfs's.
        Ok(WalDisabled)
    }
}

#[cfg(test)]
mod tests;
