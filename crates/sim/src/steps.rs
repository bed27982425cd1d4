//! [`run_steps`]: what an application without transactions does with a transfer, a multi-key
//! read or a list-append transaction: it issues the steps one single-key request at a time
//! ([`SingleKey`]), with nothing holding the steps together. The quorum store has no other
//! way; a SQLite system can be told to work this way too (the non-transactional equivalent of
//! its transactions).
//!
//! | operation | steps |
//! |---|---|
//! | `Transfer { from, to, amount }` | `read from`, `read to`, refuse if `from` holds less than `amount`, `write from (balance - amount)`, `write to (balance + amount)` |
//! | `ReadMany { keys }` | a `read` per key, in order |
//! | `Txn { ops }` | per micro-operation: `r k` is a `read k`; `append k v` is a `read k` and a `write k (list + [v])` |
//!
//! A list is stored as a [`Value::List`]; an absent key is the empty list and an account
//! that is absent holds 0. This is a read-modify-write, as an application on a key-value
//! store writes it: two concurrent appends to one key may lose one (last write wins), and a
//! reader may see a transfer half done. Cassandra's own list type would append without
//! reading (a cell per element), which loses no append but isolates nothing either, and SQL's
//! `UPDATE ... SET v = v || ?` appends in one statement; neither is modelled here.
//!
//! Outcomes: the operation is `ok` when every step was. A step that failed definitely (the
//! coordinator was unavailable, a connection could not be opened, the funds were short)
//! makes the operation a definite failure only while nothing was written yet; once a `Put`
//! was sent, a failure leaves it partly done, which no `fail` may claim: it is
//! indeterminate. An indeterminate step (a timeout) is indeterminate.

use std::future::Future;

use history::Value;

use crate::system::{CallError, MicroOp, Operation, Reply};

/// A client that can run one single-key `read` or `write` ([`Operation::Read`],
/// [`Operation::Write`] with a key) as one request.
pub trait SingleKey {
    /// Runs one single-key operation, as [`Client::call`](crate::Client::call) would.
    fn single(&mut self, operation: &Operation) -> impl Future<Output = Result<Reply, CallError>>;
}

/// Runs a transfer, a multi-key read or a list-append transaction step by step through
/// `client` (see the module docs); `None` for any other operation (one request already).
pub async fn run_steps<C: SingleKey>(client: &mut C, operation: &Operation) -> Option<Result<Reply, CallError>> {
    let steps = Steps { client, wrote: false };
    Some(match operation {
        Operation::Txn { ops } => steps.txn(ops).await,
        Operation::Transfer { from, to, amount } => steps.transfer(from, to, *amount).await.map(|reply| match reply {
            Reply::Ok(_) => Reply::Ok(operation.value()),
            fail => fail,
        }),
        Operation::ReadMany { keys } => steps.read_many(keys).await,
        _ => return None,
    })
}

/// How one step ended, when it did not end `ok`: the operation's outcome.
type Stop = Result<Reply, CallError>;

/// The steps of one operation, through one client.
struct Steps<'a, C> {
    client: &'a mut C,
    /// Whether some write was sent (it may have taken effect).
    wrote: bool,
}

impl<C: SingleKey> Steps<'_, C> {
    /// Runs one request; its value when `ok`, else the operation's outcome.
    async fn step(&mut self, op: Operation) -> Result<Value, Stop> {
        let is_put = matches!(op, Operation::Write { .. });
        let result = self.client.single(&op).await;
        let wrote_before = self.wrote;
        match result {
            Ok(Reply::Ok(value)) => {
                self.wrote |= is_put;
                Ok(value)
            }
            Ok(Reply::Fail(why)) if !wrote_before => Err(Ok(Reply::Fail(why))),
            Err(CallError::NotSent(why)) if !wrote_before => Err(Err(CallError::NotSent(why))),
            Ok(Reply::Fail(why)) | Err(CallError::NotSent(why)) => {
                Err(Err(CallError::Indeterminate(format!("partly applied, then: {why}"))))
            }
            Err(indeterminate @ CallError::Indeterminate(_)) => Err(Err(indeterminate)),
        }
    }

    /// Refuses the operation: definite while nothing was written.
    fn refuse(&self, why: String) -> Stop {
        if self.wrote {
            Err(CallError::Indeterminate(format!("partly applied, then: {why}")))
        } else {
            Ok(Reply::Fail(why))
        }
    }

    async fn get(&mut self, key: &Value) -> Result<Value, Stop> {
        self.step(Operation::Read { key: Some(key.clone()) }).await
    }

    async fn put(&mut self, key: &Value, value: Value) -> Result<Value, Stop> {
        self.step(Operation::Write { key: Some(key.clone()), value }).await
    }

    /// The list at `key` (absent: empty).
    async fn list(&mut self, key: &Value) -> Result<Vec<Value>, Stop> {
        match self.get(key).await? {
            Value::Nil => Ok(Vec::new()),
            Value::List(items) => Ok(items),
            other => Err(self.refuse(format!("{key} holds {other}, not a list"))),
        }
    }

    /// The balance of `account` (absent: 0).
    async fn balance(&mut self, account: &Value) -> Result<i64, Stop> {
        match self.get(account).await? {
            Value::Nil => Ok(0),
            Value::Int(balance) => Ok(balance),
            other => Err(self.refuse(format!("the balance of {account} is {other}, not an integer"))),
        }
    }

    /// A list-append transaction, micro-operation by micro-operation.
    async fn txn(mut self, ops: &[MicroOp]) -> Result<Reply, CallError> {
        let mut completed = Vec::with_capacity(ops.len());
        for op in ops {
            let done = match op {
                MicroOp::Read { key } => self.list(key).await.map(|list| op.completed(Value::List(list))),
                MicroOp::Append { key, value } => match self.list(key).await {
                    Ok(mut list) => {
                        list.push(value.clone());
                        self.put(key, Value::List(list)).await.map(|_| op.invoked())
                    }
                    Err(stop) => Err(stop),
                },
            };
            match done {
                Ok(done) => completed.push(done),
                Err(stop) => return stop,
            }
        }
        Ok(Reply::Ok(Value::List(completed)))
    }

    /// A transfer: read both balances, refuse on short funds, write both.
    async fn transfer(mut self, from: &Value, to: &Value, amount: i64) -> Result<Reply, CallError> {
        let run = async {
            let from_balance = self.balance(from).await?;
            let to_balance = self.balance(to).await?;
            if amount < 0 || from_balance < amount {
                return Err(
                    self.refuse(format!("insufficient funds: {from} holds {from_balance}, transfer of {amount}"))
                );
            }
            let Some(to_after) = to_balance.checked_add(amount) else {
                return Err(self.refuse(format!("the balance of {to} would overflow")));
            };
            self.put(from, Value::Int(from_balance - amount)).await?;
            self.put(to, Value::Int(to_after)).await?;
            Ok(())
        };
        match run.await {
            Ok(()) => Ok(Reply::Ok(Value::Nil)),
            Err(stop) => stop,
        }
    }

    /// Reads each key in turn.
    async fn read_many(mut self, keys: &[Value]) -> Result<Reply, CallError> {
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            match self.get(key).await {
                Ok(value) => values.push(value),
                Err(stop) => return stop,
            }
        }
        Ok(Reply::Ok(Value::List(values)))
    }
}
