//! Read repair: after a read, which replicas to bring up to date, and whether the reply waits.
//!
//! Only replicas that answered count (the coordinator knows nothing about the others). With
//! `Blocking`, the stale replicas among the answers that reached the read level are repaired
//! before the reply (Cassandra 4); with `Async` they are repaired after it, and so are replicas
//! whose answers arrive later and turn out stale (Riak).

use base::Cell;

use crate::config::ReadRepair;
use crate::lww::is_stale;

/// What to do after a read reached its level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepairPlan {
    /// Reply; repair nothing.
    Skip,
    /// Reply now; send the winner to these replicas without waiting (and to late stale ones).
    Async(Vec<u32>),
    /// Send the winner to these replicas and reply once all acknowledged.
    Blocking(Vec<u32>),
}

/// Decides read repair for `answers` (`(replica, cell)`) under `policy`.
pub fn plan(policy: ReadRepair, answers: &[(u32, Option<&Cell>)], winner: Option<&Cell>) -> RepairPlan {
    let Some(winner) = winner else { return RepairPlan::Skip };
    let stale: Vec<u32> = answers.iter().filter(|(_, seen)| is_stale(*seen, winner)).map(|(r, _)| *r).collect();
    match policy {
        ReadRepair::Off => RepairPlan::Skip,
        ReadRepair::Async => RepairPlan::Async(stale),
        ReadRepair::Blocking if stale.is_empty() => RepairPlan::Skip,
        ReadRepair::Blocking => RepairPlan::Blocking(stale),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base::Version;
    use history::Value;

    #[test]
    fn plans_by_policy() {
        let old = Cell::new(Value::Int(1), Version::new(1, 0));
        let new = Cell::new(Value::Int(2), Version::new(2, 0));
        let answers = [(1, Some(&new)), (2, Some(&old)), (3, None)];
        assert_eq!(plan(ReadRepair::Off, &answers, Some(&new)), RepairPlan::Skip);
        assert_eq!(plan(ReadRepair::Async, &answers, Some(&new)), RepairPlan::Async(vec![2, 3]));
        assert_eq!(plan(ReadRepair::Blocking, &answers, Some(&new)), RepairPlan::Blocking(vec![2, 3]));
        assert_eq!(plan(ReadRepair::Blocking, &answers[..1], Some(&new)), RepairPlan::Skip);
        assert_eq!(plan(ReadRepair::Blocking, &[(3, None)], None), RepairPlan::Skip);
    }
}
