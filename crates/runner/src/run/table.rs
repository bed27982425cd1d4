//! From seed records to comparison tables: [`aggregate`] combines the records of each system
//! (pure arithmetic on counts and latency histograms, so the order of records and the way they
//! were sharded do not matter); the renderers turn rows into text, Markdown, CSV or JSON.

use std::collections::BTreeMap;
use std::time::Duration;

use experiment::value::seconds;
use serde::Serialize;
use tabled::builder::Builder;
use tabled::settings::Style;

use super::record::{Check, Convergence, SeedRecord, TxnJudged};

/// One system's row: every seed's measurements combined.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The system.
    pub system: String,
    /// Seeds with a record.
    pub seeds: usize,
    /// Seeds whose run failed to complete.
    pub errors: usize,
    /// Operations invoked while clients ran, over all seeds.
    pub ops: u64,
    /// Share of them that ended `ok`.
    pub ok_share: f64,
    /// Share `fail`.
    pub fail_share: f64,
    /// Share `info` (unknown outcome).
    pub info_share: f64,
    /// Per-operation availability during faults: the share `ok` among operations invoked
    /// during a fault, over all seeds (`None`: none were).
    pub availability_faulty: Option<f64>,
    /// Time-availability during faults: the share of the logical clients' time inside fault
    /// windows during which they were available (from an invocation to the client's next, when
    /// that operation ended `ok`), summed over clients and seeds (`None`: no fault window, or
    /// records older than the measure). See `measure::client_time`.
    pub availability_time_faulty: Option<f64>,
    /// Share `ok` among operations invoked while healthy.
    pub availability_healthy: Option<f64>,
    /// What the check is: `linearizable` (register, kv) or `set-valid` (set).
    pub check: &'static str,
    /// Seeds that passed the check.
    pub check_passed: usize,
    /// Seeds decided (passed or failed).
    pub check_decided: usize,
    /// Seeds the checker could not decide in time.
    pub check_unknown: usize,
    /// Stale reads over all seeds (`None`: the workload has none to judge).
    pub stale_reads: Option<u64>,
    /// Acknowledged writes lost over all seeds (`None`: no final read could judge them).
    pub lost_writes: Option<u64>,
    /// Acknowledged writes over all seeds.
    pub acknowledged_writes: u64,
    /// When the lost writes were acknowledged, over all seeds: the earliest and the latest, in
    /// simulated microseconds (`None`: nothing lost).
    pub lost_window_us: Option<[u64; 2]>,
    /// Whether the system replicates (convergence applies).
    pub replicated: bool,
    /// The slowest convergence among seeds that converged, in ms.
    pub convergence_ms_max: Option<u64>,
    /// Seeds whose replicas still differed at the end.
    pub convergence_never: usize,
    /// Median latency of `ok` operations, simulated ms.
    pub latency_ms_p50: Option<f64>,
    /// 99th percentile.
    pub latency_ms_p99: Option<f64>,
    /// Maximum.
    pub latency_ms_max: Option<f64>,
    /// Median latency of `ok` writes (`write`, `cas`, `add`), simulated ms (`None`: no write
    /// latencies recorded, e.g. records older than the per-kind histogram).
    pub write_latency_ms_p50: Option<f64>,
    /// 99th percentile of the writes' latency.
    pub write_latency_ms_p99: Option<f64>,
    /// Median latency of the `ok` compare-and-sets, simulated ms (`None` without any).
    pub cas_latency_ms_p50: Option<f64>,
    /// 99th percentile of the same.
    pub cas_latency_ms_p99: Option<f64>,
    /// `ok` operations per simulated second (of client time), averaged over seeds.
    pub throughput_ok_per_s: f64,
    /// Messages sent per operation invoked.
    pub messages_per_op: f64,
    /// Seeds that violated a property, ascending.
    pub violating_seeds: Vec<u64>,
    /// A transactional workload's results over all seeds (`None` for the others).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub txn: Option<TxnRow>,
    /// A leader-based store's failovers over all seeds (`None` for the others).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failover: Option<FailoverRow>,
}

/// A leader-based store's failovers over all seeds of one system.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FailoverRow {
    /// Each seed's unavailability windows in milliseconds, one per fault, by seed (`None`: no
    /// new leader acknowledged a write after that fault).
    pub windows_ms: BTreeMap<u64, Vec<Option<u64>>>,
    /// Leaders elected from the first fault on, over all seeds.
    pub elections: u64,
    /// Acknowledged writes rolled back, over all seeds.
    pub rolled_back_acks: u64,
}

impl FailoverRow {
    fn add(&mut self, seed: u64, record: &super::record::FailoverRecord) {
        self.windows_ms.insert(seed, record.windows_ms.clone());
        self.elections += record.elections;
        self.rolled_back_acks += record.rolled_back_acks;
    }

    /// The median and largest window over every fault of every seed that had one.
    pub fn window_ms(&self) -> Option<(u64, u64)> {
        let mut windows: Vec<u64> = self.windows_ms.values().flatten().flatten().copied().collect();
        windows.sort_unstable();
        let max = *windows.last()?;
        Some((windows[(windows.len() - 1) / 2], max))
    }
}

/// The failover columns (when some row is a leader-based store): the unavailability window
/// from each fault to the first write a newly elected leader acknowledged (median and largest
/// over the faults of every seed, with how many faults had none), the elections held from the fault on
/// (over all seeds), and the acknowledged writes rolled back by a new leader.
pub const FAILOVER_HEADERS: [&str; 3] = ["failover p50/max", "elections", "acked rolled back"];

/// The failover cells of a row (dashes for a store without leaders).
pub fn failover_cells(row: &Row) -> Vec<String> {
    let Some(failover) = &row.failover else {
        return vec!["-".to_owned(); FAILOVER_HEADERS.len()];
    };
    let all: Vec<&Option<u64>> = failover.windows_ms.values().flatten().collect();
    let missing = all.iter().filter(|w| w.is_none()).count();
    let mut window = match failover.window_ms() {
        Some((p50, max)) => format!("{p50}/{max} ms"),
        None if all.is_empty() => "no fault".to_owned(),
        None => "none".to_owned(),
    };
    if missing > 0 && failover.window_ms().is_some() {
        window.push_str(&format!(" ({missing} of {} none)", all.len()));
    }
    vec![window, failover.elections.to_string(), failover.rolled_back_acks.to_string()]
}

/// A transactional workload's results over all seeds of one system.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TxnRow {
    /// Transactions (transfers) that ended `ok`, over all seeds.
    pub committed: u64,
    /// That ended `fail` (aborted by the store).
    pub aborted: u64,
    /// That ended `info`.
    pub indeterminate: u64,
    /// Anomalies by class, over all seeds.
    pub anomalies: BTreeMap<String, u64>,
    /// How many seeds had each strongest consistent level (`unknown` when the checker could not
    /// tell).
    pub levels: BTreeMap<String, usize>,
    /// Reads that broke an invariant, over all seeds (`None`: no invariants).
    pub invariant_violations: Option<u64>,
}

impl TxnRow {
    fn add(&mut self, judged: &TxnJudged) {
        self.committed += judged.committed;
        self.aborted += judged.aborted;
        self.indeterminate += judged.indeterminate;
        for (class, n) in &judged.anomalies {
            *self.anomalies.entry(class.clone()).or_insert(0) += n;
        }
        if let Some(n) = judged.invariant_violations {
            self.invariant_violations = Some(self.invariant_violations.unwrap_or(0) + n);
        } else {
            let level = judged.strongest.clone().unwrap_or_else(|| "unknown".to_owned());
            *self.levels.entry(level).or_insert(0) += 1;
        }
    }
}

/// The labels a table's check column may carry.
const CHECK_LABELS: [&str; 4] = ["linearizable", "set-valid", "serializable", "bank-valid"];

/// The check's label from an experiment's metadata: `check` when it names a known check, else
/// what `set_workload` implies (files written before `check` existed).
pub fn check_label(check: Option<&str>, set_workload: bool) -> &'static str {
    match check.and_then(|c| CHECK_LABELS.iter().find(|label| **label == c)) {
        Some(label) => label,
        None if set_workload => "set-valid",
        None => "linearizable",
    }
}

/// One row per system, in `order`; records of systems not in `order` are ignored.
pub fn aggregate(records: &[SeedRecord], order: &[String], check: &'static str) -> Vec<Row> {
    order.iter().map(|system| row(system, records.iter().filter(|r| &r.system == system), check)).collect()
}

fn share(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

fn row<'a>(system: &str, records: impl Iterator<Item = &'a SeedRecord>, check: &'static str) -> Row {
    let mut row = Row {
        system: system.to_owned(),
        seeds: 0,
        errors: 0,
        ops: 0,
        ok_share: 0.0,
        fail_share: 0.0,
        info_share: 0.0,
        availability_faulty: None,
        availability_time_faulty: None,
        availability_healthy: None,
        check,
        check_passed: 0,
        check_decided: 0,
        check_unknown: 0,
        stale_reads: None,
        lost_writes: None,
        acknowledged_writes: 0,
        lost_window_us: None,
        replicated: false,
        convergence_ms_max: None,
        convergence_never: 0,
        latency_ms_p50: None,
        latency_ms_p99: None,
        latency_ms_max: None,
        write_latency_ms_p50: None,
        write_latency_ms_p99: None,
        cas_latency_ms_p50: None,
        cas_latency_ms_p99: None,
        throughput_ok_per_s: 0.0,
        messages_per_op: 0.0,
        violating_seeds: Vec::new(),
        txn: None,
        failover: None,
    };
    let (mut ok, mut fail, mut info) = (0u64, 0u64, 0u64);
    let (mut faulty, mut faulty_ok, mut healthy, mut healthy_ok) = (0u64, 0u64, 0u64, 0u64);
    let (mut client_us, mut client_ok_us) = (0u64, 0u64);
    let (mut messages, mut all_ops, mut duration_ms) = (0u64, 0u64, 0u64);
    let mut latency: BTreeMap<u64, u64> = BTreeMap::new();
    let mut write_latency: BTreeMap<u64, u64> = BTreeMap::new();
    let mut cas_latency: BTreeMap<u64, u64> = BTreeMap::new();
    for record in records {
        row.seeds += 1;
        if record.error.is_some() {
            row.errors += 1;
            continue;
        }
        row.ops += record.ops;
        ok += record.ok;
        fail += record.fail;
        info += record.info;
        faulty += record.faulty_ops;
        faulty_ok += record.faulty_ok;
        healthy += record.healthy_ops;
        healthy_ok += record.healthy_ok;
        client_us += record.faulty_client_us;
        client_ok_us += record.faulty_client_ok_us;
        messages += record.messages;
        all_ops += record.all_ops;
        duration_ms += record.duration_ms;
        if record.check.passed() {
            row.check_passed += 1;
        }
        if record.check.decided() {
            row.check_decided += 1;
        } else if record.check == Check::Unknown {
            row.check_unknown += 1;
        }
        if let Some(n) = record.stale_reads {
            row.stale_reads = Some(row.stale_reads.unwrap_or(0) + n);
        }
        if let Some(n) = record.lost_writes {
            row.lost_writes = Some(row.lost_writes.unwrap_or(0) + n);
        }
        row.acknowledged_writes += record.acknowledged_writes;
        if let Some([first, last]) = record.lost_window_us {
            let [a, b] = row.lost_window_us.unwrap_or([first, last]);
            row.lost_window_us = Some([a.min(first), b.max(last)]);
        }
        match record.convergence {
            Convergence::NotReplicated => {}
            Convergence::AfterMs(ms) => {
                row.replicated = true;
                row.convergence_ms_max = Some(row.convergence_ms_max.map_or(ms, |max| max.max(ms)));
            }
            Convergence::Never => {
                row.replicated = true;
                row.convergence_never += 1;
            }
        }
        for (micros, count) in &record.latency_us {
            *latency.entry(*micros).or_insert(0) += count;
        }
        for (micros, count) in &record.cas_latency_us {
            *cas_latency.entry(*micros).or_insert(0) += count;
        }
        for (micros, count) in &record.write_latency_us {
            *write_latency.entry(*micros).or_insert(0) += count;
        }
        if record.violated() {
            row.violating_seeds.push(record.seed);
        }
        if let Some(judged) = &record.txn {
            row.txn.get_or_insert_with(TxnRow::default).add(judged);
        }
        if let Some(failover) = &record.failover {
            row.failover.get_or_insert_with(FailoverRow::default).add(record.seed, failover);
        }
    }
    row.violating_seeds.sort_unstable();
    let ops = ok + fail + info;
    row.ok_share = share(ok, ops).unwrap_or(0.0);
    row.fail_share = share(fail, ops).unwrap_or(0.0);
    row.info_share = share(info, ops).unwrap_or(0.0);
    row.availability_faulty = share(faulty_ok, faulty);
    row.availability_time_faulty = share(client_ok_us, client_us);
    row.availability_healthy = share(healthy_ok, healthy);
    let ms = |micros: u64| micros as f64 / 1000.0;
    row.latency_ms_p50 = quantile(&latency, 0.50).map(ms);
    row.latency_ms_p99 = quantile(&latency, 0.99).map(ms);
    row.latency_ms_max = latency.keys().next_back().copied().map(ms);
    row.write_latency_ms_p50 = quantile(&write_latency, 0.50).map(ms);
    row.write_latency_ms_p99 = quantile(&write_latency, 0.99).map(ms);
    row.cas_latency_ms_p50 = quantile(&cas_latency, 0.50).map(ms);
    row.cas_latency_ms_p99 = quantile(&cas_latency, 0.99).map(ms);
    row.throughput_ok_per_s = if duration_ms > 0 { ok as f64 / (duration_ms as f64 / 1000.0) } else { 0.0 };
    row.messages_per_op = share(messages, all_ops).unwrap_or(0.0);
    row
}

/// The nearest-rank `q` quantile of a histogram (value -> count).
pub fn quantile(histogram: &BTreeMap<u64, u64>, q: f64) -> Option<u64> {
    let total: u64 = histogram.values().sum();
    if total == 0 {
        return None;
    }
    let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
    let mut seen = 0;
    for (value, count) in histogram {
        seen += count;
        if seen >= rank {
            return Some(*value);
        }
    }
    histogram.keys().next_back().copied()
}

/// The column headers, short enough for a terminal. The two availabilities during faults:
/// `avail. fault ops`, the share `ok` of the operations invoked during a fault (per operation,
/// [`Row::availability_faulty`]); `avail. fault time`, the share of the clients' fault time
/// during which they were available (per client over time, [`Row::availability_time_faulty`]).
/// `avail. healthy` is per operation. `converged`: the slowest convergence after the repair
/// phase began, with the seeds that never converged counted (`never in N of M seeds`).
pub const HEADERS: [&str; 18] = [
    "system",
    "ops",
    "ok %",
    "fail %",
    "info %",
    "avail. fault ops",
    "avail. fault time",
    "avail. healthy",
    "CHECK",
    "stale reads",
    "lost writes",
    "converged",
    "p50 ms",
    "p99 ms",
    "max ms",
    "cas p50/p99 ms",
    "ok/s",
    "msgs/op",
];

fn percent(share: f64) -> String {
    format!("{:.1}", share * 100.0)
}

fn optional(value: Option<String>) -> String {
    value.unwrap_or_else(|| "-".to_owned())
}

/// The cells of a row, as the tables show them.
pub fn cells(row: &Row) -> Vec<String> {
    let mut check = format!("{}/{}", row.check_passed, row.check_decided + row.check_unknown);
    if row.check_unknown > 0 {
        check.push_str(&format!(" ({} unknown)", row.check_unknown));
    }
    if row.errors > 0 {
        check.push_str(&format!(" ({} runs failed)", row.errors));
    }
    let converged = if !row.replicated {
        "-".to_owned()
    } else {
        match (row.convergence_ms_max, row.convergence_never) {
            (Some(ms), 0) => format!("<= {ms} ms"),
            (Some(ms), never) => format!("<= {ms} ms; never in {never} of {} seeds", row.seeds - row.errors),
            (None, never) => format!("never ({never} of {} seeds)", row.seeds - row.errors),
        }
    };
    let lost = row.lost_writes.map(|lost| {
        let window = row.lost_window_us.map_or_else(String::new, |[first, last]| {
            format!(", acked {}-{}", seconds(Duration::from_micros(first)), seconds(Duration::from_micros(last)))
        });
        format!("{lost} of {}{window}", row.acknowledged_writes)
    });
    // Two decimals below 10 ms: sub-millisecond costs (a sync, a LAN hop) show.
    let ms = |v: Option<f64>| optional(v.map(|v| if v < 10.0 { format!("{v:.2}") } else { format!("{v:.1}") }));
    vec![
        row.system.clone(),
        row.ops.to_string(),
        percent(row.ok_share),
        percent(row.fail_share),
        percent(row.info_share),
        optional(row.availability_faulty.map(|s| format!("{} %", percent(s)))),
        optional(row.availability_time_faulty.map(|s| format!("{} %", percent(s)))),
        optional(row.availability_healthy.map(|s| format!("{} %", percent(s)))),
        check,
        optional(row.stale_reads.map(|n| n.to_string())),
        optional(lost),
        converged,
        ms(row.latency_ms_p50),
        ms(row.latency_ms_p99),
        ms(row.latency_ms_max),
        match (row.cas_latency_ms_p50, row.cas_latency_ms_p99) {
            (Some(_), Some(_)) => format!("{}/{}", ms(row.cas_latency_ms_p50), ms(row.cas_latency_ms_p99)),
            _ => "-".to_owned(),
        },
        format!("{:.0}", row.throughput_ok_per_s),
        format!("{:.2}", row.messages_per_op),
    ]
}

/// The columns a transactional workload's table adds: transactions committed, aborted
/// (`fail`) and indeterminate, the anomalies by class, and the strongest isolation level
/// consistent with each seed's history (list-append) or the reads that broke an invariant
/// (bank).
pub const TXN_HEADERS: [&str; 4] = ["txns ok/aborted/info", "abort %", "anomalies", "level / invariants broken"];

/// The transaction cells of a row (dashes for a row without transactions).
pub fn txn_cells(row: &Row) -> Vec<String> {
    let Some(txn) = &row.txn else {
        return vec!["-".to_owned(); TXN_HEADERS.len()];
    };
    let decided = txn.committed + txn.aborted + txn.indeterminate;
    let anomalies = if txn.anomalies.is_empty() {
        "none".to_owned()
    } else {
        txn.anomalies.iter().map(|(class, n)| format!("{class} {n}")).collect::<Vec<_>>().join(", ")
    };
    let judged = match txn.invariant_violations {
        Some(broken) => format!("{broken} reads broke an invariant"),
        None => txn.levels.iter().map(|(level, seeds)| format!("{level} ({seeds})")).collect::<Vec<_>>().join(", "),
    };
    vec![
        format!("{}/{}/{}", txn.committed, txn.aborted, txn.indeterminate),
        optional(share(txn.aborted, decided).map(percent)),
        anomalies,
        judged,
    ]
}

fn headers(rows: &[Row]) -> Vec<String> {
    let check = rows.first().map_or("linearizable", |r| r.check);
    let mut headers: Vec<String> =
        HEADERS.iter().map(|h| if *h == "CHECK" { check.to_owned() } else { (*h).to_owned() }).collect();
    if has_txn(rows) {
        headers.extend(TXN_HEADERS.iter().map(|h| (*h).to_owned()));
    }
    if has_failover(rows) {
        headers.extend(FAILOVER_HEADERS.iter().map(|h| (*h).to_owned()));
    }
    headers
}

/// Whether the table shows failover columns: some row is a leader-based store.
fn has_failover(rows: &[Row]) -> bool {
    rows.iter().any(|row| row.failover.is_some())
}

/// Whether the table shows transaction columns: some row has transactions.
fn has_txn(rows: &[Row]) -> bool {
    rows.iter().any(|row| row.txn.is_some())
}

/// A row's cells, with the transaction and failover columns when the table has them.
fn all_cells(row: &Row, rows: &[Row]) -> Vec<String> {
    let mut cells = cells(row);
    if has_txn(rows) {
        cells.extend(txn_cells(row));
    }
    if has_failover(rows) {
        cells.extend(failover_cells(row));
    }
    cells
}

fn builder(rows: &[Row]) -> Builder {
    let mut builder = Builder::default();
    builder.push_record(headers(rows));
    for row in rows {
        builder.push_record(all_cells(row, rows));
    }
    builder
}

/// The table for a terminal.
pub fn text(rows: &[Row]) -> String {
    let mut table = builder(rows).build();
    table.with(Style::sharp());
    table.to_string()
}

/// The table as Markdown.
pub fn markdown(rows: &[Row]) -> String {
    let mut table = builder(rows).build();
    table.with(Style::markdown());
    table.to_string()
}

/// The table as CSV (RFC 4180 quoting), with the table's cells.
pub fn csv(rows: &[Row]) -> String {
    let quote = |cell: &str| {
        if cell.contains([',', '"', '\n']) {
            format!("\"{}\"", cell.replace('"', "\"\""))
        } else {
            cell.to_owned()
        }
    };
    let line = |cells: Vec<String>| cells.iter().map(|c| quote(c)).collect::<Vec<_>>().join(",") + "\n";
    let mut out = line(headers(rows));
    for row in rows {
        out.push_str(&line(all_cells(row, rows)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(system: &str, seed: u64, ok: u64, latency: &[(u64, u64)]) -> SeedRecord {
        let mut r = SeedRecord::failed(system, seed, String::new());
        r.error = None;
        r.ops = ok + 2;
        r.ok = ok;
        r.fail = 1;
        r.info = 1;
        r.faulty_ops = 2;
        r.faulty_ok = 0;
        r.healthy_ops = ok;
        r.healthy_ok = ok;
        r.faulty_client_us = 2_000_000;
        r.faulty_client_ok_us = 500_000 * seed;
        r.check = Check::Linearizable;
        r.latency_us = latency.iter().copied().collect();
        r.duration_ms = 1000;
        r.messages = 10 * (ok + 2);
        r.all_ops = ok + 2;
        r.convergence = Convergence::AfterMs(seed * 10);
        r
    }

    #[test]
    fn failover_columns_appear_only_with_a_leader_based_store() {
        use crate::run::record::FailoverRecord;
        let plain = vec![record("a", 1, 8, &[(1000, 8)])];
        let order = ["a".to_owned(), "raft".to_owned()];
        assert!(!markdown(&aggregate(&plain, &order[..1], "linearizable")).contains("failover"));
        let mut records = plain;
        for (seed, window) in [(1, Some(1_200)), (2, Some(2_900)), (3, None)] {
            let mut r = record("raft", seed, 5, &[(1000, 5)]);
            r.failover = Some(FailoverRecord { windows_ms: vec![window], elections: 2, rolled_back_acks: seed });
            records.push(r);
        }
        let rows = aggregate(&records, &order, "linearizable");
        assert_eq!(failover_cells(&rows[0]), ["-", "-", "-"]);
        assert_eq!(failover_cells(&rows[1]), ["1200/2900 ms (1 of 3 none)", "6", "6"]);
        let table = markdown(&rows);
        assert!(table.contains("failover p50/max") && table.contains("acked rolled back"), "{table}");
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        let h: BTreeMap<u64, u64> = [(1, 50), (2, 49), (100, 1)].into_iter().collect();
        assert_eq!(quantile(&h, 0.5), Some(1));
        assert_eq!(quantile(&h, 0.99), Some(2));
        assert_eq!(quantile(&h, 1.0), Some(100));
        assert_eq!(quantile(&BTreeMap::new(), 0.5), None);
    }

    #[test]
    fn rows_combine_seeds_in_any_order() {
        let records =
            vec![record("a", 1, 8, &[(1000, 8)]), record("b", 1, 3, &[(5000, 3)]), record("a", 2, 18, &[(3000, 18)])];
        let order = ["a".to_owned(), "b".to_owned()];
        let rows = aggregate(&records, &order, "linearizable");
        let mut reversed = records.clone();
        reversed.reverse();
        assert_eq!(aggregate(&reversed, &order, "linearizable"), rows);
        let a = &rows[0];
        assert_eq!((a.seeds, a.ops, a.check_passed, a.check_decided), (2, 30, 2, 2));
        assert!((a.ok_share - 26.0 / 30.0).abs() < 1e-12);
        assert_eq!(a.availability_faulty, Some(0.0));
        assert_eq!(a.availability_time_faulty, Some(0.375), "0.5 + 1 s available of 2 + 2 s");
        assert_eq!(a.availability_healthy, Some(1.0));
        assert_eq!(a.latency_ms_p50, Some(3.0));
        assert_eq!(a.latency_ms_max, Some(3.0));
        assert_eq!(a.write_latency_ms_p50, None, "no write latencies recorded");
        assert_eq!(a.convergence_ms_max, Some(20));
        assert!((a.throughput_ok_per_s - 13.0).abs() < 1e-12, "26 ok over 2 simulated seconds");
        assert!((a.messages_per_op - 10.0).abs() < 1e-12);
        assert_eq!(rows[1].system, "b");
    }

    #[test]
    fn write_latency_combines_only_writes() {
        let mut a = record("a", 1, 4, &[(1000, 2), (9000, 2)]);
        a.write_latency_us = [(9000, 2)].into_iter().collect();
        let mut b = record("a", 2, 4, &[(1000, 3), (7000, 1)]);
        b.write_latency_us = [(7000, 1)].into_iter().collect();
        let rows = aggregate(&[a, b], &["a".to_owned()], "linearizable");
        assert_eq!(rows[0].latency_ms_p50, Some(1.0));
        assert_eq!(rows[0].write_latency_ms_p50, Some(9.0), "the median of 7, 9, 9 ms");
        assert_eq!(rows[0].write_latency_ms_p99, Some(9.0));
    }

    #[test]
    fn cas_latency_is_shown_beside_the_rest_and_only_with_compare_and_sets() {
        let mut a = record("a", 1, 4, &[(1000, 2), (9000, 2)]);
        a.cas_latency_us = [(9000, 1), (12_000, 1)].into_iter().collect();
        let rows = aggregate(&[a], &["a".to_owned()], "linearizable");
        assert_eq!((rows[0].cas_latency_ms_p50, rows[0].cas_latency_ms_p99), (Some(9.0), Some(12.0)));
        let column = HEADERS.iter().position(|h| *h == "cas p50/p99 ms").expect("a cas column");
        assert_eq!(cells(&rows[0])[column], "9.00/12.0");
        let without = aggregate(&[record("b", 1, 4, &[(1000, 2)])], &["b".to_owned()], "linearizable");
        assert_eq!(cells(&without[0])[column], "-");
    }

    #[test]
    fn violations_and_failures_are_counted() {
        let mut bad = record("a", 3, 5, &[]);
        bad.check = Check::NotLinearizable;
        let mut lost = record("a", 4, 5, &[]);
        lost.lost_writes = Some(2);
        lost.acknowledged_writes = 7;
        let failed = SeedRecord::failed("a", 5, "stuck".into());
        let mut unknown = record("a", 6, 5, &[]);
        unknown.check = Check::Unknown;
        let rows = aggregate(&[bad, lost, failed, unknown], &["a".to_owned()], "linearizable");
        let row = &rows[0];
        assert_eq!(row.violating_seeds, [3, 4]);
        assert_eq!((row.check_passed, row.check_decided, row.check_unknown, row.errors), (1, 2, 1, 1));
        let cells = cells(row);
        assert_eq!(cells[8], "1/3 (1 unknown) (1 runs failed)");
        assert_eq!(cells[10], "2 of 7");
    }

    #[test]
    fn lost_windows_combine_over_seeds() {
        let mut first = record("a", 1, 5, &[]);
        (first.lost_writes, first.acknowledged_writes, first.lost_window_us) =
            (Some(2), 7, Some([9_500_000, 11_000_000]));
        let mut second = record("a", 2, 5, &[]);
        (second.lost_writes, second.acknowledged_writes, second.lost_window_us) =
            (Some(1), 3, Some([10_000_000, 11_500_000]));
        let mut clean = record("a", 3, 5, &[]);
        (clean.lost_writes, clean.acknowledged_writes) = (Some(0), 4);
        let rows = aggregate(&[first, second, clean], &["a".to_owned()], "linearizable");
        assert_eq!(rows[0].lost_window_us, Some([9_500_000, 11_500_000]));
        assert_eq!(cells(&rows[0])[10], "3 of 14, acked 9.5s-11.5s");
    }

    #[test]
    fn renderings_agree() {
        let rows = aggregate(&[record("x,y", 1, 4, &[(2000, 4)])], &["x,y".to_owned()], "set-valid");
        let csv = csv(&rows);
        let head = "system,ops,ok %,fail %,info %,avail. fault ops,avail. fault time,avail. healthy,set-valid,";
        assert!(csv.starts_with(head), "{csv}");
        assert!(csv.contains("\"x,y\",6,66.7,16.7,16.7,0.0 %,25.0 %,100.0 %,"), "{csv}");
        let json = serde_json::to_string(&rows).expect("json");
        assert!(json.contains("\"availability_faulty\":0.0,\"availability_time_faulty\":0.25,"), "{json}");
        assert!(markdown(&rows).lines().nth(1).is_some_and(|l| l.starts_with("|-")), "{}", markdown(&rows));
        assert!(text(&rows).contains("x,y"));
    }

    #[test]
    fn convergence_cells_say_never_with_the_seeds() {
        let converged = |seed| record("a", seed, 4, &[]);
        let never = |seed| SeedRecord { convergence: Convergence::Never, ..record("a", seed, 4, &[]) };
        let cell =
            |records: &[SeedRecord]| cells(&aggregate(records, &["a".to_owned()], "linearizable")[0])[11].clone();
        assert_eq!(cell(&[converged(1), converged(3)]), "<= 30 ms");
        assert_eq!(cell(&[converged(1), never(2), never(3)]), "<= 10 ms; never in 2 of 3 seeds");
        assert_eq!(cell(&[never(2), SeedRecord::failed("a", 3, "stuck".into())]), "never (1 of 1 seeds)");
        let single = SeedRecord { convergence: Convergence::NotReplicated, ..record("a", 1, 4, &[]) };
        assert_eq!(cell(&[single]), "-");
    }
}
