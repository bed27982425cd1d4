//! The capacity model's default figures for the network and admission, each with its source,
//! in one place. (The receive cost's and the disk's figures are the scaling experiment's
//! `[capacity]` table and [`crate::disk_cost::DiskCost::MEASURED`], each documented there.)
//!
//! - [`SEND_PER_MESSAGE`], [`SEND_PER_BYTE`]: CPU per frame sent. Calibrated on this machine
//!   (2 vCPUs of an AMD EPYC, Linux 6.18) by `lab bench messages`
//!   (`crates/engines/src/messages.rs`): a `write` of a framed message on a loopback TCP
//!   socket with `TCP_NODELAY`, the reader draining the other end on another thread. Medians
//!   of 7 rounds of 100,000 writes: 1.10 us per 64-byte frame (rounds 0.71-1.43 us), 3.41 us
//!   per 4 KiB frame, a slope of 0.57 ns per byte (5 rounds of 20,000: 0.99 us, 3.03 us,
//!   0.51 ns). We charge 1 us per frame and 1 ns per byte (the slope rounded up to the whole
//!   nanosecond the experiment files take). The encoding of what a node sends is already in
//!   the receive cost (the timed node step encodes its effects: 1.0 us per frame received,
//!   65 bytes on average, same runs), so the send cost is the system call and the copy alone.
//! - [`NIC_MBIT_PER_S`]: 10 Gbit/s per direction: AWS's general-purpose `m5` instances of
//!   the sizes a Cassandra node usually gets (`m5.xlarge` to `m5.4xlarge`) list "Up to 10
//!   Gigabit" network performance (AWS, "Amazon EC2 M5 Instances", instance table), and the
//!   storage-optimised `i3.2xlarge`/`i3.4xlarge` DataStax recommended for Cassandra list "Up
//!   to 10 Gigabit" as well.
//! - [`ADMISSION_BACKLOG`]: 2 s, Cassandra's default `write_request_timeout` (cassandra.yaml:
//!   `write_request_timeout: 2000ms`). Work queued longer than that is worthless to the
//!   client: Cassandra drops mutations that waited past their timeout (the "dropped MUTATION
//!   messages" of `MessagingService`) and refuses new native-transport requests past its
//!   in-flight limit (`native_transport_max_concurrent_requests_in_bytes`, a tenth of the
//!   heap by default, answered with `OverloadedException`). The model bounds time, not bytes:
//!   a byte bound means a different wait on every machine, the timeout is what the client
//!   sees.

use std::time::Duration;

use super::network::{Admission, Network, Nic};
use super::CpuCost;

/// CPU per frame sent (see the module docs).
pub const SEND_PER_MESSAGE: Duration = Duration::from_nanos(1_000);
/// CPU per byte of a frame sent (see the module docs).
pub const SEND_PER_BYTE: Duration = Duration::from_nanos(1);
/// NIC bandwidth per direction, megabits per second (see the module docs).
pub const NIC_MBIT_PER_S: u64 = 10_000;
/// The longest backlog at which a node still accepts a client request (see the module docs).
pub const ADMISSION_BACKLOG: Duration = Duration::from_millis(2_000);

/// The default send cost.
pub const SEND: CpuCost = CpuCost { per_message: SEND_PER_MESSAGE, per_byte: SEND_PER_BYTE };

/// The default network: [`SEND`] and a NIC of [`NIC_MBIT_PER_S`].
pub fn network() -> Network {
    Network { send: SEND, nic: Some(Nic::from_mbit_per_s(NIC_MBIT_PER_S)) }
}

/// The default admission bound: [`ADMISSION_BACKLOG`].
pub const ADMISSION: Admission = Admission { max_backlog: Some(ADMISSION_BACKLOG) };
