//! The memtable: the newest cell per key since the last flush, ordered by key, with a byte
//! count that decides when to flush.

use std::collections::BTreeMap;
use std::ops::Bound;

use crate::cell::Cell;

/// Fixed per-entry overhead added to the byte count (map node, lengths, version).
const ENTRY_OVERHEAD_BYTES: usize = 32;

/// Sorted in-memory cells.
#[derive(Debug, Clone, Default)]
pub struct Memtable {
    cells: BTreeMap<String, Cell>,
    bytes: usize,
}

/// The bytes a stored entry is counted as: key, encoded value size, overhead.
pub fn entry_bytes(key: &str, cell: &Cell) -> usize {
    key.len() + value_bytes(&cell.value) + ENTRY_OVERHEAD_BYTES
}

fn value_bytes(value: &history::Value) -> usize {
    match value {
        history::Value::Str(s) => 5 + s.len(),
        history::Value::List(items) => 5 + items.iter().map(value_bytes).sum::<usize>(),
        history::Value::Int(_) => 9,
        _ => 1,
    }
}

impl Memtable {
    /// An empty memtable.
    pub fn new() -> Self {
        Memtable::default()
    }

    /// Merges `cell` in under last-write-wins; returns whether the stored cell changed.
    pub fn insert(&mut self, key: &str, cell: Cell) -> bool {
        // One lookup, no clone of the old cell and no new key on an overwrite: this is on
        // every write's path.
        if let Some(current) = self.cells.get_mut(key) {
            // The rule of `merge_into`: the incoming cell replaces the stored one iff it wins.
            if !cell.supersedes(current) {
                return false;
            }
            let before = entry_bytes(key, current);
            let after = entry_bytes(key, &cell);
            *current = cell;
            self.bytes = self.bytes.saturating_sub(before).saturating_add(after);
            return true;
        }
        self.bytes = self.bytes.saturating_add(entry_bytes(key, &cell));
        self.cells.insert(key.to_owned(), cell);
        true
    }

    /// The cell of `key`.
    pub fn get(&self, key: &str) -> Option<&Cell> {
        self.cells.get(key)
    }

    /// Cells with keys in `[from, to)`, or all of them.
    pub fn range<'a>(&'a self, bounds: Option<(&str, &str)>) -> Box<dyn Iterator<Item = (&'a String, &'a Cell)> + 'a> {
        match bounds {
            None => Box::new(self.cells.iter()),
            Some((from, to)) if from < to => {
                Box::new(self.cells.range::<str, _>((Bound::Included(from), Bound::Excluded(to))))
            }
            Some(_) => Box::new(std::iter::empty()),
        }
    }

    /// Every cell in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Cell)> {
        self.cells.iter()
    }

    /// The counted size.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.cells.len()
    }

    /// Whether it holds no keys.
    pub fn is_empty(&self) -> bool {
        self.cells.is_empty()
    }

    /// Empties it.
    pub fn clear(&mut self) {
        self.cells.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cell::Version;
    use history::Value;

    fn cell(v: i64, ts: u64) -> Cell {
        Cell::new(Value::Int(v), Version::new(ts, 0))
    }

    #[test]
    fn keeps_the_higher_version_and_counts_bytes() {
        let mut m = Memtable::new();
        assert!(m.insert("k", cell(2, 2)));
        let bytes = m.bytes();
        assert_eq!(bytes, entry_bytes("k", &cell(2, 2)));
        assert!(!m.insert("k", cell(1, 1)));
        assert_eq!(m.get("k"), Some(&cell(2, 2)));
        assert!(m.insert("k", cell(3, 3)));
        assert_eq!(m.bytes(), bytes);
        assert!(m.insert("j", Cell::new(Value::Str("x".repeat(100)), Version::new(1, 0))));
        assert!(m.bytes() > bytes + 100);
        assert_eq!(m.len(), 2);
        m.clear();
        assert!(m.is_empty());
        assert_eq!(m.bytes(), 0);
    }

    #[test]
    fn ranges_are_half_open() {
        let mut m = Memtable::new();
        for k in ["a", "b", "c", "d"] {
            m.insert(k, cell(0, 1));
        }
        let keys: Vec<&String> = m.range(Some(("b", "d"))).map(|(k, _)| k).collect();
        assert_eq!(keys, ["b", "c"]);
        assert_eq!(m.range(Some(("d", "b"))).count(), 0);
        assert_eq!(m.range(None).count(), 4);
    }
}
