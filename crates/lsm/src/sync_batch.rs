//! [`SyncBatcher`]: when a server in Cassandra's `batch` commit-log mode syncs, as a pure
//! state machine (time is passed in; the caller does the syncing and the waiting).
//!
//! The rule (Cassandra 4.x `commitlog_sync: batch`, see [`crate::group_commit`] for the
//! documentation it follows): a write is acknowledged only after a sync that covers it, and
//! concurrent writes share syncs, with no window:
//!
//! - a write that arrives while no sync is running starts one at once ([`Step::Sync`]): a lone
//!   writer waits exactly one sync;
//! - a write that arrives while a sync's disk time is still running waits ([`Step::Wait`]);
//! - when the running sync ends ([`SyncBatcher::on_sync_done`]), one sync starts for every
//!   write that waited, however many.
//!
//! Protocol with the caller (a server on simulated time):
//! 1. After a call that wrote, [`SyncBatcher::on_write`] at the current time. On
//!    [`Step::Sync`], sync the commit log now, book its disk time and report when it ends
//!    with [`SyncBatcher::sync_started`] (`None`: it took no time); send the call's
//!    acknowledgements, and those of every write held so far, at that end. On [`Step::Wait`],
//!    hold the call's acknowledgements.
//! 2. At the end of a sync's disk time, [`SyncBatcher::on_sync_done`] with that sync's
//!    number: [`Step::Sync`] again when writes waited (the same as above), [`Step::Nothing`]
//!    otherwise (also for a stale wake-up, of a sync that a later one replaced).
//!
//! The time type is the caller's (`T: Ord + Copy`: a runtime instant, or a `Duration` since
//! an origin in tests): the machine only compares times, it never reads a clock.

/// What the caller does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Sync now (it covers every write so far), then report the sync's end with
    /// [`SyncBatcher::sync_started`] under this number.
    Sync(u64),
    /// Hold the write's acknowledgement for the next sync.
    Wait,
    /// Nothing to do.
    Nothing,
}

/// Counts since the machine was created.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Writes reported ([`SyncBatcher::on_write`]'s `writes`).
    pub writes: u64,
    /// Syncs started.
    pub syncs: u64,
    /// Writes that waited for a later sync.
    pub waited: u64,
}

/// The batch-mode sync decisions of one node (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncBatcher<T> {
    /// The sync whose disk time is running: its number and when it ends.
    running: Option<(u64, T)>,
    /// A sync was ordered ([`Step::Sync`]) and its end not yet reported.
    starting: Option<u64>,
    /// Writes waiting for the next sync.
    waiting: u64,
    stats: BatchStats,
}

impl<T: Ord + Copy> SyncBatcher<T> {
    /// No sync running, nothing waiting.
    pub fn new() -> Self {
        SyncBatcher { running: None, starting: None, waiting: 0, stats: BatchStats::default() }
    }

    /// A call appended `writes` records at `now` (0 is treated as 1: the call wrote).
    pub fn on_write(&mut self, now: T, writes: u64) -> Step {
        let writes = writes.max(1);
        self.stats.writes += writes;
        let busy = self.starting.is_some() || self.running.is_some_and(|(_, until)| now < until);
        if busy {
            self.waiting += writes;
            self.stats.waited += writes;
            return Step::Wait;
        }
        self.start()
    }

    /// The sync ordered as `sync` takes disk time until `until` (`None`: none, it is over).
    pub fn sync_started(&mut self, sync: u64, until: Option<T>) {
        if self.starting != Some(sync) {
            return;
        }
        self.starting = None;
        self.running = until.map(|until| (sync, until));
    }

    /// The disk time of sync `sync` has passed: start the next sync if writes waited.
    pub fn on_sync_done(&mut self, sync: u64) -> Step {
        match self.running {
            Some((running, _)) if running == sync => self.running = None,
            // A stale wake-up: a later sync replaced this one, or it is not over yet.
            _ => return Step::Nothing,
        }
        if self.waiting == 0 {
            return Step::Nothing;
        }
        self.start()
    }

    /// Writes waiting for the next sync.
    pub fn waiting(&self) -> u64 {
        self.waiting
    }

    /// The counts so far.
    pub fn stats(&self) -> BatchStats {
        self.stats
    }

    fn start(&mut self) -> Step {
        self.stats.syncs += 1;
        let sync = self.stats.syncs;
        self.waiting = 0;
        self.running = None;
        self.starting = Some(sync);
        Step::Sync(sync)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Times in microseconds.
    type Us = u64;

    #[test]
    fn a_lone_writer_syncs_at_once_every_time() {
        let mut batch = SyncBatcher::<Us>::new();
        for (i, at) in [0u64, 500, 1000].into_iter().enumerate() {
            let step = batch.on_write(at, 1);
            assert_eq!(step, Step::Sync(i as u64 + 1));
            batch.sync_started(i as u64 + 1, Some(at + 150));
            assert_eq!(batch.on_sync_done(i as u64 + 1), Step::Nothing);
        }
        assert_eq!(batch.stats(), BatchStats { writes: 3, syncs: 3, waited: 0 });
    }

    #[test]
    fn writes_during_a_sync_share_the_next_one() {
        let mut batch = SyncBatcher::<Us>::new();
        assert_eq!(batch.on_write(0, 1), Step::Sync(1));
        batch.sync_started(1, Some(150));
        // Three calls (one with two records) arrive while sync 1 is on the disk.
        assert_eq!(batch.on_write(10, 1), Step::Wait);
        assert_eq!(batch.on_write(20, 2), Step::Wait);
        assert_eq!(batch.on_write(149, 1), Step::Wait);
        assert_eq!(batch.waiting(), 4);
        // One sync for all of them when sync 1 ends.
        assert_eq!(batch.on_sync_done(1), Step::Sync(2));
        assert_eq!(batch.waiting(), 0);
        batch.sync_started(2, Some(300));
        assert_eq!(batch.on_sync_done(2), Step::Nothing);
        assert_eq!(batch.stats(), BatchStats { writes: 5, syncs: 2, waited: 4 });
    }

    #[test]
    fn a_write_after_the_sync_ended_starts_one_before_the_late_wake_up() {
        let mut batch = SyncBatcher::<Us>::new();
        assert_eq!(batch.on_write(0, 1), Step::Sync(1));
        batch.sync_started(1, Some(150));
        assert_eq!(batch.on_write(100, 1), Step::Wait);
        // The wake-up for sync 1 comes late (a timer tick); a write at 200 finds no sync
        // running and starts one, which covers the write that waited too.
        assert_eq!(batch.on_write(200, 1), Step::Sync(2));
        batch.sync_started(2, Some(350));
        // The stale wake-up of sync 1 does nothing; sync 2's own ends it.
        assert_eq!(batch.on_sync_done(1), Step::Nothing);
        assert_eq!(batch.on_write(300, 1), Step::Wait);
        assert_eq!(batch.on_sync_done(2), Step::Sync(3));
        assert_eq!(batch.stats(), BatchStats { writes: 4, syncs: 3, waited: 2 });
    }

    #[test]
    fn a_free_sync_never_makes_anyone_wait() {
        let mut batch = SyncBatcher::<Us>::new();
        for i in 1..=3 {
            assert_eq!(batch.on_write(7, 1), Step::Sync(i));
            batch.sync_started(i, None);
        }
        assert_eq!(batch.on_sync_done(3), Step::Nothing);
        assert_eq!(batch.stats().waited, 0);
    }

    #[test]
    fn a_write_between_the_order_and_its_report_waits() {
        let mut batch = SyncBatcher::<Us>::new();
        assert_eq!(batch.on_write(0, 1), Step::Sync(1));
        assert_eq!(batch.on_write(0, 1), Step::Wait);
        // A report for another number changes nothing.
        batch.sync_started(9, Some(5));
        batch.sync_started(1, Some(150));
        assert_eq!(batch.on_sync_done(1), Step::Sync(2));
    }
}
