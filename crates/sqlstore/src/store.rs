//! [`Store`]: the server's state, a SQLite database on the simulated disk.
//!
//! Tables: `kv(key TEXT PRIMARY KEY, value TEXT NOT NULL)` and
//! `set_elems(elem TEXT PRIMARY KEY)`. Keys, values and elements are stored as the JSON text of
//! a [`Value`], so any value round-trips and `1` and `"1"` stay different keys. A key holding
//! `nil` reads exactly like an absent key.
//!
//! Every operation is one SQLite transaction (`BEGIN IMMEDIATE` ... `COMMIT`) and returns once
//! SQLite returned; what reached the disk by then depends on [`Synchronous`]. The disk work an
//! operation caused is read with [`Store::take_disk_work`] so the server can charge simulated
//! time for it (see [`crate::cost`]).
//!
//! Crashes: `Sim::crash` drops the host's tasks, and with them the store. Closing the SQLite
//! connection then would checkpoint and sync (WAL) or finish a journal, turning the crash into
//! a clean shutdown. So the connection lives in a `ManuallyDrop` and is leaked when the store
//! is dropped, and dropping the store also marks its [`DiskIo`] dead so that the VFS refuses
//! any I/O from the leaked connection. Only [`Store::close`] closes cleanly.
//!
//! Disk faults, and what an operation's error says about its outcome:
//!
//! | failure | SQLite | error | outcome |
//! |---|---|---|---|
//! | refused inside the transaction (insufficient funds, ...) | rolled back | e.g. [`StoreError::InsufficientFunds`] | definite: no effect |
//! | disk full or I/O error before the transaction's commit point | rolled back | [`StoreError::Aborted`] (`"disk full"`, `"I/O error"`) | definite: no effect |
//! | any failure after the commit point, or SQLite did not roll back | ? | [`StoreError::Sqlite`] | unknown |
//!
//! The commit point is the VFS's ([`DiskIo::commit_points`]): in WAL mode, the write of the
//! commit frame's header; in DELETE mode, the rollback journal's deletion. A transaction that
//! failed before it (every failed read, and writes of frames or journal pages) and that
//! SQLite rolled back cannot surface later: recovery replays a WAL only up to its last commit
//! frame, and a hot journal is rolled back. Reads that fail are definite failures too.
//!
//! After a failed disk operation SQLite itself drops its page cache (the pager's error state
//! is cleared only by discarding the cache and re-reading from the file), so the store keeps
//! serving. After a failed *sync* it does not: [`Store::needs_restart`] says so, and the
//! server reopens the store from its files (see [`crate::server`]). On a full disk, a write
//! fails cleanly with "disk full"; the store then checkpoints the WAL (`PRAGMA
//! wal_checkpoint(RESTART)`), so that the next writer starts the log again from its beginning
//! and reuses its space instead of growing it: reads always work, and writes work again as
//! long as the database itself fits (once it does not, the store is read-only).

use std::mem::ManuallyDrop;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use history::Value;
use rusqlite::{Connection, OpenFlags, OptionalExtension};

use crate::vfs::{self, Disk, DiskIo, IoScope, SimDisk, VFS_NAME};
use sim::capacity::CpuCost;
use sim::disk_cost::{DiskCost, DiskWork};

mod error;

use error::disk_failure;
pub use error::{StoreError, DISK_FULL, IO_ERROR};

/// SQLite's `journal_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalMode {
    /// Rollback journal, deleted at each commit (`locking_mode=NORMAL`, so SQLite really
    /// creates and deletes `<db>-journal` per transaction).
    Delete,
    /// Write-ahead log (`locking_mode=EXCLUSIVE`, so the wal-index lives in heap memory and
    /// no shared memory is needed).
    Wal,
}

impl JournalMode {
    fn sql(self) -> &'static str {
        match self {
            JournalMode::Delete => "delete",
            JournalMode::Wal => "wal",
        }
    }

    fn locking_mode(self) -> &'static str {
        match self {
            JournalMode::Delete => "normal",
            JournalMode::Wal => "exclusive",
        }
    }
}

/// SQLite's `synchronous` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// Never sync: durability is whatever the OS (here: the write-back model) flushes.
    Off,
    /// Sync at critical moments only (in WAL mode: at checkpoints, not at commits).
    Normal,
    /// Sync at every commit.
    Full,
}

impl Synchronous {
    fn level(self) -> i64 {
        match self {
            Synchronous::Off => 0,
            Synchronous::Normal => 1,
            Synchronous::Full => 2,
        }
    }
}

/// How to open the store, and the disk model it runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// SQLite's journal mode.
    pub journal_mode: JournalMode,
    /// SQLite's `synchronous`.
    pub synchronous: Synchronous,
    /// The database's absolute path on the host's simulated disk.
    pub path: String,
    /// Seeds the VFS's RNG.
    pub seed: u64,
    /// A forced flush: every this often the server syncs the store's open files and their
    /// directory. `None`: none; unsynced data then reaches the disk through SQLite's own syncs
    /// and the harness's model of the OS write-back (`sim::writeback`, Linux's dirty expiry).
    pub writeback: Option<Duration>,
    /// What disk work costs in simulated time.
    pub disk: DiskCost,
    /// What each request the server receives costs in CPU time (free by default).
    pub cpu: CpuCost,
}

impl Default for StoreConfig {
    /// WAL, `synchronous=FULL`, `/data/store.db`, seed 0, no write-back, measured disk cost,
    /// free CPU.
    fn default() -> Self {
        StoreConfig {
            journal_mode: JournalMode::Wal,
            synchronous: Synchronous::Full,
            path: "/data/store.db".to_owned(),
            seed: 0,
            writeback: None,
            disk: DiskCost::default(),
            cpu: CpuCost::FREE,
        }
    }
}

/// Marks the store's [`DiskIo`] dead when the store is dropped (crash or close).
struct Lifeline(Arc<DiskIo>);

impl Drop for Lifeline {
    fn drop(&mut self) {
        self.0.kill();
    }
}

/// The SQLite store of one host. See the module documentation for crash behaviour.
pub struct Store {
    /// Never dropped: leaked on crash (see the module documentation).
    conn: ManuallyDrop<Connection>,
    io: Arc<DiskIo>,
    config: StoreConfig,
    _lifeline: Lifeline,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("config", &self.config).field("alive", &self.io.is_alive()).finish()
    }
}

impl Store {
    /// Opens (creating if needed) the database at `config.path` on the current host's
    /// simulated disk. SQLite's own recovery (hot journal rollback, WAL replay) runs here.
    /// Must be called inside a turmoil host.
    pub fn open(config: &StoreConfig) -> Result<Store, StoreError> {
        Store::open_on(config, Box::new(SimDisk))
    }

    /// [`Store::open`] on `disk` (the VFS reaches its files through it).
    pub fn open_on(config: &StoreConfig, disk: Box<dyn Disk>) -> Result<Store, StoreError> {
        vfs::register()?;
        let io = Arc::new(DiskIo::on(disk, config.seed));
        let _scope = IoScope::enter(&io);
        prepare_directory(io.disk(), Path::new(&config.path))?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags_and_vfs(&config.path, flags, VFS_NAME)?;
        let mut store = Store {
            conn: ManuallyDrop::new(conn),
            io: Arc::clone(&io),
            config: config.clone(),
            _lifeline: Lifeline(io),
        };
        store.configure()?;
        store.transaction(|tx| {
            tx.execute_batch(
                "CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS set_elems(elem TEXT PRIMARY KEY);",
            )?;
            Ok(())
        })?;
        // Opening is not an operation: its disk work is not charged to the first request.
        store.io.take_work();
        Ok(store)
    }

    /// Sets and verifies the pragmas: locking mode before journal mode (WAL needs exclusive
    /// locking, see [`JournalMode`]), then `synchronous`, and temporary tables in memory.
    fn configure(&mut self) -> Result<(), StoreError> {
        let mode = self.config.journal_mode;
        let locking: String =
            self.conn.query_row(&format!("PRAGMA locking_mode={}", mode.locking_mode()), [], |row| row.get(0))?;
        expect_pragma("locking_mode", mode.locking_mode(), &locking)?;
        let journal: String =
            self.conn.query_row(&format!("PRAGMA journal_mode={}", mode.sql()), [], |row| row.get(0))?;
        expect_pragma("journal_mode", mode.sql(), &journal)?;
        let level = self.config.synchronous.level();
        self.conn.execute_batch(&format!("PRAGMA synchronous={level}; PRAGMA temp_store=MEMORY;"))?;
        let actual: i64 = self.conn.query_row("PRAGMA synchronous", [], |row| row.get(0))?;
        expect_pragma("synchronous", &level.to_string(), &actual.to_string())
    }

    /// The configuration the store was opened with.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// The store's disk handle, for the write-back task.
    pub fn disk_io(&self) -> Arc<DiskIo> {
        Arc::clone(&self.io)
    }

    /// The disk work done since the last call (syncs, bytes written), resetting the count.
    pub fn take_disk_work(&self) -> DiskWork {
        self.io.take_work()
    }

    /// Whether a sync failed: the store's state can no longer be trusted, and it must be
    /// reopened from its files (see the module docs).
    pub fn needs_restart(&self) -> bool {
        self.io.sync_failed()
    }

    /// Runs `body` in one `BEGIN IMMEDIATE` transaction: committed if it returns `Ok`, rolled
    /// back otherwise. A disk failure before the commit point is [`StoreError::Aborted`]; a
    /// full disk then also checkpoints the WAL to make room (see the module docs).
    fn transaction<T>(&mut self, body: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let commit_points = self.io.commit_points();
        let result = self.run_transaction(body);
        let error = match result {
            Ok(out) => return Ok(out),
            Err(error) => error,
        };
        let rolled_back = self.conn.is_autocommit() && self.io.commit_points() == commit_points;
        let error = match error {
            StoreError::Sqlite(source) if rolled_back => match disk_failure(&source) {
                Some(reason) => StoreError::Aborted { reason, source },
                None => StoreError::Sqlite(source),
            },
            other => other,
        };
        if error.is_disk_full() && self.config.journal_mode == JournalMode::Wal {
            let _scope = IoScope::enter(&self.io);
            // Best effort: if the checkpoint fails, the next full disk tries again.
            let _ = self.conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()));
        }
        Err(error)
    }

    /// `BEGIN` and `COMMIT` are cached statements: parsing them anew for every operation was a
    /// fifth of the simulation's time.
    fn run_transaction<T>(&mut self, body: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let _scope = IoScope::enter(&self.io);
        let conn: &Connection = &self.conn;
        let result = conn
            .prepare_cached("BEGIN IMMEDIATE")
            .and_then(|mut begin| begin.execute([]))
            .map_err(StoreError::from)
            .and_then(|_| body(conn))
            .and_then(|out| {
                conn.prepare_cached("COMMIT").and_then(|mut commit| commit.execute([])).map_err(StoreError::from)?;
                Ok(out)
            });
        if result.is_err() && !conn.is_autocommit() {
            // SQLite may have rolled back already (a failed COMMIT); what is left goes here.
            let _ = conn.prepare_cached("ROLLBACK").and_then(|mut rollback| rollback.execute([]));
        }
        result
    }

    /// The value of `key` (`nil` when absent).
    pub fn read(&mut self, key: &Value) -> Result<Value, StoreError> {
        let key = encode(key);
        self.transaction(|tx| get(tx, &key))
    }

    /// Sets `key` to `value`.
    pub fn write(&mut self, key: &Value, value: &Value) -> Result<(), StoreError> {
        let (key, value) = (encode(key), encode(value));
        self.transaction(|tx| put(tx, &key, &value))
    }

    /// Sets `key` to `new` if it holds `expected` (`nil`: absent); returns whether it did.
    pub fn cas(&mut self, key: &Value, expected: &Value, new: &Value) -> Result<bool, StoreError> {
        let (key, new) = (encode(key), encode(new));
        self.transaction(|tx| {
            if get(tx, &key)? != *expected {
                return Ok(false);
            }
            put(tx, &key, &new)?;
            Ok(true)
        })
    }

    /// Moves `amount` from account `from` to account `to` (absent accounts hold 0), in one
    /// transaction that reads both balances and writes both, so the sum is preserved. Refused
    /// (and rolled back, a definite failure) on a negative amount, insufficient funds, a
    /// non-integer balance or an overflow.
    pub fn transfer(&mut self, from: &Value, to: &Value, amount: i64) -> Result<(), StoreError> {
        if amount < 0 {
            return Err(StoreError::NegativeAmount(amount));
        }
        let (from_key, to_key) = (encode(from), encode(to));
        self.transaction(|tx| {
            let from_balance = balance(tx, &from_key, from)?;
            let to_balance = balance(tx, &to_key, to)?;
            if from_balance < amount {
                return Err(StoreError::InsufficientFunds { account: from.clone(), balance: from_balance, amount });
            }
            if from_key == to_key {
                return Ok(());
            }
            let to_after =
                to_balance.checked_add(amount).ok_or_else(|| StoreError::Overflow { account: to.clone() })?;
            put(tx, &from_key, &encode(&Value::Int(from_balance - amount)))?;
            put(tx, &to_key, &encode(&Value::Int(to_after)))
        })
    }

    /// The values of `keys`, in order, read in one transaction.
    pub fn read_many(&mut self, keys: &[Value]) -> Result<Vec<Value>, StoreError> {
        let keys: Vec<String> = keys.iter().map(encode).collect();
        self.transaction(|tx| keys.iter().map(|key| get(tx, key)).collect())
    }

    /// Runs a list-append transaction in one SQLite transaction: an append extends the list at
    /// its key (an absent key is the empty list; a list is stored as the JSON text of a
    /// [`Value::List`] in `kv`), a read returns it. Returns the completed micro-operations
    /// (`[f k v]`, a read's `v` the list it saw). A key holding something other than a list
    /// refuses the transaction (rolled back: a definite failure).
    pub fn txn(&mut self, ops: &[sim::MicroOp]) -> Result<Vec<Value>, StoreError> {
        self.transaction(|tx| {
            let mut completed = Vec::with_capacity(ops.len());
            for op in ops {
                let key = encode(op.key());
                let mut list = match get(tx, &key)? {
                    Value::Nil => Vec::new(),
                    Value::List(items) => items,
                    found => return Err(StoreError::NotAList { key: op.key().clone(), found }),
                };
                match op {
                    sim::MicroOp::Append { value, .. } => {
                        list.push(value.clone());
                        put(tx, &key, &encode(&Value::List(list)))?;
                        completed.push(op.completed(value.clone()));
                    }
                    sim::MicroOp::Read { .. } => completed.push(op.completed(Value::List(list))),
                }
            }
            Ok(completed)
        })
    }

    /// Adds `element` to the set (adding a present element changes nothing).
    pub fn add(&mut self, element: &Value) -> Result<(), StoreError> {
        let element = encode(element);
        self.transaction(|tx| {
            tx.prepare_cached("INSERT OR IGNORE INTO set_elems(elem) VALUES (?1)")?.execute([&element])?;
            Ok(())
        })
    }

    /// The set's elements, sorted by [`Value`]'s order.
    pub fn read_set(&mut self) -> Result<Vec<Value>, StoreError> {
        let mut elements = self.transaction(|tx| {
            let mut statement = tx.prepare_cached("SELECT elem FROM set_elems")?;
            let texts = statement.query_map([], |row| row.get::<_, String>(0))?;
            let mut elements = Vec::new();
            for text in texts {
                elements.push(decode(&text?)?);
            }
            Ok(elements)
        })?;
        elements.sort();
        Ok(elements)
    }

    /// Checkpoints the WAL into the database file and truncates it (`PRAGMA
    /// wal_checkpoint(TRUNCATE)`; nothing in journal mode DELETE, whose commits write the
    /// database file itself). After a reopen that followed a failed sync, this is
    /// PostgreSQL's end-of-recovery checkpoint: what recovery found in the WAL, read through
    /// a page cache that a failed write-back may have left wrong, is written again, with
    /// fresh writes and syncs, into the database file, and the WAL is emptied.
    pub fn checkpoint(&mut self) -> Result<(), StoreError> {
        if self.config.journal_mode != JournalMode::Wal {
            return Ok(());
        }
        let _scope = IoScope::enter(&self.io);
        let (busy, _, _): (i64, i64, i64) = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
        if busy != 0 {
            return Err(StoreError::Checkpoint("the WAL is busy".to_owned()));
        }
        if self.needs_restart() {
            return Err(StoreError::Checkpoint("a sync failed".to_owned()));
        }
        Ok(())
    }

    /// `PRAGMA integrity_check`: `["ok"]` for a sound database, otherwise the problems.
    pub fn integrity_check(&mut self) -> Result<Vec<String>, StoreError> {
        let _scope = IoScope::enter(&self.io);
        let mut statement = self.conn.prepare("PRAGMA integrity_check")?;
        let rows = statement.query_map([], |row| row.get::<_, String>(0))?;
        rows.map(|row| row.map_err(StoreError::from)).collect()
    }

    /// Closes the connection cleanly (a graceful shutdown, not a crash: WAL is checkpointed).
    pub fn close(self) -> Result<(), StoreError> {
        let Store { conn, io, config: _, _lifeline } = self;
        let _scope = IoScope::enter(&io);
        ManuallyDrop::into_inner(conn).close().map_err(|(_, error)| StoreError::Sqlite(error))
    }
}

fn expect_pragma(pragma: &'static str, expected: &str, actual: &str) -> Result<(), StoreError> {
    if actual.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(StoreError::Pragma { pragma, expected: expected.to_owned(), actual: actual.to_owned() })
    }
}

/// Creates the database's directory (and ancestors) and makes their entries durable.
fn prepare_directory(disk: &dyn Disk, path: &Path) -> Result<(), StoreError> {
    let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty() && *dir != Path::new("/")) else {
        return Ok(());
    };
    let fail = |source| StoreError::Directory { dir: dir.to_path_buf(), source };
    disk.check().map_err(fail)?;
    // Also when the directory exists: a restart without a crash may find it not yet durable.
    disk.create_dir_all(dir).map_err(fail)?;
    for ancestor in dir.ancestors().skip(1) {
        disk.sync_dir(ancestor).map_err(fail)?;
    }
    Ok(())
}

/// The JSON text a value is stored as.
fn encode(value: &Value) -> String {
    // A `Value` always serialises: it has no maps with non-string keys and no floats.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

fn decode(text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text)
        .map_err(|error| StoreError::Corrupt { text: text.to_owned(), message: error.to_string() })
}

fn get(tx: &Connection, key: &str) -> Result<Value, StoreError> {
    let text: Option<String> =
        tx.prepare_cached("SELECT value FROM kv WHERE key = ?1")?.query_row([key], |row| row.get(0)).optional()?;
    text.map_or(Ok(Value::Nil), |text| decode(&text))
}

fn put(tx: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO kv(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute([key, value])?;
    Ok(())
}

fn balance(tx: &Connection, key: &str, account: &Value) -> Result<i64, StoreError> {
    match get(tx, key)? {
        Value::Nil => Ok(0),
        Value::Int(balance) => Ok(balance),
        found => Err(StoreError::NotAnInteger { account: account.clone(), found }),
    }
}

#[cfg(test)]
mod tests;
