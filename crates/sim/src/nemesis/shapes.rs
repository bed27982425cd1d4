//! How each shape picks its hosts and parameters: the drawing behind
//! [`realize`](super::realize), kept apart from the types it returns.

use super::{ClientSide, Cluster, Realized, DRAWN_SKEW_MS};
use crate::faults::Fault;
use crate::rng::Rng;

/// `value`, or when it is zero a draw in `low..=high`.
pub(super) fn drawn(value: u64, (low, high): (u64, u64), rng: &mut Rng) -> u64 {
    if value != 0 {
        return value;
    }
    rng.range(low..high + 1)
}

/// `offset_ms`, or when it is zero a magnitude in [`DRAWN_SKEW_MS`] with a drawn sign.
pub(super) fn drawn_offset(offset_ms: i64, rng: &mut Rng) -> i64 {
    if offset_ms != 0 {
        return offset_ms;
    }
    let magnitude = i64::try_from(drawn(0, DRAWN_SKEW_MS, rng)).unwrap_or(i64::MAX);
    if rng.chance(0.5) {
        magnitude
    } else {
        -magnitude
    }
}

/// Kills of `hosts`' processes, ended by their restarts.
pub(super) fn kills(hosts: Vec<String>) -> Realized {
    Realized {
        start: hosts.iter().cloned().map(Fault::Kill).collect(),
        end: hosts.into_iter().map(Fault::Restart).collect(),
    }
}

/// Power losses of `hosts`, ended by their restarts.
pub(super) fn crashes(hosts: Vec<String>) -> Realized {
    Realized {
        start: hosts.iter().cloned().map(Fault::Crash).collect(),
        end: hosts.into_iter().map(Fault::Restart).collect(),
    }
}

/// Deals the client hosts to two sides, round-robin, the first side first.
pub(super) fn deal(cluster: &Cluster, clients: ClientSide, first: &mut Vec<String>, second: &mut Vec<String>) {
    if clients == ClientSide::Split {
        for (i, client) in cluster.clients.iter().enumerate() {
            if i % 2 == 0 { &mut *first } else { &mut *second }.push(client.clone());
        }
    }
}

/// A strict majority of shuffled servers against the rest.
pub(super) fn halves(cluster: &Cluster, clients: ClientSide, rng: &mut Rng) -> Fault {
    let mut majority = cluster.shuffled_servers(rng);
    let mut minority = majority.split_off(majority.len() / 2 + 1);
    deal(cluster, clients, &mut majority, &mut minority);
    Fault::Partition { left: majority, right: minority }
}

/// The first shuffled server bridges two halves of the rest (the first half is the larger).
pub(super) fn bridge(cluster: &Cluster, clients: ClientSide, rng: &mut Rng) -> Fault {
    let shuffled = cluster.shuffled_servers(rng);
    let rest = &shuffled[1..];
    let (first, second) = rest.split_at(rest.len().div_ceil(2));
    let (mut first, mut second) = (first.to_vec(), second.to_vec());
    deal(cluster, clients, &mut first, &mut second);
    Fault::Partition { left: first, right: second }
}

/// The cuts of a majorities ring over `ring` (servers in ring order): see the module docs.
pub(super) fn majorities_ring(ring: &[String]) -> Vec<Fault> {
    let n = ring.len();
    match n {
        0..=2 => Vec::new(),
        3 => vec![Fault::partition([ring[0].clone()], [ring[1].clone()])],
        _ => {
            let reach = (n / 2).div_ceil(2);
            let distance = |i: usize, j: usize| (j - i).min(n - (j - i));
            (0..n)
                .filter_map(|i| {
                    let far: Vec<String> =
                        (i + 1..n).filter(|&j| distance(i, j) > reach).map(|j| ring[j].clone()).collect();
                    (!far.is_empty()).then(|| Fault::Partition { left: vec![ring[i].clone()], right: far })
                })
                .collect()
        }
    }
}
