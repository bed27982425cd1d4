//! Last-write-wins across every layer: an older version never overrides a newer one, in the
//! memtable, across SSTables (whatever their age), after compaction and after recovery.

use history::Value;
use lsm::{Cell, Engine, Version};

use super::common::{builder, cell, config, in_host, run_script, Fault, Step, TestResult};

fn assert_everywhere(engine: &Engine, key: &str, want: &Cell, when: &str) -> TestResult {
    assert_eq!(engine.get(key)?.as_ref(), Some(want), "get, {when}");
    let scan = engine.scan()?;
    assert_eq!(scan.iter().find(|(k, _)| k == key).map(|(_, c)| c), Some(want), "scan, {when}");
    let range = engine.range(key, &format!("{key}\u{0}"))?;
    assert_eq!(range, vec![(key.to_owned(), want.clone())], "range, {when}");
    Ok(())
}

#[test]
fn older_version_never_overrides_newer() -> TestResult {
    in_host(1, || {
        let (v1, v2) = (cell(1, 1, 0), cell(2, 2, 0));
        let mut engine = super::common::open(config(1 << 20, 8))?;
        engine.write("k", v2.clone())?;
        engine.write("k", v1.clone())?;
        assert_everywhere(&engine, "k", &v2, "memtable")?;
        engine.flush()?;
        assert_everywhere(&engine, "k", &v2, "after a flush")?;
        // v1 in the memtable, v2 in an SSTable.
        engine.write("k", v1.clone())?;
        assert_everywhere(&engine, "k", &v2, "v1 in the memtable")?;
        // v1 in the newer SSTable, v2 in the older one: version decides, not file age.
        engine.flush()?;
        assert_eq!(engine.stats().sstables, 2);
        assert_everywhere(&engine, "k", &v2, "v1 in the newer SSTable")?;
        engine.compact()?;
        assert_eq!(engine.stats().sstables, 1);
        assert_everywhere(&engine, "k", &v2, "after compaction")?;
        engine.write("k", v1.clone())?;
        engine.sync()?;
        drop(engine);
        let engine = super::common::open(config(1 << 20, 8))?;
        assert_everywhere(&engine, "k", &v2, "after recovery")?;
        Ok(())
    })
}

#[test]
fn equal_versions_go_to_the_greater_value_in_every_order() -> TestResult {
    in_host(2, || {
        let low = Cell::new(Value::Int(1), Version::new(5, 1));
        let high = Cell::new(Value::Str("b".into()), Version::new(5, 1));
        let mut engine = super::common::open(config(1 << 20, 8))?;
        engine.write("a", high.clone())?;
        engine.flush()?;
        engine.write("a", low.clone())?;
        engine.write("b", low.clone())?;
        engine.flush()?;
        engine.write("b", high.clone())?;
        assert_everywhere(&engine, "a", &high, "high flushed first")?;
        assert_everywhere(&engine, "b", &high, "high in the memtable")?;
        engine.compact()?;
        assert_everywhere(&engine, "a", &high, "compacted")?;
        Ok(())
    })
}

#[test]
fn newer_version_survives_crash_with_older_writes_around_it() -> TestResult {
    let (v1, v2) = (cell(1, 1, 0), cell(2, 2, 0));
    let k = || "k".to_owned();
    let script = vec![
        Step::Write(k(), v2.clone()),
        Step::Sync,
        Step::Write(k(), v1.clone()),
        Step::Flush,
        Step::Write(k(), v1.clone()),
        Step::Flush,
        Step::Compact,
        Step::Write(k(), v1.clone()),
        Step::Sync,
    ];
    let state = run_script(builder(3).build(), config(1 << 20, 8), script, &[(9, Fault::Crash)])?;
    let start = state.starts.last().ok_or("no start")?;
    assert!(start.after_crash);
    assert_eq!(start.recovered.get("k"), Some(&v2));
    assert_eq!(state.final_check, Some(Ok(())));
    Ok(())
}
