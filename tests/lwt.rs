//! Lightweight transactions on the quorum store: the register workload (reads, writes and
//! compare-and-sets) with every operation at SERIAL, through Paxos, stays linearizable under
//! each standard fault (a partition into halves, one node isolated, a crash and restart, a
//! kill, clock skew, and power loss of every node with the `batch` commit log), over several
//! seeds; and each run applied some compare-and-sets, so it tested something. The control:
//! with reads at plain ONE (writes and cas still through Paxos, several keys) the checker finds
//! stale reads.

use std::time::Duration;

use checker::{check_named, CheckOptions, Outcome};
use history::{Event, EventType};
use lsm::CommitLogSync;
use quorum::{ClusterConfig, Level, QuorumSystem};
use sim::{Fault, KeyDistribution, Kv, Register, RunResult, Schedule, SimConfig};

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// The seeds of every fault.
const SEEDS: [u64; 3] = [1, 2, 3];

/// The standard faults on a 3-node cluster (hosts n1..n3, clients client-0 and client-1).
fn faults() -> Vec<(&'static str, Schedule)> {
    let mut power_loss = Schedule::new();
    for node in ["n1", "n2", "n3"] {
        power_loss.push(secs(1.5), Fault::crash(node));
        power_loss.push(secs(2.0), Fault::restart(node));
    }
    vec![
        (
            "partition halves",
            Schedule::new()
                .at(secs(0.8), Fault::partition(["n1", "client-0"], ["n2", "n3", "client-1"]))
                .at(secs(2.5), Fault::Heal),
        ),
        (
            "isolate n3",
            Schedule::new()
                .at(secs(0.8), Fault::partition(["n3"], ["n1", "n2", "client-0", "client-1"]))
                .at(secs(2.5), Fault::Heal),
        ),
        ("crash-restart n2", Schedule::new().at(secs(1.0), Fault::crash("n2")).at(secs(2.0), Fault::restart("n2"))),
        ("kill n1", Schedule::new().at(secs(1.0), Fault::kill("n1")).at(secs(2.0), Fault::restart("n1"))),
        (
            "clock skew",
            Schedule::new().at(secs(0.5), Fault::skew("n2", -2_000)).at(secs(1.5), Fault::skew("n3", 1_500)),
        ),
        ("power loss (batch)", power_loss),
    ]
}

fn run(seed: u64, read: Level, faults: Schedule) -> RunResult {
    let mut cluster = ClusterConfig::new(3);
    cluster.node.read = read;
    cluster.node.write = Level::Serial;
    cluster.sync = CommitLogSync::Batch;
    let mut config = SimConfig::new(seed, Register::default());
    config.duration = secs(3.5);
    config.op_timeout = secs(1.5);
    config.faults = faults;
    sim::run(QuorumSystem::new(cluster), &config).expect("runs")
}

fn ok(history: &[Event], f: &str) -> usize {
    history.iter().filter(|e| e.kind == EventType::Ok && e.f == f).count()
}

#[test]
fn serial_register_with_cas_is_linearizable_under_every_standard_fault() {
    for (name, schedule) in faults() {
        let mut applied = 0;
        for seed in SEEDS {
            let result = run(seed, Level::Serial, schedule.clone());
            let verdict = check_named("cas-register", &result.history, &CheckOptions::default()).expect("checks");
            assert_eq!(verdict.outcome, Outcome::Linearizable, "{name}, seed {seed}");
            // A compare-and-set whose condition failed is a definite `fail` (not applied): it
            // ran through Paxos too. Each seed must have decided some, and some must have applied.
            let decided = result.history.iter().filter(|e| e.f == "cas" && e.kind == EventType::Fail).count();
            let (cas, reads) = (ok(&result.history, "cas"), ok(&result.history, "read"));
            assert!(
                cas + decided > 0 && reads > 10,
                "{name}, seed {seed}: {cas} cas, {reads} reads ok: tested nothing"
            );
            applied += cas;
        }
        assert!(applied > 0, "{name}: no compare-and-set applied on any seed");
    }
}

/// The control's cluster: reads at ONE, writes and compare-and-sets through Paxos, on `KEYS`
/// registers (the checker decides each key apart, so the histories stay small enough to
/// decide), one node isolated while the clients go on and then healed. A commit sent while a
/// replica is cut off is not hinted to it (as a missed Paxos commit in Cassandra is repaired only
/// by a later Paxos round or by repair), so reads at ONE on that replica after the heal can
/// return a value older than a completed write.
const KEYS: usize = 4;

#[test]
fn reads_at_one_beside_paxos_writes_are_not_linearizable() {
    let isolate = faults().into_iter().find(|(name, _)| *name == "isolate n3").map(|(_, s)| s).expect("a fault");
    let mut unknown = 0;
    // The first seed that shows a violation is enough; a check that runs out of its budget is
    // `unknown` and never counts as one.
    let violation = (1..=6u64).find(|&seed| {
        let mut cluster = ClusterConfig::new(3);
        cluster.node.read = Level::One;
        cluster.node.write = Level::Serial;
        cluster.sync = CommitLogSync::Batch;
        let mut config = SimConfig::new(seed, Kv::new(KEYS, KeyDistribution::Uniform));
        config.duration = secs(3.5);
        config.op_timeout = secs(1.5);
        config.faults = isolate.clone();
        let result = sim::run(QuorumSystem::new(cluster), &config).expect("runs");
        let started = std::time::Instant::now();
        let deadline = move || started.elapsed() > std::time::Duration::from_secs(60);
        let options = CheckOptions { deadline: &deadline, ..CheckOptions::default() };
        let verdict = check_named("cas-register", &result.history, &options).expect("checks");
        unknown += usize::from(verdict.outcome == Outcome::Unknown);
        verdict.outcome == Outcome::NotLinearizable
    });
    assert!(
        violation.is_some(),
        "reads at ONE beside Paxos writes: no stale read found on any seed ({unknown} undecided)"
    );
}
