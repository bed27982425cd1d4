//! `kind = "scaling"`: experiments/scaling.toml validates, and a tiny sweep of two seeds runs
//! through `lab run` and shows the machinery working: every point runs on both seeds, a 5-node
//! cluster at ONE saturates above a 3-node one, SQLite stays under the model's bound, the rows
//! combine the seeds as the report says, and the output (simulated time) is byte for byte the
//! same on a second run; `--seed` runs one seed alone, as in the full run.

use std::path::{Path, PathBuf};

use crate::support::{lab, scratch};

const TINY: &str = r#"
kind = "scaling"
name = "tiny-scaling"
question = "Does the machinery work?"
seeds = 2
warmup = "100ms"
measure = "300ms"

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

[[system]]
name = "quorum"
kind = "quorum"
clients_per_server = [4, 32, 64]
sweep = { nodes = [3, 5], level = ["one"] }

[[system]]
name = "sqlite"
kind = "sqlite"
clients_per_server = [4, 64]
"#;

fn tiny_file() -> String {
    let file = scratch("tiny-scaling.toml");
    std::fs::write(&file, TINY).expect("scratch file");
    file.display().to_string()
}

/// Runs the tiny sweep (`extra` arguments added) into `out`; its results directory.
fn run_tiny(out: &Path, extra: &[&str]) -> PathBuf {
    let (file, out_arg) = (tiny_file(), out.display().to_string());
    let mut args = vec!["run", "--quiet", "--jobs", "2", "--out", &out_arg];
    args.extend(extra);
    args.push(&file);
    let output = lab(&args);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("== tiny-scaling"), "{stdout}");
    out.join("tiny-scaling")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn results(dir: &Path) -> serde_json::Value {
    for name in ["table.md", "table.csv", "points.csv", "summary.md", "wall.md", "throughput.svg"] {
        assert!(dir.join(name).is_file(), "{name} written");
    }
    serde_json::from_str(&read(&dir.join("table.json"))).expect("table.json is JSON")
}

fn row<'a>(table: &'a serde_json::Value, system: &str) -> &'a serde_json::Value {
    table.as_array().and_then(|rows| rows.iter().find(|r| r["system"] == system)).expect("a row")
}

fn number(row: &serde_json::Value, field: &str) -> f64 {
    row[field].as_f64().unwrap_or_else(|| panic!("{field} in {row}"))
}

/// A row's saturation on `seed`.
fn on_seed(row: &serde_json::Value, seed: u64) -> f64 {
    number(&row["saturation_by_seed"], &seed.to_string())
}

#[test]
fn the_scaling_experiment_validates() {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("experiments/scaling.toml");
    let output = lab(&["experiment", "check", &file.display().to_string()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("\tok\tscaling: 13 series, 5 seeds, "), "{stdout}");

    let singular = scratch("singular-seed.toml");
    std::fs::write(&singular, TINY.replace("seeds = 2", "seed = 1")).expect("scratch file");
    let output = lab(&["experiment", "check", &singular.display().to_string()]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("singular-seed.toml:5:1: `seed` is not a key: write `seeds = [N]`"), "{stderr}");
}

#[test]
fn a_tiny_sweep_runs_every_seed_scales_and_respects_the_model() {
    let dir = run_tiny(&scratch("scaling-a"), &[]);
    let table = results(&dir);
    let three = row(&table, "quorum-3-one");
    let five = row(&table, "quorum-5-one");
    let sqlite = row(&table, "sqlite");
    for r in [three, five, sqlite] {
        assert_eq!(r["errors"], 0, "{r}");
        let (one, two) = (on_seed(r, 1), on_seed(r, 2));
        assert!((number(r, "saturation_ok_per_s") - (one + two) / 2.0).abs() < 1e-9, "the mean of the seeds: {r}");
        assert_eq!(number(r, "saturation_min_ok_per_s"), one.min(two), "{r}");
        assert_eq!(number(r, "saturation_max_ok_per_s"), one.max(two), "{r}");
    }
    let (t3, t5) = (number(three, "saturation_ok_per_s"), number(five, "saturation_ok_per_s"));
    assert!(t3 > 1000.0 && t5 > t3 * 1.2, "5 nodes ({t5} ok/s) saturate above 3 ({t3} ok/s)");
    // Speed-up and efficiency are taken seed by seed, then averaged.
    let speedups = [1, 2].map(|seed| on_seed(five, seed) / on_seed(three, seed));
    assert!((number(five, "speedup_vs_3") - (speedups[0] + speedups[1]) / 2.0).abs() < 1e-9, "{five}");
    let efficiencies = speedups.map(|s| s / (5.0 / 3.0));
    assert!((number(five, "efficiency_min") - efficiencies[0].min(efficiencies[1])).abs() < 1e-9, "{five}");
    let (ts, bound) = (number(sqlite, "saturation_max_ok_per_s"), number(sqlite, "model_bound_ok_per_s"));
    assert!(number(sqlite, "saturation_min_ok_per_s") > 0.5 * bound && ts <= bound, "SQLite near its bound {bound}");
    assert!(number(sqlite, "p99_ms_at_saturation") > 0.0);

    // points.csv: one line per series x seed x clients, in that order.
    let points = read(&dir.join("points.csv"));
    let keys: Vec<(String, String, String)> = points
        .lines()
        .skip(1)
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            (fields[0].to_owned(), fields[1].to_owned(), fields[2].to_owned())
        })
        .collect();
    assert!(
        points.starts_with("series,seed,clients,ok_per_s,not_ok,p50_ms,p99_ms,steps,predicted_ok_per_s,binds,error\n"),
        "{points}"
    );
    let key = |series: &str, seed: &str, clients: &str| (series.to_owned(), seed.to_owned(), clients.to_owned());
    assert_eq!(keys.len(), 16, "8 points on 2 seeds: {points}");
    assert_eq!(
        keys[..4],
        [
            key("quorum-3-one", "1", "12"),
            key("quorum-3-one", "1", "96"),
            key("quorum-3-one", "1", "192"),
            key("quorum-3-one", "2", "12")
        ]
    );
    assert_eq!(keys[15], key("sqlite", "2", "64"));
    assert!(read(&dir.join("summary.md")).contains("zero think time, seeds 1-2\n"));

    // The same file and seeds: the same output, byte for byte.
    let again = run_tiny(&scratch("scaling-b"), &[]);
    for name in ["points.csv", "table.json", "table.md", "table.csv", "summary.md", "throughput.svg"] {
        assert_eq!(read(&again.join(name)), read(&dir.join(name)), "{name} differs between two runs");
    }

    // `--seed 2` runs seed 2 alone, into seed-2/: its points are the full run's seed-2 points.
    let alone = run_tiny(&scratch("scaling-c"), &["--seed", "2"]).join("seed-2");
    let seed_two: Vec<&str> = points.lines().filter(|l| l.split(',').nth(1) == Some("2")).collect();
    let alone_points = read(&alone.join("points.csv"));
    assert_eq!(alone_points.lines().skip(1).collect::<Vec<_>>(), seed_two);
    let alone_table = results(&alone);
    assert_eq!(on_seed(row(&alone_table, "sqlite"), 2), on_seed(sqlite, 2));
}
