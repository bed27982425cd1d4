//! The contract between the harness and a system under test.
//!
//! A system provides server hosts (whose start-up future turmoil re-runs on every restart, so
//! start-up must recover from disk) and a client that turns one [`Invocation`] into one
//! request. The harness owns everything else: processes, timeouts, recording, faults.

use std::future::Future;
use std::pin::Pin;

use history::Value;

use crate::capacity::Capacity;
use crate::workload::Workload;

/// One operation a client process invokes: the same fields a history event carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The function: `read`, `write`, `cas`, `add`, ...
    pub f: String,
    /// The key, for multi-key workloads.
    pub key: Option<Value>,
    /// The argument (`nil` for reads).
    pub value: Value,
}

/// The system's definite answer to an invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The operation took effect (or, for reads, observed this); the value is its result. For a
    /// write it is the value written (Jepsen's convention).
    Ok(Value),
    /// The operation certainly did not take effect (a failed compare, a refusal before
    /// executing anything); the string says why.
    Fail(String),
}

/// Why a call got no definite answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The request was certainly never delivered (the connection could not be opened): the
    /// harness records `fail`.
    #[error("not sent: {0}")]
    NotSent(String),
    /// The request may or may not have been executed (the connection broke after sending, or
    /// the reply was garbage): the harness records `info` and retires the process.
    #[error("indeterminate: {0}")]
    Indeterminate(String),
}

/// A boxed, non-`Send` future, as turmoil hosts run them (one thread per simulation).
pub type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// A system under test.
pub trait System: 'static {
    /// The client handle one logical client uses. It connects lazily, and reconnects on the
    /// next call after [`Client::reset`].
    type Client: Client;

    /// The hosts of the system under test.
    fn servers(&self) -> Vec<String>;

    /// The start-up of server `host`: called at the start and on every restart after a crash.
    fn serve(&self, host: &str) -> LocalFuture<turmoil::Result>;

    /// A client for logical client number `client`, stable across the run: `0..total_clients`
    /// are the regular processes, and `total_clients` is the final readers (one client per key). The
    /// client serves `workload` (see [`Workload::reads`] for what a key-less read means). The
    /// harness calls this inside the client host (in turmoil's context).
    fn client(&self, client: usize, workload: &Workload) -> Self::Client;

    /// Sets the clock of server `host` to run `offset_ms` milliseconds from simulated time
    /// (a [`Fault::Skew`](crate::Fault::Skew)). A system whose behaviour depends on no clock
    /// says so in its implementation and does nothing.
    fn skew_clock(&self, host: &str, offset_ms: i64);

    /// Applies the run's capacity model ([`SimConfig::capacity`](crate::SimConfig::capacity))
    /// to the servers this system will start: each cost that is `Some` replaces the system's
    /// own. The harness calls it once, before any server starts. The default ignores it: a
    /// system that models no costs (a toy) keeps serving for free.
    fn set_capacity(&mut self, capacity: &Capacity) {
        let _ = capacity;
    }

    /// Messages sent so far by every part of the system (client requests, replies, and any
    /// messages between servers), for the run's counters.
    fn messages_sent(&self) -> u64;
}

/// A connection (or connections) from one logical client to the system.
pub trait Client: 'static {
    /// Sends one invocation and awaits the reply. The harness wraps this in its timeout; a
    /// call cut off by the timeout is indeterminate.
    fn call(&mut self, invocation: &Invocation) -> impl Future<Output = Result<Reply, CallError>>;

    /// Forgets the connection (after an error or a timeout) so the next call reconnects.
    fn reset(&mut self);
}
