//! [`LogStore`]: raft-rs's [`Storage`] over files in one directory of an [`lsm::FileSystem`].
//!
//! Layout of the directory:
//! - `raft.log`: Raft entries, each a record `len: u32 | crc32: u32 | protobuf(Entry)` (the
//!   framing of [`lsm::codec::frame`]), as recovered at the last open: written whole, synced,
//!   then renamed into place, so it is never torn.
//! - `raft.log.tail`: the records appended since that open (created fresh at each open:
//!   turmoil's simulated files cannot be written through a handle whose name was renamed, and
//!   existing files open read-only). Records are only appended. Raft's truncation of a
//!   conflicting suffix is a later record for an index already written: replay (of the log,
//!   then the tail) keeps the last record for each index and drops every entry after it, so a
//!   tail left behind by a crash during an open (its records already in the log) replays
//!   harmlessly. Offsets in recovery reports and errors count through `raft.log`, then its
//!   tail, as one stream.
//! - `raft.state`: one record holding the hard state (term, vote, commit) and the conf state,
//!   replaced atomically (write `raft.state.tmp`, sync it, rename, sync the directory).
//!
//! Durability: writes go to the files at once but nothing is promised before [`LogStore::sync`]
//! (the log file is synced, then the state file replaced). Recovery ([`LogStore::open`]) reads
//! what is on disk, stops at the first torn or corrupt record, and rewrites the log with the
//! good prefix only (the lab's file systems open existing files read-only, and the rewrite is
//! also what truncates the bad tail). Bad bytes are a typed [`LogError`], never a panic.
//!
//! The whole log is also kept in memory for `entries/term/first_index/last_index`; phase 1 has
//! no compaction, so the first index is always 1.

use std::path::{Path, PathBuf};

use lsm::codec::{frame, put_u32, read_frame};
use lsm::{Corruption, FileSystem, FsFile};
use protobuf::Message as _;
use raft::eraftpb::{ConfState, Entry, HardState, Snapshot};
use raft::{GetEntriesContext, RaftState, Storage, StorageError};

const LOG_FILE: &str = "raft.log";
const LOG_TMP: &str = "raft.log.tmp";
const TAIL_FILE: &str = "raft.log.tail";
const STATE_FILE: &str = "raft.state";
const STATE_TMP: &str = "raft.state.tmp";

/// A log or state file could not be read, written or trusted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The file system failed.
    #[error("{path}: i/o: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The failure.
        #[source]
        source: std::io::Error,
    },
    /// The state file is damaged (it is replaced atomically, so this is not a torn write).
    #[error("{path}: corrupt state record: {source}")]
    CorruptState {
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: Corruption,
    },
    /// A record's checksum matched but its protobuf body did not decode.
    #[error("{path}: undecodable record at offset {offset}: {reason}")]
    Undecodable {
        /// The file.
        path: PathBuf,
        /// Where the record starts.
        offset: u64,
        /// The decoder's message.
        reason: String,
    },
    /// The files disagree: the hard state commits past the last entry on disk.
    #[error("{path}: hard state commits index {commit} but the log ends at {last_index}")]
    CommitBeyondLog {
        /// The state file.
        path: PathBuf,
        /// The commit index read.
        commit: u64,
        /// The last index recovered.
        last_index: u64,
    },
    /// Entries handed to [`LogStore::append`] leave a gap or are not consecutive.
    #[error("append of index {index} after last index {last_index} would leave a gap")]
    Gap {
        /// The first offending index.
        index: u64,
        /// The log's last index.
        last_index: u64,
    },
    /// The voter set given does not match the one stored.
    #[error("stored voters {stored:?} differ from the voters given {given:?}")]
    VotersMismatch {
        /// The voters on disk.
        stored: Vec<u64>,
        /// The voters the caller asked for.
        given: Vec<u64>,
    },
    /// An earlier write or sync failed; the store's files no longer match its memory.
    #[error("the store failed earlier and must be reopened from its directory")]
    Failed,
}

/// An entry that a new leader overwrote: appended here once, then replaced by a different
/// term at the same index (so it was never committed).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DroppedEntry {
    /// The entry's index.
    pub index: u64,
    /// The term it was written in.
    pub term: u64,
    /// Its payload.
    pub data: Vec<u8>,
}

/// What [`LogStore::open`] found on disk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Records replayed (including ones later superseded).
    pub records: u64,
    /// Entries in the recovered log.
    pub last_index: u64,
    /// Where the log's bad tail started and why it was cut, if it had one.
    pub cut: Option<(u64, String)>,
    /// Bytes removed from the log file (the bad tail and superseded records).
    pub bytes_dropped: u64,
}

/// raft-rs's [`Storage`] on files; see the module docs.
#[derive(Debug)]
pub struct LogStore {
    fs: Box<dyn FileSystem>,
    dir: PathBuf,
    log: Box<dyn FsFile>,
    log_len: u64,
    /// `entries[i]` has index `i + 1`.
    entries: Vec<Entry>,
    hard_state: HardState,
    conf_state: ConfState,
    log_dirty: bool,
    state_dirty: bool,
    failed: bool,
    dropped: Vec<DroppedEntry>,
    recovery: Recovery,
    /// Disk work since the last [`LogStore::take_work`]: bytes written, and syncs counted as
    /// one per [`LogStore::sync`] that had something to make durable (etcd writes its hard
    /// state into the same WAL and syncs once; this store keeps it in its own file, whose
    /// extra syncs are not charged).
    work: base::disk_cost::DiskWork,
}

impl LogStore {
    /// Opens (creating if needed) the store in `dir`, whose parent must exist, and recovers
    /// it: see the module docs. A fresh store has no voters; see [`LogStore::init_voters`].
    pub fn open(fs: Box<dyn FileSystem>, dir: &Path) -> Result<LogStore, LogError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| LogError::Io { path, source }
        };
        if !fs.exists(dir) {
            fs.create_dir(dir).map_err(io(dir))?;
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs.sync_dir(parent).map_err(io(parent))?;
            }
        }
        let state_path = dir.join(STATE_FILE);
        let (hard_state, conf_state) = if fs.exists(&state_path) {
            let bytes = read_all(fs.as_ref(), &state_path)?;
            decode_state(&bytes, &state_path)?
        } else {
            (HardState::default(), ConfState::default())
        };
        let log_path = dir.join(LOG_FILE);
        let tail_path = dir.join(TAIL_FILE);
        let mut bytes = if fs.exists(&log_path) { read_all(fs.as_ref(), &log_path)? } else { Vec::new() };
        if fs.exists(&tail_path) {
            bytes.extend(read_all(fs.as_ref(), &tail_path)?);
        }
        let (entries, mut recovery) = replay(&bytes, &log_path)?;
        let last_index = entries.len() as u64;
        if hard_state.commit > last_index {
            return Err(LogError::CommitBeyondLog { path: state_path, commit: hard_state.commit, last_index });
        }
        // Rewrite the good prefix into a fresh file and swap it in (it cuts the bad tail), then
        // start an empty tail for appends (see the module docs).
        let tmp = dir.join(LOG_TMP);
        if fs.exists(&tmp) {
            fs.remove_file(&tmp).map_err(io(&tmp))?;
        }
        let rewritten = fs.create_new(&tmp).map_err(io(&tmp))?;
        let mut buf = Vec::new();
        for e in &entries {
            buf.extend_from_slice(&encode_record(e)?);
        }
        rewritten.write_all_at(&buf, 0).map_err(io(&tmp))?;
        rewritten.sync().map_err(io(&tmp))?;
        drop(rewritten);
        fs.rename(&tmp, &log_path).map_err(io(&log_path))?;
        fs.sync_dir(dir).map_err(io(dir))?;
        if fs.exists(&tail_path) {
            fs.remove_file(&tail_path).map_err(io(&tail_path))?;
        }
        let log = fs.create_new(&tail_path).map_err(io(&tail_path))?;
        fs.sync_dir(dir).map_err(io(dir))?;
        recovery.bytes_dropped = (bytes.len() as u64).saturating_sub(buf.len() as u64);
        Ok(LogStore {
            fs,
            dir: dir.to_path_buf(),
            log,
            log_len: 0,
            entries,
            hard_state,
            conf_state,
            log_dirty: false,
            state_dirty: false,
            failed: false,
            dropped: Vec::new(),
            recovery,
            work: base::disk_cost::DiskWork::default(),
        })
    }

    /// What recovery found when this store was opened.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// Sets the voter set of a fresh store and makes it durable; on a store that has one,
    /// checks it is the same set (membership changes are not in phase 1).
    pub fn init_voters(&mut self, voters: &[u64]) -> Result<(), LogError> {
        let mut given = voters.to_vec();
        given.sort_unstable();
        given.dedup();
        let mut stored = self.conf_state.voters.clone();
        stored.sort_unstable();
        if stored.is_empty() {
            self.conf_state.voters = given;
            self.state_dirty = true;
            return self.sync();
        }
        if stored != given {
            return Err(LogError::VotersMismatch { stored, given });
        }
        Ok(())
    }

    /// Appends `entries` (consecutive indexes), replacing any suffix from the first one's index
    /// on; replaced entries are remembered for [`LogStore::take_dropped`]. Not durable before
    /// [`LogStore::sync`].
    pub fn append(&mut self, entries: &[Entry]) -> Result<(), LogError> {
        self.check()?;
        let Some(first) = entries.first() else { return Ok(()) };
        let last_index = self.last();
        if first.index == 0 || first.index > last_index + 1 {
            return Err(LogError::Gap { index: first.index, last_index });
        }
        if let Some(bad) = entries.windows(2).find(|w| w[1].index != w[0].index + 1) {
            return Err(LogError::Gap { index: bad[1].index, last_index: bad[0].index });
        }
        let mut buf = Vec::new();
        for e in entries {
            buf.extend_from_slice(&encode_record(e)?);
        }
        let keep = usize::try_from(first.index - 1).unwrap_or(usize::MAX);
        for old in self.entries.drain(keep..) {
            self.dropped.push(DroppedEntry { index: old.index, term: old.term, data: old.data.to_vec() });
        }
        self.entries.extend_from_slice(entries);
        let path = self.dir.join(TAIL_FILE);
        if let Err(source) = self.log.write_all_at(&buf, self.log_len) {
            self.failed = true;
            return Err(LogError::Io { path, source });
        }
        self.log_len += buf.len() as u64;
        self.log_dirty = true;
        self.work.bytes_written = self.work.bytes_written.saturating_add(buf.len() as u64);
        Ok(())
    }

    /// Replaces the hard state (durable at the next [`LogStore::sync`]).
    pub fn set_hard_state(&mut self, hs: HardState) {
        if hs != self.hard_state {
            self.hard_state = hs;
            self.state_dirty = true;
        }
    }

    /// Sets the commit index (durable at the next [`LogStore::sync`]).
    pub fn set_commit(&mut self, commit: u64) {
        if commit != self.hard_state.commit {
            self.hard_state.commit = commit;
            self.state_dirty = true;
        }
    }

    /// The hard state as last set.
    pub fn hard_state(&self) -> &HardState {
        &self.hard_state
    }

    /// Makes every append and state change so far durable: syncs the log, then replaces the
    /// state file. A failure leaves the store unusable ([`LogError::Failed`] afterwards).
    pub fn sync(&mut self) -> Result<(), LogError> {
        self.check()?;
        let result = self.sync_inner();
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn sync_inner(&mut self) -> Result<(), LogError> {
        if self.log_dirty || self.state_dirty {
            self.work.syncs = self.work.syncs.saturating_add(1);
        }
        if self.log_dirty {
            let path = self.dir.join(TAIL_FILE);
            self.log.sync().map_err(|source| LogError::Io { path, source })?;
            self.log_dirty = false;
        }
        if self.state_dirty {
            let tmp = self.dir.join(STATE_TMP);
            let path = self.dir.join(STATE_FILE);
            let io = |p: &Path| {
                let path = p.to_path_buf();
                move |source| LogError::Io { path, source }
            };
            if self.fs.exists(&tmp) {
                self.fs.remove_file(&tmp).map_err(io(&tmp))?;
            }
            let bytes = encode_state(&self.hard_state, &self.conf_state, &path)?;
            let file = self.fs.create_new(&tmp).map_err(io(&tmp))?;
            file.write_all_at(&bytes, 0).map_err(io(&tmp))?;
            file.sync().map_err(io(&tmp))?;
            self.fs.rename(&tmp, &path).map_err(io(&path))?;
            self.fs.sync_dir(&self.dir).map_err(io(&self.dir))?;
            self.state_dirty = false;
        }
        Ok(())
    }

    /// The disk work since the last call (see the field's docs), for the caller's cost model.
    pub fn take_work(&mut self) -> base::disk_cost::DiskWork {
        std::mem::take(&mut self.work)
    }

    /// The entries with indexes `low..=high` (fewer when the log is shorter), in order.
    pub fn entries_between(&self, low: u64, high: u64) -> &[Entry] {
        let len = self.entries.len() as u64;
        let (low, high) = (low.max(1), high.min(len));
        if low > high {
            return &[];
        }
        &self.entries[(low - 1) as usize..high as usize]
    }

    /// Entries overwritten by later appends since the last call, in the order dropped.
    pub fn take_dropped(&mut self) -> Vec<DroppedEntry> {
        std::mem::take(&mut self.dropped)
    }

    fn check(&self) -> Result<(), LogError> {
        if self.failed {
            return Err(LogError::Failed);
        }
        Ok(())
    }

    fn last(&self) -> u64 {
        self.entries.len() as u64
    }
}

fn read_all(fs: &dyn FileSystem, path: &Path) -> Result<Vec<u8>, LogError> {
    let io = |source| LogError::Io { path: path.to_path_buf(), source };
    let file = fs.open(path).map_err(io)?;
    let len = usize::try_from(file.size().map_err(io)?).unwrap_or(usize::MAX);
    let mut buf = vec![0u8; len];
    let mut at = 0;
    while at < len {
        let n = file.read_at(&mut buf[at..], at as u64).map_err(io)?;
        if n == 0 {
            break;
        }
        at += n;
    }
    buf.truncate(at);
    Ok(buf)
}

fn encode_record(e: &Entry) -> Result<Vec<u8>, LogError> {
    let body = e.write_to_bytes().map_err(|err| LogError::Undecodable {
        path: PathBuf::from(LOG_FILE),
        offset: 0,
        reason: format!("cannot encode entry {}: {err}", e.index),
    })?;
    Ok(frame(&body))
}

/// Replays log records: the last record for an index wins and drops all later entries. Stops
/// at the first record that is torn, fails its checksum, or does not follow the log.
fn replay(bytes: &[u8], path: &Path) -> Result<(Vec<Entry>, Recovery), LogError> {
    let mut entries: Vec<Entry> = Vec::new();
    let mut recovery = Recovery::default();
    let mut offset = 0usize;
    while offset < bytes.len() {
        let (body, next) = match read_frame(bytes, offset) {
            Ok(ok) => ok,
            Err(c) => {
                recovery.cut = Some((offset as u64, c.to_string()));
                break;
            }
        };
        let entry = match Entry::parse_from_bytes(body) {
            Ok(e) => e,
            Err(err) => {
                return Err(LogError::Undecodable {
                    path: path.to_path_buf(),
                    offset: offset as u64,
                    reason: err.to_string(),
                })
            }
        };
        let last = entries.len() as u64;
        if entry.index == 0 || entry.index > last + 1 {
            recovery.cut = Some((offset as u64, format!("index {} after last index {last}", entry.index)));
            break;
        }
        entries.truncate(usize::try_from(entry.index - 1).unwrap_or(usize::MAX));
        entries.push(entry);
        recovery.records += 1;
        offset = next;
    }
    recovery.last_index = entries.len() as u64;
    Ok((entries, recovery))
}

fn encode_state(hs: &HardState, cs: &ConfState, path: &Path) -> Result<Vec<u8>, LogError> {
    let err = |err: protobuf::ProtobufError| LogError::Undecodable {
        path: path.to_path_buf(),
        offset: 0,
        reason: format!("cannot encode state: {err}"),
    };
    let hs = hs.write_to_bytes().map_err(err)?;
    let cs = cs.write_to_bytes().map_err(err)?;
    let mut body = Vec::with_capacity(4 + hs.len() + cs.len());
    put_u32(&mut body, u32::try_from(hs.len()).unwrap_or(u32::MAX));
    body.extend_from_slice(&hs);
    body.extend_from_slice(&cs);
    Ok(frame(&body))
}

fn decode_state(bytes: &[u8], path: &Path) -> Result<(HardState, ConfState), LogError> {
    let corrupt = |source| LogError::CorruptState { path: path.to_path_buf(), source };
    let (body, end) = read_frame(bytes, 0).map_err(corrupt)?;
    if end != bytes.len() {
        return Err(corrupt(Corruption::Malformed("bytes after the state record")));
    }
    let undecodable = |err: protobuf::ProtobufError| LogError::Undecodable {
        path: path.to_path_buf(),
        offset: 0,
        reason: err.to_string(),
    };
    let short = || corrupt(Corruption::Malformed("state record shorter than its hard state"));
    let len_bytes: [u8; 4] = body.get(..4).and_then(|b| b.try_into().ok()).ok_or_else(short)?;
    let hs_len = usize::try_from(u32::from_le_bytes(len_bytes)).unwrap_or(usize::MAX);
    let hs_bytes = body.get(4..4usize.saturating_add(hs_len)).ok_or_else(short)?;
    let hs = HardState::parse_from_bytes(hs_bytes).map_err(undecodable)?;
    let cs = ConfState::parse_from_bytes(&body[4 + hs_len..]).map_err(undecodable)?;
    Ok((hs, cs))
}

fn unavailable() -> raft::Error {
    raft::Error::Store(StorageError::Unavailable)
}

impl Storage for LogStore {
    fn initial_state(&self) -> raft::Result<RaftState> {
        Ok(RaftState::new(self.hard_state.clone(), self.conf_state.clone()))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        if low == 0 || low > high || high > self.last() + 1 {
            return Err(unavailable());
        }
        let lo = usize::try_from(low - 1).map_err(|_| unavailable())?;
        let hi = usize::try_from(high - 1).map_err(|_| unavailable())?;
        let mut out = self.entries[lo..hi].to_vec();
        raft::util::limit_size(&mut out, max_size.into());
        Ok(out)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        if idx == 0 {
            return Ok(0);
        }
        let i = usize::try_from(idx - 1).map_err(|_| unavailable())?;
        self.entries.get(i).map(|e| e.term).ok_or_else(unavailable)
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(1)
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.last())
    }

    fn snapshot(&self, _request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        // No compaction in phase 1: every entry since index 1 is in the log, so raft-rs never
        // needs a snapshot to catch a follower up.
        Err(raft::Error::Store(StorageError::SnapshotTemporarilyUnavailable))
    }
}

#[cfg(test)]
mod tests;
