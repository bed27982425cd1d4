//! `kind = "kv"`: many registers (`k0`, `k1`, ...), each read, written and compared-and-set,
//! checked for linearizability per key.
//!
//! ```toml
//! [workload]
//! kind = "kv"
//! keys = 10                # default 10
//! distribution = "uniform" # "uniform" | { zipf = 1.0 }
//! mix = { read = 1, write = 1, cas = 0 }  # integer weights (default 2:1:1)
//! ```

use std::sync::Arc;

use history::Event;
use serde::Deserialize;
use sim::{KeyDistribution, OpMix};
use toml::Spanned;

use super::register::{mix, RawMix};
use super::{registers, Configured, Judged, Limits, WorkloadKind};
use crate::source::{fields_of, Checked, Section};

/// Most keys (each gets a final-read connection on one client host, whose ephemeral ports
/// turmoil limits to 16,384).
pub const MAX_KEYS: usize = 10_000;

/// The kv workload.
#[derive(Debug, Clone, Copy)]
pub struct Kv;

/// `distribution = "uniform"` or `distribution = { zipf = 1.0 }` (also list-append's).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum RawDistribution {
    Uniform,
    Zipf(f64),
}

/// The distribution a `distribution` key names (uniform when absent).
pub(super) fn distribution(raw: Option<&Spanned<RawDistribution>>) -> KeyDistribution {
    match raw.map(Spanned::get_ref) {
        None | Some(RawDistribution::Uniform) => KeyDistribution::Uniform,
        Some(RawDistribution::Zipf(s)) => KeyDistribution::Zipf(*s),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKv {
    keys: Option<Spanned<usize>>,
    distribution: Option<Spanned<RawDistribution>>,
    mix: Option<Spanned<RawMix>>,
}

impl WorkloadKind for Kv {
    fn kind(&self) -> &'static str {
        "kv"
    }

    fn about(&self) -> &'static str {
        "many registers (k0, k1, ...): read, write, compare-and-set; linearizability per key"
    }

    fn keys(&self) -> &'static [&'static str] {
        fields_of::<RawKv>()
    }

    fn parse(&self, table: Section<'_>) -> Checked<Box<dyn Configured>> {
        let source = table.source();
        let raw: RawKv = table.finish()?;
        let keys = raw.keys.as_ref().map_or(10, |k| *k.get_ref());
        if let Some(span) = raw.keys.as_ref().map(Spanned::span).filter(|_| keys == 0 || keys > MAX_KEYS) {
            return source.fail(span, format!("keys: expected 1 to {MAX_KEYS} (each key gets a final read)"));
        }
        let distribution = distribution(raw.distribution.as_ref());
        let workload = KvWorkload { keys, distribution, mix: mix(source, raw.mix.as_ref(), OpMix::default())? };
        if let (Err(e), Some(span)) = (workload.sim_workload().validate(), raw.distribution.as_ref().map(Spanned::span))
        {
            return source.fail(span, format!("distribution: {e}"));
        }
        Ok(Box::new(workload))
    }
}

/// A configured kv workload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KvWorkload {
    /// How many keys.
    pub keys: usize,
    /// How keys are drawn.
    pub distribution: KeyDistribution,
    /// The operation mix.
    pub mix: OpMix,
}

impl Configured for KvWorkload {
    fn sim_workload(&self) -> Arc<dyn sim::Workload> {
        Arc::new(sim::workload::Kv { keys: self.keys, distribution: self.distribution, mix: self.mix })
    }

    fn mix(&self) -> OpMix {
        self.mix
    }

    fn describe(&self) -> String {
        match self.distribution {
            KeyDistribution::Uniform => format!("{} keys uniform", self.keys),
            KeyDistribution::Zipf(s) => format!("{} keys zipf {s}", self.keys),
        }
    }

    fn check_label(&self) -> &'static str {
        "linearizable"
    }

    fn judge(&self, history: &[Event], limits: &Limits) -> Judged {
        registers::judge(history, limits)
    }

    fn clone_box(&self) -> Box<dyn Configured> {
        Box::new(*self)
    }
}
