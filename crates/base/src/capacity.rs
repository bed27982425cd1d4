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
//!
//! Beyond the CPU and the disk ([`network`], [`usage`], [`defaults`]):
//!
//! - Sending costs CPU too ([`Network::send`], a [`CpuCost`] per outgoing frame: the `write`
//!   system call and the copy into the kernel), booked on the same CPU timeline as receiving.
//! - Each node has a NIC ([`Nic`]): full duplex, one timeline per direction. A frame sent is
//!   serialised on the sender's transmit side (`bytes / bandwidth`) before it leaves, a frame
//!   received occupies the receiver's receive side before its call starts. Full duplex because
//!   that is what every Ethernet NIC of the kind servers use is (IEEE 802.3 at 1 Gbit/s and
//!   above has no half-duplex mode in practice): sending does not slow receiving.
//! - Coordinator work: a client request costs its frame's CPU (received), the messages to the
//!   replicas (sent), their replies (received) and the reply (sent); no separate charge for
//!   "coordinating" is modelled, as no source gives one apart from the per-message costs (the
//!   calibration, `lab bench messages`, times the node step itself, coordinator included).
//! - Background disk work (memtable flush, compaction, hints, read-repair writes) is booked
//!   on the node's disk timeline like every other call's disk work: the storage engine counts
//!   it ([`crate::disk_cost::DiskWork`]) in the call that triggered it.
//! - Admission ([`Admission`]): a node refuses a new client request at once when its backlog
//!   ([`NodeClock::backlog`], how long until every timeline is idle) exceeds a bound, as
//!   Cassandra refuses with `OverloadedException` past its native-transport limits.
//! - [`usage::Usage`] counts what each node booked; [`usage::ceiling`] predicts the
//!   throughput a run's demand per operation allows (the bottleneck resource).

use std::time::Duration;

use crate::disk_cost::{DiskCost, DiskQueue};

pub mod defaults;
pub mod network;
pub mod usage;

pub use network::{Admission, Network, Nic};
pub use usage::{ceiling, Ceiling, ClusterUsage, Demand, Resource, Usage};

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
    /// CPU per frame sent and the NIC, on every server (`None`: the system's own, free).
    pub network: Option<Network>,
    /// The bound on a server's backlog past which it refuses client requests (`None`: the
    /// system's own, unbounded).
    pub admission: Option<Admission>,
}

impl Capacity {
    /// The model of a run that asks for none: each system's own costs.
    pub const SYSTEM_DEFAULT: Capacity = Capacity { cpu: None, disk: None, network: None, admission: None };

    /// A model with the CPU and disk costs set (the network and admission left to the system).
    pub fn new(cpu: CpuCost, disk: DiskCost) -> Self {
        Capacity { cpu: Some(cpu), disk: Some(disk), network: None, admission: None }
    }

    /// This model with the network (send CPU, NIC) and the admission bound set too.
    pub fn with_network(self, network: Network, admission: Admission) -> Self {
        Capacity { network: Some(network), admission: Some(admission), ..self }
    }

    /// True when the run asks for nothing (each system keeps its own costs).
    pub fn is_system_default(&self) -> bool {
        *self == Capacity::SYSTEM_DEFAULT
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

/// One node's timelines: CPU, disk, and the NIC's two directions, each serving work one
/// piece at a time in arrival order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeClock {
    overlap: Overlap,
    cpu: DiskQueue,
    disk: DiskQueue,
    /// The NIC's transmit side.
    tx: DiskQueue,
    /// The NIC's receive side.
    rx: DiskQueue,
    /// When the last work booked on any timeline ends (for [`NodeClock::backlog`]).
    busy_until: Duration,
}

impl NodeClock {
    /// An idle node.
    pub fn new(overlap: Overlap) -> Self {
        NodeClock {
            overlap,
            cpu: DiskQueue::new(),
            disk: DiskQueue::new(),
            tx: DiskQueue::new(),
            rx: DiskQueue::new(),
            busy_until: Duration::ZERO,
        }
    }

    /// How long after `now` the node's timelines are all idle again: the work it has
    /// accepted and not finished, which [`Admission`] bounds.
    pub fn backlog(&self, now: Duration) -> Duration {
        self.busy_until.saturating_sub(now)
    }

    /// Notes that some timeline is busy until `done`.
    fn busy(&mut self, done: Duration) -> Duration {
        self.busy_until = self.busy_until.max(done);
        done
    }

    /// [`NodeClock::book`] for a frame that first occupies the NIC's receive side for `rx`
    /// (`bytes / bandwidth`, zero for a free NIC) from `now`; its CPU work starts when it has
    /// arrived. Returns when the call's effects may go out (`None`: at once).
    pub fn book_received(&mut self, now: Duration, rx: Duration, cpu: Duration, disk: Duration) -> Option<Duration> {
        if rx.is_zero() {
            return self.book(now, cpu, disk);
        }
        let arrived = self.rx.reserve(now, rx);
        self.busy(arrived);
        let done = self.book(arrived, cpu, disk).unwrap_or(arrived);
        (done > now).then_some(done)
    }

    /// Books sending one frame at `now`: `cpu` on the CPU timeline (the serial one for
    /// [`Overlap::Serial`]), then `tx` (`bytes / bandwidth`) on the NIC's transmit side.
    /// Returns when the frame has left the node (`None`: at once). A send that costs nothing
    /// books nothing, so a free network leaves the other timelines' behaviour unchanged.
    pub fn book_send(&mut self, now: Duration, cpu: Duration, tx: Duration) -> Option<Duration> {
        if cpu.is_zero() && tx.is_zero() {
            return None;
        }
        let cpu_done = if cpu.is_zero() { now } else { self.cpu.reserve(now, cpu) };
        let sent = if tx.is_zero() { cpu_done } else { self.tx.reserve(cpu_done, tx) };
        self.busy(sent);
        (sent > now).then_some(sent)
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
            Overlap::Serial => {
                let done = self.cpu.reserve(now, cpu.saturating_add(disk));
                Some(self.busy(done))
            }
            Overlap::Pipelined => {
                let cpu_done = self.cpu.reserve(now, cpu);
                self.busy(cpu_done);
                if disk.is_zero() {
                    return (cpu_done > now).then_some(cpu_done);
                }
                let done = self.disk.reserve(cpu_done, disk);
                Some(self.busy(done))
            }
        }
    }

    /// Books disk work that needs no CPU from the node's event loop (a background sync of the
    /// commit log): it queues on the disk only. Returns when it is done, `None` for at once.
    pub fn book_disk(&mut self, now: Duration, disk: Duration) -> Option<Duration> {
        if disk.is_zero() {
            return None;
        }
        let done = match self.overlap {
            Overlap::Serial => self.cpu.reserve(now, disk),
            Overlap::Pipelined => self.disk.reserve(now, disk),
        };
        Some(self.busy(done))
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
        let net = Capacity::default().with_network(Network::FREE, Admission::UNBOUNDED);
        assert!(!net.is_system_default() && net.cpu.is_none());
    }

    #[test]
    fn sending_is_charged_on_the_cpu_then_the_nic() {
        let t0 = Duration::from_secs(7);
        let mut clock = NodeClock::new(Overlap::Pipelined);
        // A free send books nothing, even while the CPU is busy.
        assert_eq!(clock.book(t0, us(10), Duration::ZERO), Some(t0 + us(10)));
        assert_eq!(clock.book_send(t0, Duration::ZERO, Duration::ZERO), None);
        // A send's CPU queues behind the received frame's, then its bytes on the NIC.
        assert_eq!(clock.book_send(t0, us(3), us(100)), Some(t0 + us(113)));
        // The CPU is free again at 13: the next call is not held by the NIC.
        assert_eq!(clock.book(t0 + us(13), us(2), Duration::ZERO), Some(t0 + us(15)));
        // The next frame's bytes queue behind the first's on the NIC.
        assert_eq!(clock.book_send(t0 + us(15), us(1), us(100)), Some(t0 + us(213)));
        // A send that costs CPU only goes out when the CPU is done.
        assert_eq!(clock.book_send(t0 + us(300), us(4), Duration::ZERO), Some(t0 + us(304)));
    }

    #[test]
    fn nic_serialisation_delays_a_big_frame_by_bytes_over_bandwidth() {
        let t0 = Duration::from_secs(1);
        let nic = Nic::from_mbit_per_s(80); // 10 MB/s: 100 ns per byte
        let mut clock = NodeClock::new(Overlap::Pipelined);
        let big = nic.time(1_000_000);
        assert_eq!(big, Duration::from_millis(100));
        assert_eq!(clock.book_send(t0, Duration::ZERO, big), Some(t0 + Duration::from_millis(100)));
        // A small frame sent just after waits for the big one to leave.
        assert_eq!(clock.book_send(t0 + us(1), Duration::ZERO, nic.time(100)), Some(t0 + us(100_010)));
        // Receiving is the other direction: not delayed by what is being sent.
        assert_eq!(clock.book_received(t0 + us(1), nic.time(100), us(5), Duration::ZERO), Some(t0 + us(16)));
        // A big frame received delays its own call, and the next frame received.
        assert_eq!(clock.book_received(t0 + us(20), big, us(5), Duration::ZERO), Some(t0 + us(100_025)));
        assert_eq!(
            clock.book_received(t0 + us(30), nic.time(100), Duration::ZERO, Duration::ZERO),
            Some(t0 + us(100_030))
        );
        // With a free NIC receiving is booking.
        let mut a = NodeClock::new(Overlap::Pipelined);
        let mut b = NodeClock::new(Overlap::Pipelined);
        for (at, cpu) in [(0u64, 10u64), (3, 0), (40, 0)] {
            assert_eq!(
                a.book_received(t0 + us(at), Duration::ZERO, us(cpu), us(7)),
                b.book(t0 + us(at), us(cpu), us(7))
            );
        }
    }

    #[test]
    fn background_disk_work_delays_later_syncs() {
        let t0 = Duration::from_secs(3);
        let flush = DiskCost::MEASURED.charge(crate::disk_cost::DiskWork { syncs: 0, bytes_written: 4 << 20 });
        assert!(flush > Duration::from_millis(2), "{flush:?}");
        let mut clock = NodeClock::new(Overlap::Pipelined);
        let sync = us(150);
        // Alone, a write's sync is done 150 us after its CPU.
        assert_eq!(NodeClock::new(Overlap::Pipelined).book(t0, us(10), sync), Some(t0 + us(160)));
        // After a background flush of 4 MiB, it waits for the flush.
        assert_eq!(clock.book_disk(t0, flush), Some(t0 + flush));
        assert_eq!(clock.book(t0, us(10), sync), Some(t0 + flush + sync));
    }

    #[test]
    fn backlog_is_the_time_until_every_timeline_is_idle() {
        let t0 = Duration::from_secs(2);
        let mut clock = NodeClock::new(Overlap::Pipelined);
        assert_eq!(clock.backlog(t0), Duration::ZERO);
        for _ in 0..100 {
            clock.book(t0, us(10), Duration::ZERO);
        }
        assert_eq!(clock.backlog(t0), us(1_000));
        assert_eq!(clock.backlog(t0 + us(400)), us(600));
        clock.book_disk(t0, us(5_000));
        assert_eq!(clock.backlog(t0), us(5_000));
        clock.book_send(t0, Duration::ZERO, us(9_000));
        assert_eq!(clock.backlog(t0 + us(1_000)), us(8_000));
        assert_eq!(clock.backlog(t0 + us(20_000)), Duration::ZERO);
        // Admission: past a 2 ms bound new client requests are refused, below it accepted.
        let bound = Admission { max_backlog: Some(us(2_000)) };
        assert!(!bound.admits(clock.backlog(t0 + us(1_000))));
        assert!(bound.admits(clock.backlog(t0 + us(7_000))));
    }
}
