//! `kind = "scaling"`: experiments/scaling.toml validates, and a tiny sweep of two seeds runs
//! through `lab run` and shows the machinery working: every point runs on both seeds, a 5-node
//! cluster at ONE saturates above a 3-node one, SQLite stays under the model's bound, the rows
//! combine the seeds as the report says, and the output (simulated time) is byte for byte the
//! same on a second run; `--seed` runs one seed alone, as in the full run. A second tiny sweep
//! runs two mixes: each series keeps its mix and commit-log mode, every point is judged stable
//! or overloaded, and the messages and commit-log syncs per operation follow the mix.

use std::path::{Path, PathBuf};

use crate::support::{self, lab, scratch};

/// The tiny sweep (the shared workload and costs: [`support::scaling_file`]).
fn tiny() -> String {
    support::scaling_file(
        r#"
kind = "scaling"
name = "tiny-scaling"
question = "Does the machinery work?"
seeds = 2
warmup = "100ms"
measure = "300ms"
"#,
        r#"
[[system]]
name = "quorum"
kind = "quorum"
clients_per_server = [4, 32, 64]
sweep = { nodes = [3, 5], level = ["one"] }

[[system]]
name = "sqlite"
kind = "sqlite"
clients_per_server = [4, 64]
"#,
    )
}

fn tiny_file() -> String {
    let file = scratch("tiny-scaling.toml");
    std::fs::write(&file, tiny()).expect("scratch file");
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
    assert!(stdout.contains("\tok\tscaling: 26 series, 5 seeds, at most 1020 runs"), "{stdout}");

    let singular = scratch("singular-seed.toml");
    std::fs::write(&singular, tiny().replace("seeds = 2", "seed = 1")).expect("scratch file");
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
    assert!(points.starts_with(&format!("{}\n", runner::scaling::report::POINTS_HEADER)), "{points}");
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

/// The two-mix sweep (the shared workload and costs: [`support::scaling_file`]).
fn mixed() -> String {
    support::scaling_file(
        r#"
kind = "scaling"
name = "tiny-mixes"
question = "Do mixes and commit-log modes reach the report?"
seeds = 1
warmup = "100ms"
measure = "300ms"

[stability]
windows = 3
"#,
        r#"
[mixes]
write-only = { read = 0, write = 1, cas = 0 }
read-heavy = { read = 95, write = 5, cas = 0 }

[[system]]
name = "quorum"
kind = "quorum"
clients_per_server = [8]
sweep = { nodes = [3], level = ["one"], mix = ["write-only", "read-heavy"], commitlog = ["batch"] }

[[system]]
name = "sqlite"
kind = "sqlite"
clients_per_server = [8]
sweep = { mix = ["write-only"] }
"#,
    )
}

#[test]
fn mixes_reach_the_rows_with_their_messages_and_syncs_per_operation() {
    let file = scratch("tiny-mixes.toml");
    std::fs::write(&file, mixed()).expect("scratch file");
    let out = scratch("scaling-mixes");
    let (file, out_arg) = (file.display().to_string(), out.display().to_string());
    let output = lab(&["run", "--quiet", "--jobs", "2", "--out", &out_arg, &file]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let dir = out.join("tiny-mixes");
    let table: serde_json::Value = serde_json::from_str(&read(&dir.join("table.json"))).expect("table.json is JSON");
    let writes = row(&table, "quorum-3-one-write-only-batch");
    let reads = row(&table, "quorum-3-one-read-heavy-batch");
    let sqlite = row(&table, "sqlite-write-only");
    assert_eq!((&writes["mix"], &writes["commitlog"]), (&"write-only".into(), &"batch".into()), "{writes}");
    assert_eq!((&reads["mix"], &sqlite["commitlog"]), (&"read-heavy".into(), &"-".into()), "{reads} {sqlite}");
    // Every point is judged: stable or overloaded, and the row counts them.
    for r in [writes, reads, sqlite] {
        let judged = number(r, "stable_points") + number(r, "overloaded_points");
        assert_eq!(judged, 1.0, "one point each: {r}");
    }
    let points = read(&dir.join("points.csv"));
    let header: Vec<&str> = points.lines().next().unwrap_or("").split(',').collect();
    let status = header.iter().position(|h| *h == "status").expect("a status column");
    let syncs = header.iter().position(|h| *h == "syncs_per_op").expect("a syncs column");
    let messages = header.iter().position(|h| *h == "messages_per_op").expect("a messages column");
    let per_series = |series: &str, column: usize| -> String {
        let line = points.lines().find(|l| l.starts_with(&format!("{series},"))).expect("a point");
        line.split(',').nth(column).unwrap_or("").to_owned()
    };
    for series in ["quorum-3-one-write-only-batch", "quorum-3-one-read-heavy-batch", "sqlite-write-only"] {
        assert!(["stable", "overloaded"].contains(&per_series(series, status).as_str()), "{points}");
    }
    let value = |series: &str, column: usize| per_series(series, column).parse::<f64>().unwrap_or(f64::NAN);
    // Batch mode syncs every write's commit-log record on each of its 3 replicas before the
    // acknowledgement, concurrent writes sharing a sync (so fewer writes share less): a
    // write-only mix syncs at most 3 times per operation, and more than twice as often as one
    // with 5 % writes (0.62 against 0.13 when this test was written).
    let (w, r) = (value("quorum-3-one-write-only-batch", syncs), value("quorum-3-one-read-heavy-batch", syncs));
    assert!(w > 0.0 && w <= 3.0 && r < w / 2.0, "syncs/op write-only {w}, read-heavy {r}: {points}");
    // On 3 nodes with N = 3 the coordinator is itself a replica: an operation costs its
    // request, 2 replica requests and their replies, and its answer (6 messages), more after
    // a timeout or a retry, a little less when the run ends with replies still owed (5.998
    // when this test was written); SQLite's, a request and its answer.
    let m = value("quorum-3-one-write-only-batch", messages);
    assert!((5.5..7.0).contains(&m), "messages/op {m}: {points}");
    assert!((1.8..2.5).contains(&value("sqlite-write-only", messages)), "{points}");
    // SQLite in WAL mode with synchronous=FULL syncs the WAL at every commit (each write is a
    // transaction), plus the checkpoints' syncs of the WAL and the database now and then; the
    // run's ok operations also count the final reads of every key, which sync nothing (0.889
    // syncs/op on the full sweep's saturated write-only point).
    let sqlite_syncs = value("sqlite-write-only", syncs);
    assert!((0.5..2.0).contains(&sqlite_syncs), "SQLite syncs/op {sqlite_syncs}: {points}");
    let summary = read(&dir.join("summary.md"));
    assert!(summary.contains("write-only: read 0 / write 1 / cas 0"), "{summary}");
    assert!(summary.contains("3 sub-windows"), "{summary}");
}

/// The periodic commit log at two loads, with `extra` added to its system table.
fn periodic(extra: &str) -> String {
    support::scaling_file(
        r#"
kind = "scaling"
name = "tiny-periodic"
question = "Does the commit-log buffer change any figure of a fault-free run?"
seeds = 1
warmup = "100ms"
measure = "300ms"
"#,
        &format!(
            r#"
[[system]]
name = "quorum-periodic"
kind = "quorum"
commitlog = {{ periodic = "10s" }}
{extra}
clients_per_server = [16, 128]
sweep = {{ nodes = [3], level = ["quorum"] }}
"#
        ),
    )
}

/// `commitlog_buffer_kib` is a simulator economy: without crashes or disk faults, every row of
/// points.csv (throughput, latency, messages, syncs, the model's ceiling) is the same with it as
/// without it.
#[test]
fn the_commit_log_buffer_changes_no_figure_of_a_fault_free_sweep() {
    let run = |name: &str, extra: &str| {
        let file = scratch(&format!("{name}.toml"));
        std::fs::write(&file, periodic(extra)).expect("scratch file");
        let out = scratch(name);
        let (file, out_arg) = (file.display().to_string(), out.display().to_string());
        let output = lab(&["run", "--quiet", "--jobs", "2", "--out", &out_arg, &file]);
        assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
        read(&out.join("tiny-periodic").join("points.csv"))
    };
    let (plain, buffered) = (run("periodic-plain", ""), run("periodic-buffered", "commitlog_buffer_kib = 16"));
    assert_eq!(plain.lines().count(), 3, "a header and two points: {plain}");
    assert_eq!(plain, buffered);
}
