//! [`QuorumSystem`]: the quorum store as a [`sim::System`]: nodes `n1`..`nN`, each a host
//! running [`server::serve`], and clients with failover.
//!
//! Convergence is observed inside the simulation: with [`QuorumSystem::with_sampling`], every
//! node host publishes its client data (key and version of each cell) at every multiple of a
//! period of simulated time into [`ReplicaSamples`], and [`QuorumSystem::convergence`] tells,
//! per moment, which keys the live replicas disagreed on (each key compared across the nodes
//! of its preference list that published then; a crashed node publishes nothing).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use lsm::{CommitLogSync, EngineConfig, Version};
use sim::capacity::{Admission, Capacity, ClusterUsage, CpuCost, Network, UsageLog};
use sim::disk_cost::DiskCost;
use sim::{LocalFuture, System};

use crate::client::{QuorumClient, Routing};
use crate::config::NodeConfig;
use crate::level::Level;
use crate::ring::Ring;
use crate::server::{self, CommitLogCounts, NodeSetup, Restarts};
use sim::steps::Guard;

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
    /// What each frame a node receives costs in CPU time (free by default).
    pub cpu: CpuCost,
    /// What sending costs, and each node's NIC (free by default).
    pub network: Network,
    /// When a node refuses client requests (never by default).
    pub admission: Admission,
    /// Levels clients ask for (`None`: the coordinator's default).
    pub read: Option<Level>,
    /// See `read`.
    pub write: Option<Level>,
    /// Whether clients send each operation to a replica of its key (on by default, as in the
    /// common drivers); off: each client keeps one coordinator (see [`crate::client`]).
    pub token_aware: bool,
    /// The commit log's userspace write buffer, in bytes (0, the default: off; see
    /// [`lsm::commit_log`]). A simulator economy for fault-free runs only: see
    /// [`crate::server::NodeSetup::log_buffer`].
    pub commitlog_buffer: usize,
    /// How clients write back what a transfer or list-append step read ([`Guard::Plain`],
    /// the default: a plain write; [`Guard::Cas`]: a compare-and-set through Paxos).
    pub guard: Guard,
}

impl ClusterConfig {
    /// `nodes` nodes with the protocol's defaults (N=3, QUORUM/QUORUM, LWW), `batch` commit, the
    /// measured disk cost and free CPU.
    pub fn new(nodes: usize) -> Self {
        let ids: Vec<u32> = (1..=nodes as u32).collect();
        Self {
            nodes,
            node: NodeConfig::new(1, ids),
            sync: CommitLogSync::Batch,
            engine: EngineConfig::new("/data/lsm"),
            disk: DiskCost::default(),
            cpu: CpuCost::FREE,
            network: Network::FREE,
            admission: Admission::UNBOUNDED,
            read: None,
            write: None,
            token_aware: true,
            commitlog_buffer: 0,
            guard: Guard::Plain,
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
    messages: Rc<Cell<u64>>,
    bad_frames: Rc<Cell<u64>>,
    skews: BTreeMap<String, Rc<Cell<i64>>>,
    /// The sampler's period and what the nodes published (`None`: not sampled).
    sampling: Option<(Duration, ReplicaSamples)>,
    restarts: Rc<Restarts>,
    commit_log: Rc<CommitLogCounts>,
    usage: UsageLog,
    /// What every node starts holding ([`System::preload`]), by the client's key.
    preload: Rc<Vec<(String, history::Value)>>,
}

impl QuorumSystem {
    /// A cluster as configured.
    pub fn new(config: ClusterConfig) -> Self {
        let skews = (1..=config.nodes as u32).map(|id| (ClusterConfig::host(id), Rc::new(Cell::new(0)))).collect();
        Self {
            config,
            messages: Rc::default(),
            bad_frames: Rc::default(),
            skews,
            sampling: None,
            restarts: Rc::default(),
            commit_log: Rc::default(),
            usage: UsageLog::default(),
            preload: Rc::default(),
        }
    }

    /// The same system, with every node publishing its client data every `period` of
    /// simulated time (a zero period turns sampling off). The sampler only reads: the run's
    /// history is the same with or without it. It costs a scan of every node's storage per
    /// period, and memory for every sample that differs from the node's previous one.
    pub fn with_sampling(mut self, period: Duration) -> Self {
        self.sampling = (!period.is_zero()).then(|| (period, ReplicaSamples::default()));
        self
    }

    /// What the replica sampler saw, one entry per sampling moment (empty without
    /// [`QuorumSystem::with_sampling`]).
    pub fn convergence(&self) -> Convergence {
        let Some((_, samples)) = &self.sampling else { return Convergence::default() };
        let ids = self.ids();
        let ring = Ring::new(&ids, self.config.node.vnodes);
        let n = self.config.node.replication.clamp(1, ids.len().max(1));
        samples.convergence(&ring, n)
    }

    /// What the nodes' supervisors did: failed starts and restarts after disk failures.
    pub fn restarts(&self) -> &Restarts {
        &self.restarts
    }

    /// The nodes' commit-log writes and syncs so far (every node, every incarnation).
    pub fn commit_log(&self) -> &CommitLogCounts {
        &self.commit_log
    }

    /// What each node booked on its capacity model so far (frames and bytes received and
    /// sent, client requests refused, CPU, disk and NIC time), by host name.
    pub fn usage(&self) -> ClusterUsage {
        self.usage.snapshot()
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
            log_buffer: self.config.commitlog_buffer,
            disk: self.config.disk,
            cpu: self.config.cpu,
            network: self.config.network,
            admission: self.config.admission,
            usage: self.usage.clone(),
            messages: Rc::clone(&self.messages),
            skew_ns: Rc::clone(skew),
            bad_frames: Rc::clone(&self.bad_frames),
            samples: self.sampling.clone(),
            restarts: Rc::clone(&self.restarts),
            commit_log: Rc::clone(&self.commit_log),
            preload: Rc::clone(&self.preload),
        };
        Box::pin(server::serve(setup))
    }

    fn client(&self, client: usize) -> QuorumClient {
        let quorum_client =
            QuorumClient::new(self.servers(), client, (self.config.read, self.config.write), Rc::clone(&self.messages))
                .with_guard(self.config.guard);
        if !self.config.token_aware {
            return quorum_client;
        }
        quorum_client.with_routing(Routing::TokenAware {
            ring: Ring::new(&self.ids(), self.config.node.vnodes),
            replication: self.config.node.replication,
            ids: self.ids(),
        })
    }

    /// Every node charges the model's CPU cost per frame, its disk cost, its network and its
    /// admission bound.
    fn set_capacity(&mut self, capacity: &Capacity) {
        if let Some(cpu) = capacity.cpu {
            self.config.cpu = cpu;
        }
        if let Some(disk) = capacity.disk {
            self.config.disk = disk;
        }
        if let Some(network) = capacity.network {
            self.config.network = network;
        }
        if let Some(admission) = capacity.admission {
            self.config.admission = admission;
        }
    }

    fn skew_clock(&self, host: &str, offset_ms: i64) {
        if let Some(skew) = self.skews.get(host) {
            skew.set(offset_ms.saturating_mul(1_000_000));
        }
    }

    /// Each node starts holding the keys it replicates, at the lowest version (so that any
    /// write supersedes them), written to its engine and synced before it serves.
    fn preload(&mut self, state: &[(history::Value, history::Value)]) -> Result<(), String> {
        let keys = state.iter().map(|(key, value)| (crate::client::key_name(key), value.clone()));
        self.preload = Rc::new(keys.collect());
        Ok(())
    }

    fn messages_sent(&self) -> u64 {
        self.messages.get()
    }

    fn disk_syncs(&self) -> Option<u64> {
        Some(self.commit_log.syncs())
    }

    fn usage(&self) -> ClusterUsage {
        self.usage.snapshot()
    }
}

/// A node's client data as its sampler saw it: key -> version (reserved keys left out).
pub type ReplicaData = BTreeMap<String, Version>;

/// What the nodes' samplers published: sampling moment -> node -> its data then. Shared by
/// the system and its node hosts (one simulation runs on one thread).
#[derive(Clone, Default)]
pub struct ReplicaSamples {
    log: Rc<RefCell<SampleLog>>,
}

#[derive(Default)]
struct SampleLog {
    by_time: BTreeMap<Duration, BTreeMap<u32, Rc<ReplicaData>>>,
    /// Each node's latest data, shared with later samples while it does not change.
    latest: BTreeMap<u32, Rc<ReplicaData>>,
}

impl fmt::Debug for ReplicaSamples {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let log = self.log.borrow();
        f.debug_struct("ReplicaSamples").field("moments", &log.by_time.len()).finish_non_exhaustive()
    }
}

impl ReplicaSamples {
    /// Records `data` as node `node`'s client data at moment `at`.
    pub fn publish(&self, node: u32, at: Duration, data: ReplicaData) {
        let mut log = self.log.borrow_mut();
        let data = match log.latest.get(&node) {
            Some(latest) if **latest == data => Rc::clone(latest),
            _ => Rc::new(data),
        };
        log.latest.insert(node, Rc::clone(&data));
        log.by_time.entry(at).or_default().insert(node, data);
    }

    /// Every moment: which nodes published, and the keys whose replicas (of `n`, on `ring`)
    /// among them disagreed.
    ///
    /// A last moment with fewer nodes than the one before is left out: the run may have ended
    /// between the nodes' samples of that moment.
    pub fn convergence(&self, ring: &Ring, n: usize) -> Convergence {
        let log = self.log.borrow();
        let mut lists: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        let mut samples = Vec::with_capacity(log.by_time.len());
        for (&at, data) in &log.by_time {
            let keys: BTreeSet<&str> = data.values().flat_map(|d| d.keys().map(String::as_str)).collect();
            let diverged = keys
                .into_iter()
                .filter(|&key| {
                    let replicas = lists.entry(key).or_insert_with(|| ring.preference_list(key, n));
                    let mut versions = replicas.iter().filter_map(|r| data.get(r)).map(|d| d.get(key));
                    let first = versions.next();
                    versions.any(|v| Some(v) != first)
                })
                .map(str::to_owned)
                .collect();
            samples.push(ConvergenceSample { at, nodes: data.keys().copied().collect(), diverged });
        }
        if let [.., before, last] = samples.as_slice() {
            if last.nodes.len() < before.nodes.len() {
                samples.pop();
            }
        }
        Convergence { samples }
    }
}

/// One sampling moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvergenceSample {
    /// Simulated time of the moment.
    pub at: Duration,
    /// The nodes that published (the live ones).
    pub nodes: Vec<u32>,
    /// Client keys whose live replicas did not all hold the same version, in key order.
    pub diverged: Vec<String>,
}

impl ConvergenceSample {
    /// Whether the live replicas of every key agreed.
    pub fn converged(&self) -> bool {
        self.diverged.is_empty()
    }
}

/// The replica sampler's record of a run: one [`ConvergenceSample`] per moment, in time order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Convergence {
    /// The moments, in time order.
    pub samples: Vec<ConvergenceSample>,
}

impl Convergence {
    /// The first moment from which the replicas agreed at every moment to the last; `None`
    /// when they disagreed at the last moment (or nothing was sampled).
    pub fn converged_since(&self) -> Option<Duration> {
        let mut since = None;
        for sample in self.samples.iter().rev() {
            if !sample.converged() {
                break;
            }
            since = Some(sample.at);
        }
        since
    }

    /// The last moment at which some replicas disagreed.
    pub fn last_diverged(&self) -> Option<&ConvergenceSample> {
        self.samples.iter().rev().find(|s| !s.converged())
    }

    /// The most keys diverged at one moment.
    pub fn max_diverged(&self) -> usize {
        self.samples.iter().map(|s| s.diverged.len()).max().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(entries: &[(&str, u64)]) -> ReplicaData {
        entries.iter().map(|&(k, ts)| (k.to_owned(), Version::new(ts, 1))).collect()
    }

    #[test]
    fn convergence_compares_the_live_replicas_of_each_key() {
        let ring = Ring::new(&[1, 2, 3], 8);
        let samples = ReplicaSamples::default();
        let ms = Duration::from_millis;
        // 100 ms: node 3 missed a write of `b`.
        samples.publish(1, ms(100), data(&[("a", 1), ("b", 2)]));
        samples.publish(2, ms(100), data(&[("a", 1), ("b", 2)]));
        samples.publish(3, ms(100), data(&[("a", 1)]));
        // 200 ms: node 3 is down; the live replicas agree.
        samples.publish(1, ms(200), data(&[("a", 1), ("b", 2)]));
        samples.publish(2, ms(200), data(&[("a", 1), ("b", 2)]));
        // 300 ms: node 3 is back with an older `a`.
        samples.publish(1, ms(300), data(&[("a", 3), ("b", 2)]));
        samples.publish(2, ms(300), data(&[("a", 3), ("b", 2)]));
        samples.publish(3, ms(300), data(&[("a", 1), ("b", 2)]));
        // 400 and 500 ms: equal; 600 ms: the run ended after node 1's sample.
        for at in [ms(400), ms(500)] {
            for node in 1..=3 {
                samples.publish(node, at, data(&[("a", 3), ("b", 2)]));
            }
        }
        samples.publish(1, ms(600), data(&[("a", 4), ("b", 2)]));

        let convergence = samples.convergence(&ring, 3);
        let diverged: Vec<(Duration, Vec<String>)> =
            convergence.samples.iter().map(|s| (s.at, s.diverged.clone())).collect();
        let keys = |k: &[&str]| k.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            diverged,
            vec![
                (ms(100), keys(&["b"])),
                (ms(200), keys(&[])),
                (ms(300), keys(&["a"])),
                (ms(400), keys(&[])),
                (ms(500), keys(&[])),
            ]
        );
        assert_eq!(convergence.samples[1].nodes, vec![1, 2]);
        assert_eq!(convergence.converged_since(), Some(ms(400)));
        assert_eq!(convergence.last_diverged().map(|s| s.at), Some(ms(300)));
        assert_eq!(convergence.max_diverged(), 1);
        // With two replicas per key, a key is compared only where it lives.
        let two = samples.convergence(&ring, 2);
        assert!(two.samples.iter().all(|s| s.diverged.len() <= 1));
    }
}
