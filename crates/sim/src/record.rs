//! The history log that every client host appends to while the simulation runs.
//!
//! All hosts of a turmoil simulation run on one thread, so the log is a shared `Rc<RefCell>`.
//! Events are stamped with simulated time ([`now`]), never wall time. turmoil runs hosts one
//! after another within a step, so the append order is only roughly the time order;
//! [`Recorder::take_events`] sorts by time, keeping the append order among equal times.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use history::{Event, EventType, Process, Value};

use crate::system::Operation;

/// Model time since the start of the simulation ([`crate::time`]), as seen by the host running
/// the caller.
///
/// # Panics
/// Outside a turmoil host (a harness bug: only client tasks call this).
pub(crate) fn now() -> Duration {
    crate::time::try_now().expect("simulated time is read inside a turmoil host")
}

/// Model nanoseconds, as histories record them.
pub(crate) fn nanos(time: Duration) -> u64 {
    u64::try_from(time.as_nanos()).unwrap_or(u64::MAX)
}

#[derive(Debug, Default)]
struct Log {
    events: Vec<Event>,
    /// The largest client process id assigned so far (invoked with, or taken over after a
    /// retirement).
    max_process: Option<u64>,
}

/// A handle on the shared history log (cheap to clone).
#[derive(Debug, Clone, Default)]
pub(crate) struct Recorder {
    log: Rc<RefCell<Log>>,
}

impl Recorder {
    /// Records that `process` invokes `operation`, now.
    pub(crate) fn invoke(&self, process: u64, operation: &Operation) {
        self.assign(process);
        self.log.borrow_mut().events.push(event(process, EventType::Invoke, operation, operation.value()));
    }

    /// Notes that `process` is in use (a process id taken over after a retirement), so that
    /// [`Recorder::fresh_process`] does not hand it out again.
    pub(crate) fn assign(&self, process: u64) {
        let mut log = self.log.borrow_mut();
        log.max_process = Some(log.max_process.map_or(process, |max| max.max(process)));
    }

    /// Records that the pending `operation` of `process` completed as `kind` with `value`, now.
    pub(crate) fn complete(&self, process: u64, kind: EventType, operation: &Operation, value: Value) {
        debug_assert_ne!(kind, EventType::Invoke);
        self.log.borrow_mut().events.push(event(process, kind, operation, value));
    }

    /// A process id never assigned so far (one above the largest), now assigned.
    pub(crate) fn fresh_process(&self) -> u64 {
        let fresh = self.log.borrow().max_process.map_or(0, |max| max + 1);
        self.assign(fresh);
        fresh
    }

    /// Takes the events recorded so far, in order of simulated time (ties in append order).
    pub(crate) fn take_events(&self) -> Vec<Event> {
        let mut events = std::mem::take(&mut self.log.borrow_mut().events);
        // Stable: equal times keep their append order, so a process's invocation stays before
        // its completion even when both happen at the same instant.
        events.sort_by_key(|e| e.time);
        events
    }
}

/// The event of `operation`, in its history encoding (see [`Operation`]).
fn event(process: u64, kind: EventType, operation: &Operation, value: Value) -> Event {
    Event {
        process: Process::Client(process),
        kind,
        f: operation.f().to_owned(),
        key: operation.key().cloned(),
        value,
        time: Some(nanos(now())),
        index: None,
    }
}
