//! The second parse: a [`RawExperiment`] checked and turned into an [`Experiment`] built from
//! the types a run takes (`sim::Workload`, `StoreConfig`, `ClusterConfig`, `sim::Schedule`).
//!
//! Every error names the file, line and column of the value it is about. The first error
//! found is returned. After its own checks, each system's run configuration goes through
//! `SimConfig::validate` and `validate_hosts`, the checks `sim::run` itself makes, so that a
//! file that validates here cannot be refused when it runs.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use lsm::CommitLogSync;
use quorum::level::{self, Access, LevelError};
use quorum::{ClusterConfig, Level, QuorumSystem};
use sim::{Cluster, DiskFaults, KeyDistribution, Kv, NemesisError, OpMix, Register, Rng, Schedule, Set, SimConfig};
use sim::{System as _, Workload, WorkloadError};
use sqlstore::{JournalMode, SqlSystem, StoreConfig, Synchronous};
use toml::Spanned;

use super::raw::{
    RawCommitLog, RawDisk, RawDistribution, RawExperiment, RawJournal, RawSeeds, RawSynchronous, RawSystem,
    RawSystemKind, RawWorkload, RawWorkloadKind,
};
use crate::cli::parse_duration;

/// Most seeds one experiment may list or count.
pub const MAX_SEEDS: usize = 1_000_000;
/// Most systems one experiment may compare.
pub const MAX_SYSTEMS: usize = 64;
/// Most `[[fault]]` entries.
pub const MAX_FAULTS: usize = 10_000;
/// Longest simulated duration.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);
/// Largest clock skew, either way.
pub const MAX_SKEW_MS: i64 = 3_600_000;
/// The quorum store's node counts.
pub const NODES: std::ops::RangeInclusive<usize> = 3..=9;
/// Most keys of a kv workload (each gets a final-read connection on one client host, whose
/// ephemeral ports turmoil limits to 16,384).
pub const MAX_KEYS: usize = 10_000;
/// Longest operation timeout.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest experiment or system name.
pub const MAX_NAME: usize = 100;

/// Whether `name` can name a file or directory on every platform: 1 to [`MAX_NAME`] ASCII
/// letters, digits, `.`, `_` or `-`, and not `.` or `..`.
pub fn is_file_name(name: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && name != "."
        && name != ".."
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The host name that means each system's first server (`db` for SQLite, `n1` for quorum).
pub const FIRST_SERVER: &str = "server";

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
    pub workload: WorkloadSpec,
    /// The systems compared, in file order, each with the fault schedule in its host names.
    pub systems: Vec<System>,
    /// The number of `[[fault]]` entries (each system's schedule has them expanded).
    pub faults: usize,
    /// Disk faults for the whole run.
    pub disk: DiskFaults,
    /// The random nemesis, when the file has one.
    pub random: Option<RandomNemesis>,
}

/// The workload and the clients that run it.
#[derive(Debug, Clone)]
pub struct WorkloadSpec {
    /// What the clients do (with `mix` in it).
    pub workload: Arc<dyn Workload>,
    /// Client hosts (`client-0`, ...).
    pub client_hosts: usize,
    /// Logical clients per client host.
    pub clients_per_host: usize,
    /// How long a client waits before recording an operation as indeterminate.
    pub op_timeout: Duration,
}

/// One system under test.
#[derive(Debug, Clone)]
pub struct System {
    /// Its name, unique in the experiment.
    pub name: String,
    /// Its configuration.
    pub spec: SystemSpec,
    /// The experiment's `[[fault]]`s in this system's host names, in file order.
    pub faults: Vec<PlannedFault>,
    /// Its hosts, as the nemesis sees them.
    pub cluster: Cluster,
}

/// The configuration of one of the stores.
#[derive(Debug, Clone)]
pub enum SystemSpec {
    /// One SQLite server (host `db`).
    Sqlite(StoreConfig),
    /// The quorum store (hosts `n1`..`nN`); boxed, being four times the size of the other.
    Quorum(Box<ClusterConfig>),
}

impl SystemSpec {
    /// The configuration in one line, e.g. `quorum: 3 nodes, N=3, R=one W=one, lww, ...`.
    pub fn describe(&self) -> String {
        match self {
            SystemSpec::Sqlite(config) => {
                let mut text =
                    format!("sqlite: journal {:?}, synchronous={:?}", config.journal_mode, config.synchronous);
                if let Some(writeback) = config.writeback {
                    text.push_str(&format!(", kernel write-back every {}", seconds(writeback)));
                }
                text.to_lowercase()
            }
            SystemSpec::Quorum(cluster) => {
                let node = &cluster.node;
                let anti_entropy = node.anti_entropy.map_or("off".to_owned(), seconds);
                format!(
                    "quorum: {} nodes, N={}, R={:?} W={:?}, {:?}, commit log {:?}, hints {:?}, read repair {:?}, anti-entropy {anti_entropy}",
                    cluster.nodes, node.replication, node.read, node.write, node.mode, cluster.sync, node.hints,
                    node.read_repair
                )
                .to_lowercase()
            }
        }
    }

    /// The server host names, as the system reports them.
    pub fn servers(&self) -> Vec<String> {
        match self {
            SystemSpec::Sqlite(config) => SqlSystem::new(config.clone()).servers(),
            SystemSpec::Quorum(config) => QuorumSystem::new(ClusterConfig::clone(config)).servers(),
        }
    }
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
        let faults: Vec<String> = schedule
            .iter()
            .map(|(at, fault)| format!("{fault} at {}", crate::experiment::spec::seconds(*at)))
            .collect();
        if faults.is_empty() {
            "none".to_owned()
        } else {
            faults.join("; ")
        }
    }

    /// The run configuration of `system` for `seed`: the fault schedule is drawn from the seed
    /// (hosts and parameters the file leaves open, and the random nemesis).
    pub fn sim_config(&self, system: &System, seed: u64) -> Result<SimConfig, NemesisError> {
        let spec = &self.workload;
        let mut config = SimConfig::new_shared(seed, Arc::clone(&spec.workload));
        config.duration = self.duration;
        config.client_hosts = spec.client_hosts;
        config.clients_per_host = spec.clients_per_host;
        config.op_timeout = spec.op_timeout;
        // As `lab sim`: the set's final read waits for every operation still in flight.
        config.settle = config.settle.max(spec.op_timeout + config.latency.1 + Duration::from_millis(100));
        config.faults = self.schedule(system, seed)?;
        config.disk = self.disk;
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

/// Why an experiment file was refused: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExperimentError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ExperimentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: {}", self.file.display(), self.line, self.column, self.message)
    }
}

impl std::error::Error for ExperimentError {}

/// Parses and validates the experiment file `file` whose contents are `text`.
pub fn parse(file: &Path, text: &str) -> Result<Experiment, ExperimentError> {
    let source = Source { file, text };
    let raw: RawExperiment = source.toml()?;
    source.experiment(raw)
}

/// The file being validated: turns spans into errors. Shared by every experiment kind's
/// parser ([`crate::scaling`], [`crate::staleness`] add their own checks in their modules).
pub(crate) struct Source<'a> {
    /// The file.
    pub(crate) file: &'a Path,
    /// Its contents.
    pub(crate) text: &'a str,
}

/// A value, or the error that names where the file is wrong.
pub(crate) type Checked<T> = Result<T, ExperimentError>;

impl Source<'_> {
    /// The first parse: serde refuses unknown fields and wrong types, at their position.
    pub(crate) fn toml<T: serde::de::DeserializeOwned>(&self) -> Checked<T> {
        toml::from_str(self.text).map_err(|e| self.error(e.span().unwrap_or(0..0), e.message().trim_end().to_owned()))
    }

    /// An error at `span`.
    pub(crate) fn error(&self, span: Range<usize>, message: impl Into<String>) -> ExperimentError {
        let (line, column) = line_column(self.text, span.start);
        ExperimentError { file: self.file.to_path_buf(), line, column, message: message.into() }
    }

    /// `Err` of an error at `span`.
    pub(crate) fn fail<T>(&self, span: Range<usize>, message: impl Into<String>) -> Checked<T> {
        Err(self.error(span, message))
    }

    fn duration(&self, value: &Spanned<String>, what: &str) -> Checked<Duration> {
        let parsed = parse_duration(value.get_ref()).map_err(|e| self.error(value.span(), format!("{what}: {e}")))?;
        if parsed.is_zero() {
            return self.fail(value.span(), format!("{what} must be longer than zero"));
        }
        Ok(parsed)
    }

    /// Refuses `field` when present: it does not apply to this `kind`.
    fn refuse<T>(&self, field: &Option<Spanned<T>>, name: &str, applies_to: &str) -> Checked<()> {
        match field {
            Some(value) => self.fail(value.span(), format!("`{name}` applies only to {applies_to}")),
            None => Ok(()),
        }
    }

    fn experiment(&self, raw: RawExperiment) -> Checked<Experiment> {
        let name = raw.name.get_ref().trim().to_owned();
        if !is_file_name(&name) {
            return self.fail(
                raw.name.span(),
                format!(
                    "expected a name of 1 to {MAX_NAME} letters, digits, `.`, `_` or `-` (results go to results/NAME/)"
                ),
            );
        }
        if raw.question.get_ref().trim().is_empty() {
            return self.fail(raw.question.span(), "expected a question: one paragraph saying what this shows");
        }
        let seeds = self.seeds(&raw.seeds)?;
        let duration = self.duration(&raw.duration, "duration")?;
        if duration > MAX_DURATION {
            return self.fail(raw.duration.span(), format!("duration: at most {MAX_DURATION:?}"));
        }
        let workload = self.workload(&raw.workload)?;
        let systems = self.systems(&raw.system)?;
        if raw.fault.len() > MAX_FAULTS {
            return self.fail(raw.fault[MAX_FAULTS].kind.span(), format!("at most {MAX_FAULTS} faults"));
        }
        let mut experiment = Experiment {
            name,
            question: raw.question.into_inner().trim().to_owned(),
            seeds,
            duration,
            workload,
            systems: Vec::with_capacity(systems.len()),
            faults: raw.fault.len(),
            disk: self.disk(raw.disk.as_ref())?,
            random: None,
        };
        experiment.random = raw.nemesis.as_ref().map(|n| self.nemesis(n, duration)).transpose()?;
        for (name_span, system) in systems {
            let mut system = system;
            let clients: Vec<String> = (0..experiment.workload.client_hosts).map(sim::client_host_name).collect();
            system.cluster = Cluster::new(system.spec.servers(), clients);
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

    fn seeds(&self, raw: &Spanned<RawSeeds>) -> Checked<Vec<u64>> {
        let seeds: Vec<u64> = match raw.get_ref() {
            RawSeeds::Count(count) => {
                if *count as u128 > MAX_SEEDS as u128 {
                    return self.fail(raw.span(), format!("seeds: at most {MAX_SEEDS}"));
                }
                (1..=*count).collect()
            }
            RawSeeds::List(list) => {
                if list.len() > MAX_SEEDS {
                    return self.fail(raw.span(), format!("seeds: at most {MAX_SEEDS}"));
                }
                let mut sorted = list.clone();
                sorted.sort_unstable();
                if let Some(pair) = sorted.windows(2).find(|pair| pair[0] == pair[1]) {
                    return self.fail(raw.span(), format!("seeds: seed {} is listed twice", pair[0]));
                }
                list.clone()
            }
        };
        if seeds.is_empty() {
            return self.fail(raw.span(), "seeds: expected at least one seed (a count of 1 or more, or a list)");
        }
        Ok(seeds)
    }

    fn workload(&self, raw: &RawWorkload) -> Checked<WorkloadSpec> {
        let kv = "kind = \"kv\" workloads";
        let is_set = *raw.kind.get_ref() == RawWorkloadKind::Set;
        // The key space of a kv workload (none for a register or a set).
        let keyed = match raw.kind.get_ref() {
            RawWorkloadKind::Register | RawWorkloadKind::Set => {
                self.refuse(&raw.keys, "keys", kv)?;
                self.refuse(&raw.distribution, "distribution", kv)?;
                None
            }
            RawWorkloadKind::Kv => {
                let keys = raw.keys.as_ref().map_or(10, |k| *k.get_ref());
                if let Some(span) = raw.keys.as_ref().map(Spanned::span).filter(|_| keys == 0 || keys > MAX_KEYS) {
                    return self.fail(span, format!("keys: expected 1 to {MAX_KEYS} (each key gets a final read)"));
                }
                let distribution = match raw.distribution.as_ref().map(Spanned::get_ref) {
                    None | Some(RawDistribution::Uniform) => KeyDistribution::Uniform,
                    Some(RawDistribution::Zipf(s)) => KeyDistribution::Zipf(*s),
                };
                let validated = Kv::new(keys, distribution).validate();
                if let (Err(WorkloadError::Keys(e)), Some(span)) =
                    (validated, raw.distribution.as_ref().map(Spanned::span))
                {
                    return self.fail(span, format!("distribution: {e}"));
                }
                Some((keys, distribution))
            }
        };
        let count = |value: &Option<Spanned<usize>>, name: &str, default: usize| match value {
            Some(v) if *v.get_ref() == 0 || *v.get_ref() > sim::config::MAX_CLIENTS => {
                self.fail(v.span(), format!("{name}: expected 1 to {}", sim::config::MAX_CLIENTS))
            }
            Some(v) => Ok(*v.get_ref()),
            None => Ok(default),
        };
        let client_hosts = count(&raw.client_hosts, "client_hosts", 2)?;
        let clients_per_host = count(&raw.clients_per_host, "clients_per_host", 5)?;
        if client_hosts.saturating_mul(clients_per_host) > sim::config::MAX_CLIENTS {
            let span = raw.clients_per_host.as_ref().map_or(raw.kind.span(), Spanned::span);
            return self.fail(span, format!("at most {} clients in all", sim::config::MAX_CLIENTS));
        }
        let op_timeout = match &raw.timeout {
            Some(value) => {
                let timeout = self.duration(value, "timeout")?;
                if timeout > MAX_TIMEOUT {
                    return self.fail(value.span(), format!("timeout: at most {}", seconds(MAX_TIMEOUT)));
                }
                timeout
            }
            None => Duration::from_secs(1),
        };
        let mix = match &raw.mix {
            None => OpMix::default(),
            Some(mix) if is_set => {
                return self.fail(mix.span(), "`mix` applies only to register and kv workloads (a set only adds)")
            }
            Some(mix) => {
                let raw_mix = *mix.get_ref();
                let mix_value = OpMix { read: raw_mix.read, write: raw_mix.write, cas: raw_mix.cas };
                if let Err(e) = mix_value.validate() {
                    return self.fail(mix.span(), format!("mix: {e}"));
                }
                mix_value
            }
        };
        let workload: Arc<dyn Workload> = match keyed {
            Some((keys, distribution)) => Arc::new(Kv { keys, distribution, mix }),
            None if is_set => Arc::new(Set),
            None => Arc::new(Register { mix }),
        };
        Ok(WorkloadSpec { workload, client_hosts, clients_per_host, op_timeout })
    }

    /// The systems with their name spans; their fault schedules are filled in later.
    fn systems(&self, raw: &[RawSystem]) -> Checked<Vec<(Range<usize>, System)>> {
        if raw.is_empty() {
            return self.fail(self.text.len()..self.text.len(), "expected at least one [[system]]");
        }
        if raw.len() > MAX_SYSTEMS {
            return self.fail(raw[MAX_SYSTEMS].name.span(), format!("at most {MAX_SYSTEMS} systems"));
        }
        let mut systems: Vec<(Range<usize>, System)> = Vec::with_capacity(raw.len());
        for system in raw {
            let name = system.name.get_ref().trim();
            if !is_file_name(name) {
                return self.fail(
                    system.name.span(),
                    format!(
                        "expected a system name of 1 to {MAX_NAME} letters, digits, `.`, `_` or `-` (it names files)"
                    ),
                );
            }
            if let Some((first, _)) = systems.iter().find(|(_, s)| s.name == name) {
                let (line, column) = line_column(self.text, first.start);
                return self.fail(
                    system.name.span(),
                    format!("duplicate system name `{name}` (first used at line {line}, column {column})"),
                );
            }
            let spec = match system.kind.get_ref() {
                RawSystemKind::Sqlite => SystemSpec::Sqlite(self.sqlite(system)?),
                RawSystemKind::Quorum => SystemSpec::Quorum(Box::new(self.quorum(system)?)),
            };
            let cluster = Cluster::new(Vec::<String>::new(), Vec::<String>::new());
            systems.push((system.name.span(), System { name: name.to_owned(), spec, faults: Vec::new(), cluster }));
        }
        Ok(systems)
    }

    fn sqlite(&self, raw: &RawSystem) -> Checked<StoreConfig> {
        let quorum = "kind = \"quorum\" systems";
        self.refuse(&raw.nodes, "nodes", quorum)?;
        self.refuse(&raw.n, "n", quorum)?;
        self.refuse(&raw.read, "read", quorum)?;
        self.refuse(&raw.write, "write", quorum)?;
        self.refuse(&raw.r, "r", quorum)?;
        self.refuse(&raw.w, "w", quorum)?;
        self.refuse(&raw.mode, "mode", quorum)?;
        self.refuse(&raw.commitlog, "commitlog", quorum)?;
        self.refuse(&raw.hints, "hints", quorum)?;
        self.refuse(&raw.read_repair, "read_repair", quorum)?;
        self.refuse(&raw.anti_entropy, "anti_entropy", quorum)?;
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
        Ok(config)
    }

    fn quorum(&self, raw: &RawSystem) -> Checked<ClusterConfig> {
        let sqlite = "kind = \"sqlite\" systems";
        self.refuse(&raw.journal, "journal", sqlite)?;
        self.refuse(&raw.synchronous, "synchronous", sqlite)?;
        let nodes = raw.nodes.as_ref().map_or(3, |v| *v.get_ref());
        if let Some(span) = raw.nodes.as_ref().map(Spanned::span).filter(|_| !NODES.contains(&nodes)) {
            return self.fail(span, format!("nodes = {nodes}: the quorum store runs 3 to 9 nodes"));
        }
        let mut config = ClusterConfig::new(nodes);
        let n = raw.n.as_ref().map_or(3.min(nodes), |v| *v.get_ref());
        if let Some(value) = &raw.n {
            if n == 0 || n > nodes {
                return self.fail(value.span(), format!("N = {n}: expected 1 to nodes = {nodes}"));
            }
        }
        config.node.replication = n;
        config.node.read = self.level(&raw.read, &raw.r, n, Access::Read, raw)?;
        config.node.write = self.level(&raw.write, &raw.w, n, Access::Write, raw)?;
        if let Some(mode) = &raw.mode {
            config.node.mode = *mode.get_ref();
        }
        if let Some(hints) = &raw.hints {
            config.node.hints = *hints.get_ref();
        }
        if let Some(repair) = &raw.read_repair {
            config.node.read_repair = *repair.get_ref();
        }
        if let Some(period) = &raw.anti_entropy {
            config.node.anti_entropy = Some(self.duration(period, "anti_entropy")?);
        }
        if let Some(commitlog) = &raw.commitlog {
            let period = |text: &String| self.duration(&Spanned::new(commitlog.span(), text.clone()), "commitlog");
            config.sync = match commitlog.get_ref() {
                RawCommitLog::Batch => CommitLogSync::Batch,
                RawCommitLog::Periodic(text) => CommitLogSync::Periodic(period(text)?),
                RawCommitLog::Group(text) => CommitLogSync::Group(period(text)?),
            };
        }
        if let Err(e) = config.node.validate() {
            return self.fail(raw.name.span(), format!("system `{}`: {e}", raw.name.get_ref()));
        }
        Ok(config)
    }

    /// A read or write level, by name (`read = "quorum"`) or by count (`r = 2`), checked
    /// against N.
    fn level(
        &self,
        named: &Option<Spanned<Level>>,
        count: &Option<Spanned<usize>>,
        n: usize,
        access: Access,
        raw: &RawSystem,
    ) -> Checked<Level> {
        let (name, letter) = match access {
            Access::Read => ("read", "R"),
            Access::Write => ("write", "W"),
        };
        let (level, span) = match (named, count) {
            (Some(_), Some(count)) => {
                return self.fail(count.span(), format!("give `{name}` or `{}`, not both", letter.to_lowercase()))
            }
            (Some(level), None) => (*level.get_ref(), level.span()),
            (None, Some(count)) => (Level::Count(*count.get_ref()), count.span()),
            (None, None) => return Ok(Level::Quorum),
        };
        match level::validate(level, n, access) {
            Ok(_) => Ok(level),
            Err(LevelError::Unachievable { level: Level::Count(k), .. }) => {
                self.fail(span, format!("{letter} = {k} exceeds N = {n} (system `{}`)", raw.name.get_ref()))
            }
            Err(LevelError::Unachievable { required, .. }) => self.fail(
                span,
                format!("{name} = {level:?} needs {required} replicas but N = {n} (system `{}`)", raw.name.get_ref()),
            ),
            Err(e @ LevelError::Unsupported { .. }) => self.fail(span, format!("{letter}: {e}")),
        }
    }

    /// Resolves a host name for one system: [`FIRST_SERVER`] means its first server; any
    /// other name must be one of its servers (or, unless `server_only`, client hosts).
    fn host(&self, name: &Spanned<String>, hosts: &Hosts<'_>, server_only: bool) -> Checked<String> {
        let text = name.get_ref();
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
                "unknown {} `{text}` in system `{}`: expected `{FIRST_SERVER}` (its first server) or one of {expected}",
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

/// A time as seconds with up to three decimals (`3s`, `2.5s`).
pub fn seconds(at: Duration) -> String {
    let text = format!("{:.3}", at.as_secs_f64());
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}s")
}

/// The 1-based line and column (in characters) of byte `offset` of `text`.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

mod faults;
#[cfg(test)]
mod tests;

pub use faults::{Planned, PlannedFault, RandomNemesis, NEMESIS_STREAM};
