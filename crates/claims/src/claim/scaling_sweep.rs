//! The scaling sweep (`lab run experiments/scaling.toml`) as claims 2-4 read it: its seeds in
//! words, its quorum series' families (level, mix, commit-log mode), the work per operation
//! at saturation, and "not measured" with the command that runs it. Only stable points count
//! (the report's steady-state test): a seed on which a series has no stable point is unknown.

use crate::command;
use crate::evidence::Scaling;
use crate::ledger::{Claim, Verdict};

/// "Not measured": `what` is missing from the sweep, with the command that runs it.
pub(crate) fn scaling_missing(claim: Claim, what: &str) -> Claim {
    claim.judged(Verdict::missing(format!("{what}: run `{}`", command("scaling"))), "the claim needs the scaling sweep")
}

/// A quorum series apart from its nodes: level, mix, commit-log mode (`-` when the sweep does
/// not name one).
pub(crate) type Family = runner::scaling::report::Family;

/// The families of the sweep's quorum series, in first-seen order.
pub(crate) fn families(scaling: &Scaling) -> Vec<Family> {
    let mut families: Vec<Family> = Vec::new();
    for row in scaling.rows.iter().filter(|r| r.level != "-") {
        if !families.contains(&row.family()) {
            families.push(row.family());
        }
    }
    families
}

/// Whether the sweep's quorum series differ in mix or commit-log mode (more than one of
/// either): only then do labels and figure names carry them.
pub(crate) fn varied(scaling: &Scaling) -> bool {
    let mut seen: Vec<(&str, &str)> = Vec::new();
    for row in scaling.rows.iter().filter(|r| r.level != "-") {
        let variant = (row.mix.as_str(), row.commitlog.as_str());
        if !seen.contains(&variant) {
            seen.push(variant);
        }
    }
    seen.len() > 1
}

/// A family in words: `one`, or `one, read-heavy, batch`.
pub(crate) fn family_text(family: &Family) -> String {
    let (level, mix, commitlog) = family;
    let mut parts = vec![level.as_str()];
    parts.extend([mix.as_str(), commitlog.as_str()].into_iter().filter(|p| *p != "-"));
    parts.join(", ")
}

/// Mix and commit log in words (`read-heavy, batch`), empty when the sweep names neither.
pub(crate) fn variant_text(mix: &str, commitlog: &str) -> String {
    [mix, commitlog].into_iter().filter(|p| *p != "-").collect::<Vec<_>>().join(", ")
}

/// The work per ok operation of series `system` at its saturation point on each seed:
/// messages and commit-log syncs, each as an estimate over the seeds that counted it.
pub(crate) fn work(
    scaling: &Scaling,
    system: &str,
) -> (Option<crate::stats::Estimate>, Option<crate::stats::Estimate>) {
    let top = scaling.saturation_points(system);
    let messages = crate::stats::Estimate::of(
        top.iter()
            .filter_map(|(seed, p)| p.messages_per_op.map(|m| (*seed, m)))
            .collect::<std::collections::BTreeMap<_, _>>(),
    );
    let syncs = crate::stats::Estimate::of(
        top.iter()
            .filter_map(|(seed, p)| p.syncs_per_op.map(|m| (*seed, m)))
            .collect::<std::collections::BTreeMap<_, _>>(),
    );
    (messages, syncs)
}

/// [`work`] in words: `8.02 messages/op (7.98-8.05), 1.50 syncs/op (1.49-1.51)`.
pub(crate) fn work_text(scaling: &Scaling, system: &str) -> String {
    let (messages, syncs) = work(scaling, system);
    let show = |e: Option<crate::stats::Estimate>, what: &str, decimals: usize| match e {
        Some(e) => format!("{:.decimals$} {what} ({:.decimals$}-{:.decimals$})", e.mean, e.min, e.max),
        None => format!("{what} not counted"),
    };
    format!("{}, {}", show(messages, "messages/op", 2), show(syncs, "syncs/op", 3))
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
        let ran: std::collections::BTreeSet<u64> =
            scaling.points.iter().filter(|p| p.series == *system).map(|p| p.seed).collect();
        let missing: Vec<u64> = scaling.seeds.iter().copied().filter(|s| !ran.contains(s)).collect();
        if !missing.is_empty() {
            parts.push(format!("{system}: no points on {}", crate::ledger::seeds(&missing)));
        }
        let overloaded = scaling.overloaded_seeds(system);
        if !overloaded.is_empty() {
            parts.push(format!("{system}: every point overloaded on {}", crate::ledger::seeds(&overloaded)));
        }
        let unsaturated = scaling.rows.iter().find(|r| r.system == *system).map_or(&[][..], |r| &r.unsaturated_seeds);
        if !unsaturated.is_empty() {
            parts.push(format!(
                "{system}: still climbing at its deepest load on {} (its saturation is only a lower bound)",
                crate::ledger::seeds(unsaturated)
            ));
        }
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}
