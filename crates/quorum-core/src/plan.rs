//! Whom a coordinator contacts: pure decisions over the preference list, the fallbacks and
//! the failure detector's view, made before anything is sent (decide, then act).
//!
//! A replica the detector suspects is not contacted. When fewer replicas than the level needs
//! remain, the request is refused before sending anything (Cassandra's `Unavailable`). A write
//! meant for a suspect replica is, by hinted-handoff policy: dropped (`Off`), kept as a hint
//! by the coordinator (`Strict`), or sent to the next live fallback that keeps it as a hint
//! and acknowledges (`Sloppy`).

use crate::config::Hints;

/// Targets of a read: the live replicas, in preference order.
pub fn read_targets(replicas: &[u32], live: &dyn Fn(u32) -> bool) -> Vec<u32> {
    replicas.iter().copied().filter(|&r| live(r)).collect()
}

/// Targets of a write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WritePlan {
    /// `(node, stand_in_for)`: a replica itself (`None`), or a sloppy fallback holding a hint
    /// for the replica named.
    pub targets: Vec<(u32, Option<u32>)>,
    /// Suspect replicas the coordinator keeps a hint for at once (strict handoff, or sloppy
    /// with no live fallback left).
    pub hint_now: Vec<u32>,
}

/// Plans a write to `replicas` (the preference list) with `fallbacks` after it. `live` says
/// whether the detector trusts a node (the coordinator always trusts itself).
pub fn write_targets(replicas: &[u32], fallbacks: &[u32], live: &dyn Fn(u32) -> bool, hints: Hints) -> WritePlan {
    let mut spare = fallbacks.iter().copied().filter(|&f| live(f));
    let mut plan = WritePlan::default();
    for &replica in replicas {
        if live(replica) {
            plan.targets.push((replica, None));
            continue;
        }
        match hints {
            Hints::Off => {}
            Hints::Strict => plan.hint_now.push(replica),
            Hints::Sloppy => match spare.next() {
                Some(fallback) => plan.targets.push((fallback, Some(replica))),
                None => plan.hint_now.push(replica),
            },
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_plans_by_policy() {
        let replicas = [1, 2, 3];
        let fallbacks = [4, 5];
        let live = |n: u32| n != 2 && n != 4;
        assert_eq!(
            write_targets(&replicas, &fallbacks, &live, Hints::Off),
            WritePlan { targets: vec![(1, None), (3, None)], hint_now: vec![] }
        );
        assert_eq!(
            write_targets(&replicas, &fallbacks, &live, Hints::Strict),
            WritePlan { targets: vec![(1, None), (3, None)], hint_now: vec![2] }
        );
        assert_eq!(
            write_targets(&replicas, &fallbacks, &live, Hints::Sloppy),
            WritePlan { targets: vec![(1, None), (5, Some(2)), (3, None)], hint_now: vec![] }
        );
        let none_live = |n: u32| n == 1;
        assert_eq!(
            write_targets(&replicas, &fallbacks, &none_live, Hints::Sloppy),
            WritePlan { targets: vec![(1, None)], hint_now: vec![2, 3] }
        );
        assert_eq!(read_targets(&replicas, &live), vec![1, 3]);
    }
}
