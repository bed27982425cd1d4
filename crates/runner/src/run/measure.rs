//! One run of one system for one seed, measured: the simulation, the checks, and the numbers
//! of a [`SeedRecord`].
//!
//! Definitions (the README's table legend repeats them):
//! - the *operation phase* is `0 .. duration`; operations invoked later are the final reads,
//!   which are checked but not counted in shares, availability, latency or throughput;
//! - an operation counts as *during a fault* when it was invoked inside a fault window (from a
//!   fault's start to the heal, restart or clock reset that ends the last fault in effect);
//! - *availability* (per operation) is the share of invoked operations that ended `ok`;
//! - *time-availability* is the share of the clients' time inside fault windows during which
//!   they could complete an operation (see [`client_time`]): unlike the per-operation share it
//!   does not depend on how many operations a failing client manages to attempt;
//! - *latency* is simulated time from invocation to an `ok` completion.

use std::collections::BTreeMap;
use std::time::Duration;

use experiment::spec::{Experiment, System};
use experiment::store::Replicas;
use experiment::value::seconds;
use experiment::workload::Limits;
use history::{Event, EventType, Process};
use sim::Fault;

use super::record::{Convergence, FailoverRecord, SeedRecord};

/// How often a replicated store's replicas are compared, for convergence.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);

/// What one run produced.
#[derive(Debug)]
pub struct Measured {
    /// The numbers.
    pub record: SeedRecord,
    /// The history with the nemesis's events, as written to a violation's JSON Lines file.
    pub history: Vec<Event>,
    /// Why the history violated a property (when it did).
    pub explanation: Option<String>,
    /// The fault windows, in simulated time.
    pub windows: Vec<(Duration, Duration)>,
    /// The faults as applied.
    pub faults: Vec<(Duration, Fault)>,
}

/// Runs `system` of `experiment` under `seed` and measures it. The checker gets
/// `check_timeout` of wall time per history (a longer search gives the verdict `unknown`).
pub fn measure(experiment: &Experiment, system: &System, seed: u64, check_timeout: Duration) -> Measured {
    let config = match experiment.sim_config(system, seed) {
        Ok(config) => config,
        Err(e) => return failed(system, seed, format!("the fault schedule cannot be drawn: {e}")),
    };
    let ran = match system.spec.run(&config, Some(SAMPLE_EVERY)) {
        Ok(ran) => ran,
        Err(e) => return failed(system, seed, e.to_string()),
    };
    let result = ran.result;
    let history = result.history_with_nemesis();
    let windows = sim::fault_windows(&result.faults);
    let mut record = count(&system.name, seed, &history, &windows, config.duration);
    let time = client_time(&history, &windows, config.duration, config.total_clients() as u64);
    record.faulty_client_us = time.total.as_micros() as u64;
    record.faulty_client_ok_us = time.available.as_micros() as u64;
    record.properties = Some(system.spec.properties());
    record.messages = result.messages;
    record.faults = result.faults.iter().map(|(at, fault)| format!("{fault} at {}", seconds(*at))).collect();
    record.convergence = converged(ran.replicas, config.duration);
    record.failover = result.leaders.as_ref().map(|log| FailoverRecord::from_log(log, &result.faults, config.duration));

    let limits = Limits { timeout: check_timeout, memory_limit_bytes: MEMORY_LIMIT };
    let judged = experiment.workload.judge(&history, &limits);
    record.check = judged.check;
    record.stale_reads = judged.stale_reads;
    record.lost_writes = judged.lost_writes;
    record.resolution_us = Some(u64::try_from(config.tick.as_micros()).unwrap_or(u64::MAX));
    record.lost_window_us = judged.lost_window.map(|(first, last)| [first / 1000, last / 1000]);
    record.acknowledged_writes = judged.acknowledged_writes;
    record.unjudged_keys = judged.unjudged_keys;
    record.txn = judged.txn.clone();
    let explanation = (!judged.explanation.is_empty()).then(|| {
        let applied: Vec<String> =
            result.faults.iter().map(|(at, fault)| format!("{fault} at {}", seconds(*at))).collect();
        let applied = if applied.is_empty() { "none".to_owned() } else { applied.join("; ") };
        format!("{} seed {seed}\nfaults applied: {applied}\n\n{}", system.name, judged.explanation)
    });
    Measured { record, history, explanation, windows, faults: result.faults }
}

/// What a run that could not complete measured: nothing, but the record still says what the
/// system is, so that a judgment that would have used it counts the seed as unknown instead of
/// losing the system.
pub fn failed(system: &System, seed: u64, error: String) -> Measured {
    let mut record = SeedRecord::failed(&system.name, seed, error);
    record.properties = Some(system.spec.properties());
    Measured { record, history: Vec::new(), explanation: None, windows: Vec::new(), faults: Vec::new() }
}

/// The checker's memory limit per history.
const MEMORY_LIMIT: usize = 512 << 20;

/// Simulated nanoseconds of an event (0 when untimed: the harness times every event).
fn at(event: &Event) -> Duration {
    Duration::from_nanos(event.time.unwrap_or(0))
}

/// Whether `t` falls inside one of `windows` (sorted, disjoint, half-open).
pub fn in_window(windows: &[(Duration, Duration)], t: Duration) -> bool {
    let i = windows.partition_point(|(start, _)| *start <= t);
    i > 0 && t < windows[i - 1].1
}

/// One client operation: its invocation and how it ended.
#[derive(Debug, Clone, Copy)]
pub struct Op<'a> {
    /// The invocation.
    pub invoke: &'a Event,
    /// Its completion (`None`: never completed).
    pub completion: Option<&'a Event>,
}

/// Whether an operation named `f` changes state when it succeeds (a `cas` whose comparison
/// fails ends `fail`, so asked of `ok` operations this counts only successful ones).
fn is_write(f: &str) -> bool {
    matches!(f, "write" | "cas" | "add")
}

/// The client operations of `history` in invocation order.
pub fn operations(history: &[Event]) -> Vec<Op<'_>> {
    let mut ops: Vec<Op<'_>> = Vec::new();
    let mut pending: BTreeMap<u64, usize> = BTreeMap::new();
    for event in history {
        let Process::Client(process) = event.process else { continue };
        if event.kind == EventType::Invoke {
            pending.insert(process, ops.len());
            ops.push(Op { invoke: event, completion: None });
        } else if let Some(index) = pending.remove(&process) {
            ops[index].completion = Some(event);
        }
    }
    ops
}

/// The counts of a record, from the history.
fn count(
    system: &str,
    seed: u64,
    history: &[Event],
    windows: &[(Duration, Duration)],
    duration: Duration,
) -> SeedRecord {
    let mut record = SeedRecord::failed(system, seed, String::new());
    record.error = None;
    record.duration_ms = duration.as_millis() as u64;
    for op in operations(history) {
        record.all_ops += 1;
        let invoked = at(op.invoke);
        if invoked >= duration {
            continue;
        }
        let kind = op.completion.map_or(EventType::Info, |c| c.kind);
        let ok = kind == EventType::Ok;
        record.ops += 1;
        match kind {
            EventType::Ok => record.ok += 1,
            EventType::Fail => record.fail += 1,
            _ => record.info += 1,
        }
        if in_window(windows, invoked) {
            record.faulty_ops += 1;
            record.faulty_ok += u64::from(ok);
        } else {
            record.healthy_ops += 1;
            record.healthy_ok += u64::from(ok);
        }
        if let (true, Some(done)) = (ok, op.completion) {
            let micros = at(done).saturating_sub(invoked).as_micros() as u64;
            *record.latency_us.entry(micros).or_insert(0) += 1;
            if is_write(&op.invoke.f) {
                *record.write_latency_us.entry(micros).or_insert(0) += 1;
            }
            if op.invoke.f == "cas" {
                *record.cas_latency_us.entry(micros).or_insert(0) += 1;
            }
        }
    }
    record
}

/// The logical clients' time inside fault windows ([`client_time`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientTime {
    /// Client time inside fault windows, summed over the clients.
    pub total: Duration,
    /// Of it, the time during which the client was available.
    pub available: Duration,
}

/// How long the logical clients were available during faults.
///
/// A logical client is a process id modulo `total_clients` (a retired process continues as
/// id + `total_clients`). Its timeline runs from its first invocation to `duration` (the end of
/// the client phase; later invocations, the final reads, are left out) and is cut at its
/// invocations: the interval from one invocation to the client's next (or to `duration`) is
/// *available* when that operation ended `ok` and *unavailable* otherwise (`fail`, `info`,
/// never completed). `total` sums, over clients, the parts of their timelines inside
/// `windows`; `available` the available parts. The pause after an operation belongs to it, so
/// a client cut off from its server scores about zero whether its requests fail fast or time
/// out, and however many it attempts.
pub fn client_time(
    history: &[Event],
    windows: &[(Duration, Duration)],
    duration: Duration,
    total_clients: u64,
) -> ClientTime {
    let mut timelines: BTreeMap<u64, Vec<(Duration, bool)>> = BTreeMap::new();
    for op in operations(history) {
        let Process::Client(process) = op.invoke.process else { continue };
        let invoked = at(op.invoke);
        if invoked >= duration || total_clients == 0 {
            continue;
        }
        let ok = op.completion.is_some_and(|c| c.kind == EventType::Ok);
        timelines.entry(process % total_clients).or_default().push((invoked, ok));
    }
    let mut time = ClientTime::default();
    for timeline in timelines.values() {
        let ends = timeline.iter().skip(1).map(|(next, _)| *next).chain([duration]);
        for (&(start, ok), end) in timeline.iter().zip(ends) {
            let inside = overlap(windows, start, end);
            time.total += inside;
            if ok {
                time.available += inside;
            }
        }
    }
    time
}

/// How much of `[start, end)` lies inside `windows` (sorted, disjoint, half-open).
fn overlap(windows: &[(Duration, Duration)], start: Duration, end: Duration) -> Duration {
    let first = windows.partition_point(|(_, until)| *until <= start);
    windows[first..]
        .iter()
        .take_while(|(from, _)| *from < end)
        .map(|(from, until)| (*until).min(end).saturating_sub((*from).max(start)))
        .sum()
}

/// How long after the repair phase began the replicas agreed for good.
///
/// The reference is `duration`, the end of the client phase: the harness heals every fault
/// then, and no process invokes anything afterwards (`sim::run`'s phases), so what follows is
/// the system repairing itself with client writes stopped. Replicas that agreed before it and
/// stayed agreed score 0; replicas still apart at the end of the run never converged.
fn converged(replicas: Replicas, duration: Duration) -> Convergence {
    match replicas {
        Replicas::Single => Convergence::NotReplicated,
        Replicas::AgreedSince(since) => Convergence::AfterMs(since.saturating_sub(duration).as_millis() as u64),
        Replicas::Apart => Convergence::Never,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use history::Value;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn event(process: u64, kind: EventType, at: Duration) -> Event {
        let mut event = Event::new(Process::Client(process), kind, "write", Value::Int(1));
        event.time = Some(at.as_nanos() as u64);
        event
    }

    /// The events of logical client `client` of `total` from time 0 until `until`: at each
    /// invocation `behaviour(t)` says how the operation ends, after how long, and the pause
    /// before the next; an `info` retires the process (the next is `process + total`).
    fn client(
        client: u64,
        total: u64,
        until: Duration,
        behaviour: impl Fn(Duration) -> (EventType, Duration, Duration),
    ) -> Vec<Event> {
        let (mut events, mut process, mut t) = (Vec::new(), client, Duration::ZERO);
        while t < until {
            let (kind, latency, pause) = behaviour(t);
            events.push(event(process, EventType::Invoke, t));
            events.push(event(process, kind, t + latency));
            if kind == EventType::Info {
                process += total;
            }
            t += latency + pause;
        }
        events
    }

    fn merged(clients: Vec<Vec<Event>>) -> Vec<Event> {
        let mut events: Vec<Event> = clients.into_iter().flatten().collect();
        events.sort_by_key(|e| e.time);
        events
    }

    #[test]
    fn a_cut_off_client_scores_the_same_time_whether_it_fails_fast_or_times_out() {
        let (duration, windows, total) = (ms(4000), [(ms(1000), ms(3000))], 2);
        let cut = |t: Duration| (ms(1000)..ms(3000)).contains(&t);
        let healthy = |_| (EventType::Ok, ms(5), ms(15));
        // Client 1 is cut off during the window: a refusal after 1 ms then 10 ms of think time
        // (the old pause after a definite fail), or a 1 s timeout then 100 ms of back-off.
        let fast = |t| if cut(t) { (EventType::Fail, ms(1), ms(10)) } else { healthy(t) };
        let slow = |t| if cut(t) { (EventType::Info, ms(1000), ms(100)) } else { healthy(t) };
        let failing_fast = merged(vec![client(0, total, duration, healthy), client(1, total, duration, fast)]);
        let timing_out = merged(vec![client(0, total, duration, healthy), client(1, total, duration, slow)]);

        let per_op = |history: &[Event]| count("s", 1, history, &windows, duration).availability_faulty();
        // 100 ok of client 0 in the window; client 1 invokes 182 failing ones, or 2 timing out.
        assert_eq!(per_op(&failing_fast), Some(100.0 / 282.0));
        assert_eq!(per_op(&timing_out), Some(100.0 / 102.0));

        let time = |history: &[Event]| client_time(history, &windows, duration, total);
        let half = ClientTime { total: ms(4000), available: ms(2000) };
        assert_eq!(time(&failing_fast), half, "client 0 available for 2 s of its 2 s, client 1 for none");
        assert_eq!(time(&timing_out), half, "the same, although it attempted far fewer operations");
        let alone = |history: &[Event]| {
            let only: Vec<Event> = history.iter().filter(|e| e.process != Process::Client(0)).cloned().collect();
            time(&only)
        };
        assert_eq!(alone(&failing_fast), ClientTime { total: ms(2000), available: Duration::ZERO });
        assert_eq!(alone(&timing_out), alone(&failing_fast));
    }

    #[test]
    fn client_time_is_cut_at_invocations_and_ends_with_the_client_phase() {
        let duration = ms(1000);
        let mut history = vec![
            // Client 0: ok [0, 300), then an op that times out, retiring process 0 as 2;
            // process 2 invokes at 800 and is ok until the end of the client phase.
            event(0, EventType::Invoke, ms(0)),
            event(0, EventType::Ok, ms(10)),
            event(0, EventType::Invoke, ms(300)),
            event(1, EventType::Invoke, ms(400)),
            event(0, EventType::Info, ms(700)),
            event(2, EventType::Invoke, ms(800)),
            event(2, EventType::Ok, ms(810)),
            // Client 1: one op that never completes.
            // A final read after the client phase, by a fresh process: not a client's time.
            event(5, EventType::Invoke, ms(3000)),
            event(5, EventType::Fail, ms(3001)),
        ];
        history.sort_by_key(|e| e.time);
        let windows = [(ms(200), ms(900))];
        let time = client_time(&history, &windows, duration, 2);
        // Client 0: [200, 300) ok, [300, 800) not, [800, 900) ok; client 1: [400, 900) not.
        assert_eq!(time, ClientTime { total: ms(700 + 500), available: ms(200) });
        // A window still open at the end counts up to the end of the client phase only.
        let open = [(ms(900), Duration::MAX)];
        assert_eq!(client_time(&history, &open, duration, 2), ClientTime { total: ms(200), available: ms(100) });
        assert_eq!(client_time(&history, &[], duration, 2), ClientTime::default());
    }

    #[test]
    fn convergence_is_timed_from_the_end_of_the_client_phase() {
        let duration = ms(10_000);
        assert_eq!(converged(Replicas::AgreedSince(ms(10_340)), duration), Convergence::AfterMs(340));
        assert_eq!(converged(Replicas::AgreedSince(ms(10_000)), duration), Convergence::AfterMs(0));
        // Agreed before the heal (whatever the last write) and stayed agreed: nothing to repair.
        assert_eq!(converged(Replicas::AgreedSince(ms(6_020)), duration), Convergence::AfterMs(0));
        assert_eq!(converged(Replicas::Apart, duration), Convergence::Never);
        assert_eq!(converged(Replicas::Single, duration), Convergence::NotReplicated);
    }

    #[test]
    fn windows_are_half_open() {
        let s = Duration::from_secs;
        let windows = [(s(1), s(2)), (s(5), s(6))];
        assert!(!in_window(&windows, s(0)));
        assert!(in_window(&windows, s(1)));
        assert!(!in_window(&windows, s(2)));
        assert!(in_window(&windows, Duration::from_millis(5_999)));
        assert!(!in_window(&windows, s(7)));
        assert!(!in_window(&[], s(1)));
    }
}
