//! Leaders: what a leader-based system reports about who led when, and how the harness aims a
//! fault at "the leader".
//!
//! A fault may name the placeholder host [`LEADER`]. The harness resolves it when the fault
//! fires ([`Targets::resolve`]): a fault that starts something (a crash, a kill, a partition,
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
    /// The failover after a fault at `at`: see [`Failover`].
    pub fn failover(&self, at: Duration) -> Failover {
        let after: Vec<&Reign> = self.reigns.iter().filter(|r| r.elected_at >= at).collect();
        let unavailable = after.iter().filter_map(|r| r.first_write_ack).min().map(|ack| ack.saturating_sub(at));
        Failover { unavailable, elections: after.len() }
    }

    /// The leader of `group` at model time `at`: the last one elected by then.
    pub fn leader_at(&self, group: usize, at: Duration) -> Option<&Reign> {
        self.reigns.iter().filter(|r| r.group == group && r.elected_at <= at).last()
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
        if !fault.hosts().contains(&LEADER) {
            return fault.clone();
        }
        let host = match (fault, &self.last) {
            (Fault::Restart(_), Some(last)) => last.clone(),
            _ => system.leader().or_else(|| system.servers().into_iter().next()).unwrap_or_else(|| LEADER.to_owned()),
        };
        self.last = Some(host.clone());
        fault.map_hosts(|h| if h == LEADER { host.clone() } else { h.to_owned() })
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
        let failover = log.failover(Duration::from_secs(3));
        assert_eq!(failover.unavailable, Some(Duration::from_millis(2_050)));
        assert_eq!(failover.elections, 2);
        // Before any election after the fault, the old leader's acknowledgements do not count.
        assert_eq!(log.failover(Duration::from_secs(6)), Failover { unavailable: None, elections: 0 });
        assert_eq!(log.leader_at(0, Duration::from_millis(4_500)).map(|r| r.term), Some(4));
    }
}
