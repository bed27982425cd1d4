//! `lab bench-sim`: how fast the simulation runs a system under test, beside turmoil's raw
//! echo-RPC rate measured in the same run (the baseline).
//!
//! Wall time is measured here, around whole simulations; it never enters simulated code.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use history::EventType;
use sim::calibrate::{echo, EchoConfig};
use sim::{KeyDistribution, SimConfig, Workload};
use sqlstore::{SqlSystem, StoreConfig};

use crate::cli::BenchSimArgs;

/// The median of `samples` (sorted in place).
fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Runs `lab bench-sim`: both measurements alternate, `--runs` times each, and the medians are
/// compared (the machine's noise moves single runs by ±20%).
pub fn run(args: &BenchSimArgs) -> Result<ExitCode> {
    if args.runs == 0 {
        anyhow::bail!("--runs must be at least 1");
    }
    let echo_config = EchoConfig { tasks: 100, rpcs_per_task: (args.echo_rpcs / 100).max(1), ..EchoConfig::default() };
    let mut config = SimConfig::new(args.seed, Workload::Kv { keys: 100, distribution: KeyDistribution::Uniform });
    config.client_hosts = 2;
    config.clients_per_host = 50;
    config.duration = Duration::from_secs(args.seconds);
    config.think_time = Duration::ZERO;

    let (mut echo_walls, mut store_walls) = (Vec::new(), Vec::new());
    let mut raw = None;
    let mut store = None;
    for _ in 0..args.runs {
        let start = Instant::now();
        raw = Some(echo(&echo_config).map_err(anyhow::Error::msg).context("the echo benchmark failed")?);
        echo_walls.push(start.elapsed());

        let system = SqlSystem::new(StoreConfig { seed: args.seed, ..StoreConfig::default() });
        let start = Instant::now();
        store = Some(sim::run(system, &config).context("the SQLite run failed")?);
        store_walls.push(start.elapsed());
    }
    let (Some(raw), Some(store)) = (raw, store) else { anyhow::bail!("no run") };
    let echo_wall = median(&mut echo_walls);
    let echo_rate = raw.rpcs as f64 / echo_wall.as_secs_f64();
    println!(
        "turmoil echo RPC (baseline), 1 server + 1 client host x 100 tasks: {} RPCs, median {:.3} s wall of {} runs \
         = {echo_rate:.0} RPCs per wall second",
        raw.rpcs,
        echo_wall.as_secs_f64(),
        args.runs
    );
    let wall = median(&mut store_walls);
    let completed = store.history.iter().filter(|e| e.kind != EventType::Invoke).count();
    let ok = store.history.iter().filter(|e| e.kind == EventType::Ok).count();
    let rate = completed as f64 / wall.as_secs_f64();
    println!(
        "SQLite store (WAL, synchronous=FULL, kv 100 keys), 2 client hosts x 50 clients, {} s simulated: \
         {completed} operations ({ok} ok), median {:.3} s wall of {} runs = {rate:.0} operations per wall second \
         ({:.0} per simulated second, {} messages)",
        args.seconds,
        wall.as_secs_f64(),
        args.runs,
        completed as f64 / store.elapsed.as_secs_f64(),
        store.messages
    );
    let ratio = echo_rate / rate;
    println!(
        "ratio: the store runs {ratio:.2}x slower than raw echo RPC (goal: within 5x: {})",
        if ratio <= 5.0 { "met" } else { "NOT met" }
    );
    Ok(ExitCode::SUCCESS)
}
