//! `lab check --model list-append|bank` on small EDN histories under tests/data/txn/.

use std::path::PathBuf;
use std::process::Output;

use crate::support::lab;

fn data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/txn").join(name).display().to_string()
}

fn text(output: &Output) -> (String, String) {
    (String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn list_append_reports_the_explained_cycle_and_the_strongest_level() {
    let file = data("list-append-g-single.edn");
    let output = lab(&["check", "--model", "list-append", &file]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "an anomaly exits 1: {stdout}{stderr}");
    assert!(stdout.starts_with(&format!("{file}\tinvalid\t")), "{stdout}");
    assert!(stdout.contains("strongest level the history may satisfy: read-committed"), "{stdout}");
    assert!(stdout.contains("  G-single: 1"), "{stdout}");
    assert!(stdout.contains("T4 < T3 because T4 read key 2 (empty) before T3's append of 1"), "{stdout}");
    assert!(stdout.contains("T3 < T4 because T4 read T3's append of 1 to key 1"), "{stdout}");
    assert!(stdout.contains(&format!("T3 = {file}:6 (process 0)")), "the legend names file lines: {stdout}");
    assert!(stdout.contains("total\t1 files (list-append): 0 valid, 1 invalid"), "{stdout}");
}

#[test]
fn list_append_json_lists_every_anomaly_with_lines() {
    let output = lab(&["check", "--model", "list-append", "--json", &data("list-append-g-single.edn")]);
    let (stdout, stderr) = text(&output);
    let line: serde_json::Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    assert_eq!(line["verdict"], "invalid");
    assert_eq!(line["strongest"], "read-committed");
    assert_eq!(line["counts"]["G-single"], 1);
    assert_eq!(line["anomalies"][0]["lines"], serde_json::json!([6, 7]));
}

#[test]
fn a_serializable_list_append_history_exits_zero() {
    let output = lab(&["check", "--model", "list-append", &data("list-append-valid.edn")]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("\tvalid\t"), "{stdout}");
    assert!(stdout.contains("3 committed, 1 aborted, 1 indeterminate"), "{stdout}");
    assert!(stdout.contains("may satisfy: strict-serializable"), "{stdout}");
    let output = lab(&["check", "--model", "list-append", "--no-realtime", &data("list-append-valid.edn")]);
    assert!(text(&output).0.contains("may satisfy: serializable"), "{}", text(&output).0);
}

#[test]
fn an_unexplained_read_is_an_input_error_at_its_line() {
    let file = data("list-append-unexplained.edn");
    let output = lab(&["check", "--model", "list-append", &file]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains(&format!("{file}:4: unexplained read: value 9 of key 1")), "{stderr}");
}

#[test]
fn bank_reports_a_wrong_total_at_its_line() {
    let file = data("bank.edn");
    let output = lab(&["check", "--model", "bank", &file]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("transfers: 1 ok, 1 failed, 0 indeterminate; 3 reads ok; total 100"), "{stdout}");
    assert!(stdout.contains(&format!("{file}:11: the balances sum to 95, not the total 100")), "{stdout}");
    let output = lab(&["check", "--model", "bank", "--total", "95", &file]);
    let (stdout, _) = text(&output);
    assert!(stdout.contains(&format!("{file}:3: the balances sum to 100, not the total 95")), "{stdout}");
}
