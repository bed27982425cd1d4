//! Partition shapes and Jepsen's random nemesis, as pure data: a [`FaultKind`] names a fault the
//! way an experiment does ("isolate a node", "halves", "majorities ring") and [`realize`] draws
//! the hosts with a seeded [`Rng`], giving the [`Fault`]s that start it and those that end it;
//! [`random_schedule`] strings drawn faults into a [`Schedule`]. Nothing here touches a
//! simulation.
//!
//! The shapes, with Jepsen's names (`jepsen.nemesis`), and how they degrade on small clusters:
//!
//! | kind | what | 1 server | 3 servers |
//! |---|---|---|---|
//! | `isolate` | one node cut from every other host | the clients lose the database | |
//! | `halves` | servers shuffled, a strict majority `n/2 + 1` against the rest | the server is the majority; only [`ClientSide::Split`] cuts something (half the clients lose the database) | 2 against 1 |
//! | `majorities-ring` | every server sees a strict majority, no two the same one | nothing is cut | one link cut (see below) |
//! | `bridge` | two halves joined only through one bridge server | nothing among servers; [`ClientSide::Split`] cuts client hosts from each other only | bridge plus one server on each side: one link cut |
//! | `one-way` | a node's outgoing messages to every other host dropped | the database's replies are lost | |
//! | `cut-clients` | every client host cut from some servers (drawn: a minority) | the clients lose the database | one server |
//! | `crash` | one server loses power (unsynced writes lost), restarted at the end | | |
//! | `crash-minority` | a minority (at least one) loses power | the server does | one server |
//! | `crash-all` | every server loses power at once | | |
//! | `kill`, `kill-minority`, `kill-all` | as the three above, but the process is killed: everything it wrote survives | | |
//! | `skew`, `strobe` | a server's clock off by a fixed offset, or strobing | | |
//! | `slow`, `flaky` | every link of one node slowed, or failing | | |
//!
//! Differences from Jepsen, on purpose:
//! - Jepsen's `bisect` gives even clusters two equal halves; `halves` here always has a strict
//!   majority (`n/2 + 1`), so with 2 servers the minority side holds no server.
//! - Jepsen's grudges drop messages one way (each node ignores some senders). Our clients and
//!   replicas speak request/reply over TCP, which a one-way cut breaks both ways, so the
//!   majorities ring cuts links both ways: servers sit on a shuffled ring and stay connected to
//!   those at ring distance at most `k = ⌈⌊n / 2⌋ / 2⌉`, which is `2k + 1` servers, a strict
//!   majority, centred on each server (so no two see the same one). With 3 servers no symmetric
//!   graph gives each server exactly one peer, so one link of the triangle is cut: its two ends
//!   each see a different majority through the third, which sees everyone (three different
//!   sets, the same cut as `bridge`). With 1 or 2 servers a majority is every server: nothing
//!   is cut.
//! - Client hosts keep reaching every server in the majorities ring, as Jepsen's control node
//!   does; in `halves` and `bridge` [`ClientSide`] says where they go.
//!
//! Parameters a kind leaves at zero are drawn (documented on each variant). Determinism: the
//! same kind, cluster and generator state give the same faults; the same seed gives the same
//! schedule.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::faults::{Fault, Schedule};
use crate::rng::Rng;

mod shapes;
#[cfg(test)]
mod tests;

use shapes::{bridge, crashes, drawn, drawn_offset, halves, kills, majorities_ring};

/// The hosts a nemesis can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// The system's server hosts ([`System::servers`](crate::System::servers)).
    pub servers: Vec<String>,
    /// The client hosts ([`SimConfig::client_host_names`](crate::SimConfig::client_host_names)).
    pub clients: Vec<String>,
}

impl Cluster {
    /// A cluster of these servers and client hosts.
    pub fn new<S, C>(servers: S, clients: C) -> Self
    where
        S: IntoIterator,
        S::Item: Into<String>,
        C: IntoIterator,
        C::Item: Into<String>,
    {
        Self {
            servers: servers.into_iter().map(Into::into).collect(),
            clients: clients.into_iter().map(Into::into).collect(),
        }
    }

    /// Every host: servers, then clients.
    pub fn hosts(&self) -> impl Iterator<Item = &String> {
        self.servers.iter().chain(&self.clients)
    }

    /// Some server, and no name twice.
    fn check(&self) -> Result<(), NemesisError> {
        if self.servers.is_empty() {
            return Err(NemesisError::NoServers);
        }
        let mut seen = BTreeSet::new();
        match self.hosts().find(|host| !seen.insert(host.as_str())) {
            Some(host) => Err(NemesisError::DuplicateHost(host.clone())),
            None => Ok(()),
        }
    }

    /// Checks a named node: any host when `any_host`, else a server; [`crate::LEADER`] is a
    /// server (the one leading when the fault fires).
    fn check_node(&self, kind: &FaultKind, node: &str, any_host: bool) -> Result<(), NemesisError> {
        if node == crate::LEADER
            || self.servers.iter().any(|s| s == node)
            || (any_host && self.clients.iter().any(|c| c == node))
        {
            Ok(())
        } else if self.clients.iter().any(|c| c == node) {
            Err(NemesisError::NotAServer { kind: kind.name(), host: node.to_owned() })
        } else {
            Err(NemesisError::UnknownHost { kind: kind.name(), host: node.to_owned() })
        }
    }

    /// `node`, or a server drawn with `rng`.
    fn pick(&self, node: &Option<String>, rng: &mut Rng) -> String {
        match node {
            Some(node) => node.clone(),
            None => self.servers[index(rng, self.servers.len())].clone(),
        }
    }

    /// Every host but `host`.
    fn others(&self, host: &str) -> Vec<String> {
        self.hosts().filter(|h| *h != host).cloned().collect()
    }

    /// The servers in an order drawn with `rng`.
    fn shuffled_servers(&self, rng: &mut Rng) -> Vec<String> {
        let mut servers = self.servers.clone();
        // Fisher-Yates, from the top.
        for i in (1..servers.len()).rev() {
            servers.swap(i, index(rng, i + 1));
        }
        servers
    }

    /// A drawn minority of the servers, at least one: between 1 and `(n - 1) / 2` servers (with
    /// 1 or 2 servers, where no server is a minority, one server). In name order.
    fn minority(&self, rng: &mut Rng) -> Vec<String> {
        let most = ((self.servers.len() - 1) / 2).max(1);
        let size = 1 + index(rng, most);
        let mut chosen: Vec<String> = self.shuffled_servers(rng).into_iter().take(size).collect();
        chosen.sort();
        chosen
    }
}

/// A uniform index below `len` (which is positive and far below `u64::MAX`).
fn index(rng: &mut Rng, len: usize) -> usize {
    usize::try_from(rng.below(len as u64)).unwrap_or(0)
}

/// Where client hosts go when servers are split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientSide {
    /// Clients keep reaching every server.
    All,
    /// Client hosts are dealt round-robin to the sides, in cluster order, the majority side
    /// (in `bridge`: the first half) first; each is cut from the other side.
    Split,
}

/// The clock offset a skew or strobe draws when given zero: a magnitude in this range (ms),
/// either sign.
pub const DRAWN_SKEW_MS: (u64, u64) = (100, 2000);
/// The period a strobe draws when given zero (ms).
pub const DRAWN_STROBE_PERIOD_MS: (u64, u64) = (10, 1000);
/// The latency a slow link draws when given zero (ms): below the default 1 s timeout.
pub const DRAWN_SLOW_MS: (u64, u64) = (50, 500);
/// The fail rate a flaky link draws when given zero (parts per million): 0.1% to 5%, since a
/// turmoil link failure loses every message in flight on the link.
pub const DRAWN_FLAKY_PPM: (u32, u32) = (1_000, 50_000);

/// A fault as an experiment names it, before hosts are drawn. `None` for a node means: draw
/// one server with the rng. A named node of a network kind (isolate, one-way, slow, flaky) may
/// be any host; the other kinds need a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// Jepsen's `isolate` (`split-one`): the node cut from every other host, servers and
    /// clients.
    Isolate {
        /// The node, or `None` to draw a server.
        node: Option<String>,
    },
    /// Jepsen's `halves` (random halves): servers shuffled, a strict majority `n/2 + 1` on one
    /// side and the rest on the other.
    Halves {
        /// Where the client hosts go.
        clients: ClientSide,
    },
    /// Jepsen's `majorities-ring`: every server sees a strict majority of servers (counting
    /// itself), and no two servers see the same one (see the module documentation for n = 3).
    MajoritiesRing,
    /// Jepsen's `bridge`: two halves joined only through one bridge server, which sees
    /// everyone.
    Bridge {
        /// Where the client hosts go.
        clients: ClientSide,
    },
    /// The node's outgoing messages to every other host are dropped; it still hears everyone.
    OneWay {
        /// The node, or `None` to draw a server.
        node: Option<String>,
    },
    /// Every client host cut from these servers.
    CutClients {
        /// The servers, or `None` to draw a minority (at least one).
        servers: Option<Vec<String>>,
    },
    /// One server loses power ([`Fault::Crash`]: its unsynced writes are lost); the fault ends
    /// with its restart.
    Crash {
        /// The server, or `None` to draw one.
        node: Option<String>,
    },
    /// A drawn minority of servers (at least one) loses power.
    CrashMinority,
    /// Every server loses power at once (unsynced writes are lost everywhere at once).
    CrashAll,
    /// Jepsen's `kill`: one server's process is killed ([`Fault::Kill`]: everything it wrote
    /// survives, synced or not); the fault ends with its restart.
    Kill {
        /// The server, or `None` to draw one.
        node: Option<String>,
    },
    /// A drawn minority of servers (at least one) has its process killed.
    KillMinority,
    /// Every server's process is killed at once.
    KillAll,
    /// Jepsen's `bump`: a server's clock runs `offset_ms` from true time until the fault ends.
    Skew {
        /// The server, or `None` to draw one.
        node: Option<String>,
        /// The offset; zero draws a magnitude in [`DRAWN_SKEW_MS`] and a sign.
        offset_ms: i64,
    },
    /// Jepsen's `strobe`: a server's clock flips between `±offset_ms` every `period_ms`.
    Strobe {
        /// The server, or `None` to draw one.
        node: Option<String>,
        /// The offset; zero draws one as [`FaultKind::Skew`] does.
        offset_ms: i64,
        /// The period; zero draws one in [`DRAWN_STROBE_PERIOD_MS`].
        period_ms: u64,
    },
    /// Every link between the node and every other host takes `latency_ms` per message.
    Slow {
        /// The node, or `None` to draw a server.
        node: Option<String>,
        /// The latency, at most 60 000; zero draws one in [`DRAWN_SLOW_MS`].
        latency_ms: u64,
    },
    /// Every link between the node and every other host fails with probability `fail_ppm`
    /// per million messages (see [`Fault::Flaky`]).
    Flaky {
        /// The node, or `None` to draw a server.
        node: Option<String>,
        /// The fail rate, at most 1 000 000; zero draws one in [`DRAWN_FLAKY_PPM`].
        fail_ppm: u32,
    },
}

impl FaultKind {
    /// Jepsen's name for the kind: `isolate`, `halves`, `majorities-ring`, `bridge`, `one-way`,
    /// `cut-clients`, `crash`, `crash-minority`, `crash-all`, `kill`, `kill-minority`, `kill-all`,
    /// `skew`, `strobe`, `slow`, `flaky`.
    pub fn name(&self) -> &'static str {
        match self {
            FaultKind::Isolate { .. } => "isolate",
            FaultKind::Halves { .. } => "halves",
            FaultKind::MajoritiesRing => "majorities-ring",
            FaultKind::Bridge { .. } => "bridge",
            FaultKind::OneWay { .. } => "one-way",
            FaultKind::CutClients { .. } => "cut-clients",
            FaultKind::Crash { .. } => "crash",
            FaultKind::CrashMinority => "crash-minority",
            FaultKind::CrashAll => "crash-all",
            FaultKind::Kill { .. } => "kill",
            FaultKind::KillMinority => "kill-minority",
            FaultKind::KillAll => "kill-all",
            FaultKind::Skew { .. } => "skew",
            FaultKind::Strobe { .. } => "strobe",
            FaultKind::Slow { .. } => "slow",
            FaultKind::Flaky { .. } => "flaky",
        }
    }

    /// Checks the kind's named hosts and parameters against `cluster`, drawing nothing.
    pub fn validate(&self, cluster: &Cluster) -> Result<(), NemesisError> {
        cluster.check()?;
        let parameter = |problem| Err(NemesisError::Parameter { kind: self.name(), problem });
        match self {
            FaultKind::Isolate { node } | FaultKind::OneWay { node } => check_optional(cluster, self, node, true),
            FaultKind::Slow { node, latency_ms } => {
                if *latency_ms > crate::config::MAX_SLOW_LATENCY_MS {
                    return parameter("latency_ms must be at most 60000");
                }
                check_optional(cluster, self, node, true)
            }
            FaultKind::Flaky { node, fail_ppm } => {
                if *fail_ppm > 1_000_000 {
                    return parameter("fail_ppm must be at most 1000000");
                }
                check_optional(cluster, self, node, true)
            }
            FaultKind::Crash { node }
            | FaultKind::Kill { node }
            | FaultKind::Skew { node, .. }
            | FaultKind::Strobe { node, .. } => check_optional(cluster, self, node, false),
            FaultKind::CutClients { servers: Some(servers) } => {
                if servers.is_empty() {
                    return parameter("names no server");
                }
                servers.iter().try_for_each(|server| cluster.check_node(self, server, false))
            }
            FaultKind::Halves { .. }
            | FaultKind::MajoritiesRing
            | FaultKind::Bridge { .. }
            | FaultKind::CutClients { servers: None }
            | FaultKind::CrashMinority
            | FaultKind::CrashAll
            | FaultKind::KillMinority
            | FaultKind::KillAll => Ok(()),
        }
    }
}

fn check_optional(cluster: &Cluster, kind: &FaultKind, node: &Option<String>, any: bool) -> Result<(), NemesisError> {
    node.as_deref().map_or(Ok(()), |node| cluster.check_node(kind, node, any))
}

/// A fault kind with its hosts drawn: the faults that start it and the faults that end it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Realized {
    /// Applied together when the fault starts.
    pub start: Vec<Fault>,
    /// Applied together when it ends: a heal, restarts, or skews back to zero. Applying them
    /// after `start` leaves no fault in effect.
    pub end: Vec<Fault>,
}

/// Why a kind or a schedule cannot be realized.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NemesisError {
    /// The cluster has no servers.
    #[error("the cluster has no servers")]
    NoServers,
    /// Two hosts of the cluster share a name.
    #[error("two hosts of the cluster are named `{0}`")]
    DuplicateHost(String),
    /// A kind names a host the cluster does not have.
    #[error("{kind}: `{host}` is not a host of the cluster")]
    UnknownHost {
        /// The kind's name.
        kind: &'static str,
        /// The name.
        host: String,
    },
    /// A kind that acts on a server names a client host.
    #[error("{kind}: `{host}` is not a server")]
    NotAServer {
        /// The kind's name.
        kind: &'static str,
        /// The client host.
        host: String,
    },
    /// A parameter out of range.
    #[error("{kind}: {problem}")]
    Parameter {
        /// The kind's name.
        kind: &'static str,
        /// What is wrong.
        problem: &'static str,
    },
    /// A random schedule with no kinds to draw from.
    #[error("no fault kinds to draw from")]
    NoKinds,
    /// A random schedule whose period is zero.
    #[error("the period between nemesis actions is zero")]
    ZeroPeriod,
    /// No fault and its end fit in the interval.
    #[error("no fault fits in {start:?}..{end:?} every {every:?}: a fault and its end take two periods")]
    TooShort {
        /// The schedule's start.
        start: Duration,
        /// Its end.
        end: Duration,
        /// The period.
        every: Duration,
    },
    /// More faults than [`MAX_RANDOM_FAULTS`].
    #[error("more than {max} faults: the period is too short for the interval")]
    TooManyFaults {
        /// The limit.
        max: usize,
    },
}

/// The most faults [`random_schedule`] draws.
pub const MAX_RANDOM_FAULTS: usize = 100_000;

/// The faults that start `kind` on `cluster` and the faults that end it (a heal, restarts, skews
/// back to 0), drawing hosts and zero parameters with `rng`.
pub fn realize(kind: &FaultKind, cluster: &Cluster, rng: &mut Rng) -> Result<Realized, NemesisError> {
    kind.validate(cluster)?;
    let network = |start: Vec<Fault>| Realized { start, end: vec![Fault::Heal] };
    let realized = match kind {
        FaultKind::Isolate { node } => {
            let node = cluster.pick(node, rng);
            network(vec![Fault::Partition { right: cluster.others(&node), left: vec![node] }])
        }
        FaultKind::Halves { clients } => network(vec![halves(cluster, *clients, rng)]),
        FaultKind::MajoritiesRing => network(majorities_ring(&cluster.shuffled_servers(rng))),
        FaultKind::Bridge { clients } => network(vec![bridge(cluster, *clients, rng)]),
        FaultKind::OneWay { node } => {
            let node = cluster.pick(node, rng);
            network(vec![Fault::PartitionOneWay { to: cluster.others(&node), from: vec![node] }])
        }
        FaultKind::CutClients { servers } => {
            let servers = servers.clone().unwrap_or_else(|| cluster.minority(rng));
            network(vec![Fault::Partition { left: cluster.clients.clone(), right: servers }])
        }
        FaultKind::Crash { node } => crashes(vec![cluster.pick(node, rng)]),
        FaultKind::CrashMinority => crashes(cluster.minority(rng)),
        FaultKind::CrashAll => crashes(cluster.servers.clone()),
        FaultKind::Kill { node } => kills(vec![cluster.pick(node, rng)]),
        FaultKind::KillMinority => kills(cluster.minority(rng)),
        FaultKind::KillAll => kills(cluster.servers.clone()),
        FaultKind::Skew { node, offset_ms } => {
            let node = cluster.pick(node, rng);
            let offset_ms = drawn_offset(*offset_ms, rng);
            Realized { start: vec![Fault::skew(node.clone(), offset_ms)], end: vec![Fault::skew(node, 0)] }
        }
        FaultKind::Strobe { node, offset_ms, period_ms } => {
            let node = cluster.pick(node, rng);
            let offset_ms = drawn_offset(*offset_ms, rng);
            let period_ms = drawn(*period_ms, DRAWN_STROBE_PERIOD_MS, rng);
            Realized { start: vec![Fault::strobe(node.clone(), offset_ms, period_ms)], end: vec![Fault::skew(node, 0)] }
        }
        FaultKind::Slow { node, latency_ms } => {
            let node = cluster.pick(node, rng);
            let latency_ms = drawn(*latency_ms, DRAWN_SLOW_MS, rng);
            network(vec![Fault::Slow { right: cluster.others(&node), left: vec![node], latency_ms }])
        }
        FaultKind::Flaky { node, fail_ppm } => {
            let node = cluster.pick(node, rng);
            let (low, high) = DRAWN_FLAKY_PPM;
            let ppm = drawn(u64::from(*fail_ppm), (u64::from(low), u64::from(high)), rng);
            let fail_ppm = u32::try_from(ppm).unwrap_or(high);
            network(vec![Fault::Flaky { right: cluster.others(&node), left: vec![node], fail_ppm }])
        }
    };
    Ok(realized)
}

/// Jepsen's standard nemesis: from `start`, every `every`, alternately a fault drawn from
/// `kinds` (uniformly, with an [`Rng`] seeded with `seed`) and the end of that fault. A fault
/// starts at `start + 2i·every` and ends at `start + (2i+1)·every`; a fault whose end would not
/// fall before `end` is not drawn, so every fault is over before `end` and the schedule lies in
/// `[start, end)`. Deterministic in the seed.
pub fn random_schedule(
    kinds: &[FaultKind],
    cluster: &Cluster,
    seed: u64,
    start: Duration,
    end: Duration,
    every: Duration,
) -> Result<Schedule, NemesisError> {
    if kinds.is_empty() {
        return Err(NemesisError::NoKinds);
    }
    if every.is_zero() {
        return Err(NemesisError::ZeroPeriod);
    }
    // Every kind is checked, not only the ones drawn: a typo must not hide behind a seed.
    kinds.iter().try_for_each(|kind| kind.validate(cluster))?;
    let mut rng = Rng::new(seed);
    let mut schedule = Schedule::new();
    let mut faults = 0usize;
    let mut at = start;
    while let Some(stop) = at.checked_add(every).filter(|stop| *stop < end) {
        if faults == MAX_RANDOM_FAULTS {
            return Err(NemesisError::TooManyFaults { max: MAX_RANDOM_FAULTS });
        }
        let kind = &kinds[index(&mut rng, kinds.len())];
        let realized = realize(kind, cluster, &mut rng)?;
        realized.start.into_iter().for_each(|fault| schedule.push(at, fault));
        realized.end.into_iter().for_each(|fault| schedule.push(stop, fault));
        faults += 1;
        match stop.checked_add(every) {
            Some(next) => at = next,
            None => break,
        }
    }
    if faults == 0 {
        return Err(NemesisError::TooShort { start, end, every });
    }
    Ok(schedule)
}
