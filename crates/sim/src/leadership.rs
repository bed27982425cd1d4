//! Leaders: what a leader-based system reports about who led when, and how the harness aims a
//! fault at "the leader".
//!
//! A fault may name the placeholder host [`LEADER`]. The harness resolves it when the fault
//! fires (`Targets::resolve`): a fault that starts something (a crash, a kill, a partition,
//! a skew...) asks the system for its current leader ([`System::leader`]); a restart of
//! [`LEADER`] restarts the host the last resolution named, so `crash leader` then
//! `restart leader` bring back the node that went down, not the one elected since. A system
//! without a leader (one server, or a leaderless quorum) answers `None`, and the placeholder
//! then names its first server, as `node = "server"` does.
//!
//! A system that elects leaders reports each one in a [`LeaderLog`]: when it was elected, and
//! when it first acknowledged a write. The failover figures (the unavailability window from a
//! fault to the first write a new leader acknowledged, the elections held, the acknowledged
//! writes rolled back) are computed from it by [`LeaderLog::failover`].

use std::time::Duration;

use crate::faults::Fault;
use crate::system::System;

/// The placeholder host name of "the leader at the moment the fault fires".
pub const LEADER: &str = "@leader";

/// One leader of one Raft group (or primary of a replica set), for one term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reign {
    /// The group (shard), from 0.
    pub group: usize,
    /// Its term (epoch).
    pub term: u64,
    /// Its host.
    pub host: String,
    /// Model time at which it became leader.
    pub elected_at: Duration,
    /// Model time at which it first acknowledged a client's write, if it did.
    pub first_write_ack: Option<Duration>,
}

/// What a leader-based system reports at the end of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaderLog {
    /// Every leader elected, in order of election.
    pub reigns: Vec<Reign>,
    /// Writes that were acknowledged to a client and then rolled back (a new leader's log
    /// overwrote them): acknowledged writes lost by the protocol, not by a disk.
    pub rolled_back_acks: u64,
}

/// The failover that followed one fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failover {
    /// From the fault to the first write acknowledged by a leader elected after it (`None`: no
    /// leader elected after the fault acknowledged a write before the run ended).
    pub unavailable: Option<Duration>,
    /// Leaders elected from the fault to the end of the run, over every group.
    pub elections: usize,
}

impl LeaderLog {
    /// The failover after a fault at `at`, counting leaders elected before `until` (the next
    /// fault; `None`: the end of the run): see [`Failover`].
    pub fn failover(&self, at: Duration, until: Option<Duration>) -> Failover {
        let after: Vec<&Reign> =
            self.reigns.iter().filter(|r| r.elected_at >= at && until.is_none_or(|u| r.elected_at < u)).collect();
        let unavailable = after.iter().filter_map(|r| r.first_write_ack).min().map(|ack| ack.saturating_sub(at));
        Failover { unavailable, elections: after.len() }
    }

    /// The leader of `group` at model time `at`: the last one elected by then.
    pub fn leader_at(&self, group: usize, at: Duration) -> Option<&Reign> {
        self.reigns.iter().rev().find(|r| r.group == group && r.elected_at <= at)
    }
}

/// The harness's memory of what [`LEADER`] named (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Targets {
    last: Option<String>,
}

impl Targets {
    /// `fault` with [`LEADER`] replaced by a host: the system's leader now (or its first
    /// server), or for a restart the host the last resolution named.
    pub(crate) fn resolve<S: System>(&mut self, fault: &Fault, system: &S) -> Fault {
        self.resolve_with(fault, || system.leader().or_else(|| system.servers().into_iter().next()))
    }

    /// [`Targets::resolve`] with `current` answering who leads now.
    fn resolve_with(&mut self, fault: &Fault, current: impl FnOnce() -> Option<String>) -> Fault {
        if !fault.hosts().contains(&LEADER) {
            return fault.clone();
        }
        let ends = matches!(fault, Fault::Restart(_) | Fault::Skew { offset_ms: 0, .. });
        let host = match (ends, &self.last) {
            (true, Some(last)) => last.clone(),
            _ => current().unwrap_or_else(|| LEADER.to_owned()),
        };
        self.last = Some(host.clone());
        let resolved = fault.map_hosts(|h| if h == LEADER { host.clone() } else { h.to_owned() });
        // "The leader against everyone else": the other side listed every host but the
        // placeholder, the leader's real name included; a host is never cut from itself.
        let others = |side: &[String], placeholder_side: &[String]| -> Vec<String> {
            if placeholder_side.iter().any(|h| h == LEADER) {
                side.iter().filter(|h| **h != host).cloned().collect()
            } else {
                side.to_vec()
            }
        };
        match (fault, resolved) {
            (Fault::Partition { left, right }, Fault::Partition { left: l, right: r }) => {
                Fault::Partition { left: others(&l, right), right: others(&r, left) }
            }
            (Fault::PartitionOneWay { from, to }, Fault::PartitionOneWay { from: f, to: t }) => {
                Fault::PartitionOneWay { from: others(&f, to), to: others(&t, from) }
            }
            (Fault::Slow { left, right, .. }, Fault::Slow { left: l, right: r, latency_ms }) => {
                Fault::Slow { left: others(&l, right), right: others(&r, left), latency_ms }
            }
            (Fault::Flaky { left, right, .. }, Fault::Flaky { left: l, right: r, fail_ppm }) => {
                Fault::Flaky { left: others(&l, right), right: others(&r, left), fail_ppm }
            }
            (_, resolved) => resolved,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reign(group: usize, term: u64, host: &str, elected_ms: u64, ack_ms: Option<u64>) -> Reign {
        Reign {
            group,
            term,
            host: host.to_owned(),
            elected_at: Duration::from_millis(elected_ms),
            first_write_ack: ack_ms.map(Duration::from_millis),
        }
    }

    fn hosts(names: &[&str]) -> Vec<String> {
        names.iter().map(|h| (*h).to_owned()).collect()
    }

    #[test]
    fn the_leader_is_resolved_when_the_fault_fires_and_restarted_as_resolved() {
        let mut targets = Targets::default();
        let isolate = Fault::Partition { left: hosts(&[LEADER]), right: hosts(&["n1", "n2", "n3", "client-0"]) };
        assert_eq!(
            targets.resolve_with(&isolate, || Some("n2".into())),
            Fault::Partition { left: hosts(&["n2"]), right: hosts(&["n1", "n3", "client-0"]) }
        );
        assert_eq!(targets.resolve_with(&Fault::crash(LEADER), || Some("n3".into())), Fault::crash("n3"));
        // The restart brings back the node that went down, whoever leads now.
        assert_eq!(targets.resolve_with(&Fault::Restart(LEADER.into()), || Some("n1".into())), Fault::restart("n3"));
        assert_eq!(targets.resolve_with(&Fault::skew(LEADER, 500), || Some("n1".into())), Fault::skew("n1", 500));
        assert_eq!(targets.resolve_with(&Fault::skew(LEADER, 0), || Some("n2".into())), Fault::skew("n1", 0));
        // Faults that name no placeholder are left alone.
        assert_eq!(targets.resolve_with(&Fault::crash("n2"), || Some("n1".into())), Fault::crash("n2"));
    }

    #[test]
    fn the_window_ends_at_the_first_write_a_new_leader_acknowledged() {
        let log = LeaderLog {
            reigns: vec![
                reign(0, 2, "n1", 1_000, Some(1_010)),
                reign(0, 4, "n2", 4_200, None),
                reign(0, 5, "n3", 4_900, Some(5_050)),
            ],
            rolled_back_acks: 0,
        };
        let failover = log.failover(Duration::from_secs(3), None);
        assert_eq!(failover.unavailable, Some(Duration::from_millis(2_050)));
        assert_eq!(failover.elections, 2);
        // A leader elected after the next fault belongs to that fault's failover.
        let until = Some(Duration::from_millis(4_500));
        assert_eq!(log.failover(Duration::from_secs(3), until), Failover { unavailable: None, elections: 1 });
        // Before any election after the fault, the old leader's acknowledgements do not count.
        assert_eq!(log.failover(Duration::from_secs(6), None), Failover { unavailable: None, elections: 0 });
        assert_eq!(log.leader_at(0, Duration::from_millis(4_500)).map(|r| r.term), Some(4));
    }
}
