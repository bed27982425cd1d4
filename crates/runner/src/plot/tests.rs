//! The picture is well-formed XML for any input, shows what it was given (a circle per
//! operation, a shaded rectangle per window, escaped labels), is the same bytes every time, and
//! stays small for a million operations.

use proptest::prelude::*;

use super::*;

fn op(invoked_s: f64, latency_ms: f64, outcome: PlotOutcome, f: &str) -> PlotOp {
    PlotOp { invoked_s, latency_ms, outcome, f: f.to_owned() }
}

fn input<'a>(ops: &'a [PlotOp], windows: &'a [(f64, f64)], labels: &'a [(f64, String)]) -> PlotInput<'a> {
    PlotInput {
        title: "isolate-one-node: quorum-one (seed 3)",
        subtitle: "N=3 R=1 W=1",
        ops,
        fault_windows_s: windows,
        fault_labels: labels,
        end_s: 10.0,
        bucket_s: 0.25,
    }
}

/// Checks that `doc` is one well-formed XML document (declaration, one root element, balanced
/// tags, quoted attributes without duplicates, only the five predefined entities); returns the
/// number of elements.
fn check_xml(doc: &str) -> Result<usize, String> {
    let mut rest = doc.strip_prefix("<?xml ").ok_or("no XML declaration")?;
    rest = &rest[rest.find("?>").ok_or("unterminated declaration")? + 2..];
    let (mut stack, mut elements, mut roots) = (Vec::<&str>::new(), 0, 0);
    while let Some(open) = rest.find('<') {
        check_text(&rest[..open])?;
        if stack.is_empty() && !rest[..open].trim().is_empty() {
            return Err(format!("text outside the root: {:?}", &rest[..open]));
        }
        rest = &rest[open..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            rest = &comment[comment.find("-->").ok_or("unterminated comment")? + 3..];
            continue;
        }
        let close = tag_end(rest)?;
        let tag = &rest[1..close];
        rest = &rest[close + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            match stack.pop() {
                Some(open) if open == name.trim() => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
            continue;
        }
        let self_closing = tag.ends_with('/');
        let body = tag.trim_end_matches('/');
        let name = body.split_whitespace().next().ok_or("empty tag")?;
        check_attributes(&body[name.len()..])?;
        elements += 1;
        if stack.is_empty() {
            roots += 1;
        }
        if !self_closing {
            stack.push(name);
        }
    }
    check_text(rest)?;
    match (stack.is_empty(), roots, rest.trim().is_empty()) {
        (true, 1, true) => Ok(elements),
        _ => Err(format!("unclosed {stack:?}, {roots} roots, trailing {rest:?}")),
    }
}

/// Where the tag that starts `s` ends: the first `>` outside a quoted value.
fn tag_end(s: &str) -> Result<usize, String> {
    let mut quoted = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => return Err(format!("`<` inside a tag: {:?}", &s[..i])),
            '>' if !quoted => return Ok(i),
            _ => {}
        }
    }
    Err("unterminated tag".to_owned())
}

fn check_text(text: &str) -> Result<(), String> {
    for (i, _) in text.match_indices('&') {
        let entity = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].iter().any(|e| text[i..].starts_with(e));
        if !entity {
            return Err(format!("bare `&` in {text:?}"));
        }
    }
    match text.chars().find(|c| *c < ' ' && !matches!(c, '\t' | '\n' | '\r')) {
        Some(c) => Err(format!("control character {c:?} in {text:?}")),
        None => Ok(()),
    }
}

fn check_attributes(mut s: &str) -> Result<(), String> {
    let mut names = Vec::new();
    while !s.trim().is_empty() {
        let (name, after) = s.trim_start().split_once("=\"").ok_or(format!("bad attribute in {s:?}"))?;
        let (value, after) = after.split_once('"').ok_or("unterminated value")?;
        if names.contains(&name) || name.contains(char::is_whitespace) || value.contains('<') {
            return Err(format!("bad or duplicate attribute {name:?}={value:?}"));
        }
        check_text(value)?;
        names.push(name);
        s = after;
    }
    Ok(())
}

/// The scatter's part of the document.
fn dots_section(doc: &str) -> &str {
    let start = doc.find("<g id=\"dots\">").expect("a dots group");
    let end = doc.find("<!-- /dots -->").expect("the end of the dots group");
    &doc[start..end]
}

/// The value of attribute `name` in each `<tag` element that has `marker` in it.
fn attributes(doc: &str, marker: &str, name: &str) -> Vec<f64> {
    doc.split('<')
        .filter(|tag| tag.contains(marker))
        .filter_map(|tag| tag.split(&format!(" {name}=\"")).nth(1)?.split('"').next()?.parse().ok())
        .collect()
}

/// Whether a float that is not a number was printed ("info" is the outcome's name).
fn prints_a_non_number(doc: &str) -> bool {
    doc.contains("NaN") || doc.replace("info", "").contains("inf")
}

fn assert_well_formed(doc: &str) {
    if let Err(e) = check_xml(doc) {
        panic!("not well-formed: {e}");
    }
}

#[test]
fn the_checker_refuses_broken_documents() {
    let head = "<?xml version=\"1.0\"?>\n";
    assert!(check_xml(&format!("{head}<svg><g></g></svg>")).is_ok());
    for bad in ["<svg><g></svg>", "<svg>a & b</svg>", "<svg x=\"1\" x=\"2\"/>", "<svg/><svg/>", "<svg x=\"<\"/>"] {
        assert!(check_xml(&format!("{head}{bad}")).is_err(), "{bad}");
    }
}

#[test]
fn a_small_run_gets_one_circle_per_operation() {
    let fs = ["read", "write", "cas", "add"];
    let outcomes = [PlotOutcome::Ok, PlotOutcome::Fail, PlotOutcome::Info];
    let ops: Vec<PlotOp> = (0..37)
        .map(|i| op(f64::from(i) * 0.25, 1.0 + f64::from(i * i), outcomes[i as usize % 3], fs[i as usize % 4]))
        .collect();
    let doc = render_svg(&input(&ops, &[], &[]));
    assert_well_formed(&doc);
    assert_eq!(dots_section(&doc).matches("<circle").count(), 37);
    assert_eq!(dots_section(&doc).matches("<title>").count(), 37, "small runs hover per dot");
    assert!(doc.contains("ok 13 (35.1 %)") && doc.contains("fail 12") && doc.contains("info 12"), "legend counts");
    assert!(doc.contains(">read 10<") && doc.contains(">write 9<"), "legend per function");
}

#[test]
fn fault_windows_are_shaded_in_both_panels_and_clipped_to_the_axis() {
    let windows = [(2.0, 4.0), (8.0, 100.0), (f64::NAN, 3.0), (5.0, 5.0), (-1.0, 1.0), (12.0, 14.0)];
    let doc = render_svg(&input(&[], &windows, &[]));
    assert_well_formed(&doc);
    let xs = attributes(&doc, "class=\"fault\"", "x");
    let widths = attributes(&doc, "class=\"fault\"", "width");
    // Three usable windows, each shaded twice; 908 px span 10 s.
    assert_eq!(xs, vec![253.6, 253.6, 798.4, 798.4, 72.0, 72.0]);
    assert_eq!(widths, vec![181.6, 181.6, 181.6, 181.6, 90.8, 90.8]);
}

#[test]
fn titles_labels_and_functions_are_escaped() {
    let labels = [(3.0, "isolate <n1> & \"n2\"".to_owned()), (f64::NAN, "never".to_owned())];
    let ops = [op(1.0, 5.0, PlotOutcome::Ok, "r<&>")];
    let mut plot = input(&ops, &[], &labels);
    plot.title = "a<b & 'c'\u{1}";
    let doc = render_svg(&plot);
    assert_well_formed(&doc);
    assert!(doc.contains("isolate &lt;n1&gt; &amp; &quot;n2&quot;"));
    assert!(doc.contains("a&lt;b &amp; &apos;c&apos;\u{FFFD}"));
    assert!(doc.contains("r&lt;&amp;&gt; ok at 1.000 s"));
    assert!(!doc.contains("never"), "a label at no time is not drawn");
    assert!(!doc.contains("<n1>") && !doc.contains("r<&>"));
}

#[test]
fn labels_that_would_overlap_go_to_separate_rows() {
    let labels = [(1.0, "isolate n1".to_owned()), (1.1, "heal".to_owned()), (9.95, "a label near the end".to_owned())];
    let doc = render_svg(&input(&[], &[], &labels));
    let ys = attributes(&doc, "class=\"fault-label\"", "y");
    assert_eq!(ys, vec![LABEL_Y, LABEL_Y + LABEL_ROW_H, LABEL_Y]);
    assert!(doc.contains("text-anchor=\"end\" fill=\"#333\""), "the last label ends at its line");
    assert!(!doc.contains("left out for room"));
}

#[test]
fn labels_without_room_are_left_out_but_keep_their_lines() {
    let labels: Vec<(f64, String)> = (0..5).map(|i| (f64::from(i) * 0.01, format!("label {i}"))).collect();
    let doc = render_svg(&input(&[], &[], &labels));
    assert_well_formed(&doc);
    assert_eq!(
        attributes(&doc, "class=\"fault-label\"", "y"),
        vec![LABEL_Y, LABEL_Y + LABEL_ROW_H, LABEL_Y + 2.0 * LABEL_ROW_H]
    );
    assert!(doc.contains("2 fault labels left out for room"));
    assert_eq!(doc.matches("stroke-dasharray=\"3 3\"").count(), 5, "a line per label");
    assert!(doc.contains("<title>0.040 s: label 4</title>"), "a left-out label names itself on hover");
}

#[test]
fn the_same_input_gives_the_same_bytes() {
    let ops: Vec<PlotOp> =
        (0..500).map(|i| op(f64::from(i) / 50.0, f64::from(i % 97) / 3.0, PlotOutcome::Ok, "read")).collect();
    let labels = [(2.0, "crash n2".to_owned())];
    let plot = input(&ops, &[(2.0, 5.0)], &labels);
    assert_eq!(render_svg(&plot), render_svg(&plot.clone()));
}

#[test]
fn a_million_operations_stay_a_few_megabytes() {
    let mut rng = sim::Rng::new(7);
    let ops: Vec<PlotOp> = (0..1_000_000)
        .map(|_| {
            let outcome = match rng.below(20) {
                0 => PlotOutcome::Fail,
                1 => PlotOutcome::Info,
                _ => PlotOutcome::Ok,
            };
            op(rng.unit() * 60.0, 10_f64.powf(rng.unit() * 4.0 - 1.0), outcome, "read")
        })
        .collect();
    let mut plot = input(&ops, &[(10.0, 20.0)], &[]);
    plot.end_s = 60.0;
    let doc = render_svg(&plot);
    assert_well_formed(&doc);
    assert!(doc.len() < 4_000_000, "{} bytes", doc.len());
    let shown = dots_section(&doc).matches("<circle").count();
    assert!(shown <= 50_000, "{shown} dots");
    assert!(doc.contains(&format!("{shown} of 1000000 dots drawn")), "the legend says it thinned");
    let ok = ops.iter().filter(|op| op.outcome == PlotOutcome::Ok).count();
    assert!(doc.contains(&format!(">ok {ok} (")), "the counts are of every operation");
}

#[test]
fn thinning_keeps_every_outcome_of_a_cell_as_opaque_as_its_share() {
    let dot = |outcome, x| Dot { x, y: 200.0, outcome, mark: Mark::Filled, op: 0, share: None };
    let mut dots = vec![dot(PlotOutcome::Ok, 100.0); 6];
    dots.extend([dot(PlotOutcome::Fail, 100.5), dot(PlotOutcome::Info, 101.0), dot(PlotOutcome::Ok, 300.0)]);
    let kept: Vec<(PlotOutcome, f64, Option<f64>)> = thin(dots).iter().map(|d| (d.outcome, d.x, d.share)).collect();
    assert_eq!(
        kept,
        vec![
            (PlotOutcome::Ok, 100.0, Some(0.75)),
            (PlotOutcome::Fail, 100.5, Some(0.125)),
            (PlotOutcome::Info, 101.0, Some(0.125)),
            (PlotOutcome::Ok, 300.0, Some(1.0)),
        ]
    );
}

#[test]
fn an_empty_run_still_draws_its_axes() {
    let doc = render_svg(&input(&[], &[], &[]));
    assert_well_formed(&doc);
    assert_eq!(dots_section(&doc).matches("<circle").count(), 0);
    assert!(doc.contains("no operations"));
    assert!(!doc.contains("stroke-width=\"1.5\""), "no availability line without operations");
    assert!(doc.contains(">1 ms<") || doc.contains(">1<"), "a default decade");
}

#[test]
fn non_finite_inputs_are_skipped_or_clamped() {
    let ops = [
        op(f64::NAN, 5.0, PlotOutcome::Ok, "read"),
        op(f64::INFINITY, 5.0, PlotOutcome::Ok, "read"),
        op(-1.0, 5.0, PlotOutcome::Ok, "read"),
        op(0.5, f64::NAN, PlotOutcome::Ok, "read"),
        op(0.5, f64::INFINITY, PlotOutcome::Info, "read"),
        op(0.5, -5.0, PlotOutcome::Fail, "read"),
        op(0.5, 0.0, PlotOutcome::Fail, "read"),
        op(0.5, 20.0, PlotOutcome::Ok, "read"),
    ];
    let labels = [(f64::INFINITY, "late".to_owned())];
    let mut plot = input(&ops, &[(f64::NEG_INFINITY, f64::INFINITY), (f64::NAN, f64::NAN)], &labels);
    (plot.end_s, plot.bucket_s) = (f64::NAN, f64::NEG_INFINITY);
    let doc = render_svg(&plot);
    assert_well_formed(&doc);
    assert!(!prints_a_non_number(&doc));
    assert!(doc.contains("4 operations not drawn"));
    let ys = attributes(dots_section(&doc), "circle", "cy");
    assert_eq!(ys.len(), 4);
    // Drawn ok, info, fail: 20 ms between the decades 10 and 100, +inf on the frame's top edge,
    // 0 and -5 on the lowest decade.
    let (bottom, top) = (TOP_Y1 - PAD_PX, TOP_Y0 + PAD_PX);
    let expected = [bottom - 20_f64.log10().fract() * (bottom - top), TOP_Y0, bottom, bottom];
    assert_eq!(ys, expected.map(|y| (y * 10.0).round() / 10.0));
    assert_eq!(attributes(&doc, "class=\"fault\"", "width"), vec![RIGHT - LEFT, RIGHT - LEFT], "whole axis shaded");
}

#[test]
fn availability_counts_each_bucket_and_the_end_falls_in_the_last() {
    let ops = [
        op(0.1, 1.0, PlotOutcome::Ok, "read"),
        op(0.2, 1.0, PlotOutcome::Fail, "read"),
        op(0.24, 1.0, PlotOutcome::Info, "read"),
        op(0.6, 1.0, PlotOutcome::Ok, "read"),
        op(1.0, 1.0, PlotOutcome::Ok, "read"),
        op(1.5, 1.0, PlotOutcome::Ok, "read"),
    ];
    let counts: Vec<(usize, usize)> = availability(&ops, 1.0, 0.25).iter().map(|b| (b.ops, b.ok)).collect();
    assert_eq!(counts, vec![(3, 1), (0, 0), (1, 1), (1, 1)]);
    let mut plot = input(&ops, &[], &[]);
    plot.end_s = 1.0;
    let doc = render_svg(&plot);
    assert!(doc.contains("0.000–0.250 s: 3 operations, 1 ok (33.3 %)"));
    assert!(doc.contains("0.250–0.500 s: no operations invoked"));
}

#[test]
fn a_fine_bucket_is_widened_by_a_whole_factor() {
    assert_eq!(bucket_width_s(0.25, 10.0), 0.25);
    let widened = bucket_width_s(0.001, 10.0);
    assert_eq!(widened / 0.001, (widened / 0.001).round());
    assert!(availability(&[], 10.0, widened).len() <= BUCKETS_MAX as usize);
    assert_eq!(bucket_width_s(f64::NAN, 10.0), 0.25);
    assert_eq!(bucket_width_s(3e-309, 10.0), 0.25, "a ratio that overflows");
}

#[test]
fn the_latency_axis_covers_the_data_in_decades() {
    let ops = [
        op(1.0, 0.5, PlotOutcome::Ok, "read"),
        op(2.0, 250.0, PlotOutcome::Ok, "read"),
        op(3.0, 0.0, PlotOutcome::Ok, "read"),
    ];
    assert_eq!(latency_decades(&ops, 10.0), (-1, 3));
    assert_eq!(latency_decades(&[], 10.0), (0, 1));
    assert_eq!(latency_decades(&[op(1.0, 1e30, PlotOutcome::Ok, "read")], 10.0), (EXP_MAX - 1, EXP_MAX));
    let doc = render_svg(&input(&ops, &[], &[]));
    for label in [">0.1<", ">1<", ">10<", ">100<", ">1000<"] {
        assert!(doc.contains(label), "tick {label}");
    }
}

fn any_outcome() -> impl Strategy<Value = PlotOutcome> {
    prop_oneof![Just(PlotOutcome::Ok), Just(PlotOutcome::Fail), Just(PlotOutcome::Info)]
}

/// Mostly ordinary numbers, sometimes the awkward ones.
fn any_float() -> impl Strategy<Value = f64> {
    prop_oneof![4 => -5.0..50.0_f64, 1 => proptest::num::f64::ANY]
}

proptest! {
    #[test]
    fn any_input_gives_the_same_well_formed_document(
        ops in proptest::collection::vec((any_float(), any_float(), any_outcome(), "[a-h<&]{0,6}"), 0..120),
        windows in proptest::collection::vec((any_float(), any_float()), 0..5),
        labels in proptest::collection::vec((any_float(), "[a-hA-H <&\"'\u{e9}\u{1F600}]{0,12}"), 0..5),
        end_s in any_float(),
        bucket_s in any_float(),
    ) {
        let ops: Vec<PlotOp> = ops.into_iter().map(|(t, l, o, f)| op(t, l, o, &f)).collect();
        let plot = PlotInput { title: "t", subtitle: "s", ops: &ops, fault_windows_s: &windows, fault_labels: &labels, end_s, bucket_s };
        let doc = render_svg(&plot);
        prop_assert!(check_xml(&doc).is_ok(), "{:?}", check_xml(&doc));
        prop_assert!(!prints_a_non_number(&doc));
        prop_assert_eq!(doc, render_svg(&plot));
    }
}

/// Writes /tmp/plot-example.svg to look at: `cargo test -p lab --release plot::tests::example -- --ignored`.
#[test]
#[ignore = "writes a file for a person to look at"]
fn example() {
    let mut rng = sim::Rng::new(3);
    let fs = ["read", "write", "cas"];
    let mut ops = Vec::new();
    for i in 0..3_000 {
        let t = f64::from(i) * 0.01;
        let partitioned = (8.0..16.0).contains(&t);
        let f = fs[rng.below(3) as usize];
        let (latency, outcome) = if partitioned && rng.chance(0.5) {
            if rng.chance(0.6) {
                (1000.0, PlotOutcome::Info)
            } else {
                (2.0 + rng.unit() * 5.0, PlotOutcome::Fail)
            }
        } else {
            (0.8 + rng.unit() * rng.unit() * 40.0, PlotOutcome::Ok)
        };
        ops.push(op(t, latency, outcome, f));
    }
    let labels = [(8.0, "isolate n1".to_owned()), (16.0, "heal".to_owned()), (8.3, "crash n2 & <n3>".to_owned())];
    let plot = PlotInput {
        title: "isolate-one-node: quorum-one (seed 3)",
        subtitle: "quorum: N=3 R=1 W=1, last-write-wins, read repair on",
        ops: &ops,
        fault_windows_s: &[(8.0, 16.0), (8.3, 12.0)],
        fault_labels: &labels,
        end_s: 30.0,
        bucket_s: 0.25,
    };
    let doc = render_svg(&plot);
    assert_well_formed(&doc);
    std::fs::write("/tmp/plot-example.svg", doc).expect("write /tmp/plot-example.svg");
}

/// Writes /tmp/plot-example-thinned.svg: a million operations, thinned, with awkward values mixed in.
#[test]
#[ignore = "writes a file for a person to look at"]
fn example_thinned() {
    let mut rng = sim::Rng::new(5);
    let mut ops: Vec<PlotOp> = (0..1_000_000)
        .map(|_| {
            let t = rng.unit() * 120.0;
            let degraded = (40.0..70.0).contains(&t);
            let latency = 10_f64.powf(rng.unit() * if degraded { 3.5 } else { 1.5 });
            let outcome = match rng.below(if degraded { 4 } else { 50 }) {
                0 => PlotOutcome::Info,
                1 => PlotOutcome::Fail,
                _ => PlotOutcome::Ok,
            };
            op(t, latency, outcome, if rng.chance(0.5) { "read" } else { "add" })
        })
        .collect();
    ops.extend([op(f64::NAN, 1.0, PlotOutcome::Ok, "read"), op(3.0, 0.0, PlotOutcome::Ok, "read")]);
    let labels =
        [(40.0, "partition halves".to_owned()), (70.0, "heal".to_owned()), (119.0, "end of faults".to_owned())];
    let plot = PlotInput {
        title: "partition-halves: sqlite (seed 1)",
        subtitle: "one million operations",
        ops: &ops,
        fault_windows_s: &[(40.0, 70.0), (115.0, 1e9)],
        fault_labels: &labels,
        end_s: 120.0,
        bucket_s: 0.01,
    };
    let doc = render_svg(&plot);
    assert_well_formed(&doc);
    std::fs::write("/tmp/plot-example-thinned.svg", doc).expect("write /tmp/plot-example-thinned.svg");
}
