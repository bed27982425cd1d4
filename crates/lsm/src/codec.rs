//! Byte-level encoding shared by every file: CRC-32, little-endian integers, [`Value`]s and
//! the checksummed frame that carries each commit-log record and SSTable entry.
//!
//! Frame: `len: u32 LE | crc: u32 LE | payload (len bytes)`, where `crc` is the CRC-32
//! (IEEE, as in zlib) of the four `len` bytes followed by the payload, so a corrupted length
//! is caught as surely as a corrupted payload. `len` is never 0 and at most
//! [`MAX_PAYLOAD_BYTES`].
//!
//! Cell payload: `key_len: u32 | key (UTF-8) | timestamp: u64 | node: u32 | value`.
//!
//! Value: one tag byte, then `0` nil, `1` false, `2` true, `3` int (`i64` LE), `4` string
//! (`len: u32 | UTF-8`), `5` list (`count: u32 | values`); lists nest at most
//! [`MAX_VALUE_DEPTH`] deep.
//!
//! Everything here is pure: bytes in, bytes out.

use history::Value;

use crate::cell::{Cell, Version};
use crate::error::Corruption;

/// The largest frame payload written or accepted (16 MiB): a longer length field on disk is
/// treated as damage, never as an allocation request.
pub const MAX_PAYLOAD_BYTES: usize = 16 << 20;

/// How deep lists may nest in a stored [`Value`].
pub const MAX_VALUE_DEPTH: usize = 32;

/// Bytes of a frame's header (`len` and `crc`).
pub const FRAME_HEADER_BYTES: usize = 8;

/// Slice-by-8 tables: `CRC_TABLES[0]` is the classic byte-at-a-time table; `CRC_TABLES[k]`
/// advances a byte through `k` more zero bytes, so eight bytes cost eight lookups and no
/// data-dependent chain per byte (about 4x faster than one table on this machine).
const CRC_TABLES: [[u32; 256]; 8] = crc_tables();

const fn crc_tables() -> [[u32; 256]; 8] {
    let mut tables = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        tables[0][i] = c;
        i += 1;
    }
    let mut i = 0;
    while i < 256 {
        let mut k = 1;
        while k < 8 {
            let prev = tables[k - 1][i];
            tables[k][i] = (prev >> 8) ^ tables[0][(prev & 0xff) as usize];
            k += 1;
        }
        i += 1;
    }
    tables
}

/// Feeds `bytes` into a running (pre-inverted) CRC.
fn crc_update(mut crc: u32, bytes: &[u8]) -> u32 {
    let t = &CRC_TABLES;
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let lo = crc ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        let hi = u32::from_le_bytes([c[4], c[5], c[6], c[7]]);
        crc = t[7][(lo & 0xff) as usize]
            ^ t[6][((lo >> 8) & 0xff) as usize]
            ^ t[5][((lo >> 16) & 0xff) as usize]
            ^ t[4][(lo >> 24) as usize]
            ^ t[3][(hi & 0xff) as usize]
            ^ t[2][((hi >> 8) & 0xff) as usize]
            ^ t[1][((hi >> 16) & 0xff) as usize]
            ^ t[0][(hi >> 24) as usize];
    }
    for &byte in chunks.remainder() {
        crc = t[0][usize::from((crc as u8) ^ byte)] ^ (crc >> 8);
    }
    crc
}

/// CRC-32 (IEEE 802.3, reflected, as zlib's `crc32`) over the concatenation of `parts`.
pub fn crc32(parts: &[&[u8]]) -> u32 {
    !parts.iter().fold(0xFFFF_FFFFu32, |crc, part| crc_update(crc, part))
}

/// Appends little-endian integers and strings to a buffer.
pub fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends a little-endian `u64`.
pub fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Appends `len: u32 | bytes`. The caller has checked the length fits (see [`encode_cell`]).
fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), EncodeError> {
    let len = u32::try_from(bytes.len()).map_err(|_| EncodeError::TooLarge { bytes: bytes.len() })?;
    put_u32(out, len);
    out.extend_from_slice(bytes);
    Ok(())
}

/// Why a cell could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// The encoded record would exceed [`MAX_PAYLOAD_BYTES`].
    TooLarge {
        /// Its size (or a lower bound).
        bytes: usize,
    },
    /// Lists nest deeper than [`MAX_VALUE_DEPTH`].
    TooDeep,
}

/// Appends `value`; `start` is where the payload began in `out` (the size limit is the
/// payload's).
fn encode_value(out: &mut Vec<u8>, value: &Value, depth: usize, start: usize) -> Result<(), EncodeError> {
    if depth > MAX_VALUE_DEPTH {
        return Err(EncodeError::TooDeep);
    }
    match value {
        Value::Nil => out.push(0),
        Value::Bool(false) => out.push(1),
        Value::Bool(true) => out.push(2),
        Value::Int(i) => {
            out.push(3);
            out.extend_from_slice(&i.to_le_bytes());
        }
        Value::Str(s) => {
            out.push(4);
            put_bytes(out, s.as_bytes())?;
        }
        Value::List(items) => {
            out.push(5);
            let count = u32::try_from(items.len()).map_err(|_| EncodeError::TooLarge { bytes: items.len() })?;
            put_u32(out, count);
            for item in items {
                encode_value(out, item, depth + 1, start)?;
                if out.len() - start > MAX_PAYLOAD_BYTES {
                    return Err(EncodeError::TooLarge { bytes: out.len() - start });
                }
            }
        }
    }
    Ok(())
}

/// The cell payload for `key` (see the module docs), bounded by [`MAX_PAYLOAD_BYTES`].
pub fn encode_cell(key: &str, cell: &Cell) -> Result<Vec<u8>, EncodeError> {
    let mut out = Vec::with_capacity(key.len() + 32);
    encode_cell_into(&mut out, key, cell)?;
    Ok(out)
}

/// Appends the cell payload to `out`.
fn encode_cell_into(out: &mut Vec<u8>, key: &str, cell: &Cell) -> Result<(), EncodeError> {
    let start = out.len();
    put_bytes(out, key.as_bytes())?;
    put_u64(out, cell.version.timestamp);
    put_u32(out, cell.version.node);
    encode_value(out, &cell.value, 0, start)?;
    if out.len() - start > MAX_PAYLOAD_BYTES {
        return Err(EncodeError::TooLarge { bytes: out.len() - start });
    }
    Ok(())
}

/// `frame(&encode_cell(key, cell)?)`, written into `out` (cleared first) without the two
/// intermediate vectors: the commit log's write path reuses one buffer for every record.
pub fn encode_framed_cell(out: &mut Vec<u8>, key: &str, cell: &Cell) -> Result<(), EncodeError> {
    out.clear();
    out.extend_from_slice(&[0; FRAME_HEADER_BYTES]);
    encode_cell_into(out, key, cell)?;
    let payload_len = out.len() - FRAME_HEADER_BYTES;
    let len = u32::try_from(payload_len).map_err(|_| EncodeError::TooLarge { bytes: payload_len })?.to_le_bytes();
    let crc = crc32(&[&len, &out[FRAME_HEADER_BYTES..]]);
    out[..4].copy_from_slice(&len);
    out[4..FRAME_HEADER_BYTES].copy_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// Wraps `payload` in a frame (see the module docs). `payload` must be non-empty and at most
/// [`MAX_PAYLOAD_BYTES`] long, which [`encode_cell`] guarantees.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX).to_le_bytes();
    let crc = crc32(&[&len, payload]);
    let mut out = Vec::with_capacity(FRAME_HEADER_BYTES + payload.len());
    out.extend_from_slice(&len);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// A frame read from `bytes` at `offset`: its payload and the offset just past it.
pub fn read_frame(bytes: &[u8], offset: usize) -> Result<(&[u8], usize), Corruption> {
    let mut header = Reader::at(bytes, offset);
    let len_bytes = header.take(4)?;
    let len = u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
    let expected = header.u32()?;
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    if len == 0 || len > MAX_PAYLOAD_BYTES {
        return Err(Corruption::BadLength { offset: offset as u64, len: len as u64 });
    }
    let payload = header.take(len)?;
    let got = crc32(&[len_bytes, payload]);
    if got != expected {
        return Err(Corruption::ChecksumMismatch { offset: offset as u64, got, expected });
    }
    Ok((payload, header.pos))
}

/// Decodes a cell payload written by [`encode_cell`]; every byte must be used.
pub fn decode_cell(payload: &[u8]) -> Result<(String, Cell), Corruption> {
    let mut r = Reader::at(payload, 0);
    let key = r.string()?;
    let timestamp = r.u64()?;
    let node = r.u32()?;
    let value = decode_value(&mut r, 0)?;
    r.finish()?;
    Ok((key, Cell { value, version: Version { timestamp, node } }))
}

fn decode_value(r: &mut Reader<'_>, depth: usize) -> Result<Value, Corruption> {
    if depth > MAX_VALUE_DEPTH {
        return Err(Corruption::Malformed("value nests too deep"));
    }
    let tag = r.take(1)?[0];
    Ok(match tag {
        0 => Value::Nil,
        1 => Value::Bool(false),
        2 => Value::Bool(true),
        3 => Value::Int(i64::from_le_bytes(r.array8()?)),
        4 => Value::Str(r.string()?),
        5 => {
            let count = r.u32()?;
            // Every element takes at least one byte: a count beyond what is left is damage.
            if usize::try_from(count).unwrap_or(usize::MAX) > r.remaining() {
                return Err(Corruption::Malformed("list longer than its record"));
            }
            let mut items = Vec::new();
            for _ in 0..count {
                items.push(decode_value(r, depth + 1)?);
            }
            Value::List(items)
        }
        _ => return Err(Corruption::Malformed("unknown value tag")),
    })
}

/// A bounds-checked cursor over bytes; every read fails with [`Corruption`] instead of
/// panicking.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader of `bytes` starting at `pos`.
    pub fn at(bytes: &'a [u8], pos: usize) -> Self {
        Reader { bytes, pos }
    }

    /// The current offset.
    pub fn pos(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.pos)
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Corruption> {
        let end = self.pos.checked_add(n).filter(|&end| end <= self.bytes.len()).ok_or(Corruption::Truncated {
            offset: self.pos as u64,
            needed: n as u64,
            len: self.bytes.len() as u64,
        })?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }

    fn array8(&mut self) -> Result<[u8; 8], Corruption> {
        let b = self.take(8)?;
        Ok([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
    }

    /// A little-endian `u32`.
    pub fn u32(&mut self) -> Result<u32, Corruption> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A little-endian `u64`.
    pub fn u64(&mut self) -> Result<u64, Corruption> {
        Ok(u64::from_le_bytes(self.array8()?))
    }

    /// `len: u32 | UTF-8 bytes`.
    pub fn string(&mut self) -> Result<String, Corruption> {
        let len = self.u32()?;
        let bytes = self.take(usize::try_from(len).unwrap_or(usize::MAX))?;
        String::from_utf8(bytes.to_vec()).map_err(|_| Corruption::Malformed("string is not UTF-8"))
    }

    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<(), Corruption> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(Corruption::Malformed("trailing bytes"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn crc32_matches_the_byte_at_a_time_definition() {
        fn reference(bytes: &[u8]) -> u32 {
            let mut crc = 0xFFFF_FFFFu32;
            for &byte in bytes {
                crc ^= u32::from(byte);
                for _ in 0..8 {
                    crc = if crc & 1 != 0 { 0xEDB8_8320 ^ (crc >> 1) } else { crc >> 1 };
                }
            }
            !crc
        }
        let bytes: Vec<u8> = (0..300u32).map(|i| (i * 131 % 251) as u8).collect();
        for len in 0..bytes.len() {
            assert_eq!(crc32(&[&bytes[..len]]), reference(&bytes[..len]), "length {len}");
            let (a, b) = bytes[..len].split_at(len / 3);
            assert_eq!(crc32(&[a, b]), reference(&bytes[..len]), "split at {}", len / 3);
        }
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(&[b"123456789"]), 0xCBF4_3926);
        assert_eq!(crc32(&[b"1234", b"56789"]), 0xCBF4_3926);
        assert_eq!(crc32(&[]), 0);
    }

    #[test]
    fn frames_detect_damage() {
        let framed = frame(b"hello");
        assert_eq!(read_frame(&framed, 0), Ok((&b"hello"[..], framed.len())));
        for i in 0..framed.len() {
            let mut bad = framed.clone();
            bad[i] ^= 0x40;
            assert!(read_frame(&bad, 0).is_err(), "flip at {i} undetected");
        }
        for cut in 0..framed.len() {
            assert!(matches!(read_frame(&framed[..cut], 0), Err(Corruption::Truncated { .. })), "cut at {cut}");
        }
        assert!(matches!(read_frame(&[0; 12], 0), Err(Corruption::BadLength { len: 0, .. })));
    }

    #[test]
    fn too_deep_values_are_refused_on_write() {
        let mut value = Value::Nil;
        for _ in 0..=MAX_VALUE_DEPTH + 1 {
            value = Value::List(vec![value]);
        }
        let cell = Cell::new(value, Version::default());
        assert_eq!(encode_cell("k", &cell), Err(EncodeError::TooDeep));
    }

    #[test]
    fn huge_list_counts_are_damage_not_allocations() {
        let mut payload = Vec::new();
        put_bytes(&mut payload, b"k").ok();
        put_u64(&mut payload, 1);
        put_u32(&mut payload, 0);
        payload.push(5);
        put_u32(&mut payload, u32::MAX);
        assert!(decode_cell(&payload).is_err());
    }

    fn value_strategy() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Nil),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            ".{0,12}".prop_map(Value::Str),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| prop::collection::vec(inner, 0..6).prop_map(Value::List))
    }

    proptest! {
        #[test]
        fn cells_round_trip(key in ".{0,16}", value in value_strategy(), timestamp: u64, node: u32) {
            let cell = Cell::new(value, Version::new(timestamp, node));
            let payload = encode_cell(&key, &cell).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            let framed = frame(&payload);
            let (read, end) = read_frame(&framed, 0).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(end, framed.len());
            prop_assert_eq!(decode_cell(read), Ok((key.clone(), cell.clone())));
            // The one-buffer path writes the same bytes, whatever the buffer held before.
            let mut reused = vec![9u8; 3];
            encode_framed_cell(&mut reused, &key, &cell).map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            prop_assert_eq!(reused, framed);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_cell(&bytes);
            let _ = read_frame(&bytes, 0);
        }
    }
}
