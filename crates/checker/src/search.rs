//! The linearizability search for one partition: Wing & Gong's algorithm with Lowe's
//! memoisation, as Porcupine runs it, plus two prunings that keep Jepsen's semantics:
//!
//! - The history becomes a doubly linked list of call and return entries in real-time order.
//!   The search repeatedly tries to linearize the first pending call whose operation the model
//!   accepts; reaching the return entry of an operation not yet linearized means the current
//!   order cannot be extended, so it backtracks.
//! - A configuration (set of linearized operations, model state) seen before is not explored
//!   again ([`Memo`]). The set's hash is kept incrementally (Zobrist), and model states are
//!   interned, so a configuration is a few machine words.
//! - Operations with unknown outcome have no return entry: they never force a backtrack and
//!   need not be linearized at all (they may never have happened). The search succeeds as soon
//!   as every *completed* operation is linearized.
//! - Model steps are memoised per (state, operation), so each is computed once.
//!
//! The search is pure: the caller passes a `stop` function (deadline, cancellation) polled
//! every [`POLL_EVERY`] steps, and a byte limit for the memo.

use std::collections::HashMap;

use crate::hashing::{mix, FxBuild};
use crate::memo::Memo;
use crate::model::Model;
use crate::prepare::Operation;

/// How many search steps pass between two polls of the stop function.
pub const POLL_EVERY: u64 = 1 << 10;

const NONE: u32 = u32::MAX;

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
    /// Times the memo was emptied to stay under its byte limit.
    pub memo_resets: u64,
    /// Distinct model states met.
    pub states: u64,
}

/// Interned model states and memoised transitions.
struct States<'m, M: Model> {
    model: &'m M,
    states: Vec<M::State>,
    ids: HashMap<M::State, u32, FxBuild>,
    transitions: HashMap<u64, u32, FxBuild>,
}

impl<'m, M: Model> States<'m, M> {
    fn new(model: &'m M) -> Self {
        let mut states = Self { model, states: Vec::new(), ids: HashMap::default(), transitions: HashMap::default() };
        states.intern(model.init());
        states
    }

    fn intern(&mut self, state: M::State) -> u32 {
        if let Some(&id) = self.ids.get(&state) {
            return id;
        }
        let id = self.states.len() as u32;
        self.states.push(state.clone());
        self.ids.insert(state, id);
        id
    }

    /// The state after `op` from state `from`, or `NONE` when the model rejects it.
    fn step(&mut self, from: u32, op_index: usize, op: &M::Op) -> u32 {
        let key = (u64::from(from) << 32) | op_index as u64;
        if let Some(&to) = self.transitions.get(&key) {
            return to;
        }
        let to = match self.model.step(&self.states[from as usize], op) {
            Some(next) => self.intern(next),
            None => NONE,
        };
        self.transitions.insert(key, to);
        to
    }
}

/// The real-time list of call and return entries, with O(1) lift and unlift.
struct EntryList {
    /// For each entry: its operation.
    op: Vec<u32>,
    /// For each call entry: its return entry, or `NONE` for an open operation.
    partner: Vec<u32>,
    is_call: Vec<bool>,
    next: Vec<u32>,
    prev: Vec<u32>,
    head: u32,
    tail: u32,
}

impl EntryList {
    fn new<O>(ops: &[Operation<O>]) -> Self {
        // (position, tie-break, op, is_call)
        let mut order: Vec<(u64, u8, u32, bool)> = Vec::with_capacity(ops.len() * 2);
        for (i, op) in ops.iter().enumerate() {
            order.push((op.call_at, 0, i as u32, true));
            if let Some(at) = op.return_at {
                order.push((at, 1, i as u32, false));
            }
        }
        order.sort_unstable();
        let n = order.len();
        let (head, tail) = (n as u32, n as u32 + 1);
        let mut list = Self {
            op: Vec::with_capacity(n + 2),
            partner: vec![NONE; n + 2],
            is_call: Vec::with_capacity(n + 2),
            next: vec![NONE; n + 2],
            prev: vec![NONE; n + 2],
            head,
            tail,
        };
        let mut call_entry = vec![NONE; ops.len()];
        let mut last = head;
        for (entry, &(_, _, op, is_call)) in order.iter().enumerate() {
            let entry = entry as u32;
            list.op.push(op);
            list.is_call.push(is_call);
            if is_call {
                call_entry[op as usize] = entry;
            } else {
                list.partner[call_entry[op as usize] as usize] = entry;
            }
            list.next[last as usize] = entry;
            list.prev[entry as usize] = last;
            last = entry;
        }
        list.next[last as usize] = tail;
        list.prev[tail as usize] = last;
        list.op.extend([NONE, NONE]);
        list.is_call.extend([false, false]);
        list
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
        let ret = self.partner[call as usize];
        if ret != NONE {
            self.unlink(ret);
        }
    }

    /// Undoes [`EntryList::lift`] (in reverse order, as dancing links require).
    fn unlift(&mut self, call: u32) {
        let ret = self.partner[call as usize];
        if ret != NONE {
            self.relink(ret);
        }
        self.relink(call);
    }
}

/// Searches for a linearization of `ops` under `model`.
pub fn search<M: Model>(
    model: &M,
    ops: &[Operation<M::Op>],
    stop: &dyn Fn() -> bool,
    memo_limit_bytes: usize,
) -> (Search, SearchStats) {
    let mut list = EntryList::new(ops);
    let mut states = States::new(model);
    let words = ops.len().div_ceil(64).max(1);
    let mut memo = Memo::new(words, memo_limit_bytes);
    let zobrist: Vec<u64> = (0..ops.len() as u64).map(|i| mix(i.wrapping_add(0x9e37_79b9_7f4a_7c15))).collect();
    let completed: Vec<bool> = ops.iter().map(|o| o.return_at.is_some()).collect();

    let mut bits = vec![0u64; words];
    let mut bits_hash = 0u64;
    let mut state = 0u32;
    let mut remaining = completed.iter().filter(|c| **c).count();
    // The linearized calls, with the state before each.
    let mut stack: Vec<(u32, u32)> = Vec::with_capacity(ops.len());
    let mut best: Vec<usize> = Vec::new();
    let mut stats = SearchStats::default();
    let mut entry = list.next[list.head as usize];

    let outcome = loop {
        if remaining == 0 {
            break Search::Linearizable(stack.iter().map(|&(call, _)| list.op[call as usize] as usize).collect());
        }
        stats.steps += 1;
        if stats.steps % POLL_EVERY == 0 && stop() {
            break Search::Stopped;
        }
        if entry != list.tail && list.is_call[entry as usize] {
            let op = list.op[entry as usize] as usize;
            let next_state = states.step(state, op, &ops[op].op);
            if next_state != NONE {
                bits[op / 64] |= 1 << (op % 64);
                bits_hash ^= zobrist[op];
                if memo.insert(&bits, next_state, mix(bits_hash ^ u64::from(next_state))) {
                    stack.push((entry, state));
                    state = next_state;
                    list.lift(entry);
                    remaining -= usize::from(completed[op]);
                    if stack.len() > best.len() {
                        best = stack.iter().map(|&(call, _)| list.op[call as usize] as usize).collect();
                    }
                    entry = list.next[list.head as usize];
                    continue;
                }
                bits[op / 64] &= !(1 << (op % 64));
                bits_hash ^= zobrist[op];
            }
            entry = list.next[entry as usize];
        } else {
            // The return of an operation not yet linearized: this order is a dead end.
            let Some((call, before)) = stack.pop() else {
                break Search::Illegal(best);
            };
            let op = list.op[call as usize] as usize;
            bits[op / 64] &= !(1 << (op % 64));
            bits_hash ^= zobrist[op];
            state = before;
            list.unlift(call);
            remaining += usize::from(completed[op]);
            entry = list.next[call as usize];
        }
    };
    stats.memo_entries = memo.len() as u64;
    stats.memo_resets = memo.resets;
    stats.states = states.states.len() as u64;
    (outcome, stats)
}
