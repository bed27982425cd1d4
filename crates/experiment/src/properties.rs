//! Typed evidence: what a system is, as properties every record carries, so that claims
//! select systems by what they are ("every last-write-wins system with R + W > N") and never
//! by their names or by parsing a description.
//!
//! Each store ([`crate::store`]) states its own properties; the fields that do not apply to a
//! store are `None` (an unreplicated server has no quorums).

use serde::{Deserialize, Serialize};

/// The properties of one configured system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Properties {
    /// The store's kind, as experiment files name it (`sqlite`, `quorum`).
    pub store: String,
    /// Server hosts.
    pub servers: usize,
    /// Copies of each key (1 when unreplicated).
    pub replicas: usize,
    /// Leaderless quorums, when the store has them.
    pub quorums: Option<Quorums>,
    /// How concurrent writes to a key are ordered.
    pub ordering: Ordering,
    /// When a write is on disk relative to its acknowledgement.
    pub durability: Durability,
    /// SQLite's journal and `synchronous`, when the store is SQLite.
    pub sqlite: Option<SqliteSettings>,
    /// How a leader-based store replicates (absent for stores without a leader, and in
    /// records written before there was one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<Replication>,
}

/// How a leader-based store (SQLite on Raft) replicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replication {
    /// When a write is acknowledged.
    pub ack: Ack,
    /// Whether reads may be served by followers (possibly stale).
    pub follower_reads: bool,
    /// Independent groups behind a hash router.
    pub shards: usize,
}

/// When a leader acknowledges a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ack {
    /// Once a majority of the group has it (committed).
    Majority,
    /// Once the leader alone has it: asynchronous replication.
    Async,
}

/// N, R and W of a leaderless store, with how it repairs replicas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quorums {
    /// Replicas per key (N).
    pub n: usize,
    /// Replies a read waits for (R).
    pub r: usize,
    /// Acknowledgements a write waits for (W).
    pub w: usize,
    /// The read level by name, as tables show it (`one`, `quorum`, `all`, `r2` for a count).
    pub read_level: String,
    /// The write level by name (`one`, `quorum`, `all`, `any`, `w2` for a count).
    pub write_level: String,
    /// Whether a read's quorum answer is written back to the quorum before it returns
    /// (ABD's write-back, or blocking read repair).
    pub read_writes_back: bool,
    /// Whether a write may be acknowledged by nodes outside the key's replicas (sloppy
    /// quorums with hinted handoff).
    pub sloppy: bool,
    /// Whether background anti-entropy repairs replicas.
    pub anti_entropy: bool,
}

impl Quorums {
    /// Whether every read quorum meets every write quorum (R + W > N).
    pub fn overlapping(&self) -> bool {
        self.r + self.w > self.n
    }
}

/// How concurrent writes to one key are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ordering {
    /// One server serializes every write (SQLite's single writer).
    SingleWriter,
    /// The write with the latest wall-clock timestamp wins (Cassandra, Dynamo's LWW): depends
    /// on clocks.
    LastWriteWins,
    /// Logical timestamps from a read phase (ABD): no clock involved.
    LogicalTimestamps,
}

impl Ordering {
    /// Whether the order of writes depends on the servers' clocks.
    pub fn depends_on_clocks(self) -> bool {
        self == Ordering::LastWriteWins
    }
}

/// When a write reaches the disk relative to its acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Durability {
    /// Synced before it is acknowledged (commit log `batch`, SQLite `synchronous=full`).
    SyncedBeforeAck,
    /// Acknowledged after a sync that covers a window of writes (commit log `group`).
    GroupSyncedBeforeAck,
    /// Acknowledged first and synced later, periodically or at checkpoints (commit log
    /// `periodic`, SQLite `synchronous=normal`).
    SyncedAfterAck,
    /// Never synced by the store (SQLite `synchronous=off`): only the OS writes it back.
    NeverSynced,
}

impl Durability {
    /// Whether every acknowledged write was on disk when it was acknowledged.
    pub fn synced_before_ack(self) -> bool {
        matches!(self, Durability::SyncedBeforeAck | Durability::GroupSyncedBeforeAck)
    }
}

/// SQLite's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqliteSettings {
    /// `wal` or `delete`.
    pub journal: SqliteJournal,
    /// `off`, `normal` or `full`.
    pub synchronous: SqliteSynchronous,
    /// Database connections serving clients (absent in records written before there could be
    /// several: 1).
    #[serde(default = "one")]
    pub connections: usize,
    /// How a transaction begins (absent in older records: `immediate`, the one mode then).
    #[serde(default)]
    pub begin: SqliteBegin,
    /// Whether a multi-key operation (a transfer, a list-append transaction) runs as one
    /// transaction (`true`, and in older records) or step by step, one single-key request at
    /// a time, as the quorum store runs it (`false`: the non-transactional equivalent).
    #[serde(default = "yes")]
    pub transactions: bool,
}

fn one() -> usize {
    1
}

fn yes() -> bool {
    true
}

/// How a SQLite transaction begins (`BEGIN DEFERRED | IMMEDIATE | EXCLUSIVE`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SqliteBegin {
    /// Locks are taken as statements need them: a shared lock at the first read, the write
    /// lock at the first write.
    Deferred,
    /// The write lock at `BEGIN`.
    #[default]
    Immediate,
    /// The exclusive lock at `BEGIN` (readers too are shut out in rollback-journal mode).
    Exclusive,
}

impl SqliteBegin {
    /// The mode's name, as files and tables write it.
    pub fn name(self) -> &'static str {
        match self {
            SqliteBegin::Deferred => "deferred",
            SqliteBegin::Immediate => "immediate",
            SqliteBegin::Exclusive => "exclusive",
        }
    }
}

/// SQLite's journal mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SqliteJournal {
    /// Write-ahead log.
    Wal,
    /// Rollback journal.
    Delete,
}

/// SQLite's `synchronous`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SqliteSynchronous {
    /// Never sync.
    Off,
    /// Sync at checkpoints.
    Normal,
    /// Sync at every commit.
    Full,
}

impl SqliteSynchronous {
    /// When a commit reaches the disk at this setting: FULL syncs before the acknowledgement,
    /// NORMAL (in WAL mode) at checkpoints after it, OFF never.
    pub fn durability(self) -> Durability {
        match self {
            SqliteSynchronous::Full => Durability::SyncedBeforeAck,
            SqliteSynchronous::Normal => Durability::SyncedAfterAck,
            SqliteSynchronous::Off => Durability::NeverSynced,
        }
    }
}
