//! Crash semantics with the default `FsConfig` (every unsynced write is lost on
//! `Sim::crash`): a restart recovers exactly the writes covered by a sync or a flush, no
//! more, no less; a restart without a crash (`Sim::bounce` alone) keeps unsynced writes.

use proptest::prelude::*;

use super::common::{builder, cell, config, random_script, run_script, Fault, NodeState, Step, TestResult};

fn assert_exact_recovery(state: &NodeState, what: &str) {
    assert!(state.starts.len() > 1, "{what}: never restarted");
    for (i, start) in state.starts.iter().enumerate() {
        let expected = if start.after_crash { start.prefix(0) } else { start.prefix(start.unsynced.len()) };
        assert_eq!(
            start.recovered, expected,
            "{what}: start {i} (after step {}, after crash: {})",
            start.at_step, start.after_crash
        );
    }
    assert_eq!(state.final_check, Some(Ok(())), "{what}: final reads");
}

/// Runs `script` with crashes after the given steps.
fn crash_run(seed: u64, memtable_bytes: usize, script: Vec<Step>, faults: &[(usize, Fault)]) -> TestResult<NodeState> {
    run_script(builder(seed).build(), config(memtable_bytes, 2), script, faults)
}

#[test]
fn crash_keeps_exactly_the_synced_prefix() -> TestResult {
    let mut observable_losses = 0;
    for seed in 0..6 {
        let script = random_script(seed, 120, 10, 6, 0);
        let faults = [(30 + seed as usize * 7, Fault::Crash), (90, Fault::Crash)];
        let state = crash_run(seed, 1 << 20, script, &faults)?;
        assert_exact_recovery(&state, &format!("seed {seed}"));
        assert_eq!(state.flushes, 0, "the memtable should not fill here");
        let crashes: Vec<_> = state.starts.iter().filter(|s| s.after_crash).collect();
        assert_eq!(crashes.len(), 2);
        assert!(crashes.iter().all(|s| !s.recovered.is_empty()), "seed {seed}: synced writes survived");
        observable_losses += crashes.iter().filter(|s| s.lost_something_observable()).count();
    }
    assert!(observable_losses > 0, "no crash lost an unsynced write: the test proves nothing");
    Ok(())
}

#[test]
fn crash_after_flushes_and_compactions_keeps_exactly_the_synced_prefix() -> TestResult {
    let mut observable_losses = 0;
    for seed in 0..6 {
        // ~60-byte records, 400-byte memtables: a flush every few writes, compaction past 2.
        let script = random_script(100 + seed, 150, 12, 9, 24);
        let faults = [(40, Fault::Crash), (70 + seed as usize * 5, Fault::Crash), (120, Fault::Crash)];
        let state = crash_run(seed, 400, script, &faults)?;
        let what = format!("seed {seed}");
        assert_exact_recovery(&state, &what);
        assert!(state.flushes > 5, "{what}: {} flushes", state.flushes);
        assert!(state.compactions > 1, "{what}: {} compactions", state.compactions);
        assert!(state.stats.sstables <= 2, "{what}: {:?}", state.stats);
        observable_losses += state.starts.iter().filter(|s| s.after_crash && s.lost_something_observable()).count();
    }
    assert!(observable_losses > 0, "no crash lost an unsynced write: the test proves nothing");
    Ok(())
}

#[test]
fn restart_without_crash_keeps_unsynced_writes() -> TestResult {
    let writes = |prefix: &str, ts: u64| -> Vec<Step> {
        (0..10).map(|i| Step::Write(format!("{prefix}{i}"), cell(i, ts + i as u64, 0))).collect()
    };
    // a0-a9 synced; b0-b9 unsynced at the bounce (step 21); c0-c9 synced before the crash.
    let mut script = writes("a", 0);
    script.push(Step::Sync);
    script.extend(writes("b", 100));
    script.extend(writes("c", 200));
    script.push(Step::Sync);
    let state = crash_run(7, 1 << 20, script, &[(21, Fault::Bounce), (32, Fault::Crash)])?;
    assert_exact_recovery(&state, "bounce then crash");
    let bounce = &state.starts[1];
    assert!(!bounce.after_crash);
    assert_eq!(bounce.unsynced.len(), 10);
    assert_eq!(bounce.recovered.len(), 20, "the bounce kept the unsynced writes");
    // Open synced what it replayed: the crash after it keeps those writes.
    let crash = &state.starts[2];
    assert!(crash.after_crash);
    assert_eq!(crash.recovered.len(), 30, "{:?}", crash.recovered.keys().collect::<Vec<_>>());
    Ok(())
}

#[test]
fn writes_after_a_crash_survive_the_next_one() -> TestResult {
    let writes = |seed| random_script(seed, 20, 5, 1, 0).into_iter().filter(|s| *s != Step::Sync);
    // Steps 0-19: never synced. 20-39, then a sync at 40. 41-60: never synced.
    let mut script: Vec<Step> = writes(9).collect();
    script.extend(writes(10));
    script.push(Step::Sync);
    script.extend(writes(11));
    assert_eq!(script.len(), 61);
    let state = crash_run(9, 1 << 20, script, &[(20, Fault::Crash), (41, Fault::Crash), (61, Fault::Crash)])?;
    assert_exact_recovery(&state, "three crashes");
    assert!(state.starts[1].recovered.is_empty());
    assert!(!state.starts[2].recovered.is_empty());
    assert_eq!(state.starts[3].recovered, state.starts[2].recovered);
    assert_eq!(state.starts[3].unsynced.len(), 20);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn crashes_anywhere_keep_exactly_the_synced_prefix(
        seed in 0u64..1_000,
        memtable_bytes in prop_oneof![Just(300usize), Just(1usize << 20)],
        faults in prop::collection::vec((0usize..80, prop::bool::weighted(0.8)), 1..4),
    ) {
        let faults: Vec<(usize, Fault)> =
            faults.into_iter().map(|(at, crash)| (at, if crash { Fault::Crash } else { Fault::Bounce })).collect();
        let script = random_script(seed, 70, 8, 5, if seed % 2 == 0 { 0 } else { 20 });
        let state = crash_run(seed, memtable_bytes, script, &faults).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for start in &state.starts {
            let expected = if start.after_crash { start.prefix(0) } else { start.prefix(start.unsynced.len()) };
            prop_assert_eq!(&start.recovered, &expected, "start after step {}", start.at_step);
        }
        prop_assert_eq!(state.final_check, Some(Ok(())));
    }
}

/// Crash points inside a flush and the compaction it triggers: the disk fails after `n`
/// mutations (as if the process died there), then the host crashes or merely restarts.
/// Everything was synced before the flush, so exactly everything must come back, and the
/// next open must clean up whatever the interrupted flush left behind.
#[test]
fn crash_points_inside_flush_and_compaction_lose_nothing_synced() -> TestResult {
    let writes = |prefix: &str, ts: u64| -> Vec<Step> {
        (0..10).map(|i| Step::Write(format!("{prefix}{i}"), cell(i, ts + i as u64, 0))).collect()
    };
    let (mut struck, mut cleaned) = (0, 0);
    for n in 0..32 {
        for fault in [Fault::Crash, Fault::Bounce] {
            let mut script = writes("a", 0);
            script.push(Step::Flush);
            script.extend(writes("b", 100));
            script.extend(writes("a", 200));
            script.push(Step::Sync);
            script.push(Step::FailDiskAfter(n));
            // Flushes to a second SSTable, which (max_sstables = 1) triggers a compaction.
            script.push(Step::Flush);
            let len = script.len();
            let state = run_script(builder(n).build(), config(1 << 20, 1), script, &[(len, fault)])?;
            let what = format!("failure after {n} mutations, {fault:?}");
            assert_exact_recovery(&state, &what);
            let restart = &state.starts[1];
            assert_eq!(restart.recovered.len(), 20, "{what}");
            struck += state.failures.len();
            cleaned += restart.report.files_removed;
            if state.failures.is_empty() {
                assert_eq!(restart.report.sstables, 1, "{what}: flush and compaction completed");
            }
            assert_eq!(restart.report.torn_tails, vec![], "{what}");
        }
    }
    assert!(struck > 40, "injected failures struck only {struck} times");
    assert!(cleaned > 20, "interrupted flushes left only {cleaned} files to clean up");
    Ok(())
}
