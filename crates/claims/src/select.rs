//! Which systems a claim looks at, chosen by what they are (the [`Properties`] their records
//! carry), never by their names: a user's own experiment with other system names feeds the
//! ledger the same way.
//!
//! Where a claim lists several systems, the order is fixed by properties too (file order
//! within a class), so the same results give the same ledger.

use std::collections::BTreeSet;

use experiment::properties::{Ack, Durability, Ordering, Properties, Quorums};
use runner::run::table::Row;

use crate::evidence::Experiment;

/// A SQL store: SQLite on one server (`sqlite`, with SQLite's settings) or replicated by a
/// leader (`sqlite-raft`, whose records carry how it replicates). The store's kind is a
/// recorded property, as the experiment file names it.
pub fn sql(p: &Properties) -> bool {
    p.sqlite.is_some() || (p.store.starts_with("sqlite") && p.replication.is_some())
}

/// A SQL store replicated by a leader (SQLite on Raft).
pub fn replicated_sql(p: &Properties) -> bool {
    sql(p) && p.replication.is_some()
}

/// A replicated store that is not SQL: the leaderless quorum store (NoSQL in the seed's sense).
pub fn replicated_nosql(p: &Properties) -> bool {
    p.replicas > 1 && !sql(p)
}

/// SQL (a single writer: one SQLite server, or a Raft leader) that syncs every commit before it
/// is acknowledged: the SQL side of the consistency claim.
pub fn sql_synced(p: &Properties) -> bool {
    sql(p) && p.ordering == Ordering::SingleWriter && p.durability.synced_before_ack()
}

/// A write is acknowledged only once every copy that decides it has it: always for a store
/// without a leader's replication (one server, or a quorum store whose W says it), and for a
/// leader-based store only with majority acknowledgement (Raft's commit), not asynchronous.
pub fn majority_acknowledged(p: &Properties) -> bool {
    p.replication.is_none_or(|r| r.ack == Ack::Majority)
}

/// A leader-based replicated store (its records say how it acknowledges).
pub fn leader_based(p: &Properties) -> bool {
    p.replication.is_some()
}

/// A leader-based store acknowledging writes before its followers have them.
pub fn asynchronous_replication(p: &Properties) -> bool {
    p.replication.is_some_and(|r| r.ack == Ack::Async)
}

/// Replicas compared for convergence: a leaderless replicated store (a leader-based one
/// replicates its log and is judged by its history and lost writes instead).
pub fn eventually_consistent(p: &Properties) -> bool {
    p.replicas > 1 && p.replication.is_none()
}

/// Last-write-wins: the order of writes depends on clocks.
pub fn last_write_wins(p: &Properties) -> bool {
    p.ordering == Ordering::LastWriteWins
}

/// The order of writes depends on no clock (ABD's logical timestamps, a single writer).
pub fn clock_free(p: &Properties) -> bool {
    !p.ordering.depends_on_clocks()
}

/// ABD: logical timestamps from a read phase.
pub fn logical_timestamps(p: &Properties) -> bool {
    p.ordering == Ordering::LogicalTimestamps
}

fn quorums(p: &Properties) -> Option<&Quorums> {
    p.quorums.as_ref()
}

/// Last-write-wins with R + W > N, reads that write back before answering, and strict
/// quorums: the textbook configuration of "R + W > N sees the latest write".
pub fn strict_overlapping(p: &Properties) -> bool {
    last_write_wins(p) && quorums(p).is_some_and(|q| q.overlapping() && q.read_writes_back && !q.sloppy)
}

/// As [`strict_overlapping`], but reads do not write back (no blocking read repair).
pub fn overlapping_without_write_back(p: &Properties) -> bool {
    last_write_wins(p) && quorums(p).is_some_and(|q| q.overlapping() && !q.read_writes_back && !q.sloppy)
}

/// As [`strict_overlapping`], but hints on fallback nodes count toward W (sloppy quorums).
pub fn overlapping_sloppy(p: &Properties) -> bool {
    last_write_wins(p) && quorums(p).is_some_and(|q| q.overlapping() && q.read_writes_back && q.sloppy)
}

/// Whether the system has R + W > N (`None`: it has no quorums).
pub fn overlapping(p: &Properties) -> Option<bool> {
    quorums(p).map(Quorums::overlapping)
}

/// Whether background anti-entropy repairs replicas (`None`: no replicas to repair).
pub fn anti_entropy(p: &Properties) -> Option<bool> {
    quorums(p).map(|q| q.anti_entropy)
}

/// What decides a system's availability under a fault: its store, how it orders writes and
/// which replies it waits for; durability does not enter.
#[derive(Debug, PartialEq, Eq)]
struct AvailabilityClass {
    store: String,
    ordering: Ordering,
    /// N, R, W, read write-back, sloppy.
    quorums: Option<(usize, usize, usize, bool, bool)>,
    /// A leader's acknowledgement, follower reads and shards.
    replication: Option<(Ack, bool, usize)>,
}

fn availability_class(p: &Properties) -> AvailabilityClass {
    let quorums = quorums(p).map(|q| (q.n, q.r, q.w, q.read_writes_back, q.sloppy));
    let replication = p.replication.map(|r| (r.ack, r.follower_reads, r.shards));
    AvailabilityClass { store: p.store.clone(), ordering: p.ordering, quorums, replication }
}

/// One system of each availability class, the first in file order: the systems whose
/// availability an experiment measured (a durability variant of a class, such as a batch
/// commit log beside the periodic one, adds nothing to it).
pub fn availability_representatives(experiment: &Experiment) -> BTreeSet<String> {
    let mut seen = Vec::new();
    let mut chosen = BTreeSet::new();
    for row in &experiment.rows {
        let Some(p) = experiment.properties(&row.system) else { continue };
        let class = availability_class(p);
        if !seen.contains(&class) {
            seen.push(class);
            chosen.insert(row.system.clone());
        }
    }
    chosen
}

/// Replicated systems first, then single servers (a stable order, file order within each).
pub fn replicated_first<'a>(experiment: &Experiment, mut rows: Vec<&'a Row>) -> Vec<&'a Row> {
    rows.sort_by_key(|r| experiment.properties(&r.system).is_none_or(|p| p.replicas <= 1));
    rows
}

fn durability_rank(durability: Durability) -> u8 {
    match durability {
        Durability::NeverSynced => 0,
        Durability::SyncedAfterAck => 1,
        Durability::GroupSyncedBeforeAck => 2,
        Durability::SyncedBeforeAck => 3,
    }
}

/// Each system acknowledged before its sync, with the system that is the same but for syncing
/// before the ack (the first such in file order); replicated systems first, then the weakest
/// durability first.
pub fn durability_pairs(experiment: &Experiment) -> Vec<(&Row, &Row)> {
    let same_but_durability = |a: &Properties, b: &Properties| {
        Properties { durability: b.durability, sqlite: b.sqlite, ..a.clone() } == *b
            && a.sqlite.map(|s| s.journal) == b.sqlite.map(|s| s.journal)
    };
    let mut pairs: Vec<(&Row, &Row, (bool, u8))> = Vec::new();
    for unsynced in &experiment.rows {
        let Some(u) = experiment.properties(&unsynced.system).filter(|p| !p.durability.synced_before_ack()) else {
            continue;
        };
        let synced = experiment.rows.iter().find(|s| {
            experiment
                .properties(&s.system)
                .is_some_and(|p| p.durability.synced_before_ack() && same_but_durability(u, p))
        });
        if let Some(synced) = synced {
            pairs.push((unsynced, synced, (u.replicas <= 1, durability_rank(u.durability))));
        }
    }
    pairs.sort_by_key(|(_, _, key)| *key);
    pairs.into_iter().map(|(u, s, _)| (u, s)).collect()
}
