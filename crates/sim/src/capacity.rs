//! The per-node capacity model, as the servers use it inside a turmoil host.
//!
//! The model itself is pure and lives in [`base::capacity`] ([`CpuCost`], [`Capacity`],
//! [`Overlap`] and the timelines); it is re-exported here under its old paths. What this module
//! adds is the adapter: [`NodeClock`] takes the runtime's `now` (a [`tokio::time::Instant`],
//! which the server reads) and converts it to the pure model's time, a [`Duration`] of model
//! time (see [`crate::time`]) since the first instant the clock booked, and converts the
//! release time back.
//!
//! Why the first booked instant is the origin: a node's clock lives for one incarnation of its
//! server, inside one host runtime, whose `Instant`s only move forward; every later `now` is at
//! or after the first, so the conversion is exact (nanosecond arithmetic, no rounding) and the
//! timelines book exactly what they booked on `Instant`s.

use std::time::Duration;

use tokio::time::Instant;

pub use base::capacity::{Capacity, CpuCost, Overlap};

/// One node's CPU and disk timelines ([`base::capacity::NodeClock`]) on the runtime's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeClock {
    /// The instant that is time zero for the model: the first `now` booked.
    origin: Option<Instant>,
    model: base::capacity::NodeClock,
}

impl NodeClock {
    /// An idle node.
    pub fn new(overlap: Overlap) -> Self {
        NodeClock { origin: None, model: base::capacity::NodeClock::new(overlap) }
    }

    /// [`base::capacity::NodeClock::book`] at `now`: when the call's effects may go out, or
    /// `None` for at once.
    pub fn book(&mut self, now: Instant, cpu: Duration, disk: Duration) -> Option<Instant> {
        let (origin, since) = self.since_origin(now);
        self.model.book(since, cpu, disk).map(|done| at(origin, done))
    }

    /// [`base::capacity::NodeClock::book_disk`] at `now`: when the background disk work is
    /// done, `None` for at once.
    pub fn book_disk(&mut self, now: Instant, disk: Duration) -> Option<Instant> {
        let (origin, since) = self.since_origin(now);
        self.model.book_disk(since, disk).map(|done| at(origin, done))
    }

    /// The origin (fixed on first use) and `now` as model time since it.
    fn since_origin(&mut self, now: Instant) -> (Instant, Duration) {
        let origin = *self.origin.get_or_insert(now);
        (origin, crate::time::to_model(now.saturating_duration_since(origin)))
    }
}

/// The instant `since` (model time) after `origin`; an absurd time (a saturated cost) is capped
/// a year of simulated time on rather than overflow the clock.
fn at(origin: Instant, since: Duration) -> Instant {
    origin.checked_add(crate::time::to_sim(since)).unwrap_or(origin + Duration::from_secs(365 * 24 * 3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    #[test]
    fn books_on_instants_as_the_model_books_on_durations() {
        let t0 = Instant::now();
        let mut clock = NodeClock::new(Overlap::Pipelined);
        let mut model = base::capacity::NodeClock::new(Overlap::Pipelined);
        let base = us(3);
        for (at, cpu, disk) in [(3u64, 10u64, 100u64), (13, 10, 100), (13, 10, 0), (18, 0, 0), (43, 0, 0)] {
            let expected = model.book(us(at) - base, us(cpu), us(disk)).map(|d| t0 + base + d);
            assert_eq!(clock.book(t0 + us(at), us(cpu), us(disk)), expected, "at {at}");
        }
        let expected = model.book_disk(us(40), us(5)).map(|d| t0 + base + d);
        assert_eq!(clock.book_disk(t0 + us(43), us(5)), expected);
        assert_eq!(clock.book_disk(t0 + us(43), Duration::ZERO), None);
    }
}
