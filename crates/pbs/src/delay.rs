//! Message delay distributions: a fixed minimum plus an exponentially distributed remainder,
//! one per WARS message kind.

use std::time::Duration;

use base::Rng;
use serde::{Deserialize, Serialize};

/// A delay: `min` plus an exponential with mean `mean_extra` (zero: exactly `min`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delay {
    /// The smallest delay.
    pub min: Duration,
    /// Mean of the exponential part.
    pub mean_extra: Duration,
}

/// A delay that cannot be sampled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DelayError {
    /// Every delay is zero: events would tie and the order would decide, not the delays.
    #[error("a delay of exactly zero: give it a mean or a minimum")]
    Zero,
    /// Longer than the model allows (an hour).
    #[error("delay {0:?} is longer than an hour")]
    TooLong(Duration),
}

/// Longest minimum or mean accepted.
pub const MAX_DELAY: Duration = Duration::from_secs(3600);

impl Delay {
    /// Exponentially distributed with mean `mean`.
    pub fn exponential(mean: Duration) -> Self {
        Delay { min: Duration::ZERO, mean_extra: mean }
    }

    /// Checks the delay can be sampled.
    pub fn validate(&self) -> Result<(), DelayError> {
        if self.min.is_zero() && self.mean_extra.is_zero() {
            return Err(DelayError::Zero);
        }
        for d in [self.min, self.mean_extra] {
            if d > MAX_DELAY {
                return Err(DelayError::TooLong(d));
            }
        }
        Ok(())
    }

    /// The mean delay.
    pub fn mean(&self) -> Duration {
        self.min.saturating_add(self.mean_extra)
    }

    /// One draw, in nanoseconds (inverse transform of one uniform draw).
    pub fn sample_ns(&self, rng: &mut Rng) -> f64 {
        let u = rng.unit();
        // 1 - u is in (0, 1]: the logarithm is finite.
        let extra = -(1.0 - u).ln() * self.mean_extra.as_nanos() as f64;
        self.min.as_nanos() as f64 + extra
    }
}

/// The four delays of the WARS model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wars {
    /// W: coordinator to replica, carrying the write (including the replica applying it).
    pub write: Delay,
    /// A: replica to coordinator, the write's acknowledgement.
    pub ack: Delay,
    /// R: coordinator to replica, the read request.
    pub read: Delay,
    /// S: replica to coordinator, the read's answer.
    pub response: Delay,
}

impl Wars {
    /// The same delay for every message.
    pub fn uniform(delay: Delay) -> Self {
        Wars { write: delay, ack: delay, read: delay, response: delay }
    }

    /// Checks every delay.
    pub fn validate(&self) -> Result<(), DelayError> {
        [self.write, self.ack, self.read, self.response].iter().try_for_each(Delay::validate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_have_the_configured_mean_and_minimum() {
        let delay = Delay { min: Duration::from_micros(100), mean_extra: Duration::from_millis(2) };
        let mut rng = Rng::new(7);
        let draws: Vec<f64> = (0..200_000).map(|_| delay.sample_ns(&mut rng)).collect();
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((mean - 2_100_000.0).abs() < 2_100_000.0 * 0.01, "mean {mean}");
        assert!(draws.iter().all(|&d| d >= 100_000.0));
        // Exponential: P(extra > mean) = 1/e.
        let above = draws.iter().filter(|&&d| d - 100_000.0 > 2_000_000.0).count() as f64 / draws.len() as f64;
        assert!((above - (-1.0f64).exp()).abs() < 0.005, "{above}");
    }

    #[test]
    fn zero_and_absurd_delays_are_refused() {
        assert_eq!(Delay::exponential(Duration::ZERO).validate(), Err(DelayError::Zero));
        assert!(Delay::exponential(Duration::from_secs(7200)).validate().is_err());
        assert!(Wars::uniform(Delay::exponential(Duration::from_millis(1))).validate().is_ok());
    }
}
