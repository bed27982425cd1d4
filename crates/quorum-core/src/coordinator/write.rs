//! The write stage: choosing targets (replicas, sloppy stand-ins, coordinator hints), sending,
//! replacing failed targets by fallbacks, and hinting the replicas a finished write missed.
//!
//! A replica whose write failed counts as a failed target, exactly like an unreachable one:
//! never towards W. When the write cannot reach its level and every target refused it
//! definitely (every disk full) with no hint kept anywhere, it certainly had no effect: the
//! client gets `Unavailable` with the refusals' reason, and no hint is kept afterwards.
//! Any target whose outcome is unknown (an I/O error, a timeout) makes it `Timeout`.

use std::time::Duration;

use base::Cell;

use super::{Operation, Stage};
use crate::config::{Hints, Mode};
use crate::hints::Stored;
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
            match self.keep_hint(now, replica, &op.key, cell.clone()) {
                Stored::Kept { durable } => {
                    op.hint_kept = true;
                    if durable {
                        op.hinted.insert(replica);
                    }
                }
                Stored::Dropped => {}
            }
        }
        if op.write_any && !op.hinted.is_empty() {
            op.round.credit = 1;
        }
        op.cell = Some(cell.clone());
        for (target, hint_for) in plan.targets {
            if target == self.config.id {
                let stored = self.store_locally(now, &op.key, cell.clone(), hint_for);
                op.round.record(target, stored.answer());
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
            let durable = self.keep_hint(now, intended, &op.key, cell) == Stored::Kept { durable: true };
            op.round.record(fallback, if durable { Answer::Ok(None) } else { Answer::Failed });
        } else {
            let msg = PeerMessage::Write { rid: op.round.rid, key: op.key.clone(), cell, hint_for: Some(intended) };
            out.push(Effect::Send { to: fallback, msg });
        }
    }

    /// Hints, at this coordinator, every replica the write neither reached nor had a stand-in
    /// or hint for. Not after a write answered as certainly failed (its cell is taken away
    /// then): a hint would make it take effect later.
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
