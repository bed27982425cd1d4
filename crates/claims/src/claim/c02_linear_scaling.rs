//! Claim 2: Cassandra scales linearly with nodes. Judged on the scaling sweep's efficiency
//! (speed-up over the node ratio, against 3 nodes of the same family: level, mix and
//! commit-log mode), on stable points only: an overloaded or failed point never counts.

use crate::evidence::{Evidence, Scaling};
use crate::ledger::{Claim, Verdict};
use crate::registry::Registered;
use crate::{command, SEED_SOURCE};

use super::scaling_sweep::{
    families, family_text, paired_ratio, scaling_missing, seeds_text, sweep_unknowns, varied, work_text,
};
use crate::stats::{resolve, Estimate, Side};

/// The thresholds this judgment reads from the registration (`experiments/claims/registered.toml`).
pub const THRESHOLDS: &[&str] = &["efficiency_floor"];

/// Claim 2, judged on `evidence` with the registered thresholds `registered`.
pub fn linear_scaling(evidence: &Evidence, registered: &Registered) -> Claim {
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
    let floor = registered.value("efficiency_floor");
    let cells = efficiencies(&mut claim, scaling);
    if cells.is_empty() {
        return scaling_missing(claim, "the scaling results have no quorum series with a 3-node base");
    }
    let quorum: Vec<&str> = scaling.rows.iter().filter(|r| r.level != "-").map(|r| r.system.as_str()).collect();
    if let Some(unknown) = sweep_unknowns(scaling, &quorum) {
        return claim.judged(
            Verdict::inconclusive(format!(
                "the sweep left points unknown, and nothing unknown counts as a pass: {unknown}"
            )),
            "a failed or missing point could hold the saturation",
        );
    }
    decide(claim, &cells, floor, &model_text(scaling))
}

/// One cluster size in one family: its efficiency against 3 nodes of the same family, paired
/// by seed.
struct Cell {
    /// The family in words (`one`, `one, read-heavy, batch`).
    level: String,
    nodes: usize,
    efficiency: Estimate,
}

impl Cell {
    fn name(&self) -> String {
        format!("{} nodes at {}", self.nodes, self.level)
    }
}

/// The efficiency of every cluster bigger than 3 nodes in each family, per seed (its
/// saturation over 3 nodes' on the same seed, over the node ratio): one evidence line per
/// family, with the work per operation at saturation of its smallest and largest cluster.
fn efficiencies(claim: &mut Claim, scaling: &Scaling) -> Vec<Cell> {
    let mut cells = Vec::new();
    let varied = varied(scaling);
    for family in families(scaling) {
        let level = if varied { family_text(&family) } else { family.0.clone() };
        let mut rows: Vec<_> = scaling.rows.iter().filter(|r| r.family() == family).collect();
        rows.sort_by_key(|r| r.nodes);
        let Some(base) = rows.iter().find(|r| r.nodes == 3) else { continue };
        let mut parts = Vec::new();
        for row in rows.iter().filter(|r| r.nodes > 3) {
            let Some(efficiency) = paired_ratio(scaling, &row.system, &base.system, 3.0 / row.nodes as f64) else {
                continue;
            };
            claim.estimate(format!("scaling/{}/efficiency", row.system), &efficiency);
            parts.push(format!("{} nodes {}", row.nodes, efficiency.text_with(|v| format!("{v:.3}"))));
            cells.push(Cell { level: level.clone(), nodes: row.nodes, efficiency });
        }
        if !parts.is_empty() {
            let largest = rows.last().map_or(String::new(), |r| {
                format!(
                    "; at saturation, 3 nodes: {}; {} nodes: {}",
                    work_text(scaling, &base.system),
                    r.nodes,
                    work_text(scaling, &r.system)
                )
            });
            claim.line(format!(
                "scaling ({}), quorum store N=3 at {level}, efficiency against 3 nodes (saturation ratio over node \
                 ratio, paired by seed, stable points only): {}{largest}",
                seeds_text(scaling),
                parts.join("; ")
            ));
        }
    }
    cells
}

/// The verdict's kind from each cluster's side: refuted when every level has a cluster below
/// the floor, holds when none has, otherwise holds only at the levels without one.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind {
    Refuted,
    Holds,
    OnlyAt(Vec<String>),
}

fn kind(cells: &[Cell], sides: &[Side]) -> Kind {
    let mut levels: Vec<&str> = Vec::new();
    for c in cells {
        if !levels.contains(&c.level.as_str()) {
            levels.push(&c.level);
        }
    }
    let good: Vec<String> = levels
        .iter()
        .filter(|l| !cells.iter().zip(sides).any(|(c, s)| c.level == **l && *s == Side::Below))
        .map(|l| (*l).to_owned())
        .collect();
    match good.len() {
        0 => Kind::Refuted,
        n if n == levels.len() => Kind::Holds,
        _ => Kind::OnlyAt(good),
    }
}

/// The verdict: reached only when every way the undecided efficiencies (intervals straddling
/// the floor) could fall gives the same kind; a holds-only-when condition names the levels
/// where every cluster lay above the floor against those where one fell below.
fn decide(claim: Claim, cells: &[Cell], floor: f64, model: &str) -> Claim {
    let show = |v: f64| format!("{v:.3}");
    let sides: Vec<Side> = cells.iter().map(|c| c.efficiency.side(floor)).collect();
    let undecided: Vec<String> = cells
        .iter()
        .zip(&sides)
        .filter(|(_, s)| **s == Side::Straddles)
        .map(|(c, _)| c.efficiency.undecided(&format!("efficiency of {}", c.name()), floor, show))
        .collect();
    let Some(kind) = resolve(&sides, |s| kind(cells, s)) else {
        return claim.judged(
            Verdict::inconclusive(undecided.join("; ")),
            format!("the verdict depends on the undecided efficiencies (threshold {floor}, registered)"),
        );
    };
    let below: Vec<String> = cells
        .iter()
        .zip(&sides)
        .filter(|(_, s)| **s == Side::Below)
        .map(|(c, _)| format!("{} {}", c.name(), c.efficiency.text_with(show)))
        .collect();
    let open = if undecided.is_empty() {
        String::new()
    } else {
        format!("; undecided, with the same verdict either way: {}", undecided.join("; "))
    };
    let measured = format!("measured under the capacity model, where nodes share no cost ({model})");
    // Families named by level alone when the sweep has no mixes or commit-log modes.
    let plain = cells.iter().all(|c| !c.level.contains(','));
    let (subject, short) = if plain {
        ("the consistency level is", "the level is")
    } else {
        ("the level, mix and commit log are", "the series is")
    };
    match kind {
        Kind::Refuted => claim.judged(
            Verdict::Refuted,
            format!("at every level some cluster's efficiency lay wholly below {floor}: {}{open}", below.join("; ")),
        ),
        Kind::Holds => claim.judged(
            Verdict::Holds,
            format!("every cluster's efficiency interval lay above {floor} at every level{open}; {measured}"),
        ),
        Kind::OnlyAt(good) => {
            let bad: Vec<&str> = cells.iter().map(|c| c.level.as_str()).filter(|l| !good.iter().any(|g| g == l)).fold(
                Vec::new(),
                |mut v, l| {
                    if !v.contains(&l) {
                        v.push(l);
                    }
                    v
                },
            );
            claim
                .judged(
                    Verdict::only_when(format!(
                        "{subject} {}: there every cluster's efficiency lay above {floor}, while at {} \
                         it fell below ({}){open}",
                        good.join(" or "),
                        bad.join(" and "),
                        below.join("; ")
                    )),
                    format!("clusters were measured on both sides of {floor}; {measured}"),
                )
                .gist(format!("{short} {}", good.join(" or ")))
        }
    }
}

/// The capacity model in the condition: its costs and the run's shape (the definitions of
/// saturation and bound stay in the summary).
fn model_text(scaling: &Scaling) -> String {
    if scaling.model.is_empty() {
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The judgment with the standard registration's thresholds.
    fn linear_scaling(evidence: &Evidence) -> Claim {
        super::linear_scaling(evidence, &crate::registry::standard().claim(2))
    }
    use crate::testing::{sweep, sweep_spread};

    #[test]
    fn linear_scaling_reaches_each_verdict() {
        let claim = linear_scaling(&sweep(5000.0, 4800.0));
        assert_eq!(claim.verdict, Verdict::Holds, "{claim:?}");
        assert!(claim.reasoning.contains("CPU per frame 10 us"), "the model is named: {}", claim.reasoning);
        assert!(claim.evidence[0].contains("over seeds 1-5; 95 % CI"), "{:?}", claim.evidence);
        assert_eq!(linear_scaling(&sweep(3500.0, 3000.0)).verdict, Verdict::Refuted, "5 nodes at 0.7 and 0.62");
        let only = linear_scaling(&sweep(5000.0, 3000.0));
        let Verdict::HoldsOnlyWhen { condition } = &only.verdict else { panic!("{only:?}") };
        assert!(
            condition.starts_with("the consistency level is one:") && condition.contains("at all it fell"),
            "{condition}"
        );
        assert!(matches!(linear_scaling(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
    }

    #[test]
    fn a_failed_or_missing_point_makes_it_inconclusive() {
        let mut failed = sweep(5000.0, 4800.0);
        failed.scaling.as_mut().expect("sweep").rows[3].errors = 1;
        let Verdict::Inconclusive { why } = linear_scaling(&failed).verdict else { panic!("a failed point passed") };
        assert!(why.contains("quorum-5-all: 1 failed point(s)"), "{why}");
        let mut gap = sweep(5000.0, 4800.0);
        gap.scaling.as_mut().expect("sweep").points.retain(|p| !(p.series == "quorum-5-one" && p.seed == 5));
        let Verdict::Inconclusive { why } = linear_scaling(&gap).verdict else { panic!("a missing seed passed") };
        assert!(why.contains("quorum-5-one: no points on seed 5"), "{why}");
    }

    #[test]
    fn efficiency_ignores_overloaded_points() {
        // 5 nodes at ALL reach 4800 ok/s only on an overloaded point; stable, they stay at
        // 3000 (a plateau, so the series is saturated).
        let mut e = sweep(5000.0, 4800.0);
        for p in e.scaling.as_mut().expect("sweep").points.iter_mut().filter(|p| p.series == "quorum-5-all") {
            if p.clients == 16 {
                p.stable = false;
            } else {
                p.ok_per_s = 3000.0;
            }
        }
        let claim = linear_scaling(&e);
        let Verdict::HoldsOnlyWhen { condition } = &claim.verdict else { panic!("{claim:?}") };
        assert!(condition.starts_with("the consistency level is one:"), "{condition}");
    }

    #[test]
    fn an_efficiency_that_flips_between_seeds_is_inconclusive() {
        // 5 nodes at ONE: 0.9 on average, 0.882-0.918 over the seeds, against the 0.9 floor.
        let flipping = sweep_spread(4500.0, 4800.0, 0.01);
        let e = paired_ratio(flipping.scaling.as_ref().expect("sweep"), "quorum-5-one", "quorum-3-one", 0.6)
            .expect("paired");
        assert!(e.min < 0.9 && e.max > 0.9, "the figure flips: {e}");
        let claim = linear_scaling(&flipping);
        let Verdict::Inconclusive { why } = &claim.verdict else { panic!("{claim:?}") };
        assert!(why.contains("efficiency of 5 nodes at one") && why.contains("straddles 0.900"), "{why}");
        // A clear miss elsewhere at every level still refutes.
        assert_eq!(linear_scaling(&sweep_spread(3000.0, 3000.0, 0.01)).verdict, Verdict::Refuted);
    }
}
