//! Merkle trees over one token range: what anti-entropy compares between replicas.
//!
//! Cassandra's repair (`Validator` building a `MerkleTree` per token range on each replica,
//! `RepairJob` comparing them, `SyncTask` streaming the differing ranges) splits a range's
//! hash space into `2^depth` equal leaf ranges, with depth 15 by default and at most
//! `repair_session_max_tree_depth` = 20 (cassandra.yaml), i.e. up to 2^20 leaves per range.
//! The lab holds thousands of keys, not billions, so its default is [`DEFAULT_DEPTH`] = 10
//! (1,024 leaves per range; with 16 vnodes per node a node replicates about 48 ranges, so a
//! node's keys spread over ~50,000 leaves and a leaf holds a single key or none), capped at
//! [`MAX_DEPTH`] = 15 (Cassandra's default) because a tree is kept whole in memory: 2^(depth+1)
//! hashes of 8 bytes per range.
//!
//! - A leaf's hash is the wrapping sum of [`entry_hash`]`(key, version)` over its keys: it does
//!   not depend on the order keys were added, and two replicas holding the same versions of the
//!   same keys get the same leaf. An empty leaf hashes to 0.
//! - An inner node hashes its two children (0 when both are 0, so empty subtrees are cheap to
//!   recognise in traces).
//! - [`MerkleTree::diff`] walks both trees from the root and descends only into differing
//!   nodes, returning the differing leaves.
//!
//! Nodes are addressed by `(level, index)`: level 0 is the root, level `depth` the leaves, and
//! node `(l, i)` has children `(l + 1, 2i)` and `(l + 1, 2i + 1)`.

use base::Version;

use crate::ring::{hash_key, mix, TokenRange};

/// Default tree depth: 2^10 leaves per token range.
pub const DEFAULT_DEPTH: u8 = 10;
/// Deepest tree allowed (Cassandra's default depth; memory grows as 2^depth).
pub const MAX_DEPTH: u8 = 15;

/// The hash of one stored `(key, version)`: what a leaf sums.
pub fn entry_hash(key: &str, version: Version) -> u64 {
    mix(hash_key(key) ^ mix(version.timestamp ^ mix(u64::from(version.node) ^ 0x5bd1_e995)))
}

/// The leaf of ring position `point` in a tree of `depth` (clamped to [`MAX_DEPTH`]) over
/// `range`; `None` outside the range. Leaves split the range into equal parts, in ring order.
pub fn leaf_index(range: &TokenRange, depth: u8, point: u64) -> Option<u32> {
    let offset = range.offset(point)?;
    u32::try_from((offset << depth.min(MAX_DEPTH)) / range.width()).ok()
}

fn combine(left: u64, right: u64) -> u64 {
    if left == 0 && right == 0 {
        0
    } else {
        mix(mix(left ^ 0x9e37_79b9_7f4a_7c15).wrapping_add(right))
    }
}

/// A Merkle tree of fixed depth over one token range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleTree {
    range: TokenRange,
    depth: u8,
    /// Heap layout: node `(l, i)` at `2^l + i`; index 0 unused.
    hashes: Vec<u64>,
    /// Whether the inner nodes are up to date with the leaves.
    sealed: bool,
}

impl MerkleTree {
    /// An empty tree over `range` with `2^depth` leaves (`depth` clamped to [`MAX_DEPTH`]).
    pub fn new(range: TokenRange, depth: u8) -> Self {
        let depth = depth.min(MAX_DEPTH);
        Self { range, depth, hashes: vec![0; 2usize << depth], sealed: true }
    }

    /// The range the tree covers.
    pub fn range(&self) -> &TokenRange {
        &self.range
    }

    /// The depth (leaves are at this level).
    pub fn depth(&self) -> u8 {
        self.depth
    }

    /// The leaf of ring position `point`, if it lies in the range.
    pub fn leaf_of(&self, point: u64) -> Option<u32> {
        leaf_index(&self.range, self.depth, point)
    }

    /// Adds `key` at `version`. Returns false (and adds nothing) when the key lies outside the
    /// range.
    pub fn insert(&mut self, key: &str, version: Version) -> bool {
        let Some(leaf) = self.leaf_of(hash_key(key)) else { return false };
        let slot = &mut self.hashes[(1usize << self.depth) + leaf as usize];
        *slot = slot.wrapping_add(entry_hash(key, version));
        self.sealed = false;
        true
    }

    /// Recomputes the inner nodes from the leaves (done lazily by the readers below).
    fn seal(&mut self) {
        if self.sealed {
            return;
        }
        for node in (1..(1usize << self.depth)).rev() {
            self.hashes[node] = combine(self.hashes[2 * node], self.hashes[2 * node + 1]);
        }
        self.sealed = true;
    }

    /// The hash of node `(level, index)`; `None` when no such node exists.
    pub fn hash(&mut self, level: u8, index: u32) -> Option<u64> {
        if level > self.depth || u64::from(index) >= 1u64 << level {
            return None;
        }
        self.seal();
        Some(self.hashes[(1usize << level) + index as usize])
    }

    /// The root hash.
    pub fn root(&mut self) -> u64 {
        self.seal();
        self.hashes[1]
    }

    /// The nodes at `level` under node `(from_level, index)`, as `(index, hash)`; empty when
    /// `level` is not below `from_level` or out of the tree.
    pub fn descendants(&mut self, from_level: u8, index: u32, level: u8) -> Vec<(u32, u64)> {
        if level <= from_level || level > self.depth || self.hash(from_level, index).is_none() {
            return Vec::new();
        }
        let shift = level - from_level;
        let first = index << shift;
        (first..first + (1u32 << shift)).filter_map(|i| Some((i, self.hash(level, i)?))).collect()
    }

    /// The differing leaves of two trees over the same range and depth, ascending; every leaf
    /// when ranges or depths differ.
    pub fn diff(a: &mut MerkleTree, b: &mut MerkleTree) -> Vec<u32> {
        if a.range != b.range || a.depth != b.depth {
            return (0..1u32 << a.depth.max(b.depth)).collect();
        }
        a.seal();
        b.seal();
        let mut differing = Vec::new();
        let mut stack = vec![1usize];
        while let Some(node) = stack.pop() {
            if a.hashes[node] == b.hashes[node] {
                continue;
            }
            if node >= 1usize << a.depth {
                differing.push((node - (1usize << a.depth)) as u32);
            } else {
                stack.push(2 * node + 1);
                stack.push(2 * node);
            }
        }
        differing
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ring::Ring;

    fn version(ts: u64) -> Version {
        Version::new(ts, 1)
    }

    /// A range of a real ring, and keys that fall into it.
    fn range_and_keys(count: usize) -> (TokenRange, Vec<String>) {
        let ring = Ring::new(&[0, 1, 2], 4);
        let range = ring.ranges_of(0, 1).into_iter().max_by_key(TokenRange::width).expect("a range");
        let keys = (0..count * 40)
            .map(|i| format!("k{i}"))
            .filter(|k| range.offset(hash_key(k)).is_some())
            .take(count)
            .collect::<Vec<_>>();
        assert_eq!(keys.len(), count, "enough keys in the range");
        (range, keys)
    }

    fn tree(range: &TokenRange, depth: u8, entries: &[(&str, u64)]) -> MerkleTree {
        let mut tree = MerkleTree::new(range.clone(), depth);
        for &(key, ts) in entries {
            assert!(tree.insert(key, version(ts)));
        }
        tree
    }

    #[test]
    fn identical_data_gives_equal_roots_whatever_the_order() {
        let (range, keys) = range_and_keys(200);
        let entries: Vec<(&str, u64)> = keys.iter().enumerate().map(|(i, k)| (k.as_str(), i as u64)).collect();
        let mut reversed = entries.clone();
        reversed.reverse();
        let mut a = tree(&range, 8, &entries);
        let mut b = tree(&range, 8, &reversed);
        assert_eq!(a.root(), b.root());
        assert_ne!(a.root(), 0);
        assert!(MerkleTree::diff(&mut a, &mut b).is_empty());
    }

    #[test]
    fn one_changed_key_differs_in_exactly_its_leaf() {
        let (range, keys) = range_and_keys(300);
        let entries: Vec<(&str, u64)> = keys.iter().map(|k| (k.as_str(), 5)).collect();
        let mut a = tree(&range, 10, &entries);
        let mut changed = entries.clone();
        changed[17].1 = 6;
        let mut b = tree(&range, 10, &changed);
        assert_ne!(a.root(), b.root());
        let leaf = a.leaf_of(hash_key(&keys[17])).expect("in range");
        assert_eq!(MerkleTree::diff(&mut a, &mut b), vec![leaf]);
        // A key missing on one side is a difference too.
        let mut c = tree(&range, 10, &entries[1..]);
        assert_eq!(MerkleTree::diff(&mut a, &mut c), vec![a.leaf_of(hash_key(&keys[0])).expect("in range")]);
    }

    #[test]
    fn empty_ranges_and_outsiders() {
        let (range, keys) = range_and_keys(1);
        let mut a = MerkleTree::new(range.clone(), 4);
        let mut b = MerkleTree::new(range.clone(), 4);
        assert_eq!(a.root(), 0);
        assert!(MerkleTree::diff(&mut a, &mut b).is_empty());
        let outsider = (0..).map(|i| format!("o{i}")).find(|k| range.offset(hash_key(k)).is_none()).expect("one");
        assert!(!a.insert(&outsider, version(1)), "a key outside the range is refused");
        assert_eq!(a.root(), 0);
        a.insert(&keys[0], version(1));
        assert_eq!(MerkleTree::diff(&mut a, &mut b).len(), 1);
        let mut other_depth = MerkleTree::new(range, 5);
        assert_eq!(MerkleTree::diff(&mut b, &mut other_depth).len(), 32, "incomparable trees differ everywhere");
    }

    #[test]
    fn leaves_cover_the_range_in_order_and_nodes_are_addressable() {
        let range = TokenRange { start: u64::MAX - 15, end: 16, replicas: vec![0] };
        let mut t = MerkleTree::new(range, 2);
        // 32 positions (wrapping), 4 leaves of 8.
        assert_eq!(t.leaf_of(u64::MAX - 14), Some(0));
        assert_eq!(t.leaf_of(u64::MAX), Some(1));
        assert_eq!(t.leaf_of(0), Some(1));
        assert_eq!(t.leaf_of(1), Some(2));
        assert_eq!(t.leaf_of(16), Some(3));
        assert_eq!(t.leaf_of(17), None);
        assert_eq!(t.hash(3, 0), None);
        assert_eq!(t.hash(1, 2), None);
        assert_eq!(t.descendants(0, 0, 2).len(), 4);
        assert_eq!(t.descendants(1, 1, 2).iter().map(|&(i, _)| i).collect::<Vec<_>>(), vec![2, 3]);
        assert!(t.descendants(2, 0, 1).is_empty());
        assert_eq!(MerkleTree::new(t.range().clone(), 200).depth(), MAX_DEPTH);
    }
}
