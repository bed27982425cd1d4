//! Consistency levels and the N/R/W arithmetic.
//!
//! A level says how many of a key's N replicas must answer before the coordinator replies.
//! `QUORUM` is a majority (`N/2 + 1`, as Cassandra computes it); `ANY` is one acknowledgement
//! where a stored hint counts, so it exists only for writes. A level asking for more replicas
//! than N exist is valid to name but can never be met: the coordinator answers it with
//! `Unavailable`, as Cassandra does.

use serde::{Deserialize, Serialize};

/// How many replicas must answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// One replica.
    One,
    /// Two replicas.
    Two,
    /// Three replicas.
    Three,
    /// A majority of the N replicas: `N/2 + 1`.
    Quorum,
    /// All N replicas.
    All,
    /// Writes only: one acknowledgement, where a hint stored by the coordinator counts.
    Any,
    /// An explicit count (R or W).
    Count(usize),
    /// Cassandra's `SERIAL`: a read or write through Paxos among a majority of the N replicas
    /// (a lightweight transaction, see [`crate::paxos`]); compare-and-set always runs so.
    Serial,
}

/// Whether an operation reads or writes (ANY is refused for reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A read (R).
    Read,
    /// A write (W).
    Write,
}

/// Replies `level` requires out of `n` replicas (ANY counts as 1; a count of 0 stays 0 and is
/// refused by [`validate`]).
pub fn required(level: Level, n: usize) -> usize {
    match level {
        Level::One | Level::Any => 1,
        Level::Two => 2,
        Level::Three => 3,
        Level::Quorum | Level::Serial => n / 2 + 1,
        Level::All => n,
        Level::Count(k) => k,
    }
}

/// Why a level cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LevelError {
    /// Malformed for this access (ANY for a read, a count of 0): refused before doing anything.
    #[error("consistency level {level:?} is not supported for {access}")]
    Unsupported {
        /// The level asked for.
        level: Level,
        /// `"reads"` or `"writes"`.
        access: &'static str,
    },
    /// More replicas than exist: can never be met (Cassandra's `UnavailableException`).
    #[error("consistency level {level:?} needs {required} replicas but the replication factor is {n}")]
    Unachievable {
        /// The level asked for.
        level: Level,
        /// Replies it needs.
        required: usize,
        /// The replication factor.
        n: usize,
    },
}

/// The replies `level` needs for `access` with replication factor `n`, or why it cannot work.
pub fn validate(level: Level, n: usize, access: Access) -> Result<usize, LevelError> {
    let name = match access {
        Access::Read => "reads",
        Access::Write => "writes",
    };
    let need = required(level, n);
    if need == 0 || (level == Level::Any && access == Access::Read) {
        return Err(LevelError::Unsupported { level, access: name });
    }
    if need > n {
        return Err(LevelError::Unachievable { level, required: need, n });
    }
    Ok(need)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(level, n, required)`: the arithmetic, as a table.
    const REQUIRED: &[(Level, usize, usize)] = &[
        (Level::One, 3, 1),
        (Level::Two, 3, 2),
        (Level::Three, 3, 3),
        (Level::Quorum, 1, 1),
        (Level::Quorum, 2, 2),
        (Level::Quorum, 3, 2),
        (Level::Quorum, 4, 3),
        (Level::Quorum, 5, 3),
        (Level::Quorum, 6, 4),
        (Level::Quorum, 7, 4),
        (Level::Quorum, 9, 5),
        (Level::All, 1, 1),
        (Level::All, 3, 3),
        (Level::All, 5, 5),
        (Level::Any, 3, 1),
        (Level::Count(2), 5, 2),
        (Level::Count(0), 3, 0),
        (Level::Serial, 3, 2),
        (Level::Serial, 5, 3),
    ];

    #[test]
    fn required_table() {
        for &(level, n, want) in REQUIRED {
            assert_eq!(required(level, n), want, "{level:?} of {n}");
        }
    }

    /// `(level, n, access, Ok(need) or Err(unsupported?))`.
    #[allow(clippy::type_complexity)]
    const VALIDATE: &[(Level, usize, Access, Result<usize, bool>)] = &[
        (Level::Any, 3, Access::Write, Ok(1)),
        (Level::Any, 3, Access::Read, Err(true)),
        (Level::Count(0), 3, Access::Write, Err(true)),
        (Level::Three, 2, Access::Write, Err(false)),
        (Level::Count(4), 3, Access::Read, Err(false)),
        (Level::All, 3, Access::Read, Ok(3)),
        (Level::Quorum, 3, Access::Write, Ok(2)),
        (Level::Two, 2, Access::Read, Ok(2)),
        (Level::Serial, 3, Access::Read, Ok(2)),
        (Level::Serial, 3, Access::Write, Ok(2)),
    ];

    #[test]
    fn validate_table() {
        for &(level, n, access, want) in VALIDATE {
            let got = validate(level, n, access);
            match (got, want) {
                (Ok(need), Ok(expected)) => assert_eq!(need, expected, "{level:?} {n} {access:?}"),
                (Err(LevelError::Unsupported { .. }), Err(true))
                | (Err(LevelError::Unachievable { .. }), Err(false)) => {}
                (got, want) => panic!("{level:?} {n} {access:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn quorums_intersect() {
        for n in 1..=9 {
            let q = required(Level::Quorum, n);
            assert!(2 * q > n, "two quorums of {n} must intersect");
        }
    }

    #[test]
    fn levels_serialize_as_kebab_case() {
        assert_eq!(serde_json::to_string(&Level::Quorum).ok().as_deref(), Some("\"quorum\""));
        assert_eq!(serde_json::to_string(&Level::Count(2)).ok().as_deref(), Some("{\"count\":2}"));
        let level: Option<Level> = serde_json::from_str("\"all\"").ok();
        assert_eq!(level, Some(Level::All));
    }
}
