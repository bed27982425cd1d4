//! The fault experiments as claims 5-10 read them: which there are and what each injects, the
//! ones a claim cannot be judged without, their rows in words (check, lost writes, violating
//! seeds) and each seed's recorded faults with their kinds.

use std::collections::{BTreeMap, BTreeSet};

use crate::evidence::{Evidence, Experiment};
use crate::ledger::{seeds, Verdict};
use crate::no_results;
use runner::run::table::Row;

/// The experiments whose faults have windows, in the ledger's order of mention.
pub const FAULT_EXPERIMENTS: [&str; 7] = [
    "isolate-one-node",
    "partition-halves",
    "crash-restart",
    "power-loss",
    "clock-skew-lww",
    "random-nemesis",
    "disk-io-errors",
];

/// The experiment of the R + W > N caveats (its systems are chosen by their properties:
/// [`crate::select`]).
pub const CAVEATS: &str = "quorum-caveats";

/// The skewed-clock experiment.
pub const CLOCK_SKEW: &str = "clock-skew-lww";

/// The power-loss experiment.
pub const POWER_LOSS: &str = "power-loss";

/// The disk-error experiment (no power loss: claim 10 reports what it kept apart).
pub const DISK_ERRORS: &str = "disk-io-errors";

/// The experiments claims 6 and 7 cannot be judged without: the single-node faults and the
/// power loss (where SQLite's weaker settings and the replicas' convergence are tested).
pub const REQUIRED_FOR_CONSISTENCY: [&str; 4] = ["isolate-one-node", "partition-halves", "crash-restart", "power-loss"];

/// The fault lists of `system`'s completed seeds in `experiment` (`FAULT at TIME`, as the
/// records have them), by seed; `None` when the evidence carries no per-seed records.
pub fn seed_faults(experiment: &Experiment, system: &str) -> Option<BTreeMap<u64, Vec<String>>> {
    if experiment.records.is_empty() {
        return None;
    }
    Some(
        experiment
            .records
            .iter()
            .filter(|r| r.system == system && r.error.is_none())
            .map(|r| (r.seed, r.faults.clone()))
            .collect(),
    )
}

/// "Not measured" naming the `required` experiments without results, if any.
pub fn missing(evidence: &Evidence, required: &[&str]) -> Option<Verdict> {
    let absent: Vec<&str> = required.iter().copied().filter(|name| !evidence.experiments.contains_key(*name)).collect();
    if absent.is_empty() {
        return None;
    }
    Some(no_results(&absent))
}

/// What an experiment injects, in a few words (for conditions).
pub fn injected(experiment: &str) -> &'static str {
    match experiment {
        "isolate-one-node" => "one server cut off",
        "partition-halves" => "servers split into majority and minority",
        "crash-restart" => "one server down",
        "power-loss" => "every server losing power (unsynced writes gone)",
        "clock-skew-lww" => "one clock 2 s behind",
        "random-nemesis" => "Jepsen's random nemesis (partitions, crashes, clock strobes, slow links)",
        "disk-io-errors" => "random disk I/O errors",
        "quorum-caveats" => "random partitions of 5 nodes",
        _ => "its faults",
    }
}

/// The experiments present, known ones first in [`FAULT_EXPERIMENTS`] order, then the rest by
/// name.
pub(crate) fn experiments(evidence: &Evidence) -> Vec<&Experiment> {
    let mut list: Vec<&Experiment> =
        FAULT_EXPERIMENTS.iter().filter_map(|name| evidence.experiments.get(*name)).collect();
    list.extend(evidence.experiments.values().filter(|e| !FAULT_EXPERIMENTS.contains(&e.name.as_str())));
    list
}

/// Whether `row` completed at least one seed (a row every seed of which failed says nothing).
pub(crate) fn completed(row: &Row) -> bool {
    row.seeds > row.errors
}

/// The check's result in words: `CHECK passed/decided`, with the undecided seeds.
pub(crate) fn check_line(row: &Row) -> String {
    let mut text = format!("{} {}/{}", row.check, row.check_passed, row.check_decided + row.check_unknown);
    if row.check_unknown > 0 {
        text.push_str(&format!(" ({} undecided)", row.check_unknown));
    }
    text
}

/// The lost acknowledged writes in words.
pub(crate) fn lost_line(row: &Row) -> String {
    match row.lost_writes {
        Some(lost) => format!("{lost} of {} acknowledged writes lost", row.acknowledged_writes),
        None => "lost writes not judged".to_owned(),
    }
}

/// The violating seeds in words.
pub(crate) fn violated_line(row: &Row) -> String {
    if row.violating_seeds.is_empty() {
        "no seed violated".to_owned()
    } else {
        format!("violated on {}", seeds(&row.violating_seeds))
    }
}

/// The scripts of every fault experiment, for one `lab run`.
pub(crate) fn all_fault_commands() -> String {
    FAULT_EXPERIMENTS.iter().map(|e| format!("experiments/{e}.toml")).collect::<Vec<_>>().join(" ")
}

/// The kind of a recorded fault (`partition [n4] | [n5 n3] at 2s` is a `partition`); `None`
/// for the ends of faults (`heal`, `restart`, and `skew HOST +0ms`, which puts a strobed clock
/// back).
pub fn fault_kind(fault: &str) -> Option<&str> {
    let mut words = fault.split_whitespace();
    let kind = words.next()?;
    match kind {
        "heal" | "restart" => None,
        "skew" if words.nth(1) == Some("+0ms") => None,
        _ => Some(kind),
    }
}

/// The fault kinds present in every violating seed and absent from every clean one (`faults`:
/// each seed's recorded faults; `violating`: the seeds that violated). Empty when no kind
/// separates them, or when no seed was clean or none violated.
pub fn separating_kinds(faults: &BTreeMap<u64, Vec<String>>, violating: &[u64]) -> Vec<String> {
    let kinds = |list: &Vec<String>| -> BTreeSet<String> {
        list.iter().filter_map(|f| fault_kind(f)).map(str::to_owned).collect()
    };
    let (bad, clean): (Vec<(&u64, &Vec<String>)>, Vec<_>) =
        faults.iter().partition(|(seed, _)| violating.contains(seed));
    if bad.is_empty() || clean.is_empty() {
        return Vec::new();
    }
    let mut common = kinds(bad[0].1);
    for (_, list) in &bad[1..] {
        common = common.intersection(&kinds(list)).cloned().collect();
    }
    let seen_clean: BTreeSet<String> = clean.iter().flat_map(|(_, list)| kinds(list)).collect();
    common.difference(&seen_clean).cloned().collect()
}

/// What the runs of `systems` (each in its experiment) leave unknown, one part per system with
/// something unknown (`quorum-one in power-loss: checker verdict unknown on seed 3`), and how
/// many seeds that is; `None` when every run completed and was judged. A claim that uses these
/// runs is inconclusive when this is `Some` (nothing unknown counts as a pass).
pub fn unknown_runs<'a>(systems: impl IntoIterator<Item = (&'a Experiment, &'a str)>) -> Option<(usize, String)> {
    let mut parts = Vec::new();
    let mut count = 0;
    for (experiment, system) in systems {
        let unknowns = experiment.unknowns(system);
        if !unknowns.is_empty() {
            let mut seeds: Vec<u64> = unknowns.failed.clone();
            seeds.extend(&unknowns.check_unknown);
            seeds.extend(&unknowns.unjudged_seeds);
            seeds.sort_unstable();
            seeds.dedup();
            count += seeds.len();
            parts.push(format!("{system} in {}: {}", experiment.name, unknowns.text()));
        }
    }
    (!parts.is_empty()).then(|| (count, parts.join("; ")))
}

/// The verdict for runs that leave something unknown: inconclusive, with the count.
pub fn inconclusive_unknown(count: usize, what: &str) -> Verdict {
    Verdict::inconclusive(format!(
        "{count} run(s) the verdict uses are unknown, and nothing unknown counts as a pass: {what}"
    ))
}
