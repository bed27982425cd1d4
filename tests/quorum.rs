//! The quorum store under the harness: availability by consistency level, the anomalies of
//! LWW quorums, ABD's linearizability, durability by commit log mode, clock skew, bad input.

use std::time::Duration;

use checker::{check_named, set_loss, CheckOptions, Outcome};
use history::{Event, EventType};
use lsm::CommitLogSync;
use quorum::{ClusterConfig, Level, Mode, QuorumSystem};
use sim::{Fault, Kv, Register, Schedule, Set, SimConfig, Workload};

use crate::support::{nanos, operations};

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn cluster(read: Level, write: Level) -> ClusterConfig {
    let mut config = ClusterConfig::new(3);
    config.node.read = read;
    config.node.write = write;
    config
}

fn run_config(seed: u64, workload: impl Workload, faults: Schedule) -> SimConfig {
    let mut config = SimConfig::new(seed, workload);
    config.duration = secs(4.0);
    config.op_timeout = secs(0.5);
    config.faults = faults;
    config
}

/// (invocation, completion) pairs of reads and writes (the store offers no compare-and-set).
fn reads_and_writes(history: &[Event]) -> Vec<(&Event, &Event)> {
    operations(history).into_iter().filter(|(invoke, _)| invoke.f == "read" || invoke.f == "write").collect()
}

/// n3 cut off from n1 and n2 during [1 s, 3 s); clients still reach every node.
fn isolate_n3_between_nodes() -> Schedule {
    Schedule::new().at(secs(1.0), Fault::partition(["n3"], ["n1", "n2"])).at(secs(3.0), Fault::Heal)
}

/// n3 cut off from everything (nodes and clients) during [1 s, 3 s).
fn isolate_n3() -> Schedule {
    Schedule::new()
        .at(secs(1.0), Fault::partition(["n3"], ["n1", "n2", "client-0", "client-1"]))
        .at(secs(3.0), Fault::Heal)
}

/// Share of reads and writes invoked in [from, to) that succeeded, and how many there were.
fn success_in_window(history: &[Event], from: f64, to: f64) -> (f64, usize) {
    let ops: Vec<_> = reads_and_writes(history)
        .into_iter()
        .filter(|(invoke, _)| invoke.time.is_some_and(|t| t >= nanos(from) && t < nanos(to)))
        .collect();
    let ok = ops.iter().filter(|(_, done)| done.kind == EventType::Ok).count();
    (ok as f64 / ops.len().max(1) as f64, ops.len())
}

#[test]
fn one_and_quorum_stay_available_on_the_majority_side_and_all_does_not() {
    for seed in [1, 2, 3] {
        for (level, name) in [(Level::One, "ONE"), (Level::Quorum, "QUORUM")] {
            let run = sim::run(
                QuorumSystem::new(cluster(level, level)),
                &run_config(seed, Register::default(), isolate_n3()),
            )
            .expect("runs");
            // From 1.6 s: the operations in flight to n3 when it was cut off end `info` at the
            // 0.5 s client timeout, and a token-aware client (every node holds the register)
            // then tries n3 last; what is measured after that is the store's availability.
            let (share, ops) = success_in_window(&run.history, 1.6, 2.5);
            assert!(ops > 100, "seed {seed} {name}: {ops} operations during the partition");
            assert!(share > 0.95, "seed {seed} {name}: only {:.1}% succeeded during the partition", share * 100.0);
        }
        let mut long = run_config(seed, Register::default(), isolate_n3());
        long.duration = secs(6.0);
        let run = sim::run(QuorumSystem::new(cluster(Level::All, Level::All)), &long).expect("runs");
        let (share, ops) = success_in_window(&run.history, 1.6, 2.5);
        assert!(ops > 10, "seed {seed} ALL: {ops} operations during the partition");
        assert_eq!(share, 0.0, "seed {seed} ALL: some operation succeeded with a replica cut off");
        // Back within half a second of the heal (peer connections are renewed every 500 ms).
        let (after, _) = success_in_window(&run.history, 3.5, 6.0);
        assert!(after > 0.95, "seed {seed} ALL: available again after the heal ({after})");
    }
}

#[test]
fn one_one_under_a_partition_is_not_linearizable() {
    for seed in [1, 2, 3] {
        let system = QuorumSystem::new(cluster(Level::One, Level::One));
        let run = sim::run(system, &run_config(seed, Register::default(), isolate_n3_between_nodes())).expect("runs");
        let verdict = check_named("cas-register", &run.history, &CheckOptions::default()).expect("checks");
        assert_eq!(verdict.outcome, Outcome::NotLinearizable, "seed {seed}: stale reads expected");
    }
}

#[test]
fn abd_is_linearizable_under_minority_partitions_and_single_crashes() {
    for seed in 0..8u64 {
        let node = |i: u64| format!("n{}", (seed + i) % 3 + 1);
        let faults = Schedule::new()
            .at(secs(0.5), Fault::partition([node(0)], [node(1), node(2)]))
            .at(secs(1.5), Fault::Heal)
            .at(secs(2.0), Fault::crash(node(1)))
            .at(secs(2.7), Fault::restart(node(1)))
            .at(secs(3.0), Fault::partition([node(2)], [node(0), node(1), "client-0".to_owned()]))
            .at(secs(3.6), Fault::Heal);
        let mut config = cluster(Level::Quorum, Level::Quorum);
        config.node.mode = Mode::Abd;
        config.sync = CommitLogSync::Batch;
        let run = sim::run(QuorumSystem::new(config), &run_config(seed, Register::default(), faults)).expect("runs");
        let verdict = check_named("cas-register", &run.history, &CheckOptions::default()).expect("checks");
        assert_eq!(verdict.outcome, Outcome::Linearizable, "seed {seed}");
        assert!(run.history.iter().filter(|e| e.kind == EventType::Ok).count() > 200, "seed {seed}: progress");
    }
}

/// One client adding elements one after another (no concurrent read-modify-writes, so any
/// loss is the store's), every node crashed at once at 2 s and restarted at 2.5 s.
fn durability_run(seed: u64, sync: CommitLogSync) -> set_loss::SetLoss {
    let mut config = cluster(Level::Quorum, Level::Quorum);
    config.sync = sync;
    let mut faults = Schedule::new();
    for node in ["n1", "n2", "n3"] {
        faults.push(secs(2.0), Fault::crash(node));
        faults.push(secs(2.5), Fault::restart(node));
    }
    let mut sim_config = run_config(seed, Set, faults);
    sim_config.client_hosts = 1;
    sim_config.clients_per_host = 1;
    let run = sim::run(QuorumSystem::new(config), &sim_config).expect("runs");
    set_loss::analyze(&run.history)
}

#[test]
fn periodic_commit_log_loses_acknowledged_writes_when_every_replica_crashes_and_batch_does_not() {
    for seed in [1, 2, 3] {
        let batch = durability_run(seed, CommitLogSync::Batch);
        assert!(batch.final_read && batch.acknowledged > 50, "seed {seed}: {batch:?}");
        assert!(batch.lost.is_empty(), "seed {seed}: batch lost {:?}", batch.lost);
        let group = durability_run(seed, CommitLogSync::Group(secs(0.05)));
        assert!(group.final_read && group.acknowledged > 20, "seed {seed}: {group:?}");
        assert!(group.lost.is_empty(), "seed {seed}: group commit lost {:?}", group.lost);
        // Group commit acknowledges once per window: fewer adds than batch in the same time.
        assert!(
            group.acknowledged < batch.acknowledged,
            "seed {seed}: group {} vs batch {}",
            group.acknowledged,
            batch.acknowledged
        );
        let periodic = durability_run(seed, CommitLogSync::Periodic(secs(1.0)));
        eprintln!(
            "seed {seed}: batch lost {} of {}; group (50 ms) lost {} of {}; periodic (1 s) lost {} of {}",
            batch.lost.len(),
            batch.acknowledged,
            group.lost.len(),
            group.acknowledged,
            periodic.lost.len(),
            periodic.acknowledged
        );
        assert!(periodic.final_read, "seed {seed}: {periodic:?}");
        assert!(
            !periodic.lost.is_empty(),
            "seed {seed}: periodic lost nothing ({} acknowledged)",
            periodic.acknowledged
        );
    }
}

/// Two clients adding to one set through different coordinators; n2's clock optionally set
/// 2 s behind.
fn skew_run(seed: u64, skew: bool) -> set_loss::SetLoss {
    let mut faults = Schedule::new();
    if skew {
        faults.push(secs(0.5), Fault::skew("n2", -2000));
    }
    let mut sim_config = run_config(seed, Set, faults);
    sim_config.client_hosts = 1;
    sim_config.clients_per_host = 2;
    let system = QuorumSystem::new(cluster(Level::Quorum, Level::Quorum));
    set_loss::analyze(&sim::run(system, &sim_config).expect("runs").history)
}

#[test]
fn clock_skew_under_last_write_wins_loses_acknowledged_adds() {
    for seed in [1, 2] {
        let honest = skew_run(seed, false);
        let skewed = skew_run(seed, true);
        eprintln!(
            "seed {seed}: lost {} of {} acknowledged adds with n2 2 s behind, {} of {} without skew",
            skewed.lost.len(),
            skewed.acknowledged,
            honest.lost.len(),
            honest.acknowledged
        );
        assert!(honest.final_read && skewed.final_read);
        // Concurrent read-modify-writes lose some adds anyway; a clock 2 s behind loses far more:
        // every add coordinated by n2 carries an older timestamp than the set it extends.
        assert!(
            skewed.lost.len() > 2 * honest.lost.len() + 10,
            "seed {seed}: lost {} with skew, {} without (of {} and {} acknowledged)",
            skewed.lost.len(),
            honest.lost.len(),
            skewed.acknowledged,
            honest.acknowledged
        );
    }
}

#[test]
fn larger_clusters_place_each_key_on_n_replicas_and_abd_stays_linearizable() {
    for nodes in [5, 9] {
        let mut config = ClusterConfig::new(nodes);
        config.node.mode = Mode::Abd;
        let faults = Schedule::new().at(secs(1.0), Fault::crash("n2")).at(secs(2.0), Fault::restart("n2"));
        let workload = Kv::new(12, sim::KeyDistribution::Uniform);
        let run = sim::run(QuorumSystem::new(config), &run_config(nodes as u64, workload, faults)).expect("runs");
        let verdict = check_named("cas-register", &run.history, &CheckOptions::default()).expect("checks");
        assert_eq!(verdict.outcome, Outcome::Linearizable, "{nodes} nodes");
        assert!(run.history.iter().filter(|e| e.kind == EventType::Ok).count() > 500, "{nodes} nodes: progress");
        // Each write goes to its N=3 replicas only, not to every node: messages per operation
        // do not grow with the cluster.
        let ops = run.history.iter().filter(|e| e.kind != EventType::Invoke).count() as f64;
        assert!((run.messages as f64) / ops < 12.0, "{nodes} nodes: {} messages for {ops} operations", run.messages);
    }
}

/// A healthy run of `workload` (20 keys, `mix`) on `nodes` nodes (N = 3) at `level` for reads
/// and writes, with or without token-aware clients: (messages sent, reads, writes), every
/// operation (the final reads included) ended ok.
fn messages_of(nodes: usize, level: Level, token_aware: bool, mix: sim::OpMix) -> (u64, u64, u64) {
    let mut config = ClusterConfig::new(nodes);
    config.node.read = level;
    config.node.write = level;
    config.token_aware = token_aware;
    // Speculative retries (an extra data read after the 99th percentile of recent latency)
    // would add a few reads: the counts below are the paths' own.
    config.node.speculative_retry = quorum::SpeculativeRetry::Off;
    let mut workload = Kv::new(20, sim::KeyDistribution::Uniform);
    workload.mix = mix;
    let run = sim::run(QuorumSystem::new(config), &run_config(1, workload, Schedule::new())).expect("runs");
    let ops = operations(&run.history);
    assert!(ops.iter().all(|(_, done)| done.kind == EventType::Ok), "a healthy run: every operation ends ok");
    let count = |f: &str| ops.iter().filter(|(invoke, _)| invoke.f == f).count() as u64;
    (run.messages, count("read"), count("write"))
}

#[test]
fn reads_and_writes_send_the_messages_cassandras_paths_send() {
    let reads_only = sim::OpMix { read: 1, write: 0, cas: 0 };
    let writes_only = sim::OpMix { read: 0, write: 1, cas: 0 };
    // Messages count every frame sent, the client's request and the coordinator's reply
    // included. A token-aware client's coordinator is a replica: a read at ONE is its local
    // read (request and reply only); QUORUM adds one digest read and its reply, ALL two of
    // each. A write goes to every replica at every level (W only says how many acks to wait
    // for): request and reply, two remote writes and their two acks.
    for (level, per_read) in [(Level::One, 2), (Level::Quorum, 4), (Level::All, 6)] {
        let (messages, reads, writes) = messages_of(5, level, true, reads_only);
        assert!(reads > 100 && writes == 0, "{level:?}: {reads} reads, {writes} writes");
        assert_eq!(messages, per_read * reads, "{level:?}: reads only");
        let (messages, reads, writes) = messages_of(5, level, true, writes_only);
        assert!(writes > 100, "{level:?}: {writes} writes");
        assert_eq!(messages, 6 * writes + per_read * reads, "{level:?}: writes (and the final reads)");
    }
    // Without token awareness, a coordinator that holds no replica (2 of 5 nodes per key) sends
    // the data read away and waits for its reply: more than two messages per read at ONE.
    let (messages, reads, _) = messages_of(5, Level::One, false, reads_only);
    assert!(messages as f64 > 2.4 * reads as f64, "fixed routing at ONE: {messages} messages for {reads} reads");
}
