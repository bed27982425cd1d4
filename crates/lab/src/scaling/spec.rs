//! A `kind = "scaling"` file: the raw serde mirror, then the validated [`Scaling`] with its
//! sweep [`Point`]s, each of which turns into one `sim::run` ([`Scaling::sim_config`]).
//!
//! Offered load is closed-loop concurrency with zero think time: every logical client sends
//! its next operation the moment the previous one returns, and the sweep raises the number of
//! clients until throughput stops growing (Little's law: past saturation only latency grows).
//! The harness has closed-loop processes already; an open-loop arrival process would need a
//! new client loop, and with tokio's millisecond timers it could only release arrivals in
//! millisecond batches anyway. Quorum clients are counted per node so that every cluster is
//! swept to the same depth, and each client's coordinator is `client % nodes`, so with a
//! whole number of clients per node every node coordinates the same share.
//!
//! Every error names file:line:col.

use std::path::Path;
use std::time::Duration;

use lsm::CommitLogSync;
use quorum::{ClusterConfig, Level};
use serde::Deserialize;
use sim::{Capacity, CpuCost, KeyDistribution, Kv, OpMix, SimConfig};
use sqlstore::{DiskCost, JournalMode, StoreConfig, Synchronous};
use toml::Spanned;

use crate::cli::parse_duration;
use crate::experiment::raw::{RawCommitLog, RawJournal, RawMix, RawSynchronous};
use crate::experiment::spec::{is_file_name, Checked, ExperimentError, Source, MAX_KEYS, NODES};

/// Most sweep points in one file.
pub const MAX_POINTS: usize = 1_000;
/// Most logical clients at one point.
pub const MAX_CLIENTS: usize = 20_000;
/// Longest warm-up or measurement window.
pub const MAX_WINDOW: Duration = Duration::from_secs(600);

/// The file, field for field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScaling {
    kind: Spanned<String>,
    name: Spanned<String>,
    question: Spanned<String>,
    seed: Option<Spanned<u64>>,
    tick_ms: Option<Spanned<u64>>,
    latency_ms: Option<Spanned<u64>>,
    warmup: Spanned<String>,
    measure: Spanned<String>,
    timeout: Option<Spanned<String>>,
    keys: Spanned<usize>,
    mix: Option<Spanned<RawMix>>,
    client_hosts: Option<Spanned<usize>>,
    capacity: RawCapacity,
    quorum: Option<RawQuorum>,
    sqlite: Option<RawSqlite>,
}

/// `[capacity]`: integers, units last.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCapacity {
    cpu_per_message_ns: Spanned<u64>,
    cpu_per_byte_ns: Spanned<u64>,
    fsync_us: Spanned<u64>,
    write_ns_per_kib: Spanned<u64>,
}

/// `[quorum]`: the grid of cluster sizes and levels.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuorum {
    nodes: Spanned<Vec<usize>>,
    levels: Spanned<Vec<Level>>,
    n: Option<Spanned<usize>>,
    commitlog: Option<Spanned<RawCommitLog>>,
    clients_per_node: Spanned<Vec<usize>>,
}

/// `[sqlite]`: one node, one writer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSqlite {
    journal: Option<Spanned<RawJournal>>,
    synchronous: Option<Spanned<RawSynchronous>>,
    clients: Spanned<Vec<usize>>,
}

/// A validated scaling experiment.
#[derive(Debug, Clone)]
pub struct Scaling {
    /// Results go to `results/NAME/`.
    pub name: String,
    /// What it asks.
    pub question: String,
    /// The seed of every run.
    pub seed: u64,
    /// turmoil's tick (whole milliseconds: see [`Scaling::tick`]'s check in `parse`).
    pub tick: Duration,
    /// One-way network latency, fixed.
    pub latency: Duration,
    /// Operations before the measurement window (not counted).
    pub warmup: Duration,
    /// The measurement window.
    pub measure: Duration,
    /// The clients' operation timeout.
    pub timeout: Duration,
    /// Keys, drawn uniformly.
    pub keys: usize,
    /// The operation mix.
    pub mix: OpMix,
    /// Client hosts at most (fewer when the clients do not divide evenly).
    pub client_hosts: usize,
    /// The capacity model.
    pub cpu: CpuCost,
    /// See `cpu`.
    pub disk: DiskCost,
    /// The series, in file order: quorum by nodes then level, then SQLite.
    pub series: Vec<Series>,
}

/// One configuration whose offered load is swept.
#[derive(Debug, Clone)]
pub struct Series {
    /// `quorum-5-one`, `sqlite`.
    pub name: String,
    /// Nodes (1 for SQLite).
    pub nodes: usize,
    /// Read and write level (`None` for SQLite).
    pub level: Option<Level>,
    /// The system.
    pub system: SeriesSystem,
    /// Logical clients at each point, ascending.
    pub clients: Vec<usize>,
}

/// The system a series runs.
#[derive(Debug, Clone)]
pub enum SeriesSystem {
    /// The quorum store.
    Quorum(Box<ClusterConfig>),
    /// SQLite.
    Sqlite(StoreConfig),
}

/// One run of the sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    /// Index into [`Scaling::series`].
    pub series: usize,
    /// Logical clients.
    pub clients: usize,
}

impl Scaling {
    /// Every point, series by series, clients ascending.
    pub fn points(&self) -> Vec<Point> {
        let mut points = Vec::new();
        for (series, s) in self.series.iter().enumerate() {
            points.extend(s.clients.iter().map(|&clients| Point { series, clients }));
        }
        points
    }

    /// The capacity model as the harness takes it.
    pub fn capacity(&self) -> Capacity {
        Capacity::new(self.cpu, self.disk)
    }

    /// The run configuration of `point`: zero think time, `clients` spread over the most client
    /// hosts (up to `client_hosts`) that divide them evenly.
    pub fn sim_config(&self, point: Point) -> SimConfig {
        let workload = Kv { keys: self.keys, distribution: KeyDistribution::Uniform, mix: self.mix };
        let mut config = SimConfig::new(self.seed, workload);
        let hosts = (1..=self.client_hosts.min(point.clients)).rev().find(|h| point.clients % h == 0).unwrap_or(1);
        config.client_hosts = hosts;
        config.clients_per_host = point.clients / hosts;
        config.duration = self.warmup.saturating_add(self.measure);
        config.latency = (self.latency, self.latency);
        config.op_timeout = self.timeout;
        config.think_time = Duration::ZERO;
        config.settle = Duration::from_millis(100);
        config.final_read_attempts = 1;
        config.tick = self.tick;
        config.capacity = self.capacity();
        config
    }

    /// The model's upper bound on SQLite's throughput, in operations per second: one
    /// connection does every request's CPU work and every write's sync back to back, so an
    /// operation costs at least `cpu_per_message + write_share * fsync` (frame bytes and
    /// bytes written only add to it).
    pub fn sqlite_bound_ops_per_s(&self) -> f64 {
        let total = f64::from(self.mix.read + self.mix.write + self.mix.cas).max(1.0);
        let write_share = f64::from(self.mix.write + self.mix.cas) / total;
        let per_op = self.cpu.per_message.as_secs_f64() + write_share * self.disk.per_sync.as_secs_f64();
        if per_op > 0.0 {
            1.0 / per_op
        } else {
            f64::INFINITY
        }
    }

    /// The one-line summary `lab experiment check` prints.
    pub fn summary(&self) -> String {
        format!("scaling: {} series, {} points, {} of simulated time each", self.series.len(), self.points().len(), {
            crate::experiment::spec::seconds(self.warmup + self.measure)
        })
    }
}

/// Parses and validates `text`, the contents of `file`.
pub fn parse(file: &Path, text: &str) -> Result<Scaling, ExperimentError> {
    let source = Source { file, text };
    let raw: RawScaling = source.toml()?;
    source.scaling(raw)
}

impl Source<'_> {
    fn window(&self, value: &Spanned<String>, what: &str) -> Checked<Duration> {
        let parsed = parse_duration(value.get_ref()).map_err(|e| self.error(value.span(), format!("{what}: {e}")))?;
        if parsed.is_zero() || parsed > MAX_WINDOW {
            return self.fail(value.span(), format!("{what} must be longer than zero and at most 600s"));
        }
        Ok(parsed)
    }

    /// A positive integer no larger than `max`.
    fn bounded<T: Copy + TryInto<u64>>(&self, value: &Spanned<T>, what: &str, max: u64) -> Checked<T> {
        let v: u64 = (*value.get_ref()).try_into().unwrap_or(u64::MAX);
        if v == 0 || v > max {
            return self.fail(value.span(), format!("{what} = {v}: expected 1 to {max}"));
        }
        Ok(*value.get_ref())
    }

    fn scaling(&self, raw: RawScaling) -> Checked<Scaling> {
        if raw.kind.get_ref() != "scaling" {
            return self.fail(raw.kind.span(), "expected kind = \"scaling\"");
        }
        let name = raw.name.get_ref().trim().to_owned();
        if !is_file_name(&name) {
            return self.fail(raw.name.span(), "expected a name of letters, digits, `.`, `_` or `-` (it names files)");
        }
        // tokio's timers have millisecond resolution: with a shorter tick, every step still
        // moves each host's clock on by a whole millisecond, so host time would run ahead of
        // simulated time. Sub-millisecond costs live in the capacity model's exact accounts.
        let tick_ms = match &raw.tick_ms {
            Some(tick) => self.bounded(tick, "tick_ms (whole milliseconds: tokio's timer resolution)", 100)?,
            None => 1,
        };
        let latency_ms = match &raw.latency_ms {
            Some(latency) => self.bounded(latency, "latency_ms", 1_000)?,
            None => 1,
        };
        let timeout = match &raw.timeout {
            Some(timeout) => self.window(timeout, "timeout")?,
            None => Duration::from_secs(1),
        };
        let keys = self.bounded(&raw.keys, "keys", MAX_KEYS as u64)?;
        let mix = match &raw.mix {
            Some(mix) => {
                let m = *mix.get_ref();
                let mix = OpMix { read: m.read, write: m.write, cas: m.cas };
                mix.validate().map_err(|e| self.error(raw.mix.as_ref().map_or(0..0, Spanned::span), e.to_string()))?;
                mix
            }
            None => OpMix { read: 1, write: 1, cas: 0 },
        };
        let client_hosts = match &raw.client_hosts {
            Some(hosts) => self.bounded(hosts, "client_hosts", 16)?,
            None => 4,
        };
        let c = &raw.capacity;
        let cpu = CpuCost {
            per_message: Duration::from_nanos(self.at_most(
                &c.cpu_per_message_ns,
                "cpu_per_message_ns",
                1_000_000_000,
            )?),
            per_byte: Duration::from_nanos(self.at_most(&c.cpu_per_byte_ns, "cpu_per_byte_ns", 1_000_000)?),
        };
        let disk = DiskCost {
            per_sync: Duration::from_micros(self.at_most(&c.fsync_us, "fsync_us", 1_000_000)?),
            per_kib_written: Duration::from_nanos(self.at_most(
                &c.write_ns_per_kib,
                "write_ns_per_kib",
                1_000_000_000,
            )?),
        };
        let mut series = Vec::new();
        if let Some(quorum) = &raw.quorum {
            self.quorum_series(quorum, &mut series)?;
        }
        if let Some(sqlite) = &raw.sqlite {
            series.push(self.sqlite_series(sqlite)?);
        }
        if series.is_empty() {
            return self.fail(self.text.len()..self.text.len(), "expected a [quorum] or [sqlite] table");
        }
        let scaling = Scaling {
            name,
            question: raw.question.get_ref().trim().to_owned(),
            seed: raw.seed.as_ref().map_or(1, |s| *s.get_ref()),
            tick: Duration::from_millis(tick_ms),
            latency: Duration::from_millis(latency_ms),
            warmup: self.window(&raw.warmup, "warmup")?,
            measure: self.window(&raw.measure, "measure")?,
            timeout,
            keys,
            mix,
            client_hosts,
            cpu,
            disk,
            series,
        };
        if scaling.points().len() > MAX_POINTS {
            return self.fail(0..0, format!("{} sweep points: at most {MAX_POINTS}", scaling.points().len()));
        }
        for point in scaling.points() {
            if let Err(e) = scaling.sim_config(point).validate() {
                return self.fail(0..0, format!("series `{}`: {e}", scaling.series[point.series].name));
            }
        }
        Ok(scaling)
    }

    fn at_most(&self, value: &Spanned<u64>, what: &str, max: u64) -> Checked<u64> {
        if *value.get_ref() > max {
            return self.fail(value.span(), format!("{what} = {}: at most {max}", value.get_ref()));
        }
        Ok(*value.get_ref())
    }

    /// A non-empty, strictly ascending list of client counts, each at most `max`.
    fn sweep(&self, list: &Spanned<Vec<usize>>, what: &str, max: usize) -> Checked<Vec<usize>> {
        let values = list.get_ref();
        let ascending = values.windows(2).all(|w| w[0] < w[1]);
        if values.is_empty() || !ascending || values[0] == 0 || values[values.len() - 1] > max {
            return self.fail(list.span(), format!("{what}: expected a strictly ascending list of 1 to {max}"));
        }
        Ok(values.clone())
    }

    fn quorum_series(&self, raw: &RawQuorum, series: &mut Vec<Series>) -> Checked<()> {
        let nodes = raw.nodes.get_ref();
        if nodes.is_empty() || nodes.iter().any(|n| !NODES.contains(n)) || !nodes.windows(2).all(|w| w[0] < w[1]) {
            return self.fail(raw.nodes.span(), "nodes: expected an ascending list of cluster sizes, each 3 to 9");
        }
        let levels = raw.levels.get_ref();
        if levels.is_empty() {
            return self.fail(raw.levels.span(), "levels: expected at least one level");
        }
        let n = raw.n.as_ref().map_or(3, |v| *v.get_ref());
        if n == 0 || n > nodes[0] {
            return self
                .fail(raw.n.as_ref().map_or(0..0, Spanned::span), format!("N = {n}: expected 1 to {}", nodes[0]));
        }
        let per_node = self.sweep(&raw.clients_per_node, "clients_per_node", MAX_CLIENTS / 9)?;
        let sync = match raw.commitlog.as_ref().map(Spanned::get_ref) {
            None | Some(RawCommitLog::Batch) => CommitLogSync::Batch,
            Some(RawCommitLog::Periodic(_) | RawCommitLog::Group(_)) => {
                let span = raw.commitlog.as_ref().map_or(0..0, Spanned::span);
                return self.fail(span, "commitlog: only \"batch\" (every write synced before its ack) is swept");
            }
        };
        for &count in nodes {
            for &level in levels {
                let mut config = ClusterConfig::new(count);
                config.sync = sync;
                config.node.replication = n;
                config.node.read = level;
                config.node.write = level;
                config.read = Some(level);
                config.write = Some(level);
                if let Err(e) = config.node.validate() {
                    return self.fail(raw.levels.span(), format!("{count} nodes at {level:?}: {e}"));
                }
                if quorum::level::validate(level, n, quorum::level::Access::Read).is_err() {
                    return self.fail(raw.levels.span(), format!("level {level:?} cannot be met with N = {n}"));
                }
                series.push(Series {
                    name: format!("quorum-{count}-{}", level_name(level)),
                    nodes: count,
                    level: Some(level),
                    system: SeriesSystem::Quorum(Box::new(config)),
                    clients: per_node.iter().map(|c| c * count).collect(),
                });
            }
        }
        Ok(())
    }

    fn sqlite_series(&self, raw: &RawSqlite) -> Checked<Series> {
        let mut config = StoreConfig::default();
        if let Some(journal) = &raw.journal {
            config.journal_mode = match journal.get_ref() {
                RawJournal::Wal => JournalMode::Wal,
                RawJournal::Delete => JournalMode::Delete,
            };
        }
        if let Some(synchronous) = &raw.synchronous {
            config.synchronous = match synchronous.get_ref() {
                RawSynchronous::Off => Synchronous::Off,
                RawSynchronous::Normal => Synchronous::Normal,
                RawSynchronous::Full => Synchronous::Full,
            };
        }
        let clients = self.sweep(&raw.clients, "clients", MAX_CLIENTS)?;
        Ok(Series { name: "sqlite".to_owned(), nodes: 1, level: None, system: SeriesSystem::Sqlite(config), clients })
    }
}

/// A level as the table shows it: `one`, `quorum`, `all`, `r2`.
pub fn level_name(level: Level) -> String {
    match level {
        Level::Count(k) => format!("r{k}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

#[cfg(test)]
mod tests;
