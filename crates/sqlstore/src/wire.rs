//! The client-server protocol: length-prefixed JSON frames.
//!
//! Frames are [`sim::frame`]'s (re-exported here): a 4-byte big-endian body length followed by
//! at most [`MAX_FRAME`] bytes of JSON: a [`Request`] from client to server, a [`Response`]
//! back. A client sends one request at a time and matches the reply by `id`.

use history::Value;
use serde::{Deserialize, Serialize};

pub use sim::frame::{
    decode, encode, encode_limited, frame, read_frame, salvage_id, write_frame, FrameDecoder, WireError, HEADER_LEN,
    MAX_FRAME, MAX_REPLY_FRAME,
};

/// One client request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// Chosen by the client, echoed in the response.
    pub id: u64,
    /// What to do.
    pub op: Op,
}

/// An operation on the store; each runs as one SQLite transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Op {
    /// Read one key (`nil` when absent).
    Read {
        /// The key.
        key: Value,
    },
    /// Write one key.
    Write {
        /// The key.
        key: Value,
        /// The new value.
        value: Value,
    },
    /// Compare-and-set: write `new` if the key holds `expected` (`nil`: absent).
    Cas {
        /// The key.
        key: Value,
        /// The value the key must hold.
        expected: Value,
        /// The value to write.
        new: Value,
    },
    /// Move `amount` between two integer accounts.
    Transfer {
        /// The source account.
        from: Value,
        /// The destination account.
        to: Value,
        /// The amount (non-negative).
        amount: i64,
    },
    /// Read several keys in one transaction.
    ReadMany {
        /// The keys.
        keys: Vec<Value>,
    },
    /// Add an element to the set.
    Add {
        /// The element.
        element: Value,
    },
    /// Read the whole set, sorted.
    ReadSet,
    /// A list-append transaction: micro-operations `[f k v]` (`["append" k v]`, `["r" k nil]`,
    /// as [`sim::MicroOp::invoked`] writes them), all in one SQLite transaction; the reply is
    /// the list of completed micro-operations.
    Txn {
        /// The micro-operations, in order.
        ops: Vec<Value>,
    },
}

/// The server's answer to one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// The request's id (0 when the request could not be parsed far enough to know it).
    pub id: u64,
    /// The result: a value (`nil` for writes) or why not.
    pub result: Result<Value, Failure>,
}

/// Why a request did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Failure {
    /// The operation was executed and refused (a failed compare, insufficient funds): it
    /// certainly had no effect.
    Rejected(String),
    /// The request was unreadable or oversized and was not executed; the server closes the
    /// connection after this reply.
    BadRequest(String),
    /// The store failed (SQLite or disk error): the operation may or may not have taken
    /// effect.
    Storage(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Nil),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            ".{0,12}".prop_map(Value::Str),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| prop::collection::vec(inner, 0..4).prop_map(Value::List))
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            value().prop_map(|key| Op::Read { key }),
            (value(), value()).prop_map(|(key, value)| Op::Write { key, value }),
            (value(), value(), value()).prop_map(|(key, expected, new)| Op::Cas { key, expected, new }),
            (value(), value(), any::<i64>()).prop_map(|(from, to, amount)| Op::Transfer { from, to, amount }),
            prop::collection::vec(value(), 0..5).prop_map(|keys| Op::ReadMany { keys }),
            value().prop_map(|element| Op::Add { element }),
            Just(Op::ReadSet),
        ]
    }

    fn failure() -> impl Strategy<Value = Failure> {
        prop_oneof![
            ".{0,8}".prop_map(Failure::Rejected),
            ".{0,8}".prop_map(Failure::BadRequest),
            ".{0,8}".prop_map(Failure::Storage),
        ]
    }

    fn response() -> impl Strategy<Value = Response> {
        let result = prop_oneof![value().prop_map(Ok), failure().prop_map(Err)];
        (any::<u64>(), result).prop_map(|(id, result)| Response { id, result })
    }

    /// Decodes every frame in `bytes`, fed in chunks of `chunk` bytes.
    fn frames(bytes: &[u8], chunk: usize) -> Result<Vec<Vec<u8>>, WireError> {
        let mut decoder = FrameDecoder::default();
        let mut out = Vec::new();
        for piece in bytes.chunks(chunk.max(1)) {
            decoder.feed(piece);
            while let Some(body) = decoder.next_frame()? {
                out.push(body);
            }
        }
        Ok(out)
    }

    proptest! {
        #[test]
        fn requests_round_trip(id in any::<u64>(), ops in prop::collection::vec(op(), 1..4), chunk in 1usize..64) {
            let requests: Vec<Request> = ops.into_iter().map(|op| Request { id, op }).collect();
            let mut bytes = Vec::new();
            for request in &requests {
                bytes.extend(encode(request).expect("encodes"));
            }
            let bodies = frames(&bytes, chunk).expect("decodes");
            let decoded: Vec<Request> = bodies.iter().map(|body| decode(body).expect("parses")).collect();
            prop_assert_eq!(decoded, requests);
        }

        #[test]
        fn responses_round_trip(response in response()) {
            let bytes = encode(&response).expect("encodes");
            let bodies = frames(&bytes, 7).expect("decodes");
            prop_assert_eq!(bodies.len(), 1);
            prop_assert_eq!(decode::<Response>(&bodies[0]).expect("parses"), response);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256), chunk in 1usize..32) {
            if let Ok(bodies) = frames(&bytes, chunk) {
                for body in bodies {
                    let _ = decode::<Request>(&body);
                    let _ = decode::<Response>(&body);
                    let _ = salvage_id(&body);
                }
            }
        }
    }

    #[test]
    fn oversized_length_is_refused_before_buffering() {
        let mut decoder = FrameDecoder::new(16);
        decoder.feed(&17u32.to_be_bytes());
        assert!(matches!(decoder.next_frame(), Err(WireError::Oversized { len: 17, max: 16 })));
        let mut decoder = FrameDecoder::default();
        decoder.feed(&u32::MAX.to_be_bytes());
        assert!(matches!(decoder.next_frame(), Err(WireError::Oversized { .. })));
        assert!(matches!(frame(&vec![0u8; MAX_FRAME + 1]), Err(WireError::Oversized { .. })));
        assert_eq!(frame(&vec![0u8; MAX_FRAME]).expect("at the limit").len(), MAX_FRAME + HEADER_LEN);
    }

    #[test]
    fn partial_frames_wait_for_more_bytes() {
        let bytes = encode(&Request { id: 3, op: Op::ReadSet }).expect("encodes");
        let mut decoder = FrameDecoder::default();
        decoder.feed(&bytes[..2]);
        assert_eq!(decoder.next_frame().expect("ok"), None);
        decoder.feed(&bytes[2..bytes.len() - 1]);
        assert_eq!(decoder.next_frame().expect("ok"), None);
        decoder.feed(&bytes[bytes.len() - 1..]);
        assert!(decoder.next_frame().expect("ok").is_some());
        assert_eq!(decoder.buffered(), 0);
    }

    #[test]
    fn malformed_bodies_are_typed_errors_and_ids_are_salvaged() {
        assert!(matches!(decode::<Request>(b"hello"), Err(WireError::Malformed(_))));
        assert!(matches!(decode::<Request>(b""), Err(WireError::Malformed(_))));
        let bogus = br#"{"id": 7, "op": "Bogus"}"#;
        assert!(matches!(decode::<Request>(bogus), Err(WireError::Malformed(_))));
        assert_eq!(salvage_id(bogus), Some(7));
        assert_eq!(salvage_id(b"hello"), None);
        // A float is not a value.
        assert!(decode::<Request>(br#"{"id": 1, "op": {"Read": {"key": 1.5}}}"#).is_err());
    }

    #[test]
    fn the_format_is_stable() {
        let request = Request { id: 9, op: Op::Cas { key: "r".into(), expected: Value::Nil, new: Value::Int(2) } };
        let body = serde_json::to_string(&request).expect("encodes");
        assert_eq!(body, r#"{"id":9,"op":{"Cas":{"key":"r","expected":null,"new":2}}}"#);
        let response = Response { id: 9, result: Err(Failure::Rejected("cas mismatch".into())) };
        let body = serde_json::to_string(&response).expect("encodes");
        assert_eq!(body, r#"{"id":9,"result":{"Err":{"Rejected":"cas mismatch"}}}"#);
    }

    #[tokio::test]
    async fn async_helpers_read_what_was_written_and_detect_truncation() {
        let first = encode(&Request { id: 1, op: Op::ReadSet }).expect("encodes");
        let second = encode(&Request { id: 2, op: Op::Add { element: Value::Int(5) } }).expect("encodes");
        let mut sink = Vec::new();
        write_frame(&mut sink, &first).await.expect("writes");
        write_frame(&mut sink, &second).await.expect("writes");
        let mut reader = &sink[..];
        let mut decoder = FrameDecoder::default();
        let a: Request = decode(&read_frame(&mut reader, &mut decoder).await.expect("ok").expect("frame")).expect("ok");
        let b: Request = decode(&read_frame(&mut reader, &mut decoder).await.expect("ok").expect("frame")).expect("ok");
        assert_eq!((a.id, b.id), (1, 2));
        assert!(read_frame(&mut reader, &mut decoder).await.expect("ok").is_none());
        let mut cut = &first[..first.len() - 1];
        let mut decoder = FrameDecoder::default();
        assert!(matches!(read_frame(&mut cut, &mut decoder).await, Err(WireError::Truncated { .. })));
    }
}
