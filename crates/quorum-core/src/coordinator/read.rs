//! The read stage: asking the replicas, deciding on the answers, and what follows a read —
//! read repair (LWW), the write-back (ABD `Get`), or the write stage (`Add`, ABD `Put`).

use std::time::Duration;

use base::{Cell, Version};
use history::Value;

use super::{Kind, Operation, Stage};
use crate::abd;
use crate::config::{Mode, ReadRepair};
use crate::lww;
use crate::message::{Effect, Failure, PeerMessage};
use crate::node::Node;
use crate::plan;
use crate::read_repair::{self, RepairPlan};
use crate::round::Answer;
use crate::storage::Storage;

impl<S: Storage> Node<S> {
    pub(super) fn start_read(
        &mut self,
        op: &mut Operation,
        now: Duration,
        out: &mut Vec<Effect>,
    ) -> Result<(), Failure> {
        let targets = plan::read_targets(&op.replicas, &|n| self.live(n, now));
        if targets.len() < op.read_need {
            return Err(Failure::Unavailable(format!(
                "{} of {} replicas reachable, {} needed",
                targets.len(),
                op.replicas.len(),
                op.read_need
            )));
        }
        let rid = self.start_round(op, Stage::Read, op.read_need, &targets);
        for target in targets {
            if target == self.config.id {
                let answer = match self.storage.get(&op.key) {
                    Ok(cell) => Answer::Ok(cell),
                    Err(_) => {
                        self.stats.storage_errors += 1;
                        Answer::Failed
                    }
                };
                op.round.record(target, answer);
            } else {
                out.push(Effect::Send { to: target, msg: PeerMessage::Read { rid, key: op.key.clone() } });
            }
        }
        Ok(())
    }

    /// Asynchronous read repair of a replica whose answer came after the reply.
    pub(super) fn repair_late(&mut self, op: &mut Operation, from: u32, out: &mut Vec<Effect>) {
        if self.config.read_repair != ReadRepair::Async || self.config.mode != Mode::Lww {
            return;
        }
        let Some(winner) = op.winner.clone() else { return };
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
