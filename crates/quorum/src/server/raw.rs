//! Raw bytes to a node's ports, outside the protocol: what a buggy client or a confused peer
//! might send. For bad-input tests elsewhere (which need not depend on turmoil and tokio
//! themselves): run these inside a turmoil host of the test's own.

use std::time::Duration;

use sim::frame::{self, FrameDecoder, MAX_REPLY_FRAME};
use tokio::io::AsyncWriteExt;
use turmoil::net::TcpStream;

/// What came back on one raw connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exchange {
    /// The frame bodies the node sent back, in order.
    pub replies: Vec<Vec<u8>>,
    /// Whether the node closed (or reset) the connection within the wait.
    pub closed: bool,
    /// Simulated time when the exchange ended.
    pub ended: Duration,
}

/// Connects to `port` of `host`, sends `bytes` as they are (framing is the caller's), half
/// closes the connection if `hang_up`, then collects the frames that come back until the
/// node closes the connection or `wait` passes.
pub async fn exchange(host: &str, port: u16, bytes: &[u8], hang_up: bool, wait: Duration) -> std::io::Result<Exchange> {
    let deadline = sim::time::deadline(wait);
    let connect = tokio::time::timeout_at(deadline, TcpStream::connect((host, port)));
    let mut stream = connect.await.map_err(|_| std::io::ErrorKind::TimedOut)??;
    stream.write_all(bytes).await?;
    stream.flush().await?;
    if hang_up {
        stream.shutdown().await?;
    }
    let mut decoder = FrameDecoder::new(MAX_REPLY_FRAME);
    let mut out = Exchange::default();
    loop {
        match tokio::time::timeout_at(deadline, frame::read_frame(&mut stream, &mut decoder)).await {
            Ok(Ok(Some(body))) => out.replies.push(body),
            Ok(Ok(None) | Err(_)) => {
                out.closed = true;
                break;
            }
            Err(_) => break,
        }
    }
    out.ended = super::now();
    Ok(out)
}
