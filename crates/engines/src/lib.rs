//! `lab bench engines`: the storage engines on this machine's real disk.
//!
//! Map:
//! - [`machine`]: what the machine and the scratch directory's file system are; the device's
//!   flush counter and this process's write counters.
//! - [`measure`]: one table row ([`measure::Row`]) and the timed writer loop.
//! - [`raw`]: the physical limits (raw sync rate, raw append bandwidth).
//! - [`lsm_cells`]: the commit-log engine (`lsm` on `RealFs`) per durability setting.
//! - [`sqlite_cells`]: SQLite (default VFS) per journal mode and `synchronous`.
//! - [`parts`]: where the time of one unsynced commit-log write goes.
//! - [`table`]: Markdown and CSV rendering; [`summary`]: baselines, ratios, goals, summary.md.
//!
//! The run: raw baselines, every lsm cell, every SQLite cell, the raw baselines once more
//! (the machine is shared and drifts: each ratio uses the better of the two baseline runs,
//! the stricter bar), then the files in `results/engines/`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use lsm::SyncCall;
use serde::Serialize;

pub mod calibration;
pub mod lsm_cells;
pub mod machine;
pub mod measure;
pub mod messages;
pub mod parts;
pub mod profile;
pub mod raw;
pub mod sqlite_cells;
pub mod summary;
pub mod table;

use lsm_cells::{Data, Setting};
use measure::{Budget, Row};
use sqlite_cells::{Journal, Synchronous};

/// `lab bench engines`.
#[derive(Debug, Args)]
pub struct BenchEnginesArgs {
    /// Where results go (results/engines/ under it).
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Scratch directory for the engines' files: must be on the real disk (tmpfs is refused).
    /// Created if missing; what the bench writes there is deleted afterwards.
    #[arg(long, default_value = "target/bench-engines")]
    pub dir: PathBuf,
    /// Wall seconds per measured cell.
    #[arg(long, default_value_t = 2.0)]
    pub seconds: f64,
    /// A fast smoke run (0.05 s and at most 2,000 rows per cell): checks the machinery, its
    /// figures mean little.
    #[arg(long)]
    pub quick: bool,
    /// The period of the periodic sync setting, in milliseconds.
    #[arg(long, default_value_t = 100)]
    pub period_ms: u64,
    /// Distinct keys written (round-robin overwrites).
    #[arg(long, default_value_t = 100_000)]
    pub keys: usize,
    /// Bytes per value.
    #[arg(long, default_value_t = 100)]
    pub value_bytes: usize,
    /// Measure only this disk's profile (sync latencies with metadata and in place, their
    /// tail, bandwidth, the engines' CPU per commit) and write it to PATH, by default the
    /// committed experiments/disks/measured.toml: the `measured` disk of every experiment.
    #[arg(long, value_name = "PATH", num_args = 0..=1, default_missing_value = "experiments/disks/measured.toml")]
    pub write_profile: Option<PathBuf>,
}

/// The commit log's userspace write buffer in the buffered rows.
pub const LOG_BUFFER_BYTES: usize = 64 << 10;

/// What a run measures, validated.
#[derive(Debug, Clone, Serialize)]
pub struct Options {
    /// Scratch directory (on a real disk).
    pub dir: PathBuf,
    /// Wall seconds per cell.
    pub seconds: f64,
    /// Rows per cell at most.
    pub max_writes: u64,
    /// The periodic setting's period.
    pub period_ms: u64,
    /// Distinct keys.
    pub keys: usize,
    /// Bytes per value.
    pub value_bytes: usize,
    /// Whether a RAM-backed scratch directory is accepted (tests only).
    #[serde(skip)]
    pub allow_ram: bool,
    /// A smoke run.
    pub quick: bool,
}

impl Options {
    /// From the command line.
    pub fn from_args(args: &BenchEnginesArgs) -> Result<Options> {
        if !(args.seconds > 0.0 && args.seconds.is_finite()) {
            bail!("--seconds must be a positive number");
        }
        if args.keys == 0 || args.period_ms == 0 {
            bail!("--keys and --period-ms must be at least 1");
        }
        let (seconds, max_writes) = if args.quick { (0.05, 2_000) } else { (args.seconds, u64::MAX) };
        Ok(Options {
            dir: args.dir.clone(),
            seconds,
            max_writes,
            period_ms: args.period_ms,
            keys: args.keys,
            value_bytes: args.value_bytes,
            allow_ram: false,
            quick: args.quick,
        })
    }

    fn budget(&self) -> Budget {
        Budget { seconds: self.seconds, max_writes: self.max_writes }
    }
}

/// Everything a run produced.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The machine.
    pub machine: machine::Machine,
    /// The options.
    pub options: Options,
    /// Bytes of one commit-log record of the data written.
    pub record_bytes: usize,
    /// Every row, baselines first.
    pub rows: Vec<Row>,
    /// Where an unsynced write's time goes.
    pub parts: Vec<parts::Part>,
    /// The goals, judged.
    pub goals: Vec<summary::Goal>,
}

/// Runs `lab bench engines`.
pub fn run(args: &BenchEnginesArgs) -> Result<ExitCode> {
    let options = Options::from_args(args)?;
    let created = !options.dir.exists();
    std::fs::create_dir_all(&options.dir).with_context(|| format!("create {}", options.dir.display()))?;
    if let Some(path) = &args.write_profile {
        let rounds = if args.quick { profile::Rounds::QUICK } else { profile::Rounds::FULL };
        let written = profile::write(&options.dir, path, rounds, &mut std::io::stderr());
        if created {
            let _ = std::fs::remove_dir(&options.dir);
        }
        let written = written?;
        println!(
            "wrote {}: sync {:?} (p99 {:?}), in place {:?}, {:.0} MB/s; SQLite {:?}, commit log {:?} CPU per commit \
             (rebuild for experiments to use it)",
            path.display(),
            written.sync,
            written.sync_p99,
            written.sync_in_place,
            written.write_mb_per_s,
            written.sqlite_commit,
            written.log_write
        );
        return Ok(ExitCode::SUCCESS);
    }
    let report = bench(&options, &mut std::io::stderr());
    if created {
        // Only if empty: never delete what was there before.
        let _ = std::fs::remove_dir(&options.dir);
    }
    let report = report?;
    let out = args.out.join("engines");
    write_files(&out, &report)?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{}", table::markdown(&report.rows))?;
    for goal in &report.goals {
        writeln!(stdout, "{}: {} ({})", if goal.met { "met" } else { "NOT met" }, goal.goal, goal.figure)?;
    }
    writeln!(stdout, "wrote {}/table.md, table.csv, table.json, summary.md", out.display())?;
    Ok(ExitCode::SUCCESS)
}

/// Writes table.md, table.csv, table.json and summary.md into `out`.
pub fn write_files(out: &Path, report: &Report) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("create {}", out.display()))?;
    let write = |name: &str, text: String| {
        std::fs::write(out.join(name), text).with_context(|| format!("write {}", out.join(name).display()))
    };
    write("table.md", table::markdown(&report.rows))?;
    write("table.csv", table::csv(&report.rows))?;
    write("table.json", serde_json::to_string_pretty(report)? + "\n")?;
    write("summary.md", summary::render(report))
}

/// Measures every cell; progress lines go to `log`.
pub fn bench(options: &Options, log: &mut dyn std::io::Write) -> Result<Report> {
    let machine = machine::describe(&options.dir, options.allow_ram)?;
    let dir = machine.dir.clone();
    let device = machine.device.clone();
    let device = device.as_deref();
    let budget = options.budget();
    let data = Data::new(options.keys, options.value_bytes);
    let record_bytes = data.record_bytes();
    let mut rows = Vec::new();
    let mut push = |row: Row, rows: &mut Vec<Row>| -> Result<()> {
        writeln!(
            log,
            "{:>7} {:<40} rows {:>3} threads {} : {:>10.0} writes/s",
            row.engine, row.setting, row.rows_per_commit, row.threads, row.writes_per_s
        )?;
        rows.push(row);
        Ok(())
    };
    for row in baselines(&dir, device, budget, record_bytes)? {
        push(row, &mut rows)?;
    }
    for spec in lsm_specs(Duration::from_millis(options.period_ms)) {
        push(lsm_cells::measure(&dir, device, budget, &data, spec)?, &mut rows)?;
    }
    for spec in sqlite_specs() {
        push(sqlite_cells::measure(&dir, device, budget, &data, spec)?, &mut rows)?;
    }
    for mut row in baselines(&dir, device, budget, record_bytes)? {
        row.setting.push_str(summary::AGAIN);
        push(row, &mut rows)?;
    }
    let iterations = if options.quick { 1_000 } else { 1_000_000 };
    let parts = parts::measure(&dir, &data, iterations)?;
    summary::compare(&mut rows);
    let goals = summary::goals(&rows);
    Ok(Report { machine, options: options.clone(), record_bytes, rows, parts, goals })
}

/// The raw baselines: 4 KiB writes each followed by a sync (over one block and appended,
/// `fsync` and `fdatasync`), then 1 MiB appends (page cache, and with a final `fsync`) and
/// appends of one commit-log record per `write`.
fn baselines(dir: &Path, device: Option<&str>, budget: Budget, record_bytes: usize) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for append in [false, true] {
        for sync in [raw::Sync::Fsync, raw::Sync::Fdatasync] {
            rows.push(raw::sync_loop(dir, device, budget, 4096, sync, append)?);
        }
    }
    for (size, final_sync) in [(1 << 20, false), (1 << 20, true), (record_bytes, false)] {
        rows.push(raw::append_loop(dir, device, budget, size, final_sync)?);
    }
    Ok(rows)
}

/// The lsm cells: every setting (no sync and periodic also with the write buffer) for 1 and
/// 100 rows per commit and 1 and 8 writers, with `fsync`; per-commit and group commit also
/// with `fdatasync`, to compare like with like with SQLite.
pub fn lsm_specs(period: Duration) -> Vec<lsm_cells::Cellspec> {
    let mut specs = Vec::new();
    for threads in [1, 8] {
        for rows in [1, 100] {
            for (setting, buffer) in [
                (Setting::None, 0),
                (Setting::None, LOG_BUFFER_BYTES),
                (Setting::Periodic(period), 0),
                (Setting::Periodic(period), LOG_BUFFER_BYTES),
                (Setting::PerCommit, 0),
                (Setting::Group, 0),
            ] {
                specs.push(lsm_cells::Cellspec { setting, rows, threads, buffer, sync: SyncCall::Fsync });
            }
        }
        for setting in [Setting::PerCommit, Setting::Group] {
            specs.push(lsm_cells::Cellspec { setting, rows: 1, threads, buffer: 0, sync: SyncCall::Fdatasync });
        }
    }
    specs
}

/// The SQLite cells: WAL with OFF, NORMAL and FULL, and DELETE with FULL, for 1 and 100 rows
/// per transaction and 1 and 8 connections.
pub fn sqlite_specs() -> Vec<sqlite_cells::Cellspec> {
    let mut specs = Vec::new();
    for threads in [1, 8] {
        for rows in [1, 100] {
            for (journal, synchronous) in [
                (Journal::Wal, Synchronous::Off),
                (Journal::Wal, Synchronous::Normal),
                (Journal::Wal, Synchronous::Full),
                (Journal::Delete, Synchronous::Full),
            ] {
                specs.push(sqlite_cells::Cellspec { journal, synchronous, rows, threads });
            }
        }
    }
    specs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole run, quick: every cell runs, the files are written, the scratch directory is
    /// left empty. Asserts structure and exact counts only, never a speed.
    #[test]
    fn a_quick_run_fills_every_file() -> Result<()> {
        let base = std::env::temp_dir().join(format!("lab-engines-{}", std::process::id()));
        let dir = base.join("scratch");
        std::fs::create_dir_all(&dir)?;
        let options = Options {
            dir: dir.clone(),
            seconds: 1e6,
            max_writes: 20,
            period_ms: 5,
            keys: 100,
            value_bytes: 100,
            allow_ram: true,
            quick: true,
        };
        let report = bench(&options, &mut std::io::sink())?;
        let raw_rows = 2 * (4 + 3);
        assert_eq!(report.rows.len(), raw_rows + lsm_specs(Duration::from_millis(5)).len() + sqlite_specs().len());
        let lsm = |setting: &str, rows: u64, threads: u64| {
            report.rows.iter().find(|r| {
                r.engine == "lsm"
                    && r.setting == setting
                    && r.rows_per_commit == rows
                    && r.threads == threads
                    && r.sync_call == "fsync"
            })
        };
        let per_commit = lsm("sync per commit", 1, 1).ok_or_else(|| anyhow::anyhow!("no per-commit row"))?;
        assert_eq!((per_commit.writes, per_commit.fsyncs_per_write), (20, Some(1.0)));
        let none = lsm("no sync", 1, 1).ok_or_else(|| anyhow::anyhow!("no no-sync row"))?;
        assert_eq!(none.fsyncs_per_write, Some(0.0));
        assert_eq!(none.bytes_per_write, report.record_bytes as f64);
        let batch = lsm("sync per commit", 100, 1).ok_or_else(|| anyhow::anyhow!("no batch row"))?;
        assert_eq!(batch.fsyncs_per_write, Some(0.01));
        assert!(report
            .rows
            .iter()
            .filter(|r| r.engine != "raw")
            .all(|r| r.baseline.is_some() && r.x_baseline.is_some()));
        assert_eq!(report.goals.len(), 4);
        assert_eq!(std::fs::read_dir(&dir)?.count(), 0, "the scratch directory is left empty");
        let out = base.join("results");
        write_files(&out, &report)?;
        let md = std::fs::read_to_string(out.join("table.md"))?;
        assert_eq!(md.lines().count(), report.rows.len() + 2);
        let csv = std::fs::read_to_string(out.join("table.csv"))?;
        assert_eq!(csv.lines().count(), report.rows.len() + 1);
        let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("table.json"))?)?;
        assert_eq!(json["rows"].as_array().map(Vec::len), Some(report.rows.len()));
        let summary = std::fs::read_to_string(out.join("summary.md"))?;
        assert!(summary.contains("## Machine") && summary.contains("## Goals") && summary.contains("## Baselines"));
        std::fs::remove_dir_all(&base)?;
        Ok(())
    }
}
