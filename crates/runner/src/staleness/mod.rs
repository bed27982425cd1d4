//! Experiment files of `kind = "staleness"`: Probabilistically Bounded Staleness, measured on
//! the quorum store's nodes and predicted by the WARS model, side by side ([`pbs`]).
//!
//! For every delay profile, every (N, R, W) and every wait t: `trials` writes, each followed t
//! after its acknowledgement by a read, count how many reads returned the write; the model's
//! Monte Carlo gives its prediction from the same delays. Each (profile, quorums) pair is one
//! job on the worker threads; results are put in file order before anything is written, so the
//! output does not depend on the threads.

mod plot;
mod report;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::check::default_jobs;
use crate::options::RunArgs;
use experiment::staleness::StalenessSpec;
use report::Point;

/// Runs a checked file: writes `args.out/NAME/` and prints its table to `out`. Returns
/// whether every measurement completed.
///
/// Of `lab run`'s options: `--seed S` replaces the file's seed (results in `NAME/seed-S/`);
/// `--shard I/N` runs the file on shard 1 only (it has no seeds to share); `--seeds` and
/// `--system` do not apply and are reported as ignored.
pub fn run(mut spec: StalenessSpec, args: &RunArgs, out: &mut dyn Write) -> Result<bool> {
    if args.shard.is_some_and(|shard| shard.index != 1) {
        return Ok(true);
    }
    if args.seeds.is_some() || !args.system.is_empty() {
        eprintln!("lab: {}: --seeds and --system do not apply to a staleness experiment; ignored", spec.name);
    }
    let mut dir = args.out.join(&spec.name);
    if let Some(seed) = args.seed {
        spec.seed = seed;
        dir = dir.join(format!("seed-{seed}"));
    }
    let started = Instant::now();
    let (points, errors) = measure_all(&spec, args.jobs);
    let wall = started.elapsed();
    report::write_results(&dir, &spec, &points).with_context(|| format!("{}: cannot write", dir.display()))?;
    writeln!(out, "== {} (seed {}, {} trials per point) ==", spec.name, spec.seed, spec.trials)?;
    writeln!(out, "{}", spec.question)?;
    writeln!(out, "{}", report::text(&points))?;
    writeln!(out, "{}", report::agreement_line(&points))?;
    writeln!(out, "wall time {:.1} s", wall.as_secs_f64())?;
    for error in &errors {
        writeln!(out, "failed: {error}")?;
    }
    writeln!(out, "results: {}\n", dir.join("summary.md").display())?;
    Ok(errors.is_empty())
}

/// The points of one (profile, quorums) pair, or why they could not be measured.
type PairResult = Result<Vec<Point>, String>;

/// Every point of `spec`, in file order (profile, then quorums, then wait), and the errors of
/// the jobs that failed.
fn measure_all(spec: &StalenessSpec, jobs: Option<usize>) -> (Vec<Point>, Vec<String>) {
    let pairs: Vec<(usize, usize)> =
        (0..spec.profiles.len()).flat_map(|p| (0..spec.quorums.len()).map(move |q| (p, q))).collect();
    let results: Mutex<Vec<(usize, PairResult)>> = Mutex::new(Vec::new());
    let next = AtomicUsize::new(0);
    let workers = default_jobs(jobs).min(pairs.len()).max(1);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(p, q)) = pairs.get(index) else { break };
                let result = report::measure_pair(spec, p, q);
                if let Ok(mut all) = results.lock() {
                    all.push((index, result));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(index, _)| *index);
    let mut points = Vec::new();
    let mut errors = Vec::new();
    for (_, result) in results {
        match result {
            Ok(mut p) => points.append(&mut p),
            Err(e) => errors.push(e),
        }
    }
    (points, errors)
}
