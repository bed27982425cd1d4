//! `kind = "staleness"` experiments through `lab run`: the PBS machinery end to end, small.
//! The figures of `experiments/staleness.toml` come from `make run`, not from here.

use std::path::Path;

use crate::support::{lab, scratch};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// (3,1,1) right after the acknowledgement, with writes so slow that nothing propagates
/// before the read, beside uniform exponential delays at two waits.
const SMALL: &str = r#"kind = "staleness"
name = "small-staleness"
question = "Does the machinery work?"
trials = 10000
model_samples = 100000
waits = ["0ms", "1ms"]

[[system]]
name = "n3-r1-w1"
kind = "quorum"
r = 1
w = 1
read_repair = "off"
hints = "off"

[[system]]
name = "n3-r2-w2"
kind = "quorum"
r = 2
w = 2
read_repair = "off"
hints = "off"

[[delays]]
name = "slow-writes"
write = { mean = "100ms" }
ack = { mean = "0.01ms" }
read = { mean = "0.01ms" }
response = { mean = "0.01ms" }

[[delays]]
name = "exp-1ms"
all = { mean = "1ms" }
"#;

struct Row {
    profile: String,
    nrw: String,
    t_ms: String,
    measured: f64,
    model: f64,
    agrees: bool,
}

fn rows(csv: &str) -> Vec<Row> {
    csv.lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            Row {
                profile: f[0].to_owned(),
                nrw: format!("{} {} {}", f[1], f[2], f[3]),
                t_ms: f[4].to_owned(),
                measured: f[7].parse().expect("measured"),
                model: f[10].parse().expect("model"),
                agrees: f[13] == "true",
            }
        })
        .collect()
}

fn run(file: &Path, out: &Path) -> String {
    let output = lab(&["run", "--quiet", "--out", &out.display().to_string(), &file.display().to_string()]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn staleness_right_after_the_write_is_the_closed_form_and_agrees_with_the_model() {
    let file = scratch("small-staleness.toml");
    std::fs::write(&file, SMALL).expect("scratch file");
    let out = scratch("staleness-results");
    let stdout = run(&file, &out);
    assert!(stdout.contains("== small-staleness (seed 1, 10000 trials per point) =="), "{stdout}");
    let dir = out.join("small-staleness");
    let rows = rows(&read(&dir.join("table.csv")));
    assert_eq!(rows.len(), 2 * 2 * 2, "profiles x quorums x waits");
    let first = &rows[0];
    assert_eq!((first.profile.as_str(), first.nrw.as_str(), first.t_ms.as_str()), ("slow-writes", "3 1 1", "0"));
    let stale = 1.0 - first.measured;
    assert!((stale - 2.0 / 3.0).abs() < 0.03, "staleness of (3,1,1) at t=0: {stale}");
    for row in &rows {
        assert!(row.agrees && (row.measured - row.model).abs() <= 0.02, "{} {} t={}", row.profile, row.nrw, row.t_ms);
        if row.nrw == "3 2 2" {
            assert_eq!(row.measured, 1.0, "R + W > N is never stale");
        }
    }
    let exp: Vec<&Row> = rows.iter().filter(|r| r.profile == "exp-1ms" && r.nrw == "3 1 1").collect();
    assert!(exp[0].measured < exp[1].measured, "staleness fades as t grows");
    for name in ["table.md", "table.json", "summary.md", "plots/slow-writes.svg", "plots/exp-1ms.svg"] {
        assert!(dir.join(name).is_file(), "{name}");
    }
    // Same seed, same files, byte for byte.
    let again = scratch("staleness-again");
    run(&file, &again);
    for name in ["table.csv", "summary.md", "plots/exp-1ms.svg"] {
        assert_eq!(read(&dir.join(name)), read(&again.join("small-staleness").join(name)), "{name}");
    }
}

#[test]
fn a_bad_staleness_file_is_refused_before_anything_runs() {
    let file = scratch("bad-staleness.toml");
    std::fs::write(&file, SMALL.replace("r = 2\n", "r = 4\n")).expect("scratch file");
    let out = scratch("bad-staleness-results");
    let output = lab(&["run", "--quiet", "--out", &out.display().to_string(), &file.display().to_string()]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{}:19:5: ", file.display())) && stderr.contains("R = 4 exceeds N = 3"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing was written");
}
