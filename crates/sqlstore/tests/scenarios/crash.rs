//! Crash durability: what an acknowledgement is worth after `Sim::crash` and a restart.

use std::time::Duration;

use sqlstore::{JournalMode, StoreConfig, Synchronous};

use super::common::{assert_integrity_ok, crash_run, CrashPlan};

const SEEDS: [u64; 4] = [1, 2, 3, 4];

fn config(journal_mode: JournalMode, synchronous: Synchronous, writeback: Option<Duration>) -> StoreConfig {
    StoreConfig { journal_mode, synchronous, writeback, seed: 7, ..StoreConfig::default() }
}

fn full_keeps_every_acknowledged_write(journal_mode: JournalMode) -> turmoil::Result {
    for seed in SEEDS {
        let run = crash_run(config(journal_mode, Synchronous::Full, None), seed, CrashPlan::for_seed(seed))?;
        let what = format!("{journal_mode:?} FULL, seed {seed}");
        assert!(run.lost.is_empty(), "{what}: lost acknowledged writes {:?}", run.lost);
        assert_integrity_ok(&run, &what);
        assert_eq!(run.integrity.len(), 2, "{what}: one start before the crash, one after");
        // The crash really struck mid-stream: writes were acknowledged on both sides of it,
        // and at least one call got no definite answer.
        let plan = CrashPlan::for_seed(seed);
        assert!(run.acked.iter().any(|&(_, at)| at < plan.crash_at), "{what}");
        assert!(run.acked.iter().any(|&(_, at)| at > plan.bounce_at), "{what}");
        assert!(!run.unknown.is_empty(), "{what}");
        assert!(run.acked.len() > 100, "{what}: only {} writes acknowledged", run.acked.len());
    }
    Ok(())
}

#[test]
fn full_delete_keeps_every_acknowledged_write() -> turmoil::Result {
    full_keeps_every_acknowledged_write(JournalMode::Delete)
}

/// The same with four connections (each request statement by statement on one of them): a
/// crash mid-transaction loses exactly what was not synced.
#[test]
fn full_delete_with_four_connections_keeps_every_acknowledged_write() -> turmoil::Result {
    four_connections_keep_every_acknowledged_write(JournalMode::Delete)?;
    // And what was not synced is lost, with several connections as with one.
    let mut losses = Vec::new();
    for seed in SEEDS {
        let config = StoreConfig { connections: 4, ..config(JournalMode::Delete, Synchronous::Off, None) };
        let run = crash_run(config, seed, CrashPlan::for_seed(seed))?;
        assert_integrity_ok(&run, &format!("DELETE OFF, 4 connections, seed {seed}"));
        losses.push(run.lost.len());
    }
    assert!(losses.iter().any(|&lost| lost > 0), "DELETE OFF, 4 connections: no loss observed {losses:?}");
    Ok(())
}

/// WAL with four connections: they share one wal-index (`sqlstore::vfs::shm`); a crash
/// zeroes it with the host's memory, and recovery rebuilds it from the log.
#[test]
fn full_wal_with_four_connections_keeps_every_acknowledged_write() -> turmoil::Result {
    four_connections_keep_every_acknowledged_write(JournalMode::Wal)
}

/// Four connections, `synchronous=FULL`, in journal mode `mode`: no acknowledged write lost
/// across the crash, the database intact before and after it.
fn four_connections_keep_every_acknowledged_write(mode: JournalMode) -> turmoil::Result {
    for seed in SEEDS {
        let config = StoreConfig { connections: 4, ..config(mode, Synchronous::Full, None) };
        let run = crash_run(config, seed, CrashPlan::for_seed(seed))?;
        let what = format!("{mode:?} FULL, 4 connections, seed {seed}");
        assert!(run.lost.is_empty(), "{what}: lost acknowledged writes {:?}", run.lost);
        assert_integrity_ok(&run, &what);
        assert_eq!(run.integrity.len(), 2, "{what}");
        assert!(!run.unknown.is_empty(), "{what}");
        assert!(run.acked.len() > 100, "{what}: only {} writes acknowledged", run.acked.len());
    }
    Ok(())
}

#[test]
fn full_wal_keeps_every_acknowledged_write() -> turmoil::Result {
    full_keeps_every_acknowledged_write(JournalMode::Wal)
}

/// Proves the VFS drops unsynced data: with `synchronous=OFF` and no write-back, nothing
/// SQLite wrote reaches the disk, so the crash loses acknowledged writes.
#[test]
fn sync_off_without_writeback_loses_acknowledged_writes() -> turmoil::Result {
    for journal_mode in [JournalMode::Delete, JournalMode::Wal] {
        let mut losses = Vec::new();
        for seed in SEEDS {
            let run = crash_run(config(journal_mode, Synchronous::Off, None), seed, CrashPlan::for_seed(seed))?;
            assert_integrity_ok(&run, &format!("{journal_mode:?} OFF, seed {seed}"));
            losses.push(run.lost.len());
        }
        assert!(losses.iter().any(|&lost| lost > 0), "{journal_mode:?} OFF: no loss observed {losses:?}");
    }
    Ok(())
}

/// With kernel write-back every 100 ms and `synchronous=OFF`, a crash loses at most the
/// writes of the last write-back interval or two.
#[test]
fn writeback_bounds_the_loss_with_sync_off() -> turmoil::Result {
    let period = Duration::from_millis(100);
    for journal_mode in [JournalMode::Delete, JournalMode::Wal] {
        let mut lost_recent = 0;
        for seed in SEEDS {
            let plan = CrashPlan::for_seed(seed);
            let run = crash_run(config(journal_mode, Synchronous::Off, Some(period)), seed, plan)?;
            let what = format!("{journal_mode:?} OFF + write-back, seed {seed}");
            assert_integrity_ok(&run, &what);
            let horizon = plan.crash_at - 2 * period;
            let old: Vec<_> = run.lost.iter().filter(|&&(_, at)| at < horizon).collect();
            assert!(old.is_empty(), "{what}: lost writes acknowledged before {horizon:?}: {old:?}");
            lost_recent += run.lost.len();
        }
        assert!(lost_recent > 0, "{journal_mode:?}: write-back should not make OFF durable");
    }
    Ok(())
}

/// WAL + NORMAL does not sync at commit, so a crash (unlike a clean close, which checkpoints
/// and syncs) must lose acknowledged writes. Fails if the store's drop closes the connection.
#[test]
fn wal_normal_crash_is_not_a_clean_close() -> turmoil::Result {
    let mut losses = Vec::new();
    for seed in SEEDS {
        let run = crash_run(config(JournalMode::Wal, Synchronous::Normal, None), seed, CrashPlan::for_seed(seed))?;
        assert_integrity_ok(&run, &format!("WAL NORMAL, seed {seed}"));
        losses.push(run.lost.len());
    }
    assert!(losses.iter().any(|&lost| lost > 0), "WAL NORMAL: no loss observed {losses:?}");
    Ok(())
}
