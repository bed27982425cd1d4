//! Claim 3: eventual consistency gives much higher write throughput. Judged on the scaling
//! sweep: ONE against ALL on the same nodes with the same mix and commit-log mode (stable
//! points only), and SQLite against the quorum store. The explanation rests on what each side
//! measured per operation at saturation: messages sent and commit-log syncs.

use crate::evidence::{Evidence, Scaling, ScalingRow};
use crate::ledger::{Claim, Verdict};
use crate::registry::Registered;
use crate::{command, SEED_SOURCE};

use super::scaling_sweep::{
    paired_ratio, scaling_missing, seeds_text, sweep_unknowns, variant_text, varied, work, work_text,
};
use crate::stats::{resolve, Estimate, Side};

/// The thresholds this judgment reads from the registration (`experiments/claims/registered.toml`).
pub const THRESHOLDS: &[&str] = &["much_higher"];

/// Claim 3, judged on `evidence` with the registered thresholds `registered`.
pub fn eventual_throughput(evidence: &Evidence, registered: &Registered) -> Claim {
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
    let ratios = one_over_all(&mut claim, scaling);
    if ratios.is_empty() {
        return scaling_missing(claim, "the scaling results lack ONE and ALL at the same nodes");
    }
    let compared: Vec<&str> =
        scaling.rows.iter().filter(|r| r.level == "one" || r.level == "all").map(|r| r.system.as_str()).collect();
    if let Some(unknown) = sweep_unknowns(scaling, &compared) {
        return claim.judged(
            Verdict::inconclusive(format!(
                "the sweep left points unknown, and nothing unknown counts as a pass: {unknown}"
            )),
            "a failed or missing point could hold the saturation",
        );
    }
    let mut claim = claim.tested_by("scaling-sql", &command("scaling-sql"));
    let machines = machines(&mut claim, scaling);
    let sql = evidence.scaling_sql.as_ref().map_or_else(
        || "; replicated SQL not measured (`lab run experiments/scaling-sql.toml`)".to_owned(),
        |sql| against_replicated_sql(&mut claim, scaling, sql, registered.value("much_higher")),
    );
    let work = work_ratios(scaling, &ratios);
    decide(claim, &ratios, &format!("{work}{machines}{sql}"), registered.value("much_higher"))
}

/// The quorum store at ONE and at QUORUM against replicated SQL on the same nodes (SQLite on
/// Raft, majority acknowledgement: the SQL side of the sweep, same capacity model and seeds),
/// per cluster size and mix, paired by seed: one evidence line and two figures each, and the
/// reading for the reasoning. A lead at QUORUM as large as at ONE is not bought by eventual
/// consistency.
fn against_replicated_sql(claim: &mut Claim, scaling: &Scaling, sql: &Scaling, much: f64) -> String {
    let (mut one_ratios, mut quorum_ratios) = (Vec::new(), Vec::new());
    for raft in sql.rows.iter().filter(|r| r.level == "-" && r.nodes > 1) {
        let at = |level: &str| {
            scaling.rows.iter().find(|r| {
                r.nodes == raft.nodes
                    && r.level == level
                    && r.mix == raft.mix
                    && (r.commitlog == "batch" || r.commitlog == "-")
            })
        };
        let (Some(one), Some(quorum)) = (at("one"), at("quorum")) else { continue };
        let ratio = |system: &str| {
            let top = scaling.saturation_by_seed(system);
            let bottom = sql.saturation_by_seed(&raft.system);
            Estimate::from_pairs(
                top.iter().filter_map(|(seed, t)| bottom.get(seed).filter(|b| **b > 0.0).map(|b| (*seed, t / b))),
            )
        };
        let (Some(r1), Some(rq)) = (ratio(&one.system), ratio(&quorum.system)) else { continue };
        let key = format!("{}-{}", raft.nodes, raft.mix);
        claim.estimate(format!("scaling/{key}/one_over_replicated_sql"), &r1);
        claim.estimate(format!("scaling/{key}/quorum_over_replicated_sql"), &rq);
        let ok = |sweep: &Scaling, system: &str| {
            saturation(sweep, system).map_or("-".to_owned(), |e| format!("{:.0}", e.mean))
        };
        claim.line(format!(
            "scaling and scaling-sql (same capacity model and seeds), {} nodes, {}: SQLite on Raft {} ok/s (majority acknowledgement, {}); quorum store ONE {} ok/s, QUORUM {}; over replicated SQL, paired by seed: ONE {}, QUORUM {}",
            raft.nodes,
            raft.mix,
            ok(sql, &raft.system),
            if raft.nodes > 3 { format!("{} groups of 3", raft.nodes / 3) } else { "one group".to_owned() },
            ok(scaling, &one.system),
            ok(scaling, &quorum.system),
            r1.text_with(|v| format!("{v:.2}x")),
            rq.text_with(|v| format!("{v:.2}x"))
        ));
        one_ratios.push(r1);
        quorum_ratios.push(rq);
    }
    if one_ratios.is_empty() {
        return "; replicated SQL's series do not match the quorum store's nodes and mixes".to_owned();
    }
    let range = |v: &[Estimate]| {
        let lo = v.iter().map(|e| e.mean).fold(f64::INFINITY, f64::min);
        let hi = v.iter().map(|e| e.mean).fold(f64::NEG_INFINITY, f64::max);
        format!("{lo:.2}-{hi:.2}x")
    };
    let above = |v: &[Estimate]| v.iter().filter(|e| e.side(much) == Side::Above).count();
    let (one_above, quorum_above, n) = (above(&one_ratios), above(&quorum_ratios), one_ratios.len());
    let reading = if one_above == 0 {
        format!("ONE never led replicated SQL by {much}x: against a replicated SQL store eventual consistency did not buy much higher throughput")
    } else if quorum_above >= one_above {
        format!(
            "QUORUM led by {much}x wherever ONE did ({quorum_above} and {one_above} of {n} comparisons): the lead over replicated SQL comes from the quorum store spreading coordination over every node, where one Raft leader does it all, not from the weaker level"
        )
    } else {
        format!(
            "ONE led by {much}x in {one_above} of {n} comparisons and QUORUM in {quorum_above}: part of the lead over replicated SQL is the weaker level's"
        )
    };
    format!(
        "; against replicated SQL on the same nodes (SQLite on Raft), ONE gave {} its throughput and QUORUM {} (means over seeds): {reading}",
        range(&one_ratios),
        range(&quorum_ratios)
    )
}

/// One ONE-against-ALL comparison: where (nodes, mix, commit log), the two series, the ratio.
struct Pair {
    /// `5 nodes`, `5 nodes (read-heavy, batch)`.
    label: String,
    one: String,
    all: String,
    ratio: Estimate,
}

/// ONE's messages and syncs per operation over ALL's, across the pairs (at each side's
/// saturation, means over seeds), for the reasoning: what the level changed in the work.
fn work_ratios(scaling: &Scaling, pairs: &[Pair]) -> String {
    let mut messages: Vec<f64> = Vec::new();
    let mut syncs: Vec<f64> = Vec::new();
    for p in pairs {
        let ((m1, s1), (m2, s2)) = (work(scaling, &p.one), work(scaling, &p.all));
        if let (Some(a), Some(b)) = (m1, m2) {
            messages.push(a.mean / b.mean.max(f64::MIN_POSITIVE));
        }
        if let (Some(a), Some(b)) = (s1, s2) {
            syncs.push(a.mean / b.mean.max(f64::MIN_POSITIVE));
        }
    }
    let range = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo, hi)
    };
    if messages.is_empty() {
        return String::new();
    }
    let (mlo, mhi) = range(&messages);
    let same = |lo: f64, hi: f64| lo >= 0.9 && hi <= 1.1;
    let (syncs_text, syncs_same) = if syncs.is_empty() {
        (String::new(), true)
    } else {
        let (slo, shi) = range(&syncs);
        (format!(" and {slo:.2}-{shi:.2}x its commit-log syncs"), same(slo, shi))
    };
    // Within 10 % either way a measure counts as the same at both levels.
    let reading = match (same(mlo, mhi), syncs_same) {
        (true, true) => "the level changed how many replies a coordinator waits for, not the work done",
        (true, false) => {
            "the same messages per operation at both levels; the commit-log syncs per operation differed (in \
             batch mode concurrent writes share a sync, so the count follows the load as much as the level)"
        }
        (false, _) if mhi < 0.9 => "ONE sent fewer messages per operation",
        (false, _) => "the messages per operation differed from one comparison to another",
    };
    format!(
        "; measured per ok operation at saturation, ONE sent {mlo:.2}-{mhi:.2}x ALL's messages{syncs_text} \
         (over the compared pairs): {reading}"
    )
}

/// The saturation of series `system` over seeds.
fn saturation(scaling: &Scaling, system: &str) -> Option<Estimate> {
    Estimate::of(scaling.saturation_by_seed(system))
}

/// ONE's saturation throughput over ALL's for each cluster size, mix and commit-log mode that
/// has both, paired by seed, with one evidence line (citing each side's messages and syncs per
/// operation) and one figure each.
fn one_over_all(claim: &mut Claim, scaling: &Scaling) -> Vec<Pair> {
    let mut keys: Vec<(usize, String, String)> = Vec::new();
    for r in scaling.rows.iter().filter(|r| r.level != "-") {
        let key = (r.nodes, r.mix.clone(), r.commitlog.clone());
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.sort_by_key(|k| k.0);
    let varied = varied(scaling);
    let mut ratios = Vec::new();
    for (n, mix, commitlog) in &keys {
        let at = |level: &str| {
            scaling
                .rows
                .iter()
                .find(|r| r.nodes == *n && r.level == level && r.mix == *mix && r.commitlog == *commitlog)
        };
        let (Some(one), Some(all)) = (at("one"), at("all")) else { continue };
        let Some(ratio) = paired_ratio(scaling, &one.system, &all.system, 1.0) else { continue };
        let variant = if varied { variant_text(mix, commitlog) } else { String::new() };
        let (label, key) = if variant.is_empty() {
            (format!("{n} nodes"), format!("{n}"))
        } else {
            (format!("{n} nodes ({variant})"), format!("{n}-{}", variant.replace(", ", "-")))
        };
        claim.estimate(format!("scaling/{key}/one_over_all"), &ratio);
        let ok = |r: &ScalingRow| saturation(scaling, &r.system).map_or("-".to_owned(), |e| format!("{:.0}", e.mean));
        let quorum = at("quorum").map_or_else(String::new, |q| format!(", QUORUM {}", ok(q)));
        claim.line(format!(
            "scaling ({}), {label}, mean saturation (stable points): ONE {} ok/s{quorum}, ALL {}; ONE/ALL paired by \
             seed {}; at saturation ONE {}, ALL {}",
            seeds_text(scaling),
            ok(one),
            ok(all),
            ratio.text_with(|v| format!("{v:.3}")),
            work_text(scaling, &one.system),
            work_text(scaling, &all.system)
        ));
        ratios.push(Pair { label, one: one.system.clone(), all: all.system.clone(), ratio });
    }
    ratios
}

/// Where the quorum store's lead over SQLite comes from, for the reasoning (empty without
/// SQLite or ONE in the sweep), with its evidence line and figures (means over seeds).
fn machines(claim: &mut Claim, scaling: &Scaling) -> String {
    let sqlite = scaling.rows.iter().find(|r| r.level == "-" && r.errors == 0);
    let biggest = scaling.rows.iter().filter(|r| r.level == "one" && r.errors == 0).max_by_key(|r| r.nodes);
    let (Some(sqlite), Some(biggest)) = (sqlite, biggest) else { return String::new() };
    let (Some(single), Some(cluster)) = (saturation(scaling, &sqlite.system), saturation(scaling, &biggest.system))
    else {
        return String::new();
    };
    let per_node = cluster.mean / biggest.nodes as f64;
    claim.estimate("scaling/sqlite/saturation_ok_per_s", &single);
    claim.figure(format!("scaling/{}/per_node_ok_per_s", biggest.system), per_node);
    claim.line(format!(
        "scaling ({}): SQLite (1 node) {} ok/s; {} {} ok/s in total, {per_node:.0} per node",
        seeds_text(scaling),
        single.text_with(|v| format!("{v:.0}")),
        biggest.system,
        cluster.text_with(|v| format!("{v:.0}"))
    ));
    format!(
        "; the quorum store's lead over SQLite comes from machines: {} nodes give {:.1}x SQLite's throughput, \
         {:.2}x per node",
        biggest.nodes,
        cluster.mean / single.mean.max(f64::MIN_POSITIVE),
        per_node / single.mean.max(f64::MIN_POSITIVE)
    )
}

/// The verdict's kind from each cluster size's side: refuted when no ratio lies above the
/// threshold, holds when every one does, otherwise holds only at the sizes where it does.
fn kind(ratios: &[Pair], sides: &[Side]) -> Option<Vec<String>> {
    let above: Vec<String> =
        ratios.iter().zip(sides).filter(|(_, s)| **s == Side::Above).map(|(p, _)| p.label.clone()).collect();
    (!above.is_empty()).then_some(above)
}

/// The verdict from the ONE/ALL `ratios` against `much`: reached only when every way the
/// undecided ratios could fall gives the same kind; refuted when none lies above, holds when
/// all do, else holds only at the cluster sizes where it does (the contrast: the others lie
/// below).
fn decide(claim: Claim, ratios: &[Pair], machines: &str, much: f64) -> Claim {
    let show = |v: f64| format!("{v:.3}");
    let mix = "(mixes of the sweep: results/scaling/summary.md)";
    let sides: Vec<Side> = ratios.iter().map(|p| p.ratio.side(much)).collect();
    let undecided: Vec<String> = ratios
        .iter()
        .zip(&sides)
        .filter(|(_, s)| **s == Side::Straddles)
        .map(|(p, _)| p.ratio.undecided(&format!("ONE/ALL at {}", p.label), much, show))
        .collect();
    let Some(above) = resolve(&sides, |s| kind(ratios, s)) else {
        return claim
            .judged(Verdict::inconclusive(undecided.join("; ")), format!("threshold {much}x (registered){machines}"));
    };
    let open = if undecided.is_empty() {
        String::new()
    } else {
        format!("; undecided, with the same verdict either way: {}", undecided.join("; "))
    };
    let listed = |side: Side| -> String {
        ratios
            .iter()
            .zip(&sides)
            .filter(|(_, s)| **s == side)
            .map(|(p, _)| format!("{} {}", p.label, p.ratio.text_with(show)))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let Some(above) = above else {
        return claim.judged(
            Verdict::Refuted,
            format!(
                "on the same nodes ONE's throughput over ALL's lay wholly below {much}x at every cluster size {mix}{open}: \
                 every write goes to all N replicas at every level (as in Cassandra and Dynamo){machines}"
            ),
        );
    };
    if above.len() == ratios.len() {
        return claim.judged(
            Verdict::Holds,
            format!("ONE's throughput over ALL's lay above {much}x at every cluster size {mix}{open}{machines}"),
        );
    }
    // `the cluster has 5 nodes`, or with mixes `the comparison is 5 nodes (read-heavy, batch)`.
    let condition = if ratios.iter().all(|p| !p.label.contains('(')) {
        let sizes: Vec<String> = above.iter().map(|l| l.replacen(" nodes", "", 1)).collect();
        format!("the cluster has {} nodes", sizes.join(" or "))
    } else {
        format!("the comparison is at {}", above.join(" or "))
    };
    claim
        .judged(
            Verdict::only_when(format!(
                "{condition}: ONE/ALL above {much}x there ({}), below it at {}{open}",
                listed(Side::Above),
                listed(Side::Below)
            )),
            format!("cluster sizes were measured on both sides of {much}x {mix}{machines}"),
        )
        .gist(condition)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The judgment with the standard registration's thresholds.
    fn eventual_throughput(evidence: &Evidence) -> Claim {
        super::eventual_throughput(evidence, &crate::registry::standard().claim(3))
    }
    use crate::testing::sweep;

    /// `e` with series `series`'s points on each seed scaled by `factor(seed)`.
    fn scaled(mut e: Evidence, series: &str, factor: impl Fn(u64) -> f64) -> Evidence {
        for p in e.scaling.as_mut().expect("sweep").points.iter_mut().filter(|p| p.series == series) {
            p.ok_per_s *= factor(p.seed);
        }
        e
    }

    #[test]
    fn consistency_level_must_buy_much_more_throughput() {
        let claim = eventual_throughput(&sweep(5000.0, 4800.0));
        assert_eq!(claim.verdict, Verdict::Refuted, "{claim:?}");
        assert!(claim.reasoning.contains("from machines"), "{}", claim.reasoning);
        let only = eventual_throughput(&sweep(5000.0, 2000.0));
        let Verdict::HoldsOnlyWhen { condition } = &only.verdict else { panic!("{only:?}") };
        assert!(
            condition.starts_with("the cluster has 5 nodes") && condition.contains("below it at 3 nodes"),
            "{condition}"
        );
        let all_slow = scaled(sweep(5000.0, 2000.0), "quorum-3-all", |_| 1.0 / 3.0);
        assert_eq!(eventual_throughput(&all_slow).verdict, Verdict::Holds);
        assert!(matches!(eventual_throughput(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
    }

    #[test]
    fn the_evidence_cites_each_sides_messages_and_syncs() {
        let claim = eventual_throughput(&sweep(5000.0, 4800.0));
        let line = claim.evidence.iter().find(|l| l.contains("5 nodes")).expect("a 5-node line");
        assert!(line.contains("ONE 8.00 messages/op") && line.contains("ALL 8.00 messages/op"), "{line}");
        assert!(line.contains("1.500 syncs/op"), "{line}");
        assert!(claim.reasoning.contains("ONE sent 1.00-1.00x ALL's messages"), "{}", claim.reasoning);
        assert!(claim.reasoning.contains("not the work done"), "{}", claim.reasoning);
    }

    #[test]
    fn an_overloaded_point_never_counts() {
        // ALL at 5 nodes peaks on an overloaded point: the next stable one is its saturation.
        let mut e = scaled(sweep(5000.0, 2000.0), "quorum-5-all", |_| 1.0);
        for p in e.scaling.as_mut().expect("sweep").points.iter_mut() {
            if p.series == "quorum-5-all" && p.clients == 16 {
                (p.stable, p.ok_per_s) = (false, 9000.0);
            }
        }
        let ratio = paired_ratio(e.scaling.as_ref().expect("sweep"), "quorum-5-one", "quorum-5-all", 1.0);
        assert!(ratio.as_ref().is_some_and(|r| r.mean > 2.4), "the 9000 ok/s point is ignored: {ratio:?}");
        // Every point of a seed overloaded: that seed is unknown, and the claim inconclusive.
        for p in e.scaling.as_mut().expect("sweep").points.iter_mut() {
            if p.series == "quorum-5-all" && p.seed == 2 {
                p.stable = false;
            }
        }
        let Verdict::Inconclusive { why } = eventual_throughput(&e).verdict else { panic!("an unknown seed passed") };
        assert!(why.contains("quorum-5-all: every point overloaded on seed 2"), "{why}");
    }

    #[test]
    fn a_series_still_climbing_at_its_deepest_load_leaves_the_claim_inconclusive() {
        let mut e = sweep(5000.0, 2000.0);
        assert!(!matches!(eventual_throughput(&e).verdict, Verdict::Inconclusive { .. }), "the sweep as it is decides");
        // On seed 3 ALL's ladder ran out of loads still climbing (the report says so): its
        // saturation is only a lower bound, so ONE's lead over it may be an artefact of a sweep
        // too shallow.
        for r in e.scaling.as_mut().expect("sweep").rows.iter_mut().filter(|r| r.system == "quorum-5-all") {
            r.unsaturated_seeds = vec![3];
        }
        let Verdict::Inconclusive { why } = eventual_throughput(&e).verdict else { panic!("a lower bound was judged") };
        assert!(why.contains("quorum-5-all: still climbing at its deepest load on seed 3"), "{why}");
    }

    #[test]
    fn one_and_all_are_compared_per_mix() {
        let mut e = sweep(5000.0, 4800.0);
        let scaling = e.scaling.as_mut().expect("sweep");
        let mut heavy_rows = Vec::new();
        for row in scaling.rows.iter().filter(|r| r.level != "-") {
            let mut heavy = row.clone();
            heavy.system = format!("{}-read-heavy", row.system);
            heavy.mix = "read-heavy".into();
            heavy_rows.push(heavy);
        }
        let mut heavy_points = Vec::new();
        for p in scaling.points.iter().filter(|p| !p.series.starts_with("sqlite")) {
            let mut q = p.clone();
            q.series = format!("{}-read-heavy", p.series);
            // Read-heavy: ONE twice ALL's throughput.
            if q.series.contains("-all-") {
                q.ok_per_s /= 2.0;
            }
            heavy_points.push(q);
        }
        scaling.rows.extend(heavy_rows);
        scaling.points.extend(heavy_points);
        let claim = eventual_throughput(&e);
        let Verdict::HoldsOnlyWhen { condition } = &claim.verdict else { panic!("{claim:?}") };
        assert!(
            condition.starts_with("the comparison is at 3 nodes (read-heavy) or 5 nodes (read-heavy)"),
            "{condition}"
        );
        assert!(claim.evidence.iter().any(|l| l.contains("5 nodes (read-heavy)")), "{:?}", claim.evidence);
    }

    #[test]
    fn a_ratio_straddling_the_threshold_is_inconclusive() {
        // 5 nodes: ONE/ALL 1.5 on average, 1.41-1.59 over the seeds.
        let e = scaled(sweep(5000.0, 5000.0 / 1.5), "quorum-5-all", |seed| 1.0 / (1.0 + 0.03 * (seed as f64 - 3.0)));
        let claim = eventual_throughput(&e);
        let Verdict::Inconclusive { why } = &claim.verdict else { panic!("{claim:?}") };
        assert!(why.contains("ONE/ALL at 5 nodes") && why.contains("straddles 1.500"), "{why}");
    }
}
