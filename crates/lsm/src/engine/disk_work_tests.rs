//! The disk work the engine reports ([`Engine::take_disk_work`]) includes its background
//! work: a flush writes the memtable as an SSTable and a compaction rewrites SSTables, and
//! both count their bytes and syncs in the call that triggered them, so the servers book
//! them on the node's disk (`quorum::server`) rather than getting them free.

use super::*;
use crate::cell::{Cell, Version};
use crate::fs::SyncCall;
use history::Value;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("lsm-disk-work-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn cell(ts: u64) -> Cell {
    Cell::new(Value::Str("v".repeat(200)), Version::new(ts, 0))
}

#[test]
fn flush_and_compaction_bytes_are_counted_as_disk_work() -> TestResult {
    let dir = scratch("flush");
    let config = EngineConfig { memtable_bytes: 16 << 10, max_sstables: 2, ..EngineConfig::new(&dir) };
    let mut engine = Engine::open_real(config, SyncCall::Fsync)?;
    engine.take_disk_work();
    // The work of a write that only appends to the log: its record, no sync.
    engine.write("k0", cell(1))?;
    let append = engine.take_disk_work();
    assert!(append.bytes_written > 0 && append.bytes_written < 1_024, "{append:?}");
    assert_eq!(append.syncs, 0);
    // Write until a flush happens; that write's work holds the whole SSTable.
    let mut flushed = None;
    for ts in 2..1_000u64 {
        let before = engine.stats();
        engine.write(&format!("k{ts}"), cell(ts))?;
        let work = engine.take_disk_work();
        if engine.stats().flushes > before.flushes {
            flushed = Some((work, engine.stats().sstable_bytes - before.sstable_bytes));
            break;
        }
    }
    let (work, sstable) = flushed.ok_or("no flush after 1,000 writes")?;
    assert!(sstable > 8 << 10, "a memtable of 16 KiB makes a real SSTable: {sstable} bytes");
    assert!(work.bytes_written >= sstable, "the flush's SSTable bytes are counted: {work:?} for {sstable}");
    assert!(work.syncs >= 2, "the SSTable and its directory entry are synced: {work:?}");
    // Keep writing until a compaction: its rewrite is counted too.
    let mut compacted = None;
    for ts in 1_000..20_000u64 {
        let before = engine.stats();
        engine.write(&format!("k{}", ts % 500), cell(ts))?;
        let work = engine.take_disk_work();
        if engine.stats().compactions > before.compactions {
            compacted = Some((work, engine.stats().sstable_bytes));
            break;
        }
    }
    let (work, live) = compacted.ok_or("no compaction")?;
    assert!(work.bytes_written >= live, "the compacted SSTable's bytes are counted: {work:?} for {live}");
    drop(engine);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
