//! SQLite through its default VFS (plain rusqlite on a real file) under each durability
//! setting: journal WAL with `synchronous` OFF, NORMAL and FULL, and the rollback journal
//! (DELETE) with FULL for reference. A single-row write is one autocommit upsert; a batch is
//! one `BEGIN IMMEDIATE` transaction of upserts. Several writers are several connections
//! with a busy timeout: SQLite lets one writer at a time hold the write lock, and the others
//! wait in its busy handler (which sleeps), so this measures its locking as much as its disk.
//!
//! Syncs cannot be counted inside SQLite's default VFS without unsafe code; rows show the
//! device's flush requests (machine-wide) and, in the note, what SQLite is documented to do.
//! Bytes are this process's `wchar`, exact.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use rusqlite::{params, Connection, TransactionBehavior};

use super::lsm_cells::Data;
use super::measure::{run_writers, Budget, Row};

/// The journal mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Journal {
    /// Write-ahead log.
    Wal,
    /// Rollback journal, deleted at each commit.
    Delete,
}

/// `PRAGMA synchronous`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// No syncs.
    Off,
    /// WAL: syncs at checkpoints only; rollback journal: as FULL, less one sync.
    Normal,
    /// WAL: the WAL is synced at every commit.
    Full,
}

/// One SQLite cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cellspec {
    /// Journal mode.
    pub journal: Journal,
    /// Sync level.
    pub synchronous: Synchronous,
    /// Rows per transaction.
    pub rows: u64,
    /// Connections, one per writer thread.
    pub threads: u64,
}

impl Cellspec {
    fn pragmas(&self) -> (&'static str, &'static str) {
        let journal = match self.journal {
            Journal::Wal => "wal",
            Journal::Delete => "delete",
        };
        let sync = match self.synchronous {
            Synchronous::Off => "OFF",
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        };
        (journal, sync)
    }

    /// The setting's name in the table.
    pub fn name(&self) -> String {
        let (journal, sync) = self.pragmas();
        format!("{} synchronous={sync}", journal.to_uppercase())
    }

    /// What SQLite does about syncs in this setting (its documentation, for the note).
    fn expected_syncs(&self) -> &'static str {
        match (self.journal, self.synchronous) {
            (_, Synchronous::Off) => "no syncs",
            (Journal::Wal, Synchronous::Normal) => "syncs only at checkpoints (every ~1000 WAL pages)",
            (Journal::Wal, Synchronous::Full) => "1 fdatasync of the WAL per commit, plus checkpoints",
            (Journal::Delete, _) => "journal, database and directory synced per commit (~3 fdatasync/fsync)",
        }
    }
}

/// How long a writer waits for the write lock before SQLITE_BUSY.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) const UPSERT: &str = "INSERT INTO kv(k, v) VALUES (?1, ?2) ON CONFLICT(k) DO UPDATE SET v = excluded.v";

pub(crate) fn connect(path: &Path, spec: &Cellspec) -> Result<Connection> {
    let conn = Connection::open(path).with_context(|| format!("open {}", path.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let (journal, sync) = spec.pragmas();
    let mode: String = conn.query_row(&format!("PRAGMA journal_mode={journal}"), [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case(journal) {
        bail!("journal_mode is {mode}, asked for {journal}");
    }
    conn.execute_batch(&format!("PRAGMA synchronous={sync};"))?;
    Ok(conn)
}

/// Measures `spec` on a fresh database under `scratch` (deleted afterwards).
pub fn measure(scratch: &Path, device: Option<&str>, budget: Budget, data: &Data, spec: Cellspec) -> Result<Row> {
    let dir = scratch.join("sqlite");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("bench.db");
    let value = match &data.value {
        history::Value::Str(s) => s.clone().into_bytes(),
        other => other.to_string().into_bytes(),
    };
    let first = connect(&path, &spec)?;
    first.execute_batch("CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB NOT NULL);")?;
    let mut conns = vec![Mutex::new(first)];
    for _ in 1..spec.threads {
        conns.push(Mutex::new(connect(&path, &spec)?));
    }
    let measured = run_writers(spec.threads, budget, device, |thread, first| {
        let slot = conns.get(thread as usize).ok_or_else(|| anyhow!("no connection for writer {thread}"))?;
        let mut conn = slot.lock().map_err(|_| anyhow!("a writer panicked"))?;
        let key = |i: u64| &data.keys[((first + i) % data.keys.len() as u64) as usize];
        if spec.rows == 1 {
            conn.prepare_cached(UPSERT)?.execute(params![key(0), value])?;
        } else {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut stmt = tx.prepare_cached(UPSERT)?;
                for i in 0..spec.rows {
                    stmt.execute(params![key(i), value])?;
                }
            }
            tx.commit()?;
        }
        Ok(spec.rows)
    })?;
    let rows: i64 =
        conns[0].lock().map_err(|_| anyhow!("poisoned"))?.query_row("SELECT count(*) FROM kv", [], |r| r.get(0))?;
    drop(conns);
    std::fs::remove_dir_all(&dir)?;
    let call = if spec.synchronous == Synchronous::Off { "-" } else { "fdatasync" };
    let mut row = measured.row("sqlite", &spec.name(), call, (spec.rows, spec.threads), None);
    row.note = format!("{}; {rows} distinct keys", spec.expected_syncs());
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_writes_its_rows() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("lab-sqlite-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let data = Data::new(50, 100);
        let budget = Budget { seconds: 1e6, max_writes: 100 };
        for (journal, synchronous) in
            [(Journal::Wal, Synchronous::Off), (Journal::Wal, Synchronous::Full), (Journal::Delete, Synchronous::Full)]
        {
            for (rows, threads) in [(1, 1), (10, 1), (1, 3)] {
                let spec = Cellspec { journal, synchronous, rows, threads };
                let row = measure(&dir, None, budget, &data, spec)?;
                assert!((100..100 + rows * threads).contains(&row.writes), "{row:?}");
                assert!(row.note.ends_with("; 50 distinct keys"), "{row:?}");
                // The bytes SQLite wrote cover at least the values.
                assert!(row.bytes_per_write >= 100.0, "{row:?}");
                assert_eq!(row.fsyncs_per_write, None);
            }
        }
        assert_eq!(std::fs::read_dir(&dir)?.count(), 0);
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
