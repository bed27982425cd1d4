//! Shared set-up: deterministic simulations, a crash scenario, call helpers.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, UNIX_EPOCH};

use history::Value;
use sim::{CallError, Client, Operation, Reply};
use sqlstore::{server, SqlClient, Store, StoreConfig};

/// A simulation with a fixed seed and epoch (both are needed for determinism) and a LAN's
/// message latency (1-3 ms; turmoil's default goes up to 100 ms).
pub fn simulation(seed: u64) -> turmoil::Sim<'static> {
    turmoil::Builder::new()
        .rng_seed(seed)
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(3))
        .epoch(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .simulation_duration(Duration::from_secs(600))
        .build()
}

/// Calls with a timeout (as the harness does): a timeout is indeterminate and resets.
pub async fn call(client: &mut SqlClient, operation: &Operation, limit: Duration) -> Result<Reply, CallError> {
    match tokio::time::timeout(limit, client.call(operation)).await {
        Ok(outcome) => outcome,
        Err(_) => {
            client.reset();
            Err(CallError::Indeterminate("timed out".to_owned()))
        }
    }
}

/// Simulated time since the start, inside a host.
pub fn now() -> Duration {
    turmoil::sim_elapsed().unwrap_or_default()
}

/// Registers host `db`: opens the store's connections, records `PRAGMA integrity_check` on
/// every start, then serves.
pub fn db_host(
    sim: &mut turmoil::Sim<'static>,
    config: StoreConfig,
    integrity: Rc<RefCell<Vec<Vec<String>>>>,
) -> Rc<Cell<u64>> {
    let messages = Rc::new(Cell::new(0));
    let host_messages = Rc::clone(&messages);
    sim.host("db", move || {
        let config = config.clone();
        let integrity = Rc::clone(&integrity);
        let messages = Rc::clone(&host_messages);
        async move {
            let mut stores = Store::open_pool(&config)?;
            let first = stores.first_mut().ok_or("no connection")?;
            integrity.borrow_mut().push(first.integrity_check()?);
            server::serve_pool(stores, messages).await
        }
    });
    messages
}

/// When to crash and restart the server, and how long the client writes.
#[derive(Debug, Clone, Copy)]
pub struct CrashPlan {
    /// The crash (`Sim::crash`: pending writes discarded).
    pub crash_at: Duration,
    /// The restart (`Sim::bounce`).
    pub bounce_at: Duration,
    /// The client stops writing at this time, then reads everything back.
    pub write_until: Duration,
}

impl CrashPlan {
    /// A crash somewhere in 400-700 ms depending on `seed`, restart 300 ms later, writes
    /// until 1.5 s.
    pub fn for_seed(seed: u64) -> Self {
        let crash_at = Duration::from_millis(400 + (seed * 97) % 300);
        CrashPlan {
            crash_at,
            bounce_at: crash_at + Duration::from_millis(300),
            write_until: Duration::from_millis(1_500),
        }
    }
}

/// What a crash run observed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrashRun {
    /// Acknowledged writes: (key, simulated ack time). Key `i` was written with value `i`.
    pub acked: Vec<(i64, Duration)>,
    /// Keys whose write got no definite answer.
    pub unknown: Vec<i64>,
    /// Acknowledged keys that did not read back.
    pub lost: Vec<(i64, Duration)>,
    /// `PRAGMA integrity_check` at each server start.
    pub integrity: Vec<Vec<String>>,
    /// Every reply and error, with its time, in order.
    pub observations: Vec<String>,
    /// Messages counted by client and server.
    pub messages: u64,
}

/// One client writes key `i` := `i` for i = 0, 1, ... (one request at a time) while the
/// server crashes and restarts per `plan`; then it reads every acknowledged key back.
pub fn crash_run(config: StoreConfig, seed: u64, plan: CrashPlan) -> Result<CrashRun, Box<dyn std::error::Error>> {
    let mut sim = simulation(seed);
    let integrity = Rc::new(RefCell::new(Vec::new()));
    let messages = db_host(&mut sim, config, Rc::clone(&integrity));
    let run = Rc::new(RefCell::new(CrashRun::default()));
    let client_run = Rc::clone(&run);
    let client_messages = Rc::clone(&messages);
    sim.client("client", async move {
        let run = client_run;
        let mut client = SqlClient::new("db", client_messages);
        let limit = Duration::from_millis(200);
        let mut i = 0i64;
        while now() < plan.write_until {
            let write = Operation::Write { key: Some(Value::Int(i)), value: Value::Int(i) };
            let outcome = call(&mut client, &write, limit).await;
            {
                let mut run = run.borrow_mut();
                run.observations.push(format!("{:?} write {i}: {outcome:?}", now()));
                match outcome {
                    Ok(Reply::Ok(_)) => run.acked.push((i, now())),
                    Ok(Reply::Fail(why)) => return Err(format!("write {i} failed definitely: {why}").into()),
                    Err(_) => run.unknown.push(i),
                }
            }
            i += 1;
            // Pace the writes a little so the crash lands between and inside operations.
            tokio::time::sleep(Duration::from_millis(u64::try_from(i % 3).unwrap_or(0))).await;
        }
        let acked = run.borrow().acked.clone();
        for chunk in acked.chunks(64) {
            let keys: Vec<Value> = chunk.iter().map(|&(key, _)| Value::Int(key)).collect();
            let read = Operation::ReadMany { keys };
            let values = loop {
                let outcome = call(&mut client, &read, limit).await;
                run.borrow_mut().observations.push(format!("{:?} read-many: {outcome:?}", now()));
                match outcome {
                    Ok(Reply::Ok(Value::List(values))) => break values,
                    Ok(other) => return Err(format!("read-many answered {other:?}").into()),
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            };
            for (&(key, at), value) in chunk.iter().zip(values) {
                if value != Value::Int(key) {
                    run.borrow_mut().lost.push((key, at));
                }
            }
        }
        Ok(())
    });
    let (mut crashed, mut bounced) = (false, false);
    loop {
        let finished = sim.step()?;
        if !crashed && sim.elapsed() >= plan.crash_at {
            sim.crash("db");
            crashed = true;
        }
        if crashed && !bounced && sim.elapsed() >= plan.bounce_at {
            sim.bounce("db");
            bounced = true;
        }
        if finished {
            break;
        }
    }
    let mut run = run.take();
    run.integrity = integrity.take();
    run.messages = messages.get();
    Ok(run)
}

/// Asserts every recorded integrity check said "ok".
pub fn assert_integrity_ok(run: &CrashRun, what: &str) {
    assert!(!run.integrity.is_empty(), "{what}: the server never started");
    for check in &run.integrity {
        assert_eq!(check, &vec!["ok".to_owned()], "{what}");
    }
}

/// A system whose clients count every failure reason they see (`Reply::Fail` reasons and
/// call errors), for tests that must tell disk failures from other refusals.
#[derive(Clone)]
pub struct Recorded<S> {
    /// The system under test.
    pub inner: S,
    /// Reason -> how often it was seen.
    pub reasons: Rc<RefCell<std::collections::BTreeMap<String, u64>>>,
}

/// [`Recorded`]'s client.
pub struct RecordedClient<C> {
    inner: C,
    reasons: Rc<RefCell<std::collections::BTreeMap<String, u64>>>,
}

impl<S: sim::System> sim::System for Recorded<S> {
    type Client = RecordedClient<S::Client>;
    fn servers(&self) -> Vec<String> {
        self.inner.servers()
    }
    fn serve(&self, host: &str) -> sim::LocalFuture<turmoil::Result> {
        self.inner.serve(host)
    }
    fn client(&self, client: usize) -> Self::Client {
        RecordedClient { inner: self.inner.client(client), reasons: Rc::clone(&self.reasons) }
    }
    fn skew_clock(&self, host: &str, offset_ms: i64) {
        self.inner.skew_clock(host, offset_ms);
    }
    fn messages_sent(&self) -> u64 {
        self.inner.messages_sent()
    }
}

impl<C: Client> Client for RecordedClient<C> {
    async fn call(&mut self, operation: &Operation) -> Result<Reply, CallError> {
        let outcome = self.inner.call(operation).await;
        let reason = match &outcome {
            Ok(Reply::Fail(why)) => Some(format!("fail: {why}")),
            Err(error) => Some(format!("error: {error}")),
            Ok(Reply::Ok(_)) => None,
        };
        if let Some(reason) = reason {
            *self.reasons.borrow_mut().entry(reason).or_default() += 1;
        }
        outcome
    }
    fn reset(&mut self) {
        self.inner.reset();
    }
}
