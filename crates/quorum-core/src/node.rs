//! [`Node`]: one replica and coordinator, as a sans-I/O state machine.
//!
//! The adapter feeds it four inputs, each with the current simulated time, and carries out the
//! [`Effect`]s each returns:
//! - [`Node::on_request`]: a client request on connection `conn` (this node coordinates it);
//! - [`Node::on_peer`]: a message from another node;
//! - [`Node::on_tick`]: time passed (request timeouts, hint redelivery, anti-entropy rounds);
//!   call it at least every few milliseconds, or at [`Node::next_wakeup`];
//! - [`Node::on_unreachable`]: a message this node sent could not be delivered.
//!
//! The node reads and writes only through its [`Storage`]; everything it iterates is ordered,
//! ids come from one counter, and time is passed in, so the same inputs give the same effects.
//!
//! Failure detection is local and simple (a stand-in for gossip and phi accrual): a peer
//! becomes *suspect* when a message to it is reported unreachable, or when it has let
//! `suspect_after_misses` request deadlines in a row pass without answering; it stays suspect
//! for `suspect_for` unless it sends something first (any message clears both). Suspect replicas are not contacted; they are what makes a request `Unavailable` or
//! a write go to a sloppy fallback.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use base::Cell;

use crate::clock::NodeClock;
use crate::config::{ConfigError, NodeConfig};
use crate::coordinator::Operation;
use crate::hints::{self, HintStore};
use crate::message::{Effect, PeerMessage, Request};
use crate::ring::Ring;
use crate::snitch::Snitch;
use crate::storage::{Storage, StorageError};

/// Counters of what a node did; for reports and for tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeStats {
    /// Client requests received.
    pub requests: u64,
    /// Requests answered `Ok`.
    pub ok: u64,
    /// Requests answered `Unavailable`.
    pub unavailable: u64,
    /// Requests answered `Timeout`.
    pub timeouts: u64,
    /// Requests answered `Unsupported`.
    pub unsupported: u64,
    /// Malformed or unexpected input ignored (bad keys, messages from strangers, replies of the
    /// wrong kind).
    pub rejected: u64,
    /// Replies for requests already finished.
    pub late_replies: u64,
    /// Storage calls that failed.
    pub storage_errors: u64,
    /// Writes the storage refused definitely (a full disk), among `storage_errors`.
    pub storage_refusals: u64,
    /// Hints stored (by this node, as coordinator or sloppy fallback).
    pub hints_stored: u64,
    /// Hints dropped because the hint store was full.
    pub hints_dropped: u64,
    /// Hints not stored because their target had been down longer than `max_hint_window`.
    pub hints_skipped_down: u64,
    /// Pending hints dropped for being older than `max_hint_window` (at recovery or later).
    pub hints_expired: u64,
    /// Hint deliveries acknowledged by their target.
    pub hints_delivered: u64,
    /// Read-repair writes sent.
    pub read_repairs: u64,
    /// Anti-entropy rounds started.
    pub ae_rounds: u64,
    /// Cells sent by anti-entropy.
    pub ae_cells_sent: u64,
    /// Merkle trees (token ranges) compared with a peer's: roots received.
    pub ae_trees_compared: u64,
    /// Merkle leaves found differing (this node then streamed its cells in them).
    pub ae_leaves_differing: u64,
    /// Merkle-tree hashes sent by anti-entropy.
    pub ae_hashes_sent: u64,
    /// Anti-entropy messages sent (`Tree` and `Cells`).
    pub ae_messages_sent: u64,
    /// Full data read requests sent to peers (reads of the coordinator's own replica are in
    /// `local_reads`).
    pub data_reads_sent: u64,
    /// Digest read requests sent to peers.
    pub digest_reads_sent: u64,
    /// Reads of the coordinator's own replica on behalf of a client operation.
    pub local_reads: u64,
    /// Reads whose digests disagreed with the data, so that a round of full data reads
    /// followed (Cassandra's `DigestMismatchException`).
    pub digest_mismatches: u64,
    /// Speculative extra data reads sent (Cassandra's `speculativeRetries` table metric).
    pub speculative_retries: u64,
    /// Reads re-sent to another replica because a contacted one failed or was unreachable.
    pub read_failovers: u64,
    /// Paxos prepare rounds started (lightweight transactions, one or more per operation).
    pub paxos_rounds: u64,
    /// Paxos rounds retried after a replica refused them for a higher promise.
    pub paxos_contention: u64,
    /// In-progress Paxos proposals found by a prepare and re-proposed ("repairs").
    pub paxos_repairs: u64,
    /// Compare-and-sets answered not applied (their condition did not hold).
    pub cas_not_applied: u64,
}

/// One node of the store.
#[derive(Debug)]
pub struct Node<S: Storage> {
    pub(crate) config: NodeConfig,
    pub(crate) ring: Ring,
    pub(crate) storage: S,
    pub(crate) clock: NodeClock,
    /// Peer -> suspect until.
    pub(crate) suspects: BTreeMap<u32, Duration>,
    /// Peer -> since when it has been down: suspected, and silent since (cleared by any
    /// message from it). Drives the hint window.
    pub(crate) down_since: BTreeMap<u32, Duration>,
    /// Peer -> replies missed in a row.
    pub(crate) misses: BTreeMap<u32, u32>,
    /// Client operations in flight, by operation id.
    pub(crate) ops: BTreeMap<u64, Operation>,
    /// Request id of a round -> its operation id.
    pub(crate) rids: BTreeMap<u64, u64>,
    pub(crate) hints: HintStore,
    pub(crate) next_id: u64,
    pub(crate) next_anti_entropy: Option<Duration>,
    /// The token ranges this node replicates, by end token (computed on first use).
    pub(crate) ranges: Option<BTreeMap<u64, crate::ring::TokenRange>>,
    /// This node's Merkle trees, kept briefly between comparisons.
    pub(crate) trees: Option<crate::anti_entropy::Trees>,
    pub(crate) stats: NodeStats,
    /// Read order of replicas by observed latency.
    pub(crate) snitch: Snitch,
    /// This coordinator's most recent read-phase latencies (bounded), for speculative retry.
    pub(crate) read_latencies: VecDeque<Duration>,
    /// Lightweight transactions coordinated here.
    pub(crate) paxos: crate::paxos::proposer::Proposers,
}

/// A node could not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Recovery could not read the storage.
    #[error("recovery failed: {0}")]
    Storage(#[from] StorageError),
}

impl<S: Storage> Node<S> {
    /// Starts a node over `storage` at simulated time `now`, recovering the hints it persisted
    /// before a restart (they are due for delivery at once).
    pub fn new(config: NodeConfig, mut storage: S, now: Duration) -> Result<Self, NodeError> {
        config.validate()?;
        let hints = HintStore::recover(&storage.scan()?, config.max_hints, now, config.max_hint_window);
        let hints_expired_at_start = hints.expired();
        let ring = Ring::new(&config.nodes, config.vnodes);
        // Stagger anti-entropy by node id so that nodes do not all compare at once.
        let next_anti_entropy = config.anti_entropy.map(|period| {
            let slots = u32::try_from(config.nodes.len()).unwrap_or(1).max(1);
            now.saturating_add(period).saturating_add(period / slots * (config.id % slots))
        });
        Ok(Self {
            ring,
            storage,
            clock: NodeClock::new(0),
            suspects: BTreeMap::new(),
            down_since: BTreeMap::new(),
            misses: BTreeMap::new(),
            ops: BTreeMap::new(),
            rids: BTreeMap::new(),
            hints,
            next_id: 1,
            next_anti_entropy,
            ranges: None,
            trees: None,
            stats: NodeStats { hints_expired: hints_expired_at_start, ..NodeStats::default() },
            snitch: Snitch::new(),
            read_latencies: VecDeque::new(),
            paxos: crate::paxos::proposer::Proposers::new(config.id),
            config,
        })
    }

    /// A client request arrived on connection `conn`.
    pub fn on_request(&mut self, now: Duration, conn: u64, request: Request) -> Vec<Effect> {
        let mut out = Vec::new();
        self.stats.requests += 1;
        self.start_operation(now, conn, request, &mut out);
        out
    }

    /// A message from node `from` arrived.
    pub fn on_peer(&mut self, now: Duration, from: u32, msg: PeerMessage) -> Vec<Effect> {
        let mut out = Vec::new();
        if from == self.config.id || !self.config.nodes.contains(&from) {
            self.stats.rejected += 1;
            return out;
        }
        self.misses.remove(&from);
        self.down_since.remove(&from);
        if self.suspects.remove(&from).is_some() {
            self.hints.hurry(from, now);
        }
        match msg {
            PeerMessage::Write { rid, key, cell, hint_for } => {
                self.serve_write(now, from, rid, key, cell, hint_for, &mut out)
            }
            PeerMessage::Read { rid, key } => self.serve_read(from, rid, key, &mut out),
            PeerMessage::DigestRead { rid, key } => self.serve_digest_read(from, rid, key, &mut out),
            PeerMessage::DigestReply { rid, digest, ok } => {
                let answer = if ok { Answer::Digest(digest) } else { Answer::Refused };
                self.on_answer(now, from, rid, answer, &mut out);
            }
            PeerMessage::Repair { rid, key, cell } => self.serve_repair(from, rid, key, cell, &mut out),
            PeerMessage::Hint { hid, key, cell } => self.serve_hint(from, hid, key, cell, &mut out),
            PeerMessage::HintAck { hid, ok } => self.hint_acked(from, hid, ok),
            PeerMessage::WriteAck { rid, ok } => self.on_answer(now, from, rid, Answer::Ack(ok), &mut out),
            PeerMessage::WriteRefused { rid, reason } => {
                self.on_answer(now, from, rid, Answer::WriteRefused(reason), &mut out);
            }
            PeerMessage::ReadReply { rid, cell, ok } => {
                let answer = if ok { Answer::Cell(cell) } else { Answer::Refused };
                self.on_answer(now, from, rid, answer, &mut out);
            }
            PeerMessage::Tree { round, nodes } => self.on_tree(now, from, round, &nodes, &mut out),
            PeerMessage::Cells { round, leaves, cells, reply } => {
                self.on_cells(from, round, &leaves, cells, reply, &mut out);
            }
            PeerMessage::Paxos(msg) => self.on_paxos(now, from, msg, &mut out),
        }
        out
    }

    /// Time passed: send speculative read retries that are due, expire requests and old hints,
    /// redeliver hints, run anti-entropy when due.
    pub fn on_tick(&mut self, now: Duration) -> Vec<Effect> {
        let mut out = Vec::new();
        self.speculate(now, &mut out);
        self.expire_operations(now, &mut out);
        let (expired, errors) = self.hints.expire(&mut self.storage, now, self.config.max_hint_window);
        self.stats.hints_expired += expired;
        self.stats.storage_errors += errors;
        self.paxos_tick(now, &mut out);
        let retry = self.config.hint_retry;
        let mut next_id = self.next_id;
        let deliveries = self.hints.due(now, retry, hints::MAX_DELIVERIES_PER_TICK, &mut || {
            next_id += 1;
            next_id - 1
        });
        self.next_id = next_id;
        out.extend(deliveries.into_iter().map(|(to, msg)| Effect::Send { to, msg }));
        if self.next_anti_entropy.is_some_and(|at| at <= now) {
            self.next_anti_entropy = self.config.anti_entropy.map(|period| now.saturating_add(period));
            self.anti_entropy_round(now, &mut out);
        }
        out
    }

    /// The adapter could not deliver `msg` to `peer`: the peer becomes suspect and the message
    /// counts as a missing reply.
    pub fn on_unreachable(&mut self, now: Duration, peer: u32, msg: PeerMessage) -> Vec<Effect> {
        let mut out = Vec::new();
        if peer == self.config.id || !self.config.nodes.contains(&peer) {
            self.stats.rejected += 1;
            return out;
        }
        self.suspect(peer, now);
        match msg {
            PeerMessage::Write { rid, .. }
            | PeerMessage::Read { rid, .. }
            | PeerMessage::DigestRead { rid, .. }
            | PeerMessage::Repair { rid, .. } => {
                if rid != 0 {
                    self.on_answer(now, peer, rid, Answer::Unreachable, &mut out);
                }
            }
            PeerMessage::Hint { hid, .. } => {
                if self.hints.acked(&mut self.storage, peer, hid, false).is_err() {
                    self.stats.storage_errors += 1;
                }
            }
            // Replies and anti-entropy are not retried: the peer asks again or the next round does.
            PeerMessage::WriteAck { .. }
            | PeerMessage::WriteRefused { .. }
            | PeerMessage::ReadReply { .. }
            | PeerMessage::DigestReply { .. }
            | PeerMessage::HintAck { .. }
            | PeerMessage::Tree { .. }
            | PeerMessage::Cells { .. } => {}
            PeerMessage::Paxos(msg) => self.paxos_unreachable(now, peer, msg, &mut out),
        }
        out
    }

    /// The earliest time at which [`Node::on_tick`] has something to do.
    pub fn next_wakeup(&self) -> Option<Duration> {
        let ops = self.ops.values().map(|op| op.deadline).min();
        let expiry =
            self.hints.oldest().map(|at| at.saturating_add(self.config.max_hint_window) + Duration::from_nanos(1));
        let speculation = self.ops.values().filter_map(|op| op.speculate_at).min();
        [ops, speculation, self.hints.next_due(), self.next_anti_entropy, expiry, self.paxos.next_wakeup()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Moves this node's clock `offset_ns` away from simulated time (clock skew).
    pub fn set_clock_offset(&mut self, offset_ns: i64) {
        self.clock.set_offset(offset_ns);
    }

    /// This node's id.
    pub fn id(&self) -> u32 {
        self.config.id
    }

    /// The configuration.
    pub fn config(&self) -> &NodeConfig {
        &self.config
    }

    /// The ring.
    pub fn ring(&self) -> &Ring {
        &self.ring
    }

    /// The counters.
    pub fn stats(&self) -> &NodeStats {
        &self.stats
    }

    /// The storage.
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// The storage, mutably (tests inject failures through it).
    pub fn storage_mut(&mut self) -> &mut S {
        &mut self.storage
    }

    /// Stops the node and returns its storage (a restart builds a new node over it).
    pub fn into_storage(self) -> S {
        self.storage
    }

    /// Hints waiting for delivery, per target node.
    pub fn pending_hints(&self) -> BTreeMap<u32, usize> {
        self.hints.per_target()
    }

    /// Client operations in flight (including ones lingering after their reply).
    pub fn operations_in_flight(&self) -> usize {
        self.ops.len()
    }

    /// Lightweight transactions (Paxos operations) in flight at this coordinator.
    pub fn paxos_in_flight(&self) -> usize {
        self.paxos.len()
    }

    /// Whether this node currently suspects `peer`.
    pub fn suspects(&self, peer: u32, now: Duration) -> bool {
        self.suspects.get(&peer).is_some_and(|&until| until > now)
    }

    /// The client data this node stores (reserved keys left out): what convergence checks
    /// compare (see [`crate::anti_entropy::diverged_keys`]).
    pub fn data(&mut self) -> Result<BTreeMap<String, Cell>, StorageError> {
        Ok(self.storage.scan()?.into_iter().filter(|(k, _)| !hints::is_reserved(k)).collect())
    }

    /// A fresh id for an operation, a round or a hint delivery (never 0).
    pub(crate) fn fresh_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Whether the detector trusts `node` at `now` (this node always trusts itself).
    pub(crate) fn live(&self, node: u32, now: Duration) -> bool {
        node == self.config.id || !self.suspects(node, now)
    }

    /// Marks `peer` suspect from `now`.
    pub(crate) fn suspect(&mut self, peer: u32, now: Duration) {
        if peer != self.config.id {
            self.misses.remove(&peer);
            self.down_since.entry(peer).or_insert(now);
            self.suspects.insert(peer, now.saturating_add(self.config.suspect_for));
        }
    }

    /// Whether `peer` has been down longer than the hint window at `now`: then it gets no new
    /// hints (Cassandra's `StorageProxy.shouldHint` compares the gossiper's downtime of the
    /// endpoint with `max_hint_window`).
    pub(crate) fn down_beyond_hint_window(&self, peer: u32, now: Duration) -> bool {
        self.down_since.get(&peer).is_some_and(|&since| now.saturating_sub(since) > self.config.max_hint_window)
    }

    /// `peer` let a request's deadline pass without answering.
    pub(crate) fn missed(&mut self, peer: u32, now: Duration) {
        let misses = self.misses.entry(peer).or_insert(0);
        *misses += 1;
        if *misses >= self.config.suspect_after_misses {
            self.suspect(peer, now);
        }
    }
}

/// An answer to one of this node's rounds, as [`Node::on_answer`] takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// A `WriteAck`.
    Ack(bool),
    /// A `WriteRefused`: the replica certainly did not store the cell.
    WriteRefused(String),
    /// A successful `ReadReply`.
    Cell(Option<Cell>),
    /// A successful `DigestReply`.
    Digest(u64),
    /// A `ReadReply` or `DigestReply` whose replica could not read.
    Refused,
    /// The message never got there.
    Unreachable,
}
