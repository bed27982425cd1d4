//! The write stage: choosing targets (replicas, sloppy stand-ins, coordinator hints), sending,
//! replacing failed targets by fallbacks, and hinting the replicas a finished write missed.

use std::time::Duration;

use lsm::Cell;

use super::{Operation, Stage};
use crate::config::{Hints, Mode};
use crate::message::{Effect, Failure, PeerMessage};
use crate::node::Node;
use crate::plan;
use crate::round::Answer;
use crate::storage::Storage;

impl<S: Storage> Node<S> {
    /// The hinted-handoff policy in force (ABD's quorums must be real: sloppy acts as strict).
    pub(super) fn handoff(&self) -> Hints {
        match (self.config.mode, self.config.hints) {
            (Mode::Abd, Hints::Sloppy) => Hints::Strict,
            (_, hints) => hints,
        }
    }

    pub(super) fn start_write(
        &mut self,
        op: &mut Operation,
        cell: Cell,
        now: Duration,
        out: &mut Vec<Effect>,
    ) -> Result<(), Failure> {
        let handoff = self.handoff();
        let fallbacks =
            if handoff == Hints::Sloppy { self.ring.fallbacks(&op.key, self.config.replication) } else { Vec::new() };
        let plan = plan::write_targets(&op.replicas, &fallbacks, &|n| self.live(n, now), handoff);
        let hint_may_count = op.write_any && !plan.hint_now.is_empty();
        if plan.targets.len() + usize::from(hint_may_count) < op.write_need {
            return Err(Failure::Unavailable(format!(
                "{} of {} replicas reachable, {} needed",
                plan.targets.len(),
                op.replicas.len(),
                op.write_need
            )));
        }
        let targets: Vec<u32> = plan.targets.iter().map(|(t, _)| *t).collect();
        let rid = self.start_round(op, Stage::Write, op.write_need, &targets);
        for &(target, stand_in) in &plan.targets {
            op.round.add_target(target, stand_in);
        }
        for replica in plan.hint_now {
            if self.keep_hint(now, replica, &op.key, cell.clone()) {
                op.hinted.insert(replica);
            }
        }
        if op.write_any && !op.hinted.is_empty() {
            op.round.credit = 1;
        }
        op.cell = Some(cell.clone());
        for (target, hint_for) in plan.targets {
            if target == self.config.id {
                let ok = self.store_locally(now, &op.key, cell.clone(), hint_for);
                op.round.record(target, if ok { Answer::Ok(None) } else { Answer::Failed });
            } else {
                let msg = PeerMessage::Write { rid, key: op.key.clone(), cell: cell.clone(), hint_for };
                out.push(Effect::Send { to: target, msg });
            }
        }
        Ok(())
    }

    /// Sloppy quorum: a write target failed; send the write to the next live fallback, which
    /// keeps it as a hint for the replica the failed target was (or stood in for).
    pub(super) fn substitute(&mut self, op: &mut Operation, failed: u32, now: Duration, out: &mut Vec<Effect>) {
        if self.handoff() != Hints::Sloppy {
            return;
        }
        let Some(cell) = op.cell.clone() else { return };
        let intended = op.round.stand_in.get(&failed).copied().unwrap_or(failed);
        let fallbacks = self.ring.fallbacks(&op.key, self.config.replication);
        let Some(fallback) = fallbacks.into_iter().find(|&f| self.live(f, now) && !op.round.targets.contains_key(&f))
        else {
            return;
        };
        op.round.add_target(fallback, Some(intended));
        if fallback == self.config.id {
            let ok = self.keep_hint(now, intended, &op.key, cell);
            op.round.record(fallback, if ok { Answer::Ok(None) } else { Answer::Failed });
        } else {
            let msg = PeerMessage::Write { rid: op.round.rid, key: op.key.clone(), cell, hint_for: Some(intended) };
            out.push(Effect::Send { to: fallback, msg });
        }
    }

    /// Hints, at this coordinator, every replica the write neither reached nor had a stand-in
    /// or hint for.
    pub(super) fn hint_missing(&mut self, op: &Operation, now: Duration) {
        if self.handoff() == Hints::Off {
            return;
        }
        let Some(cell) = op.cell.clone() else { return };
        for &replica in &op.replicas {
            let stood_in = op.round.stand_in.iter().any(|(&f, &r)| r == replica && op.round.succeeded(f));
            let covered = op.round.succeeded(replica) || op.hinted.contains(&replica) || stood_in;
            if !covered && replica != self.config.id {
                self.keep_hint(now, replica, &op.key, cell.clone());
            }
        }
    }
}
