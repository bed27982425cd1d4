//! SSTables: immutable sorted files of cells, one per flush or compaction.
//!
//! [`format`](mod@format) is the pure byte layout; `Sstable` is an open file plus its index, loaded
//! once (at open or right after writing) and kept in memory. Point reads binary-search the
//! index and read one frame; scans read the needed span of the data region at once. Every
//! frame's checksum is checked on read: a damaged live SSTable is an
//! [`EngineError::CorruptSstable`], never silently skipped.

pub mod format;

use std::path::PathBuf;

use crate::cell::{Cell, Version};
use crate::commit_log::parse_numbered;
use crate::compaction::SstableMeta;
use crate::disk::{file_len, read_exact_at, Disk, File};
use crate::error::{Corruption, EngineError};
use format::{
    check_header, parse_entries, parse_entry, parse_footer, parse_index, IndexEntry, FOOTER_BYTES, HEADER_BYTES,
};

/// The file name of SSTable `id`.
pub fn sstable_name(id: u64) -> String {
    format!("{id:020}.sst")
}

/// The SSTable id of a file name, if it names one.
pub fn parse_sstable_name(name: &str) -> Option<u64> {
    parse_numbered(name, ".sst")
}

/// An open, checked SSTable.
#[derive(Debug)]
pub(crate) struct Sstable {
    id: u64,
    path: PathBuf,
    file: File,
    file_bytes: u64,
    max_version: Version,
    index: Vec<IndexEntry>,
}

impl Sstable {
    /// Writes cells (strictly ascending keys) as SSTable `id`, durably: the file is synced,
    /// then the directory. Returns it open.
    pub(crate) fn write<'a>(
        disk: &mut Disk,
        id: u64,
        cells: impl IntoIterator<Item = (&'a str, &'a Cell)>,
    ) -> Result<Sstable, EngineError> {
        let built = format::build(cells).map_err(|e| match e {
            crate::codec::EncodeError::TooLarge { bytes } => {
                EngineError::RecordTooLarge { key_bytes: 0, bytes, max: crate::codec::MAX_PAYLOAD_BYTES }
            }
            crate::codec::EncodeError::TooDeep => EngineError::ValueTooDeep { max: crate::codec::MAX_VALUE_DEPTH },
        })?;
        let name = sstable_name(id);
        let file = disk.create(&name)?;
        disk.write_at(&file, &name, &built.bytes, 0)?;
        disk.sync_file(&file, &name)?;
        disk.sync_dir()?;
        let path = disk.path(&name);
        let corrupt = |corruption| EngineError::CorruptSstable { path: path.clone(), corruption };
        let len = built.bytes.len() as u64;
        let footer_at = built.bytes.len() - FOOTER_BYTES as usize;
        let footer = parse_footer(&built.bytes[footer_at..], len).map_err(corrupt)?;
        let index_at = usize::try_from(footer.index_offset).unwrap_or(usize::MAX);
        let index = parse_index(built.bytes.get(index_at..footer_at).unwrap_or(&[]), &footer).map_err(corrupt)?;
        Ok(Sstable { id, path, file, file_bytes: len, max_version: footer.max_version, index })
    }

    /// Opens SSTable `id` and loads its index, checking the footer, header and index.
    pub(crate) fn open(disk: &Disk, id: u64) -> Result<Sstable, EngineError> {
        let name = sstable_name(id);
        let path = disk.path(&name);
        let file = disk.open(&name)?;
        let io = |op| {
            let path = path.clone();
            move |e| EngineError::io(op, path, e)
        };
        let corrupt = |corruption| EngineError::CorruptSstable { path: path.clone(), corruption };
        let len = file_len(&file).map_err(io("stat"))?;
        if len < HEADER_BYTES + FOOTER_BYTES {
            return Err(corrupt(Corruption::Truncated { offset: 0, needed: HEADER_BYTES + FOOTER_BYTES, len }));
        }
        let mut footer_bytes = [0u8; FOOTER_BYTES as usize];
        read_exact_at(&file, &mut footer_bytes, len - FOOTER_BYTES).map_err(io("read"))?;
        let footer = parse_footer(&footer_bytes, len).map_err(corrupt)?;
        let mut header = [0u8; HEADER_BYTES as usize];
        read_exact_at(&file, &mut header, 0).map_err(io("read"))?;
        check_header(&header).map_err(corrupt)?;
        let mut index_bytes = vec![0u8; usize::try_from(footer.index_len).unwrap_or(usize::MAX)];
        read_exact_at(&file, &mut index_bytes, footer.index_offset).map_err(io("read"))?;
        let index = parse_index(&index_bytes, &footer).map_err(corrupt)?;
        Ok(Sstable { id, path, file, file_bytes: len, max_version: footer.max_version, index })
    }

    /// The table's id.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The file's size.
    pub(crate) fn file_bytes(&self) -> u64 {
        self.file_bytes
    }

    /// The highest version it holds.
    pub(crate) fn max_version(&self) -> Version {
        self.max_version
    }

    /// Its description for compaction.
    pub(crate) fn meta(&self) -> SstableMeta {
        SstableMeta {
            id: self.id,
            entries: self.index.len() as u64,
            file_bytes: self.file_bytes,
            min_key: self.index.first().map(|e| e.key.clone()),
            max_key: self.index.last().map(|e| e.key.clone()),
            max_version: self.max_version,
        }
    }

    fn corrupt(&self, corruption: Corruption) -> EngineError {
        EngineError::CorruptSstable { path: self.path.clone(), corruption }
    }

    /// The cell of `key`, if the table has one.
    pub(crate) fn get(&self, key: &str) -> Result<Option<Cell>, EngineError> {
        let Ok(i) = self.index.binary_search_by(|e| e.key.as_str().cmp(key)) else { return Ok(None) };
        let entry = &self.index[i];
        let mut buf = vec![0u8; usize::try_from(entry.len).unwrap_or(usize::MAX)];
        read_exact_at(&self.file, &mut buf, entry.offset).map_err(|e| EngineError::io("read", &self.path, e))?;
        let (_, cell) = parse_entry(&buf, 0, entry).map_err(|c| self.corrupt(c))?;
        Ok(Some(cell))
    }

    /// Cells with keys in `[from, to)` (all of them for `None`), in key order.
    pub(crate) fn scan(&self, bounds: Option<(&str, &str)>) -> Result<Vec<(String, Cell)>, EngineError> {
        let (lo, hi) = match bounds {
            None => (0, self.index.len()),
            Some((from, to)) => (
                self.index.partition_point(|e| e.key.as_str() < from),
                self.index.partition_point(|e| e.key.as_str() < to),
            ),
        };
        if lo >= hi {
            return Ok(Vec::new());
        }
        let entries = &self.index[lo..hi];
        let start = entries[0].offset;
        let end = entries[entries.len() - 1].offset + u64::from(entries[entries.len() - 1].len);
        let mut buf = vec![0u8; usize::try_from(end - start).unwrap_or(usize::MAX)];
        read_exact_at(&self.file, &mut buf, start).map_err(|e| EngineError::io("read", &self.path, e))?;
        parse_entries(&buf, entries).map_err(|c| self.corrupt(c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(parse_sstable_name(&sstable_name(5)), Some(5));
        assert_eq!(parse_sstable_name("00005.log"), None);
    }
}
