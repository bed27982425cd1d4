//! `base`: the pure types that the storage engine, the protocol core, the models and the
//! harness share. It sits at the bottom of the crate graph and depends on no simulator,
//! runtime or clock: neither turmoil nor tokio enters it, so a crate that needs only these
//! (`lsm`, `quorum-core`, `pbs`) does not compile either.
//!
//! Map of the crate:
//! - [`rng`]: the seeded [`Rng`] (xoshiro256**) and the [`Zipf`] key sampler.
//! - [`disk_cost`]: [`DiskWork`] (syncs and bytes an operation caused), [`DiskCost`] (what it
//!   costs in simulated time: syncs that commit metadata and syncs in place, each latency
//!   drawn per sync by [`SyncDraws`] when the cost has a spread) and [`DiskQueue`] (one disk's
//!   timeline).
//! - [`disk_cost::profile`]: the named disk profiles (`nvme`, `sata-ssd`, `hdd`, `network-block`),
//!   each figure with its source.
//! - [`capacity`]: the per-node capacity model: [`CpuCost`], [`Capacity`], [`Overlap`] and
//!   [`NodeClock`], a node's CPU and disk timelines.
//! - [`cell`]: [`Version`] and [`Cell`], the last-write-wins cell the engine stores and the
//!   replicas exchange.
//! - [`frame`]: length-prefixed JSON frames, the pure codec ([`frame::encode`],
//!   [`frame::FrameDecoder`], [`frame::decode`]); the async socket adapters live in `sim`.
//! - [`writeback`]: the OS write-back model (Linux's `dirty_expire`/`dirty_writeback`):
//!   [`writeback::WriteBack`], [`writeback::Dirty`], what survives a power loss.
//!
//! Time: nothing here reads a clock. The timelines take `now` as a [`std::time::Duration`]
//! since an origin the caller chooses (the harness uses the first instant it books, see
//! `sim::capacity::NodeClock`) and answer in the same terms.
//!
//! Why a separate crate: before it, `lsm` depended on the harness for [`DiskWork`] alone, and
//! the pure model crate `pbs` compiled turmoil and tokio through it. The harness (`sim`)
//! re-exports everything here under its old paths (`sim::Rng`, `sim::rng::Zipf`,
//! `sim::disk_cost::DiskCost`, `sim::frame::encode`, ...).

pub mod capacity;
pub mod cell;
pub mod disk_cost;
pub mod frame;
pub mod rng;
pub mod writeback;

pub use capacity::{Capacity, CpuCost, NodeClock, Overlap};
pub use cell::{Cell, Version};
pub use disk_cost::{DiskCost, DiskCostError, DiskQueue, DiskWork, SyncDraws, SyncKinds};
pub use rng::{Rng, Zipf, ZipfError};
