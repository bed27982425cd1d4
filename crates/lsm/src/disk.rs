//! The only module that calls the file system, through a [`FileSystem`] (turmoil's simulated
//! disk, `sim::fs::SimFs`, or the real one, [`crate::fs::RealFs`]), with every write and
//! sync counted in [`DiskWork`] and the fault-injection hooks applied to both.
//!
//! Every call first asks the file system whether it can be used from here
//! ([`FileSystem::check`]: the simulated disk fails with [`EngineError::NotInSimulation`]
//! outside a turmoil host, where its shim would panic). Reads are not counted: the disk cost
//! model charges syncs and bytes written only.
//!
//! Errors: a write that fails for lack of space ("no space left on device": turmoil's
//! capacity limit, `ENOSPC`) is [`EngineError::DiskFull`]; turmoil checks the space before it
//! writes anything, so such a write left no bytes behind (a real file system may have written
//! part of it: the commit log's length is not advanced either way, so the next record
//! overwrites the partial one). Every other failure is [`EngineError::Io`].
//!
//! One turmoil quirk shapes [`Disk::remove`]: the simulated disk keys pending (unsynced)
//! writes by path, so an unsynced file's writes outlive its deletion, stay in a list that
//! every later shim call scans, and would reappear in any later file of the same name. A file
//! that may hold unsynced data is therefore synced before it is deleted (the engine never
//! reuses a name either).

use std::io;
use std::path::{Path, PathBuf};

use base::disk_cost::DiskWork;

use crate::error::EngineError;
use crate::fs::{FileSystem, FsFile};

/// An open file of the engine's file system.
pub(crate) type File = Box<dyn FsFile>;

/// The engine's directory on its file system, and the work done on it.
#[derive(Debug)]
pub(crate) struct Disk {
    fs: Box<dyn FileSystem>,
    dir: PathBuf,
    work: DiskWork,
    /// Fault injection: mutations allowed before every mutation fails.
    fail_after: Option<u64>,
    /// Fault injection: file syncs that fail next (as a kernel reporting a write-back error).
    fail_syncs: u64,
}

impl Disk {
    /// The directory `dir` on `fs` (not touched yet).
    pub fn new(fs: Box<dyn FileSystem>, dir: PathBuf) -> Self {
        Disk { fs, dir, work: DiskWork::default(), fail_after: None, fail_syncs: 0 }
    }

    /// Fails when the file system cannot be used from here (outside a turmoil host, for the
    /// simulated disk).
    pub fn check(&self) -> Result<(), EngineError> {
        self.fs.check()
    }

    /// After `mutations` more mutating calls (create, write, sync, rename, remove), every
    /// mutating call fails, as if the process had died there; `None` turns this off.
    pub fn fail_after(&mut self, mutations: Option<u64>) {
        self.fail_after = mutations;
    }

    /// The next `syncs` file syncs fail with an I/O error (after doing nothing), as a kernel
    /// reports a failed write-back.
    pub fn fail_next_syncs(&mut self, syncs: u64) {
        self.fail_syncs = syncs;
    }

    /// Checks the host and counts one mutation against [`Disk::fail_after`].
    fn mutation(&mut self, op: &'static str, path: &Path) -> Result<(), EngineError> {
        self.fs.check()?;
        match &mut self.fail_after {
            Some(0) => Err(EngineError::io(op, path, io::Error::other("injected disk failure"))),
            Some(left) => {
                *left -= 1;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// The path of `name` in the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// The work counted since the last call, resetting it.
    pub fn take_work(&mut self) -> DiskWork {
        std::mem::take(&mut self.work)
    }

    /// Runs `f` without counting its work: for background housekeeping no request waits for.
    pub fn uncounted<T>(&mut self, f: impl FnOnce(&mut Disk) -> T) -> T {
        let counted = std::mem::take(&mut self.work);
        let out = f(self);
        self.work = counted;
        out
    }

    /// Creates the directory (and missing ancestors) if it does not exist, syncing each
    /// parent so the new entries survive a crash.
    pub fn ensure_dir(&mut self) -> Result<(), EngineError> {
        self.fs.check()?;
        if self.fs.exists(&self.dir) {
            return Ok(());
        }
        let missing: Vec<PathBuf> = self
            .dir
            .ancestors()
            .filter(|a| !a.as_os_str().is_empty() && !self.fs.exists(a))
            .map(Path::to_path_buf)
            .collect();
        for dir in missing.iter().rev() {
            self.mutation("create_dir", dir)?;
            self.fs.create_dir(dir).map_err(|e| EngineError::io("create_dir", dir, e))?;
            let parent = dir.parent().unwrap_or(Path::new("/"));
            self.fs.sync_dir(parent).map_err(|e| EngineError::io("sync_dir", parent, e))?;
            self.work.syncs += 1;
        }
        Ok(())
    }

    /// The names of the directory's entries, sorted.
    pub fn list(&self) -> Result<Vec<String>, EngineError> {
        self.fs.check()?;
        let mut names = self.fs.read_dir(&self.dir).map_err(|e| EngineError::io("read_dir", &self.dir, e))?;
        names.sort();
        Ok(names)
    }

    /// Creates `name`, which must not exist, for reading and writing.
    pub fn create(&mut self, name: &str) -> Result<File, EngineError> {
        let path = self.path(name);
        self.mutation("create", &path)?;
        self.fs.create_new(&path).map_err(|e| EngineError::io("create", path, e))
    }

    /// Opens `name` read-only.
    pub fn open(&self, name: &str) -> Result<File, EngineError> {
        self.fs.check()?;
        let path = self.path(name);
        self.fs.open(&path).map_err(|e| EngineError::io("open", path, e))
    }

    /// Writes all of `bytes` at `offset` of `file` (named `name`).
    pub fn write_at(&mut self, file: &File, name: &str, bytes: &[u8], offset: u64) -> Result<(), EngineError> {
        self.mutation("write", &self.path(name))?;
        file.write_all_at(bytes, offset).map_err(|e| {
            if is_no_space(&e) {
                EngineError::DiskFull { op: "write", path: self.path(name) }
            } else {
                EngineError::io("write", self.path(name), e)
            }
        })?;
        self.work.bytes_written =
            self.work.bytes_written.saturating_add(u64::try_from(bytes.len()).unwrap_or(u64::MAX));
        Ok(())
    }

    /// Makes `file`'s data durable (not its name: see [`Disk::sync_dir`]).
    pub fn sync_file(&mut self, file: &File, name: &str) -> Result<(), EngineError> {
        self.mutation("sync", &self.path(name))?;
        if self.fail_syncs > 0 {
            self.fail_syncs -= 1;
            return Err(EngineError::io("sync", self.path(name), io::Error::other("injected write-back failure")));
        }
        file.sync().map_err(|e| EngineError::io("sync", self.path(name), e))?;
        self.work.syncs += 1;
        Ok(())
    }

    /// Prepares a sync of `file` (named `name`) that runs without the disk (and so without
    /// the engine's lock): counts the mutation and applies fault injection now, and hands out
    /// a second handle on the file ([`FsFile::try_clone`]) for [`DetachedSync::run`]. The
    /// sync is counted in the work by [`Disk::count_detached_sync`] once it succeeded.
    pub fn detach_sync(&mut self, file: &File, name: &str) -> Result<DetachedSync, EngineError> {
        let path = self.path(name);
        self.mutation("sync", &path)?;
        let injected_failure = self.fail_syncs > 0;
        if injected_failure {
            self.fail_syncs -= 1;
        }
        let file = file.try_clone().map_err(|e| EngineError::io("dup", &path, e))?;
        Ok(DetachedSync { file, path, injected_failure })
    }

    /// Counts a [`DetachedSync`] that succeeded.
    pub fn count_detached_sync(&mut self) {
        self.work.syncs += 1;
    }

    /// Sets `file`'s length to `len` (pending until the next sync, like a write).
    pub fn set_len(&mut self, file: &File, name: &str, len: u64) -> Result<(), EngineError> {
        self.mutation("set_len", &self.path(name))?;
        file.set_len(len).map_err(|e| EngineError::io("set_len", self.path(name), e))
    }

    /// The length of `name`, or `None` if it does not exist.
    pub fn len_of(&self, name: &str) -> Result<Option<u64>, EngineError> {
        self.fs.check()?;
        let path = self.path(name);
        if !self.fs.exists(&path) {
            return Ok(None);
        }
        let file = self.open(name)?;
        file_len(&file).map(Some).map_err(|e| EngineError::io("stat", path, e))
    }

    /// Makes the directory's entries durable: new names, renames and deletions.
    pub fn sync_dir(&mut self) -> Result<(), EngineError> {
        self.mutation("sync_dir", &self.dir.clone())?;
        self.fs.sync_dir(&self.dir).map_err(|e| EngineError::io("sync_dir", &self.dir, e))?;
        self.work.syncs += 1;
        Ok(())
    }

    /// Deletes `name` (durable after the next [`Disk::sync_dir`]). With `may_be_unsynced`, the
    /// file is synced first (see the module docs).
    pub fn remove(&mut self, name: &str, may_be_unsynced: bool) -> Result<(), EngineError> {
        let path = self.path(name);
        if may_be_unsynced {
            let file = self.open(name)?;
            self.sync_file(&file, name)?;
        }
        self.mutation("remove", &path)?;
        self.fs.remove_file(&path).map_err(|e| EngineError::io("remove", path, e))
    }

    /// Renames `from` to `to` (durable after the next [`Disk::sync_dir`]).
    pub fn rename(&mut self, from: &str, to: &str) -> Result<(), EngineError> {
        let (from, to) = (self.path(from), self.path(to));
        self.mutation("rename", &from)?;
        self.fs.rename(&from, &to).map_err(|e| EngineError::io("rename", from, e))
    }

    /// The whole content of `name`.
    pub fn read_all(&self, name: &str) -> Result<Vec<u8>, EngineError> {
        let file = self.open(name)?;
        let len = file_len(&file).map_err(|e| EngineError::io("stat", self.path(name), e))?;
        let mut buf = vec![0; usize::try_from(len).unwrap_or(usize::MAX)];
        read_exact_at(&file, &mut buf, 0).map_err(|e| EngineError::io("read", self.path(name), e))?;
        Ok(buf)
    }
}

/// A file sync prepared by [`Disk::detach_sync`]: a handle of its own, so it can run on any
/// thread while the engine goes on appending to the same file.
#[derive(Debug)]
pub(crate) struct DetachedSync {
    file: File,
    path: PathBuf,
    /// Fault injection: fail without syncing ([`Disk::fail_next_syncs`]).
    injected_failure: bool,
}

impl DetachedSync {
    /// Syncs the file: every byte written to it before [`Disk::detach_sync`] returned is
    /// durable afterwards (later writes may be too).
    pub fn run(&self) -> Result<(), EngineError> {
        if self.injected_failure {
            return Err(EngineError::io("sync", &self.path, io::Error::other("injected write-back failure")));
        }
        self.file.sync().map_err(|e| EngineError::io("sync", &self.path, e))
    }
}

/// Whether an I/O error says the disk is full (`ENOSPC`; turmoil reports its capacity limit
/// as an untyped error with the same message).
pub fn is_no_space(error: &io::Error) -> bool {
    const ENOSPC: i32 = 28;
    error.kind() == io::ErrorKind::StorageFull
        || error.raw_os_error() == Some(ENOSPC)
        || error.to_string().contains("No space left on device")
}

/// The length of `file`.
pub fn file_len(file: &File) -> io::Result<u64> {
    file.size()
}

/// Fills `buf` from `offset` of `file`; a short file is an `UnexpectedEof` error.
pub fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        let at = offset.saturating_add(u64::try_from(filled).unwrap_or(u64::MAX));
        match file.read_at(&mut buf[filled..], at) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file shorter than expected")),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
