//! Unit tests of [`LogStore`] on the real file system in a temp directory.

use std::path::{Path, PathBuf};

use lsm::{FileSystem, RealFs};
use raft::eraftpb::{Entry, HardState};
use raft::{GetEntriesContext, Storage};

use super::{LogError, LogStore, STATE_FILE, TAIL_FILE};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("raftsql-log-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn open(dir: &Path) -> Result<LogStore, LogError> {
    LogStore::open(Box::new(RealFs::default()), dir)
}

fn entry(index: u64, term: u64, data: &str) -> Entry {
    Entry { index, term, data: data.as_bytes().to_vec().into(), ..Entry::default() }
}

fn all(store: &LogStore) -> Vec<(u64, u64, Vec<u8>)> {
    let last = store.last_index().expect("last index");
    store
        .entries(1, last + 1, None, GetEntriesContext::empty(false))
        .expect("entries")
        .into_iter()
        .map(|e| (e.index, e.term, e.data.to_vec()))
        .collect()
}

#[test]
fn round_trip_after_sync() -> Result<(), LogError> {
    let dir = temp_dir("round-trip");
    let mut s = open(&dir)?;
    s.append(&[entry(1, 1, "a"), entry(2, 1, "b"), entry(3, 2, "c")])?;
    s.sync()?;
    let before = all(&s);
    drop(s);
    let s = open(&dir)?;
    assert_eq!(all(&s), before);
    assert_eq!(s.term(3).ok(), Some(2));
    assert_eq!(s.term(0).ok(), Some(0));
    assert!(s.term(4).is_err(), "term past the end is unavailable");
    assert_eq!(s.first_index().ok(), Some(1));
    assert_eq!(s.recovery().cut, None);
    Ok(())
}

#[test]
fn truncated_suffix_is_reported_and_stays_truncated() -> Result<(), LogError> {
    let dir = temp_dir("truncate");
    let mut s = open(&dir)?;
    s.append(&[entry(1, 1, "a"), entry(2, 1, "b"), entry(3, 1, "c")])?;
    s.append(&[entry(2, 2, "B")])?;
    let dropped = s.take_dropped();
    assert_eq!(dropped.iter().map(|d| (d.index, d.term)).collect::<Vec<_>>(), vec![(2, 1), (3, 1)]);
    assert_eq!(dropped[1].data, b"c");
    s.sync()?;
    drop(s);
    let s = open(&dir)?;
    assert_eq!(all(&s), vec![(1, 1, b"a".to_vec()), (2, 2, b"B".to_vec())]);
    assert_eq!(s.recovery().records, 4, "replay read all four records");
    Ok(())
}

#[test]
fn gap_is_an_error() -> Result<(), LogError> {
    let dir = temp_dir("gap");
    let mut s = open(&dir)?;
    assert!(matches!(s.append(&[entry(2, 1, "x")]), Err(LogError::Gap { index: 2, last_index: 0 })));
    Ok(())
}

/// Appends `n` one-byte entries, syncs, and returns the log file's bytes.
fn write_log(dir: &Path, n: u64) -> Result<Vec<u8>, LogError> {
    let mut s = open(dir)?;
    let entries: Vec<Entry> = (1..=n).map(|i| entry(i, 1, "xyz")).collect();
    s.append(&entries)?;
    s.sync()?;
    drop(s);
    Ok(std::fs::read(dir.join(TAIL_FILE)).expect("read log"))
}

#[test]
fn torn_last_record_is_cut() -> Result<(), LogError> {
    let dir = temp_dir("torn");
    let bytes = write_log(&dir, 3)?;
    std::fs::write(dir.join(TAIL_FILE), &bytes[..bytes.len() - 2]).expect("tear");
    let s = open(&dir)?;
    assert_eq!(s.last_index().ok(), Some(2));
    assert!(s.recovery().cut.is_some());
    drop(s);
    // The cut is durable: reopening finds a clean log.
    let s = open(&dir)?;
    assert_eq!(s.last_index().ok(), Some(2));
    assert_eq!(s.recovery().cut, None);
    Ok(())
}

#[test]
fn corrupt_checksum_stops_replay_there() -> Result<(), LogError> {
    let dir = temp_dir("corrupt");
    let mut bytes = write_log(&dir, 3)?;
    let record = bytes.len() / 3;
    bytes[record + 9] ^= 0xFF; // a body byte of the second record
    std::fs::write(dir.join(TAIL_FILE), &bytes).expect("corrupt");
    let s = open(&dir)?;
    assert_eq!(s.last_index().ok(), Some(1), "entries from the corrupt record on are gone");
    let (offset, reason) = s.recovery().cut.clone().expect("a cut");
    assert_eq!(offset, record as u64);
    assert!(reason.contains("checksum"), "{reason}");
    Ok(())
}

#[test]
fn garbage_state_file_is_a_typed_error() -> Result<(), LogError> {
    let dir = temp_dir("bad-state");
    let mut s = open(&dir)?;
    s.set_hard_state(HardState { term: 1, ..HardState::default() });
    s.sync()?;
    drop(s);
    std::fs::write(dir.join(STATE_FILE), b"\xff\xff\xff\xffjunk").expect("garble");
    assert!(matches!(open(&dir), Err(LogError::CorruptState { .. })));
    Ok(())
}

#[test]
fn hard_state_survives_reopen_only_after_sync() -> Result<(), LogError> {
    let dir = temp_dir("hard-state");
    let mut s = open(&dir)?;
    s.init_voters(&[3, 1, 2])?;
    s.append(&[entry(1, 5, "a")])?;
    let hs = HardState { term: 5, vote: 2, commit: 1, ..HardState::default() };
    s.set_hard_state(hs.clone());
    s.sync()?;
    s.set_hard_state(HardState { term: 6, vote: 3, commit: 1, ..HardState::default() });
    drop(s); // never synced: term 6 is not promised (on the real fs it is not written at all)
    let mut s = open(&dir)?;
    let state = s.initial_state().expect("state");
    assert_eq!(state.hard_state, hs);
    assert_eq!(state.conf_state.voters, vec![1, 2, 3]);
    assert!(matches!(s.init_voters(&[1, 2]), Err(LogError::VotersMismatch { .. })));
    assert!(RealFs::default().exists(&dir.join(STATE_FILE)));
    Ok(())
}

#[test]
fn checksummed_but_undecodable_record_is_an_error_naming_its_offset() -> Result<(), LogError> {
    let dir = temp_dir("undecodable");
    let mut bytes = write_log(&dir, 2)?;
    let at = bytes.len() as u64;
    bytes.extend_from_slice(&lsm::codec::frame(&[0xFF]));
    std::fs::write(dir.join(TAIL_FILE), &bytes).expect("append junk");
    match open(&dir) {
        Err(LogError::Undecodable { offset, path, .. }) => {
            assert_eq!(offset, at);
            assert!(path.ends_with("raft.log"), "offsets count through raft.log, then its tail");
        }
        other => panic!("expected Undecodable, got {other:?}"),
    }
    Ok(())
}
