//! The replica's storage, as the protocol sees it, and an in-memory implementation.
//!
//! The node reads and writes its cells only through [`Storage`], so the same protocol runs on
//! the lsm engine in the simulation and on [`MemStorage`] in unit tests. `put` merges by
//! last-write-wins ([`Cell::supersedes`]): storing an older cell is a no-op. Keys starting
//! with [`crate::hints::RESERVED_PREFIX`] hold the node's own bookkeeping (hints); the
//! storage keeps them like any other key.

use std::collections::BTreeMap;

use base::Cell;

/// The storage failed.
///
/// For a `put`: [`StorageError::Refused`] means the cell certainly was not stored (and will
/// not be later); any other error leaves the outcome unknown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// An I/O error (the disk failed, or the node is crashing); a `put` may or may not have
    /// happened.
    #[error("storage I/O failed: {0}")]
    Io(String),
    /// A `put` refused before anything was written (the disk is full, or the storage refuses
    /// changes until it restarts): it certainly did not happen.
    #[error("storage refused the write: {0}")]
    Refused(String),
    /// Stored data failed a check when read back.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

/// A node's key-value storage with last-write-wins merge.
pub trait Storage {
    /// The cell stored under `key`, if any.
    fn get(&mut self, key: &str) -> Result<Option<Cell>, StorageError>;
    /// Merges `cell` into `key`: keeps whichever of the stored and the new cell wins.
    fn put(&mut self, key: &str, cell: Cell) -> Result<(), StorageError>;
    /// Every stored `(key, cell)`, in key order.
    fn scan(&mut self) -> Result<Vec<(String, Cell)>, StorageError>;
}

impl StorageError {
    /// Whether a failed `put` certainly did not happen.
    pub fn is_definite(&self) -> bool {
        matches!(self, StorageError::Refused(_))
    }
}

/// In-memory storage for tests and models. `failing` makes every call fail; `full` makes
/// every `put` be refused, as on a full disk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemStorage {
    /// The stored cells.
    pub cells: BTreeMap<String, Cell>,
    /// When true, every call returns [`StorageError::Io`].
    pub failing: bool,
    /// When true, every `put` returns [`StorageError::Refused`] (reads still work).
    pub full: bool,
}

impl MemStorage {
    /// Empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    fn check(&self) -> Result<(), StorageError> {
        if self.failing {
            Err(StorageError::Io("injected failure".to_owned()))
        } else {
            Ok(())
        }
    }
}

impl Storage for MemStorage {
    fn get(&mut self, key: &str) -> Result<Option<Cell>, StorageError> {
        self.check()?;
        Ok(self.cells.get(key).cloned())
    }

    fn put(&mut self, key: &str, cell: Cell) -> Result<(), StorageError> {
        self.check()?;
        if self.full {
            return Err(StorageError::Refused("disk full".to_owned()));
        }
        match self.cells.get(key) {
            Some(current) if !cell.supersedes(current) => {}
            _ => {
                self.cells.insert(key.to_owned(), cell);
            }
        }
        Ok(())
    }

    fn scan(&mut self) -> Result<Vec<(String, Cell)>, StorageError> {
        self.check()?;
        Ok(self.cells.iter().map(|(k, c)| (k.clone(), c.clone())).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base::Version;
    use history::Value;

    #[test]
    fn put_keeps_the_winner() {
        let mut s = MemStorage::new();
        let new = Cell::new(Value::Int(2), Version::new(5, 1));
        let old = Cell::new(Value::Int(1), Version::new(4, 9));
        assert_eq!(s.put("k", new.clone()), Ok(()));
        assert_eq!(s.put("k", old), Ok(()));
        assert_eq!(s.get("k"), Ok(Some(new.clone())));
        assert_eq!(s.get("absent"), Ok(None));
        s.full = true;
        let refused = s.put("k", Cell::new(Value::Int(3), Version::new(9, 1)));
        assert!(refused.as_ref().is_err_and(StorageError::is_definite), "{refused:?}");
        assert_eq!(s.get("k"), Ok(Some(new.clone())), "a full store still reads");
        s.failing = true;
        assert!(s.scan().is_err());
        assert!(!s.put("k", new).is_err_and(|e| e.is_definite()), "an I/O error is not definite");
    }
}
