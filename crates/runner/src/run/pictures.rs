//! The pictures of one run: a [`PlotInput`] built from a measured run, rendered by
//! [`crate::plot`] and written to `plots/SYSTEM.svg`.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use history::EventType;

use super::measure::{operations, Measured};
use super::output::write;
use crate::plot::{render_svg, PlotInput, PlotOp, PlotOutcome};
use experiment::value::seconds;

/// Availability buckets: fine enough to show a 1 s fault, coarse enough to hold several
/// operations per client.
const BUCKET_S: f64 = 0.25;

/// Renders the run's picture and writes it to `dir/plots/SYSTEM.svg`.
pub fn write_plot(dir: &Path, experiment: &str, system: &str, description: &str, measured: &Measured) -> Result<()> {
    let svg = render(experiment, system, description, measured);
    let plots = dir.join("plots");
    std::fs::create_dir_all(&plots).with_context(|| format!("{}: cannot create", plots.display()))?;
    write(&plots.join(format!("{system}.svg")), svg.as_bytes())
}

/// The SVG of one measured run.
pub fn render(experiment: &str, system: &str, description: &str, measured: &Measured) -> String {
    let nanos = |t: Option<u64>| Duration::from_nanos(t.unwrap_or(0));
    let mut end = Duration::ZERO;
    let ops: Vec<PlotOp> = operations(&measured.history)
        .into_iter()
        .map(|op| {
            let invoked = nanos(op.invoke.time);
            let done = op.completion.map_or(invoked, |c| nanos(c.time));
            end = end.max(done);
            let outcome = match op.completion.map(|c| c.kind) {
                Some(EventType::Ok) => PlotOutcome::Ok,
                Some(EventType::Fail) => PlotOutcome::Fail,
                _ => PlotOutcome::Info,
            };
            PlotOp {
                invoked_s: invoked.as_secs_f64(),
                latency_ms: done.saturating_sub(invoked).as_secs_f64() * 1000.0,
                outcome,
                f: op.invoke.f.clone(),
            }
        })
        .collect();
    let windows: Vec<(f64, f64)> = measured
        .windows
        .iter()
        .map(|(start, stop)| (start.as_secs_f64(), stop.min(&end.max(*start)).as_secs_f64()))
        .collect();
    let labels: Vec<(f64, String)> =
        measured.faults.iter().map(|(at, fault)| (at.as_secs_f64(), format!("{fault} @{}", seconds(*at)))).collect();
    let title = format!("{experiment}: {system} (seed {})", measured.record.seed);
    let input = PlotInput {
        title: &title,
        subtitle: description,
        ops: &ops,
        fault_windows_s: &windows,
        fault_labels: &labels,
        end_s: end.as_secs_f64(),
        bucket_s: BUCKET_S,
    };
    render_svg(&input)
}
