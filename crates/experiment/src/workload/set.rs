//! `kind = "set"`: a grow-only set. Every operation adds a unique element; after the run one
//! final read returns the elements, which must hold every acknowledged add and nothing that no
//! add put there.
//!
//! ```toml
//! [workload]
//! kind = "set"
//! ```

use std::sync::Arc;

use checker::set_loss::{self, SetLoss};
use history::Event;
use serde::Deserialize;
use sim::OpMix;

use super::{listed, Check, Configured, Judged, Limits, WorkloadKind};
use crate::source::{fields_of, Checked, Section};

/// The set workload.
#[derive(Debug, Clone, Copy)]
pub struct Set;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSet {}

impl WorkloadKind for Set {
    fn kind(&self) -> &'static str {
        "set"
    }

    fn about(&self) -> &'static str {
        "a grow-only set: unique adds, then one final read"
    }

    fn keys(&self) -> &'static [&'static str] {
        fields_of::<RawSet>()
    }

    fn parse(&self, table: Section<'_>) -> Checked<Box<dyn Configured>> {
        table.refuse("mix", "applies only to register and kv workloads (a set only adds)")?;
        table.refuse("keys", "applies only to kind = \"kv\" workloads")?;
        table.refuse("distribution", "applies only to kind = \"kv\" workloads")?;
        let RawSet {} = table.finish()?;
        Ok(Box::new(SetWorkload))
    }
}

/// The configured set workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetWorkload;

impl Configured for SetWorkload {
    fn sim_workload(&self) -> Arc<dyn sim::Workload> {
        Arc::new(sim::workload::Set)
    }

    fn mix(&self) -> OpMix {
        OpMix::default()
    }

    fn describe(&self) -> String {
        "a grow-only set".to_owned()
    }

    fn check_label(&self) -> &'static str {
        "set-valid"
    }

    fn judge(&self, history: &[Event], _limits: &Limits) -> Judged {
        let loss = set_loss::analyze(history);
        let explanation = if loss.is_valid() { String::new() } else { explain(&loss) };
        Judged {
            check: if loss.is_valid() { Check::SetValid } else { Check::SetInvalid },
            stale_reads: None,
            lost_writes: loss.final_read.then_some(loss.lost.len() as u64),
            lost_window: lost_window(history, &loss.lost),
            acknowledged_writes: loss.acknowledged as u64,
            unjudged_keys: u64::from(!loss.final_read && loss.acknowledged > 0),
            explanation,
            txn: None,
        }
    }

    fn clone_box(&self) -> Box<dyn Configured> {
        Box::new(*self)
    }
}

/// When the lost adds were acknowledged (see [`Judged::lost_window`]).
fn lost_window(history: &[Event], lost: &[history::Value]) -> Option<(u64, u64)> {
    if lost.is_empty() {
        return None;
    }
    let lost: std::collections::BTreeSet<&history::Value> = lost.iter().collect();
    let acknowledged = history
        .iter()
        .enumerate()
        .filter(|(_, e)| e.kind == history::EventType::Invoke && e.f == "add" && lost.contains(&e.value));
    super::window(acknowledged.filter_map(|(i, _)| super::acknowledged_at(history, i)))
}

fn explain(loss: &SetLoss) -> String {
    let mut out = String::new();
    if !loss.final_read {
        out.push_str("no final read succeeded: lost adds cannot be judged\n");
    }
    if !loss.lost.is_empty() {
        out.push_str(&format!(
            "{} of {} acknowledged adds are missing from the final read: {}\n",
            loss.lost.len(),
            loss.acknowledged,
            listed(&loss.lost)
        ));
    }
    if !loss.unexpected.is_empty() {
        out.push_str(&format!(
            "{} elements read that no add put there: {}\n",
            loss.unexpected.len(),
            listed(&loss.unexpected)
        ));
    }
    out
}
