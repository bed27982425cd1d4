//! [`GroupCommit`]: one [`Engine`] shared by writer threads on a real disk, each write
//! returning once a sync covers it, and concurrent writes sharing syncs. Two modes, those of
//! Cassandra 4.x's `commitlog_sync` ([`CommitLogSync`](crate::CommitLogSync)):
//!
//! - **batch** ([`GroupCommit::new`]): a write starts a sync at once unless one is running;
//!   the writes that arrive while it runs wait for the next one, which covers them all. No
//!   timer: with `n` concurrent writers a sync covers up to `n` writes.
//! - **group** ([`GroupCommit::with_window`]): the same, but a sync starts no sooner than
//!   `window` after the previous one started: the leader sleeps out the rest of the window
//!   before it syncs, so there is at most one sync per window and a write waits up to a window
//!   plus a sync. (Cassandra runs a sync thread on the window instead; sleeping in the leader
//!   gives the same bound without a thread that syncs while nothing is pending.)
//!
//! Cassandra's documentation of the modes (4.0, "cassandra.yaml file configuration",
//! `commitlog_sync_batch_window_in_ms` and `commitlog_sync_group_window_in_ms`,
//! <https://cassandra.apache.org/doc/4.0/cassandra/configuration/cass_yaml_file.html>):
//! under `batch` writes are not acknowledged until the commit log is synced and every
//! incoming write triggers the sync (the old batch window is deprecated); `group` is the
//! same except that it waits up to the group window between syncs.
//!
//! Leader/follower: a writer appends its records under the engine's lock and notes the
//! sequence number of its last record. If no sync is running it becomes the leader; otherwise
//! it waits, and when the running sync ends it either was covered (and returns) or leads the
//! next sync. The leader notes the last sequence number appended and begins a sync under the
//! lock ([`Engine::begin_sync`]: the commit log's buffer is written, a second handle on the
//! segment taken), releases the lock for the file sync itself ([`PendingSync::run`]), then
//! takes it again to finish ([`Engine::finish_sync`]) and publishes "synced up to `n`". So
//! appends never wait for a sync: the writers that arrive during one append at once and are
//! all covered by the next.
//!
//! Gathering (batch mode): a new leader first waits until as many calls have appended as
//! were waiting when the last sync ended, for no longer than that sync took (nor
//! [`GATHER_MAX`]). The writers the last sync released are about to append again; syncing
//! without them splits the writers into two groups that alternate, each sync covering about
//! half (measured: ~4 writes per fsync with 8 writers, against 8 with gathering). A lone
//! writer never waits.
//!
//! What a sync covers: every record appended before [`Engine::begin_sync`], and only those
//! are published as synced; a record appended during the file sync may be on the disk too,
//! but waits for the next sync. A flush during the file sync (a new segment) is safe: it made
//! the records durable in an SSTable and synced the old segment before deleting it.
//!
//! A failed sync poisons the engine (see [`crate::engine`]); the leader gets the error and
//! every other waiting writer [`EngineError::Poisoned`]: its write's outcome is unknown, as
//! in the engine.
//!
//! Not for the simulation: turmoil hosts are single-threaded and the server applies
//! [`CommitLogSync`](crate::CommitLogSync) itself (its batching is
//! [`crate::sync_batch::SyncBatcher`]). The group window is the one place the crate reads a
//! clock (`std::time::Instant`): it exists for real threads only.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::cell::Cell;
use crate::engine::{Engine, PendingSync};
use crate::error::EngineError;

/// How many writes and syncs a [`GroupCommit`] saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GroupStats {
    /// Records appended through [`GroupCommit::write_batch`] (each row counts).
    pub writes: u64,
    /// Calls that returned after a covering sync (one per `write_batch`).
    pub commits: u64,
    /// File syncs issued by leaders (a leader whose records a flush had already made durable
    /// issues none).
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
    /// A leader is syncing (or sleeping out the group window before it syncs).
    leading: bool,
    /// A sync failed: the engine is poisoned.
    failed: bool,
    /// When the last sync began (group mode only).
    last_sync: Option<Instant>,
    /// The last sequence number of each call that appended and has not returned yet.
    waiters: Vec<u64>,
    /// Calls that were waiting when the last sync ended, covered or not: how many writers
    /// are active, the group the next batch-mode leader gathers.
    active: usize,
    /// How long the last file sync took: the most a batch-mode leader waits to gather.
    last_sync_took: Duration,
    stats: GroupStats,
}

impl SyncState {
    /// Waiting calls whose records no sync has covered yet.
    fn uncovered(&self) -> usize {
        self.waiters.iter().filter(|&&mine| mine > self.synced).count()
    }

    /// A waiting call leaves.
    fn leave(&mut self, mine: u64) {
        if let Some(at) = self.waiters.iter().position(|&m| m == mine) {
            self.waiters.swap_remove(at);
        }
    }
}

/// The longest a batch-mode leader waits for the writers of the last group to append again
/// (it waits no longer than the last sync took either). On a loaded machine a woken writer
/// may need milliseconds to run again; a shorter bound splits the writers into two groups.
pub const GATHER_MAX: Duration = Duration::from_millis(10);

/// An [`Engine`] shared by threads, each write returning once a sync covers it (see the
/// module docs).
#[derive(Debug)]
pub struct GroupCommit {
    appender: Mutex<Appender>,
    state: Mutex<SyncState>,
    /// Signalled when a sync ends.
    synced: Condvar,
    /// Signalled when a call has appended (for a leader gathering its group).
    arrived: Condvar,
    /// Group mode: syncs start at least this far apart (`None`: batch mode).
    window: Option<Duration>,
}

/// A lock whose holder panicked is still consistent here: every critical section leaves the
/// counters valid before anything that can panic.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl GroupCommit {
    /// Shares `engine` in batch mode: a sync starts as soon as a write finds none running.
    pub fn new(engine: Engine) -> Self {
        GroupCommit {
            appender: Mutex::new(Appender { engine, appended: 0 }),
            state: Mutex::new(SyncState::default()),
            synced: Condvar::new(),
            arrived: Condvar::new(),
            window: None,
        }
    }

    /// Shares `engine` in group mode: syncs start at least `window` apart (a zero window is
    /// batch mode).
    pub fn with_window(engine: Engine, window: Duration) -> Self {
        GroupCommit { window: (!window.is_zero()).then_some(window), ..GroupCommit::new(engine) }
    }

    /// The group window (`None`: batch mode).
    pub fn window(&self) -> Option<Duration> {
        self.window
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
        state.waiters.push(mine);
        self.arrived.notify_all();
        loop {
            if state.failed {
                state.leave(mine);
                return Err(EngineError::Poisoned);
            }
            if state.synced >= mine {
                state.leave(mine);
                state.stats.commits += 1;
                return Ok(());
            }
            if state.leading {
                state = self.synced.wait(state).unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            state.leading = true;
            if self.window.is_none() {
                state = self.gather(state);
            }
            let last_sync = state.last_sync;
            drop(state);
            let outcome = self.lead(last_sync);
            state = lock(&self.state);
            state.leading = false;
            match outcome {
                Ok(round) => {
                    state.synced = state.synced.max(round.covered);
                    state.stats.syncs += u64::from(round.synced);
                    state.active = state.waiters.len();
                    state.last_sync_took = round.took;
                    if self.window.is_some() {
                        state.last_sync = Some(round.began);
                    }
                }
                Err(error) => {
                    state.failed = true;
                    state.leave(mine);
                    self.synced.notify_all();
                    return Err(error);
                }
            }
            self.synced.notify_all();
        }
    }

    /// Batch mode: before it syncs, the leader waits until as many calls have appended as
    /// were waiting when the last sync ended (the writers it released are about to append
    /// again), for at most as long as the last sync took (and [`GATHER_MAX`]). Without this
    /// the writers split into two groups that alternate, each sync covering about half of
    /// them; with it a sync covers them all. A lone writer never waits (its group is itself).
    /// The idea is PostgreSQL's `commit_delay` with `commit_siblings`, with the delay and the
    /// siblings measured instead of configured.
    fn gather<'a>(&self, mut state: MutexGuard<'a, SyncState>) -> MutexGuard<'a, SyncState> {
        let deadline = Instant::now() + state.last_sync_took.min(GATHER_MAX);
        while state.uncovered() < state.active && !state.failed {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            state = self.arrived.wait_timeout(state, deadline - now).unwrap_or_else(PoisonError::into_inner).0;
        }
        state
    }

    /// One leader's round, holding neither lock while it sleeps or syncs: sleeps out the
    /// group window, begins a sync under the engine's lock, runs it without, finishes it
    /// under the lock again.
    fn lead(&self, last_sync: Option<Instant>) -> Result<Round, EngineError> {
        if let (Some(window), Some(last)) = (self.window, last_sync) {
            let next = last + window;
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            }
        }
        let began = Instant::now();
        let (covered, pending): (u64, PendingSync) = {
            let mut appender = lock(&self.appender);
            let pending = appender.engine.begin_sync()?;
            (appender.appended, pending)
        };
        let synced = pending.is_needed();
        let outcome = pending.run();
        let took = began.elapsed();
        lock(&self.appender).engine.finish_sync(pending, outcome)?;
        Ok(Round { covered, synced, began, took })
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

/// What one leader's round did.
#[derive(Debug, Clone, Copy)]
struct Round {
    /// The last sequence number the sync covered.
    covered: u64,
    /// Whether it issued a file sync.
    synced: bool,
    /// When it began the sync.
    began: Instant,
    /// How long the file sync took.
    took: Duration,
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

    /// Runs `writer(group, thread)` on `threads` OS threads at once, then checks what both modes
    /// promise: every file sync was a leader's (plus the new segment's directory entry, once),
    /// and the engine reopened from the disk holds `keys` keys. Returns the group's counters.
    fn writers_then_reopen(
        dir: &std::path::Path,
        group: GroupCommit,
        threads: u64,
        writer: fn(&GroupCommit, u64) -> Result<(), EngineError>,
        keys: u64,
    ) -> Result<GroupStats, Box<dyn std::error::Error>> {
        let group = Arc::new(group);
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let group = Arc::clone(&group);
                std::thread::spawn(move || writer(&group, t))
            })
            .collect();
        for handle in handles {
            handle.join().map_err(|_| "writer panicked")??;
        }
        let stats = group.stats();
        let group = Arc::into_inner(group).ok_or("still shared")?;
        let mut engine = group.into_inner();
        assert_eq!(engine.take_disk_work().syncs, stats.syncs + 1);
        drop(engine);
        let engine = Engine::open_real(EngineConfig::new(dir), SyncCall::Fsync)?;
        assert_eq!(engine.scan()?.len() as u64, keys);
        drop(engine);
        std::fs::remove_dir_all(dir)?;
        Ok(stats)
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
        let (threads, per_thread) = (8u64, 50u64);
        let writer = |group: &GroupCommit, t: u64| {
            for i in 0..50 {
                group.write(&format!("t{t}-{i}"), cell(t * 1000 + i + 1))?;
            }
            Ok(())
        };
        // Everything acknowledged is in the reopened engine.
        let stats = writers_then_reopen(&dir, GroupCommit::new(engine), threads, writer, threads * per_thread)?;
        assert_eq!(stats.writes, threads * per_thread);
        assert_eq!(stats.commits, threads * per_thread);
        assert!(stats.syncs >= 1 && stats.syncs <= stats.writes, "{stats:?}");
        Ok(())
    }

    /// Group mode on real threads: every write returned from a commit call is on the disk
    /// (the reopened engine holds it), and the counters agree with each other and with the
    /// engine's own count of syncs. No timing is asserted.
    #[test]
    fn window_mode_covers_every_returned_write() -> TestResult {
        let dir = scratch("window");
        let mut engine = Engine::open_real(EngineConfig::new(&dir), SyncCall::Fdatasync)?;
        engine.take_disk_work();
        let group = GroupCommit::with_window(engine, std::time::Duration::from_millis(2));
        assert_eq!(group.window(), Some(std::time::Duration::from_millis(2)));
        let (threads, per_thread) = (4u64, 30u64);
        let writer = |group: &GroupCommit, t: u64| {
            for i in 0..30 {
                if i % 10 == 9 {
                    group.write_batch((0..3).map(|j| ("shared", cell(t * 1000 + i * 10 + j + 1))))?;
                } else {
                    group.write(&format!("t{t}-{i}"), cell(t * 1000 + i + 1))?;
                }
            }
            Ok(())
        };
        // 27 keys per thread and the one shared key.
        let stats = writers_then_reopen(&dir, group, threads, writer, threads * 27 + 1)?;
        // Per thread: 27 single writes and 3 batches of 3 rows.
        assert_eq!(stats.writes, threads * (27 + 3 * 3));
        assert_eq!(stats.commits, threads * per_thread);
        assert!(stats.syncs >= 1 && stats.syncs <= stats.commits, "{stats:?}");
        Ok(())
    }

    #[test]
    fn a_zero_window_is_batch_mode() -> TestResult {
        let dir = scratch("zero");
        let engine = Engine::open_real(EngineConfig::new(&dir), SyncCall::Fsync)?;
        let group = GroupCommit::with_window(engine, std::time::Duration::ZERO);
        assert_eq!(group.window(), None);
        group.write("a", cell(1))?;
        assert_eq!(group.stats(), GroupStats { writes: 1, commits: 1, syncs: 1 });
        drop(group);
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
