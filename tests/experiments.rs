//! Experiment scripts: every file in `experiments/` validates with `lab experiment check`, and
//! a bad file is refused with exit status 2 and its position.

use std::path::PathBuf;
use std::process::Command;

use crate::support::{lab, scratch};

/// Whether `file` has its own runner and tests (`kind = "staleness"` or `"scaling"`): the
/// fault-experiment tests below leave it out.
fn special_kind(file: &str) -> bool {
    // A top-level `kind` (workload tables have a `kind` of their own).
    let text = read(std::path::Path::new(file));
    text.parse::<toml::Table>().is_ok_and(|table| table.contains_key("kind"))
}

/// The fault experiments of `experiments/`.
fn fault_experiment_files() -> Vec<String> {
    experiment_files().into_iter().filter(|f| !special_kind(f)).collect()
}

fn experiment_files() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("experiments/ exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .map(|path| path.display().to_string())
        .collect();
    files.sort();
    files
}

#[test]
fn every_experiment_script_validates() {
    let files = experiment_files();
    assert!(files.len() >= 2, "experiments/*.toml: {files:?}");
    let mut args = vec!["experiment", "check"];
    args.extend(files.iter().map(String::as_str));
    let output = lab(&args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), files.len(), "{stdout}");
    for (line, file) in lines.iter().zip(&files) {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields[..2], [file.as_str(), "ok"], "{line}");
        if special_kind(file) {
            assert!(fields[2].starts_with("staleness: ") || fields[2].starts_with("scaling: "), "{line}");
        } else {
            assert!(fields[2].ends_with(" faults") && fields[2].contains(" systems, "), "{line}");
        }
    }
}

#[test]
fn a_bad_experiment_exits_2_with_file_line_and_column() {
    let good = fault_experiment_files().into_iter().next().expect("an experiment");
    let bad = scratch("bad.toml");
    std::fs::write(
        &bad,
        "name = \"bad\"\nquestion = \"?\"\nseeds = 0\nduration = \"1s\"\n[workload]\nkind = \"set\"\n",
    )
    .expect("scratch file");
    let bad = bad.display().to_string();
    let output = lab(&["experiment", "check", &good, &bad]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("{bad}:3:9: ")), "{stderr}");
    assert!(stderr.contains("at least one seed"), "{stderr}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.starts_with(&format!("{good}\tok\t")), "the good file is still reported: {stdout}");
}

/// A small experiment for the `lab run` tests: two systems, a short isolation.
const SMALL: &str = r#"name = "small"
question = "Does the machinery work?"
seeds = 4
duration = "2s"
[workload]
kind = "kv"
keys = 4
mix = { read = 1, write = 1 }
clients_per_host = 3
[[system]]
name = "sqlite"
kind = "sqlite"
[[system]]
name = "one"
kind = "quorum"
read = "one"
write = "one"
[[fault]]
at = "500ms"
until = "1200ms"
kind = "isolate"
node = "server"
"#;

fn small_file() -> String {
    let path = scratch("small.toml");
    std::fs::write(&path, SMALL).expect("scratch file");
    path.display().to_string()
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn run_ok(args: &[&str]) -> String {
    let output = lab(args);
    assert_eq!(output.status.code(), Some(0), "lab {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn every_experiment_script_runs_for_one_seed_and_writes_its_results() {
    let out = scratch("results");
    let out_arg = out.display().to_string();
    let files = fault_experiment_files();
    let mut args = vec!["run", "--seed", "1", "--quiet", "--out", &out_arg];
    args.extend(files.iter().map(String::as_str));
    let stdout = run_ok(&args);
    for file in &files {
        let text = read(std::path::Path::new(file));
        let name = text
            .lines()
            .find_map(|l| l.strip_prefix("name = \""))
            .and_then(|l| l.strip_suffix('"'))
            .expect("a name line");
        assert!(stdout.contains(&format!("== {name} (seed 1) ==")), "{stdout}");
        let dir = out.join(name).join("seed-1");
        let systems = text.matches("[[system]]").count();
        let runs = read(&dir.join("runs.jsonl"));
        assert_eq!(runs.lines().count(), systems, "{name}: one record per system");
        assert!(!runs.contains("\"error\""), "{name}: every run completed: {runs}");
        assert_eq!(read(&dir.join("table.csv")).lines().count(), systems + 1, "{name}: header and a row per system");
        let summary = read(&dir.join("summary.md"));
        assert!(summary.starts_with(&format!("# {name}\n")), "{summary}");
        assert!(summary.contains("| system"), "{summary}");
        let json: serde_json::Value = serde_json::from_str(&read(&dir.join("table.json"))).expect("table.json");
        assert_eq!(json["rows"].as_array().map(Vec::len), Some(systems));
    }
}

#[test]
fn a_violating_seed_leaves_its_history_and_witness() {
    let out = scratch("violations");
    let out_arg = out.display().to_string();
    let file = small_file();
    run_ok(&["run", &file, "--quiet", "--out", &out_arg]);
    let runs = read(&out.join("small/runs.jsonl"));
    let violated: Vec<serde_json::Value> = runs
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a record"))
        .filter(|r| r["check"] == "not-linearizable")
        .collect();
    assert!(!violated.is_empty(), "R = W = 1 is not linearizable on some seed of four: {runs}");
    for record in violated {
        let stem = format!("{}-seed-{}", record["system"].as_str().expect("system"), record["seed"]);
        let history = out.join("small/violations").join(format!("{stem}.jsonl"));
        let witness = read(&out.join("small/violations").join(format!("{stem}.txt")));
        assert!(witness.contains("CANNOT BE PLACED"), "{witness}");
        // The history is readable by `lab check`, which reaches the same verdict.
        let output = lab(&["check", "--model", "cas-register", &history.display().to_string()]);
        assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stdout));
        assert!(String::from_utf8_lossy(&output.stdout).contains("\tnot-linearizable\t"));
    }
    assert!(read(&out.join("small/summary.md")).contains("## Violations"));
}

#[test]
fn one_seed_alone_reproduces_its_rows_exactly() {
    let file = small_file();
    let (all, alone, again) = (scratch("all"), scratch("alone"), scratch("again"));
    run_ok(&["run", &file, "--quiet", "--seeds", "3", "--out", &all.display().to_string()]);
    run_ok(&["run", &file, "--quiet", "--seed", "3", "--out", &alone.display().to_string()]);
    run_ok(&["run", &file, "--quiet", "--seed", "3", "--jobs", "1", "--out", &again.display().to_string()]);
    let seed_3 = |text: String| -> Vec<String> {
        text.lines().filter(|l| l.contains("\"seed\":3,")).map(str::to_owned).collect()
    };
    let from_all = seed_3(read(&all.join("small/runs.jsonl")));
    assert_eq!(from_all.len(), 2, "both systems ran seed 3");
    assert_eq!(seed_3(read(&alone.join("small/seed-3/runs.jsonl"))), from_all);
    assert_eq!(read(&again.join("small/seed-3/table.json")), read(&alone.join("small/seed-3/table.json")));
    for system in ["sqlite", "one"] {
        let plot = format!("small/seed-3/plots/{system}.svg");
        let svg = read(&alone.join(&plot));
        assert!(svg.contains("<svg ") && svg.trim_end().ends_with("</svg>"), "{plot}");
        assert_eq!(read(&again.join(&plot)), svg, "{plot}: the same seed, the same picture");
    }
    assert!(read(&alone.join("small/seed-3/summary.md")).contains("[sqlite](plots/sqlite.svg)"));
}

#[test]
fn shards_merged_give_the_table_of_one_run() {
    let file = small_file();
    let (one, sharded, merged) = (scratch("one"), scratch("sharded"), scratch("merged"));
    run_ok(&["run", &file, "--quiet", "--out", &one.display().to_string()]);
    let sharded_arg = sharded.display().to_string();
    for shard in ["1/3", "2/3", "3/3"] {
        run_ok(&["run", &file, "--quiet", "--shard", shard, "--out", &sharded_arg]);
    }
    let shard_dirs: Vec<String> =
        (1..=3).map(|i| sharded.join(format!("small/shard-{i}-of-3")).display().to_string()).collect();
    let mut args = vec!["merge", "--out"];
    let merged_arg = merged.display().to_string();
    args.push(&merged_arg);
    args.extend(shard_dirs.iter().map(String::as_str));
    let stdout = run_ok(&args);
    assert!(stdout.contains("== small (4 seeds from 3 shards) =="), "{stdout}");
    for file in ["table.json", "table.csv", "table.md", "runs.jsonl", "summary.md"] {
        assert_eq!(read(&merged.join("small").join(file)), read(&one.join("small").join(file)), "{file}");
    }

    // The same shard twice is refused; a missing shard is reported with exit status 1.
    let twice = lab(&["merge", "--out", &merged_arg, &shard_dirs[0], &shard_dirs[0]]);
    assert_eq!(twice.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&twice.stderr).contains("is in both"),
        "{}",
        String::from_utf8_lossy(&twice.stderr)
    );
    let partial = lab(&["merge", "--out", &merged_arg, &shard_dirs[0], &shard_dirs[1]]);
    assert_eq!(partial.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&partial.stdout).contains("missing seeds (no shard ran them): sqlite:3 one:3"));
}

#[test]
fn run_refuses_a_bad_file_before_running_anything() {
    let good = small_file();
    let bad = scratch("bad-run.toml");
    std::fs::write(&bad, SMALL.replace("until = \"1200ms\"", "until = \"400ms\"")).expect("scratch file");
    let out = scratch("refused");
    let output = lab(&["run", &good, &bad.display().to_string(), "--quiet", "--out", &out.display().to_string()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&format!("{}:20:9: until = 400ms must be after at = 500ms", bad.display())), "{stderr}");
    assert!(!out.exists(), "nothing ran");
}

#[test]
fn merging_into_a_shard_or_with_stray_records_is_refused() {
    let file = small_file();
    let out = scratch("guarded");
    let out_arg = out.display().to_string();
    run_ok(&["run", &file, "--quiet", "--shard", "1/1", "--out", &out_arg]);
    let shard = out.join("small/shard-1-of-1");
    let plot = read(&shard.join("plots/sqlite.svg"));
    // The merged directory would be the shard itself: refused, and nothing is emptied.
    let alone = scratch("alone-shard");
    std::fs::create_dir_all(&alone).expect("dir");
    let copy = alone.join("small");
    assert!(Command::new("cp").arg("-r").arg(&shard).arg(&copy).status().expect("cp").success());
    let into_itself = lab(&["merge", "--out", &alone.display().to_string(), &copy.display().to_string()]);
    assert_eq!(into_itself.status.code(), Some(2), "{}", String::from_utf8_lossy(&into_itself.stdout));
    assert!(String::from_utf8_lossy(&into_itself.stderr).contains("would overwrite this shard"));
    assert_eq!(read(&copy.join("plots/sqlite.svg")), plot, "the shard's files are untouched");
    // A record of a system the experiment does not have is refused.
    let runs = shard.join("runs.jsonl");
    let text = read(&runs);
    std::fs::write(
        &runs,
        format!(
            "{text}{}",
            text.lines().next().expect("a record").replace("\"system\":\"sqlite\"", "\"system\":\"ghost\"")
        ),
    )
    .expect("write");
    let stray = lab(&["merge", "--out", &scratch("stray").display().to_string(), &shard.display().to_string()]);
    assert_eq!(stray.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&stray.stderr).contains("system `ghost`"),
        "{}",
        String::from_utf8_lossy(&stray.stderr)
    );
}

#[test]
fn a_run_of_some_systems_leaves_the_full_results_alone() {
    let file = small_file();
    let out = scratch("some");
    let out_arg = out.display().to_string();
    run_ok(&["run", &file, "--quiet", "--seeds", "1", "--out", &out_arg]);
    let full = read(&out.join("small/runs.jsonl"));
    run_ok(&["run", &file, "--quiet", "--seeds", "1", "--system", "one", "--out", &out_arg]);
    assert_eq!(read(&out.join("small/runs.jsonl")), full);
    assert_eq!(read(&out.join("small/only-one/runs.jsonl")).lines().count(), 1);
}

/// Regression: `keys` at the kv workload's limit passed validation, then every run panicked in
/// turmoil ("server socket buffer full"): each final read opens its own connection, all at
/// once, and the listener backlog left no room for them. The largest key count the lab
/// accepts must complete a run on both stores.
#[test]
fn the_largest_key_count_accepted_completes_a_run() {
    let max = experiment::workload::kv::MAX_KEYS;
    let file = scratch("max-keys.toml");
    std::fs::write(
        &file,
        format!(
            "name = \"max-keys\"\nquestion = \"q\"\nseeds = 1\nduration = \"1s\"\n\
             [workload]\nkind = \"kv\"\nkeys = {max}\n\
             [[system]]\nname = \"sqlite\"\nkind = \"sqlite\"\n\
             [[system]]\nname = \"quorum\"\nkind = \"quorum\"\n"
        ),
    )
    .expect("scratch file");
    let out = scratch("max-keys-results");
    run_ok(&["run", "--quiet", "--out", &out.display().to_string(), &file.display().to_string()]);
    let runs = read(&out.join("max-keys/runs.jsonl"));
    assert_eq!(runs.lines().count(), 2, "{runs}");
    for line in runs.lines() {
        let record: serde_json::Value = serde_json::from_str(line).expect("a record");
        assert!(record["ok"].as_u64().is_some_and(|ok| ok > 0), "{line}");
    }
}
