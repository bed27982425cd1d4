//! What a server host's supervisor needs, shared by both stores: [`Restarts`] counts the
//! software starts that failed and the restarts after a disk failure; [`Backoff`] spaces the
//! attempts (100 ms, doubling to 1.6 s, back to 100 ms after a start that served).
//!
//! turmoil fails the whole simulation when a host's start-up future returns an error, so a
//! store whose disk fails at start-up must retry as a process supervisor would, not return.

use std::cell::{Cell, RefCell};
use std::time::Duration;

/// The pause before the first retry (and after a start that served for a while).
pub const RESTART_BACKOFF: Duration = Duration::from_millis(100);
/// The longest pause between attempts (the backoff doubles per failed start).
pub const RESTART_BACKOFF_MAX: Duration = Duration::from_millis(1_600);

/// What a system's supervisors did (one simulation runs on one thread).
#[derive(Debug, Default)]
pub struct Restarts {
    failed_starts: Cell<u64>,
    restarts: Cell<u64>,
    last_reason: RefCell<Option<String>>,
}

impl Restarts {
    /// Starts that failed (recovery hit a disk error, a port could not be bound) and were
    /// retried.
    pub fn failed_starts(&self) -> u64 {
        self.failed_starts.get()
    }

    /// Times running software stopped because of a disk failure, and started again.
    pub fn restarts(&self) -> u64 {
        self.restarts.get()
    }

    /// Why the last failed start or restart happened.
    pub fn last_reason(&self) -> Option<String> {
        self.last_reason.borrow().clone()
    }

    /// Records a failed start, for `reason`.
    pub fn failed_start(&self, reason: String) {
        self.failed_starts.set(self.failed_starts.get() + 1);
        *self.last_reason.borrow_mut() = Some(reason);
    }

    /// Records a restart after a disk failure, for `reason`.
    pub fn restart(&self, reason: String) {
        self.restarts.set(self.restarts.get() + 1);
        *self.last_reason.borrow_mut() = Some(reason);
    }
}

/// The supervisor's pause between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    next: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self { next: RESTART_BACKOFF }
    }
}

impl Backoff {
    /// Back to the shortest pause (a start served).
    pub fn reset(&mut self) {
        self.next = RESTART_BACKOFF;
    }

    /// The pause to take now; the next one is twice as long, up to [`RESTART_BACKOFF_MAX`].
    pub fn next_pause(&mut self) -> Duration {
        let pause = self.next;
        self.next = self.next.saturating_mul(2).min(RESTART_BACKOFF_MAX);
        pause
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap_and_resets() {
        let mut backoff = Backoff::default();
        let pauses: Vec<u64> = (0..7).map(|_| backoff.next_pause().as_millis() as u64).collect();
        assert_eq!(pauses, [100, 200, 400, 800, 1600, 1600, 1600]);
        backoff.reset();
        assert_eq!(backoff.next_pause(), RESTART_BACKOFF);
    }

    #[test]
    fn restarts_count_and_remember_the_last_reason() {
        let restarts = Restarts::default();
        restarts.failed_start("a".into());
        restarts.restart("b".into());
        restarts.failed_start("c".into());
        assert_eq!((restarts.failed_starts(), restarts.restarts()), (2, 1));
        assert_eq!(restarts.last_reason().as_deref(), Some("c"));
    }
}
