//! The read stage: asking the replicas, deciding on the answers, and what follows a read —
//! read repair (LWW), the write-back (ABD `Get`), or the write stage (`Add`, ABD `Put`).

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
            speculation_delay(self.config.speculative_retry, &self.read_latencies, self.config.request_timeout).map(|d| now.saturating_add(d))
        };
        self.read_failover(op, now, out);
        Ok(())
    }

    /// Sends a data (`data`) or digest read of round `rid` to `target`, or reads the local
    /// replica at once when `target` is this node.
    fn send_read(&mut self, op: &mut Operation, rid: u64, target: u32, data: bool, now: Duration, out: &mut Vec<Effect>) {
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
                || op.round.data.iter().any(|d| matches!(op.round.targets.get(d), Some(Answer::Pending | Answer::Ok(_))));
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
            let seen: BTreeSet<u64> = op
                .round
                .answers()
                .map(|(_, c)| digest::of(c))
                .chain(op.round.digests().map(|(_, d)| d))
                .collect();
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
