//! The WARS model of PBS: from delay distributions alone, the probability that a read started
//! `t` after a write committed returns it.
//!
//! One sample: replica `i` receives the write after `w_i` and its acknowledgement reaches the
//! coordinator after `w_i + a_i`; the write commits at the W-th smallest of those. The read
//! leaves at `commit + t`, reaches replica `i` after `r_i` and its answer returns after
//! `s_i`; the coordinator takes the first R answers. Replica `i` answers with the write when
//! the write reached it first (`w_i <= commit + t + r_i`). The read returns the write when any
//! of the first R answers carries it. Every delay is drawn independently; reads go to all N
//! replicas, as in the paper's model and in this store.

use std::time::Duration;

use base::Rng;
use serde::{Deserialize, Serialize};

use crate::delay::Wars;

/// N, R and W.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Quorums {
    /// Replicas per key.
    pub n: usize,
    /// Read answers awaited.
    pub r: usize,
    /// Write acknowledgements awaited.
    pub w: usize,
}

impl Quorums {
    /// Whether every read quorum meets every write quorum (R + W > N): then no read is stale.
    pub fn strict(&self) -> bool {
        self.r + self.w > self.n
    }

    /// Whether `1 <= R, W <= N`.
    pub fn valid(&self) -> bool {
        (1..=self.n).contains(&self.r) && (1..=self.n).contains(&self.w)
    }
}

impl std::fmt::Display for Quorums {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "N={} R={} W={}", self.n, self.r, self.w)
    }
}

/// `C(n, k)` as a float (0 when `k > n`).
fn choose(n: usize, k: usize) -> f64 {
    if k > n {
        return 0.0;
    }
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// The chance that a read quorum of R replicas, chosen uniformly, misses all W replicas that
/// have the write: `C(N-W, R) / C(N, R)` (PBS's `p_s`). It is the staleness right after the
/// commit when nothing has propagated beyond the W replicas; propagation only lowers it.
pub fn miss_probability(q: Quorums) -> f64 {
    choose(q.n.saturating_sub(q.w), q.r) / choose(q.n, q.r)
}

/// The model's probability that a read started `t` after the commit returns the write, from
/// `samples` Monte Carlo draws seeded with `seed`.
pub fn predict(q: Quorums, delays: &Wars, t: Duration, samples: u64, seed: u64) -> f64 {
    if samples == 0 || !q.valid() {
        return f64::NAN;
    }
    let mut rng = Rng::new(seed);
    let t = t.as_nanos() as f64;
    let mut fresh = 0u64;
    let mut acks = vec![0.0f64; q.n];
    let mut writes = vec![0.0f64; q.n];
    let mut answers: Vec<(f64, bool)> = Vec::with_capacity(q.n);
    for _ in 0..samples {
        for i in 0..q.n {
            writes[i] = delays.write.sample_ns(&mut rng);
            acks[i] = writes[i] + delays.ack.sample_ns(&mut rng);
        }
        let mut sorted = acks.clone();
        sorted.sort_by(f64::total_cmp);
        let commit = sorted[q.w - 1];
        let sent = commit + t;
        answers.clear();
        for &write in &writes {
            let arrives = sent + delays.read.sample_ns(&mut rng);
            let back = arrives + delays.response.sample_ns(&mut rng);
            answers.push((back, write <= arrives));
        }
        answers.sort_by(|a, b| a.0.total_cmp(&b.0));
        if answers[..q.r].iter().any(|&(_, has)| has) {
            fresh += 1;
        }
    }
    fresh as f64 / samples as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delay::Delay;

    fn q(n: usize, r: usize, w: usize) -> Quorums {
        Quorums { n, r, w }
    }

    #[test]
    fn miss_probability_matches_the_paper() {
        assert!((miss_probability(q(3, 1, 1)) - 2.0 / 3.0).abs() < 1e-12);
        assert!((miss_probability(q(3, 1, 2)) - 1.0 / 3.0).abs() < 1e-12);
        assert!((miss_probability(q(5, 1, 1)) - 0.8).abs() < 1e-12);
        assert_eq!(miss_probability(q(3, 2, 2)), 0.0);
        // The paper's N=100, R=W=30: 1.88e-6.
        let p = miss_probability(q(100, 30, 30));
        assert!((p - 1.88e-6).abs() < 0.01e-6, "{p}");
    }

    #[test]
    fn strict_quorums_are_never_stale() {
        let delays = Wars::uniform(Delay::exponential(Duration::from_millis(1)));
        for (n, r, w) in [(3, 2, 2), (3, 1, 3), (3, 3, 1), (5, 3, 3)] {
            assert_eq!(predict(q(n, r, w), &delays, Duration::ZERO, 20_000, 1), 1.0);
        }
    }

    #[test]
    fn nothing_propagated_gives_the_closed_form() {
        // Writes take about a second, everything else a microsecond: at t = 0 only the W
        // replicas that acknowledged hold the write, and the read's first R answers come from
        // replicas in uniformly random order.
        let delays = Wars {
            write: Delay::exponential(Duration::from_secs(1)),
            ack: Delay::exponential(Duration::from_micros(1)),
            read: Delay::exponential(Duration::from_micros(1)),
            response: Delay::exponential(Duration::from_micros(1)),
        };
        for quorums in [q(3, 1, 1), q(3, 1, 2), q(3, 2, 1), q(5, 1, 1)] {
            let fresh = predict(quorums, &delays, Duration::ZERO, 100_000, 2);
            let expected = 1.0 - miss_probability(quorums);
            assert!((fresh - expected).abs() < 0.01, "{quorums}: {fresh} vs {expected}");
        }
    }

    #[test]
    fn staleness_fades_with_time() {
        let delays = Wars::uniform(Delay::exponential(Duration::from_millis(1)));
        let at = |ms: u64| predict(q(3, 1, 1), &delays, Duration::from_millis(ms), 50_000, 3);
        let (p0, p2, p20) = (at(0), at(2), at(20));
        assert!(p0 > 1.0 - miss_probability(q(3, 1, 1)), "propagation helps even at t = 0: {p0}");
        assert!(p0 < p2 && p2 < p20, "{p0} {p2} {p20}");
        assert!(p20 > 0.9999, "{p20}");
    }

    #[test]
    fn deterministic_per_seed() {
        let delays = Wars::uniform(Delay::exponential(Duration::from_millis(1)));
        let a = predict(q(3, 1, 1), &delays, Duration::ZERO, 10_000, 9);
        assert_eq!(a, predict(q(3, 1, 1), &delays, Duration::ZERO, 10_000, 9));
        assert!(predict(q(3, 0, 1), &delays, Duration::ZERO, 10, 9).is_nan());
    }
}
