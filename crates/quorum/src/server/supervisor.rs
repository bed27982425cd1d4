//! The node host's supervisor: [`serve`] starts incarnations of the node and starts them
//! again after disk failures (see [`crate::server`]); [`Restarts`] counts what it did.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::rc::Rc;

use lsm::{Engine, SyncBatcher};
use sim::capacity::{NodeClock, Overlap};
use sim::disk_cost::SyncDraws;
use sim::fs::SimFs;
use sim::supervise::Backoff;
use tokio::sync::mpsc;
use turmoil::net::TcpListener;

use super::{
    accept_peers, client_connection, now, peer_writer, sampler, syncer, ticker, Host, NodeSetup, CLIENT_PORT,
    PEER_PORT, PEER_QUEUE,
};
use crate::engine_storage::EngineStorage;
use crate::node::{Node, NodeError};

/// The node host's start-up future (re-run by turmoil after a crash): the supervisor loop.
/// Each round starts an incarnation of the node (recover the engine, build the node, listen)
/// and serves until a disk failure stops it; then, after a backoff, the next round starts
/// from the files (see the module docs). Only a configuration the node refuses ends it.
pub async fn serve(setup: NodeSetup) -> turmoil::Result {
    let name = setup.hosts.get(&setup.config.id).cloned().unwrap_or_default();
    let mut backoff = Backoff::default();
    loop {
        match start(&setup) {
            Ok(host) => {
                let ended = run(&host).await;
                host.halt();
                match ended {
                    Ok(reason) => {
                        setup.restarts.restart(format!("{name}: {reason}"));
                        backoff.reset();
                    }
                    Err(reason) => setup.restarts.failed_start(format!("{name}: {reason}")),
                }
            }
            Err(Start::Refused(error)) => return Err(error.into()),
            Err(Start::Failed(reason)) => setup.restarts.failed_start(format!("{name}: {reason}")),
        }
        sim::time::sleep(backoff.next_pause()).await;
    }
}

/// Why an incarnation did not start.
enum Start {
    /// The configuration is invalid: retrying cannot help.
    Refused(NodeError),
    /// Recovery failed (the disk): retry.
    Failed(String),
}

/// Recovers the engine and builds the node.
fn start(setup: &NodeSetup) -> Result<Rc<Host>, Start> {
    let mut engine = Engine::open_on(setup.engine.clone(), Box::new(SimFs))
        .map_err(|e| Start::Failed(format!("recovery failed: {e}")))?;
    if setup.log_buffer > 0 {
        engine.set_log_buffer(setup.log_buffer).map_err(|e| Start::Failed(format!("commit-log buffer: {e}")))?;
    }
    let mut storage = EngineStorage::new(engine, setup.sync);
    preload(&mut storage, setup).map_err(|e| Start::Failed(format!("preloading failed: {e}")))?;
    let node = Node::new(setup.config.clone(), storage, now()).map_err(|e| match e {
        NodeError::Storage(error) => Start::Failed(format!("reading the hints failed: {error}")),
        refused => Start::Refused(refused),
    })?;
    Ok(Rc::new(Host {
        node: RefCell::new(node),
        id: setup.config.id,
        peers: RefCell::new(BTreeMap::new()),
        clients: RefCell::new(BTreeMap::new()),
        next_conn: Cell::new(1),
        clock: Cell::new(NodeClock::new(Overlap::Pipelined)),
        // One stream per node and incarnation.
        draws: RefCell::new(SyncDraws::new(&setup.disk, u64::from(setup.config.id) << 48 ^ now().as_nanos() as u64)),
        held: RefCell::new(Vec::new()),
        held_until: Cell::new(None),
        batch: RefCell::new(SyncBatcher::new()),
        setup: setup.clone(),
        tasks: RefCell::new(Vec::new()),
        dead: Cell::new(false),
        failure: RefCell::new(None),
        stop: tokio::sync::Notify::new(),
    }))
}

/// Writes the preloaded keys this node replicates and does not hold yet, at the lowest
/// version, and syncs them: every start does it, so a node that crashed before the sync
/// writes them again, and one that holds them (or later writes) keeps what it has.
fn preload(storage: &mut EngineStorage, setup: &NodeSetup) -> Result<(), crate::StorageError> {
    use crate::Storage;
    if setup.preload.is_empty() {
        return Ok(());
    }
    let ids: Vec<u32> = setup.hosts.keys().copied().collect();
    let ring = crate::ring::Ring::new(&ids, setup.config.vnodes);
    let mut wrote = false;
    for (key, value) in setup.preload.iter() {
        if !ring.preference_list(key, setup.config.replication).contains(&setup.config.id) {
            continue;
        }
        if storage.get(key)?.is_none() {
            storage.put(key, crate::Cell::new(value.clone(), crate::Version::default()))?;
            wrote = true;
        }
    }
    if wrote {
        storage.sync()?;
    }
    Ok(())
}

/// Serves one incarnation until it must stop: `Ok(why)` after a disk failure, `Err(why)` when
/// it could not listen.
async fn run(host: &Rc<Host>) -> Result<String, String> {
    let id = host.id;
    let peers: Vec<(u32, String)> =
        host.setup.hosts.iter().filter(|(&peer, _)| peer != id).map(|(&p, n)| (p, n.clone())).collect();
    for (peer, name) in peers {
        let (sender, receiver) = mpsc::channel(PEER_QUEUE);
        host.peers.borrow_mut().insert(peer, sender);
        host.spawn(peer_writer(Rc::clone(host), peer, name, receiver));
    }
    host.spawn(ticker(Rc::clone(host)));
    if let Some((period, samples)) = host.setup.samples.clone() {
        host.spawn(sampler(Rc::clone(host), period, samples));
    }
    if let Some(period) = host.setup.sync.sync_interval() {
        host.spawn(syncer(Rc::clone(host), period));
    }
    let bind = |port| TcpListener::bind((Ipv4Addr::UNSPECIFIED, port));
    let peer_listener = bind(PEER_PORT).await.map_err(|e| format!("binding the peer port: {e}"))?;
    let client_listener = bind(CLIENT_PORT).await.map_err(|e| format!("binding the client port: {e}"))?;
    host.spawn(accept_peers(Rc::clone(host), peer_listener));
    loop {
        tokio::select! {
            biased;
            () = host.stop.notified() => break,
            accepted = client_listener.accept() => match accepted {
                Ok((stream, _)) => host.spawn(client_connection(Rc::clone(host), stream)),
                Err(error) => host.fail(format!("accepting a client failed: {error}")),
            },
        }
    }
    Ok(host.failure.borrow().clone().unwrap_or_default())
}
