//! The scaling sweep (`lab run experiments/scaling.toml`) as claims 2-4 read it: its seeds in
//! words, its quorum levels, and "not measured" with the command that runs it.

use crate::command;
use crate::evidence::Scaling;
use crate::ledger::{Claim, Verdict};

/// "Not measured": `what` is missing from the sweep, with the command that runs it.
pub(crate) fn scaling_missing(claim: Claim, what: &str) -> Claim {
    claim.judged(Verdict::missing(format!("{what}: run `{}`", command("scaling"))), "the claim needs the scaling sweep")
}

/// The quorum levels of the sweep, in first-seen order.
pub(crate) fn levels(scaling: &Scaling) -> Vec<String> {
    let mut levels: Vec<String> = Vec::new();
    for row in scaling.rows.iter().filter(|r| r.level != "-") {
        if !levels.contains(&row.level) {
            levels.push(row.level.clone());
        }
    }
    levels
}

/// The seeds of the sweep's points, in words (`seeds 1-5`).
pub(crate) fn seeds_text(scaling: &Scaling) -> String {
    let mut seeds: Vec<u64> = scaling.points.iter().map(|p| p.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    crate::ledger::seeds(&seeds)
}

/// `numerator`'s saturation over `denominator`'s on each seed both ran, times `scale`, as an
/// estimate over those seeds (`None` when they share no seed).
pub(crate) fn paired_ratio(
    scaling: &Scaling,
    numerator: &str,
    denominator: &str,
    scale: f64,
) -> Option<crate::stats::Estimate> {
    let top = scaling.saturation_by_seed(numerator);
    let bottom = scaling.saturation_by_seed(denominator);
    crate::stats::Estimate::from_pairs(
        top.iter().filter_map(|(seed, t)| bottom.get(seed).filter(|b| **b > 0.0).map(|b| (*seed, t / b * scale))),
    )
}

/// What the sweep leaves unknown for the series `systems`: series with failed points, and
/// series missing a seed the sweep ran (its points deleted or never written); `None` when every
/// series has every point on every seed. A claim judged on such a series is inconclusive.
pub(crate) fn sweep_unknowns(scaling: &Scaling, systems: &[&str]) -> Option<String> {
    let mut parts = Vec::new();
    for system in systems {
        if let Some(row) = scaling.rows.iter().find(|r| r.system == *system) {
            if row.errors > 0 {
                parts.push(format!("{system}: {} failed point(s)", row.errors));
            }
        }
        let seeds = scaling.saturation_by_seed(system);
        let missing: Vec<u64> = scaling.seeds.iter().copied().filter(|s| !seeds.contains_key(s)).collect();
        if !missing.is_empty() {
            parts.push(format!("{system}: no points on {}", crate::ledger::seeds(&missing)));
        }
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}
