//! Events -> list-append transactions.
//!
//! Client events are paired per process (a process has at most one outstanding invocation);
//! named processes (`nemesis`) are ignored. A transaction's micro-operations come from its `ok`
//! completion (which carries the values read), else from its invocation. Keys are interned in
//! order of first appearance. Every malformed micro-operation is an error naming its event.

use std::collections::{BTreeMap, HashMap};

use history::{Event, EventType, Process, Value};

use super::TxnError;

/// What became of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Completed `ok`: committed.
    Ok,
    /// Completed `fail`: certainly did not happen.
    Fail,
    /// Completed `info`, or never completed: may have happened.
    Info,
}

/// One micro-operation, keys interned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mop {
    /// `[append k v]`.
    Append {
        /// Interned key.
        key: u32,
        /// The value appended.
        value: i64,
    },
    /// `[r k v]`: `values` is the list read (`None` when not known: not `ok`).
    Read {
        /// Interned key.
        key: u32,
        /// What the read returned.
        values: Option<Vec<i64>>,
    },
}

/// One transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txn {
    /// Index of the invocation event.
    pub invoke: usize,
    /// Index of the completion event, if any.
    pub complete: Option<usize>,
    /// Outcome.
    pub status: Status,
    /// The client process.
    pub process: u64,
    /// Micro-operations in order.
    pub ops: Vec<Mop>,
}

impl Txn {
    /// The event that names the transaction: its completion, else its invocation.
    pub fn event(&self) -> usize {
        self.complete.unwrap_or(self.invoke)
    }
}

/// A parsed history: transactions in invocation order and the interned keys.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// Transactions, ordered by invocation.
    pub txns: Vec<Txn>,
    /// `keys[k]` is the key interned as `k`.
    pub keys: Vec<Value>,
}

impl Parsed {
    /// (committed, aborted, indeterminate).
    pub fn tally(&self) -> (usize, usize, usize) {
        let count = |s: Status| self.txns.iter().filter(|t| t.status == s).count();
        (count(Status::Ok), count(Status::Fail), count(Status::Info))
    }

    /// A generous estimate of the bytes the inference and the graph need: per transaction its
    /// record and graph node, per micro-operation an index entry and up to three edges, per
    /// value read 8 bytes (version orders and prefix checks), per transaction a few real-time
    /// edges.
    pub fn estimated_bytes(&self, realtime: bool) -> usize {
        let mops: usize = self.txns.iter().map(|t| t.ops.len()).sum();
        let read_values: usize = self
            .txns
            .iter()
            .flat_map(|t| &t.ops)
            .map(|op| match op {
                Mop::Read { values: Some(v), .. } => v.len(),
                _ => 0,
            })
            .sum();
        let rt_edges = if realtime { 40 } else { 0 };
        self.txns.len() * (64 + rt_edges * 12) + mops * (48 + 3 * 24) + read_values * 8
    }
}

/// Parses the client events of a list-append history.
pub fn parse(events: &[Event]) -> Result<Parsed, TxnError> {
    let mut parsed = Parsed::default();
    let mut keys: HashMap<Value, u32> = HashMap::new();
    let mut pending: BTreeMap<u64, usize> = BTreeMap::new();
    for (index, event) in events.iter().enumerate() {
        let Process::Client(process) = event.process else { continue };
        if event.f != "txn" {
            return Err(TxnError::at(index, format!("expected f = txn in a list-append history, found `{}`", event.f)));
        }
        if event.kind == EventType::Invoke {
            if let Some(&open) = pending.get(&process) {
                let at = parsed.txns[open].invoke;
                return Err(TxnError::at(
                    index,
                    format!("process {process} invoked again while its invocation at event {} is pending", at + 1),
                ));
            }
            let ops = mops(&event.value, index, false, &mut parsed.keys, &mut keys)?;
            pending.insert(process, parsed.txns.len());
            parsed.txns.push(Txn { invoke: index, complete: None, status: Status::Info, process, ops });
            continue;
        }
        let Some(open) = pending.remove(&process) else {
            return Err(TxnError::at(index, format!("a completion of process {process} without an invocation")));
        };
        let txn = &mut parsed.txns[open];
        txn.complete = Some(index);
        txn.status = match event.kind {
            EventType::Ok => Status::Ok,
            EventType::Fail => Status::Fail,
            _ => Status::Info,
        };
        if txn.status == Status::Ok {
            let ops = mops(&event.value, index, true, &mut parsed.keys, &mut keys)?;
            if !same_shape(&txn.ops, &ops) {
                return Err(TxnError::at(index, "the completion's micro-operations differ from the invocation's"));
            }
            txn.ops = ops;
        }
    }
    Ok(parsed)
}

/// Same functions on the same keys, and the same appended values.
fn same_shape(invoked: &[Mop], completed: &[Mop]) -> bool {
    invoked.len() == completed.len()
        && invoked.iter().zip(completed).all(|pair| match pair {
            (Mop::Append { key: a, value: x }, Mop::Append { key: b, value: y }) => a == b && x == y,
            (Mop::Read { key: a, .. }, Mop::Read { key: b, .. }) => a == b,
            _ => false,
        })
}

fn mops(
    value: &Value,
    event: usize,
    completed: bool,
    names: &mut Vec<Value>,
    keys: &mut HashMap<Value, u32>,
) -> Result<Vec<Mop>, TxnError> {
    let Value::List(items) = value else {
        return Err(TxnError::at(event, format!("expected a list of micro-operations, found {}", value.shape())));
    };
    items.iter().map(|item| mop(item, event, completed, names, keys)).collect()
}

fn mop(
    item: &Value,
    event: usize,
    completed: bool,
    names: &mut Vec<Value>,
    keys: &mut HashMap<Value, u32>,
) -> Result<Mop, TxnError> {
    let bad = |why: &str| TxnError::at(event, format!("malformed micro-operation {item}: {why}"));
    let Some([f, k, v]) = item.as_list().and_then(|l| <&[Value; 3]>::try_from(l).ok()) else {
        return Err(bad("expected [f k v]"));
    };
    let key = match keys.get(k) {
        Some(&id) => id,
        None => {
            let id = u32::try_from(names.len()).map_err(|_| bad("too many keys"))?;
            keys.insert(k.clone(), id);
            names.push(k.clone());
            id
        }
    };
    match f.as_str() {
        Some("append") => match v {
            Value::Int(value) => Ok(Mop::Append { key, value: *value }),
            _ => Err(bad("an appended value must be an integer")),
        },
        Some("r") => {
            let values = match (completed, v) {
                (false, _) => None,
                (true, Value::Nil) => Some(Vec::new()),
                (true, Value::List(read)) => Some(
                    read.iter()
                        .map(|x| x.as_int().ok_or_else(|| bad("a read returns a list of integers")))
                        .collect::<Result<_, _>>()?,
                ),
                (true, _) => return Err(bad("a read returns a list of integers or nil")),
            };
            Ok(Mop::Read { key, values })
        }
        Some("w") => Err(bad("rw-register writes (`w`) are not supported: this is the list-append checker")),
        _ => Err(bad("the function must be append or r")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(process: u64, kind: EventType, ops: Vec<Value>) -> Event {
        Event::new(Process::Client(process), kind, "txn", Value::List(ops))
    }

    fn op(f: &str, k: i64, v: Value) -> Value {
        Value::List(vec![f.into(), k.into(), v])
    }

    #[test]
    fn pairs_events_per_process_and_ignores_the_nemesis() {
        let events = vec![
            txn(0, EventType::Invoke, vec![op("append", 1, 5.into()), op("r", 1, Value::Nil)]),
            Event::new(Process::Named("nemesis".into()), EventType::Info, "start", Value::Nil),
            txn(1, EventType::Invoke, vec![op("r", 2, Value::Nil)]),
            txn(0, EventType::Ok, vec![op("append", 1, 5.into()), op("r", 1, Value::List(vec![5.into()]))]),
        ];
        let parsed = parse(&events).expect("valid");
        assert_eq!(parsed.txns.len(), 2);
        assert_eq!(parsed.txns[0].status, Status::Ok);
        assert_eq!(parsed.txns[0].complete, Some(3));
        assert_eq!(parsed.txns[0].ops[1], Mop::Read { key: 0, values: Some(vec![5]) });
        assert_eq!(parsed.txns[1].status, Status::Info);
        assert_eq!(parsed.txns[1].ops[0], Mop::Read { key: 1, values: None });
        assert_eq!(parsed.tally(), (1, 0, 1));
    }

    #[test]
    fn malformed_micro_operations_name_their_event() {
        let cases = [
            (op("w", 1, 2.into()), "not supported"),
            (op("append", 1, "x".into()), "integer"),
            (Value::List(vec!["r".into(), 1.into()]), "[f k v]"),
            (op("cas", 1, 2.into()), "append or r"),
        ];
        for (bad, needle) in cases {
            let events =
                vec![txn(0, EventType::Invoke, vec![op("r", 1, Value::Nil)]), txn(3, EventType::Invoke, vec![bad])];
            let error = parse(&events).expect_err("malformed");
            let TxnError::Event { event, message } = error;
            assert_eq!(event, 1);
            assert!(message.contains(needle), "{message}");
        }
    }

    #[test]
    fn an_ok_read_must_be_a_list_of_integers() {
        let events = vec![
            txn(0, EventType::Invoke, vec![op("r", 1, Value::Nil)]),
            txn(0, EventType::Ok, vec![op("r", 1, "oops".into())]),
        ];
        assert!(matches!(parse(&events), Err(TxnError::Event { event: 1, .. })));
    }
}
