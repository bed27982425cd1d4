//! Claim 15: MongoDB's write concern w:1 loses acknowledged writes when the primary fails over,
//! and w:majority does not (Jepsen, 2013). Judged per seed on the failover experiment, whose
//! faults aim at the leader: the asynchronously acknowledging leader-based systems stand for
//! w:1 (the primary acknowledges alone), the majority-acknowledging ones for w:majority
//! ([`crate::select::asynchronous_replication`], [`crate::select::majority_acknowledged`]). A
//! seed loses when a new leader rolled back an acknowledged write or one is missing from the
//! final reads.
//!
//! Holds when some w:1 seed lost a write and every w:majority system kept them all on
//! `min_clean_seeds` judged seeds, none unknown; refuted when a w:majority seed lost one (Jepsen's
//! 2 of 5,700 was a bug, and a single seed would show one), or when w:1 kept every write on
//! `min_clean_seeds` seeds; inconclusive otherwise. The share lost per seed is set beside
//! Jepsen's figures as context, not compared with a threshold: the workload, the fault's length
//! and the load decide it.

use crate::evidence::Evidence;
use crate::ledger::{percent, Claim, Verdict};
use crate::registry::Registered;
use crate::{command, no_results, select};

use super::c14_async_replication::FAILOVER;
use super::fault_experiments::{durable, tallies, tally_line, Tally};

/// The thresholds this judgment reads from the registration (`experiments/claims/registered.toml`).
pub const THRESHOLDS: &[&str] = &["min_clean_seeds"];

/// What claim 15 counts on every seed.
pub const PROPERTY: &str = "no acknowledged write lost or rolled back";

/// Jepsen's MongoDB 2.4 figures, as the ledger quotes them.
pub const JEPSEN: &str = "Jepsen's MongoDB 2.4 lost 42 % (UNACKNOWLEDGED), 37 % (SAFE, w:1), 34 % (REPLICAS_SAFE) and \
                          2 of 5,700 (MAJORITY) of its acknowledged writes";

/// Claim 15, judged on `evidence` with the registered thresholds `registered`.
pub fn write_concern(evidence: &Evidence, registered: &Registered) -> Claim {
    let mut claim = Claim::new(
        15,
        "MongoDB w:1 loses acknowledged writes on failover, w:majority does not",
        "MongoDB 2.4 lost 42 % of acknowledged writes with UNACKNOWLEDGED, 37 % with SAFE, 34 % with REPLICAS_SAFE \
         and 2 of 5,700 with MAJORITY",
        "Kingsbury, 'Jepsen: partition tolerance in practice' (InfoQ, 2013), text in jepsen-io/jepsen \
         infoq/article.markdown: its figures, as ../shared/notes/references.md (section 6) records them, not its \
         words; the seed text names MongoDB's replica sets",
    )
    .tested_by(FAILOVER, &command(FAILOVER));
    let Some(experiment) = evidence.experiments.get(FAILOVER) else {
        return claim.judged(no_results(&[FAILOVER]), "write concerns need the failover experiment");
    };
    let all = tallies(experiment, select::leader_based, durable);
    let (w1, majority): (Vec<&Tally>, Vec<&Tally>) =
        all.iter().partition(|t| select::asynchronous_replication(t.properties));
    if w1.is_empty() || majority.is_empty() {
        return claim.judged(
            Verdict::missing(format!(
                "{FAILOVER} needs a leader-based system acknowledging alone (w:1) and one acknowledging once a \
                 majority has the write (w:majority): run `{}`",
                command(FAILOVER)
            )),
            "the claim is a contrast of two write concerns",
        );
    }
    for t in &all {
        let concern = if select::asynchronous_replication(t.properties) { "w:1" } else { "w:majority" };
        let share = share(&mut claim, t);
        claim.line(format!("{}{share}", tally_line(t, concern, PROPERTY)));
        t.figures(&mut claim);
    }
    let min = registered.value("min_clean_seeds") as usize;
    let context = format!("context: {JEPSEN} (a different workload, partition and load)");
    let names = |list: &[&Tally]| list.iter().map(|t| t.system).collect::<Vec<_>>().join(", ");
    let majority_lost: Vec<&Tally> = majority.iter().copied().filter(|t| t.violated()).collect();
    if !majority_lost.is_empty() {
        return claim.judged(
            Verdict::Refuted,
            format!("w:majority lost acknowledged writes: {} ({context})", names(&majority_lost)),
        );
    }
    let w1_lost: Vec<&Tally> = w1.iter().copied().filter(|t| t.violated()).collect();
    let unsettled: Vec<String> = majority.iter().filter(|t| !t.settled(min)).map(|t| t.unsettled(min)).collect();
    if w1_lost.is_empty() {
        let w1_unsettled: Vec<String> = w1.iter().filter(|t| !t.settled(min)).map(|t| t.unsettled(min)).collect();
        if w1_unsettled.is_empty() {
            return claim.judged(
                Verdict::Refuted,
                format!("w:1 kept every acknowledged write on at least {min} judged seeds: {} ({context})", names(&w1)),
            );
        }
        return claim.judged(
            Verdict::inconclusive(format!(
                "no w:1 loss yet, and not every seed is decided: {}",
                w1_unsettled.join("; ")
            )),
            context,
        );
    }
    if !unsettled.is_empty() {
        return claim.judged(
            Verdict::inconclusive(format!(
                "w:1 lost writes ({}), but w:majority is not settled: {}",
                names(&w1_lost),
                unsettled.join("; ")
            )),
            context,
        );
    }
    claim
        .judged(
            Verdict::Holds,
            format!(
                "w:1 lost acknowledged writes when the faults took its primary ({}); w:majority kept every one on at least \
                 {min} judged seeds each, none unknown ({}); {context}",
                names(&w1_lost),
                names(&majority)
            ),
        )
        .gist("w:1 lost writes, w:majority none")
}

/// `; share of acknowledged writes lost per seed 1.2 % (...)` when `t` lost any; records it.
fn share(claim: &mut Claim, t: &Tally) -> String {
    let Some(estimate) = t.lost_share() else { return String::new() };
    claim.estimate(format!("{}/{}/lost_share", t.experiment.name, t.system), &estimate);
    format!("; share of acknowledged writes lost per seed {}", estimate.text_with(percent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{from_records, runs, RAFT_ASYNC, RAFT_MAJORITY};
    use runner::run::record::{FailoverRecord, SeedRecord};

    fn write_concern(evidence: &Evidence) -> Claim {
        super::write_concern(evidence, &crate::registry::standard().claim(15))
    }

    fn rolled_back(n: u64) -> impl Fn(u64, &mut SeedRecord) {
        move |_, r| {
            r.failover = Some(FailoverRecord { windows_ms: vec![Some(1500)], elections: 1, rolled_back_acks: n })
        }
    }

    #[test]
    fn write_concerns_reach_each_verdict() {
        let mut records = runs(RAFT_ASYNC, 5, rolled_back(4));
        records.extend(runs(RAFT_MAJORITY, 5, rolled_back(0)));
        let claim = write_concern(&from_records(&[(FAILOVER, records)]));
        assert_eq!(claim.verdict, Verdict::Holds, "{claim:?}");
        // 4 of the 40 acknowledged writes of each seed.
        assert_eq!(claim.figures[&format!("{FAILOVER}/{RAFT_ASYNC}/lost_share")], 0.1);
        assert!(claim.reasoning.contains("Jepsen's MongoDB 2.4"), "{}", claim.reasoning);

        let mut records = runs(RAFT_ASYNC, 5, rolled_back(4));
        records.extend(runs(RAFT_MAJORITY, 5, |seed, r| rolled_back(u64::from(seed == 2))(seed, r)));
        assert_eq!(write_concern(&from_records(&[(FAILOVER, records)])).verdict, Verdict::Refuted);

        let mut records = runs(RAFT_ASYNC, 5, rolled_back(0));
        records.extend(runs(RAFT_MAJORITY, 5, rolled_back(0)));
        assert_eq!(write_concern(&from_records(&[(FAILOVER, records)])).verdict, Verdict::Refuted);

        let mut records = runs(RAFT_ASYNC, 5, rolled_back(4));
        records.extend(runs(RAFT_MAJORITY, 3, rolled_back(0)));
        let claim = write_concern(&from_records(&[(FAILOVER, records)]));
        assert!(matches!(claim.verdict, Verdict::Inconclusive { .. }), "{claim:?}");

        assert!(matches!(write_concern(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
        let only_one = from_records(&[(FAILOVER, runs(RAFT_ASYNC, 5, rolled_back(4)))]);
        assert!(matches!(write_concern(&only_one).verdict, Verdict::NotMeasured { .. }));
    }
}
