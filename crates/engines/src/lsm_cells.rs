//! The quorum store's commit-log engine (`lsm::Engine` on `lsm::RealFs`) under each
//! durability setting: no sync, periodic sync (a timer thread), sync per commit, and group
//! commit (`lsm::GroupCommit` in batch mode: the file sync runs outside the engine's lock, and
//! writers that append during one sync share the next). Syncs and bytes are the
//! engine's own exact counts (`DiskWork`).
//!
//! With several writers and no group commit the engine sits behind one `Mutex`: a writer
//! holds it for its rows (and, per commit, its sync), so writers take turns.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use history::Value;
use lsm::codec::{encode_cell, FRAME_HEADER_BYTES};
use lsm::{Cell, Engine, EngineConfig, GroupCommit, SyncCall, Version};

use super::measure::{run_writers, Budget, Exact, Measured, Row};

/// When the engine syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// Never (flushes of the memtable still sync their SSTable).
    None,
    /// A timer thread syncs every period.
    Periodic(Duration),
    /// Every commit syncs before it returns, alone (writers take turns behind one lock).
    PerCommit,
    /// Every commit returns once a sync covers it; concurrent commits share syncs
    /// (`lsm::GroupCommit::new`, Cassandra's `batch`: no window).
    Group,
}

impl Setting {
    /// The name in the table.
    pub fn name(self) -> String {
        match self {
            Setting::None => "no sync".to_owned(),
            Setting::Periodic(p) => format!("periodic {} ms", p.as_millis()),
            Setting::PerCommit => "sync per commit".to_owned(),
            Setting::Group => "group commit".to_owned(),
        }
    }
}

/// One lsm cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cellspec {
    /// When to sync.
    pub setting: Setting,
    /// Rows per commit.
    pub rows: u64,
    /// Writer threads.
    pub threads: u64,
    /// The commit log's userspace write buffer (0: off, the default).
    pub buffer: usize,
    /// `fsync` or `fdatasync`.
    pub sync: SyncCall,
}

/// The data every writer writes: `keys` distinct keys (overwritten round-robin), values of
/// `value_bytes`.
#[derive(Debug, Clone)]
pub struct Data {
    /// The keys.
    pub keys: Vec<String>,
    /// The value.
    pub value: Value,
}

impl Data {
    /// `keys` keys `k0000000`.. and a string value of `value_bytes` bytes.
    pub fn new(keys: usize, value_bytes: usize) -> Data {
        Data {
            keys: (0..keys.max(1)).map(|i| format!("k{i:07}")).collect(),
            value: Value::Str("v".repeat(value_bytes)),
        }
    }

    /// Row `n`'s key and cell (version `n + 1` from node `thread`).
    pub fn row(&self, n: u64, thread: u64) -> (&str, Cell) {
        let key = &self.keys[(n % self.keys.len() as u64) as usize];
        (key, Cell::new(self.value.clone(), Version::new(n + 1, thread as u32)))
    }

    /// The bytes of one commit-log record (frame included) for row 0.
    pub fn record_bytes(&self) -> usize {
        let (key, cell) = self.row(0, 0);
        encode_cell(key, &cell).map_or(0, |p| p.len()) + FRAME_HEADER_BYTES
    }
}

/// The engine's configuration for the bench: a 64 MiB memtable, so that flushes (which sync
/// an SSTable) are rare beside the commit log's own syncs.
fn config(dir: &Path) -> EngineConfig {
    EngineConfig { dir: dir.to_path_buf(), memtable_bytes: 64 << 20, max_sstables: 4 }
}

/// Measures `spec` in a fresh engine directory under `scratch` (deleted afterwards).
pub fn measure(scratch: &Path, device: Option<&str>, budget: Budget, data: &Data, spec: Cellspec) -> Result<Row> {
    let dir = scratch.join("lsm");
    let _ = std::fs::remove_dir_all(&dir);
    let mut engine = Engine::open_real(config(&dir), spec.sync).context("open the engine")?;
    // One synced write first: the segment's name is durable, so every measured sync is the
    // commit log's own.
    engine.write("~warm-up", Cell::new(Value::Nil, Version::new(0, 0)))?;
    engine.sync()?;
    engine.set_log_buffer(spec.buffer)?;
    engine.take_disk_work();
    let (measured, mut engine, group) = if spec.setting == Setting::Group {
        let group = GroupCommit::new(engine);
        let measured = run_writers(spec.threads, budget, device, |thread, first| {
            group.write_batch((0..spec.rows).map(|i| data.row(first + i, thread)))?;
            Ok(spec.rows)
        })?;
        let stats = group.stats();
        (measured, group.into_inner(), Some(stats))
    } else {
        let (measured, engine) = locked(spec, budget, device, data, engine)?;
        (measured, engine, None)
    };
    let work = engine.take_disk_work();
    let stats = engine.stats();
    drop(engine);
    std::fs::remove_dir_all(&dir)?;
    let exact = Exact { syncs: work.syncs, bytes: work.bytes_written };
    let call = match spec.sync {
        SyncCall::Fsync => "fsync",
        SyncCall::Fdatasync => "fdatasync",
    };
    let mut setting = spec.setting.name();
    if spec.buffer > 0 {
        setting.push_str(&format!(" + {} buffer", super::raw::human(spec.buffer)));
    }
    let mut row = measured.row("lsm", &setting, call, (spec.rows, spec.threads), Some(exact));
    row.note = format!("{} flushes", stats.flushes);
    if let Some(stats) = group {
        row.note.push_str(&format!("; {} group syncs for {} commits", stats.syncs, stats.commits));
    }
    Ok(row)
}

/// Writers behind one lock; a timer thread for [`Setting::Periodic`].
fn locked(
    spec: Cellspec,
    budget: Budget,
    device: Option<&str>,
    data: &Data,
    engine: Engine,
) -> Result<(Measured, Engine)> {
    let shared = Mutex::new(engine);
    let lock = || shared.lock().map_err(|_| anyhow!("a writer panicked holding the engine"));
    let stop = AtomicBool::new(false);
    let (stop, lock) = (&stop, &lock);
    let measured = std::thread::scope(|scope| -> Result<Measured> {
        let timer = match spec.setting {
            Setting::Periodic(period) => Some(scope.spawn(move || -> Result<()> {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(period);
                    lock()?.sync()?;
                }
                Ok(())
            })),
            _ => None,
        };
        let measured = run_writers(spec.threads, budget, device, |thread, first| {
            let mut engine = lock()?;
            for i in 0..spec.rows {
                let (key, cell) = data.row(first + i, thread);
                engine.write(key, cell)?;
            }
            if spec.setting == Setting::PerCommit {
                engine.sync()?;
            }
            Ok(spec.rows)
        });
        stop.store(true, Ordering::Relaxed);
        if let Some(timer) = timer {
            timer.join().map_err(|_| anyhow!("the sync timer panicked"))??;
        }
        measured
    })?;
    let engine = shared.into_inner().map_err(|_| anyhow!("a writer panicked holding the engine"))?;
    Ok((measured, engine))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> Result<std::path::PathBuf> {
        let dir = std::env::temp_dir().join(format!("lab-lsm-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    fn spec(setting: Setting, rows: u64, threads: u64) -> Cellspec {
        Cellspec { setting, rows, threads, buffer: 0, sync: SyncCall::Fsync }
    }

    #[test]
    fn exact_sync_counts_per_setting() -> Result<()> {
        let dir = scratch("counts")?;
        let data = Data::new(100, 100);
        let record = data.record_bytes() as f64;
        let budget = Budget { seconds: 1e6, max_writes: 200 };
        let row = measure(&dir, None, budget, &data, spec(Setting::PerCommit, 1, 1))?;
        assert_eq!((row.writes, row.fsyncs_per_write, row.bytes_per_write), (200, Some(1.0), record));
        let row = measure(&dir, None, budget, &data, spec(Setting::PerCommit, 100, 1))?;
        assert_eq!((row.writes, row.fsyncs_per_write, row.writes_per_fsync), (200, Some(0.01), Some(100.0)));
        let row = measure(&dir, None, budget, &data, spec(Setting::None, 1, 1))?;
        assert_eq!((row.writes, row.fsyncs_per_write, row.bytes_per_write), (200, Some(0.0), record));
        let buffered = Cellspec { buffer: 4096, ..spec(Setting::None, 1, 1) };
        let row = measure(&dir, None, budget, &data, buffered)?;
        // Only full buffers reached the file; the rest was dropped with the engine, unsynced.
        assert!(row.bytes_per_write < record && row.bytes_per_write * 200.0 >= 4096.0, "{row:?}");
        assert_eq!(row.fsyncs_per_write, Some(0.0));
        let row = measure(&dir, None, budget, &data, spec(Setting::Group, 1, 1))?;
        assert_eq!((row.writes, row.fsyncs_per_write), (200, Some(1.0)));
        assert_eq!(std::fs::read_dir(&dir)?.count(), 0, "the engine's directory is deleted");
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn concurrent_settings_count_every_row() -> Result<()> {
        let dir = scratch("threads")?;
        let data = Data::new(100, 10);
        let budget = Budget { seconds: 1e6, max_writes: 400 };
        for setting in [Setting::Group, Setting::PerCommit, Setting::Periodic(Duration::from_millis(1))] {
            let row = measure(&dir, None, budget, &data, spec(setting, 1, 4))?;
            assert!((400..=403).contains(&row.writes), "{row:?}");
            let per = row.fsyncs_per_write.ok_or_else(|| anyhow!("no count"))?;
            if setting == Setting::PerCommit {
                assert_eq!(per, 1.0);
            } else if setting == Setting::Group {
                assert!(per > 0.0 && per <= 1.0, "{row:?}");
            }
        }
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
