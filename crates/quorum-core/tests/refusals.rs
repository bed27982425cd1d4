//! Replicas whose storage refuses or fails writes (full or failing disks), on the in-memory
//! cluster: a failed replica write never counts towards W, a write refused everywhere is a
//! definite failure that leaves no hint behind, and hints and anti-entropy carry the data to
//! a replica once its disk takes writes again.

mod common;

use std::time::Duration;

use common::{get, ms, put, Cluster};
use history::Value;
use quorum_core::{Failure, Hints, Level, Mode, ReadRepair};

fn config(hints: Hints, anti_entropy: Option<Duration>) -> impl Fn(&mut quorum_core::NodeConfig) {
    move |c| {
        c.mode = Mode::Lww;
        c.hints = hints;
        c.read_repair = ReadRepair::Off;
        c.anti_entropy = anti_entropy;
    }
}

fn set_full(cluster: &mut Cluster, nodes: &[u32], full: bool) {
    for &n in nodes {
        cluster.node(n).storage_mut().full = full;
    }
}

#[test]
fn a_write_every_replica_refuses_fails_definitely_and_leaves_no_hint() {
    for mode in [Mode::Lww, Mode::Abd] {
        let mut cluster = Cluster::new(3, |c| {
            config(Hints::Strict, None)(c);
            c.mode = mode;
        });
        assert_eq!(cluster.call(0, put("k", 1)), Ok(Value::Int(1)));
        set_full(&mut cluster, &[0, 1, 2], true);
        for level in [Level::One, Level::Quorum, Level::All] {
            let response = cluster.call_at(1, put("k", 2), None, Some(level));
            match response.result {
                Err(Failure::Unavailable(why)) => assert!(why.contains("disk full"), "{mode:?} {level:?}: {why}"),
                other => panic!("{mode:?} {level:?}: {other:?}"),
            }
        }
        cluster.run_for(ms(2_000));
        assert_eq!(cluster.pending_hints(), 0, "{mode:?}: a hint would make the failed write happen later");
        // Reads keep working, and see nothing of the refused writes.
        assert_eq!(cluster.call(2, get("k")), Ok(Value::Int(1)), "{mode:?}");
        set_full(&mut cluster, &[0, 1, 2], false);
        cluster.run_for(ms(2_000));
        for n in 0..3 {
            assert_eq!(cluster.value(n, "k"), Value::Int(1), "{mode:?}: node {n}");
        }
        assert!(cluster.node(0).stats().storage_refusals > 0);
    }
}

#[test]
fn a_replica_whose_write_failed_does_not_count_towards_w() {
    let mut cluster = Cluster::new(3, config(Hints::Off, None));
    // One replica's disk is full, another's fails every call: only one stores the write.
    cluster.node(1).storage_mut().full = true;
    cluster.node(2).storage_mut().failing = true;
    assert_eq!(cluster.call_at(0, put("k", 1), None, Some(Level::One)).result, Ok(Value::Int(1)));
    // QUORUM needs two: the failing replica may or may not have stored it, so the outcome
    // is unknown, not a definite failure.
    assert_eq!(cluster.call_at(0, put("k", 2), None, Some(Level::Quorum)).result, Err(Failure::Timeout));
    assert_eq!(cluster.value(1, "k"), Value::Nil, "the full replica stored nothing");
    // With only refusals besides, a quorum write that reached one replica is still not
    // definite: that replica holds it.
    cluster.node(2).storage_mut().failing = false;
    cluster.node(2).storage_mut().full = true;
    assert_eq!(cluster.call_at(0, put("k", 3), None, Some(Level::All)).result, Err(Failure::Timeout));
    assert_eq!(cluster.value(0, "k"), Value::Int(3));
}

#[test]
fn hints_and_anti_entropy_reach_a_replica_once_its_disk_takes_writes_again() {
    for (hints, anti_entropy) in [(Hints::Strict, None), (Hints::Off, Some(ms(300)))] {
        let what = format!("{hints:?}, anti-entropy {anti_entropy:?}");
        let mut cluster = Cluster::new(3, config(hints, anti_entropy));
        cluster.node(2).storage_mut().full = true;
        for i in 0..20 {
            let key = format!("k{}", i % 5);
            assert_eq!(cluster.call_at(0, put(&key, i), None, Some(Level::Quorum)).result, Ok(Value::Int(i)), "{what}");
        }
        cluster.run_for(ms(1_500));
        assert_eq!(cluster.value(2, "k0"), Value::Nil, "{what}: the full replica took a write");
        assert!(!cluster.diverged().is_empty(), "{what}");
        cluster.node(2).storage_mut().full = false;
        let start = cluster.now;
        while !(cluster.diverged().is_empty() && cluster.pending_hints() == 0) {
            assert!(cluster.now - start < Duration::from_secs(5), "{what}: {:?}", cluster.diverged());
            cluster.run_for(ms(10));
        }
        assert_eq!(cluster.value(2, "k4"), Value::Int(19), "{what}");
    }
}
