//! What claims 4, 11 and 12 share: the transactional experiments' names, the seed verdict of
//! transactional integrity, committed operations per second by seed, and the pairs of runs
//! they compare.
//!
//! - `bank` and `list-append`: the two transactional workloads under Jepsen's random nemesis,
//!   SQLite beside the quorum store (claim 11).
//! - `contention-light` and `contention-heavy`: the same systems (SQLite with one to many
//!   connections, immediate and deferred transactions, and its non-transactional equivalent;
//!   the quorum store) running list-append on hot keys without faults, under 4 and 64 clients
//!   (claims 4 and 12).

use std::collections::BTreeMap;

use experiment::properties::{Properties, SqliteJournal, SqliteSettings};
use runner::run::record::SeedRecord;

use super::fault_experiments::seed_verdict;
use crate::evidence::Experiment;
use crate::stats::Estimate;

/// The bank under the random nemesis.
pub const BANK: &str = "bank";
/// List-append under the random nemesis.
pub const LIST_APPEND: &str = "list-append";
/// List-append on hot keys, fault-free, light load.
pub const CONTENTION_LIGHT: &str = "contention-light";
/// The same, heavy load.
pub const CONTENTION_HEAVY: &str = "contention-heavy";

/// Whether `experiment` ran a transactional workload: its table's check is serializability
/// (list-append) or the bank's invariants, whatever the experiment is called.
pub fn is_transactional(experiment: &Experiment) -> bool {
    experiment.rows.first().is_some_and(|row| TRANSACTIONAL_CHECKS.contains(&row.check))
}

/// The checks of the transactional workloads, as tables name them.
pub const TRANSACTIONAL_CHECKS: [&str; 2] = ["serializable", "bank-valid"];

/// Transactional integrity on one seed: `Some(true)` when the check failed (a bank invariant
/// broken, an isolation anomaly), `Some(false)` when it passed and was decided, `None`
/// otherwise (unknown verdict, failed run, no transaction results).
pub fn intact(record: &SeedRecord) -> Option<bool> {
    seed_verdict(record, record.check.failed(), record.txn.is_some())
}

/// SQLite's settings, when the system is a SQLite system.
pub fn sqlite(p: &Properties) -> Option<&SqliteSettings> {
    p.sqlite.as_ref()
}

/// A SQLite system that runs each multi-key operation as one transaction.
pub fn sql_transactional(p: &Properties) -> bool {
    sqlite(p).is_some_and(|s| s.transactions)
}

/// Committed (`ok`) operations per simulated second of each completed seed of `system`.
pub fn ok_per_s(experiment: &Experiment, system: &str) -> BTreeMap<u64, f64> {
    experiment
        .records_of(system)
        .filter(|r| r.error.is_none() && r.duration_ms > 0)
        .map(|r| (r.seed, r.ok as f64 / (r.duration_ms as f64 / 1000.0)))
        .collect()
}

/// The share of operations that the store aborted (`fail`) over all seeds of `system`.
pub fn abort_share(experiment: &Experiment, system: &str) -> Option<f64> {
    let (fail, ops) = experiment
        .records_of(system)
        .filter(|r| r.error.is_none())
        .fold((0u64, 0u64), |(f, o), r| (f + r.fail, o + r.ok + r.fail + r.info));
    (ops > 0).then(|| fail as f64 / ops as f64)
}

/// `numerator`'s figure over `denominator`'s, seed by seed (seeds both have); `None` when they
/// share none.
pub fn ratio_by_seed(numerator: &BTreeMap<u64, f64>, denominator: &BTreeMap<u64, f64>) -> Option<Estimate> {
    let pairs =
        numerator.iter().filter_map(|(seed, n)| denominator.get(seed).filter(|d| **d > 0.0).map(|d| (*seed, n / d)));
    Estimate::from_pairs(pairs)
}

/// SQLite's settings in words: `4 connection(s), immediate`, `16 connection(s), step by step,
/// no transaction`; several connections in WAL mode say so (`16 connection(s), WAL, deferred`).
pub fn sqlite_words(s: &SqliteSettings) -> String {
    let mode = if s.transactions { s.begin.name() } else { "step by step, no transaction" };
    let journal = if s.connections > 1 && s.journal == SqliteJournal::Wal { "WAL, " } else { "" };
    format!("{} connection(s), {journal}{mode}", s.connections)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_per_key_claims_leave_the_transactional_experiments_out() {
        use crate::testing::{txn_evidence, TxnRun};
        let evidence = txn_evidence(&[TxnRun::broken("quorum", 5, &[1, 2, 3, 4, 5])]);
        assert!(evidence.experiments.values().all(is_transactional));
        assert!(super::super::fault_experiments::experiments(&evidence).is_empty());
    }

    #[test]
    fn sqlite_words_name_connections_wal_and_begin() {
        let settings = |journal, connections, transactions| SqliteSettings {
            journal,
            synchronous: experiment::properties::SqliteSynchronous::Full,
            connections,
            begin: experiment::properties::SqliteBegin::Immediate,
            transactions,
        };
        assert_eq!(sqlite_words(&settings(SqliteJournal::Delete, 4, true)), "4 connection(s), immediate");
        assert_eq!(sqlite_words(&settings(SqliteJournal::Wal, 16, true)), "16 connection(s), WAL, immediate");
        assert_eq!(sqlite_words(&settings(SqliteJournal::Wal, 1, true)), "1 connection(s), immediate");
        assert_eq!(
            sqlite_words(&settings(SqliteJournal::Delete, 16, false)),
            "16 connection(s), step by step, no transaction"
        );
    }

    #[test]
    fn ratios_pair_seeds_and_skip_a_zero_denominator() {
        let a = BTreeMap::from([(1, 10.0), (2, 30.0), (3, 5.0)]);
        let b = BTreeMap::from([(1, 5.0), (2, 10.0), (3, 0.0), (4, 1.0)]);
        let ratio = ratio_by_seed(&a, &b).expect("two seeds");
        assert_eq!(ratio.seeds(), [1, 2]);
        assert!((ratio.mean - 2.5).abs() < 1e-12);
        assert!(ratio_by_seed(&a, &BTreeMap::new()).is_none());
    }
}
