//! [`Engine`]: the write path (commit log, memtable, flush), reads merged across the memtable
//! and SSTables, compaction, and the counters a server needs.
//!
//! Durability order, which every crash point respects:
//! - write: the record is appended to the active segment (pending), then merged into the
//!   memtable; [`Engine::sync`] makes every appended record durable.
//! - flush: the SSTable is written, synced, its name synced (directory); a new segment is
//!   created; a new manifest naming the SSTable and moving `log_floor` to the new segment is
//!   installed (see [`crate::manifest`]); only then are the old segments and the old
//!   manifest deleted.
//! - compaction: the merged SSTable is made durable, then a manifest that swaps it for its
//!   inputs, and only then are the inputs deleted.
//!
//! A crash at any point leaves either the old or the new manifest, with all files it names;
//! leftovers are deleted by the next open ([`crate::recovery`]).
//!
//! # Disk failures
//!
//! - **A full disk** ([`EngineError::DiskFull`]) does not poison. A write that finds no space
//!   appended nothing (turmoil checks the capacity before writing) and is refused, definitely;
//!   the engine then tries to make room: it deletes its reserve (the file `RESERVE`, a sixteenth of the
//!   memtable's size between 4 and 32 KiB, written while there was room), flushes
//!   the memtable (which retires the commit log the memtable covers, usually far more bytes
//!   than the new SSTable: the log also holds every overwritten version) and writes the reserve
//!   again. A flush or compaction that runs out of space deletes the files it had created and
//!   changes nothing. If even the reserve's room cannot hold the flush, the engine stops
//!   trying: it keeps serving reads, refuses writes that do not fit, and stays read-only until
//!   it is reopened. Opening works on a full disk (it needs no new bytes).
//! - **Any other failed write, and any failed sync**, poisons the engine: every later change
//!   is refused ([`EngineError::Poisoned`]) until it is reopened, and the caller should treat
//!   that as a crash (drop the engine, reopen from the files). This is what PostgreSQL does
//!   since 2018 (a failed `fsync` is a PANIC followed by crash recovery), for the reason it
//!   does it: after a failed write-back the kernel may have dropped the dirty pages and marked
//!   them clean, so a retried sync "succeeds" without writing them, and the page cache can no
//!   longer be trusted to say what is on the disk. The engine goes one step further for its
//!   commit log, the one file whose unsynced tail recovery would read: the segment whose sync
//!   failed is first cut back to the length its last successful sync covered, so the reopened
//!   engine replays only bytes a sync confirmed. SSTables and manifests are named (and so
//!   read by recovery) only after their syncs succeeded. Nothing acknowledged is lost: under
//!   `batch` and `group` no write is acknowledged before a sync covering it succeeded.
//! - **A failed read** changes nothing on the disk: the call fails (a `get`, a `scan`, the read
//!   phase of a compaction) and the engine stays usable. Recovery that cannot read fails
//!   [`Engine::open_on`], which may simply be retried.

use std::collections::BTreeMap;
use std::path::PathBuf;

use base::disk_cost::DiskWork;

use crate::cell::{merge_into, Cell};
use crate::codec::{encode_framed_cell, EncodeError, MAX_PAYLOAD_BYTES, MAX_VALUE_DEPTH};
use crate::commit_log::{segment_name, Segment};
use crate::compaction::{choose, Choice};
use crate::disk::Disk;
use crate::error::EngineError;
use crate::fs::{FileSystem, RealFs, SyncCall};
use crate::manifest::{manifest_name, manifest_tmp_name, Manifest};
use crate::memtable::Memtable;
use crate::recovery::{recover, RecoveryReport};
use crate::sstable::{sstable_name, Sstable};

mod detached_sync;
#[cfg(test)]
mod disk_work_tests;
mod failure;

pub use detached_sync::PendingSync;

/// The commit log may grow to this many times `memtable_bytes` before it forces a flush
/// (overwrites grow the log but not the memtable).
const LOG_BYTES_PER_MEMTABLE_BYTE: u64 = 4;

/// Where and how an engine keeps its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// The directory (absolute; created if missing). One engine per directory.
    pub dir: PathBuf,
    /// Flush the memtable to an SSTable once its counted size exceeds this.
    pub memtable_bytes: usize,
    /// Compact once there are more live SSTables than this.
    pub max_sstables: usize,
}

impl EngineConfig {
    /// `dir` with a 1 MiB memtable and at most 4 SSTables.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        EngineConfig { dir: dir.into(), memtable_bytes: 1 << 20, max_sstables: 4 }
    }
}

/// A snapshot of the engine's size and activity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Live SSTables.
    pub sstables: usize,
    /// Their total size.
    pub sstable_bytes: u64,
    /// The memtable's counted size.
    pub memtable_bytes: usize,
    /// Keys in the memtable.
    pub memtable_keys: usize,
    /// Bytes in live commit-log segments.
    pub log_bytes: u64,
    /// Live commit-log segments.
    pub log_segments: usize,
    /// Flushes since open.
    pub flushes: u64,
    /// Compactions since open.
    pub compactions: u64,
    /// The current manifest's number (0: none written yet).
    pub manifest_seq: u64,
}

/// A per-node LSM storage engine on turmoil's simulated disk ([`Engine::open_on`] with
/// `sim::fs::SimFs`) or on a real directory ([`Engine::open_real`]).
///
/// On the simulated disk it must be used inside a turmoil host (every call fails with
/// [`EngineError::NotInSimulation`] elsewhere) and is not shared between hosts. On the real
/// file system it is `Send` and can be shared between threads behind a lock (see
/// [`crate::group_commit`]).
#[derive(Debug)]
pub struct Engine {
    config: EngineConfig,
    disk: Disk,
    manifest: Manifest,
    /// Live SSTables, ascending ids.
    sstables: Vec<Sstable>,
    memtable: Memtable,
    /// The segment being appended to.
    log: Segment,
    /// Live segments replayed at open, not appended to: (id, bytes).
    older_segments: Vec<(u64, u64)>,
    next_file: u64,
    flushes: u64,
    compactions: u64,
    recovery: RecoveryReport,
    poisoned: bool,
    /// A write-triggered flush found no space: do not retry one until a flush succeeds.
    out_of_space: bool,
    /// Reclaiming space failed even with the reserve: read-only until reopened.
    reclaim_failed: bool,
    /// Whether the reserve file is in place.
    reserve: bool,
    /// The commit log's write buffer limit (0: off; see [`crate::commit_log`]).
    log_buffer_bytes: usize,
    /// The record being written, reused by every [`Engine::write`].
    record: Vec<u8>,
}

impl Engine {
    /// Opens (or creates) the engine in `config.dir`: reads the manifest, loads the SSTable
    /// indexes, replays the commit log, deletes leftovers and starts a new segment (see
    /// [`crate::recovery`]). A torn commit-log tail is not an error; a damaged manifest or
    /// SSTable is.
    ///
    /// The files are on `fs`: in a simulation, turmoil's simulated disk (`sim::fs::SimFs`,
    /// usable inside a turmoil host only).
    pub fn open_on(config: EngineConfig, fs: Box<dyn FileSystem>) -> Result<Engine, EngineError> {
        fs.check()?;
        if !config.dir.is_absolute() {
            return Err(EngineError::InvalidConfig { reason: "dir must be an absolute path" });
        }
        let mut disk = Disk::new(fs, config.dir.clone());
        let recovered = recover(&mut disk)?;
        let mut next_file = recovered.next_file;
        let log = Segment::create(&mut disk, next_file, 0)?;
        next_file += 1;
        let mut engine = Engine {
            config,
            disk,
            manifest: recovered.manifest,
            sstables: recovered.sstables,
            memtable: recovered.memtable,
            log,
            older_segments: recovered.segments,
            next_file,
            flushes: 0,
            compactions: 0,
            recovery: recovered.report,
            poisoned: false,
            out_of_space: false,
            reclaim_failed: false,
            reserve: false,
            log_buffer_bytes: 0,
            record: Vec::new(),
        };
        if engine.needs_flush() {
            // On a full disk the replayed log stays the record; the engine serves without
            // the flush.
            match engine.flush() {
                Err(e) if !e.is_disk_full() => return Err(e),
                _ => {}
            }
        }
        engine.take_reserve();
        Ok(engine)
    }

    /// [`Engine::open_on`] a real directory (`std::fs`), syncing files with `sync`.
    pub fn open_real(config: EngineConfig, sync: SyncCall) -> Result<Engine, EngineError> {
        Engine::open_on(config, Box::new(RealFs::new(sync)))
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// What the last open recovered.
    pub fn recovery(&self) -> &RecoveryReport {
        &self.recovery
    }

    /// Logs `cell` for `key` (pending until [`Engine::sync`]) and merges it into the
    /// memtable under last-write-wins (a cell that loses is logged but changes no read).
    /// Flushes, and maybe compacts, once the memtable is full (unless the disk is full: the
    /// write is logged either way).
    ///
    /// An error for which [`EngineError::is_definite`] holds means the write did not happen
    /// (e.g. [`EngineError::DiskFull`], after which the engine tries to make room for later
    /// writes); any other leaves the outcome unknown: the write may survive.
    pub fn write(&mut self, key: &str, cell: Cell) -> Result<(), EngineError> {
        self.check_writable()?;
        // One reused buffer: no allocation per record on the write path.
        let mut framed = std::mem::take(&mut self.record);
        let encoded = encode_framed_cell(&mut framed, key, &cell).map_err(|e| match e {
            EncodeError::TooLarge { bytes } => {
                EngineError::RecordTooLarge { key_bytes: key.len(), bytes, max: MAX_PAYLOAD_BYTES }
            }
            EncodeError::TooDeep => EngineError::ValueTooDeep { max: MAX_VALUE_DEPTH },
        });
        let appended = encoded.and_then(|()| self.log.append(&mut self.disk, &framed));
        self.record = framed;
        match appended {
            Ok(()) => {}
            Err(e) if e.is_disk_full() => {
                self.reclaim();
                return Err(e);
            }
            Err(e @ (EngineError::RecordTooLarge { .. } | EngineError::ValueTooDeep { .. })) => return Err(e),
            Err(e) => {
                self.poisoned = true;
                return Err(e);
            }
        }
        self.memtable.insert(key, cell);
        if self.needs_flush() && !self.out_of_space {
            match self.flush() {
                // Logged; the flush waits for space.
                Err(e) if e.is_disk_full() => self.out_of_space = true,
                other => other?,
            }
        }
        Ok(())
    }

    /// Makes every write so far durable (one file sync if anything is pending, plus a
    /// directory sync on a new segment's first sync; free when nothing is pending).
    ///
    /// A failure poisons the engine, after cutting the segment back to what the last
    /// successful sync covered (see the module docs): the writes since are lost with the
    /// engine's memory when it is reopened.
    pub fn sync(&mut self) -> Result<(), EngineError> {
        self.check_writable()?;
        let synced = self.log.sync(&mut self.disk);
        self.poison_on_err(synced)
    }

    /// Sets the commit log's userspace write buffer to `bytes` (0, the default, turns it off
    /// after writing what it holds). Meant for the modes that do not sync every write: see
    /// [`crate::commit_log`] for what a buffered record risks and why a full disk then
    /// poisons the engine.
    pub fn set_log_buffer(&mut self, bytes: usize) -> Result<(), EngineError> {
        self.check_writable()?;
        let set = self.log.set_buffer_limit(&mut self.disk, bytes);
        self.poison_on_err(set)?;
        self.log_buffer_bytes = bytes;
        Ok(())
    }

    /// The commit log's write buffer limit (0: off).
    pub fn log_buffer(&self) -> usize {
        self.log_buffer_bytes
    }

    /// The winning cell of `key` across the memtable and every SSTable (by version, not by
    /// file age).
    pub fn get(&self, key: &str) -> Result<Option<Cell>, EngineError> {
        self.disk.check()?;
        let mut best = self.memtable.get(key).cloned();
        for table in self.sstables.iter().rev() {
            // A table whose highest version is below the best so far cannot hold a winner.
            if best.as_ref().is_some_and(|b| table.max_version() < b.version) {
                continue;
            }
            if let Some(cell) = table.get(key)? {
                merge_into(&mut best, cell);
            }
        }
        Ok(best)
    }

    /// Every key's winning cell, sorted by key.
    pub fn scan(&self) -> Result<Vec<(String, Cell)>, EngineError> {
        self.merged(None)
    }

    /// The winning cells of keys in `[from, to)` (empty unless `from < to`), sorted by key.
    pub fn range(&self, from: &str, to: &str) -> Result<Vec<(String, Cell)>, EngineError> {
        if from >= to {
            self.disk.check()?;
            return Ok(Vec::new());
        }
        self.merged(Some((from, to)))
    }

    fn merged(&self, bounds: Option<(&str, &str)>) -> Result<Vec<(String, Cell)>, EngineError> {
        self.disk.check()?;
        let mut out: BTreeMap<String, Option<Cell>> = BTreeMap::new();
        for table in &self.sstables {
            for (key, cell) in table.scan(bounds)? {
                merge_into(out.entry(key).or_default(), cell);
            }
        }
        for (key, cell) in self.memtable.range(bounds) {
            merge_into(out.entry(key.clone()).or_default(), cell.clone());
        }
        Ok(out.into_iter().filter_map(|(key, cell)| Some((key, cell?))).collect())
    }

    /// Writes the memtable to a new SSTable and retires the commit log it covered (see the
    /// module docs for the order). Everything written so far is durable afterwards. Does
    /// nothing when the memtable is empty. May compact (a compaction that fails without
    /// poisoning the engine is left for the next flush).
    ///
    /// [`EngineError::DiskFull`]: there was no room; nothing changed (the files it had
    /// created are deleted) and the engine stays usable.
    pub fn flush(&mut self) -> Result<(), EngineError> {
        self.check_writable()?;
        if self.memtable.is_empty() {
            return Ok(());
        }
        let flushed = self.flush_inner();
        self.poison_unless_full(flushed)?;
        self.out_of_space = false;
        self.reclaim_failed = false;
        match self.maybe_compact() {
            Err(e) if self.poisoned => Err(e),
            _ => Ok(()),
        }
    }

    fn flush_inner(&mut self) -> Result<(), EngineError> {
        let sstable_id = self.allocate_file();
        let cells = self.memtable.iter().map(|(k, c)| (k.as_str(), c));
        let table =
            Sstable::write(&mut self.disk, sstable_id, cells).map_err(|e| self.undo(e, &[sstable_name(sstable_id)]))?;
        let segment_id = self.allocate_file();
        let segment = Segment::create(&mut self.disk, segment_id, self.log_buffer_bytes)
            .map_err(|e| self.undo(e, &[sstable_name(sstable_id)]))?;
        let mut manifest = self.manifest.clone();
        manifest.sstables.push(sstable_id);
        manifest.log_floor = segment_id;
        let tmp = manifest_tmp_name(self.manifest.seq + 1);
        let old_manifest = match self.install_manifest(manifest) {
            Ok(old) => old,
            Err(e) => {
                drop(segment);
                return Err(self.undo(e, &[sstable_name(sstable_id), segment_name(segment_id), tmp]));
            }
        };
        // The SSTable is durable and named by the manifest: the old segments are obsolete.
        let old_log = std::mem::replace(&mut self.log, segment);
        let mut obsolete: Vec<String> = self.older_segments.drain(..).map(|(id, _)| segment_name(id)).collect();
        obsolete.push(segment_name(old_log.id()));
        drop(old_log);
        self.sstables.push(table);
        self.memtable.clear();
        self.flushes += 1;
        for name in &obsolete {
            self.disk.remove(name, true)?;
        }
        self.retire_manifest(old_manifest)?;
        self.disk.sync_dir()
    }

    /// Merges every live SSTable into one, if there are at least two (regardless of the
    /// policy's limit). A read error or a full disk fails it without changing anything or
    /// poisoning the engine.
    pub fn compact(&mut self) -> Result<(), EngineError> {
        self.check_writable()?;
        if self.sstables.len() < 2 {
            return Ok(());
        }
        let ids: Vec<u64> = self.sstables.iter().map(Sstable::id).collect();
        self.merge(&ids)
    }

    fn maybe_compact(&mut self) -> Result<(), EngineError> {
        let metas: Vec<_> = self.sstables.iter().map(Sstable::meta).collect();
        match choose(&metas, self.config.max_sstables) {
            Choice::DoNothing => Ok(()),
            Choice::Merge(ids) => self.merge(&ids),
        }
    }

    /// Merges the tables `ids` into one new table, keeping each key's winning cell. The read
    /// phase changes nothing, so its errors do not poison.
    fn merge(&mut self, ids: &[u64]) -> Result<(), EngineError> {
        let mut merged: BTreeMap<String, Option<Cell>> = BTreeMap::new();
        for table in self.sstables.iter().filter(|t| ids.contains(&t.id())) {
            for (key, cell) in table.scan(None)? {
                merge_into(merged.entry(key).or_default(), cell);
            }
        }
        let written = self.write_merged(ids, &merged);
        self.poison_unless_full(written)
    }

    fn write_merged(&mut self, ids: &[u64], merged: &BTreeMap<String, Option<Cell>>) -> Result<(), EngineError> {
        let output_id = self.allocate_file();
        let cells = merged.iter().filter_map(|(k, c)| Some((k.as_str(), c.as_ref()?)));
        let output =
            Sstable::write(&mut self.disk, output_id, cells).map_err(|e| self.undo(e, &[sstable_name(output_id)]))?;
        let mut manifest = self.manifest.clone();
        manifest.sstables.retain(|id| !ids.contains(id));
        manifest.sstables.push(output_id);
        manifest.sstables.sort_unstable();
        let tmp = manifest_tmp_name(self.manifest.seq + 1);
        let old_manifest = match self.install_manifest(manifest) {
            Ok(old) => old,
            Err(e) => {
                drop(output);
                return Err(self.undo(e, &[sstable_name(output_id), tmp]));
            }
        };
        let (inputs, kept): (Vec<Sstable>, Vec<Sstable>) =
            std::mem::take(&mut self.sstables).into_iter().partition(|t| ids.contains(&t.id()));
        self.sstables = kept;
        self.sstables.push(output);
        self.sstables.sort_by_key(Sstable::id);
        self.compactions += 1;
        for input in inputs {
            let name = sstable_name(input.id());
            drop(input);
            self.disk.remove(&name, false)?;
        }
        self.retire_manifest(old_manifest)?;
        self.disk.sync_dir()
    }

    /// Makes `manifest` (with the next number and file counter filled in) the durable truth:
    /// write to a temporary name, sync, rename, sync the directory. Returns the number of the
    /// manifest it replaces.
    fn install_manifest(&mut self, mut manifest: Manifest) -> Result<u64, EngineError> {
        let old = self.manifest.seq;
        manifest.seq = old + 1;
        manifest.next_file = self.next_file;
        let tmp = manifest_tmp_name(manifest.seq);
        let file = self.disk.create(&tmp)?;
        self.disk.write_at(&file, &tmp, &manifest.encode(), 0)?;
        self.disk.sync_file(&file, &tmp)?;
        drop(file);
        self.disk.rename(&tmp, &manifest_name(manifest.seq))?;
        self.disk.sync_dir()?;
        self.manifest = manifest;
        Ok(old)
    }

    /// Deletes manifest `seq` (none for 0); durable after the next directory sync.
    fn retire_manifest(&mut self, seq: u64) -> Result<(), EngineError> {
        if seq == 0 {
            return Ok(());
        }
        self.disk.remove(&manifest_name(seq), false)
    }

    fn allocate_file(&mut self) -> u64 {
        let id = self.next_file;
        self.next_file += 1;
        id
    }

    fn log_bytes(&self) -> u64 {
        self.log.bytes() + self.older_segments.iter().map(|&(_, bytes)| bytes).sum::<u64>()
    }

    fn needs_flush(&self) -> bool {
        let limit = u64::try_from(self.config.memtable_bytes).unwrap_or(u64::MAX);
        self.memtable.bytes() > self.config.memtable_bytes
            || self.log_bytes() > limit.saturating_mul(LOG_BYTES_PER_MEMTABLE_BYTE)
    }

    fn check_writable(&self) -> Result<(), EngineError> {
        self.disk.check()?;
        if self.poisoned {
            return Err(EngineError::Poisoned);
        }
        Ok(())
    }

    /// The disk work done since the last call (syncs issued, bytes written), for the
    /// server to charge as simulated time (`sim::disk_cost::DiskCost`). Opening counts too.
    pub fn take_disk_work(&mut self) -> DiskWork {
        self.disk.take_work()
    }

    /// Sizes and counters.
    pub fn stats(&self) -> Stats {
        Stats {
            sstables: self.sstables.len(),
            sstable_bytes: self.sstables.iter().map(Sstable::file_bytes).sum(),
            memtable_bytes: self.memtable.bytes(),
            memtable_keys: self.memtable.len(),
            log_bytes: self.log_bytes(),
            log_segments: self.older_segments.len() + 1,
            flushes: self.flushes,
            compactions: self.compactions,
            manifest_seq: self.manifest.seq,
        }
    }
}
