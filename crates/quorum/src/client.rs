//! [`QuorumClient`]: one logical client of the quorum store, with driver-style failover.
//!
//! A client talks to one coordinator at a time, starting from its preferred node. When a
//! connection cannot be opened it tries the next node (nothing was sent, so that is safe); after
//! an indeterminate call ([`Client::reset`]) it moves on to the next node for good, as drivers
//! mark a host down.
//!
//! Operations ([`to_op`]): `Read` is a `Get` (key `"r"` when none), `Write` a `Put`, `Add` an
//! `Add` to the set's one document (key `"set"`), `ReadSet` a `Get` of that document, `Cas` a
//! `Cas` (a lightweight transaction through Paxos; a failed condition is `Reply::Fail("cas
//! mismatch ...")` as on SQLite). The store offers no transfer or multi-key read: those are a
//! definite failure, sent nowhere.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use history::Value;
use sim::frame::{self, FrameDecoder, MAX_REPLY_FRAME};
use sim::{CallError, Client, Operation, Reply};
use turmoil::net::TcpStream;

use crate::level::Level;
use crate::message::{Failure, Op, Request, Response};
use crate::server::CLIENT_PORT;

/// The key a key-less `read`/`write`/`cas` addresses (the register workload).
pub const REGISTER_KEY: &str = "r";
/// The key the set workload's elements live in (one document, as on a document store).
pub const SET_KEY: &str = "set";
/// How long opening a connection to one node may take before the next is tried.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(100);

/// One logical client.
#[derive(Debug)]
pub struct QuorumClient {
    nodes: Vec<String>,
    /// The node tried first.
    preferred: usize,
    read: Option<Level>,
    write: Option<Level>,
    connection: Option<(TcpStream, FrameDecoder)>,
    next_id: u64,
    messages: Rc<Cell<u64>>,
}

impl QuorumClient {
    /// A client of the nodes `nodes` (host names), preferring `nodes[preferred % len]`, asking
    /// for the given levels (`None`: the coordinator's default).
    pub fn new(
        nodes: Vec<String>,
        preferred: usize,
        levels: (Option<Level>, Option<Level>),
        messages: Rc<Cell<u64>>,
    ) -> Self {
        let preferred = if nodes.is_empty() { 0 } else { preferred % nodes.len() };
        Self { nodes, preferred, read: levels.0, write: levels.1, connection: None, next_id: 0, messages }
    }

    async fn connect(&mut self) -> Result<(), CallError> {
        if self.connection.is_some() {
            return Ok(());
        }
        for k in 0..self.nodes.len() {
            let index = (self.preferred + k) % self.nodes.len();
            let connect = TcpStream::connect((self.nodes[index].as_str(), CLIENT_PORT));
            if let Ok(Ok(stream)) = sim::time::timeout(CONNECT_TIMEOUT, connect).await {
                self.preferred = index;
                self.connection = Some((stream, FrameDecoder::new(MAX_REPLY_FRAME)));
                return Ok(());
            }
        }
        Err(CallError::NotSent(format!("no node of {} accepted a connection", self.nodes.len())))
    }
}

fn key_of(key: Option<&Value>, default: &str) -> String {
    match key {
        None => default.to_owned(),
        Some(Value::Str(s)) => s.clone(),
        Some(other) => other.to_string(),
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
        Operation::Transfer { .. } | Operation::ReadMany { .. } => {
            Err(Reply::Fail(format!("`{}` is not offered by the quorum store", operation.f())))
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

impl Client for QuorumClient {
    async fn call(&mut self, operation: &Operation) -> Result<Reply, CallError> {
        let op = match to_op(operation) {
            Ok(op) => op,
            Err(reply) => return Ok(reply),
        };
        self.next_id += 1;
        let id = self.next_id;
        let request = Request { id, op, read: self.read, write: self.write };
        let bytes = frame::encode(&request).map_err(|e| CallError::NotSent(e.to_string()))?;
        self.connect().await?;
        let Some((stream, decoder)) = self.connection.as_mut() else {
            return Err(CallError::NotSent("no connection".to_owned()));
        };
        if let Err(error) = frame::write_frame(stream, &bytes).await {
            self.connection = None;
            return Err(CallError::Indeterminate(format!("send failed: {error}")));
        }
        self.messages.set(self.messages.get() + 1);
        loop {
            let body = match frame::read_frame(stream, decoder).await {
                Ok(Some(body)) => body,
                Ok(None) => {
                    self.connection = None;
                    return Err(CallError::Indeterminate("the coordinator closed the connection".to_owned()));
                }
                Err(error) => {
                    self.connection = None;
                    return Err(CallError::Indeterminate(format!("receive failed: {error}")));
                }
            };
            let response: Response = match frame::decode(&body) {
                Ok(response) => response,
                Err(error) => {
                    self.connection = None;
                    return Err(CallError::Indeterminate(format!("garbage reply: {error}")));
                }
            };
            // A reply to an earlier request that timed out on our side: skip it.
            if response.id == id {
                return to_reply(response);
            }
        }
    }

    fn reset(&mut self) {
        self.connection = None;
        if !self.nodes.is_empty() {
            self.preferred = (self.preferred + 1) % self.nodes.len();
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
    fn timeouts_are_indeterminate_and_refusals_definite() {
        let response = |result| Response { id: 1, result };
        assert!(matches!(to_reply(response(Err(Failure::Timeout))), Err(CallError::Indeterminate(_))));
        assert!(matches!(to_reply(response(Err(Failure::Unavailable("x".into())))), Ok(Reply::Fail(_))));
        assert_eq!(to_reply(response(Ok(Value::Int(1)))), Ok(Reply::Ok(Value::Int(1))));
        let mismatch = to_reply(response(Err(Failure::NotApplied { current: Value::Int(2) })));
        assert!(matches!(mismatch, Ok(Reply::Fail(why)) if why.starts_with("cas mismatch")));
    }
}
