//! The acceptor: a replica's Paxos state for one key and the rules it answers by
//! (Cassandra's `PaxosState.prepare`, `.propose`, `.commit`).
//!
//! - prepare(b): promise when `b` is above the current promise; answer with the accepted
//!   proposal and the most recent commit. Otherwise refuse with the promise held.
//! - propose(p): accept when `p.ballot` is at least the promise (the promise becomes
//!   `p.ballot`); otherwise refuse with the promise held.
//! - commit(p): write `p`'s value into the key's data with the ballot as its version
//!   (last-write-wins keeps the newest), and record `p` if it is the newest commit.
//!
//! The state is stored under `"\u{1}paxos/<key>"` (Cassandra's `system.paxos` row) as one cell
//! whose version counts the updates (so the storage's last-write-wins merge keeps the newest);
//! it is written, and the write must succeed, before the answer is sent, so a promise or an
//! acceptance survives a crash exactly as far as the storage synced it (`batch` commit log:
//! always).

use std::time::Duration;

use base::{Cell, Version};
use history::Value;

use super::{Ballot, PaxosMessage, Proposal};
use crate::hints::RESERVED_PREFIX;
use crate::message::{Effect, PeerMessage};
use crate::node::Node;
use crate::replica::key_problem;
use crate::storage::{Storage, StorageError};

/// The reserved key of `key`'s Paxos state.
pub(crate) fn state_key(key: &str) -> String {
    format!("{RESERVED_PREFIX}paxos/{key}")
}

/// One key's acceptor state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AcceptorState {
    /// The highest ballot promised (or accepted).
    pub promised: Option<Ballot>,
    /// The proposal accepted most recently.
    pub accepted: Option<Proposal>,
    /// The most recent commit.
    pub committed: Option<Proposal>,
    /// The update count the stored cell carries.
    pub updates: u64,
}

fn ballot_value(b: Ballot) -> Value {
    Value::List(vec![Value::Int(i64::try_from(b.micros).unwrap_or(i64::MAX)), Value::Int(i64::from(b.node))])
}

fn ballot_of(v: &Value) -> Option<Ballot> {
    match v {
        Value::List(items) => match items.as_slice() {
            [Value::Int(micros), Value::Int(node)] => {
                Some(Ballot { micros: u64::try_from(*micros).ok()?, node: u32::try_from(*node).ok()? })
            }
            _ => None,
        },
        _ => None,
    }
}

fn proposal_value(p: &Option<Proposal>) -> Value {
    match p {
        None => Value::Nil,
        Some(p) => Value::List(vec![ballot_value(p.ballot), p.value.clone(), ballot_value(p.origin)]),
    }
}

/// `Ok(None)` for nil, `Err` when malformed.
fn proposal_of(v: &Value) -> Result<Option<Proposal>, ()> {
    match v {
        Value::Nil => Ok(None),
        Value::List(items) => match items.as_slice() {
            [ballot, value, origin] => Ok(Some(Proposal {
                ballot: ballot_of(ballot).ok_or(())?,
                value: value.clone(),
                origin: ballot_of(origin).ok_or(())?,
            })),
            _ => Err(()),
        },
        _ => Err(()),
    }
}

impl AcceptorState {
    /// Reads `key`'s state (the default when none is stored).
    pub fn load<S: Storage>(storage: &mut S, key: &str) -> Result<Self, StorageError> {
        let Some(cell) = storage.get(&state_key(key))? else { return Ok(Self::default()) };
        let corrupt = || StorageError::Corrupt(format!("paxos state of {key:?}: {}", cell.value));
        let Value::List(items) = &cell.value else { return Err(corrupt()) };
        let [promised, accepted, committed] = items.as_slice() else { return Err(corrupt()) };
        let promised = match promised {
            Value::Nil => None,
            other => Some(ballot_of(other).ok_or_else(corrupt)?),
        };
        Ok(Self {
            promised,
            accepted: proposal_of(accepted).map_err(|()| corrupt())?,
            committed: proposal_of(committed).map_err(|()| corrupt())?,
            updates: cell.version.timestamp,
        })
    }

    /// Writes the state back as its next update.
    pub fn save<S: Storage>(&mut self, storage: &mut S, key: &str, me: u32) -> Result<(), StorageError> {
        self.updates += 1;
        let value = Value::List(vec![
            self.promised.map_or(Value::Nil, ballot_value),
            proposal_value(&self.accepted),
            proposal_value(&self.committed),
        ]);
        storage.put(&state_key(key), Cell::new(value, Version::new(self.updates, me)))
    }
}

/// The answer to one Paxos request, given the replica's storage (shared by the local and the
/// remote path). `None` for answers, which are not requests.
pub(crate) fn answer<S: Storage>(storage: &mut S, me: u32, msg: PaxosMessage) -> Option<PaxosMessage> {
    let rid = msg.rid();
    let result = match msg {
        PaxosMessage::Prepare { key, ballot, .. } => prepare(storage, me, &key, ballot, rid),
        PaxosMessage::Propose { key, proposal, .. } => propose(storage, me, &key, proposal, rid),
        PaxosMessage::Commit { key, proposal, .. } => commit(storage, me, &key, proposal, rid),
        PaxosMessage::Read { key, .. } => storage.get(&key).map(|cell| PaxosMessage::Value { rid, cell }),
        _ => return None,
    };
    Some(result.unwrap_or(PaxosMessage::Failed { rid }))
}

fn prepare<S: Storage>(
    storage: &mut S,
    me: u32,
    key: &str,
    ballot: Ballot,
    rid: u64,
) -> Result<PaxosMessage, StorageError> {
    // A prepare needs a ballot above the promise; the same ballot was promised already.
    let at = Grant { key, ballot, rid, equal_allowed: false };
    at.grant(storage, me, |state| PaxosMessage::Promise {
        rid,
        accepted: state.accepted.clone(),
        committed: state.committed.clone(),
    })
}

fn propose<S: Storage>(
    storage: &mut S,
    me: u32,
    key: &str,
    proposal: Proposal,
    rid: u64,
) -> Result<PaxosMessage, StorageError> {
    // A proposal is accepted at the ballot promised to its own prepare.
    let at = Grant { key, ballot: proposal.ballot, rid, equal_allowed: true };
    at.grant(storage, me, |state| {
        state.accepted = Some(proposal);
        PaxosMessage::Accepted { rid }
    })
}

/// A prepare's or a proposal's ballot, checked against the key's promise.
struct Grant<'a> {
    key: &'a str,
    ballot: Ballot,
    rid: u64,
    /// Whether a ballot equal to the promise is granted (a proposal) or refused (a prepare).
    equal_allowed: bool,
}

impl Grant<'_> {
    /// Refuses with the promise held when it outranks the ballot; otherwise promises the
    /// ballot, lets `update` change the state and make the answer, and saves the state before
    /// the answer goes out.
    fn grant<S: Storage>(
        self,
        storage: &mut S,
        me: u32,
        update: impl FnOnce(&mut AcceptorState) -> PaxosMessage,
    ) -> Result<PaxosMessage, StorageError> {
        let mut state = AcceptorState::load(storage, self.key)?;
        match state.promised {
            Some(promised) if promised > self.ballot || (promised == self.ballot && !self.equal_allowed) => {
                Ok(PaxosMessage::Rejected { rid: self.rid, promised })
            }
            _ => {
                state.promised = Some(self.ballot);
                let answer = update(&mut state);
                state.save(storage, self.key, me)?;
                Ok(answer)
            }
        }
    }
}

fn commit<S: Storage>(
    storage: &mut S,
    me: u32,
    key: &str,
    proposal: Proposal,
    rid: u64,
) -> Result<PaxosMessage, StorageError> {
    storage.put(key, proposal.cell())?;
    let mut state = AcceptorState::load(storage, key)?;
    if state.committed.as_ref().is_none_or(|c| c.ballot < proposal.ballot) {
        state.committed = Some(proposal);
        state.save(storage, key, me)?;
    }
    Ok(PaxosMessage::CommitAck { rid })
}

impl<S: Storage> Node<S> {
    /// A Paxos message from `from`: a request is answered as an acceptor, an answer goes to
    /// the proposer.
    pub(crate) fn on_paxos(&mut self, now: Duration, from: u32, msg: PaxosMessage, out: &mut Vec<Effect>) {
        if !msg.is_request() {
            return self.paxos_answer(now, from, msg, out);
        }
        let key_ok = match &msg {
            PaxosMessage::Prepare { key, .. }
            | PaxosMessage::Propose { key, .. }
            | PaxosMessage::Commit { key, .. }
            | PaxosMessage::Read { key, .. } => key_problem(key).is_none(),
            _ => false,
        };
        let rid = msg.rid();
        let reply = if key_ok {
            self.serve_paxos(msg)
        } else {
            self.stats.rejected += 1;
            Some(PaxosMessage::Failed { rid })
        };
        if let Some(reply) = reply {
            out.push(Effect::Send { to: from, msg: PeerMessage::Paxos(reply) });
        }
    }

    /// Answers a Paxos request from this node's storage, counting storage failures.
    pub(crate) fn serve_paxos(&mut self, msg: PaxosMessage) -> Option<PaxosMessage> {
        let reply = answer(&mut self.storage, self.config.id, msg);
        if matches!(reply, Some(PaxosMessage::Failed { .. })) {
            self.stats.storage_errors += 1;
        }
        reply
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemStorage;

    fn b(micros: u64, node: u32) -> Ballot {
        Ballot { micros, node }
    }

    fn prep(s: &mut MemStorage, ballot: Ballot) -> PaxosMessage {
        answer(s, 0, PaxosMessage::Prepare { rid: 1, key: "k".into(), ballot }).expect("answered")
    }

    fn prop(s: &mut MemStorage, ballot: Ballot, value: i64) -> PaxosMessage {
        let proposal = Proposal { ballot, value: Value::Int(value), origin: ballot };
        answer(s, 0, PaxosMessage::Propose { rid: 2, key: "k".into(), proposal }).expect("answered")
    }

    #[test]
    fn no_promise_at_or_below_a_promised_ballot() {
        let mut s = MemStorage::new();
        assert!(matches!(prep(&mut s, b(10, 1)), PaxosMessage::Promise { accepted: None, committed: None, .. }));
        assert_eq!(prep(&mut s, b(10, 1)), PaxosMessage::Rejected { rid: 1, promised: b(10, 1) }, "the same ballot");
        assert_eq!(prep(&mut s, b(10, 0)), PaxosMessage::Rejected { rid: 1, promised: b(10, 1) }, "a lower one");
        assert_eq!(prop(&mut s, b(9, 5), 1), PaxosMessage::Rejected { rid: 2, promised: b(10, 1) });
        assert!(matches!(prep(&mut s, b(11, 0)), PaxosMessage::Promise { .. }));
        assert_eq!(prop(&mut s, b(10, 1), 1), PaxosMessage::Rejected { rid: 2, promised: b(11, 0) });
    }

    #[test]
    fn a_promise_returns_the_accepted_proposal_and_the_last_commit() {
        let mut s = MemStorage::new();
        prep(&mut s, b(10, 1));
        assert_eq!(prop(&mut s, b(10, 1), 7), PaxosMessage::Accepted { rid: 2 });
        let accepted = Proposal { ballot: b(10, 1), value: Value::Int(7), origin: b(10, 1) };
        assert_eq!(
            prep(&mut s, b(12, 2)),
            PaxosMessage::Promise { rid: 1, accepted: Some(accepted.clone()), committed: None }
        );
        let commit = PaxosMessage::Commit { rid: 3, key: "k".into(), proposal: accepted.clone() };
        assert_eq!(answer(&mut s, 0, commit), Some(PaxosMessage::CommitAck { rid: 3 }));
        assert_eq!(s.get("k"), Ok(Some(Cell::new(Value::Int(7), Version::new(10, 1)))), "applied to the data");
        assert_eq!(
            prep(&mut s, b(13, 2)),
            PaxosMessage::Promise { rid: 1, accepted: Some(accepted.clone()), committed: Some(accepted) }
        );
    }

    #[test]
    fn an_older_commit_does_not_replace_a_newer_one() {
        let mut s = MemStorage::new();
        let new = Proposal { ballot: b(20, 1), value: Value::Int(2), origin: b(20, 1) };
        let old = Proposal { ballot: b(10, 1), value: Value::Int(1), origin: b(10, 1) };
        for p in [new.clone(), old] {
            answer(&mut s, 0, PaxosMessage::Commit { rid: 1, key: "k".into(), proposal: p });
        }
        assert_eq!(AcceptorState::load(&mut s, "k").map(|st| st.committed), Ok(Some(new.clone())));
        assert_eq!(s.get("k"), Ok(Some(new.cell())));
    }

    #[test]
    fn the_state_is_durable_before_the_answer_and_failures_are_reported() {
        let mut s = MemStorage::new();
        s.full = true;
        assert_eq!(prep(&mut s, b(10, 1)), PaxosMessage::Failed { rid: 1 }, "no promise without the write");
        s.full = false;
        prep(&mut s, b(10, 1));
        let stored = s.cells.get(&state_key("k")).cloned().expect("state stored under the reserved key");
        assert!(crate::hints::is_reserved(&state_key("k")));
        assert_eq!(stored.version.timestamp, 1);
        prop(&mut s, b(10, 1), 3);
        let state = AcceptorState::load(&mut s, "k").expect("loads");
        assert_eq!((state.promised, state.updates), (Some(b(10, 1)), 2));
        s.cells.insert(state_key("x"), Cell::new(Value::Int(1), Version::new(1, 0)));
        assert!(matches!(AcceptorState::load(&mut s, "x"), Err(StorageError::Corrupt(_))));
    }
}
