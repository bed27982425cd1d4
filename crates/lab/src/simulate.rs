//! `lab sim`: one simulated run of the SQLite store, with optional faults, checked.
//!
//! A thin front end over `sim::run` and the checker: it builds the configuration from flags,
//! runs, writes the history if asked, and prints what happened and what the checker says.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use checker::{check_named, set_loss, CheckOptions, Outcome};
use history::EventType;
use sim::{Fault, KeyDistribution, Schedule, SimConfig, Workload};
use sqlstore::{JournalMode, Reads, SqlSystem, StoreConfig, Synchronous};

use crate::cli::{parse_duration, JournalArg, SimArgs, SyncArg, WorkloadArg};

/// Parses `A..B` (two durations) into the start and end of a fault window.
pub fn parse_window(text: &str) -> Result<(Duration, Duration), String> {
    let (from, to) = text.split_once("..").ok_or_else(|| format!("`{text}`: expected START..END, e.g. 1s..2s"))?;
    let (from, to) = (parse_duration(from)?, parse_duration(to)?);
    if to <= from {
        return Err(format!("`{text}`: the window must end after it starts"));
    }
    Ok((from, to))
}

fn workload(args: &SimArgs) -> Workload {
    match args.workload {
        WorkloadArg::Register => Workload::Register,
        WorkloadArg::Set => Workload::Set,
        WorkloadArg::Kv => Workload::Kv {
            keys: args.keys,
            distribution: match args.zipf {
                Some(s) => KeyDistribution::Zipf(s),
                None => KeyDistribution::Uniform,
            },
        },
    }
}

fn store(args: &SimArgs) -> StoreConfig {
    StoreConfig {
        journal_mode: match args.journal {
            JournalArg::Wal => JournalMode::Wal,
            JournalArg::Delete => JournalMode::Delete,
        },
        synchronous: match args.synchronous {
            SyncArg::Off => Synchronous::Off,
            SyncArg::Normal => Synchronous::Normal,
            SyncArg::Full => Synchronous::Full,
        },
        seed: args.seed,
        writeback: args.writeback,
        ..StoreConfig::default()
    }
}

fn faults(args: &SimArgs) -> Schedule {
    let mut schedule = Schedule::new();
    if let Some((from, to)) = args.partition {
        schedule.push(from, Fault::partition(["client-0"], ["db"]));
        schedule.push(to, Fault::Heal);
    }
    if let Some((from, to)) = args.crash {
        schedule.push(from, Fault::crash("db"));
        schedule.push(to, Fault::restart("db"));
    }
    schedule
}

/// Runs `lab sim`.
pub fn run(args: &SimArgs) -> Result<ExitCode> {
    let workload = workload(args);
    let mut config = SimConfig::new(args.seed, workload.clone());
    config.duration = args.duration;
    config.client_hosts = args.client_hosts;
    config.clients_per_host = args.clients_per_host;
    config.op_timeout = args.timeout;
    // The set's final read waits until every operation still in flight has ended.
    config.settle = config.settle.max(args.timeout + config.latency.1 + Duration::from_millis(100));
    config.faults = faults(args);
    let store = store(args);
    let description = format!("sqlite ({:?}, synchronous={:?})", store.journal_mode, store.synchronous).to_lowercase();
    let reads = if workload == Workload::Set { Reads::Set } else { Reads::Register };
    let system = SqlSystem::new(store).with_reads(reads);

    let start = Instant::now();
    let result = sim::run(system, &config).context("the simulation failed")?;
    let wall = start.elapsed();
    if let Some(path) = &args.history {
        write_history(path, &result.history_with_nemesis())?;
    }

    let count = |kind| result.history.iter().filter(|e| e.kind == kind).count();
    let mut out = std::io::stdout().lock();
    writeln!(out, "system      {description}")?;
    writeln!(
        out,
        "workload    {workload}, {} clients on {} hosts, {:?} simulated, seed {}",
        config.total_clients(),
        config.client_hosts,
        config.duration,
        config.seed
    )?;
    let applied: Vec<String> = result.faults.iter().map(|(at, fault)| format!("{fault} at {at:?}")).collect();
    writeln!(out, "faults      {}", if applied.is_empty() { "none".to_owned() } else { applied.join("; ") })?;
    writeln!(
        out,
        "operations  {} invoked: {} ok, {} fail, {} info",
        count(EventType::Invoke),
        count(EventType::Ok),
        count(EventType::Fail),
        count(EventType::Info)
    )?;
    writeln!(
        out,
        "run         {} messages, {:.3} s simulated in {:.3} s wall",
        result.messages,
        result.elapsed.as_secs_f64(),
        wall.as_secs_f64()
    )?;
    let good = match workload.model_name() {
        Some(model) => {
            let verdict = check_named(model, &result.history, &CheckOptions::default())?;
            writeln!(out, "checker     {} ({model} model, {} partitions)", verdict.outcome, verdict.partitions.len())?;
            verdict.outcome == Outcome::Linearizable
        }
        None => {
            let loss = set_loss::analyze(&result.history);
            writeln!(
                out,
                "set         {} adds acknowledged, {} lost, {} unknown-outcome adds present, {} unexpected{}",
                loss.acknowledged,
                loss.lost.len(),
                loss.recovered.len(),
                loss.unexpected.len(),
                if loss.final_read { "" } else { " (no final read succeeded)" }
            )?;
            loss.is_valid()
        }
    };
    if let Some(path) = &args.history {
        writeln!(out, "history     {}", path.display())?;
    }
    Ok(if good { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn write_history(path: &Path, events: &[history::Event]) -> Result<()> {
    if path.as_os_str().is_empty() {
        bail!("--history needs a file name");
    }
    let file = std::fs::File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
    let mut writer = std::io::BufWriter::new(file);
    history::jsonl::write(&mut writer, events).with_context(|| format!("{}: cannot write", path.display()))?;
    writer.flush().with_context(|| format!("{}: cannot write", path.display()))
}
