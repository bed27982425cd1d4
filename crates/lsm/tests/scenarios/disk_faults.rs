//! turmoil's disk faults against the engine: a full disk refuses writes definitely, frees
//! space through its reserve and otherwise stays read-only; a failed sync poisons and the
//! reopened engine replays only what a sync confirmed; random I/O errors never lose a write
//! that was written and synced, and a definite refusal never appears later.

use history::Value;
use lsm::{Cell, Engine, EngineError, Version};

use super::common::{builder, cell, config, contents, in_sim, model_apply, Model, TestResult};

/// A simulation whose disk holds `capacity` bytes and fails operations with probability `p`.
fn faulty_sim(seed: u64, capacity: Option<u64>, p: f64) -> turmoil::Sim<'static> {
    let mut b = builder(seed);
    let fs = b.fs();
    if let Some(bytes) = capacity {
        fs.capacity(bytes);
    }
    fs.io_error_probability(p);
    b.build()
}

fn text(i: u64, bytes: usize) -> Cell {
    Cell::new(Value::Str(format!("{i:0bytes$}")), Version::new(i, 0))
}

#[test]
fn a_full_disk_refuses_writes_definitely_then_flushes_to_make_room() -> TestResult {
    in_sim(faulty_sim(1, Some(96 << 10), 0.0), || {
        let mut engine = super::common::open(config(1 << 20, 4))?;
        let mut model = Model::new();
        let (mut refused, mut after_refusal) = (0, 0);
        for i in 1..=6_000u64 {
            let (key, cell) = (format!("k{}", i % 10), cell(i as i64, i, 0));
            match engine.write(&key, cell.clone()).and_then(|()| engine.sync()) {
                Ok(()) => {
                    model_apply(&mut model, &key, &cell);
                    if refused > 0 {
                        after_refusal += 1;
                    }
                }
                Err(e) => {
                    assert!(e.is_disk_full() && e.is_definite(), "write {i}: {e}");
                    refused += 1;
                }
            }
            assert!(!engine.is_poisoned(), "write {i}: a full disk does not poison");
        }
        assert!(refused > 0, "the disk never filled: the test proves nothing");
        assert!(after_refusal > 1_000, "only {after_refusal} writes after the first refusal");
        assert!(engine.stats().flushes >= refused, "each refusal flushed: {:?}", engine.stats());
        assert!(!engine.is_read_only());
        // A refused write changed nothing, before and after reopening.
        assert_eq!(contents(&engine)?, model);
        drop(engine);
        let engine = super::common::open(config(1 << 20, 4))?;
        assert_eq!(contents(&engine)?, model);
        Ok(())
    })
}

#[test]
fn data_larger_than_the_disk_leaves_the_engine_read_only_and_readable() -> TestResult {
    in_sim(faulty_sim(2, Some(64 << 10), 0.0), || {
        let mut engine = super::common::open(config(1 << 20, 4))?;
        let mut model = Model::new();
        let mut refused = 0;
        for i in 1..=1_000u64 {
            let key = format!("key{i:04}");
            match engine.write(&key, text(i, 100)).and_then(|()| engine.sync()) {
                Ok(()) => model_apply(&mut model, &key, &text(i, 100)),
                Err(e) => {
                    assert!(e.is_disk_full() && e.is_definite(), "write {i}: {e}");
                    refused += 1;
                }
            }
        }
        assert!(refused > 500, "{refused} refusals");
        assert!(model.len() > 100, "{} writes fitted", model.len());
        assert!(engine.is_read_only(), "nothing could be freed");
        assert!(!engine.is_poisoned());
        for (key, cell) in &model {
            assert_eq!(engine.get(key)?.as_ref(), Some(cell), "{key} still reads");
        }
        // Opening a full disk works and serves the same data.
        drop(engine);
        let engine = super::common::open(config(1 << 20, 4))?;
        assert_eq!(contents(&engine)?, model);
        Ok(())
    })
}

#[test]
fn a_failed_sync_poisons_and_the_reopened_engine_replays_only_what_a_sync_confirmed() -> TestResult {
    in_sim(builder(3).build(), || {
        let mut engine = super::common::open(config(1 << 20, 4))?;
        engine.write("a", cell(1, 1, 0))?;
        engine.sync()?;
        engine.write("b", cell(2, 2, 0))?;
        engine.fail_next_syncs(1);
        let failed = engine.sync().err().ok_or("the injected sync failure did not strike")?;
        assert!(matches!(failed, EngineError::Io { op: "sync", .. }), "{failed}");
        assert!(engine.is_poisoned());
        let refused = engine.write("c", cell(3, 3, 0)).err().ok_or("a poisoned engine took a write")?;
        assert!(matches!(refused, EngineError::Poisoned) && refused.is_definite(), "{refused}");
        // Reopened in the same process (the page cache still holds `b`): `b` was cut off with
        // the unconfirmed tail, so nothing read from now on can vanish in a later crash.
        drop(engine);
        let mut engine = super::common::open(config(1 << 20, 4))?;
        assert_eq!(engine.get("a")?, Some(cell(1, 1, 0)));
        assert_eq!(engine.get("b")?, None, "the write whose sync failed came back");
        engine.write("b", cell(4, 4, 0))?;
        engine.sync()?;
        drop(engine);
        assert_eq!(super::common::open(config(1 << 20, 4))?.get("b")?, Some(cell(4, 4, 0)));
        Ok(())
    })
}

/// What the supervisor does: reopen until an open succeeds (recovery may hit errors too).
fn reopen(attempts: &mut u32) -> TestResult<Engine> {
    for _ in 0..100 {
        *attempts += 1;
        match super::common::open(config(400, 2)) {
            Ok(engine) => return Ok(engine),
            Err(e) => assert!(!e.is_disk_full(), "open needs no space: {e}"),
        }
    }
    Err("the engine never reopened".into())
}

#[test]
fn random_io_errors_never_lose_a_synced_write_nor_resurrect_a_refused_one() -> TestResult {
    let mut totals = (0, 0, 0, 0);
    for seed in 0..6u64 {
        let (acked, unknown, read_errors, reopens) = in_sim(faulty_sim(seed, None, 0.02), move || {
            let mut attempts = 0;
            let mut engine = reopen(&mut attempts)?;
            // key -> (acknowledged floor, versions written with an unknown outcome)
            let mut acked = Model::new();
            let mut maybe: Vec<(String, Cell)> = Vec::new();
            let (mut unknown, mut read_errors) = (0, 0);
            for i in 1..=800u64 {
                let key = format!("k{}", i % 7);
                let cell = text(i, 20);
                match engine.write(&key, cell.clone()).and_then(|()| engine.sync()) {
                    Ok(()) => model_apply(&mut acked, &key, &cell),
                    Err(e) if e.is_definite() => {}
                    Err(_) => {
                        unknown += 1;
                        maybe.push((key.clone(), cell));
                    }
                }
                match engine.get(&key) {
                    Ok(_) => {}
                    Err(e) => {
                        assert!(matches!(e, EngineError::Io { .. }), "{e}");
                        read_errors += 1;
                    }
                }
                if engine.is_poisoned() {
                    drop(engine);
                    engine = reopen(&mut attempts)?;
                    check_recovered(&engine, &acked, &maybe, i)?;
                }
            }
            drop(engine);
            let engine = reopen(&mut attempts)?;
            check_recovered(&engine, &acked, &maybe, 801)?;
            Ok((acked.len(), unknown, read_errors, attempts))
        })?;
        totals = (totals.0 + acked, totals.1 + unknown, totals.2 + read_errors, totals.3 + reopens);
    }
    let (acked, unknown, read_errors, reopens) = totals;
    assert!(acked > 30 && unknown > 5 && read_errors > 5 && reopens > 12, "{totals:?}");
    Ok(())
}

/// Every key holds its acknowledged cell, or a later one whose write's outcome was unknown.
fn check_recovered(engine: &Engine, acked: &Model, maybe: &[(String, Cell)], at: u64) -> TestResult {
    // A read may fail; it changes nothing, so read again.
    let recovered = (0..100).find_map(|_| contents(engine).ok()).ok_or("no scan succeeded")?;
    for (key, cell) in &recovered {
        let acknowledged = acked.get(key) == Some(cell);
        let unknown = maybe.iter().any(|(k, c)| k == key && c == cell);
        assert!(acknowledged || unknown, "after write {at}: {key} holds {cell:?}, which no write left");
    }
    for (key, cell) in acked {
        let got = recovered.get(key).ok_or_else(|| format!("after write {at}: {key} lost"))?;
        assert!(got.version >= cell.version, "after write {at}: {key} went back to {got:?} from {cell:?}");
    }
    Ok(())
}
