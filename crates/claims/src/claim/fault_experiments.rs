//! The fault experiments as claims 5-10 read them: which there are and what each injects, the
//! ones a claim cannot be judged without, their rows in words (check, lost writes, violating
//! seeds) and each seed's recorded faults with their kinds.

use std::collections::{BTreeMap, BTreeSet};

use experiment::properties::Properties;
use runner::run::record::{Convergence, SeedRecord};

use crate::evidence::{Evidence, Experiment};
use crate::ledger::{seeds, Claim, Verdict};
use crate::no_results;
use crate::stats::Counted;

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

/// The process-kill experiment (the OS stays up: claim 10 reports it beside the power loss).
pub const KILL: &str = "kill";

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
        "power-loss" => "every server losing power, unsynced writes gone",
        "clock-skew-lww" => "one clock 2 s behind",
        "random-nemesis" => "Jepsen's random nemesis: partitions, crashes, clock strobes, slow links",
        "disk-io-errors" => "random disk I/O errors",
        "quorum-caveats" => "random partitions of 5 nodes",
        "bank" | "list-append" => "Jepsen's random nemesis, transactions",
        "contention-light" => "no fault, hot keys, 4 clients",
        "contention-heavy" => "no fault, hot keys, 64 clients",
        "failover" => "the leader isolated, then powered off, then cut off from its peers",
        "replication-overhead" => "no fault",
        _ => "its faults",
    }
}

/// The experiments present whose workload is judged one key at a time (linearizable, or a
/// valid set), known ones first in [`FAULT_EXPERIMENTS`] order, then the rest by name. The
/// transactional experiments (bank, list-append: judged by invariants and isolation, with no
/// stale reads or lost writes to count) belong to claims 4, 11 and 12 ([`super::transactions`]).
pub(crate) fn experiments(evidence: &Evidence) -> Vec<&Experiment> {
    let per_key = |e: &&Experiment| !super::transactions::is_transactional(e);
    let mut list: Vec<&Experiment> =
        FAULT_EXPERIMENTS.iter().filter_map(|name| evidence.experiments.get(*name)).filter(per_key).collect();
    list.extend(
        evidence.experiments.values().filter(|e| !FAULT_EXPERIMENTS.contains(&e.name.as_str())).filter(per_key),
    );
    list
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

// ---------------------------------------------------------------------------------------------
// Safety properties counted over seeds, and the contrasts that name a condition (claims 6-10).
//
// The rule for unknowns, the same for every safety claim: a seed is *violating* when it
// recorded a decided violation of the property (a violation on a decided seed is a violation,
// whatever else that seed leaves unknown); otherwise it is *clean* only when its run completed,
// its checker verdict was decided and every key had a final read; otherwise it is *unjudged*
// (or *failed*). A violation that no measured contrast explains refutes at once; short of
// that, any unjudged or failed seed among the runs a verdict uses, or fewer than
// `min_clean_seeds` judged seeds of a system in an experiment, makes the verdict inconclusive.

/// One seed's verdict on a safety property: `Some(true)` when it `violated` the property (a
/// decided counterexample), `Some(false)` when it kept it and everything was decided (`judged`:
/// the property's own figure was measured; the checker decided; no key lacked a final read),
/// `None` otherwise.
pub fn seed_verdict(record: &SeedRecord, violated: bool, judged: bool) -> Option<bool> {
    if violated {
        Some(true)
    } else if judged && record.check.decided() && record.unjudged_keys == 0 {
        Some(false)
    } else {
        None
    }
}

/// Linearizable (or a valid set), no stale read, no lost acknowledged write.
pub fn consistent(record: &SeedRecord) -> Option<bool> {
    seed_verdict(record, record.violated(), record.lost_writes.is_some())
}

/// No lost acknowledged write (missing from the final reads, or rolled back by a new leader).
pub fn durable(record: &SeedRecord) -> Option<bool> {
    seed_verdict(record, record.acknowledged_lost().is_some_and(|n| n > 0), record.lost_writes.is_some())
}

/// The replicas agreed by the end of the repair phase.
pub fn converged(record: &SeedRecord) -> Option<bool> {
    let measured = matches!(record.convergence, Convergence::AfterMs(_));
    seed_verdict(record, record.convergence == Convergence::Never, measured)
}

/// A safety property of one system in one experiment, counted over its seeds.
#[derive(Debug, Clone)]
pub struct Tally<'a> {
    /// The experiment.
    pub experiment: &'a Experiment,
    /// The system.
    pub system: &'a str,
    /// What it is.
    pub properties: &'a Properties,
    /// Its seeds, judged, violating, unjudged, failed.
    pub counted: Counted,
}

impl Tally<'_> {
    /// Whether some decided seed violated the property.
    pub fn violated(&self) -> bool {
        !self.counted.violating.is_empty()
    }

    /// Whether it kept the property on at least `min` judged seeds and left none unknown.
    pub fn settled(&self, min: usize) -> bool {
        !self.violated() && self.counted.unknown() == 0 && self.counted.judged.len() >= min
    }

    /// The share of acknowledged writes lost (or rolled back) per seed, over the seeds that
    /// acknowledged any; `None` when it lost none.
    pub fn lost_share(&self) -> Option<crate::stats::Estimate> {
        if !self.violated() {
            return None;
        }
        let per_seed = |r: &SeedRecord| {
            r.acknowledged_lost().filter(|_| r.acknowledged_writes > 0).map(|n| n as f64 / r.acknowledged_writes as f64)
        };
        self.experiment.estimate(self.system, per_seed).map(|e| e.within(0.0, 1.0))
    }

    /// `EXPERIMENT/SYSTEM`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.experiment.name, self.system)
    }

    /// Why it is not settled: its unknown seeds, or too few judged ones.
    pub fn unsettled(&self, min: usize) -> String {
        let unknowns = self.experiment.unknowns(self.system);
        let mut why = Vec::new();
        if !unknowns.is_empty() {
            why.push(unknowns.text());
        }
        if self.counted.judged.len() < min {
            why.push(format!("{} judged seed(s), {min} needed", self.counted.judged.len()));
        }
        format!("{} in {}: {}", self.system, self.experiment.name, why.join("; "))
    }

    /// Records its counts as figures (`KEY/judged_seeds`, `KEY/violating_seeds`,
    /// `KEY/unknown_seeds`).
    pub fn figures(&self, claim: &mut Claim) {
        let key = self.key();
        claim.figure(format!("{key}/judged_seeds"), self.counted.judged.len() as f64);
        claim.figure(format!("{key}/violating_seeds"), self.counted.violating.len() as f64);
        claim.figure(format!("{key}/unknown_seeds"), self.counted.unknown() as f64);
    }
}

/// The systems of `experiment` whose properties satisfy `subject` (file order), each with
/// `verdict` counted over its seeds.
pub fn tallies<'a>(
    experiment: &'a Experiment,
    subject: impl Fn(&Properties) -> bool,
    verdict: impl Fn(&SeedRecord) -> Option<bool> + Copy,
) -> Vec<Tally<'a>> {
    experiment
        .rows
        .iter()
        .filter_map(|row| {
            let properties = experiment.properties(&row.system).filter(|p| subject(p))?;
            let counted = experiment.counted(&row.system, verdict);
            Some(Tally { experiment, system: row.system.as_str(), properties, counted })
        })
        .collect()
}

/// A property of systems that may be what a safety property needs: measured when a system
/// lacking it violated and the systems having it kept the property in the same experiment.
#[derive(Debug, Clone, Copy)]
pub struct Condition {
    /// The condition, as a verdict names it (`each write is synced before it is acknowledged`).
    pub words: &'static str,
    /// A system having it, in a few words (`synced before the ack`).
    pub having: &'static str,
    /// A system lacking it (`acknowledged before the sync`).
    pub lacking: &'static str,
    /// Whether a system has it.
    pub has: fn(&Properties) -> bool,
    /// The property it is about, as [`other_differences`] names it (left out of the
    /// differences a contrast reports).
    pub property: &'static str,
}

/// The condition claims 6, 10 and 14 can name for a leader-based store: a write is acknowledged
/// only once a majority of its group has it (Raft's commit), not by the leader alone.
pub const MAJORITY_ACK: Condition = Condition {
    words: "a replicated write is acknowledged only once a majority has it (not by the leader alone)",
    having: "acknowledged once a majority has it",
    lacking: "acknowledged by the leader alone",
    has: crate::select::majority_acknowledged,
    property: "replication",
};

/// How `p` stands on `conditions`, in words (`synced before the ack`), the replication
/// condition said only of a replicated leader-based store.
pub fn how(p: &Properties, conditions: &[Condition]) -> String {
    conditions
        .iter()
        .filter(|c| c.property != MAJORITY_ACK.property || p.replication.is_some())
        .map(|c| if (c.has)(p) { c.having } else { c.lacking })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What a violation's contrast found.
#[derive(Debug, Clone)]
pub enum Explanation<'t, 'a> {
    /// The violating system lacks `condition`, and every system of the same experiment having
    /// it kept the property on enough seeds (`holders`).
    By {
        /// The condition.
        condition: Condition,
        /// The systems having it.
        holders: Vec<&'t Tally<'a>>,
    },
    /// A contrast could explain it, but its other side is not settled (why).
    Undecided(String),
    /// No measured contrast explains it.
    None,
}

/// The first of `conditions` that `failing` lacks and whose other side kept the property on at
/// least `min` seeds each: the systems of the same experiment (among `all`) having it and every
/// other of `conditions` that `failing` has (so that a system weaker in another way is not
/// compared with it).
pub fn explain<'t, 'a>(
    failing: &Tally<'a>,
    all: &'t [Tally<'a>],
    conditions: &[Condition],
    min: usize,
) -> Explanation<'t, 'a> {
    let mut undecided = None;
    for condition in conditions.iter().filter(|c| !(c.has)(failing.properties)) {
        let holders: Vec<&Tally> = all
            .iter()
            .filter(|t| t.experiment.name == failing.experiment.name && (condition.has)(t.properties))
            .filter(|t| conditions.iter().all(|c| !(c.has)(failing.properties) || (c.has)(t.properties)))
            .collect();
        if holders.is_empty() || holders.iter().any(|t| t.violated()) {
            continue;
        }
        if let Some(open) = holders.iter().find(|t| !t.settled(min)) {
            undecided.get_or_insert_with(|| format!("{} ({})", open.unsettled(min), condition.words));
            continue;
        }
        return Explanation::By { condition: *condition, holders };
    }
    undecided.map_or(Explanation::None, Explanation::Undecided)
}

/// A violation a measured contrast explains: the condition in a few words and the contrast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained {
    /// The condition (`each write is synced before it is acknowledged`).
    pub gist: String,
    /// The contrast that names it (`quorum-quorum (acknowledged before the sync) violated in
    /// power-loss on seeds 1-5 of 5 judged, while quorum-quorum-batch (synced before the ack)
    /// kept it on seeds 1-5 there`).
    pub contrast: String,
}

impl Explained {
    /// The contrast of `failing` with the `holders` of `condition`.
    pub fn by(failing: &Tally, condition: &Condition, holders: &[&Tally]) -> Explained {
        // The holders that differ from the failing system in the condition alone, if any: the
        // clean contrast; otherwise every holder, with what else it differs in.
        let differences = |t: &Tally| {
            let mut other = other_differences(failing.properties, t.properties);
            other.retain(|d| *d != condition.property);
            other
        };
        let clean: Vec<&&Tally> = holders.iter().filter(|t| differences(t).is_empty()).collect();
        let shown: Vec<&&Tally> = if clean.is_empty() { holders.iter().collect() } else { clean };
        let kept: Vec<String> = shown
            .iter()
            .map(|t| {
                let other = differences(t);
                let also =
                    if other.is_empty() { String::new() } else { format!(" (differing also in {})", other.join(", ")) };
                format!("{} on {}{also}", t.system, seeds(&t.counted.judged))
            })
            .collect();
        Explained {
            gist: condition.words.to_owned(),
            contrast: format!(
                "{} ({}) violated in {} on {} of {} judged, while {} ({}) kept it there",
                failing.system,
                condition.lacking,
                failing.experiment.name,
                seeds(&failing.counted.violating),
                failing.counted.judged.len(),
                kept.join(" and "),
                condition.having
            ),
        }
    }
}

/// What else two systems differ in besides a contrast's condition, in words (`levels`,
/// `ordering`, `durability`, `read repair`, `sloppy quorums`, `anti-entropy`, `store`): a
/// contrast is clean when this is empty, and the ledger says so when it is not.
pub fn other_differences(a: &Properties, b: &Properties) -> Vec<&'static str> {
    let mut differ = vec![
        (a.store != b.store, "store"),
        (a.ordering != b.ordering, "ordering"),
        (a.durability != b.durability, "durability"),
        (a.replication.map(|r| r.ack) != b.replication.map(|r| r.ack), "replication"),
    ];
    if let (Some(x), Some(y)) = (&a.quorums, &b.quorums) {
        differ.extend([
            ((x.r, x.w, x.n) != (y.r, y.w, y.n), "levels"),
            (x.read_writes_back != y.read_writes_back, "read repair"),
            (x.sloppy != y.sloppy, "sloppy quorums"),
            (x.anti_entropy != y.anti_entropy, "anti-entropy"),
        ]);
    }
    differ.into_iter().filter_map(|(differs, what)| differs.then_some(what)).collect()
}

/// What the seeds of every system a safety claim uses say, before words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Violations that no measured contrast explains, in words (`SYSTEM in EXPERIMENT on
    /// seeds 2,4 of 5 judged`).
    Refuted(Vec<String>),
    /// Nothing unexplained violated, but seeds are unknown or too few: why, and how many
    /// seeds are unknown.
    Inconclusive(String, usize),
    /// Every violation is explained by a measured contrast.
    HoldsOnlyWhen(Vec<Explained>),
    /// No violation, every system settled.
    Holds,
}

/// The outcome of `all` (every system the claim uses, in every experiment it uses): each
/// violation is explained by the first of `conditions` with a measured contrast, else by
/// `attribute` (a claim's own contrast, such as claim 8's fault kinds), else it refutes; short
/// of a refutation, anything unsettled makes it inconclusive (see the rule above [`seed_verdict`]).
pub fn outcome(
    all: &[Tally],
    conditions: &[Condition],
    min: usize,
    attribute: impl Fn(&Tally) -> Option<Explained>,
) -> Outcome {
    let (mut refuting, mut open, mut explained) = (Vec::new(), Vec::new(), Vec::new());
    for failing in all.iter().filter(|t| t.violated()) {
        match explain(failing, all, conditions, min) {
            Explanation::By { condition, holders } => explained.push(Explained::by(failing, &condition, &holders)),
            Explanation::Undecided(why) => open.push(why),
            Explanation::None => match attribute(failing) {
                Some(by) => explained.push(by),
                None => refuting.push(violation(failing)),
            },
        }
    }
    if !refuting.is_empty() {
        return Outcome::Refuted(refuting);
    }
    let unsettled: Vec<&Tally> = all.iter().filter(|t| !t.violated() && !t.settled(min)).collect();
    open.extend(unsettled.iter().map(|t| t.unsettled(min)));
    if !open.is_empty() {
        let unknown = unsettled.iter().map(|t| t.counted.unknown()).sum();
        return Outcome::Inconclusive(open.join("; "), unknown);
    }
    if explained.is_empty() {
        Outcome::Holds
    } else {
        Outcome::HoldsOnlyWhen(explained)
    }
}

/// `SYSTEM in EXPERIMENT on seeds 2,4 of 5 judged`.
pub fn violation(t: &Tally) -> String {
    format!(
        "{} in {} on {} of {} judged",
        t.system,
        t.experiment.name,
        seeds(&t.counted.violating),
        t.counted.judged.len()
    )
}

/// The condition of a holds-only-when outcome in words, one part per condition (its
/// contrasts in parentheses), and its gist for the table.
pub fn condition_text(explained: &[Explained], property: &str) -> (String, String) {
    let mut gists: Vec<&str> = Vec::new();
    for e in explained {
        if !gists.contains(&e.gist.as_str()) {
            gists.push(&e.gist);
        }
    }
    let parts: Vec<String> = gists
        .iter()
        .map(|gist| {
            let contrasts: Vec<&str> =
                explained.iter().filter(|e| e.gist == *gist).map(|e| e.contrast.as_str()).collect();
            format!("{gist} ({property}: {})", contrasts.join("; "))
        })
        .collect();
    (parts.join("; and "), gists.join(", "))
}

/// The verdict and reasoning of an outcome, in the words every safety claim shares
/// (`property`: what was counted; `min`: the registered clean seeds), with the gist of a
/// holds-only-when verdict (empty otherwise).
pub fn outcome_verdict(outcome: &Outcome, property: &str, min: usize) -> (Verdict, String, String) {
    match outcome {
        Outcome::Refuted(violations) => (
            Verdict::Refuted,
            format!(
                "{property} violated where no measured contrast names a condition: {} (one violating seed is a \
                 counterexample, whatever other seeds leave unknown)",
                violations.join("; ")
            ),
            String::new(),
        ),
        Outcome::Inconclusive(why, unknown) => (
            Verdict::inconclusive(format!(
                "{unknown} seed(s) the verdict uses are unknown, and nothing unknown counts as a pass; a system \
                 holds a safety property only after {min} judged clean seeds per experiment: {why}"
            )),
            format!("{property}: no violation that refutes, but not every seed is decided"),
            String::new(),
        ),
        Outcome::HoldsOnlyWhen(explained) => {
            let (condition, gist) = condition_text(explained, property);
            let why = format!(
                "every violation of {property} is by a system lacking the condition, in an experiment where the \
                 systems having it kept it on at least {min} judged seeds each; no seed of any system is unknown"
            );
            (Verdict::only_when(condition), why, gist)
        }
        Outcome::Holds => (
            Verdict::Holds,
            format!("{property} kept on every seed: at least {min} judged clean seeds per system and experiment, none unknown"),
            String::new(),
        ),
    }
}

/// An evidence line of `t`: `EXPERIMENT (what it injects), SYSTEM (how): PROPERTY clean on
/// seeds 1-5 (rate < 45.1 % per seed at 95 %)`, with what is unknown.
pub fn tally_line(t: &Tally, how: &str, property: &str) -> String {
    let unknowns = t.experiment.unknowns(t.system);
    let unknown = if unknowns.is_empty() { String::new() } else { format!(" [{}]", unknowns.text()) };
    format!(
        "{} ({}), {} ({how}): {property} {}{unknown}",
        t.experiment.name,
        injected(&t.experiment.name),
        t.system,
        t.counted.text()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::properties_of;

    #[test]
    fn a_contrast_names_what_else_its_systems_differ_in() {
        let p = |system: &str| properties_of(system, POWER_LOSS).expect("a standard system");
        // The batch commit log differs from the periodic one in durability alone.
        assert_eq!(other_differences(&p("quorum-quorum"), &p("quorum-quorum-batch")), ["durability"]);
        // ABD against LWW at QUORUM: the ordering too.
        assert_eq!(other_differences(&p("quorum-abd"), &p("quorum-quorum-batch")), ["ordering", "durability"]);
        assert_eq!(other_differences(&p("quorum-one"), &p("quorum-all")), ["levels"]);
        assert!(other_differences(&p("sqlite-off"), &p("quorum-quorum")).contains(&"store"));
        assert!(other_differences(&p("quorum-quorum"), &p("quorum-quorum")).is_empty());
    }
}
