//! The leaderless quorum-replicated store (Dynamo, Cassandra, Riak) as a system under test:
//! the turmoil adapter around the sans-I/O protocol core of `quorum-core`.
//!
//! Map of the crate:
//! - The protocol core, re-exported from `quorum_core` under its old paths: [`ring`],
//!   [`level`], [`clock`], [`message`], [`config`], [`storage`], [`node`] ([`Node`]), [`plan`],
//!   [`lww`], [`read_repair`], [`abd`], [`hints`], [`anti_entropy`]. See that crate for the
//!   protocol, the node's inputs and effects, and how to drive a node.
//! - The adapter to the simulation: [`engine_storage`] (the lsm engine as [`Storage`], with
//!   Cassandra's commit log sync policies), [`server`] (turmoil TCP around a node: the only
//!   server file that touches sockets), [`client`] (clients with failover) and [`system`]
//!   ([`system::QuorumSystem`], the `sim::System` the harness drives).
//!
//! Why two crates: the core depends on neither turmoil nor tokio nor the storage engine, so the
//! pure models (`pbs`) use the real protocol code without compiling a simulator; this crate
//! does the I/O (sockets, the engine on turmoil's simulated disk, the clock).
//!
//! Disk failures: a replica whose storage refused a write (a full disk: [`StorageError::Refused`],
//! definite) or failed it (an I/O error: unknown) answers so, and never counts towards W; a
//! write every target refused is answered `Unavailable` ("... disk full") and leaves no hint;
//! one with any unknown target is a `Timeout`. A node whose engine a failed write or sync
//! poisoned restarts as if it had crashed, and a start that fails is retried
//! ([`server`], [`server::Restarts`]); [`engine_storage`] maps the engine's errors.
//!
//! Time is simulated time since the start of the run; LWW timestamps are that (plus the node's
//! clock offset) in microseconds.

pub mod client;
pub mod engine_storage;
pub mod server;
pub mod system;

pub use quorum_core::{
    abd, anti_entropy, clock, config, hints, level, lww, message, node, plan, read_repair, ring, storage,
};
pub use quorum_core::{Cell, Version};
pub use quorum_core::{ConfigError, Hints, Mode, NodeConfig, ReadPath, ReadRepair, SpeculativeRetry};
pub use quorum_core::{Effect, Failure, Op, PeerMessage, Request, Response};
pub use quorum_core::{Level, Ring};
pub use quorum_core::{MemStorage, Storage, StorageError};
pub use quorum_core::{Node, NodeError, NodeStats};
pub use system::{ClusterConfig, QuorumSystem};
