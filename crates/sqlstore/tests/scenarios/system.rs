//! The SQL system through the harness's contract (`sim::System`, `sim::Client`).

use std::time::Duration;

use history::Value;
use sim::{CallError, Client, Operation, Reply, System};
use sqlstore::{SqlSystem, StoreConfig};

use super::common::{call, simulation};

fn list(items: Vec<Value>) -> Value {
    Value::List(items)
}

fn s(text: &str) -> Value {
    Value::Str(text.to_owned())
}

/// Runs `system`'s server on `db` and `body` on a client host.
fn with_system<F>(system: SqlSystem, body: impl FnOnce(SqlSystem) -> F) -> turmoil::Result
where
    F: std::future::Future<Output = turmoil::Result> + 'static,
{
    let mut sim = simulation(4);
    let server = system.clone();
    sim.host("db", move || server.serve("db"));
    sim.client("client", body(system));
    sim.run()
}

#[test]
fn register_bank_and_errors_through_the_contract() -> turmoil::Result {
    let system = SqlSystem::new(StoreConfig::default());
    assert_eq!(system.servers(), vec!["db".to_owned()]);
    with_system(system, |system| async move {
        let limit = Duration::from_secs(2);
        let mut client = system.client(0);
        let pair = |a: i64, b: i64| list(vec![Value::Int(a), Value::Int(b)]);
        assert_eq!(call(&mut client, &Operation::Read { key: None }, limit).await, Ok(Reply::Ok(Value::Nil)));
        assert_eq!(
            call(&mut client, &Operation::Write { key: None, value: Value::Int(1) }, limit).await,
            Ok(Reply::Ok(Value::Int(1)))
        );
        assert_eq!(
            call(&mut client, &Operation::Cas { key: None, expected: Value::Int(1), new: Value::Int(2) }, limit).await,
            Ok(Reply::Ok(pair(1, 2)))
        );
        assert_eq!(
            call(&mut client, &Operation::Cas { key: None, expected: Value::Int(1), new: Value::Int(3) }, limit).await,
            Ok(Reply::Fail("cas mismatch".to_owned()))
        );
        assert_eq!(call(&mut client, &Operation::Read { key: None }, limit).await, Ok(Reply::Ok(Value::Int(2))));
        // Keyed registers are independent of the key-less one.
        assert_eq!(call(&mut client, &Operation::Read { key: Some(s("k1")) }, limit).await, Ok(Reply::Ok(Value::Nil)));

        // Bank: seed two accounts, move money, overdraw.
        for (account, balance) in [("a", 10), ("b", 0)] {
            let write = Operation::Write { key: Some(s(account)), value: Value::Int(balance) };
            assert!(matches!(call(&mut client, &write, limit).await, Ok(Reply::Ok(_))));
        }
        let transfer = |amount| Operation::Transfer { from: s("a"), to: s("b"), amount };
        assert_eq!(call(&mut client, &transfer(4), limit).await, Ok(Reply::Ok(transfer(4).value())));
        assert!(
            matches!(call(&mut client, &transfer(7), limit).await, Ok(Reply::Fail(why)) if why.contains("insufficient"))
        );
        let balances = Operation::ReadMany { keys: vec![s("a"), s("b")] };
        assert_eq!(call(&mut client, &balances, limit).await, Ok(Reply::Ok(pair(6, 4))));

        // 11 operations were sent, each a request and a reply.
        assert_eq!(system.messages_sent(), 22);
        Ok(())
    })
}

#[test]
fn set_workload_reads_the_set() -> turmoil::Result {
    let system = SqlSystem::new(StoreConfig::default());
    with_system(system, |system| async move {
        let limit = Duration::from_secs(2);
        let mut clients: Vec<_> = (0..3).map(|i| system.client(i)).collect();
        for (i, element) in [5, 1, 3, 1].into_iter().enumerate() {
            let add = Operation::Add { element: Value::Int(element) };
            let client = &mut clients[i % 3];
            assert_eq!(call(client, &add, limit).await, Ok(Reply::Ok(Value::Int(element))));
        }
        let read = Operation::ReadSet;
        assert_eq!(
            call(&mut clients[0], &read, limit).await,
            Ok(Reply::Ok(list(vec![Value::Int(1), Value::Int(3), Value::Int(5)])))
        );
        Ok(())
    })
}

#[test]
fn unknown_server_host_is_an_error() -> turmoil::Result {
    let mut sim = simulation(1);
    let system = SqlSystem::new(StoreConfig::default());
    sim.client("other", system.serve("other"));
    assert!(sim.run().is_err());
    Ok(())
}

#[test]
fn nobody_listening_is_not_sent_and_the_client_recovers() -> turmoil::Result {
    let mut sim = simulation(2);
    let system = SqlSystem::new(StoreConfig::default());
    let server = system.clone();
    // The server starts listening only after 100 ms.
    sim.host("db", move || {
        let server = server.clone();
        async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            server.serve("db").await
        }
    });
    sim.client("client", async move {
        let mut client = system.client(0);
        let read = Operation::Read { key: None };
        let outcome = client.call(&read).await;
        assert!(matches!(outcome, Err(CallError::NotSent(_))), "{outcome:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(client.call(&read).await, Ok(Reply::Ok(Value::Nil)));
        Ok(())
    });
    sim.run()
}

#[test]
fn a_cancelled_call_does_not_confuse_the_next() -> turmoil::Result {
    with_system(SqlSystem::new(StoreConfig::default()), |system| async move {
        let mut client = system.client(0);
        let read = Operation::Read { key: None };
        assert_eq!(client.call(&read).await, Ok(Reply::Ok(Value::Nil)));
        // Cancelled after the request went out, before the reply came back (no `reset`).
        let write = Operation::Write { key: None, value: Value::Int(1) };
        assert!(tokio::time::timeout(Duration::from_micros(10), client.call(&write)).await.is_err());
        tokio::time::sleep(Duration::from_millis(50)).await;
        // The next call gets its own reply, not the stale one; the cancelled write happened.
        assert_eq!(client.call(&read).await, Ok(Reply::Ok(Value::Int(1))));
        Ok(())
    })
}
