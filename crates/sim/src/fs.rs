//! The storage engine's disk on turmoil's simulated disk: [`SimFs`], the [`lsm::FileSystem`]
//! that every simulation opens its engines on (through turmoil's std shim, the current host's
//! namespace).
//!
//! Why here and not in `lsm`: the engine sees its disk only through the [`lsm::FileSystem`]
//! trait, so the engine crate needs no turmoil; this harness already depends on turmoil, and
//! the quorum store's adapter and the engine's own simulation tests both use it from here.
//!
//! Every write, length change, sync and directory change is reported to the host's OS
//! write-back model ([`crate::writeback`]), which writes back what stays unsynced too long.
//!
//! turmoil's shim panics when called outside a host: every call is refused there first, with
//! [`EngineError::NotInSimulation`] (or an I/O error wrapping it).

use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use lsm::{EngineError, FileSystem, FsFile};
use turmoil::fs::shim::std::fs as simfs;

use crate::writeback;

/// Fails unless called from inside a turmoil host (where the fs shim can be used).
pub fn check_in_host() -> Result<(), EngineError> {
    // `sim_elapsed` is `None` outside a simulation, while the world is borrowed, or with no
    // current host: exactly the cases in which the shim would panic.
    match turmoil::sim_elapsed() {
        Some(_) => Ok(()),
        None => Err(EngineError::NotInSimulation),
    }
}

/// turmoil's simulated disk (the current host's namespace), through `turmoil::fs::shim`.
/// Usable only inside a turmoil host.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimFs;

/// A file on turmoil's simulated disk, with its path (what the write-back model tracks).
#[derive(Debug)]
struct SimFile {
    file: simfs::File,
    path: PathBuf,
}

/// The shim panics outside a host; an error is the polite answer.
fn host_io() -> io::Result<()> {
    check_in_host().map_err(io::Error::other)
}

impl FsFile for SimFile {
    fn write_all_at(&self, bytes: &[u8], offset: u64) -> io::Result<()> {
        host_io()?;
        self.file.write_all_at(bytes, offset)?;
        writeback::wrote(&self.path);
        Ok(())
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        host_io()?;
        self.file.read_at(buf, offset)
    }

    fn sync(&self) -> io::Result<()> {
        host_io()?;
        self.file.sync_all()?;
        writeback::synced(&self.path);
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        host_io()?;
        self.file.set_len(len)?;
        writeback::wrote(&self.path);
        Ok(())
    }

    fn size(&self) -> io::Result<u64> {
        host_io()?;
        Ok(self.file.metadata()?.len())
    }
}

impl FileSystem for SimFs {
    fn check(&self) -> Result<(), EngineError> {
        check_in_host()
    }

    fn exists(&self, path: &Path) -> bool {
        check_in_host().is_ok() && simfs::exists(path)
    }

    fn create_dir(&self, path: &Path) -> io::Result<()> {
        host_io()?;
        simfs::create_dir(path)?;
        writeback::created(path);
        Ok(())
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        host_io()?;
        simfs::sync_dir(path)?;
        writeback::dir_synced(path);
        Ok(())
    }

    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        host_io()?;
        let entries = simfs::read_dir(path)?;
        Ok(entries.filter_map(|entry| entry.ok()).filter_map(|entry| entry.file_name().into_string().ok()).collect())
    }

    fn create_new(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        host_io()?;
        let file = simfs::OpenOptions::new().read(true).write(true).create_new(true).open(path)?;
        writeback::created(path);
        Ok(Box::new(SimFile { file, path: path.to_path_buf() }))
    }

    fn open(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        host_io()?;
        Ok(Box::new(SimFile { file: simfs::File::open(path)?, path: path.to_path_buf() }))
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        host_io()?;
        simfs::remove_file(path)?;
        writeback::removed(path);
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        host_io()?;
        simfs::rename(from, to)?;
        writeback::renamed(from, to);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_fs_refuses_outside_a_host() {
        assert!(matches!(SimFs.check(), Err(EngineError::NotInSimulation)));
        assert!(!SimFs.exists(Path::new("/")));
        assert!(SimFs.create_new(Path::new("/x")).is_err());
        assert!(SimFs.read_dir(Path::new("/")).is_err());
    }
}
