//! Drawing: each part of the picture written into the document, from numbers that the parent
//! module has already checked and placed (see [`super::render_svg`] for the order).

use std::collections::BTreeMap;

use super::*;

/// How many functions the legend lists before it says "+N more".
const LEGEND_FUNCTIONS_MAX: usize = 6;

/// A dot group's attributes for a mark ([`mark_of`]) in an outcome's colour.
fn group_style(mark: Mark, colour: &str) -> String {
    match mark {
        Mark::Filled => format!("fill=\"{colour}\" fill-opacity=\"0.8\""),
        Mark::Ring => format!("fill=\"none\" stroke=\"{colour}\" stroke-width=\"1.2\""),
        Mark::Outlined => format!("fill=\"{colour}\" stroke=\"#222\" stroke-width=\"0.7\""),
    }
}

/// The dots, one group per outcome and mark. The `dots` markers let tests find the scatter.
pub(super) fn scatter(svg: &mut Svg, dots: &[Dot], ops: &[PlotOp]) {
    let hover = dots.len() <= HOVER_DOTS_MAX;
    put!(svg, "<g id=\"dots\">\n");
    for (outcome, name, colour) in OUTCOMES {
        for mark in MARKS {
            let mut group = dots.iter().filter(|d| d.outcome == outcome && d.mark == mark).peekable();
            if group.peek().is_none() {
                continue;
            }
            put!(svg, "<g {}>\n", group_style(mark, colour));
            for dot in group {
                put!(svg, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{DOT_R}\"", dot.x, dot.y);
                if let Some(share) = dot.share {
                    put!(svg, " opacity=\"{:.2}\"", 0.15 + 0.85 * share);
                }
                match ops.get(dot.op).filter(|_| hover) {
                    Some(op) => put!(
                        svg,
                        "><title>{} {name} at {:.3} s: {}</title></circle>\n",
                        text(&op.f, 16),
                        op.invoked_s,
                        latency_text(op.latency_ms)
                    ),
                    None => put!(svg, "/>\n"),
                }
            }
            put!(svg, "</g>\n");
        }
    }
    put!(svg, "</g><!-- /dots -->\n");
}

/// A latency for a hover text; one that is not finite was drawn at an edge, and says so.
fn latency_text(ms: f64) -> String {
    if ms.is_finite() {
        format!("{ms:.2} ms")
    } else {
        "latency not finite, drawn at the edge".to_owned()
    }
}

/// Shades each window, clipped to the axis, in both panels.
pub(super) fn fault_windows(svg: &mut Svg, windows: &[(f64, f64)], scale: &Scale) {
    for &(start, end) in windows.iter().take(WINDOWS_MAX) {
        if start.is_nan() || end.is_nan() {
            continue;
        }
        let (start, end) = (start.max(0.0), end.min(scale.end_s));
        if end <= start {
            continue;
        }
        let (x0, x1) = (scale.x(start), scale.x(end));
        for (y0, y1) in [(TOP_Y0, TOP_Y1), (BOT_Y0, BOT_Y1)] {
            put!(
                svg,
                "<rect class=\"fault\" x=\"{x0:.1}\" y=\"{y0}\" width=\"{:.1}\" height=\"{}\" fill=\"#000\" \
                 fill-opacity=\"0.08\"><title>fault {start:.3}–{end:.3} s</title></rect>\n",
                x1 - x0,
                y1 - y0
            );
        }
    }
}

/// Each label's dashed line, and its text in the first of [`LABEL_ROWS`] rows where it overlaps
/// nothing. When every row is taken there, the text is left out (overlapping texts read as
/// nothing) and a note says so; every line names its label on hover, through a wide invisible
/// stroke that a pointer can find.
pub(super) fn fault_labels(svg: &mut Svg, labels: &[(f64, String)], scale: &Scale) {
    let mut shown: Vec<(f64, &str)> =
        labels.iter().filter(|(t, _)| scale.on_axis(*t)).map(|(t, label)| (*t, label.as_str())).collect();
    shown.sort_by(|a, b| a.0.total_cmp(&b.0));
    shown.truncate(LABELS_MAX);
    let mut row_end = [f64::NEG_INFINITY; LABEL_ROWS];
    let (mut texts, mut hidden) = (Svg(String::new()), 0);
    for (t, label) in shown {
        let label = clip(label, 40);
        let x = scale.x(t);
        let width = text_width(&label, 11.0);
        // A label that would run off the right edge ends at its line instead.
        let (x0, x1, tx, anchor) = if x + 3.0 + width > WIDTH - 4.0 {
            (x - 3.0 - width, x, x - 3.0, "end")
        } else {
            (x, x + 3.0 + width, x + 3.0, "start")
        };
        let row = (0..LABEL_ROWS).find(|&r| row_end[r] + 6.0 <= x0);
        let y0 = match row {
            Some(row) => {
                row_end[row] = x1;
                let y = LABEL_Y + row as f64 * LABEL_ROW_H;
                // The halo hides the dashed lines of other labels that pass behind this one.
                put!(
                    texts,
                    "<text class=\"fault-label\" x=\"{tx:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\" fill=\"#333\" \
                     stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">{}</text>\n",
                    escape(&label)
                );
                y + 2.0
            }
            None => {
                hidden += 1;
                TOP_Y0
            }
        };
        put!(
            svg,
            "<g><line x1=\"{x:.1}\" y1=\"{y0:.1}\" x2=\"{x:.1}\" y2=\"{BOT_Y1}\" stroke=\"#666\" stroke-dasharray=\"3 3\"/>\
             <line x1=\"{x:.1}\" y1=\"{y0:.1}\" x2=\"{x:.1}\" y2=\"{BOT_Y1}\" stroke=\"#000\" stroke-opacity=\"0\" \
             stroke-width=\"7\"/><title>{t:.3} s: {}</title></g>\n",
            escape(&label)
        );
    }
    svg.0.push_str(&texts.0);
    if hidden > 0 {
        let what = if hidden == 1 { "label" } else { "labels" };
        put!(
            svg,
            "<text x=\"{RIGHT}\" y=\"{}\" text-anchor=\"end\" font-size=\"10\" fill=\"#555\">{hidden} fault {what} \
             left out for room: hover the dashed lines</text>\n",
            BOT_Y1 + 36.0
        );
    }
}

/// Grid, ticks, tick labels, axis titles and panel frames.
pub(super) fn axes(svg: &mut Svg, scale: &Scale) {
    let step = nice_step(scale.end_s / 10.0);
    let decimals = if step >= 1.0 { 0 } else { ((-step.log10()).ceil() as usize).min(6) };
    // A bounded loop: nice_step gives at most ~14 ticks over the axis.
    for k in 0..=50_u32 {
        let t_s = f64::from(k) * step;
        if t_s > scale.end_s * (1.0 + 1e-9) {
            break;
        }
        let x = scale.x(t_s);
        for (y0, y1) in [(TOP_Y0, TOP_Y1), (BOT_Y0, BOT_Y1)] {
            put!(svg, "<line x1=\"{x:.1}\" y1=\"{y0}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#e4e4e4\"/>\n", y1 + 4.0);
            put!(svg, "<line x1=\"{x:.1}\" y1=\"{y1}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#666\"/>\n", y1 + 4.0);
        }
        put!(svg, "<text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{t_s:.decimals$}</text>\n", BOT_Y1 + 16.0);
    }
    put!(
        svg,
        "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">time since the run began (simulated s)</text>\n",
        (LEFT + RIGHT) / 2.0,
        BOT_Y1 + 36.0
    );
    let (lo, hi) = scale.decades;
    for exp in lo..=hi {
        let y = scale.y_latency(10_f64.powi(exp));
        put!(svg, "<line x1=\"{}\" y1=\"{y:.1}\" x2=\"{RIGHT}\" y2=\"{y:.1}\" stroke=\"#e4e4e4\"/>\n", LEFT - 4.0);
        put!(svg, "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n", LEFT - 7.0, y + 4.0, decade_label(exp));
        // Minor ticks at 2..9 times the decade, while there is room for them.
        if exp < hi && hi - lo <= 6 {
            for m in 2..=9 {
                let y = scale.y_latency(f64::from(m) * 10_f64.powi(exp));
                put!(svg, "<line x1=\"{}\" y1=\"{y:.1}\" x2=\"{LEFT}\" y2=\"{y:.1}\" stroke=\"#666\"/>\n", LEFT - 3.0);
            }
        }
    }
    for pct in [0_u32, 25, 50, 75, 100] {
        let y = Scale::y_share(f64::from(pct) / 100.0);
        put!(svg, "<line x1=\"{}\" y1=\"{y:.1}\" x2=\"{RIGHT}\" y2=\"{y:.1}\" stroke=\"#e4e4e4\"/>\n", LEFT - 4.0);
        if pct % 50 == 0 {
            put!(svg, "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{pct} %</text>\n", LEFT - 7.0, y + 4.0);
        }
    }
    for (title, y0, y1) in [("latency (ms, log scale)", TOP_Y0, TOP_Y1), ("ok (%)", BOT_Y0, BOT_Y1)] {
        let mid = (y0 + y1) / 2.0;
        put!(svg, "<text transform=\"rotate(-90)\" x=\"{:.1}\" y=\"20\" text-anchor=\"middle\">{title}</text>\n", -mid);
        put!(
            svg,
            "<rect x=\"{LEFT}\" y=\"{y0}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\n",
            RIGHT - LEFT,
            y1 - y0
        );
    }
}

/// 1, 2 or 5 times a power of ten, near `raw`.
fn nice_step(raw: f64) -> f64 {
    let magnitude = 10_f64.powi(raw.log10().floor() as i32);
    let norm = raw / magnitude;
    let factor = if norm < 1.5 {
        1.0
    } else if norm < 3.5 {
        2.0
    } else if norm < 7.5 {
        5.0
    } else {
        10.0
    };
    factor * magnitude
}

fn decade_label(exp: i32) -> String {
    match exp {
        e if e < 0 => format!("{:.*}", e.unsigned_abs() as usize, 10_f64.powi(e)),
        e if e <= 6 => 10_u64.pow(e.unsigned_abs()).to_string(),
        e => format!("1e{e}"),
    }
}

/// Seconds with up to three decimals and no trailing zeros: "0.25", "2".
fn seconds(value_s: f64) -> String {
    let fixed = format!("{value_s:.3}");
    fixed.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// The step line of the ok share (with a light area under it), gaps where a bucket is empty, and
/// one transparent rectangle per bucket that shows its counts on hover.
pub(super) fn availability_panel(svg: &mut Svg, buckets: &[Bucket], scale: &Scale, bucket_s: f64) {
    put!(
        svg,
        "<text x=\"{LEFT}\" y=\"{}\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">availability: share of the operations invoked in each {} s that ended ok</text>\n",
        BOT_Y0 - 7.0,
        seconds(bucket_s)
    );
    let (mut line, mut area) = (String::new(), String::new());
    let base = Scale::y_share(0.0);
    let mut previous: Option<usize> = None;
    for (i, bucket) in buckets.iter().enumerate() {
        if bucket.ops == 0 {
            if previous.take().is_some() {
                area.push_str(&format!(" V{base:.1} Z"));
            }
            continue;
        }
        let (x0, x1) = (scale.x(bucket.start_s), scale.x(bucket.end_s));
        let y = Scale::y_share(bucket.ok as f64 / bucket.ops as f64);
        if previous.is_some_and(|p| p + 1 == i) {
            line.push_str(&format!(" V{y:.1} H{x1:.1}"));
            area.push_str(&format!(" V{y:.1} H{x1:.1}"));
        } else {
            line.push_str(&format!(" M{x0:.1} {y:.1} H{x1:.1}"));
            area.push_str(&format!(" M{x0:.1} {base:.1} V{y:.1} H{x1:.1}"));
        }
        previous = Some(i);
    }
    if previous.is_some() {
        area.push_str(&format!(" V{base:.1} Z"));
    }
    if !line.is_empty() {
        put!(svg, "<path d=\"{}\" fill=\"{LINE_COLOUR}\" fill-opacity=\"0.15\"/>\n", area.trim_start());
        put!(svg, "<path d=\"{}\" fill=\"none\" stroke=\"{LINE_COLOUR}\" stroke-width=\"1.5\"/>\n", line.trim_start());
    }
    put!(svg, "<g fill=\"#000\" fill-opacity=\"0\">\n");
    for bucket in buckets {
        let (x0, x1) = (scale.x(bucket.start_s), scale.x(bucket.end_s));
        let what = if bucket.ops == 0 {
            "no operations invoked".to_owned()
        } else {
            let pct = 100.0 * bucket.ok as f64 / bucket.ops as f64;
            format!("{} operations, {} ok ({pct:.1} %)", bucket.ops, bucket.ok)
        };
        put!(
            svg,
            "<rect x=\"{x0:.1}\" y=\"{BOT_Y0}\" width=\"{:.1}\" height=\"{}\"><title>{:.3}–{:.3} s: {what}</title></rect>\n",
            x1 - x0,
            BOT_Y1 - BOT_Y0,
            bucket.start_s,
            bucket.end_s
        );
    }
    put!(svg, "</g>\n");
}

/// What the legend says about dots that are not drawn one per operation.
pub(super) struct Notes {
    pub(super) placed: usize,
    pub(super) shown: usize,
    pub(super) undrawn: usize,
}

/// Counts per outcome, the mark of each function, and notes on what is not drawn.
pub(super) fn legend(svg: &mut Svg, ops: &[PlotOp], notes: Notes) {
    let mut functions: BTreeMap<&str, usize> = BTreeMap::new();
    for op in ops {
        *functions.entry(op.f.as_str()).or_default() += 1;
    }
    let mut x = LEFT;
    for (outcome, name, colour) in LEGEND_OUTCOMES.map(|i| OUTCOMES[i]) {
        let count = ops.iter().filter(|op| op.outcome == outcome).count();
        let label = if outcome == PlotOutcome::Ok && !ops.is_empty() {
            format!("{name} {count} ({:.1} %)", 100.0 * count as f64 / ops.len() as f64)
        } else {
            format!("{name} {count}")
        };
        x = legend_item(svg, x, &group_style(Mark::Filled, colour), &label);
    }
    x += 16.0;
    for (f, count) in functions.iter().take(LEGEND_FUNCTIONS_MAX) {
        x = legend_item(svg, x, &group_style(mark_of(f), "#777"), &format!("{} {count}", clip(f, 16)));
    }
    if functions.len() > LEGEND_FUNCTIONS_MAX {
        put!(svg, "<text x=\"{x:.1}\" y=\"{LEGEND_Y}\">+{} more</text>\n", functions.len() - LEGEND_FUNCTIONS_MAX);
    }
    let mut said = Vec::new();
    if ops.is_empty() {
        said.push("no operations".to_owned());
    }
    if notes.shown < notes.placed {
        said.push(format!(
            "{} of {} dots drawn (thinned above {THIN_ABOVE}): one per {THIN_CELL_PX} px cell and outcome, \
             as opaque as the outcome's share of the cell",
            notes.shown, notes.placed
        ));
    }
    if notes.undrawn > 0 {
        let what = if notes.undrawn == 1 { "operation" } else { "operations" };
        said.push(format!(
            "{} {what} not drawn: time or latency not a number, or outside the time axis",
            notes.undrawn
        ));
    }
    // At most two notes: "no operations" comes alone.
    for (line, note) in said.iter().enumerate() {
        let y = NOTES_Y + line as f64 * NOTE_LINE_H;
        put!(svg, "<text x=\"{LEFT}\" y=\"{y}\" font-size=\"10\" fill=\"#555\">{note}</text>\n");
    }
}

/// One swatch and its label at `x`; returns where the next item starts.
fn legend_item(svg: &mut Svg, x: f64, style: &str, label: &str) -> f64 {
    put!(svg, "<circle cx=\"{:.1}\" cy=\"{}\" r=\"4\" {style}/>\n", x + 4.0, LEGEND_Y - 4.0);
    put!(svg, "<text x=\"{:.1}\" y=\"{LEGEND_Y}\">{}</text>\n", x + 12.0, escape(label));
    x + 12.0 + text_width(label, 11.0) + 14.0
}
