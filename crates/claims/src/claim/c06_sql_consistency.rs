//! Claim 6: SQL databases ensure strong consistency. Judged per seed on the SQL systems of
//! every fault experiment (one SQLite server, and SQLite on Raft: [`crate::select::sql`]): the
//! ones synced before the ack ([`crate::select::sql_synced`]) against the weaker settings, and
//! replicated ones acknowledging once a majority has the write ([`MAJORITY_ACK`]) against
//! asynchronous acknowledgement.

use crate::evidence::Evidence;
use crate::ledger::{Claim, Verdict};
use crate::registry::Registered;
use crate::select;
use crate::{command, SEED_SOURCE};

use super::fault_experiments::{
    all_fault_commands, consistent, experiments, how, missing, outcome, outcome_verdict, tallies, tally_line,
    Condition, Tally, FAULT_EXPERIMENTS, MAJORITY_ACK, REQUIRED_FOR_CONSISTENCY,
};

/// What claim 6 counts on every seed.
pub const PROPERTY: &str = "linearizable, no stale read, no lost acknowledged write";

/// The condition claim 6 can name: SQLite syncing each commit before acknowledging it.
pub const SYNCED: Condition = Condition {
    words: "each commit is synced before it is acknowledged (synchronous=FULL)",
    having: "synced before the ack",
    lacking: "acknowledged before the sync",
    has: select::sql_synced,
    property: "durability",
};

/// The thresholds this judgment reads from the registration (`experiments/claims/registered.toml`).
pub const THRESHOLDS: &[&str] = &["min_clean_seeds"];

/// Claim 6, judged on `evidence` with the registered thresholds `registered`: [`PROPERTY`]
/// counted on every seed of every SQLite system (chosen by its properties) in every fault
/// experiment. A violation refutes unless the same experiment measured the contrast of
/// [`SYNCED`] (a system lacking it violated, every system having it kept the property on
/// `min_clean_seeds` seeds): then it holds only when synced. Unknown seeds make it inconclusive
/// short of a refutation (the rule in [`super::fault_experiments`]).
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
    let all: Vec<Tally> = experiments(evidence).into_iter().flat_map(|e| tallies(e, select::sql, consistent)).collect();
    if all.is_empty() {
        return claim.judged(
            Verdict::missing(format!("no SQLite system's results: run `lab run {}`", all_fault_commands())),
            "SQLite's consistency needs the fault experiments",
        );
    }
    let conditions = [SYNCED, MAJORITY_ACK];
    for t in &all {
        claim.line(tally_line(t, &how(t.properties, &conditions), PROPERTY));
        t.figures(&mut claim);
    }
    let min = registered.value("min_clean_seeds") as usize;
    let (verdict, reasoning, gist) = outcome_verdict(&outcome(&all, &conditions, min, |_| None), PROPERTY, min);
    claim.judged(verdict, reasoning).gist(gist)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{complete, evidence, from_records, row, runs, SQLITE_FULL, SQLITE_OFF};
    use runner::run::record::{Check, SeedRecord};

    /// The judgment with the standard registration's thresholds.
    fn sql_consistency(evidence: &Evidence) -> Claim {
        super::sql_consistency(evidence, &crate::registry::standard().claim(6))
    }

    /// Power-loss holding these records (the other required experiments empty).
    fn power_loss(records: Vec<SeedRecord>) -> Evidence {
        complete(from_records(&[("power-loss", records)]))
    }

    fn rolled_back(_: u64, r: &mut SeedRecord) {
        r.check = Check::NotLinearizable;
        r.lost_writes = Some(8);
    }

    #[test]
    fn synced_sqlite_clean_on_enough_seeds_holds() {
        let claim = sql_consistency(&power_loss(runs(SQLITE_FULL, 5, |_, _| {})));
        assert_eq!(claim.verdict, Verdict::Holds, "{claim:?}");
        assert_eq!(
            claim.evidence,
            ["power-loss (every server losing power, unsynced writes gone), sqlite-full (synced before the ack): \
              linearizable, no stale read, no lost acknowledged write clean on seeds 1-5 (rate < 45.1 % per seed at \
              95 %)"]
        );
        assert_eq!(claim.figures["power-loss/sqlite-full/judged_seeds"], 5.0);
    }

    #[test]
    fn weaker_settings_violating_beside_a_clean_synced_one_hold_only_when_synced() {
        let mut records = runs(SQLITE_FULL, 5, |_, _| {});
        records.extend(runs(SQLITE_OFF, 5, rolled_back));
        let claim = sql_consistency(&power_loss(records));
        let Verdict::HoldsOnlyWhen { condition } = &claim.verdict else { panic!("{claim:?}") };
        assert_eq!(
            condition,
            "each commit is synced before it is acknowledged (synchronous=FULL) (linearizable, no stale read, no \
             lost acknowledged write: sqlite-off (acknowledged before the sync) violated in power-loss on seeds 1-5 \
             of 5 judged, while sqlite-full on seeds 1-5 (synced before the ack) kept it there)"
        );
        assert!(claim.gist.starts_with("each commit is synced"), "{}", claim.gist);
        assert!(
            claim.evidence.iter().any(|l| l.contains(
                "sqlite-off (acknowledged before the sync): linearizable, \
             no stale read, no lost acknowledged write violated on seeds 1-5 of 5"
            )),
            "{:?}",
            claim.evidence
        );
    }

    #[test]
    fn a_violation_with_only_one_side_measured_refutes() {
        // The synced one violated.
        let records = runs(SQLITE_FULL, 5, |seed, r| r.lost_writes = Some(u64::from(seed == 3)));
        let claim = sql_consistency(&power_loss(records));
        assert_eq!(claim.verdict, Verdict::Refuted, "{claim:?}");
        assert!(claim.reasoning.contains("sqlite-full in power-loss on seed 3 of 5 judged"), "{}", claim.reasoning);
        // A weaker one violated and no synced one ran there: no contrast, no condition.
        let claim = sql_consistency(&power_loss(runs(SQLITE_OFF, 5, rolled_back)));
        assert_eq!(claim.verdict, Verdict::Refuted, "{claim:?}");
        // A decided counterexample refutes whatever else is unknown.
        let records = runs(SQLITE_FULL, 5, |seed, r| match seed {
            2 => r.lost_writes = Some(1),
            3 => r.check = Check::Unknown,
            _ => {}
        });
        assert_eq!(sql_consistency(&power_loss(records)).verdict, Verdict::Refuted);
    }

    #[test]
    fn unknown_or_too_few_seeds_are_inconclusive() {
        let unknown = runs(SQLITE_FULL, 5, |seed, r| {
            if seed == 4 {
                r.check = Check::Unknown;
            }
        });
        let Verdict::Inconclusive { why } = sql_consistency(&power_loss(unknown)).verdict else { panic!() };
        assert!(why.starts_with("1 seed(s) the verdict uses are unknown") && why.contains("seed 4"), "{why}");
        let few = runs(SQLITE_FULL, 3, |_, _| {});
        let Verdict::Inconclusive { why } = sql_consistency(&power_loss(few)).verdict else { panic!() };
        assert!(why.contains("3 judged seed(s), 5 needed"), "{why}");
        // The contrast's clean side has an unjudged key: the condition is not measured yet.
        let mut records = runs(SQLITE_FULL, 5, |seed, r| r.unjudged_keys = u64::from(seed == 1));
        records.extend(runs(SQLITE_OFF, 5, rolled_back));
        let Verdict::Inconclusive { why } = sql_consistency(&power_loss(records)).verdict else { panic!() };
        assert!(why.contains("1 key(s) without a final read (seed 1)"), "{why}");
        // A failed run is unknown too.
        let mut failed = runs(SQLITE_FULL, 5, |_, _| {});
        failed.push(SeedRecord::failed(SQLITE_FULL, 6, "panicked".into()));
        let Verdict::Inconclusive { why } = sql_consistency(&power_loss(failed)).verdict else { panic!() };
        assert!(why.contains("1 run(s) failed (seed 6)"), "{why}");
        // Rows without per-seed records decide nothing.
        let rows_only = complete(evidence(&[("power-loss", vec![row(SQLITE_FULL)])]));
        assert!(matches!(sql_consistency(&rows_only).verdict, Verdict::Inconclusive { .. }));
    }

    #[test]
    fn without_the_experiments_or_a_sqlite_system_it_is_not_measured() {
        assert!(matches!(sql_consistency(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
        let quorum_only = power_loss(runs("quorum-one", 5, |_, _| {}));
        assert!(matches!(sql_consistency(&quorum_only).verdict, Verdict::NotMeasured { .. }));
    }
}
