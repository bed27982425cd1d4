//! From sweep points to the saturation table, and its renderings (text, Markdown, CSV, JSON,
//! a summary, an SVG of throughput against offered load). Pure: the caller writes files.
//!
//! Saturation of a series: its highest throughput over the sweep; the knee is the first point
//! (fewest clients) reaching [`KNEE_SHARE`] of it, and "p99 at saturation" is the knee's p99
//! (past the knee more clients only queue, so a later point's latency says how deep the sweep
//! went, not what the system does).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use tabled::builder::Builder;
use tabled::settings::Style;

use super::measure::PointResult;
use experiment::scaling::Scaling;

/// The share of the highest throughput that counts as saturated.
pub const KNEE_SHARE: f64 = 0.95;

/// One series' row (`lab claims` reads it back from `table.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// `quorum-5-one`, `sqlite`.
    pub system: String,
    /// Nodes.
    pub nodes: usize,
    /// Read and write level (`-` for SQLite).
    pub level: String,
    /// The highest `ok` throughput of the sweep, per simulated second.
    pub saturation_ok_per_s: f64,
    /// Clients at the knee.
    pub knee_clients: usize,
    /// p99 latency at the knee, simulated ms.
    pub p99_ms_at_saturation: Option<f64>,
    /// Saturation throughput over the 3-node cluster's at the same level.
    pub speedup_vs_3: Option<f64>,
    /// `speedup_vs_3 / (nodes / 3)`: 1 is linear.
    pub efficiency: Option<f64>,
    /// The model's upper bound (SQLite only), operations per second.
    pub model_bound_ok_per_s: Option<f64>,
    /// Points whose run failed.
    pub errors: usize,
}

/// The rows of `scaling`, in series order, from `points` (in any order).
pub fn rows(scaling: &Scaling, points: &[PointResult]) -> Vec<Row> {
    let mut rows: Vec<Row> = scaling
        .series
        .iter()
        .map(|series| {
            let mut mine: Vec<&PointResult> = points.iter().filter(|p| p.series == series.name).collect();
            mine.sort_by_key(|p| p.clients);
            let best = mine.iter().map(|p| p.ok_per_s).fold(0.0, f64::max);
            let knee = mine.iter().find(|p| p.ok_per_s >= KNEE_SHARE * best && best > 0.0);
            Row {
                system: series.name.clone(),
                nodes: series.nodes(),
                level: series.level().unwrap_or_else(|| "-".to_owned()),
                saturation_ok_per_s: best,
                knee_clients: knee.map_or(0, |p| p.clients),
                p99_ms_at_saturation: knee.and_then(|p| p.latency_ms_p99),
                speedup_vs_3: None,
                efficiency: None,
                model_bound_ok_per_s: scaling.single_writer_bound(series),
                errors: mine.iter().filter(|p| p.error.is_some()).count(),
            }
        })
        .collect();
    let base: Vec<(String, f64)> = rows
        .iter()
        .filter(|r| r.nodes == 3 && r.level != "-")
        .map(|r| (r.level.clone(), r.saturation_ok_per_s))
        .collect();
    for row in rows.iter_mut().filter(|r| r.level != "-") {
        if let Some((_, three)) = base.iter().find(|(level, t)| *level == row.level && *t > 0.0) {
            let speedup = row.saturation_ok_per_s / three;
            row.speedup_vs_3 = Some(speedup);
            row.efficiency = Some(speedup / (row.nodes as f64 / 3.0));
        }
    }
    rows
}

const HEADER: [&str; 9] = [
    "system",
    "nodes",
    "level",
    "saturation ok/s",
    "knee clients",
    "p99 ms at saturation",
    "speed-up vs 3",
    "efficiency",
    "model bound ok/s",
];

fn opt(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.decimals$}"))
}

fn cells(row: &Row) -> [String; 9] {
    [
        row.system.clone(),
        row.nodes.to_string(),
        row.level.clone(),
        format!("{:.0}", row.saturation_ok_per_s),
        row.knee_clients.to_string(),
        opt(row.p99_ms_at_saturation, 1),
        opt(row.speedup_vs_3, 2),
        opt(row.efficiency, 2),
        opt(row.model_bound_ok_per_s, 0),
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

/// Every point as CSV (the curve behind each row).
pub fn points_csv(points: &[PointResult]) -> String {
    let mut out = String::from("series,clients,ok_per_s,not_ok,p50_ms,p99_ms,steps,error\n");
    for p in points {
        let error = p.error.as_deref().unwrap_or("").replace([',', '\n'], ";");
        let _ = writeln!(
            out,
            "{},{},{:.1},{},{},{},{},{}",
            p.series,
            p.clients,
            p.ok_per_s,
            p.not_ok,
            opt(p.latency_ms_p50, 3),
            opt(p.latency_ms_p99, 3),
            p.steps,
            error
        );
    }
    out
}

/// `summary.md`: the question, the model's constants, the tick and the table (a function of the
/// file and the seed: the wall times, which depend on the machine, are in [`wall`]).
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
        "- tick {} ms, one-way latency {} ms, warm-up {:.2} s, measured {:.2} s, {}, mix read {} / write {} / cas {}, zero think time, seed {}",
        scaling.tick.as_millis(),
        scaling.latency.as_millis(),
        scaling.warmup.as_secs_f64(),
        scaling.measure.as_secs_f64(),
        scaling.workload.describe(),
        mix.read,
        mix.write,
        mix.cas,
        scaling.seed
    );
    let _ = writeln!(
        out,
        "- saturation: highest throughput of the sweep; knee: fewest clients reaching {:.0}% of it; p99 at the knee",
        KNEE_SHARE * 100.0
    );
    let _ = writeln!(out, "- SQLite's model bound: 1 / (cpu_per_message + write share x fsync), an upper bound\n");
    out.push_str("## Table\n\n");
    out.push_str(&render(rows, true));
    out.push_str("\nWall time per run (what the simulation cost on this machine): [wall.md](wall.md).\n");
    out
}

/// `wall.md`: the wall time of every run, which depends on the machine (not a figure).
pub fn wall(points: &[PointResult], wall_total_s: f64) -> String {
    let mut out = format!(
        "# Wall time\n\n{} runs, {:.1} s in all (on the worker threads). Machine-dependent: not part of any figure.\n\n",
        points.len(),
        wall_total_s
    );
    out.push_str("| series | clients | ok/s | p99 ms | steps | wall s |\n|---|---|---|---|---|---|\n");
    for p in points {
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {} | {} | {:.2} |",
            p.series,
            p.clients,
            p.ok_per_s,
            opt(p.latency_ms_p99, 1),
            p.steps,
            p.wall_s
        );
    }
    out
}

const COLOURS: [&str; 8] = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"];

/// Throughput against clients, one line per series (log-scaled clients), as SVG.
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
        let mut mine: Vec<&PointResult> = points.iter().filter(|p| &p.series == name).collect();
        mine.sort_by_key(|p| p.clients);
        let path: Vec<String> = mine.iter().map(|p| format!("{:.1},{:.1}", x(p.clients), y(p.ok_per_s))).collect();
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
