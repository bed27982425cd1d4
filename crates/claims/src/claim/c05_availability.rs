//! Claim 5: NoSQL stays available under failures; SQL needs complex setups. Judged on each
//! client's time availability during faults (the share of its fault time during which it could
//! complete an operation: README.md, Metrics), per seed, for one system per availability class
//! in each fault experiment ([`crate::select::availability_representatives`]).
//!
//! The contrast is NoSQL (a replicated store that is not SQL: [`select::replicated_nosql`])
//! against SQL ([`select::sql`]): one SQLite server and, where the experiment ran it, replicated
//! SQL (SQLite on Raft). A NoSQL system wins where it was available and every SQL system of the
//! same experiment, replicated ones included, was not: the like-for-like comparison. Where
//! replicated SQL was available and the single server was not, the ledger says so: that
//! availability was bought by replication, not by giving up SQL.

use crate::evidence::{Evidence, Experiment};
use crate::ledger::{percent, Claim, Verdict};
use crate::registry::Registered;
use crate::select;
use crate::stats::{resolve, Estimate, Side};
use crate::{command, SEED_SOURCE};
use runner::run::record::SeedRecord;

use super::fault_experiments::{
    all_fault_commands, inconclusive_unknown, injected, missing, unknown_runs, FAULT_EXPERIMENTS,
};

/// The experiments claim 5 cannot be judged without: one server cut off, the servers split,
/// one server down (the others add to the evidence when present).
pub const REQUIRED_FOR_AVAILABILITY: [&str; 3] = ["isolate-one-node", "partition-halves", "crash-restart"];

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
    let (cells, failed) = measure(&mut claim, evidence);
    if cells.is_empty() {
        return claim.judged(
            Verdict::missing(format!("no fault experiment's results: run `lab run {}`", all_fault_commands())),
            "availability during faults needs the fault experiments",
        );
    }
    if let Some((count, what)) = failed {
        return claim.judged(inconclusive_unknown(count, &what), "a failed run measured no availability");
    }
    decide(claim, &cells, registered.value("available"))
}

/// The availability figure of one seed: the clients' time availability during faults (the
/// share of each client's fault time during which it could complete an operation, summed over
/// clients), `None` when the run had no fault time or predates the measure. Per-operation
/// availability would favour a system that times out over one that refuses at once (the
/// refused client tries again sooner and fails more often).
pub fn time_availability(record: &SeedRecord) -> Option<f64> {
    record.availability_time_faulty()
}

/// One system's availability in one experiment, over seeds.
struct Cell {
    experiment: String,
    system: String,
    /// Its consistency levels in words (`ONE/ONE`, `majority acks`), empty for a single server.
    levels: String,
    replicated: bool,
    /// A SQL store (one SQLite server, or SQLite on Raft).
    sql: bool,
    availability: Estimate,
}

impl Cell {
    fn text(&self) -> String {
        let levels = if self.levels.is_empty() { String::new() } else { format!(" ({})", self.levels) };
        format!("{}{levels} {}", self.system, self.availability.text_with(percent))
    }
}

/// The availability of each system [`select::availability_representatives`] picks in each fault
/// experiment, over seeds: one evidence line per experiment and one figure per system; and the
/// failed runs among them.
fn measure(claim: &mut Claim, evidence: &Evidence) -> (Vec<Cell>, Option<(usize, String)>) {
    let mut cells = Vec::new();
    let mut used: Vec<(&Experiment, &str)> = Vec::new();
    for experiment in FAULT_EXPERIMENTS.iter().filter_map(|name| evidence.experiments.get(*name)) {
        let chosen = select::availability_representatives(experiment);
        let mut here = Vec::new();
        for row in experiment.rows.iter().filter(|r| chosen.contains(&r.system)) {
            used.push((experiment, row.system.as_str()));
            let Some(availability) = experiment.estimate(&row.system, time_availability).map(|e| e.within(0.0, 1.0))
            else {
                continue;
            };
            let properties = experiment.properties(&row.system);
            let levels = properties
                .and_then(|p| p.quorums.as_ref())
                .map(|q| format!("{}/{}", q.read_level.to_uppercase(), q.write_level.to_uppercase()))
                .or_else(|| {
                    properties.and_then(|p| p.replication).map(|r| {
                        let ack = if r.ack == experiment::properties::Ack::Majority { "majority" } else { "async" };
                        format!("{ack} acks")
                    })
                })
                .unwrap_or_default();
            let replicated = properties.is_some_and(|p| p.replicas > 1);
            let sql = properties.is_some_and(select::sql);
            claim.estimate(format!("{}/{}/availability_time_faulty", experiment.name, row.system), &availability);
            here.push(Cell {
                experiment: experiment.name.clone(),
                system: row.system.clone(),
                levels,
                replicated,
                sql,
                availability,
            });
        }
        if !here.is_empty() {
            let parts: Vec<String> = here.iter().map(Cell::text).collect();
            claim.line(format!(
                "{} ({}), time availability of the clients during faults: {}",
                experiment.name,
                injected(&experiment.name),
                parts.join("; ")
            ));
        }
        cells.extend(here);
    }
    let failed = unknown_runs(used.iter().copied().filter(|(e, s)| !e.unknowns(s).failed.is_empty()));
    (cells, failed)
}

/// The verdict's kind from each cell's side: refuted when no NoSQL system was available where
/// every SQL system of the same experiment (replicated SQL included) was not; holds when no NoSQL
/// system was unavailable; otherwise holds only when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// No fault cut a SQL system off: nothing to compare the NoSQL systems with.
    Untested,
    Refuted,
    Holds,
    OnlyWhen,
}

impl Cell {
    /// A replicated store that is not SQL.
    fn nosql(&self) -> bool {
        self.replicated && !self.sql
    }
}

/// The cells of class `winner` available where every cell of class `loser` in the same
/// experiment was unavailable (and there was at least one), by cell index.
fn available_where_unavailable(
    cells: &[Cell],
    sides: &[Side],
    winner: impl Fn(&Cell) -> bool,
    loser: impl Fn(&Cell) -> bool,
) -> Vec<usize> {
    (0..cells.len())
        .filter(|&i| {
            let losers: Vec<usize> =
                (0..cells.len()).filter(|&o| cells[o].experiment == cells[i].experiment && loser(&cells[o])).collect();
            winner(&cells[i])
                && sides[i] == Side::Above
                && !losers.is_empty()
                && losers.iter().all(|&o| sides[o] == Side::Below)
        })
        .collect()
}

/// The wins (a NoSQL system available where every SQL system of its experiment was not) and
/// the fails (a NoSQL system unavailable), by cell index, for `sides`.
fn wins_and_fails(cells: &[Cell], sides: &[Side]) -> (Vec<usize>, Vec<usize>) {
    let wins = available_where_unavailable(cells, sides, Cell::nosql, |c| c.sql);
    let fails = (0..cells.len()).filter(|&i| cells[i].nosql() && sides[i] == Side::Below).collect();
    (wins, fails)
}

/// Replicated SQL available where the single SQL server of its experiment was not, by cell index.
fn replication_wins(cells: &[Cell], sides: &[Side]) -> Vec<usize> {
    available_where_unavailable(cells, sides, |c| c.sql && c.replicated, |c| c.sql && !c.replicated)
}

fn kind(cells: &[Cell], sides: &[Side]) -> Kind {
    let sql_down = cells.iter().zip(sides).any(|(c, s)| c.sql && *s == Side::Below);
    if !sql_down {
        return Kind::Untested;
    }
    match wins_and_fails(cells, sides) {
        (wins, _) if wins.is_empty() => Kind::Refuted,
        (_, fails) if fails.is_empty() => Kind::Holds,
        _ => Kind::OnlyWhen,
    }
}

/// The verdict: reached only when every way the undecided cells (intervals straddling the
/// threshold) could fall gives the same kind; the condition of holds-only-when names the
/// systems measured available and unavailable, and the undecided ones.
fn decide(claim: Claim, cells: &[Cell], threshold: f64) -> Claim {
    let sides: Vec<Side> = cells.iter().map(|c| c.availability.side(threshold)).collect();
    let undecided: Vec<String> = cells
        .iter()
        .zip(&sides)
        .filter(|(_, side)| **side == Side::Straddles)
        .map(|(c, _)| c.availability.undecided(&format!("{} in {}", c.system, c.experiment), threshold, percent))
        .collect();
    let rule =
        format!("available: at least {} of each client's fault time able to complete operations", percent(threshold));
    let Some(kind) = resolve(&sides, |s| kind(cells, s)) else {
        return claim
            .judged(Verdict::inconclusive(undecided.join("; ")), format!("the verdict depends on them ({rule})"));
    };
    let (wins, fails) = wins_and_fails(cells, &sides);
    let list = |indices: &[usize]| {
        indices
            .iter()
            .map(|&i| format!("{} in {}", cells[i].text(), cells[i].experiment))
            .collect::<Vec<_>>()
            .join("; ")
    };
    let open = if undecided.is_empty() {
        String::new()
    } else {
        format!("; undecided, with the same verdict either way: {}", undecided.join("; "))
    };
    let sql = sql_side(cells, &sides, &list);
    match kind {
        Kind::Untested => claim.judged(
            Verdict::inconclusive(format!(
                "no fault made a SQL system unavailable, so no experiment tells whether NoSQL bought \
                 availability ({rule}){open}"
            )),
            sql,
        ),
        Kind::Refuted => claim.judged(
            Verdict::Refuted,
            format!(
                "no NoSQL configuration stayed available in an experiment where every SQL system did not \
                 ({rule}){open}; {sql}"
            ),
        ),
        Kind::Holds => claim.judged(
            Verdict::Holds,
            format!(
                "every NoSQL configuration stayed available under every fault, where every SQL system did not: {} \
                 ({rule}){open}; {sql}",
                list(&wins)
            ),
        ),
        Kind::OnlyWhen => claim
            .judged(
                Verdict::only_when(format!("{}{open}", by_level(cells, &sides))),
                format!(
                    "NoSQL systems were measured on both sides of the threshold: available where every SQL system \
                     was not {}; unavailable {} ({rule}); {sql}",
                    list(&wins),
                    list(&fails)
                ),
            )
            .gist(format!(
                "the system and fault are among those measured available ({} available where every SQL system was \
                 not, {} unavailable)",
                wins.len(),
                fails.len()
            )),
    }
}

/// What the SQL side was: one SQLite server, or also replicated SQL, and where replication
/// alone bought availability.
fn sql_side(cells: &[Cell], sides: &[Side], list: &dyn Fn(&[usize]) -> String) -> String {
    let replicated: Vec<usize> = (0..cells.len()).filter(|&i| cells[i].sql && cells[i].replicated).collect();
    if replicated.is_empty() {
        return "the SQL side tested is one SQLite server, not a replicated or clustered SQL setup".to_owned();
    }
    let bought = replication_wins(cells, sides);
    let down: Vec<usize> = replicated.iter().copied().filter(|&i| sides[i] == Side::Below).collect();
    let bought = if bought.is_empty() {
        "replicated SQL was nowhere available where the single server was not".to_owned()
    } else {
        format!("replication, not NoSQL, kept SQL available where the single server was not: {}", list(&bought))
    };
    let down = if down.is_empty() { "none".to_owned() } else { list(&down) };
    format!(
        "the SQL side includes replicated SQL (SQLite on Raft: a leader and two followers, etcd's 1-2 s election \
         timeout), so a NoSQL system wins only where every SQL system, replicated ones included, was unavailable; \
         {bought}; replicated SQL unavailable: {down}"
    )
}

/// The condition, from the contrast: for each replicated system (with its consistency levels),
/// the faults it was measured available under and those it was not (`quorum-one (ONE/ONE)
/// available under crash-restart (98.7 %), unavailable under isolate-one-node (85.4 %)`).
fn by_level(cells: &[Cell], sides: &[Side]) -> String {
    let mut systems: Vec<(&str, &str)> = Vec::new();
    for c in cells.iter().filter(|c| c.nosql()) {
        if !systems.contains(&(c.system.as_str(), c.levels.as_str())) {
            systems.push((&c.system, &c.levels));
        }
    }
    let under = |system: &str, side: Side| -> String {
        let list: Vec<String> = cells
            .iter()
            .zip(sides)
            .filter(|(c, s)| c.nosql() && c.system == system && **s == side)
            .map(|(c, _)| format!("{} ({})", c.experiment, percent(c.availability.mean)))
            .collect();
        if list.is_empty() {
            "under none".to_owned()
        } else {
            format!("under {}", list.join(", "))
        }
    };
    let parts: Vec<String> = systems
        .iter()
        .map(|(system, levels)| {
            format!(
                "{system} ({levels}) available {}, unavailable {}",
                under(system, Side::Above),
                under(system, Side::Below)
            )
        })
        .collect();
    format!("the system and the fault are among those measured available: {}", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The judgment with the standard registration's thresholds.
    fn availability(evidence: &Evidence) -> Claim {
        super::availability(evidence, &crate::registry::standard().claim(5))
    }
    use crate::testing::{complete, evidence, from_records, row, runs};
    use runner::run::record::SeedRecord;

    /// `system` on seeds 1-5 with `ok` of its 100 operations during faults ok on seed 3, the
    /// others off by `spread` per seed.
    fn available(system: &str, ok: u64, spread: i64) -> Vec<SeedRecord> {
        runs(system, 5, |seed, r| {
            r.faulty_client_us = 100_000;
            r.faulty_client_ok_us = (ok as i64 + spread * (seed as i64 - 3)).clamp(0, 100) as u64 * 1000;
        })
    }

    fn isolated(systems: Vec<Vec<SeedRecord>>) -> Evidence {
        complete(from_records(&[("isolate-one-node", systems.concat())]))
    }

    #[test]
    fn availability_reaches_each_verdict() {
        let e = isolated(vec![
            available("sqlite-full", 0, 0),
            available("quorum-one", 99, 0),
            available("quorum-all", 0, 0),
        ]);
        let claim = availability(&e);
        let Verdict::HoldsOnlyWhen { condition } = &claim.verdict else { panic!("{claim:?}") };
        assert!(
            condition
                .contains("quorum-one (ONE/ONE) available under isolate-one-node (99.0 %), unavailable under none"),
            "{condition}"
        );
        assert!(
            condition.contains("quorum-all (ALL/ALL) available under none, unavailable under isolate-one-node (0.0 %)"),
            "{condition}"
        );
        assert!(claim.reasoning.contains("one SQLite server"), "{}", claim.reasoning);
        assert_eq!(claim.figures["isolate-one-node/quorum-one/availability_time_faulty"], 0.99);

        let e = isolated(vec![available("sqlite-full", 0, 0), available("quorum-one", 99, 0)]);
        assert_eq!(availability(&e).verdict, Verdict::Holds);
        let e = isolated(vec![available("sqlite-full", 0, 0), available("quorum-one", 50, 0)]);
        assert_eq!(availability(&e).verdict, Verdict::Refuted, "the quorum store as unavailable as SQLite");
        let e = isolated(vec![available("sqlite-full", 100, 0), available("quorum-one", 99, 0)]);
        let Verdict::Inconclusive { why } = availability(&e).verdict else { panic!("no fault cut SQLite off") };
        assert!(why.starts_with("no fault made a SQL system unavailable"), "{why}");

        // 93-97 % over the seeds against 95 %: the seeds do not decide.
        let e = isolated(vec![available("sqlite-full", 0, 0), available("quorum-one", 95, 2)]);
        let claim = availability(&e);
        let Verdict::Inconclusive { why } = &claim.verdict else { panic!("{claim:?}") };
        assert!(why.contains("quorum-one in isolate-one-node") && why.contains("straddles 95.0 %"), "{why}");

        // A failed run measured nothing: inconclusive, with the count.
        let mut broken = available("quorum-one", 99, 0);
        broken[4].error = Some("stuck".into());
        let claim = availability(&isolated(vec![available("sqlite-full", 0, 0), broken]));
        let Verdict::Inconclusive { why } = &claim.verdict else { panic!("{claim:?}") };
        assert!(why.starts_with("1 run(s)") && why.contains("seed 5"), "{why}");
    }

    #[test]
    fn replicated_sql_in_the_comparison_takes_the_win_from_nosql_where_it_stays_available() {
        use crate::testing::RAFT_MAJORITY;
        // Replicated SQL as available as the quorum store where the single server was not: no
        // NoSQL win, and the ledger says replication bought it.
        let e = isolated(vec![
            available("sqlite-full", 0, 0),
            available(RAFT_MAJORITY, 99, 0),
            available("quorum-one", 99, 0),
        ]);
        let claim = availability(&e);
        assert_eq!(claim.verdict, Verdict::Refuted, "{claim:?}");
        assert!(claim.reasoning.contains("replication, not NoSQL, kept SQL available"), "{}", claim.reasoning);
        assert!(claim.reasoning.contains("sqlite-raft-majority (majority acks)"), "{}", claim.reasoning);
        // Replicated SQL down too (an election longer than the fault): the quorum store wins.
        let e = isolated(vec![
            available("sqlite-full", 0, 0),
            available(RAFT_MAJORITY, 40, 0),
            available("quorum-one", 99, 0),
        ]);
        let claim = availability(&e);
        assert_eq!(claim.verdict, Verdict::Holds, "{claim:?}");
        assert!(claim.reasoning.contains("replicated SQL unavailable: sqlite-raft-majority"), "{}", claim.reasoning);
        // Replicated SQL is not NoSQL: it never counts as a NoSQL failure either.
        let e = isolated(vec![available("sqlite-full", 0, 0), available(RAFT_MAJORITY, 40, 0)]);
        assert_eq!(availability(&e).verdict, Verdict::Refuted, "no NoSQL system measured");
    }

    #[test]
    fn availability_needs_the_single_fault_experiments() {
        assert!(matches!(availability(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
        let Verdict::NotMeasured { run } = availability(&evidence(&[("power-loss", vec![row("quorum-one")])])).verdict
        else {
            panic!("the single-fault experiments are required")
        };
        assert!(run.contains("isolate-one-node, partition-halves, crash-restart"), "{run}");
        assert!(run.contains("lab run experiments/isolate-one-node.toml"), "{run}");
    }
}
