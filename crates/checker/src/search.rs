//! The linearizability search for one partition: Wing & Gong's algorithm with Lowe's
//! memoisation, as Porcupine runs it, plus two prunings that keep Jepsen's semantics:
//!
//! - The history becomes a doubly linked list of call and return entries in real-time order.
//!   The search repeatedly tries to linearize the first pending call whose operation the model
//!   accepts; reaching the return entry of an operation not yet linearized means the current
//!   order cannot be extended, so it backtracks.
//! - A configuration (set of linearized operations, model state) seen before is not explored
//!   again ([`Memo`]). The set's hash is kept incrementally (Zobrist), and model states are
//!   interned. The memo's key is the set's *window*: the first operation not yet linearized
//!   (every one before it is), then the bitset's words from there to the last linearized
//!   operation. Its length follows the history's concurrency, not its length, so a long
//!   history is checked in time and memory linear in its operations (a whole bitset per key
//!   made both quadratic).
//! - The longest legal prefix (the witness of a violation) is saved when the search backtracks
//!   from a deeper stack than any before, copying only what changed since the last save
//!   (copying the whole stack at every step, or at every such backtrack, was quadratic too).
//! - Operations with unknown outcome have no return entry: they never force a backtrack and
//!   need not be linearized at all (they may never have happened). The search succeeds as soon
//!   as every *completed* operation is linearized.
//! - Model steps of the first states are memoised per (state, operation), and each
//!   operation remembers its last transition.
//! - Reads first: on entering a configuration, the search linearizes every pending read-only
//!   operation the model accepts ([`Model::read_only`]) before it tries anything else, and
//!   never tries one of those later instead. A read accepted now leaves the state as it is and
//!   can be moved to the front of any extension (every pending operation returns after its
//!   call), so the configuration extends iff it extends with the read first. Without this,
//!   the search tried every interleaving of concurrent reads with the writes around them.
//!
//! The search is pure: the caller passes a `stop` function (deadline, cancellation) polled
//! every [`POLL_EVERY`] steps, and a byte limit for its tables.

use std::hash::BuildHasher;

use hashbrown::HashTable;

use crate::hashing::{mix, FxBuild};
use crate::memo::Memo;
use crate::model::Model;
use crate::prepare::Operation;

/// How many search steps pass between two polls of the stop function.
pub const POLL_EVERY: u64 = 1 << 10;

const NONE: u32 = u32::MAX;
const UNCACHED: u32 = u32::MAX - 1;
/// Entries of the dense transition table (4 bytes each).
const TRANSITIONS_CACHED: usize = 1 << 18;

/// What the search concluded about one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    /// Linearizable: the operations (indices into the partition's ops) in a legal order.
    Linearizable(Vec<usize>),
    /// Not linearizable: the longest legal prefix the search found.
    Illegal(Vec<usize>),
    /// The stop function asked to stop first.
    Stopped,
}

/// Work done by one search.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SearchStats {
    /// Search steps taken (a step considers one list entry).
    pub steps: u64,
    /// Configurations remembered when the search ended.
    pub memo_entries: u64,
    /// Times the memo (and the interned states) were emptied to stay under the byte limit.
    pub memo_resets: u64,
    /// Distinct model states met.
    pub states: u64,
}

/// Interned model states and memoised transitions.
///
/// States have ids (positions in `states`). The index finds the id of a state met since the
/// last [`States::compact`]; the states kept by a compaction (those the search stack refers
/// to) are stored but not indexed, so meeting one again gives it a second id. That costs no
/// memo hit: the memo is emptied by the same compaction, and every configuration it keys
/// afterwards has a state that [`States::step`] interned since. The stack of a long history
/// can refer to a state per operation; not indexing them keeps a compaction from holding
/// an index as large as the stack.
struct States<'m, M: Model> {
    model: &'m M,
    states: Vec<M::State>,
    /// Ids of the states interned since the last compaction, by their hash.
    index: HashTable<u32>,
    /// `transitions[state * ops + op]`: the state after `op`, `NONE`, or `UNCACHED`.
    transitions: Vec<u32>,
    /// Operations in the partition (the row length of `transitions`).
    ops: usize,
    /// For each operation: its last transition (from, to), for the states past the table.
    last: Vec<(u32, u32)>,
}

impl<'m, M: Model> States<'m, M> {
    fn new(model: &'m M, ops: usize) -> Self {
        let mut states = Self {
            model,
            states: Vec::new(),
            index: HashTable::new(),
            transitions: Vec::new(),
            ops,
            last: vec![(NONE, NONE); ops],
        };
        states.intern(model.init());
        states
    }

    /// Bytes held, counting states by their inline size (heap data they own is not seen).
    fn bytes(&self) -> usize {
        self.states.capacity() * std::mem::size_of::<M::State>()
            + self.index.capacity() * 5
            + self.transitions.capacity() * 4
            + self.last.capacity() * 8
    }

    /// Forgets every state except those in `kept`, which move down in place, in id order
    /// (stored once each, not indexed: see the type's docs). Returns each old id's new id
    /// (`NONE` for a forgotten state), for the caller to renumber what it holds. In place,
    /// because a copy would hold the old states and the kept ones at once.
    fn compact(&mut self, kept: impl Iterator<Item = u32>) -> Vec<u32> {
        self.index = HashTable::new();
        let mut renumbered = vec![NONE; self.states.len()];
        for id in kept {
            renumbered[id as usize] = 0;
        }
        let mut next = 0;
        for (old, new) in renumbered.iter_mut().enumerate() {
            if *new != NONE {
                // Every slot from `next` to `old` holds a forgotten state.
                self.states.swap(next, old);
                *new = next as u32;
                next += 1;
            }
        }
        self.states.truncate(next);
        self.states.shrink_to_fit();
        self.transitions = Vec::new();
        self.last.fill((NONE, NONE));
        renumbered
    }

    fn hash(state: &M::State) -> u64 {
        FxBuild::default().hash_one(state)
    }

    fn intern(&mut self, state: M::State) -> u32 {
        let hash = Self::hash(&state);
        let states = &self.states;
        if let Some(&id) = self.index.find(hash, |&id| states[id as usize] == state) {
            return id;
        }
        let id = self.states.len() as u32;
        self.states.push(state);
        let states = &self.states;
        self.index.insert_unique(hash, id, |&id| Self::hash(&states[id as usize]));
        id
    }

    /// The state after operation `index` (`op`) from state `from`, or `NONE` when the model
    /// rejects it. Transitions of the first states are kept in a dense table: registers have a
    /// handful of states and meet each (state, operation) pair many times, while models with
    /// a new state at every step (appends) would only fill memory with a larger cache.
    #[inline]
    fn step(&mut self, from: u32, index: usize, op: &M::Op) -> u32 {
        let slot = from as usize * self.ops + index;
        if let Some(&to) = self.transitions.get(slot) {
            if to != UNCACHED {
                return to;
            }
        }
        let (last_from, last_to) = self.last[index];
        if last_from == from {
            return last_to;
        }
        let to = match self.model.step(&self.states[from as usize], op) {
            Some(next) => self.intern(next),
            None => NONE,
        };
        self.last[index] = (from, to);
        if slot < TRANSITIONS_CACHED {
            if slot >= self.transitions.len() {
                self.transitions.resize((from as usize + 1) * self.ops, UNCACHED);
            }
            self.transitions[slot] = to;
        }
        to
    }
}

/// The real-time list of call and return entries, with O(1) lift and unlift.
struct EntryList {
    /// For each entry: its operation, with [`CALL`] set on a call entry.
    op: Vec<u32>,
    /// For each operation: its return entry, or `NONE` for an open operation.
    ret: Vec<u32>,
    next: Vec<u32>,
    prev: Vec<u32>,
    head: u32,
    tail: u32,
}

impl EntryList {
    fn new<O>(ops: &[Operation<O>]) -> Self {
        // Calls in order of (position, op), then returns likewise; at one position calls come
        // first (a call and a return at the same instant are concurrent). The partition's
        // operations are normally in call order already; only the returns need sorting, so a
        // long history costs one array of its returns, not of every entry.
        let mut calls: Vec<u32> = Vec::new();
        if !ops.windows(2).all(|w| w[0].call_at <= w[1].call_at) {
            calls = (0..ops.len() as u32).collect();
            calls.sort_unstable_by_key(|&i| (ops[i as usize].call_at, i));
        }
        let call = |k: usize| if calls.is_empty() { k as u32 } else { calls[k] };
        let mut returns: Vec<(u64, u32)> =
            ops.iter().enumerate().filter_map(|(i, op)| op.return_at().map(|at| (at, i as u32))).collect();
        returns.sort_unstable();
        let n = ops.len() + returns.len();
        let (head, tail) = (n as u32, n as u32 + 1);
        let mut list = Self {
            op: Vec::with_capacity(n + 2),
            ret: vec![NONE; ops.len()],
            next: vec![NONE; n + 2],
            prev: vec![NONE; n + 2],
            head,
            tail,
        };
        let mut last = head;
        let (mut c, mut r) = (0, 0);
        while c < ops.len() || r < returns.len() {
            let take_call = c < ops.len() && (r == returns.len() || ops[call(c) as usize].call_at <= returns[r].0);
            let (op, is_call) = if take_call {
                c += 1;
                (call(c - 1), true)
            } else {
                r += 1;
                (returns[r - 1].1, false)
            };
            let entry = list.op.len() as u32;
            if is_call {
                list.op.push(op | CALL);
            } else {
                list.op.push(op);
                list.ret[op as usize] = entry;
            }
            list.next[last as usize] = entry;
            list.prev[entry as usize] = last;
            last = entry;
        }
        list.next[last as usize] = tail;
        list.prev[tail as usize] = last;
        // Head and tail: neither a call nor an operation.
        list.op.extend([NONE & !CALL, NONE & !CALL]);
        list
    }

    /// True when `entry` is a call entry.
    #[inline]
    fn is_call(&self, entry: u32) -> bool {
        self.op[entry as usize] & CALL != 0
    }

    /// The operation of `entry`.
    #[inline]
    fn op(&self, entry: u32) -> usize {
        (self.op[entry as usize] & !CALL) as usize
    }

    fn unlink(&mut self, e: u32) {
        let (p, n) = (self.prev[e as usize], self.next[e as usize]);
        self.next[p as usize] = n;
        self.prev[n as usize] = p;
    }

    fn relink(&mut self, e: u32) {
        let (p, n) = (self.prev[e as usize], self.next[e as usize]);
        self.next[p as usize] = e;
        self.prev[n as usize] = e;
    }

    /// Removes a call entry and its return entry.
    fn lift(&mut self, call: u32) {
        self.unlink(call);
        let ret = self.ret[self.op(call)];
        if ret != NONE {
            self.unlink(ret);
        }
    }

    /// Undoes [`EntryList::lift`] (in reverse order, as dancing links require).
    fn unlift(&mut self, call: u32) {
        let ret = self.ret[self.op(call)];
        if ret != NONE {
            self.relink(ret);
        }
        self.relink(call);
    }
}

/// The high bit of an [`EntryList`] entry's operation, and of a [`Frame`]'s call: a call entry,
/// and a read linearized first. Operations and entries stay below it: a history has fewer than
/// 2^31 events ([`crate::prepare::MAX_EVENTS`]).
const CALL: u32 = 1 << 31;

/// One linearized call on the search stack, in 8 bytes (a long history's stack holds one per
/// operation).
#[derive(Debug, Clone, Copy)]
struct Frame {
    /// The call entry, with [`CALL`] set when it was a read linearized in a reads-first pass
    /// (which is never replaced by another choice).
    call_and_flag: u32,
    /// The state before it.
    before: u32,
}

impl Frame {
    fn new(call: u32, before: u32, read_first: bool) -> Self {
        Self { call_and_flag: call | if read_first { CALL } else { 0 }, before }
    }

    fn call(self) -> u32 {
        self.call_and_flag & !CALL
    }

    fn read_first(self) -> bool {
        self.call_and_flag & CALL != 0
    }
}

/// The Zobrist key of operation `op` (computed, not stored: a table costs 8 bytes an
/// operation on a long history).
#[inline]
fn zobrist(op: usize) -> u64 {
    mix((op as u64).wrapping_add(0x9e37_79b9_7f4a_7c15))
}

/// A resumable search over one partition: [`Searcher::run`] advances it by a step budget, so
/// a scheduler can interleave partitions (and stop them) deterministically.
pub struct Searcher<'a, M: Model> {
    ops: &'a [Operation<M::Op>],
    list: EntryList,
    states: States<'a, M>,
    memo: Memo,
    completed: Vec<bool>,
    /// For each operation: the model says it is read-only (see the module docs).
    read_only: Vec<bool>,
    /// The search is in the reads-first pass of the configuration it just entered.
    reads_first: bool,
    bits: Vec<u64>,
    bits_hash: u64,
    /// The first operation not linearized (every one before it is).
    low: usize,
    /// One past the last word of `bits` that is not zero.
    high_words: usize,
    /// The memo key of the current configuration (a buffer reused at every step).
    key: Vec<u64>,
    state: u32,
    /// Completed operations not yet linearized.
    remaining: usize,
    /// The linearized calls.
    stack: Vec<Frame>,
    best: Vec<u32>,
    /// How much of `best` still equals the bottom of the stack: the stack's smallest length
    /// since `best` was saved.
    best_valid: usize,
    entry: u32,
    steps: u64,
    memory_limit_bytes: usize,
    /// What the tables held right after they were last emptied: the states the stack still
    /// refers to, which no reset can free.
    kept_bytes: usize,
    /// The stats when the search concluded (its tables are freed then).
    final_stats: Option<SearchStats>,
    outcome: Option<Search>,
}

impl<'a, M: Model> Searcher<'a, M> {
    /// A search for a linearization of `ops` under `model`, its tables (memo and interned
    /// states) limited to about `memory_limit_bytes`.
    pub fn new(model: &'a M, ops: &'a [Operation<M::Op>], memory_limit_bytes: usize) -> Self {
        let list = EntryList::new(ops);
        let words = ops.len().div_ceil(64).max(1);
        let completed: Vec<bool> = ops.iter().map(|o| o.return_at().is_some()).collect();
        let entry = list.next[list.head as usize];
        Self {
            ops,
            list,
            states: States::new(model, ops.len()),
            memo: Memo::new(memory_limit_bytes),
            remaining: completed.iter().filter(|c| **c).count(),
            completed,
            read_only: ops.iter().map(|o| model.read_only(&o.op)).collect(),
            reads_first: true,
            bits: vec![0; words],
            bits_hash: 0,
            low: 0,
            high_words: 0,
            key: Vec::new(),
            state: 0,
            stack: Vec::with_capacity(ops.len()),
            best: Vec::new(),
            best_valid: 0,
            entry,
            steps: 0,
            memory_limit_bytes,
            kept_bytes: 0,
            final_stats: None,
            outcome: None,
        }
    }

    /// The conclusion, once there is one.
    pub fn outcome(&self) -> Option<&Search> {
        self.outcome.as_ref()
    }

    /// Changes the byte limit on the search's tables (it applies from the next poll).
    pub fn set_memory_limit(&mut self, bytes: usize) {
        self.memory_limit_bytes = bytes;
        self.memo.set_limit(bytes);
    }

    /// Work done so far.
    pub fn stats(&self) -> SearchStats {
        self.final_stats.unwrap_or(SearchStats {
            steps: self.steps,
            memo_entries: self.memo.len() as u64,
            memo_resets: self.memo.resets,
            states: self.states.states.len() as u64,
        })
    }

    /// On concluding: records the stats and frees the tables, so that the result is built
    /// beside the stack and the list alone.
    fn conclude(&mut self) {
        self.final_stats = Some(self.stats());
        self.memo = Memo::new(0);
        self.states.states = Vec::new();
        self.states.index = HashTable::new();
        self.states.transitions = Vec::new();
        self.states.last = Vec::new();
    }

    /// Searches until the search concludes, `steps_total` steps have been taken in all, or
    /// `stop` (polled every [`POLL_EVERY`] steps) returns true, which concludes it as
    /// [`Search::Stopped`]. Returns the conclusion, if any.
    pub fn run(&mut self, steps_total: u64, stop: &dyn Fn() -> bool) -> Option<&Search> {
        while self.outcome.is_none() && self.steps < steps_total {
            self.steps += 1;
            if self.steps.is_multiple_of(POLL_EVERY) {
                if stop() {
                    self.outcome = Some(Search::Stopped);
                    break;
                }
                self.bound_memory();
            }
            self.outcome = self.step();
        }
        self.outcome.as_ref()
    }

    /// Keeps the memo and the interned states under the byte limit together: when they pass
    /// it, both are emptied, except the states the search stack still refers to. Forgetting
    /// only costs repeated work; the search stays exact.
    ///
    /// When the stack alone refers to more states than the limit holds (a long history with a
    /// new state at every operation, under a small limit), emptying again at every poll would
    /// free nothing and re-intern the whole stack each time: the tables are then emptied only
    /// once they have doubled since the last time, so the work stays linear.
    fn bound_memory(&mut self) {
        let bytes = self.memo.bytes() + self.states.bytes();
        if bytes > self.memory_limit_bytes.max(self.kept_bytes.saturating_mul(2)) {
            self.forget();
        }
    }

    /// Empties the memo and the interned states, except the states the stack refers to.
    fn forget(&mut self) {
        self.memo.clear();
        let stack = self.stack.iter().map(|frame| frame.before);
        let renumbered = self.states.compact(stack.chain(std::iter::once(self.state)));
        for frame in &mut self.stack {
            frame.before = renumbered[frame.before as usize];
        }
        self.state = renumbered[self.state as usize];
        self.kept_bytes = self.memo.bytes() + self.states.bytes();
    }

    /// One step of the search: considers the current list entry.
    #[inline]
    fn step(&mut self) -> Option<Search> {
        if self.remaining == 0 {
            self.conclude();
            self.best = Vec::new();
            return Some(Search::Linearizable(self.linearized()));
        }
        let entry = self.entry;
        if entry != self.list.tail && self.list.is_call(entry) {
            let op = self.list.op(entry);
            if self.read_only[op] != self.reads_first {
                // A write in the reads-first pass waits for the second pass; a read in the
                // second pass was refused by this very state in the first.
                self.entry = self.list.next[entry as usize];
                return None;
            }
            let next_state = self.states.step(self.state, op, &self.ops[op].op);
            if next_state != NONE {
                self.set(op);
                self.fill_window();
                let hash = mix(self.bits_hash ^ u64::from(next_state));
                if self.memo.insert(&self.key, next_state, hash) {
                    self.stack.push(Frame::new(entry, self.state, self.reads_first));
                    self.state = next_state;
                    self.list.lift(entry);
                    self.remaining -= usize::from(self.completed[op]);
                    self.entry = self.list.next[self.list.head as usize];
                    self.reads_first = true;
                    return None;
                }
                self.clear(op);
                if self.reads_first {
                    // The configuration with this read was explored and failed, so this one
                    // fails too.
                    self.reads_first = false;
                    self.entry = self.list.tail;
                    return None;
                }
            }
            self.entry = self.list.next[entry as usize];
        } else if self.reads_first {
            // No read to linearize first: now every other operation, in order.
            self.reads_first = false;
            self.entry = self.list.next[self.list.head as usize];
        } else {
            // The return of an operation not yet linearized: this order is a dead end.
            if self.stack.len() > self.best.len() {
                self.save_best();
            }
            let Some(frame) = self.stack.pop() else {
                self.conclude();
                let best = std::mem::take(&mut self.best);
                return Some(Search::Illegal(best.into_iter().map(|op| op as usize).collect()));
            };
            let (call, before, read_first) = (frame.call(), frame.before, frame.read_first());
            self.best_valid = self.best_valid.min(self.stack.len());
            let op = self.list.op(call);
            self.clear(op);
            self.state = before;
            self.list.unlift(call);
            self.remaining += usize::from(self.completed[op]);
            // A read linearized first leaves no alternative: its configuration fails too.
            self.entry = if read_first { self.list.tail } else { self.list.next[call as usize] };
        }
        None
    }

    /// Saves the stack as the longest legal prefix: only the part that changed since the last
    /// save is copied (the stack never went below `best_valid` since), so saving costs no more
    /// than the pushes that made the stack deeper.
    fn save_best(&mut self) {
        let keep = self.best_valid.min(self.best.len());
        self.best.truncate(keep);
        let list = &self.list;
        self.best.extend(self.stack[keep..].iter().map(|frame| list.op(frame.call()) as u32));
        self.best_valid = self.stack.len();
    }

    /// Marks `op` linearized: its bit, the set's hash, the window's bounds.
    #[inline]
    fn set(&mut self, op: usize) {
        self.bits[op / 64] |= 1 << (op % 64);
        self.bits_hash ^= zobrist(op);
        self.high_words = self.high_words.max(op / 64 + 1);
        while self.low < self.ops.len() && self.bits[self.low / 64] & (1 << (self.low % 64)) != 0 {
            self.low += 1;
        }
    }

    /// Marks `op` not linearized.
    #[inline]
    fn clear(&mut self, op: usize) {
        self.bits[op / 64] &= !(1 << (op % 64));
        self.bits_hash ^= zobrist(op);
        self.low = self.low.min(op);
        while self.high_words > 0 && self.bits[self.high_words - 1] == 0 {
            self.high_words -= 1;
        }
    }

    /// Sets `key` to the memo's key for the linearized set (see the module docs): the first
    /// operation not linearized, then the words from its word to the last word that is not
    /// zero.
    #[inline]
    fn fill_window(&mut self) {
        let from = (self.low / 64).min(self.high_words);
        self.key.clear();
        self.key.push(self.low as u64);
        self.key.extend_from_slice(&self.bits[from..self.high_words]);
    }

    /// The linearized operations, in order.
    fn linearized(&self) -> Vec<usize> {
        self.stack.iter().map(|frame| self.list.op(frame.call())).collect()
    }
}

/// Searches `ops` to a conclusion (or until `stop`).
pub fn search<M: Model>(
    model: &M,
    ops: &[Operation<M::Op>],
    stop: &dyn Fn() -> bool,
    memory_limit_bytes: usize,
) -> (Search, SearchStats) {
    let mut searcher = Searcher::new(model, ops, memory_limit_bytes);
    let outcome = searcher.run(u64::MAX, stop).cloned().unwrap_or(Search::Stopped);
    (outcome, searcher.stats())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Register;
    use crate::prepare::prepare;
    use history::{Event, EventType, Process, Value};

    /// Events from `(process, type, f, value)`, in order.
    fn events(spec: &[(u64, EventType, &str, i64)]) -> Vec<Event> {
        spec.iter()
            .map(|&(p, kind, f, v)| {
                let value = if kind == EventType::Invoke && f == "read" { Value::Nil } else { Value::Int(v) };
                Event::new(Process::Client(p), kind, f, value)
            })
            .collect()
    }

    fn searched(spec: &[(u64, EventType, &str, i64)]) -> Search {
        let partitions = prepare(&Register, &events(spec)).expect("well-formed");
        search(&Register, &partitions[0].ops, &|| false, 1 << 20).0
    }

    #[test]
    fn the_longest_legal_prefix_survives_backtracking() {
        use EventType::{Invoke, Ok};
        // w1 and w2 concurrent; a read of 1 needs w2 before w1; a later read of 2 is illegal.
        let race = [
            (1, Invoke, "write", 1),
            (2, Invoke, "write", 2),
            (1, Ok, "write", 1),
            (2, Ok, "write", 2),
            (3, Invoke, "read", 0),
            (3, Ok, "read", 1),
            (3, Invoke, "read", 0),
            (3, Ok, "read", 2),
        ];
        // Ops in invocation order: w1 = 0, w2 = 1, r1 = 2, r2 = 3. The first order tried (w1,
        // w2) dies at depth 2; the longest legal prefix is w2, w1, r1.
        assert_eq!(searched(&race), Search::Illegal(vec![1, 0, 2]));
        // The same after a write that is never undone: the saved prefix keeps its bottom.
        let mut prefixed = vec![(0, Invoke, "write", 9), (0, Ok, "write", 9)];
        prefixed.extend(race);
        assert_eq!(searched(&prefixed), Search::Illegal(vec![0, 2, 1, 3]));
    }

    /// A random register history: each step is (process, value, flag, choice); an idle
    /// process invokes a read or a write of `value`, a pending one completes `ok` (a read
    /// with `value` as its result, so some histories are illegal) or, now and then, `info`.
    /// Values are few, so that states repeat and the memo has something to remember.
    fn random_history(steps: &[(u64, i64, bool, u8)]) -> Vec<Event> {
        let mut pending: [Option<(bool, i64)>; 4] = [None; 4];
        let mut out = Vec::new();
        for &(p, value, write, choice) in steps {
            let process = Process::Client(p);
            match pending[p as usize].take() {
                None => {
                    let (f, v) = if write { ("write", Value::Int(value)) } else { ("read", Value::Nil) };
                    out.push(Event::new(process, EventType::Invoke, f, v));
                    pending[p as usize] = Some((write, value));
                }
                Some((was_write, written)) => {
                    let (f, v) = if was_write { ("write", Value::Int(written)) } else { ("read", Value::Int(value)) };
                    let kind = if choice == 0 { EventType::Info } else { EventType::Ok };
                    out.push(Event::new(process, kind, f, v));
                }
            }
        }
        out
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 3_000,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// Forgetting is only ever slower: a search that empties its memo and its states every
        /// few steps (the stack's states kept, unindexed) reaches the verdict of one that
        /// forgets nothing. (Forgetting at every step alone would not catch a compaction that
        /// renumbers wrongly: the states would then be the stack's, in the stack's order.)
        #[test]
        fn forgetting_every_few_steps_keeps_the_verdict(
            steps in proptest::collection::vec((0u64..4, 0i64..3, proptest::bool::ANY, 0u8..8), 1..40),
            every in 1u64..6,
        ) {
            let partitions = prepare(&Register, &random_history(&steps)).expect("well-formed");
            let Some(partition) = partitions.first() else { return Ok(()) };
            let (remembered, _) = search(&Register, &partition.ops, &|| false, 1 << 20);
            let mut forgetful = Searcher::new(&Register, &partition.ops, 0);
            let mut taken = 0;
            let forgot = loop {
                taken += every;
                if let Some(outcome) = forgetful.run(taken, &|| false) {
                    break outcome.clone();
                }
                forgetful.forget();
            };
            proptest::prop_assert_eq!(
                matches!(forgot, Search::Linearizable(_)),
                matches!(remembered, Search::Linearizable(_)),
                "forgetful {:?}, remembering {:?}", forgot, remembered
            );
            if let Search::Linearizable(order) = &forgot {
                // The order is legal: each operation's state follows from the one before.
                let mut state = crate::model::Model::init(&Register);
                for &op in order {
                    state = crate::model::Model::step(&Register, &state, &partition.ops[op].op).expect("legal order");
                }
            }
        }
    }

    #[test]
    fn concurrent_reads_are_linearized_first_without_trying_their_orders() {
        use EventType::{Invoke, Ok};
        // A write of 1, then 16 readers and a writer of 2 all concurrent: 8 reads see 1, 8
        // see 2. Trying the reads' interleavings would take thousands of steps; reads first,
        // the search passes each entry a few times.
        let mut spec = vec![(0, Invoke, "write", 1), (0, Ok, "write", 1), (0, Invoke, "write", 2)];
        spec.extend((1..=16).map(|p| (p, Invoke, "read", 0)));
        spec.push((0, Ok, "write", 2));
        spec.extend((1..=16).map(|p| (p, Ok, "read", if p <= 8 { 1 } else { 2 })));
        let partitions = prepare(&Register, &events(&spec)).expect("well-formed");
        let (outcome, stats) = search(&Register, &partitions[0].ops, &|| false, 1 << 20);
        assert!(matches!(outcome, Search::Linearizable(_)), "{outcome:?}");
        assert!(stats.steps <= 4 * spec.len() as u64, "{} steps for {} events", stats.steps, spec.len());
    }
}
