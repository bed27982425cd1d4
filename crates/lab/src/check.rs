//! `lab check`: linearizability verdicts for history files.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Result;
use checker::{key_label, CheckOptions, Outcome, Verdict};
use history::History;

use crate::cli::{CheckArgs, ModelArg};
use crate::input::{event_location, read_history};
use crate::report;

/// The model name for a history, as the user asked or inferred from its functions.
pub fn model_name(arg: ModelArg, history: &History) -> &'static str {
    match arg {
        ModelArg::Auto => checker::infer_model(&history.events),
        ModelArg::Register => "register",
        ModelArg::CasRegister => "cas-register",
        ModelArg::Kv => "kv",
    }
}

/// The checker model for histories of `workload`, when there is one: compare-and-set
/// registers for the register and kv workloads; none for a set (its history is judged by
/// comparing the final read with the adds) or a workload this lab does not know.
pub fn workload_model(workload: &dyn sim::Workload) -> Option<&'static str> {
    (workload.is::<sim::Register>() || workload.is::<sim::Kv>()).then_some("cas-register")
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
    let start = Instant::now();
    let deadline = start + timeout;
    let passed = move || Instant::now() >= deadline;
    let options = CheckOptions { deadline: &passed, jobs, memory_limit_bytes };
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
    let jobs = default_jobs(args.jobs);
    let memory = args.memory_mib.saturating_mul(1 << 20);
    let mut tally = Tally::default();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for path in &args.files {
        tally.files += 1;
        let checked = read_history(path, args.format).and_then(|history| {
            let model = model_name(args.model, &history);
            let (verdict, elapsed) = check_history(path, &history, model, args.timeout, jobs, memory)?;
            Ok((history, model, verdict, elapsed))
        });
        let (history, model, verdict, elapsed) = match checked {
            Ok(result) => result,
            Err(error) => {
                tally.errors += 1;
                out.flush()?;
                eprintln!("lab: error: {error:#}");
                if args.json {
                    let line = serde_json::json!({"file": path.display().to_string(), "error": format!("{error:#}")});
                    writeln!(out, "{line}")?;
                }
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
        "events": history.len(),
        "partitions": verdict.partitions.len(),
        "steps": verdict.steps(),
        "states": verdict.partitions.iter().map(|p| p.stats.states).sum::<u64>(),
        "memo_entries": verdict.partitions.iter().map(|p| p.stats.memo_entries).sum::<u64>(),
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
