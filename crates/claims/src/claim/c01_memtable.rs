//! Claim 1: the memtable gives minimal write latency. Judged on the power-loss experiment's
//! write latencies (each system acknowledged before its sync beside the same system synced
//! before the ack: [`crate::select::durability_pairs`]) and, when the simulation cannot tell,
//! on `lab bench engines` (this machine's real disk).

use crate::evidence::{EngineRow, Engines, Evidence, Experiment};
use crate::ledger::{Claim, Verdict};
use crate::registry::Registered;
use crate::select;
use crate::stats::{resolve, Counted, Estimate, Side};
use crate::{command, no_results, SEED_SOURCE};
use runner::run::record::SeedRecord;
use runner::run::table::quantile;
use sim::disk_cost::DiskCost;
use std::collections::BTreeMap;
use std::time::Duration;

use super::fault_experiments::{inconclusive_unknown, unknown_runs, POWER_LOSS};

/// The single-writer, one-row-per-commit row of `engine` at `setting`; of a setting measured with
/// both `fsync` and `fdatasync`, the `fsync` one (what the commit log calls by default).
fn engine<'a>(rows: &'a [EngineRow], engine: &str, setting: &str) -> Option<&'a EngineRow> {
    let mut matching =
        rows.iter().filter(|r| r.engine == engine && r.setting == setting && r.rows_per_commit == 1 && r.threads == 1);
    let first = matching.next()?;
    Some(std::iter::once(first).chain(matching).find(|r| r.sync_call == "fsync").unwrap_or(first))
}

/// The thresholds this judgment reads from the registration (`experiments/claims/registered.toml`).
pub const THRESHOLDS: &[&str] = &["sync_gain"];

/// Claim 1, judged on `evidence` with the registered thresholds `registered`.
pub fn memtable(evidence: &Evidence, registered: &Registered) -> Claim {
    let mut claim = Claim::new(
        1,
        "memtable writes give minimal latency",
        "Its architecture uses a \"write-optimized\" approach, where writes are first recorded in memory (memtable) \
         and then flushed to disk. This allows for minimal latency in write-heavy workloads",
        SEED_SOURCE,
    )
    .tested_by(POWER_LOSS, &command(POWER_LOSS))
    .tested_by("engines", "lab bench engines (make bench-engines; optional: this machine's real disk)");
    let Some(experiment) = evidence.experiments.get(POWER_LOSS) else {
        return claim.judged(
            no_results(&[POWER_LOSS]),
            "write latency with and without the sync needs the power-loss experiment",
        );
    };
    let pairs = compare_in_simulation(&mut claim, experiment);
    if pairs.is_empty() {
        return claim.judged(
            Verdict::missing(format!(
                "{POWER_LOSS} has no write latencies of a system acknowledged before its sync beside the same system \
                 synced before the ack (results from before the per-kind histogram or the recorded properties, or \
                 systems missing): run `{}`",
                command(POWER_LOSS)
            )),
            "write latency needs the synced and unsynced variants",
        );
    }
    let used = pairs.iter().flat_map(|p| [(experiment, p.unsynced.as_str()), (experiment, p.synced.as_str())]);
    if let Some((count, what)) = unknown_runs(used) {
        return claim.judged(inconclusive_unknown(count, &what), "a failed or unjudged run measured nothing");
    }
    let real_disk = evidence.engines.as_ref().and_then(|engines| real_disk_context(&mut claim, engines));
    let resolution = coarsest_resolution(experiment, &pairs);
    let resolvable = shortest_sync() >= resolution.saturating_mul(RESOLVED_STEPS);
    decide(claim, &pairs, registered.value("sync_gain"), resolvable, resolution, real_disk)
}

/// The disk the standard experiments run on: the `measured` profile (experiments/disks/
/// measured.toml), or the library's constant if that file cannot be read.
fn disk() -> DiskCost {
    experiment::store::disk::measured().map_or(DiskCost::MEASURED, |m| m.disk)
}

/// The cheapest sync of [`disk`]: an in-place one when the profile tells them apart.
fn shortest_sync() -> Duration {
    let disk = disk();
    disk.per_sync_in_place.map_or(disk.per_sync, |in_place| in_place.min(disk.per_sync))
}

/// The disk's sync costs in words: `fsync 172 us (115 us in place)`.
fn sync_words() -> String {
    let disk = disk();
    match disk.per_sync_in_place {
        Some(in_place) => {
            format!("fsync {} us ({} us in place)", disk.per_sync.as_micros(), in_place.as_micros())
        }
        None => format!("fsync {} us", disk.per_sync.as_micros()),
    }
}

/// What the simulated ratios measure, and what they leave out.
pub const SCOPE: &str = "each ratio is of the whole write latency on the experiment's own network (power-loss's \
     question says which), so on a slower network the same sync is a smaller share; CPU time is not charged in the \
     simulation (calibrated at a few microseconds per commit, `make calibrate`)";

/// The resolution of records that do not say: the old 1 ms tick.
pub const OLD_TICK: Duration = Duration::from_millis(1);

/// A cost is told apart in one operation, to within 10 %, when it spans at least this many
/// simulation steps (a cost is rounded up to the next step: `sim::time`).
pub const RESOLVED_STEPS: u32 = 10;

/// The coarsest resolution among the records of two systems.
fn resolution_of(experiment: &Experiment, a: &str, b: &str) -> Duration {
    [a, b]
        .into_iter()
        .flat_map(|system| experiment.records_of(system))
        .map(|r| r.resolution_us.map_or(OLD_TICK, Duration::from_micros))
        .max()
        .unwrap_or(OLD_TICK)
}

/// The coarsest resolution among the records of `pairs` (1 ms for records from before
/// resolutions were recorded).
fn coarsest_resolution(experiment: &Experiment, pairs: &[Pair]) -> Duration {
    pairs.iter().map(|p| resolution_of(experiment, &p.unsynced, &p.synced)).max().unwrap_or(OLD_TICK)
}

/// One system acknowledged before its sync beside the same system synced before the ack.
pub(crate) struct Pair {
    unsynced: String,
    synced: String,
    /// The synced variant's median write latency over the unsynced one's, paired by seed.
    gain: Estimate,
    /// The acknowledged writes the unsynced variant lost at power loss, counted over seeds.
    lost: Counted,
}

/// The median write latency of one seed, in ms.
fn write_p50(record: &SeedRecord) -> Option<f64> {
    quantile(&record.write_latency_us, 0.5).map(|us| us as f64 / 1000.0)
}

/// Compares each system acknowledged before its sync with the same system synced before the
/// ack in `experiment` (power-loss), seed by seed: the ratio of their median write latencies and
/// what the unsynced one lost (one evidence line per pair).
fn compare_in_simulation(claim: &mut Claim, experiment: &Experiment) -> Vec<Pair> {
    let mut pairs = Vec::new();
    for (u, s) in select::durability_pairs(experiment) {
        let (unsynced, synced) = (u.system.clone(), s.system.clone());
        let synced_p50: BTreeMap<u64, f64> = experiment
            .records_of(&synced)
            .filter(|r| r.error.is_none())
            .filter_map(|r| Some((r.seed, write_p50(r)?)))
            .collect();
        let gain =
            Estimate::from_pairs(experiment.records_of(&unsynced).filter(|r| r.error.is_none()).filter_map(|r| {
                let fast = write_p50(r).filter(|v| *v > 0.0)?;
                Some((r.seed, synced_p50.get(&r.seed)? / fast))
            }));
        let Some(gain) = gain else { continue };
        let lost = experiment.counted(&unsynced, |r| r.lost_writes.map(|n| n > 0));
        claim.estimate(format!("{POWER_LOSS}/{synced}/over/{unsynced}/write_p50_ratio"), &gain);
        claim.line(format!(
            "{POWER_LOSS} (simulated disk, {}, resolution {} us), median write latency of {synced} (synced before the ack) \
             over {unsynced} (acknowledged before the sync), paired by seed: {}; {unsynced} lost acknowledged \
             writes at power loss: {}",
            sync_words(),
            resolution_of(experiment, &unsynced, &synced).as_micros(),
            gain.text_with(|v| format!("{v:.2}x")),
            lost.text()
        ));
        pairs.push(Pair { unsynced, synced, gain, lost });
    }
    pairs
}

/// Inconclusive when a ratio straddles the threshold, or when every ratio lies below it but the
/// simulation cannot resolve a sync (`resolvable` false); holds only when the write is
/// acknowledged before its sync when a synced variant was decidedly slower (the contrast: the
/// same system with and without the sync) and the unsynced variant paid for it in lost writes;
/// holds when it was slower and lost nothing; refuted when the sync cost no latency on a
/// simulation that could have shown it.
fn decide(
    claim: Claim,
    pairs: &[Pair],
    threshold: f64,
    resolvable: bool,
    resolution: Duration,
    real_disk: Option<String>,
) -> Claim {
    let show = |v: f64| format!("{v:.2}x");
    let undecided: Vec<String> = pairs
        .iter()
        .filter(|p| p.gain.side(threshold) == Side::Straddles)
        .map(|p| p.gain.undecided(&format!("{} over {}", p.synced, p.unsynced), threshold, show))
        .collect();
    let sides: Vec<Side> = pairs.iter().map(|p| p.gain.side(threshold)).collect();
    // Whether some synced variant is slower, whichever way the undecided ratios fall.
    if resolve(&sides, |s| s.contains(&Side::Above)).is_none() {
        return claim
            .judged(Verdict::inconclusive(undecided.join("; ")), format!("threshold {threshold}x (registered)"));
    }
    let slower: Vec<&Pair> = pairs.iter().filter(|p| p.gain.side(threshold) == Side::Above).collect();
    let context = real_disk.map_or_else(String::new, |text| format!("; {text}"));
    if slower.is_empty() {
        if !resolvable {
            return claim.judged(
                Verdict::inconclusive(format!(
                    "the simulation cannot resolve the sync: {} is less than {RESOLVED_STEPS} steps of its {} us \
                     resolution, so synced and unsynced writes may take the same simulated time (set a finer \
                     `resolution`){context}",
                    sync_words(),
                    resolution.as_micros()
                )),
                "a model that hides the cost cannot judge it",
            );
        }
        return claim.judged(
            Verdict::Refuted,
            format!("every synced variant wrote within {threshold}x of its unsynced twin: skipping the sync bought no latency{context}"),
        );
    }
    let contrast: Vec<String> =
        slower.iter().map(|p| format!("{} {} slower than {}", p.synced, p.gain.text_with(show), p.unsynced)).collect();
    let losses: Vec<String> = slower
        .iter()
        .filter(|p| !p.lost.violating.is_empty())
        .map(|p| format!("{} {}", p.unsynced, p.lost.text()))
        .collect();
    if losses.is_empty() {
        return claim.judged(
            Verdict::Holds,
            format!(
                "writes acknowledged before their sync were faster and lost nothing at power loss: {}{context}",
                contrast.join("; ")
            ),
        );
    }
    claim
        .judged(
            Verdict::only_when(format!(
                "the write is acknowledged before it is synced ({}), which loses acknowledged writes at power loss ({})",
                contrast.join("; "),
                losses.join("; ")
            )),
            format!("the seeds decide every pair against {threshold}x; {SCOPE}{context}"),
        )
        .gist("writes are acknowledged before their sync, losing them at power loss")
}

/// The real disk's figures as context (one unseeded wall-clock run of `lab bench engines`: it
/// decides nothing, since it has no spread), with its evidence lines; `None` without lsm rows.
fn real_disk_context(claim: &mut Claim, engines: &Engines) -> Option<String> {
    let RealDisk { lsm_gain, versus } = measure_real_disk(claim, engines)?;
    let quick = if engines.options.quick { ", a --quick smoke run" } else { "" };
    Some(format!(
        "on this machine's real disk (one unseeded run{quick}: context, not a verdict) skipping the sync made the \
         memtable engine's single writes {lsm_gain:.0}x faster{versus}"
    ))
}

/// What `lab bench engines` measured for claim 1.
struct RealDisk {
    /// How many times faster the memtable engine wrote without the sync than with it.
    lsm_gain: f64,
    /// The memtable engine against SQLite at the same settings, for the condition (empty when
    /// SQLite was not measured).
    versus: String,
}

/// The memtable engine's single writes with and without the sync on the real disk, and SQLite's
/// at the same settings (figures and evidence lines); `None` without the lsm rows.
fn measure_real_disk(claim: &mut Claim, engines: &Engines) -> Option<RealDisk> {
    let rows = &engines.rows;
    let how = if engines.options.quick {
        "a --quick smoke run: shown, not used for the verdict".to_owned()
    } else {
        format!("{} s of wall time per cell, not seeded", engines.options.seconds)
    };
    let figure = |claim: &mut Claim, row: &EngineRow| {
        claim.figure(format!("engines/{}/{}/writes_per_s", row.engine, row.setting), row.writes_per_s);
    };
    let rate = |row: &EngineRow| format!("{} {:.0} writes/s", row.setting, row.writes_per_s);
    let ratio = |a: &EngineRow, b: &EngineRow| a.writes_per_s / b.writes_per_s.max(f64::MIN_POSITIVE);
    let header = format!("engines (this machine's real disk, {how}; 1 thread, 1 row per commit)");
    let (Some(lsm_fast), Some(lsm_slow)) = (engine(rows, "lsm", "no sync"), engine(rows, "lsm", "sync per commit"))
    else {
        return None;
    };
    figure(claim, lsm_fast);
    figure(claim, lsm_slow);
    let lsm_gain = ratio(lsm_fast, lsm_slow);
    claim.line(format!(
        "{header}: lsm (memtable + commit log) {} against {} ({lsm_gain:.0}x)",
        rate(lsm_fast),
        rate(lsm_slow)
    ));
    // The same settings on SQLite (a B-tree, no memtable): how much of the gain is the memtable's.
    let sqlite = (engine(rows, "sqlite", "WAL synchronous=OFF"), engine(rows, "sqlite", "WAL synchronous=FULL"));
    let mut versus = String::new();
    if let (Some(off), Some(full)) = sqlite {
        figure(claim, off);
        figure(claim, full);
        let (unsynced, synced) = (ratio(lsm_fast, off), ratio(lsm_slow, full));
        claim.figure("engines/memtable_vs_btree_unsynced", unsynced);
        claim.figure("engines/memtable_vs_btree_synced", synced);
        claim.line(format!(
            "{header}: SQLite WAL {} against {} ({:.0}x); the memtable engine against SQLite at the same setting: \
             {unsynced:.1}x unsynced, {synced:.2}x synced",
            rate(off),
            rate(full),
            ratio(off, full)
        ));
        versus = format!(
            "; at the same setting the memtable engine wrote {unsynced:.1}x as fast as SQLite unsynced and {synced:.2}x \
             synced, where the fsync bounds both"
        );
    }
    Some(RealDisk { lsm_gain, versus })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The judgment with the standard registration's thresholds.
    fn memtable(evidence: &Evidence) -> Claim {
        super::memtable(evidence, &crate::registry::standard().claim(1))
    }
    use crate::testing::{from_records, runs, BATCH, PERIODIC};

    /// Power-loss with the periodic commit log writing in `fast(seed)` ms and losing `lost`
    /// acknowledged writes per seed, beside the batch one writing in 10 ms and losing nothing.
    fn power_loss(fast: impl Fn(u64) -> u64, lost: u64) -> Evidence {
        let periodic = runs(PERIODIC, 5, |seed, r| {
            r.write_latency_us = [(fast(seed) * 1000, 40)].into_iter().collect();
            r.lost_writes = Some(lost);
        });
        let batch = runs(BATCH, 5, |_, r| r.write_latency_us = [(10_000, 40)].into_iter().collect());
        from_records(&[(POWER_LOSS, [periodic, batch].concat())])
    }

    fn engines() -> Engines {
        let row = |setting: &str, sync_call: &str, writes_per_s: f64| EngineRow {
            engine: "lsm".into(),
            setting: setting.into(),
            sync_call: sync_call.into(),
            rows_per_commit: 1,
            threads: 1,
            writes_per_s,
        };
        Engines {
            options: Default::default(),
            rows: vec![row("no sync", "-", 390_000.0), row("sync per commit", "fsync", 2_900.0)],
        }
    }

    #[test]
    fn memtable_latency_reaches_each_verdict() {
        let slower = memtable(&power_loss(|_| 5, 30));
        let Verdict::HoldsOnlyWhen { condition } = &slower.verdict else { panic!("{slower:?}") };
        assert!(
            condition.contains("quorum-quorum-batch 2.00x (seeds 1-5, no spread)") || condition.contains("2.00x"),
            "{condition}"
        );
        assert!(
            condition.contains("loses acknowledged writes at power loss (quorum-quorum violated on seeds 1-5 of 5)"),
            "{condition}"
        );
        assert_eq!(memtable(&power_loss(|_| 5, 0)).verdict, Verdict::Holds, "faster and nothing lost");

        // The same latency synced or not, on records without a resolution (the old 1 ms tick, which
        // hides a 150 us sync).
        let mut equal = power_loss(|_| 10, 30);
        equal.engines = Some(engines());
        let claim = memtable(&equal);
        let Verdict::Inconclusive { why } = &claim.verdict else { panic!("{claim:?}") };
        assert!(why.contains("cannot resolve the sync") && why.contains("134x"), "real disk as context: {why}");
        assert!(claim.evidence.iter().any(|l| l.contains("134x")), "{:?}", claim.evidence);
        // On a simulation that could see the sync, no latency difference refutes.
        let pairs = compare_in_simulation(&mut Claim::new(1, "", "", ""), &equal.experiments[POWER_LOSS]);
        let refuted = decide(Claim::new(1, "", "", ""), &pairs, 1.2, true, Duration::from_micros(10), None);
        assert_eq!(refuted.verdict, Verdict::Refuted);
        // Records that say they ran at a 10 us resolution could see the 150 us sync: refuted.
        let mut fine = power_loss(|_| 10, 30);
        for r in &mut fine.experiments.get_mut(POWER_LOSS).expect("power-loss").records {
            r.resolution_us = Some(10);
        }
        assert_eq!(memtable(&fine).verdict, Verdict::Refuted);
        // One record at 20 us is too coarse for 10 steps of a 150 us sync: inconclusive again.
        fine.experiments.get_mut(POWER_LOSS).expect("power-loss").records[0].resolution_us = Some(20);
        let Verdict::Inconclusive { why } = memtable(&fine).verdict else { panic!("a coarse record decided") };
        assert!(why.contains("20 us resolution"), "{why}");

        // 1.1x-1.3x over the seeds against 1.2x.
        let straddling = memtable(&power_loss(|seed| [9, 8, 8, 8, 7][seed as usize - 1], 30));
        let Verdict::Inconclusive { why } = &straddling.verdict else { panic!("{straddling:?}") };
        assert!(why.contains("straddles 1.20x"), "{why}");

        assert!(matches!(memtable(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
        let mut unknown = power_loss(|_| 5, 0);
        unknown.experiments.get_mut(POWER_LOSS).expect("power-loss").records[0].check =
            runner::run::record::Check::Unknown;
        let Verdict::Inconclusive { why } = memtable(&unknown).verdict else { panic!("an unknown run passed") };
        assert!(why.contains("checker verdict unknown on seed 1"), "{why}");
        let old = power_loss(|_| 5, 0);
        let mut old = old;
        for r in &mut old.experiments.get_mut(POWER_LOSS).expect("power-loss").records {
            r.write_latency_us.clear();
        }
        assert!(matches!(memtable(&old).verdict, Verdict::NotMeasured { .. }), "no write latencies recorded");
    }
}
