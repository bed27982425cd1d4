//! What sending and the network interface cost, and the admission bound.
//!
//! - [`Nic`]: a node's network interface, full duplex: each direction serialises frames at
//!   `bytes_per_sec` (see [`crate::capacity`] for why one timeline per direction).
//! - [`Network`]: CPU per frame sent ([`Network::send`]) and the NIC (`None`: unlimited).
//! - [`Admission`]: the longest backlog at which a node still accepts a new client request.

use std::time::Duration;

use super::CpuCost;

/// A node's network interface: the bandwidth of each direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nic {
    /// Bytes per second in each direction (at least 1).
    pub bytes_per_sec: u64,
}

impl Nic {
    /// A NIC of `mbit` megabits (10^6 bits) per second in each direction (at least 1 byte/s).
    pub fn from_mbit_per_s(mbit: u64) -> Nic {
        Nic { bytes_per_sec: mbit.saturating_mul(1_000_000 / 8).max(1) }
    }

    /// How long `bytes` take to serialise onto the wire, rounded up to the nanosecond and
    /// saturating at `u64::MAX` nanoseconds.
    pub fn time(&self, bytes: usize) -> Duration {
        let bytes = u128::try_from(bytes).unwrap_or(u128::MAX);
        let rate = u128::from(self.bytes_per_sec.max(1));
        let nanos = bytes.saturating_mul(1_000_000_000).div_ceil(rate);
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

/// What sending costs on a node: CPU per frame sent, and the NIC both directions cross.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    /// CPU time of every frame the node sends (the `write` system call, the copy into the
    /// kernel); the encoding is part of the receive cost's protocol step (see
    /// [`super::defaults`]).
    pub send: CpuCost,
    /// The node's NIC (`None`: unlimited bandwidth, frames cross it in no time).
    pub nic: Option<Nic>,
}

impl Network {
    /// Sending is free and the NIC unlimited (the behaviour before the model had a network).
    pub const FREE: Network = Network { send: CpuCost::FREE, nic: None };

    /// The CPU time of sending a frame of `bytes` bytes.
    pub fn send_cpu(&self, bytes: usize) -> Duration {
        self.send.charge(bytes)
    }

    /// The NIC time of a frame of `bytes` bytes (either direction; zero without a NIC).
    pub fn nic_time(&self, bytes: usize) -> Duration {
        self.nic.map_or(Duration::ZERO, |nic| nic.time(bytes))
    }

    /// True when sending and the NIC cost nothing.
    pub fn is_free(&self) -> bool {
        self.send.is_free() && self.nic.is_none()
    }
}

impl Default for Network {
    fn default() -> Self {
        Network::FREE
    }
}

/// How much accepted, unfinished work a node tolerates before it refuses new client requests
/// (Cassandra: `OverloadedException` past `native_transport_max_concurrent_requests_in_bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// The longest backlog ([`super::NodeClock::backlog`]) at which a client request is still
    /// accepted (`None`: every request is accepted).
    pub max_backlog: Option<Duration>,
}

impl Admission {
    /// Every request is accepted (the behaviour before the model bounded backlogs).
    pub const UNBOUNDED: Admission = Admission { max_backlog: None };

    /// Whether a client request arriving while the node's backlog is `backlog` is accepted:
    /// yes up to and including the bound.
    pub fn admits(&self, backlog: Duration) -> bool {
        self.max_backlog.is_none_or(|bound| backlog <= bound)
    }
}

impl Default for Admission {
    fn default() -> Self {
        Admission::UNBOUNDED
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nic_time_is_bytes_over_bandwidth_rounded_up() {
        let nic = Nic::from_mbit_per_s(8); // 1,000,000 bytes/s: 1 us per byte
        assert_eq!(nic.bytes_per_sec, 1_000_000);
        assert_eq!(nic.time(0), Duration::ZERO);
        assert_eq!(nic.time(1_500), Duration::from_micros(1_500));
        let ten_gbit = Nic::from_mbit_per_s(10_000);
        assert_eq!(ten_gbit.time(1), Duration::from_nanos(1)); // 0.8 ns rounds up
        assert_eq!(ten_gbit.time(1_250), Duration::from_nanos(1_000));
        assert_eq!(Nic { bytes_per_sec: 1 }.time(usize::MAX), Duration::from_nanos(u64::MAX));
        assert_eq!(Nic::from_mbit_per_s(0).bytes_per_sec, 1);
    }

    #[test]
    fn free_network_costs_nothing() {
        assert!(Network::FREE.is_free() && Network::default().is_free());
        assert_eq!(Network::FREE.nic_time(1 << 20), Duration::ZERO);
        assert_eq!(Network::FREE.send_cpu(1 << 20), Duration::ZERO);
        let net = Network {
            send: CpuCost { per_message: Duration::from_micros(3), per_byte: Duration::from_nanos(1) },
            nic: Some(Nic::from_mbit_per_s(8)),
        };
        assert!(!net.is_free());
        assert_eq!(net.send_cpu(1_000), Duration::from_micros(4));
        assert_eq!(net.nic_time(10), Duration::from_micros(10));
    }

    #[test]
    fn admission_refuses_only_past_the_bound() {
        let bound = Admission { max_backlog: Some(Duration::from_millis(5)) };
        assert!(bound.admits(Duration::ZERO));
        assert!(bound.admits(Duration::from_millis(5)));
        assert!(!bound.admits(Duration::from_millis(5) + Duration::from_nanos(1)));
        assert!(Admission::UNBOUNDED.admits(Duration::MAX));
    }
}
