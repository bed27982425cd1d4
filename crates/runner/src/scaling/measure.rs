//! One sweep point: run it, and reduce its history to throughput and latency in simulated
//! time ([`summarise`] is pure, so it is tested on hand-made histories), whether the window
//! was steady ([`super::stability`]), and the run's messages and durable-log syncs per ok
//! operation.

use std::time::{Duration, Instant};

use history::{Event, EventType};
use serde::Serialize;

use super::stability::classify;
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
    /// Of `not_ok`, those refused (`fail`: in a fault-free sweep, the store's refusal, such as
    /// admission control's `Unavailable("overloaded")`); the rest timed out or were cut off by
    /// the run's end.
    pub refused: u64,
    /// Latency percentiles of the `ok` operations invoked in the window, simulated ms.
    pub latency_ms_p50: Option<f64>,
    /// See `latency_ms_p50`.
    pub latency_ms_p99: Option<f64>,
    /// Simulation steps (one per tick).
    pub steps: u64,
    /// Whether the window was steady state ([`super::stability::classify`]); an unstable point
    /// is reported `overloaded` and counts in no figure of the table.
    pub stable: bool,
    /// The sub-windows' throughput coefficient of variation.
    pub throughput_cv: Option<f64>,
    /// The last sub-window's p99 over the first's.
    pub p99_growth: Option<f64>,
    /// Messages the system sent over the whole run (warm-up, window, final reads) per `ok`
    /// operation of the run (`None` without any).
    pub messages_per_op: Option<f64>,
    /// Durable-log syncs (the quorum store's commit-log fsyncs, SQLite's file and directory
    /// syncs) over the whole run per `ok` operation; `None` when the store does not count
    /// them or nothing completed.
    pub syncs_per_op: Option<f64>,
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
            let steady = classify(&run.history, scaling.warmup, scaling.measure, &scaling.stability);
            measured.stable = steady.stable;
            measured.throughput_cv = steady.throughput_cv;
            measured.p99_growth = steady.p99_growth;
            let ok = ok_operations(&run.history);
            measured.messages_per_op = (ok > 0).then(|| run.messages as f64 / ok as f64);
            measured.syncs_per_op = run.syncs.filter(|_| ok > 0).map(|syncs| syncs as f64 / ok as f64);
            let ceiling = run.usage.ceiling(ok);
            measured.predicted_ok_per_s = ceiling.map(|c| c.cluster);
            measured.predicted_binding = ceiling.map(|c| c.binding.name());
            measured
        }
        Err(error) => PointResult::failed(&series.name, point, wall_s, error.to_string()),
    }
}

/// Operations of `history` that ended `ok`.
pub fn ok_operations(history: &[Event]) -> u64 {
    operations(history).iter().filter(|op| op.completion.is_some_and(|c| c.kind == EventType::Ok)).count() as u64
}

impl PointResult {
    /// A point whose run failed (`error`): no figure.
    pub fn failed(series: &str, point: Point, wall_s: f64, error: String) -> Self {
        let mut r = summarise(&[], Duration::ZERO, Duration::from_secs(1));
        r.series = series.to_owned();
        r.seed = point.seed;
        r.clients = point.clients;
        r.wall_s = wall_s;
        r.error = Some(error);
        r
    }

    /// `stable` or `overloaded` (`failed` when the run failed).
    pub fn status(&self) -> &'static str {
        match (&self.error, self.stable) {
            (Some(_), _) => "failed",
            (None, true) => "stable",
            (None, false) => "overloaded",
        }
    }

    /// Whether the point counts in the table's figures: run completed, window steady.
    pub fn counts(&self) -> bool {
        self.error.is_none() && self.stable
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
    let mut refused = 0u64;
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
            refused += u64::from(kind == EventType::Fail);
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
        refused,
        latency_ms_p50: percentile(0.50),
        latency_ms_p99: percentile(0.99),
        steps: 0,
        stable: false,
        throughput_cv: None,
        p99_growth: None,
        messages_per_op: None,
        syncs_per_op: None,
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
        assert_eq!(r.refused, 1, "the fail");
        assert_eq!(r.latency_ms_p50, Some(10.0));
        assert_eq!(r.latency_ms_p99, Some(50.0));
    }

    #[test]
    fn an_empty_window_has_no_latency() {
        let r = summarise(&[], Duration::from_millis(1), Duration::from_millis(1));
        assert_eq!((r.ok_per_s, r.latency_ms_p99), (0.0, None));
    }
}
