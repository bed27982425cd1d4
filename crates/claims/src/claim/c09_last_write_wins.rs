//! Claim 9: last-write-wins is safe under clock skew. Judged per seed on the clock-skew
//! experiment's last-write-wins systems ([`crate::select::last_write_wins`]), the clock-free ones
//! beside them for contrast (evidence only: they are not last-write-wins). A violation refutes
//! unless the experiment measured the contrast of [`OVERLAPPING`] among the last-write-wins
//! systems (one with R + W <= N violated, every one with R + W > N kept the property on
//! `min_clean_seeds` seeds); unknown seeds make it inconclusive short of a refutation.

use experiment::properties::Properties;

use crate::evidence::Evidence;
use crate::ledger::{Claim, Verdict};
use crate::registry::Registered;
use crate::select;
use crate::{command, no_results};

use super::fault_experiments::{
    consistent, durable, outcome, outcome_verdict, tallies, tally_line, Condition, Tally, CLOCK_SKEW,
};

/// The thresholds this judgment reads from the registration (`experiments/claims/registered.toml`).
pub const THRESHOLDS: &[&str] = &["min_clean_seeds"];

/// Claim 9, judged on `evidence` with the registered thresholds `registered`.
pub fn last_write_wins(evidence: &Evidence, registered: &Registered) -> Claim {
    let mut claim = Claim::new(
        9,
        "last-write-wins is safe under clock skew",
        "Cassandra's correctness does depend on these clocks",
        "Cassandra documentation (architecture/dynamo); Jepsen on Cassandra 2.0.0 (2013): \"pure last-write-wins\" \
         loses acknowledged writes when clocks disagree",
    )
    .tested_by(CLOCK_SKEW, &command(CLOCK_SKEW));
    let Some(experiment) = evidence.experiments.get(CLOCK_SKEW) else {
        return claim.judged(no_results(&[CLOCK_SKEW]), "LWW under clock skew needs the clock-skew experiment");
    };
    let lww = tallies(experiment, select::last_write_wins, consistent);
    if lww.is_empty() {
        return claim.judged(
            Verdict::missing(format!("no LWW system in {CLOCK_SKEW}: run `{}`", command(CLOCK_SKEW))),
            "LWW under clock skew needs the LWW systems",
        );
    }
    let clock_free = tallies(experiment, select::clock_free, consistent);
    for t in lww.iter().chain(&clock_free) {
        let how = if select::last_write_wins(t.properties) { "last-write-wins" } else { "clock-free, for contrast" };
        claim.line(format!("{}; {}", tally_line(t, how, PROPERTY), lost_count(t)));
        t.figures(&mut claim);
    }
    let min = registered.value("min_clean_seeds") as usize;
    let (verdict, reasoning, gist) = outcome_verdict(&outcome(&lww, &[OVERLAPPING], min, |_| None), PROPERTY, min);
    let reasoning = format!("{reasoning}; {}", losses(&lww));
    claim.judged(verdict, reasoning).gist(gist)
}

/// What claim 9 counts on every seed.
pub const PROPERTY: &str = "linearizable, no stale read, no lost acknowledged write";

/// The condition claim 9 can name among last-write-wins systems: R + W > N.
pub const OVERLAPPING: Condition = Condition {
    words: "reads and writes wait for overlapping quorums (R + W > N)",
    having: "R + W > N",
    lacking: "R + W <= N",
    has: overlapping,
    property: "levels",
};

fn overlapping(p: &Properties) -> bool {
    select::overlapping(p) == Some(true)
}

/// `acknowledged writes lost on seeds 1,3 of 5 (4 in all)` or `no acknowledged write lost`.
fn lost_count(t: &Tally) -> String {
    let lost = t.experiment.counted(t.system, durable);
    let total: u64 = t.experiment.records_of(t.system).filter_map(|r| r.lost_writes).sum();
    if lost.violating.is_empty() {
        format!("acknowledged writes: {}", lost.text())
    } else {
        format!("acknowledged writes lost ({total} in all): {}", lost.text())
    }
}

/// Whether the last-write-wins systems lost acknowledged writes or only read out of order.
fn losses(lww: &[Tally]) -> String {
    let losers: Vec<&str> = lww
        .iter()
        .filter(|t| !t.experiment.counted(t.system, durable).violating.is_empty())
        .map(|t| t.system)
        .collect();
    if losers.is_empty() {
        "no last-write-wins system lost an acknowledged write".to_owned()
    } else {
        format!("lost acknowledged writes with one clock 2 s behind: {}", losers.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{evidence, from_records, row, runs};
    use runner::run::record::{Check, SeedRecord};

    /// The judgment with the standard registration's thresholds.
    fn last_write_wins(evidence: &Evidence) -> Claim {
        super::last_write_wins(evidence, &crate::registry::standard().claim(9))
    }

    fn skewed(records: Vec<SeedRecord>) -> Evidence {
        from_records(&[(CLOCK_SKEW, records)])
    }

    fn lose(seed: u64, r: &mut SeedRecord) {
        if seed % 2 == 1 {
            r.lost_writes = Some(2);
            r.check = Check::NotLinearizable;
        }
    }

    #[test]
    fn lww_is_refuted_by_lost_writes_at_every_level() {
        let mut records = runs("quorum-one", 5, lose);
        records.extend(runs("quorum-quorum", 5, lose));
        records.extend(runs("quorum-abd", 5, |_, _| {}));
        let claim = last_write_wins(&skewed(records));
        assert_eq!(claim.verdict, Verdict::Refuted, "{claim:?}");
        assert!(
            claim.reasoning.contains("quorum-one in clock-skew-lww on seeds 1,3,5 of 5 judged"),
            "{}",
            claim.reasoning
        );
        assert!(claim
            .reasoning
            .ends_with("lost acknowledged writes with one clock 2 s behind: quorum-one, quorum-quorum"));
        assert_eq!(
            claim.evidence[0],
            "clock-skew-lww (one clock 2 s behind), quorum-one (last-write-wins): linearizable, no stale read, no lost \
             acknowledged write violated on seeds 1,3,5 of 5; acknowledged writes lost (6 in all): violated on seeds \
             1,3,5 of 5"
        );
        assert!(claim.evidence[2].contains("quorum-abd (clock-free, for contrast)"), "{:?}", claim.evidence);
    }

    #[test]
    fn lww_holds_only_with_overlapping_quorums_when_that_contrast_was_measured() {
        let mut records = runs("quorum-one", 5, lose);
        records.extend(runs("quorum-quorum", 5, |_, _| {}));
        records.extend(runs("quorum-all", 5, |_, _| {}));
        let claim = last_write_wins(&skewed(records));
        let Verdict::HoldsOnlyWhen { condition } = &claim.verdict else { panic!("{claim:?}") };
        assert!(condition.starts_with("reads and writes wait for overlapping quorums (R + W > N) ("), "{condition}");
        assert!(
            condition.contains(
                "quorum-one (R + W <= N) violated in clock-skew-lww on seeds 1,3,5 of 5 judged, \
             while quorum-quorum on seeds 1-5 and quorum-all on seeds 1-5 (R + W > N) kept it there"
            ),
            "{condition}"
        );
    }

    #[test]
    fn lww_holds_when_clean_and_is_inconclusive_when_unknown() {
        let claim = last_write_wins(&skewed(runs("quorum-quorum", 5, |_, _| {})));
        assert_eq!(claim.verdict, Verdict::Holds, "{claim:?}");
        assert!(claim.reasoning.ends_with("no last-write-wins system lost an acknowledged write"));
        let unknown = runs("quorum-quorum", 5, |seed, r| r.unjudged_keys = u64::from(seed == 5) * 2);
        let Verdict::Inconclusive { why } = last_write_wins(&skewed(unknown)).verdict else { panic!() };
        assert!(why.contains("2 key(s) without a final read (seed 5)"), "{why}");
        // The clean side of the contrast is unknown: no condition yet.
        let mut records = runs("quorum-one", 5, lose);
        records.extend(runs("quorum-quorum", 5, |seed, r| {
            if seed == 2 {
                r.check = Check::Unknown;
            }
        }));
        assert!(matches!(last_write_wins(&skewed(records)).verdict, Verdict::Inconclusive { .. }));
        let rows_only = evidence(&[(CLOCK_SKEW, vec![row("quorum-quorum")])]);
        assert!(matches!(last_write_wins(&rows_only).verdict, Verdict::Inconclusive { .. }));
    }

    #[test]
    fn without_lww_results_it_is_not_measured() {
        assert!(matches!(
            last_write_wins(&skewed(runs("quorum-abd", 5, |_, _| {}))).verdict,
            Verdict::NotMeasured { .. }
        ));
        assert!(matches!(last_write_wins(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
    }
}
