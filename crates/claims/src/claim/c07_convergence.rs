//! Claim 7: eventually consistent replicas converge, and how fast after a heal. Judged per seed
//! on the replicated systems of every fault experiment: whether the replicas agreed by the end
//! of the repair phase (counted), and how far into the repair phase (from the end of the client phase, every fault healed; an estimate over
//! the seeds that agreed). A seed whose replicas never agreed refutes unless the same experiment
//! measured the contrast of [`ANTI_ENTROPY`] or [`READ_REPAIR`] (a system lacking it never
//! agreed, every system having it agreed on `min_clean_seeds` seeds); unknown seeds make it
//! inconclusive short of a refutation.

use experiment::properties::Properties;
use runner::run::record::Convergence;

use crate::evidence::Evidence;
use crate::ledger::{Claim, Verdict};
use crate::registry::Registered;
use crate::select;
use crate::{command, SEED_SOURCE};

use super::fault_experiments::{
    all_fault_commands, converged, experiments, missing, outcome, outcome_verdict, tallies, tally_line, Condition,
    Tally, CAVEATS, FAULT_EXPERIMENTS, REQUIRED_FOR_CONSISTENCY,
};

/// The thresholds this judgment reads from the registration (`experiments/claims/registered.toml`).
pub const THRESHOLDS: &[&str] = &["min_clean_seeds"];

/// Claim 7, judged on `evidence` with the registered thresholds `registered`.
pub fn convergence(evidence: &Evidence, registered: &Registered) -> Claim {
    let mut claim = Claim::new(
        7,
        "replicas converge after faults heal",
        "Many NoSQL systems offer automatic replication and self-healing mechanisms to maintain performance and \
         reliability.",
        SEED_SOURCE,
    );
    for name in FAULT_EXPERIMENTS.iter().chain([CAVEATS].iter()) {
        claim = claim.tested_by(name, &command(name));
    }
    if let Some(verdict) = missing(evidence, &REQUIRED_FOR_CONSISTENCY) {
        return claim.judged(verdict, "convergence needs the single-fault experiments and the power loss");
    }
    let all: Vec<Tally> =
        experiments(evidence).into_iter().flat_map(|e| tallies(e, select::eventually_consistent, converged)).collect();
    if all.is_empty() {
        return claim.judged(
            Verdict::missing(format!("no replicated system's results: run `lab run {}`", all_fault_commands())),
            "convergence needs the fault experiments",
        );
    }
    for t in &all {
        let time = convergence_time(&mut claim, t);
        claim.line(format!("{}; {time}", tally_line(t, &repair(t.properties), PROPERTY)));
        t.figures(&mut claim);
    }
    let min = registered.value("min_clean_seeds") as usize;
    let conditions = [ANTI_ENTROPY, READ_REPAIR];
    let (verdict, reasoning, gist) = outcome_verdict(&outcome(&all, &conditions, min, |_| None), PROPERTY, min);
    let reasoning = format!("{reasoning}; {}", setup(&all));
    claim.judged(verdict, reasoning).gist(gist)
}

/// What claim 7 counts on every seed.
pub const PROPERTY: &str = "replicas agreed by the end of the repair phase";

/// A condition claim 7 can name: background anti-entropy.
pub const ANTI_ENTROPY: Condition = Condition {
    words: "background anti-entropy repairs the replicas (read repair fixes only keys read again)",
    having: "anti-entropy on",
    lacking: "no anti-entropy",
    has: anti_entropy,
    property: "anti-entropy",
};

/// Another: reads write back what they return.
pub const READ_REPAIR: Condition = Condition {
    words: "reads write back what they return (read repair)",
    having: "read repair",
    lacking: "no read repair",
    has: read_repair,
    property: "read repair",
};

fn anti_entropy(p: &Properties) -> bool {
    select::anti_entropy(p) == Some(true)
}

fn read_repair(p: &Properties) -> bool {
    p.quorums.as_ref().is_some_and(|q| q.read_writes_back)
}

/// How a system repairs its replicas, in words.
fn repair(p: &Properties) -> String {
    let how: Vec<&str> = [(ANTI_ENTROPY.has)(p).then_some("anti-entropy"), read_repair(p).then_some("read repair")]
        .into_iter()
        .flatten()
        .collect();
    if how.is_empty() {
        "no repair".to_owned()
    } else {
        how.join(" and ")
    }
}

/// `agreed 21 ms into the repair phase (min-max ...; 95 % CI ...)` over the seeds that
/// agreed, recorded as `KEY/convergence_ms_mean` and `_max`.
fn convergence_time(claim: &mut Claim, t: &Tally) -> String {
    let time = t
        .experiment
        .estimate(t.system, |r| match r.convergence {
            Convergence::AfterMs(ms) => Some(ms as f64),
            _ => None,
        })
        .map(|e| e.within(0.0, f64::INFINITY));
    let Some(time) = time else { return "no seed agreed".to_owned() };
    claim.estimate(format!("{}/convergence_ms_mean", t.key()), &time);
    claim.figure(format!("{}/convergence_ms_max", t.key()), time.max);
    format!(
        "agreed this far into the repair phase (from the end of the client phase: writes stopped, every fault healed): {}",
        time.text_with(|v| format!("{v:.0} ms"))
    )
}

/// The repair mechanisms tested: read repair only, unless some configuration runs anti-entropy.
fn setup(all: &[Tally]) -> String {
    let on: Vec<String> = all.iter().filter(|t| (ANTI_ENTROPY.has)(t.properties)).map(|t| t.key()).collect();
    if on.is_empty() {
        "anti-entropy is off in every configuration tested, so this is about read repair alone".to_owned()
    } else {
        format!("anti-entropy ran in {}", on.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{complete, evidence, from_records, row, runs, NO_REPAIR, STRICT};
    use runner::run::record::{Check, SeedRecord};

    /// The judgment with the standard registration's thresholds.
    fn convergence(evidence: &Evidence) -> Claim {
        super::convergence(evidence, &crate::registry::standard().claim(7))
    }

    fn after(ms: u64) -> impl Fn(u64, &mut SeedRecord) {
        move |seed, r| r.convergence = Convergence::AfterMs(ms + seed)
    }

    fn never_on_2(seed: u64, r: &mut SeedRecord) {
        r.convergence = if seed == 2 { Convergence::Never } else { Convergence::AfterMs(30) };
    }

    #[test]
    fn convergence_holds_when_every_seed_agreed_and_shows_the_time() {
        let e = complete(from_records(&[("crash-restart", runs(STRICT, 5, after(20)))]));
        let claim = convergence(&e);
        assert_eq!(claim.verdict, Verdict::Holds, "{claim:?}");
        assert_eq!(
            claim.evidence,
            ["crash-restart (one server down), quorum-quorum (read repair): replicas agreed by the end of the repair \
              phase clean on seeds 1-5 (rate < 45.1 % per seed at 95 %); agreed this far into the repair phase (from the end of the client phase: writes stopped, every fault healed): 23 ms \
              (min-max 21 ms-25 ms over seeds 1-5; 95 % CI 21 ms-25 ms)"]
        );
        assert_eq!(claim.figures["crash-restart/quorum-quorum/convergence_ms_max"], 25.0);
        assert!(claim.reasoning.contains("anti-entropy is off in every configuration tested"), "{}", claim.reasoning);
    }

    #[test]
    fn a_seed_that_never_agreed_refutes_without_a_measured_contrast() {
        let e = complete(from_records(&[
            ("crash-restart", runs(STRICT, 5, after(20))),
            ("power-loss", runs(STRICT, 5, never_on_2)),
        ]));
        let claim = convergence(&e);
        assert_eq!(claim.verdict, Verdict::Refuted, "{claim:?}");
        assert!(claim.reasoning.contains("quorum-quorum in power-loss on seed 2 of 5 judged"), "{}", claim.reasoning);
        assert!(claim.evidence[1].contains("violated on seed 2 of 5; agreed this far into the repair phase (from the end of the client phase: writes stopped, every fault healed): 30 ms (min-max 30 ms-30 ms over seeds 1,3,4,5"), "{:?}", claim.evidence);
    }

    #[test]
    fn convergence_holds_only_with_read_repair_when_that_contrast_was_measured() {
        let mut records = runs(STRICT, 5, after(20));
        records.extend(runs(NO_REPAIR, 5, never_on_2));
        let claim = convergence(&complete(from_records(&[("partition-halves", records)])));
        let Verdict::HoldsOnlyWhen { condition } = &claim.verdict else { panic!("{claim:?}") };
        assert_eq!(
            condition,
            "reads write back what they return (read repair) (replicas agreed by the end of the repair phase: \
             quorum-quorum-no-repair (no read repair) violated in partition-halves on seed 2 of 5 judged, while \
             quorum-quorum on seeds 1-5 (read repair) kept it there)"
        );
    }

    #[test]
    fn unknown_seeds_are_inconclusive() {
        let records = runs(STRICT, 5, |seed, r| {
            if seed == 3 {
                r.check = Check::Unknown;
            }
        });
        let Verdict::Inconclusive { why } = convergence(&complete(from_records(&[("crash-restart", records)]))).verdict
        else {
            panic!()
        };
        assert!(why.starts_with("1 seed(s)") && why.contains("checker verdict unknown on seed 3"), "{why}");
        let rows_only = complete(evidence(&[("crash-restart", vec![row(STRICT)])]));
        assert!(matches!(convergence(&rows_only).verdict, Verdict::Inconclusive { .. }));
    }

    #[test]
    fn without_the_experiments_or_a_replicated_system_it_is_not_measured() {
        assert!(matches!(convergence(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
        let without_power_loss = evidence(&[
            ("isolate-one-node", vec![]),
            ("partition-halves", vec![]),
            ("crash-restart", vec![row(STRICT)]),
        ]);
        let Verdict::NotMeasured { run } = convergence(&without_power_loss).verdict else { panic!() };
        assert!(run.contains("no results of power-loss"), "{run}");
        let sqlite_only = complete(from_records(&[("crash-restart", runs("sqlite-full", 5, |_, _| {}))]));
        assert!(matches!(convergence(&sqlite_only).verdict, Verdict::NotMeasured { .. }));
    }
}
