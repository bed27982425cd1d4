//! [`GroupCommit`]: one [`Engine`] shared by writer threads on a real disk, where one sync
//! covers every write appended before it (Cassandra's `group` commit-log mode, or a
//! database's group commit, with OS threads instead of a simulated timer).
//!
//! Leader/follower: a writer appends its records under the engine's lock and notes the
//! sequence number of its last record. Then, if no sync is running, it becomes the leader:
//! it syncs the engine, which covers every record appended so far, including other writers'.
//! A writer that finds a sync running waits; when the sync ends it either was covered (and
//! returns) or leads the next one. Writers that arrive during a sync wait on the lock, then
//! append, and the next single sync covers them all: with `n` concurrent writers a sync
//! covers up to `n` writes, so writes per sync rise above 1 without any timer.
//!
//! The sync runs under the engine's lock (the engine's `sync` needs `&mut`), so appends wait
//! for it; that bounds the batch to the writers that queued during one sync, which is the
//! amortisation the design is after.
//!
//! A failed sync poisons the engine (see [`crate::engine`]); every writer waiting for it gets
//! [`EngineError::Poisoned`], and its write's outcome is unknown, as in the engine.
//!
//! Not for the simulation: turmoil hosts are single-threaded and the server applies
//! [`CommitLogSync`](crate::CommitLogSync) itself.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use crate::cell::Cell;
use crate::engine::Engine;
use crate::error::EngineError;

/// How many writes and syncs a [`GroupCommit`] saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupStats {
    /// Records appended through [`GroupCommit::write_batch`] (each row counts).
    pub writes: u64,
    /// Calls that returned after a covering sync (one per `write_batch`).
    pub commits: u64,
    /// Syncs issued by leaders (each one [`Engine::sync`]).
    pub syncs: u64,
}

impl GroupStats {
    /// Records per sync (`writes` when there was no sync).
    pub fn writes_per_sync(&self) -> f64 {
        self.writes as f64 / self.syncs.max(1) as f64
    }
}

/// The engine and the sequence number of the last record appended to it.
#[derive(Debug)]
struct Appender {
    engine: Engine,
    appended: u64,
}

/// Who syncs and what the last sync covered.
#[derive(Debug, Default)]
struct SyncState {
    /// Every record with a sequence number up to this is durable.
    synced: u64,
    /// A leader is syncing.
    leading: bool,
    /// A sync failed: the engine is poisoned.
    failed: bool,
    stats: GroupStats,
}

/// An [`Engine`] shared by threads, each write returning once a sync covers it (see the
/// module docs).
#[derive(Debug)]
pub struct GroupCommit {
    appender: Mutex<Appender>,
    state: Mutex<SyncState>,
    synced: Condvar,
}

/// A lock whose holder panicked is still consistent here: every critical section leaves the
/// counters valid before anything that can panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl GroupCommit {
    /// Shares `engine`.
    pub fn new(engine: Engine) -> Self {
        GroupCommit {
            appender: Mutex::new(Appender { engine, appended: 0 }),
            state: Mutex::new(SyncState::default()),
            synced: Condvar::new(),
        }
    }

    /// Writes one record and returns once it is durable.
    pub fn write(&self, key: &str, cell: Cell) -> Result<(), EngineError> {
        self.write_batch(std::iter::once((key, cell)))
    }

    /// Writes `rows` (appended together, no other writer's record between them) and returns
    /// once all are durable. An error leaves the outcome of the rows unknown unless
    /// [`EngineError::is_definite`] holds for it and it came from the first row.
    pub fn write_batch<'a>(&self, rows: impl IntoIterator<Item = (&'a str, Cell)>) -> Result<(), EngineError> {
        let (mine, count) = {
            let mut appender = lock(&self.appender);
            let mut count = 0u64;
            for (key, cell) in rows {
                appender.engine.write(key, cell)?;
                appender.appended += 1;
                count += 1;
            }
            (appender.appended, count)
        };
        let mut state = lock(&self.state);
        state.stats.writes += count;
        loop {
            if state.failed {
                return Err(EngineError::Poisoned);
            }
            if state.synced >= mine {
                state.stats.commits += 1;
                return Ok(());
            }
            if state.leading {
                state = self.synced.wait(state).unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            state.leading = true;
            drop(state);
            let outcome = self.sync_all();
            state = lock(&self.state);
            state.leading = false;
            match outcome {
                Ok(covered) => {
                    state.synced = state.synced.max(covered);
                    state.stats.syncs += 1;
                }
                Err(error) => {
                    state.failed = true;
                    self.synced.notify_all();
                    return Err(error);
                }
            }
            self.synced.notify_all();
        }
    }

    /// Syncs the engine; the sequence number the sync covered.
    fn sync_all(&self) -> Result<u64, EngineError> {
        let mut appender = lock(&self.appender);
        let covered = appender.appended;
        appender.engine.sync()?;
        Ok(covered)
    }

    /// The counts so far.
    pub fn stats(&self) -> GroupStats {
        lock(&self.state).stats
    }

    /// Runs `f` on the engine under its lock (for reads, counters, a flush).
    pub fn with_engine<T>(&self, f: impl FnOnce(&mut Engine) -> T) -> T {
        f(&mut lock(&self.appender).engine)
    }

    /// The engine back.
    pub fn into_inner(self) -> Engine {
        self.appender.into_inner().unwrap_or_else(PoisonError::into_inner).engine
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::Version;
    use crate::engine::EngineConfig;
    use crate::fs::SyncCall;
    use history::Value;
    use std::sync::Arc;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("lsm-group-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn cell(ts: u64) -> Cell {
        Cell::new(Value::Int(ts as i64), Version::new(ts, 0))
    }

    #[test]
    fn one_writer_syncs_once_per_write() -> TestResult {
        let dir = scratch("one");
        let mut engine = Engine::open_real(EngineConfig::new(&dir), SyncCall::Fsync)?;
        engine.take_disk_work();
        let group = GroupCommit::new(engine);
        for i in 0..20 {
            group.write(&format!("k{i}"), cell(i + 1))?;
        }
        group.write_batch((0..5).map(|i| ("batch", cell(100 + i))))?;
        assert_eq!(group.stats(), GroupStats { writes: 25, commits: 21, syncs: 21 });
        let mut engine = group.into_inner();
        // 21 file syncs plus the new segment's directory entry, once.
        assert_eq!(engine.take_disk_work().syncs, 22);
        assert_eq!(engine.get("batch")?.map(|c| c.version.timestamp), Some(104));
        drop(engine);
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn concurrent_writers_are_all_covered_and_share_syncs() -> TestResult {
        let dir = scratch("many");
        let mut engine = Engine::open_real(EngineConfig::new(&dir), SyncCall::Fdatasync)?;
        engine.take_disk_work();
        let group = Arc::new(GroupCommit::new(engine));
        let (threads, per_thread) = (8u64, 50u64);
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let group = Arc::clone(&group);
                std::thread::spawn(move || -> Result<(), EngineError> {
                    for i in 0..per_thread {
                        group.write(&format!("t{t}-{i}"), cell(t * 1000 + i + 1))?;
                    }
                    Ok(())
                })
            })
            .collect();
        for handle in handles {
            handle.join().map_err(|_| "writer panicked")??;
        }
        let stats = group.stats();
        assert_eq!(stats.writes, threads * per_thread);
        assert_eq!(stats.commits, threads * per_thread);
        assert!(stats.syncs >= 1 && stats.syncs <= stats.writes, "{stats:?}");
        let group = Arc::into_inner(group).ok_or("still shared")?;
        let mut engine = group.into_inner();
        assert_eq!(engine.take_disk_work().syncs, stats.syncs + 1);
        drop(engine);
        // Everything acknowledged is in the reopened engine.
        let engine = Engine::open_real(EngineConfig::new(&dir), SyncCall::Fsync)?;
        assert_eq!(engine.scan()?.len() as u64, threads * per_thread);
        drop(engine);
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn a_failed_sync_fails_the_writer() -> TestResult {
        let dir = scratch("fail");
        let mut engine = Engine::open_real(EngineConfig::new(&dir), SyncCall::Fsync)?;
        engine.fail_next_syncs(1);
        let group = GroupCommit::new(engine);
        assert!(group.write("a", cell(1)).is_err());
        assert!(matches!(group.write("b", cell(2)), Err(EngineError::Poisoned)));
        assert!(group.with_engine(|e| e.is_poisoned()));
        drop(group);
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
