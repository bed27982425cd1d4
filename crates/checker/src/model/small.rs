//! [`SmallValue`]: a history value in 16 bytes, for what a long history keeps per operation.

use std::fmt;

use history::Value;

/// A value in 16 bytes (a [`Value`] takes 32): nil and integers, nearly every register value,
/// inline; anything else boxed. The register models' states and operations hold these, and
/// the checker keeps two per operation for reports, so a long history's memory follows the
/// small case.
///
/// Invariant: `Boxed` never holds nil or an integer, so equality and hashing of the enum are
/// those of the value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SmallValue {
    /// `nil`.
    Nil,
    /// An integer.
    Int(i64),
    /// Any other value.
    Boxed(Box<Value>),
}

impl SmallValue {
    /// `value` in its small form.
    pub fn new(value: Value) -> Self {
        match value {
            Value::Nil => SmallValue::Nil,
            Value::Int(i) => SmallValue::Int(i),
            other => SmallValue::Boxed(Box::new(other)),
        }
    }

    /// The value.
    pub fn into_value(self) -> Value {
        match self {
            SmallValue::Nil => Value::Nil,
            SmallValue::Int(i) => Value::Int(i),
            SmallValue::Boxed(value) => *value,
        }
    }

    /// A copy of the value.
    pub fn to_value(&self) -> Value {
        self.clone().into_value()
    }
}

impl From<Value> for SmallValue {
    fn from(value: Value) -> Self {
        Self::new(value)
    }
}

impl fmt::Display for SmallValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SmallValue::Nil => Value::Nil.fmt(f),
            SmallValue::Int(i) => Value::Int(*i).fmt(f),
            SmallValue::Boxed(value) => value.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_bytes_and_the_values_equality() {
        assert_eq!(std::mem::size_of::<SmallValue>(), 16);
        let values = [
            Value::Nil,
            Value::Int(0),
            Value::Int(-7),
            Value::Bool(true),
            Value::Str("0".into()),
            Value::List(vec![Value::Int(1), Value::Nil]),
        ];
        for a in &values {
            assert_eq!(SmallValue::new(a.clone()).into_value(), *a);
            assert_eq!(SmallValue::new(a.clone()).to_string(), a.to_string());
            for b in &values {
                assert_eq!(SmallValue::new(a.clone()) == SmallValue::new(b.clone()), a == b, "{a} and {b}");
            }
        }
    }
}
