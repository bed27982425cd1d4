//! The SSTable file format, pure: sorted cells to bytes, and bytes back to a checked index.
//!
//! ```text
//! header  magic "LSMSST01"                                  8 bytes
//! data    one frame per key, keys strictly ascending        frame = len u32 | crc u32 | cell payload
//! index   one frame: count u32, then per entry              key_len u32 | key | offset u64 | frame_len u32
//! footer  index_offset u64 | index_len u64 | entries u64 |
//!         max_timestamp u64 | max_node u32 |
//!         crc u32 (of the 36 bytes before it) | magic "LSMSSTFT"   48 bytes
//! ```
//!
//! Frames and cell payloads are those of [`crate::codec`] (the commit log uses the same).
//! Opening checks the footer, the header, the index frame, that the data entries tile the
//! data region exactly in key order, and the count; each data frame's checksum is checked
//! when it is read. `max_*` is the highest version in the table (zero when empty), which lets
//! a point read skip tables that cannot hold a winner.

use crate::cell::{Cell, Version};
use crate::codec::{crc32, encode_cell, frame, put_u32, put_u64, read_frame, EncodeError, Reader};
use crate::error::Corruption;

/// The header's magic bytes.
pub const HEADER_MAGIC: &[u8; 8] = b"LSMSST01";
/// The footer's magic bytes.
pub const FOOTER_MAGIC: &[u8; 8] = b"LSMSSTFT";
/// Bytes of the header.
pub const HEADER_BYTES: u64 = 8;
/// Bytes of the footer.
pub const FOOTER_BYTES: u64 = 48;

/// Where one key's frame lies in the data region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    /// The key.
    pub key: String,
    /// Offset of its frame in the file.
    pub offset: u64,
    /// Length of its frame.
    pub len: u32,
}

/// The footer's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footer {
    /// Where the index frame starts.
    pub index_offset: u64,
    /// Its length.
    pub index_len: u64,
    /// Number of entries.
    pub entries: u64,
    /// The highest version in the table.
    pub max_version: Version,
}

/// A whole SSTable file, built in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// Number of entries.
    pub entries: u64,
}

/// Builds an SSTable from cells in strictly ascending key order.
pub fn build<'a>(cells: impl IntoIterator<Item = (&'a str, &'a Cell)>) -> Result<Built, EncodeError> {
    let mut bytes = HEADER_MAGIC.to_vec();
    let mut index = Vec::new();
    let mut count: u32 = 0;
    let mut max_version = Version::default();
    for (key, cell) in cells {
        let framed = frame(&encode_cell(key, cell)?);
        put_u32(&mut index, u32::try_from(key.len()).map_err(|_| EncodeError::TooLarge { bytes: key.len() })?);
        index.extend_from_slice(key.as_bytes());
        put_u64(&mut index, bytes.len() as u64);
        put_u32(&mut index, u32::try_from(framed.len()).map_err(|_| EncodeError::TooLarge { bytes: framed.len() })?);
        bytes.extend_from_slice(&framed);
        count = count.checked_add(1).ok_or(EncodeError::TooLarge { bytes: bytes.len() })?;
        max_version = max_version.max(cell.version);
    }
    let mut index_payload = Vec::with_capacity(4 + index.len());
    put_u32(&mut index_payload, count);
    index_payload.extend_from_slice(&index);
    let index_offset = bytes.len() as u64;
    let index_frame = frame(&index_payload);
    bytes.extend_from_slice(&index_frame);
    let mut footer = Vec::with_capacity(FOOTER_BYTES as usize);
    put_u64(&mut footer, index_offset);
    put_u64(&mut footer, index_frame.len() as u64);
    put_u64(&mut footer, u64::from(count));
    put_u64(&mut footer, max_version.timestamp);
    put_u32(&mut footer, max_version.node);
    let crc = crc32(&[&footer]);
    put_u32(&mut footer, crc);
    footer.extend_from_slice(FOOTER_MAGIC);
    bytes.extend_from_slice(&footer);
    Ok(Built { bytes, entries: u64::from(count) })
}

/// Parses and checks the footer of a file of `file_len` bytes (`bytes` are its last
/// [`FOOTER_BYTES`]).
pub fn parse_footer(bytes: &[u8], file_len: u64) -> Result<Footer, Corruption> {
    if file_len < HEADER_BYTES + FOOTER_BYTES || bytes.len() as u64 != FOOTER_BYTES {
        return Err(Corruption::Truncated { offset: 0, needed: HEADER_BYTES + FOOTER_BYTES, len: file_len });
    }
    if &bytes[40..48] != FOOTER_MAGIC {
        return Err(Corruption::BadMagic);
    }
    let mut r = Reader::at(bytes, 0);
    let index_offset = r.u64()?;
    let index_len = r.u64()?;
    let entries = r.u64()?;
    let timestamp = r.u64()?;
    let node = r.u32()?;
    let expected = r.u32()?;
    let got = crc32(&[&bytes[..36]]);
    if got != expected {
        return Err(Corruption::ChecksumMismatch { offset: file_len - FOOTER_BYTES, got, expected });
    }
    let index_end = index_offset.checked_add(index_len).and_then(|end| end.checked_add(FOOTER_BYTES));
    if index_offset < HEADER_BYTES || index_end != Some(file_len) {
        return Err(Corruption::Malformed("index does not sit between the data and the footer"));
    }
    Ok(Footer { index_offset, index_len, entries, max_version: Version { timestamp, node } })
}

/// Parses and checks the index frame (`bytes`, read at `footer.index_offset`).
pub fn parse_index(bytes: &[u8], footer: &Footer) -> Result<Vec<IndexEntry>, Corruption> {
    let (payload, end) = read_frame(bytes, 0)?;
    if end as u64 != footer.index_len {
        return Err(Corruption::Malformed("index frame length differs from the footer's"));
    }
    let mut r = Reader::at(payload, 0);
    let count = r.u32()?;
    if u64::from(count) != footer.entries {
        return Err(Corruption::Malformed("index and footer disagree on the entry count"));
    }
    let mut entries: Vec<IndexEntry> = Vec::new();
    let mut next_offset = HEADER_BYTES;
    for _ in 0..count {
        let key = r.string()?;
        let offset = r.u64()?;
        let len = r.u32()?;
        if offset != next_offset {
            return Err(Corruption::Malformed("data entries do not tile the data region"));
        }
        if entries.last().is_some_and(|last| last.key >= key) {
            return Err(Corruption::Malformed("keys not strictly ascending"));
        }
        next_offset = offset.saturating_add(u64::from(len));
        entries.push(IndexEntry { key, offset, len });
    }
    r.finish()?;
    if next_offset != footer.index_offset {
        return Err(Corruption::Malformed("data region does not end where the index starts"));
    }
    Ok(entries)
}

/// Checks the header (the file's first [`HEADER_BYTES`]).
pub fn check_header(bytes: &[u8]) -> Result<(), Corruption> {
    if bytes == HEADER_MAGIC {
        Ok(())
    } else {
        Err(Corruption::BadMagic)
    }
}

/// Decodes the data frames in `bytes` (the file's bytes from `entries[0].offset`), checking
/// each against its index entry.
pub fn parse_entries(bytes: &[u8], entries: &[IndexEntry]) -> Result<Vec<(String, Cell)>, Corruption> {
    let Some(first) = entries.first() else { return Ok(Vec::new()) };
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let at = entry
            .offset
            .checked_sub(first.offset)
            .and_then(|at| usize::try_from(at).ok())
            .ok_or(Corruption::Malformed("index offsets not ascending"))?;
        out.push(parse_entry(bytes, at, entry)?);
    }
    Ok(out)
}

/// Decodes the frame at `at` of `bytes`, which must be `entry`'s.
pub fn parse_entry(bytes: &[u8], at: usize, entry: &IndexEntry) -> Result<(String, Cell), Corruption> {
    let (payload, end) = read_frame(bytes, at)?;
    if (end - at) as u64 != u64::from(entry.len) {
        return Err(Corruption::Malformed("data frame length differs from the index"));
    }
    let (key, cell) = crate::codec::decode_cell(payload)?;
    if key != entry.key {
        return Err(Corruption::Malformed("data frame key differs from the index"));
    }
    Ok((key, cell))
}

#[cfg(test)]
mod tests {
    use super::*;
    use history::Value;

    fn table(n: u64) -> (Vec<(String, Cell)>, Built) {
        let cells: Vec<(String, Cell)> = (0..n)
            .map(|i| (format!("key{i:03}"), Cell::new(Value::Int(i as i64), Version::new(100 - i, i as u32))))
            .collect();
        let built = build(cells.iter().map(|(k, c)| (k.as_str(), c))).unwrap_or(Built { bytes: vec![], entries: 0 });
        (cells, built)
    }

    fn open(bytes: &[u8]) -> Result<(Footer, Vec<IndexEntry>), Corruption> {
        let len = bytes.len() as u64;
        let footer = parse_footer(&bytes[bytes.len().saturating_sub(48)..], len)?;
        let start = usize::try_from(footer.index_offset).unwrap_or(usize::MAX);
        let index = parse_index(bytes.get(start..bytes.len() - 48).unwrap_or(&[]), &footer)?;
        Ok((footer, index))
    }

    #[test]
    fn round_trips() -> Result<(), Corruption> {
        for n in [0, 1, 5] {
            let (cells, built) = table(n);
            assert_eq!(built.entries, n);
            let (footer, index) = open(&built.bytes)?;
            assert_eq!(footer.max_version, cells.iter().map(|(_, c)| c.version).max().unwrap_or_default());
            let data = &built.bytes[8..];
            assert_eq!(parse_entries(data, &index)?, cells);
        }
        Ok(())
    }

    #[test]
    fn damage_anywhere_is_detected() {
        let (_, built) = table(3);
        for i in 0..built.bytes.len() {
            let mut bad = built.bytes.clone();
            bad[i] ^= 0x08;
            let detected = match open(&bad) {
                Err(_) => true,
                Ok((_, index)) => bad[..8] != HEADER_MAGIC[..] || parse_entries(&bad[8..], &index).is_err(),
            };
            assert!(detected, "flip at {i} undetected");
        }
        for cut in 0..built.bytes.len() {
            assert!(open(&built.bytes[..cut]).is_err(), "cut at {cut}");
        }
    }
}
