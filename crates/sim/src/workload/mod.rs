//! What the client processes ask for: a [`Workload`] hands every logical client a
//! [`Generate`]r of typed [`Operation`]s, and says what the final reads after the run invoke.
//!
//! Map of the module:
//! - this file: the [`Workload`] and [`Generate`] traits, [`WorkloadError`], and the helpers a
//!   workload builds on ([`UniqueValues`], [`key_name`], [`OpMix`], [`KeyDistribution`]);
//! - `register`: [`Register`] and [`Kv`], reads, writes and compare-and-sets of registers;
//! - `set`: [`Set`], a grow-only set;
//! - `list_append`: [`ListAppend`], Elle's list-append transactions;
//! - `bank`: [`Bank`], Jepsen's bank: transfers between accounts and reads of every balance.
//!
//! A new workload is one type implementing [`Workload`], anywhere: the harness runs whatever
//! operations it generates, and a system serves the [`Operation`]s it knows (answering the others
//! with a definite failure). Judging a history (which checker model, which invariants) is the
//! caller's business, not the harness's.
//!
//! Values written are unique in the whole run (`client * VALUE_SPACE + counter`, see
//! [`UniqueValues`]), so a read names the write it saw and the checker's search stays small.

use std::any::{Any, TypeId};
use std::fmt;

use history::Value;
use serde::{Deserialize, Serialize};

use crate::rng::{Rng, ZipfError};
use crate::system::{Operation, Reply};

mod bank;
mod list_append;
mod register;
mod set;

pub use bank::Bank;
pub use list_append::ListAppend;
pub use register::{Kv, Register};
pub use set::Set;

/// Values of client `c` are `c * VALUE_SPACE + counter`.
pub const VALUE_SPACE: i64 = 1_000_000;

/// What the clients of a run do: the operations each logical client generates, and the final
/// reads after the quiet period.
///
/// Object-safe: a run holds it as `Arc<dyn Workload>` ([`SimConfig::workload`](crate::SimConfig)).
/// Deterministic: a generator draws only from the [`Rng`] it is given.
pub trait Workload: Any + Send + Sync + fmt::Debug + fmt::Display {
    /// Checks the parameters (a key space that exists, an operation mix that can be drawn from).
    fn validate(&self) -> Result<(), WorkloadError>;

    /// The operation stream of logical client `client`, drawing from `rng` (the client's own
    /// stream). The harness calls it only for a workload that passed [`Workload::validate`].
    fn generator(&self, client: usize, rng: Rng) -> Box<dyn Generate>;

    /// What the final reads invoke after `duration + settle`, each by its own process, all at
    /// once, each retried until it is `ok` or its attempts run out.
    fn final_reads(&self) -> Vec<Operation>;

    /// True when the final reads must see every operation of the run (a set's final read is
    /// compared with every add, not placed in real time by a linearizability check). The
    /// harness then requires at least one final-read attempt and a quiet period no shorter
    /// than an operation can stay in flight.
    fn final_reads_see_everything(&self) -> bool {
        false
    }

    /// What the system holds before the run starts, as (key, value) pairs loaded by
    /// [`System::preload`](crate::System::preload) (a bank's opening balances); empty (the
    /// default) for a workload that starts from nothing.
    fn initial_state(&self) -> Vec<(Value, Value)> {
        Vec::new()
    }
}

impl dyn Workload {
    /// True when this workload is a `T` (for callers that judge histories per workload kind).
    pub fn is<T: Workload>(&self) -> bool {
        // `Any` is a supertrait: this asks the concrete type, through the vtable.
        Any::type_id(self) == TypeId::of::<T>()
    }
}

/// The operation stream of one logical client. (Not an `Iterator`: the stream never ends, and
/// `observe` must be able to borrow the generator between calls.)
pub trait Generate {
    /// The next operation to invoke.
    fn next(&mut self) -> Operation;

    /// Learns from a definite reply to `operation` (an earlier result of [`Generate::next`]);
    /// not called after a failure to send or an indeterminate outcome.
    fn observe(&mut self, operation: &Operation, reply: &Reply);
}

/// A workload that cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum WorkloadError {
    /// The key space cannot be drawn from.
    #[error("workload: {0}")]
    Keys(#[from] ZipfError),
    /// The operation mix cannot be drawn from.
    #[error("operation mix: {0}")]
    Mix(#[from] MixError),
    /// A parameter of some other workload is out of range.
    #[error("workload: `{parameter}` {problem}")]
    Parameter {
        /// The parameter.
        parameter: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

/// How keys of a [`Kv`] workload are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum KeyDistribution {
    /// Every key equally likely.
    Uniform,
    /// Key `k` with weight `1 / (k + 1)^s` (the exponent `s >= 0`): hot keys first.
    Zipf(f64),
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

/// The name of key number `index` of a [`Kv`] workload.
pub fn key_name(index: usize) -> Value {
    Value::Str(format!("k{index}"))
}

/// The unique values of one logical client: `client * VALUE_SPACE + 1`, `+ 2`, ...
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueValues {
    client: i64,
    /// Values handed out so far (the low part of the next one).
    counter: i64,
}

impl UniqueValues {
    /// The values of logical client `client` (clamped so that every value fits an `i64`).
    pub fn new(client: usize) -> Self {
        let client = i64::try_from(client).unwrap_or(i64::MAX / VALUE_SPACE).min(i64::MAX / VALUE_SPACE - 1);
        Self { client, counter: 0 }
    }

    /// The next value.
    ///
    /// # Panics
    /// After [`VALUE_SPACE`] - 1 values: they would no longer be unique.
    pub fn next_value(&mut self) -> Value {
        self.counter += 1;
        assert!(self.counter < VALUE_SPACE, "client {} ran out of unique values", self.client);
        Value::Int(self.client * VALUE_SPACE + self.counter)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn the_mix_is_validated() {
        assert_eq!(OpMix::default().validate(), Ok(4));
        assert_eq!(OpMix { read: 0, write: 0, cas: 0 }.validate(), Err(MixError::Empty));
        assert_eq!(OpMix { read: u32::MAX, write: 1, cas: 0 }.validate(), Err(MixError::TooLarge));
    }

    #[test]
    fn values_are_unique_and_name_their_client() {
        let mut values = UniqueValues::new(3);
        assert_eq!(values.next_value(), Value::Int(3 * VALUE_SPACE + 1));
        assert_eq!(values.next_value(), Value::Int(3 * VALUE_SPACE + 2));
        let mut huge = UniqueValues::new(usize::MAX);
        assert!(huge.next_value().as_int().is_some_and(|v| v > 0), "clamped, not wrapped");
    }

    #[test]
    fn a_workload_knows_its_kind() {
        let workload: Arc<dyn Workload> = Arc::new(Set);
        assert!(workload.is::<Set>());
        assert!(!workload.is::<Register>());
    }
}
