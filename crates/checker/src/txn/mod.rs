//! Transactional isolation checking in the manner of Elle (Kingsbury & Alvaro, "Elle:
//! Inferring Isolation Anomalies from Experimental Observations", VLDB 2020), for Jepsen's
//! list-append histories, and the bank invariant.
//!
//! A list-append transaction (`f == "txn"`) is a list of micro-operations `[f k v]`: `append`
//! adds the integer `v` to the end of the list at key `k`; `r` reads the whole list (its `v` is
//! `nil` on invocation and the list read on `ok` completion). Because appended values are
//! unique per key and a read returns every value in order, each read names the transactions
//! whose appends it saw and the order they took effect in. From that the checker infers
//! Adya's dependency graph and looks for cycles in it.
//!
//! Map of the module:
//! - [`parse`]: events -> transactions (`ok` committed, `fail` aborted, `info` or
//!   never completed indeterminate), one event at a time ([`ListAppendReader`]), with input
//!   errors naming the event. Lists read are kept as lengths into a few lists per key.
//! - `list_append`: per-key version orders and the dependency edges (ww, wr, rw), plus the
//!   anomalies that need no cycle (G1a, G1b, internal, lost update, incompatible order).
//! - `realtime`: real-time precedence edges, as a frontier rather than all pairs.
//! - `graph`: the dependency graph, Tarjan's strongly connected components, shortest paths.
//! - `cycles`: which cycles to look for in which components, and their classes.
//! - [`anomaly`]: anomaly classes, isolation levels, explanations.
//! - [`bank`]: the bank invariant (constant total, no negative balance).
//!
//! # Inference rules (Elle's, for list-append)
//! - Version order of a key: its longest `ok` read. Every other `ok` read must be a prefix of
//!   it; if one is not, the key is reported as `incompatible-order` and gives no edges.
//! - ww: the appenders of consecutive elements of a version order.
//! - wr: the appender of the last element a read saw -> the reader.
//! - rw: a reader of a prefix ending at element `e` (or of the empty list) -> the appender of
//!   the element after `e` (the first element).
//! - rt (when [`TxnOptions::realtime`]): `T1` completed before `T2` was invoked, in history
//!   order (the order of the events, which is real time whether or not they carry `time`).
//!
//! Nodes are committed (`ok`) transactions and indeterminate ones whose appends some read
//! observed; aborted (`fail`) transactions never take part in edges. Self-edges are dropped.
//!
//! # Anomaly classes and isolation levels
//! Classes follow Adya ("Weak Consistency: A Generalized Theory and Optimistic
//! Implementations for Distributed Transactions", MIT PhD thesis, 1999) and Elle:
//! G0 (a ww-only cycle, "dirty write"), G1a (aborted read), G1b (intermediate read), G1c (a
//! ww/wr cycle with a wr edge), G-single (a cycle with exactly one rw edge, "read skew"),
//! G2-item (a cycle with two or more rw edges, "write skew"), lost update (two committed
//! transactions read the same version of a key and both appended to it), internal (a
//! transaction's read disagrees with its own earlier reads and appends), incompatible order.
//! A `-realtime` class is a cycle that needs a real-time edge: it rules out strict
//! serializability only.
//!
//! The strongest level a history may satisfy ([`TxnReport::strongest`]), after Adya's
//! PL-levels, Berenson et al. ("A Critique of ANSI SQL Isolation Levels", SIGMOD 1995) for
//! snapshot isolation, and Elle's consistency-model graph:
//! - incompatible order, internal, G0: `none` (read uncommitted, PL-1, proscribes G0);
//! - G1a, G1b, G1c: `read-uncommitted` (read committed, PL-2, proscribes G0 and G1);
//! - G-single, lost update: `read-committed` (repeatable read, PL-2.99, proscribes G2-item,
//!   hence G-single; snapshot isolation proscribes G-single and lost update);
//! - G2-item only: `snapshot-isolation` (it allows write skew; repeatable read does not);
//! - realtime cycles only: `serializable` (strict serializability, PL-SS, adds real time);
//! - nothing: `strict-serializable` if real time was checked, else `serializable`.
//!
//! These are upper bounds: a history without anomalies is consistent with the level, not
//! proof of it. The checker is pure: the caller passes a deadline and a memory limit, and
//! the answer is `Unknown` rather than wrong when either is reached.
//!
//! # Memory
//! A history can be read as a stream ([`ListAppendReader`]): then only the transactions are
//! held (see [`parse`] for their size), never the events. The memory limit covers what the
//! check adds to them, which is estimated before it starts ([`Parsed::estimated_bytes`]).
//! What the limit leaves beyond the estimate is shared by two things whose size the history's
//! shape decides: the real-time edges (their number grows with concurrency), counted as they
//! are made, and the anomalies' explanations, which past their share are counted, not kept
//! ([`TxnReport::anomalies_not_kept`]).

pub mod anomaly;
pub mod bank;
mod cycles;
mod graph;
mod list_append;
pub mod parse;
mod realtime;
pub mod versions;

#[cfg(test)]
mod examples;
#[cfg(test)]
mod oracle;

use std::collections::BTreeMap;

use history::Event;

pub use anomaly::{Anomaly, AnomalyClass, IsolationLevel};
pub use bank::{check_bank, BankReader, BankReport, BankViolation, BankViolationKind};
pub use parse::{ListAppendReader, Parsed};

/// A history the transaction checkers cannot interpret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TxnError {
    /// An event is malformed or inconsistent with the rest of the history.
    #[error("event {}: {message}", event + 1)]
    Event {
        /// 0-based index of the event at fault (into the events slice).
        event: usize,
        /// What is wrong.
        message: String,
    },
}

impl TxnError {
    pub(crate) fn at(event: usize, message: impl Into<String>) -> Self {
        TxnError::Event { event, message: message.into() }
    }
}

/// How to run [`check_list_append`].
pub struct TxnOptions<'a> {
    /// Polled in every long loop; when it returns true the check gives up with `Unknown`.
    pub deadline: &'a dyn Fn() -> bool,
    /// The check gives up with `Unknown` when its estimate of the memory it needs beyond the
    /// transactions read (version orders, edges, the graph) exceeds this many bytes.
    pub memory_limit_bytes: usize,
    /// Also look for cycles through real-time edges (strict serializability).
    pub realtime: bool,
}

/// The verdict of a transaction check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnOutcome {
    /// No anomaly found.
    Valid,
    /// At least one anomaly found (see [`TxnReport::anomalies`]).
    Invalid,
    /// The check stopped (deadline, memory) before it could decide.
    Unknown {
        /// Why.
        reason: String,
    },
}

impl TxnOutcome {
    /// `valid`, `invalid` or `unknown`.
    pub fn as_str(&self) -> &'static str {
        match self {
            TxnOutcome::Valid => "valid",
            TxnOutcome::Invalid => "invalid",
            TxnOutcome::Unknown { .. } => "unknown",
        }
    }
}

/// What [`check_list_append`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnReport {
    /// Transactions completed `ok`.
    pub committed: usize,
    /// Transactions completed `fail`.
    pub aborted: usize,
    /// Transactions completed `info` or never completed.
    pub indeterminate: usize,
    /// The anomalies found, ordered by class, then by the transactions involved: every one,
    /// unless their explanations would pass half the room the memory limit leaves the check
    /// (then the first ones found, and [`TxnReport::anomalies_not_kept`] says how many more).
    pub anomalies: Vec<Anomaly>,
    /// How many anomalies of each class were found (kept or not).
    pub counts: BTreeMap<AnomalyClass, usize>,
    /// Anomalies found and counted but not kept, past the memory limit.
    pub anomalies_not_kept: usize,
    /// The strongest isolation level the history may satisfy; `None` when unknown.
    pub strongest: Option<IsolationLevel>,
    /// The verdict.
    pub outcome: TxnOutcome,
}

/// Why a check stopped early (internal).
#[derive(Debug)]
pub(crate) enum Halt {
    Input(TxnError),
    Deadline,
    /// More real-time edges than the memory limit leaves room for.
    Memory,
}

impl From<TxnError> for Halt {
    fn from(error: TxnError) -> Self {
        Halt::Input(error)
    }
}

/// Polls `deadline` once every 4,096 calls (the loops are tight; the clock is not free).
pub(crate) struct Poll<'a> {
    deadline: &'a dyn Fn() -> bool,
    count: u32,
}

impl<'a> Poll<'a> {
    pub(crate) fn new(deadline: &'a dyn Fn() -> bool) -> Self {
        Self { deadline, count: 0 }
    }

    /// `Err(Halt::Deadline)` once the deadline passed.
    pub(crate) fn tick(&mut self) -> Result<(), Halt> {
        self.count = self.count.wrapping_add(1);
        if self.count.is_multiple_of(4096) && (self.deadline)() {
            return Err(Halt::Deadline);
        }
        Ok(())
    }
}

/// Checks a list-append history (see the module docs for the rules).
pub fn check_list_append(events: &[Event], options: &TxnOptions<'_>) -> Result<TxnReport, TxnError> {
    check_transactions(&parse::parse(events)?, options)
}

/// Checks the transactions of a list-append history read by a [`ListAppendReader`].
pub fn check_transactions(parsed: &Parsed, options: &TxnOptions<'_>) -> Result<TxnReport, TxnError> {
    let (committed, aborted, indeterminate) = parsed.tally();
    let mut report = TxnReport {
        committed,
        aborted,
        indeterminate,
        anomalies: Vec::new(),
        counts: BTreeMap::new(),
        anomalies_not_kept: 0,
        strongest: None,
        outcome: TxnOutcome::Valid,
    };
    let estimate = parsed.estimated_bytes();
    if estimate > options.memory_limit_bytes {
        let reason = format!(
            "the check would need about {} MiB, over the limit of {} MiB",
            estimate.div_ceil(1 << 20),
            options.memory_limit_bytes >> 20
        );
        report.outcome = TxnOutcome::Unknown { reason };
        return Ok(report);
    }
    // What the estimate leaves: half for the anomalies kept, half for the real-time edges (12
    // bytes each while collected, 24 with the vector's slack, 5 in the graph).
    let spare = (options.memory_limit_bytes - estimate) / 2;
    let mut poll = Poll::new(options.deadline);
    let found =
        list_append::infer(parsed, options.realtime, (spare, spare / 29), &mut poll).and_then(|mut inferred| {
            let mut found = std::mem::replace(&mut inferred.anomalies, anomaly::Found::new(0));
            cycles::find(parsed, &inferred, options.realtime, &mut found, &mut poll).map(|()| found)
        });
    let found = match found {
        Ok(found) => found,
        Err(Halt::Input(error)) => return Err(error),
        Err(Halt::Deadline) => {
            report.outcome = TxnOutcome::Unknown { reason: "the deadline passed".to_owned() };
            return Ok(report);
        }
        Err(Halt::Memory) => {
            let reason = format!(
                "the real-time edges would need more than the limit of {} MiB leaves",
                options.memory_limit_bytes >> 20
            );
            report.outcome = TxnOutcome::Unknown { reason };
            return Ok(report);
        }
    };
    report.outcome = if found.is_empty() { TxnOutcome::Valid } else { TxnOutcome::Invalid };
    let mut anomalies = found.kept;
    anomalies.sort_by(|a, b| (a.class, &a.txns, &a.steps).cmp(&(b.class, &b.txns, &b.steps)));
    report.anomalies = anomalies;
    report.counts = found.counts;
    report.anomalies_not_kept = found.not_kept;
    report.strongest = Some(IsolationLevel::strongest(report.counts.keys().copied(), options.realtime));
    Ok(report)
}
