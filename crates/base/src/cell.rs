//! [`Version`] and [`Cell`]: what the engine stores per key, and the last-write-wins rule.
//!
//! The rule is a total order, so merging is commutative, associative and idempotent: the
//! result never depends on which source (memtable, which SSTable, which replica) was read
//! first. Versions compare by `(timestamp, node)`. Two cells with the same version but
//! different values should not exist (a node never reuses a timestamp), but if they do the
//! greater value wins, as in Cassandra, where ties go to the lexically larger value.

use history::Value;
use serde::{Deserialize, Serialize};

/// A write's position in last-write-wins order: its timestamp, then the writing node.
///
/// The derived ordering compares `timestamp` first, then `node` (field order matters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Version {
    /// The write's timestamp (the coordinator's or client's clock; the unit is theirs).
    pub timestamp: u64,
    /// The node that issued the timestamp; breaks ties between equal timestamps.
    pub node: u32,
}

impl Version {
    /// A version.
    pub fn new(timestamp: u64, node: u32) -> Self {
        Version { timestamp, node }
    }
}

/// A stored value with its version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cell {
    /// The payload.
    pub value: Value,
    /// Its last-write-wins version.
    pub version: Version,
}

impl Cell {
    /// A cell.
    pub fn new(value: Value, version: Version) -> Self {
        Cell { value, version }
    }

    /// Whether `self` wins over `other` under last-write-wins: a higher version, or the same
    /// version and a greater value. A cell never supersedes itself.
    pub fn supersedes(&self, other: &Cell) -> bool {
        (self.version, &self.value) > (other.version, &other.value)
    }

    /// The winner of `self` and `other` (see [`Cell::supersedes`]).
    pub fn merge(self, other: Cell) -> Cell {
        if other.supersedes(&self) {
            other
        } else {
            self
        }
    }
}

/// Merges `incoming` into `slot`: keeps whichever wins; returns whether `slot` changed.
pub fn merge_into(slot: &mut Option<Cell>, incoming: Cell) -> bool {
    match slot {
        Some(current) if !incoming.supersedes(current) => false,
        _ => {
            *slot = Some(incoming);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(value: i64, timestamp: u64, node: u32) -> Cell {
        Cell::new(Value::Int(value), Version::new(timestamp, node))
    }

    #[test]
    fn versions_order_by_timestamp_then_node() {
        assert!(Version::new(1, 9) < Version::new(2, 0));
        assert!(Version::new(2, 0) < Version::new(2, 1));
        assert_eq!(Version::new(3, 3), Version::new(3, 3));
    }

    #[test]
    fn higher_version_wins_whatever_the_order() {
        let old = cell(1, 1, 0);
        let new = cell(0, 2, 0);
        assert_eq!(old.clone().merge(new.clone()), new);
        assert_eq!(new.clone().merge(old.clone()), new);
        assert!(new.supersedes(&old));
        assert!(!old.supersedes(&new));
        assert!(!new.supersedes(&new));
    }

    #[test]
    fn ties_go_to_the_greater_value() {
        let a = cell(1, 5, 0);
        let b = cell(2, 5, 0);
        assert_eq!(a.clone().merge(b.clone()), b);
        assert_eq!(b.clone().merge(a.clone()), b);
    }

    #[test]
    fn merge_into_reports_changes() {
        let mut slot = None;
        assert!(merge_into(&mut slot, cell(1, 2, 0)));
        assert!(!merge_into(&mut slot, cell(9, 1, 0)));
        assert!(!merge_into(&mut slot, cell(1, 2, 0)));
        assert!(merge_into(&mut slot, cell(0, 2, 1)));
        assert_eq!(slot, Some(cell(0, 2, 1)));
    }
}
