//! The reserve: a file of zeros kept on the disk so that a full disk can still be flushed.
//!
//! A flush needs space (the SSTable and a manifest) before it can free any (the commit log it
//! retires); when a write finds the disk full there is, by definition, none. So the engine
//! keeps [`RESERVE_NAME`], [`reserve_bytes`] long, written and synced while there was room, and
//! deletes it to make room for the flush that frees the log (CockroachDB keeps such a
//! "ballast" file for the same reason). After the flush it writes the reserve again, if it fits.
//!
//! The reserve holds nothing: losing it, or finding it short after a crash, costs only the
//! ability to reclaim space; every failure here leaves the engine as it was, without one.
//! Its bytes are real writes (turmoil counts a file's length against the capacity only once
//! it is written), done with `write`, which checks the capacity, rather than `set_len`, which
//! does not. They are not counted as disk work: a real engine writes its reserve in the
//! background (CockroachDB creates its ballast so), and no request waits for it.

use crate::disk::Disk;
use crate::error::EngineError;

/// The reserve's file name (not a name recovery knows, so it is left alone).
pub(crate) const RESERVE_NAME: &str = "RESERVE";

/// The reserve's length for a memtable of `memtable_bytes`: a sixteenth of it, between 4 KiB
/// and 32 KiB. That is room to flush the small memtables a full disk usually holds (the
/// commit log it fills is mostly overwritten versions); a memtable larger than the reserve
/// may not fit, and the engine then stays read-only (see [`crate::engine`]).
pub(crate) fn reserve_bytes(memtable_bytes: usize) -> u64 {
    (u64::try_from(memtable_bytes).unwrap_or(u64::MAX) / 16).clamp(4 << 10, 32 << 10)
}

/// Makes sure a complete reserve of `bytes` exists; returns whether one does. A short or
/// missing reserve is (re)written; a write that fails (disk full, I/O error) leaves none.
/// Errors other than the write's are returned (they come from calls that turmoil cannot
/// fail, and mean the disk is in trouble).
pub(crate) fn ensure(disk: &mut Disk, bytes: u64) -> Result<bool, EngineError> {
    disk.uncounted(|disk| write_reserve(disk, bytes))
}

fn write_reserve(disk: &mut Disk, bytes: u64) -> Result<bool, EngineError> {
    match disk.len_of(RESERVE_NAME)? {
        Some(len) if len == bytes => return Ok(true),
        Some(_) => disk.remove(RESERVE_NAME, true)?,
        None => {}
    }
    let file = disk.create(RESERVE_NAME)?;
    let zeros = vec![0u8; usize::try_from(bytes).unwrap_or(0)];
    let written = disk.write_at(&file, RESERVE_NAME, &zeros, 0).and_then(|()| disk.sync_file(&file, RESERVE_NAME));
    drop(file);
    if written.is_err() {
        disk.remove(RESERVE_NAME, true)?;
        disk.sync_dir()?;
        return Ok(false);
    }
    disk.sync_dir()?;
    Ok(true)
}

/// Deletes the reserve, durably (its space counts as free only once the directory is
/// synced); returns whether there was one.
pub(crate) fn release(disk: &mut Disk) -> Result<bool, EngineError> {
    if disk.len_of(RESERVE_NAME)?.is_none() {
        return Ok(false);
    }
    disk.remove(RESERVE_NAME, false)?;
    disk.sync_dir()?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_size_is_bounded() {
        assert_eq!(reserve_bytes(300), 4 << 10);
        assert_eq!(reserve_bytes(256 << 10), 16 << 10);
        assert_eq!(reserve_bytes(1 << 20), 32 << 10);
    }
}
