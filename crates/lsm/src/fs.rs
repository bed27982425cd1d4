//! The file systems the engine runs on: one trait pair, [`FileSystem`] and [`FsFile`], and the
//! implementation over a real directory, [`RealFs`] (`std::fs`, for `lab bench engines` and
//! tests). The implementation over turmoil's simulated disk, what every simulation uses, is
//! `sim::fs::SimFs`: it lives in the harness so that this crate does not depend on turmoil.
//!
//! The traits are the raw calls only. Counting syncs and bytes ([`base::disk_cost::DiskWork`]),
//! fault injection and the mapping of failures to [`EngineError`] live one layer up, in the
//! private `disk` module, so both file systems are counted and can be failed the same way.
//! Dynamic dispatch (`Box<dyn FileSystem>`) keeps [`Engine`](crate::Engine) non-generic: the
//! cost of a virtual call is nothing beside a system call.
//!
//! Why [`FileSystem::check`]: turmoil's shim panics when called outside a simulation host, so
//! `sim::fs::SimFs` refuses every call there with [`EngineError::NotInSimulation`] first;
//! [`RealFs`] can be called from anywhere, on any thread.

use std::fmt::Debug;
use std::fs as stdfs;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::error::EngineError;

/// An open file: positional reads and writes, sync, truncate, length.
pub trait FsFile: Debug + Send {
    /// Writes all of `bytes` at `offset`.
    fn write_all_at(&self, bytes: &[u8], offset: u64) -> io::Result<()>;
    /// Reads into `buf` at `offset`; the number of bytes read (0 at the end of the file).
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;
    /// Makes the file's data durable (`fsync`, or `fdatasync` where the file system says so).
    fn sync(&self) -> io::Result<()>;
    /// Sets the file's length.
    fn set_len(&self, len: u64) -> io::Result<()>;
    /// The file's length.
    fn size(&self) -> io::Result<u64>;
    /// A second handle on the same open file (`dup`), which another thread can sync while
    /// this one is written: what lets [`crate::GroupCommit`] sync without holding the engine.
    /// File systems that cannot share a file across threads (turmoil's simulated disk, whose
    /// hosts are single-threaded) keep the default, which refuses (`Unsupported`).
    fn try_clone(&self) -> io::Result<Box<dyn FsFile>> {
        Err(io::Error::new(io::ErrorKind::Unsupported, "this file system cannot share a file between threads"))
    }
}

/// A directory tree: the calls the engine makes on names.
pub trait FileSystem: Debug + Send {
    /// Fails when the file system cannot be used from here (see the module docs).
    fn check(&self) -> Result<(), EngineError>;
    /// Whether `path` exists.
    fn exists(&self, path: &Path) -> bool;
    /// Creates the directory `path` (its parent must exist).
    fn create_dir(&self, path: &Path) -> io::Result<()>;
    /// Makes the entries of directory `path` durable (new names, renames, deletions).
    fn sync_dir(&self, path: &Path) -> io::Result<()>;
    /// The names in directory `path`, in no particular order (names that are not UTF-8 are
    /// left out: the engine writes none).
    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>>;
    /// Creates `path`, which must not exist, for reading and writing.
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn FsFile>>;
    /// Opens `path` read-only.
    fn open(&self, path: &Path) -> io::Result<Box<dyn FsFile>>;
    /// Deletes the file `path`.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Renames `from` to `to`, replacing `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
}

/// Which system call makes a [`RealFs`] file durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncCall {
    /// `fsync` (`File::sync_all`): data and all metadata. The engine's default, as on the
    /// simulated disk.
    #[default]
    Fsync,
    /// `fdatasync` (`File::sync_data`): data and the metadata needed to read it back (the
    /// length), what SQLite uses on Linux.
    Fdatasync,
}

/// The real file system (`std::fs`). A directory is synced by opening it and calling
/// `sync_all` on it, as POSIX requires for a new name to survive a power loss.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealFs {
    sync: SyncCall,
}

impl RealFs {
    /// The real file system, syncing files with `call`.
    pub fn new(call: SyncCall) -> Self {
        RealFs { sync: call }
    }

    /// The call files are synced with.
    pub fn sync_call(&self) -> SyncCall {
        self.sync
    }
}

/// A file on the real file system.
#[derive(Debug)]
struct RealFile {
    file: stdfs::File,
    sync: SyncCall,
}

impl FsFile for RealFile {
    fn write_all_at(&self, bytes: &[u8], offset: u64) -> io::Result<()> {
        self.file.write_all_at(bytes, offset)
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.file.read_at(buf, offset)
    }

    fn sync(&self) -> io::Result<()> {
        match self.sync {
            SyncCall::Fsync => self.file.sync_all(),
            SyncCall::Fdatasync => self.file.sync_data(),
        }
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.file.set_len(len)
    }

    fn size(&self) -> io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn try_clone(&self) -> io::Result<Box<dyn FsFile>> {
        Ok(Box::new(RealFile { file: self.file.try_clone()?, sync: self.sync }))
    }
}

impl FileSystem for RealFs {
    fn check(&self) -> Result<(), EngineError> {
        Ok(())
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn create_dir(&self, path: &Path) -> io::Result<()> {
        stdfs::create_dir(path)
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        stdfs::File::open(path)?.sync_all()
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in stdfs::read_dir(path)? {
            if let Ok(name) = entry?.file_name().into_string() {
                names.push(name);
            }
        }
        Ok(names)
    }

    fn create_new(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        let file = stdfs::OpenOptions::new().read(true).write(true).create_new(true).open(path)?;
        Ok(Box::new(RealFile { file, sync: self.sync }))
    }

    fn open(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        Ok(Box::new(RealFile { file: stdfs::File::open(path)?, sync: self.sync }))
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        stdfs::remove_file(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        stdfs::rename(from, to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("lsm-fs-{name}-{}", std::process::id()));
        let _ = stdfs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn real_fs_round_trips_a_file() -> Result<(), Box<dyn std::error::Error>> {
        for call in [SyncCall::Fsync, SyncCall::Fdatasync] {
            let fs = RealFs::new(call);
            assert_eq!(fs.sync_call(), call);
            fs.check()?;
            let dir = scratch(&format!("{call:?}"));
            fs.create_dir(&dir)?;
            fs.sync_dir(&dir)?;
            let path = dir.join("a");
            let file = fs.create_new(&path)?;
            assert!(fs.create_new(&path).is_err(), "create_new must refuse an existing name");
            file.write_all_at(b"hello", 0)?;
            file.write_all_at(b"!", 5)?;
            file.sync()?;
            assert_eq!(file.size()?, 6);
            let mut buf = [0u8; 6];
            assert_eq!(fs.open(&path)?.read_at(&mut buf, 0)?, 6);
            assert_eq!(&buf, b"hello!");
            file.set_len(2)?;
            assert_eq!(file.size()?, 2);
            // A cloned handle is the same open file: it sees and syncs what the first wrote.
            let clone = file.try_clone()?;
            file.write_all_at(b"y", 2)?;
            clone.sync()?;
            assert_eq!(clone.size()?, 3);
            fs.rename(&path, &dir.join("b"))?;
            assert_eq!(fs.read_dir(&dir)?, vec!["b".to_owned()]);
            assert!(fs.exists(&dir.join("b")) && !fs.exists(&path));
            fs.remove_file(&dir.join("b"))?;
            assert!(fs.read_dir(&dir)?.is_empty());
            stdfs::remove_dir(&dir)?;
        }
        Ok(())
    }
}
