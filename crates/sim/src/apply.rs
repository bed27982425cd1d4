//! Carrying faults out: the [`Nemesis`] decides which turmoil [`Action`]s a [`Fault`] takes,
//! remembering what it cut and crashed so that a heal undoes exactly that; [`execute`] performs
//! an action on the simulation. Both run in the loop that calls `Sim::step`, the only place
//! turmoil lets a host be crashed or restarted.

use std::collections::BTreeSet;

use turmoil::Sim;

use crate::faults::Fault;
use crate::system::System;

/// One call on the simulation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    /// `sim.partition(a, b)`: both directions.
    Partition(String, String),
    /// `sim.repair(a, b)`.
    Repair(String, String),
    /// `sim.crash(host)`.
    Crash(String),
    /// `sim.bounce(host)`.
    Bounce(String),
    /// The system's own clock of `host` set `offset_ms` from simulated time.
    Skew(String, i64),
}

/// The nemesis's memory: links it cut and hosts it crashed.
#[derive(Debug, Default)]
pub(crate) struct Nemesis {
    /// Cut links, each pair in name order.
    cut: BTreeSet<(String, String)>,
    /// Crashed hosts not restarted yet.
    crashed: BTreeSet<String>,
    /// Hosts whose clock is off.
    skewed: BTreeSet<String>,
}

impl Nemesis {
    /// The actions that carry out `fault`, updating what is cut and crashed.
    pub(crate) fn apply(&mut self, fault: &Fault) -> Vec<Action> {
        match fault {
            Fault::Partition { left, right } => {
                let mut actions = Vec::new();
                for a in left {
                    for b in right.iter().filter(|b| *b != a) {
                        let pair = if a <= b { (a.clone(), b.clone()) } else { (b.clone(), a.clone()) };
                        if self.cut.insert(pair.clone()) {
                            actions.push(Action::Partition(pair.0, pair.1));
                        }
                    }
                }
                actions
            }
            // Repairing only the links we cut: a blanket repair would also touch links that
            // were never partitioned, and turmoil's repair does not mix with other link states.
            Fault::Heal => std::mem::take(&mut self.cut).into_iter().map(|(a, b)| Action::Repair(a, b)).collect(),
            Fault::Crash(host) => {
                self.crashed.insert(host.clone());
                vec![Action::Crash(host.clone())]
            }
            Fault::Restart(host) => {
                self.crashed.remove(host);
                vec![Action::Bounce(host.clone())]
            }
            Fault::Skew { host, offset_ms } => {
                if *offset_ms == 0 {
                    self.skewed.remove(host);
                } else {
                    self.skewed.insert(host.clone());
                }
                vec![Action::Skew(host.clone(), *offset_ms)]
            }
        }
    }

    /// The faults that return the cluster to health: a heal when some link is cut, a restart
    /// of every crashed host and a zero skew for every skewed clock (in name order).
    pub(crate) fn recovery(&self) -> Vec<Fault> {
        let heal = (!self.cut.is_empty()).then_some(Fault::Heal);
        heal.into_iter()
            .chain(self.crashed.iter().map(|h| Fault::Restart(h.clone())))
            .chain(self.skewed.iter().map(|h| Fault::skew(h.clone(), 0)))
            .collect()
    }
}

/// Performs `action` on `sim`. Host names were validated before the run: turmoil would
/// otherwise invent an address for an unknown name and panic on the missing link.
pub(crate) fn execute<S: System>(sim: &mut Sim<'_>, system: &S, action: &Action) {
    match action {
        Action::Skew(host, offset_ms) => system.skew_clock(host, *offset_ms),
        Action::Partition(a, b) => sim.partition(a.as_str(), b.as_str()),
        Action::Repair(a, b) => sim.repair(a.as_str(), b.as_str()),
        Action::Crash(host) => sim.crash(host.as_str()),
        Action::Bounce(host) => sim.bounce(host.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heal_repairs_exactly_the_cut_links() {
        let mut nemesis = Nemesis::default();
        let cut = nemesis.apply(&Fault::partition(["n2", "n1"], ["n3"]));
        assert_eq!(cut, [Action::Partition("n2".into(), "n3".into()), Action::Partition("n1".into(), "n3".into())]);
        // Cutting a cut link again does nothing new.
        assert_eq!(nemesis.apply(&Fault::partition(["n3"], ["n1"])), []);
        let healed = nemesis.apply(&Fault::Heal);
        assert_eq!(healed, [Action::Repair("n1".into(), "n3".into()), Action::Repair("n2".into(), "n3".into())]);
        assert_eq!(nemesis.apply(&Fault::Heal), [], "nothing left to heal");
    }

    #[test]
    fn recovery_heals_and_restarts_what_is_down() {
        let mut nemesis = Nemesis::default();
        assert_eq!(nemesis.recovery(), []);
        nemesis.apply(&Fault::crash("b"));
        nemesis.apply(&Fault::crash("a"));
        nemesis.apply(&Fault::crash("c"));
        nemesis.apply(&Fault::restart("c"));
        nemesis.apply(&Fault::partition(["a"], ["x"]));
        assert_eq!(nemesis.recovery(), [Fault::Heal, Fault::restart("a"), Fault::restart("b")]);
        for fault in nemesis.recovery() {
            nemesis.apply(&fault);
        }
        assert_eq!(nemesis.recovery(), []);
    }

    #[test]
    fn skews_are_undone_by_recovery() {
        let mut nemesis = Nemesis::default();
        assert_eq!(nemesis.apply(&Fault::skew("n2", -500)), [Action::Skew("n2".into(), -500)]);
        nemesis.apply(&Fault::skew("n1", 200));
        nemesis.apply(&Fault::skew("n1", 0));
        assert_eq!(nemesis.recovery(), [Fault::skew("n2", 0)], "n1 is back at zero already");
    }
}
