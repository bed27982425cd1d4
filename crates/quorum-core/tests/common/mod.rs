//! A deterministic in-memory cluster driver for the protocol tests.
//!
//! Nodes run over [`MemStorage`]; messages wait in one queue ordered by delivery time and a
//! sequence number; simulated time jumps from event to event, with every node ticked every
//! `tick`. The test controls the network: per-link latency, partitions (both directions), and
//! filters that drop or delay chosen messages; optionally a seeded chaos mode drops and delays
//! messages at random. With `notices` on, a message sent across a partition (or to a crashed
//! node) comes back to its sender as `on_unreachable`, as a TCP adapter would report a failed
//! connection; with it off, it vanishes silently.
//!
//! Client calls are recorded as a `history` (invoke at submission, `ok`/`fail`/`info` at the
//! reply: `Unavailable` and `Unsupported` are definite failures, `Timeout` is unknown), with
//! simulated nanoseconds as times, ready for the checker.

#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use history::{Event, EventType, Process, Value};
use quorum_core::anti_entropy::diverged_keys;
use quorum_core::{
    Cell, Effect, Failure, Level, MemStorage, Node, NodeConfig, Op, PeerMessage, Request, Response, Ring,
};

/// What a filter does with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    Deliver,
    Drop,
    Delay(Duration),
}

type Filter = Box<dyn FnMut(u32, u32, &PeerMessage) -> Fate>;

enum Envelope {
    Deliver { from: u32, to: u32, msg: PeerMessage },
    Notice { node: u32, peer: u32, msg: PeerMessage },
}

/// Seeded random drops and delays (SplitMix64).
pub struct Chaos {
    state: u64,
    /// Probability of dropping a message, in thousandths.
    pub drop_per_mille: u64,
    /// Extra delay drawn uniformly from `0..=max_delay_ms` milliseconds.
    pub max_delay_ms: u64,
}

impl Chaos {
    pub fn new(seed: u64, drop_per_mille: u64, max_delay_ms: u64) -> Self {
        Self { state: seed, drop_per_mille, max_delay_ms }
    }

    pub fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

struct OpenCall {
    process: u64,
    f: &'static str,
    key: String,
    value: Value,
}

pub struct Cluster {
    pub nodes: BTreeMap<u32, Node<MemStorage>>,
    crashed: BTreeMap<u32, MemStorage>,
    configs: BTreeMap<u32, NodeConfig>,
    pub now: Duration,
    queue: BTreeMap<(Duration, u64), Envelope>,
    seq: u64,
    pub latency: Duration,
    links: BTreeMap<(u32, u32), Duration>,
    blocked: BTreeSet<(u32, u32)>,
    pub notices: bool,
    filters: Vec<Filter>,
    pub tick: Duration,
    next_tick: Duration,
    pub responses: BTreeMap<u64, (Response, Duration)>,
    next_conn: u64,
    pub messages: u64,
    pub history: Vec<Event>,
    open: BTreeMap<u64, OpenCall>,
    pub chaos: Option<Chaos>,
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

pub fn get(key: &str) -> Op {
    Op::Get { key: key.to_owned() }
}

pub fn put(key: &str, value: i64) -> Op {
    Op::Put { key: key.to_owned(), value: Value::Int(value) }
}

pub fn add(key: &str, element: i64) -> Op {
    Op::Add { key: key.to_owned(), element: Value::Int(element) }
}

impl Cluster {
    /// Nodes `0..size`, each configured by `NodeConfig::new` and then `configure`.
    pub fn new(size: u32, configure: impl Fn(&mut NodeConfig)) -> Self {
        let ids: Vec<u32> = (0..size).collect();
        let mut nodes = BTreeMap::new();
        let mut configs = BTreeMap::new();
        for &id in &ids {
            let mut config = NodeConfig::new(id, ids.clone());
            configure(&mut config);
            let node = Node::new(config.clone(), MemStorage::new(), Duration::ZERO).expect("valid config");
            nodes.insert(id, node);
            configs.insert(id, config);
        }
        Self {
            nodes,
            crashed: BTreeMap::new(),
            configs,
            now: Duration::ZERO,
            queue: BTreeMap::new(),
            seq: 0,
            latency: ms(1),
            links: BTreeMap::new(),
            blocked: BTreeSet::new(),
            notices: false,
            filters: Vec::new(),
            tick: ms(5),
            next_tick: ms(5),
            responses: BTreeMap::new(),
            next_conn: 1,
            messages: 0,
            history: Vec::new(),
            open: BTreeMap::new(),
            chaos: None,
        }
    }

    pub fn ring(&self) -> Ring {
        let config = self.configs.values().next().expect("a node");
        Ring::new(&config.nodes, config.vnodes)
    }

    pub fn replication(&self) -> usize {
        self.configs.values().next().expect("a node").replication
    }

    /// The key's preference list.
    pub fn replicas(&self, key: &str) -> Vec<u32> {
        self.ring().preference_list(key, self.replication())
    }

    pub fn node(&mut self, id: u32) -> &mut Node<MemStorage> {
        self.nodes.get_mut(&id).expect("a live node")
    }

    /// The cell `id` stores for `key`.
    pub fn cell(&self, id: u32, key: &str) -> Option<Cell> {
        let storage = match self.nodes.get(&id) {
            Some(node) => node.storage(),
            None => self.crashed.get(&id).expect("a node"),
        };
        storage.cells.get(key).cloned()
    }

    pub fn value(&self, id: u32, key: &str) -> Value {
        self.cell(id, key).map_or(Value::Nil, |c| c.value)
    }

    // ----- network control -----

    pub fn set_latency(&mut self, a: u32, b: u32, latency: Duration) {
        self.links.insert((a, b), latency);
        self.links.insert((b, a), latency);
    }

    /// Cuts every link between `side` and `other`, both ways.
    pub fn partition(&mut self, side: &[u32], other: &[u32]) {
        for &a in side {
            for &b in other {
                self.blocked.insert((a, b));
                self.blocked.insert((b, a));
            }
        }
    }

    /// Cuts `node` off from every other node.
    pub fn isolate(&mut self, node: u32) {
        let others: Vec<u32> = self.configs.keys().copied().filter(|&n| n != node).collect();
        self.partition(&[node], &others);
    }

    pub fn heal(&mut self) {
        self.blocked.clear();
    }

    pub fn filter(&mut self, f: impl FnMut(u32, u32, &PeerMessage) -> Fate + 'static) {
        self.filters.push(Box::new(f));
    }

    pub fn clear_filters(&mut self) {
        self.filters.clear();
    }

    pub fn crash(&mut self, id: u32) {
        let node = self.nodes.remove(&id).expect("a live node");
        self.crashed.insert(id, node.into_storage());
    }

    pub fn restart(&mut self, id: u32) {
        let storage = self.crashed.remove(&id).expect("a crashed node");
        let config = self.configs[&id].clone();
        let node = Node::new(config, storage, self.now).expect("recovers");
        self.nodes.insert(id, node);
    }

    // ----- clients -----

    /// Submits `op` to `node` for client `process`; returns the connection id.
    pub fn submit(&mut self, node: u32, process: u64, op: Op, read: Option<Level>, write: Option<Level>) -> u64 {
        let conn = self.next_conn;
        self.next_conn += 1;
        let (f, key, value) = match &op {
            Op::Get { key } => ("read", key.clone(), Value::Nil),
            Op::Put { key, value } => ("write", key.clone(), value.clone()),
            Op::Add { key, element } => ("add", key.clone(), element.clone()),
            Op::Cas { key, expected, new } => ("cas", key.clone(), Value::List(vec![expected.clone(), new.clone()])),
        };
        self.history.push(Event {
            process: Process::Client(process),
            kind: EventType::Invoke,
            f: f.to_owned(),
            key: Some(Value::Str(key.clone())),
            value: value.clone(),
            time: Some(self.now.as_nanos() as u64),
            index: None,
        });
        self.open.insert(conn, OpenCall { process, f, key, value });
        let request = Request { id: conn, op, read, write };
        let now = self.now;
        let effects = self.node(node).on_request(now, conn, request);
        self.apply(node, effects);
        conn
    }

    /// Runs until `conn` is answered (at most 30 simulated seconds).
    pub fn wait(&mut self, conn: u64) -> Response {
        let limit = self.now + Duration::from_secs(30);
        while !self.responses.contains_key(&conn) {
            assert!(self.step(limit), "no response within 30 s");
        }
        self.responses[&conn].0.clone()
    }

    pub fn call_at(&mut self, node: u32, op: Op, read: Option<Level>, write: Option<Level>) -> Response {
        let process = 1_000_000 + self.next_conn;
        let conn = self.submit(node, process, op, read, write);
        let response = self.wait(conn);
        // The next call starts strictly after this one returned (equal times are concurrent).
        self.run_for(Duration::from_micros(1));
        response
    }

    /// A call with the nodes' default levels.
    pub fn call(&mut self, node: u32, op: Op) -> Result<Value, Failure> {
        self.call_at(node, op, None, None).result
    }

    // ----- time -----

    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        self.run_until(until);
    }

    pub fn run_until(&mut self, until: Duration) {
        while self.step(until) {}
        self.now = self.now.max(until);
    }

    /// Processes the next event at or before `until`; false when there is none.
    pub fn step(&mut self, until: Duration) -> bool {
        let next_msg = self.queue.keys().next().map(|k| k.0);
        let t = next_msg.map_or(self.next_tick, |m| m.min(self.next_tick));
        if t > until {
            return false;
        }
        self.now = t;
        if next_msg == Some(t) {
            let (_, envelope) = self.queue.pop_first().expect("an event");
            self.deliver(envelope);
        } else {
            self.next_tick += self.tick;
            let ids: Vec<u32> = self.nodes.keys().copied().collect();
            for id in ids {
                let effects = self.node(id).on_tick(t);
                self.apply(id, effects);
            }
        }
        true
    }

    fn enqueue(&mut self, at: Duration, envelope: Envelope) {
        self.seq += 1;
        self.queue.insert((at, self.seq), envelope);
    }

    fn cut(&self, from: u32, to: u32) -> bool {
        self.blocked.contains(&(from, to)) || !self.nodes.contains_key(&to)
    }

    fn deliver(&mut self, envelope: Envelope) {
        match envelope {
            Envelope::Deliver { from, to, msg } => {
                if self.cut(from, to) {
                    return self.bounce(from, to, msg);
                }
                let now = self.now;
                let effects = self.node(to).on_peer(now, from, msg);
                self.apply(to, effects);
            }
            Envelope::Notice { node, peer, msg } => {
                if self.nodes.contains_key(&node) {
                    let now = self.now;
                    let effects = self.node(node).on_unreachable(now, peer, msg);
                    self.apply(node, effects);
                }
            }
        }
    }

    fn bounce(&mut self, from: u32, to: u32, msg: PeerMessage) {
        if self.notices {
            let at = self.now + self.latency;
            self.enqueue(at, Envelope::Notice { node: from, peer: to, msg });
        }
    }

    fn apply(&mut self, from: u32, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Send { to, msg } => {
                    self.messages += 1;
                    self.route(from, to, msg);
                }
                Effect::Reply { conn, response } => self.record(conn, response),
            }
        }
    }

    fn route(&mut self, from: u32, to: u32, msg: PeerMessage) {
        assert_ne!(from, to, "a node never sends to itself");
        if self.cut(from, to) {
            return self.bounce(from, to, msg);
        }
        let mut extra = Duration::ZERO;
        for filter in &mut self.filters {
            match filter(from, to, &msg) {
                Fate::Deliver => {}
                Fate::Drop => return,
                Fate::Delay(d) => extra += d,
            }
        }
        if let Some(chaos) = &mut self.chaos {
            if chaos.below(1000) < chaos.drop_per_mille {
                return;
            }
            extra += ms(chaos.below(chaos.max_delay_ms + 1));
        }
        let latency = self.links.get(&(from, to)).copied().unwrap_or(self.latency);
        self.enqueue(self.now + latency + extra, Envelope::Deliver { from, to, msg });
    }

    fn record(&mut self, conn: u64, response: Response) {
        assert_eq!(response.id, conn, "responses echo the request id");
        assert!(!self.responses.contains_key(&conn), "one response per request");
        if let Some(call) = self.open.remove(&conn) {
            let (kind, value) = match &response.result {
                Ok(v) => (EventType::Ok, if call.f == "read" { v.clone() } else { call.value.clone() }),
                Err(Failure::Timeout) => (EventType::Info, call.value.clone()),
                Err(_) => (EventType::Fail, call.value.clone()),
            };
            self.history.push(Event {
                process: Process::Client(call.process),
                kind,
                f: call.f.to_owned(),
                key: Some(Value::Str(call.key)),
                value,
                time: Some(self.now.as_nanos() as u64),
                index: None,
            });
        }
        self.responses.insert(conn, (response, self.now));
    }

    // ----- checks -----

    /// Client data of every live node.
    pub fn data(&mut self) -> BTreeMap<u32, BTreeMap<String, Cell>> {
        self.nodes.iter_mut().map(|(&id, node)| (id, node.data().expect("memory storage"))).collect()
    }

    /// Keys whose live replicas disagree.
    pub fn diverged(&mut self) -> Vec<String> {
        let ring = self.ring();
        let n = self.replication();
        let data = self.data();
        diverged_keys(&ring, n, &data)
    }

    pub fn pending_hints(&self) -> usize {
        self.nodes.values().map(|n| n.pending_hints().values().sum::<usize>()).sum()
    }

    /// The checker's verdict on the recorded register history.
    pub fn check(&self) -> checker::Outcome {
        let reads_and_writes: Vec<Event> =
            self.history.iter().filter(|e| e.f == "read" || e.f == "write").cloned().collect();
        checker::check_named("register", &reads_and_writes, &checker::CheckOptions::default())
            .expect("a well-formed history")
            .outcome
    }
}

/// Closed-loop clients: each keeps one operation in flight on one of `keys` keys, through a
/// node it picks at random, until it has done `ops_each`. A client whose operation timed out
/// retires and a fresh process takes its place (Jepsen's rule for indeterminate operations).
/// With `adds`, a third of the operations add a unique element to the set at key `s`.
pub fn run_workload(cluster: &mut Cluster, chaos: &mut Chaos, clients: u64, keys: u64, ops_each: u64, adds: bool) {
    let size = cluster.nodes.len() as u64;
    let mut process: Vec<u64> = (0..clients).collect();
    let mut done = vec![0u64; clients as usize];
    let mut in_flight: Vec<Option<u64>> = vec![None; clients as usize];
    let mut next_value = 1i64;
    let mut retired = clients;
    loop {
        for c in 0..clients as usize {
            if let Some(conn) = in_flight[c] {
                let Some((response, _)) = cluster.responses.get(&conn) else { continue };
                if response.result == Err(Failure::Timeout) {
                    process[c] = retired;
                    retired += 1;
                }
                in_flight[c] = None;
                done[c] += 1;
            }
            if done[c] < ops_each {
                let key = format!("k{}", chaos.below(keys));
                let node = chaos.below(size) as u32;
                next_value += 1;
                let op = match chaos.below(if adds { 3 } else { 2 }) {
                    0 => get(&key),
                    1 => put(&key, next_value),
                    _ => add("s", next_value),
                };
                in_flight[c] = Some(cluster.submit(node, process[c], op, None, None));
            }
        }
        if in_flight.iter().all(Option::is_none) {
            return;
        }
        let until = cluster.now + ms(1);
        cluster.run_until(until);
    }
}
