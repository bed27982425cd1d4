//! The disk cost model: what an operation's disk work costs in simulated time.
//!
//! turmoil's synchronous fs shim, which the SQLite VFS uses, completes every read, write and
//! sync in zero simulated time (its `io_latency` only delays the async `tokio::fs` shim). Left
//! alone, a commit with `synchronous=FULL` would be free and every latency or throughput figure
//! meaningless. So the VFS counts the work an operation causes ([`DiskWork`]: syncs issued,
//! bytes written), [`DiskCost`] turns it into a duration calibrated on this machine's real
//! disk, and the server waits that long before it replies ([`DiskQueue`] serialises the waits,
//! because one SQLite connection does one thing at a time).
//!
//! Everything here is pure: the caller passes the current time in, as a [`Duration`] since an
//! origin of its choosing (the harness converts to and from its runtime's clock).

use std::time::Duration;

/// Disk work counted by the VFS while an operation ran.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskWork {
    /// File and directory syncs issued (each one an `fsync` on a real disk).
    pub syncs: u64,
    /// Bytes handed to `write` (whether or not they were synced later).
    pub bytes_written: u64,
}

impl DiskWork {
    /// The sum of two amounts of work.
    pub fn plus(self, other: DiskWork) -> DiskWork {
        DiskWork {
            syncs: self.syncs.saturating_add(other.syncs),
            bytes_written: self.bytes_written.saturating_add(other.bytes_written),
        }
    }
}

/// How much simulated time disk work costs.
///
/// The default, [`DiskCost::MEASURED`], was measured on this project's machine (ext4 on a
/// virtio block device, `/dev/vda`, AMD EPYC, 2 cores) with a throw-away Rust program:
///
/// - `per_sync`: 4 KiB `pwrite` over an existing block followed by `fdatasync`, 2,000 times per
///   round, 10 rounds (20,000 syncs) spread over a few minutes; the per-round medians were
///   78-173 us (median of medians ~150 us). The tail was heavy and came in bursts: in 3 of
///   the 10 rounds the 90th percentile was ~4 ms (the host's disk was shared with other
///   builds), and the very first round had a median of ~4.0 ms. We charge the typical figure,
///   150 us.
/// - `per_kib_written`: 256 MiB written sequentially in 1 MiB `write`s then one `fsync`,
///   27 runs: 0.51-0.69 us per KiB in the median (about 1.5-2 GB/s; the first run on fresh
///   blocks managed only ~350 MB/s, 2.7-4 us per KiB). We charge 650 ns per KiB.
///
/// tokio's timers have millisecond resolution, so a single operation's wait is rounded up to
/// the next millisecond tick; [`DiskQueue`] keeps exact accounts, so the rounding does not
/// accumulate under load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskCost {
    /// The cost of one sync (file or directory).
    pub per_sync: Duration,
    /// The cost of writing one KiB (charged pro rata per byte).
    pub per_kib_written: Duration,
}

impl DiskCost {
    /// The figures measured on this machine (see the type's documentation).
    pub const MEASURED: DiskCost =
        DiskCost { per_sync: Duration::from_micros(150), per_kib_written: Duration::from_nanos(650) };

    /// Disk work costs nothing (turmoil's own behaviour).
    pub const FREE: DiskCost = DiskCost { per_sync: Duration::ZERO, per_kib_written: Duration::ZERO };

    /// The simulated time `work` costs: `syncs * per_sync + bytes / 1024 * per_kib_written`,
    /// saturating at `u64::MAX` nanoseconds.
    pub fn charge(&self, work: DiskWork) -> Duration {
        let syncs = self.per_sync.as_nanos().saturating_mul(u128::from(work.syncs));
        let bytes = self.per_kib_written.as_nanos().saturating_mul(u128::from(work.bytes_written)) / 1024;
        let nanos = syncs.saturating_add(bytes);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

impl Default for DiskCost {
    fn default() -> Self {
        DiskCost::MEASURED
    }
}

/// The single connection's timeline: operations finish one after another, each taking its
/// disk time after the previous one finished.
///
/// An operation executes (and its effects become visible) the moment it arrives; only its
/// reply waits until [`DiskQueue::reserve`] says the connection would have finished it. As
/// operations execute in arrival order and finish in the same order, this is observably the
/// same as a connection that executes them one at a time, except that a crash may keep an
/// operation whose disk time had not yet elapsed (it was synced when it executed): an
/// unacknowledged operation surviving is allowed, an acknowledged one lost is not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskQueue {
    busy_until: Option<Duration>,
}

impl DiskQueue {
    /// An idle queue.
    pub fn new() -> Self {
        DiskQueue::default()
    }

    /// Books `cost` of disk time for an operation arriving at `now` (time since the caller's
    /// origin); returns when it finishes (never before `now`, never before the previous
    /// operation finished).
    pub fn reserve(&mut self, now: Duration, cost: Duration) -> Duration {
        let start = match self.busy_until {
            Some(busy) if busy > now => busy,
            _ => now,
        };
        // `charge` saturates; an absurd cost must not overflow the clock.
        let done = start.saturating_add(cost);
        self.busy_until = Some(done);
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charge_is_linear_in_syncs_and_bytes() {
        let cost = DiskCost { per_sync: Duration::from_micros(100), per_kib_written: Duration::from_micros(1) };
        assert_eq!(cost.charge(DiskWork::default()), Duration::ZERO);
        assert_eq!(cost.charge(DiskWork { syncs: 3, bytes_written: 0 }), Duration::from_micros(300));
        assert_eq!(cost.charge(DiskWork { syncs: 0, bytes_written: 4096 }), Duration::from_micros(4));
        assert_eq!(cost.charge(DiskWork { syncs: 1, bytes_written: 512 }), Duration::from_nanos(100_500));
        assert_eq!(DiskCost::FREE.charge(DiskWork { syncs: 10, bytes_written: 10 }), Duration::ZERO);
    }

    #[test]
    fn charge_saturates() {
        let cost = DiskCost { per_sync: Duration::from_secs(1_000_000), per_kib_written: Duration::ZERO };
        assert_eq!(cost.charge(DiskWork { syncs: u64::MAX, bytes_written: 0 }), Duration::from_nanos(u64::MAX));
    }

    #[test]
    fn queue_serialises_and_idles() {
        let t0 = Duration::from_secs(7);
        let ms = Duration::from_millis;
        let mut queue = DiskQueue::new();
        assert_eq!(queue.reserve(t0, ms(5)), t0 + ms(5));
        // Arrives while the first is on disk: waits for it.
        assert_eq!(queue.reserve(t0 + ms(1), ms(5)), t0 + ms(10));
        // A free operation still queues behind the connection.
        assert_eq!(queue.reserve(t0 + ms(2), Duration::ZERO), t0 + ms(10));
        // After an idle gap it starts at once.
        assert_eq!(queue.reserve(t0 + ms(20), ms(1)), t0 + ms(21));
    }

    #[test]
    fn work_adds() {
        let a = DiskWork { syncs: 1, bytes_written: 10 };
        assert_eq!(a.plus(a), DiskWork { syncs: 2, bytes_written: 20 });
    }
}
