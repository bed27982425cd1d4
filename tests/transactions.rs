//! Transactions under faults, checked by the transaction checker (`checker::txn`): SQLite with
//! several connections arbitrating its locks (rollback journal or WAL, `synchronous=FULL`) keeps the
//! bank's books and serializes list-append transactions through a crash, a power loss, a kill
//! and a partition, over several seeds, and each run committed transactions and had some wait
//! for a lock another connection held (so the locks were contended). The controls, where the same checks must
//! fail: the quorum store at QUORUM and SQLite running the same transactions step by step
//! (the non-transactional equivalent) show anomalies and broken books.

use std::time::{Duration, Instant};

use checker::txn::{check_bank, check_list_append, IsolationLevel, TxnOptions, TxnReport};
use history::Event;
use quorum::{ClusterConfig, QuorumSystem};
use sim::{Bank, Fault, KeyDistribution, ListAppend, Schedule, SimConfig, System, Workload};
use sqlstore::{BeginMode, JournalMode, SqlSystem, StoreConfig, Synchronous};

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

const SEEDS: [u64; 3] = [1, 2, 3];

/// SQLite with `connections` connections in journal mode `mode`, synced commits.
fn sqlite(mode: JournalMode, connections: usize, begin: BeginMode) -> SqlSystem {
    let config = StoreConfig {
        journal_mode: mode,
        synchronous: Synchronous::Full,
        connections,
        begin,
        busy_timeout: secs(1.0),
        ..StoreConfig::default()
    };
    SqlSystem::new(config)
}

/// The faults SQLite's one server can suffer (host `db`).
fn faults() -> Vec<(&'static str, Schedule)> {
    vec![
        ("none", Schedule::new()),
        ("crash-restart", Schedule::new().at(secs(1.0), Fault::crash("db")).at(secs(1.6), Fault::restart("db"))),
        ("kill", Schedule::new().at(secs(1.0), Fault::kill("db")).at(secs(1.6), Fault::restart("db"))),
        (
            "partition",
            Schedule::new()
                .at(secs(0.8), Fault::partition(["db", "client-0"], ["client-1"]))
                .at(secs(1.8), Fault::Heal),
        ),
    ]
}

fn config(seed: u64, workload: impl Workload, faults: Schedule) -> SimConfig {
    let mut config = SimConfig::new(seed, workload);
    config.duration = secs(3.0);
    config.op_timeout = secs(2.0);
    config.client_hosts = 2;
    config.clients_per_host = 6;
    config.faults = faults;
    config
}

fn run(system: impl System, config: &SimConfig) -> Vec<Event> {
    let run = sim::run(system, config).unwrap_or_else(|e| panic!("seed {}: the run failed: {e}", config.seed));
    run.history
}

fn list_append(history: &[Event]) -> TxnReport {
    let started = Instant::now();
    let deadline = move || started.elapsed() > secs(60.0);
    let options = TxnOptions { deadline: &deadline, memory_limit_bytes: 1 << 30, realtime: true };
    check_list_append(history, &options).expect("a well-formed list-append history")
}

/// The journal and begin modes the list-append test runs SQLite in.
const MODES: [(JournalMode, BeginMode); 4] = [
    (JournalMode::Delete, BeginMode::Immediate),
    (JournalMode::Delete, BeginMode::Deferred),
    (JournalMode::Wal, BeginMode::Immediate),
    (JournalMode::Wal, BeginMode::Deferred),
];

/// Hot keys, so that transactions meet.
fn hot() -> ListAppend {
    ListAppend { keys: 4, distribution: KeyDistribution::Zipf(1.0), ..ListAppend::default() }
}

#[test]
fn sqlite_with_several_connections_serializes_list_append_under_faults() {
    for (fault, schedule) in faults() {
        for seed in SEEDS {
            for (mode, begin) in MODES {
                let system = sqlite(mode, 4, begin);
                let busy = std::rc::Rc::clone(&system.busy);
                let history = run(system, &config(seed, hot(), schedule.clone()));
                let report = list_append(&history);
                let at = format!("{fault}, seed {seed}, {mode:?}, {begin:?}");
                assert!(report.committed > 50, "{at}: {} committed", report.committed);
                assert!(report.anomalies.is_empty(), "{at}: {}", report.anomalies[0]);
                assert_eq!(report.strongest, Some(IsolationLevel::StrictSerializable), "{at}");
                // The locks were contended: some transaction found one taken, and waited or
                // (WAL, deferred: a reader asking to write) was refused at once.
                let met = busy.retries.get() + busy.deadlocks.get();
                assert!(met > 0, "{at}: no transaction ever met a lock another held");
            }
        }
    }
}

#[test]
fn sqlite_with_several_connections_keeps_the_books_under_faults() {
    for (fault, schedule) in faults() {
        for seed in SEEDS {
            for mode in [JournalMode::Delete, JournalMode::Wal] {
                let system = sqlite(mode, 4, BeginMode::Immediate);
                let history = run(system, &config(seed, Bank::default(), schedule.clone()));
                let report = check_bank(&history, Some(100)).expect("a well-formed bank history");
                let at = format!("{fault}, seed {seed}, {mode:?}");
                assert!(report.transfers_ok > 20 && report.reads_ok > 20, "{at}: {report:?}");
                assert!(report.violations.is_empty(), "{at}: {}", report.violations[0]);
            }
        }
    }
}

#[test]
fn without_transactions_the_same_checks_fail() {
    // The quorum store at QUORUM, fault-free: read-modify-write appends race.
    let history = run(QuorumSystem::new(ClusterConfig::new(3)), &config(1, hot(), Schedule::new()));
    let report = list_append(&history);
    assert!(!report.anomalies.is_empty(), "the quorum store isolated every transaction");
    assert_ne!(report.strongest, Some(IsolationLevel::StrictSerializable));
    let history = run(QuorumSystem::new(ClusterConfig::new(3)), &config(1, Bank::default(), Schedule::new()));
    let bank = check_bank(&history, Some(100)).expect("well-formed");
    assert!(!bank.violations.is_empty(), "the quorum store kept the books without transactions");

    // SQLite, the same transactions step by step.
    let mut steps = sqlite(JournalMode::Delete, 4, BeginMode::Immediate);
    steps.transactions = false;
    let report = list_append(&run(steps.clone(), &config(1, hot(), Schedule::new())));
    assert!(!report.anomalies.is_empty(), "step by step, SQLite still isolated every transaction");
    let bank = check_bank(&run(steps, &config(1, Bank::default(), Schedule::new())), Some(100)).expect("well-formed");
    assert!(!bank.violations.is_empty(), "step by step, SQLite still kept the books");
}
