//! [`StateMachine`]: SQLite applying the committed log, rqlite-style.
//!
//! Each node keeps an **in-memory** SQLite database (rqlite's long-time default): the Raft log
//! on the simulated disk is what is durable, and the database is rebuilt on every start by
//! re-applying the log, which raft-rs hands a restarted node in full (it is created with
//! `applied = 0`). Operations run as the SQL store runs them, through
//! [`sqlstore::server::execute_on`]: the same schema, statements and outcomes, one SQLite
//! transaction each.
//!
//! The machine remembers which entry (index and term) it applied last and the terms of the
//! entries it applied ahead of the commit index (an asynchronous leader applies its own entries
//! before they commit: [`crate::AckMode::Async`]). When those turn out to be overwritten, the
//! database is rebuilt from the committed prefix ([`StateMachine::rebuild`]).

use std::collections::BTreeMap;

use history::Value;
use rusqlite::Connection;
use sqlstore::wire::{Failure, Op};

use crate::command::Command;

/// A node's database and what it has applied.
pub struct StateMachine {
    conn: Connection,
    initial: Vec<(Value, Value)>,
    applied: u64,
    /// Terms of applied entries not yet known committed (index -> term).
    ahead: BTreeMap<u64, u64>,
}

impl std::fmt::Debug for StateMachine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateMachine").field("applied", &self.applied).field("ahead", &self.ahead.len()).finish()
    }
}

/// The database could not be created.
#[derive(Debug, thiserror::Error)]
#[error("state machine: {0}")]
pub struct StateMachineError(String);

impl StateMachine {
    /// A fresh database holding `initial` (key, value) pairs, nothing applied.
    pub fn new(initial: &[(Value, Value)]) -> Result<Self, StateMachineError> {
        let conn = Connection::open_in_memory().map_err(|e| StateMachineError(e.to_string()))?;
        sqlstore::store::create_schema_on(&conn, initial).map_err(|e| StateMachineError(e.to_string()))?;
        Ok(StateMachine { conn, initial: initial.to_vec(), applied: 0, ahead: BTreeMap::new() })
    }

    /// The index of the last entry applied.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// The term of the entry applied at `index` ahead of the commit index, if it was.
    pub fn ahead_term(&self, index: u64) -> Option<u64> {
        self.ahead.get(&index).copied()
    }

    /// Whether entries past `commit` were applied (an asynchronous leader's).
    pub fn is_ahead_of(&self, commit: u64) -> bool {
        self.applied > commit
    }

    /// Applies entry `index` of term `term` holding `data` (a [`Command`], or empty for a new
    /// leader's no-op): the operation's result, `None` for a no-op or an undecodable payload
    /// (which applies as a no-op on every node alike). `committed` says whether the entry is
    /// known committed (else it is remembered as applied ahead).
    pub fn apply(
        &mut self,
        index: u64,
        term: u64,
        data: &[u8],
        committed: bool,
    ) -> Option<(u64, Result<Value, Failure>)> {
        self.applied = index;
        if committed {
            self.ahead.remove(&index);
        } else {
            self.ahead.insert(index, term);
        }
        let command = Command::decode(data)?;
        Some((command.id, self.execute(&command.op)))
    }

    /// Marks every entry up to `commit` committed (they stay applied).
    pub fn committed_up_to(&mut self, commit: u64) {
        self.ahead = self.ahead.split_off(&(commit + 1));
    }

    /// Runs `op` on the database now, outside the log (a read).
    pub fn execute(&mut self, op: &Op) -> Result<Value, Failure> {
        sqlstore::server::execute_on(&self.conn, op)
    }

    /// Forgets everything applied and starts over from the initial state (to re-apply the
    /// committed prefix after entries applied ahead of the commit were overwritten).
    pub fn rebuild(&mut self) -> Result<(), StateMachineError> {
        let fresh = StateMachine::new(&self.initial)?;
        *self = fresh;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(id: u64, key: &str, value: i64) -> Vec<u8> {
        Command { id, op: Op::Write { key: Value::from(key), value: Value::Int(value) } }.encode()
    }

    #[test]
    fn applied_writes_are_read_back_and_a_rebuild_forgets_them() {
        let mut sm = StateMachine::new(&[(Value::from("a"), Value::Int(7))]).expect("in memory");
        let read = Op::Read { key: Value::from("a") };
        assert_eq!(sm.execute(&read), Ok(Value::Int(7)), "the initial state");
        assert_eq!(sm.apply(1, 1, &[], true), None, "a no-op");
        let (id, result) = sm.apply(2, 1, &write(9, "a", 8), false).expect("a command");
        assert_eq!((id, result), (9, Ok(Value::Nil)));
        assert_eq!(sm.execute(&read), Ok(Value::Int(8)));
        assert!(sm.is_ahead_of(1));
        assert_eq!(sm.ahead_term(2), Some(1));
        sm.rebuild().expect("in memory");
        assert_eq!((sm.applied(), sm.execute(&read)), (0, Ok(Value::Int(7))));
    }

    #[test]
    fn a_failed_compare_changes_nothing() {
        let mut sm = StateMachine::new(&[]).expect("in memory");
        let cas = Command { id: 1, op: Op::Cas { key: Value::from("k"), expected: Value::Int(1), new: Value::Int(2) } };
        let (_, result) = sm.apply(1, 1, &cas.encode(), true).expect("a command");
        assert!(matches!(result, Err(Failure::Rejected(_))), "{result:?}");
        assert_eq!(sm.execute(&Op::Read { key: Value::from("k") }), Ok(Value::Nil));
    }
}
