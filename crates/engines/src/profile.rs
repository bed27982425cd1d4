//! `lab bench engines --write-profile [PATH]`: this machine's disk as a disk profile, and the
//! engines' CPU per commit, written to `experiments/disks/measured.toml` (the `measured`
//! profile every experiment uses unless it names another; see
//! `experiment::store::disk`).
//!
//! Interleaved rounds (the disk is shared and switches between fast and slow periods; every
//! figure is the median over rounds of the round's own figure, so fewer than half the rounds
//! caught in a slow period do not move it). In each round:
//! - syncs, alternating one of each kind so that both see the same disk: an append of one
//!   commit-log record (137 bytes) + `fsync`, which grows the file and so commits metadata
//!   (ext4: a journal commit), as every commit of the commit log does (`sync`, its median and
//!   99th percentile `sync_p99`); and 4 KiB overwritten in place + `fdatasync`, as SQLite's
//!   reused WAL does (`sync_in_place`, its median);
//! - bandwidth: 16 MiB in 1 MiB `write`s, then one `fsync`, timed whole (`write_mb_per_s`);
//! - CPU: SQLite autocommit upserts with `synchronous=OFF` (WAL), and commit-log writes with no
//!   sync: what each engine does per commit besides syncing (`[cpu]`).

use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::calibration::{median, RealLog, RealSqlite};
use super::machine::Machine;
use super::sqlite_cells::Synchronous;

/// How much one round does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rounds {
    /// Rounds.
    pub rounds: u64,
    /// Syncs of each kind per round.
    pub syncs: u64,
    /// Bytes per bandwidth measurement.
    pub bandwidth_bytes: u64,
    /// SQLite commits per round (no sync).
    pub sqlite_commits: u64,
    /// Commit-log writes per round (no sync).
    pub log_writes: u64,
}

impl Rounds {
    /// The full measurement.
    pub const FULL: Rounds =
        Rounds { rounds: 15, syncs: 200, bandwidth_bytes: 16 << 20, sqlite_commits: 2_000, log_writes: 20_000 };
    /// A smoke run (its figures mean little).
    pub const QUICK: Rounds =
        Rounds { rounds: 3, syncs: 10, bandwidth_bytes: 1 << 20, sqlite_commits: 50, log_writes: 200 };
}

/// One round's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Round {
    sync: Duration,
    sync_p99: Duration,
    sync_in_place: Duration,
    write_mb_per_s: f64,
    sqlite_commit: Duration,
    log_write: Duration,
}

/// The measured profile: the medians over rounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Median sync with metadata.
    pub sync: Duration,
    /// Its 99th percentile.
    pub sync_p99: Duration,
    /// Median sync in place.
    pub sync_in_place: Duration,
    /// Sequential write bandwidth, MB/s.
    pub write_mb_per_s: f64,
    /// SQLite CPU per commit.
    pub sqlite_commit: Duration,
    /// Commit-log CPU per write.
    pub log_write: Duration,
    /// Each figure's smallest and largest round value, for the file's comments.
    spread: Vec<(f64, f64)>,
    rounds: u64,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

/// One round in `dir` (files deleted afterwards).
fn round(dir: &Path, r: Rounds, sqlite: &mut RealSqlite, log: &mut RealLog) -> Result<Round> {
    let path = |name: &str| dir.join(name);
    let open = |name: &str| -> Result<fs::File> {
        let _ = fs::remove_file(path(name));
        OpenOptions::new().read(true).write(true).create_new(true).open(path(name)).with_context(|| name.to_owned())
    };
    let (append, overwrite) = (open("profile-append")?, open("profile-overwrite")?);
    let block = vec![0xA5u8; 4096];
    let record = vec![0x5Au8; super::lsm_cells::Data::new(1, 100).record_bytes()];
    overwrite.write_all_at(&block, 0)?;
    overwrite.sync_all()?;
    append.sync_all()?;
    let (mut grown, mut in_place) = (Vec::new(), Vec::new());
    for i in 0..r.syncs {
        let start = Instant::now();
        append.write_all_at(&record, i * record.len() as u64)?;
        append.sync_all()?;
        grown.push(start.elapsed());
        let start = Instant::now();
        overwrite.write_all_at(&block, 0)?;
        overwrite.sync_data()?;
        in_place.push(start.elapsed());
    }
    grown.sort();
    in_place.sort();
    let bulk = open("profile-bandwidth")?;
    let mib = vec![0x3Cu8; 1 << 20];
    let start = Instant::now();
    let mut offset = 0;
    while offset < r.bandwidth_bytes {
        bulk.write_all_at(&mib, offset)?;
        offset += mib.len() as u64;
    }
    bulk.sync_all()?;
    let write_mb_per_s = offset as f64 / start.elapsed().as_secs_f64().max(1e-9) / 1e6;
    drop((append, overwrite, bulk));
    for name in ["profile-append", "profile-overwrite", "profile-bandwidth"] {
        fs::remove_file(path(name))?;
    }
    let per = |d: Duration, n: u64| d / u32::try_from(n.max(1)).unwrap_or(u32::MAX);
    Ok(Round {
        sync: percentile(&grown, 0.5),
        sync_p99: percentile(&grown, 0.99),
        sync_in_place: percentile(&in_place, 0.5),
        write_mb_per_s,
        sqlite_commit: per(sqlite.commits(r.sqlite_commits)?, r.sqlite_commits),
        log_write: per(log.commits(r.log_writes)?, r.log_writes),
    })
}

/// Measures the profile in `dir` (which must be on the machine's real disk).
pub fn measure(dir: &Path, r: Rounds, log_to: &mut dyn std::io::Write) -> Result<Profile> {
    if r.rounds == 0 || r.syncs == 0 {
        bail!("a profile needs at least one round of syncs");
    }
    let mut sqlite = RealSqlite::open(&dir.join("profile-sqlite"), Synchronous::Off)?;
    let mut log = RealLog::open(&dir.join("profile-lsm"), false)?;
    let mut rounds = Vec::new();
    for i in 0..r.rounds {
        let one = round(dir, r, &mut sqlite, &mut log)?;
        writeln!(
            log_to,
            "round {i}: sync {:?} (p99 {:?}), in place {:?}, {:.0} MB/s, SQLite {:?}, log {:?} per commit",
            one.sync, one.sync_p99, one.sync_in_place, one.write_mb_per_s, one.sqlite_commit, one.log_write
        )?;
        rounds.push(one);
    }
    drop((sqlite, log));
    fs::remove_dir_all(dir.join("profile-sqlite"))?;
    fs::remove_dir_all(dir.join("profile-lsm"))?;
    let figure = |f: &dyn Fn(&Round) -> f64| {
        let values: Vec<f64> = rounds.iter().map(f).collect();
        let spread = values.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        (median(values), spread)
    };
    let secs = |f: fn(&Round) -> Duration| figure(&|r: &Round| f(r).as_secs_f64());
    let (sync, s0) = secs(|r| r.sync);
    let (sync_p99, s1) = secs(|r| r.sync_p99);
    let (sync_in_place, s2) = secs(|r| r.sync_in_place);
    let (write_mb_per_s, s3) = figure(&|r: &Round| r.write_mb_per_s);
    let (sqlite_commit, s4) = secs(|r| r.sqlite_commit);
    let (log_write, s5) = secs(|r| r.log_write);
    let d = Duration::from_secs_f64;
    // A profile keeps its kinds in order even when a round's noise does not.
    let sync = d(sync).max(d(sync_in_place));
    Ok(Profile {
        sync,
        sync_p99: d(sync_p99).max(sync),
        sync_in_place: d(sync_in_place),
        write_mb_per_s,
        sqlite_commit: d(sqlite_commit),
        log_write: d(log_write),
        spread: vec![s0, s1, s2, s3, s4, s5],
        rounds: r.rounds,
    })
}

/// A duration as the profile file writes it: whole nanoseconds below 10 us, whole
/// microseconds above.
fn fine(d: Duration) -> String {
    if d < Duration::from_micros(10) {
        format!("{}ns", d.as_nanos())
    } else {
        format!("{}us", d.as_micros())
    }
}

/// The profile file's text.
pub fn render(profile: &Profile, machine: &Machine) -> String {
    let mut s = String::new();
    let us = |(lo, hi): (f64, f64)| format!("{:.0}-{:.0} us", lo * 1e6, hi * 1e6);
    let ns = |(lo, hi): (f64, f64)| format!("{:.0}-{:.0} ns", lo * 1e9, hi * 1e9);
    let sp = &profile.spread;
    let _ = writeln!(
        s,
        "# This machine's disk and engines, as `lab bench engines --write-profile` measured them:\n\
         # the `measured` disk profile of every experiment (the default; rebuild to use a new\n\
         # file) and the engines' CPU per commit for `lab bench calibration`.\n\
         # Machine: {} ({} CPUs), kernel {}, {} on {} mounted at {}.\n\
         # {} interleaved rounds; each figure is the median of the rounds' own figures (the\n\
         # disk is shared and has slow periods), its range over rounds in the comment.\n",
        machine.cpu,
        machine.cpus,
        machine.kernel,
        machine.fs_type,
        machine.device.as_deref().unwrap_or("an unknown device"),
        machine.mount,
        profile.rounds,
    );
    let _ = writeln!(s, "[disk]");
    let _ = writeln!(
        s,
        "# append of one 137-byte commit-log record + fsync (the file grows: metadata), median; rounds {}",
        us(sp[0])
    );
    let _ = writeln!(s, "sync = \"{}\"", fine(profile.sync));
    let _ = writeln!(s, "# 4 KiB overwritten in place + fdatasync, median; rounds {}", us(sp[2]));
    let _ = writeln!(s, "sync_in_place = \"{}\"", fine(profile.sync_in_place));
    let _ = writeln!(s, "# the appends' 99th percentile; rounds {}", us(sp[1]));
    let _ = writeln!(s, "sync_p99 = \"{}\"", fine(profile.sync_p99));
    let _ = writeln!(s, "# 16 MiB in 1 MiB writes + one fsync; rounds {:.0}-{:.0} MB/s", sp[3].0, sp[3].1);
    let _ = writeln!(s, "write_mb_per_s = {:.0}\n", profile.write_mb_per_s.max(1.0));
    let _ = writeln!(s, "[cpu]");
    let _ = writeln!(s, "# one SQLite autocommit upsert, WAL, synchronous=OFF (no sync); rounds {}", ns(sp[4]));
    let _ = writeln!(s, "sqlite_commit = \"{}\"", fine(profile.sqlite_commit));
    let _ = writeln!(s, "# one commit-log write (137-byte record), no sync; rounds {}", ns(sp[5]));
    let _ = writeln!(s, "commit_log_write = \"{}\"", fine(profile.log_write));
    s
}

/// Measures and writes the profile to `path`, checking that the lab reads it back.
pub fn write(dir: &Path, path: &Path, rounds: Rounds, log_to: &mut dyn std::io::Write) -> Result<Profile> {
    let machine = super::machine::describe(dir, false)?;
    let profile = measure(&machine.dir, rounds, log_to)?;
    let text = render(&profile, &machine);
    experiment::store::disk::parse_measured(path, &text)
        .map_err(|e| anyhow::anyhow!("the profile written would be refused: {e}"))?;
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, text).with_context(|| format!("write {}", path.display()))?;
    Ok(profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quick_profile_is_a_file_the_lab_reads() -> Result<()> {
        let base = std::env::temp_dir().join(format!("lab-profile-{}", std::process::id()));
        fs::create_dir_all(&base)?;
        let machine = super::super::machine::describe(&base, true)?;
        let profile = measure(&machine.dir, Rounds::QUICK, &mut std::io::sink())?;
        assert!(profile.sync >= profile.sync_in_place && profile.sync_p99 >= profile.sync);
        let text = render(&profile, &machine);
        let parsed = experiment::store::disk::parse_measured(Path::new("m.toml"), &text)
            .map_err(|e| anyhow::anyhow!("{e}\n{text}"))?;
        assert_eq!(parsed.disk.per_sync.as_micros(), profile.sync.as_micros());
        assert_eq!(parsed.disk.per_sync_in_place.map(|d| d.as_micros()), Some(profile.sync_in_place.as_micros()));
        assert_eq!(fs::read_dir(&machine.dir)?.count(), 0, "the scratch files are deleted");
        fs::remove_dir_all(&base)?;
        Ok(())
    }

    #[test]
    fn fine_durations_keep_sub_10_us_figures_in_nanoseconds() {
        assert_eq!(fine(Duration::from_nanos(650)), "650ns");
        assert_eq!(fine(Duration::from_nanos(5_300)), "5300ns");
        assert_eq!(fine(Duration::from_micros(245)), "245us");
    }
}
