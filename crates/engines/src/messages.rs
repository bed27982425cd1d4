//! `lab bench messages`: what a message costs the CPU on this machine, to calibrate the
//! capacity model's per-frame costs (`base::capacity::defaults`, the scaling experiment's
//! `[capacity]`).
//!
//! Two measurements, each repeated in rounds (the machine is shared: the median round is
//! reported, with the fastest and slowest):
//!
//! - The node step: three quorum nodes (`quorum::Node` on `MemStorage`) routed in-process.
//!   Clients' requests (half writes, half reads, QUORUM, 1,000 keys) go to the nodes in turn;
//!   every frame a node receives (the request, each peer message) is encoded and decoded as
//!   the wire does (`sim::frame`, JSON), stepped through the node, and what the node sends is
//!   encoded (replies are encoded, not decoded: that is the client's work). The figure: wall
//!   time per frame received, which is what the model's receive cost stands for (minus the
//!   socket read system call, and the `lsm` engine's work which `MemStorage` does not do).
//! - The loopback socket: a real TCP connection on 127.0.0.1 (no other network), a reader
//!   thread draining it; the writer sends length-prefixed frames of 64 and of 4,096 bytes,
//!   one `write` each with `TCP_NODELAY`. The figure: wall time per `write` at each size, and
//!   the per-byte slope between them: what the model's send cost stands for.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Result};
use clap::Args;
use history::Value;
use quorum::{Effect, MemStorage, Node, NodeConfig, Op, PeerMessage, Request, Response};
use sim::capacity::defaults;
use sim::frame;

/// `lab bench messages`.
#[derive(Debug, Args)]
pub struct BenchMessagesArgs {
    /// Client requests per round of the node step.
    #[arg(long, default_value_t = 20_000)]
    pub requests: u64,
    /// Frames written per size per round on the loopback socket.
    #[arg(long, default_value_t = 20_000)]
    pub frames: u64,
    /// Rounds of each measurement.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
}

/// What one round of the node step measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepRound {
    /// Frames the nodes received (requests and peer messages).
    pub frames: u64,
    /// Their mean size, bytes.
    pub mean_bytes: f64,
    /// Wall time per frame received.
    pub per_frame: Duration,
}

/// Runs `requests` client requests through three in-process nodes (see the module docs).
pub fn node_step(requests: u64) -> Result<StepRound> {
    let ids = vec![1u32, 2, 3];
    let mut nodes = Vec::new();
    for &id in &ids {
        let node = Node::new(NodeConfig::new(id, ids.clone()), MemStorage::new(), Duration::ZERO)
            .map_err(|e| anyhow!("node {id}: {e}"))?;
        nodes.push(node);
    }
    let (mut frames, mut bytes) = (0u64, 0u64);
    let mut queue: VecDeque<(u32, Effect)> = VecDeque::new();
    let started = Instant::now();
    for i in 0..requests {
        let now = Duration::from_micros(i.saturating_mul(10));
        let key = format!("k{}", i % 1_000);
        let op = if i % 2 == 0 { Op::Put { key, value: Value::Int(i as i64) } } else { Op::Get { key } };
        let coordinator = ids[(i % 3) as usize];
        let body = frame::encode(&Request { id: i, op, read: None, write: None })?;
        let request: Request = frame::decode(&body[frame::HEADER_LEN..])?;
        frames += 1;
        bytes += body.len() as u64;
        let effects = nodes[(coordinator - 1) as usize].on_request(now, 1, request);
        queue.extend(effects.into_iter().map(|e| (coordinator, e)));
        while let Some((from, effect)) = queue.pop_front() {
            match effect {
                Effect::Send { to, msg } => {
                    let body = frame::encode(&msg)?;
                    let msg: PeerMessage = frame::decode(&body[frame::HEADER_LEN..])?;
                    frames += 1;
                    bytes += body.len() as u64;
                    let node = nodes.get_mut((to as usize).wrapping_sub(1)).ok_or_else(|| anyhow!("no node {to}"))?;
                    queue.extend(node.on_peer(now, from, msg).into_iter().map(|e| (to, e)));
                }
                Effect::Reply { response, .. } => {
                    let body = frame::encode::<Response>(&response)?;
                    std::hint::black_box(body);
                }
            }
        }
    }
    let elapsed = started.elapsed();
    Ok(StepRound {
        frames,
        mean_bytes: bytes as f64 / frames.max(1) as f64,
        per_frame: elapsed / u32::try_from(frames.max(1)).unwrap_or(u32::MAX),
    })
}

/// Wall time per `write` of a frame of `size` bytes (4-byte length prefix included) on a
/// loopback TCP connection whose reader drains it on another thread, over `frames` writes.
pub fn loopback_write(size: usize, frames: u64) -> Result<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let reader = std::thread::spawn(move || -> std::io::Result<u64> {
        let (mut stream, _) = listener.accept()?;
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0u64;
        loop {
            match stream.read(&mut buf)? {
                0 => return Ok(total),
                n => total += n as u64,
            }
        }
    });
    let mut stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    let mut message = u32::try_from(size.saturating_sub(4)).unwrap_or(u32::MAX).to_be_bytes().to_vec();
    message.resize(size.max(4), b'x');
    let started = Instant::now();
    for _ in 0..frames {
        stream.write_all(&message)?;
    }
    let elapsed = started.elapsed();
    drop(stream);
    let read = reader.join().map_err(|_| anyhow!("the reader thread panicked"))??;
    if read != frames * message.len() as u64 {
        return Err(anyhow!("the reader got {read} bytes of {}", frames * message.len() as u64));
    }
    Ok(elapsed / u32::try_from(frames.max(1)).unwrap_or(u32::MAX))
}

/// The median, fastest and slowest of `values` (sorted in place); `None` when empty.
fn spread(values: &mut [Duration]) -> Option<(Duration, Duration, Duration)> {
    values.sort_unstable();
    Some((*values.get(values.len() / 2)?, *values.first()?, *values.last()?))
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// `lab bench messages`: prints both measurements beside the model's defaults.
pub fn run(args: &BenchMessagesArgs) -> Result<ExitCode> {
    let rounds = args.rounds.max(1);
    let mut steps = Vec::new();
    let mut mean_bytes = 0.0;
    for _ in 0..rounds {
        let round = node_step(args.requests)?;
        mean_bytes = round.mean_bytes;
        steps.push(round.per_frame);
    }
    let (mut small, mut large) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        small.push(loopback_write(64, args.frames)?);
        large.push(loopback_write(4_096, args.frames)?);
    }
    let (step, step_lo, step_hi) = spread(&mut steps).ok_or_else(|| anyhow!("no rounds"))?;
    let (w64, w64_lo, w64_hi) = spread(&mut small).ok_or_else(|| anyhow!("no rounds"))?;
    let (w4k, w4k_lo, w4k_hi) = spread(&mut large).ok_or_else(|| anyhow!("no rounds"))?;
    let per_byte_ns = (w4k.as_secs_f64() - w64.as_secs_f64()).max(0.0) * 1e9 / (4_096.0 - 64.0);
    println!("# lab bench messages ({rounds} rounds; median [fastest, slowest])\n");
    println!("| measurement | per unit | model default |\n|---|---|---|");
    println!(
        "| node step: decode + quorum::Node (MemStorage) + encode what it sends, per frame received ({mean_bytes:.0} B mean) | {:.2} us [{:.2}, {:.2}] | receive: scaling.toml cpu_per_message_ns |",
        us(step),
        us(step_lo),
        us(step_hi)
    );
    println!(
        "| loopback TCP write, 64 B frame | {:.2} us [{:.2}, {:.2}] | send: {:.2} us + {} ns/B |",
        us(w64),
        us(w64_lo),
        us(w64_hi),
        us(defaults::SEND_PER_MESSAGE),
        defaults::SEND_PER_BYTE.as_nanos()
    );
    println!("| loopback TCP write, 4 KiB frame | {:.2} us [{:.2}, {:.2}] | |", us(w4k), us(w4k_lo), us(w4k_hi));
    println!("| loopback TCP write, per byte (slope) | {per_byte_ns:.3} ns | |");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_step_routes_every_frame() -> Result<()> {
        let round = node_step(30)?;
        // Each request at QUORUM with N = 3 reaches its coordinator, then at least two
        // replicas answer: more frames than requests, of a plausible JSON size.
        assert!(round.frames > 30 * 3, "{round:?}");
        assert!(round.mean_bytes > 20.0 && round.mean_bytes < 2_000.0, "{round:?}");
        Ok(())
    }

    #[test]
    fn loopback_frames_all_arrive() -> Result<()> {
        assert!(loopback_write(64, 100)? > Duration::ZERO);
        Ok(())
    }
}
