//! Stale reads and lost acknowledged writes in register histories: a direct, O(n log n) count
//! of the anomalies a linearizability verdict only summarises as "illegal".
//!
//! The history is one register per `key` (events with `key: None` are one more register),
//! with `read` (the `ok` value is the value read, `nil` the initial value), `write` (value `v`)
//! and `cas` (value `[expected new]`; `ok` means it wrote `new`, `fail` that it did nothing).
//! Events of named processes (the nemesis) and of other functions are skipped. `info`
//! completions and invocations never completed are unknown: the operation may have taken
//! effect at any time after its invocation, or never. Real time is as in [`crate::prepare`]:
//! when every client event has a `time`, A precedes B iff A's completion time is less than
//! B's invocation time; otherwise the order of events is the real-time order.
//!
//! Definitions, per key:
//! - **W(x)**: the operation that wrote `x` (a `write` of `x` or a `cas` with new = `x`) and
//!   did not fail: acknowledged (`ok`) or unknown. Values written are unique; a value with two
//!   such writers, or `nil` written by anyone (it is also the initial value), is a
//!   **duplicate**: counted, and reads returning it are not judged.
//! - A read `r` (`ok`) returning `x` is **stale** when some acknowledged write `w` completed
//!   before `r` was invoked and certainly took effect after `x` was written: `x` is `nil` (the
//!   initial value), or W(x) completed (`ok`) before `w` was invoked. `r` should have seen `w`
//!   or something later; the write reported is the latest such `w` by completion. A W(x) of
//!   unknown outcome may have taken effect at any time, so nothing is certainly after it.
//! - A read of a non-`nil` value without W(x) (never written, or only by operations that
//!   failed) is **phantom**, counted separately and never stale.
//! - The **final read**: the `ok` read invoked after every other operation on the key
//!   (reads included) had completed (`ok`, `fail` or `info`); an operation never completed
//!   rules it out. At most one read qualifies. Keys with acknowledged writes and no final
//!   read are **unjudged**: their writes are never called lost.
//! - With final value `x`, an acknowledged write `w` is **lost** when `x` is `nil`, or W(x)
//!   completed (`ok`) before `w` was invoked: `w` was certainly later than `x`'s write, yet
//!   `x` survived. (Such a final read is then also stale.)
//!
//! The analysis is lenient where [`crate::prepare`] is strict: a completion without a pending
//! invocation is ignored, and an invocation that replaces a pending one leaves that one
//! never completed. A `cas` whose value is not a pair writes nothing.
//!
//! Cost: O(n log n). Per key, acknowledged writes are swept in order of completion while reads
//! are taken in order of invocation; a stack keeps the writes not dominated by a later one
//! with a later-or-equal invocation, so its invocation positions decrease and the latest
//! write invoked after a given position is found by binary search.

use std::collections::BTreeMap;

use history::{Event, EventType, Process, Value};

/// A read that returned a value some acknowledged write had certainly overwritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleRead {
    /// The register (`None` for events without a key).
    pub key: Option<Value>,
    /// Index of the read's `ok` completion event.
    pub read_event: usize,
    /// The value it returned.
    pub value: Value,
    /// The completion event of a write it should have seen: the latest such.
    pub missed_write_event: usize,
}

/// An acknowledged write whose register ended with an older value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostWrite {
    /// The register (`None` for events without a key).
    pub key: Option<Value>,
    /// Index of the write's invocation event.
    pub write_event: usize,
    /// The value it wrote.
    pub value: Value,
    /// The value of the key's final read.
    pub final_value: Value,
}

/// Stale reads and lost writes of a register history (see the module doc for definitions).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Staleness {
    /// `ok` reads (final reads included).
    pub reads: usize,
    /// Stale reads, in history order (of their completion events).
    pub stale_reads: Vec<StaleRead>,
    /// Reads of a value no operation could have written.
    pub phantom_reads: usize,
    /// `ok` writes and `ok` cas.
    pub acknowledged_writes: usize,
    /// Keys with a final read.
    pub final_reads: usize,
    /// Keys with acknowledged writes but no final read.
    pub unjudged_keys: usize,
    /// Lost writes, in history order (of their invocation events).
    pub lost_writes: Vec<LostWrite>,
    /// Values (per key) written by more than one operation that did not fail, `nil` included
    /// when anyone writes it.
    pub duplicate_values: usize,
}

/// Analyses a register history (`read`, `write`, `cas`; one register per key).
pub fn analyze(events: &[Event]) -> Staleness {
    let mut result = Staleness::default();
    for (key, ops) in operations(events) {
        analyze_key(events, &key.cloned(), &ops, &mut result);
    }
    result.stale_reads.sort_by_key(|s| s.read_event);
    result.lost_writes.sort_by_key(|l| l.write_event);
    result
}

/// What an operation does to its register.
#[derive(Debug, Clone, Copy)]
enum Action<'a> {
    Read,
    /// A `write`, or a `cas` with this new value.
    Write(&'a Value),
    /// A `cas` whose value is not `[expected new]`.
    Nothing,
}

/// How an operation ended: the completion event's index and real-time position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Ok { event: usize, at: u64 },
    Fail { at: u64 },
    Info { at: u64 },
    Open,
}

impl End {
    fn at(self) -> Option<u64> {
        match self {
            End::Ok { at, .. } | End::Fail { at } | End::Info { at } => Some(at),
            End::Open => None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Op<'a> {
    action: Action<'a>,
    call_event: usize,
    call_at: u64,
    end: End,
}

/// Pairs invocations with completions per process; the register operations grouped by key.
fn operations(events: &[Event]) -> BTreeMap<Option<&Value>, Vec<Op<'_>>> {
    let timed = events.iter().filter(|e| matches!(e.process, Process::Client(_))).all(|e| e.time.is_some());
    // As in `prepare`: with times, a call at t sorts before a return at t (concurrent).
    let at = |index: usize| -> u64 {
        let event = &events[index];
        match (timed, event.time) {
            (true, Some(t)) => t.saturating_mul(2) + u64::from(event.kind != EventType::Invoke),
            _ => index as u64,
        }
    };
    let mut pending: BTreeMap<u64, usize> = BTreeMap::new();
    let mut paired: Vec<(usize, End)> = Vec::new();
    for (index, event) in events.iter().enumerate() {
        let Process::Client(process) = event.process else { continue };
        let end = match event.kind {
            EventType::Invoke => {
                if let Some(replaced) = pending.insert(process, index) {
                    paired.push((replaced, End::Open));
                }
                continue;
            }
            EventType::Ok => End::Ok { event: index, at: at(index) },
            EventType::Fail => End::Fail { at: at(index) },
            EventType::Info => End::Info { at: at(index) },
        };
        if let Some(call) = pending.remove(&process) {
            paired.push((call, end));
        }
    }
    paired.extend(pending.into_values().map(|call| (call, End::Open)));

    let mut by_key: BTreeMap<Option<&Value>, Vec<Op<'_>>> = BTreeMap::new();
    for (call, end) in paired {
        let event = &events[call];
        let action = match (event.f.as_str(), event.value.as_list()) {
            ("read", _) => Action::Read,
            ("write", _) => Action::Write(&event.value),
            ("cas", Some([_, new])) => Action::Write(new),
            ("cas", _) => Action::Nothing,
            _ => continue,
        };
        by_key.entry(event.key.as_ref()).or_default().push(Op { action, call_event: call, call_at: at(call), end });
    }
    by_key
}

/// Where a value read came from, as far as staleness can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// The initial `nil`: every acknowledged write is certainly after it.
    Initial,
    /// Written by an operation acknowledged at this position.
    Acked(u64),
    /// Written by an operation of unknown outcome: nothing is certainly after it.
    Unknown,
    /// No operation that did not fail wrote it.
    Phantom,
    /// Written more than once: not judged.
    Duplicate,
}

/// The writers (that did not fail) of each value of one key.
struct Writers<'a>(BTreeMap<&'a Value, (usize, End)>);

impl<'a> Writers<'a> {
    fn new(ops: &[Op<'a>]) -> Self {
        let mut writers: BTreeMap<&Value, (usize, End)> = BTreeMap::new();
        for op in ops {
            // A failed operation certainly wrote nothing.
            let Action::Write(value) = op.action else { continue };
            if !matches!(op.end, End::Fail { .. }) {
                writers.entry(value).and_modify(|(count, _)| *count += 1).or_insert((1, op.end));
            }
        }
        Self(writers)
    }

    fn duplicates(&self) -> usize {
        self.0.iter().filter(|(value, (count, _))| value.is_nil() || *count > 1).count()
    }

    fn origin(&self, value: &Value) -> Origin {
        match (value.is_nil(), self.0.get(value)) {
            (true, None) => Origin::Initial,
            (false, None) => Origin::Phantom,
            (true, Some(_)) | (false, Some((2.., _))) => Origin::Duplicate,
            (false, Some((_, End::Ok { at, .. }))) => Origin::Acked(*at),
            (false, Some(_)) => Origin::Unknown,
        }
    }
}

/// An acknowledged write.
#[derive(Debug, Clone, Copy)]
struct Acked<'a> {
    value: &'a Value,
    call_event: usize,
    call_at: u64,
    return_event: usize,
    return_at: u64,
}

impl Acked<'_> {
    /// True when this write certainly took effect after a value of this origin was written.
    fn after(&self, origin: Origin) -> bool {
        match origin {
            Origin::Initial => true,
            Origin::Acked(written_at) => self.call_at > written_at,
            Origin::Unknown | Origin::Phantom | Origin::Duplicate => false,
        }
    }
}

fn analyze_key(events: &[Event], key: &Option<Value>, ops: &[Op<'_>], result: &mut Staleness) {
    let writers = Writers::new(ops);
    result.duplicate_values += writers.duplicates();
    let mut acked: Vec<Acked<'_>> = ops
        .iter()
        .filter_map(|op| match (op.action, op.end) {
            (Action::Write(value), End::Ok { event, at }) => Some(Acked {
                value,
                call_event: op.call_event,
                call_at: op.call_at,
                return_event: event,
                return_at: at,
            }),
            _ => None,
        })
        .collect();
    acked.sort_by_key(|w| (w.return_at, w.return_event));
    result.acknowledged_writes += acked.len();
    let mut reads: Vec<(u64, usize)> = ops
        .iter()
        .filter_map(|op| match (op.action, op.end) {
            (Action::Read, End::Ok { event, .. }) => Some((op.call_at, event)),
            _ => None,
        })
        .collect();
    reads.sort_unstable();
    result.reads += reads.len();

    // Writes not dominated by a later-completing one invoked no earlier: invocation positions
    // strictly decrease from bottom to top, and the top is the latest write added.
    let mut frontier: Vec<usize> = Vec::new();
    let mut added = 0;
    for (call_at, read_event) in reads {
        while let Some(write) = acked.get(added).filter(|w| w.return_at < call_at) {
            while frontier.last().is_some_and(|&top| acked[top].call_at <= write.call_at) {
                frontier.pop();
            }
            frontier.push(added);
            added += 1;
        }
        let value = &events[read_event].value;
        let origin = writers.origin(value);
        result.phantom_reads += usize::from(origin == Origin::Phantom);
        let missed = frontier.partition_point(|&i| acked[i].after(origin)).checked_sub(1).map(|k| acked[frontier[k]]);
        if let Some(write) = missed {
            result.stale_reads.push(StaleRead {
                key: key.clone(),
                read_event,
                value: value.clone(),
                missed_write_event: write.return_event,
            });
        }
    }
    judge_final_read(events, key, ops, &writers, &acked, result);
}

/// Finds the key's final read, if any, and the acknowledged writes it shows lost.
fn judge_final_read(
    events: &[Event],
    key: &Option<Value>,
    ops: &[Op<'_>],
    writers: &Writers<'_>,
    acked: &[Acked<'_>],
    result: &mut Staleness,
) {
    // Only the last operation invoked can be invoked after all others completed.
    let last = ops.iter().max_by_key(|op| (op.call_at, op.call_event));
    let final_read = last.and_then(|last| match (last.action, last.end) {
        (Action::Read, End::Ok { event, .. }) => {
            let others_done = ops
                .iter()
                .filter(|op| op.call_event != last.call_event)
                .all(|op| op.end.at().is_some_and(|done| done < last.call_at));
            others_done.then_some(event)
        }
        _ => None,
    });
    let Some(read_event) = final_read else {
        result.unjudged_keys += usize::from(!acked.is_empty());
        return;
    };
    result.final_reads += 1;
    let final_value = &events[read_event].value;
    let origin = writers.origin(final_value);
    result.lost_writes.extend(acked.iter().filter(|w| w.after(origin)).map(|w| LostWrite {
        key: key.clone(),
        write_event: w.call_event,
        value: w.value.clone(),
        final_value: final_value.clone(),
    }));
}

#[cfg(test)]
mod tests;
