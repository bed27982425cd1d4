//! Loading a results directory into typed evidence: the fault experiments (each
//! `NAME/experiment.json` + `runs.jsonl`, aggregated into table rows), the scaling sweep
//! (`scaling/points.csv`, `table.json`, `summary.md`), the staleness experiment
//! (`staleness/table.json`) and the engines benchmark (`engines/table.json`). Anything missing
//! is `None` (the claims that need it are "not measured"); anything unreadable or corrupt is an
//! error naming the file (and line) at fault.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use experiment::properties::Properties;

use crate::ledger::seeds;
use crate::stats::{Counted, Estimate};

use runner::run::record::SeedRecord;
use runner::run::table::{aggregate, Row};
use runner::run::validate::{self, Completeness};

/// Everything the claims are judged on.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// Fault experiments by name.
    pub experiments: BTreeMap<String, Experiment>,
    /// The scaling sweep.
    pub scaling: Option<Scaling>,
    /// The SQL side of the scaling sweep (`scaling-sql`: one SQLite server and SQLite on Raft
    /// under the same capacity model and seeds).
    pub scaling_sql: Option<Scaling>,
    /// The staleness experiment.
    pub staleness: Option<Staleness>,
    /// The engines benchmark (real disk).
    pub engines: Option<Engines>,
}

/// One fault experiment's results.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// Its name.
    pub name: String,
    /// The seeds with a record.
    pub seeds: Vec<u64>,
    /// One row per system, in file order.
    pub rows: Vec<Row>,
    /// Every seed record (what a row leaves out: each seed's faults).
    pub records: Vec<SeedRecord>,
    /// Each system's configuration, described (`experiment.json`'s `configs`).
    pub configs: Vec<(String, String)>,
    /// What each system is, from its records (systems whose records carry none are absent:
    /// results written before records carried properties).
    pub properties: BTreeMap<String, Properties>,
}

impl Experiment {
    /// The row of `system`.
    pub fn row(&self, system: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.system == system)
    }

    /// What `system` is, when its records say.
    pub fn properties(&self, system: &str) -> Option<&Properties> {
        self.properties.get(system)
    }

    /// The rows (in file order) of the systems whose properties satisfy `predicate`.
    pub fn rows_where(&self, predicate: impl Fn(&Properties) -> bool) -> Vec<&Row> {
        self.rows.iter().filter(|r| self.properties(&r.system).is_some_and(&predicate)).collect()
    }

    /// The first row (in file order) of a system whose properties satisfy `predicate`, if it
    /// completed a seed.
    pub fn row_where(&self, predicate: impl Fn(&Properties) -> bool) -> Option<&Row> {
        self.rows_where(predicate).into_iter().find(|r| r.seeds > r.errors)
    }

    /// The records of `system`, in seed order.
    pub fn records_of<'a>(&'a self, system: &'a str) -> impl Iterator<Item = &'a SeedRecord> + 'a {
        self.records.iter().filter(move |r| r.system == system)
    }

    /// `figure` on each seed of `system` whose run completed (a seed for which `figure` gives
    /// `None` is left out), as an estimate over seeds; `None` when no seed gave one.
    pub fn estimate(&self, system: &str, figure: impl Fn(&SeedRecord) -> Option<f64>) -> Option<Estimate> {
        Estimate::from_pairs(
            self.records_of(system).filter(|r| r.error.is_none()).filter_map(|r| figure(r).map(|v| (r.seed, v))),
        )
    }

    /// A safety property of `system` counted over its seeds: `verdict` says, for a completed
    /// run, `Some(true)` when the seed violated the property, `Some(false)` when it kept it and
    /// `None` when it could not be judged; failed runs are counted as failed.
    pub fn counted(&self, system: &str, verdict: impl Fn(&SeedRecord) -> Option<bool>) -> Counted {
        let mut counted = Counted::default();
        for record in self.records_of(system) {
            if record.error.is_some() {
                counted.failed.push(record.seed);
                continue;
            }
            match verdict(record) {
                Some(violated) => {
                    counted.judged.push(record.seed);
                    if violated {
                        counted.violating.push(record.seed);
                    }
                }
                None => counted.unjudged.push(record.seed),
            }
        }
        counted
    }

    /// `system`'s seeds that leave something unknown: failed runs, checker verdicts that are
    /// not decided, keys without a final read.
    pub fn unknowns(&self, system: &str) -> Unknowns {
        let mut unknowns = Unknowns::default();
        for record in self.records_of(system) {
            if record.error.is_some() {
                unknowns.failed.push(record.seed);
            } else {
                if !record.check.decided() {
                    unknowns.check_unknown.push(record.seed);
                }
                if record.unjudged_keys > 0 {
                    unknowns.unjudged_keys += record.unjudged_keys;
                    unknowns.unjudged_seeds.push(record.seed);
                }
            }
        }
        unknowns
    }

    /// `system`'s configuration in `experiment`, as `experiment.json`'s `configs` describe it
    /// (`quorum: 3 nodes, n=3, r=quorum w=quorum, lww, commit log batch, ...`, `sqlite: journal
    /// wal, synchronous=full`); `None` when the evidence does not carry it.
    pub fn config(&self, system: &str) -> Option<&str> {
        self.configs.iter().find(|(s, _)| s == system).map(|(_, c)| c.as_str())
    }
}

/// What one system's seeds leave unknown in one experiment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unknowns {
    /// Seeds whose run failed.
    pub failed: Vec<u64>,
    /// Seeds whose consistency check was not decided (the checker's deadline passed).
    pub check_unknown: Vec<u64>,
    /// Keys, over all seeds, with acknowledged writes and no successful final read.
    pub unjudged_keys: u64,
    /// The seeds that had such keys.
    pub unjudged_seeds: Vec<u64>,
}

impl Unknowns {
    /// Nothing unknown.
    pub fn is_empty(&self) -> bool {
        self.failed.is_empty() && self.check_unknown.is_empty() && self.unjudged_keys == 0
    }

    /// `2 runs failed (seeds 3,4); check unknown on seed 5; 3 keys unjudged (seed 1)`; empty
    /// when nothing is unknown.
    pub fn text(&self) -> String {
        let mut parts = Vec::new();
        if !self.failed.is_empty() {
            parts.push(format!("{} run(s) failed ({})", self.failed.len(), seeds(&self.failed)));
        }
        if !self.check_unknown.is_empty() {
            parts.push(format!("checker verdict unknown on {}", seeds(&self.check_unknown)));
        }
        if self.unjudged_keys > 0 {
            parts.push(format!("{} key(s) without a final read ({})", self.unjudged_keys, seeds(&self.unjudged_seeds)));
        }
        parts.join("; ")
    }
}

impl Evidence {
    /// The row of `system` in experiment `name`, if both were run (and the system completed at
    /// least one seed).
    pub fn row(&self, name: &str, system: &str) -> Option<&Row> {
        self.experiments.get(name)?.row(system).filter(|r| r.seeds > r.errors)
    }
}

/// A scaling series' row (`scaling/table.json`): the row the scaling report writes.
pub use runner::scaling::report::Row as ScalingRow;

/// One point of the sweep on one seed (`scaling/points.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingPoint {
    /// The series.
    pub series: String,
    /// The run's seed.
    pub seed: u64,
    /// Clients (offered load).
    pub clients: usize,
    /// ok/s.
    pub ok_per_s: f64,
    /// p99 latency, ms.
    pub p99_ms: Option<f64>,
    /// Whether its window was steady state (`status` `stable`); an overloaded point is in no
    /// figure.
    pub stable: bool,
    /// The run's messages per ok operation.
    pub messages_per_op: Option<f64>,
    /// The run's commit-log syncs per ok operation (`None` when not counted).
    pub syncs_per_op: Option<f64>,
}

impl ScalingPoint {
    /// A stable point with no message or sync counts (for tests and hand-made sweeps).
    pub fn new(series: &str, seed: u64, clients: usize, ok_per_s: f64, p99_ms: Option<f64>) -> Self {
        Self {
            series: series.to_owned(),
            seed,
            clients,
            ok_per_s,
            p99_ms,
            stable: true,
            messages_per_op: None,
            syncs_per_op: None,
        }
    }
}

/// The scaling sweep.
#[derive(Debug, Clone, Default)]
pub struct Scaling {
    /// The seeds it ran, ascending (the rows' `saturation_by_seed`).
    pub seeds: Vec<u64>,
    /// The capacity model's description (summary.md's "Model" lines).
    pub model: Vec<String>,
    /// One row per series, every figure combined over the seeds.
    pub rows: Vec<ScalingRow>,
    /// Every point of every seed.
    pub points: Vec<ScalingPoint>,
}

/// A series' curve point: one number of clients, over every seed that completed it.
#[derive(Debug, Clone, PartialEq)]
pub struct CurvePoint {
    /// Clients (offered load).
    pub clients: usize,
    /// ok/s, the mean over seeds.
    pub ok_per_s: f64,
    /// p99 latency, ms, the median over seeds (`None` when no seed has one).
    pub p99_ms: Option<f64>,
}

impl Scaling {
    /// The curve of series `system`, by clients, each point combined over the seeds as the
    /// table's figures are (throughput: the mean; latency: the median).
    pub fn curve(&self, system: &str) -> Vec<CurvePoint> {
        let mut by_clients: BTreeMap<usize, Vec<&ScalingPoint>> = BTreeMap::new();
        for p in self.points.iter().filter(|p| p.series == system) {
            by_clients.entry(p.clients).or_default().push(p);
        }
        by_clients
            .into_iter()
            .map(|(clients, points)| {
                let ok: Vec<f64> = points.iter().map(|p| p.ok_per_s).collect();
                let p99: Vec<f64> = points.iter().filter_map(|p| p.p99_ms).collect();
                CurvePoint {
                    clients,
                    ok_per_s: runner::scaling::report::mean(&ok).unwrap_or(0.0),
                    p99_ms: runner::scaling::report::median(&p99),
                }
            })
            .collect()
    }

    /// The saturation throughput of series `system` on each seed: the highest ok/s of its
    /// stable points on that seed (a seed without a stable point is left out: unknown).
    pub fn saturation_by_seed(&self, system: &str) -> BTreeMap<u64, f64> {
        self.saturation_points(system).into_iter().map(|(seed, p)| (seed, p.ok_per_s)).collect()
    }

    /// The point at which series `system` saturated on each seed: its stable point of
    /// highest ok/s (the first of equals).
    pub fn saturation_points(&self, system: &str) -> BTreeMap<u64, &ScalingPoint> {
        let mut by_seed: BTreeMap<u64, &ScalingPoint> = BTreeMap::new();
        for point in self.points.iter().filter(|p| p.series == system && p.stable) {
            let best = by_seed.entry(point.seed).or_insert(point);
            if point.ok_per_s > best.ok_per_s {
                *best = point;
            }
        }
        by_seed
    }

    /// Seeds on which series `system` has points, but none of them stable.
    pub fn overloaded_seeds(&self, system: &str) -> Vec<u64> {
        let ran: BTreeSet<u64> = self.points.iter().filter(|p| p.series == system).map(|p| p.seed).collect();
        let stable = self.saturation_by_seed(system);
        ran.into_iter().filter(|s| !stable.contains_key(s)).collect()
    }
}

/// N, R, W of a staleness point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct Quorums {
    /// Replicas.
    pub n: usize,
    /// Read answers awaited.
    pub r: usize,
    /// Write acknowledgements awaited.
    pub w: usize,
}

/// One staleness point (`staleness/table.json`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StalenessPoint {
    /// The delay profile.
    pub profile: String,
    /// N, R, W.
    pub quorums: Quorums,
    /// Wait after the acknowledgement, ms.
    pub wait_ms: f64,
    /// Trials.
    pub trials: u64,
    /// Share of reads that returned the write.
    pub measured: f64,
    /// The WARS model's probability.
    pub model: f64,
}

/// The staleness experiment: its seed (from summary.md) and points.
#[derive(Debug, Clone, Default)]
pub struct Staleness {
    /// The seed.
    pub seed: Option<u64>,
    /// Every point.
    pub points: Vec<StalenessPoint>,
}

/// One engines row (`engines/table.json`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EngineRow {
    /// `raw`, `lsm`, `sqlite`.
    pub engine: String,
    /// The durability setting.
    pub setting: String,
    /// `fsync`, `fdatasync` or `-` (no sync).
    #[serde(default)]
    pub sync_call: String,
    /// Rows per commit.
    pub rows_per_commit: u64,
    /// Writer threads.
    pub threads: u64,
    /// Rows per wall second.
    pub writes_per_s: f64,
}

/// The engines benchmark (`engines/table.json`): its rows and whether it was a `--quick`
/// smoke run.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct Engines {
    /// The options it ran with.
    pub options: EngineOptions,
    /// Every row.
    pub rows: Vec<EngineRow>,
}

/// The engines benchmark's options that matter here.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct EngineOptions {
    /// Wall seconds per cell.
    #[serde(default)]
    pub seconds: f64,
    /// A smoke run: its figures mean little.
    #[serde(default)]
    pub quick: bool,
}

/// Where the scaling, staleness and engines results live under a results directory.
pub const SCALING: &str = "scaling";
/// See [`SCALING`]: the SQL side of the sweep.
pub const SCALING_SQL: &str = "scaling-sql";
/// See [`SCALING`].
pub const STALENESS: &str = "staleness";
/// See [`SCALING`].
pub const ENGINES: &str = "engines";

/// Loads everything under `dir`. A missing directory is an error (a mistyped path must not read
/// as twelve claims not measured); an empty one gives empty evidence.
pub fn load(dir: &Path) -> Result<Evidence> {
    let mut evidence = Evidence::default();
    if !dir.exists() {
        bail!("{}: no such results directory (run `make run`, or `lab run experiments/*.toml`, first)", dir.display());
    }
    if !dir.is_dir() {
        bail!("{}: not a directory", dir.display());
    }
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("{}: cannot read", dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .with_context(|| format!("{}: cannot read", dir.display()))?;
    entries.sort();
    // Every experiment is checked before any is judged, and every problem reported at once.
    let mut invalid = Vec::new();
    let mut dirs: BTreeMap<String, &Path> = BTreeMap::new();
    for path in entries.iter().filter(|p| p.join("experiment.json").is_file()) {
        let (meta, records) = match validate::read(path, Completeness::Every) {
            Ok(read) => read,
            Err(e) => {
                invalid.push(format!("{e:#}"));
                continue;
            }
        };
        // Shards are `lab merge`'s to combine (it was given them, or their merged results are
        // elsewhere): left alone, as long as their files are sound.
        if meta.shard.is_some() {
            continue;
        }
        if let Some(other) = dirs.insert(meta.name.clone(), path) {
            invalid.push(format!(
                "{} and {}: both hold the results of experiment {}; keep one",
                other.display(),
                path.display(),
                meta.name
            ));
            continue;
        }
        let mut seeds: Vec<u64> = records.iter().map(|r| r.seed).collect();
        seeds.sort_unstable();
        seeds.dedup();
        let rows = aggregate(&records, &meta.systems, meta.check_label());
        let mut properties = BTreeMap::new();
        for record in &records {
            if let Some(p) = &record.properties {
                properties.entry(record.system.clone()).or_insert_with(|| p.clone());
            }
        }
        let experiment =
            Experiment { name: meta.name.clone(), seeds, rows, records, configs: meta.configs, properties };
        evidence.experiments.insert(meta.name, experiment);
    }
    if !invalid.is_empty() {
        bail!("{}", invalid.join("\n"));
    }
    let scaling = dir.join(SCALING);
    if scaling.join("table.json").is_file() {
        evidence.scaling = Some(load_scaling(&scaling)?);
    }
    let scaling_sql = dir.join(SCALING_SQL);
    if scaling_sql.join("table.json").is_file() {
        evidence.scaling_sql = Some(load_scaling(&scaling_sql)?);
    }
    let staleness = dir.join(STALENESS);
    if staleness.join("table.json").is_file() {
        let points = json(&staleness.join("table.json"))?;
        let summary = fs::read_to_string(staleness.join("summary.md")).unwrap_or_default();
        let seed = summary
            .split("Seed ")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|digits| digits.parse().ok());
        evidence.staleness = Some(Staleness { seed, points });
    }
    let engines = dir.join(ENGINES).join("table.json");
    if engines.is_file() {
        evidence.engines = Some(json(&engines)?);
    }
    Ok(evidence)
}

/// Parses a JSON file; errors name the file, line and column.
fn json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = fs::read_to_string(path).with_context(|| format!("{}: cannot read", path.display()))?;
    serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}:{}:{}: {e}", path.display(), e.line(), e.column()))
}

fn load_scaling(dir: &Path) -> Result<Scaling> {
    // points.csv first: its header tells results of the one-seed sweep apart, with a clear
    // message, before table.json's missing fields would.
    let points_path = dir.join("points.csv");
    let text = fs::read_to_string(&points_path).with_context(|| format!("{}: cannot read", points_path.display()))?;
    let points = parse_points(&text).map_err(|(line, e)| anyhow::anyhow!("{}:{line}: {e}", points_path.display()))?;
    let rows: Vec<ScalingRow> = json(&dir.join("table.json"))?;
    let seeds: BTreeSet<u64> = rows.iter().flat_map(|r| r.saturation_by_seed.keys().copied()).collect();
    let summary_path = dir.join("summary.md");
    let summary = fs::read_to_string(&summary_path).unwrap_or_default();
    let model = parse_summary(&summary);
    Ok(Scaling { seeds: seeds.into_iter().collect(), model, rows, points })
}

/// The points of `points.csv`, read by the header's column names (`series`, `seed`,
/// `clients`, `ok_per_s`, `p99_ms`, `status`, `messages_per_op`, `syncs_per_op`, `error`; others
/// are ignored); an error gives its 1-based line. Points whose run failed are left out. Results
/// without a `status` column come from before the sweep judged steady state and are refused,
/// as are those of the one-seed sweep (no `seed` column): they must be run again.
pub fn parse_points(text: &str) -> Result<Vec<ScalingPoint>, (usize, String)> {
    let mut lines = text.lines().enumerate();
    let header: Vec<&str> = match lines.next() {
        Some((_, header)) if header.starts_with("series,clients,ok_per_s,") => {
            return Err((
                1,
                "results of the one-seed scaling sweep (no `seed` column), from before the sweep ran several \
                 seeds: run it again (`lab run experiments/scaling.toml`)"
                    .to_owned(),
            ))
        }
        Some((_, header)) if header.starts_with("series,seed,clients,ok_per_s,") => header.split(',').collect(),
        _ => return Err((1, "expected the header `series,seed,clients,ok_per_s,...`".to_owned())),
    };
    let column = |name: &str| header.iter().position(|h| *h == name);
    let Some(status) = column("status") else {
        return Err((
            1,
            "results from before the sweep judged steady state (no `status` column): run it again (`lab run \
             experiments/scaling.toml`)"
                .to_owned(),
        ));
    };
    let (Some(p99), Some(error)) = (column("p99_ms"), column("error")) else {
        return Err((1, "expected the columns `p99_ms` and `error`".to_owned()));
    };
    let (messages, syncs) = (column("messages_per_op"), column("syncs_per_op"));
    let mut points = Vec::new();
    for (index, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        let bad = |what: &str| (index + 1, format!("{what} in `{line}`"));
        if fields.len() < header.len() {
            return Err(bad(&format!("expected {} fields", header.len())));
        }
        let seed = fields[1].parse().map_err(|_| bad("seed is not a whole number"))?;
        if !fields[error..].concat().trim().is_empty() {
            continue;
        }
        let clients = fields[2].parse().map_err(|_| bad("clients is not a whole number"))?;
        let ok_per_s = fields[3].parse().map_err(|_| bad("ok_per_s is not a number"))?;
        let optional = |at: Option<usize>, what: &str| -> Result<Option<f64>, (usize, String)> {
            match at.map(|i| fields[i]) {
                None | Some("-") => Ok(None),
                Some(text) => text.parse().map(Some).map_err(|_| bad(&format!("{what} is not a number"))),
            }
        };
        let stable = match fields[status] {
            "stable" => true,
            "overloaded" => false,
            _ => return Err(bad("status is neither `stable` nor `overloaded`")),
        };
        points.push(ScalingPoint {
            series: fields[0].to_owned(),
            seed,
            clients,
            ok_per_s,
            p99_ms: optional(Some(p99), "p99_ms")?,
            stable,
            messages_per_op: optional(messages, "messages_per_op")?,
            syncs_per_op: optional(syncs, "syncs_per_op")?,
        });
    }
    Ok(points)
}

/// The model's lines from the scaling `summary.md` (the seeds are the rows').
pub fn parse_summary(text: &str) -> Vec<String> {
    let mut model = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("## ") {
            inside = line == "## Model";
            continue;
        }
        if inside {
            if let Some(item) = line.strip_prefix("- ") {
                model.push(item.to_owned());
            }
        }
    }
    model
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_parse_and_skip_failed_runs() {
        let header = runner::scaling::report::POINTS_HEADER;
        let text = format!(
            "{header}\n\
             sqlite,1,4,1000.0,0,0,1.000,2.500,0.01,1.0,stable,2.000,-,10,1500.0,cpu,\n\
             sqlite,1,8,0.0,0,0,-,-,-,-,failed,-,-,0,-,,the run panicked; twice\n\
             sqlite,2,4,1100.0,0,0,1.000,-,0.5,-,overloaded,2.500,0.25,10,-,,\n"
        );
        let points = parse_points(&text).expect("parses");
        let mut second = ScalingPoint::new("sqlite", 2, 4, 1100.0, None);
        (second.stable, second.messages_per_op, second.syncs_per_op) = (false, Some(2.5), Some(0.25));
        let first = ScalingPoint { messages_per_op: Some(2.0), ..ScalingPoint::new("sqlite", 1, 4, 1000.0, Some(2.5)) };
        assert_eq!(points, [first, second]);
        assert_eq!(parse_points("nonsense\n").map_err(|e| e.0), Err(1));
        let bad = format!("{header}\nsqlite,1,four,1,0,0,-,-,-,-,stable,-,-,0,-,,\n");
        assert_eq!(parse_points(&bad).map_err(|e| e.0), Err(2));
        let bad = format!("{header}\nsqlite,one,4,1,0,0,-,-,-,-,stable,-,-,0,-,,\n");
        assert_eq!(parse_points(&bad).map_err(|e| e.0), Err(2));
        let bad = format!("{header}\nsqlite,1,4,1,0,0,-,-,-,-,calm,-,-,0,-,,\n");
        assert_eq!(parse_points(&bad).map_err(|e| e.0), Err(2));
        let old = "series,seed,clients,ok_per_s,not_ok,p50_ms,p99_ms,steps,error\nsqlite,1,4,1,0,-,-,0,\n";
        let (line, message) = parse_points(old).expect_err("no status");
        assert!(line == 1 && message.contains("steady state") && message.contains("run it again"), "{message}");
    }

    #[test]
    fn points_of_the_one_seed_sweep_are_refused_with_the_command_to_run() {
        let old = "series,clients,ok_per_s,not_ok,p50_ms,p99_ms,steps,error\nsqlite,4,1000.0,0,1.000,2.500,10,\n";
        let (line, message) = parse_points(old).expect_err("the old header");
        assert_eq!(line, 1);
        assert!(message.contains("one-seed") && message.contains("run it again"), "{message}");
    }

    #[test]
    fn a_curve_combines_the_seeds() {
        let point = |seed, clients, ok_per_s, p99_ms| ScalingPoint::new("s", seed, clients, ok_per_s, p99_ms);
        let scaling = Scaling {
            seeds: vec![1, 2, 3],
            points: vec![
                point(1, 8, 300.0, Some(4.0)),
                point(1, 4, 100.0, Some(1.0)),
                point(2, 4, 200.0, Some(3.0)),
                point(3, 4, 300.0, None),
            ],
            ..Scaling::default()
        };
        let curve = scaling.curve("s");
        assert_eq!(
            curve,
            [
                CurvePoint { clients: 4, ok_per_s: 200.0, p99_ms: Some(2.0) },
                CurvePoint { clients: 8, ok_per_s: 300.0, p99_ms: Some(4.0) }
            ]
        );
        assert!(scaling.curve("other").is_empty());
    }

    #[test]
    fn saturation_counts_stable_points_only() {
        let mut points = vec![
            ScalingPoint::new("s", 1, 4, 100.0, Some(1.0)),
            ScalingPoint { stable: false, ..ScalingPoint::new("s", 1, 8, 300.0, Some(9.0)) },
            ScalingPoint { stable: false, ..ScalingPoint::new("s", 2, 4, 200.0, Some(3.0)) },
        ];
        points[0].messages_per_op = Some(7.0);
        let scaling = Scaling { seeds: vec![1, 2], points, ..Scaling::default() };
        assert_eq!(scaling.saturation_by_seed("s"), BTreeMap::from([(1, 100.0)]), "seed 2: nothing stable");
        assert_eq!(scaling.saturation_points("s")[&1].messages_per_op, Some(7.0));
        assert_eq!(scaling.overloaded_seeds("s"), [2]);
    }

    #[test]
    fn the_summary_gives_the_model() {
        let text = "# scaling\n\nq\n\n## Model\n\n- CPU per incoming frame: 10.0 us\n- tick 1 ms, zero think time, seeds 1-5\n\n## Table\n\n- not model\n";
        assert_eq!(parse_summary(text), ["CPU per incoming frame: 10.0 us", "tick 1 ms, zero think time, seeds 1-5"]);
        assert!(parse_summary("").is_empty());
    }
}
