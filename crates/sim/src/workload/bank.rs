//! [`Bank`]: Jepsen's bank workload. Accounts `0..accounts` open with `total` shared out
//! between them ([`Workload::initial_state`]); clients transfer random amounts between two
//! distinct accounts ([`Operation::Transfer`], refused on insufficient funds) and read every
//! balance at once ([`Operation::ReadMany`]). Judged, by the caller, by two invariants: every
//! read's balances add up to `total`, and none is negative.
//!
//! Draw order (part of every recorded history, so fixed): per operation, transfer or read;
//! for a transfer, the source, the destination, then the amount.

use std::fmt;

use history::Value;

use super::{Generate, Workload, WorkloadError};
use crate::rng::Rng;
use crate::system::{Operation, Reply};

/// Transfers between accounts, and reads of every balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bank {
    /// Accounts (at least 2).
    pub accounts: usize,
    /// The money in the bank, shared out at the start.
    pub total: i64,
    /// Largest amount one transfer moves (transfers move 1 to this).
    pub max_transfer: i64,
    /// Weight of transfers against reads (`transfers : reads`).
    pub transfers: u32,
    /// See `transfers`.
    pub reads: u32,
}

impl Default for Bank {
    /// Jepsen's bank defaults: 8 accounts holding 100 in total, transfers of up to 5, half
    /// transfers and half reads.
    fn default() -> Self {
        Self { accounts: 8, total: 100, max_transfer: 5, transfers: 1, reads: 1 }
    }
}

/// Most accounts (every read reads them all, in one request frame).
pub const MAX_ACCOUNTS: usize = 1_000;

impl Bank {
    /// The account keys, in order.
    pub fn account_keys(&self) -> Vec<Value> {
        (0..self.accounts).map(|a| Value::Int(a as i64)).collect()
    }

    /// The opening balance of each account: `total / accounts`, the remainder to account 0.
    pub fn opening_balances(&self) -> Vec<i64> {
        let n = self.accounts.max(1) as i64;
        let mut balances = vec![self.total / n; self.accounts];
        if let Some(first) = balances.first_mut() {
            *first += self.total % n;
        }
        balances
    }
}

impl Workload for Bank {
    fn validate(&self) -> Result<(), WorkloadError> {
        let problem = |parameter, problem: String| Err(WorkloadError::Parameter { parameter, problem });
        if !(2..=MAX_ACCOUNTS).contains(&self.accounts) {
            return problem("accounts", format!("is {}; it must be from 2 to {MAX_ACCOUNTS}", self.accounts));
        }
        if self.total < 0 {
            return problem("total", format!("is {}; it must not be negative", self.total));
        }
        if self.max_transfer < 1 {
            return problem("max_transfer", format!("is {}; it must be at least 1", self.max_transfer));
        }
        if self.transfers.checked_add(self.reads).is_none_or(|t| t == 0) {
            return problem("transfers", "and `reads` must have a positive sum that fits 32 bits".to_owned());
        }
        Ok(())
    }

    fn generator(&self, client: usize, rng: Rng) -> Box<dyn Generate> {
        let _ = client;
        Box::new(BankClient { rng, shape: *self, keys: self.account_keys() })
    }

    /// One read of every balance.
    fn final_reads(&self) -> Vec<Operation> {
        vec![Operation::ReadMany { keys: self.account_keys() }]
    }

    fn initial_state(&self) -> Vec<(Value, Value)> {
        self.account_keys().into_iter().zip(self.opening_balances().into_iter().map(Value::Int)).collect()
    }
}

impl fmt::Display for Bank {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bank({} accounts, total {})", self.accounts, self.total)
    }
}

/// The operation stream of one client of a [`Bank`] workload.
#[derive(Debug, Clone)]
struct BankClient {
    rng: Rng,
    shape: Bank,
    keys: Vec<Value>,
}

impl Generate for BankClient {
    fn next(&mut self) -> Operation {
        let total = u64::from(self.shape.transfers) + u64::from(self.shape.reads);
        if self.rng.below(total) >= u64::from(self.shape.transfers) {
            return Operation::ReadMany { keys: self.keys.clone() };
        }
        let n = self.keys.len() as u64;
        let from = self.rng.below(n);
        // A distinct destination: one of the other n - 1 accounts.
        let to = (from + 1 + self.rng.below(n - 1)) % n;
        let amount = 1 + self.rng.below(self.shape.max_transfer as u64) as i64;
        Operation::Transfer { from: self.keys[from as usize].clone(), to: self.keys[to as usize].clone(), amount }
    }

    fn observe(&mut self, _operation: &Operation, _reply: &Reply) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_opening_balances_share_out_the_total() {
        let bank = Bank { accounts: 3, total: 100, ..Bank::default() };
        assert_eq!(bank.opening_balances(), [34, 33, 33]);
        let state = bank.initial_state();
        assert_eq!(state.len(), 3);
        assert_eq!(state.iter().map(|(_, v)| v.as_int().expect("int")).sum::<i64>(), 100);
        assert_eq!(state[2], (Value::Int(2), Value::Int(33)));
    }

    #[test]
    fn transfers_move_between_distinct_accounts_and_reads_read_all() {
        let bank = Bank::default();
        let mut g = bank.generator(0, Rng::stream(3, 0));
        let (mut transfers, mut reads) = (0, 0);
        for _ in 0..2_000 {
            match g.next() {
                Operation::Transfer { from, to, amount } => {
                    transfers += 1;
                    assert_ne!(from, to);
                    assert!((1..=5).contains(&amount), "{amount}");
                    assert!(from.as_int().is_some_and(|a| (0..8).contains(&a)));
                }
                Operation::ReadMany { keys } => {
                    reads += 1;
                    assert_eq!(keys, bank.account_keys());
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!((900..1_100).contains(&transfers) && transfers + reads == 2_000, "{transfers} transfers");
        assert_eq!(bank.final_reads(), [Operation::ReadMany { keys: bank.account_keys() }]);
    }

    #[test]
    fn invalid_banks_are_refused() {
        assert!(Bank::default().validate().is_ok());
        assert!(Bank { accounts: 1, ..Bank::default() }.validate().is_err());
        assert!(Bank { total: -1, ..Bank::default() }.validate().is_err());
        assert!(Bank { max_transfer: 0, ..Bank::default() }.validate().is_err());
        assert!(Bank { transfers: 0, reads: 0, ..Bank::default() }.validate().is_err());
    }
}
