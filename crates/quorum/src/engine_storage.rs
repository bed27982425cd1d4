//! [`EngineStorage`]: the protocol's [`Storage`] over the lsm engine, with Cassandra's commit
//! log sync policies.
//!
//! - `batch`: every `put` syncs the commit log before it returns, so the acknowledgement the
//!   node sends afterwards covers a durable write;
//! - `group` and `periodic`: `put` only appends; the server syncs on a timer. Under `group` it
//!   also holds back the effects of calls that wrote until that sync ([`EngineStorage::dirty`]);
//!   under `periodic` acknowledgements go out at once and a crash loses up to one period.

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
}

impl EngineStorage {
    /// Wraps an open engine.
    pub fn new(engine: Engine, sync: CommitLogSync) -> Self {
        Self { engine, sync, dirty: false }
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
        self.engine.sync().map_err(io)?;
        self.dirty = false;
        Ok(())
    }

    /// Disk work done since the last call.
    pub fn take_disk_work(&mut self) -> DiskWork {
        self.engine.take_disk_work()
    }

    /// The engine (for tests and statistics).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

fn io(error: lsm::EngineError) -> StorageError {
    StorageError::Io(error.to_string())
}

impl Storage for EngineStorage {
    fn get(&mut self, key: &str) -> Result<Option<Cell>, StorageError> {
        self.engine.get(key).map_err(io)
    }

    fn put(&mut self, key: &str, cell: Cell) -> Result<(), StorageError> {
        self.engine.write(key, cell).map_err(io)?;
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
