//! A linearizability checker for histories of client operations.
//!
//! Given a history (see the `history` crate) and a sequential [`Model`], the checker decides
//! whether the operations could have taken effect one at a time, each at an instant between
//! its invocation and its completion, in an order the model accepts.
//!
//! Map of the crate:
//! - [`model`]: the [`Model`] trait and the `register`, `cas-register` and `kv` models.
//! - [`prepare`]: pairing invocations with completions, Jepsen's `fail`/`info` semantics,
//!   grouping by partition.
//! - [`search`]: the Wing–Gong/Lowe search with memoisation, for one partition.
//! - [`memo`]: its bounded table of explored configurations.
//! - [`set_loss`]: lost and unexpected elements of set histories (Jepsen's set checker).
//! - [`staleness`]: stale reads and lost acknowledged writes of register histories.
//! - [`txn`]: transactional isolation (Elle-style list-append anomalies) and the bank invariant.
//! - [`verdict`]: the three-way [`Outcome`] and the [`Witness`] of a violation.
//! - This module: P-compositionality. Partitions (keys) are independent objects, so they are
//!   checked separately, in parallel, in rounds of growing step budgets; the check stops after
//!   the first round in which a partition proves illegal (see [`check`]).
//!
//! The checker is pure: no clock, no files, no printing. The caller passes a deadline as a
//! function and a memory limit in [`CheckOptions`].

pub mod hashing;
pub mod memo;
pub mod model;
pub mod prepare;
pub mod search;
pub mod set_loss;
pub mod staleness;
pub mod txn;
pub mod verdict;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use history::{Event, Value};

pub use model::{
    infer as infer_model, infer_from_functions, CasRegister, Completion, Implied, Kv, Model, Register, MODEL_NAMES,
};
pub use search::SearchStats;
pub use txn::{
    check_bank, check_list_append, check_transactions, Anomaly, AnomalyClass, BankReader, BankReport, BankViolation,
    IsolationLevel, ListAppendReader, TxnError, TxnOptions, TxnOutcome, TxnReport,
};
pub use verdict::{OpSummary, Outcome, PartitionResult, PartitionVerdict, Verdict, Witness};

use prepare::{Operation, Partition};
use search::{Search, Searcher};

/// A history the checker cannot interpret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckError {
    /// An event is inconsistent with the rest of the history or with the model.
    #[error("event {}: {message}", event + 1)]
    Event {
        /// 0-based index of the event at fault.
        event: usize,
        /// What is wrong.
        message: String,
    },
    /// No model has this name.
    #[error("unknown model `{0}` (expected one of: register, cas-register, kv)")]
    UnknownModel(String),
}

/// How to run a check.
pub struct CheckOptions<'a> {
    /// Polled during the search; when it returns true the check gives up with `Unknown`.
    pub deadline: &'a (dyn Fn() -> bool + Sync),
    /// Worker threads for partitions (1 checks them one after another).
    pub jobs: usize,
    /// Memory limit for the search tables (memo, interned states) of all partitions together,
    /// in bytes. Passing it costs time, never correctness.
    pub memory_limit_bytes: usize,
    /// Report the linearization order of each linearizable partition
    /// ([`PartitionResult::Linearizable`] is otherwise empty): one summary per operation, as
    /// much memory again as the operations themselves on a long history.
    pub orders: bool,
}

/// Never stops.
pub fn no_deadline() -> bool {
    false
}

impl Default for CheckOptions<'_> {
    fn default() -> Self {
        Self { deadline: &no_deadline, jobs: 1, memory_limit_bytes: 256 << 20, orders: true }
    }
}

/// Checks `events` against the model called `model_name` (one of [`MODEL_NAMES`]).
pub fn check_named(model_name: &str, events: &[Event], options: &CheckOptions<'_>) -> Result<Verdict, CheckError> {
    match model_name {
        "register" => check(&Register, events, options),
        "cas-register" => check(&CasRegister, events, options),
        "kv" => check(&Kv, events, options),
        other => Err(CheckError::UnknownModel(other.to_owned())),
    }
}

/// A [`prepare::Preparer`] for one of the named models ([`MODEL_NAMES`]), for callers that
/// pick the model at run time and stream the history in.
pub enum NamedPreparer {
    /// For [`Register`].
    Register(prepare::Preparer<'static, Register>),
    /// For [`CasRegister`].
    CasRegister(prepare::Preparer<'static, CasRegister>),
    /// For [`Kv`].
    Kv(prepare::Preparer<'static, Kv>),
}

/// Operations prepared by a [`NamedPreparer`], ready for [`check_prepared_named`].
pub enum NamedPrepared {
    /// For [`Register`].
    Register(Vec<Partition<<Register as Model>::Op>>),
    /// For [`CasRegister`].
    CasRegister(Vec<Partition<<CasRegister as Model>::Op>>),
    /// For [`Kv`].
    Kv(Vec<Partition<<Kv as Model>::Op>>),
}

impl NamedPreparer {
    /// A preparer for the model called `model_name`.
    pub fn new(model_name: &str) -> Result<Self, CheckError> {
        match model_name {
            "register" => Ok(Self::Register(prepare::Preparer::new(&Register))),
            "cas-register" => Ok(Self::CasRegister(prepare::Preparer::new(&CasRegister))),
            "kv" => Ok(Self::Kv(prepare::Preparer::new(&Kv))),
            other => Err(CheckError::UnknownModel(other.to_owned())),
        }
    }

    /// Takes the next event ([`prepare::Preparer::push`]).
    pub fn push(&mut self, event: &Event) -> Result<(), CheckError> {
        match self {
            Self::Register(p) => p.push(event),
            Self::CasRegister(p) => p.push(event),
            Self::Kv(p) => p.push(event),
        }
    }

    /// Events pushed so far.
    pub fn events(&self) -> usize {
        match self {
            Self::Register(p) => p.events(),
            Self::CasRegister(p) => p.events(),
            Self::Kv(p) => p.events(),
        }
    }

    /// Client invocations pushed so far.
    pub fn invocations(&self) -> usize {
        match self {
            Self::Register(p) => p.invocations(),
            Self::CasRegister(p) => p.invocations(),
            Self::Kv(p) => p.invocations(),
        }
    }

    /// The prepared operations ([`prepare::Preparer::finish`]).
    pub fn finish(self) -> Result<NamedPrepared, CheckError> {
        Ok(match self {
            Self::Register(p) => NamedPrepared::Register(p.finish()?),
            Self::CasRegister(p) => NamedPrepared::CasRegister(p.finish()?),
            Self::Kv(p) => NamedPrepared::Kv(p.finish()?),
        })
    }
}

/// Checks operations a [`NamedPreparer`] prepared ([`check_prepared`]).
pub fn check_prepared_named(prepared: NamedPrepared, options: &CheckOptions<'_>) -> Verdict {
    match prepared {
        NamedPrepared::Register(p) => check_prepared(&Register, p, options),
        NamedPrepared::CasRegister(p) => check_prepared(&CasRegister, p, options),
        NamedPrepared::Kv(p) => check_prepared(&Kv, p, options),
    }
}

/// Steps every undecided partition may take in the first scheduling round.
const FIRST_ROUND_STEPS: u64 = 1 << 14;

/// Checks `events` against `model`.
///
/// Partitions are searched in rounds: in each round every undecided partition advances until
/// it has taken the round's step budget in all (which grows fourfold per round), the partitions
/// spread over `options.jobs` threads. After a round in which some partition proved illegal
/// the check stops: a violation found in a small partition is not held up by a hard one, as
/// in Porcupine. Because budgets count steps, not time, which partitions are decided when the
/// check stops, and so the reported witness, does not depend on thread timing.
pub fn check<M: Model>(model: &M, events: &[Event], options: &CheckOptions<'_>) -> Result<Verdict, CheckError> {
    Ok(check_prepared(model, prepare::prepare(model, events)?, options))
}

/// [`check`] on operations already prepared ([`prepare::Preparer`]: a history read as a stream
/// never needs its events in memory).
pub fn check_prepared<M: Model>(model: &M, partitions: Vec<Partition<M::Op>>, options: &CheckOptions<'_>) -> Verdict {
    let count = partitions.len();
    // A partition's searcher lives from its first round until it concludes.
    let searchers: Vec<Mutex<Option<Searcher<'_, M>>>> = partitions.iter().map(|_| Mutex::new(None)).collect();
    let outcomes: Vec<Mutex<Option<(Search, SearchStats)>>> = partitions.iter().map(|_| Mutex::new(None)).collect();
    let mut undecided: Vec<usize> = (0..count).collect();
    let mut budget = FIRST_ROUND_STEPS;
    while !undecided.is_empty() {
        let memo_limit = options.memory_limit_bytes / undecided.len();
        let next = AtomicUsize::new(0);
        let worker = || {
            while let Some(&index) = undecided.get(next.fetch_add(1, Ordering::Relaxed)) {
                let (Ok(mut slot), Ok(mut outcome)) = (searchers[index].lock(), outcomes[index].lock()) else {
                    break;
                };
                let searcher = slot.get_or_insert_with(|| Searcher::new(model, &partitions[index].ops, memo_limit));
                searcher.set_memory_limit(memo_limit);
                if let Some(done) = searcher.run(budget, options.deadline).cloned() {
                    *outcome = Some((done, searcher.stats()));
                    *slot = None;
                }
            }
        };
        let jobs = options.jobs.clamp(1, undecided.len());
        if jobs == 1 {
            worker();
        } else {
            std::thread::scope(|scope| {
                for _ in 0..jobs {
                    scope.spawn(worker);
                }
            });
        }
        let decided = |i: &usize| outcomes[*i].lock().map(|o| o.is_some()).unwrap_or(true);
        undecided.retain(|i| !decided(i));
        let illegal = (0..count).any(|i| matches!(outcomes[i].lock().as_deref(), Ok(Some((Search::Illegal(_), _)))));
        if illegal {
            break;
        }
        budget = budget.saturating_mul(4);
    }

    drop(searchers);
    let partitions: Vec<PartitionVerdict> = partitions
        .into_iter()
        .zip(outcomes)
        .map(|(partition, outcome)| {
            let outcome = outcome.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
            partition_verdict(model, partition, outcome, options.orders)
        })
        .collect();
    let outcome = if partitions.iter().any(|p| matches!(p.result, PartitionResult::Illegal(_))) {
        Outcome::NotLinearizable
    } else if partitions.iter().any(|p| p.result == PartitionResult::Unknown) {
        Outcome::Unknown
    } else {
        Outcome::Linearizable
    };
    Verdict { outcome, partitions }
}

/// Turns a partition's search outcome (`None`: never concluded) into its verdict.
fn partition_verdict<M: Model>(
    model: &M,
    partition: Partition<M::Op>,
    outcome: Option<(Search, SearchStats)>,
    orders: bool,
) -> PartitionVerdict {
    let Partition { key, ops } = partition;
    let operations = ops.len();
    let (result, stats) = match outcome {
        None => (PartitionResult::Skipped, SearchStats::default()),
        Some((Search::Stopped, stats)) => (PartitionResult::Unknown, stats),
        Some((Search::Illegal(prefix), stats)) => {
            (PartitionResult::Illegal(Box::new(witness(model, &ops, &prefix))), stats)
        }
        Some((Search::Linearizable(order), stats)) => {
            let replay: Vec<&M::Op> = order.iter().map(|&i| &ops[i].op).collect();
            if model.verify(&replay) {
                drop(replay);
                // Each operation's origin moves into its summary: the order costs no copy of
                // the values.
                let mut ops = ops;
                let order = if orders {
                    order.into_iter().map(|i| take_summary(model, &mut ops[i])).collect()
                } else {
                    Vec::new()
                };
                (PartitionResult::Linearizable(order), stats)
            } else {
                // Only a fingerprint collision can get here; say "unknown" rather than guess.
                (PartitionResult::Unknown, stats)
            }
        }
    };
    PartitionVerdict { key, operations, result, stats }
}

/// Explains a failed search from its longest legal prefix.
fn witness<M: Model>(model: &M, ops: &[Operation<M::Op>], prefix: &[usize]) -> Witness {
    let mut placed = vec![false; ops.len()];
    for &i in prefix {
        placed[i] = true;
    }
    let replay: Vec<&M::Op> = prefix.iter().map(|&i| &ops[i].op).collect();
    // A failed search always leaves a completed operation unplaced.
    let blocked = (0..ops.len())
        .filter(|&i| !placed[i])
        .filter_map(|i| ops[i].return_at().map(|at| (at, i)))
        .min()
        .map_or(0, |(_, i)| i);
    let deadline = ops[blocked].return_at().unwrap_or(u64::MAX);
    let concurrent = (0..ops.len())
        .filter(|&i| !placed[i] && i != blocked && ops[i].call_at < deadline)
        .map(|i| summarize(model, &ops[i]))
        .collect();
    Witness {
        prefix: prefix.iter().map(|&i| summarize(model, &ops[i])).collect(),
        state_after_prefix: model.describe_prefix(&replay),
        blocked: summarize(model, &ops[blocked]),
        concurrent,
    }
}

/// The summary of `op`, its values copied.
fn summarize<M: Model>(model: &M, op: &Operation<M::Op>) -> OpSummary {
    summary(model, op, op.origin.clone())
}

/// [`summarize`], moving the operation's values out.
fn take_summary<M: Model>(model: &M, op: &mut Operation<M::Op>) -> OpSummary {
    let origin = prepare::Origin {
        process: op.origin.process,
        input: std::mem::take(&mut op.origin.input),
        output: std::mem::take(&mut op.origin.output),
    };
    summary(model, op, origin)
}

/// The summary of `op` with the values of `origin` (those it does not keep are the ones the
/// model implies).
fn summary<M: Model>(model: &M, op: &Operation<M::Op>, origin: prepare::Origin) -> OpSummary {
    OpSummary {
        process: origin.process,
        f: model.function(&op.op),
        input: origin.input.resolve(|| model.implied_values(&op.op).0.map(|v| v.to_value())).unwrap_or_default(),
        output: origin.output.resolve(|| model.implied_values(&op.op).1.map(|v| v.to_value())),
        call_event: op.call_event as usize,
        return_event: op.return_event().map(|e| e as usize),
    }
}

/// The key of a partition as reports print it (`-` for a history without keys).
pub fn key_label(key: &Option<Value>) -> String {
    key.as_ref().map_or_else(|| "-".to_owned(), ToString::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use history::{EventType, Process};

    /// Every summary in `verdict`'s orders carries its events' own values.
    fn summaries_match(verdict: &Verdict, events: &[Event]) -> usize {
        let mut checked = 0;
        for partition in &verdict.partitions {
            let PartitionResult::Linearizable(order) = &partition.result else { panic!("{:?}", partition.result) };
            for summary in order {
                assert_eq!(summary.input, events[summary.call_event].value, "{summary:?}");
                let output = summary.return_event.map(|e| events[e].value.clone());
                assert_eq!(summary.output, output, "{summary:?}");
                checked += 1;
            }
        }
        checked
    }

    /// Reports show the events' values whether the preparer kept them or left them implied by
    /// the operation (`Model::implied_values`): writes completed with their value or with
    /// another, reads invoked with nil or with a value, strings, nil and lists.
    #[test]
    fn summaries_carry_the_events_values_implied_or_kept() {
        let event = |p: u64, kind: EventType, f: &str, value: Value| Event::new(Process::Client(p), kind, f, value);
        let s = |text: &str| Value::Str(text.to_owned());
        use EventType::{Invoke, Ok};
        let register = vec![
            event(0, Invoke, "write", Value::Int(1)),
            event(0, Ok, "write", Value::Int(1)),
            event(0, Invoke, "write", s("two")),
            event(0, Ok, "write", Value::Nil),
            event(1, Invoke, "read", Value::Nil),
            event(1, Ok, "read", s("two")),
            event(1, Invoke, "read", Value::Int(9)),
            event(1, Ok, "read", s("two")),
        ];
        let mut cas = register.clone();
        let pair = Value::List(vec![s("two"), Value::Int(3)]);
        cas.extend([event(2, Invoke, "cas", pair.clone()), event(2, Ok, "cas", pair)]);
        cas.extend([
            event(2, Invoke, "cas", Value::List(vec![Value::Int(3), Value::Int(4)])),
            event(2, Ok, "cas", Value::Nil),
        ]);
        let kv = vec![
            event(0, Invoke, "put", s("a")),
            event(0, Ok, "put", s("a")),
            event(0, Invoke, "append", s("b")),
            event(0, Ok, "append", Value::Nil),
            event(1, Invoke, "get", Value::Nil),
            event(1, Ok, "get", s("ab")),
            event(1, Invoke, "put", Value::Nil),
            event(1, Ok, "put", Value::Nil),
            event(1, Invoke, "get", s("x")),
            event(1, Ok, "get", Value::Nil),
        ];
        for (model, events, operations) in [("register", &register, 4), ("cas-register", &cas, 6), ("kv", &kv, 5)] {
            let verdict = check_named(model, events, &CheckOptions::default()).expect("well-formed");
            assert_eq!(summaries_match(&verdict, events), operations, "{model}");
        }
    }
}
