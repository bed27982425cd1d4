//! Malformed and oversized frames close only their own connection.

use std::rc::Rc;
use std::time::Duration;

use history::Value;
use sim::{Operation, Reply};
use sqlstore::wire::{self, Failure, FrameDecoder, Response};
use sqlstore::{SqlClient, StoreConfig, PORT};
use tokio::io::AsyncWriteExt;
use turmoil::net::TcpStream;

use super::common::{call, db_host, simulation};

/// Sends `bytes` on a fresh connection; returns the reply (if any) and whether the server
/// then closed the connection.
async fn send_raw(bytes: &[u8]) -> Result<(Option<Response>, bool), Box<dyn std::error::Error>> {
    let mut stream = TcpStream::connect(("db", PORT)).await?;
    stream.write_all(bytes).await?;
    let mut decoder = FrameDecoder::default();
    let limit = Duration::from_secs(2);
    let reply = match tokio::time::timeout(limit, wire::read_frame(&mut stream, &mut decoder)).await? {
        Ok(Some(body)) => Some(wire::decode::<Response>(&body)?),
        Ok(None) => None,
        Err(error) => return Err(error.into()),
    };
    let closed = matches!(tokio::time::timeout(limit, wire::read_frame(&mut stream, &mut decoder)).await?, Ok(None));
    Ok((reply, closed))
}

fn is_bad_request(reply: &Option<Response>, id: u64) -> bool {
    matches!(reply, Some(Response { id: got, result: Err(Failure::BadRequest(_)) }) if *got == id)
}

#[test]
fn bad_frames_close_only_their_connection() -> turmoil::Result {
    let mut sim = simulation(9);
    let messages = db_host(&mut sim, StoreConfig::default(), Rc::default());
    sim.client("client", async move {
        let limit = Duration::from_secs(2);
        let mut good = SqlClient::new("db", Rc::clone(&messages));
        let key = |k: i64| Some(Value::Int(k));
        assert_eq!(
            call(&mut good, &Operation::Write { key: key(1), value: Value::Int(10) }, limit).await,
            Ok(Reply::Ok(Value::Int(10)))
        );

        // A body that is not JSON.
        let (reply, closed) = send_raw(&wire::frame(b"hello")?).await?;
        assert!(is_bad_request(&reply, 0) && closed, "{reply:?} {closed}");
        // JSON with an id but an unknown operation: the error names the id.
        let (reply, closed) = send_raw(&wire::frame(br#"{"id":7,"op":"Bogus"}"#)?).await?;
        assert!(is_bad_request(&reply, 7) && closed, "{reply:?} {closed}");
        // A length far beyond the limit (the body never follows).
        let (reply, closed) = send_raw(&u32::MAX.to_be_bytes()).await?;
        assert!(is_bad_request(&reply, 0) && closed, "{reply:?} {closed}");
        // A frame cut short, then the client hangs up: nothing to answer.
        let mut cut = TcpStream::connect(("db", PORT)).await?;
        cut.write_all(&[0, 0, 0, 50, b'{']).await?;
        drop(cut);

        // The well-behaved client's connection was never disturbed, and the data is intact.
        assert_eq!(call(&mut good, &Operation::Read { key: key(1) }, limit).await, Ok(Reply::Ok(Value::Int(10))));
        assert_eq!(
            call(&mut good, &Operation::Write { key: key(2), value: Value::Int(20) }, limit).await,
            Ok(Reply::Ok(Value::Int(20)))
        );
        let mut fresh = SqlClient::new("db", messages);
        let both = Operation::ReadMany { keys: vec![Value::Int(1), Value::Int(2)] };
        assert_eq!(
            call(&mut fresh, &both, limit).await,
            Ok(Reply::Ok(Value::List(vec![Value::Int(10), Value::Int(20)])))
        );
        Ok(())
    });
    sim.run()
}
