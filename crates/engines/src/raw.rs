//! The machine's physical limits, measured in the same run as the engines: the raw sync rate
//! (4 KiB `pwrite` + `fsync` or `fdatasync`, over one block or appended) and raw sequential
//! append bandwidth (1 MiB writes into the page cache, and with a final `fsync` to the
//! device), plus appends of one commit-log record per `write`, the like-for-like baseline of
//! an unbuffered commit log.

use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result};

use super::measure::{run_writers, Budget, Exact, Measured, Row};

/// How a raw loop makes its data durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sync {
    /// `fsync` after every write.
    Fsync,
    /// `fdatasync` after every write.
    Fdatasync,
}

impl Sync {
    fn name(self) -> &'static str {
        match self {
            Sync::Fsync => "fsync",
            Sync::Fdatasync => "fdatasync",
        }
    }

    fn apply(self, file: &File) -> std::io::Result<u64> {
        match self {
            Sync::Fsync => file.sync_all().map(|()| 1),
            Sync::Fdatasync => file.sync_data().map(|()| 1),
        }
    }
}

/// The largest file a page-cache append loop writes before it stops (its budget may stop it
/// earlier): enough to leave caches behind, little enough not to fill a small disk.
const MAX_APPEND_BYTES: u64 = 2 << 30;

fn create(dir: &Path, name: &str) -> Result<File> {
    let path = dir.join(name);
    let _ = fs::remove_file(&path);
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("create {}", path.display()))
}

/// `size`-byte writes, each followed by `sync`: over the same block (`append` false: only
/// data changes) or appended (the file grows: metadata changes too).
pub fn sync_loop(
    dir: &Path,
    device: Option<&str>,
    budget: Budget,
    size: usize,
    sync: Sync,
    append: bool,
) -> Result<Row> {
    let name = format!("raw-sync-{}-{}", sync.name(), if append { "append" } else { "overwrite" });
    let file = create(dir, &name)?;
    let block = vec![0xA5u8; size];
    // The block exists and is durable before the loop: an overwrite then changes data only.
    file.write_all_at(&block, 0)?;
    file.sync_all()?;
    let exact = Mutex::new(Exact::default());
    let measured = run_writers(1, budget, device, |_, row| {
        let offset = if append { (row + 1) * size as u64 } else { 0 };
        file.write_all_at(&block, offset)?;
        let syncs = sync.apply(&file)?;
        let mut e = exact.lock().map_err(|_| anyhow::anyhow!("lock"))?;
        e.syncs += syncs;
        e.bytes += size as u64;
        Ok(1)
    })?;
    drop(file);
    fs::remove_file(dir.join(&name))?;
    let exact = *exact.lock().map_err(|_| anyhow::anyhow!("lock"))?;
    let what = if append { "append" } else { "overwrite" };
    let mut row =
        measured.row("raw", &format!("{} B {what} + {}", size, sync.name()), sync.name(), (1, 1), Some(exact));
    row.note =
        format!("pwrite {size} B {}then {} each", if append { "at the end " } else { "over one block " }, sync.name());
    Ok(row)
}

/// Sequential appends of `size`-byte writes into the page cache, one `write` each, then
/// (with `final_sync`) one `fsync` whose time is counted: the device's bandwidth.
pub fn append_loop(dir: &Path, device: Option<&str>, budget: Budget, size: usize, final_sync: bool) -> Result<Row> {
    let name = format!("raw-append-{size}-{final_sync}");
    let file = create(dir, &name)?;
    let block = vec![0x5Au8; size];
    let max_writes = budget.max_writes.min(MAX_APPEND_BYTES / size as u64).max(1);
    let budget = Budget { max_writes, ..budget };
    let mut offset = 0u64;
    let before = super::machine::Counters::sample(device);
    let start = Instant::now();
    let mut writes = 0u64;
    while writes < budget.max_writes && start.elapsed().as_secs_f64() < budget.seconds {
        file.write_all_at(&block, offset)?;
        offset += size as u64;
        writes += 1;
    }
    let syncs = if final_sync { Sync::Fsync.apply(&file)? } else { 0 };
    let elapsed = start.elapsed();
    let counters = before.since(super::machine::Counters::sample(device));
    drop(file);
    fs::remove_file(dir.join(&name))?;
    let measured = Measured { writes, elapsed, counters };
    let exact = Exact { syncs, bytes: offset };
    let setting = format!("append {} {}", human(size), if final_sync { "+ final fsync" } else { "(page cache)" });
    let mut row = measured.row("raw", &setting, if final_sync { "fsync" } else { "-" }, (1, 1), Some(exact));
    row.note = format!("{} MB in {} writes of {size} B", offset / 1_000_000, writes);
    Ok(row)
}

/// `1048576` as `1 MiB`, `4096` as `4 KiB`, else bytes.
pub fn human(bytes: usize) -> String {
    if bytes >= 1 << 20 && bytes % (1 << 20) == 0 {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes % (1 << 10) == 0 {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> Result<std::path::PathBuf> {
        let dir = std::env::temp_dir().join(format!("lab-raw-{name}-{}", std::process::id()));
        fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    #[test]
    fn sync_loops_count_one_sync_per_write() -> Result<()> {
        let dir = scratch("sync")?;
        let budget = Budget { seconds: 1e6, max_writes: 20 };
        for (sync, append) in [(Sync::Fsync, false), (Sync::Fdatasync, true)] {
            let row = sync_loop(&dir, None, budget, 4096, sync, append)?;
            assert_eq!(row.writes, 20);
            assert_eq!(row.fsyncs_per_write, Some(1.0));
            assert_eq!(row.bytes_per_write, 4096.0);
        }
        assert_eq!(fs::read_dir(&dir)?.count(), 0, "the loops clean up");
        fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn append_loops_write_what_they_say() -> Result<()> {
        let dir = scratch("append")?;
        let row = append_loop(&dir, None, Budget { seconds: 1e6, max_writes: 16 }, 1 << 20, true)?;
        assert_eq!((row.writes, row.bytes_per_write, row.fsyncs_per_write), (16, 1048576.0, Some(1.0 / 16.0)));
        let row = append_loop(&dir, None, Budget { seconds: 1e6, max_writes: 100 }, 130, false)?;
        assert_eq!((row.writes, row.bytes_per_write, row.fsyncs_per_write), (100, 130.0, Some(0.0)));
        assert_eq!(human(1 << 20), "1 MiB");
        assert_eq!(human(4096), "4 KiB");
        assert_eq!(human(130), "130 B");
        fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
