//! The contract between the harness and a system under test.
//!
//! A system provides server hosts (whose start-up future turmoil re-runs on every restart, so
//! start-up must recover from disk) and a client that turns one [`Operation`] into one
//! request. The harness owns everything else: processes, timeouts, recording, faults.

use std::future::Future;
use std::pin::Pin;

use history::Value;

use crate::capacity::Capacity;

/// One operation a client process invokes, typed: what the stores serve. A history records it
/// through [`Operation::f`], [`Operation::key`] and [`Operation::value`], the same fields every
/// history event carries:
///
/// | operation  | `f`         | `key`        | `value`              |
/// |------------|-------------|--------------|----------------------|
/// | `Read`     | `read`      | the key      | nil                  |
/// | `Write`    | `write`     | the key      | the value written    |
/// | `Cas`      | `cas`       | the key      | `[expected new]`     |
/// | `Add`      | `add`       | none         | the element          |
/// | `ReadSet`  | `read`      | none         | nil                  |
/// | `Transfer` | `transfer`  | none         | `[from to amount]`   |
/// | `ReadMany` | `read-many` | none         | `[k1 k2 ...]`        |
/// | `Txn`      | `txn`       | none         | `[[f k v] ...]`      |
///
/// A transaction's micro-operations are recorded as Elle's list-append histories record them:
/// `["append" k v]` and `["r" k nil]` on the invocation, `["r" k [v1 v2 ...]]` (the list read)
/// on the `ok` completion ([`MicroOp`]).
///
/// A system that cannot serve an operation answers [`Reply::Fail`] without sending anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// Reads one register (`None`: the workload's only register).
    Read {
        /// The key, for multi-key workloads.
        key: Option<Value>,
    },
    /// Writes one register.
    Write {
        /// The key, for multi-key workloads.
        key: Option<Value>,
        /// The value written.
        value: Value,
    },
    /// Sets one register to `new` if it holds `expected`.
    Cas {
        /// The key, for multi-key workloads.
        key: Option<Value>,
        /// The value the register must hold.
        expected: Value,
        /// The value it then holds.
        new: Value,
    },
    /// Adds an element to the set.
    Add {
        /// The element.
        element: Value,
    },
    /// Reads the whole set (recorded as a key-less `read`, as Jepsen's set workload does).
    ReadSet,
    /// Moves `amount` from account `from` to account `to`.
    Transfer {
        /// The account debited.
        from: Value,
        /// The account credited.
        to: Value,
        /// How much.
        amount: i64,
    },
    /// Reads several registers at once.
    ReadMany {
        /// The keys, in the order of the values returned.
        keys: Vec<Value>,
    },
    /// A transaction of list micro-operations: all or nothing, isolated, on a transactional
    /// store; one by one, as an application would issue them, on a store without transactions.
    /// Its `ok` reply is the list of micro-operations completed ([`MicroOp::completed`]).
    Txn {
        /// The micro-operations, in order.
        ops: Vec<MicroOp>,
    },
}

/// One micro-operation of a [`Operation::Txn`]: on lists, as Elle's list-append workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MicroOp {
    /// Appends `value` to the list at `key` (an absent key is the empty list).
    Append {
        /// The list's key.
        key: Value,
        /// The element appended (unique per key in a run).
        value: Value,
    },
    /// Reads the list at `key`.
    Read {
        /// The list's key.
        key: Value,
    },
}

impl MicroOp {
    /// The function a history records: `append` or `r` (Elle's names).
    pub fn f(&self) -> &'static str {
        match self {
            MicroOp::Append { .. } => "append",
            MicroOp::Read { .. } => "r",
        }
    }

    /// The key the micro-operation addresses.
    pub fn key(&self) -> &Value {
        match self {
            MicroOp::Append { key, .. } | MicroOp::Read { key } => key,
        }
    }

    /// `[f k v]` as invoked: an append's element, nil for a read.
    pub fn invoked(&self) -> Value {
        match self {
            MicroOp::Append { value, .. } => self.completed(value.clone()),
            MicroOp::Read { .. } => self.completed(Value::Nil),
        }
    }

    /// `[f k v]` as completed, with `v` an append's element or the list a read returned.
    pub fn completed(&self, v: Value) -> Value {
        Value::List(vec![Value::Str(self.f().to_owned()), self.key().clone(), v])
    }

    /// Parses `[f k v]` back (for a store's wire): the micro-operation, or `None` when the
    /// value has another shape.
    pub fn parse(value: &Value) -> Option<MicroOp> {
        let [f, key, v] = value.as_list()? else { return None };
        match f.as_str()? {
            "append" => Some(MicroOp::Append { key: key.clone(), value: v.clone() }),
            "r" => Some(MicroOp::Read { key: key.clone() }),
            _ => None,
        }
    }
}

impl Operation {
    /// The function a history records: `read`, `write`, `cas`, `add`, `transfer`, `read-many`,
    /// `txn`.
    pub fn f(&self) -> &'static str {
        match self {
            Operation::Read { .. } | Operation::ReadSet => "read",
            Operation::Txn { .. } => "txn",
            Operation::Write { .. } => "write",
            Operation::Cas { .. } => "cas",
            Operation::Add { .. } => "add",
            Operation::Transfer { .. } => "transfer",
            Operation::ReadMany { .. } => "read-many",
        }
    }

    /// The key a history records (for register operations of multi-key workloads).
    pub fn key(&self) -> Option<&Value> {
        match self {
            Operation::Read { key } | Operation::Write { key, .. } | Operation::Cas { key, .. } => key.as_ref(),
            Operation::Add { .. }
            | Operation::ReadSet
            | Operation::Transfer { .. }
            | Operation::ReadMany { .. }
            | Operation::Txn { .. } => None,
        }
    }

    /// The argument a history records with the invocation (and with a `fail` or `info`
    /// completion): see the table on [`Operation`].
    pub fn value(&self) -> Value {
        match self {
            Operation::Read { .. } | Operation::ReadSet => Value::Nil,
            Operation::Write { value, .. } => value.clone(),
            Operation::Cas { expected, new, .. } => Value::List(vec![expected.clone(), new.clone()]),
            Operation::Add { element } => element.clone(),
            Operation::Transfer { from, to, amount } => {
                Value::List(vec![from.clone(), to.clone(), Value::Int(*amount)])
            }
            Operation::ReadMany { keys } => Value::List(keys.clone()),
            Operation::Txn { ops } => Value::List(ops.iter().map(MicroOp::invoked).collect()),
        }
    }

    /// True for operations that only observe (their `ok` value is what they read; an update's
    /// is its argument, as Jepsen histories record them). A transaction is not one: its `ok`
    /// value is its completed micro-operations, reads and appends alike.
    pub fn is_read(&self) -> bool {
        matches!(self, Operation::Read { .. } | Operation::ReadSet | Operation::ReadMany { .. })
    }
}

/// The system's definite answer to an operation.
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
    /// are the regular processes, and `total_clients` is the final readers (one client per final
    /// read). The harness calls this inside the client host (in turmoil's context).
    fn client(&self, client: usize) -> Self::Client;

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

    /// Loads `state` (key, value) into the system before any server starts, as a database
    /// restored before the experiment: the servers start holding it, durably, and it is in no
    /// history ([`Workload::initial_state`](crate::Workload::initial_state), a bank's opening
    /// balances). The harness calls it once, before any server starts, when the state is not
    /// empty. The default refuses: a system that cannot preload cannot run such a workload.
    fn preload(&mut self, state: &[(Value, Value)]) -> Result<(), String> {
        let _ = state;
        Err("this system cannot start with preloaded state".to_owned())
    }

    /// Messages sent so far by every part of the system (client requests, replies, and any
    /// messages between servers), for the run's counters.
    fn messages_sent(&self) -> u64;

    /// Syncs so far by every server (a commit log's fsyncs, a database's file syncs), for the run's
    /// counters; `None` (the default) for a system that does not count them.
    fn disk_syncs(&self) -> Option<u64> {
        None
    }

    /// The host that leads now, for a fault aimed at [`crate::LEADER`] (see
    /// [`crate::leadership`]). The default: `None`, a system without a leader (the fault then
    /// targets its first server).
    fn leader(&self) -> Option<String> {
        None
    }

    /// Who led when, and the acknowledged writes rolled back, for the failover figures
    /// ([`crate::LeaderLog`]). The default: `None`, a system that elects no leader.
    fn leaders(&self) -> Option<crate::LeaderLog> {
        None
    }

    /// What the servers booked on their capacity model so far, per server
    /// ([`crate::capacity::UsageLog`]). The default: nothing (a system that models no costs).
    fn usage(&self) -> crate::capacity::ClusterUsage {
        crate::capacity::ClusterUsage::default()
    }
}

/// A connection (or connections) from one logical client to the system.
pub trait Client: 'static {
    /// Sends one operation and awaits the reply. The harness wraps this in its timeout; a
    /// call cut off by the timeout is indeterminate. An operation the system does not serve is
    /// a definite [`Reply::Fail`], sent nowhere.
    fn call(&mut self, operation: &Operation) -> impl Future<Output = Result<Reply, CallError>>;

    /// Forgets the connection (after an error or a timeout) so the next call reconnects.
    fn reset(&mut self);
}
