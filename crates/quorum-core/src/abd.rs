//! ABD (Attiya, Bar-Noy, Dolev): the linearizable mode, as pure decisions.
//!
//! Every phase talks to a majority of the key's N replicas, so any two phases intersect.
//! - Write: read the versions of a majority, then write with a timestamp above the highest
//!   seen (ties broken by node id) to a majority.
//! - Read: read a majority, pick the highest cell, and write it back to a majority before
//!   replying. The write-back is skipped when the majority already agrees on that cell: a
//!   majority holding it is exactly what the write-back would establish.
//!
//! Read-modify-writes (`Add`) are a read phase and a write phase, not an atomic step: two
//! concurrent adds can both read the same set and one overwrites the other (a compare-and-set
//! needs consensus, which ABD is not).

use base::Cell;

/// Replies a phase needs from `n` replicas: a majority.
pub fn quorum(n: usize) -> usize {
    n / 2 + 1
}

/// The lowest timestamp a writer may use after a read phase whose newest cell was `highest`.
pub fn timestamp_floor(highest: Option<&Cell>) -> u64 {
    highest.map_or(1, |c| c.version.timestamp.saturating_add(1))
}

/// After a read phase with `answers` and winner `winner`: the replicas already holding the
/// winner, or `None` when no write-back is needed (nothing stored anywhere, or at least
/// `quorum` replicas already hold it).
pub fn write_back(answers: &[(u32, Option<&Cell>)], winner: Option<&Cell>, quorum: usize) -> Option<Vec<u32>> {
    let winner = winner?;
    let holders: Vec<u32> = answers.iter().filter(|(_, c)| *c == Some(winner)).map(|(r, _)| *r).collect();
    (holders.len() < quorum).then_some(holders)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base::Version;
    use history::Value;

    #[test]
    fn write_back_only_when_a_majority_lacks_the_winner() {
        let old = Cell::new(Value::Int(1), Version::new(1, 0));
        let new = Cell::new(Value::Int(2), Version::new(2, 0));
        assert_eq!(write_back(&[(1, Some(&new)), (2, Some(&old))], Some(&new), 2), Some(vec![1]));
        assert_eq!(write_back(&[(1, Some(&new)), (2, Some(&new))], Some(&new), 2), None);
        assert_eq!(write_back(&[(1, None), (2, None)], None, 2), None);
        assert_eq!(timestamp_floor(Some(&new)), 3);
        assert_eq!(timestamp_floor(None), 1);
        assert_eq!((1..=9).map(quorum).collect::<Vec<_>>(), vec![1, 2, 2, 3, 3, 4, 4, 5, 5]);
    }
}
