//! The quorum store at its network edge and after partitions, under the harness: bad input
//! from clients and would-be peers is rejected without harm, and hinted handoff and
//! anti-entropy make replicas equal again after a heal, within a bound of simulated time.
//!
//! Both scenarios wrap [`QuorumSystem`] in a small [`System`] of their own: the bad-input one
//! adds a host, `intruder`, that sends raw bytes to n1; the convergence one turns the set
//! workload's adds into blind writes over 20 keys, so that the run goes on for `settle` after
//! the last write (the harness ends a kv run as soon as its last operations complete, too soon
//! to watch replicas converge).

use std::cell::RefCell;
use std::error::Error;
use std::rc::Rc;
use std::time::Duration;

use checker::set_loss;
use history::{Event, EventType, Value};
use quorum::client::QuorumClient;
use quorum::server::{raw, Hello, CLIENT_PORT, MAX_PEER_FRAME, PEER_PORT};
use quorum::system::Convergence;
use quorum::{ClusterConfig, Failure, Hints, Level, Op, PeerMessage, QuorumSystem, Request, Response};
use sim::frame::{self, MAX_FRAME};
use sim::{CallError, Client, Fault, LocalFuture, Operation, Reply, RunResult, Schedule, Set, SimConfig, System};

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn at(event: &Event) -> Duration {
    Duration::from_nanos(event.time.unwrap_or(0))
}

// ---------------------------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------------------------

/// What one raw exchange with n1 must end in.
#[derive(Debug, Clone)]
enum Expect {
    /// Answers to these request ids, each `Ok(value)` or a failure of the named kind
    /// (`unsupported`, `unavailable`, `timeout`, or `any` failure); the connection stays open.
    Answers(Vec<(u64, Result<Value, &'static str>)>),
    /// One `Unsupported` answer to this request id, then the connection is closed.
    Refused(u64),
    /// Closed without a word.
    Dropped,
    /// Nothing comes back and the connection stays open (well-formed peer messages).
    Ignored,
}

/// One raw exchange of the intruder's script.
#[derive(Debug, Clone)]
struct Step {
    label: &'static str,
    port: u16,
    bytes: Vec<u8>,
    /// Half-close after sending (a frame cut short by a client that hangs up).
    hang_up: bool,
    expect: Expect,
    /// Counted by `QuorumSystem::bad_frames`.
    bad: bool,
}

fn framed(body: &[u8]) -> Vec<u8> {
    frame::frame(body).expect("frames")
}

fn encoded<T: serde::Serialize>(message: &T) -> Vec<u8> {
    frame::encode_limited(message, MAX_PEER_FRAME).expect("encodes")
}

fn request(id: u64, op: Op, read: Option<Level>, write: Option<Level>) -> Request {
    Request { id, op, read, write }
}

fn put(key: &str, value: Value) -> Op {
    Op::Put { key: key.to_owned(), value }
}

fn get(key: &str) -> Op {
    Op::Get { key: key.to_owned() }
}

fn hello(from: u32) -> Vec<u8> {
    encoded(&Hello { from })
}

fn nested(depth: usize) -> Value {
    (0..depth).fold(Value::Int(1), |inner, _| Value::List(vec![inner]))
}

/// A string value whose `Put` request fills the client's frame limit to the last few bytes:
/// legitimate, and the largest cell a client can write.
fn big_value(id: u64) -> Value {
    let overhead = encoded(&request(id, put("big", Value::Str(String::new())), None, Some(Level::All))).len();
    Value::Str("x".repeat(MAX_FRAME + frame::HEADER_LEN - overhead))
}

fn step(label: &'static str, port: u16, bytes: Vec<u8>, expect: Expect, bad: bool) -> Step {
    Step { label, port, bytes, hang_up: false, expect, bad }
}

/// The intruder's script, in order. Every write it makes goes to all three replicas (level
/// ALL), so n1 must still reach both peers for it to succeed.
fn script() -> Vec<Step> {
    let all = Some(Level::All);
    let canary = Value::Int(42);
    let big = big_value(3);
    let mut refused_requests = Vec::new();
    for r in [
        request(11, get("canary"), Some(Level::Any), None),
        request(12, put("\u{1}hint/2/canary", Value::Int(0)), None, all),
        request(13, put(&"k".repeat(2000), Value::Int(0)), None, all),
        request(14, put("canary", Value::Int(0)), None, Some(Level::Count(0))),
        request(15, get("canary"), Some(Level::Count(7)), None),
        request(16, put("deep", nested(40)), None, all),
        request(17, Op::Add { key: "canary".to_owned(), element: Value::Int(1) }, all, all),
        request(18, get("canary"), all, None),
    ] {
        refused_requests.extend(encoded(&r));
    }
    let mut peer_chatter = hello(2);
    for msg in [
        PeerMessage::Tree {
            round: 1,
            nodes: vec![quorum::message::TreeNode { range: 1, level: 0, index: 0, hash: 3 }],
        },
        PeerMessage::WriteAck { rid: 999_999, ok: true },
        PeerMessage::HintAck { hid: 999_999, ok: true },
        PeerMessage::Cells {
            round: 1,
            leaves: vec![quorum::message::LeafId { range: 1, leaf: 0 }],
            cells: vec![(
                "\u{1}hint/1/canary".to_owned(),
                quorum::Cell::new(Value::Int(0), quorum::Version::new(u64::MAX, 2)),
            )],
            reply: true,
        },
        PeerMessage::Write {
            rid: 5,
            key: "\u{1}done/3/canary".to_owned(),
            cell: quorum::Cell::new(Value::Nil, quorum::Version::new(1, 2)),
            hint_for: None,
        },
    ] {
        peer_chatter.extend(encoded(&msg));
    }
    let with_hello = |from: u32, rest: &[u8]| [hello(from), rest.to_vec()].concat();
    let oversized = u32::MAX.to_be_bytes().to_vec();
    let over_peer_limit = u32::try_from(MAX_PEER_FRAME + 1).expect("fits").to_be_bytes().to_vec();
    let cut_short = vec![0, 0, 0, 50, b'{'];
    let deep_json =
        format!("{{\"id\":8,\"op\":{{\"put\":{{\"key\":\"x\",\"value\":{}1{}}}}}}}", "[".repeat(200), "]".repeat(200));
    let (c, p) = (CLIENT_PORT, PEER_PORT);
    vec![
        // Acknowledged before any garbage.
        step(
            "canary write",
            c,
            encoded(&request(1, put("canary", canary.clone()), None, all)),
            Expect::Answers(vec![(1, Ok(canary.clone()))]),
            false,
        ),
        // (a) malformed frames from a client.
        step("client: not JSON", c, framed(b"hello"), Expect::Refused(0), true),
        step("client: unknown operation", c, framed(br#"{"id":7,"op":"bogus"}"#), Expect::Refused(7), true),
        step("client: nested beyond the parser's limit", c, framed(deep_json.as_bytes()), Expect::Refused(8), true),
        // (b) oversized and cut-short frames from a client.
        step("client: length 0xFFFFFFFF", c, oversized.clone(), Expect::Refused(0), true),
        Step { hang_up: true, ..step("client: frame cut short", c, cut_short.clone(), Expect::Refused(0), true) },
        // Well-formed requests the node must refuse, on one connection that stays open.
        step(
            "client: well-formed but refused",
            c,
            refused_requests,
            Expect::Answers(vec![
                (11, Err("unsupported")),
                (12, Err("unsupported")),
                (13, Err("unsupported")),
                (14, Err("unsupported")),
                (15, Err("unavailable")),
                (16, Err("any")),
                (17, Err("unsupported")),
                (18, Ok(canary.clone())),
            ]),
            false,
        ),
        // The largest value a client can send: it must replicate (peer frames are larger).
        step(
            "client: largest value",
            c,
            encoded(&request(3, put("big", big.clone()), None, all)),
            Expect::Answers(vec![(3, Ok(big.clone()))]),
            false,
        ),
        // (c) bogus hellos on the peer port.
        step("peer: hello not JSON", p, framed(b"\x00\x01garbage"), Expect::Dropped, true),
        step("peer: hello from a stranger", p, hello(99), Expect::Dropped, true),
        step("peer: hello from n1 itself", p, hello(1), Expect::Dropped, true),
        step(
            "peer: a message before any hello",
            p,
            encoded(&PeerMessage::WriteAck { rid: 1, ok: true }),
            Expect::Dropped,
            true,
        ),
        // (d) a valid hello, then garbage.
        step("peer: garbage after hello", p, with_hello(2, &framed(b"\xff\xfe")), Expect::Dropped, true),
        step(
            "peer: incomplete message after hello",
            p,
            with_hello(2, &framed(br#"{"write":{"rid":1}}"#)),
            Expect::Dropped,
            true,
        ),
        // (e) oversized and cut-short frames on the peer port.
        step("peer: length 0xFFFFFFFF", p, oversized, Expect::Dropped, true),
        step("peer: over the peer limit after hello", p, with_hello(2, &over_peer_limit), Expect::Dropped, true),
        Step {
            hang_up: true,
            ..step("peer: frame cut short after hello", p, with_hello(3, &cut_short), Expect::Dropped, true)
        },
        // Well-formed peer messages with nonsense in them: ignored, not fatal.
        step("peer: well-formed nonsense", p, peer_chatter, Expect::Ignored, false),
        // Still serving, with everything acknowledged before.
        step(
            "fresh client afterwards",
            c,
            [
                encoded(&request(4, get("canary"), all, None)),
                encoded(&request(5, get("big"), all, None)),
                encoded(&request(6, put("after", Value::Int(7)), None, all)),
            ]
            .concat(),
            Expect::Answers(vec![(4, Ok(canary)), (5, Ok(big)), (6, Ok(Value::Int(7)))]),
            false,
        ),
    ]
}

/// How long the intruder waits for each exchange to end (valid exchanges always wait it out).
const WAIT: Duration = Duration::from_millis(300);

type Outcomes = Rc<RefCell<Vec<(Step, Result<raw::Exchange, String>)>>>;

/// The quorum store plus host `intruder`, which runs [`script`] against n1 from `start`.
struct WithIntruder {
    inner: QuorumSystem,
    start: Duration,
    outcomes: Outcomes,
}

impl System for WithIntruder {
    type Client = QuorumClient;

    fn servers(&self) -> Vec<String> {
        let mut servers = self.inner.servers();
        servers.push("intruder".to_owned());
        servers
    }

    fn serve(&self, host: &str) -> LocalFuture<Result<(), Box<dyn Error>>> {
        if host != "intruder" {
            return self.inner.serve(host);
        }
        let (start, outcomes) = (self.start, Rc::clone(&self.outcomes));
        Box::pin(async move {
            sim::time::sleep_until(start).await;
            for step in script() {
                let outcome = raw::exchange("n1", step.port, &step.bytes, step.hang_up, WAIT).await;
                outcomes.borrow_mut().push((step, outcome.map_err(|e| e.to_string())));
            }
            Ok(())
        })
    }

    fn client(&self, client: usize) -> QuorumClient {
        self.inner.client(client)
    }

    fn skew_clock(&self, host: &str, offset_ms: i64) {
        self.inner.skew_clock(host, offset_ms);
    }

    fn messages_sent(&self) -> u64 {
        self.inner.messages_sent()
    }
}

fn failure_kind(failure: &Failure) -> &'static str {
    match failure {
        Failure::Unavailable(_) => "unavailable",
        Failure::Timeout => "timeout",
        Failure::Unsupported(_) => "unsupported",
        Failure::NotApplied { .. } => "not applied",
    }
}

/// Why an exchange did not end as expected, if it did not.
fn judge(step: &Step, exchange: &raw::Exchange) -> Option<String> {
    let responses: Result<Vec<Response>, _> = exchange.replies.iter().map(|b| frame::decode::<Response>(b)).collect();
    let Ok(responses) = responses else { return Some(format!("undecodable replies: {exchange:?}")) };
    let shown = || format!("{responses:?}, closed: {}", exchange.closed);
    match &step.expect {
        Expect::Refused(id) => {
            let refused = matches!(responses.as_slice(), [Response { id: got, result: Err(Failure::Unsupported(_)) }] if got == id);
            (!refused || !exchange.closed).then(|| format!("expected one refusal of {id}, then a close: {}", shown()))
        }
        Expect::Dropped => {
            (!responses.is_empty() || !exchange.closed).then(|| format!("expected a silent close: {}", shown()))
        }
        Expect::Ignored => (!responses.is_empty() || exchange.closed)
            .then(|| format!("expected silence on an open connection: {}", shown())),
        Expect::Answers(wanted) => {
            if exchange.closed || responses.len() != wanted.len() {
                return Some(format!("expected {} answers on an open connection: {}", wanted.len(), shown()));
            }
            for (id, want) in wanted {
                let got = responses.iter().find(|r| r.id == *id).map(|r| &r.result);
                let fine = match (got, want) {
                    (Some(Ok(value)), Ok(expected)) => value == expected,
                    (Some(Err(_)), Err("any")) => true,
                    (Some(Err(failure)), Err(kind)) => failure_kind(failure) == *kind,
                    _ => false,
                };
                if !fine {
                    let short = |v: &Value| v.to_string().chars().take(40).collect::<String>();
                    let got = got.map(|r| r.as_ref().map(short));
                    let want = want.as_ref().map(short);
                    return Some(format!("request {id}: expected {want:?}, got {got:?}"));
                }
            }
            None
        }
    }
}

#[test]
fn bad_frames_are_refused_counted_and_harmless() {
    let start = secs(0.5);
    let system = QuorumSystem::new(ClusterConfig::new(3));
    let counters = system.clone();
    let outcomes = Outcomes::default();
    // One client adding to the set through n1 the whole time: its adds are all acknowledged,
    // and the final read (through n2) holds every one of them.
    let mut config = SimConfig::new(5, Set);
    config.duration = secs(4.0);
    config.op_timeout = secs(1.0);
    config.settle = secs(1.5);
    config.client_hosts = 1;
    config.clients_per_host = 1;
    let intruder = WithIntruder { inner: system, start, outcomes: Rc::clone(&outcomes) };
    let run = sim::run(intruder, &config).expect("runs");

    let outcomes = outcomes.borrow();
    assert_eq!(outcomes.len(), script().len(), "the intruder finished its script");
    let mut problems = Vec::new();
    for (step, outcome) in outcomes.iter() {
        match outcome {
            Ok(exchange) => problems.extend(judge(step, exchange).map(|p| format!("{}: {p}", step.label))),
            Err(error) => problems.push(format!("{}: {error}", step.label)),
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    let bad = outcomes.iter().filter(|(step, _)| step.bad).count() as u64;
    assert_eq!(counters.bad_frames(), bad, "every bad frame counted once");

    // The well-behaved client never noticed.
    let done = outcomes.iter().filter_map(|(_, o)| o.as_ref().ok()).map(|e| e.ended).max().unwrap_or_default();
    let adds: Vec<&Event> = run.history.iter().filter(|e| e.f == "add" && e.kind != EventType::Invoke).collect();
    let failed: Vec<&&Event> = adds.iter().filter(|e| e.kind != EventType::Ok).collect();
    assert!(failed.is_empty(), "adds failed: {failed:?}");
    let after = adds.iter().filter(|e| at(e) > done).count();
    assert!(after > 50, "{after} adds acknowledged after the intruder finished at {done:?}");
    let loss = set_loss::analyze(&run.history);
    assert!(loss.final_read && loss.lost.is_empty(), "{loss:?}");
    eprintln!(
        "bad input: {bad} bad frames counted, intruder done at {done:?}; {} adds acknowledged, none lost",
        loss.acknowledged
    );
}

// ---------------------------------------------------------------------------------------------
// Convergence after a heal
// ---------------------------------------------------------------------------------------------

/// Keys the blind writes spread over.
const KEYS: i64 = 20;

/// The quorum store with the set workload's `add(e)` turned into `write(k{e mod 20}, e)` and
/// its final `read` into a read of `k0`: blind writes over 20 keys, and a run that goes on for
/// `settle` after the last of them.
struct BlindWrites(QuorumSystem);

/// A [`QuorumClient`] behind the mapping of [`BlindWrites`].
struct BlindClient(QuorumClient);

impl Client for BlindClient {
    async fn call(&mut self, operation: &Operation) -> Result<Reply, CallError> {
        let mapped = match operation {
            Operation::Add { element: Value::Int(e) } => {
                Operation::Write { key: Some(Value::Str(format!("k{}", e.rem_euclid(KEYS)))), value: Value::Int(*e) }
            }
            _ => Operation::Read { key: Some(Value::Str("k0".to_owned())) },
        };
        self.0.call(&mapped).await
    }

    fn reset(&mut self) {
        self.0.reset();
    }
}

impl System for BlindWrites {
    type Client = BlindClient;

    fn servers(&self) -> Vec<String> {
        self.0.servers()
    }

    fn serve(&self, host: &str) -> LocalFuture<Result<(), Box<dyn Error>>> {
        self.0.serve(host)
    }

    fn client(&self, client: usize) -> BlindClient {
        BlindClient(self.0.client(client))
    }

    fn skew_clock(&self, host: &str, offset_ms: i64) {
        self.0.skew_clock(host, offset_ms);
    }

    fn messages_sent(&self) -> u64 {
        self.0.messages_sent()
    }
}

/// Hint redelivery period (the default) and anti-entropy period of the converging runs.
const HINT_RETRY: Duration = Duration::from_millis(500);
const ANTI_ENTROPY: Duration = Duration::from_millis(500);
/// How often every node publishes its data.
const SAMPLE: Duration = Duration::from_millis(20);

/// The bound on convergence after the last write completes (which is at or just after the
/// heal). Hints: a pending hint is retried every `HINT_RETRY`, and at once when its target is
/// heard from; an attempt begun during the partition may first have to fail its connection
/// (`PEER_CONNECT_TIMEOUT` then `PEER_BACKOFF`, 100 ms each). Anti-entropy: every node starts
/// a round every `ANTI_ENTROPY` (staggered by node), digests and cells going both ways with
/// each peer; a second round may be needed to carry what only n3 held on to the third node.
/// Either way a message may go out on a stream that lost a segment to the partition and stall
/// until the stream is renewed (`PEER_STREAM_MAX_AGE`, 500 ms), and the sampler sees the
/// result at its next multiple of `SAMPLE`: 500 + 200 + 500 + 500 + 20 ms, rounded up.
/// Measured: 20 to 190 ms after the heal.
const BOUND: Duration = Duration::from_secs(2);

/// n3 is cut off from n1 and n2 from 1 s until the harness heals everything at `duration`
/// (3.01 s to 3.45 s by seed); clients reach every node throughout. The partition lasts to the end of the
/// operations on purpose: every write goes to all N replicas, so writes after a heal would
/// bring n3 up to date on their own, and the control run without hints or anti-entropy would
/// converge too. Only writes in flight at the heal follow it.
fn convergence_run(
    seed: u64,
    hints: Hints,
    anti_entropy: Option<Duration>,
    sample: Option<Duration>,
) -> (RunResult, Convergence) {
    let mut cluster = ClusterConfig::new(3);
    cluster.node.hints = hints;
    cluster.node.anti_entropy = anti_entropy;
    cluster.node.hint_retry = HINT_RETRY;
    let mut system = QuorumSystem::new(cluster);
    if let Some(period) = sample {
        system = system.with_sampling(period);
    }
    let observer = system.clone();
    let mut config = SimConfig::new(seed, Set);
    // The heal falls at a different phase of the hint and anti-entropy timers in every seed.
    config.duration = secs(2.9 + 0.11 * seed as f64);
    config.op_timeout = secs(0.5);
    config.settle = secs(3.0);
    config.faults = Schedule::new().at(secs(1.0), Fault::partition(["n3"], ["n1", "n2"]));
    let run = sim::run(BlindWrites(system), &config).expect("runs");
    (run, observer.convergence())
}

/// When the last write completed (acknowledged, refused or timed out).
fn last_write(run: &RunResult) -> Duration {
    run.history.iter().filter(|e| e.f == "add" && e.kind != EventType::Invoke).map(at).max().expect("writes")
}

/// When the harness healed the partition.
fn heal(run: &RunResult) -> Duration {
    run.faults.iter().rev().find(|(_, f)| *f == Fault::Heal).map(|(t, _)| *t).expect("healed")
}

#[test]
fn replicas_converge_after_a_heal_with_hints_or_anti_entropy_and_not_without() {
    let mut report = Vec::new();
    for seed in 1..=5 {
        for (name, hints, anti_entropy) in [
            ("hints + anti-entropy", Hints::Strict, Some(ANTI_ENTROPY)),
            ("hints only", Hints::Strict, None),
            ("anti-entropy only", Hints::Off, Some(ANTI_ENTROPY)),
        ] {
            let (run, convergence) = convergence_run(seed, hints, anti_entropy, Some(SAMPLE));
            let (last, healed) = (last_write(&run), heal(&run));
            let end = convergence.samples.last().map(|s| s.at).unwrap_or_default();
            // The partition made replicas differ, so there was something to converge.
            let mut during = convergence.samples.iter().filter(|s| s.at > secs(1.2) && s.at <= healed);
            assert!(during.all(|s| !s.converged()), "seed {seed} {name}: replicas equal during the partition");
            assert!(
                convergence.max_diverged() >= 10,
                "seed {seed} {name}: only {} keys diverged",
                convergence.max_diverged()
            );
            // The run went on long enough to see the bound met.
            assert!(end >= last + BOUND, "seed {seed} {name}: sampled until {end:?}, last write at {last:?}");
            let since = convergence.converged_since();
            let Some(since) = since.filter(|&t| t <= last + BOUND) else {
                panic!(
                    "seed {seed} {name}: not converged within {BOUND:?} of the last write at {last:?} (since {since:?}; last diverged: {:?})",
                    convergence.last_diverged()
                );
            };
            report.push(format!(
                "seed {seed} {name:20}: equal from {since:?} to the end ({end:?}): {:?} after the heal at {healed:?}, {:?} after the last write at {last:?}",
                since.saturating_sub(healed),
                since.saturating_sub(last),
            ));
        }
        // The control: nothing but writes in flight at the heal reaches n3 afterwards.
        let (run, convergence) = convergence_run(seed, Hints::Off, None, Some(SAMPLE));
        let end = convergence.last_diverged().map(|s| (s.at, s.diverged.len()));
        let still = convergence.samples.last().map(|s| s.diverged.len()).unwrap_or(0);
        assert!(convergence.converged_since().is_none() && still >= 5, "seed {seed} control converged: {end:?}");
        report.push(format!(
            "seed {seed} {:20}: {still} keys still differ at the end ({:?}; last write at {:?})",
            "neither",
            convergence.samples.last().map(|s| s.at).unwrap_or_default(),
            last_write(&run)
        ));
    }
    eprintln!("{}", report.join("\n"));
}

#[test]
fn sampling_replicas_changes_nothing_in_the_run() {
    let (sampled, convergence) = convergence_run(3, Hints::Strict, Some(ANTI_ENTROPY), Some(SAMPLE));
    let (plain, nothing) = convergence_run(3, Hints::Strict, Some(ANTI_ENTROPY), None);
    assert!(nothing.samples.is_empty() && !convergence.samples.is_empty());
    assert_eq!(sampled.history, plain.history, "the same history with and without the sampler");
    assert_eq!((sampled.messages, sampled.elapsed), (plain.messages, plain.elapsed));
    let (again, twice) = convergence_run(3, Hints::Strict, Some(ANTI_ENTROPY), Some(SAMPLE));
    assert_eq!((again.history, twice), (sampled.history, convergence), "deterministic");
}
