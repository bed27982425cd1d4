//! Last-write-wins resolution: picking the winning cell among replica answers, and the set
//! document that `Add` grows.
//!
//! The order is [`Cell::supersedes`]: higher version, then (for the impossible tie) greater
//! value, the same total order the storage merges by, so every replica converges to the same
//! cell whatever order writes arrive in.

use base::Cell;
use history::Value;

/// The winning cell among `cells` (`None` when every answer was "absent").
pub fn newest<'a>(cells: impl IntoIterator<Item = Option<&'a Cell>>) -> Option<Cell> {
    let mut best: Option<&Cell> = None;
    for cell in cells.into_iter().flatten() {
        if best.is_none_or(|b| cell.supersedes(b)) {
            best = Some(cell);
        }
    }
    best.cloned()
}

/// Whether a replica that answered `seen` is behind `winner`.
pub fn is_stale(seen: Option<&Cell>, winner: &Cell) -> bool {
    seen.is_none_or(|seen| winner.supersedes(seen))
}

/// The set stored in `current` (`nil`: empty) with `element` added: a sorted list without
/// duplicates. A key holding anything but a list or `nil` is not a set.
pub fn add_to_set(current: &Value, element: Value) -> Result<Value, String> {
    let mut items = match current {
        Value::Nil => Vec::new(),
        Value::List(items) => items.clone(),
        other => return Err(format!("the key holds {}, not a set", other.shape())),
    };
    items.push(element);
    // Lists written by `Put` need not be sorted; a set read back always is.
    items.sort();
    items.dedup();
    Ok(Value::List(items))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base::Version;

    fn cell(v: i64, ts: u64, node: u32) -> Cell {
        Cell::new(Value::Int(v), Version::new(ts, node))
    }

    #[test]
    fn newest_picks_the_highest_version() {
        let a = cell(1, 5, 0);
        let b = cell(2, 5, 1);
        let c = cell(3, 4, 9);
        assert_eq!(newest([Some(&a), None, Some(&b), Some(&c)]), Some(b.clone()));
        assert_eq!(newest([None, None]), None);
        assert!(is_stale(None, &a));
        assert!(is_stale(Some(&a), &b));
        assert!(!is_stale(Some(&b), &b));
    }

    #[test]
    fn sets_grow_sorted_and_refuse_scalars() {
        let one = add_to_set(&Value::Nil, Value::Int(3)).expect("nil is an empty set");
        let two = add_to_set(&one, Value::Int(1)).expect("a list is a set");
        assert_eq!(two, Value::List(vec![Value::Int(1), Value::Int(3)]));
        assert_eq!(add_to_set(&two, Value::Int(3)), Ok(two.clone()));
        let unsorted = Value::List(vec![Value::Int(5), Value::Int(2)]);
        assert_eq!(add_to_set(&unsorted, Value::Int(4)), Ok(Value::List(vec![2.into(), 4.into(), 5.into()])));
        assert!(add_to_set(&Value::Int(1), Value::Int(2)).is_err());
    }
}
