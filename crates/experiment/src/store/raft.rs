//! `kind = "sqlite-raft"`: SQLite replicated by Raft (raft-rs), rqlite-style: each node's
//! SQLite database applies the committed log, the log is synced on every node's simulated
//! disk, and clients find the leader. Hosts `n1`..`nN` (one shard) or `s1n1`.. (several).
//!
//! ```toml
//! [[system]]
//! name = "sqlite-raft-majority"
//! kind = "sqlite-raft"
//! nodes = 3                # nodes per Raft group, 1 to 9 (default 3)
//! shards = 1               # Raft groups behind the clients' hash router, 1 to 16 (default 1);
//!                          # an operation whose keys lie on several shards is refused, a
//!                          # definite fail (no two-phase commit)
//! ack = "majority"         # "majority": acknowledged once committed by a majority (Raft,
//!                          # MongoDB w:majority); "async": once the leader has it in its own
//!                          # synced log and database (asynchronous primary/replica, MongoDB
//!                          # w:1) (default majority)
//! read = "leader"          # "leader": ReadIndex on the leader, linearizable; "follower": any
//!                          # node's own database, possibly stale (default leader)
//! tick = "100ms"           # Raft's logical clock (default 100ms, etcd's heartbeat interval)
//! election_ticks = 10      # election timeout in ticks, drawn from [e, 2e) (default 10: 1 s)
//! heartbeat_ticks = 1      # leader heartbeat in ticks, below election_ticks (default 1)
//! disk = "measured"        # every node's disk profile (see `store::disk`; default measured)
//! ```

use std::time::Duration;

use raftsql::{AckMode, RaftConfig, RaftSystem, ReadMode, MAX_NODES, MAX_SHARDS};
use serde::Deserialize;
use sim::{SimConfig, SimError};
use toml::Spanned;

use super::disk::{self, RawDisk};
use super::{Configured, Ran, Replicas, Store};
use crate::properties::{Durability, Ordering, Properties, Replication};
use crate::source::{fields_of, Checked, Section, Source};
use crate::value::seconds;

/// The Raft-replicated SQLite store.
#[derive(Debug, Clone, Copy)]
pub struct SqliteRaft;

/// The `[[system]]` table, field for field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRaft {
    nodes: Option<Spanned<u64>>,
    shards: Option<Spanned<u64>>,
    ack: Option<RawAck>,
    read: Option<RawRead>,
    tick: Option<Spanned<String>>,
    election_ticks: Option<Spanned<u64>>,
    heartbeat_ticks: Option<Spanned<u64>>,
    disk: Option<Spanned<RawDisk>>,
}

/// `ack = "majority" | "async"`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RawAck {
    Majority,
    Async,
}

/// `read = "leader" | "follower"`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RawRead {
    Leader,
    Follower,
}

/// The longest tick (a Raft clock slower than this is a configuration mistake).
const MAX_TICK: Duration = Duration::from_secs(10);

/// The most ticks in an election timeout.
const MAX_ELECTION_TICKS: u64 = 1_000;

impl Store for SqliteRaft {
    fn kind(&self) -> &'static str {
        "sqlite-raft"
    }

    fn about(&self) -> &'static str {
        "SQLite replicated by Raft (raft-rs), rqlite-style; hosts n1..nN, or s1n1.. with shards"
    }

    fn keys(&self) -> &'static [&'static str] {
        fields_of::<RawRaft>()
    }

    fn parse(&self, table: Section<'_>) -> Checked<Box<dyn Configured>> {
        let source = table.source();
        let span = table.span();
        let raw: RawRaft = table.finish()?;
        let config = config(source, &raw)?;
        if config.node.heartbeat_ticks >= config.node.election_ticks {
            let at = raw.heartbeat_ticks.as_ref().map_or(span, Spanned::span);
            return source.fail(
                at,
                format!(
                    "heartbeat_ticks = {} must be below election_ticks = {}",
                    config.node.heartbeat_ticks, config.node.election_ticks
                ),
            );
        }
        Ok(Box::new(RaftSqlSystem { config, disk: disk::label(raw.disk.as_ref()) }))
    }
}

/// The store's configuration from its table, each value checked where it was written.
fn config(source: Source<'_>, raw: &RawRaft) -> Checked<RaftConfig> {
    let mut config = RaftConfig::default();
    let count = |value: &Option<Spanned<u64>>, what: &str, max: usize, default: usize| -> Checked<usize> {
        match value {
            Some(v) => Ok(usize::try_from(source.count(v, what, max as u64)?).unwrap_or(usize::MAX)),
            None => Ok(default),
        }
    };
    config.nodes = count(&raw.nodes, "nodes", MAX_NODES, config.nodes)?;
    config.shards = count(&raw.shards, "shards", MAX_SHARDS, config.shards)?;
    config.ack = match raw.ack {
        Some(RawAck::Async) => AckMode::Async,
        Some(RawAck::Majority) | None => AckMode::Majority,
    };
    config.read = match raw.read {
        Some(RawRead::Follower) => ReadMode::Follower,
        Some(RawRead::Leader) | None => ReadMode::Leader,
    };
    if let Some(tick) = &raw.tick {
        config.tick = source.duration_at_most(tick, "tick", MAX_TICK)?;
    }
    let max = usize::try_from(MAX_ELECTION_TICKS).unwrap_or(usize::MAX);
    config.node.election_ticks = count(&raw.election_ticks, "election_ticks", max, config.node.election_ticks)?;
    config.node.heartbeat_ticks = count(&raw.heartbeat_ticks, "heartbeat_ticks", max, config.node.heartbeat_ticks)?;
    config.disk = disk::resolve(source, raw.disk.as_ref())?;
    Ok(config)
}

/// A configured Raft-replicated SQLite system.
#[derive(Debug, Clone)]
pub struct RaftSqlSystem {
    /// The store's configuration (its seed is the run's).
    pub config: RaftConfig,
    /// The disk profile when not the default (for descriptions).
    pub disk: Option<String>,
}

impl Configured for RaftSqlSystem {
    fn servers(&self) -> Vec<String> {
        self.config.hosts()
    }

    fn describe(&self) -> String {
        let c = &self.config;
        let ack = match c.ack {
            AckMode::Majority => "majority",
            AckMode::Async => "async",
        };
        let read = match c.read {
            ReadMode::Leader => "leader (ReadIndex)",
            ReadMode::Follower => "any node (follower reads)",
        };
        let mut text = format!("sqlite on raft: {} nodes, ack {ack}, reads at {read}", c.nodes);
        if c.shards > 1 {
            text.push_str(&format!(", {} shards", c.shards));
        }
        text.push_str(&format!(", election timeout {}", seconds(c.election_timeout())));
        if let Some(disk) = &self.disk {
            text.push_str(&format!(", disk {disk}"));
        }
        text
    }

    fn properties(&self) -> Properties {
        let c = &self.config;
        Properties {
            store: SqliteRaft.kind().to_owned(),
            servers: c.nodes * c.shards,
            replicas: c.nodes,
            quorums: None,
            ordering: Ordering::SingleWriter,
            durability: Durability::SyncedBeforeAck,
            sqlite: None,
            replication: Some(Replication {
                ack: match c.ack {
                    AckMode::Majority => crate::properties::Ack::Majority,
                    AckMode::Async => crate::properties::Ack::Async,
                },
                follower_reads: c.read == ReadMode::Follower,
                shards: c.shards,
            }),
        }
    }

    fn run(&self, config: &SimConfig, _sample_every: Option<Duration>) -> Result<Ran, SimError> {
        let mut raft = self.config.clone();
        raft.seed = config.seed;
        raft.disk = raft.disk.seeded(config.seed);
        let result = sim::run(RaftSystem::new(raft), config)?;
        Ok(Ran { result, replicas: Replicas::Single })
    }

    fn disk_cost(&self) -> Option<sim::disk_cost::DiskCost> {
        Some(self.config.disk)
    }

    fn clone_box(&self) -> Box<dyn Configured> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::tests::assert_error;

    /// A file whose one system is sqlite-raft, its table ending with `extra` (line 10 on).
    fn file(extra: &str) -> String {
        format!(
            "name = \"t\"\nquestion = \"q\"\nseeds = 1\nduration = \"1s\"\n[workload]\nkind = \"kv\"\n\
             [[system]]\nname = \"s\"\nkind = \"sqlite-raft\"\n{extra}"
        )
    }

    fn parsed(table: &str) -> RaftConfig {
        let raw: RawRaft = toml::from_str(table).expect("a system table");
        config(Source::new(std::path::Path::new("s.toml"), table), &raw).expect("valid")
    }

    #[test]
    fn the_defaults_are_three_nodes_majority_leader_reads_and_etcds_timing() {
        let c = parsed("");
        assert_eq!((c.nodes, c.shards, c.ack, c.read), (3, 1, AckMode::Majority, ReadMode::Leader));
        assert_eq!(c.election_timeout(), Duration::from_secs(1));
        let set = parsed("nodes = 5\nshards = 4\nack = \"async\"\nread = \"follower\"\ntick = \"10ms\"\n");
        assert_eq!((set.nodes, set.shards, set.ack, set.read), (5, 4, AckMode::Async, ReadMode::Follower));
        assert_eq!(set.election_timeout(), Duration::from_millis(100));
    }

    #[test]
    fn the_description_and_properties_say_how_it_replicates() {
        let system = RaftSqlSystem { config: parsed("ack = \"async\"\nshards = 2\n"), disk: None };
        assert_eq!(
            system.describe(),
            "sqlite on raft: 3 nodes, ack async, reads at leader (ReadIndex), 2 shards, election timeout 1s"
        );
        let p = system.properties();
        assert_eq!((p.servers, p.replicas), (6, 3));
        assert_eq!(p.replication.map(|r| r.ack), Some(crate::properties::Ack::Async));
    }

    #[test]
    fn bad_values_are_refused_where_they_are_wrong() {
        assert_error(&file("nodes = 0\n"), 10, 9, "nodes = 0: expected 1 to 9");
        assert_error(&file("shards = 17\n"), 10, 10, "expected 1 to 16");
        assert_error(&file("ack = \"quorum\"\n"), 10, 7, "unknown variant");
        assert_error(&file("read = \"any\"\n"), 10, 8, "unknown variant");
        assert_error(&file("tick = \"0s\"\n"), 10, 8, "tick must be longer than zero");
        assert_error(&file("tick = \"1m\"\n"), 10, 8, "tick: at most 10s");
        assert_error(&file("heartbeat_ticks = 10\n"), 10, 19, "heartbeat_ticks = 10 must be below election_ticks = 10");
        assert_error(&file("n = 3\n"), 10, 1, "applies only to kind = \"quorum\"");
    }
}
