//! Claim 8: R + W > N makes reads see the latest write. Judged on the caveats experiment
//! (strict quorums with blocking read repair, then without read repair, then sloppy) and on
//! the strict configuration in every fault experiment; a violation outside the ordinary faults
//! is attributed to the fault kind that separates the violating seeds from the clean ones. The
//! staleness sweep adds R + W <= N for contrast (evidence, not the verdict).

use std::collections::BTreeMap;

use experiment::properties::Properties;

use crate::command;
use crate::evidence::{Evidence, StalenessPoint};
use crate::ledger::{percent, seed_list, seeds, Claim, Verdict};
use crate::registry::Registered;
use crate::select;
use crate::stats::Estimate;

use super::fault_experiments::{
    consistent, experiments, outcome, outcome_verdict, seed_faults, separating_kinds, tallies, tally_line, violation,
    Condition, Explained, Tally, CAVEATS, FAULT_EXPERIMENTS,
};

/// What claim 8 asks for when no system has it.
pub const STRICT_DESCRIBED: &str = "a last-write-wins system with R + W > N, blocking read repair and strict quorums";

/// The experiments whose faults are ordinary (one server cut off, the servers split, one
/// server down): a violation of the strict configuration there refutes claim 8 outright.
pub const ORDINARY_FAULTS: [&str; 3] = ["isolate-one-node", "partition-halves", "crash-restart"];

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

/// The fault kinds that a violation on `violated` seeds of `experiment` (not an ordinary fault)
/// is attributed to, as a condition: `(gist, contrast)`, when some kind occurs in every
/// violating seed and in no clean one (`faults`: the seeds' recorded faults); `None` otherwise.
fn kind_condition(experiment: &str, violated: &[u64], faults: &BTreeMap<u64, Vec<String>>) -> Option<(String, String)> {
    let kinds = separating_kinds(faults, violated);
    if kinds.is_empty() {
        return None;
    }
    let these = if violated.len() == 1 {
        format!("the violating seed {} is the one", seed_list(violated))
    } else {
        format!("the violating seeds {} are exactly those", seed_list(violated))
    };
    let words: Vec<String> = kinds.iter().map(|k| fault_words(k)).collect();
    let with = format!("{experiment}: {these} with {}", words.join(", and with "));
    if kinds.iter().all(|k| k == "strobe" || k == "skew") {
        Some(("clocks agree".to_owned(), with))
    } else {
        let bare: Vec<&str> = words.iter().map(|w| w.trim_start_matches("a ").trim_start_matches("an ")).collect();
        Some((format!("no {} strikes", bare.join(" or ")), with))
    }
}

/// Claim 8's own contrast for a violation `t` outside the caveats and the ordinary faults: the
/// fault kind that separates its violating seeds from its clean ones, when every seed of it
/// was decided (an unknown seed could be either).
fn attribute(t: &Tally) -> Option<Explained> {
    let ordinary = ORDINARY_FAULTS.contains(&t.experiment.name.as_str()) || t.experiment.name == CAVEATS;
    if ordinary || t.counted.unknown() > 0 {
        return None;
    }
    let faults = seed_faults(t.experiment, t.system)?;
    let (gist, with) = kind_condition(&t.experiment.name, &t.counted.violating, &faults)?;
    let clean: Vec<u64> = t.counted.judged.iter().copied().filter(|s| !t.counted.violating.contains(s)).collect();
    let contrast = format!(
        "{} violated on {} of {} judged ({with}; clean on {})",
        t.system,
        seeds(&t.counted.violating),
        t.counted.judged.len(),
        seeds(&clean)
    );
    Some(Explained { gist, contrast })
}

/// The conditions claim 8 can name, each from a contrast of R + W > N systems in one experiment.
pub const CONDITIONS: [Condition; 4] = [
    Condition {
        words: "reads write back what they return before answering (blocking read repair)",
        having: "blocking read repair",
        lacking: "no read repair",
        has: writes_back,
        property: "read repair",
    },
    Condition {
        words: "quorums are strict (no fallback node's hint counts toward W)",
        having: "strict quorums",
        lacking: "sloppy quorums",
        has: strict,
        property: "sloppy quorums",
    },
    Condition {
        words: "no replica loses writes it acknowledged (each write synced before the ack)",
        having: "synced before the ack",
        lacking: "acknowledged before the sync",
        has: synced,
        property: "durability",
    },
    Condition {
        words: "the order of writes depends on no clock",
        having: "clock-free ordering",
        lacking: "last-write-wins",
        has: select::clock_free,
        property: "ordering",
    },
];

fn writes_back(p: &Properties) -> bool {
    p.quorums.as_ref().is_some_and(|q| q.read_writes_back)
}

fn strict(p: &Properties) -> bool {
    p.quorums.as_ref().is_some_and(|q| !q.sloppy)
}

fn synced(p: &Properties) -> bool {
    p.durability.synced_before_ack()
}

/// What claim 8 counts on every seed.
pub const PROPERTY: &str = "linearizable, no stale read, no lost acknowledged write";

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
    let all: Vec<Tally> = experiments(evidence)
        .into_iter()
        .flat_map(|e| tallies(e, |p| select::overlapping(p) == Some(true), consistent))
        .collect();
    for t in &all {
        let how = if select::strict_overlapping(t.properties) { "strict" } else { &variant(t.properties) };
        claim.line(tally_line(t, how, PROPERTY));
        t.figures(&mut claim);
    }
    staleness_contrast(&mut claim, evidence, registered.value("fresh"));
    let Some(strict_name) = all.iter().find(|t| select::strict_overlapping(t.properties)).map(|t| t.system) else {
        return claim.judged(
            Verdict::missing(format!("no results of {STRICT_DESCRIBED}: run `{}`", command(CAVEATS))),
            "R + W > N needs a QUORUM configuration under faults",
        );
    };
    let refuting: Vec<String> = all.iter().filter(|t| refutes(t)).map(violation).collect();
    if !refuting.is_empty() {
        return claim.judged(
            Verdict::Refuted,
            format!(
                "{strict_name}, with blocking read repair and strict quorums, violated under an ordinary fault or \
                 the caveats' partitions: {}: R + W > N did not make reads see the latest write even with the \
                 write-back (a violation on a decided seed refutes, whatever other seeds leave unknown)",
                refuting.join("; ")
            ),
        );
    }
    let min = registered.value("min_clean_seeds") as usize;
    let (verdict, reasoning, gist) = outcome_verdict(&outcome(&all, &CONDITIONS, min, attribute), PROPERTY, min);
    let reasoning = format!("{reasoning}; {}", caveats_exercised(&all));
    claim.judged(verdict, reasoning).gist(gist)
}

/// A strict configuration's violation that needed nothing unusual: under the caveats'
/// partitions or an ordinary fault.
fn refutes(t: &Tally) -> bool {
    let name = t.experiment.name.as_str();
    t.violated() && select::strict_overlapping(t.properties) && (name == CAVEATS || ORDINARY_FAULTS.contains(&name))
}

/// How an R + W > N system differs from the strict configuration, in words (a system lacking
/// none of [`CONDITIONS`] is clock-free, and said so).
fn variant(p: &Properties) -> String {
    let differs: Vec<&str> = CONDITIONS.iter().filter(|c| !(c.has)(p)).map(|c| c.lacking).collect();
    if differs.is_empty() {
        CONDITIONS.iter().map(|c| c.having).collect::<Vec<_>>().join(", ")
    } else {
        differs.join(", ")
    }
}

/// Whether the caveats experiment ran the variants without read repair and with sloppy quorums.
fn caveats_exercised(all: &[Tally]) -> String {
    let caveats: Vec<&Tally> = all.iter().filter(|t| t.experiment.name == CAVEATS).collect();
    if caveats.is_empty() {
        return format!("the read-repair and sloppy-quorum caveats are not exercised: run `{}`", command(CAVEATS));
    }
    let mut parts = Vec::new();
    for condition in &CONDITIONS[..2] {
        let lacking: Vec<&Tally> = caveats.iter().copied().filter(|t| !(condition.has)(t.properties)).collect();
        let text = match lacking.as_slice() {
            [] => format!("no system with {} ran in {CAVEATS} (caveat not exercised)", condition.lacking),
            some if some.iter().all(|t| !t.violated()) => {
                format!("{} did not violate in these seeds (caveat not observed)", names(some))
            }
            some => format!("{} ({}) violated in {CAVEATS}", names(some), condition.lacking),
        };
        parts.push(text);
    }
    parts.join("; ")
}

fn names(tallies: &[&Tally]) -> String {
    tallies.iter().map(|t| t.system).collect::<Vec<_>>().join(", ")
}

/// A staleness share as an estimate over the experiment's seed (one seed: no spread, no interval).
fn share(seed: Option<u64>, measured: f64) -> String {
    match seed.and_then(|s| Estimate::from_pairs([(s, measured)])) {
        Some(e) => e.text_with(percent),
        None => format!("{} (seed unknown)", percent(measured)),
    }
}

/// The staleness experiment's contrast for claim 8 (evidence only, not the verdict): with
/// R + W <= N, how often a read right after the acknowledgement returned the write, and how
/// long until nearly every read did.
fn staleness_contrast(claim: &mut Claim, evidence: &Evidence, fresh_share: f64) {
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
        let fresh = points.iter().find(|p| p.measured >= fresh_share);
        let until = fresh.map_or_else(
            || format!("never {} within {} ms", percent(fresh_share), points.last().map_or(0.0, |p| p.wait_ms)),
            |p| format!("{} from {} ms on", percent(p.measured), p.wait_ms),
        );
        claim.figure(format!("staleness/{profile}/{n}-{r}-{w}/fresh_at_0"), first.measured);
        claim.line(format!(
            "staleness ({seed}, {} trials per point), {profile} delays, N={n} R={r} W={w} (R + W <= N, for \
             contrast): a read {} ms after the acknowledgement returned the write in {}; {until}",
            first.trials,
            first.wait_ms,
            share(staleness.seed, first.measured)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::super::fault_experiments::{fault_kind, CLOCK_SKEW, POWER_LOSS};
    use super::*;
    use crate::testing::{evidence, from_records, row, runs, BATCH, NO_REPAIR, PERIODIC, SLOPPY, STRICT};
    use runner::run::record::{Check, SeedRecord};

    /// The judgment with the standard registration's thresholds.
    fn strict_quorums(evidence: &Evidence) -> Claim {
        super::strict_quorums(evidence, &crate::registry::standard().claim(8))
    }

    fn clean(system: &str) -> Vec<SeedRecord> {
        runs(system, 5, |_, _| {})
    }

    fn stale_on(bad: &'static [u64]) -> impl Fn(u64, &mut SeedRecord) {
        move |seed, r| {
            if bad.contains(&seed) {
                r.check = Check::NotLinearizable;
                r.stale_reads = Some(1);
            }
        }
    }

    fn caveats(no_repair: &'static [u64], sloppy: &'static [u64]) -> Vec<SeedRecord> {
        let mut records = clean(STRICT);
        records.extend(runs(NO_REPAIR, 5, stale_on(no_repair)));
        records.extend(runs(SLOPPY, 5, stale_on(sloppy)));
        records
    }

    #[test]
    fn strict_quorums_hold_only_with_write_back_and_strict_quorums() {
        let claim = strict_quorums(&from_records(&[(CAVEATS, caveats(&[2], &[1, 2]))]));
        let Verdict::HoldsOnlyWhen { condition } = &claim.verdict else { panic!("{claim:?}") };
        assert!(
            condition.starts_with(
                "reads write back what they return before answering (blocking read repair) (linearizable, no stale \
                 read, no lost acknowledged write: quorum-quorum-no-repair (no read repair) violated in \
                 quorum-caveats on seed 2 of 5 judged, while quorum-quorum on seeds 1-5 (blocking read repair) kept \
                 it there)"
            ),
            "{condition}"
        );
        assert_eq!(
            claim.evidence[1],
            "quorum-caveats (random partitions of 5 nodes), quorum-quorum-no-repair (no read repair, \
             last-write-wins): linearizable, no stale read, no lost acknowledged write violated on seed 2 of 5"
        );
        assert!(condition.contains("; and quorums are strict"), "{condition}");
        assert_eq!(claim.gist, "reads write back what they return before answering (blocking read repair), quorums are strict (no fallback node's hint counts toward W)");
    }

    #[test]
    fn strict_quorums_hold_when_clean_and_the_staleness_contrast_is_evidence() {
        let mut e = from_records(&[(CAVEATS, caveats(&[], &[]))]);
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
        assert_eq!(claim.verdict, Verdict::Holds, "the contrast is evidence, not a verdict: {claim:?}");
        assert!(
            claim.reasoning.contains("did not violate in these seeds (caveat not observed)"),
            "{}",
            claim.reasoning
        );
        let line = claim.evidence.iter().find(|l| l.starts_with("staleness")).expect("contrast");
        assert!(
            line.contains("N=3 R=1 W=1") && line.contains("in 40.0 % (seed 1, no spread); 99.950 % from 5 ms on"),
            "{line}"
        );
        assert_eq!(claim.figures["staleness/exp-1ms/3-1-1/fresh_at_0"], 0.4);
    }

    #[test]
    fn a_strict_violation_under_ordinary_faults_or_without_contrast_refutes() {
        for ordinary in ORDINARY_FAULTS.into_iter().chain([CAVEATS]) {
            let e = from_records(&[(ordinary, runs(STRICT, 5, stale_on(&[3])))]);
            let claim = strict_quorums(&e);
            assert_eq!(claim.verdict, Verdict::Refuted, "{ordinary}");
            assert!(
                claim.reasoning.contains(&format!("quorum-quorum in {ordinary} on seed 3 of 5 judged")),
                "{}",
                claim.reasoning
            );
        }
        // Clock skew with nothing clock-free beside it: no contrast, and every seed had the skew.
        let e = from_records(&[(CAVEATS, caveats(&[], &[])), (CLOCK_SKEW, runs(STRICT, 5, stale_on(&[1])))]);
        assert_eq!(strict_quorums(&e).verdict, Verdict::Refuted);
    }

    #[test]
    fn violations_elsewhere_hold_only_when_a_property_or_a_fault_kind_separates_them() {
        // Clock skew beside ABD: the order of writes depends on no clock.
        let mut skew = runs(STRICT, 5, stale_on(&[1]));
        skew.extend(clean("quorum-abd"));
        // Power loss: the periodic commit log beside the batch one.
        let mut power = runs(PERIODIC, 5, |_, r| r.lost_writes = Some(4));
        power.extend(clean(BATCH));
        // The nemesis: only the seeds with a clock strobe violated.
        let nemesis = runs(STRICT, 5, |seed, r| {
            r.faults = if seed % 2 == 0 {
                vec!["strobe n1 ±700ms every 50ms at 3s".into(), "skew n1 +0ms at 6s".into()]
            } else {
                vec!["partition [n1] | [n2] at 3s".into(), "heal at 5s".into()]
            };
            if seed % 2 == 0 {
                r.stale_reads = Some(2);
            }
        });
        let e = from_records(&[
            (CAVEATS, caveats(&[], &[])),
            (CLOCK_SKEW, skew),
            (POWER_LOSS, power),
            ("random-nemesis", nemesis),
        ]);
        let claim = strict_quorums(&e);
        let Verdict::HoldsOnlyWhen { condition } = &claim.verdict else { panic!("{claim:?}") };
        assert!(
            condition.contains("no replica loses writes it acknowledged (each write synced before the ack) ("),
            "{condition}"
        );
        assert!(condition.contains("quorum-quorum (last-write-wins) violated in clock-skew-lww on seed 1 of 5 judged, while quorum-abd on seeds 1-5 (clock-free ordering) kept it there"), "{condition}");
        assert!(condition.contains("clocks agree (linearizable, no stale read, no lost acknowledged write: quorum-quorum violated on seeds 2,4 of 5 judged (random-nemesis: the violating seeds 2,4 are exactly those with a clock strobe; clean on seeds 1,3,5))"), "{condition}");
        // An unknown seed in the nemesis: the kind cannot be attributed, and nothing else explains it.
        let mut e = e;
        let nemesis = e.experiments.get_mut("random-nemesis").expect("nemesis");
        nemesis.records[0].check = Check::Unknown;
        assert_eq!(strict_quorums(&e).verdict, Verdict::Refuted);
    }

    #[test]
    fn unknown_seeds_are_inconclusive() {
        let mut records = caveats(&[], &[]);
        records[1].unjudged_keys = 1;
        let Verdict::Inconclusive { why } = strict_quorums(&from_records(&[(CAVEATS, records)])).verdict else {
            panic!()
        };
        assert!(why.contains("quorum-quorum in quorum-caveats: 1 key(s) without a final read (seed 2)"), "{why}");
        let rows_only = evidence(&[(CAVEATS, vec![row(STRICT)])]);
        assert!(matches!(strict_quorums(&rows_only).verdict, Verdict::Inconclusive { .. }));
        assert!(matches!(strict_quorums(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
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
        let (gist, with) = kind_condition("random-nemesis", &[2, 5], &faults).expect("a strobe separates");
        assert_eq!(gist, "clocks agree");
        assert_eq!(with, "random-nemesis: the violating seeds 2,5 are exactly those with a clock strobe");
        assert_eq!(separating_kinds(&faults, &[1, 2]), ["partition"]);
        assert!(separating_kinds(&faults, &[2, 3]).is_empty(), "seeds 2 and 3 share no fault kind");
        assert_eq!(kind_condition("random-nemesis", &[2, 3], &faults), None);
        let (gist, with) = kind_condition("random-nemesis", &[1], &faults).expect("a crash separates");
        assert_eq!(
            (gist.as_str(), with.as_str()),
            ("no crash strikes", "random-nemesis: the violating seed 1 is the one with a crash")
        );
        assert!(separating_kinds(&faults, &[1, 2, 3, 5]).is_empty(), "no clean seed to compare with");
    }
}
