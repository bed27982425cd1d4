//! Small forms of what a long history keeps per operation: [`SmallValue`], a history value in
//! 16 bytes, and [`SmallText`], a string in 24 bytes, short ones without an allocation.

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

/// Bytes a [`SmallText`] holds without an allocation.
const INLINE: usize = 22;

/// A string in 24 bytes, stored inline up to 22 bytes (a `kv` operation's text: most are
/// short, and a heap string costs a 32-byte allocation besides its 24 bytes).
///
/// Invariant: a string of up to `INLINE` (22) bytes is always inline, its unused bytes zero, so
/// equality of the enum is that of the strings.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum SmallText {
    /// A short string.
    Inline {
        /// Its length in bytes.
        len: u8,
        /// Its bytes, then zeros.
        bytes: [u8; INLINE],
    },
    /// A longer one.
    Heap(Box<str>),
}

impl SmallText {
    /// `text` in its small form.
    pub fn new(text: &str) -> Self {
        if text.len() <= INLINE {
            let mut bytes = [0; INLINE];
            bytes[..text.len()].copy_from_slice(text.as_bytes());
            SmallText::Inline { len: text.len() as u8, bytes }
        } else {
            SmallText::Heap(text.into())
        }
    }

    /// The string's length in bytes.
    pub fn len(&self) -> usize {
        match self {
            SmallText::Inline { len, .. } => usize::from(*len),
            SmallText::Heap(text) => text.len(),
        }
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        match self {
            // Always valid: the bytes were a whole `str` (`new`).
            SmallText::Inline { len, bytes } => std::str::from_utf8(&bytes[..usize::from(*len)]).unwrap_or_default(),
            SmallText::Heap(text) => text,
        }
    }
}

impl fmt::Debug for SmallText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_str().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_take_24_bytes_and_short_ones_stay_inline() {
        assert_eq!(std::mem::size_of::<SmallText>(), 24);
        let long = "x".repeat(INLINE + 1);
        for text in ["", "a", "héllo", &"y".repeat(INLINE), &long] {
            let small = SmallText::new(text);
            assert_eq!(small.as_str(), text);
            assert_eq!(small.len(), text.len());
            assert_eq!(matches!(small, SmallText::Inline { .. }), text.len() <= INLINE, "{text}");
            assert_eq!(small, SmallText::new(text));
            assert_ne!(small, SmallText::new(&format!("{text}z")));
        }
    }

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
