//! The server host: one [`Store`] (one or more SQLite connections) behind a TCP listener on
//! [`PORT`].
//!
//! [`serve`] is the host's start-up future, re-run by turmoil after every crash: it opens the
//! store's connections (SQLite recovers on open), starts the write-back task if configured,
//! and serves each client connection in its own local task. Client connections share the
//! store's database connections as a pool: a request takes a free database connection, in
//! arrival order (a FIFO semaphore), and gives it back once its reply is due.
//!
//! One database connection ([`StoreConfig::connections`] = 1, the default): a request's
//! transaction runs whole, synchronously, as soon as it arrives; its CPU and disk time are
//! then charged back to back on one serial timeline ([`Overlap::Serial`]: the one connection
//! holds SQLite's lock through its commit). Nothing can contend, and this is exactly what the
//! server did before it had several connections.
//!
//! Several connections (module `txn`): a request's transaction runs statement by statement on its
//! database connection, `BEGIN` as configured, each statement followed by its share of the
//! request's CPU time, then `COMMIT`, whose disk time is charged while the locks it released
//! stay visible to the other connections ([`Store::hold_locks`]), so the others really meet
//! them. The VFS arbitrates the locks; `SQLITE_BUSY` is waited out in simulated time with
//! SQLite's own delays up to the busy timeout ([`crate::busy`]), then the transaction is
//! rolled back: a definite failure ([`crate::DATABASE_LOCKED`]). The host has one CPU and one
//! disk timeline, shared by the connections ([`Overlap::Pipelined`]: one connection's CPU work
//! overlaps another's disk work; each connection's own steps run one after the other).
//!
//! Disk failures: [`serve`] is its own supervisor. A store that cannot be opened (the disk
//! failed during recovery) is opened again after [`RESTART_BACKOFF`], doubling up to
//! [`RESTART_BACKOFF_MAX`]. After a failed sync (SQLite's, or the write-back model's) the
//! store is not trusted any more, as PostgreSQL treats a failed `fsync` as a crash: every
//! operation still running gets an indeterminate `Storage` reply, every connection is closed,
//! the store is dropped as a crash drops it (the connection is leaked, not closed), and it is
//! opened again from its files. Both are counted in [`Restarts`]. Other disk errors need no
//! restart (SQLite rolls back and drops its own cache; see [`crate::store`] for what each
//! error tells the client).
//!
//! Disk and CPU time: after executing a request the server takes the disk work it caused, books
//! it with the request's CPU cost ([`StoreConfig::cpu`], per request frame) on the connection's
//! [`NodeClock`] (serial: one connection does the CPU work and the commit back to back, holding
//! SQLite's lock) and sleeps until it is done, *before* replying. A durable
//! commit therefore costs simulated time, and an acknowledgement still implies the data was
//! synced when SQLite said so. Each sync is charged by its kind (in place, or committing
//! metadata: [`DiskIo::take_sync_kinds`]) and, when the disk profile has a spread, its latency
//! is drawn from a stream seeded by the run's seed ([`SyncDraws`]). Measured through the VFS,
//! a one-row write with `synchronous=FULL` issues 1 sync and writes ~8 KiB in WAL mode (two
//! 4 KiB frames; once the WAL is reused after a checkpoint the sync is in place), and issues 5
//! syncs (journal twice, journal directory, database, directory after deleting the journal)
//! and writes ~25 KiB in DELETE mode; with `synchronous=OFF`, 0 (WAL) or 1 (the directory sync
//! after the journal's deletion, DELETE).
//!
//! The network and admission ([`ServerModel`], free and unbounded unless configured): a
//! request's frame first occupies the NIC's receive side (`bytes / bandwidth`), then the
//! connection's CPU and disk time as above; a reply costs send CPU and the NIC's transmit
//! side before it goes on the wire. A request that arrives while the server's backlog (how
//! long until its timelines are all idle) exceeds the admission bound is refused at once with
//! `Rejected("overloaded")` (definite: it was not executed), charged nothing, as PostgreSQL's
//! `max_connections` or Cassandra's `OverloadedException` refuse work the server cannot take.
//! What the server books is counted in [`UsageLog`] under its host name.
//!
//! Bad input: a malformed body or an oversized length gets a [`Failure::BadRequest`] reply
//! (id 0 unless the body named one) and the connection is closed; nothing was executed, and
//! other connections are unaffected.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use history::Value;
use turmoil::net::{TcpListener, TcpStream};

use crate::store::{plan, txn_access, Access, Plan, Store, StoreConfig, StoreError};
use crate::vfs::DiskIo;
use crate::wire::{self, Failure, FrameDecoder, Op, Request, Response, WireError};
use sim::capacity::{Admission, CpuCost, Network, NodeClock, Overlap, Usage, UsageLog};
use sim::disk_cost::{DiskCost, SyncDraws};
use sim::supervise::Backoff;

/// The port the server listens on.
pub const PORT: u16 = 5433;
pub use sim::supervise::{Restarts, RESTART_BACKOFF, RESTART_BACKOFF_MAX};

/// The reason a request refused by admission control gives.
pub const OVERLOADED: &str = "overloaded";

/// The server's network and admission model, and where it counts what it books.
#[derive(Debug, Clone, Default)]
pub struct ServerModel {
    /// What sending costs, and the NIC.
    pub network: Network,
    /// When requests are refused.
    pub admission: Admission,
    /// Where the server's usage is counted (shared with the system).
    pub usage: UsageLog,
    /// The server's host name (the key of its usage).
    pub host: String,
    /// File and directory syncs the store issued, over every incarnation (shared with the
    /// system: [`sim::System::disk_syncs`]).
    pub syncs: Rc<Cell<u64>>,
    /// What lock conflicts cost, over every incarnation (several connections only).
    pub busy: Rc<BusyStats>,
}

/// Lock conflicts between a store's connections, as the server handled them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BusyStats {
    /// `SQLITE_BUSY` answers waited out and retried.
    pub retries: Cell<u64>,
    /// Transactions rolled back when the busy timeout ran out.
    pub timeouts: Cell<u64>,
    /// Transactions rolled back because SQLite would not wait (a deferred transaction that
    /// read and could not then write: the write lock was taken, or, in WAL mode, its snapshot
    /// was stale).
    pub deadlocks: Cell<u64>,
}

/// Opens the store described by `config` and serves it until the host stops, reopening it
/// after disk failures (see the module docs). `messages` counts the replies sent.
pub async fn serve(config: StoreConfig, messages: Rc<Cell<u64>>) -> turmoil::Result {
    serve_supervised(config, messages, Rc::default()).await
}

/// [`serve`], counting failed opens and restarts in `restarts`. Only errors that retrying
/// cannot cure (the VFS cannot be registered, a pragma is refused) end it.
pub async fn serve_supervised(config: StoreConfig, messages: Rc<Cell<u64>>, restarts: Rc<Restarts>) -> turmoil::Result {
    serve_modelled(config, messages, restarts, ServerModel::default()).await
}

/// [`serve_supervised`] with a network and admission model.
pub async fn serve_modelled(
    config: StoreConfig,
    messages: Rc<Cell<u64>>,
    restarts: Rc<Restarts>,
    model: ServerModel,
) -> turmoil::Result {
    let mut backoff = Backoff::default();
    let mut after_failed_sync = false;
    loop {
        match open(&config, after_failed_sync) {
            Ok(store) => match run(store, Rc::clone(&messages), model.clone()).await {
                Ok(reason) => {
                    restarts.restart(reason);
                    backoff.reset();
                    after_failed_sync = true;
                }
                Err(error) => restarts.failed_start(error.to_string()),
            },
            Err(error @ (StoreError::Register(_) | StoreError::Pragma { .. } | StoreError::Config(_))) => {
                return Err(error.into())
            }
            Err(error) => restarts.failed_start(format!("opening the store failed: {error}")),
        }
        sim::time::sleep(backoff.next_pause()).await;
    }
}

/// Opens the store's connections; after a failed sync, also checkpoints it (see
/// [`Store::checkpoint`]), so that nothing it serves rests on pages the failed write-back may
/// have lost.
fn open(config: &StoreConfig, after_failed_sync: bool) -> Result<Vec<Store>, StoreError> {
    let mut stores = Store::open_pool(config)?;
    if after_failed_sync {
        for store in &mut stores {
            store.checkpoint()?;
        }
    }
    Ok(stores)
}

/// Serves an already opened store (tests use this to inspect the store first) until the host
/// stops or the store needs a restart (a failed sync: see the module docs), which ends it.
pub async fn serve_store(store: Store, messages: Rc<Cell<u64>>) -> turmoil::Result {
    serve_pool(vec![store], messages).await
}

/// [`serve_store`] for a store's connections, already opened ([`Store::open_pool`]).
pub async fn serve_pool(stores: Vec<Store>, messages: Rc<Cell<u64>>) -> turmoil::Result {
    run(stores, messages, ServerModel::default()).await?;
    Ok(())
}

/// Serves the store's connections `stores` (see [`Store::open_pool`]; at least one) until it
/// must be reopened; returns why.
async fn run(stores: Vec<Store>, messages: Rc<Cell<u64>>, model: ServerModel) -> Result<String, std::io::Error> {
    let Some(first) = stores.first() else {
        return Err(std::io::Error::other("a store needs at least one connection"));
    };
    let config = first.config().clone();
    let ios: Vec<Arc<DiskIo>> = stores.iter().map(Store::disk_io).collect();
    // One stream per incarnation: the run's seed, and the moment it started.
    let started = turmoil::sim_elapsed().unwrap_or_default().as_nanos() as u64;
    let draws = SyncDraws::new(&config.disk.seeded(config.seed), started);
    let overlap = if stores.len() > 1 { Overlap::Pipelined } else { Overlap::Serial };
    let shared = Rc::new(Shared {
        cost: config.disk,
        draws: RefCell::new(draws),
        cpu: config.cpu,
        busy_timeout: config.busy_timeout,
        permits: tokio::sync::Semaphore::new(stores.len()),
        pooled: stores.len() > 1,
        stores: RefCell::new(stores.into()),
        overlap,
        clock: Cell::new(NodeClock::new(overlap)),
        messages,
        model,
        tasks: RefCell::new(Vec::new()),
        dead: Cell::new(false),
        stop: tokio::sync::Notify::new(),
    });
    if let Some(period) = config.writeback {
        shared.spawn(writeback(ios, period, Rc::clone(&shared)));
    }
    let ended = accept(&shared).await;
    shared.halt();
    ended
}

async fn accept(shared: &Rc<Shared>) -> Result<String, std::io::Error> {
    let listener = TcpListener::bind(("0.0.0.0", PORT)).await?;
    loop {
        tokio::select! {
            biased;
            () = shared.stop.notified() => return Ok("a sync failed: the store was reopened".to_owned()),
            accepted = listener.accept() => {
                let (stream, _peer) = accepted?;
                shared.spawn(serve_connection(stream, Rc::clone(shared)));
            }
        }
    }
}

/// The store's own write-back (`StoreConfig::writeback`): every `period`, sync the store's
/// open files and directory. It runs on top of the harness's OS write-back model
/// (`sim::writeback`, from the run's `dirty_expire` and `dirty_writeback`), which writes back
/// any file dirty for the expiry at its ticks: this one forces a sync of every open file each
/// period whether it is old enough or not, so the two together lose at most what either would.
async fn writeback(ios: Vec<Arc<DiskIo>>, period: Duration, shared: Rc<Shared>) {
    loop {
        sim::time::sleep(period).await;
        // A kernel keeps flushing after a failed write-back; but the store has lost data it
        // believed written, and must be reopened. A dead store (its host crashed) ends the loop.
        for io in &ios {
            if io.writeback().is_err() {
                if io.sync_failed() {
                    shared.fail();
                }
                if !io.is_alive() {
                    return;
                }
            }
        }
    }
}

struct Shared {
    /// The free database connections, in the order they were given back.
    stores: RefCell<VecDeque<Store>>,
    /// One permit per database connection; FIFO, so requests get connections in arrival order.
    permits: tokio::sync::Semaphore,
    /// Several connections: transactions run statement by statement (module `txn`).
    pooled: bool,
    /// How long transactions wait for locks (module `txn`).
    busy_timeout: Duration,
    cost: DiskCost,
    /// Where each sync's latency is drawn from.
    draws: RefCell<SyncDraws>,
    cpu: CpuCost,
    /// Serial with one connection, pipelined with several (see the module docs).
    overlap: Overlap,
    clock: Cell<NodeClock>,
    messages: Rc<Cell<u64>>,
    model: ServerModel,
    /// Every task of this incarnation, aborted when it stops.
    tasks: RefCell<Vec<tokio::task::JoinHandle<()>>>,
    /// Set once the store must be reopened: nothing is executed any more.
    dead: Cell<bool>,
    /// Wakes the accept loop when the store must be reopened.
    stop: tokio::sync::Notify,
}

/// The reply to a request when the store must be reopened: whatever the operation did may
/// not be on the disk.
const RESTARTING: &str = "a sync failed: the store is being reopened";

impl Shared {
    /// Spawns a task of this incarnation.
    fn spawn(&self, task: impl std::future::Future<Output = ()> + 'static) {
        let handle = tokio::task::spawn_local(task);
        let mut tasks = self.tasks.borrow_mut();
        tasks.retain(|t| !t.is_finished());
        tasks.push(handle);
    }

    /// The store must be reopened.
    fn fail(&self) {
        if !self.dead.replace(true) {
            self.stop.notify_one();
        }
    }

    /// Aborts every task of this incarnation, as a crash of the process would.
    fn halt(&self) {
        self.dead.set(true);
        for task in self.tasks.take() {
            task.abort();
        }
    }

    /// Adds to the server's counters.
    fn record(&self, add: impl FnOnce(&mut Usage)) {
        self.model.usage.record(&self.model.host, self.overlap, add);
    }

    /// Executes one request (its frame `bytes` long) and waits out its NIC, CPU and disk
    /// time; refuses it at once past the admission bound (see the module docs). Returns the
    /// reply and when the request was done, exactly (the wait ends on a millisecond tick):
    /// the reply's send is booked from then.
    async fn handle(&self, request: Request, bytes: usize) -> (Response, tokio::time::Instant) {
        let now = tokio::time::Instant::now();
        if self.dead.get() {
            return (Response { id: request.id, result: Err(Failure::Storage(RESTARTING.to_owned())) }, now);
        }
        let mut clock = self.clock.get();
        let admitted = self.model.admission.admits(clock.backlog(tokio::time::Instant::now()));
        self.clock.set(clock);
        let size = u64::try_from(bytes).unwrap_or(u64::MAX);
        self.record(|u| {
            u.received = u.received.saturating_add(1);
            u.received_bytes = u.received_bytes.saturating_add(size);
            u.requests = u.requests.saturating_add(1);
            u.refused = u.refused.saturating_add(u64::from(!admitted));
        });
        if !admitted {
            return (Response { id: request.id, result: Err(Failure::Rejected(OVERLOADED.to_owned())) }, now);
        }
        if self.pooled {
            return self.handle_pooled(request, bytes, now).await;
        }
        // One connection: never taken across an await, so it is always free here.
        let Some(mut store) = self.stores.borrow_mut().pop_front() else {
            return (Response { id: request.id, result: Err(Failure::Storage(RESTARTING.to_owned())) }, now);
        };
        let mut result = execute(&mut store, &request.op);
        if store.needs_restart() {
            result = Err(Failure::Storage(RESTARTING.to_owned()));
            self.fail();
        }
        let (work, kinds) = (store.take_disk_work(), store.disk_io().take_sync_kinds());
        self.stores.borrow_mut().push_back(store);
        self.model.syncs.set(self.model.syncs.get().saturating_add(work.syncs));
        let disk = self.cost.charge_drawn(work, kinds, &mut self.draws.borrow_mut());
        let (rx, cpu) = (self.model.network.nic_time(bytes), self.cpu.charge(bytes));
        self.record(|u| {
            u.nic_rx = u.nic_rx.saturating_add(rx);
            u.cpu = u.cpu.saturating_add(cpu);
            u.disk = u.disk.saturating_add(disk);
        });
        let mut clock = self.clock.get();
        let done = clock.book_received(now, rx, cpu, disk).unwrap_or(now);
        self.clock.set(clock);
        tokio::time::sleep_until(done).await;
        (Response { id: request.id, result }, done)
    }

    /// Books sending a frame of `bytes` bytes from `at`: when it may go on the wire (`None`:
    /// at once).
    fn book_send(&self, at: tokio::time::Instant, bytes: usize) -> Option<tokio::time::Instant> {
        let (mut clock, mut sent) = (self.clock.get(), Usage::default());
        let done = clock.send_frame(at, &self.model.network, bytes, &mut sent);
        self.clock.set(clock);
        self.record(|u| *u = u.plus(&sent));
        done
    }

    /// Sends `response`, its request done at `ready` (its send is booked from then).
    async fn reply(
        &self,
        stream: &mut TcpStream,
        response: &Response,
        ready: tokio::time::Instant,
    ) -> Result<(), WireError> {
        let frame = match wire::encode_limited(response, wire::MAX_REPLY_FRAME) {
            Err(WireError::Oversized { len, max }) => {
                // Say so rather than drop the connection (which the client would read as a
                // crash). The operation did run: its outcome is unknown to the client.
                let failure = Failure::Storage(format!("reply of {len} bytes exceeds the {max}-byte limit"));
                wire::encode(&Response { id: response.id, result: Err(failure) })?
            }
            other => other?,
        };
        // Send CPU, then the NIC; a refusal is not queued behind the backlog.
        let refusal = matches!(&response.result, Err(Failure::Rejected(why)) if why == OVERLOADED);
        if !refusal {
            let now = tokio::time::Instant::now();
            if let Some(sent) = self.book_send(ready.min(now), frame.len()).filter(|&sent| sent > now) {
                tokio::time::sleep_until(sent).await;
            }
        }
        wire::write_frame(stream, &frame).await?;
        self.messages.set(self.messages.get() + 1);
        Ok(())
    }
}

/// A connection that sends nothing for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves one connection until EOF, an I/O error, bad input or [`IDLE_TIMEOUT`] of silence.
async fn serve_connection(mut stream: TcpStream, shared: Rc<Shared>) {
    let mut decoder = FrameDecoder::default();
    loop {
        // A client cut off by a partition never sends its FIN: without this, its connection's
        // task would wait here for the host's lifetime.
        let Ok(read) = sim::time::timeout(IDLE_TIMEOUT, wire::read_frame(&mut stream, &mut decoder)).await else {
            return;
        };
        let (response, ready) = match read {
            Ok(Some(body)) => match wire::decode::<Request>(&body) {
                Ok(request) => shared.handle(request, body.len()).await,
                Err(error) => {
                    let id = wire::salvage_id(&body).unwrap_or(0);
                    let _ = shared.reply(&mut stream, &bad_request(id, &error), tokio::time::Instant::now()).await;
                    return;
                }
            },
            Ok(None) | Err(WireError::Io(_) | WireError::Truncated { .. }) => return,
            Err(error) => {
                let _ = shared.reply(&mut stream, &bad_request(0, &error), tokio::time::Instant::now()).await;
                return;
            }
        };
        if shared.reply(&mut stream, &response, ready).await.is_err() {
            return;
        }
    }
}

fn bad_request(id: u64, error: &WireError) -> Response {
    Response { id, result: Err(Failure::BadRequest(error.to_string())) }
}

/// Runs one operation against the store, in one transaction run whole, and maps the outcome
/// to the wire.
pub fn execute(store: &mut Store, op: &Op) -> Result<Value, Failure> {
    let mut plan = plan_of(op)?;
    store.run(access(op), &mut plan).map_err(failure)
}

/// Runs one operation on a plain connection (not a [`Store`]: a replicated store's in-memory
/// state machine), as one transaction run whole, with the same statements and outcomes as
/// [`execute`]: rolled back when the plan fails.
pub fn execute_on(conn: &rusqlite::Connection, op: &Op) -> Result<Value, Failure> {
    let mut plan = plan_of(op)?;
    let begin = match access(op) {
        Access::ReadOnly => "BEGIN DEFERRED",
        Access::ReadWrite => "BEGIN IMMEDIATE",
    };
    conn.execute_batch(begin).map_err(|e| failure(e.into()))?;
    let mut step = 0;
    let outcome = loop {
        match plan(conn, step) {
            Ok(plan::Flow::Next) => step += 1,
            Ok(plan::Flow::Done(value)) => break Ok(value),
            Err(error) => break Err(error),
        }
    };
    match outcome {
        Ok(value) => {
            conn.execute_batch("COMMIT").map_err(|e| failure(e.into()))?;
            Ok(value)
        }
        Err(error) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(failure(error))
        }
    }
}

/// Whether the operation may write (see [`Access`]).
fn access(op: &Op) -> Access {
    match op {
        Op::Read { .. } | Op::ReadMany { .. } | Op::ReadSet => Access::ReadOnly,
        Op::Write { .. } | Op::Cas { .. } | Op::Transfer { .. } | Op::Add { .. } => Access::ReadWrite,
        Op::Txn { ops } => {
            let parsed: Option<Vec<sim::MicroOp>> = ops.iter().map(sim::MicroOp::parse).collect();
            parsed.map_or(Access::ReadWrite, |ops| txn_access(&ops))
        }
    }
}

/// The operation's plan ([`crate::store::plan`]); a malformed micro-operation is a bad
/// request.
fn plan_of(op: &Op) -> Result<Plan, Failure> {
    Ok(match op {
        Op::Read { key } => Box::new(plan::read(key)),
        Op::Write { key, value } => Box::new(plan::write(key, value)),
        Op::Cas { key, expected, new } => Box::new(plan::cas(key, expected, new)),
        Op::Transfer { from, to, amount } => {
            if *amount < 0 {
                return Err(failure(StoreError::NegativeAmount(*amount)));
            }
            Box::new(plan::transfer(from, to, *amount))
        }
        Op::ReadMany { keys } => Box::new(plan::read_many(keys)),
        Op::Add { element } => Box::new(plan::add(element)),
        Op::ReadSet => Box::new(plan::read_set()),
        Op::Txn { ops } => {
            let parsed: Option<Vec<sim::MicroOp>> = ops.iter().map(sim::MicroOp::parse).collect();
            match parsed {
                Some(parsed) => Box::new(plan::txn(&parsed)),
                None => return Err(Failure::BadRequest("a micro-operation is not [f k v]".to_owned())),
            }
        }
    })
}

/// How many statements (plan steps) an operation runs at most: its CPU time is shared
/// between them (module `txn`).
fn statements(op: &Op) -> usize {
    match op {
        Op::Read { .. } | Op::Write { .. } | Op::Add { .. } | Op::ReadSet => 1,
        Op::Cas { .. } => 2,
        Op::Transfer { .. } => 4,
        Op::ReadMany { keys } => keys.len().max(1),
        Op::Txn { ops } => ops.len().max(1),
    }
}

/// The reason a failed compare-and-set reports.
pub const CAS_MISMATCH: &str = "cas mismatch";

fn failure(error: StoreError) -> Failure {
    if matches!(error, StoreError::CasMismatch) {
        return Failure::Rejected(CAS_MISMATCH.to_owned());
    }
    if error.is_definite() {
        Failure::Rejected(error.to_string())
    } else {
        Failure::Storage(error.to_string())
    }
}

mod txn;
