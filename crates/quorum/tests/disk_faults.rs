//! The quorum store under turmoil's disk faults for whole runs (`SimConfig::disk`): random
//! I/O errors and small disks. Runs complete, acknowledged writes survive, ABD stays
//! linearizable, failures are real and full disks say so.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use checker::{check_named, set_loss, staleness, CheckOptions, Outcome};
use history::{Event, EventType};
use quorum::client::QuorumClient;
use quorum::{ClusterConfig, Level, Mode, QuorumSystem, ReadRepair};
use sim::{
    CallError, Client, DiskFaults, KeyDistribution, Kv, LocalFuture, OpMix, Operation, Reply, SimConfig, System,
};
use sim::{RunResult, Set};

/// The quorum system, with every failure reason its clients saw counted.
#[derive(Clone)]
struct Recorded {
    inner: QuorumSystem,
    reasons: Rc<RefCell<BTreeMap<String, u64>>>,
}

struct RecordedClient {
    inner: QuorumClient,
    reasons: Rc<RefCell<BTreeMap<String, u64>>>,
}

impl System for Recorded {
    type Client = RecordedClient;
    fn servers(&self) -> Vec<String> {
        self.inner.servers()
    }
    fn serve(&self, host: &str) -> LocalFuture<turmoil::Result> {
        self.inner.serve(host)
    }
    fn client(&self, client: usize) -> RecordedClient {
        RecordedClient { inner: self.inner.client(client), reasons: Rc::clone(&self.reasons) }
    }
    fn skew_clock(&self, host: &str, offset_ms: i64) {
        self.inner.skew_clock(host, offset_ms);
    }
    fn messages_sent(&self) -> u64 {
        self.inner.messages_sent()
    }
}

impl Client for RecordedClient {
    async fn call(&mut self, operation: &Operation) -> Result<Reply, CallError> {
        let outcome = self.inner.call(operation).await;
        let reason = match &outcome {
            Ok(Reply::Fail(why)) => Some(format!("fail: {why}")),
            Err(error) => Some(format!("error: {error}")),
            Ok(Reply::Ok(_)) => None,
        };
        if let Some(reason) = reason {
            *self.reasons.borrow_mut().entry(reason).or_default() += 1;
        }
        outcome
    }
    fn reset(&mut self) {
        self.inner.reset();
    }
}

/// What a run gave.
struct Outcomes {
    run: RunResult,
    reasons: BTreeMap<String, u64>,
    restarts: u64,
    failed_starts: u64,
}

impl Outcomes {
    fn count(&self, kind: EventType) -> usize {
        self.run.history.iter().filter(|e| e.kind == kind).count()
    }

    fn reason_count(&self, part: &str) -> u64 {
        self.reasons.iter().filter(|(why, _)| why.contains(part)).map(|(_, n)| n).sum()
    }
}

fn kv_config(seed: u64, disk: DiskFaults) -> SimConfig {
    // The store offers no compare-and-set.
    let mix = OpMix { read: 1, write: 1, cas: 0 };
    let mut config = SimConfig::new(seed, Kv { mix, ..Kv::new(10, KeyDistribution::Uniform) });
    config.duration = Duration::from_secs(5);
    config.op_timeout = Duration::from_millis(500);
    config.disk = disk;
    config
}

fn run(cluster: ClusterConfig, config: &SimConfig) -> Outcomes {
    let system = QuorumSystem::new(cluster);
    let recorded = Recorded { inner: system.clone(), reasons: Rc::default() };
    let reasons = Rc::clone(&recorded.reasons);
    let run = sim::run(recorded, config).unwrap_or_else(|e| panic!("seed {}: the run failed: {e}", config.seed));
    let reasons = reasons.borrow().clone();
    Outcomes { run, reasons, restarts: system.restarts().restarts(), failed_starts: system.restarts().failed_starts() }
}

fn io_errors(p: f64) -> DiskFaults {
    DiskFaults { capacity_bytes: None, io_error_probability: p }
}

/// R = W = 1, with anti-entropy: an acknowledged write is durable on one replica, and the
/// others learn it through hints or, when a hint was lost with a restarting node's memory
/// (one whose disk would not persist it), through anti-entropy; the final reads (R = 1)
/// come after the quiet period.
fn one_one() -> ClusterConfig {
    let mut cluster = ClusterConfig::new(3);
    cluster.node.read = Level::One;
    cluster.node.write = Level::One;
    cluster.node.anti_entropy = Some(Duration::from_millis(300));
    cluster
}

fn summary(what: &str, o: &Outcomes, extra: &str) {
    let (ok, fail, info) = (o.count(EventType::Ok), o.count(EventType::Fail), o.count(EventType::Info));
    eprintln!(
        "{what}: ok/fail/info {ok}/{fail}/{info}, restarts {}, failed starts {}, {extra}; {:?}",
        o.restarts, o.failed_starts, o.reasons
    );
}

#[test]
fn random_io_errors_lose_no_acknowledged_write() {
    for (levels, p) in [("ONE", 0.001), ("ONE", 0.01), ("QUORUM", 0.01)] {
        let (mut faults, mut restarts) = (0, 0);
        for seed in 1..=3u64 {
            let cluster = if levels == "ONE" { one_one() } else { ClusterConfig::new(3) };
            let o = run(cluster, &kv_config(seed, io_errors(p)));
            let s = staleness::analyze(&o.run.history);
            let what = format!("{levels} p={p} seed {seed}");
            summary(&what, &o, &format!("{} acked writes", s.acknowledged_writes));
            assert_eq!(s.final_reads, 10, "{what}: every key was read at the end");
            assert!(s.acknowledged_writes > 300, "{what}: {} acknowledged writes", s.acknowledged_writes);
            assert_eq!(s.lost_writes, vec![], "{what}: acknowledged writes lost");
            faults += o.count(EventType::Fail) + o.count(EventType::Info);
            restarts += o.restarts;
        }
        assert!(faults > 0, "{levels} p={p}: no operation failed: the fault is not real");
        assert!(restarts > 0, "{levels} p={p}: no node ever restarted after a disk failure");
    }
}

#[test]
fn abd_stays_linearizable_under_random_io_errors() {
    for seed in 1..=3u64 {
        let mut cluster = ClusterConfig::new(3);
        cluster.node.mode = Mode::Abd;
        let o = run(cluster, &kv_config(seed, io_errors(0.01)));
        summary(&format!("ABD seed {seed}"), &o, "");
        let verdict = check_named("cas-register", &o.run.history, &CheckOptions::default()).expect("checks");
        assert_eq!(verdict.outcome, Outcome::Linearizable, "seed {seed}");
        assert!(o.count(EventType::Ok) > 500, "seed {seed}: progress");
        assert!(o.count(EventType::Fail) + o.count(EventType::Info) > 0, "seed {seed}: no fault struck");
    }
}

/// One client adding to the set (sequential read-modify-writes, so any loss is the store's),
/// on disks too small for the set: the cluster ends up refusing every add.
fn full_disk_set(seed: u64, capacity: u64) -> Outcomes {
    let mut cluster = ClusterConfig::new(3);
    // Blocking read repair must write, and a full disk refuses that; the final read would
    // then fail wherever the replicas diverged (a read that cannot repair is not answered).
    cluster.node.read_repair = ReadRepair::Async;
    let mut config = SimConfig::new(seed, Set);
    config.duration = Duration::from_secs(8);
    config.client_hosts = 1;
    config.clients_per_host = 1;
    config.disk = DiskFaults { capacity_bytes: Some(capacity), io_error_probability: 0.0 };
    run(cluster, &config)
}

#[test]
fn full_disks_refuse_adds_cleanly_and_lose_nothing_acknowledged() {
    for seed in 1..=2u64 {
        let o = full_disk_set(seed, 96 << 10);
        let loss = set_loss::analyze(&o.run.history);
        summary(
            &format!("set seed {seed}"),
            &o,
            &format!("{} of {} adds acknowledged", loss.acknowledged, loss.attempted),
        );
        assert!(loss.final_read, "seed {seed}: the final read failed: reads must keep working");
        assert!(loss.lost.is_empty(), "seed {seed}: lost {:?}", loss.lost);
        assert!(loss.acknowledged > 100, "seed {seed}: {loss:?}");
        // Every failure is a definite refusal that says why.
        let full = o.reason_count("every replica refused the write: disk full");
        assert!(full > 0, "seed {seed}: no add was refused: the disk never filled");
        assert_eq!(full, o.reasons.values().sum::<u64>(), "seed {seed}: {:?}", o.reasons);
        assert_eq!(o.count(EventType::Fail) as u64, full, "seed {seed}");
        assert_eq!(o.restarts + o.failed_starts, 0, "seed {seed}: a full disk is no reason to restart");
    }
}

/// Reads and writes of ten keys never fill the disk for good: the engines reclaim their
/// commit logs and the store keeps taking writes.
#[test]
fn a_small_disk_does_not_wedge_the_store() {
    for seed in 1..=2u64 {
        let mut cluster = one_one();
        cluster.write = Some(Level::All);
        let o =
            run(cluster, &kv_config(seed, DiskFaults { capacity_bytes: Some(64 << 10), io_error_probability: 0.0 }));
        let s = staleness::analyze(&o.run.history);
        summary(&format!("kv seed {seed}"), &o, &format!("{} acked writes", s.acknowledged_writes));
        assert_eq!(s.lost_writes, vec![], "seed {seed}");
        assert_eq!(s.final_reads, 10, "seed {seed}");
        // Nothing else fails in these runs: writes at ALL that full replicas refused.
        assert!(o.count(EventType::Info) + o.count(EventType::Fail) > 0, "seed {seed}: the disk never filled");
        let late_ok = late_acknowledged_writes(&o.run.history, Duration::from_secs(4));
        assert!(late_ok > 50, "seed {seed}: only {late_ok} writes acknowledged in the last second");
    }
}

fn late_acknowledged_writes(history: &[Event], after: Duration) -> usize {
    let after = u64::try_from(after.as_nanos()).unwrap_or(u64::MAX);
    history.iter().filter(|e| e.kind == EventType::Ok && e.f == "write" && e.time.is_some_and(|t| t >= after)).count()
}

#[test]
fn restarts_after_disk_failures_are_deterministic() {
    let once = || {
        let o = run(one_one(), &kv_config(4, io_errors(0.01)));
        (o.run.history, o.restarts, o.failed_starts)
    };
    let (first, second) = (once(), once());
    assert!(first.1 > 0, "no restart happened");
    assert_eq!(first, second);
}
