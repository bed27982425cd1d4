//! Recovery: from the files on disk to a manifest, open SSTables and a replayed memtable.
//!
//! 1. Create the directory if it is missing (syncing each new entry's parent).
//! 2. List it and sort the names into manifests, SSTables, segments and leftovers.
//! 3. Read the newest manifest (none yet: an empty store). Damage is an error.
//! 4. Open every SSTable it names and load its index. Missing or damaged: an error.
//! 5. Replay every segment numbered `>= log_floor`, oldest first, into the memtable; each
//!    stops at its first torn or corrupt record (see [`crate::commit_log`]) and the next
//!    segment is still replayed (it was started by a later run).
//! 6. Delete what no manifest needs: SSTables it does not name (an interrupted flush or
//!    compaction), segments below `log_floor`, older manifests, `.tmp` manifests.
//! 7. Sync the replayed segments, then the directory, so what this run serves is durable
//!    even if it was only in the page cache (a restart without a crash keeps unsynced data):
//!    a value once read must not vanish in a later crash.
//!
//! Files whose names the engine does not use are left alone.

use std::collections::BTreeSet;

use crate::commit_log::{parse_segment_name, replay, segment_name};
use crate::disk::Disk;
use crate::error::{Corruption, EngineError};
use crate::manifest::{is_manifest_tmp_name, manifest_name, parse_manifest_name, Manifest};
use crate::memtable::Memtable;
use crate::sstable::{parse_sstable_name, sstable_name, Sstable};

/// What opening found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// The manifest read (0: none on disk).
    pub manifest_seq: u64,
    /// Live SSTables opened.
    pub sstables: usize,
    /// Commit-log segments replayed.
    pub segments_replayed: usize,
    /// Records replayed from them.
    pub records_replayed: u64,
    /// Segments whose replay stopped before their end.
    pub torn_tails: Vec<TornTail>,
    /// Obsolete or leftover files deleted.
    pub files_removed: usize,
}

/// A segment whose replay stopped at a damaged record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TornTail {
    /// The segment.
    pub segment: u64,
    /// Bytes of intact records before the damage.
    pub valid_len: u64,
    /// The segment's length.
    pub file_len: u64,
    /// What the first damaged record looked like.
    pub reason: Corruption,
}

/// The state recovered from disk.
#[derive(Debug)]
pub(crate) struct Recovered {
    /// The newest manifest.
    pub manifest: Manifest,
    /// Its SSTables, ascending ids.
    pub sstables: Vec<Sstable>,
    /// Replayed cells.
    pub memtable: Memtable,
    /// Live segments: (id, bytes), ascending.
    pub segments: Vec<(u64, u64)>,
    /// The next unused file number.
    pub next_file: u64,
    /// What happened.
    pub report: RecoveryReport,
}

/// The directory's names, by kind.
#[derive(Debug, Default)]
struct Listing {
    manifests: BTreeSet<u64>,
    sstables: BTreeSet<u64>,
    segments: BTreeSet<u64>,
    manifest_tmps: Vec<String>,
}

fn classify(names: &[String]) -> Listing {
    let mut listing = Listing::default();
    for name in names {
        if let Some(seq) = parse_manifest_name(name) {
            listing.manifests.insert(seq);
        } else if let Some(id) = parse_sstable_name(name) {
            listing.sstables.insert(id);
        } else if let Some(id) = parse_segment_name(name) {
            listing.segments.insert(id);
        } else if is_manifest_tmp_name(name) {
            listing.manifest_tmps.push(name.clone());
        }
    }
    listing
}

/// Recovers the engine's state from `disk` (steps 1-7 of the module docs).
pub(crate) fn recover(disk: &mut Disk) -> Result<Recovered, EngineError> {
    disk.ensure_dir()?;
    let listing = classify(&disk.list()?);
    let manifest = match listing.manifests.last() {
        None => Manifest::default(),
        Some(&seq) => {
            let name = manifest_name(seq);
            let bytes = disk.read_all(&name)?;
            Manifest::decode(&bytes, seq)
                .map_err(|corruption| EngineError::CorruptManifest { path: disk.path(&name), corruption })?
        }
    };
    let mut sstables = Vec::with_capacity(manifest.sstables.len());
    for &id in &manifest.sstables {
        if !listing.sstables.contains(&id) {
            return Err(EngineError::MissingSstable {
                manifest: disk.path(&manifest_name(manifest.seq)),
                path: disk.path(&sstable_name(id)),
            });
        }
        sstables.push(Sstable::open(disk, id)?);
    }
    let mut report =
        RecoveryReport { manifest_seq: manifest.seq, sstables: sstables.len(), ..RecoveryReport::default() };
    let mut memtable = Memtable::new();
    let mut segments = Vec::new();
    for &id in listing.segments.range(manifest.log_floor..) {
        let bytes = disk.read_all(&segment_name(id))?;
        let replayed = replay(&bytes);
        report.segments_replayed += 1;
        report.records_replayed += replayed.records.len() as u64;
        if let Some(reason) = replayed.torn {
            report.torn_tails.push(TornTail {
                segment: id,
                valid_len: replayed.valid_len,
                file_len: bytes.len() as u64,
                reason,
            });
        }
        for (key, cell) in replayed.records {
            memtable.insert(&key, cell);
        }
        segments.push((id, bytes.len() as u64));
    }
    report.files_removed = remove_leftovers(disk, &listing, &manifest)?;
    for &(id, _) in &segments {
        let name = segment_name(id);
        let file = disk.open(&name)?;
        disk.sync_file(&file, &name)?;
    }
    disk.sync_dir()?;
    let highest = [&listing.sstables, &listing.segments].into_iter().filter_map(|ids| ids.last()).max();
    let next_file = manifest.next_file.max(highest.map_or(0, |id| id.saturating_add(1))).max(1);
    Ok(Recovered { manifest, sstables, memtable, segments, next_file, report })
}

/// Step 6; returns how many files were deleted (durable after the caller's directory sync).
fn remove_leftovers(disk: &mut Disk, listing: &Listing, manifest: &Manifest) -> Result<usize, EngineError> {
    let live: BTreeSet<u64> = manifest.sstables.iter().copied().collect();
    let mut removed = 0;
    for &id in listing.sstables.difference(&live) {
        disk.remove(&sstable_name(id), true)?;
        removed += 1;
    }
    for &id in listing.segments.range(..manifest.log_floor) {
        disk.remove(&segment_name(id), true)?;
        removed += 1;
    }
    for &seq in listing.manifests.range(..manifest.seq) {
        disk.remove(&manifest_name(seq), false)?;
        removed += 1;
    }
    for name in &listing.manifest_tmps {
        disk.remove(name, true)?;
        removed += 1;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_sorts_names_by_kind() {
        let names: Vec<String> = [
            manifest_name(2),
            manifest_name(3),
            "MANIFEST-00000000000000000004.tmp".to_owned(),
            sstable_name(5),
            segment_name(6),
            "notes.txt".to_owned(),
        ]
        .into_iter()
        .collect();
        let listing = classify(&names);
        assert_eq!(listing.manifests.iter().copied().collect::<Vec<_>>(), [2, 3]);
        assert_eq!(listing.sstables.iter().copied().collect::<Vec<_>>(), [5]);
        assert_eq!(listing.segments.iter().copied().collect::<Vec<_>>(), [6]);
        assert_eq!(listing.manifest_tmps.len(), 1);
    }
}
