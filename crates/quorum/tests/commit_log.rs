//! The commit log's acknowledging modes in the simulation (Cassandra's `batch` and `group`,
//! see `quorum::server`): concurrent writes share `batch` syncs, and a power loss of every
//! node (turmoil's `crash`, which drops unsynced writes) loses no acknowledged write under
//! either mode. Same seed, same history.

use std::time::Duration;

use checker::{set_loss, staleness};
use history::{Event, EventType};
use lsm::CommitLogSync;
use quorum::{ClusterConfig, QuorumSystem};
use sim::{Fault, KeyDistribution, Kv, OpMix, Schedule, Set, SimConfig};

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// A cluster of three with `sync` (QUORUM reads and writes, the measured disk cost).
fn cluster(sync: CommitLogSync) -> ClusterConfig {
    let mut cluster = ClusterConfig::new(3);
    cluster.sync = sync;
    cluster
}

/// Reads and writes of ten keys by 2 x 5 clients for 3 s, with `faults`.
fn kv(seed: u64, faults: Schedule) -> SimConfig {
    let mix = OpMix { read: 1, write: 1, cas: 0 };
    let mut config = SimConfig::new(seed, Kv { mix, ..Kv::new(10, KeyDistribution::Uniform) });
    config.duration = secs(3.0);
    config.op_timeout = secs(0.5);
    config.think_time = Duration::ZERO;
    config.faults = faults;
    config
}

/// Every node loses power at 1.2 s and at 2.3 s, and is back 0.3 s later.
fn power_losses() -> Schedule {
    let mut faults = Schedule::new();
    for (down, up) in [(1.2, 1.5), (2.3, 2.6)] {
        for node in ["n1", "n2", "n3"] {
            faults.push(secs(down), Fault::crash(node));
            faults.push(secs(up), Fault::restart(node));
        }
    }
    faults
}

/// A run: its history, and the commit-log writes and syncs of every node.
fn run(sync: CommitLogSync, config: &SimConfig) -> (Vec<Event>, u64, u64) {
    let system = QuorumSystem::new(cluster(sync));
    let run = sim::run(system.clone(), config).unwrap_or_else(|e| panic!("seed {}: the run failed: {e}", config.seed));
    (run.history, system.commit_log().writes(), system.commit_log().syncs())
}

fn acknowledged_writes(history: &[Event]) -> usize {
    history.iter().filter(|e| e.kind == EventType::Ok && e.f == "write").count()
}

#[test]
fn concurrent_writers_share_batch_syncs() {
    for seed in 1..=2u64 {
        let (history, writes, syncs) = run(CommitLogSync::Batch, &kv(seed, Schedule::new()));
        let acknowledged = acknowledged_writes(&history);
        eprintln!("seed {seed}: batch, {acknowledged} acknowledged writes, {writes} records, {syncs} syncs");
        assert!(acknowledged > 300, "seed {seed}: only {acknowledged} writes acknowledged");
        // Every write reaches three replicas: at least as many records as acknowledged writes.
        assert!(writes >= acknowledged as u64, "seed {seed}: {writes} records");
        assert!(syncs > 0 && syncs < writes, "seed {seed}: {syncs} syncs for {writes} records");
        let s = staleness::analyze(&history);
        assert_eq!(s.lost_writes, vec![], "seed {seed}");
    }
}

#[test]
fn a_slow_disk_makes_batch_syncs_cover_many_writes() {
    // 2 ms per sync and 2 x 20 clients: most writes arrive while a sync runs on their replica
    // and share the next.
    let mut cluster = cluster(CommitLogSync::Batch);
    cluster.disk.per_sync = secs(0.002);
    let system = QuorumSystem::new(cluster);
    let mut config = kv(4, Schedule::new());
    config.clients_per_host = 20;
    let run = sim::run(system.clone(), &config).expect("the run completes");
    let (writes, syncs) = (system.commit_log().writes(), system.commit_log().syncs());
    eprintln!("slow disk: {} acknowledged writes, {writes} records, {syncs} syncs", acknowledged_writes(&run.history));
    assert!(acknowledged_writes(&run.history) > 300);
    assert!(syncs * 2 < writes, "{syncs} syncs for {writes} records");
    assert_eq!(staleness::analyze(&run.history).lost_writes, vec![]);
}

#[test]
fn a_lone_writer_syncs_every_write() {
    // One client, one operation at a time, a pause between them: no write finds a sync
    // running on its replica, so every record gets a sync of its own.
    let mut config = kv(3, Schedule::new());
    config.client_hosts = 1;
    config.clients_per_host = 1;
    config.think_time = secs(0.005);
    let (history, writes, syncs) = run(CommitLogSync::Batch, &config);
    assert!(acknowledged_writes(&history) > 50);
    assert_eq!(syncs, writes, "a lone writer shares no sync");
}

#[test]
fn power_loss_loses_no_acknowledged_write_under_batch_or_group() {
    for seed in 1..=2u64 {
        for sync in [CommitLogSync::Batch, CommitLogSync::Group(secs(0.01))] {
            let (history, writes, syncs) = run(sync, &kv(seed, power_losses()));
            let s = staleness::analyze(&history);
            let what = format!("seed {seed}, {sync:?}");
            eprintln!("{what}: {} acknowledged writes, {writes} records, {syncs} syncs", s.acknowledged_writes);
            assert!(s.acknowledged_writes > 200, "{what}: only {} acknowledged writes", s.acknowledged_writes);
            assert_eq!(s.final_reads, 10, "{what}: every key was read at the end");
            assert_eq!(s.lost_writes, vec![], "{what}: acknowledged writes lost");
            assert!(syncs < writes, "{what}: {syncs} syncs for {writes} records");
        }
    }
}

/// The control: the same power losses under `periodic` (a sync every 10 s, never within the
/// run) lose acknowledged adds, so the test above can fail.
#[test]
fn power_loss_takes_acknowledged_adds_under_periodic_but_not_batch() {
    let set = |sync| {
        let mut config = SimConfig::new(5, Set);
        config.duration = secs(3.0);
        config.op_timeout = secs(0.25);
        config.client_hosts = 1;
        config.clients_per_host = 1;
        config.faults = power_losses();
        let (history, _, _) = run(sync, &config);
        set_loss::analyze(&history)
    };
    let periodic = set(CommitLogSync::Periodic(secs(10.0)));
    assert!(periodic.final_read && !periodic.lost.is_empty(), "{periodic:?}");
    let batch = set(CommitLogSync::Batch);
    assert!(batch.final_read && batch.acknowledged > 50, "{batch:?}");
    assert!(batch.lost.is_empty(), "batch lost {:?}", batch.lost);
}

#[test]
fn batch_runs_are_deterministic() {
    let config = kv(7, power_losses());
    let first = run(CommitLogSync::Batch, &config);
    let second = run(CommitLogSync::Batch, &config);
    assert!(first.2 > 0);
    assert_eq!(first, second);
}
