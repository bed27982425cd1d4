//! `raftsql`: SQLite replicated by Raft, rqlite-style, for issue 19 (the lab's "SQL store on a
//! real consensus library" arm, compared against the quorum-replicated NoSQL store).
//!
//! Map of the crate:
//! - [`config`]: [`RaftConfig`]: nodes and shards, acknowledgement ([`AckMode`]) and read
//!   ([`ReadMode`]) modes, Raft's timing (etcd's defaults), the disk model.
//! - [`log_store`]: [`LogStore`], raft-rs's `Storage` over files on an [`lsm::FileSystem`]
//!   (`lsm::RealFs` in tests, `sim::fs::SimFs` under turmoil): checksummed entry records,
//!   an atomically replaced hard-state file, an explicit [`LogStore::sync`], and recovery that
//!   keeps only what was synced and stops at the first torn or corrupt record.
//! - [`node`]: [`RaftNode`], a sans-I/O wrapper over `raft::RawNode<LogStore>`: the caller
//!   ticks it, steps messages into it and calls [`RaftNode::drive`], which runs raft-rs's Ready
//!   protocol and returns an [`Output`] (messages to send now, messages to send only after the
//!   sync it performed, committed entries to apply, ReadIndex answers, and entries the log
//!   dropped when a new leader overwrote them).
//! - [`command`]: what an entry carries (the SQL store's wire operation).
//! - [`state_machine`]: [`StateMachine`], each node's in-memory SQLite database applying the
//!   log with the SQL store's own statements (rqlite-style), rebuilt from the log on start.
//! - [`wire`]: the client protocol (requests, results, redirects) and peer frames.
//! - [`server`]: one node's start-up future under turmoil (ticker, peer and client listeners,
//!   the driver that charges the log's sync on the disk model and answers clients).
//! - [`client`]: [`RaftClient`], routing by key to a shard and following redirects to the
//!   leader; operations spanning shards are refused (no two-phase commit).
//! - [`system`]: [`RaftSystem`], the `sim::System` the harness drives, with its leader log
//!   ([`sim::LeaderLog`]) for the failover figures.
//!
//! Why raft-rs (`raft` 0.7) and not openraft (facts, citations and measurements in `crates/raftsql/SPIKE.md`, the spike that chose it):
//! - it builds here without `protoc` with `default-features = false, features =
//!   ["protobuf-codec"]` (the prost codec needs `protoc`);
//! - it is sans-I/O: every tick, message, disk sync and apply is a call made by our code, so a
//!   run is a function of the seed and failover and rollback are observable entry by entry;
//! - its one source of randomness, the election-timeout draw from `thread_rng`, can be
//!   overridden after each call (see [`node`]); it reads no clock (time is `tick()` calls).
//!
//! openraft owns its tasks and timers, replicates with an unbiased `tokio::select!`, and would
//! need a custom async runtime to be proven deterministic.
//!
//! Version pin: `raft = "=0.7.0"` exactly, because the override uses
//! `Raft::set_randomized_election_timeout`, which is `#[doc(hidden)]` ("for testing") and may
//! change without a semver bump. The determinism test in `tests/` would catch a moved draw.
//!
//! What it leaves out: snapshots and log compaction (the log grows without bound, [`LogStore`]
//! refuses snapshot requests, and a restarted node re-applies its whole log), membership
//! changes (the voter set is fixed when a store is first initialised), leases (leader reads
//! use ReadIndex) and two-phase commit across shards. The capacity model (CPU per frame and per
//! applied entry, send CPU, NIC, disk, admission) is charged as the other stores charge it: see
//! [`server`].

pub mod client;
pub mod command;
pub mod config;
pub mod log_store;
pub mod node;
pub mod server;
pub mod state_machine;
pub mod system;
pub mod wire;

pub use client::RaftClient;
pub use config::{AckMode, ConfigError, RaftConfig, ReadMode, MAX_NODES, MAX_SHARDS};
pub use log_store::{DroppedEntry, LogError, LogStore, Recovery};
pub use node::{CommittedEntry, NodeConfig, NodeError, Output, RaftNode};
pub use state_machine::StateMachine;
pub use system::RaftSystem;

/// raft-rs's protobuf types ([`raft::eraftpb::Message`] and friends), re-exported so callers
/// need not depend on `raft` to encode messages.
pub use raft::eraftpb;
