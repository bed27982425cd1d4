//! The read stage: asking the replicas, deciding on the answers, and what follows a read —
//! read repair (LWW), the write-back (ABD `Get`), or the write stage (`Add`, ABD `Put`).
//!
//! What a read sends, by path (R = replicas the level needs, N = replicas of the key):
//!
//! | path                      | first round                              | then                                  |
//! |---------------------------|------------------------------------------|---------------------------------------|
//! | Cassandra (LWW `Get`, the read of `Add`) | R replicas in snitch order: 1 data read, R-1 digest reads | digests differ: full data reads to those that answered (`DataResolver`), LWW winner, read repair |
//! | Cassandra, a failure      | the next live replica: a data read if no data read can still succeed, else a digest read (`ReadCallback.onFailure`) | |
//! | Cassandra, slow answers   | after the speculative-retry delay, 1 more data read (`SpeculatingReadExecutor.maybeTryAdditionalReplicas`) | |
//! | `AllReplicas`, and ABD    | every live replica, full data            | the first R answers decide            |
//!
//! ABD keeps full reads to every live replica (no digests): a majority of full answers is what
//! its write-back decision needs, and waiting on one silent replica of exactly a majority
//! would stall a linearizable read that another majority could serve.

use std::collections::{BTreeSet, VecDeque};
use std::time::Duration;

use base::{Cell, Version};
use history::Value;

use super::{Kind, Operation, Stage};
use crate::abd;
use crate::config::{Mode, ReadPath, ReadRepair, SpeculativeRetry};
use crate::digest;
use crate::lww;
use crate::message::{Effect, Failure, PeerMessage};
use crate::node::Node;
use crate::plan;
use crate::read_repair::{self, RepairPlan};
use crate::round::{Answer, Status};
use crate::storage::Storage;

/// Most recent read latencies a coordinator keeps for its speculative-retry percentile
/// (Cassandra keeps a decaying histogram of the table's coordinator read latency; a bounded
/// window of the last reads plays its part here).
pub(crate) const LATENCY_WINDOW: usize = 256;

/// The delay after which a read speculates, from `window` (recent read latencies) under
/// `policy`; `None` when it never does. Before any latency was observed a percentile policy
/// waits half the request `timeout`, as Cassandra's `ColumnFamilyStore` starts its
/// `sampleReadLatencyNanos` at half the read RPC timeout.
pub(crate) fn speculation_delay(
    policy: SpeculativeRetry,
    window: &VecDeque<Duration>,
    timeout: Duration,
) -> Option<Duration> {
    match policy {
        SpeculativeRetry::Off => None,
        SpeculativeRetry::Fixed(delay) => Some(delay),
        SpeculativeRetry::Percentile(p) => {
            if window.is_empty() {
                return Some(timeout / 2);
            }
            let mut sorted: Vec<Duration> = window.iter().copied().collect();
            sorted.sort_unstable();
            // Nearest rank: the smallest latency at least p% of the window does not exceed.
            let rank = (usize::from(p) * sorted.len()).div_ceil(100).clamp(1, sorted.len());
            Some(sorted[rank - 1])
        }
    }
}

impl<S: Storage> Node<S> {
    pub(super) fn start_read(
        &mut self,
        op: &mut Operation,
        now: Duration,
        out: &mut Vec<Effect>,
    ) -> Result<(), Failure> {
        // ABD keeps full data reads to every live replica (a majority decides): its read phases
        // must not wait on a silent replica when another majority could answer.
        let cassandra = self.config.read_path == ReadPath::Cassandra && self.config.mode == Mode::Lww;
        let live = |n| self.live(n, now);
        let candidates = if cassandra {
            self.snitch.order(self.config.id, &op.replicas, &live)
        } else {
            plan::read_targets(&op.replicas, &live)
        };
        if candidates.len() < op.read_need {
            return Err(Failure::Unavailable(format!(
                "{} of {} replicas reachable, {} needed",
                candidates.len(),
                op.replicas.len(),
                op.read_need
            )));
        }
        op.read_started = Some(now);
        if !cassandra {
            let rid = self.start_round(op, Stage::Read, op.read_need, &candidates);
            for target in candidates {
                self.send_read(op, rid, target, true, now, out);
            }
            return Ok(());
        }
        // One data read to the closest replica, digest reads to the next R-1.
        let (contacted, spare) = candidates.split_at(op.read_need);
        op.spare = spare.to_vec();
        op.digests = contacted.len() > 1;
        let rid = self.start_round(op, Stage::Read, op.read_need, contacted);
        for (i, &target) in contacted.iter().enumerate() {
            let data = i == 0 || !op.digests;
            if data {
                op.round.data.insert(target);
            }
            self.send_read(op, rid, target, data, now, out);
        }
        op.speculate_at = if op.spare.is_empty() {
            None
        } else {
            speculation_delay(self.config.speculative_retry, &self.read_latencies, self.config.request_timeout)
                .map(|d| now.saturating_add(d))
        };
        self.read_failover(op, now, out);
        Ok(())
    }

    /// Sends a data (`data`) or digest read of round `rid` to `target`, or reads the local
    /// replica at once when `target` is this node.
    fn send_read(
        &mut self,
        op: &mut Operation,
        rid: u64,
        target: u32,
        data: bool,
        now: Duration,
        out: &mut Vec<Effect>,
    ) {
        if target == self.config.id {
            self.stats.local_reads += 1;
            let answer = match self.storage.get(&op.key) {
                // The coordinator's own answer is always full data: it costs no message.
                Ok(cell) => Answer::Ok(cell),
                Err(_) => {
                    self.stats.storage_errors += 1;
                    Answer::Failed
                }
            };
            op.round.record(target, answer);
            return;
        }
        op.sent_at.insert(target, now);
        let key = op.key.clone();
        let msg = if data {
            self.stats.data_reads_sent += 1;
            PeerMessage::Read { rid, key }
        } else {
            self.stats.digest_reads_sent += 1;
            PeerMessage::DigestRead { rid, key }
        };
        out.push(Effect::Send { to: target, msg });
    }

    /// Cassandra path: for every contacted replica of the read round that failed, contact the
    /// next live spare replica (a data read when no data read can still succeed, else a digest
    /// read), as long as spares remain.
    pub(super) fn read_failover(&mut self, op: &mut Operation, now: Duration, out: &mut Vec<Effect>) {
        loop {
            let alive = op.round.targets.values().filter(|a| !matches!(a, Answer::Failed | Answer::Refused(_))).count();
            // An empty `data` set: every target is a data read.
            let data_possible = op.round.data.is_empty()
                || op
                    .round
                    .data
                    .iter()
                    .any(|d| matches!(op.round.targets.get(d), Some(Answer::Pending | Answer::Ok(_))));
            if op.round.status() == Status::Reached || (alive >= op.round.need && data_possible) {
                return;
            }
            let Some(next) = self.next_spare(op, now) else { return };
            let data = !op.digests || !data_possible;
            op.round.add_target(next, None);
            if data {
                op.round.data.insert(next);
            }
            self.stats.read_failovers += 1;
            let rid = op.round.rid;
            self.send_read(op, rid, next, data, now, out);
        }
    }

    /// The next spare replica the detector still trusts, taken off the spare list.
    fn next_spare(&self, op: &mut Operation, now: Duration) -> Option<u32> {
        while !op.spare.is_empty() {
            let next = op.spare.remove(0);
            if self.live(next, now) && !op.round.targets.contains_key(&next) {
                return Some(next);
            }
        }
        None
    }

    /// Sends the speculative data reads that are due (Cassandra's `SpeculatingReadExecutor`:
    /// one extra data read to the next replica when the answers are later than the threshold).
    pub(crate) fn speculate(&mut self, now: Duration, out: &mut Vec<Effect>) {
        let due: Vec<u64> =
            self.ops.iter().filter(|(_, op)| op.speculate_at.is_some_and(|at| at <= now)).map(|(&id, _)| id).collect();
        for id in due {
            let Some(mut op) = self.ops.remove(&id) else { continue };
            op.speculate_at = None;
            if op.stage == Stage::Read && !op.replied && !op.done {
                if let Some(next) = self.next_spare(&mut op, now) {
                    op.round.add_target(next, None);
                    op.round.data.insert(next);
                    self.stats.speculative_retries += 1;
                    let rid = op.round.rid;
                    self.send_read(&mut op, rid, next, true, now, out);
                    self.advance(&mut op, now, out);
                }
            }
            if !op.done {
                self.ops.insert(op.id, op);
            }
        }
    }

    /// Asynchronous read repair of a replica whose answer came after the reply.
    pub(super) fn repair_late(&mut self, op: &mut Operation, from: u32, out: &mut Vec<Effect>) {
        if self.config.read_repair != ReadRepair::Async || self.config.mode != Mode::Lww {
            return;
        }
        let Some(winner) = op.winner.clone() else { return };
        let late_digest = op.round.digests().find(|(n, _)| *n == from).map(|(_, d)| d);
        if let Some(seen) = late_digest {
            // A late digest: different from the winner's means the replica holds something
            // else; the winner is sent (merging it is harmless if the replica is newer).
            if seen != digest::of(Some(&winner)) {
                self.send_repair(op, from, 0, out);
            }
            return;
        }
        let seen = op.round.answers().find(|(n, _)| *n == from).and_then(|(_, c)| c.cloned());
        if lww::is_stale(seen.as_ref(), &winner) {
            self.send_repair(op, from, 0, out);
        }
    }

    /// Sends the read's winner to `to` (`rid` 0: no ack wanted), or stores it if `to` is us.
    pub(super) fn send_repair(&mut self, op: &mut Operation, to: u32, rid: u64, out: &mut Vec<Effect>) {
        let Some(cell) = op.winner.clone() else { return };
        self.stats.read_repairs += 1;
        if to == self.config.id {
            let stored = self.store_locally(Duration::ZERO, &op.key, cell, None);
            if rid != 0 {
                op.round.record(to, stored.answer());
            }
        } else {
            out.push(Effect::Send { to, msg: PeerMessage::Repair { rid, key: op.key.clone(), cell } });
        }
    }

    /// The read round reached its level: decide the reply or the next round.
    pub(super) fn read_reached(&mut self, op: &mut Operation, now: Duration, out: &mut Vec<Effect>) {
        op.speculate_at = None;
        if let Some(started) = op.read_started.take() {
            if self.read_latencies.len() == LATENCY_WINDOW {
                self.read_latencies.pop_front();
            }
            self.read_latencies.push_back(now.saturating_sub(started));
        }
        if op.digests {
            let seen: BTreeSet<u64> =
                op.round.answers().map(|(_, c)| digest::of(c)).chain(op.round.digests().map(|(_, d)| d)).collect();
            if seen.len() > 1 {
                // Cassandra's DigestMismatchException: read full data from every replica that
                // answered, then resolve and repair (`DataResolver`, `BlockingReadRepair`).
                self.stats.digest_mismatches += 1;
                let targets: Vec<u32> = op.round.order.clone();
                op.digests = false;
                let rid = self.start_round(op, Stage::Read, op.read_need, &targets);
                for target in targets {
                    self.send_read(op, rid, target, true, now, out);
                }
                self.read_failover(op, now, out);
                return;
            }
        }
        let answers: Vec<(u32, Option<Cell>)> = op.round.answers().map(|(n, c)| (n, c.cloned())).collect();
        let answers: Vec<(u32, Option<&Cell>)> = answers.iter().map(|(n, c)| (*n, c.as_ref())).collect();
        let winner = lww::newest(answers.iter().map(|(_, c)| *c));
        op.winner = winner.clone();
        let value = winner.as_ref().map_or(Value::Nil, |c| c.value.clone());
        match (op.kind.clone(), self.config.mode) {
            (Kind::Get, Mode::Lww) => match read_repair::plan(self.config.read_repair, &answers, winner.as_ref()) {
                RepairPlan::Skip => {
                    self.reply(op, Ok(value), out);
                    self.finish(op, now);
                }
                RepairPlan::Async(stale) => {
                    for replica in stale {
                        self.send_repair(op, replica, 0, out);
                    }
                    self.reply(op, Ok(value), out);
                }
                RepairPlan::Blocking(stale) => {
                    let rid = self.start_round(op, Stage::Repair, stale.len(), &stale);
                    for replica in stale {
                        self.send_repair(op, replica, rid, out);
                    }
                }
            },
            (Kind::Get, Mode::Abd) => match abd::write_back(&answers, winner.as_ref(), op.read_need) {
                None => {
                    self.reply(op, Ok(value), out);
                    self.finish(op, now);
                }
                Some(holders) => {
                    let targets: Vec<u32> =
                        op.replicas.iter().copied().filter(|r| !holders.contains(r) && self.live(*r, now)).collect();
                    let rid = self.start_round(op, Stage::WriteBack, op.read_need, &targets);
                    op.round.credit = holders.len();
                    let Some(cell) = winner else { return };
                    for target in targets {
                        if target == self.config.id {
                            let stored = self.store_locally(now, &op.key, cell.clone(), None);
                            op.round.record(target, stored.answer());
                        } else {
                            let msg =
                                PeerMessage::Write { rid, key: op.key.clone(), cell: cell.clone(), hint_for: None };
                            out.push(Effect::Send { to: target, msg });
                        }
                    }
                }
            },
            (Kind::Add(_) | Kind::Put(_), mode) => {
                let new_value = match &op.kind {
                    Kind::Add(element) => lww::add_to_set(&value, element.clone()),
                    Kind::Put(value) => Ok(value.clone()),
                    Kind::Get => return,
                };
                let new_value = match new_value {
                    Ok(v) => v,
                    Err(why) => {
                        self.reply(op, Err(Failure::Unsupported(why)), out);
                        return self.finish(op, now);
                    }
                };
                let timestamp = match mode {
                    Mode::Lww => self.clock.next_timestamp(now),
                    Mode::Abd => self.clock.issue_at_least(abd::timestamp_floor(winner.as_ref())),
                };
                let cell = Cell::new(new_value, Version::new(timestamp, self.config.id));
                if let Err(failure) = self.start_write(op, cell, now, out) {
                    self.reply(op, Err(failure), out);
                    self.finish(op, now);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NodeConfig;
    use crate::level::Level;
    use crate::message::{Op, Request, Response};
    use crate::storage::MemStorage;
    use history::Value;

    const KEY: &str = "k";

    /// Node `id` of nodes `0..size` with `n` replicas per key and the given policies.
    fn node(id: u32, size: u32, n: usize, tweak: impl Fn(&mut NodeConfig)) -> Node<MemStorage> {
        let mut config = NodeConfig::new(id, (0..size).collect());
        config.replication = n;
        config.speculative_retry = SpeculativeRetry::Off;
        config.read_repair = ReadRepair::Off;
        tweak(&mut config);
        Node::new(config, MemStorage::new(), Duration::ZERO).expect("a valid node")
    }

    fn replicas(size: u32, n: usize) -> Vec<u32> {
        node(0, size, n, |_| {}).ring().preference_list(KEY, n)
    }

    fn get(id: u64, level: Level) -> Request {
        Request { id, op: Op::Get { key: KEY.into() }, read: Some(level), write: None }
    }

    fn cell(v: i64, ts: u64) -> Cell {
        Cell::new(Value::Int(v), Version::new(ts, 0))
    }

    /// `(data reads, digest reads, repairs)` sent, by destination.
    #[derive(Debug, Default, PartialEq, Eq)]
    struct Sent {
        data: Vec<u32>,
        digest: Vec<u32>,
        repair: Vec<u32>,
    }

    fn sent(effects: &[Effect]) -> Sent {
        let mut s = Sent::default();
        for effect in effects {
            match effect {
                Effect::Send { to, msg: PeerMessage::Read { .. } } => s.data.push(*to),
                Effect::Send { to, msg: PeerMessage::DigestRead { .. } } => s.digest.push(*to),
                Effect::Send { to, msg: PeerMessage::Repair { .. } } => s.repair.push(*to),
                _ => {}
            }
        }
        s
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

    /// Answers every read in `effects` as a replica holding `held(node)` would.
    fn answer(
        n: &mut Node<MemStorage>,
        now: Duration,
        effects: &[Effect],
        held: &dyn Fn(u32) -> Option<Cell>,
    ) -> Vec<Effect> {
        let mut out = Vec::new();
        for effect in effects {
            let Effect::Send { to, msg } = effect else { continue };
            let reply = match msg {
                PeerMessage::Read { rid, .. } => PeerMessage::ReadReply { rid: *rid, cell: held(*to), ok: true },
                PeerMessage::DigestRead { rid, .. } => {
                    PeerMessage::DigestReply { rid: *rid, digest: digest::of(held(*to).as_ref()), ok: true }
                }
                PeerMessage::Repair { rid, .. } if *rid != 0 => PeerMessage::WriteAck { rid: *rid, ok: true },
                _ => continue,
            };
            out.extend(n.on_peer(now, *to, reply));
        }
        out
    }

    #[test]
    fn a_get_sends_one_data_read_and_r_minus_1_digests_to_exactly_r_replicas() {
        let t = Duration::from_millis(1);
        // (cluster size, N): the coordinator is a replica, or one of the other nodes.
        for (size, n_rep) in [(4u32, 3usize), (7, 5)] {
            let reps = replicas(size, n_rep);
            let outsider = (0..size).find(|id| !reps.contains(id)).expect("a non-replica node");
            for level in [Level::One, Level::Quorum, Level::All] {
                let r = crate::level::required(level, n_rep);
                // Not the first of the preference list: the coordinator still reads itself first.
                let mut coordinator = node(reps[1], size, n_rep, |_| {});
                let effects = coordinator.on_request(t, 1, get(1, level));
                let s = sent(&effects);
                assert_eq!(s.data, Vec::<u32>::new(), "N={n_rep} {level:?}: its own replica is the data read");
                assert_eq!(s.digest.len(), r - 1, "N={n_rep} {level:?}");
                assert!(s.digest.iter().all(|d| reps.contains(d) && *d != reps[1]));
                assert_eq!(coordinator.stats().local_reads, 1);
                let more = answer(&mut coordinator, t, &effects, &|_| None);
                let done: Vec<Effect> = if r == 1 { effects.clone() } else { more };
                assert_eq!(replies(&done), vec![Response { id: 1, result: Ok(Value::Nil) }], "{level:?}");
                assert_eq!(sent(&done), Sent::default(), "agreeing digests: nothing more to send");

                let mut remote = node(outsider, size, n_rep, |_| {});
                let effects = remote.on_request(t, 1, get(1, level));
                let s = sent(&effects);
                assert_eq!(s.data, vec![reps[0]], "N={n_rep} {level:?}: one data read, the first replica");
                assert_eq!(s.digest, reps[1..r].to_vec(), "then digests in preference order");
                assert_eq!(remote.stats().data_reads_sent, 1);
                assert_eq!(remote.stats().digest_reads_sent, r as u64 - 1);
                let done = answer(&mut remote, t, &effects, &|_| Some(cell(4, 9)));
                assert_eq!(replies(&done), vec![Response { id: 1, result: Ok(Value::Int(4)) }]);
                assert_eq!(remote.stats().digest_mismatches, 0);
                assert_eq!(remote.operations_in_flight(), 0);
            }
        }
    }

    #[test]
    fn all_replicas_still_asks_every_replica_for_data() {
        let t = Duration::from_millis(1);
        let reps = replicas(4, 3);
        let outsider = (0..4).find(|id| !reps.contains(id)).expect("a non-replica node");
        let mut n = node(outsider, 4, 3, |c| c.read_path = ReadPath::AllReplicas);
        let effects = n.on_request(t, 1, get(1, Level::One));
        let mut all = reps.clone();
        all.sort_unstable();
        let mut data = sent(&effects).data;
        data.sort_unstable();
        assert_eq!((data, sent(&effects).digest), (all, vec![]));
    }

    /// The coordinator (a replica) holds the new cell, the next replica an old one.
    fn mismatch(policy: ReadRepair) -> (Node<MemStorage>, u32, Vec<Effect>) {
        let t = Duration::from_millis(1);
        let reps = replicas(3, 3);
        let mut n = node(reps[0], 3, 3, |c| c.read_repair = policy);
        n.storage_mut().put(KEY, cell(2, 20)).expect("stored");
        let effects = n.on_request(t, 1, get(1, Level::Quorum));
        let stale = reps[1];
        assert_eq!(sent(&effects), Sent { digest: vec![stale], ..Sent::default() });
        let held = move |node: u32| if node == stale { Some(cell(1, 10)) } else { Some(cell(2, 20)) };
        let round2 = answer(&mut n, t, &effects, &held);
        assert_eq!(n.stats().digest_mismatches, 1);
        assert_eq!(sent(&round2), Sent { data: vec![stale], ..Sent::default() }, "full data from the contacted");
        assert!(replies(&round2).is_empty());
        let after = answer(&mut n, t, &round2, &held);
        (n, stale, after)
    }

    #[test]
    fn a_digest_mismatch_reads_full_data_then_repairs_per_policy() {
        let t = Duration::from_millis(1);
        let new = Ok(Value::Int(2));
        let (mut n, stale, after) = mismatch(ReadRepair::Blocking);
        assert_eq!(sent(&after).repair, vec![stale]);
        assert!(replies(&after).is_empty(), "blocking: waits for the repair's ack");
        let acked = answer(&mut n, t, &after, &|_| None);
        assert_eq!(replies(&acked), vec![Response { id: 1, result: new.clone() }]);
        assert_eq!(n.stats().read_repairs, 1);

        let (n, stale, after) = mismatch(ReadRepair::Async);
        assert_eq!(sent(&after).repair, vec![stale]);
        assert_eq!(replies(&after), vec![Response { id: 1, result: new.clone() }], "async: at once");
        assert_eq!(n.stats().read_repairs, 1);

        let (n, _, after) = mismatch(ReadRepair::Off);
        assert_eq!(sent(&after), Sent::default());
        assert_eq!(replies(&after), vec![Response { id: 1, result: new }], "the newest, unrepaired");
        assert_eq!(n.stats().read_repairs, 0);
    }

    #[test]
    fn a_failed_replica_is_replaced_by_the_next_one() {
        let t = Duration::from_millis(1);
        let reps = replicas(4, 3);
        let outsider = (0..4).find(|id| !reps.contains(id)).expect("a non-replica node");
        let mut n = node(outsider, 4, 3, |_| {});
        let effects = n.on_request(t, 1, get(1, Level::One));
        assert_eq!(sent(&effects).data, vec![reps[0]]);
        let rid = match &effects[..] {
            [Effect::Send { msg: PeerMessage::Read { rid, .. }, .. }] => *rid,
            other => panic!("one read expected: {other:?}"),
        };
        let next = n.on_unreachable(t, reps[0], PeerMessage::Read { rid, key: KEY.into() });
        assert_eq!(sent(&next), Sent { data: vec![reps[1]], ..Sent::default() }, "the next replica, for data");
        assert_eq!(n.stats().read_failovers, 1);
        let done = answer(&mut n, t, &next, &|_| Some(cell(3, 1)));
        assert_eq!(replies(&done), vec![Response { id: 1, result: Ok(Value::Int(3)) }]);
        // A refused digest read is replaced by another digest read while the data may come.
        let mut n = node(outsider, 4, 3, |_| {});
        let effects = n.on_request(t, 2, get(2, Level::Two));
        let rid = match effects.iter().find_map(|e| match e {
            Effect::Send { msg: PeerMessage::DigestRead { rid, .. }, .. } => Some(*rid),
            _ => None,
        }) {
            Some(rid) => rid,
            None => panic!("a digest read expected: {effects:?}"),
        };
        let next = n.on_peer(t, reps[1], PeerMessage::DigestReply { rid, digest: 0, ok: false });
        assert_eq!(sent(&next), Sent { digest: vec![reps[2]], ..Sent::default() });
    }

    #[test]
    fn speculative_retry_fires_after_its_delay_and_not_before() {
        let t = Duration::from_millis(1);
        let reps = replicas(4, 3);
        let outsider = (0..4).find(|id| !reps.contains(id)).expect("a non-replica node");
        let after = Duration::from_millis(50);
        let mut n = node(outsider, 4, 3, |c| c.speculative_retry = SpeculativeRetry::Fixed(after));
        let effects = n.on_request(t, 1, get(1, Level::One));
        assert_eq!(sent(&effects).data, vec![reps[0]]);
        assert_eq!(n.next_wakeup(), Some(t + after));
        assert_eq!(sent(&n.on_tick(t + after - Duration::from_nanos(1))), Sent::default(), "not yet");
        let retry = n.on_tick(t + after);
        assert_eq!(sent(&retry), Sent { data: vec![reps[1]], ..Sent::default() }, "one extra data read");
        assert_eq!(n.stats().speculative_retries, 1);
        assert_eq!(sent(&n.on_tick(t + after * 3)), Sent::default(), "once only");
        let done = answer(&mut n, t + after * 3, &retry, &|_| Some(cell(8, 1)));
        assert_eq!(replies(&done), vec![Response { id: 1, result: Ok(Value::Int(8)) }], "the first answer decides");
        // Answers before the delay: no retry.
        let mut n = node(outsider, 4, 3, |c| c.speculative_retry = SpeculativeRetry::Fixed(after));
        let effects = n.on_request(t, 1, get(1, Level::One));
        assert_eq!(replies(&answer(&mut n, t, &effects, &|_| None)).len(), 1);
        assert_eq!(sent(&n.on_tick(t + after)), Sent::default());
        assert_eq!(n.stats().speculative_retries, 0);
    }

    #[test]
    fn the_percentile_is_over_the_recent_window() {
        let timeout = Duration::from_secs(1);
        let window: VecDeque<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
        let at = |p| speculation_delay(SpeculativeRetry::Percentile(p), &window, timeout);
        assert_eq!(at(99), Some(Duration::from_millis(99)));
        assert_eq!(at(50), Some(Duration::from_millis(50)));
        assert_eq!(at(100), Some(Duration::from_millis(100)));
        let empty = VecDeque::new();
        assert_eq!(speculation_delay(SpeculativeRetry::Percentile(99), &empty, timeout), Some(timeout / 2));
        assert_eq!(speculation_delay(SpeculativeRetry::Off, &window, timeout), None);
    }

    #[test]
    fn the_same_inputs_give_the_same_read_effects() {
        let run = || {
            let t = Duration::from_millis(1);
            let mut n = node(3, 4, 3, |c| c.speculative_retry = SpeculativeRetry::Percentile(90));
            let mut all = Vec::new();
            for i in 0..30u64 {
                let now = t * (i as u32 * 7);
                let effects = n.on_request(now, i, get(i, Level::Quorum));
                let answered = answer(&mut n, now + t, &effects, &|node| Some(cell(i64::from(node), 1)));
                all.extend(effects);
                all.extend(answered);
                all.extend(n.on_tick(now + t * 3));
            }
            (all, n.stats().clone())
        };
        assert_eq!(run(), run());
    }
}
