//! `kind = "bank"`: Jepsen's bank. Accounts open with the bank's total shared out; clients
//! transfer between two accounts and read every balance. Judged by the invariants
//! ([`checker::txn::check_bank`]): every read adds up to the total, and no balance is
//! negative.
//!
//! ```toml
//! [workload]
//! kind = "bank"
//! accounts = 8          # default 8
//! total = 100           # default 100
//! max_transfer = 5      # default 5
//! transfers = 1         # weight of transfers against reads (default 1 : 1)
//! reads = 1
//! ```
//!
//! SQLite runs a transfer and a read as one transaction each; the quorum store runs their
//! steps one request at a time (two reads, two writes; a read per account), as an
//! application without transactions would.

use std::sync::Arc;

use history::Event;
use serde::Deserialize;
use sim::OpMix;
use toml::Spanned;

use super::{Check, Configured, Judged, Limits, TxnJudged, WorkloadKind, LISTED};
use crate::source::{fields_of, Checked, Section};

/// The bank workload.
#[derive(Debug, Clone, Copy)]
pub struct Bank;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBank {
    accounts: Option<Spanned<usize>>,
    total: Option<Spanned<i64>>,
    max_transfer: Option<Spanned<i64>>,
    transfers: Option<Spanned<u32>>,
    reads: Option<Spanned<u32>>,
}

impl WorkloadKind for Bank {
    fn kind(&self) -> &'static str {
        "bank"
    }

    fn about(&self) -> &'static str {
        "transfers between accounts and reads of every balance; the total is kept, no balance negative"
    }

    fn keys(&self) -> &'static [&'static str] {
        fields_of::<RawBank>()
    }

    fn parse(&self, table: Section<'_>) -> Checked<Box<dyn Configured>> {
        table.refuse("mix", "applies only to register and kv workloads (a bank has `transfers` and `reads`)")?;
        let source = table.source();
        let raw: RawBank = table.finish()?;
        let defaults = sim::Bank::default();
        let value = |field: &Option<Spanned<i64>>, default: i64| field.as_ref().map_or(default, |v| *v.get_ref());
        let weight = |field: &Option<Spanned<u32>>, default: u32| field.as_ref().map_or(default, |v| *v.get_ref());
        let shape = sim::Bank {
            accounts: raw.accounts.as_ref().map_or(defaults.accounts, |a| *a.get_ref()),
            total: value(&raw.total, defaults.total),
            max_transfer: value(&raw.max_transfer, defaults.max_transfer),
            transfers: weight(&raw.transfers, defaults.transfers),
            reads: weight(&raw.reads, defaults.reads),
        };
        if let Err(e) = sim::Workload::validate(&shape) {
            let spans = [
                raw.accounts.as_ref().map(Spanned::span),
                raw.total.as_ref().map(Spanned::span),
                raw.max_transfer.as_ref().map(Spanned::span),
                raw.transfers.as_ref().map(Spanned::span),
                raw.reads.as_ref().map(Spanned::span),
            ];
            let span = spans.into_iter().flatten().next().unwrap_or(0..0);
            return source.fail(span, e.to_string());
        }
        Ok(Box::new(BankWorkload { shape }))
    }
}

/// A configured bank workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BankWorkload {
    /// What the clients run.
    pub shape: sim::Bank,
}

impl Configured for BankWorkload {
    fn sim_workload(&self) -> Arc<dyn sim::Workload> {
        Arc::new(self.shape)
    }

    /// Reads against transfers (a transfer reads and writes two accounts).
    fn mix(&self) -> OpMix {
        OpMix { read: self.shape.reads, write: self.shape.transfers, cas: 0 }
    }

    fn describe(&self) -> String {
        format!(
            "{} accounts, total {}, transfers of 1-{}",
            self.shape.accounts, self.shape.total, self.shape.max_transfer
        )
    }

    fn check_label(&self) -> &'static str {
        "bank-valid"
    }

    fn judge(&self, history: &[Event], _limits: &Limits) -> Judged {
        let mut judged = Judged {
            check: Check::Unknown,
            stale_reads: None,
            lost_writes: None,
            lost_window: None,
            acknowledged_writes: 0,
            unjudged_keys: 0,
            explanation: String::new(),
            txn: None,
        };
        match checker::txn::check_bank(history, Some(self.shape.total)) {
            Ok(report) => {
                judged.acknowledged_writes = report.transfers_ok as u64;
                judged.check = if report.reads_ok == 0 {
                    judged.explanation.push_str("no read succeeded: the invariants cannot be judged\n");
                    Check::Unknown
                } else if report.violations.is_empty() {
                    Check::BankValid
                } else {
                    Check::BankInvalid
                };
                if !report.violations.is_empty() {
                    judged.explanation.push_str(&format!(
                        "{} of {} reads broke an invariant; the first:\n",
                        report.violations.len(),
                        report.reads_ok
                    ));
                    for violation in report.violations.iter().take(LISTED) {
                        judged.explanation.push_str(&format!("{violation}\n"));
                    }
                }
                judged.txn = Some(TxnJudged {
                    committed: report.transfers_ok as u64,
                    aborted: report.transfers_failed as u64,
                    indeterminate: report.transfers_indeterminate as u64,
                    anomalies: Default::default(),
                    strongest: None,
                    invariant_violations: Some(report.violations.len() as u64),
                });
            }
            Err(e) => judged.explanation.push_str(&format!("the bank checker refused the history: {e}\n")),
        }
        judged
    }

    fn clone_box(&self) -> Box<dyn Configured> {
        Box::new(*self)
    }
}

#[cfg(test)]
mod tests {
    use crate::spec::tests::assert_error;

    /// A file whose workload is the bank, its table ending with `extra` (line 7 on).
    fn file(extra: &str) -> String {
        format!(
            "name = \"t\"\nquestion = \"q\"\nseeds = 1\nduration = \"1s\"\n[workload]\nkind = \"bank\"\n\
             {extra}[[system]]\nname = \"s\"\nkind = \"sqlite\"\n"
        )
    }

    #[test]
    fn bad_banks_are_refused_where_they_are_written() {
        assert_error(&file("accounts = 1\n"), 7, 12, "accounts");
        assert_error(&file("max_transfer = 0\n"), 7, 16, "max_transfer");
        assert_error(&file("total = -5\n"), 7, 9, "total");
    }
}
