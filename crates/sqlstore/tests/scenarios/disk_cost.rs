//! Durable commits cost simulated time; the one connection serialises them.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use history::Value;
use sim::{Operation, Reply};
use sqlstore::{DiskCost, JournalMode, SqlClient, StoreConfig, Synchronous};
use tokio::time::Instant;

use super::common::{call, db_host, simulation};

const PER_SYNC: Duration = Duration::from_millis(50);

/// The simulated latency of one write, and of two concurrent writes (both done).
fn latencies(
    journal_mode: JournalMode,
    synchronous: Synchronous,
) -> Result<(Duration, Duration), Box<dyn std::error::Error>> {
    let mut sim = simulation(3);
    let config = StoreConfig {
        journal_mode,
        synchronous,
        disk: DiskCost { per_sync: PER_SYNC, per_kib_written: Duration::ZERO, ..DiskCost::FREE },
        ..StoreConfig::default()
    };
    let messages = db_host(&mut sim, config, Rc::default());
    let out = Rc::new(RefCell::new((Duration::ZERO, Duration::ZERO)));
    let client_out = Rc::clone(&out);
    sim.client("client", async move {
        let limit = Duration::from_secs(5);
        let mut a = SqlClient::new("db", Rc::clone(&messages));
        let mut b = SqlClient::new("db", messages);
        // Warm up: connect both.
        assert_eq!(call(&mut a, &Operation::Read { key: None }, limit).await, Ok(Reply::Ok(Value::Nil)));
        assert_eq!(call(&mut b, &Operation::Read { key: None }, limit).await, Ok(Reply::Ok(Value::Nil)));
        let start = Instant::now();
        assert!(matches!(
            call(&mut a, &Operation::Write { key: None, value: Value::Int(1) }, limit).await,
            Ok(Reply::Ok(_))
        ));
        let one = start.elapsed();
        let start = Instant::now();
        let write = |value| Operation::Write { key: Some(Value::Int(value)), value: Value::Int(value) };
        let (x, y) = (write(2), write(3));
        let (ra, rb) = tokio::join!(call(&mut a, &x, limit), call(&mut b, &y, limit));
        assert!(matches!((ra, rb), (Ok(Reply::Ok(_)), Ok(Reply::Ok(_)))));
        *client_out.borrow_mut() = (one, start.elapsed());
        Ok(())
    });
    sim.run()?;
    let out = *out.borrow();
    Ok(out)
}

#[test]
fn full_commits_cost_at_least_one_sync_and_off_less() -> turmoil::Result {
    for journal_mode in [JournalMode::Delete, JournalMode::Wal] {
        let (full, full_pair) = latencies(journal_mode, Synchronous::Full)?;
        assert!(full >= PER_SYNC, "{journal_mode:?} FULL write took {full:?}");
        // One connection: the second write's syncs wait for the first's.
        assert!(full_pair >= 2 * PER_SYNC, "{journal_mode:?} FULL concurrent pair took {full_pair:?}");
        let (off, _) = latencies(journal_mode, Synchronous::Off)?;
        assert!(off < full, "{journal_mode:?}: OFF {off:?} vs FULL {full:?}");
        if journal_mode == JournalMode::Wal {
            // WAL with OFF syncs nothing at all.
            assert!(off < PER_SYNC, "WAL OFF write took {off:?}");
        }
    }
    Ok(())
}
