//! Carrying faults out: the [`Nemesis`] decides which turmoil [`Action`]s a [`Fault`] takes,
//! remembering what it cut, slowed, made flaky, crashed and skewed so that a heal (or the
//! harness's recovery) undoes exactly that; [`execute`] performs an action on the simulation.
//! Both run in the loop that calls `Sim::step`, the only place turmoil lets a host be crashed or
//! restarted. Strobing clocks are the one time-driven fault: [`Nemesis::tick`], called before
//! every step, flips them when due.
//!
//! [`fault_windows`] replays applied faults through the same memory, so "a fault is in effect"
//! means the same thing in a run and in its analysis.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;

use turmoil::Sim;

use crate::faults::Fault;
use crate::system::System;

/// One call on the simulation (or, for [`Action::Skew`], on the system under test).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// `sim.partition(a, b)`: both directions.
    Partition(String, String),
    /// `sim.repair(a, b)`: both directions healthy again.
    Repair(String, String),
    /// `sim.partition_oneway(from, to)`.
    PartitionOneWay(String, String),
    /// `sim.repair_oneway(from, to)`.
    RepairOneWay(String, String),
    /// `sim.set_link_latency(a, b, latency)`: minimum and maximum both `latency`.
    Latency(String, String, Duration),
    /// `sim.set_link_max_message_latency(a, b, latency)`.
    MaxLatency(String, String, Duration),
    /// `sim.set_link_fail_rate(a, b, ppm / 1e6)`.
    FailRate(String, String, u32),
    /// `sim.crash(host)`: power loss; the host's write-back tracker is cleared too.
    Crash(String),
    /// The host's process killed: marked down in the [`Down`] gate, then `sim.bounce(host)`, so
    /// its tasks die but its disk keeps every pending write (turmoil's page cache survives a
    /// bounce) and the OS's write-back tracker keeps them dirty; the restarted software waits
    /// at the gate until [`Action::Revive`].
    Kill(String),
    /// A killed host's process started again: the gate opened, then `sim.bounce(host)`.
    Revive(String),
    /// `sim.bounce(host)`.
    Bounce(String),
    /// The system's own clock of `host` set `offset_ms` from simulated time.
    Skew(String, i64),
}

/// A link between two hosts, the names in order (turmoil's links are undirected).
type Link = (String, String);

/// A clock that strobes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Strobe {
    /// The offset when ahead (its negation when behind).
    offset_ms: i64,
    /// Time between flips (at least a millisecond).
    period: Duration,
    /// When the next flip is due.
    next: Duration,
    /// True while the clock is at `+offset_ms`.
    ahead: bool,
}

impl Strobe {
    fn offset(&self) -> i64 {
        if self.ahead {
            self.offset_ms
        } else {
            self.offset_ms.saturating_neg()
        }
    }
}

/// The nemesis's memory: what it did to links, hosts and clocks, and the run's latency range
/// (what a heal restores slowed links to).
#[derive(Debug)]
pub(crate) struct Nemesis {
    /// The run's configured (minimum, maximum) message latency.
    latency: (Duration, Duration),
    /// Links cut both ways.
    cut: BTreeSet<Link>,
    /// Directions cut, as (from, to).
    one_way: BTreeSet<Link>,
    /// Links with a fixed latency.
    slow: BTreeSet<Link>,
    /// Links with a fail rate.
    flaky: BTreeSet<Link>,
    /// Crashed or killed hosts not restarted yet.
    crashed: BTreeSet<String>,
    /// Of `crashed`, the hosts whose process was killed (their restart opens the gate).
    killed: BTreeSet<String>,
    /// Hosts whose clock is off by a fixed offset.
    skewed: BTreeSet<String>,
    /// Hosts whose clock strobes.
    strobes: BTreeMap<String, Strobe>,
    /// The earliest flip due among `strobes`: lets [`Nemesis::tick`] return at once on almost
    /// every step.
    next_flip: Option<Duration>,
}

impl Nemesis {
    /// A nemesis that has done nothing yet, for a run whose links have `latency` (minimum,
    /// maximum).
    pub(crate) fn new(latency: (Duration, Duration)) -> Self {
        Self {
            latency,
            cut: BTreeSet::new(),
            one_way: BTreeSet::new(),
            slow: BTreeSet::new(),
            flaky: BTreeSet::new(),
            crashed: BTreeSet::new(),
            killed: BTreeSet::new(),
            skewed: BTreeSet::new(),
            strobes: BTreeMap::new(),
            next_flip: None,
        }
    }

    /// The actions that carry out `fault`, applied at simulated time `now`, updating the memory.
    pub(crate) fn apply(&mut self, fault: &Fault, now: Duration) -> Vec<Action> {
        match fault {
            Fault::Partition { left, right } => links(left, right)
                .filter(|link| self.cut.insert(link.clone()))
                .map(|(a, b)| Action::Partition(a, b))
                .collect(),
            Fault::PartitionOneWay { from, to } => directions(from, to)
                .filter(|direction| self.one_way.insert(direction.clone()))
                .map(|(a, b)| Action::PartitionOneWay(a, b))
                .collect(),
            // A slowed link is slowed again: the new latency replaces the old one.
            Fault::Slow { left, right, latency_ms } => links(left, right)
                .inspect(|link| {
                    self.slow.insert(link.clone());
                })
                .map(|(a, b)| Action::Latency(a, b, Duration::from_millis(*latency_ms)))
                .collect(),
            Fault::Flaky { left, right, fail_ppm } => links(left, right)
                .inspect(|link| {
                    self.flaky.insert(link.clone());
                })
                .map(|(a, b)| Action::FailRate(a, b, *fail_ppm))
                .collect(),
            Fault::Heal => self.heal(),
            Fault::Crash(host) => {
                self.crashed.insert(host.clone());
                vec![Action::Crash(host.clone())]
            }
            Fault::Kill(host) => {
                self.crashed.insert(host.clone());
                self.killed.insert(host.clone());
                vec![Action::Kill(host.clone())]
            }
            Fault::Restart(host) => {
                self.crashed.remove(host);
                if self.killed.remove(host) {
                    vec![Action::Revive(host.clone())]
                } else {
                    vec![Action::Bounce(host.clone())]
                }
            }
            // A fixed offset replaces a strobe: zero is "back to true time".
            Fault::Skew { host, offset_ms } => {
                if self.strobes.remove(host).is_some() {
                    self.next_flip = self.strobes.values().map(|s| s.next).min();
                }
                if *offset_ms == 0 {
                    self.skewed.remove(host);
                } else {
                    self.skewed.insert(host.clone());
                }
                vec![Action::Skew(host.clone(), *offset_ms)]
            }
            Fault::Strobe { host, offset_ms, period_ms } => {
                self.skewed.remove(host);
                // A zero period (refused by validation) would flip on every step.
                let period = Duration::from_millis((*period_ms).max(1));
                let strobe = Strobe { offset_ms: *offset_ms, period, next: now.saturating_add(period), ahead: true };
                self.strobes.insert(host.clone(), strobe);
                self.next_flip = self.strobes.values().map(|s| s.next).min();
                vec![Action::Skew(host.clone(), *offset_ms)]
            }
        }
    }

    /// Undoes every network fault. A flaky link is also repaired: turmoil may have broken it
    /// (a random partition) and only a message sent on it would otherwise mend it.
    fn heal(&mut self) -> Vec<Action> {
        let cut = std::mem::take(&mut self.cut);
        let one_way = std::mem::take(&mut self.one_way);
        let slow = std::mem::take(&mut self.slow);
        let flaky = std::mem::take(&mut self.flaky);
        let mut actions: Vec<Action> = flaky.iter().map(|(a, b)| Action::FailRate(a.clone(), b.clone(), 0)).collect();
        let repaired: BTreeSet<Link> = cut.into_iter().chain(flaky).collect();
        actions.extend(repaired.iter().map(|(a, b)| Action::Repair(a.clone(), b.clone())));
        // A repaired link is healthy both ways already.
        let one_way = one_way.into_iter().filter(|(from, to)| !repaired.contains(&ordered(from, to)));
        actions.extend(one_way.map(|(from, to)| Action::RepairOneWay(from, to)));
        let (min, max) = self.latency;
        for (a, b) in slow {
            // set_link_latency sets both bounds; the maximum is then raised back.
            actions.push(Action::Latency(a.clone(), b.clone(), min));
            actions.push(Action::MaxLatency(a, b, max));
        }
        actions
    }

    /// The clock flips due at `now`. Called before every step: returns at once (without
    /// allocating) unless a strobe is due.
    pub(crate) fn tick(&mut self, now: Duration) -> Vec<Action> {
        match self.next_flip {
            Some(due) if due <= now => {}
            _ => return Vec::new(),
        }
        let mut actions = Vec::new();
        for (host, strobe) in &mut self.strobes {
            if strobe.next > now {
                continue;
            }
            // Flips missed inside one long tick still count, so the clock stays on its grid.
            let flips = (now - strobe.next).as_nanos() / strobe.period.as_nanos() + 1;
            let skipped = u32::try_from(flips).unwrap_or(u32::MAX);
            strobe.next = strobe.next.saturating_add(strobe.period.saturating_mul(skipped));
            if flips % 2 == 1 {
                strobe.ahead = !strobe.ahead;
                actions.push(Action::Skew(host.clone(), strobe.offset()));
            }
        }
        self.next_flip = self.strobes.values().map(|s| s.next).min();
        actions
    }

    /// True when no fault is in effect: no link cut, slowed or flaky, no host down, every clock
    /// true.
    pub(crate) fn is_healthy(&self) -> bool {
        self.network_is_healthy() && self.crashed.is_empty() && self.skewed.is_empty() && self.strobes.is_empty()
    }

    fn network_is_healthy(&self) -> bool {
        self.cut.is_empty() && self.one_way.is_empty() && self.slow.is_empty() && self.flaky.is_empty()
    }

    /// The faults that return the cluster to health: a heal when some network fault is in
    /// effect, a restart of every crashed host and a zero skew for every skewed or strobing
    /// clock (in name order).
    pub(crate) fn recovery(&self) -> Vec<Fault> {
        let heal = (!self.network_is_healthy()).then_some(Fault::Heal);
        let clocks: BTreeSet<&String> = self.skewed.iter().chain(self.strobes.keys()).collect();
        heal.into_iter()
            .chain(self.crashed.iter().map(|h| Fault::Restart(h.clone())))
            .chain(clocks.into_iter().map(|h| Fault::skew(h.clone(), 0)))
            .collect()
    }
}

/// The pair in name order.
fn ordered(a: &str, b: &str) -> Link {
    if a <= b {
        (a.to_owned(), b.to_owned())
    } else {
        (b.to_owned(), a.to_owned())
    }
}

/// The links between each host of `left` and each host of `right`, in name order, skipping a
/// host paired with itself (turmoil has no such link).
fn links<'a>(left: &'a [String], right: &'a [String]) -> impl Iterator<Item = Link> + 'a {
    left.iter().flat_map(move |a| right.iter().filter(move |b| *b != a).map(move |b| ordered(a, b)))
}

/// The directions from each host of `from` to each host of `to`, skipping a host to itself.
fn directions<'a>(from: &'a [String], to: &'a [String]) -> impl Iterator<Item = Link> + 'a {
    from.iter().flat_map(move |a| to.iter().filter(move |b| *b != a).map(move |b| (a.clone(), b.clone())))
}

/// The maximal intervals `[start, end)` during which at least one fault was in effect (a cut,
/// one-way cut, slow or flaky link, a crashed host, a non-zero skew or a strobing clock), from
/// faults as applied ([`RunResult::faults`](crate::RunResult::faults), which ends with the
/// harness's recovery). Sorted and disjoint; faults applied at the same time count together (a
/// heal and a new cut at one instant leave no gap), and a fault undone at the instant it was
/// applied opens no interval. An interval still open after the last fault ends at
/// [`Duration::MAX`].
pub fn fault_windows(applied: &[(Duration, Fault)]) -> Vec<(Duration, Duration)> {
    let mut sorted: Vec<&(Duration, Fault)> = applied.iter().collect();
    // Stable: faults of one time keep their order.
    sorted.sort_by_key(|(at, _)| *at);
    let mut nemesis = Nemesis::new((Duration::ZERO, Duration::ZERO));
    let mut windows = Vec::new();
    let mut open: Option<Duration> = None;
    let mut rest = sorted.as_slice();
    while let Some(((at, _), _)) = rest.split_first() {
        let at = *at;
        let same_time = rest.partition_point(|(t, _)| *t == at);
        for (_, fault) in &rest[..same_time] {
            nemesis.apply(fault, at);
        }
        rest = &rest[same_time..];
        match (open, nemesis.is_healthy()) {
            (None, false) => open = Some(at),
            (Some(start), true) => {
                windows.push((start, at));
                open = None;
            }
            _ => {}
        }
    }
    windows.extend(open.map(|start| (start, Duration::MAX)));
    windows
}

/// The server hosts whose process is killed: their software, restarted by the kill's bounce,
/// waits here instead of serving until their restart (one simulation runs on one thread).
#[derive(Debug, Clone, Default)]
pub(crate) struct Down(Rc<RefCell<BTreeSet<String>>>);

impl Down {
    /// True while `host`'s process is killed.
    pub(crate) fn is_down(&self, host: &str) -> bool {
        self.0.borrow().contains(host)
    }
}

/// Performs `action` on `sim`. Host names were validated before the run: turmoil would
/// otherwise invent an address for an unknown name and panic on the missing link.
pub(crate) fn execute<S: System>(sim: &mut Sim<'_>, system: &S, down: &Down, action: &Action) {
    match action {
        Action::Skew(host, offset_ms) => system.skew_clock(host, *offset_ms),
        Action::Partition(a, b) => sim.partition(a.as_str(), b.as_str()),
        Action::Repair(a, b) => sim.repair(a.as_str(), b.as_str()),
        Action::PartitionOneWay(from, to) => sim.partition_oneway(from.as_str(), to.as_str()),
        Action::RepairOneWay(from, to) => sim.repair_oneway(from.as_str(), to.as_str()),
        Action::Latency(a, b, latency) => sim.set_link_latency(a.as_str(), b.as_str(), crate::time::to_sim(*latency)),
        Action::MaxLatency(a, b, latency) => {
            sim.set_link_max_message_latency(a.as_str(), b.as_str(), crate::time::to_sim(*latency))
        }
        // turmoil panics on a probability above one; validation refuses it too.
        Action::FailRate(a, b, ppm) => {
            sim.set_link_fail_rate(a.as_str(), b.as_str(), f64::from((*ppm).min(PPM)) / f64::from(PPM))
        }
        // Power loss: the OS's dirty data goes with the unsynced writes.
        Action::Crash(host) => {
            sim.crash(host.as_str());
            crate::writeback::power_loss(host);
        }
        Action::Bounce(host) => sim.bounce(host.as_str()),
        Action::Kill(host) => {
            down.0.borrow_mut().insert(host.clone());
            sim.bounce(host.as_str());
        }
        Action::Revive(host) => {
            down.0.borrow_mut().remove(host);
            sim.bounce(host.as_str());
        }
    }
}

/// Parts per million in one.
const PPM: u32 = 1_000_000;

#[cfg(test)]
mod tests;
