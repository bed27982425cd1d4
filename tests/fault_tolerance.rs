//! The fault-tolerance property: the quorum store in ABD mode (3 nodes, N = 3, the commit log
//! synced before every acknowledgement) and SQLite (WAL, `synchronous=FULL`), driven by
//! random fault schedules, stay linearizable, serve no stale read and lose no acknowledged
//! write, for every schedule the proptest generates. Two controls show that the same check
//! fails where it must: LWW at level ONE under clock skew and partitions, and ABD with a
//! periodic commit log under power loss.
//!
//! A case is a simulation seed, a nemesis seed (which draws hosts and parameters through
//! [`sim::realize`]), up to four faults laid out one after another (a shape, the gap before
//! it, its length), and turmoil's disk I/O error probability for the whole run. A fault whose
//! end would fall at or after the end of the operations stays in effect until the harness's
//! own recovery at that end, just before the quiet period and the final reads.
//!
//! Shapes per store:
//! - ABD: every shape of `sim::nemesis` (isolate, halves, majorities ring, bridge, one-way,
//!   cut clients, crash, crash minority, crash all, skew, strobe, slow, flaky), plus I/O
//!   errors.
//! - SQLite (one server, `db`): the shapes that reach it: isolate (the database cut from every
//!   client), halves and bridge with clients split (the only cuts a one-server cluster has:
//!   some clients lose the database in halves; in bridge only clients lose each other, which
//!   a single server must not notice), one-way (its replies lost), cut clients, crash and
//!   crash all (power loss; the same for one server), slow and flaky links, plus I/O errors.
//!   Not skew or strobe (SQLite orders transactions by its lock; the store reads no clock, so
//!   `SqlSystem::skew_clock` does nothing), nor the majorities ring or halves with clients on
//!   every side (nothing is cut on one server).
//!
//! Each case must also show that it tested something: its scheduled faults appear, in order
//! and on time, in the run's record of applied faults; at least 60 operations ended `ok`;
//! every key has a final read. The checker's verdict `unknown` is a failure. Across the
//! default 64 cases, every shape must have been drawn and the I/O errors must have struck
//! (a supervisor restart or a client failure naming an I/O error).
//!
//! The runner's seed is fixed, so every run of the test draws the same cases; `FAULT_CASES`
//! sets the number of cases per store (64 by default). No failure file is written. A failure
//! names the store, the seeds, the I/O error rate and the schedule as applied; proptest adds
//! the (shrunk) `Case`, which [`judge`] replays exactly.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::fmt;
use std::rc::Rc;
use std::time::{Duration, Instant};

use checker::{check_named, staleness, CheckOptions, Outcome};
use history::EventType;
use lsm::CommitLogSync;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use quorum::{ClusterConfig, Level, Mode, QuorumSystem};
use sim::{CallError, Capacity, Client, Kv, LocalFuture, Operation, Reply, RunResult};
use sim::{ClientSide, Cluster, DiskFaults, FaultKind, KeyDistribution, OpMix, Rng, Schedule, SimConfig, System};
use sqlstore::{JournalMode, SqlSystem, StoreConfig, Synchronous};

use crate::support::operations;

/// Keys of the kv workload: few, so that reads and writes meet.
const KEYS: usize = 3;
/// Simulated time of the operations.
const DURATION: Duration = Duration::from_secs(3);
/// Fewer `ok` operations than this and a case proves nothing.
const MIN_OK: usize = 60;
/// Wall time the checker may take per history before its verdict is `Unknown` (a failure):
/// a guard against a hung search, far above what these histories need.
const CHECK_LIMIT: Duration = Duration::from_secs(20);
/// Cases per store unless `FAULT_CASES` says otherwise.
const DEFAULT_CASES: u32 = 64;
/// The highest disk I/O error rate drawn for ABD, in parts per million of disk operations.
const ABD_IO_MAX_PPM: u32 = 5_000;
/// The highest for SQLite. Lower: after a crash SQLite replays its WAL one frame at a time
/// (up to its 1000-frame autocheckpoint), each read failing with this probability, so at
/// 0.3% most opens fail and the server can stay down past the final reads (availability,
/// not safety: it happened at 3076 ppm in a 1000-case exploration, with no wrong answer).
const SQLITE_IO_MAX_PPM: u32 = 1_000;
/// Cases of each control.
const CONTROL_CASES: usize = 8;

/// One planned fault: which shape, how long after the previous fault ended it starts, and how
/// long it lasts.
#[derive(Debug, Clone)]
struct Planned {
    kind: usize,
    gap_ms: u64,
    length_ms: u64,
}

/// A generated case.
#[derive(Debug, Clone)]
struct Case {
    seed: u64,
    nemesis_seed: u64,
    faults: Vec<Planned>,
    /// Disk I/O errors, parts per million of disk operations (0: none).
    io_ppm: u32,
}

impl Case {
    fn io_error_probability(&self) -> f64 {
        f64::from(self.io_ppm) / 1e6
    }
}

/// The cases: a seed, a nemesis seed, 1 to 4 faults (a shape among `kinds`, a gap of 0 to
/// 800 ms, a length of 100 to 1500 ms), and, unless `io_max_ppm` is zero, disk I/O errors in a
/// quarter of the cases, from a fiftieth of `io_max_ppm` to all of it.
fn case_strategy(kinds: usize, io_max_ppm: u32) -> impl Strategy<Value = Case> {
    let io_ppm = if io_max_ppm > 0 {
        prop_oneof![3 => Just(0u32), 1 => (io_max_ppm / 50).max(1)..=io_max_ppm].boxed()
    } else {
        Just(0u32).boxed()
    };
    (any::<u64>(), any::<u64>(), vec((0..kinds, 0u64..=800, 100u64..=1_500), 1..=4), io_ppm).prop_map(
        |(seed, nemesis_seed, faults, io_ppm)| Case {
            seed,
            nemesis_seed,
            faults: faults.into_iter().map(|(kind, gap_ms, length_ms)| Planned { kind, gap_ms, length_ms }).collect(),
            io_ppm,
        },
    )
}

/// Every shape the quorum store faces.
fn quorum_kinds() -> Vec<FaultKind> {
    vec![
        FaultKind::Isolate { node: None },
        FaultKind::Halves { clients: ClientSide::All },
        FaultKind::Halves { clients: ClientSide::Split },
        FaultKind::MajoritiesRing,
        FaultKind::Bridge { clients: ClientSide::All },
        FaultKind::Bridge { clients: ClientSide::Split },
        FaultKind::OneWay { node: None },
        FaultKind::CutClients { servers: None },
        FaultKind::Crash { node: None },
        FaultKind::CrashMinority,
        FaultKind::CrashAll,
        FaultKind::Skew { node: None, offset_ms: 0 },
        FaultKind::Strobe { node: None, offset_ms: 0, period_ms: 0 },
        FaultKind::Slow { node: None, latency_ms: 0 },
        FaultKind::Flaky { node: None, fail_ppm: 0 },
    ]
}

/// The shapes that reach SQLite's single server (see the module documentation).
fn sqlite_kinds() -> Vec<FaultKind> {
    vec![
        FaultKind::Isolate { node: None },
        FaultKind::Halves { clients: ClientSide::Split },
        FaultKind::Bridge { clients: ClientSide::Split },
        FaultKind::OneWay { node: None },
        FaultKind::CutClients { servers: None },
        FaultKind::Crash { node: None },
        FaultKind::CrashAll,
        FaultKind::Slow { node: None, latency_ms: 0 },
        FaultKind::Flaky { node: None, fail_ppm: 0 },
    ]
}

/// The shapes that break LWW at level ONE: skewed clocks and partitions among replicas.
fn lww_control_kinds() -> Vec<FaultKind> {
    vec![
        FaultKind::Skew { node: None, offset_ms: 0 },
        FaultKind::Strobe { node: None, offset_ms: 0, period_ms: 0 },
        FaultKind::Isolate { node: None },
        FaultKind::Halves { clients: ClientSide::All },
        FaultKind::MajoritiesRing,
    ]
}

/// The faults of `case` on `cluster`: each fault starts `gap` after the previous one ended
/// (the first `gap` after 100 ms) and ends `length` later; one whose end would not fall before
/// the end of the operations is left to the harness's recovery, and no fault follows it.
/// Also returns which of `kinds` were drawn (indices).
fn schedule(case: &Case, kinds: &[FaultKind], cluster: &Cluster) -> Result<(Schedule, Vec<usize>), String> {
    let mut rng = Rng::new(case.nemesis_seed);
    let mut schedule = Schedule::new();
    let mut drawn = Vec::new();
    let mut free = Duration::from_millis(100);
    for planned in &case.faults {
        let start = free + Duration::from_millis(planned.gap_ms);
        if start >= DURATION {
            break;
        }
        let kind = &kinds[planned.kind % kinds.len()];
        let realized = sim::realize(kind, cluster, &mut rng).map_err(|e| format!("{}: {e}", kind.name()))?;
        drawn.push(planned.kind % kinds.len());
        realized.start.into_iter().for_each(|fault| schedule.push(start, fault));
        let end = start + Duration::from_millis(planned.length_ms);
        if end >= DURATION {
            break;
        }
        realized.end.into_iter().for_each(|fault| schedule.push(end, fault));
        free = end;
    }
    Ok((schedule, drawn))
}

fn show(schedule: &Schedule) -> String {
    if schedule.is_empty() {
        return "no faults".to_owned();
    }
    schedule.iter().map(|(at, fault)| format!("{:.3}s {fault}", at.as_secs_f64())).collect::<Vec<_>>().join("; ")
}

/// What a property check found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Problem {
    /// The run did not complete.
    Run(String),
    /// The run's record of applied faults does not start with the schedule.
    NotApplied(String),
    /// Too few `ok` operations to judge anything.
    Idle(usize),
    /// The checker found no linearization.
    NotLinearizable,
    /// The checker did not decide in time.
    Unknown,
    /// Reads of values an acknowledged write had certainly overwritten.
    Stale(usize),
    /// Keys with no final read: lost writes cannot be judged.
    Unjudged(usize),
    /// Acknowledged writes the final reads do not reflect.
    Lost(usize),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Run(e) => write!(f, "the run failed: {e}"),
            Problem::NotApplied(why) => write!(f, "the schedule was not applied: {why}"),
            Problem::Idle(ok) => write!(f, "only {ok} ok operations (at least {MIN_OK} needed)"),
            Problem::NotLinearizable => f.write_str("not linearizable"),
            Problem::Unknown => write!(f, "the checker did not decide within {CHECK_LIMIT:?}"),
            Problem::Stale(n) => write!(f, "{n} stale reads"),
            Problem::Unjudged(n) => write!(f, "{n} keys without a final read"),
            Problem::Lost(n) => write!(f, "{n} acknowledged writes lost"),
        }
    }
}

/// A case judged.
#[derive(Debug)]
struct Judged {
    problems: Vec<Problem>,
    /// How the case reads in a message: store, seeds, I/O errors, schedule.
    described: String,
    /// The shapes the schedule drew, as indices into the store's kinds.
    shapes: Vec<usize>,
    /// Restarts and failed starts of the servers' supervisors (after disk failures), and
    /// client failures that name a disk I/O error.
    disk_failures: u64,
    ok: usize,
    acknowledged: usize,
    check_time: Duration,
}

impl Judged {
    fn message(&self) -> String {
        let problems: Vec<String> = self.problems.iter().map(ToString::to_string).collect();
        format!("{}\n{}", self.described, problems.join("\n"))
    }
}

/// A system whose clients count the failures that name a disk I/O error (SQLite's
/// [`sqlstore::IO_ERROR`], the quorum store's "storage I/O failed"): the evidence that the
/// run's disk faults struck, since the run records only the scheduled faults.
struct Counted<S> {
    inner: S,
    io_failures: Rc<Cell<u64>>,
}

struct CountedClient<C> {
    inner: C,
    io_failures: Rc<Cell<u64>>,
}

impl<S: System> System for Counted<S> {
    type Client = CountedClient<S::Client>;

    fn servers(&self) -> Vec<String> {
        self.inner.servers()
    }

    /// turmoil's `Result` spelled out (the lab has no direct dependency on turmoil).
    fn serve(&self, host: &str) -> LocalFuture<Result<(), Box<dyn std::error::Error>>> {
        self.inner.serve(host)
    }

    fn client(&self, client: usize) -> Self::Client {
        CountedClient { inner: self.inner.client(client), io_failures: Rc::clone(&self.io_failures) }
    }

    fn skew_clock(&self, host: &str, offset_ms: i64) {
        self.inner.skew_clock(host, offset_ms);
    }

    fn set_capacity(&mut self, capacity: &Capacity) {
        self.inner.set_capacity(capacity);
    }

    fn messages_sent(&self) -> u64 {
        self.inner.messages_sent()
    }
}

impl<C: Client> Client for CountedClient<C> {
    async fn call(&mut self, operation: &Operation) -> Result<Reply, CallError> {
        let outcome = self.inner.call(operation).await;
        let why = match &outcome {
            Ok(Reply::Fail(why)) => why.clone(),
            Err(error) => error.to_string(),
            Ok(Reply::Ok(_)) => String::new(),
        };
        if why.contains(sqlstore::IO_ERROR) || why.contains("storage I/O failed") {
            self.io_failures.set(self.io_failures.get() + 1);
        }
        outcome
    }

    fn reset(&mut self) {
        self.inner.reset();
    }
}

/// The systems under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Store {
    /// ABD, 3 nodes, N = 3, `batch` commit log.
    Abd,
    /// SQLite, WAL, `synchronous=FULL`.
    Sqlite,
    /// Control: LWW, read and write at ONE.
    LwwOne,
    /// Control: ABD with the commit log synced every second.
    AbdPeriodic,
    /// SQLite on Raft, 3 nodes, writes acknowledged once committed by a majority, reads
    /// through ReadIndex; Raft's clock ten times etcd's (10 ms ticks, 100 ms election timeout)
    /// so that a 3 s run sees several elections.
    RaftMajority,
    /// Control: SQLite on Raft acknowledging writes once the leader alone has them.
    RaftAsync,
}

/// The replicated SQLite store of `store` for `seed` (see [`Store::RaftMajority`]).
fn raft_config(store: Store, seed: u64) -> raftsql::RaftConfig {
    let ack = if store == Store::RaftAsync { raftsql::AckMode::Async } else { raftsql::AckMode::Majority };
    let mut config =
        raftsql::RaftConfig { ack, seed, tick: Duration::from_millis(10), ..raftsql::RaftConfig::default() };
    config.node.heartbeat_ticks = 2;
    config
}

/// The quorum cluster of a quorum store: 3 nodes, N = 3.
fn quorum_cluster(mode: Mode, level: Level, sync: CommitLogSync) -> ClusterConfig {
    let mut cluster = ClusterConfig::new(3);
    cluster.node.mode = mode;
    cluster.node.read = level;
    cluster.node.write = level;
    cluster.sync = sync;
    cluster
}

/// Runs `case` on `store` with faults drawn from `kinds` and judges it.
fn judge(store: Store, kinds: &[FaultKind], case: &Case) -> Judged {
    match store {
        Store::Sqlite => {
            let config = StoreConfig {
                journal_mode: JournalMode::Wal,
                synchronous: Synchronous::Full,
                seed: case.seed,
                ..StoreConfig::default()
            };
            let system = SqlSystem::new(config);
            let restarts = Rc::clone(&system.restarts);
            judge_run(store, system, kinds, case, move || restarts.restarts() + restarts.failed_starts())
        }
        Store::RaftMajority | Store::RaftAsync => {
            let system = raftsql::RaftSystem::new(raft_config(store, case.seed));
            judge_run(store, system, kinds, case, || 0)
        }
        Store::Abd | Store::LwwOne | Store::AbdPeriodic => {
            let cluster = match store {
                Store::LwwOne => quorum_cluster(Mode::Lww, Level::One, CommitLogSync::Batch),
                Store::AbdPeriodic => {
                    quorum_cluster(Mode::Abd, Level::Quorum, CommitLogSync::Periodic(Duration::from_secs(1)))
                }
                _ => quorum_cluster(Mode::Abd, Level::Quorum, CommitLogSync::Batch),
            };
            let system = QuorumSystem::new(cluster);
            // A clone shares the supervisors' counters with the system the run consumes.
            let handle = system.clone();
            judge_run(store, system, kinds, case, move || {
                handle.restarts().restarts() + handle.restarts().failed_starts()
            })
        }
    }
}

fn sim_config(case: &Case, faults: Schedule) -> SimConfig {
    // The quorum store offers no compare-and-set.
    let mix = OpMix { read: 1, write: 1, cas: 0 };
    let mut config = SimConfig::new(case.seed, Kv { mix, ..Kv::new(KEYS, KeyDistribution::Uniform) });
    config.duration = DURATION;
    config.client_hosts = 2;
    config.clients_per_host = 3;
    config.op_timeout = Duration::from_millis(500);
    config.faults = faults;
    config.disk = DiskFaults { capacity_bytes: None, io_error_probability: case.io_error_probability() };
    config
}

fn judge_run<S: System>(
    store: Store,
    system: S,
    kinds: &[FaultKind],
    case: &Case,
    restarts: impl Fn() -> u64,
) -> Judged {
    let probe = sim_config(case, Schedule::new());
    let cluster = Cluster::new(system.servers(), probe.client_host_names());
    let mut judged = Judged {
        problems: Vec::new(),
        described: String::new(),
        shapes: Vec::new(),
        disk_failures: 0,
        ok: 0,
        acknowledged: 0,
        check_time: Duration::ZERO,
    };
    let (faults, shapes) = match schedule(case, kinds, &cluster) {
        Ok(drawn) => drawn,
        Err(e) => {
            judged.described = format!("{store:?} seed {} nemesis seed {}", case.seed, case.nemesis_seed);
            judged.problems.push(Problem::Run(format!("the schedule cannot be drawn: {e}")));
            return judged;
        }
    };
    judged.shapes = shapes;
    judged.described = format!(
        "{store:?} seed {} (nemesis seed {}), io_error_probability {}, schedule: {}",
        case.seed,
        case.nemesis_seed,
        case.io_error_probability(),
        show(&faults)
    );
    let config = sim_config(case, faults);
    let io_failures = Rc::new(Cell::new(0));
    let system = Counted { inner: system, io_failures: Rc::clone(&io_failures) };
    let run = match sim::run(system, &config) {
        Ok(run) => run,
        Err(e) => {
            judged.problems.push(Problem::Run(e.to_string()));
            return judged;
        }
    };
    judged.disk_failures = restarts() + io_failures.get();
    if let Some(why) = not_applied(&config, &run) {
        judged.problems.push(Problem::NotApplied(why));
    }
    let end = DURATION.as_nanos() as u64;
    judged.ok = operations(&run.history)
        .into_iter()
        .filter(|(invoke, done)| invoke.time.is_some_and(|t| t < end) && done.kind == EventType::Ok)
        .count();
    if judged.ok < MIN_OK {
        judged.problems.push(Problem::Idle(judged.ok));
    }

    let started = Instant::now();
    let passed = move || started.elapsed() >= CHECK_LIMIT;
    let options = CheckOptions { deadline: &passed, ..CheckOptions::default() };
    match check_named("cas-register", &run.history, &options).map(|v| v.outcome) {
        Ok(Outcome::Linearizable) => {}
        Ok(Outcome::NotLinearizable) => judged.problems.push(Problem::NotLinearizable),
        Ok(Outcome::Unknown) => judged.problems.push(Problem::Unknown),
        Err(e) => judged.problems.push(Problem::Run(format!("the checker refused the history: {e}"))),
    }
    judged.check_time = started.elapsed();

    let staleness = staleness::analyze(&run.history);
    judged.acknowledged = staleness.acknowledged_writes;
    if !staleness.stale_reads.is_empty() {
        judged.problems.push(Problem::Stale(staleness.stale_reads.len()));
    }
    if staleness.unjudged_keys > 0 {
        judged.problems.push(Problem::Unjudged(staleness.unjudged_keys));
    }
    if !staleness.lost_writes.is_empty() {
        judged.problems.push(Problem::Lost(staleness.lost_writes.len()));
    }
    judged
}

/// Why the run's record of applied faults does not begin with the schedule, fault for fault,
/// each at its time or within a tick after it (the harness applies faults between steps).
fn not_applied(config: &SimConfig, run: &RunResult) -> Option<String> {
    let scheduled = config.faults.entries();
    if run.faults.len() < scheduled.len() {
        return Some(format!("{} faults applied of {} scheduled", run.faults.len(), scheduled.len()));
    }
    for ((at, fault), (applied_at, applied)) in scheduled.iter().zip(&run.faults) {
        if fault != applied || applied_at < at || *applied_at > *at + config.tick {
            return Some(format!(
                "`{fault}` at {:.3}s, but `{applied}` at {:.3}s was applied",
                at.as_secs_f64(),
                applied_at.as_secs_f64()
            ));
        }
    }
    // Whatever follows is the harness's recovery at the end of the operations.
    run.faults[scheduled.len()..]
        .iter()
        .find(|(at, _)| *at < config.duration)
        .map(|(at, fault)| format!("`{fault}` applied at {:.3}s, not scheduled", at.as_secs_f64()))
}

/// Cases per store: `FAULT_CASES`, or [`DEFAULT_CASES`].
fn case_count() -> u32 {
    match std::env::var("FAULT_CASES") {
        Ok(text) => text.trim().parse().unwrap_or_else(|_| panic!("FAULT_CASES = {text:?}: expected a whole number")),
        Err(_) => DEFAULT_CASES,
    }
}

/// The runner: a fixed seed, no failure file, a bounded shrink (every step is a simulation).
fn runner(cases: u32) -> TestRunner {
    let config = Config { cases, failure_persistence: None, max_shrink_iters: 64, ..Config::default() };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &[7; 32]))
}

/// Runs the property for `store` over the generated cases and checks, across them, that every
/// shape was drawn and that the I/O errors struck somewhere.
fn property(store: Store, kinds: Vec<FaultKind>, io_max_ppm: u32) {
    let cases = case_count();
    let started = Instant::now();
    let seen: RefCell<BTreeSet<usize>> = RefCell::default();
    let (io_cases, disk_failures) = (Cell::new(0u32), Cell::new(0u64));
    let (ok, acknowledged, slowest_check) = (Cell::new(0usize), Cell::new(0usize), Cell::new(Duration::ZERO));
    let result = runner(cases).run(&case_strategy(kinds.len(), io_max_ppm), |case| {
        let judged = judge(store, &kinds, &case);
        seen.borrow_mut().extend(&judged.shapes);
        if case.io_ppm > 0 {
            io_cases.set(io_cases.get() + 1);
            disk_failures.set(disk_failures.get() + judged.disk_failures);
        }
        ok.set(ok.get() + judged.ok);
        acknowledged.set(acknowledged.get() + judged.acknowledged);
        slowest_check.set(slowest_check.get().max(judged.check_time));
        if judged.problems.is_empty() {
            Ok(())
        } else {
            Err(TestCaseError::fail(judged.message()))
        }
    });
    if let Err(e) = result {
        panic!("{store:?}: {e}");
    }
    let seen = seen.into_inner();
    eprintln!(
        "{store:?}: {cases} cases in {:.1}s wall; {} ok operations, {} acknowledged writes; {} cases with I/O errors, \
         {} disk failures (restarts, failed starts, failed operations) among them; slowest check {:?}",
        started.elapsed().as_secs_f64(),
        ok.get(),
        acknowledged.get(),
        io_cases.get(),
        disk_failures.get(),
        slowest_check.get()
    );
    // With the default number of cases, the schedules cover every shape and the I/O errors
    // are real (fewer cases, as in a quick exploration, may miss some).
    if cases >= DEFAULT_CASES {
        let missing: Vec<&FaultKind> =
            kinds.iter().enumerate().filter(|(i, _)| !seen.contains(i)).map(|(_, kind)| kind).collect();
        assert!(missing.is_empty(), "{store:?}: no schedule drew {missing:?}");
        if io_max_ppm > 0 {
            assert!(io_cases.get() > 0 && disk_failures.get() > 0, "{store:?}: the I/O errors never struck");
        }
    }
}

#[test]
fn abd_with_a_synced_commit_log_survives_every_fault_schedule() {
    property(Store::Abd, quorum_kinds(), ABD_IO_MAX_PPM);
}

#[test]
fn sqlite_with_synchronous_full_survives_every_fault_schedule() {
    property(Store::Sqlite, sqlite_kinds(), SQLITE_IO_MAX_PPM);
}

/// SQLite on Raft with majority acknowledgement under every shape of the nemesis. Without disk
/// I/O errors: a node whose log sync fails stops (no supervisor restarts it yet), which is
/// unavailability, not a safety question, and would starve the runs of operations.
#[test]
fn sqlite_on_raft_with_majority_acks_survives_every_fault_schedule() {
    property(Store::RaftMajority, quorum_kinds(), 0);
}

/// The control: acknowledged by the leader alone, the same store fails the same check when
/// partitions cut a leader off from its peers while clients still reach it.
#[test]
fn control_sqlite_on_raft_with_async_acks_fails_the_property_under_partitions() {
    let kinds = [FaultKind::Halves { clients: ClientSide::All }, FaultKind::Bridge { clients: ClientSide::All }];
    let judged = control(Store::RaftAsync, &kinds);
    for j in &judged {
        eprintln!("{}", j.message());
    }
    let failed = judged
        .iter()
        .filter(|j| {
            j.problems.iter().any(|p| matches!(p, Problem::NotLinearizable | Problem::Stale(_) | Problem::Lost(_)))
        })
        .count();
    assert!(failed > 0, "no case of {CONTROL_CASES} failed");
    for j in &judged {
        assert!(
            j.problems.iter().all(|p| !matches!(p, Problem::Run(_) | Problem::NotApplied(_) | Problem::Idle(_))),
            "{}",
            j.message()
        );
    }
}

/// Judges [`CONTROL_CASES`] cases drawn from the property's own strategy (without I/O errors)
/// by the property's own check.
fn control(store: Store, kinds: &[FaultKind]) -> Vec<Judged> {
    let mut runner = runner(1);
    let strategy = case_strategy(kinds.len(), 0);
    (0..CONTROL_CASES)
        .map(|_| {
            let case = strategy.new_tree(&mut runner).expect("a case is drawn").current();
            judge(store, kinds, &case)
        })
        .collect()
}

#[test]
fn control_lww_at_one_fails_the_property_under_skew_and_partitions() {
    let judged = control(Store::LwwOne, &lww_control_kinds());
    let failed: Vec<&Judged> = judged
        .iter()
        .filter(|j| j.problems.iter().any(|p| matches!(p, Problem::NotLinearizable | Problem::Stale(_))))
        .collect();
    for j in &judged {
        eprintln!("{}", j.message());
    }
    assert!(failed.len() * 4 >= CONTROL_CASES * 3, "only {} of {CONTROL_CASES} cases failed", failed.len());
    // The failures are the store's, not the harness's: the runs completed with their faults.
    for j in &judged {
        assert!(
            j.problems.iter().all(|p| !matches!(p, Problem::Run(_) | Problem::NotApplied(_) | Problem::Idle(_))),
            "{}",
            j.message()
        );
    }
}

#[test]
fn control_abd_with_a_periodic_commit_log_fails_the_property_in_power_loss() {
    let judged = control(Store::AbdPeriodic, &[FaultKind::CrashAll]);
    for j in &judged {
        eprintln!("{}", j.message());
    }
    let lost = judged.iter().filter(|j| j.problems.iter().any(|p| matches!(p, Problem::Lost(_)))).count();
    // A failure is a violation the store caused (an undecided check or a key without a final
    // read does not count).
    let failed = judged
        .iter()
        .filter(|j| {
            j.problems.iter().any(|p| matches!(p, Problem::NotLinearizable | Problem::Stale(_) | Problem::Lost(_)))
        })
        .count();
    assert!(failed * 4 >= CONTROL_CASES * 3, "only {failed} of {CONTROL_CASES} cases failed");
    assert!(lost > 0, "no case lost an acknowledged write by the final reads");
    for j in &judged {
        assert!(
            j.problems.iter().all(|p| !matches!(p, Problem::Run(_) | Problem::NotApplied(_) | Problem::Idle(_))),
            "{}",
            j.message()
        );
    }
}
