//! The dependency graph: edges labelled with kinds (a bit set), stored compactly (CSR), with
//! Tarjan's strongly connected components and breadth-first shortest paths restricted to a
//! component and a set of edge kinds.

use std::collections::VecDeque;

use super::{Halt, Poll};

/// Write-write dependency.
pub(crate) const WW: u8 = 1;
/// Write-read dependency.
pub(crate) const WR: u8 = 2;
/// Read-write anti-dependency.
pub(crate) const RW: u8 = 4;
/// Real-time precedence.
pub(crate) const RT: u8 = 8;
/// Every data dependency.
pub(crate) const DEP: u8 = WW | WR | RW;
/// Every kind.
pub(crate) const ALL: u8 = DEP | RT;

const NONE: u32 = u32::MAX;

/// A directed graph on nodes `0..len`, parallel edges merged (their kinds or-ed).
#[derive(Debug, Clone, Default)]
pub(crate) struct Graph {
    offsets: Vec<u32>,
    targets: Vec<u32>,
    kinds: Vec<u8>,
}

impl Graph {
    /// Builds the graph from `(from, to, kind)` triples.
    pub(crate) fn new(nodes: usize, mut edges: Vec<(u32, u32, u8)>) -> Self {
        edges.sort_unstable();
        let mut graph = Graph { offsets: vec![0; nodes + 1], targets: Vec::new(), kinds: Vec::new() };
        let mut last: Option<(u32, u32)> = None;
        for (from, to, kind) in edges {
            if last == Some((from, to)) {
                if let Some(k) = graph.kinds.last_mut() {
                    *k |= kind;
                }
                continue;
            }
            last = Some((from, to));
            graph.offsets[from as usize + 1] += 1;
            graph.targets.push(to);
            graph.kinds.push(kind);
        }
        for i in 0..nodes {
            graph.offsets[i + 1] += graph.offsets[i];
        }
        graph
    }

    /// Number of nodes.
    pub(crate) fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    fn range(&self, node: u32) -> std::ops::Range<usize> {
        self.offsets[node as usize] as usize..self.offsets[node as usize + 1] as usize
    }

    /// The edges out of `node`: (target, kinds).
    pub(crate) fn out(&self, node: u32) -> impl Iterator<Item = (u32, u8)> + '_ {
        let range = self.range(node);
        self.targets[range.clone()].iter().copied().zip(self.kinds[range].iter().copied())
    }

    /// The kinds of the edge `from -> to` (0 when there is none).
    pub(crate) fn kinds(&self, from: u32, to: u32) -> u8 {
        let range = self.range(from);
        match self.targets[range.clone()].binary_search(&to) {
            Ok(i) => self.kinds[range.start + i],
            Err(_) => 0,
        }
    }

    /// Strongly connected components of two or more nodes, using only edges with a kind in
    /// `mask` (Tarjan's algorithm, iterative: histories have 100,000s of transactions).
    pub(crate) fn components(&self, mask: u8, poll: &mut Poll<'_>) -> Result<Components, Halt> {
        let n = self.len();
        let mut index = vec![NONE; n];
        let mut low = vec![NONE; n];
        let mut on_stack = vec![false; n];
        let mut stack: Vec<u32> = Vec::new();
        let mut calls: Vec<(u32, usize)> = Vec::new();
        let mut counter = 0u32;
        let mut found = Components { of: vec![NONE; n], members: Vec::new() };
        for root in 0..n as u32 {
            if index[root as usize] != NONE {
                continue;
            }
            index[root as usize] = counter;
            low[root as usize] = counter;
            counter += 1;
            stack.push(root);
            on_stack[root as usize] = true;
            calls.push((root, self.range(root).start));
            while let Some(&mut (v, ref mut next)) = calls.last_mut() {
                poll.tick()?;
                let vi = v as usize;
                if *next < self.range(v).end {
                    let edge = *next;
                    *next += 1;
                    if self.kinds[edge] & mask == 0 {
                        continue;
                    }
                    let w = self.targets[edge];
                    let wi = w as usize;
                    if index[wi] == NONE {
                        index[wi] = counter;
                        low[wi] = counter;
                        counter += 1;
                        stack.push(w);
                        on_stack[wi] = true;
                        calls.push((w, self.range(w).start));
                    } else if on_stack[wi] {
                        low[vi] = low[vi].min(index[wi]);
                    }
                    continue;
                }
                calls.pop();
                if let Some(&(parent, _)) = calls.last() {
                    low[parent as usize] = low[parent as usize].min(low[vi]);
                }
                if low[vi] == index[vi] {
                    let mut members = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w as usize] = false;
                        members.push(w);
                        if w == v {
                            break;
                        }
                    }
                    if members.len() > 1 {
                        members.sort_unstable();
                        let id = found.members.len() as u32;
                        for &m in &members {
                            found.of[m as usize] = id;
                        }
                        found.members.push(members);
                    }
                }
            }
        }
        Ok(found)
    }
}

/// Nontrivial strongly connected components.
#[derive(Debug, Clone, Default)]
pub(crate) struct Components {
    /// `of[node]` is the node's component, or `u32::MAX` when it is in none.
    pub(crate) of: Vec<u32>,
    /// Each component's nodes, sorted.
    pub(crate) members: Vec<Vec<u32>>,
}

/// Breadth-first search with buffers reused between searches.
pub(crate) struct Bfs {
    parent: Vec<u32>,
    touched: Vec<u32>,
    queue: VecDeque<u32>,
}

impl Bfs {
    pub(crate) fn new(nodes: usize) -> Self {
        Self { parent: vec![NONE; nodes], touched: Vec::new(), queue: VecDeque::new() }
    }

    /// A shortest path `[from, ..., to]` along edges with a kind in `mask`, through nodes of
    /// component `component` only.
    pub(crate) fn path(
        &mut self,
        graph: &Graph,
        (from, to): (u32, u32),
        mask: u8,
        (components, component): (&Components, u32),
        poll: &mut Poll<'_>,
    ) -> Result<Option<Vec<u32>>, Halt> {
        for &t in &self.touched {
            self.parent[t as usize] = NONE;
        }
        self.touched.clear();
        self.queue.clear();
        self.parent[from as usize] = from;
        self.touched.push(from);
        self.queue.push_back(from);
        while let Some(u) = self.queue.pop_front() {
            if u == to {
                let mut path = vec![to];
                let mut at = to;
                while at != from {
                    at = self.parent[at as usize];
                    path.push(at);
                }
                path.reverse();
                return Ok(Some(path));
            }
            for (v, kinds) in graph.out(u) {
                poll.tick()?;
                if kinds & mask == 0 || components.of[v as usize] != component || self.parent[v as usize] != NONE {
                    continue;
                }
                self.parent[v as usize] = u;
                self.touched.push(v);
                self.queue.push_back(v);
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn never() -> bool {
        false
    }

    #[test]
    fn parallel_edges_merge_their_kinds() {
        let g = Graph::new(3, vec![(0, 1, WW), (0, 1, RW), (1, 2, WR)]);
        assert_eq!(g.kinds(0, 1), WW | RW);
        assert_eq!(g.kinds(1, 2), WR);
        assert_eq!(g.kinds(2, 0), 0);
        assert_eq!(g.out(0).count(), 1);
    }

    #[test]
    fn components_follow_the_mask_and_paths_are_shortest() {
        // 0 -> 1 -> 2 -> 0 by ww, 2 -> 3 -> 2 by rw only; 0 -> 2 shortcut.
        let g = Graph::new(5, vec![(0, 1, WW), (1, 2, WW), (2, 0, WW), (0, 2, WW), (2, 3, RW), (3, 2, RW)]);
        let mut poll = Poll::new(&never);
        let ww = g.components(WW, &mut poll).expect("no deadline");
        assert_eq!(ww.members, vec![vec![0, 1, 2]]);
        assert_eq!(ww.of[3], NONE);
        assert_eq!(ww.of[4], NONE);
        let all = g.components(DEP, &mut poll).expect("no deadline");
        assert_eq!(all.members, vec![vec![0, 1, 2, 3]]);
        let mut bfs = Bfs::new(5);
        let path = bfs.path(&g, (0, 2), WW, (&ww, 0), &mut poll).expect("no deadline");
        assert_eq!(path, Some(vec![0, 2]));
        let path = bfs.path(&g, (3, 1), DEP, (&all, 0), &mut poll).expect("no deadline");
        assert_eq!(path, Some(vec![3, 2, 0, 1]));
        assert_eq!(bfs.path(&g, (3, 1), WW, (&all, 0), &mut poll).expect("no deadline"), None);
    }

    #[test]
    fn a_long_chain_does_not_overflow_the_stack() {
        let n = 200_000u32;
        let mut edges: Vec<_> = (0..n - 1).map(|i| (i, i + 1, WW)).collect();
        edges.push((n - 1, 0, WR));
        let g = Graph::new(n as usize, edges);
        let mut poll = Poll::new(&never);
        assert_eq!(g.components(WW, &mut poll).expect("no deadline").members.len(), 0);
        assert_eq!(g.components(WW | WR, &mut poll).expect("no deadline").members[0].len(), n as usize);
    }
}
