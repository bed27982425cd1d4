//! The judgment of register histories (the register and kv workloads): linearizability
//! against the `cas-register` model, partitioned by key, then stale reads and lost writes.

use std::time::Instant;

use checker::{check_named, CheckOptions, Outcome};
use history::{Event, History};

use super::{Check, Judged, Limits, LISTED};
use crate::explain;

/// The checker model of register histories.
pub const MODEL: &str = "cas-register";

/// Judges a history of registers.
pub fn judge(history: &[Event], limits: &Limits) -> Judged {
    let mut explanation = String::new();
    let started = Instant::now();
    let timeout = limits.timeout;
    let passed = move || started.elapsed() >= timeout;
    let options =
        CheckOptions { deadline: &passed, jobs: 1, memory_limit_bytes: limits.memory_limit_bytes, orders: false };
    let check = match check_named(MODEL, history, &options) {
        Ok(verdict) => {
            if verdict.outcome == Outcome::NotLinearizable {
                let as_history = History { lines: (1..=history.len() as u32).collect(), events: history.to_vec() };
                explanation.push_str(&format!("not linearizable ({MODEL} model):\n"));
                explanation.push_str(&explain::explain(&verdict, &as_history));
            }
            match verdict.outcome {
                Outcome::Linearizable => Check::Linearizable,
                Outcome::NotLinearizable => Check::NotLinearizable,
                Outcome::Unknown => Check::Unknown,
            }
        }
        Err(e) => {
            explanation.push_str(&format!("the checker refused the history: {e}\n"));
            Check::Unknown
        }
    };
    let staleness = checker::staleness::analyze(history);
    explain_staleness(&staleness, &mut explanation);
    Judged {
        check,
        stale_reads: Some(staleness.stale_reads.len() as u64),
        lost_writes: (staleness.final_reads > 0).then_some(staleness.lost_writes.len() as u64),
        lost_window: super::window(
            staleness.lost_writes.iter().filter_map(|lost| super::acknowledged_at(history, lost.write_event)),
        ),
        acknowledged_writes: staleness.acknowledged_writes as u64,
        unjudged_keys: staleness.unjudged_keys as u64,
        explanation,
        txn: None,
    }
}

fn explain_staleness(staleness: &checker::staleness::Staleness, explanation: &mut String) {
    if !staleness.stale_reads.is_empty() {
        explanation.push_str(&format!("{} stale reads; the first:\n", staleness.stale_reads.len()));
        for stale in staleness.stale_reads.iter().take(LISTED) {
            explanation.push_str(&format!(
                "  line {}: read of {} returned {}, but the write completed at line {} was certainly later\n",
                stale.read_event + 1,
                checker::key_label(&stale.key),
                stale.value,
                stale.missed_write_event + 1
            ));
        }
    }
    if !staleness.lost_writes.is_empty() {
        explanation.push_str(&format!("{} acknowledged writes lost; the first:\n", staleness.lost_writes.len()));
        for lost in staleness.lost_writes.iter().take(LISTED) {
            explanation.push_str(&format!(
                "  line {}: write of {} to {} was acknowledged, yet the final read returned {}\n",
                lost.write_event + 1,
                lost.value,
                checker::key_label(&lost.key),
                lost.final_value
            ));
        }
    }
}
