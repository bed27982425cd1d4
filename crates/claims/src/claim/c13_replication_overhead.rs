//! Claim 13: SQL high availability needs master-slave replication, which introduces overhead.
//! Judged on the replication-overhead experiment (no fault): each replicated SQL system
//! ([`crate::select::replicated_sql`]) against the single SQLite server synced before the ack
//! of the same experiment, paired by seed: the ratio of their median write latencies (the
//! overhead a client sees), with the messages per operation beside it (the work the cluster
//! does). Overhead is introduced when the ratio lies above the registered `overhead`; below it,
//! none; an interval straddling it decides nothing.

use std::collections::BTreeMap;

use runner::run::record::SeedRecord;
use runner::run::table::quantile;

use crate::evidence::{Evidence, Experiment};
use crate::ledger::{Claim, Verdict};
use crate::registry::Registered;
use crate::select;
use crate::stats::{resolve, Estimate, Side};
use crate::{command, no_results, SEED_SOURCE};

use super::fault_experiments::unknown_runs;

/// The experiment claim 13 is judged on.
pub const OVERHEAD_EXPERIMENT: &str = "replication-overhead";

/// The thresholds this judgment reads from the registration (`experiments/claims/registered.toml`).
pub const THRESHOLDS: &[&str] = &["overhead"];

/// The median write latency of one seed, in ms.
fn write_p50(record: &SeedRecord) -> Option<f64> {
    quantile(&record.write_latency_us, 0.5).map(|us| us as f64 / 1000.0)
}

/// Messages per operation of one seed.
fn messages_per_op(record: &SeedRecord) -> Option<f64> {
    (record.all_ops > 0).then(|| record.messages as f64 / record.all_ops as f64)
}

/// One replicated SQL system against the single server.
struct Pair {
    system: String,
    asynchronous: bool,
    /// Its median write latency over the single server's, paired by seed.
    latency: Estimate,
}

/// Claim 13, judged on `evidence` with the registered thresholds `registered`.
pub fn replication_overhead(evidence: &Evidence, registered: &Registered) -> Claim {
    let mut claim = Claim::new(
        13,
        "SQL high availability (replication) introduces overhead",
        "High availability in SQL databases often requires complex setups like master-slave replication or \
         clustering, which can introduce overhead and might still lead to performance degradation under heavy \
         write loads.",
        SEED_SOURCE,
    )
    .tested_by(OVERHEAD_EXPERIMENT, &command(OVERHEAD_EXPERIMENT));
    let Some(experiment) = evidence.experiments.get(OVERHEAD_EXPERIMENT) else {
        return claim
            .judged(no_results(&[OVERHEAD_EXPERIMENT]), "the overhead needs the replication-overhead experiment");
    };
    let single = experiment.row_where(|p| select::sql_synced(p) && p.replicas == 1).map(|r| r.system.clone());
    let replicated: Vec<String> =
        experiment.rows_where(select::replicated_sql).into_iter().map(|r| r.system.clone()).collect();
    let Some(single) = single.filter(|_| !replicated.is_empty()) else {
        return claim.judged(
            Verdict::missing(format!(
                "{OVERHEAD_EXPERIMENT} needs one SQLite server synced before the ack and a replicated SQL system: run \
                 `{}`",
                command(OVERHEAD_EXPERIMENT)
            )),
            "the overhead is a comparison of replicated SQL with one server",
        );
    };
    let used = std::iter::once(single.as_str()).chain(replicated.iter().map(String::as_str));
    if let Some((count, what)) =
        unknown_runs(used.map(|s| (experiment, s)).filter(|(e, s)| !e.unknowns(s).failed.is_empty()))
    {
        return claim
            .judged(super::fault_experiments::inconclusive_unknown(count, &what), "a failed run measured no latency");
    }
    let pairs = measure(&mut claim, experiment, &single, &replicated);
    let throughput = evidence.scaling_sql.as_ref().map(|sweep| throughput(&mut claim, sweep)).unwrap_or_default();
    if pairs.is_empty() {
        return claim.judged(
            Verdict::missing(format!(
                "no write latency recorded in {OVERHEAD_EXPERIMENT}: run `{}`",
                command(OVERHEAD_EXPERIMENT)
            )),
            "the overhead needs write latencies on both sides",
        );
    }
    decide(claim, &single, &pairs, &throughput, registered.value("overhead"))
}

/// The single server's saturation throughput over one replicated SQL group's (3 nodes), per mix,
/// paired by seed, from the SQL side of the scaling sweep: above 1 the replicated store
/// saturates lower. One evidence line and figure per mix.
fn throughput(claim: &mut Claim, sweep: &crate::evidence::Scaling) -> Vec<(String, Estimate)> {
    let mut out = Vec::new();
    let mut mixes: Vec<&str> = Vec::new();
    for row in sweep.rows.iter().filter(|r| r.level == "-") {
        if !mixes.contains(&row.mix.as_str()) {
            mixes.push(&row.mix);
        }
    }
    for mix in mixes {
        let single = sweep.rows.iter().find(|r| r.level == "-" && r.nodes == 1 && r.mix == mix);
        let group = sweep.rows.iter().filter(|r| r.level == "-" && r.nodes > 1 && r.mix == mix).min_by_key(|r| r.nodes);
        let (Some(single), Some(group)) = (single, group) else { continue };
        let Some(ratio) = super::scaling_sweep::paired_ratio(sweep, &single.system, &group.system, 1.0) else {
            continue;
        };
        let ok = |system: &str| {
            Estimate::of(sweep.saturation_by_seed(system)).map_or("-".to_owned(), |e| format!("{:.0}", e.mean))
        };
        claim.estimate(format!("scaling-sql/{}/over/{}/saturation_ratio", single.system, group.system), &ratio);
        claim.line(format!(
            "scaling-sql ({}, the scaling sweep's capacity model), {mix}: saturation of one SQLite server {} ok/s \
             ({}) against SQLite on Raft ({} nodes, one group) {} ok/s ({}); single over replicated, paired by seed \
             {} (above 1: the replicated store saturates lower)",
            super::scaling_sweep::seeds_text(sweep),
            ok(&single.system),
            super::scaling_sweep::work_text(sweep, &single.system),
            group.nodes,
            ok(&group.system),
            super::scaling_sweep::work_text(sweep, &group.system),
            ratio.text_with(|v| format!("{v:.2}"))
        ));
        out.push((mix.to_owned(), ratio));
    }
    out
}

/// One evidence line per replicated system: its latency ratio and messages per operation
/// against the single server's.
fn measure(claim: &mut Claim, experiment: &Experiment, single: &str, replicated: &[String]) -> Vec<Pair> {
    let base: BTreeMap<u64, f64> = experiment
        .records_of(single)
        .filter(|r| r.error.is_none())
        .filter_map(|r| Some((r.seed, write_p50(r).filter(|v| *v > 0.0)?)))
        .collect();
    let base_p50 = Estimate::of(base.clone());
    let base_messages = experiment.estimate(single, messages_per_op);
    let mut pairs = Vec::new();
    for system in replicated {
        let latency = Estimate::from_pairs(
            experiment
                .records_of(system)
                .filter(|r| r.error.is_none())
                .filter_map(|r| Some((r.seed, write_p50(r)? / base.get(&r.seed)?))),
        );
        let Some(latency) = latency else { continue };
        let asynchronous = experiment.properties(system).is_some_and(select::asynchronous_replication);
        let p50 = experiment.estimate(system, write_p50);
        let messages = experiment.estimate(system, messages_per_op);
        claim.estimate(format!("{OVERHEAD_EXPERIMENT}/{system}/over/{single}/write_p50_ratio"), &latency);
        let ms = |e: &Option<Estimate>| e.as_ref().map_or("-".to_owned(), |e| e.text_with(|v| format!("{v:.2} ms")));
        let per_op = |e: &Option<Estimate>| e.as_ref().map_or("-".to_owned(), |e| format!("{:.2}", e.mean));
        claim.line(format!(
            "{OVERHEAD_EXPERIMENT} (no fault, datacenter LAN, simulated disk), {system} ({} acknowledgement) against \
             {single} (one server, synced before the ack), paired by seed: median write latency {} ({} against {}); \
             messages per operation {} against {}",
            if asynchronous { "async" } else { "majority" },
            latency.text_with(|v| format!("{v:.2}x")),
            ms(&p50),
            ms(&base_p50),
            per_op(&messages),
            per_op(&base_messages),
        ));
        pairs.push(Pair { system: system.clone(), asynchronous, latency });
    }
    pairs
}

/// The verdict from each pair's side of the threshold: holds when every majority-acknowledged
/// system is slower by at least the threshold (holds only when majority-acknowledged, when an
/// asynchronous one is not); refuted when none is; inconclusive while an interval straddles.
fn decide(claim: Claim, single: &str, pairs: &[Pair], throughput: &[(String, Estimate)], threshold: f64) -> Claim {
    // Throughput: where the single server saturated decidedly above the replicated group.
    let lower: Vec<&str> =
        throughput.iter().filter(|(_, r)| r.side(threshold) == Side::Above).map(|(mix, _)| mix.as_str()).collect();
    let higher: Vec<&str> = throughput
        .iter()
        .filter(|(_, r)| r.side(1.0 / threshold) == Side::Below)
        .map(|(mix, _)| mix.as_str())
        .collect();
    let saturation = if throughput.is_empty() {
        "; the saturation throughputs were not measured (`lab run experiments/scaling-sql.toml`)".to_owned()
    } else {
        format!(
            "; at saturation (scaling-sql) replicated SQL was lower by the threshold in {} and higher by it in {}: \
             the messages and syncs per operation in the evidence say why (a Raft leader syncs a batch of entries at \
             once where the single connection syncs each commit, and confirms a batch of reads with one heartbeat \
             round)",
            if lower.is_empty() { "no mix".to_owned() } else { lower.join(", ") },
            if higher.is_empty() { "no mix".to_owned() } else { higher.join(", ") }
        )
    };
    let show = |v: f64| format!("{v:.2}x");
    let sides: Vec<Side> = pairs.iter().map(|p| p.latency.side(threshold)).collect();
    let undecided: Vec<String> = pairs
        .iter()
        .zip(&sides)
        .filter(|(_, s)| **s == Side::Straddles)
        .map(|(p, _)| p.latency.undecided(&format!("{} over {single}", p.system), threshold, show))
        .collect();
    // (every majority system above, every async system above, some system above)
    let kind = |s: &[Side]| {
        let above = |want_async: bool| {
            pairs.iter().zip(s).filter(|(p, _)| p.asynchronous == want_async).all(|(_, side)| *side == Side::Above)
        };
        (above(false), above(true), s.contains(&Side::Above))
    };
    let rule = format!("overhead: a median write latency at least {threshold}x the single server's (registered)");
    let Some((majority_slower, async_slower, some_slower)) = resolve(&sides, kind) else {
        return claim.judged(Verdict::inconclusive(undecided.join("; ")), format!("the seeds do not decide ({rule})"));
    };
    let names = |want: Side| {
        pairs
            .iter()
            .zip(&sides)
            .filter(|(_, s)| **s == want)
            .map(|(p, _)| p.system.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let has_async = pairs.iter().any(|p| p.asynchronous);
    let has_majority = pairs.iter().any(|p| !p.asynchronous);
    if !some_slower && !lower.is_empty() {
        return claim.judged(
            Verdict::Holds,
            format!(
                "no replicated SQL system's writes were slower by the threshold, but it saturated lower ({rule}; or a \
                 saturation at most 1/{threshold} of the single server's){saturation}"
            ),
        );
    }
    if !some_slower {
        return claim.judged(
            Verdict::Refuted,
            format!(
                "no replicated SQL system's writes were slower than the single server's by the threshold ({rule}){saturation}"
            ),
        );
    }
    if has_majority && majority_slower && (!has_async || async_slower) {
        return claim.judged(
            Verdict::Holds,
            format!(
                "every replicated SQL system's writes were slower than the single server's ({}): a write waits for \
                 the replication its acknowledgement needs ({rule}){saturation}",
                names(Side::Above)
            ),
        );
    }
    if has_majority && majority_slower {
        return claim
            .judged(
                Verdict::only_when(
                    "writes are acknowledged once a majority has them; asynchronous acknowledgement avoids the latency \
                     and loses writes on failover instead (claim 14)",
                ),
                format!(
                    "slower by the threshold: {}; not slower: {} ({rule}){saturation}",
                    names(Side::Above),
                    names(Side::Below)
                ),
            )
            .gist("writes wait for a majority");
    }
    claim.judged(
        Verdict::only_when(format!("the replicated system is one of {}", names(Side::Above))),
        format!(
            "slower by the threshold: {}; not slower: {} ({rule}){saturation}",
            names(Side::Above),
            names(Side::Below)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{from_records, runs, RAFT_ASYNC, RAFT_MAJORITY, SQLITE_FULL};

    fn replication_overhead(evidence: &Evidence) -> Claim {
        super::replication_overhead(evidence, &crate::registry::standard().claim(13))
    }

    /// `system`'s writes at `ms` median on every seed, off by `spread` ms per seed from seed 3.
    fn writes_at(system: &str, ms: f64, spread: f64) -> Vec<SeedRecord> {
        runs(system, 5, |seed, r| {
            let us = ((ms + spread * (seed as f64 - 3.0)) * 1000.0) as u64;
            r.write_latency_us = [(us, 40)].into_iter().collect();
            r.messages = 200;
        })
    }

    fn overhead(systems: Vec<Vec<SeedRecord>>) -> Evidence {
        from_records(&[(OVERHEAD_EXPERIMENT, systems.concat())])
    }

    #[test]
    fn overhead_reaches_each_verdict() {
        let e = overhead(vec![
            writes_at(SQLITE_FULL, 1.0, 0.0),
            writes_at(RAFT_MAJORITY, 2.0, 0.0),
            writes_at(RAFT_ASYNC, 1.8, 0.0),
        ]);
        let claim = replication_overhead(&e);
        assert_eq!(claim.verdict, Verdict::Holds, "{claim:?}");
        assert_eq!(
            claim.figures[&format!("{OVERHEAD_EXPERIMENT}/{RAFT_MAJORITY}/over/{SQLITE_FULL}/write_p50_ratio")],
            2.0
        );
        assert!(claim.evidence[0].contains("median write latency 2.00x"), "{:?}", claim.evidence);

        let e = overhead(vec![
            writes_at(SQLITE_FULL, 1.0, 0.0),
            writes_at(RAFT_MAJORITY, 2.0, 0.0),
            writes_at(RAFT_ASYNC, 1.0, 0.0),
        ]);
        let Verdict::HoldsOnlyWhen { condition } = replication_overhead(&e).verdict else { panic!() };
        assert!(condition.starts_with("writes are acknowledged once a majority has them"), "{condition}");

        let e = overhead(vec![writes_at(SQLITE_FULL, 1.0, 0.0), writes_at(RAFT_MAJORITY, 1.05, 0.0)]);
        assert_eq!(replication_overhead(&e).verdict, Verdict::Refuted);

        // 1.0-1.4x over the seeds against 1.2: undecided.
        let e = overhead(vec![writes_at(SQLITE_FULL, 1.0, 0.0), writes_at(RAFT_MAJORITY, 1.2, 0.1)]);
        let Verdict::Inconclusive { why } = replication_overhead(&e).verdict else { panic!() };
        assert!(why.contains("sqlite-raft-majority over sqlite-full"), "{why}");
    }

    #[test]
    fn without_both_sides_or_with_a_failed_run_it_is_not_judged() {
        assert!(matches!(replication_overhead(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
        let e = overhead(vec![writes_at(RAFT_MAJORITY, 2.0, 0.0)]);
        assert!(matches!(replication_overhead(&e).verdict, Verdict::NotMeasured { .. }));
        let mut broken = writes_at(RAFT_MAJORITY, 2.0, 0.0);
        broken[1].error = Some("stuck".into());
        let e = overhead(vec![writes_at(SQLITE_FULL, 1.0, 0.0), broken]);
        let Verdict::Inconclusive { why } = replication_overhead(&e).verdict else { panic!() };
        assert!(why.contains("seed 2"), "{why}");
    }
}
