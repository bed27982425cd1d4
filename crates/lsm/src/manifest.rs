//! The manifest: which SSTables are live, which commit-log segments still matter, and the
//! next file number.
//!
//! Manifests are numbered, never overwritten: `MANIFEST-<seq:020>`. A new one is written in
//! full to `MANIFEST-<seq:020>.tmp`, synced, renamed to its final name, and the directory is
//! synced; only then is it the truth, and only then are the files it retires (and the
//! previous manifest) deleted. Opening reads the highest number and deletes leftover `.tmp`
//! files. A final name only ever points at synced, complete bytes (also after a process
//! restart that keeps unsynced data, which a failed write could leave behind), so a damaged
//! newest manifest is corruption ([`EngineError::CorruptManifest`](crate::EngineError)), not
//! a torn write.
//!
//! Layout: `magic "LSMMAN01" | frame(payload)` (frame as in [`crate::codec`]), payload:
//! `seq: u64 | next_file: u64 | log_floor: u64 | count: u32 | sstable ids: u64 x count`
//! (ascending). Segments with `id >= log_floor` are replayed; older ones are obsolete.

use crate::codec::{frame, put_u32, put_u64, read_frame, Reader};
use crate::error::Corruption;

const MAGIC: &[u8; 8] = b"LSMMAN01";
const PREFIX: &str = "MANIFEST-";

/// The durable description of the engine's files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// This manifest's number (0: none written yet).
    pub seq: u64,
    /// No file numbered below this is allocated again.
    pub next_file: u64,
    /// Segments numbered below this are covered by SSTables.
    pub log_floor: u64,
    /// Live SSTables, ascending.
    pub sstables: Vec<u64>,
}

/// The file name of manifest `seq`.
pub fn manifest_name(seq: u64) -> String {
    format!("{PREFIX}{seq:020}")
}

/// The manifest number of a file name, if it names a manifest.
pub fn parse_manifest_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix(PREFIX)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The name a manifest is written under before it is renamed into place.
pub fn manifest_tmp_name(seq: u64) -> String {
    format!("{}.tmp", manifest_name(seq))
}

/// Whether a file name is a manifest's temporary name (left behind by a failed write).
pub fn is_manifest_tmp_name(name: &str) -> bool {
    name.strip_suffix(".tmp").and_then(parse_manifest_name).is_some()
}

impl Manifest {
    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut payload = Vec::with_capacity(28 + 8 * self.sstables.len());
        put_u64(&mut payload, self.seq);
        put_u64(&mut payload, self.next_file);
        put_u64(&mut payload, self.log_floor);
        put_u32(&mut payload, u32::try_from(self.sstables.len()).unwrap_or(u32::MAX));
        for id in &self.sstables {
            put_u64(&mut payload, *id);
        }
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&frame(&payload));
        out
    }

    /// Parses and checks a manifest file named with number `seq`.
    pub fn decode(bytes: &[u8], seq: u64) -> Result<Manifest, Corruption> {
        if bytes.get(..MAGIC.len()) != Some(&MAGIC[..]) {
            return Err(Corruption::BadMagic);
        }
        let (payload, end) = read_frame(bytes, MAGIC.len())?;
        if end != bytes.len() {
            return Err(Corruption::Malformed("bytes after the manifest"));
        }
        let mut r = Reader::at(payload, 0);
        let stored_seq = r.u64()?;
        let next_file = r.u64()?;
        let log_floor = r.u64()?;
        let count = r.u32()?;
        if usize::try_from(count).unwrap_or(usize::MAX) != r.remaining() / 8 {
            return Err(Corruption::Malformed("SSTable count does not match"));
        }
        let mut sstables = Vec::new();
        for _ in 0..count {
            sstables.push(r.u64()?);
        }
        r.finish()?;
        if stored_seq != seq {
            return Err(Corruption::Malformed("manifest number differs from its file name"));
        }
        if sstables.windows(2).any(|w| w[0] >= w[1]) {
            return Err(Corruption::Malformed("SSTable ids not strictly ascending"));
        }
        if sstables.iter().chain([&log_floor]).any(|&id| id >= next_file) {
            return Err(Corruption::Malformed("file id at or beyond next_file"));
        }
        Ok(Manifest { seq, next_file, log_floor, sstables })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_damage() {
        let m = Manifest { seq: 7, next_file: 20, log_floor: 19, sstables: vec![3, 11, 18] };
        let bytes = m.encode();
        assert_eq!(Manifest::decode(&bytes, 7), Ok(m.clone()));
        assert!(Manifest::decode(&bytes, 8).is_err());
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x10;
            assert!(Manifest::decode(&bad, 7).is_err(), "flip at {i}");
        }
        for cut in 0..bytes.len() {
            assert!(Manifest::decode(&bytes[..cut], 7).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn names_round_trip() {
        assert_eq!(parse_manifest_name(&manifest_name(12)), Some(12));
        assert_eq!(parse_manifest_name("MANIFEST-"), None);
        assert_eq!(parse_manifest_name("MANIFEST-1x"), None);
        assert_eq!(parse_manifest_name(&manifest_tmp_name(3)), None);
        assert!(is_manifest_tmp_name(&manifest_tmp_name(3)));
        assert!(!is_manifest_tmp_name(&manifest_name(3)));
    }
}
