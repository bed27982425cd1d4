//! The staleness plot: probability that a read returns the write versus the wait t, one
//! colour per (N, R, W): the WARS model as a line, the measurements as dots with their 95 %
//! intervals. Deterministic SVG text (fixed precision, file order).

use std::fmt::Write as _;
use std::time::Duration;

use pbs::{predict, Wars};

use super::report::Point;
use experiment::staleness::StalenessSpec;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 440.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 190.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;
const COLOURS: [&str; 8] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"];
/// Model evaluations along the curve.
const CURVE_STEPS: u32 = 40;
/// Draws per curve evaluation (the table's model column uses the file's `model_samples`).
const CURVE_SAMPLES: u64 = 20_000;

/// The SVG for profile `profile` (index `p` in the file) and its points.
pub fn render(spec: &StalenessSpec, p: usize, profile: &str, delays: &Wars, points: &[&Point]) -> String {
    let t_max = spec.waits.last().map_or(1.0, |d| d.as_secs_f64() * 1000.0).max(1e-3);
    let lowest = points.iter().map(|x| x.interval95.0.min(x.model)).fold(1.0, f64::min);
    // Gridlines every 10 points, or every 20 when the range is wider than half the axis.
    let step = if lowest >= 0.5 { 0.1 } else { 0.2 };
    let y_min = ((lowest / step).floor() * step).clamp(0.0, 0.9);
    let lines = ((1.0 - y_min) / step).round() as i32;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |t: f64| LEFT + t / t_max * plot_w;
    let y = |v: f64| TOP + (1.0 - (v - y_min) / (1.0 - y_min)) * plot_h;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{LEFT}\" y=\"22\" font-size=\"14\">{} - P(read returns the write) vs t after the acknowledgement</text>\n",
        escape(profile)
    );
    // Axes and grid.
    let _ = writeln!(
        svg,
        "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{plot_w}\" height=\"{plot_h}\" fill=\"none\" stroke=\"#444\"/>"
    );
    for i in 0..=lines {
        let v = y_min + step * f64::from(i);
        let _ = writeln!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{:.0} %</text>",
            LEFT + plot_w,
            LEFT - 6.0,
            y(v) + 4.0,
            v * 100.0,
            yy = y(v)
        );
    }
    for i in 0..=5 {
        let t = t_max * f64::from(i) / 5.0;
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x(t),
            TOP + plot_h + 18.0,
            trim(t)
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">t (ms)</text>",
        LEFT + plot_w / 2.0,
        HEIGHT - 12.0
    );
    for (q, quorums) in spec.quorums.iter().enumerate() {
        let colour = COLOURS[q % COLOURS.len()];
        let mut path = String::new();
        for step in 0..=CURVE_STEPS {
            let t = t_max * f64::from(step) / f64::from(CURVE_STEPS);
            let seed = spec.seed ^ 0xc0ffee ^ ((p as u64) << 40) ^ ((q as u64) << 20) ^ u64::from(step);
            let v = predict(*quorums, delays, Duration::from_secs_f64(t / 1000.0), CURVE_SAMPLES, seed);
            let _ = write!(path, "{}{:.1},{:.1} ", if step == 0 { "M" } else { "L" }, x(t), y(v.max(y_min)));
        }
        let _ =
            writeln!(svg, "<path d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.5\"/>", path.trim_end());
        for point in points.iter().filter(|pt| pt.quorums == *quorums) {
            let (cx, lo, hi) = (x(point.wait_ms), y(point.interval95.0.max(y_min)), y(point.interval95.1));
            let _ = writeln!(
                svg,
                "<line x1=\"{cx:.1}\" x2=\"{cx:.1}\" y1=\"{lo:.1}\" y2=\"{hi:.1}\" stroke=\"{colour}\"/><circle cx=\"{cx:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"/>",
                y(point.measured.max(y_min))
            );
        }
        let ly = TOP + 10.0 + 20.0 * q as f64;
        let lx = LEFT + plot_w + 16.0;
        let _ = writeln!(
            svg,
            "<line x1=\"{lx:.1}\" x2=\"{:.1}\" y1=\"{ly:.1}\" y2=\"{ly:.1}\" stroke=\"{colour}\" stroke-width=\"1.5\"/><circle cx=\"{:.1}\" cy=\"{ly:.1}\" r=\"3\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            lx + 24.0,
            lx + 12.0,
            lx + 30.0,
            ly + 4.0,
            escape(&quorums.to_string())
        );
    }
    let ly = TOP + 20.0 + 20.0 * spec.quorums.len() as f64;
    let _ = writeln!(
        svg,
        "<text x=\"{:.1}\" y=\"{ly:.1}\" fill=\"#555\">line: WARS model</text><text x=\"{:.1}\" y=\"{:.1}\" fill=\"#555\">dots: measured, 95 %</text>",
        LEFT + plot_w + 16.0,
        LEFT + plot_w + 16.0,
        ly + 16.0
    );
    svg.push_str("</svg>\n");
    svg
}

fn trim(v: f64) -> String {
    let text = format!("{v:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}
