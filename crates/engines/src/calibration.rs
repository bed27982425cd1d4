//! `lab bench calibration`: does the simulation charge SQLite and the commit log what they cost
//! on this machine's disk?
//!
//! Real: SQLite (default unix VFS, WAL, `synchronous=FULL`, one autocommit upsert per commit)
//! and the commit-log engine (`lsm` on `RealFs`, one write and one `fsync` per commit), one
//! writer each, in short interleaved rounds (the machine is shared and its disk switches
//! between ~0.15 ms and ~4 ms per sync, sometimes for minutes: a ratio taken within a round of
//! a few milliseconds compares like with like; cells measured seconds apart, as `lab bench
//! engines` does, can differ by the switch alone), each engine continuing on its own files
//! from round to round. The figure: the median over rounds of each round's per-commit ratio
//! (SQLite / log); the report adds the quartiles of the round ratios.
//!
//! Simulated: the same number of commits of the simulation's own SQLite store (through the
//! VFS on turmoil's disk) and of the same commit-log engine (on turmoil's disk), each commit's
//! counted disk work ([`DiskWork`], and for SQLite which syncs were in place:
//! [`SyncKinds`]) charged on the `measured` profile as the servers charge it
//! ([`DiskCost::charge_drawn`]), plus each engine's CPU per commit from the measured file.
//!
//! The acceptance figure: the simulated ratio within 1.5x of the real one.

use std::cell::RefCell;
use std::path::Path;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use history::Value;
use lsm::{Cell, Engine, EngineConfig, SyncCall, Version};
use rusqlite::{params, Connection};
use sim::disk_cost::{DiskCost, DiskWork, SyncDraws, SyncKinds};

use super::lsm_cells::Data;
use super::machine::Counters;
use super::sqlite_cells::{self, Journal, Synchronous};

/// The agreement the calibration asks for: simulated and real ratios within this factor.
pub const AGREEMENT: f64 = 1.5;

/// `lab bench calibration`.
#[derive(Debug, Args)]
pub struct BenchCalibrationArgs {
    /// Scratch directory on the real disk (tmpfs is refused); what the bench writes there is
    /// deleted afterwards.
    #[arg(long, default_value = "target/bench-calibration")]
    pub dir: std::path::PathBuf,
    /// Interleaved rounds.
    #[arg(long, default_value_t = 200)]
    pub rounds: u64,
    /// Commits per engine per round.
    #[arg(long, default_value_t = 10)]
    pub commits: u64,
    /// Seed of the simulated sync draws.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// One engine's per-commit figures.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PerCommit {
    /// Time per commit.
    pub time: Duration,
    /// Syncs per commit.
    pub syncs: f64,
    /// Of which in place.
    pub in_place: f64,
    /// Bytes written per commit.
    pub bytes: f64,
}

/// What one real engine did per commit, from the machine's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counted {
    /// The block device's completed flush requests (machine-wide: other tenants count too).
    pub device_flushes: f64,
    /// Bytes this process handed to `write` (exact).
    pub bytes: f64,
}

/// What the calibration found.
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// Real per-commit times, SQLite and log, medians over rounds.
    pub real: (Duration, Duration),
    /// Real per-commit counts, SQLite and log, over all rounds.
    pub real_counts: (Counted, Counted),
    /// The real ratio (SQLite / log): median over rounds of each round's ratio.
    pub real_ratio: f64,
    /// The first and third quartiles of the round ratios.
    pub real_range: (f64, f64),
    /// Simulated SQLite and log.
    pub simulated: (PerCommit, PerCommit),
}

impl Calibration {
    /// Simulated SQLite / log.
    pub fn simulated_ratio(&self) -> f64 {
        self.simulated.0.time.as_secs_f64() / self.simulated.1.time.as_secs_f64().max(1e-12)
    }

    /// Simulated ratio / real ratio.
    pub fn agreement(&self) -> f64 {
        self.simulated_ratio() / self.real_ratio.max(1e-12)
    }

    /// Whether they agree within [`AGREEMENT`].
    pub fn agrees(&self) -> bool {
        let a = self.agreement();
        (1.0 / AGREEMENT..=AGREEMENT).contains(&a)
    }

    /// The report, for people.
    pub fn render(&self, rounds: u64, commits: u64) -> String {
        let us = |d: Duration| format!("{:.0} us", d.as_secs_f64() * 1e6);
        let (sql, log) = self.simulated;
        let detail =
            |p: &PerCommit| format!("{:.2} syncs ({:.2} in place), {:.0} B written", p.syncs, p.in_place, p.bytes);
        let real = |d: Duration, c: &Counted| {
            format!("{} ({:.2} device flushes, {:.0} B written)", us(d), c.device_flushes, c.bytes)
        };
        format!(
            "lab bench calibration: SQLite WAL synchronous=FULL vs the commit log with a sync per commit,\n\
             1 writer, {rounds} interleaved rounds of {commits} commits each (real), the same commits simulated\n\n\
             | per commit | real (this disk) | simulated (measured profile) | simulated disk work |\n\
             | --- | --- | --- | --- |\n\
             | SQLite | {} | {} | {} |\n\
             | commit log | {} | {} | {} |\n\
             | SQLite / commit log | {:.2} (round quartiles {:.2}-{:.2}) | {:.2} | |\n\n\
             simulated / real ratio: {:.2}: {} within {AGREEMENT}x\n",
            real(self.real.0, &self.real_counts.0),
            us(sql.time),
            detail(&sql),
            real(self.real.1, &self.real_counts.1),
            us(log.time),
            detail(&log),
            self.real_ratio,
            self.real_range.0,
            self.real_range.1,
            self.simulated_ratio(),
            self.agreement(),
            if self.agrees() { "agrees" } else { "does NOT agree" },
        )
    }
}

/// Runs `lab bench calibration`.
pub fn run(args: &BenchCalibrationArgs) -> Result<ExitCode> {
    if args.rounds == 0 || args.commits == 0 {
        bail!("--rounds and --commits must be at least 1");
    }
    let measured = experiment::store::disk::measured().map_err(|e| anyhow!("{e}"))?;
    let created = !args.dir.exists();
    std::fs::create_dir_all(&args.dir).with_context(|| format!("create {}", args.dir.display()))?;
    let machine = super::machine::describe(&args.dir, false);
    let real = machine.and_then(|m| real_rounds(&m.dir, m.device.as_deref(), args.rounds, args.commits));
    if created {
        let _ = std::fs::remove_dir(&args.dir);
    }
    let real = real?;
    let total = args.rounds * args.commits;
    let disk = measured.disk.seeded(args.seed);
    let sqlite = simulated_sqlite(disk, total)?;
    let log = simulated_log(disk, total)?;
    let add = |p: PerCommit, cpu: Duration| PerCommit { time: p.time + cpu, ..p };
    let calibration = Calibration {
        real: real.times,
        real_counts: real.counts,
        real_ratio: real.ratio,
        real_range: real.quartiles,
        simulated: (add(sqlite, measured.cpu.sqlite_commit), add(log, measured.cpu.commit_log_write)),
    };
    print!("{}", calibration.render(args.rounds, args.commits));
    Ok(if calibration.agrees() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// SQLite on the real disk: one connection, autocommit upserts.
pub(crate) struct RealSqlite {
    conn: Connection,
    data: Data,
    value: Vec<u8>,
    next: u64,
}

impl RealSqlite {
    /// A fresh database in `dir` with `synchronous`, WAL.
    pub(crate) fn open(dir: &Path, synchronous: Synchronous) -> Result<RealSqlite> {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir)?;
        let spec = sqlite_cells::Cellspec { journal: Journal::Wal, synchronous, rows: 1, threads: 1 };
        let conn = sqlite_cells::connect(&dir.join("bench.db"), &spec)?;
        conn.execute_batch("CREATE TABLE kv (k TEXT PRIMARY KEY, v BLOB NOT NULL);")?;
        Ok(RealSqlite { conn, data: Data::new(100_000, 100), value: vec![b'v'; 100], next: 0 })
    }

    /// `n` commits; their wall time.
    pub(crate) fn commits(&mut self, n: u64) -> Result<Duration> {
        let start = Instant::now();
        let mut stmt = self.conn.prepare_cached(sqlite_cells::UPSERT)?;
        for _ in 0..n {
            let key = &self.data.keys[(self.next % self.data.keys.len() as u64) as usize];
            stmt.execute(params![key, self.value])?;
            self.next += 1;
        }
        Ok(start.elapsed())
    }
}

/// The commit-log engine on the real disk: a write, and with `sync` a sync, per commit.
pub(crate) struct RealLog {
    engine: Engine,
    data: Data,
    sync: bool,
    next: u64,
}

/// The engine's configuration for the bench (as `lab bench engines`): a 64 MiB memtable, so
/// that flushes are rare beside the commit log's own syncs.
fn log_config(dir: &Path) -> EngineConfig {
    EngineConfig { dir: dir.to_path_buf(), memtable_bytes: 64 << 20, max_sstables: 4 }
}

impl RealLog {
    /// A fresh engine in `dir`, syncing with `fsync`, one sync per commit when `sync`.
    pub(crate) fn open(dir: &Path, sync: bool) -> Result<RealLog> {
        let _ = std::fs::remove_dir_all(dir);
        let mut engine = Engine::open_real(log_config(dir), SyncCall::Fsync).context("open the engine")?;
        // One synced write first: the segment's name is durable before anything is timed.
        engine.write("~warm-up", Cell::new(Value::Nil, Version::new(0, 0)))?;
        engine.sync()?;
        Ok(RealLog { engine, data: Data::new(100_000, 100), sync, next: 0 })
    }

    /// `n` commits; their wall time.
    pub(crate) fn commits(&mut self, n: u64) -> Result<Duration> {
        let start = Instant::now();
        for _ in 0..n {
            let (key, cell) = self.data.row(self.next, 0);
            self.engine.write(key, cell)?;
            if self.sync {
                self.engine.sync()?;
            }
            self.next += 1;
        }
        Ok(start.elapsed())
    }
}

pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// What the real rounds found.
struct Real {
    /// Per-commit medians over rounds (SQLite, log).
    times: (Duration, Duration),
    /// Per-commit counts over all rounds (SQLite, log).
    counts: (Counted, Counted),
    /// The median round ratio.
    ratio: f64,
    /// The quartiles of the round ratios.
    quartiles: (f64, f64),
}

/// Runs `f`, adding the machine's counters over it to `into`.
fn counting<T>(device: Option<&str>, into: &mut Counters, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let before = Counters::sample(device);
    let out = f()?;
    let delta = before.since(Counters::sample(device));
    into.device_flushes += delta.device_flushes;
    into.process_bytes += delta.process_bytes;
    Ok(out)
}

/// The interleaved real rounds: per-commit medians of both engines, the median round ratio
/// and the range of round ratios.
fn real_rounds(dir: &Path, device: Option<&str>, rounds: u64, commits: u64) -> Result<Real> {
    let mut sqlite = RealSqlite::open(&dir.join("sqlite"), Synchronous::Full)?;
    let mut log = RealLog::open(&dir.join("lsm"), true)?;
    let (mut sql_times, mut log_times, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let (mut sql_counts, mut log_counts) = (Counters::default(), Counters::default());
    for round in 0..rounds {
        // Alternate which goes first, so neither always follows the other's flushes.
        let (s, l) = if round % 2 == 0 {
            let s = counting(device, &mut sql_counts, || sqlite.commits(commits))?;
            (s, counting(device, &mut log_counts, || log.commits(commits))?)
        } else {
            let l = counting(device, &mut log_counts, || log.commits(commits))?;
            (counting(device, &mut sql_counts, || sqlite.commits(commits))?, l)
        };
        let (s, l) = (s.as_secs_f64() / commits as f64, l.as_secs_f64() / commits as f64);
        if round % 20 == 0 {
            eprintln!("round {round}: SQLite {:.0} us, commit log {:.0} us per commit", s * 1e6, l * 1e6);
        }
        sql_times.push(s);
        log_times.push(l);
        ratios.push(s / l.max(1e-12));
    }
    drop((sqlite, log));
    std::fs::remove_dir_all(dir.join("sqlite"))?;
    std::fs::remove_dir_all(dir.join("lsm"))?;
    let times = (Duration::from_secs_f64(median(sql_times)), Duration::from_secs_f64(median(log_times)));
    ratios.sort_by(f64::total_cmp);
    let quartile = |q: usize| ratios.get(ratios.len() * q / 4).copied().unwrap_or(f64::NAN);
    let n = (rounds * commits).max(1) as f64;
    let per_commit =
        |c: Counters| Counted { device_flushes: c.device_flushes as f64 / n, bytes: c.process_bytes as f64 / n };
    Ok(Real {
        times,
        counts: (per_commit(sql_counts), per_commit(log_counts)),
        ratio: median(ratios.clone()),
        quartiles: (quartile(1), quartile(3)),
    })
}

/// Sums what `commits` commits cost on `disk`, as the servers charge them.
struct Tally {
    disk: DiskCost,
    draws: SyncDraws,
    total: Duration,
    work: DiskWork,
    in_place: u64,
}

impl Tally {
    fn new(disk: DiskCost, stream: u64) -> Tally {
        Tally {
            disk,
            draws: SyncDraws::new(&disk, stream),
            total: Duration::ZERO,
            work: DiskWork::default(),
            in_place: 0,
        }
    }

    fn charge(&mut self, work: DiskWork, kinds: SyncKinds) {
        self.total += self.disk.charge_drawn(work, kinds, &mut self.draws);
        self.work = self.work.plus(work);
        self.in_place += kinds.in_place.min(work.syncs);
    }

    fn per_commit(&self, commits: u64) -> PerCommit {
        let n = commits.max(1) as f64;
        PerCommit {
            time: self.total / u32::try_from(commits.max(1)).unwrap_or(u32::MAX),
            syncs: self.work.syncs as f64 / n,
            in_place: self.in_place as f64 / n,
            bytes: self.work.bytes_written as f64 / n,
        }
    }
}

/// Runs `body` on one host of a turmoil simulation and returns what it produced.
fn on_a_simulated_host<T: 'static>(body: impl FnOnce() -> Result<T> + 'static) -> Result<T> {
    let mut sim = turmoil::Builder::new().build();
    let out: Rc<RefCell<Option<Result<T>>>> = Rc::default();
    let slot = Rc::clone(&out);
    let body = RefCell::new(Some(body));
    sim.client("calibration", async move {
        let result = body.borrow_mut().take().map_or_else(|| Err(anyhow!("ran twice")), |f| f());
        *slot.borrow_mut() = Some(result);
        Ok(())
    });
    sim.run().map_err(|e| anyhow!("the simulation failed: {e}"))?;
    let result = out.borrow_mut().take();
    result.unwrap_or_else(|| Err(anyhow!("the simulated host never ran")))
}

/// The simulation's SQLite store (WAL, FULL) doing `commits` single-row writes.
pub fn simulated_sqlite(disk: DiskCost, commits: u64) -> Result<PerCommit> {
    on_a_simulated_host(move || {
        let config = sqlstore::StoreConfig { disk, seed: disk.seed, ..sqlstore::StoreConfig::default() };
        let mut store = sqlstore::Store::open(&config).map_err(|e| anyhow!("open the store: {e}"))?;
        let io = store.disk_io();
        io.take_sync_kinds();
        let data = Data::new(100_000, 100);
        let value = data.value.clone();
        let mut tally = Tally::new(disk, 0);
        for i in 0..commits {
            let key = Value::Str(data.keys[(i % data.keys.len() as u64) as usize].clone());
            store.write(&key, &value).map_err(|e| anyhow!("write: {e}"))?;
            tally.charge(store.take_disk_work(), io.take_sync_kinds());
        }
        Ok(tally.per_commit(commits))
    })
}

/// The commit-log engine on turmoil's disk doing `commits` writes, each synced.
pub fn simulated_log(disk: DiskCost, commits: u64) -> Result<PerCommit> {
    on_a_simulated_host(move || {
        let mut engine =
            Engine::open_on(log_config(Path::new("/data/lsm")), Box::new(sim::fs::SimFs)).context("open the engine")?;
        engine.write("~warm-up", Cell::new(Value::Nil, Version::new(0, 0)))?;
        engine.sync()?;
        engine.take_disk_work();
        let data = Data::new(100_000, 100);
        let mut tally = Tally::new(disk, 1);
        for i in 0..commits {
            let (key, cell) = data.row(i, 0);
            engine.write(key, cell)?;
            engine.sync()?;
            // Every commit-log sync follows an append: none is in place (as the node charges).
            tally.charge(engine.take_disk_work(), SyncKinds::default());
        }
        Ok(tally.per_commit(commits))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(n: u64) -> Duration {
        Duration::from_micros(n)
    }

    /// What the simulation counts per commit, exactly: SQLite's WAL appends two frames per
    /// commit and syncs once; once the WAL is reused after a checkpoint its syncs are in
    /// place. The log syncs once per commit after an append.
    #[test]
    fn simulated_commits_count_their_syncs_and_kinds() -> Result<()> {
        let disk = DiskCost { per_sync: us(200), per_sync_in_place: Some(us(100)), ..DiskCost::FREE };
        let sqlite = simulated_sqlite(disk, 1_500)?;
        assert!((1.0..1.05).contains(&sqlite.syncs), "{sqlite:?}");
        // The WAL wraps after ~1000 pages (~500 commits): most later syncs are in place.
        assert!(sqlite.in_place > 0.5 && sqlite.in_place < 1.0, "{sqlite:?}");
        assert!(sqlite.bytes > 8_000.0, "two 4 KiB frames per commit: {sqlite:?}");
        assert!(sqlite.time > us(100) && sqlite.time < us(200), "{sqlite:?}");
        let log = simulated_log(disk, 200)?;
        assert_eq!((log.syncs, log.in_place), (1.0, 0.0));
        assert_eq!(log.time, us(200) + DiskCost::FREE.per_kib_written);
        Ok(())
    }

    #[test]
    fn agreement_is_judged_both_ways() {
        let per = |t| PerCommit { time: us(t), ..PerCommit::default() };
        let calibration = |sql, log, real_ratio| Calibration {
            real: (us(1), us(1)),
            real_counts: (Counted::default(), Counted::default()),
            real_ratio,
            real_range: (real_ratio, real_ratio),
            simulated: (per(sql), per(log)),
        };
        assert!(calibration(100, 200, 0.6).agrees());
        assert!(!calibration(100, 200, 0.3).agrees(), "simulated 0.5 vs real 0.3: 1.67x");
        assert!(!calibration(300, 200, 0.9).agrees(), "simulated 1.5 vs real 0.9: 1.67x");
        let text = calibration(100, 200, 0.6).render(2, 3);
        assert!(text.contains("| SQLite / commit log | 0.60") && text.contains("agrees within 1.5x"), "{text}");
    }

    #[test]
    fn real_engines_commit_what_they_are_asked() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("lab-calibration-{}", std::process::id()));
        let mut sqlite = RealSqlite::open(&dir.join("sqlite"), Synchronous::Off)?;
        sqlite.commits(20)?;
        let rows: i64 = sqlite.conn.query_row("SELECT count(*) FROM kv", [], |r| r.get(0))?;
        assert_eq!(rows, 20);
        let mut log = RealLog::open(&dir.join("lsm"), true)?;
        log.engine.take_disk_work();
        log.commits(5)?;
        assert_eq!(log.engine.take_disk_work().syncs, 5);
        drop((sqlite, log));
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
