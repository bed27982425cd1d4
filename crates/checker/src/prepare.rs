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

use std::borrow::Cow;
use std::collections::BTreeMap;

use history::{Event, EventType, Process, Value};

use crate::model::{Completion, Implied, Model, SmallValue};
use crate::CheckError;

/// An event's value as kept for reports, in 16 bytes ([`SmallValue`]): none (an operation
/// whose outcome is unknown has no result), the value, or "implied": the one the model says
/// the operation implies ([`Model::implied_values`]), asked again when a report needs it. A
/// long history keeps two per operation.
#[derive(Debug, Clone, Default)]
pub enum Kept {
    /// No value.
    #[default]
    Absent,
    /// The value the model implies.
    Implied,
    /// The value.
    Value(SmallValue),
}

impl Kept {
    /// `value`, or [`Kept::Implied`] when it is `implied`.
    fn unless_implied(value: Cow<'_, Value>, implied: Option<Implied<'_>>) -> Self {
        if implied.is_some_and(|implied| implied.is(&value)) {
            Kept::Implied
        } else {
            Kept::Value(SmallValue::new(value.into_owned()))
        }
    }

    /// The value, `None` when absent; `implied` gives it for [`Kept::Implied`].
    pub fn resolve(self, implied: impl FnOnce() -> Option<Value>) -> Option<Value> {
        match self {
            Kept::Absent => None,
            Kept::Implied => implied(),
            Kept::Value(value) => Some(value.into_value()),
        }
    }
}

/// Where an operation came from, as reports describe it: the invocation's process and
/// argument, and the completion's result. (The function is the operation's own:
/// [`Model::function`].)
#[derive(Debug, Clone)]
pub struct Origin {
    /// The client process (`u64::MAX` for a named one).
    pub process: u64,
    /// The invocation's value (never absent).
    pub input: Kept,
    /// The `ok` completion's value; absent when the outcome is unknown.
    pub output: Kept,
}

/// One operation as the search sees it.
#[derive(Debug)]
pub struct Operation<O> {
    /// The model's typed operation.
    pub op: O,
    /// Index of the invocation in the history's events.
    pub call_event: u32,
    /// Index of the `ok` completion; [`OPEN`] when the outcome is unknown (a sentinel, not an
    /// `Option`: a long history keeps an operation per two events).
    returned_event: u32,
    /// Position of the invocation in real-time order.
    pub call_at: u64,
    /// Position of the completion in real-time order; [`OPEN_AT`] when the outcome is unknown.
    returned_at: u64,
    /// What the operation was, for reports.
    pub origin: Origin,
}

/// The most events a history may have: the search numbers its entries (a call and a return
/// per operation, at most one per event) in 31 bits, and keeps a flag in the 32nd.
pub const MAX_EVENTS: usize = (1 << 31) - 4;

/// `Operation::returned_event` of an operation whose outcome is unknown.
const OPEN: u32 = u32::MAX;
/// `Operation::returned_at` of an operation whose outcome is unknown.
const OPEN_AT: u64 = u64::MAX;

impl<O> Operation<O> {
    /// Index of the `ok` completion; `None` when the outcome is unknown.
    pub fn return_event(&self) -> Option<u32> {
        (self.returned_event != OPEN).then_some(self.returned_event)
    }

    /// Position of the completion in real-time order; `None` when the outcome is unknown.
    pub fn return_at(&self) -> Option<u64> {
        (self.returned_at != OPEN_AT).then_some(self.returned_at)
    }
}

/// The operations of one partition (one key), in invocation order.
#[derive(Debug)]
pub struct Partition<O> {
    /// The partition's key (`None` for a history without keys).
    pub key: Option<Value>,
    /// Its operations.
    pub ops: Vec<Operation<O>>,
}

/// A pending invocation: its event index and the event.
struct Pending {
    index: usize,
    event: Event,
}

/// Pairs and translates events one at a time, holding only the pending invocations and the
/// operations made so far (never the history): [`Preparer::push`] each event in history
/// order, then [`Preparer::finish`].
pub struct Preparer<'m, M: Model> {
    model: &'m M,
    /// Events pushed so far (the index of the next one).
    events: usize,
    /// Client invocations pushed so far.
    invocations: usize,
    /// Every client event so far carried a `time`.
    timed: bool,
    pending: BTreeMap<u64, Pending>,
    partitions: BTreeMap<Option<Value>, Vec<Operation<M::Op>>>,
}

impl<'m, M: Model> Preparer<'m, M> {
    /// A preparer for histories checked against `model`.
    pub fn new(model: &'m M) -> Self {
        Self { model, events: 0, invocations: 0, timed: true, pending: BTreeMap::new(), partitions: BTreeMap::new() }
    }

    /// Events pushed so far.
    pub fn events(&self) -> usize {
        self.events
    }

    /// Client invocations pushed so far (a history without any has nothing to check).
    pub fn invocations(&self) -> usize {
        self.invocations
    }

    /// Takes the next event of the history.
    pub fn push(&mut self, event: &Event) -> Result<(), CheckError> {
        let index = self.events;
        if index >= MAX_EVENTS {
            return Err(CheckError::Event {
                event: index,
                message: format!("more than {MAX_EVENTS} events: too long a history to check"),
            });
        }
        self.events += 1;
        let Process::Client(process) = event.process else { return Ok(()) };
        self.timed &= event.time.is_some();
        if event.kind == EventType::Invoke {
            self.invocations += 1;
            if let Some(open) = self.pending.get(&process) {
                return Err(CheckError::Event {
                    event: index,
                    message: format!(
                        "process {process} invokes `{}` while its `{}` (event {}) is still pending",
                        event.f,
                        open.event.f,
                        open.index + 1
                    ),
                });
            }
            self.pending.insert(process, Pending { index, event: event.clone() });
            return Ok(());
        }
        let Some(call) = self.pending.remove(&process) else {
            return Err(CheckError::Event {
                event: index,
                message: format!(
                    "process {process} completes `{}` ({}) but has no pending invocation",
                    event.f, event.kind
                ),
            });
        };
        if call.event.f != event.f {
            return Err(CheckError::Event {
                event: index,
                message: format!(
                    "process {process} completes `{}` but invoked `{}` (event {})",
                    event.f,
                    call.event.f,
                    call.index + 1
                ),
            });
        }
        if let (Some(start), Some(end)) = (call.event.time, event.time) {
            if end < start {
                return Err(CheckError::Event {
                    event: index,
                    message: format!("completion time {end} is before its invocation time {start}"),
                });
            }
        }
        self.add(call, Some((index, event)))
    }

    /// Translates an invocation and its completion (`None`: never completed) into an operation.
    fn add(&mut self, call: Pending, done: Option<(usize, &Event)>) -> Result<(), CheckError> {
        let completion = match done {
            Some((_, d)) if d.kind == EventType::Fail => return Ok(()),
            Some((_, d)) if d.kind == EventType::Ok => Completion::Ok(d),
            _ => Completion::Unknown,
        };
        let op = self
            .model
            .operation(&call.event, completion)
            .map_err(|message| CheckError::Event { event: call.index, message })?;
        let Some(op) = op else { return Ok(()) };
        let returned = done.filter(|(_, d)| d.kind == EventType::Ok);
        // Real-time positions: with times, a call at t sorts before a return at t (concurrent).
        // They are event indices when some client event has no time ([`Preparer::finish`]).
        let at = |event: &Event, index: usize| match event.time {
            // Times past 2^63 (never real) are clamped, keeping positions below OPEN_AT.
            Some(t) => t.min((OPEN_AT >> 1) - 1) * 2 + u64::from(event.kind != EventType::Invoke),
            None => index as u64,
        };
        let key = self.model.partition(&call.event);
        let call_at = at(&call.event, call.index);
        let process = match call.event.process {
            Process::Client(p) => p,
            Process::Named(_) => u64::MAX,
        };
        let (implied_input, implied_output) = self.model.implied_values(&op);
        // The invocation is this operation's own: its value moves, never copied.
        let input = Kept::unless_implied(Cow::Owned(call.event.value), implied_input);
        let output =
            returned.map_or(Kept::Absent, |(_, d)| Kept::unless_implied(Cow::Borrowed(&d.value), implied_output));
        let operation = Operation {
            op,
            call_event: call.index as u32,
            returned_event: returned.map_or(OPEN, |(i, _)| i as u32),
            call_at,
            returned_at: returned.map_or(OPEN_AT, |(i, d)| at(d, i)),
            origin: Origin { process, input, output },
        };
        self.partitions.entry(key).or_default().push(operation);
        Ok(())
    }

    /// The operations, grouped by partition in key order, each partition in invocation order.
    /// Invocations never completed are indeterminate.
    pub fn finish(mut self) -> Result<Vec<Partition<M::Op>>, CheckError> {
        let open: Vec<Pending> = std::mem::take(&mut self.pending).into_values().collect();
        for call in open {
            self.add(call, None)?;
        }
        let timed = self.timed;
        Ok(self
            .partitions
            .into_iter()
            .map(|(key, mut ops)| {
                if !timed {
                    for op in &mut ops {
                        op.call_at = u64::from(op.call_event);
                        op.returned_at = op.return_event().map_or(OPEN_AT, u64::from);
                    }
                }
                // Keys are unique (one call per event), so an unstable sort is exact, and it
                // needs no buffer the size of the operations (a stable one does).
                if !ops.windows(2).all(|w| (w[0].call_at, w[0].call_event) <= (w[1].call_at, w[1].call_event)) {
                    ops.sort_unstable_by_key(|o| (o.call_at, o.call_event));
                }
                // The growth's spare capacity (up to half) would stay for the whole check.
                ops.shrink_to_fit();
                Partition { key, ops }
            })
            .collect())
    }
}

/// Pairs and translates the events of `events`, grouped by partition in key order.
pub fn prepare<M: Model>(model: &M, events: &[Event]) -> Result<Vec<Partition<M::Op>>, CheckError> {
    let mut preparer = Preparer::new(model);
    for event in events {
        preparer.push(event)?;
    }
    preparer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Kv, Register};

    /// A long history keeps one operation per two events: their size is most of what a check
    /// holds besides its memo (issue 20's memory goal rests on these figures).
    #[test]
    fn operations_stay_small() {
        assert_eq!(std::mem::size_of::<Kept>(), 16);
        assert_eq!(std::mem::size_of::<Operation<<Register as Model>::Op>>(), 88);
        assert_eq!(std::mem::size_of::<Operation<<Kv as Model>::Op>>(), 128);
    }
}
