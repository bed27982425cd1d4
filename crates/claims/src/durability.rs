//! Claim 10: an acknowledged write is durable. A pure function of the power-loss and disk-error
//! experiments' rows.

use super::evidence::Evidence;
use super::ledger::{seed_list, seeds, Claim, Verdict};
use super::{command, no_results, SEED_SOURCE};

/// The experiments that test durability.
pub const POWER_LOSS: &str = "power-loss";
/// See [`POWER_LOSS`].
pub const DISK_ERRORS: &str = "disk-io-errors";

/// Whether a system's configuration (`experiment.json`'s `configs`: `sqlite: journal wal,
/// synchronous=full`, `quorum: ..., commit log batch, ...`, `commit log periodic(10s)`) syncs a
/// write before acknowledging it; `None` when the description says neither.
pub fn syncs_before_ack(config: &str) -> Option<bool> {
    let config = config.to_lowercase();
    if let Some(rest) = config.split("synchronous=").nth(1) {
        let setting: String = rest.chars().take_while(char::is_ascii_alphabetic).collect();
        return match setting.as_str() {
            "full" | "extra" => Some(true),
            "normal" | "off" => Some(false),
            _ => None,
        };
    }
    let rest = config.split("commit log ").nth(1)?;
    if rest.starts_with("batch") {
        Some(true)
    } else if rest.starts_with("periodic") {
        Some(false)
    } else {
        None
    }
}

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
        return claim.judged(no_results(&[POWER_LOSS]), "durability needs the power-loss experiment");
    };
    let mut synced_lost: Vec<String> = Vec::new();
    let mut synced_kept: Vec<String> = Vec::new();
    let mut unsynced_lost: Vec<String> = Vec::new();
    let mut unsynced_kept: Vec<String> = Vec::new();
    // disk-io-errors has no power loss: what it kept is reported apart.
    let mut disk_lost: Vec<String> = Vec::new();
    let mut disk_kept: Vec<String> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    for experiment in [power].into_iter().chain(evidence.experiments.get(DISK_ERRORS)) {
        for row in experiment.rows.iter().filter(|r| r.seeds > r.errors) {
            let Some(lost) = row.lost_writes else { continue };
            let synced = experiment.config(&row.system).and_then(syncs_before_ack);
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
                (Some(true), true) => synced_lost.push(text),
                (None, _) => unknown.push(text),
                (Some(_), false) if experiment.name == DISK_ERRORS => disk_kept.push(text),
                (Some(false), true) if experiment.name == DISK_ERRORS => disk_lost.push(text),
                (Some(true), false) => synced_kept.push(text),
                (Some(false), true) => unsynced_lost.push(text),
                (Some(false), false) => unsynced_kept.push(text),
            }
        }
    }
    if synced_kept.is_empty()
        && synced_lost.is_empty()
        && unsynced_lost.is_empty()
        && unsynced_kept.is_empty()
        && disk_kept.is_empty()
        && disk_lost.is_empty()
    {
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
    let unjudged = if unknown.is_empty() {
        String::new()
    } else {
        format!("; sync setting not in the configuration, not judged: {}", unknown.join(", "))
    };
    let disk = match (disk_kept.is_empty(), disk_lost.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!("; under disk I/O errors (no power loss): lost nothing ({})", disk_kept.join(", ")),
        _ => format!(
            "; under disk I/O errors (no power loss), acknowledged before the sync: lost {}{}",
            disk_lost.join(", "),
            if disk_kept.is_empty() { String::new() } else { format!("; lost nothing: {}", disk_kept.join(", ")) }
        ),
    };
    if unsynced_lost.is_empty() && disk_lost.is_empty() {
        return claim.judged(
            Verdict::Holds,
            format!("no acknowledged write was lost, synced before the ack or not{disk}{unjudged}"),
        );
    }
    let kept = if synced_kept.is_empty() { "none measured".to_owned() } else { synced_kept.join(", ") };
    let power_lost = if unsynced_lost.is_empty() { "none".to_owned() } else { unsynced_lost.join(", ") };
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
    use super::super::testing::{evidence, row};
    use super::*;
    use runner::run::table::Row;

    /// Evidence whose systems carry configurations as `experiment.json` describes them.
    fn configured(experiments: &[(&str, Vec<Row>)]) -> Evidence {
        let mut e = evidence(experiments);
        for experiment in e.experiments.values_mut() {
            let power_loss = experiment.name == POWER_LOSS;
            experiment.configs = experiment
                .rows
                .iter()
                .map(|r| {
                    let description = match r.system.as_str() {
                        "sqlite-full" => "sqlite: journal Wal, synchronous=Full".to_owned(),
                        s if s.starts_with("sqlite") => "sqlite: journal Wal, synchronous=Normal".to_owned(),
                        s if s.ends_with("batch") || !power_loss => "quorum: 3 nodes, commit log Batch".to_owned(),
                        _ => "quorum: 3 nodes, commit log Periodic(10s)".to_owned(),
                    };
                    (r.system.clone(), description)
                })
                .collect();
        }
        e
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

    #[test]
    fn the_sync_is_read_from_the_configuration() {
        assert_eq!(syncs_before_ack("sqlite: journal wal, synchronous=full"), Some(true));
        assert_eq!(syncs_before_ack("sqlite: journal wal, synchronous=normal"), Some(false));
        assert_eq!(syncs_before_ack("sqlite: journal wal, synchronous=off, kernel write-back every 5s"), Some(false));
        let quorum = |log: &str| format!("quorum: 3 nodes, n=3, r=one w=one, lww, commit log {log}, hints strict");
        assert_eq!(syncs_before_ack(&quorum("batch")), Some(true));
        assert_eq!(syncs_before_ack(&quorum("periodic(10s)")), Some(false));
        assert_eq!(syncs_before_ack("something else"), None);
    }
}
