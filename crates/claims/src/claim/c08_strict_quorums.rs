//! Claim 8: R + W > N makes reads see the latest write. Judged on the caveats experiment
//! (strict quorums with blocking read repair, then without read repair, then sloppy) and on
//! the strict configuration in every fault experiment; a violation outside the ordinary faults
//! is attributed to the fault kind that separates the violating seeds from the clean ones. The
//! staleness sweep adds R + W <= N for contrast (evidence, not the verdict).

use std::collections::BTreeMap;

use experiment::properties::Properties;

use crate::command;
use crate::evidence::{Evidence, Experiment, StalenessPoint};
use crate::ledger::{percent, seed_list, seeds, Claim, Verdict};
use crate::registry::Registered;
use crate::select;
use runner::run::table::Row;

use super::fault_experiments::{
    check_line, completed, experiments, injected, lost_line, seed_faults, separating_kinds, violated_line, CAVEATS,
    FAULT_EXPERIMENTS,
};

/// What claim 8 asks for when no system has it.
pub const STRICT_DESCRIBED: &str = "a last-write-wins system with R + W > N, blocking read repair and strict quorums";

/// The experiments whose faults are ordinary (one server cut off, the servers split, one
/// server down): a violation of the strict configuration there refutes claim 8 outright.
pub const ORDINARY_FAULTS: [&str; 3] = ["isolate-one-node", "partition-halves", "crash-restart"];

/// A read counts as "fresh by then" in the staleness contrast at this share of trials.
pub const FRESH: f64 = 0.999;

/// A fault kind in words, for conditions.
fn fault_words(kind: &str) -> String {
    match kind {
        "strobe" => "a clock strobe".to_owned(),
        "skew" => "a clock skew".to_owned(),
        "partition" => "a partition".to_owned(),
        "partition-one-way" => "a one-way partition".to_owned(),
        "crash" => "a crash".to_owned(),
        "slow" => "a slow link".to_owned(),
        "flaky" => "a flaky link".to_owned(),
        other => format!("a `{other}` fault"),
    }
}

/// What a quorum-quorum violation on `violated` seeds of `experiment` (not an ordinary fault)
/// says R + W > N also needs; `faults` are the seeds' recorded faults, when the evidence has
/// them.
fn rw_condition(experiment: &str, violated: &[u64], faults: Option<&BTreeMap<u64, Vec<String>>>) -> String {
    match experiment {
        "clock-skew-lww" => return "clocks agree (LWW orders writes by timestamp)".to_owned(),
        "power-loss" => return "no replica loses writes it acknowledged (a periodic commit log does)".to_owned(),
        _ => {}
    }
    let Some(faults) = faults else {
        return format!(
            "none of the faults of {experiment} occur (the seeds' fault lists are not in the evidence, so the \
             violations are not attributed to a kind)"
        );
    };
    let kinds = separating_kinds(faults, violated);
    let these = if violated.len() == 1 {
        format!("the violating seed {} is the one", seed_list(violated))
    } else {
        format!("the violating seeds {} are exactly those", seed_list(violated))
    };
    if kinds.is_empty() {
        return format!(
            "none of the faults of {experiment} occur (the violations are not attributable to one fault kind: \
             none occurs in every violating seed and in no clean one)"
        );
    }
    let words: Vec<String> = kinds.iter().map(|k| fault_words(k)).collect();
    let with = format!("{these} with {}", words.join(", and with "));
    if kinds.iter().all(|k| k == "strobe" || k == "skew") {
        format!("clocks agree ({experiment}: {with})")
    } else {
        let bare: Vec<&str> = words.iter().map(|w| w.trim_start_matches("a ").trim_start_matches("an ")).collect();
        format!("no {} strikes ({experiment}: {with})", bare.join(" or "))
    }
}

/// The thresholds this judgment reads from the registration (`experiments/claims/registered.toml`).
pub const THRESHOLDS: &[&str] = &["min_clean_seeds", "fresh"];

/// Claim 8, judged on `evidence` with the registered thresholds `registered`.
pub fn strict_quorums(evidence: &Evidence, registered: &Registered) -> Claim {
    let mut claim = Claim::new(
        8,
        "R + W > N reads see the latest write",
        "Setting R and W such that R + W > N yields a quorum-like system.",
        "Dynamo (SOSP 2007, section 4.5); the literature's caveats: not linearizable without read write-back \
         (ABD; DDIA fig. 9-6), and not with sloppy quorums (Dynamo's own hinted handoff)",
    )
    .tested_by(CAVEATS, &command(CAVEATS));
    for name in FAULT_EXPERIMENTS {
        claim = claim.tested_by(name, &command(name));
    }
    let m = gather(&mut claim, evidence);
    staleness_contrast(&mut claim, evidence);
    let Some(strict_name) = m.strict.map(|r| r.system.as_str()).or(m.measured_elsewhere) else {
        return claim.judged(
            Verdict::missing(format!("no results of {STRICT_DESCRIBED}: run `{}`", command(CAVEATS))),
            "R + W > N needs a QUORUM configuration under faults",
        );
    };
    decide(claim, &m, strict_name)
}

/// The strict configuration (R + W > N, blocking read repair, strict quorums) and its caveats,
/// as the experiments measured them.
struct Measured<'a> {
    /// The strict configuration in quorum-caveats.
    strict: Option<&'a Row>,
    /// The same without read repair.
    no_repair: Option<&'a Row>,
    /// The same with sloppy quorums.
    sloppy: Option<&'a Row>,
    /// (experiment, the strict system there, its violating seeds) of the other experiments
    /// where it violated.
    elsewhere: Vec<(&'a Experiment, &'a str, Vec<u64>)>,
    /// The strict system of the first other experiment that measured one.
    measured_elsewhere: Option<&'a str>,
}

/// One evidence line and two figures of `row` in `experiment`.
fn describe(claim: &mut Claim, evidence: &Evidence, experiment: &str, row: &Row) {
    let key = format!("{experiment}/{}", row.system);
    claim.figure(format!("{key}/violating_seeds"), row.violating_seeds.len() as f64);
    claim.figure(format!("{key}/stale_reads"), row.stale_reads.unwrap_or(0) as f64);
    claim.line(format!(
        "{experiment}, {}: {}, {} stale reads, {} ({}, {})",
        row.system,
        check_line(row),
        row.stale_reads.unwrap_or(0),
        lost_line(row),
        seeds(&evidence.experiments.get(experiment).map(|e| e.seeds.clone()).unwrap_or_default()),
        violated_line(row)
    ));
}

/// The caveats experiment's systems (chosen by their properties), then the strict
/// configuration in every other experiment: an evidence line each.
fn gather<'a>(claim: &mut Claim, evidence: &'a Evidence) -> Measured<'a> {
    let caveats_experiment = evidence.experiments.get(CAVEATS);
    let in_caveats = |predicate: fn(&Properties) -> bool| caveats_experiment.and_then(|e| e.row_where(predicate));
    let strict = in_caveats(select::strict_overlapping);
    let no_repair = in_caveats(select::overlapping_without_write_back);
    let sloppy = in_caveats(select::overlapping_sloppy);
    for row in [strict, no_repair, sloppy, in_caveats(select::logical_timestamps)].into_iter().flatten() {
        describe(claim, evidence, CAVEATS, row);
    }
    let mut elsewhere: Vec<(&Experiment, &str, Vec<u64>)> = Vec::new();
    let mut measured_elsewhere: Option<&str> = None;
    for experiment in experiments(evidence).into_iter().filter(|e| e.name != CAVEATS) {
        if let Some(row) = experiment.row_where(select::strict_overlapping).filter(|r| completed(r)) {
            measured_elsewhere = measured_elsewhere.or(Some(&row.system));
            describe(claim, evidence, &experiment.name, row);
            if !row.violating_seeds.is_empty() {
                elsewhere.push((experiment, &row.system, row.violating_seeds.clone()));
            }
        }
    }
    Measured { strict, no_repair, sloppy, elsewhere, measured_elsewhere }
}

/// With blocking read repair and strict quorums, a violation under the caveats' partitions or
/// under an ordinary fault refutes the claim: nothing unusual was needed. Where it did, in words.
fn refuting(m: &Measured) -> Vec<String> {
    let mut refuting: Vec<String> = Vec::new();
    if let Some(strict) = m.strict.filter(|r| !r.violating_seeds.is_empty()) {
        refuting.push(format!("{CAVEATS} ({}) on {}", injected(CAVEATS), seeds(&strict.violating_seeds)));
    }
    for (experiment, _, violated) in m.elsewhere.iter().filter(|(e, _, _)| ORDINARY_FAULTS.contains(&e.name.as_str())) {
        refuting.push(format!("{} ({}) on {}", experiment.name, injected(&experiment.name), seeds(violated)));
    }
    refuting
}

/// What the verdict says: its conditions, their gists and the reasons.
#[derive(Default)]
struct Findings {
    conditions: Vec<String>,
    gists: Vec<String>,
    reasons: Vec<String>,
}

/// The caveats' findings: each caveat the strict configuration's variants violated is a
/// condition; one they did not violate, or that was not run, a reason.
fn caveat_findings(m: &Measured, strict_name: &str) -> Findings {
    let mut f = Findings::default();
    if m.strict.is_none() {
        f.reasons
            .push(format!("the read-repair and sloppy-quorum caveats are not exercised: run `{}`", command(CAVEATS)));
        return f;
    }
    f.reasons.push(format!("{strict_name} (blocking read repair, strict quorums) never violated in {CAVEATS}"));
    for (row, what, condition, gist) in [
        (
            m.no_repair,
            "a QUORUM system without read repair",
            "reads write back what they return before answering (blocking read repair)",
            "reads write back",
        ),
        (
            m.sloppy,
            "a QUORUM system with sloppy quorums",
            "quorums are strict (no fallback node's hint counts toward W)",
            "quorums are strict",
        ),
    ] {
        match row {
            Some(row) if !row.violating_seeds.is_empty() => {
                let system = &row.system;
                f.conditions.push(format!("{condition}: {system} violated on {}", seeds(&row.violating_seeds)));
                f.gists.push(gist.to_owned());
            }
            Some(row) => {
                f.reasons.push(format!("{} did not violate in these seeds (caveat not observed)", row.system));
            }
            None => f.reasons.push(format!("{what} was not run (caveat not exercised)")),
        }
    }
    f
}

/// The verdict: refuted by a violation the strict configuration needed nothing unusual for;
/// otherwise holds only when each caveat and each other violation's condition holds.
fn decide(claim: Claim, m: &Measured, strict_name: &str) -> Claim {
    let refuting = refuting(m);
    if !refuting.is_empty() {
        return claim.judged(
            Verdict::Refuted,
            format!(
                "{strict_name}, with blocking read repair and strict quorums, violated under an ordinary fault: {}: R \
                 + W > N did not make reads see the latest write even with the write-back",
                refuting.join("; ")
            ),
        );
    }
    let mut f = caveat_findings(m, strict_name);
    for (experiment, system, violated) in &m.elsewhere {
        let faults = seed_faults(experiment, system);
        let condition = rw_condition(&experiment.name, violated, faults.as_ref());
        // The gist: the condition without its parenthesis (once each).
        let gist = condition.split(" (").next().unwrap_or(&condition).to_owned();
        if !f.gists.contains(&gist) {
            f.gists.push(gist);
        }
        f.conditions.push(format!("{condition}: {system} violated in {} on {}", experiment.name, seeds(violated)));
    }
    if f.conditions.is_empty() {
        return claim.judged(Verdict::Holds, f.reasons.join("; "));
    }
    claim.judged(Verdict::only_when(f.conditions.join("; ")), f.reasons.join("; ")).gist(f.gists.join(", "))
}

/// The staleness experiment's contrast for claim 8 (evidence only, not the verdict): with
/// R + W <= N, how often a read right after the acknowledgement returned the write, and how
/// long until nearly every read did.
fn staleness_contrast(claim: &mut Claim, evidence: &Evidence) {
    let Some(staleness) = &evidence.staleness else { return };
    let seed = staleness.seed.map_or_else(|| "seed unknown".to_owned(), |s| format!("seed {s}"));
    let mut series: Vec<(String, usize, usize, usize)> = Vec::new();
    for p in &staleness.points {
        let key = (p.profile.clone(), p.quorums.n, p.quorums.r, p.quorums.w);
        if p.quorums.r + p.quorums.w <= p.quorums.n && !series.contains(&key) {
            series.push(key);
        }
    }
    for (profile, n, r, w) in series {
        let mut points: Vec<&StalenessPoint> = staleness
            .points
            .iter()
            .filter(|p| p.profile == profile && (p.quorums.n, p.quorums.r, p.quorums.w) == (n, r, w))
            .collect();
        points.sort_by(|a, b| a.wait_ms.total_cmp(&b.wait_ms));
        let Some(first) = points.first() else { continue };
        let fresh = points.iter().find(|p| p.measured >= FRESH);
        let until = fresh.map_or_else(
            || format!("never {} within {} ms", percent(FRESH), points.last().map_or(0.0, |p| p.wait_ms)),
            |p| format!("{} from {} ms on", percent(p.measured), p.wait_ms),
        );
        claim.figure(format!("staleness/{profile}/{n}-{r}-{w}/fresh_at_0"), first.measured);
        claim.line(format!(
            "staleness ({seed}, {} trials per point), {profile} delays, N={n} R={r} W={w} (R + W <= N, for \
             contrast): a read {} ms after the acknowledgement returned the write in {}; {until}",
            first.trials,
            first.wait_ms,
            percent(first.measured)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::fault_experiments::{fault_kind, CLOCK_SKEW};
    use super::*;

    /// The judgment with the standard registration's thresholds.
    fn strict_quorums(evidence: &Evidence) -> Claim {
        super::strict_quorums(evidence, &crate::registry::standard().claim(8))
    }
    use crate::testing::{evidence, row, NO_REPAIR, SLOPPY, STRICT};

    #[test]
    fn strict_quorums_hold_only_with_write_back_and_strict_quorums() {
        let clean = row(STRICT);
        let mut no_repair = row(NO_REPAIR);
        no_repair.violating_seeds = vec![2];
        let mut sloppy = row(SLOPPY);
        sloppy.violating_seeds = vec![1, 2];
        let mut skewed = row(STRICT);
        skewed.violating_seeds = vec![1];
        let e = evidence(&[
            (CAVEATS, vec![clean.clone(), no_repair.clone(), sloppy.clone()]),
            (CLOCK_SKEW, vec![skewed.clone()]),
        ]);
        let claim = strict_quorums(&e);
        let Verdict::HoldsOnlyWhen { condition } = &claim.verdict else { panic!("{claim:?}") };
        assert!(condition.contains("blocking read repair") && condition.contains("strict"), "{condition}");
        assert!(condition.contains("clocks agree"), "{condition}");

        let mut e = evidence(&[(CAVEATS, vec![clean.clone(), row(NO_REPAIR), row(SLOPPY)])]);
        let point = |wait_ms: f64, measured: f64| StalenessPoint {
            profile: "exp-1ms".into(),
            quorums: crate::evidence::Quorums { n: 3, r: 1, w: 1 },
            wait_ms,
            trials: 1000,
            measured,
            model: measured,
        };
        e.staleness = Some(crate::evidence::Staleness {
            seed: Some(1),
            points: vec![point(5.0, 0.9995), point(0.0, 0.4), point(1.0, 0.9)],
        });
        let claim = strict_quorums(&e);
        assert_eq!(claim.verdict, Verdict::Holds, "the contrast is evidence, not a verdict");
        assert!(
            claim
                .evidence
                .iter()
                .any(|l| l.contains("N=3 R=1 W=1") && l.contains("in 40.0 %; ") && l.contains(" from 5 ms on")),
            "{:?}",
            claim.evidence
        );
        assert_eq!(claim.figures["staleness/exp-1ms/3-1-1/fresh_at_0"], 0.4);
        let e = evidence(&[(CAVEATS, vec![skewed.clone(), no_repair])]);
        assert_eq!(strict_quorums(&e).verdict, Verdict::Refuted);
        let e = evidence(&[(CLOCK_SKEW, vec![skewed.clone()])]);
        let claim = strict_quorums(&e);
        assert!(matches!(claim.verdict, Verdict::HoldsOnlyWhen { .. }));
        assert!(claim.reasoning.contains("not exercised"), "{}", claim.reasoning);
        assert!(matches!(strict_quorums(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
        for ordinary in ORDINARY_FAULTS {
            let e = evidence(&[(CAVEATS, vec![clean.clone()]), (ordinary, vec![skewed.clone()])]);
            let claim = strict_quorums(&e);
            assert_eq!(claim.verdict, Verdict::Refuted, "{ordinary}");
            assert!(claim.reasoning.contains(&format!("{ordinary} (")), "{}", claim.reasoning);
        }
        let e = evidence(&[(CAVEATS, vec![clean.clone()]), ("random-nemesis", vec![skewed])]);
        let Verdict::HoldsOnlyWhen { condition } = strict_quorums(&e).verdict else { panic!() };
        assert!(condition.contains("not attributed"), "without the records: {condition}");
    }

    #[test]
    fn nemesis_violations_are_attributed_to_the_fault_kind_that_separates_the_seeds() {
        let seed = |faults: &[&str]| faults.iter().map(|f| (*f).to_owned()).collect::<Vec<String>>();
        let faults: BTreeMap<u64, Vec<String>> = [
            (1, seed(&["partition [n4] | [n5 n3] at 2s", "heal at 4s", "crash n1 at 6s", "restart n1 at 8s"])),
            (2, seed(&["strobe n3 ±714ms every 232ms at 3s", "skew n3 +0ms at 6s", "partition [n1] | [n2] at 9s"])),
            (3, seed(&["slow [n1] | [n2] 290ms at 3s", "heal at 6s"])),
            (5, seed(&["strobe n1 ±1274ms every 45ms at 3s", "skew n1 +0ms at 6s", "flaky [n1] | [n2] 9ppm at 9s"])),
        ]
        .into_iter()
        .collect();
        assert_eq!(fault_kind("skew n3 +0ms at 6s"), None, "the end of a strobe");
        assert_eq!(fault_kind("skew n3 -2000ms at 6s"), Some("skew"));
        assert_eq!(fault_kind("heal at 4s"), None);
        assert_eq!(separating_kinds(&faults, &[2, 5]), ["strobe"]);
        let condition = rw_condition("random-nemesis", &[2, 5], Some(&faults));
        assert_eq!(
            condition,
            "clocks agree (random-nemesis: the violating seeds 2,5 are exactly those with a clock strobe)"
        );
        assert_eq!(separating_kinds(&faults, &[1, 2]), ["partition"]);
        assert!(separating_kinds(&faults, &[2, 3]).is_empty(), "seeds 2 and 3 share no fault kind");
        let condition = rw_condition("random-nemesis", &[2, 3], Some(&faults));
        assert!(
            condition.starts_with("none of the faults of random-nemesis occur")
                && condition.contains("not attributable")
        );
        assert_eq!(separating_kinds(&faults, &[1]), ["crash"]);
        let condition = rw_condition("random-nemesis", &[1], Some(&faults));
        assert!(
            condition.starts_with("no crash strikes (random-nemesis: the violating seed 1 is the one with a crash)")
        );
        assert!(separating_kinds(&faults, &[1, 2, 3, 5]).is_empty(), "no clean seed to compare with");
    }
}
