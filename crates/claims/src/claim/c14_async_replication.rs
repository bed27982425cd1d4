//! Claim 14: asynchronous replication loses acknowledged writes on failover. Judged per seed on
//! every leader-based replicated system ([`crate::select`]: its records say how it acknowledges)
//! of every experiment judged one key at a time: a seed loses when a new leader rolled back a
//! write the old one had acknowledged, or an acknowledged write is missing from the final reads.
//!
//! One losing seed of an asynchronous system is the counterexample to "asynchronous replication
//! keeps acknowledged writes": the claim holds. The majority-acknowledged systems of the same
//! experiments are the contrast: when they kept every acknowledged write on `min_clean_seeds`
//! seeds, the loss is put down to the asynchronous acknowledgement; when one lost writes too,
//! the ledger says so (something else loses them). With no losing seed, the claim is refuted
//! once every asynchronous system has `min_clean_seeds` judged seeds in each experiment and
//! nothing unknown; otherwise it is inconclusive.

use crate::evidence::Evidence;
use crate::ledger::{Claim, Verdict};
use crate::registry::Registered;
use crate::select;
use crate::{command, SEED_SOURCE};

use super::fault_experiments::{durable, experiments, tallies, tally_line, Tally, FAULT_EXPERIMENTS};

/// The experiment that aims its faults at the leader.
pub const FAILOVER: &str = "failover";

/// The thresholds this judgment reads from the registration (`experiments/claims/registered.toml`).
pub const THRESHOLDS: &[&str] = &["min_clean_seeds"];

/// What claim 14 counts on every seed.
pub const PROPERTY: &str = "no acknowledged write lost or rolled back";

/// Claim 14, judged on `evidence` with the registered thresholds `registered`.
pub fn async_replication(evidence: &Evidence, registered: &Registered) -> Claim {
    let mut claim = Claim::new(
        14,
        "asynchronous replication loses acknowledged writes on failover",
        "High availability in SQL databases often requires complex setups like master-slave replication or \
         clustering",
        &format!(
            "{SEED_SOURCE}; what is tested is the classic hazard of that setup, after Kingsbury, 'Jepsen: partition \
             tolerance in practice' (InfoQ, 2013): Redis Sentinel and MongoDB below majority write concern lost \
             acknowledged writes on failover (../shared/notes/references.md, section 6)"
        ),
    );
    for name in std::iter::once(FAILOVER).chain(FAULT_EXPERIMENTS) {
        claim = claim.tested_by(name, &command(name));
    }
    let all: Vec<Tally> =
        experiments(evidence).into_iter().flat_map(|e| tallies(e, select::leader_based, durable)).collect();
    let asynchronous: Vec<&Tally> = all.iter().filter(|t| select::asynchronous_replication(t.properties)).collect();
    if asynchronous.is_empty() {
        return claim.judged(
            Verdict::missing(format!(
                "no asynchronously replicated system's results: run `{}` (and the fault experiments)",
                command(FAILOVER)
            )),
            "the claim needs a leader that acknowledges writes before its followers have them",
        );
    }
    for t in &all {
        let how = if select::asynchronous_replication(t.properties) {
            "acknowledged by the leader alone"
        } else {
            "acknowledged once a majority has it"
        };
        claim.line(format!("{}{}", tally_line(t, how, PROPERTY), losses(t)));
        t.figures(&mut claim);
    }
    let min = registered.value("min_clean_seeds") as usize;
    let losing: Vec<&&Tally> = asynchronous.iter().filter(|t| t.violated()).collect();
    if losing.is_empty() {
        let unsettled: Vec<String> =
            asynchronous.iter().filter(|t| !t.settled(min)).map(|t| t.unsettled(min)).collect();
        if unsettled.is_empty() {
            return claim.judged(
                Verdict::Refuted,
                format!(
                    "no asynchronously replicated system lost or rolled back an acknowledged write, on at least {min} \
                     judged seeds per experiment, none unknown"
                ),
            );
        }
        return claim.judged(
            Verdict::inconclusive(format!("no loss yet, but not every seed is decided: {}", unsettled.join("; "))),
            format!("{PROPERTY}: a system keeps it only after {min} judged clean seeds per experiment"),
        );
    }
    let where_lost: Vec<String> =
        losing.iter().map(|t| format!("{} in {}: {}", t.system, t.experiment.name, t.counted.text())).collect();
    // The contrast: the majority-acknowledged systems of the experiments where writes were lost.
    let contrast: Vec<&Tally> = all
        .iter()
        .filter(|t| !select::asynchronous_replication(t.properties))
        .filter(|t| losing.iter().any(|l| l.experiment.name == t.experiment.name))
        .collect();
    let majority_lost: Vec<String> =
        contrast.iter().filter(|t| t.violated()).map(|t| format!("{} in {}", t.system, t.experiment.name)).collect();
    let attribution = if !majority_lost.is_empty() {
        format!(
            "but majority acknowledgement lost acknowledged writes too ({}), so not every loss is the asynchronous \
             acknowledgement's",
            majority_lost.join("; ")
        )
    } else if !contrast.is_empty() && contrast.iter().all(|t| t.settled(min)) {
        format!(
            "majority acknowledgement kept every acknowledged write in the same experiments ({} judged clean seeds or \
             more each, none unknown): the loss is the asynchronous acknowledgement's",
            min
        )
    } else {
        "the majority-acknowledged contrast is not settled in every experiment where writes were lost, so the loss \
         is not yet put down to the asynchronous acknowledgement alone"
            .to_owned()
    };
    let elections = failovers(&losing);
    claim
        .judged(
            Verdict::Holds,
            format!(
                "acknowledged writes lost or rolled back: {} (one losing seed is a counterexample to asynchronous \
                 replication keeping them){elections}; {attribution}",
                where_lost.join("; ")
            ),
        )
        .gist(format!("{} losing system(s)", losing.len()))
}

/// `; 12 rolled back, 3 missing from the final reads` when `t` lost any.
fn losses(t: &Tally) -> String {
    let records: Vec<_> = t.experiment.records_of(t.system).filter(|r| r.error.is_none()).collect();
    let rolled: u64 = records.iter().map(|r| r.rolled_back_acks()).sum();
    let missing: u64 = records.iter().filter_map(|r| r.lost_writes).sum();
    if rolled == 0 && missing == 0 {
        return String::new();
    }
    format!("; {rolled} acknowledged write(s) rolled back by a new leader, {missing} missing from the final reads")
}

/// `; every losing seed held an election after a fault (7 of 7)`, from the failover records.
fn failovers(losing: &[&&Tally]) -> String {
    let (mut seeds, mut with_election) = (0, 0);
    for t in losing {
        for r in t.experiment.records_of(t.system).filter(|r| durable(r) == Some(true)) {
            seeds += 1;
            with_election += usize::from(r.failover.as_ref().is_some_and(|f| f.elections > 0));
        }
    }
    if seeds == 0 {
        return String::new();
    }
    format!("; {with_election} of the {seeds} losing seeds elected a new leader after a fault")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{from_records, runs, RAFT_ASYNC, RAFT_MAJORITY};
    use runner::run::record::{FailoverRecord, SeedRecord};

    fn async_replication(evidence: &Evidence) -> Claim {
        super::async_replication(evidence, &crate::registry::standard().claim(14))
    }

    fn rolled_back(n: u64) -> impl Fn(u64, &mut SeedRecord) {
        move |seed, r| {
            r.failover = Some(FailoverRecord {
                windows_ms: vec![Some(1500)],
                elections: 1,
                rolled_back_acks: if seed % 2 == 1 { n } else { 0 },
            });
        }
    }

    #[test]
    fn a_rolled_back_acknowledgement_is_a_loss_put_down_to_async_when_majority_kept_everything() {
        let mut records = runs(RAFT_ASYNC, 5, rolled_back(4));
        records.extend(runs(RAFT_MAJORITY, 5, rolled_back(0)));
        let claim = async_replication(&from_records(&[(FAILOVER, records)]));
        assert_eq!(claim.verdict, Verdict::Holds, "{claim:?}");
        assert!(
            claim.reasoning.contains("sqlite-raft-async in failover: violated on seeds 1,3,5 of 5"),
            "{}",
            claim.reasoning
        );
        assert!(claim.reasoning.contains("3 of the 3 losing seeds elected a new leader"), "{}", claim.reasoning);
        assert!(claim.reasoning.contains("the loss is the asynchronous acknowledgement's"), "{}", claim.reasoning);
        assert!(claim.evidence[0].contains("12 acknowledged write(s) rolled back"), "{:?}", claim.evidence);
    }

    #[test]
    fn majority_losing_too_is_said_and_no_loss_refutes_or_is_inconclusive() {
        let mut records = runs(RAFT_ASYNC, 5, rolled_back(4));
        records.extend(runs(RAFT_MAJORITY, 5, rolled_back(1)));
        let claim = async_replication(&from_records(&[(FAILOVER, records)]));
        assert_eq!(claim.verdict, Verdict::Holds);
        assert!(
            claim.reasoning.contains("majority acknowledgement lost acknowledged writes too"),
            "{}",
            claim.reasoning
        );

        let claim = async_replication(&from_records(&[(FAILOVER, runs(RAFT_ASYNC, 5, rolled_back(0)))]));
        assert_eq!(claim.verdict, Verdict::Refuted, "{claim:?}");
        let claim = async_replication(&from_records(&[(FAILOVER, runs(RAFT_ASYNC, 3, rolled_back(0)))]));
        assert!(matches!(claim.verdict, Verdict::Inconclusive { .. }), "three seeds are too few: {claim:?}");
        assert!(matches!(async_replication(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
    }
}
