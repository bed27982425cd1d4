//! A commit-log sync in three steps, so that the file sync itself runs without the engine
//! (and without the lock a [`crate::GroupCommit`] keeps it behind): [`Engine::begin_sync`]
//! under the lock, [`PendingSync::run`] outside it, [`Engine::finish_sync`] under it again.
//!
//! What it covers: every record appended before `begin_sync` returned. Records appended while
//! the file sync runs may reach the disk with it, but it claims nothing for them; the next
//! sync covers them. A flush meanwhile (which starts a new segment) changes nothing: it made
//! the records durable in an SSTable and synced the old segment before deleting it.
//!
//! Failures are those of [`Engine::sync`]: a failed step poisons the engine, and a failed file
//! sync first cuts the segment back to what the last successful sync covered.
//!
//! Real file systems only: the second file handle comes from [`crate::FsFile::try_clone`],
//! which turmoil's simulated disk refuses (its hosts are single-threaded; the simulation's
//! server calls [`Engine::sync`]).

use super::Engine;
use crate::commit_log::SegmentSync;
use crate::error::EngineError;

/// A commit-log sync begun by [`Engine::begin_sync`]: run it anywhere, then hand it back to
/// [`Engine::finish_sync`].
#[derive(Debug)]
#[must_use = "a begun sync must be run and finished"]
pub struct PendingSync {
    /// `None`: nothing was pending, there is nothing to sync.
    sync: Option<SegmentSync>,
}

impl PendingSync {
    /// Whether there is a file sync to run (`false`: every record was already durable).
    pub fn is_needed(&self) -> bool {
        self.sync.is_some()
    }

    /// Runs the file sync, on any thread, without the engine. Its result goes to
    /// [`Engine::finish_sync`].
    pub fn run(&self) -> Result<(), EngineError> {
        self.sync.as_ref().map_or(Ok(()), SegmentSync::run)
    }
}

impl Engine {
    /// Begins a sync of the commit log covering every record appended so far: writes the
    /// commit log's buffer and takes a second handle on the segment (see the module docs).
    pub fn begin_sync(&mut self) -> Result<PendingSync, EngineError> {
        self.check_writable()?;
        let begun = self.log.detach_sync(&mut self.disk);
        self.poison_on_err(begun).map(|sync| PendingSync { sync })
    }

    /// Ends a sync begun by [`Engine::begin_sync`], given what [`PendingSync::run`] returned:
    /// `Ok` once the records it covered are durable. An error poisons the engine (a sync is
    /// never retried), even if the engine was poisoned meanwhile for another reason; success
    /// is reported even then (the records it covered are on the disk).
    pub fn finish_sync(&mut self, pending: PendingSync, outcome: Result<(), EngineError>) -> Result<(), EngineError> {
        let Some(sync) = pending.sync else { return outcome };
        let finished = self.log.finish_detached_sync(&mut self.disk, sync, outcome);
        self.poison_on_err(finished)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::{Cell, Version};
    use crate::engine::EngineConfig;
    use crate::fs::SyncCall;
    use history::Value;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("lsm-detached-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn cell(ts: u64) -> Cell {
        Cell::new(Value::Int(ts as i64), Version::new(ts, 0))
    }

    #[test]
    fn a_detached_sync_counts_like_a_sync_and_is_free_when_nothing_is_pending() -> TestResult {
        let dir = scratch("count");
        let mut engine = Engine::open_real(EngineConfig::new(&dir), SyncCall::Fsync)?;
        engine.take_disk_work();
        engine.write("a", cell(1))?;
        let pending = engine.begin_sync()?;
        assert!(pending.is_needed());
        // Appended while the sync runs: not covered, still pending afterwards.
        engine.write("b", cell(2))?;
        let outcome = pending.run();
        engine.finish_sync(pending, outcome)?;
        // The file sync and, on the segment's first sync, its directory entry.
        assert_eq!(engine.take_disk_work().syncs, 2);
        let pending = engine.begin_sync()?;
        assert!(pending.is_needed(), "the write during the sync is still pending");
        let outcome = pending.run();
        engine.finish_sync(pending, outcome)?;
        assert_eq!(engine.take_disk_work().syncs, 1);
        let pending = engine.begin_sync()?;
        assert!(!pending.is_needed());
        engine.finish_sync(pending, Ok(()))?;
        assert_eq!(engine.take_disk_work().syncs, 0);
        drop(engine);
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn a_flush_during_a_detached_sync_keeps_what_it_covered() -> TestResult {
        let dir = scratch("flush");
        let mut engine = Engine::open_real(EngineConfig::new(&dir), SyncCall::Fsync)?;
        engine.write("a", cell(1))?;
        let pending = engine.begin_sync()?;
        // The segment the sync holds is retired by the flush meanwhile.
        engine.flush()?;
        engine.write("b", cell(2))?;
        let outcome = pending.run();
        engine.finish_sync(pending, outcome)?;
        assert!(!engine.is_poisoned());
        // The new segment was not covered: its record still needs a sync.
        assert!(engine.begin_sync()?.is_needed());
        drop(engine);
        let engine = Engine::open_real(EngineConfig::new(&dir), SyncCall::Fsync)?;
        assert_eq!(engine.get("a")?.map(|c| c.version.timestamp), Some(1));
        drop(engine);
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn a_failed_detached_sync_poisons_and_cuts_the_segment_back() -> TestResult {
        let dir = scratch("fail");
        let mut engine = Engine::open_real(EngineConfig::new(&dir), SyncCall::Fsync)?;
        engine.write("a", cell(1))?;
        engine.sync()?;
        engine.write("b", cell(2))?;
        engine.fail_next_syncs(1);
        let pending = engine.begin_sync()?;
        let outcome = pending.run();
        assert!(outcome.is_err());
        assert!(engine.finish_sync(pending, outcome).is_err());
        assert!(engine.is_poisoned());
        assert!(matches!(engine.begin_sync(), Err(EngineError::Poisoned)));
        drop(engine);
        // Only what the last successful sync covered is replayed.
        let engine = Engine::open_real(EngineConfig::new(&dir), SyncCall::Fsync)?;
        assert!(engine.get("a")?.is_some());
        assert_eq!(engine.get("b")?, None);
        drop(engine);
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
