//! The proposer: one lightweight-transaction operation coordinated by this node, as a state
//! machine over rounds (prepare, commit of a missed commit, read, propose, commit), with its
//! own table of operations, request ids and deadlines (see the module above for the protocol
//! and its outcomes).
//!
//! Every round goes to the live replicas of the key's preference list and needs a quorum
//! (`N/2 + 1`, Cassandra's `SERIAL` quorum). The coordinator's own replica is asked like the
//! others, through a local queue drained before each input returns. A round that cannot reach
//! its quorum (refusals by higher promises: contention; failed or unreachable replicas) backs
//! off for a seeded random time below [`super::CONTENTION_BACKOFF_MAX`] and starts again with
//! a higher ballot, until the deadline.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use base::Cell;
use history::Value;

use super::{Ballot, PaxosMessage, Proposal, CONTENTION_BACKOFF_MAX};
use crate::config::{NodeConfig, MAX_PENDING_OPS};
use crate::level::{self, Level};
use crate::lww;
use crate::message::{Effect, Failure, Op, PeerMessage, Request, Response};
use crate::node::Node;
use crate::round::Status;
use crate::storage::Storage;

/// What the client asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Goal {
    /// A SERIAL read.
    Get,
    /// A SERIAL write (its condition always holds; no read).
    Put(Value),
    /// A SERIAL add to the set stored at the key.
    Add(Value),
    /// Compare-and-set.
    Cas { expected: Value, new: Value },
}

/// Whether `request` runs through Paxos, and as what: every `Cas`; a `Get` whose read level is
/// SERIAL; a `Put` or `Add` whose write level is SERIAL.
pub(crate) fn goal(request: &Request, config: &NodeConfig) -> Option<Goal> {
    let serial_read = request.read.unwrap_or(config.read) == Level::Serial;
    let serial_write = request.write.unwrap_or(config.write) == Level::Serial;
    match &request.op {
        Op::Cas { expected, new, .. } => Some(Goal::Cas { expected: expected.clone(), new: new.clone() }),
        Op::Get { .. } if serial_read => Some(Goal::Get),
        Op::Put { value, .. } if serial_write => Some(Goal::Put(value.clone())),
        Op::Add { element, .. } if serial_write => Some(Goal::Add(element.clone())),
        _ => None,
    }
}

/// The round an operation is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Prepare,
    /// Sending the most recent commit to promisers that missed it.
    CommitRepair,
    Read,
    /// `repair`: re-proposing an in-progress proposal found by the prepare.
    Propose {
        repair: bool,
    },
    Commit {
        repair: bool,
    },
    /// Waiting to retry after contention or failures.
    Backoff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Got {
    Pending,
    Ok,
    Rejected,
    /// Failed, unreachable or timed out: whether it acted is unknown.
    Failed,
}

/// One round's answers.
#[derive(Debug, Clone, Default)]
struct Tally {
    rid: u64,
    need: usize,
    got: BTreeMap<u32, Got>,
}

impl Tally {
    fn count(&self, which: Got) -> usize {
        self.got.values().filter(|g| **g == which).count()
    }

    fn status(&self) -> Status {
        let ok = self.count(Got::Ok);
        if ok >= self.need {
            Status::Reached
        } else if ok + self.count(Got::Pending) < self.need {
            Status::Impossible
        } else {
            Status::Waiting
        }
    }
}

/// One operation in flight.
#[derive(Debug, Clone)]
pub(crate) struct PaxosOp {
    id: u64,
    conn: u64,
    request: u64,
    key: String,
    goal: Goal,
    replicas: Vec<u32>,
    need: usize,
    deadline: Duration,
    phase: Phase,
    tally: Tally,
    ballot: Ballot,
    /// The lowest clock reading the next ballot may use (above every promise seen refusing).
    floor: u64,
    /// Origins of the proposals of this operation's own value.
    ours: BTreeSet<Ballot>,
    /// Whether a proposal of this operation's value may have been accepted somewhere and not
    /// committed by it: then no later failure of the operation is definite.
    maybe_accepted: bool,
    promises: BTreeMap<u32, (Option<Proposal>, Option<Proposal>)>,
    cells: Vec<Option<Cell>>,
    proposal: Option<Proposal>,
    /// The most recent commit the last prepare found.
    latest_commit: Option<Proposal>,
    retry_at: Option<Duration>,
    done: bool,
}

/// The node's proposer table.
#[derive(Debug, Clone, Default)]
pub(crate) struct Proposers {
    ops: BTreeMap<u64, PaxosOp>,
    rids: BTreeMap<u64, u64>,
    /// Answers of this node's own acceptor, delivered before the input returns.
    local: VecDeque<PaxosMessage>,
    /// The back-off generator's state (splitmix64, seeded by the node id).
    rng: u64,
}

impl Proposers {
    /// An empty table for node `id`.
    pub(crate) fn new(id: u32) -> Self {
        Self { rng: 0x5EED_0000_0000_0000 ^ u64::from(id), ..Self::default() }
    }

    /// Operations in flight.
    pub(crate) fn len(&self) -> usize {
        self.ops.len()
    }

    /// The earliest deadline or retry.
    pub(crate) fn next_wakeup(&self) -> Option<Duration> {
        self.ops.values().map(|op| op.retry_at.map_or(op.deadline, |r| r.min(op.deadline))).min()
    }

    fn backoff(&mut self) -> Duration {
        // splitmix64: deterministic, and different per node so contenders drift apart.
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let span = u64::try_from(CONTENTION_BACKOFF_MAX.as_micros()).unwrap_or(u64::MAX).max(1);
        Duration::from_micros(z % span)
    }
}

fn applied_value(goal: &Goal) -> Value {
    match goal {
        Goal::Cas { expected, new } => Value::List(vec![expected.clone(), new.clone()]),
        Goal::Put(value) | Goal::Add(value) => value.clone(),
        Goal::Get => Value::Nil,
    }
}

impl<S: Storage> Node<S> {
    /// Starts a lightweight-transaction operation (the caller checked the key).
    pub(crate) fn start_paxos(
        &mut self,
        now: Duration,
        conn: u64,
        request: Request,
        goal: Goal,
        out: &mut Vec<Effect>,
    ) {
        let n = self.config.replication;
        let mut op = PaxosOp {
            id: self.fresh_id(),
            conn,
            request: request.id,
            replicas: self.ring.preference_list(request.op.key(), n),
            key: request.op.key().to_owned(),
            goal,
            need: level::required(Level::Serial, n),
            deadline: now.saturating_add(self.config.request_timeout),
            phase: Phase::Prepare,
            tally: Tally::default(),
            ballot: Ballot { micros: 0, node: self.config.id },
            floor: 0,
            ours: BTreeSet::new(),
            maybe_accepted: false,
            promises: BTreeMap::new(),
            cells: Vec::new(),
            proposal: None,
            latest_commit: None,
            retry_at: None,
            done: false,
        };
        if self.paxos.len() >= MAX_PENDING_OPS {
            return self.px_reply(&mut op, Err(Failure::Unavailable("coordinator overloaded".to_owned())), out);
        }
        self.px_prepare(&mut op, now, out);
        self.px_step(&mut op, now, out);
        self.px_settle(op);
        self.px_drain(now, out);
    }

    /// An answer from a replica (or this node's acceptor) to one of this node's rounds.
    pub(crate) fn paxos_answer(&mut self, now: Duration, from: u32, msg: PaxosMessage, out: &mut Vec<Effect>) {
        self.px_answer_one(now, from, msg, out);
        self.px_drain(now, out);
    }

    /// A Paxos request to `peer` could not be delivered.
    pub(crate) fn paxos_unreachable(&mut self, now: Duration, peer: u32, msg: PaxosMessage, out: &mut Vec<Effect>) {
        if msg.is_request() {
            self.paxos_answer(now, peer, PaxosMessage::Failed { rid: msg.rid() }, out);
        }
    }

    /// Deadlines and retries.
    pub(crate) fn paxos_tick(&mut self, now: Duration, out: &mut Vec<Effect>) {
        let due: Vec<u64> = self
            .paxos
            .ops
            .values()
            .filter(|op| op.deadline <= now || op.retry_at.is_some_and(|r| r <= now))
            .map(|op| op.id)
            .collect();
        for id in due {
            let Some(mut op) = self.paxos.ops.remove(&id) else { continue };
            if op.deadline <= now {
                self.px_expire(&mut op, now, out);
            } else {
                op.retry_at = None;
                self.px_prepare(&mut op, now, out);
                self.px_step(&mut op, now, out);
            }
            self.px_settle(op);
        }
        self.px_drain(now, out);
    }

    fn px_drain(&mut self, now: Duration, out: &mut Vec<Effect>) {
        while let Some(msg) = self.paxos.local.pop_front() {
            let me = self.config.id;
            self.px_answer_one(now, me, msg, out);
        }
    }

    fn px_answer_one(&mut self, now: Duration, from: u32, msg: PaxosMessage, out: &mut Vec<Effect>) {
        let Some(mut op) = self.paxos.rids.get(&msg.rid()).and_then(|id| self.paxos.ops.remove(id)) else {
            self.stats.late_replies += 1;
            return;
        };
        if self.px_record(&mut op, from, msg) {
            self.px_step(&mut op, now, out);
        }
        self.px_settle(op);
    }

    /// Records `from`'s answer; whether it counted.
    fn px_record(&mut self, op: &mut PaxosOp, from: u32, msg: PaxosMessage) -> bool {
        if op.tally.rid != msg.rid() || op.tally.got.get(&from) != Some(&Got::Pending) {
            self.stats.late_replies += 1;
            return false;
        }
        let got = match (op.phase, msg) {
            (Phase::Prepare, PaxosMessage::Promise { accepted, committed, .. }) => {
                op.promises.insert(from, (accepted, committed));
                Got::Ok
            }
            (Phase::Prepare | Phase::Propose { .. }, PaxosMessage::Rejected { promised, .. }) => {
                op.floor = op.floor.max(promised.micros.saturating_add(1));
                Got::Rejected
            }
            (Phase::Propose { .. }, PaxosMessage::Accepted { .. })
            | (Phase::Commit { .. } | Phase::CommitRepair, PaxosMessage::CommitAck { .. }) => Got::Ok,
            (Phase::Read, PaxosMessage::Value { cell, .. }) => {
                op.cells.push(cell);
                Got::Ok
            }
            (_, PaxosMessage::Failed { .. }) => Got::Failed,
            _ => {
                self.stats.rejected += 1;
                return false;
            }
        };
        op.tally.got.insert(from, got);
        true
    }

    /// Moves the operation on as far as its round allows.
    fn px_step(&mut self, op: &mut PaxosOp, now: Duration, out: &mut Vec<Effect>) {
        while !op.done && op.phase != Phase::Backoff {
            match (op.phase, op.tally.status()) {
                (_, Status::Waiting) => return,
                (Phase::Prepare, Status::Reached) => self.px_promised(op, now, out),
                (Phase::CommitRepair, Status::Reached) => self.px_after_prepare(op, now, out),
                (Phase::Read, Status::Reached) => self.px_read_done(op, now, out),
                (Phase::Propose { repair }, Status::Reached) => {
                    let Some(proposal) = op.proposal.clone() else { return };
                    let targets = self.px_live(op, now);
                    let key = op.key.clone();
                    self.px_round(op, Phase::Commit { repair }, targets, op.need, out, |rid| PaxosMessage::Commit {
                        rid,
                        key: key.clone(),
                        proposal: proposal.clone(),
                    });
                }
                (Phase::Commit { repair }, Status::Reached) => {
                    let origin = op.proposal.as_ref().map(|p| p.origin);
                    if !repair || origin.is_some_and(|o| op.ours.contains(&o)) {
                        let value = applied_value(&op.goal);
                        self.px_reply(op, Ok(value), out);
                    } else {
                        // Someone else's proposal is committed: now ours, from the start.
                        self.px_prepare(op, now, out);
                    }
                }
                (Phase::Commit { repair: false }, Status::Impossible) => {
                    // Accepted by a quorum, so chosen; whether anyone can see it yet is unknown.
                    self.px_reply(op, Err(Failure::Timeout), out);
                }
                (Phase::Propose { repair: false }, Status::Impossible) => {
                    let t = &op.tally;
                    if t.count(Got::Ok) + t.count(Got::Pending) + t.count(Got::Failed) > 0 {
                        op.maybe_accepted = true;
                    }
                    self.px_backoff(op, now);
                }
                (_, Status::Impossible) => self.px_backoff(op, now),
                (Phase::Backoff, Status::Reached) => return,
            }
        }
    }

    fn px_live(&self, op: &PaxosOp, now: Duration) -> Vec<u32> {
        op.replicas.iter().copied().filter(|&r| self.live(r, now)).collect()
    }

    /// Starts a round: a fresh request id, `make(rid)` sent to every target.
    fn px_round(
        &mut self,
        op: &mut PaxosOp,
        phase: Phase,
        targets: Vec<u32>,
        need: usize,
        out: &mut Vec<Effect>,
        make: impl Fn(u64) -> PaxosMessage,
    ) {
        self.paxos.rids.remove(&op.tally.rid);
        let rid = self.fresh_id();
        self.paxos.rids.insert(rid, op.id);
        op.phase = phase;
        op.tally = Tally { rid, need, got: targets.iter().map(|&t| (t, Got::Pending)).collect() };
        for target in targets {
            let msg = make(rid);
            if target == self.config.id {
                if let Some(reply) = self.serve_paxos(msg) {
                    self.paxos.local.push_back(reply);
                }
            } else {
                out.push(Effect::Send { to: target, msg: PeerMessage::Paxos(msg) });
            }
        }
    }

    /// Phase 1 with a fresh ballot, or the end when too few replicas are live.
    fn px_prepare(&mut self, op: &mut PaxosOp, now: Duration, out: &mut Vec<Effect>) {
        let targets = self.px_live(op, now);
        if targets.len() < op.need {
            let failure = if op.maybe_accepted {
                Failure::Timeout
            } else {
                Failure::Unavailable(format!(
                    "{} of {} replicas reachable, {} needed for SERIAL",
                    targets.len(),
                    op.replicas.len(),
                    op.need
                ))
            };
            return self.px_reply(op, Err(failure), out);
        }
        let micros = self.clock.issue_at_least(self.clock.read_us(now).max(op.floor));
        op.ballot = Ballot { micros, node: self.config.id };
        op.promises.clear();
        self.stats.paxos_rounds += 1;
        let (key, ballot) = (op.key.clone(), op.ballot);
        self.px_round(op, Phase::Prepare, targets, op.need, out, |rid| PaxosMessage::Prepare {
            rid,
            key: key.clone(),
            ballot,
        });
    }

    /// A quorum promised: finish an in-progress proposal, spread the latest commit, or go on.
    fn px_promised(&mut self, op: &mut PaxosOp, now: Duration, out: &mut Vec<Effect>) {
        let latest = op.promises.values().filter_map(|(_, c)| c.clone()).max_by_key(|c| c.ballot);
        let floor = latest.as_ref().map(|c| c.ballot);
        let in_progress = op
            .promises
            .values()
            .filter_map(|(a, _)| a.clone())
            .filter(|a| floor.is_none_or(|f| a.ballot > f))
            .max_by_key(|a| a.ballot);
        op.latest_commit = latest.clone();
        let ours = |p: &Proposal| op.ours.contains(&p.origin);
        if op.maybe_accepted && !in_progress.as_ref().is_some_and(ours) {
            // An earlier proposal of ours may have been accepted somewhere. If it was
            // committed, we are done; otherwise it may have been chosen and overwritten since,
            // or may still be revived by a later prepare: proposing the value again could apply
            // it twice, so the outcome stays unknown.
            let committed = latest.as_ref().is_some_and(ours);
            let result = if committed { Ok(applied_value(&op.goal)) } else { Err(Failure::Timeout) };
            return self.px_reply(op, result, out);
        }
        if let Some(found) = in_progress {
            self.stats.paxos_repairs += 1;
            let proposal = Proposal { ballot: op.ballot, value: found.value, origin: found.origin };
            return self.px_propose(op, proposal, true, now, out);
        }
        if let Some(commit) = latest {
            let missing: Vec<u32> = op
                .promises
                .iter()
                .filter(|(_, (_, c))| c.as_ref().is_none_or(|c| c.ballot < commit.ballot))
                .map(|(&n, _)| n)
                .collect();
            if !missing.is_empty() {
                let key = op.key.clone();
                let need = missing.len();
                return self.px_round(op, Phase::CommitRepair, missing, need, out, |rid| PaxosMessage::Commit {
                    rid,
                    key: key.clone(),
                    proposal: commit.clone(),
                });
            }
        }
        self.px_after_prepare(op, now, out);
    }

    /// The promise quorum holds the latest commit: read, or (a write) propose at once.
    fn px_after_prepare(&mut self, op: &mut PaxosOp, now: Duration, out: &mut Vec<Effect>) {
        if let Goal::Put(value) = &op.goal {
            let proposal = Proposal { ballot: op.ballot, value: value.clone(), origin: op.ballot };
            return self.px_propose(op, proposal, false, now, out);
        }
        op.cells.clear();
        let targets = self.px_live(op, now);
        let key = op.key.clone();
        self.px_round(op, Phase::Read, targets, op.need, out, |rid| PaxosMessage::Read { rid, key: key.clone() });
    }

    /// A quorum read: answer a read, evaluate a condition.
    fn px_read_done(&mut self, op: &mut PaxosOp, now: Duration, out: &mut Vec<Effect>) {
        let current = lww::newest(op.cells.iter().map(Option::as_ref)).map_or(Value::Nil, |c| c.value);
        let new = match &op.goal {
            Goal::Get => return self.px_reply(op, Ok(current), out),
            Goal::Put(value) => Ok(value.clone()),
            Goal::Add(element) => lww::add_to_set(&current, element.clone()).map_err(Failure::Unsupported),
            Goal::Cas { expected, new } if *expected == current => Ok(new.clone()),
            Goal::Cas { .. } => Err(Failure::NotApplied { current }),
        };
        match new {
            Ok(value) => {
                let proposal = Proposal { ballot: op.ballot, value, origin: op.ballot };
                self.px_propose(op, proposal, false, now, out);
            }
            Err(failure) if !op.maybe_accepted => {
                if matches!(failure, Failure::NotApplied { .. }) {
                    self.stats.cas_not_applied += 1;
                }
                self.px_reply(op, Err(failure), out);
            }
            Err(_) => {
                // An earlier attempt's proposal may still be chosen, unless it already was.
                let ours = op.latest_commit.as_ref().is_some_and(|c| op.ours.contains(&c.origin));
                let result = if ours { Ok(applied_value(&op.goal)) } else { Err(Failure::Timeout) };
                self.px_reply(op, result, out);
            }
        }
    }

    fn px_propose(&mut self, op: &mut PaxosOp, proposal: Proposal, repair: bool, now: Duration, out: &mut Vec<Effect>) {
        if !repair {
            op.ours.insert(proposal.origin);
        }
        op.proposal = Some(proposal.clone());
        let targets = self.px_live(op, now);
        let key = op.key.clone();
        self.px_round(op, Phase::Propose { repair }, targets, op.need, out, |rid| PaxosMessage::Propose {
            rid,
            key: key.clone(),
            proposal: proposal.clone(),
        });
    }

    fn px_backoff(&mut self, op: &mut PaxosOp, now: Duration) {
        if op.tally.count(Got::Rejected) > 0 {
            self.stats.paxos_contention += 1;
        }
        self.paxos.rids.remove(&op.tally.rid);
        op.phase = Phase::Backoff;
        let wait = self.paxos.backoff();
        op.retry_at = Some(now.saturating_add(wait).max(now + Duration::from_micros(1)));
    }

    fn px_expire(&mut self, op: &mut PaxosOp, now: Duration, out: &mut Vec<Effect>) {
        let pending: Vec<u32> = op.tally.got.iter().filter(|(_, g)| **g == Got::Pending).map(|(&n, _)| n).collect();
        for peer in pending {
            if peer != self.config.id {
                self.missed(peer, now);
            }
        }
        let own_in_flight = matches!(op.phase, Phase::Propose { repair: false } | Phase::Commit { repair: false });
        let failure = if op.goal == Goal::Get || op.maybe_accepted || own_in_flight {
            Failure::Timeout
        } else {
            Failure::Unavailable("no Paxos round completed before the deadline; nothing was proposed".to_owned())
        };
        self.px_reply(op, Err(failure), out);
    }

    fn px_reply(&mut self, op: &mut PaxosOp, result: Result<Value, Failure>, out: &mut Vec<Effect>) {
        if op.done {
            return;
        }
        op.done = true;
        self.paxos.rids.remove(&op.tally.rid);
        match &result {
            Ok(_) | Err(Failure::NotApplied { .. }) => self.stats.ok += 1,
            Err(Failure::Unavailable(_)) => self.stats.unavailable += 1,
            Err(Failure::Timeout) => self.stats.timeouts += 1,
            Err(Failure::Unsupported(_)) => self.stats.unsupported += 1,
        }
        out.push(Effect::Reply { conn: op.conn, response: Response { id: op.request, result } });
    }

    fn px_settle(&mut self, op: PaxosOp) {
        if !op.done {
            self.paxos.ops.insert(op.id, op);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use super::*;
    use crate::paxos::acceptor::{self, AcceptorState};
    use crate::storage::MemStorage;

    /// Three nodes and a message queue delivered in an order the test picks.
    struct Net {
        nodes: Vec<Node<MemStorage>>,
        queue: VecDeque<(u32, u32, PeerMessage)>,
        replies: Vec<(u64, Response)>,
        now: Duration,
        rng: u64,
    }

    impl Net {
        fn new() -> Self {
            let nodes = (0..3).map(|id| node_over(id, MemStorage::new())).collect();
            Self { nodes, queue: VecDeque::new(), replies: Vec::new(), now: Duration::from_millis(1), rng: 7 }
        }

        fn absorb(&mut self, from: u32, effects: Vec<Effect>) {
            for effect in effects {
                match effect {
                    Effect::Send { to, msg } => self.queue.push_back((from, to, msg)),
                    Effect::Reply { conn, response } => self.replies.push((conn, response)),
                }
            }
        }

        fn request(&mut self, at: u32, conn: u64, op: Op, read: Option<Level>) {
            let effects =
                self.nodes[at as usize].on_request(self.now, conn, Request { id: conn, op, read, write: None });
            self.absorb(at, effects);
        }

        /// Delivers messages (in a seeded shuffled order when `shuffle`) and ticks until quiet.
        fn run(&mut self, shuffle: bool) {
            for _ in 0..100_000 {
                if let Some((from, to, msg)) = self.pick(shuffle) {
                    let effects = self.nodes[to as usize].on_peer(self.now, from, msg);
                    self.absorb(to, effects);
                    continue;
                }
                let next = self.nodes.iter().filter_map(Node::next_wakeup).min();
                let Some(next) = next else { return };
                self.now = self.now.max(next);
                for id in 0..3u32 {
                    let effects = self.nodes[id as usize].on_tick(self.now);
                    self.absorb(id, effects);
                }
            }
            panic!("the network never went quiet");
        }

        fn pick(&mut self, shuffle: bool) -> Option<(u32, u32, PeerMessage)> {
            if !shuffle || self.queue.is_empty() {
                return self.queue.pop_front();
            }
            self.rng = self.rng.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            let index = usize::try_from((self.rng >> 33) % self.queue.len() as u64).unwrap_or(0);
            self.queue.remove(index)
        }

        fn reply(&self, conn: u64) -> Option<&Result<Value, Failure>> {
            self.replies.iter().find(|(c, _)| *c == conn).map(|(_, r)| &r.result)
        }
    }

    fn node_over(id: u32, storage: MemStorage) -> Node<MemStorage> {
        Node::new(NodeConfig::new(id, vec![0, 1, 2]), storage, Duration::ZERO).expect("a valid node")
    }

    fn cas(expected: Value, new: i64) -> Op {
        Op::Cas { key: "k".into(), expected, new: Value::Int(new) }
    }

    fn data(net: &mut Net) -> Vec<Option<Value>> {
        net.nodes.iter_mut().map(|n| n.data().expect("reads").get("k").map(|c| c.value.clone())).collect()
    }

    #[test]
    fn a_cas_applies_and_a_failed_condition_changes_nothing() {
        let mut net = Net::new();
        net.request(0, 1, cas(Value::Nil, 1), None);
        net.run(false);
        assert_eq!(net.reply(1), Some(&Ok(Value::List(vec![Value::Nil, Value::Int(1)]))));
        assert_eq!(data(&mut net), vec![Some(Value::Int(1)); 3]);
        let before: Vec<_> =
            net.nodes.iter_mut().map(|n| AcceptorState::load(n.storage_mut(), "k").expect("loads")).collect();
        net.request(1, 2, cas(Value::Int(5), 2), None);
        net.run(false);
        assert_eq!(net.reply(2), Some(&Err(Failure::NotApplied { current: Value::Int(1) })));
        assert_eq!(net.nodes[1].stats().cas_not_applied, 1);
        assert_eq!(data(&mut net), vec![Some(Value::Int(1)); 3], "no data changed");
        for (node, old) in net.nodes.iter_mut().zip(before) {
            let now = AcceptorState::load(node.storage_mut(), "k").expect("loads");
            assert_eq!((now.accepted, now.committed), (old.accepted, old.committed), "nothing proposed");
        }
        net.request(2, 3, cas(Value::Int(1), 3), None);
        net.run(false);
        net.request(2, 4, Op::Get { key: "k".into() }, Some(Level::Serial));
        net.run(false);
        assert_eq!(net.reply(3), Some(&Ok(Value::List(vec![Value::Int(1), Value::Int(3)]))));
        assert_eq!(net.reply(4), Some(&Ok(Value::Int(3))));
    }

    #[test]
    fn competing_proposers_choose_at_most_one_value_and_both_finish() {
        let mut contended = 0;
        for seed in 0..20u64 {
            let mut net = Net::new();
            net.rng = seed;
            net.request(0, 1, cas(Value::Nil, 10), None);
            net.request(1, 2, cas(Value::Nil, 20), None);
            net.request(2, 3, cas(Value::Nil, 30), None);
            net.run(true);
            let applied: Vec<i64> = (1..=3u64)
                .filter_map(|conn| match net.reply(conn) {
                    Some(Ok(Value::List(pair))) => pair.get(1).and_then(Value::as_int),
                    Some(Err(Failure::NotApplied { .. } | Failure::Timeout | Failure::Unavailable(_))) => None,
                    other => panic!("seed {seed}: conn {conn} got {other:?}"),
                })
                .collect();
            assert!(applied.len() <= 1, "seed {seed}: several cas from nil applied: {applied:?}");
            let values = data(&mut net);
            if let [v] = applied.as_slice() {
                assert!(values.iter().filter(|x| **x == Some(Value::Int(*v))).count() >= 2, "seed {seed}: {values:?}");
            }
            let chosen: BTreeSet<_> = values.iter().flatten().collect();
            assert!(chosen.len() <= 1, "seed {seed}: replicas hold different chosen values {values:?}");
            assert_eq!(net.replies.len(), 3, "seed {seed}: every operation finished");
            assert!(net.nodes.iter().all(|n| n.paxos_in_flight() == 0));
            contended += net.nodes.iter().map(|n| n.stats().paxos_contention).sum::<u64>();
        }
        assert!(contended > 0, "the proposers never contended: the test tested nothing");
    }

    #[test]
    fn an_in_progress_proposal_found_by_a_prepare_is_committed_first() {
        let mut net = Net::new();
        // Node 2 proposed 42 and a quorum (1 and 2) accepted it; its commit never went out.
        let ballot = Ballot { micros: 10, node: 2 };
        let proposal = Proposal { ballot, value: Value::Int(42), origin: ballot };
        for id in [1usize, 2] {
            let s = net.nodes[id].storage_mut();
            acceptor::answer(s, 0, PaxosMessage::Prepare { rid: 1, key: "k".into(), ballot });
            acceptor::answer(s, 0, PaxosMessage::Propose { rid: 2, key: "k".into(), proposal: proposal.clone() });
        }
        net.request(0, 1, cas(Value::Nil, 7), None);
        net.run(false);
        assert_eq!(net.nodes[0].stats().paxos_repairs, 1);
        assert_eq!(
            net.reply(1),
            Some(&Err(Failure::NotApplied { current: Value::Int(42) })),
            "the repaired value is the one the condition sees"
        );
        let values = data(&mut net);
        assert!(values.iter().filter(|v| **v == Some(Value::Int(42))).count() >= 2, "{values:?}");
    }

    #[test]
    fn the_acceptor_state_survives_a_restart() {
        let mut n = node_over(1, MemStorage::new());
        let high = Ballot { micros: 50, node: 0 };
        let t = Duration::from_millis(1);
        let effects =
            n.on_peer(t, 0, PeerMessage::Paxos(PaxosMessage::Prepare { rid: 1, key: "k".into(), ballot: high }));
        assert!(matches!(
            effects.as_slice(),
            [Effect::Send { msg: PeerMessage::Paxos(PaxosMessage::Promise { .. }), .. }]
        ));
        let mut n = node_over(1, n.into_storage());
        let low = Ballot { micros: 40, node: 2 };
        let effects =
            n.on_peer(t, 2, PeerMessage::Paxos(PaxosMessage::Prepare { rid: 2, key: "k".into(), ballot: low }));
        let rejected = PaxosMessage::Rejected { rid: 2, promised: high };
        assert_eq!(effects, vec![Effect::Send { to: 2, msg: PeerMessage::Paxos(rejected) }]);
    }

    #[test]
    fn too_few_live_replicas_is_unavailable_before_sending_and_a_lost_proposal_is_a_timeout() {
        let mut n = node_over(0, MemStorage::new());
        let t = Duration::from_millis(1);
        for peer in [1, 2] {
            n.on_unreachable(t, peer, PeerMessage::Read { rid: 0, key: "k".into() });
        }
        let effects = n.on_request(t, 1, Request { id: 1, op: cas(Value::Nil, 1), read: None, write: None });
        assert!(matches!(
            effects.as_slice(),
            [Effect::Reply { response: Response { result: Err(Failure::Unavailable(_)), .. }, .. }]
        ));
        // Promised by 0 and 1; the proposal reaches only 0's acceptor before time runs out.
        let mut net = Net::new();
        net.request(0, 1, cas(Value::Nil, 1), None);
        while let Some((from, to, msg)) = net.queue.pop_front() {
            if matches!(msg, PeerMessage::Paxos(PaxosMessage::Propose { .. })) {
                continue;
            }
            if to == 2 {
                continue;
            }
            let effects = net.nodes[to as usize].on_peer(net.now, from, msg);
            net.absorb(to, effects);
        }
        let deadline = net.now + net.nodes[0].config().request_timeout;
        let effects = net.nodes[0].on_tick(deadline);
        net.absorb(0, effects);
        assert_eq!(net.reply(1), Some(&Err(Failure::Timeout)), "a proposal went out: indeterminate");
    }

    #[test]
    fn ballots_of_one_node_are_unique_and_rise_above_refusals() {
        let mut n = node_over(0, MemStorage::new());
        let t = Duration::from_millis(1);
        let mut ballots = Vec::new();
        for conn in 1..=3u64 {
            let effects = n.on_request(t, conn, Request { id: conn, op: cas(Value::Nil, 1), read: None, write: None });
            for e in effects {
                if let Effect::Send { msg: PeerMessage::Paxos(PaxosMessage::Prepare { ballot, .. }), to: 1 } = e {
                    ballots.push(ballot);
                }
            }
        }
        assert_eq!(ballots.len(), 3);
        assert!(ballots.windows(2).all(|w| w[0] < w[1]), "{ballots:?}");
    }
}
