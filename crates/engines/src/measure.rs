//! One measured cell of the table ([`Row`]) and the loop that measures it: a writer function
//! run by 1 or more threads until a wall-time budget or a write budget is spent, with the
//! machine's counters sampled around it.
//!
//! Wall time is read here (the bench is the one place that measures it); the write budget
//! makes a run's counts exact, which the tests rely on.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use serde::Serialize;

use super::machine::Counters;

/// How long a cell runs: until `seconds` of wall time have passed or `max_writes` rows were
/// written, whichever comes first (a writer finishes the commit it started).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// Wall-time limit.
    pub seconds: f64,
    /// Row limit.
    pub max_writes: u64,
}

/// What the engine counted itself (exact), beside the machine's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Exact {
    /// File and directory syncs.
    pub syncs: u64,
    /// Bytes handed to `write`.
    pub bytes: u64,
}

/// One measured cell.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// `raw`, `lsm` or `sqlite`.
    pub engine: String,
    /// The durability setting (or, for `raw`, the operation).
    pub setting: String,
    /// The system call that makes data durable (`fsync`, `fdatasync`, `-`).
    pub sync_call: String,
    /// Rows per commit (1: single-row writes).
    pub rows_per_commit: u64,
    /// Writer threads.
    pub threads: u64,
    /// Rows (or, for `raw`, write calls) completed.
    pub writes: u64,
    /// Wall time.
    pub seconds: f64,
    /// `writes / seconds`.
    pub writes_per_s: f64,
    /// Syncs per write, counted exactly by the engine (`None`: not countable, see
    /// `device_flushes_per_write`).
    pub fsyncs_per_write: Option<f64>,
    /// The device's completed flush requests per write (machine-wide).
    pub device_flushes_per_write: f64,
    /// Bytes handed to `write` per row (exact: the engine's count, or for SQLite this
    /// process's `wchar`).
    pub bytes_per_write: f64,
    /// `bytes_per_write * writes_per_s`, in MB/s (10^6 bytes).
    pub mb_per_s: f64,
    /// Writes per sync (`writes / syncs`, `None` without syncs or without an exact count).
    pub writes_per_fsync: Option<f64>,
    /// The baseline this row is compared with (see the summary).
    pub baseline: Option<String>,
    /// How many times slower than the baseline (baseline rate / this rate, in writes/s for
    /// synced rows, MB/s for unsynced ones); below 1 is faster.
    pub x_baseline: Option<f64>,
    /// Anything to know when reading the row.
    pub note: String,
}

/// The raw results of a measurement loop.
#[derive(Debug, Clone, Copy)]
pub struct Measured {
    /// Rows completed.
    pub writes: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Machine counters over the loop.
    pub counters: Counters,
}

impl Measured {
    /// A [`Row`] with the rates filled in; `exact` is the engine's own count when it has one.
    pub fn row(&self, engine: &str, setting: &str, sync_call: &str, shape: (u64, u64), exact: Option<Exact>) -> Row {
        let seconds = self.elapsed.as_secs_f64().max(1e-9);
        let writes = self.writes.max(1) as f64;
        let bytes = exact.map_or(self.counters.process_bytes, |e| e.bytes) as f64;
        let bytes_per_write = bytes / writes;
        let writes_per_s = self.writes as f64 / seconds;
        Row {
            engine: engine.to_owned(),
            setting: setting.to_owned(),
            sync_call: sync_call.to_owned(),
            rows_per_commit: shape.0,
            threads: shape.1,
            writes: self.writes,
            seconds,
            writes_per_s,
            fsyncs_per_write: exact.map(|e| e.syncs as f64 / writes),
            device_flushes_per_write: self.counters.device_flushes as f64 / writes,
            bytes_per_write,
            mb_per_s: bytes_per_write * writes_per_s / 1e6,
            writes_per_fsync: exact.filter(|e| e.syncs > 0).map(|e| self.writes as f64 / e.syncs as f64),
            baseline: None,
            x_baseline: None,
            note: String::new(),
        }
    }
}

/// Runs `threads` writers; each calls `commit(thread, first_row)` repeatedly, which writes
/// some rows and returns how many, until the budget is spent. The rows are numbered from 0
/// across all threads (`first_row` is the commit's first number). The first error stops
/// every writer and is returned.
pub fn run_writers<F>(threads: u64, budget: Budget, device: Option<&str>, commit: F) -> Result<Measured>
where
    F: Fn(u64, u64) -> Result<u64> + Sync,
{
    let next_row = AtomicU64::new(0);
    let done = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let deadline = Duration::from_secs_f64(budget.seconds.max(0.0));
    let before = Counters::sample(device);
    let start = Instant::now();
    let outcome: Result<()> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|thread| {
                let (next_row, done, stop, commit) = (&next_row, &done, &stop, &commit);
                scope.spawn(move || -> Result<()> {
                    while !stop.load(Ordering::Relaxed) {
                        if start.elapsed() >= deadline || done.load(Ordering::Relaxed) >= budget.max_writes {
                            break;
                        }
                        let first = next_row.load(Ordering::Relaxed);
                        match commit(thread, first) {
                            Ok(rows) => {
                                next_row.fetch_add(rows, Ordering::Relaxed);
                                done.fetch_add(rows, Ordering::Relaxed);
                            }
                            Err(e) => {
                                stop.store(true, Ordering::Relaxed);
                                return Err(e);
                            }
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| h.join().map_err(|_| anyhow!("a writer thread panicked"))?)
    });
    let elapsed = start.elapsed();
    outcome?;
    let counters = before.since(Counters::sample(device));
    Ok(Measured { writes: done.load(Ordering::Relaxed), elapsed, counters })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_budget_is_exact_for_one_thread() -> Result<()> {
        let budget = Budget { seconds: 1e6, max_writes: 1000 };
        let measured = run_writers(1, budget, None, |_, _| Ok(10))?;
        assert_eq!(measured.writes, 1000);
        let row = measured.row("x", "y", "-", (10, 1), Some(Exact { syncs: 100, bytes: 5000 }));
        assert_eq!(row.fsyncs_per_write, Some(0.1));
        assert_eq!(row.writes_per_fsync, Some(10.0));
        assert_eq!(row.bytes_per_write, 5.0);
        Ok(())
    }

    #[test]
    fn many_threads_stop_and_errors_stop_all() -> Result<()> {
        let budget = Budget { seconds: 1e6, max_writes: 1000 };
        let measured = run_writers(4, budget, None, |_, _| Ok(1))?;
        // Each thread may start one commit after another reached the budget.
        assert!((1000..=1003).contains(&measured.writes), "{}", measured.writes);
        // No row limit: only the failing writer can end this loop before its 60 s.
        let endless = Budget { seconds: 60.0, max_writes: u64::MAX };
        let start = std::time::Instant::now();
        let failed = run_writers(4, endless, None, |t, _| if t == 2 { Err(anyhow!("boom")) } else { Ok(1) });
        assert!(failed.is_err());
        assert!(start.elapsed() < Duration::from_secs(30), "the error stopped every writer");
        Ok(())
    }
}
