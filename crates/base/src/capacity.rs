//! The per-node capacity model: a node serves what it receives one frame at a time, each
//! costing CPU time, and its disk serves syncs and writes one after another, so that
//! throughput in simulated time means something.
//!
//! - [`CpuCost`]: what one incoming frame (a client request or a message from a peer) costs:
//!   `per_message + bytes * per_byte`.
//! - [`Capacity`]: the model a run asks for (`sim::SimConfig::capacity`): a CPU cost and a
//!   disk cost ([`DiskCost`], whose `per_sync` is the fsync latency), each `None` to keep the
//!   system's own (free CPU, and the measured disk cost: today's behaviour).
//! - [`NodeClock`]: one node's CPU timeline and disk timeline, which a server books every call
//!   on; it says when the call's effects may go out.
//!
//! The approximation, the same as [`DiskQueue`]'s: a call changes the node's state the moment
//! its frame arrives; only its effects (replies, messages to peers) wait until the CPU, then
//! the disk, would have finished it. Calls are served in arrival order on each timeline, so
//! this is observably a node that works one call at a time, except that a crash may keep the
//! state change of a call that had not finished (an unacknowledged operation surviving is
//! allowed). Two ways to combine the timelines ([`Overlap`]): a replica's CPU works on the next
//! frame while its commit log syncs (pipelined), while one SQLite connection holds its lock
//! through the commit (serial).
//!
//! Resolution: accounts are kept in nanoseconds, but tokio's timers fire on whole
//! milliseconds, so a release is rounded up to the next millisecond. Under load the exact
//! `busy_until` accounting keeps throughput right (many calls finish within one millisecond
//! and go out together); a latency is quantised to the millisecond.
//!
//! Pure: the caller passes the current time in, as a [`Duration`] since an origin of its
//! choosing, and gets release times back in the same terms. The harness's adapter,
//! `sim::capacity::NodeClock`, reads the runtime's clock and converts.

use std::time::Duration;

use crate::disk_cost::{DiskCost, DiskQueue};

/// What one incoming frame costs in CPU time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuCost {
    /// Fixed cost of every frame (decoding, dispatch, the protocol step).
    pub per_message: Duration,
    /// Cost per byte of the frame's body.
    pub per_byte: Duration,
}

impl CpuCost {
    /// Frames cost nothing (every node infinitely fast: today's behaviour).
    pub const FREE: CpuCost = CpuCost { per_message: Duration::ZERO, per_byte: Duration::ZERO };

    /// The CPU time a frame of `bytes` bytes costs, saturating at `u64::MAX` nanoseconds.
    pub fn charge(&self, bytes: usize) -> Duration {
        let bytes = u128::try_from(bytes).unwrap_or(u128::MAX);
        let nanos = self.per_message.as_nanos().saturating_add(self.per_byte.as_nanos().saturating_mul(bytes));
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// True when frames cost nothing.
    pub fn is_free(&self) -> bool {
        self.per_message.is_zero() && self.per_byte.is_zero()
    }
}

/// The capacity model of a run: what the servers' CPU and disk cost. `None` keeps what the
/// system under test is configured with (the default: today's behaviour).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capacity {
    /// CPU cost of every incoming frame, on every server.
    pub cpu: Option<CpuCost>,
    /// Disk cost on every server (`per_sync` is the fsync latency).
    pub disk: Option<DiskCost>,
}

impl Capacity {
    /// The model of a run that asks for none: each system's own costs.
    pub const SYSTEM_DEFAULT: Capacity = Capacity { cpu: None, disk: None };

    /// A model with both costs set.
    pub fn new(cpu: CpuCost, disk: DiskCost) -> Self {
        Capacity { cpu: Some(cpu), disk: Some(disk) }
    }

    /// True when the run asks for nothing (each system keeps its own costs).
    pub fn is_system_default(&self) -> bool {
        self.cpu.is_none() && self.disk.is_none()
    }
}

/// How a node's CPU and disk work combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlap {
    /// Separate resources: the CPU serves the next frame while the disk works on an earlier
    /// one (a replica with a commit log). A call's disk work starts when its CPU work ends.
    Pipelined,
    /// One resource: a call's CPU and disk work happen back to back, and the next call starts
    /// after both (one SQLite connection, holding its write lock through the commit).
    Serial,
}

/// One node's timelines: CPU and disk, each serving calls one at a time in arrival order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeClock {
    overlap: Overlap,
    cpu: DiskQueue,
    disk: DiskQueue,
}

impl NodeClock {
    /// An idle node.
    pub fn new(overlap: Overlap) -> Self {
        NodeClock { overlap, cpu: DiskQueue::new(), disk: DiskQueue::new() }
    }

    /// Books a call that arrived at `now` and costs `cpu` of CPU time and `disk` of disk time;
    /// returns when its effects may go out, or `None` for at once.
    ///
    /// Pipelined: a call with no cost, arriving while the CPU is idle, goes out at once (with a
    /// free CPU that is every call without disk work, as before the model existed); any other
    /// call queues on the CPU, and a call with disk work then queues on the disk. A call
    /// without disk work does not wait for the disk (a read does not wait for others' syncs).
    ///
    /// Serial: every call queues behind the previous one for `cpu + disk` (never `None`).
    pub fn book(&mut self, now: Duration, cpu: Duration, disk: Duration) -> Option<Duration> {
        match self.overlap {
            Overlap::Serial => Some(self.cpu.reserve(now, cpu.saturating_add(disk))),
            Overlap::Pipelined => {
                let cpu_done = self.cpu.reserve(now, cpu);
                if disk.is_zero() {
                    return (cpu_done > now).then_some(cpu_done);
                }
                Some(self.disk.reserve(cpu_done, disk))
            }
        }
    }

    /// Books disk work that needs no CPU from the node's event loop (a background sync of the
    /// commit log): it queues on the disk only. Returns when it is done, `None` for at once.
    pub fn book_disk(&mut self, now: Duration, disk: Duration) -> Option<Duration> {
        if disk.is_zero() {
            return None;
        }
        match self.overlap {
            Overlap::Serial => Some(self.cpu.reserve(now, disk)),
            Overlap::Pipelined => Some(self.disk.reserve(now, disk)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    #[test]
    fn cpu_charge_is_linear_and_saturates() {
        let cost = CpuCost { per_message: us(10), per_byte: Duration::from_nanos(2) };
        assert_eq!(cost.charge(0), us(10));
        assert_eq!(cost.charge(500), us(11));
        assert_eq!(CpuCost::FREE.charge(1 << 20), Duration::ZERO);
        assert!(CpuCost::FREE.is_free() && !cost.is_free());
        let huge = CpuCost { per_message: Duration::ZERO, per_byte: Duration::from_secs(1 << 40) };
        assert_eq!(huge.charge(usize::MAX), Duration::from_nanos(u64::MAX));
    }

    #[test]
    fn free_cpu_keeps_the_disk_queue_behaviour() {
        let t0 = Duration::from_secs(7);
        let mut clock = NodeClock::new(Overlap::Pipelined);
        let mut disk = DiskQueue::new();
        // Free calls go out at once; disk work is booked exactly as on a bare disk queue.
        for (at, cost) in [(0u64, 150u64), (10, 150), (20, 0), (400, 150), (401, 0)] {
            let now = t0 + us(at);
            let expected = (cost != 0).then(|| disk.reserve(now, us(cost)));
            assert_eq!(clock.book(now, Duration::ZERO, us(cost)), expected, "at {at}");
        }
    }

    #[test]
    fn pipelined_cpu_serialises_and_overlaps_the_disk() {
        let t0 = Duration::from_secs(7);
        let mut clock = NodeClock::new(Overlap::Pipelined);
        // CPU 10 then disk 100.
        assert_eq!(clock.book(t0, us(10), us(100)), Some(t0 + us(110)));
        // Arrives while the CPU is free but the disk busy: CPU 10..20, disk 110..210.
        assert_eq!(clock.book(t0 + us(10), us(10), us(100)), Some(t0 + us(210)));
        // A read: CPU only, 20..30, does not wait for the disk.
        assert_eq!(clock.book(t0 + us(10), us(10), Duration::ZERO), Some(t0 + us(30)));
        // A free internal call queues behind the busy CPU.
        assert_eq!(clock.book(t0 + us(15), Duration::ZERO, Duration::ZERO), Some(t0 + us(30)));
        // Once idle, a free call goes out at once.
        assert_eq!(clock.book(t0 + us(40), Duration::ZERO, Duration::ZERO), None);
        // Background disk work queues on the disk only.
        assert_eq!(clock.book_disk(t0 + us(40), us(5)), Some(t0 + us(215)));
        assert_eq!(clock.book_disk(t0 + us(40), Duration::ZERO), None);
    }

    #[test]
    fn serial_adds_cpu_and_disk() {
        let t0 = Duration::from_secs(7);
        let mut clock = NodeClock::new(Overlap::Serial);
        assert_eq!(clock.book(t0, us(10), us(100)), Some(t0 + us(110)));
        assert_eq!(clock.book(t0 + us(1), us(10), Duration::ZERO), Some(t0 + us(120)));
        assert_eq!(clock.book(t0 + us(500), Duration::ZERO, Duration::ZERO), Some(t0 + us(500)));
        assert_eq!(clock.book_disk(t0 + us(500), us(7)), Some(t0 + us(507)));
    }

    #[test]
    fn throughput_under_load_is_one_over_the_bottleneck() {
        // 1,000 calls arriving at once: the last finishes after 1,000 of the larger cost when
        // pipelined, and 1,000 of the sum when serial.
        let t0 = Duration::from_secs(7);
        for (overlap, per_call) in [(Overlap::Pipelined, us(150)), (Overlap::Serial, us(170))] {
            let mut clock = NodeClock::new(overlap);
            let last = (0..1_000).map(|_| clock.book(t0, us(20), us(150))).last().flatten();
            assert_eq!(last, Some(t0 + per_call * 1_000 + if overlap == Overlap::Pipelined { us(20) } else { us(0) }));
        }
    }

    #[test]
    fn default_capacity_asks_for_nothing() {
        assert!(Capacity::default().is_system_default());
        assert_eq!(Capacity::default(), Capacity::SYSTEM_DEFAULT);
        assert!(!Capacity::new(CpuCost::FREE, DiskCost::FREE).is_system_default());
    }
}
