//! [`QuorumClient`]: one logical client of the quorum store, with driver-style routing and
//! failover.
//!
//! Routing ([`Routing`]):
//! - **Token-aware** (the default of [`crate::system::ClusterConfig`], as in the common drivers:
//!   the DataStax Java driver 4's `DefaultLoadBalancingPolicy` and the Python driver's
//!   `TokenAwarePolicy` put a statement's replicas first): each operation goes to a replica of
//!   its key, so the coordinator is a replica and serves its own share of the read or write
//!   locally. The client computes the key's preference list on the same ring as the nodes
//!   ([`Ring`]), and rotates over the replicas from one operation to the next (the drivers
//!   shuffle them at random; a rotation spreads the load the same way and needs no random
//!   stream), then falls back to the other nodes. It keeps one connection per node.
//! - **Fixed**: the client talks to one coordinator at a time, starting from its preferred node,
//!   whether or not it holds the key (a driver with a round-robin policy and no token
//!   awareness). Kept for comparison.
//!
//! Failover: when a connection cannot be opened the client tries the next node in its order
//! (nothing was sent, so that is safe). After an indeterminate call ([`Client::reset`]) the
//! fixed client moves on to the next node for good, as drivers mark a host down; the
//! token-aware client marks the node down for [`RECONNECT_DELAY`] (tried last meanwhile), the
//! base delay of the drivers' reconnection policy.
//!
//! Operations ([`to_op`]): `Read` is a `Get` (key `"r"` when none), `Write` a `Put`, `Add` an
//! `Add` to the set's one document (key `"set"`), `ReadSet` a `Get` of that document, `Cas` a
//! `Cas` (a lightweight transaction through Paxos; a failed condition is `Reply::Fail("cas
//! mismatch ...")` as on SQLite). The store offers no transfer, multi-key read or transaction:
//! the client runs those step by step, one single-key request at a time, as an application
//! without transactions would ([`sim::steps`]).

use std::cell::Cell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use history::Value;
use sim::frame::{self, FrameDecoder, MAX_REPLY_FRAME};
use sim::steps::{Guard, SingleKey};
use sim::{CallError, Client, Operation, Reply};
use turmoil::net::TcpStream;

use crate::level::Level;
use crate::message::{Failure, Op, Request, Response};
use crate::ring::Ring;
use crate::server::CLIENT_PORT;

/// The key a key-less `read`/`write`/`cas` addresses (the register workload).
pub const REGISTER_KEY: &str = "r";
/// The key the set workload's elements live in (one document, as on a document store).
pub const SET_KEY: &str = "set";
/// How long opening a connection to one node may take before the next is tried.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(100);
/// How long a token-aware client tries a node last after an indeterminate call through it: the
/// base delay of the drivers' exponential reconnection policy (DataStax Java driver 4,
/// `advanced.reconnection-policy.base-delay = 1 second`).
pub const RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// How a client picks the coordinator of an operation.
#[derive(Debug, Clone)]
pub enum Routing {
    /// One coordinator at a time, from the preferred node on.
    Fixed,
    /// A replica of the operation's key: `ring` and the replication factor are the nodes' own;
    /// `ids[i]` is the node id of host `nodes[i]`.
    TokenAware {
        /// The cluster's ring.
        ring: Ring,
        /// Replicas per key (N).
        replication: usize,
        /// Node id of each host, in the order of the client's host list.
        ids: Vec<u32>,
    },
}

/// One logical client.
#[derive(Debug)]
pub struct QuorumClient {
    nodes: Vec<String>,
    /// The node tried first (fixed routing); where the rotation over replicas starts
    /// (token-aware).
    preferred: usize,
    routing: Routing,
    read: Option<Level>,
    write: Option<Level>,
    /// Open connections, by index into `nodes`.
    connections: BTreeMap<usize, (TcpStream, FrameDecoder)>,
    /// The node the last request went to.
    last: Option<usize>,
    /// Token-aware: nodes tried last until the given model time.
    down_until: BTreeMap<usize, Duration>,
    next_id: u64,
    messages: Rc<Cell<u64>>,
    /// How transfers and list-append steps write back what they read.
    guard: Guard,
}

impl QuorumClient {
    /// A client of the nodes `nodes` (host names), preferring `nodes[preferred % len]`, asking
    /// for the given levels (`None`: the coordinator's default), with fixed routing.
    pub fn new(
        nodes: Vec<String>,
        preferred: usize,
        levels: (Option<Level>, Option<Level>),
        messages: Rc<Cell<u64>>,
    ) -> Self {
        let preferred = if nodes.is_empty() { 0 } else { preferred % nodes.len() };
        Self {
            nodes,
            preferred,
            routing: Routing::Fixed,
            read: levels.0,
            write: levels.1,
            connections: BTreeMap::new(),
            last: None,
            down_until: BTreeMap::new(),
            next_id: 0,
            messages,
            guard: Guard::Plain,
        }
    }

    /// The same client writing back steps' reads as `guard` says ([`sim::steps`]).
    pub fn with_guard(mut self, guard: Guard) -> Self {
        self.guard = guard;
        self
    }

    /// The same client routing by `routing`.
    pub fn with_routing(mut self, routing: Routing) -> Self {
        self.routing = routing;
        self
    }

    /// The nodes to try for an operation on `key`, best first (indices into `nodes`).
    fn candidates(&mut self, key: &str) -> Vec<usize> {
        let len = self.nodes.len();
        let Routing::TokenAware { ring, replication, ids } = &self.routing else {
            return (0..len).map(|k| (self.preferred + k) % len).collect();
        };
        let replicas: Vec<usize> = ring
            .preference_list(key, *replication)
            .into_iter()
            .filter_map(|id| ids.iter().position(|&i| i == id))
            .collect();
        let order = token_aware_order(&replicas, len, self.preferred);
        // The next operation starts its rotation one replica further on.
        self.preferred = self.preferred.wrapping_add(1);
        let now = sim::time::now();
        self.down_until.retain(|_, until| *until > now);
        let (up, down): (Vec<usize>, Vec<usize>) = order.into_iter().partition(|i| !self.down_until.contains_key(i));
        up.into_iter().chain(down).collect()
    }

    /// A connection to the first of `candidates` that accepts one; its index.
    async fn connect(&mut self, candidates: &[usize]) -> Result<usize, CallError> {
        for &index in candidates {
            if self.connections.contains_key(&index) {
                return Ok(index);
            }
            let connect = TcpStream::connect((self.nodes[index].as_str(), CLIENT_PORT));
            if let Ok(Ok(stream)) = sim::time::timeout(CONNECT_TIMEOUT, connect).await {
                if matches!(self.routing, Routing::Fixed) {
                    self.preferred = index;
                }
                self.connections.insert(index, (stream, FrameDecoder::new(MAX_REPLY_FRAME)));
                return Ok(index);
            }
        }
        Err(CallError::NotSent(format!("no node of {} accepted a connection", self.nodes.len())))
    }
}

/// Token-aware order over `len` nodes: the key's `replicas` (indices, in preference order)
/// rotated by `rotation`, then every other node from `rotation` on.
pub fn token_aware_order(replicas: &[usize], len: usize, rotation: usize) -> Vec<usize> {
    let mut order = Vec::with_capacity(len);
    if !replicas.is_empty() {
        let start = rotation % replicas.len();
        order.extend(replicas[start..].iter().chain(&replicas[..start]).copied());
    }
    if len > 0 {
        order.extend((0..len).map(|k| (rotation + k) % len).filter(|i| !replicas.contains(i)));
    }
    order
}

fn key_of(key: Option<&Value>, default: &str) -> String {
    key.map_or_else(|| default.to_owned(), key_name)
}

/// The store's key for a history's key: a string as it is, anything else as it prints
/// (`5` for the integer 5).
pub fn key_name(key: &Value) -> String {
    match key {
        Value::Str(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The request for an operation, or the definite reply when the store cannot serve it.
pub fn to_op(operation: &Operation) -> Result<Op, Reply> {
    match operation {
        Operation::Read { key } => Ok(Op::Get { key: key_of(key.as_ref(), REGISTER_KEY) }),
        Operation::ReadSet => Ok(Op::Get { key: SET_KEY.to_owned() }),
        Operation::Write { key, value } => {
            Ok(Op::Put { key: key_of(key.as_ref(), REGISTER_KEY), value: value.clone() })
        }
        Operation::Add { element } => Ok(Op::Add { key: SET_KEY.to_owned(), element: element.clone() }),
        Operation::Cas { key, expected, new } => {
            Ok(Op::Cas { key: key_of(key.as_ref(), REGISTER_KEY), expected: expected.clone(), new: new.clone() })
        }
        Operation::Transfer { .. } | Operation::ReadMany { .. } | Operation::Txn { .. } => {
            Err(Reply::Fail(format!("`{}` is not one request: the client runs it step by step", operation.f())))
        }
    }
}

/// The harness's reading of a response.
pub fn to_reply(response: Response) -> Result<Reply, CallError> {
    match response.result {
        Ok(value) => Ok(Reply::Ok(value)),
        Err(Failure::Unavailable(why)) => Ok(Reply::Fail(format!("unavailable: {why}"))),
        Err(Failure::Unsupported(why)) => Ok(Reply::Fail(format!("unsupported: {why}"))),
        Err(Failure::Timeout) => Err(CallError::Indeterminate("the coordinator timed out".to_owned())),
        // As the SQLite store answers a failed compare (`sqlstore::server::CAS_MISMATCH`).
        Err(Failure::NotApplied { current }) => Ok(Reply::Fail(format!("cas mismatch: the register holds {current}"))),
    }
}

impl QuorumClient {
    /// Sends one request and awaits its reply.
    async fn request(&mut self, op: Op) -> Result<Reply, CallError> {
        self.next_id += 1;
        let id = self.next_id;
        let request = Request { id, op, read: self.read, write: self.write };
        let bytes = frame::encode(&request).map_err(|e| CallError::NotSent(e.to_string()))?;
        let candidates = self.candidates(request.op.key());
        let index = self.connect(&candidates).await?;
        self.last = Some(index);
        let Some((stream, decoder)) = self.connections.get_mut(&index) else {
            return Err(CallError::NotSent("no connection".to_owned()));
        };
        if let Err(error) = frame::write_frame(stream, &bytes).await {
            self.connections.remove(&index);
            return Err(CallError::Indeterminate(format!("send failed: {error}")));
        }
        self.messages.set(self.messages.get() + 1);
        loop {
            let body = match frame::read_frame(stream, decoder).await {
                Ok(Some(body)) => body,
                Ok(None) => {
                    self.connections.remove(&index);
                    return Err(CallError::Indeterminate("the coordinator closed the connection".to_owned()));
                }
                Err(error) => {
                    self.connections.remove(&index);
                    return Err(CallError::Indeterminate(format!("receive failed: {error}")));
                }
            };
            let response: Response = match frame::decode(&body) {
                Ok(response) => response,
                Err(error) => {
                    self.connections.remove(&index);
                    return Err(CallError::Indeterminate(format!("garbage reply: {error}")));
                }
            };
            // A reply to an earlier request that timed out on our side: skip it.
            if response.id == id {
                return to_reply(response);
            }
        }
    }
}

impl SingleKey for QuorumClient {
    async fn single(&mut self, operation: &Operation) -> Result<Reply, CallError> {
        match to_op(operation) {
            Ok(op) => self.request(op).await,
            Err(reply) => Ok(reply),
        }
    }
}

impl Client for QuorumClient {
    /// A transfer, a multi-key read or a transaction runs as an application without
    /// transactions runs it: its steps one request at a time ([`sim::steps`]).
    async fn call(&mut self, operation: &Operation) -> Result<Reply, CallError> {
        let guard = self.guard;
        match sim::steps::run_guarded(self, operation, guard).await {
            Some(outcome) => outcome,
            None => self.single(operation).await,
        }
    }

    fn reset(&mut self) {
        match self.routing {
            Routing::Fixed => {
                self.connections.clear();
                if !self.nodes.is_empty() {
                    self.preferred = (self.preferred + 1) % self.nodes.len();
                }
            }
            Routing::TokenAware { .. } => {
                if let Some(index) = self.last.take() {
                    self.connections.remove(&index);
                    self.down_until.insert(index, sim::time::now().saturating_add(RECONNECT_DELAY));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_map_to_requests() {
        assert_eq!(to_op(&Operation::Read { key: None }), Ok(Op::Get { key: "r".into() }));
        assert_eq!(to_op(&Operation::ReadSet), Ok(Op::Get { key: "set".into() }));
        assert_eq!(
            to_op(&Operation::Write { key: Some("k1".into()), value: Value::Int(3) }),
            Ok(Op::Put { key: "k1".into(), value: Value::Int(3) })
        );
        assert_eq!(
            to_op(&Operation::Add { element: Value::Int(7) }),
            Ok(Op::Add { key: "set".into(), element: Value::Int(7) })
        );
        let cas = Operation::Cas { key: None, expected: Value::Nil, new: Value::Int(1) };
        assert_eq!(to_op(&cas), Ok(Op::Cas { key: "r".into(), expected: Value::Nil, new: Value::Int(1) }));
        let transfer = Operation::Transfer { from: Value::Int(1), to: Value::Int(2), amount: 3 };
        assert!(matches!(to_op(&transfer), Err(Reply::Fail(why)) if why.contains("transfer")));
        assert!(matches!(to_op(&Operation::ReadMany { keys: vec![] }), Err(Reply::Fail(_))));
    }

    #[test]
    fn token_aware_order_rotates_over_the_replicas_then_the_rest() {
        // Replicas are hosts 3, 0, 1 (in preference order) of 5.
        assert_eq!(token_aware_order(&[3, 0, 1], 5, 0), vec![3, 0, 1, 2, 4]);
        assert_eq!(token_aware_order(&[3, 0, 1], 5, 1), vec![0, 1, 3, 2, 4]);
        assert_eq!(token_aware_order(&[3, 0, 1], 5, 2), vec![1, 3, 0, 2, 4]);
        assert_eq!(token_aware_order(&[3, 0, 1], 5, 3), vec![3, 0, 1, 4, 2]);
        assert_eq!(token_aware_order(&[], 3, 1), vec![1, 2, 0]);
        assert!(token_aware_order(&[], 0, 4).is_empty());
    }

    #[test]
    fn a_token_aware_client_sends_each_key_to_its_replicas_first() {
        let ids = vec![1, 2, 3, 4, 5];
        let ring = Ring::new(&ids, 16);
        let nodes: Vec<String> = ids.iter().map(|id| format!("n{id}")).collect();
        let routing = Routing::TokenAware { ring: ring.clone(), replication: 3, ids: ids.clone() };
        let mut client = QuorumClient::new(nodes, 0, (None, None), Rc::new(Cell::new(0))).with_routing(routing);
        for key in ["a", "b", "r", "set", "k17"] {
            let replicas: Vec<usize> = ring
                .preference_list(key, 3)
                .iter()
                .map(|id| ids.iter().position(|i| i == id).expect("a node of the ring"))
                .collect();
            let mut firsts = Vec::new();
            for _ in 0..3 {
                let order = client.candidates(key);
                assert_eq!(order.len(), 5, "every node, once");
                assert!(replicas.contains(&order[0]), "{key}: {order:?} starts off the replicas {replicas:?}");
                assert_eq!(order[..3].iter().filter(|i| replicas.contains(i)).count(), 3);
                firsts.push(order[0]);
            }
            firsts.sort_unstable();
            firsts.dedup();
            assert_eq!(firsts.len(), 3, "{key}: consecutive operations rotate over the three replicas");
        }
        // A fixed client ignores the key.
        let nodes: Vec<String> = ids.iter().map(|id| format!("n{id}")).collect();
        let mut fixed = QuorumClient::new(nodes, 2, (None, None), Rc::new(Cell::new(0)));
        assert_eq!(fixed.candidates("a"), vec![2, 3, 4, 0, 1]);
        assert_eq!(fixed.candidates("b"), vec![2, 3, 4, 0, 1]);
    }

    #[test]
    fn timeouts_are_indeterminate_and_refusals_definite() {
        let response = |result| Response { id: 1, result };
        assert!(matches!(to_reply(response(Err(Failure::Timeout))), Err(CallError::Indeterminate(_))));
        assert!(matches!(to_reply(response(Err(Failure::Unavailable("x".into())))), Ok(Reply::Fail(_))));
        assert_eq!(to_reply(response(Ok(Value::Int(1)))), Ok(Reply::Ok(Value::Int(1))));
        let mismatch = to_reply(response(Err(Failure::NotApplied { current: Value::Int(2) })));
        assert!(matches!(mismatch, Ok(Reply::Fail(why)) if why.starts_with("cas mismatch")));
    }
}
