//! [`RaftSystem`]: the replicated SQLite store as a [`sim::System`]: `shards` Raft groups of
//! `nodes` hosts each ([`RaftConfig::hosts`]), clients routing by key.

use std::rc::Rc;

use history::Value;
use sim::{Capacity, LeaderLog, LocalFuture, System};

use crate::client::RaftClient;
use crate::config::RaftConfig;
use crate::server::{self, Shared};

/// The system under test.
#[derive(Debug, Clone)]
pub struct RaftSystem {
    /// The store's configuration (its seed is the run's).
    pub config: RaftConfig,
    /// Counters and leaders, shared with every node and client.
    pub shared: Rc<Shared>,
}

impl RaftSystem {
    /// A system configured as `config`.
    pub fn new(config: RaftConfig) -> Self {
        RaftSystem { config, shared: Rc::default() }
    }

    /// The group (from 0) and node id (from 1) of `host`.
    fn locate(&self, host: &str) -> Option<(usize, u64)> {
        (1..=self.config.shards)
            .find_map(|s| (1..=self.config.nodes).find(|&i| self.config.host(s, i) == host).map(|i| (s - 1, i as u64)))
    }
}

impl System for RaftSystem {
    type Client = RaftClient;

    fn servers(&self) -> Vec<String> {
        self.config.hosts()
    }

    fn serve(&self, host: &str) -> LocalFuture<turmoil::Result> {
        let Some((group, id)) = self.locate(host) else {
            let message = format!("{host:?} is not a server of this system");
            return Box::pin(async move { Err(message.into()) });
        };
        Box::pin(server::serve(self.config.clone(), group, id, Rc::clone(&self.shared)))
    }

    fn client(&self, client: usize) -> RaftClient {
        RaftClient::new(self.config.clone(), client, Rc::clone(&self.shared))
    }

    /// Nothing to do: Raft's timers count ticks of each node's own timer, which an offset of
    /// its wall clock does not change, and leader reads go through ReadIndex (a heartbeat
    /// round), not a clock-based lease.
    fn skew_clock(&self, _host: &str, _offset_ms: i64) {}

    /// The model's disk, CPU, network and admission, each charged by every node (see
    /// [`crate::server`]).
    fn set_capacity(&mut self, capacity: &Capacity) {
        if let Some(disk) = capacity.disk {
            self.config.disk = disk;
        }
        if let Some(cpu) = capacity.cpu {
            self.config.cpu = cpu;
        }
        if let Some(network) = capacity.network {
            self.config.network = network;
        }
        if let Some(admission) = capacity.admission {
            self.config.admission = admission;
        }
    }

    /// Every node's database starts holding `state` (it is not in the log).
    fn preload(&mut self, state: &[(Value, Value)]) -> Result<(), String> {
        self.config.initial = state.to_vec();
        Ok(())
    }

    fn messages_sent(&self) -> u64 {
        self.shared.messages.get()
    }

    fn disk_syncs(&self) -> Option<u64> {
        Some(self.shared.syncs.get())
    }

    /// The last leader elected in the first group.
    fn leader(&self) -> Option<String> {
        self.shared.leaders.borrow().get(&0).cloned()
    }

    fn leaders(&self) -> Option<LeaderLog> {
        Some(self.shared.log.borrow().clone())
    }

    fn usage(&self) -> sim::capacity::ClusterUsage {
        self.shared.usage.snapshot()
    }
}
