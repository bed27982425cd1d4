//! The `lab` command line: output format, exit statuses, errors on bad input.

use std::path::Path;
use std::process::Output;

use crate::support::{corpus_dir, hard_kv_history, lab, scratch};

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn show(output: &Output) -> String {
    format!("{}{}", stdout(output), stderr(output))
}

fn corpus_file(file: &str) -> String {
    corpus_dir().join(file).display().to_string()
}

fn write(name: &str, text: &str) -> String {
    let path = scratch(name);
    std::fs::write(&path, text).expect("scratch file");
    path.display().to_string()
}

#[test]
fn check_prints_one_tab_separated_line_per_file_and_a_summary() {
    let good = corpus_file("jepsen/etcd_002.log");
    let bad = corpus_file("jepsen/etcd_000.log");
    let output = lab(&["check", &good, &bad]);
    assert_eq!(output.status.code(), Some(1), "a violation exits 1: {}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    let fields: Vec<&str> = lines[0].split('\t').collect();
    assert_eq!(fields[..2], [good.as_str(), "linearizable"]);
    assert!(fields[2].parse::<f64>().is_ok(), "milliseconds: {}", fields[2]);
    assert!(lines[1].starts_with(&format!("{bad}\tnot-linearizable\t")), "{text}");
    assert!(lines[2].starts_with("total\t2 files: 1 linearizable, 1 not-linearizable, 0 unknown, 0 errors"), "{text}");
}

/// `lab check --json --explain` on `file` given as a path, and as a pipe on stdin (a pipe
/// cannot be read twice: the lab keeps it in memory to infer the model, then reads it again).
fn json_from_path_and_pipe(file: &str) -> (String, String) {
    let from_path = lab(&["check", "--json", "--explain", file]);
    let piped = std::process::Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(["check", "--json", "--explain", "/dev/stdin"])
        .stdin(std::fs::File::open(file).expect("corpus file"))
        .output()
        .expect("lab runs");
    assert_eq!(from_path.status.code(), piped.status.code(), "{}{}", show(&from_path), show(&piped));
    // The same object but for the file's name, the time taken and the memory used (a pipe is
    // held in memory).
    let strip = |output: &Output| {
        let mut json: serde_json::Value = serde_json::from_str(stdout(output).trim()).expect("one JSON object");
        json["file"] = serde_json::Value::Null;
        json["ms"] = serde_json::Value::Null;
        json["peak_mib"] = serde_json::Value::Null;
        json.to_string()
    };
    (strip(&from_path), strip(&piped))
}

#[test]
fn a_history_read_from_a_pipe_gets_the_verdict_of_the_file() {
    for file in ["jepsen/etcd_000.log", "jepsen/etcd_002.log", "kv/c01-bad.txt", "kv/c10-ok.txt"] {
        let (path, pipe) = json_from_path_and_pipe(&corpus_file(file));
        assert_eq!(path, pipe, "{file}");
        assert!(path.contains("\"verdict\""), "{path}");
    }
}

#[test]
fn all_linearizable_exits_zero() {
    let output = lab(&["check", "--model", "kv", &corpus_file("kv/c10-ok.txt"), &corpus_file("kv/c01-ok.txt")]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

#[test]
fn explain_prints_the_witness_table() {
    let output = lab(&["check", "--explain", &corpus_file("kv/c01-bad.txt")]);
    let text = stdout(&output);
    assert!(text.contains("partition \"7\""), "{text}");
    assert!(text.contains("CANNOT BE PLACED"), "{text}");
    assert!(text.contains("x 0 0 yx 0 3 y"), "the state after the prefix is the real string: {text}");
}

#[test]
fn explain_prints_the_order_of_a_linearizable_history() {
    let path = write(
        "order.jsonl",
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n\
         {\"process\":1,\"type\":\"invoke\",\"f\":\"read\"}\n\
         {\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":1}\n\
         {\"process\":1,\"type\":\"ok\",\"f\":\"read\",\"value\":1}\n",
    );
    let output = lab(&["check", "--explain", &path]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let write_at = text.find("write 1").expect("write listed");
    let read_at = text.find("read nil -> 1").expect("read listed");
    assert!(write_at < read_at, "the write is ordered before the read that saw it: {text}");
}

#[test]
fn json_prints_one_object_per_file() {
    let output = lab(&["check", "--json", &corpus_file("jepsen/etcd_000.log"), &corpus_file("jepsen/etcd_002.log")]);
    let text = stdout(&output);
    let objects: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    assert_eq!(objects.len(), 2);
    assert_eq!(objects[0]["verdict"], "not-linearizable");
    assert_eq!(objects[0]["model"], "cas-register");
    assert!(objects[0]["witness"]["blocked"]["invoke_line"].is_u64(), "{}", objects[0]);
    assert_eq!(objects[1]["verdict"], "linearizable");
    assert!(objects[1]["witness"].is_null());
}

#[test]
fn a_bad_file_is_reported_with_its_line_and_the_others_still_checked() {
    let bad =
        write("bad.jsonl", "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n{\"process\":0,\"type\":\"done\"\n");
    let good = corpus_file("jepsen/etcd_002.log");
    let output = lab(&["check", &bad, &good]);
    assert_eq!(output.status.code(), Some(2), "an input error exits 2");
    let err = stderr(&output);
    assert!(err.contains(&format!("{bad}:2:")), "names file and line: {err}");
    assert!(stdout(&output).contains(&format!("{good}\tlinearizable")), "the good file is still checked");
}

#[test]
fn inconsistent_histories_name_the_event_line() {
    let path = write(
        "orphan.jsonl",
        "{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":1}\n\
         {\"process\":1,\"type\":\"ok\",\"f\":\"write\",\"value\":1}\n",
    );
    let output = lab(&["check", &path]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains(&format!("{path}:2: process 1 completes `write`")), "{}", stderr(&output));
    let path = write("badcas.jsonl", "{\"process\":0,\"type\":\"invoke\",\"f\":\"cas\",\"value\":3}\n");
    let output = lab(&["check", &path]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("`cas` expects [expected new]"), "{}", stderr(&output));
}

#[test]
fn missing_files_wrong_formats_and_usage_errors_exit_two() {
    let output = lab(&["check", "/nonexistent/history.jsonl"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("/nonexistent/history.jsonl"), "{}", stderr(&output));
    let output = lab(&["check", "--format", "etcd-log", &corpus_file("kv/c01-ok.txt")]);
    assert_eq!(output.status.code(), Some(2), "EDN read as an etcd log is an error");
    let garbage = write("garbage.txt", "hello world\n");
    let output = lab(&["check", &garbage]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("cannot tell the format"), "{}", stderr(&output));
    assert_eq!(lab(&["check"]).status.code(), Some(2), "no files is a usage error");
    assert_eq!(lab(&["check", "--timeout", "soon", "x"]).status.code(), Some(2));
    assert_eq!(lab(&["check", "--model", "queue", "x"]).status.code(), Some(2));
}

#[test]
fn an_empty_or_operation_free_history_is_an_error_in_every_format() {
    let nemesis_only = "{\"process\":\"nemesis\",\"type\":\"info\",\"f\":\"crash\",\"value\":\"n1\"}\n";
    let cases = [
        (write("empty.jsonl", ""), "auto"),
        (write("blank.txt", "\n   \n"), "auto"),
        (write("empty.edn", "[]\n"), "auto"),
        (write("empty-vector.edn", "[]"), "edn"),
        (write("empty.log", ""), "etcd-log"),
        (write("nemesis.jsonl", nemesis_only), "auto"),
        ("/dev/null".to_owned(), "auto"),
    ];
    for (path, format) in &cases {
        for model in ["register", "list-append"] {
            let output = lab(&["check", "--format", format, "--model", model, path]);
            assert_eq!(output.status.code(), Some(2), "{path} ({format}, {model}): {}", stdout(&output));
            assert!(stderr(&output).contains("no client operation in the history"), "{}", stderr(&output));
        }
    }
}

/// `lab check ... | head -0`: the reader is gone before anything is written; the exit status
/// is still the verdict's (1: not linearizable) or the error's (2).
#[test]
fn a_closed_pipe_keeps_the_exit_status() {
    let status = |args: &[&str]| {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        drop(reader);
        std::process::Command::new(env!("CARGO_BIN_EXE_lab"))
            .args(args)
            .stdout(writer)
            .stderr(std::process::Stdio::null())
            .status()
            .expect("lab runs")
            .code()
    };
    assert_eq!(status(&["check", &corpus_file("jepsen/etcd_000.log")]), Some(1), "not linearizable");
    assert_eq!(status(&["check", &corpus_file("jepsen/etcd_002.log")]), Some(0), "linearizable");
    assert_eq!(status(&["check", "/nonexistent/history.jsonl"]), Some(2), "an input error");
}

/// Regression: a memory limit too small for one memo entry per partition (a tiny
/// `--memory-mib`, or very many keys sharing the default) once made the search empty its memo
/// and retry forever, past `--timeout`. Now the search runs without a memo and answers.
/// `--max-input` refuses a larger input before reading more than the limit: a file, and a
/// device that never ends.
#[test]
fn inputs_larger_than_max_input_are_refused() {
    let mut text = String::new();
    for i in 0..100 {
        text.push_str(&format!("{{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":{i}}}\n"));
        text.push_str(&format!("{{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"value\":{i}}}\n"));
    }
    let file = write("max-input.jsonl", &text);
    let output = lab(&["check", "--max-input", "1KiB", &file]);
    assert_eq!(output.status.code(), Some(2), "{}", show(&output));
    assert!(show(&output).contains("larger than --max-input (1 KiB)"), "{}", show(&output));
    let output = lab(&["check", "--max-input", "64KiB", &file]);
    assert_eq!(output.status.code(), Some(0), "{}", show(&output));
    let output = lab(&["check", "--max-input", "1MiB", "/dev/zero"]);
    assert_eq!(output.status.code(), Some(2), "{}", show(&output));
    assert!(show(&output).contains("/dev/zero: larger than --max-input (1 MiB)"), "{}", show(&output));
    let output = lab(&["check", "--max-input", "1TB", &file]);
    assert_eq!(output.status.code(), Some(2), "{}", show(&output));
}

/// The timeout covers reading: a file that never delivers (a named pipe nobody writes to) is
/// `unknown` once `--timeout` has passed, for the linearizability and transactional checks.
#[test]
fn the_timeout_covers_reading_the_file() {
    let fifo = scratch("never-written.fifo");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo runs");
    assert!(made.success(), "mkfifo");
    let fifo = fifo.display().to_string();
    for model in ["auto", "list-append"] {
        let started = std::time::Instant::now();
        let output = lab(&["check", "--timeout", "300ms", "--model", model, &fifo]);
        let took = started.elapsed();
        assert_eq!(output.status.code(), Some(1), "{model}: {}", show(&output));
        assert!(stdout(&output).contains("unknown"), "{model}: {}", show(&output));
        assert!(took < std::time::Duration::from_secs(5), "{model}: answered after {took:?}");
    }
}

#[test]
fn a_tiny_memory_limit_still_answers() {
    let mut text = String::new();
    for key in 0..300 {
        text.push_str(&format!("{{\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"key\":{key},\"value\":1}}\n"));
        text.push_str(&format!("{{\"process\":0,\"type\":\"ok\",\"f\":\"write\",\"key\":{key},\"value\":1}}\n"));
    }
    let many = write("many-keys.jsonl", &text);
    let bad = corpus_file("jepsen/etcd_000.log");
    for (file, memory, expected) in [(&many, "1", 0), (&many, "0", 0), (&bad, "0", 1)] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lab"))
            .args(["check", "--memory-mib", memory, "--timeout", "20s", file])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("lab runs");
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("waiting for lab") {
                break status;
            }
            if started.elapsed() > std::time::Duration::from_secs(60) {
                let _ = child.kill();
                panic!("{file} with --memory-mib {memory}: still running after 60 s");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(expected), "{file} with --memory-mib {memory}");
    }
}

#[test]
fn the_timeout_gives_unknown_on_a_history_too_hard_to_decide() {
    let path = write("hard.jsonl", &hard_kv_history(24));
    let start = std::time::Instant::now();
    let output = lab(&["check", "--timeout", "300ms", &path]);
    assert!(start.elapsed() < std::time::Duration::from_secs(3), "took {:?}", start.elapsed());
    assert_eq!(output.status.code(), Some(1), "unknown exits 1");
    assert!(stdout(&output).contains(&format!("{path}\tunknown\t")), "{}", stdout(&output));
}

#[test]
fn corpus_agrees_with_every_published_verdict() {
    let dir = corpus_dir();
    let output = lab(&["corpus", &dir.display().to_string()]);
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
    assert!(stdout(&output).contains("108 files, 108 agree with verdicts.tsv, 0 disagree"), "{}", stdout(&output));
}

#[test]
fn corpus_reports_a_disagreement() {
    let dir = scratch("corpus");
    std::fs::create_dir_all(dir.join("jepsen")).expect("dir");
    std::fs::copy(corpus_dir().join("jepsen/etcd_000.log"), dir.join("jepsen/etcd_000.log")).expect("copy");
    std::fs::write(dir.join("verdicts.tsv"), "file\tlinearizable\njepsen/etcd_000.log\ttrue\n").expect("tsv");
    let output = lab(&["corpus", &dir.display().to_string()]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("1 disagree"), "{}", stdout(&output));
    assert!(Path::new(&dir).exists());
}

#[test]
fn sim_runs_checks_and_writes_the_same_history_for_the_same_seed() {
    let (first, second) = (scratch("sim-a.jsonl"), scratch("sim-b.jsonl"));
    let args = |path: &Path| {
        vec![
            "sim".to_owned(),
            "--seed".to_owned(),
            "3".to_owned(),
            "--duration".to_owned(),
            "3s".to_owned(),
            "--partition".to_owned(),
            "1s..1.5s".to_owned(),
            "--crash".to_owned(),
            "2s..2.3s".to_owned(),
            "--history".to_owned(),
            path.display().to_string(),
        ]
    };
    let run = |path: &Path| {
        let args = args(path);
        lab(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let output = run(&first);
    assert_eq!(output.status.code(), Some(0), "{}{}", stdout(&output), stderr(&output));
    assert!(stdout(&output).contains("checker     linearizable"), "{}", stdout(&output));
    assert!(stdout(&output).contains("crash db at 2s"), "{}", stdout(&output));
    run(&second);
    let (a, b) = (std::fs::read(&first).expect("history"), std::fs::read(&second).expect("history"));
    assert!(!a.is_empty());
    assert_eq!(a, b, "same seed, same history bytes");
    let checked = lab(&["check", &first.display().to_string()]);
    assert_eq!(checked.status.code(), Some(0), "the written history checks: {}", stdout(&checked));
}

#[test]
fn sim_reports_lost_writes_with_exit_one() {
    let output =
        lab(&["sim", "--workload", "set", "--set", "synchronous=off", "--duration", "3s", "--crash", "1s..1.5s"]);
    assert_eq!(output.status.code(), Some(1), "{}{}", stdout(&output), stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("checker     set-invalid"), "{text}");
    let lost: usize = text
        .split("lost        ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a lost count");
    assert!(lost > 0, "{text}");
}

#[test]
fn sim_refuses_bad_windows_and_hosts() {
    assert_eq!(lab(&["sim", "--crash", "2s..1s"]).status.code(), Some(2));
    assert_eq!(lab(&["sim", "--partition", "soon"]).status.code(), Some(2));
    let output = lab(&["sim", "--clients-per-host", "0"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("client"), "{}", stderr(&output));
}

#[test]
fn sim_runs_the_quorum_store_and_its_anomalies_change_the_exit_status() {
    let abd = lab(&["sim", "--system", "quorum", "--set", "mode=abd", "--duration", "3s", "--partition", "1s..2s"]);
    assert_eq!(abd.status.code(), Some(0), "{}{}", stdout(&abd), stderr(&abd));
    assert!(stdout(&abd).contains("checker     linearizable"), "{}", stdout(&abd));
    let one = lab(&["sim", "--system", "quorum", "--set", "read=one", "--set", "write=one", "--duration", "3s"]);
    assert_eq!(one.status.code(), Some(1), "R=W=1 is not linearizable: {}", stdout(&one));
    assert!(stdout(&one).contains("checker     not-linearizable"), "{}", stdout(&one));
}

#[test]
fn experiment_registry_lists_every_store_and_workload_with_its_keys() {
    let output = lab(&["experiment", "registry"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    for kind in ["sqlite", "quorum", "register", "kv", "set"] {
        assert!(text.lines().any(|l| l.trim_start().starts_with(kind)), "{kind} in {text}");
    }
    assert!(text.contains("keys: journal, synchronous, writeback"), "{text}");
    assert!(text.contains("keys: keys, distribution, mix"), "{text}");
}

#[test]
fn sim_refuses_options_the_system_does_not_have() {
    let output = lab(&["sim", "--skew-ms", "500"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("has one server"), "{}", stderr(&output));
    let output = lab(&["sim", "--system", "quorum", "--set", "nodes=12"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("3 to 9 nodes"), "{}", stderr(&output));
    let output = lab(&["sim", "--set", "nodes=3"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("`nodes` applies only to kind = \"quorum\" or kind = \"sqlite-raft\" systems"),
        "{}",
        stderr(&output)
    );
    let output = lab(&["sim", "--system", "mysql"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("expected `sqlite`, `quorum` or `sqlite-raft`"), "{}", stderr(&output));
}
