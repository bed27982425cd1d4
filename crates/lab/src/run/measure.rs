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
use std::time::{Duration, Instant};

use checker::{check_named, set_loss, CheckOptions, Outcome};
use history::{Event, EventType, History, Process};
use quorum::QuorumSystem;
use sim::{Fault, RunResult};
use sqlstore::SqlSystem;

use super::record::{Check, Convergence, SeedRecord};
use crate::experiment::spec::{Experiment, System, SystemSpec};
use crate::report;

/// How often the quorum store's replicas are compared, for convergence.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);

/// Most stale reads or lost writes listed in a violation's explanation.
const LISTED: usize = 20;

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
    let (result, convergence) = match &system.spec {
        SystemSpec::Sqlite(store) => {
            let mut store = store.clone();
            store.seed = seed;
            (sim::run(SqlSystem::new(store), &config), None)
        }
        SystemSpec::Quorum(cluster) => {
            let system = QuorumSystem::new(cluster.as_ref().clone()).with_sampling(SAMPLE_EVERY);
            // The handle shares the sampler with the system the run consumes.
            let handle = system.clone();
            let result = sim::run(system, &config);
            (result, Some(handle.convergence()))
        }
    };
    let result = match result {
        Ok(result) => result,
        Err(e) => return failed(&system.name, seed, e.to_string()),
    };
    let history = result.history_with_nemesis();
    let windows = sim::fault_windows(&result.faults);
    let mut record = count(&system.name, seed, &history, &windows, config.duration);
    record.messages = result.messages;
    record.faults = result
        .faults
        .iter()
        .map(|(at, fault)| format!("{fault} at {}", crate::experiment::spec::seconds(*at)))
        .collect();
    record.convergence = match convergence {
        None => Convergence::NotReplicated,
        Some(samples) => converged(&samples, &result),
    };

    let mut explanation = String::new();
    match crate::check::workload_model(config.workload.as_ref()) {
        Some(model) => {
            let started = Instant::now();
            let passed = move || started.elapsed() >= check_timeout;
            let options = CheckOptions { deadline: &passed, jobs: 1, memory_limit_bytes: MEMORY_LIMIT };
            let as_history = History { lines: (1..=history.len()).collect(), events: history.clone() };
            match check_named(model, &history, &options) {
                Ok(verdict) => {
                    record.check = match verdict.outcome {
                        Outcome::Linearizable => Check::Linearizable,
                        Outcome::NotLinearizable => Check::NotLinearizable,
                        Outcome::Unknown => Check::Unknown,
                    };
                    if verdict.outcome == Outcome::NotLinearizable {
                        explanation.push_str(&format!("not linearizable ({model} model):\n"));
                        explanation.push_str(&report::explain(&verdict, &as_history));
                    }
                }
                Err(e) => {
                    record.check = Check::Unknown;
                    explanation.push_str(&format!("the checker refused the history: {e}\n"));
                }
            }
            let staleness = checker::staleness::analyze(&history);
            record.stale_reads = Some(staleness.stale_reads.len() as u64);
            record.lost_writes = (staleness.final_reads > 0).then_some(staleness.lost_writes.len() as u64);
            record.acknowledged_writes = staleness.acknowledged_writes as u64;
            if !staleness.stale_reads.is_empty() {
                explanation.push_str(&format!("{} stale reads; the first:\n", staleness.stale_reads.len()));
                for stale in staleness.stale_reads.iter().take(LISTED) {
                    explanation.push_str(&format!(
                        "  line {}: read of {} returned {}, but the write completed at line {} was certainly later\n",
                        stale.read_event + 1,
                        checker::key_label(&stale.key),
                        stale.value,
                        stale.missed_write_event + 1
                    ));
                }
            }
            if !staleness.lost_writes.is_empty() {
                explanation
                    .push_str(&format!("{} acknowledged writes lost; the first:\n", staleness.lost_writes.len()));
                for lost in staleness.lost_writes.iter().take(LISTED) {
                    explanation.push_str(&format!(
                        "  line {}: write of {} to {} was acknowledged, yet the final read returned {}\n",
                        lost.write_event + 1,
                        lost.value,
                        checker::key_label(&lost.key),
                        lost.final_value
                    ));
                }
            }
        }
        None => {
            let loss = set_loss::analyze(&history);
            record.check = if loss.is_valid() { Check::SetValid } else { Check::SetInvalid };
            record.lost_writes = loss.final_read.then_some(loss.lost.len() as u64);
            record.acknowledged_writes = loss.acknowledged as u64;
            if !loss.is_valid() {
                explanation.push_str(&set_explanation(&loss));
            }
        }
    }
    let explanation = (!explanation.is_empty()).then(|| {
        let applied: Vec<String> = result
            .faults
            .iter()
            .map(|(at, fault)| format!("{fault} at {}", crate::experiment::spec::seconds(*at)))
            .collect();
        let applied = if applied.is_empty() { "none".to_owned() } else { applied.join("; ") };
        format!("{} seed {seed}\nfaults applied: {applied}\n\n{explanation}", system.name)
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

fn set_explanation(loss: &set_loss::SetLoss) -> String {
    let mut out = String::new();
    if !loss.final_read {
        out.push_str("no final read succeeded: lost adds cannot be judged\n");
    }
    let list = |values: &[history::Value]| {
        let shown: Vec<String> = values.iter().take(LISTED).map(ToString::to_string).collect();
        let more = values.len().saturating_sub(LISTED);
        if more > 0 {
            format!("{} (and {more} more)", shown.join(" "))
        } else {
            shown.join(" ")
        }
    };
    if !loss.lost.is_empty() {
        out.push_str(&format!(
            "{} of {} acknowledged adds are missing from the final read: {}\n",
            loss.lost.len(),
            loss.acknowledged,
            list(&loss.lost)
        ));
    }
    if !loss.unexpected.is_empty() {
        out.push_str(&format!(
            "{} elements read that no add put there: {}\n",
            loss.unexpected.len(),
            list(&loss.unexpected)
        ));
    }
    out
}

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
fn converged(samples: &quorum::system::Convergence, result: &RunResult) -> Convergence {
    let last_repair = sim::fault_windows(&result.faults)
        .last()
        .map(|(_, end)| *end)
        .filter(|end| *end != Duration::MAX)
        .unwrap_or_default();
    let last_write =
        result.history.iter().filter(|e| e.kind == EventType::Ok && is_write(&e.f)).map(at).max().unwrap_or_default();
    let reference = last_repair.max(last_write);
    match samples.converged_since() {
        Some(since) => Convergence::AfterMs(since.saturating_sub(reference).as_millis() as u64),
        None => Convergence::Never,
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
