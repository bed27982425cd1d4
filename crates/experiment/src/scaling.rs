//! A `kind = "scaling"` file: the validated [`Scaling`] with its sweep [`Point`]s, each of
//! which turns into one `sim::run` ([`Scaling::sim_config`]).
//!
//! Its `seeds` key and its `[workload]` and `[[system]]` tables are those of a fault
//! experiment, read by the same code ([`common::seeds`]: `seeds = 5` is seeds 1 to 5,
//! `seeds = [3]` one seed; a singular `seed = N` is refused with that spelling as the hint;
//! `lab run --seed S` / `--seeds N` replace them). Every point of the sweep runs once per seed
//! and the report (`runner::scaling::report`) takes each figure per seed, then gives its mean
//! or median with the spread over the seeds. A system adds
//! `clients_per_server` (the offered loads, per server) and may add `sweep`, a table of store
//! keys with lists of values: the system is expanded into one series per combination, named
//! `NAME-VALUE-VALUE` in the sweep's key order (`quorum-5-one` for `name = "quorum"`, `sweep =
//! { nodes = [3, 5], level = ["one", "all"] }`).
//!
//! ```toml
//! kind = "scaling"
//! name = "scaling"
//! question = "..."
//! seeds = 5                # every point runs with seeds 1..=5; or a list: seeds = [1, 7]
//! tick_ms = 1              # turmoil's tick (whole ms)
//! latency_ms = 1           # one-way network latency, fixed
//! warmup = "300ms"
//! measure = "1s"
//!
//! [workload]
//! kind = "kv"
//! keys = 1000
//! mix = { read = 1, write = 1, cas = 0 }
//! client_hosts = 4         # at most (fewer when the clients do not divide evenly)
//! timeout = "2s"
//!
//! [capacity]               # integers, units last
//! cpu_per_message_ns = 10000
//! cpu_per_byte_ns = 2
//! fsync_us = 150
//! write_ns_per_kib = 650
//! cpu_send_per_message_ns = 1000   # optional, default base::capacity::defaults
//! cpu_send_per_byte_ns = 1         # optional
//! nic_mbit_per_s = 10000           # optional: each node's NIC, per direction
//! admission_backlog_ms = 2000      # optional: refuse client requests past this backlog
//!
//! [[system]]
//! name = "quorum"
//! kind = "quorum"
//! n = 3
//! clients_per_server = [4, 8, 16]
//! sweep = { nodes = [3, 5, 7, 9], level = ["one", "quorum", "all"] }
//! ```
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
//! A point is a series, a seed and a number of clients; [`Scaling::points`] lists them series
//! by series, then seed by seed (ascending), then clients ascending: the order of the report's
//! `points.csv`. At most [`MAX_POINTS`] runs in all (points times seeds).
//!
//! Every error names file:line:col.

use std::time::Duration;

use serde::Deserialize;
use sim::capacity::{defaults, Admission, Network, Nic};
use sim::{Capacity, CpuCost, SimConfig};
use sqlstore::DiskCost;
use toml::Spanned;

use crate::common::{self, Head, SystemTable};
use crate::properties::{Ordering, Properties};
use crate::source::{scalar_label, Checked, Section, Source};
use crate::store::{Configured as ConfiguredStore, Registry};
use crate::value::seconds;
use crate::workload::{Clients, Configured as ConfiguredWorkload};

/// Most runs in one file: sweep points times seeds.
pub const MAX_POINTS: usize = 1_000;
/// Most logical clients at one point.
pub const MAX_CLIENTS: usize = 20_000;
/// Longest warm-up or measurement window.
pub const MAX_WINDOW: Duration = Duration::from_secs(600);
/// Most client hosts.
pub const MAX_CLIENT_HOSTS: u64 = 16;
/// The clients' defaults in a scaling file: at most 4 hosts, a 1 s timeout (per host: set by
/// the sweep).
pub const DEFAULT_CLIENTS: Clients = Clients { hosts: 4, per_host: 1, timeout: Duration::from_secs(1) };

/// The rest of the file, field for field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScaling {
    tick_ms: Option<Spanned<u64>>,
    latency_ms: Option<Spanned<u64>>,
    warmup: Spanned<String>,
    measure: Spanned<String>,
    capacity: RawCapacity,
}

/// `[capacity]`: integers, units last.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCapacity {
    cpu_per_message_ns: Spanned<u64>,
    cpu_per_byte_ns: Spanned<u64>,
    fsync_us: Spanned<u64>,
    write_ns_per_kib: Spanned<u64>,
    /// CPU per frame sent (default [`sim::capacity::defaults::SEND_PER_MESSAGE`]).
    cpu_send_per_message_ns: Option<Spanned<u64>>,
    /// CPU per byte sent (default [`sim::capacity::defaults::SEND_PER_BYTE`]).
    cpu_send_per_byte_ns: Option<Spanned<u64>>,
    /// Each node's NIC, per direction (default [`sim::capacity::defaults::NIC_MBIT_PER_S`]).
    nic_mbit_per_s: Option<Spanned<u64>>,
    /// The admission bound (default [`sim::capacity::defaults::ADMISSION_BACKLOG`]).
    admission_backlog_ms: Option<Spanned<u64>>,
}

/// A validated scaling experiment.
#[derive(Debug, Clone)]
pub struct Scaling {
    /// Results go to `results/NAME/`.
    pub name: String,
    /// What it asks.
    pub question: String,
    /// The seeds every point runs with, ascending, without duplicates.
    pub seeds: Vec<u64>,
    /// turmoil's tick (whole milliseconds: tokio's timer resolution).
    pub tick: Duration,
    /// One-way network latency, fixed.
    pub latency: Duration,
    /// Operations before the measurement window (not counted).
    pub warmup: Duration,
    /// The measurement window.
    pub measure: Duration,
    /// What the clients do.
    pub workload: Box<dyn ConfiguredWorkload>,
    /// Client hosts at most, and the operation timeout.
    pub clients: Clients,
    /// The capacity model.
    pub cpu: CpuCost,
    /// See `cpu`.
    pub disk: DiskCost,
    /// See `cpu`: send CPU and each node's NIC.
    pub network: Network,
    /// See `cpu`: when a node refuses client requests.
    pub admission: Admission,
    /// The series, in file order (a swept system's in sweep order).
    pub series: Vec<Series>,
}

/// One configuration whose offered load is swept.
#[derive(Debug, Clone)]
pub struct Series {
    /// `quorum-5-one`, `sqlite`.
    pub name: String,
    /// The system.
    pub system: Box<dyn ConfiguredStore>,
    /// What it is.
    pub properties: Properties,
    /// Logical clients at each point, ascending.
    pub clients: Vec<usize>,
    /// The disk the system's table chose (`disk = ...`, or swept: `sweep = { disk = [...] }`),
    /// which the file's `[capacity]` then does not replace; `None`: `[capacity]`'s.
    pub disk: Option<DiskCost>,
}

impl Series {
    /// Server hosts.
    pub fn nodes(&self) -> usize {
        self.properties.servers
    }

    /// The level reads and writes ask for, when they ask for the same one (`one`, `quorum`,
    /// `all`); `None` for a store without quorums.
    pub fn level(&self) -> Option<String> {
        let quorums = self.properties.quorums.as_ref()?;
        (quorums.read_level == quorums.write_level).then(|| quorums.read_level.clone())
    }
}

/// One run of the sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Point {
    /// Index into [`Scaling::series`].
    pub series: usize,
    /// The run's seed.
    pub seed: u64,
    /// Logical clients.
    pub clients: usize,
}

impl Scaling {
    /// Every point, series by series, then seed by seed, clients ascending.
    pub fn points(&self) -> Vec<Point> {
        let mut points = Vec::with_capacity(self.runs());
        for (series, s) in self.series.iter().enumerate() {
            for &seed in &self.seeds {
                points.extend(s.clients.iter().map(|&clients| Point { series, seed, clients }));
            }
        }
        points
    }

    /// How many runs the sweep is: its points times its seeds (counted without listing them).
    pub fn runs(&self) -> usize {
        let per_seed: usize = self.series.iter().map(|s| s.clients.len()).sum();
        per_seed.saturating_mul(self.seeds.len())
    }

    /// Replaces the seeds (`lab run --seed`, `--seeds`): sorted, duplicates dropped.
    pub fn set_seeds(&mut self, mut seeds: Vec<u64>) {
        seeds.sort_unstable();
        seeds.dedup();
        self.seeds = seeds;
    }

    /// The capacity model as the harness takes it.
    pub fn capacity(&self) -> Capacity {
        Capacity::new(self.cpu, self.disk).with_network(self.network, self.admission)
    }

    /// The run configuration of `point`: zero think time, `clients` spread over the most client
    /// hosts (up to `client_hosts`) that divide them evenly.
    pub fn sim_config(&self, point: Point) -> SimConfig {
        let mut config = SimConfig::new_shared(point.seed, self.workload.sim_workload());
        let hosts = (1..=self.clients.hosts.min(point.clients)).rev().find(|h| point.clients % h == 0).unwrap_or(1);
        config.client_hosts = hosts;
        config.clients_per_host = point.clients / hosts;
        config.duration = self.warmup.saturating_add(self.measure);
        config.latency = (self.latency, self.latency);
        config.op_timeout = self.clients.timeout;
        config.think_time = Duration::ZERO;
        config.settle = Duration::from_millis(100);
        config.final_read_attempts = 1;
        config.tick = self.tick;
        config.capacity = self.capacity();
        if self.series.get(point.series).is_some_and(|s| s.disk.is_some()) {
            // The series' own disk profile (the store seeds it with the run's seed).
            config.capacity.disk = None;
        }
        config
    }

    /// The model's upper bound on a single writer's throughput (SQLite), in operations per
    /// second: one connection does every request's CPU work and every write's sync back to
    /// back, so an operation costs at least `cpu_per_message + write_share * fsync` (frame
    /// bytes and bytes written only add to it).
    pub fn sqlite_bound_ops_per_s(&self) -> f64 {
        self.bound_on(&self.disk)
    }

    /// [`Scaling::sqlite_bound_ops_per_s`] on `disk` (a sync at its mean).
    fn bound_on(&self, disk: &DiskCost) -> f64 {
        let mix = self.workload.mix();
        let total = f64::from(mix.read + mix.write + mix.cas).max(1.0);
        let write_share = f64::from(mix.write + mix.cas) / total;
        let sync = disk.mean_syncs().1.min(disk.mean_syncs().0);
        let per_op = self.cpu.per_message.as_secs_f64() + write_share * sync.as_secs_f64();
        if per_op > 0.0 {
            1.0 / per_op
        } else {
            f64::INFINITY
        }
    }

    /// The bound of [`Scaling::sqlite_bound_ops_per_s`] for `series`, when it applies (a single
    /// writer).
    pub fn single_writer_bound(&self, series: &Series) -> Option<f64> {
        (series.properties.ordering == Ordering::SingleWriter)
            .then(|| self.bound_on(series.disk.as_ref().unwrap_or(&self.disk)))
    }

    /// The one-line summary `lab experiment check` prints.
    pub fn summary(&self) -> String {
        format!(
            "scaling: {} series, {} seeds, {} runs, {} of simulated time each",
            self.series.len(),
            self.seeds.len(),
            self.runs(),
            seconds(self.warmup + self.measure)
        )
    }
}

/// Reads a scaling file from its top table (its `kind` already taken).
pub fn parse(registry: &Registry, mut root: Section<'_>) -> Checked<Scaling> {
    let source = root.source();
    let head = common::head(&mut root)?;
    let seeds = common::seeds(&mut root)?;
    let (workload, clients, workload_span) = common::workload(registry, &mut root, DEFAULT_CLIENTS)?;
    if clients.per_host != DEFAULT_CLIENTS.per_host {
        return source
            .fail(workload_span, "`clients_per_host` does not apply to scaling files: the sweep sets the clients");
    }
    if clients.hosts as u64 > MAX_CLIENT_HOSTS {
        return source.fail(workload_span, format!("client_hosts: at most {MAX_CLIENT_HOSTS}"));
    }
    let mut series = Vec::new();
    for table in common::systems(registry, &mut root)? {
        series.extend(source.series(table)?);
    }
    let raw: RawScaling = root.finish()?;
    source.scaling(Parts { head, seeds, workload, clients, series }, raw)
}

/// What [`parse`] read before the rest of the file.
struct Parts {
    head: Head,
    seeds: Vec<u64>,
    workload: Box<dyn ConfiguredWorkload>,
    clients: Clients,
    series: Vec<Series>,
}

impl Source<'_> {
    fn window(&self, value: &Spanned<String>, what: &str) -> Checked<Duration> {
        let parsed = self.duration(value, what)?;
        if parsed > MAX_WINDOW {
            return self.fail(value.span(), format!("{what} must be longer than zero and at most 600s"));
        }
        Ok(parsed)
    }

    fn at_most(&self, value: &Spanned<u64>, what: &str, max: u64) -> Checked<u64> {
        if *value.get_ref() > max {
            return self.fail(value.span(), format!("{what} = {}: at most {max}", value.get_ref()));
        }
        Ok(*value.get_ref())
    }

    fn scaling(&self, parts: Parts, raw: RawScaling) -> Checked<Scaling> {
        let Parts { head, seeds, workload, clients, series } = parts;
        // tokio's timers have millisecond resolution: with a shorter tick, every step still
        // moves each host's clock on by a whole millisecond, so host time would run ahead of
        // simulated time. Sub-millisecond costs live in the capacity model's exact accounts.
        let tick_ms = match &raw.tick_ms {
            Some(tick) => self.count(tick, "tick_ms (whole milliseconds: tokio's timer resolution)", 100)?,
            None => 1,
        };
        let latency_ms = match &raw.latency_ms {
            Some(latency) => self.count(latency, "latency_ms", 1_000)?,
            None => 1,
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
            ..DiskCost::FREE
        };
        let nanos = |key: &Option<Spanned<u64>>, what: &str, max: u64, default: Duration| -> Checked<Duration> {
            key.as_ref().map_or(Ok(default), |v| self.at_most(v, what, max).map(Duration::from_nanos))
        };
        let send = CpuCost {
            per_message: nanos(
                &c.cpu_send_per_message_ns,
                "cpu_send_per_message_ns",
                1_000_000_000,
                defaults::SEND_PER_MESSAGE,
            )?,
            per_byte: nanos(&c.cpu_send_per_byte_ns, "cpu_send_per_byte_ns", 1_000_000, defaults::SEND_PER_BYTE)?,
        };
        let nic_mbit = match &c.nic_mbit_per_s {
            Some(mbit) => self.count(mbit, "nic_mbit_per_s", 1_000_000)?,
            None => defaults::NIC_MBIT_PER_S,
        };
        let backlog_ms = match &c.admission_backlog_ms {
            Some(ms) => self.count(ms, "admission_backlog_ms", 3_600_000)?,
            None => u64::try_from(defaults::ADMISSION_BACKLOG.as_millis()).unwrap_or(u64::MAX),
        };
        let network = Network { send, nic: Some(Nic::from_mbit_per_s(nic_mbit)) };
        let admission = Admission { max_backlog: Some(Duration::from_millis(backlog_ms)) };
        let mut scaling = Scaling {
            name: head.name,
            question: head.question,
            seeds: Vec::new(),
            tick: Duration::from_millis(tick_ms),
            latency: Duration::from_millis(latency_ms),
            warmup: self.window(&raw.warmup, "warmup")?,
            measure: self.window(&raw.measure, "measure")?,
            workload,
            clients,
            cpu,
            disk,
            network,
            admission,
            series,
        };
        scaling.set_seeds(seeds);
        if scaling.runs() > MAX_POINTS {
            return self
                .fail(0..0, format!("{} runs (sweep points times seeds): at most {MAX_POINTS}", scaling.runs()));
        }
        let first_seed = scaling.seeds[0];
        for point in scaling.points().into_iter().filter(|p| p.seed == first_seed) {
            if let Err(e) = scaling.sim_config(point).validate() {
                return self.fail(0..0, format!("series `{}`: {e}", scaling.series[point.series].name));
            }
        }
        Ok(scaling)
    }

    /// One `[[system]]`: its sweep expanded into series, each with its clients.
    fn series(&self, mut system: SystemTable<'_>) -> Checked<Vec<Series>> {
        let per_server: Spanned<Vec<usize>> = common::required(&mut system.table, "clients_per_server")?;
        let values = per_server.get_ref();
        if values.is_empty() || !values.windows(2).all(|w| w[0] < w[1]) || values[0] == 0 {
            return self.fail(per_server.span(), "clients_per_server: expected a strictly ascending list of 1 or more");
        }
        let sweep = system.table.take_tables("sweep")?.into_iter().next();
        let mut variants: Vec<(String, Section<'_>)> = vec![(system.name.clone(), system.table.clone())];
        if let Some(mut sweep) = sweep {
            for key in sweep.keys() {
                let Some((key, value)) = sweep.take_raw(key.get_ref()) else { continue };
                variants = self.expand(variants, &key, value)?;
            }
        }
        variants
            .into_iter()
            .map(|(name, table)| {
                let own_disk = table.has("disk");
                let configured = system.store.parse(table)?;
                let disk = if own_disk { configured.disk_cost() } else { None };
                let properties = configured.properties();
                let servers = configured.servers().len();
                let clients: Vec<usize> = values.iter().map(|c| c.saturating_mul(servers)).collect();
                if clients.iter().any(|c| *c > MAX_CLIENTS) {
                    return self.fail(per_server.span(), format!("series `{name}`: at most {MAX_CLIENTS} clients"));
                }
                Ok(Series { name, system: configured, properties, clients, disk })
            })
            .collect()
    }

    /// A fault experiment's `[[system]]` with `disk = ["nvme", "hdd"]`: one variant per profile,
    /// named as a sweep names its series (`NAME-nvme`, `NAME-hdd`); any other `disk` (or none)
    /// leaves the one system as it is.
    pub(crate) fn per_disk<'a>(&self, name: String, mut table: Section<'a>) -> Checked<Vec<(String, Section<'a>)>> {
        let Some((key, value)) = table.take_raw("disk") else { return Ok(vec![(name, table)]) };
        if matches!(value.get_ref(), toml::de::DeValue::Array(_)) {
            return self.expand(vec![(name, table)], &key, value);
        }
        table.insert(&key, value);
        Ok(vec![(name, table)])
    }

    /// Every variant once for each of the values `key` sweeps over.
    pub(crate) fn expand<'a>(
        &self,
        variants: Vec<(String, Section<'a>)>,
        key: &Spanned<String>,
        value: Spanned<toml::de::DeValue<'a>>,
    ) -> Checked<Vec<(String, Section<'a>)>> {
        let span = value.span();
        let toml::de::DeValue::Array(items) = value.into_inner() else {
            return self.fail(span, format!("sweep.{}: expected a list of values", key.get_ref()));
        };
        if items.is_empty() {
            return self.fail(span, format!("sweep.{}: expected at least one value", key.get_ref()));
        }
        let mut expanded = Vec::with_capacity(variants.len() * items.len());
        for (name, table) in variants {
            if table.has(key.get_ref()) {
                return self.fail(key.span(), format!("`{}` is both set and swept", key.get_ref()));
            }
            for item in &items {
                let Some(label) = scalar_label(item.get_ref()) else {
                    return self.fail(item.span(), format!("sweep.{}: expected numbers or names", key.get_ref()));
                };
                let mut table = table.clone();
                table.insert(key, item.clone());
                expanded.push((format!("{name}-{label}"), table));
            }
        }
        Ok(expanded)
    }
}

#[cfg(test)]
mod capacity_tests;
#[cfg(test)]
mod tests;
