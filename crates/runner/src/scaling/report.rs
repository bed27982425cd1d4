//! From sweep points to the saturation table, and its renderings (text, Markdown, CSV, JSON,
//! a summary, an SVG of throughput against offered load). Pure: the caller writes files.
//!
//! Only *stable* points count ([`super::stability`]): a point whose window was not steady state
//! is reported `overloaded` (in `points.csv` and the row's count) and is in no figure. Every
//! figure is taken on each seed first, then combined over the seeds:
//! - saturation: a series' highest stable throughput over its sweep on one seed (a seed
//!   without a stable point has none, and is left out of `saturation_by_seed`); the row gives the
//!   mean over seeds, the lowest and highest, and every seed's (`saturation_by_seed`). A seed
//!   whose ladder ran out of loads still climbing counts in `unsaturated_seeds`, and the text
//!   table prints such a saturation as `>=` (a lower bound);
//! - knee: on one seed, the first point (fewest clients) reaching [`KNEE_SHARE`] of that seed's
//!   saturation, and "p99 at saturation" is the knee's p99 (past the knee more clients only
//!   queue, so a later point's latency says how deep the sweep went, not what the system
//!   does); the row gives the median over seeds of each (knee: the lower middle one, so that
//!   it is a point of the sweep);
//! - speed-up vs 3 and efficiency: on one seed, the saturation over the 3-node series' at the
//!   same level, mix and commit-log mode on the same seed (efficiency: divided by nodes / 3);
//!   the row gives the mean over seeds, and the efficiency's lowest and highest;
//! - messages and syncs per operation: at the seed's saturation point (the whole run's
//!   messages, and commit-log syncs, over its ok operations); the row gives the mean over
//!   seeds with the lowest and highest.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use tabled::builder::Builder;
use tabled::settings::Style;

use super::measure::PointResult;
use experiment::scaling::Scaling;

/// The share of the highest throughput that counts as saturated.
pub const KNEE_SHARE: f64 = 0.95;

/// One series' row (`lab claims` reads it back from `table.json`), its figures combined over
/// the seeds as the module says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// `quorum-5-one`, `sqlite`.
    pub system: String,
    /// Nodes.
    pub nodes: usize,
    /// Read and write level (`-` for SQLite).
    pub level: String,
    /// The mix's name (`read-heavy`), `-` when the series uses `[workload]`'s.
    #[serde(default = "dash")]
    pub mix: String,
    /// The commit-log mode (`batch`, `periodic-10s`), `-` when the file names none.
    #[serde(default = "dash")]
    pub commitlog: String,
    /// Points whose window was steady (over every seed): those the figures rest on.
    #[serde(default)]
    pub stable_points: usize,
    /// Points reported overloaded (over every seed): in no figure.
    #[serde(default)]
    pub overloaded_points: usize,
    /// Seeds whose ladder ran out of loads still climbing ([`super::climbs_on`] its deepest
    /// point): there the saturation is only a lower bound. The text table marks the saturation
    /// `>=`.
    #[serde(default)]
    pub unsaturated_seeds: Vec<u64>,
    /// The highest `ok` throughput of the sweep, per simulated second: the mean over seeds.
    pub saturation_ok_per_s: f64,
    /// The lowest seed's saturation.
    pub saturation_min_ok_per_s: f64,
    /// The highest seed's saturation.
    pub saturation_max_ok_per_s: f64,
    /// Every seed's saturation (JSON: `{"1": 13377.0, ...}`).
    pub saturation_by_seed: BTreeMap<u64, f64>,
    /// Clients at the knee: the median over seeds (the lower middle one).
    pub knee_clients: usize,
    /// p99 latency at the knee, simulated ms: the median over seeds.
    pub p99_ms_at_saturation: Option<f64>,
    /// Saturation throughput over the 3-node cluster's at the same level: the mean over seeds.
    pub speedup_vs_3: Option<f64>,
    /// `speedup_vs_3 / (nodes / 3)`, 1 is linear: the mean over seeds.
    pub efficiency: Option<f64>,
    /// The lowest seed's efficiency.
    pub efficiency_min: Option<f64>,
    /// The highest seed's efficiency.
    pub efficiency_max: Option<f64>,
    /// The model's upper bound (SQLite only), operations per second.
    pub model_bound_ok_per_s: Option<f64>,
    /// Messages per ok operation at each seed's saturation point: the mean over seeds.
    #[serde(default)]
    pub messages_per_op: Option<f64>,
    /// The lowest seed's messages per ok operation.
    #[serde(default)]
    pub messages_per_op_min: Option<f64>,
    /// The highest seed's.
    #[serde(default)]
    pub messages_per_op_max: Option<f64>,
    /// Commit-log syncs per ok operation at each seed's saturation point: the mean over seeds
    /// (`None` for a store that does not count them).
    #[serde(default)]
    pub syncs_per_op: Option<f64>,
    /// The lowest seed's syncs per ok operation.
    #[serde(default)]
    pub syncs_per_op_min: Option<f64>,
    /// The highest seed's.
    #[serde(default)]
    pub syncs_per_op_max: Option<f64>,
    /// Points whose run failed (over every seed).
    pub errors: usize,
}

fn dash() -> String {
    "-".to_owned()
}

/// One series on one seed, over its stable points only.
struct Curve<'a> {
    /// The highest stable throughput (`None`: no stable point).
    saturation: Option<f64>,
    /// The point that reached it.
    top: Option<&'a PointResult>,
    knee: Option<&'a PointResult>,
}

fn curve<'a>(points: &[&'a PointResult]) -> Curve<'a> {
    let mut mine: Vec<&PointResult> = points.iter().copied().filter(|p| p.counts()).collect();
    mine.sort_by_key(|p| p.clients);
    let top = mine.iter().copied().reduce(|best, p| if p.ok_per_s > best.ok_per_s { p } else { best });
    let best = top.map(|p| p.ok_per_s);
    let knee = best.and_then(|best| mine.into_iter().find(|p| p.ok_per_s >= KNEE_SHARE * best && best > 0.0));
    Curve { saturation: best, top, knee }
}

/// The mean, lowest and highest of `values` (all `None` for none).
fn spread(values: &[f64]) -> (Option<f64>, Option<f64>, Option<f64>) {
    let range = min_max(values.iter().copied());
    (mean(values), range.map(|r| r.0), range.map(|r| r.1))
}

/// The mean of `values` (`None` for none).
pub fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// The median of `values` (the mean of the two middle ones for an even count; `None` for none).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((f64::min(lo, v), f64::max(hi, v))),
    })
}

/// The rows of `scaling`, in series order, from `points` (in any order), over the seeds of
/// `scaling.seeds` that have a stable point.
pub fn rows(scaling: &Scaling, points: &[PointResult]) -> Vec<Row> {
    let mut rows: Vec<Row> = scaling
        .series
        .iter()
        .map(|series| {
            let mine: Vec<&PointResult> = points.iter().filter(|p| p.series == series.name).collect();
            let curves: Vec<(u64, Curve<'_>)> = scaling
                .seeds
                .iter()
                .map(|&seed| {
                    let of_seed: Vec<&PointResult> = mine.iter().copied().filter(|p| p.seed == seed).collect();
                    (seed, curve(&of_seed))
                })
                .collect();
            let by_seed: BTreeMap<u64, f64> =
                curves.iter().filter_map(|(seed, c)| c.saturation.map(|s| (*seed, s))).collect();
            let saturations: Vec<f64> = by_seed.values().copied().collect();
            let (lo, hi) = min_max(saturations.iter().copied()).unwrap_or((0.0, 0.0));
            let mut knees: Vec<usize> = curves.iter().filter_map(|(_, c)| c.knee.map(|p| p.clients)).collect();
            let messages: Vec<f64> = curves.iter().filter_map(|(_, c)| c.top.and_then(|p| p.messages_per_op)).collect();
            let syncs: Vec<f64> = curves.iter().filter_map(|(_, c)| c.top.and_then(|p| p.syncs_per_op)).collect();
            let (messages, messages_min, messages_max) = spread(&messages);
            let (syncs, syncs_min, syncs_max) = spread(&syncs);
            knees.sort_unstable();
            let p99s: Vec<f64> = curves.iter().filter_map(|(_, c)| c.knee.and_then(|p| p.latency_ms_p99)).collect();
            Row {
                system: series.name.clone(),
                nodes: series.nodes(),
                level: series.level().unwrap_or_else(dash),
                mix: series.mix.clone().unwrap_or_else(dash),
                commitlog: series.commitlog.clone().unwrap_or_else(dash),
                stable_points: mine.iter().filter(|p| p.counts()).count(),
                overloaded_points: mine.iter().filter(|p| p.error.is_none() && !p.stable).count(),
                unsaturated_seeds: scaling.seeds.iter().copied().filter(|&seed| still_climbing(&mine, seed)).collect(),
                saturation_ok_per_s: mean(&saturations).unwrap_or(0.0),
                saturation_min_ok_per_s: lo,
                saturation_max_ok_per_s: hi,
                saturation_by_seed: by_seed,
                knee_clients: knees.get(knees.len().saturating_sub(1) / 2).copied().unwrap_or(0),
                p99_ms_at_saturation: median(&p99s),
                speedup_vs_3: None,
                efficiency: None,
                efficiency_min: None,
                efficiency_max: None,
                model_bound_ok_per_s: scaling.single_writer_bound(series),
                messages_per_op: messages,
                messages_per_op_min: messages_min,
                messages_per_op_max: messages_max,
                syncs_per_op: syncs,
                syncs_per_op_min: syncs_min,
                syncs_per_op_max: syncs_max,
                errors: mine.iter().filter(|p| p.error.is_some()).count(),
            }
        })
        .collect();
    let base: Vec<(Family, BTreeMap<u64, f64>)> = rows
        .iter()
        .filter(|r| r.nodes == 3 && r.level != "-")
        .map(|r| (r.family(), r.saturation_by_seed.clone()))
        .collect();
    for row in rows.iter_mut().filter(|r| r.level != "-") {
        let family = row.family();
        let Some((_, three)) = base.iter().find(|(f, _)| *f == family) else { continue };
        let speedups: Vec<f64> = row
            .saturation_by_seed
            .iter()
            .filter_map(|(seed, t)| three.get(seed).filter(|b| **b > 0.0).map(|b| t / b))
            .collect();
        let scale = row.nodes as f64 / 3.0;
        let efficiencies: Vec<f64> = speedups.iter().map(|s| s / scale).collect();
        row.speedup_vs_3 = mean(&speedups);
        row.efficiency = mean(&efficiencies);
        let range = min_max(efficiencies.iter().copied());
        row.efficiency_min = range.map(|r| r.0);
        row.efficiency_max = range.map(|r| r.1);
    }
    rows
}

/// Whether the series' points `mine` on `seed` end still climbing: the ladder would have gone
/// on after its deepest point ([`super::climbs_on`]), so only running out of loads ended it.
fn still_climbing(mine: &[&PointResult], seed: u64) -> bool {
    let mut of_seed: Vec<&PointResult> = mine.iter().copied().filter(|p| p.seed == seed).collect();
    of_seed.sort_by_key(|p| p.clients);
    let Some((last, before)) = of_seed.split_last() else { return false };
    let best = before.iter().filter(|p| p.counts()).map(|p| p.ok_per_s).reduce(f64::max);
    super::climbs_on(last, best)
}

/// A series apart from its nodes: level, mix, commit-log mode.
pub type Family = (String, String, String);

impl Row {
    /// What a series is apart from its nodes: level, mix, commit-log mode (the 3-node series
    /// of the same family is its base for speed-up and efficiency).
    pub fn family(&self) -> Family {
        (self.level.clone(), self.mix.clone(), self.commitlog.clone())
    }
}

/// Seeds in words: `seed 3`, `seeds 1-5`, `seeds 1,2,4`.
pub fn seeds_text(seeds: &[u64]) -> String {
    let mut sorted = seeds.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    match sorted.as_slice() {
        [] => "no seeds".to_owned(),
        [one] => format!("seed {one}"),
        [first, .., last] if last - first + 1 == sorted.len() as u64 => format!("seeds {first}-{last}"),
        many => format!("seeds {}", many.iter().map(u64::to_string).collect::<Vec<_>>().join(",")),
    }
}

const HEADER: [&str; 17] = [
    "system",
    "nodes",
    "level",
    "mix",
    "commit log",
    "stable/overloaded points",
    "saturation ok/s",
    "min-max ok/s",
    "knee clients",
    "p99 ms at saturation",
    "speed-up vs 3",
    "efficiency",
    "efficiency min-max",
    "model bound ok/s",
    "messages/op",
    "messages/op min-max",
    "syncs/op",
];

fn opt(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.decimals$}"))
}

fn range(lo: Option<f64>, hi: Option<f64>, decimals: usize) -> String {
    match (lo, hi) {
        (Some(lo), Some(hi)) => format!("{lo:.decimals$}-{hi:.decimals$}"),
        _ => "-".to_owned(),
    }
}

fn cells(row: &Row) -> [String; 17] {
    [
        row.system.clone(),
        row.nodes.to_string(),
        row.level.clone(),
        row.mix.clone(),
        row.commitlog.clone(),
        format!("{}/{}", row.stable_points, row.overloaded_points),
        if !row.unsaturated_seeds.is_empty() {
            format!(">={:.0}", row.saturation_ok_per_s)
        } else {
            format!("{:.0}", row.saturation_ok_per_s)
        },
        range(Some(row.saturation_min_ok_per_s), Some(row.saturation_max_ok_per_s), 0),
        row.knee_clients.to_string(),
        opt(row.p99_ms_at_saturation, 1),
        opt(row.speedup_vs_3, 2),
        opt(row.efficiency, 3),
        range(row.efficiency_min, row.efficiency_max, 3),
        opt(row.model_bound_ok_per_s, 0),
        opt(row.messages_per_op, 2),
        range(row.messages_per_op_min, row.messages_per_op_max, 2),
        match (row.syncs_per_op, row.syncs_per_op_min, row.syncs_per_op_max) {
            (Some(mean), Some(lo), Some(hi)) => format!("{mean:.3} ({lo:.3}-{hi:.3})"),
            _ => "-".to_owned(),
        },
    ]
}

/// The table as plain text (for the terminal) or Markdown.
pub fn render(rows: &[Row], markdown: bool) -> String {
    let mut builder = Builder::default();
    builder.push_record(HEADER);
    for row in rows {
        builder.push_record(cells(row));
    }
    let mut table = builder.build();
    if markdown {
        table.with(Style::markdown());
    } else {
        table.with(Style::sharp());
    }
    format!("{table}\n")
}

/// The table as CSV.
pub fn csv(rows: &[Row]) -> String {
    let mut out = HEADER.join(",");
    out.push('\n');
    for row in rows {
        out.push_str(&cells(row).join(","));
        out.push('\n');
    }
    out
}

/// The header of `points.csv`.
pub const POINTS_HEADER: &str = "series,seed,clients,ok_per_s,not_ok,refused,p50_ms,p99_ms,throughput_cv,p99_growth,status,messages_per_op,syncs_per_op,steps,predicted_ok_per_s,binds,error";

/// Every point as CSV (the curves behind each row, one per seed), in the order given (the
/// sweep's: series, seed, clients).
pub fn points_csv(points: &[PointResult]) -> String {
    let mut out = format!("{POINTS_HEADER}\n");
    for p in points {
        let error = p.error.as_deref().unwrap_or("").replace([',', '\n'], ";");
        let _ = writeln!(
            out,
            "{},{},{},{:.1},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            p.series,
            p.seed,
            p.clients,
            p.ok_per_s,
            p.not_ok,
            p.refused,
            opt(p.latency_ms_p50, 3),
            opt(p.latency_ms_p99, 3),
            opt(p.throughput_cv, 4),
            opt(p.p99_growth, 3),
            p.status(),
            opt(p.messages_per_op, 3),
            opt(p.syncs_per_op, 4),
            p.steps,
            opt(p.predicted_ok_per_s, 1),
            p.predicted_binding.unwrap_or(""),
            error
        );
    }
    out
}

/// `summary.md`: the question, the model's constants, the tick, the seeds and the table (a
/// function of the file and its seeds: the wall times, which depend on the machine, are in
/// [`wall`]).
pub fn summary(scaling: &Scaling, rows: &[Row]) -> String {
    let mix = scaling.workload.mix();
    let mut out = format!("# {}\n\n{}\n\n## Model\n\n", scaling.name, scaling.question);
    let us = |d: std::time::Duration| d.as_secs_f64() * 1e6;
    let _ = writeln!(
        out,
        "- CPU per incoming frame: {:.1} us + {} ns per byte",
        us(scaling.cpu.per_message),
        scaling.cpu.per_byte.as_nanos()
    );
    let _ = writeln!(
        out,
        "- disk: fsync {:.0} us, {} ns per KiB written",
        us(scaling.disk.per_sync),
        scaling.disk.per_kib_written.as_nanos()
    );
    let _ = writeln!(
        out,
        "- CPU per frame sent: {:.1} us + {} ns per byte; NIC {} per direction; client requests refused past a \
         backlog of {}; predicted ceiling (points.csv): 1 / the largest resource time booked per ok operation on \
         an average server",
        us(scaling.network.send.per_message),
        scaling.network.send.per_byte.as_nanos(),
        scaling.network.nic.map_or("unlimited".to_owned(), |n| format!("{} Mbit/s", n.bytes_per_sec * 8 / 1_000_000)),
        scaling.admission.max_backlog.map_or("none".to_owned(), |b| format!("{} ms", b.as_millis()))
    );
    let _ = writeln!(
        out,
        "- tick {} ms, one-way latency {} ms, warm-up {:.2} s, measured {:.2} s, {}, mix read {} / write {} / cas {}, zero think time, {}",
        scaling.tick.as_millis(),
        scaling.latency.as_millis(),
        scaling.warmup.as_secs_f64(),
        scaling.measure.as_secs_f64(),
        scaling.workload.describe(),
        mix.read,
        mix.write,
        mix.cas,
        seeds_text(&scaling.seeds)
    );
    let _ = writeln!(
        out,
        "- every figure is taken on each seed, then combined: saturation (highest throughput of the sweep) as the \
         mean over seeds with min-max; knee (fewest clients reaching {:.0}% of the seed's saturation) and p99 at \
         the knee as the median over seeds; speed-up vs 3 and efficiency (speed-up / (nodes / 3)) against the 3-node \
         series at the same level on the same seed, as the mean over seeds, efficiency with min-max",
        KNEE_SHARE * 100.0
    );
    let st = &scaling.stability;
    let _ = writeln!(
        out,
        "- steady state: the window cut into {} sub-windows; a point is stable when their ok counts vary by a \
         coefficient of variation of at most {}, the last one's p99 is at most {}x the first's, and at most {:.1}% \
         of the window's operations were refused; any other point is overloaded and counts in no figure",
        st.windows,
        st.max_cv,
        st.max_p99_growth,
        st.max_refused_share * 100.0
    );
    let mut mixes: Vec<String> = Vec::new();
    for series in &scaling.series {
        if let (Some(name), Some(workload)) = (&series.mix, &series.workload) {
            let m = workload.mix();
            let line = format!("{name}: read {} / write {} / cas {}", m.read, m.write, m.cas);
            if !mixes.contains(&line) {
                mixes.push(line);
            }
        }
    }
    if !mixes.is_empty() {
        let _ = writeln!(out, "- mixes swept (replacing the file's mix): {}", mixes.join("; "));
    }
    let _ = writeln!(
        out,
        "- messages/op and syncs/op: the whole run's messages (and syncs: commit-log fsyncs, SQLite's file syncs) over its ok operations, at \
         each seed's saturation point, the mean over seeds with min-max"
    );
    let _ = writeln!(out, "- SQLite's model bound: 1 / (cpu_per_message + write share x fsync), an upper bound\n");
    out.push_str("## Table\n\n");
    out.push_str(&render(rows, true));
    out.push_str("\nWall time per run (what the simulation cost on this machine): [wall.md](wall.md).\n");
    out
}

/// `wall.md`: the wall time of every run, which depends on the machine (not a figure).
pub fn wall(points: &[PointResult], wall_total_s: f64) -> String {
    let cpu_s: f64 = points.iter().map(|p| p.wall_s).sum();
    let mut out = format!(
        "# Wall time\n\n{} runs, {:.1} s of wall time in all, {:.1} s on the worker threads. Machine-dependent: \
         not part of any figure.\n\n",
        points.len(),
        wall_total_s,
        cpu_s
    );
    out.push_str(
        "| series | seed | clients | ok/s | p99 ms | status | steps | wall s |\n|---|---|---|---|---|---|---|---|\n",
    );
    for p in points {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} | {} | {} | {} | {:.2} |",
            p.series,
            p.seed,
            p.clients,
            p.ok_per_s,
            opt(p.latency_ms_p99, 1),
            p.status(),
            p.steps,
            p.wall_s
        );
    }
    out
}

const COLOURS: [&str; 8] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"];

/// Throughput against clients, one line per series (log-scaled clients) through the mean over
/// seeds at each point, with a bar from the lowest seed's to the highest's, as SVG.
pub fn plot(title: &str, points: &[PointResult], series: &[String]) -> String {
    let (w, h, left, right, top, bottom) = (900.0, 560.0, 80.0, 700.0, 40.0, 500.0);
    let max_c = points.iter().map(|p| p.clients).max().unwrap_or(1).max(2) as f64;
    let max_t = points.iter().map(|p| p.ok_per_s).fold(1.0, f64::max) * 1.05;
    let x = |c: usize| left + (right - left) * (c.max(1) as f64).ln() / max_c.ln();
    let y = |t: f64| bottom - (bottom - top) * t / max_t;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"{w}\" height=\"{h}\" fill=\"white\"/>\n<text x=\"{left}\" y=\"22\" font-size=\"14\">{}</text>\n\
         <line x1=\"{left}\" y1=\"{bottom}\" x2=\"{right}\" y2=\"{bottom}\" stroke=\"black\"/>\n\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{bottom}\" stroke=\"black\"/>\n\
         <text x=\"{}\" y=\"{}\">clients (offered load, log scale)</text>\n\
         <text x=\"12\" y=\"{top}\">ok/s</text>\n",
        escape(title),
        (left + right) / 2.0 - 80.0,
        bottom + 35.0
    );
    for i in 0..=5 {
        let t = max_t * f64::from(i) / 5.0;
        let _ =
            writeln!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{t:.0}</text>", left - 6.0, y(t) + 4.0);
    }
    let mut ticks: Vec<usize> = points.iter().map(|p| p.clients).collect();
    ticks.sort_unstable();
    ticks.dedup();
    for c in ticks.iter().filter(|c| c.is_power_of_two() || **c == ticks[ticks.len() - 1]) {
        let _ = writeln!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{c}</text>", x(*c), bottom + 15.0);
    }
    for (i, name) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let dash = if i / COLOURS.len() % 2 == 1 { " stroke-dasharray=\"4 3\"" } else { "" };
        let mut by_clients: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
        for p in points.iter().filter(|p| &p.series == name) {
            by_clients.entry(p.clients).or_default().push(p.ok_per_s);
        }
        let mut path: Vec<String> = Vec::with_capacity(by_clients.len());
        for (&clients, values) in &by_clients {
            let (cx, average) = (x(clients), mean(values).unwrap_or(0.0));
            path.push(format!("{cx:.1},{:.1}", y(average)));
            if let Some((lo, hi)) = min_max(values.iter().copied()).filter(|(lo, hi)| hi > lo) {
                let _ = writeln!(
                    svg,
                    "<line x1=\"{cx:.1}\" y1=\"{:.1}\" x2=\"{cx:.1}\" y2=\"{:.1}\" stroke=\"{colour}\"/>",
                    y(lo),
                    y(hi)
                );
            }
        }
        let _ = writeln!(
            svg,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\"{dash} points=\"{}\"><title>{}</title></polyline>",
            path.join(" "),
            escape(name)
        );
        let ly = top + 14.0 * i as f64;
        let _ = writeln!(
            svg,
            "<line x1=\"{:.1}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"{colour}\"{dash}/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            right + 20.0,
            right + 40.0,
            right + 45.0,
            ly + 4.0,
            escape(name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use experiment::{Registry, Script};

    use super::*;

    const FILE: &str = r#"
kind = "scaling"
name = "t"
question = "q"
seeds = [1, 2, 3]
warmup = "10ms"
measure = "10ms"

[workload]
kind = "kv"

[capacity]
cpu_per_message_ns = 10000
cpu_per_byte_ns = 2
fsync_us = 150
write_ns_per_kib = 650

[[system]]
name = "q"
kind = "quorum"
clients_per_server = [1, 2]
sweep = { nodes = [3, 6] }
"#;

    fn scaling() -> Scaling {
        match experiment::parse(&Registry::standard(), Path::new("t.toml"), FILE) {
            Ok(Script::Scaling(s)) => s,
            other => panic!("{other:?}"),
        }
    }

    fn point(series: &str, seed: u64, clients: usize, ok_per_s: f64, p99: f64) -> PointResult {
        PointResult {
            series: series.into(),
            seed,
            clients,
            ok_per_s,
            not_ok: 0,
            refused: 0,
            latency_ms_p50: Some(p99 / 2.0),
            latency_ms_p99: Some(p99),
            steps: 1,
            stable: true,
            throughput_cv: Some(0.01),
            p99_growth: Some(1.0),
            messages_per_op: Some(10.0),
            syncs_per_op: Some(0.5),
            predicted_ok_per_s: None,
            predicted_binding: None,
            wall_s: 0.0,
            error: None,
        }
    }

    fn overloaded(series: &str, seed: u64, clients: usize, ok_per_s: f64, p99: f64) -> PointResult {
        PointResult { stable: false, p99_growth: Some(2.0), ..point(series, seed, clients, ok_per_s, p99) }
    }

    #[test]
    fn saturation_ignores_overloaded_points() {
        let s = scaling();
        let mut top = point("q-3", 1, 3, 100.0, 1.0);
        top.messages_per_op = Some(12.0);
        let points = [
            top,
            // More throughput, but its window drifted: in no figure.
            overloaded("q-3", 1, 6, 150.0, 9.0),
            point("q-3", 2, 3, 90.0, 2.0),
            point("q-3", 2, 6, 110.0, 4.0),
            point("q-3", 3, 3, 95.0, 3.0),
            overloaded("q-3", 3, 6, 200.0, 5.0),
            // Seed 1 of q-6 has no stable point: no saturation on that seed.
            overloaded("q-6", 1, 6, 180.0, 1.0),
            overloaded("q-6", 1, 12, 100.0, 1.0),
            point("q-6", 2, 6, 100.0, 1.0),
            point("q-6", 2, 12, 220.0, 8.0),
            point("q-6", 3, 6, 190.0, 1.0),
            point("q-6", 3, 12, 0.0, 0.0),
        ];
        let rows = rows(&s, &points);
        let (three, six) = (&rows[0], &rows[1]);
        assert_eq!(three.saturation_by_seed, BTreeMap::from([(1, 100.0), (2, 110.0), (3, 95.0)]));
        assert_eq!((three.stable_points, three.overloaded_points), (4, 2));
        assert_eq!(three.knee_clients, 3);
        assert_eq!((three.messages_per_op_min, three.messages_per_op_max), (Some(10.0), Some(12.0)));
        assert_eq!(six.saturation_by_seed, BTreeMap::from([(2, 220.0), (3, 190.0)]), "seed 1: none");
        // Efficiency over the seeds both have: 2.0 and 2.0 speed-ups over 2x nodes.
        assert_eq!((six.efficiency_min, six.efficiency_max), (Some(1.0), Some(1.0)));
        let csv = points_csv(&points[1..2]);
        assert!(csv.contains(",overloaded,"), "{csv}");
    }

    #[test]
    fn a_seed_whose_deepest_point_still_gained_is_unsaturated() {
        let s = scaling();
        let points = [
            // Seed 1: the deepest point gained 4 % (under 5 %): the plateau.
            point("q-3", 1, 3, 100.0, 1.0),
            point("q-3", 1, 6, 104.0, 2.0),
            // Seed 2: it gained 20 %: the ladder ran out of loads while climbing.
            point("q-3", 2, 3, 100.0, 1.0),
            point("q-3", 2, 6, 120.0, 2.0),
            // Seed 3: the deepest point was overloaded: the knee lies before it.
            point("q-3", 3, 3, 100.0, 1.0),
            overloaded("q-3", 3, 6, 150.0, 9.0),
        ];
        let rows = rows(&s, &points);
        assert_eq!(rows[0].unsaturated_seeds, [2]);
        assert!(render(&rows, true).contains("| >=108 "), "{}", render(&rows, true));
        let plateau = [point("q-3", 1, 3, 100.0, 1.0), point("q-3", 1, 6, 104.0, 2.0)];
        assert!(super::rows(&s, &plateau)[0].unsaturated_seeds.is_empty());
        assert!(!render(&super::rows(&s, &plateau), true).contains(">="));
    }

    #[test]
    fn a_ladder_climbs_until_its_plateau_or_an_overloaded_point() {
        use super::super::climbs_on;
        assert!(climbs_on(&point("q-3", 1, 3, 100.0, 1.0), None), "the first stable point");
        assert!(climbs_on(&point("q-3", 1, 6, 105.0, 1.0), Some(100.0)), "5 % more: still climbing");
        assert!(!climbs_on(&point("q-3", 1, 6, 104.9, 1.0), Some(100.0)), "under 5 % more: the plateau");
        assert!(!climbs_on(&point("q-3", 1, 6, 90.0, 1.0), Some(100.0)), "less: past the knee");
        assert!(!climbs_on(&overloaded("q-3", 1, 6, 500.0, 1.0), Some(100.0)), "overloaded");
        let at_ceiling = PointResult { predicted_ok_per_s: Some(200.0), ..point("q-3", 1, 6, 190.0, 1.0) };
        assert!(!climbs_on(&at_ceiling, Some(100.0)), "95 % of its own ceiling: saturated");
        let below = PointResult { predicted_ok_per_s: Some(200.0), ..point("q-3", 1, 6, 180.0, 1.0) };
        assert!(climbs_on(&below, Some(100.0)), "90 % of its ceiling and gaining");
        let failed =
            PointResult::failed("q-3", experiment::scaling::Point { series: 0, seed: 1, clients: 3 }, 0.0, "x".into());
        assert!(!climbs_on(&failed, None), "a failed run");
    }

    #[test]
    fn rows_take_each_figure_on_each_seed_then_combine_them() {
        let s = scaling();
        // 3 nodes: 3 and 6 clients; 6 nodes: 6 and 12.
        let points = [
            point("q-3", 1, 3, 100.0, 1.0),
            point("q-3", 1, 6, 90.0, 9.0),
            point("q-3", 2, 3, 50.0, 2.0),
            point("q-3", 2, 6, 100.0, 4.0),
            point("q-3", 3, 3, 100.0, 3.0),
            point("q-3", 3, 6, 100.0, 5.0),
            point("q-6", 1, 6, 180.0, 1.0),
            point("q-6", 1, 12, 100.0, 1.0),
            point("q-6", 2, 6, 100.0, 1.0),
            point("q-6", 2, 12, 200.0, 8.0),
            point("q-6", 3, 6, 190.0, 1.0),
            point("q-6", 3, 12, 0.0, 0.0),
        ];
        let rows = rows(&s, &points);
        let (three, six) = (&rows[0], &rows[1]);
        assert_eq!(three.saturation_by_seed, BTreeMap::from([(1, 100.0), (2, 100.0), (3, 100.0)]));
        assert_eq!(three.knee_clients, 3, "knees 3, 6, 3: the median");
        assert_eq!(three.p99_ms_at_saturation, Some(3.0), "p99s at the knees 1, 4, 3: the median");
        assert_eq!(three.efficiency, Some(1.0));
        assert_eq!((six.saturation_min_ok_per_s, six.saturation_max_ok_per_s), (180.0, 200.0));
        assert!((six.saturation_ok_per_s - 190.0).abs() < 1e-9);
        // Per seed: speed-ups 1.8, 2.0, 1.9; efficiencies 0.9, 1.0, 0.95.
        assert!((six.speedup_vs_3.unwrap_or(0.0) - 1.9).abs() < 1e-9, "{six:?}");
        assert!((six.efficiency.unwrap_or(0.0) - 0.95).abs() < 1e-9, "{six:?}");
        assert!((six.efficiency_min.unwrap_or(0.0) - 0.9).abs() < 1e-9, "{six:?}");
        assert!((six.efficiency_max.unwrap_or(0.0) - 1.0).abs() < 1e-9, "{six:?}");
        let md = render(&rows, true);
        // Seed 2 of each series ends climbing (50 to 100, 100 to 200): a lower bound there.
        assert_eq!((&three.unsaturated_seeds[..], &six.unsaturated_seeds[..]), (&[2][..], &[2][..]));
        assert!(md.contains("| >=190 ") && md.contains("180-200") && md.contains("0.900-1.000"), "{md}");
        let json = serde_json::to_string(&rows[1]).unwrap_or_default();
        assert!(json.contains(r#""saturation_by_seed":{"1":180.0,"2":200.0,"3":190.0}"#), "{json}");
        let back: Row = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
        assert_eq!(&back, six);
    }

    #[test]
    fn medians_seeds_and_points_csv() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        assert_eq!(seeds_text(&[3]), "seed 3");
        assert_eq!(seeds_text(&[5, 4, 3, 2, 1]), "seeds 1-5");
        assert_eq!(seeds_text(&[1, 2, 4]), "seeds 1,2,4");
        let csv = points_csv(&[point("q-3", 2, 3, 100.0, 1.0)]);
        assert_eq!(
            csv,
            format!("{POINTS_HEADER}\nq-3,2,3,100.0,0,0,0.500,1.000,0.0100,1.000,stable,10.000,0.5000,1,-,,\n")
        );
        let predicted = PointResult {
            predicted_ok_per_s: Some(1234.56),
            predicted_binding: Some("cpu"),
            ..point("q-3", 2, 3, 100.0, 1.0)
        };
        assert_eq!(
            points_csv(&[predicted]),
            format!("{POINTS_HEADER}\nq-3,2,3,100.0,0,0,0.500,1.000,0.0100,1.000,stable,10.000,0.5000,1,1234.6,cpu,\n")
        );
    }
}
