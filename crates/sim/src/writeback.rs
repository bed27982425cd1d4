//! The OS's write-back of dirty data on every server host: what survives a power loss beyond
//! what the stores synced themselves. The policy and its pure bookkeeping are
//! [`base::writeback`] (Linux's `dirty_expire_centisecs` and `dirty_writeback_centisecs`); this
//! module is its adapter to turmoil.
//!
//! - **One tracker per server host, owned by the harness.** [`install`] (called by
//!   [`run`](crate::run())) puts a [`Dirty`] per server host in a thread-local for the run
//!   (turmoil runs a whole simulation on the thread that steps it). Killing a process keeps
//!   its host's tracker (the OS lives on); a power loss clears it ([`power_loss`], called
//!   where `sim.crash` is: the dirty pages are gone).
//! - **Write hooks.** The disks on turmoil's shim report to the current host's tracker:
//!   [`wrote`] (a write or a length change: the file is dirty from now unless it already
//!   was), [`synced`] (clean), [`created`] and [`dir_changed`] (an entry created, removed or renamed: the
//!   directory is dirty), [`dir_synced`], [`removed`] and [`renamed`]. Callers:
//!   [`crate::fs::SimFs`] (the quorum store's engine) and SQLite's VFS disk
//!   (`sqlstore::vfs::sim_disk`).
//! - **The current host** is the one turmoil is stepping. turmoil 0.7.2 has no public
//!   accessor for it, but it enters a tracing span `node` (field `name`, the host's name)
//!   around each host's part of a step, and nowhere else runs host software. [`install`]
//!   makes a minimal tracing subscriber the thread's default for the run: it sets the
//!   current host when such a span is entered and clears it on exit; every other span and
//!   event is of no interest to it (a subscriber someone installed for logging is shadowed
//!   on this thread during a run). Outside a run (a store's own turmoil tests) there is no
//!   tracker and the hooks do nothing. Writes made while a host's tasks are dropped (by a
//!   crash or a kill, outside any step) would not be tracked; neither store writes there.
//! - **Write-back.** [`flusher`] is a task of every server host, started before the kill
//!   gate (a killed store's dirty data is still written back, as the kernel does). At every
//!   tick (multiples of the interval since the run's start, model time: [`crate::time`]) it
//!   takes the files and directories dirty for at least the expiry from the tracker and makes
//!   them durable through the shim, inside the host: a file is opened by its path and
//!   `sync_all`ed (turmoil keeps pending writes per path, not per handle, so this flushes
//!   every write to the file, whoever made it), then its directory is synced (the kernel
//!   writes the inode and ext4 commits new entries within seconds; without it a file never
//!   synced would vanish whole); a directory is synced. A write-back that fails (the file was
//!   removed, an injected I/O error) leaves the entry dirty from that tick.
//!
//! A turmoil limitation: a write made before a rename and not synced before it can never be
//! made durable (turmoil flushes pending writes by the path they were made at, which is gone),
//! by the write-back or by the application; the renamed file is tracked all the same. The
//! storage engine syncs its files before renaming them.
//!
//! Simplified, as [`base::writeback`] says: the dirty-ratio thresholds are ignored, a
//! write-back takes no time, directories expire like files (ext4 commits its journal every
//! 5 s regardless), and a file's write-back also writes its directory's other pending entries.

use std::cell::{Cell, RefCell};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use base::writeback::{Dirty, WriteBack, WriteBackError, DEFAULT_EXPIRE, DEFAULT_INTERVAL, MAX_SETTING};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::{DefaultGuard, Interest};
use tracing::{Event, Metadata, Subscriber};
use turmoil::fs::shim::std::fs as simfs;

use crate::time;

/// What a tracker tracks: a file's data or a directory's entries.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Node {
    /// A file's data and length.
    File(PathBuf),
    /// A directory's entries (files created, removed, renamed in it).
    Dir(PathBuf),
}

/// The OS of every server host in the run.
#[derive(Debug)]
struct Os {
    policy: WriteBack,
    /// Per server host, in the order [`install`] was given them.
    hosts: Vec<(String, Dirty<Node>)>,
}

thread_local! {
    static OS: RefCell<Option<Os>> = const { RefCell::new(None) };
    /// The index (in [`Os::hosts`]) of the server host being stepped.
    static CURRENT: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The write-back model installed on this thread; [`install`] returns it, and dropping it
/// uninstalls it (restoring the previous model, if any).
#[must_use = "the model is uninstalled when this is dropped"]
pub struct Installed {
    previous: Option<Os>,
    _spans: Option<DefaultGuard>,
}

impl std::fmt::Debug for Installed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Installed").field("previous", &self.previous).finish_non_exhaustive()
    }
}

impl Drop for Installed {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(None));
        let previous = self.previous.take();
        OS.with(|os| {
            if let Ok(mut os) = os.try_borrow_mut() {
                *os = previous;
            }
        });
    }
}

/// Installs the write-back model `policy` for the server hosts `servers` on this thread,
/// every host clean. With [`WriteBack::Off`] nothing is tracked (only syncs make data durable).
pub fn install(servers: &[String], policy: WriteBack) -> Installed {
    let os = Os { policy, hosts: servers.iter().map(|name| (name.clone(), Dirty::new())).collect() };
    let previous = OS.with(|cell| cell.borrow_mut().replace(os));
    CURRENT.with(|c| c.set(None));
    let spans = match policy {
        WriteBack::Off => None,
        WriteBack::Periodic { .. } => Some(tracing::subscriber::set_default(HostSpans { servers: servers.to_vec() })),
    };
    Installed { previous, _spans: spans }
}

/// Runs `f` on the current host's tracker at model time now; nothing outside a run or a
/// server host. Never panics (the hooks run inside SQLite's `extern "C"` callbacks).
fn with_current(f: impl FnOnce(&mut Dirty<Node>, Duration)) {
    let Some(host) = CURRENT.with(Cell::get) else { return };
    let Some(now) = time::try_now() else { return };
    OS.with(|os| {
        let Ok(mut os) = os.try_borrow_mut() else { return };
        if let Some((_, dirty)) = os.as_mut().and_then(|os| os.hosts.get_mut(host)) {
            f(dirty, now);
        }
    });
}

/// The parent directory of `path` (`/` for a bare name).
fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("/"),
    }
}

/// Hook: `path`'s data or length changed and is not synced.
pub fn wrote(path: &Path) {
    with_current(|dirty, now| dirty.write(Node::File(path.to_path_buf()), now));
}

/// Hook: `path` was synced (its data is durable).
pub fn synced(path: &Path) {
    with_current(|dirty, _| dirty.clean(&Node::File(path.to_path_buf())));
}

/// Hook: an entry of directory `dir` was created, removed or renamed and is not synced.
pub fn dir_changed(dir: &Path) {
    with_current(|dirty, now| dirty.write(Node::Dir(dir.to_path_buf()), now));
}

/// Hook: file or directory `path` was created (or opened with create): its directory changed.
pub fn created(path: &Path) {
    dir_changed(&parent(path));
}

/// Hook: directory `dir` was synced (its entries are durable).
pub fn dir_synced(dir: &Path) {
    with_current(|dirty, _| dirty.clean(&Node::Dir(dir.to_path_buf())));
}

/// Hook: file `path` was removed: nothing of it to write back; its directory changed.
pub fn removed(path: &Path) {
    with_current(|dirty, now| {
        dirty.clean(&Node::File(path.to_path_buf()));
        dirty.write(Node::Dir(parent(path)), now);
    });
}

/// Hook: `from` was renamed to `to`: its dirty data moves with it; both directories changed.
pub fn renamed(from: &Path, to: &Path) {
    with_current(|dirty, now| {
        let from_node = Node::File(from.to_path_buf());
        if let Some(since) = dirty.dirty_since(&from_node) {
            dirty.clean(&from_node);
            dirty.clean(&Node::File(to.to_path_buf()));
            dirty.write(Node::File(to.to_path_buf()), since);
        }
        dirty.write(Node::Dir(parent(from)), now);
        dirty.write(Node::Dir(parent(to)), now);
    });
}

/// `host` lost power: its dirty data is gone (turmoil's crash discards it), nothing to write
/// back. A host that is not a server of the run is ignored.
pub fn power_loss(host: &str) {
    OS.with(|os| {
        let Ok(mut os) = os.try_borrow_mut() else { return };
        if let Some((_, dirty)) = os.as_mut().and_then(|os| os.hosts.iter_mut().find(|(name, _)| name == host)) {
            *dirty = Dirty::new();
        }
    });
}

/// What `host`'s tracker holds dirty, and since when (model time); empty when it is not a
/// server of the installed run.
pub fn dirty(host: &str) -> Vec<(Node, Duration)> {
    OS.with(|os| {
        let Ok(os) = os.try_borrow() else { return Vec::new() };
        let Some((_, dirty)) = os.as_ref().and_then(|os| os.hosts.iter().find(|(name, _)| name == host)) else {
            return Vec::new();
        };
        dirty.iter().map(|(node, since)| (node.clone(), since)).collect()
    })
}

/// The installed policy ([`WriteBack::Off`] when none is installed).
pub fn policy() -> WriteBack {
    OS.with(|os| os.try_borrow().ok().and_then(|os| os.as_ref().map(|os| os.policy)).unwrap_or(WriteBack::Off))
}

/// The first tick strictly after `now` for an `interval`.
fn next_tick(now: Duration, interval: Duration) -> Duration {
    let step = interval.as_nanos().max(1);
    let ticks = now.as_nanos() / step + 1;
    u64::try_from(ticks.saturating_mul(step)).map(Duration::from_nanos).unwrap_or(Duration::MAX)
}

/// The write-back task of server host `host`: at every tick, writes back what has been dirty
/// long enough. Runs for as long as the host's software (spawn it on every (re)start of the
/// host, before any kill gate); ends at once when write-back is off.
pub async fn flusher(host: String) {
    let policy = policy();
    let WriteBack::Periodic { interval, .. } = policy else { return };
    let index = OS.with(|os| {
        os.try_borrow().ok().and_then(|os| os.as_ref().and_then(|os| os.hosts.iter().position(|(n, _)| *n == host)))
    });
    let Some(index) = index else { return };
    loop {
        let at = next_tick(time::now(), interval);
        if at == Duration::MAX {
            return;
        }
        time::sleep_until(at).await;
        // The grid time, not the wake-up's: a wake-up is at most a step late, and a file
        // dirtied in between is younger than the tick and stays dirty.
        let due = with_host(index, |dirty| dirty.tick(policy, at)).unwrap_or_default();
        for node in due {
            if write_back(&node).is_err() {
                with_host(index, |dirty| dirty.write(node, at));
            }
        }
    }
}

/// Runs `f` on the tracker of server number `index`, if it is installed.
fn with_host<R>(index: usize, f: impl FnOnce(&mut Dirty<Node>) -> R) -> Option<R> {
    OS.with(|os| {
        let mut os = os.try_borrow_mut().ok()?;
        let (_, dirty) = os.as_mut()?.hosts.get_mut(index)?;
        Some(f(dirty))
    })
}

/// Makes `node` durable on the current host's simulated disk: a file's data and then its
/// directory's entries, or a directory's entries.
fn write_back(node: &Node) -> io::Result<()> {
    match node {
        Node::File(path) => {
            simfs::File::open(path)?.sync_all()?;
            simfs::sync_dir(parent(path))
        }
        Node::Dir(dir) => simfs::sync_dir(dir),
    }
}

/// The tracing subscriber that follows turmoil's per-host `node` span: the current host is
/// the server whose span is entered.
struct HostSpans {
    servers: Vec<String>,
}

/// The span id of a host that is no server (a client host).
const NOT_A_SERVER: u64 = u64::MAX;

impl HostSpans {
    fn is_node_span(metadata: &Metadata<'_>) -> bool {
        metadata.is_span() && metadata.name() == "node" && metadata.target().starts_with("turmoil")
    }
}

/// Finds the `name` field of a `node` span.
struct HostName<'a> {
    servers: &'a [String],
    index: Option<usize>,
}

impl tracing::field::Visit for HostName<'_> {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "name" {
            self.index = self.servers.iter().position(|s| s == value);
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "name" {
            let text = format!("{value:?}");
            let name = text.trim_matches('"');
            self.index = self.servers.iter().position(|s| s == name);
        }
    }
}

impl Subscriber for HostSpans {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if Self::is_node_span(metadata) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        Self::is_node_span(metadata)
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::INFO)
    }

    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut visitor = HostName { servers: &self.servers, index: None };
        span.record(&mut visitor);
        // Ids need only tell the hosts apart: these spans never nest.
        let id = visitor.index.and_then(|i| u64::try_from(i).ok()).map_or(NOT_A_SERVER, |i| i + 1);
        Id::from_u64(id)
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, _event: &Event<'_>) {}

    fn enter(&self, span: &Id) {
        let index = match span.into_u64() {
            NOT_A_SERVER => None,
            id => usize::try_from(id - 1).ok(),
        };
        CURRENT.with(|c| c.set(index));
    }

    fn exit(&self, _span: &Id) {
        CURRENT.with(|c| c.set(None));
    }
}

#[cfg(test)]
mod tests;
