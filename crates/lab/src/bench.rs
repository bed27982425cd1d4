//! `lab bench-sim`: how fast the simulation runs each system under test, beside turmoil's raw
//! echo-RPC rate measured in the same run (the baseline). The SQLite store is held to 5x of
//! the raw rate; the quorum store, whose operations are several messages each, to 10x of the
//! raw rate divided by its messages per operation.
//!
//! Wall time is measured here, around whole simulations; it never enters simulated code.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use history::EventType;
use quorum::{ClusterConfig, QuorumSystem};
use sim::calibrate::{echo, EchoConfig};
use sim::{KeyDistribution, Kv, RunResult, SimConfig, System};
use sqlstore::{SqlSystem, StoreConfig};

use crate::cli::BenchSimArgs;

/// The median of `samples` (sorted in place).
fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Times one run of `system` under `config`.
fn timed<S: System>(config: &SimConfig, system: S) -> Result<(Duration, RunResult)> {
    let start = Instant::now();
    let result = sim::run(system, config).context("the simulated run failed")?;
    Ok((start.elapsed(), result))
}

/// Operations that reached the store (completions of `read` and `write`; the quorum store
/// refuses `cas` in the client without sending anything).
fn completed(result: &RunResult, only_reads_and_writes: bool) -> usize {
    let mut invoked = std::collections::BTreeMap::new();
    let mut count = 0;
    for event in &result.history {
        if event.kind == EventType::Invoke {
            invoked.insert(&event.process, event.f.as_str());
        } else if let Some(f) = invoked.remove(&event.process) {
            count += usize::from(!only_reads_and_writes || f == "read" || f == "write");
        }
    }
    count
}

/// Runs `lab bench-sim`: the measurements alternate store by store, `--runs` times each, and
/// medians are compared (the machine's noise moves single runs by ±20%).
pub fn run(args: &BenchSimArgs) -> Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    if args.runs == 0 {
        anyhow::bail!("--runs must be at least 1");
    }
    let echo_config = EchoConfig { tasks: 100, rpcs_per_task: (args.echo_rpcs / 100).max(1), ..EchoConfig::default() };
    let mut config = SimConfig::new(args.seed, Kv::new(100, KeyDistribution::Uniform));
    config.client_hosts = 2;
    config.clients_per_host = 50;
    config.duration = Duration::from_secs(args.seconds);
    config.think_time = Duration::ZERO;

    // Interleaved, so that whatever else the machine does weighs on all three alike. Every run
    // of a system is the same run (a function of the seed); only wall time varies.
    let (mut echo_walls, mut sql_walls, mut quorum_walls) = (Vec::new(), Vec::new(), Vec::new());
    let (mut raw, mut sql, mut quorum) = (None, None, None);
    for _ in 0..args.runs {
        let start = Instant::now();
        raw = Some(echo(&echo_config).map_err(anyhow::Error::msg).context("the echo benchmark failed")?);
        echo_walls.push(start.elapsed());
        let (wall, result) = timed(&config, SqlSystem::new(StoreConfig { seed: args.seed, ..StoreConfig::default() }))?;
        sql_walls.push(wall);
        sql = Some(result);
        let (wall, result) = timed(&config, QuorumSystem::new(ClusterConfig::new(3)))?;
        quorum_walls.push(wall);
        quorum = Some(result);
    }
    let (Some(raw), Some(sql), Some(quorum)) = (raw, sql, quorum) else { anyhow::bail!("no run") };
    let echo_wall = median(&mut echo_walls);
    let echo_rate = raw.rpcs as f64 / echo_wall.as_secs_f64();
    writeln!(
        out,
        "turmoil echo RPC (baseline), 1 server + 1 client host x 100 tasks: {} RPCs, median {:.3} s wall of {} runs \
         = {echo_rate:.0} RPCs per wall second",
        raw.rpcs,
        echo_wall.as_secs_f64(),
        args.runs
    )?;

    let (wall, result) = (median(&mut sql_walls), sql);
    let ops = completed(&result, false);
    let rate = ops as f64 / wall.as_secs_f64();
    writeln!(
        out,
        "SQLite store (WAL, synchronous=FULL, kv 100 keys), 2 client hosts x 50 clients, {} s simulated: \
         {ops} operations, median {:.3} s wall = {rate:.0} operations per wall second \
         ({:.0} per simulated second, {:.2} messages per operation)",
        args.seconds,
        wall.as_secs_f64(),
        ops as f64 / result.elapsed.as_secs_f64(),
        result.messages as f64 / ops.max(1) as f64
    )?;
    let ratio = echo_rate / rate;
    writeln!(
        out,
        "  ratio: {ratio:.2}x slower than raw echo RPC (goal: within 5x: {})",
        if ratio <= 5.0 { "met" } else { "NOT met" }
    )?;

    let (wall, result) = (median(&mut quorum_walls), quorum);
    let ops = completed(&result, true);
    let rate = ops as f64 / wall.as_secs_f64();
    let per_op = result.messages as f64 / ops.max(1) as f64;
    writeln!(
        out,
        "quorum store (3 nodes, N=3, QUORUM/QUORUM, LWW, batch commit log, kv 100 keys), 2 client hosts x 50 \
         clients, {} s simulated: {ops} reads and writes, median {:.3} s wall = {rate:.0} operations per wall \
         second ({:.0} per simulated second, {per_op:.2} messages per operation)",
        args.seconds,
        wall.as_secs_f64(),
        ops as f64 / result.elapsed.as_secs_f64(),
    )?;
    let bound = echo_rate / per_op;
    let ratio = bound / rate;
    writeln!(
        out,
        "  ratio: {ratio:.2}x slower than raw echo RPC divided by messages per operation ({bound:.0}) \
         (goal: within 10x: {})",
        if ratio <= 10.0 { "met" } else { "NOT met" }
    )?;
    Ok(ExitCode::SUCCESS)
}
