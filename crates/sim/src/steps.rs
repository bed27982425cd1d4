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
//! Guarded by compare-and-set ([`Guard::Cas`], [`run_guarded`]): each read-modify-write of a
//! key (a debit, a credit, an append) writes with `cas k (value read) (new value)` instead of
//! `write`, and on a mismatch (another client changed the key in between) reads again and
//! retries, up to [`CAS_ATTEMPTS`] times; a transfer then debits (`read from`, refuse on short
//! funds, `cas from`), then credits (`read to`, `cas to`). This is what an application on a
//! store with lightweight transactions (Cassandra's `UPDATE ... IF balance = ?`) does to stop
//! lost updates: no write is lost any more, but nothing isolates the steps from each other
//! (a read between the debit and the credit sees the money in neither account).
//!
//! Outcomes: the operation is `ok` when every step was. A step that failed definitely (the
//! coordinator was unavailable, a connection could not be opened, the funds were short)
//! makes the operation a definite failure only while nothing was written yet; once a `Put`
//! was sent, a failure leaves it partly done, which no `fail` may claim: it is
//! indeterminate. An indeterminate step (a timeout) is indeterminate.

use std::future::Future;

use history::Value;

use crate::system::{CallError, MicroOp, Operation, Reply};

/// How a step-by-step operation writes back what it read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Guard {
    /// A plain `write`: the last write wins.
    #[default]
    Plain,
    /// A compare-and-set against the value read, retried on a mismatch (see the module docs).
    Cas,
}

/// How many times a guarded read-modify-write tries its compare-and-set before it gives up.
pub const CAS_ATTEMPTS: usize = 5;

/// How a store's reply to a compare-and-set whose condition failed begins.
pub const CAS_MISMATCH: &str = "cas mismatch";

/// A client that can run one single-key `read`, `write` or `cas` ([`Operation::Read`],
/// [`Operation::Write`], [`Operation::Cas`] with a key) as one request.
pub trait SingleKey {
    /// Runs one single-key operation, as [`Client::call`](crate::Client::call) would.
    fn single(&mut self, operation: &Operation) -> impl Future<Output = Result<Reply, CallError>>;
}

/// Runs a transfer, a multi-key read or a list-append transaction step by step through
/// `client` (see the module docs); `None` for any other operation (one request already).
pub async fn run_steps<C: SingleKey>(client: &mut C, operation: &Operation) -> Option<Result<Reply, CallError>> {
    run_guarded(client, operation, Guard::Plain).await
}

/// [`run_steps`], writing back as `guard` says.
pub async fn run_guarded<C: SingleKey>(
    client: &mut C,
    operation: &Operation,
    guard: Guard,
) -> Option<Result<Reply, CallError>> {
    let steps = Steps { client, wrote: false };
    Some(match (operation, guard) {
        (Operation::Txn { ops }, Guard::Plain) => steps.txn(ops).await,
        (Operation::Txn { ops }, Guard::Cas) => steps.guarded_txn(ops).await,
        (Operation::Transfer { from, to, amount }, Guard::Cas) => {
            steps.guarded_transfer(from, to, *amount).await.map(|reply| match reply {
                Reply::Ok(_) => Reply::Ok(operation.value()),
                fail => fail,
            })
        }
        (Operation::Transfer { from, to, amount }, Guard::Plain) => {
            steps.transfer(from, to, *amount).await.map(|reply| match reply {
                Reply::Ok(_) => Reply::Ok(operation.value()),
                fail => fail,
            })
        }
        (Operation::ReadMany { keys }, _) => steps.read_many(keys).await,
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
        let value = self.get(key).await?;
        as_list(key, value).map_err(|why| self.refuse(why))
    }

    /// The balance of `account` (absent: 0).
    async fn balance(&mut self, account: &Value) -> Result<i64, Stop> {
        let value = self.get(account).await?;
        as_balance(account, value).map_err(|why| self.refuse(why))
    }

    /// A compare-and-set of `key` from `expected` to `new`: whether it applied (`false`: a
    /// mismatch, nothing written).
    async fn cas(&mut self, key: &Value, expected: Value, new: Value) -> Result<bool, Stop> {
        let op = Operation::Cas { key: Some(key.clone()), expected, new };
        match self.client.single(&op).await {
            Ok(Reply::Fail(why)) if why.starts_with(CAS_MISMATCH) => Ok(false),
            Ok(Reply::Ok(_)) => {
                self.wrote = true;
                Ok(true)
            }
            Ok(Reply::Fail(why)) | Err(CallError::NotSent(why)) => Err(self.refuse(why)),
            Err(indeterminate @ CallError::Indeterminate(_)) => Err(Err(indeterminate)),
        }
    }

    /// A guarded read-modify-write of `key`: read it, compute the new value with `change`
    /// (an `Err` refuses the operation), compare-and-set; again on a mismatch, up to
    /// [`CAS_ATTEMPTS`] times. Returns the value read by the attempt that applied.
    async fn modify(&mut self, key: &Value, change: impl Fn(Value) -> Result<Value, String>) -> Result<Value, Stop> {
        for _ in 0..CAS_ATTEMPTS {
            let read = self.get(key).await?;
            let new = change(read.clone()).map_err(|why| self.refuse(why))?;
            if self.cas(key, read.clone(), new).await? {
                return Ok(read);
            }
        }
        Err(self.refuse(format!("{key} changed under each of {CAS_ATTEMPTS} compare-and-sets")))
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

    /// A list-append transaction, micro-operation by micro-operation, each append a guarded
    /// read-modify-write.
    async fn guarded_txn(mut self, ops: &[MicroOp]) -> Result<Reply, CallError> {
        let mut completed = Vec::with_capacity(ops.len());
        for op in ops {
            let done = match op {
                MicroOp::Read { key } => self.list(key).await.map(|list| op.completed(Value::List(list))),
                MicroOp::Append { key, value } => {
                    let append = |read: Value| {
                        let mut list = as_list(key, read)?;
                        list.push(value.clone());
                        Ok(Value::List(list))
                    };
                    self.modify(key, append).await.map(|_| op.invoked())
                }
            };
            match done {
                Ok(done) => completed.push(done),
                Err(stop) => return stop,
            }
        }
        Ok(Reply::Ok(Value::List(completed)))
    }

    /// A transfer as two guarded read-modify-writes: the debit (refused on short funds),
    /// then the credit.
    async fn guarded_transfer(mut self, from: &Value, to: &Value, amount: i64) -> Result<Reply, CallError> {
        if amount < 0 {
            return Ok(Reply::Fail(format!("a transfer of {amount}: negative")));
        }
        let debit = |read: Value| {
            let balance = as_balance(from, read)?;
            if balance < amount {
                return Err(format!("insufficient funds: {from} holds {balance}, transfer of {amount}"));
            }
            Ok(Value::Int(balance - amount))
        };
        let credit = |read: Value| {
            let balance = as_balance(to, read)?;
            balance.checked_add(amount).map(Value::Int).ok_or_else(|| format!("the balance of {to} would overflow"))
        };
        let run = async {
            self.modify(from, debit).await?;
            self.modify(to, credit).await
        };
        match run.await {
            Ok(_) => Ok(Reply::Ok(Value::Nil)),
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

/// The list a read of `key` returned (absent: empty).
fn as_list(key: &Value, value: Value) -> Result<Vec<Value>, String> {
    match value {
        Value::Nil => Ok(Vec::new()),
        Value::List(items) => Ok(items),
        other => Err(format!("{key} holds {other}, not a list")),
    }
}

/// The balance a read of `account` returned (absent: 0).
fn as_balance(account: &Value, value: Value) -> Result<i64, String> {
    match value {
        Value::Nil => Ok(0),
        Value::Int(balance) => Ok(balance),
        other => Err(format!("the balance of {account} is {other}, not an integer")),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use super::*;

    /// An in-memory store of registers; before each compare-and-set it applies the next of
    /// `interference` (another client's write, if any), then counts the requests it served.
    #[derive(Default)]
    struct Store {
        cells: BTreeMap<Value, Value>,
        interference: Vec<Option<(Value, Value)>>,
        requests: Vec<&'static str>,
    }

    impl SingleKey for Store {
        async fn single(&mut self, operation: &Operation) -> Result<Reply, CallError> {
            self.requests.push(operation.f());
            match operation {
                Operation::Read { key: Some(key) } => Ok(Reply::Ok(self.cells.get(key).cloned().unwrap_or(Value::Nil))),
                Operation::Write { key: Some(key), value } => {
                    self.cells.insert(key.clone(), value.clone());
                    Ok(Reply::Ok(Value::Nil))
                }
                Operation::Cas { key: Some(key), expected, new } => {
                    if !self.interference.is_empty() {
                        if let Some((k, v)) = self.interference.remove(0) {
                            self.cells.insert(k, v);
                        }
                    }
                    let current = self.cells.get(key).cloned().unwrap_or(Value::Nil);
                    if current != *expected {
                        return Ok(Reply::Fail(format!("{CAS_MISMATCH}: {key} holds {current}")));
                    }
                    self.cells.insert(key.clone(), new.clone());
                    Ok(Reply::Ok(Value::Nil))
                }
                other => panic!("not a single-key request: {other:?}"),
            }
        }
    }

    /// Runs a future that never waits (the store above answers at once).
    fn now<F: Future>(future: F) -> F::Output {
        let mut future = pin!(future);
        match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(out) => out,
            Poll::Pending => panic!("the test store never waits"),
        }
    }

    fn s(text: &str) -> Value {
        Value::Str(text.to_owned())
    }

    fn bank(a: i64, b: i64) -> Store {
        Store { cells: [(s("a"), Value::Int(a)), (s("b"), Value::Int(b))].into(), ..Store::default() }
    }

    fn transfer(amount: i64) -> Operation {
        Operation::Transfer { from: s("a"), to: s("b"), amount }
    }

    fn guarded(store: &mut Store, op: &Operation) -> Result<Reply, CallError> {
        now(run_guarded(store, op, Guard::Cas)).expect("a multi-step operation")
    }

    #[test]
    fn a_guarded_transfer_debits_then_credits_with_compare_and_sets() {
        let mut store = bank(10, 0);
        assert!(matches!(guarded(&mut store, &transfer(3)), Ok(Reply::Ok(_))));
        assert_eq!(store.cells, bank(7, 3).cells);
        assert_eq!(store.requests, ["read", "cas", "read", "cas"]);
    }

    #[test]
    fn a_concurrent_change_is_re_read_not_overwritten() {
        // Plain steps lose the other client's deposit of 5 into `a` (last write wins) ...
        let mut plain = bank(10, 0);
        let op = transfer(3);
        let mut racing = Store { interference: vec![Some((s("a"), Value::Int(15)))], ..bank(10, 0) };
        assert!(matches!(now(run_steps(&mut plain, &op)).expect("steps"), Ok(Reply::Ok(_))));
        assert_eq!(plain.cells, bank(7, 3).cells);
        // ... guarded ones see the mismatch, read 15 and debit from it.
        assert!(matches!(guarded(&mut racing, &op), Ok(Reply::Ok(_))));
        assert_eq!(racing.cells, bank(12, 3).cells, "the deposit survived");
        assert_eq!(racing.requests, ["read", "cas", "read", "cas", "read", "cas"]);
    }

    #[test]
    fn short_funds_refuse_definitely_and_write_nothing() {
        let mut store = bank(2, 0);
        assert!(matches!(guarded(&mut store, &transfer(3)), Ok(Reply::Fail(why)) if why.contains("insufficient")));
        assert_eq!(store.cells, bank(2, 0).cells);
        assert!(matches!(guarded(&mut store, &transfer(-1)), Ok(Reply::Fail(_))));
    }

    #[test]
    fn giving_up_is_definite_before_the_debit_and_indeterminate_after_it() {
        // Every debit's compare-and-set meets a change: nothing was written, a definite fail.
        let churn = |key: &str| (1..=CAS_ATTEMPTS as i64).map(|i| Some((s(key), Value::Int(100 + i)))).collect();
        let mut store = Store { interference: churn("a"), ..bank(10, 0) };
        assert!(matches!(guarded(&mut store, &transfer(3)), Ok(Reply::Fail(why)) if why.contains("changed under")));
        // The debit applies, then every credit meets a change: the money left `a`, so the
        // outcome is unknown, never a fail.
        let mut interference = vec![None];
        interference.extend(churn("b"));
        let mut store = Store { interference, ..bank(10, 0) };
        assert!(matches!(guarded(&mut store, &transfer(3)), Err(CallError::Indeterminate(_))));
        assert_eq!(store.cells.get(&s("a")), Some(&Value::Int(7)));
    }

    #[test]
    fn a_guarded_append_keeps_a_concurrent_append() {
        let list = |items: &[i64]| Value::List(items.iter().map(|&i| Value::Int(i)).collect());
        let op = Operation::Txn { ops: vec![MicroOp::Append { key: s("k"), value: Value::Int(2) }] };
        let mut store = Store { interference: vec![Some((s("k"), list(&[1])))], ..Store::default() };
        assert!(matches!(guarded(&mut store, &op), Ok(Reply::Ok(_))));
        assert_eq!(store.cells.get(&s("k")), Some(&list(&[1, 2])), "the other append survived");
    }
}
