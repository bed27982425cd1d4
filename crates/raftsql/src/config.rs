//! [`RaftConfig`]: what a replicated SQLite store is (how many nodes and shards, when a write
//! is acknowledged, where reads go, Raft's timing) and what its servers' work costs.

use std::time::Duration;

use base::capacity::{Admission, CpuCost, Network};
use base::disk_cost::DiskCost;
use history::Value;

use crate::node::NodeConfig;

/// The most nodes in one Raft group.
pub const MAX_NODES: usize = 9;

/// The most shards (independent Raft groups) a store may have.
pub const MAX_SHARDS: usize = 16;

/// When a leader acknowledges a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AckMode {
    /// After the entry is committed (on a majority's disks) and applied: Raft as specified,
    /// rqlite, MongoDB `w: "majority"`.
    #[default]
    Majority,
    /// After the leader appended the entry to its own log (synced) and applied it to its own
    /// database, before any follower has it: asynchronous primary/replica replication, MongoDB
    /// `w: 1`. A new leader that lacks the entry rolls it back on the old one.
    Async,
}

/// Where reads are served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ReadMode {
    /// By the leader, after a ReadIndex round confirms it still leads and its database has
    /// applied everything committed before the read arrived: linearizable, no clock involved.
    #[default]
    Leader,
    /// By whichever node the client reaches, from its own database: may be stale.
    Follower,
}

/// A replicated SQLite store: `shards` Raft groups of `nodes` nodes each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaftConfig {
    /// Nodes per Raft group (1 to [`MAX_NODES`]).
    pub nodes: usize,
    /// Raft groups behind the client's hash router (1 to [`MAX_SHARDS`]).
    pub shards: usize,
    /// When writes are acknowledged.
    pub ack: AckMode,
    /// Where reads are served.
    pub read: ReadMode,
    /// The period of Raft's logical clock (one `tick`).
    pub tick: Duration,
    /// Election and heartbeat timing, in ticks, and Raft's options.
    pub node: NodeConfig,
    /// What a sync of the Raft log costs.
    pub disk: DiskCost,
    /// What each incoming frame costs in CPU time.
    pub cpu: CpuCost,
    /// What sending costs, and the NIC.
    pub network: Network,
    /// When a node refuses client requests.
    pub admission: Admission,
    /// Key/value pairs every node's database holds from the start (a workload's initial state).
    pub initial: Vec<(Value, Value)>,
    /// Seeds the nodes' election timeouts (with each node's id) and the disk cost draws.
    pub seed: u64,
}

/// The default tick: etcd's default heartbeat interval.
pub const DEFAULT_TICK: Duration = Duration::from_millis(100);

impl Default for RaftConfig {
    /// Three nodes, one shard, majority acknowledgement, leader reads; etcd's default timing
    /// (100 ms heartbeat, 1 s election timeout: tick 100 ms, heartbeat 1 tick, election 10
    /// ticks), check-quorum and pre-vote on; the measured disk; free CPU and network.
    fn default() -> Self {
        RaftConfig {
            nodes: 3,
            shards: 1,
            ack: AckMode::Majority,
            read: ReadMode::Leader,
            tick: DEFAULT_TICK,
            node: NodeConfig { election_ticks: 10, heartbeat_ticks: 1, check_quorum: true, pre_vote: true },
            disk: DiskCost::default(),
            cpu: CpuCost::FREE,
            network: Network::FREE,
            admission: Admission::UNBOUNDED,
            initial: Vec::new(),
            seed: 0,
        }
    }
}

/// A configuration the store cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `nodes` out of range.
    #[error("nodes is {0}: a Raft group has 1 to {MAX_NODES} nodes")]
    Nodes(usize),
    /// `shards` out of range.
    #[error("shards is {0}: a store has 1 to {MAX_SHARDS} shards")]
    Shards(usize),
    /// A zero tick.
    #[error("the tick must be longer than zero")]
    Tick,
    /// Heartbeat not shorter than the election timeout, or a zero timing.
    #[error("heartbeat is {heartbeat} ticks and election {election}: it needs 1 <= heartbeat < election")]
    Timing {
        /// Heartbeat ticks.
        heartbeat: usize,
        /// Election ticks.
        election: usize,
    },
}

impl RaftConfig {
    /// Checks the ranges; see [`ConfigError`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.nodes == 0 || self.nodes > MAX_NODES {
            return Err(ConfigError::Nodes(self.nodes));
        }
        if self.shards == 0 || self.shards > MAX_SHARDS {
            return Err(ConfigError::Shards(self.shards));
        }
        if self.tick.is_zero() {
            return Err(ConfigError::Tick);
        }
        let (heartbeat, election) = (self.node.heartbeat_ticks, self.node.election_ticks);
        if heartbeat == 0 || heartbeat >= election {
            return Err(ConfigError::Timing { heartbeat, election });
        }
        Ok(())
    }

    /// The election timeout's lower bound in simulated time (timeouts are drawn from
    /// `[this, 2 x this)`).
    pub fn election_timeout(&self) -> Duration {
        self.tick.saturating_mul(u32::try_from(self.node.election_ticks).unwrap_or(u32::MAX))
    }

    /// The server host names: `n1..nN` for one shard (the names the quorum store's nodes have,
    /// so the same fault files apply), `s{shard}n{i}` (both from 1) for several.
    pub fn hosts(&self) -> Vec<String> {
        (1..=self.shards).flat_map(|s| (1..=self.nodes).map(move |i| self.host(s, i))).collect()
    }

    /// The host of node `i` (from 1) of shard `s` (from 1).
    pub fn host(&self, s: usize, i: usize) -> String {
        if self.shards == 1 {
            format!("n{i}")
        } else {
            format!("s{s}n{i}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_valid_and_has_etcds_timing() {
        let c = RaftConfig::default();
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.election_timeout(), Duration::from_secs(1));
        assert_eq!(c.hosts(), ["n1", "n2", "n3"]);
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let bad = |f: fn(&mut RaftConfig)| {
            let mut c = RaftConfig::default();
            f(&mut c);
            c.validate().err()
        };
        assert_eq!(bad(|c| c.nodes = 0), Some(ConfigError::Nodes(0)));
        assert_eq!(bad(|c| c.nodes = 10), Some(ConfigError::Nodes(10)));
        assert_eq!(bad(|c| c.shards = 17), Some(ConfigError::Shards(17)));
        assert_eq!(bad(|c| c.tick = Duration::ZERO), Some(ConfigError::Tick));
        assert_eq!(bad(|c| c.node.heartbeat_ticks = 10), Some(ConfigError::Timing { heartbeat: 10, election: 10 }));
    }

    #[test]
    fn sharded_hosts_name_their_shard() {
        let c = RaftConfig { shards: 2, nodes: 3, ..RaftConfig::default() };
        assert_eq!(c.hosts(), ["s1n1", "s1n2", "s1n3", "s2n1", "s2n2", "s2n3"]);
    }
}
