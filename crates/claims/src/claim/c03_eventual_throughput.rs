//! Claim 3: eventual consistency gives much higher write throughput. Judged on the scaling
//! sweep: ONE against ALL on the same nodes, and SQLite against the quorum store.

use crate::evidence::{Evidence, Scaling, ScalingRow};
use crate::ledger::{Claim, Verdict};
use crate::registry::Registered;
use crate::{command, SEED_SOURCE};

use super::scaling_sweep::{paired_ratio, scaling_missing, seeds_text, sweep_unknowns};
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
    let machines = machines(&mut claim, scaling);
    decide(claim, &ratios, &machines, registered.value("much_higher"))
}

/// The saturation of series `system` over seeds.
fn saturation(scaling: &Scaling, system: &str) -> Option<Estimate> {
    Estimate::of(scaling.saturation_by_seed(system))
}

/// ONE's saturation throughput over ALL's at each cluster size that has both, paired by seed,
/// (nodes, ratio), with one evidence line and one figure each.
fn one_over_all(claim: &mut Claim, scaling: &Scaling) -> Vec<(usize, Estimate)> {
    let mut nodes: Vec<usize> = scaling.rows.iter().filter(|r| r.level != "-").map(|r| r.nodes).collect();
    nodes.sort_unstable();
    nodes.dedup();
    let mut ratios = Vec::new();
    for n in &nodes {
        let at = |level: &str| scaling.rows.iter().find(|r| r.nodes == *n && r.level == level);
        let (Some(one), Some(all)) = (at("one"), at("all")) else { continue };
        let Some(ratio) = paired_ratio(scaling, &one.system, &all.system, 1.0) else { continue };
        claim.estimate(format!("scaling/{n}/one_over_all"), &ratio);
        let ok = |r: &ScalingRow| saturation(scaling, &r.system).map_or("-".to_owned(), |e| format!("{:.0}", e.mean));
        let quorum = at("quorum").map_or_else(String::new, |q| format!(", QUORUM {}", ok(q)));
        claim.line(format!(
            "scaling ({}), {n} nodes, mean saturation: ONE {} ok/s{quorum}, ALL {}; ONE/ALL paired by seed {}",
            seeds_text(scaling),
            ok(one),
            ok(all),
            ratio.text_with(|v| format!("{v:.3}"))
        ));
        ratios.push((*n, ratio));
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
fn kind(ratios: &[(usize, Estimate)], sides: &[Side]) -> Option<Vec<usize>> {
    let above: Vec<usize> =
        ratios.iter().zip(sides).filter(|(_, s)| **s == Side::Above).map(|((n, _), _)| *n).collect();
    (!above.is_empty()).then_some(above)
}

/// The verdict from the ONE/ALL `ratios` against `much`: reached only when every way the
/// undecided ratios could fall gives the same kind; refuted when none lies above, holds when
/// all do, else holds only at the cluster sizes where it does (the contrast: the others lie
/// below).
fn decide(claim: Claim, ratios: &[(usize, Estimate)], machines: &str, much: f64) -> Claim {
    let show = |v: f64| format!("{v:.3}");
    let mix = "(read/write mix of the sweep: results/scaling/summary.md)";
    let sides: Vec<Side> = ratios.iter().map(|(_, r)| r.side(much)).collect();
    let undecided: Vec<String> = ratios
        .iter()
        .zip(&sides)
        .filter(|(_, s)| **s == Side::Straddles)
        .map(|((n, r), _)| r.undecided(&format!("ONE/ALL at {n} nodes"), much, show))
        .collect();
    let Some(above) = resolve(&sides, |s| kind(ratios, s)) else {
        return claim.judged(Verdict::inconclusive(undecided.join("; ")), format!("threshold {much}x (registered)"));
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
            .map(|((n, r), _)| format!("{n} nodes {}", r.text_with(show)))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let Some(above) = above else {
        return claim.judged(
            Verdict::Refuted,
            format!(
                "on the same nodes ONE's throughput over ALL's lay wholly below {much}x at every cluster size {mix}{open}: \
                 the consistency level changes how many replies a coordinator waits for, not the work: every write \
                 goes to all N replicas at every level (as in Cassandra and Dynamo), and this store's reads do too \
                 (a store whose reads at ONE contact one replica would save read work: not measured){machines}"
            ),
        );
    };
    if above.len() == ratios.len() {
        return claim.judged(
            Verdict::Holds,
            format!("ONE's throughput over ALL's lay above {much}x at every cluster size {mix}{open}{machines}"),
        );
    }
    let sizes: Vec<String> = above.iter().map(usize::to_string).collect();
    claim
        .judged(
            Verdict::only_when(format!(
                "the cluster has {} nodes: ONE/ALL above {much}x there ({}), below it at {}{open}",
                sizes.join(" or "),
                listed(Side::Above),
                listed(Side::Below)
            )),
            format!("cluster sizes were measured on both sides of {much}x {mix}{machines}"),
        )
        .gist(format!("the cluster has {} nodes", sizes.join(" or ")))
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
    fn a_ratio_straddling_the_threshold_is_inconclusive() {
        // 5 nodes: ONE/ALL 1.5 on average, 1.41-1.59 over the seeds.
        let e = scaled(sweep(5000.0, 5000.0 / 1.5), "quorum-5-all", |seed| 1.0 / (1.0 + 0.03 * (seed as f64 - 3.0)));
        let claim = eventual_throughput(&e);
        let Verdict::Inconclusive { why } = &claim.verdict else { panic!("{claim:?}") };
        assert!(why.contains("ONE/ALL at 5 nodes") && why.contains("straddles 1.500"), "{why}");
    }
}
