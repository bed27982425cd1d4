//! The consistent-hash ring: which nodes hold which keys.
//!
//! Every node owns `vnodes` tokens on a 64-bit ring. A key hashes to a point; walking
//! clockwise from it, the first `n` distinct nodes are the key's *preference list* (its
//! replicas) and the distinct nodes after them are its *fallbacks*, in the order a sloppy
//! quorum uses them (Dynamo's "first N healthy nodes").
//!
//! The hash is written here (64-bit FNV-1a followed by the SplitMix64 finaliser, which spreads
//! FNV's weak low bits) so that placement is identical on every run, platform and Rust
//! version; std's `RandomState` is seeded per process and must never reach placement.

use std::collections::BTreeSet;

/// FNV-1a over `bytes`, 64-bit.
fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes.iter().fold(OFFSET, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(PRIME))
}

/// SplitMix64's finaliser: a bijection that mixes every input bit into every output bit.
pub fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The ring position of `key` (also used to bucket keys for anti-entropy).
pub fn hash_key(key: &str) -> u64 {
    mix(fnv1a(key.as_bytes()))
}

/// The ring position of virtual node `vnode` of node `node`.
fn token(node: u32, vnode: u32) -> u64 {
    let mut bytes = [0u8; 13];
    bytes[..5].copy_from_slice(b"vnode");
    bytes[5..9].copy_from_slice(&node.to_le_bytes());
    bytes[9..].copy_from_slice(&vnode.to_le_bytes());
    mix(fnv1a(&bytes))
}

/// A consistent-hash ring over node ids with virtual nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ring {
    /// `(token, node)` sorted by token, then node (so equal tokens still order the same way).
    tokens: Vec<(u64, u32)>,
    /// The distinct nodes, ascending.
    nodes: Vec<u32>,
}

impl Ring {
    /// A ring of `nodes` (duplicates ignored) with `vnodes` tokens each (at least one).
    pub fn new(nodes: &[u32], vnodes: usize) -> Self {
        let nodes: Vec<u32> = nodes.iter().copied().collect::<BTreeSet<_>>().into_iter().collect();
        let vnodes = u32::try_from(vnodes.max(1)).unwrap_or(u32::MAX);
        let mut tokens: Vec<(u64, u32)> =
            nodes.iter().flat_map(|&node| (0..vnodes).map(move |v| (token(node, v), node))).collect();
        tokens.sort_unstable();
        Self { tokens, nodes }
    }

    /// The distinct nodes of the ring, ascending.
    pub fn nodes(&self) -> &[u32] {
        &self.nodes
    }

    /// Every distinct node in clockwise order starting from ring position `point`.
    fn walk_from(&self, point: u64) -> Vec<u32> {
        let start = self.tokens.partition_point(|&(token, _)| token < point);
        let mut seen = Vec::with_capacity(self.nodes.len());
        for i in 0..self.tokens.len() {
            let node = self.tokens[(start + i) % self.tokens.len()].1;
            if !seen.contains(&node) {
                seen.push(node);
                if seen.len() == self.nodes.len() {
                    break;
                }
            }
        }
        seen
    }

    /// Every distinct node in clockwise order from `key`'s position: the preference list
    /// followed by the fallbacks.
    pub fn walk(&self, key: &str) -> Vec<u32> {
        self.walk_from(hash_key(key))
    }

    /// The first `n` distinct nodes clockwise from `key` (fewer when the ring is smaller).
    pub fn preference_list(&self, key: &str, n: usize) -> Vec<u32> {
        let mut walk = self.walk(key);
        walk.truncate(n);
        walk
    }

    /// The distinct nodes after the first `n`, in the order a sloppy quorum tries them.
    pub fn fallbacks(&self, key: &str, n: usize) -> Vec<u32> {
        self.walk(key).into_iter().skip(n).collect()
    }

    /// The nodes that share at least one key range's preference list (of length `n`) with
    /// `node`: the peers anti-entropy compares with.
    pub fn peers_sharing(&self, node: u32, n: usize) -> BTreeSet<u32> {
        let mut peers = BTreeSet::new();
        for &(token, _) in &self.tokens {
            let mut replicas = self.walk_from(token);
            replicas.truncate(n);
            if replicas.contains(&node) {
                peers.extend(replicas.into_iter().filter(|&p| p != node));
            }
        }
        peers
    }
}

/// A token range `(start, end]` of the ring (wrapping past `u64::MAX`) and its replicas: the
/// keys whose ring position falls in it share one preference list. Cassandra repairs per token
/// range the same way (`nodetool repair` runs one Merkle-tree comparison per range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRange {
    /// The exclusive start: the previous distinct token.
    pub start: u64,
    /// The inclusive end: the token of the vnode that owns the range; it names the range.
    pub end: u64,
    /// The range's preference list.
    pub replicas: Vec<u32>,
}

impl TokenRange {
    /// Ring positions in the range: `end - start` (wrapping), or 2^64 for a ring of one
    /// distinct token (`start == end`), whose one range is the whole ring.
    pub fn width(&self) -> u128 {
        match self.end.wrapping_sub(self.start) {
            0 => 1u128 << 64,
            w => u128::from(w),
        }
    }

    /// How far `point` lies past the start (0 for `start + 1`); `None` outside the range.
    pub fn offset(&self, point: u64) -> Option<u128> {
        let offset = u128::from(point.wrapping_sub(self.start).wrapping_sub(1));
        (offset < self.width()).then_some(offset)
    }
}

impl Ring {
    /// The distinct tokens, ascending.
    fn distinct_tokens(&self) -> Vec<u64> {
        let mut tokens: Vec<u64> = self.tokens.iter().map(|&(t, _)| t).collect();
        tokens.dedup();
        tokens
    }

    /// Every token range whose preference list (of length `n`) holds `node`, by end token.
    pub fn ranges_of(&self, node: u32, n: usize) -> Vec<TokenRange> {
        let tokens = self.distinct_tokens();
        let mut ranges = Vec::new();
        for (i, &end) in tokens.iter().enumerate() {
            let start = tokens[(i + tokens.len() - 1) % tokens.len()];
            let mut replicas = self.walk_from(end);
            replicas.truncate(n);
            if replicas.contains(&node) {
                ranges.push(TokenRange { start, end, replicas });
            }
        }
        ranges
    }

    /// The end token of the range holding ring position `point` (`None` on an empty ring).
    pub fn range_end_of(&self, point: u64) -> Option<u64> {
        let start = self.tokens.partition_point(|&(token, _)| token < point);
        self.tokens.get(start % self.tokens.len().max(1)).map(|&(token, _)| token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(count: usize) -> impl Iterator<Item = String> {
        (0..count).map(|i| format!("key-{i}"))
    }

    #[test]
    fn preference_lists_are_distinct_and_sized() {
        for size in 3..=9u32 {
            let nodes: Vec<u32> = (0..size).collect();
            let ring = Ring::new(&nodes, 16);
            for n in 1..=size as usize {
                for key in keys(50) {
                    let list = ring.preference_list(&key, n);
                    assert_eq!(list.len(), n);
                    let distinct: BTreeSet<u32> = list.iter().copied().collect();
                    assert_eq!(distinct.len(), n, "{key}: {list:?}");
                    let fallbacks = ring.fallbacks(&key, n);
                    assert_eq!(fallbacks.len(), size as usize - n);
                    assert!(fallbacks.iter().all(|f| !list.contains(f)));
                }
            }
        }
    }

    #[test]
    fn placement_is_deterministic_and_pinned() {
        let a = Ring::new(&[1, 2, 3, 4, 5], 16);
        let b = Ring::new(&[5, 4, 3, 2, 1, 3], 16);
        for key in keys(100) {
            assert_eq!(a.walk(&key), b.walk(&key));
        }
        // Pinned values: placement must never change between builds, or stored data moves.
        assert_eq!(hash_key(""), mix(0xcbf2_9ce4_8422_2325));
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn vnodes_balance_primaries() {
        let nodes: Vec<u32> = (0..5).collect();
        let ring = Ring::new(&nodes, 64);
        let mut primaries = [0usize; 5];
        let total = 10_000;
        for key in keys(total) {
            primaries[ring.preference_list(&key, 1)[0] as usize] += 1;
        }
        let fair = total / 5;
        for (node, &count) in primaries.iter().enumerate() {
            assert!(count > fair / 2 && count < fair * 3 / 2, "node {node} owns {count} of {total}");
        }
    }

    #[test]
    fn removing_a_node_moves_only_its_keys() {
        let full = Ring::new(&[0, 1, 2, 3], 32);
        let less = Ring::new(&[0, 1, 2], 32);
        for key in keys(500) {
            let before = full.preference_list(&key, 1)[0];
            if before != 3 {
                assert_eq!(less.preference_list(&key, 1)[0], before, "{key}");
            }
        }
    }

    #[test]
    fn peers_sharing_ranges() {
        let ring = Ring::new(&[0, 1, 2, 3, 4, 5, 6, 7, 8], 8);
        let peers = ring.peers_sharing(0, 1);
        assert!(peers.is_empty());
        let peers = ring.peers_sharing(0, 3);
        assert!(!peers.contains(&0));
        assert!(!peers.is_empty());
        // Every key held by 0 has its other replicas among 0's peers.
        for key in keys(300) {
            let list = ring.preference_list(&key, 3);
            if list.contains(&0) {
                assert!(list.iter().filter(|&&p| p != 0).all(|p| peers.contains(p)));
            }
        }
    }

    #[test]
    fn token_ranges_partition_the_ring_and_match_preference_lists() {
        let ring = Ring::new(&[0, 1, 2, 3, 4], 8);
        let all: Vec<TokenRange> = (0..5).flat_map(|node| ring.ranges_of(node, 3)).collect();
        // Each range appears once per replica: 5 nodes x 8 tokens x 3 replicas.
        assert_eq!(all.len(), 5 * 8 * 3);
        let total: u128 = ring.ranges_of(0, 5).iter().map(TokenRange::width).sum();
        assert_eq!(total, 1u128 << 64, "with n = all nodes, node 0 replicates the whole ring");
        for key in keys(300) {
            let point = hash_key(&key);
            let end = ring.range_end_of(point).expect("a range");
            let list = ring.preference_list(&key, 3);
            for &node in &list {
                let range = ring.ranges_of(node, 3).into_iter().find(|r| r.end == end).expect("replicated");
                assert_eq!(range.replicas, list, "{key}");
                assert!(range.offset(point).is_some(), "{key} lies in its range");
            }
        }
        let single = Ring::new(&[7], 1);
        let ranges = single.ranges_of(7, 1);
        assert_eq!(ranges.len(), 1);
        assert_eq!(ranges[0].width(), 1u128 << 64);
        assert!(ranges[0].offset(0).is_some() && ranges[0].offset(u64::MAX).is_some());
    }
}
