//! `kind = "list-append"`: Elle's list-append transactions (1 to `max_ops` micro-operations,
//! each an append of a unique value to a key's list or a read of a list), checked by the
//! transaction checker ([`checker::txn`]) for dependency cycles and the other anomalies, with
//! real time (strict serializability) taken into account.
//!
//! ```toml
//! [workload]
//! kind = "list-append"
//! keys = 10                # active keys at a time (default 10)
//! distribution = "uniform" # "uniform" | { zipf = 1.0 }
//! max_ops = 4              # micro-operations per transaction: 1 to this (default 4)
//! generation_txns = 32     # a client moves to fresh keys after this many transactions (default 32)
//! ```
//!
//! A store with transactions runs each one whole (SQLite: one SQLite transaction); a store
//! without runs its micro-operations one request at a time, as an application would (the
//! quorum store: see `sim::steps`).

use std::sync::Arc;
use std::time::Instant;

use history::{Event, EventType};
use serde::Deserialize;
use sim::OpMix;
use toml::Spanned;

use super::kv::{distribution, RawDistribution};
use super::{Check, Configured, Judged, Limits, TxnJudged, WorkloadKind, LISTED};
use crate::source::{fields_of, Checked, Section};

/// Most active keys.
pub const MAX_KEYS: usize = 10_000;

/// The list-append workload.
#[derive(Debug, Clone, Copy)]
pub struct ListAppend;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawListAppend {
    keys: Option<Spanned<usize>>,
    distribution: Option<Spanned<RawDistribution>>,
    max_ops: Option<Spanned<usize>>,
    generation_txns: Option<Spanned<u64>>,
}

impl WorkloadKind for ListAppend {
    fn kind(&self) -> &'static str {
        "list-append"
    }

    fn about(&self) -> &'static str {
        "Elle's list-append transactions; isolation anomalies and the strongest level (serializable, ...)"
    }

    fn keys(&self) -> &'static [&'static str] {
        fields_of::<RawListAppend>()
    }

    fn parse(&self, table: Section<'_>) -> Checked<Box<dyn Configured>> {
        table.refuse("mix", "applies only to register and kv workloads (a transaction mixes appends and reads)")?;
        let source = table.source();
        let raw: RawListAppend = table.finish()?;
        let defaults = sim::ListAppend::default();
        let keys = raw.keys.as_ref().map_or(defaults.keys, |k| *k.get_ref());
        if let Some(span) = raw.keys.as_ref().map(Spanned::span).filter(|_| keys == 0 || keys > MAX_KEYS) {
            return source.fail(span, format!("keys: expected 1 to {MAX_KEYS}"));
        }
        let distribution = distribution(raw.distribution.as_ref());
        let shape = sim::ListAppend {
            keys,
            distribution,
            max_ops: raw.max_ops.as_ref().map_or(defaults.max_ops, |m| *m.get_ref()),
            generation_txns: raw.generation_txns.as_ref().map_or(defaults.generation_txns, |g| *g.get_ref()),
        };
        if let Err(e) = sim::Workload::validate(&shape) {
            let span = [raw.max_ops.as_ref().map(Spanned::span), raw.generation_txns.as_ref().map(Spanned::span)]
                .into_iter()
                .chain([raw.distribution.as_ref().map(Spanned::span)])
                .flatten()
                .next()
                .unwrap_or(0..0);
            return source.fail(span, e.to_string());
        }
        Ok(Box::new(ListAppendWorkload { shape }))
    }
}

/// A configured list-append workload.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ListAppendWorkload {
    /// What the clients run.
    pub shape: sim::ListAppend,
}

impl Configured for ListAppendWorkload {
    fn sim_workload(&self) -> Arc<dyn sim::Workload> {
        Arc::new(self.shape)
    }

    /// Half appends, half reads (a transaction's micro-operations); no compare-and-set.
    fn mix(&self) -> OpMix {
        OpMix { read: 1, write: 1, cas: 0 }
    }

    fn describe(&self) -> String {
        self.shape.to_string()
    }

    fn check_label(&self) -> &'static str {
        "serializable"
    }

    fn judge(&self, history: &[Event], limits: &Limits) -> Judged {
        judge(history, limits)
    }

    fn clone_box(&self) -> Box<dyn Configured> {
        Box::new(*self)
    }
}

/// Judges a list-append history with the transaction checker, real time included.
pub fn judge(history: &[Event], limits: &Limits) -> Judged {
    let started = Instant::now();
    let timeout = limits.timeout;
    let passed = move || started.elapsed() >= timeout;
    let options =
        checker::txn::TxnOptions { deadline: &passed, memory_limit_bytes: limits.memory_limit_bytes, realtime: true };
    let appends_ok = history
        .iter()
        .filter(|e| e.kind == EventType::Ok && e.f == "txn")
        .flat_map(|e| e.value.as_list().unwrap_or(&[]).iter())
        .filter(|op| op.as_list().and_then(|op| op.first()).and_then(history::Value::as_str) == Some("append"))
        .count() as u64;
    let mut judged = Judged {
        check: Check::Unknown,
        stale_reads: None,
        lost_writes: None,
        lost_window: None,
        acknowledged_writes: appends_ok,
        unjudged_keys: 0,
        explanation: String::new(),
        txn: None,
    };
    match checker::txn::check_list_append(history, &options) {
        Ok(report) => {
            let strongest = report.strongest.map(|level| level.name().to_owned());
            judged.check = match report.outcome {
                checker::txn::TxnOutcome::Unknown { ref reason } => {
                    judged.explanation.push_str(&format!("the transaction checker gave up: {reason}\n"));
                    Check::Unknown
                }
                // Serializable passes; an anomaly that needs real time only (not strictly
                // serializable) is reported, but is not a failure of serializability.
                _ if matches!(
                    report.strongest,
                    Some(checker::txn::IsolationLevel::StrictSerializable | checker::txn::IsolationLevel::Serializable)
                ) =>
                {
                    Check::Serializable
                }
                _ => Check::NotSerializable,
            };
            let found: usize = report.counts.values().sum();
            if found > 0 {
                judged.explanation.push_str(&format!(
                    "{found} anomalies; strongest level consistent with the history: {}\n",
                    strongest.as_deref().unwrap_or("unknown")
                ));
                for anomaly in report.anomalies.iter().take(LISTED) {
                    judged.explanation.push_str(&format!("{anomaly}\n"));
                }
            }
            judged.txn = Some(TxnJudged {
                committed: report.committed as u64,
                aborted: report.aborted as u64,
                indeterminate: report.indeterminate as u64,
                anomalies: report.counts.iter().map(|(class, n)| (class.name().to_owned(), *n as u64)).collect(),
                strongest,
                invariant_violations: None,
            });
        }
        Err(e) => judged.explanation.push_str(&format!("the transaction checker refused the history: {e}\n")),
    }
    judged
}

#[cfg(test)]
mod tests {
    use crate::spec::tests::assert_error;

    /// A file whose workload is list-append, its table ending with `extra` (line 7 on).
    fn file(extra: &str) -> String {
        format!(
            "name = \"t\"\nquestion = \"q\"\nseeds = 1\nduration = \"1s\"\n[workload]\nkind = \"list-append\"\n\
             {extra}[[system]]\nname = \"s\"\nkind = \"sqlite\"\n"
        )
    }

    #[test]
    fn bad_shapes_are_refused_where_they_are_written() {
        assert_error(&file("max_ops = 0\n"), 7, 11, "max_ops");
        assert_error(&file("keys = 3\ngeneration_txns = 0\n"), 8, 19, "generation_txns");
        assert_error(&file("keys = 0\n"), 7, 8, "keys: expected 1 to");
        assert_error(&file("mix = { read = 1, write = 1 }\n"), 7, 1, "mix");
    }
}
