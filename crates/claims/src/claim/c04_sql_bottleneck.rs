//! Claim 4: SQL bottlenecks on locking and transactions as load increases. Judged on the
//! contention experiments: the same SQLite systems (several connections arbitrating SQLite's
//! locks on the simulated disk, `BUSY` waits in simulated time, immediate and deferred
//! transactions) run list-append transactions on hot keys without faults, under light load
//! (`contention-light`) and heavy load (`contention-heavy`). A system slows down significantly
//! when the heavy load commits less than `slowdown` times the transactions per second of the
//! light load (seed by seed, the whole 95 % interval below). The quorum store's ratios are
//! shown beside, as context.

use crate::evidence::{Evidence, Experiment};
use crate::ledger::{percent, Claim, Verdict};
use crate::registry::Registered;
use crate::stats::{Estimate, Side};
use crate::{command, no_results, SEED_SOURCE};

use super::fault_experiments::unknown_runs;
use super::transactions::{abort_share, ok_per_s, ratio_by_seed, sql_transactional, sqlite_words};
use super::transactions::{CONTENTION_HEAVY, CONTENTION_LIGHT};

/// The thresholds this judgment reads from the registration (`experiments/claims/registered.toml`).
pub const THRESHOLDS: &[&str] = &["slowdown"];

/// What the contention experiments leave out, said with every verdict that rests on them.
pub const MODEL_LIMIT: &str = "Model limit: a transaction is one request and the contention experiments charge no CPU \
     per statement, so locks are held only across the commit's disk time, never across client round trips; \
     interactive transactions or a CPU cost would widen the lock windows (and make deferred transactions \
     deadlock), which is not measured here";

/// One system under both loads.
struct Loaded {
    system: String,
    /// How it is set up, in words.
    how: String,
    /// Heavy-load committed/s over light-load committed/s, by seed.
    ratio: Estimate,
}

/// Claim 4, judged on `evidence` with the registered thresholds `registered`.
pub fn sql_bottleneck(evidence: &Evidence, registered: &Registered) -> Claim {
    let mut claim = Claim::new(
        4,
        "SQL bottlenecks on locking as load grows",
        "SQL databases often experience bottlenecks in write-heavy applications due to locking, transaction \
         handling, and the need to maintain consistency across distributed systems. As the load increases, these \
         bottlenecks can lead to significant slowdowns.",
        SEED_SOURCE,
    )
    .tested_by(CONTENTION_LIGHT, &command(CONTENTION_LIGHT))
    .tested_by(CONTENTION_HEAVY, &command(CONTENTION_HEAVY));
    let (Some(light), Some(heavy)) =
        (evidence.experiments.get(CONTENTION_LIGHT), evidence.experiments.get(CONTENTION_HEAVY))
    else {
        let absent: Vec<&str> = [CONTENTION_LIGHT, CONTENTION_HEAVY]
            .into_iter()
            .filter(|e| !evidence.experiments.contains_key(*e))
            .collect();
        return claim.judged(no_results(&absent), "locking under load needs both contention experiments");
    };
    let slowdown = registered.value("slowdown");
    let mut sql = Vec::new();
    for row in &heavy.rows {
        let Some(properties) = heavy.properties(&row.system) else { continue };
        let Some(ratio) = ratio_by_seed(&ok_per_s(heavy, &row.system), &ok_per_s(light, &row.system)) else {
            continue;
        };
        let how = properties.sqlite.as_ref().map_or_else(|| "no transactions".to_owned(), sqlite_words);
        line(&mut claim, light, heavy, &row.system, &how, &ratio);
        if sql_transactional(properties) {
            claim.estimate(format!("contention/{}/heavy_over_light", row.system), &ratio);
            sql.push(Loaded { system: row.system.clone(), how, ratio });
        }
    }
    if sql.is_empty() {
        return claim.judged(
            Verdict::missing("no transactional SQLite system ran under both loads"),
            "locking is SQLite's to show",
        );
    }
    let systems = sql.iter().flat_map(|l| [(light, l.system.as_str()), (heavy, l.system.as_str())]);
    if let Some((count, what)) = unknown_runs(systems) {
        return claim.judged(
            Verdict::inconclusive(format!("{count} run(s) failed, and a failed run could hold the slowdown: {what}")),
            "every run of both loads must complete",
        );
    }
    decide(claim, &sql, slowdown)
}

/// The evidence line of one system: committed/s under both loads, the ratio, the abort share
/// and the p99 latency under heavy load.
fn line(claim: &mut Claim, light: &Experiment, heavy: &Experiment, system: &str, how: &str, ratio: &Estimate) {
    let rate =
        |e: &Experiment| Estimate::of(ok_per_s(e, system)).map_or_else(|| "-".to_owned(), |t| format!("{:.0}", t.mean));
    let aborts = |e: &Experiment| abort_share(e, system).map_or_else(|| "-".to_owned(), percent);
    let p99 = |e: &Experiment| {
        e.row(system).and_then(|r| r.latency_ms_p99).map_or_else(|| "-".to_owned(), |v| format!("{v:.1} ms"))
    };
    claim.line(format!(
        "{system} ({how}): {} committed/s under light load, {} under heavy; heavy over light {}; aborted {} light, {} \
         heavy; p99 {} light, {} heavy",
        rate(light),
        rate(heavy),
        ratio.text_with(|v| format!("{v:.2}")),
        aborts(light),
        aborts(heavy),
        p99(light),
        p99(heavy)
    ));
}

/// Slowed down when the ratio is below `slowdown`, not when above; undecided otherwise.
fn decide(claim: Claim, sql: &[Loaded], slowdown: f64) -> Claim {
    let show = |v: f64| format!("{v:.2}");
    let slowed: Vec<&Loaded> = sql.iter().filter(|l| l.ratio.side(slowdown) == Side::Below).collect();
    let kept: Vec<&Loaded> = sql.iter().filter(|l| l.ratio.side(slowdown) == Side::Above).collect();
    let open: Vec<String> = sql
        .iter()
        .filter(|l| l.ratio.side(slowdown) == Side::Straddles)
        .map(|l| l.ratio.undecided(&format!("{}'s heavy-over-light ratio", l.system), slowdown, show))
        .collect();
    let names =
        |list: &[&Loaded]| list.iter().map(|l| format!("{} ({})", l.system, l.how)).collect::<Vec<_>>().join(", ");
    if !open.is_empty() {
        return claim
            .judged(Verdict::inconclusive(open.join("; ")), "some system's slowdown is not decided by its seeds");
    }
    if kept.is_empty() {
        return claim.judged(
            Verdict::Holds,
            format!(
                "every transactional SQLite system committed less than {slowdown} of its light-load rate under heavy \
                 load: {}",
                names(&slowed)
            ),
        );
    }
    if slowed.is_empty() {
        return claim.judged(
            Verdict::Refuted,
            format!(
                "no transactional SQLite system slowed significantly: under heavy load each kept at least {slowdown} \
                 of its light-load rate ({}); the single database serializes its writers, so load queues (latency \
                 grows) rather than throughput falling. {MODEL_LIMIT}",
                names(&kept)
            ),
        );
    }
    let condition = format!("for {} (not for {})", names(&slowed), names(&kept));
    claim
        .judged(
            Verdict::only_when(condition),
            format!("heavy load cut the committed rate below {slowdown} of light load's for some settings only"),
        )
        .gist(format!("slows: {}", slowed.iter().map(|l| l.system.as_str()).collect::<Vec<_>>().join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::contention_evidence;

    fn sql_bottleneck(evidence: &Evidence) -> Claim {
        super::sql_bottleneck(evidence, &crate::registry::standard().claim(4))
    }

    #[test]
    fn a_saturating_store_that_keeps_its_rate_refutes() {
        let claim =
            sql_bottleneck(&contention_evidence(&[("sqlite-1", 500.0, 520.0), ("sqlite-txn", 600.0, 590.0)], 0.01));
        assert_eq!(claim.verdict, Verdict::Refuted, "{claim:#?}");
        assert!(
            claim.evidence.iter().any(|l| l.contains("sqlite-txn") && l.contains("heavy over light")),
            "{claim:#?}"
        );
    }

    #[test]
    fn a_fall_below_the_threshold_for_some_settings_holds_only_for_them() {
        let evidence = contention_evidence(&[("sqlite-1", 500.0, 520.0), ("sqlite-deferred", 600.0, 200.0)], 0.01);
        let claim = sql_bottleneck(&evidence);
        assert!(
            matches!(&claim.verdict, Verdict::HoldsOnlyWhen { condition } if condition.contains("sqlite-deferred")),
            "{claim:#?}"
        );
        let all = sql_bottleneck(&contention_evidence(&[("sqlite-deferred", 600.0, 200.0)], 0.01));
        assert_eq!(all.verdict, Verdict::Holds);
    }

    #[test]
    fn a_ratio_at_the_threshold_is_inconclusive_and_the_quorum_store_is_context_only() {
        let evidence = contention_evidence(&[("sqlite-txn", 500.0, 400.0), ("quorum", 900.0, 100.0)], 0.2);
        let claim = sql_bottleneck(&evidence);
        assert!(matches!(claim.verdict, Verdict::Inconclusive { .. }), "{claim:#?}");
        assert!(claim.evidence.iter().any(|l| l.starts_with("quorum (no transactions)")), "{claim:#?}");
    }

    #[test]
    fn without_the_experiments_it_is_not_measured() {
        assert!(matches!(sql_bottleneck(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
    }
}
