//! The engine's answers to disk failures, as the [`crate::engine`] docs describe them: making
//! room on a full disk (the reserve, a flush, a compaction), undoing a flush or compaction
//! that ran out of space, and poisoning after any other failed write or sync.

use super::Engine;
use crate::error::EngineError;
use crate::reserve;

impl Engine {
    /// After a write found the disk full: give up the reserve, flush (or, with an empty
    /// memtable, compact) to free space, take the reserve back (see [`crate::engine`]).
    pub(super) fn reclaim(&mut self) {
        if self.reclaim_failed || self.poisoned {
            return;
        }
        if reserve::release(&mut self.disk).is_err() {
            self.poisoned = true;
            return;
        }
        self.reserve = false;
        let freed = if !self.memtable.is_empty() {
            self.flush()
        } else if self.sstables.len() >= 2 {
            self.compact()
        } else {
            Ok(())
        };
        if freed.as_ref().is_err_and(EngineError::is_disk_full) {
            self.reclaim_failed = true;
        }
        self.take_reserve();
    }

    /// Writes the reserve if it is missing and fits (see [`crate::reserve`]).
    pub(super) fn take_reserve(&mut self) {
        if self.reserve || self.poisoned {
            return;
        }
        match reserve::ensure(&mut self.disk, reserve::reserve_bytes(self.config.memtable_bytes)) {
            Ok(taken) => self.reserve = taken,
            Err(_) => self.poisoned = true,
        }
    }

    /// After a flush or compaction failed before its manifest was installed: with a full
    /// disk, deletes the files it had created (`names`, those that exist) so that nothing
    /// changed, and returns the [`EngineError::DiskFull`]; a failure to clean up, or any
    /// other error, is returned as it is (and poisons).
    pub(super) fn undo(&mut self, error: EngineError, names: &[String]) -> EngineError {
        if !error.is_disk_full() {
            return error;
        }
        let cleaned = (|| {
            for name in names {
                if self.disk.len_of(name)?.is_some() {
                    self.disk.remove(name, true)?;
                }
            }
            self.disk.sync_dir()
        })();
        cleaned.err().unwrap_or(error)
    }

    pub(super) fn poison_on_err<T>(&mut self, result: Result<T, EngineError>) -> Result<T, EngineError> {
        if result.is_err() {
            self.poisoned = true;
        }
        result
    }

    /// Poisons on any error but a full disk (after which [`Engine::undo`] left nothing
    /// changed).
    pub(super) fn poison_unless_full<T>(&mut self, result: Result<T, EngineError>) -> Result<T, EngineError> {
        if result.as_ref().is_err_and(|e| !e.is_disk_full()) {
            self.poisoned = true;
        }
        result
    }

    /// Whether an earlier failure poisoned the engine: it refuses every change and must be
    /// reopened (see the module docs).
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    /// Whether the engine gave up making room on a full disk: it refuses writes that do not
    /// fit and serves reads until it is reopened.
    pub fn is_read_only(&self) -> bool {
        self.reclaim_failed
    }

    /// Fault injection: the next `syncs` file syncs fail with an I/O error, as a kernel
    /// reports a failed write-back (turmoil's disk never fails a sync by itself).
    pub fn fail_next_syncs(&mut self, syncs: u64) {
        self.disk.fail_next_syncs(syncs);
    }

    /// Fault injection for crash tests: after `mutations` more mutating disk calls (create,
    /// write, sync, rename, remove), every one fails with an I/O error, as if the process had
    /// died at that point (the engine is then poisoned); `None` turns this off. Crashing the
    /// host right after the failure explores crash points inside a flush or compaction, which
    /// a simulation cannot otherwise reach: engine calls never yield.
    pub fn fail_disk_after(&mut self, mutations: Option<u64>) {
        self.disk.fail_after(mutations);
    }
}
