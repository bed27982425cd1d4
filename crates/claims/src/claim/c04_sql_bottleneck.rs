//! Claim 4: SQL bottlenecks on locking and transactions as load increases. Not testable here:
//! the SQLite store serves every client through one connection, so no two transactions ever
//! contend for a lock, and every operation touches one key (no multi-key transaction). Whatever
//! its curve shows is the cost of one serial writer, not of locking. The ledger shows the
//! scaling sweep's SQLite series as context and says what would make the claim testable
//! (several connections arbitrating locks on the simulated disk, transactional workloads:
//! issue 18).

use crate::evidence::Evidence;
use crate::ledger::{Claim, Verdict};
use crate::registry::Registered;
use crate::stats::Estimate;
use crate::{command, SEED_SOURCE};

/// The thresholds this judgment reads from the registration (`experiments/claims/registered.toml`):
/// none, since nothing here is judged.
pub const THRESHOLDS: &[&str] = &[];

/// Why claim 4 gets no verdict.
pub const NOT_TESTABLE: &str = "the SQLite store runs one connection, so no two transactions ever contend for a \
     lock, and every operation touches one key: a slowdown under load would be one serial writer's queue, not \
     locking. Testable once SQLite serves clients through several connections that arbitrate locks (BUSY, busy \
     timeouts) with multi-key transactions (issue 18)";

/// Claim 4: SQL bottlenecks on locking and transactions as load increases.
pub fn sql_bottleneck(evidence: &Evidence, _registered: &Registered) -> Claim {
    let mut claim = Claim::new(
        4,
        "SQL bottlenecks on locking as load grows",
        "SQL databases often experience bottlenecks in write-heavy applications due to locking, transaction \
         handling, and the need to maintain consistency across distributed systems. As the load increases, these \
         bottlenecks can lead to significant slowdowns.",
        SEED_SOURCE,
    )
    .tested_by("scaling", &command("scaling"));
    if let Some(scaling) = &evidence.scaling {
        let sqlite = scaling.rows.iter().filter(|r| r.level == "-").map(|r| r.system.clone());
        for series in sqlite {
            if let Some(saturation) = Estimate::of(scaling.saturation_by_seed(&series)) {
                claim.line(format!(
                    "scaling, {series} (one connection, one writer): saturation {} ok/s; context only, not a \
                     test of locking",
                    saturation.text_with(|v| format!("{v:.0}"))
                ));
            }
        }
    }
    claim.judged(
        Verdict::NotTestable { reason: NOT_TESTABLE.to_owned() },
        "no experiment here makes SQLite contend for locks",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::sweep;

    /// The judgment with the standard registration's thresholds.
    fn sql_bottleneck(evidence: &Evidence) -> Claim {
        super::sql_bottleneck(evidence, &crate::registry::standard().claim(4))
    }

    #[test]
    fn locking_is_not_testable_with_one_connection_whatever_the_sweep_shows() {
        let claim = sql_bottleneck(&sweep(5000.0, 4800.0));
        assert!(matches!(&claim.verdict, Verdict::NotTestable { reason } if reason.contains("one connection")));
        assert!(claim.evidence.iter().any(|l| l.contains("sqlite") && l.contains("context only")), "{claim:?}");
        let nothing = sql_bottleneck(&Evidence::default());
        assert!(matches!(nothing.verdict, Verdict::NotTestable { .. }), "not testable, not merely not measured");
    }
}
