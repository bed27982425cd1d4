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
    /// Repairs every link a [`Fault::Partition`] cut.
    Heal,
    /// Kills a server host: its tasks die, its connections close, its unsynced disk writes are
    /// lost. It stays down until [`Fault::Restart`].
    Crash(String),
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
        Fault::Partition {
            left: left.into_iter().map(Into::into).collect(),
            right: right.into_iter().map(Into::into).collect(),
        }
    }

    /// A crash of `host`.
    pub fn crash(host: impl Into<String>) -> Self {
        Fault::Crash(host.into())
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
            Fault::Partition { left, right } => left.iter().chain(right).map(String::as_str).collect(),
            Fault::Heal => Vec::new(),
            Fault::Crash(host) | Fault::Restart(host) | Fault::Skew { host, .. } => vec![host.as_str()],
        }
    }

    /// The name nemesis events use for this fault: `partition`, `heal`, `crash`, `restart`.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Partition { .. } => "partition",
            Fault::Heal => "heal",
            Fault::Crash(_) => "crash",
            Fault::Restart(_) => "restart",
            Fault::Skew { .. } => "skew",
        }
    }
}

/// `partition [a b] | [c]`, `heal`, `crash db`, `restart db`.
impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::Partition { left, right } => write!(f, "partition [{}] | [{}]", left.join(" "), right.join(" ")),
            Fault::Heal => f.write_str("heal"),
            Fault::Crash(host) => write!(f, "crash {host}"),
            Fault::Restart(host) => write!(f, "restart {host}"),
            Fault::Skew { host, offset_ms } => write!(f, "skew {host} {offset_ms:+}ms"),
        }
    }
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
    }
}
