//! Whether a sweep point measured steady state: its measurement window cut into sub-windows
//! whose throughput and p99 latency must not drift (bounds: [`Stability`], registered in the
//! scaling file's `[stability]` before any point is classified). Pure, so it is tested on
//! hand-made histories.
//!
//! A closed loop past its capacity either settles (every client waits in a longer queue, and
//! throughput and latency stay flat: stable, and the point still counts) or keeps drifting: a
//! queue that grows through the window (work a coordinator acknowledged early and still owes
//! its replicas, a disk falling behind) raises the p99 sub-window after sub-window, and a stall
//! or a collapse shows as uneven throughput. Such a point measured a transient, not the
//! system's throughput: the report calls it `overloaded` and leaves it out of saturation.

use std::time::Duration;

use history::{Event, EventType};
use serde::Serialize;

use crate::run::measure::operations;
use experiment::scaling::Stability;

/// What the classifier found in one point's window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Steadiness {
    /// The sub-windows' ok completions: population standard deviation over mean (`None` when
    /// nothing completed ok).
    pub throughput_cv: Option<f64>,
    /// The last sub-window's p99 over the first's (`None` when either has no ok operation).
    pub p99_growth: Option<f64>,
    /// Operations invoked in the window that ended refused (`fail`), over those invoked.
    pub refused_share: f64,
    /// Every bound held.
    pub stable: bool,
}

/// The p99 (nearest rank) of `latencies`, which it sorts; `None` for none.
fn p99(latencies: &mut [u64]) -> Option<u64> {
    latencies.sort_unstable();
    let last = latencies.len().checked_sub(1)?;
    let rank = ((0.99 * latencies.len() as f64).ceil() as usize).saturating_sub(1).min(last);
    Some(latencies[rank])
}

/// Classifies the window `[warmup, warmup + measure)` of `history` against `bounds`: ok
/// completions counted in the sub-window they complete in, latencies of ok operations in the
/// sub-window they were invoked in, refusals (`fail`) against the operations invoked in the
/// window.
pub fn classify(history: &[Event], warmup: Duration, measure: Duration, bounds: &Stability) -> Steadiness {
    let k = bounds.windows.max(1);
    let width = measure.as_nanos().max(1) / k as u128;
    let start = warmup.as_nanos();
    let end = start + width * k as u128;
    let slot = |t: u128| (t >= start && t < end).then(|| ((t - start) / width.max(1)) as usize);
    let mut completions = vec![0u64; k];
    let mut latencies: Vec<Vec<u64>> = vec![Vec::new(); k];
    let (mut invoked, mut refused) = (0u64, 0u64);
    for op in operations(history) {
        let invoked_at = u128::from(op.invoke.time.unwrap_or(0));
        let invoked_slot = slot(invoked_at);
        if invoked_slot.is_some() {
            invoked += 1;
        }
        let Some(done) = op.completion else { continue };
        if done.kind == EventType::Fail && invoked_slot.is_some() {
            refused += 1;
        }
        if done.kind != EventType::Ok {
            continue;
        }
        let done_at = u128::from(done.time.unwrap_or(0));
        if let Some(i) = slot(done_at) {
            completions[i] += 1;
        }
        if let Some(i) = invoked_slot {
            latencies[i].push(u64::try_from(done_at.saturating_sub(invoked_at)).unwrap_or(u64::MAX));
        }
    }
    let mean = completions.iter().sum::<u64>() as f64 / k as f64;
    let throughput_cv = (mean > 0.0).then(|| {
        let variance = completions.iter().map(|c| (*c as f64 - mean).powi(2)).sum::<f64>() / k as f64;
        variance.sqrt() / mean
    });
    let first = p99(&mut latencies[0]);
    let last = p99(&mut latencies[k - 1]);
    let p99_growth = match (first, last) {
        (Some(first), Some(last)) if first > 0 => Some(last as f64 / first as f64),
        (Some(0), Some(last)) => Some(if last == 0 { 1.0 } else { f64::INFINITY }),
        _ => None,
    };
    let refused_share = if invoked > 0 { refused as f64 / invoked as f64 } else { 0.0 };
    let stable = throughput_cv.is_some_and(|cv| cv <= bounds.max_cv)
        && p99_growth.is_some_and(|g| g <= bounds.max_p99_growth)
        && refused_share <= bounds.max_refused_share;
    Steadiness { throughput_cv, p99_growth, refused_share, stable }
}

#[cfg(test)]
mod tests {
    use history::{Process, Value};

    use super::*;

    fn event(process: u64, kind: EventType, at_us: u64) -> Event {
        let mut e = Event::new(Process::Client(process), kind, "write", Value::Nil);
        e.time = Some(at_us * 1_000);
        e
    }

    /// One closed-loop client per process: each operation starts when the previous one ends,
    /// its latency (us) given by `latency(invoked_at_us)`, its outcome by `kind(invoked_at_us)`,
    /// from 0 to `until_ms`.
    fn closed_loop(
        clients: u64,
        until_ms: u64,
        latency: impl Fn(u64) -> u64,
        kind: impl Fn(u64) -> EventType,
    ) -> Vec<Event> {
        let mut events = Vec::new();
        for c in 0..clients {
            let mut t = c * 7; // staggered starts
            while t < until_ms * 1_000 {
                let done = t + latency(t).max(1);
                events.push(event(c, EventType::Invoke, t));
                events.push(event(c, kind(t), done));
                t = done;
            }
        }
        events.sort_by_key(|e| e.time);
        events
    }

    fn window() -> (Duration, Duration) {
        (Duration::from_millis(100), Duration::from_millis(500))
    }

    #[test]
    fn a_flat_run_is_stable() {
        let history = closed_loop(20, 700, |_| 2_000, |_| EventType::Ok);
        let (warmup, measure) = window();
        let s = classify(&history, warmup, measure, &Stability::DEFAULT);
        assert!(s.stable, "{s:?}");
        assert!(s.throughput_cv.is_some_and(|cv| cv < 0.02), "{s:?}");
        assert!(s.p99_growth.is_some_and(|g| (g - 1.0).abs() < 1e-9), "{s:?}");
    }

    #[test]
    fn latency_growing_through_the_window_is_overloaded() {
        // A queue that grows: latency 2 ms at the start of the window, 2 ms more every 100 ms
        // (6 ms by its end), while each client still completes about as often.
        let history = closed_loop(20, 700, |t| 2_000 + t * 2 / 100, |_| EventType::Ok);
        let (warmup, measure) = window();
        let s = classify(&history, warmup, measure, &Stability::DEFAULT);
        assert!(!s.stable, "{s:?}");
        assert!(s.p99_growth.is_some_and(|g| g > 1.5), "the p99 grows: {s:?}");
        // With a bound that allows it, the same run passes: the growth is what failed it.
        let loose = Stability { max_p99_growth: 10.0, max_cv: 1.0, ..Stability::DEFAULT };
        assert!(classify(&history, warmup, measure, &loose).stable);
    }

    #[test]
    fn a_throughput_collapse_is_overloaded() {
        // From 400 ms on, every operation takes 50 ms instead of 2 (a stall): the throughput
        // falls 25-fold for the window's second half.
        let history = closed_loop(20, 700, |t| if t >= 400_000 { 50_000 } else { 2_000 }, |_| EventType::Ok);
        let (warmup, measure) = window();
        let s = classify(&history, warmup, measure, &Stability::DEFAULT);
        assert!(!s.stable, "{s:?}");
        assert!(s.throughput_cv.is_some_and(|cv| cv > 0.1), "uneven throughput: {s:?}");
        // Only the throughput bound: still overloaded.
        let cv_only = Stability { max_p99_growth: 1e9, ..Stability::DEFAULT };
        assert!(!classify(&history, warmup, measure, &cv_only).stable);
    }

    #[test]
    fn refusals_past_their_share_are_overloaded() {
        // Every tenth operation refused (admission control), throughput and latency flat.
        let history =
            closed_loop(20, 700, |_| 2_000, |t| if (t / 2_000) % 10 == 0 { EventType::Fail } else { EventType::Ok });
        let (warmup, measure) = window();
        let s = classify(&history, warmup, measure, &Stability::DEFAULT);
        assert!(s.refused_share > 0.05, "{s:?}");
        assert!(!s.stable, "{s:?}");
        let lenient = Stability { max_refused_share: 0.5, ..Stability::DEFAULT };
        assert!(classify(&history, warmup, measure, &lenient).stable);
    }

    #[test]
    fn an_empty_window_is_not_stable() {
        let s = classify(&[], Duration::from_millis(1), Duration::from_millis(5), &Stability::DEFAULT);
        assert_eq!((s.throughput_cv, s.p99_growth, s.stable), (None, None, false));
    }
}
