//! [`SqlClient`]: one logical client's connection to the SQL server, implementing
//! [`sim::Client`].
//!
//! Mapping of Jepsen-style invocations ([`to_op`], pure):
//!
//! | `f` | key | value | request | `ok` value |
//! |---|---|---|---|---|
//! | `read` | `k` or none (`"r"`) | nil | `Read` (`ReadSet` under [`Reads::Set`]) | the value read |
//! | `write` | `k` or none (`"r"`) | `v` | `Write` | `v` |
//! | `cas` | `k` or none (`"r"`) | `[expected new]` | `Cas` | `[expected new]` |
//! | `add` | none | element | `Add` | element |
//! | `read-set` | none | nil | `ReadSet` | sorted elements |
//! | `transfer` | none | `[from to amount]` | `Transfer` | `[from to amount]` |
//! | `read-many` | none | `[k1 k2 ...]` | `ReadMany` | `[v1 v2 ...]` |
//!
//! A failed compare is `Reply::Fail("cas mismatch")`, a refused transfer `Reply::Fail(..)`;
//! an invocation that does not map (unknown `f`, wrong shape) is `Reply::Fail` without
//! sending anything.
//!
//! Errors: a connection that cannot be opened is [`CallError::NotSent`]; a failure while
//! writing the request or after it (EOF, garbage, a `Storage` failure) is
//! [`CallError::Indeterminate`]. Either way the connection is dropped and the next call
//! reconnects; so it is after a call that was cancelled (its future dropped by the harness's
//! timeout), even if [`Client::reset`] was not called.

use std::cell::Cell;
use std::rc::Rc;

use history::Value;
use sim::{CallError, Client, Invocation, Reads, Reply};
use turmoil::net::TcpStream;

use crate::server::PORT;
use crate::wire::{self, Failure, FrameDecoder, Op, Request, Response};

/// The key of key-less register operations.
pub const REGISTER_KEY: &str = "r";

/// One logical client: a lazily opened connection to the server host.
#[derive(Debug)]
pub struct SqlClient {
    host: String,
    reads: Reads,
    messages: Rc<Cell<u64>>,
    connection: Option<Connection>,
    next_id: u64,
    /// Set while a call runs; still set at the next call if the previous one was cancelled
    /// (its future dropped by a timeout), which may have left half a frame on the connection.
    in_flight: bool,
}

#[derive(Debug)]
struct Connection {
    stream: TcpStream,
    decoder: FrameDecoder,
}

impl SqlClient {
    /// A client of the server on `host`; `messages` counts the requests it sends.
    pub fn new(host: impl Into<String>, reads: Reads, messages: Rc<Cell<u64>>) -> Self {
        SqlClient { host: host.into(), reads, messages, connection: None, next_id: 1, in_flight: false }
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
    async fn call(&mut self, invocation: &Invocation) -> Result<Reply, CallError> {
        let op = match to_op(invocation, self.reads) {
            Ok(op) => op,
            Err(why) => return Ok(Reply::Fail(why)),
        };
        if self.in_flight {
            self.reset();
        }
        let request = Request { id: self.next_id, op };
        self.next_id += 1;
        self.in_flight = true;
        let outcome = self.round_trip(&request).await.and_then(|response| to_reply(invocation, response.result));
        self.in_flight = false;
        if outcome.is_err() {
            self.reset();
        }
        outcome
    }

    fn reset(&mut self) {
        self.connection = None;
    }
}

fn key_or_register(key: &Option<Value>) -> Value {
    key.clone().unwrap_or_else(|| Value::Str(REGISTER_KEY.to_owned()))
}

/// Maps an invocation to a request, or says why it cannot be sent.
pub fn to_op(invocation: &Invocation, reads: Reads) -> Result<Op, String> {
    let Invocation { f, key, value } = invocation;
    let shape = |expected: &str| format!("`{f}` expects {expected}, found {} `{value}`", value.shape());
    match f.as_str() {
        "read" if key.is_none() && reads == Reads::Set => Ok(Op::ReadSet),
        "read" => Ok(Op::Read { key: key_or_register(key) }),
        "write" => Ok(Op::Write { key: key_or_register(key), value: value.clone() }),
        "cas" => match value.as_list() {
            Some([expected, new]) => {
                Ok(Op::Cas { key: key_or_register(key), expected: expected.clone(), new: new.clone() })
            }
            _ => Err(shape("[expected new]")),
        },
        "add" => Ok(Op::Add { element: value.clone() }),
        "read-set" => Ok(Op::ReadSet),
        "transfer" => match value.as_list() {
            Some([from, to, Value::Int(amount)]) => {
                Ok(Op::Transfer { from: from.clone(), to: to.clone(), amount: *amount })
            }
            _ => Err(shape("[from to amount] with an integer amount")),
        },
        "read-many" => match value.as_list() {
            Some(keys) => Ok(Op::ReadMany { keys: keys.to_vec() }),
            None => Err(shape("a list of keys")),
        },
        _ => Err(format!("unsupported function `{f}`")),
    }
}

/// Maps a response's result to the harness's reply: reads return what they read, updates
/// echo their argument (as Jepsen histories record them).
pub fn to_reply(invocation: &Invocation, result: Result<Value, Failure>) -> Result<Reply, CallError> {
    match result {
        Ok(value) => {
            let is_read = matches!(invocation.f.as_str(), "read" | "read-set" | "read-many");
            Ok(Reply::Ok(if is_read { value } else { invocation.value.clone() }))
        }
        Err(Failure::Rejected(why) | Failure::BadRequest(why)) => Ok(Reply::Fail(why)),
        Err(Failure::Storage(why)) => Err(CallError::Indeterminate(format!("storage failure: {why}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv(f: &str, key: Option<Value>, value: Value) -> Invocation {
        Invocation { f: f.to_owned(), key, value }
    }

    fn list(items: Vec<Value>) -> Value {
        Value::List(items)
    }

    #[test]
    fn register_operations_default_to_key_r() {
        let r = Value::Str("r".into());
        assert_eq!(to_op(&inv("read", None, Value::Nil), Reads::Register), Ok(Op::Read { key: r.clone() }));
        assert_eq!(
            to_op(&inv("write", None, Value::Int(3)), Reads::Register),
            Ok(Op::Write { key: r.clone(), value: Value::Int(3) })
        );
        assert_eq!(
            to_op(&inv("cas", Some(Value::Int(7)), list(vec![Value::Nil, Value::Int(1)])), Reads::Register),
            Ok(Op::Cas { key: Value::Int(7), expected: Value::Nil, new: Value::Int(1) })
        );
        assert!(to_op(&inv("cas", None, Value::Int(1)), Reads::Register).is_err());
    }

    #[test]
    fn set_reads_depend_on_the_workload() {
        assert_eq!(to_op(&inv("read", None, Value::Nil), Reads::Set), Ok(Op::ReadSet));
        // A keyed read is still a key read.
        assert_eq!(
            to_op(&inv("read", Some(Value::Int(1)), Value::Nil), Reads::Set),
            Ok(Op::Read { key: Value::Int(1) })
        );
        assert_eq!(to_op(&inv("read-set", None, Value::Nil), Reads::Register), Ok(Op::ReadSet));
        assert_eq!(to_op(&inv("add", None, Value::Int(4)), Reads::Set), Ok(Op::Add { element: Value::Int(4) }));
    }

    #[test]
    fn bank_operations() {
        let (a, b) = (Value::Str("a".into()), Value::Str("b".into()));
        assert_eq!(
            to_op(&inv("transfer", None, list(vec![a.clone(), b.clone(), Value::Int(5)])), Reads::Register),
            Ok(Op::Transfer { from: a.clone(), to: b.clone(), amount: 5 })
        );
        assert!(to_op(&inv("transfer", None, list(vec![a.clone(), b.clone()])), Reads::Register).is_err());
        assert!(to_op(&inv("transfer", None, list(vec![a.clone(), b.clone(), Value::Nil])), Reads::Register).is_err());
        assert_eq!(
            to_op(&inv("read-many", None, list(vec![a.clone(), b.clone()])), Reads::Register),
            Ok(Op::ReadMany { keys: vec![a, b] })
        );
        assert!(to_op(&inv("read-many", None, Value::Nil), Reads::Register).is_err());
        assert!(to_op(&inv("append", None, Value::Nil), Reads::Register).is_err());
    }

    #[test]
    fn replies_echo_updates_and_return_reads() {
        let write = inv("write", None, Value::Int(3));
        assert_eq!(to_reply(&write, Ok(Value::Nil)), Ok(Reply::Ok(Value::Int(3))));
        let read = inv("read", None, Value::Nil);
        assert_eq!(to_reply(&read, Ok(Value::Int(3))), Ok(Reply::Ok(Value::Int(3))));
        let cas = inv("cas", None, list(vec![Value::Int(1), Value::Int(2)]));
        assert_eq!(
            to_reply(&cas, Err(Failure::Rejected("cas mismatch".into()))),
            Ok(Reply::Fail("cas mismatch".into()))
        );
        assert!(matches!(to_reply(&cas, Err(Failure::Storage("disk".into()))), Err(CallError::Indeterminate(_))));
        assert_eq!(to_reply(&cas, Err(Failure::BadRequest("x".into()))), Ok(Reply::Fail("x".into())));
    }
}
