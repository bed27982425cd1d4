//! `lab claims` checks its inputs before judging anything, as `lab merge` checks shards: every
//! system and seed of `experiment.json` exactly once in `runs.jsonl`, no other system or seed,
//! every record of this experiment and this version of its file, and no empty, cut or missing
//! `runs.jsonl`. Each fault gives exit status 2, a message naming the file (and line) and what
//! is wrong, and no ledger.
//!
//! The results are two tiny experiments named like the standard ones they stand for, with the
//! same systems and seeds, so that one's records look like the other's in every way but their
//! experiment: the swap that turned claims 6 and 10 into "holds".

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use crate::support::{lab, scratch};

/// A tiny experiment named `name` with the same two systems as every other this file runs (so
/// that two experiments' records differ only in the experiment they say), and `fault`.
fn tiny(name: &str, fault: &str) -> String {
    format!(
        r#"name = "{name}"
question = "{name}, tiny."
seeds = 2
duration = "1s"
[workload]
kind = "kv"
keys = 4
mix = {{ read = 1, write = 1 }}
clients_per_host = 2
[[system]]
name = "sqlite-full"
kind = "sqlite"
journal = "wal"
synchronous = "full"
[[system]]
name = "quorum-all"
kind = "quorum"
read = "all"
write = "all"
[[fault]]
{fault}
"#
    )
}

/// The power loss: every server at 800 ms.
const POWER_LOSS_FAULT: &str = "at = \"800ms\"\nkind = \"crash-all\"";

/// The crash and restart: the server from 300 to 600 ms.
const CRASH_RESTART_FAULT: &str = "at = \"300ms\"\nuntil = \"600ms\"\nkind = \"crash\"\nnode = \"server\"";

fn show(output: &Output) -> String {
    format!("{}\n{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// Valid results of both experiments, run once for every test of this file.
fn valid() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch("inputs-valid");
        let files: Vec<String> = [("power-loss", POWER_LOSS_FAULT), ("crash-restart", CRASH_RESTART_FAULT)]
            .iter()
            .map(|(name, fault)| {
                let path = scratch(&format!("{name}.toml"));
                std::fs::write(&path, tiny(name, fault)).expect("scratch file");
                path.display().to_string()
            })
            .collect();
        let out = dir.display().to_string();
        let output = lab(&["run", "--quiet", "--out", &out, &files[0], &files[1]]);
        assert_eq!(output.status.code(), Some(0), "{}", show(&output));
        dir
    })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// A fresh copy of the valid results.
fn copy() -> PathBuf {
    let dir = scratch("inputs");
    copy_dir(valid(), &dir);
    dir
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `lab claims` on `dir`, writing its ledger into `dir` too.
fn claims(dir: &Path) -> Output {
    let dir = dir.display().to_string();
    lab(&["claims", "--results", &dir, "--out", &dir])
}

/// `lab claims` refuses `dir` with exit status 2, saying each of `messages` on stderr, and
/// writes no ledger.
fn refused(dir: &Path, messages: &[String]) {
    let output = claims(dir);
    assert_eq!(output.status.code(), Some(2), "{}", show(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for message in messages {
        assert!(stderr.contains(message.as_str()), "expected `{message}` in:\n{stderr}");
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!dir.join("claims.md").exists() && !dir.join("claims.json").exists(), "no ledger is written");
    assert!(String::from_utf8_lossy(&output.stdout).is_empty(), "nothing is judged: {}", show(&output));
}

/// `crash-restart/runs.jsonl` of `dir` and its path as messages show it.
fn runs(dir: &Path) -> (PathBuf, String) {
    let path = dir.join("crash-restart/runs.jsonl");
    let shown = path.display().to_string();
    (path, shown)
}

#[test]
fn valid_results_are_judged() {
    let dir = copy();
    let output = claims(&dir);
    // Claims the two experiments do not decide are "not measured" (exit 1), not an error.
    assert!(matches!(output.status.code(), Some(0 | 1)), "{}", show(&output));
    assert!(read(&dir.join("claims.md")).starts_with("# Claims ledger"));
    // The records say which experiment and file version they are of.
    let experiment: serde_json::Value =
        serde_json::from_str(&read(&dir.join("crash-restart/experiment.json"))).expect("JSON");
    for line in read(&dir.join("crash-restart/runs.jsonl")).lines() {
        let record: serde_json::Value = serde_json::from_str(line).expect("a record");
        assert_eq!(record["experiment"], "crash-restart", "{line}");
        assert_eq!(record["fingerprint"], experiment["fingerprint"], "{line}");
    }
}

#[test]
fn a_duplicated_record_is_refused_at_its_line() {
    let dir = copy();
    let (path, shown) = runs(&dir);
    let text = read(&path);
    let second = text.lines().nth(1).expect("a second record");
    assert!(second.starts_with("{\"system\":\"sqlite-full\",\"seed\":2,"), "records are sorted: {second}");
    std::fs::write(&path, format!("{text}{second}\n")).expect("write");
    refused(&dir, &[format!("{shown}:5: sqlite-full seed 2 appears twice (first on line 2)")]);
}

#[test]
fn a_missing_seed_is_refused() {
    let dir = copy();
    let (path, shown) = runs(&dir);
    let text = read(&path);
    let kept: Vec<&str> = text.lines().filter(|l| !l.starts_with("{\"system\":\"quorum-all\",\"seed\":2,")).collect();
    assert_eq!(kept.len(), 3);
    std::fs::write(&path, kept.join("\n") + "\n").expect("write");
    refused(&dir, &[format!("{shown}: missing: quorum-all seed 2")]);
}

#[test]
fn an_empty_or_missing_runs_jsonl_is_refused() {
    let dir = copy();
    let (path, shown) = runs(&dir);
    std::fs::write(&path, "").expect("write");
    refused(&dir, &[format!("{shown}: empty: no record")]);
    std::fs::remove_file(&path).expect("remove");
    refused(&dir, &[format!("{shown}: missing: the run wrote experiment.json but no record")]);
}

#[test]
fn a_cut_last_line_is_an_interrupted_run() {
    let dir = copy();
    let (path, shown) = runs(&dir);
    let text = read(&path);
    let cut = &text[..text.len() - text.lines().last().expect("a line").len() / 2];
    std::fs::write(&path, cut).expect("write");
    refused(
        &dir,
        &[
            format!("{shown}:4: the last line is cut short: the run was interrupted"),
            format!("{shown}: missing: quorum-all seed 2"),
        ],
    );
}

#[test]
fn another_experiments_records_are_refused() {
    // power-loss's records in crash-restart's directory, and crash-restart's in power-loss's:
    // same systems, same seeds, different experiments.
    let dir = copy();
    let (path, shown) = runs(&dir);
    let power_loss = dir.join("power-loss/runs.jsonl");
    let theirs = read(&power_loss);
    std::fs::write(&power_loss, read(&path)).expect("write");
    std::fs::write(&path, theirs).expect("write");
    refused(
        &dir,
        &[
            format!("{shown}:1: record of experiment power-loss in crash-restart's results"),
            format!("{}:1: record of experiment crash-restart in power-loss's results", power_loss.display()),
        ],
    );
}

#[test]
fn records_of_another_version_of_the_file_are_refused() {
    let dir = copy();
    let (_, shown) = runs(&dir);
    let meta_path = dir.join("crash-restart/experiment.json");
    let mut meta: serde_json::Value = serde_json::from_str(&read(&meta_path)).expect("JSON");
    meta["fingerprint"] = "0000000000000000".into();
    std::fs::write(&meta_path, serde_json::to_string_pretty(&meta).expect("JSON")).expect("write");
    refused(&dir, &[format!("{shown}:1: record of another version of crash-restart's file")]);
}

#[test]
fn a_record_of_an_unknown_system_is_refused() {
    let dir = copy();
    let (path, shown) = runs(&dir);
    let text = read(&path).replacen("\"system\":\"sqlite-full\"", "\"system\":\"sqlite-ghost\"", 1);
    std::fs::write(&path, text).expect("write");
    refused(
        &dir,
        &[
            format!(
                "{shown}:1: system `sqlite-ghost` is not one of experiment.json's systems (sqlite-full, quorum-all)"
            ),
            format!("{shown}: missing: sqlite-full seed 1"),
        ],
    );
}

#[test]
fn records_older_than_their_experiment_and_fingerprint_must_be_re_run() {
    let dir = copy();
    let (path, shown) = runs(&dir);
    let stripped: Vec<String> = read(&path)
        .lines()
        .map(|line| {
            let mut record: serde_json::Value = serde_json::from_str(line).expect("a record");
            let fields = record.as_object_mut().expect("an object");
            fields.remove("experiment");
            fields.remove("fingerprint");
            record.to_string()
        })
        .collect();
    std::fs::write(&path, stripped.join("\n") + "\n").expect("write");
    refused(
        &dir,
        &[format!("{shown}:1: 4 record(s) do not say which experiment"), "predate".into(), "lab run ".into()],
    );
}

#[test]
fn two_directories_of_one_experiment_are_refused() {
    let dir = copy();
    copy_dir(&dir.join("crash-restart"), &dir.join("crash-restart-old"));
    refused(
        &dir,
        &[format!(
            "{} and {}: both hold the results of experiment crash-restart",
            dir.join("crash-restart").display(),
            dir.join("crash-restart-old").display()
        )],
    );
}

#[test]
fn every_directory_is_reported_at_once() {
    let dir = copy();
    let (path, shown) = runs(&dir);
    std::fs::write(&path, "").expect("write");
    let power_loss = dir.join("power-loss/runs.jsonl");
    let text = read(&power_loss);
    std::fs::write(&power_loss, format!("{text}{}", text.lines().next().expect("a record"))).expect("write");
    refused(
        &dir,
        &[
            format!("{shown}: empty"),
            format!("{}:5: sqlite-full seed 1 appears twice (first on line 1)", power_loss.display()),
        ],
    );
}

#[test]
fn merge_refuses_what_claims_refuses() {
    // The same rules, from the same code: a shard holding another experiment's records.
    let dir = copy();
    let shard = dir.join("crash-restart");
    let meta_path = shard.join("experiment.json");
    let mut meta: serde_json::Value = serde_json::from_str(&read(&meta_path)).expect("JSON");
    meta["shard"] = serde_json::json!([1, 1]);
    std::fs::write(&meta_path, serde_json::to_string_pretty(&meta).expect("JSON")).expect("write");
    std::fs::copy(dir.join("power-loss/runs.jsonl"), shard.join("runs.jsonl")).expect("copy");
    let out = scratch("inputs-merged");
    let output = lab(&["merge", "--out", &out.display().to_string(), &shard.display().to_string()]);
    assert_eq!(output.status.code(), Some(2), "{}", show(&output));
    let expected = format!("{}:1: record of experiment power-loss in crash-restart's results", runs(&dir).1);
    assert!(String::from_utf8_lossy(&output.stderr).contains(&expected), "{}", show(&output));
    assert!(!out.join("crash-restart").exists(), "nothing merged");
}

#[test]
fn a_shard_directory_is_left_alone() {
    // A shard is `lab merge`'s to combine and to count: its files must be sound, but its share
    // need not be whole and it is not judged (nor taken for a second directory of crash-restart).
    let dir = copy();
    let shard = dir.join("crash-restart-shard");
    copy_dir(&dir.join("crash-restart"), &shard);
    let mut meta: serde_json::Value = serde_json::from_str(&read(&shard.join("experiment.json"))).expect("JSON");
    meta["shard"] = serde_json::json!([1, 2]);
    std::fs::write(shard.join("experiment.json"), serde_json::to_string_pretty(&meta).expect("JSON")).expect("write");
    let first = read(&shard.join("runs.jsonl")).lines().next().expect("a record").to_owned();
    std::fs::write(shard.join("runs.jsonl"), format!("{first}\n")).expect("write");
    let output = claims(&dir);
    assert!(matches!(output.status.code(), Some(0 | 1)), "{}", show(&output));
    // A record outside its share is not sound.
    let stray = first.replace("\"seed\":1,", "\"seed\":2,");
    std::fs::write(shard.join("runs.jsonl"), format!("{first}\n{stray}\n")).expect("write");
    std::fs::remove_file(dir.join("claims.md")).expect("the ledger of the run before");
    std::fs::remove_file(dir.join("claims.json")).expect("the ledger of the run before");
    let shown = shard.join("runs.jsonl").display().to_string();
    refused(&dir, &[format!("{shown}:2: sqlite-full seed 2 is not one of shard 1/2's seeds (1)")]);
}
