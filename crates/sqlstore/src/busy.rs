//! Busy handling: when a transaction waits for a lock another connection holds, and for how
//! long, as SQLite's own busy handler would, but in simulated time.
//!
//! SQLite's default busy handler (`sqliteDefaultBusyCallback` in main.c, installed by
//! `sqlite3_busy_timeout`) sleeps 1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100 ms, then
//! 100 ms each time, and gives up once the delays it has *scheduled* (not the time that really
//! passed) would exceed the timeout, after a last, shortened sleep that fills it exactly.
//! [`BusyWait`] reproduces that sequence; the server sleeps each delay in simulated time and
//! retries the statement ([`crate::server`]). SQLite's own handler stays off: it would sleep
//! the simulation's thread in wall time (see [`crate::store::Store`]'s `configure`).
//!
//! When SQLite does not call its busy handler at all, neither does the server: a transaction
//! that already holds a read lock (a deferred transaction that has read) and is refused the
//! write lock gets `SQLITE_BUSY` at once (`sqlite3BtreeBeginTrans` invokes the handler only
//! while the connection has no transaction open on the file: waiting while holding SHARED
//! could deadlock with the RESERVED holder, who waits for readers to leave). A failed `BEGIN`
//! or first statement releases what it took, and `COMMIT`'s wait for EXCLUSIVE (in
//! `pager_wait_on_lock`) does call the handler. So [`retries`] asks the lock table what the
//! connection holds after the refusal: SHARED alone means a reader asking to write, refused
//! for good.

use std::time::Duration;

use sqlite_vfs::LockKind;

/// SQLite's delays (`delays[]` in `sqliteDefaultBusyCallback`), in milliseconds.
const DELAYS_MS: [u64; 12] = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100];

/// The delays a transaction waits through for one statement, up to its busy timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusyWait {
    timeout: Duration,
    /// Times the handler was called so far (SQLite's `count`).
    count: usize,
    /// The delays scheduled so far (SQLite's `prior`).
    prior: Duration,
}

impl BusyWait {
    /// A wait that gives up after `timeout` (0: at once, SQLite's default).
    pub fn new(timeout: Duration) -> Self {
        BusyWait { timeout, count: 0, prior: Duration::ZERO }
    }

    /// The next delay before retrying, or `None` when the timeout is used up (the
    /// transaction then fails with `SQLITE_BUSY`).
    pub fn next_delay(&mut self) -> Option<Duration> {
        let step = DELAYS_MS.get(self.count).copied().unwrap_or(DELAYS_MS[DELAYS_MS.len() - 1]);
        let mut delay = Duration::from_millis(step);
        if self.prior + delay > self.timeout {
            delay = self.timeout.saturating_sub(self.prior);
            if delay.is_zero() {
                return None;
            }
        }
        self.count += 1;
        self.prior += delay;
        Some(delay)
    }

    /// The delays scheduled so far.
    pub fn waited(&self) -> Duration {
        self.prior
    }
}

/// Which call of a transaction got `SQLITE_BUSY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `BEGIN`.
    Begin,
    /// A step of the operation's plan (one or more statements).
    Step,
    /// `COMMIT` (rollback-journal mode: waiting for readers to leave before EXCLUSIVE).
    Commit,
}

/// Whether SQLite would invoke its busy handler for `SQLITE_BUSY` on `call`, the
/// connection holding `held` after the refusal (see the module docs): always, except for a
/// statement of a transaction that holds only SHARED (it has read and now asks to write).
pub fn retries(call: Call, held: LockKind) -> bool {
    match call {
        Call::Begin | Call::Commit => true,
        Call::Step => held != LockKind::Shared,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delays(timeout_ms: u64) -> Vec<u64> {
        let mut wait = BusyWait::new(Duration::from_millis(timeout_ms));
        let mut out = Vec::new();
        while let Some(delay) = wait.next_delay() {
            out.push(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX));
            assert!(out.len() < 1_000, "the wait ends");
        }
        out
    }

    #[test]
    fn the_delays_are_sqlites_and_fill_the_timeout_exactly() {
        assert_eq!(delays(0), Vec::<u64>::new(), "a zero timeout never waits");
        assert_eq!(delays(1), vec![1]);
        assert_eq!(delays(10), vec![1, 2, 5, 2]);
        assert_eq!(delays(228), vec![1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50]);
        let long = delays(5_000);
        assert_eq!(long.iter().sum::<u64>(), 5_000);
        assert_eq!(&long[..12], &DELAYS_MS);
        let (last, middle) = long[12..].split_last().expect("more than 12 delays");
        assert!(middle.iter().all(|&d| d == 100));
        assert_eq!(*last, 5_000 - 228 - 100 * 47, "the last delay is cut to fill the timeout");
    }

    #[test]
    fn a_transaction_that_read_is_not_retried_when_it_asks_to_write() {
        assert!(retries(Call::Begin, LockKind::None));
        assert!(retries(Call::Step, LockKind::None), "a first statement released what it took");
        assert!(!retries(Call::Step, LockKind::Shared), "a reader asking to write");
        assert!(retries(Call::Step, LockKind::Reserved), "a writer waiting for EXCLUSIVE (a cache spill)");
        assert!(retries(Call::Commit, LockKind::Pending));
    }
}
