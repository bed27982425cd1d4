//! One staleness point (measured beside predicted), the table, and the results directory.

use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use anyhow::Result;
use pbs::{miss_probability, predict, Quorums, TrialConfig};
use serde::Serialize;
use tabled::builder::Builder;
use tabled::settings::Style;

use super::plot;
use crate::run::output::write;
use experiment::staleness::StalenessSpec;

/// How far the measurement and the model may differ, in percentage points.
pub const AGREEMENT_POINTS: f64 = 2.0;

/// One measured point and its prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point {
    /// The delay profile.
    pub profile: String,
    /// N, R and W.
    pub quorums: Quorums,
    /// The wait after the acknowledgement, ms.
    pub wait_ms: f64,
    /// Trials run.
    pub trials: u64,
    /// Reads that returned the write.
    pub fresh: u64,
    /// `fresh / trials`.
    pub measured: f64,
    /// The 95 % interval of `measured`.
    pub interval95: (f64, f64),
    /// The WARS model's probability.
    pub model: f64,
    /// `1 - C(N-W, R) / C(N, R)`: the probability when nothing has propagated (a lower bound).
    pub no_propagation: f64,
    /// `measured - model`, in percentage points.
    pub difference_points: f64,
    /// Messages per trial.
    pub messages_per_trial: f64,
}

impl Point {
    /// Whether measurement and model agree within [`AGREEMENT_POINTS`].
    pub fn agrees(&self) -> bool {
        self.difference_points.abs() <= AGREEMENT_POINTS
    }
}

/// The model's seed for a point: apart from every trial stream.
fn model_seed(seed: u64, profile: usize, quorums: usize, wait: usize) -> u64 {
    seed ^ 0x005e_ed0f_3a75 ^ ((profile as u64) << 40) ^ ((quorums as u64) << 20) ^ wait as u64
}

/// Measures and predicts every wait of profile `p` and quorums `q`.
pub fn measure_pair(spec: &StalenessSpec, p: usize, q: usize) -> Result<Vec<Point>, String> {
    let (name, delays) = &spec.profiles[p];
    let quorums = spec.quorums[q];
    let config = TrialConfig {
        quorums,
        delays: *delays,
        waits: spec.waits.clone(),
        trials: spec.trials,
        seed: spec.seed ^ ((p as u64) << 32) ^ ((q as u64) << 16),
    };
    let measured = pbs::measure(&config).map_err(|e| format!("{name} {quorums}: {e}"))?;
    Ok(measured
        .iter()
        .enumerate()
        .map(|(w, m)| {
            let model = predict(quorums, delays, m.wait, spec.model_samples, model_seed(spec.seed, p, q, w));
            Point {
                profile: name.clone(),
                quorums,
                wait_ms: m.wait.as_secs_f64() * 1000.0,
                trials: m.trials,
                fresh: m.fresh,
                measured: m.probability(),
                interval95: m.interval95(),
                model,
                no_propagation: 1.0 - miss_probability(quorums),
                difference_points: (m.probability() - model) * 100.0,
                messages_per_trial: m.messages as f64 / m.trials.max(1) as f64,
            }
        })
        .collect())
}

fn pct(p: f64) -> String {
    format!("{:.2} %", p * 100.0)
}

fn ms(v: f64) -> String {
    let text = format!("{v:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

const HEADER: [&str; 9] = [
    "delays",
    "N R W",
    "t (ms)",
    "measured",
    "95 % interval",
    "WARS model",
    "diff (points)",
    "no propagation",
    "agree",
];

fn cells(p: &Point) -> [String; 9] {
    [
        p.profile.clone(),
        format!("{} {} {}", p.quorums.n, p.quorums.r, p.quorums.w),
        ms(p.wait_ms),
        pct(p.measured),
        format!("{:.2}-{:.2} %", p.interval95.0 * 100.0, p.interval95.1 * 100.0),
        pct(p.model),
        format!("{:+.2}", p.difference_points),
        pct(p.no_propagation),
        if p.agrees() { "yes" } else { "NO" }.to_owned(),
    ]
}

fn builder(points: &[Point]) -> Builder {
    let mut builder = Builder::default();
    builder.push_record(HEADER);
    for p in points {
        builder.push_record(cells(p));
    }
    builder
}

/// The table as text for the terminal.
pub fn text(points: &[Point]) -> String {
    builder(points).build().with(Style::rounded()).to_string()
}

/// The table as Markdown.
pub fn markdown(points: &[Point]) -> String {
    builder(points).build().with(Style::markdown()).to_string()
}

/// The table as CSV (probabilities as fractions).
pub fn csv(points: &[Point]) -> String {
    let mut out = String::from(
        "delays,n,r,w,t_ms,trials,fresh,measured,ci95_low,ci95_high,model,difference_points,no_propagation,agrees\n",
    );
    for p in points {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{:.6},{:.6},{:.6},{:.6},{:.3},{:.6},{}",
            p.profile,
            p.quorums.n,
            p.quorums.r,
            p.quorums.w,
            ms(p.wait_ms),
            p.trials,
            p.fresh,
            p.measured,
            p.interval95.0,
            p.interval95.1,
            p.model,
            p.difference_points,
            p.no_propagation,
            p.agrees()
        );
    }
    out
}

/// "N of M points agree within 2 points (largest difference D)".
pub fn agreement_line(points: &[Point]) -> String {
    let agree = points.iter().filter(|p| p.agrees()).count();
    let worst = points.iter().map(|p| p.difference_points.abs()).fold(0.0, f64::max);
    format!(
        "agreement: {agree} of {} points within {AGREEMENT_POINTS} percentage points of the WARS model (largest difference {worst:.2})",
        points.len()
    )
}

fn describe_delays(spec: &StalenessSpec) -> String {
    let one = |d: &pbs::Delay| {
        if d.min.is_zero() {
            format!("Exp(mean {})", ms(d.mean_extra.as_secs_f64() * 1000.0)) + " ms"
        } else {
            format!(
                "{} ms + Exp(mean {} ms)",
                ms(d.min.as_secs_f64() * 1000.0),
                ms(d.mean_extra.as_secs_f64() * 1000.0)
            )
        }
    };
    let mut out = String::new();
    for (name, w) in &spec.profiles {
        let _ = writeln!(
            out,
            "- `{name}`: W (write) {}, A (ack) {}, R (read) {}, S (response) {}",
            one(&w.write),
            one(&w.ack),
            one(&w.read),
            one(&w.response)
        );
    }
    out
}

/// Writes `dir`: table.md, table.csv, table.json, summary.md and plots/PROFILE.svg.
pub fn write_results(dir: &Path, spec: &StalenessSpec, points: &[Point]) -> Result<()> {
    fs::create_dir_all(dir.join("plots"))?;
    write(&dir.join("table.md"), markdown(points).as_bytes())?;
    write(&dir.join("table.csv"), csv(points).as_bytes())?;
    write(&dir.join("table.json"), (serde_json::to_string_pretty(points)? + "\n").as_bytes())?;
    let mut plots = String::new();
    for (p, (name, delays)) in spec.profiles.iter().enumerate() {
        let mine: Vec<&Point> = points.iter().filter(|x| x.profile == *name).collect();
        let svg = plot::render(spec, p, name, delays, &mine);
        write(&dir.join("plots").join(format!("{name}.svg")), svg.as_bytes())?;
        let _ = writeln!(plots, "- [{name}](plots/{name}.svg)");
    }
    let summary = format!(
        "# {name}\n\n{question}\n\n{table}\n\n{agreement}\n\n\
         ## Columns\n\n\
         - **measured**: share of reads, started t after the write's acknowledgement, that returned the write; \
         {trials} trials per row on the quorum store's own nodes (N + 1 nodes, the coordinator not a replica, \
         read repair, hints and anti-entropy off), each message delayed independently.\n\
         - **95 % interval**: Wilson score interval of the measured share.\n\
         - **WARS model**: the same probability from the delay distributions alone, {samples} Monte Carlo draws \
         (Bailis et al., VLDB 2012).\n\
         - **no propagation**: 1 - C(N-W, R) / C(N, R), the chance when no replica beyond the W that acknowledged \
         holds the write; measured values at t = 0 lie above it by what propagated before the read arrived.\n\
         - **agree**: |measured - model| <= {AGREEMENT_POINTS} percentage points.\n\n\
         ## Delays\n\n{delays}\n\
         ## Plots\n\n{plots}\n\
         Seed {seed}: the same seed gives these files byte for byte.\n",
        name = spec.name,
        question = spec.question,
        table = markdown(points),
        agreement = agreement_line(points),
        trials = spec.trials,
        samples = spec.model_samples,
        delays = describe_delays(spec),
        seed = spec.seed,
    );
    write(&dir.join("summary.md"), summary.as_bytes())?;
    Ok(())
}
