//! Claim 6: SQL databases ensure strong consistency. Judged on the single-server (SQLite)
//! rows of every fault experiment: the ones synced before the ack
//! ([`crate::select::sql_synced`]) against the weaker settings.

use crate::evidence::Evidence;
use crate::ledger::{seeds, Claim, Verdict};
use crate::registry::Registered;
use crate::select;
use crate::{command, SEED_SOURCE};

use super::fault_experiments::{
    all_fault_commands, check_line, completed, experiments, lost_line, missing, violated_line, FAULT_EXPERIMENTS,
    POWER_LOSS, REQUIRED_FOR_CONSISTENCY,
};

/// What claim 6 names when no SQLite system synced before the ack was measured.
pub const SQLITE_SYNCED: &str = "SQLite synced before the ack (synchronous=FULL)";

/// The thresholds this judgment reads from the registration (`experiments/claims/registered.toml`).
pub const THRESHOLDS: &[&str] = &["min_clean_seeds"];

/// Claim 6, judged on `evidence` with the registered thresholds `registered`.
pub fn sql_consistency(evidence: &Evidence, registered: &Registered) -> Claim {
    let mut claim = Claim::new(
        6,
        "SQL ensures strong consistency",
        "Relational databases excel in use cases that require strong consistency, complex queries (e.g., joins), \
         and transactional integrity",
        SEED_SOURCE,
    );
    for name in FAULT_EXPERIMENTS {
        claim = claim.tested_by(name, &command(name));
    }
    if let Some(verdict) = missing(evidence, &REQUIRED_FOR_CONSISTENCY) {
        return claim.judged(verdict, "SQLite's consistency needs the single-fault experiments and the power loss");
    }
    let g = gather(&mut claim, evidence);
    decide(claim, &g)
}

/// The single-server (SQLite) rows of the fault experiments, sorted for the verdict: the ones
/// synced before the ack ([`select::sql_synced`]) and the weaker settings.
#[derive(Default)]
struct Gathered {
    /// The decided checks of the synced systems.
    full_decided: usize,
    /// The SQLite systems synced before the ack, by name, in the order seen.
    full_names: Vec<String>,
    /// What the synced systems violated (`EXPERIMENT/SYSTEM: check, lost, stale`).
    full_bad: Vec<String>,
    /// The same for the weaker settings.
    weaker_bad: Vec<String>,
    /// How many rows of weaker settings were seen.
    weaker_seen: usize,
    /// Stale reads of weaker settings after a power loss: the final reads, which see the rollback.
    final_stale: Vec<String>,
}

/// One evidence line and four figures per single-server row of every fault experiment.
fn gather(claim: &mut Claim, evidence: &Evidence) -> Gathered {
    let mut g = Gathered::default();
    for experiment in experiments(evidence) {
        for row in experiment.rows.iter().filter(|r| completed(r) && !r.replicated) {
            let stale = row.stale_reads.unwrap_or(0);
            let lost = row.lost_writes.unwrap_or(0);
            claim.line(format!(
                "{}, {}: {}, {} stale reads, {} ({}, {})",
                experiment.name,
                row.system,
                check_line(row),
                stale,
                lost_line(row),
                seeds(&experiment.seeds),
                violated_line(row)
            ));
            let key = format!("{}/{}", experiment.name, row.system);
            claim.figure(format!("{key}/check_passed"), row.check_passed as f64);
            claim.figure(format!("{key}/check_decided"), row.check_decided as f64);
            claim.figure(format!("{key}/lost_writes"), lost as f64);
            claim.figure(format!("{key}/stale_reads"), stale as f64);
            let bad = row.check_passed < row.check_decided || stale > 0 || lost > 0;
            let what = format!("{key}: {}, {lost} lost, {stale} stale", check_line(row));
            if experiment.properties(&row.system).is_some_and(select::sql_synced) {
                if !g.full_names.contains(&row.system) {
                    g.full_names.push(row.system.clone());
                }
                g.full_decided += row.check_decided;
                if bad {
                    g.full_bad.push(what);
                }
            } else {
                g.weaker_seen += 1;
                if bad {
                    g.weaker_bad.push(what);
                }
                if experiment.name == POWER_LOSS && stale > 0 && lost > 0 {
                    g.final_stale.push(format!("{stale} of {key}"));
                }
            }
        }
    }
    g
}

/// The verdict from what [`gather`] found: refuted if a synced system violated, holds only
/// when synced if a weaker setting did, holds otherwise.
fn decide(claim: Claim, g: &Gathered) -> Claim {
    let full_decided = g.full_decided;
    let full = if g.full_names.is_empty() { SQLITE_SYNCED.to_owned() } else { g.full_names.join("/") };
    if full_decided == 0 {
        return claim.judged(
            Verdict::missing(format!(
                "no decided check of {full}: run `lab run {}` (and give the checker time: --check-timeout)",
                all_fault_commands()
            )),
            "SQLite's consistency needs the fault experiments",
        );
    }
    if !g.full_bad.is_empty() {
        return claim.judged(
            Verdict::Refuted,
            format!("SQLite with synchronous=FULL violated a property: {}", g.full_bad.join("; ")),
        );
    }
    if !g.weaker_bad.is_empty() {
        return claim
            .judged(
                Verdict::only_when(format!(
                    "it syncs each commit before acknowledging it (synchronous=FULL): with a weaker setting a power \
                 loss rolls acknowledged commits back, which the checker sees as lost writes and a non-linearizable \
                 history ({}){}; durability, not isolation, is the caveat",
                    g.weaker_bad.join("; "),
                    if g.final_stale.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; the stale reads ({}) are the final reads after the power loss (one per key and seed), \
                             which returned the rolled-back values: the same events as the lost writes, not another \
                             anomaly",
                            g.final_stale.join(", ")
                        )
                    }
                )),
                format!(
                    "{full} was linearizable on every decided seed ({full_decided}), with no stale read and no lost \
                     write, under every fault"
                ),
            )
            .gist(
                "each commit is synced before it is acknowledged (synchronous=FULL; a power loss undoes weaker ones)",
            );
    }
    let weaker = if g.weaker_seen > 0 { " (and so were its weaker synchronous settings)" } else { "" };
    claim.judged(
        Verdict::Holds,
        format!(
            "{full} was linearizable on every decided seed ({full_decided}), with no stale read and no lost write, \
             under every fault{weaker}"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The judgment with the standard registration's thresholds.
    fn sql_consistency(evidence: &Evidence) -> Claim {
        super::sql_consistency(evidence, &crate::registry::standard().claim(6))
    }
    use crate::testing::{complete, evidence, row};

    #[test]
    fn sql_consistency_separates_full_from_weaker_sync() {
        let mut full = row("sqlite-full");
        full.check_passed = 2;
        full.check_decided = 2;
        full.lost_writes = Some(0);
        full.stale_reads = Some(0);
        let mut off = full.clone();
        off.system = "sqlite-off".into();
        off.check_passed = 0;
        off.lost_writes = Some(40);
        off.violating_seeds = vec![1, 2];
        let e = complete(evidence(&[("power-loss", vec![full.clone(), off.clone()])]));
        let claim = sql_consistency(&e);
        let Verdict::HoldsOnlyWhen { condition } = &claim.verdict else { panic!("{claim:?}") };
        assert!(condition.contains("synchronous=FULL") && condition.contains("power-loss/sqlite-off"), "{condition}");
        assert!(!condition.contains("final reads"), "no stale reads, nothing to explain: {condition}");
        let mut stale = off.clone();
        stale.stale_reads = Some(200);
        let claim = sql_consistency(&complete(evidence(&[("power-loss", vec![full.clone(), stale])])));
        let Verdict::HoldsOnlyWhen { condition } = &claim.verdict else { panic!("{claim:?}") };
        assert!(
            condition.contains("the stale reads (200 of power-loss/sqlite-off) are the final reads"),
            "{condition}"
        );

        assert_eq!(sql_consistency(&complete(evidence(&[("power-loss", vec![full.clone()])]))).verdict, Verdict::Holds);
        let mut broken = full.clone();
        broken.stale_reads = Some(1);
        assert_eq!(sql_consistency(&complete(evidence(&[("x", vec![broken])]))).verdict, Verdict::Refuted);
        let mut undecided = full;
        undecided.check_passed = 0;
        undecided.check_decided = 0;
        assert!(matches!(
            sql_consistency(&complete(evidence(&[("x", vec![undecided])]))).verdict,
            Verdict::NotMeasured { .. }
        ));
    }
}
