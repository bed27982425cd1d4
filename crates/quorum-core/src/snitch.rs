//! The snitch: in which order a coordinator prefers a key's replicas for reads.
//!
//! Cassandra sorts a read's candidate replicas by proximity (`AbstractReadExecutor`,
//! `ReplicaPlans.forRead`, `IEndpointSnitch.sortedByProximity`): the coordinator itself first
//! when it is a replica (the local node is always "closest", `SimpleSnitch`/`LocalStrategy`),
//! then by the dynamic snitch's scores (`DynamicEndpointSnitch`: recent latency per host, and
//! a host that timed out scores badly). Here the score is an exponentially weighted moving
//! average of the reply latency this node observed from each peer (weight 1/4 for the new
//! sample), a peer never heard from scores zero (it is tried, as Cassandra's snitch has no
//! score to hold against it), and ties keep the preference-list order. Pure and
//! deterministic: integer arithmetic over ordered maps.

use std::collections::BTreeMap;
use std::time::Duration;

/// Latency scores per peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snitch {
    /// Peer -> EWMA of its reply latency, in nanoseconds.
    scores: BTreeMap<u32, u64>,
}

impl Snitch {
    /// A snitch with no observations.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `peer` answered after `latency` (a failure is recorded as a long latency).
    pub fn observe(&mut self, peer: u32, latency: Duration) {
        let sample = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
        let score = self.scores.entry(peer).or_insert(sample);
        *score = (*score / 4).saturating_mul(3).saturating_add(sample / 4);
    }

    /// `peer`'s score (0 when never observed).
    pub fn score(&self, peer: u32) -> u64 {
        self.scores.get(&peer).copied().unwrap_or(0)
    }

    /// The live replicas of `replicas` (a preference list) in read order: `me` first if it is
    /// one, then the others by score, ties in preference order.
    pub fn order(&self, me: u32, replicas: &[u32], live: &dyn Fn(u32) -> bool) -> Vec<u32> {
        let mut others: Vec<(u64, usize, u32)> = replicas
            .iter()
            .enumerate()
            .filter(|&(_, &r)| r != me && live(r))
            .map(|(i, &r)| (self.score(r), i, r))
            .collect();
        others.sort_unstable();
        replicas.iter().copied().filter(|&r| r == me).chain(others.into_iter().map(|(_, _, r)| r)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_first_then_by_latency_then_preference() {
        let mut snitch = Snitch::new();
        let all = |_: u32| true;
        assert_eq!(snitch.order(9, &[3, 1, 2], &all), vec![3, 1, 2], "no scores: preference order");
        assert_eq!(snitch.order(2, &[3, 1, 2], &all), vec![2, 3, 1], "the coordinator first");
        snitch.observe(3, Duration::from_millis(10));
        snitch.observe(1, Duration::from_millis(2));
        assert_eq!(snitch.order(9, &[3, 1, 2], &all), vec![2, 1, 3], "unscored, then fastest");
        snitch.observe(2, Duration::from_millis(5));
        assert_eq!(snitch.order(9, &[3, 1, 2], &all), vec![1, 2, 3]);
        assert_eq!(snitch.order(9, &[3, 1, 2], &|n| n != 1), vec![2, 3], "suspects left out");
        // The average moves a quarter of the way to each new sample.
        for _ in 0..20 {
            snitch.observe(3, Duration::from_millis(1));
        }
        assert_eq!(snitch.order(9, &[3, 1, 2], &all), vec![3, 1, 2]);
    }
}
