//! `quorum-core`: the protocol core of the leaderless quorum-replicated store (Dynamo, Cassandra, Riak), as
//! sans-I/O state machines: a [`Node`] takes client requests, peer messages, ticks and
//! unreachable-peer notices, each with the current simulated time, and returns [`Effect`]s
//! (send to a peer, reply to a client). A thin adapter does the networking.
//!
//! Map of the crate:
//! - [`ring`]: consistent hashing with virtual nodes; preference lists and fallbacks.
//! - [`level`]: consistency levels and the N/R/W arithmetic.
//! - [`clock`]: a node's skewable clock; LWW timestamps.
//! - [`message`]: client [`Request`]/[`Response`], [`PeerMessage`], [`Effect`].
//! - [`config`]: [`NodeConfig`] and the policy switches ([`ReadRepair`], [`Hints`], [`Mode`]).
//! - [`storage`]: the [`Storage`] trait the node persists through, and [`MemStorage`].
//! - [`node`]: [`Node`], its inputs, failure detector and counters.
//! - [`plan`]: whom to contact (pure decisions over the detector's view); [`snitch`]: in
//!   which order reads prefer replicas (the coordinator, then observed latency).
//! - [`digest`]: the hash a replica answers to a Cassandra digest read.
//! - `coordinator`: a client operation as a sequence of rounds; `round`: quorum bookkeeping.
//! - `replica`: serving other nodes' reads, writes, repairs and hints.
//! - [`lww`], [`read_repair`], [`abd`]: the resolution and policy decisions, pure.
//! - [`hints`]: hinted handoff, persisted under reserved keys.
//! - [`paxos`]: lightweight transactions (compare-and-set, SERIAL reads and writes) by Paxos.
//! - [`merkle`]: Merkle trees over a token range.
//! - [`anti_entropy`]: Merkle-tree comparison per token range between replicas, and the
//!   convergence check [`anti_entropy::diverged_keys`].
//! - The adapter to the simulation is the `quorum` crate: `quorum::engine_storage` (the lsm
//!   engine as [`Storage`]), `quorum::server` (turmoil TCP around a node), `quorum::client` and
//!   `quorum::system` (`QuorumSystem`, the `sim::System` the harness drives). It re-exports
//!   this crate under the old paths (`quorum::Node`, `quorum::level::...`).
//!
//! Why a crate of its own: the core is sans-I/O and depends on `base` (the LWW [`Cell`]),
//! `history` and serde only, never on turmoil, tokio, the harness or the storage engine, so a
//! pure model (`pbs` drives these same nodes on its own message network) can use the real
//! protocol code without compiling a simulator.
//!
//! Disk failures: a replica whose storage refused a write (a full disk: [`StorageError::Refused`],
//! definite) or failed it (an I/O error: unknown) answers so, and never counts towards W; a
//! write every target refused is answered `Unavailable` ("... disk full") and leaves no hint;
//! one with any unknown target is a `Timeout`. A node whose engine a failed write or sync
//! poisoned restarts as if it had crashed (the adapter's business: `quorum::server`).
//!
//! Determinism: ordered maps everywhere, ids from one counter per node, time passed in, no
//! randomness. The same inputs in the same order give the same effects.
//!
//! Driving a node (the adapter's contract):
//! - at start-up and after every restart, `Node::new(config, storage, now)`: it recovers the
//!   hints the storage kept;
//! - a client frame: `on_request(now, conn, request)`; a peer frame: `on_peer(now, from, msg)`;
//!   every few milliseconds (or at `next_wakeup()`): `on_tick(now)`; a message that could not
//!   be delivered: `on_unreachable(now, to, msg)`;
//! - carry out every returned [`Effect`] in order: `Send` frames the message to the peer,
//!   `Reply` answers the client on `conn` (exactly one reply per request);
//! - [`Storage::put`] returning `Ok` is what the node acknowledges, so a `batch` commit log
//!   must sync before returning and a `periodic` one may not; `put` must merge by
//!   last-write-wins ([`Cell::supersedes`]), and keys starting with `\u{1}` (hints) must be
//!   stored like any other.
//!
//! Time is simulated time since the start of the run; LWW timestamps are that (plus the node's
//! clock offset) in microseconds.

pub mod abd;
pub mod anti_entropy;
pub mod clock;
pub mod config;
mod coordinator;
pub mod digest;
pub mod hints;
pub mod level;
pub mod lww;
pub mod merkle;
pub mod message;
pub mod node;
pub mod paxos;
pub mod plan;
pub mod read_repair;
mod replica;
pub mod ring;
mod round;
pub mod snitch;
pub mod storage;

pub use base::{Cell, Version};
pub use config::{ConfigError, Hints, Mode, NodeConfig, ReadPath, ReadRepair, SpeculativeRetry};
pub use level::Level;
pub use message::{Effect, Failure, Op, PeerMessage, Request, Response};
pub use node::{Node, NodeError, NodeStats};
pub use ring::Ring;
pub use storage::{MemStorage, Storage, StorageError};
