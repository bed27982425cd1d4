//! Which cycles to look for, where, and what they are called.
//!
//! Each search works on the strongly connected components of the graph restricted to some edge
//! kinds, and within a component closes a cycle through one *closing* edge of a given kind
//! with a breadth-first shortest path back (restricted to kinds that keep the class):
//!
//! | class      | components of | closing edge                 | path back through |
//! |------------|---------------|------------------------------|-------------------|
//! | G0         | ww            | ww                           | ww                |
//! | G1c        | ww, wr        | wr (not also ww)             | ww, wr            |
//! | G-single   | ww, wr, rw    | rw (not also ww or wr)       | ww, wr            |
//! | G2-item    | ww, wr, rw    | rw, when no G-single closes  | ww, wr, rw        |
//! | -realtime  | all kinds     | rt (not also a dependency)   | all kinds         |
//!
//! Real-time cycles are searched only in components holding no dependency cycle (there the
//! level is lower already). Each component yields at most one anomaly per search, the
//! shortest cycle among the first [`TRIES`] closing edges: minimal for that edge, small in
//! practice. The class of a cycle is read off its edges (each edge takes the first of its
//! kinds in the order ww, wr, rw, rt), so a cycle is never called worse than it is.

use super::anomaly::{Anomaly, AnomalyClass, Found};
use super::graph::{Bfs, Components, Graph, ALL, DEP, RT, RW, WR, WW};
use super::list_append::{self, Inferred};
use super::parse::Parsed;
use super::{realtime, Halt, Poll};

/// Closing edges tried per component and search.
pub(crate) const TRIES: usize = 16;

/// A cycle: `nodes[i] -> nodes[i + 1]` (and the last back to the first) by `kinds[i]`.
struct Cycle {
    nodes: Vec<u32>,
    kinds: Vec<u8>,
}

/// The first of `kinds` in the order ww, wr, rw, rt.
fn first_kind(kinds: u8) -> u8 {
    kinds & kinds.wrapping_neg()
}

/// The class of a cycle by its edges.
fn classify(kinds: &[u8]) -> AnomalyClass {
    let rw = kinds.iter().filter(|&&k| k == RW).count();
    let wr = kinds.contains(&WR);
    let rt = kinds.contains(&RT);
    match (rt, rw, wr) {
        (false, 0, false) => AnomalyClass::G0,
        (false, 0, true) => AnomalyClass::G1c,
        (false, 1, _) => AnomalyClass::GSingle,
        (false, _, _) => AnomalyClass::G2Item,
        (true, 0, false) => AnomalyClass::G0Realtime,
        (true, 0, true) => AnomalyClass::G1cRealtime,
        (true, 1, _) => AnomalyClass::GSingleRealtime,
        (true, _, _) => AnomalyClass::G2ItemRealtime,
    }
}

/// One search: closing edges with a kind in `close` and none in `not`, paths through `path`.
struct Search {
    close: u8,
    not: u8,
    path: u8,
}

/// The shortest cycle of component `c` closed by an edge `search` accepts, if any.
fn shortest(
    graph: &Graph,
    (components, c): (&Components, u32),
    search: &Search,
    bfs: &mut Bfs,
    poll: &mut Poll<'_>,
) -> Result<Option<Cycle>, Halt> {
    let mut best: Option<Cycle> = None;
    let mut tries = 0;
    'members: for &u in &components.members[c as usize] {
        for (v, kinds) in graph.out(u) {
            if components.of[v as usize] != c || kinds & search.close == 0 || kinds & search.not != 0 {
                continue;
            }
            tries += 1;
            if let Some(nodes) = bfs.path(graph, (v, u), search.path, (components, c), poll)? {
                if best.as_ref().is_none_or(|b| nodes.len() < b.nodes.len()) {
                    let mut kinds_of: Vec<u8> =
                        nodes.windows(2).map(|w| first_kind(graph.kinds(w[0], w[1]) & search.path)).collect();
                    kinds_of.push(first_kind(kinds & search.close));
                    best = Some(Cycle { nodes, kinds: kinds_of });
                }
            }
            if tries >= TRIES {
                break 'members;
            }
        }
    }
    Ok(best)
}

fn explain(parsed: &Parsed, inferred: &Inferred<'_>, cycle: &Cycle) -> Anomaly {
    let n = cycle.nodes.len();
    let steps = (0..n)
        .map(|i| {
            let edge = (cycle.nodes[i], cycle.nodes[(i + 1) % n]);
            match cycle.kinds[i] {
                RT => realtime::explain(parsed, edge),
                kind => list_append::explain(parsed, inferred, edge, kind),
            }
        })
        .collect();
    Anomaly {
        class: classify(&cycle.kinds),
        txns: cycle.nodes.iter().map(|&t| parsed.txns[t as usize].event()).collect(),
        steps,
    }
}

/// Every cycle anomaly of the inferred graph, into `found`.
pub(crate) fn find(
    parsed: &Parsed,
    inferred: &Inferred<'_>,
    realtime: bool,
    found: &mut Found,
    poll: &mut Poll<'_>,
) -> Result<(), Halt> {
    let graph = &inferred.graph;
    let mut bfs = Bfs::new(graph.len());
    let mut cycles = Vec::new();
    let searches =
        [(WW, Search { close: WW, not: 0, path: WW }), (WW | WR, Search { close: WR, not: WW, path: WW | WR })];
    for (mask, search) in &searches {
        let components = graph.components(*mask, poll)?;
        for c in 0..components.members.len() as u32 {
            cycles.extend(shortest(graph, (&components, c), search, &mut bfs, poll)?);
        }
    }
    let dependencies = graph.components(DEP, poll)?;
    for c in 0..dependencies.members.len() as u32 {
        let single = Search { close: RW, not: WW | WR, path: WW | WR };
        match shortest(graph, (&dependencies, c), &single, &mut bfs, poll)? {
            Some(cycle) => cycles.push(cycle),
            None => {
                let item = Search { close: RW, not: WW | WR, path: DEP };
                cycles.extend(shortest(graph, (&dependencies, c), &item, &mut bfs, poll)?);
            }
        }
    }
    if realtime {
        let all = graph.components(ALL, poll)?;
        let timed = Search { close: RT, not: DEP, path: ALL };
        for (c, members) in all.members.iter().enumerate() {
            if members.iter().any(|&m| dependencies.of[m as usize] != u32::MAX) {
                continue;
            }
            cycles.extend(shortest(graph, (&all, c as u32), &timed, &mut bfs, poll)?);
        }
    }
    found.extend(cycles.iter().map(|cycle| explain(parsed, inferred, cycle)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_follow_the_edges() {
        assert_eq!(classify(&[WW, WW]), AnomalyClass::G0);
        assert_eq!(classify(&[WW, WR]), AnomalyClass::G1c);
        assert_eq!(classify(&[WR, RW]), AnomalyClass::GSingle);
        assert_eq!(classify(&[RW, RW]), AnomalyClass::G2Item);
        assert_eq!(classify(&[RT, WW]), AnomalyClass::G0Realtime);
        assert_eq!(classify(&[RT, RW, WR]), AnomalyClass::GSingleRealtime);
        assert_eq!(first_kind(WW | RW), WW);
        assert_eq!(first_kind(RW | RT), RW);
    }
}
