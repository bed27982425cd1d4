//! Lightweight transactions: compare-and-set and SERIAL reads and writes through Paxos, one
//! Paxos instance per key, as Cassandra 2.0-4.0 runs them (`StorageProxy.cas`,
//! `StorageProxy.beginAndRepairPaxos`, `PaxosState`, the `system.paxos` table; the DataStax
//! note "How do I accomplish lightweight transactions with linearizable consistency?").
//!
//! A compare-and-set coordinated here takes four round trips to a quorum of the key's
//! replicas (`proposer`):
//! 1. *prepare/promise*: a fresh [`Ballot`]; a replica promises never to accept a lower one
//!    and answers with the proposal it accepted and the most recent commit it knows. A
//!    proposal accepted above every commit seen is *in progress*: the coordinator first
//!    re-proposes and commits it under its own ballot (a "repair") and starts again; replicas
//!    of the promise quorum that miss the most recent commit are sent it first;
//! 2. *read*: the key's current value from a quorum, to evaluate the condition; a condition
//!    that does not hold ends the operation (nothing proposed: [`crate::Failure::NotApplied`]);
//! 3. *propose/accept*: the new value under the ballot; a quorum must accept;
//! 4. *commit*: replicas write the value into their ordinary data as a cell whose version is
//!    the ballot, and record the commit.
//!
//! A prepare or propose that a higher promise refuses retries with a higher ballot after a
//! seeded random back-off below [`CONTENTION_BACKOFF_MAX`] (Cassandra sleeps a random 0-100 ms
//! in `beginAndRepairPaxos`), until the request's deadline.
//!
//! A SERIAL read (`Level::Serial` as read level) is steps 1 and 2 (Cassandra's
//! `StorageProxy.readWithPaxos`); a SERIAL write (`Level::Serial` as write level) and a SERIAL
//! `Add` run all four steps with a condition that always holds (the write skips the read).
//!
//! Outcomes: a failed condition is definite. Once an attempt has proposed the operation's value
//! and some replica may have accepted it, the operation never proposes it again (a later
//! prepare may complete that proposal, and the value may even have been applied and
//! overwritten since: proposing it again could apply it twice). Its next prepare either finds
//! that proposal in progress (and completes it: applied) or committed (applied), or else
//! answers `Timeout`. Proposals carry their origin ballot through repairs for this. (Cassandra
//! retries with a new proposal there and re-evaluates the condition; CASSANDRA-12126 is one of
//! the anomalies of that.) Running out of time after proposing is `Timeout`; before proposing anything of
//! its own, a write or compare-and-set answers `Unavailable` (nothing of it was written). Too
//! few live replicas for a quorum before sending anything is `Unavailable`.
//!
//! The acceptor's state (`acceptor`) lives in the node's [`crate::Storage`] under the
//! reserved key `"\u{1}paxos/<key>"`, written before the promise or acceptance is sent.

pub(crate) mod acceptor;
pub(crate) mod proposer;

use std::time::Duration;

use base::{Cell, Version};
use history::Value;
use serde::{Deserialize, Serialize};

/// Longest random back-off before a contended round retries (Cassandra's
/// `StorageProxy.beginAndRepairPaxos` sleeps `nextInt(100)` milliseconds).
pub const CONTENTION_BACKOFF_MAX: Duration = Duration::from_millis(100);

/// A Paxos ballot: Cassandra's timeuuid reduced to what orders it, the coordinator's clock in
/// microseconds and its node id (which makes ballots of different nodes distinct).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Ballot {
    /// Microseconds of the issuing node's clock (raised above every ballot it saw refused).
    pub micros: u64,
    /// The issuing node.
    pub node: u32,
}

impl Ballot {
    /// The version a value committed under this ballot is written with (Cassandra writes the
    /// commit's update with the ballot's timestamp).
    pub fn version(self) -> Version {
        Version::new(self.micros, self.node)
    }
}

/// A value proposed under a ballot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proposal {
    /// The ballot it is proposed (or was accepted, or committed) under.
    pub ballot: Ballot,
    /// The key's new value.
    pub value: Value,
    /// The ballot it was first proposed under: a repair re-proposes a value under a new
    /// ballot but keeps its origin, so the operation that first proposed it can recognise it.
    pub origin: Ballot,
}

impl Proposal {
    /// The cell a commit of this proposal writes.
    pub fn cell(&self) -> Cell {
        Cell::new(self.value.clone(), self.ballot.version())
    }
}

/// Paxos messages between a coordinator (proposer) and replicas (acceptors). Requests carry
/// the coordinator's request id `rid`, answers echo it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PaxosMessage {
    /// Phase 1a: promise not to accept ballots below `ballot`. Answered by `Promise` or
    /// `Rejected`.
    Prepare {
        /// Request id.
        rid: u64,
        /// The key (the Paxos instance).
        key: String,
        /// The ballot.
        ballot: Ballot,
    },
    /// Phase 1b: promised; what this replica accepted and last committed for the key.
    Promise {
        /// Request id of the prepare.
        rid: u64,
        /// The proposal accepted most recently, if any.
        accepted: Option<Proposal>,
        /// The most recent commit, if any.
        committed: Option<Proposal>,
    },
    /// Phase 2a: accept this proposal. Answered by `Accepted` or `Rejected`.
    Propose {
        /// Request id.
        rid: u64,
        /// The key.
        key: String,
        /// The proposal.
        proposal: Proposal,
    },
    /// Phase 2b: accepted (and durably recorded).
    Accepted {
        /// Request id of the proposal.
        rid: u64,
    },
    /// A prepare or proposal refused: the replica promised `promised`, which is higher.
    Rejected {
        /// Request id.
        rid: u64,
        /// The replica's promise.
        promised: Ballot,
    },
    /// Commit: write the proposal's value into the data and record the commit. Answered by
    /// `CommitAck`.
    Commit {
        /// Request id.
        rid: u64,
        /// The key.
        key: String,
        /// The chosen proposal.
        proposal: Proposal,
    },
    /// The commit is applied and recorded.
    CommitAck {
        /// Request id of the commit.
        rid: u64,
    },
    /// The quorum read of the key's data. Answered by `Value`.
    Read {
        /// Request id.
        rid: u64,
        /// The key.
        key: String,
    },
    /// The replica's cell for the key (`None`: absent).
    Value {
        /// Request id of the read.
        rid: u64,
        /// The cell.
        cell: Option<Cell>,
    },
    /// The replica's storage failed: whether it acted on the request is unknown.
    Failed {
        /// Request id.
        rid: u64,
    },
}

impl PaxosMessage {
    /// The request id the message carries.
    pub fn rid(&self) -> u64 {
        match self {
            PaxosMessage::Prepare { rid, .. }
            | PaxosMessage::Promise { rid, .. }
            | PaxosMessage::Propose { rid, .. }
            | PaxosMessage::Accepted { rid }
            | PaxosMessage::Rejected { rid, .. }
            | PaxosMessage::Commit { rid, .. }
            | PaxosMessage::CommitAck { rid }
            | PaxosMessage::Read { rid, .. }
            | PaxosMessage::Value { rid, .. }
            | PaxosMessage::Failed { rid } => *rid,
        }
    }

    /// Whether this is a request to a replica (as opposed to an answer to a coordinator).
    pub fn is_request(&self) -> bool {
        matches!(
            self,
            PaxosMessage::Prepare { .. }
                | PaxosMessage::Propose { .. }
                | PaxosMessage::Commit { .. }
                | PaxosMessage::Read { .. }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ballots_order_by_time_then_node() {
        let a = Ballot { micros: 5, node: 2 };
        let b = Ballot { micros: 5, node: 3 };
        let c = Ballot { micros: 6, node: 0 };
        assert!(a < b && b < c);
        assert_ne!(a, b, "same clock, different nodes: distinct ballots");
        assert!(a.version() < b.version() && b.version() < c.version(), "commit versions follow ballots");
    }

    #[test]
    fn messages_round_trip_through_json() {
        let ballot = Ballot { micros: 7, node: 1 };
        let proposal = Proposal { ballot, value: Value::Int(3), origin: ballot };
        for msg in [
            PaxosMessage::Prepare { rid: 1, key: "k".into(), ballot },
            PaxosMessage::Promise { rid: 1, accepted: Some(proposal.clone()), committed: None },
            PaxosMessage::Commit { rid: 2, key: "k".into(), proposal },
            PaxosMessage::Rejected { rid: 3, promised: ballot },
        ] {
            let json = serde_json::to_string(&msg).expect("encodes");
            assert_eq!(serde_json::from_str::<PaxosMessage>(&json).ok(), Some(msg));
        }
        assert!(serde_json::from_str::<PaxosMessage>("{\"prepare\":{\"rid\":1,\"key\":\"k\"}}").is_err());
    }
}
