//! Unit tests of [`RaftNode`]: the Ready protocol's release of persisted messages.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use lsm::{EngineError, FileSystem, FsFile, RealFs};
use raft::eraftpb::{Entry, Message, MessageType};

use super::{NodeConfig, NodeError, RaftNode};
use crate::log_store::{LogError, LogStore};

/// The real file system, whose file syncs fail while `fail` is set.
#[derive(Debug, Clone)]
struct FlakyFs {
    fail: Arc<AtomicBool>,
}

#[derive(Debug)]
struct FlakyFile {
    inner: Box<dyn FsFile>,
    fail: Arc<AtomicBool>,
}

impl FsFile for FlakyFile {
    fn write_all_at(&self, bytes: &[u8], offset: u64) -> io::Result<()> {
        self.inner.write_all_at(bytes, offset)
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        self.inner.read_at(buf, offset)
    }
    fn sync(&self) -> io::Result<()> {
        if self.fail.load(Ordering::Relaxed) {
            return Err(io::Error::other("injected sync failure"));
        }
        self.inner.sync()
    }
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.inner.set_len(len)
    }
    fn size(&self) -> io::Result<u64> {
        self.inner.size()
    }
}

impl FileSystem for FlakyFs {
    fn check(&self) -> Result<(), EngineError> {
        Ok(())
    }
    fn exists(&self, path: &Path) -> bool {
        RealFs::default().exists(path)
    }
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        RealFs::default().create_dir(path)
    }
    fn sync_dir(&self, path: &Path) -> io::Result<()> {
        RealFs::default().sync_dir(path)
    }
    fn read_dir(&self, path: &Path) -> io::Result<Vec<String>> {
        RealFs::default().read_dir(path)
    }
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        Ok(Box::new(FlakyFile { inner: RealFs::default().create_new(path)?, fail: self.fail.clone() }))
    }
    fn open(&self, path: &Path) -> io::Result<Box<dyn FsFile>> {
        Ok(Box::new(FlakyFile { inner: RealFs::default().open(path)?, fail: self.fail.clone() }))
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        RealFs::default().remove_file(path)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        RealFs::default().rename(from, to)
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("raftsql-node-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// An append from leader 2 in term 1 carrying entry 1, which node 1 must answer only once the
/// entry is durable.
fn append_from_leader() -> Message {
    Message {
        msg_type: MessageType::MsgAppend,
        from: 2,
        to: 1,
        term: 1,
        entries: vec![Entry { index: 1, term: 1, data: b"x".to_vec().into(), ..Entry::default() }].into(),
        ..Message::default()
    }
}

fn node(dir: &Path, fail: &Arc<AtomicBool>) -> Result<RaftNode, NodeError> {
    let store = LogStore::open(Box::new(FlakyFs { fail: fail.clone() }), dir)?;
    RaftNode::new(1, &[1, 2, 3], NodeConfig::default(), 1, store)
}

#[test]
fn append_response_is_released_after_the_sync() -> Result<(), NodeError> {
    let dir = temp_dir("sync-ok");
    let fail = Arc::new(AtomicBool::new(false));
    let mut n = node(&dir, &fail)?;
    n.step(append_from_leader())?;
    let out = n.drive()?;
    let resp: Vec<&Message> =
        out.persisted_messages.iter().filter(|m| m.get_msg_type() == MessageType::MsgAppendResponse).collect();
    assert_eq!(resp.len(), 1, "one append response, among the persisted messages");
    assert_eq!((resp[0].to, resp[0].index, resp[0].reject), (2, 1, false));
    assert!(out.messages.iter().all(|m| m.get_msg_type() != MessageType::MsgAppendResponse));
    assert_eq!(n.leader(), Some(2));
    assert_eq!(n.term(), 1);
    Ok(())
}

#[test]
fn failed_sync_withholds_the_append_response() -> Result<(), NodeError> {
    let dir = temp_dir("sync-fails");
    let fail = Arc::new(AtomicBool::new(false));
    let mut n = node(&dir, &fail)?;
    fail.store(true, Ordering::Relaxed);
    n.step(append_from_leader())?;
    assert!(matches!(n.drive(), Err(NodeError::Store(LogError::Io { .. }))), "the sync failure is reported");
    fail.store(false, Ordering::Relaxed);
    // The store refuses to go on: its files may not match what raft-rs believes is durable.
    n.step(append_from_leader())?;
    assert!(matches!(n.drive(), Err(NodeError::Store(LogError::Failed))));
    Ok(())
}

#[test]
fn id_outside_the_peers_is_refused() -> Result<(), LogError> {
    let dir = temp_dir("bad-id");
    let store = LogStore::open(Box::new(RealFs::default()), &dir)?;
    assert!(matches!(RaftNode::new(9, &[1, 2, 3], NodeConfig::default(), 1, store), Err(NodeError::Config(_))));
    Ok(())
}

/// The election timeouts a fresh node `id` draws over `ticks` ticks as a lone follower (its
/// timer fires, it pre-campaigns, and each reset draws again).
fn timeouts(name: &str, id: u64, seed: u64, ticks: usize) -> Result<Vec<usize>, NodeError> {
    let dir = temp_dir(name);
    let store = LogStore::open(Box::new(RealFs::default()), &dir)?;
    let mut n = RaftNode::new(id, &[1, 2, 3], NodeConfig::default(), seed, store)?;
    let mut seen = vec![n.election_timeout()];
    for _ in 0..ticks {
        n.tick();
        n.drive()?;
        if seen.last() != Some(&n.election_timeout()) {
            seen.push(n.election_timeout());
        }
    }
    Ok(seen)
}

/// Guards the override of raft-rs's `thread_rng` draw: were it lost (a raft-rs upgrade moving
/// the draw), equal seeds would give different timeouts.
#[test]
fn election_timeouts_are_a_function_of_the_seed() -> Result<(), NodeError> {
    let a = timeouts("seed-a", 1, 42, 200)?;
    let b = timeouts("seed-b", 1, 42, 200)?;
    assert!(a.len() > 5, "several elections were timed: {a:?}");
    assert_eq!(a, b, "same seed, same timeouts");
    assert!(a.iter().all(|t| (10..20).contains(t)), "in [e, 2e): {a:?}");
    assert_ne!(a, timeouts("seed-c", 1, 43, 200)?, "another seed draws differently");
    assert_ne!(a, timeouts("seed-d", 2, 42, 200)?, "another node draws differently");
    Ok(())
}
