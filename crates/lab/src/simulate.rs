//! `lab sim`: one simulated run of the SQLite store or the quorum store, with optional
//! faults, checked.
//!
//! A thin front end over `sim::run` and the checker: it builds the configuration from flags,
//! runs, writes the history if asked, and prints what happened and what the checker says.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use checker::{check_named, set_loss, CheckOptions, Outcome};
use history::EventType;
use lsm::CommitLogSync;
use quorum::system::Convergence;
use quorum::{ClusterConfig, Hints, Level, Mode, QuorumSystem, ReadRepair};
use sim::{Fault, KeyDistribution, Kv, Register, RunResult, Schedule, Set, SimConfig, Workload};
use sqlstore::{JournalMode, SqlSystem, StoreConfig, Synchronous};

use crate::cli::{
    parse_duration, CommitLogArg, HintsArg, JournalArg, LevelArg, ModeArg, RepairArg, SimArgs, SyncArg, SystemArg,
    WorkloadArg,
};

/// Parses `A..B` (two durations) into the start and end of a fault window.
pub fn parse_window(text: &str) -> Result<(Duration, Duration), String> {
    let (from, to) = text.split_once("..").ok_or_else(|| format!("`{text}`: expected START..END, e.g. 1s..2s"))?;
    let (from, to) = (parse_duration(from)?, parse_duration(to)?);
    if to <= from {
        return Err(format!("`{text}`: the window must end after it starts"));
    }
    Ok((from, to))
}

fn workload(args: &SimArgs) -> Arc<dyn Workload> {
    match args.workload {
        WorkloadArg::Register => Arc::new(Register::default()),
        WorkloadArg::Set => Arc::new(Set),
        WorkloadArg::Kv => Arc::new(Kv::new(
            args.keys,
            match args.zipf {
                Some(s) => KeyDistribution::Zipf(s),
                None => KeyDistribution::Uniform,
            },
        )),
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

fn level(arg: LevelArg) -> Level {
    match arg {
        LevelArg::One => Level::One,
        LevelArg::Two => Level::Two,
        LevelArg::Quorum => Level::Quorum,
        LevelArg::All => Level::All,
        LevelArg::Any => Level::Any,
    }
}

fn cluster(args: &SimArgs) -> ClusterConfig {
    let mut config = ClusterConfig::new(args.nodes);
    config.node.replication = args.replication;
    config.node.read = level(args.read);
    config.node.write = level(args.write);
    config.node.mode = match args.mode {
        ModeArg::Lww => Mode::Lww,
        ModeArg::Abd => Mode::Abd,
    };
    config.node.hints = match args.hints {
        HintsArg::Off => Hints::Off,
        HintsArg::Strict => Hints::Strict,
        HintsArg::Sloppy => Hints::Sloppy,
    };
    config.node.read_repair = match args.read_repair {
        RepairArg::Off => ReadRepair::Off,
        RepairArg::Async => ReadRepair::Async,
        RepairArg::Blocking => ReadRepair::Blocking,
    };
    config.node.anti_entropy = args.anti_entropy;
    config.sync = match args.commitlog {
        CommitLogArg::Batch => CommitLogSync::Batch,
        CommitLogArg::Periodic => CommitLogSync::Periodic(args.commitlog_period),
        CommitLogArg::Group => CommitLogSync::Group(args.commitlog_period),
    };
    config
}

fn faults(args: &SimArgs) -> Schedule {
    let mut schedule = Schedule::new();
    let (server, others): (&str, Vec<String>) = match args.system {
        SystemArg::Sqlite => ("db", vec!["client-0".to_owned()]),
        SystemArg::Quorum => {
            let mut others: Vec<String> = (2..=args.nodes).map(|i| format!("n{i}")).collect();
            others.extend((0..args.client_hosts).map(sim::client_host_name));
            ("n1", others)
        }
    };
    if let Some((from, to)) = args.partition {
        schedule.push(from, Fault::partition([server], others));
        schedule.push(to, Fault::Heal);
    }
    if let Some((from, to)) = args.crash {
        schedule.push(from, Fault::crash(server));
        schedule.push(to, Fault::restart(server));
    }
    if let (SystemArg::Quorum, Some((from, to))) = (args.system, args.crash_all) {
        for node in 1..=args.nodes {
            schedule.push(from, Fault::crash(format!("n{node}")));
            schedule.push(to, Fault::restart(format!("n{node}")));
        }
    }
    if let (SystemArg::Quorum, Some(offset_ms)) = (args.system, args.skew_ms) {
        schedule.push(Duration::ZERO, Fault::skew("n2", offset_ms));
    }
    schedule
}

/// Options that only one system understands, refused for the other.
fn check_options(args: &SimArgs) -> Result<()> {
    if args.system == SystemArg::Sqlite && (args.crash_all.is_some() || args.skew_ms.is_some()) {
        bail!("--crash-all and --skew-ms apply to the quorum store (--system quorum)");
    }
    if args.system == SystemArg::Quorum && !(3..=9).contains(&args.nodes) {
        bail!("--nodes {}: the quorum store runs 3 to 9 nodes", args.nodes);
    }
    Ok(())
}

/// Runs `lab sim`.
pub fn run(args: &SimArgs) -> Result<ExitCode> {
    check_options(args)?;
    let mut config = SimConfig::new_shared(args.seed, workload(args));
    config.duration = args.duration;
    config.client_hosts = args.client_hosts;
    config.clients_per_host = args.clients_per_host;
    config.op_timeout = args.timeout;
    // The set's final read waits until every operation still in flight has ended.
    config.settle = config.settle.max(args.timeout + config.latency.1 + Duration::from_millis(100));
    config.faults = faults(args);
    let mut convergence = None;
    let start = Instant::now();
    let (description, result) = match args.system {
        SystemArg::Sqlite => {
            let store = store(args);
            let description =
                format!("sqlite ({:?}, synchronous={:?})", store.journal_mode, store.synchronous).to_lowercase();
            let system = SqlSystem::new(store);
            (description, sim::run(system, &config))
        }
        SystemArg::Quorum => {
            let cluster = cluster(args);
            let node = &cluster.node;
            let description = format!(
                "quorum ({} nodes, N={}, R={:?} W={:?}, {:?}, commit log {:?}, hints {:?}, read repair {:?}, anti-entropy {:?})",
                cluster.nodes, node.replication, node.read, node.write, node.mode, cluster.sync, node.hints,
                node.read_repair, node.anti_entropy
            )
            .to_lowercase();
            let system = QuorumSystem::new(cluster).with_sampling(SAMPLE_EVERY);
            // The handle shares the sampler with the system the run consumes.
            let handle = system.clone();
            let result = sim::run(system, &config);
            convergence = Some(handle.convergence());
            (description, result)
        }
    };
    let result = result.context("the simulation failed")?;
    let wall = start.elapsed();
    let code = report(args, &config, &description, &result, wall)?;
    if let Some(convergence) = convergence {
        writeln!(std::io::stdout().lock(), "replicas    {}", describe_convergence(&convergence, &result))?;
    }
    Ok(code)
}

/// How often the quorum store's replicas are compared.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);

/// When the replicas came to agree: after the last heal or restart, and after the last write
/// (writes still in flight make replicas differ for a moment even without faults).
fn describe_convergence(convergence: &Convergence, result: &RunResult) -> String {
    let last_repair = result
        .faults
        .iter()
        .filter(|(_, fault)| matches!(fault, Fault::Heal | Fault::Restart(_)))
        .map(|(at, _)| *at)
        .max();
    let last_write = result
        .history
        .iter()
        .filter(|e| e.kind != EventType::Invoke && matches!(e.f.as_str(), "write" | "add"))
        .filter_map(|e| e.time)
        .max()
        .map(Duration::from_nanos);
    let seconds = |d: Duration| d.as_secs_f64();
    match (convergence.converged_since(), convergence.last_diverged()) {
        (Some(since), _) => {
            let mut text = format!("equal from {:.3} s to the end", seconds(since));
            if let Some(repair) = last_repair {
                text.push_str(&format!("; last heal/restart at {:.3} s", seconds(repair)));
            }
            if let Some(write) = last_write {
                text.push_str(&format!("; last write completed at {:.3} s", seconds(write)));
            }
            format!("{text} (at most {} keys differed at once)", convergence.max_diverged())
        }
        (None, Some(last)) => format!("still differ on {} keys at {:.3} s", last.diverged.len(), seconds(last.at)),
        (None, None) => "not sampled".to_owned(),
    }
}

/// Writes the history if asked, prints what happened and the checker's verdict.
fn report(
    args: &SimArgs,
    config: &SimConfig,
    description: &str,
    result: &RunResult,
    wall: Duration,
) -> Result<ExitCode> {
    if let Some(path) = &args.history {
        write_history(path, &result.history_with_nemesis())?;
    }
    let workload = &config.workload;
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
    let good = match crate::check::workload_model(workload.as_ref()) {
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
