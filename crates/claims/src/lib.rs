//! `lab claims`: the claims ledger. Each claim (quoted from the seed text or the literature) is
//! judged on what `lab run` and `lab bench engines` wrote: the experiments that test it, the
//! evidence (figures with their seeds) and a verdict: holds, refuted, holds only when (a
//! condition), or not measured (with the command that measures it).
//!
//! Map: [`evidence`] loads a results directory into typed evidence; [`ledger`] is the
//! vocabulary (claim, verdict); the judgments, pure functions of the evidence, are grouped in
//! [`perf`] (claims 1-4: write latency, scaling, throughput), [`faults`] (5-9: availability,
//! consistency, convergence, quorums, clocks) and [`durability`] (10); [`render`] prints the
//! ledger and writes `claims.md` and `claims.json` (no wall-clock time in them: the same
//! results give the same bytes).

pub mod durability;
pub mod evidence;
pub mod faults;
pub mod ledger;
pub mod perf;
pub mod render;
pub mod select;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use evidence::Evidence;
use ledger::{Claim, Verdict};
use runner::run::output::write;

/// `lab claims`.
#[derive(Debug, Args)]
pub struct ClaimsArgs {
    /// Where `lab run` wrote its results (one directory per experiment under it).
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// Where claims.md and claims.json go.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
}

/// Where the seed text's claims come from.
pub const SEED_SOURCE: &str = "the seed text, ../shared/seed/high-write-throughput.txt";

/// The command that produces the results of experiment `name`.
pub fn command(name: &str) -> String {
    format!("lab run experiments/{name}.toml")
}

/// "Not measured": no results of the experiments `names`, with the one command that runs them.
pub fn no_results(names: &[&str]) -> Verdict {
    let files: Vec<String> = names.iter().map(|name| format!("experiments/{name}.toml")).collect();
    Verdict::missing(format!("no results of {}: run `lab run {}`", names.join(", "), files.join(" ")))
}

/// Every claim, judged on `evidence`, in ledger order.
pub fn judge(evidence: &Evidence) -> Vec<Claim> {
    let claims = vec![
        perf::memtable(evidence),
        perf::linear_scaling(evidence),
        perf::eventual_throughput(evidence),
        perf::sql_bottleneck(evidence),
        faults::availability(evidence),
        faults::sql_consistency(evidence),
        faults::convergence(evidence),
        faults::strict_quorums(evidence),
        faults::last_write_wins(evidence),
        durability::acknowledged_durable(evidence),
    ];
    debug_assert!(claims.iter().enumerate().all(|(i, c)| c.id == i + 1), "claims numbered in order");
    claims
}

/// Runs `lab claims`: 0 when every claim got a verdict, 1 when some is not measured.
pub fn run(args: &ClaimsArgs) -> Result<ExitCode> {
    let evidence = evidence::load(&args.results)?;
    let claims = judge(&evidence);
    let mut out = std::io::stdout().lock();
    out.write_all(render::text(&claims).as_bytes())?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("{}: cannot create", args.out.display()))?;
    write(&args.out.join("claims.md"), render::markdown(&claims, &args.results).as_bytes())?;
    write(&args.out.join("claims.json"), (render::json(&claims)? + "\n").as_bytes())?;
    writeln!(out, "ledger: {} and {}", args.out.join("claims.md").display(), args.out.join("claims.json").display())?;
    let missing: Vec<&Claim> = claims.iter().filter(|c| matches!(c.verdict, Verdict::NotMeasured { .. })).collect();
    if missing.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    for claim in missing {
        if let Verdict::NotMeasured { run } = &claim.verdict {
            eprintln!("lab claims: claim {} not measured: {run}", claim.id);
        }
    }
    Ok(ExitCode::from(1))
}

/// Hand-built evidence for the judgments' unit tests: rows named as the standard experiments
/// name their systems, each with the properties those systems have there.
#[cfg(test)]
pub mod testing {
    use std::collections::BTreeMap;

    use experiment::properties::{
        Durability, Ordering, Properties, Quorums, SqliteJournal, SqliteSettings, SqliteSynchronous,
    };
    use runner::run::table::{aggregate, Row};

    use super::evidence::{Evidence, Experiment};

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
            durability: match synchronous {
                SqliteSynchronous::Full => Durability::SyncedBeforeAck,
                SqliteSynchronous::Normal => Durability::SyncedAfterAck,
                SqliteSynchronous::Off => Durability::NeverSynced,
            },
            sqlite: Some(SqliteSettings { journal: SqliteJournal::Wal, synchronous }),
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
        }
    }

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
        let mut row = aggregate(&[], &[system.to_owned()], false).remove(0);
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
            experiment.properties =
                std::mem::take(&mut experiment.properties).into_iter().map(|(s, p)| (rename(&s), p)).collect();
        }
        renamed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systems_are_chosen_by_what_they_are_not_by_their_names() {
        use testing::{evidence, renamed, row};
        let rows = |experiment: &str| -> Vec<runner::run::table::Row> {
            let names = match experiment {
                "power-loss" => vec![
                    "sqlite-full",
                    "sqlite-normal",
                    "sqlite-off",
                    "quorum-one",
                    "quorum-quorum",
                    "quorum-all",
                    "quorum-abd",
                    "quorum-quorum-batch",
                ],
                "quorum-caveats" => {
                    vec!["quorum-quorum", "quorum-quorum-no-repair", "quorum-quorum-sloppy", "quorum-abd"]
                }
                _ => vec!["sqlite-full", "quorum-one", "quorum-quorum", "quorum-all", "quorum-abd"],
            };
            names
                .into_iter()
                .map(|name| {
                    let mut r = row(name);
                    r.availability_faulty = Some(if name == "quorum-all" { 0.5 } else { 1.0 });
                    r.write_latency_ms_p50 =
                        Some(if name.contains("batch") || name == "sqlite-full" { 10.0 } else { 5.0 });
                    r.write_latency_ms_p99 = r.write_latency_ms_p50;
                    r.replicated = name.starts_with("quorum");
                    r.convergence_ms_max = r.replicated.then_some(12);
                    if name == "quorum-quorum-no-repair" || (experiment == "clock-skew-lww" && name == "quorum-one") {
                        r.violating_seeds = vec![2];
                        r.lost_writes = Some(3);
                    }
                    r
                })
                .collect()
        };
        let names = [
            "isolate-one-node",
            "partition-halves",
            "crash-restart",
            "power-loss",
            "clock-skew-lww",
            "random-nemesis",
            "disk-io-errors",
            "quorum-caveats",
        ];
        let built: Vec<(&str, Vec<runner::run::table::Row>)> = names.iter().map(|n| (*n, rows(n))).collect();
        let standard = evidence(&built);
        let theirs = renamed(&standard, |s| format!("my-{}", s.replace("quorum", "cassandra").replace("sqlite", "pg")));
        let before = judge(&standard);
        let after = judge(&theirs);
        let judged: Vec<usize> =
            before.iter().filter(|c| !matches!(c.verdict, Verdict::NotMeasured { .. })).map(|c| c.id).collect();
        assert_eq!(judged, [1, 5, 6, 7, 8, 9, 10], "every claim the fault experiments decide");
        for (a, b) in before.iter().zip(&after) {
            let back = |text: &str| text.replace("my-", "").replace("cassandra", "quorum").replace("pg", "sqlite");
            assert_eq!(format!("{:?}", a.verdict), back(&format!("{:?}", b.verdict)), "claim {}", a.id);
            assert_eq!(a.evidence, b.evidence.iter().map(|l| back(l)).collect::<Vec<_>>(), "claim {}", a.id);
        }
        // Without properties (results older than them), nothing is chosen by a name instead.
        let mut bare = standard.clone();
        for experiment in bare.experiments.values_mut() {
            experiment.properties.clear();
        }
        let claim_9 = &judge(&bare)[8];
        assert!(matches!(claim_9.verdict, Verdict::NotMeasured { .. }), "{claim_9:?}");
    }

    #[test]
    fn nothing_measured_gives_not_measured_everywhere_with_a_command() {
        let claims = judge(&Evidence::default());
        assert_eq!(claims.len(), 10);
        for claim in &claims {
            let Verdict::NotMeasured { run } = &claim.verdict else { panic!("{claim:?}") };
            assert!(run.contains("lab run") || run.contains("lab bench"), "claim {}: {run}", claim.id);
            assert!(!claim.tests.is_empty(), "claim {} names its experiments", claim.id);
        }
    }
}
