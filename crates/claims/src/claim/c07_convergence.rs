//! Claim 7: eventually consistent replicas converge, and how fast after a heal. Judged on the
//! replicated rows of every fault experiment: how many seeds never converged, the slowest
//! convergence, and whether anti-entropy ran.

use crate::evidence::Evidence;
use crate::ledger::{seeds, Claim, Verdict};
use crate::registry::Registered;
use crate::select;
use crate::{command, SEED_SOURCE};
use runner::run::table::Row;

use super::fault_experiments::{
    all_fault_commands, completed, experiments, injected, missing, CAVEATS, FAULT_EXPERIMENTS, REQUIRED_FOR_CONSISTENCY,
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
    let c = gather(&mut claim, evidence);
    if !c.any {
        return claim.judged(
            Verdict::missing(format!("no replicated system's results: run `lab run {}`", all_fault_commands())),
            "convergence needs the fault experiments",
        );
    }
    decide(claim, &c)
}

/// What the fault experiments say of the replicated systems' convergence, for the verdict.
#[derive(Default)]
struct Converged {
    /// Whether any experiment had a replicated system that completed a seed.
    any: bool,
    /// The slowest convergence of the systems that converged on every seed, and where.
    slowest: Option<(u64, String)>,
    /// Per experiment where some system never converged: `EXPERIMENT: SYSTEM N of M seeds, ..`.
    never: Vec<String>,
    /// Those experiments' names.
    never_experiments: Vec<String>,
    /// The experiments where every system converged on every seed.
    converged_everywhere: Vec<String>,
    /// Configurations that run anti-entropy.
    anti_entropy: Vec<String>,
    /// How many configurations said whether they run anti-entropy.
    configs_seen: usize,
}

/// One evidence line per fault experiment with replicated systems (their slowest convergence,
/// or on how many seeds they never converged) and their figures.
fn gather(claim: &mut Claim, evidence: &Evidence) -> Converged {
    let mut c = Converged::default();
    for experiment in experiments(evidence) {
        let rows: Vec<&Row> = experiment.rows.iter().filter(|r| completed(r) && r.replicated).collect();
        if rows.is_empty() {
            continue;
        }
        c.any = true;
        let mut parts = Vec::new();
        let mut here_never = Vec::new();
        for row in &rows {
            let ran = row.seeds - row.errors;
            let key = format!("{}/{}", experiment.name, row.system);
            claim.figure(format!("{key}/convergence_never"), row.convergence_never as f64);
            if let Some(ms) = row.convergence_ms_max {
                claim.figure(format!("{key}/convergence_ms_max"), ms as f64);
                // The slowest of the systems that converged on every seed.
                if row.convergence_never == 0 && c.slowest.as_ref().is_none_or(|(worst, _)| ms > *worst) {
                    c.slowest = Some((ms, format!("{} in {}", row.system, experiment.name)));
                }
            }
            if row.convergence_never > 0 {
                here_never.push(format!("{} {} of {ran} seeds", row.system, row.convergence_never));
            }
            if let Some(runs) = experiment.properties(&row.system).and_then(select::anti_entropy) {
                c.configs_seen += 1;
                if runs {
                    let description = experiment.config(&row.system).unwrap_or("anti-entropy on");
                    c.anti_entropy.push(format!("{key}: {description}"));
                }
            }
            parts.push(convergence_text(row));
        }
        claim.line(format!(
            "{} ({}), slowest convergence after the last heal or write over {}: {}",
            experiment.name,
            injected(&experiment.name),
            seeds(&experiment.seeds),
            parts.join("; ")
        ));
        if here_never.is_empty() {
            c.converged_everywhere.push(experiment.name.clone());
        } else {
            c.never_experiments.push(experiment.name.clone());
            c.never.push(format!("{}: {}", experiment.name, here_never.join(", ")));
        }
    }
    c
}

/// A row's convergence in words: its slowest, or on how many seeds it converged.
fn convergence_text(row: &Row) -> String {
    let ran = row.seeds - row.errors;
    let converged = ran.saturating_sub(row.convergence_never);
    match (row.convergence_ms_max, row.convergence_never) {
        (_, 0) if converged == 0 => format!("{} -", row.system),
        (Some(ms), 0) => format!("{} <= {ms} ms", row.system),
        (None, 0) => format!("{} -", row.system),
        (Some(ms), _) if converged > 0 => {
            format!("{} converged on {converged} of {ran} seeds (slowest {ms} ms), never on the others", row.system)
        }
        _ => format!("{} never converged ({ran} seeds)", row.system),
    }
}

/// The verdict from what [`gather`] found: holds when every system converged everywhere, else
/// holds only when no fault leaves replicas apart with nothing to repair them.
fn decide(mut claim: Claim, c: &Converged) -> Claim {
    // The repair mechanisms tested: read repair only, unless some configuration runs anti-entropy.
    let setup = if !c.anti_entropy.is_empty() {
        format!("anti-entropy ran in {}", c.anti_entropy.join("; "))
    } else if c.configs_seen > 0 {
        "anti-entropy is off in every configuration tested, so this is about read repair alone".to_owned()
    } else {
        "anti-entropy is off in every configuration tested (experiments/*.toml enable none), so this is about read \
         repair alone"
            .to_owned()
    };
    let slowest_text = c
        .slowest
        .as_ref()
        .map_or_else(|| "no seed converged".to_owned(), |(ms, what)| format!("the slowest took {ms} ms ({what})"));
    if let Some((ms, _)) = &c.slowest {
        claim.figure("slowest_convergence_ms", *ms as f64);
    }
    if c.never.is_empty() {
        return claim.judged(
            Verdict::Holds,
            format!(
                "every replicated system converged on every seed of every experiment; {slowest_text} after the last \
                 heal or write; {setup}"
            ),
        );
    }
    let everywhere =
        if c.converged_everywhere.is_empty() { "none".to_owned() } else { c.converged_everywhere.join(", ") };
    claim
        .judged(
            Verdict::only_when(format!(
            "no fault leaves replicas holding different data that nothing repairs (read repair fixes only keys read \
             again; {setup}): replicas still differed at the end after {} ({}); they converged on every seed in \
             {everywhere}",
            c.never_experiments.iter().map(|e| format!("{e} ({})", injected(e))).collect::<Vec<_>>().join(", "),
            c.never.join("; ")
        )),
            format!(
            "replicas converged after every other fault; of the systems that converged on every seed, {slowest_text} \
             after the last heal or write; {setup}"
        ),
        )
        .gist(format!(
            "no fault leaves replicas apart with nothing to repair them (no anti-entropy here; apart after {})",
            c.never_experiments.join(", ")
        ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The judgment with the standard registration's thresholds.
    fn convergence(evidence: &Evidence) -> Claim {
        super::convergence(evidence, &crate::registry::standard().claim(7))
    }
    use crate::testing::{complete, evidence, row};

    #[test]
    fn convergence_names_where_replicas_never_agreed() {
        let mut healthy = row("quorum-one");
        healthy.replicated = true;
        healthy.convergence_ms_max = Some(21);
        let mut diverged = healthy.clone();
        diverged.convergence_ms_max = Some(2003);
        diverged.convergence_never = 1;
        let e = complete(evidence(&[("crash-restart", vec![healthy.clone()]), ("power-loss", vec![diverged])]));
        let claim = convergence(&e);
        let Verdict::HoldsOnlyWhen { condition } = &claim.verdict else { panic!("{claim:?}") };
        assert!(condition.contains("power-loss") && condition.contains("in crash-restart"), "{condition}");
        assert_eq!(claim.figures["slowest_convergence_ms"], 21.0, "of the systems that converged on every seed");
        assert!(
            claim
                .evidence
                .iter()
                .any(|l| l.contains("quorum-one converged on 1 of 2 seeds (slowest 2003 ms), never on the others")),
            "{:?}",
            claim.evidence
        );
        assert!(claim.reasoning.contains("anti-entropy is off in every configuration tested"), "{}", claim.reasoning);
        assert_eq!(
            convergence(&complete(evidence(&[("crash-restart", vec![healthy.clone()])]))).verdict,
            Verdict::Holds
        );
        assert!(matches!(convergence(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
        let without_power_loss = evidence(&[
            ("isolate-one-node", vec![]),
            ("partition-halves", vec![]),
            ("crash-restart", vec![healthy.clone()]),
        ]);
        let Verdict::NotMeasured { run } = convergence(&without_power_loss).verdict else { panic!() };
        assert!(run.contains("no results of power-loss"), "{run}");
    }
}
