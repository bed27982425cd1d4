//! What the checker says: a three-way [`Outcome`], per-partition results, and for a violation
//! a [`Witness`] a person can read.

use history::Value;

use crate::search::SearchStats;

/// The overall answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    /// Some order of the operations, consistent with real time, is legal for the model.
    Linearizable,
    /// No such order exists (in at least one partition).
    NotLinearizable,
    /// The deadline passed before the search could decide.
    Unknown,
}

impl Outcome {
    /// The CLI's spelling: `linearizable`, `not-linearizable`, `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Linearizable => "linearizable",
            Outcome::NotLinearizable => "not-linearizable",
            Outcome::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One operation, as reports show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpSummary {
    /// The client process.
    pub process: u64,
    /// The operation's function.
    pub f: &'static str,
    /// The invocation's value (argument).
    pub input: Value,
    /// The completion's value (result); `None` when the outcome is unknown.
    pub output: Option<Value>,
    /// Index of the invocation event in the history.
    pub call_event: usize,
    /// Index of the completion event; `None` when the outcome is unknown.
    pub return_event: Option<usize>,
}

/// Why a violation is one: the search's best attempt and where it got stuck.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    /// The longest linearizable prefix found, in linearization order.
    pub prefix: Vec<OpSummary>,
    /// The model state after that prefix, as the model shows it.
    pub state_after_prefix: String,
    /// The completed operation, earliest to return, that no extension of the prefix could
    /// place before its return.
    pub blocked: OpSummary,
    /// The other unplaced operations invoked before `blocked` returned: the candidates the
    /// search tried in its place.
    pub concurrent: Vec<OpSummary>,
}

/// The result for one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartitionResult {
    /// Linearizable, with a legal order of the searched operations (empty when the check was
    /// not asked for orders: `CheckOptions::orders`).
    Linearizable(Vec<OpSummary>),
    /// Not linearizable.
    Illegal(Box<Witness>),
    /// The deadline passed first.
    Unknown,
    /// Not checked to the end: the check stopped after another partition proved illegal.
    Skipped,
}

/// One partition's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionVerdict {
    /// The partition's key (`None` when the history has no keys).
    pub key: Option<Value>,
    /// Operations searched (after dropping failed ones and unknown reads).
    pub operations: usize,
    /// The result.
    pub result: PartitionResult,
    /// Work done.
    pub stats: SearchStats,
}

/// The checker's answer for a whole history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The overall outcome.
    pub outcome: Outcome,
    /// Every partition, in key order.
    pub partitions: Vec<PartitionVerdict>,
}

impl Verdict {
    /// The first illegal partition (in key order), with its witness.
    pub fn violation(&self) -> Option<(&PartitionVerdict, &Witness)> {
        self.partitions.iter().find_map(|p| match &p.result {
            PartitionResult::Illegal(w) => Some((p, &**w)),
            _ => None,
        })
    }

    /// Total search steps over all partitions.
    pub fn steps(&self) -> u64 {
        self.partitions.iter().map(|p| p.stats.steps).sum()
    }
}
