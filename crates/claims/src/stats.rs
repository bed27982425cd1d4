//! A figure measured on several seeds, and when it decides a verdict.
//!
//! Every figure behind a verdict is an [`Estimate`] over seeds: the mean as point estimate, the
//! min-max, and a 95 % confidence interval for the mean from Student's t distribution (`mean ±
//! t(0.975, n-1) · s / √n`, `s` the sample standard deviation). The seeds are independent runs
//! of the same experiment, so t is the textbook interval for their mean; it assumes roughly
//! normal per-seed figures, which a bootstrap would not, but a bootstrap over five seeds can
//! only resample five values and gives intervals that are too narrow. A figure decides a
//! comparison only when its whole interval lies on one side of the threshold ([`Side`]);
//! otherwise it straddles it, and [`Estimate::seeds_to_resolve`] says how many seeds would put
//! the interval on one side if the mean and spread stayed as measured.
//!
//! One seed has no spread: its interval is unbounded and it decides nothing.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

/// Student's t quantile t(0.975, df) for df = 1..=30 (standard tables).
const T_975: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
    2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/// t(0.975, df): the table up to 30 degrees of freedom, then 1.96 + 2.4 / df (within 0.0025 of
/// the exact quantile from 31 on).
pub fn t_975(df: usize) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T_975[df - 1],
        _ => 1.96 + 2.4 / df as f64,
    }
}

/// A figure over seeds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// The figure of each seed.
    pub by_seed: BTreeMap<u64, f64>,
    /// The mean (the point estimate).
    pub mean: f64,
    /// The smallest seed's figure.
    pub min: f64,
    /// The largest.
    pub max: f64,
    /// The 95 % interval's lower end (`-inf` for one seed).
    pub lo: f64,
    /// Its upper end (`+inf` for one seed).
    pub hi: f64,
}

/// Where an estimate lies against a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The whole interval is above it.
    Above,
    /// The whole interval is below it.
    Below,
    /// The interval contains it: the seeds do not decide.
    Straddles,
}

impl Estimate {
    /// The estimate of `by_seed`'s figures; `None` when there is none. Non-finite figures are
    /// left out (a figure that could not be computed is not a measurement).
    pub fn of(by_seed: BTreeMap<u64, f64>) -> Option<Estimate> {
        let by_seed: BTreeMap<u64, f64> = by_seed.into_iter().filter(|(_, v)| v.is_finite()).collect();
        let n = by_seed.len();
        if n == 0 {
            return None;
        }
        let values: Vec<f64> = by_seed.values().copied().collect();
        let mean = values.iter().sum::<f64>() / n as f64;
        let min = values.iter().copied().fold(f64::INFINITY, f64::min);
        let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let half = half_width(&values, mean);
        Some(Estimate { by_seed, mean, min, max, lo: mean - half, hi: mean + half })
    }

    /// The estimate of `(seed, figure)` pairs (a seed given twice keeps its last figure).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (u64, f64)>) -> Option<Estimate> {
        Estimate::of(pairs.into_iter().collect())
    }

    /// The estimate with its interval cut to the figure's possible range `[min, max]` (a share
    /// cannot pass 100 %, a duration cannot be negative): the t interval knows no bounds.
    pub fn within(mut self, min: f64, max: f64) -> Estimate {
        self.lo = self.lo.max(min);
        self.hi = self.hi.min(max);
        self
    }

    /// The number of seeds.
    pub fn n(&self) -> usize {
        self.by_seed.len()
    }

    /// The seeds.
    pub fn seeds(&self) -> Vec<u64> {
        self.by_seed.keys().copied().collect()
    }

    /// The sample standard deviation (0 for one seed).
    pub fn sd(&self) -> f64 {
        let n = self.n();
        if n < 2 {
            return 0.0;
        }
        let var = self.by_seed.values().map(|v| (v - self.mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        var.sqrt()
    }

    /// Where the interval lies against `threshold` (an interval touching it straddles it).
    pub fn side(&self, threshold: f64) -> Side {
        if self.lo > threshold {
            Side::Above
        } else if self.hi < threshold {
            Side::Below
        } else if self.lo == self.hi && self.mean != threshold {
            // A zero-width interval (every seed the same) is on the side of its value.
            if self.mean > threshold {
                Side::Above
            } else {
                Side::Below
            }
        } else {
            Side::Straddles
        }
    }

    /// The number of seeds that would put the interval on one side of `threshold`, if the mean
    /// and standard deviation stayed as measured; `None` when no number would (the mean is the
    /// threshold) or the spread is unknown (one seed: run at least one more first).
    pub fn seeds_to_resolve(&self, threshold: f64) -> Option<usize> {
        let gap = (self.mean - threshold).abs();
        let sd = self.sd();
        if self.n() < 2 || gap == 0.0 {
            return None;
        }
        (self.n().max(2)..=100_000).find(|&n| t_975(n - 1) * sd / (n as f64).sqrt() < gap)
    }

    /// `0.903 (0.899-0.912 over seeds 1-5; 95 % CI 0.897-0.909)`, numbers by `show`.
    pub fn text_with(&self, show: impl Fn(f64) -> String) -> String {
        let seeds = crate::ledger::seeds(&self.seeds());
        if self.n() == 1 {
            return format!("{} ({seeds}, no spread)", show(self.mean));
        }
        format!(
            "{} (min-max {}-{} over {seeds}; 95 % CI {}-{})",
            show(self.mean),
            show(self.min),
            show(self.max),
            show(self.lo),
            show(self.hi)
        )
    }

    /// Why this estimate does not decide against `threshold`, with what would.
    pub fn undecided(&self, what: &str, threshold: f64, show: impl Fn(f64) -> String + Copy) -> String {
        let need = match self.seeds_to_resolve(threshold) {
            _ if self.n() < 2 => "a second seed at least, to measure the spread".to_owned(),
            Some(n) => format!("about {n} seeds would resolve it at this spread"),
            None if self.mean == threshold => "no number of seeds resolves it: the mean is the threshold".to_owned(),
            None => "more than 100000 seeds would be needed at this spread".to_owned(),
        };
        format!("{what} {} straddles {} ({need})", self.text_with(show), show(threshold))
    }
}

impl fmt::Display for Estimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text_with(|v| format!("{v:.3}")))
    }
}

/// The most undecided figures [`resolve`] tries every resolution of (2^12 evaluations).
pub const MAX_UNDECIDED: usize = 12;

/// The outcome `kind` gives whatever side each undecided figure falls on: `sides` are the
/// figures' sides against their thresholds, and every [`Side::Straddles`] is tried as
/// [`Side::Above`] and as [`Side::Below`] in every combination. `Some` when all combinations
/// agree (the verdict does not depend on the undecided figures), `None` when they do not or
/// when more than [`MAX_UNDECIDED`] figures are undecided.
pub fn resolve<K: PartialEq>(sides: &[Side], kind: impl Fn(&[Side]) -> K) -> Option<K> {
    let open: Vec<usize> = sides.iter().enumerate().filter(|(_, s)| **s == Side::Straddles).map(|(i, _)| i).collect();
    if open.len() > MAX_UNDECIDED {
        return None;
    }
    let mut agreed: Option<K> = None;
    let mut trial = sides.to_vec();
    for mask in 0u32..(1 << open.len()) {
        for (bit, &i) in open.iter().enumerate() {
            trial[i] = if mask >> bit & 1 == 1 { Side::Above } else { Side::Below };
        }
        let outcome = kind(&trial);
        match &agreed {
            None => agreed = Some(outcome),
            Some(first) if *first != outcome => return None,
            Some(_) => {}
        }
    }
    agreed
}

fn half_width(values: &[f64], mean: f64) -> f64 {
    let n = values.len();
    if n < 2 {
        return f64::INFINITY;
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    t_975(n - 1) * var.sqrt() / (n as f64).sqrt()
}

/// A safety property (no violation, no lost write) counted over seeds: how many seeds were
/// judged, how many violated it, and how many could not be judged.
///
/// One violation is a counterexample and refutes the property outright, whatever the other
/// seeds say. No violation is evidence, not proof: it is reported with the 95 % upper bound on
/// the per-seed violation rate (`1 - 0.05^(1/n)`, the exact one-sided binomial bound for zero
/// events in `n` trials; about 3/n, "the rule of three"), and a claim registers how many clean
/// seeds it needs before it says "holds".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counted {
    /// Seeds judged (decided).
    pub judged: Vec<u64>,
    /// Of those, the seeds that violated the property.
    pub violating: Vec<u64>,
    /// Seeds that ran but could not be judged (checker unknown, a key without a final read).
    pub unjudged: Vec<u64>,
    /// Seeds whose run failed.
    pub failed: Vec<u64>,
}

impl Counted {
    /// The seeds that leave the property open (unjudged or failed).
    pub fn unknown(&self) -> usize {
        self.unjudged.len() + self.failed.len()
    }

    /// The 95 % upper bound on the violation rate per seed when no seed violated.
    pub fn rate_bound(&self) -> f64 {
        match self.judged.len() {
            0 => 1.0,
            n => 1.0 - 0.05f64.powf(1.0 / n as f64),
        }
    }

    /// `violated on seeds 2,4 of 1-5` or `clean on seeds 1-5 (violation rate < 45.1 % per seed
    /// at 95 %)`, with the unknown seeds.
    pub fn text(&self) -> String {
        use crate::ledger::{percent, seeds};
        let mut text = if self.violating.is_empty() {
            format!("clean on {} (rate < {} per seed at 95 %)", seeds(&self.judged), percent(self.rate_bound()))
        } else {
            format!("violated on {} of {}", seeds(&self.violating), self.judged.len())
        };
        if !self.unjudged.is_empty() {
            text.push_str(&format!("; unjudged on {}", seeds(&self.unjudged)));
        }
        if !self.failed.is_empty() {
            text.push_str(&format!("; run failed on {}", seeds(&self.failed)));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est(values: &[f64]) -> Estimate {
        Estimate::from_pairs(values.iter().enumerate().map(|(i, v)| (i as u64 + 1, *v))).expect("values")
    }

    #[test]
    fn the_interval_is_students_t() {
        // Seeds 2-6 of the audit's 9-node ALL efficiency.
        let e = est(&[0.899, 0.905, 0.912, 0.903, 0.908]);
        assert!((e.mean - 0.9054).abs() < 1e-9);
        let half = 2.776 * e.sd() / 5f64.sqrt();
        assert!((e.hi - e.lo - 2.0 * half).abs() < 1e-12);
        assert_eq!((e.min, e.max), (0.899, 0.912));
        assert_eq!(e.side(0.9), Side::Straddles, "{e}");
        assert_eq!(e.side(0.8), Side::Above);
        assert_eq!(e.side(0.95), Side::Below);
    }

    #[test]
    fn a_seed_flipping_figure_is_undecided_and_says_what_resolves_it() {
        let e = est(&[0.899, 0.905, 0.912, 0.903, 0.908]);
        let n = e.seeds_to_resolve(0.9).expect("resolvable");
        assert!(n > 5, "{n}");
        // With n seeds at the same mean and spread the interval clears 0.9.
        let half = t_975(n - 1) * e.sd() / (n as f64).sqrt();
        assert!(e.mean - half > 0.9);
        assert!(e.undecided("efficiency", 0.9, |v| format!("{v:.3}")).contains(&format!("about {n} seeds")));
    }

    #[test]
    fn one_seed_decides_nothing_and_identical_seeds_decide() {
        let one = est(&[0.95]);
        assert_eq!(one.side(0.9), Side::Straddles);
        assert_eq!(one.seeds_to_resolve(0.9), None);
        assert!(one.undecided("x", 0.9, |v| format!("{v}")).contains("second seed"));
        let same = est(&[1.0, 1.0, 1.0]);
        assert_eq!(same.side(0.95), Side::Above);
        assert_eq!(same.side(1.0), Side::Straddles);
        let zero = est(&[0.0, 0.0]);
        assert_eq!(zero.side(0.95), Side::Below);
        let share = est(&[0.6, 0.99, 0.95]).within(0.0, 1.0);
        assert!(share.hi <= 1.0 && share.lo >= 0.0, "{share}");
    }

    #[test]
    fn a_verdict_is_reached_only_when_no_undecided_figure_could_change_it() {
        use Side::{Above, Below, Straddles};
        let any_below = |s: &[Side]| s.contains(&Below);
        assert_eq!(resolve(&[Below, Straddles], any_below), Some(true), "a decided miss settles it");
        assert_eq!(resolve(&[Above, Straddles], any_below), None, "the open figure decides");
        assert_eq!(resolve(&[Above, Above], any_below), Some(false));
        assert_eq!(resolve(&[Straddles; MAX_UNDECIDED + 1], |_| 0), None, "too many to try");
    }

    #[test]
    fn t_quantiles_fall_towards_the_normal() {
        assert_eq!(t_975(4), 2.776);
        assert!((t_975(40) - 2.021).abs() < 0.002);
        assert!((t_975(120) - 1.980).abs() < 0.002);
        assert!(t_975(0).is_infinite());
        assert!(Estimate::of(BTreeMap::new()).is_none());
        assert!(Estimate::from_pairs([(1, f64::NAN)]).is_none());
    }

    #[test]
    fn a_clean_count_bounds_the_rate_by_the_rule_of_three() {
        let c = Counted { judged: (1..=5).collect(), ..Counted::default() };
        assert!((c.rate_bound() - 0.4507).abs() < 1e-3);
        assert!(c.text().starts_with("clean on seeds 1-5"), "{}", c.text());
        let v = Counted { judged: (1..=5).collect(), violating: vec![2], unjudged: vec![6], failed: vec![] };
        assert_eq!(v.text(), "violated on seed 2 of 5; unjudged on seed 6");
        assert_eq!(v.unknown(), 1);
    }
}
