//! `lab check`: linearizability verdicts for history files, and with `--model list-append`
//! or `--model bank` transactional verdicts (`checker::txn`): valid, invalid or unknown, the
//! anomalies found (explained, a few printed) and the strongest isolation level.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use checker::{key_label, CheckOptions, Outcome, Verdict};
use history::History;

use crate::input::{event_location, prepare_history_until, read_transactions_until, TxnFile, TxnModel, TxnRead};
use crate::options::{CheckArgs, ModelArg};
use experiment::explain as report;

/// The model name for a history, as the user asked or inferred from its functions.
pub fn model_name(arg: ModelArg, history: &History) -> &'static str {
    match arg {
        ModelArg::Auto => checker::infer_model(&history.events),
        ModelArg::Register => "register",
        ModelArg::CasRegister => "cas-register",
        ModelArg::Kv => "kv",
        ModelArg::ListAppend => "list-append",
        ModelArg::Bank => "bank",
    }
}

/// The default number of worker threads: the machine's cores.
pub fn default_jobs(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)).max(1)
}

/// Checks one parsed history with a wall-clock deadline; returns the verdict and the time.
pub fn check_history(
    path: &Path,
    history: &History,
    model: &str,
    timeout: Duration,
    jobs: usize,
    memory_limit_bytes: usize,
) -> Result<(Verdict, Duration)> {
    check_history_from(Instant::now(), path, history, model, timeout, jobs, memory_limit_bytes)
}

/// [`check_history`] for a file whose `timeout` began at `start` (when its reading began).
fn check_history_from(
    start: Instant,
    path: &Path,
    history: &History,
    model: &str,
    timeout: Duration,
    jobs: usize,
    memory_limit_bytes: usize,
) -> Result<(Verdict, Duration)> {
    let deadline = start + timeout;
    let passed = move || Instant::now() >= deadline;
    let options = CheckOptions { deadline: &passed, jobs, memory_limit_bytes, orders: true };
    let verdict = checker::check_named(model, &history.events, &options).map_err(|e| match e {
        checker::CheckError::Event { event, message } => {
            anyhow::anyhow!("{}: {message}", event_location(path, history, event))
        }
        other => anyhow::anyhow!("{}: {other}", path.display()),
    })?;
    Ok((verdict, start.elapsed()))
}

#[derive(Default)]
struct Tally {
    files: usize,
    linearizable: usize,
    not_linearizable: usize,
    unknown: usize,
    errors: usize,
    elapsed: Duration,
}

/// Runs `lab check`.
pub fn run(args: &CheckArgs) -> Result<ExitCode> {
    if args.model.is_transactional() {
        return run_transactional(args);
    }
    let jobs = default_jobs(args.jobs);
    let memory = args.memory_mib.saturating_mul(1 << 20);
    let mut tally = Tally::default();
    let mut out = crate::output::stdout();
    for path in &args.files {
        tally.files += 1;
        // The timeout covers reading and parsing too: a file still being parsed at its deadline
        // is `unknown`, as one whose search was cut off.
        let start = Instant::now();
        let deadline = start + args.timeout;
        let checked = prepare_history_until(path, args.format, args.max_input, args.model, deadline).map(|read| {
            let Some(file) = read else {
                let verdict = Verdict { outcome: Outcome::Unknown, partitions: Vec::new() };
                return (History::default(), model_name(args.model, &History::default()), verdict, start.elapsed());
            };
            let passed = move || Instant::now() >= deadline;
            let options = CheckOptions { deadline: &passed, jobs, memory_limit_bytes: memory, orders: args.explain };
            let verdict = checker::check_prepared_named(file.prepared, &options);
            (file.lines, file.model, verdict, start.elapsed())
        });
        let (history, model, verdict, elapsed) = match checked {
            Ok(result) => result,
            Err(error) => {
                tally.errors += 1;
                report_error(&mut out, path, &error, args.json)?;
                continue;
            }
        };
        tally.elapsed += elapsed;
        match verdict.outcome {
            Outcome::Linearizable => tally.linearizable += 1,
            Outcome::NotLinearizable => tally.not_linearizable += 1,
            Outcome::Unknown => tally.unknown += 1,
        }
        let millis = elapsed.as_secs_f64() * 1000.0;
        if args.json {
            writeln!(out, "{}", json_line(path, model, &verdict, millis, &history, args.explain))?;
        } else {
            writeln!(out, "{}\t{}\t{:.1}", path.display(), verdict.outcome, millis)?;
            if args.explain {
                write!(out, "{}", report::explain(&verdict, &history))?;
            }
        }
    }
    if !args.json {
        writeln!(
            out,
            "total\t{} files: {} linearizable, {} not-linearizable, {} unknown, {} errors\t{:.1}",
            tally.files,
            tally.linearizable,
            tally.not_linearizable,
            tally.unknown,
            tally.errors,
            tally.elapsed.as_secs_f64() * 1000.0
        )?;
        if tally.not_linearizable > 0 && !args.explain {
            writeln!(out, "(run again with --explain to see why)")?;
        }
    }
    Ok(if tally.errors > 0 {
        ExitCode::from(2)
    } else if tally.not_linearizable + tally.unknown > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn json_line(
    path: &Path,
    model: &str,
    verdict: &Verdict,
    millis: f64,
    history: &History,
    order: bool,
) -> serde_json::Value {
    let witness =
        verdict.violation().map(|(partition, w)| report::witness_json(&key_label(&partition.key), w, history));
    let mut line = serde_json::json!({
        "file": path.display().to_string(),
        "model": model,
        "verdict": verdict.outcome.as_str(),
        "ms": (millis * 1000.0).round() / 1000.0,
        "events": history.lines.len(),
        "partitions": verdict.partitions.len(),
        "steps": verdict.steps(),
        "states": verdict.partitions.iter().map(|p| p.stats.states).sum::<u64>(),
        "memo_entries": verdict.partitions.iter().map(|p| p.stats.memo_entries).sum::<u64>(),
        // The whole process's peak so far: with several files, the largest check up to this one.
        "peak_mib": crate::output::peak_memory_mib().map(|mib| (mib * 10.0).round() / 10.0),
        "witness": witness,
    });
    if order {
        let orders: Vec<_> = verdict
            .partitions
            .iter()
            .filter_map(|p| match &p.result {
                checker::PartitionResult::Linearizable(ops) => Some(serde_json::json!({
                    "partition": key_label(&p.key),
                    "order": ops.iter().map(|op| history.lines.get(op.call_event)).collect::<Vec<_>>(),
                })),
                _ => None,
            })
            .collect();
        line["orders"] = serde_json::Value::from(orders);
    }
    line
}

/// Anomalies printed per file in text mode (`--json` lists them all).
const ANOMALIES_SHOWN: usize = 5;

/// One transactional check's result (a bank history's report was made as the file was read).
enum TxnChecked<'a> {
    ListAppend(checker::TxnReport),
    Bank(&'a checker::BankReport),
}

impl TxnChecked<'_> {
    fn verdict(&self) -> &'static str {
        match self {
            TxnChecked::ListAppend(report) => report.outcome.as_str(),
            TxnChecked::Bank(report) if report.violations.is_empty() => "valid",
            TxnChecked::Bank(_) => "invalid",
        }
    }
}

/// Checks one history file, read, with the transactional model `args.model`.
fn check_transactional<'a>(
    start: Instant,
    path: &Path,
    file: &'a TxnFile,
    args: &CheckArgs,
) -> Result<(TxnChecked<'a>, Duration)> {
    let deadline = start + args.timeout;
    let passed = move || Instant::now() >= deadline;
    let located = |e: checker::TxnError| match e {
        checker::TxnError::Event { event, message } => {
            anyhow::anyhow!("{}: {message}", event_location(path, &file.lines, event))
        }
        other => anyhow::anyhow!("{}: {other}", path.display()),
    };
    let checked = match &file.read {
        TxnRead::Bank(report) => TxnChecked::Bank(report),
        TxnRead::ListAppend(parsed) => {
            let options = checker::TxnOptions {
                deadline: &passed,
                memory_limit_bytes: args.memory_mib.saturating_mul(1 << 20),
                realtime: !args.no_realtime,
            };
            TxnChecked::ListAppend(checker::check_transactions(parsed, &options).map_err(located)?)
        }
    };
    Ok((checked, start.elapsed()))
}

/// `T12 = FILE:LINE (process 3)` for each transaction of an anomaly.
fn legend(path: &Path, file: &TxnFile, txns: &[usize]) -> String {
    let mut seen = Vec::new();
    for &t in txns {
        if !seen.contains(&t) {
            seen.push(t);
        }
    }
    let name = |t: usize| {
        let process = match &file.read {
            TxnRead::ListAppend(parsed) => parsed.process_of(t).map(|p| p.to_string()).unwrap_or_default(),
            TxnRead::Bank(_) => String::new(),
        };
        format!("T{t} = {} (process {process})", event_location(path, &file.lines, t))
    };
    seen.into_iter().map(name).collect::<Vec<_>>().join(", ")
}

fn write_text(out: &mut dyn Write, path: &Path, file: &TxnFile, checked: &TxnChecked) -> Result<()> {
    match checked {
        TxnChecked::ListAppend(report) => {
            let strongest = report.strongest.map_or("unknown", |level| level.name());
            writeln!(
                out,
                "  {} committed, {} aborted, {} indeterminate; strongest level the history may satisfy: {strongest}",
                report.committed, report.aborted, report.indeterminate
            )?;
            if let checker::TxnOutcome::Unknown { reason } = &report.outcome {
                writeln!(out, "  unknown: {reason}")?;
            }
            for (class, count) in &report.counts {
                writeln!(out, "  {class}: {count}")?;
            }
            for (i, anomaly) in report.anomalies.iter().take(ANOMALIES_SHOWN).enumerate() {
                writeln!(out, "  {}. {anomaly}", i + 1)?;
                writeln!(out, "     {}", legend(path, file, &anomaly.txns))?;
            }
            if report.anomalies.len() > ANOMALIES_SHOWN {
                let more = report.anomalies.len() - ANOMALIES_SHOWN;
                let all = if report.anomalies_not_kept > 0 { "the kept ones" } else { "them all" };
                writeln!(out, "  ... and {more} more (--json lists {all})")?;
            }
            if report.anomalies_not_kept > 0 {
                writeln!(
                    out,
                    "  ... and {} more found and counted, not kept: their explanations would pass the memory limit",
                    report.anomalies_not_kept
                )?;
            }
        }
        TxnChecked::Bank(report) => {
            let total = report.total.map_or_else(|| "unknown (no ok read)".to_owned(), |t| t.to_string());
            writeln!(
                out,
                "  transfers: {} ok, {} failed, {} indeterminate; {} reads ok; total {total}",
                report.transfers_ok, report.transfers_failed, report.transfers_indeterminate, report.reads_ok
            )?;
            for violation in report.violations.iter().take(ANOMALIES_SHOWN) {
                writeln!(out, "  {}: {violation}", event_location(path, &file.lines, violation.event))?;
            }
            if report.violations.len() > ANOMALIES_SHOWN {
                writeln!(out, "  ... and {} more (--json lists them all)", report.violations.len() - ANOMALIES_SHOWN)?;
            }
        }
    }
    Ok(())
}

fn txn_json(path: &Path, file: &TxnFile, checked: &TxnChecked, model: &str, millis: f64) -> serde_json::Value {
    let line_of = |event: usize| file.lines.lines.get(event).copied();
    let mut line = serde_json::json!({
        "file": path.display().to_string(),
        "model": model,
        "verdict": checked.verdict(),
        "ms": (millis * 1000.0).round() / 1000.0,
        "events": file.lines.lines.len(),
        "peak_mib": crate::output::peak_memory_mib().map(|mib| (mib * 10.0).round() / 10.0),
    });
    match checked {
        TxnChecked::ListAppend(report) => {
            let anomalies: Vec<_> = report
                .anomalies
                .iter()
                .map(|a| {
                    serde_json::json!({
                        "class": a.class.name(),
                        "events": a.txns,
                        "lines": a.txns.iter().map(|&t| line_of(t)).collect::<Vec<_>>(),
                        "steps": a.steps,
                    })
                })
                .collect();
            let counts: serde_json::Map<String, serde_json::Value> =
                report.counts.iter().map(|(class, n)| (class.name().to_owned(), (*n).into())).collect();
            line["committed"] = report.committed.into();
            line["aborted"] = report.aborted.into();
            line["indeterminate"] = report.indeterminate.into();
            line["strongest"] = report.strongest.map(|level| level.name()).into();
            line["counts"] = counts.into();
            line["anomalies"] = anomalies.into();
            line["anomalies_not_kept"] = report.anomalies_not_kept.into();
            if let checker::TxnOutcome::Unknown { reason } = &report.outcome {
                line["reason"] = reason.as_str().into();
            }
        }
        TxnChecked::Bank(report) => {
            let violations: Vec<_> = report
                .violations
                .iter()
                .map(|v| serde_json::json!({"event": v.event, "line": line_of(v.event), "kind": format!("{:?}", v.kind), "text": v.text}))
                .collect();
            line["transfers_ok"] = report.transfers_ok.into();
            line["transfers_failed"] = report.transfers_failed.into();
            line["transfers_indeterminate"] = report.transfers_indeterminate.into();
            line["reads_ok"] = report.reads_ok.into();
            line["total"] = report.total.into();
            line["violations"] = violations.into();
        }
    }
    line
}

/// `lab check --model list-append|bank`: one line per file (FILE, verdict, milliseconds),
/// then the details; a summary. Exit status as for the other models: 0 all valid, 1 some
/// invalid or unknown, 2 an input error.
fn run_transactional(args: &CheckArgs) -> Result<ExitCode> {
    let model = model_name(args.model, &History::default());
    let txn_model = match args.model {
        ModelArg::Bank => TxnModel::Bank { total: args.total },
        _ => TxnModel::ListAppend,
    };
    let (mut valid, mut invalid, mut unknown, mut errors) = (0, 0, 0, 0);
    let mut elapsed_total = Duration::ZERO;
    let mut out = crate::output::stdout();
    for path in &args.files {
        let start = Instant::now();
        let deadline = start + args.timeout;
        let file = match read_transactions_until(path, args.format, args.max_input, txn_model, deadline) {
            Ok(Some(file)) => file,
            Ok(None) => {
                // The deadline passed while the file was read or parsed.
                unknown += 1;
                let millis = start.elapsed().as_secs_f64() * 1000.0;
                elapsed_total += start.elapsed();
                if args.json {
                    let line = serde_json::json!({"file": path.display().to_string(), "model": model, "verdict": "unknown", "ms": millis, "reason": "the timeout passed while the file was read"});
                    writeln!(out, "{line}")?;
                } else {
                    writeln!(
                        out,
                        "{}\tunknown\t{millis:.1}\t(the timeout passed while the file was read)",
                        path.display()
                    )?;
                }
                continue;
            }
            Err(error) => {
                errors += 1;
                report_error(&mut out, path, &error, args.json)?;
                continue;
            }
        };
        let (checked, elapsed) = match check_transactional(start, path, &file, args) {
            Ok(checked) => checked,
            Err(error) => {
                errors += 1;
                report_error(&mut out, path, &error, args.json)?;
                continue;
            }
        };
        elapsed_total += elapsed;
        match checked.verdict() {
            "valid" => valid += 1,
            "invalid" => invalid += 1,
            _ => unknown += 1,
        }
        let millis = elapsed.as_secs_f64() * 1000.0;
        if args.json {
            writeln!(out, "{}", txn_json(path, &file, &checked, model, millis))?;
        } else {
            writeln!(out, "{}\t{}\t{millis:.1}", path.display(), checked.verdict())?;
            write_text(&mut out, path, &file, &checked)?;
        }
    }
    if !args.json {
        writeln!(
            out,
            "total\t{} files ({model}): {valid} valid, {invalid} invalid, {unknown} unknown, {errors} errors\t{:.1}",
            args.files.len(),
            elapsed_total.as_secs_f64() * 1000.0
        )?;
    }
    Ok(if errors > 0 {
        ExitCode::from(2)
    } else if invalid + unknown > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Reports a file that could not be checked: on stderr, and as a JSON line with `--json`; the
/// other files are still checked.
fn report_error(out: &mut impl Write, path: &Path, error: &anyhow::Error, json: bool) -> Result<()> {
    out.flush()?;
    eprintln!("lab: error: {error:#}");
    if json {
        let line = serde_json::json!({"file": path.display().to_string(), "error": format!("{error:#}")});
        writeln!(out, "{line}")?;
    }
    Ok(())
}
