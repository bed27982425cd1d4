//! Claim 3: eventual consistency gives much higher write throughput. Judged on the scaling
//! sweep: ONE against ALL on the same nodes, and SQLite against the quorum store.

use crate::registry::Registered;
use crate::evidence::{Evidence, Scaling};
use crate::ledger::{Claim, Verdict};
use crate::{command, SEED_SOURCE};

use super::scaling_sweep::{scaling_missing, seed_text};

/// Weaker consistency gives "much higher" throughput when ONE saturates at least this many
/// times higher than ALL on the same nodes: half as much again, far beyond the few percent
/// the model's per-message costs can explain away.
pub const MUCH_HIGHER: f64 = 1.5;

/// Claim 3: eventual consistency gives much higher write throughput.
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
    let machines = machines(&mut claim, scaling);
    decide(claim, &ratios, &machines)
}

/// ONE's saturation throughput over ALL's at each cluster size that has both, (nodes, ratio),
/// with one evidence line and one figure each.
fn one_over_all(claim: &mut Claim, scaling: &Scaling) -> Vec<(usize, f64)> {
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
    ratios
}

/// Where the quorum store's lead over SQLite comes from, for the reasoning (empty without
/// SQLite or ONE in the sweep), with its evidence line and figures.
fn machines(claim: &mut Claim, scaling: &Scaling) -> String {
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
    machines
}

/// The verdict from the ONE/ALL `ratios`: refuted when none is much higher, holds when all are,
/// else holds only at the cluster sizes where it is.
fn decide(mut claim: Claim, ratios: &[(usize, f64)], machines: &str) -> Claim {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The judgment with the standard registration's thresholds.
    fn eventual_throughput(evidence: &Evidence) -> Claim {
        super::eventual_throughput(evidence, &crate::registry::standard().claim(3))
    }
    use crate::testing::sweep;

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
}
