//! turmoil's raw speed, the baseline for the lab's simulation benchmarks: an echo RPC over
//! turmoil TCP between one server host and one client host running many tasks, with nothing
//! else going on. A system under test is judged by how far below this rate it stays.
//!
//! The function runs the simulation; the caller measures wall time around it (wall time never
//! enters simulated code).

use std::time::{Duration, SystemTime};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use turmoil::net::{TcpListener, TcpStream};

use crate::run::EPOCH_UNIX_SECS;

const PORT: u16 = 7100;

/// How the echo benchmark runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EchoConfig {
    /// Seed of the simulation.
    pub seed: u64,
    /// Tasks in the one client host, each with its own connection.
    pub tasks: usize,
    /// Round trips each task makes.
    pub rpcs_per_task: usize,
    /// Message latency (fixed), model time.
    pub latency: Duration,
    /// Model time per step, as [`SimConfig::tick`](crate::SimConfig::tick): the echo runs
    /// dilated by `1 ms / resolution` ([`crate::time`]), like a store's run at that resolution.
    pub resolution: Duration,
}

impl Default for EchoConfig {
    fn default() -> Self {
        Self {
            seed: 1,
            tasks: 100,
            rpcs_per_task: 1000,
            latency: Duration::from_millis(1),
            resolution: Duration::from_millis(1),
        }
    }
}

/// What the echo benchmark did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EchoResult {
    /// Round trips completed.
    pub rpcs: u64,
    /// Simulated time they took.
    pub simulated: Duration,
}

async fn echo_server() -> turmoil::Result {
    let listener = TcpListener::bind((std::net::Ipv4Addr::UNSPECIFIED, PORT)).await?;
    loop {
        let (mut stream, _) = listener.accept().await?;
        tokio::task::spawn_local(async move {
            let mut buf = [0u8; 8];
            while stream.read_exact(&mut buf).await.is_ok() {
                if stream.write_all(&buf).await.is_err() {
                    break;
                }
            }
        });
    }
}

async fn echo_client(tasks: usize, rpcs: usize) -> turmoil::Result {
    let mut handles = Vec::with_capacity(tasks);
    for task in 0..tasks {
        handles.push(tokio::task::spawn_local(async move {
            let mut stream = TcpStream::connect(("server", PORT)).await?;
            let mut buf = [0u8; 8];
            for i in 0..rpcs {
                stream.write_all(&((task * rpcs + i) as u64).to_be_bytes()).await?;
                stream.read_exact(&mut buf).await?;
            }
            Ok::<u64, std::io::Error>(rpcs as u64)
        }));
    }
    for handle in handles {
        handle.await??;
    }
    Ok(())
}

/// Runs the echo benchmark to completion.
pub fn echo(config: &EchoConfig) -> Result<EchoResult, String> {
    let scale = crate::time::scale_for(config.resolution)
        .ok_or_else(|| format!("resolution {:?} is not a whole divisor of 1 ms", config.resolution))?;
    let _dilation = crate::time::Dilation::new(scale);
    let latency = crate::time::to_sim(config.latency);
    let mut sim = turmoil::Builder::new()
        .rng_seed(config.seed)
        .epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(EPOCH_UNIX_SECS))
        .min_message_latency(latency)
        .max_message_latency(latency)
        .tcp_capacity(config.tasks.max(64) * 2)
        .simulation_duration(Duration::from_secs(24 * 3600))
        .build();
    sim.host("server", echo_server);
    let (tasks, rpcs) = (config.tasks, config.rpcs_per_task);
    sim.client("client", echo_client(tasks, rpcs));
    sim.run().map_err(|e| e.to_string())?;
    Ok(EchoResult { rpcs: (tasks * rpcs) as u64, simulated: crate::time::to_model(sim.elapsed()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_round_trip_completes_in_simulated_time() {
        let config = EchoConfig { tasks: 4, rpcs_per_task: 50, ..EchoConfig::default() };
        let result = echo(&config).expect("echo runs");
        assert_eq!(result.rpcs, 200);
        // Each round trip is two 1 ms hops, one after another per task.
        assert!(result.simulated >= Duration::from_millis(100), "{:?}", result.simulated);
        assert_eq!(echo(&config), Ok(result), "deterministic");
    }
}
