//! A read/write register.

use history::Event;

use super::{unknown_function, Completion, Implied, Model, SmallValue};

/// A register holding one value, initially `nil`, with `read` and `write`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Register;

/// An operation on a [`Register`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterOp {
    /// A read that returned this value.
    Read(SmallValue),
    /// A write of this value.
    Write(SmallValue),
}

impl RegisterOp {
    /// `read` or `write`.
    pub(crate) fn function(&self) -> &'static str {
        match self {
            RegisterOp::Read(_) => "read",
            RegisterOp::Write(_) => "write",
        }
    }
}

/// Translates `read` and `write`, shared with [`super::CasRegister`].
pub(crate) fn read_write(model: &str, call: &Event, completion: Completion<'_>) -> Result<Option<RegisterOp>, String> {
    match call.f.as_str() {
        "read" => Ok(match completion {
            Completion::Ok(done) => Some(RegisterOp::Read(SmallValue::new(done.value.clone()))),
            Completion::Unknown => None,
        }),
        "write" => Ok(Some(RegisterOp::Write(SmallValue::new(call.value.clone())))),
        other => Err(unknown_function(model, other, "read or write")),
    }
}

/// What a read or write implies of its events, shared with [`super::CasRegister`]: a read is
/// invoked with nil and completes with what it read; a write is invoked with its value and
/// (as Jepsen writes it) completes with it too.
pub(crate) fn implied_read_write(op: &RegisterOp) -> (Option<Implied<'_>>, Option<Implied<'_>>) {
    match op {
        RegisterOp::Read(seen) => (Some(Implied::Nil), Some(Implied::Small(seen))),
        RegisterOp::Write(value) => (Some(Implied::Small(value)), Some(Implied::Small(value))),
    }
}

/// Steps a register state, shared with [`super::CasRegister`].
pub(crate) fn step_read_write(state: &SmallValue, op: &RegisterOp) -> Option<SmallValue> {
    match op {
        RegisterOp::Read(seen) => (seen == state).then(|| state.clone()),
        RegisterOp::Write(value) => Some(value.clone()),
    }
}

impl Model for Register {
    type State = SmallValue;
    type Op = RegisterOp;

    fn name(&self) -> &'static str {
        "register"
    }

    fn init(&self) -> SmallValue {
        SmallValue::Nil
    }

    fn show_state(&self, state: &SmallValue) -> String {
        state.to_string()
    }

    fn step(&self, state: &SmallValue, op: &RegisterOp) -> Option<SmallValue> {
        step_read_write(state, op)
    }

    fn read_only(&self, op: &RegisterOp) -> bool {
        matches!(op, RegisterOp::Read(_))
    }

    fn function(&self, op: &RegisterOp) -> &'static str {
        op.function()
    }

    fn implied_values<'a>(&self, op: &'a RegisterOp) -> (Option<Implied<'a>>, Option<Implied<'a>>) {
        implied_read_write(op)
    }

    fn operation(&self, call: &Event, completion: Completion<'_>) -> Result<Option<RegisterOp>, String> {
        read_write(self.name(), call, completion)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_see_the_last_write() {
        let m = Register;
        let s = m.step(&m.init(), &RegisterOp::Write(SmallValue::Int(3))).expect("write always applies");
        assert_eq!(m.step(&s, &RegisterOp::Read(SmallValue::Int(3))), Some(SmallValue::Int(3)));
        assert_eq!(m.step(&s, &RegisterOp::Read(SmallValue::Int(4))), None);
        assert_eq!(m.step(&m.init(), &RegisterOp::Read(SmallValue::Nil)), Some(SmallValue::Nil));
    }
}
