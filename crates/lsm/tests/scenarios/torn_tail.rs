//! Torn and corrupt commit-log tails: opening succeeds and recovers the intact prefix.

use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use lsm::{Corruption, Engine};
use turmoil::fs::shim::std::fs as simfs;

use super::common::{builder, cell, config, contents, in_host, random_script, run_script, Fault, TestResult, DIR};

/// The paths of the directory's files ending in `suffix`, sorted.
fn files(suffix: &str) -> TestResult<Vec<PathBuf>> {
    let mut paths: Vec<PathBuf> = simfs::read_dir(DIR)?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path())
        .filter(|path| path.to_string_lossy().ends_with(suffix))
        .collect();
    paths.sort();
    Ok(paths)
}

/// The only non-empty commit-log segment.
fn the_segment() -> TestResult<PathBuf> {
    let mut found = Vec::new();
    for path in files(".log")? {
        if simfs::metadata(&path)?.len() > 0 {
            found.push(path);
        }
    }
    match found.as_slice() {
        [one] => Ok(one.clone()),
        other => Err(format!("expected one non-empty segment, found {other:?}").into()),
    }
}

/// Writes k0..k4 (k_i := i at timestamp i + 1), syncs, closes; then damages the segment with
/// `damage` (given the file and its length) and syncs the damage.
fn five_records_then(damage: impl Fn(&simfs::File, u64) -> std::io::Result<()>) -> TestResult<Engine> {
    let mut engine = super::common::open(config(1 << 20, 4))?;
    for i in 0..5u32 {
        engine.write(&format!("k{i}"), cell(i64::from(i), u64::from(i) + 1, 0))?;
    }
    engine.sync()?;
    drop(engine);
    let path = the_segment()?;
    let file = simfs::OpenOptions::new().read(true).write(true).open(&path)?;
    let len = file.metadata()?.len();
    damage(&file, len)?;
    file.sync_all()?;
    Ok(super::common::open(config(1 << 20, 4))?)
}

fn assert_first_four(engine: &Engine) -> TestResult {
    for i in 0..4u32 {
        assert_eq!(engine.get(&format!("k{i}"))?, Some(cell(i64::from(i), u64::from(i) + 1, 0)));
    }
    assert_eq!(engine.get("k4")?, None);
    Ok(())
}

#[test]
fn corrupt_last_record_ends_replay() -> TestResult {
    in_host(1, || {
        let engine = five_records_then(|file, len| {
            let mut byte = [0u8];
            file.read_at(&mut byte, len - 1)?;
            file.write_all_at(&[byte[0] ^ 0x55], len - 1)
        })?;
        let report = engine.recovery();
        assert_eq!(report.records_replayed, 4);
        assert_eq!(report.torn_tails.len(), 1);
        assert!(matches!(report.torn_tails[0].reason, Corruption::ChecksumMismatch { .. }), "{report:?}");
        assert_first_four(&engine)
    })
}

#[test]
fn truncated_last_record_ends_replay() -> TestResult {
    in_host(2, || {
        let engine = five_records_then(|file, len| file.set_len(len - 3))?;
        let report = engine.recovery();
        assert_eq!(report.records_replayed, 4);
        assert!(matches!(report.torn_tails[0].reason, Corruption::Truncated { .. }), "{report:?}");
        assert_first_four(&engine)
    })
}

#[test]
fn garbage_after_the_last_record_is_ignored() -> TestResult {
    in_host(3, || {
        let engine = five_records_then(|file, len| file.write_all_at(&[0xAB; 13], len))?;
        let report = engine.recovery();
        assert_eq!(report.records_replayed, 5);
        assert_eq!(report.torn_tails.len(), 1);
        assert_eq!(report.torn_tails[0].file_len, report.torn_tails[0].valid_len + 13);
        assert_eq!(engine.get("k4")?, Some(cell(4, 5, 0)));
        Ok(())
    })
}

#[test]
fn writes_after_a_torn_tail_survive_later_restarts() -> TestResult {
    in_host(4, || {
        let mut engine = five_records_then(|file, len| file.set_len(len - 1))?;
        engine.write("k5", cell(5, 6, 0))?;
        engine.sync()?;
        drop(engine);
        // The damaged segment is still live (no flush yet): replay stops inside it and
        // continues with the next one.
        let mut engine = super::common::open(config(1 << 20, 4))?;
        assert_eq!(engine.recovery().records_replayed, 5);
        assert_eq!(engine.recovery().torn_tails.len(), 1);
        assert_first_four(&engine)?;
        assert_eq!(engine.get("k5")?, Some(cell(5, 6, 0)));
        // A flush retires the damaged segment.
        engine.flush()?;
        drop(engine);
        let engine = super::common::open(config(1 << 20, 4))?;
        assert!(engine.recovery().torn_tails.is_empty());
        assert_eq!(contents(&engine)?.len(), 5);
        Ok(())
    })
}

/// With `FsConfig::block_size`, a crash applies a random number of blocks of each pending
/// write: records are torn for real. What survives must be the synced writes plus a prefix of
/// the unsynced ones, in order.
#[test]
fn torn_writes_on_crash_recover_a_prefix() -> TestResult {
    let (mut torn, mut partial) = (0, 0);
    for seed in 0..12 {
        let mut builder = builder(seed);
        builder.fs().block_size(16);
        let script = random_script(seed, 80, 6, 12, 8);
        let faults = [(25, Fault::Crash), (50 + seed as usize, Fault::Crash), (80, Fault::Crash)];
        let state = run_script(builder.build(), config(1 << 20, 4), script, &faults)?;
        for start in state.starts.iter().filter(|s| s.after_crash) {
            let survived = start.surviving_prefix();
            assert!(survived.is_some(), "seed {seed}: not a prefix: {start:?}");
            torn += start.report.torn_tails.len();
            if survived.is_some_and(|n| n > 0 && n < start.unsynced.len()) {
                partial += 1;
            }
        }
        assert_eq!(state.final_check, Some(Ok(())), "seed {seed}");
    }
    assert!(torn > 0, "no torn record was ever replayed: the test proves nothing");
    assert!(partial > 0, "no crash kept part of the unsynced writes: the test proves nothing");
    Ok(())
}
