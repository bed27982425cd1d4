//! The checker against the Porcupine corpus: every verdict of verdicts.tsv, deterministic
//! witnesses, deadlines and memory limits on a history too hard to decide.

use std::time::{Duration, Instant};

use checker::{check_named, CheckOptions, Outcome, PartitionResult};
use history::{Format, History};

use crate::support::{corpus_dir, hard_kv_history};

fn load(file: &str) -> History {
    let path = corpus_dir().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    history::parse(&text, Format::Auto).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn verdicts() -> Vec<(String, bool)> {
    let text = std::fs::read_to_string(corpus_dir().join("verdicts.tsv")).expect("verdicts.tsv");
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let (file, verdict) = line.split_once('\t').expect("two fields");
            (file.to_owned(), verdict.trim() == "true")
        })
        .collect()
}

#[test]
fn every_corpus_history_gets_its_published_verdict() {
    let verdicts = verdicts();
    assert_eq!(verdicts.len(), 108, "the corpus lists 108 histories");
    let mut wrong = Vec::new();
    for (file, linearizable) in &verdicts {
        let history = load(file);
        let model = checker::infer_model(&history.events);
        let verdict = check_named(model, &history.events, &CheckOptions::default()).expect("corpus checks");
        let want = if *linearizable { Outcome::Linearizable } else { Outcome::NotLinearizable };
        if verdict.outcome != want {
            wrong.push(format!("{file}: got {}, want {want}", verdict.outcome));
        }
    }
    assert!(wrong.is_empty(), "verdicts differ:\n{}", wrong.join("\n"));
}

#[test]
fn models_are_inferred_as_the_corpus_needs() {
    assert_eq!(checker::infer_model(&load("jepsen/etcd_000.log").events), "cas-register");
    assert_eq!(checker::infer_model(&load("kv/c01-ok.txt").events), "kv");
}

#[test]
fn witnesses_do_not_depend_on_thread_count() {
    for file in ["kv/c50-bad.txt", "kv/c10-bad.txt", "jepsen/etcd_000.log", "jepsen/etcd_040.log"] {
        let history = load(file);
        let model = checker::infer_model(&history.events);
        let one = check_named(model, &history.events, &CheckOptions { jobs: 1, ..CheckOptions::default() });
        let two = check_named(model, &history.events, &CheckOptions { jobs: 2, ..CheckOptions::default() });
        let (one, two) = (one.expect("checks"), two.expect("checks"));
        assert_eq!(one.outcome, Outcome::NotLinearizable, "{file}");
        assert_eq!(one, two, "{file}: the verdict, witness and work done are the same with 1 and 2 threads");
    }
}

#[test]
fn a_violation_in_one_key_is_found_without_finishing_the_others() {
    // c50-bad: Porcupine's partitioned check stops at the first illegal key; so must we.
    let history = load("kv/c50-bad.txt");
    let verdict =
        check_named("kv", &history.events, &CheckOptions { jobs: 1, ..CheckOptions::default() }).expect("checks");
    assert_eq!(verdict.outcome, Outcome::NotLinearizable);
    let (partition, witness) = verdict.violation().expect("a witness");
    assert!(witness.blocked.return_event.is_some(), "the blocked operation completed");
    assert!(witness.prefix.len() < partition.operations);
    assert!(verdict.steps() < 1_000_000, "found within {} steps", verdict.steps());
}

#[test]
fn linearizable_orders_replay_in_real_time_order() {
    let history = load("jepsen/etcd_002.log");
    let verdict = check_named("cas-register", &history.events, &CheckOptions::default()).expect("checks");
    let PartitionResult::Linearizable(order) = &verdict.partitions[0].result else {
        panic!("etcd_002 is linearizable");
    };
    // No operation is placed before one that completed before it was invoked.
    for (i, later) in order.iter().enumerate() {
        for earlier in &order[..i] {
            if let Some(done) = later.return_event {
                assert!(done > earlier.call_event, "{later:?} completed before {earlier:?} was invoked");
            }
        }
    }
}

#[test]
fn the_deadline_holds_on_a_history_too_hard_to_decide() {
    let history = history::parse(&hard_kv_history(24), Format::Jsonl).expect("generated history parses");
    let start = Instant::now();
    let deadline = start + Duration::from_millis(200);
    let passed = move || Instant::now() >= deadline;
    let options = CheckOptions { deadline: &passed, jobs: 2, memory_limit_bytes: 64 << 20, orders: true };
    let verdict = check_named("kv", &history.events, &options).expect("checks");
    assert_eq!(verdict.outcome, Outcome::Unknown);
    assert!(start.elapsed() < Duration::from_secs(2), "gave up after {:?}", start.elapsed());
}

#[test]
fn a_small_memory_limit_empties_the_tables_and_keeps_the_verdict() {
    // c50-ok needs ~180,000 memo entries; with 2 MiB the tables are emptied repeatedly, and
    // the verdict must not change (forgetting costs time, never correctness).
    let history = load("kv/c50-ok.txt");
    let options = CheckOptions { memory_limit_bytes: 2 << 20, ..CheckOptions::default() };
    let verdict = check_named("kv", &history.events, &options).expect("checks");
    assert_eq!(verdict.outcome, Outcome::Linearizable);
    let resets: u64 = verdict.partitions.iter().map(|p| p.stats.memo_resets).sum();
    assert!(resets > 0, "the limit was reached and enforced");
}
