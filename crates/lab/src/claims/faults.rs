//! Claims 5-9: availability, SQL's consistency, convergence, R + W > N, last-write-wins. Each
//! judgment is a pure function of the fault experiments' rows.

use super::evidence::{Evidence, Experiment, StalenessPoint};
use super::ledger::{percent, seeds, Claim, Verdict};
use super::{command, SEED_SOURCE};
use crate::run::table::Row;

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

/// The experiment of the R + W > N caveats, and its systems.
pub const CAVEATS: &str = "quorum-caveats";
/// Strict quorums, blocking read repair: the textbook configuration.
pub const STRICT: &str = "quorum-quorum";
/// `read_repair = "off"`.
pub const NO_REPAIR: &str = "quorum-quorum-no-repair";
/// `hints = "sloppy"`.
pub const SLOPPY: &str = "quorum-quorum-sloppy";

/// The skewed-clock experiment and its last-write-wins systems.
pub const CLOCK_SKEW: &str = "clock-skew-lww";
/// The quorum store in LWW mode at ONE, QUORUM, ALL.
pub const LWW_SYSTEMS: [&str; 3] = ["quorum-one", "quorum-quorum", "quorum-all"];
/// The systems that do not order writes by clocks.
pub const CLOCK_FREE_SYSTEMS: [&str; 2] = ["quorum-abd", "sqlite-full"];

/// SQLite syncing every commit before acknowledging it.
pub const SQLITE_FULL: &str = "sqlite-full";

/// The systems every standard fault experiment compares (claim 5 judges these; the variants
/// of power-loss and quorum-caveats answer other questions).
pub const STANDARD_SYSTEMS: [&str; 5] = ["sqlite-full", "quorum-one", "quorum-quorum", "quorum-all", "quorum-abd"];

/// The experiments claim 5 cannot be judged without: one server cut off, the servers split,
/// one server down (the others add to the evidence when present).
pub const REQUIRED_FOR_AVAILABILITY: [&str; 3] = ["isolate-one-node", "partition-halves", "crash-restart"];

/// The experiments claims 6 and 7 cannot be judged without: the single-node faults and the
/// power loss (where SQLite's weaker settings and the replicas' convergence are tested).
pub const REQUIRED_FOR_CONSISTENCY: [&str; 4] = ["isolate-one-node", "partition-halves", "crash-restart", "power-loss"];

/// "Not measured" naming the `required` experiments without results, if any.
pub fn missing(evidence: &Evidence, required: &[&str]) -> Option<Verdict> {
    let absent: Vec<&str> = required.iter().copied().filter(|name| !evidence.experiments.contains_key(*name)).collect();
    if absent.is_empty() {
        return None;
    }
    let files: Vec<String> = absent.iter().map(|name| format!("experiments/{name}.toml")).collect();
    Some(Verdict::missing(format!("no results of {}: run `lab run {}`", absent.join(", "), files.join(" "))))
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
        let rows: Vec<&Row> = experiment
            .rows
            .iter()
            .filter(|r| {
                completed(r) && r.availability_faulty.is_some() && STANDARD_SYSTEMS.contains(&r.system.as_str())
            })
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
                 did not ({threshold})"
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
                 ({threshold})",
                example.join("; ")
            ),
        );
    }
    let condition = format!(
        "the consistency level needs no more replicas than the fault leaves reachable and up ({}); the single \
         SQLite server is unavailable whenever it is cut off from clients or down ({})",
        replicated.join("; "),
        single.join("; ")
    );
    claim.judged(
        Verdict::only_when(condition),
        format!(
            "replicated configurations stayed available where SQLite did not ({}), but not under every fault \
             ({threshold})",
            example.join("; ")
        ),
    )
    .gist("the level needs no more replicas than the fault leaves reachable (SQLite: its one server reachable and up)")
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
    let mut full_bad: Vec<String> = Vec::new();
    let mut weaker_bad: Vec<String> = Vec::new();
    let mut weaker_seen = 0usize;
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
            if row.system == SQLITE_FULL {
                full_decided += row.check_decided;
                if bad {
                    full_bad.push(what);
                }
            } else {
                weaker_seen += 1;
                if bad {
                    weaker_bad.push(what);
                }
            }
        }
    }
    if full_decided == 0 {
        return claim.judged(
            Verdict::missing(format!(
                "no decided check of {SQLITE_FULL}: run `lab run {}` (and give the checker time: --check-timeout)",
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
                 history ({}); durability, not isolation, is the caveat",
                    weaker_bad.join("; ")
                )),
                format!(
                    "{SQLITE_FULL} was linearizable on every decided seed ({full_decided}), with no stale read and no \
                 lost write, under every fault"
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
            "{SQLITE_FULL} was linearizable on every decided seed ({full_decided}), with no stale read and no lost \
             write, under every fault{weaker}"
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
            let mut text = match row.convergence_ms_max {
                Some(ms) => format!("{} <= {ms} ms", row.system),
                None => format!("{} -", row.system),
            };
            if row.convergence_never > 0 {
                text.push_str(&format!(", never on {} of {ran} seeds", row.convergence_never));
                here_never.push(format!("{} {} of {ran} seeds", row.system, row.convergence_never));
            }
            parts.push(text);
        }
        claim.line(format!(
            "{} ({}), slowest convergence after the last heal or write over {}: {}",
            experiment.name,
            injected(&experiment.name),
            seeds(&experiment.seeds),
            parts.join(", ")
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
    let slowest_text = slowest
        .as_ref()
        .map_or_else(|| "no seed converged".to_owned(), |(ms, what)| format!("the slowest took {ms} ms ({what})"));
    if let Some((ms, _)) = &slowest {
        claim.figure("slowest_convergence_ms", *ms as f64);
    }
    if never.is_empty() {
        return claim.judged(
            Verdict::Holds,
            format!("every replicated system converged on every seed of every experiment; {slowest_text} after the last heal or write"),
        );
    }
    let everywhere = if converged_everywhere.is_empty() { "none".to_owned() } else { converged_everywhere.join(", ") };
    claim.judged(
        Verdict::only_when(format!(
            "no fault leaves replicas holding different data that nothing repairs (read repair fixes only keys read \
             again, and no anti-entropy runs here): replicas still differed at the end after {} ({}); they \
             converged on every seed in {everywhere}",
            never_experiments.iter().map(|e| format!("{e} ({})", injected(e))).collect::<Vec<_>>().join(", "),
            never.join("; ")
        )),
        format!("replicas converged after every other fault; of the systems that converged on every seed, {slowest_text} after the last heal or write"),
    )
    .gist(format!(
        "no fault leaves replicas apart with nothing to repair them (no anti-entropy here; apart after {})",
        never_experiments.join(", ")
    ))
}

/// What a quorum-quorum violation in `experiment` says R + W > N also needs.
fn rw_condition(experiment: &str) -> String {
    match experiment {
        "clock-skew-lww" => "clocks agree (LWW orders writes by timestamp)".to_owned(),
        "power-loss" => "no replica loses writes it acknowledged (a periodic commit log does)".to_owned(),
        "random-nemesis" => {
            "none of the random nemesis's faults occur (it mixes partitions, crashes, clock strobes and slow links: \
             its violations/ witnesses say which one struck)"
                .to_owned()
        }
        other => format!("none of the faults of {other} occur ({})", injected(other)),
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
    let caveats: Vec<&Row> =
        [STRICT, NO_REPAIR, SLOPPY, "quorum-abd"].iter().filter_map(|system| evidence.row(CAVEATS, system)).collect();
    for row in &caveats {
        describe(&mut claim, CAVEATS, row);
    }
    let mut elsewhere: Vec<(String, Vec<u64>)> = Vec::new();
    let mut measured_elsewhere = false;
    for experiment in experiments(evidence).into_iter().filter(|e| e.name != CAVEATS) {
        if let Some(row) = experiment.row(STRICT).filter(|r| completed(r)) {
            measured_elsewhere = true;
            describe(&mut claim, &experiment.name, row);
            if !row.violating_seeds.is_empty() {
                elsewhere.push((experiment.name.clone(), row.violating_seeds.clone()));
            }
        }
    }
    staleness_contrast(&mut claim, evidence);
    let strict = evidence.row(CAVEATS, STRICT);
    if strict.is_none() && !measured_elsewhere {
        return claim.judged(
            Verdict::missing(format!("no results of {STRICT}: run `{}`", command(CAVEATS))),
            "R + W > N needs a QUORUM configuration under faults",
        );
    }
    let mut conditions: Vec<String> = Vec::new();
    let mut gists: Vec<String> = Vec::new();
    let mut reasons: Vec<String> = Vec::new();
    if let Some(strict) = strict {
        if !strict.violating_seeds.is_empty() {
            return claim.judged(
                Verdict::Refuted,
                format!(
                    "{STRICT} in {CAVEATS}, with blocking read repair and strict quorums, violated on {}: R + W > N \
                     did not make reads see the latest write even with the write-back",
                    seeds(&strict.violating_seeds)
                ),
            );
        }
        reasons.push(format!("{STRICT} (blocking read repair, strict quorums) never violated in {CAVEATS}"));
        for (system, condition, gist) in [
            (
                NO_REPAIR,
                "reads write back what they return before answering (blocking read repair)",
                "reads write back",
            ),
            (SLOPPY, "quorums are strict (no fallback node's hint counts toward W)", "quorums are strict"),
        ] {
            match evidence.row(CAVEATS, system) {
                Some(row) if !row.violating_seeds.is_empty() => {
                    conditions.push(format!("{condition}: {system} violated on {}", seeds(&row.violating_seeds)));
                    gists.push(gist.to_owned());
                }
                Some(_) => reasons.push(format!("{system} did not violate in these seeds (caveat not observed)")),
                None => reasons.push(format!("{system} was not run (caveat not exercised)")),
            }
        }
    } else {
        reasons
            .push(format!("the read-repair and sloppy-quorum caveats are not exercised: run `{}`", command(CAVEATS)));
    }
    for (experiment, violated) in &elsewhere {
        let condition = rw_condition(experiment);
        // The gist: the condition without its parenthesis.
        gists.push(condition.split(" (").next().unwrap_or(&condition).to_owned());
        conditions.push(format!("{condition}: {STRICT} violated in {experiment} on {}", seeds(violated)));
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
        "last-write-wins loses nothing",
        "Cassandra's correctness does depend on these clocks",
        "Cassandra documentation (architecture/dynamo); Jepsen on Cassandra 2.0.0 (2013): \"pure last-write-wins\" \
         loses acknowledged writes when clocks disagree",
    )
    .tested_by(CLOCK_SKEW, &command(CLOCK_SKEW));
    let Some(experiment) = evidence.experiments.get(CLOCK_SKEW) else {
        return claim.judged(
            Verdict::missing(format!("no results of {CLOCK_SKEW}: run `{}`", command(CLOCK_SKEW))),
            "LWW under clock skew needs the clock-skew experiment",
        );
    };
    let mut lww_lost = 0u64;
    let mut lww_measured = false;
    let mut lww_violated: Vec<String> = Vec::new();
    for system in LWW_SYSTEMS.iter().chain(CLOCK_FREE_SYSTEMS.iter()) {
        let Some(row) = experiment.row(system).filter(|r| completed(r)) else { continue };
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
        if LWW_SYSTEMS.contains(system) {
            lww_measured = true;
            lww_lost += lost;
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
        return claim.judged(
            Verdict::Refuted,
            format!(
                "with one clock 2 s behind, last-write-wins lost {lww_lost} acknowledged writes over ONE, QUORUM and \
                 ALL (violations: {}): R + W > N does not help when the order itself is wrong",
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
    use super::super::testing::{evidence, row};
    use super::*;

    /// `e` with an empty result for every standard fault experiment it lacks (the required
    /// experiments present, contributing nothing).
    fn complete(mut e: Evidence) -> Evidence {
        for name in FAULT_EXPERIMENTS {
            if !e.experiments.contains_key(name) {
                e.experiments
                    .insert(name.to_owned(), Experiment { name: name.to_owned(), seeds: vec![1, 2], rows: Vec::new() });
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
            quorums: crate::claims::evidence::Quorums { n: 3, r: 1, w: 1 },
            wait_ms,
            trials: 1000,
            measured,
            model: measured,
        };
        e.staleness = Some(crate::claims::evidence::Staleness {
            seed: Some(1),
            points: vec![point(5.0, 0.9995), point(0.0, 0.4), point(1.0, 0.9)],
        });
        let claim = strict_quorums(&e);
        assert_eq!(claim.verdict, Verdict::Holds, "the contrast is evidence, not a verdict");
        assert!(
            claim.evidence.iter().any(|l| l.contains("N=3 R=1 W=1") && l.contains("in 40.0 %; 100.0 % from 5 ms on")),
            "{:?}",
            claim.evidence
        );
        assert_eq!(claim.figures["staleness/exp-1ms/3-1-1/fresh_at_0"], 0.4);
        let e = evidence(&[(CAVEATS, vec![skewed.clone(), no_repair])]);
        assert_eq!(strict_quorums(&e).verdict, Verdict::Refuted);
        let e = evidence(&[(CLOCK_SKEW, vec![skewed])]);
        let claim = strict_quorums(&e);
        assert!(matches!(claim.verdict, Verdict::HoldsOnlyWhen { .. }));
        assert!(claim.reasoning.contains("not exercised"), "{}", claim.reasoning);
        assert!(matches!(strict_quorums(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
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
