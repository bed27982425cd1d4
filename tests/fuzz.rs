//! Fuzz targets, driven by proptest: every input the lab reads from outside (history files in
//! each format, and the transaction checkers that read them; experiment files; both stores'
//! wire frames and peer messages; the claims' results directories) gets arbitrary bytes and
//! mutations of valid samples, and must answer
//! with a value or an error: no panic, no hang.
//!
//! `make test` runs a short pass (`FUZZ_CASES`, default 1,000 cases per target, under a second each);
//! `make fuzz` runs long ones (`FUZZ_CASES=100000` by default). A case that finds something
//! becomes a regression test below the targets (proptest prints the minimal input).

use std::path::Path;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use crate::support::{corpus_dir, scratch};

/// Cases per target: `FUZZ_CASES`, or 1,000.
fn cases() -> u32 {
    std::env::var("FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(1000)
}

fn config() -> ProptestConfig {
    ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() }
}

/// The longest one input may take: far beyond any real parse of these sizes, so exceeding it
/// is a hang, not a slow machine.
const HANG: Duration = Duration::from_secs(5);

/// Runs `f` and fails the case when it takes longer than [`HANG`].
fn bounded<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = f();
    let took = started.elapsed();
    assert!(took < HANG, "{what}: {took:?} on one input (a hang)");
    out
}

/// Arbitrary edits of `sample`: byte flips, insertions, deletions and cuts.
fn mutated(sample: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = sample.len().max(1);
    proptest::collection::vec((0..len, any::<u8>(), 0u8..4), 1..16).prop_map(move |edits| {
        let mut bytes = sample.clone();
        for (at, byte, kind) in edits {
            let at = at.min(bytes.len());
            match kind {
                0 if at < bytes.len() => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                2 if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => bytes.truncate(at),
            }
        }
        bytes
    })
}

/// Valid history samples in every format: the corpus's first files of each kind and a
/// native one.
fn history_samples() -> Vec<Vec<u8>> {
    let dir = corpus_dir();
    let mut samples: Vec<Vec<u8>> = ["jepsen/etcd_000.log", "kv/c01-ok.txt", "kv/c01-bad.txt"]
        .iter()
        .filter_map(|f| std::fs::read(dir.join(f)).ok())
        .map(|mut bytes| {
            bytes.truncate(4096);
            bytes
        })
        .collect();
    samples.push(
        b"{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n\
          {\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":1}\n"
            .to_vec(),
    );
    samples.push(b"[{:process 0, :type :invoke, :f :read, :value nil} ; a comment\n #_ {:x 1} {:process 0, :type :ok, :f :read, :value #{1 2}}]".to_vec());
    samples.push(b"({:process 0 :type :invoke :f :txn :value [[:append :x 1]] :time #inst \"2020\"})".to_vec());
    samples
}

fn parse_every_format(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for format in [history::Format::Auto, history::Format::Jsonl, history::Format::Edn, history::Format::EtcdLog] {
        let _ = bounded("history::parse", || history::parse(&text, format));
    }
}

/// Transactional history samples: the list-append and bank files under `tests/data/txn`, and a
/// list-append history in JSON Lines with an aborted, an indeterminate and a pending
/// transaction, and reads that disagree.
fn txn_samples() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/txn");
    let mut samples: Vec<Vec<u8>> = ["list-append-g-single.edn", "list-append-valid.edn", "bank.edn"]
        .iter()
        .filter_map(|f| std::fs::read(dir.join(f)).ok())
        .collect();
    samples.push(
        br#"{"process":0,"type":"invoke","f":"txn","value":[["append",1,1],["r",1,null]]}
{"process":1,"type":"invoke","f":"txn","value":[["append",1,2]]}
{"process":0,"type":"ok","f":"txn","value":[["append",1,1],["r",1,[1]]]}
{"process":1,"type":"fail","f":"txn","value":[["append",1,2]]}
{"process":2,"type":"invoke","f":"txn","value":[["r",1,null],["r",2,null]]}
{"process":2,"type":"ok","f":"txn","value":[["r",1,[2,1]],["r",2,[]]]}
{"process":3,"type":"invoke","f":"txn","value":[["append",2,-7],["r",1,null]]}
{"process":3,"type":"info","f":"txn","value":null}
{"process":4,"type":"invoke","f":"txn","value":[["r",1,null]]}
"#
        .to_vec(),
    );
    samples
}

/// Parses `bytes` and hands whatever parses to both transactional readers and the check, as
/// `lab check --model list-append|bank` does, at a roomy and a tiny memory limit.
fn check_transactions(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let Ok(history) = history::parse(&text, history::Format::Auto) else { return };
    bounded("transaction checkers", || {
        let mut reader = checker::ListAppendReader::new();
        if history.events.iter().all(|event| reader.push(event).is_ok()) {
            let parsed = reader.finish();
            for memory_limit_bytes in [1 << 30, 64] {
                let options = checker::TxnOptions { deadline: &|| false, memory_limit_bytes, realtime: true };
                let _ = checker::check_transactions(&parsed, &options);
            }
        }
        let mut bank = checker::BankReader::new(None);
        if history.events.iter().all(|event| bank.push(event).is_ok()) {
            let _ = bank.finish();
        }
    });
}

fn experiment_samples() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    ["isolate-one-node.toml", "random-nemesis.toml", "bank.toml", "scaling.toml", "staleness.toml"]
        .iter()
        .filter_map(|f| std::fs::read(dir.join(f)).ok())
        .collect()
}

fn parse_experiment(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let registry = experiment::Registry::standard();
    let _ = bounded("experiment::parse", || experiment::parse(&registry, Path::new("fuzz.toml"), &text));
}

/// Feeds `bytes` to a frame decoder and decodes every frame as each message type the stores
/// read off the network.
fn decode_frames(bytes: &[u8]) {
    bounded("frames", || {
        for chunk in [1usize, 7, 4096] {
            let mut decoder = sim::frame::FrameDecoder::new(sim::frame::MAX_FRAME);
            for piece in bytes.chunks(chunk) {
                decoder.feed(piece);
                while let Ok(Some(body)) = decoder.next_frame() {
                    decode_body(&body);
                }
            }
        }
        decode_body(bytes);
    });
}

fn decode_body(body: &[u8]) {
    let _ = sim::frame::decode::<sqlstore::wire::Request>(body);
    let _ = sim::frame::decode::<sqlstore::wire::Response>(body);
    let _ = sim::frame::decode::<quorum::Request>(body);
    let _ = sim::frame::decode::<quorum::Response>(body);
    let _ = sim::frame::decode::<quorum::PeerMessage>(body);
    let _ = sim::frame::decode::<quorum::server::Hello>(body);
    let _ = sim::frame::decode::<raftsql::wire::Response>(body);
    let _ = raftsql::wire::decode_message(body);
    let _ = sim::frame::salvage_id(body);
}

fn wire_samples() -> Vec<Vec<u8>> {
    let sql = br#"{"id":1,"op":{"Write":{"key":"k","value":3}}}"#.to_vec();
    let mut framed = Vec::new();
    for body in [&sql[..], br#"{"id":2,"result":{"Ok":null}}"#] {
        framed.extend(sim::frame::frame(body).expect("small frame"));
    }
    // A Raft peer frame (protobuf), as SQLite on Raft's nodes send them.
    let mut append = raftsql::eraftpb::Message::default();
    append.set_msg_type(raftsql::eraftpb::MessageType::MsgAppend);
    append.from = 1;
    append.to = 2;
    append.term = 3;
    append.index = 7;
    append.commit = 6;
    let entry = raftsql::eraftpb::Entry {
        index: 8,
        term: 3,
        data: br#"{"id":0,"op":{"Write":{"key":"k","value":3}}}"#.to_vec().into(),
        ..Default::default()
    };
    append.entries.push(entry);
    let raft = raftsql::wire::encode_message(&append).expect("a small peer frame");
    vec![framed, sql, raft]
}

/// A results directory holding one experiment's files as `lab run` writes them, mutated.
fn load_claims(experiment_json: &[u8], runs: &[u8]) {
    let dir = scratch("fuzz-claims");
    let exp = dir.join("isolate-one-node");
    std::fs::create_dir_all(&exp).expect("scratch dir");
    std::fs::write(exp.join("experiment.json"), experiment_json).expect("write");
    std::fs::write(exp.join("runs.jsonl"), runs).expect("write");
    let _ = bounded("claims::evidence::load", || claims::evidence::load(&dir));
    let _ = std::fs::remove_dir_all(&dir);
}

fn claims_sample() -> (Vec<u8>, Vec<u8>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("results/isolate-one-node");
    let experiment = std::fs::read(dir.join("experiment.json")).expect("committed results");
    let runs = std::fs::read(dir.join("runs.jsonl")).expect("committed results");
    let first: Vec<u8> = runs.split(|&b| b == b'\n').next().unwrap_or_default().to_vec();
    (experiment, first)
}

/// One sample of `samples`, mutated.
fn one_of(samples: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    proptest::sample::select(samples).prop_flat_map(mutated)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn history_importers_survive_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        parse_every_format(&bytes);
    }

    #[test]
    fn history_importers_survive_mutated_histories(bytes in one_of(history_samples())) {
        parse_every_format(&bytes);
    }

    #[test]
    fn the_transaction_checkers_survive_mutated_histories(bytes in one_of(txn_samples())) {
        check_transactions(&bytes);
    }

    #[test]
    fn the_experiment_parser_survives_arbitrary_and_mutated_files(
        bytes in prop_oneof![proptest::collection::vec(any::<u8>(), 0..1024), one_of(experiment_samples())]
    ) {
        parse_experiment(&bytes);
    }

    #[test]
    fn wire_frames_and_peer_messages_survive_arbitrary_bytes(
        bytes in prop_oneof![proptest::collection::vec(any::<u8>(), 0..1024), one_of(wire_samples())]
    ) {
        decode_frames(&bytes);
    }

    #[test]
    fn the_claims_loader_survives_mutated_results(
        experiment in one_of(vec![claims_sample().0]),
        runs in one_of(vec![claims_sample().1]),
    ) {
        load_claims(&experiment, &runs);
    }
}

/// Regression: a frame header announcing the largest length must be refused, not allocated.
#[test]
fn a_frame_announcing_four_gigabytes_is_refused_without_allocating_it() {
    let mut decoder = sim::frame::FrameDecoder::new(sim::frame::MAX_FRAME);
    decoder.feed(&[0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
    assert!(decoder.next_frame().is_err());
}
