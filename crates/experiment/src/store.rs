//! The stores the lab can run, behind one seam: a store is one module implementing [`Store`]
//! (its `[[system]]` table, validated into a typed [`Configured`] system) plus one line in
//! [`Registry::standard`].
//!
//! Everything else dispatches through the registry: fault experiments, scaling sweeps and
//! staleness files read the same `[[system]]` tables; `lab run` runs a [`Configured`] system
//! and records its [`Properties`]; `lab sim` builds one from command-line `key=value` pairs.

pub mod disk;
pub mod quorum;
pub mod raft;
pub mod sqlite;

use std::fmt;
use std::time::Duration;

use sim::{RunResult, SimConfig, SimError};

use crate::properties::Properties;
use crate::source::{Checked, Section};

/// A kind of store: how its `[[system]]` table reads.
pub trait Store: Send + Sync + 'static {
    /// Its name in files (`kind = "sqlite"`).
    fn kind(&self) -> &'static str;

    /// One line saying what it is, for listings.
    fn about(&self) -> &'static str;

    /// The keys its `[[system]]` table accepts (besides `name` and `kind`).
    fn keys(&self) -> &'static [&'static str];

    /// Validates a `[[system]]` table (without `name` and `kind`, which the experiment reads)
    /// into a configured system. Errors point into the table.
    fn parse(&self, table: Section<'_>) -> Checked<Box<dyn Configured>>;
}

/// A validated configuration of a store: everything a run of it needs.
pub trait Configured: fmt::Debug + Send + Sync {
    /// Its server host names, as the harness and the faults know them.
    fn servers(&self) -> Vec<String>;

    /// The configuration in one line (shown in tables, summaries and `lab sim`).
    fn describe(&self) -> String;

    /// What the system is, as claims select it.
    fn properties(&self) -> Properties;

    /// Runs it in the simulation `config` describes. With `sample_every`, the store samples its
    /// replicas that often and reports when they came to agree ([`Ran::replicas`]).
    fn run(&self, config: &SimConfig, sample_every: Option<Duration>) -> Result<Ran, SimError>;

    /// The disk its servers have, when it has one the file chose (`disk = ...`, or the
    /// `measured` default): a scaling sweep's `[capacity]` then leaves it alone.
    fn disk_cost(&self) -> Option<sim::disk_cost::DiskCost> {
        None
    }

    /// A boxed copy.
    fn clone_box(&self) -> Box<dyn Configured>;
}

impl Clone for Box<dyn Configured> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// What a run produced.
#[derive(Debug)]
pub struct Ran {
    /// The harness's result (history, faults applied, counters).
    pub result: RunResult,
    /// Whether and when the replicas agreed.
    pub replicas: Replicas,
}

/// Whether and when a store's replicas agreed for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replicas {
    /// One copy of everything (or not sampled): nothing to converge.
    Single,
    /// Equal from this simulated moment to the end of the run.
    AgreedSince(Duration),
    /// Still different at the end.
    Apart,
}

/// The stores and workloads an experiment file may name.
#[derive(Clone)]
pub struct Registry {
    stores: Vec<&'static dyn Store>,
    workloads: Vec<&'static dyn crate::workload::WorkloadKind>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("stores", &self.store_kinds())
            .field("workloads", &self.workload_kinds())
            .finish()
    }
}

impl Registry {
    /// The lab's own stores and workloads. A new one is one line here.
    pub fn standard() -> Self {
        Self::empty()
            .with_store(&sqlite::Sqlite)
            .with_store(&quorum::Quorum)
            .with_store(&raft::SqliteRaft)
            .with_workload(&crate::workload::register::Register)
            .with_workload(&crate::workload::kv::Kv)
            .with_workload(&crate::workload::set::Set)
            .with_workload(&crate::workload::list_append::ListAppend)
            .with_workload(&crate::workload::bank::Bank)
    }

    /// No stores and no workloads.
    pub fn empty() -> Self {
        Self { stores: Vec::new(), workloads: Vec::new() }
    }

    /// This registry with `store` too (replacing one of the same kind).
    pub fn with_store(mut self, store: &'static dyn Store) -> Self {
        self.stores.retain(|s| s.kind() != store.kind());
        self.stores.push(store);
        self
    }

    /// This registry with `workload` too (replacing one of the same kind).
    pub fn with_workload(mut self, workload: &'static dyn crate::workload::WorkloadKind) -> Self {
        self.workloads.retain(|w| w.kind() != workload.kind());
        self.workloads.push(workload);
        self
    }

    /// The store of `kind`.
    pub fn store(&self, kind: &str) -> Option<&'static dyn Store> {
        self.stores.iter().copied().find(|s| s.kind() == kind)
    }

    /// The workload of `kind`.
    pub fn workload(&self, kind: &str) -> Option<&'static dyn crate::workload::WorkloadKind> {
        self.workloads.iter().copied().find(|w| w.kind() == kind)
    }

    /// Every store's kind, in registration order.
    pub fn store_kinds(&self) -> Vec<&'static str> {
        self.stores.iter().map(|s| s.kind()).collect()
    }

    /// Every workload's kind, in registration order.
    pub fn workload_kinds(&self) -> Vec<&'static str> {
        self.workloads.iter().map(|w| w.kind()).collect()
    }

    /// The kinds of the stores other than `kind` whose tables accept `key`.
    pub fn stores_with_key(&self, key: &str, kind: &str) -> Vec<&'static str> {
        self.stores.iter().filter(|s| s.kind() != kind && s.keys().contains(&key)).map(|s| s.kind()).collect()
    }

    /// Every store, in registration order.
    pub fn stores(&self) -> &[&'static dyn Store] {
        &self.stores
    }

    /// Every workload, in registration order.
    pub fn workloads(&self) -> &[&'static dyn crate::workload::WorkloadKind] {
        &self.workloads
    }

    /// What the registry holds, for people: each store and workload with what it is and the
    /// keys of its table.
    pub fn listing(&self) -> String {
        let mut out = String::from("stores ([[system]] kind):\n");
        for store in &self.stores {
            out.push_str(&format!(
                "  {:<12} {}\n  {:<12} keys: {}\n",
                store.kind(),
                store.about(),
                "",
                store.keys().join(", ")
            ));
        }
        out.push_str("workloads ([workload] kind):\n");
        for workload in &self.workloads {
            let keys = if workload.keys().is_empty() { "none".to_owned() } else { workload.keys().join(", ") };
            out.push_str(&format!("  {:<12} {}\n  {:<12} keys: {keys}\n", workload.kind(), workload.about(), ""));
        }
        out
    }
}

/// `` `a`, `b` or `c` `` for an error message.
pub fn one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.split_last() {
        None => "nothing".to_owned(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}
