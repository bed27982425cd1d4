//! A key-value store of strings with `get`, `put` and `append`, checked per key.
//!
//! Appends make every interleaving a different string, so a search meets one new state per
//! step: copying, hashing and storing kilobyte strings would dominate the check. The state is
//! therefore a *fingerprint* of the string: its length and two polynomial hashes modulo the
//! Mersenne prime 2^61 - 1 with different bases, which compose under append in O(1). Two
//! different strings of at most L bytes share a fingerprint with probability below (L/2^61)^2
//! (about 10^-30 for kilobyte strings), so fingerprints are compared as the strings. Reports
//! never show fingerprints: [`Model::describe_prefix`] replays the real strings, and the search
//! verifies a linearizable order by an exact replay before it reports it.

use history::{Event, Value};

use super::{shape_error, unknown_function, Completion, Implied, Model, SmallText};

/// Porcupine's key-value model: each key holds a string, initially `""`; `get` returns it (a
/// `nil` result counts as `""`), `put` replaces it, `append` extends it. Keys are independent,
/// so the model partitions by the event's `key`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Kv;

const MODULUS: u64 = (1 << 61) - 1;
const BASES: [u64; 2] = [0x1f3a_5c7e_9b2d_4f61 % MODULUS, 0x0d2b_8e4f_7a1c_3965 % MODULUS];

fn mul_mod(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    let folded = (product & u128::from(MODULUS)) + (product >> 61);
    let folded = folded as u64;
    if folded >= MODULUS {
        folded - MODULUS
    } else {
        folded
    }
}

fn add_mod(a: u64, b: u64) -> u64 {
    let sum = a + b;
    if sum >= MODULUS {
        sum - MODULUS
    } else {
        sum
    }
}

/// The fingerprint of a string: what the search keeps as the state of one key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    len: u64,
    hashes: [u64; 2],
}

/// A string with the fingerprint of its text and the factor appending it multiplies by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// The string itself, for reports and exact replays.
    pub text: SmallText,
    /// The fingerprint's hashes (its length is the text's: [`Text::fingerprint`]).
    hashes: [u64; 2],
    /// BASE^len for each base: appending shifts the prefix by this factor.
    shift: [u64; 2],
}

impl Text {
    /// The fingerprint of the text.
    fn fingerprint(&self) -> Fingerprint {
        Fingerprint { len: self.text.len() as u64, hashes: self.hashes }
    }

    fn new(text: &str) -> Self {
        let mut hashes = [0u64; 2];
        let mut shift = [1u64; 2];
        for byte in text.bytes() {
            for i in 0..2 {
                hashes[i] = add_mod(mul_mod(hashes[i], BASES[i]), u64::from(byte) + 1);
                shift[i] = mul_mod(shift[i], BASES[i]);
            }
        }
        Self { text: SmallText::new(text), hashes, shift }
    }
}

/// An operation on one key of a [`Kv`] store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KvOp {
    /// A get that returned this string.
    Get(Text),
    /// A put of this string.
    Put(Text),
    /// An append of this string.
    Append(Text),
}

fn text_of(f: &str, value: &Value) -> Result<Text, String> {
    match value {
        Value::Str(s) => Ok(Text::new(s)),
        Value::Nil => Ok(Text::new("")),
        other => Err(shape_error("kv", f, "a string", other)),
    }
}

impl Model for Kv {
    type State = Fingerprint;
    type Op = KvOp;

    fn name(&self) -> &'static str {
        "kv"
    }

    fn init(&self) -> Fingerprint {
        Fingerprint::default()
    }

    fn read_only(&self, op: &KvOp) -> bool {
        matches!(op, KvOp::Get(_))
    }

    fn function(&self, op: &KvOp) -> &'static str {
        match op {
            KvOp::Get(_) => "get",
            KvOp::Put(_) => "put",
            KvOp::Append(_) => "append",
        }
    }

    /// A get is invoked with nil and completes with the string it read; a put or an append is
    /// invoked with its string and completes with it. (An empty string stands for nil too:
    /// only the string is implied.)
    fn implied_values<'a>(&self, op: &'a KvOp) -> (Option<Implied<'a>>, Option<Implied<'a>>) {
        match op {
            KvOp::Get(seen) => (Some(Implied::Nil), Some(Implied::Text(seen.text.as_str()))),
            KvOp::Put(text) | KvOp::Append(text) => {
                let text = Implied::Text(text.text.as_str());
                (Some(text), Some(text))
            }
        }
    }

    fn step(&self, state: &Fingerprint, op: &KvOp) -> Option<Fingerprint> {
        match op {
            KvOp::Get(seen) => (seen.fingerprint() == *state).then_some(*state),
            KvOp::Put(value) => Some(value.fingerprint()),
            KvOp::Append(suffix) => Some(Fingerprint {
                len: state.len + suffix.text.len() as u64,
                hashes: [0, 1].map(|i| add_mod(mul_mod(state.hashes[i], suffix.shift[i]), suffix.hashes[i])),
            }),
        }
    }

    fn operation(&self, call: &Event, completion: Completion<'_>) -> Result<Option<KvOp>, String> {
        match call.f.as_str() {
            "get" => match completion {
                Completion::Ok(done) => text_of("get", &done.value).map(|s| Some(KvOp::Get(s))),
                Completion::Unknown => Ok(None),
            },
            "put" => text_of("put", &call.value).map(|s| Some(KvOp::Put(s))),
            "append" => text_of("append", &call.value).map(|s| Some(KvOp::Append(s))),
            other => Err(unknown_function(self.name(), other, "get, put or append")),
        }
    }

    fn describe_prefix(&self, prefix: &[&KvOp]) -> String {
        format!("{:?}", replay(prefix).unwrap_or_default())
    }

    fn verify(&self, order: &[&KvOp]) -> bool {
        replay(order).is_some()
    }
}

/// Runs `ops` on real strings; `None` if a get sees something else.
fn replay(ops: &[&KvOp]) -> Option<String> {
    let mut value = String::new();
    for op in ops {
        match op {
            KvOp::Get(seen) if seen.text.as_str() != value => return None,
            KvOp::Get(_) => {}
            KvOp::Put(text) => {
                value.clear();
                value.push_str(text.text.as_str());
            }
            KvOp::Append(text) => value.push_str(text.text.as_str()),
        }
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Text {
        Text::new(s)
    }

    #[test]
    fn append_composes_like_concatenation() {
        let m = Kv;
        let s = m.step(&m.init(), &KvOp::Append(text("x 0 0 y"))).expect("append applies");
        let s = m.step(&s, &KvOp::Append(text("x 1 0 y"))).expect("append applies");
        assert_eq!(s, text("x 0 0 yx 1 0 y").fingerprint());
        assert!(m.step(&s, &KvOp::Get(text("x 0 0 y"))).is_none());
        assert!(m.step(&s, &KvOp::Get(text("x 0 0 yx 1 0 y"))).is_some());
        // Same characters, different split: the same state.
        let t = m.step(&m.init(), &KvOp::Append(text("x 0 0 yx 1"))).expect("append applies");
        let t = m.step(&t, &KvOp::Append(text(" 0 y"))).expect("append applies");
        assert_eq!(s, t);
        assert_eq!(m.step(&s, &KvOp::Put(text("z"))), Some(text("z").fingerprint()));
    }

    #[test]
    fn order_matters_and_empty_get_matches_init() {
        let m = Kv;
        let ab = m.step(&m.step(&m.init(), &KvOp::Append(text("a"))).expect("ok"), &KvOp::Append(text("b")));
        let ba = m.step(&m.step(&m.init(), &KvOp::Append(text("b"))).expect("ok"), &KvOp::Append(text("a")));
        assert_ne!(ab, ba);
        assert!(m.step(&m.init(), &KvOp::Get(text(""))).is_some());
    }

    #[test]
    fn replay_is_exact() {
        let ops = [KvOp::Append(text("ab")), KvOp::Get(text("ab")), KvOp::Append(text("c"))];
        let refs: Vec<&KvOp> = ops.iter().collect();
        assert_eq!(Kv.describe_prefix(&refs), "\"abc\"");
        assert!(Kv.verify(&refs));
        let wrong = [KvOp::Append(text("ab")), KvOp::Get(text("a"))];
        assert!(!Kv.verify(&wrong.iter().collect::<Vec<_>>()));
    }
}
