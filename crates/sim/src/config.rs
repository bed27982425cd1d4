//! [`SimConfig`]: everything one run depends on, as a plain value, and its validation.
//!
//! The same configuration and seed give the same history, byte for byte. Validation happens
//! twice: [`SimConfig::validate`] checks the configuration alone; at the start of a run,
//! [`SimConfig::validate_hosts`] checks the host names the fault schedule uses against the
//! system's servers and the client hosts.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use crate::capacity::Capacity;
use crate::faults::{Fault, Schedule};
use crate::workload::{Workload, WorkloadError};
use crate::writeback::{WriteBack, WriteBackError};

/// The parameters of one simulated run.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seeds turmoil (latencies, host scheduling) and every client's workload stream.
    pub seed: u64,
    /// Simulated time during which clients invoke operations.
    pub duration: Duration,
    /// Minimum and maximum one-way message latency.
    pub latency: (Duration, Duration),
    /// Client hosts (`client-0`, `client-1`, ...). Each host costs simulation time; processes
    /// within a host are nearly free.
    pub client_hosts: usize,
    /// Logical clients (concurrent processes) on each client host.
    pub clients_per_host: usize,
    /// How long a process waits for a reply before recording the operation as indeterminate.
    pub op_timeout: Duration,
    /// Pause between a process's operations (may be zero).
    pub think_time: Duration,
    /// Pause after every operation that did not end `ok` (a definite `fail`, a request never
    /// sent, a timeout or indeterminate outcome), before the next (when longer than
    /// `think_time`): keeps a process from hammering an unreachable server, and gives a system
    /// that refuses at once and one that times out the same pause after each failed attempt.
    pub backoff: Duration,
    /// What the clients do: their operations (the operation mix is the workload's) and the
    /// final reads.
    pub workload: Arc<dyn Workload>,
    /// Faults and when to apply them (all before `duration`).
    pub faults: Schedule,
    /// After `duration`, with every partition healed and every crashed host restarted: the quiet
    /// period, during which no client invokes anything, before the final reads (of every key)
    /// and the end of the run (every workload).
    pub settle: Duration,
    /// Attempts of each final read (each recorded) before giving up.
    pub final_read_attempts: u32,
    /// The resolution: model time each simulation step stands for, a whole divisor of 1 ms
    /// from 1 us to 1 ms. Below 1 ms the simulation runs dilated by `1 ms / tick`
    /// ([`crate::time`]): costs down to one tick are visible in a single operation's latency,
    /// and every step is as expensive as before, so a run takes that many times more steps.
    pub tick: Duration,
    /// Disk faults turmoil's simulated disk injects on every host for the whole run.
    pub disk: DiskFaults,
    /// The OS's write-back of dirty data on every server host ([`crate::writeback`]): what of
    /// the unsynced writes a power loss spares. Default: Linux's (30 s expiry, 5 s ticks).
    pub writeback: WriteBack,
    /// What the servers' CPU and disk cost ([`Capacity`]); the default keeps each system's
    /// own costs. The harness hands it to the system before the run
    /// ([`System::set_capacity`](crate::System::set_capacity)).
    pub capacity: Capacity,
}

/// Disk faults of turmoil's simulated disk, applied to every host for the whole run (turmoil
/// configures its disk when the simulation is built, so these cannot be timed).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DiskFaults {
    /// Bytes each host's disk holds; a write past it fails with "no space left" (ENOSPC).
    pub capacity_bytes: Option<u64>,
    /// Probability that a disk operation fails with an I/O error (0 to 1).
    pub io_error_probability: f64,
}

impl DiskFaults {
    /// True when no fault is configured.
    pub fn is_none(&self) -> bool {
        self.capacity_bytes.is_none() && self.io_error_probability == 0.0
    }
}

impl SimConfig {
    /// A configuration with sensible defaults: 10 s of operations by 2 client hosts × 5
    /// processes, 1-10 ms latency, 1 s timeouts, 10 ms think time, 100 ms backoff, no faults,
    /// 2 s settle, 1 ms ticks, Linux's write-back (30 s expiry, 5 s ticks), each system's own
    /// CPU and disk costs.
    pub fn new(seed: u64, workload: impl Workload) -> Self {
        Self::new_shared(seed, Arc::new(workload))
    }

    /// [`SimConfig::new`] for a workload already shared (as experiments hold theirs).
    pub fn new_shared(seed: u64, workload: Arc<dyn Workload>) -> Self {
        Self {
            seed,
            duration: Duration::from_secs(10),
            latency: (Duration::from_millis(1), Duration::from_millis(10)),
            client_hosts: 2,
            clients_per_host: 5,
            op_timeout: Duration::from_secs(1),
            think_time: Duration::from_millis(10),
            backoff: Duration::from_millis(100),
            workload,
            faults: Schedule::new(),
            settle: Duration::from_secs(2),
            final_read_attempts: 10,
            tick: Duration::from_millis(1),
            disk: DiskFaults::default(),
            writeback: WriteBack::default(),
            capacity: Capacity::default(),
        }
    }

    /// How much slower than model time the simulation runs: `1 ms / tick` (1 when the tick is
    /// invalid; [`SimConfig::validate`] refuses such a tick).
    pub fn scale(&self) -> u32 {
        crate::time::scale_for(self.tick).unwrap_or(1)
    }

    /// The number of logical clients (concurrent processes) in all.
    pub fn total_clients(&self) -> usize {
        self.client_hosts.saturating_mul(self.clients_per_host)
    }

    /// The most TCP connections a client host may hold at once, with `servers` servers: each
    /// of its clients may hold one to every server (a token-aware quorum client does), and
    /// host 0 also opens one per final read. Each takes one of the host's ephemeral ports.
    pub fn connections_per_client_host(&self, servers: usize) -> usize {
        let final_reads = self.workload.final_reads().len();
        self.clients_per_host.saturating_add(final_reads).saturating_mul(servers.max(1))
    }

    /// The names of the client hosts: `client-0`, `client-1`, ...
    pub fn client_host_names(&self) -> Vec<String> {
        (0..self.client_hosts).map(client_host_name).collect()
    }

    /// An upper bound on the simulated time a run can take: clients finish their last
    /// operations and the final reads end well before it. Passing it means the run is stuck.
    pub fn time_limit(&self) -> Duration {
        let pause = self.think_time.max(self.backoff);
        let clients_done = self.op_timeout.saturating_add(pause).saturating_add(self.tick);
        let attempt = self.op_timeout.saturating_add(self.backoff).saturating_add(self.tick);
        let reads_done = self.settle.saturating_add(attempt.saturating_mul(self.final_read_attempts));
        self.duration.saturating_add(clients_done.max(reads_done)).saturating_add(Duration::from_secs(1))
    }

    /// Checks the configuration on its own (host names are checked by
    /// [`SimConfig::validate_hosts`]).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.client_hosts == 0 || self.clients_per_host == 0 {
            return Err(ConfigError::NoClients { hosts: self.client_hosts, per_host: self.clients_per_host });
        }
        if self.total_clients() > MAX_CLIENTS {
            return Err(ConfigError::TooManyClients { clients: self.total_clients(), max: MAX_CLIENTS });
        }
        let (min, max) = self.latency;
        if min > max {
            return Err(ConfigError::LatencyRange { min, max });
        }
        for (name, value) in [("duration", self.duration), ("op_timeout", self.op_timeout), ("tick", self.tick)] {
            if value.is_zero() {
                return Err(ConfigError::Zero(name));
            }
        }
        if crate::time::scale_for(self.tick).is_none() {
            return Err(ConfigError::Resolution(self.tick));
        }
        self.workload.validate()?;
        if let WriteBack::Periodic { expire, interval } = self.writeback {
            WriteBack::periodic(expire, interval)?;
        }
        let p = self.disk.io_error_probability;
        if !(0.0..=1.0).contains(&p) {
            return Err(ConfigError::Probability { name: "io_error_probability", value: p });
        }
        let see_everything = self.workload.final_reads_see_everything();
        if see_everything && self.final_read_attempts == 0 {
            return Err(ConfigError::Zero("final_read_attempts"));
        }
        // Such final reads must not overtake operations still in flight when invocations stop.
        let in_flight = self.op_timeout.saturating_add(self.latency.1);
        if see_everything && self.settle < in_flight {
            return Err(ConfigError::SettleTooShort { settle: self.settle, in_flight });
        }
        for (at, fault) in &self.faults {
            if *at >= self.duration {
                return Err(ConfigError::FaultAfterEnd { at: *at, fault: fault.clone(), duration: self.duration });
            }
            if let Some((left, right)) = fault.sides() {
                if let Some(host) = left.iter().find(|h| right.contains(h)) {
                    return Err(ConfigError::PartitionOverlap { host: host.clone(), fault: fault.clone() });
                }
            }
            if let Some(problem) = parameter_problem(fault) {
                return Err(ConfigError::FaultParameter { at: *at, fault: fault.clone(), problem });
            }
        }
        Ok(())
    }

    /// Checks host names against the system's `servers`: server names are unique and are not
    /// client host names, and every fault names known hosts (crashes, restarts, skews and strobes
    /// name servers; partitions, one-way partitions, slow and flaky links name any host).
    pub fn validate_hosts(&self, servers: &[String]) -> Result<(), ConfigError> {
        if servers.is_empty() {
            return Err(ConfigError::NoServers);
        }
        let connections = self.connections_per_client_host(servers.len());
        if connections > PORTS_PER_HOST {
            return Err(ConfigError::TooManyConnections { connections, ports: PORTS_PER_HOST });
        }
        let clients = self.client_host_names();
        let mut seen = BTreeSet::new();
        for host in servers.iter().chain(&clients) {
            if !seen.insert(host.as_str()) {
                return Err(ConfigError::DuplicateHost(host.clone()));
            }
            if host.is_empty() || host.parse::<std::net::IpAddr>().is_ok() {
                return Err(ConfigError::BadHostName(host.clone()));
            }
        }
        for (at, fault) in &self.faults {
            // The leader placeholder is a server, resolved when the fault fires.
            for host in fault.hosts().into_iter().filter(|h| *h != crate::LEADER) {
                let unknown =
                    if names_a_server(fault) { !servers.iter().any(|s| s == host) } else { !seen.contains(host) };
                if unknown {
                    return Err(ConfigError::UnknownHost { host: host.to_owned(), at: *at, fault: fault.clone() });
                }
            }
        }
        Ok(())
    }
}

/// True for faults that act on a server's software (a client host has none the system owns).
fn names_a_server(fault: &Fault) -> bool {
    matches!(fault, Fault::Crash(_) | Fault::Kill(_) | Fault::Restart(_) | Fault::Skew { .. } | Fault::Strobe { .. })
}

/// The longest latency a [`Fault::Slow`] may set: a minute is already far past any timeout.
pub const MAX_SLOW_LATENCY_MS: u64 = 60_000;

/// What is wrong with a fault's parameters, if anything.
fn parameter_problem(fault: &Fault) -> Option<&'static str> {
    match fault {
        Fault::Slow { latency_ms: 0, .. } => Some("latency_ms must be positive"),
        Fault::Slow { latency_ms, .. } if *latency_ms > MAX_SLOW_LATENCY_MS => Some("latency_ms must be at most 60000"),
        Fault::Flaky { fail_ppm, .. } if *fail_ppm > 1_000_000 => Some("fail_ppm must be at most 1000000"),
        Fault::Strobe { period_ms: 0, .. } => Some("period_ms must be positive"),
        Fault::Strobe { offset_ms: 0, .. } => Some("offset_ms must not be zero"),
        _ => None,
    }
}

/// The name of client host number `index`.
pub fn client_host_name(index: usize) -> String {
    format!("client-{index}")
}

/// The most logical clients a run may have (a bound on tasks and connections).
pub const MAX_CLIENTS: usize = 100_000;

/// The ephemeral ports a client host has when it needs more than turmoil's default range
/// (49152-65535, 16,384 ports): the harness then gives it 1024-65535.
pub const PORTS_PER_HOST: usize = 65_535 - 1024 + 1;

/// turmoil's default ephemeral port range, kept whenever it is enough (so that runs that fit
/// in it allocate the same ports as always).
pub const DEFAULT_EPHEMERAL_PORTS: usize = 65_535 - 49_152 + 1;

/// A configuration that makes no sense.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The settle period is shorter than an operation can stay in flight, and the workload's
    /// final reads must see every operation ([`Workload::final_reads_see_everything`]).
    #[error("settle {settle:?} is shorter than op_timeout plus the maximum latency ({in_flight:?}): the final read could overtake adds still in flight")]
    SettleTooShort {
        /// The configured settle period.
        settle: Duration,
        /// The longest an operation can stay in flight.
        in_flight: Duration,
    },
    /// No client would run.
    #[error("no clients: {hosts} client hosts with {per_host} clients each")]
    NoClients {
        /// `client_hosts`.
        hosts: usize,
        /// `clients_per_host`.
        per_host: usize,
    },
    /// A client host would need more connections at once than it has ephemeral ports.
    #[error(
        "a client host may need {connections} connections at once (its clients times the servers, plus the final reads on the first host), more than its {ports} ports: use more client_hosts or fewer clients_per_host"
    )]
    TooManyConnections {
        /// Connections one client host may hold at once.
        connections: usize,
        /// Its ephemeral ports.
        ports: usize,
    },
    /// More logical clients than [`MAX_CLIENTS`].
    #[error("{clients} clients is more than the limit of {max}")]
    TooManyClients {
        /// The number asked for.
        clients: usize,
        /// The limit.
        max: usize,
    },
    /// Minimum latency above the maximum.
    #[error("minimum latency {min:?} is above the maximum {max:?}")]
    LatencyRange {
        /// The minimum.
        min: Duration,
        /// The maximum.
        max: Duration,
    },
    /// A duration or count that must be positive is zero.
    #[error("`{0}` must not be zero")]
    Zero(&'static str),
    /// A tick (resolution) that is not a whole divisor of 1 ms from 1 us to 1 ms.
    #[error("tick {0:?} is not a whole divisor of 1 ms between 1 us and 1 ms (e.g. 1ms, 100us, 10us, 5us, 1us)")]
    Resolution(Duration),
    /// The write-back policy has a zero or too long setting.
    #[error("disk write-back: {0}")]
    WriteBack(#[from] WriteBackError),
    /// The workload's parameters (its key space, its operation mix, ...) are invalid.
    #[error(transparent)]
    Workload(#[from] WorkloadError),
    /// A probability outside 0 to 1.
    #[error("`{name}` = {value} is not a probability (0 to 1)")]
    Probability {
        /// The parameter.
        name: &'static str,
        /// Its value.
        value: f64,
    },
    /// A fault is scheduled at or after the end of the operation phase (the harness heals
    /// everything then).
    #[error("fault `{fault}` at {at:?} is not before the end of the run's operations at {duration:?}")]
    FaultAfterEnd {
        /// When it was scheduled.
        at: Duration,
        /// The fault.
        fault: Fault,
        /// The configured `duration`.
        duration: Duration,
    },
    /// A host is on both sides of a partition (or of a one-way partition, slow or flaky link).
    #[error("host `{host}` is on both sides of `{fault}`")]
    PartitionOverlap {
        /// The host.
        host: String,
        /// The partition.
        fault: Fault,
    },
    /// A fault's parameter is out of range (a slow link's latency, a fail rate, a strobe's period
    /// or offset).
    #[error("fault `{fault}` at {at:?}: {problem}")]
    FaultParameter {
        /// When the fault was scheduled.
        at: Duration,
        /// The fault.
        fault: Fault,
        /// What is wrong.
        problem: &'static str,
    },
    /// A fault names a host that is not in the simulation (or crashes, restarts or skews a
    /// client host).
    #[error("fault `{fault}` at {at:?} names `{host}`, which is not a {}", if names_a_server(fault) { "server" } else { "host" })]
    UnknownHost {
        /// The unknown name.
        host: String,
        /// When the fault was scheduled.
        at: Duration,
        /// The fault.
        fault: Fault,
    },
    /// The system has no server hosts.
    #[error("the system under test has no server hosts")]
    NoServers,
    /// Two hosts share a name (servers and client hosts together).
    #[error("two hosts are named `{0}`")]
    DuplicateHost(String),
    /// A host name turmoil would misread (empty, or an IP address).
    #[error("`{0}` cannot be a host name")]
    BadHostName(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::workload::{KeyDistribution, Kv, OpMix, Register, Set};

    fn config() -> SimConfig {
        SimConfig::new(1, Register::default())
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(config().validate(), Ok(()));
        assert_eq!(config().validate_hosts(&["db".to_owned()]), Ok(()));
        assert_eq!(config().client_host_names(), ["client-0", "client-1"]);
    }

    #[test]
    fn nonsense_is_refused() {
        let mut c = config();
        c.clients_per_host = 0;
        assert!(matches!(c.validate(), Err(ConfigError::NoClients { per_host: 0, .. })));

        let mut c = config();
        c.latency = (Duration::from_millis(5), Duration::from_millis(1));
        assert!(matches!(c.validate(), Err(ConfigError::LatencyRange { .. })));

        let mut c = config();
        c.op_timeout = Duration::ZERO;
        assert_eq!(c.validate(), Err(ConfigError::Zero("op_timeout")));

        for bad in [Duration::from_millis(2), Duration::from_micros(3), Duration::from_nanos(100)] {
            let mut c = config();
            c.tick = bad;
            assert_eq!(c.validate(), Err(ConfigError::Resolution(bad)));
        }
        let mut c = config();
        c.tick = Duration::from_micros(5);
        assert_eq!((c.validate(), c.scale()), (Ok(()), 200));

        let mut c = config();
        c.writeback = WriteBack::Periodic { expire: Duration::ZERO, interval: Duration::from_secs(5) };
        assert_eq!(c.validate(), Err(ConfigError::WriteBack(WriteBackError::Zero("dirty_expire"))));
        c.writeback = WriteBack::Off;
        assert_eq!(c.validate(), Ok(()));

        let mut c = config();
        c.faults = Schedule::new().at(Duration::from_secs(10), Fault::Heal);
        assert!(matches!(c.validate(), Err(ConfigError::FaultAfterEnd { .. })));

        let mut c = config();
        c.faults = Schedule::new().at(Duration::from_secs(1), Fault::partition(["db"], ["db"]));
        assert!(matches!(c.validate(), Err(ConfigError::PartitionOverlap { .. })));

        let mut c = config();
        c.workload = Arc::new(Kv::new(0, KeyDistribution::Uniform));
        assert!(matches!(c.validate(), Err(ConfigError::Workload(WorkloadError::Keys(_)))));

        let mut c = config();
        c.workload = Arc::new(Register { mix: OpMix { read: 0, write: 0, cas: 0 } });
        let err = c.validate().expect_err("an empty mix");
        assert_eq!(err.to_string(), "operation mix: every weight is zero: nothing to invoke");
    }

    #[test]
    fn final_reads_that_must_see_everything_need_time_and_attempts() {
        let mut c = SimConfig::new(1, Set);
        assert_eq!(c.validate(), Ok(()));
        c.final_read_attempts = 0;
        assert_eq!(c.validate(), Err(ConfigError::Zero("final_read_attempts")));
        let mut c = SimConfig::new(1, Set);
        c.settle = c.op_timeout;
        assert!(matches!(c.validate(), Err(ConfigError::SettleTooShort { .. })));
        // A register's final read is placed in real time by the checker: no such demands.
        let mut c = config();
        c.final_read_attempts = 0;
        c.settle = Duration::ZERO;
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn hosts_are_checked() {
        let servers = ["db".to_owned()];
        let mut c = config();
        c.faults = Schedule::new().at(Duration::from_secs(1), Fault::partition(["client-0"], ["nowhere"]));
        let err = c.validate_hosts(&servers).expect_err("unknown host");
        assert!(matches!(&err, ConfigError::UnknownHost { host, .. } if host == "nowhere"), "{err}");

        c.faults = Schedule::new().at(Duration::from_secs(1), Fault::crash("client-1"));
        let err = c.validate_hosts(&servers).expect_err("clients cannot crash");
        assert!(err.to_string().contains("not a server"), "{err}");

        c.faults = Schedule::new().at(Duration::from_secs(1), Fault::partition(["client-1"], ["db"]));
        assert_eq!(c.validate_hosts(&servers), Ok(()));

        assert_eq!(c.validate_hosts(&[]), Err(ConfigError::NoServers));
        // Each client may hold a connection to every server: too many for a host's ports.
        let mut crowded = config();
        crowded.clients_per_host = 8_000;
        let nine: Vec<String> = (1..=9).map(|i| format!("n{i}")).collect();
        assert!(matches!(crowded.validate_hosts(&nine), Err(ConfigError::TooManyConnections { .. })));
        assert_eq!(crowded.validate_hosts(&nine[..3]), Ok(()), "24,000 connections fit in the wider range");
        assert_eq!(c.validate_hosts(&["client-0".to_owned()]), Err(ConfigError::DuplicateHost("client-0".into())));
        assert_eq!(c.validate_hosts(&["10.0.0.1".to_owned()]), Err(ConfigError::BadHostName("10.0.0.1".into())));
    }

    #[test]
    fn new_faults_are_validated() {
        let at = Duration::from_secs(1);
        let with = |fault: Fault| {
            let mut c = config();
            c.faults = Schedule::new().at(at, fault);
            c
        };
        for fault in [
            Fault::partition_one_way(["a", "b"], ["b"]),
            Fault::slow(["a"], ["a"], 10),
            Fault::flaky(["x", "y"], ["z", "x"], 10),
        ] {
            let err = with(fault).validate().expect_err("overlap");
            assert!(matches!(&err, ConfigError::PartitionOverlap { .. }), "{err}");
        }
        let refused = [
            (Fault::slow(["a"], ["b"], 0), "latency_ms must be positive"),
            (Fault::slow(["a"], ["b"], 60_001), "latency_ms must be at most 60000"),
            (Fault::flaky(["a"], ["b"], 1_000_001), "fail_ppm must be at most 1000000"),
            (Fault::strobe("db", 100, 0), "period_ms must be positive"),
            (Fault::strobe("db", 0, 10), "offset_ms must not be zero"),
        ];
        for (fault, why) in refused {
            let err = with(fault.clone()).validate().expect_err(why);
            assert_eq!(err, ConfigError::FaultParameter { at, fault, problem: why });
        }
        for fault in [
            Fault::slow(["a"], ["b"], 60_000),
            Fault::flaky(["a"], ["b"], 1_000_000),
            Fault::strobe("db", -5, 1),
            Fault::partition_one_way(["a"], ["b"]),
        ] {
            assert_eq!(with(fault).validate(), Ok(()));
        }
    }

    #[test]
    fn new_faults_name_known_hosts() {
        let servers = ["db".to_owned()];
        let at = Duration::from_secs(1);
        let with = |fault: Fault| {
            let mut c = config();
            c.faults = Schedule::new().at(at, fault);
            c
        };
        for fault in [
            Fault::partition_one_way(["client-0"], ["db"]),
            Fault::slow(["db"], ["client-1"], 5),
            Fault::flaky(["client-0"], ["client-1"], 5),
            Fault::strobe("db", 5, 5),
        ] {
            assert_eq!(with(fault).validate_hosts(&servers), Ok(()));
        }
        for (fault, host) in [
            (Fault::partition_one_way(["client-0"], ["dbx"]), "dbx"),
            (Fault::slow(["nowhere"], ["db"], 5), "nowhere"),
            (Fault::flaky(["db"], ["client-2"], 5), "client-2"),
        ] {
            let err = with(fault).validate_hosts(&servers).expect_err("unknown");
            assert!(matches!(&err, ConfigError::UnknownHost { host: h, .. } if h == host), "{err}");
            assert!(err.to_string().contains("not a host"), "{err}");
        }
        for fault in [Fault::strobe("client-0", 5, 5), Fault::skew("client-0", 5)] {
            let err = with(fault).validate_hosts(&servers).expect_err("clients have no clock to skew");
            assert!(err.to_string().contains("not a server"), "{err}");
        }
    }

    #[test]
    fn time_limit_covers_the_run() {
        let c = config();
        assert!(c.time_limit() > c.duration + c.settle + c.op_timeout);
    }
}
