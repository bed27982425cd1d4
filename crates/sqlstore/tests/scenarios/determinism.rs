//! Same seed, same run.

use sqlstore::{JournalMode, StoreConfig, Synchronous};

use super::common::{crash_run, CrashPlan};

#[test]
fn same_seed_same_observations() -> turmoil::Result {
    for journal_mode in [JournalMode::Delete, JournalMode::Wal] {
        let config = StoreConfig { journal_mode, synchronous: Synchronous::Full, seed: 11, ..StoreConfig::default() };
        let first = crash_run(config.clone(), 5, CrashPlan::for_seed(5))?;
        let second = crash_run(config, 5, CrashPlan::for_seed(5))?;
        assert!(first.observations.len() > 100);
        assert_eq!(first, second, "{journal_mode:?}");
    }
    Ok(())
}

#[test]
fn same_seed_same_observations_with_four_connections() -> turmoil::Result {
    for journal_mode in [JournalMode::Delete, JournalMode::Wal] {
        let config = StoreConfig {
            journal_mode,
            synchronous: Synchronous::Full,
            connections: 4,
            seed: 11,
            ..StoreConfig::default()
        };
        let first = crash_run(config.clone(), 5, CrashPlan::for_seed(5))?;
        let second = crash_run(config, 5, CrashPlan::for_seed(5))?;
        assert!(first.observations.len() > 100, "{journal_mode:?}");
        assert_eq!(first, second, "{journal_mode:?}");
    }
    Ok(())
}
