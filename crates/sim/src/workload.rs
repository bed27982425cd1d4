//! What the client processes ask for: the [`Workload`] kinds and the per-client [`Generator`]
//! that turns one into a stream of [`Invocation`]s.
//!
//! Values written are unique in the whole run (`client * 1_000_000 + counter`), so a read
//! names the write it saw and the checker's search stays small. A `cas` compares against the
//! last value its client observed (a read result or its own successful write), which makes
//! successful compares common instead of hopeless.

use std::fmt;

use history::Value;
use serde::{Deserialize, Serialize};

use crate::rng::{Rng, Zipf, ZipfError};
use crate::system::{Invocation, Reply};

/// Values of client `c` are `c * VALUE_SPACE + counter`.
pub const VALUE_SPACE: i64 = 1_000_000;

/// How keys of a [`Workload::Kv`] are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum KeyDistribution {
    /// Every key equally likely.
    Uniform,
    /// Key `k` with weight `1 / (k + 1)^s` (the exponent `s >= 0`): hot keys first.
    Zipf(f64),
}

/// The operations client processes invoke.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum Workload {
    /// One register without a key: 50% `read`, 25% `write`, 25% `cas` (checked with the
    /// `cas-register` model).
    Register,
    /// Many registers: the same operations as [`Workload::Register`], each on a key `k0`,
    /// `k1`, ... (checked with `cas-register`, partitioned by key).
    Kv {
        /// How many keys.
        keys: usize,
        /// How keys are drawn.
        distribution: KeyDistribution,
    },
    /// A grow-only set: every operation `add`s a unique element; after the run one final
    /// `read` returns the elements.
    Set,
}

impl Workload {
    /// Checks the parameters (a key space that exists, a sensible Zipf exponent).
    pub fn validate(&self) -> Result<(), ZipfError> {
        self.key_sampler().map(|_| ())
    }

    /// What a key-less `read` means in this workload.
    pub fn reads(&self) -> Reads {
        if *self == Workload::Set {
            Reads::Set
        } else {
            Reads::Register
        }
    }

    /// The checker model for histories of this workload, when there is one (a set's history
    /// is judged by comparing the final read with the adds, not by a model).
    pub fn model_name(&self) -> Option<&'static str> {
        match self {
            Workload::Register | Workload::Kv { .. } => Some("cas-register"),
            Workload::Set => None,
        }
    }

    fn key_sampler(&self) -> Result<Option<Zipf>, ZipfError> {
        match self {
            Workload::Kv { keys, distribution } => {
                let s = match distribution {
                    KeyDistribution::Uniform => 0.0,
                    KeyDistribution::Zipf(s) => *s,
                };
                Zipf::new(*keys, s).map(Some)
            }
            Workload::Register | Workload::Set => Ok(None),
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Workload::Register => f.write_str("register"),
            Workload::Kv { keys, distribution: KeyDistribution::Uniform } => write!(f, "kv({keys} keys, uniform)"),
            Workload::Kv { keys, distribution: KeyDistribution::Zipf(s) } => write!(f, "kv({keys} keys, zipf {s})"),
            Workload::Set => f.write_str("set"),
        }
    }
}

/// The shares of `read`, `write` and `cas` among the operations of register and kv workloads,
/// as integer weights (the default, Jepsen's: 2 reads, 1 write, 1 cas in 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpMix {
    /// Weight of reads.
    pub read: u32,
    /// Weight of writes.
    pub write: u32,
    /// Weight of compare-and-sets.
    pub cas: u32,
}

impl Default for OpMix {
    fn default() -> Self {
        Self { read: 2, write: 1, cas: 1 }
    }
}

/// An operation mix that cannot be drawn from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MixError {
    /// Every weight is zero.
    #[error("every weight is zero: nothing to invoke")]
    Empty,
    /// The weights add up past `u32::MAX`.
    #[error("the weights add up to more than {}", u32::MAX)]
    TooLarge,
}

impl OpMix {
    /// Checks that some operation has weight and the total fits.
    pub fn validate(&self) -> Result<u32, MixError> {
        let total =
            self.read.checked_add(self.write).and_then(|t| t.checked_add(self.cas)).ok_or(MixError::TooLarge)?;
        if total == 0 {
            return Err(MixError::Empty);
        }
        Ok(total)
    }
}

impl fmt::Display for OpMix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "read {} : write {} : cas {}", self.read, self.write, self.cas)
    }
}

/// The name of key number `index` of a [`Workload::Kv`].
pub fn key_name(index: usize) -> Value {
    Value::Str(format!("k{index}"))
}

/// What a key-less `read` means to a system. The set workload ends with a `read` that has no
/// key, exactly like a register read, so a system learns from the workload which one it serves
/// ([`Workload::reads`], handed to [`System::client`](crate::System::client)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Reads {
    /// A key-less `read` reads the register.
    #[default]
    Register,
    /// A key-less `read` reads the whole set (the set workload's final read).
    Set,
}

/// The index of a key made by [`key_name`] (`Some(0)` for no key).
fn key_index(key: Option<&Value>) -> Option<usize> {
    match key {
        None => Some(0),
        Some(key) => key.as_str()?.strip_prefix('k')?.parse().ok(),
    }
}

/// The invocation stream of one logical client.
#[derive(Debug, Clone)]
pub struct Generator {
    workload: Workload,
    client: i64,
    rng: Rng,
    keys: Option<Zipf>,
    /// Values handed out so far (the low part of the next unique value).
    counter: i64,
    /// The last value this client observed, per key index (index 0 for key-less workloads);
    /// nil until something is observed. Indexed, not a map: this is on every operation's path.
    observed: Vec<Value>,
    /// The operation weights and their total.
    mix: OpMix,
    mix_total: u32,
}

impl Generator {
    /// The generator of logical client `client`, drawing from `rng`.
    ///
    /// # Panics
    /// When the workload is invalid (see [`Workload::validate`]; the harness validates first).
    pub fn new(workload: Workload, client: usize, rng: Rng) -> Self {
        let keys = match workload.key_sampler() {
            Ok(keys) => keys,
            Err(e) => panic!("invalid workload {workload}: {e}"),
        };
        let client = i64::try_from(client).unwrap_or(i64::MAX / VALUE_SPACE).min(i64::MAX / VALUE_SPACE - 1);
        let slots = keys.as_ref().map_or(1, Zipf::len);
        let mix = OpMix::default();
        Self { workload, client, rng, keys, counter: 0, observed: vec![Value::Nil; slots], mix, mix_total: 4 }
    }

    /// This generator drawing operations with `mix` instead of the default.
    ///
    /// # Panics
    /// When the mix is invalid (see [`OpMix::validate`]; the harness validates first).
    pub fn with_mix(mut self, mix: OpMix) -> Self {
        match mix.validate() {
            Ok(total) => self.mix_total = total,
            Err(e) => panic!("invalid operation mix {mix}: {e}"),
        }
        self.mix = mix;
        self
    }

    /// The next invocation. (Not an `Iterator`: the stream never ends, and `observe` must be
    /// able to borrow the generator between calls.)
    ///
    /// # Panics
    /// After [`VALUE_SPACE`] - 1 values: they would no longer be unique.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Invocation {
        let index = self.keys.as_ref().map(|zipf| zipf.sample(&mut self.rng));
        let key = index.map(key_name);
        if self.workload == Workload::Set {
            return Invocation { f: "add".to_owned(), key: None, value: self.unique() };
        }
        let draw = self.rng.below(u64::from(self.mix_total));
        let (f, value) = match draw {
            d if d < u64::from(self.mix.read) => ("read", Value::Nil),
            d if d < u64::from(self.mix.read) + u64::from(self.mix.write) => ("write", self.unique()),
            _ => {
                let expected = self.observed.get(index.unwrap_or(0)).cloned().unwrap_or_default();
                ("cas", Value::List(vec![expected, self.unique()]))
            }
        };
        Invocation { f: f.to_owned(), key, value }
    }

    /// Learns from a definite reply to `invocation` (an earlier result of [`Generator::next`]),
    /// so later compares expect what this client last saw.
    pub fn observe(&mut self, invocation: &Invocation, reply: &Reply) {
        let Reply::Ok(result) = reply else { return };
        let seen = match (invocation.f.as_str(), &invocation.value) {
            ("read", _) => result.clone(),
            ("write", written) => written.clone(),
            ("cas", Value::List(pair)) if pair.len() == 2 => pair[1].clone(),
            _ => return,
        };
        if let Some(slot) = key_index(invocation.key.as_ref()).and_then(|i| self.observed.get_mut(i)) {
            *slot = seen;
        }
    }

    /// The next unique value of this client.
    fn unique(&mut self) -> Value {
        self.counter += 1;
        assert!(self.counter < VALUE_SPACE, "client {} ran out of unique values", self.client);
        Value::Int(self.client * VALUE_SPACE + self.counter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generator(workload: Workload, client: usize) -> Generator {
        Generator::new(workload, client, Rng::stream(1, client as u64))
    }

    #[test]
    fn register_mix_is_half_reads() {
        let mut g = generator(Workload::Register, 0);
        let mut counts = std::collections::BTreeMap::new();
        for _ in 0..4_000 {
            let inv = g.next();
            assert_eq!(inv.key, None);
            *counts.entry(inv.f).or_insert(0) += 1;
        }
        assert!((1_800..2_200).contains(&counts["read"]), "{counts:?}");
        assert!((850..1_150).contains(&counts["write"]), "{counts:?}");
        assert!((850..1_150).contains(&counts["cas"]), "{counts:?}");
    }

    #[test]
    fn the_mix_sets_the_shares() {
        let mix = OpMix { read: 1, write: 3, cas: 0 };
        let mut g = generator(Workload::Register, 0).with_mix(mix);
        let mut counts = std::collections::BTreeMap::new();
        for _ in 0..4_000 {
            *counts.entry(g.next().f).or_insert(0) += 1;
        }
        assert!((850..1_150).contains(&counts["read"]), "{counts:?}");
        assert!((2_850..3_150).contains(&counts["write"]), "{counts:?}");
        assert!(!counts.contains_key("cas"), "{counts:?}");
        assert_eq!(OpMix { read: 0, write: 0, cas: 0 }.validate(), Err(MixError::Empty));
        assert_eq!(OpMix { read: u32::MAX, write: 1, cas: 0 }.validate(), Err(MixError::TooLarge));
    }

    #[test]
    fn values_are_unique_per_client() {
        let mut g = generator(Workload::Register, 3);
        let mut written = Vec::new();
        for _ in 0..200 {
            let inv = g.next();
            match (inv.f.as_str(), inv.value) {
                ("write", Value::Int(v)) => written.push(v),
                ("cas", Value::List(pair)) => written.push(pair[1].as_int().expect("int")),
                ("read", Value::Nil) => {}
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(written.iter().all(|v| v / VALUE_SPACE == 3));
        let mut sorted = written.clone();
        sorted.dedup();
        assert_eq!(sorted, written, "strictly increasing, so unique");
    }

    #[test]
    fn cas_expects_the_last_observation() {
        let mut g = generator(Workload::Register, 1);
        let next_cas = |g: &mut Generator| loop {
            let inv = g.next();
            if inv.f == "cas" {
                return inv;
            }
        };
        let first = next_cas(&mut g);
        assert_eq!(first.value.as_list().expect("pair")[0], Value::Nil);

        let read = Invocation { f: "read".into(), key: None, value: Value::Nil };
        g.observe(&read, &Reply::Ok(Value::Int(77)));
        assert_eq!(next_cas(&mut g).value.as_list().expect("pair")[0], Value::Int(77));

        let write = Invocation { f: "write".into(), key: None, value: Value::Int(5) };
        g.observe(&write, &Reply::Fail("refused".into()));
        assert_eq!(next_cas(&mut g).value.as_list().expect("pair")[0], Value::Int(77), "a failure teaches nothing");
        g.observe(&write, &Reply::Ok(Value::Nil));
        let cas = next_cas(&mut g);
        assert_eq!(cas.value.as_list().expect("pair")[0], Value::Int(5));
        g.observe(&cas, &Reply::Ok(Value::Nil));
        let new = cas.value.as_list().expect("pair")[1].clone();
        assert_eq!(next_cas(&mut g).value.as_list().expect("pair")[0], new);
    }

    #[test]
    fn kv_observations_are_per_key() {
        let workload = Workload::Kv { keys: 3, distribution: KeyDistribution::Uniform };
        let mut g = generator(workload, 0);
        let read = Invocation { f: "read".into(), key: Some(key_name(2)), value: Value::Nil };
        g.observe(&read, &Reply::Ok(Value::Int(9)));
        let mut seen_k2 = false;
        for _ in 0..500 {
            let inv = g.next();
            let key = inv.key.clone().expect("kv ops have keys");
            if inv.f == "cas" {
                let expected = &inv.value.as_list().expect("pair")[0];
                if key == key_name(2) {
                    seen_k2 = true;
                    assert_eq!(*expected, Value::Int(9));
                } else {
                    assert_eq!(*expected, Value::Nil);
                }
            }
        }
        assert!(seen_k2);
    }

    #[test]
    fn set_adds_unique_elements() {
        let mut g = generator(Workload::Set, 2);
        let a = g.next();
        let b = g.next();
        assert_eq!((a.f.as_str(), b.f.as_str()), ("add", "add"));
        assert_ne!(a.value, b.value);
        assert_eq!(a.value, Value::Int(2 * VALUE_SPACE + 1));
    }

    #[test]
    fn invalid_workloads_are_reported() {
        assert!(Workload::Kv { keys: 0, distribution: KeyDistribution::Uniform }.validate().is_err());
        assert!(Workload::Kv { keys: 4, distribution: KeyDistribution::Zipf(-0.5) }.validate().is_err());
        assert!(Workload::Kv { keys: 4, distribution: KeyDistribution::Zipf(0.99) }.validate().is_ok());
        assert!(Workload::Register.validate().is_ok());
    }
}
