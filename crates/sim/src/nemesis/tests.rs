use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::apply::fault_windows;
use crate::rng::Rng;

fn cluster(servers: usize, clients: usize) -> Cluster {
    Cluster::new((1..=servers).map(|i| format!("n{i}")), (0..clients).map(crate::client_host_name))
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The links a set of partitions cuts, each pair in name order.
fn cut_links(faults: &[Fault]) -> BTreeSet<(String, String)> {
    let mut cut = BTreeSet::new();
    for fault in faults {
        let Fault::Partition { left, right } = fault else { panic!("not a partition: {fault}") };
        for a in left {
            for b in right.iter().filter(|b| *b != a) {
                cut.insert(if a < b { (a.clone(), b.clone()) } else { (b.clone(), a.clone()) });
            }
        }
    }
    cut
}

fn connected(cut: &BTreeSet<(String, String)>, a: &str, b: &str) -> bool {
    let pair = if a < b { (a.to_owned(), b.to_owned()) } else { (b.to_owned(), a.to_owned()) };
    a == b || !cut.contains(&pair)
}

/// The servers `server` still reaches, itself included.
fn seen(cut: &BTreeSet<(String, String)>, cluster: &Cluster, server: &str) -> BTreeSet<String> {
    cluster.servers.iter().filter(|other| connected(cut, server, other)).cloned().collect()
}

fn realized(kind: &FaultKind, cluster: &Cluster, seed: u64) -> Realized {
    realize(kind, cluster, &mut Rng::new(seed)).expect("realizes")
}

fn every_kind() -> Vec<FaultKind> {
    vec![
        FaultKind::Isolate { node: None },
        FaultKind::Halves { clients: ClientSide::All },
        FaultKind::Halves { clients: ClientSide::Split },
        FaultKind::MajoritiesRing,
        FaultKind::Bridge { clients: ClientSide::All },
        FaultKind::Bridge { clients: ClientSide::Split },
        FaultKind::OneWay { node: None },
        FaultKind::CutClients { servers: None },
        FaultKind::Crash { node: None },
        FaultKind::CrashMinority,
        FaultKind::CrashAll,
        FaultKind::Skew { node: None, offset_ms: 0 },
        FaultKind::Strobe { node: None, offset_ms: 0, period_ms: 0 },
        FaultKind::Slow { node: None, latency_ms: 0 },
        FaultKind::Flaky { node: None, fail_ppm: 0 },
    ]
}

proptest! {
    #[test]
    fn sides_are_disjoint_and_every_start_is_undone_by_its_end(
        servers in 1usize..=9, clients in 0usize..=4, seed in any::<u64>(),
    ) {
        let cluster = cluster(servers, clients);
        for kind in every_kind() {
            let Realized { start, end } = realized(&kind, &cluster, seed);
            for fault in &start {
                let hosts: BTreeSet<&str> = fault.hosts().into_iter().collect();
                prop_assert!(hosts.iter().all(|h| cluster.hosts().any(|c| c == h)), "{}: {fault}", kind.name());
                if let Some((left, right)) = fault.sides() {
                    prop_assert!(left.iter().all(|h| !right.contains(h)), "{}: {fault}", kind.name());
                }
            }
            let applied: Vec<(Duration, Fault)> =
                start.iter().map(|f| (secs(1), f.clone())).chain(end.iter().map(|f| (secs(2), f.clone()))).collect();
            let windows = fault_windows(&applied);
            prop_assert!(windows.iter().all(|w| *w == (secs(1), secs(2))), "{}: {windows:?} {applied:?}", kind.name());
        }
    }

    #[test]
    fn halves_give_a_strict_majority_side(servers in 1usize..=9, clients in 0usize..=4, seed in any::<u64>()) {
        let cluster = cluster(servers, clients);
        for side in [ClientSide::All, ClientSide::Split] {
            let start = realized(&FaultKind::Halves { clients: side }, &cluster, seed).start;
            let [Fault::Partition { left, right }] = start.as_slice() else { panic!("{start:?}") };
            let count = |hosts: &[String]| hosts.iter().filter(|h| cluster.servers.contains(h)).count();
            prop_assert!(2 * count(left) > servers, "{left:?}");
            prop_assert_eq!(count(left) + count(right), servers);
            prop_assert!(2 * count(right) < servers);
            let placed = left.len() + right.len() - servers;
            prop_assert_eq!(placed, if side == ClientSide::Split { clients } else { 0 });
            if side == ClientSide::Split {
                let minority_clients = right.len() - count(right);
                prop_assert_eq!(minority_clients, clients / 2, "round-robin, majority first");
            }
        }
    }

    #[test]
    fn in_a_majorities_ring_every_server_sees_a_different_majority(servers in 1usize..=9, seed in any::<u64>()) {
        let cluster = cluster(servers, 2);
        let cut = cut_links(&realized(&FaultKind::MajoritiesRing, &cluster, seed).start);
        prop_assert!(cut.iter().all(|(a, b)| cluster.servers.contains(a) && cluster.servers.contains(b)), "clients reach all");
        let views: BTreeMap<&String, BTreeSet<String>> =
            cluster.servers.iter().map(|s| (s, seen(&cut, &cluster, s))).collect();
        for (server, view) in &views {
            prop_assert!(2 * view.len() > servers, "{server} sees {view:?}");
        }
        if servers >= 3 {
            let distinct: BTreeSet<&BTreeSet<String>> = views.values().collect();
            prop_assert_eq!(distinct.len(), servers, "{:?}", views);
        }
        prop_assert_eq!(cut.is_empty(), servers <= 2);
    }

    #[test]
    fn a_bridge_sees_everyone_and_the_halves_do_not_see_each_other(
        servers in 1usize..=9, clients in 0usize..=4, seed in any::<u64>(),
    ) {
        let cluster = cluster(servers, clients);
        for side in [ClientSide::All, ClientSide::Split] {
            let start = realized(&FaultKind::Bridge { clients: side }, &cluster, seed).start;
            let [Fault::Partition { left, right }] = start.as_slice() else { panic!("{start:?}") };
            let cut = cut_links(&start);
            let bridges: Vec<&String> =
                cluster.servers.iter().filter(|s| cluster.hosts().all(|h| connected(&cut, s, h))).collect();
            prop_assert!(!bridges.is_empty());
            let halves: Vec<&String> = cluster.servers.iter().filter(|s| left.contains(s) || right.contains(s)).collect();
            prop_assert_eq!(halves.len(), servers - 1, "every server but the bridge is in a half");
            for a in left {
                for b in right {
                    prop_assert!(!connected(&cut, a, b));
                }
            }
            if servers >= 3 {
                let count = |hosts: &[String]| hosts.iter().filter(|h| cluster.servers.contains(h)).count();
                prop_assert!(count(left) >= 1 && count(right) >= 1 && count(left) >= count(right));
                prop_assert_eq!(bridges.len(), 1);
            }
        }
    }

    #[test]
    fn crash_minority_crashes_a_strict_minority(servers in 1usize..=9, seed in any::<u64>()) {
        let cluster = cluster(servers, 1);
        let Realized { start, end } = realized(&FaultKind::CrashMinority, &cluster, seed);
        let crashed: BTreeSet<&str> = start.iter().map(|f| match f {
            Fault::Crash(host) => host.as_str(),
            other => panic!("not a crash: {other}"),
        }).collect();
        prop_assert_eq!(crashed.len(), start.len(), "each once");
        prop_assert!(!crashed.is_empty());
        prop_assert!(2 * crashed.len() < servers || crashed.len() == 1, "{crashed:?} of {servers}");
        let restarted: BTreeSet<&str> = end.iter().map(|f| match f {
            Fault::Restart(host) => host.as_str(),
            other => panic!("not a restart: {other}"),
        }).collect();
        prop_assert_eq!(restarted, crashed);
    }

    #[test]
    fn isolate_and_cut_clients_cut_what_they_say(servers in 1usize..=9, clients in 1usize..=4, seed in any::<u64>()) {
        let cluster = cluster(servers, clients);
        let start = realized(&FaultKind::Isolate { node: None }, &cluster, seed).start;
        let cut = cut_links(&start);
        let isolated: Vec<&String> = cluster.servers.iter().filter(|s| cluster.others(s).iter().all(|o| !connected(&cut, s, o))).collect();
        prop_assert_eq!(isolated.len(), 1);
        prop_assert_eq!(cut.len(), servers + clients - 1, "only the node's links");

        let cut = cut_links(&realized(&FaultKind::CutClients { servers: None }, &cluster, seed).start);
        let lost: BTreeSet<&String> = cluster.servers.iter().filter(|s| !connected(&cut, s, &cluster.clients[0])).collect();
        prop_assert!(!lost.is_empty() && (2 * lost.len() < servers || lost.len() == 1), "{lost:?}");
        prop_assert_eq!(cut.len(), lost.len() * clients, "client links to lost servers only");
    }

    #[test]
    fn random_schedules_alternate_inside_the_interval(
        servers in 1usize..=9, clients in 0usize..=3, seed in any::<u64>(),
        start_ms in 0u64..1000, every_ms in 1u64..500, slots in 2u64..30,
    ) {
        let cluster = cluster(servers, clients);
        let (start, every) = (Duration::from_millis(start_ms), Duration::from_millis(every_ms));
        let end = start + every * u32::try_from(slots).expect("small");
        let kinds = every_kind();
        let schedule = random_schedule(&kinds, &cluster, seed, start, end, every).expect("fits");
        prop_assert_eq!(&schedule, &random_schedule(&kinds, &cluster, seed, start, end, every).expect("fits"));
        let ends = |fault: &Fault| matches!(fault, Fault::Heal | Fault::Restart(_) | Fault::Skew { offset_ms: 0, .. });
        for (at, fault) in &schedule {
            prop_assert!(*at >= start && *at < end, "{at:?} outside {start:?}..{end:?}");
            let slot = (*at - start).as_millis() / u128::from(every_ms);
            prop_assert_eq!(*at, start + every * u32::try_from(slot).expect("small"), "on the grid");
            prop_assert_eq!(ends(fault), slot % 2 == 1, "slot {} holds {}", slot, fault);
        }
        // Every fault is over at its slot's end; none is open at the end.
        for (from, to) in fault_windows(schedule.entries()) {
            let slot = (from - start).as_millis() / u128::from(every_ms);
            prop_assert!(slot % 2 == 0 && to == from + every, "window {from:?}..{to:?}");
        }
        // Faults start at every even slot whose end fits.
        let starts: BTreeSet<Duration> = schedule.iter().filter(|(_, f)| !ends(f)).map(|(at, _)| *at).collect();
        let expected = (slots - 1).div_ceil(2);
        prop_assert!(starts.len() as u64 <= expected);
        let end_times: BTreeSet<Duration> = schedule.iter().filter(|(_, f)| ends(f)).map(|(at, _)| *at).collect();
        prop_assert_eq!(end_times.len() as u64, expected, "every drawn fault ends (a heal at least)");
    }

    #[test]
    fn different_seeds_give_different_schedules(seed in any::<u64>(), servers in 3usize..=9) {
        let cluster = cluster(servers, 2);
        let kinds = every_kind();
        let schedule = |seed| random_schedule(&kinds, &cluster, seed, secs(0), secs(100), secs(1)).expect("fits");
        prop_assert_ne!(schedule(seed), schedule(seed.wrapping_add(1)));
    }
}

#[test]
fn shapes_degrade_on_one_server() {
    let sqlite = Cluster::new(["db"], ["client-0", "client-1", "client-2"]);
    let halves = realized(&FaultKind::Halves { clients: ClientSide::Split }, &sqlite, 1);
    assert_eq!(halves.start, [Fault::partition(["db", "client-0", "client-2"], ["client-1"])]);
    assert_eq!(halves.end, [Fault::Heal]);
    let all = realized(&FaultKind::Halves { clients: ClientSide::All }, &sqlite, 1);
    assert_eq!(all.start, [Fault::partition(["db"], Vec::<String>::new())], "nothing to cut");
    assert_eq!(realized(&FaultKind::MajoritiesRing, &sqlite, 1).start, []);
    let cut = realized(&FaultKind::CutClients { servers: None }, &sqlite, 1);
    assert_eq!(cut.start, [Fault::partition(["client-0", "client-1", "client-2"], ["db"])]);
    assert_eq!(realized(&FaultKind::CrashMinority, &sqlite, 1).start, [Fault::crash("db")]);
    let isolate = realized(&FaultKind::Isolate { node: None }, &sqlite, 1);
    assert_eq!(isolate.start, [Fault::partition(["db"], ["client-0", "client-1", "client-2"])]);
    let one_way = realized(&FaultKind::OneWay { node: None }, &sqlite, 1);
    assert_eq!(one_way.start, [Fault::partition_one_way(["db"], ["client-0", "client-1", "client-2"])]);
}

#[test]
fn three_servers_ring_cuts_one_link() {
    let three = cluster(3, 0);
    for seed in 0..20 {
        let start = realized(&FaultKind::MajoritiesRing, &three, seed).start;
        assert_eq!(cut_links(&start).len(), 1, "{start:?}");
    }
}

#[test]
fn named_hosts_and_parameters_are_kept() {
    let c = cluster(5, 2);
    let skew = realized(&FaultKind::Skew { node: Some("n3".into()), offset_ms: -250 }, &c, 9);
    assert_eq!((skew.start, skew.end), (vec![Fault::skew("n3", -250)], vec![Fault::skew("n3", 0)]));
    let strobe = realized(&FaultKind::Strobe { node: Some("n1".into()), offset_ms: 40, period_ms: 7 }, &c, 9);
    assert_eq!(strobe.start, [Fault::strobe("n1", 40, 7)]);
    let slow = realized(&FaultKind::Slow { node: Some("client-1".into()), latency_ms: 300 }, &c, 9);
    assert_eq!(slow.start, [Fault::slow(["client-1"], ["n1", "n2", "n3", "n4", "n5", "client-0"], 300)]);
    let flaky = realized(&FaultKind::Flaky { node: Some("n2".into()), fail_ppm: 5 }, &c, 9);
    assert_eq!(flaky.start, [Fault::flaky(["n2"], ["n1", "n3", "n4", "n5", "client-0", "client-1"], 5)]);
    let cut = realized(&FaultKind::CutClients { servers: Some(vec!["n4".into(), "n5".into()]) }, &c, 9);
    assert_eq!(cut.start, [Fault::partition(["client-0", "client-1"], ["n4", "n5"])]);
    let all = realized(&FaultKind::CrashAll, &c, 9);
    assert_eq!(all.start.len(), 5);
    assert_eq!(all.end[4], Fault::restart("n5"));
}

#[test]
fn drawn_parameters_stay_in_their_ranges() {
    let c = cluster(3, 1);
    for seed in 0..200 {
        let start = realized(&FaultKind::Strobe { node: None, offset_ms: 0, period_ms: 0 }, &c, seed).start;
        let [Fault::Strobe { offset_ms, period_ms, .. }] = start.as_slice() else { panic!("{start:?}") };
        assert!((100..=2000).contains(&offset_ms.unsigned_abs()) && (10..=1000).contains(period_ms));
        let start = realized(&FaultKind::Slow { node: None, latency_ms: 0 }, &c, seed).start;
        let [Fault::Slow { latency_ms, .. }] = start.as_slice() else { panic!("{start:?}") };
        assert!((50..=500).contains(latency_ms));
        let start = realized(&FaultKind::Flaky { node: None, fail_ppm: 0 }, &c, seed).start;
        let [Fault::Flaky { fail_ppm, .. }] = start.as_slice() else { panic!("{start:?}") };
        assert!((1_000..=50_000).contains(fail_ppm));
    }
    let signs: BTreeSet<bool> = (0..50)
        .map(|seed| match realized(&FaultKind::Skew { node: None, offset_ms: 0 }, &c, seed).start.as_slice() {
            [Fault::Skew { offset_ms, .. }] => *offset_ms > 0,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(signs.len(), 2, "both signs drawn");
}

#[test]
fn bad_kinds_and_schedules_are_typed_errors() {
    let c = cluster(3, 1);
    let mut rng = Rng::new(1);
    let err = |kind: FaultKind| realize(&kind, &c, &mut Rng::new(1)).expect_err("refused");
    assert_eq!(
        err(FaultKind::Crash { node: Some("client-0".into()) }),
        NemesisError::NotAServer { kind: "crash", host: "client-0".into() }
    );
    assert_eq!(
        err(FaultKind::Isolate { node: Some("n9".into()) }),
        NemesisError::UnknownHost { kind: "isolate", host: "n9".into() }
    );
    assert!(realize(&FaultKind::Isolate { node: Some("client-0".into()) }, &c, &mut rng).is_ok(), "any host");
    assert!(matches!(err(FaultKind::CutClients { servers: Some(vec![]) }), NemesisError::Parameter { .. }));
    assert!(matches!(err(FaultKind::Slow { node: None, latency_ms: 60_001 }), NemesisError::Parameter { .. }));
    assert!(matches!(err(FaultKind::Flaky { node: None, fail_ppm: 1_000_001 }), NemesisError::Parameter { .. }));
    let nobody = Cluster::new(Vec::<String>::new(), ["client-0"]);
    assert_eq!(realize(&FaultKind::CrashAll, &nobody, &mut rng), Err(NemesisError::NoServers));
    let twice = Cluster::new(["a", "b"], ["a"]);
    assert_eq!(realize(&FaultKind::CrashAll, &twice, &mut rng), Err(NemesisError::DuplicateHost("a".into())));

    let kinds = [FaultKind::CrashAll];
    assert_eq!(random_schedule(&[], &c, 1, secs(0), secs(10), secs(1)), Err(NemesisError::NoKinds));
    assert_eq!(random_schedule(&kinds, &c, 1, secs(0), secs(10), Duration::ZERO), Err(NemesisError::ZeroPeriod));
    let short = random_schedule(&kinds, &c, 1, secs(5), secs(6), secs(1));
    assert!(matches!(short, Err(NemesisError::TooShort { .. })), "{short:?}");
    let many = random_schedule(&kinds, &c, 1, secs(0), secs(1), Duration::from_nanos(1));
    assert_eq!(many, Err(NemesisError::TooManyFaults { max: MAX_RANDOM_FAULTS }));
    // A bad kind is refused even when the seed would never draw it.
    let mixed = [FaultKind::CrashAll, FaultKind::Crash { node: Some("nope".into()) }];
    assert!(matches!(
        random_schedule(&mixed, &c, 1, secs(0), secs(10), secs(1)),
        Err(NemesisError::UnknownHost { .. })
    ));
    // The smallest schedule that fits: a fault and its end.
    let one = random_schedule(&kinds, &c, 1, secs(5), Duration::from_millis(6001), secs(1)).expect("fits");
    assert_eq!(one.len(), 6);
    assert_eq!(one.entries()[3], (secs(6), Fault::restart("n1")));
}

#[test]
fn kinds_are_named_as_jepsen_names_them() {
    let names: Vec<&str> = every_kind().iter().map(FaultKind::name).collect();
    assert_eq!(
        names,
        [
            "isolate",
            "halves",
            "halves",
            "majorities-ring",
            "bridge",
            "bridge",
            "one-way",
            "cut-clients",
            "crash",
            "crash-minority",
            "crash-all",
            "skew",
            "strobe",
            "slow",
            "flaky"
        ]
    );
}
