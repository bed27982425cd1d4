//! The scaling sweep (`lab run experiments/scaling.toml`) as claims 2-4 read it: its seeds in
//! words, its quorum levels, and "not measured" with the command that runs it.

use crate::command;
use crate::evidence::Scaling;
use crate::ledger::{Claim, Verdict};

/// "Not measured": `what` is missing from the sweep, with the command that runs it.
pub(crate) fn scaling_missing(claim: Claim, what: &str) -> Claim {
    claim.judged(Verdict::missing(format!("{what}: run `{}`", command("scaling"))), "the claim needs the scaling sweep")
}

/// The sweep's seeds in words (`seeds 1-5`).
pub(crate) fn seed_text(scaling: &Scaling) -> String {
    crate::ledger::seeds(&scaling.seeds)
}

/// The quorum levels of the sweep, in first-seen order.
pub(crate) fn levels(scaling: &Scaling) -> Vec<String> {
    let mut levels: Vec<String> = Vec::new();
    for row in scaling.rows.iter().filter(|r| r.level != "-") {
        if !levels.contains(&row.level) {
            levels.push(row.level.clone());
        }
    }
    levels
}
