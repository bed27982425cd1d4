//! `lab sim`: one simulated run of any registered store and workload, checked.
//!
//! The command line is turned into an experiment file of one system and one seed (`--set`
//! pairs become the `[[system]]` table, `--with` pairs the `[workload]` table, the fault flags
//! `[[fault]]` tables) and read by the same parser as every experiment file: the same keys, the
//! same limits, the same errors. The run and its judgment go through the registry as `lab run`'s
//! do ([`crate::run::measure`]).

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use experiment::spec::Experiment;
use experiment::store::Replicas;
use experiment::value::parse_duration;
use experiment::workload::Limits;
use experiment::{parse, Registry, Script};
use history::EventType;
use sim::{Fault, RunResult, SimConfig};

use crate::options::SimArgs;

/// How often a replicated store's replicas are compared.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);

/// The checker's memory limit.
const MEMORY_LIMIT: usize = 512 << 20;

/// What errors about the command line's options are reported against.
const OPTIONS: &str = "(lab sim options)";

/// Parses `A..B` (two durations) into the start and end of a fault window.
pub fn parse_window(text: &str) -> Result<(Duration, Duration), String> {
    let (from, to) = text.split_once("..").ok_or_else(|| format!("`{text}`: expected START..END, e.g. 1s..2s"))?;
    let (from, to) = (parse_duration(from)?, parse_duration(to)?);
    if to <= from {
        return Err(format!("`{text}`: the window must end after it starts"));
    }
    Ok((from, to))
}

/// `KEY=VALUE` as a TOML line: the value as TOML when it is one, else as a string.
fn toml_line(pair: &str, flag: &str) -> Result<String> {
    let Some((key, value)) = pair.split_once('=') else { bail!("{flag} {pair}: expected KEY=VALUE") };
    let key = key.trim();
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        bail!("{flag} {pair}: expected a key of letters, digits and `_`");
    }
    let value = value.trim();
    let as_toml = format!("{key} = {value}");
    if as_toml.parse::<toml::Table>().is_ok() {
        return Ok(as_toml);
    }
    Ok(format!("{key} = {}", toml::Value::String(value.to_owned())))
}

/// The experiment file the command line describes; `servers` (when known) name the second
/// server for `--skew-ms`.
fn script(args: &SimArgs, servers: &[String]) -> Result<String> {
    let mut text = String::new();
    let quote = |s: &str| toml::Value::String(s.to_owned()).to_string();
    writeln!(
        text,
        "name = \"sim\"\nquestion = \"lab sim\"\nseeds = [{}]\nduration = {}",
        args.seed,
        quote(&args.duration)
    )?;
    writeln!(text, "resolution = {}", quote(&args.resolution))?;
    match args.latency.split_once("..") {
        Some((min, max)) => writeln!(text, "latency = [{}, {}]", quote(min), quote(max))?,
        None => writeln!(text, "latency = {}", quote(&args.latency))?,
    }
    writeln!(text, "[workload]\nkind = {}", quote(&args.workload))?;
    writeln!(text, "client_hosts = {}\nclients_per_host = {}", args.client_hosts, args.clients_per_host)?;
    writeln!(text, "timeout = {}", quote(&args.timeout))?;
    for pair in &args.with {
        writeln!(text, "{}", toml_line(pair, "--with")?)?;
    }
    writeln!(text, "[[system]]\nname = \"sim\"\nkind = {}", quote(&args.system))?;
    for pair in &args.set {
        writeln!(text, "{}", toml_line(pair, "--set")?)?;
    }
    let window = |text: &mut String, (from, to): (Duration, Duration), kind: &str, node: &str| {
        let node = if node.is_empty() { String::new() } else { format!("node = {}\n", quote(node)) };
        let _ = writeln!(
            text,
            "[[fault]]\nat = \"{}ms\"\nuntil = \"{}ms\"\nkind = \"{kind}\"\n{node}",
            from.as_millis(),
            to.as_millis()
        );
    };
    if let Some(partition) = args.partition {
        window(&mut text, partition, "isolate", "server");
    }
    if let Some(crash) = args.crash {
        window(&mut text, crash, "crash", "server");
    }
    if let Some(crash_all) = args.crash_all {
        window(&mut text, crash_all, "crash-all", "");
    }
    if let (Some(offset_ms), Some(second)) = (args.skew_ms, servers.get(1)) {
        writeln!(text, "[[fault]]\nat = \"0ms\"\nkind = \"skew\"\nnode = {}\noffset_ms = {offset_ms}", quote(second))?;
    }
    Ok(text)
}

/// The one-system experiment of the command line.
fn experiment(args: &SimArgs) -> Result<Experiment> {
    let registry = Registry::standard();
    let read = |text: &str| match parse(&registry, Path::new(OPTIONS), text) {
        Ok(Script::Faults(experiment)) => Ok(experiment),
        Ok(_) => bail!("lab sim runs one system under faults"),
        Err(e) => bail!("{e}"),
    };
    // First without faults, to learn the store's servers (`--skew-ms` names the second).
    let servers = read(&script(args, &[])?)?.systems[0].spec.servers();
    if args.skew_ms.is_some() && servers.len() < 2 {
        bail!("--skew-ms moves the second server's clock, and `{}` has one server", args.system);
    }
    read(&script(args, &servers)?)
}

/// Runs `lab sim`.
pub fn run(args: &SimArgs) -> Result<ExitCode> {
    let experiment = experiment(args)?;
    let system = &experiment.systems[0];
    let config = experiment.sim_config(system, args.seed).context("the fault schedule cannot be drawn")?;
    let start = Instant::now();
    let ran = system.spec.run(&config, Some(SAMPLE_EVERY)).context("the simulation failed")?;
    let wall = start.elapsed();
    let result = ran.result;
    let history = result.history_with_nemesis();
    if let Some(path) = &args.history {
        write_history(path, &history)?;
    }
    let mut out = crate::output::stdout();
    writeln!(out, "system      {}", system.spec.describe())?;
    report_run(&mut out, &experiment, &config, &result, wall)?;
    let limits = Limits { timeout: args.check_timeout, memory_limit_bytes: MEMORY_LIMIT };
    let judged = experiment.workload.judge(&history, &limits);
    let check = serde_json::to_value(judged.check)?;
    writeln!(out, "checker     {}", check.as_str().unwrap_or("?"))?;
    if let Some(lost) = judged.lost_writes {
        writeln!(out, "lost        {lost} of {} acknowledged writes", judged.acknowledged_writes)?;
    }
    if let Some(stale) = judged.stale_reads {
        writeln!(out, "stale reads {stale}")?;
    }
    if ran.replicas != Replicas::Single {
        writeln!(out, "replicas    {}", describe_replicas(ran.replicas, &result))?;
    }
    if let Some(path) = &args.history {
        writeln!(out, "history     {}", path.display())?;
    }
    if !judged.explanation.is_empty() {
        writeln!(out, "\n{}", judged.explanation.trim_end())?;
    }
    let good = judged.check.passed();
    Ok(if good { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// What the run did: the workload, the faults applied, the operations, the messages.
fn report_run(
    out: &mut dyn Write,
    experiment: &Experiment,
    config: &SimConfig,
    result: &RunResult,
    wall: Duration,
) -> Result<()> {
    let count = |kind| result.history.iter().filter(|e| e.kind == kind).count();
    writeln!(
        out,
        "workload    {}, {} clients on {} hosts, {:?} simulated, seed {}",
        experiment.workload.describe(),
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
    Ok(())
}

/// When the replicas came to agree, beside the last heal or restart and the last write
/// (writes still in flight make replicas differ for a moment even without faults).
fn describe_replicas(replicas: Replicas, result: &RunResult) -> String {
    let last_repair = result
        .faults
        .iter()
        .filter(|(_, fault)| matches!(fault, Fault::Heal | Fault::Restart(_)))
        .map(|(at, _)| *at)
        .max();
    let last_write = result
        .history
        .iter()
        .filter(|e| e.kind == EventType::Ok && matches!(e.f.as_str(), "write" | "cas" | "add"))
        .filter_map(|e| e.time)
        .max()
        .map(Duration::from_nanos);
    let since = match replicas {
        Replicas::AgreedSince(since) => since,
        Replicas::Apart => return "still differ at the end of the run".to_owned(),
        Replicas::Single => return "one copy".to_owned(),
    };
    let mut text = format!("equal from {:.3} s to the end", since.as_secs_f64());
    if let Some(repair) = last_repair {
        text.push_str(&format!("; last heal/restart at {:.3} s", repair.as_secs_f64()));
    }
    if let Some(write) = last_write {
        text.push_str(&format!("; last write completed at {:.3} s", write.as_secs_f64()));
    }
    text
}

fn write_history(path: &Path, events: &[history::Event]) -> Result<()> {
    if path.as_os_str().is_empty() {
        bail!("--history needs a file name");
    }
    // Whole or not at all (see `run::output::write`).
    crate::run::output::write(path, history::jsonl::to_string(events).as_bytes())
}
