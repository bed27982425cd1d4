//! Length-prefixed JSON frames, the framing every system under test speaks over turmoil TCP.
//!
//! The pure codec ([`encode`], [`FrameDecoder`], [`decode`], [`WireError`], the limits) lives
//! in [`base::frame`] and is re-exported here under its old paths; this module adds the thin
//! async adapters over tokio's I/O traits, [`read_frame`] and [`write_frame`].

pub use base::frame::*;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// How many bytes [`read_frame`] asks the socket for at a time.
const READ_CHUNK: usize = 4096;

/// Reads the next frame body from `reader`; `None` at a clean end of stream (between frames).
pub async fn read_frame<R: AsyncRead + Unpin>(
    reader: &mut R,
    decoder: &mut FrameDecoder,
) -> Result<Option<Vec<u8>>, WireError> {
    loop {
        if let Some(body) = decoder.next_frame()? {
            return Ok(Some(body));
        }
        // Straight into the decoder's buffer: a stack chunk would be zeroed on every call and
        // carried (4 KiB) inside every future that awaits this one.
        let n = reader.read_buf(decoder.input(READ_CHUNK)).await?;
        if n == 0 {
            return match decoder.buffered() {
                0 => Ok(None),
                buffered => Err(WireError::Truncated { buffered }),
            };
        }
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

    #[tokio::test]
    async fn reads_frames_from_a_stream_and_detects_truncation() {
        let mut stream = Vec::new();
        for body in [&b"a"[..], &[7u8; READ_CHUNK * 3][..], b"end"] {
            write_frame(&mut stream, &frame(body).expect("frames")).await.expect("writes");
        }
        let mut reader = &stream[..];
        let mut decoder = FrameDecoder::new(MAX_FRAME);
        let mut got = Vec::new();
        while let Some(body) = read_frame(&mut reader, &mut decoder).await.expect("reads") {
            got.push(body.len());
        }
        assert_eq!(got, [1, READ_CHUNK * 3, 3], "a body larger than one read arrives whole");
        let mut cut = &stream[..stream.len() - 1];
        let mut decoder = FrameDecoder::new(MAX_FRAME);
        let mut result = Ok(None);
        for _ in 0..4 {
            result = read_frame(&mut cut, &mut decoder).await;
            if !matches!(result, Ok(Some(_))) {
                break;
            }
        }
        assert!(matches!(result, Err(WireError::Truncated { buffered: 6 })), "{result:?}");
    }
}
