//! A deterministic discrete-event network of [`quorum_core::Node`]s: every message is delivered
//! after its own independently drawn delay ([`Wars`], by message kind), in nanoseconds.
//!
//! Unlike turmoil's TCP there is no ordering between messages (a read request sent after a
//! write may overtake it, as independent delays imply), no loss and no partition. No ticks are
//! driven: nothing fails here, so no request waits for a deadline; every request finishes when
//! its answers arrive. Events at the same nanosecond are delivered in the order they were
//! sent.

use std::collections::BTreeMap;
use std::time::Duration;

use base::Rng;
use quorum_core::{Effect, MemStorage, Node, NodeConfig, NodeError, PeerMessage, Request, Response};

use crate::delay::{Delay, Wars};

/// A message on its way.
#[derive(Debug)]
struct Delivery {
    from: u32,
    to: u32,
    msg: PeerMessage,
}

/// Nodes, the messages between them, and the replies to clients.
#[derive(Debug)]
pub struct Network {
    nodes: BTreeMap<u32, Node<MemStorage>>,
    /// Messages in flight by (arrival in ns, send order).
    queue: BTreeMap<(u64, u64), Delivery>,
    sent: u64,
    now: u64,
    delays: Wars,
    rng: Rng,
    replies: BTreeMap<u64, (u64, Response)>,
}

impl Network {
    /// One node per configuration, each over empty in-memory storage, at time 0.
    pub fn new(configs: Vec<NodeConfig>, delays: Wars, rng: Rng) -> Result<Self, NodeError> {
        let mut nodes = BTreeMap::new();
        for config in configs {
            let id = config.id;
            nodes.insert(id, Node::new(config, MemStorage::new(), Duration::ZERO)?);
        }
        Ok(Network { nodes, queue: BTreeMap::new(), sent: 0, now: 0, delays, rng, replies: BTreeMap::new() })
    }

    /// The current time in nanoseconds.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Messages sent so far.
    pub fn messages(&self) -> u64 {
        self.sent
    }

    /// Hands `request` to `node` now, as if from a client on connection `conn` beside it (the
    /// reply reaches the client without delay). Returns false when there is no such node.
    pub fn request(&mut self, node: u32, conn: u64, request: Request) -> bool {
        let now = Duration::from_nanos(self.now);
        let Some(target) = self.nodes.get_mut(&node) else { return false };
        let effects = target.on_request(now, conn, request);
        self.carry_out(node, effects);
        true
    }

    /// The reply on `conn`, with the time it came, if it has come (taken: asked once).
    pub fn take_reply(&mut self, conn: u64) -> Option<(u64, Response)> {
        self.replies.remove(&conn)
    }

    /// Delivers the next message, advancing time to its arrival; false when none is in flight.
    pub fn step(&mut self) -> bool {
        let Some(((at, _), delivery)) = self.queue.pop_first() else { return false };
        self.now = self.now.max(at);
        let now = Duration::from_nanos(self.now);
        if let Some(node) = self.nodes.get_mut(&delivery.to) {
            let effects = node.on_peer(now, delivery.from, delivery.msg);
            self.carry_out(delivery.to, effects);
        }
        true
    }

    /// Delivers every message due at or before `deadline` (ns), then sets the time to it.
    pub fn run_until(&mut self, deadline: u64) {
        while self.queue.first_key_value().is_some_and(|(&(at, _), _)| at <= deadline) {
            self.step();
        }
        self.now = self.now.max(deadline);
    }

    /// Delivers messages until the reply on `conn` has come (returned, with its time) or
    /// nothing is left in flight (`None`).
    pub fn run_until_reply(&mut self, conn: u64) -> Option<(u64, Response)> {
        loop {
            if let Some(reply) = self.take_reply(conn) {
                return Some(reply);
            }
            if !self.step() {
                return None;
            }
        }
    }

    /// Delivers every message in flight.
    pub fn drain(&mut self) {
        while self.step() {}
    }

    /// The delay of a message, by its WARS role; messages outside the model (hints, repairs,
    /// anti-entropy, none of which the trials turn on) take the read-request delay.
    fn delay_of(&self, msg: &PeerMessage) -> Delay {
        match msg {
            PeerMessage::Write { .. } => self.delays.write,
            PeerMessage::WriteAck { .. } | PeerMessage::WriteRefused { .. } => self.delays.ack,
            PeerMessage::ReadReply { .. } => self.delays.response,
            _ => self.delays.read,
        }
    }

    fn carry_out(&mut self, from: u32, effects: Vec<Effect>) {
        for effect in effects {
            match effect {
                Effect::Send { to, msg } => {
                    let delay = self.delay_of(&msg).sample_ns(&mut self.rng);
                    // Round to the nanosecond; the send order breaks ties.
                    let at = self.now.saturating_add(delay.round() as u64);
                    self.queue.insert((at, self.sent), Delivery { from, to, msg });
                    self.sent += 1;
                }
                Effect::Reply { conn, response } => {
                    self.replies.insert(conn, (self.now, response));
                }
            }
        }
    }
}
