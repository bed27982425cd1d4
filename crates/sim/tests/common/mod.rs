//! The toy system the harness tests run: one in-memory server `db` speaking a
//! length-prefixed JSON frame protocol over turmoil TCP. It is linearizable when nothing goes
//! wrong, forgets everything on a restart (it has no disk), and records every clock offset the
//! harness sets, which is all these tests need.

#![allow(dead_code, reason = "each test file uses a part of the toy")]

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::rc::Rc;
use std::time::Duration;

use history::Value;
use sim::{CallError, Client, LocalFuture, Operation, Reply, System};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use turmoil::net::{TcpListener, TcpStream};

/// The server's port.
pub const PORT: u16 = 7000;
/// Frames larger than this are garbage.
const MAX_FRAME: u32 = 1 << 20;

/// The toy system: registers (key-less or keyed) and one grow-only set.
pub struct Toy {
    /// How long the server takes to start listening (connections are refused until then).
    pub startup: Duration,
    /// The server fails at once on start-up.
    pub broken: bool,
    /// Every `skew_clock` call, in order.
    pub skews: Rc<RefCell<Vec<(String, i64)>>>,
    pub messages: Rc<Cell<u64>>,
    /// Disk time every operation costs the server, booked on a [`sim::NodeClock`] as the real
    /// stores book theirs (the reply waits for it).
    pub op_cost: Duration,
}

impl Toy {
    pub fn new() -> Self {
        Self {
            startup: Duration::ZERO,
            broken: false,
            skews: Rc::default(),
            messages: Rc::default(),
            op_cost: Duration::ZERO,
        }
    }
}

#[derive(Default)]
struct Store {
    registers: BTreeMap<Option<Value>, Value>,
    elements: Vec<Value>,
}

impl Store {
    fn apply(&mut self, f: &str, key: Option<Value>, value: Value) -> Reply {
        match (f, value) {
            ("read-set", _) => Reply::Ok(Value::List(self.elements.clone())),
            ("read", _) => Reply::Ok(self.registers.get(&key).cloned().unwrap_or_default()),
            ("write", value) => {
                self.registers.insert(key, value.clone());
                Reply::Ok(value)
            }
            ("cas", Value::List(pair)) if pair.len() == 2 => {
                let current = self.registers.get(&key).cloned().unwrap_or_default();
                if current == pair[0] {
                    self.registers.insert(key, pair[1].clone());
                    Reply::Ok(Value::List(pair))
                } else {
                    Reply::Fail(format!("expected {} but found {current}", pair[0]))
                }
            }
            ("add", value) => {
                self.elements.push(value.clone());
                Reply::Ok(value)
            }
            (f, value) => Reply::Fail(format!("cannot {f} {value}")),
        }
    }
}

pub async fn write_frame(stream: &mut TcpStream, value: &Value) -> std::io::Result<()> {
    let body = serde_json::to_vec(value).map_err(std::io::Error::other)?;
    let len = u32::try_from(body.len()).map_err(std::io::Error::other)?;
    let mut frame = len.to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    stream.write_all(&frame).await
}

pub async fn read_frame(stream: &mut TcpStream) -> std::io::Result<Value> {
    let len = stream.read_u32().await?;
    if len > MAX_FRAME {
        return Err(std::io::Error::other(format!("frame of {len} bytes")));
    }
    let mut body = vec![0; len as usize];
    stream.read_exact(&mut body).await?;
    serde_json::from_slice(&body).map_err(std::io::Error::other)
}

async fn serve_connection(
    mut stream: TcpStream,
    store: Rc<RefCell<Store>>,
    messages: Rc<Cell<u64>>,
    clock: Rc<Cell<sim::NodeClock>>,
    op_cost: Duration,
) {
    while let Ok(request) = read_frame(&mut stream).await {
        let reply = match request.as_list() {
            Some([Value::Str(f), key, value]) => {
                let key = (!key.is_nil()).then(|| key.clone());
                store.borrow_mut().apply(f, key, value.clone())
            }
            _ => Reply::Fail(format!("bad request {request}")),
        };
        let frame = match reply {
            Reply::Ok(v) => Value::List(vec!["ok".into(), v]),
            Reply::Fail(why) => Value::List(vec!["fail".into(), Value::Str(why)]),
        };
        let mut node = clock.get();
        let done = node.book(tokio::time::Instant::now(), Duration::ZERO, op_cost);
        clock.set(node);
        if let Some(done) = done {
            tokio::time::sleep_until(done).await;
        }
        messages.set(messages.get() + 1);
        if write_frame(&mut stream, &frame).await.is_err() {
            return;
        }
    }
}

impl System for Toy {
    type Client = ToyClient;

    fn servers(&self) -> Vec<String> {
        vec!["db".to_owned()]
    }

    fn serve(&self, _host: &str) -> LocalFuture<turmoil::Result> {
        let (startup, broken, messages, op_cost) = (self.startup, self.broken, Rc::clone(&self.messages), self.op_cost);
        Box::pin(async move {
            if broken {
                return Err("the toy refuses to start".into());
            }
            sim::time::sleep(startup).await;
            // In memory: a restart starts empty.
            let store = Rc::new(RefCell::new(Store::default()));
            let clock = Rc::new(Cell::new(sim::NodeClock::new(sim::Overlap::Serial)));
            let listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, PORT)).await?;
            loop {
                let (stream, _) = listener.accept().await?;
                tokio::task::spawn_local(serve_connection(
                    stream,
                    Rc::clone(&store),
                    Rc::clone(&messages),
                    Rc::clone(&clock),
                    op_cost,
                ));
            }
        })
    }

    fn client(&self, _client: usize) -> ToyClient {
        ToyClient { stream: None, messages: Rc::clone(&self.messages) }
    }

    /// The toy keeps no clock; it records the offsets for the tests to inspect.
    fn skew_clock(&self, host: &str, offset_ms: i64) {
        self.skews.borrow_mut().push((host.to_owned(), offset_ms));
    }

    fn messages_sent(&self) -> u64 {
        self.messages.get()
    }
}

/// One connection, opened on the first call after a reset.
pub struct ToyClient {
    stream: Option<TcpStream>,
    messages: Rc<Cell<u64>>,
}

impl Client for ToyClient {
    async fn call(&mut self, operation: &Operation) -> Result<Reply, CallError> {
        // The toy's wire: `[f key value]`, in the history encoding, except that a set read is
        // `read-set` (in a history it is a key-less `read`).
        let f = match operation {
            Operation::ReadSet => "read-set",
            Operation::Transfer { .. } | Operation::ReadMany { .. } | Operation::Txn { .. } => {
                return Ok(Reply::Fail(format!("the toy does not serve `{}`", operation.f())))
            }
            _ => operation.f(),
        };
        let stream = match &mut self.stream {
            Some(stream) => stream,
            None => {
                let stream = TcpStream::connect(("db", PORT)).await.map_err(|e| CallError::NotSent(e.to_string()))?;
                self.stream.insert(stream)
            }
        };
        let key = operation.key().cloned().unwrap_or_default();
        let request = Value::List(vec![f.into(), key, operation.value()]);
        self.messages.set(self.messages.get() + 1);
        write_frame(stream, &request).await.map_err(|e| CallError::Indeterminate(e.to_string()))?;
        let reply = read_frame(stream).await.map_err(|e| CallError::Indeterminate(e.to_string()))?;
        match reply.as_list() {
            Some([Value::Str(ok), v]) if ok == "ok" => Ok(Reply::Ok(v.clone())),
            Some([Value::Str(fail), Value::Str(why)]) if fail == "fail" => Ok(Reply::Fail(why.clone())),
            _ => Err(CallError::Indeterminate(format!("garbage reply {reply}"))),
        }
    }

    fn reset(&mut self) {
        self.stream = None;
    }
}
