//! Experiment scripts: every file in `experiments/` validates with `lab experiment check`, and
//! a bad file is refused with exit status 2 and its position.

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::support::scratch;

fn lab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lab")).args(args).output().expect("lab runs")
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
        assert!(fields[2].ends_with(" faults") && fields[2].contains(" systems, "), "{line}");
    }
}

#[test]
fn a_bad_experiment_exits_2_with_file_line_and_column() {
    let good = experiment_files().into_iter().next().expect("an experiment");
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
