//! Length-prefixed JSON frames, the framing every system under test speaks over turmoil TCP.
//!
//! A frame is a 4-byte big-endian body length followed by the body. Encoding and decoding are
//! pure functions over byte buffers: [`encode`] builds a frame, [`FrameDecoder`] is fed bytes
//! and yields frame bodies, [`decode`] parses a body. An oversized length or a malformed body
//! is a typed [`WireError`], never a panic. The async helpers `read_frame` and `write_frame`
//! are thin adapters over tokio's I/O traits and live in `sim::frame`, which re-exports this
//! module.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The largest body a frame may carry (1 MiB).
pub const MAX_FRAME: usize = 1 << 20;

/// The largest reply frame a client accepts: a set's final read lists every element, so
/// replies may be far larger than requests.
pub const MAX_REPLY_FRAME: usize = 64 << 20;

/// The length prefix's size.
pub const HEADER_LEN: usize = 4;

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

/// The id of a body that is not a valid request but carries a numeric `id`, so the error
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

    /// The decoder's input buffer with room for `additional` more bytes, for an adapter that
    /// reads from a socket straight into it (bytes appended are fed, as by [`Self::feed`]):
    /// a stack chunk would be zeroed on every read and carried inside every future.
    pub fn input(&mut self, additional: usize) -> &mut Vec<u8> {
        self.buffer.reserve(additional);
        &mut self.buffer
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

#[cfg(test)]
mod tests {
    use super::*;

    fn bodies(bytes: &[u8], chunk: usize) -> Result<Vec<Vec<u8>>, WireError> {
        let mut decoder = FrameDecoder::new(64);
        let mut out = Vec::new();
        for piece in bytes.chunks(chunk.max(1)) {
            decoder.feed(piece);
            while let Some(body) = decoder.next_frame()? {
                out.push(body);
            }
        }
        Ok(out)
    }

    #[test]
    fn frames_split_anywhere_come_back_whole() {
        let mut bytes = frame(b"first").expect("frames");
        bytes.extend(frame(b"").expect("an empty body is a frame"));
        bytes.extend(frame(b"third body").expect("frames"));
        for chunk in 1..bytes.len() {
            let got = bodies(&bytes, chunk).expect("decodes");
            assert_eq!(got, [b"first".to_vec(), Vec::new(), b"third body".to_vec()], "chunk {chunk}");
        }
    }

    #[test]
    fn an_oversized_length_is_refused_before_its_body_arrives() {
        let mut decoder = FrameDecoder::new(16);
        decoder.feed(&17u32.to_be_bytes());
        assert!(matches!(decoder.next_frame(), Err(WireError::Oversized { len: 17, max: 16 })));
        assert!(matches!(frame(&vec![0u8; MAX_FRAME + 1]), Err(WireError::Oversized { .. })));
        assert!(matches!(encode_limited(&"x".repeat(10), 5), Err(WireError::Oversized { .. })));
    }
}
