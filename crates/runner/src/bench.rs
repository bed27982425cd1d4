//! `lab bench-sim`: how fast the simulation runs every registered store (in its default
//! configuration), beside turmoil's raw echo-RPC rate measured in the same run (the baseline).
//! A store with one copy of the data is held to 5x of the raw rate; a replicated store, whose
//! operations are several messages each, to 10x of the raw rate divided by its messages per
//! operation.
//!
//! Wall time is measured here, around whole simulations; it never enters simulated code.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use experiment::store::Configured;
use experiment::{ExperimentError, Registry, Source};
use history::EventType;
use sim::calibrate::{echo, EchoConfig};
use sim::workload::Kv;
use sim::{KeyDistribution, OpMix, RunResult, SimConfig};

use crate::options::BenchSimArgs;

/// The median of `samples` (sorted in place).
fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Times one run of `system` under `config`.
fn timed(config: &SimConfig, system: &dyn Configured) -> Result<(Duration, RunResult)> {
    let start = Instant::now();
    let ran = system.run(config, None).context("the simulated run failed")?;
    Ok((start.elapsed(), ran.result))
}

/// Operations that completed.
fn completed(result: &RunResult) -> usize {
    result.history.iter().filter(|e| e.kind != EventType::Invoke).count()
}

/// Every registered store in its default configuration (an empty `[[system]]` table).
fn stores() -> Result<Vec<(&'static str, Box<dyn Configured>)>> {
    let registry = Registry::standard();
    let text = "";
    let source = Source::new(Path::new("(defaults)"), text);
    registry
        .stores()
        .iter()
        .map(|store| Ok((store.kind(), store.parse(source.document()?.root)?)))
        .collect::<Result<_, ExperimentError>>()
        .map_err(anyhow::Error::from)
}

/// Runs `lab bench-sim`: the measurements alternate store by store, `--runs` times each, and
/// medians are compared (the machine's noise moves single runs by ±20%).
pub fn run(args: &BenchSimArgs) -> Result<ExitCode> {
    let mut out = crate::output::stdout();
    if args.runs == 0 {
        anyhow::bail!("--runs must be at least 1");
    }
    let echo_config = EchoConfig {
        tasks: 100,
        rpcs_per_task: (args.echo_rpcs / 100).max(1),
        resolution: args.resolution,
        ..EchoConfig::default()
    };
    // Reads and writes only: every store serves them (the quorum store refuses `cas` without
    // sending anything, which would count work that never happened).
    let mix = OpMix { read: 1, write: 1, cas: 0 };
    let mut config = SimConfig::new(args.seed, Kv { keys: 100, distribution: KeyDistribution::Uniform, mix });
    config.client_hosts = 2;
    config.clients_per_host = 50;
    config.duration = Duration::from_secs(args.seconds);
    config.think_time = Duration::ZERO;
    config.tick = args.resolution;
    config.validate().context("--resolution")?;
    let stores = stores()?;

    // Interleaved, so that whatever else the machine does weighs on every store alike. Every
    // run of a store is the same run (a function of the seed); only wall time varies.
    let mut echo_walls = Vec::new();
    let mut walls: Vec<Vec<Duration>> = stores.iter().map(|_| Vec::new()).collect();
    let mut results: Vec<Option<RunResult>> = stores.iter().map(|_| None).collect();
    let mut raw = None;
    for _ in 0..args.runs {
        let start = Instant::now();
        raw = Some(echo(&echo_config).map_err(anyhow::Error::msg).context("the echo benchmark failed")?);
        echo_walls.push(start.elapsed());
        for (i, (_, store)) in stores.iter().enumerate() {
            let (wall, result) = timed(&config, store.as_ref())?;
            walls[i].push(wall);
            results[i] = Some(result);
        }
    }
    let Some(raw) = raw else { anyhow::bail!("no run") };
    let echo_wall = median(&mut echo_walls);
    let echo_rate = raw.rpcs as f64 / echo_wall.as_secs_f64();
    writeln!(
        out,
        "turmoil echo RPC (baseline), 1 server + 1 client host x 100 tasks, resolution {:?}: {} RPCs, median {:.3} s \
         wall of {} runs = {echo_rate:.0} RPCs per wall second",
        args.resolution,
        raw.rpcs,
        echo_wall.as_secs_f64(),
        args.runs
    )?;
    for (((kind, store), walls), result) in stores.iter().zip(&mut walls).zip(results) {
        let Some(result) = result else { continue };
        report(&mut out, args, echo_rate, kind, store.as_ref(), median(walls), &result)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// One store's line and its goal: a store with one copy of the data within 5x of raw echo RPC;
/// a replicated one, whose operations are several messages each, within 10x of raw echo RPC
/// divided by its messages per operation.
fn report(
    out: &mut dyn Write,
    args: &BenchSimArgs,
    echo_rate: f64,
    kind: &str,
    store: &dyn Configured,
    wall: Duration,
    result: &RunResult,
) -> Result<()> {
    let ops = completed(result);
    let rate = ops as f64 / wall.as_secs_f64();
    let per_op = result.messages as f64 / ops.max(1) as f64;
    writeln!(
        out,
        "{kind} store ({}), kv 100 keys, reads and writes, 2 client hosts x 50 clients, {} s simulated: {ops} \
         operations, median {:.3} s wall = {rate:.0} operations per wall second ({:.0} per simulated second, \
         {per_op:.2} messages per operation)",
        store.describe(),
        args.seconds,
        wall.as_secs_f64(),
        ops as f64 / result.elapsed.as_secs_f64(),
    )?;
    if store.properties().replicas <= 1 {
        let ratio = echo_rate / rate;
        let met = if ratio <= 5.0 { "met" } else { "NOT met" };
        writeln!(out, "  ratio: {ratio:.2}x slower than raw echo RPC (goal: within 5x: {met})")?;
    } else {
        let bound = echo_rate / per_op;
        let ratio = bound / rate;
        let met = if ratio <= 10.0 { "met" } else { "NOT met" };
        writeln!(
            out,
            "  ratio: {ratio:.2}x slower than raw echo RPC divided by messages per operation ({bound:.0}) (goal: \
             within 10x: {met})"
        )?;
    }
    Ok(())
}
