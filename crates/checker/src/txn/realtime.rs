//! Real-time edges: `T1 -> T2` when `T1` completed `ok` before `T2` was invoked, in the order of
//! the events.
//!
//! All such pairs would be quadratic. The edges kept are from the *frontier*: the committed
//! transactions not yet implied by another. When `T2` completes, every transaction that was in
//! the frontier when `T2` was invoked leaves it (it precedes `T2`, and `T2` now precedes every
//! later invocation), and `T2` joins it. So the frontier holds about as many transactions as
//! run concurrently, and the real-time order is the transitive closure of the edges kept.

use std::collections::HashMap;

use super::graph::RT;
use super::list_append::name;
use super::parse::{Parsed, Status};
use super::{Halt, Poll};

/// Appends the real-time edges of `parsed` to `edges`, at most `limit` of them (then
/// `Halt::Memory`). Aborted transactions take no part.
pub(crate) fn edges(
    parsed: &Parsed,
    edges: &mut Vec<(u32, u32, u8)>,
    limit: usize,
    poll: &mut Poll<'_>,
) -> Result<(), Halt> {
    let start = edges.len();
    let mut points: Vec<(u32, u32)> = Vec::with_capacity(parsed.txns.len() * 2);
    for (t, txn) in parsed.txns.iter().enumerate() {
        match (txn.status, txn.complete()) {
            (Status::Fail, _) => {}
            (Status::Ok, Some(_)) => points.extend([(txn.invoke, t as u32), (txn.complete, t as u32)]),
            _ => points.push((txn.invoke, t as u32)),
        }
    }
    points.sort_unstable();
    let mut frontier: Vec<u32> = Vec::new();
    let mut seen_at_invoke: HashMap<u32, Vec<u32>> = HashMap::new();
    for (event, t) in points {
        poll.tick()?;
        let txn = &parsed.txns[t as usize];
        if event == txn.invoke {
            edges.extend(frontier.iter().map(|&f| (f, t, RT)));
            if edges.len() - start > limit {
                return Err(Halt::Memory);
            }
            if txn.status == Status::Ok {
                seen_at_invoke.insert(t, frontier.clone());
            }
        } else {
            let before = seen_at_invoke.remove(&t).unwrap_or_default();
            frontier.retain(|f| !before.contains(f));
            frontier.push(t);
        }
    }
    Ok(())
}

/// Why `from < to` in real time, in words.
pub(crate) fn explain(parsed: &Parsed, (from, to): (u32, u32)) -> String {
    let (a, b) = (name(parsed, from), name(parsed, to));
    format!("{a} < {b} because {a} completed before {b} was invoked")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::parse::Txn;

    fn never() -> bool {
        false
    }

    fn txn(invoke: u32, complete: u32) -> Txn {
        Txn { invoke, complete, status: Status::Ok, process: 0, first: 0, count: 0 }
    }

    fn parsed(txns: Vec<Txn>) -> Parsed {
        Parsed { txns, ..Parsed::default() }
    }

    #[test]
    fn keeps_the_frontier_not_every_pair() {
        // T0 [0,1], T1 [2,3], T2 [4,5], T3 [6,7]: a chain of three edges, not six.
        let parsed = parsed(vec![txn(0, 1), txn(2, 3), txn(4, 5), txn(6, 7)]);
        let mut out = Vec::new();
        edges(&parsed, &mut out, usize::MAX, &mut Poll::new(&never)).expect("no deadline");
        assert_eq!(out, vec![(0, 1, RT), (1, 2, RT), (2, 3, RT)]);
    }

    #[test]
    fn concurrent_transactions_have_no_edge_between_them() {
        // T0 [0,2] and T1 [1,3] overlap; T2 [4,5] follows both.
        let parsed = parsed(vec![txn(0, 2), txn(1, 3), txn(4, 5)]);
        let mut out = Vec::new();
        edges(&parsed, &mut out, usize::MAX, &mut Poll::new(&never)).expect("no deadline");
        out.sort_unstable();
        assert_eq!(out, vec![(0, 2, RT), (1, 2, RT)]);
    }

    #[test]
    fn more_edges_than_the_limit_halt_for_memory() {
        // Three transactions that overlap, then one after them all: three edges.
        let parsed = parsed(vec![txn(0, 3), txn(1, 4), txn(2, 5), txn(6, 7)]);
        let mut out = Vec::new();
        assert!(matches!(edges(&parsed, &mut out, 2, &mut Poll::new(&never)), Err(Halt::Memory)));
        let mut out = Vec::new();
        edges(&parsed, &mut out, 3, &mut Poll::new(&never)).expect("within the limit");
        assert_eq!(out.len(), 3);
    }
}
