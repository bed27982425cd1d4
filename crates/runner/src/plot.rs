//! SVG pictures of one run of one system, as Jepsen's latency plots show it: a person opens the
//! file instead of reading numbers.
//!
//! [`render_svg`] is pure: it takes a [`PlotInput`] and returns the document; the caller writes
//! it. Two panels share one time axis (simulated seconds):
//!
//! - top: one dot per operation at (invocation time, latency), latency on a log scale, coloured by
//!   [`PlotOutcome`] (Okabe-Ito colours, safe for colour-blind readers) and drawn filled, as a ring
//!   or outlined according to its function;
//! - bottom: availability, per bucket of invocation time the share of the operations invoked in
//!   it that ended ok, as a step line; hovering a bucket shows its counts (`<title>`).
//!
//! Fault windows are shaded in both panels; fault labels sit in a strip above them, each with a
//! dashed line down through both panels.
//!
//! Any input gives a readable file of bounded size: values that are not numbers, or that fall
//! outside the time axis, are skipped or clamped and counted in the legend; above 50 000
//! dots only the first dot of each 4-pixel cell and outcome is kept, as opaque as that outcome's
//! share of the cell, and the legend says so;
//! buckets, labels, windows and decades are capped. Floats are printed with fixed precision and
//! nothing iterates a hash map, so the same input gives the same bytes.
//!
//! This file holds the input types and turns the input into checked numbers: the axis, the
//! buckets, the dots (thinned when there are many). The private `draw` module writes each part of the picture.

use std::fmt::{self, Write as _};

/// Appends formatted text to an [`Svg`].
macro_rules! put {
    ($svg:expr, $($arg:tt)*) => { $svg.put(format_args!($($arg)*)) };
}

// After the macro: `draw` uses it.
mod draw;

use draw::{availability_panel, axes, fault_labels, fault_windows, legend, scatter, Notes};

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlotOutcome {
    /// It returned: it took effect (or read what it read).
    Ok,
    /// It definitely did not take effect.
    Fail,
    /// Nobody knows (a timeout): it may or may not have taken effect.
    Info,
}

/// One completed (or timed-out) operation.
#[derive(Debug, Clone, PartialEq)]
pub struct PlotOp {
    /// When the client invoked it, in simulated seconds since the run began.
    pub invoked_s: f64,
    /// From invocation until it completed or the client gave up on it, in milliseconds.
    pub latency_ms: f64,
    /// How it ended.
    pub outcome: PlotOutcome,
    /// Its function: read, write, cas, add.
    pub f: String,
}

/// Everything one picture shows.
#[derive(Debug, Clone)]
pub struct PlotInput<'a> {
    /// The headline, e.g. "isolate-one-node: quorum-one (seed 3)".
    pub title: &'a str,
    /// The line below it, e.g. the system's configuration.
    pub subtitle: &'a str,
    /// The operations, in any order.
    pub ops: &'a [PlotOp],
    /// Fault windows as (start, end) in seconds, shaded; an end past the run is clipped.
    pub fault_windows_s: &'a [(f64, f64)],
    /// Fault events as (time in seconds, label), e.g. (3.0, "isolate n1"), drawn at the top.
    pub fault_labels: &'a [(f64, String)],
    /// The right edge of the time axis in seconds: the run's end.
    pub end_s: f64,
    /// The width of an availability bucket in seconds (e.g. 0.25).
    pub bucket_s: f64,
}

/// Above this many dots the scatter is thinned, one dot per [`THIN_CELL_PX`] cell and outcome.
const THIN_ABOVE: usize = 50_000;
/// The side of a thinning cell, in pixels: at most ~50k cells of 3 outcomes fit the panel.
const THIN_CELL_PX: f64 = 4.0;
/// Up to this many dots, each carries a hover text; beyond it the file would grow for little.
const HOVER_DOTS_MAX: usize = 2_000;
/// The most availability buckets: about one per pixel; a finer bucket is widened.
const BUCKETS_MAX: f64 = 900.0;
const LABELS_MAX: usize = 200;
const WINDOWS_MAX: usize = 1_000;
/// Latency decades on the axis: 1 µs to 10^9 ms; anything beyond clamps to an edge.
const EXP_MIN: i32 = -3;
const EXP_MAX: i32 = 9;
/// The time axis in seconds: an end outside these is not a run anyone can read.
const END_MIN_S: f64 = 1e-3;
const END_MAX_S: f64 = 1e9;

const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 626.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 980.0;
const LEGEND_Y: f64 = 60.0;
const NOTES_Y: f64 = 74.0;
const NOTE_LINE_H: f64 = 12.0;
const LABEL_Y: f64 = 104.0;
const LABEL_ROW_H: f64 = 13.0;
const LABEL_ROWS: usize = 3;
const TOP_Y0: f64 = 138.0;
const TOP_Y1: f64 = 420.0;
const BOT_Y0: f64 = 450.0;
const BOT_Y1: f64 = 580.0;
const DOT_R: f64 = 2.5;
/// How far inside its frame each panel's range starts and ends.
const PAD_PX: f64 = 6.0;

const OK_COLOUR: &str = "#009E73";
const FAIL_COLOUR: &str = "#D55E00";
const INFO_COLOUR: &str = "#CC79A7";
const LINE_COLOUR: &str = "#0072B2";
/// Drawing order: failures last, so that they stay visible on top of a cloud of successes.
const OUTCOMES: [(PlotOutcome, &str, &str); 3] = [
    (PlotOutcome::Ok, "ok", OK_COLOUR),
    (PlotOutcome::Info, "info", INFO_COLOUR),
    (PlotOutcome::Fail, "fail", FAIL_COLOUR),
];
/// The legend's order: the enum's.
const LEGEND_OUTCOMES: [usize; 3] = [0, 2, 1];

/// The SVG document.
pub fn render_svg(input: &PlotInput<'_>) -> String {
    let end_s = axis_end_s(input.ops, input.end_s);
    let scale = Scale { end_s, decades: latency_decades(input.ops, end_s) };
    let bucket_s = bucket_width_s(input.bucket_s, end_s);
    let buckets = availability(input.ops, end_s, bucket_s);
    let (dots, undrawn) = place_dots(input.ops, &scale);
    let placed = dots.len();
    let dots = if placed > THIN_ABOVE { thin(dots) } else { dots };

    let mut svg = Svg(String::with_capacity(64 * dots.len() + 64 * buckets.len() + 16_384));
    put!(svg, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    put!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" \
         font-size=\"11\">\n<rect width=\"{WIDTH}\" height=\"{HEIGHT}\" fill=\"#fff\"/>\n"
    );
    fault_windows(&mut svg, input.fault_windows_s, &scale);
    axes(&mut svg, &scale);
    scatter(&mut svg, &dots, input.ops);
    availability_panel(&mut svg, &buckets, &scale, bucket_s);
    fault_labels(&mut svg, input.fault_labels, &scale);
    put!(svg, "<text x=\"{LEFT}\" y=\"22\" font-size=\"16\" font-weight=\"bold\">{}</text>\n", text(input.title, 90));
    put!(svg, "<text x=\"{LEFT}\" y=\"40\" font-size=\"12\" fill=\"#444\">{}</text>\n", text(input.subtitle, 125));
    legend(&mut svg, input.ops, Notes { placed, shown: dots.len(), undrawn });
    put!(svg, "</svg>\n");
    svg.0
}

/// The document being written. Writing into a `String` cannot fail, so the `fmt::Result` that
/// `write_fmt` returns for other sinks is dropped in one place, here.
struct Svg(String);

impl Svg {
    fn put(&mut self, args: fmt::Arguments<'_>) {
        let _ = self.0.write_fmt(args);
    }
}

/// Maps data to pixels. Every method clamps, so whatever comes in lands inside its panel.
struct Scale {
    end_s: f64,
    /// The lowest and highest decade of the latency axis, as powers of ten of milliseconds.
    decades: (i32, i32),
}

impl Scale {
    fn x(&self, t_s: f64) -> f64 {
        LEFT + (t_s / self.end_s).clamp(0.0, 1.0) * (RIGHT - LEFT)
    }

    /// The decades sit a few pixels inside the frame, so that a dot on one (a 1000 ms timeout)
    /// is whole. Latencies at or below the lowest decade (0, negative) sit on it, finite ones above
    /// the highest on that; an infinite one on the frame's top edge.
    fn y_latency(&self, ms: f64) -> f64 {
        if ms == f64::INFINITY {
            return TOP_Y0;
        }
        let (lo, hi) = (f64::from(self.decades.0), f64::from(self.decades.1));
        let exp = if ms > 0.0 { ms.log10() } else { lo };
        let (bottom, top) = (TOP_Y1 - PAD_PX, TOP_Y0 + PAD_PX);
        bottom - ((exp - lo) / (hi - lo)).clamp(0.0, 1.0) * (bottom - top)
    }

    /// 0 % and 100 % sit a few pixels inside the frame, so that the line stays visible on them.
    fn y_share(share: f64) -> f64 {
        let (bottom, top) = (BOT_Y1 - PAD_PX, BOT_Y0 + PAD_PX);
        bottom - share.clamp(0.0, 1.0) * (bottom - top)
    }

    fn on_axis(&self, t_s: f64) -> bool {
        t_s.is_finite() && (0.0..=self.end_s).contains(&t_s)
    }
}

/// `end_s` when it is a usable number, else the latest invocation; clamped to a readable range.
fn axis_end_s(ops: &[PlotOp], end_s: f64) -> f64 {
    let end = if end_s.is_finite() && end_s > 0.0 {
        end_s
    } else {
        ops.iter().map(|op| op.invoked_s).filter(|t| t.is_finite() && *t > 0.0).fold(1.0, f64::max)
    };
    end.clamp(END_MIN_S, END_MAX_S)
}

/// The decades that cover every positive, finite latency of an operation on the axis.
fn latency_decades(ops: &[PlotOp], end_s: f64) -> (i32, i32) {
    let positive = ops
        .iter()
        .filter(|op| op.invoked_s.is_finite() && (0.0..=end_s).contains(&op.invoked_s))
        .map(|op| op.latency_ms)
        .filter(|ms| ms.is_finite() && *ms > 0.0);
    let (min, max) = positive.fold((f64::INFINITY, 0.0_f64), |(lo, hi), ms| (lo.min(ms), hi.max(ms)));
    if max <= 0.0 {
        return (0, 1);
    }
    // Both logs are finite here (0 < min <= max < inf); the casts saturate before the clamp.
    let lo = (min.log10().floor() as i32).clamp(EXP_MIN, EXP_MAX - 1);
    let hi = (max.log10().ceil() as i32).clamp(lo + 1, EXP_MAX);
    (lo, hi)
}

/// The bucket width to use: the asked one if usable, widened by a whole factor when it would
/// give more than [`BUCKETS_MAX`] buckets, so that bucket edges stay where the caller put them.
fn bucket_width_s(bucket_s: f64, end_s: f64) -> f64 {
    let asked = if bucket_s.is_finite() && bucket_s > 0.0 { bucket_s } else { end_s / 40.0 };
    let factor = (end_s / asked / BUCKETS_MAX).ceil().max(1.0);
    let width = asked * factor;
    // A subnormal bucket overflows the ratio: the default is the only width left to use.
    if width.is_finite() {
        width
    } else {
        end_s / 40.0
    }
}

/// One availability bucket: the operations invoked in `[start_s, end_s)`.
#[derive(Debug, Clone, PartialEq)]
struct Bucket {
    start_s: f64,
    end_s: f64,
    ops: usize,
    ok: usize,
}

/// Per bucket, how many operations were invoked in it and how many of those ended ok. An
/// operation invoked exactly at the axis end counts in the last bucket.
fn availability(ops: &[PlotOp], end_s: f64, bucket_s: f64) -> Vec<Bucket> {
    // bucket_width_s bounds the count to BUCKETS_MAX (+1 for rounding).
    let n = ((end_s / bucket_s).ceil() as usize).clamp(1, BUCKETS_MAX as usize + 1);
    let mut buckets: Vec<Bucket> = (0..n)
        .map(|i| Bucket { start_s: i as f64 * bucket_s, end_s: ((i + 1) as f64 * bucket_s).min(end_s), ops: 0, ok: 0 })
        .collect();
    for op in ops.iter().filter(|op| op.invoked_s.is_finite() && (0.0..=end_s).contains(&op.invoked_s)) {
        let i = ((op.invoked_s / bucket_s) as usize).min(n - 1);
        if let Some(bucket) = buckets.get_mut(i) {
            bucket.ops += 1;
            bucket.ok += usize::from(op.outcome == PlotOutcome::Ok);
        }
    }
    buckets
}

/// How a dot is drawn, by the operation's function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Filled,
    Ring,
    Outlined,
}

const MARKS: [Mark; 3] = [Mark::Filled, Mark::Outlined, Mark::Ring];

/// Reads filled, writes and adds as rings (they change state), compare-and-set outlined.
fn mark_of(f: &str) -> Mark {
    match f {
        "write" | "add" => Mark::Ring,
        "cas" => Mark::Outlined,
        _ => Mark::Filled,
    }
}

#[derive(Debug, Clone, Copy)]
struct Dot {
    x: f64,
    y: f64,
    outcome: PlotOutcome,
    mark: Mark,
    op: usize,
    /// After thinning: the share of its cell's operations that ended with its outcome.
    share: Option<f64>,
}

/// A dot for every operation on the time axis whose latency is a number (an infinite or negative
/// latency clamps to an edge); the count of the others.
fn place_dots(ops: &[PlotOp], scale: &Scale) -> (Vec<Dot>, usize) {
    let mut dots = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        if scale.on_axis(op.invoked_s) && !op.latency_ms.is_nan() {
            let (x, y) = (scale.x(op.invoked_s), scale.y_latency(op.latency_ms));
            dots.push(Dot { x, y, outcome: op.outcome, mark: mark_of(&op.f), op: i, share: None });
        }
    }
    let undrawn = ops.len() - dots.len();
    (dots, undrawn)
}

/// Keeps the first dot (in input order) of each pixel cell and outcome, so that the picture keeps
/// its shape and a rare outcome stays visible where it occurs; each kept dot's opacity is its
/// outcome's share of the cell, so that a failure among a hundred successes does not look like a
/// hundred failures.
fn thin(dots: Vec<Dot>) -> Vec<Dot> {
    let cols = ((RIGHT - LEFT) / THIN_CELL_PX) as usize + 1;
    let rows = ((TOP_Y1 - TOP_Y0) / THIN_CELL_PX) as usize + 1;
    let outcomes = OUTCOMES.len();
    let slot = |dot: &Dot| {
        let col = (((dot.x - LEFT) / THIN_CELL_PX) as usize).min(cols - 1);
        let row = (((dot.y - TOP_Y0) / THIN_CELL_PX) as usize).min(rows - 1);
        let outcome = OUTCOMES.iter().position(|(o, _, _)| *o == dot.outcome).unwrap_or(0);
        (row * cols + col) * outcomes + outcome
    };
    let mut counts = vec![0_u32; cols * rows * outcomes];
    for dot in &dots {
        if let Some(count) = counts.get_mut(slot(dot)) {
            *count = count.saturating_add(1);
        }
    }
    let mut taken = vec![false; counts.len()];
    let mut kept = Vec::new();
    for mut dot in dots {
        let i = slot(&dot);
        let cell = i - i % outcomes;
        let Some(first) = taken.get_mut(i).filter(|taken| !**taken) else { continue };
        *first = true;
        let all: u32 = counts.get(cell..cell + outcomes).map_or(1, |c| c.iter().sum());
        dot.share = Some(f64::from(counts.get(i).copied().unwrap_or(1)) / f64::from(all.max(1)));
        kept.push(dot);
    }
    kept
}

/// Text for an element: at most `max_chars` characters, escaped.
fn text(s: &str, max_chars: usize) -> String {
    escape(&clip(s, max_chars))
}

/// At most `max_chars` characters, the last one an ellipsis when something was cut.
fn clip(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_owned();
    }
    let mut cut: String = s.chars().take(max_chars.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// XML-escaped text; characters XML 1.0 cannot carry (most control characters) become U+FFFD.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// A rough width for 11 px sans-serif text, enough to keep labels apart.
fn text_width(s: &str, font_px: f64) -> f64 {
    s.chars().count() as f64 * font_px * 0.6
}

#[cfg(test)]
mod tests;
