//! Each limit the lab accepts is what actually runs: a run at the largest node count, duration
//! and clients per host that `lab run` and `lab sim` accept (one set of limits, shared through
//! the experiment parser) completes. The largest key count is in `experiments.rs`. The clients
//! per host limit costs about 100 s of CPU (64,511 clients on one host), so it is `#[ignore]`d
//! and run by `make limits`; the others run in `make test`.

use crate::support::lab;

/// Runs `lab sim ARGS` and asserts that the run completed (exit 0 or 1: a history that passes
/// or fails its check; 2 would be a refused option or a failed run).
fn completes(args: &[&str]) -> String {
    let output = lab(&[&["sim"], args].concat());
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(matches!(output.status.code(), Some(0 | 1)), "lab sim {args:?}: {text}");
    assert!(text.contains("acknowledged writes"), "lab sim {args:?} ran no workload: {text}");
    text
}

/// Runs `lab sim ARGS` and asserts that it is refused as a usage error naming `needle`.
fn refused(args: &[&str], needle: &str) {
    let output = lab(&[&["sim"], args].concat());
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert_eq!(output.status.code(), Some(2), "lab sim {args:?}: {text}");
    assert!(text.contains(needle), "lab sim {args:?}: `{needle}` missing from {text}");
}

#[test]
fn the_largest_node_count_accepted_completes_a_run() {
    let max = experiment::store::quorum::NODES.end().to_string();
    completes(&["--system", "quorum", "--set", &format!("nodes={max}"), "--duration", "1s"]);
    let over = (experiment::store::quorum::NODES.end() + 1).to_string();
    refused(&["--system", "quorum", "--set", &format!("nodes={over}")], "nodes");
}

#[test]
fn the_longest_duration_accepted_completes_a_run() {
    let max = format!("{}s", experiment::spec::MAX_DURATION.as_secs());
    completes(&["--duration", &max, "--client-hosts", "1", "--clients-per-host", "1"]);
    let over = format!("{}s", experiment::spec::MAX_DURATION.as_secs() + 1);
    refused(&["--duration", &over], "duration: at most");
}

#[test]
#[ignore = "about 100 s of CPU: run by `make limits`"]
fn the_most_clients_per_host_accepted_complete_a_run() {
    // One server: each client holds one connection, the final reads one more.
    let max = (sim::config::PORTS_PER_HOST - 1).to_string();
    completes(&["--duration", "1s", "--client-hosts", "1", "--clients-per-host", &max, "--check-timeout", "5s"]);
    let over = sim::config::PORTS_PER_HOST.to_string();
    refused(&["--client-hosts", "1", "--clients-per-host", &over], "ports");
}

/// Peak memory of `lab check` stays under twice the input plus the memo limit (issue 20), on
/// the densest inputs the lab reads: 1,000,000 operations by 10 clients as JSON Lines without
/// times, on a register (48 bytes an event) and on a kv store of short strings, under the
/// smallest memo limit, where what the search holds besides its memo is most of the peak.
/// (`make bench-checker` prints these figures, and the register's at two more limits.)
#[test]
fn checking_a_long_dense_history_takes_under_twice_its_size_plus_the_memo_limit() {
    for kv in [false, true] {
        let events = runner::register_bench::generate(1_000_000, 10, 1, 0);
        let events = if kv { runner::register_bench::as_kv(events) } else { events };
        let path = crate::support::scratch("long-dense-history.jsonl");
        let file = std::io::BufWriter::new(std::fs::File::create(&path).expect("scratch file"));
        history::jsonl::write(file, &events).expect("written");
        drop(events);
        let input_mib = std::fs::metadata(&path).expect("written").len() as f64 / f64::from(1 << 20);
        let lab = std::path::Path::new(env!("CARGO_BIN_EXE_lab"));
        let (verdict, peak_mib) =
            runner::register_bench::checked_by_child(lab, &path, "auto", 1).expect("lab check runs");
        let _ = std::fs::remove_file(&path);
        assert_eq!(verdict, "linearizable", "kv: {kv}");
        assert!(input_mib > 90.0, "a long history: {input_mib:.0} MiB");
        let goal = 2.0 * input_mib + 1.0;
        assert!(
            peak_mib < goal,
            "kv: {kv}: peak {peak_mib:.0} MiB for {input_mib:.0} MiB of input (goal: under {goal:.0} MiB)"
        );
    }
}

/// A bank history of `ops` operations by 5 clients on 20 accounts of 10: transfers of 1 to 5
/// (`fail` when the source has too little) and reads of every balance, one at a time.
fn bank_history(ops: usize) -> Vec<history::Event> {
    use history::{Event, EventType, Process, Value};
    let mut balances = [10i64; 20];
    let mut events = Vec::with_capacity(ops * 2);
    let mut state = 7u64;
    let mut next = |n: u64| {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % n
    };
    for i in 0..ops {
        let process = Process::Client(i as u64 % 5);
        if next(2) == 0 {
            let (from, to, amount) = (next(20) as usize, next(20) as usize, next(5) as i64 + 1);
            let ok = from != to && balances[from] >= amount;
            if ok {
                balances[from] -= amount;
                balances[to] += amount;
            }
            let value = Value::List(vec![(from as i64).into(), (to as i64).into(), amount.into()]);
            events.push(Event::new(process.clone(), EventType::Invoke, "transfer", value.clone()));
            let kind = if ok { EventType::Ok } else { EventType::Fail };
            events.push(Event::new(process, kind, "transfer", value));
        } else {
            events.push(Event::new(process.clone(), EventType::Invoke, "read", Value::Nil));
            let read = Value::List(balances.iter().map(|&b| b.into()).collect());
            events.push(Event::new(process, EventType::Ok, "read", read));
        }
    }
    events
}

/// The same goal for the transactional models, whose files are read as streams into their
/// checkers: a list-append history of 100,000 transactions by 20 clients (its reads return
/// lists of about 60 values), checked at the smallest limit (where the check is refused as
/// `unknown` and what is measured is what reading holds) and at a limit the check fits in;
/// and a bank history of 300,000 operations. Before the streams, these took 9x and 4x their
/// input at the smallest limit.
#[test]
fn checking_a_long_transactional_history_takes_under_twice_its_size_plus_the_limit() {
    let args = runner::options::BenchTxnArgs { txns: 100_000, processes: 20, keys: 1000, seed: 1 };
    let cases = [
        ("list-append", runner::txn_bench::generate(&args, 0), vec![(1, "unknown"), (128, "valid")]),
        ("bank", bank_history(300_000), vec![(1, "valid")]),
    ];
    let lab = std::path::Path::new(env!("CARGO_BIN_EXE_lab"));
    for (model, events, limits) in cases {
        let path = crate::support::scratch("long-transactional-history.jsonl");
        let file = std::io::BufWriter::new(std::fs::File::create(&path).expect("scratch file"));
        history::jsonl::write(file, &events).expect("written");
        drop(events);
        let input_mib = std::fs::metadata(&path).expect("written").len() as f64 / f64::from(1 << 20);
        assert!(input_mib > 30.0, "{model}: a long history: {input_mib:.0} MiB");
        for (limit, expected) in limits {
            let (verdict, peak_mib) =
                runner::register_bench::checked_by_child(lab, &path, model, limit).expect("lab check runs");
            assert_eq!(verdict, expected, "{model} at --memory-mib {limit}");
            let goal = 2.0 * input_mib + limit as f64;
            assert!(
                peak_mib < goal,
                "{model} at --memory-mib {limit}: peak {peak_mib:.0} MiB for {input_mib:.0} MiB of input (goal: \
                 under {goal:.0} MiB)"
            );
        }
        let _ = std::fs::remove_file(&path);
    }
}

/// A list-append history whose every read disagrees with the others: ten appends to one key,
/// then `txns` transactions of 20 reads, each a different order of the ten values (every
/// read an `incompatible-order` and an `internal` anomaly). The densest history for the
/// reader, which keeps a disagreeing read's own copy.
fn disagreeing_reads(txns: u64) -> Vec<history::Event> {
    use history::{Event, EventType, Process, Value};
    let mop = |f: &str, v: Value| Value::List(vec![f.into(), 1.into(), v]);
    let appends = Value::List((0..10).map(|v| mop("append", v.into())).collect());
    let mut events = vec![
        Event::new(Process::Client(0), EventType::Invoke, "txn", appends.clone()),
        Event::new(Process::Client(0), EventType::Ok, "txn", appends),
    ];
    let mut state = 11u64;
    for p in 1..=txns {
        let reads: Vec<Value> = (0..20)
            .map(|_| {
                let mut order: Vec<i64> = (0..10).collect();
                for i in (1..order.len()).rev() {
                    state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                    order.swap(i, (state >> 33) as usize % (i + 1));
                }
                mop("r", Value::List(order.into_iter().map(Value::from).collect()))
            })
            .collect();
        let invoked = Value::List((0..20).map(|_| mop("r", Value::Nil)).collect());
        events.push(Event::new(Process::Client(p), EventType::Invoke, "txn", invoked));
        events.push(Event::new(Process::Client(p), EventType::Ok, "txn", Value::List(reads)));
    }
    events
}

/// The goal holds when every read disagrees: the reader packs each disagreeing read's values
/// (a one-digit value in one byte), and past its share of the limit the check counts
/// anomalies without keeping their explanations. Before, this history took over 3x its size
/// to read, and its 600,000 anomalies 30x at the default limit.
#[test]
fn checking_a_history_of_disagreeing_reads_takes_under_twice_its_size_plus_the_limit() {
    let path = crate::support::scratch("disagreeing-reads.jsonl");
    let file = std::io::BufWriter::new(std::fs::File::create(&path).expect("scratch file"));
    history::jsonl::write(file, &disagreeing_reads(30_000)).expect("written");
    let input_mib = std::fs::metadata(&path).expect("written").len() as f64 / f64::from(1 << 20);
    assert!(input_mib > 20.0, "a long history: {input_mib:.0} MiB");
    let lab = std::path::Path::new(env!("CARGO_BIN_EXE_lab"));
    for (limit, expected) in [(1, "unknown"), (64, "invalid")] {
        let (verdict, peak_mib) =
            runner::register_bench::checked_by_child(lab, &path, "list-append", limit).expect("lab check runs");
        assert_eq!(verdict, expected, "--memory-mib {limit}");
        let goal = 2.0 * input_mib + limit as f64;
        assert!(
            peak_mib < goal,
            "--memory-mib {limit}: peak {peak_mib:.0} MiB for {input_mib:.0} MiB of input (goal: under {goal:.0} MiB)"
        );
    }
    let _ = std::fs::remove_file(&path);
}
