//! [`Set`]: a grow-only set. Every operation `add`s a unique element; after the run one final
//! [`Operation::ReadSet`] returns the elements (judged, by the caller, by comparing it with the
//! adds: so it must see all of them).

use std::fmt;

use super::{Generate, UniqueValues, Workload, WorkloadError};
use crate::rng::Rng;
use crate::system::{Operation, Reply};

/// A grow-only set of unique elements (the operation mix does not apply: a set only adds).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Set;

impl Workload for Set {
    fn validate(&self) -> Result<(), WorkloadError> {
        Ok(())
    }

    /// Draws nothing from `rng`: every operation adds the client's next unique value.
    fn generator(&self, client: usize, rng: Rng) -> Box<dyn Generate> {
        let _ = rng;
        Box::new(Adds { values: UniqueValues::new(client) })
    }

    fn final_reads(&self) -> Vec<Operation> {
        vec![Operation::ReadSet]
    }

    fn final_reads_see_everything(&self) -> bool {
        true
    }
}

impl fmt::Display for Set {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("set")
    }
}

/// The operation stream of one client of a [`Set`] workload.
#[derive(Debug, Clone)]
struct Adds {
    values: UniqueValues,
}

impl Generate for Adds {
    fn next(&mut self) -> Operation {
        Operation::Add { element: self.values.next_value() }
    }

    fn observe(&mut self, _operation: &Operation, _reply: &Reply) {}
}

#[cfg(test)]
mod tests {
    use history::Value;

    use super::*;
    use crate::workload::VALUE_SPACE;

    #[test]
    fn set_adds_unique_elements() {
        let mut g = Set.generator(2, Rng::stream(1, 2));
        let (a, b) = (g.next(), g.next());
        assert_eq!((a.f(), b.f()), ("add", "add"));
        assert_ne!(a.value(), b.value());
        assert_eq!(a, Operation::Add { element: Value::Int(2 * VALUE_SPACE + 1) });
    }

    #[test]
    fn the_final_read_reads_the_set_and_is_recorded_as_a_read() {
        assert_eq!(Set.final_reads(), [Operation::ReadSet]);
        let read = &Set.final_reads()[0];
        assert_eq!((read.f(), read.key(), read.value()), ("read", None, Value::Nil));
        assert!(Set.final_reads_see_everything());
    }
}
