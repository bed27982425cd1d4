//! The per-node capacity model, as the servers use it inside a turmoil host.
//!
//! The model itself is pure and lives in [`base::capacity`] ([`CpuCost`], [`Capacity`],
//! [`Overlap`] and the timelines); it is re-exported here under its old paths. What this module
//! adds is the adapter: [`NodeClock`] takes the runtime's `now` (a [`tokio::time::Instant`],
//! which the server reads) and converts it to the pure model's time, a [`Duration`] of model
//! time (see [`crate::time`]) since the first instant the clock booked, and converts the
//! release time back.
//!
//! Why the first booked instant is the origin: a node's clock lives for one incarnation of its
//! server, inside one host runtime, whose `Instant`s only move forward; every later `now` is at
//! or after the first, so the conversion is exact (nanosecond arithmetic, no rounding) and the
//! timelines book exactly what they booked on `Instant`s.
//!
//! [`UsageLog`] is the counters ([`Usage`]) the servers of one system share: each node adds
//! what it books, and the system hands a copy ([`ClusterUsage`]) to the run's result
//! ([`crate::System::usage`]).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use tokio::time::Instant;

pub use base::capacity::{
    ceiling, defaults, Admission, Capacity, Ceiling, ClusterUsage, CpuCost, Demand, Network, Nic, Overlap, Resource,
    Usage,
};

/// One node's CPU and disk timelines ([`base::capacity::NodeClock`]) on the runtime's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeClock {
    /// The instant that is time zero for the model: the first `now` booked.
    origin: Option<Instant>,
    model: base::capacity::NodeClock,
}

impl NodeClock {
    /// An idle node.
    pub fn new(overlap: Overlap) -> Self {
        NodeClock { origin: None, model: base::capacity::NodeClock::new(overlap) }
    }

    /// [`base::capacity::NodeClock::book`] at `now`: when the call's effects may go out, or
    /// `None` for at once.
    pub fn book(&mut self, now: Instant, cpu: Duration, disk: Duration) -> Option<Instant> {
        let (origin, since) = self.since_origin(now);
        self.model.book(since, cpu, disk).map(|done| at(origin, done))
    }

    /// [`base::capacity::NodeClock::book_received`] at `now`: a frame that occupies the NIC's
    /// receive side for `rx` before its call; when the call's effects may go out (`None`: at
    /// once).
    pub fn book_received(&mut self, now: Instant, rx: Duration, cpu: Duration, disk: Duration) -> Option<Instant> {
        let (origin, since) = self.since_origin(now);
        self.model.book_received(since, rx, cpu, disk).map(|done| at(origin, done))
    }

    /// [`base::capacity::NodeClock::book_send`] at `now`: when the frame has left the node
    /// (`None`: at once).
    pub fn book_send(&mut self, now: Instant, cpu: Duration, tx: Duration) -> Option<Instant> {
        let (origin, since) = self.since_origin(now);
        self.model.book_send(since, cpu, tx).map(|done| at(origin, done))
    }

    /// Sends a frame of `bytes` bytes at `now` over `network`: books its send CPU, then the
    /// NIC's transmit side ([`NodeClock::book_send`]), and counts it in `usage`. Returns when
    /// the frame has left the node (`None`: at once).
    pub fn send_frame(&mut self, now: Instant, network: &Network, bytes: usize, usage: &mut Usage) -> Option<Instant> {
        let (cpu, tx) = (network.send_cpu(bytes), network.nic_time(bytes));
        usage.count_sent(bytes, cpu, tx);
        self.book_send(now, cpu, tx)
    }

    /// [`base::capacity::NodeClock::backlog`] at `now`, in model time.
    pub fn backlog(&mut self, now: Instant) -> Duration {
        let (_, since) = self.since_origin(now);
        self.model.backlog(since)
    }

    /// [`base::capacity::NodeClock::book_disk`] at `now`: when the background disk work is
    /// done, `None` for at once.
    pub fn book_disk(&mut self, now: Instant, disk: Duration) -> Option<Instant> {
        let (origin, since) = self.since_origin(now);
        self.model.book_disk(since, disk).map(|done| at(origin, done))
    }

    /// The origin (fixed on first use) and `now` as model time since it.
    fn since_origin(&mut self, now: Instant) -> (Instant, Duration) {
        let origin = *self.origin.get_or_insert(now);
        (origin, crate::time::to_model(now.saturating_duration_since(origin)))
    }
}

/// The counters the servers of one system share (one simulation runs on one thread): each
/// node adds what it books under its host name, over all its incarnations.
#[derive(Debug, Clone, Default)]
pub struct UsageLog {
    usage: Rc<RefCell<ClusterUsage>>,
}

impl UsageLog {
    /// Adds to node `host`'s counters (which `add` changes), noting how it combines CPU and
    /// disk.
    pub fn record(&self, host: &str, overlap: Overlap, add: impl FnOnce(&mut Usage)) {
        let mut usage = self.usage.borrow_mut();
        usage.overlap = Some(overlap);
        match usage.nodes.get_mut(host) {
            Some(node) => add(node),
            None => {
                let mut node = Usage::default();
                add(&mut node);
                usage.nodes.insert(host.to_owned(), node);
            }
        }
    }

    /// A copy of the counters so far.
    pub fn snapshot(&self) -> ClusterUsage {
        self.usage.borrow().clone()
    }
}

/// The instant `since` (model time) after `origin`; an absurd time (a saturated cost) is capped
/// a year of simulated time on rather than overflow the clock.
fn at(origin: Instant, since: Duration) -> Instant {
    origin.checked_add(crate::time::to_sim(since)).unwrap_or(origin + Duration::from_secs(365 * 24 * 3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    #[test]
    fn books_on_instants_as_the_model_books_on_durations() {
        let t0 = Instant::now();
        let mut clock = NodeClock::new(Overlap::Pipelined);
        let mut model = base::capacity::NodeClock::new(Overlap::Pipelined);
        let base = us(3);
        for (at, cpu, disk) in [(3u64, 10u64, 100u64), (13, 10, 100), (13, 10, 0), (18, 0, 0), (43, 0, 0)] {
            let expected = model.book(us(at) - base, us(cpu), us(disk)).map(|d| t0 + base + d);
            assert_eq!(clock.book(t0 + us(at), us(cpu), us(disk)), expected, "at {at}");
        }
        let expected = model.book_disk(us(40), us(5)).map(|d| t0 + base + d);
        assert_eq!(clock.book_disk(t0 + us(43), us(5)), expected);
        assert_eq!(clock.book_disk(t0 + us(43), Duration::ZERO), None);
        let expected = model.book_send(us(40), us(2), us(50)).map(|d| t0 + base + d);
        assert_eq!(clock.book_send(t0 + us(43), us(2), us(50)), expected);
        let expected = model.book_received(us(41), us(7), us(2), Duration::ZERO).map(|d| t0 + base + d);
        assert_eq!(clock.book_received(t0 + us(44), us(7), us(2), Duration::ZERO), expected);
        assert_eq!(clock.backlog(t0 + us(44)), model.backlog(us(41)));
    }

    #[test]
    fn the_usage_log_sums_by_host() {
        let log = UsageLog::default();
        let shared = log.clone();
        log.record("n2", Overlap::Pipelined, |u| u.sent += 2);
        shared.record("n1", Overlap::Pipelined, |u| u.cpu += us(5));
        shared.record("n2", Overlap::Pipelined, |u| u.sent += 1);
        let usage = log.snapshot();
        assert_eq!(usage.overlap, Some(Overlap::Pipelined));
        assert_eq!(usage.nodes.keys().map(String::as_str).collect::<Vec<_>>(), ["n1", "n2"]);
        assert_eq!(usage.nodes["n2"].sent, 3);
        assert_eq!(usage.total().cpu, us(5));
    }
}
