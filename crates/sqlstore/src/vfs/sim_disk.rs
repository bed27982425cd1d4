//! [`SimDisk`]: the VFS's [`Disk`] on turmoil's simulated disk, through its std shim
//! (`turmoil::fs::shim::std::fs`), whose writes stay pending until synced and are discarded by
//! `Sim::crash`. The only module of the VFS that touches turmoil.
//!
//! Writes, length changes, syncs and directory changes are reported to the host's OS
//! write-back model (`sim::writeback`, small hooks after each successful call), which writes
//! back what stays unsynced too long: what a power loss spares beyond SQLite's own syncs.
//!
//! The shim resolves to the current host's disk (SQLite runs synchronously on the host's
//! task) and panics outside a host, so every call is refused there first ([`check_in_host`]).

use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sim::writeback;
use turmoil::fs::shim::std::fs as simfs;

use super::disk::{Access, Disk, DiskFile};

/// Fails unless called from inside a turmoil host (where the fs shim can be used).
pub fn check_in_host() -> io::Result<()> {
    // `sim_elapsed` is `None` outside a simulation, while the world is borrowed, or with no
    // current host: exactly the cases in which the shim would panic.
    match turmoil::sim_elapsed() {
        Some(_) => Ok(()),
        None => Err(io::Error::other("not inside a turmoil host: simulated disk unavailable")),
    }
}

/// turmoil's simulated disk (the current host's namespace).
#[derive(Debug, Clone, Copy, Default)]
pub struct SimDisk;

/// A file on turmoil's simulated disk, with its path (what the write-back model tracks).
#[derive(Debug)]
struct SimDiskFile(simfs::File, PathBuf);

impl DiskFile for SimDiskFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        check_in_host()?;
        self.0.read_at(buf, offset)
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        check_in_host()?;
        self.0.write_all_at(buf, offset)?;
        writeback::wrote(&self.1);
        Ok(())
    }

    fn sync_all(&self) -> io::Result<()> {
        check_in_host()?;
        self.0.sync_all()?;
        writeback::synced(&self.1);
        Ok(())
    }

    fn set_len(&self, size: u64) -> io::Result<()> {
        check_in_host()?;
        self.0.set_len(size)?;
        writeback::wrote(&self.1);
        Ok(())
    }

    fn size(&self) -> io::Result<u64> {
        check_in_host()?;
        Ok(self.0.metadata()?.len())
    }
}

impl Disk for SimDisk {
    fn check(&self) -> io::Result<()> {
        check_in_host()
    }

    fn exists(&self, path: &Path) -> bool {
        check_in_host().is_ok() && simfs::exists(path)
    }

    fn open(&self, path: &Path, access: Access) -> io::Result<Arc<dyn DiskFile>> {
        check_in_host()?;
        let mut options = simfs::OpenOptions::new();
        options.read(true);
        match access {
            Access::Read => {}
            Access::Write => {
                options.write(true);
            }
            Access::Create => {
                options.write(true).create(true);
            }
            Access::CreateNew => {
                options.write(true).create_new(true);
            }
        }
        let file = options.open(path)?;
        if matches!(access, Access::Create | Access::CreateNew) {
            writeback::created(path);
        }
        Ok(Arc::new(SimDiskFile(file, path.to_path_buf())))
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        check_in_host()?;
        simfs::remove_file(path)?;
        writeback::removed(path);
        Ok(())
    }

    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        check_in_host()?;
        simfs::sync_dir(path)?;
        writeback::dir_synced(path);
        Ok(())
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        check_in_host()?;
        simfs::create_dir_all(path)?;
        writeback::created(path);
        Ok(())
    }
}
