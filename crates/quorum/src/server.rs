//! The node host: turmoil TCP around the sans-I/O [`Node`]. The only server-side file that
//! touches sockets.
//!
//! - Clients connect to [`CLIENT_PORT`] and send framed [`Request`]s; the node's `Reply`
//!   effects go back on the same connection.
//! - Nodes talk over [`PEER_PORT`]: one outgoing connection per peer, opened lazily, its first
//!   frame a [`Hello`] naming the sender. A message that cannot be delivered goes back to the
//!   node as `on_unreachable`. turmoil's TCP never retransmits, so a stream that crossed a
//!   partition may be stalled for good: while the node suspects a peer, each message to it
//!   opens a fresh connection, and any connection is renewed after [`PEER_STREAM_MAX_AGE`].
//! - Disk time is charged as in the SQL store: the disk work a node call caused is turned into
//!   simulated time ([`DiskCost`]), serialised on one disk queue, and the call's effects go out
//!   only after it. Under `group` commit, effects of calls that wrote wait for the next sync.
//! - A ticker drives `on_tick` (timeouts, hints, anti-entropy) every [`TICK`]; a syncer syncs the
//!   commit log every period under `periodic` and `group`.
//! - The node's clock offset (clock skew) is read from a shared cell before every call.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::rc::Rc;
use std::time::Duration;

use lsm::{CommitLogSync, Engine, EngineConfig};
use serde::{Deserialize, Serialize};
use sim::disk_cost::{DiskCost, DiskQueue, DiskWork};
use sim::frame::{self, FrameDecoder, MAX_FRAME, MAX_REPLY_FRAME};
use tokio::sync::mpsc;
use turmoil::net::{TcpListener, TcpStream};

use crate::config::NodeConfig;
use crate::engine_storage::EngineStorage;
use crate::message::{Effect, Failure, PeerMessage, Request, Response};
use crate::node::Node;

/// Where clients connect.
pub const CLIENT_PORT: u16 = 9042;
/// Where nodes connect to each other.
pub const PEER_PORT: u16 = 7000;
/// How often the node's timers run.
pub const TICK: Duration = Duration::from_millis(10);
/// How long a connection attempt to a peer may take (a crashed host never answers).
pub const PEER_CONNECT_TIMEOUT: Duration = Duration::from_millis(100);
/// After a failed connection attempt, messages to that peer fail at once for this long.
pub const PEER_BACKOFF: Duration = Duration::from_millis(100);
/// A connection that sends nothing for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// A peer connection older than this is replaced before the next message. turmoil's TCP never
/// retransmits, so a stream that lost a segment to a partition stays stalled after the heal;
/// renewing connections stands in for retransmission and bounds how long that lasts.
pub const PEER_STREAM_MAX_AGE: Duration = Duration::from_millis(500);
/// Messages queued for one peer before further ones count as undeliverable.
const PEER_QUEUE: usize = 4096;
/// Replies queued for one client connection.
const CLIENT_QUEUE: usize = 256;

/// The first frame on a peer connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hello {
    /// The sending node.
    pub from: u32,
}

/// Everything a node host needs to start.
#[derive(Debug, Clone)]
pub struct NodeSetup {
    /// The node's protocol configuration.
    pub config: NodeConfig,
    /// Host name of every node, by id (this one included).
    pub hosts: BTreeMap<u32, String>,
    /// The storage engine's configuration.
    pub engine: EngineConfig,
    /// Commit log sync policy.
    pub sync: CommitLogSync,
    /// What disk work costs in simulated time.
    pub disk: DiskCost,
    /// Messages sent (shared by the whole system).
    pub messages: Rc<Cell<u64>>,
    /// This node's clock offset from simulated time, in nanoseconds (set by clock-skew faults).
    pub skew_ns: Rc<Cell<i64>>,
    /// Malformed frames received (shared by the whole system).
    pub bad_frames: Rc<Cell<u64>>,
}

/// Simulated time since the start (zero outside a simulation).
fn now() -> Duration {
    turmoil::sim_elapsed().unwrap_or_default()
}

struct Host {
    node: RefCell<Node<EngineStorage>>,
    id: u32,
    peers: RefCell<BTreeMap<u32, mpsc::Sender<PeerMessage>>>,
    clients: RefCell<BTreeMap<u64, mpsc::Sender<Response>>>,
    next_conn: Cell<u64>,
    queue: Cell<DiskQueue>,
    /// Effects waiting for the next group-commit sync.
    held: RefCell<Vec<Effect>>,
    setup: NodeSetup,
}

impl Host {
    /// Runs one node call, then sends its effects once its disk time has passed.
    fn run(self: &Rc<Self>, call: impl FnOnce(&mut Node<EngineStorage>, Duration) -> Vec<Effect>) {
        let (effects, work, hold) = {
            let mut node = self.node.borrow_mut();
            node.set_clock_offset(self.setup.skew_ns.get());
            let effects = call(&mut node, now());
            let storage = node.storage_mut();
            let hold = matches!(storage.sync_policy(), CommitLogSync::Group(_)) && storage.dirty();
            (effects, storage.take_disk_work(), hold)
        };
        if hold {
            self.charge(work);
            self.held.borrow_mut().extend(effects);
        } else {
            self.dispatch_after(work, effects);
        }
    }

    /// Books `work` on the disk queue; returns when it is done.
    fn charge(&self, work: DiskWork) -> Option<tokio::time::Instant> {
        let cost = self.setup.disk.charge(work);
        if cost.is_zero() {
            return None;
        }
        let mut queue = self.queue.get();
        let done = queue.reserve(tokio::time::Instant::now(), cost);
        self.queue.set(queue);
        Some(done)
    }

    fn dispatch_after(self: &Rc<Self>, work: DiskWork, effects: Vec<Effect>) {
        match self.charge(work) {
            None => self.route(effects),
            Some(done) => {
                let host = Rc::clone(self);
                tokio::task::spawn_local(async move {
                    tokio::time::sleep_until(done).await;
                    host.route(effects);
                });
            }
        }
    }

    fn route(self: &Rc<Self>, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Send { to, msg } => {
                    let sender = self.peers.borrow().get(&to).cloned();
                    let undelivered = match sender {
                        Some(sender) => sender.try_send(msg).err().map(|e| match e {
                            mpsc::error::TrySendError::Full(msg) | mpsc::error::TrySendError::Closed(msg) => msg,
                        }),
                        None => Some(msg),
                    };
                    if let Some(msg) = undelivered {
                        self.run(|node, now| node.on_unreachable(now, to, msg));
                    }
                }
                Effect::Reply { conn, response } => {
                    if let Some(sender) = self.clients.borrow().get(&conn) {
                        // A full or closed queue: the client is gone or not reading.
                        let _ = sender.try_send(response);
                    }
                }
            }
        }
    }
}

/// The node host's start-up future: recover the engine, start the node, serve.
pub async fn serve(setup: NodeSetup) -> turmoil::Result {
    let engine = Engine::open(setup.engine.clone())?;
    let storage = EngineStorage::new(engine, setup.sync);
    let node = Node::new(setup.config.clone(), storage, now())?;
    let id = setup.config.id;
    let host = Rc::new(Host {
        node: RefCell::new(node),
        id,
        peers: RefCell::new(BTreeMap::new()),
        clients: RefCell::new(BTreeMap::new()),
        next_conn: Cell::new(1),
        queue: Cell::new(DiskQueue::new()),
        held: RefCell::new(Vec::new()),
        setup,
    });
    let peers: Vec<(u32, String)> =
        host.setup.hosts.iter().filter(|(&peer, _)| peer != id).map(|(&p, n)| (p, n.clone())).collect();
    for (peer, name) in peers {
        let (sender, receiver) = mpsc::channel(PEER_QUEUE);
        host.peers.borrow_mut().insert(peer, sender);
        tokio::task::spawn_local(peer_writer(Rc::clone(&host), peer, name, receiver));
    }
    tokio::task::spawn_local(ticker(Rc::clone(&host)));
    if let Some(period) = host.setup.sync.sync_interval() {
        tokio::task::spawn_local(syncer(Rc::clone(&host), period));
    }
    let peer_listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, PEER_PORT)).await?;
    let client_listener = TcpListener::bind((Ipv4Addr::UNSPECIFIED, CLIENT_PORT)).await?;
    tokio::task::spawn_local(accept_peers(Rc::clone(&host), peer_listener));
    loop {
        let (stream, _) = client_listener.accept().await?;
        tokio::task::spawn_local(client_connection(Rc::clone(&host), stream));
    }
}

async fn ticker(host: Rc<Host>) {
    loop {
        tokio::time::sleep(TICK).await;
        host.run(|node, now| node.on_tick(now));
    }
}

/// The commit log's timer (`periodic`, `group`): sync, charge the disk time, then release what
/// group commit held back. Effects whose writes could not be synced are dropped: their
/// clients time out, which is the truth (the writes are not durable).
async fn syncer(host: Rc<Host>, period: Duration) {
    loop {
        tokio::time::sleep(period).await;
        let (synced, work) = {
            let mut node = host.node.borrow_mut();
            let storage = node.storage_mut();
            let synced = storage.sync().is_ok();
            (synced, storage.take_disk_work())
        };
        let held = std::mem::take(&mut *host.held.borrow_mut());
        host.dispatch_after(work, if synced { held } else { Vec::new() });
    }
}

async fn connect_peer(id: u32, name: &str) -> Option<TcpStream> {
    let connect = TcpStream::connect((name, PEER_PORT));
    let mut stream = tokio::time::timeout(PEER_CONNECT_TIMEOUT, connect).await.ok()?.ok()?;
    let hello = frame::encode(&Hello { from: id }).ok()?;
    frame::write_frame(&mut stream, &hello).await.ok()?;
    Some(stream)
}

/// Delivers the node's messages to one peer, in order.
async fn peer_writer(host: Rc<Host>, peer: u32, name: String, mut queue: mpsc::Receiver<PeerMessage>) {
    let mut stream: Option<TcpStream> = None;
    let mut opened = Duration::ZERO;
    let mut down_until = Duration::ZERO;
    while let Some(msg) = queue.recv().await {
        let suspect = host.node.borrow().suspects(peer, now());
        if suspect || now().saturating_sub(opened) > PEER_STREAM_MAX_AGE {
            // The current stream may have lost a segment to a partition: start afresh.
            stream = None;
        }
        if stream.is_none() && now() >= down_until {
            stream = connect_peer(host.id, &name).await;
            opened = now();
            if stream.is_none() {
                down_until = now() + PEER_BACKOFF;
            }
        }
        let delivered = match (stream.as_mut(), frame::encode(&msg)) {
            (Some(stream), Ok(bytes)) => frame::write_frame(stream, &bytes).await.is_ok(),
            _ => false,
        };
        if delivered {
            host.setup.messages.set(host.setup.messages.get() + 1);
        } else {
            stream = None;
            host.run(|node, now| node.on_unreachable(now, peer, msg));
        }
    }
}

async fn accept_peers(host: Rc<Host>, listener: TcpListener) {
    while let Ok((stream, _)) = listener.accept().await {
        tokio::task::spawn_local(peer_reader(Rc::clone(&host), stream));
    }
}

/// Reads one peer's messages: a [`Hello`], then [`PeerMessage`]s. Anything malformed closes
/// the connection (and is counted); the node is never told about it.
async fn peer_reader(host: Rc<Host>, mut stream: TcpStream) {
    let mut decoder = FrameDecoder::new(MAX_FRAME);
    let mut from = None;
    loop {
        let read = tokio::time::timeout(IDLE_TIMEOUT, frame::read_frame(&mut stream, &mut decoder)).await;
        let Ok(Ok(Some(body))) = read else { return };
        match from {
            None => match frame::decode::<Hello>(&body) {
                Ok(hello) if host.setup.hosts.contains_key(&hello.from) && hello.from != host.id => {
                    from = Some(hello.from);
                }
                _ => return bad_frame(&host),
            },
            Some(peer) => match frame::decode::<PeerMessage>(&body) {
                Ok(msg) => host.run(|node, now| node.on_peer(now, peer, msg)),
                Err(_) => return bad_frame(&host),
            },
        }
    }
}

fn bad_frame(host: &Host) {
    host.setup.bad_frames.set(host.setup.bad_frames.get() + 1);
}

/// Serves one client connection: requests in, replies out (from a writer task, since replies
/// come from node effects, possibly after other requests).
async fn client_connection(host: Rc<Host>, stream: TcpStream) {
    let conn = host.next_conn.get();
    host.next_conn.set(conn + 1);
    let (mut reader, mut writer) = stream.into_split();
    let (sender, mut replies) = mpsc::channel::<Response>(CLIENT_QUEUE);
    host.clients.borrow_mut().insert(conn, sender);
    let messages = Rc::clone(&host.setup.messages);
    let write_task = tokio::task::spawn_local(async move {
        while let Some(response) = replies.recv().await {
            let Ok(bytes) = frame::encode_limited(&response, MAX_REPLY_FRAME) else { break };
            if frame::write_frame(&mut writer, &bytes).await.is_err() {
                break;
            }
            messages.set(messages.get() + 1);
        }
    });
    let mut decoder = FrameDecoder::new(MAX_FRAME);
    loop {
        let read = tokio::time::timeout(IDLE_TIMEOUT, frame::read_frame(&mut reader, &mut decoder)).await;
        let Ok(Ok(Some(body))) = read else { break };
        match frame::decode::<Request>(&body) {
            Ok(request) => host.run(|node, now| node.on_request(now, conn, request)),
            Err(error) => {
                bad_frame(&host);
                let id = frame::salvage_id(&body).unwrap_or(0);
                let failure = Failure::Unsupported(format!("malformed request: {error}"));
                if let Some(sender) = host.clients.borrow().get(&conn) {
                    let _ = sender.try_send(Response { id, result: Err(failure) });
                }
                break;
            }
        }
    }
    host.clients.borrow_mut().remove(&conn);
    // Let the writer send what is queued (the error reply), then end with the channel.
    let _ = write_task.await;
}
