//! Faults as data: what the nemesis does ([`Fault`]) and when ([`Schedule`]).
//!
//! Nothing here touches a simulation; `apply` carries faults out in the step loop. Host names
//! are checked against the simulation's hosts before a run starts (see
//! [`SimConfig::validate_hosts`](crate::SimConfig::validate_hosts)).

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One thing the nemesis does to the simulated cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Fault {
    /// Drops every message between each host of `left` and each host of `right`, both ways,
    /// and refuses new connections between them. Partitions accumulate until [`Fault::Heal`].
    Partition {
        /// One side.
        left: Vec<String>,
        /// The other side.
        right: Vec<String>,
    },
    /// Repairs every network fault: the links a [`Fault::Partition`] or
    /// [`Fault::PartitionOneWay`] cut, and the links [`Fault::Slow`] or [`Fault::Flaky`] changed
    /// (back to the run's configured latency range and no failures).
    Heal,
    /// Power loss on a server host: its tasks die, its connections close, its unsynced disk
    /// writes are lost (turmoil's `Sim::crash`). It stays down until [`Fault::Restart`].
    Crash(String),
    /// Kills a server host's process (SIGKILL), the machine and its OS staying up: its tasks die
    /// and its connections close, but everything it wrote survives, synced or not (the OS page
    /// cache is the machine's, not the process's). While down, nothing listens on the host:
    /// connections are refused. It stays down until [`Fault::Restart`]; a [`Fault::Crash`] in
    /// the meantime is a power loss of the machine (its unsynced writes are then lost).
    Kill(String),
    /// Starts a server host's software again (after a crash: recovery from disk; on a running
    /// host: a process restart that keeps the page cache).
    Restart(String),
    /// Sets a server host's clock to run `offset_ms` ahead of simulated time (negative:
    /// behind). turmoil has no clock skew, so the system under test applies it to its own
    /// clocks ([`System::skew_clock`](crate::System::skew_clock)).
    Skew {
        /// The host whose clock moves.
        host: String,
        /// The offset from simulated time, in milliseconds.
        offset_ms: i64,
    },
    /// Drops every message from each host of `from` to each host of `to`; the other direction
    /// still works. Over turmoil TCP a connection from `from` to `to` is refused, and one from
    /// `to` to `from` opens (turmoil acknowledges a connection outside the network) but its
    /// requests arrive and their replies are lost. Lasts until [`Fault::Heal`].
    PartitionOneWay {
        /// The hosts whose messages are dropped.
        from: Vec<String>,
        /// The hosts that no longer hear from `from`.
        to: Vec<String>,
    },
    /// Every message between a host of `left` and a host of `right`, both ways, takes exactly
    /// `latency_ms` (instead of the run's latency range). Lasts until [`Fault::Heal`].
    Slow {
        /// One side.
        left: Vec<String>,
        /// The other side.
        right: Vec<String>,
        /// The latency of each message, in milliseconds.
        latency_ms: u64,
    },
    /// The links between `left` and `right` fail: each message on one of them, either way,
    /// breaks the link with probability `fail_ppm` per million. turmoil's link failure is not
    /// independent packet loss: it drops the message and every message in flight on the link
    /// (both ways), and the next message sent repairs it (turmoil's repair rate is 1). TCP has
    /// no retransmission, so every stream that lost a segment stalls for good: its calls time
    /// out (indeterminate) and the client reconnects; a lost connection request is a refused
    /// connection (the call fails, certainly not executed). Even at 1 000 000 ppm every other
    /// message gets through. Measured with the harness's toy register server (3 processes on
    /// the flaky client host, 200 ms timeouts, 2 s of fault; `flaky_measurement` in
    /// `tests/nemesis.rs`): 1 000 ppm: 1 of 389 calls indeterminate; 10 000 ppm: 8 of 274;
    /// 50 000 ppm: 17 of 98; 1 000 000 ppm: none of 33 succeeds. Lasts until [`Fault::Heal`].
    Flaky {
        /// One side.
        left: Vec<String>,
        /// The other side.
        right: Vec<String>,
        /// The probability that a message breaks its link, in parts per million.
        fail_ppm: u32,
    },
    /// Jepsen's strobing clock: the server host's clock jumps to `+offset_ms` at once, then
    /// alternates between `-offset_ms` and `+offset_ms` every `period_ms`, through
    /// [`System::skew_clock`](crate::System::skew_clock), until a [`Fault::Skew`] of the same
    /// host (zero: back to true time) or the harness's recovery.
    Strobe {
        /// The host whose clock strobes.
        host: String,
        /// The offset either way, in milliseconds.
        offset_ms: i64,
        /// Time between flips, in milliseconds.
        period_ms: u64,
    },
}

impl Fault {
    /// A partition between the hosts of `left` and the hosts of `right`.
    pub fn partition<L, R>(left: L, right: R) -> Self
    where
        L: IntoIterator,
        L::Item: Into<String>,
        R: IntoIterator,
        R::Item: Into<String>,
    {
        Fault::Partition { left: hosts(left), right: hosts(right) }
    }

    /// A one-way partition: messages from the hosts of `from` to the hosts of `to` are dropped.
    pub fn partition_one_way<F, T>(from: F, to: T) -> Self
    where
        F: IntoIterator,
        F::Item: Into<String>,
        T: IntoIterator,
        T::Item: Into<String>,
    {
        Fault::PartitionOneWay { from: hosts(from), to: hosts(to) }
    }

    /// The links between `left` and `right` slowed to `latency_ms` per message.
    pub fn slow<L, R>(left: L, right: R, latency_ms: u64) -> Self
    where
        L: IntoIterator,
        L::Item: Into<String>,
        R: IntoIterator,
        R::Item: Into<String>,
    {
        Fault::Slow { left: hosts(left), right: hosts(right), latency_ms }
    }

    /// The links between `left` and `right` failing with probability `fail_ppm` per million
    /// messages.
    pub fn flaky<L, R>(left: L, right: R, fail_ppm: u32) -> Self
    where
        L: IntoIterator,
        L::Item: Into<String>,
        R: IntoIterator,
        R::Item: Into<String>,
    {
        Fault::Flaky { left: hosts(left), right: hosts(right), fail_ppm }
    }

    /// A strobing clock on `host`: `±offset_ms`, flipping every `period_ms`.
    pub fn strobe(host: impl Into<String>, offset_ms: i64, period_ms: u64) -> Self {
        Fault::Strobe { host: host.into(), offset_ms, period_ms }
    }

    /// A crash of `host`.
    pub fn crash(host: impl Into<String>) -> Self {
        Fault::Crash(host.into())
    }

    /// A kill of `host`'s process (its writes survive).
    pub fn kill(host: impl Into<String>) -> Self {
        Fault::Kill(host.into())
    }

    /// A restart of `host`.
    pub fn restart(host: impl Into<String>) -> Self {
        Fault::Restart(host.into())
    }

    /// A clock skew of `offset_ms` on `host`.
    pub fn skew(host: impl Into<String>, offset_ms: i64) -> Self {
        Fault::Skew { host: host.into(), offset_ms }
    }

    /// Every host this fault names, in order of mention.
    pub fn hosts(&self) -> Vec<&str> {
        match self {
            Fault::Partition { left, right } | Fault::Slow { left, right, .. } | Fault::Flaky { left, right, .. } => {
                left.iter().chain(right).map(String::as_str).collect()
            }
            Fault::PartitionOneWay { from, to } => from.iter().chain(to).map(String::as_str).collect(),
            Fault::Heal => Vec::new(),
            Fault::Crash(host)
            | Fault::Kill(host)
            | Fault::Restart(host)
            | Fault::Skew { host, .. }
            | Fault::Strobe { host, .. } => {
                vec![host.as_str()]
            }
        }
    }

    /// This fault with every host name passed through `f` (for a placeholder such as
    /// [`crate::LEADER`], resolved when the fault fires).
    pub fn map_hosts(&self, f: impl Fn(&str) -> String) -> Fault {
        let all = |hosts: &[String]| hosts.iter().map(|h| f(h)).collect::<Vec<_>>();
        match self {
            Fault::Partition { left, right } => Fault::Partition { left: all(left), right: all(right) },
            Fault::Slow { left, right, latency_ms } => {
                Fault::Slow { left: all(left), right: all(right), latency_ms: *latency_ms }
            }
            Fault::Flaky { left, right, fail_ppm } => {
                Fault::Flaky { left: all(left), right: all(right), fail_ppm: *fail_ppm }
            }
            Fault::PartitionOneWay { from, to } => Fault::PartitionOneWay { from: all(from), to: all(to) },
            Fault::Heal => Fault::Heal,
            Fault::Crash(host) => Fault::Crash(f(host)),
            Fault::Kill(host) => Fault::Kill(f(host)),
            Fault::Restart(host) => Fault::Restart(f(host)),
            Fault::Skew { host, offset_ms } => Fault::Skew { host: f(host), offset_ms: *offset_ms },
            Fault::Strobe { host, offset_ms, period_ms } => {
                Fault::Strobe { host: f(host), offset_ms: *offset_ms, period_ms: *period_ms }
            }
        }
    }

    /// The two sides of a fault that acts on links (partition, one-way partition, slow, flaky):
    /// `(left, right)`, or `(from, to)`.
    pub fn sides(&self) -> Option<(&[String], &[String])> {
        match self {
            Fault::Partition { left, right } | Fault::Slow { left, right, .. } | Fault::Flaky { left, right, .. } => {
                Some((left, right))
            }
            Fault::PartitionOneWay { from, to } => Some((from, to)),
            Fault::Heal
            | Fault::Crash(_)
            | Fault::Kill(_)
            | Fault::Restart(_)
            | Fault::Skew { .. }
            | Fault::Strobe { .. } => None,
        }
    }

    /// The name nemesis events use for this fault: `partition`, `heal`, `crash`, `kill`, `restart`,
    /// `skew`, `partition-one-way`, `slow`, `flaky`, `strobe`.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Partition { .. } => "partition",
            Fault::Heal => "heal",
            Fault::Crash(_) => "crash",
            Fault::Kill(_) => "kill",
            Fault::Restart(_) => "restart",
            Fault::Skew { .. } => "skew",
            Fault::PartitionOneWay { .. } => "partition-one-way",
            Fault::Slow { .. } => "slow",
            Fault::Flaky { .. } => "flaky",
            Fault::Strobe { .. } => "strobe",
        }
    }
}

/// `partition [a b] | [c]`, `heal`, `crash db`, `kill db`, `restart db`, `skew n2 +200ms`,
/// `partition-one-way [a] -> [b c]`, `slow [a] | [b] 200ms`, `flaky [a] | [b] 1000ppm`,
/// `strobe n2 ±200ms every 50ms`.
impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Partition { left, right } => write!(f, "partition [{}] | [{}]", left.join(" "), right.join(" ")),
            Fault::Heal => f.write_str("heal"),
            Fault::Crash(host) => write!(f, "crash {host}"),
            Fault::Kill(host) => write!(f, "kill {host}"),
            Fault::Restart(host) => write!(f, "restart {host}"),
            Fault::Skew { host, offset_ms } => write!(f, "skew {host} {offset_ms:+}ms"),
            Fault::PartitionOneWay { from, to } => {
                write!(f, "partition-one-way [{}] -> [{}]", from.join(" "), to.join(" "))
            }
            Fault::Slow { left, right, latency_ms } => {
                write!(f, "slow [{}] | [{}] {latency_ms}ms", left.join(" "), right.join(" "))
            }
            Fault::Flaky { left, right, fail_ppm } => {
                write!(f, "flaky [{}] | [{}] {fail_ppm}ppm", left.join(" "), right.join(" "))
            }
            Fault::Strobe { host, offset_ms, period_ms } => {
                write!(f, "strobe {host} ±{}ms every {period_ms}ms", offset_ms.unsigned_abs())
            }
        }
    }
}

/// Host names from anything that turns into strings.
fn hosts<I>(hosts: I) -> Vec<String>
where
    I: IntoIterator,
    I::Item: Into<String>,
{
    hosts.into_iter().map(Into::into).collect()
}

/// Faults with the simulated time at which each is applied, kept sorted by time. Faults at
/// the same time keep the order in which they were added.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<(Duration, Fault)>", into = "Vec<(Duration, Fault)>")]
pub struct Schedule {
    entries: Vec<(Duration, Fault)>,
}

impl Schedule {
    /// No faults.
    pub fn new() -> Self {
        Self::default()
    }

    /// This schedule with `fault` added at `at` (builder style).
    pub fn at(mut self, at: Duration, fault: Fault) -> Self {
        self.push(at, fault);
        self
    }

    /// Adds `fault` at `at`, after every fault already scheduled at or before `at`.
    pub fn push(&mut self, at: Duration, fault: Fault) {
        let index = self.entries.partition_point(|(t, _)| *t <= at);
        self.entries.insert(index, (at, fault));
    }

    /// The faults in the order they are applied.
    pub fn entries(&self) -> &[(Duration, Fault)] {
        &self.entries
    }

    /// Iterates over the faults in the order they are applied.
    pub fn iter(&self) -> std::slice::Iter<'_, (Duration, Fault)> {
        self.entries.iter()
    }

    /// Number of faults.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no faults.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every host some fault names.
    pub fn hosts(&self) -> BTreeSet<&str> {
        self.entries.iter().flat_map(|(_, fault)| fault.hosts()).collect()
    }
}

impl FromIterator<(Duration, Fault)> for Schedule {
    fn from_iter<I: IntoIterator<Item = (Duration, Fault)>>(iter: I) -> Self {
        let mut schedule = Schedule::new();
        for (at, fault) in iter {
            schedule.push(at, fault);
        }
        schedule
    }
}

impl From<Vec<(Duration, Fault)>> for Schedule {
    fn from(entries: Vec<(Duration, Fault)>) -> Self {
        entries.into_iter().collect()
    }
}

impl From<Schedule> for Vec<(Duration, Fault)> {
    fn from(schedule: Schedule) -> Self {
        schedule.entries
    }
}

impl<'a> IntoIterator for &'a Schedule {
    type Item = &'a (Duration, Fault);
    type IntoIter = std::slice::Iter<'a, (Duration, Fault)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn schedule_sorts_by_time_and_keeps_ties_in_order() {
        let schedule = Schedule::new()
            .at(ms(300), Fault::Heal)
            .at(ms(100), Fault::crash("a"))
            .at(ms(300), Fault::restart("a"))
            .at(ms(100), Fault::crash("b"));
        let got: Vec<String> = schedule.iter().map(|(t, f)| format!("{}ms {f}", t.as_millis())).collect();
        assert_eq!(got, ["100ms crash a", "100ms crash b", "300ms heal", "300ms restart a"]);
        let collected: Schedule = schedule.entries().iter().rev().cloned().collect();
        let order: Vec<&str> = collected.iter().map(|(_, f)| f.name()).collect();
        assert_eq!(order, ["crash", "crash", "restart", "heal"], "reversed input keeps reversed tie order");
    }

    #[test]
    fn hosts_are_collected() {
        let schedule = Schedule::new().at(ms(1), Fault::partition(["n1", "n2"], ["n3"])).at(ms(2), Fault::crash("n4"));
        assert_eq!(schedule.hosts().into_iter().collect::<Vec<_>>(), ["n1", "n2", "n3", "n4"]);
        assert_eq!(Fault::partition(["a"], ["b", "c"]).to_string(), "partition [a] | [b c]");
        let strobe = Schedule::new().at(ms(1), Fault::strobe("n5", 1, 1)).at(ms(2), Fault::slow(["a"], ["b"], 1));
        assert_eq!(strobe.hosts().into_iter().collect::<Vec<_>>(), ["a", "b", "n5"]);
    }

    #[test]
    fn new_faults_display_and_name_themselves() {
        let cases = [
            (Fault::partition_one_way(["a"], ["b", "c"]), "partition-one-way [a] -> [b c]", "partition-one-way"),
            (Fault::slow(["a"], ["b"], 200), "slow [a] | [b] 200ms", "slow"),
            (Fault::flaky(["a"], ["b"], 1000), "flaky [a] | [b] 1000ppm", "flaky"),
            (Fault::strobe("n2", -200, 50), "strobe n2 ±200ms every 50ms", "strobe"),
            (Fault::skew("n2", 200), "skew n2 +200ms", "skew"),
        ];
        for (fault, shown, name) in cases {
            assert_eq!((fault.to_string().as_str(), fault.name()), (shown, name));
        }
        assert_eq!(Fault::partition_one_way(["a"], ["b", "c"]).hosts(), ["a", "b", "c"]);
        assert_eq!(Fault::strobe("n2", 1, 1).hosts(), ["n2"]);
        let from = ["a".to_owned()];
        let to = ["b".to_owned(), "c".to_owned()];
        assert_eq!(Fault::partition_one_way(["a"], ["b", "c"]).sides(), Some((&from[..], &to[..])));
        assert_eq!(Fault::flaky(["a"], ["b", "c"], 5).sides(), Some((&from[..], &to[..])));
        assert_eq!(Fault::strobe("n2", 1, 1).sides(), None);
    }

    #[test]
    fn new_faults_round_trip_through_serde() {
        let schedule = Schedule::new()
            .at(ms(1), Fault::partition_one_way(["a"], ["b"]))
            .at(ms(2), Fault::slow(["a"], ["b"], 200))
            .at(ms(3), Fault::flaky(["a"], ["b"], 1000))
            .at(ms(4), Fault::strobe("n2", 200, 50));
        let json = serde_json::to_string(&schedule).expect("serializes");
        assert!(json.contains("\"partition-one-way\"") && json.contains("\"latency_ms\":200"), "{json}");
        assert_eq!(serde_json::from_str::<Schedule>(&json).expect("parses"), schedule);
    }
}
