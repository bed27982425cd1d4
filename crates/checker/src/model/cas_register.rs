//! A register with compare-and-set, the object of the etcd corpus.

use history::Event;

use super::register::{implied_read_write, read_write, step_read_write, RegisterOp};
use super::{shape_error, Completion, Implied, Model, SmallValue};

/// A register with `read`, `write` and `cas` (`value` is `[expected new]`), initially `nil`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CasRegister;

/// An operation on a [`CasRegister`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CasOp {
    /// A read or write.
    Plain(RegisterOp),
    /// A compare-and-set that succeeded, or whose outcome is unknown: it applies only when the
    /// register holds `expected`. (A failed one certainly had no effect and is never searched.)
    Cas {
        /// The value compared against.
        expected: SmallValue,
        /// The value written when the compare holds.
        new: SmallValue,
    },
}

impl Model for CasRegister {
    type State = SmallValue;
    type Op = CasOp;

    fn name(&self) -> &'static str {
        "cas-register"
    }

    fn init(&self) -> SmallValue {
        SmallValue::Nil
    }

    fn show_state(&self, state: &SmallValue) -> String {
        state.to_string()
    }

    fn step(&self, state: &SmallValue, op: &CasOp) -> Option<SmallValue> {
        match op {
            CasOp::Plain(plain) => step_read_write(state, plain),
            CasOp::Cas { expected, new } => (expected == state).then(|| new.clone()),
        }
    }

    fn read_only(&self, op: &CasOp) -> bool {
        matches!(op, CasOp::Plain(RegisterOp::Read(_)))
    }

    fn function(&self, op: &CasOp) -> &'static str {
        match op {
            CasOp::Plain(plain) => plain.function(),
            CasOp::Cas { .. } => "cas",
        }
    }

    fn implied_values<'a>(&self, op: &'a CasOp) -> (Option<Implied<'a>>, Option<Implied<'a>>) {
        match op {
            CasOp::Plain(plain) => implied_read_write(plain),
            CasOp::Cas { expected, new } => (Some(Implied::Pair(expected, new)), Some(Implied::Pair(expected, new))),
        }
    }

    fn operation(&self, call: &Event, completion: Completion<'_>) -> Result<Option<CasOp>, String> {
        if call.f != "cas" {
            return read_write(self.name(), call, completion)
                .map_err(|_| super::unknown_function(self.name(), &call.f, "read, write or cas"))
                .map(|op| op.map(CasOp::Plain));
        }
        match call.value.as_list() {
            Some([expected, new]) => {
                Ok(Some(CasOp::Cas { expected: SmallValue::new(expected.clone()), new: SmallValue::new(new.clone()) }))
            }
            _ => Err(shape_error(self.name(), "cas", "[expected new]", &call.value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use history::{EventType, Process, Value};

    #[test]
    fn cas_applies_only_on_match() {
        let m = CasRegister;
        let op = CasOp::Cas { expected: SmallValue::Int(1), new: SmallValue::Int(2) };
        assert_eq!(m.step(&SmallValue::Int(1), &op), Some(SmallValue::Int(2)));
        assert_eq!(m.step(&SmallValue::Int(3), &op), None);
    }

    #[test]
    fn malformed_cas_is_an_error() {
        let call = Event::new(Process::Client(0), EventType::Invoke, "cas", Value::Int(1));
        let err = CasRegister.operation(&call, Completion::Unknown).expect_err("needs a pair");
        assert!(err.contains("[expected new]"), "{err}");
        let call = Event::new(Process::Client(0), EventType::Invoke, "incr", Value::Int(1));
        let err = CasRegister.operation(&call, Completion::Unknown).expect_err("unknown f");
        assert!(err.contains("read, write or cas"), "{err}");
    }
}
