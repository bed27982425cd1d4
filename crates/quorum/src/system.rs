//! [`QuorumSystem`]: the quorum store as a [`sim::System`]: nodes `n1`..`nN`, each a host
//! running [`server::serve`], and clients with failover.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;

use lsm::{CommitLogSync, EngineConfig};
use sim::disk_cost::DiskCost;
use sim::{LocalFuture, System};

use crate::client::{QuorumClient, Reads};
use crate::config::NodeConfig;
use crate::level::Level;
use crate::server::{self, NodeSetup};

/// How the cluster is built.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// Nodes (3 to 9).
    pub nodes: usize,
    /// The protocol configuration every node shares (`id` and `nodes` are filled in).
    pub node: NodeConfig,
    /// Commit log sync policy.
    pub sync: CommitLogSync,
    /// Where each node keeps its engine (the same path on each host's own disk).
    pub engine: EngineConfig,
    /// What disk work costs in simulated time.
    pub disk: DiskCost,
    /// Levels clients ask for (`None`: the coordinator's default).
    pub read: Option<Level>,
    /// See `read`.
    pub write: Option<Level>,
}

impl ClusterConfig {
    /// `nodes` nodes with the protocol's defaults (N=3, QUORUM/QUORUM, LWW), `batch` commit.
    pub fn new(nodes: usize) -> Self {
        let ids: Vec<u32> = (1..=nodes as u32).collect();
        Self {
            nodes,
            node: NodeConfig::new(1, ids),
            sync: CommitLogSync::Batch,
            engine: EngineConfig::new("/data/lsm"),
            disk: DiskCost::default(),
            read: None,
            write: None,
        }
    }

    /// The host name of node `id`.
    pub fn host(id: u32) -> String {
        format!("n{id}")
    }
}

/// The quorum store under test.
#[derive(Debug, Clone)]
pub struct QuorumSystem {
    config: ClusterConfig,
    reads: Reads,
    messages: Rc<Cell<u64>>,
    bad_frames: Rc<Cell<u64>>,
    skews: BTreeMap<String, Rc<Cell<i64>>>,
}

impl QuorumSystem {
    /// A cluster as configured, serving a register (or kv) workload.
    pub fn new(config: ClusterConfig) -> Self {
        let skews = (1..=config.nodes as u32).map(|id| (ClusterConfig::host(id), Rc::new(Cell::new(0)))).collect();
        Self { config, reads: Reads::Register, messages: Rc::default(), bad_frames: Rc::default(), skews }
    }

    /// The same system, with key-less reads meaning `reads`.
    pub fn with_reads(mut self, reads: Reads) -> Self {
        self.reads = reads;
        self
    }

    /// Malformed frames the nodes received so far.
    pub fn bad_frames(&self) -> u64 {
        self.bad_frames.get()
    }

    fn ids(&self) -> Vec<u32> {
        (1..=self.config.nodes as u32).collect()
    }
}

impl System for QuorumSystem {
    type Client = QuorumClient;

    fn servers(&self) -> Vec<String> {
        self.ids().into_iter().map(ClusterConfig::host).collect()
    }

    fn serve(&self, host: &str) -> LocalFuture<turmoil::Result> {
        let id = host.strip_prefix('n').and_then(|n| n.parse::<u32>().ok()).filter(|id| self.ids().contains(id));
        let (Some(id), Some(skew)) = (id, self.skews.get(host)) else {
            let message = format!("{host:?} is not a node of this cluster");
            return Box::pin(async move { Err(message.into()) });
        };
        let mut node = self.config.node.clone();
        node.id = id;
        node.nodes = self.ids();
        let setup = NodeSetup {
            config: node,
            hosts: self.ids().into_iter().map(|id| (id, ClusterConfig::host(id))).collect(),
            engine: self.config.engine.clone(),
            sync: self.config.sync,
            disk: self.config.disk,
            messages: Rc::clone(&self.messages),
            skew_ns: Rc::clone(skew),
            bad_frames: Rc::clone(&self.bad_frames),
        };
        Box::pin(server::serve(setup))
    }

    fn client(&self, client: usize) -> QuorumClient {
        QuorumClient::new(
            self.servers(),
            client,
            self.reads,
            (self.config.read, self.config.write),
            Rc::clone(&self.messages),
        )
    }

    fn skew_clock(&self, host: &str, offset_ms: i64) {
        if let Some(skew) = self.skews.get(host) {
            skew.set(offset_ms.saturating_mul(1_000_000));
        }
    }

    fn messages_sent(&self) -> u64 {
        self.messages.get()
    }
}
