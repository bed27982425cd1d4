//! The checker against a brute-force oracle on small random histories.
//!
//! The oracle below is written independently of the checker's search: it pairs events into
//! operations, then tries every order of them that real time allows, stepping the model, with
//! no memoisation and no pruning beyond the real-time rule. Histories stay small (at most
//! [`MAX_OPS`] operations) so that this is affordable.
//!
//! Generators:
//! - random histories (register, cas-register, kv) whose read results are drawn at random
//!   from a small domain, with `ok` / `fail` / `info` completions and invocations left open;
//! - histories of actual executions of a real object, each operation taking effect at a random
//!   point of its interval (or, when indeterminate, later or never), optionally perturbed in
//!   one completion, so that both verdicts are common;
//! - every history may carry nemesis events, which the checker and the oracle both ignore,
//!   and may carry times: strictly increasing ones (real time is still event order), or
//!   non-decreasing ones where equal times are concurrent.
//!
//! Properties: the checker's outcome matches the oracle (overall and per partition); a reported
//! linearization replays and respects real time; a reported violation blocks on a completed
//! operation; the verdict is deterministic (twice, and with two jobs). Named regression cases
//! pin known verdicts, and a fixed-seed census asserts that both verdicts are well represented.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use checker::{
    check, CasRegister, CheckOptions, Completion, Kv, Model, OpSummary, Outcome, PartitionResult, Register, Verdict,
};
use history::{Event, EventType, Process, Value};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};

/// Most client operations (invocations) in a generated history.
const MAX_OPS: usize = 8;

/// Cases per property.
const CASES: u32 = 10_000;

// ---------------------------------------------------------------------------------------------
// The oracle
// ---------------------------------------------------------------------------------------------

/// One operation as the oracle sees it.
#[derive(Debug)]
struct OracleOp<O> {
    /// The model's typed operation.
    op: O,
    /// The independent object (partition) it addresses.
    key: Option<Value>,
    /// Index of the invocation event.
    call_event: usize,
    /// Index of the `ok` completion; `None` when the outcome is unknown (`info`, or never
    /// completed): such an operation may take effect at any time after its invocation, or never.
    return_event: Option<usize>,
    /// When it was invoked: see [`real_time`].
    call_at: u64,
    /// When it completed (`ok`); `None` when the outcome is unknown.
    return_at: Option<u64>,
}

/// The real-time position of every event: its `time` when every client event has one (the lab
/// records simulated time, where equal times are concurrent), otherwise its index in the
/// history (the order of events is then the real-time order).
fn real_time(events: &[Event]) -> Vec<u64> {
    let client = |e: &&Event| matches!(e.process, Process::Client(_));
    if events.iter().filter(client).all(|e| e.time.is_some()) {
        events.iter().map(|e| e.time.unwrap_or(0)).collect()
    } else {
        (0..events.len() as u64).collect()
    }
}

/// Pairs each invocation with the next completion of the same client process, drops failed
/// operations (they certainly had no effect) and those the model says constrain nothing (reads
/// with unknown outcome). Events of named processes (the nemesis) are skipped.
fn oracle_ops<M: Model>(model: &M, events: &[Event]) -> Vec<OracleOp<M::Op>> {
    let mut pending: BTreeMap<u64, usize> = BTreeMap::new();
    let mut pairs: Vec<(usize, Option<usize>)> = Vec::new();
    for (index, event) in events.iter().enumerate() {
        let Process::Client(process) = event.process else { continue };
        if event.kind == EventType::Invoke {
            assert!(pending.insert(process, index).is_none(), "process {process} invokes twice");
        } else {
            let call = pending.remove(&process).expect("a completion follows an invocation");
            pairs.push((call, Some(index)));
        }
    }
    // Invocations never completed are indeterminate.
    pairs.extend(pending.into_values().map(|call| (call, None)));

    let at = real_time(events);
    let mut ops = Vec::new();
    for (call, done) in pairs {
        let (completion, return_event) = match done {
            Some(d) if events[d].kind == EventType::Fail => continue,
            Some(d) if events[d].kind == EventType::Ok => (Completion::Ok(&events[d]), Some(d)),
            _ => (Completion::Unknown, None),
        };
        if let Some(op) = model.operation(&events[call], completion).expect("generated events are well formed") {
            ops.push(OracleOp {
                op,
                key: model.partition(&events[call]),
                call_event: call,
                return_event,
                call_at: at[call],
                return_at: return_event.map(|r| at[r]),
            });
        }
    }
    ops.sort_by_key(|o| o.call_event);
    ops
}

/// True when some order of `ops` is legal for the model and consistent with real time.
fn linearizable<M: Model>(model: &M, ops: &[OracleOp<M::Op>]) -> bool {
    let mut placed = vec![false; ops.len()];
    let mut states = BTreeMap::new();
    extend(model, ops, &mut placed, &mut states)
}

/// The oracle's verdict on a whole history (every key at once, each with its own state).
fn oracle<M: Model>(model: &M, events: &[Event]) -> bool {
    linearizable(model, &oracle_ops(model, events))
}

/// The real-time rule: operation A must precede operation B when A completed (`ok`) strictly
/// before B was invoked (for untimed histories: A's completion event comes before B's
/// invocation event). So B may be placed next only when no unplaced *completed* operation
/// returned before B was invoked. An operation with unknown outcome never returned, so it never
/// forces anything to wait for it.
fn precedes<O>(a: &OracleOp<O>, b: &OracleOp<O>) -> bool {
    a.return_at.is_some_and(|ret| ret < b.call_at)
}

fn may_go_next<O>(ops: &[OracleOp<O>], placed: &[bool], b: usize) -> bool {
    ops.iter().zip(placed).all(|(a, &a_placed)| a_placed || !precedes(a, &ops[b]))
}

/// Depth-first search over every order: tries each operation that may go next, in turn.
fn extend<M: Model>(
    model: &M,
    ops: &[OracleOp<M::Op>],
    placed: &mut [bool],
    states: &mut BTreeMap<Option<Value>, M::State>,
) -> bool {
    // Done when every completed operation is placed: the others may never have happened.
    if ops.iter().zip(placed.iter()).all(|(op, &p)| p || op.return_event.is_none()) {
        return true;
    }
    for i in 0..ops.len() {
        if placed[i] || !may_go_next(ops, placed, i) {
            continue;
        }
        let key = &ops[i].key;
        let before = states.get(key).cloned();
        let current = before.clone().unwrap_or_else(|| model.init());
        let Some(next) = model.step(&current, &ops[i].op) else { continue };
        states.insert(key.clone(), next);
        placed[i] = true;
        if extend(model, ops, placed, states) {
            return true;
        }
        placed[i] = false;
        match before {
            Some(state) => states.insert(key.clone(), state),
            None => states.remove(key),
        };
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Checks of the checker
// ---------------------------------------------------------------------------------------------

fn run<M: Model>(model: &M, events: &[Event], jobs: usize) -> Result<Verdict, TestCaseError> {
    let options = CheckOptions { jobs, ..CheckOptions::default() };
    check(model, events, &options).map_err(|e| TestCaseError::fail(format!("check refused the history: {e}")))
}

/// The checker's outcome is the oracle's, overall and for each partition it checked.
fn agrees_with_oracle<M: Model>(model: &M, events: &[Event]) -> Result<bool, TestCaseError> {
    let verdict = run(model, events, 1)?;
    let ops = oracle_ops(model, events);
    let expected = linearizable(model, &ops);
    prop_assert_ne!(verdict.outcome, Outcome::Unknown, "unknown without a deadline");
    prop_assert_eq!(
        verdict.outcome == Outcome::Linearizable,
        expected,
        "checker says {}, oracle says linearizable = {}",
        verdict.outcome,
        expected
    );
    // A partition is skipped only when the check stopped at a violation elsewhere.
    let illegal = verdict.partitions.iter().any(|p| matches!(p.result, PartitionResult::Illegal(_)));
    for partition in &verdict.partitions {
        let key_ops: Vec<OracleOp<M::Op>> =
            oracle_ops(model, events).into_iter().filter(|o| o.key == partition.key).collect();
        prop_assert_eq!(partition.operations, key_ops.len(), "operations searched in partition {:?}", partition.key);
        match &partition.result {
            PartitionResult::Linearizable(_) => {
                prop_assert!(linearizable(model, &key_ops), "partition {:?}: oracle says illegal", partition.key)
            }
            PartitionResult::Illegal(_) => {
                prop_assert!(!linearizable(model, &key_ops), "partition {:?}: oracle says legal", partition.key)
            }
            PartitionResult::Skipped => {
                prop_assert!(illegal, "partition {:?} skipped without a violation", partition.key)
            }
            PartitionResult::Unknown => prop_assert!(false, "partition {:?} unknown", partition.key),
        }
    }
    // Every key with an operation has a partition.
    let keys: BTreeSet<&Option<Value>> = verdict.partitions.iter().map(|p| &p.key).collect();
    for op in &ops {
        prop_assert!(keys.contains(&op.key), "no partition for key {:?}", op.key);
    }
    Ok(expected)
}

/// Replays `order` (operations of the partition `key`): each is a searched operation of that
/// partition, appears once, steps the model, and no operation comes after one that was invoked
/// after it completed.
fn replay_respects_real_time<M: Model>(
    model: &M,
    ops: &[OracleOp<M::Op>],
    key: &Option<Value>,
    order: &[OpSummary],
) -> Result<BTreeSet<usize>, TestCaseError> {
    let by_call: BTreeMap<usize, &OracleOp<M::Op>> = ops.iter().map(|o| (o.call_event, o)).collect();
    let mut seen = BTreeSet::new();
    let mut state = model.init();
    for (position, summary) in order.iter().enumerate() {
        let Some(op) = by_call.get(&summary.call_event) else {
            return Err(TestCaseError::fail(format!(
                "position {position}: event {} is not a searched operation",
                summary.call_event
            )));
        };
        prop_assert_eq!(&op.key, key, "position {}: operation of another partition", position);
        prop_assert_eq!(summary.return_event, op.return_event, "position {}: wrong completion", position);
        prop_assert!(seen.insert(summary.call_event), "position {}: operation placed twice", position);
        match model.step(&state, &op.op) {
            Some(next) => state = next,
            None => return Err(TestCaseError::fail(format!("position {position}: the model rejects {:?}", op.op))),
        }
        for earlier in &order[..position] {
            prop_assert!(
                !precedes(op, by_call[&earlier.call_event]),
                "real time: event {} (completed at {:?}) placed after event {} (invoked later)",
                summary.call_event,
                op.return_at,
                earlier.call_event
            );
        }
    }
    Ok(seen)
}

/// When linearizable, the order reported for each partition is a legal linearization of it.
fn orders_are_legal<M: Model>(model: &M, events: &[Event]) -> Result<(), TestCaseError> {
    let verdict = run(model, events, 1)?;
    if verdict.outcome != Outcome::Linearizable {
        return Ok(());
    }
    let ops = oracle_ops(model, events);
    let mut keys = BTreeSet::new();
    for partition in &verdict.partitions {
        let PartitionResult::Linearizable(order) = &partition.result else {
            return Err(TestCaseError::fail(format!("linearizable, but partition {:?} is not", partition.key)));
        };
        let placed = replay_respects_real_time(model, &ops, &partition.key, order)?;
        for op in ops.iter().filter(|o| o.key == partition.key && o.return_event.is_some()) {
            prop_assert!(placed.contains(&op.call_event), "completed event {} is not placed", op.call_event);
        }
        keys.insert(partition.key.clone());
    }
    for op in ops.iter().filter(|o| o.return_event.is_some()) {
        prop_assert!(keys.contains(&op.key), "completed event {} has no partition", op.call_event);
    }
    Ok(())
}

/// When not linearizable, the witness blocks on a completed operation the prefix leaves out.
fn witness_is_sound<M: Model>(model: &M, events: &[Event]) -> Result<(), TestCaseError> {
    let verdict = run(model, events, 1)?;
    if verdict.outcome != Outcome::NotLinearizable {
        prop_assert!(verdict.violation().is_none(), "a witness without a violation");
        return Ok(());
    }
    let Some((partition, witness)) = verdict.violation() else {
        return Err(TestCaseError::fail("not linearizable, but no witness"));
    };
    let ops: Vec<OracleOp<M::Op>> = oracle_ops(model, events).into_iter().filter(|o| o.key == partition.key).collect();
    let blocked = &witness.blocked;
    prop_assert!(blocked.return_event.is_some(), "blocked on an operation with unknown outcome: {:?}", blocked);
    prop_assert!(witness.prefix.len() < partition.operations, "the prefix holds every operation");
    let in_prefix = replay_respects_real_time(model, &ops, &partition.key, &witness.prefix)?;
    prop_assert!(!in_prefix.contains(&blocked.call_event), "the blocked operation is in the prefix");
    // The blocked operation is a completed one of the partition, and the earliest to return of
    // those left out (with times, several may return at once).
    let Some(op) = ops.iter().find(|o| o.call_event == blocked.call_event) else {
        return Err(TestCaseError::fail(format!("blocked on event {}, not a searched operation", blocked.call_event)));
    };
    prop_assert_eq!(op.return_event, blocked.return_event, "blocked operation's completion");
    let earliest = ops.iter().filter(|o| !in_prefix.contains(&o.call_event)).filter_map(|o| o.return_at).min();
    prop_assert_eq!(earliest, op.return_at, "the blocked operation is not the earliest to return");
    Ok(())
}

/// The same history gives the same verdict twice, and with two jobs.
fn deterministic<M: Model>(model: &M, events: &[Event]) -> Result<(), TestCaseError> {
    let first = run(model, events, 1)?;
    let again = run(model, events, 1)?;
    prop_assert_eq!(&first, &again, "two runs differ");
    let parallel = run(model, events, 2)?;
    prop_assert_eq!(&first, &parallel, "one job and two jobs differ");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------

/// Which model a generated history is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Register,
    CasRegister,
    Kv,
}

/// Calls `$body` with `$m` bound to the model of `$kind`.
macro_rules! with_model {
    ($kind:expr, |$m:ident| $body:expr) => {
        match $kind {
            Kind::Register => {
                let $m = &Register;
                $body
            }
            Kind::CasRegister => {
                let $m = &CasRegister;
                $body
            }
            Kind::Kv => {
                let $m = &Kv;
                $body
            }
        }
    };
}

/// A generated history, printed one event a line when a property fails.
#[derive(Clone)]
struct Case {
    kind: Kind,
    source: &'static str,
    events: Vec<Event>,
}

impl fmt::Debug for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:?} history ({}):", self.kind, self.source)?;
        for (i, e) in self.events.iter().enumerate() {
            let key = e.key.as_ref().map_or_else(String::new, |k| format!(" key={k}"));
            let time = e.time.map_or_else(String::new, |t| format!(" t={t}"));
            writeln!(f, "  {i:2}: {} {} {}{key} {}{time}", e.process, e.kind, e.f, e.value)?;
        }
        Ok(())
    }
}

/// Register values: nil and 0..3 (what reads may return).
fn domain(x: u8) -> Value {
    match x % 4 {
        0 => Value::Nil,
        n => Value::Int(i64::from(n) - 1),
    }
}

/// Values a write stores: 0..3.
fn written(x: u8) -> Value {
    Value::Int(i64::from(x % 3))
}

/// Strings a kv `get` may return.
fn text(x: u8) -> Value {
    match x % 8 {
        0 => Value::Nil,
        n => Value::from(["", "x", "y", "xy", "yx", "xx", "yy"][usize::from(n) - 1]),
    }
}

/// A random result for a read of `kind`.
fn random_result(kind: Kind, x: u8) -> Value {
    match kind {
        Kind::Register | Kind::CasRegister => domain(x),
        Kind::Kv => text(x),
    }
}

fn is_read(f: &str) -> bool {
    f == "read" || f == "get"
}

/// An operation of `kind`: (function, key, argument).
fn choose_op(kind: Kind, a: u8, b: u8) -> (&'static str, Option<Value>, Value) {
    match kind {
        Kind::Register => match a % 2 {
            0 => ("read", None, Value::Nil),
            _ => ("write", None, written(b)),
        },
        Kind::CasRegister => match a % 3 {
            0 => ("read", None, Value::Nil),
            1 => ("write", None, written(b)),
            _ => ("cas", None, Value::List(vec![domain(b), written(b / 4)])),
        },
        Kind::Kv => {
            let key = Some(Value::from(["a", "b"][usize::from(b % 2)]));
            let arg = Value::from(["x", "y"][usize::from((b / 2) % 2)]);
            match a % 3 {
                0 => ("get", key, Value::Nil),
                1 => ("put", key, arg),
                _ => ("append", key, arg),
            }
        }
    }
}

/// Builds a history for up to four client slots. A slot whose operation ended in `info` is
/// retired and continues under a fresh process id, as Jepsen does; a process never has two
/// pending invocations.
struct Builder {
    events: Vec<Event>,
    /// Current process id of each slot.
    ids: Vec<u64>,
    next_id: u64,
    /// The pending invocation (event index) of each slot.
    pending: Vec<Option<usize>>,
    invoked: usize,
}

impl Builder {
    fn new(slots: usize) -> Self {
        Self {
            events: Vec::new(),
            ids: (0..slots as u64).collect(),
            next_id: slots as u64,
            pending: vec![None; slots],
            invoked: 0,
        }
    }

    fn can_invoke(&self) -> bool {
        self.invoked < MAX_OPS
    }

    fn invoke(&mut self, slot: usize, (f, key, value): (&str, Option<Value>, Value)) -> usize {
        let mut event = Event::new(Process::Client(self.ids[slot]), EventType::Invoke, f, value);
        event.key = key;
        self.events.push(event);
        self.pending[slot] = Some(self.events.len() - 1);
        self.invoked += 1;
        self.events.len() - 1
    }

    fn complete(&mut self, slot: usize, kind: EventType, value: Value) {
        let call = self.pending[slot].take().expect("a pending invocation");
        let mut event = Event::new(Process::Client(self.ids[slot]), kind, self.events[call].f.clone(), value);
        event.key = self.events[call].key.clone();
        self.events.push(event);
        if kind == EventType::Info {
            self.ids[slot] = self.next_id;
            self.next_id += 1;
        }
    }
}

/// Random bytes driving one step of a generator.
type Step = (u8, u8, u8, u8, u8);

/// A history with random results: completions are `ok` (60%), `fail` or `info` (20% each);
/// read results are drawn from the value domain, so they may or may not be plausible.
fn random_history(kind: Kind, slots: usize, steps: &[Step]) -> Vec<Event> {
    let mut b = Builder::new(slots);
    for &(slot, x, y, z, w) in steps {
        let slot = usize::from(slot) % slots;
        match b.pending[slot] {
            None if b.can_invoke() => {
                b.invoke(slot, choose_op(kind, x, y));
            }
            None => {}
            Some(call) => {
                let completion = match z % 10 {
                    0..=5 => EventType::Ok,
                    6 | 7 => EventType::Fail,
                    _ => EventType::Info,
                };
                let call = &b.events[call];
                let value = match (is_read(&call.f), completion) {
                    (true, EventType::Ok) => random_result(kind, w),
                    (true, _) => Value::Nil,
                    (false, _) => call.value.clone(),
                };
                b.complete(slot, completion, value);
            }
        }
    }
    b.events
}

/// A real object: a register (with cas) or a string store.
enum Object {
    Register(Value),
    Kv(BTreeMap<Option<Value>, String>),
}

impl Object {
    fn new(kind: Kind) -> Self {
        match kind {
            Kind::Register | Kind::CasRegister => Object::Register(Value::Nil),
            Kind::Kv => Object::Kv(BTreeMap::new()),
        }
    }

    /// Performs the operation invoked by `call`: its result, or `None` when it has no effect (a
    /// cas whose compare fails).
    fn apply(&mut self, call: &Event) -> Option<Value> {
        match (self, call.f.as_str()) {
            (Object::Register(state), "read") => Some(state.clone()),
            (Object::Register(state), "write") => {
                *state = call.value.clone();
                Some(call.value.clone())
            }
            (Object::Register(state), "cas") => match call.value.as_list() {
                Some([expected, new]) if expected == state => {
                    *state = new.clone();
                    Some(call.value.clone())
                }
                _ => None,
            },
            (Object::Kv(map), "get") => Some(Value::from(map.get(&call.key).map_or("", String::as_str))),
            (Object::Kv(map), "put") => {
                map.insert(call.key.clone(), call.value.as_str().unwrap_or_default().to_owned());
                Some(call.value.clone())
            }
            (Object::Kv(map), "append") => {
                map.entry(call.key.clone()).or_default().push_str(call.value.as_str().unwrap_or_default());
                Some(call.value.clone())
            }
            (_, f) => unreachable!("no such operation {f}"),
        }
    }
}

/// A history of an actual execution: each operation takes effect on a real object at a random
/// point between its invocation and its completion. A completion reports what happened: `ok`
/// with the result, or `fail` when it had no effect (a cas whose compare failed, or an
/// operation that never ran), or `info`; an `info` operation that had not yet taken effect may
/// take effect at any later step, or never.
fn executed_history(kind: Kind, slots: usize, steps: &[Step]) -> Vec<Event> {
    let mut b = Builder::new(slots);
    let mut object = Object::new(kind);
    // Per slot: the effect of the pending operation, once it took effect.
    let mut effect: Vec<Option<Option<Value>>> = vec![None; slots];
    // Indeterminate operations that have not taken effect yet (invocation event indices).
    let mut zombies: Vec<usize> = Vec::new();
    for &(slot, x, y, z, w) in steps {
        if w % 8 == 0 && !zombies.is_empty() {
            let call = zombies.remove(usize::from(x) % zombies.len());
            object.apply(&b.events[call]);
        }
        let slot = usize::from(slot) % slots;
        let Some(call) = b.pending[slot] else {
            if b.can_invoke() {
                b.invoke(slot, choose_op(kind, x, y));
            }
            continue;
        };
        if effect[slot].is_none() {
            match z % 10 {
                // The linearization point, before the completion.
                0..=3 => {
                    effect[slot] = Some(object.apply(&b.events[call]));
                    continue;
                }
                // Never ran.
                4 => {
                    b.complete(slot, EventType::Fail, Value::Nil);
                    continue;
                }
                // Indeterminate, and not run yet.
                5 => {
                    zombies.push(call);
                    b.complete(slot, EventType::Info, Value::Nil);
                    continue;
                }
                // The linearization point is the completion.
                _ => effect[slot] = Some(object.apply(&b.events[call])),
            }
        }
        let result = effect[slot].take().flatten();
        let read = is_read(&b.events[call].f);
        let info = w % 5 == 4;
        match result {
            _ if info => {
                b.complete(slot, EventType::Info, if read { Value::Nil } else { b.events[call].value.clone() })
            }
            Some(value) => b.complete(slot, EventType::Ok, value),
            None => b.complete(slot, EventType::Fail, b.events[call].value.clone()),
        }
    }
    b.events
}

/// Changes one completion: a read's result, or `ok` into `fail` and back, or `info` into `ok`.
fn perturb(kind: Kind, events: &mut [Event], (which, how, value): (u8, u8, u8)) {
    let completions: Vec<usize> = (0..events.len()).filter(|&i| events[i].kind != EventType::Invoke).collect();
    if completions.is_empty() {
        return;
    }
    let event = &mut events[completions[usize::from(which) % completions.len()]];
    match (how % 2, event.kind) {
        (0, EventType::Ok) if is_read(&event.f) => event.value = random_result(kind, value),
        (_, EventType::Ok) => event.kind = EventType::Fail,
        (_, EventType::Fail) | (_, EventType::Info) => {
            event.kind = EventType::Ok;
            if is_read(&event.f) {
                event.value = random_result(kind, value);
            }
        }
        (_, EventType::Invoke) => unreachable!("completions only"),
    }
}

/// What every history may also carry: nemesis events, and a clock (see [`decorate`]).
type Extras = (Vec<(u8, bool)>, (u8, u32));

fn extras() -> impl Strategy<Value = Extras> {
    (vec(any::<(u8, bool)>(), 0..3), any::<(u8, u32)>())
}

/// Sprinkles nemesis events (an `info`, or an `invoke`/`info` pair) and gives events times:
/// none (a third of the histories), strictly increasing ones (so real time is still the order
/// of events), or non-decreasing ones where consecutive events may share a time (and are then
/// concurrent); in that last case nemesis events have no time, which must not matter.
fn decorate(mut events: Vec<Event>, (nemesis, (clock, ticks)): Extras) -> Vec<Event> {
    for (position, pair) in nemesis {
        let at = usize::from(position) % (events.len() + 1);
        let nemesis = |kind| Event::new(Process::Named("nemesis".to_owned()), kind, "kill", Value::Nil);
        events.insert(at, nemesis(EventType::Info));
        if pair {
            events.insert(at, nemesis(EventType::Invoke));
        }
    }
    let mut time = 1_000;
    for (i, event) in events.iter_mut().enumerate() {
        match clock % 3 {
            0 => {}
            1 => event.time = Some(1_000 + 10 * i as u64),
            _ => {
                time += 10 * u64::from((ticks >> (i % 32)) & 1);
                if matches!(event.process, Process::Client(_)) {
                    event.time = Some(time);
                }
            }
        }
    }
    events
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    vec(any::<Step>(), 0..=32)
}

/// Random histories of `kind`.
fn random_case(kind: Kind, source: &'static str) -> impl Strategy<Value = Case> {
    (1usize..=4, steps(), extras()).prop_map(move |(slots, steps, extras)| Case {
        kind,
        source,
        events: decorate(random_history(kind, slots, &steps), extras),
    })
}

/// Executions of `kind`, half of them perturbed in one completion.
fn executed_case(kind: Kind, source: &'static str) -> impl Strategy<Value = Case> {
    (1usize..=4, steps(), proptest::option::of(any::<(u8, u8, u8)>()), extras()).prop_map(
        move |(slots, steps, perturbation, extras)| {
            let mut events = executed_history(kind, slots, &steps);
            if let Some(p) = perturbation {
                perturb(kind, &mut events, p);
            }
            Case { kind, source, events: decorate(events, extras) }
        },
    )
}

/// Every generator, weighted towards the cas-register.
fn any_case() -> impl Strategy<Value = Case> {
    prop_oneof![
        3 => random_case(Kind::CasRegister, "random cas-register"),
        3 => executed_case(Kind::CasRegister, "executed cas-register"),
        1 => random_case(Kind::Register, "random register"),
        2 => executed_case(Kind::Register, "executed register"),
        1 => random_case(Kind::Kv, "random kv"),
        2 => executed_case(Kind::Kv, "executed kv"),
    ]
}

fn config() -> ProptestConfig {
    // No regression files: this test writes nothing into the repository.
    ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn checker_agrees_with_oracle(case in any_case()) {
        with_model!(case.kind, |m| agrees_with_oracle(m, &case.events))?;
    }

    #[test]
    fn linearizations_replay_in_real_time_order(case in any_case()) {
        with_model!(case.kind, |m| orders_are_legal(m, &case.events))?;
    }

    #[test]
    fn witnesses_block_on_a_completed_operation(case in any_case()) {
        with_model!(case.kind, |m| witness_is_sound(m, &case.events))?;
    }

    #[test]
    fn verdicts_are_deterministic(case in any_case()) {
        with_model!(case.kind, |m| deterministic(m, &case.events))?;
    }
}

/// Generated histories must not make the properties vacuous: with a fixed seed, at least 20%
/// are linearizable and at least 20% are not. Prints the census (`--nocapture` shows it).
#[test]
fn generated_verdicts_are_balanced() {
    let mut runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::ChaCha, &[42; 32]));
    let strategy = any_case();
    // source -> (linearizable, not linearizable)
    let mut census: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    // Histories by number of client operations; histories with an unknown outcome, a fail, a
    // nemesis event.
    let mut sizes = [0usize; MAX_OPS + 1];
    let (mut unknown, mut failed, mut nemesis) = (0, 0, 0);
    let total = 2000;
    for _ in 0..total {
        let case = strategy.new_tree(&mut runner).expect("a history").current();
        let legal = with_model!(case.kind, |m| oracle(m, &case.events));
        let entry = census.entry(case.source).or_default();
        if legal {
            entry.0 += 1;
        } else {
            entry.1 += 1;
        }
        let client = |e: &&Event| matches!(e.process, Process::Client(_));
        let count = |kind| case.events.iter().filter(client).filter(|e| e.kind == kind).count();
        let invocations = count(EventType::Invoke);
        sizes[invocations] += 1;
        unknown += usize::from(count(EventType::Info) + invocations > count(EventType::Ok) + count(EventType::Fail));
        failed += usize::from(count(EventType::Fail) > 0);
        nemesis += usize::from(case.events.len() > case.events.iter().filter(client).count());
    }
    let linearizable: usize = census.values().map(|c| c.0).sum();
    for (source, (yes, no)) in &census {
        eprintln!("{source:>22}: {yes:4} linearizable, {no:4} not");
    }
    eprintln!("{:>22}: {linearizable:4} linearizable, {:4} not", "all", total - linearizable);
    eprintln!("histories by operation count: {sizes:?}");
    eprintln!("with an unknown outcome: {unknown}, with a fail: {failed}, with nemesis events: {nemesis}");
    assert!(linearizable * 5 >= total, "only {linearizable} of {total} linearizable");
    assert!((total - linearizable) * 5 >= total, "only {} of {total} not linearizable", total - linearizable);
}

// ---------------------------------------------------------------------------------------------
// Named regression cases
// ---------------------------------------------------------------------------------------------

fn event(process: u64, kind: EventType, f: &str, value: Value) -> Event {
    Event::new(Process::Client(process), kind, f, value)
}

fn invoke(process: u64, f: &str, value: Value) -> Event {
    event(process, EventType::Invoke, f, value)
}

fn ok(process: u64, f: &str, value: Value) -> Event {
    event(process, EventType::Ok, f, value)
}

fn fail(process: u64, f: &str, value: Value) -> Event {
    event(process, EventType::Fail, f, value)
}

fn info(process: u64, f: &str, value: Value) -> Event {
    event(process, EventType::Info, f, value)
}

fn int(i: i64) -> Value {
    Value::Int(i)
}

fn pair(expected: Value, new: Value) -> Value {
    Value::List(vec![expected, new])
}

fn keyed(mut event: Event, key: &str) -> Event {
    event.key = Some(Value::from(key));
    event
}

fn nemesis(kind: EventType) -> Event {
    Event::new(Process::Named("nemesis".to_owned()), kind, "partition", Value::Nil)
}

/// The oracle and the checker both give `expected`, and every property holds.
fn expect<M: Model>(model: &M, events: &[Event], expected: bool) -> Verdict {
    assert_eq!(oracle(model, events), expected, "the oracle disagrees with the expected verdict");
    let properties = [
        agrees_with_oracle(model, events).map(drop),
        orders_are_legal(model, events),
        witness_is_sound(model, events),
        deterministic(model, events),
    ];
    for result in properties {
        if let Err(e) = result {
            panic!("{e}");
        }
    }
    let verdict = run(model, events, 1).expect("checks");
    let want = if expected { Outcome::Linearizable } else { Outcome::NotLinearizable };
    assert_eq!(verdict.outcome, want);
    verdict
}

#[test]
fn stale_read_after_completed_write() {
    let events =
        [invoke(0, "write", int(1)), ok(0, "write", int(1)), invoke(1, "read", Value::Nil), ok(1, "read", Value::Nil)];
    let verdict = expect(&Register, &events, false);
    let (_, witness) = verdict.violation().expect("a witness");
    assert_eq!(witness.blocked.call_event, 2);
}

#[test]
fn concurrent_read_may_be_stale() {
    let events =
        [invoke(0, "write", int(1)), invoke(1, "read", Value::Nil), ok(1, "read", Value::Nil), ok(0, "write", int(1))];
    expect(&Register, &events, true);
}

#[test]
fn new_then_old_read_is_not_linearizable() {
    let events = [
        invoke(0, "write", int(1)),
        invoke(1, "read", Value::Nil),
        ok(1, "read", int(1)),
        invoke(1, "read", Value::Nil),
        ok(1, "read", Value::Nil),
        ok(0, "write", int(1)),
    ];
    expect(&Register, &events, false);
}

#[test]
fn read_of_an_info_write() {
    let events = [
        invoke(0, "write", int(1)),
        info(0, "write", int(1)),
        nemesis(EventType::Invoke),
        nemesis(EventType::Info),
        invoke(1, "read", Value::Nil),
        ok(1, "read", int(1)),
    ];
    expect(&Register, &events, true);
}

#[test]
fn read_of_a_never_completed_write() {
    let events = [invoke(0, "write", int(1)), invoke(1, "read", Value::Nil), ok(1, "read", int(1))];
    expect(&CasRegister, &events, true);
}

#[test]
fn read_of_a_failed_write() {
    let events =
        [invoke(0, "write", int(1)), fail(0, "write", int(1)), invoke(1, "read", Value::Nil), ok(1, "read", int(1))];
    expect(&Register, &events, false);
}

#[test]
fn info_write_placed_after_a_later_read() {
    // The write must take effect after the read of nil and before the read of 2.
    let events = [
        invoke(0, "write", int(1)),
        ok(0, "write", int(1)),
        invoke(1, "write", int(2)),
        info(1, "write", int(2)),
        invoke(2, "read", Value::Nil),
        ok(2, "read", int(1)),
        invoke(2, "read", Value::Nil),
        ok(2, "read", int(2)),
    ];
    expect(&Register, &events, true);
    // An effect cannot be undone: 2 then 1 again is impossible.
    let mut reversed = events.to_vec();
    reversed[5].value = int(2);
    reversed[7].value = int(1);
    expect(&Register, &reversed, false);
}

#[test]
fn cas_that_failed_had_no_effect() {
    let events = [
        invoke(0, "write", int(0)),
        ok(0, "write", int(0)),
        invoke(1, "cas", pair(int(0), int(1))),
        fail(1, "cas", pair(int(0), int(1))),
        invoke(0, "read", Value::Nil),
        ok(0, "read", int(1)),
    ];
    expect(&CasRegister, &events, false);
    let mut succeeded = events.to_vec();
    succeeded[3].kind = EventType::Ok;
    expect(&CasRegister, &succeeded, true);
}

#[test]
fn cas_that_cannot_match_is_not_linearizable() {
    let events = [
        invoke(0, "write", int(0)),
        ok(0, "write", int(0)),
        invoke(1, "cas", pair(int(2), int(1))),
        ok(1, "cas", pair(int(2), int(1))),
    ];
    expect(&CasRegister, &events, false);
}

#[test]
fn info_cas_may_never_happen() {
    let events = [
        invoke(0, "cas", pair(Value::Nil, int(1))),
        info(0, "cas", pair(Value::Nil, int(1))),
        invoke(1, "read", Value::Nil),
        ok(1, "read", Value::Nil),
        invoke(1, "read", Value::Nil),
        ok(1, "read", int(1)),
        invoke(1, "read", Value::Nil),
        ok(1, "read", int(1)),
    ];
    expect(&CasRegister, &events, true);
}

#[test]
fn two_keys_only_one_bad() {
    let events = [
        keyed(invoke(0, "put", Value::from("x")), "a"),
        keyed(ok(0, "put", Value::from("x")), "a"),
        keyed(invoke(1, "append", Value::from("y")), "b"),
        keyed(ok(1, "append", Value::from("y")), "b"),
        keyed(invoke(0, "get", Value::Nil), "a"),
        keyed(ok(0, "get", Value::from("x")), "a"),
        keyed(invoke(1, "get", Value::Nil), "b"),
        keyed(ok(1, "get", Value::Nil), "b"),
    ];
    let verdict = expect(&Kv, &events, false);
    let (partition, witness) = verdict.violation().expect("a witness");
    assert_eq!(partition.key, Some(Value::from("b")));
    assert_eq!(witness.blocked.call_event, 6);
    assert!(matches!(verdict.partitions[0].result, PartitionResult::Linearizable(_)));
    let mut fixed = events.to_vec();
    fixed[7].value = Value::from("y");
    expect(&Kv, &fixed, true);
}

#[test]
fn equal_times_are_concurrent() {
    let timed = |mut event: Event, time: u64| {
        event.time = Some(time);
        event
    };
    let events = [
        timed(invoke(0, "write", int(1)), 0),
        timed(ok(0, "write", int(1)), 10),
        timed(invoke(1, "read", Value::Nil), 10),
        timed(ok(1, "read", Value::Nil), 20),
        // Not timed, and not a client: does not make the history untimed.
        nemesis(EventType::Info),
    ];
    expect(&Register, &events, true);
    let mut later = events.to_vec();
    later[2].time = Some(11);
    expect(&Register, &later, false);
    // Without times, the order of events decides: the write completed before the read began.
    let untimed: Vec<Event> = events.iter().cloned().map(|e| Event { time: None, ..e }).collect();
    expect(&Register, &untimed, false);
}
