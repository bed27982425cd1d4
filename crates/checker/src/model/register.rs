//! A read/write register.

use history::{Event, Value};

use super::{unknown_function, Completion, Model};

/// A register holding one [`Value`], initially `nil`, with `read` and `write`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Register;

/// An operation on a [`Register`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterOp {
    /// A read that returned this value.
    Read(Value),
    /// A write of this value.
    Write(Value),
}

/// Translates `read` and `write`, shared with [`super::CasRegister`].
pub(crate) fn read_write(model: &str, call: &Event, completion: Completion<'_>) -> Result<Option<RegisterOp>, String> {
    match call.f.as_str() {
        "read" => Ok(match completion {
            Completion::Ok(done) => Some(RegisterOp::Read(done.value.clone())),
            Completion::Unknown => None,
        }),
        "write" => Ok(Some(RegisterOp::Write(call.value.clone()))),
        other => Err(unknown_function(model, other, "read or write")),
    }
}

/// Steps a register state, shared with [`super::CasRegister`].
pub(crate) fn step_read_write(state: &Value, op: &RegisterOp) -> Option<Value> {
    match op {
        RegisterOp::Read(seen) => (seen == state).then(|| state.clone()),
        RegisterOp::Write(value) => Some(value.clone()),
    }
}

impl Model for Register {
    type State = Value;
    type Op = RegisterOp;

    fn name(&self) -> &'static str {
        "register"
    }

    fn init(&self) -> Value {
        Value::Nil
    }

    fn show_state(&self, state: &Value) -> String {
        state.to_string()
    }

    fn step(&self, state: &Value, op: &RegisterOp) -> Option<Value> {
        step_read_write(state, op)
    }

    fn read_only(&self, op: &RegisterOp) -> bool {
        matches!(op, RegisterOp::Read(_))
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
        let s = m.step(&m.init(), &RegisterOp::Write(Value::Int(3))).expect("write always applies");
        assert_eq!(m.step(&s, &RegisterOp::Read(Value::Int(3))), Some(Value::Int(3)));
        assert_eq!(m.step(&s, &RegisterOp::Read(Value::Int(4))), None);
        assert_eq!(m.step(&m.init(), &RegisterOp::Read(Value::Nil)), Some(Value::Nil));
    }
}
