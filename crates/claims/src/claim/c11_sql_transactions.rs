//! Claim 11: SQL ensures transactional integrity. Judged per seed on the SQLite systems that
//! run transactions, in the bank and list-append experiments (Jepsen's random nemesis) and in
//! the contention experiments (fault-free, hot keys): every read of the bank adds up to its
//! total with no negative balance, every list-append history is serializable. Beside it, what
//! each side pays: SQLite's availability during the faults and its committed throughput, and
//! what the quorum store, which runs the same operations without transactions, shows instead.

use crate::evidence::Evidence;
use crate::ledger::{percent, Claim, Verdict};
use crate::registry::Registered;
use crate::{command, no_results, SEED_SOURCE};

use super::fault_experiments::{outcome, outcome_verdict, tallies, tally_line, Tally};
use super::transactions::{
    intact, ok_per_s, sql_transactional, sqlite_words, BANK, CONTENTION_HEAVY, CONTENTION_LIGHT, LIST_APPEND,
};
use crate::stats::Estimate;

/// What claim 11 counts on every seed.
pub const PROPERTY: &str = "the books balance (bank) and the history is serializable (list-append)";

/// The experiments it is judged on, in ledger order; the first two are required.
pub const EXPERIMENTS: [&str; 4] = [BANK, LIST_APPEND, CONTENTION_LIGHT, CONTENTION_HEAVY];

/// The thresholds this judgment reads from the registration (`experiments/claims/registered.toml`).
pub const THRESHOLDS: &[&str] = &["min_clean_seeds"];

/// Claim 11, judged on `evidence` with the registered thresholds `registered`: [`PROPERTY`]
/// counted on every seed of every transactional SQLite system (chosen by its properties) in
/// every experiment of [`EXPERIMENTS`] present (bank and list-append required). One violating
/// seed refutes; an unknown or missing seed makes it inconclusive; `min_clean_seeds` judged
/// clean seeds per system and experiment make it hold.
pub fn sql_transactions(evidence: &Evidence, registered: &Registered) -> Claim {
    let mut claim = Claim::new(
        11,
        "SQL ensures transactional integrity",
        "Relational databases excel in use cases that require strong consistency, complex queries (e.g., joins), \
         and transactional integrity, like financial applications, accounting, or systems with strict consistency \
         requirements.",
        SEED_SOURCE,
    );
    for name in EXPERIMENTS {
        claim = claim.tested_by(name, &command(name));
    }
    let absent: Vec<&str> =
        [BANK, LIST_APPEND].into_iter().filter(|e| !evidence.experiments.contains_key(*e)).collect();
    if !absent.is_empty() {
        return claim.judged(no_results(&absent), "transactional integrity needs the bank and list-append experiments");
    }
    let present = EXPERIMENTS.iter().filter_map(|name| evidence.experiments.get(*name));
    let all: Vec<Tally> = present.flat_map(|e| tallies(e, sql_transactional, intact)).collect();
    if all.is_empty() {
        return claim.judged(
            Verdict::missing("no transactional SQLite system's results in the bank and list-append experiments"),
            "transactional integrity is SQLite's to show",
        );
    }
    for t in &all {
        let how = t.properties.sqlite.as_ref().map_or_else(String::new, sqlite_words);
        claim.line(tally_line(t, &how, PROPERTY));
        t.figures(&mut claim);
    }
    costs(&mut claim, evidence);
    let min = registered.value("min_clean_seeds") as usize;
    let (verdict, reasoning, gist) = outcome_verdict(&outcome(&all, &[], min, |_| None), PROPERTY, min);
    claim.judged(verdict, reasoning).gist(gist)
}

/// What each side pays and shows, per experiment under faults: each system's availability
/// during the faults and its committed operations per second; for the systems without
/// transactions, the seeds whose books did not balance or whose history had anomalies.
fn costs(claim: &mut Claim, evidence: &Evidence) {
    for name in [BANK, LIST_APPEND] {
        let Some(experiment) = evidence.experiments.get(name) else { continue };
        for row in &experiment.rows {
            let Some(properties) = experiment.properties(&row.system) else { continue };
            let broken = experiment.counted(&row.system, intact);
            let anomalies = row.txn.as_ref().map_or_else(String::new, |txn| {
                let classes: Vec<String> = txn.anomalies.iter().map(|(c, n)| format!("{c} {n}")).collect();
                match txn.invariant_violations {
                    Some(n) => format!(", {n} reads that broke an invariant"),
                    None if classes.is_empty() => String::new(),
                    None => format!(", anomalies {}", classes.join(", ")),
                }
            });
            let side = if sql_transactional(properties) { "transactions" } else { "no transactions" };
            let throughput = Estimate::of(ok_per_s(experiment, &row.system));
            claim.line(format!(
                "{name}, {} ({side}): integrity broken on {} of {} judged seeds{anomalies}; available {} of the \
                 fault time; {} committed/s",
                row.system,
                broken.violating.len(),
                broken.judged.len(),
                row.availability_time_faulty.map_or_else(|| "-".to_owned(), percent),
                throughput.as_ref().map_or_else(|| "-".to_owned(), |t| t.text_with(|v| format!("{v:.0}")))
            ));
            if let Some(t) = throughput {
                claim.estimate(format!("{name}/{}/ok_per_s", row.system), &t);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{txn_evidence, TxnRun};

    fn sql_transactions(evidence: &Evidence) -> Claim {
        super::sql_transactions(evidence, &crate::registry::standard().claim(11))
    }

    #[test]
    fn clean_sqlite_seeds_in_both_experiments_hold() {
        let claim =
            sql_transactions(&txn_evidence(&[TxnRun::clean("sqlite-txn", 5), TxnRun::broken("quorum", 5, &[1])]));
        assert_eq!(claim.verdict, Verdict::Holds, "{claim:#?}");
        assert!(claim.evidence.iter().any(|l| l.contains("quorum (no transactions): integrity broken on 1 of 5")));
    }

    #[test]
    fn one_broken_sqlite_seed_refutes() {
        let claim = sql_transactions(&txn_evidence(&[TxnRun::broken("sqlite-txn", 5, &[3])]));
        assert_eq!(claim.verdict, Verdict::Refuted, "{claim:#?}");
        assert!(claim.reasoning.contains("sqlite-txn in bank on seed 3"), "{}", claim.reasoning);
    }

    #[test]
    fn an_unknown_or_missing_seed_is_inconclusive() {
        let claim = sql_transactions(&txn_evidence(&[TxnRun::unknown("sqlite-txn", 5, &[2])]));
        assert!(matches!(claim.verdict, Verdict::Inconclusive { .. }), "{claim:#?}");
        let claim = sql_transactions(&txn_evidence(&[TxnRun::clean("sqlite-txn", 4)]));
        assert!(matches!(claim.verdict, Verdict::Inconclusive { .. }), "four seeds are too few: {claim:#?}");
    }

    #[test]
    fn without_the_experiments_it_is_not_measured() {
        assert!(matches!(sql_transactions(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
    }
}
