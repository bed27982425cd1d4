//! Read digests: what a replica answers to a *digest read* instead of its cell.
//!
//! Cassandra's coordinator sends one full data read and digest reads to the other replicas it
//! needs (`AbstractReadExecutor`); a replica answers a digest read with a hash of what it would
//! have returned (`ReadResponse.digest`, an MD5 of the serialized partition), and the
//! coordinator compares the digests with the data's (`DigestResolver.responsesMatch`). Here the
//! digest is a 64-bit FNV-1a hash of the cell's value and version (or of its absence), mixed
//! with [`crate::ring::mix`]: deterministic across runs and nodes, so equal cells always give
//! equal digests and different cells almost never collide.

use std::hash::{Hash, Hasher};

use base::Cell;

use crate::ring::mix;

/// FNV-1a over the bytes `Hash` feeds it (the constants of Fowler, Noll and Vo).
struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The digest of a replica's answer: its cell, or `None` when it holds nothing for the key.
pub fn of(cell: Option<&Cell>) -> u64 {
    let mut hasher = Fnv(0xcbf2_9ce4_8422_2325);
    match cell {
        None => 0u8.hash(&mut hasher),
        Some(cell) => {
            1u8.hash(&mut hasher);
            cell.value.hash(&mut hasher);
            cell.version.timestamp.hash(&mut hasher);
            cell.version.node.hash(&mut hasher);
        }
    }
    mix(hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base::Version;
    use history::Value;

    #[test]
    fn digests_see_value_version_and_absence() {
        let a = Cell::new(Value::Int(1), Version::new(5, 0));
        assert_eq!(of(Some(&a)), of(Some(&a.clone())));
        let other_value = Cell::new(Value::Int(2), Version::new(5, 0));
        let other_ts = Cell::new(Value::Int(1), Version::new(6, 0));
        let other_node = Cell::new(Value::Int(1), Version::new(5, 1));
        let digests = [of(None), of(Some(&a)), of(Some(&other_value)), of(Some(&other_ts)), of(Some(&other_node))];
        for (i, x) in digests.iter().enumerate() {
            for y in &digests[i + 1..] {
                assert_ne!(x, y);
            }
        }
        // Pinned: the digest is a function of the cell alone, the same in every run.
        assert_eq!(of(None), of(None));
    }
}
