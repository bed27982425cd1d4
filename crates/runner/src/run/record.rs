//! What one run of one system for one seed measured: [`SeedRecord`], the unit that `lab run`
//! writes to `runs.jsonl` and that `lab merge` combines. Everything a table shows is computed
//! from these records alone, so a table of shards merged equals the table of one run.

use std::collections::BTreeMap;
use std::time::Duration;

use experiment::properties::Properties;
use serde::{Deserialize, Serialize};
use sim::Fault;

/// The measurements of one system under one seed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedRecord {
    /// The system's name in the experiment.
    pub system: String,
    /// The seed.
    pub seed: u64,
    /// The experiment it is of (`experiment.json`'s `name`): records are not mixed up between
    /// experiments. Absent in records written before it existed (`lab claims` refuses those).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// The fingerprint of the experiment file it ran from (`experiment.json`'s `fingerprint`):
    /// records are not mixed up between versions of a file. Absent as `experiment` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// What the system is (its store, replicas, quorums, durability): what claims select
    /// systems by. Absent in records written before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<Properties>,
    /// Why the run could not complete (the other fields are then zero).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The faults the seed applied, as `FAULT at TIME` (the harness's end-of-run healing
    /// included).
    #[serde(default)]
    pub faults: Vec<String>,
    /// Operations invoked by the client processes while they ran (final reads excluded).
    pub ops: u64,
    /// Of those: `ok`.
    pub ok: u64,
    /// Of those: `fail` (certainly no effect).
    pub fail: u64,
    /// Of those: `info` (outcome unknown: timed out or cut off).
    pub info: u64,
    /// Operations invoked while some fault was in effect.
    pub faulty_ops: u64,
    /// Of those: `ok`.
    pub faulty_ok: u64,
    /// Operations invoked while no fault was in effect.
    pub healthy_ops: u64,
    /// Of those: `ok`.
    pub healthy_ok: u64,
    /// Client time inside fault windows, in simulated microseconds, summed over the logical
    /// clients: each client's time from its first invocation to the end of the client phase,
    /// cut at its invocations (final reads excluded). The denominator of time-availability.
    /// Absent in records written before it existed (read as 0: not measured).
    #[serde(default)]
    pub faulty_client_us: u64,
    /// Of that time, the part during which the client was *available*: the interval from an
    /// invocation to the client's next invocation (or the end of the client phase) counts when
    /// that operation ended `ok`. The numerator of time-availability.
    #[serde(default)]
    pub faulty_client_ok_us: u64,
    /// The consistency check of the whole history.
    pub check: Check,
    /// Reads that returned a value certainly overwritten before they began (`None`: the
    /// workload has no reads to judge).
    pub stale_reads: Option<u64>,
    /// Acknowledged writes the final reads no longer reflect (`None`: nothing could be judged).
    pub lost_writes: Option<u64>,
    /// Acknowledged writes (or adds).
    pub acknowledged_writes: u64,
    /// When the lost writes were acknowledged, simulated microseconds: the first and the last
    /// (absent when none was lost, and in records written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_window_us: Option<[u64; 2]>,
    /// Keys with acknowledged writes and no successful final read: nothing about them could
    /// be judged lost or kept (absent in records written before it existed: read as 0).
    #[serde(default)]
    pub unjudged_keys: u64,
    /// What a transactional workload's check found: transactions committed, aborted and
    /// indeterminate, anomalies by class, the strongest level, invariant violations (absent
    /// for the other workloads).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub txn: Option<TxnJudged>,
    /// When the replicas came to agree for good.
    pub convergence: Convergence,
    /// Latencies of `ok` operations: microseconds of simulated time to count.
    pub latency_us: BTreeMap<u64, u64>,
    /// Of those, the writes' (`write`, `cas`, `add`): microseconds to count. Absent in records
    /// written before it existed (read as empty).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub write_latency_us: BTreeMap<u64, u64>,
    /// Of those, the compare-and-sets' (`cas`), to set their latency beside plain writes':
    /// microseconds to count. Absent when the run had none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub cas_latency_us: BTreeMap<u64, u64>,
    /// Simulated time of client operations, in milliseconds.
    pub duration_ms: u64,
    /// The run's resolution: model time per simulation step, in microseconds (a cost shorter
    /// than this cannot be told apart in one operation; see `sim::time`). Absent in records
    /// written before it existed, which ran at 1 ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_us: Option<u64>,
    /// Messages the system sent in the whole run.
    pub messages: u64,
    /// Every operation of the history, final reads included (the denominator of messages per
    /// operation).
    pub all_ops: u64,
    /// How the leaders changed, for a store that elects them (absent for the others).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover: Option<FailoverRecord>,
}

/// The failovers of one run of a leader-based store ([`sim::LeaderLog`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailoverRecord {
    /// For each fault that starts something (not a heal, a restart or a clock set back), in
    /// order: milliseconds from the fault to the first write acknowledged by a leader elected
    /// after it and before the next such fault (`None`: no new leader acknowledged a write).
    pub windows_ms: Vec<Option<u64>>,
    /// Leaders elected from the first fault to the end of the run (0 without faults).
    pub elections: u64,
    /// Writes acknowledged to a client and later rolled back by a new leader.
    pub rolled_back_acks: u64,
}

impl FailoverRecord {
    /// The failover figures of `log` for a run whose faults are `faults` (the harness's own
    /// recovery at `duration` and later is not a fault).
    pub fn from_log(log: &sim::LeaderLog, faults: &[(Duration, Fault)], duration: Duration) -> Self {
        let starts: Vec<Duration> = faults
            .iter()
            .filter(|(at, fault)| {
                *at < duration && !matches!(fault, Fault::Heal | Fault::Restart(_) | Fault::Skew { offset_ms: 0, .. })
            })
            .map(|(at, _)| *at)
            .collect();
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let windows_ms = starts
            .iter()
            .enumerate()
            .map(|(i, at)| log.failover(*at, starts.get(i + 1).copied()).unavailable.map(millis))
            .collect();
        let elections = starts.first().map_or(0, |at| log.failover(*at, None).elections as u64);
        FailoverRecord { windows_ms, elections, rolled_back_acks: log.rolled_back_acks }
    }
}

pub use experiment::workload::{Check, TxnJudged};

/// When the replicas agreed for good, measured from the start of the repair phase: `duration`,
/// when the harness heals every fault and the clients stop invoking (the quiet `settle` period
/// before the final reads). Not from the last completed write: that would time how fast the
/// last writes spread, not how fast the system repairs itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Convergence {
    /// One replica of everything (SQLite): nothing to converge.
    NotReplicated,
    /// Equal from this many milliseconds after the repair phase began to the end of the run
    /// (0: equal already when it began, and ever since).
    AfterMs(u64),
    /// Still different at the end of the run: never converged.
    Never,
}

impl SeedRecord {
    /// A record of a run that failed with `error`.
    pub fn failed(system: &str, seed: u64, error: String) -> Self {
        Self {
            system: system.to_owned(),
            seed,
            experiment: None,
            fingerprint: None,
            properties: None,
            error: Some(error),
            faults: Vec::new(),
            ops: 0,
            ok: 0,
            fail: 0,
            info: 0,
            faulty_ops: 0,
            faulty_ok: 0,
            healthy_ops: 0,
            healthy_ok: 0,
            faulty_client_us: 0,
            faulty_client_ok_us: 0,
            check: Check::NotRun,
            stale_reads: None,
            lost_writes: None,
            acknowledged_writes: 0,
            lost_window_us: None,
            resolution_us: None,
            unjudged_keys: 0,
            txn: None,
            convergence: Convergence::Never,
            latency_us: BTreeMap::new(),
            write_latency_us: BTreeMap::new(),
            cas_latency_us: BTreeMap::new(),
            duration_ms: 0,
            messages: 0,
            all_ops: 0,
            failover: None,
        }
    }

    /// Per-operation availability during faults: the share `ok` among operations invoked
    /// inside a fault window (`None`: none were).
    pub fn availability_faulty(&self) -> Option<f64> {
        (self.faulty_ops > 0).then(|| self.faulty_ok as f64 / self.faulty_ops as f64)
    }

    /// Time-availability during faults: the share of the clients' fault time during which
    /// they were available ([`faulty_client_ok_us`](Self::faulty_client_ok_us) over
    /// [`faulty_client_us`](Self::faulty_client_us); `None`: no fault window, or a record
    /// older than the measure).
    pub fn availability_time_faulty(&self) -> Option<f64> {
        (self.faulty_client_us > 0).then(|| self.faulty_client_ok_us as f64 / self.faulty_client_us as f64)
    }

    /// True when the history violated a property: not linearizable, an invalid set, a
    /// transaction anomaly, a broken bank invariant, a stale read or a lost acknowledged write
    /// (missing from the final reads, or rolled back by a new leader).
    pub fn violated(&self) -> bool {
        self.check.failed()
            || self.stale_reads.is_some_and(|n| n > 0)
            || self.lost_writes.is_some_and(|n| n > 0)
            || self.rolled_back_acks() > 0
    }

    /// Acknowledged writes a new leader rolled back (0 for a store without leaders).
    pub fn rolled_back_acks(&self) -> u64 {
        self.failover.as_ref().map_or(0, |f| f.rolled_back_acks)
    }

    /// Acknowledged writes lost, counting both ways of seeing a loss: missing from the final
    /// reads, or rolled back by a new leader (a rolled-back write may also be missing from the
    /// final reads, so the larger of the two); `None` when the final reads were not judged.
    pub fn acknowledged_lost(&self) -> Option<u64> {
        self.lost_writes.map(|lost| lost.max(self.rolled_back_acks()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_without_write_latencies_still_read() {
        let mut record = SeedRecord::failed("s", 1, String::new());
        record.error = None;
        let old = serde_json::to_string(&record).expect("json");
        assert!(!old.contains("write_latency_us"), "an empty histogram is left out: {old}");
        assert_eq!(serde_json::from_str::<SeedRecord>(&old).expect("reads"), record);
        record.write_latency_us.insert(5000, 2);
        let new = serde_json::to_string(&record).expect("json");
        assert!(new.contains("\"write_latency_us\":{\"5000\":2}"), "{new}");
        assert_eq!(serde_json::from_str::<SeedRecord>(&new).expect("reads"), record);
    }

    #[test]
    fn records_say_their_experiment_and_file_version_and_old_ones_still_read() {
        let mut record = SeedRecord::failed("s", 1, String::new());
        let old = serde_json::to_string(&record).expect("json");
        assert!(!old.contains("experiment") && !old.contains("fingerprint"), "{old}");
        assert_eq!(serde_json::from_str::<SeedRecord>(&old).expect("reads"), record);
        record.experiment = Some("power-loss".into());
        record.fingerprint = Some("0123456789abcdef".into());
        let new = serde_json::to_string(&record).expect("json");
        assert!(
            new.starts_with(
                "{\"system\":\"s\",\"seed\":1,\"experiment\":\"power-loss\",\"fingerprint\":\"0123456789abcdef\","
            ),
            "{new}"
        );
        assert_eq!(serde_json::from_str::<SeedRecord>(&new).expect("reads"), record);
    }

    #[test]
    fn records_without_client_time_read_as_not_measured() {
        let mut record = SeedRecord::failed("s", 1, String::new());
        record.error = None;
        record.faulty_ops = 4;
        record.faulty_ok = 1;
        record.faulty_client_us = 3_000_000;
        record.faulty_client_ok_us = 1_500_000;
        let json = serde_json::to_string(&record).expect("json");
        assert!(json.contains("\"faulty_client_us\":3000000,\"faulty_client_ok_us\":1500000"), "{json}");
        assert_eq!(record.availability_faulty(), Some(0.25));
        assert_eq!(record.availability_time_faulty(), Some(0.5));
        let old = json.replace(",\"faulty_client_us\":3000000,\"faulty_client_ok_us\":1500000", "");
        let read: SeedRecord = serde_json::from_str(&old).expect("an older record reads");
        assert_eq!((read.faulty_client_us, read.availability_time_faulty()), (0, None));
    }
}
