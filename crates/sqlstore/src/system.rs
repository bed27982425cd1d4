//! [`SqlSystem`]: the SQL store as a [`sim::System`]: one server host, clients over TCP.

use std::cell::Cell;
use std::rc::Rc;

use sim::capacity::{Admission, ClusterUsage, Network, UsageLog};
use sim::{Capacity, LocalFuture, System};

use crate::client::SqlClient;
use crate::server::{self, BusyStats, Restarts};
use crate::store::StoreConfig;

/// The SQL system under test: one server host running [`server::serve`].
#[derive(Debug, Clone)]
pub struct SqlSystem {
    /// How the server opens its store.
    pub config: StoreConfig,
    /// The server's host name.
    pub host: String,
    /// Messages sent: client requests plus server replies.
    pub messages: Rc<Cell<u64>>,
    /// What the server's supervisor did: failed opens, restarts after a failed sync.
    pub restarts: Rc<Restarts>,
    /// What sending costs, and the server's NIC (free by default).
    pub network: Network,
    /// When the server refuses requests (never by default).
    pub admission: Admission,
    /// What the server booked on its capacity model.
    pub usage: UsageLog,
    /// File and directory syncs the store issued (the WAL's or journal's, the database's).
    pub syncs: Rc<Cell<u64>>,
    /// Whether clients run transfers, multi-key reads and list-append transactions as one
    /// transaction each (`true`, the default) or step by step, one single-key request at a time
    /// (`false`: the non-transactional equivalent; see [`sim::steps`]).
    pub transactions: bool,
    /// Lock conflicts between the store's connections.
    pub busy: Rc<BusyStats>,
}

impl SqlSystem {
    /// A system on host `"db"`.
    pub fn new(config: StoreConfig) -> Self {
        SqlSystem {
            config,
            host: "db".to_owned(),
            messages: Rc::default(),
            restarts: Rc::default(),
            network: Network::FREE,
            admission: Admission::UNBOUNDED,
            usage: UsageLog::default(),
            syncs: Rc::default(),
            transactions: true,
            busy: Rc::default(),
        }
    }

    /// What the server booked on its capacity model so far (frames, bytes, refusals, CPU,
    /// disk and NIC time), under its host name.
    pub fn usage(&self) -> ClusterUsage {
        self.usage.snapshot()
    }
}

impl System for SqlSystem {
    type Client = SqlClient;

    fn servers(&self) -> Vec<String> {
        vec![self.host.clone()]
    }

    fn serve(&self, host: &str) -> LocalFuture<turmoil::Result> {
        if host != self.host {
            let message = format!("{host:?} is not a server of this system (its server is {:?})", self.host);
            return Box::pin(async move { Err(message.into()) });
        }
        let model = server::ServerModel {
            network: self.network,
            admission: self.admission,
            usage: self.usage.clone(),
            host: self.host.clone(),
            syncs: Rc::clone(&self.syncs),
            busy: Rc::clone(&self.busy),
        };
        Box::pin(server::serve_modelled(
            self.config.clone(),
            Rc::clone(&self.messages),
            Rc::clone(&self.restarts),
            model,
        ))
    }

    fn client(&self, _client: usize) -> SqlClient {
        SqlClient::new(self.host.clone(), Rc::clone(&self.messages)).with_steps(!self.transactions)
    }

    /// The server charges the model's CPU cost per request and its disk cost.
    fn set_capacity(&mut self, capacity: &Capacity) {
        if let Some(cpu) = capacity.cpu {
            self.config.cpu = cpu;
        }
        if let Some(disk) = capacity.disk {
            self.config.disk = disk;
        }
        if let Some(network) = capacity.network {
            self.network = network;
        }
        if let Some(admission) = capacity.admission {
            self.admission = admission;
        }
    }

    /// Nothing to do: one server, and SQLite orders transactions by its lock, never by a clock
    /// (the store uses no SQL time functions).
    fn skew_clock(&self, _host: &str, _offset_ms: i64) {}

    /// The state goes into the store's configuration: written when the store opens (see
    /// [`StoreConfig::initial`]).
    fn preload(&mut self, state: &[(history::Value, history::Value)]) -> Result<(), String> {
        self.config.initial = state.to_vec();
        Ok(())
    }

    fn messages_sent(&self) -> u64 {
        self.messages.get()
    }

    fn disk_syncs(&self) -> Option<u64> {
        Some(self.syncs.get())
    }

    fn usage(&self) -> ClusterUsage {
        self.usage.snapshot()
    }
}
