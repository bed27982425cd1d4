//! Model time on a dilated simulation clock: how the lab sees costs far below a millisecond.
//!
//! tokio's timers have a resolution of one millisecond, and turmoil moves every host's clock
//! by whole ticks through them: a shorter turmoil tick still advances each host by 1 ms per
//! step (measured with turmoil 0.7.2). A 150 us fsync would therefore cost a whole millisecond
//! whenever one operation is timed on its own, and `synchronous=FULL` would look exactly like
//! `OFF`.
//!
//! So the simulation runs **dilated**: with a scale of `s`, one millisecond of simulated
//! (turmoil/tokio) time stands for `1 ms / s` of model time, the time the system under test
//! lives in. Every duration the model speaks of (a disk or CPU cost, a timeout, a sync
//! period, a network latency, a fault's time) is multiplied by `s` on its way into the
//! simulation ([`to_sim`]), and every time read back ([`now`], history timestamps, the run's
//! elapsed time) is divided by `s` ([`to_model`]). The step stays one tokio millisecond, which
//! is `1 ms / s` of model time: the **resolution** ([`SimConfig::tick`](crate::SimConfig::tick)).
//! A cost is rounded up to the next step, so a single operation's cost is seen to within one
//! resolution: at 5 us, a 20 us cost within 25 % and anything from 50 us within 10 %.
//!
//! The price is steps: a run of `d` model seconds takes `d * s * 1000` steps, and turmoil's
//! cost is per step and host. Experiments choose their resolution (the default stays 1 ms,
//! scale 1, which is exactly the old behaviour); the durability and latency experiments use a
//! fine one.
//!
//! The scale is per thread (turmoil runs a whole simulation on the thread that steps it):
//! [`run`](crate::run()) sets it for the run and restores it after ([`Dilation`]). Code outside a
//! run (a store's own turmoil tests) sees scale 1. Servers and clients never call
//! `tokio::time` for model durations directly: they call [`sleep`], [`sleep_until`],
//! [`timeout`] and [`deadline`] here.

use std::cell::Cell;
use std::future::Future;
use std::time::Duration;

/// The simulated (tokio) time one step advances: tokio's timer resolution.
pub const STEP: Duration = Duration::from_millis(1);

/// The largest scale: a resolution of 1 us.
pub const MAX_SCALE: u32 = 1_000;

thread_local! {
    static SCALE: Cell<u32> = const { Cell::new(1) };
}

/// The current thread's scale: simulated nanoseconds per model nanosecond (1 outside a run).
pub fn scale() -> u32 {
    SCALE.with(Cell::get)
}

/// The scale for a resolution (model time per step): `1 ms / resolution`, when that is a whole
/// number from 1 to [`MAX_SCALE`]; `None` otherwise.
pub fn scale_for(resolution: Duration) -> Option<u32> {
    let nanos = resolution.as_nanos();
    if nanos == 0 || !STEP.as_nanos().is_multiple_of(nanos) {
        return None;
    }
    u32::try_from(STEP.as_nanos() / nanos).ok().filter(|s| (1..=MAX_SCALE).contains(s))
}

/// Sets the thread's scale while it lives, and restores the previous one when dropped.
#[derive(Debug)]
pub struct Dilation {
    previous: u32,
}

impl Dilation {
    /// Dilates this thread's simulated time by `scale` (clamped to 1..=[`MAX_SCALE`]).
    pub fn new(scale: u32) -> Self {
        let previous = SCALE.with(|s| s.replace(scale.clamp(1, MAX_SCALE)));
        Dilation { previous }
    }
}

impl Drop for Dilation {
    fn drop(&mut self) {
        SCALE.with(|s| s.set(self.previous));
    }
}

/// A model duration as simulated time (saturating at `Duration::MAX`).
pub fn to_sim(model: Duration) -> Duration {
    model.checked_mul(scale()).unwrap_or(Duration::MAX)
}

/// A simulated duration as model time (to the nanosecond below).
pub fn to_model(sim: Duration) -> Duration {
    sim / scale()
}

/// Model time since the start of the simulation, as seen by the host running the caller;
/// `None` outside a turmoil host.
pub fn try_now() -> Option<Duration> {
    turmoil::sim_elapsed().map(to_model)
}

/// Model time since the start of the simulation (zero outside a turmoil host).
pub fn now() -> Duration {
    try_now().unwrap_or_default()
}

/// Sleeps `model` of model time.
pub async fn sleep(model: Duration) {
    tokio::time::sleep(to_sim(model)).await;
}

/// Sleeps until model time `at` (since the start of the simulation); at once when it passed.
pub async fn sleep_until(at: Duration) {
    sleep(at.saturating_sub(now())).await;
}

/// The runtime instant `model` of model time from now (for `tokio::time::sleep_until` and
/// `timeout_at`), capped a year of simulated time on rather than overflow.
pub fn deadline(model: Duration) -> tokio::time::Instant {
    let now = tokio::time::Instant::now();
    now.checked_add(to_sim(model)).unwrap_or(now + Duration::from_secs(365 * 24 * 3600))
}

/// `future`, unless `model` of model time passes first.
pub async fn timeout<F: Future>(model: Duration, future: F) -> Result<F::Output, tokio::time::error::Elapsed> {
    tokio::time::timeout_at(deadline(model), future).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_for_accepts_whole_divisors_of_a_millisecond() {
        assert_eq!(scale_for(Duration::from_millis(1)), Some(1));
        assert_eq!(scale_for(Duration::from_micros(5)), Some(200));
        assert_eq!(scale_for(Duration::from_micros(1)), Some(1000));
        assert_eq!(scale_for(Duration::from_micros(3)), None, "1 ms is not a whole number of 3 us");
        assert_eq!(scale_for(Duration::from_millis(2)), None, "coarser than tokio's timer");
        assert_eq!(scale_for(Duration::from_nanos(500)), None, "finer than the largest scale");
        assert_eq!(scale_for(Duration::ZERO), None);
    }

    #[test]
    fn dilation_converts_both_ways_and_restores() {
        assert_eq!(scale(), 1);
        {
            let _outer = Dilation::new(200);
            assert_eq!(to_sim(Duration::from_micros(150)), Duration::from_millis(30));
            assert_eq!(to_model(Duration::from_millis(3)), Duration::from_micros(15));
            {
                let _inner = Dilation::new(10);
                assert_eq!(scale(), 10);
            }
            assert_eq!(scale(), 200);
            assert_eq!(to_sim(Duration::MAX), Duration::MAX, "saturates");
        }
        assert_eq!(scale(), 1);
        assert_eq!(to_sim(Duration::from_micros(150)), Duration::from_micros(150));
    }

    #[test]
    fn outside_a_host_now_is_none() {
        assert_eq!(try_now(), None);
        assert_eq!(now(), Duration::ZERO);
    }
}
