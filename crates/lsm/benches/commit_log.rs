//! `cargo bench -p lsm --bench commit_log`: the commit-log engine's write path on a real
//! directory (`RealFs`), per sync mode. A plain timing harness (`harness = false`; the
//! workspace adds no benchmark dependency): each case runs for a fixed wall time after a
//! warm-up and prints the mean time per write and the engine's exact syncs per write. It
//! backs the rows of `lab bench engines` (which measures the same calls, plus SQLite and the
//! raw baselines) with a benchmark that needs only this crate.
//!
//! The scratch directory is `bench-lsm` in cargo's `CARGO_TARGET_TMPDIR` (or `LSM_BENCH_DIR`):
//! keep it on a real disk.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use history::Value;
use lsm::{Cell, Engine, EngineConfig, EngineError, SyncCall, Version};

/// One case: a name, the sync call, whether each write syncs, the write buffer.
struct Case {
    name: &'static str,
    call: SyncCall,
    sync_each: bool,
    buffer: usize,
}

const CASES: [Case; 5] = [
    Case { name: "append, no sync", call: SyncCall::Fsync, sync_each: false, buffer: 0 },
    Case { name: "append, no sync, 64 KiB buffer", call: SyncCall::Fsync, sync_each: false, buffer: 64 << 10 },
    Case { name: "append + sync (fsync)", call: SyncCall::Fsync, sync_each: true, buffer: 0 },
    Case { name: "append + sync (fdatasync)", call: SyncCall::Fdatasync, sync_each: true, buffer: 0 },
    Case { name: "append x100 + one sync (fsync)", call: SyncCall::Fsync, sync_each: false, buffer: 0 },
];

fn run(dir: &PathBuf, case: &Case, wall: Duration) -> Result<(u64, Duration, u64), EngineError> {
    let _ = std::fs::remove_dir_all(dir);
    let config = EngineConfig { dir: dir.clone(), memtable_bytes: 64 << 20, max_sstables: 4 };
    let mut engine = Engine::open_real(config, case.call)?;
    engine.write("~warm-up", Cell::new(Value::Nil, Version::new(0, 0)))?;
    engine.sync()?;
    engine.set_log_buffer(case.buffer)?;
    engine.take_disk_work();
    let keys: Vec<String> = (0..100_000).map(|i| format!("k{i:07}")).collect();
    let value = Value::Str("v".repeat(100));
    let batch = if case.name.contains("x100") { 100 } else { 1 };
    let start = Instant::now();
    let mut writes = 0u64;
    while start.elapsed() < wall {
        for _ in 0..batch {
            let key = &keys[(writes % keys.len() as u64) as usize];
            engine.write(key, Cell::new(value.clone(), Version::new(writes + 1, 0)))?;
            writes += 1;
        }
        if case.sync_each || batch > 1 {
            engine.sync()?;
        }
    }
    let elapsed = start.elapsed();
    let syncs = engine.take_disk_work().syncs;
    drop(engine);
    let _ = std::fs::remove_dir_all(dir);
    Ok((writes, elapsed, syncs))
}

fn main() -> Result<(), EngineError> {
    let dir = std::env::var_os("LSM_BENCH_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bench-lsm"), PathBuf::from);
    // `cargo test --benches` runs this once as a smoke test: keep that short.
    let quick = std::env::args().any(|a| a == "--test" || a == "--quick");
    let wall = if quick { Duration::from_millis(20) } else { Duration::from_secs(2) };
    println!("{:<34} {:>12} {:>12} {:>14}", "case", "writes", "ns/write", "syncs/write");
    for case in &CASES {
        let (writes, elapsed, syncs) = run(&dir, case, wall)?;
        let per = elapsed.as_nanos() as f64 / writes.max(1) as f64;
        println!("{:<34} {writes:>12} {per:>12.0} {:>14.4}", case.name, syncs as f64 / writes.max(1) as f64);
    }
    Ok(())
}
