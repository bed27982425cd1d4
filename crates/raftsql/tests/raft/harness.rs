//! A deterministic in-process cluster: nodes on their own directories of a temp-dir
//! `RealFs`, a message queue delivered in an order drawn from a seeded RNG (with optional
//! drops and partitions), ticks driven by the test. Every delivery, drop, commit and rollback
//! is written to an event log, so two runs can be compared byte for byte.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use base::Rng;
use lsm::RealFs;
use raftsql::eraftpb::Message;
use raftsql::{CommittedEntry, DroppedEntry, LogStore, NodeConfig, Output, RaftNode};

/// Delivery rounds per tick: messages produced while delivering go out in the next round.
const ROUNDS_PER_TICK: usize = 8;

static CLUSTERS: AtomicU64 = AtomicU64::new(0);

/// The cluster under test.
pub struct Cluster {
    pub ids: Vec<u64>,
    pub config: NodeConfig,
    seed: u64,
    root: PathBuf,
    nodes: BTreeMap<u64, Option<RaftNode>>,
    queue: Vec<Message>,
    rng: Rng,
    /// Chance that a message is lost.
    pub drop_chance: f64,
    /// Partition group of each node: messages cross only within a group.
    groups: BTreeMap<u64, u32>,
    /// Ticks since the start.
    pub now: u64,
    pub events: String,
    /// Committed entries each node applied since it last (re)started, in order.
    pub applied: BTreeMap<u64, Vec<CommittedEntry>>,
    /// Entries each node's log dropped (overwritten by a new leader).
    pub dropped: BTreeMap<u64, Vec<DroppedEntry>>,
    /// The first entry any node applied at each index: all others must match it.
    pub committed: BTreeMap<u64, (u64, Vec<u8>)>,
    /// ReadIndex answers: (node, context, read index, the node's commit index when answered).
    pub reads: Vec<(u64, Vec<u8>, u64, u64)>,
    /// Broken safety or apply-order properties, with the tick they were seen at.
    pub violations: Vec<String>,
}

impl Cluster {
    /// `n` nodes (ids 1..=n), all up, one partition group.
    pub fn new(n: u64, seed: u64, config: NodeConfig) -> Cluster {
        let k = CLUSTERS.fetch_add(1, Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("raftsql-cluster-{}-{k}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).expect("temp dir");
        let ids: Vec<u64> = (1..=n).collect();
        let mut c = Cluster {
            ids: ids.clone(),
            config,
            seed,
            root,
            nodes: BTreeMap::new(),
            queue: Vec::new(),
            rng: Rng::stream(seed, 0),
            drop_chance: 0.0,
            groups: ids.iter().map(|&id| (id, 0)).collect(),
            now: 0,
            events: String::new(),
            applied: BTreeMap::new(),
            dropped: BTreeMap::new(),
            committed: BTreeMap::new(),
            reads: Vec::new(),
            violations: Vec::new(),
        };
        for id in ids {
            c.start(id);
        }
        c
    }

    fn start(&mut self, id: u64) {
        let store = LogStore::open(Box::new(RealFs::default()), &self.root.join(format!("n{id}"))).expect("open store");
        let node = RaftNode::new(id, &self.ids, self.config, self.seed, store).expect("node");
        self.applied.insert(id, Vec::new());
        self.nodes.insert(id, Some(node));
    }

    /// Stops node `id` (it keeps only what it synced: its directory).
    pub fn crash(&mut self, id: u64) {
        self.nodes.insert(id, None);
        let _ = writeln!(self.events, "t={} n{id} crash", self.now);
    }

    /// Rebuilds node `id` from its directory; its state machine starts empty and re-applies.
    pub fn restart(&mut self, id: u64) {
        self.start(id);
        let _ = writeln!(self.events, "t={} n{id} restart", self.now);
    }

    pub fn node(&self, id: u64) -> Option<&RaftNode> {
        self.nodes.get(&id).and_then(Option::as_ref)
    }

    /// Splits the cluster: each slice is a group; nodes not listed form one more group.
    pub fn partition(&mut self, groups: &[&[u64]]) {
        for g in self.groups.values_mut() {
            *g = u32::MAX;
        }
        for (i, members) in groups.iter().enumerate() {
            for id in *members {
                self.groups.insert(*id, i as u32);
            }
        }
        let _ = writeln!(self.events, "t={} partition {groups:?}", self.now);
    }

    pub fn heal(&mut self) {
        for g in self.groups.values_mut() {
            *g = 0;
        }
        let _ = writeln!(self.events, "t={} heal", self.now);
    }

    /// The up node that is leader in the highest term, if any.
    pub fn leader(&self) -> Option<u64> {
        self.nodes.values().flatten().filter(|n| n.is_leader()).max_by_key(|n| n.term()).map(|n| n.id())
    }

    /// A leader acknowledged by a majority of the nodes in `group` (including itself).
    pub fn leader_among(&self, group: &[u64]) -> Option<u64> {
        let leader = group.iter().filter_map(|&id| self.node(id)).find(|n| n.is_leader())?.id();
        let agree = group.iter().filter_map(|&id| self.node(id)).filter(|n| n.leader() == Some(leader)).count();
        (agree * 2 > self.ids.len()).then_some(leader)
    }

    /// Proposes `data` at node `id`; whether raft-rs accepted it.
    pub fn propose(&mut self, id: u64, data: &[u8]) -> bool {
        let Some(Some(node)) = self.nodes.get_mut(&id) else { return false };
        let ok = node.propose(data.to_vec()).is_ok();
        let _ = writeln!(self.events, "t={} n{id} propose {} ok={ok}", self.now, String::from_utf8_lossy(data));
        self.drive(id);
        ok
    }

    /// Asks node `id` for a ReadIndex with context `ctx`; answers land in `reads`.
    pub fn read_index(&mut self, id: u64, ctx: &[u8]) {
        let Some(Some(node)) = self.nodes.get_mut(&id) else { return };
        node.read_index(ctx.to_vec());
        self.drive(id);
    }

    /// One tick on every up node, then delivery rounds.
    pub fn tick(&mut self) {
        self.now += 1;
        for id in self.ids.clone() {
            if let Some(Some(node)) = self.nodes.get_mut(&id) {
                node.tick();
                self.drive(id);
            }
        }
        for _ in 0..ROUNDS_PER_TICK {
            if self.queue.is_empty() {
                break;
            }
            self.deliver_round();
        }
    }

    /// Ticks until `done` holds (returns the ticks taken) or `limit` ticks have passed.
    pub fn run_until(&mut self, limit: u64, mut done: impl FnMut(&Cluster) -> bool) -> Option<u64> {
        for t in 1..=limit {
            self.tick();
            if done(self) {
                return Some(t);
            }
        }
        None
    }

    fn deliver_round(&mut self) {
        let mut batch = std::mem::take(&mut self.queue);
        // Fisher-Yates with the seeded RNG: the delivery order is a function of the seed.
        for i in (1..batch.len()).rev() {
            let j = self.rng.below(i as u64 + 1) as usize;
            batch.swap(i, j);
        }
        for m in batch {
            let (from, to) = (m.from, m.to);
            let cut = self.groups.get(&from) != self.groups.get(&to);
            let lost = self.drop_chance > 0.0 && self.rng.chance(self.drop_chance);
            let up = matches!(self.nodes.get(&to), Some(Some(_)));
            let _ = writeln!(
                self.events,
                "t={} {from}->{to} {:?} term={} idx={} ents={}{}",
                self.now,
                m.get_msg_type(),
                m.term,
                m.index,
                m.entries.len(),
                if cut || lost || !up { " DROPPED" } else { "" }
            );
            if cut || lost || !up {
                continue;
            }
            if let Some(Some(node)) = self.nodes.get_mut(&to) {
                let _ = node.step(m);
            }
            self.drive(to);
        }
    }

    fn drive(&mut self, id: u64) {
        let Some(Some(node)) = self.nodes.get_mut(&id) else { return };
        let out = match node.drive() {
            Ok(out) => out,
            Err(e) => {
                self.violations.push(format!("t={} n{id} drive failed: {e}", self.now));
                return;
            }
        };
        self.absorb(id, out);
    }

    fn absorb(&mut self, id: u64, out: Output) {
        let Output { messages, persisted_messages, committed, dropped, read_states } = out;
        let commit = self.node(id).map_or(0, |n| n.commit_index());
        for r in read_states {
            let _ = writeln!(
                self.events,
                "t={} n{id} read {} at {}",
                self.now,
                String::from_utf8_lossy(&r.request_ctx),
                r.index
            );
            self.reads.push((id, r.request_ctx, r.index, commit));
        }
        for e in committed {
            let applied = self.applied.entry(id).or_default();
            let expected = applied.last().map_or(1, |p| p.index + 1);
            if e.index != expected {
                self.violations.push(format!("t={} n{id} applied index {} expecting {expected}", self.now, e.index));
            }
            match self.committed.get(&e.index) {
                Some((term, data)) if (*term, data) != (e.term, &e.data) => self.violations.push(format!(
                    "t={} n{id} committed ({}, {}) at index {} where another node committed term {term}",
                    self.now,
                    e.term,
                    String::from_utf8_lossy(&e.data),
                    e.index
                )),
                Some(_) => {}
                None => {
                    self.committed.insert(e.index, (e.term, e.data.clone()));
                }
            }
            let _ = writeln!(
                self.events,
                "t={} n{id} apply {} term={} {}",
                self.now,
                e.index,
                e.term,
                String::from_utf8_lossy(&e.data)
            );
            applied.push(e);
        }
        for d in dropped {
            let _ = writeln!(
                self.events,
                "t={} n{id} dropped {} term={} {}",
                self.now,
                d.index,
                d.term,
                String::from_utf8_lossy(&d.data)
            );
            if self.committed.get(&d.index).is_some_and(|(t, _)| *t == d.term) {
                self.violations.push(format!("t={} n{id} dropped committed entry {}", self.now, d.index));
            }
            self.dropped.entry(id).or_default().push(d);
        }
        self.queue.extend(messages);
        self.queue.extend(persisted_messages);
    }

    /// Data of the non-empty entries node `id` applied, in order.
    pub fn applied_data(&self, id: u64) -> Vec<Vec<u8>> {
        self.applied
            .get(&id)
            .map(|v| v.iter().filter(|e| !e.data.is_empty()).map(|e| e.data.clone()).collect())
            .unwrap_or_default()
    }

    /// Whether every up node has applied exactly the same entries, ending at `index` or later.
    pub fn converged_at(&self, index: u64) -> bool {
        let mut logs = self.ids.iter().filter(|&&id| self.node(id).is_some()).map(|id| &self.applied[id]);
        let Some(first) = logs.next() else { return false };
        first.last().is_some_and(|e| e.index >= index) && logs.all(|l| l == first)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
