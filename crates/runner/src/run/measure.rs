//! One run of one system for one seed, measured: the simulation, the checks, and the numbers
//! of a [`SeedRecord`].
//!
//! Definitions (the README's table legend repeats them):
//! - the *operation phase* is `0 .. duration`; operations invoked later are the final reads,
//!   which are checked but not counted in shares, availability, latency or throughput;
//! - an operation counts as *during a fault* when it was invoked inside a fault window (from a
//!   fault's start to the heal, restart or clock reset that ends the last fault in effect);
//! - *availability* is the share of invoked operations that ended `ok`;
//! - *latency* is simulated time from invocation to an `ok` completion.

use std::collections::BTreeMap;
use std::time::Duration;

use experiment::spec::{Experiment, System};
use experiment::store::Replicas;
use experiment::value::seconds;
use experiment::workload::Limits;
use history::{Event, EventType, Process};
use sim::{Fault, RunResult};

use super::record::{Convergence, SeedRecord};

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
        Err(e) => return failed(&system.name, seed, format!("the fault schedule cannot be drawn: {e}")),
    };
    let ran = match system.spec.run(&config, Some(SAMPLE_EVERY)) {
        Ok(ran) => ran,
        Err(e) => return failed(&system.name, seed, e.to_string()),
    };
    let result = ran.result;
    let history = result.history_with_nemesis();
    let windows = sim::fault_windows(&result.faults);
    let mut record = count(&system.name, seed, &history, &windows, config.duration);
    record.properties = Some(system.spec.properties());
    record.messages = result.messages;
    record.faults = result.faults.iter().map(|(at, fault)| format!("{fault} at {}", seconds(*at))).collect();
    record.convergence = converged(ran.replicas, &result);

    let limits = Limits { timeout: check_timeout, memory_limit_bytes: MEMORY_LIMIT };
    let judged = experiment.workload.judge(&history, &limits);
    record.check = judged.check;
    record.stale_reads = judged.stale_reads;
    record.lost_writes = judged.lost_writes;
    record.acknowledged_writes = judged.acknowledged_writes;
    record.unjudged_keys = judged.unjudged_keys;
    let explanation = (!judged.explanation.is_empty()).then(|| {
        let applied: Vec<String> =
            result.faults.iter().map(|(at, fault)| format!("{fault} at {}", seconds(*at))).collect();
        let applied = if applied.is_empty() { "none".to_owned() } else { applied.join("; ") };
        format!("{} seed {seed}\nfaults applied: {applied}\n\n{}", system.name, judged.explanation)
    });
    Measured { record, history, explanation, windows, faults: result.faults }
}

/// What a run that could not complete measured.
pub fn failed(system: &str, seed: u64, error: String) -> Measured {
    Measured {
        record: SeedRecord::failed(system, seed, error),
        history: Vec::new(),
        explanation: None,
        windows: Vec::new(),
        faults: Vec::new(),
    }
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
        }
    }
    record
}

/// When the replicas agreed for good, after the last heal, restart or completed write.
fn converged(replicas: Replicas, result: &RunResult) -> Convergence {
    let last_repair = sim::fault_windows(&result.faults)
        .last()
        .map(|(_, end)| *end)
        .filter(|end| *end != Duration::MAX)
        .unwrap_or_default();
    let last_write =
        result.history.iter().filter(|e| e.kind == EventType::Ok && is_write(&e.f)).map(at).max().unwrap_or_default();
    let reference = last_repair.max(last_write);
    match replicas {
        Replicas::Single => Convergence::NotReplicated,
        Replicas::AgreedSince(since) => Convergence::AfterMs(since.saturating_sub(reference).as_millis() as u64),
        Replicas::Apart => Convergence::Never,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
