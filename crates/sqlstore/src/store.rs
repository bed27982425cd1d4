//! [`Store`]: the server's state, a SQLite database on the simulated disk.
//!
//! Tables: `kv(key TEXT PRIMARY KEY, value TEXT NOT NULL)` and
//! `set_elems(elem TEXT PRIMARY KEY)`. Keys, values and elements are stored as the JSON text of
//! a [`Value`], so any value round-trips and `1` and `"1"` stay different keys. A key holding
//! `nil` reads exactly like an absent key.
//!
//! Every operation is one SQLite transaction (`BEGIN <mode>` ... `COMMIT`; [`BeginMode`], and
//! read-only operations always `DEFERRED`: [`Access`]) and returns once SQLite returned; what
//! reached the disk by then depends on [`Synchronous`]. The disk work an operation caused is
//! read with [`Store::take_disk_work`] so the server can charge simulated time for it (see
//! [`crate::cost`]). Operations are plans ([`plan`]), run every step at once by the methods
//! here, or step by step by the server ([`Store::begin`], [`Store::step`], [`Store::commit`],
//! [`Store::abort`]) when several connections ([`Store::open_pool`]) share the database: their
//! locks are arbitrated by the VFS ([`crate::vfs::locks`]).
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
//! | a lock held by another connection past the busy timeout, or a read transaction refused the write lock (SQLite does not wait) | rolled back | [`StoreError::Busy`], [`StoreError::Deadlock`] (`"database is locked"`) | definite: no effect |
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
use rusqlite::{Connection, OpenFlags};

use crate::vfs::{self, ConnId, Disk, DiskIo, IoScope, LockTable, SimDisk, VFS_NAME};
use sim::capacity::CpuCost;
use sim::disk_cost::{DiskCost, DiskWork};

mod error;
pub mod plan;

use error::{disk_failure, is_busy};
pub use error::{StoreError, DATABASE_LOCKED, DISK_FULL, IO_ERROR};
pub use plan::{Flow, Plan};

/// SQLite's `journal_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JournalMode {
    /// Rollback journal, deleted at each commit (`locking_mode=NORMAL`, so SQLite really
    /// creates and deletes `<db>-journal` per transaction).
    Delete,
    /// Write-ahead log. With one connection, `locking_mode=EXCLUSIVE`: SQLite keeps the
    /// wal-index in its heap memory and needs no shared memory. With several,
    /// `locking_mode=NORMAL`: the connections share one wal-index and its lock slots
    /// ([`crate::vfs::shm`]), as the processes of a host share the `-shm` file.
    Wal,
}

impl JournalMode {
    fn sql(self) -> &'static str {
        match self {
            JournalMode::Delete => "delete",
            JournalMode::Wal => "wal",
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

/// How a transaction begins (`BEGIN DEFERRED | IMMEDIATE | EXCLUSIVE`): which lock it takes
/// at once (sqlite.org/lang_transaction.html).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BeginMode {
    /// No lock until the first statement: SHARED at the first read, RESERVED at the first
    /// write (a transaction that read and then cannot write gets `SQLITE_BUSY` at once).
    Deferred,
    /// RESERVED (WAL: the write lock) at `BEGIN`: one writer at a time, readers continue.
    #[default]
    Immediate,
    /// EXCLUSIVE at `BEGIN` (WAL: as immediate): in rollback-journal mode, no readers either.
    Exclusive,
}

impl BeginMode {
    fn sql(self) -> &'static str {
        match self {
            BeginMode::Deferred => "BEGIN DEFERRED",
            BeginMode::Immediate => "BEGIN IMMEDIATE",
            BeginMode::Exclusive => "BEGIN EXCLUSIVE",
        }
    }
}

/// Whether a transaction may write: a read-only one always begins `DEFERRED` (it takes SHARED
/// at its first read and never more), as drivers begin read transactions, whatever
/// [`StoreConfig::begin`] says for the others; so readers are held up only by what holds
/// readers out (PENDING and EXCLUSIVE in rollback-journal mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Only reads.
    ReadOnly,
    /// May write.
    ReadWrite,
}

/// The most database connections a store may have.
pub const MAX_CONNECTIONS: usize = 256;

/// How long a transaction waits for a lock by default: 5 s, as rusqlite (which sets
/// `sqlite3_busy_timeout(5000)` on every connection it opens) and Python's `sqlite3` module
/// (`timeout=5.0`) do; SQLite's own default (0: fail at once) is the `busy_timeout = "0s"`
/// of an experiment.
pub const DEFAULT_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

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
    /// Database connections, each serving one request at a time (1 to [`MAX_CONNECTIONS`]);
    /// their locks are arbitrated by the VFS ([`crate::vfs::locks`]).
    pub connections: usize,
    /// How every transaction begins.
    pub begin: BeginMode,
    /// How long a transaction retries a lock held by another connection, in simulated time,
    /// before it is rolled back ([`crate::server`]'s busy handling).
    pub busy_timeout: Duration,
    /// Key/value pairs written (`INSERT OR IGNORE`) into `kv` whenever the store opens, and
    /// made durable before it serves: a workload's initial state ([`sim::System::preload`]).
    pub initial: Vec<(Value, Value)>,
}

impl Default for StoreConfig {
    /// WAL, `synchronous=FULL`, `/data/store.db`, seed 0, no write-back, measured disk cost,
    /// free CPU, one connection, `BEGIN IMMEDIATE`, a 5 s busy timeout, nothing preloaded.
    fn default() -> Self {
        StoreConfig {
            journal_mode: JournalMode::Wal,
            synchronous: Synchronous::Full,
            path: "/data/store.db".to_owned(),
            seed: 0,
            writeback: None,
            disk: DiskCost::default(),
            cpu: CpuCost::FREE,
            connections: 1,
            begin: BeginMode::Immediate,
            busy_timeout: DEFAULT_BUSY_TIMEOUT,
            initial: Vec::new(),
        }
    }
}

impl StoreConfig {
    /// How a transaction with this access begins (see [`Access`]).
    pub fn begin_for(&self, access: Access) -> BeginMode {
        match access {
            Access::ReadOnly => BeginMode::Deferred,
            Access::ReadWrite => self.begin,
        }
    }

    /// Checks what SQLite cannot check itself: the number of connections.
    pub fn validate(&self) -> Result<(), StoreError> {
        if self.connections == 0 || self.connections > MAX_CONNECTIONS {
            return Err(StoreError::Config(format!(
                "connections is {}: it must be 1 to {MAX_CONNECTIONS}",
                self.connections
            )));
        }
        Ok(())
    }

    /// SQLite's `locking_mode` for this store (see [`JournalMode`]): `exclusive` only for WAL
    /// with a single connection.
    fn locking_mode(&self) -> &'static str {
        match (self.journal_mode, self.connections) {
            (JournalMode::Wal, 1) => "exclusive",
            _ => "normal",
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
    /// The commit points passed when the current transaction began.
    begun_at: u64,
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
        Store::open_connection(config, disk, Arc::default(), 0)
    }

    /// Opens the store's `config.connections` connections on the current host's simulated
    /// disk, sharing one lock table (a new one: the host's previous processes and their locks
    /// are gone). The first creates the tables and writes the initial state.
    pub fn open_pool(config: &StoreConfig) -> Result<Vec<Store>, StoreError> {
        config.validate()?;
        let locks = Arc::new(LockTable::default());
        (0..config.connections)
            .map(|conn| {
                let conn = ConnId::try_from(conn).unwrap_or(ConnId::MAX);
                Store::open_connection(config, Box::new(SimDisk), Arc::clone(&locks), conn)
            })
            .collect()
    }

    /// Opens connection `conn` (sharing `locks` with the store's other connections) on
    /// `disk`. Connection 0 also creates the tables and writes `config.initial`.
    pub fn open_connection(
        config: &StoreConfig,
        disk: Box<dyn Disk>,
        locks: Arc<LockTable>,
        conn: ConnId,
    ) -> Result<Store, StoreError> {
        config.validate()?;
        vfs::register()?;
        let seed = config.seed.wrapping_add(conn);
        let io = Arc::new(DiskIo::connection(disk, seed, locks, conn));
        let _scope = IoScope::enter(&io);
        prepare_directory(io.disk(), Path::new(&config.path))?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let sqlite = Connection::open_with_flags_and_vfs(&config.path, flags, VFS_NAME)?;
        let mut store = Store {
            conn: ManuallyDrop::new(sqlite),
            io: Arc::clone(&io),
            config: config.clone(),
            begun_at: 0,
            _lifeline: Lifeline(io),
        };
        store.configure()?;
        if conn == 0 {
            store.create_tables()?;
        }
        // Opening is not an operation: its disk work is not charged to the first request.
        store.io.take_work();
        Ok(store)
    }

    /// Creates the tables and writes the initial state, durably (see
    /// [`StoreConfig::initial`]).
    fn create_tables(&mut self) -> Result<(), StoreError> {
        let initial: Vec<(String, String)> = self.config.initial.iter().map(|(k, v)| (encode(k), encode(v))).collect();
        self.transaction(Access::ReadWrite, |tx, _| {
            create_schema(tx, &initial)?;
            Ok(Flow::Done(()))
        })?;
        if !initial.is_empty() {
            // Durable whatever `synchronous` says: the workload starts from it.
            self.io.writeback().map_err(StoreError::Preload)?;
        }
        Ok(())
    }

    /// Sets and verifies the pragmas: locking mode before journal mode (WAL with one
    /// connection runs with exclusive locking, see [`JournalMode`]), then `synchronous`, and temporary tables in memory.
    /// SQLite's busy handler is turned off (rusqlite sets a 5 s one): it would sleep in wall
    /// time, and the server waits for locks in simulated time instead.
    fn configure(&mut self) -> Result<(), StoreError> {
        self.conn.busy_timeout(Duration::ZERO)?;
        let mode = self.config.journal_mode;
        let locking_mode = self.config.locking_mode();
        let locking: String =
            self.conn.query_row(&format!("PRAGMA locking_mode={locking_mode}"), [], |row| row.get(0))?;
        expect_pragma("locking_mode", locking_mode, &locking)?;
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

    /// Runs `body` (a plan: see [`plan`]) in one transaction begun as
    /// [`StoreConfig::begin`] says, every step at once: committed if it returns `Ok`, rolled
    /// back otherwise ([`Store::abort`] says what the failure means).
    fn transaction<T>(
        &mut self,
        access: Access,
        mut body: impl FnMut(&Connection, usize) -> Result<Flow<T>, StoreError>,
    ) -> Result<T, StoreError> {
        let result = self.begin(access).and_then(|()| {
            let mut step = 0;
            let out = loop {
                match self.step(&mut body, step)? {
                    Flow::Done(out) => break out,
                    Flow::Next => step += 1,
                }
            };
            self.commit()?;
            Ok(out)
        });
        result.map_err(|error| self.abort(error))
    }

    /// Runs `plan` ([`plan`]) in one transaction with `access`, every step at once: committed
    /// if it returns `Ok`, rolled back otherwise ([`Store::abort`] says what a failure means).
    pub fn run(&mut self, access: Access, plan: &mut Plan) -> Result<Value, StoreError> {
        self.transaction(access, plan)
    }

    /// `BEGIN` as [`StoreConfig::begin_for`] says for `access`. `BEGIN`, `COMMIT` and `ROLLBACK` are cached
    /// statements: parsing them anew for every operation was a fifth of the simulation's time.
    /// A [`StoreError::is_busy`] failure leaves no transaction open: it may be retried.
    pub fn begin(&mut self, access: Access) -> Result<(), StoreError> {
        self.begun_at = self.io.commit_points();
        let _scope = IoScope::enter(&self.io);
        self.conn.prepare_cached(self.config.begin_for(access).sql())?.execute([])?;
        Ok(())
    }

    /// Runs step `index` of `body` inside the open transaction. A [`StoreError::is_busy`]
    /// failure leaves the transaction as it was: the step may be retried.
    pub fn step<T>(
        &mut self,
        body: &mut impl FnMut(&Connection, usize) -> Result<Flow<T>, StoreError>,
        index: usize,
    ) -> Result<Flow<T>, StoreError> {
        let _scope = IoScope::enter(&self.io);
        body(&self.conn, index)
    }

    /// `COMMIT`. A [`StoreError::is_busy`] failure (rollback-journal mode: readers still hold
    /// SHARED, this connection keeps PENDING) leaves the transaction open: it may be retried.
    pub fn commit(&mut self) -> Result<(), StoreError> {
        let _scope = IoScope::enter(&self.io);
        self.conn.prepare_cached("COMMIT")?.execute([])?;
        Ok(())
    }

    /// Ends a failed transaction: rolls back what SQLite left open, and says what the failure
    /// means (see the table in the module docs). A disk failure or a lock conflict before the
    /// commit point, rolled back, is definite ([`StoreError::Aborted`], [`StoreError::Busy`]);
    /// a full disk then also checkpoints the WAL to make room. A definite refusal that could
    /// not be rolled back becomes [`StoreError::Unsettled`].
    pub fn abort(&mut self, error: StoreError) -> StoreError {
        let _scope = IoScope::enter(&self.io);
        if !self.conn.is_autocommit() {
            // SQLite may have rolled back already (a failed COMMIT); what is left goes here.
            let _ = self.conn.prepare_cached("ROLLBACK").and_then(|mut rollback| rollback.execute([]));
        }
        let rolled_back = self.conn.is_autocommit() && self.io.commit_points() == self.begun_at;
        let error = match error {
            StoreError::Sqlite(source) if rolled_back && is_busy(&source) => StoreError::Busy { source: Some(source) },
            StoreError::Sqlite(source) if rolled_back => match disk_failure(&source) {
                Some(reason) => StoreError::Aborted { reason, source },
                None => StoreError::Sqlite(source),
            },
            definite if !rolled_back && definite.is_definite() => StoreError::Unsettled(definite.to_string()),
            other => other,
        };
        if error.is_disk_full() && self.config.journal_mode == JournalMode::Wal {
            // Best effort: if the checkpoint fails, the next full disk tries again.
            let _ = self.conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()));
        }
        error
    }

    /// The lock this connection holds on the database file.
    pub fn lock_held(&self) -> sqlite_vfs::LockKind {
        self.io.locks().level(Path::new(&self.config.path), self.io.conn())
    }

    /// Whether a transaction is open on this connection.
    pub fn in_transaction(&self) -> bool {
        !self.conn.is_autocommit()
    }

    /// Keeps this connection's locks visible to the other connections after it releases them,
    /// until [`Store::release_locks`] (see [`crate::vfs::locks`]): the server calls it before
    /// `COMMIT`, whose disk time it charges afterwards.
    pub fn hold_locks(&self) {
        self.io.locks().hold(self.io.conn());
    }

    /// Ends [`Store::hold_locks`].
    pub fn release_locks(&self) {
        self.io.locks().release_held(self.io.conn());
    }

    /// The value of `key` (`nil` when absent).
    pub fn read(&mut self, key: &Value) -> Result<Value, StoreError> {
        self.transaction(Access::ReadOnly, plan::read(key))
    }

    /// Sets `key` to `value`.
    pub fn write(&mut self, key: &Value, value: &Value) -> Result<(), StoreError> {
        self.transaction(Access::ReadWrite, plan::write(key, value)).map(drop)
    }

    /// Sets `key` to `new` if it holds `expected` (`nil`: absent); returns whether it did.
    pub fn cas(&mut self, key: &Value, expected: &Value, new: &Value) -> Result<bool, StoreError> {
        match self.transaction(Access::ReadWrite, plan::cas(key, expected, new)) {
            Ok(_) => Ok(true),
            Err(StoreError::CasMismatch) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// Moves `amount` from account `from` to account `to` (absent accounts hold 0), in one
    /// transaction that reads both balances and writes both, so the sum is preserved. Refused
    /// (and rolled back, a definite failure) on a negative amount, insufficient funds, a
    /// non-integer balance or an overflow.
    pub fn transfer(&mut self, from: &Value, to: &Value, amount: i64) -> Result<(), StoreError> {
        if amount < 0 {
            return Err(StoreError::NegativeAmount(amount));
        }
        self.transaction(Access::ReadWrite, plan::transfer(from, to, amount)).map(drop)
    }

    /// The values of `keys`, in order, read in one transaction.
    pub fn read_many(&mut self, keys: &[Value]) -> Result<Vec<Value>, StoreError> {
        match self.transaction(Access::ReadOnly, plan::read_many(keys))? {
            Value::List(values) => Ok(values),
            other => Ok(vec![other]),
        }
    }

    /// Runs a list-append transaction in one SQLite transaction: an append extends the list at
    /// its key (an absent key is the empty list; a list is stored as the JSON text of a
    /// [`Value::List`] in `kv`), a read returns it. Returns the completed micro-operations
    /// (`[f k v]`, a read's `v` the list it saw). A key holding something other than a list
    /// refuses the transaction (rolled back: a definite failure).
    pub fn txn(&mut self, ops: &[sim::MicroOp]) -> Result<Vec<Value>, StoreError> {
        match self.transaction(txn_access(ops), plan::txn(ops))? {
            Value::List(completed) => Ok(completed),
            other => Ok(vec![other]),
        }
    }

    /// Adds `element` to the set (adding a present element changes nothing).
    pub fn add(&mut self, element: &Value) -> Result<(), StoreError> {
        self.transaction(Access::ReadWrite, plan::add(element)).map(drop)
    }

    /// The set's elements, sorted by [`Value`]'s order.
    pub fn read_set(&mut self) -> Result<Vec<Value>, StoreError> {
        match self.transaction(Access::ReadOnly, plan::read_set())? {
            Value::List(elements) => Ok(elements),
            other => Ok(vec![other]),
        }
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
        let Store { conn, io, config: _, begun_at: _, _lifeline } = self;
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

/// A list-append transaction only reads when it has no append.
pub fn txn_access(ops: &[sim::MicroOp]) -> Access {
    if ops.iter().all(|op| matches!(op, sim::MicroOp::Read { .. })) {
        Access::ReadOnly
    } else {
        Access::ReadWrite
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

/// The store's tables, with `initial` (key, value) pairs as stored text: on any connection
/// (the SQL store's files, or a replicated store's in-memory database).
fn create_schema(tx: &Connection, initial: &[(String, String)]) -> Result<(), StoreError> {
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS kv(key TEXT PRIMARY KEY, value TEXT NOT NULL);
         CREATE TABLE IF NOT EXISTS set_elems(elem TEXT PRIMARY KEY);",
    )?;
    for (key, value) in initial {
        tx.prepare_cached("INSERT OR IGNORE INTO kv(key, value) VALUES (?1, ?2)")?.execute([key, value])?;
    }
    Ok(())
}

/// Creates the store's tables on `conn` holding `initial`, in one transaction: the same schema
/// and encoding the SQL store uses, for a database that is not a [`Store`] (a replicated
/// store's state machine).
pub fn create_schema_on(conn: &Connection, initial: &[(Value, Value)]) -> Result<(), StoreError> {
    let initial: Vec<(String, String)> = initial.iter().map(|(k, v)| (encode(k), encode(v))).collect();
    conn.execute_batch("BEGIN IMMEDIATE")?;
    match create_schema(conn, &initial) {
        Ok(()) => Ok(conn.execute_batch("COMMIT")?),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
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

#[cfg(test)]
mod tests;
