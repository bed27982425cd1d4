//! Anomaly classes, isolation levels, and the explained anomalies a check reports.
//!
//! A transaction is named `T<n>`, where `n` is the 0-based index (into the events) of its
//! completion, or of its invocation when it never completed; the `lab` command line maps these
//! to file lines.

use std::collections::BTreeMap;
use std::fmt;

/// The kind of an anomaly (see the module docs of [`txn`](super) for each class's meaning).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AnomalyClass {
    /// A cycle of write-write edges only.
    G0,
    /// A committed read saw a value appended by an aborted transaction.
    G1a,
    /// A committed read saw an intermediate state of another transaction.
    G1b,
    /// A cycle of ww and wr edges with at least one wr edge.
    G1c,
    /// A cycle with exactly one rw (anti-dependency) edge.
    GSingle,
    /// A cycle with two or more rw edges.
    G2Item,
    /// Two committed transactions read the same version of a key and both appended to it.
    LostUpdate,
    /// A transaction's read disagrees with its own earlier reads and appends of the key.
    Internal,
    /// Two reads of a key that are not prefixes of one another: no version order explains both.
    IncompatibleOrder,
    /// A G0 cycle that needs a real-time edge.
    G0Realtime,
    /// A G1c cycle that needs a real-time edge.
    G1cRealtime,
    /// A G-single cycle that needs a real-time edge.
    GSingleRealtime,
    /// A G2-item cycle that needs a real-time edge.
    G2ItemRealtime,
}

impl AnomalyClass {
    /// Elle's name of the class.
    pub fn name(self) -> &'static str {
        match self {
            AnomalyClass::G0 => "G0",
            AnomalyClass::G1a => "G1a",
            AnomalyClass::G1b => "G1b",
            AnomalyClass::G1c => "G1c",
            AnomalyClass::GSingle => "G-single",
            AnomalyClass::G2Item => "G2-item",
            AnomalyClass::LostUpdate => "lost-update",
            AnomalyClass::Internal => "internal",
            AnomalyClass::IncompatibleOrder => "incompatible-order",
            AnomalyClass::G0Realtime => "G0-realtime",
            AnomalyClass::G1cRealtime => "G1c-realtime",
            AnomalyClass::GSingleRealtime => "G-single-realtime",
            AnomalyClass::G2ItemRealtime => "G2-item-realtime",
        }
    }

    /// True for the cycles that need a real-time edge.
    pub fn is_realtime(self) -> bool {
        matches!(
            self,
            AnomalyClass::G0Realtime
                | AnomalyClass::G1cRealtime
                | AnomalyClass::GSingleRealtime
                | AnomalyClass::G2ItemRealtime
        )
    }

    /// The strongest level that allows this anomaly (module docs of [`txn`](super)).
    pub fn strongest_allowing(self) -> IsolationLevel {
        match self {
            AnomalyClass::IncompatibleOrder | AnomalyClass::Internal | AnomalyClass::G0 => IsolationLevel::None,
            AnomalyClass::G1a | AnomalyClass::G1b | AnomalyClass::G1c => IsolationLevel::ReadUncommitted,
            AnomalyClass::GSingle | AnomalyClass::LostUpdate => IsolationLevel::ReadCommitted,
            AnomalyClass::G2Item => IsolationLevel::SnapshotIsolation,
            AnomalyClass::G0Realtime
            | AnomalyClass::G1cRealtime
            | AnomalyClass::GSingleRealtime
            | AnomalyClass::G2ItemRealtime => IsolationLevel::Serializable,
        }
    }
}

impl fmt::Display for AnomalyClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Isolation levels, strongest first (the order of the variants is their strength; snapshot
/// isolation and repeatable read are incomparable, and this checker never answers repeatable
/// read, since every anomaly it finds that repeatable read proscribes is also proscribed by
/// snapshot isolation except G2-item, which snapshot isolation allows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IsolationLevel {
    /// Serializable, and consistent with real time.
    StrictSerializable,
    /// Equivalent to some serial order.
    Serializable,
    /// Snapshot isolation.
    SnapshotIsolation,
    /// Repeatable read (Adya's PL-2.99).
    RepeatableRead,
    /// Read committed (PL-2).
    ReadCommitted,
    /// Read uncommitted (PL-1).
    ReadUncommitted,
    /// Not even read uncommitted.
    None,
}

impl IsolationLevel {
    /// The level's name, as Elle writes it.
    pub fn name(self) -> &'static str {
        match self {
            IsolationLevel::StrictSerializable => "strict-serializable",
            IsolationLevel::Serializable => "serializable",
            IsolationLevel::SnapshotIsolation => "snapshot-isolation",
            IsolationLevel::RepeatableRead => "repeatable-read",
            IsolationLevel::ReadCommitted => "read-committed",
            IsolationLevel::ReadUncommitted => "read-uncommitted",
            IsolationLevel::None => "none",
        }
    }

    /// The strongest level allowing every class in `classes`; with no class, strict
    /// serializable when real time was checked, else serializable.
    pub fn strongest(classes: impl IntoIterator<Item = AnomalyClass>, realtime: bool) -> Self {
        let top = if realtime { IsolationLevel::StrictSerializable } else { IsolationLevel::Serializable };
        classes.into_iter().map(AnomalyClass::strongest_allowing).fold(top, Ord::max)
    }
}

impl fmt::Display for IsolationLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One anomaly, explained.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anomaly {
    /// Its class.
    pub class: AnomalyClass,
    /// Event indices of the transactions involved (completions; invocations of transactions
    /// that never completed), in the order of the explanation.
    pub txns: Vec<usize>,
    /// The explanation: for a cycle one step per edge, `T1 < T2 because ...`.
    pub steps: Vec<String>,
}

/// `G-single: T12 < T40 because ...; T40 < T12 because ...`.
impl fmt::Display for Anomaly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.class.name(), self.steps.join("; "))
    }
}

impl Anomaly {
    /// Bytes it holds, its place in a growing vector included (twice its size: vectors grow
    /// by doubling).
    fn held_bytes(&self) -> usize {
        2 * std::mem::size_of::<Anomaly>()
            + self.txns.capacity() * std::mem::size_of::<usize>()
            + self.steps.iter().map(|s| std::mem::size_of::<String>() + s.capacity()).sum::<usize>()
    }
}

/// The anomalies a check found: every one counted, and kept (with its explanation) while they
/// fit in a byte budget; past it, each is counted but not kept, so that a history with
/// millions of anomalies is still judged within the memory limit.
#[derive(Debug)]
pub(crate) struct Found {
    pub(crate) kept: Vec<Anomaly>,
    pub(crate) counts: BTreeMap<AnomalyClass, usize>,
    pub(crate) not_kept: usize,
    bytes_left: usize,
}

impl Found {
    /// Nothing found yet; `budget` bytes for the anomalies kept.
    pub(crate) fn new(budget: usize) -> Self {
        Self { kept: Vec::new(), counts: BTreeMap::new(), not_kept: 0, bytes_left: budget }
    }

    /// Counts `anomaly`, and keeps it if it fits.
    pub(crate) fn push(&mut self, anomaly: Anomaly) {
        *self.counts.entry(anomaly.class).or_default() += 1;
        match self.bytes_left.checked_sub(anomaly.held_bytes()) {
            Some(left) => {
                self.bytes_left = left;
                self.kept.push(anomaly);
            }
            None => self.not_kept += 1,
        }
    }

    /// Whether anything was found.
    pub(crate) fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }
}

impl Extend<Anomaly> for Found {
    fn extend<I: IntoIterator<Item = Anomaly>>(&mut self, anomalies: I) {
        for anomaly in anomalies {
            self.push(anomaly);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_strongest_level_is_the_weakest_any_class_allows() {
        use AnomalyClass::*;
        assert_eq!(IsolationLevel::strongest([], true), IsolationLevel::StrictSerializable);
        assert_eq!(IsolationLevel::strongest([], false), IsolationLevel::Serializable);
        assert_eq!(IsolationLevel::strongest([G2Item], true), IsolationLevel::SnapshotIsolation);
        assert_eq!(IsolationLevel::strongest([G2Item, GSingle], true), IsolationLevel::ReadCommitted);
        assert_eq!(IsolationLevel::strongest([LostUpdate], true), IsolationLevel::ReadCommitted);
        assert_eq!(IsolationLevel::strongest([G1c, G2ItemRealtime], true), IsolationLevel::ReadUncommitted);
        assert_eq!(IsolationLevel::strongest([GSingleRealtime], true), IsolationLevel::Serializable);
        assert_eq!(IsolationLevel::strongest([IncompatibleOrder], true), IsolationLevel::None);
    }

    #[test]
    fn names_are_elles() {
        assert_eq!(AnomalyClass::GSingle.name(), "G-single");
        assert_eq!(AnomalyClass::G2Item.name(), "G2-item");
        assert_eq!(AnomalyClass::LostUpdate.name(), "lost-update");
        assert_eq!(IsolationLevel::SnapshotIsolation.name(), "snapshot-isolation");
        let anomaly = Anomaly { class: AnomalyClass::G0, txns: vec![1, 3], steps: vec!["a".into(), "b".into()] };
        assert_eq!(anomaly.to_string(), "G0: a; b");
    }

    #[test]
    fn past_the_budget_anomalies_are_counted_not_kept() {
        let anomaly = |class| Anomaly { class, txns: vec![1], steps: vec!["x".repeat(100)] };
        let one = anomaly(AnomalyClass::G0).held_bytes();
        let mut found = Found::new(2 * one);
        found.extend([anomaly(AnomalyClass::G0), anomaly(AnomalyClass::G1a), anomaly(AnomalyClass::G1a)]);
        assert_eq!(found.kept.len(), 2);
        assert_eq!(found.not_kept, 1);
        assert_eq!(found.counts, BTreeMap::from([(AnomalyClass::G0, 1), (AnomalyClass::G1a, 2)]));
        assert!(!found.is_empty());
        assert!(Found::new(0).is_empty());
    }
}
