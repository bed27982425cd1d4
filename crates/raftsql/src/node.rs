//! [`RaftNode`]: a sans-I/O Raft node over `raft::RawNode<LogStore>`.
//!
//! The caller owns time and the network: it calls [`RaftNode::tick`] at its tick period,
//! [`RaftNode::step`] for each message received, [`RaftNode::propose`] and
//! [`RaftNode::read_index`] for clients, and then [`RaftNode::drive`], which runs raft-rs 0.7's
//! Ready protocol in its documented order:
//! 1. messages of the Ready go out at once (a leader may send appends before persisting);
//! 2. committed entries are handed over for applying;
//! 3. new entries are appended to the store and the hard state is set;
//! 4. the store is synced; only then are the "persisted" messages (votes, append responses)
//!    released, since they promise what is on disk;
//! 5. `advance`; the light ready's commit index is set (made durable at the next sync, which
//!    is safe: a commit index can be recovered from the leader) and its messages and
//!    committed entries are added; `advance_apply`.
//!
//! Determinism: raft-rs draws each randomized election timeout from `thread_rng` inside
//! `Raft::reset`, which also sets `election_elapsed = 0`. After every call into raft-rs, when
//! `election_elapsed == 0`, the node replaces the timeout with one drawn from a [`base::Rng`]
//! seeded from the node's seed. A reset always leaves `election_elapsed == 0` at the end of the
//! call (a tick increments before it campaigns; a step never increments), so the library's
//! draw is never compared against; re-drawing after a heartbeat also zeroes it and is harmless
//! (any value in range is valid Raft). Timeouts lie in `[election_ticks, 2 * election_ticks)`.

use raft::eraftpb::{Entry, EntryType, Message};
use raft::{Config, RawNode, ReadState, StateRole};

use crate::log_store::{DroppedEntry, LogError, LogStore};

/// The most entry bytes one append message carries (raft-rs sends at least one entry).
pub const MAX_APPEND_BYTES: u64 = 512 << 10;

/// Appends a leader keeps in flight to one follower before waiting for responses.
pub const MAX_INFLIGHT_APPENDS: usize = 256;

/// Timing and protocol options of a node, in ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeConfig {
    /// The minimum election timeout; each timeout is drawn from `[e, 2e)`.
    pub election_ticks: usize,
    /// Ticks between a leader's heartbeats; less than `election_ticks`.
    pub heartbeat_ticks: usize,
    /// A leader steps down when it has not heard from a quorum for an election timeout.
    pub check_quorum: bool,
    /// Candidates first ask whether they could win (so a rejoining node does not disrupt).
    pub pre_vote: bool,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig { election_ticks: 10, heartbeat_ticks: 3, check_quorum: true, pre_vote: true }
    }
}

/// A node could not be built or could not go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// raft-rs refused a configuration, a message or a proposal.
    #[error("raft: {0}")]
    Raft(#[from] raft::Error),
    /// The store failed; persisted messages of this round were not released.
    #[error("log store: {0}")]
    Store(#[from] LogError),
    /// The configuration is unusable.
    #[error("bad configuration: {0}")]
    Config(&'static str),
    /// raft-rs asked to apply a snapshot, which phase 1 does not produce or accept.
    #[error("snapshots are not supported in phase 1")]
    SnapshotUnsupported,
}

/// A committed entry to apply, in log order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedEntry {
    /// Its log index.
    pub index: u64,
    /// The term it was proposed in.
    pub term: u64,
    /// The proposal (empty for the no-op a new leader appends).
    pub data: Vec<u8>,
}

/// What one [`RaftNode::drive`] produced.
#[derive(Debug, Default)]
pub struct Output {
    /// Messages that may be sent at once.
    pub messages: Vec<Message>,
    /// Messages to send now that the store's sync has succeeded (votes, append responses).
    pub persisted_messages: Vec<Message>,
    /// Entries committed since the last drive, to apply in order.
    pub committed: Vec<CommittedEntry>,
    /// Answers to [`RaftNode::read_index`]: the context and the index the read must wait for.
    pub read_states: Vec<ReadState>,
    /// Entries the log dropped because a new leader overwrote them (never committed).
    pub dropped: Vec<DroppedEntry>,
}

impl Output {
    /// Every message, the immediate ones first.
    pub fn all_messages(&self) -> impl Iterator<Item = &Message> {
        self.messages.iter().chain(&self.persisted_messages)
    }
}

/// A Raft node; see the module docs.
pub struct RaftNode {
    raw: RawNode<LogStore>,
    rng: base::Rng,
    election_ticks: usize,
    applied: u64,
}

impl std::fmt::Debug for RaftNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftNode")
            .field("id", &self.raw.raft.id)
            .field("term", &self.term())
            .field("leader", &self.leader())
            .field("commit", &self.commit_index())
            .field("applied", &self.applied)
            .finish()
    }
}

impl RaftNode {
    /// A node `id` of the group `peers` (all voters, `id` included), on `store` (fresh or
    /// recovered). Its election timeouts are drawn from an RNG seeded with `seed` and `id`.
    pub fn new(id: u64, peers: &[u64], config: NodeConfig, seed: u64, mut store: LogStore) -> Result<Self, NodeError> {
        if !peers.contains(&id) {
            return Err(NodeError::Config("the node's id is not among the peers"));
        }
        if config.heartbeat_ticks == 0 || config.heartbeat_ticks >= config.election_ticks {
            return Err(NodeError::Config("heartbeat_ticks must be in 1..election_ticks"));
        }
        store.init_voters(peers)?;
        let cfg = Config {
            id,
            election_tick: config.election_ticks,
            heartbeat_tick: config.heartbeat_ticks,
            min_election_tick: config.election_ticks,
            max_election_tick: 2 * config.election_ticks,
            check_quorum: config.check_quorum,
            pre_vote: config.pre_vote,
            applied: 0,
            // raft-rs's default (0) sends one entry per append; batch up to this many bytes
            // so a restarted follower catches up in few messages (below base::frame's 1 MiB).
            max_size_per_msg: MAX_APPEND_BYTES,
            max_inflight_msgs: MAX_INFLIGHT_APPENDS,
            ..Config::default()
        };
        let logger = slog::Logger::root(slog::Discard, slog::o!());
        let raw = RawNode::new(&cfg, store, &logger)?;
        let mut node =
            RaftNode { raw, rng: base::Rng::stream(seed, id), election_ticks: config.election_ticks, applied: 0 };
        node.reseed();
        Ok(node)
    }

    /// Replaces raft-rs's `thread_rng` draw after a reset (see the module docs).
    fn reseed(&mut self) {
        if self.raw.raft.election_elapsed == 0 {
            let e = self.election_ticks as u64;
            let t = usize::try_from(self.rng.range(e..2 * e)).unwrap_or(self.election_ticks);
            self.raw.raft.set_randomized_election_timeout(t);
        }
    }

    /// Advances the node's clock by one tick.
    pub fn tick(&mut self) {
        self.raw.tick();
        self.reseed();
    }

    /// Starts an election now, without waiting for the election timeout (bootstrapping a new
    /// group: see [`crate::server`]).
    pub fn campaign(&mut self) -> Result<(), NodeError> {
        let result = self.raw.campaign();
        self.reseed();
        Ok(result?)
    }

    /// Hands the node a message received from a peer.
    pub fn step(&mut self, message: Message) -> Result<(), NodeError> {
        let result = self.raw.step(message);
        self.reseed();
        Ok(result?)
    }

    /// Proposes `data` for the log; fails unless this node knows a leader to forward to
    /// (raft-rs drops proposals without one: `ProposalDropped`).
    pub fn propose(&mut self, data: Vec<u8>) -> Result<(), NodeError> {
        let result = self.raw.propose(Vec::new(), data);
        self.reseed();
        Ok(result?)
    }

    /// Asks for a linearizable read point; the answer comes back in [`Output::read_states`]
    /// with `ctx`.
    pub fn read_index(&mut self, ctx: Vec<u8>) {
        self.raw.read_index(ctx);
        self.reseed();
    }

    /// Runs one round of the Ready protocol (see the module docs). After an error the node
    /// must be rebuilt from its directory.
    pub fn drive(&mut self) -> Result<Output, NodeError> {
        let mut out = Output::default();
        if !self.raw.has_ready() {
            return Ok(out);
        }
        let mut rd = self.raw.ready();
        if !rd.snapshot().is_empty() {
            return Err(NodeError::SnapshotUnsupported);
        }
        out.messages = rd.take_messages();
        self.collect(&mut out, rd.take_committed_entries());
        out.read_states = rd.take_read_states();
        let store = self.raw.mut_store();
        store.append(rd.entries())?;
        if let Some(hs) = rd.hs() {
            store.set_hard_state(hs.clone());
        }
        store.sync()?;
        out.persisted_messages = rd.take_persisted_messages();
        let mut light = self.raw.advance(rd);
        if let Some(commit) = light.commit_index() {
            self.raw.mut_store().set_commit(commit);
        }
        out.messages.extend(light.take_messages());
        self.collect(&mut out, light.take_committed_entries());
        self.raw.advance_apply();
        out.dropped = self.raw.mut_store().take_dropped();
        self.reseed();
        Ok(out)
    }

    fn collect(&mut self, out: &mut Output, entries: Vec<Entry>) {
        for e in entries {
            self.applied = e.index;
            if e.get_entry_type() == EntryType::EntryNormal {
                out.committed.push(CommittedEntry { index: e.index, term: e.term, data: e.data.to_vec() });
            }
        }
    }

    /// This node's id.
    pub fn id(&self) -> u64 {
        self.raw.raft.id
    }

    /// The leader this node knows of, if any.
    pub fn leader(&self) -> Option<u64> {
        Some(self.raw.raft.leader_id).filter(|&l| l != raft::INVALID_ID)
    }

    /// Whether this node is the leader.
    pub fn is_leader(&self) -> bool {
        self.raw.raft.state == StateRole::Leader
    }

    /// The current term.
    pub fn term(&self) -> u64 {
        self.raw.raft.term
    }

    /// The highest index known committed.
    pub fn commit_index(&self) -> u64 {
        self.raw.raft.raft_log.committed
    }

    /// The index of the last entry handed out by [`RaftNode::drive`].
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// The current randomized election timeout, in ticks (drawn from the node's seeded RNG).
    pub fn election_timeout(&self) -> usize {
        self.raw.raft.randomized_election_timeout()
    }

    /// The index of the last entry in the log.
    pub fn last_index(&self) -> u64 {
        self.raw.raft.raft_log.last_index()
    }

    /// The store, e.g. for its [`LogStore::recovery`] report.
    pub fn store(&self) -> &LogStore {
        self.raw.store()
    }

    /// The store, to take its disk work ([`LogStore::take_work`]).
    pub fn store_mut(&mut self) -> &mut LogStore {
        self.raw.mut_store()
    }
}

#[cfg(test)]
mod tests;
