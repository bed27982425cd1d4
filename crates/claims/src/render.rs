//! The ledger as text for the terminal (a table, then each claim's detail), as Markdown
//! (`claims.md`) and as JSON (`claims.json`). Pure: claims in, text out.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use serde::Serialize;
use tabled::builder::Builder;
use tabled::settings::object::Columns;
use tabled::settings::{Style, Width};

use super::ledger::{Claim, Verdict};
use super::registry::Registry;

/// The verdict with its condition, in words.
pub fn verdict_text(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Holds | Verdict::Refuted => verdict.label().to_owned(),
        Verdict::HoldsOnlyWhen { condition } => format!("holds only when {condition}"),
        Verdict::Inconclusive { why } => format!("inconclusive: {why}"),
        Verdict::NotTestable { reason } => format!("not testable here: {reason}"),
        Verdict::NotMeasured { run } => format!("not measured: {run}"),
    }
}

/// The key evidence of the table: why the verdict (for "not measured", what to run).
fn key(claim: &Claim) -> String {
    match &claim.verdict {
        Verdict::NotMeasured { run } => run.clone(),
        Verdict::Inconclusive { why } => why.clone(),
        Verdict::NotTestable { reason } => reason.clone(),
        _ => claim.reasoning.clone(),
    }
}

/// The verdict as the table shows it: a holds-only-when verdict with its condition's gist (the
/// full condition when the judgment gave none).
fn verdict_cell(claim: &Claim) -> String {
    match &claim.verdict {
        Verdict::HoldsOnlyWhen { condition } => {
            let gist = if claim.gist.is_empty() { condition } else { &claim.gist };
            format!("holds only when {gist}")
        }
        other => other.label().to_owned(),
    }
}

/// The summary table for the terminal.
pub fn table(claims: &[Claim]) -> String {
    let mut builder = Builder::default();
    builder.push_record(["#", "claim", "verdict", "key evidence"]);
    for claim in claims {
        builder.push_record([claim.id.to_string(), claim.short.clone(), verdict_cell(claim), key(claim)]);
    }
    let mut table = builder.build();
    table
        .with(Style::sharp())
        .modify(Columns::one(1), Width::wrap(24).keep_words(true))
        .modify(Columns::one(2), Width::wrap(36).keep_words(true))
        .modify(Columns::one(3), Width::wrap(72).keep_words(true));
    table.to_string()
}

/// The ledger for the terminal: the table, then each claim's detail.
pub fn text(claims: &[Claim], registry: &Registry) -> String {
    let mut out = String::from("== claims ledger ==\n");
    let _ = writeln!(out, "thresholds and expected outcomes: {}", registry.describe());
    out.push_str(&table(claims));
    out.push('\n');
    for claim in claims {
        let _ = writeln!(out, "\n{}. {}: {}", claim.id, claim.short, verdict_text(&claim.verdict));
        let _ = writeln!(out, "   \"{}\" ({})", claim.quote, claim.source);
        if !claim.expected.is_empty() {
            let _ = writeln!(out, "   expected (registered): {}", claim.expected);
        }
        if !claim.reasoning.is_empty() {
            let _ = writeln!(out, "   why: {}", claim.reasoning);
        }
        for line in &claim.evidence {
            let _ = writeln!(out, "   - {line}");
        }
    }
    out
}

/// A Markdown table of `header` and `rows` (cells already escaped with [`cell`]).
fn md_table<const N: usize>(header: &[&str; N], rows: impl Iterator<Item = [String; N]>) -> String {
    let mut out = format!("| {} |\n|{}\n", header.join(" | "), "---|".repeat(N));
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// `claims.md`: the table and every claim in full.
pub fn markdown(claims: &[Claim], results: &Path, registry: &Registry) -> String {
    let mut out = String::from("# Claims ledger\n\n");
    let _ = writeln!(
        out,
        "Each claim, quoted from the seed text or the literature, judged by `lab claims` on the results in \
         `{}`: the experiments that test it (and the commands that reproduce them), the evidence (figures with \
         their seeds, simulated time unless it says real disk) and the verdict. Every figure is the mean over \
         seeds with its min-max and 95 % interval; a verdict is reached only when the interval lies on one side \
         of its threshold, otherwise it is inconclusive. Thresholds and expected outcomes were registered \
         before the data in {} (version {}, fingerprint {}); the reasoning behind each verdict is in \
         `crates/claims/src/claim/` (one file per claim).\n",
        results.display(),
        registry.file,
        registry.version,
        registry.fingerprint
    );
    out.push_str(&md_table(
        &["#", "claim", "verdict", "key evidence"],
        claims.iter().map(|c| [c.id.to_string(), cell(&c.short), cell(&verdict_cell(c)), cell(&key(c))]),
    ));
    for claim in claims {
        let _ = writeln!(out, "\n## {}. {}\n", claim.id, claim.short);
        let _ = writeln!(out, "> {}\n\nSource: {}\n", claim.quote, claim.source);
        if !claim.expected.is_empty() {
            let _ = writeln!(out, "Expected (registered before the data): {}\n", claim.expected);
        }
        let _ = writeln!(out, "**Verdict: {}**\n", verdict_text(&claim.verdict));
        if !claim.reasoning.is_empty() {
            let _ = writeln!(out, "Why: {}\n", claim.reasoning);
        }
        out.push_str("Tested by:\n\n");
        for test in &claim.tests {
            let _ = writeln!(out, "- `{}`: `{}`", test.experiment, test.command);
        }
        if !claim.evidence.is_empty() {
            out.push_str("\nEvidence:\n\n");
            for line in &claim.evidence {
                let _ = writeln!(out, "- {line}");
            }
        }
    }
    out
}

/// The marker lines around the README's generated ledger.
pub const README_BEGIN: &str =
    "<!-- ledger: generated by `lab claims --readme README.md` from results/claims.md; do not edit -->";
/// See [`README_BEGIN`].
pub const README_END: &str = "<!-- ledger: end -->";

/// The README's ledger: which registration judged it, then one row per claim with its
/// registered expectation and its verdict (the gist of a condition; the figures stay in
/// `results/claims.md`, since claim 1's real-disk context varies with the machine).
pub fn readme(claims: &[Claim], registry: &Registry) -> String {
    let mut out = format!(
        "Judged by `lab claims` with the thresholds of {}; every figure and interval is in `results/claims.md`.\n\n",
        registry.describe()
    );
    out.push_str(&md_table(
        &["#", "claim", "expected (registered)", "verdict"],
        claims.iter().map(|c| [c.id.to_string(), cell(&c.short), cell(&c.expected), cell(&verdict_cell(c))]),
    ));
    out
}

/// `text` with the region between [`README_BEGIN`] and [`README_END`] replaced by `ledger`;
/// `None` when the markers are missing or out of order.
pub fn splice_readme(text: &str, ledger: &str) -> Option<String> {
    let begin = text.find(README_BEGIN)? + README_BEGIN.len();
    let end = begin + text[begin..].find(README_END)?;
    Some(format!("{}\n{ledger}{}", &text[..begin], &text[end..]))
}

/// The marker line before an experiment's generated table in the README (`NAME` its results
/// directory); [`TABLE_END`] closes it.
pub fn table_begin(name: &str) -> String {
    format!("<!-- table: {name} (generated by `lab claims --readme README.md` from results/{name}/table.md; do not edit) -->")
}
/// See [`table_begin`].
pub const TABLE_END: &str = "<!-- table: end -->";

/// `text` with every experiment table between [`table_begin`] and [`TABLE_END`] markers
/// replaced by the table of `results/NAME/table.md` (its `|` lines); a table whose results are
/// absent is left as it is. The names spliced, in order.
pub fn splice_tables(text: &str, results: &Path) -> (String, Vec<String>) {
    let prefix = "<!-- table: ";
    let mut out = String::new();
    let mut spliced = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let after = &rest[at + prefix.len()..];
        let name: String = after.chars().take_while(|c| !c.is_whitespace()).collect();
        let begin = table_begin(&name);
        let (Some(line_end), Some(end)) = (rest[at..].find('\n'), rest[at..].find(TABLE_END)) else { break };
        let table = std::fs::read_to_string(results.join(&name).join("table.md"))
            .ok()
            .map(|md| md.lines().filter(|l| l.starts_with('|')).map(|l| format!("{l}\n")).collect::<String>());
        out.push_str(&rest[..at]);
        match table.filter(|t| !t.is_empty() && rest[at..at + line_end] == begin) {
            Some(table) => {
                out.push_str(&format!("{begin}\n{table}"));
                spliced.push(name);
            }
            None => out.push_str(&rest[at..at + end]),
        }
        out.push_str(TABLE_END);
        rest = &rest[at + end + TABLE_END.len()..];
    }
    out.push_str(rest);
    (out, spliced)
}

#[derive(Serialize)]
struct Ledger<'a> {
    registry: &'a Registry,
    claims: &'a [Claim],
    holds: usize,
    refuted: usize,
    holds_only_when: usize,
    inconclusive: usize,
    not_testable: usize,
    not_measured: usize,
}

/// `claims.json`: every claim with its figures, and the count of each verdict.
pub fn json(claims: &[Claim], registry: &Registry) -> Result<String> {
    let count = |label: &str| claims.iter().filter(|c| c.verdict.label() == label).count();
    let ledger = Ledger {
        registry,
        claims,
        holds: count("holds"),
        refuted: count("refuted"),
        holds_only_when: count("holds only when"),
        inconclusive: count("inconclusive"),
        not_testable: count("not testable here"),
        not_measured: count("not measured"),
    };
    Ok(serde_json::to_string_pretty(&ledger)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Vec<Claim> {
        let mut a = Claim::new(1, "a | b", "quoted", "somewhere").tested_by("x", "lab run experiments/x.toml");
        a.line("x, s: 3 of 4 lost over seeds 1-2");
        a.figure("x/s/lost_writes", 3.0);
        let a = a.judged(Verdict::only_when("synced (3 of 4 lost otherwise)"), "because").gist("synced");
        let b = Claim::new(2, "b", "q", "s").judged(Verdict::missing("run `lab run y`"), "needs y");
        vec![a, b]
    }

    #[test]
    fn the_readme_region_is_replaced_and_nothing_else() {
        let registry = crate::registry::standard();
        let ledger = readme(&claims(), &registry);
        assert!(ledger.contains("| 1 | a \\| b |  | holds only when synced |"), "{ledger}");
        let text = format!("intro\n{README_BEGIN}\nold table\n{README_END}\nrest\n");
        let spliced = splice_readme(&text, &ledger).expect("markers");
        assert!(spliced.starts_with("intro\n") && spliced.ends_with(&format!("{README_END}\nrest\n")), "{spliced}");
        assert!(!spliced.contains("old table") && spliced.contains(&ledger));
        assert_eq!(splice_readme(&spliced, &ledger).as_deref(), Some(spliced.as_str()), "idempotent");
        assert_eq!(splice_readme("no markers", &ledger), None);
    }

    #[test]
    fn experiment_tables_are_spliced_from_their_results() {
        let dir = std::env::temp_dir().join(format!("claims-splice-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("a")).expect("scratch");
        std::fs::write(dir.join("a/table.md"), "# a\n\n| x |\n|---|\n| 1 |\n").expect("scratch");
        let text =
            format!("p\n{}\n| old |\n{TABLE_END}\nq\n{}\n| kept |\n{TABLE_END}\n", table_begin("a"), table_begin("b"));
        let (out, names) = splice_tables(&text, &dir);
        assert_eq!(names, ["a"]);
        assert!(out.contains("| x |\n|---|\n| 1 |\n<!-- table: end -->") && !out.contains("| old |"), "{out}");
        assert!(out.contains("| kept |"), "a table without results stays: {out}");
        assert_eq!(splice_tables(&out, &dir).0, out, "idempotent");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn renderings_carry_verdicts_conditions_and_evidence() {
        let claims = claims();
        let registry = crate::registry::standard();
        let text = text(&claims, &registry);
        assert!(
            text.contains("thresholds and expected outcomes: experiments/claims/registered.toml version"),
            "{text}"
        );
        assert!(text.contains("holds only when synced") && text.contains("- x, s: 3 of 4 lost"), "{text}");
        let md = markdown(&claims, Path::new("results"), &registry);
        assert!(md.contains("registered before the data in experiments/claims/registered.toml"), "{md}");
        assert!(md.contains("| 1 | a \\| b | holds only when synced | because |"), "{md}");
        assert!(md.contains("| 2 | b | not measured | run `lab run y` |"), "{md}");
        assert!(md.contains("- `x`: `lab run experiments/x.toml`"), "{md}");
        let json: serde_json::Value = serde_json::from_str(&json(&claims, &registry).expect("json")).expect("parses");
        assert_eq!(json["registry"]["file"], "experiments/claims/registered.toml");
        assert_eq!(json["claims"][0]["verdict"]["condition"], "synced (3 of 4 lost otherwise)");
        assert_eq!(json["claims"][0]["gist"], "synced");
        assert_eq!(json["claims"][0]["figures"]["x/s/lost_writes"], 3.0);
        assert_eq!((json["holds_only_when"].as_u64(), json["not_measured"].as_u64()), (Some(1), Some(1)));
        assert_eq!(markdown(&claims, Path::new("results"), &registry), md, "rendering is a function of the claims");
    }
}
