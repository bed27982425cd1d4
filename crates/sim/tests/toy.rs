//! The harness against the toy system of `common`: one in-memory server `db` speaking a
//! length-prefixed JSON frame protocol over turmoil TCP.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use history::{Event, EventType, Process, Value};
use sim::{ConfigError, Fault, KeyDistribution, Kv, Register, Schedule, Set, SimConfig, SimError, Workload};

mod common;

use common::Toy;

// ---------------------------------------------------------------------------------------------
// Helpers.

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn config(seed: u64, workload: impl Workload) -> SimConfig {
    let mut config = SimConfig::new(seed, workload);
    config.duration = secs(4.0);
    config.client_hosts = 2;
    config.clients_per_host = 3;
    config.op_timeout = secs(0.5);
    config.settle = secs(1.0);
    config
}

fn process_of(event: &Event) -> u64 {
    match event.process {
        Process::Client(p) => p,
        Process::Named(ref name) => panic!("unexpected named process {name}"),
    }
}

/// Each invocation with its completion, in invocation order.
fn operations(history: &[Event]) -> Vec<(&Event, &Event)> {
    let mut pending: BTreeMap<u64, &Event> = BTreeMap::new();
    let mut ops = Vec::new();
    for event in history {
        let p = process_of(event);
        if event.kind == EventType::Invoke {
            assert!(pending.insert(p, event).is_none(), "process {p} invokes twice");
        } else {
            let call = pending.remove(&p).expect("completion of a pending invocation");
            assert_eq!((&call.f, &call.key), (&event.f, &event.key));
            ops.push((call, event));
        }
    }
    assert!(pending.is_empty(), "every operation completes: {pending:?}");
    ops.sort_by_key(|(call, _)| call.time);
    ops
}

fn kinds(ops: &[(&Event, &Event)]) -> BTreeMap<EventType, usize> {
    let mut counts = BTreeMap::new();
    for (_, done) in ops {
        *counts.entry(done.kind).or_insert(0) += 1;
    }
    counts
}

fn at(event: &Event) -> Duration {
    Duration::from_nanos(event.time.expect("timed"))
}

fn check(events: &[Event]) -> checker::Outcome {
    checker::check_named("cas-register", events, &Default::default()).expect("checkable").outcome
}

// ---------------------------------------------------------------------------------------------
// Tests.

#[test]
fn same_seed_same_history_different_seed_different_history() {
    let mut c = config(7, Register::default());
    c.faults = Schedule::new()
        .at(secs(1.0), Fault::partition(["client-1"], ["db"]))
        .at(secs(1.5), Fault::Heal)
        .at(secs(2.0), Fault::crash("db"))
        .at(secs(2.3), Fault::restart("db"));
    let a = sim::run(Toy::new(), &c).expect("runs");
    let b = sim::run(Toy::new(), &c).expect("runs");
    assert!(a.history.len() > 100, "{} events", a.history.len());
    assert_eq!(history::jsonl::to_string(&a.history), history::jsonl::to_string(&b.history));
    assert_eq!((a.messages, a.steps, a.elapsed), (b.messages, b.steps, b.elapsed));

    c.seed = 8;
    let other = sim::run(Toy::new(), &c).expect("runs");
    assert_ne!(history::jsonl::to_string(&a.history), history::jsonl::to_string(&other.history));
}

#[test]
fn fault_free_histories_complete_and_are_linearizable() {
    let kv = Kv::new(5, KeyDistribution::Zipf(1.0));
    for c in [config(1, Register::default()), config(1, kv)] {
        let workload = &c.workload;
        let result = sim::run(Toy::new(), &c).expect("runs");
        let ops = operations(&result.history);
        let counts = kinds(&ops);
        assert_eq!(counts.get(&EventType::Info), None, "{workload}: {counts:?}");
        assert!(counts[&EventType::Ok] > 500, "{workload}: {counts:?}");
        assert!(counts.get(&EventType::Fail).copied().unwrap_or(0) > 0, "{workload}: some cas fail: {counts:?}");
        // Processes 0..6 only, besides the final readers: nobody was retired.
        let end = c.duration.as_nanos() as u64;
        assert!(result.history.iter().filter(|e| e.time.is_some_and(|t| t < end)).all(|e| process_of(e) < 6));
        // Sorted by time.
        assert!(result.history.windows(2).all(|w| w[0].time <= w[1].time));
        // Every request and every reply counted.
        assert_eq!(result.messages, 2 * ops.len() as u64);
        assert!(result.faults.is_empty());
        assert_eq!(check(&result.history), checker::Outcome::Linearizable, "{workload}");
        if workload.is::<Kv>() {
            let keys: BTreeSet<_> = result.history.iter().map(|e| e.key.clone().expect("keyed")).collect();
            assert!(keys.len() > 1, "{keys:?}");
        }
    }
}

#[test]
fn a_partition_cuts_off_one_client_host_only() {
    let mut c = config(3, Register::default());
    // Short enough that lost requests time out, and reconnects are tried, within the window.
    c.op_timeout = secs(0.2);
    c.faults = Schedule::new().at(secs(1.0), Fault::partition(["client-0"], ["db"])).at(secs(2.0), Fault::Heal);
    let result = sim::run(Toy::new(), &c).expect("runs");
    assert_eq!(
        result.faults,
        [(secs(1.0), Fault::partition(["client-0"], ["db"])), (secs(2.0), Fault::Heal)],
        "applied on time, nothing left to recover"
    );

    let total = c.total_clients() as u64;
    let host = |event: &Event| (process_of(event) % total) / c.clients_per_host as u64;
    let ops = operations(&result.history);
    let window = |call: &Event| at(call) > secs(1.001) && at(call) < secs(1.999);
    let cut_off: Vec<_> = ops.iter().filter(|(call, _)| host(call) == 0 && window(call)).collect();
    assert!(!cut_off.is_empty());
    assert!(cut_off.iter().all(|(_, done)| done.kind != EventType::Ok), "client-0 reaches nobody in the window");
    assert!(cut_off.iter().any(|(_, done)| done.kind == EventType::Fail), "reconnects are refused");
    let spared: Vec<_> = ops.iter().filter(|(call, _)| host(call) == 1 && window(call)).collect();
    assert!(spared.len() > 50);
    assert!(ops.iter().filter(|(call, _)| host(call) == 1).all(|(_, done)| done.kind != EventType::Info));
    let after: Vec<_> = ops.iter().filter(|(call, _)| host(call) == 0 && at(call) > secs(2.5)).collect();
    assert!(after.iter().all(|(_, done)| done.kind != EventType::Info) && !after.is_empty(), "healed");

    // Requests on open connections were lost: info, and those processes are retired.
    let mut retired = BTreeSet::new();
    for event in &result.history {
        let p = process_of(event);
        assert!(!retired.contains(&p), "retired process {p} invokes again");
        if event.kind == EventType::Info {
            retired.insert(p);
        }
    }
    assert!(!retired.is_empty());
    assert!(result.history.iter().any(|e| process_of(e) >= total), "new process ids take over");
    assert_eq!(check(&result.history), checker::Outcome::Linearizable);

    let merged = result.history_with_nemesis();
    assert_eq!(merged.len(), result.history.len() + 2);
    assert!(merged.windows(2).all(|w| w[0].time <= w[1].time));
}

#[test]
fn the_pause_after_a_fail_equals_the_pause_after_a_timeout() {
    let mut c = config(3, Register::default());
    c.op_timeout = secs(0.2);
    c.faults = Schedule::new().at(secs(1.0), Fault::partition(["client-0"], ["db"])).at(secs(2.0), Fault::Heal);
    let result = sim::run(Toy::new(), &c).expect("runs");
    // Each logical client's operations (a retired process continues as id + total), in order:
    // the pause after one is the gap from its completion to the client's next invocation.
    let total = c.total_clients() as u64;
    let mut clients: BTreeMap<u64, Vec<(&Event, &Event)>> = BTreeMap::new();
    for (call, done) in operations(&result.history) {
        if at(call) < c.duration {
            clients.entry(process_of(call) % total).or_default().push((call, done));
        }
    }
    let mut pauses: BTreeMap<EventType, BTreeSet<Duration>> = BTreeMap::new();
    for ops in clients.values() {
        for pair in ops.windows(2) {
            let ((_, done), (next, _)) = (pair[0], pair[1]);
            pauses.entry(done.kind).or_default().insert(at(next) - at(done));
        }
    }
    // Fails: refused reconnects across the cut, and cas comparisons that failed; infos:
    // requests lost on open connections, timed out.
    let one = |pause: Duration| BTreeSet::from([pause]);
    assert_eq!(pauses.get(&EventType::Fail), Some(&one(c.backoff)), "{pauses:?}");
    assert_eq!(pauses.get(&EventType::Info), Some(&one(c.backoff)), "{pauses:?}");
    assert_eq!(pauses.get(&EventType::Ok), Some(&one(c.think_time)), "{pauses:?}");
    assert!(c.backoff > c.think_time);
}

#[test]
fn a_crashed_server_restarts_empty() {
    let mut c = config(4, Register::default());
    c.faults = Schedule::new().at(secs(1.0), Fault::crash("db")).at(secs(1.5), Fault::restart("db"));
    let result = sim::run(Toy::new(), &c).expect("runs");
    let ops = operations(&result.history);
    let outage: Vec<_> = ops.iter().filter(|(call, _)| at(call) > secs(1.001) && at(call) < secs(1.499)).collect();
    assert!(!outage.is_empty());
    assert!(outage.iter().all(|(_, done)| done.kind != EventType::Ok), "nothing succeeds while db is down");
    assert!(ops.iter().any(|(call, done)| at(call) > secs(2.6) && done.kind == EventType::Ok), "back up");

    // A crash left for the harness to undo: restarted at `duration`, and recorded.
    c.faults = Schedule::new().at(secs(3.0), Fault::crash("db"));
    let result = sim::run(Toy::new(), &c).expect("runs");
    assert_eq!(result.faults, [(secs(3.0), Fault::crash("db")), (c.duration, Fault::restart("db"))]);
}

#[test]
fn the_set_workload_ends_with_a_final_read() {
    let mut c = config(5, Set);
    c.duration = secs(2.0);
    let result = sim::run(Toy::new(), &c).expect("runs");
    let ops = operations(&result.history);
    let (call, done) = ops.last().expect("operations");
    assert_eq!((call.f.as_str(), done.kind, call.key.clone()), ("read", EventType::Ok, None));
    assert!(at(call) >= c.duration + c.settle);
    assert!(process_of(call) >= c.total_clients() as u64, "a fresh process");
    let read: BTreeSet<Value> = done.value.as_list().expect("a list").iter().cloned().collect();
    let added: BTreeSet<Value> =
        ops.iter().filter(|(c, d)| c.f == "add" && d.kind == EventType::Ok).map(|(c, _)| c.value.clone()).collect();
    assert!(added.len() > 100);
    assert_eq!(read, added);
    assert_eq!(ops.iter().filter(|(c, _)| c.f == "read").count(), 1);
}

#[test]
fn the_final_read_retries_until_the_server_answers() {
    let mut c = config(6, Set);
    c.duration = secs(1.0);
    c.op_timeout = secs(0.1);
    c.settle = secs(0.11);
    // Crashed near the end, restarted by the harness at `duration`; the server takes 360 ms to
    // listen again, so the first read attempts are refused and retried.
    c.faults = Schedule::new().at(secs(0.9), Fault::crash("db"));
    let slow = Toy { startup: secs(0.36), ..Toy::new() };
    let result = sim::run(slow, &c).expect("runs");
    assert_eq!(result.faults.last(), Some(&(secs(1.0), Fault::restart("db"))));
    let ops = operations(&result.history);
    let reads: Vec<_> = ops.iter().filter(|(call, _)| call.f == "read").map(|(_, done)| done.kind).collect();
    // Refused at 1.11, 1.21, 1.31 s (the server listens from 1.36 s), answered at 1.41 s.
    assert_eq!(reads, [EventType::Fail, EventType::Fail, EventType::Fail, EventType::Ok]);
}

#[test]
fn a_failing_server_is_a_typed_error() {
    let broken = Toy { broken: true, ..Toy::new() };
    let err = sim::run(broken, &config(1, Register::default())).expect_err("the server fails");
    assert!(matches!(&err, SimError::Host { message, .. } if message.contains("refuses to start")), "{err}");
}

#[test]
fn bad_configurations_are_typed_errors() {
    let mut c = config(1, Register::default());
    c.client_hosts = 0;
    assert!(matches!(sim::run(Toy::new(), &c), Err(SimError::Config(ConfigError::NoClients { .. }))));

    let mut c = config(1, Register::default());
    c.faults = Schedule::new().at(secs(1.0), Fault::partition(["client-0"], ["dbx"]));
    let err = sim::run(Toy::new(), &c).expect_err("unknown host");
    assert!(matches!(&err, SimError::Config(ConfigError::UnknownHost { host, .. }) if host == "dbx"), "{err}");

    let mut c = config(1, Register::default());
    c.faults = Schedule::new().at(secs(1.0), Fault::crash("client-1"));
    assert!(matches!(sim::run(Toy::new(), &c), Err(SimError::Config(ConfigError::UnknownHost { .. }))));
}

/// Throughput of the harness itself: `cargo test --release -p sim --test toy -- --ignored
/// --nocapture speed`.
#[test]
#[ignore = "a measurement, not a check"]
fn speed() {
    for think_ms in [10, 0] {
        let mut c = SimConfig::new(1, Register::default());
        c.duration = secs(10.0);
        c.client_hosts = 2;
        c.clients_per_host = 50;
        c.think_time = Duration::from_millis(think_ms);
        let started = Instant::now();
        let result = sim::run(Toy::new(), &c).expect("runs");
        let wall = started.elapsed();
        let ops = result.history.len() / 2;
        println!(
            "think {think_ms} ms: {ops} ops, {} messages, {} steps, {:?} simulated in {wall:?} wall: {:.0} ops per wall second",
            result.messages,
            result.steps,
            result.elapsed,
            ops as f64 / wall.as_secs_f64()
        );
    }
}

#[test]
fn a_set_settle_shorter_than_an_operation_in_flight_is_refused() {
    let mut c = config(1, Set);
    c.settle = secs(0.2);
    let err = sim::run(Toy::new(), &c).expect_err("settle too short");
    assert!(matches!(err, SimError::Config(ConfigError::SettleTooShort { .. })), "{err}");
}

#[test]
fn every_run_ends_with_a_quiet_period() {
    let c = config(2, Register::default());
    let result = sim::run(Toy::new(), &c).expect("runs");
    assert!(result.elapsed >= c.duration + c.settle, "ran for {:?}", result.elapsed);
    let quiet = c.duration.as_nanos() as u64..(c.duration + c.settle).as_nanos() as u64;
    let invokes: Vec<&history::Event> = result.history.iter().filter(|e| e.kind == EventType::Invoke).collect();
    assert!(invokes.iter().all(|e| e.time.is_some_and(|t| !quiet.contains(&t))), "nothing is invoked while quiet");
    // After it: the final read, once (nothing fails here), by a process no client used.
    let finals: Vec<&&history::Event> = invokes.iter().filter(|e| e.time.is_some_and(|t| t >= quiet.end)).collect();
    assert_eq!(finals.len(), 1, "{finals:?}");
    assert_eq!((finals[0].f.as_str(), &finals[0].key), ("read", &None));
    assert!(process_of(finals[0]) >= c.total_clients() as u64);
}

#[test]
fn a_kv_run_ends_with_one_final_read_of_every_key() {
    let mut c = config(3, Kv::new(7, KeyDistribution::Uniform));
    c.duration = secs(1.0);
    let result = sim::run(Toy::new(), &c).expect("runs");
    let after = (c.duration + c.settle).as_nanos() as u64;
    let mut keys: Vec<String> = result
        .history
        .iter()
        .filter(|e| e.kind == EventType::Invoke && e.time.is_some_and(|t| t >= after))
        .map(|e| {
            assert_eq!(e.f, "read");
            e.key.as_ref().map(ToString::to_string).unwrap_or_default()
        })
        .collect();
    keys.sort();
    let expected: Vec<String> = (0..7).map(|k| sim::key_name(k).to_string()).collect();
    assert_eq!(keys, expected);
}
