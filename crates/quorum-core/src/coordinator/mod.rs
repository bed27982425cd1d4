//! The coordinator: one client operation as a sequence of rounds.
//!
//! | operation | LWW                                  | ABD                                     |
//! |-----------|--------------------------------------|-----------------------------------------|
//! | `Get`     | read R (data + digests); read repair | read Q; write back to Q unless Q agree  |
//! | `Put`     | write W with the coordinator's clock | read Q; write Q with ts above the max   |
//! | `Add`     | read R; write W (the grown set)      | read Q; write Q                         |
//!
//! Files: this one holds the operation's life cycle (start, answers, advancing, replying,
//! finishing, deadlines); [`read`] the read stage and what follows it; [`write`] the write
//! stage and hinted handoff.
//!
//! Reads follow [`crate::config::ReadPath`]. On the default Cassandra path (LWW only) a read
//! at a level needing R replicas contacts exactly R live replicas in snitch order
//! ([`crate::snitch`]: the coordinator first if it is a replica, then by observed latency):
//!
//! | level (N=3) | data reads | digest reads | on a digest mismatch                         |
//! |-------------|------------|--------------|----------------------------------------------|
//! | `ONE`       | 1          | 0            | (cannot happen)                              |
//! | `QUORUM`    | 1          | 1            | full data reads to the 2 that answered       |
//! | `ALL`       | 1          | 2            | full data reads to the 3 that answered       |
//!
//! (N=5: `QUORUM` is 1 data + 2 digests, `ALL` 1 + 4.) A coordinator that is a replica reads
//! its own copy as the data read (no message). This is Cassandra 4's `AbstractReadExecutor`
//! (`NeverSpeculatingReadExecutor` / `SpeculatingReadExecutor`: one data request to the
//! closest replica, digest requests to the rest of the `blockFor` set), `DigestResolver`
//! (digests compared with the data's), `DataResolver` and `BlockingReadRepair` (the round of
//! full reads after a `DigestMismatchException`, resolved by LWW, stale contacted replicas
//! repaired per [`crate::config::ReadRepair`]), and `ReadCallback` (a failed replica is
//! replaced by the next live one; a silent one is waited for until the request timeout unless
//! speculative retry, `speculative_retry = 99p` by default, sends one more data read first).
//! The `AllReplicas` path (Riak style, and ABD always) sends full reads to every live replica
//! and the first R answers decide. A write goes to
//! every live replica, or a stand-in (see [`crate::plan`]), and succeeds after W acks. After
//! replying, an operation may *linger* until its last target answers or its deadline passes:
//! a write, to hint the replicas that never acknowledged (hinted handoff, also on timeout as
//! Cassandra does); an `Async` read-repair read, to repair replicas whose answers come late.
//!
//! Failure replies: `Unavailable` whenever nothing was written (too few live replicas before
//! sending; a read whose replicas failed; a read-modify-write whose read phase failed or timed
//! out; a write every target's storage refused, e.g. on full disks); `Timeout` whenever a
//! write round started but did not reach its level (in time, or at all) and some target may
//! have stored it, a blocking repair or write-back did not complete, or a `Get` ran out of
//! time. A replica whose write failed never counts towards W: it is answered as an
//! unreachable replica is (see [`write`]).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use base::{Cell, Version};
use history::Value;

use crate::abd;
use crate::config::{Mode, MAX_PENDING_OPS};
use crate::level::{self, Access, LevelError};
use crate::message::{Effect, Failure, Op, Request, Response};
use crate::node::{Answer as Incoming, Node};
use crate::replica::key_problem;
use crate::round::{Answer, Round, Status};
use crate::storage::Storage;

/// What the client asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Get,
    Put(Value),
    Add(Value),
}

/// The round an operation is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Reading replicas (a `Get`, or the first phase of an `Add` or an ABD `Put`).
    Read,
    /// Writing the new cell.
    Write,
    /// Blocking read repair of stale replicas.
    Repair,
    /// ABD read write-back.
    WriteBack,
}

/// One client operation in flight.
#[derive(Debug)]
pub(crate) struct Operation {
    pub id: u64,
    pub conn: u64,
    pub request: u64,
    pub key: String,
    pub kind: Kind,
    pub read_need: usize,
    pub write_need: usize,
    /// Written at level ANY: a hint stored by the coordinator counts as the one ack.
    pub write_any: bool,
    /// The key's preference list.
    pub replicas: Vec<u32>,
    pub deadline: Duration,
    pub stage: Stage,
    pub round: Round,
    pub replied: bool,
    pub done: bool,
    /// What a read decided to return.
    pub winner: Option<Cell>,
    /// What the write stage writes.
    pub cell: Option<Cell>,
    /// Replicas the coordinator hinted durably at the start of the write (they were suspect).
    pub hinted: BTreeSet<u32>,
    /// Whether any hint of the write was kept (durable or only in memory): then it may take
    /// effect later, and its failure cannot be definite.
    pub hint_kept: bool,
    /// Request ids registered for this operation.
    pub rids: Vec<u64>,
    /// Cassandra read path: live replicas in snitch order not contacted yet (for failover and
    /// speculative retry).
    pub spare: Vec<u32>,
    /// When each outstanding read request was sent, for the snitch's latency scores.
    pub sent_at: BTreeMap<u32, Duration>,
    /// When the read phase started, until its latency is recorded.
    pub read_started: Option<Duration>,
    /// When to send a speculative data read, if one is planned.
    pub speculate_at: Option<Duration>,
    /// Whether the current read round mixes a data read with digest reads (whose answers must
    /// then be compared); false for rounds of full data reads.
    pub digests: bool,
}

fn level_failure(e: LevelError) -> Failure {
    match e {
        LevelError::Unsupported { .. } => Failure::Unsupported(e.to_string()),
        LevelError::Unachievable { .. } => Failure::Unavailable(e.to_string()),
    }
}

mod read;
mod write;

impl<S: Storage> Node<S> {
    /// Replies needed to read and to write, and whether the write level is ANY.
    fn needs(&self, request: &Request) -> Result<(usize, usize, bool), Failure> {
        let n = self.config.replication;
        if self.config.mode == Mode::Abd {
            let q = abd::quorum(n);
            return Ok((q, q, false));
        }
        let (reads, writes) = match request.op {
            Op::Get { .. } => (true, false),
            Op::Put { .. } => (false, true),
            Op::Add { .. } | Op::Cas { .. } => (true, true),
        };
        let write_level = request.write.unwrap_or(self.config.write);
        let r = if reads { level::validate(request.read.unwrap_or(self.config.read), n, Access::Read) } else { Ok(0) };
        let w = if writes { level::validate(write_level, n, Access::Write) } else { Ok(0) };
        Ok((r.map_err(level_failure)?, w.map_err(level_failure)?, writes && write_level == level::Level::Any))
    }

    pub(crate) fn start_operation(&mut self, now: Duration, conn: u64, request: Request, out: &mut Vec<Effect>) {
        let refuse = |node: &mut Self, failure: Failure, out: &mut Vec<Effect>| {
            node.count_reply(&Err(failure.clone()));
            out.push(Effect::Reply { conn, response: Response { id: request.id, result: Err(failure) } });
        };
        if let Some(problem) = key_problem(request.op.key()) {
            self.stats.rejected += 1;
            return refuse(self, Failure::Unsupported(problem), out);
        }
        if self.ops.len() >= MAX_PENDING_OPS {
            return refuse(self, Failure::Unavailable("coordinator overloaded".to_owned()), out);
        }
        if self.config.mode == Mode::Abd && matches!(request.op, Op::Cas { .. }) {
            // ABD's writes order by its own tags; a Paxos commit's ballot timestamp would not
            // be ordered with them, so ABD offers no compare-and-set (as before Paxos existed).
            let why = "compare-and-set needs lightweight transactions (mode = lww); ABD does not offer it";
            return refuse(self, Failure::Unsupported(why.to_owned()), out);
        }
        if let Some(goal) = crate::paxos::proposer::goal(&request, &self.config) {
            return self.start_paxos(now, conn, request, goal, out);
        }
        let (read_need, write_need, write_any) = match self.needs(&request) {
            Ok(needs) => needs,
            Err(failure) => return refuse(self, failure, out),
        };
        let key = request.op.key().to_owned();
        let kind = match request.op {
            Op::Get { .. } => Kind::Get,
            Op::Put { value, .. } => Kind::Put(value),
            Op::Add { element, .. } => Kind::Add(element),
            // Routed to Paxos above.
            Op::Cas { .. } => {
                return refuse(self, Failure::Unsupported("compare-and-set runs through Paxos".into()), out)
            }
        };
        let mut op = Operation {
            id: self.fresh_id(),
            conn,
            request: request.id,
            replicas: self.ring.preference_list(&key, self.config.replication),
            key,
            kind,
            read_need,
            write_need,
            write_any,
            deadline: now.saturating_add(self.config.request_timeout),
            stage: Stage::Read,
            round: Round::new(0, 0, []),
            replied: false,
            done: false,
            winner: None,
            cell: None,
            hinted: BTreeSet::new(),
            hint_kept: false,
            rids: Vec::new(),
            spare: Vec::new(),
            sent_at: BTreeMap::new(),
            read_started: None,
            speculate_at: None,
            digests: false,
        };
        let started = match (&op.kind, self.config.mode) {
            (Kind::Put(value), Mode::Lww) => {
                let version = Version::new(self.clock.next_timestamp(now), self.config.id);
                let cell = Cell::new(value.clone(), version);
                self.start_write(&mut op, cell, now, out)
            }
            _ => self.start_read(&mut op, now, out),
        };
        if let Err(failure) = started {
            self.reply(&mut op, Err(failure), out);
            self.finish(&mut op, now);
            return;
        }
        self.advance(&mut op, now, out);
        self.settle(op);
    }

    /// Replaces the operation's round with a fresh one (a new request id).
    pub(super) fn start_round(&mut self, op: &mut Operation, stage: Stage, need: usize, targets: &[u32]) -> u64 {
        for rid in op.rids.drain(..) {
            self.rids.remove(&rid);
        }
        let rid = self.fresh_id();
        op.round = Round::new(rid, need, targets.iter().copied());
        op.stage = stage;
        op.rids.push(rid);
        self.rids.insert(rid, op.id);
        rid
    }

    /// An answer to round `rid` from `from`.
    pub(crate) fn on_answer(&mut self, now: Duration, from: u32, rid: u64, answer: Incoming, out: &mut Vec<Effect>) {
        let Some(mut op) = self.rids.get(&rid).and_then(|id| self.ops.remove(id)) else {
            self.stats.late_replies += 1;
            return;
        };
        let recorded = match (op.stage, answer) {
            (Stage::Read, Incoming::Cell(cell)) => Some(Answer::Ok(cell)),
            (Stage::Read, Incoming::Digest(digest)) => Some(Answer::Digest(digest)),
            (Stage::Read, Incoming::Refused | Incoming::Unreachable) => Some(Answer::Failed),
            (Stage::Write | Stage::Repair | Stage::WriteBack, Incoming::Ack(true)) => Some(Answer::Ok(None)),
            (Stage::Write | Stage::Repair | Stage::WriteBack, Incoming::WriteRefused(reason)) => {
                Some(Answer::Refused(reason))
            }
            (Stage::Write | Stage::Repair | Stage::WriteBack, Incoming::Ack(false) | Incoming::Unreachable) => {
                Some(Answer::Failed)
            }
            _ => None,
        };
        let Some(recorded) = recorded.filter(|_| op.round.rid == rid) else {
            self.stats.rejected += 1;
            return self.settle(op);
        };
        let failed = matches!(recorded, Answer::Failed | Answer::Refused(_));
        if !op.round.record(from, recorded) {
            self.stats.late_replies += 1;
            return self.settle(op);
        }
        if op.stage == Stage::Read {
            if let Some(sent) = op.sent_at.remove(&from) {
                let latency = if failed { self.config.request_timeout } else { now.saturating_sub(sent) };
                self.snitch.observe(from, latency);
            }
        }
        if failed && op.stage == Stage::Write {
            self.substitute(&mut op, from, now, out);
        } else if failed && op.stage == Stage::Read && !op.replied {
            self.read_failover(&mut op, now, out);
        } else if !failed && op.replied && op.stage == Stage::Read {
            self.repair_late(&mut op, from, out);
        }
        self.advance(&mut op, now, out);
        self.settle(op);
    }

    /// Moves the operation on as far as its round allows.
    pub(super) fn advance(&mut self, op: &mut Operation, now: Duration, out: &mut Vec<Effect>) {
        while !op.done {
            if op.replied {
                if op.round.complete() {
                    self.finish(op, now);
                }
                return;
            }
            match (op.round.status(), op.stage) {
                (Status::Waiting, _) => return,
                (Status::Reached, Stage::Read) => self.read_reached(op, now, out),
                (Status::Reached, Stage::Write) => {
                    let result = match &op.kind {
                        Kind::Put(value) => value.clone(),
                        Kind::Add(element) => element.clone(),
                        Kind::Get => Value::Nil,
                    };
                    self.reply(op, Ok(result), out);
                }
                (Status::Reached, Stage::Repair | Stage::WriteBack) => {
                    let value = op.winner.as_ref().map_or(Value::Nil, |c| c.value.clone());
                    self.reply(op, Ok(value), out);
                    self.finish(op, now);
                }
                (Status::Impossible, Stage::Read) => {
                    let why = format!("{} of {} needed replicas answered", op.round.successes(), op.round.need);
                    self.reply(op, Err(Failure::Unavailable(why)), out);
                    self.finish(op, now);
                }
                (Status::Impossible, Stage::Write) => {
                    if !op.hint_kept {
                        if let Some(reason) = op.round.refused_by_all() {
                            // Certainly written nowhere: say so, and keep no hint of it.
                            op.cell = None;
                            let why = format!("every replica refused the write: {reason}");
                            self.reply(op, Err(Failure::Unavailable(why)), out);
                            continue;
                        }
                        if op.round.only_refusals_so_far() {
                            // The rest may refuse too: wait for them (or the deadline).
                            return;
                        }
                    }
                    self.reply(op, Err(Failure::Timeout), out);
                }
                (Status::Impossible, Stage::Repair | Stage::WriteBack) => {
                    self.reply(op, Err(Failure::Timeout), out);
                    self.finish(op, now);
                }
            }
        }
    }

    /// Answers the client (once).
    pub(super) fn reply(&mut self, op: &mut Operation, result: Result<Value, Failure>, out: &mut Vec<Effect>) {
        if op.replied {
            return;
        }
        op.replied = true;
        self.count_reply(&result);
        out.push(Effect::Reply { conn: op.conn, response: Response { id: op.request, result } });
    }

    fn count_reply(&mut self, result: &Result<Value, Failure>) {
        match result {
            Ok(_) | Err(Failure::NotApplied { .. }) => self.stats.ok += 1,
            Err(Failure::Unavailable(_)) => self.stats.unavailable += 1,
            Err(Failure::Timeout) => self.stats.timeouts += 1,
            Err(Failure::Unsupported(_)) => self.stats.unsupported += 1,
        }
    }

    /// Ends the operation: forgets its request ids and hints the replicas a write missed.
    pub(super) fn finish(&mut self, op: &mut Operation, now: Duration) {
        if op.done {
            return;
        }
        op.done = true;
        for rid in op.rids.drain(..) {
            self.rids.remove(&rid);
        }
        if op.stage == Stage::Write {
            self.hint_missing(op, now);
        }
    }

    /// Puts an unfinished operation back in the table.
    fn settle(&mut self, op: Operation) {
        if !op.done {
            self.ops.insert(op.id, op);
        }
    }

    /// Answers and ends every operation whose deadline passed; their silent targets count a
    /// missed reply.
    pub(crate) fn expire_operations(&mut self, now: Duration, out: &mut Vec<Effect>) {
        let expired: Vec<u64> = self.ops.iter().filter(|(_, op)| op.deadline <= now).map(|(&id, _)| id).collect();
        for id in expired {
            let Some(mut op) = self.ops.remove(&id) else { continue };
            for peer in op.round.pending() {
                self.missed(peer, now);
                if op.stage == Stage::Read {
                    self.snitch.observe(peer, self.config.request_timeout);
                }
            }
            let failure = match (op.stage, &op.kind) {
                (Stage::Read, Kind::Add(_) | Kind::Put(_)) => {
                    Failure::Unavailable("timed out in the read phase; nothing was written".to_owned())
                }
                _ => Failure::Timeout,
            };
            self.reply(&mut op, Err(failure), out);
            self.finish(&mut op, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{NodeConfig, ReadRepair};
    use crate::message::PeerMessage;
    use crate::storage::MemStorage;

    fn node(id: u32) -> Node<MemStorage> {
        let mut config = NodeConfig::new(id, vec![0, 1, 2]);
        config.read_repair = ReadRepair::Off;
        Node::new(config, MemStorage::new(), Duration::ZERO).expect("a valid node")
    }

    fn put(id: u64, value: i64, write: Option<level::Level>) -> Request {
        Request { id, op: Op::Put { key: "k".into(), value: Value::Int(value) }, read: None, write }
    }

    fn sends(effects: &[Effect]) -> Vec<(u32, PeerMessage)> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Send { to, msg } => Some((*to, msg.clone())),
                Effect::Reply { .. } => None,
            })
            .collect()
    }

    fn replies(effects: &[Effect]) -> Vec<Response> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Reply { response, .. } => Some(response.clone()),
                Effect::Send { .. } => None,
            })
            .collect()
    }

    fn write_rid(msg: &PeerMessage) -> u64 {
        match msg {
            PeerMessage::Write { rid, .. } => *rid,
            other => panic!("expected a write, got {other:?}"),
        }
    }

    #[test]
    fn a_write_replies_after_w_acks_and_counts_each_replica_once() {
        let mut n = node(0);
        let t = Duration::from_millis(1);
        let effects = n.on_request(t, 7, put(1, 5, None));
        let out = sends(&effects);
        assert_eq!(out.len(), 2, "both peers, not itself");
        assert!(replies(&effects).is_empty(), "one local ack of the two needed");
        let (peer, rid) = (out[0].0, write_rid(&out[0].1));
        let effects = n.on_peer(t, peer, PeerMessage::WriteAck { rid, ok: true });
        assert_eq!(replies(&effects), vec![Response { id: 1, result: Ok(Value::Int(5)) }]);
        assert!(n.on_peer(t, peer, PeerMessage::WriteAck { rid, ok: true }).is_empty());
        assert_eq!(n.stats().late_replies, 1);
        assert_eq!(n.operations_in_flight(), 1, "lingers for the last replica");
        assert!(n.on_peer(t, out[1].0, PeerMessage::WriteAck { rid, ok: true }).is_empty());
        assert_eq!(n.operations_in_flight(), 0);
        assert_eq!(n.pending_hints().len(), 0);
    }

    #[test]
    fn unavailable_is_decided_before_sending_anything() {
        let mut n = node(0);
        let t = Duration::from_millis(1);
        for peer in [1, 2] {
            n.on_unreachable(t, peer, PeerMessage::Read { rid: 0, key: "k".into() });
        }
        let effects = n.on_request(t, 7, put(1, 5, None));
        assert!(sends(&effects).is_empty());
        assert!(matches!(replies(&effects).as_slice(), [Response { id: 1, result: Err(Failure::Unavailable(_)) }]));
        assert_eq!(n.storage().cells.get("k"), None, "nothing written, not even locally");
        assert_eq!(n.pending_hints().len(), 0, "and no hints");
        // Level ANY: the coordinator's own replica is live, so ANY succeeds at once.
        let effects = n.on_request(t, 8, put(2, 6, Some(level::Level::Any)));
        assert_eq!(replies(&effects), vec![Response { id: 2, result: Ok(Value::Int(6)) }]);
        assert_eq!(n.pending_hints().values().sum::<usize>(), 2, "strict hints for both suspects");
    }

    #[test]
    fn a_timed_out_write_replies_once_and_hints_the_silent_replica() {
        let mut n = node(0);
        let t = Duration::from_millis(1);
        let effects = n.on_request(t, 7, put(1, 5, Some(level::Level::All)));
        let out = sends(&effects);
        let rid = write_rid(&out[0].1);
        assert!(n.on_peer(t, out[0].0, PeerMessage::WriteAck { rid, ok: true }).is_empty());
        assert!(n.on_tick(t + Duration::from_millis(999)).is_empty());
        let effects = n.on_tick(t + n.config().request_timeout);
        assert_eq!(replies(&effects), vec![Response { id: 1, result: Err(Failure::Timeout) }]);
        assert_eq!(n.pending_hints(), std::collections::BTreeMap::from([(out[1].0, 1)]));
        assert!(replies(&n.on_tick(t + Duration::from_secs(5))).is_empty(), "one reply only");
        // The late ack changes nothing.
        assert!(n.on_peer(t, out[1].0, PeerMessage::WriteAck { rid, ok: true }).is_empty());
    }

    #[test]
    fn the_same_inputs_give_the_same_effects() {
        let run = || {
            let mut n = node(1);
            let mut all = Vec::new();
            for i in 0..20u64 {
                let t = Duration::from_millis(i * 3);
                all.extend(n.on_request(t, i, put(i, i as i64, None)));
                let get = Request { id: 100 + i, op: Op::Get { key: format!("k{i}") }, read: None, write: None };
                all.extend(n.on_request(t, i, get));
                all.extend(n.on_tick(t + Duration::from_millis(2_000)));
            }
            all
        };
        assert_eq!(run(), run());
    }
}
