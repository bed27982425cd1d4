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
//! sweep = { nodes = [3, 6, 9], level = ["one", "quorum", "all"] }
//! ```
//!
//! Offered load is closed-loop concurrency with zero think time: every logical client sends
//! its next operation the moment the previous one returns, and the sweep raises the number of
//! clients until throughput stops growing (Little's law: past saturation only latency grows).
//! The harness has closed-loop processes already; an open-loop arrival process would need a
//! new client loop, and with tokio's millisecond timers it could only release arrivals in
//! millisecond batches anyway. Quorum clients are counted per node so that every cluster is
//! swept to the same depth (which node coordinates an operation is the quorum client's
//! routing: see the `quorum` crate).
//!
//! Two more tables shape the series and judge their points:
//!
//! ```toml
//! [mixes]                  # named operation mixes, swept with `sweep = { mix = [...] }`
//! write-only = { read = 0, write = 1, cas = 0 }
//! read-heavy = { read = 95, write = 5, cas = 0 }   # YCSB workload B
//!
//! [stability]              # all optional: the defaults of [`Stability::DEFAULT`]
//! windows = 5
//! max_cv = 0.1
//! max_p99_growth = 1.5
//! max_refused_share = 0.01
//! ```
//!
//! `mix` is a sweep key of the scaling file, not of the store: each of its values names a
//! mix of `[mixes]`, which replaces `[workload]`'s `mix` for that series (the series is named
//! with the mix's name, `quorum-5-one-read-heavy`). Any other sweep key goes to the store; a
//! value that is a one-key table (`commitlog = ["batch", { periodic = "10s" }]`) is named
//! `KEY-VALUE` (`periodic-10s`). Each series keeps its mix's name and its commit-log setting
//! (`batch`, `periodic-10s`, swept or set) for the report and the claims.
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

/// Most runs in one file: sweep points times seeds (the mixes and commit-log modes of
/// `experiments/scaling.toml` need more than the 1,000 of the one-mix sweep).
pub const MAX_POINTS: usize = 2_000;
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
    stability: Option<RawStability>,
}

/// `[stability]`: every key optional.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStability {
    windows: Option<Spanned<u64>>,
    max_cv: Option<Spanned<f64>>,
    max_p99_growth: Option<Spanned<f64>>,
    max_refused_share: Option<Spanned<f64>>,
}

/// When a point's measurement window counts as steady state (`[stability]`). The window is
/// cut into `windows` equal sub-windows; the point is *stable* when all three hold, and
/// otherwise *overloaded*: the report leaves it out of saturation, knee and efficiency.
///
/// The defaults were fixed before any sweep was classified, from what each bound must tell
/// apart, not from measured points:
/// - `windows = 5`: 200 ms sub-windows of the 1 s window, each long against the round trips
///   (a few ms) and the p99 latencies (up to ~200 ms at the deepest loads), so each
///   sub-window's p99 rests on hundreds of operations; 5 is the least that shows a trend
///   rather than one slow stretch.
/// - `max_cv = 0.1`: the sub-windows' ok counts may vary by a coefficient of variation
///   (population standard deviation over mean) of 10 %; a steady closed loop varies by a few
///   percent (Poisson noise on ~1,000 completions per sub-window is 3 %), a throughput
///   collapse or a growing stall moves it well past 10 %.
/// - `max_p99_growth = 1.5`: the last sub-window's p99 at most 1.5 x the first's. In steady
///   state the latency distribution does not drift; a queue that still grows (Little's law:
///   latency = queue / throughput) raises the p99 window after window. 1.5 leaves room for one
///   slow disk period (the disk profiles' slow stretches) without hiding a growing queue.
/// - `max_refused_share = 0.01`: at most 1 % of the operations invoked in the window refused
///   (ended `fail`: in a fault-free sweep, the store's refusal, such as admission control's
///   `Unavailable("overloaded")`). A store shedding more than that is past its capacity even
///   when its ok throughput is flat.
///
/// The p99 of the last sub-window leaves out operations still in flight when the run ends
/// (they never complete), which can only lower it: the growth bound errs towards "stable" at
/// the deepest loads, never the other way.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stability {
    /// Sub-windows of the measurement window.
    pub windows: usize,
    /// Largest coefficient of variation of the sub-windows' ok counts.
    pub max_cv: f64,
    /// Largest ratio of the last sub-window's p99 to the first's.
    pub max_p99_growth: f64,
    /// Largest share of the window's invoked operations that ended refused (`fail`).
    pub max_refused_share: f64,
}

impl Stability {
    /// The defaults (see the type's documentation for their reasons).
    pub const DEFAULT: Stability = Stability { windows: 5, max_cv: 0.1, max_p99_growth: 1.5, max_refused_share: 0.01 };
}

impl Default for Stability {
    fn default() -> Self {
        Self::DEFAULT
    }
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
    /// When a point counts as steady state.
    pub stability: Stability,
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
    /// The mix's name (`read-heavy`) when the series sweeps `mix`; `None`: `[workload]`'s mix.
    pub mix: Option<String>,
    /// The workload with that mix (`None`: the file's `[workload]`).
    pub workload: Option<Box<dyn ConfiguredWorkload>>,
    /// The store's commit-log setting as the file names it (`batch`, `periodic-10s`), when
    /// the system's table sets or sweeps `commitlog`.
    pub commitlog: Option<String>,
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

    /// The weights of the series' operations (its mix's, or `[workload]`'s: `file`).
    pub fn mix_of(&self, file: &dyn ConfiguredWorkload) -> sim::OpMix {
        self.workload.as_deref().map_or_else(|| file.mix(), |w| w.mix())
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
        let workload = self.series.get(point.series).and_then(|s| s.workload.as_deref()).unwrap_or(&*self.workload);
        let mut config = SimConfig::new_shared(point.seed, workload.sim_workload());
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
        self.bound_on(&self.disk, self.workload.mix())
    }

    /// [`Scaling::sqlite_bound_ops_per_s`] on `disk` (a sync at its mean) with `mix`.
    fn bound_on(&self, disk: &DiskCost, mix: sim::OpMix) -> f64 {
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
    /// writer on one server; a replicated leader's work is not that formula's).
    pub fn single_writer_bound(&self, series: &Series) -> Option<f64> {
        (series.properties.ordering == Ordering::SingleWriter && series.properties.replicas == 1)
            .then(|| self.bound_on(series.disk.as_ref().unwrap_or(&self.disk), series.mix_of(&*self.workload)))
    }

    /// The one-line summary `lab experiment check` prints.
    pub fn summary(&self) -> String {
        format!(
            "scaling: {} series, {} seeds, at most {} runs (each series stops at its plateau), {} of simulated time each",
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
    let mixes = source.mixes(registry, &mut root)?;
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
        series.extend(source.series(table, &mixes)?);
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

/// The mixes of `[mixes]`, by name: each with the workload `[workload]` gives with that mix.
type Mixes = Vec<(String, Box<dyn ConfiguredWorkload>)>;

/// A sweep value as a series label: a scalar as written (`3`, `one`), a one-key table as
/// `KEY-VALUE` (`{ periodic = "10s" }` is `periodic-10s`); `None` for anything else.
fn sweep_label(value: &toml::de::DeValue<'_>) -> Option<String> {
    if let toml::de::DeValue::Table(table) = value {
        let mut entries = table.iter();
        let (Some((key, value)), None) = (entries.next(), entries.next()) else { return None };
        return scalar_label(value.get_ref()).map(|v| format!("{}-{v}", key.get_ref()));
    }
    scalar_label(value)
}

/// Whether `name` may name a mix (it becomes part of series names and file names).
fn mix_name_ok(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl Source<'_> {
    /// `[mixes]`: each entry is `[workload]` with its `mix` replaced, parsed as the workload is
    /// (so a bad mix is refused where it is written).
    fn mixes(&self, registry: &Registry, root: &mut Section<'_>) -> Checked<Mixes> {
        let Some((key, value)) = root.take_raw("mixes") else { return Ok(Vec::new()) };
        let span = value.span();
        let toml::de::DeValue::Table(entries) = value.into_inner() else {
            return self.fail(span, format!("`{}`: expected a table of named mixes", key.get_ref()));
        };
        let mut entries: Vec<_> = entries.into_iter().collect();
        entries.sort_by_key(|(name, _)| name.span().start);
        let mut mixes: Mixes = Vec::new();
        for (name, mix) in entries {
            let label = name.get_ref().to_string();
            if !mix_name_ok(&label) {
                return self.fail(name.span(), format!("mix `{label}`: expected lowercase letters, digits and `-`"));
            }
            let mut copy = root.clone();
            let Some((workload_key, workload)) = copy.take_raw("workload") else {
                return Err(self.at_end("missing table [workload]"));
            };
            let workload_span = workload.span();
            let toml::de::DeValue::Table(mut table) = workload.into_inner() else {
                return self.fail(workload_span, "`workload`: expected a table");
            };
            table.remove("mix");
            table.insert(Spanned::new(name.span(), std::borrow::Cow::Borrowed("mix")), mix);
            copy.insert(&workload_key, Spanned::new(workload_span, toml::de::DeValue::Table(table)));
            let (configured, _, _) = common::workload(registry, &mut copy, DEFAULT_CLIENTS)?;
            mixes.push((label, configured));
        }
        Ok(mixes)
    }

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
        let stability = self.stability(raw.stability.as_ref())?;
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
            stability,
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

    /// `[stability]` with its defaults; each bound in its range, or an error where it is.
    fn stability(&self, raw: Option<&RawStability>) -> Checked<Stability> {
        let mut stability = Stability::DEFAULT;
        let Some(raw) = raw else { return Ok(stability) };
        if let Some(windows) = &raw.windows {
            let w = *windows.get_ref();
            if !(2..=50).contains(&w) {
                return self.fail(windows.span(), format!("windows = {w}: expected 2 to 50 sub-windows"));
            }
            stability.windows = w as usize;
        }
        let bounded = |value: &Option<Spanned<f64>>, what: &str, lo: f64, hi: f64, default: f64| -> Checked<f64> {
            let Some(value) = value else { return Ok(default) };
            let v = *value.get_ref();
            if !(v.is_finite() && v >= lo && v <= hi) {
                return self.fail(value.span(), format!("{what} = {v}: expected a number from {lo} to {hi}"));
            }
            Ok(v)
        };
        stability.max_cv = bounded(&raw.max_cv, "max_cv", 0.0, 1.0, stability.max_cv)?;
        stability.max_p99_growth =
            bounded(&raw.max_p99_growth, "max_p99_growth", 1.0, 100.0, stability.max_p99_growth)?;
        stability.max_refused_share =
            bounded(&raw.max_refused_share, "max_refused_share", 0.0, 1.0, stability.max_refused_share)?;
        Ok(stability)
    }

    /// One `[[system]]`: its sweep expanded into series, each with its clients (`mix`, a key
    /// of the scaling file, against `mixes`; every other key the store's).
    fn series(&self, mut system: SystemTable<'_>, mixes: &Mixes) -> Checked<Vec<Series>> {
        let per_server: Spanned<Vec<usize>> = common::required(&mut system.table, "clients_per_server")?;
        let values = per_server.get_ref();
        if values.is_empty() || !values.windows(2).all(|w| w[0] < w[1]) || values[0] == 0 {
            return self.fail(per_server.span(), "clients_per_server: expected a strictly ascending list of 1 or more");
        }
        let sweep = system.table.take_tables("sweep")?.into_iter().next();
        system.table.refuse("mix", "is swept (`sweep = { mix = [...] }`), or set in [workload]")?;
        let mut variants: Vec<(String, Section<'_>, Option<usize>)> =
            vec![(system.name.clone(), system.table.clone(), None)];
        if let Some(mut sweep) = sweep {
            for key in sweep.keys() {
                let Some((key, value)) = sweep.take_raw(key.get_ref()) else { continue };
                if key.get_ref() == "mix" {
                    variants = self.expand_mix(variants, &value, mixes)?;
                    continue;
                }
                let mut expanded = Vec::new();
                for (name, table, mix) in variants {
                    let one = self.expand(vec![(name, table)], &key, value.clone())?;
                    expanded.extend(one.into_iter().map(|(name, table)| (name, table, mix)));
                }
                variants = expanded;
            }
        }
        variants
            .into_iter()
            .map(|(name, mut table, mix)| {
                let commitlog = table.take_raw("commitlog").map(|(key, value)| {
                    let label = sweep_label(value.get_ref());
                    table.insert(&key, value);
                    label.unwrap_or_else(|| "custom".to_owned())
                });
                let own_disk = table.has("disk");
                let configured = system.store.parse(table)?;
                let disk = if own_disk { configured.disk_cost() } else { None };
                let properties = configured.properties();
                let servers = configured.servers().len();
                let clients: Vec<usize> = values.iter().map(|c| c.saturating_mul(servers)).collect();
                if clients.iter().any(|c| *c > MAX_CLIENTS) {
                    return self.fail(per_server.span(), format!("series `{name}`: at most {MAX_CLIENTS} clients"));
                }
                let (mix, workload) = match mix {
                    Some(index) => (Some(mixes[index].0.clone()), Some(mixes[index].1.clone())),
                    None => (None, None),
                };
                Ok(Series { name, system: configured, properties, clients, disk, mix, workload, commitlog })
            })
            .collect()
    }

    /// Every variant once for each mix `value` names (an index into `mixes`).
    fn expand_mix<'b>(
        &self,
        variants: Vec<(String, Section<'b>, Option<usize>)>,
        value: &Spanned<toml::de::DeValue<'b>>,
        mixes: &Mixes,
    ) -> Checked<Vec<(String, Section<'b>, Option<usize>)>> {
        let toml::de::DeValue::Array(items) = value.get_ref() else {
            return self.fail(value.span(), "sweep.mix: expected a list of mix names");
        };
        if items.is_empty() {
            return self.fail(value.span(), "sweep.mix: expected at least one mix");
        }
        let mut chosen = Vec::with_capacity(items.len());
        for item in items {
            let toml::de::DeValue::String(name) = item.get_ref() else {
                return self.fail(item.span(), "sweep.mix: expected names of [mixes]");
            };
            let Some(index) = mixes.iter().position(|(m, _)| m == name.as_ref()) else {
                let known: Vec<&str> = mixes.iter().map(|(m, _)| m.as_str()).collect();
                let known = if known.is_empty() { "none: no [mixes] table".to_owned() } else { known.join(", ") };
                return self.fail(item.span(), format!("sweep.mix: no mix `{name}` in [mixes] (known: {known})"));
            };
            chosen.push(index);
        }
        let mut expanded = Vec::with_capacity(variants.len() * chosen.len());
        for (name, table, _) in variants {
            for &index in &chosen {
                expanded.push((format!("{name}-{}", mixes[index].0), table.clone(), Some(index)));
            }
        }
        Ok(expanded)
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
                let Some(label) = sweep_label(item.get_ref()) else {
                    return self.fail(
                        item.span(),
                        format!("sweep.{}: expected numbers, names or one-key tables", key.get_ref()),
                    );
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
