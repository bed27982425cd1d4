//! [`EngineError`], and [`Corruption`]: what was wrong with bytes read back.

use std::io;
use std::path::PathBuf;

/// What was wrong with bytes read from a file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Corruption {
    /// A checksum did not match its data.
    #[error("checksum mismatch at offset {offset}: stored {expected:#010x}, computed {got:#010x}")]
    ChecksumMismatch {
        /// Where the checksummed frame starts.
        offset: u64,
        /// The checksum of the bytes read.
        got: u32,
        /// The checksum stored in the file.
        expected: u32,
    },
    /// The data ends before a field does.
    #[error("truncated: {needed} bytes needed at offset {offset}, only {len} in total")]
    Truncated {
        /// Where the field starts.
        offset: u64,
        /// Its length.
        needed: u64,
        /// The length of the data.
        len: u64,
    },
    /// A frame's length field is zero or beyond the limit.
    #[error("implausible frame length {len} at offset {offset}")]
    BadLength {
        /// Where the frame starts.
        offset: u64,
        /// The length read.
        len: u64,
    },
    /// The file does not start or end with its format's magic bytes.
    #[error("bad magic bytes")]
    BadMagic,
    /// The bytes pass their checksum but do not make sense.
    #[error("malformed: {0}")]
    Malformed(&'static str),
}

/// Why an engine call failed.
///
/// Writes ([`Engine::write`](crate::Engine::write)): [`EngineError::is_definite`] says whether
/// the write certainly did not happen (refused before anything reached the commit log: disk
/// full, a poisoned engine, a record too large); otherwise the outcome is unknown (the record
/// may be in the commit log and may survive). After an I/O error in a call that changes the
/// disk, and after any failed sync, the engine refuses further changes
/// ([`EngineError::Poisoned`]) and must be reopened (see [`crate::engine`] for why). A full
/// disk does not poison: the engine stays usable and keeps serving reads.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// Called outside a turmoil host: the simulated disk is unavailable.
    #[error("not inside a turmoil host: the simulated disk is unavailable")]
    NotInSimulation,
    /// The configuration was refused.
    #[error("invalid engine configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: &'static str,
    },
    /// A file-system call failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// The call (`"write"`, `"sync"`, ...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// A live SSTable (synced before the manifest named it) failed its checks.
    #[error("corrupt SSTable {path}: {corruption}")]
    CorruptSstable {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        corruption: Corruption,
    },
    /// The newest manifest (synced before it was named) failed its checks.
    #[error("corrupt manifest {path}: {corruption}")]
    CorruptManifest {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        corruption: Corruption,
    },
    /// The manifest names an SSTable that is not on disk.
    #[error("manifest {manifest} names SSTable {path}, which does not exist")]
    MissingSstable {
        /// The manifest.
        manifest: PathBuf,
        /// The missing file.
        path: PathBuf,
    },
    /// A record would exceed the size limit.
    #[error("record for key of {key_bytes} bytes is too large ({bytes} bytes; the limit is {max})")]
    RecordTooLarge {
        /// The key's length.
        key_bytes: usize,
        /// The record's size (or a lower bound).
        bytes: usize,
        /// The limit.
        max: usize,
    },
    /// A value's lists nest too deep to store.
    #[error("value nests deeper than {max} levels")]
    ValueTooDeep {
        /// The limit.
        max: usize,
    },
    /// A write found no space left on the disk. Nothing was written: turmoil refuses a write
    /// past its capacity before changing anything.
    #[error("{op} {path}: disk full (no space left on the device)")]
    DiskFull {
        /// The call (`"write"`).
        op: &'static str,
        /// The file.
        path: PathBuf,
    },
    /// An earlier I/O error left the files in an unknown state: reopen the engine.
    #[error("an earlier I/O error poisoned the engine; reopen it")]
    Poisoned,
}

impl EngineError {
    /// For an error of [`Engine::write`](crate::Engine::write): whether the write certainly
    /// did not happen (it was refused before its record reached the commit log). `false`
    /// means the outcome is unknown.
    pub fn is_definite(&self) -> bool {
        match self {
            EngineError::NotInSimulation
            | EngineError::InvalidConfig { .. }
            | EngineError::RecordTooLarge { .. }
            | EngineError::ValueTooDeep { .. }
            | EngineError::DiskFull { .. }
            | EngineError::Poisoned => true,
            EngineError::Io { .. }
            | EngineError::CorruptSstable { .. }
            | EngineError::CorruptManifest { .. }
            | EngineError::MissingSstable { .. } => false,
        }
    }

    /// Whether the error is a full disk.
    pub fn is_disk_full(&self) -> bool {
        matches!(self, EngineError::DiskFull { .. })
    }

    /// An [`EngineError::Io`].
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        EngineError::Io { op, path: path.into(), source }
    }
}
