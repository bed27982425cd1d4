//! SQLite's shared-memory methods (`xShmMap`, `xShmLock`, `xShmBarrier`, `xShmUnmap`) for the
//! VFS, on the host's [`SharedMemory`]: one wal-index for all the connections of a store, as
//! the `unix` VFS maps one `-shm` file for all the processes that open a database.
//!
//! Why not `sqlite-vfs`'s own: version 0.2 gives each connection a private copy of the
//! wal-index (its `WalIndex` trait, marked work in progress) and copies whole regions in and
//! out at lock boundaries. A connection holding an exclusive slot (a writer, for its whole
//! transaction) then never sees what the others change meanwhile, and writing a whole region
//! back overwrites bytes it never changed: another reader's read mark, a checkpoint's
//! progress. WAL's protocol assumes one shared memory; so this module gives it one.
//!
//! How: [`register`] takes the VFS `sqlite-vfs` registered (files and database locks, under
//! an inner name) and registers a copy of it under [`super::VFS_NAME`] whose `xOpen` calls
//! the inner one, then points the new file at a method table that is the inner one's with the
//! four `xShm*` entries (and `xClose`) replaced by this module's. The functions below find the
//! file's store (its [`DiskIo`]: lock table, shared memory, connection) in a registry keyed by
//! the file's address, filled when a main database file opens and emptied when it closes.
//!
//! This is the crate's one unsafe module: it is FFI, called by SQLite with pointers SQLite
//! owns. Every function is `extern "C"`, so none may panic (the bodies run under
//! `catch_unwind` and answer an I/O error instead).

#![allow(unsafe_code)]

use std::collections::BTreeMap;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::ptr::null_mut;
use std::sync::atomic::{fence, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rusqlite::ffi;

use super::disk_io::DiskIo;
use super::shm::{SharedMemory, SlotLock, REGION_BYTES};
use super::{current_io, lock};

/// The inner VFS (`sqlite-vfs`'s), which SQLite keeps registered for the process's lifetime.
struct InnerVfs(*mut ffi::sqlite3_vfs);

// SAFETY: the pointer is to a VFS object SQLite never frees (sqlite-vfs leaks it on
// registration); SQLite itself calls it from any thread.
unsafe impl Send for InnerVfs {}
// SAFETY: as above; this module only reads the pointer.
unsafe impl Sync for InnerVfs {}

static INNER: OnceLock<InnerVfs> = OnceLock::new();

/// The method table given to every file, and the inner `xClose` it wraps.
struct Methods {
    table: ffi::sqlite3_io_methods,
    inner_close: Option<unsafe extern "C" fn(*mut ffi::sqlite3_file) -> c_int>,
}

static METHODS: OnceLock<Methods> = OnceLock::new();

/// The store and database path of an open main database file, by the file's address.
#[derive(Clone)]
struct ShmUser {
    io: Arc<DiskIo>,
    path: Arc<Path>,
}

static FILES: Mutex<BTreeMap<usize, ShmUser>> = Mutex::new(BTreeMap::new());

/// Registers, under `name`, the VFS registered under `inner` with this module's shared
/// memory (see the module docs). Call once per process.
pub(super) fn register(inner: &CStr, name: &'static CStr) -> Result<(), String> {
    // SAFETY: `sqlite3_vfs_find` only reads SQLite's list of VFSes; `inner` is a valid C string.
    let found = unsafe { ffi::sqlite3_vfs_find(inner.as_ptr()) };
    if found.is_null() {
        return Err(format!("the inner VFS {inner:?} is not registered"));
    }
    INNER.set(InnerVfs(found)).map_err(|_| "the shared-memory VFS is already registered".to_owned())?;
    // SAFETY: `found` points to a live, registered VFS object (never freed); copying it is a
    // plain read. The copy keeps the inner VFS's `pAppData`, so every method but `xOpen` works
    // unchanged when SQLite calls it through the copy.
    let mut outer = unsafe { *found };
    outer.zName = name.as_ptr();
    outer.pNext = null_mut();
    outer.xOpen = Some(open);
    let outer: &'static mut ffi::sqlite3_vfs = Box::leak(Box::new(outer));
    // SAFETY: `outer` lives for the rest of the process, as SQLite requires of a VFS.
    let rc = unsafe { ffi::sqlite3_vfs_register(outer, 0) };
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(format!("sqlite3_vfs_register returned {rc}"))
    }
}

/// The inner method table with this module's shared-memory methods and `xClose`.
fn with_shared_memory(inner: ffi::sqlite3_io_methods) -> Methods {
    let mut table = inner;
    table.iVersion = table.iVersion.max(2);
    table.xClose = Some(close);
    table.xShmMap = Some(shm_map);
    table.xShmLock = Some(shm_lock);
    table.xShmBarrier = Some(shm_barrier);
    table.xShmUnmap = Some(shm_unmap);
    Methods { table, inner_close: inner.xClose }
}

/// `xOpen`: the inner VFS's, then this module's method table, and a registry entry for a
/// main database file.
unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let Some(inner) = INNER.get() else { return ffi::SQLITE_CANTOPEN };
    // SAFETY: `inner.0` is the live inner VFS (see `InnerVfs`).
    let Some(inner_open) = (unsafe { (*inner.0).xOpen }) else { return ffi::SQLITE_CANTOPEN };
    // SAFETY: SQLite's own arguments, passed on unchanged to the VFS that owns `file`'s layout
    // (the copy registered the inner VFS's `szOsFile`).
    let rc = unsafe { inner_open(inner.0, name, file, flags, out_flags) };
    if rc != ffi::SQLITE_OK || file.is_null() {
        return rc;
    }
    // SAFETY: the inner `xOpen` succeeded, so `file` is initialised and its `pMethods` set.
    let inner_methods = unsafe { (*file).pMethods };
    if inner_methods.is_null() {
        return rc;
    }
    // SAFETY: the inner method table is a field of the inner VFS's leaked state: valid forever.
    let methods = METHODS.get_or_init(|| with_shared_memory(unsafe { *inner_methods }));
    // SAFETY: `file` is initialised (above); the table lives in a static.
    unsafe { (*file).pMethods = &methods.table };
    if flags & ffi::SQLITE_OPEN_MAIN_DB != 0 && !name.is_null() {
        // SAFETY: SQLite passes a NUL-terminated file name.
        let path = PathBuf::from(unsafe { CStr::from_ptr(name) }.to_string_lossy().into_owned());
        if let Ok(io) = current_io() {
            lock(&FILES).insert(file as usize, ShmUser { io, path: Arc::from(path) });
        }
    }
    rc
}

/// `xClose`: forgets the file, then the inner VFS's close.
unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    let _ = catch_unwind(|| lock(&FILES).remove(&(file as usize)));
    match METHODS.get().and_then(|methods| methods.inner_close) {
        // SAFETY: `file` was opened by the inner VFS, whose close it is.
        Some(inner_close) => unsafe { inner_close(file) },
        None => ffi::SQLITE_OK,
    }
}

/// The registered user of `file` (a main database file of a store).
fn user(file: *mut ffi::sqlite3_file) -> Option<ShmUser> {
    lock(&FILES).get(&(file as usize)).cloned()
}

/// Runs `body` for `file`'s user, answering `error` if there is none, its store is dead, or
/// the body panics.
fn with_user(file: *mut ffi::sqlite3_file, error: c_int, body: impl FnOnce(&SharedMemory, &ShmUser) -> c_int) -> c_int {
    catch_unwind(AssertUnwindSafe(|| match user(file) {
        Some(user) if user.io.is_alive() => body(user.io.locks().shm(), &user),
        _ => error,
    }))
    .unwrap_or(error)
}

/// `xShmMap`: region `region` of the file's wal-index (see [`SharedMemory::map`]).
unsafe extern "C" fn shm_map(
    file: *mut ffi::sqlite3_file,
    region: c_int,
    size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    if out.is_null() {
        return ffi::SQLITE_IOERR_SHMMAP;
    }
    // SAFETY: SQLite passes a valid pointer for the result.
    unsafe { *out = null_mut() };
    let (Ok(region), Ok(size)) = (usize::try_from(region), usize::try_from(size)) else {
        return ffi::SQLITE_IOERR_SHMMAP;
    };
    if size != REGION_BYTES {
        return ffi::SQLITE_IOERR_SHMMAP;
    }
    with_user(file, ffi::SQLITE_IOERR_SHMMAP, |shm, user| {
        if let Some(address) = shm.map(&user.path, user.io.conn(), region, extend != 0) {
            // SAFETY: as above.
            unsafe { *out = address.as_ptr().cast::<c_void>() };
        }
        ffi::SQLITE_OK
    })
}

/// `xShmLock`: slots `offset..offset + count` (see [`SharedMemory::lock`]).
unsafe extern "C" fn shm_lock(file: *mut ffi::sqlite3_file, offset: c_int, count: c_int, flags: c_int) -> c_int {
    let (Ok(first), Ok(count)) = (usize::try_from(offset), usize::try_from(count)) else {
        return ffi::SQLITE_IOERR_SHMLOCK;
    };
    let request = if flags & ffi::SQLITE_SHM_UNLOCK != 0 {
        SlotLock::Unlock
    } else if flags & ffi::SQLITE_SHM_EXCLUSIVE != 0 {
        SlotLock::Exclusive
    } else {
        SlotLock::Shared
    };
    with_user(file, ffi::SQLITE_IOERR_SHMLOCK, |shm, user| {
        if shm.lock(&user.path, user.io.conn(), first, count, request) {
            ffi::SQLITE_OK
        } else if request == SlotLock::Unlock {
            ffi::SQLITE_IOERR_SHMLOCK
        } else {
            ffi::SQLITE_BUSY
        }
    })
}

/// `xShmBarrier`: a memory fence (every connection runs on the simulation's one thread).
unsafe extern "C" fn shm_barrier(_file: *mut ffi::sqlite3_file) {
    fence(Ordering::SeqCst);
}

/// `xShmUnmap`: ends the connection's mapping (see [`SharedMemory::unmap`]). Runs even for a
/// dead store: it only releases.
unsafe extern "C" fn shm_unmap(file: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    catch_unwind(|| {
        if let Some(user) = user(file) {
            user.io.locks().shm().unmap(&user.path, user.io.conn(), delete != 0);
        }
        ffi::SQLITE_OK
    })
    .unwrap_or(ffi::SQLITE_IOERR_SHMMAP)
}
