//! The ledger's vocabulary: a [`Claim`] (what is claimed, by whom, how it is tested), its
//! evidence lines and figures, and its [`Verdict`].

use std::collections::BTreeMap;

use serde::Serialize;

/// What the lab concludes about a claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Verdict {
    /// The measurements support the claim as stated.
    Holds,
    /// The measurements contradict it.
    Refuted,
    /// It holds under a condition the measurements name (and fails outside it).
    HoldsOnlyWhen {
        /// The condition.
        condition: String,
    },
    /// The seeds do not decide: a figure's interval straddles its threshold, or a run the
    /// judgment uses failed or could not be judged.
    Inconclusive {
        /// What is undecided, with the interval and what would resolve it.
        why: String,
    },
    /// This lab cannot test the claim as it stands.
    NotTestable {
        /// Why, and what would make it testable.
        reason: String,
    },
    /// The results it needs are missing.
    NotMeasured {
        /// What is missing and the command that produces it.
        run: String,
    },
}

impl Verdict {
    /// The short name the table shows.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Refuted => "refuted",
            Verdict::HoldsOnlyWhen { .. } => "holds only when",
            Verdict::Inconclusive { .. } => "inconclusive",
            Verdict::NotTestable { .. } => "not testable here",
            Verdict::NotMeasured { .. } => "not measured",
        }
    }

    /// A verdict that the seeds do not decide, and why.
    pub fn inconclusive(why: impl Into<String>) -> Self {
        Verdict::Inconclusive { why: why.into() }
    }

    /// A verdict that the claim holds when `condition`.
    pub fn only_when(condition: impl Into<String>) -> Self {
        Verdict::HoldsOnlyWhen { condition: condition.into() }
    }

    /// A verdict that `what` is missing.
    pub fn missing(what: impl Into<String>) -> Self {
        Verdict::NotMeasured { run: what.into() }
    }
}

/// An experiment a claim is tested by, and how to reproduce it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Test {
    /// The experiment's name (its results directory).
    pub experiment: String,
    /// The command that produces its results.
    pub command: String,
}

/// One claim, judged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Claim {
    /// Its number in the ledger.
    pub id: usize,
    /// A few words, for the table.
    pub short: String,
    /// The claim, quoted exactly.
    pub quote: String,
    /// Where the quote comes from.
    pub source: String,
    /// The outcome registered before the data (`experiments/claims/registered.toml`).
    pub expected: String,
    /// The experiments that test it.
    pub tests: Vec<Test>,
    /// What was measured: each line names the experiment, the system, the figure and the
    /// seeds.
    pub evidence: Vec<String>,
    /// The figures the verdict was computed from, by name (`EXPERIMENT/SYSTEM/FIGURE`): the
    /// point estimate (the mean over seeds for a figure with an estimate).
    pub figures: BTreeMap<String, f64>,
    /// The figures measured over seeds, by the same names: each seed's value, the min-max and
    /// the 95 % interval.
    pub estimates: BTreeMap<String, crate::stats::Estimate>,
    /// The verdict.
    pub verdict: Verdict,
    /// Why the figures give that verdict.
    pub reasoning: String,
    /// A holds-only-when verdict's condition in a few words, for the ledger's table (the full
    /// condition, with its figures, is in the verdict); empty for the other verdicts.
    pub gist: String,
}

impl Claim {
    /// A claim not judged yet: no evidence, verdict "not measured".
    pub fn new(id: usize, short: &str, quote: &str, source: &str) -> Self {
        Claim {
            id,
            short: short.to_owned(),
            quote: quote.to_owned(),
            source: source.to_owned(),
            expected: String::new(),
            tests: Vec::new(),
            evidence: Vec::new(),
            figures: BTreeMap::new(),
            estimates: BTreeMap::new(),
            verdict: Verdict::missing("nothing judged yet"),
            reasoning: String::new(),
            gist: String::new(),
        }
    }

    /// Names an experiment that tests the claim.
    pub fn tested_by(mut self, experiment: &str, command: &str) -> Self {
        self.tests.push(Test { experiment: experiment.to_owned(), command: command.to_owned() });
        self
    }

    /// Adds an evidence line.
    pub fn line(&mut self, text: impl Into<String>) {
        self.evidence.push(text.into());
    }

    /// Records a figure the verdict uses.
    pub fn figure(&mut self, name: impl Into<String>, value: f64) {
        self.figures.insert(name.into(), value);
    }

    /// Records a figure measured over seeds: its mean among the figures, the whole estimate
    /// beside it.
    pub fn estimate(&mut self, name: impl Into<String>, estimate: &crate::stats::Estimate) {
        let name = name.into();
        self.figures.insert(name.clone(), estimate.mean);
        self.estimates.insert(name, estimate.clone());
    }

    /// Sets the verdict and why.
    pub fn judged(mut self, verdict: Verdict, reasoning: impl Into<String>) -> Self {
        self.verdict = verdict;
        self.reasoning = reasoning.into();
        self
    }

    /// Sets the condition's gist for the table (see [`Claim::gist`]).
    pub fn gist(mut self, gist: impl Into<String>) -> Self {
        self.gist = gist.into();
        self
    }
}

/// Seeds as the evidence lines show them: `seed 3`, `seeds 1-5`, `seeds 1,2,4`.
pub fn seeds(seeds: &[u64]) -> String {
    let list = seed_list(seeds);
    match list.as_str() {
        "" => "no seeds".to_owned(),
        one if one.chars().all(|c| c.is_ascii_digit()) => format!("seed {one}"),
        many => format!("seeds {many}"),
    }
}

/// Seeds without the word: `3`, `1-5`, `1,2,4` (empty for none).
pub fn seed_list(seeds: &[u64]) -> String {
    let mut sorted = seeds.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    match sorted.as_slice() {
        [] => String::new(),
        [one] => one.to_string(),
        [first, .., last] if last - first + 1 == sorted.len() as u64 => format!("{first}-{last}"),
        many => many.iter().map(u64::to_string).collect::<Vec<_>>().join(","),
    }
}

/// A latency in milliseconds to one decimal, `-` when not measured.
pub fn ms(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| format!("{v:.1} ms"))
}

/// A share as a percentage with one decimal.
pub fn percent(share: f64) -> String {
    // A share short of 1 must not print as 100.0 % (nor above 0 as 0.0 %): more digits then.
    let shown = format!("{:.1}", share * 100.0);
    if (shown == "100.0" && share < 1.0) || (shown == "0.0" && share > 0.0) {
        return format!("{:.3} %", share * 100.0);
    }
    format!("{shown} %")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_never_rounds_to_all_or_nothing() {
        assert_eq!(percent(0.5), "50.0 %");
        assert_eq!(percent(1.0), "100.0 %");
        assert_eq!(percent(0.9996), "99.960 %");
        assert_eq!(percent(0.0), "0.0 %");
        assert_eq!(percent(0.0001), "0.010 %");
    }

    #[test]
    fn seeds_read_as_ranges_or_lists() {
        assert_eq!(seeds(&[]), "no seeds");
        assert_eq!(seeds(&[3]), "seed 3");
        assert_eq!(seeds(&[3, 1, 2, 2]), "seeds 1-3");
        assert_eq!(seeds(&[1, 2, 4]), "seeds 1,2,4");
        assert_eq!(seed_list(&[5, 4]), "4-5");
    }

    #[test]
    fn verdicts_serialise_with_their_condition() {
        let json = serde_json::to_string(&Verdict::only_when("synced")).expect("json");
        assert_eq!(json, r#"{"kind":"holds-only-when","condition":"synced"}"#);
        assert_eq!(serde_json::to_string(&Verdict::Refuted).expect("json"), r#"{"kind":"refuted"}"#);
        assert_eq!(Verdict::missing("x").label(), "not measured");
        let json = serde_json::to_string(&Verdict::inconclusive("straddles")).expect("json");
        assert_eq!(json, r#"{"kind":"inconclusive","why":"straddles"}"#);
    }
}
