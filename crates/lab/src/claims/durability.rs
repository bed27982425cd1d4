//! Claim 10: an acknowledged write is durable. A pure function of the power-loss and disk-error
//! experiments' rows.

use super::evidence::Evidence;
use super::ledger::{seed_list, seeds, Claim, Verdict};
use super::{command, SEED_SOURCE};

/// The experiments that test durability.
pub const POWER_LOSS: &str = "power-loss";
/// See [`POWER_LOSS`].
pub const DISK_ERRORS: &str = "disk-io-errors";

/// The power-loss systems that sync a write before acknowledging it (SQLite FULL, the quorum
/// store's `batch` commit log). Every other system of power-loss acknowledges first (SQLite
/// NORMAL and OFF, the `periodic` 10 s commit log). Every system of disk-io-errors syncs
/// first (its files set no commit log: `batch` is the default).
pub const SYNCED_BEFORE_ACK: [&str; 2] = ["sqlite-full", "quorum-quorum-batch"];

/// Claim 10.
pub fn acknowledged_durable(evidence: &Evidence) -> Claim {
    let source = format!(
        "{SEED_SOURCE}; against it, the literature: Cassandra's default `commitlog_sync: periodic` (\"writes may be \
         acked immediately and the CommitLog is simply synced every commitlog_sync_period\", conf/cassandra.yaml), \
         SQLite: \"A transaction committed in WAL mode with synchronous=NORMAL might roll back following a power \
         loss or system crash.\" (pragma.html)"
    );
    let mut claim = Claim::new(
        10,
        "acknowledged writes are durable",
        "Traditional SQL databases are designed to follow ACID properties (Atomicity, Consistency, Isolation, \
         Durability).",
        &source,
    )
    .tested_by(POWER_LOSS, &command(POWER_LOSS))
    .tested_by(DISK_ERRORS, &command(DISK_ERRORS));
    let Some(power) = evidence.experiments.get(POWER_LOSS) else {
        return claim.judged(
            Verdict::missing(format!("no results of {POWER_LOSS}: run `{}`", command(POWER_LOSS))),
            "durability needs the power-loss experiment",
        );
    };
    let mut synced_lost: Vec<String> = Vec::new();
    let mut synced_kept: Vec<String> = Vec::new();
    let mut unsynced_lost: Vec<String> = Vec::new();
    let mut unsynced_kept: Vec<String> = Vec::new();
    for (experiment, all_synced) in
        [(power, false)].into_iter().chain(evidence.experiments.get(DISK_ERRORS).map(|e| (e, true)))
    {
        for row in experiment.rows.iter().filter(|r| r.seeds > r.errors) {
            let Some(lost) = row.lost_writes else { continue };
            let synced = all_synced || SYNCED_BEFORE_ACK.contains(&row.system.as_str());
            let key = format!("{}/{}", experiment.name, row.system);
            claim.figure(format!("{key}/lost_writes"), lost as f64);
            claim.figure(format!("{key}/acknowledged_writes"), row.acknowledged_writes as f64);
            let how = if synced { "synced before the ack" } else { "acknowledged before the sync" };
            let violated = if row.violating_seeds.is_empty() || lost == 0 {
                String::new()
            } else {
                format!(" (seeds {} violated)", seed_list(&row.violating_seeds))
            };
            claim.line(format!(
                "{}, {} ({how}): {lost} of {} acknowledged writes lost over {}{violated}",
                experiment.name,
                row.system,
                row.acknowledged_writes,
                seeds(&experiment.seeds)
            ));
            let text = format!("{key} {lost} of {}", row.acknowledged_writes);
            match (synced, lost > 0) {
                (true, true) => synced_lost.push(text),
                (true, false) => synced_kept.push(text),
                (false, true) => unsynced_lost.push(text),
                (false, false) => unsynced_kept.push(text),
            }
        }
    }
    if synced_kept.is_empty() && synced_lost.is_empty() && unsynced_lost.is_empty() && unsynced_kept.is_empty() {
        return claim.judged(
            Verdict::missing(format!("{POWER_LOSS} judged no lost writes: run `{}`", command(POWER_LOSS))),
            "durability needs final reads after the power loss",
        );
    }
    if !synced_lost.is_empty() {
        return claim.judged(
            Verdict::Refuted,
            format!("writes synced before their acknowledgement were lost: {}", synced_lost.join(", ")),
        );
    }
    if unsynced_lost.is_empty() {
        return claim.judged(Verdict::Holds, "no acknowledged write was lost, synced before the ack or not");
    }
    let kept = if synced_kept.is_empty() { "none measured".to_owned() } else { synced_kept.join(", ") };
    claim
        .judged(
            Verdict::only_when(format!(
                "the write is synced before it is acknowledged (lost nothing: {kept}); acknowledged before the sync, \
             a power loss takes it: {}",
                unsynced_lost.join(", ")
            )),
            "every system that syncs before acknowledging kept every acknowledged write; the others lost writes, \
         replication notwithstanding (every replica lost power together)",
        )
        .gist("the write is synced before it is acknowledged (replication does not replace the sync)")
}

#[cfg(test)]
mod tests {
    use super::super::testing::{evidence, row};
    use super::*;

    #[test]
    fn durability_holds_only_when_synced_before_the_ack() {
        let mut periodic = row("quorum-quorum");
        periodic.lost_writes = Some(12);
        periodic.acknowledged_writes = 50;
        periodic.violating_seeds = vec![1, 2];
        let batch = row("quorum-quorum-batch");
        let full = row("sqlite-full");
        let claim =
            acknowledged_durable(&evidence(&[(POWER_LOSS, vec![full.clone(), periodic.clone(), batch.clone()])]));
        let Verdict::HoldsOnlyWhen { condition } = &claim.verdict else { panic!("{claim:?}") };
        assert!(condition.contains("power-loss/quorum-quorum 12 of 50"), "{condition}");
        assert!(claim
            .evidence
            .iter()
            .any(|l| l.contains("12 of 50 acknowledged writes lost over seeds 1-2 (seeds 1-2 violated)")));

        assert_eq!(acknowledged_durable(&evidence(&[(POWER_LOSS, vec![full.clone(), batch])])).verdict, Verdict::Holds);
        let mut disk = row("quorum-one");
        disk.lost_writes = Some(1);
        let e = evidence(&[(POWER_LOSS, vec![full, periodic]), (DISK_ERRORS, vec![disk])]);
        assert_eq!(acknowledged_durable(&e).verdict, Verdict::Refuted, "a synced system lost a write on disk errors");
        assert!(matches!(acknowledged_durable(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
    }
}
