//! A node's configuration: every mechanism of the store is a switch here, so an experiment can
//! turn it on and off and measure what it buys.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::level::{self, Access, Level};

/// Read repair after a read found replicas disagreeing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadRepair {
    /// No repair (Cassandra 4 `read_repair = NONE`).
    Off,
    /// Reply at once; send the winning cell to the stale replicas, also to those whose replies
    /// arrive after the reply (Riak-style).
    Async,
    /// Reply only after the stale replicas among the first R replies acknowledged the repair
    /// (Cassandra 4's default: "monotonic quorum reads").
    Blocking,
}

/// Hinted handoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Hints {
    /// No hints: a replica that misses a write stays stale until repair or anti-entropy.
    Off,
    /// Cassandra: the coordinator keeps hints for replicas that are down or did not
    /// acknowledge; hints never count toward W, except for level ANY.
    Strict,
    /// Dynamo: a write meant for a suspect replica goes to the next healthy fallback node,
    /// which keeps it as a hint and acknowledges, counting toward W.
    Sloppy,
}

/// Replica consistency protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Last-write-wins with coordinator clock timestamps; levels as requested.
    Lww,
    /// ABD: majority quorums; writers read the highest version first, readers write back what
    /// they return. Request levels are ignored; sloppy hints act as strict.
    Abd,
}

/// Which replicas a read contacts, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReadPath {
    /// Cassandra 4 (`AbstractReadExecutor`, `DigestResolver`, `DataResolver`): a read at a
    /// level needing R replicas contacts exactly R live replicas in snitch order, one *data*
    /// read and R-1 *digest* reads; a digest mismatch triggers a round of full data reads.
    Cassandra,
    /// Riak/Dynamo style: every live replica gets a full data read and the first R answers
    /// decide (the lab's behaviour before the Cassandra path existed).
    AllReplicas,
}

/// Speculative retry of a read whose answers are slow (Cassandra's per-table
/// `speculative_retry`, `AbstractReadExecutor.SpeculatingReadExecutor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpeculativeRetry {
    /// Never (Cassandra's `NONE`).
    Off,
    /// After this percentile (1..=100) of the coordinator's recent read latencies
    /// (Cassandra's `99p`, `99PERCENTILE`); no retry until a latency was observed.
    Percentile(u8),
    /// After a fixed delay (Cassandra's `50ms`).
    Fixed(Duration),
}

/// Everything a node needs to know to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeConfig {
    /// This node's id.
    pub id: u32,
    /// Every node of the cluster, this one included.
    pub nodes: Vec<u32>,
    /// Replicas per key (N).
    pub replication: usize,
    /// Ring tokens per node.
    pub vnodes: usize,
    /// Default read level.
    pub read: Level,
    /// Default write level.
    pub write: Level,
    /// Read repair policy.
    pub read_repair: ReadRepair,
    /// Hinted-handoff policy.
    pub hints: Hints,
    /// Anti-entropy period (`None`: off).
    pub anti_entropy: Option<Duration>,
    /// LWW or ABD.
    pub mode: Mode,
    /// How long a client request may take before it is answered `Timeout`.
    pub request_timeout: Duration,
    /// How often an undelivered hint is retried.
    pub hint_retry: Duration,
    /// How long a peer stays suspect after a missed reply or an unreachable notice (unless it
    /// sends something first).
    pub suspect_for: Duration,
    /// Consecutive replies a peer may miss (request deadlines passing without its answer)
    /// before it becomes suspect; an unreachable notice makes it suspect at once.
    pub suspect_after_misses: u32,
    /// Most hints kept at once; further hints are dropped and counted.
    pub max_hints: usize,
    /// Cassandra's `max_hint_window` (cassandra.yaml, default 3 h): a replica down (suspect,
    /// and silent since) for longer gets no new hints, and a pending hint stored longer ago is
    /// dropped and counted (`hints_expired`): such a replica needs anti-entropy repair.
    pub max_hint_window: Duration,
    /// Depth of the anti-entropy Merkle trees: `2^merkle_depth` leaves per token range
    /// (default [`crate::merkle::DEFAULT_DEPTH`], at most [`crate::merkle::MAX_DEPTH`]).
    pub merkle_depth: u8,
    /// Which replicas a read contacts (default [`ReadPath::Cassandra`]).
    pub read_path: ReadPath,
    /// Speculative retry of slow reads on the Cassandra path (default `Percentile(99)`,
    /// Cassandra's per-table default `speculative_retry = '99p'`).
    pub speculative_retry: SpeculativeRetry,
}

/// Cassandra's default `max_hint_window` (cassandra.yaml: `max_hint_window: 3h`, formerly
/// `max_hint_window_in_ms: 10800000`).
pub const DEFAULT_MAX_HINT_WINDOW: Duration = Duration::from_secs(3 * 3600);

/// Limits on what a node accepts.
pub const MAX_KEY_BYTES: usize = 1024;
/// Most client requests in flight at one coordinator; more are refused `Unavailable`.
pub const MAX_PENDING_OPS: usize = 4096;
/// Most cluster nodes.
pub const MAX_NODES: usize = 64;
/// Most virtual nodes per node.
pub const MAX_VNODES: usize = 1024;

impl NodeConfig {
    /// Node `id` of `nodes` with Cassandra-like defaults: N=3, QUORUM/QUORUM, 16 vnodes,
    /// blocking read repair, strict hints, anti-entropy off, LWW, 1 s timeout, hints retried
    /// every 500 ms and kept for 3 h, a peer suspect for 2 s after 2 missed replies, Merkle
    /// trees of 2^10 leaves per range, Cassandra's read path
    /// (one data read and digests to exactly the replicas the level needs) with speculative
    /// retry at the 99th percentile of recent read latency (Cassandra's table default).
    pub fn new(id: u32, nodes: Vec<u32>) -> Self {
        Self {
            id,
            replication: 3.min(nodes.len()),
            nodes,
            vnodes: 16,
            read: Level::Quorum,
            write: Level::Quorum,
            read_repair: ReadRepair::Blocking,
            hints: Hints::Strict,
            anti_entropy: None,
            mode: Mode::Lww,
            request_timeout: Duration::from_secs(1),
            hint_retry: Duration::from_millis(500),
            suspect_for: Duration::from_secs(2),
            suspect_after_misses: 2,
            max_hints: 100_000,
            max_hint_window: DEFAULT_MAX_HINT_WINDOW,
            merkle_depth: crate::merkle::DEFAULT_DEPTH,
            read_path: ReadPath::Cassandra,
            speculative_retry: SpeculativeRetry::Percentile(99),
        }
    }

    /// Checks the configuration makes sense.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut sorted = self.nodes.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != self.nodes.len() {
            return Err(ConfigError::Invalid(format!("duplicate node ids in {:?}", self.nodes)));
        }
        if self.nodes.is_empty() || self.nodes.len() > MAX_NODES {
            return Err(ConfigError::Invalid(format!("{} nodes (1..={MAX_NODES} allowed)", self.nodes.len())));
        }
        if !self.nodes.contains(&self.id) {
            return Err(ConfigError::Invalid(format!("node {} is not in {:?}", self.id, self.nodes)));
        }
        if self.replication == 0 || self.replication > self.nodes.len() {
            return Err(ConfigError::Invalid(format!(
                "replication factor {} with {} nodes",
                self.replication,
                self.nodes.len()
            )));
        }
        if self.vnodes == 0 || self.vnodes > MAX_VNODES {
            return Err(ConfigError::Invalid(format!("{} vnodes (1..={MAX_VNODES} allowed)", self.vnodes)));
        }
        level::validate(self.read, self.replication, Access::Read).map_err(ConfigError::Level)?;
        level::validate(self.write, self.replication, Access::Write).map_err(ConfigError::Level)?;
        let zero = Duration::ZERO;
        if self.request_timeout == zero
            || self.hint_retry == zero
            || self.anti_entropy == Some(zero)
            || self.suspect_after_misses == 0
            || self.max_hint_window == zero
        {
            return Err(ConfigError::Invalid("timeouts and periods must be positive".to_owned()));
        }
        if self.merkle_depth > crate::merkle::MAX_DEPTH {
            return Err(ConfigError::Invalid(format!(
                "merkle_depth {} (0..={} allowed)",
                self.merkle_depth,
                crate::merkle::MAX_DEPTH
            )));
        }
        match self.speculative_retry {
            SpeculativeRetry::Percentile(p) if p == 0 || p > 100 => {
                return Err(ConfigError::Invalid(format!("speculative retry at percentile {p} (1..=100 allowed)")));
            }
            SpeculativeRetry::Fixed(d) if d == zero => {
                return Err(ConfigError::Invalid("a fixed speculative retry delay must be positive".to_owned()));
            }
            _ => {}
        }
        Ok(())
    }
}

/// A configuration that cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A structural problem.
    #[error("invalid node configuration: {0}")]
    Invalid(String),
    /// A default level that can never work.
    #[error("invalid default level: {0}")]
    Level(level::LevelError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_mistakes_do_not() {
        let ok = NodeConfig::new(1, vec![0, 1, 2]);
        assert_eq!(ok.validate(), Ok(()));
        let mut bad = ok.clone();
        bad.id = 7;
        assert!(bad.validate().is_err());
        let mut bad = ok.clone();
        bad.replication = 4;
        assert!(bad.validate().is_err());
        let mut bad = ok.clone();
        bad.read = Level::Any;
        assert!(matches!(bad.validate(), Err(ConfigError::Level(_))));
        let mut bad = ok.clone();
        bad.nodes = vec![0, 1, 1];
        assert!(bad.validate().is_err());
        let mut bad = ok.clone();
        bad.speculative_retry = SpeculativeRetry::Percentile(0);
        assert!(bad.validate().is_err());
        let mut bad = ok.clone();
        bad.speculative_retry = SpeculativeRetry::Fixed(Duration::ZERO);
        assert!(bad.validate().is_err());
        let mut bad = ok.clone();
        bad.anti_entropy = Some(Duration::ZERO);
        assert!(bad.validate().is_err());
        let mut bad = ok.clone();
        bad.max_hint_window = Duration::ZERO;
        assert!(bad.validate().is_err());
        let mut bad = ok;
        bad.merkle_depth = 16;
        assert!(bad.validate().is_err());
    }
}
