//! [`SqlClient`]: one logical client's connection to the SQL server, implementing
//! [`sim::Client`].
//!
//! Mapping of operations to requests ([`to_op`], pure and total: the SQL store serves every
//! [`Operation`]):
//!
//! | operation | request | `ok` value |
//! |---|---|---|
//! | `Read { key }` | `Read` (key `"r"` when none) | the value read |
//! | `Write { key, value }` | `Write` (key `"r"` when none) | `value` |
//! | `Cas { key, expected, new }` | `Cas` (key `"r"` when none) | `[expected new]` |
//! | `Add { element }` | `Add` | `element` |
//! | `ReadSet` | `ReadSet` | sorted elements |
//! | `Transfer { from, to, amount }` | `Transfer` | `[from to amount]` |
//! | `ReadMany { keys }` | `ReadMany` | `[v1 v2 ...]` |
//!
//! (An update's `ok` value is its history value, [`Operation::value`].) A failed compare is
//! `Reply::Fail("cas mismatch")`, a refused transfer `Reply::Fail(..)`.
//!
//! Errors: a connection that cannot be opened is [`CallError::NotSent`]; a failure while
//! writing the request or after it (EOF, garbage, a `Storage` failure) is
//! [`CallError::Indeterminate`]. Either way the connection is dropped and the next call
//! reconnects; so it is after a call that was cancelled (its future dropped by the harness's
//! timeout), even if [`Client::reset`] was not called.

use std::cell::Cell;
use std::rc::Rc;

use history::Value;
use sim::steps::SingleKey;
use sim::{CallError, Client, Operation, Reply};
use turmoil::net::TcpStream;

use crate::server::PORT;
use crate::wire::{self, Failure, FrameDecoder, Op, Request, Response};

/// The key of key-less register operations.
pub const REGISTER_KEY: &str = "r";

/// One logical client: a lazily opened connection to the server host.
#[derive(Debug)]
pub struct SqlClient {
    host: String,
    messages: Rc<Cell<u64>>,
    connection: Option<Connection>,
    next_id: u64,
    /// Set while a call runs; still set at the next call if the previous one was cancelled
    /// (its future dropped by a timeout), which may have left half a frame on the connection.
    in_flight: bool,
    /// Whether transfers, multi-key reads and transactions run step by step, one single-key
    /// request (one SQLite transaction) at a time ([`sim::steps`]), instead of as one
    /// transaction: the non-transactional equivalent, as the quorum store runs them.
    steps: bool,
}

#[derive(Debug)]
struct Connection {
    stream: TcpStream,
    decoder: FrameDecoder,
}

impl SqlClient {
    /// A client of the server on `host`; `messages` counts the requests it sends.
    pub fn new(host: impl Into<String>, messages: Rc<Cell<u64>>) -> Self {
        SqlClient { host: host.into(), messages, connection: None, next_id: 1, in_flight: false, steps: false }
    }

    /// The same client running multi-key operations step by step (`true`) or as one
    /// transaction each (`false`, the default).
    pub fn with_steps(mut self, steps: bool) -> Self {
        self.steps = steps;
        self
    }

    async fn connection(&mut self) -> Result<&mut Connection, CallError> {
        if self.connection.is_none() {
            let stream = TcpStream::connect((self.host.as_str(), PORT))
                .await
                .map_err(|error| CallError::NotSent(format!("connecting to {}:{PORT}: {error}", self.host)))?;
            self.connection = Some(Connection { stream, decoder: FrameDecoder::new(wire::MAX_REPLY_FRAME) });
        }
        self.connection.as_mut().ok_or_else(|| CallError::NotSent("no connection".to_owned()))
    }

    /// Sends `request` and awaits its response, skipping stale responses to requests an
    /// earlier, cancelled call sent on this connection.
    async fn round_trip(&mut self, request: &Request) -> Result<Response, CallError> {
        let frame = wire::encode(request).map_err(|error| CallError::NotSent(error.to_string()))?;
        let messages = Rc::clone(&self.messages);
        let connection = self.connection().await?;
        wire::write_frame(&mut connection.stream, &frame)
            .await
            .map_err(|error| CallError::Indeterminate(format!("sending: {error}")))?;
        messages.set(messages.get() + 1);
        loop {
            let body = match wire::read_frame(&mut connection.stream, &mut connection.decoder).await {
                Ok(Some(body)) => body,
                Ok(None) => return Err(CallError::Indeterminate("connection closed before the reply".to_owned())),
                Err(error) => return Err(CallError::Indeterminate(format!("receiving: {error}"))),
            };
            let response: Response =
                wire::decode(&body).map_err(|error| CallError::Indeterminate(format!("garbage reply: {error}")))?;
            match response.id {
                id if id == request.id => return Ok(response),
                id if id < request.id && id != 0 => continue,
                id => {
                    return Err(CallError::Indeterminate(format!(
                        "reply to request {id} while awaiting {}: {:?}",
                        request.id, response.result
                    )))
                }
            }
        }
    }
}

impl Client for SqlClient {
    async fn call(&mut self, operation: &Operation) -> Result<Reply, CallError> {
        if self.steps {
            if let Some(outcome) = sim::steps::run_steps(self, operation).await {
                return outcome;
            }
        }
        self.single(operation).await
    }

    fn reset(&mut self) {
        self.connection = None;
    }
}

impl SingleKey for SqlClient {
    /// One request, whatever the operation: also a whole transfer or transaction when the
    /// client does not run them step by step.
    async fn single(&mut self, operation: &Operation) -> Result<Reply, CallError> {
        let op = to_op(operation);
        if self.in_flight {
            self.reset();
        }
        let request = Request { id: self.next_id, op };
        self.next_id += 1;
        self.in_flight = true;
        let outcome = self.round_trip(&request).await.and_then(|response| to_reply(operation, response.result));
        self.in_flight = false;
        if outcome.is_err() {
            self.reset();
        }
        outcome
    }
}

fn key_or_register(key: &Option<Value>) -> Value {
    key.clone().unwrap_or_else(|| Value::Str(REGISTER_KEY.to_owned()))
}

/// The request for an operation.
pub fn to_op(operation: &Operation) -> Op {
    match operation {
        Operation::Read { key } => Op::Read { key: key_or_register(key) },
        Operation::Write { key, value } => Op::Write { key: key_or_register(key), value: value.clone() },
        Operation::Cas { key, expected, new } => {
            Op::Cas { key: key_or_register(key), expected: expected.clone(), new: new.clone() }
        }
        Operation::Add { element } => Op::Add { element: element.clone() },
        Operation::ReadSet => Op::ReadSet,
        Operation::Transfer { from, to, amount } => {
            Op::Transfer { from: from.clone(), to: to.clone(), amount: *amount }
        }
        Operation::ReadMany { keys } => Op::ReadMany { keys: keys.clone() },
        Operation::Txn { ops } => Op::Txn { ops: ops.iter().map(sim::MicroOp::invoked).collect() },
    }
}

/// Maps a response's result to the harness's reply: reads return what they read, updates
/// echo their argument (as Jepsen histories record them).
pub fn to_reply(operation: &Operation, result: Result<Value, Failure>) -> Result<Reply, CallError> {
    match result {
        Ok(value) => Ok(Reply::Ok(match operation {
            Operation::Txn { .. } => value,
            _ if operation.is_read() => value,
            _ => operation.value(),
        })),
        Err(Failure::Rejected(why) | Failure::BadRequest(why)) => Ok(Reply::Fail(why)),
        Err(Failure::Storage(why)) => Err(CallError::Indeterminate(format!("storage failure: {why}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: Vec<Value>) -> Value {
        Value::List(items)
    }

    #[test]
    fn register_operations_default_to_key_r() {
        let r = Value::Str("r".into());
        assert_eq!(to_op(&Operation::Read { key: None }), Op::Read { key: r.clone() });
        assert_eq!(
            to_op(&Operation::Write { key: None, value: Value::Int(3) }),
            Op::Write { key: r.clone(), value: Value::Int(3) }
        );
        assert_eq!(
            to_op(&Operation::Cas { key: Some(Value::Int(7)), expected: Value::Nil, new: Value::Int(1) }),
            Op::Cas { key: Value::Int(7), expected: Value::Nil, new: Value::Int(1) }
        );
    }

    #[test]
    fn set_operations() {
        assert_eq!(to_op(&Operation::ReadSet), Op::ReadSet);
        // A keyed read is a key read.
        assert_eq!(to_op(&Operation::Read { key: Some(Value::Int(1)) }), Op::Read { key: Value::Int(1) });
        assert_eq!(to_op(&Operation::Add { element: Value::Int(4) }), Op::Add { element: Value::Int(4) });
    }

    #[test]
    fn bank_operations() {
        let (a, b) = (Value::Str("a".into()), Value::Str("b".into()));
        assert_eq!(
            to_op(&Operation::Transfer { from: a.clone(), to: b.clone(), amount: 5 }),
            Op::Transfer { from: a.clone(), to: b.clone(), amount: 5 }
        );
        assert_eq!(to_op(&Operation::ReadMany { keys: vec![a.clone(), b.clone()] }), Op::ReadMany { keys: vec![a, b] });
    }

    #[test]
    fn replies_echo_updates_and_return_reads() {
        let write = Operation::Write { key: None, value: Value::Int(3) };
        assert_eq!(to_reply(&write, Ok(Value::Nil)), Ok(Reply::Ok(Value::Int(3))));
        let read = Operation::Read { key: None };
        assert_eq!(to_reply(&read, Ok(Value::Int(3))), Ok(Reply::Ok(Value::Int(3))));
        assert_eq!(
            to_reply(&Operation::ReadSet, Ok(list(vec![Value::Int(1)]))),
            Ok(Reply::Ok(list(vec![Value::Int(1)])))
        );
        let transfer = Operation::Transfer { from: Value::Int(1), to: Value::Int(2), amount: 4 };
        assert_eq!(
            to_reply(&transfer, Ok(Value::Nil)),
            Ok(Reply::Ok(list(vec![Value::Int(1), Value::Int(2), Value::Int(4)])))
        );
        let cas = Operation::Cas { key: None, expected: Value::Int(1), new: Value::Int(2) };
        assert_eq!(to_reply(&cas, Ok(Value::Nil)), Ok(Reply::Ok(list(vec![Value::Int(1), Value::Int(2)]))));
        assert_eq!(
            to_reply(&cas, Err(Failure::Rejected("cas mismatch".into()))),
            Ok(Reply::Fail("cas mismatch".into()))
        );
        assert!(matches!(to_reply(&cas, Err(Failure::Storage("disk".into()))), Err(CallError::Indeterminate(_))));
        assert_eq!(to_reply(&cas, Err(Failure::BadRequest("x".into()))), Ok(Reply::Fail("x".into())));
    }
}
