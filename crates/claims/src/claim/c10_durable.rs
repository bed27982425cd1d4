//! Claim 10: an acknowledged write is durable. Judged on the power-loss and disk-error
//! experiments' lost writes, each system by whether it syncs before the ack (its recorded
//! properties).

use crate::evidence::{Evidence, Experiment};
use crate::ledger::{seed_list, seeds, Claim, Verdict};
use crate::registry::Registered;
use crate::{command, no_results, SEED_SOURCE};

use super::fault_experiments::{DISK_ERRORS, POWER_LOSS};

/// Claim 10.
/// The thresholds this judgment reads from the registration (`experiments/claims/registered.toml`).
pub const THRESHOLDS: &[&str] = &["min_clean_seeds"];

/// Claim 10, judged on `evidence` with the registered thresholds `registered`.
pub fn acknowledged_durable(evidence: &Evidence, registered: &Registered) -> Claim {
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
        return claim.judged(no_results(&[POWER_LOSS]), "durability needs the power-loss experiment");
    };
    let b = gather(&mut claim, evidence, power);
    if b.synced_kept.is_empty()
        && b.synced_lost.is_empty()
        && b.unsynced_lost.is_empty()
        && b.unsynced_kept.is_empty()
        && b.disk_kept.is_empty()
        && b.disk_lost.is_empty()
    {
        return claim.judged(
            Verdict::missing(format!("{POWER_LOSS} judged no lost writes: run `{}`", command(POWER_LOSS))),
            "durability needs final reads after the power loss",
        );
    }
    decide(claim, &b)
}

/// The rows of power-loss and disk-io-errors that judged lost writes, in words
/// (`EXPERIMENT/SYSTEM LOST of ACKNOWLEDGED`), by how the system syncs and whether it lost any.
#[derive(Default)]
struct Buckets {
    /// Synced before the ack, lost writes at power loss.
    synced_lost: Vec<String>,
    /// Synced before the ack, lost nothing.
    synced_kept: Vec<String>,
    /// Acknowledged before the sync, lost writes at power loss.
    unsynced_lost: Vec<String>,
    /// Acknowledged before the sync, lost nothing at power loss.
    unsynced_kept: Vec<String>,
    /// disk-io-errors has no power loss: what it lost is reported apart.
    disk_lost: Vec<String>,
    /// And what it kept.
    disk_kept: Vec<String>,
    /// The systems whose sync setting is not in their properties.
    unknown: Vec<String>,
}

/// One evidence line and two figures per row of `power` (and of disk-io-errors when present)
/// that judged lost writes, sorted into [`Buckets`].
fn gather(claim: &mut Claim, evidence: &Evidence, power: &Experiment) -> Buckets {
    let mut b = Buckets::default();
    for experiment in [power].into_iter().chain(evidence.experiments.get(DISK_ERRORS)) {
        for row in experiment.rows.iter().filter(|r| r.seeds > r.errors) {
            let Some(lost) = row.lost_writes else { continue };
            let synced = experiment.properties(&row.system).map(|p| p.durability.synced_before_ack());
            let key = format!("{}/{}", experiment.name, row.system);
            claim.figure(format!("{key}/lost_writes"), lost as f64);
            claim.figure(format!("{key}/acknowledged_writes"), row.acknowledged_writes as f64);
            let how = match synced {
                Some(true) => "synced before the ack",
                Some(false) => "acknowledged before the sync",
                None => "sync setting unknown",
            };
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
                (Some(true), true) => b.synced_lost.push(text),
                (None, _) => b.unknown.push(text),
                (Some(_), false) if experiment.name == DISK_ERRORS => b.disk_kept.push(text),
                (Some(false), true) if experiment.name == DISK_ERRORS => b.disk_lost.push(text),
                (Some(true), false) => b.synced_kept.push(text),
                (Some(false), true) => b.unsynced_lost.push(text),
                (Some(false), false) => b.unsynced_kept.push(text),
            }
        }
    }
    b
}

/// The verdict from the [`Buckets`]: refuted if a write synced before its ack was lost, holds if
/// nothing was lost, else holds only when the write is synced before it is acknowledged.
fn decide(claim: Claim, b: &Buckets) -> Claim {
    if !b.synced_lost.is_empty() {
        return claim.judged(
            Verdict::Refuted,
            format!("writes synced before their acknowledgement were lost: {}", b.synced_lost.join(", ")),
        );
    }
    let unjudged = if b.unknown.is_empty() {
        String::new()
    } else {
        format!("; sync setting not in the configuration, not judged: {}", b.unknown.join(", "))
    };
    let disk = match (b.disk_kept.is_empty(), b.disk_lost.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!("; under disk I/O errors (no power loss): lost nothing ({})", b.disk_kept.join(", ")),
        _ => format!(
            "; under disk I/O errors (no power loss), acknowledged before the sync: lost {}{}",
            b.disk_lost.join(", "),
            if b.disk_kept.is_empty() { String::new() } else { format!("; lost nothing: {}", b.disk_kept.join(", ")) }
        ),
    };
    if b.unsynced_lost.is_empty() && b.disk_lost.is_empty() {
        return claim.judged(
            Verdict::Holds,
            format!("no acknowledged write was lost, synced before the ack or not{disk}{unjudged}"),
        );
    }
    let kept = if b.synced_kept.is_empty() { "none measured".to_owned() } else { b.synced_kept.join(", ") };
    let power_lost = if b.unsynced_lost.is_empty() { "none".to_owned() } else { b.unsynced_lost.join(", ") };
    claim
        .judged(
            Verdict::only_when(format!(
                "the write is synced before it is acknowledged (through the power loss, lost nothing: {kept}); \
                 acknowledged before the sync, a power loss takes it: {power_lost}{disk}{unjudged}"
            )),
            "every system that syncs before acknowledging (by its configuration: synchronous=FULL, the batch commit \
             log) kept every acknowledged write through the power loss; the others lost writes, replication \
             notwithstanding (every replica lost power together)",
        )
        .gist("the write is synced before it is acknowledged (replication does not replace the sync)")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The judgment with the standard registration's thresholds.
    fn acknowledged_durable(evidence: &Evidence) -> Claim {
        super::acknowledged_durable(evidence, &crate::registry::standard().claim(10))
    }
    use crate::testing::{evidence, row};
    use runner::run::table::Row;

    /// Evidence whose systems carry the properties of the standard experiments.
    fn configured(experiments: &[(&str, Vec<Row>)]) -> Evidence {
        evidence(experiments)
    }

    #[test]
    fn durability_holds_only_when_synced_before_the_ack() {
        let mut periodic = row("quorum-quorum");
        periodic.lost_writes = Some(12);
        periodic.acknowledged_writes = 50;
        periodic.violating_seeds = vec![1, 2];
        let batch = row("quorum-quorum-batch");
        let full = row("sqlite-full");
        let claim =
            acknowledged_durable(&configured(&[(POWER_LOSS, vec![full.clone(), periodic.clone(), batch.clone()])]));
        let Verdict::HoldsOnlyWhen { condition } = &claim.verdict else { panic!("{claim:?}") };
        assert!(condition.contains("power-loss/quorum-quorum 12 of 50"), "{condition}");
        assert!(claim
            .evidence
            .iter()
            .any(|l| l.contains("12 of 50 acknowledged writes lost over seeds 1-2 (seeds 1-2 violated)")));

        assert_eq!(
            acknowledged_durable(&configured(&[(POWER_LOSS, vec![full.clone(), batch])])).verdict,
            Verdict::Holds
        );
        let e =
            configured(&[(POWER_LOSS, vec![full.clone(), periodic.clone()]), (DISK_ERRORS, vec![row("quorum-one")])]);
        let Verdict::HoldsOnlyWhen { condition } = acknowledged_durable(&e).verdict else { panic!() };
        let (power, disk) = condition.split_once("under disk I/O errors").expect("disk-io-errors apart");
        assert!(power.contains("power-loss/sqlite-full") && !power.contains("disk-io-errors"), "{condition}");
        assert!(disk.starts_with(" (no power loss): lost nothing (disk-io-errors/quorum-one 0 of 0)"), "{condition}");
        let mut disk = row("quorum-one");
        disk.lost_writes = Some(1);
        let e = configured(&[(POWER_LOSS, vec![full, periodic]), (DISK_ERRORS, vec![disk])]);
        assert_eq!(acknowledged_durable(&e).verdict, Verdict::Refuted, "a synced system lost a write on disk errors");
        assert!(matches!(acknowledged_durable(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
    }
}
