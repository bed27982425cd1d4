//! The workloads the lab can run, behind one seam: a workload is one module implementing
//! [`WorkloadKind`] (its `[workload]` table, validated into a [`Configured`] workload that
//! knows what the clients invoke and how a history of it is judged) plus one line in
//! [`Registry::standard`](crate::store::Registry::standard).
//!
//! The keys every workload shares (how many clients, their timeout) are read by the
//! experiment ([`Clients`]); the rest of the table belongs to the workload.

pub mod bank;
pub mod kv;
pub mod list_append;
pub mod register;
pub mod registers;
pub mod set;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use history::Event;
use serde::{Deserialize, Serialize};

use crate::source::{Checked, Section};

/// A kind of workload: how its `[workload]` table reads.
pub trait WorkloadKind: Send + Sync + 'static {
    /// Its name in files (`kind = "kv"`).
    fn kind(&self) -> &'static str;

    /// One line saying what it is, for listings.
    fn about(&self) -> &'static str;

    /// The keys its `[workload]` table accepts (besides `kind` and the [`Clients`] keys).
    fn keys(&self) -> &'static [&'static str];

    /// Validates the `[workload]` table (without `kind` and the [`Clients`] keys).
    fn parse(&self, table: Section<'_>) -> Checked<Box<dyn Configured>>;
}

/// A validated workload: what clients invoke, and how its histories are judged.
pub trait Configured: fmt::Debug + Send + Sync {
    /// The workload as the harness runs it: its generator and its final reads.
    fn sim_workload(&self) -> Arc<dyn sim::Workload>;

    /// Its weights of reads, writes and compare-and-sets (for reports and the capacity
    /// model's bounds; a workload without that mix says what it draws from in `describe`).
    fn mix(&self) -> sim::OpMix;

    /// The workload in a few words (`10 keys uniform`, `one register`).
    fn describe(&self) -> String;

    /// What its check establishes, as tables name it (`linearizable`, `set-valid`).
    fn check_label(&self) -> &'static str;

    /// Judges a history of it (the nemesis's events included). The checker may take up to
    /// `limits.timeout` of wall time before its verdict is unknown.
    fn judge(&self, history: &[Event], limits: &Limits) -> Judged;

    /// A boxed copy.
    fn clone_box(&self) -> Box<dyn Configured>;
}

impl Clone for Box<dyn Configured> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// What the checker may spend on one history.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall time before the verdict is unknown.
    pub timeout: Duration,
    /// Memory of the search.
    pub memory_limit_bytes: usize,
}

/// The verdict of a history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judged {
    /// The consistency check.
    pub check: Check,
    /// Reads that returned a value certainly overwritten before they began (`None`: the
    /// workload has no reads to judge).
    pub stale_reads: Option<u64>,
    /// Acknowledged writes the final reads no longer reflect (`None`: nothing could be judged).
    pub lost_writes: Option<u64>,
    /// When the lost writes were acknowledged: the simulated nanoseconds of the first and the
    /// last lost write's acknowledgement (`None`: nothing lost). A power loss that takes the
    /// writes acknowledged since the last sync or write-back shows as a window ending at it.
    pub lost_window: Option<(u64, u64)>,
    /// Acknowledged writes (or adds).
    pub acknowledged_writes: u64,
    /// Keys with acknowledged writes but no successful final read: their writes can be neither
    /// called lost nor kept (for a set, 1 when no final read of the set succeeded).
    pub unjudged_keys: u64,
    /// Why the history violated a property, for people (empty when it did not).
    pub explanation: String,
    /// What a transactional workload's check found (`None` for the others).
    pub txn: Option<TxnJudged>,
}

/// What the check of a transactional workload (list-append, bank) found in one history: the
/// transactions' outcomes, the anomalies by class, and the strongest isolation level the
/// history is consistent with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TxnJudged {
    /// Transactions (or transfers) that ended `ok`.
    pub committed: u64,
    /// Of them: aborted by the store (`fail`).
    pub aborted: u64,
    /// Outcome unknown (`info`).
    pub indeterminate: u64,
    /// Anomalies found, by class name (`G0`, `G1a`, ..., `lost-update`); empty when none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub anomalies: BTreeMap<String, u64>,
    /// The strongest isolation level the history is consistent with (`serializable`, ...,
    /// `none`); `None` when the checker could not tell, or the workload is judged by
    /// invariants only (bank).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strongest: Option<String>,
    /// Reads that broke an invariant (bank: a total other than the bank's, a negative
    /// balance); `None` for workloads without invariants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invariant_violations: Option<u64>,
}

/// The earliest and latest of `times` (`None` when there are none).
pub fn window(times: impl IntoIterator<Item = u64>) -> Option<(u64, u64)> {
    times.into_iter().fold(None, |acc, t| match acc {
        None => Some((t, t)),
        Some((first, last)) => Some((first.min(t), last.max(t))),
    })
}

/// The time of the `ok` completion of the operation invoked at `history[invoke]` (the same
/// process's next completion), if it has one.
pub fn acknowledged_at(history: &[Event], invoke: usize) -> Option<u64> {
    let process = &history.get(invoke)?.process;
    history[invoke + 1..]
        .iter()
        .find(|e| &e.process == process && e.kind != history::EventType::Invoke)
        .filter(|e| e.kind == history::EventType::Ok)
        .and_then(|e| e.time)
}

/// The consistency verdict of one history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// Register and kv workloads: the checker found a linearization.
    Linearizable,
    /// Register and kv workloads: no linearization exists.
    NotLinearizable,
    /// The checker's deadline passed first.
    Unknown,
    /// Set workload: the final read holds every acknowledged add and nothing invented.
    SetValid,
    /// Set workload: an acknowledged add is missing, something unexpected appeared, or no final
    /// read succeeded.
    SetInvalid,
    /// List-append workload: no anomaly; the history is serializable.
    Serializable,
    /// List-append workload: an anomaly (a dependency cycle, an aborted or intermediate read,
    /// a lost update, incompatible orders).
    NotSerializable,
    /// Bank workload: every read kept the total and no balance went negative.
    BankValid,
    /// Bank workload: some read broke an invariant.
    BankInvalid,
    /// The run failed: nothing to check.
    NotRun,
}

impl Check {
    /// True when the history passed.
    pub fn passed(self) -> bool {
        matches!(self, Check::Linearizable | Check::SetValid | Check::Serializable | Check::BankValid)
    }

    /// True when the history was decided and failed.
    pub fn failed(self) -> bool {
        matches!(self, Check::NotLinearizable | Check::SetInvalid | Check::NotSerializable | Check::BankInvalid)
    }

    /// True when the history was decided (passed or failed, not unknown or not run).
    pub fn decided(self) -> bool {
        !matches!(self, Check::Unknown | Check::NotRun)
    }
}

/// How many clients run the workload, and how long each waits for a reply: the `[workload]`
/// keys every workload shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clients {
    /// Client hosts (`client-0`, ...).
    pub hosts: usize,
    /// Logical clients per client host.
    pub per_host: usize,
    /// How long a client waits before recording an operation as indeterminate.
    pub timeout: Duration,
}

/// Most operations a judgment lists in its explanation.
pub const LISTED: usize = 20;

/// `values` for an explanation: the first [`LISTED`], and how many more.
pub fn listed(values: &[history::Value]) -> String {
    let shown: Vec<String> = values.iter().take(LISTED).map(ToString::to_string).collect();
    let more = values.len().saturating_sub(LISTED);
    if more > 0 {
        format!("{} (and {more} more)", shown.join(" "))
    } else {
        shown.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use history::{Event, EventType, Process, Value};

    use super::*;

    /// `process` does `f` with `value` on `key` (no key: the set), invoked at `from` ms and
    /// completing `kind` at `to` ms (the completion of a read carries what it read).
    fn op(
        process: u64,
        f: &str,
        key: Option<i64>,
        value: Value,
        (from, to): (u64, u64),
        kind: EventType,
    ) -> [Event; 2] {
        let mut call = Event::new(Process::Client(process), EventType::Invoke, f, value.clone());
        let mut done = Event::new(Process::Client(process), kind, f, value);
        call.key = key.map(Value::Int);
        done.key = key.map(Value::Int);
        call.time = Some(from * 1_000_000);
        done.time = Some(to * 1_000_000);
        [call, done]
    }

    fn limits() -> Limits {
        Limits { timeout: Duration::from_secs(10), memory_limit_bytes: 1 << 26 }
    }

    #[test]
    fn windows_span_their_times() {
        assert_eq!(window([]), None);
        assert_eq!(window([5]), Some((5, 5)));
        assert_eq!(window([9, 3, 7]), Some((3, 9)));
    }

    #[test]
    fn an_invocation_is_acknowledged_by_its_own_ok_only() {
        let mut history: Vec<Event> = Vec::new();
        history.extend(op(1, "write", Some(0), Value::Int(1), (0, 4), EventType::Ok));
        history.extend(op(2, "write", Some(0), Value::Int(2), (1, 2), EventType::Info));
        // Interleave: process 2 invokes between process 1's invocation and completion.
        history.swap(1, 2);
        assert_eq!(acknowledged_at(&history, 0), Some(4_000_000));
        assert_eq!(acknowledged_at(&history, 1), None, "an info is not an acknowledgement");
        assert_eq!(acknowledged_at(&history, 99), None);
    }

    #[test]
    fn the_lost_window_spans_the_acknowledgements_of_the_lost_writes_only() {
        // Key 0: writes 1 (acked at 2 ms), 2 (acked at 5 ms) and 3 (acked at 8 ms); the final
        // read at 20 ms returns 1: writes 2 and 3 are lost, acknowledged from 5 to 8 ms.
        let mut history: Vec<Event> = Vec::new();
        for (process, value, times) in [(1, 1, (1, 2)), (2, 2, (4, 5)), (3, 3, (7, 8))] {
            history.extend(op(process, "write", Some(0), Value::Int(value), times, EventType::Ok));
        }
        history.extend(op(4, "read", Some(0), Value::Int(1), (20, 21), EventType::Ok));
        let judged = registers::judge(&history, &limits());
        assert_eq!((judged.lost_writes, judged.lost_window), (Some(2), Some((5_000_000, 8_000_000))));

        // The same as a set: adds 1, 2, 3; the final read holds only 2.
        let mut history: Vec<Event> = Vec::new();
        for (process, value, times) in [(1, 1, (1, 2)), (2, 2, (4, 5)), (3, 3, (7, 8))] {
            history.extend(op(process, "add", None, Value::Int(value), times, EventType::Ok));
        }
        history.extend(op(4, "read", None, Value::List(vec![Value::Int(2)]), (20, 21), EventType::Ok));
        let judged = set::SetWorkload.judge(&history, &limits());
        assert_eq!((judged.lost_writes, judged.lost_window), (Some(2), Some((2_000_000, 8_000_000))));

        // Nothing lost, no window.
        history.truncate(6);
        history.extend(op(4, "read", None, Value::List((1..=3).map(Value::Int).collect()), (20, 21), EventType::Ok));
        assert_eq!(set::SetWorkload.judge(&history, &limits()).lost_window, None);
    }
}
