//! The bank invariant (Jepsen's bank workload): transfers move money between accounts, so
//! every committed read of all accounts must sum to the same total, and no balance may be
//! negative.
//!
//! Accepted shapes (the EDN importer turns a map into a list of `[key value]` pairs):
//! - `transfer`: invoke value `[from to amount]`, or `{:from 1 :to 2 :amount 5}`.
//! - `read` / `read-many`: invoke value a list of accounts (or `nil`); `ok` value either the
//!   balances in the invocation's account order (accounts numbered 0.. when it named none), or
//!   `{account balance ...}`. A `nil` balance is a violation (an account went missing).
//!
//! Only `ok` reads are judged. Without a total given, the first `ok` read's sum is the total;
//! a history with no `ok` read has nothing to judge.

use std::collections::BTreeMap;
use std::fmt;

use history::{Event, EventType, Process, Value};

use super::TxnError;

/// What went wrong in one read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BankViolationKind {
    /// The balances do not sum to the total.
    WrongTotal,
    /// A balance is below zero.
    NegativeBalance,
    /// A balance is missing (`nil`).
    NilBalance,
}

/// One violation of the invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankViolation {
    /// Index of the read's `ok` completion event.
    pub event: usize,
    /// What went wrong.
    pub kind: BankViolationKind,
    /// In words.
    pub text: String,
}

impl fmt::Display for BankViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What [`check_bank`] found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BankReport {
    /// Transfers completed `ok`.
    pub transfers_ok: usize,
    /// Transfers completed `fail`.
    pub transfers_failed: usize,
    /// Transfers completed `info` or never completed.
    pub transfers_indeterminate: usize,
    /// Reads completed `ok`.
    pub reads_ok: usize,
    /// The total every read must sum to (given, or the first `ok` read's); `None` when there
    /// was nothing to infer it from.
    pub total: Option<i64>,
    /// Every violation, in history order.
    pub violations: Vec<BankViolation>,
}

/// Checks a bank history against `total` (or the first `ok` read's sum).
pub fn check_bank(events: &[Event], total: Option<i64>) -> Result<BankReport, TxnError> {
    let mut reader = BankReader::new(total);
    for event in events {
        reader.push(event)?;
    }
    Ok(reader.finish())
}

/// A pending invocation: whether it is a transfer, and for a read the accounts it named.
#[derive(Debug)]
struct Pending {
    transfer: bool,
    accounts: Value,
}

/// Checks a bank history one event at a time, holding only the invocations still pending
/// (one per process) and the report: a history read as a stream is never held whole.
#[derive(Debug, Default)]
pub struct BankReader {
    report: BankReport,
    pending: BTreeMap<u64, Pending>,
    events: usize,
    invocations: usize,
}

impl BankReader {
    /// A reader with nothing read, judging reads against `total` (or the first `ok` read's
    /// sum).
    pub fn new(total: Option<i64>) -> Self {
        Self { report: BankReport { total, ..BankReport::default() }, ..Self::default() }
    }

    /// How many events were pushed so far.
    pub fn events(&self) -> usize {
        self.events
    }

    /// How many client invocations were pushed so far.
    pub fn invocations(&self) -> usize {
        self.invocations
    }

    /// Reads (and judges) the next event. An error names the event (0-based, counting every
    /// event pushed).
    pub fn push(&mut self, event: &Event) -> Result<(), TxnError> {
        let index = self.events;
        self.events += 1;
        let Process::Client(process) = event.process else { return Ok(()) };
        if !matches!(event.f.as_str(), "transfer" | "read" | "read-many") {
            return Err(TxnError::at(
                index,
                format!("expected f = transfer or read in a bank history, found `{}`", event.f),
            ));
        }
        let transfer = event.f == "transfer";
        if event.kind == EventType::Invoke {
            if self.pending.contains_key(&process) {
                return Err(TxnError::at(
                    index,
                    format!("process {process} invoked again while an invocation is pending"),
                ));
            }
            let accounts = if transfer {
                self::transfer(&event.value).map_err(|m| TxnError::at(index, m))?;
                Value::Nil
            } else {
                event.value.clone()
            };
            self.pending.insert(process, Pending { transfer, accounts });
            self.invocations += 1;
            return Ok(());
        }
        let Some(invoke) = self.pending.remove(&process) else {
            return Err(TxnError::at(index, format!("a completion of process {process} without an invocation")));
        };
        let report = &mut self.report;
        match (event.f.as_str(), event.kind) {
            ("transfer", EventType::Ok) => report.transfers_ok += 1,
            ("transfer", EventType::Fail) => report.transfers_failed += 1,
            ("transfer", _) => report.transfers_indeterminate += 1,
            (_, EventType::Ok) => {
                report.reads_ok += 1;
                let balances = balances(&invoke.accounts, &event.value).map_err(|m| TxnError::at(index, m))?;
                judge(report, index, &balances);
            }
            _ => {}
        }
        Ok(())
    }

    /// The report, once every event was pushed.
    pub fn finish(mut self) -> BankReport {
        self.report.transfers_indeterminate += self.pending.values().filter(|p| p.transfer).count();
        self.report
    }
}

fn judge(report: &mut BankReport, event: usize, balances: &[(Value, Option<i64>)]) {
    let mut sum = 0i64;
    for (account, balance) in balances {
        match balance {
            None => report.violations.push(BankViolation {
                event,
                kind: BankViolationKind::NilBalance,
                text: format!("account {account} has no balance (nil)"),
            }),
            Some(b) if *b < 0 => report.violations.push(BankViolation {
                event,
                kind: BankViolationKind::NegativeBalance,
                text: format!("account {account} has a negative balance, {b}"),
            }),
            Some(_) => {}
        }
        sum = sum.saturating_add(balance.unwrap_or(0));
    }
    let total = *report.total.get_or_insert(sum);
    if sum != total {
        report.violations.push(BankViolation {
            event,
            kind: BankViolationKind::WrongTotal,
            text: format!("the balances sum to {sum}, not the total {total}"),
        });
    }
}

/// The `[key value]` pairs of a map-shaped value, if it is one.
fn pairs(value: &Value) -> Option<Vec<(&Value, &Value)>> {
    value
        .as_list()?
        .iter()
        .map(|item| match item.as_list() {
            Some([k, v]) => Some((k, v)),
            _ => None,
        })
        .collect()
}

/// (from, to, amount) of a transfer.
fn transfer(value: &Value) -> Result<(i64, i64, i64), String> {
    let bad = || format!("expected a transfer [from to amount] or {{:from F :to T :amount A}}, found {value}");
    let ints: Vec<i64> = match value.as_list() {
        Some(items) if items.len() == 3 && items.iter().all(|i| i.as_int().is_some()) => {
            items.iter().filter_map(Value::as_int).collect()
        }
        _ => {
            let map = pairs(value).ok_or_else(bad)?;
            let field = |name: &str| map.iter().find(|(k, _)| k.as_str() == Some(name)).and_then(|(_, v)| v.as_int());
            vec![field("from").ok_or_else(bad)?, field("to").ok_or_else(bad)?, field("amount").ok_or_else(bad)?]
        }
    };
    Ok((ints[0], ints[1], ints[2]))
}

/// (account, balance) of a read, from its invocation's accounts and its `ok` value.
fn balances(invoked: &Value, read: &Value) -> Result<Vec<(Value, Option<i64>)>, String> {
    let balance = |v: &Value| match v {
        Value::Nil => Ok(None),
        Value::Int(b) => Ok(Some(*b)),
        other => Err(format!("a balance must be an integer or nil, found {other}")),
    };
    let Some(items) = read.as_list() else {
        return Err(format!("expected the read's balances as a list or a map, found {}", read.shape()));
    };
    if !items.is_empty() && items.iter().all(|i| i.as_list().is_some()) {
        let map = pairs(read).ok_or_else(|| format!("expected {{account balance ...}}, found {read}"))?;
        return map.into_iter().map(|(k, v)| Ok((k.clone(), balance(v)?))).collect();
    }
    let accounts: Vec<Value> = match invoked {
        Value::List(accounts) => {
            if accounts.len() != items.len() {
                return Err(format!("the read returned {} balances for {} accounts", items.len(), accounts.len()));
            }
            accounts.clone()
        }
        _ => (0..items.len() as i64).map(Value::Int).collect(),
    };
    accounts.into_iter().zip(items).map(|(a, v)| Ok((a, balance(v)?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(process: u64, kind: EventType, f: &str, value: Value) -> Event {
        Event::new(Process::Client(process), kind, f, value)
    }

    fn list(items: &[i64]) -> Value {
        Value::List(items.iter().map(|&i| Value::Int(i)).collect())
    }

    fn map(items: &[(&str, i64)]) -> Value {
        Value::List(items.iter().map(|(k, v)| Value::List(vec![(*k).into(), Value::Int(*v)])).collect())
    }

    #[test]
    fn a_conserving_history_is_clean_and_counts_outcomes() {
        let events = vec![
            ev(0, EventType::Invoke, "transfer", list(&[0, 1, 5])),
            ev(1, EventType::Invoke, "read", list(&[0, 1])),
            ev(0, EventType::Ok, "transfer", list(&[0, 1, 5])),
            ev(1, EventType::Ok, "read", list(&[5, 15])),
            ev(0, EventType::Invoke, "transfer", map(&[("from", 1), ("to", 0), ("amount", 3)])),
            ev(0, EventType::Fail, "transfer", Value::Nil),
            ev(2, EventType::Invoke, "transfer", list(&[1, 0, 1])),
        ];
        let report = check_bank(&events, Some(20)).expect("valid input");
        assert_eq!((report.transfers_ok, report.transfers_failed, report.transfers_indeterminate), (1, 1, 1));
        assert_eq!(report.reads_ok, 1);
        assert!(report.violations.is_empty(), "{:?}", report.violations);
    }

    #[test]
    fn wrong_totals_and_negative_balances_are_reported_with_their_event() {
        let read = |v: Value| [ev(1, EventType::Invoke, "read", Value::Nil), ev(1, EventType::Ok, "read", v)];
        let mut events = Vec::new();
        events.extend(read(list(&[10, 10])));
        events.extend(read(map(&[("0", 12), ("1", 10)])));
        events.extend(read(list(&[-1, 21])));
        let report = check_bank(&events, None).expect("valid input");
        assert_eq!(report.total, Some(20), "inferred from the first read");
        let found: Vec<_> = report.violations.iter().map(|v| (v.event, v.kind)).collect();
        assert_eq!(found, vec![(3, BankViolationKind::WrongTotal), (5, BankViolationKind::NegativeBalance)]);
    }

    #[test]
    fn no_read_means_nothing_to_judge() {
        let events = vec![ev(0, EventType::Invoke, "transfer", list(&[0, 1, 5]))];
        let report = check_bank(&events, None).expect("valid input");
        assert_eq!(report.total, None);
        assert!(report.violations.is_empty());
    }

    #[test]
    fn malformed_transfers_and_reads_name_their_event() {
        let events = vec![ev(0, EventType::Invoke, "transfer", list(&[0, 1]))];
        assert!(matches!(check_bank(&events, None), Err(TxnError::Event { event: 0, .. })));
        let events = vec![ev(0, EventType::Invoke, "read", list(&[0, 1])), ev(0, EventType::Ok, "read", list(&[3]))];
        assert!(matches!(check_bank(&events, None), Err(TxnError::Event { event: 1, .. })));
    }
}
