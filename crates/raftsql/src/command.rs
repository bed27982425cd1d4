//! [`Command`]: what a log entry carries: one client operation (the SQL store's wire
//! [`Op`]) and the request's id, so that the node holding the client's connection can answer
//! it once the entry is applied.

use serde::{Deserialize, Serialize};
use sqlstore::wire::Op;

/// One proposed operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Command {
    /// The request's id, unique per node incarnation and connection (see `server`).
    pub id: u64,
    /// The operation.
    pub op: Op,
}

impl Command {
    /// The entry payload (JSON).
    pub fn encode(&self) -> Vec<u8> {
        // An `Op` always serialises: its values have no maps with non-string keys.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The command in an entry payload; `None` for an empty (no-op) or undecodable one.
    pub fn decode(data: &[u8]) -> Option<Command> {
        if data.is_empty() {
            return None;
        }
        serde_json::from_slice(data).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use history::Value;

    #[test]
    fn commands_round_trip_and_garbage_is_a_no_op() {
        let command = Command { id: 3, op: Op::Write { key: Value::from("k"), value: Value::Int(1) } };
        assert_eq!(Command::decode(&command.encode()), Some(command));
        assert_eq!(Command::decode(b""), None);
        assert_eq!(Command::decode(b"{not json"), None);
    }
}
