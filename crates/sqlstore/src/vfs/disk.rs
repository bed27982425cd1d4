//! The disk the VFS reaches its files through: [`Disk`] (names: open, exists, delete,
//! directories) and [`DiskFile`] (an open file: positional reads and writes, sync, truncate,
//! length), as the storage engine reaches its disk through `lsm::FileSystem`.
//!
//! The traits are the raw calls only. What the VFS layers on top (liveness, counting syncs
//! and bytes, commit points, remembering failed syncs, fault injection, zero-filling short
//! reads) stays in the VFS and [`super::DiskIo`], so every disk is counted and failed alike.
//! The simulations use [`super::SimDisk`] (turmoil's simulated disk); the VFS itself does not
//! depend on turmoil.
//!
//! Every method returns an error rather than panic: the VFS calls them from SQLite's
//! `extern "C"` callbacks. Implementations are shared between a store, its open files and the
//! write-back task (`Send + Sync`).

use std::fmt::Debug;
use std::io;
use std::path::Path;
use std::sync::Arc;

/// How a file is opened (SQLite's request, mirrored so the trait does not depend on the VFS
/// crate). Every open file can be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read only; the file must exist.
    Read,
    /// Read and write; the file must exist.
    Write,
    /// Read and write; created if it does not exist.
    Create,
    /// Read and write; the file must not exist yet.
    CreateNew,
}

/// An open file.
pub trait DiskFile: Debug + Send + Sync {
    /// Reads into `buf` at `offset`; the number of bytes read (0 at the end of the file).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// Writes all of `buf` at `offset`.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()>;
    /// Makes the file's data and metadata durable (`fsync`).
    fn sync_all(&self) -> io::Result<()>;
    /// Sets the file's length.
    fn set_len(&self, size: u64) -> io::Result<()>;
    /// The file's length.
    fn size(&self) -> io::Result<u64>;
}

/// A directory tree: the calls the VFS and the store make on names.
pub trait Disk: Debug + Send + Sync {
    /// Fails when the disk cannot be used from here (turmoil's disk: outside a host).
    fn check(&self) -> io::Result<()>;
    /// Whether `path` exists.
    fn exists(&self, path: &Path) -> bool;
    /// Opens `path` with `access`.
    fn open(&self, path: &Path, access: Access) -> io::Result<Arc<dyn DiskFile>>;
    /// Deletes the file `path`.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Makes the entries of directory `path` durable (new names, deletions).
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
    /// Creates directory `path` and its missing ancestors.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
}
