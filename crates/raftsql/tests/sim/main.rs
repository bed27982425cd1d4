//! The replicated store under turmoil: served, checked, failed over, rolled back.

use std::time::Duration;

use checker::{check_named, staleness, CheckOptions, Outcome};
use history::{Event, EventType};
use raftsql::{AckMode, RaftConfig, RaftSystem, ReadMode};
use sim::{Fault, KeyDistribution, Kv, OpMix, RunResult, Schedule, SimConfig, LEADER};

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// Reads and writes of `keys` keys by 2 x 5 clients for `duration`, with `faults`.
fn kv(seed: u64, keys: usize, duration: f64, faults: Schedule) -> SimConfig {
    let mix = OpMix { read: 1, write: 1, cas: 0 };
    let mut config = SimConfig::new(seed, Kv { mix, ..Kv::new(keys, KeyDistribution::Uniform) });
    config.duration = secs(duration);
    config.op_timeout = secs(1.0);
    config.faults = faults;
    config
}

fn raft(ack: AckMode, read: ReadMode, seed: u64) -> RaftSystem {
    RaftSystem::new(RaftConfig { ack, read, seed, ..RaftConfig::default() })
}

fn run(system: RaftSystem, config: &SimConfig) -> RunResult {
    sim::run(system, config).unwrap_or_else(|e| panic!("seed {}: the run failed: {e}", config.seed))
}

fn ok(history: &[Event], f: &str) -> usize {
    history.iter().filter(|e| e.kind == EventType::Ok && e.f == f).count()
}

fn linearizable(history: &[Event]) -> Outcome {
    check_named("cas-register", history, &CheckOptions::default()).expect("a register history").outcome
}

#[test]
fn a_healthy_cluster_serves_linearizably_and_syncs_its_log() {
    let system = raft(AckMode::Majority, ReadMode::Leader, 1);
    let shared = std::rc::Rc::clone(&system.shared);
    let result = run(system, &kv(1, 10, 3.0, Schedule::new()));
    assert!(ok(&result.history, "write") > 50, "writes acknowledged: {}", ok(&result.history, "write"));
    assert!(ok(&result.history, "read") > 50);
    assert_eq!(linearizable(&result.history), Outcome::Linearizable);
    assert!(result.syncs.is_some_and(|s| s > 50), "{:?}", result.syncs);
    let log = result.leaders.expect("a leader log");
    assert_eq!(log.reigns.len(), 1, "one election: {:?}", log.reigns);
    assert!(log.reigns[0].first_write_ack.is_some());
    assert_eq!(log.rolled_back_acks, 0);
    assert!(shared.messages.get() > 0);
}

#[test]
fn the_same_seed_gives_the_same_history() {
    let faults = Schedule::new().at(secs(2.5), Fault::crash(LEADER)).at(secs(3.5), Fault::restart(LEADER));
    let a = run(raft(AckMode::Majority, ReadMode::Leader, 3), &kv(3, 5, 5.0, faults.clone()));
    let b = run(raft(AckMode::Majority, ReadMode::Leader, 3), &kv(3, 5, 5.0, faults));
    assert!(a.leaders.as_ref().is_some_and(|log| log.reigns.len() >= 2), "{:?}", a.leaders);
    assert_eq!(format!("{:?}", a.history), format!("{:?}", b.history));
    assert_eq!(a.faults, b.faults);
}

/// The leader cut off from every host: a new one is elected, acknowledges writes within a few
/// election timeouts, and nothing acknowledged is lost.
#[test]
fn an_isolated_leader_is_replaced_and_nothing_is_lost() {
    for seed in 1..=3 {
        let mut faults = Schedule::new();
        // The first election ends within 2 s (timeouts are drawn from [1 s, 2 s)).
        faults.push(secs(3.0), Fault::partition([LEADER], ["n1", "n2", "n3", "client-0", "client-1"]));
        faults.push(secs(6.0), Fault::Heal);
        let result = run(raft(AckMode::Majority, ReadMode::Leader, seed), &kv(seed, 10, 8.0, faults));
        let log = result.leaders.clone().expect("a leader log");
        let failover = log.failover(secs(3.0), None);
        let window = failover.unavailable.unwrap_or_else(|| panic!("seed {seed}: no failover: {log:?}"));
        assert!(window < secs(3.0 * 2.0), "seed {seed}: failover took {window:?}");
        assert_eq!(linearizable(&result.history), Outcome::Linearizable, "seed {seed}");
        let judged = staleness::analyze(&result.history);
        assert!(judged.lost_writes.is_empty(), "seed {seed}: {:?}", judged.lost_writes);
        assert_eq!(log.rolled_back_acks, 0, "seed {seed}");
    }
}

/// The control: acknowledged by the leader alone, writes made while it was cut off from its
/// peers (its clients still reaching it) are rolled back when it rejoins, and the history then
/// fails the check the majority mode passes (linearizable, no acknowledged write lost).
#[test]
fn asynchronous_acknowledgement_loses_writes_on_failover() {
    let (mut rolled_back, mut failed) = (0, 0);
    for seed in 1..=3 {
        let mut faults = Schedule::new();
        faults.push(secs(3.0), Fault::partition([LEADER], ["n1", "n2", "n3"]));
        faults.push(secs(6.0), Fault::Heal);
        let result = run(raft(AckMode::Async, ReadMode::Leader, seed), &kv(seed, 10, 8.0, faults));
        rolled_back += result.leaders.expect("a leader log").rolled_back_acks;
        let lost = staleness::analyze(&result.history).lost_writes.len();
        failed += usize::from(lost > 0 || linearizable(&result.history) != Outcome::Linearizable);
    }
    assert!(rolled_back > 0, "no acknowledged write was rolled back");
    assert!(failed > 0, "every history passed the check");
}

#[test]
fn follower_reads_are_served_by_any_node() {
    let mut faults = Schedule::new();
    faults.push(secs(3.0), Fault::partition([LEADER], ["n1", "n2", "n3"]));
    faults.push(secs(4.5), Fault::Heal);
    let result = run(raft(AckMode::Majority, ReadMode::Follower, 2), &kv(2, 3, 5.0, faults));
    assert!(ok(&result.history, "read") > 50);
    assert!(ok(&result.history, "write") > 20);
}

#[test]
fn shards_split_the_keys_and_refuse_what_spans_them() {
    let config = RaftConfig { shards: 2, seed: 4, ..RaftConfig::default() };
    let system = RaftSystem::new(config);
    let result = run(system, &kv(4, 10, 2.0, Schedule::new()));
    assert!(ok(&result.history, "write") > 50);
    assert_eq!(linearizable(&result.history), Outcome::Linearizable);
    let log = result.leaders.expect("a leader log");
    let groups: std::collections::BTreeSet<usize> = log.reigns.iter().map(|r| r.group).collect();
    assert_eq!(groups.len(), 2, "each group elected a leader: {:?}", log.reigns);
}

#[test]
fn concurrent_leader_reads_share_one_read_index_round() {
    // Reads alone, by 10 clients: a ReadIndex round (a heartbeat to each of 2 followers and
    // their answers) serves every read that arrived while the previous round was in flight.
    // A round per read costs each read its 2 client messages and 4 peer messages, plus its
    // share of the periodic heartbeats: 7.2 messages a read on this seed, against 5.1 batched.
    let system = raft(AckMode::Majority, ReadMode::Leader, 5);
    let shared = std::rc::Rc::clone(&system.shared);
    let reads_only = OpMix { read: 1, write: 0, cas: 0 };
    let mut config = SimConfig::new(5, Kv { mix: reads_only, ..Kv::new(10, KeyDistribution::Uniform) });
    config.duration = secs(3.0);
    config.op_timeout = secs(1.0);
    let result = run(system, &config);
    let reads = ok(&result.history, "read");
    assert!(reads > 500, "reads served: {reads}");
    let per_read = shared.messages.get() as f64 / reads as f64;
    assert!(per_read < 6.0, "{per_read:.2} messages per read: a heartbeat round each");
}
