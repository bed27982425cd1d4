//! `lab claims`: the claims ledger. Each claim (quoted from the seed text or the literature) is
//! judged on what `lab run` and `lab bench engines` wrote: the experiments that test it, the
//! evidence (figures with their seeds) and a verdict: holds, refuted, holds only when (a
//! condition), or not measured (with the command that measures it).
//!
//! Map:
//! - [`evidence`] loads a results directory into typed evidence;
//! - [`ledger`] is the vocabulary (claim, verdict) and the figures in words;
//! - [`select`] chooses the systems a claim looks at by their recorded properties, never by name;
//! - [`claim`] holds the judgments, pure functions of the evidence, one file per claim
//!   (`claim/c01_memtable.rs` to `claim/c10_durable.rs`, each with its thresholds and unit
//!   tests), and the helpers several claims share;
//! - [`judge`] lists the twelve claims in ledger order;
//! - [`render`] prints the ledger and writes `claims.md` and `claims.json` (no wall-clock time in
//!   them: the same results give the same bytes);
//! - `testing` (tests only) builds hand-made evidence for the unit tests.

pub mod claim;
pub mod evidence;
pub mod ledger;
pub mod registry;
pub mod render;
pub mod select;
pub mod stats;
#[cfg(test)]
pub mod testing;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use evidence::Evidence;
use ledger::{Claim, Verdict};
use registry::Registry;
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
    /// The thresholds and expected outcomes, registered before the data.
    #[arg(long, default_value = registry::STANDARD)]
    pub thresholds: PathBuf,
    /// Also rewrite the ledger table of this README (between its ledger markers) from the
    /// claims just judged, and each experiment table between table markers from its results:
    /// the front page's figures come from the results, never by hand.
    #[arg(long)]
    pub readme: Option<PathBuf>,
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

/// Every claim, judged on `evidence` with the thresholds of `registry`, in ledger order.
pub fn judge(evidence: &Evidence, registry: &Registry) -> Vec<Claim> {
    let r = |id: usize| registry.claim(id);
    let mut claims = vec![
        claim::c01_memtable::memtable(evidence, &r(1)),
        claim::c02_linear_scaling::linear_scaling(evidence, &r(2)),
        claim::c03_eventual_throughput::eventual_throughput(evidence, &r(3)),
        claim::c04_sql_bottleneck::sql_bottleneck(evidence, &r(4)),
        claim::c05_availability::availability(evidence, &r(5)),
        claim::c06_sql_consistency::sql_consistency(evidence, &r(6)),
        claim::c07_convergence::convergence(evidence, &r(7)),
        claim::c08_strict_quorums::strict_quorums(evidence, &r(8)),
        claim::c09_last_write_wins::last_write_wins(evidence, &r(9)),
        claim::c10_durable::acknowledged_durable(evidence, &r(10)),
        claim::c11_sql_transactions::sql_transactions(evidence, &r(11)),
        claim::c12_forgo_transactions::forgo_transactions(evidence, &r(12)),
        claim::c13_replication_overhead::replication_overhead(evidence, &r(13)),
        claim::c14_async_replication::async_replication(evidence, &r(14)),
        claim::c15_write_concern::write_concern(evidence, &r(15)),
    ];
    for claim in &mut claims {
        claim.expected = r(claim.id).expected;
    }
    debug_assert!(claims.iter().enumerate().all(|(i, c)| c.id == i + 1), "claims numbered in order");
    claims
}

/// Runs `lab claims`: 0 when every claim got a verdict, 1 when some is not measured.
pub fn run(args: &ClaimsArgs) -> Result<ExitCode> {
    let registry = registry::load(&args.thresholds)?;
    let evidence = evidence::load(&args.results)?;
    let claims = judge(&evidence, &registry);
    let mut out = runner::output::stdout();
    out.write_all(render::text(&claims, &registry).as_bytes())?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("{}: cannot create", args.out.display()))?;
    write(&args.out.join("claims.md"), render::markdown(&claims, &args.results, &registry).as_bytes())?;
    write(&args.out.join("claims.json"), (render::json(&claims, &registry)? + "\n").as_bytes())?;
    writeln!(out, "ledger: {} and {}", args.out.join("claims.md").display(), args.out.join("claims.json").display())?;
    if let Some(readme) = &args.readme {
        let text = std::fs::read_to_string(readme).with_context(|| format!("{}: cannot read", readme.display()))?;
        let Some(spliced) = render::splice_readme(&text, &render::readme(&claims, &registry)) else {
            anyhow::bail!(
                "{}: no ledger markers (`{}` ... `{}`)",
                readme.display(),
                render::README_BEGIN,
                render::README_END
            );
        };
        let (spliced, _) = render::splice_tables(&spliced, &args.results);
        if spliced != text {
            write(readme, spliced.as_bytes())?;
        }
        writeln!(out, "ledger table: {}", readme.display())?;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn systems_are_chosen_by_what_they_are_not_by_their_names() {
        use testing::{from_records, renamed, runs};
        let records = |experiment: &str| -> Vec<runner::run::record::SeedRecord> {
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
            let violating = |name: &str| {
                name == "quorum-quorum-no-repair" || (experiment == "clock-skew-lww" && name == "quorum-one")
            };
            names
                .into_iter()
                .flat_map(|name| {
                    runs(name, 5, |seed, r| {
                        r.faulty_client_us = 100_000;
                        r.faulty_client_ok_us =
                            if name == "quorum-all" || name.starts_with("sqlite") { 10_000 } else { 100_000 };
                        let slow = name.contains("batch") || name == "sqlite-full";
                        r.write_latency_us = [(if slow { 10_000 } else { 5_000 }, 40)].into_iter().collect();
                        if violating(name) && seed == 2 {
                            r.check = runner::run::record::Check::NotLinearizable;
                            r.lost_writes = Some(3);
                        }
                    })
                })
                .collect()
        };
        use claim::fault_experiments::{CAVEATS, FAULT_EXPERIMENTS};
        let built: Vec<(&str, Vec<runner::run::record::SeedRecord>)> =
            FAULT_EXPERIMENTS.iter().chain([&CAVEATS]).map(|n| (*n, records(n))).collect();
        let standard = from_records(&built);
        let theirs = renamed(&standard, |s| format!("my-{}", s.replace("quorum", "cassandra").replace("sqlite", "pg")));
        let registry = registry::standard();
        let before = judge(&standard, &registry);
        let after = judge(&theirs, &registry);
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
            for record in &mut experiment.records {
                record.properties = None;
            }
        }
        let claim_9 = &judge(&bare, &registry)[8];
        assert!(matches!(claim_9.verdict, Verdict::NotMeasured { .. }), "{claim_9:?}");
    }

    #[test]
    fn nothing_measured_gives_not_measured_everywhere_with_a_command() {
        let claims = judge(&Evidence::default(), &registry::standard());
        assert_eq!(claims.len(), 15);
        for claim in &claims {
            let Verdict::NotMeasured { run } = &claim.verdict else { panic!("{claim:?}") };
            assert!(run.contains("lab run") || run.contains("lab bench"), "claim {}: {run}", claim.id);
            assert!(!claim.tests.is_empty(), "claim {} names its experiments", claim.id);
        }
    }
}
