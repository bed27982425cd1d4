//! Damage in synced files is a typed error (never a panic, never silently skipped), and the
//! engine refuses to run outside a simulation.

use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use lsm::{Corruption, EngineError};
use turmoil::fs::shim::std::fs as simfs;

use super::common::{cell, config, in_host, TestResult, DIR};

/// Writes k0..k9 and flushes them to one SSTable, closes, and returns its path.
fn one_sstable() -> TestResult<PathBuf> {
    let mut engine = super::common::open(config(1 << 20, 4))?;
    for i in 0..10u32 {
        engine.write(&format!("k{i}"), cell(i64::from(i), 1, 0))?;
    }
    engine.flush()?;
    drop(engine);
    let mut tables: Vec<PathBuf> = simfs::read_dir(DIR)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "sst"))
        .collect();
    tables.sort();
    match tables.as_slice() {
        [one] => Ok(one.clone()),
        other => Err(format!("expected one SSTable, found {other:?}").into()),
    }
}

fn flip(path: &PathBuf, offset: u64) -> TestResult {
    let file = simfs::OpenOptions::new().read(true).write(true).open(path)?;
    let mut byte = [0u8];
    file.read_at(&mut byte, offset)?;
    file.write_all_at(&[byte[0] ^ 0x20], offset)?;
    file.sync_all()?;
    Ok(())
}

#[test]
fn corrupt_sstable_entry_is_a_typed_error_on_read() -> TestResult {
    in_host(1, || {
        let path = one_sstable()?;
        // Inside k0's frame (the first after the 8-byte header): the index still checks out.
        flip(&path, 8 + 12)?;
        let engine = super::common::open(config(1 << 20, 4))?;
        let err = engine.get("k0").err().ok_or("reading a damaged entry succeeded")?;
        assert!(
            matches!(&err, EngineError::CorruptSstable { corruption: Corruption::ChecksumMismatch { .. }, .. }),
            "{err:?}"
        );
        assert!(matches!(engine.scan(), Err(EngineError::CorruptSstable { .. })));
        assert_eq!(engine.get("k5")?, Some(cell(5, 1, 0)), "undamaged entries still read");
        Ok(())
    })
}

#[test]
fn corrupt_sstable_index_or_footer_fails_open() -> TestResult {
    for from_end in [1u64, 20, 60] {
        in_host(2, move || {
            let path = one_sstable()?;
            let len = simfs::metadata(&path)?.len();
            flip(&path, len - from_end)?;
            let err = super::common::open(config(1 << 20, 4)).err().ok_or("opened a damaged SSTable")?;
            assert!(matches!(err, EngineError::CorruptSstable { .. }), "{from_end} from the end: {err:?}");
            Ok(())
        })?;
    }
    Ok(())
}

#[test]
fn truncated_sstable_fails_open() -> TestResult {
    in_host(3, || {
        let path = one_sstable()?;
        let file = simfs::OpenOptions::new().write(true).open(&path)?;
        let len = file.metadata()?.len();
        file.set_len(len / 2)?;
        file.sync_all()?;
        let err = super::common::open(config(1 << 20, 4)).err().ok_or("opened a truncated SSTable")?;
        assert!(matches!(err, EngineError::CorruptSstable { .. }), "{err:?}");
        Ok(())
    })
}

#[test]
fn missing_sstable_fails_open() -> TestResult {
    in_host(4, || {
        let path = one_sstable()?;
        simfs::remove_file(&path)?;
        simfs::sync_dir(DIR)?;
        let err = super::common::open(config(1 << 20, 4)).err().ok_or("opened without a live SSTable")?;
        assert!(matches!(err, EngineError::MissingSstable { .. }), "{err:?}");
        Ok(())
    })
}

#[test]
fn corrupt_manifest_fails_open() -> TestResult {
    in_host(5, || {
        one_sstable()?;
        let manifests: Vec<PathBuf> = simfs::read_dir(DIR)?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().contains("MANIFEST-"))
            .collect();
        assert_eq!(manifests.len(), 1, "{manifests:?}");
        flip(&manifests[0], 20)?;
        let err = super::common::open(config(1 << 20, 4)).err().ok_or("opened with a damaged manifest")?;
        assert!(matches!(err, EngineError::CorruptManifest { .. }), "{err:?}");
        Ok(())
    })
}

#[test]
fn outside_a_simulation_every_call_is_an_error() {
    let err = super::common::open(config(1 << 20, 4)).err();
    assert!(matches!(err, Some(EngineError::NotInSimulation)), "{err:?}");
}

#[test]
fn relative_directories_are_refused() -> TestResult {
    in_host(6, || {
        let mut relative = config(1 << 20, 4);
        relative.dir = "data/lsm".into();
        assert!(matches!(super::common::open(relative), Err(EngineError::InvalidConfig { .. })));
        Ok(())
    })
}

#[test]
fn a_failed_flush_poisons_writes_but_not_reads() -> TestResult {
    in_host(7, || {
        let mut engine = super::common::open(config(1 << 20, 4))?;
        engine.write("k", cell(1, 1, 0))?;
        engine.fail_disk_after(Some(2));
        assert!(matches!(engine.flush(), Err(EngineError::Io { .. })));
        engine.fail_disk_after(None);
        assert!(matches!(engine.write("k", cell(2, 2, 0)), Err(EngineError::Poisoned)));
        assert!(matches!(engine.sync(), Err(EngineError::Poisoned)));
        assert!(matches!(engine.compact(), Err(EngineError::Poisoned)));
        assert_eq!(engine.get("k")?, Some(cell(1, 1, 0)));
        drop(engine);
        let mut engine = super::common::open(config(1 << 20, 4))?;
        assert_eq!(engine.get("k")?, Some(cell(1, 1, 0)), "reopening recovers");
        engine.write("k", cell(2, 2, 0))?;
        Ok(())
    })
}
