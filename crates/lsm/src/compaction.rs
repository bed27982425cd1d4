//! Compaction policy, pure: [`choose`] looks at the live SSTables and returns a [`Choice`];
//! the engine carries it out ([`Engine::compact`](crate::Engine::compact)).
//!
//! Merging any subset of tables is correct here: the engine has no deletes (so no tombstones
//! to keep) and the winner per key is decided by version, not by file age. The policy is the
//! simplest one: once there are more than `max_sstables` tables, merge them all into one.
//! Every compaction rewrites all the data, which is fine at simulation sizes.

use crate::cell::Version;

/// What compaction needs to know about a live SSTable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SstableMeta {
    /// Its id (higher: written later).
    pub id: u64,
    /// Number of keys.
    pub entries: u64,
    /// File size.
    pub file_bytes: u64,
    /// Smallest key (`None` when empty).
    pub min_key: Option<String>,
    /// Largest key (`None` when empty).
    pub max_key: Option<String>,
    /// Highest version held.
    pub max_version: Version,
}

/// What to compact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Choice {
    /// Nothing to do.
    DoNothing,
    /// Merge these tables (ascending ids, at least two) into one.
    Merge(Vec<u64>),
}

/// The policy: merge every table once there are more than `max_sstables` (and at least two).
pub fn choose(tables: &[SstableMeta], max_sstables: usize) -> Choice {
    if tables.len() > max_sstables && tables.len() >= 2 {
        let mut ids: Vec<u64> = tables.iter().map(|t| t.id).collect();
        ids.sort_unstable();
        ids.dedup();
        Choice::Merge(ids)
    } else {
        Choice::DoNothing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: u64) -> SstableMeta {
        SstableMeta {
            id,
            entries: 1,
            file_bytes: 100,
            min_key: Some("a".into()),
            max_key: Some("z".into()),
            max_version: Version::default(),
        }
    }

    #[test]
    fn merges_all_only_past_the_limit() {
        let tables: Vec<SstableMeta> = [7, 3, 5].into_iter().map(meta).collect();
        assert_eq!(choose(&tables, 3), Choice::DoNothing);
        assert_eq!(choose(&tables, 2), Choice::Merge(vec![3, 5, 7]));
        assert_eq!(choose(&tables[..1], 0), Choice::DoNothing);
        assert_eq!(choose(&[], 0), Choice::DoNothing);
    }
}
