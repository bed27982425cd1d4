//! The protocols over turmoil TCP, both in `sim::frame`'s length-prefixed frames:
//! - clients speak JSON: the SQL store's own [`Request`] (an [`Op`] and an id), answered by a
//!   [`Response`]: the result, or a redirect to the leader, sent without executing anything;
//! - peers send raft-rs [`Message`](crate::eraftpb::Message)s, one per frame, protobuf in the
//!   frame's body, over one long-lived connection per peer (the server replaces a connection a
//!   partition has stalled: `crate::server`).

use history::Value;
use serde::{Deserialize, Serialize};
use sqlstore::wire::Failure;
pub use sqlstore::wire::{Op, Request};

/// The port clients connect to.
pub const CLIENT_PORT: u16 = 5433;

/// The port peers send Raft messages to.
pub const PEER_PORT: u16 = 7000;

/// The answer to one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// The request's id.
    pub id: u64,
    /// What happened.
    pub outcome: Outcome,
}

/// What a node did with a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Executed: the result (as the SQL store's).
    Done(Result<Value, Failure>),
    /// Not executed: this node does not lead; the leader's host when it knows one.
    NotLeader(Option<String>),
}

/// The Raft message in a peer frame's body.
pub fn decode_message(body: &[u8]) -> Option<crate::eraftpb::Message> {
    protobuf::Message::parse_from_bytes(body).ok()
}

/// A peer frame carrying `message`.
pub fn encode_message(message: &crate::eraftpb::Message) -> Option<Vec<u8>> {
    let body = protobuf::Message::write_to_bytes(message).ok()?;
    sim::frame::frame(&body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_garbage_is_refused() {
        let mut message = crate::eraftpb::Message::default();
        message.set_msg_type(crate::eraftpb::MessageType::MsgHeartbeat);
        message.from = 1;
        message.to = 2;
        message.term = 7;
        let frame = encode_message(&message).expect("encodes");
        assert_eq!(decode_message(&frame[sim::frame::HEADER_LEN..]), Some(message));
        assert_eq!(decode_message(&[0xff, 0xff, 0xff]), None);
        let response = Response { id: 1, outcome: Outcome::NotLeader(Some("n2".into())) };
        let body = serde_json::to_vec(&response).expect("serialises");
        assert_eq!(sim::frame::decode::<Response>(&body).ok(), Some(response));
    }
}
