//! Several database connections: SQLite's locks arbitrated between them on the simulated
//! disk, `SQLITE_BUSY` waited out in simulated time (or not), and what clients see.
//!
//! The transactions are made long with a CPU cost per request (40 ms, shared between the
//! request's statements), during which the transaction holds its locks.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use history::Value;
use sim::capacity::CpuCost;
use sim::{CallError, MicroOp, Operation, Reply, System};
use sqlstore::{BeginMode, JournalMode, SqlSystem, StoreConfig, DATABASE_LOCKED};

use super::common::{call, now, simulation};

/// One client's operations, each sent when the previous one returned, the first at `start`
/// (a script starting at [`AFTER_THE_OTHERS`] starts once every other script is done).
struct Script {
    start: Duration,
    ops: Vec<Operation>,
}

/// A script's start meaning "when the others are done".
const AFTER_THE_OTHERS: Duration = Duration::MAX;

/// What each client saw: (simulated time of the answer, answer), in order.
type Seen = Vec<Vec<(Duration, Result<Reply, CallError>)>>;

/// Two connections in journal mode `mode`, `begin`, `busy_timeout`, 40 ms of CPU per request.
fn config_in(mode: JournalMode, begin: BeginMode, busy_timeout: Duration) -> StoreConfig {
    StoreConfig {
        journal_mode: mode,
        connections: 2,
        begin,
        busy_timeout,
        cpu: CpuCost { per_message: Duration::from_millis(40), per_byte: Duration::ZERO },
        seed: 3,
        ..StoreConfig::default()
    }
}

/// Runs `scripts`, one client host each, against a SQL system configured by `config`.
fn run(config: StoreConfig, scripts: Vec<Script>) -> Result<Seen, Box<dyn std::error::Error>> {
    let mut sim = simulation(9);
    let system = SqlSystem::new(config);
    let server = system.clone();
    sim.host("db", move || server.serve("db"));
    let seen: Rc<RefCell<Seen>> = Rc::new(RefCell::new(vec![Vec::new(); scripts.len()]));
    let others = scripts.iter().filter(|script| script.start != AFTER_THE_OTHERS).count();
    let done = Rc::new(std::cell::Cell::new(0));
    for (i, script) in scripts.into_iter().enumerate() {
        let (seen, done, mut client) = (Rc::clone(&seen), Rc::clone(&done), system.client(i));
        sim.client(format!("c{i}"), async move {
            if script.start == AFTER_THE_OTHERS {
                while done.get() < others {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            } else {
                tokio::time::sleep(script.start).await;
            }
            for op in &script.ops {
                let outcome = call(&mut client, op, Duration::from_secs(20)).await;
                seen.borrow_mut()[i].push((now(), outcome));
            }
            done.set(done.get() + 1);
            Ok(())
        });
    }
    sim.run()?;
    Ok(seen.take())
}

fn s(text: &str) -> Value {
    Value::Str(text.to_owned())
}

fn appends(key: &str, values: std::ops::Range<i64>) -> Operation {
    Operation::Txn { ops: values.map(|v| MicroOp::Append { key: s(key), value: Value::Int(v) }).collect() }
}

fn write(key: &str, value: i64) -> Operation {
    Operation::Write { key: Some(s(key)), value: Value::Int(value) }
}

fn locked(outcome: &Result<Reply, CallError>) -> bool {
    matches!(outcome, Ok(Reply::Fail(why)) if why.starts_with(DATABASE_LOCKED))
}

/// A long writer (4 appends, 40 ms) holds RESERVED from its `BEGIN IMMEDIATE`; a second
/// writer arriving 10 ms later.
fn writer_then_writer(mode: JournalMode, busy_timeout: Duration) -> Result<Seen, Box<dyn std::error::Error>> {
    run(
        config_in(mode, BeginMode::Immediate, busy_timeout),
        vec![
            Script { start: Duration::ZERO, ops: vec![appends("l", 0..4)] },
            Script {
                start: Duration::from_millis(10),
                ops: vec![write("x", 1), Operation::Read { key: Some(s("x")) }],
            },
        ],
    )
}

#[test]
fn without_a_busy_timeout_a_second_writer_fails_definitely() -> Result<(), Box<dyn std::error::Error>> {
    for mode in [JournalMode::Delete, JournalMode::Wal] {
        second_writer_fails_definitely(mode)?;
    }
    Ok(())
}

fn second_writer_fails_definitely(mode: JournalMode) -> Result<(), Box<dyn std::error::Error>> {
    let seen = writer_then_writer(mode, Duration::ZERO)?;
    assert!(matches!(seen[0][0].1, Ok(Reply::Ok(_))), "the holder commits: {:?}", seen[0]);
    assert!(locked(&seen[1][0].1), "the second writer is refused at once: {:?}", seen[1]);
    assert!(seen[1][0].0 < seen[0][0].0, "refused while the holder runs: {seen:?}");
    // Definite: the refused write left nothing.
    assert_eq!(seen[1][1].1, Ok(Reply::Ok(Value::Nil)), "{seen:?}");
    Ok(())
}

#[test]
fn with_a_busy_timeout_a_second_writer_waits_in_simulated_time() -> Result<(), Box<dyn std::error::Error>> {
    for mode in [JournalMode::Delete, JournalMode::Wal] {
        second_writer_waits(mode)?;
    }
    Ok(())
}

fn second_writer_waits(mode: JournalMode) -> Result<(), Box<dyn std::error::Error>> {
    let seen = writer_then_writer(mode, Duration::from_secs(5))?;
    let (holder_done, holder) = &seen[0][0];
    let (waiter_done, waiter) = &seen[1][0];
    assert!(matches!(holder, Ok(Reply::Ok(_))), "{seen:?}");
    assert!(matches!(waiter, Ok(Reply::Ok(_))), "the waiter commits: {seen:?}");
    // It waited for the holder's commit (its syncs included), then ran its own 40 ms.
    assert!(*waiter_done >= *holder_done + Duration::from_millis(35), "{seen:?}");
    assert_eq!(seen[1][1].1, Ok(Reply::Ok(Value::Int(1))), "{seen:?}");
    Ok(())
}

/// With free CPU, a commit's only time is its syncs (20 ms each here), charged after `COMMIT`
/// returned: the locks it released stay held for the others until then, so a writer arriving
/// meanwhile is refused (busy timeout 0), and one arriving after it is not.
#[test]
fn the_locks_stay_held_through_the_commits_disk_time() -> Result<(), Box<dyn std::error::Error>> {
    for mode in [JournalMode::Delete, JournalMode::Wal] {
        locks_stay_held_through_the_commits_disk_time(mode)?;
    }
    Ok(())
}

fn locks_stay_held_through_the_commits_disk_time(mode: JournalMode) -> Result<(), Box<dyn std::error::Error>> {
    let slow_syncs = sim::disk_cost::DiskCost {
        per_sync: Duration::from_millis(20),
        per_sync_in_place: None,
        sync_p99: None,
        ..sim::disk_cost::DiskCost::FREE
    };
    let config =
        StoreConfig { cpu: CpuCost::FREE, disk: slow_syncs, ..config_in(mode, BeginMode::Immediate, Duration::ZERO) };
    let seen = run(
        config,
        vec![
            Script { start: Duration::ZERO, ops: vec![write("x", 1)] },
            Script { start: Duration::from_millis(10), ops: vec![write("y", 2)] },
            Script { start: AFTER_THE_OTHERS, ops: vec![write("z", 3)] },
        ],
    )?;
    let (holder_done, holder) = &seen[0][0];
    assert!(matches!(holder, Ok(Reply::Ok(_))), "{seen:?}");
    // Rollback journal: journal, database and directory syncs; WAL: the log's one sync (its
    // directory was synced when the store opened).
    let syncs = if mode == JournalMode::Wal { 20 } else { 60 };
    assert!(*holder_done >= Duration::from_millis(syncs), "the commit's syncs took their time: {seen:?}");
    assert!(locked(&seen[1][0].1), "refused during the holder's syncs: {seen:?}");
    assert!(matches!(seen[2][0].1, Ok(Reply::Ok(_))), "free again afterwards: {seen:?}");
    Ok(())
}

/// A writer holds its lock for 40 ms; a reader arrives 10 ms later.
fn writer_then_reader(mode: JournalMode, begin: BeginMode) -> Result<Seen, Box<dyn std::error::Error>> {
    run(
        config_in(mode, begin, Duration::ZERO),
        vec![
            Script { start: Duration::ZERO, ops: vec![appends("l", 0..4)] },
            Script { start: Duration::from_millis(10), ops: vec![Operation::Read { key: Some(s("x")) }] },
        ],
    )
}

#[test]
fn exclusive_blocks_readers_in_rollback_mode_and_immediate_does_not() -> Result<(), Box<dyn std::error::Error>> {
    let exclusive = writer_then_reader(JournalMode::Delete, BeginMode::Exclusive)?;
    assert!(matches!(exclusive[0][0].1, Ok(Reply::Ok(_))), "{exclusive:?}");
    assert!(locked(&exclusive[1][0].1), "EXCLUSIVE keeps the reader out: {exclusive:?}");
    let immediate = writer_then_reader(JournalMode::Delete, BeginMode::Immediate)?;
    assert_eq!(immediate[1][0].1, Ok(Reply::Ok(Value::Nil)), "RESERVED lets the reader in: {immediate:?}");
    assert!(immediate[1][0].0 < immediate[0][0].0, "the reader did not wait for the writer: {immediate:?}");
    Ok(())
}

/// WAL: readers never wait for the writer, whatever its begin mode (`EXCLUSIVE` is
/// `IMMEDIATE` there), and read the last committed state.
#[test]
fn in_wal_mode_no_writer_blocks_a_reader() -> Result<(), Box<dyn std::error::Error>> {
    for begin in [BeginMode::Exclusive, BeginMode::Immediate, BeginMode::Deferred] {
        let seen = writer_then_reader(JournalMode::Wal, begin)?;
        assert!(matches!(seen[0][0].1, Ok(Reply::Ok(_))), "{begin:?}: {seen:?}");
        assert_eq!(seen[1][0].1, Ok(Reply::Ok(Value::Nil)), "{begin:?}: the reader got in: {seen:?}");
        assert!(seen[1][0].0 < seen[0][0].0, "{begin:?}: the reader did not wait: {seen:?}");
    }
    Ok(())
}

#[test]
fn deferred_transfers_that_both_read_first_deadlock_and_one_fails_definitely() -> Result<(), Box<dyn std::error::Error>>
{
    // Rollback journal: a deadlock (each holds SHARED, one wants EXCLUSIVE). WAL: the second
    // to write finds the first holding the write slot, or its snapshot stale once the first
    // committed (`SQLITE_BUSY_SNAPSHOT`); either way SQLite does not wait.
    for mode in [JournalMode::Delete, JournalMode::Wal] {
        deferred_transfers_conflict(mode)?;
    }
    Ok(())
}

fn deferred_transfers_conflict(mode: JournalMode) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = config_in(mode, BeginMode::Deferred, Duration::from_secs(5));
    config.initial = vec![(s("a"), Value::Int(10)), (s("b"), Value::Int(10))];
    let transfer = |from: &str, to: &str| Operation::Transfer { from: s(from), to: s(to), amount: 3 };
    let read_both = Operation::ReadMany { keys: vec![s("a"), s("b")] };
    let seen = run(
        config,
        vec![
            Script { start: Duration::ZERO, ops: vec![transfer("a", "b")] },
            Script { start: Duration::from_millis(5), ops: vec![transfer("b", "a")] },
            Script { start: AFTER_THE_OTHERS, ops: vec![read_both] },
        ],
    )?;
    let outcomes = [&seen[0][0].1, &seen[1][0].1];
    let ok = outcomes.iter().filter(|o| matches!(o, Ok(Reply::Ok(_)))).count();
    let deadlocked = outcomes.iter().filter(|o| locked(o)).count();
    assert_eq!((ok, deadlocked), (1, 1), "one commits, one is refused without waiting: {seen:?}");
    // The refusal is definite: the sum is preserved and exactly one transfer happened.
    let Ok(Reply::Ok(Value::List(balances))) = &seen[2][0].1 else { panic!("read-many: {seen:?}") };
    let expected = if matches!(outcomes[0], Ok(Reply::Ok(_))) { [7, 13] } else { [13, 7] };
    assert_eq!(balances, &expected.map(Value::Int).to_vec(), "{seen:?}");
    Ok(())
}

#[test]
fn immediate_transfers_serialise_and_both_commit() -> Result<(), Box<dyn std::error::Error>> {
    for mode in [JournalMode::Delete, JournalMode::Wal] {
        immediate_transfers_serialise(mode)?;
    }
    Ok(())
}

fn immediate_transfers_serialise(mode: JournalMode) -> Result<(), Box<dyn std::error::Error>> {
    let mut config = config_in(mode, BeginMode::Immediate, Duration::from_secs(5));
    config.initial = vec![(s("a"), Value::Int(10)), (s("b"), Value::Int(10))];
    let transfer = |from: &str, to: &str| Operation::Transfer { from: s(from), to: s(to), amount: 3 };
    let seen = run(
        config,
        vec![
            Script { start: Duration::ZERO, ops: vec![transfer("a", "b")] },
            Script { start: Duration::from_millis(5), ops: vec![transfer("b", "a")] },
        ],
    )?;
    assert!(seen.iter().all(|client| matches!(client[0].1, Ok(Reply::Ok(_)))), "{seen:?}");
    Ok(())
}

#[test]
fn a_store_has_one_to_max_connections_in_either_mode() {
    for mode in [JournalMode::Delete, JournalMode::Wal] {
        let two = StoreConfig { journal_mode: mode, connections: 2, ..StoreConfig::default() };
        assert!(two.validate().is_ok(), "{mode:?}");
        let none = StoreConfig { journal_mode: mode, connections: 0, ..StoreConfig::default() };
        assert!(none.validate().is_err(), "{mode:?}");
        let many = StoreConfig { journal_mode: mode, connections: sqlstore::MAX_CONNECTIONS + 1, ..two };
        assert!(many.validate().is_err(), "{mode:?}");
    }
}

/// Client `i`'s `n`-th list-append transaction: three micro-operations over keys k0..k2,
/// appends of values unique in the run.
fn list_txn(i: usize, n: usize) -> Operation {
    let ops = (0..3)
        .map(|j| {
            let key = s(&format!("k{}", (i + n + j) % 3));
            if (i + n + j).is_multiple_of(2) {
                let value = i64::try_from(i * 10_000 + n * 10 + j).unwrap_or(i64::MAX);
                MicroOp::Append { key, value: Value::Int(value) }
            } else {
                MicroOp::Read { key }
            }
        })
        .collect();
    Operation::Txn { ops }
}

/// The micro-operations of an `ok` list-append reply: (f, key, value).
fn completed(reply: &Value) -> Vec<(String, Value, Value)> {
    let Value::List(ops) = reply else { panic!("not a list: {reply:?}") };
    ops.iter()
        .map(|op| match op.as_list() {
            Some([Value::Str(f), key, value]) => (f.clone(), key.clone(), value.clone()),
            _ => panic!("not [f k v]: {op:?}"),
        })
        .collect()
}

/// Four clients run list-append transactions against four connections; afterwards every
/// committed transaction's appends are in the final lists and no refused one's are, each
/// value once; every read saw a prefix of the final list, ending with the transaction's own
/// appends to that key.
/// Returns how many transactions committed, were refused, and were refused for a busy
/// timeout.
fn list_append_is_consistent(
    mode: JournalMode,
    begin: BeginMode,
    busy_timeout: Duration,
) -> Result<(u64, u64, u64), Box<dyn std::error::Error>> {
    let config = StoreConfig {
        connections: 4,
        busy_timeout,
        cpu: CpuCost { per_message: Duration::from_millis(3), per_byte: Duration::ZERO },
        ..config_in(mode, begin, Duration::ZERO)
    };
    let mut scripts: Vec<Script> = (0..4)
        .map(|i| Script {
            start: Duration::from_millis(u64::try_from(i).unwrap_or(0)),
            ops: (0..30).map(|n| list_txn(i, n)).collect(),
        })
        .collect();
    let read_all = (0..3).map(|k| MicroOp::Read { key: s(&format!("k{k}")) }).collect();
    scripts.push(Script { start: AFTER_THE_OTHERS, ops: vec![Operation::Txn { ops: read_all }] });
    let seen = run(config, scripts)?;
    let Some((_, Ok(Reply::Ok(last)))) = seen[4].first() else { panic!("final read: {:?}", seen[4]) };
    let finals: std::collections::BTreeMap<Value, Vec<Value>> = completed(last)
        .into_iter()
        .map(|(_, key, list)| (key, list.as_list().map(<[Value]>::to_vec).unwrap_or_default()))
        .collect();
    let mut present: Vec<&Value> = finals.values().flatten().collect();
    present.sort();
    let total = present.len();
    present.dedup();
    assert_eq!(present.len(), total, "a value appended twice: {finals:?}");
    let (mut committed, mut refused, mut timeouts) = (0, 0, 0);
    for (i, client) in seen.iter().take(4).enumerate() {
        for (n, (_, outcome)) in client.iter().enumerate() {
            let Operation::Txn { ops } = list_txn(i, n) else { unreachable!() };
            match outcome {
                Ok(Reply::Ok(reply)) => {
                    committed += 1;
                    let mut own: std::collections::BTreeMap<Value, Vec<Value>> = Default::default();
                    for (f, key, value) in completed(reply) {
                        let list = finals.get(&key).cloned().unwrap_or_default();
                        if f == "append" {
                            assert!(list.contains(&value), "committed append {value:?} lost: {finals:?}");
                            own.entry(key).or_default().push(value);
                        } else {
                            let read = value.as_list().map(<[Value]>::to_vec).unwrap_or_default();
                            assert!(list.starts_with(&read), "read {read:?} of {key:?} is not a prefix of {list:?}");
                            let mine = own.get(&key).cloned().unwrap_or_default();
                            assert!(read.ends_with(&mine), "read {read:?} misses its own appends {mine:?}");
                        }
                    }
                }
                Ok(Reply::Fail(why)) => {
                    assert!(why.starts_with(DATABASE_LOCKED), "unexpected refusal {why}");
                    refused += 1;
                    timeouts += u64::from(why == DATABASE_LOCKED);
                    for op in &ops {
                        if let MicroOp::Append { key, value } = op {
                            let list = finals.get(key).cloned().unwrap_or_default();
                            assert!(!list.contains(value), "refused append {value:?} is present: {finals:?}");
                        }
                    }
                }
                Err(error) => panic!("no definite answer without faults: {error}"),
            }
        }
    }
    Ok((committed, refused, timeouts))
}

#[test]
fn list_append_with_four_connections_has_no_simple_anomaly() -> Result<(), Box<dyn std::error::Error>> {
    let short = Duration::from_millis(30);
    for mode in [JournalMode::Delete, JournalMode::Wal] {
        let (committed, refused, _) = list_append_is_consistent(mode, BeginMode::Immediate, short)?;
        assert!(committed > 0, "{mode:?}, immediate: nothing committed");
        let (committed_deferred, refused_deferred, _) = list_append_is_consistent(mode, BeginMode::Deferred, short)?;
        assert!(committed_deferred > 0, "{mode:?}, deferred: nothing committed");
        assert!(refused + refused_deferred > 0, "{mode:?}: no contention at all: the test shows nothing");
    }
    Ok(())
}

/// Regression: a list-append step reads, then writes; a deferred transaction refused the
/// write lock there holds SHARED, and waiting for it (as the server once did) deadlocked with
/// the committer waiting for readers to leave, until the busy timeout. SQLite does not wait
/// there: with a long timeout no transaction may be refused for a timeout.
#[test]
fn deferred_readers_that_ask_to_write_are_refused_at_once_not_after_the_timeout(
) -> Result<(), Box<dyn std::error::Error>> {
    for mode in [JournalMode::Delete, JournalMode::Wal] {
        let (committed, refused, timeouts) =
            list_append_is_consistent(mode, BeginMode::Deferred, Duration::from_secs(5))?;
        assert!(committed > 0 && refused > 0, "{mode:?}: committed {committed}, refused {refused}");
        assert_eq!(timeouts, 0, "{mode:?}: refused after the busy timeout: a deadlock was waited out");
    }
    Ok(())
}
