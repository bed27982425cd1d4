//! Claim 5: NoSQL stays available under failures; SQL needs complex setups. Judged on the
//! share of operations invoked during faults that ended `ok`, one system per availability
//! class in each fault experiment ([`crate::select::availability_representatives`]).

use crate::registry::Registered;
use crate::evidence::Evidence;
use crate::ledger::{percent, seeds, Claim, Verdict};
use crate::select;
use crate::{command, SEED_SOURCE};
use runner::run::table::Row;

use super::fault_experiments::{all_fault_commands, completed, injected, missing, FAULT_EXPERIMENTS};

/// "Available" under faults: at least this share of the operations invoked during a fault
/// ended `ok`. Operations in flight when a fault begins time out even on a system that stays
/// available (a few percent), while a system serving one side of a partition only answers
/// about half: 95 % separates the two.
pub const AVAILABLE: f64 = 0.95;

/// The experiments claim 5 cannot be judged without: one server cut off, the servers split,
/// one server down (the others add to the evidence when present).
pub const REQUIRED_FOR_AVAILABILITY: [&str; 3] = ["isolate-one-node", "partition-halves", "crash-restart"];

/// Claim 5: NoSQL stays available under failures; SQL needs complex setups.
/// The thresholds this judgment reads from the registration (`experiments/claims/registered.toml`).
pub const THRESHOLDS: &[&str] = &["available"];

/// Claim 5, judged on `evidence` with the registered thresholds `registered`.
pub fn availability(evidence: &Evidence, registered: &Registered) -> Claim {
    let mut claim = Claim::new(
        5,
        "NoSQL stays available under failures",
        "High availability in SQL databases often requires complex setups like master-slave replication or \
         clustering [...] Most NoSQL databases are designed to be highly available and fault-tolerant, often with \
         eventual consistency ensuring that the system remains available even under heavy load.",
        SEED_SOURCE,
    );
    for name in FAULT_EXPERIMENTS {
        claim = claim.tested_by(name, &command(name));
    }
    if let Some(verdict) = missing(evidence, &REQUIRED_FOR_AVAILABILITY) {
        return claim.judged(verdict, "availability during faults needs at least the single-fault experiments");
    }
    let cells = measure(&mut claim, evidence);
    if cells.is_empty() {
        return claim.judged(
            Verdict::missing(format!("no fault experiment's results: run `lab run {}`", all_fault_commands())),
            "availability during faults needs the fault experiments",
        );
    }
    decide(claim, &cells)
}

/// One system's availability in one experiment: (experiment, system, share of the operations
/// invoked during faults that ended ok, replicated).
type Cell = (String, String, f64, bool);

/// Whether `share` of the operations invoked during faults ended ok counts as available.
fn available(share: f64) -> bool {
    share >= AVAILABLE
}

/// The availability of each system [`select::availability_representatives`] picks in each fault
/// experiment: one evidence line per experiment and one figure per system.
fn measure(claim: &mut Claim, evidence: &Evidence) -> Vec<Cell> {
    let mut cells: Vec<Cell> = Vec::new();
    for experiment in FAULT_EXPERIMENTS.iter().filter_map(|name| evidence.experiments.get(*name)) {
        let measured = select::availability_representatives(experiment);
        let rows: Vec<&Row> = experiment
            .rows
            .iter()
            .filter(|r| completed(r) && r.availability_faulty.is_some() && measured.contains(&r.system))
            .collect();
        if rows.is_empty() {
            continue;
        }
        let parts: Vec<String> =
            rows.iter().map(|r| format!("{} {}", r.system, percent(r.availability_faulty.unwrap_or(0.0)))).collect();
        claim.line(format!(
            "{} ({}), ok share of operations invoked during faults over {}: {}",
            experiment.name,
            injected(&experiment.name),
            seeds(&experiment.seeds),
            parts.join(", ")
        ));
        for r in rows {
            let share = r.availability_faulty.unwrap_or(0.0);
            claim.figure(format!("{}/{}/availability_faulty", experiment.name, r.system), share);
            cells.push((experiment.name.clone(), r.system.clone(), share, r.replicated));
        }
    }
    cells
}

/// How the share is measured, with the partition-halves example when it was run.
fn how_measured(cells: &[Cell]) -> String {
    let halves = cells
        .iter()
        .find(|c| c.0 == "partition-halves" && !c.3)
        .map(|(_, system, share, _)| {
            format!(" ({system} in partition-halves: {} while half its clients had no server)", percent(*share))
        })
        .unwrap_or_default();
    format!(
        "availability is the share of operations invoked during faults that ended ok; a client waits 100 ms after a \
         failure or timeout before its next operation (10 ms otherwise), so a fault cutting off half the clients \
         scores above half{halves}; the SQL side tested is one SQLite server, not a replicated or clustered SQL setup"
    )
}

/// Each system in words: available under every fault, or where it was below the threshold;
/// (the replicated systems, the single-server ones), in order of appearance.
fn summaries(cells: &[Cell]) -> (Vec<String>, Vec<String>) {
    let mut systems: Vec<(String, bool)> = Vec::new();
    for (_, system, _, replicated) in cells {
        if !systems.iter().any(|(s, _)| s == system) {
            systems.push((system.clone(), *replicated));
        }
    }
    let summary = |system: &str| {
        let no: Vec<String> = cells
            .iter()
            .filter(|c| c.1 == system && !available(c.2))
            .map(|c| format!("{} {}", c.0, percent(c.2)))
            .collect();
        if no.is_empty() {
            format!("{system} available under every fault")
        } else {
            format!("{system} below {} ok in {}", percent(AVAILABLE), no.join(", "))
        }
    };
    let replicated: Vec<String> = systems.iter().filter(|(_, r)| *r).map(|(s, _)| summary(s)).collect();
    let single: Vec<String> = systems.iter().filter(|(_, r)| !*r).map(|(s, _)| summary(s)).collect();
    (replicated, single)
}

/// The wins (a replicated system available where no single-server one was) grouped by
/// experiment, in order of appearance.
fn wins_by_experiment(wins: &[&Cell]) -> Vec<String> {
    let mut example: Vec<String> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (e, _, _, _) in wins {
        if seen.contains(&e.as_str()) {
            continue;
        }
        seen.push(e);
        let here: Vec<String> =
            wins.iter().filter(|w| &w.0 == e).map(|(_, s, share, _)| format!("{s} {}", percent(*share))).collect();
        example.push(format!("{e}: {}", here.join(", ")));
    }
    example
}

/// The verdict from the measured cells: refuted without a win, holds without a replicated
/// system ever unavailable, else holds only when the level tolerates the fault.
fn decide(claim: Claim, cells: &[Cell]) -> Claim {
    let measure = how_measured(cells);
    // A replicated system available where every single-server system of the same experiment
    // is not.
    let wins: Vec<&Cell> = cells
        .iter()
        .filter(|(e, _, share, replicated)| {
            let single: Vec<f64> = cells.iter().filter(|c| &c.0 == e && !c.3).map(|c| c.2).collect();
            *replicated && available(*share) && !single.is_empty() && single.iter().all(|s| !available(*s))
        })
        .collect();
    let fails: Vec<&Cell> =
        cells.iter().filter(|(_, _, share, replicated)| *replicated && !available(*share)).collect();
    let (replicated, single) = summaries(cells);
    let threshold = format!("available: at least {} of the operations invoked during faults ok", percent(AVAILABLE));
    if wins.is_empty() {
        return claim.judged(
            Verdict::Refuted,
            format!(
                "no replicated configuration stayed available in an experiment where the single SQLite server \
                 did not ({threshold}); {measure}"
            ),
        );
    }
    let example = wins_by_experiment(&wins);
    if fails.is_empty() {
        return claim.judged(
            Verdict::Holds,
            format!(
                "every replicated configuration stayed available under every fault, where SQLite did not: {} \
                 ({threshold}); {measure}",
                example.join("; ")
            ),
        );
    }
    let condition = format!(
        "the consistency level needs no more replicas than the fault leaves reachable and up ({}); the single \
         SQLite server (no replicated SQL setup was tested) was below {} ok wherever a fault cut it off from \
         clients or took it down ({})",
        replicated.join("; "),
        percent(AVAILABLE),
        single.join("; ")
    );
    claim
        .judged(
            Verdict::only_when(condition),
            format!(
                "replicated configurations stayed available where SQLite did not ({}), but not under every fault \
             ({threshold}); {measure}",
                example.join("; ")
            ),
        )
        .gist(format!(
        "the level needs no more replicas than the fault leaves reachable (one SQLite server: below {} when cut off \
         or down)",
        percent(AVAILABLE)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The judgment with the standard registration's thresholds.
    fn availability(evidence: &Evidence) -> Claim {
        super::availability(evidence, &crate::registry::standard().claim(5))
    }
    use crate::testing::{complete, evidence, row};

    #[test]
    fn availability_holds_only_where_the_level_tolerates_the_fault() {
        let mut sqlite = row("sqlite-full");
        sqlite.availability_faulty = Some(0.0);
        let mut one = row("quorum-one");
        one.replicated = true;
        one.availability_faulty = Some(0.999);
        let mut all = one.clone();
        all.system = "quorum-all".into();
        all.availability_faulty = Some(0.0);
        let e = complete(evidence(&[("isolate-one-node", vec![sqlite.clone(), one.clone(), all])]));
        let claim = availability(&e);
        let Verdict::HoldsOnlyWhen { condition } = &claim.verdict else { panic!("{claim:?}") };
        assert!(condition.contains("quorum-all below 95.0 % ok in isolate-one-node 0.0 %"), "{condition}");
        assert!(condition.contains("quorum-one available under every fault"), "{condition}");
        assert!(condition.contains("was below 95.0 % ok wherever") && !condition.contains("unavailable whenever"));
        assert!(claim.reasoning.contains("100 ms after a failure") && claim.reasoning.contains("one SQLite server"));
        assert_eq!(claim.figures["isolate-one-node/quorum-one/availability_faulty"], 0.999);

        let e = complete(evidence(&[("isolate-one-node", vec![sqlite.clone(), one.clone()])]));
        assert_eq!(availability(&e).verdict, Verdict::Holds);

        let mut sqlite_up = sqlite.clone();
        sqlite_up.availability_faulty = Some(1.0);
        let e = complete(evidence(&[("isolate-one-node", vec![sqlite_up, one])]));
        assert_eq!(availability(&e).verdict, Verdict::Refuted, "SQLite as available as the quorum store");

        assert!(matches!(availability(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
        let Verdict::NotMeasured { run } = availability(&evidence(&[("power-loss", vec![row("quorum-one")])])).verdict
        else {
            panic!("the single-fault experiments are required")
        };
        assert!(run.contains("isolate-one-node, partition-halves, crash-restart"), "{run}");
        assert!(run.contains("lab run experiments/isolate-one-node.toml"), "{run}");
    }
}
