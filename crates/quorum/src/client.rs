//! [`QuorumClient`]: one logical client of the quorum store, with driver-style failover.
//!
//! A client talks to one coordinator at a time, starting from its preferred node. When a
//! connection cannot be opened it tries the next node (nothing was sent, so that is safe); after
//! an indeterminate call ([`Client::reset`]) it moves on to the next node for good, as drivers
//! mark a host down.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use history::Value;
use sim::frame::{self, FrameDecoder, MAX_REPLY_FRAME};
use sim::{CallError, Client, Invocation, Reads, Reply};
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
    reads: Reads,
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
        reads: Reads,
        levels: (Option<Level>, Option<Level>),
        messages: Rc<Cell<u64>>,
    ) -> Self {
        let preferred = if nodes.is_empty() { 0 } else { preferred % nodes.len() };
        Self { nodes, preferred, reads, read: levels.0, write: levels.1, connection: None, next_id: 0, messages }
    }

    async fn connect(&mut self) -> Result<(), CallError> {
        if self.connection.is_some() {
            return Ok(());
        }
        for k in 0..self.nodes.len() {
            let index = (self.preferred + k) % self.nodes.len();
            let connect = TcpStream::connect((self.nodes[index].as_str(), CLIENT_PORT));
            if let Ok(Ok(stream)) = tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
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

/// The request for an invocation, or the definite reply when the store cannot serve it.
pub fn to_op(invocation: &Invocation, reads: Reads) -> Result<Op, Reply> {
    let key = invocation.key.as_ref();
    match invocation.f.as_str() {
        "read" => {
            let default = if reads == Reads::Set { SET_KEY } else { REGISTER_KEY };
            Ok(Op::Get { key: key_of(key, default) })
        }
        "write" => Ok(Op::Put { key: key_of(key, REGISTER_KEY), value: invocation.value.clone() }),
        "add" => Ok(Op::Add { key: key_of(key, SET_KEY), element: invocation.value.clone() }),
        "cas" => Err(Reply::Fail("compare-and-set is not offered by the quorum store".to_owned())),
        other => Err(Reply::Fail(format!("unknown operation `{other}`"))),
    }
}

/// The harness's reading of a response.
pub fn to_reply(response: Response) -> Result<Reply, CallError> {
    match response.result {
        Ok(value) => Ok(Reply::Ok(value)),
        Err(Failure::Unavailable(why)) => Ok(Reply::Fail(format!("unavailable: {why}"))),
        Err(Failure::Unsupported(why)) => Ok(Reply::Fail(format!("unsupported: {why}"))),
        Err(Failure::Timeout) => Err(CallError::Indeterminate("the coordinator timed out".to_owned())),
    }
}

impl Client for QuorumClient {
    async fn call(&mut self, invocation: &Invocation) -> Result<Reply, CallError> {
        let op = match to_op(invocation, self.reads) {
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

    fn inv(f: &str, key: Option<&str>, value: Value) -> Invocation {
        Invocation { f: f.to_owned(), key: key.map(Value::from), value }
    }

    #[test]
    fn invocations_map_to_operations() {
        assert_eq!(to_op(&inv("read", None, Value::Nil), Reads::Register), Ok(Op::Get { key: "r".into() }));
        assert_eq!(to_op(&inv("read", None, Value::Nil), Reads::Set), Ok(Op::Get { key: "set".into() }));
        assert_eq!(
            to_op(&inv("write", Some("k1"), Value::Int(3)), Reads::Register),
            Ok(Op::Put { key: "k1".into(), value: Value::Int(3) })
        );
        assert_eq!(
            to_op(&inv("add", None, Value::Int(7)), Reads::Set),
            Ok(Op::Add { key: "set".into(), element: Value::Int(7) })
        );
        assert!(matches!(to_op(&inv("cas", None, Value::Nil), Reads::Register), Err(Reply::Fail(_))));
    }

    #[test]
    fn timeouts_are_indeterminate_and_refusals_definite() {
        let response = |result| Response { id: 1, result };
        assert!(matches!(to_reply(response(Err(Failure::Timeout))), Err(CallError::Indeterminate(_))));
        assert!(matches!(to_reply(response(Err(Failure::Unavailable("x".into())))), Ok(Reply::Fail(_))));
        assert_eq!(to_reply(response(Ok(Value::Int(1)))), Ok(Reply::Ok(Value::Int(1))));
    }
}
