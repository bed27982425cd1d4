//! Experiment files of `kind = "scaling"`, run by `lab run` beside the fault experiments:
//! offered load rising until saturation under the per-node capacity model
//! ([`sim::capacity`]), for quorum clusters of several sizes and levels and for SQLite.
//!
//! Map: [`experiment::scaling`] parses and validates the file into sweep points (series x
//! seed x clients); [`measure`] runs one point and reduces its history to throughput and
//! latency; [`report`] finds each series' saturation on every seed and combines the seeds
//! into the table. This file spreads the points over worker threads and writes
//! `results/NAME/`: table.md, table.csv, table.json, points.csv, summary.md (the model's
//! constants, the tick, the seeds, the table), wall.md (the wall time of every run) and
//! throughput.svg.
//!
//! Determinism: every point is a function of the file and its seed; results are kept by
//! point index, so the output does not depend on which thread finished first. Only wall times
//! (in wall.md and on stderr) depend on the machine.

pub mod measure;
pub mod report;
pub mod stability;

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::check::default_jobs;
use crate::options::RunArgs;
use crate::run::chosen_seeds;
use crate::run::output::write;
use experiment::scaling::{Scaling, MAX_POINTS};
use measure::{run_point, PointResult};

/// Runs a checked file: writes `args.out/NAME/` and prints its table to `out`. Returns
/// whether every run completed. `--seed S` runs that seed alone (results in
/// `args.out/NAME/seed-S/`, as for fault experiments), `--seeds N` seeds 1 to N; `--system`
/// keeps only the series named.
pub fn run(file: &Path, mut scaling: Scaling, args: &RunArgs, out: &mut dyn Write) -> Result<bool> {
    scaling.set_seeds(chosen_seeds(args, &scaling.seeds)?);
    if !args.system.is_empty() {
        scaling.series.retain(|s| args.system.contains(&s.name));
    }
    if scaling.runs() > MAX_POINTS {
        bail!("{}: {} runs (sweep points times seeds): at most {MAX_POINTS}", file.display(), scaling.runs());
    }
    let started = Instant::now();
    let points = sweep(&scaling, default_jobs(args.jobs), !args.quiet && std::io::stderr().is_terminal());
    let wall_total_s = started.elapsed().as_secs_f64();
    let rows = report::rows(&scaling, &points);

    let mut dir = args.out.join(&scaling.name);
    if let Some(seed) = args.seed {
        dir = dir.join(format!("seed-{seed}"));
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let names: Vec<String> = scaling.series.iter().map(|s| s.name.clone()).collect();
    let title = format!(
        "{}: ok/s against clients ({}: the mean, bars from the lowest to the highest)",
        scaling.name,
        report::seeds_text(&scaling.seeds)
    );
    let files = [
        ("table.md", report::render(&rows, true)),
        ("table.csv", report::csv(&rows)),
        ("table.json", serde_json::to_string_pretty(&rows)? + "\n"),
        ("points.csv", report::points_csv(&points)),
        ("summary.md", report::summary(&scaling, &rows)),
        ("wall.md", report::wall(&points, wall_total_s)),
        ("throughput.svg", report::plot(&title, &points, &names)),
    ];
    for (name, contents) in files {
        write(&dir.join(name), contents.as_bytes())?;
    }
    writeln!(out, "== {} ({}, {}) ==", scaling.name, file.display(), report::seeds_text(&scaling.seeds))?;
    out.write_all(report::render(&rows, false).as_bytes())?;
    writeln!(out, "{} runs in {:.1} s of wall time; results in {}", points.len(), wall_total_s, dir.display())?;
    let errors: Vec<&PointResult> = points.iter().filter(|p| p.error.is_some()).collect();
    for p in &errors {
        let error = p.error.as_deref().unwrap_or("");
        writeln!(out, "run failed: {} seed {} with {} clients: {error}", p.series, p.seed, p.clients)?;
    }
    Ok(errors.is_empty())
}

/// Once a stable point's throughput is less than this share above the best stable throughput
/// of the loads before it, the series has reached its plateau on that seed: deeper loads only
/// queue (the knee is behind), so its ladder stops there. 5 %: the seed-to-seed spread of a
/// saturated point is a few percent, and a factor-2 ladder below the knee gains far more (it
/// roughly doubles in the linear region). Fixed before any ladder was cut by it.
pub const PLATEAU_GAIN: f64 = 0.05;

/// A point whose throughput reaches this share of the ceiling its own resource use implies
/// (`predicted_ok_per_s`: one over the busiest resource's time per operation) kept that
/// resource busy at least this share of the time: it is saturated, whatever the point before
/// it gave (the utilisation law, U = X·D). Added after [`PLATEAU_GAIN`], once the first
/// five-seed sweep had run: read-heavy ONE on 3 nodes ended at 99.4 % of its ceiling yet 14 %
/// above the load before, so the plateau rule alone flagged a saturated series. The value was
/// not changed when the CI sweep then stopped a series at 94.7 % (its test got a finer ladder
/// instead).
pub const SATURATED_SHARE: f64 = 0.95;

/// Whether a ladder goes on after `point`, given the best stable throughput before it: not
/// after a run that failed or was overloaded (deeper loads are only more so), nor once a
/// stable point gained less than [`PLATEAU_GAIN`] over the best before it, nor once it reached
/// [`SATURATED_SHARE`] of its run's ceiling.
pub fn climbs_on(point: &PointResult, best_before: Option<f64>) -> bool {
    let at_ceiling =
        point.predicted_ok_per_s.is_some_and(|ceiling| ceiling > 0.0 && point.ok_per_s >= SATURATED_SHARE * ceiling);
    if !point.counts() || at_ceiling {
        return false;
    }
    best_before.is_none_or(|best| point.ok_per_s >= (1.0 + PLATEAU_GAIN) * best)
}

/// Runs the sweep on `jobs` worker threads, one ladder (a series on a seed, its loads
/// ascending) at a time per thread: each ladder stops at its plateau ([`climbs_on`]), so a
/// series runs the loads it needs to show its knee and one more. Results in point order (of
/// [`Scaling::points`]), the points a ladder skipped left out.
pub fn sweep(scaling: &Scaling, jobs: usize, progress: bool) -> Vec<PointResult> {
    let points = scaling.points();
    // Ladders: runs of consecutive points of one series and seed (points() lists them so).
    let mut ladders: Vec<std::ops::Range<usize>> = Vec::new();
    for (i, p) in points.iter().enumerate() {
        match ladders.last_mut() {
            Some(last) if points[last.start].series == p.series && points[last.start].seed == p.seed => {
                last.end = i + 1
            }
            _ => ladders.push(i..i + 1),
        }
    }
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<PointResult>>> = Mutex::new(vec![None; points.len()]);
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(ladders.len()).max(1) {
            scope.spawn(|| loop {
                let Some(ladder) = ladders.get(next.fetch_add(1, Ordering::Relaxed)) else { return };
                let mut best: Option<f64> = None;
                for index in ladder.clone() {
                    let point = points[index];
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_point(scaling, point)))
                        .unwrap_or_else(|_| {
                            let name = &scaling.series[point.series].name;
                            PointResult::failed(name, point, 0.0, "the run panicked".to_owned())
                        });
                    let finished = done.fetch_add(1, Ordering::Relaxed) + 1;
                    if progress {
                        eprint!("\r{}: {finished} runs (at most {})", scaling.name, points.len());
                    }
                    let go_on = climbs_on(&result, best);
                    if result.counts() {
                        best = Some(best.map_or(result.ok_per_s, |b| b.max(result.ok_per_s)));
                    }
                    // A poisoned lock means another worker panicked: keep its slot empty.
                    if let Ok(mut slots) = results.lock() {
                        slots[index] = Some(result);
                    }
                    if !go_on {
                        break;
                    }
                }
            });
        }
    });
    if progress {
        eprintln!();
    }
    let slots = results.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
    slots.into_iter().flatten().collect()
}
