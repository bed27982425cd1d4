//! Claims 5-9: availability, SQL's consistency, convergence, R + W > N, last-write-wins. Each
//! judgment is a pure function of the fault experiments' rows.

use std::collections::{BTreeMap, BTreeSet};

use experiment::properties::Properties;

use super::evidence::{Evidence, Experiment, StalenessPoint};
use super::ledger::{percent, seed_list, seeds, Claim, Verdict};
use super::select;
use super::{command, no_results, SEED_SOURCE};
use runner::run::table::Row;

/// "Available" under faults: at least this share of the operations invoked during a fault
/// ended `ok`. Operations in flight when a fault begins time out even on a system that stays
/// available (a few percent), while a system serving one side of a partition only answers
/// about half: 95 % separates the two.
pub const AVAILABLE: f64 = 0.95;

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
/// [`select`]).
pub const CAVEATS: &str = "quorum-caveats";
/// What claim 8 asks for when no system has it.
pub const STRICT_DESCRIBED: &str = "a last-write-wins system with R + W > N, blocking read repair and strict quorums";

/// The skewed-clock experiment.
pub const CLOCK_SKEW: &str = "clock-skew-lww";

/// The power-loss experiment.
pub const POWER_LOSS: &str = "power-loss";

/// What claim 6 names when no SQLite system synced before the ack was measured.
pub const SQLITE_SYNCED: &str = "SQLite synced before the ack (synchronous=FULL)";

/// The experiments claim 5 cannot be judged without: one server cut off, the servers split,
/// one server down (the others add to the evidence when present).
pub const REQUIRED_FOR_AVAILABILITY: [&str; 3] = ["isolate-one-node", "partition-halves", "crash-restart"];

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
fn experiments(evidence: &Evidence) -> Vec<&Experiment> {
    let mut list: Vec<&Experiment> =
        FAULT_EXPERIMENTS.iter().filter_map(|name| evidence.experiments.get(*name)).collect();
    list.extend(evidence.experiments.values().filter(|e| !FAULT_EXPERIMENTS.contains(&e.name.as_str())));
    list
}

fn completed(row: &Row) -> bool {
    row.seeds > row.errors
}

fn check_line(row: &Row) -> String {
    let mut text = format!("{} {}/{}", row.check, row.check_passed, row.check_decided + row.check_unknown);
    if row.check_unknown > 0 {
        text.push_str(&format!(" ({} undecided)", row.check_unknown));
    }
    text
}

fn lost_line(row: &Row) -> String {
    match row.lost_writes {
        Some(lost) => format!("{lost} of {} acknowledged writes lost", row.acknowledged_writes),
        None => "lost writes not judged".to_owned(),
    }
}

fn violated_line(row: &Row) -> String {
    if row.violating_seeds.is_empty() {
        "no seed violated".to_owned()
    } else {
        format!("violated on {}", seeds(&row.violating_seeds))
    }
}

fn all_fault_commands() -> String {
    FAULT_EXPERIMENTS.iter().map(|e| format!("experiments/{e}.toml")).collect::<Vec<_>>().join(" ")
}

/// Claim 5: NoSQL stays available under failures; SQL needs complex setups.
pub fn availability(evidence: &Evidence) -> Claim {
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
    // (experiment, system, availability during faults, replicated)
    let mut cells: Vec<(String, String, f64, bool)> = Vec::new();
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
    if cells.is_empty() {
        return claim.judged(
            Verdict::missing(format!("no fault experiment's results: run `lab run {}`", all_fault_commands())),
            "availability during faults needs the fault experiments",
        );
    }
    // How the share is measured, with the partition-halves example when it was run.
    let halves = cells
        .iter()
        .find(|c| c.0 == "partition-halves" && !c.3)
        .map(|(_, system, share, _)| {
            format!(" ({system} in partition-halves: {} while half its clients had no server)", percent(*share))
        })
        .unwrap_or_default();
    let measure = format!(
        "availability is the share of operations invoked during faults that ended ok; a client waits 100 ms after a \
         failure or timeout before its next operation (10 ms otherwise), so a fault cutting off half the clients \
         scores above half{halves}; the SQL side tested is one SQLite server, not a replicated or clustered SQL setup"
    );
    let available = |share: f64| share >= AVAILABLE;
    // A replicated system available where every single-server system of the same experiment
    // is not.
    let wins: Vec<&(String, String, f64, bool)> = cells
        .iter()
        .filter(|(e, _, share, replicated)| {
            let single: Vec<f64> = cells.iter().filter(|c| &c.0 == e && !c.3).map(|c| c.2).collect();
            *replicated && available(*share) && !single.is_empty() && single.iter().all(|s| !available(*s))
        })
        .collect();
    let fails: Vec<&(String, String, f64, bool)> =
        cells.iter().filter(|(_, _, share, replicated)| *replicated && !available(*share)).collect();
    // Per system: where it was available and where not.
    let mut systems: Vec<(String, bool)> = Vec::new();
    for (_, system, _, replicated) in &cells {
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
    // The wins grouped by experiment, in order of appearance.
    let mut example: Vec<String> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (e, _, _, _) in &wins {
        if seen.contains(&e.as_str()) {
            continue;
        }
        seen.push(e);
        let here: Vec<String> =
            wins.iter().filter(|w| &w.0 == e).map(|(_, s, share, _)| format!("{s} {}", percent(*share))).collect();
        example.push(format!("{e}: {}", here.join(", ")));
    }
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

/// Claim 6: SQL databases ensure strong consistency.
pub fn sql_consistency(evidence: &Evidence) -> Claim {
    let mut claim = Claim::new(
        6,
        "SQL ensures strong consistency",
        "Relational databases excel in use cases that require strong consistency, complex queries (e.g., joins), \
         and transactional integrity",
        SEED_SOURCE,
    );
    for name in FAULT_EXPERIMENTS {
        claim = claim.tested_by(name, &command(name));
    }
    if let Some(verdict) = missing(evidence, &REQUIRED_FOR_CONSISTENCY) {
        return claim.judged(verdict, "SQLite's consistency needs the single-fault experiments and the power loss");
    }
    let mut full_decided = 0usize;
    // The SQLite systems synced before the ack, by name, in the order seen.
    let mut full_names: Vec<String> = Vec::new();
    let mut full_bad: Vec<String> = Vec::new();
    let mut weaker_bad: Vec<String> = Vec::new();
    let mut weaker_seen = 0usize;
    // Stale reads of weaker settings after a power loss: the final reads, which see the rollback.
    let mut final_stale: Vec<String> = Vec::new();
    for experiment in experiments(evidence) {
        for row in experiment.rows.iter().filter(|r| completed(r) && !r.replicated) {
            let stale = row.stale_reads.unwrap_or(0);
            let lost = row.lost_writes.unwrap_or(0);
            claim.line(format!(
                "{}, {}: {}, {} stale reads, {} ({}, {})",
                experiment.name,
                row.system,
                check_line(row),
                stale,
                lost_line(row),
                seeds(&experiment.seeds),
                violated_line(row)
            ));
            let key = format!("{}/{}", experiment.name, row.system);
            claim.figure(format!("{key}/check_passed"), row.check_passed as f64);
            claim.figure(format!("{key}/check_decided"), row.check_decided as f64);
            claim.figure(format!("{key}/lost_writes"), lost as f64);
            claim.figure(format!("{key}/stale_reads"), stale as f64);
            let bad = row.check_passed < row.check_decided || stale > 0 || lost > 0;
            let what = format!("{key}: {}, {lost} lost, {stale} stale", check_line(row));
            if experiment.properties(&row.system).is_some_and(select::sql_synced) {
                if !full_names.contains(&row.system) {
                    full_names.push(row.system.clone());
                }
                full_decided += row.check_decided;
                if bad {
                    full_bad.push(what);
                }
            } else {
                weaker_seen += 1;
                if bad {
                    weaker_bad.push(what);
                }
                if experiment.name == POWER_LOSS && stale > 0 && lost > 0 {
                    final_stale.push(format!("{stale} of {key}"));
                }
            }
        }
    }
    let full = if full_names.is_empty() { SQLITE_SYNCED.to_owned() } else { full_names.join("/") };
    if full_decided == 0 {
        return claim.judged(
            Verdict::missing(format!(
                "no decided check of {full}: run `lab run {}` (and give the checker time: --check-timeout)",
                all_fault_commands()
            )),
            "SQLite's consistency needs the fault experiments",
        );
    }
    if !full_bad.is_empty() {
        return claim.judged(
            Verdict::Refuted,
            format!("SQLite with synchronous=FULL violated a property: {}", full_bad.join("; ")),
        );
    }
    if !weaker_bad.is_empty() {
        return claim
            .judged(
                Verdict::only_when(format!(
                    "it syncs each commit before acknowledging it (synchronous=FULL): with a weaker setting a power \
                 loss rolls acknowledged commits back, which the checker sees as lost writes and a non-linearizable \
                 history ({}){}; durability, not isolation, is the caveat",
                    weaker_bad.join("; "),
                    if final_stale.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; the stale reads ({}) are the final reads after the power loss (one per key and seed), \
                             which returned the rolled-back values: the same events as the lost writes, not another \
                             anomaly",
                            final_stale.join(", ")
                        )
                    }
                )),
                format!(
                    "{full} was linearizable on every decided seed ({full_decided}), with no stale read and no lost \
                     write, under every fault"
                ),
            )
            .gist(
                "each commit is synced before it is acknowledged (synchronous=FULL; a power loss undoes weaker ones)",
            );
    }
    let weaker = if weaker_seen > 0 { " (and so were its weaker synchronous settings)" } else { "" };
    claim.judged(
        Verdict::Holds,
        format!(
            "{full} was linearizable on every decided seed ({full_decided}), with no stale read and no lost write, \
             under every fault{weaker}"
        ),
    )
}

/// Claim 7: eventually consistent replicas converge, and how fast after a heal.
pub fn convergence(evidence: &Evidence) -> Claim {
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
    let mut any = false;
    let mut slowest: Option<(u64, String)> = None;
    let mut never: Vec<String> = Vec::new();
    let mut never_experiments: Vec<String> = Vec::new();
    let mut converged_everywhere: Vec<String> = Vec::new();
    // Configurations that run anti-entropy, and how many configurations said either way.
    let mut anti_entropy: Vec<String> = Vec::new();
    let mut configs_seen = 0usize;
    for experiment in experiments(evidence) {
        let rows: Vec<&Row> = experiment.rows.iter().filter(|r| completed(r) && r.replicated).collect();
        if rows.is_empty() {
            continue;
        }
        any = true;
        let mut parts = Vec::new();
        let mut here_never = Vec::new();
        for row in &rows {
            let ran = row.seeds - row.errors;
            let key = format!("{}/{}", experiment.name, row.system);
            claim.figure(format!("{key}/convergence_never"), row.convergence_never as f64);
            if let Some(ms) = row.convergence_ms_max {
                claim.figure(format!("{key}/convergence_ms_max"), ms as f64);
                // The slowest of the systems that converged on every seed.
                if row.convergence_never == 0 && slowest.as_ref().is_none_or(|(worst, _)| ms > *worst) {
                    slowest = Some((ms, format!("{} in {}", row.system, experiment.name)));
                }
            }
            let converged = ran.saturating_sub(row.convergence_never);
            let text = match (row.convergence_ms_max, row.convergence_never) {
                (_, 0) if converged == 0 => format!("{} -", row.system),
                (Some(ms), 0) => format!("{} <= {ms} ms", row.system),
                (None, 0) => format!("{} -", row.system),
                (Some(ms), _) if converged > 0 => format!(
                    "{} converged on {converged} of {ran} seeds (slowest {ms} ms), never on the others",
                    row.system
                ),
                _ => format!("{} never converged ({ran} seeds)", row.system),
            };
            if row.convergence_never > 0 {
                here_never.push(format!("{} {} of {ran} seeds", row.system, row.convergence_never));
            }
            if let Some(runs) = experiment.properties(&row.system).and_then(select::anti_entropy) {
                configs_seen += 1;
                if runs {
                    let description = experiment.config(&row.system).unwrap_or("anti-entropy on");
                    anti_entropy.push(format!("{key}: {description}"));
                }
            }
            parts.push(text);
        }
        claim.line(format!(
            "{} ({}), slowest convergence after the last heal or write over {}: {}",
            experiment.name,
            injected(&experiment.name),
            seeds(&experiment.seeds),
            parts.join("; ")
        ));
        if here_never.is_empty() {
            converged_everywhere.push(experiment.name.clone());
        } else {
            never_experiments.push(experiment.name.clone());
            never.push(format!("{}: {}", experiment.name, here_never.join(", ")));
        }
    }
    if !any {
        return claim.judged(
            Verdict::missing(format!("no replicated system's results: run `lab run {}`", all_fault_commands())),
            "convergence needs the fault experiments",
        );
    }
    // The repair mechanisms tested: read repair only, unless some configuration runs anti-entropy.
    let setup = if !anti_entropy.is_empty() {
        format!("anti-entropy ran in {}", anti_entropy.join("; "))
    } else if configs_seen > 0 {
        "anti-entropy is off in every configuration tested, so this is about read repair alone".to_owned()
    } else {
        "anti-entropy is off in every configuration tested (experiments/*.toml enable none), so this is about read \
         repair alone"
            .to_owned()
    };
    let slowest_text = slowest
        .as_ref()
        .map_or_else(|| "no seed converged".to_owned(), |(ms, what)| format!("the slowest took {ms} ms ({what})"));
    if let Some((ms, _)) = &slowest {
        claim.figure("slowest_convergence_ms", *ms as f64);
    }
    if never.is_empty() {
        return claim.judged(
            Verdict::Holds,
            format!(
                "every replicated system converged on every seed of every experiment; {slowest_text} after the last \
                 heal or write; {setup}"
            ),
        );
    }
    let everywhere = if converged_everywhere.is_empty() { "none".to_owned() } else { converged_everywhere.join(", ") };
    claim
        .judged(
            Verdict::only_when(format!(
            "no fault leaves replicas holding different data that nothing repairs (read repair fixes only keys read \
             again; {setup}): replicas still differed at the end after {} ({}); they converged on every seed in \
             {everywhere}",
            never_experiments.iter().map(|e| format!("{e} ({})", injected(e))).collect::<Vec<_>>().join(", "),
            never.join("; ")
        )),
            format!(
            "replicas converged after every other fault; of the systems that converged on every seed, {slowest_text} \
             after the last heal or write; {setup}"
        ),
        )
        .gist(format!(
            "no fault leaves replicas apart with nothing to repair them (no anti-entropy here; apart after {})",
            never_experiments.join(", ")
        ))
}

/// The experiments whose faults are ordinary (one server cut off, the servers split, one
/// server down): a violation of the strict configuration there refutes claim 8 outright.
pub const ORDINARY_FAULTS: [&str; 3] = ["isolate-one-node", "partition-halves", "crash-restart"];

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

/// Claim 8: R + W > N makes reads see the latest write.
pub fn strict_quorums(evidence: &Evidence) -> Claim {
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
    let describe = |claim: &mut Claim, experiment: &str, row: &Row| {
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
    };
    let caveats_experiment = evidence.experiments.get(CAVEATS);
    let in_caveats = |predicate: fn(&Properties) -> bool| caveats_experiment.and_then(|e| e.row_where(predicate));
    let strict = in_caveats(select::strict_overlapping);
    let no_repair = in_caveats(select::overlapping_without_write_back);
    let sloppy = in_caveats(select::overlapping_sloppy);
    for row in [strict, no_repair, sloppy, in_caveats(select::logical_timestamps)].into_iter().flatten() {
        describe(&mut claim, CAVEATS, row);
    }
    // (experiment, the strict system there, its violating seeds)
    let mut elsewhere: Vec<(&Experiment, &str, Vec<u64>)> = Vec::new();
    let mut measured_elsewhere: Option<&str> = None;
    for experiment in experiments(evidence).into_iter().filter(|e| e.name != CAVEATS) {
        if let Some(row) = experiment.row_where(select::strict_overlapping).filter(|r| completed(r)) {
            measured_elsewhere = measured_elsewhere.or(Some(&row.system));
            describe(&mut claim, &experiment.name, row);
            if !row.violating_seeds.is_empty() {
                elsewhere.push((experiment, &row.system, row.violating_seeds.clone()));
            }
        }
    }
    staleness_contrast(&mut claim, evidence);
    let Some(strict_name) = strict.map(|r| r.system.as_str()).or(measured_elsewhere) else {
        return claim.judged(
            Verdict::missing(format!("no results of {STRICT_DESCRIBED}: run `{}`", command(CAVEATS))),
            "R + W > N needs a QUORUM configuration under faults",
        );
    };
    let mut conditions: Vec<String> = Vec::new();
    let mut gists: Vec<String> = Vec::new();
    let mut reasons: Vec<String> = Vec::new();
    // With blocking read repair and strict quorums, a violation under the caveats' partitions or
    // under an ordinary fault refutes the claim: nothing unusual was needed.
    let mut refuting: Vec<String> = Vec::new();
    if let Some(strict) = strict.filter(|r| !r.violating_seeds.is_empty()) {
        refuting.push(format!("{CAVEATS} ({}) on {}", injected(CAVEATS), seeds(&strict.violating_seeds)));
    }
    for (experiment, _, violated) in elsewhere.iter().filter(|(e, _, _)| ORDINARY_FAULTS.contains(&e.name.as_str())) {
        refuting.push(format!("{} ({}) on {}", experiment.name, injected(&experiment.name), seeds(violated)));
    }
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
    if strict.is_some() {
        reasons.push(format!("{strict_name} (blocking read repair, strict quorums) never violated in {CAVEATS}"));
        for (row, what, condition, gist) in [
            (
                no_repair,
                "a QUORUM system without read repair",
                "reads write back what they return before answering (blocking read repair)",
                "reads write back",
            ),
            (
                sloppy,
                "a QUORUM system with sloppy quorums",
                "quorums are strict (no fallback node's hint counts toward W)",
                "quorums are strict",
            ),
        ] {
            match row {
                Some(row) if !row.violating_seeds.is_empty() => {
                    let system = &row.system;
                    conditions.push(format!("{condition}: {system} violated on {}", seeds(&row.violating_seeds)));
                    gists.push(gist.to_owned());
                }
                Some(row) => {
                    reasons.push(format!("{} did not violate in these seeds (caveat not observed)", row.system));
                }
                None => reasons.push(format!("{what} was not run (caveat not exercised)")),
            }
        }
    } else {
        reasons
            .push(format!("the read-repair and sloppy-quorum caveats are not exercised: run `{}`", command(CAVEATS)));
    }
    for (experiment, system, violated) in &elsewhere {
        let faults = seed_faults(experiment, system);
        let condition = rw_condition(&experiment.name, violated, faults.as_ref());
        // The gist: the condition without its parenthesis (once each).
        let gist = condition.split(" (").next().unwrap_or(&condition).to_owned();
        if !gists.contains(&gist) {
            gists.push(gist);
        }
        conditions.push(format!("{condition}: {system} violated in {} on {}", experiment.name, seeds(violated)));
    }
    if conditions.is_empty() {
        return claim.judged(Verdict::Holds, reasons.join("; "));
    }
    claim.judged(Verdict::only_when(conditions.join("; ")), reasons.join("; ")).gist(gists.join(", "))
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

/// A read counts as "fresh by then" in the staleness contrast at this share of trials.
pub const FRESH: f64 = 0.999;

/// Claim 9: last-write-wins is safe.
pub fn last_write_wins(evidence: &Evidence) -> Claim {
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
    let mut lww_lost = 0u64;
    let mut lww_measured = false;
    // (system, lost, R + W > N if the configuration says)
    let mut losers: Vec<(String, u64, Option<bool>)> = Vec::new();
    let mut lww_violated: Vec<String> = Vec::new();
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
            lww_measured = true;
            lww_lost += lost;
            if lost > 0 {
                losers.push((system.to_string(), lost, properties.and_then(select::overlapping)));
            }
            if !row.violating_seeds.is_empty() {
                lww_violated.push(format!("{system} on {}", seeds(&row.violating_seeds)));
            }
        }
    }
    if !lww_measured {
        return claim.judged(
            Verdict::missing(format!("no LWW system in {CLOCK_SKEW}: run `{}`", command(CLOCK_SKEW))),
            "LWW under clock skew needs the LWW systems",
        );
    }
    claim.figure("lww_lost_writes", lww_lost as f64);
    if lww_lost > 0 {
        let lost: Vec<String> = losers.iter().map(|(system, lost, _)| format!("{system} {lost}")).collect();
        let strict: Vec<&str> =
            losers.iter().filter(|(_, _, strict)| *strict == Some(true)).map(|(s, _, _)| s.as_str()).collect();
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
                lww_violated.join(", ")
            ),
        );
    }
    if !lww_violated.is_empty() {
        return claim
            .judged(
                Verdict::only_when(format!(
                "only durability is asked: no acknowledged write was lost, but reads were stale or not linearizable \
                 ({})",
                lww_violated.join(", ")
            )),
                "LWW kept every acknowledged write in these seeds, yet clock skew reordered reads",
            )
            .gist("only durability is asked (reads were stale or not linearizable)");
    }
    claim.judged(Verdict::Holds, "LWW lost no acknowledged write and stayed linearizable with one clock 2 s behind")
}

#[cfg(test)]
mod tests {
    use super::super::testing::{evidence, row, NO_REPAIR, SLOPPY, STRICT};
    use super::*;

    /// `e` with an empty result for every standard fault experiment it lacks (the required
    /// experiments present, contributing nothing).
    fn complete(mut e: Evidence) -> Evidence {
        for name in FAULT_EXPERIMENTS {
            if !e.experiments.contains_key(name) {
                e.experiments.extend(evidence(&[(name, Vec::new())]).experiments);
            }
        }
        e
    }

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

    #[test]
    fn sql_consistency_separates_full_from_weaker_sync() {
        let mut full = row("sqlite-full");
        full.check_passed = 2;
        full.check_decided = 2;
        full.lost_writes = Some(0);
        full.stale_reads = Some(0);
        let mut off = full.clone();
        off.system = "sqlite-off".into();
        off.check_passed = 0;
        off.lost_writes = Some(40);
        off.violating_seeds = vec![1, 2];
        let e = complete(evidence(&[("power-loss", vec![full.clone(), off.clone()])]));
        let claim = sql_consistency(&e);
        let Verdict::HoldsOnlyWhen { condition } = &claim.verdict else { panic!("{claim:?}") };
        assert!(condition.contains("synchronous=FULL") && condition.contains("power-loss/sqlite-off"), "{condition}");
        assert!(!condition.contains("final reads"), "no stale reads, nothing to explain: {condition}");
        let mut stale = off.clone();
        stale.stale_reads = Some(200);
        let claim = sql_consistency(&complete(evidence(&[("power-loss", vec![full.clone(), stale])])));
        let Verdict::HoldsOnlyWhen { condition } = &claim.verdict else { panic!("{claim:?}") };
        assert!(
            condition.contains("the stale reads (200 of power-loss/sqlite-off) are the final reads"),
            "{condition}"
        );

        assert_eq!(sql_consistency(&complete(evidence(&[("power-loss", vec![full.clone()])]))).verdict, Verdict::Holds);
        let mut broken = full.clone();
        broken.stale_reads = Some(1);
        assert_eq!(sql_consistency(&complete(evidence(&[("x", vec![broken])]))).verdict, Verdict::Refuted);
        let mut undecided = full;
        undecided.check_passed = 0;
        undecided.check_decided = 0;
        assert!(matches!(
            sql_consistency(&complete(evidence(&[("x", vec![undecided])]))).verdict,
            Verdict::NotMeasured { .. }
        ));
    }

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
