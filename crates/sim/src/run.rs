//! One simulated run: build the turmoil simulation, register the system's servers and the
//! client hosts, step it while applying the fault schedule, and collect the history.
//!
//! Every time here is model time: the simulation runs dilated by the configuration's scale
//! ([`SimConfig::tick`] is model time per step; see [`crate::time`]).
//!
//! Phases, in model time:
//! 1. `0 .. duration`: processes invoke operations; faults apply when `sim.elapsed()` reaches
//!    their time (checked before every step, so at tick resolution), and strobing clocks flip
//!    when due (checked before every step too).
//! 2. At `duration`: every network fault is healed, every crashed host restarted and every
//!    skewed or strobing clock set back to true time (recorded in [`RunResult::faults`]).
//!    Processes stop invoking; operations in flight finish or time out.
//! 3. `duration .. duration + settle`: the repair phase (the quiet period). Every fault is
//!    healed and no process invokes anything (operations in flight at `duration` may still
//!    complete); the run goes on so that the system can repair itself, and its convergence is
//!    timed from `duration`, the start of this phase (the runner's `converged`). At its end:
//!    the workload's final reads (the whole set, the register, or every key of a kv workload,
//!    each once).
//!
//! The run ends when every client host's software has ended. A run that passes
//! [`SimConfig::time_limit`] without ending is stuck ([`SimError::Stuck`]).

use std::rc::Rc;
use std::time::{Duration, SystemTime};

use history::{Event, EventType, Process, Value};

use crate::apply::{execute, Down, Nemesis};
use crate::config::{ConfigError, SimConfig};
use crate::faults::Fault;
use crate::process::{client_host, Plan};
use crate::record::{nanos, Recorder};
use crate::system::System;
use crate::time::{to_model, to_sim, Dilation, STEP};
use crate::writeback;

/// The fixed start of simulated time (2024-01-01T00:00:00Z): turmoil's default epoch is the
/// wall clock, which would leak into anything a system derives from `SystemTime`.
pub const EPOCH_UNIX_SECS: u64 = 1_704_067_200;

/// The name of the nemesis process in [`RunResult::nemesis_events`].
pub const NEMESIS: &str = "nemesis";

/// What a run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunResult {
    /// Every client operation: invocations and completions, in order of simulated time (ties in
    /// execution order); `time` is simulated nanoseconds since the start.
    pub history: Vec<Event>,
    /// The faults as applied, with the simulated time of application (the schedule's time
    /// rounded up to a tick), including the harness's own recovery at `duration` (a heal,
    /// restarts, zero skews). A strobing clock's flips are not faults and are not listed.
    pub faults: Vec<(Duration, Fault)>,
    /// Messages the system sent in all ([`System::messages_sent`] at the end).
    pub messages: u64,
    /// Durable-log syncs in all ([`System::disk_syncs`] at the end; `None` when the system
    /// does not count them).
    pub syncs: Option<u64>,
    /// Model time at the end (simulated time divided by the run's scale, see [`crate::time`]).
    pub elapsed: Duration,
    /// Simulation steps taken (each one [`SimConfig::tick`] of model time).
    pub steps: u64,
    /// What the servers booked on the capacity model ([`System::usage`] at the end).
    pub usage: crate::capacity::ClusterUsage,
    /// Who led when ([`System::leaders`] at the end; `None` for a system without leaders).
    pub leaders: Option<crate::LeaderLog>,
}

impl RunResult {
    /// The applied faults as events of the `nemesis` process (type `info`, `f` the fault's
    /// [name](Fault::name), `value` what it acted on: see [`fault_value`]). The checker ignores
    /// named processes.
    pub fn nemesis_events(&self) -> Vec<Event> {
        self.faults
            .iter()
            .map(|(at, fault)| {
                let mut event =
                    Event::new(Process::Named(NEMESIS.to_owned()), EventType::Info, fault.name(), fault_value(fault));
                event.time = Some(nanos(*at));
                event
            })
            .collect()
    }

    /// The history with the nemesis events merged in by time (a nemesis event goes before
    /// client events of the same time).
    pub fn history_with_nemesis(&self) -> Vec<Event> {
        let mut events = self.nemesis_events();
        events.extend(self.history.iter().cloned());
        events.sort_by_key(|e| e.time);
        events
    }
}

/// The `value` of a fault's nemesis event: `[[left...] [right...]]` for a partition,
/// `[[from...] [to...]]` for a one-way partition, `[[left...] [right...] latency_ms]` for a slow
/// link, `[[left...] [right...] fail_ppm]` for a flaky one, the host for a crash, kill or restart,
/// `[host offset_ms]` for a skew, `[host offset_ms period_ms]` for a strobe, `nil` for a heal.
pub fn fault_value(fault: &Fault) -> Value {
    let side = |hosts: &[String]| Value::List(hosts.iter().map(|h| h.as_str().into()).collect());
    // Parameters are validated far below i64::MAX; saturate rather than wrap if not.
    let int = |n: u64| Value::Int(i64::try_from(n).unwrap_or(i64::MAX));
    match fault {
        Fault::Partition { left, right } => Value::List(vec![side(left), side(right)]),
        Fault::PartitionOneWay { from, to } => Value::List(vec![side(from), side(to)]),
        Fault::Slow { left, right, latency_ms } => Value::List(vec![side(left), side(right), int(*latency_ms)]),
        Fault::Flaky { left, right, fail_ppm } => Value::List(vec![side(left), side(right), int(u64::from(*fail_ppm))]),
        Fault::Heal => Value::Nil,
        Fault::Crash(host) | Fault::Kill(host) | Fault::Restart(host) => host.as_str().into(),
        Fault::Skew { host, offset_ms } => Value::List(vec![host.as_str().into(), Value::Int(*offset_ms)]),
        Fault::Strobe { host, offset_ms, period_ms } => {
            Value::List(vec![host.as_str().into(), Value::Int(*offset_ms), int(*period_ms)])
        }
    }
}

/// Why a run could not complete.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The configuration makes no sense for this system.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// Host software (a server's start-up future, or a client process) failed or panicked.
    #[error("at {at:?} of simulated time: {message}")]
    Host {
        /// Simulated time of the failure.
        at: Duration,
        /// turmoil's report.
        message: String,
    },
    /// The clients had not finished when the run passed its time limit.
    #[error("clients still running at {at:?} of simulated time (limit {limit:?})")]
    Stuck {
        /// Simulated time when the run gave up.
        at: Duration,
        /// The limit ([`SimConfig::time_limit`]).
        limit: Duration,
    },
    /// The system cannot start with the workload's initial state ([`System::preload`]).
    #[error("the workload's initial state: {0}")]
    Preload(String),
}

/// Runs `system` under `config` and returns the recorded history.
pub fn run<S: System>(system: S, config: &SimConfig) -> Result<RunResult, SimError> {
    config.validate()?;
    let servers = system.servers();
    config.validate_hosts(&servers)?;
    // Every duration below is model time; the simulation runs dilated (see crate::time).
    let _dilation = Dilation::new(config.scale());

    let mut system = system;
    system.set_capacity(&config.capacity);
    let initial = config.workload.initial_state();
    if !initial.is_empty() {
        system.preload(&initial).map_err(SimError::Preload)?;
    }
    let system = Rc::new(system);
    let recorder = Recorder::default();
    let limit = config.time_limit();
    let mut builder = builder(config, limit);
    if config.connections_per_client_host(servers.len()) > crate::config::DEFAULT_EPHEMERAL_PORTS {
        // More clients on a host than turmoil's default port range holds (see
        // `SimConfig::validate_hosts`, which bounds them by this wider range).
        builder.ephemeral_ports(1024..=65_535);
    }
    let mut sim = builder.build();
    // The OS's write-back on every server host, for this run (see crate::writeback).
    let _os = writeback::install(&servers, config.writeback);

    // A killed host's software is restarted at once by the kill (so that its disk keeps the
    // page cache) and waits here, serving nothing, until its restart restarts it again. The
    // OS's flusher runs before the gate: it writes back a killed store's dirty data.
    let down = Down::default();
    for name in servers {
        let system = Rc::clone(&system);
        let host = name.clone();
        let gate = down.clone();
        sim.host(name, move || {
            let flusher = writeback::flusher(host.clone());
            let serve = (!gate.is_down(&host)).then(|| system.serve(&host));
            async move {
                tokio::task::spawn_local(flusher);
                match serve {
                    Some(serve) => serve.await,
                    None => std::future::pending().await,
                }
            }
        });
    }
    let plan = Rc::new(Plan {
        seed: config.seed,
        workload: config.workload.clone(),
        clients_per_host: config.clients_per_host,
        total_clients: config.total_clients(),
        duration: config.duration,
        op_timeout: config.op_timeout,
        think_time: config.think_time,
        backoff: config.backoff,
        settle: config.settle,
        final_read_attempts: config.final_read_attempts,
        tick: config.tick,
    });
    for (index, name) in config.client_host_names().into_iter().enumerate() {
        sim.client(name, client_host(Rc::clone(&system), index, Rc::clone(&plan), recorder.clone()));
    }

    let mut nemesis = Nemesis::new(config.latency);
    let mut targets = crate::leadership::Targets::default();
    let mut applied = Vec::new();
    let mut schedule = config.faults.iter().peekable();
    let mut recovered = false;
    let mut steps = 0u64;
    loop {
        let now = to_model(sim.elapsed());
        let mut due: Vec<Fault> = Vec::new();
        while let Some((_, fault)) = schedule.next_if(|(at, _)| *at <= now) {
            due.push(fault.clone());
        }
        if !recovered && now >= config.duration {
            due.extend(nemesis.recovery());
            recovered = true;
        }
        for fault in due {
            let fault = targets.resolve(&fault, system.as_ref());
            for action in nemesis.apply(&fault, now) {
                execute(&mut sim, system.as_ref(), &down, &action);
            }
            applied.push((now, fault));
        }
        for action in nemesis.tick(now) {
            execute(&mut sim, system.as_ref(), &down, &action);
        }

        let finished =
            sim.step().map_err(|e| SimError::Host { at: to_model(sim.elapsed()), message: e.to_string() })?;
        steps += 1;
        if finished {
            break;
        }
        if to_model(sim.elapsed()) > limit {
            return Err(SimError::Stuck { at: to_model(sim.elapsed()), limit });
        }
    }

    Ok(RunResult {
        history: recorder.take_events(),
        faults: applied,
        messages: system.messages_sent(),
        syncs: system.disk_syncs(),
        elapsed: to_model(sim.elapsed()),
        steps,
        usage: system.usage(),
        leaders: system.leaders(),
    })
}

/// turmoil's builder, seeded and with a fixed epoch (both are random by default), on the
/// dilated clock: turmoil's tick is always [`STEP`], and every model duration it is given is
/// scaled by the (already set) [`Dilation`].
fn builder(config: &SimConfig, limit: Duration) -> turmoil::Builder {
    let mut builder = turmoil::Builder::new();
    let epoch = SystemTime::UNIX_EPOCH + Duration::from_secs(EPOCH_UNIX_SECS);
    // The listener backlog panics when full: room for every client and every final read
    // (each opens its own connection, all at once) to connect at once, twice.
    let connections = config.total_clients().saturating_add(1).saturating_add(config.workload.final_reads().len());
    let tcp_capacity = connections.saturating_mul(2).max(4096);
    builder
        .rng_seed(config.seed)
        .epoch(epoch)
        .min_message_latency(to_sim(config.latency.0))
        .max_message_latency(to_sim(config.latency.1))
        .tick_duration(STEP)
        .tcp_capacity(tcp_capacity)
        // Our own limit trips first; turmoil's is a backstop.
        .simulation_duration(to_sim(limit).saturating_add(STEP.saturating_mul(10)));
    let disk = builder.fs();
    if let Some(bytes) = config.disk.capacity_bytes {
        disk.capacity(bytes);
    }
    disk.io_error_probability(config.disk.io_error_probability);
    builder
}
