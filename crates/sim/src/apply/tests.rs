use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn nemesis() -> Nemesis {
    Nemesis::new((ms(1), ms(10)))
}

fn s(a: &str, b: &str) -> (String, String) {
    (a.to_owned(), b.to_owned())
}

#[test]
fn heal_repairs_exactly_the_cut_links() {
    let mut nemesis = nemesis();
    let cut = nemesis.apply(&Fault::partition(["n2", "n1"], ["n3"]), ms(0));
    assert_eq!(cut, [Action::Partition("n2".into(), "n3".into()), Action::Partition("n1".into(), "n3".into())]);
    // Cutting a cut link again does nothing new.
    assert_eq!(nemesis.apply(&Fault::partition(["n3"], ["n1"]), ms(0)), []);
    let healed = nemesis.apply(&Fault::Heal, ms(0));
    assert_eq!(healed, [Action::Repair("n1".into(), "n3".into()), Action::Repair("n2".into(), "n3".into())]);
    assert_eq!(nemesis.apply(&Fault::Heal, ms(0)), [], "nothing left to heal");
}

#[test]
fn heal_undoes_one_way_cuts_slow_and_flaky_links() {
    let mut nemesis = nemesis();
    let one_way = nemesis.apply(&Fault::partition_one_way(["b"], ["a", "b", "c"]), ms(0));
    assert_eq!(
        one_way,
        [Action::PartitionOneWay("b".into(), "a".into()), Action::PartitionOneWay("b".into(), "c".into())]
    );
    // The reverse direction is a different cut.
    assert_eq!(nemesis.apply(&Fault::partition_one_way(["a"], ["b"]), ms(0)).len(), 1);
    assert_eq!(nemesis.apply(&Fault::partition_one_way(["b"], ["a"]), ms(0)), [], "cut already");
    assert_eq!(
        nemesis.apply(&Fault::slow(["d"], ["c"], 200), ms(0)),
        [Action::Latency("c".into(), "d".into(), ms(200))]
    );
    assert_eq!(
        nemesis.apply(&Fault::flaky(["a"], ["d"], 1000), ms(0)),
        [Action::FailRate("a".into(), "d".into(), 1000)]
    );
    // A full cut of a one-way-cut link: the heal's repair covers both directions.
    nemesis.apply(&Fault::partition(["c"], ["b"]), ms(0));
    assert!(!nemesis.is_healthy());
    assert_eq!(nemesis.recovery(), [Fault::Heal]);

    let healed = nemesis.apply(&Fault::Heal, ms(0));
    assert_eq!(
        healed,
        [
            Action::FailRate("a".into(), "d".into(), 0),
            Action::Repair("a".into(), "d".into()),
            Action::Repair("b".into(), "c".into()),
            Action::RepairOneWay("a".into(), "b".into()),
            Action::RepairOneWay("b".into(), "a".into()),
            Action::Latency("c".into(), "d".into(), ms(1)),
            Action::MaxLatency("c".into(), "d".into(), ms(10)),
        ]
    );
    assert!(nemesis.is_healthy());
    assert_eq!(nemesis.recovery(), []);
    assert_eq!(nemesis.apply(&Fault::Heal, ms(0)), []);
}

#[test]
fn slowing_again_replaces_the_latency() {
    let mut nemesis = nemesis();
    nemesis.apply(&Fault::slow(["a"], ["b"], 200), ms(0));
    assert_eq!(nemesis.apply(&Fault::slow(["b"], ["a"], 50), ms(0)), [Action::Latency("a".into(), "b".into(), ms(50))]);
    assert_eq!(nemesis.apply(&Fault::Heal, ms(0)).len(), 2, "one link restored: latency, then maximum");
}

#[test]
fn recovery_heals_and_restarts_what_is_down() {
    let mut nemesis = nemesis();
    assert_eq!(nemesis.recovery(), []);
    nemesis.apply(&Fault::crash("b"), ms(0));
    nemesis.apply(&Fault::crash("a"), ms(0));
    nemesis.apply(&Fault::crash("c"), ms(0));
    nemesis.apply(&Fault::restart("c"), ms(0));
    nemesis.apply(&Fault::partition(["a"], ["x"]), ms(0));
    assert_eq!(nemesis.recovery(), [Fault::Heal, Fault::restart("a"), Fault::restart("b")]);
    for fault in nemesis.recovery() {
        nemesis.apply(&fault, ms(0));
    }
    assert_eq!(nemesis.recovery(), []);
    assert!(nemesis.is_healthy());
}

#[test]
fn skews_are_undone_by_recovery() {
    let mut nemesis = nemesis();
    assert_eq!(nemesis.apply(&Fault::skew("n2", -500), ms(0)), [Action::Skew("n2".into(), -500)]);
    nemesis.apply(&Fault::skew("n1", 200), ms(0));
    nemesis.apply(&Fault::skew("n1", 0), ms(0));
    assert_eq!(nemesis.recovery(), [Fault::skew("n2", 0)], "n1 is back at zero already");
}

#[test]
fn a_strobe_flips_every_period_until_a_skew_stops_it() {
    let mut nemesis = nemesis();
    assert_eq!(nemesis.apply(&Fault::strobe("n2", 200, 50), ms(1000)), [Action::Skew("n2".into(), 200)]);
    let mut flips = Vec::new();
    for now in 1000..1300 {
        for action in nemesis.tick(ms(now)) {
            flips.push((now, action));
        }
    }
    let expected: Vec<(u64, Action)> =
        (1..6).map(|k| (1000 + 50 * k, Action::Skew("n2".into(), if k % 2 == 1 { -200 } else { 200 }))).collect();
    assert_eq!(flips, expected);
    assert_eq!(nemesis.recovery(), [Fault::skew("n2", 0)]);
    assert_eq!(nemesis.apply(&Fault::skew("n2", 0), ms(1300)), [Action::Skew("n2".into(), 0)]);
    assert!(nemesis.is_healthy());
    assert!((1300..2000).all(|now| nemesis.tick(ms(now)).is_empty()), "stopped");
}

#[test]
fn strobes_keep_their_grid_across_long_ticks_and_run_side_by_side() {
    let mut nemesis = nemesis();
    nemesis.apply(&Fault::strobe("a", -100, 10), ms(0));
    nemesis.apply(&Fault::strobe("b", 300, 25), ms(5));
    // From 0: a flips at 10, 20, 30; b at 30. At 35, a has flipped 3 times (behind -> ahead ->
    // behind -> ahead: +100), b once (-300).
    assert_eq!(nemesis.tick(ms(35)), [Action::Skew("a".into(), 100), Action::Skew("b".into(), -300)]);
    // At 40: a flips (4th) back to -100; two flips of a within one tick cancel out.
    assert_eq!(nemesis.tick(ms(40)), [Action::Skew("a".into(), -100)]);
    // At 60: a flipped twice (50, 60) and is where it was; b flipped once (55) back to +300.
    assert_eq!(nemesis.tick(ms(60)), [Action::Skew("b".into(), 300)]);
    assert_eq!(nemesis.tick(ms(69)), []);
}

#[test]
fn a_skew_replaces_a_strobe_and_a_strobe_replaces_a_skew() {
    let mut nemesis = nemesis();
    nemesis.apply(&Fault::skew("a", 70), ms(0));
    nemesis.apply(&Fault::strobe("a", 100, 10), ms(0));
    nemesis.apply(&Fault::skew("a", 50), ms(0));
    assert!((0..100).all(|now| nemesis.tick(ms(now)).is_empty()), "no longer strobing");
    assert_eq!(nemesis.recovery(), [Fault::skew("a", 0)]);
    nemesis.apply(&Fault::strobe("a", 100, 10), ms(100));
    nemesis.apply(&Fault::strobe("b", 100, 10), ms(100));
    assert_eq!(nemesis.recovery(), [Fault::skew("a", 0), Fault::skew("b", 0)], "once each");
}

#[test]
fn links_skip_a_host_paired_with_itself() {
    let sides = (["a".to_owned(), "b".to_owned()], ["b".to_owned()]);
    assert_eq!(links(&sides.0, &sides.1).collect::<Vec<_>>(), [s("a", "b")]);
    assert_eq!(directions(&sides.1, &sides.0).collect::<Vec<_>>(), [s("b", "a")]);
    let mut nemesis = nemesis();
    assert_eq!(nemesis.apply(&Fault::slow(["a"], ["a"], 5), ms(0)), []);
    assert!(nemesis.is_healthy(), "nothing was slowed");
}

#[test]
fn fault_windows_merge_overlaps_and_close_on_recovery() {
    let applied = [
        (ms(100), Fault::partition(["a"], ["b"])),
        (ms(150), Fault::crash("c")),
        (ms(200), Fault::Heal),
        (ms(300), Fault::restart("c")),
        // Heal and cut at one instant: no gap.
        (ms(400), Fault::slow(["a"], ["b"], 100)),
        (ms(500), Fault::Heal),
        (ms(500), Fault::flaky(["a"], ["b"], 10)),
        (ms(600), Fault::Heal),
        // Undone at once: no window.
        (ms(700), Fault::crash("c")),
        (ms(700), Fault::restart("c")),
        (ms(800), Fault::skew("c", 0)),
        (ms(900), Fault::strobe("c", 10, 10)),
        (ms(950), Fault::skew("c", 0)),
        (ms(1000), Fault::partition_one_way(["a"], ["b"])),
    ];
    assert_eq!(
        fault_windows(&applied),
        [(ms(100), ms(300)), (ms(400), ms(600)), (ms(900), ms(950)), (ms(1000), Duration::MAX)]
    );
    assert_eq!(fault_windows(&[]), []);
    // A restart of a running host and a partition of a host with itself are no faults.
    assert_eq!(fault_windows(&[(ms(1), Fault::restart("a")), (ms(2), Fault::partition(["a"], ["a"]))]), []);
}

#[test]
fn fault_windows_sort_by_time_first() {
    let applied = [(ms(300), Fault::skew("a", 0)), (ms(100), Fault::skew("a", 5))];
    assert_eq!(fault_windows(&applied), [(ms(100), ms(300))]);
}

#[test]
fn a_kill_keeps_the_host_down_until_its_restart_revives_it() {
    let mut nemesis = nemesis();
    assert_eq!(nemesis.apply(&Fault::kill("a"), ms(0)), [Action::Kill("a".into())]);
    assert!(!nemesis.is_healthy(), "a killed host is down");
    assert_eq!(nemesis.recovery(), [Fault::restart("a")]);
    // A power loss while the process is dead loses the unsynced writes; the restart still
    // opens the gate the kill closed.
    assert_eq!(nemesis.apply(&Fault::crash("a"), ms(1)), [Action::Crash("a".into())]);
    assert_eq!(nemesis.apply(&Fault::restart("a"), ms(2)), [Action::Revive("a".into())]);
    assert!(nemesis.is_healthy());
    // A crashed host's restart is a plain bounce.
    nemesis.apply(&Fault::crash("b"), ms(3));
    assert_eq!(nemesis.apply(&Fault::restart("b"), ms(4)), [Action::Bounce("b".into())]);
    let windows = fault_windows(&[(ms(10), Fault::kill("a")), (ms(20), Fault::restart("a"))]);
    assert_eq!(windows, [(ms(10), ms(20))]);
}
