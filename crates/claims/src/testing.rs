//! Hand-built evidence for the judgments' unit tests: rows named as the standard experiments
//! name their systems, each with the properties those systems have there; the fault
//! experiments completed with empty results; a small scaling sweep.

use std::collections::BTreeMap;

use experiment::properties::{
    Ack, Durability, Ordering, Properties, Quorums, Replication, SqliteBegin, SqliteJournal, SqliteSettings,
    SqliteSynchronous,
};
use runner::run::record::{Check, Convergence, SeedRecord, TxnJudged};
use runner::run::table::{aggregate, Row};

use crate::claim::fault_experiments::FAULT_EXPERIMENTS;
use crate::evidence::{Evidence, Experiment, Scaling, ScalingPoint, ScalingRow};

/// LWW at QUORUM, blocking read repair, strict quorums (in power-loss: a periodic commit log).
pub const STRICT: &str = "quorum-quorum";
/// The same without read repair.
pub const NO_REPAIR: &str = "quorum-quorum-no-repair";
/// The same with sloppy quorums.
pub const SLOPPY: &str = "quorum-quorum-sloppy";
/// The periodic commit log of power-loss.
pub const PERIODIC: &str = "quorum-quorum";
/// Its batch control.
pub const BATCH: &str = "quorum-quorum-batch";
/// SQLite syncing every commit.
pub const SQLITE_FULL: &str = "sqlite-full";
/// SQLite in WAL mode syncing at checkpoints.
pub const SQLITE_NORMAL: &str = "sqlite-normal";
/// SQLite never syncing.
pub const SQLITE_OFF: &str = "sqlite-off";

fn sqlite(synchronous: SqliteSynchronous) -> Properties {
    Properties {
        store: "sqlite".into(),
        servers: 1,
        replicas: 1,
        quorums: None,
        ordering: Ordering::SingleWriter,
        durability: synchronous.durability(),
        sqlite: Some(SqliteSettings {
            journal: SqliteJournal::Wal,
            synchronous,
            connections: 1,
            begin: SqliteBegin::Immediate,
            transactions: true,
        }),
        replication: None,
    }
}

fn quorum(level: &str, k: usize, ordering: Ordering, durability: Durability) -> Properties {
    Properties {
        store: "quorum".into(),
        servers: 3,
        replicas: 3,
        quorums: Some(Quorums {
            n: 3,
            r: k,
            w: k,
            read_level: level.into(),
            write_level: level.into(),
            read_writes_back: true,
            sloppy: false,
            anti_entropy: false,
        }),
        ordering,
        durability,
        sqlite: None,
        replication: None,
    }
}

fn raft(ack: Ack) -> Properties {
    Properties {
        store: "sqlite-raft".into(),
        servers: 3,
        replicas: 3,
        quorums: None,
        ordering: Ordering::SingleWriter,
        durability: Durability::SyncedBeforeAck,
        sqlite: None,
        replication: Some(Replication { ack, follower_reads: false, shards: 1 }),
    }
}

/// SQLite on Raft, majority acknowledgement.
pub const RAFT_MAJORITY: &str = "sqlite-raft-majority";
/// SQLite on Raft, asynchronous acknowledgement.
pub const RAFT_ASYNC: &str = "sqlite-raft-async";

/// The properties `system` has in the standard experiment `experiment` (`None` for a name
/// no standard experiment uses).
pub fn properties_of(system: &str, experiment: &str) -> Option<Properties> {
    let log = if experiment == "power-loss" { Durability::SyncedAfterAck } else { Durability::SyncedBeforeAck };
    let lww = Ordering::LastWriteWins;
    let mut properties = match system {
        "sqlite-full" => sqlite(SqliteSynchronous::Full),
        "sqlite-normal" => sqlite(SqliteSynchronous::Normal),
        "sqlite-off" => sqlite(SqliteSynchronous::Off),
        "quorum-one" => quorum("one", 1, lww, log),
        "quorum-quorum" => quorum("quorum", 2, lww, log),
        "quorum-all" => quorum("all", 3, lww, log),
        "quorum-abd" => quorum("quorum", 2, Ordering::LogicalTimestamps, log),
        "quorum-quorum-batch" | "quorum-quorum-no-repair" | "quorum-quorum-sloppy" => {
            quorum("quorum", 2, lww, Durability::SyncedBeforeAck)
        }
        // The transactional experiments' SQLite systems (see `txn_evidence`).
        "sqlite-1" | "sqlite-txn" | "sqlite-deferred" | "sqlite-steps" => {
            let mut p = sqlite(SqliteSynchronous::Full);
            if let Some(s) = p.sqlite.as_mut() {
                s.connections = if system == "sqlite-1" { 1 } else { 16 };
                s.begin = if system == "sqlite-deferred" { SqliteBegin::Deferred } else { SqliteBegin::Immediate };
                s.transactions = system != "sqlite-steps";
            }
            p
        }
        "quorum" => quorum("quorum", 2, lww, Durability::SyncedBeforeAck),
        RAFT_MAJORITY => raft(Ack::Majority),
        RAFT_ASYNC => raft(Ack::Async),
        _ => return None,
    };
    if let Some(q) = properties.quorums.as_mut() {
        q.read_writes_back = system != "quorum-quorum-no-repair";
        q.sloppy = system == "quorum-quorum-sloppy";
    }
    Some(properties)
}

/// A row of `system` with every count zero (no seed failed, two seeds ran).
pub fn row(system: &str) -> Row {
    let mut row = aggregate(&[], &[system.to_owned()], "linearizable").remove(0);
    row.seeds = 2;
    row.check_passed = 2;
    row.check_decided = 2;
    row.stale_reads = Some(0);
    row.lost_writes = Some(0);
    row
}

/// Evidence holding these experiments, each run with seeds 1 and 2, each system with the
/// properties it has in the standard experiments.
pub fn evidence(experiments: &[(&str, Vec<Row>)]) -> Evidence {
    let mut evidence = Evidence::default();
    for (name, rows) in experiments {
        let properties: BTreeMap<String, Properties> =
            rows.iter().filter_map(|r| properties_of(&r.system, name).map(|p| (r.system.clone(), p))).collect();
        evidence.experiments.insert(
            (*name).to_owned(),
            Experiment {
                name: (*name).to_owned(),
                seeds: vec![1, 2],
                rows: rows.clone(),
                records: Vec::new(),
                configs: Vec::new(),
                properties,
            },
        );
    }
    evidence
}

/// The same evidence with every fault-experiment system renamed by `rename`: what a user's
/// own experiment with other names looks like.
pub fn renamed(evidence: &Evidence, rename: impl Fn(&str) -> String) -> Evidence {
    let mut renamed = evidence.clone();
    for experiment in renamed.experiments.values_mut() {
        for row in &mut experiment.rows {
            row.system = rename(&row.system);
        }
        for record in &mut experiment.records {
            record.system = rename(&record.system);
            record.properties = properties_of(&record.system, &experiment.name).or(record.properties.take());
        }
        experiment.properties =
            std::mem::take(&mut experiment.properties).into_iter().map(|(s, p)| (rename(&s), p)).collect();
    }
    renamed
}

/// `e` with an empty result for every standard fault experiment it lacks (the required
/// experiments present, contributing nothing).
pub fn complete(mut e: Evidence) -> Evidence {
    for name in FAULT_EXPERIMENTS {
        if !e.experiments.contains_key(name) {
            e.experiments.extend(evidence(&[(name, Vec::new())]).experiments);
        }
    }
    e
}

/// A scaling series of `system`: `nodes` at `level`, saturating at `saturation` ok/s.
pub fn series(system: &str, nodes: usize, level: &str, saturation: f64) -> ScalingRow {
    ScalingRow {
        system: system.into(),
        nodes,
        level: level.into(),
        mix: "-".into(),
        commitlog: "-".into(),
        stable_points: 15,
        overloaded_points: 0,
        unsaturated_seeds: Vec::new(),
        saturation_ok_per_s: saturation,
        saturation_min_ok_per_s: saturation,
        saturation_max_ok_per_s: saturation,
        saturation_by_seed: [(1, saturation)].into(),
        knee_clients: 16,
        p99_ms_at_saturation: Some(5.0),
        speedup_vs_3: None,
        efficiency: None,
        efficiency_min: None,
        efficiency_max: None,
        model_bound_ok_per_s: None,
        messages_per_op: None,
        messages_per_op_min: None,
        messages_per_op_max: None,
        syncs_per_op: None,
        syncs_per_op_min: None,
        syncs_per_op_max: None,
        errors: 0,
    }
}

/// A scaling sweep: 3 and 5 nodes at ONE and ALL (5 nodes saturating at `five_one` and
/// `five_all`), and SQLite capped near its serial bound without collapsing; seeds 1-5, each
/// series' saturation spread by ±0.2 % around its value.
pub fn sweep(five_one: f64, five_all: f64) -> Evidence {
    sweep_spread(five_one, five_all, 0.002)
}

/// [`sweep`] with each seed's saturation off by `spread` × (seed - 3) of its value.
pub fn sweep_spread(five_one: f64, five_all: f64, spread: f64) -> Evidence {
    let mut rows = vec![
        series("quorum-3-one", 3, "one", 3000.0),
        series("quorum-3-all", 3, "all", 2900.0),
        series("quorum-5-one", 5, "one", five_one),
        series("quorum-5-all", 5, "all", five_all),
    ];
    for r in rows.iter_mut() {
        let base = if r.level == "one" { 3000.0 } else { 2900.0 };
        r.efficiency = Some(r.saturation_ok_per_s / base / (r.nodes as f64 / 3.0));
        (r.efficiency_min, r.efficiency_max) = (r.efficiency, r.efficiency);
    }
    let mut sqlite = series("sqlite", 1, "-", 9000.0);
    sqlite.model_bound_ok_per_s = Some(9500.0);
    rows.push(sqlite);
    let mut points = Vec::new();
    for row in &rows {
        for seed in 1..=5u64 {
            // The 3-node bases stay put, so that each seed's spread shows in the efficiencies.
            let off = if row.nodes == 3 { 0.0 } else { spread * (seed as f64 - 3.0) };
            let top = row.saturation_ok_per_s * (1.0 + off);
            for (clients, share, p99) in [(4, 0.55, 1.0), (16, 1.0, 3.0), (128, 0.99, 30.0)] {
                let mut point = ScalingPoint::new(&row.system, seed, clients, top * share, Some(p99));
                if row.level != "-" {
                    // Each operation: a request, N = 3 replica messages and their replies, and
                    // the answer; a sync for every write of the 1:1 mix, on each of 3 replicas.
                    (point.messages_per_op, point.syncs_per_op) = (Some(8.0), Some(1.5));
                }
                points.push(point);
            }
        }
    }
    Evidence {
        scaling: Some(Scaling { seeds: (1..=5).collect(), model: vec!["CPU per frame 10 us".into()], rows, points }),
        ..Evidence::default()
    }
}

/// A completed run of `system` on `seed`: 100 operations, all ok, 50 of them during faults,
/// linearizable, nothing stale or lost of 40 acknowledged writes, replicas agreeing at once
/// (for a replicated system), 2 ms reads and writes.
pub fn record(system: &str, seed: u64) -> SeedRecord {
    let mut r = SeedRecord::failed(system, seed, String::new());
    r.error = None;
    r.ops = 100;
    r.ok = 100;
    r.faulty_ops = 50;
    r.faulty_ok = 50;
    r.faulty_client_us = 3_000_000;
    r.faulty_client_ok_us = 3_000_000;
    r.healthy_ops = 50;
    r.healthy_ok = 50;
    r.check = Check::Linearizable;
    r.stale_reads = Some(0);
    r.lost_writes = Some(0);
    r.acknowledged_writes = 40;
    r.convergence = if system.starts_with("sqlite") { Convergence::NotReplicated } else { Convergence::AfterMs(0) };
    r.latency_us = [(2_000, 100)].into_iter().collect();
    r.write_latency_us = [(2_000, 40)].into_iter().collect();
    r.duration_ms = 10_000;
    r.all_ops = 110;
    r
}

/// `system` on seeds 1 to `n`, each record changed by `edit(seed, record)`.
pub fn runs(system: &str, n: u64, edit: impl Fn(u64, &mut SeedRecord)) -> Vec<SeedRecord> {
    (1..=n)
        .map(|seed| {
            let mut r = record(system, seed);
            edit(seed, &mut r);
            r
        })
        .collect()
}

/// The table's check label for these records, as `lab run` would name it from the workload:
/// the transactional checks when the records carry them, else linearizability.
fn check_label(records: &[SeedRecord]) -> &'static str {
    match records.iter().map(|r| r.check).find(|c| *c != Check::Unknown && *c != Check::NotRun) {
        Some(Check::Serializable | Check::NotSerializable) => "serializable",
        Some(Check::BankValid | Check::BankInvalid) => "bank-valid",
        Some(Check::SetValid | Check::SetInvalid) => "set-valid",
        _ => "linearizable",
    }
}

/// Evidence holding these experiments' records, aggregated into rows as `lab claims` does,
/// each system with the properties it has in the standard experiments (also in its records).
pub fn from_records(experiments: &[(&str, Vec<SeedRecord>)]) -> Evidence {
    let mut evidence = Evidence::default();
    for (name, records) in experiments {
        let mut systems: Vec<String> = Vec::new();
        for r in records {
            if !systems.contains(&r.system) {
                systems.push(r.system.clone());
            }
        }
        let mut records = records.clone();
        for r in &mut records {
            r.properties = properties_of(&r.system, name);
        }
        let mut seeds: Vec<u64> = records.iter().map(|r| r.seed).collect();
        seeds.sort_unstable();
        seeds.dedup();
        let properties: BTreeMap<String, Properties> =
            systems.iter().filter_map(|s| properties_of(s, name).map(|p| (s.clone(), p))).collect();
        evidence.experiments.insert(
            (*name).to_owned(),
            Experiment {
                name: (*name).to_owned(),
                seeds,
                rows: aggregate(&records, &systems, check_label(&records)),
                records,
                configs: Vec::new(),
                properties,
            },
        );
    }
    evidence
}

/// A transactional workload's runs of one system, for [`txn_evidence`]: its seeds, the seeds
/// whose integrity broke and the seeds the checker could not decide.
#[derive(Debug, Clone)]
pub struct TxnRun {
    /// The system (a name [`properties_of`] knows).
    pub system: &'static str,
    /// Seeds 1 to this.
    pub seeds: u64,
    /// Seeds that broke integrity (a broken invariant, an anomaly).
    pub broken: Vec<u64>,
    /// Seeds the checker left unknown.
    pub unknown: Vec<u64>,
}

impl TxnRun {
    /// Every seed clean.
    pub fn clean(system: &'static str, seeds: u64) -> Self {
        Self { system, seeds, broken: Vec::new(), unknown: Vec::new() }
    }

    /// `broken` seeds broke integrity.
    pub fn broken(system: &'static str, seeds: u64, broken: &[u64]) -> Self {
        Self { broken: broken.to_vec(), ..Self::clean(system, seeds) }
    }

    /// `unknown` seeds were not decided.
    pub fn unknown(system: &'static str, seeds: u64, unknown: &[u64]) -> Self {
        Self { unknown: unknown.to_vec(), ..Self::clean(system, seeds) }
    }

    /// Its records in the bank (`bank == true`) or the list-append experiment.
    fn records(&self, bank: bool) -> Vec<SeedRecord> {
        runs(self.system, self.seeds, |seed, r| {
            let broken = self.broken.contains(&seed);
            r.check = match (bank, broken) {
                _ if self.unknown.contains(&seed) => Check::Unknown,
                (true, false) => Check::BankValid,
                (true, true) => Check::BankInvalid,
                (false, false) => Check::Serializable,
                (false, true) => Check::NotSerializable,
            };
            (r.stale_reads, r.lost_writes) = (None, None);
            let mut txn = TxnJudged { committed: 60, aborted: 5, indeterminate: 1, ..TxnJudged::default() };
            if bank {
                txn.invariant_violations = Some(u64::from(broken) * 3);
            } else {
                txn.strongest = Some(if broken { "read-committed" } else { "serializable" }.to_owned());
                if broken {
                    txn.anomalies.insert("G-single".to_owned(), 2);
                }
            }
            r.txn = Some(txn);
        })
    }
}

/// Evidence holding the bank and list-append experiments with these runs (each in both).
pub fn txn_evidence(runs: &[TxnRun]) -> Evidence {
    let bank: Vec<SeedRecord> = runs.iter().flat_map(|r| r.records(true)).collect();
    let list_append: Vec<SeedRecord> = runs.iter().flat_map(|r| r.records(false)).collect();
    from_records(&[("bank", bank), ("list-append", list_append)])
}

/// Evidence holding the contention experiments: `(system, light ok/s, heavy ok/s)` on seeds 1
/// to 5, each seed's light figure the given one times `1 + (seed - 3) * spread` and its heavy
/// figure times `1 - (seed - 3) * spread` (so that ratios spread too).
pub fn contention_evidence(systems: &[(&str, f64, f64)], spread: f64) -> Evidence {
    let records = |heavy: bool| -> Vec<SeedRecord> {
        systems
            .iter()
            .flat_map(|(system, light, loaded)| {
                let (rate, sign) = if heavy { (*loaded, -1.0) } else { (*light, 1.0) };
                runs(system, 5, move |seed, r| {
                    let per_s = rate * (1.0 + sign * (seed as f64 - 3.0) * spread);
                    r.ok = (per_s * r.duration_ms as f64 / 1000.0).round() as u64;
                    r.ops = r.ok + 10;
                    r.fail = 10;
                    r.check = Check::Serializable;
                    r.txn = Some(TxnJudged { committed: r.ok, aborted: 10, ..TxnJudged::default() });
                })
            })
            .collect()
    };
    from_records(&[("contention-light", records(false)), ("contention-heavy", records(true))])
}
