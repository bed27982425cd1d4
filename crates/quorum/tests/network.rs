//! The capacity model's network in the simulation: with a slow NIC the quorum store's
//! throughput is what the bottleneck predictor (`sim::capacity::ceiling`) says the NIC
//! allows, and admission control turns an overload into definite refusals.

use std::time::Duration;

use history::{Event, EventType};
use quorum::{ClusterConfig, QuorumSystem};
use sim::capacity::{Admission, ClusterUsage, CpuCost, Network, Nic, Resource};
use sim::disk_cost::DiskCost;
use sim::{KeyDistribution, Kv, OpMix, SimConfig};

/// Reads and writes of 100 keys by `clients` closed-loop clients for 3 s.
fn kv(seed: u64, clients: usize) -> SimConfig {
    let mix = OpMix { read: 1, write: 1, cas: 0 };
    let mut config = SimConfig::new(seed, Kv { mix, ..Kv::new(100, KeyDistribution::Uniform) });
    config.duration = Duration::from_secs(3);
    config.client_hosts = 3;
    config.clients_per_host = clients / 3;
    config.op_timeout = Duration::from_secs(2);
    config.think_time = Duration::ZERO;
    config.latency = (Duration::from_millis(1), Duration::from_millis(1));
    config
}

/// Three nodes at QUORUM, free CPU and disk, with `network` and `admission`.
fn run(seed: u64, clients: usize, network: Network, admission: Admission) -> (Vec<Event>, ClusterUsage) {
    let mut cluster = ClusterConfig::new(3);
    cluster.disk = DiskCost::FREE;
    cluster.cpu = CpuCost::FREE;
    cluster.network = network;
    cluster.admission = admission;
    let system = QuorumSystem::new(cluster);
    let run = sim::run(system.clone(), &kv(seed, clients)).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    assert_eq!(run.usage, system.usage(), "the run's result carries the system's usage");
    (run.history, run.usage)
}

fn ok_between(history: &[Event], from: Duration, to: Duration) -> usize {
    let inside = |e: &Event| {
        let at = Duration::from_nanos(e.time.unwrap_or(0));
        at >= from && at < to
    };
    history.iter().filter(|e| e.kind == EventType::Ok && inside(e)).count()
}

fn ok(history: &[Event]) -> u64 {
    history.iter().filter(|e| e.kind == EventType::Ok).count() as u64
}

/// 1 Mbit/s: 125 bytes per millisecond, a few hundred operations per second per node.
fn slow_nic() -> Network {
    Network { send: CpuCost::FREE, nic: Some(Nic::from_mbit_per_s(1)) }
}

#[test]
fn a_slow_nic_bounds_throughput_where_the_predictor_says() {
    for seed in 1..=2u64 {
        let (history, usage) = run(seed, 60, slow_nic(), Admission::UNBOUNDED);
        let measured = ok_between(&history, Duration::from_secs(1), Duration::from_secs(3)) as f64 / 2.0;
        let ceiling = usage.ceiling(ok(&history)).expect("the NIC was booked");
        eprintln!("seed {seed}: {measured:.0} ok/s measured, {ceiling:?} predicted, {:?}", usage.total());
        assert!(matches!(ceiling.binding, Resource::NicTx | Resource::NicRx), "seed {seed}: {ceiling:?}");
        // Saturated: within 15% of the ceiling (the whole run's demand, the window's rate).
        let ratio = measured / ceiling.cluster;
        assert!((0.85..=1.15).contains(&ratio), "seed {seed}: measured {measured:.0} vs {:.0}", ceiling.cluster);
        // The NIC is what bounds it: the same load with a free network goes several times faster.
        let (free, free_usage) = run(seed, 60, Network::FREE, Admission::UNBOUNDED);
        let free_rate = ok_between(&free, Duration::from_secs(1), Duration::from_secs(3)) as f64 / 2.0;
        assert!(free_rate > 3.0 * measured, "seed {seed}: free {free_rate:.0} vs {measured:.0}");
        assert_eq!(free_usage.ceiling(ok(&free)), None, "nothing booked, no ceiling");
        assert!(free_usage.total().sent > 0 && free_usage.total().refused == 0);
    }
}

#[test]
fn admission_refuses_past_the_bound_and_only_then() {
    let bound = Admission { max_backlog: Some(Duration::from_millis(5)) };
    let (history, usage) = run(3, 60, slow_nic(), bound);
    let total = usage.total();
    // During the load (the final reads come after it): with nothing else failing, every
    // `fail` is a refusal, and a refusal is never indeterminate (`info`).
    let during = |e: &&Event| e.time.is_some_and(|t| t < 3_000_000_000);
    let failed = history.iter().filter(during).filter(|e| e.kind == EventType::Fail).count();
    let unknown = history.iter().filter(during).filter(|e| e.kind == EventType::Info).count();
    eprintln!("{} refusals of {} requests; {failed} fail, {unknown} info", total.refused, total.requests);
    assert!(total.refused > 0 && failed > 0, "an overloaded node refuses");
    assert!(failed as u64 <= total.refused, "{failed} failures, {} refusals", total.refused);
    assert!(total.refused < total.requests, "and accepts some");
    assert_eq!(unknown, 0);
    // Unbounded, nothing is refused; below the bound (3 clients), nothing fails during the
    // load (the burst of final reads, every key at once, may still pass the bound).
    let (history, usage) = run(3, 60, slow_nic(), Admission::UNBOUNDED);
    assert_eq!(usage.total().refused, 0);
    assert_eq!(history.iter().filter(during).filter(|e| e.kind == EventType::Fail).count(), 0);
    let (history, usage) = run(3, 3, slow_nic(), bound);
    assert!(usage.total().requests > 0);
    assert_eq!(history.iter().filter(during).filter(|e| e.kind == EventType::Fail).count(), 0);
}
