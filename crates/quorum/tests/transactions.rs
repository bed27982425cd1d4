//! The bank and list-append workloads on the quorum store, which has no transactions: the
//! client runs each transfer, multi-key read and list-append transaction step by step (see
//! `quorum::steps`). One client alone keeps the books and sees its own appends in order (the
//! steps are right); concurrent clients break both, because nothing isolates the steps; the
//! opening balances are on every replica before the first request.

use std::collections::BTreeMap;
use std::time::Duration;

use history::{Event, EventType, Value};
use quorum::{ClusterConfig, QuorumSystem};
use sim::steps::Guard;
use sim::{Bank, ListAppend, SimConfig, Workload};

fn config(seed: u64, workload: impl Workload, clients: usize) -> SimConfig {
    let mut config = SimConfig::new(seed, workload);
    config.duration = Duration::from_secs(2);
    config.op_timeout = Duration::from_millis(500);
    config.think_time = Duration::ZERO;
    config.client_hosts = 1;
    config.clients_per_host = clients;
    config
}

fn run(config: &SimConfig) -> Vec<Event> {
    run_guarded(config, Guard::Plain)
}

/// [`run`] with the clients' steps writing back as `guard` says.
fn run_guarded(config: &SimConfig, guard: Guard) -> Vec<Event> {
    let system = QuorumSystem::new(ClusterConfig { guard, ..ClusterConfig::new(3) });
    sim::run(system, config).unwrap_or_else(|e| panic!("seed {}: the run failed: {e}", config.seed)).history
}

/// The totals of every `ok` read of all balances.
fn totals(history: &[Event]) -> Vec<i64> {
    history
        .iter()
        .filter(|e| e.kind == EventType::Ok && e.f == "read-many")
        .map(|e| e.value.as_list().expect("balances").iter().map(|b| b.as_int().expect("an integer balance")).sum())
        .collect()
}

#[test]
fn the_opening_balances_are_on_every_replica_before_the_first_read() {
    let bank = Bank { transfers: 0, reads: 1, ..Bank::default() };
    let history = run(&config(1, bank, 4));
    let opening: Vec<Value> = bank.opening_balances().into_iter().map(Value::Int).collect();
    let reads: Vec<&Event> = history.iter().filter(|e| e.kind == EventType::Ok && e.f == "read-many").collect();
    assert!(reads.len() > 20, "{} reads", reads.len());
    for read in reads {
        assert_eq!(read.value, Value::List(opening.clone()), "at {:?}", read.time);
    }
}

#[test]
fn one_client_alone_keeps_the_books() {
    let history = run(&config(2, Bank::default(), 1));
    let transfers = history.iter().filter(|e| e.kind == EventType::Ok && e.f == "transfer").count();
    let totals = totals(&history);
    assert!(transfers > 5 && totals.len() > 5, "{transfers} transfers, {} reads", totals.len());
    assert!(totals.iter().all(|&t| t == 100), "{totals:?}");
}

#[test]
fn concurrent_clients_without_transactions_break_the_books() {
    let history = run(&config(3, Bank::default(), 10));
    let totals = totals(&history);
    assert!(totals.iter().any(|&t| t != 100), "every one of {} reads added up", totals.len());
}

/// `[f k v]` micro-operations of the `ok` transactions, in completion order.
fn completed_micro_ops(history: &[Event]) -> Vec<(String, i64, Value)> {
    history
        .iter()
        .filter(|e| e.kind == EventType::Ok && e.f == "txn")
        .flat_map(|e| e.value.as_list().expect("micro-operations").iter())
        .map(|op| {
            let [f, k, v] = op.as_list().expect("[f k v]") else { panic!("not [f k v]: {op}") };
            (f.as_str().expect("f").to_owned(), k.as_int().expect("k"), v.clone())
        })
        .collect()
}

#[test]
fn one_client_alone_reads_its_appends_in_order() {
    let history = run(&config(4, ListAppend::default(), 1));
    let mut lists: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
    let mut reads = 0;
    for (f, key, v) in completed_micro_ops(&history) {
        let list = lists.entry(key).or_default();
        match f.as_str() {
            "append" => list.push(v),
            "r" => {
                reads += 1;
                assert_eq!(v, Value::List(list.clone()), "key {key}");
            }
            other => panic!("unexpected micro-operation {other}"),
        }
    }
    assert!(reads > 20, "{reads} reads");
}

#[test]
fn concurrent_read_modify_write_appends_lose_some() {
    let history = run(&config(5, ListAppend { keys: 2, ..ListAppend::default() }, 10));
    let (appends, lost) = lost_appends(&history);
    assert!(appends > 50, "{appends} appends");
    assert!(lost > 0, "no acknowledged append of {appends} was lost");
}

/// Guarded by compare-and-set (Paxos), the same appends lose nothing, but the transactions
/// are still not isolated: the checker still finds anomalies (Elle's lost update among them:
/// two transactions that read one version of a key and both appended to it, the second
/// after re-reading inside its append).
#[test]
fn appends_guarded_by_compare_and_set_lose_none_but_are_not_isolated() {
    let history = run_guarded(&config(5, ListAppend { keys: 2, ..ListAppend::default() }, 10), Guard::Cas);
    let (appends, lost) = lost_appends(&history);
    assert!(appends > 50, "{appends} appends");
    assert_eq!(lost, 0, "an acknowledged append of {appends} was lost");
    let deadline = || false;
    let options = checker::txn::TxnOptions { deadline: &deadline, memory_limit_bytes: 1 << 30, realtime: true };
    let report = checker::txn::check_list_append(&history, &options).expect("a well-formed history");
    assert!(!report.anomalies.is_empty(), "guarded steps isolated every transaction");
}

/// Acknowledged appends (of `history`'s `ok` transactions), and how many of them a later
/// read missed.
fn lost_appends(history: &[Event]) -> (usize, usize) {
    // Each transaction's invocation time, by process, to time its completion's reads.
    let mut invoked: BTreeMap<String, u64> = BTreeMap::new();
    let mut appends: Vec<(u64, i64, Value)> = Vec::new(); // (acknowledged at, key, value)
    let mut last_read: BTreeMap<i64, (u64, Vec<Value>)> = BTreeMap::new(); // key -> (began, list)
    for event in history {
        let process = event.process.to_string();
        if event.kind == EventType::Invoke {
            invoked.insert(process, event.time.expect("timed"));
            continue;
        }
        if event.kind != EventType::Ok || event.f != "txn" {
            continue;
        }
        let began = invoked[&process];
        for (f, key, v) in completed_micro_ops(std::slice::from_ref(event)) {
            match f.as_str() {
                "append" => appends.push((event.time.expect("timed"), key, v)),
                _ => {
                    let list = v.as_list().expect("a list").to_vec();
                    if last_read.get(&key).is_none_or(|(at, _)| *at <= began) {
                        last_read.insert(key, (began, list));
                    }
                }
            }
        }
    }
    // A read that began after an append was acknowledged, at QUORUM without faults, sees that
    // append's write or a later write of the key: an append missing from it was overwritten
    // by a read-modify-write that had not seen it, a lost update.
    let lost = appends
        .iter()
        .filter(|(acked, key, v)| last_read.get(key).is_some_and(|(began, list)| acked < began && !list.contains(v)))
        .count();
    (appends.len(), lost)
}
