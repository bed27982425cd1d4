//! Events -> list-append transactions, one event at a time.
//!
//! [`ListAppendReader`] takes the events of a history in order (from a file read as a stream,
//! or a slice) and keeps only the transactions: the events themselves are never needed again.
//! Client events are paired per process (a process has at most one outstanding invocation);
//! named processes (`nemesis`) are ignored. A transaction's micro-operations come from its `ok`
//! completion (which carries the values read), else from its invocation. Keys are interned in
//! order of first appearance. Every malformed micro-operation is an error naming its event.
//!
//! # What is kept, and its size
//! A transaction is 32 bytes and a micro-operation 16; the micro-operations of all
//! transactions share one vector. A list read is not kept once per read but as a length into
//! one of a few lists its key keeps ([`super::versions`]): when reads agree (in every valid
//! history) each key holds one list, its longest read, and memory grows with the values
//! appended, not with the lengths of the reads: a history of 100,000 transactions that read
//! lists of hundreds of values is a few MiB.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use history::{Event, EventType, Process, Value};

use super::versions::Versions;
pub use super::versions::{Seen, VERSIONS_TRIED};
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mop {
    /// `[append k v]`.
    Append {
        /// Interned key.
        key: u32,
        /// The value appended.
        value: i64,
    },
    /// `[r k v]`: what the read returned is `seen` (see [`Parsed::values`]).
    Read {
        /// Interned key.
        key: u32,
        /// What the read returned.
        seen: Seen,
    },
}

/// An event number, or none (a transaction that never completed).
const OPEN: u32 = u32::MAX;

/// One transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txn {
    /// The client process.
    pub process: u64,
    pub(crate) invoke: u32,
    pub(crate) complete: u32,
    /// Its micro-operations: `Parsed::mops[first..first + count]`.
    pub(crate) first: u32,
    pub(crate) count: u32,
    /// Outcome.
    pub status: Status,
}

impl Txn {
    /// Index of the invocation event.
    pub fn invoke(&self) -> usize {
        self.invoke as usize
    }

    /// Index of the completion event, if any.
    pub fn complete(&self) -> Option<usize> {
        (self.complete != OPEN).then_some(self.complete as usize)
    }

    /// The event that names the transaction: its completion, else its invocation.
    pub fn event(&self) -> usize {
        self.complete().unwrap_or(self.invoke())
    }
}

/// A parsed history: transactions in invocation order, their micro-operations, the interned
/// keys and the versions reads refer to.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// Transactions, ordered by invocation.
    pub txns: Vec<Txn>,
    /// `keys[k]` is the key interned as `k`.
    pub keys: Vec<Value>,
    pub(crate) mops: Vec<Mop>,
    /// Lists that reads are prefixes of.
    pub(crate) versions: Versions,
    /// How many events the history had.
    pub(crate) events: usize,
}

impl Parsed {
    /// (committed, aborted, indeterminate).
    pub fn tally(&self) -> (usize, usize, usize) {
        let count = |s: Status| self.txns.iter().filter(|t| t.status == s).count();
        (count(Status::Ok), count(Status::Fail), count(Status::Info))
    }

    /// The micro-operations of `txn`, in order.
    pub fn ops(&self, txn: &Txn) -> &[Mop] {
        &self.mops[txn.first as usize..txn.first as usize + txn.count as usize]
    }

    /// The values a read returned (`None` when they are not known): borrowed, unless the
    /// read disagreed with its key's other reads (then decoded).
    pub fn values(&self, seen: Seen) -> Option<Cow<'_, [i64]>> {
        self.versions.values(seen)
    }

    /// `(key, values)` when `mop` is a read whose values are known.
    pub fn read(&self, mop: &Mop) -> Option<(u32, Cow<'_, [i64]>)> {
        match *mop {
            Mop::Read { key, seen } => self.values(seen).map(|values| (key, values)),
            Mop::Append { .. } => None,
        }
    }

    /// The client process of the transaction that event `event` invoked or completed.
    pub fn process_of(&self, event: usize) -> Option<u64> {
        self.txns.iter().find(|t| t.invoke() == event || t.complete() == Some(event)).map(|t| t.process)
    }

    /// How many events the history had.
    pub fn events(&self) -> usize {
        self.events
    }

    /// A generous estimate of the bytes the inference and the graph need beyond the parsed
    /// history, structure by structure (hash tables counted at their worst load, vectors at
    /// twice their length: both grow by doubling):
    /// - per append, its entry in its key's append table (16 bytes) and in the position table
    ///   of the version order (16 bytes): 80 bytes;
    /// - per committed read, its place in its key's read list (8 bytes, 16 with slack);
    /// - per micro-operation, up to two edges (12 bytes each while collected, 24 with slack,
    ///   5 in the graph): 58 bytes;
    /// - per transaction, the graph's offsets and the component search's six per-node arrays
    ///   (index, low, on-stack, component, stack, call frame; two searches' results at once),
    ///   and the breadth-first search's parents: 80 bytes;
    /// - per key, its state and read list headers: 160 bytes.
    ///
    /// Real-time edges are not in the estimate: their number is counted as they are made, and
    /// the check stops when they would pass the limit.
    pub fn estimated_bytes(&self) -> usize {
        let appends = self.mops.iter().filter(|m| matches!(m, Mop::Append { .. })).count();
        let reads = self.mops.len() - appends;
        appends * (80 + 29) + reads * (16 + 58) + self.txns.len() * 80 + self.keys.len() * 160
    }
}

/// Reads the events of a list-append history one at a time (see the module docs).
#[derive(Debug, Default)]
pub struct ListAppendReader {
    parsed: Parsed,
    /// Key -> interned number.
    interned: HashMap<Value, u32>,
    /// Per key, its versions, the most recently made or extended last.
    key_versions: Vec<Vec<u32>>,
    /// Process -> its transaction awaiting completion.
    pending: BTreeMap<u64, u32>,
    /// Scratch: a completion's micro-operations, and a read's values.
    completed: Vec<Mop>,
    read: Vec<i64>,
}

impl ListAppendReader {
    /// A reader with nothing read.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many transactions were invoked so far.
    pub fn transactions(&self) -> usize {
        self.parsed.txns.len()
    }

    /// How many events were pushed so far.
    pub fn events(&self) -> usize {
        self.parsed.events
    }

    /// Reads the next event of the history. An error names the event (0-based, counting
    /// every event pushed).
    pub fn push(&mut self, event: &Event) -> Result<(), TxnError> {
        let index = self.parsed.events;
        if index >= OPEN as usize {
            return Err(TxnError::at(index, format!("more than {OPEN} events: too many to check")));
        }
        let number = index as u32;
        self.parsed.events += 1;
        let Process::Client(process) = event.process else { return Ok(()) };
        if event.f != "txn" {
            return Err(TxnError::at(index, format!("expected f = txn in a list-append history, found `{}`", event.f)));
        }
        if event.kind == EventType::Invoke {
            if let Some(&open) = self.pending.get(&process) {
                let at = self.parsed.txns[open as usize].invoke;
                return Err(TxnError::at(
                    index,
                    format!("process {process} invoked again while its invocation at event {} is pending", at + 1),
                ));
            }
            let first = self.parsed.mops.len();
            let mut ops = std::mem::take(&mut self.parsed.mops);
            let parsed = self.mops(&event.value, index, false, &mut ops);
            self.parsed.mops = ops;
            parsed?;
            let count = self.parsed.mops.len() - first;
            let (Ok(first), Ok(count), Ok(txn)) =
                (u32::try_from(first), u32::try_from(count), u32::try_from(self.parsed.txns.len()))
            else {
                return Err(TxnError::at(index, "too many micro-operations to check"));
            };
            self.pending.insert(process, txn);
            self.parsed.txns.push(Txn { process, invoke: number, complete: OPEN, first, count, status: Status::Info });
            return Ok(());
        }
        let Some(open) = self.pending.remove(&process) else {
            return Err(TxnError::at(index, format!("a completion of process {process} without an invocation")));
        };
        let status = match event.kind {
            EventType::Ok => Status::Ok,
            EventType::Fail => Status::Fail,
            _ => Status::Info,
        };
        let txn = &mut self.parsed.txns[open as usize];
        txn.complete = number;
        txn.status = status;
        if status == Status::Ok {
            let mut completed = std::mem::take(&mut self.completed);
            completed.clear();
            let parsed = self.mops(&event.value, index, true, &mut completed);
            let txn = &self.parsed.txns[open as usize];
            let invoked = &mut self.parsed.mops[txn.first as usize..txn.first as usize + txn.count as usize];
            let result = parsed.and_then(|()| {
                if !same_shape(invoked, &completed) {
                    return Err(TxnError::at(index, "the completion's micro-operations differ from the invocation's"));
                }
                invoked.copy_from_slice(&completed);
                Ok(())
            });
            self.completed = completed;
            result?;
        }
        Ok(())
    }

    /// The transactions read, once every event was pushed.
    pub fn finish(mut self) -> Parsed {
        self.parsed.versions.shrink_to_fit();
        self.parsed.mops.shrink_to_fit();
        self.parsed.txns.shrink_to_fit();
        self.parsed
    }

    fn mops(&mut self, value: &Value, event: usize, completed: bool, out: &mut Vec<Mop>) -> Result<(), TxnError> {
        let Value::List(items) = value else {
            return Err(TxnError::at(event, format!("expected a list of micro-operations, found {}", value.shape())));
        };
        for item in items {
            let mop = self.mop(item, event, completed)?;
            out.push(mop);
        }
        Ok(())
    }

    fn mop(&mut self, item: &Value, event: usize, completed: bool) -> Result<Mop, TxnError> {
        let bad = |why: &str| TxnError::at(event, format!("malformed micro-operation {item}: {why}"));
        let Some([f, k, v]) = item.as_list().and_then(|l| <&[Value; 3]>::try_from(l).ok()) else {
            return Err(bad("expected [f k v]"));
        };
        let key = match self.interned.get(k) {
            Some(&id) => id,
            None => {
                let id = u32::try_from(self.parsed.keys.len()).map_err(|_| bad("too many keys"))?;
                self.interned.insert(k.clone(), id);
                self.parsed.keys.push(k.clone());
                self.key_versions.push(Vec::new());
                id
            }
        };
        match f.as_str() {
            Some("append") => match v {
                Value::Int(value) => Ok(Mop::Append { key, value: *value }),
                _ => Err(bad("an appended value must be an integer")),
            },
            Some("r") => {
                let seen = match (completed, v) {
                    (false, _) => Seen::UNKNOWN,
                    (true, Value::Nil) => Seen::EMPTY,
                    (true, Value::List(read)) => {
                        let mut values = std::mem::take(&mut self.read);
                        values.clear();
                        let ints = read.iter().try_for_each(|x| {
                            values.push(x.as_int().ok_or_else(|| bad("a read returns a list of integers"))?);
                            Ok(())
                        });
                        let versions = &mut self.key_versions[key as usize];
                        let seen = ints.and_then(|()| {
                            self.parsed.versions.record(versions, &values).ok_or_else(|| bad("too many values"))
                        });
                        self.read = values;
                        seen?
                    }
                    (true, _) => return Err(bad("a read returns a list of integers or nil")),
                };
                Ok(Mop::Read { key, seen })
            }
            Some("w") => Err(bad("rw-register writes (`w`) are not supported: this is the list-append checker")),
            _ => Err(bad("the function must be append or r")),
        }
    }
}

/// Parses the client events of a list-append history.
pub fn parse(events: &[Event]) -> Result<Parsed, TxnError> {
    let mut reader = ListAppendReader::new();
    for event in events {
        reader.push(event)?;
    }
    Ok(reader.finish())
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
        assert_eq!(parsed.txns[0].complete(), Some(3));
        assert_eq!(parsed.read(&parsed.ops(&parsed.txns[0])[1]), Some((0, Cow::Borrowed(&[5][..]))));
        assert_eq!(parsed.txns[1].status, Status::Info);
        assert_eq!(parsed.ops(&parsed.txns[1])[0], Mop::Read { key: 1, seen: Seen::UNKNOWN });
        assert_eq!(parsed.process_of(3), Some(0));
        assert_eq!(parsed.process_of(2), Some(1));
        assert_eq!(parsed.process_of(1), None, "the nemesis");
        assert_eq!(parsed.events(), 4);
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

    fn reads(parsed: &Parsed) -> Vec<Vec<i64>> {
        let ops = parsed.txns.iter().flat_map(|t| parsed.ops(t));
        ops.filter_map(|op| parsed.read(op)).map(|(_, values)| values.into_owned()).collect()
    }

    #[test]
    fn agreeing_reads_share_one_version_and_disagreeing_ones_keep_their_own() {
        let ok_read = |p: u64, values: &[i64]| {
            let list =
                if values.is_empty() { Value::Nil } else { Value::List(values.iter().map(|&v| v.into()).collect()) };
            [txn(p, EventType::Invoke, vec![op("r", 1, Value::Nil)]), txn(p, EventType::Ok, vec![op("r", 1, list)])]
        };
        let lists: [&[i64]; 8] = [&[1, 2], &[1], &[], &[1, 2, 3, 4], &[1, 2, 3], &[2, 1], &[1, 2, 3, 4, 5], &[2, 1, 7]];
        let events: Vec<Event> = lists.iter().enumerate().flat_map(|(p, l)| ok_read(p as u64, l)).collect();
        let parsed = parse(&events).expect("valid");
        let expected: Vec<Vec<i64>> = lists.iter().map(|l| l.to_vec()).collect();
        assert_eq!(reads(&parsed), expected, "every read returns what it read");
        // [1 2 3 4 5] in place; [2 1] and [2 1 7] packed (the second extends the first: its own).
        assert_eq!(parsed.versions.held(), (5, 5), "one plain version, two packed");
    }

    #[test]
    fn a_read_is_compared_with_its_keys_last_few_versions_only() {
        // Versions [i] for i in 0..=VERSIONS_TRIED (the first plain, the rest packed), then [0]
        // again: the first version is no longer tried, so [0] gets a version of its own, and
        // still reads as [0]; then [VERSIONS_TRIED], tried and shared.
        let mut events = Vec::new();
        let lists: Vec<i64> = (0..=VERSIONS_TRIED as i64).chain([0, VERSIONS_TRIED as i64]).collect();
        for (p, v) in lists.iter().enumerate() {
            events.push(txn(p as u64, EventType::Invoke, vec![op("r", 1, Value::Nil)]));
            events.push(txn(p as u64, EventType::Ok, vec![op("r", 1, Value::List(vec![(*v).into()]))]));
        }
        let parsed = parse(&events).expect("valid");
        let expected: Vec<Vec<i64>> = lists.iter().map(|&v| vec![v]).collect();
        assert_eq!(reads(&parsed), expected);
        assert_eq!(parsed.versions.held(), (1, VERSIONS_TRIED + 1), "one plain version, the rest packed");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Whatever the reads of a key (prefixes of one another, extensions, divergent lists,
        /// empty ones, in any order), each read gives back exactly the list it read, and the
        /// versions never hold more values than the reads did.
        #[test]
        fn every_read_gives_back_what_it_read(
            lists in proptest::collection::vec(
                (0..3i64, proptest::collection::vec(0..4i64, 0..6)), 1..40),
        ) {
            let mut events = Vec::new();
            for (p, (key, list)) in lists.iter().enumerate() {
                let read = if list.is_empty() { Value::Nil } else { Value::List(list.iter().map(|&v| v.into()).collect()) };
                events.push(txn(p as u64, EventType::Invoke, vec![op("r", *key, Value::Nil)]));
                events.push(txn(p as u64, EventType::Ok, vec![op("r", *key, read)]));
            }
            let parsed = parse(&events).expect("valid");
            let expected: Vec<Vec<i64>> = lists.iter().map(|(_, list)| list.clone()).collect();
            proptest::prop_assert_eq!(reads(&parsed), expected);
            let (plain, packed) = parsed.versions.held();
            let read: usize = lists.iter().map(|(_, list)| list.len()).sum();
            proptest::prop_assert!(plain + packed <= read, "versions hold {} values and {} bytes for {} read", plain, packed, read);
        }
    }

    #[test]
    fn transactions_and_micro_operations_stay_small() {
        assert_eq!(std::mem::size_of::<Mop>(), 16);
        assert_eq!(std::mem::size_of::<Txn>(), 32);
    }
}
