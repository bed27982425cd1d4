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
        let (verdict, peak_mib) = runner::register_bench::checked_by_child(lab, &path, 1).expect("lab check runs");
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
