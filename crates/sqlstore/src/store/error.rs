//! [`StoreError`]: why a store operation failed, and which failures certainly had no effect
//! (see the table in [`crate::store`]).

use std::path::PathBuf;

use history::Value;

use crate::vfs::RegisterError;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The VFS could not be registered.
    #[error(transparent)]
    Register(#[from] RegisterError),
    /// Preparing the database's directory failed.
    #[error("preparing directory {dir}: {source}")]
    Directory {
        /// The directory.
        dir: PathBuf,
        /// The shim's error.
        source: std::io::Error,
    },
    /// SQLite failed (including I/O errors from the VFS). Whether a write took effect is
    /// unknown.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A pragma did not take the value asked for.
    #[error("pragma {pragma} is {actual}, expected {expected}")]
    Pragma {
        /// The pragma.
        pragma: &'static str,
        /// What was asked for.
        expected: String,
        /// What SQLite reports.
        actual: String,
    },
    /// A stored key, value or element is not the JSON of a [`Value`].
    #[error("stored text {text:?} is not a value: {message}")]
    Corrupt {
        /// The stored text.
        text: String,
        /// The JSON error.
        message: String,
    },
    /// A transfer's amount is negative.
    #[error("transfer amount {0} is negative")]
    NegativeAmount(i64),
    /// An account's balance is not an integer.
    #[error("balance of {account} is {found}, not an integer")]
    NotAnInteger {
        /// The account.
        account: Value,
        /// What it holds.
        found: Value,
    },
    /// A list-append transaction found something other than a list at a key.
    #[error("{key} holds {found}, not a list")]
    NotAList {
        /// The key.
        key: Value,
        /// What it holds.
        found: Value,
    },
    /// The source account holds less than the amount.
    #[error("insufficient funds: {account} holds {balance}, transfer of {amount}")]
    InsufficientFunds {
        /// The source account.
        account: Value,
        /// Its balance.
        balance: i64,
        /// The amount asked for.
        amount: i64,
    },
    /// The destination's balance would overflow.
    #[error("balance of {account} would overflow")]
    Overflow {
        /// The destination account.
        account: Value,
    },
    /// A compare-and-set found another value (rolled back, having written nothing).
    #[error("cas mismatch")]
    CasMismatch,
    /// Another connection held a lock this transaction needed for longer than the busy
    /// timeout (or the timeout is zero), and the transaction was rolled back.
    #[error("{DATABASE_LOCKED}")]
    Busy {
        /// SQLite's error, when it was the last word.
        source: Option<rusqlite::Error>,
    },
    /// A transaction that holds a read lock needs the write lock another connection holds:
    /// SQLite does not wait (its busy handler is not invoked: waiting could deadlock) and the
    /// transaction was rolled back. In WAL mode the same answer comes when the write lock is
    /// free but another connection committed since this transaction's snapshot
    /// (`SQLITE_BUSY_SNAPSHOT`): waiting would never make the snapshot current.
    #[error(
        "{DATABASE_LOCKED}: the transaction read, then could not take the write lock (deadlock; SQLite does not wait)"
    )]
    Deadlock,
    /// A definite refusal (named here) whose transaction could not be rolled back: its
    /// outcome is unknown.
    #[error("not rolled back after: {0}")]
    Unsettled(String),
    /// The configuration is not usable.
    #[error("store configuration: {0}")]
    Config(String),
    /// The initial state could not be made durable.
    #[error("making the initial state durable: {0}")]
    Preload(std::io::Error),
    /// A checkpoint did not complete.
    #[error("checkpoint incomplete: {0}")]
    Checkpoint(String),
    /// The disk failed (`reason`: [`DISK_FULL`] or [`IO_ERROR`]) before the transaction
    /// reached its commit point, and SQLite rolled it back: it certainly had no effect (see
    /// [`crate::store`]).
    #[error("{reason}: the transaction was rolled back ({source})")]
    Aborted {
        /// [`DISK_FULL`] or [`IO_ERROR`].
        reason: &'static str,
        /// SQLite's error.
        source: rusqlite::Error,
    },
}

/// The reason of a transaction aborted for lack of disk space.
pub const DISK_FULL: &str = "disk full";
/// The reason of a transaction aborted by a failed read or write.
pub const IO_ERROR: &str = "I/O error";
/// The reason of a transaction rolled back for a lock it could not get (SQLite's message for
/// `SQLITE_BUSY`).
pub const DATABASE_LOCKED: &str = "database is locked";

impl StoreError {
    /// True when the operation certainly had no effect: it was refused inside its
    /// transaction, before writing anything, and rolled back. Other errors (SQLite, I/O) may
    /// have struck during `COMMIT`, so their outcome is unknown.
    pub fn is_definite(&self) -> bool {
        matches!(
            self,
            StoreError::NegativeAmount(_)
                | StoreError::NotAnInteger { .. }
                | StoreError::NotAList { .. }
                | StoreError::InsufficientFunds { .. }
                | StoreError::Overflow { .. }
                | StoreError::Aborted { .. }
                | StoreError::CasMismatch
                | StoreError::Busy { .. }
                | StoreError::Deadlock
        )
    }

    /// Whether SQLite answered `SQLITE_BUSY` (any extended code): another connection holds a
    /// lock this one needs. The statement left the transaction as it was.
    pub fn is_busy(&self) -> bool {
        matches!(self, StoreError::Sqlite(source) if is_busy(source))
    }

    /// Whether the disk was full ([`StoreError::Aborted`] with [`DISK_FULL`]).
    pub fn is_disk_full(&self) -> bool {
        matches!(self, StoreError::Aborted { reason, .. } if *reason == DISK_FULL)
    }
}

/// The reason of a SQLite error that is a disk failure (full, or I/O), if it is one.
pub(super) fn disk_failure(error: &rusqlite::Error) -> Option<&'static str> {
    match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => Some(DISK_FULL),
        Some(rusqlite::ErrorCode::SystemIoFailure) => Some(IO_ERROR),
        _ => None,
    }
}

/// Whether a SQLite error is `SQLITE_BUSY` (including `SQLITE_BUSY_SNAPSHOT` and the like).
pub(super) fn is_busy(error: &rusqlite::Error) -> bool {
    error.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
}
