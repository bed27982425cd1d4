//! [`RaftClient`]: one logical client of the replicated store, as rqlite's and etcd's clients
//! behave: it routes each operation to its shard by a hash of its key, sends it to the node it
//! believes leads that shard, and follows redirects (a node that does not lead answers with
//! the leader it knows, executing nothing).
//!
//! Sharding: the shard of a key is FNV-1a of its JSON text modulo the number of shards; the
//! set workload's elements all live on the shard of the key `"set"`. An operation whose keys
//! lie on several shards (a transfer, a multi-key read or a transaction across them) is
//! refused before anything is sent, a definite `fail`: there is no two-phase commit across
//! groups.
//!
//! Outcomes: a request never sent (every node refused the connection, or only redirects came
//! back within [`MAX_ATTEMPTS`]) is `NotSent`; once a request that a node may execute has been
//! written, a broken connection is `Indeterminate`.

use std::collections::BTreeMap;
use std::rc::Rc;

use history::Value;
use sim::frame::FrameDecoder;
use sim::{CallError, Client, Operation, Reply};
use sqlstore::wire::Op;
use turmoil::net::TcpStream;

use crate::config::{RaftConfig, ReadMode};
use crate::server::Shared;
use crate::wire::{Outcome, Request, Response, CLIENT_PORT};

/// Nodes tried (redirects followed) before a call gives up without having sent anything.
pub const MAX_ATTEMPTS: usize = 12;

/// The key the set workload's elements share (one shard holds the set).
pub const SET_KEY: &str = "set";

/// A logical client.
pub struct RaftClient {
    config: RaftConfig,
    client: usize,
    shared: Rc<Shared>,
    connections: BTreeMap<String, (TcpStream, FrameDecoder)>,
    /// The node each shard's requests go to first (the last leader heard of).
    targets: BTreeMap<usize, String>,
    next_id: u64,
}

impl RaftClient {
    /// Logical client number `client` of a store configured as `config`.
    pub fn new(config: RaftConfig, client: usize, shared: Rc<Shared>) -> Self {
        RaftClient { config, client, shared, connections: BTreeMap::new(), targets: BTreeMap::new(), next_id: 1 }
    }

    /// The hosts of shard `shard` (from 0).
    fn hosts(&self, shard: usize) -> Vec<String> {
        (1..=self.config.nodes).map(|i| self.config.host(shard + 1, i)).collect()
    }

    /// Sends `request` to `host` and reads the response. `Ok(None)`: nothing was sent (no
    /// connection).
    async fn round_trip(&mut self, host: &str, request: &Request) -> Result<Option<Response>, CallError> {
        if !self.connections.contains_key(host) {
            // A crashed host never answers a connection: give up after a tick, nothing sent.
            let connect = sim::time::timeout(self.config.tick, TcpStream::connect((host, CLIENT_PORT)));
            let Ok(Ok(stream)) = connect.await else { return Ok(None) };
            self.connections.insert(host.to_owned(), (stream, FrameDecoder::new(sim::frame::MAX_REPLY_FRAME)));
        }
        let frame = sim::frame::encode(request).map_err(|e| CallError::NotSent(e.to_string()))?;
        let Some((stream, decoder)) = self.connections.get_mut(host) else { return Ok(None) };
        if let Err(error) = sim::frame::write_frame(stream, &frame).await {
            self.connections.remove(host);
            return Err(CallError::Indeterminate(format!("sending to {host}: {error}")));
        }
        self.shared.messages.set(self.shared.messages.get() + 1);
        let body = match sim::frame::read_frame(stream, decoder).await {
            Ok(Some(body)) => body,
            Ok(None) => {
                self.connections.remove(host);
                return Err(CallError::Indeterminate(format!("{host} closed the connection before replying")));
            }
            Err(error) => {
                self.connections.remove(host);
                return Err(CallError::Indeterminate(format!("receiving from {host}: {error}")));
            }
        };
        match sim::frame::decode::<Response>(&body) {
            Ok(response) if response.id == request.id => Ok(Some(response)),
            Ok(response) => Err(CallError::Indeterminate(format!("reply {} to request {}", response.id, request.id))),
            Err(error) => Err(CallError::Indeterminate(format!("garbage reply from {host}: {error}"))),
        }
    }
}

/// FNV-1a, 64 bits.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The shard of `key` among `shards`.
pub fn shard_of(key: &Value, shards: usize) -> usize {
    let text = serde_json::to_vec(key).unwrap_or_default();
    (fnv(&text) % shards.max(1) as u64) as usize
}

/// The keys an operation touches (the set's shared key for set operations).
fn keys(op: &Op) -> Vec<Value> {
    match op {
        Op::Read { key } | Op::Write { key, .. } | Op::Cas { key, .. } => vec![key.clone()],
        Op::Transfer { from, to, .. } => vec![from.clone(), to.clone()],
        Op::ReadMany { keys } => keys.clone(),
        Op::Add { .. } | Op::ReadSet => vec![Value::from(SET_KEY)],
        Op::Txn { ops } => ops.iter().filter_map(sim::MicroOp::parse).map(|m| m.key().clone()).collect(),
    }
}

/// The one shard every key of `op` lies on, or `None` when they span several.
pub fn shard_for(op: &Op, shards: usize) -> Option<usize> {
    let mut found = None;
    for key in keys(op) {
        let shard = shard_of(&key, shards);
        if found.is_some_and(|f| f != shard) {
            return None;
        }
        found = Some(shard);
    }
    Some(found.unwrap_or(0))
}

impl Client for RaftClient {
    async fn call(&mut self, operation: &Operation) -> Result<Reply, CallError> {
        let op = sqlstore::client::to_op(operation);
        let Some(shard) = shard_for(&op, self.config.shards) else {
            return Ok(Reply::Fail(format!(
                "spans shards: its keys lie in several of the {} Raft groups (no two-phase commit)",
                self.config.shards
            )));
        };
        let hosts = self.hosts(shard);
        let follower_read = self.config.read == ReadMode::Follower && operation.is_read();
        let mut target = if follower_read {
            hosts[self.client % hosts.len()].clone()
        } else {
            self.targets.get(&shard).cloned().unwrap_or_else(|| hosts[self.client % hosts.len()].clone())
        };
        let request = Request { id: self.next_id, op };
        self.next_id += 1;
        for attempt in 0..MAX_ATTEMPTS {
            let next = hosts[(hosts.iter().position(|h| *h == target).unwrap_or(0) + 1) % hosts.len()].clone();
            match self.round_trip(&target, &request).await? {
                None => target = next,
                Some(Response { outcome: Outcome::Done(result), .. }) => {
                    if !follower_read {
                        self.targets.insert(shard, target);
                    }
                    return sqlstore::client::to_reply(operation, result);
                }
                Some(Response { outcome: Outcome::NotLeader(leader), .. }) => {
                    let known = leader.filter(|l| hosts.contains(l));
                    if known.is_none() && attempt + 1 >= hosts.len() {
                        // No node knows a leader: an election is under way.
                        sim::time::sleep(self.config.tick).await;
                    }
                    target = known.unwrap_or(next);
                }
            }
        }
        Err(CallError::NotSent(format!("no leader of shard {} answered after {MAX_ATTEMPTS} attempts", shard + 1)))
    }

    fn reset(&mut self) {
        self.connections.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_shard_takes_everything_and_spanning_operations_are_found() {
        let k = |s: &str| Value::from(s);
        let transfer = Op::Transfer { from: k("a"), to: k("b"), amount: 1 };
        assert_eq!(shard_for(&transfer, 1), Some(0));
        // Among 16 shards, two of these keys differ in shard: the transfer between them spans.
        let keys: Vec<Value> = (0..16).map(Value::Int).collect();
        let shards: Vec<usize> = keys.iter().map(|key| shard_of(key, 16)).collect();
        let (a, b) = (0..16)
            .flat_map(|i| (0..16).map(move |j| (i, j)))
            .find(|&(i, j)| shards[i] != shards[j])
            .expect("two shards");
        let across = Op::Transfer { from: keys[a].clone(), to: keys[b].clone(), amount: 1 };
        assert_eq!(shard_for(&across, 16), None);
        assert_eq!(shard_for(&Op::Read { key: keys[a].clone() }, 16), Some(shards[a]));
        assert_eq!(shard_for(&Op::ReadSet, 4), shard_for(&Op::Add { element: Value::Int(3) }, 4));
    }
}
