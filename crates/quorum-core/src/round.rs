//! One request/response exchange between a coordinator and a set of nodes, and the quorum
//! arithmetic over its answers.
//!
//! A round knows whom it asked, who answered (in arrival order) and who failed; it says
//! whether the required count is reached, still possible, or impossible. It holds no policy:
//! the coordinator decides what a reached or failed round leads to.

use std::collections::{BTreeMap, BTreeSet};

use base::Cell;

/// A target's answer so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answer {
    /// Asked, no answer yet.
    Pending,
    /// Answered successfully; for reads, with its cell.
    Ok(Option<Cell>),
    /// Answered a digest read successfully, with the digest of its cell.
    Digest(u64),
    /// Refused, unreachable, or timed out: whether the target acted is unknown.
    Failed,
    /// Refused definitely: the target certainly did not act (its disk refused the write),
    /// with the reason.
    Refused(String),
}

/// Where a round stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    /// Not enough answers yet, but enough targets still pending.
    Waiting,
    /// At least `need` successes.
    Reached,
    /// Even if every pending target succeeds, `need` cannot be reached.
    Impossible,
}

/// One exchange.
#[derive(Debug, Clone)]
pub(crate) struct Round {
    /// The request id carried by this round's messages.
    pub rid: u64,
    /// Successes required.
    pub need: usize,
    /// Successes that need no answer (a hint stored under ANY; replicas already known to hold
    /// the value in an ABD write-back).
    pub credit: usize,
    /// Every target and its answer.
    pub targets: BTreeMap<u32, Answer>,
    /// Targets that succeeded, in arrival order.
    pub order: Vec<u32>,
    /// Sloppy-quorum stand-ins: fallback target -> the replica it stands in for.
    pub stand_in: BTreeMap<u32, u32>,
    /// The targets asked for full data in a round that mixes data and digest reads: then the
    /// round is reached only once one of them succeeded (digests alone carry no value), and
    /// is impossible once none of them can. Empty for every other round.
    pub data: BTreeSet<u32>,
}

impl Round {
    /// A round with request id `rid` needing `need` successes from `targets`.
    pub fn new(rid: u64, need: usize, targets: impl IntoIterator<Item = u32>) -> Self {
        let targets = targets.into_iter().map(|t| (t, Answer::Pending)).collect();
        Self { rid, need, credit: 0, targets, order: Vec::new(), stand_in: BTreeMap::new(), data: BTreeSet::new() }
    }

    /// Adds a target (a sloppy fallback standing in for `stand_in`) to a running round.
    pub fn add_target(&mut self, node: u32, stand_in: Option<u32>) {
        self.targets.entry(node).or_insert(Answer::Pending);
        if let Some(intended) = stand_in {
            self.stand_in.insert(node, intended);
        }
    }

    /// Records `from`'s answer. Only a pending target's first answer counts; returns whether
    /// this one did.
    pub fn record(&mut self, from: u32, answer: Answer) -> bool {
        match self.targets.get_mut(&from) {
            Some(slot @ Answer::Pending) => {
                if matches!(answer, Answer::Ok(_) | Answer::Digest(_)) {
                    self.order.push(from);
                }
                *slot = answer;
                true
            }
            _ => false,
        }
    }

    /// Successes so far, credit included.
    pub fn successes(&self) -> usize {
        self.order.len() + self.credit
    }

    /// Targets still pending, ascending.
    pub fn pending(&self) -> Vec<u32> {
        self.targets.iter().filter(|(_, a)| **a == Answer::Pending).map(|(&t, _)| t).collect()
    }

    /// Whether every target has answered or failed.
    pub fn complete(&self) -> bool {
        self.targets.values().all(|a| *a != Answer::Pending)
    }

    /// Where the round stands.
    pub fn status(&self) -> Status {
        let data_in = self.data.is_empty() || self.data.iter().any(|&d| self.succeeded(d));
        let data_possible = data_in || self.data.iter().any(|d| self.targets.get(d) == Some(&Answer::Pending));
        if self.successes() >= self.need && data_in {
            Status::Reached
        } else if self.successes() + self.pending().len() < self.need || !data_possible {
            Status::Impossible
        } else {
            Status::Waiting
        }
    }

    /// The successful answers carrying a cell (not digests) in arrival order: `(node, cell)`.
    pub fn answers(&self) -> impl Iterator<Item = (u32, Option<&Cell>)> + '_ {
        self.order.iter().filter_map(move |node| match self.targets.get(node) {
            Some(Answer::Ok(cell)) => Some((*node, cell.as_ref())),
            _ => None,
        })
    }

    /// The successful digest answers in arrival order: `(node, digest)`.
    pub fn digests(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.order.iter().filter_map(move |node| match self.targets.get(node) {
            Some(Answer::Digest(digest)) => Some((*node, *digest)),
            _ => None,
        })
    }

    /// When every target refused definitely (none succeeded, none failed in an unknown way,
    /// none pending, no credit): their reasons, deduplicated and joined. Then the round
    /// certainly had no effect anywhere.
    pub fn refused_by_all(&self) -> Option<String> {
        if self.credit > 0 || self.targets.is_empty() {
            return None;
        }
        let mut reasons: Vec<&str> = Vec::new();
        for answer in self.targets.values() {
            match answer {
                Answer::Refused(reason) => {
                    if !reasons.contains(&reason.as_str()) {
                        reasons.push(reason);
                    }
                }
                Answer::Pending | Answer::Ok(_) | Answer::Digest(_) | Answer::Failed => return None,
            }
        }
        Some(reasons.join("; "))
    }

    /// Whether every answer so far is a definite refusal (no success, no credit, no unknown
    /// failure), so that the round may still end refused by all.
    pub fn only_refusals_so_far(&self) -> bool {
        self.credit == 0 && self.targets.values().all(|a| matches!(a, Answer::Pending | Answer::Refused(_)))
    }

    /// Whether `node` succeeded.
    pub fn succeeded(&self, node: u32) -> bool {
        matches!(self.targets.get(&node), Some(Answer::Ok(_) | Answer::Digest(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quorum_arithmetic() {
        let mut round = Round::new(1, 2, [1, 2, 3]);
        assert_eq!(round.status(), Status::Waiting);
        assert!(round.record(2, Answer::Ok(None)));
        assert!(!round.record(2, Answer::Failed), "a second answer does not count");
        assert!(!round.record(9, Answer::Ok(None)), "strangers do not count");
        assert!(round.record(1, Answer::Failed));
        assert_eq!(round.status(), Status::Waiting);
        assert!(round.record(3, Answer::Failed));
        assert_eq!(round.status(), Status::Impossible);
        assert!(round.complete());

        let mut round = Round::new(3, 1, [1, 2]);
        assert!(round.record(1, Answer::Refused("disk full".into())));
        assert_eq!(round.refused_by_all(), None, "2 is pending");
        assert!(round.record(2, Answer::Refused("disk full".into())));
        assert_eq!(round.status(), Status::Impossible);
        assert_eq!(round.refused_by_all().as_deref(), Some("disk full"));
        let mut mixed = Round::new(4, 1, [1, 2]);
        mixed.record(1, Answer::Refused("disk full".into()));
        mixed.record(2, Answer::Failed);
        assert_eq!(mixed.status(), Status::Impossible);
        assert_eq!(mixed.refused_by_all(), None, "2 may have stored it");

        let mut round = Round::new(2, 2, [1, 2]);
        round.credit = 1;
        round.record(2, Answer::Ok(None));
        assert_eq!(round.status(), Status::Reached);
        assert_eq!(round.pending(), vec![1]);
        assert_eq!(round.answers().map(|(n, _)| n).collect::<Vec<_>>(), vec![2]);
    }

    #[test]
    fn a_mixed_read_needs_a_data_answer() {
        let mut round = Round::new(5, 2, [1, 2, 3]);
        round.data.insert(1);
        round.data.insert(3);
        assert!(round.record(2, Answer::Digest(7)));
        assert!(round.record(1, Answer::Failed));
        assert_eq!(round.status(), Status::Waiting, "3 may still bring the data");
        let mut digests_only = round.clone();
        assert!(round.record(3, Answer::Ok(None)));
        assert_eq!(round.status(), Status::Reached);
        assert_eq!(round.digests().collect::<Vec<_>>(), vec![(2, 7)]);
        assert_eq!(round.answers().map(|(n, _)| n).collect::<Vec<_>>(), vec![3]);
        assert!(digests_only.record(3, Answer::Failed));
        assert_eq!(digests_only.status(), Status::Impossible, "no data can come");
        let mut enough_digests = Round::new(6, 1, [1, 2]);
        enough_digests.data.insert(1);
        enough_digests.record(2, Answer::Digest(1));
        assert_eq!(enough_digests.status(), Status::Waiting, "a digest alone is no value");
    }
}
