//! [`ListAppend`]: Elle's list-append workload. Each operation is a transaction
//! ([`Operation::Txn`]) of 1 to `max_ops` micro-operations, each an `append` of a unique value
//! to a key's list or a read (`r`) of a key's list, half and half, on keys drawn uniformly or
//! by Zipf from a pool of `keys` active keys.
//!
//! Keys rotate, as Elle's generator retires a key after a bounded number of writes: a client's
//! `n`-th transaction uses the keys of generation `n / generation_txns` (key
//! `generation * keys + slot`). Lists stay short (a read returns at most what one generation
//! appended), so histories stay linear in the number of operations. All clients start
//! together and advance at the rate they complete transactions, so they mostly share a
//! generation; a client that falls behind touches keys the others left, which only lowers
//! contention. The rotation draws nothing: it is a pure function of the client's count.
//!
//! Values are unique in the whole run ([`UniqueValues`]), so unique per key, as Elle requires:
//! a read names exactly the appends it saw, and their order.
//!
//! Draw order (part of every recorded history, so fixed): per transaction, its length; then
//! per micro-operation, the key slot, then append or read.

use std::fmt;

use history::Value;

use super::{Generate, KeyDistribution, UniqueValues, Workload, WorkloadError};
use crate::rng::{Rng, Zipf};
use crate::system::{MicroOp, Operation, Reply};

/// Elle's list-append transactions over a rotating pool of keys.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ListAppend {
    /// Active keys at a time.
    pub keys: usize,
    /// How a micro-operation's key slot is drawn.
    pub distribution: KeyDistribution,
    /// Most micro-operations per transaction (at least 1).
    pub max_ops: usize,
    /// Transactions a client runs on one generation of keys before it moves to fresh ones.
    pub generation_txns: u64,
}

impl Default for ListAppend {
    /// Elle's usual shape: up to 4 micro-operations per transaction on 10 active keys, keys
    /// rotated every 32 transactions of a client.
    fn default() -> Self {
        Self { keys: 10, distribution: KeyDistribution::Uniform, max_ops: 4, generation_txns: 32 }
    }
}

/// Most micro-operations a transaction may hold (a transaction is one request frame).
pub const MAX_MICRO_OPS: usize = 64;

impl ListAppend {
    fn sampler(&self) -> Result<Zipf, WorkloadError> {
        let s = match self.distribution {
            KeyDistribution::Uniform => 0.0,
            KeyDistribution::Zipf(s) => s,
        };
        Ok(Zipf::new(self.keys, s)?)
    }
}

impl Workload for ListAppend {
    fn validate(&self) -> Result<(), WorkloadError> {
        self.sampler()?;
        if !(1..=MAX_MICRO_OPS).contains(&self.max_ops) {
            return Err(WorkloadError::Parameter {
                parameter: "max_ops",
                problem: format!("is {}; it must be from 1 to {MAX_MICRO_OPS}", self.max_ops),
            });
        }
        if self.generation_txns == 0 {
            return Err(WorkloadError::Parameter {
                parameter: "generation_txns",
                problem: "must be at least 1".into(),
            });
        }
        Ok(())
    }

    /// # Panics
    /// When the key space is invalid (see [`Workload::validate`]; the harness validates first).
    fn generator(&self, client: usize, rng: Rng) -> Box<dyn Generate> {
        let slots = match self.sampler() {
            Ok(slots) => slots,
            Err(e) => panic!("invalid workload {self}: {e}"),
        };
        Box::new(Txns { rng, slots, shape: *self, values: UniqueValues::new(client), count: 0 })
    }

    /// None: a transaction history is judged from its own reads (Elle needs no final read).
    fn final_reads(&self) -> Vec<Operation> {
        Vec::new()
    }
}

impl fmt::Display for ListAppend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = match self.distribution {
            KeyDistribution::Uniform => format!("{} keys uniform", self.keys),
            KeyDistribution::Zipf(s) => format!("{} keys zipf {s}", self.keys),
        };
        write!(f, "list-append({keys}, 1-{} ops)", self.max_ops)
    }
}

/// The transaction stream of one client of a [`ListAppend`] workload.
#[derive(Debug, Clone)]
struct Txns {
    rng: Rng,
    slots: Zipf,
    shape: ListAppend,
    values: UniqueValues,
    /// Transactions generated so far.
    count: u64,
}

impl Generate for Txns {
    fn next(&mut self) -> Operation {
        let generation = self.count / self.shape.generation_txns;
        self.count += 1;
        let len = 1 + self.rng.below(self.shape.max_ops as u64) as usize;
        let base = generation.saturating_mul(self.shape.keys as u64);
        let ops = (0..len)
            .map(|_| {
                let slot = self.slots.sample(&mut self.rng) as u64;
                let key = Value::Int(i64::try_from(base.saturating_add(slot)).unwrap_or(i64::MAX));
                if self.rng.below(2) == 0 {
                    MicroOp::Append { key, value: self.values.next_value() }
                } else {
                    MicroOp::Read { key }
                }
            })
            .collect();
        Operation::Txn { ops }
    }

    fn observe(&mut self, _operation: &Operation, _reply: &Reply) {}
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn txn(op: Operation) -> Vec<MicroOp> {
        match op {
            Operation::Txn { ops } => ops,
            other => panic!("not a transaction: {other:?}"),
        }
    }

    #[test]
    fn transactions_hold_one_to_max_ops_of_both_kinds_with_unique_values() {
        let workload = ListAppend::default();
        let mut g = workload.generator(3, Rng::stream(1, 3));
        let (mut lengths, mut kinds, mut values) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
        for _ in 0..500 {
            let ops = txn(g.next());
            lengths.insert(ops.len());
            for op in ops {
                kinds.insert(op.f());
                if let MicroOp::Append { value, .. } = op {
                    assert!(values.insert(value.clone()), "{value} appended twice");
                }
            }
        }
        assert_eq!(lengths, (1..=4).collect::<BTreeSet<_>>());
        assert_eq!(kinds, ["append", "r"].into_iter().collect::<BTreeSet<_>>());
    }

    #[test]
    fn keys_rotate_every_generation() {
        let workload = ListAppend { keys: 3, generation_txns: 5, ..ListAppend::default() };
        let mut g = workload.generator(0, Rng::stream(7, 0));
        for n in 0..40_i64 {
            for op in txn(g.next()) {
                let key = op.key().as_int().expect("integer keys");
                assert_eq!(key / 3, n / 5, "transaction {n} uses generation {}", n / 5);
            }
        }
    }

    #[test]
    fn the_same_stream_draws_the_same_transactions() {
        let workload = ListAppend { distribution: KeyDistribution::Zipf(1.0), ..ListAppend::default() };
        let draw = || {
            let mut g = workload.generator(2, Rng::stream(9, 2));
            (0..50).map(|_| g.next()).collect::<Vec<_>>()
        };
        assert_eq!(draw(), draw());
    }

    #[test]
    fn invalid_shapes_are_refused() {
        assert!(ListAppend::default().validate().is_ok());
        assert!(ListAppend { keys: 0, ..ListAppend::default() }.validate().is_err());
        assert!(ListAppend { max_ops: 0, ..ListAppend::default() }.validate().is_err());
        assert!(ListAppend { max_ops: MAX_MICRO_OPS + 1, ..ListAppend::default() }.validate().is_err());
        assert!(ListAppend { generation_txns: 0, ..ListAppend::default() }.validate().is_err());
        assert_eq!(ListAppend::default().to_string(), "list-append(10 keys uniform, 1-4 ops)");
        assert!(ListAppend::default().final_reads().is_empty());
    }
}
