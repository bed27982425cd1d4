//! Claim 12: NoSQL forgoes transactions for throughput. Judged like with like, on the same
//! store at the same load: SQLite running each list-append transaction step by step, one
//! single-key request at a time (the non-transactional equivalent, as the quorum store runs
//! it), against the same SQLite system running it as one transaction, in the contention
//! experiments. Forgoing transactions enables faster writes when the non-transactional side
//! commits at least `much_higher` times the transactions per second (seed by seed, the whole
//! 95 % interval above). Beside it, what forgoing them costs: the integrity the
//! non-transactional side broke, and the quorum store's figures as context (three replicated
//! servers against one, so not a like-with-like comparison).

use crate::evidence::{Evidence, Experiment};
use crate::ledger::{Claim, Verdict};
use crate::registry::Registered;
use crate::stats::{Estimate, Side};
use crate::{command, no_results, SEED_SOURCE};

use super::fault_experiments::unknown_runs;
use super::transactions::{intact, ok_per_s, ratio_by_seed, sqlite_words, CONTENTION_HEAVY, CONTENTION_LIGHT};
use experiment::properties::Properties;

/// The thresholds this judgment reads from the registration (`experiments/claims/registered.toml`).
pub const THRESHOLDS: &[&str] = &["much_higher"];

/// A non-transactional SQLite system and its transactional twin in one experiment.
struct Pair<'a> {
    experiment: &'a Experiment,
    steps: String,
    txn: String,
    /// Step-by-step committed/s over transactional committed/s, by seed.
    ratio: Estimate,
}

/// Whether `a` and `b` are the same SQLite system but for `transactions`.
fn twins(a: &Properties, b: &Properties) -> bool {
    match (&a.sqlite, &b.sqlite) {
        (Some(x), Some(y)) => {
            x.transactions != y.transactions
                && (x.journal, x.synchronous, x.connections, x.begin)
                    == (y.journal, y.synchronous, y.connections, y.begin)
        }
        _ => false,
    }
}

/// Claim 12, judged on `evidence` with the registered thresholds `registered`.
pub fn forgo_transactions(evidence: &Evidence, registered: &Registered) -> Claim {
    let mut claim = Claim::new(
        12,
        "NoSQL forgoes transactions for throughput",
        "Many NoSQL systems forgo complex transactions or use lighter versions of them, enabling faster writes.",
        SEED_SOURCE,
    )
    .tested_by(CONTENTION_LIGHT, &command(CONTENTION_LIGHT))
    .tested_by(CONTENTION_HEAVY, &command(CONTENTION_HEAVY));
    let present: Vec<&Experiment> =
        [CONTENTION_LIGHT, CONTENTION_HEAVY].iter().filter_map(|name| evidence.experiments.get(*name)).collect();
    if present.is_empty() {
        return claim.judged(
            no_results(&[CONTENTION_LIGHT, CONTENTION_HEAVY]),
            "the cost of a transaction needs the contention experiments",
        );
    }
    let pairs = pairs(&present);
    if pairs.is_empty() {
        return claim.judged(
            Verdict::missing("no SQLite system ran both with and without transactions in a contention experiment"),
            "the comparison is like with like: the same store, with and without transactions",
        );
    }
    let much_higher = registered.value("much_higher");
    for p in &pairs {
        let steps = p.experiment.properties(&p.steps).and_then(|s| s.sqlite.as_ref()).map(sqlite_words);
        let broken = p.experiment.counted(&p.steps, intact);
        claim.line(format!(
            "{}, {} ({}) over {}: committed/s {}; the step-by-step side broke integrity on {} of {} judged seeds",
            p.experiment.name,
            p.steps,
            steps.unwrap_or_default(),
            p.txn,
            p.ratio.text_with(|v| format!("{v:.2}x")),
            broken.violating.len(),
            broken.judged.len()
        ));
        claim.estimate(format!("{}/{}/steps_over_txn", p.experiment.name, p.steps), &p.ratio);
    }
    context(&mut claim, &present);
    let systems = pairs.iter().flat_map(|p| [(p.experiment, p.steps.as_str()), (p.experiment, p.txn.as_str())]);
    if let Some((count, what)) = unknown_runs(systems.filter(|(e, s)| !e.unknowns(s).failed.is_empty())) {
        return claim.judged(
            Verdict::inconclusive(format!("{count} run(s) failed, and a failed run could hold the rate: {what}")),
            "every run compared must complete",
        );
    }
    decide(claim, &pairs, much_higher)
}

/// Each non-transactional SQLite system paired with its transactional twin in the same
/// experiment.
fn pairs<'a>(present: &[&'a Experiment]) -> Vec<Pair<'a>> {
    let mut pairs = Vec::new();
    for experiment in present {
        for steps in &experiment.rows {
            let Some(p) = experiment.properties(&steps.system) else { continue };
            if p.sqlite.as_ref().is_none_or(|s| s.transactions) {
                continue;
            }
            let twin = experiment.rows.iter().find(|r| experiment.properties(&r.system).is_some_and(|q| twins(p, q)));
            let Some(txn) = twin else { continue };
            let ratio = ratio_by_seed(&ok_per_s(experiment, &steps.system), &ok_per_s(experiment, &txn.system));
            if let Some(ratio) = ratio {
                pairs.push(Pair { experiment, steps: steps.system.clone(), txn: txn.system.clone(), ratio });
            }
        }
    }
    pairs
}

/// The quorum store's committed/s and integrity in each experiment, as context.
fn context(claim: &mut Claim, present: &[&Experiment]) {
    for experiment in present {
        for row in &experiment.rows {
            let replicated = experiment.properties(&row.system).is_some_and(|p| p.sqlite.is_none());
            let Some(rate) = Estimate::of(ok_per_s(experiment, &row.system)).filter(|_| replicated) else { continue };
            let broken = experiment.counted(&row.system, intact);
            claim.line(format!(
                "context, {} {} (replicated, no transactions; not like with like): {} committed/s; integrity broken \
                 on {} of {} judged seeds",
                experiment.name,
                row.system,
                rate.text_with(|v| format!("{v:.0}")),
                broken.violating.len(),
                broken.judged.len()
            ));
        }
    }
}

fn decide(claim: Claim, pairs: &[Pair], much_higher: f64) -> Claim {
    let show = |v: f64| format!("{v:.2}x");
    let name = |p: &Pair| format!("{} in {}", p.steps, p.experiment.name);
    let faster: Vec<String> = pairs.iter().filter(|p| p.ratio.side(much_higher) == Side::Above).map(name).collect();
    let slower: Vec<String> = pairs.iter().filter(|p| p.ratio.side(much_higher) == Side::Below).map(name).collect();
    let open: Vec<String> = pairs
        .iter()
        .filter(|p| p.ratio.side(much_higher) == Side::Straddles)
        .map(|p| p.ratio.undecided(&format!("{}'s ratio", name(p)), much_higher, show))
        .collect();
    if !open.is_empty() {
        return claim.judged(Verdict::inconclusive(open.join("; ")), "a ratio's interval contains the threshold");
    }
    if slower.is_empty() {
        return claim.judged(
            Verdict::Holds,
            format!(
                "without transactions the same store committed at least {much_higher}x as fast: {}",
                faster.join(", ")
            ),
        );
    }
    if faster.is_empty() {
        return claim.judged(
            Verdict::Refuted,
            format!(
                "without transactions the same store did not commit {much_higher}x as fast ({}): running a \
                 transaction's steps as separate requests pays a round trip and a commit per step, which is more \
                 work, not less. {}",
                slower.join(", "),
                super::c04_sql_bottleneck::MODEL_LIMIT
            ),
        );
    }
    claim
        .judged(
            Verdict::only_when(format!("for {} (not for {})", faster.join(", "), slower.join(", "))),
            format!("forgoing transactions gave {much_higher}x for some settings only"),
        )
        .gist(format!("faster: {}", faster.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::contention_evidence;

    fn forgo_transactions(evidence: &Evidence) -> Claim {
        super::forgo_transactions(evidence, &crate::registry::standard().claim(12))
    }

    #[test]
    fn a_slower_non_transactional_twin_refutes() {
        let evidence = contention_evidence(&[("sqlite-txn", 500.0, 520.0), ("sqlite-steps", 300.0, 250.0)], 0.01);
        let claim = forgo_transactions(&evidence);
        assert_eq!(claim.verdict, Verdict::Refuted, "{claim:#?}");
        assert_eq!(claim.estimates.len(), 2, "one ratio per load: {claim:#?}");
    }

    #[test]
    fn a_much_faster_twin_holds_and_the_quorum_store_is_context() {
        let evidence = contention_evidence(
            &[("sqlite-txn", 500.0, 520.0), ("sqlite-steps", 1000.0, 1300.0), ("quorum", 900.0, 950.0)],
            0.01,
        );
        let claim = forgo_transactions(&evidence);
        assert_eq!(claim.verdict, Verdict::Holds, "{claim:#?}");
        assert!(claim.evidence.iter().any(|l| l.starts_with("context, contention-heavy quorum")), "{claim:#?}");
    }

    #[test]
    fn a_twin_with_other_settings_is_not_compared() {
        // sqlite-1 has one connection, sqlite-steps sixteen: not twins.
        let evidence = contention_evidence(&[("sqlite-1", 500.0, 520.0), ("sqlite-steps", 300.0, 250.0)], 0.01);
        assert!(matches!(forgo_transactions(&evidence).verdict, Verdict::NotMeasured { .. }));
        assert!(matches!(forgo_transactions(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
    }
}
