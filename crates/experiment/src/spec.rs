//! Fault experiments (the default kind): systems under a fault schedule. The `[workload]`
//! and `[[system]]` tables are read through the registry ([`crate::common`]); this module
//! reads the rest (`seeds`, `duration`, `resolution`, `latency`, `[[fault]]`, `[nemesis]`,
//! `[disk]`) and builds the
//! validated [`Experiment`].
//!
//! Every error names the file, line and column of the value it is about. After its own
//! checks, each system's run configuration goes through `SimConfig::validate` and
//! `validate_hosts`, the checks `sim::run` itself makes, so that a file that validates here
//! cannot be refused when it runs.

use std::time::Duration;

use sim::writeback::{WriteBack, DEFAULT_EXPIRE, DEFAULT_INTERVAL, MAX_SETTING};
use sim::{Cluster, DiskFaults, NemesisError, Rng, Schedule, SimConfig};
use toml::Spanned;

use crate::common::{self, Head};
use crate::raw::{RawDisk, RawExperiment};
use crate::source::{Checked, Section, Source};
use crate::store::{Configured as ConfiguredStore, Registry};
use crate::value::seconds;
use crate::workload::{Clients, Configured as ConfiguredWorkload};

pub use crate::common::MAX_SEEDS;
/// Most `[[fault]]` entries.
pub const MAX_FAULTS: usize = 10_000;
/// Longest simulated duration.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);
/// Largest clock skew, either way.
pub const MAX_SKEW_MS: i64 = 3_600_000;

/// The host name that means each system's first server (`db` for SQLite, `n1` for quorum).
pub const FIRST_SERVER: &str = "server";

/// The host name that means the system's leader when the fault fires ([`sim::LEADER`],
/// resolved by the harness; a system without a leader: its first server). A restart, or a
/// skew back to zero, of `leader` acts on the host the fault before it named.
pub const LEADER: &str = "leader";

/// The clients of a fault experiment when the file does not say: 2 hosts of 5, 1 s timeout.
pub const DEFAULT_CLIENTS: Clients = Clients { hosts: 2, per_host: 5, timeout: Duration::from_secs(1) };

/// A validated experiment, ready to run.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// Short name.
    pub name: String,
    /// The question it answers.
    pub question: String,
    /// Every seed to run, in order, without duplicates.
    pub seeds: Vec<u64>,
    /// Simulated time during which clients invoke operations.
    pub duration: Duration,
    /// What the clients do.
    pub workload: Box<dyn ConfiguredWorkload>,
    /// How many clients do it.
    pub clients: Clients,
    /// The systems compared, in file order, each with the fault schedule in its host names.
    pub systems: Vec<System>,
    /// The number of `[[fault]]` entries (each system's schedule has them expanded).
    pub faults: usize,
    /// Disk faults for the whole run.
    pub disk: DiskFaults,
    /// The OS's write-back on every server host (`[disk]`'s `dirty_expire` and
    /// `dirty_writeback`; default Linux's, 30 s and 5 s): what a power loss spares.
    pub writeback: WriteBack,
    /// The random nemesis, when the file has one.
    pub random: Option<RandomNemesis>,
    /// Model time one simulation step stands for (`resolution`, default 1 ms): below 1 ms the
    /// run is dilated ([`sim::time`]) and costs that short are seen in single operations.
    pub resolution: Duration,
    /// One-way network latency, minimum and maximum (`latency`, default 1 ms to 10 ms).
    pub latency: (Duration, Duration),
}

/// One system under test.
#[derive(Debug, Clone)]
pub struct System {
    /// Its name, unique in the experiment.
    pub name: String,
    /// Its configuration, as its store validated it.
    pub spec: Box<dyn ConfiguredStore>,
    /// The experiment's `[[fault]]`s in this system's host names, in file order.
    pub faults: Vec<PlannedFault>,
    /// Its hosts, as the nemesis sees them.
    pub cluster: Cluster,
}

impl Experiment {
    /// The fault schedule of system number `index`, described in one line.
    pub fn describe_faults(&self, index: usize) -> String {
        let system = &self.systems[index];
        if self.random.is_some() || system.faults.iter().any(|f| matches!(f.what, Planned::Drawn(_))) {
            let mut parts: Vec<String> = system.faults.iter().map(PlannedFault::describe).collect();
            if let Some(random) = &self.random {
                parts.push(random.describe());
            }
            return format!("drawn per seed: {}", parts.join("; "));
        }
        let schedule = self.schedule(system, self.seeds[0]).unwrap_or_default();
        let faults: Vec<String> = schedule.iter().map(|(at, fault)| format!("{fault} at {}", seconds(*at))).collect();
        if faults.is_empty() {
            "none".to_owned()
        } else {
            faults.join("; ")
        }
    }

    /// The run configuration of `system` for `seed`: the fault schedule is drawn from the seed
    /// (hosts and parameters the file leaves open, and the random nemesis).
    pub fn sim_config(&self, system: &System, seed: u64) -> Result<SimConfig, NemesisError> {
        let mut config = SimConfig::new_shared(seed, self.workload.sim_workload());
        config.duration = self.duration;
        config.client_hosts = self.clients.hosts;
        config.clients_per_host = self.clients.per_host;
        config.op_timeout = self.clients.timeout;
        config.tick = self.resolution;
        config.latency = self.latency;
        // As `lab sim`: the set's final read waits for every operation still in flight.
        config.settle = config.settle.max(self.clients.timeout + config.latency.1 + Duration::from_millis(100));
        config.faults = self.schedule(system, seed)?;
        config.disk = self.disk;
        config.writeback = self.writeback;
        Ok(config)
    }

    /// The fault schedule of `system` for `seed`.
    pub fn schedule(&self, system: &System, seed: u64) -> Result<Schedule, NemesisError> {
        let mut rng = Rng::stream(seed, NEMESIS_STREAM);
        let mut schedule = match &self.random {
            Some(random) => sim::random_schedule(
                &random.kinds,
                &system.cluster,
                seed ^ NEMESIS_STREAM,
                random.start,
                random.end,
                random.every,
            )?,
            None => Schedule::new(),
        };
        for planned in &system.faults {
            let realized = match &planned.what {
                Planned::Fixed(realized) => realized.clone(),
                Planned::Drawn(kind) => sim::realize(kind, &system.cluster, &mut rng)?,
            };
            for fault in realized.start {
                schedule.push(planned.at, fault);
            }
            if let Some(until) = planned.until {
                for fault in realized.end {
                    schedule.push(until, fault);
                }
            }
        }
        Ok(schedule)
    }
}

/// Reads a fault experiment from the file's top table (its `kind`, if any, already taken).
pub fn parse(registry: &Registry, mut root: Section<'_>) -> Checked<Experiment> {
    let source = root.source();
    let head = common::head(&mut root)?;
    let seeds = common::seeds(&mut root)?;
    let raw_duration: Spanned<String> = common::required(&mut root, "duration")?;
    let duration = source.duration_at_most(&raw_duration, "duration", MAX_DURATION)?;
    let resolution = common::resolution(&mut root)?;
    let latency = common::latency(&mut root, resolution)?;
    let (workload, clients, _) = common::workload(registry, &mut root, DEFAULT_CLIENTS)?;
    let tables = common::systems(registry, &mut root)?;
    let mut systems: Vec<(std::ops::Range<usize>, System)> = Vec::with_capacity(tables.len());
    for table in tables {
        table.table.refuse("sweep", "applies only to kind = \"scaling\" files")?;
        table.table.refuse("clients_per_server", "applies only to kind = \"scaling\" files")?;
        // `disk = [...]`: one system per disk profile, named as a scaling sweep names series.
        for (name, section) in source.per_disk(table.name.clone(), table.table)? {
            let name_span = table.name_span.clone();
            if systems.iter().any(|(_, s)| s.name == name) || !crate::value::is_file_name(&name) {
                return source
                    .fail(name_span, format!("system `{name}` (one per disk): the name is taken or too long"));
            }
            if systems.len() == common::MAX_SYSTEMS {
                return source.fail(name_span, format!("at most {} systems", common::MAX_SYSTEMS));
            }
            let spec = table.store.parse(section)?;
            let cluster = Cluster::new(Vec::<String>::new(), Vec::<String>::new());
            systems.push((name_span, System { name, spec, faults: Vec::new(), cluster }));
        }
    }
    let raw: RawExperiment = root.finish()?;
    source.experiment(Parts { head, seeds, duration, resolution, latency, workload, clients }, raw, systems)
}

/// What [`parse`] read before the rest of the file.
struct Parts {
    head: Head,
    seeds: Vec<u64>,
    duration: Duration,
    resolution: Duration,
    latency: (Duration, Duration),
    workload: Box<dyn ConfiguredWorkload>,
    clients: Clients,
}

impl Source<'_> {
    fn experiment(
        &self,
        parts: Parts,
        raw: RawExperiment,
        systems: Vec<(std::ops::Range<usize>, System)>,
    ) -> Checked<Experiment> {
        let Parts { head, seeds, duration, resolution, latency, workload, clients } = parts;
        if raw.fault.len() > MAX_FAULTS {
            return self.fail(raw.fault[MAX_FAULTS].kind.span(), format!("at most {MAX_FAULTS} faults"));
        }
        let mut experiment = Experiment {
            name: head.name,
            question: head.question,
            seeds,
            duration,
            workload,
            clients,
            systems: Vec::with_capacity(systems.len()),
            faults: raw.fault.len(),
            disk: self.disk(raw.disk.as_ref())?,
            writeback: self.writeback(raw.disk.as_ref(), duration)?,
            random: None,
            resolution,
            latency,
        };
        experiment.random = raw.nemesis.as_ref().map(|n| self.nemesis(n, duration)).transpose()?;
        for (name_span, mut system) in systems {
            let client_names: Vec<String> = (0..experiment.clients.hosts).map(sim::client_host_name).collect();
            system.cluster = Cluster::new(system.spec.servers(), client_names);
            system.faults = self.planned_faults(&raw.fault, &experiment, &system)?;
            if let (Some(random), Some(raw_nemesis)) = (&experiment.random, &raw.nemesis) {
                for kind in &random.kinds {
                    if let Err(e) = kind.validate(&system.cluster) {
                        return self.fail(raw_nemesis.faults.span(), format!("system `{}`: {e}", system.name));
                    }
                }
            }
            // Backstop: the checks `sim::run` makes, so a valid file cannot fail to start.
            let checked =
                experiment.sim_config(&system, experiment.seeds[0]).map_err(|e| e.to_string()).and_then(|config| {
                    config
                        .validate()
                        .and_then(|()| config.validate_hosts(&system.spec.servers()))
                        .map_err(|e| e.to_string())
                });
            if let Err(e) = checked {
                return self.fail(name_span, format!("system `{}` cannot run: {e}", system.name));
            }
            experiment.systems.push(system);
        }
        Ok(experiment)
    }

    fn disk(&self, raw: Option<&RawDisk>) -> Checked<DiskFaults> {
        let mut disk = DiskFaults::default();
        let Some(raw) = raw else { return Ok(disk) };
        if let Some(capacity) = &raw.capacity_bytes {
            if *capacity.get_ref() == 0 {
                return self.fail(capacity.span(), "capacity_bytes: expected at least 1 byte");
            }
            disk.capacity_bytes = Some(*capacity.get_ref());
        }
        if let Some(p) = &raw.io_error_probability {
            if !(0.0..=1.0).contains(p.get_ref()) {
                return self.fail(p.span(), format!("io_error_probability = {}: expected 0 to 1", p.get_ref()));
            }
            disk.io_error_probability = *p.get_ref();
        }
        Ok(disk)
    }

    /// `[disk]`'s write-back keys: `dirty_writeback = "off"`, or `dirty_expire` and
    /// `dirty_writeback` durations (each defaulting to Linux's), positive, at most
    /// [`MAX_SETTING`], and an interval no longer than the run (it would never tick).
    fn writeback(&self, raw: Option<&RawDisk>, duration: Duration) -> Checked<WriteBack> {
        let Some(raw) = raw else { return Ok(WriteBack::default()) };
        let max = seconds(MAX_SETTING);
        let interval = match &raw.dirty_writeback {
            Some(value) if value.get_ref().trim() == "off" => {
                if let Some(expire) = &raw.dirty_expire {
                    return self.fail(
                        expire.span(),
                        "dirty_expire has no effect with dirty_writeback = \"off\"; allowed: leave it out, or a dirty_writeback period",
                    );
                }
                return Ok(WriteBack::Off);
            }
            Some(value) => {
                let allowed = format!(
                    "allowed: \"off\" or a duration longer than zero, at most {max} and at most the run's duration ({})",
                    seconds(duration)
                );
                let interval = self.writeback_setting(value, "dirty_writeback", &allowed)?;
                if interval > duration {
                    return self.fail(
                        value.span(),
                        format!(
                            "dirty_writeback = {:?} is longer than the run: it would never tick; {allowed}",
                            value.get_ref()
                        ),
                    );
                }
                interval
            }
            None => DEFAULT_INTERVAL,
        };
        let expire = match &raw.dirty_expire {
            Some(value) => self.writeback_setting(
                value,
                "dirty_expire",
                &format!("allowed: a duration longer than zero and at most {max}"),
            )?,
            None => DEFAULT_EXPIRE,
        };
        // Both settings passed the policy's own checks above.
        Ok(WriteBack::Periodic { expire, interval })
    }

    /// One write-back duration: parsed, longer than zero, at most [`MAX_SETTING`].
    fn writeback_setting(&self, value: &Spanned<String>, what: &str, allowed: &str) -> Checked<Duration> {
        let text = value.get_ref();
        let parsed = crate::value::parse_duration(text)
            .map_err(|e| self.error(value.span(), format!("{what} = {text:?}: {e}; {allowed}")))?;
        if parsed.is_zero() {
            return self.fail(value.span(), format!("{what} = {text:?} is zero; {allowed}"));
        }
        if parsed > MAX_SETTING {
            return self
                .fail(value.span(), format!("{what} = {text:?} is longer than {}; {allowed}", seconds(MAX_SETTING)));
        }
        Ok(parsed)
    }

    /// Resolves a host name for one system: [`FIRST_SERVER`] means its first server,
    /// [`LEADER`] its leader when the fault fires; any other name must be one of its servers
    /// (or, unless `server_only`, client hosts).
    fn host(&self, name: &Spanned<String>, hosts: &Hosts<'_>, server_only: bool) -> Checked<String> {
        let text = name.get_ref();
        if text == LEADER {
            return Ok(sim::LEADER.to_owned());
        }
        if text == FIRST_SERVER {
            if let Some(first) = hosts.servers.first() {
                return Ok(first.clone());
            }
        }
        let known =
            hosts.servers.iter().any(|h| h == text) || (!server_only && hosts.clients.iter().any(|h| h == text));
        if known {
            return Ok(text.clone());
        }
        let mut expected = hosts.servers.join(", ");
        if !server_only {
            expected.push_str(&format!(", {}", hosts.clients.join(", ")));
        }
        self.fail(
            name.span(),
            format!(
                "unknown {} `{text}` in system `{}`: expected `{FIRST_SERVER}` (its first server), `{LEADER}` (its leader when the fault fires) or one of {expected}",
                if server_only { "server" } else { "host" },
                hosts.system
            ),
        )
    }
}

/// One system's host names, to resolve fault hosts against.
struct Hosts<'a> {
    servers: &'a [String],
    clients: &'a [String],
    system: &'a str,
}

mod faults;
#[cfg(test)]
pub(crate) mod tests;

pub use faults::{Planned, PlannedFault, RandomNemesis, NEMESIS_STREAM};
