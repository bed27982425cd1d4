//! The commit log: segments of checksummed records, the sync modes a server can apply, and
//! replay.
//!
//! A segment is a file `<id:020>.log` holding nothing but frames (see [`crate::codec`]), one
//! per [`Engine::write`](crate::Engine::write), each carrying a cell payload. Records are
//! appended and stay pending on the simulated disk until
//! [`Engine::sync`](crate::Engine::sync); the first sync of a segment also syncs the
//! directory, which makes the new file's name durable.
//!
//! Replay ([`replay`]) reads a segment up to its first frame that is truncated or fails its
//! checksum and stops there: such a tail was being written when the node crashed, so it was
//! never synced and (under batch or group sync) never acknowledged. That is not an error.
//! The engine never appends after a damaged tail: every open starts a new segment.
//!
//! Write buffer (off by default; [`Engine::set_log_buffer`](crate::Engine::set_log_buffer)):
//! with a limit of `n` bytes, appended records collect in memory and reach the file system in
//! one `write` once `n` bytes are pending, at a sync, or when the buffer is turned off. It
//! saves a system call per record in the modes that do not sync each write (none, periodic).
//! The price: a record still in the buffer is lost when the engine is dropped (as by a
//! process crash, which loses even the OS page cache's view of it), and a write that fills
//! the buffer carries the earlier records' write: its failure, a full disk included, is an
//! I/O error that poisons the engine, never a definite refusal. That is why the simulation
//! keeps it off: its disk-full semantics ("a full disk refuses one write, definitely") need
//! one `write` per record.
//!
//! Failures: an append that finds the disk full wrote nothing ([`EngineError::DiskFull`]);
//! the segment's length is unchanged and the next append goes to the same offset. A sync that
//! fails truncates the segment back to the length its last successful sync covered before
//! reporting the error: the kernel may have dropped the pages it could not write and marked
//! them clean (PostgreSQL's "fsyncgate"), so the bytes after that length are not to be
//! trusted, read or replayed (see [`crate::engine`]).

use std::time::Duration;

use crate::cell::Cell;
use crate::codec::{decode_cell, read_frame};
use crate::disk::{DetachedSync, Disk, File};
use crate::error::{Corruption, EngineError};

/// When a server syncs the commit log and acknowledges writes (Cassandra's
/// `commitlog_sync`). The engine runs no timers: the server calls
/// [`Engine::sync`](crate::Engine::sync) as its mode requires.
///
/// - [`Batch`](CommitLogSync::Batch): acknowledge no write before a sync that covers it, and
///   start that sync at once unless one is running; writes that arrive during a sync share the
///   next one. No timer and no window: a lone writer waits exactly one sync, and `n`
///   concurrent writers need fewer than `n` syncs. The decisions are [`crate::SyncBatcher`]'s
///   (simulation) and [`crate::GroupCommit::new`]'s (real threads).
/// - [`Group`](CommitLogSync::Group): acknowledge no write before a `sync` that covers it,
///   with syncs at most one per window: writes arriving in a window are held; at the window's
///   end one `sync` covers them all, then all are acknowledged. Every acknowledged write
///   survives; latency grows by up to a window, syncs fall to one per window (real threads:
///   [`crate::GroupCommit::with_window`]).
/// - [`Periodic`](CommitLogSync::Periodic): acknowledge right after `write`; a timer calls
///   `sync` every period. A crash loses the writes of up to the last period (acknowledged
///   ones included), as Cassandra's default `periodic` mode with `commitlog_sync_period`.
///
/// The semantics are Cassandra 4.0's ("cassandra.yaml file configuration",
/// `commitlog_sync`, `commitlog_sync_batch_window_in_ms`, `commitlog_sync_group_window_in_ms`,
/// <https://cassandra.apache.org/doc/4.0/cassandra/configuration/cass_yaml_file.html>): in
/// `batch` mode writes are not acknowledged until the commit log has been synced and each
/// incoming write triggers the sync (the batch window is deprecated and ignored); `group` is
/// like `batch` except that it waits up to the group window between syncs; `periodic`
/// acknowledges at once and syncs every `commitlog_sync_period_in_ms`.
///
/// A flush (memtable to SSTable) makes everything written before it durable too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommitLogSync {
    /// Acknowledge at once; sync every period.
    Periodic(Duration),
    /// Sync before acknowledging each write; writes arriving during a sync share the next.
    Batch,
    /// Sync at most once per window, then acknowledge every write the sync covered.
    Group(Duration),
}

impl CommitLogSync {
    /// Whether a write's acknowledgement waits for a sync that covers it.
    pub fn ack_waits_for_sync(&self) -> bool {
        !matches!(self, CommitLogSync::Periodic(_))
    }

    /// How often a timer should sync (`None` for batch: a write starts a sync, or waits for
    /// the running one to end and shares the next).
    pub fn sync_interval(&self) -> Option<Duration> {
        match self {
            CommitLogSync::Periodic(period) | CommitLogSync::Group(period) => Some(*period),
            CommitLogSync::Batch => None,
        }
    }
}

/// The file name of segment `id`.
pub fn segment_name(id: u64) -> String {
    format!("{id:020}.log")
}

/// The segment id of a file name, if it names a segment.
pub fn parse_segment_name(name: &str) -> Option<u64> {
    parse_numbered(name, ".log")
}

/// `<digits><suffix>` to the number.
pub(crate) fn parse_numbered(name: &str, suffix: &str) -> Option<u64> {
    let digits = name.strip_suffix(suffix)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The segment being appended to.
#[derive(Debug)]
pub(crate) struct Segment {
    id: u64,
    name: String,
    file: File,
    len: u64,
    /// Bytes covered by the last successful sync.
    synced_len: u64,
    /// Whether the directory was synced since this file was created.
    entry_synced: bool,
    /// Whether records were appended since the last sync.
    dirty: bool,
    /// Records appended but not yet written (see the module docs); `len` counts them.
    buffer: Vec<u8>,
    /// Write the buffer once it holds this many bytes; 0: no buffer.
    buffer_limit: usize,
}

impl Segment {
    /// Creates segment `id` (empty; its name becomes durable on the first [`Segment::sync`]).
    /// Records are buffered up to `buffer_limit` bytes (0: none; see the module docs).
    pub(crate) fn create(disk: &mut Disk, id: u64, buffer_limit: usize) -> Result<Segment, EngineError> {
        let name = segment_name(id);
        let file = disk.create(&name)?;
        Ok(Segment {
            id,
            name,
            file,
            len: 0,
            synced_len: 0,
            entry_synced: false,
            dirty: false,
            buffer: Vec::new(),
            buffer_limit,
        })
    }

    /// Changes the buffer's limit (0 turns it off), first writing what it holds.
    pub(crate) fn set_buffer_limit(&mut self, disk: &mut Disk, limit: usize) -> Result<(), EngineError> {
        self.write_buffer(disk)?;
        self.buffer_limit = limit;
        Ok(())
    }

    /// Hands the buffered records to the file system. A failure, a full disk included, is an
    /// I/O error: the records were already counted as appended.
    fn write_buffer(&mut self, disk: &mut Disk) -> Result<(), EngineError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let at = self.len - self.buffer.len() as u64;
        let written = disk.write_at(&self.file, &self.name, &self.buffer, at).map_err(|e| match e {
            EngineError::DiskFull { op, path } => EngineError::io(
                op,
                path,
                std::io::Error::new(std::io::ErrorKind::StorageFull, "buffered commit-log write found the disk full"),
            ),
            other => other,
        });
        self.buffer.clear();
        written
    }

    /// The segment's id.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Bytes appended so far.
    pub(crate) fn bytes(&self) -> u64 {
        self.len
    }

    /// Appends one framed record (pending until [`Segment::sync`]). On error nothing is
    /// counted as appended.
    /// With a buffer, the record is kept in memory and an error comes from writing the buffer
    /// (see the module docs).
    pub(crate) fn append(&mut self, disk: &mut Disk, framed: &[u8]) -> Result<(), EngineError> {
        if self.buffer_limit == 0 {
            disk.write_at(&self.file, &self.name, framed, self.len)?;
        } else {
            self.buffer.extend_from_slice(framed);
        }
        self.len = self.len.saturating_add(u64::try_from(framed.len()).unwrap_or(u64::MAX));
        self.dirty = true;
        if self.buffer_limit > 0 && self.buffer.len() >= self.buffer_limit {
            self.write_buffer(disk)?;
        }
        Ok(())
    }

    /// Makes every record appended so far durable: syncs the file if anything is pending,
    /// and the directory on the segment's first sync. Free when nothing is pending.
    ///
    /// A failed file sync first cuts the segment back to what the last successful sync
    /// covered (best effort: if that fails too, the engine is poisoned anyway and the bytes
    /// are, at worst, records that were never acknowledged under `batch` or `group`).
    pub(crate) fn sync(&mut self, disk: &mut Disk) -> Result<(), EngineError> {
        if self.dirty {
            let written = self.write_buffer(disk);
            if let Err(error) = written.and_then(|()| disk.sync_file(&self.file, &self.name)) {
                let _ = disk.set_len(&self.file, &self.name, self.synced_len);
                self.len = self.synced_len;
                return Err(error);
            }
            self.dirty = false;
            self.synced_len = self.len;
        }
        if !self.entry_synced && self.len > 0 {
            disk.sync_dir()?;
            self.entry_synced = true;
        }
        Ok(())
    }
}

/// A sync of the segment prepared by [`Segment::detach_sync`], to run without the engine.
#[derive(Debug)]
pub(crate) struct SegmentSync {
    /// The segment it syncs.
    segment: u64,
    /// The segment's length when it was prepared: what the sync covers.
    len: u64,
    sync: DetachedSync,
}

impl SegmentSync {
    /// Runs the file sync (on any thread, without the engine).
    pub(crate) fn run(&self) -> Result<(), EngineError> {
        self.sync.run()
    }
}

impl Segment {
    /// The first half of a sync that runs without the engine's lock (see
    /// [`crate::group_commit`]): hands every buffered record to the file system and prepares
    /// a sync covering the segment's current length. `None` when nothing is pending. Records
    /// appended after this are not covered (the sync may make them durable, but says nothing
    /// of them).
    pub(crate) fn detach_sync(&mut self, disk: &mut Disk) -> Result<Option<SegmentSync>, EngineError> {
        if !self.dirty {
            return Ok(None);
        }
        let prepared = self.write_buffer(disk).and_then(|()| disk.detach_sync(&self.file, &self.name));
        match prepared {
            Ok(sync) => Ok(Some(SegmentSync { segment: self.id, len: self.len, sync })),
            Err(error) => Err(self.cut_back(disk, error)),
        }
    }

    /// The second half: records what the sync covered (`outcome` is what
    /// [`SegmentSync::run`] returned) and syncs the directory on the segment's first sync,
    /// as [`Segment::sync`] does.
    ///
    /// If the engine moved to a new segment meanwhile (a flush), the records the sync covered
    /// are durable anyway: the flush synced them into an SSTable, and synced the old segment
    /// before deleting it ([`Disk::remove`]). A failure still fails the call (the caller
    /// poisons the engine: a failed sync is never retried), but only a failure of the current
    /// segment cuts it back.
    pub(crate) fn finish_detached_sync(
        &mut self,
        disk: &mut Disk,
        sync: SegmentSync,
        outcome: Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        if sync.segment != self.id {
            return outcome.map(|()| disk.count_detached_sync());
        }
        if let Err(error) = outcome {
            return Err(self.cut_back(disk, error));
        }
        disk.count_detached_sync();
        self.synced_len = self.synced_len.max(sync.len);
        self.dirty = self.len > self.synced_len;
        if !self.entry_synced && self.synced_len > 0 {
            disk.sync_dir()?;
            self.entry_synced = true;
        }
        Ok(())
    }

    /// After a failed sync: cuts the segment back to what the last successful sync covered
    /// (best effort, see [`Segment::sync`]) and forgets the records after it.
    fn cut_back(&mut self, disk: &mut Disk, error: EngineError) -> EngineError {
        let _ = disk.set_len(&self.file, &self.name, self.synced_len);
        self.len = self.synced_len;
        self.buffer.clear();
        self.dirty = false;
        error
    }
}

/// What replaying one segment found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay {
    /// The records, in log order.
    pub records: Vec<(String, Cell)>,
    /// Bytes of intact records (where replay stopped).
    pub valid_len: u64,
    /// Why replay stopped before the end of the data, if it did.
    pub torn: Option<Corruption>,
}

/// Replays a segment's bytes: every intact record up to the first damaged one.
pub fn replay(bytes: &[u8]) -> Replay {
    let mut records = Vec::new();
    let mut offset = 0;
    let mut torn = None;
    while offset < bytes.len() {
        let decoded = read_frame(bytes, offset).and_then(|(payload, end)| Ok((decode_cell(payload)?, end)));
        match decoded {
            Ok((record, end)) => {
                records.push(record);
                offset = end;
            }
            Err(corruption) => {
                torn = Some(corruption);
                break;
            }
        }
    }
    Replay { records, valid_len: offset as u64, torn }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::Version;
    use crate::codec::{encode_cell, frame};
    use history::Value;

    fn record(key: &str, ts: u64) -> (Vec<u8>, (String, Cell)) {
        let cell = Cell::new(Value::Int(ts as i64), Version::new(ts, 0));
        let payload = encode_cell(key, &cell).unwrap_or_default();
        (frame(&payload), (key.to_owned(), cell))
    }

    #[test]
    fn replay_reads_every_intact_record() {
        let (a, ra) = record("a", 1);
        let (b, rb) = record("b", 2);
        let log = [a.clone(), b].concat();
        let replayed = replay(&log);
        assert_eq!(replayed.records, vec![ra.clone(), rb]);
        assert_eq!(replayed.valid_len, log.len() as u64);
        assert_eq!(replayed.torn, None);
        assert_eq!(replay(&[]).records, vec![]);
    }

    #[test]
    fn replay_stops_at_a_torn_or_corrupt_tail() {
        let (a, ra) = record("a", 1);
        let (b, _) = record("b", 2);
        for cut in 1..b.len() {
            let log = [a.clone(), b[..cut].to_vec()].concat();
            let replayed = replay(&log);
            assert_eq!(replayed.records, vec![ra.clone()], "cut {cut}");
            assert_eq!(replayed.valid_len, a.len() as u64);
            assert!(replayed.torn.is_some());
        }
        let mut flipped = [a.clone(), b.clone(), a.clone()].concat();
        let last_of_b = a.len() + b.len() - 1;
        flipped[last_of_b] ^= 1;
        let replayed = replay(&flipped);
        assert_eq!(replayed.records, vec![ra.clone()]);
        assert!(matches!(replayed.torn, Some(Corruption::ChecksumMismatch { .. })));
        let zeros = [a.clone(), vec![0; 20]].concat();
        assert_eq!(replay(&zeros).records, vec![ra]);
    }

    #[test]
    fn names_round_trip() {
        assert_eq!(segment_name(42), "00000000000000000042.log");
        assert_eq!(parse_segment_name(&segment_name(42)), Some(42));
        assert_eq!(parse_segment_name("42.sst"), None);
        assert_eq!(parse_segment_name(".log"), None);
        assert_eq!(parse_segment_name("-1.log"), None);
    }

    #[test]
    fn sync_modes() {
        assert!(CommitLogSync::Batch.ack_waits_for_sync());
        assert!(CommitLogSync::Group(Duration::from_millis(5)).ack_waits_for_sync());
        assert!(!CommitLogSync::Periodic(Duration::from_secs(10)).ack_waits_for_sync());
        assert_eq!(CommitLogSync::Batch.sync_interval(), None);
        assert_eq!(CommitLogSync::Group(Duration::from_millis(5)).sync_interval(), Some(Duration::from_millis(5)));
    }
}
