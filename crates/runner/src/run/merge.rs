//! `lab merge`: the results of `lab run --shard I/N` combined into the tables of one run.
//!
//! Each shard directory holds its `experiment.json` and `runs.jsonl`, read and checked as
//! [`validate`] says (every record of this experiment and file version, of a
//! system and a seed of the shard's share, once). Shards of one experiment must come from the
//! same file (same fingerprint) and systems, and no system and seed may appear in two shards.
//! Tables are computed from the records alone, so the merged table is the table one run of
//! every seed gives. Plots come from the shard that ran the first seed;
//! violation files are copied from every shard.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use super::output::{read_results, write_results, Meta};
use super::record::SeedRecord;
use super::table;
use super::validate;
use crate::options::MergeArgs;

/// Runs `lab merge`.
pub fn merge(args: &MergeArgs) -> Result<ExitCode> {
    let mut groups: BTreeMap<String, Vec<(PathBuf, Meta, Vec<SeedRecord>)>> = BTreeMap::new();
    for dir in &args.dirs {
        let (meta, records) = read_results(dir)?;
        if !experiment::value::is_file_name(&meta.name) {
            bail!(
                "{}: experiment.json names the experiment `{}`, which cannot be a directory name",
                dir.display(),
                meta.name
            );
        }
        groups.entry(meta.name.clone()).or_default().push((dir.clone(), meta, records));
    }
    let mut incomplete = false;
    let mut out = crate::output::stdout();
    for (name, shards) in groups {
        let (meta, records, missing) = combine(&shards)?;
        let dir = args.out.join(&name);
        fs::create_dir_all(&dir).with_context(|| format!("{}: cannot create", dir.display()))?;
        let target = fs::canonicalize(&dir).with_context(|| format!("{}: cannot resolve", dir.display()))?;
        for (shard, _, _) in &shards {
            if fs::canonicalize(shard).ok().as_ref() == Some(&target) {
                bail!("{}: the merged results would overwrite this shard's own; choose another --out", shard.display());
            }
        }
        super::prepare_dir(&dir)?;
        copy_files(&shards, &meta, &dir)?;
        let rows = write_results(&dir, &meta, &records)?;
        writeln!(out, "== {name} ({} seeds from {} shards) ==", meta.seeds.len(), shards.len())?;
        writeln!(out, "{}", meta.question)?;
        writeln!(out, "{}", table::text(&rows))?;
        if !missing.is_empty() {
            incomplete = true;
            writeln!(out, "missing seeds (no shard ran them): {}", missing.join(" "))?;
        }
        let (failed, unknown) = failures(&records);
        incomplete |= !failed.is_empty();
        writeln!(out, "failed runs: {}", if failed.is_empty() { "none".to_owned() } else { failed.join("; ") })?;
        writeln!(out, "unknown verdicts: {}", if unknown.is_empty() { "none".to_owned() } else { unknown.join("; ") })?;
        writeln!(out, "results: {}\n", dir.join("summary.md").display())?;
    }
    Ok(if incomplete { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Every failed run (`SYSTEM seed N: ERROR`) and every run whose check found no verdict
/// (`SYSTEM seed N`), in system and seed order: what a soak must report one by one.
pub fn failures(records: &[SeedRecord]) -> (Vec<String>, Vec<String>) {
    let mut sorted: Vec<&SeedRecord> = records.iter().collect();
    sorted.sort_by(|a, b| (&a.system, a.seed).cmp(&(&b.system, b.seed)));
    let failed =
        sorted.iter().filter_map(|r| r.error.as_ref().map(|e| format!("{} seed {}: {e}", r.system, r.seed))).collect();
    let unknown = sorted
        .iter()
        .filter(|r| r.error.is_none() && r.check == super::record::Check::Unknown)
        .map(|r| format!("{} seed {}", r.system, r.seed))
        .collect();
    (failed, unknown)
}

/// The merged meta and records of one experiment's shards, and the seeds no shard ran.
fn combine(shards: &[(PathBuf, Meta, Vec<SeedRecord>)]) -> Result<(Meta, Vec<SeedRecord>, Vec<String>)> {
    let (first_dir, first, _) = &shards[0];
    let mut seen: BTreeMap<(String, u64), &Path> = BTreeMap::new();
    let mut records = Vec::new();
    for (dir, meta, shard_records) in shards {
        let differs = |what: &str| {
            format!(
                "{} and {}: shards of `{}` from different {what}; they cannot be merged",
                first_dir.display(),
                dir.display(),
                meta.name
            )
        };
        if meta.fingerprint != first.fingerprint {
            bail!(differs("versions of the experiment file"));
        }
        if meta.systems != first.systems || meta.seeds != first.seeds {
            bail!(differs("system or seed selections"));
        }
        // Each shard's records are its own experiment's, systems and seeds (`read_results`).
        for record in shard_records {
            if let Some(other) = seen.insert((record.system.clone(), record.seed), dir) {
                bail!(
                    "system `{}` seed {} is in both {} and {}: were the same shard's results given twice?",
                    record.system,
                    record.seed,
                    other.display(),
                    dir.display()
                );
            }
            records.push(record.clone());
        }
    }
    let present: Vec<u64> = first.seeds.iter().copied().filter(|s| records.iter().any(|r| r.seed == *s)).collect();
    // Every system must have every seed: a pair missing anywhere is reported, seed by seed.
    let absent = validate::missing(&first.systems, &first.seeds, &records);
    let missing: Vec<String> = first
        .seeds
        .iter()
        .flat_map(|seed| {
            absent.iter().filter(|(_, seeds)| seeds.contains(seed)).map(move |(system, _)| (system, *seed))
        })
        .map(|(system, seed)| if first.systems.len() == 1 { seed.to_string() } else { format!("{system}:{seed}") })
        .collect();
    let mut meta = first.clone();
    meta.shard = None;
    meta.seeds = present;
    Ok((meta, records, missing))
}

/// Copies plots (from the shard that ran the earliest seed) and every violation file.
fn copy_files(shards: &[(PathBuf, Meta, Vec<SeedRecord>)], meta: &Meta, dir: &Path) -> Result<()> {
    let first_seed = meta.seeds.first().copied();
    let plot_shard = shards.iter().find(|(_, _, records)| records.iter().any(|r| Some(r.seed) == first_seed));
    for (shard_dir, sub) in
        plot_shard.map(|(d, _, _)| (d, "plots")).into_iter().chain(shards.iter().map(|(d, _, _)| (d, "violations")))
    {
        let from = shard_dir.join(sub);
        if !from.is_dir() {
            continue;
        }
        let to = dir.join(sub);
        fs::create_dir_all(&to).with_context(|| format!("{}: cannot create", to.display()))?;
        for entry in fs::read_dir(&from).with_context(|| format!("{}: cannot read", from.display()))? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                let target = to.join(entry.file_name());
                fs::copy(entry.path(), &target).with_context(|| format!("{}: cannot write", target.display()))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::record::Check;

    #[test]
    fn failures_list_every_failed_run_and_unknown_verdict_in_order() {
        let record = |system: &str, seed: u64, error: Option<&str>, check: Check| {
            let mut r = SeedRecord::failed(system, seed, error.unwrap_or_default().to_owned());
            r.error = error.map(str::to_owned);
            r.check = check;
            r
        };
        let records = [
            record("b", 2, None, Check::Unknown),
            record("b", 1, Some("stuck"), Check::NotRun),
            record("a", 3, None, Check::Linearizable),
            record("a", 1, None, Check::Unknown),
        ];
        let (failed, unknown) = failures(&records);
        assert_eq!(failed, ["b seed 1: stuck"]);
        assert_eq!(unknown, ["a seed 1", "b seed 2"]);
    }
}
