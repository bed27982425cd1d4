//! Claim 1: the memtable gives minimal write latency. Judged on the power-loss experiment's
//! write latencies (each system acknowledged before its sync beside the same system synced
//! before the ack: [`crate::select::durability_pairs`]) and, when the simulation cannot tell,
//! on `lab bench engines` (this machine's real disk).

use crate::registry::Registered;
use crate::evidence::{EngineRow, Engines, Evidence, Experiment};
use crate::ledger::{ms, seeds, Claim, Verdict};
use crate::select;
use crate::{command, no_results, SEED_SOURCE};
use runner::run::table::Row;
use sim::disk_cost::DiskCost;

use super::fault_experiments::POWER_LOSS;

/// A sync before the acknowledgement "costs latency" when the synced variant's median (or
/// 99th percentile) write is at least this many times the unsynced one's. The simulation
/// delivers messages on whole-millisecond ticks, so one tick on a 5 ms median is 20 %: a
/// smaller difference is below what the simulation can resolve.
pub const SYNC_GAIN: f64 = 1.2;

fn lost(row: &Row) -> u64 {
    row.lost_writes.unwrap_or(0)
}

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
    let simulated = compare_in_simulation(&mut claim, experiment);
    if simulated.compared == 0 {
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
    let gain = simulated.gain;
    claim.figure("simulation_sync_gain", gain);
    let cost = simulated.cost();
    if gain >= SYNC_GAIN {
        return claim
            .judged(
                Verdict::only_when(format!(
                    "the write is acknowledged before it is synced (periodic commit log, SQLite synchronous=OFF or \
                     NORMAL: the gain needs no memtable){cost}"
                )),
                format!("the synced variants' writes were up to {gain:.2}x slower in the simulation"),
            )
            .gist(format!(
                "writes are acknowledged before their sync ({gain:.1}x faster in the simulation){cost_gist}",
                cost_gist = if simulated.unsynced_lost > 0 { ", losing them at power loss" } else { "" }
            ));
    }
    let simulation = format!(
        "in the simulation (fsync {} us, below its 1 ms tick) the synced and unsynced variants wrote equally fast \
         (at most {gain:.2}x apart), so the verdict rests on the real disk",
        DiskCost::MEASURED.per_sync.as_micros()
    );
    on_real_disk(claim, evidence, &simulated, simulation)
}

/// What the power-loss experiment says of the sync's cost, for claim 1's verdict.
struct Simulated {
    /// The largest synced-over-unsynced write latency ratio (median or 99th percentile).
    gain: f64,
    /// How many pairs had write latencies to compare.
    compared: usize,
    /// The acknowledged writes the unsynced variants lost at power loss.
    unsynced_lost: u64,
    /// The same per unsynced system, in words (`SYSTEM LOST of ACKNOWLEDGED`).
    lost_text: Vec<String>,
}

impl Simulated {
    /// The price of skipping the sync, for the condition (empty when nothing was lost).
    fn cost(&self) -> String {
        if self.unsynced_lost > 0 {
            format!(", which loses acknowledged writes at power loss ({}; claim 10)", self.lost_text.join(", "))
        } else {
            String::new()
        }
    }
}

/// Compares each system acknowledged before its sync with the same system synced before the
/// ack in `experiment` (power-loss): their write latencies (figures and one evidence line per
/// pair) and what the unsynced one lost.
fn compare_in_simulation(claim: &mut Claim, experiment: &Experiment) -> Simulated {
    let mut simulated = Simulated { gain: 0.0, compared: 0, unsynced_lost: 0, lost_text: Vec::new() };
    for (u, s) in select::durability_pairs(experiment) {
        if u.seeds <= u.errors || s.seeds <= s.errors {
            continue;
        }
        let (unsynced, synced) = (&u.system, &s.system);
        let (Some(u50), Some(s50), Some(u99), Some(s99)) =
            (u.write_latency_ms_p50, s.write_latency_ms_p50, u.write_latency_ms_p99, s.write_latency_ms_p99)
        else {
            continue;
        };
        simulated.compared += 1;
        simulated.gain = simulated.gain.max(s50 / u50.max(f64::MIN_POSITIVE)).max(s99 / u99.max(f64::MIN_POSITIVE));
        simulated.unsynced_lost += lost(u);
        simulated.lost_text.push(format!("{unsynced} {} of {}", lost(u), u.acknowledged_writes));
        for row in [u, s] {
            claim.figure(
                format!("{POWER_LOSS}/{}/write_latency_ms_p50", row.system),
                row.write_latency_ms_p50.unwrap_or(0.0),
            );
            claim.figure(
                format!("{POWER_LOSS}/{}/write_latency_ms_p99", row.system),
                row.write_latency_ms_p99.unwrap_or(0.0),
            );
        }
        claim.line(format!(
            "{POWER_LOSS} (simulated disk, fsync 150 us), write latency p50/p99 over {}: {unsynced} (acknowledged \
             before the sync) {}/{} and {} of {} acknowledged writes lost at power loss; {synced} (synced before \
             the ack) {}/{} and {} lost",
            seeds(&experiment.seeds),
            ms(u.write_latency_ms_p50),
            ms(u.write_latency_ms_p99),
            lost(u),
            u.acknowledged_writes,
            ms(s.write_latency_ms_p50),
            ms(s.write_latency_ms_p99),
            lost(s)
        ));
    }
    simulated
}

/// Claim 1 when the simulation could not tell the synced variants from the unsynced ones
/// (`simulation` says so): the verdict rests on `lab bench engines`, this machine's real disk
/// (and not on a --quick smoke run).
fn on_real_disk(mut claim: Claim, evidence: &Evidence, simulated: &Simulated, simulation: String) -> Claim {
    let Some(engines) = &evidence.engines else {
        return claim.judged(Verdict::missing(REAL_DISK.to_owned()), simulation);
    };
    let Some(RealDisk { lsm_gain, versus }) = measure_real_disk(&mut claim, engines) else {
        return claim
            .judged(Verdict::missing(format!("the engines results have no lsm rows: {REAL_DISK}")), simulation);
    };
    if engines.options.quick {
        return claim.judged(Verdict::missing(REAL_DISK.to_owned()), simulation);
    }
    if lsm_gain < SYNC_GAIN {
        // A sync that costs nothing (tmpfs, a volatile write cache) cannot test the claim.
        return claim.judged(
            Verdict::missing(format!(
                "a disk whose sync is durable: here skipping it gained only {lsm_gain:.2}x (tmpfs or a volatile write \
                 cache?); {REAL_DISK}"
            )),
            simulation,
        );
    }
    let cost = simulated.cost();
    claim
        .judged(
            Verdict::only_when(format!(
                "the write is acknowledged before it is synced: on this machine's disk skipping the sync made the \
                 memtable engine's single writes {lsm_gain:.0}x faster{versus}{cost}"
            )),
            format!("{lsm_gain:.0}x on the real disk from skipping the sync{versus}; {simulation}"),
        )
        .gist(format!(
            "writes are acknowledged before their sync{}",
            if simulated.unsynced_lost > 0 { ", which loses them at power loss" } else { "" }
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

/// What claim 1 needs when the simulation cannot tell.
const REAL_DISK: &str = "run `lab bench engines` on a real disk (make bench-engines; `make run` runs a short one); \
                         a --quick run is not used for the verdict";

#[cfg(test)]
mod tests {
    use super::*;

    /// The judgment with the standard registration's thresholds.
    fn memtable(evidence: &Evidence) -> Claim {
        super::memtable(evidence, &crate::registry::standard().claim(1))
    }
    use crate::testing::{evidence, row, BATCH, PERIODIC};

    fn written(system: &str, p50: f64, lost: u64) -> Row {
        let mut r = row(system);
        r.write_latency_ms_p50 = Some(p50);
        r.write_latency_ms_p99 = Some(p50 * 2.0);
        r.lost_writes = Some(lost);
        r.acknowledged_writes = 100;
        r
    }

    #[test]
    fn memtable_latency_verdicts_follow_the_sync() {
        let equal = evidence(&[(POWER_LOSS, vec![written(PERIODIC, 10.0, 30), written(BATCH, 10.0, 0)])]);
        let claim = memtable(&equal);
        assert!(matches!(claim.verdict, Verdict::NotMeasured { .. }), "the simulation alone cannot tell: {claim:?}");
        assert_eq!(claim.figures["simulation_sync_gain"], 1.0);

        let mut with_disk = equal.clone();
        with_disk.engines = Some(Engines {
            options: Default::default(),
            rows: vec![
                EngineRow {
                    engine: "lsm".into(),
                    setting: "no sync".into(),
                    sync_call: "-".into(),
                    rows_per_commit: 1,
                    threads: 1,
                    writes_per_s: 390_000.0,
                },
                EngineRow {
                    engine: "lsm".into(),
                    setting: "sync per commit".into(),
                    sync_call: "fsync".into(),
                    rows_per_commit: 1,
                    threads: 1,
                    writes_per_s: 2_900.0,
                },
            ],
        });
        let Verdict::HoldsOnlyWhen { condition } = memtable(&with_disk).verdict else { panic!() };
        assert!(condition.contains("this machine's disk") && condition.contains("134x"), "{condition}");
        if let Some(engines) = with_disk.engines.as_mut() {
            engines.options.quick = true;
        }
        let claim = memtable(&with_disk);
        assert!(matches!(claim.verdict, Verdict::NotMeasured { .. }), "a --quick run is shown, not used");
        assert!(claim.evidence.iter().any(|l| l.contains("--quick") && l.contains("134x")), "{:?}", claim.evidence);

        if let Some(engines) = with_disk.engines.as_mut() {
            engines.options.quick = false;
            engines.rows[0].writes_per_s = 3_000.0;
        }
        let claim = memtable(&with_disk);
        assert!(matches!(claim.verdict, Verdict::NotMeasured { .. }), "a disk whose sync costs nothing: {claim:?}");

        let slower = evidence(&[(POWER_LOSS, vec![written(PERIODIC, 5.0, 30), written(BATCH, 10.0, 0)])]);
        let Verdict::HoldsOnlyWhen { condition } = memtable(&slower).verdict else { panic!() };
        assert!(condition.contains("acknowledged before it is synced"), "{condition}");
        assert!(condition.contains("quorum-quorum 30 of 100"), "{condition}");
        let free = evidence(&[(POWER_LOSS, vec![written(PERIODIC, 5.0, 0), written(BATCH, 10.0, 0)])]);
        let Verdict::HoldsOnlyWhen { condition } = memtable(&free).verdict else { panic!() };
        assert!(!condition.contains("loses"), "nothing was lost: {condition}");

        let old = evidence(&[(POWER_LOSS, vec![row(PERIODIC), row(BATCH)])]);
        assert!(matches!(memtable(&old).verdict, Verdict::NotMeasured { .. }), "no write latencies recorded");
        assert!(matches!(memtable(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
    }
}
