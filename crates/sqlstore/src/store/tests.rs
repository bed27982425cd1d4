//! Store semantics, run inside a turmoil host (the VFS needs the simulated disk).

use std::future::Future;
use std::time::Duration;

use history::Value;

use super::*;

/// Runs `body` inside a client host of a fresh simulation.
fn in_host<F>(body: impl FnOnce() -> F) -> turmoil::Result
where
    F: Future<Output = turmoil::Result> + 'static,
{
    let mut sim = turmoil::Builder::new().rng_seed(1).build();
    sim.client("db", body());
    sim.run()
}

fn config(journal_mode: JournalMode, synchronous: Synchronous) -> StoreConfig {
    StoreConfig { journal_mode, synchronous, ..StoreConfig::default() }
}

fn both_modes() -> [StoreConfig; 2] {
    [config(JournalMode::Delete, Synchronous::Full), config(JournalMode::Wal, Synchronous::Full)]
}

fn s(text: &str) -> Value {
    Value::Str(text.to_owned())
}

#[test]
fn read_write_cas() -> turmoil::Result {
    for config in both_modes() {
        in_host(|| async move {
            let mut store = Store::open(&config)?;
            let key = s("r");
            assert_eq!(store.read(&key)?, Value::Nil);
            // nil expected means absent.
            assert!(store.cas(&key, &Value::Nil, &Value::Int(1))?);
            assert!(!store.cas(&key, &Value::Nil, &Value::Int(2))?);
            assert_eq!(store.read(&key)?, Value::Int(1));
            assert!(!store.cas(&key, &Value::Int(5), &Value::Int(2))?);
            assert!(store.cas(&key, &Value::Int(1), &Value::Int(2))?);
            store.write(&key, &Value::List(vec![Value::Bool(true), s("x"), Value::Nil]))?;
            assert_eq!(store.read(&key)?, Value::List(vec![Value::Bool(true), s("x"), Value::Nil]));
            // Keys are values: 1 and "1" differ.
            store.write(&Value::Int(1), &s("int"))?;
            store.write(&s("1"), &s("str"))?;
            assert_eq!(store.read(&Value::Int(1))?, s("int"));
            assert_eq!(store.read(&s("1"))?, s("str"));
            assert_eq!(store.integrity_check()?, vec!["ok".to_owned()]);
            Ok(())
        })?;
    }
    Ok(())
}

#[test]
fn transfer_preserves_the_sum_and_refuses_overdrafts() -> turmoil::Result {
    in_host(|| async {
        let mut store = Store::open(&StoreConfig::default())?;
        let (a, b, c) = (s("a"), s("b"), s("c"));
        store.write(&a, &Value::Int(10))?;
        store.write(&b, &Value::Int(5))?;
        store.transfer(&a, &b, 7)?;
        assert_eq!(store.read_many(&[a.clone(), b.clone()])?, vec![Value::Int(3), Value::Int(12)]);
        // An absent account holds 0 and can receive.
        store.transfer(&b, &c, 2)?;
        assert_eq!(
            store.read_many(&[a.clone(), b.clone(), c.clone()])?,
            vec![Value::Int(3), Value::Int(10), Value::Int(2)]
        );
        let overdraft = store.transfer(&a, &b, 4).expect_err("overdraft");
        assert!(matches!(overdraft, StoreError::InsufficientFunds { balance: 3, amount: 4, .. }), "{overdraft}");
        assert!(overdraft.is_definite());
        assert!(store.transfer(&a, &b, -1).expect_err("negative").is_definite());
        store.write(&c, &s("not money"))?;
        assert!(matches!(store.transfer(&c, &a, 1), Err(StoreError::NotAnInteger { .. })));
        store.write(&c, &Value::Int(i64::MAX))?;
        assert!(matches!(store.transfer(&a, &c, 1), Err(StoreError::Overflow { .. })));
        // Refused transfers changed nothing; a self-transfer is a no-op.
        store.transfer(&b, &b, 10)?;
        assert_eq!(store.read_many(&[a, b])?, vec![Value::Int(3), Value::Int(10)]);
        Ok(())
    })
}

#[test]
fn a_list_append_transaction_reads_its_own_appends_and_refuses_a_non_list() -> turmoil::Result {
    use sim::MicroOp;
    in_host(|| async {
        // Both modes share the host's disk: each uses its own keys.
        for (mode, config) in (0..).zip(both_modes()) {
            let mut store = Store::open(&config)?;
            let (k1, k2) = (Value::Int(10 * mode + 1), Value::Int(10 * mode + 2));
            let append = |key: &Value, v: i64| MicroOp::Append { key: key.clone(), value: Value::Int(v) };
            let read = |key: &Value| MicroOp::Read { key: key.clone() };
            let done = store.txn(&[read(&k1), append(&k1, 10), append(&k1, 11), read(&k1), append(&k2, 20)])?;
            let list = |items: &[i64]| Value::List(items.iter().map(|&i| Value::Int(i)).collect());
            assert_eq!(done[0], read(&k1).completed(list(&[])), "an absent key is the empty list");
            assert_eq!(done[3], read(&k1).completed(list(&[10, 11])), "a transaction sees its own appends");
            assert_eq!(done[4], append(&k2, 20).invoked());
            store.write(&s("x"), &Value::Int(3))?;
            let refused = store.txn(&[append(&k2, 21), append(&s("x"), 1)]).expect_err("not a list");
            assert!(refused.is_definite(), "{refused}");
            let after = store.txn(&[read(&k2)])?;
            assert_eq!(after, [read(&k2).completed(list(&[20]))], "the refused transaction rolled back whole");
        }
        Ok(())
    })
}

#[test]
fn set_add_and_sorted_read() -> turmoil::Result {
    in_host(|| async {
        let mut store = Store::open(&config(JournalMode::Delete, Synchronous::Full))?;
        assert_eq!(store.read_set()?, Vec::<Value>::new());
        for element in [Value::Int(3), Value::Int(-1), s("z"), Value::Int(3), Value::Int(20)] {
            store.add(&element)?;
        }
        assert_eq!(store.read_set()?, vec![Value::Int(-1), Value::Int(3), Value::Int(20), s("z")]);
        assert_eq!(store.read_many(&[])?, Vec::<Value>::new());
        Ok(())
    })
}

#[test]
fn state_survives_a_clean_reopen() -> turmoil::Result {
    for config in both_modes() {
        in_host(|| async move {
            let mut store = Store::open(&config)?;
            store.write(&s("k"), &Value::Int(42))?;
            store.add(&Value::Int(7))?;
            store.close()?;
            let mut store = Store::open(&config)?;
            assert_eq!(store.read(&s("k"))?, Value::Int(42));
            assert_eq!(store.read_set()?, vec![Value::Int(7)]);
            Ok(())
        })?;
    }
    Ok(())
}

#[test]
fn full_syncs_every_commit_and_off_never() -> turmoil::Result {
    for journal_mode in [JournalMode::Delete, JournalMode::Wal] {
        in_host(move || async move {
            let mut full =
                Store::open(&StoreConfig { path: "/full/db".into(), ..config(journal_mode, Synchronous::Full) })?;
            assert_eq!(full.take_disk_work(), DiskWork::default(), "opening is not charged");
            full.write(&s("k"), &Value::Int(1))?;
            let work = full.take_disk_work();
            assert!(work.syncs >= 1 && work.bytes_written > 0, "{journal_mode:?}: {work:?}");
            // A read writes and syncs nothing.
            full.read(&s("k"))?;
            assert_eq!(full.take_disk_work(), DiskWork::default());

            let mut off =
                Store::open(&StoreConfig { path: "/off/db".into(), ..config(journal_mode, Synchronous::Off) })?;
            off.write(&s("k"), &Value::Int(1))?;
            let work = off.take_disk_work();
            // DELETE mode syncs the directory when it deletes the journal; nothing else syncs.
            let expected_syncs = if journal_mode == JournalMode::Delete { 1 } else { 0 };
            assert_eq!(work.syncs, expected_syncs, "{journal_mode:?}: {work:?}");
            assert!(work.bytes_written > 0);
            Ok(())
        })?;
    }
    Ok(())
}

#[test]
fn a_dropped_store_refuses_io_and_the_host_can_reopen() -> turmoil::Result {
    in_host(|| async {
        let config = StoreConfig::default();
        let mut store = Store::open(&config)?;
        store.write(&s("k"), &Value::Int(1))?;
        let io = store.disk_io();
        drop(store);
        assert!(!io.is_alive());
        assert!(io.writeback().is_err());
        // The leaked connection held the exclusive lock; a new process opens regardless, and
        // sees the synced commit.
        let mut store = Store::open(&config)?;
        assert_eq!(store.read(&s("k"))?, Value::Int(1));
        Ok(())
    })
}

#[test]
fn open_outside_a_simulation_is_an_error_not_a_panic() {
    let error = Store::open(&StoreConfig::default()).expect_err("no simulated disk");
    assert!(matches!(error, StoreError::Directory { .. }), "{error}");
    let error = Store::open(&StoreConfig { path: "/db".into(), ..StoreConfig::default() }).expect_err("no disk");
    assert!(matches!(error, StoreError::Sqlite(_)), "{error}");
}

#[test]
fn writeback_makes_unsynced_commits_durable() -> turmoil::Result {
    // Crash between two writes with synchronous=OFF: only what write-back flushed survives.
    let mut sim = turmoil::Builder::new().rng_seed(3).build();
    let config = StoreConfig { writeback: Some(Duration::from_secs(1)), ..config(JournalMode::Wal, Synchronous::Off) };
    let phase = std::rc::Rc::new(std::cell::Cell::new(0));
    let host_phase = phase.clone();
    sim.host("db", move || {
        let config = config.clone();
        let phase = host_phase.clone();
        async move {
            let mut store = Store::open(&config)?;
            if phase.get() == 0 {
                store.write(&s("flushed"), &Value::Int(1))?;
                store.disk_io().writeback()?;
                store.write(&s("lost"), &Value::Int(2))?;
                phase.set(1);
            } else {
                assert_eq!(store.read(&s("flushed"))?, Value::Int(1));
                assert_eq!(store.read(&s("lost"))?, Value::Nil);
                assert_eq!(store.integrity_check()?, vec!["ok".to_owned()]);
                phase.set(2);
            }
            std::future::pending::<()>().await;
            Ok(())
        }
    });
    sim.client("driver", async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok(())
    });
    sim.run()?;
    assert_eq!(phase.get(), 1);
    sim.crash("db");
    sim.bounce("db");
    sim.step()?;
    assert_eq!(phase.get(), 2);
    Ok(())
}

#[test]
fn wal_checkpoints_run_and_survive_a_crash() -> turmoil::Result {
    // 1,200 one-row commits append 2,400 frames: SQLite's auto-checkpoint (every 1,000 pages)
    // copies them into the database file and syncs it, then restarts the WAL from the top.
    const ROWS: i64 = 1_200;
    let mut sim = turmoil::Builder::new().rng_seed(5).build();
    let config = config(JournalMode::Wal, Synchronous::Full);
    let phase = std::rc::Rc::new(std::cell::Cell::new(0));
    let max_syncs = std::rc::Rc::new(std::cell::Cell::new(0));
    let (host_phase, host_max) = (phase.clone(), max_syncs.clone());
    sim.host("db", move || {
        let (config, phase, max_syncs) = (config.clone(), host_phase.clone(), host_max.clone());
        async move {
            let mut store = Store::open(&config)?;
            if phase.get() == 0 {
                for i in 0..ROWS {
                    store.write(&Value::Int(i), &Value::Int(i))?;
                    max_syncs.set(max_syncs.get().max(store.take_disk_work().syncs));
                }
                phase.set(1);
            } else {
                let keys: Vec<Value> = (0..ROWS).map(Value::Int).collect();
                assert_eq!(store.read_many(&keys)?, keys);
                assert_eq!(store.integrity_check()?, vec!["ok".to_owned()]);
                phase.set(2);
            }
            std::future::pending::<()>().await;
            Ok(())
        }
    });
    sim.client("driver", async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        Ok(())
    });
    sim.run()?;
    assert_eq!(phase.get(), 1);
    // A checkpoint commit syncs the WAL, the database file and its directory.
    assert!(max_syncs.get() >= 3, "no checkpoint seen: at most {} syncs per commit", max_syncs.get());
    sim.crash("db");
    sim.bounce("db");
    sim.step()?;
    assert_eq!(phase.get(), 2);
    Ok(())
}

/// A [`Disk`] on the real file system (`std::fs`): the VFS needs no turmoil.
#[derive(Debug)]
struct StdDisk;

#[derive(Debug)]
struct StdFile(std::fs::File);

impl crate::vfs::DiskFile for StdFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(&self.0, buf, offset)
    }

    fn write_all_at(&self, buf: &[u8], offset: u64) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::write_all_at(&self.0, buf, offset)
    }

    fn sync_all(&self) -> std::io::Result<()> {
        self.0.sync_all()
    }

    fn set_len(&self, size: u64) -> std::io::Result<()> {
        self.0.set_len(size)
    }

    fn size(&self) -> std::io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
}

impl Disk for StdDisk {
    fn check(&self) -> std::io::Result<()> {
        Ok(())
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn open(&self, path: &Path, access: crate::vfs::Access) -> std::io::Result<Arc<dyn crate::vfs::DiskFile>> {
        use crate::vfs::Access;
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        match access {
            Access::Read => &mut options,
            Access::Write => options.write(true),
            Access::Create => options.write(true).create(true),
            Access::CreateNew => options.write(true).create_new(true),
        };
        Ok(Arc::new(StdFile(options.open(path)?)))
    }

    fn remove_file(&self, path: &Path) -> std::io::Result<()> {
        std::fs::remove_file(path)
    }

    fn sync_dir(&self, path: &Path) -> std::io::Result<()> {
        std::fs::File::open(path)?.sync_all()
    }

    fn create_dir_all(&self, path: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(path)
    }
}

#[test]
fn the_vfs_runs_on_any_disk_outside_a_simulation() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("sqlstore-std-disk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for mode in both_modes() {
        let config = StoreConfig { path: dir.join("store.db").to_string_lossy().into_owned(), ..mode };
        let mut store = Store::open_on(&config, Box::new(StdDisk))?;
        store.write(&s("k"), &Value::Int(7))?;
        assert!(store.take_disk_work().syncs > 0, "synchronous=FULL syncs every commit");
        store.close()?;
        let mut store = Store::open_on(&config, Box::new(StdDisk))?;
        assert_eq!(store.read(&s("k"))?, Value::Int(7));
        assert_eq!(store.integrity_check()?, vec!["ok".to_owned()]);
        store.close()?;
        std::fs::remove_dir_all(&dir)?;
    }
    Ok(())
}

/// The initial state is written when the store opens, never over later writes (`INSERT OR
/// IGNORE`), and is durable before the store serves, even with `synchronous=OFF`: a crash
/// right after opening keeps it.
#[test]
fn the_initial_state_is_durable_and_never_overwrites() -> turmoil::Result {
    use std::cell::Cell;
    use std::rc::Rc;
    let initial = vec![(s("a"), Value::Int(10)), (s("b"), Value::Int(5))];
    let config = StoreConfig { initial, ..config(JournalMode::Delete, Synchronous::Off) };
    let starts = Rc::new(Cell::new(0u32));
    let seen = Rc::new(std::cell::RefCell::new(Vec::new()));
    let mut sim = turmoil::Builder::new().rng_seed(1).build();
    let (host_starts, host_seen) = (Rc::clone(&starts), Rc::clone(&seen));
    sim.host("db", move || {
        let (starts, seen, config) = (Rc::clone(&host_starts), Rc::clone(&host_seen), config.clone());
        async move {
            starts.set(starts.get() + 1);
            // After the crash, open without preloading: what is there survived the crash.
            let config = if starts.get() == 1 { config } else { StoreConfig { initial: Vec::new(), ..config } };
            let mut store = Store::open(&config)?;
            seen.borrow_mut().push(store.read_many(&[s("a"), s("b")])?);
            if starts.get() == 1 {
                // Unsynced (OFF): lost in the crash; the initial state is not.
                store.write(&s("b"), &Value::Int(99))?;
            } else {
                store.write(&s("a"), &Value::Int(1))?;
                store.close()?;
                let preloading = StoreConfig { initial: vec![(s("a"), Value::Int(10))], ..config };
                let mut store = Store::open(&preloading)?;
                seen.borrow_mut().push(store.read_many(&[s("a"), s("b")])?);
            }
            std::future::pending::<()>().await;
            Ok(())
        }
    });
    sim.client("driver", async {
        tokio::time::sleep(Duration::from_secs(1)).await;
        Ok(())
    });
    let (mut crashed, mut bounced) = (false, false);
    while !sim.step()? {
        if !crashed && sim.elapsed() >= Duration::from_millis(100) {
            sim.crash("db");
            crashed = true;
        }
        if crashed && !bounced && sim.elapsed() >= Duration::from_millis(200) {
            sim.bounce("db");
            bounced = true;
        }
    }
    let ints = |values: &[i64]| values.iter().map(|&v| Value::Int(v)).collect::<Vec<_>>();
    assert_eq!(starts.get(), 2);
    assert_eq!(*seen.borrow(), vec![ints(&[10, 5]), ints(&[10, 5]), ints(&[1, 5])]);
    Ok(())
}
