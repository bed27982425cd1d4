//! ABD under random message loss and delay: every recorded history is linearizable. LWW under
//! the same faults is the contrast (and must at least never break the driver's invariants).

mod common;

use checker::Outcome;
use common::{get, ms, put, run_workload, Chaos, Cluster};
use history::Value;
use proptest::prelude::*;
use quorum_core::{Failure, Hints, Mode, ReadRepair};

fn abd_cluster(size: u32, hints: Hints) -> Cluster {
    Cluster::new(size, move |c| {
        c.mode = Mode::Abd;
        c.hints = hints;
        c.read_repair = ReadRepair::Off;
        c.request_timeout = ms(200);
        c.suspect_for = ms(300);
        c.hint_retry = ms(100);
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn abd_histories_are_linearizable_under_drops_and_delays(
        seed in any::<u64>(),
        size in prop_oneof![Just(3u32), Just(5u32)],
        drop_per_mille in 0u64..250,
        max_delay_ms in 0u64..40,
        hints in prop_oneof![Just(Hints::Off), Just(Hints::Strict), Just(Hints::Sloppy)],
        clients in 2u64..6,
    ) {
        let mut cluster = abd_cluster(size, hints);
        let mut chaos = Chaos::new(seed, drop_per_mille, max_delay_ms);
        cluster.chaos = Some(Chaos::new(seed ^ 0x5eed, drop_per_mille, max_delay_ms));
        run_workload(&mut cluster, &mut chaos, clients, 2, 10, false);
        let completed = cluster.history.iter().filter(|e| e.kind == history::EventType::Ok).count();
        prop_assert!(completed >= 4, "only {} operations completed", completed);
        prop_assert_eq!(cluster.check(), Outcome::Linearizable);
    }
}

#[test]
fn the_same_seed_gives_the_same_run() {
    let run = || {
        let mut cluster = abd_cluster(5, Hints::Strict);
        cluster.chaos = Some(Chaos::new(7, 100, 20));
        let mut chaos = Chaos::new(11, 0, 0);
        run_workload(&mut cluster, &mut chaos, 4, 2, 10, false);
        (cluster.history.clone(), cluster.messages, cluster.now)
    };
    assert_eq!(run(), run());
}

#[test]
fn abd_survives_a_minority_partition_and_a_restart() {
    let mut cluster = abd_cluster(5, Hints::Strict);
    let replicas = cluster.replicas("k0");
    cluster.isolate(replicas[0]);
    let coordinator = replicas[1];
    assert_eq!(cluster.call(coordinator, put("k0", 1)), Ok(Value::Int(1)));
    assert_eq!(cluster.call(replicas[2], get("k0")), Ok(Value::Int(1)));
    cluster.crash(replicas[2]);
    let stuck = cluster.call(coordinator, put("k0", 2));
    assert!(matches!(stuck, Err(Failure::Timeout) | Err(Failure::Unavailable(_))), "no majority: {stuck:?}");
    cluster.restart(replicas[2]);
    cluster.heal();
    cluster.run_for(ms(400));
    let read = cluster.call(replicas[0], get("k0"));
    assert!(read == Ok(Value::Int(1)) || read == Ok(Value::Int(2)), "{read:?}");
    assert_eq!(cluster.check(), Outcome::Linearizable);
}
