//! `lab corpus`: check a corpus of histories with known verdicts, and measure the checker.
//!
//! The corpus directory holds `verdicts.tsv` (`file<TAB>true|false`, a header line first) and
//! the histories it names. Files are grouped by their first directory (`jepsen/`, `kv/`) for
//! the summary: total checking time and slowest file per group, then the process's peak
//! memory. Parsing is not timed; checking is, `--repeat` times per file, median reported.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use checker::Outcome;
use tabled::settings::Style;
use tabled::{Table, Tabled};

use crate::check::{check_history, default_jobs, model_name};
use crate::input::read_history;
use crate::options::{CorpusArgs, FormatArg, ModelArg};

/// One row of verdicts.tsv.
struct Expected {
    file: String,
    linearizable: bool,
    line: usize,
}

fn read_verdicts(dir: &Path) -> Result<Vec<Expected>> {
    let path = dir.join("verdicts.tsv");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: cannot read (is {} a corpus directory?)", path.display(), dir.display()))?;
    let mut rows = Vec::new();
    for (number, line) in text.lines().enumerate().skip(1) {
        let line_no = number + 1;
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.split('\t');
        let (Some(file), Some(verdict), None) = (fields.next(), fields.next(), fields.next()) else {
            bail!("{}:{line_no}: expected two tab-separated fields: file and true/false", path.display());
        };
        let linearizable = match verdict.trim() {
            "true" => true,
            "false" => false,
            other => bail!("{}:{line_no}: verdict `{other}`: expected true or false", path.display()),
        };
        rows.push(Expected { file: file.trim().to_owned(), linearizable, line: line_no });
    }
    if rows.is_empty() {
        bail!("{}: no verdicts listed", path.display());
    }
    Ok(rows)
}

#[derive(Tabled)]
struct Row {
    file: String,
    model: String,
    expected: String,
    got: String,
    #[tabled(rename = "ms (median)")]
    ms: String,
    agrees: String,
}

struct Measured {
    file: String,
    ms: f64,
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Runs `lab corpus`.
pub fn run(args: &CorpusArgs) -> Result<ExitCode> {
    let mut out = crate::output::stdout();
    if args.repeat == 0 {
        bail!("--repeat must be at least 1");
    }
    let jobs = default_jobs(args.jobs);
    let expected = read_verdicts(&args.dir)?;
    let mut rows = Vec::new();
    let mut groups: BTreeMap<String, Vec<Measured>> = BTreeMap::new();
    let mut disagreements = 0;
    for row in &expected {
        let path: PathBuf = args.dir.join(&row.file);
        let measured = read_history(&path, FormatArg::Auto, crate::options::DEFAULT_MAX_INPUT).and_then(|history| {
            let model = model_name(ModelArg::Auto, &history);
            let mut times = Vec::with_capacity(args.repeat);
            let mut outcome = Outcome::Unknown;
            for _ in 0..args.repeat {
                let (verdict, elapsed) = check_history(&path, &history, model, args.timeout, jobs, 512 << 20)?;
                outcome = verdict.outcome;
                times.push(elapsed);
            }
            Ok((model, outcome, median(times)))
        });
        let want = if row.linearizable { Outcome::Linearizable } else { Outcome::NotLinearizable };
        let (model, got, ms) = match measured {
            Ok((model, outcome, time)) => (model, outcome.to_string(), time.as_secs_f64() * 1000.0),
            Err(error) => {
                eprintln!("lab: error (verdicts.tsv line {}): {error:#}", row.line);
                ("-", "error".to_owned(), 0.0)
            }
        };
        let agrees = got == want.as_str();
        disagreements += usize::from(!agrees);
        let group = row.file.split('/').next().unwrap_or_default().to_owned();
        groups.entry(group).or_default().push(Measured { file: row.file.clone(), ms });
        rows.push(Row {
            file: row.file.clone(),
            model: model.to_owned(),
            expected: want.to_string(),
            got,
            ms: format!("{ms:.2}"),
            agrees: if agrees { "yes" } else { "NO" }.to_owned(),
        });
    }
    if args.verbose || disagreements > 0 {
        let shown: Vec<Row> = if args.verbose { rows } else { rows.into_iter().filter(|r| r.agrees == "NO").collect() };
        writeln!(out, "{}", Table::new(shown).with(Style::sharp()))?;
    }
    writeln!(out,
        "corpus {}: {} files, {} agree with verdicts.tsv, {} disagree (median of {} run(s) per file, {} worker thread(s))",
        args.dir.display(),
        expected.len(),
        expected.len() - disagreements,
        disagreements,
        args.repeat,
        jobs
    )?;
    for (group, files) in &groups {
        let total: f64 = files.iter().map(|m| m.ms).sum();
        let slowest = files.iter().max_by(|a, b| a.ms.total_cmp(&b.ms));
        if let Some(slowest) = slowest {
            writeln!(
                out,
                "{group}/ ({} files): checking time {total:.1} ms in total, slowest {} {:.1} ms",
                files.len(),
                slowest.file,
                slowest.ms
            )?;
        }
        if files.len() <= 10 {
            for m in files {
                writeln!(out, "  {} {:.1} ms", m.file, m.ms)?;
            }
        }
    }
    match crate::output::peak_memory_mib() {
        Some(mib) => writeln!(out, "peak memory (VmHWM, whole process): {mib:.1} MiB")?,
        None => writeln!(out, "peak memory: not available on this platform")?,
    }
    Ok(if disagreements == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
