//! The SQL system under test: one server host whose state lives in SQLite, on turmoil's
//! simulated disk through a SQLite VFS, so that a simulated crash loses exactly what SQLite
//! had not synced.
//!
//! Map of the crate:
//! - [`vfs`]: the SQLite VFS over a [`vfs::Disk`] (turmoil's simulated disk: [`vfs::SimDisk`]);
//!   per-store [`vfs::DiskIo`] (liveness, disk-work counters, seeded RNG, write-back).
//! - `cost` (re-exported from [`sim::disk_cost`]): the disk cost model, shared with the quorum
//!   store ([`DiskWork`] to simulated time, [`DiskCost`] measured on this machine).
//! - [`store`]: [`Store`], the SQLite database and its operations, one transaction each.
//! - [`wire`]: the framed JSON protocol; pure encoder/decoder plus thin async adapters.
//! - [`server`]: the server host's start-up future (open, recover, listen, serve, charge disk
//!   time before replying).
//! - [`busy`]: how long a transaction waits for a lock another connection holds (SQLite's
//!   busy-handler delays, in simulated time), and when it does not wait at all.
//! - [`client`]: [`SqlClient`], mapping typed operations ([`sim::Operation`]) to requests.
//! - [`system`]: [`SqlSystem`], the [`sim::System`] the harness drives.
//!
//! Disk faults: [`store`] says which failures certainly had no effect (a disk failure before
//! the transaction's commit point, found by the VFS, is a definite "disk full" or "I/O error")
//! and how a full disk is handled; [`server`] reopens a store that failed to open or whose
//! sync failed, counted in [`server::Restarts`].

pub mod busy;
pub mod client;

pub mod server;
pub mod store;
pub mod system;
pub mod vfs;
pub mod wire;

pub use client::SqlClient;
pub use server::PORT;
pub use sim::disk_cost::{self as cost, DiskCost, DiskWork};
pub use store::{
    BeginMode, JournalMode, Store, StoreConfig, StoreError, Synchronous, DATABASE_LOCKED, DISK_FULL, IO_ERROR,
    MAX_CONNECTIONS,
};
pub use system::SqlSystem;
