//! A node's clock: simulated time plus an offset the fault schedule can change.
//!
//! Clock skew is a fault: `set_offset` moves one node's clock forwards or backwards while the
//! run goes on. Timestamps are microseconds (Cassandra's unit). Like Cassandra's coordinator
//! (`ClientState.getTimestamp`), a node never issues the same timestamp twice: a timestamp is
//! the skewed clock or the previous one plus one, whichever is larger. That keeps versions
//! `(timestamp, node)` unique per node while the process lives; across nodes, a clock behind
//! the others still issues older timestamps, so a later write can lose (last-write-wins).

use std::time::Duration;

/// One node's clock.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeClock {
    offset_ns: i64,
    last_us: u64,
}

impl NodeClock {
    /// A clock `offset_ns` nanoseconds ahead of simulated time (negative: behind).
    pub fn new(offset_ns: i64) -> Self {
        Self { offset_ns, last_us: 0 }
    }

    /// Changes the offset from now on (a clock-skew fault, or NTP stepping the clock).
    pub fn set_offset(&mut self, offset_ns: i64) {
        self.offset_ns = offset_ns;
    }

    /// The current offset in nanoseconds.
    pub fn offset_ns(&self) -> i64 {
        self.offset_ns
    }

    /// What the clock reads at simulated time `now`, in microseconds (0 if skewed below 0).
    pub fn read_us(&self, now: Duration) -> u64 {
        let ns = i128::try_from(now.as_nanos()).unwrap_or(i128::MAX) + i128::from(self.offset_ns);
        u64::try_from((ns / 1000).max(0)).unwrap_or(u64::MAX)
    }

    /// A fresh timestamp for a write coordinated at `now`: the clock, or one more than the
    /// last timestamp issued when the clock has not moved past it.
    pub fn next_timestamp(&mut self, now: Duration) -> u64 {
        self.issue_at_least(self.read_us(now))
    }

    /// A fresh timestamp of at least `floor` and after every timestamp issued before (ABD
    /// writers need one above the highest version a quorum reported).
    pub fn issue_at_least(&mut self, floor: u64) -> u64 {
        let ts = floor.max(self.last_us.saturating_add(1));
        self.last_us = ts;
        ts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_shifts_readings() {
        let mut clock = NodeClock::new(0);
        assert_eq!(clock.read_us(Duration::from_millis(5)), 5_000);
        clock.set_offset(-2_000_000);
        assert_eq!(clock.read_us(Duration::from_millis(5)), 3_000);
        clock.set_offset(-10_000_000);
        assert_eq!(clock.read_us(Duration::from_millis(5)), 0);
        clock.set_offset(1_500);
        assert_eq!(clock.read_us(Duration::from_millis(5)), 5_001);
    }

    #[test]
    fn timestamps_never_repeat() {
        let mut clock = NodeClock::new(0);
        let now = Duration::from_millis(1);
        assert_eq!(clock.next_timestamp(now), 1_000);
        assert_eq!(clock.next_timestamp(now), 1_001);
        clock.set_offset(-500_000);
        assert_eq!(clock.next_timestamp(now), 1_002);
        assert_eq!(clock.next_timestamp(Duration::from_millis(3)), 2_500);
        assert_eq!(clock.issue_at_least(10), 2_501);
        assert_eq!(clock.issue_at_least(9_000), 9_000);
    }
}
