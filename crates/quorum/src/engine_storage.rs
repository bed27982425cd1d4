//! [`EngineStorage`]: the protocol's [`Storage`] over the lsm engine, with Cassandra's commit
//! log sync policies.
//!
//! - `batch`: every `put` syncs the commit log before it returns, so the acknowledgement the
//!   node sends afterwards covers a durable write;
//! - `group` and `periodic`: `put` only appends; the server syncs on a timer. Under `group` it
//!   also holds back the effects of calls that wrote until that sync ([`EngineStorage::dirty`]);
//!   under `periodic` acknowledgements go out at once and a crash loses up to one period.
//!
//! Errors, as the protocol sees them ([`StorageError`]):
//!
//! | engine outcome of `put`                                  | storage error                  |
//! |----------------------------------------------------------|--------------------------------|
//! | write refused before logging ([`lsm::EngineError::is_definite`]: disk full, poisoned) | `Refused` (definite) |
//! | write failed otherwise (I/O error: the record may be logged) | `Io` (unknown)             |
//! | write logged, `batch` sync failed                        | `Io` (unknown)                 |
//! | a read (`get`, `scan`) failed                            | `Io` (the read fails)          |
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
    /// The last failure of a write or sync, for the restart's reason.
    last_error: Option<String>,
}

impl EngineStorage {
    /// Wraps an open engine.
    pub fn new(engine: Engine, sync: CommitLogSync) -> Self {
        Self { engine, sync, dirty: false, last_error: None }
    }

    /// The sync policy.
    pub fn sync_policy(&self) -> CommitLogSync {
        self.sync
    }

    /// Whether something was written since the last sync.
    pub fn dirty(&self) -> bool {
        self.dirty
    }

    /// Syncs the commit log (the timer of `group` and `periodic`).
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
        if self.sync == CommitLogSync::Batch {
            self.sync()?;
        }
        Ok(())
    }

    fn scan(&mut self) -> Result<Vec<(String, Cell)>, StorageError> {
        self.engine.scan().map_err(io)
    }
}
