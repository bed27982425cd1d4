//! From events to operations: pairs each invocation with its completion, drops what cannot
//! matter, and groups operations by partition.
//!
//! Rules (Jepsen's):
//! - a `fail` completion means the operation certainly had no effect: it is dropped;
//! - an `info` completion, or none before the history ends, leaves the operation open until
//!   the end: it may take effect at any time after its invocation, or never;
//! - events of named processes (the nemesis) are not client operations and are skipped.
//!
//! Real time: when every client event carries a `time`, operation A precedes B iff A's
//! completion time is strictly less than B's invocation time (equal times are concurrent).
//! Otherwise the order of events in the history is the real-time order.

use std::collections::BTreeMap;

use history::{Event, EventType, Process, Value};

use crate::model::{Completion, Model};
use crate::CheckError;

/// One operation as the search sees it.
#[derive(Debug)]
pub struct Operation<O> {
    /// The model's typed operation.
    pub op: O,
    /// Index of the invocation in the history's events.
    pub call_event: usize,
    /// Index of the `ok` completion; `None` when the outcome is unknown.
    pub return_event: Option<usize>,
    /// Position of the invocation in real-time order.
    pub call_at: u64,
    /// Position of the completion in real-time order; `None` while open.
    pub return_at: Option<u64>,
}

/// The operations of one partition (one key), in invocation order.
#[derive(Debug)]
pub struct Partition<O> {
    /// The partition's key (`None` for a history without keys).
    pub key: Option<Value>,
    /// Its operations.
    pub ops: Vec<Operation<O>>,
}

/// Pairs and translates the events of `events`, grouped by partition in key order.
pub fn prepare<M: Model>(model: &M, events: &[Event]) -> Result<Vec<Partition<M::Op>>, CheckError> {
    let timed = events.iter().filter(|e| matches!(e.process, Process::Client(_))).all(|e| e.time.is_some());
    // Real-time positions: with times, a call at t sorts before a return at t (concurrent).
    let at = |index: usize, kind: EventType| -> u64 {
        match (timed, events[index].time) {
            (true, Some(t)) => t.saturating_mul(2) + u64::from(kind != EventType::Invoke),
            _ => index as u64,
        }
    };

    let mut pending: BTreeMap<u64, usize> = BTreeMap::new();
    let mut partitions: BTreeMap<Option<Value>, Vec<Operation<M::Op>>> = BTreeMap::new();
    let mut add = |call: usize, done: Option<usize>| -> Result<(), CheckError> {
        let event = &events[call];
        let completion = match done {
            Some(d) if events[d].kind == EventType::Fail => return Ok(()),
            Some(d) if events[d].kind == EventType::Ok => Completion::Ok(&events[d]),
            _ => Completion::Unknown,
        };
        let op = model.operation(event, completion).map_err(|message| CheckError::Event { event: call, message })?;
        let Some(op) = op else { return Ok(()) };
        let return_event = done.filter(|d| events[*d].kind == EventType::Ok);
        partitions.entry(model.partition(event)).or_default().push(Operation {
            op,
            call_event: call,
            return_event,
            call_at: at(call, EventType::Invoke),
            return_at: return_event.map(|d| at(d, EventType::Ok)),
        });
        Ok(())
    };

    for (index, event) in events.iter().enumerate() {
        let Process::Client(process) = event.process else { continue };
        if event.kind == EventType::Invoke {
            if let Some(&open) = pending.get(&process) {
                return Err(CheckError::Event {
                    event: index,
                    message: format!(
                        "process {process} invokes `{}` while its `{}` (event {}) is still pending",
                        event.f,
                        events[open].f,
                        open + 1
                    ),
                });
            }
            pending.insert(process, index);
            continue;
        }
        let Some(call) = pending.remove(&process) else {
            return Err(CheckError::Event {
                event: index,
                message: format!(
                    "process {process} completes `{}` ({}) but has no pending invocation",
                    event.f, event.kind
                ),
            });
        };
        if events[call].f != event.f {
            return Err(CheckError::Event {
                event: index,
                message: format!(
                    "process {process} completes `{}` but invoked `{}` (event {})",
                    event.f,
                    events[call].f,
                    call + 1
                ),
            });
        }
        if let (true, Some(start), Some(end)) = (timed, events[call].time, event.time) {
            if end < start {
                return Err(CheckError::Event {
                    event: index,
                    message: format!("completion time {end} is before its invocation time {start}"),
                });
            }
        }
        add(call, Some(index))?;
    }
    // Invocations never completed are indeterminate.
    let open: Vec<usize> = pending.into_values().collect();
    for call in open {
        add(call, None)?;
    }
    Ok(partitions
        .into_iter()
        .map(|(key, mut ops)| {
            ops.sort_by_key(|o| (o.call_at, o.call_event));
            Partition { key, ops }
        })
        .collect())
}
