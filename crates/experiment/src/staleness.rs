//! The `kind = "staleness"` file format, parsed (serde, unknown fields refused) and validated
//! (every error names the file, line and column).
//!
//! ```toml
//! kind = "staleness"
//! name = "staleness"
//! question = "..."
//! seed = 1                 # seeds the trials and the model (default 1)
//! trials = 10000           # trials per point (write, wait t, read)
//! model_samples = 200000   # Monte Carlo draws of the WARS model per point (default 200000)
//! waits = ["0ms", "0.5ms", "1ms", "2ms", "5ms"]   # t: from the acknowledgement to the read
//!
//! [[system]]               # one quorum system per (N, R, W) measured
//! name = "n3-r1-w1"
//! kind = "quorum"
//! n = 3
//! r = 1
//! w = 1
//! read_repair = "off"      # the trials and the model have no repair: these must be off
//! hints = "off"
//!
//! [[delays]]               # one table per delay profile
//! name = "exp-1ms"
//! all = { mean = "1ms" }   # every message: min (default 0) + exponential with this mean
//! # or per WARS message: write = {...}, ack = {...}, read = {...}, response = {...}
//! ```

use std::ops::Range;
use std::time::Duration;

use pbs::{Delay, Quorums, Wars};
use serde::Deserialize;
use toml::Spanned;

use crate::common;
use crate::properties::{Ordering, Properties};
use crate::source::{Checked, Section, Source};
use crate::store::Registry;
use crate::value::{is_file_name, parse_duration};

/// A validated staleness experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct StalenessSpec {
    /// Results go to `results/NAME/`.
    pub name: String,
    /// What the experiment answers.
    pub question: String,
    /// Seeds the trials and the model.
    pub seed: u64,
    /// Trials per point.
    pub trials: u64,
    /// Model draws per point.
    pub model_samples: u64,
    /// The waits, ascending.
    pub waits: Vec<Duration>,
    /// The (N, R, W) compared.
    pub quorums: Vec<Quorums>,
    /// Delay profiles, each with its name.
    pub profiles: Vec<(String, Wars)>,
}

impl StalenessSpec {
    /// The one-line summary `lab experiment check` prints.
    pub fn summary(&self) -> String {
        format!(
            "staleness: {} profiles x {} quorums x {} waits, {} trials each",
            self.profiles.len(),
            self.quorums.len(),
            self.waits.len(),
            self.trials
        )
    }
}

/// Most waits, quorum configurations and profiles in one file (each point costs trials).
pub const MAX_POINTS: usize = 64;
/// Most model draws per point.
pub const MAX_MODEL_SAMPLES: u64 = 100_000_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStaleness {
    #[serde(default)]
    seed: Option<u64>,
    trials: Spanned<u64>,
    #[serde(default)]
    model_samples: Option<Spanned<u64>>,
    waits: Spanned<Vec<Spanned<String>>>,
    delays: Spanned<Vec<RawProfile>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    name: Spanned<String>,
    all: Option<RawDelay>,
    write: Option<RawDelay>,
    ack: Option<RawDelay>,
    read: Option<RawDelay>,
    response: Option<RawDelay>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDelay {
    #[serde(default)]
    min: Option<Spanned<String>>,
    mean: Spanned<String>,
}

impl Source<'_> {
    /// A duration, zero allowed (a wait or a delay's minimum).
    fn span_of_time(&self, value: &Spanned<String>, what: &str) -> Checked<Duration> {
        parse_duration(value.get_ref()).map_err(|e| self.error(value.span(), format!("{what}: {e}")))
    }

    fn delay(&self, raw: &RawDelay, what: &str, at: Range<usize>) -> Checked<Delay> {
        let min = match &raw.min {
            Some(min) => self.span_of_time(min, &format!("{what}.min"))?,
            None => Duration::ZERO,
        };
        let delay = Delay { min, mean_extra: self.span_of_time(&raw.mean, &format!("{what}.mean"))? };
        delay.validate().map_err(|e| self.error(at, format!("{what}: {e}")))?;
        Ok(delay)
    }

    fn profile(&self, raw: &RawProfile) -> Checked<(String, Wars)> {
        let name = raw.name.get_ref().trim().to_owned();
        if !is_file_name(&name) {
            return Err(self.error(raw.name.span(), "expected a profile name of letters, digits, `.`, `_` or `-`"));
        }
        let at = raw.name.span();
        let all = raw.all.as_ref().map(|d| self.delay(d, "all", at.clone())).transpose()?;
        let one = |field: &Option<RawDelay>, what: &str| -> Checked<Delay> {
            match (field, all) {
                (Some(d), None) => self.delay(d, what, at.clone()),
                (None, Some(all)) => Ok(all),
                (Some(_), Some(_)) => {
                    Err(self.error(at.clone(), format!("profile `{name}`: `all` and `{what}` both given")))
                }
                (None, None) => {
                    Err(self.error(at.clone(), format!("profile `{name}`: no delay for `{what}` (or give `all`)")))
                }
            }
        };
        let wars = Wars {
            write: one(&raw.write, "write")?,
            ack: one(&raw.ack, "ack")?,
            read: one(&raw.read, "read")?,
            response: one(&raw.response, "response")?,
        };
        Ok((name, wars))
    }
}

/// Reads a staleness file from its top table (its `kind` already taken). Its `[[system]]`
/// tables are quorum systems whose N, R and W the trials measure: last-write-wins without read
/// repair, hints or anti-entropy, as the WARS model assumes.
pub fn parse(registry: &Registry, mut root: Section<'_>) -> Checked<StalenessSpec> {
    let source = root.source();
    let head = common::head(&mut root)?;
    root.refuse("workload", "does not apply to staleness files: each trial is a write, a wait and a read")?;
    let mut quorums = Vec::new();
    let systems = common::systems(registry, &mut root)?;
    let systems_span = systems.first().map_or(0..0, |s| s.name_span.clone());
    for system in systems {
        let span = system.name_span.clone();
        let name = system.name.clone();
        let parsed = source.trial_quorums(&name, span.clone(), system.configure()?.properties())?;
        if quorums.contains(&parsed) {
            return Err(source.error(span, format!("{parsed} is listed twice")));
        }
        quorums.push(parsed);
    }
    let raw: RawStaleness = root.finish()?;
    let trials = *raw.trials.get_ref();
    if trials == 0 || trials > pbs::trial::MAX_TRIALS {
        return Err(source.error(raw.trials.span(), format!("expected 1 to {} trials", pbs::trial::MAX_TRIALS)));
    }
    let model_samples = match &raw.model_samples {
        Some(s) if *s.get_ref() == 0 || *s.get_ref() > MAX_MODEL_SAMPLES => {
            return Err(source.error(s.span(), format!("expected 1 to {MAX_MODEL_SAMPLES} model samples")));
        }
        Some(s) => *s.get_ref(),
        None => 200_000,
    };
    let waits = source.waits(&raw.waits)?;
    let mut profiles: Vec<(String, Wars)> = Vec::new();
    for raw_profile in raw.delays.get_ref() {
        let profile = source.profile(raw_profile)?;
        if profiles.iter().any(|(name, _)| *name == profile.0) {
            return Err(source.error(raw_profile.name.span(), format!("profile `{}` is listed twice", profile.0)));
        }
        profiles.push(profile);
    }
    for (what, len, span) in [
        ("waits", waits.len(), raw.waits.span()),
        ("systems", quorums.len(), systems_span),
        ("delays", profiles.len(), raw.delays.span()),
    ] {
        if len == 0 || len > MAX_POINTS {
            return Err(source.error(span, format!("expected 1 to {MAX_POINTS} {what}")));
        }
    }
    Ok(StalenessSpec {
        name: head.name,
        question: head.question,
        seed: raw.seed.unwrap_or(1),
        trials,
        model_samples,
        waits,
        quorums,
        profiles,
    })
}

impl Source<'_> {
    fn waits(&self, raw: &Spanned<Vec<Spanned<String>>>) -> Checked<Vec<Duration>> {
        let mut waits = Vec::new();
        for wait in raw.get_ref() {
            let parsed = self.span_of_time(wait, "wait")?;
            if parsed > pbs::delay::MAX_DELAY {
                return Err(self.error(wait.span(), "a wait of at most an hour"));
            }
            if waits.last().is_some_and(|last| *last >= parsed) {
                return Err(self.error(wait.span(), "waits must be given in increasing order"));
            }
            waits.push(parsed);
        }
        Ok(waits)
    }

    /// N, R and W of system `name`, which must be one the trials can run.
    fn trial_quorums(&self, name: &str, span: Range<usize>, properties: Properties) -> Checked<Quorums> {
        let Some(q) = properties.quorums else {
            return Err(self.error(span, format!("system `{name}` has no quorums: staleness trials need N, R and W")));
        };
        if q.read_writes_back || q.sloppy || q.anti_entropy || properties.ordering != Ordering::LastWriteWins {
            return Err(self.error(
                span,
                format!(
                    "system `{name}`: the trials run last-write-wins with read repair, hints and anti-entropy off, as \
                     the WARS model assumes (set mode = \"lww\", read_repair = \"off\", hints = \"off\")"
                ),
            ));
        }
        let parsed = Quorums { n: q.n, r: q.r, w: q.w };
        if !parsed.valid() || q.n + 1 > quorum::config::MAX_NODES {
            return Err(
                self.error(span, format!("{parsed}: expected 1 <= R, W <= N <= {}", quorum::config::MAX_NODES - 1))
            );
        }
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::{ExperimentError, Script};

    const GOOD: &str = r#"
kind = "staleness"
name = "s"
question = "q"
trials = 100
waits = ["0ms", "0.5ms", "2ms"]

[[system]]
name = "a"
kind = "quorum"
r = 1
w = 1
read_repair = "off"
hints = "off"

[[system]]
name = "b"
kind = "quorum"
nodes = 5
n = 5
r = 1
w = 1
read_repair = "off"
hints = "off"

[[delays]]
name = "exp"
all = { mean = "1ms" }

[[delays]]
name = "slow-writes"
write = { min = "1ms", mean = "10ms" }
ack = { mean = "0.1ms" }
read = { mean = "0.1ms" }
response = { mean = "0.1ms" }
"#;

    fn parse(file: &Path, text: &str) -> Result<StalenessSpec, ExperimentError> {
        match crate::parse(&Registry::standard(), file, text)? {
            Script::Staleness(spec) => Ok(spec),
            other => panic!("expected a staleness file, got {other:?}"),
        }
    }

    fn error(text: &str) -> String {
        match parse(Path::new("x.toml"), text) {
            Ok(_) => String::from("parsed"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_good_file_parses() {
        let spec = parse(Path::new("x.toml"), GOOD).expect("parses");
        assert_eq!(spec.waits, [Duration::ZERO, Duration::from_micros(500), Duration::from_millis(2)]);
        assert_eq!(spec.quorums, [Quorums { n: 3, r: 1, w: 1 }, Quorums { n: 5, r: 1, w: 1 }]);
        assert_eq!(spec.profiles.len(), 2);
        assert_eq!(
            spec.profiles[1].1.write,
            Delay { min: Duration::from_millis(1), mean_extra: Duration::from_millis(10) }
        );
        assert_eq!((spec.seed, spec.model_samples), (1, 200_000));
    }

    #[test]
    fn bad_files_name_the_place() {
        let cases = [
            (GOOD.replacen("r = 1", "r = 0", 1), "x.toml:11:"),
            (GOOD.replacen("n = 5\n", "n = 3\n", 1).replacen("nodes = 5\n", "", 1), "listed twice"),
            (GOOD.replacen("read_repair = \"off\"\n", "", 1), "read repair, hints and anti-entropy off"),
            (
                GOOD.replacen("kind = \"quorum\"", "kind = \"sqlite\"", 1).replacen(
                    "r = 1\nw = 1\nread_repair = \"off\"\nhints = \"off\"\n",
                    "",
                    1,
                ),
                "has no quorums",
            ),
            (GOOD.replace("\"0.5ms\"", "\"0ms\""), "increasing"),
            (GOOD.replace("\"2ms\"", "\"2 parsecs\""), "x.toml:6:"),
            (GOOD.replace("trials = 100", "trials = 0"), "x.toml:5:"),
            (GOOD.replace("trials = 100", "trials = 100\nbogus = 1"), "unknown field"),
            (GOOD.replace("all = { mean = \"1ms\" }", "all = { mean = \"0ms\" }"), "zero"),
            (GOOD.replace("ack = { mean = \"0.1ms\" }\n", ""), "no delay for `ack`"),
            (GOOD.replace("name = \"slow-writes\"", "name = \"exp\""), "listed twice"),
            (GOOD.replace("trials = 100", "trials = 100\n[workload]\nkind = \"kv\""), "does not apply to staleness"),
        ];
        for (text, expected) in cases {
            let message = error(&text);
            assert!(message.contains(expected), "{expected}: {message}");
        }
    }
}
