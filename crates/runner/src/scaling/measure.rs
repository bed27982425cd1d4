//! One sweep point: run it, and reduce its history to throughput and latency in simulated
//! time ([`summarise`] is pure, so it is tested on hand-made histories).

use std::time::{Duration, Instant};

use history::{Event, EventType};
use serde::Serialize;

use crate::run::measure::operations;
use experiment::scaling::{Point, Scaling};

/// What one point measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointResult {
    /// The series' name.
    pub series: String,
    /// The run's seed.
    pub seed: u64,
    /// Logical clients (the offered load).
    pub clients: usize,
    /// Operations that ended `ok` within the measurement window, per simulated second.
    pub ok_per_s: f64,
    /// Operations invoked in the window that ended `fail` or `info`.
    pub not_ok: u64,
    /// Latency percentiles of the `ok` operations invoked in the window, simulated ms.
    pub latency_ms_p50: Option<f64>,
    /// See `latency_ms_p50`.
    pub latency_ms_p99: Option<f64>,
    /// Simulation steps (one per tick).
    pub steps: u64,
    /// The capacity model's ceiling for this run, `ok` operations per simulated second for
    /// the whole system: the resource time the servers booked, per `ok` operation of the whole
    /// run, on an average server, and one over the largest (`base::capacity::usage`). `None`
    /// when the servers booked nothing.
    pub predicted_ok_per_s: Option<f64>,
    /// The resource that sets `predicted_ok_per_s` (`cpu`, `disk`, `cpu+disk`, `nic-tx`,
    /// `nic-rx`).
    pub predicted_binding: Option<&'static str>,
    /// Wall time of the run, seconds (not deterministic; never compared).
    #[serde(skip)]
    pub wall_s: f64,
    /// Why the run failed, if it did.
    pub error: Option<String>,
}

/// Runs `point` of `scaling`.
pub fn run_point(scaling: &Scaling, point: Point) -> PointResult {
    let series = &scaling.series[point.series];
    let config = scaling.sim_config(point);
    let started = Instant::now();
    let result = series.system.run(&config, None).map(|ran| ran.result);
    let wall_s = started.elapsed().as_secs_f64();
    match result {
        Ok(run) => {
            let mut measured = summarise(&run.history, scaling.warmup, scaling.measure);
            measured.series = series.name.clone();
            measured.seed = point.seed;
            measured.clients = point.clients;
            measured.steps = run.steps;
            measured.wall_s = wall_s;
            let ok = operations(&run.history)
                .into_iter()
                .filter(|op| op.completion.is_some_and(|c| c.kind == EventType::Ok))
                .count();
            let ceiling = run.usage.ceiling(u64::try_from(ok).unwrap_or(u64::MAX));
            measured.predicted_ok_per_s = ceiling.map(|c| c.cluster);
            measured.predicted_binding = ceiling.map(|c| c.binding.name());
            measured
        }
        Err(error) => PointResult {
            series: series.name.clone(),
            seed: point.seed,
            clients: point.clients,
            ok_per_s: 0.0,
            not_ok: 0,
            latency_ms_p50: None,
            latency_ms_p99: None,
            steps: 0,
            predicted_ok_per_s: None,
            predicted_binding: None,
            wall_s,
            error: Some(error.to_string()),
        },
    }
}

/// Throughput and latency of `history` in the window `[warmup, warmup + measure)`: `ok`
/// completions in the window per second, and the latencies of the `ok` operations invoked in
/// it (nearest-rank percentiles). Name, seed, clients and steps are left for the caller.
pub fn summarise(history: &[Event], warmup: Duration, measure: Duration) -> PointResult {
    let start = warmup;
    let end = warmup.saturating_add(measure);
    let inside = |t: Duration| t >= start && t < end;
    let at = |e: &Event| Duration::from_nanos(e.time.unwrap_or(0));
    let mut completed_ok = 0u64;
    let mut not_ok = 0u64;
    let mut latencies: Vec<u64> = Vec::new();
    for op in operations(history) {
        let invoked = at(op.invoke);
        let kind = op.completion.map_or(EventType::Info, |c| c.kind);
        if let Some(done) = op.completion.filter(|_| kind == EventType::Ok) {
            if inside(at(done)) {
                completed_ok += 1;
            }
            if inside(invoked) {
                latencies.push(u64::try_from(at(done).saturating_sub(invoked).as_nanos()).unwrap_or(u64::MAX));
            }
        } else if inside(invoked) {
            not_ok += 1;
        }
    }
    latencies.sort_unstable();
    let percentile = |p: f64| -> Option<f64> {
        let last = latencies.len().checked_sub(1)?;
        let rank = ((p * latencies.len() as f64).ceil() as usize).saturating_sub(1).min(last);
        Some(latencies[rank] as f64 / 1e6)
    };
    PointResult {
        series: String::new(),
        seed: 0,
        clients: 0,
        ok_per_s: completed_ok as f64 / measure.as_secs_f64().max(f64::MIN_POSITIVE),
        not_ok,
        latency_ms_p50: percentile(0.50),
        latency_ms_p99: percentile(0.99),
        steps: 0,
        predicted_ok_per_s: None,
        predicted_binding: None,
        wall_s: 0.0,
        error: None,
    }
}

#[cfg(test)]
mod tests {
    use history::{Process, Value};

    use super::*;

    fn event(process: u64, kind: EventType, ms: u64) -> Event {
        let mut e = Event::new(Process::Client(process), kind, "read", Value::Nil);
        e.time = Some(ms * 1_000_000);
        e
    }

    #[test]
    fn counts_ok_completions_in_the_window_and_latencies_of_invocations_in_it() {
        let ms = Duration::from_millis;
        let history = vec![
            event(0, EventType::Invoke, 50),
            event(0, EventType::Ok, 120), // completes inside: counted, latency not (invoked before)
            event(1, EventType::Invoke, 150),
            event(1, EventType::Ok, 160), // 10 ms
            event(2, EventType::Invoke, 170),
            event(2, EventType::Fail, 171),
            event(3, EventType::Invoke, 180),
            event(3, EventType::Ok, 230), // 50 ms, completes after the window
            event(4, EventType::Invoke, 190),
        ];
        let r = summarise(&history, ms(100), ms(100));
        assert_eq!(r.ok_per_s, 20.0); // 2 in 0.1 s
        assert_eq!(r.not_ok, 2); // the fail and the one never completed
        assert_eq!(r.latency_ms_p50, Some(10.0));
        assert_eq!(r.latency_ms_p99, Some(50.0));
    }

    #[test]
    fn an_empty_window_has_no_latency() {
        let r = summarise(&[], Duration::from_millis(1), Duration::from_millis(1));
        assert_eq!((r.ok_per_s, r.latency_ms_p99), (0.0, None));
    }
}
