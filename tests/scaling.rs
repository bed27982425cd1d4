//! `kind = "scaling"`: experiments/scaling.toml validates, and a tiny sweep runs through
//! `lab run` and shows the machinery working: a 5-node cluster at ONE saturates above a
//! 3-node one, SQLite stays under the model's bound, and the figures (simulated time) are the
//! same on a second run.

use std::path::{Path, PathBuf};

use crate::support::{lab, scratch};

const TINY: &str = r#"
kind = "scaling"
name = "tiny-scaling"
question = "Does the machinery work?"
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

fn run_tiny(out: &Path) -> serde_json::Value {
    let file = scratch("tiny-scaling.toml");
    std::fs::write(&file, TINY).expect("scratch file");
    let out_arg = out.display().to_string();
    let output = lab(&["run", "--quiet", "--jobs", "2", "--out", &out_arg, &file.display().to_string()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("== tiny-scaling"), "{stdout}");
    let dir = out.join("tiny-scaling");
    for name in ["table.md", "table.csv", "points.csv", "summary.md", "throughput.svg"] {
        assert!(dir.join(name).is_file(), "{name} written");
    }
    let text = std::fs::read_to_string(dir.join("table.json")).expect("table.json");
    serde_json::from_str(&text).expect("table.json is JSON")
}

fn row<'a>(table: &'a serde_json::Value, system: &str) -> &'a serde_json::Value {
    table.as_array().and_then(|rows| rows.iter().find(|r| r["system"] == system)).expect("a row")
}

fn number(row: &serde_json::Value, field: &str) -> f64 {
    row[field].as_f64().unwrap_or_else(|| panic!("{field} in {row}"))
}

#[test]
fn the_scaling_experiment_validates() {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("experiments/scaling.toml");
    let output = lab(&["experiment", "check", &file.display().to_string()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("\tok\tscaling: 13 series, "), "{stdout}");
}

#[test]
fn a_tiny_sweep_scales_and_respects_the_model() {
    let table = run_tiny(&scratch("scaling-a"));
    let three = row(&table, "quorum-3-one");
    let five = row(&table, "quorum-5-one");
    let sqlite = row(&table, "sqlite");
    for r in [three, five, sqlite] {
        assert_eq!(r["errors"], 0, "{r}");
    }
    let (t3, t5) = (number(three, "saturation_ok_per_s"), number(five, "saturation_ok_per_s"));
    assert!(t3 > 1000.0 && t5 > t3 * 1.2, "5 nodes ({t5} ok/s) saturate above 3 ({t3} ok/s)");
    assert!((number(five, "speedup_vs_3") - t5 / t3).abs() < 1e-9);
    let (ts, bound) = (number(sqlite, "saturation_ok_per_s"), number(sqlite, "model_bound_ok_per_s"));
    assert!(ts > 0.5 * bound && ts <= bound, "SQLite at {ts} ok/s, under its bound {bound} and near it");
    assert!(number(sqlite, "p99_ms_at_saturation") > 0.0);

    // Simulated-time figures are a function of the file: a second run gives the same table.
    assert_eq!(run_tiny(&scratch("scaling-b")), table);
}
