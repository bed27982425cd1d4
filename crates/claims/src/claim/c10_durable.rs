//! Claim 10: an acknowledged write is durable. Judged per seed on the power-loss and disk-error
//! experiments' lost writes, each system by whether it syncs before the ack (its recorded
//! properties) and, replicated by a leader, whether a majority has the write before the ack
//! ([`MAJORITY_ACK`]): a loss refutes unless the same experiment measured the contrast of [`SYNCED`] or [`MAJORITY_ACK`]
//! (a system acknowledging before the sync lost writes, every system syncing first kept them on
//! `min_clean_seeds` seeds). Power loss and disk errors are contrasted apart, each in its own
//! experiment; unknown seeds make it inconclusive short of a refutation. The kill experiment,
//! when its results are there, is counted the same way: it shows what a process crash (not a
//! power loss) costs each system.

use experiment::properties::Properties;

use crate::evidence::Evidence;
use crate::ledger::{percent, Claim, Verdict};
use crate::registry::Registered;
use crate::{command, no_results, SEED_SOURCE};

use super::fault_experiments::{
    durable, how, outcome, outcome_verdict, tallies, tally_line, Condition, Tally, DISK_ERRORS, KILL, MAJORITY_ACK,
    POWER_LOSS,
};

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
    .tested_by(DISK_ERRORS, &command(DISK_ERRORS))
    .tested_by(KILL, &command(KILL));
    let Some(power) = evidence.experiments.get(POWER_LOSS) else {
        return claim.judged(no_results(&[POWER_LOSS]), "durability needs the power-loss experiment");
    };
    let used = [power].into_iter().chain(evidence.experiments.get(DISK_ERRORS)).chain(evidence.experiments.get(KILL));
    let all: Vec<Tally> = used.flat_map(|e| tallies(e, |_| true, durable)).collect();
    if all.is_empty() {
        return claim.judged(
            Verdict::missing(format!("no system of {POWER_LOSS} says how it syncs: run `{}`", command(POWER_LOSS))),
            "durability needs systems whose records carry their properties",
        );
    }
    let conditions = [SYNCED, MAJORITY_ACK];
    for t in &all {
        claim.line(format!("{}{}", tally_line(t, &how(t.properties, &conditions), PROPERTY), lost_share(t)));
        t.figures(&mut claim);
    }
    let min = registered.value("min_clean_seeds") as usize;
    let (verdict, reasoning, gist) = outcome_verdict(&outcome(&all, &conditions, min, |_| None), PROPERTY, min);
    let reasoning = format!("{reasoning}; {}", split(&all));
    claim.judged(verdict, reasoning).gist(gist)
}

/// What claim 10 counts on every seed.
pub const PROPERTY: &str = "no lost acknowledged write";

/// The condition claim 10 can name: the write is synced before it is acknowledged.
pub const SYNCED: Condition = Condition {
    words: "the write is synced before it is acknowledged (replication does not replace the sync)",
    having: "synced before the ack",
    lacking: "acknowledged before the sync",
    has: synced_before_ack,
    property: "durability",
};

fn synced_before_ack(p: &Properties) -> bool {
    p.durability.synced_before_ack()
}

/// `; share of acknowledged writes lost per seed 12.0 % (min-max ...; 95 % CI ...)`, when `t`
/// lost any.
fn lost_share(t: &Tally) -> String {
    t.lost_share()
        .map_or_else(String::new, |e| format!("; share of acknowledged writes lost per seed {}", e.text_with(percent)))
}

/// The power loss and the disk errors kept apart: per experiment, which systems lost writes.
fn split(all: &[Tally]) -> String {
    let mut parts = Vec::new();
    for (name, what) in [
        (POWER_LOSS, "under power loss"),
        (DISK_ERRORS, "under disk I/O errors (no power loss)"),
        (KILL, "under a process kill (the OS kept what it was given)"),
    ] {
        let here: Vec<&Tally> = all.iter().filter(|t| t.experiment.name == name).collect();
        if here.is_empty() {
            continue;
        }
        let lost: Vec<&str> = here.iter().filter(|t| t.violated()).map(|t| t.system).collect();
        let names = if lost.is_empty() { String::new() } else { format!(": {}", lost.join(", ")) };
        parts.push(format!("{what}, {} of {} systems lost writes{names}", lost.len(), here.len()));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{evidence, from_records, row, runs, BATCH, PERIODIC, SQLITE_FULL};
    use runner::run::record::{Check, SeedRecord};

    /// The judgment with the standard registration's thresholds.
    fn acknowledged_durable(evidence: &Evidence) -> Claim {
        super::acknowledged_durable(evidence, &crate::registry::standard().claim(10))
    }

    fn lose(n: u64) -> impl Fn(u64, &mut SeedRecord) {
        move |_, r| r.lost_writes = Some(n)
    }

    fn synced() -> Vec<SeedRecord> {
        let mut records = runs(SQLITE_FULL, 5, |_, _| {});
        records.extend(runs(BATCH, 5, |_, _| {}));
        records
    }

    #[test]
    fn durability_holds_only_when_synced_before_the_ack() {
        let mut power = synced();
        power.extend(runs(PERIODIC, 5, lose(10)));
        let claim = acknowledged_durable(&from_records(&[(POWER_LOSS, power)]));
        let Verdict::HoldsOnlyWhen { condition } = &claim.verdict else { panic!("{claim:?}") };
        assert!(
            condition.contains(
                "quorum-quorum (acknowledged before the sync) violated in power-loss on seeds 1-5 of 5 judged, while \
                 quorum-quorum-batch on seeds 1-5 (synced before the ack) kept it there"
            ),
            "{condition}"
        );
        let line = claim.evidence.iter().find(|l| l.contains(", quorum-quorum (")).expect("periodic line");
        assert!(
            line.ends_with(
                "violated on seeds 1-5 of 5; share of acknowledged writes lost per seed 25.0 % (min-max \
                 25.0 %-25.0 % over seeds 1-5; 95 % CI 25.0 %-25.0 %)"
            ),
            "{line}"
        );
        assert!(
            claim.reasoning.contains("under power loss, 1 of 3 systems lost writes: quorum-quorum"),
            "{}",
            claim.reasoning
        );
    }

    #[test]
    fn durability_holds_when_nothing_is_lost_and_power_loss_and_disk_errors_stay_apart() {
        let disk = runs("quorum-one", 5, |_, _| {});
        let claim = acknowledged_durable(&from_records(&[(POWER_LOSS, synced()), (DISK_ERRORS, disk)]));
        assert_eq!(claim.verdict, Verdict::Holds, "{claim:?}");
        assert!(
            claim.reasoning.ends_with(
                "under power loss, 0 of 2 systems lost writes; under disk I/O errors (no power loss), 0 of 1 systems \
             lost writes"
            ),
            "{}",
            claim.reasoning
        );
    }

    #[test]
    fn a_synced_loss_or_an_uncontrasted_loss_refutes() {
        // A synced system lost a write on disk errors: refuted, whatever the power loss says.
        let mut power = synced();
        power.extend(runs(PERIODIC, 5, lose(10)));
        let e = from_records(&[(POWER_LOSS, power), (DISK_ERRORS, runs(SQLITE_FULL, 5, lose(1)))]);
        let claim = acknowledged_durable(&e);
        assert_eq!(claim.verdict, Verdict::Refuted, "{claim:?}");
        assert!(
            claim.reasoning.contains("sqlite-full in disk-io-errors on seeds 1-5 of 5 judged"),
            "{}",
            claim.reasoning
        );
        // Only the unsynced side measured: no condition can be named.
        let claim = acknowledged_durable(&from_records(&[(POWER_LOSS, runs(PERIODIC, 5, lose(3)))]));
        assert_eq!(claim.verdict, Verdict::Refuted, "{claim:?}");
    }

    #[test]
    fn unknown_seeds_are_inconclusive() {
        let mut power = synced();
        power[2].check = Check::Unknown;
        power.extend(runs(PERIODIC, 5, lose(10)));
        let Verdict::Inconclusive { why } = acknowledged_durable(&from_records(&[(POWER_LOSS, power)])).verdict else {
            panic!()
        };
        assert!(why.contains("sqlite-full in power-loss: checker verdict unknown on seed 3"), "{why}");
        let mut power = synced();
        power[6].lost_writes = None;
        let Verdict::Inconclusive { why } = acknowledged_durable(&from_records(&[(POWER_LOSS, power)])).verdict else {
            panic!()
        };
        assert!(why.contains("quorum-quorum-batch in power-loss: 4 judged seed(s), 5 needed"), "{why}");
        let rows_only = evidence(&[(POWER_LOSS, vec![row(SQLITE_FULL)])]);
        assert!(matches!(acknowledged_durable(&rows_only).verdict, Verdict::Inconclusive { .. }));
    }

    #[test]
    fn without_power_loss_it_is_not_measured() {
        assert!(matches!(acknowledged_durable(&Evidence::default()).verdict, Verdict::NotMeasured { .. }));
        let unnamed = evidence(&[(POWER_LOSS, vec![row("mystery")])]);
        assert!(matches!(acknowledged_durable(&unnamed).verdict, Verdict::NotMeasured { .. }));
    }
}
