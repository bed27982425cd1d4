//! Anti-entropy: periodic Merkle-tree comparison of token ranges between their replicas,
//! repairing what hints and read repair missed.
//!
//! Cassandra's repair builds one Merkle tree per token range on every replica of the range
//! (`Validator`), compares the trees (`RepairJob`, `MerkleTree.difference`) and streams only
//! the rows of the differing leaf ranges (`SyncTask`). The lab does the same, continuously:
//! every `anti_entropy` period a node compares each token range it replicates
//! ([`Ring::ranges_of`]) with every other replica of the range, through these messages:
//!
//! 1. A sends `Tree` with the roots of the ranges it shares with B (one message per peer).
//! 2. The receiver of a `Tree` compares every node with its own tree. Equal: done. Differing
//!    inner node: it answers with its own descendants [`STEP`] levels further down (or at the
//!    leaves), in one `Tree`. Differing leaf: it sends its cells in those leaves (`Cells`,
//!    `reply: true`).
//! 3. The receiver of `Cells` merges them (last-write-wins) and, with `reply`, sends back its
//!    own cells in those leaves that the sender lacks or holds older (`Cells`, `reply: false`).
//!
//! Why descend [`STEP`] = 5 levels per message rather than send the leaf level at once or one
//! level at a time: with the default depth 10, the whole leaf level is 1,024 hashes (about
//! 80 KB of JSON) per range, although a range with one differing key differs in one leaf. One
//! level at a time costs a round trip per level (10). Five at a time sends, per differing node,
//! its 32 descendants (about 2.5 KB): a range with one differing key costs 1 + 32 + 32 hashes
//! over three messages, and identical replicas exchange one root hash per range and nothing
//! else. Traffic follows the differences, not the data set.
//!
//! Bounds: a message carries at most [`MAX_HASHES`] tree nodes and [`MAX_CELLS`] cells; what
//! does not fit is found again next period (the roots rotate by round when there are more
//! ranges than fit).
//!
//! A node's trees are built by one storage scan and kept for [`TREE_REUSE`] (or until it merges
//! repair cells): trees a little older than the data only make a comparison find a difference
//! late or stream a cell the peer already has; the cells themselves are always read fresh.
//!
//! [`diverged_keys`] is the tests' and the lab's convergence check over nodes' data.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use base::Cell;

use crate::hints;
use crate::merkle::{self, MerkleTree};
use crate::message::{Effect, LeafId, PeerMessage, TreeNode};
use crate::node::Node;
use crate::ring::{hash_key, Ring, TokenRange};
use crate::storage::Storage;

/// Most cells in one `Cells` message.
pub const MAX_CELLS: usize = 512;
/// Most tree nodes in one `Tree` message, and most leaves in one `Cells` message.
pub const MAX_HASHES: usize = 4096;
/// Levels a comparison descends per message.
pub const STEP: u8 = 5;
/// How long a node reuses its trees to answer comparisons.
pub const TREE_REUSE: Duration = Duration::from_millis(250);

/// Cells of `mine` that `theirs` lacks or holds an older version of.
pub fn newer_than(mine: &[(String, Cell)], theirs: &[(String, Cell)]) -> Vec<(String, Cell)> {
    let theirs: BTreeMap<&str, &Cell> = theirs.iter().map(|(k, c)| (k.as_str(), c)).collect();
    mine.iter().filter(|(k, c)| theirs.get(k.as_str()).is_none_or(|t| c.supersedes(t))).cloned().collect()
}

/// The keys whose preference-list replicas (of `n`) do not all hold the same cell, given
/// each node's client data. Nodes missing from `data` are skipped (a crashed node).
pub fn diverged_keys(ring: &Ring, n: usize, data: &BTreeMap<u32, BTreeMap<String, Cell>>) -> Vec<String> {
    let keys: BTreeSet<&String> = data.values().flat_map(|cells| cells.keys()).collect();
    keys.into_iter()
        .filter(|key| {
            let mut seen = ring.preference_list(key, n).into_iter().filter_map(|r| data.get(&r)).map(|d| d.get(*key));
            let first = seen.next();
            seen.any(|cell| Some(cell) != first)
        })
        .cloned()
        .collect()
}

/// A node's Merkle trees, one per token range it replicates, and when they were built.
#[derive(Debug, Clone)]
pub(crate) struct Trees {
    built: Duration,
    trees: BTreeMap<u64, MerkleTree>,
}

impl<S: Storage> Node<S> {
    /// The token ranges this node replicates, by end token (computed once: the ring is fixed).
    fn my_ranges(&mut self) -> &BTreeMap<u64, TokenRange> {
        if self.ranges.is_none() {
            let ranges = self.ring.ranges_of(self.config.id, self.config.replication);
            self.ranges = Some(ranges.into_iter().map(|r| (r.end, r)).collect());
        }
        self.ranges.get_or_insert_with(BTreeMap::new)
    }

    /// This node's trees, rebuilt from a storage scan when older than [`TREE_REUSE`] or
    /// invalidated; `None` when the storage cannot be read.
    fn trees(&mut self, now: Duration) -> Option<&mut BTreeMap<u64, MerkleTree>> {
        let fresh = self.trees.as_ref().is_some_and(|t| now < t.built.saturating_add(TREE_REUSE));
        if !fresh {
            let depth = self.config.merkle_depth;
            let mut trees: BTreeMap<u64, MerkleTree> =
                self.my_ranges().values().map(|r| (r.end, MerkleTree::new(r.clone(), depth))).collect();
            let Ok(cells) = self.storage.scan() else {
                self.stats.storage_errors += 1;
                self.trees = None;
                return None;
            };
            for (key, cell) in cells.iter().filter(|(k, _)| !hints::is_reserved(k)) {
                let end = self.ring.range_end_of(hash_key(key));
                if let Some(tree) = end.and_then(|end| trees.get_mut(&end)) {
                    tree.insert(key, cell.version);
                }
            }
            self.trees = Some(Trees { built: now, trees });
        }
        self.trees.as_mut().map(|t| &mut t.trees)
    }

    /// Sends `msg` to `to`, counting it.
    fn send_ae(&mut self, to: u32, msg: PeerMessage, out: &mut Vec<Effect>) {
        self.stats.ae_messages_sent += 1;
        match &msg {
            PeerMessage::Tree { nodes, .. } => self.stats.ae_hashes_sent += nodes.len() as u64,
            PeerMessage::Cells { cells, .. } => self.stats.ae_cells_sent += cells.len() as u64,
            _ => {}
        }
        out.push(Effect::Send { to, msg });
    }

    /// Starts a round: the roots of the shared ranges to every peer that shares some.
    pub(crate) fn anti_entropy_round(&mut self, now: Duration, out: &mut Vec<Effect>) {
        self.stats.ae_rounds += 1;
        let round = self.stats.ae_rounds;
        self.trees = None;
        let me = self.config.id;
        let Some(trees) = self.trees(now) else { return };
        let mut roots: BTreeMap<u32, Vec<TreeNode>> = BTreeMap::new();
        for (&range, tree) in trees.iter_mut() {
            let hash = tree.root();
            for &peer in tree.range().replicas.iter().filter(|&&p| p != me) {
                roots.entry(peer).or_default().push(TreeNode { range, level: 0, index: 0, hash });
            }
        }
        for (peer, mut nodes) in roots {
            if nodes.len() > MAX_HASHES {
                // More ranges than one message holds: start elsewhere each round.
                let start = (round as usize).wrapping_mul(MAX_HASHES) % nodes.len();
                nodes.rotate_left(start);
                nodes.truncate(MAX_HASHES);
            }
            self.send_ae(peer, PeerMessage::Tree { round, nodes }, out);
        }
    }

    /// Whether `from` may talk about range `range` (both replicate it).
    fn shares(&mut self, from: u32, range: u64) -> bool {
        self.my_ranges().get(&range).is_some_and(|r| r.replicas.contains(&from))
    }

    pub(crate) fn on_tree(&mut self, now: Duration, from: u32, round: u64, nodes: &[TreeNode], out: &mut Vec<Effect>) {
        let depth = self.config.merkle_depth;
        let valid = nodes.len() <= MAX_HASHES
            && nodes
                .iter()
                .all(|n| n.level <= depth && u64::from(n.index) < 1u64 << n.level && self.shares(from, n.range));
        if !valid {
            self.stats.rejected += 1;
            return;
        }
        let Some(trees) = self.trees(now) else { return };
        let mut deeper = Vec::new();
        let mut leaves = BTreeSet::new();
        let mut compared = 0;
        for node in nodes {
            let Some(tree) = trees.get_mut(&node.range) else { continue };
            compared += u64::from(node.level == 0);
            if tree.hash(node.level, node.index) == Some(node.hash) {
                continue;
            }
            if node.level == tree.depth() {
                leaves.insert(LeafId { range: node.range, leaf: node.index });
                continue;
            }
            let level = node.level.saturating_add(STEP).min(tree.depth());
            for (index, hash) in tree.descendants(node.level, node.index, level) {
                deeper.push(TreeNode { range: node.range, level, index, hash });
            }
        }
        self.stats.ae_trees_compared += compared;
        self.stats.ae_leaves_differing += leaves.len() as u64;
        if !deeper.is_empty() {
            deeper.truncate(MAX_HASHES);
            self.send_ae(from, PeerMessage::Tree { round, nodes: deeper }, out);
        }
        if !leaves.is_empty() {
            let leaves: Vec<LeafId> = leaves.into_iter().collect();
            let (leaves, cells) = self.pack(round, leaves);
            self.send_ae(from, PeerMessage::Cells { round, leaves, cells, reply: true }, out);
        }
    }

    /// Chooses what one `Cells` message carries of the differing `leaves`: whole leaves (so the
    /// peer's answer, what it holds newer in those leaves, is exact and every leaf sent is
    /// repaired), starting at a leaf that moves with `round`, until [`MAX_CELLS`] would be
    /// exceeded. A single leaf holding more than that is sent in part, from a point that moves
    /// with `round`, so that successive rounds cover it.
    fn pack(&mut self, round: u64, leaves: Vec<LeafId>) -> (Vec<LeafId>, Vec<(String, Cell)>) {
        let mut by_leaf: BTreeMap<LeafId, Vec<(String, Cell)>> = leaves.iter().map(|&l| (l, Vec::new())).collect();
        for (key, cell) in self.cells_in(&leaves) {
            if let Some(cells) = self.leaf_of_key(&key).and_then(|leaf| by_leaf.get_mut(&leaf)) {
                cells.push((key, cell));
            }
        }
        let mut order: Vec<(LeafId, Vec<(String, Cell)>)> = by_leaf.into_iter().collect();
        let turn = usize::try_from(round).unwrap_or(0);
        let start = turn % order.len().max(1);
        order.rotate_left(start);
        let (mut chosen, mut cells) = (Vec::new(), Vec::new());
        for (leaf, leaf_cells) in order {
            if chosen.len() == MAX_HASHES || cells.len() + leaf_cells.len() > MAX_CELLS {
                if chosen.is_empty() {
                    // One oversized leaf: a window of it.
                    let mut part = leaf_cells;
                    let start = turn.wrapping_mul(MAX_CELLS) % part.len().max(1);
                    part.rotate_left(start);
                    part.truncate(MAX_CELLS);
                    return (vec![leaf], part);
                }
                continue;
            }
            chosen.push(leaf);
            cells.extend(leaf_cells);
        }
        chosen.sort_unstable();
        (chosen, cells)
    }

    /// The leaf of `key`, if this node replicates its range.
    fn leaf_of_key(&mut self, key: &str) -> Option<LeafId> {
        let depth = self.config.merkle_depth;
        let point = hash_key(key);
        let range = self.ring.range_end_of(point)?;
        let leaf = merkle::leaf_index(self.my_ranges().get(&range)?, depth, point)?;
        Some(LeafId { range, leaf })
    }

    /// This node's client cells in `leaves`, read fresh from storage, in key order.
    fn cells_in(&mut self, leaves: &[LeafId]) -> Vec<(String, Cell)> {
        let wanted: BTreeSet<LeafId> = leaves.iter().copied().collect();
        let Ok(cells) = self.storage.scan() else {
            self.stats.storage_errors += 1;
            return Vec::new();
        };
        cells
            .into_iter()
            .filter(|(k, _)| !hints::is_reserved(k) && self.leaf_of_key(k).is_some_and(|leaf| wanted.contains(&leaf)))
            .collect()
    }

    pub(crate) fn on_cells(
        &mut self,
        from: u32,
        round: u64,
        leaves: &[LeafId],
        cells: Vec<(String, Cell)>,
        reply: bool,
        out: &mut Vec<Effect>,
    ) {
        let depth = self.config.merkle_depth;
        let valid = leaves.len() <= MAX_HASHES
            && cells.len() <= MAX_CELLS
            && leaves.iter().all(|l| u64::from(l.leaf) < 1u64 << depth && self.shares(from, l.range));
        if !valid {
            self.stats.rejected += 1;
            return;
        }
        let wanted: BTreeSet<LeafId> = leaves.iter().copied().collect();
        for (key, cell) in &cells {
            let inside = self.leaf_of_key(key).is_some_and(|leaf| wanted.contains(&leaf));
            if hints::is_reserved(key) || !inside {
                self.stats.rejected += 1;
                continue;
            }
            match self.storage.put(key, cell.clone()) {
                Ok(()) => self.trees = None,
                Err(_) => self.stats.storage_errors += 1,
            }
        }
        if !reply {
            return;
        }
        let mine = self.cells_in(leaves);
        let mut missing = newer_than(&mine, &cells);
        missing.truncate(MAX_CELLS);
        if !missing.is_empty() {
            let leaves = leaves.to_vec();
            self.send_ae(from, PeerMessage::Cells { round, leaves, cells: missing, reply: false }, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::NodeConfig;
    use crate::storage::MemStorage;
    use base::Version;
    use history::Value;

    fn cell(v: i64, ts: u64) -> Cell {
        Cell::new(Value::Int(v), Version::new(ts, 0))
    }

    #[test]
    fn newer_than_sees_versions_and_absence() {
        let a = [("x".to_owned(), cell(1, 1)), ("y".to_owned(), cell(2, 2))];
        let c = [("x".to_owned(), cell(1, 3)), ("y".to_owned(), cell(2, 2))];
        assert_eq!(newer_than(&c, &a), vec![("x".to_owned(), cell(1, 3))]);
        assert_eq!(newer_than(&a, &c), vec![]);
        assert_eq!(newer_than(&a, &[]).len(), 2);
    }

    #[test]
    fn divergence_is_per_preference_list() {
        let ring = Ring::new(&[0, 1, 2], 8);
        let mut data: BTreeMap<u32, BTreeMap<String, Cell>> = BTreeMap::new();
        for node in 0..3 {
            data.entry(node).or_default().insert("k".into(), cell(1, 1));
        }
        assert!(diverged_keys(&ring, 3, &data).is_empty());
        data.entry(1).or_default().insert("k".into(), cell(2, 2));
        assert_eq!(diverged_keys(&ring, 3, &data), vec!["k".to_owned()]);
        data.entry(2).or_default().insert("j".into(), cell(2, 2));
        assert_eq!(diverged_keys(&ring, 3, &data).len(), 2);
    }

    /// A cluster of nodes wired by hand: anti-entropy messages only, delivered at once.
    struct Pair {
        nodes: BTreeMap<u32, Node<MemStorage>>,
        now: Duration,
    }

    impl Pair {
        /// `size` nodes with replication `n` and anti-entropy on.
        fn new(size: u32, n: usize) -> Self {
            Self::with_depth(size, n, merkle::DEFAULT_DEPTH)
        }

        /// The same with trees of `depth`.
        fn with_depth(size: u32, n: usize, depth: u8) -> Self {
            let ids: Vec<u32> = (0..size).collect();
            let nodes = ids
                .iter()
                .map(|&id| {
                    let mut config = NodeConfig::new(id, ids.clone());
                    config.replication = n;
                    config.anti_entropy = Some(Duration::from_secs(1));
                    config.merkle_depth = depth;
                    (id, Node::new(config, MemStorage::new(), Duration::ZERO).expect("starts"))
                })
                .collect();
            Self { nodes, now: Duration::ZERO }
        }

        fn put(&mut self, node: u32, key: &str, cell: Cell) {
            self.nodes.get_mut(&node).expect("node").storage_mut().put(key, cell).expect("put");
        }

        /// Node `from` starts a round; every message is delivered until none is left.
        /// Returns the messages, in order, as `(from, to, message)`.
        fn round(&mut self, from: u32) -> Vec<(u32, u32, PeerMessage)> {
            self.now += Duration::from_secs(1);
            let now = self.now;
            let mut out = Vec::new();
            self.nodes.get_mut(&from).expect("node").anti_entropy_round(now, &mut out);
            let mut queue: Vec<(u32, Effect)> = out.into_iter().map(|e| (from, e)).collect();
            let mut seen = Vec::new();
            while !queue.is_empty() {
                let (sender, effect) = queue.remove(0);
                let Effect::Send { to, msg } = effect else { panic!("only sends") };
                seen.push((sender, to, msg.clone()));
                let effects = self.nodes.get_mut(&to).expect("node").on_peer(now, sender, msg);
                queue.extend(effects.into_iter().map(|e| (to, e)));
            }
            seen
        }

        fn data(&mut self) -> BTreeMap<u32, BTreeMap<String, Cell>> {
            self.nodes.iter_mut().map(|(&id, node)| (id, node.data().expect("data"))).collect()
        }

        fn diverged(&mut self) -> Vec<String> {
            let ring = self.nodes[&0].ring().clone();
            let n = self.nodes[&0].config().replication;
            let data = self.data();
            diverged_keys(&ring, n, &data)
        }

        fn cells_sent(&self) -> u64 {
            self.nodes.values().map(|n| n.stats().ae_cells_sent).sum()
        }
    }

    fn cells_of(messages: &[(u32, u32, PeerMessage)]) -> usize {
        messages.iter().map(|(_, _, m)| if let PeerMessage::Cells { cells, .. } = m { cells.len() } else { 0 }).sum()
    }

    #[test]
    fn different_replicas_converge_both_ways() {
        let mut pair = Pair::new(2, 2);
        for i in 0..50 {
            pair.put(0, &format!("a{i}"), cell(i, 10));
            pair.put(1, &format!("b{i}"), cell(i, 10));
        }
        pair.put(0, "shared", cell(1, 5));
        pair.put(1, "shared", cell(2, 7));
        assert_eq!(pair.diverged().len(), 101);
        pair.round(0);
        assert!(pair.diverged().is_empty(), "{:?}", pair.diverged());
        assert_eq!(pair.data()[&0]["shared"], cell(2, 7), "the newer version wins");
        let ranges = pair.nodes[&0].ring().ranges_of(0, 2).len() as u64;
        assert_eq!(pair.nodes[&1].stats().ae_trees_compared, ranges, "every range, once");
    }

    #[test]
    fn identical_replicas_exchange_only_tree_hashes() {
        let mut pair = Pair::new(5, 3);
        for node in 0..5 {
            for i in 0..500 {
                pair.put(node, &format!("k{i}"), cell(i, 3));
            }
        }
        for node in 0..5 {
            let messages = pair.round(node);
            assert!(!messages.is_empty());
            assert!(messages.iter().all(|(from, _, m)| *from == node && matches!(m, PeerMessage::Tree { .. })));
        }
        assert_eq!(pair.cells_sent(), 0);
    }

    #[test]
    fn traffic_follows_the_differences_not_the_data() {
        let mut pair = Pair::new(3, 3);
        for node in 0..3 {
            for i in 0..5000 {
                pair.put(node, &format!("k{i}"), cell(i, 3));
            }
        }
        pair.put(2, "k1234", cell(-1, 4));
        let messages = pair.round(0);
        // Node 2 sends its newer cell to 0; 0 has nothing newer to send back.
        assert_eq!(cells_of(&messages), 1, "{messages:?}");
        assert_eq!(pair.diverged(), vec!["k1234".to_owned()], "node 1 is behind still");
        let hashes: usize = messages
            .iter()
            .map(|(_, _, m)| if let PeerMessage::Tree { nodes, .. } = m { nodes.len() } else { 0 })
            .sum();
        let ranges = pair.nodes[&0].ring().ranges_of(0, 3).len();
        // Roots to both peers, then 32 + 32 hashes for the one differing range.
        assert_eq!(hashes, 2 * ranges + 64, "{messages:?}");
        assert_eq!(pair.nodes[&2].stats().ae_leaves_differing, 1);
        // Node 1 compares with both up-to-date peers, and each sends it the cell.
        let messages = pair.round(1);
        assert_eq!(cells_of(&messages), 2, "{messages:?}");
        assert!(pair.diverged().is_empty());
    }

    #[test]
    fn messages_hold_at_most_max_cells() {
        // Depth 0: a range is one leaf, so a differing range streams all its cells.
        let mut pair = Pair::with_depth(2, 2, 0);
        let total = MAX_CELLS * 2 + 100;
        for i in 0..total {
            pair.put(1, &format!("k{i}"), cell(i as i64, 1));
        }
        let mut rounds = 0;
        while !pair.diverged().is_empty() {
            rounds += 1;
            assert!(rounds <= 10, "does not converge");
            let messages = pair.round(0);
            for (_, _, m) in &messages {
                if let PeerMessage::Cells { cells, .. } = m {
                    assert!(cells.len() <= MAX_CELLS);
                }
            }
        }
        assert!((3..=4).contains(&rounds), "{total} cells need three or four messages of whole leaves: {rounds}");
        assert_eq!(pair.cells_sent(), total as u64, "each missing cell sent once");
    }

    #[test]
    fn malformed_repair_messages_are_rejected() {
        let mut pair = Pair::new(2, 2);
        let node = pair.nodes.get_mut(&0).expect("node");
        let now = Duration::from_secs(1);
        let range = node.ring().ranges_of(0, 2)[0].end;
        let bad = [
            PeerMessage::Tree { round: 1, nodes: vec![TreeNode { range: range ^ 1, level: 0, index: 0, hash: 1 }] },
            PeerMessage::Tree { round: 1, nodes: vec![TreeNode { range, level: 1, index: 2, hash: 1 }] },
            PeerMessage::Tree { round: 1, nodes: vec![TreeNode { range, level: 40, index: 0, hash: 1 }] },
            PeerMessage::Cells { round: 1, leaves: vec![LeafId { range, leaf: 1 << 20 }], cells: vec![], reply: true },
        ];
        for (i, msg) in bad.into_iter().enumerate() {
            assert!(node.on_peer(now, 1, msg).is_empty());
            assert_eq!(node.stats().rejected, i as u64 + 1);
        }
        // A cell outside the leaves it claims is not stored.
        let leaf = LeafId { range, leaf: 0 };
        let outsider = (0..).map(|i| format!("o{i}")).find(|k| node.leaf_of_key(k) != Some(leaf)).expect("one");
        let msg =
            PeerMessage::Cells { round: 1, leaves: vec![leaf], cells: vec![(outsider, cell(1, 1))], reply: false };
        assert!(node.on_peer(now, 1, msg).is_empty());
        assert!(node.data().expect("data").is_empty());
    }
}
