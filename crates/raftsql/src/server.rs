//! One node's start-up future under turmoil: the thin adapter between the sans-I/O
//! [`RaftNode`] and the simulated network, disk and clock.
//!
//! Each start (and restart after a crash) opens the [`LogStore`] in `/raft` on the host's
//! simulated disk (recovering what was synced), builds the node, and runs four kinds of task:
//! - the **ticker**: one `tick` of Raft's logical clock every [`RaftConfig::tick`] of model time;
//! - the **peer links**: one long-lived connection to each peer carrying its Raft messages in
//!   order (`peer_link`), replaced when its frames go unacknowledged; the **peer listener**
//!   reads each incoming connection's messages, acknowledges and steps them in;
//! - the **client listener**: one task per connection, one request at a time;
//! - the **driver**: after anything changed, runs raft-rs's Ready protocol
//!   ([`RaftNode::drive`]), sends the messages that may go at once, charges the sync of the
//!   log on the disk model ([`RaftConfig::disk`]) by sleeping that long in model time, then
//!   sends the messages that promise what is on disk, applies committed entries to the
//!   [`StateMachine`] and answers the clients waiting for them.
//!
//! Acknowledgement ([`AckMode`]): with `Majority` a write is answered once its entry is
//! committed and applied; with `Async` the leader applies its own entries as soon as its log
//! has them (synced) and answers then, before any follower has them. A leader that loses its
//! leadership with entries applied ahead of the commit index rebuilds its database from the
//! committed prefix; every acknowledged entry that a new leader's log then replaces is counted
//! as rolled back ([`LeaderLog::rolled_back_acks`]).
//!
//! Reads ([`ReadMode`]): `Leader` asks raft-rs for a ReadIndex (a heartbeat round confirming
//! the leadership; no clock involved) and answers once the database has applied that index.
//! As etcd's linearizable read loop does, reads are batched: one ReadIndex is in flight at a
//! time, and every read that arrives meanwhile waits for the next one, which serves them all
//! (a ReadIndex per read would cost a heartbeat round per read, which no deployment pays). A
//! ReadIndex unanswered for an election timeout, or from an earlier term, no longer holds the
//! next batch back. `Follower` answers from the node's own database at once. A node that is not the leader
//! answers writes and leader reads with a redirect, executing nothing.
//!
//! The capacity model (`sim::capacity`, the same as the other stores'; free unless the run
//! configures it): each node has one [`NodeClock`] whose timelines combine as
//! [`Overlap::Pipelined`] (the CPU serves the next frame while the log syncs).
//! - Every frame received (a peer message, a client request) occupies the NIC's receive side and
//!   costs [`RaftConfig::cpu`]; it is stepped in (or handled) once its CPU time is done.
//! - Every frame sent (a peer message, a reply) costs the send CPU and the NIC's transmit side
//!   of [`RaftConfig::network`] before it goes.
//! - Applying an entry to SQLite costs the CPU of one frame of its size on every node that
//!   applies it (the leader, and each follower); a leader's reply is booked after it. (A
//!   rebuild after a rollback re-applies the committed prefix uncharged: it is rare.)
//! - Each log sync is booked on the disk timeline.
//! - A client request arriving while the node's backlog exceeds [`RaftConfig::admission`] is
//!   refused at once (a definite failure, as the other stores refuse).
//!
//! What each node booked is counted under its host name ([`Shared::usage`]).
//!
//! Bootstrap: a node that has never been in a term (a new group) and is the group's first node
//! campaigns as soon as it starts, so a new group has its first leader within a round trip
//! rather than an election timeout (1-2 s at etcd's timing). A run's clients start with the
//! servers; a real cluster is bootstrapped before its clients arrive, so waiting out a first
//! election in every run would count as unavailability what no deployment's clients see. A
//! node that restarts after a crash has a term and waits for the timeout as Raft specifies.
//!
//! Supervision: a node whose log store fails (a disk I/O error on append or sync) stops, as a
//! process that exits: every task of the incarnation is aborted, its sockets closed, its waiting
//! clients left to their timeouts. The supervisor starts it again after a pause
//! ([`sim::supervise::Backoff`]); the new incarnation recovers the log from what the disk kept.
//! A start that fails (the log cannot be read, a port not bound) is retried the same way.
//! Restarts and failed starts are counted in [`Shared::restarts`].
//!
//! What is not modelled: snapshots, membership changes.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;
use std::time::Duration;

use raft::eraftpb::EntryType;
use sim::capacity::{NodeClock, Overlap, Usage, UsageLog};
use sim::frame::FrameDecoder;
use sim::supervise::{Backoff, Restarts};
use sim::{LeaderLog, Reign};
use sqlstore::wire::{Failure, Op};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{oneshot, Notify};
use tokio::task::AbortHandle;
use tokio::time::Instant;
use turmoil::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use turmoil::net::{TcpListener, TcpStream};

use crate::command::Command;
use crate::config::{AckMode, RaftConfig, ReadMode};
use crate::log_store::LogStore;
use crate::node::{Output, RaftNode};
use crate::state_machine::StateMachine;
use crate::wire::{self, Outcome, Request, Response, CLIENT_PORT, PEER_PORT};

/// Where each node keeps its log on its host's disk.
pub const LOG_DIR: &str = "/raft";

/// What every node of a system shares with the harness: counters and who led when.
#[derive(Debug, Default)]
pub struct Shared {
    /// Messages sent: peer messages, client requests and replies.
    pub messages: Cell<u64>,
    /// Log syncs (see [`LogStore::take_work`]).
    pub syncs: Cell<u64>,
    /// Every leader elected, and the acknowledged writes rolled back.
    pub log: RefCell<LeaderLog>,
    /// The host of the last leader elected in each group.
    pub leaders: RefCell<BTreeMap<usize, String>>,
    /// What each node booked on its CPU, disk and NIC, by host.
    pub usage: UsageLog,
    /// What the nodes' supervisors did.
    pub restarts: Restarts,
}

impl Shared {
    fn count(&self, messages: u64) {
        self.messages.set(self.messages.get().saturating_add(messages));
    }
}

/// The reason a proposal superseded by another leader's entry fails (definitely: its index is
/// taken by a committed entry of another term, so it can never commit).
pub const SUPERSEDED: &str = "superseded: a new leader's entry took its place in the log";

/// The reason a request refused by admission control gives (as the other stores').
pub const OVERLOADED: &str = "overloaded";

/// A client waiting for its entry.
struct Waiter {
    term: u64,
    reply: oneshot::Sender<Outcome>,
}

/// The node and everything waiting on it.
struct Node {
    raft: RaftNode,
    sm: StateMachine,
    /// Proposals waiting to be applied, by index.
    waiting: BTreeMap<u64, Waiter>,
    /// Leader reads that arrived since the last ReadIndex was asked for: the next batch.
    queued_reads: Vec<(oneshot::Sender<Outcome>, Op)>,
    /// Batches of leader reads waiting for their ReadIndex, by context.
    reads: BTreeMap<u64, Vec<(oneshot::Sender<Outcome>, Op)>>,
    /// The ReadIndex in flight: its context, the term and the model time it was asked in.
    read_in_flight: Option<(u64, u64, Duration)>,
    /// Leader reads whose index is known, waiting for the database to apply it.
    ready_reads: Vec<(u64, oneshot::Sender<Outcome>, Op)>,
    /// Async acknowledgements of entries not yet known committed: index -> term.
    acked_ahead: BTreeMap<u64, u64>,
    /// The term this node last led in (to log each reign once).
    led: Option<u64>,
    next_context: u64,
}

/// One node's host.
struct Host {
    config: RaftConfig,
    group: usize,
    name: String,
    /// Node id -> host name, the node itself included.
    peers: BTreeMap<u64, String>,
    shared: Rc<Shared>,
    node: RefCell<Node>,
    kick: Notify,
    /// The node's CPU, disk and NIC timelines.
    clock: Cell<NodeClock>,
    /// Every task of this incarnation (aborted when it stops).
    tasks: RefCell<Vec<AbortHandle>>,
    /// The queue of the link to each peer, by node id ([`peer_link`]).
    links: RefCell<BTreeMap<u64, tokio::sync::mpsc::UnboundedSender<Outgoing>>>,
}

impl Host {
    /// Spawns a task of this incarnation.
    fn spawn(&self, task: impl std::future::Future<Output = ()> + 'static) {
        let handle = tokio::task::spawn_local(task).abort_handle();
        let mut tasks = self.tasks.borrow_mut();
        if tasks.len() >= 1024 {
            tasks.retain(|t| !t.is_finished());
        }
        tasks.push(handle);
    }

    /// Stops the incarnation: aborts every task (closing their sockets).
    fn halt(&self) {
        for task in self.tasks.take() {
            task.abort();
        }
    }

    /// Adds to this node's counters.
    fn record(&self, add: impl FnOnce(&mut Usage)) {
        self.shared.usage.record(&self.name, Overlap::Pipelined, add);
    }

    /// Books a frame of `bytes` received now: its NIC time, then its CPU. Returns when it is
    /// processed (`None`: at once).
    fn book_received(&self, bytes: usize) -> Option<Instant> {
        let (rx, cpu) = (self.config.network.nic_time(bytes), self.config.cpu.charge(bytes));
        let size = u64::try_from(bytes).unwrap_or(u64::MAX);
        self.record(|u| {
            u.received = u.received.saturating_add(1);
            u.received_bytes = u.received_bytes.saturating_add(size);
            u.nic_rx = u.nic_rx.saturating_add(rx);
            u.cpu = u.cpu.saturating_add(cpu);
        });
        let mut clock = self.clock.get();
        let done = clock.book_received(Instant::now(), rx, cpu, Duration::ZERO);
        self.clock.set(clock);
        done
    }

    /// Books sending a frame of `bytes` now: when it may go on the wire (`None`: at once).
    fn book_send(&self, bytes: usize) -> Option<Instant> {
        let (mut clock, mut sent) = (self.clock.get(), Usage::default());
        let done = clock.send_frame(Instant::now(), &self.config.network, bytes, &mut sent);
        self.clock.set(clock);
        self.record(|u| *u = u.plus(&sent));
        done
    }

    /// Books CPU work of a frame's size `bytes` (applying an entry) on the CPU timeline.
    fn book_cpu(&self, bytes: usize) {
        let cpu = self.config.cpu.charge(bytes);
        if cpu.is_zero() {
            return;
        }
        self.record(|u| u.cpu = u.cpu.saturating_add(cpu));
        let mut clock = self.clock.get();
        clock.book(Instant::now(), cpu, Duration::ZERO);
        self.clock.set(clock);
    }

    /// Books `disk` of disk time now: when it is done (`None`: at once).
    fn book_disk(&self, disk: Duration) -> Option<Instant> {
        self.record(|u| u.disk = u.disk.saturating_add(disk));
        let mut clock = self.clock.get();
        let done = clock.book_disk(Instant::now(), disk);
        self.clock.set(clock);
        done
    }

    /// Whether a client request arriving now is admitted; counts it.
    fn admit(&self) -> bool {
        let mut clock = self.clock.get();
        let admitted = self.config.admission.admits(clock.backlog(Instant::now()));
        self.clock.set(clock);
        self.record(|u| {
            u.requests = u.requests.saturating_add(1);
            u.refused = u.refused.saturating_add(u64::from(!admitted));
        });
        admitted
    }
}

/// Waits until `at`, if it is given and still ahead. (A timer set for a past instant still
/// waits for the next tick of the runtime's clock: a link or a connection that waited for each
/// frame in turn would carry at most one frame per tick.)
async fn wait_until(at: Option<Instant>) {
    if let Some(at) = at.filter(|at| *at > Instant::now()) {
        tokio::time::sleep_until(at).await;
    }
}

/// Runs node `id` (from 1) of group `group` (from 0) on the current turmoil host until the host
/// crashes, starting it again after its log store fails (see the module docs).
pub async fn serve(config: RaftConfig, group: usize, id: u64, shared: Rc<Shared>) -> turmoil::Result {
    let mut backoff = Backoff::default();
    loop {
        match incarnation(&config, group, id, &shared).await {
            Ok(reason) => {
                shared.restarts.restart(reason);
                backoff.reset();
            }
            Err(reason) => shared.restarts.failed_start(reason),
        }
        sim::time::sleep(backoff.next_pause()).await;
    }
}

/// One start of the node: runs until its log store fails (returning why) or fails to start
/// (an error: why).
async fn incarnation(config: &RaftConfig, group: usize, id: u64, shared: &Rc<Shared>) -> Result<String, String> {
    let peers: BTreeMap<u64, String> =
        (1..=config.nodes as u64).map(|i| (i, config.host(group + 1, i as usize))).collect();
    let name = peers.get(&id).cloned().unwrap_or_default();
    let store = LogStore::open(Box::new(sim::fs::SimFs), Path::new(LOG_DIR)).map_err(|e| e.to_string())?;
    let ids: Vec<u64> = peers.keys().copied().collect();
    let seed = config.seed ^ ((group as u64) << 32);
    let mut raft = RaftNode::new(id, &ids, config.node, seed, store).map_err(|e| e.to_string())?;
    if id == 1 && raft.term() == 0 {
        // Bootstrap (see the module docs): a new group's first node campaigns at once.
        raft.campaign().map_err(|e| e.to_string())?;
    }
    let sm = StateMachine::new(&config.initial).map_err(|e| e.to_string())?;
    let node = Node {
        raft,
        sm,
        waiting: BTreeMap::new(),
        queued_reads: Vec::new(),
        reads: BTreeMap::new(),
        read_in_flight: None,
        ready_reads: Vec::new(),
        acked_ahead: BTreeMap::new(),
        led: None,
        next_context: 1,
    };
    let peer_listener = TcpListener::bind(("0.0.0.0", PEER_PORT)).await.map_err(|e| e.to_string())?;
    let client_listener = TcpListener::bind(("0.0.0.0", CLIENT_PORT)).await.map_err(|e| e.to_string())?;
    let host = Rc::new(Host {
        config: config.clone(),
        group,
        name,
        peers,
        shared: Rc::clone(shared),
        node: RefCell::new(node),
        kick: Notify::new(),
        clock: Cell::new(NodeClock::new(Overlap::Pipelined)),
        tasks: RefCell::default(),
        links: RefCell::default(),
    });
    host.spawn(ticker(Rc::clone(&host)));
    host.spawn(accept_peers(Rc::clone(&host), peer_listener));
    host.spawn(accept_clients(Rc::clone(&host), client_listener));
    host.kick.notify_one();
    let reason = drive(&host).await;
    host.halt();
    Ok(reason)
}

async fn ticker(host: Rc<Host>) {
    loop {
        sim::time::sleep(host.config.tick).await;
        host.node.borrow_mut().raft.tick();
        host.kick.notify_one();
    }
}

async fn accept_peers(host: Rc<Host>, listener: TcpListener) {
    while let Ok((stream, _)) = listener.accept().await {
        host.spawn(receive_peer(Rc::clone(&host), stream));
    }
}

/// A peer connection with no frame for this long is closed (a sender replaces a stream it
/// suspects stalled, and the old one would otherwise stay open).
const PEER_IDLE: Duration = Duration::from_secs(30);

/// Reads the messages a peer's connection carries until the connection ends or stays silent
/// for [`PEER_IDLE`]. Each frame is acknowledged with one byte on the same connection as soon
/// as it is read (see [`peer_link`]) and booked on the node's NIC and CPU on arrival; a stepper
/// task steps the messages in, in order, each once its CPU time is done.
async fn receive_peer(host: Rc<Host>, mut stream: TcpStream) {
    let (arrived, mut to_step) = tokio::sync::mpsc::unbounded_channel::<(Option<Instant>, raft::eraftpb::Message)>();
    let stepper = Rc::clone(&host);
    host.spawn(async move {
        while let Some((done, message)) = to_step.recv().await {
            wait_until(done).await;
            // A message raft-rs refuses (from an unknown peer, say) is dropped, as a lost one.
            let _ = stepper.node.borrow_mut().raft.step(message);
            stepper.kick.notify_one();
        }
    });
    let mut decoder = FrameDecoder::new(sim::frame::MAX_FRAME);
    loop {
        let read = sim::time::timeout(PEER_IDLE, sim::frame::read_frame(&mut stream, &mut decoder));
        let Ok(Ok(Some(body))) = read.await else { return };
        if stream.write_all(&[ACK]).await.is_err() {
            return;
        }
        let Some(message) = wire::decode_message(&body) else { return };
        if arrived.send((host.book_received(body.len()), message)).is_err() {
            return;
        }
    }
}

/// The byte a peer's reader sends back for each frame it read.
const ACK: u8 = 0x06;

/// A frame for a peer, and when it may leave the node (its send CPU and NIC time booked).
type Outgoing = (Option<Instant>, Vec<u8>);

/// Queues `message` on the link to its peer (see [`peer_link`]), booking its send now.
fn send(host: &Rc<Host>, message: raft::eraftpb::Message) {
    let to = message.to;
    let Some(name) = host.peers.get(&to).cloned() else { return };
    let Some(frame) = wire::encode_message(&message) else { return };
    host.shared.count(1);
    let leaves = host.book_send(frame.len());
    let mut links = host.links.borrow_mut();
    let link = links.entry(to).or_insert_with(|| {
        let (queue, frames) = tokio::sync::mpsc::unbounded_channel();
        host.spawn(peer_link(Rc::clone(host), name, frames));
        queue
    });
    let _ = link.send((leaves, frame));
}

/// One open connection of a [`peer_link`].
struct Connection {
    read: OwnedReadHalf,
    write: OwnedWriteHalf,
    /// Frames written and not yet acknowledged.
    unacked: u64,
    /// Since when the oldest unacknowledged frame has waited without any acknowledgement.
    waiting_since: Option<Instant>,
}

/// The link to one peer (host `name`): one long-lived connection carrying its frames in order,
/// as Raft implementations keep one per peer. The reader acknowledges every frame with a byte
/// on the same connection, standing in for TCP's own acknowledgements: turmoil drops a
/// partitioned stream's segments and never retransmits them, so a connection whose frames go
/// unacknowledged for an election timeout is taken as stalled and replaced, as a real stack's
/// retransmission would have recovered or reset it. The acknowledgements are transport, not
/// messages: neither counted nor charged. A frame that cannot be written, or that finds no
/// connection within an election timeout, is lost with everything queued behind it (Raft
/// resends what matters).
async fn peer_link(host: Rc<Host>, name: String, mut frames: tokio::sync::mpsc::UnboundedReceiver<Outgoing>) {
    let timeout = host.config.election_timeout();
    let mut connection: Option<Connection> = None;
    let mut acks = [0u8; 256];
    loop {
        let next = match connection.as_mut() {
            None => frames.recv().await,
            Some(open) => {
                let mut broken = false;
                // `biased`: tokio's select! draws which ready branch to poll first from a
                // thread-local RNG, which would make runs differ between seeds' repeats. The
                // acknowledgements first: under a steady stream of frames they would otherwise
                // never be read, and the link would take itself for stalled.
                let next = tokio::select! {
                    biased;
                    read = open.read.read(&mut acks) => {
                        match read {
                            Ok(n) if n > 0 => {
                                open.unacked = open.unacked.saturating_sub(n as u64);
                                open.waiting_since = (open.unacked > 0).then(Instant::now);
                            }
                            _ => broken = true,
                        }
                        if broken {
                            connection = None;
                        }
                        continue;
                    }
                    frame = frames.recv() => frame,
                };
                next
            }
        };
        let Some((leaves, frame)) = next else { return };
        wait_until(leaves).await;
        let now = Instant::now();
        if connection
            .as_ref()
            .is_some_and(|c| c.waiting_since.is_some_and(|t| now.saturating_duration_since(t) > timeout))
        {
            connection = None;
        }
        if connection.is_none() {
            match sim::time::timeout(timeout, TcpStream::connect((name.as_str(), PEER_PORT))).await {
                Ok(Ok(fresh)) => {
                    let (read, write) = fresh.into_split();
                    connection = Some(Connection { read, write, unacked: 0, waiting_since: None });
                }
                _ => {
                    while frames.try_recv().is_ok() {}
                    continue;
                }
            }
        }
        let Some(open) = connection.as_mut() else { continue };
        match sim::time::timeout(timeout, sim::frame::write_frame(&mut open.write, &frame)).await {
            Ok(Ok(())) => {
                open.unacked += 1;
                open.waiting_since.get_or_insert_with(Instant::now);
            }
            _ => {
                connection = None;
                while frames.try_recv().is_ok() {}
            }
        }
    }
}

async fn accept_clients(host: Rc<Host>, listener: TcpListener) {
    while let Ok((stream, _)) = listener.accept().await {
        host.spawn(serve_client(Rc::clone(&host), stream));
    }
}

/// One client connection: a request at a time, each answered before the next is read.
async fn serve_client(host: Rc<Host>, mut stream: TcpStream) {
    let mut decoder = FrameDecoder::new(sim::frame::MAX_FRAME);
    loop {
        let Ok(Some(body)) = sim::frame::read_frame(&mut stream, &mut decoder).await else { return };
        let Ok(request) = sim::frame::decode::<Request>(&body) else { return };
        host.shared.count(1);
        let outcome = if host.admit() {
            wait_until(host.book_received(body.len())).await;
            handle(&host, request.op).await
        } else {
            // Refused before any work: not queued behind the backlog, neither its reply.
            Outcome::Done(Err(Failure::Rejected(OVERLOADED.to_owned())))
        };
        let refused = matches!(&outcome, Outcome::Done(Err(Failure::Rejected(why))) if why == OVERLOADED);
        let Ok(frame) = sim::frame::encode(&Response { id: request.id, outcome }) else { return };
        host.shared.count(1);
        if !refused {
            wait_until(host.book_send(frame.len())).await;
        }
        if sim::frame::write_frame(&mut stream, &frame).await.is_err() {
            return;
        }
    }
}

fn is_read(op: &Op) -> bool {
    matches!(op, Op::Read { .. } | Op::ReadMany { .. } | Op::ReadSet)
}

/// Executes, proposes or redirects one request, and waits for its outcome.
async fn handle(host: &Rc<Host>, op: Op) -> Outcome {
    let receiver = {
        let mut node = host.node.borrow_mut();
        if is_read(&op) && host.config.read == ReadMode::Follower {
            return Outcome::Done(node.sm.execute(&op));
        }
        if !node.raft.is_leader() {
            return Outcome::NotLeader(node.raft.leader().and_then(|id| host.peers.get(&id).cloned()));
        }
        let (reply, receiver) = oneshot::channel();
        if is_read(&op) {
            node.queued_reads.push((reply, op));
        } else {
            let data = Command { id: 0, op }.encode();
            if node.raft.propose(data).is_err() {
                return Outcome::NotLeader(None);
            }
            let (index, term) = (node.raft.last_index(), node.raft.term());
            node.waiting.insert(index, Waiter { term, reply });
        }
        receiver
    };
    host.kick.notify_one();
    match receiver.await {
        Ok(outcome) => outcome,
        // The sender is dropped only when the node stops: the client's timeout decides then.
        Err(_) => std::future::pending().await,
    }
}

/// The driver (see the module docs). Returns when the log store failed, saying why.
async fn drive(host: &Rc<Host>) -> String {
    loop {
        host.kick.notified().await;
        loop {
            let (out, work) = {
                let mut node = host.node.borrow_mut();
                ask_read_index(host, &mut node);
                let out = match node.raft.drive() {
                    Ok(out) => out,
                    Err(error) => return format!("the Raft log failed: {error}"),
                };
                let work = node.raft.store_mut().take_work();
                (out, work)
            };
            let idle = out.messages.is_empty()
                && out.persisted_messages.is_empty()
                && out.committed.is_empty()
                && out.read_states.is_empty()
                && out.dropped.is_empty()
                && work.syncs == 0;
            let Output { messages, persisted_messages, committed, read_states, dropped } = out;
            for message in messages {
                send(host, message);
            }
            if work.syncs > 0 {
                host.shared.syncs.set(host.shared.syncs.get().saturating_add(work.syncs));
                wait_until(host.book_disk(host.config.disk.charge(work))).await;
            }
            for message in persisted_messages {
                send(host, message);
            }
            let mut node = host.node.borrow_mut();
            let node = &mut *node;
            note_leadership(host, node);
            forget_dropped(host, node, &dropped);
            apply_committed(host, node, committed);
            if host.config.ack == AckMode::Async && node.raft.is_leader() {
                apply_ahead(host, node);
            }
            for state in read_states {
                let context = u64::from_be_bytes(state.request_ctx.try_into().unwrap_or([0; 8]));
                for (reply, op) in node.reads.remove(&context).unwrap_or_default() {
                    node.ready_reads.push((state.index, reply, op));
                }
                if node.read_in_flight.is_some_and(|(asked, _, _)| asked == context) {
                    node.read_in_flight = None;
                }
            }
            answer_reads(node);
            if idle {
                break;
            }
        }
    }
}

/// Logs a new reign when this node has become leader in a new term, and undoes what it applied
/// ahead of the commit index when it no longer leads.
fn note_leadership(host: &Host, node: &mut Node) {
    if node.raft.is_leader() && node.led != Some(node.raft.term()) {
        node.led = Some(node.raft.term());
        host.shared.log.borrow_mut().reigns.push(Reign {
            group: host.group,
            term: node.raft.term(),
            host: host.name.clone(),
            elected_at: sim::time::now(),
            first_write_ack: None,
        });
        host.shared.leaders.borrow_mut().insert(host.group, host.name.clone());
    }
    if !node.raft.is_leader() && node.sm.is_ahead_of(node.raft.commit_index()) {
        rebuild(node);
    }
}

/// Rebuilds the database from the committed prefix of the log.
fn rebuild(node: &mut Node) {
    if node.sm.rebuild().is_err() {
        return;
    }
    let commit = node.raft.commit_index().min(node.raft.applied());
    let entries: Vec<(u64, u64, Vec<u8>)> = node
        .raft
        .store()
        .entries_between(1, commit)
        .iter()
        .map(|e| {
            (e.index, e.term, if e.get_entry_type() == EntryType::EntryNormal { e.data.to_vec() } else { Vec::new() })
        })
        .collect();
    for (index, term, data) in entries {
        node.sm.apply(index, term, &data, true);
    }
}

/// Entries a new leader overwrote: acknowledged ones are rolled back; their waiters fail
/// definitely; a database that applied one is rebuilt.
fn forget_dropped(host: &Host, node: &mut Node, dropped: &[crate::DroppedEntry]) {
    let mut stale = false;
    for entry in dropped {
        if node.acked_ahead.get(&entry.index) == Some(&entry.term) {
            node.acked_ahead.remove(&entry.index);
            host.shared.log.borrow_mut().rolled_back_acks += 1;
        }
        if node.waiting.get(&entry.index).is_some_and(|w| w.term == entry.term) {
            if let Some(waiter) = node.waiting.remove(&entry.index) {
                let _ = waiter.reply.send(Outcome::Done(Err(Failure::Rejected(SUPERSEDED.to_owned()))));
            }
        }
        stale |= node.sm.ahead_term(entry.index) == Some(entry.term);
    }
    if stale {
        rebuild(node);
    }
}

/// Applies committed entries in order and answers their waiters.
fn apply_committed(host: &Host, node: &mut Node, committed: Vec<crate::CommittedEntry>) {
    for entry in committed {
        if let Some(term) = node.acked_ahead.remove(&entry.index) {
            if term != entry.term {
                host.shared.log.borrow_mut().rolled_back_acks += 1;
            }
        }
        if entry.index <= node.sm.applied() {
            match node.sm.ahead_term(entry.index) {
                Some(term) if term != entry.term => rebuild(node),
                _ => {
                    node.sm.committed_up_to(entry.index);
                    continue;
                }
            }
        }
        if entry.index <= node.sm.applied() {
            // The rebuild re-applied it.
            continue;
        }
        host.book_cpu(entry.data.len());
        let result = node.sm.apply(entry.index, entry.term, &entry.data, true);
        node.sm.committed_up_to(entry.index);
        answer(host, node, entry.index, entry.term, result);
    }
}

/// The asynchronous leader applies its own synced entries past the commit index and answers
/// their clients at once.
fn apply_ahead(host: &Host, node: &mut Node) {
    // Only what the store holds, which the drive just synced (a proposal made since waits).
    let (from, to, commit) = (node.sm.applied() + 1, u64::MAX, node.raft.commit_index());
    let entries: Vec<(u64, u64, Vec<u8>)> = node
        .raft
        .store()
        .entries_between(from, to)
        .iter()
        .map(|e| {
            (e.index, e.term, if e.get_entry_type() == EntryType::EntryNormal { e.data.to_vec() } else { Vec::new() })
        })
        .collect();
    for (index, term, data) in entries {
        let committed = index <= commit;
        host.book_cpu(data.len());
        let result = node.sm.apply(index, term, &data, committed);
        if !committed && node.waiting.get(&index).is_some_and(|w| w.term == term) {
            node.acked_ahead.insert(index, term);
        }
        answer(host, node, index, term, result);
    }
}

/// Answers the waiter of entry `index` (applied with `result`), if any: its result when the
/// entry is its own, a definite failure when another leader's entry took the index.
fn answer(host: &Host, node: &mut Node, index: u64, term: u64, result: Option<(u64, Result<history::Value, Failure>)>) {
    let Some(waiter) = node.waiting.remove(&index) else { return };
    if waiter.term != term {
        let _ = waiter.reply.send(Outcome::Done(Err(Failure::Rejected(SUPERSEDED.to_owned()))));
        return;
    }
    let outcome = match result {
        Some((_, result)) => result,
        // Undecodable payloads never come from this node's own proposals.
        None => Err(Failure::Storage("the entry held no command".to_owned())),
    };
    if outcome.is_ok() {
        let mut log = host.shared.log.borrow_mut();
        if let Some(reign) =
            log.reigns.iter_mut().rev().find(|r| r.group == host.group && r.term == term && r.host == host.name)
        {
            reign.first_write_ack.get_or_insert(sim::time::now());
        }
    }
    let _ = waiter.reply.send(Outcome::Done(outcome));
}

/// Asks for one ReadIndex for every queued leader read, unless one is in flight (see the
/// module docs). Queued reads on a node that no longer leads are redirected: none was executed.
fn ask_read_index(host: &Host, node: &mut Node) {
    if node.queued_reads.is_empty() {
        return;
    }
    if !node.raft.is_leader() {
        let leader = node.raft.leader().and_then(|id| host.peers.get(&id).cloned());
        for (reply, _) in node.queued_reads.drain(..) {
            let _ = reply.send(Outcome::NotLeader(leader.clone()));
        }
        return;
    }
    let now = sim::time::now();
    if let Some((_, term, asked_at)) = node.read_in_flight {
        if term == node.raft.term() && now.saturating_sub(asked_at) < host.config.election_timeout() {
            return;
        }
    }
    let context = node.next_context;
    node.next_context += 1;
    node.raft.read_index(context.to_be_bytes().to_vec());
    let batch = std::mem::take(&mut node.queued_reads);
    node.reads.insert(context, batch);
    node.read_in_flight = Some((context, node.raft.term(), now));
}

/// Answers the leader reads whose index the database has applied.
fn answer_reads(node: &mut Node) {
    let applied = node.sm.applied();
    let (due, later): (Vec<_>, Vec<_>) =
        std::mem::take(&mut node.ready_reads).into_iter().partition(|r| r.0 <= applied);
    node.ready_reads = later;
    for (_, reply, op) in due {
        let _ = reply.send(Outcome::Done(node.sm.execute(&op)));
    }
}
