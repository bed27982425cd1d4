//! What the nodes booked during a run, and the throughput ceiling it predicts.
//!
//! - [`Usage`]: one node's counters: frames and bytes received and sent, client requests
//!   and refusals, and the time booked on each resource (CPU, disk, NIC each direction).
//! - [`ClusterUsage`]: every node's, by host name (ordered), and how the nodes combine CPU
//!   and disk ([`Overlap`]).
//! - [`Demand`] and [`ceiling`]: the model's operational law. A node's resource `r` serves one
//!   second of work per second, so if an operation needs `d_r` of it on an average node, the
//!   cluster completes at most `1 / max_r d_r` operations per second: the resource with the
//!   largest demand binds (the utilisation law, U = X·D: Lazowska et al., *Quantitative
//!   System Performance*, 1984, ch. 3 and 5, "bottleneck analysis"). Under
//!   [`Overlap::Serial`] CPU and disk are one resource and their demands add. The figure
//!   assumes work spread evenly over the nodes; a skewed load saturates its hottest node
//!   first and stays below it.

use std::collections::BTreeMap;
use std::time::Duration;

use super::Overlap;

/// One node's counters (every incarnation of it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Frames received (client requests and peer messages).
    pub received: u64,
    /// Bytes of the frames received.
    pub received_bytes: u64,
    /// Frames sent (replies and peer messages).
    pub sent: u64,
    /// Bytes of the frames sent.
    pub sent_bytes: u64,
    /// Client requests received (refused ones included).
    pub requests: u64,
    /// Client requests refused by admission control.
    pub refused: u64,
    /// CPU time booked (receiving and sending).
    pub cpu: Duration,
    /// Disk time booked (foreground and background).
    pub disk: Duration,
    /// NIC time booked sending.
    pub nic_tx: Duration,
    /// NIC time booked receiving.
    pub nic_rx: Duration,
}

impl Usage {
    /// Counts one frame of `bytes` bytes sent, which took `cpu` of CPU and `tx` of the NIC's
    /// transmit side.
    pub fn count_sent(&mut self, bytes: usize, cpu: Duration, tx: Duration) {
        self.sent = self.sent.saturating_add(1);
        self.sent_bytes = self.sent_bytes.saturating_add(u64::try_from(bytes).unwrap_or(u64::MAX));
        self.cpu = self.cpu.saturating_add(cpu);
        self.nic_tx = self.nic_tx.saturating_add(tx);
    }

    /// The sum of two nodes' (or incarnations') counters, saturating.
    pub fn plus(&self, other: &Usage) -> Usage {
        Usage {
            received: self.received.saturating_add(other.received),
            received_bytes: self.received_bytes.saturating_add(other.received_bytes),
            sent: self.sent.saturating_add(other.sent),
            sent_bytes: self.sent_bytes.saturating_add(other.sent_bytes),
            requests: self.requests.saturating_add(other.requests),
            refused: self.refused.saturating_add(other.refused),
            cpu: self.cpu.saturating_add(other.cpu),
            disk: self.disk.saturating_add(other.disk),
            nic_tx: self.nic_tx.saturating_add(other.nic_tx),
            nic_rx: self.nic_rx.saturating_add(other.nic_rx),
        }
    }
}

/// Every node's counters, by host name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterUsage {
    /// How the nodes combine CPU and disk (`None`: nothing was booked yet).
    pub overlap: Option<Overlap>,
    /// The counters, by host name.
    pub nodes: BTreeMap<String, Usage>,
}

impl ClusterUsage {
    /// The counters summed over the nodes.
    pub fn total(&self) -> Usage {
        self.nodes.values().fold(Usage::default(), |sum, node| sum.plus(node))
    }

    /// The demand per operation on an average node, for `operations` operations: each
    /// resource's booked time over every node divided by `nodes × operations`. `None` without
    /// nodes or operations.
    pub fn demand(&self, operations: u64) -> Option<Demand> {
        let nodes = u32::try_from(self.nodes.len()).ok().filter(|&n| n > 0)?;
        let per = |total: Duration| total.as_secs_f64() / f64::from(nodes) / operations as f64;
        (operations > 0).then(|| {
            let total = self.total();
            Demand { cpu: per(total.cpu), disk: per(total.disk), nic_tx: per(total.nic_tx), nic_rx: per(total.nic_rx) }
        })
    }

    /// The ceiling ([`ceiling`]) the run's demand per `operations` predicts.
    pub fn ceiling(&self, operations: u64) -> Option<Ceiling> {
        let demand = self.demand(operations)?;
        ceiling(&demand, self.nodes.len(), self.overlap.unwrap_or(Overlap::Pipelined))
    }
}

/// A node resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resource {
    /// The CPU.
    Cpu,
    /// The disk.
    Disk,
    /// CPU and disk as one resource ([`Overlap::Serial`]).
    CpuAndDisk,
    /// The NIC's transmit side.
    NicTx,
    /// The NIC's receive side.
    NicRx,
}

impl Resource {
    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Resource::Cpu => "cpu",
            Resource::Disk => "disk",
            Resource::CpuAndDisk => "cpu+disk",
            Resource::NicTx => "nic-tx",
            Resource::NicRx => "nic-rx",
        }
    }
}

/// Seconds of each resource one operation needs on an average node.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Demand {
    /// CPU seconds per operation.
    pub cpu: f64,
    /// Disk seconds per operation.
    pub disk: f64,
    /// NIC (transmit) seconds per operation.
    pub nic_tx: f64,
    /// NIC (receive) seconds per operation.
    pub nic_rx: f64,
}

/// The throughput the model allows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ceiling {
    /// Operations per second the whole cluster can complete.
    pub cluster: f64,
    /// The same, per node.
    pub per_node: f64,
    /// The resource that binds.
    pub binding: Resource,
}

/// The model's ceiling for `demand` on `nodes` nodes: `1 / max_r demand_r` operations per
/// second for the cluster (see the module docs), and that over `nodes` per node. `None` when
/// nothing is demanded (no resource binds: the model sets no ceiling) or there are no nodes.
/// Ties go to the first resource in [`Resource`]'s order.
pub fn ceiling(demand: &Demand, nodes: usize, overlap: Overlap) -> Option<Ceiling> {
    let candidates = match overlap {
        Overlap::Pipelined => vec![(Resource::Cpu, demand.cpu), (Resource::Disk, demand.disk)],
        Overlap::Serial => vec![(Resource::CpuAndDisk, demand.cpu + demand.disk)],
    };
    let (binding, most) = candidates
        .into_iter()
        .chain([(Resource::NicTx, demand.nic_tx), (Resource::NicRx, demand.nic_rx)])
        .fold(None, |best: Option<(Resource, f64)>, (r, d)| match best {
            Some((_, b)) if b >= d => best,
            _ => Some((r, d)),
        })?;
    if nodes == 0 || !(most > 0.0 && most.is_finite()) {
        return None;
    }
    let cluster = 1.0 / most;
    Some(Ceiling { cluster, per_node: cluster / nodes as f64, binding })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(cpu_us: u64, disk_us: u64, tx_us: u64, rx_us: u64) -> Usage {
        Usage {
            cpu: Duration::from_micros(cpu_us),
            disk: Duration::from_micros(disk_us),
            nic_tx: Duration::from_micros(tx_us),
            nic_rx: Duration::from_micros(rx_us),
            ..Usage::default()
        }
    }

    #[test]
    fn the_largest_demand_binds() {
        let demand = Demand { cpu: 20e-6, disk: 50e-6, nic_tx: 10e-6, nic_rx: 100e-6 };
        let c = ceiling(&demand, 4, Overlap::Pipelined).expect("a ceiling");
        assert_eq!(c.binding, Resource::NicRx);
        assert!((c.cluster - 10_000.0).abs() < 1e-6, "{c:?}");
        assert!((c.per_node - 2_500.0).abs() < 1e-6, "{c:?}");
        let disk_bound = Demand { nic_rx: 0.0, ..demand };
        let c = ceiling(&disk_bound, 4, Overlap::Pipelined).expect("a ceiling");
        assert_eq!(c.binding, Resource::Disk);
        assert!((c.cluster - 20_000.0).abs() < 1e-6);
        // Serial: CPU and disk add up (70 us) and bind before the NIC's 10 us.
        let c = ceiling(&disk_bound, 1, Overlap::Serial).expect("a ceiling");
        assert_eq!(c.binding, Resource::CpuAndDisk);
        assert!((c.cluster - 1e6 / 70.0).abs() < 1e-6);
        assert_eq!(ceiling(&Demand::default(), 3, Overlap::Pipelined), None);
        assert_eq!(ceiling(&demand, 0, Overlap::Pipelined), None);
    }

    #[test]
    fn demand_averages_the_booked_time_over_nodes_and_operations() {
        let mut usage = ClusterUsage { overlap: Some(Overlap::Pipelined), nodes: BTreeMap::new() };
        assert_eq!(usage.demand(10), None);
        usage.nodes.insert("n1".into(), node(300, 1_000, 0, 0));
        usage.nodes.insert("n2".into(), node(100, 1_000, 200, 0));
        assert_eq!(usage.total(), node(400, 2_000, 200, 0));
        assert_eq!(usage.demand(0), None);
        // 100 operations on 2 nodes: 2 us CPU, 10 us disk, 1 us NIC each per node.
        let d = usage.demand(100).expect("a demand");
        assert!((d.cpu - 2e-6).abs() < 1e-12 && (d.disk - 10e-6).abs() < 1e-12 && (d.nic_tx - 1e-6).abs() < 1e-12);
        let c = usage.ceiling(100).expect("a ceiling");
        assert_eq!(c.binding, Resource::Disk);
        assert!((c.cluster - 100_000.0).abs() < 1e-3 && (c.per_node - 50_000.0).abs() < 1e-3);
    }
}
