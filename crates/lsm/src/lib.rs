//! `lsm`: the per-node storage engine of the quorum-replicated store, a small log-structured
//! merge tree on any [`FileSystem`]: turmoil's simulated disk in simulations (`sim::fs::SimFs`)
//! or, for benchmarks, a real directory ([`RealFs`]).
//!
//! Dependencies point down: the engine depends on `base` (the cell, [`DiskWork`]) and on
//! neither the harness nor turmoil; the simulated disk is an implementation of its
//! [`FileSystem`] port that the harness provides. Its own simulation tests use that
//! implementation as a dev-dependency.
//!
//! Map of the crate:
//! - [`cell`]: [`Version`] (last-write-wins order) and [`Cell`] (value plus version), from
//!   `base` (the protocol core shares them without depending on the engine).
//! - [`engine`]: [`Engine`] (open, write, sync, get, scan, range, flush, compact, counters),
//!   [`EngineConfig`], [`Stats`].
//! - [`commit_log`]: segments of checksummed records, replay up to a torn tail, and
//!   [`CommitLogSync`], how a server applies Cassandra's sync modes with [`Engine::sync`].
//! - [`memtable`]: the sorted in-memory cells since the last flush.
//! - [`sstable`]: immutable sorted files; [`sstable::format`] is their byte layout.
//! - [`compaction`]: the pure policy, [`choose`] returning a [`Choice`].
//! - [`manifest`]: which SSTables are live and which segments still matter.
//! - [`recovery`]: from the files on disk to a running engine.
//! - [`codec`]: CRC-32, frames and the cell encoding every file shares.
//! - [`error`]: [`EngineError`] and [`Corruption`].
//! - [`fs`]: the file-system trait ([`FileSystem`], [`FsFile`]) and [`RealFs`] (`std::fs`).
//! - [`group_commit`]: [`GroupCommit`], an engine shared by writer threads on a real disk in
//!   Cassandra's `batch` or `group` mode: leader/follower, the file sync run outside the
//!   engine's lock ([`Engine::begin_sync`], [`PendingSync`], [`Engine::finish_sync`]), so the
//!   writers that append during one sync share the next.
//! - [`sync_batch`]: [`SyncBatcher`], the pure state machine of `batch` mode for a server on
//!   simulated time: which writes share which sync.
//! - Private: `disk`, the only module that calls the file system (through [`FileSystem`]),
//!   and counts syncs and bytes written as [`DiskWork`]; `reserve`, the file
//!   of zeros that makes room to flush on a full disk.
//!
//! Disk failures (a full disk, I/O errors, failed syncs) and what each means for a write's
//! outcome are set out in [`engine`]: a full disk refuses writes definitely and leaves the
//! engine usable; other write and sync failures poison it until it is reopened, as
//! PostgreSQL treats a failed `fsync` as a crash.
//!
//! Durability: a write is durable once a later [`Engine::sync`] or flush returns. A crash
//! (`Sim::crash`, which drops every unsynced write) keeps exactly that prefix; a torn last
//! record ends replay without error; damage in a manifest or SSTable, which were synced
//! before they were named, is an error.
//!
//! Determinism: no clocks (but [`GroupCommit`]'s group window, a real-threads tool), no
//! randomness, no hash maps; directory listings are sorted; file numbers come from a counter. The same calls give the same files, replies and
//! [`DiskWork`].
//!
//! Files in the engine's directory (details in each module):
//! `<id:020>.log` commit-log segments, `<id:020>.sst` SSTables, `MANIFEST-<seq:020>` (and
//! `.tmp` while being written), `RESERVE`. File ids come from one counter and are never reused.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

pub use base::cell;
pub mod codec;
pub mod commit_log;
pub mod compaction;
mod disk;
pub mod engine;
pub mod error;
pub mod fs;
pub mod group_commit;
pub mod manifest;
pub mod memtable;
pub mod recovery;
mod reserve;
pub mod sstable;
pub mod sync_batch;

pub use base::disk_cost::DiskWork;
pub use cell::{Cell, Version};
pub use commit_log::CommitLogSync;
pub use compaction::{choose, Choice, SstableMeta};
pub use engine::{Engine, EngineConfig, PendingSync, Stats};
pub use error::{Corruption, EngineError};
pub use fs::{FileSystem, FsFile, RealFs, SyncCall};
pub use group_commit::{GroupCommit, GroupStats};
pub use recovery::{RecoveryReport, TornTail};
pub use sync_batch::SyncBatcher;
