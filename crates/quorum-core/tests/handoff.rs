//! Hinted handoff (strict and sloppy), level ANY, hints across restarts, anti-entropy.

mod common;

use std::time::Duration;

use common::{get, ms, put, run_workload, Chaos, Cluster};
use history::Value;
use proptest::prelude::*;
use quorum_core::{Failure, Hints, Level, Mode, ReadRepair};

fn config(hints: Hints, anti_entropy: Option<Duration>) -> impl Fn(&mut quorum_core::NodeConfig) {
    move |c| {
        c.mode = Mode::Lww;
        c.hints = hints;
        c.read_repair = ReadRepair::Off;
        c.anti_entropy = anti_entropy;
    }
}

/// Runs until no key diverges and no hint is pending; returns how long that took.
fn converge(cluster: &mut Cluster, limit: Duration) -> Duration {
    let start = cluster.now;
    while !(cluster.diverged().is_empty() && cluster.pending_hints() == 0) {
        assert!(cluster.now - start < limit, "not converged after {limit:?}: {:?}", cluster.diverged());
        cluster.run_for(ms(10));
    }
    cluster.now - start
}

#[test]
fn hinted_handoff_delivers_after_heal_and_replicas_converge() {
    let mut cluster = Cluster::new(5, config(Hints::Strict, None));
    let replicas = cluster.replicas("x");
    let (down, coordinator) = (replicas[2], replicas[0]);
    cluster.isolate(down);
    for i in 0..10 {
        let key = if i % 2 == 0 { "x".to_owned() } else { format!("y{i}") };
        let result = cluster.call(coordinator, put(&key, i));
        assert_eq!(result, Ok(Value::Int(i)));
    }
    cluster.run_for(ms(1500));
    assert!(cluster.node(coordinator).pending_hints().get(&down).is_some_and(|&n| n > 0));
    assert_eq!(cluster.value(down, "x"), Value::Nil);
    cluster.heal();
    let took = converge(&mut cluster, Duration::from_secs(5));
    assert!(took <= ms(2600), "handoff took {took:?}");
    assert_eq!(cluster.value(down, "x"), Value::Int(8));
    assert!(cluster.node(coordinator).stats().hints_delivered > 0);
}

/// Key "x" on 5 nodes with two of its three replicas cut off (and known to be, through
/// unreachable notices): a QUORUM write can only succeed through fallbacks.
fn two_replicas_down(hints: Hints) -> (Cluster, Vec<u32>) {
    let mut cluster = Cluster::new(5, config(hints, None));
    cluster.notices = true;
    let replicas = cluster.replicas("x");
    let others: Vec<u32> = (0..5).filter(|n| !replicas[1..].contains(n)).collect();
    cluster.partition(&replicas[1..], &others);
    (cluster, replicas)
}

#[test]
fn sloppy_hints_count_toward_w_while_strict_do_not() {
    let (mut cluster, replicas) = two_replicas_down(Hints::Strict);
    let coordinator = replicas[0];
    assert_eq!(cluster.call(coordinator, put("x", 1)), Err(Failure::Timeout), "unreachable replicas found");
    let refused = cluster.call(coordinator, put("x", 2));
    assert!(matches!(refused, Err(Failure::Unavailable(_))), "{refused:?}");
    cluster.heal();
    converge(&mut cluster, Duration::from_secs(5));
    assert_eq!(cluster.value(replicas[2], "x"), Value::Int(1), "the timed-out write was handed off");

    let (mut cluster, replicas) = two_replicas_down(Hints::Sloppy);
    let coordinator = replicas[0];
    assert_eq!(cluster.call(coordinator, put("x", 1)), Ok(Value::Int(1)), "a fallback stood in");
    assert_eq!(cluster.call(coordinator, put("x", 2)), Ok(Value::Int(2)), "fallbacks chosen up front");
    assert_eq!(
        cluster.call(coordinator, get("x")),
        Err(Failure::Unavailable("1 of 3 replicas reachable, 2 needed".into()))
    );
    let fallbacks = cluster.ring().fallbacks("x", 3);
    let holders: usize = fallbacks.iter().map(|f| cluster.node(*f).pending_hints().len()).sum();
    assert!(holders >= 1, "fallbacks hold hints");
    assert_eq!(cluster.value(fallbacks[0], "x"), Value::Nil, "hints are not data");
    cluster.heal();
    converge(&mut cluster, Duration::from_secs(5));
    for replica in &replicas {
        assert_eq!(cluster.value(*replica, "x"), Value::Int(2));
    }
    assert_eq!(cluster.call(replicas[1], get("x")), Ok(Value::Int(2)));
}

#[test]
fn any_counts_a_stored_hint_and_hints_survive_a_restart() {
    let mut cluster = Cluster::new(5, config(Hints::Strict, None));
    cluster.notices = true;
    let replicas = cluster.replicas("x");
    let coordinator = cluster.ring().fallbacks("x", 3)[0];
    let others: Vec<u32> = (0..5).filter(|n| !replicas.contains(n)).collect();
    cluster.partition(&replicas, &others);
    let any = Some(Level::Any);
    // The first attempt finds every replica unreachable.
    assert_eq!(cluster.call_at(coordinator, put("x", 1), None, any).result, Err(Failure::Timeout));
    // Now they are suspect: ANY is satisfied by the coordinator's own hint.
    assert_eq!(cluster.call_at(coordinator, put("x", 2), None, any).result, Ok(Value::Int(2)));
    let one = cluster.call_at(coordinator, put("x", 3), None, Some(Level::One)).result;
    assert!(matches!(one, Err(Failure::Unavailable(_))), "ONE needs a replica: {one:?}");
    assert_eq!(cluster.node(coordinator).pending_hints().values().sum::<usize>(), 3);
    // The coordinator restarts; its hints come back from storage.
    cluster.crash(coordinator);
    cluster.run_for(ms(100));
    cluster.restart(coordinator);
    assert_eq!(cluster.node(coordinator).pending_hints().values().sum::<usize>(), 3);
    cluster.heal();
    converge(&mut cluster, Duration::from_secs(5));
    for replica in &replicas {
        assert_eq!(cluster.value(*replica, "x"), Value::Int(2));
    }
    // Delivered hints stay delivered across another restart.
    cluster.crash(coordinator);
    cluster.restart(coordinator);
    assert!(cluster.node(coordinator).pending_hints().is_empty());
}

/// Writes while one replica of every key is silently partitioned, with no hints and no read
/// repair; returns the cluster after the heal.
fn missed_writes(anti_entropy: Option<Duration>) -> Cluster {
    let mut cluster = Cluster::new(5, config(Hints::Off, anti_entropy));
    cluster.isolate(4);
    for i in 0..40 {
        let key = format!("k{i}");
        let coordinator = (i % 4) as u32;
        assert_eq!(cluster.call(coordinator, put(&key, i)), Ok(Value::Int(i)));
    }
    cluster.run_for(ms(500));
    cluster.heal();
    cluster
}

#[test]
fn anti_entropy_converges_replicas_that_missed_writes() {
    let mut control = missed_writes(None);
    assert!(!control.diverged().is_empty(), "node 4 missed writes");
    control.run_for(ms(5000));
    assert!(!control.diverged().is_empty(), "nothing repairs them without anti-entropy");

    let period = ms(300);
    let mut cluster = missed_writes(Some(period));
    let took = converge(&mut cluster, Duration::from_secs(5));
    assert!(took <= period * 3, "anti-entropy took {took:?}");
    assert!(cluster.node(4).stats().ae_rounds > 0);
    let messages = cluster.messages;
    cluster.run_for(period * 4);
    let idle = cluster.messages - messages;
    // Converged replicas exchange digests only: at most one per sharing peer per period.
    assert!(idle <= 5 * 4 * 5, "{idle} messages while converged");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever the faults did, once they stop, anti-entropy and hints make every key's
    /// replicas equal within a bounded time, and every hint gets delivered.
    #[test]
    fn replicas_converge_after_faults_stop(
        seed in any::<u64>(),
        size in 3u32..=6,
        drop_per_mille in 0u64..300,
        max_delay_ms in 0u64..50,
        hints in prop_oneof![Just(Hints::Off), Just(Hints::Strict), Just(Hints::Sloppy)],
        read_repair in prop_oneof![Just(ReadRepair::Off), Just(ReadRepair::Async), Just(ReadRepair::Blocking)],
        isolated in proptest::option::of(0u32..3),
        notices in any::<bool>(),
    ) {
        let mut cluster = Cluster::new(size, move |c| {
            c.hints = hints;
            c.read_repair = read_repair;
            c.anti_entropy = Some(ms(200));
            c.request_timeout = ms(200);
            c.hint_retry = ms(100);
            c.suspect_for = ms(300);
        });
        cluster.notices = notices;
        if let Some(node) = isolated {
            cluster.isolate(node);
        }
        cluster.chaos = Some(Chaos::new(seed, drop_per_mille, max_delay_ms));
        let mut clients = Chaos::new(seed.rotate_left(17), 0, 0);
        run_workload(&mut cluster, &mut clients, 4, 4, 10, true);
        cluster.chaos = None;
        cluster.heal();
        let took = converge(&mut cluster, Duration::from_secs(3));
        prop_assert!(took <= Duration::from_secs(3));
    }
}

/// Key "x" with one replica cut off (and known to be) for `cut` under a hint window of 2 s:
/// "x" is written at the start and again just before the heal. Returns the cluster after the
/// heal, the replica that was down and the coordinator.
fn down_for(cut: Duration, anti_entropy: Option<Duration>) -> (Cluster, u32, u32) {
    let base = config(Hints::Strict, anti_entropy);
    let mut cluster = Cluster::new(5, move |c| {
        base(c);
        c.max_hint_window = ms(2000);
    });
    cluster.notices = true;
    let replicas = cluster.replicas("x");
    let (down, coordinator) = (replicas[2], replicas[0]);
    cluster.isolate(down);
    assert_eq!(cluster.call(coordinator, put("x", 1)), Ok(Value::Int(1)));
    cluster.run_for(cut);
    assert_eq!(cluster.call(coordinator, put("x", 2)), Ok(Value::Int(2)));
    cluster.heal();
    (cluster, down, coordinator)
}

#[test]
fn within_the_hint_window_hints_are_delivered() {
    let (mut cluster, down, coordinator) = down_for(ms(1500), None);
    converge(&mut cluster, Duration::from_secs(3));
    assert_eq!(cluster.value(down, "x"), Value::Int(2));
    let stats = cluster.node(coordinator).stats().clone();
    assert_eq!((stats.hints_expired, stats.hints_skipped_down), (0, 0));
    assert!(stats.hints_delivered > 0);
}

#[test]
fn beyond_the_hint_window_hints_expire_and_only_repair_helps() {
    let (mut cluster, down, coordinator) = down_for(ms(2600), None);
    let stats = cluster.node(coordinator).stats().clone();
    assert!(stats.hints_expired >= 1, "the first write's hint expired: {stats:?}");
    assert!(stats.hints_skipped_down >= 1, "the second write left no hint: {stats:?}");
    assert_eq!(cluster.pending_hints(), 0);
    cluster.run_for(ms(3000));
    assert_eq!(cluster.value(down, "x"), Value::Nil, "nothing reaches the replica without repair");
    assert_eq!(cluster.diverged(), vec!["x".to_owned()]);

    let (mut cluster, down, _) = down_for(ms(2600), Some(ms(300)));
    converge(&mut cluster, Duration::from_secs(3));
    assert_eq!(cluster.value(down, "x"), Value::Int(2), "anti-entropy repaired it");
}
