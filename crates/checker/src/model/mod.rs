//! Sequential specifications: what a single copy of the object would do.
//!
//! A [`Model`] turns a pair of events (invocation, completion) into a typed operation, steps a
//! state with it, and says which partition (key) the operation belongs to. The search never
//! looks inside states or operations, so a new model needs no change to it.

mod cas_register;
mod kv;
mod register;
mod small;

pub use cas_register::CasRegister;
pub use kv::Kv;
pub use register::Register;
pub use small::{SmallText, SmallValue};

use std::fmt::Debug;
use std::hash::Hash;

use history::{Event, Value};

/// How an operation ended, as the model needs to know it. Failed operations never reach a
/// model: they certainly had no effect, so the checker drops them.
#[derive(Debug, Clone, Copy)]
pub enum Completion<'a> {
    /// The operation completed; the event carries its result.
    Ok(&'a Event),
    /// Indeterminate (`info`, or no completion before the history ended): the operation may
    /// take effect at any time after its invocation, or never.
    Unknown,
}

/// A sequential specification the checker can search against.
pub trait Model: Sync {
    /// The object's state. Cloned and hashed by the search; keep it small.
    type State: Clone + Eq + Hash + Debug + Send;
    /// One operation with its argument and, when known, its result.
    type Op: Debug + Send + Sync;

    /// The model's name as the CLI spells it.
    fn name(&self) -> &'static str;

    /// The state before any operation.
    fn init(&self) -> Self::State;

    /// Applies `op` to `state`: the next state, or `None` when the operation's recorded result
    /// is impossible in `state`. For an operation with unknown result, `None` means "this
    /// operation cannot take effect here" (it may still never take effect).
    fn step(&self, state: &Self::State, op: &Self::Op) -> Option<Self::State>;

    /// Translates an invocation and its completion. `Ok(None)` when the operation constrains
    /// nothing and changes nothing (a read whose result is unknown), so the search can skip it.
    fn operation(&self, call: &Event, completion: Completion<'_>) -> Result<Option<Self::Op>, String>;

    /// True when `op` leaves every state it is accepted in unchanged (a read). The search
    /// linearizes such an operation as soon as the model accepts it and never tries it later
    /// instead: moving a read earlier within its interval changes what nothing else sees, so
    /// a configuration that can be extended at all can be extended with the read first.
    /// Default: false (no operation is treated so), which is always correct.
    fn read_only(&self, _op: &Self::Op) -> bool {
        false
    }

    /// The partition (independent object) an operation belongs to. Operations on different
    /// partitions are checked separately (P-compositionality). Default: the event's key.
    fn partition(&self, call: &Event) -> Option<Value> {
        call.key.clone()
    }

    /// A state as reports print it. Default: its `Debug` rendering.
    fn show_state(&self, state: &Self::State) -> String {
        format!("{state:?}")
    }

    /// The function of the invocation `op` was made from. [`Model::operation`] makes each
    /// kind of operation from one function name, so the operation implies it and the checker
    /// keeps no name per operation.
    fn function(&self, op: &Self::Op) -> &'static str;

    /// The invocation's and the completion's values that `op` implies, where it implies them
    /// (a write of `v` was invoked with `v`), borrowed from `op`. An event whose value is the
    /// implied one is not kept for reports: the report asks again. Without this a long history
    /// held each value three times (the operation, and the invocation and completion for
    /// reports).
    fn implied_values<'a>(&self, op: &'a Self::Op) -> (Option<Implied<'a>>, Option<Implied<'a>>) {
        let _ = op;
        (None, None)
    }

    /// The state after running `prefix` (a legal order) from the initial state, as reports
    /// print it. Models whose states are fingerprints override this with an exact replay.
    fn describe_prefix(&self, prefix: &[&Self::Op]) -> String {
        let mut state = self.init();
        for op in prefix {
            match self.step(&state, op) {
                Some(next) => state = next,
                None => return "(the prefix does not replay)".to_owned(),
            }
        }
        self.show_state(&state)
    }

    /// True when `order` is legal from the initial state. The search calls this on the order
    /// it reports as a linearization; models with inexact states check exactly here.
    fn verify(&self, order: &[&Self::Op]) -> bool {
        let mut state = self.init();
        for op in order {
            match self.step(&state, op) {
                Some(next) => state = next,
                None => return false,
            }
        }
        true
    }
}

/// Picks a model from the functions a history uses: `get`/`put`/`append` mean `kv`, `cas`
/// means `cas-register`, anything else `register`.
pub fn infer(events: &[Event]) -> &'static str {
    infer_from_functions(events.iter().map(|e| e.f.as_str()))
}

/// [`infer`] from the functions a history uses (each may come any number of times).
pub fn infer_from_functions<'a>(functions: impl IntoIterator<Item = &'a str>) -> &'static str {
    let (mut kv, mut cas) = (false, false);
    for f in functions {
        kv |= matches!(f, "get" | "put" | "append");
        cas |= f == "cas";
    }
    if kv {
        "kv"
    } else if cas {
        "cas-register"
    } else {
        "register"
    }
}

/// The names [`crate::check_named`] and the CLI accept.
pub const MODEL_NAMES: [&str; 3] = ["register", "cas-register", "kv"];

/// `what` of an operation must be a value of some shape; says so when it is not.
pub(crate) fn shape_error(model: &str, f: &str, expected: &str, found: &Value) -> String {
    format!("{model} model: `{f}` expects {expected}, found {} `{found}`", found.shape())
}

/// The error for a function the model does not know.
pub(crate) fn unknown_function(model: &str, f: &str, known: &str) -> String {
    format!("{model} model: unknown function `{f}` (expected {known})")
}

/// A value an operation implies ([`Model::implied_values`]), borrowed from the operation: the
/// preparer compares it with each event's value for every operation of a long history, so it
/// costs no allocation; only a report makes a [`Value`] of it.
#[derive(Debug, Clone, Copy)]
pub enum Implied<'a> {
    /// `nil`.
    Nil,
    /// A value the operation holds.
    Small(&'a SmallValue),
    /// A string the operation holds.
    Text(&'a str),
    /// A pair of values the operation holds (`[expected new]`).
    Pair(&'a SmallValue, &'a SmallValue),
}

impl Implied<'_> {
    /// Whether `value` is this value.
    pub fn is(&self, value: &Value) -> bool {
        fn small_is(small: &SmallValue, value: &Value) -> bool {
            match (small, value) {
                (SmallValue::Nil, Value::Nil) => true,
                (SmallValue::Int(a), Value::Int(b)) => a == b,
                (SmallValue::Boxed(boxed), value) => **boxed == *value,
                _ => false,
            }
        }
        match (self, value) {
            (Implied::Nil, Value::Nil) => true,
            (Implied::Small(small), value) => small_is(small, value),
            (Implied::Text(text), Value::Str(s)) => s == text,
            (Implied::Pair(a, b), Value::List(items)) => {
                matches!(items.as_slice(), [x, y] if small_is(a, x) && small_is(b, y))
            }
            _ => false,
        }
    }

    /// The value.
    pub fn to_value(&self) -> Value {
        match self {
            Implied::Nil => Value::Nil,
            Implied::Small(small) => small.to_value(),
            Implied::Text(text) => Value::Str((*text).to_owned()),
            Implied::Pair(a, b) => Value::List(vec![a.to_value(), b.to_value()]),
        }
    }
}

#[cfg(test)]
mod implied_tests {
    use super::*;

    #[test]
    fn an_implied_value_is_its_own_value_and_no_other() {
        let (one, text) = (SmallValue::Int(1), SmallValue::new(Value::Str("a".into())));
        let cases =
            [Implied::Nil, Implied::Small(&one), Implied::Small(&text), Implied::Text("a"), Implied::Pair(&one, &text)];
        let values: Vec<Value> = cases.iter().map(Implied::to_value).collect();
        assert_eq!(
            values,
            vec![
                Value::Nil,
                Value::Int(1),
                Value::Str("a".into()),
                Value::Str("a".into()),
                Value::List(vec![Value::Int(1), Value::Str("a".into())])
            ]
        );
        let others = [Value::Int(2), Value::Str("b".into()), Value::List(vec![Value::Int(1)]), Value::Bool(true)];
        for implied in cases {
            assert!(implied.is(&implied.to_value()), "{implied:?}");
            for other in &others {
                assert!(!implied.is(other), "{implied:?} is not {other:?}");
            }
        }
        assert!(!Implied::Nil.is(&Value::Int(0)) && !Implied::Small(&one).is(&Value::Nil));
    }
}
