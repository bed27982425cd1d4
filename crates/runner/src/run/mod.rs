//! `lab run`: experiment scripts run, checked and tabulated.
//!
//! Map: [`measure`](mod@measure) runs one system for one seed and measures it; [`record`] is what it
//! measured ([`SeedRecord`]); [`table`] combines records into rows and
//! renders them; [`output`] writes and reads a results directory; [`validate`] checks that a
//! directory's records are its experiment's, once each; [`merge`] combines shard results.
//! This file plans the runs, spreads them over worker threads and reports.
//!
//! Determinism: every run is a function of its system and seed; records are sorted before
//! anything is written or tabulated, so the output does not depend on which thread finished
//! first. Only the progress line and the checker's wall-clock deadline depend on the machine.

pub mod measure;
pub mod merge;
pub mod output;
mod pictures;
pub mod record;
pub mod table;
pub mod validate;

use std::fs;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use anyhow::{bail, Context, Result};

use crate::check::default_jobs;
use crate::options::{RunArgs, Shard};
use experiment::spec::Experiment;
use experiment::{parse, Registry, Script};
use measure::{measure, Measured};
use output::{fingerprint, violation_stem, write, write_results, Meta};
use record::SeedRecord;

/// One experiment as this invocation runs it.
struct Planned {
    experiment: Experiment,
    meta: Meta,
    /// The seeds this invocation runs (a shard's share, or one seed).
    seeds: Vec<u64>,
    /// Indexes into `experiment.systems` of the systems run.
    systems: Vec<usize>,
    dir: PathBuf,
}

/// One simulation to run.
#[derive(Debug, Clone, Copy)]
struct Job {
    planned: usize,
    system: usize,
    seed: u64,
}

/// An experiment file of a kind with its own runner (scaling, staleness), checked before
/// anything runs.
struct Special {
    script: Script,
    file: PathBuf,
}

/// Runs `lab run`.
pub fn run(args: &RunArgs) -> Result<ExitCode> {
    let (plans, specials) = plan(args)?;
    let mut code = run_fault_experiments(args, &plans)?;
    let mut out = crate::output::stdout();
    for special in &specials {
        let completed = match &special.script {
            Script::Scaling(scaling) => crate::scaling::run(&special.file, scaling.clone(), args, &mut out)?,
            Script::Staleness(spec) => crate::staleness::run(spec.clone(), args, &mut out)?,
            Script::Faults(_) => true,
        };
        if !completed {
            code = ExitCode::from(1);
        }
    }
    Ok(code)
}

/// Runs the fault experiments: every system of each for every seed, on worker threads.
fn run_fault_experiments(args: &RunArgs, plans: &[Planned]) -> Result<ExitCode> {
    if plans.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    let jobs: Vec<Job> = plans
        .iter()
        .enumerate()
        .flat_map(|(p, planned)| {
            planned
                .systems
                .iter()
                .flat_map(move |&s| planned.seeds.iter().map(move |&seed| Job { planned: p, system: s, seed }))
        })
        .collect();
    for planned in plans {
        prepare_dir(&planned.dir)?;
        // What this directory holds, before any record: a run cut short is never mistaken
        // for an earlier version's.
        write(&planned.dir.join("experiment.json"), (serde_json::to_string_pretty(&planned.meta)? + "\n").as_bytes())?;
    }
    let workers = default_jobs(args.jobs).min(jobs.len().max(1));
    let progress = Progress::new(jobs.len(), !args.quiet && std::io::stderr().is_terminal());
    let mut records: Vec<Vec<SeedRecord>> = plans.iter().map(|_| Vec::new()).collect();
    let mut failures = 0usize;
    let next = AtomicUsize::new(0);
    let (sender, receiver) = mpsc::channel::<(Job, Measured)>();
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..workers {
            let sender = sender.clone();
            let (plans, jobs, next) = (plans, &jobs, &next);
            scope.spawn(move || loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(index).copied() else { break };
                let planned = &plans[job.planned];
                let system = &planned.experiment.systems[job.system];
                let run = || measure(&planned.experiment, system, job.seed, args.check_timeout);
                // A panic is a bug in a store or the harness: record it as a failed run and
                // carry on, so the other runs and their tables are not lost.
                let measured = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or_else(|panic| {
                    let message = panic
                        .downcast_ref::<&str>()
                        .map(|s| (*s).to_owned())
                        .or_else(|| panic.downcast_ref::<String>().cloned())
                        .unwrap_or_else(|| "unknown panic".to_owned());
                    measure::failed(system, job.seed, format!("panicked: {message}"))
                });
                if sender.send((job, measured)).is_err() {
                    break;
                }
            });
        }
        drop(sender);
        for (done, (job, mut measured)) in receiver.into_iter().enumerate() {
            let planned = &plans[job.planned];
            // Which experiment and file version the record is of: `lab claims` and `lab merge`
            // refuse records of others.
            measured.record.experiment = Some(planned.meta.name.clone());
            measured.record.fingerprint = Some(planned.meta.fingerprint.clone());
            let system = &planned.experiment.systems[job.system];
            progress.show(done + 1, &planned.meta.name, &system.name, job.seed);
            if let Some(error) = &measured.record.error {
                failures += 1;
                progress.clear();
                eprintln!("lab: {} / {} / seed {}: the run failed: {error}", planned.meta.name, system.name, job.seed);
            }
            keep(planned, &measured)?;
            if planned.seeds.first() == Some(&job.seed) && measured.record.error.is_none() {
                pictures::write_plot(
                    &planned.dir,
                    &planned.meta.name,
                    &system.name,
                    &system.spec.describe(),
                    &measured,
                )?;
            }
            records[job.planned].push(measured.record);
        }
        Ok(())
    })?;
    progress.clear();

    let mut out = crate::output::stdout();
    for (planned, records) in plans.iter().zip(&records) {
        let rows = write_results(&planned.dir, &planned.meta, records)?;
        writeln!(out, "== {} ({}) ==", planned.meta.name, describe_seeds(&planned.seeds))?;
        writeln!(out, "{}", planned.meta.question)?;
        writeln!(out, "{}", table::text(&rows))?;
        writeln!(out, "results: {}\n", planned.dir.join("summary.md").display())?;
    }
    Ok(if failures > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn describe_seeds(seeds: &[u64]) -> String {
    match seeds {
        [one] => format!("seed {one}"),
        many => format!("{} seeds", many.len()),
    }
}

/// Parses every file (refusing all before running any when one is bad) and plans its runs;
/// files of other kinds are checked and returned for their own runners.
fn plan(args: &RunArgs) -> Result<(Vec<Planned>, Vec<Special>)> {
    let mut plans = Vec::new();
    let mut specials = Vec::new();
    let mut errors = Vec::new();
    for file in &args.files {
        let text = match fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                errors.push(format!("{}: cannot read: {e}", file.display()));
                continue;
            }
        };
        match parse(&Registry::standard(), file, &text) {
            Ok(Script::Faults(experiment)) => {
                let planned = planned(args, file, &text, experiment)?;
                // `--system` names systems of some files only: the others do not run at all.
                if !planned.systems.is_empty() {
                    plans.push(planned);
                }
            }
            Ok(script) => specials.push(Special { script, file: file.clone() }),
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        bail!("{}", errors.join("\n"));
    }
    let mut names: Vec<&str> = plans.iter().map(|p| p.meta.name.as_str()).collect();
    names.sort_unstable();
    if let Some(pair) = names.windows(2).find(|pair| pair[0] == pair[1]) {
        bail!("two experiment files are named `{}`: their results would overwrite each other", pair[0]);
    }
    for wanted in &args.system {
        if !plans.iter().any(|p| p.meta.systems.iter().any(|s| s == wanted)) && specials.is_empty() {
            bail!("--system {wanted}: no experiment has a system of that name");
        }
    }
    Ok((plans, specials))
}

/// The seeds a run uses: `--seed S` (that one), `--seeds N` (1 to N) or the file's.
pub fn chosen_seeds(args: &RunArgs, file_seeds: &[u64]) -> Result<Vec<u64>> {
    Ok(match (args.seed, args.seeds) {
        (Some(seed), _) => vec![seed],
        (None, Some(0)) => bail!("--seeds 0: expected at least one seed"),
        (None, Some(count)) if count > experiment::spec::MAX_SEEDS as u64 => {
            bail!("--seeds {count}: at most {}", experiment::spec::MAX_SEEDS)
        }
        (None, Some(count)) => (1..=count).collect(),
        (None, None) => file_seeds.to_vec(),
    })
}

fn planned(args: &RunArgs, file: &Path, text: &str, experiment: Experiment) -> Result<Planned> {
    let all_seeds = chosen_seeds(args, &experiment.seeds)?;
    let seeds = match args.shard {
        Some(shard) => share(&all_seeds, shard),
        None => all_seeds.clone(),
    };
    let systems: Vec<usize> = (0..experiment.systems.len())
        .filter(|&i| args.system.is_empty() || args.system.contains(&experiment.systems[i].name))
        .collect();
    let mut dir = args.out.join(&experiment.name);
    if !args.system.is_empty() {
        // A run of some systems must not overwrite the results of all of them.
        let mut names: Vec<&str> = systems.iter().map(|&i| experiment.systems[i].name.as_str()).collect();
        names.sort_unstable();
        dir = dir.join(format!("only-{}", names.join("+")));
    }
    if let Some(seed) = args.seed {
        dir = dir.join(format!("seed-{seed}"));
    }
    if let Some(Shard { index, count }) = args.shard {
        dir = dir.join(format!("shard-{index}-of-{count}"));
    }
    let meta = Meta {
        name: experiment.name.clone(),
        question: experiment.question.clone(),
        file: file.display().to_string(),
        fingerprint: fingerprint(text.as_bytes()),
        seeds: all_seeds,
        shard: args.shard.map(|s| [s.index, s.count]),
        systems: systems.iter().map(|&i| experiment.systems[i].name.clone()).collect(),
        set_workload: experiment.workload.check_label() == "set-valid",
        check: Some(experiment.workload.check_label().to_owned()),
        configs: systems
            .iter()
            .map(|&i| (experiment.systems[i].name.clone(), experiment.systems[i].spec.describe()))
            .collect(),
        faults: systems.iter().map(|&i| (experiment.systems[i].name.clone(), experiment.describe_faults(i))).collect(),
    };
    Ok(Planned { experiment, meta, seeds, systems, dir })
}

/// Shard `shard` of `seeds`: every seed whose position is `index - 1` modulo `count`.
pub fn share(seeds: &[u64], shard: Shard) -> Vec<u64> {
    seeds.iter().enumerate().filter(|(i, _)| i % shard.count == shard.index - 1).map(|(_, s)| *s).collect()
}

/// Empties what an earlier run left in `dir` (its results would otherwise mix with these).
pub fn prepare_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    for sub in ["plots", "violations"] {
        let path = dir.join(sub);
        if path.is_dir() {
            fs::remove_dir_all(&path).with_context(|| format!("{}: cannot remove", path.display()))?;
        }
    }
    for name in OWNED_FILES {
        let path = dir.join(name);
        if path.is_file() {
            fs::remove_file(&path).with_context(|| format!("{}: cannot remove", path.display()))?;
        }
    }
    Ok(())
}

/// The files a results directory's owner rewrites (everything else in it is left alone).
pub const OWNED_FILES: [&str; 6] =
    ["experiment.json", "runs.jsonl", "table.md", "table.csv", "table.json", "summary.md"];

/// Writes what must survive of one run as soon as it is known: its record (appended to
/// `runs.jsonl`, rewritten in order at the end), and for a violation its history and witness.
fn keep(planned: &Planned, measured: &Measured) -> Result<()> {
    let runs = planned.dir.join("runs.jsonl");
    let mut file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&runs)
        .with_context(|| format!("{}: cannot open", runs.display()))?;
    writeln!(file, "{}", serde_json::to_string(&measured.record)?)
        .with_context(|| format!("{}: cannot write", runs.display()))?;
    if measured.record.violated() {
        let dir = planned.dir.join("violations");
        fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
        let stem = violation_stem(&measured.record.system, measured.record.seed);
        write(&dir.join(format!("{stem}.jsonl")), history::jsonl::to_string(&measured.history).as_bytes())?;
        let text = measured.explanation.clone().unwrap_or_default();
        write(&dir.join(format!("{stem}.txt")), text.as_bytes())?;
    }
    Ok(())
}

/// The progress line on stderr (only on a terminal).
struct Progress {
    total: usize,
    enabled: bool,
    /// Wall time, for the estimate only: nothing measured depends on it.
    started: std::time::Instant,
}

impl Progress {
    fn new(total: usize, enabled: bool) -> Self {
        Self { total, enabled, started: std::time::Instant::now() }
    }

    fn show(&self, done: usize, experiment: &str, system: &str, seed: u64) {
        if self.enabled {
            let width = 30;
            let filled = (done * width).checked_div(self.total).unwrap_or(width);
            let bar: String = "#".repeat(filled) + &"-".repeat(width - filled);
            let elapsed = self.started.elapsed().as_secs_f64();
            let left = elapsed / done.max(1) as f64 * self.total.saturating_sub(done) as f64;
            eprint!(
                "\r\x1b[2K[{bar}] {done}/{} {elapsed:.0}s, ~{left:.0}s left: {experiment} {system} seed {seed}",
                self.total
            );
            let _ = std::io::stderr().flush();
        }
    }

    fn clear(&self) {
        if self.enabled {
            eprint!("\r\x1b[2K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_seeds() {
        let seeds: Vec<u64> = (1..=10).collect();
        let mut all: Vec<u64> = (1..=3).flat_map(|index| share(&seeds, Shard { index, count: 3 })).collect();
        all.sort_unstable();
        assert_eq!(all, seeds);
        assert_eq!(share(&seeds, Shard { index: 2, count: 3 }), [2, 5, 8]);
        assert_eq!(share(&seeds, Shard { index: 1, count: 20 }), [1]);
        assert!(share(&seeds, Shard { index: 20, count: 20 }).is_empty());
    }
}
