//! The SQLite store under the harness: linearizable while reachable, unavailable (never a
//! wrong `ok`) when not, durable exactly as far as `synchronous` promises, deterministic.

use std::time::Duration;

use checker::{check_named, set_loss, CheckOptions, Outcome};
use history::{EventType, Process};
use sim::{Fault, KeyDistribution, Kv, Register, Schedule, Set, SimConfig, Workload};
use sqlstore::{JournalMode, SqlSystem, StoreConfig, Synchronous};

use crate::support::{nanos, operations};

const SEEDS: u64 = 20;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn store(seed: u64, journal_mode: JournalMode, synchronous: Synchronous) -> StoreConfig {
    StoreConfig { journal_mode, synchronous, seed, ..StoreConfig::default() }
}

/// Client host 0 cut off from the server in [1 s, 2 s); the server crashed in [3 s, 3.5 s).
fn outages() -> Schedule {
    Schedule::new()
        .at(secs(1.0), Fault::partition(["client-0"], ["db"]))
        .at(secs(2.0), Fault::Heal)
        .at(secs(3.0), Fault::crash("db"))
        .at(secs(3.5), Fault::restart("db"))
}

fn config(seed: u64, workload: impl Workload, faults: Schedule) -> SimConfig {
    let mut config = SimConfig::new(seed, workload);
    config.duration = secs(5.0);
    config.op_timeout = secs(0.25);
    config.faults = faults;
    config
}

#[test]
fn histories_are_linearizable_under_partitions_and_crashes_and_outages_never_answer_ok() {
    for seed in 0..SEEDS {
        let config = if seed % 2 == 0 {
            config(seed, Register::default(), outages())
        } else {
            config(seed, Kv::new(4, KeyDistribution::Zipf(1.0)), outages())
        };
        let journal = if seed % 4 < 2 { JournalMode::Wal } else { JournalMode::Delete };
        let system = SqlSystem::new(store(seed, journal, Synchronous::Full));
        let run = sim::run(system, &config).expect("the run completes");
        let verdict = check_named("cas-register", &run.history, &CheckOptions::default()).expect("the history checks");
        assert_eq!(verdict.outcome, Outcome::Linearizable, "seed {seed} ({journal:?})");

        let clients = config.total_clients() as u64;
        let per_host = config.clients_per_host as u64;
        let mut during_outage = 0;
        let mut ok_total = 0;
        for (invoke, done) in operations(&run.history) {
            let (start, end) = (invoke.time.unwrap_or(0), done.time.unwrap_or(u64::MAX));
            let Process::Client(p) = invoke.process else { continue };
            let on_cut_host = (p % clients) < per_host;
            let inside = |from: f64, to: f64| start >= nanos(from) && end < nanos(to);
            // Started after the cut (plus one latency) and ended before the repair.
            let partitioned = on_cut_host && inside(1.02, 2.0);
            let crashed = inside(3.0, 3.5);
            if partitioned || crashed {
                during_outage += 1;
                assert_ne!(done.kind, EventType::Ok, "seed {seed}: ok during an outage: {invoke:?} -> {done:?}");
            }
            ok_total += usize::from(done.kind == EventType::Ok);
        }
        assert!(during_outage > 0, "seed {seed}: operations were attempted during the outages");
        assert!(ok_total > 500, "seed {seed}: only {ok_total} operations succeeded");
    }
}

/// Two crash-restart cycles in the middle of a set workload.
fn crashes() -> Schedule {
    Schedule::new()
        .at(secs(1.5), Fault::crash("db"))
        .at(secs(2.0), Fault::restart("db"))
        .at(secs(3.0), Fault::crash("db"))
        .at(secs(3.3), Fault::restart("db"))
}

fn set_run(seed: u64, store: StoreConfig) -> set_loss::SetLoss {
    let system = SqlSystem::new(store);
    let run = sim::run(system, &config(seed, Set, crashes())).expect("the run completes");
    set_loss::analyze(&run.history)
}

#[test]
fn synchronous_full_loses_no_acknowledged_write_across_crashes() {
    for seed in 0..SEEDS {
        let journal = if seed % 2 == 0 { JournalMode::Wal } else { JournalMode::Delete };
        let loss = set_run(seed, store(seed, journal, Synchronous::Full));
        assert!(loss.final_read, "seed {seed}: the final read succeeded");
        assert!(loss.acknowledged > 100, "seed {seed}: {} adds acknowledged", loss.acknowledged);
        assert!(loss.lost.is_empty(), "seed {seed} ({journal:?}): lost {:?}", loss.lost);
        assert!(loss.unexpected.is_empty(), "seed {seed}: unexpected {:?}", loss.unexpected);
    }
}

#[test]
fn synchronous_off_loses_acknowledged_writes_in_a_crash() {
    // With a kernel write-back every 500 ms, OFF loses what was acknowledged since the last
    // write-back. Found on these seeds and asserted, so the VFS provably drops unsynced data.
    let mut lost = Vec::new();
    for seed in 0..4 {
        let mut config = store(seed, JournalMode::Wal, Synchronous::Off);
        config.writeback = Some(secs(0.5));
        let loss = set_run(seed, config);
        assert!(loss.final_read, "seed {seed}: the final read succeeded");
        lost.push(loss.lost.len());
    }
    assert!(lost.iter().any(|&n| n > 0), "no acknowledged add was lost on any seed: {lost:?}");
}

#[test]
fn the_same_seed_gives_the_same_history_bytes() {
    let run = |seed| {
        let system = SqlSystem::new(store(seed, JournalMode::Delete, Synchronous::Full));
        let workload = Kv::new(8, KeyDistribution::Uniform);
        let result = sim::run(system, &config(seed, workload, outages())).expect("the run completes");
        (history::jsonl::to_string(&result.history), result.messages, result.steps, result.elapsed)
    };
    let first = run(7);
    assert!(first.0.lines().count() > 1000);
    assert_eq!(first, run(7), "same seed: same history bytes, messages, steps and elapsed time");
    assert_ne!(first.0, run(8).0, "another seed, another history");
}
