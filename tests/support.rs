//! Shared test support: where the corpus is, scratch files, generated histories.

use std::path::PathBuf;

use history::{Event, EventType};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The Porcupine corpus (`../shared/corpus/porcupine` from the repository, or `LAB_CORPUS`).
/// Panics with a clear message when it cannot be found: these tests must not pass vacuously.
pub fn corpus_dir() -> PathBuf {
    let candidates = [
        std::env::var_os("LAB_CORPUS").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/porcupine")),
        Some(PathBuf::from("/work/shared/corpus/porcupine")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|dir| dir.join("verdicts.tsv").is_file())
        .expect("the Porcupine corpus was not found: set LAB_CORPUS to its directory")
}

/// Runs the `lab` binary built for these tests with `args`.
pub fn lab(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_lab")).args(args).output().expect("lab runs")
}

/// A fresh scratch file path under the system's temp directory.
pub fn scratch(name: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("lab-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(format!("{}-{name}", COUNTER.fetch_add(1, Ordering::Relaxed)))
}

/// A history no checker can decide quickly: `n` concurrent appends to one key, then a get
/// that no order of them explains. Every order of the appends is a different string, so the
/// search must try all 2^n subsets in every order before it can say "not linearizable".
pub fn hard_kv_history(n: usize) -> String {
    let mut out = String::new();
    for p in 0..n {
        out.push_str(&format!(
            "{{\"process\":{p},\"type\":\"invoke\",\"f\":\"append\",\"key\":\"k\",\"value\":\"<{p}>\"}}\n"
        ));
    }
    for p in 0..n {
        out.push_str(&format!(
            "{{\"process\":{p},\"type\":\"ok\",\"f\":\"append\",\"key\":\"k\",\"value\":\"<{p}>\"}}\n"
        ));
    }
    out.push_str(&format!("{{\"process\":{n},\"type\":\"invoke\",\"f\":\"get\",\"key\":\"k\"}}\n"));
    out.push_str(&format!(
        "{{\"process\":{n},\"type\":\"ok\",\"f\":\"get\",\"key\":\"k\",\"value\":\"impossible\"}}\n"
    ));
    out
}

/// Every completed operation as (invocation, completion), in order of completion.
pub fn operations(history: &[Event]) -> Vec<(&Event, &Event)> {
    let mut open = std::collections::BTreeMap::new();
    let mut ops = Vec::new();
    for event in history {
        if event.kind == EventType::Invoke {
            open.insert(&event.process, event);
        } else if let Some(invoke) = open.remove(&event.process) {
            ops.push((invoke, event));
        }
    }
    ops
}

/// A simulated time in seconds as history nanoseconds.
pub fn nanos(seconds: f64) -> u64 {
    std::time::Duration::from_secs_f64(seconds).as_nanos() as u64
}

/// The `[workload]` and `[capacity]` tables every small scaling sweep of these tests shares
/// (the per-message and disk costs of experiments/scaling.toml, 200 keys, 2 client hosts).
const SCALING_WORKLOAD_AND_COSTS: &str = r#"
[workload]
kind = "kv"
keys = 200
mix = { read = 1, write = 1, cas = 0 }
client_hosts = 2

[capacity]
cpu_per_message_ns = 10000
cpu_per_byte_ns = 2
fsync_us = 150
write_ns_per_kib = 650
"#;

/// experiments/scaling.toml's steady-state bounds (only stable points count), for the small
/// sweeps' `head`s.
pub const STANDARD_STABILITY: &str = r#"
[stability]
windows = 5
max_cv = 0.1
max_p99_growth = 1.5
max_refused_share = 0.01
"#;

/// A small `kind = "scaling"` file: `head` (name, question, seeds, windows and any
/// `[stability]`), the shared workload and costs, then `tail` (any `[mixes]` and the systems).
pub fn scaling_file(head: &str, tail: &str) -> String {
    format!("{head}{SCALING_WORKLOAD_AND_COSTS}{tail}")
}
