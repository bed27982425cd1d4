//! [`Register`] and [`Kv`]: reads, writes and compare-and-sets of one register, or of many
//! registers `k0`, `k1`, ... (checked, by the caller, as compare-and-set registers,
//! partitioned by key).
//!
//! A `cas` compares against the last value its client observed of that key (a read result or
//! its own successful write), which makes successful compares common instead of hopeless.
//!
//! Draw order (part of every recorded history, so fixed): per operation, first the key (kv
//! only), then the operation from the mix.

use std::fmt;

use history::Value;

use super::{key_name, Generate, KeyDistribution, OpMix, UniqueValues, Workload, WorkloadError};
use crate::rng::{Rng, Zipf};
use crate::system::{Operation, Reply};

/// One register without a key: by default 50% `read`, 25% `write`, 25% `cas`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Register {
    /// The shares of reads, writes and compare-and-sets.
    pub mix: OpMix,
}

/// Many registers: the operations of [`Register`], each on a key `k0`, `k1`, ... drawn from
/// `distribution`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Kv {
    /// How many keys.
    pub keys: usize,
    /// How keys are drawn.
    pub distribution: KeyDistribution,
    /// The shares of reads, writes and compare-and-sets.
    pub mix: OpMix,
}

impl Kv {
    /// `keys` keys drawn from `distribution`, with the default mix.
    pub fn new(keys: usize, distribution: KeyDistribution) -> Self {
        Self { keys, distribution, mix: OpMix::default() }
    }

    fn sampler(&self) -> Result<Zipf, WorkloadError> {
        let s = match self.distribution {
            KeyDistribution::Uniform => 0.0,
            KeyDistribution::Zipf(s) => s,
        };
        Ok(Zipf::new(self.keys, s)?)
    }
}

impl Workload for Register {
    fn validate(&self) -> Result<(), WorkloadError> {
        self.mix.validate()?;
        Ok(())
    }

    /// # Panics
    /// When the mix is invalid (see [`Workload::validate`]; the harness validates first).
    fn generator(&self, client: usize, rng: Rng) -> Box<dyn Generate> {
        Box::new(Registers::new(None, self.mix, client, rng))
    }

    fn final_reads(&self) -> Vec<Operation> {
        vec![Operation::Read { key: None }]
    }
}

impl Workload for Kv {
    fn validate(&self) -> Result<(), WorkloadError> {
        self.sampler()?;
        self.mix.validate()?;
        Ok(())
    }

    /// # Panics
    /// When the key space or the mix is invalid (see [`Workload::validate`]; the harness
    /// validates first).
    fn generator(&self, client: usize, rng: Rng) -> Box<dyn Generate> {
        let keys = match self.sampler() {
            Ok(keys) => keys,
            Err(e) => panic!("invalid workload {self}: {e}"),
        };
        Box::new(Registers::new(Some(keys), self.mix, client, rng))
    }

    /// One read of every key.
    fn final_reads(&self) -> Vec<Operation> {
        (0..self.keys).map(|k| Operation::Read { key: Some(key_name(k)) }).collect()
    }
}

impl fmt::Display for Register {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("register")
    }
}

impl fmt::Display for Kv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.distribution {
            KeyDistribution::Uniform => write!(f, "kv({} keys, uniform)", self.keys),
            KeyDistribution::Zipf(s) => write!(f, "kv({} keys, zipf {s})", self.keys),
        }
    }
}

/// The index of a key made by [`key_name`] (`Some(0)` for no key).
fn key_index(key: Option<&Value>) -> Option<usize> {
    match key {
        None => Some(0),
        Some(key) => key.as_str()?.strip_prefix('k')?.parse().ok(),
    }
}

/// The operation stream of one client of a [`Register`] or [`Kv`] workload.
#[derive(Debug, Clone)]
struct Registers {
    rng: Rng,
    /// The key sampler (`None`: the one key-less register).
    keys: Option<Zipf>,
    values: UniqueValues,
    /// The last value this client observed, per key index (index 0 for the key-less register);
    /// nil until something is observed. Indexed, not a map: this is on every operation's path.
    observed: Vec<Value>,
    /// The operation weights and their total.
    mix: OpMix,
    mix_total: u32,
}

impl Registers {
    fn new(keys: Option<Zipf>, mix: OpMix, client: usize, rng: Rng) -> Self {
        let mix_total = match mix.validate() {
            Ok(total) => total,
            Err(e) => panic!("invalid operation mix {mix}: {e}"),
        };
        let slots = keys.as_ref().map_or(1, Zipf::len);
        Self { rng, keys, values: UniqueValues::new(client), observed: vec![Value::Nil; slots], mix, mix_total }
    }
}

impl Generate for Registers {
    fn next(&mut self) -> Operation {
        let index = self.keys.as_ref().map(|zipf| zipf.sample(&mut self.rng));
        let key = index.map(key_name);
        let draw = self.rng.below(u64::from(self.mix_total));
        let (read, write) = (u64::from(self.mix.read), u64::from(self.mix.write));
        match draw {
            d if d < read => Operation::Read { key },
            d if d < read + write => Operation::Write { key, value: self.values.next_value() },
            _ => {
                let expected = self.observed.get(index.unwrap_or(0)).cloned().unwrap_or_default();
                Operation::Cas { key, expected, new: self.values.next_value() }
            }
        }
    }

    /// Remembers what a definite reply showed, so later compares expect what this client
    /// last saw of that key.
    fn observe(&mut self, operation: &Operation, reply: &Reply) {
        let Reply::Ok(result) = reply else { return };
        let (key, seen) = match operation {
            Operation::Read { key } => (key, result),
            Operation::Write { key, value } => (key, value),
            Operation::Cas { key, new, .. } => (key, new),
            _ => return,
        };
        if let Some(slot) = key_index(key.as_ref()).and_then(|i| self.observed.get_mut(i)) {
            *slot = seen.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::workload::VALUE_SPACE;

    fn generator(workload: &dyn Workload, client: usize) -> Box<dyn Generate> {
        workload.generator(client, Rng::stream(1, client as u64))
    }

    fn counts(g: &mut dyn Generate, n: usize) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for _ in 0..n {
            let op = g.next();
            *counts.entry(op.f()).or_insert(0) += 1;
        }
        counts
    }

    fn next_cas(g: &mut dyn Generate) -> Operation {
        loop {
            let op = g.next();
            if let Operation::Cas { .. } = op {
                return op;
            }
        }
    }

    fn expected(op: &Operation) -> Value {
        match op {
            Operation::Cas { expected, .. } => expected.clone(),
            other => panic!("not a cas: {other:?}"),
        }
    }

    #[test]
    fn register_mix_is_half_reads() {
        let mut g = generator(&Register::default(), 0);
        for _ in 0..100 {
            assert_eq!(g.next().key(), None);
        }
        let counts = counts(g.as_mut(), 4_000);
        assert!((1_800..2_200).contains(&counts["read"]), "{counts:?}");
        assert!((850..1_150).contains(&counts["write"]), "{counts:?}");
        assert!((850..1_150).contains(&counts["cas"]), "{counts:?}");
    }

    #[test]
    fn the_mix_sets_the_shares() {
        let mut g = generator(&Register { mix: OpMix { read: 1, write: 3, cas: 0 } }, 0);
        let counts = counts(g.as_mut(), 4_000);
        assert!((850..1_150).contains(&counts["read"]), "{counts:?}");
        assert!((2_850..3_150).contains(&counts["write"]), "{counts:?}");
        assert!(!counts.contains_key("cas"), "{counts:?}");
    }

    #[test]
    fn values_are_unique_per_client() {
        let mut g = generator(&Register::default(), 3);
        let mut written = Vec::new();
        for _ in 0..200 {
            match g.next() {
                Operation::Write { value: Value::Int(v), .. } => written.push(v),
                Operation::Cas { new, .. } => written.push(new.as_int().expect("int")),
                Operation::Read { key: None } => {}
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
        let mut g = generator(&Register::default(), 1);
        assert_eq!(expected(&next_cas(g.as_mut())), Value::Nil);

        g.observe(&Operation::Read { key: None }, &Reply::Ok(Value::Int(77)));
        assert_eq!(expected(&next_cas(g.as_mut())), Value::Int(77));

        let write = Operation::Write { key: None, value: Value::Int(5) };
        g.observe(&write, &Reply::Fail("refused".into()));
        assert_eq!(expected(&next_cas(g.as_mut())), Value::Int(77), "a failure teaches nothing");
        g.observe(&write, &Reply::Ok(Value::Nil));
        let cas = next_cas(g.as_mut());
        assert_eq!(expected(&cas), Value::Int(5));
        g.observe(&cas, &Reply::Ok(Value::Nil));
        let Operation::Cas { new, .. } = &cas else { unreachable!("a cas") };
        assert_eq!(expected(&next_cas(g.as_mut())), *new);
    }

    #[test]
    fn kv_observations_are_per_key() {
        let mut g = generator(&Kv::new(3, KeyDistribution::Uniform), 0);
        g.observe(&Operation::Read { key: Some(key_name(2)) }, &Reply::Ok(Value::Int(9)));
        let mut seen_k2 = false;
        for _ in 0..500 {
            let op = g.next();
            let key = op.key().cloned().expect("kv ops have keys");
            if let Operation::Cas { expected, .. } = op {
                if key == key_name(2) {
                    seen_k2 = true;
                    assert_eq!(expected, Value::Int(9));
                } else {
                    assert_eq!(expected, Value::Nil);
                }
            }
        }
        assert!(seen_k2);
    }

    #[test]
    fn final_reads_read_every_key() {
        assert_eq!(Register::default().final_reads(), [Operation::Read { key: None }]);
        let reads = Kv::new(3, KeyDistribution::Uniform).final_reads();
        let keys: Vec<_> = reads.iter().map(|op| op.key().cloned()).collect();
        assert_eq!(keys, [Some(key_name(0)), Some(key_name(1)), Some(key_name(2))]);
    }

    #[test]
    fn invalid_workloads_are_reported() {
        assert!(matches!(Kv::new(0, KeyDistribution::Uniform).validate(), Err(WorkloadError::Keys(_))));
        assert!(Kv::new(4, KeyDistribution::Zipf(-0.5)).validate().is_err());
        assert!(Kv::new(4, KeyDistribution::Zipf(0.99)).validate().is_ok());
        assert!(Register::default().validate().is_ok());
        let empty = OpMix { read: 0, write: 0, cas: 0 };
        assert!(matches!(Register { mix: empty }.validate(), Err(WorkloadError::Mix(_))));
        let kv = Kv { mix: empty, ..Kv::new(2, KeyDistribution::Uniform) };
        assert!(matches!(kv.validate(), Err(WorkloadError::Mix(_))));
    }

    #[test]
    fn names_are_as_before() {
        assert_eq!(Register::default().to_string(), "register");
        assert_eq!(Kv::new(4, KeyDistribution::Uniform).to_string(), "kv(4 keys, uniform)");
        assert_eq!(Kv::new(4, KeyDistribution::Zipf(1.0)).to_string(), "kv(4 keys, zipf 1)");
    }
}
