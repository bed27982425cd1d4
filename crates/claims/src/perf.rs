//! Claims 1-4: write latency (memtable and sync), linear scaling, what eventual consistency
//! buys in throughput, SQL's bottleneck. Pure functions of the evidence.

use super::evidence::{EngineRow, Evidence, Scaling};
use super::ledger::{percent, seeds, Claim, Verdict};
use super::select;
use super::{command, no_results, SEED_SOURCE};
use runner::run::table::Row;
use sim::disk_cost::DiskCost;

/// The power-loss experiment: claim 1 compares each system acknowledged before its sync with
/// the same system synced before the ack ([`select::durability_pairs`]).
pub const POWER_LOSS: &str = "power-loss";

/// A sync before the acknowledgement "costs latency" when the synced variant's median (or
/// 99th percentile) write is at least this many times the unsynced one's. The simulation
/// delivers messages on whole-millisecond ticks, so one tick on a 5 ms median is 20 %: a
/// smaller difference is below what the simulation can resolve.
pub const SYNC_GAIN: f64 = 1.2;

/// Scaling counts as linear when every cluster keeps at least this efficiency (speed-up over
/// the node ratio, against 3 nodes at the same level): 9 nodes must give at least 2.7x of 3.
/// "Linear" in the claim tolerates small losses, not a third of the machines idle.
pub const EFFICIENCY_FLOOR: f64 = 0.9;

/// Weaker consistency gives "much higher" throughput when ONE saturates at least this many
/// times higher than ALL on the same nodes: half as much again, far beyond the few percent
/// the model's per-message costs can explain away.
pub const MUCH_HIGHER: f64 = 1.5;

/// SQLite "reaches" its serial bound at this share of it.
pub const BOUND_SHARE: f64 = 0.9;

/// Throughput has "collapsed" when the most loaded point keeps less than this share of the
/// series' peak (a plateau with sampling noise stays well above it).
pub const FLAT_SHARE: f64 = 0.9;

fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.1} ms"))
}

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

/// Claim 1: the memtable gives minimal write latency.
pub fn memtable(evidence: &Evidence) -> Claim {
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
    let mut gain: f64 = 0.0;
    let mut compared = 0;
    let mut unsynced_lost = 0u64;
    let mut lost_text: Vec<String> = Vec::new();
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
        compared += 1;
        gain = gain.max(s50 / u50.max(f64::MIN_POSITIVE)).max(s99 / u99.max(f64::MIN_POSITIVE));
        unsynced_lost += lost(u);
        lost_text.push(format!("{unsynced} {} of {}", lost(u), u.acknowledged_writes));
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
    if compared == 0 {
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
    claim.figure("simulation_sync_gain", gain);
    let cost = if unsynced_lost > 0 {
        format!(", which loses acknowledged writes at power loss ({}; claim 10)", lost_text.join(", "))
    } else {
        String::new()
    };
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
                cost_gist = if unsynced_lost > 0 { ", losing them at power loss" } else { "" }
            ));
    }
    let simulation = format!(
        "in the simulation (fsync {} us, below its 1 ms tick) the synced and unsynced variants wrote equally fast \
         (at most {gain:.2}x apart), so the verdict rests on the real disk",
        DiskCost::MEASURED.per_sync.as_micros()
    );
    // The real disk, when `lab bench engines` ran (and not as a --quick smoke run).
    let Some(engines) = &evidence.engines else {
        return claim.judged(Verdict::missing(REAL_DISK.to_owned()), simulation);
    };
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
        return claim
            .judged(Verdict::missing(format!("the engines results have no lsm rows: {REAL_DISK}")), simulation);
    };
    figure(&mut claim, lsm_fast);
    figure(&mut claim, lsm_slow);
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
        figure(&mut claim, off);
        figure(&mut claim, full);
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
            if unsynced_lost > 0 { ", which loses them at power loss" } else { "" }
        ))
}

/// What claim 1 needs when the simulation cannot tell.
const REAL_DISK: &str = "run `lab bench engines` on a real disk (make bench-engines; `make run` runs a short one); \
                         a --quick run is not used for the verdict";

fn scaling_missing(claim: Claim, what: &str) -> Claim {
    claim.judged(Verdict::missing(format!("{what}: run `{}`", command("scaling"))), "the claim needs the scaling sweep")
}

fn seed_text(scaling: &Scaling) -> String {
    scaling.seed.map_or_else(|| "seed unknown".to_owned(), |s| format!("seed {s}"))
}

/// The quorum levels of the sweep, in first-seen order.
fn levels(scaling: &Scaling) -> Vec<String> {
    let mut levels: Vec<String> = Vec::new();
    for row in scaling.rows.iter().filter(|r| r.level != "-") {
        if !levels.contains(&row.level) {
            levels.push(row.level.clone());
        }
    }
    levels
}

/// Claim 2: Cassandra scales linearly with nodes.
pub fn linear_scaling(evidence: &Evidence) -> Claim {
    let claim = Claim::new(
        2,
        "scales linearly with nodes",
        "Cassandra scales linearly with the addition of nodes to the cluster, enabling it to handle large volumes \
         of write operations with ease.",
        SEED_SOURCE,
    )
    .tested_by("scaling", &command("scaling"));
    let Some(scaling) = &evidence.scaling else { return scaling_missing(claim, "no scaling results") };
    let mut claim = claim;
    let mut worst: Option<(f64, String)> = None;
    for level in levels(scaling) {
        let mut rows: Vec<_> = scaling.rows.iter().filter(|r| r.level == level && r.errors == 0).collect();
        rows.sort_by_key(|r| r.nodes);
        let parts: Vec<String> = rows
            .iter()
            .map(|r| {
                if let Some(e) = r.efficiency {
                    claim.figure(format!("scaling/{}/efficiency", r.system), e);
                    if worst.as_ref().is_none_or(|(w, _)| e < *w) {
                        worst = Some((e, format!("{} nodes at {level}", r.nodes)));
                    }
                }
                claim.figure(format!("scaling/{}/saturation_ok_per_s", r.system), r.saturation_ok_per_s);
                let efficiency = r.efficiency.map_or_else(String::new, |e| format!(" (efficiency {e:.2})"));
                format!("{} nodes {:.0} ok/s{efficiency}", r.nodes, r.saturation_ok_per_s)
            })
            .collect();
        claim.line(format!(
            "scaling ({}), quorum store N=3 at {level}, saturation throughput: {}",
            seed_text(scaling),
            parts.join(", ")
        ));
    }
    let Some((worst, at)) = worst else {
        return scaling_missing(claim, "the scaling results have no quorum series with a 3-node base");
    };
    claim.figure("worst_efficiency", worst);
    if worst < EFFICIENCY_FLOOR {
        return claim.judged(
            Verdict::Refuted,
            format!("efficiency fell to {worst:.2} ({at}), below {EFFICIENCY_FLOOR}: adding nodes added less than their share"),
        );
    }
    let model = if scaling.model.is_empty() {
        "the capacity model of results/scaling/summary.md".to_owned()
    } else {
        // The model's costs and the run's shape; the definitions of saturation and bound stay
        // in the summary.
        let lines: Vec<&str> = scaling
            .model
            .iter()
            .map(String::as_str)
            .filter(|l| ["CPU", "disk", "tick"].iter().any(|p| l.starts_with(p)))
            .collect();
        lines.join("; ")
    };
    claim
        .judged(
            Verdict::only_when(format!(
            "the lab's capacity model holds: each node has its own CPU and one disk, and every operation costs the \
             same work on its N = 3 replicas whatever the cluster size, with keys spread evenly and every node \
             coordinating an equal share of clients ({model})"
        )),
            format!(
                "every cluster kept at least {worst:.3} efficiency (lowest: {at}; threshold {EFFICIENCY_FLOOR}, one \
                 seed of the model: nothing outside it was measured)"
            ),
        )
        .gist("the lab's capacity model holds (each node its own CPU and disk, keys spread evenly)")
}

/// Claim 3: eventual consistency gives much higher write throughput.
pub fn eventual_throughput(evidence: &Evidence) -> Claim {
    let claim = Claim::new(
        3,
        "eventual consistency buys much higher throughput",
        "NoSQL databases, on the other hand, tend to prioritize Eventual Consistency over strict ACID compliance, \
         which allows them to achieve much higher write throughput.",
        SEED_SOURCE,
    )
    .tested_by("scaling", &command("scaling"));
    let Some(scaling) = &evidence.scaling else { return scaling_missing(claim, "no scaling results") };
    let mut claim = claim;
    let mut nodes: Vec<usize> = scaling.rows.iter().filter(|r| r.level != "-").map(|r| r.nodes).collect();
    nodes.sort_unstable();
    nodes.dedup();
    let mut ratios: Vec<(usize, f64)> = Vec::new();
    for n in &nodes {
        let at = |level: &str| scaling.rows.iter().find(|r| r.nodes == *n && r.level == level && r.errors == 0);
        let (Some(one), Some(all)) = (at("one"), at("all")) else { continue };
        if all.saturation_ok_per_s <= 0.0 {
            continue;
        }
        let ratio = one.saturation_ok_per_s / all.saturation_ok_per_s;
        ratios.push((*n, ratio));
        claim.figure(format!("scaling/{n}/one_over_all"), ratio);
        let quorum = at("quorum").map_or_else(String::new, |q| format!(", QUORUM {:.0}", q.saturation_ok_per_s));
        claim.line(format!(
            "scaling ({}), {n} nodes: ONE {:.0} ok/s{quorum}, ALL {:.0}: ONE/ALL {ratio:.2}",
            seed_text(scaling),
            one.saturation_ok_per_s,
            all.saturation_ok_per_s
        ));
    }
    if ratios.is_empty() {
        return scaling_missing(claim, "the scaling results lack ONE and ALL at the same nodes");
    }
    let sqlite = scaling.rows.iter().find(|r| r.level == "-" && r.errors == 0);
    let mut machines = String::new();
    if let (Some(sqlite), Some(biggest)) =
        (sqlite, scaling.rows.iter().filter(|r| r.level == "one" && r.errors == 0).max_by_key(|r| r.nodes))
    {
        let per_node = biggest.saturation_ok_per_s / biggest.nodes as f64;
        claim.figure("scaling/sqlite/saturation_ok_per_s", sqlite.saturation_ok_per_s);
        claim.figure(format!("scaling/{}/per_node_ok_per_s", biggest.system), per_node);
        claim.line(format!(
            "scaling ({}): SQLite (1 node) {:.0} ok/s; {} {:.0} ok/s in total, {per_node:.0} per node",
            seed_text(scaling),
            sqlite.saturation_ok_per_s,
            biggest.system,
            biggest.saturation_ok_per_s
        ));
        machines = format!(
            "; the quorum store's lead over SQLite comes from machines: {} nodes give {:.1}x SQLite's throughput, \
             {:.2}x per node",
            biggest.nodes,
            biggest.saturation_ok_per_s / sqlite.saturation_ok_per_s.max(f64::MIN_POSITIVE),
            per_node / sqlite.saturation_ok_per_s.max(f64::MIN_POSITIVE)
        );
    }
    let best = ratios.iter().map(|(_, r)| *r).fold(0.0, f64::max);
    let least = ratios.iter().map(|(_, r)| *r).fold(f64::INFINITY, f64::min);
    claim.figure("best_one_over_all", best);
    let mix = "(read/write mix of the sweep: results/scaling/summary.md)";
    if best < MUCH_HIGHER {
        return claim.judged(
            Verdict::Refuted,
            format!(
                "on the same nodes ONE saturated at most {best:.2}x higher than ALL (threshold {MUCH_HIGHER}x) \
                 {mix}: the consistency level barely moves throughput, because it changes how many replies a \
                 coordinator waits for, not the work: every write goes to all N replicas at every level (as in \
                 Cassandra and Dynamo), and this store's reads do too (a store whose reads at ONE contact one \
                 replica would save read work: not measured){machines}"
            ),
        );
    }
    if least >= MUCH_HIGHER {
        return claim.judged(
            Verdict::Holds,
            format!("ONE saturated at least {least:.2}x higher than ALL on every cluster size {mix}{machines}"),
        );
    }
    let big: Vec<String> = ratios.iter().filter(|(_, r)| *r >= MUCH_HIGHER).map(|(n, _)| n.to_string()).collect();
    claim
        .judged(
            Verdict::only_when(format!("the cluster has {} nodes (ONE/ALL >= {MUCH_HIGHER})", big.join(" or "))),
            format!("ONE/ALL ranged {least:.2}-{best:.2}x {mix}{machines}"),
        )
        .gist(format!("the cluster has {} nodes", big.join(" or ")))
}

/// Claim 4: SQL bottlenecks on locking and transactions as load increases.
pub fn sql_bottleneck(evidence: &Evidence) -> Claim {
    let claim = Claim::new(
        4,
        "SQL bottlenecks on locking as load grows",
        "SQL databases often experience bottlenecks in write-heavy applications due to locking, transaction \
         handling, and the need to maintain consistency across distributed systems. As the load increases, these \
         bottlenecks can lead to significant slowdowns.",
        SEED_SOURCE,
    )
    .tested_by("scaling", &command("scaling"));
    let Some(scaling) = &evidence.scaling else { return scaling_missing(claim, "no scaling results") };
    let mut claim = claim;
    let Some(row) = scaling.rows.iter().find(|r| r.level == "-" && r.errors == 0) else {
        return scaling_missing(claim, "the scaling results have no SQLite series");
    };
    let curve = scaling.curve(&row.system);
    let (Some(first), Some(last), Some(bound)) = (curve.first(), curve.last(), row.model_bound_ok_per_s) else {
        return scaling_missing(claim, "the SQLite series has no points or no model bound");
    };
    let peak = row.saturation_ok_per_s;
    let share_of_bound = peak / bound.max(f64::MIN_POSITIVE);
    let kept = last.ok_per_s / peak.max(f64::MIN_POSITIVE);
    claim.figure("scaling/sqlite/saturation_ok_per_s", peak);
    claim.figure("scaling/sqlite/model_bound_ok_per_s", bound);
    claim.figure("scaling/sqlite/share_of_bound", share_of_bound);
    claim.figure("scaling/sqlite/last_over_peak", kept);
    let curve_text: Vec<String> = curve.iter().map(|p| format!("{} clients {:.0}", p.clients, p.ok_per_s)).collect();
    claim.line(format!(
        "scaling ({}), SQLite (one writer), ok/s against clients: {}",
        seed_text(scaling),
        curve_text.join(", ")
    ));
    // The peak's own point (the knee, where the curve flattens, may come before it).
    let peak_clients = curve.iter().max_by(|a, b| a.ok_per_s.total_cmp(&b.ok_per_s)).map_or(0, |p| p.clients);
    claim.line(format!(
        "scaling ({}), SQLite: peak {peak:.0} ok/s at {peak_clients} clients (knee at {}) = {} of the serial bound \
         {bound:.0} ok/s (1 / (CPU per message + write share x fsync)); p99 {} at {} clients, {} at {}",
        seed_text(scaling),
        row.knee_clients,
        percent(share_of_bound),
        ms(first.p99_ms),
        first.clients,
        ms(last.p99_ms),
        last.clients
    ));
    if kept < FLAT_SHARE {
        return claim.judged(
            Verdict::Holds,
            format!(
                "throughput fell as load grew: {peak:.0} ok/s at its peak, {:.0} at {} clients ({} of the peak)",
                last.ok_per_s,
                last.clients,
                percent(kept)
            ),
        );
    }
    let latency = format!("p99 grows from {} to {} as clients queue", ms(first.p99_ms), ms(last.p99_ms));
    if let (Some(a), Some(b)) = (first.p99_ms, last.p99_ms) {
        claim.figure("scaling/sqlite/p99_growth", b / a.max(f64::MIN_POSITIVE));
    }
    // What the model leaves out, so that the verdict does not claim more than it tested.
    let scope = "the lab's SQLite has one writer and no lock contention beyond it (one connection, one \
                 transaction at a time), on the sweep's read/write mix";
    if share_of_bound >= BOUND_SHARE {
        return claim
            .judged(
                Verdict::only_when(format!(
                    "load exceeds what its one writer commits: throughput caps at the serial bound ({} of \
                     {bound:.0} ok/s from {} clients on) and stays flat to {} clients ({} of the peak) while \
                     {latency}: a ceiling and a queue, not a collapse ({scope})",
                    percent(share_of_bound),
                    row.knee_clients,
                    last.clients,
                    percent(kept)
                )),
                format!(
                    "the bottleneck is the single writer's per-commit cost: beyond it more load adds latency ({latency}), \
                     not throughput, and throughput does not degrade"
                ),
            )
            .gist("load exceeds its one writer's commit rate: then a ceiling and a queue (slower replies), not a collapse");
    }
    claim
        .judged(
            Verdict::only_when(format!(
            "load exceeds what caps it at {peak:.0} ok/s, {} of its serial bound: flat to {} clients ({} of the peak) \
             while {latency}, so something besides the writer's commit cost limits it, without a collapse",
            percent(share_of_bound),
            last.clients,
            percent(kept)
        )),
            "throughput plateaus below the serial bound",
        )
        .gist("load exceeds its plateau, below the serial bound: no collapse")
}

#[cfg(test)]
mod tests {
    use super::super::evidence::{Engines, ScalingPoint, ScalingRow};
    use super::super::testing::{evidence, row, BATCH, PERIODIC};
    use super::*;

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

    fn series(system: &str, nodes: usize, level: &str, saturation: f64) -> ScalingRow {
        ScalingRow {
            system: system.into(),
            nodes,
            level: level.into(),
            saturation_ok_per_s: saturation,
            knee_clients: 16,
            p99_ms_at_saturation: Some(5.0),
            speedup_vs_3: None,
            efficiency: None,
            model_bound_ok_per_s: None,
            errors: 0,
        }
    }

    fn sweep(five_one: f64, five_all: f64) -> Evidence {
        let mut rows = vec![
            series("quorum-3-one", 3, "one", 3000.0),
            series("quorum-3-all", 3, "all", 2900.0),
            series("quorum-5-one", 5, "one", five_one),
            series("quorum-5-all", 5, "all", five_all),
        ];
        for r in rows.iter_mut() {
            let base = if r.level == "one" { 3000.0 } else { 2900.0 };
            r.efficiency = Some(r.saturation_ok_per_s / base / (r.nodes as f64 / 3.0));
        }
        let mut sqlite = series("sqlite", 1, "-", 9000.0);
        sqlite.model_bound_ok_per_s = Some(9500.0);
        rows.push(sqlite);
        let points = [(4, 5000.0, 1.0), (16, 9000.0, 3.0), (128, 8900.0, 30.0)]
            .iter()
            .map(|(c, t, p)| ScalingPoint { series: "sqlite".into(), clients: *c, ok_per_s: *t, p99_ms: Some(*p) })
            .collect();
        Evidence {
            scaling: Some(Scaling { seed: Some(1), model: vec!["CPU per frame 10 us".into()], rows, points }),
            ..Evidence::default()
        }
    }

    #[test]
    fn scaling_is_linear_only_under_the_model() {
        let claim = linear_scaling(&sweep(5000.0, 4800.0));
        let Verdict::HoldsOnlyWhen { condition } = &claim.verdict else { panic!("{claim:?}") };
        assert!(condition.contains("CPU per frame 10 us"), "{condition}");
        assert_eq!(linear_scaling(&sweep(3500.0, 4800.0)).verdict, Verdict::Refuted, "5 nodes at 0.7 efficiency");
        assert!(matches!(linear_scaling(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
    }

    #[test]
    fn consistency_level_must_buy_much_more_throughput() {
        let claim = eventual_throughput(&sweep(5000.0, 4800.0));
        assert_eq!(claim.verdict, Verdict::Refuted, "{claim:?}");
        assert!(claim.reasoning.contains("from machines"), "{}", claim.reasoning);
        assert_eq!(eventual_throughput(&sweep(5000.0, 2000.0)).verdict.label(), "holds only when");
        let mut all_slow = sweep(5000.0, 2000.0);
        if let Some(s) = all_slow.scaling.as_mut() {
            s.rows[1].saturation_ok_per_s = 1000.0;
        }
        assert_eq!(eventual_throughput(&all_slow).verdict, Verdict::Holds);
        assert!(matches!(eventual_throughput(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
    }

    #[test]
    fn sqlite_caps_at_its_writer_without_collapsing() {
        let claim = sql_bottleneck(&sweep(5000.0, 4800.0));
        let Verdict::HoldsOnlyWhen { condition } = &claim.verdict else { panic!("{claim:?}") };
        assert!(condition.contains("one writer") && condition.contains("94.7 %"), "{condition}");
        let mut collapse = sweep(5000.0, 4800.0);
        if let Some(s) = collapse.scaling.as_mut() {
            s.points[2].ok_per_s = 4000.0;
        }
        assert_eq!(sql_bottleneck(&collapse).verdict, Verdict::Holds);
        let mut below = sweep(5000.0, 4800.0);
        if let Some(s) = below.scaling.as_mut() {
            s.rows[4].model_bound_ok_per_s = Some(20_000.0);
        }
        let Verdict::HoldsOnlyWhen { condition } = sql_bottleneck(&below).verdict else { panic!() };
        assert!(condition.contains("something besides the writer"), "{condition}");
        assert!(matches!(sql_bottleneck(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
    }
}
