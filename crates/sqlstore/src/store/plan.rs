//! Operations as plans: each operation's SQL, one statement (or micro-operation) per step, so
//! that a server can run a transaction step by step and let simulated time pass in between,
//! holding SQLite's locks as a real server's statements would ([`crate::server`]), while
//! [`super::Store`]'s own methods run every step at once.
//!
//! A plan is called with the step's index (0, 1, ...) on the connection inside the open
//! transaction, and returns [`Flow::Next`] after a statement or [`Flow::Done`] with the
//! operation's result. Plans keep their intermediate results in their own captured state.

use history::Value;
use rusqlite::{Connection, OptionalExtension};

use super::{decode, encode, StoreError};

/// What a plan's step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flow<T> {
    /// A statement ran; the plan has more.
    Next,
    /// The plan is done, with this result.
    Done(T),
}

/// A plan (see the module docs) producing a [`Value`], as the server runs them.
pub type Plan = Box<dyn FnMut(&Connection, usize) -> Result<Flow<Value>, StoreError>>;

/// Reads `key` (`nil` when absent).
pub fn read(key: &Value) -> impl FnMut(&Connection, usize) -> Result<Flow<Value>, StoreError> {
    let key = encode(key);
    move |tx, _| Ok(Flow::Done(get(tx, &key)?))
}

/// Sets `key` to `value`; `nil`.
pub fn write(key: &Value, value: &Value) -> impl FnMut(&Connection, usize) -> Result<Flow<Value>, StoreError> {
    let (key, value) = (encode(key), encode(value));
    move |tx, _| {
        put(tx, &key, &value)?;
        Ok(Flow::Done(Value::Nil))
    }
}

/// Sets `key` to `new` if it holds `expected`; `nil`, or [`StoreError::CasMismatch`] (the
/// transaction is rolled back, having written nothing).
pub fn cas(
    key: &Value,
    expected: &Value,
    new: &Value,
) -> impl FnMut(&Connection, usize) -> Result<Flow<Value>, StoreError> {
    let (key, expected, new) = (encode(key), expected.clone(), encode(new));
    move |tx, step| match step {
        0 if get(tx, &key)? != expected => Err(StoreError::CasMismatch),
        0 => Ok(Flow::Next),
        _ => {
            put(tx, &key, &new)?;
            Ok(Flow::Done(Value::Nil))
        }
    }
}

/// Moves `amount` from `from` to `to` (see [`super::Store::transfer`]): reads both
/// balances, then writes both; `nil`.
pub fn transfer(
    from: &Value,
    to: &Value,
    amount: i64,
) -> impl FnMut(&Connection, usize) -> Result<Flow<Value>, StoreError> {
    let (from, to) = (from.clone(), to.clone());
    let (from_key, to_key) = (encode(&from), encode(&to));
    let (mut from_balance, mut to_balance) = (0, 0);
    move |tx, step| {
        match step {
            0 if amount < 0 => return Err(StoreError::NegativeAmount(amount)),
            0 => from_balance = balance(tx, &from_key, &from)?,
            1 => {
                to_balance = balance(tx, &to_key, &to)?;
                if from_balance < amount {
                    return Err(StoreError::InsufficientFunds { account: from.clone(), balance: from_balance, amount });
                }
                if from_key == to_key {
                    return Ok(Flow::Done(Value::Nil));
                }
            }
            2 => put(tx, &from_key, &encode(&Value::Int(from_balance - amount)))?,
            _ => {
                let after =
                    to_balance.checked_add(amount).ok_or_else(|| StoreError::Overflow { account: to.clone() })?;
                put(tx, &to_key, &encode(&Value::Int(after)))?;
                return Ok(Flow::Done(Value::Nil));
            }
        }
        Ok(Flow::Next)
    }
}

/// Reads `keys`, one per step; the list of their values.
pub fn read_many(keys: &[Value]) -> impl FnMut(&Connection, usize) -> Result<Flow<Value>, StoreError> {
    let keys: Vec<String> = keys.iter().map(encode).collect();
    let mut values = Vec::with_capacity(keys.len());
    move |tx, step| {
        if let Some(key) = keys.get(step) {
            values.push(get(tx, key)?);
        }
        if values.len() < keys.len() {
            Ok(Flow::Next)
        } else {
            Ok(Flow::Done(Value::List(std::mem::take(&mut values))))
        }
    }
}

/// A list-append transaction, one micro-operation per step (see [`super::Store::txn`]); the
/// list of completed micro-operations.
pub fn txn(ops: &[sim::MicroOp]) -> impl FnMut(&Connection, usize) -> Result<Flow<Value>, StoreError> {
    let ops = ops.to_vec();
    let mut completed = Vec::with_capacity(ops.len());
    move |tx, step| {
        if let Some(op) = ops.get(step) {
            let key = encode(op.key());
            let mut list = match get(tx, &key)? {
                Value::Nil => Vec::new(),
                Value::List(items) => items,
                found => return Err(StoreError::NotAList { key: op.key().clone(), found }),
            };
            match op {
                sim::MicroOp::Append { value, .. } => {
                    list.push(value.clone());
                    put(tx, &key, &encode(&Value::List(list)))?;
                    completed.push(op.completed(value.clone()));
                }
                sim::MicroOp::Read { .. } => completed.push(op.completed(Value::List(list))),
            }
        }
        if completed.len() < ops.len() {
            Ok(Flow::Next)
        } else {
            Ok(Flow::Done(Value::List(std::mem::take(&mut completed))))
        }
    }
}

/// Adds `element` to the set; `nil`.
pub fn add(element: &Value) -> impl FnMut(&Connection, usize) -> Result<Flow<Value>, StoreError> {
    let element = encode(element);
    move |tx, _| {
        tx.prepare_cached("INSERT OR IGNORE INTO set_elems(elem) VALUES (?1)")?.execute([&element])?;
        Ok(Flow::Done(Value::Nil))
    }
}

/// The set's elements, sorted by [`Value`]'s order.
pub fn read_set() -> impl FnMut(&Connection, usize) -> Result<Flow<Value>, StoreError> {
    |tx, _| {
        let mut statement = tx.prepare_cached("SELECT elem FROM set_elems")?;
        let texts = statement.query_map([], |row| row.get::<_, String>(0))?;
        let mut elements = Vec::new();
        for text in texts {
            elements.push(decode(&text?)?);
        }
        elements.sort();
        Ok(Flow::Done(Value::List(elements)))
    }
}

pub(super) fn get(tx: &Connection, key: &str) -> Result<Value, StoreError> {
    let text: Option<String> =
        tx.prepare_cached("SELECT value FROM kv WHERE key = ?1")?.query_row([key], |row| row.get(0)).optional()?;
    text.map_or(Ok(Value::Nil), |text| decode(&text))
}

pub(super) fn put(tx: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    tx.prepare_cached(
        "INSERT INTO kv(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute([key, value])?;
    Ok(())
}

fn balance(tx: &Connection, key: &str, account: &Value) -> Result<i64, StoreError> {
    match get(tx, key)? {
        Value::Nil => Ok(0),
        Value::Int(balance) => Ok(balance),
        found => Err(StoreError::NotAnInteger { account: account.clone(), found }),
    }
}
