//! The node host: turmoil TCP around the sans-I/O [`Node`]. The only server-side file that
//! touches sockets.
//!
//! - Clients connect to [`CLIENT_PORT`] and send framed [`Request`]s; the node's `Reply`
//!   effects go back on the same connection.
//! - Nodes talk over [`PEER_PORT`]: one outgoing connection per peer, opened lazily, its first
//!   frame a [`Hello`] naming the sender. A message that cannot be delivered goes back to the
//!   node as `on_unreachable`. turmoil's TCP never retransmits, so a stream that crossed a
//!   partition may be stalled for good: while the node suspects a peer, each message to it
//!   opens a fresh connection, and any connection is renewed after [`PEER_STREAM_MAX_AGE`].
//! - Capacity ([`sim::capacity`]): every incoming frame (a client request, a peer message)
//!   costs CPU time ([`CpuCost`], free unless configured), the disk work a node call caused is
//!   turned into simulated time ([`DiskCost`]), both booked on the node's [`NodeClock`]
//!   (pipelined: the CPU serves the next frame while the disk syncs), and the call's effects go
//!   out only when both are done. Internal calls (timers, undeliverable messages) cost no CPU
//!   but queue behind it. The network ([`Network`], free unless configured): a frame received
//!   first occupies the NIC's receive side (`bytes / bandwidth`) and its call's CPU work starts
//!   when it has arrived; every frame sent (a peer message, a reply) costs send CPU and then
//!   occupies the NIC's transmit side, and goes on the wire only when both are done. What a
//!   node books is counted per node in [`UsageLog`] ([`crate::system::QuorumSystem::usage`]).
//! - Admission control ([`Admission`], unbounded unless configured): a client request that
//!   arrives while the node's backlog (how long until its CPU, disk and NIC are all idle)
//!   exceeds the bound is refused at once with `Unavailable("overloaded")`, as Cassandra
//!   answers `OverloadedException`: definite, the node did nothing with it. The refusal costs
//!   the node's timelines nothing and is not queued behind them: Cassandra checks its limits
//!   on the native transport's event loop (Netty), apart from the request stage whose queue is
//!   long. Only client requests are refused: peer messages are work the cluster already
//!   accepted.
//! - The commit log ([`lsm::CommitLogSync`]; the storage never syncs by itself):
//!   - `batch`: the grouping is decided by [`lsm::SyncBatcher`], a pure state machine; the
//!     host only syncs, books the disk time and waits. A call that wrote (or that ran while
//!     something was unsynced) syncs at once if no sync's disk time is running: its effects go
//!     out when that sync is done, so a lone writer waits exactly one sync. Otherwise its
//!     effects are held, and when the running sync's disk time has passed one sync, charged
//!     once, covers every write that waited and releases all their effects when it is done.
//!   - `group`: a syncer syncs every window; effects of calls made while something was
//!     unsynced wait for it, and the sync queues on the disk only.
//!   - `periodic`: the syncer syncs every period; effects go out at once.
//!
//!   Held effects never go out before their own call's CPU and disk time have passed either.
//!   Writes and the syncs that had something to sync are counted in [`CommitLogCounts`].
//! - A ticker drives `on_tick` (timeouts, hints, anti-entropy) every [`TICK`].
//! - The node's clock offset (clock skew) is read from a shared cell before every call.
//! - Bad input closes only its own connection and is counted ([`NodeSetup::bad_frames`]): a
//!   frame that is not the expected message, a length above the limit, a stream that ends
//!   inside a frame, a peer connection whose first frame is not a [`Hello`] from another
//!   node. A client gets an `Unsupported` reply (with the request's id when it can be read)
//!   before the close; a peer gets nothing.
//! - Disk failures: the node host is its own supervisor. When a storage call fails in a way
//!   that poisons the engine (a failed write or sync, see [`lsm::engine`]), the node stops
//!   at once, as if its process had crashed: every task it runs is aborted (connections
//!   close, so callers see an indeterminate outcome), effects not yet sent are dropped, and
//!   after [`RESTART_BACKOFF`] it starts again from its files, which is how PostgreSQL answers
//!   a failed `fsync`. A start that fails (the disk fails while recovering) is retried the
//!   same way, with the backoff doubling up to [`RESTART_BACKOFF_MAX`]. Both are counted in
//!   [`Restarts`]. A full disk is not a failure: the engine refuses writes definitely and
//!   keeps serving reads.
//! - Optionally a sampler publishes the node's client data (key and version of every cell,
//!   reserved keys left out) every period of simulated time ([`ReplicaSamples`]), from which
//!   [`crate::system::QuorumSystem::convergence`] tells when replicas became equal. It only
//!   reads, so a run gives the same history with or without it.
//! - [`raw`]: raw bytes to a node's ports, for bad-input tests.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use lsm::sync_batch::{Step, SyncBatcher};
use lsm::{CommitLogSync, EngineConfig};
use serde::{Deserialize, Serialize};
use sim::capacity::{Admission, CpuCost, Network, NodeClock, Overlap, Usage, UsageLog};
use sim::disk_cost::{DiskCost, DiskWork, SyncDraws, SyncKinds};
use sim::frame::{self, FrameDecoder, WireError, MAX_FRAME, MAX_REPLY_FRAME};
use tokio::sync::mpsc;
use turmoil::net::{TcpListener, TcpStream};

use crate::config::NodeConfig;
use crate::engine_storage::EngineStorage;
use crate::message::{Effect, Failure, PeerMessage, Request, Response};
use crate::node::Node;
use crate::system::ReplicaSamples;

pub mod raw;
mod supervisor;

pub use sim::supervise::{Restarts, RESTART_BACKOFF, RESTART_BACKOFF_MAX};
pub use supervisor::serve;

/// Where clients connect.
pub const CLIENT_PORT: u16 = 9042;
/// Where nodes connect to each other.
pub const PEER_PORT: u16 = 7000;
/// How often the node's timers run.
pub const TICK: Duration = Duration::from_millis(10);
/// How long a connection attempt to a peer may take (a crashed host never answers).
pub const PEER_CONNECT_TIMEOUT: Duration = Duration::from_millis(100);
/// After a failed connection attempt, messages to that peer fail at once for this long.
pub const PEER_BACKOFF: Duration = Duration::from_millis(100);
/// A connection that sends nothing for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// A peer connection older than this is replaced before the next message. turmoil's TCP never
/// retransmits, so a stream that lost a segment to a partition stays stalled after the heal;
/// renewing connections stands in for retransmission and bounds how long that lasts.
pub const PEER_STREAM_MAX_AGE: Duration = Duration::from_millis(500);
/// The largest frame between nodes. Larger than a client request may be ([`MAX_FRAME`]): a
/// message between nodes carries a whole cell, and a client may write a value that fills its
/// request frame (or grow a set by adds far beyond it), so with the client's limit such a cell
/// could never be replicated, and every attempt would make the peer look unreachable.
pub const MAX_PEER_FRAME: usize = MAX_REPLY_FRAME;
/// Messages queued for one peer before further ones count as undeliverable.
const PEER_QUEUE: usize = 4096;
/// Replies queued for one client connection.
const CLIENT_QUEUE: usize = 256;

/// The first frame on a peer connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hello {
    /// The sending node.
    pub from: u32,
}

/// Everything a node host needs to start.
#[derive(Debug, Clone)]
pub struct NodeSetup {
    /// The node's protocol configuration.
    pub config: NodeConfig,
    /// Host name of every node, by id (this one included).
    pub hosts: BTreeMap<u32, String>,
    /// The storage engine's configuration.
    pub engine: EngineConfig,
    /// Commit log sync policy.
    pub sync: CommitLogSync,
    /// The commit log's write buffer in bytes (0: off, one `write` per record).
    ///
    /// Why it exists: turmoil 0.7.2's simulated disk keeps every unsynced write as a pending
    /// operation and walks all of a host's pending operations on each `write` (to find the
    /// file's length), so a write costs wall time in proportion to the writes not yet synced.
    /// Under `commitlog_sync: periodic` with a 10 s period nothing syncs during a short run,
    /// and a 3-node cluster taking 49,000 writes/s spent 117 s of wall time on one 1.3 s
    /// point (2.5 s under `batch`). A buffer hands the records to the disk a few KiB at a
    /// time: the same bytes, syncs and simulated costs (the disk cost is charged by bytes
    /// and syncs, not by `write` calls), and far fewer pending operations.
    ///
    /// What it changes: a record still in the buffer is lost when the process dies (a kill
    /// as well as a power loss), and a full disk poisons the engine instead of refusing one
    /// write (see [`lsm::commit_log`]). So it is for runs without crashes, kills or disk
    /// faults (the steady-state sweep); the fault experiments keep it off.
    pub log_buffer: usize,
    /// What disk work costs in simulated time.
    pub disk: DiskCost,
    /// What each incoming frame costs in CPU time.
    pub cpu: CpuCost,
    /// What sending costs, and the NIC.
    pub network: Network,
    /// When client requests are refused.
    pub admission: Admission,
    /// What each node booked (shared by the whole system).
    pub usage: UsageLog,
    /// Messages sent (shared by the whole system).
    pub messages: Rc<Cell<u64>>,
    /// This node's clock offset from simulated time, in nanoseconds (set by clock-skew faults).
    pub skew_ns: Rc<Cell<i64>>,
    /// Malformed frames received (shared by the whole system).
    pub bad_frames: Rc<Cell<u64>>,
    /// Where to publish the node's client data, and how often (`None`: no sampler).
    pub samples: Option<(Duration, ReplicaSamples)>,
    /// What the supervisors did (shared by the whole system).
    pub restarts: Rc<Restarts>,
    /// Commit-log writes and syncs (shared by the whole system).
    pub commit_log: Rc<CommitLogCounts>,
    /// What the node starts holding, of the keys it replicates ([`sim::System::preload`]).
    pub preload: Rc<Vec<(String, history::Value)>>,
}

/// The commit-log work of the nodes that share it: records appended and syncs issued that had
/// something to sync, over every node and incarnation.
#[derive(Debug, Default)]
pub struct CommitLogCounts {
    writes: Cell<u64>,
    syncs: Cell<u64>,
}

impl CommitLogCounts {
    /// Records appended to commit logs.
    pub fn writes(&self) -> u64 {
        self.writes.get()
    }

    /// Commit-log syncs that had records to sync.
    pub fn syncs(&self) -> u64 {
        self.syncs.get()
    }

    fn add_writes(&self, writes: u64) {
        self.writes.set(self.writes.get().saturating_add(writes));
    }

    fn add_sync(&self) {
        self.syncs.set(self.syncs.get().saturating_add(1));
    }
}

/// The reason a request refused by admission control gives.
pub const OVERLOADED: &str = "overloaded";

/// Model time since the start (zero outside a simulation; see [`sim::time`]).
fn now() -> Duration {
    sim::time::now()
}

/// A message on its way out, and when the call that sent it was done, exactly (its release
/// ran at the next millisecond tick: see [`sim::capacity`]). The send is booked from that
/// moment, so a send's cost is not rounded up to a tick a second time.
type Outgoing<T> = (T, tokio::time::Instant);

struct Host {
    node: RefCell<Node<EngineStorage>>,
    id: u32,
    /// Each peer's queue: a message, and when the call that sent it was done (exactly: see
    /// [`Outgoing`]).
    peers: RefCell<BTreeMap<u32, mpsc::Sender<Outgoing<PeerMessage>>>>,
    /// Each client connection's queue of replies.
    clients: RefCell<BTreeMap<u64, mpsc::Sender<Outgoing<Response>>>>,
    next_conn: Cell<u64>,
    /// The CPU and disk timelines.
    clock: Cell<NodeClock>,
    /// Where this node's sync latencies are drawn from (its commit log's syncs all follow
    /// appends: each commits metadata).
    draws: RefCell<SyncDraws>,
    /// Effects waiting for the next commit-log sync (`batch`, `group`).
    held: RefCell<Vec<Effect>>,
    /// When the calls whose effects are held are done (their own CPU and disk time).
    held_until: Cell<Option<tokio::time::Instant>>,
    /// `batch`: which writes share which sync.
    batch: RefCell<SyncBatcher<tokio::time::Instant>>,
    setup: NodeSetup,
    /// Every task this incarnation spawned, aborted when it stops.
    tasks: RefCell<Vec<tokio::task::JoinHandle<()>>>,
    /// Set once the node must stop (then nothing it does reaches the outside any more).
    dead: Cell<bool>,
    /// Why it stopped.
    failure: RefCell<Option<String>>,
    /// Wakes the supervisor when the node must stop.
    stop: tokio::sync::Notify,
}

impl Host {
    /// Runs one internal node call (a timer, an undeliverable message): no CPU cost.
    fn run(self: &Rc<Self>, call: impl FnOnce(&mut Node<EngineStorage>, Duration) -> Vec<Effect>) {
        self.run_costing(Duration::ZERO, Duration::ZERO, call);
    }

    /// Runs the node call for an incoming frame of `bytes` bytes, charging its NIC and CPU
    /// time.
    fn receive(self: &Rc<Self>, bytes: usize, call: impl FnOnce(&mut Node<EngineStorage>, Duration) -> Vec<Effect>) {
        self.count_received(bytes);
        self.run_costing(self.setup.network.nic_time(bytes), self.setup.cpu.charge(bytes), call);
    }

    /// Counts a frame of `bytes` bytes received.
    fn count_received(&self, bytes: usize) {
        let bytes = u64::try_from(bytes).unwrap_or(u64::MAX);
        self.record(|u| {
            u.received = u.received.saturating_add(1);
            u.received_bytes = u.received_bytes.saturating_add(bytes);
        });
    }

    /// A client request of `bytes` bytes on connection `conn`: refused at once when the
    /// node's backlog exceeds the admission bound (see the module docs), run otherwise.
    fn receive_request(self: &Rc<Self>, conn: u64, bytes: usize, request: Request) {
        if self.dead.get() {
            return;
        }
        let mut clock = self.clock.get();
        let backlog = clock.backlog(tokio::time::Instant::now());
        self.clock.set(clock);
        let admitted = self.setup.admission.admits(backlog);
        self.record(|u| {
            u.requests = u.requests.saturating_add(1);
            u.refused = u.refused.saturating_add(u64::from(!admitted));
        });
        if admitted {
            return self.receive(bytes, |node, now| node.on_request(now, conn, request));
        }
        self.count_received(bytes);
        let response = Response { id: request.id, result: Err(Failure::Unavailable(OVERLOADED.to_owned())) };
        self.route(vec![Effect::Reply { conn, response }], tokio::time::Instant::now());
    }

    /// Adds to this node's counters.
    fn record(&self, add: impl FnOnce(&mut Usage)) {
        let name = self.setup.hosts.get(&self.id).map_or("", String::as_str);
        self.setup.usage.record(name, Overlap::Pipelined, add);
    }

    /// Books sending a frame of `bytes` bytes from `at` (send CPU, then the NIC's transmit
    /// side): when it may go on the wire (`None`: at once).
    fn book_send(&self, at: tokio::time::Instant, bytes: usize) -> Option<tokio::time::Instant> {
        let (mut clock, mut sent) = (self.clock.get(), Usage::default());
        let done = clock.send_frame(at, &self.setup.network, bytes, &mut sent);
        self.clock.set(clock);
        self.record(|u| *u = u.plus(&sent));
        done
    }

    /// Books background disk time `disk` from `at` (a sync no call waits for by its CPU):
    /// when it is done (`None`: at once).
    fn book_disk(&self, at: tokio::time::Instant, disk: Duration) -> Option<tokio::time::Instant> {
        self.record(|u| u.disk = u.disk.saturating_add(disk));
        let mut clock = self.clock.get();
        let done = clock.book_disk(at, disk);
        self.clock.set(clock);
        done
    }

    /// Runs one node call, then sends its effects once its CPU and disk time have passed (and,
    /// under `batch` and `group`, once a sync covers what is unsynced: see the module docs). A
    /// call after which the storage needs a restart stops the node instead: its effects are
    /// dropped (what it answered may rest on writes the disk does not hold).
    fn run_costing(
        self: &Rc<Self>,
        rx: Duration,
        cpu: Duration,
        call: impl FnOnce(&mut Node<EngineStorage>, Duration) -> Vec<Effect>,
    ) {
        if self.dead.get() {
            return;
        }
        let (effects, work, wrote, dirty, failed) = {
            let mut node = self.node.borrow_mut();
            node.set_clock_offset(self.setup.skew_ns.get());
            let effects = call(&mut node, now());
            let storage = node.storage_mut();
            let failed = storage.needs_restart().then(|| storage.last_error());
            (effects, storage.take_disk_work(), storage.take_appended(), storage.dirty(), failed)
        };
        if let Some(reason) = failed {
            return self.fail(reason.unwrap_or_else(|| "the storage engine needs a restart".to_owned()));
        }
        self.setup.commit_log.add_writes(wrote);
        let at = tokio::time::Instant::now();
        let step = match self.setup.sync {
            CommitLogSync::Batch if wrote > 0 || dirty => self.batch.borrow_mut().on_write(at, wrote),
            CommitLogSync::Group(_) if dirty => Step::Wait,
            _ => Step::Nothing,
        };
        let Step::Sync(sync) = step else {
            let done = self.book(at, rx, cpu, work);
            if step == Step::Wait {
                self.hold(done, effects);
            } else {
                self.dispatch_after(done, effects);
            }
            return;
        };
        // `batch`, no sync running: this call's sync covers it and every held effect.
        let Some(synced) = self.sync_log() else { return };
        let done = self.book(at, rx, cpu, work.plus(synced));
        self.hold(done, effects);
        self.release_after_sync(sync, done);
    }

    /// Books a call's NIC (receive), CPU and disk time from `at`: when its effects may go out
    /// (`None`: at once).
    fn book(
        &self,
        at: tokio::time::Instant,
        rx: Duration,
        cpu: Duration,
        work: DiskWork,
    ) -> Option<tokio::time::Instant> {
        let disk = self.disk_time(work);
        self.record(|u| {
            u.nic_rx = u.nic_rx.saturating_add(rx);
            u.cpu = u.cpu.saturating_add(cpu);
            u.disk = u.disk.saturating_add(disk);
        });
        let mut clock = self.clock.get();
        let done = clock.book_received(at, rx, cpu, disk);
        self.clock.set(clock);
        done
    }

    /// The disk time `work` costs, each sync drawn from this node's stream (its commit log's
    /// syncs all follow appends: each commits metadata).
    fn disk_time(&self, work: DiskWork) -> Duration {
        self.setup.disk.charge_drawn(work, SyncKinds::default(), &mut self.draws.borrow_mut())
    }

    /// Holds `effects`, of a call done at `done`, for the next commit-log sync.
    fn hold(&self, done: Option<tokio::time::Instant>, effects: Vec<Effect>) {
        self.held.borrow_mut().extend(effects);
        self.held_until.set(self.held_until.get().max(done));
    }

    /// Syncs the commit log now (counted if it had records to sync); the disk work it did.
    /// `None` when the sync failed: the node is stopped.
    fn sync_log(&self) -> Option<DiskWork> {
        let (synced, work, had_records) = {
            let mut node = self.node.borrow_mut();
            let storage = node.storage_mut();
            let had_records = storage.dirty();
            let synced = storage.sync().map_err(|e| e.to_string());
            (synced, storage.take_disk_work(), had_records)
        };
        if let Err(error) = synced {
            self.fail(format!("commit log sync failed: {error}"));
            return None;
        }
        if had_records {
            self.setup.commit_log.add_sync();
        }
        Some(work)
    }

    /// `batch`: sync `sync` ran and is done (its disk time passed) at `done`. Sends every held
    /// effect then, and then lets the batcher start the next sync for the writes that waited.
    fn release_after_sync(self: &Rc<Self>, sync: u64, done: Option<tokio::time::Instant>) {
        self.batch.borrow_mut().sync_started(sync, done);
        let held = std::mem::take(&mut *self.held.borrow_mut());
        let release = self.held_until.take().max(done);
        self.dispatch_after(release, held);
        if let Some(done) = done {
            self.after(Some(done), move |host| host.batch_sync_done(sync, done));
        }
    }

    /// `batch`: the disk time of sync `sync` ended at `ended`. If writes waited for it, one
    /// sync covers them all; it starts on the disk when `sync` ended (they all arrived before).
    fn batch_sync_done(self: &Rc<Self>, sync: u64, ended: tokio::time::Instant) {
        if self.dead.get() {
            return;
        }
        let Step::Sync(next) = self.batch.borrow_mut().on_sync_done(sync) else { return };
        let Some(work) = self.sync_log() else { return };
        let done = self.book_disk(ended, self.disk_time(work));
        self.release_after_sync(next, done);
    }

    /// Sends `effects` at `done` (`None`: at once).
    fn dispatch_after(self: &Rc<Self>, done: Option<tokio::time::Instant>, effects: Vec<Effect>) {
        self.after(done, move |host| host.route(effects, done.unwrap_or_else(tokio::time::Instant::now)));
    }

    /// Runs `then` at `done` (`None`: now), in a task of this incarnation.
    fn after(self: &Rc<Self>, done: Option<tokio::time::Instant>, then: impl FnOnce(&Rc<Host>) + 'static) {
        match done {
            None => then(self),
            Some(done) => {
                let host = Rc::clone(self);
                self.spawn(async move {
                    tokio::time::sleep_until(done).await;
                    then(&host);
                });
            }
        }
    }

    /// Spawns a task of this incarnation (aborted when it stops).
    fn spawn(&self, task: impl std::future::Future<Output = ()> + 'static) {
        let handle = tokio::task::spawn_local(task);
        let mut tasks = self.tasks.borrow_mut();
        tasks.retain(|t| !t.is_finished());
        tasks.push(handle);
    }

    /// The node must stop (a disk failure): from now on it does nothing; the supervisor
    /// aborts its tasks and starts it again.
    fn fail(&self, reason: String) {
        if self.dead.replace(true) {
            return;
        }
        *self.failure.borrow_mut() = Some(reason);
        self.held.borrow_mut().clear();
        self.held_until.set(None);
        self.stop.notify_one();
    }

    /// Aborts every task of this incarnation, as a crash of its process would.
    fn halt(&self) {
        self.dead.set(true);
        for task in self.tasks.take() {
            task.abort();
        }
    }

    /// Sends `effects` of a call done at `ready` (see [`Outgoing`]).
    fn route(self: &Rc<Self>, effects: Vec<Effect>, ready: tokio::time::Instant) {
        if self.dead.get() {
            return;
        }
        for effect in effects {
            match effect {
                Effect::Send { to, msg } => {
                    let sender = self.peers.borrow().get(&to).cloned();
                    let undelivered = match sender {
                        Some(sender) => sender.try_send((msg, ready)).err().map(|e| match e {
                            mpsc::error::TrySendError::Full((msg, _)) | mpsc::error::TrySendError::Closed((msg, _)) => {
                                msg
                            }
                        }),
                        None => Some(msg),
                    };
                    if let Some(msg) = undelivered {
                        self.run(|node, now| node.on_unreachable(now, to, msg));
                    }
                }
                Effect::Reply { conn, response } => {
                    if let Some(sender) = self.clients.borrow().get(&conn) {
                        // A full or closed queue: the client is gone or not reading.
                        let _ = sender.try_send((response, ready));
                    }
                }
            }
        }
    }
}

async fn ticker(host: Rc<Host>) {
    loop {
        sim::time::sleep(TICK).await;
        host.run(|node, now| node.on_tick(now));
    }
}

/// Publishes the node's client data at every multiple of `period` of simulated time (the
/// sample is filed under that multiple even when the wake-up comes a tick late, so every
/// node's sample of one moment lands in the same slot). Reads only: no disk time is charged
/// and nothing the node does depends on it. A node whose storage cannot be read publishes
/// nothing for that moment.
async fn sampler(host: Rc<Host>, period: Duration, samples: ReplicaSamples) {
    let period_ns = period.as_nanos().max(1);
    loop {
        let at = now();
        let slot = at.as_nanos() / period_ns + 1;
        let Ok(next) = u64::try_from(slot * period_ns).map(Duration::from_nanos) else { return };
        sim::time::sleep(next.saturating_sub(at)).await;
        if host.dead.get() {
            return;
        }
        let data = host.node.borrow_mut().data();
        if let Ok(data) = data {
            samples.publish(host.id, next, data.into_iter().map(|(key, cell)| (key, cell.version)).collect());
        }
    }
}

/// The commit log's timer (`periodic`, `group`): sync, charge the disk time, then release what
/// group commit held back. A failed sync stops the node (see the module docs): the held
/// effects are dropped and their clients see the connection close, which is the truth (the
/// writes may not be durable).
async fn syncer(host: Rc<Host>, period: Duration) {
    loop {
        sim::time::sleep(period).await;
        if host.dead.get() {
            return;
        }
        let Some(work) = host.sync_log() else { return };
        let held = std::mem::take(&mut *host.held.borrow_mut());
        let disk = host.disk_time(work);
        let done = host.book_disk(tokio::time::Instant::now(), disk);
        host.dispatch_after(host.held_until.take().max(done), held);
    }
}

async fn connect_peer(id: u32, name: &str) -> Option<TcpStream> {
    let connect = TcpStream::connect((name, PEER_PORT));
    let mut stream = sim::time::timeout(PEER_CONNECT_TIMEOUT, connect).await.ok()?.ok()?;
    let hello = frame::encode(&Hello { from: id }).ok()?;
    frame::write_frame(&mut stream, &hello).await.ok()?;
    Some(stream)
}

/// Delivers the node's messages to one peer, in order.
///
/// Sending costs CPU and NIC time ([`Host::book_send`]): the writer takes every message
/// queued, books each from when its call was done, waits until the last has left the node,
/// then writes them all in order. Taking them together keeps the writer from passing one
/// message per millisecond tick when each one waits (tokio's timers fire on whole
/// milliseconds).
async fn peer_writer(host: Rc<Host>, peer: u32, name: String, mut queue: mpsc::Receiver<Outgoing<PeerMessage>>) {
    let mut stream: Option<TcpStream> = None;
    let mut opened = Duration::ZERO;
    let mut down_until = Duration::ZERO;
    let mut batch: Vec<(PeerMessage, Vec<u8>)> = Vec::new();
    while let Some(first) = queue.recv().await {
        let mut left = None;
        let mut next = Some(first);
        while let Some((msg, ready)) = next {
            // A message too large to frame (only anti-entropy's batches of cells can be) is
            // dropped: it says nothing about the peer, so the peer is not reported
            // unreachable. A round waiting for it times out; anti-entropy tries again next
            // period.
            if let Ok(bytes) = frame::encode_limited(&msg, MAX_PEER_FRAME) {
                left = left.max(host.book_send(ready.min(tokio::time::Instant::now()), bytes.len()));
                batch.push((msg, bytes));
            }
            next = queue.try_recv().ok();
        }
        // Send CPU, then the NIC: the frames go on the wire when they have left the node.
        // (A frame booked from an earlier moment may have left already: no wait, not even
        // for the next tick.)
        if let Some(left) = left.filter(|&left| left > tokio::time::Instant::now()) {
            tokio::time::sleep_until(left).await;
        }
        for (msg, bytes) in batch.drain(..) {
            let suspect = host.node.borrow().suspects(peer, now());
            if suspect || now().saturating_sub(opened) > PEER_STREAM_MAX_AGE {
                // The current stream may have lost a segment to a partition: start afresh.
                stream = None;
            }
            if stream.is_none() && now() >= down_until {
                stream = connect_peer(host.id, &name).await;
                opened = now();
                if stream.is_none() {
                    down_until = now() + PEER_BACKOFF;
                }
            }
            let delivered = match stream.as_mut() {
                Some(stream) => frame::write_frame(stream, &bytes).await.is_ok(),
                None => false,
            };
            if delivered {
                host.setup.messages.set(host.setup.messages.get() + 1);
            } else {
                stream = None;
                host.run(|node, now| node.on_unreachable(now, peer, msg));
            }
        }
    }
}

async fn accept_peers(host: Rc<Host>, listener: TcpListener) {
    while let Ok((stream, _)) = listener.accept().await {
        host.spawn(peer_reader(Rc::clone(&host), stream));
    }
}

/// Reads one peer's messages: a [`Hello`], then [`PeerMessage`]s. Anything malformed closes
/// the connection (and is counted); the node is never told about it.
async fn peer_reader(host: Rc<Host>, mut stream: TcpStream) {
    let mut decoder = FrameDecoder::new(MAX_PEER_FRAME);
    let mut from = None;
    loop {
        let read = sim::time::timeout(IDLE_TIMEOUT, frame::read_frame(&mut stream, &mut decoder)).await;
        let body = match read {
            Ok(Ok(Some(body))) => body,
            Ok(Err(error)) if is_bad_input(&error) => return bad_frame(&host),
            // A clean close, a broken connection or an idle one.
            _ => return,
        };
        match from {
            None => match frame::decode::<Hello>(&body) {
                Ok(hello) if host.setup.hosts.contains_key(&hello.from) && hello.from != host.id => {
                    from = Some(hello.from);
                }
                _ => return bad_frame(&host),
            },
            Some(peer) => match frame::decode::<PeerMessage>(&body) {
                Ok(msg) => host.receive(body.len(), |node, now| node.on_peer(now, peer, msg)),
                Err(_) => return bad_frame(&host),
            },
        }
    }
}

/// Whether `response` is an admission-control refusal.
fn is_refusal(response: &Response) -> bool {
    matches!(&response.result, Err(Failure::Unavailable(why)) if why == OVERLOADED)
}

/// Whether a read failed because of what the other side sent (an oversized length, a stream
/// ending inside a frame), rather than because the connection broke.
fn is_bad_input(error: &WireError) -> bool {
    !matches!(error, WireError::Io(_))
}

fn bad_frame(host: &Host) {
    host.setup.bad_frames.set(host.setup.bad_frames.get() + 1);
}

/// Counts a bad frame from client connection `conn` and queues the `Unsupported` answer (to
/// request `id`, 0 when it could not be read); the caller then closes the connection.
fn refuse(host: &Host, conn: u64, id: u64, why: String) {
    bad_frame(host);
    if let Some(sender) = host.clients.borrow().get(&conn) {
        let _ = sender.try_send((Response { id, result: Err(Failure::Unsupported(why)) }, tokio::time::Instant::now()));
    }
}

/// Serves one client connection: requests in, replies out (from a writer task, since replies
/// come from node effects, possibly after other requests).
async fn client_connection(host: Rc<Host>, stream: TcpStream) {
    let conn = host.next_conn.get();
    host.next_conn.set(conn + 1);
    let (mut reader, mut writer) = stream.into_split();
    let (sender, mut replies) = mpsc::channel::<Outgoing<Response>>(CLIENT_QUEUE);
    host.clients.borrow_mut().insert(conn, sender);
    let messages = Rc::clone(&host.setup.messages);
    // Not registered with the host: it ends with its channel, and aborting this task (the
    // reader) drops the channel's sender. It holds the host weakly, so that it never keeps a
    // stopped incarnation alive.
    let weak = Rc::downgrade(&host);
    let write_task = tokio::task::spawn_local(async move {
        while let Some((response, ready)) = replies.recv().await {
            let Ok(bytes) = frame::encode_limited(&response, MAX_REPLY_FRAME) else { break };
            // Send CPU, then the NIC, from when the reply's call was done (see `peer_writer`);
            // a refusal is not queued (see the module docs).
            let at = ready.min(tokio::time::Instant::now());
            let sent =
                weak.upgrade().filter(|_| !is_refusal(&response)).and_then(|host| host.book_send(at, bytes.len()));
            if let Some(sent) = sent.filter(|&sent| sent > tokio::time::Instant::now()) {
                tokio::time::sleep_until(sent).await;
            }
            if frame::write_frame(&mut writer, &bytes).await.is_err() {
                break;
            }
            messages.set(messages.get() + 1);
        }
    });
    let mut decoder = FrameDecoder::new(MAX_FRAME);
    loop {
        let read = sim::time::timeout(IDLE_TIMEOUT, frame::read_frame(&mut reader, &mut decoder)).await;
        let body = match read {
            Ok(Ok(Some(body))) => body,
            Ok(Err(error)) if is_bad_input(&error) => {
                refuse(&host, conn, 0, format!("bad frame: {error}"));
                break;
            }
            // A clean close, a broken connection or an idle one.
            _ => break,
        };
        match frame::decode::<Request>(&body) {
            Ok(request) => host.receive_request(conn, body.len(), request),
            Err(error) => {
                let id = frame::salvage_id(&body).unwrap_or(0);
                refuse(&host, conn, id, format!("malformed request: {error}"));
                break;
            }
        }
    }
    host.clients.borrow_mut().remove(&conn);
    // Let the writer send what is queued (the error reply), then end with the channel.
    let _ = write_task.await;
}
