//! Claim 9: last-write-wins is safe under clock skew. Judged on the clock-skew experiment: the
//! last-write-wins systems ([`crate::select::last_write_wins`]) beside the clock-free ones.

use crate::evidence::{Evidence, Experiment};
use crate::ledger::{seeds, Claim, Verdict};
use crate::registry::Registered;
use crate::select;
use crate::{command, no_results};

use super::fault_experiments::{check_line, completed, lost_line, violated_line, CLOCK_SKEW};

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
    let k = gather(&mut claim, experiment);
    if !k.lww_measured {
        return claim.judged(
            Verdict::missing(format!("no LWW system in {CLOCK_SKEW}: run `{}`", command(CLOCK_SKEW))),
            "LWW under clock skew needs the LWW systems",
        );
    }
    decide(claim, &k)
}

/// What the clock-skew experiment says of the last-write-wins systems, for the verdict.
#[derive(Default)]
struct Skewed {
    /// The acknowledged writes they lost, in total.
    lww_lost: u64,
    /// Whether any last-write-wins system completed a seed.
    lww_measured: bool,
    /// (system, lost, R + W > N if the configuration says)
    losers: Vec<(String, u64, Option<bool>)>,
    /// Their violations in words (`SYSTEM on seeds ..`).
    lww_violated: Vec<String>,
}

/// One evidence line and two figures per last-write-wins system of `experiment`, then per
/// clock-free one (replicated first).
fn gather(claim: &mut Claim, experiment: &Experiment) -> Skewed {
    let mut k = Skewed::default();
    let lww = experiment.rows_where(select::last_write_wins);
    let clock_free = select::replicated_first(experiment, experiment.rows_where(select::clock_free));
    for row in lww.iter().chain(clock_free.iter()).copied().filter(|r| completed(r)) {
        let system = &row.system;
        let properties = experiment.properties(system);
        let lost = row.lost_writes.unwrap_or(0);
        claim.figure(format!("{CLOCK_SKEW}/{system}/lost_writes"), lost as f64);
        claim.figure(format!("{CLOCK_SKEW}/{system}/violating_seeds"), row.violating_seeds.len() as f64);
        claim.line(format!(
            "{CLOCK_SKEW} (one clock 2 s behind), {system}: {}, {}, {} stale reads ({}, {})",
            lost_line(row),
            check_line(row),
            row.stale_reads.unwrap_or(0),
            seeds(&experiment.seeds),
            violated_line(row)
        ));
        if properties.is_some_and(select::last_write_wins) {
            k.lww_measured = true;
            k.lww_lost += lost;
            if lost > 0 {
                k.losers.push((system.to_string(), lost, properties.and_then(select::overlapping)));
            }
            if !row.violating_seeds.is_empty() {
                k.lww_violated.push(format!("{system} on {}", seeds(&row.violating_seeds)));
            }
        }
    }
    k
}

/// The verdict: refuted by a lost acknowledged write, holds only when durability alone is asked
/// if reads were stale or not linearizable, holds otherwise.
fn decide(mut claim: Claim, k: &Skewed) -> Claim {
    let lww_lost = k.lww_lost;
    claim.figure("lww_lost_writes", k.lww_lost as f64);
    if k.lww_lost > 0 {
        let lost: Vec<String> = k.losers.iter().map(|(system, lost, _)| format!("{system} {lost}")).collect();
        let strict: Vec<&str> =
            k.losers.iter().filter(|(_, _, strict)| *strict == Some(true)).map(|(s, _, _)| s.as_str()).collect();
        let quorums = match strict.as_slice() {
            [] => String::new(),
            [one] => format!(": {one} has R + W > N, which does not help when the order itself is wrong"),
            many => {
                format!(": {} have R + W > N, which does not help when the order itself is wrong", many.join(" and "))
            }
        };
        return claim.judged(
            Verdict::Refuted,
            format!(
                "with one clock 2 s behind, last-write-wins lost {lww_lost} acknowledged writes ({}; violations: \
                 {}){quorums}",
                lost.join(", "),
                k.lww_violated.join(", ")
            ),
        );
    }
    if !k.lww_violated.is_empty() {
        return claim
            .judged(
                Verdict::only_when(format!(
                "only durability is asked: no acknowledged write was lost, but reads were stale or not linearizable \
                 ({})",
                k.lww_violated.join(", ")
            )),
                "LWW kept every acknowledged write in these seeds, yet clock skew reordered reads",
            )
            .gist("only durability is asked (reads were stale or not linearizable)");
    }
    claim.judged(Verdict::Holds, "LWW lost no acknowledged write and stayed linearizable with one clock 2 s behind")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The judgment with the standard registration's thresholds.
    fn last_write_wins(evidence: &Evidence) -> Claim {
        super::last_write_wins(evidence, &crate::registry::standard().claim(9))
    }
    use crate::testing::{evidence, row};

    #[test]
    fn lww_is_refuted_by_lost_writes() {
        let mut lww = row("quorum-quorum");
        lww.lost_writes = Some(3);
        lww.violating_seeds = vec![1];
        let mut abd = row("quorum-abd");
        abd.lost_writes = Some(0);
        let claim = last_write_wins(&evidence(&[(CLOCK_SKEW, vec![lww.clone(), abd.clone()])]));
        assert_eq!(claim.verdict, Verdict::Refuted);
        assert!(claim.reasoning.contains("lost 3 acknowledged writes (quorum-quorum 3;"), "{}", claim.reasoning);
        assert!(!claim.reasoning.contains("ONE") && !claim.reasoning.contains("ALL"), "{}", claim.reasoning);
        assert_eq!(claim.figures["lww_lost_writes"], 3.0);
        let mut stale_only = lww.clone();
        stale_only.lost_writes = Some(0);
        let claim = last_write_wins(&evidence(&[(CLOCK_SKEW, vec![stale_only, abd.clone()])]));
        assert!(matches!(claim.verdict, Verdict::HoldsOnlyWhen { .. }));
        let mut clean = lww;
        clean.lost_writes = Some(0);
        clean.violating_seeds.clear();
        assert_eq!(last_write_wins(&evidence(&[(CLOCK_SKEW, vec![clean])])).verdict, Verdict::Holds);
        assert!(matches!(last_write_wins(&evidence(&[(CLOCK_SKEW, vec![abd])])).verdict, Verdict::NotMeasured { .. }));
        assert!(matches!(last_write_wins(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
    }
}
