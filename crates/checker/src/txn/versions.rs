//! The lists that list-append reads returned, kept once for many reads.
//!
//! A read is a [`Seen`]: a length into one *version* of its key. Each key keeps a few versions,
//! tried most recent first (at most [`VERSIONS_TRIED`]):
//! - a read that is a prefix of a version shares it and takes no room;
//! - a read that extends the key's first version extends it in place (a plain `Vec<i64>`);
//! - any other read (its key's reads disagree: an `incompatible-order` history, or one whose
//!   disagreeing reads are the first to extend one another) keeps its own copy, *packed*: each
//!   value zigzag-encoded in LEB128 bytes, all packed versions in one byte arena. A packed
//!   value takes no more bytes than its decimal digits in the file (a one-digit value, one
//!   byte), so even a history whose every read disagrees holds no more than its file spells.
//!
//! In a history whose reads agree (every valid one) each key holds one plain list, its longest
//! read, and a read's values are borrowed from it; only packed reads are decoded when asked.

use std::borrow::Cow;

/// The values a read returned: the first `len` values of one of its key's versions (see
/// [`Parsed::values`](super::parse::Parsed::values)); unknown when the read did not complete `ok`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    version: u32,
    len: u32,
}

impl Seen {
    /// A read whose values are not known (it did not complete `ok`).
    pub const UNKNOWN: Seen = Seen { version: u32::MAX, len: 0 };
    /// The empty list.
    pub(crate) const EMPTY: Seen = Seen { version: u32::MAX - 1, len: 0 };

    /// How many values the read returned (0 when unknown).
    pub fn len(self) -> usize {
        self.len as usize
    }

    /// Whether the read returned nothing (or is unknown).
    pub fn is_empty(self) -> bool {
        self.len == 0
    }
}

/// How many of a key's versions (the most recent first) a read is compared with before it
/// starts a version of its own.
pub const VERSIONS_TRIED: usize = 4;

/// Marks a packed version's number (the rest of the bits index `Versions::packed_starts`).
const PACKED: u32 = 1 << 31;

/// Every version of every key.
#[derive(Debug, Clone, Default)]
pub(crate) struct Versions {
    /// Plain versions, extended in place.
    lists: Vec<Vec<i64>>,
    /// Packed versions' bytes, one after another.
    packed: Vec<u8>,
    /// Where each packed version starts in `packed`, and how many values it holds.
    packed_starts: Vec<(u64, u32)>,
}

impl Versions {
    /// The values `seen` stands for (`None` when unknown): borrowed from a plain version,
    /// decoded from a packed one.
    pub(crate) fn values(&self, seen: Seen) -> Option<Cow<'_, [i64]>> {
        match seen {
            Seen::UNKNOWN => None,
            Seen::EMPTY => Some(Cow::Borrowed(&[])),
            Seen { version, len } if version & PACKED == 0 => {
                Some(Cow::Borrowed(&self.lists[version as usize][..len as usize]))
            }
            Seen { version, len } => Some(Cow::Owned(self.unpack(version).take(len as usize).collect())),
        }
    }

    /// The values of packed version `version`, decoded one by one.
    fn unpack(&self, version: u32) -> impl Iterator<Item = i64> + '_ {
        let (start, count) = self.packed_starts[(version & !PACKED) as usize];
        let mut bytes = self.packed[start as usize..].iter();
        (0..count).map(move |_| {
            let (mut zigzag, mut shift) = (0u64, 0);
            for &byte in bytes.by_ref() {
                zigzag |= u64::from(byte & 0x7f) << shift;
                shift += 7;
                if byte & 0x80 == 0 {
                    break;
                }
            }
            (zigzag >> 1) as i64 ^ -((zigzag & 1) as i64)
        })
    }

    /// The length of version `version`.
    fn len_of(&self, version: u32) -> usize {
        match version & PACKED {
            0 => self.lists[version as usize].len(),
            _ => self.packed_starts[(version & !PACKED) as usize].1 as usize,
        }
    }

    /// Where a read that returned `values` is kept, given its key's versions (`tried`, the
    /// most recent last; updated): see the module docs. `None` when the numbers overflow.
    pub(crate) fn record(&mut self, tried: &mut Vec<u32>, values: &[i64]) -> Option<Seen> {
        if values.is_empty() {
            return Some(Seen::EMPTY);
        }
        let len = u32::try_from(values.len()).ok()?;
        let oldest = tried.len().saturating_sub(VERSIONS_TRIED);
        for slot in (oldest..tried.len()).rev() {
            let version = tried[slot];
            if version & PACKED != 0 {
                let shares =
                    values.len() <= self.len_of(version) && self.unpack(version).zip(values).all(|(a, b)| a == *b);
                if shares {
                    return Some(Seen { version, len });
                }
                continue;
            }
            let list = &mut self.lists[version as usize];
            let common = list.len().min(values.len());
            if list[..common] != values[..common] {
                continue;
            }
            if values.len() > list.len() {
                list.extend_from_slice(&values[common..]);
                // The most recently extended version is tried first next time.
                tried[slot..].rotate_left(1);
            }
            return Some(Seen { version, len });
        }
        let version = if tried.is_empty() {
            let version = u32::try_from(self.lists.len()).ok().filter(|&v| v < PACKED)?;
            self.lists.push(values.to_vec());
            version
        } else {
            let index = u32::try_from(self.packed_starts.len()).ok().filter(|&i| i < PACKED - 2)?;
            self.packed_starts.push((self.packed.len() as u64, len));
            for &value in values {
                let mut zigzag = ((value << 1) ^ (value >> 63)) as u64;
                while zigzag >= 0x80 {
                    self.packed.push(zigzag as u8 | 0x80);
                    zigzag >>= 7;
                }
                self.packed.push(zigzag as u8);
            }
            index | PACKED
        };
        tried.push(version);
        Some(Seen { version, len })
    }

    /// Gives back the room that growing left spare.
    pub(crate) fn shrink_to_fit(&mut self) {
        for list in &mut self.lists {
            list.shrink_to_fit();
        }
        self.packed.shrink_to_fit();
        self.packed_starts.shrink_to_fit();
    }

    /// (values held in plain versions, bytes held in packed ones), for tests.
    #[cfg(test)]
    pub(crate) fn held(&self) -> (usize, usize) {
        (self.lists.iter().map(Vec::len).sum(), self.packed.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_values_round_trip_and_take_no_more_bytes_than_their_digits() {
        let values = [0, 1, -1, 9, -9, 63, 64, -64, -65, 99, 999, 1 << 40, i64::MAX, i64::MIN];
        let mut versions = Versions::default();
        let mut tried = Vec::new();
        let first = versions.record(&mut tried, &[42]).expect("room");
        let packed = versions.record(&mut tried, &values).expect("room");
        assert_eq!(versions.values(first).expect("known").as_ref(), &[42]);
        assert_eq!(versions.values(packed).expect("known").as_ref(), &values);
        for value in values {
            let mut versions = Versions::default();
            let mut tried = Vec::new();
            versions.record(&mut tried, &[i64::MIN + 1]).expect("room");
            versions.record(&mut tried, &[value]).expect("room");
            let digits = value.unsigned_abs().to_string().len() + usize::from(value < 0);
            assert!(versions.packed.len() <= digits, "{value}: {} bytes", versions.packed.len());
        }
    }

    #[test]
    fn a_read_shares_a_packed_version_it_is_a_prefix_of() {
        let mut versions = Versions::default();
        let mut tried = Vec::new();
        versions.record(&mut tried, &[1, 2]).expect("room");
        let long = versions.record(&mut tried, &[2, 1, 3]).expect("room");
        let short = versions.record(&mut tried, &[2, 1]).expect("room");
        assert_eq!(short.version, long.version, "a prefix of the packed version shares it");
        assert_eq!(versions.values(short).expect("known").as_ref(), &[2, 1]);
        let longer = versions.record(&mut tried, &[2, 1, 3, 4]).expect("room");
        assert_ne!(longer.version, long.version, "a packed version is never extended: the read packs its own");
        assert_eq!(versions.held(), (2, 7));
    }
}
