//! Claim 2: Cassandra scales linearly with nodes. Judged on the scaling sweep's efficiency
//! (speed-up over the node ratio, against 3 nodes at the same level).

use crate::evidence::{Evidence, Scaling};
use crate::ledger::{Claim, Verdict};
use crate::{command, SEED_SOURCE};

use super::scaling_sweep::{levels, scaling_missing, seed_text};

/// Scaling counts as linear when every cluster keeps at least this efficiency (speed-up over
/// the node ratio, against 3 nodes at the same level): 9 nodes must give at least 2.7x of 3.
/// "Linear" in the claim tolerates small losses, not a third of the machines idle.
pub const EFFICIENCY_FLOOR: f64 = 0.9;

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
    let worst = efficiencies(&mut claim, scaling);
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
    let model = model_text(scaling);
    claim
        .judged(
            Verdict::only_when(format!(
            "the lab's capacity model holds: each node has its own CPU and one disk, and every operation costs the \
             same work on its N = 3 replicas whatever the cluster size, with keys spread evenly and every node \
             coordinating an equal share of clients ({model})"
        )),
            format!(
                "every cluster kept at least {worst:.3} efficiency (lowest: {at}; threshold {EFFICIENCY_FLOOR}, {} \
                 of the model: nothing outside it was measured)",
                seed_text(scaling)
            ),
        )
        .gist("the lab's capacity model holds (each node its own CPU and disk, keys spread evenly)")
}

/// One evidence line per quorum level of the sweep (each cluster size's saturation throughput
/// and efficiency, with their figures); the lowest efficiency and where, if any.
fn efficiencies(claim: &mut Claim, scaling: &Scaling) -> Option<(f64, String)> {
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
    worst
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
    use crate::testing::sweep;

    #[test]
    fn scaling_is_linear_only_under_the_model() {
        let claim = linear_scaling(&sweep(5000.0, 4800.0));
        let Verdict::HoldsOnlyWhen { condition } = &claim.verdict else { panic!("{claim:?}") };
        assert!(condition.contains("CPU per frame 10 us"), "{condition}");
        assert_eq!(linear_scaling(&sweep(3500.0, 4800.0)).verdict, Verdict::Refuted, "5 nodes at 0.7 efficiency");
        assert!(matches!(linear_scaling(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
    }
}
