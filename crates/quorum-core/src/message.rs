//! Plain data that crosses the node boundary: client requests and responses, messages between
//! nodes, and the [`Effect`]s a node asks its adapter to carry out.
//!
//! Everything is serde data (the adapter frames it as JSON); nothing here holds behaviour.
//! Request/response pairs between nodes carry a request id (`rid`) chosen by the coordinator
//! from its counter, so a late or duplicated reply can be recognised and dropped.

use base::Cell;
use history::Value;
use serde::{Deserialize, Serialize};

use crate::level::Level;

/// A client request to any node (the node coordinates it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// Chosen by the client; echoed in the [`Response`].
    pub id: u64,
    /// What to do.
    pub op: Op,
    /// Read level for this request (default: the node's configured level).
    #[serde(default)]
    pub read: Option<Level>,
    /// Write level for this request (default: the node's configured level).
    #[serde(default)]
    pub write: Option<Level>,
}

/// A client operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Op {
    /// Read a key (`nil` when absent).
    Get {
        /// The key.
        key: String,
    },
    /// Write a key; the response carries the value written.
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: Value,
    },
    /// Add `element` to the set stored at `key` (a sorted list): a read at the read level,
    /// then a write of the grown list at the write level. Concurrent adds may lose each
    /// other under last-write-wins; that is the behaviour under test, not a bug.
    Add {
        /// The key.
        key: String,
        /// The element.
        element: Value,
    },
    /// Compare-and-set, a lightweight transaction through Paxos (see [`crate::paxos`]): set
    /// `key` to `new` if it holds `expected` (`nil`: absent). Answered `Ok([expected new])`
    /// when applied, [`Failure::NotApplied`] when the condition did not hold.
    Cas {
        /// The key.
        key: String,
        /// The value the key must hold.
        expected: Value,
        /// The value it then holds.
        new: Value,
    },
}

impl Op {
    /// The key the operation addresses.
    pub fn key(&self) -> &str {
        match self {
            Op::Get { key } | Op::Put { key, .. } | Op::Add { key, .. } | Op::Cas { key, .. } => key,
        }
    }
}

/// The answer to one [`Request`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// The request's id.
    pub id: u64,
    /// `Get`: the value read; `Put`: the value written; `Add`: the element added; `Cas`:
    /// `[expected new]` (the history's encoding of a cas).
    pub result: Result<Value, Failure>,
}

/// Why a request did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// Definite: not enough replicas were available, and nothing was written anywhere
    /// (Cassandra's `UnavailableException`, a read-modify-write whose read phase failed, or a
    /// write every replica's disk refused, e.g. `"... disk full"`).
    Unavailable(String),
    /// Indeterminate: the required replies did not arrive in time; a write may have reached
    /// some replicas (and may still become visible later).
    Timeout,
    /// Definite: the request cannot be served as asked (a level ANY for a read, a reserved or
    /// oversized key, an `Add` to a key that does not hold a set).
    Unsupported(String),
    /// Definite: a compare-and-set's condition did not hold and nothing was written
    /// (Cassandra's `[applied] = false`, with the value found).
    NotApplied {
        /// What the key held (`nil`: absent).
        current: Value,
    },
}

/// A message between nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum PeerMessage {
    /// Coordinator to replica: merge this cell. With `hint_for`, the receiver is a sloppy-quorum
    /// fallback and keeps the cell as a hint for that node instead. Answered by `WriteAck`.
    Write {
        /// Request id.
        rid: u64,
        /// The key.
        key: String,
        /// The cell.
        cell: Cell,
        /// The replica this write is meant for, when the receiver stands in for it.
        #[serde(default)]
        hint_for: Option<u32>,
    },
    /// Replica to coordinator: a `Write` or `Repair` was (`ok`) or was not stored (`!ok`:
    /// whether it may still be is unknown, e.g. after an I/O error).
    WriteAck {
        /// The request id of the write.
        rid: u64,
        /// Whether the cell is stored.
        ok: bool,
    },
    /// Replica to coordinator: a `Write` or `Repair` was certainly not stored, and will not
    /// be later (the replica's storage refused it before writing anything: a full disk).
    WriteRefused {
        /// The request id of the write.
        rid: u64,
        /// Why (`"disk full"`).
        reason: String,
    },
    /// Coordinator to replica: send your cell for `key`. Answered by `ReadReply`.
    Read {
        /// Request id.
        rid: u64,
        /// The key.
        key: String,
    },
    /// Replica to coordinator: the stored cell (`None`: absent); `ok` false when storage failed.
    ReadReply {
        /// The request id of the read.
        rid: u64,
        /// The replica's cell.
        cell: Option<Cell>,
        /// False when the replica could not read (then `cell` is `None` and means nothing).
        ok: bool,
    },
    /// Coordinator to replica: send only a digest of your cell for `key` (Cassandra's digest
    /// read, `ReadCommand.isDigestQuery`). Answered by `DigestReply`.
    DigestRead {
        /// Request id.
        rid: u64,
        /// The key.
        key: String,
    },
    /// Replica to coordinator: the digest of the stored cell ([`crate::digest::of`]);
    /// `ok` false when storage failed.
    DigestReply {
        /// The request id of the digest read.
        rid: u64,
        /// The digest of the replica's cell (or of its absence).
        digest: u64,
        /// False when the replica could not read (then `digest` means nothing).
        ok: bool,
    },
    /// Read repair: merge this newer cell. `rid` 0 asks for no acknowledgement (asynchronous
    /// repair); otherwise answered by `WriteAck`.
    Repair {
        /// Request id, or 0 for fire-and-forget.
        rid: u64,
        /// The key.
        key: String,
        /// The winning cell.
        cell: Cell,
    },
    /// Hinted handoff: the holder of a hint delivers it to its intended replica.
    Hint {
        /// Delivery id, echoed in `HintAck`.
        hid: u64,
        /// The key.
        key: String,
        /// The hinted cell.
        cell: Cell,
    },
    /// The intended replica stored (`ok`) a delivered hint.
    HintAck {
        /// The delivery id.
        hid: u64,
        /// Whether the cell is stored.
        ok: bool,
    },
    /// Anti-entropy: Merkle-tree nodes of token ranges both nodes replicate (the roots to
    /// start a comparison, then the children of the nodes that differed). The receiver
    /// compares each with its own tree and answers with the children of those that differ, or
    /// with `Cells` for the leaves that differ (see [`crate::anti_entropy`]).
    Tree {
        /// The round of the node that started the comparison (for tracing).
        round: u64,
        /// The sender's tree nodes (at most [`crate::anti_entropy::MAX_HASHES`]).
        nodes: Vec<TreeNode>,
    },
    /// Anti-entropy: the sender's cells in Merkle leaves that differed. With `reply`, the
    /// receiver merges them and answers with its own cells in those leaves that the sender
    /// lacks or holds older.
    Cells {
        /// The round of the comparison.
        round: u64,
        /// The leaves that differed.
        leaves: Vec<LeafId>,
        /// The sender's cells in those leaves (at most [`crate::anti_entropy::MAX_CELLS`]).
        cells: Vec<(String, Cell)>,
        /// Whether the receiver should send back what the sender is missing.
        reply: bool,
    },
    /// A lightweight transaction's Paxos message (see [`crate::paxos`]).
    Paxos(crate::paxos::PaxosMessage),
}

impl PeerMessage {
    /// A short name of the message kind, for counters.
    pub fn kind(&self) -> &'static str {
        match self {
            PeerMessage::Write { .. } => "write",
            PeerMessage::WriteAck { .. } => "write_ack",
            PeerMessage::WriteRefused { .. } => "write_refused",
            PeerMessage::Read { .. } => "read",
            PeerMessage::ReadReply { .. } => "read_reply",
            PeerMessage::DigestRead { .. } => "digest_read",
            PeerMessage::DigestReply { .. } => "digest_reply",
            PeerMessage::Repair { .. } => "repair",
            PeerMessage::Hint { .. } => "hint",
            PeerMessage::HintAck { .. } => "hint_ack",
            PeerMessage::Tree { .. } => "tree",
            PeerMessage::Cells { .. } => "cells",
            PeerMessage::Paxos(_) => "paxos",
        }
    }
}

/// One node of the Merkle tree of a token range ([`crate::merkle`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeNode {
    /// The range's end token ([`crate::ring::TokenRange::end`]).
    pub range: u64,
    /// The level (0: the root).
    pub level: u8,
    /// The index within the level.
    pub index: u32,
    /// The sender's hash of that node.
    pub hash: u64,
}

/// One leaf of the Merkle tree of a token range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeafId {
    /// The range's end token.
    pub range: u64,
    /// The leaf's index.
    pub leaf: u32,
}

/// What a node asks its adapter to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send `msg` to node `to` (never the node itself). If it cannot be delivered, the adapter
    /// should hand it back through `Node::on_unreachable`.
    Send {
        /// The destination node.
        to: u32,
        /// The message.
        msg: PeerMessage,
    },
    /// Answer the client on connection `conn`.
    Reply {
        /// The connection the request came on.
        conn: u64,
        /// The answer.
        response: Response,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use base::Version;

    #[test]
    fn messages_round_trip_through_json() {
        let cell = Cell::new(Value::List(vec![Value::Int(1), Value::Str("x".into())]), Version::new(7, 2));
        let messages = vec![
            PeerMessage::Write { rid: 1, key: "k".into(), cell: cell.clone(), hint_for: Some(3) },
            PeerMessage::ReadReply { rid: 2, cell: None, ok: true },
            PeerMessage::WriteRefused { rid: 3, reason: "disk full".into() },
            PeerMessage::ReadReply { rid: 2, cell: Some(Cell::new(Value::Nil, Version::new(1, 1))), ok: true },
            PeerMessage::Cells {
                round: 1,
                leaves: vec![LeafId { range: 9, leaf: 3 }],
                cells: vec![("k".into(), cell)],
                reply: true,
            },
            PeerMessage::Tree { round: 2, nodes: vec![TreeNode { range: 9, level: 0, index: 0, hash: u64::MAX }] },
        ];
        for msg in messages {
            let json = serde_json::to_string(&msg).expect("encodes");
            let back: PeerMessage = serde_json::from_str(&json).expect("decodes");
            assert_eq!(back, msg, "{json}");
        }
        let request = Request {
            id: 9,
            op: Op::Add { key: "s".into(), element: Value::Int(4) },
            read: None,
            write: Some(Level::All),
        };
        let json = serde_json::to_string(&request).expect("encodes");
        assert_eq!(serde_json::from_str::<Request>(&json).ok(), Some(request));
        let response = Response { id: 9, result: Err(Failure::Unavailable("x".into())) };
        let json = serde_json::to_string(&response).expect("encodes");
        assert_eq!(serde_json::from_str::<Response>(&json).ok(), Some(response));
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        for bad in [
            "",
            "{}",
            "{\"write\":{}}",
            "{\"tree\":{\"round\":1,\"nodes\":[1.5]}}",
            "{\"tree\":{\"round\":1,\"nodes\":[{\"range\":1,\"level\":300,\"index\":0,\"hash\":0}]}}",
            "{\"cells\":{\"round\":1,\"leaves\":[{\"range\":1}],\"cells\":[],\"reply\":true}}",
            "[1,2]",
            "{\"read\":{\"rid\":1,\"key\":\"k\",\"extra\":1}}",
        ] {
            assert!(serde_json::from_str::<PeerMessage>(bad).is_err(), "{bad}");
        }
        assert!(serde_json::from_str::<Request>("{\"id\":1,\"op\":{\"get\":{}}}").is_err());
    }
}
