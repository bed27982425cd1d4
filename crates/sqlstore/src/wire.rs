//! The client-server protocol: length-prefixed JSON frames.
//!
//! A frame is a 4-byte big-endian body length followed by the body, at most [`MAX_FRAME`]
//! bytes of JSON: a [`Request`] from client to server, a [`Response`] back. A client sends one
//! request at a time and matches the reply by `id`.
//!
//! Encoding and decoding are pure functions over byte buffers: [`encode`] builds a frame,
//! [`FrameDecoder`] is fed bytes and yields frame bodies, [`decode`] parses a body. An
//! oversized length or a malformed body is a typed [`WireError`], never a panic. The async
//! helpers [`read_frame`] and [`write_frame`] are thin adapters over tokio's I/O traits.

use history::Value;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest body a frame may carry (1 MiB).
pub const MAX_FRAME: usize = 1 << 20;

/// The largest reply frame a client accepts: a set's final read lists every element, so
/// replies may be far larger than requests.
pub const MAX_REPLY_FRAME: usize = 64 << 20;

/// The length prefix's size.
pub const HEADER_LEN: usize = 4;

/// How many bytes [`read_frame`] asks the socket for at a time.
const READ_CHUNK: usize = 4096;

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

/// A frame or message could not be encoded, read or decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// A frame's length exceeds the limit.
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    Oversized {
        /// The length (announced by a header, or of a body to encode).
        len: u64,
        /// The limit.
        max: usize,
    },
    /// A body is not the JSON of the expected message.
    #[error("malformed message: {0}")]
    Malformed(#[source] serde_json::Error),
    /// The stream ended inside a frame.
    #[error("stream ended inside a frame ({buffered} bytes buffered)")]
    Truncated {
        /// Bytes of the incomplete frame received.
        buffered: usize,
    },
    /// The socket failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// Encodes `message` as one frame (header and body) of at most [`MAX_FRAME`] bytes.
pub fn encode<T: Serialize>(message: &T) -> Result<Vec<u8>, WireError> {
    encode_limited(message, MAX_FRAME)
}

/// Encodes `message` as one frame whose body is at most `max` bytes.
pub fn encode_limited<T: Serialize>(message: &T, max: usize) -> Result<Vec<u8>, WireError> {
    let body = serde_json::to_vec(message).map_err(WireError::Malformed)?;
    frame_limited(&body, max)
}

/// Wraps `body` in a frame of at most [`MAX_FRAME`] bytes.
pub fn frame(body: &[u8]) -> Result<Vec<u8>, WireError> {
    frame_limited(body, MAX_FRAME)
}

fn frame_limited(body: &[u8], max: usize) -> Result<Vec<u8>, WireError> {
    let len = u32::try_from(body.len())
        .ok()
        .filter(|&len| len as usize <= max)
        .ok_or(WireError::Oversized { len: body.len() as u64, max })?;
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    Ok(out)
}

/// Parses a frame body as a `T`.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, WireError> {
    serde_json::from_slice(body).map_err(WireError::Malformed)
}

/// The id of a body that is not a valid [`Request`] but carries a numeric `id`, so the error
/// reply can name it.
pub fn salvage_id(body: &[u8]) -> Option<u64> {
    #[derive(Deserialize)]
    struct IdOnly {
        id: u64,
    }
    serde_json::from_slice::<IdOnly>(body).ok().map(|only| only.id)
}

/// Splits a byte stream into frame bodies. Holds at most one partial frame (the header is
/// checked as soon as it arrives, so an oversized frame is refused before it is buffered).
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    buffer: Vec<u8>,
    max: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        FrameDecoder::new(MAX_FRAME)
    }
}

impl FrameDecoder {
    /// A decoder refusing bodies longer than `max` bytes.
    pub fn new(max: usize) -> Self {
        FrameDecoder { buffer: Vec::new(), max }
    }

    /// Appends received bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Bytes received but not yet returned as a frame.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// The next complete frame's body, `None` if more bytes are needed, or an error for an
    /// oversized length (after which the stream cannot be resynchronised).
    pub fn next_frame(&mut self) -> Result<Option<Vec<u8>>, WireError> {
        let Some(header) = self.buffer.first_chunk::<HEADER_LEN>() else { return Ok(None) };
        let len = u32::from_be_bytes(*header);
        let len = usize::try_from(len)
            .ok()
            .filter(|&len| len <= self.max)
            .ok_or(WireError::Oversized { len: u64::from(len), max: self.max })?;
        let end = HEADER_LEN + len;
        if self.buffer.len() < end {
            return Ok(None);
        }
        let body = self.buffer[HEADER_LEN..end].to_vec();
        self.buffer.drain(..end);
        Ok(Some(body))
    }
}

/// Reads the next frame body from `reader`; `None` at a clean end of stream (between frames).
pub async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    decoder: &mut FrameDecoder,
) -> Result<Option<Vec<u8>>, WireError> {
    let mut chunk = [0u8; READ_CHUNK];
    loop {
        if let Some(body) = decoder.next_frame()? {
            return Ok(Some(body));
        }
        let n = reader.read(&mut chunk).await?;
        if n == 0 {
            return match decoder.buffered() {
                0 => Ok(None),
                buffered => Err(WireError::Truncated { buffered }),
            };
        }
        decoder.feed(&chunk[..n]);
    }
}

/// Writes one complete frame and flushes.
pub async fn write_frame<W: AsyncWrite + Unpin>(writer: &mut W, frame: &[u8]) -> std::io::Result<()> {
    writer.write_all(frame).await?;
    writer.flush().await
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
