//! The OS's write-back of dirty data, simplified from Linux: what of the unsynced writes
//! survives a power loss.
//!
//! Source: the Linux kernel's `Documentation/admin-guide/sysctl/vm.rst`:
//! - `dirty_expire_centisecs` (default 3000, 30 s): "when dirty data is old enough to be
//!   eligible for writeout by the kernel flusher threads ... Data which has been dirty
//!   in-memory for longer than this interval will be written out next time a flusher thread
//!   wakes up";
//! - `dirty_writeback_centisecs` (default 500, 5 s): "the kernel flusher threads will
//!   periodically wake up and write old data out to disk"; 0 disables the periodic write-back.
//!
//! Simplified as Linux tracks it, per file (inode): a file becomes dirty at its first unsynced
//! write (`dirtied_when`); at every tick (multiples of `interval` since the run's start) each
//! file dirty for at least `expire` is written back whole, including writes newer than the
//! expiry (the kernel writes the inode's dirty pages, not only the old ones). A sync or a
//! write-back makes the file clean. Ignored: the dirty-ratio thresholds (`dirty_ratio`,
//! `dirty_background_ratio`: the simulated hosts' page caches never fill), write-back taking
//! time, and its order across files.
//!
//! Pure: time is passed in as a [`Duration`] since the run's start.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// `vm.dirty_expire_centisecs = 3000`.
pub const DEFAULT_EXPIRE: Duration = Duration::from_secs(30);
/// `vm.dirty_writeback_centisecs = 500`.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// The longest accepted expiry or interval: one hour (longer is no write-back within any run).
pub const MAX_SETTING: Duration = Duration::from_secs(3600);

/// The write-back policy of every host's OS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteBack {
    /// No periodic write-back (`dirty_writeback_centisecs = 0`): only syncs make data durable.
    Off,
    /// Dirty data at least `expire` old is written back at every `interval` tick.
    Periodic {
        /// How long data stays dirty before it is eligible (`dirty_expire_centisecs`).
        expire: Duration,
        /// The flusher's period (`dirty_writeback_centisecs`).
        interval: Duration,
    },
}

impl Default for WriteBack {
    /// Linux's defaults: 30 s expiry, 5 s ticks.
    fn default() -> Self {
        WriteBack::Periodic { expire: DEFAULT_EXPIRE, interval: DEFAULT_INTERVAL }
    }
}

/// A setting refused by [`WriteBack::periodic`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteBackError {
    /// Zero: a zero interval would tick continuously (Linux reads 0 as "off"; say `off`).
    Zero(&'static str),
    /// Longer than [`MAX_SETTING`].
    TooLong(&'static str, Duration),
}

impl fmt::Display for WriteBackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteBackError::Zero(what) => {
                write!(
                    f,
                    "{what} must be a positive duration of at most {}s (or dirty_writeback = \"off\")",
                    MAX_SETTING.as_secs()
                )
            }
            WriteBackError::TooLong(what, value) => write!(
                f,
                "{what} of {}s is longer than the allowed {}s; allowed: a positive duration of at most {}s",
                value.as_secs_f64(),
                MAX_SETTING.as_secs(),
                MAX_SETTING.as_secs()
            ),
        }
    }
}

impl std::error::Error for WriteBackError {}

impl WriteBack {
    /// A periodic policy, each setting positive and at most [`MAX_SETTING`].
    pub fn periodic(expire: Duration, interval: Duration) -> Result<Self, WriteBackError> {
        for (what, value) in [("dirty_expire", expire), ("dirty_writeback", interval)] {
            if value.is_zero() {
                return Err(WriteBackError::Zero(what));
            }
            if value > MAX_SETTING {
                return Err(WriteBackError::TooLong(what, value));
            }
        }
        Ok(WriteBack::Periodic { expire, interval })
    }

    /// When a file dirtied at `dirtied_when` (and not synced since) is written back: the first
    /// tick at or after `dirtied_when + expire`. `None` when write-back is off.
    pub fn written_back_at(&self, dirtied_when: Duration) -> Option<Duration> {
        match *self {
            WriteBack::Off => None,
            WriteBack::Periodic { expire, interval } => {
                let eligible = dirtied_when + expire;
                let step = interval.as_nanos();
                let ticks = eligible.as_nanos().div_ceil(step);
                let at = ticks.checked_mul(step)?;
                Some(Duration::from_nanos(u64::try_from(at).ok()?))
            }
        }
    }

    /// Whether the tick at `now` is a flusher tick (a multiple of the interval, after 0).
    pub fn is_tick(&self, now: Duration) -> bool {
        match *self {
            WriteBack::Off => false,
            WriteBack::Periodic { interval, .. } => {
                !now.is_zero() && now.as_nanos().is_multiple_of(interval.as_nanos())
            }
        }
    }
}

/// Which files are dirty since when: what a host's OS must write back at a tick.
#[derive(Debug, Clone, Default)]
pub struct Dirty<K: Ord> {
    since: BTreeMap<K, Duration>,
}

impl<K: Ord + Clone> Dirty<K> {
    /// An empty tracker: every file clean.
    pub fn new() -> Self {
        Dirty { since: BTreeMap::new() }
    }

    /// An unsynced write to `file` at `now`: the file is dirty from now unless it already was.
    pub fn write(&mut self, file: K, now: Duration) {
        self.since.entry(file).or_insert(now);
    }

    /// `file` was synced (or written back, or deleted): it is clean.
    pub fn clean(&mut self, file: &K) {
        self.since.remove(file);
    }

    /// Since when `file` is dirty, if it is.
    pub fn dirty_since(&self, file: &K) -> Option<Duration> {
        self.since.get(file).copied()
    }

    /// Every dirty file and since when, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, Duration)> + '_ {
        self.since.iter().map(|(file, since)| (file, *since))
    }

    /// The files a flusher tick at `now` writes back under `policy` (dirty at least `expire`),
    /// in order, each marked clean. Empty when `now` is no tick or write-back is off.
    pub fn tick(&mut self, policy: WriteBack, now: Duration) -> Vec<K> {
        let WriteBack::Periodic { expire, .. } = policy else { return Vec::new() };
        if !policy.is_tick(now) {
            return Vec::new();
        }
        let due: Vec<K> = self
            .since
            .iter()
            .filter(|(_, since)| now.saturating_sub(**since) >= expire)
            .map(|(file, _)| file.clone())
            .collect();
        for file in &due {
            self.since.remove(file);
        }
        due
    }
}

/// Which of `writes` (each `(file, time)`, in time order, none synced) survive a power loss at
/// `crash`: a write survives when a tick at or before `crash` wrote its file back after the
/// write. The reference model the tests hold [`Dirty`] to.
pub fn survivors<K: Ord + Clone>(policy: WriteBack, writes: &[(K, Duration)], crash: Duration) -> Vec<bool> {
    let mut dirty = Dirty::new();
    // Durable up to (and including) this time, per file.
    let mut durable_until: BTreeMap<K, Duration> = BTreeMap::new();
    let mut events: Vec<Duration> = writes.iter().map(|(_, at)| *at).collect();
    if let WriteBack::Periodic { interval, .. } = policy {
        let mut tick = interval;
        while tick <= crash {
            events.push(tick);
            tick += interval;
        }
    }
    events.sort();
    events.dedup();
    for now in events.into_iter().filter(|now| *now <= crash) {
        // Writes at `now` happen before a tick at `now`.
        for (file, _) in writes.iter().filter(|(_, at)| *at == now) {
            dirty.write(file.clone(), now);
        }
        for file in dirty.tick(policy, now) {
            durable_until.insert(file, now);
        }
    }
    writes.iter().map(|(file, at)| durable_until.get(file).is_some_and(|until| at <= until)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    #[test]
    fn defaults_are_linux_defaults() {
        assert_eq!(WriteBack::default(), WriteBack::Periodic { expire: s(30), interval: s(5) });
    }

    #[test]
    fn settings_are_validated() {
        assert_eq!(WriteBack::periodic(s(0), s(5)), Err(WriteBackError::Zero("dirty_expire")));
        assert_eq!(WriteBack::periodic(s(30), s(0)), Err(WriteBackError::Zero("dirty_writeback")));
        assert!(matches!(WriteBack::periodic(s(30), s(3601)), Err(WriteBackError::TooLong("dirty_writeback", _))));
        assert!(WriteBack::periodic(s(3600), s(1)).is_ok());
    }

    #[test]
    fn written_back_at_the_first_tick_after_expiry() {
        let policy = WriteBack::default();
        assert_eq!(policy.written_back_at(s(0)), Some(s(30)));
        assert_eq!(policy.written_back_at(Duration::from_millis(1)), Some(s(35)));
        assert_eq!(policy.written_back_at(s(12)), Some(s(45)));
        assert_eq!(WriteBack::Off.written_back_at(s(0)), None);
    }

    #[test]
    fn what_survives_a_power_loss() {
        let policy = WriteBack::periodic(s(10), s(5)).expect("a valid policy");
        // File a dirtied at 1 s: eligible at 11 s, written back at the 15 s tick, with its
        // 12 s write (the whole file is written back). File b dirtied at 14 s: eligible at 24 s,
        // written back at 25 s. The 16 s write to a dirties it again: written back at 30 s.
        let writes = [("a", s(1)), ("a", s(12)), ("b", s(14)), ("a", s(16))];
        assert_eq!(survivors(policy, &writes, s(14)), [false, false, false, false]);
        assert_eq!(survivors(policy, &writes, s(15)), [true, true, false, false]);
        assert_eq!(survivors(policy, &writes, s(24)), [true, true, false, false]);
        assert_eq!(survivors(policy, &writes, s(25)), [true, true, true, false]);
        assert_eq!(survivors(policy, &writes, s(30)), [true, true, true, true]);
        // Off: nothing unsynced ever survives; the default 30 s expiry: nothing within 30 s.
        assert_eq!(survivors(WriteBack::Off, &writes, s(1000)), [false, false, false, false]);
        assert_eq!(survivors(WriteBack::default(), &writes, s(30)), [false, false, false, false]);
        // File a, dirtied at 1 s, is written back whole at 35 s, its 16 s write too.
        assert_eq!(survivors(WriteBack::default(), &writes, s(35)), [true, true, false, true]);
    }

    #[test]
    fn survivors_agree_with_written_back_at() {
        // A single write per file survives iff its write-back time is at or before the crash.
        let policy = WriteBack::periodic(s(7), s(3)).expect("a valid policy");
        for at in 0..20 {
            let write = [("f", Duration::from_millis(at * 1300))];
            for crash in 0..40 {
                let crash = s(crash);
                let expected =
                    policy.written_back_at(write[0].1).is_some_and(|back| back <= crash) && write[0].1 <= crash;
                assert_eq!(
                    survivors(policy, &write, crash),
                    [expected],
                    "write at {:?}, crash at {crash:?}",
                    write[0].1
                );
            }
        }
    }

    #[test]
    fn a_sync_cleans_the_file() {
        let policy = WriteBack::periodic(s(10), s(5)).expect("a valid policy");
        let mut dirty = Dirty::new();
        dirty.write("a", s(1));
        dirty.write("a", s(3));
        assert_eq!(dirty.dirty_since(&"a"), Some(s(1)));
        dirty.clean(&"a");
        dirty.write("a", s(6));
        assert!(dirty.tick(policy, s(15)).is_empty());
        assert!(dirty.tick(policy, s(16)).is_empty(), "16 s is no tick");
        assert_eq!(dirty.tick(policy, s(20)), ["a"]);
        assert_eq!(dirty.dirty_since(&"a"), None);
    }
}
