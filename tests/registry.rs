//! The registry's seam: a store and a workload from outside the lab's crates, each one module
//! (here, one section of this file) plus one registration line, run through an ordinary
//! experiment file with no edit anywhere else.
//!
//! - The example store, `memory`, is the harness's toy server (one in-memory server `db`,
//!   shared with sim's own tests): it forgets everything when it restarts, and says so in its
//!   properties (durability: never synced).
//! - The example workload, `blind-writes`, writes unique values to one register and reads it,
//!   with no compare-and-set, and is judged by its own checker model (`register`) and its own
//!   invariant (no read returns a value nobody wrote).

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use experiment::properties::{Durability, Ordering, Properties};
use experiment::source::{fields_of, Checked, Section};
use experiment::spec::Experiment;
use experiment::store::{Configured, Ran, Replicas, Store};
use experiment::workload::{self, Check, Judged, Limits, WorkloadKind};
use experiment::{parse, Registry, Script};
use history::{Event, EventType, Value};
use runner::run::measure::measure;
use serde::Deserialize;
use sim::{Generate, Operation, Reply, Rng, SimConfig, SimError, UniqueValues, WorkloadError};

#[path = "../crates/sim/tests/common/mod.rs"]
#[allow(missing_docs, clippy::unwrap_used)]
mod toy;

// ---------------------------------------------------------------------------------------------
// The example store: one module.

/// `kind = "memory"`: one in-memory server that keeps nothing across a restart.
struct Memory;

/// Its `[[system]]` table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMemory {
    /// How long the server takes to start listening, in milliseconds.
    startup_ms: Option<u64>,
}

impl Store for Memory {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn about(&self) -> &'static str {
        "one in-memory server (host `db`) that forgets everything when it restarts"
    }

    fn keys(&self) -> &'static [&'static str] {
        fields_of::<RawMemory>()
    }

    fn parse(&self, table: Section<'_>) -> Checked<Box<dyn Configured>> {
        let raw: RawMemory = table.finish()?;
        Ok(Box::new(MemorySystem { startup: Duration::from_millis(raw.startup_ms.unwrap_or(0)) }))
    }
}

#[derive(Debug, Clone)]
struct MemorySystem {
    startup: Duration,
}

impl Configured for MemorySystem {
    fn servers(&self) -> Vec<String> {
        sim::System::servers(&toy::Toy::new())
    }

    fn describe(&self) -> String {
        format!("memory: one in-memory server, {} ms to start", self.startup.as_millis())
    }

    fn properties(&self) -> Properties {
        Properties {
            store: "memory".to_owned(),
            servers: 1,
            replicas: 1,
            quorums: None,
            ordering: Ordering::SingleWriter,
            durability: Durability::NeverSynced,
            sqlite: None,
            replication: None,
        }
    }

    fn run(&self, config: &SimConfig, _sample_every: Option<Duration>) -> Result<Ran, SimError> {
        let mut system = toy::Toy::new();
        system.startup = self.startup;
        Ok(Ran { result: sim::run(system, config)?, replicas: Replicas::Single })
    }

    fn clone_box(&self) -> Box<dyn Configured> {
        Box::new(self.clone())
    }
}

// ---------------------------------------------------------------------------------------------
// The example workload: one module.

/// `kind = "blind-writes"`: unique writes to one register and reads of it.
struct BlindWrites;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBlindWrites {
    /// Reads per 100 operations.
    reads_percent: Option<u64>,
}

impl WorkloadKind for BlindWrites {
    fn kind(&self) -> &'static str {
        "blind-writes"
    }

    fn about(&self) -> &'static str {
        "unique writes to one register and reads of it, no compare-and-set"
    }

    fn keys(&self) -> &'static [&'static str] {
        fields_of::<RawBlindWrites>()
    }

    fn parse(&self, table: Section<'_>) -> Checked<Box<dyn workload::Configured>> {
        let source = table.source();
        let span = table.span();
        let raw: RawBlindWrites = table.finish()?;
        let reads_percent = raw.reads_percent.unwrap_or(50);
        if reads_percent > 100 {
            return source.fail(span, format!("reads_percent = {reads_percent}: expected 0 to 100"));
        }
        Ok(Box::new(BlindWritesWorkload { reads_percent }))
    }
}

/// The configured workload: also what the harness runs (its generator).
#[derive(Debug, Clone, Copy)]
struct BlindWritesWorkload {
    reads_percent: u64,
}

impl fmt::Display for BlindWritesWorkload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "blind writes ({}% reads)", self.reads_percent)
    }
}

impl sim::Workload for BlindWritesWorkload {
    fn validate(&self) -> Result<(), WorkloadError> {
        Ok(())
    }

    fn generator(&self, client: usize, rng: Rng) -> Box<dyn Generate> {
        Box::new(Writer { rng, reads_percent: self.reads_percent, values: UniqueValues::new(client) })
    }

    fn final_reads(&self) -> Vec<Operation> {
        vec![Operation::Read { key: None }]
    }
}

struct Writer {
    rng: Rng,
    reads_percent: u64,
    values: UniqueValues,
}

impl Generate for Writer {
    fn next(&mut self) -> Operation {
        if self.rng.below(100) < self.reads_percent {
            Operation::Read { key: None }
        } else {
            Operation::Write { key: None, value: self.values.next_value() }
        }
    }

    fn observe(&mut self, _operation: &Operation, _reply: &Reply) {}
}

impl workload::Configured for BlindWritesWorkload {
    fn sim_workload(&self) -> Arc<dyn sim::Workload> {
        Arc::new(*self)
    }

    fn mix(&self) -> sim::OpMix {
        let reads = u32::try_from(self.reads_percent).unwrap_or(100);
        sim::OpMix { read: reads, write: 100 - reads, cas: 0 }
    }

    fn describe(&self) -> String {
        self.to_string()
    }

    fn check_label(&self) -> &'static str {
        "linearizable"
    }

    fn judge(&self, history: &[Event], limits: &Limits) -> Judged {
        let started = std::time::Instant::now();
        let passed = move || started.elapsed() >= limits.timeout;
        let options = checker::CheckOptions {
            deadline: &passed,
            jobs: 1,
            memory_limit_bytes: limits.memory_limit_bytes,
            orders: false,
        };
        let check = match checker::check_named("register", history, &options).map(|v| v.outcome) {
            Ok(checker::Outcome::Linearizable) => Check::Linearizable,
            Ok(checker::Outcome::NotLinearizable) => Check::NotLinearizable,
            Ok(checker::Outcome::Unknown) | Err(_) => Check::Unknown,
        };
        // The invariant of its own: every value read was written by someone (or is nil).
        let written: Vec<&Value> =
            history.iter().filter(|e| e.kind == EventType::Invoke && e.f == "write").map(|e| &e.value).collect();
        let invented = history
            .iter()
            .filter(|e| e.kind == EventType::Ok && e.f == "read" && e.value != Value::Nil)
            .filter(|e| !written.contains(&&e.value))
            .count();
        let explanation =
            if invented > 0 { format!("{invented} reads returned a value nobody wrote\n") } else { String::new() };
        let acknowledged = history.iter().filter(|e| e.kind == EventType::Ok && e.f == "write").count();
        Judged {
            check,
            stale_reads: None,
            lost_writes: None,
            lost_window: None,
            acknowledged_writes: acknowledged as u64,
            unjudged_keys: 0,
            explanation,
            txn: None,
        }
    }

    fn clone_box(&self) -> Box<dyn workload::Configured> {
        Box::new(*self)
    }
}

// ---------------------------------------------------------------------------------------------
// The registration, and the tests.

/// The lab's registry with the two examples: one line each.
fn registry() -> Registry {
    Registry::standard()
        .with_store(&Memory) // the example store
        .with_workload(&BlindWrites) // the example workload
}

/// An experiment file naming both, beside the lab's own SQLite store.
fn file(faults: &str) -> String {
    format!(
        r#"name = "examples"
question = "Do a store and a workload from outside the lab run through an ordinary file?"
seeds = 2
duration = "3s"

[workload]
kind = "blind-writes"
reads_percent = 40

[[system]]
name = "memory"
kind = "memory"
startup_ms = 10

[[system]]
name = "sqlite-full"
kind = "sqlite"
{faults}"#
    )
}

fn experiment(text: &str) -> Experiment {
    match parse(&registry(), Path::new("examples.toml"), text) {
        Ok(Script::Faults(experiment)) => experiment,
        Ok(other) => panic!("expected a fault experiment, got {other:?}"),
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn a_registered_store_and_workload_run_through_an_experiment_file() {
    let experiment = experiment(&file(""));
    assert_eq!(experiment.workload.describe(), "blind writes (40% reads)");
    let names: Vec<&str> = experiment.systems.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["memory", "sqlite-full"]);
    for system in &experiment.systems {
        let measured = measure(&experiment, system, 1, Duration::from_secs(60));
        let record = &measured.record;
        assert_eq!(record.error, None, "{}", system.name);
        assert!(record.ok > 100, "{}: {} ok", system.name, record.ok);
        assert_eq!(record.check, Check::Linearizable, "{}: {:?}", system.name, measured.explanation);
        assert!(measured.history.iter().all(|e| e.f != "cas"), "blind writes have no compare-and-set");
        assert_eq!(record.properties.as_ref().map(|p| p.store.as_str()), Some(system.spec.properties().store.as_str()));
    }
}

#[test]
fn the_example_store_loses_its_state_on_a_crash_and_its_properties_say_why() {
    let crash = "\n[[fault]]\nat = \"1s\"\nuntil = \"1.5s\"\nkind = \"crash\"\nnode = \"server\"\n";
    let experiment = experiment(&file(crash));
    let [memory, sqlite] = &experiment.systems[..] else { panic!("two systems") };
    let lost = measure(&experiment, memory, 1, Duration::from_secs(60));
    assert_eq!(lost.record.check, Check::NotLinearizable, "a restart forgets acknowledged writes");
    assert_eq!(lost.record.properties.as_ref().map(|p| p.durability), Some(Durability::NeverSynced));
    let kept = measure(&experiment, sqlite, 1, Duration::from_secs(60));
    assert_eq!(kept.record.check, Check::Linearizable, "{:?}", kept.explanation);
    assert_eq!(kept.record.properties.as_ref().map(|p| p.durability), Some(Durability::SyncedBeforeAck));
}

#[test]
fn without_the_registration_the_file_is_refused_with_what_is_known() {
    let text = file("");
    let error = parse(&Registry::standard(), Path::new("examples.toml"), &text).expect_err("unregistered");
    assert_eq!((error.line, error.column), (7, 8), "{error}");
    assert!(error.message.contains("expected `register`, `kv`, `set`, `list-append` or `bank`"), "{error}");
    let with_workload = Registry::standard().with_workload(&BlindWrites);
    let error = parse(&with_workload, Path::new("examples.toml"), &text).expect_err("unregistered store");
    assert!(error.message.contains("expected `sqlite`, `quorum` or `sqlite-raft`"), "{error}");
    assert_eq!(registry().store_kinds(), ["sqlite", "quorum", "sqlite-raft", "memory"]);
}

#[test]
fn the_example_tables_are_checked_like_the_labs_own() {
    let bad = file("").replace("startup_ms = 10", "startup_ms = 10\ncolour = 3");
    let error = parse(&registry(), Path::new("examples.toml"), &bad).expect_err("unknown key");
    assert!(error.message.contains("unknown field `colour`, expected `startup_ms`"), "{error}");
    let bad = file("").replace("reads_percent = 40", "reads_percent = 140");
    let error = parse(&registry(), Path::new("examples.toml"), &bad).expect_err("out of range");
    assert!(error.message.contains("expected 0 to 100"), "{error}");
    let bad = file("").replace("startup_ms = 10", "startup_ms = 10\njournal = \"wal\"");
    let error = parse(&registry(), Path::new("examples.toml"), &bad).expect_err("another store's key");
    assert!(error.message.contains("`journal` applies only to kind = \"sqlite\" systems"), "{error}");
}
