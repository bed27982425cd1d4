//! Lost-write analysis for set histories (Jepsen's set checker).
//!
//! Clients `add` unique elements; after the faults heal, a final `read` returns every element
//! the system still holds. Comparing the two says what an acknowledged write is worth:
//!
//! - **lost**: acknowledged (`ok`) adds missing from the final read: the system said yes and
//!   forgot;
//! - **recovered**: adds whose outcome was unknown (`info`) and that are present;
//! - **unexpected**: elements in the final read that no client ever tried to add, or whose
//!   add certainly failed (`fail`): the system invented or resurrected data.
//!
//! The final read is the last `ok` `read` of the history.

use std::collections::BTreeSet;

use history::{Event, EventType, Process, Value};

/// What happened to the elements of a set history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SetLoss {
    /// Adds invoked.
    pub attempted: usize,
    /// Adds acknowledged (`ok`).
    pub acknowledged: usize,
    /// Acknowledged adds missing from the final read.
    pub lost: Vec<Value>,
    /// Adds of unknown outcome present in the final read.
    pub recovered: Vec<Value>,
    /// Elements read that were never added, or whose add failed.
    pub unexpected: Vec<Value>,
    /// Whether the history has a final read at all (without one nothing can be judged).
    pub final_read: bool,
}

impl SetLoss {
    /// True when the final read exists, nothing acknowledged was lost and nothing unexpected
    /// appeared.
    pub fn is_valid(&self) -> bool {
        self.final_read && self.lost.is_empty() && self.unexpected.is_empty()
    }
}

/// Analyses a set history (`add` with an element as value, `read` returning a list).
pub fn analyze(events: &[Event]) -> SetLoss {
    let mut pending: std::collections::BTreeMap<&Process, &Event> = std::collections::BTreeMap::new();
    let mut attempted = BTreeSet::new();
    let mut acknowledged = BTreeSet::new();
    let mut failed = BTreeSet::new();
    let mut final_read: Option<BTreeSet<Value>> = None;
    for event in events {
        if event.kind == EventType::Invoke {
            if event.f == "add" {
                attempted.insert(event.value.clone());
            }
            pending.insert(&event.process, event);
            continue;
        }
        let Some(invoke) = pending.remove(&event.process) else { continue };
        match (invoke.f.as_str(), event.kind) {
            ("add", EventType::Ok) => {
                acknowledged.insert(invoke.value.clone());
            }
            ("add", EventType::Fail) => {
                failed.insert(invoke.value.clone());
            }
            ("read", EventType::Ok) => {
                final_read = Some(event.value.as_list().unwrap_or_default().iter().cloned().collect());
            }
            _ => {}
        }
    }
    let Some(read) = final_read else {
        return SetLoss {
            attempted: attempted.len(),
            acknowledged: acknowledged.len(),
            final_read: false,
            ..SetLoss::default()
        };
    };
    SetLoss {
        attempted: attempted.len(),
        acknowledged: acknowledged.len(),
        lost: acknowledged.iter().filter(|v| !read.contains(*v)).cloned().collect(),
        recovered: attempted
            .iter()
            .filter(|v| !acknowledged.contains(*v) && !failed.contains(*v) && read.contains(*v))
            .cloned()
            .collect(),
        unexpected: read.iter().filter(|v| !attempted.contains(*v) || failed.contains(*v)).cloned().collect(),
        final_read: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(p: u64, kind: EventType, f: &str, value: Value) -> Event {
        Event::new(Process::Client(p), kind, f, value)
    }

    fn list(items: &[i64]) -> Value {
        Value::List(items.iter().map(|&i| Value::Int(i)).collect())
    }

    #[test]
    fn classifies_lost_recovered_and_unexpected_elements() {
        use EventType::*;
        let events = vec![
            ev(0, Invoke, "add", Value::Int(1)),
            ev(0, Ok, "add", Value::Int(1)),
            ev(1, Invoke, "add", Value::Int(2)),
            ev(1, Ok, "add", Value::Int(2)),
            ev(2, Invoke, "add", Value::Int(3)),
            ev(2, Info, "add", Value::Int(3)),
            ev(3, Invoke, "add", Value::Int(4)),
            ev(3, Fail, "add", Value::Int(4)),
            ev(9, Invoke, "read", Value::Nil),
            ev(9, Ok, "read", list(&[1, 3, 4, 7])),
        ];
        let loss = analyze(&events);
        assert_eq!(loss.attempted, 4);
        assert_eq!(loss.acknowledged, 2);
        assert_eq!(loss.lost, vec![Value::Int(2)]);
        assert_eq!(loss.recovered, vec![Value::Int(3)]);
        assert_eq!(loss.unexpected, vec![Value::Int(4), Value::Int(7)]);
        assert!(!loss.is_valid());
    }

    #[test]
    fn without_a_final_read_nothing_is_valid() {
        let events = vec![ev(0, EventType::Invoke, "add", Value::Int(1)), ev(0, EventType::Ok, "add", Value::Int(1))];
        let loss = analyze(&events);
        assert!(!loss.final_read);
        assert!(!loss.is_valid());
    }

    #[test]
    fn a_complete_read_is_valid() {
        use EventType::*;
        let events = vec![
            ev(0, Invoke, "add", Value::Int(1)),
            ev(0, Ok, "add", Value::Int(1)),
            ev(1, Invoke, "read", Value::Nil),
            ev(1, Ok, "read", list(&[1])),
        ];
        assert!(analyze(&events).is_valid());
    }
}
