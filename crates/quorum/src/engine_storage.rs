//! [`EngineStorage`]: the protocol's [`Storage`] over the lsm engine, with Cassandra's commit
//! log sync policies.
//!
//! `put` only appends to the commit log (and the memtable); it never syncs. The server syncs,
//! as the policy says (see [`crate::server`] and [`lsm::CommitLogSync`]):
//!
//! - `batch`: after a call that wrote, at once if no sync is running, otherwise when the
//!   running one ends, one sync for every write that waited ([`lsm::SyncBatcher`]); the
//!   call's effects go out when the covering sync's disk time has passed;
//! - `group`: on a timer, every window; effects of calls made while something was unsynced
//!   ([`EngineStorage::dirty`]) wait for it;
//! - `periodic`: on a timer; acknowledgements go out at once and a crash loses up to one
//!   period.
//!
//! Errors, as the protocol sees them ([`StorageError`]):
//!
//! | engine outcome of `put`                                  | storage error                  |
//! |----------------------------------------------------------|--------------------------------|
//! | write refused before logging ([`lsm::EngineError::is_definite`]: disk full, poisoned) | `Refused` (definite) |
//! | write failed otherwise (I/O error: the record may be logged) | `Io` (unknown)             |
//! | a read (`get`, `scan`) failed                            | `Io` (the read fails)          |
//!
//! A failed sync (the server's) poisons the engine too; the server then stops the node before
//! any effect of the writes it covered goes out, so their callers see an unknown outcome.
//!
//! After a failed write or sync the engine is poisoned ([`EngineStorage::needs_restart`]):
//! the server treats that as a crash and restarts the node, which reopens the engine from its
//! files (see [`lsm::engine`] and [`crate::server`]).
use lsm::{Cell, CommitLogSync, Engine};
use sim::disk_cost::DiskWork;

use crate::storage::{Storage, StorageError};

/// The lsm engine as a node's storage.
#[derive(Debug)]
pub struct EngineStorage {
    engine: Engine,
    sync: CommitLogSync,
    /// Written since the last sync.
    dirty: bool,
    /// Records appended since the last [`EngineStorage::take_appended`].
    appended: u64,
    /// The last failure of a write or sync, for the restart's reason.
    last_error: Option<String>,
}

impl EngineStorage {
    /// Wraps an open engine.
    pub fn new(engine: Engine, sync: CommitLogSync) -> Self {
        Self { engine, sync, dirty: false, appended: 0, last_error: None }
    }

    /// The sync policy.
    pub fn sync_policy(&self) -> CommitLogSync {
        self.sync
    }

    /// Whether something was written since the last sync.
    pub fn dirty(&self) -> bool {
        self.dirty
    }

    /// Records appended since the last call (what a call wrote, for `batch`).
    pub fn take_appended(&mut self) -> u64 {
        std::mem::take(&mut self.appended)
    }

    /// Syncs the commit log (the server's, as its policy says).
    pub fn sync(&mut self) -> Result<(), StorageError> {
        if let Err(error) = self.engine.sync() {
            self.last_error = Some(format!("commit log sync failed: {error}"));
            return Err(io(error));
        }
        self.dirty = false;
        Ok(())
    }

    /// The last failed write or sync.
    pub fn last_error(&self) -> Option<String> {
        self.last_error.clone()
    }

    /// Disk work done since the last call.
    pub fn take_disk_work(&mut self) -> DiskWork {
        self.engine.take_disk_work()
    }

    /// Whether the engine was poisoned by a failed write or sync and must be reopened: the
    /// node has to restart (its memory may reflect writes the disk does not hold).
    pub fn needs_restart(&self) -> bool {
        self.engine.is_poisoned()
    }

    /// The engine (for tests and statistics).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

fn io(error: lsm::EngineError) -> StorageError {
    StorageError::Io(error.to_string())
}

/// A failed write: refused (definite) or unknown.
fn write_error(error: lsm::EngineError) -> StorageError {
    if error.is_disk_full() {
        StorageError::Refused(DISK_FULL.to_owned())
    } else if error.is_definite() {
        StorageError::Refused(error.to_string())
    } else {
        StorageError::Io(error.to_string())
    }
}

/// The reason a write refused for lack of space gives.
pub const DISK_FULL: &str = "disk full";

impl Storage for EngineStorage {
    fn get(&mut self, key: &str) -> Result<Option<Cell>, StorageError> {
        self.engine.get(key).map_err(io)
    }

    fn put(&mut self, key: &str, cell: Cell) -> Result<(), StorageError> {
        if let Err(error) = self.engine.write(key, cell) {
            self.last_error = Some(format!("write failed: {error}"));
            return Err(write_error(error));
        }
        self.dirty = true;
        self.appended += 1;
        Ok(())
    }

    fn scan(&mut self) -> Result<Vec<(String, Cell)>, StorageError> {
        self.engine.scan().map_err(io)
    }
}
