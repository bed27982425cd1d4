//! Kill is not power loss (issue 16, item 5): what each store's acknowledgements are worth when
//! its process is killed (the OS keeps everything written to it) and when its machine loses
//! power (only what was synced, or written back by the OS's write-back, survives).
//!
//! Every run is a set workload (each add acknowledged is an element the final read must
//! contain) with two faults of one kind on every server, restarted each time. The OS's
//! write-back (`sim::writeback`) is short here: data dirty for 1 s is written back at the next
//! 0.5 s tick, so an add acknowledged more than [`bound`] (1.5 s) before a power loss is on the
//! disk when the power goes, whatever the store synced.

use std::time::Duration;

use checker::set_loss::{self, SetLoss};
use history::{Event, EventType, Value};
use lsm::CommitLogSync;
use quorum::{ClusterConfig, Level, QuorumSystem};
use sim::writeback::WriteBack;
use sim::{Fault, Schedule, Set, SimConfig};
use sqlstore::{JournalMode, SqlSystem, StoreConfig, Synchronous};

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// How a server goes down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Down {
    /// The process is killed: everything it wrote survives.
    Kill,
    /// The machine loses power: unsynced writes are lost.
    PowerLoss,
}

/// Two outages of every server in `servers`: down at 1.7 s, back at 2.0 s; down at 4.25 s,
/// back at 4.5 s (far enough apart that adds between them outlive the write-back's bound).
fn outages(down: Down, servers: &[&str]) -> Schedule {
    let mut schedule = Schedule::new();
    for (at, back) in OUTAGES {
        for server in servers {
            let fault = match down {
                Down::Kill => Fault::kill(*server),
                Down::PowerLoss => Fault::crash(*server),
            };
            schedule.push(secs(at), fault);
            schedule.push(secs(back), Fault::restart(*server));
        }
    }
    schedule
}

/// (down, back up), in seconds.
const OUTAGES: [(f64, f64); 2] = [(1.7, 2.0), (4.25, 4.5)];

/// The OS's write-back of these runs: dirty for 1 s, written back at the next 0.5 s tick.
fn short_writeback() -> WriteBack {
    WriteBack::periodic(secs(1.0), secs(0.5)).expect("a valid policy")
}

/// `dirty_expire + dirty_writeback` of [`short_writeback`]: a write is on the disk at most
/// this long after it was made (the first tick at or after its file's expiry).
fn bound() -> Duration {
    secs(1.5)
}

fn config(seed: u64, faults: Schedule, writeback: WriteBack) -> SimConfig {
    let mut config = SimConfig::new(seed, Set);
    config.duration = secs(5.0);
    config.op_timeout = secs(0.25);
    config.faults = faults;
    config.writeback = writeback;
    config
}

/// A SQLite store whose files only SQLite's own syncs and the OS's write-back make durable
/// (no store write-back of its own).
fn sqlite(seed: u64, journal_mode: JournalMode, synchronous: Synchronous) -> StoreConfig {
    StoreConfig { journal_mode, synchronous, seed, writeback: None, ..StoreConfig::default() }
}

/// The set's loss and the history it was judged on, under the short write-back.
fn sqlite_run(seed: u64, store: StoreConfig, down: Down) -> (SetLoss, Vec<Event>) {
    sqlite_run_with(seed, store, down, short_writeback())
}

/// [`sqlite_run`] under `writeback`. DELETE mode runs with 2 clients (one per client host):
/// its journal's writes make turmoil's pending-write list, scanned on every disk operation,
/// long between syncs, and wall time grows with its square (see the shared notes on the VFS).
fn sqlite_run_with(seed: u64, store: StoreConfig, down: Down, writeback: WriteBack) -> (SetLoss, Vec<Event>) {
    let mut config = config(seed, outages(down, &["db"]), writeback);
    if store.journal_mode == JournalMode::Delete {
        config.clients_per_host = 1;
    }
    let run = sim::run(SqlSystem::new(store), &config).expect("the run completes");
    (set_loss::analyze(&run.history), run.history)
}

/// One client adding elements one after another: the quorum store's set is a last-writer-wins
/// value, so concurrent adds overwrite each other; with one client any loss is the store's.
fn quorum_run(seed: u64, sync: CommitLogSync, down: Down) -> (SetLoss, Vec<Event>) {
    let mut cluster = ClusterConfig::new(3);
    cluster.node.read = Level::Quorum;
    cluster.node.write = Level::Quorum;
    cluster.sync = sync;
    let mut config = config(seed, outages(down, &["n1", "n2", "n3"]), short_writeback());
    config.client_hosts = 1;
    config.clients_per_host = 1;
    let run = sim::run(QuorumSystem::new(cluster), &config).expect("the run completes");
    (set_loss::analyze(&run.history), run.history)
}

fn assert_nothing_lost(loss: &SetLoss, what: &str) {
    assert!(loss.final_read, "{what}: the final read succeeded: {loss:?}");
    assert!(loss.acknowledged > 50, "{what}: only {} adds acknowledged", loss.acknowledged);
    assert!(loss.lost.is_empty(), "{what}: lost {} of {}: {:?}", loss.lost.len(), loss.acknowledged, loss.lost);
    assert!(loss.unexpected.is_empty(), "{what}: unexpected {:?}", loss.unexpected);
}

#[test]
fn sqlite_off_and_normal_lose_nothing_when_the_process_is_killed() {
    let configurations = [
        (0, JournalMode::Wal, Synchronous::Off),
        (0, JournalMode::Wal, Synchronous::Normal),
        (0, JournalMode::Delete, Synchronous::Off),
        (0, JournalMode::Delete, Synchronous::Normal),
        (1, JournalMode::Wal, Synchronous::Off),
        (1, JournalMode::Wal, Synchronous::Normal),
    ];
    for (seed, journal, synchronous) in configurations {
        let (loss, _) = sqlite_run(seed, sqlite(seed, journal, synchronous), Down::Kill);
        assert_nothing_lost(&loss, &format!("seed {seed}, {journal:?} {synchronous:?}, kill"));
    }
}

#[test]
fn sqlite_full_loses_nothing_under_kill_or_power_loss() {
    for seed in 0..2 {
        for journal in [JournalMode::Wal, JournalMode::Delete] {
            for down in [Down::Kill, Down::PowerLoss] {
                let (loss, _) = sqlite_run(seed, sqlite(seed, journal, Synchronous::Full), down);
                assert_nothing_lost(&loss, &format!("seed {seed}, {journal:?} FULL, {down:?}"));
            }
        }
    }
}

/// When the add of `element` was acknowledged (its `ok`), in simulated time.
fn acknowledged_at(history: &[Event], element: &Value) -> Duration {
    let ok = history
        .iter()
        .find(|e| e.kind == EventType::Ok && e.f == "add" && &e.value == element)
        .unwrap_or_else(|| panic!("{element:?} was acknowledged"));
    Duration::from_nanos(ok.time.expect("events carry their time"))
}

/// Slack for the step on which a write-back, a fault and an acknowledgement land.
const SLACK: Duration = Duration::from_millis(2);

/// What a power-loss run lost, measured against [`bound`].
#[derive(Debug, Default)]
struct Bounded {
    /// Adds acknowledged, and of them lost.
    acknowledged: usize,
    lost: usize,
    /// Lost adds acknowledged more than the bound before the power loss that took them (or
    /// after the last outage): none where the write-back keeps its promise.
    older_lost: usize,
    /// Adds acknowledged more than the bound before some power loss (all of them survived it
    /// when `older_lost` is 0).
    older: usize,
    /// The oldest lost add's age at its power loss (acknowledgement to the power going).
    oldest_lost_age: Duration,
}

/// The loss of a power-loss run measured against the bound: an add acknowledged at `t` is
/// "young" at an outage `(down, back)` when `down - bound <= t <= back` (a reply sent before
/// the power went may arrive after it: the upper end is the restart).
fn bounded(loss: &SetLoss, history: &[Event]) -> Bounded {
    let outage_of = |at: Duration| OUTAGES.iter().find(|(_, back)| at <= secs(*back)).map(|(down, _)| secs(*down));
    let mut bounded = Bounded { acknowledged: loss.acknowledged, lost: loss.lost.len(), ..Bounded::default() };
    for event in history.iter().filter(|e| e.kind == EventType::Ok && e.f == "add") {
        let at = Duration::from_nanos(event.time.expect("events carry their time"));
        let young = outage_of(at).is_none_or(|down| at + bound() + SLACK >= down);
        let lost = loss.lost.contains(&event.value);
        bounded.older += usize::from(!young);
        bounded.older_lost += usize::from(!young && lost);
        if let (true, Some(down)) = (lost, outage_of(at)) {
            bounded.oldest_lost_age = bounded.oldest_lost_age.max(down.saturating_sub(at));
        }
    }
    bounded
}

/// Asserts that `loss` kept the write-back's bound and returns what it measured.
fn assert_within_bound(loss: &SetLoss, history: &[Event], what: &str) -> Bounded {
    assert!(loss.final_read, "{what}: {loss:?}");
    assert!(loss.unexpected.is_empty(), "{what}: unexpected {:?}", loss.unexpected);
    let b = bounded(loss, history);
    eprintln!("{what}: {b:?}");
    assert!(b.acknowledged > 50, "{what}: only {} adds acknowledged", b.acknowledged);
    assert!(b.older > 20, "{what}: only {} adds older than the bound", b.older);
    assert_eq!(
        b.older_lost,
        0,
        "{what}: adds acknowledged more than {:?} before the power loss were lost: {b:?}",
        bound()
    );
    assert!(b.oldest_lost_age <= bound() + SLACK, "{what}: {b:?}");
    b
}

#[test]
fn sqlite_off_and_normal_under_power_loss_lose_only_what_the_write_back_had_not_reached() {
    // Dirty data is written back at most 1.5 s after it was written: every add acknowledged
    // longer than that before a power loss survives it; younger ones may not. (WAL with OFF is
    // the exception: see the next test.)
    let mut lost_total = 0;
    let configurations = [
        (JournalMode::Wal, Synchronous::Normal),
        (JournalMode::Delete, Synchronous::Off),
        (JournalMode::Delete, Synchronous::Normal),
    ];
    for seed in 0..2 {
        for (journal, synchronous) in configurations {
            let (loss, history) = sqlite_run(seed, sqlite(seed, journal, synchronous), Down::PowerLoss);
            let b =
                assert_within_bound(&loss, &history, &format!("seed {seed}, {journal:?} {synchronous:?}, power loss"));
            lost_total += b.lost;
        }
    }
    assert!(lost_total > 0, "power loss lost nothing with synchronous=OFF or NORMAL: the VFS drops no unsynced data");
}

#[test]
fn sqlite_wal_off_under_power_loss_is_corrupted_by_the_order_of_the_write_back() {
    // With synchronous=OFF a checkpoint copies the WAL into the database file and the WAL is
    // restarted, neither synced. The write-back takes each file when it has been dirty for the
    // expiry: the WAL (dirty for longer) reaches the disk with its restarted header before the
    // database file's checkpointed pages, and a power loss in between leaves a database SQLite
    // reports as malformed ("database disk image is malformed"): the final read fails. SQLite
    // says as much of OFF ("the database might become corrupted if ... the computer loses
    // power"). With an expiry far below the tick every dirty file is written back at each tick
    // together, and the same runs keep the bound: the order is the cause.
    let together = WriteBack::periodic(Duration::from_millis(1), secs(0.5)).expect("a valid policy");
    for seed in 0..2 {
        let store = || sqlite(seed, JournalMode::Wal, Synchronous::Off);
        let (apart, _) = sqlite_run(seed, store(), Down::PowerLoss);
        eprintln!(
            "seed {seed}, WAL OFF, power loss, files written back apart: {apart:?}",
            apart = (apart.final_read, apart.lost.len(), apart.acknowledged)
        );
        assert!(!apart.final_read, "seed {seed}: the database survived: {apart:?}");
        let (loss, history) = sqlite_run_with(seed, store(), Down::PowerLoss, together);
        assert_within_bound(&loss, &history, &format!("seed {seed}, WAL OFF, power loss, files written back together"));
    }
}

#[test]
fn without_write_back_sqlite_off_loses_older_writes_under_power_loss() {
    // The contrast: with the OS's write-back off, only SQLite's own syncs make data durable
    // (OFF: none but a directory's after the journal's deletion), and a power loss takes adds
    // acknowledged long before it, which the write-back would have kept.
    for seed in 0..2 {
        let store = || sqlite(seed, JournalMode::Delete, Synchronous::Off);
        let (loss, history) = sqlite_run_with(seed, store(), Down::PowerLoss, WriteBack::Off);
        let off = bounded(&loss, &history);
        eprintln!("seed {seed}, DELETE OFF, power loss, write-back off: {off:?}");
        assert!(
            off.older_lost > 0,
            "seed {seed}: with the write-back off, no add older than the bound was lost: {off:?}"
        );
        let (loss, history) = sqlite_run(seed, store(), Down::PowerLoss);
        assert_within_bound(&loss, &history, &format!("seed {seed}, DELETE OFF, power loss, write-back on"));
    }
}

#[test]
fn a_power_loss_run_is_deterministic() {
    let run = || sqlite_run(3, sqlite(3, JournalMode::Delete, Synchronous::Off), Down::PowerLoss);
    let (first_loss, first) = run();
    let (second_loss, second) = run();
    assert_eq!(first, second, "same seed, same history");
    assert_eq!(first_loss, second_loss);
    assert!(!first_loss.lost.is_empty(), "the power loss took something: {first_loss:?}");
}

#[test]
fn the_stores_own_write_back_is_an_override_on_top_of_the_os() {
    // The store's `writeback` syncs every open file and the directory every 500 ms from the
    // server's start (at 0 s, and at each restart), whatever their age. So the last such sync
    // before the outage at 1.7 s ran at 1.5 s, and the one before 4.25 s at 4.0 s (restart at
    // 2.0 s + 4 x 500 ms): an add acknowledged before those instants was on the disk when the
    // power went. The OS's write-back is off here, to see the store's alone; on, it only adds.
    let period = secs(0.5);
    let last_writeback = [secs(1.5), secs(4.0)];
    let mut lost_total = 0;
    for seed in 0..3 {
        let mut store = sqlite(seed, JournalMode::Wal, Synchronous::Off);
        store.writeback = Some(period);
        let (loss, history) = sqlite_run_with(seed, store, Down::PowerLoss, WriteBack::Off);
        assert!(loss.final_read, "seed {seed}: {loss:?}");
        for element in &loss.lost {
            let at = acknowledged_at(&history, element);
            let inside = OUTAGES
                .iter()
                .zip(last_writeback)
                .any(|((_, back), writeback)| at + SLACK >= writeback && at <= secs(*back));
            assert!(inside, "seed {seed}: {element:?} acknowledged at {at:?}, before the last write-back, was lost");
        }
        lost_total += loss.lost.len();
    }
    assert!(lost_total > 0, "power loss lost nothing with synchronous=OFF: the VFS drops no unsynced data");
}

#[test]
fn sqlite_off_loses_under_power_loss_what_it_keeps_under_kill() {
    for seed in 0..2 {
        let store = || sqlite(seed, JournalMode::Delete, Synchronous::Off);
        let (killed, _) = sqlite_run(seed, store(), Down::Kill);
        let (powered_off, _) = sqlite_run(seed, store(), Down::PowerLoss);
        eprintln!(
            "seed {seed}: sqlite DELETE OFF lost {} of {} acknowledged adds under kill, {} of {} under power loss",
            killed.lost.len(),
            killed.acknowledged,
            powered_off.lost.len(),
            powered_off.acknowledged
        );
        assert_nothing_lost(&killed, &format!("seed {seed}, kill"));
        assert!(!powered_off.lost.is_empty(), "seed {seed}: power loss lost nothing: {powered_off:?}");
    }
}

#[test]
fn quorum_batch_commit_log_loses_nothing_under_kill_or_power_loss() {
    for seed in 0..2 {
        for down in [Down::Kill, Down::PowerLoss] {
            let (loss, _) = quorum_run(seed, CommitLogSync::Batch, down);
            assert_nothing_lost(&loss, &format!("seed {seed}, batch, {down:?}"));
        }
    }
}

#[test]
fn quorum_periodic_commit_log_loses_under_power_loss_only_what_the_write_back_had_not_reached() {
    // The commit log is synced every 10 s: never within this run. Every replica going down at
    // once loses, under power loss, the tail the OS had not written back yet (acknowledged
    // within the bound), and nothing under a kill.
    for seed in 0..2 {
        let (killed, _) = quorum_run(seed, CommitLogSync::Periodic(secs(10.0)), Down::Kill);
        let (powered_off, history) = quorum_run(seed, CommitLogSync::Periodic(secs(10.0)), Down::PowerLoss);
        eprintln!("seed {seed}: quorum periodic 10 s lost {} of {} under kill", killed.lost.len(), killed.acknowledged);
        assert_nothing_lost(&killed, &format!("seed {seed}, periodic, kill"));
        let b = assert_within_bound(&powered_off, &history, &format!("seed {seed}, quorum periodic 10 s, power loss"));
        assert!(b.lost > 0, "seed {seed}: power loss lost nothing: {powered_off:?}");
    }
}
