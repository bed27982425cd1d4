//! The simulation harness: runs a system under test inside a deterministic turmoil
//! simulation, drives it with Jepsen-style client processes, injects faults, and returns the
//! recorded history.
//!
//! Map of the crate:
//! - [`system`]: the contract a system under test implements ([`System`], [`Client`]), and
//!   [`Operation`], the typed operations clients invoke and stores serve, with their history
//!   encoding.
//! - [`config`]: [`SimConfig`], everything a run depends on, and its validation.
//! - [`workload`]: the [`Workload`] trait (per-client [`Generate`]rs of operations, the final
//!   reads) and the standard workloads [`Register`], [`Kv`] and [`Set`].
//! - [`faults`]: [`Fault`] and [`Schedule`], faults as data.
//! - [`nemesis`]: partition shapes and Jepsen's random nemesis ([`FaultKind`], [`realize`],
//!   [`random_schedule`]), pure; [`fault_windows`] says when faults were in effect.
//! - [`frame`]: length-prefixed JSON frames (the pure codec from [`base::frame`], and thin
//!   async adapters).
//! - [`disk_cost`]: the disk cost model both stores charge (syncs and bytes to simulated
//!   time); [`base::disk_cost`] re-exported.
//! - [`capacity`]: the per-node capacity model ([`Capacity`]: CPU per frame and the disk cost,
//!   from [`base::capacity`]), and [`NodeClock`], the adapter that reads tokio's clock for the
//!   pure CPU and disk timelines both stores book their calls on.
//! - [`fs`]: [`fs::SimFs`], the storage engine's `lsm::FileSystem` on turmoil's simulated disk.
//! - [`rng`]: the seeded [`Rng`] and the [`Zipf`] key sampler ([`base::rng`] re-exported).
//!
//! The pure shared types live in the `base` crate, which neither turmoil nor tokio enters, so
//! that the storage engine and the protocol core need not depend on this harness; the modules
//! above keep their old paths.
//! - [`run`](mod@run): [`run()`](run::run) itself, [`RunResult`] and [`SimError`].
//! - [`supervise`]: [`supervise::Restarts`] and [`supervise::Backoff`], for servers that restart
//!   themselves after disk failures.
//! - [`time`]: model time on a dilated simulation clock (sub-millisecond costs made visible);
//!   servers and clients sleep and time out through it.
//! - [`writeback`]: the OS's write-back of dirty data on every server host (one tracker per
//!   host, the disks' write hooks, the flusher task); what survives a power loss beyond syncs.
//! - [`calibrate`]: turmoil's raw echo-RPC speed, the baseline of simulation benchmarks.
//! - Private: `process` (the client process loop and the recording rules), `record` (the
//!   shared history log), `apply` (faults carried out in the step loop, strobing clocks
//!   flipped, and the replay behind [`fault_windows`]).
//!
//! Determinism: one seed drives turmoil and every client's stream; the epoch is fixed;
//! timestamps are simulated time; nothing reaching the history iterates a hash map. The same
//! system, configuration and seed give the same history, byte for byte.

mod apply;
pub mod calibrate;
pub mod capacity;
pub mod config;
pub use base::disk_cost;
pub mod faults;
pub mod frame;
pub mod fs;
pub mod leadership;
pub mod nemesis;
mod process;
mod record;
pub use base::rng;
pub mod run;
pub mod steps;
pub mod supervise;
pub mod system;
pub mod time;
pub mod workload;
pub mod writeback;

pub use apply::fault_windows;
pub use capacity::{Capacity, CpuCost, NodeClock, Overlap};
pub use config::{client_host_name, ConfigError, DiskFaults, SimConfig};
pub use faults::{Fault, Schedule};
pub use leadership::{Failover, LeaderLog, Reign, LEADER};
pub use nemesis::{random_schedule, realize, ClientSide, Cluster, FaultKind, NemesisError, Realized};
pub use rng::{Rng, Zipf, ZipfError};
pub use run::{run, RunResult, SimError, EPOCH_UNIX_SECS, NEMESIS};
pub use system::{CallError, Client, LocalFuture, MicroOp, Operation, Reply, System};
pub use workload::{
    key_name, Bank, Generate, KeyDistribution, Kv, ListAppend, MixError, OpMix, Register, Set, UniqueValues, Workload,
    WorkloadError, VALUE_SPACE,
};
