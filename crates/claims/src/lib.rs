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

/// Hand-built evidence for the judgments' unit tests.
#[cfg(test)]
pub mod testing {
    use super::evidence::{Evidence, Experiment};
    use runner::run::table::{aggregate, Row};

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

    /// Evidence holding these experiments, each run with seeds 1 and 2.
    pub fn evidence(experiments: &[(&str, Vec<Row>)]) -> Evidence {
        let mut evidence = Evidence::default();
        for (name, rows) in experiments {
            evidence.experiments.insert(
                (*name).to_owned(),
                Experiment {
                    name: (*name).to_owned(),
                    seeds: vec![1, 2],
                    rows: rows.clone(),
                    records: Vec::new(),
                    configs: Vec::new(),
                },
            );
        }
        evidence
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
