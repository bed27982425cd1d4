//! Model-based test: random sequences of writes (some large enough to force flushes), reads,
//! scans, ranges, syncs, flushes, compactions and clean reopens, against a `BTreeMap` with
//! last-write-wins merging. Each case runs in its own small simulation.

use history::Value;
use lsm::{Cell, Version};
use proptest::prelude::*;

use super::common::{config, contents, in_host, model_apply, Model, TestResult};

#[derive(Debug, Clone)]
enum Op {
    Write {
        key: u8,
        timestamp: u8,
        node: u8,
        value: i8,
        big: bool,
    },
    Get(u8),
    Scan,
    Range(u8, u8),
    Sync,
    Flush,
    Compact,
    /// Clean reopen: sync, drop, open.
    Reopen,
}

fn key(k: u8) -> String {
    format!("k{k}")
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (0u8..8, 0u8..24, 0u8..3, any::<i8>(), prop::bool::weighted(0.15))
            .prop_map(|(key, timestamp, node, value, big)| Op::Write { key, timestamp, node, value, big }),
        3 => (0u8..9).prop_map(Op::Get),
        1 => Just(Op::Scan),
        1 => (0u8..9, 0u8..9).prop_map(|(a, b)| Op::Range(a, b)),
        1 => Just(Op::Sync),
        1 => Just(Op::Flush),
        1 => Just(Op::Compact),
        1 => Just(Op::Reopen),
    ]
}

fn write_cell(timestamp: u8, node: u8, value: i8, big: bool) -> Cell {
    let value = if big { Value::Str(format!("{value}").repeat(200)) } else { Value::Int(i64::from(value)) };
    Cell::new(value, Version::new(u64::from(timestamp), u32::from(node)))
}

/// Runs `ops`; `Ok(Err(why))` names the first disagreement with the model.
fn run(ops: Vec<Op>, memtable_bytes: usize, max_sstables: usize, seed: u64) -> TestResult<Result<(), String>> {
    in_host(seed, move || {
        let config = config(memtable_bytes, max_sstables);
        let mut engine = super::common::open(config.clone())?;
        let mut model = Model::new();
        for (i, op) in ops.iter().enumerate() {
            let disagree = |what: String| Ok(Err(format!("op {i} {op:?}: {what}")));
            match op {
                Op::Write { key: k, timestamp, node, value, big } => {
                    let cell = write_cell(*timestamp, *node, *value, *big);
                    engine.write(&key(*k), cell.clone())?;
                    model_apply(&mut model, &key(*k), &cell);
                }
                Op::Get(k) => {
                    let got = engine.get(&key(*k))?;
                    if got.as_ref() != model.get(&key(*k)) {
                        return disagree(format!("engine {got:?}, model {:?}", model.get(&key(*k))));
                    }
                }
                Op::Scan => {
                    let got = contents(&engine)?;
                    if got != model {
                        return disagree(format!("engine {got:?}, model {model:?}"));
                    }
                }
                Op::Range(a, b) => {
                    let (from, to) = (key(*a), key(*b));
                    let got = engine.range(&from, &to)?;
                    let want: Vec<(String, Cell)> = if from < to {
                        model.range(from.clone()..to.clone()).map(|(k, c)| (k.clone(), c.clone())).collect()
                    } else {
                        Vec::new()
                    };
                    if got != want {
                        return disagree(format!("engine {got:?}, model {want:?}"));
                    }
                }
                Op::Sync => engine.sync()?,
                Op::Flush => engine.flush()?,
                Op::Compact => {
                    engine.compact()?;
                    if engine.stats().sstables > 1 {
                        return disagree(format!("{} SSTables after a compaction", engine.stats().sstables));
                    }
                }
                Op::Reopen => {
                    engine.sync()?;
                    drop(engine);
                    engine = super::common::open(config.clone())?;
                    if !engine.recovery().torn_tails.is_empty() {
                        return disagree(format!("torn tails after a clean reopen: {:?}", engine.recovery()));
                    }
                }
            }
            if engine.stats().sstables > max_sstables.max(1) {
                return disagree(format!("{} SSTables, limit {max_sstables}", engine.stats().sstables));
            }
        }
        let got = contents(&engine)?;
        if got != model {
            return Ok(Err(format!("final scan: engine {got:?}, model {model:?}")));
        }
        Ok(Ok(()))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn engine_matches_a_last_write_wins_model(
        ops in prop::collection::vec(op(), 1..80),
        memtable_bytes in prop_oneof![Just(0usize), Just(300), Just(100_000)],
        max_sstables in 1usize..4,
        seed in 0u64..4,
    ) {
        let outcome = run(ops, memtable_bytes, max_sstables, seed).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(outcome, Ok(()));
    }
}

/// A fixed sequence that flushes, compacts and reopens, so the paths are exercised whatever
/// proptest draws.
#[test]
fn flush_compact_reopen_sequence_matches_the_model() -> TestResult {
    let mut ops = Vec::new();
    for round in 0..6u8 {
        for k in 0..8u8 {
            let timestamp = (round * 3 + k) % 24;
            ops.push(Op::Write { key: k, timestamp, node: k % 3, value: i8::try_from(k).unwrap_or(0), big: k == 7 });
        }
        ops.push(Op::Scan);
        ops.push(if round % 2 == 0 { Op::Reopen } else { Op::Get(round) });
    }
    ops.push(Op::Compact);
    ops.push(Op::Range(2, 6));
    assert_eq!(run(ops, 300, 2, 0)?, Ok(()));
    Ok(())
}
