//! The results directory of one experiment: `experiment.json` (what was run), `runs.jsonl`
//! (one [`SeedRecord`] per system and seed: the source of every table), `table.{md,csv,json}`
//! and `summary.md` (the table with the question, the faults, the legend and links to the
//! plots and violations), `plots/` and `violations/`.
//!
//! Rendering is pure (the functions returning strings); [`write_results`] only writes them.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::record::SeedRecord;
use super::table::{self, Row};

/// What a results directory holds the results of.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// The experiment's name.
    pub name: String,
    /// Its question.
    pub question: String,
    /// The file it came from.
    pub file: String,
    /// FNV-1a of the file's bytes: shards of different versions of a file are not merged.
    pub fingerprint: String,
    /// Every seed of the run (for a shard: of the whole run, before sharding).
    pub seeds: Vec<u64>,
    /// `[I, N]` for a shard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<[usize; 2]>,
    /// The systems, in file order.
    pub systems: Vec<String>,
    /// Whether the workload is the set (the check is then set validity, not linearizability).
    pub set_workload: bool,
    /// What the workload's check establishes, as the table's header names it
    /// (`linearizable`, `set-valid`, `serializable`, `bank-valid`); absent in files written
    /// before it existed (then `set_workload` says).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// Each system's configuration, described.
    pub configs: Vec<(String, String)>,
    /// Each system's fault schedule, described.
    pub faults: Vec<(String, String)>,
}

impl Meta {
    /// The check's label, for the table's header.
    pub fn check_label(&self) -> &'static str {
        table::check_label(self.check.as_deref(), self.set_workload)
    }
}

/// FNV-1a, 64 bits, as hex.
pub fn fingerprint(bytes: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The records sorted as files show them: by system (in `meta` order), then seed.
pub fn sorted(meta: &Meta, records: &[SeedRecord]) -> Vec<SeedRecord> {
    let position = |system: &str| meta.systems.iter().position(|s| s == system).unwrap_or(usize::MAX);
    let mut records = records.to_vec();
    records.sort_by_key(|r| (position(&r.system), r.seed));
    records
}

/// The file name of a violation's history (`.jsonl`) or explanation (`.txt`), without extension.
pub fn violation_stem(system: &str, seed: u64) -> String {
    format!("{system}-seed-{seed}")
}

/// The table and everything around it, as Markdown.
pub fn summary(meta: &Meta, rows: &[Row], plots: &[(String, String)]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n\n{}\n", meta.name, meta.question);
    let seeds = match meta.seeds.as_slice() {
        [one] => format!("seed {one}"),
        many => {
            format!("{} seeds ({} to {})", many.len(), many.iter().min().unwrap_or(&0), many.iter().max().unwrap_or(&0))
        }
    };
    let _ = writeln!(out, "From `{}`, {seeds}.\n", meta.file);
    let _ = writeln!(out, "{}\n", table::markdown(rows));
    out.push_str(LEGEND);
    out.push_str("\n## Systems and faults\n\n");
    for ((system, config), (_, faults)) in meta.configs.iter().zip(&meta.faults) {
        let _ = writeln!(out, "- `{system}` ({config}): {faults}");
    }
    if !plots.is_empty() {
        out.push_str("\n## Plots\n\nLatency of every operation over simulated time (ok, fail, info), fault windows shaded, and availability over time.\n\n");
        for (system, path) in plots {
            let _ = writeln!(out, "- [{system}]({path})");
        }
    }
    let violations: Vec<&Row> = rows.iter().filter(|r| !r.violating_seeds.is_empty()).collect();
    if !violations.is_empty() {
        out.push_str("\n## Violations\n\nThe history (JSON Lines, `lab check --model cas-register FILE` reads it) and the witness of each:\n\n");
        for row in violations {
            let links: Vec<String> = row
                .violating_seeds
                .iter()
                .map(|seed| {
                    let stem = violation_stem(&row.system, *seed);
                    format!("seed {seed} ([history](violations/{stem}.jsonl), [witness](violations/{stem}.txt))")
                })
                .collect();
            let _ = writeln!(out, "- `{}`: {}", row.system, links.join(", "));
        }
    }
    out
}

/// What the columns mean.
pub const LEGEND: &str = "\
Columns: `ops` operations invoked while clients ran (all seeds); `ok/fail/info %` how they ended \
(`info`: outcome unknown, e.g. a timeout); `avail. fault ops` the share `ok` among operations \
invoked while a fault was in effect (per operation), `avail. fault time` the share of the \
clients' time inside fault windows during which they were available (per client over time: \
each client's time is cut at its invocations, and the stretch from an invocation to its next \
counts as available when that operation ended `ok`), `avail. healthy` the share `ok` among \
operations invoked while no fault was; the check column counts seeds that passed out of seeds \
checked (`linearizable`: the cas-register checker found an order; `set-valid`: the final read \
holds every acknowledged add and nothing else); `stale reads` reads that returned a value \
certainly overwritten before they began; `lost writes` acknowledged writes the final reads no \
longer reflect, of all acknowledged; `converged` the slowest time, from the start of the repair \
phase (at the end of the client phase every fault is healed and clients stop invoking), until \
every replica agreed for good (0: they agreed already; `never in N of M seeds`: still apart at \
the end of the run; `-`: one replica); latencies of `ok` operations in simulated ms; `ok/s` per \
simulated second; `msgs/op` messages sent per operation. Clients wait 100 ms after every \
operation that did not end `ok` (a `fail`, refused or never sent, or a timeout) before their \
next (10 ms after an `ok`), so an outage yields fewer operations than the same time healthy: \
`avail. fault ops` is a share of operations, `avail. fault time` a share of time (the plots \
show availability over time). A `cas` whose comparison fails is a `fail` too; the standard \
experiments invoke no `cas`.
";

/// Writes the results of `records` into `dir` and returns the rows.
pub fn write_results(dir: &Path, meta: &Meta, records: &[SeedRecord]) -> Result<Vec<Row>> {
    fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let records = sorted(meta, records);
    let rows = table::aggregate(&records, &meta.systems, meta.check_label());
    let mut plots = Vec::new();
    for system in &meta.systems {
        let path = format!("plots/{system}.svg");
        if dir.join(&path).is_file() {
            plots.push((system.clone(), path));
        }
    }
    let mut runs = String::new();
    for record in &records {
        runs.push_str(&serde_json::to_string(record)?);
        runs.push('\n');
    }
    let json = serde_json::json!({ "experiment": meta, "rows": rows });
    let files: [(&str, String); 6] = [
        ("experiment.json", serde_json::to_string_pretty(meta)? + "\n"),
        ("runs.jsonl", runs),
        ("table.md", table::markdown(&rows) + "\n"),
        ("table.csv", table::csv(&rows)),
        ("table.json", serde_json::to_string_pretty(&json)? + "\n"),
        ("summary.md", summary(meta, &rows, &plots)),
    ];
    for (name, contents) in files {
        write(&dir.join(name), contents.as_bytes())?;
    }
    Ok(rows)
}

/// Writes `bytes` to `path`, through a temporary file renamed into place: `path` holds either
/// its old contents or all of the new ones, never a part (a full disk, a crash). A failed
/// write removes its temporary file.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let temporary: PathBuf = path.with_extension("partial");
    let written = fs::write(&temporary, bytes)
        .with_context(|| format!("{}: cannot write", temporary.display()))
        .and_then(|()| fs::rename(&temporary, path).with_context(|| format!("{}: cannot write", path.display())));
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written
}

/// Reads a results directory's `experiment.json` and `runs.jsonl`, and checks that the records
/// are this experiment's, once each (missing ones are the caller's to report): the checks
/// [`validate`](super::validate) lists, as `lab merge` makes them of a shard.
pub fn read_results(dir: &Path) -> Result<(Meta, Vec<SeedRecord>)> {
    super::validate::read(dir, super::validate::Completeness::AsRecorded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = std::env::temp_dir().join(format!("lab-output-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("scratch dir");
        let path = dir.join("table.md");
        write(&path, b"old").expect("first write");
        // The rename fails (a directory stands where the file should go): nothing partial stays.
        let blocked = dir.join("blocked.md");
        fs::create_dir_all(blocked.join("inside")).expect("a directory in the way");
        assert!(write(&blocked, b"new").is_err());
        assert!(!blocked.with_extension("partial").exists(), "the temporary file was removed");
        write(&path, b"new").expect("second write");
        assert_eq!(fs::read(&path).expect("read"), b"new");
        assert!(!path.with_extension("partial").exists());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn fingerprints_are_fnv1a() {
        assert_eq!(fingerprint(b""), "cbf29ce484222325");
        assert_eq!(fingerprint(b"a"), "af63dc4c8601ec8c");
    }
}
