//! One node's start-up future under turmoil: the thin adapter between the sans-I/O
//! [`RaftNode`] and the simulated network, disk and clock.
//!
//! Each start (and restart after a crash) opens the [`LogStore`] in `/raft` on the host's
//! simulated disk (recovering what was synced), builds the node, and runs four kinds of task:
//! - the **ticker**: one `tick` of Raft's logical clock every [`RaftConfig::tick`] of model time;
//! - the **peer listener**: one Raft message per connection (see [`crate::wire`]), stepped in;
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
//! the leadership; no clock involved) and answers once the database has applied that index;
//! `Follower` answers from the node's own database at once. A node that is not the leader
//! answers writes and leader reads with a redirect, executing nothing.
//!
//! What is not modelled here: CPU and NIC costs (the capacity model's `cpu`, `network` and
//! `admission` are accepted and not charged), snapshots, membership changes.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::Path;
use std::rc::Rc;

use raft::eraftpb::EntryType;
use sim::frame::FrameDecoder;
use sim::{LeaderLog, Reign};
use sqlstore::wire::{Failure, Op};
use tokio::sync::{oneshot, Notify};
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
}

impl Shared {
    fn count(&self, messages: u64) {
        self.messages.set(self.messages.get().saturating_add(messages));
    }
}

/// The reason a proposal superseded by another leader's entry fails (definitely: its index is
/// taken by a committed entry of another term, so it can never commit).
pub const SUPERSEDED: &str = "superseded: a new leader's entry took its place in the log";

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
    /// Leader reads waiting for their ReadIndex, by context.
    reads: BTreeMap<u64, (oneshot::Sender<Outcome>, Op)>,
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
}

/// Runs node `id` (from 1) of group `group` (from 0) on the current turmoil host until the host
/// crashes. A node whose log store fails stops serving (as a process that exits), without
/// failing the simulation.
pub async fn serve(config: RaftConfig, group: usize, id: u64, shared: Rc<Shared>) -> turmoil::Result {
    let peers: BTreeMap<u64, String> =
        (1..=config.nodes as u64).map(|i| (i, config.host(group + 1, i as usize))).collect();
    let name = peers.get(&id).cloned().unwrap_or_default();
    let store = LogStore::open(Box::new(sim::fs::SimFs), Path::new(LOG_DIR))?;
    let ids: Vec<u64> = peers.keys().copied().collect();
    let seed = config.seed ^ ((group as u64) << 32);
    let raft = RaftNode::new(id, &ids, config.node, seed, store)?;
    let sm = StateMachine::new(&config.initial)?;
    let node = Node {
        raft,
        sm,
        waiting: BTreeMap::new(),
        reads: BTreeMap::new(),
        ready_reads: Vec::new(),
        acked_ahead: BTreeMap::new(),
        led: None,
        next_context: 1,
    };
    let host = Rc::new(Host { config, group, name, peers, shared, node: RefCell::new(node), kick: Notify::new() });
    let peer_listener = TcpListener::bind(("0.0.0.0", PEER_PORT)).await?;
    let client_listener = TcpListener::bind(("0.0.0.0", CLIENT_PORT)).await?;
    tokio::task::spawn_local(ticker(Rc::clone(&host)));
    tokio::task::spawn_local(accept_peers(Rc::clone(&host), peer_listener));
    tokio::task::spawn_local(accept_clients(Rc::clone(&host), client_listener));
    host.kick.notify_one();
    drive(&host).await;
    // The log store failed: the process exits; the host stays up, serving nothing.
    std::future::pending::<()>().await;
    Ok(())
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
        tokio::task::spawn_local(receive_peer(Rc::clone(&host), stream));
    }
}

/// Reads the one message a peer connection carries and steps it in.
async fn receive_peer(host: Rc<Host>, mut stream: TcpStream) {
    let mut decoder = FrameDecoder::new(sim::frame::MAX_FRAME);
    let read = sim::time::timeout(host.config.election_timeout(), sim::frame::read_frame(&mut stream, &mut decoder));
    let Ok(Ok(Some(body))) = read.await else { return };
    let Some(message) = wire::decode_message(&body) else { return };
    // A message raft-rs refuses (from an unknown peer, say) is dropped, as a lost one.
    let _ = host.node.borrow_mut().raft.step(message);
    host.kick.notify_one();
}

/// Sends `message` on a connection of its own; a message that cannot be delivered within an
/// election timeout is lost, which Raft tolerates.
fn send(host: &Rc<Host>, message: raft::eraftpb::Message) {
    let Some(to) = host.peers.get(&message.to).cloned() else { return };
    let Some(frame) = wire::encode_message(&message) else { return };
    host.shared.count(1);
    let timeout = host.config.election_timeout();
    tokio::task::spawn_local(async move {
        let deliver = async {
            let mut stream = TcpStream::connect((to.as_str(), PEER_PORT)).await.ok()?;
            sim::frame::write_frame(&mut stream, &frame).await.ok()
        };
        let _ = sim::time::timeout(timeout, deliver).await;
    });
}

async fn accept_clients(host: Rc<Host>, listener: TcpListener) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::task::spawn_local(serve_client(Rc::clone(&host), stream));
    }
}

/// One client connection: a request at a time, each answered before the next is read.
async fn serve_client(host: Rc<Host>, mut stream: TcpStream) {
    let mut decoder = FrameDecoder::new(sim::frame::MAX_FRAME);
    loop {
        let Ok(Some(body)) = sim::frame::read_frame(&mut stream, &mut decoder).await else { return };
        let Ok(request) = sim::frame::decode::<Request>(&body) else { return };
        host.shared.count(1);
        let outcome = handle(&host, request.op).await;
        let Ok(frame) = sim::frame::encode(&Response { id: request.id, outcome }) else { return };
        host.shared.count(1);
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
            let context = node.next_context;
            node.next_context += 1;
            node.raft.read_index(context.to_be_bytes().to_vec());
            node.reads.insert(context, (reply, op));
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

/// The driver (see the module docs). Returns when the log store failed.
async fn drive(host: &Rc<Host>) {
    loop {
        host.kick.notified().await;
        loop {
            let (out, work) = {
                let mut node = host.node.borrow_mut();
                let Ok(out) = node.raft.drive() else { return };
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
                sim::time::sleep(host.config.disk.charge(work)).await;
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
                if let Some((reply, op)) = node.reads.remove(&context) {
                    node.ready_reads.push((state.index, reply, op));
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
