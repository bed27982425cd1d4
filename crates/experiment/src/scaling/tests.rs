use std::path::Path;

use super::*;
use crate::{ExperimentError, Script};

pub(super) const FILE: &str = r#"
kind = "scaling"
name = "tiny"
question = "Does it scale?"
seeds = 2
warmup = "100ms"
measure = "200ms"

[workload]
kind = "kv"
keys = 100
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
clients_per_server = [1, 4]
sweep = { nodes = [3, 5], level = ["one", "all"] }

[[system]]
name = "sqlite"
kind = "sqlite"
clients_per_server = [1, 3]
"#;

pub(super) fn parsed(text: &str) -> Result<Scaling, ExperimentError> {
    match crate::parse(&Registry::standard(), Path::new("s.toml"), text)? {
        Script::Scaling(scaling) => Ok(scaling),
        other => panic!("expected a scaling file, got {other:?}"),
    }
}

#[test]
fn a_sweep_becomes_series_in_its_key_order_and_points() {
    let s = parsed(FILE).expect("valid");
    let names: Vec<&str> = s.series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["quorum-3-one", "quorum-3-all", "quorum-5-one", "quorum-5-all", "sqlite"]);
    assert_eq!(s.series[2].clients, [5, 20], "clients per server times 5 servers");
    assert_eq!((s.series[2].nodes(), s.series[2].level().as_deref()), (5, Some("one")));
    assert_eq!((s.series[4].nodes(), s.series[4].level()), (1, None));
    assert_eq!((s.seeds.as_slice(), s.runs(), s.points().len()), ([1, 2].as_slice(), 20, 20), "10 points, 2 seeds");
    assert_eq!(s.cpu.per_message, Duration::from_micros(10));
    assert_eq!(s.disk.per_sync, Duration::from_micros(150));
    assert_eq!(s.workload.mix(), sim::OpMix { read: 1, write: 1, cas: 0 });
}

#[test]
fn clients_spread_over_hosts_that_divide_them() {
    let s = parsed(FILE).expect("valid");
    let config = s.sim_config(Point { series: 4, seed: 1, clients: 3 });
    assert_eq!((config.client_hosts, config.clients_per_host), (1, 3));
    let config = s.sim_config(Point { series: 2, seed: 2, clients: 20 });
    assert_eq!((config.client_hosts, config.clients_per_host), (2, 10));
    assert_eq!(config.think_time, Duration::ZERO);
    assert_eq!(config.capacity, s.capacity());
    assert_eq!(config.duration, Duration::from_millis(300));
    assert_eq!(config.seed, 2, "the point's seed");
}

#[test]
fn points_go_series_by_series_then_seed_by_seed() {
    let s = parsed(&FILE.replace("seeds = 2", "seeds = [7, 3]")).expect("valid");
    assert_eq!(s.seeds, [3, 7], "ascending");
    let first: Vec<(usize, u64, usize)> = s.points().iter().take(5).map(|p| (p.series, p.seed, p.clients)).collect();
    assert_eq!(first, [(0, 3, 3), (0, 3, 12), (0, 7, 3), (0, 7, 12), (1, 3, 3)]);
    assert!(s.summary().contains("2 seeds, at most 20 runs"), "{}", s.summary());
}

#[test]
fn seeds_are_read_as_fault_experiments_read_them() {
    let with = |seeds: &str| FILE.replace("seeds = 2", seeds);
    let err = parsed(&with("seeds = 0")).expect_err("no seed");
    assert_eq!((err.line, err.column), (5, 9), "{err}");
    assert!(err.message.contains("expected at least one seed"), "{err}");
    let err = parsed(&with("seeds = [4, 5, 4]")).expect_err("twice");
    assert!(err.message.contains("seed 4 is listed twice"), "{err}");
    let err = parsed(&with("seeds = \"five\"")).expect_err("not a count");
    assert!(err.message.contains("seed count"), "{err}");
    let err = parsed(&with("seeds = 201")).expect_err("too many runs");
    assert!(err.message.contains("2010 runs (sweep points times seeds): at most 2000"), "{err}");
    assert_eq!(parsed(&with("seeds = [5]")).expect("one seed").seeds, [5]);

    let err = parsed(&with("seed = 1")).expect_err("singular");
    assert_eq!((err.line, err.column), (5, 1), "{err}");
    assert!(err.message.contains("`seed` is not a key: write `seeds = [N]`"), "{err}");
    let err = parsed(&with("")).expect_err("missing");
    assert!(err.message.contains("missing field `seeds`"), "{err}");
}

#[test]
fn the_sqlite_bound_is_one_over_the_cheapest_operation() {
    let s = parsed(FILE).expect("valid");
    // 10 us of CPU per request, half of them writes with a 150 us sync: 85 us per operation.
    assert!((s.sqlite_bound_ops_per_s() - 1e6 / 85.0).abs() < 1e-6);
    assert_eq!(s.single_writer_bound(&s.series[0]), None, "the quorum store has no single writer");
    assert!(s.single_writer_bound(&s.series[4]).is_some());
}

#[test]
fn errors_name_the_line() {
    let bad = FILE.replace("nodes = [3, 5]", "nodes = [3, 11]");
    let err = parsed(&bad).expect_err("11 nodes");
    assert!(err.to_string().starts_with("s.toml:25:23:"), "{err}");
    assert!(err.message.contains("3 to 9 nodes"), "{err}");

    let bad = FILE.replace("measure = \"200ms\"", "measure = \"200ms\"\ntick_us = 100");
    let err = parsed(&bad).expect_err("unknown field");
    assert!(err.message.contains("tick_us"), "{err}");

    let bad = FILE.replace("clients_per_server = [1, 3]", "clients_per_server = [3, 1]");
    let err = parsed(&bad).expect_err("not ascending");
    assert!(err.message.contains("ascending"), "{err}");

    let bad = FILE.replace("measure = \"200ms\"", "measure = \"200ms\"\ntick_ms = 0");
    let err = parsed(&bad).expect_err("zero tick");
    assert!(err.message.contains("tick_ms"), "{err}");

    let bad = FILE.replace("sweep = { nodes", "nodes = 3\nsweep = { nodes");
    let err = parsed(&bad).expect_err("set and swept");
    assert!(err.message.contains("both set and swept"), "{err}");

    let bad = FILE.replace("clients_per_server = [1, 4]\n", "");
    let err = parsed(&bad).expect_err("no clients");
    assert!(err.message.contains("clients_per_server"), "{err}");

    let bad = FILE.replace("client_hosts = 2", "client_hosts = 2\nclients_per_host = 3");
    let err = parsed(&bad).expect_err("per host");
    assert!(err.message.contains("clients_per_host"), "{err}");
}

#[test]
fn a_swept_key_is_validated_by_the_store_at_its_value() {
    let bad = FILE.replace("level = [\"one\", \"all\"]", "level = [\"one\", \"five\"]");
    let err = parsed(&bad).expect_err("unknown level");
    assert_eq!((err.line, err.column), (25, 43), "{err}");
}

#[test]
fn a_sweep_over_disk_profiles_keeps_each_series_disk() {
    let text = FILE.replace(
        "clients_per_server = [1, 3]\n",
        "clients_per_server = [1, 3]\nsweep = { disk = [\"nvme\", \"hdd\"] }\n",
    );
    let s = parsed(&text).expect("valid");
    let names: Vec<&str> = s.series.iter().map(|s| s.name.as_str()).skip(4).collect();
    assert_eq!(names, ["sqlite-nvme", "sqlite-hdd"]);
    let hdd = sim::disk_cost::profile::HDD.cost().expect("valid");
    assert_eq!(s.series[5].disk, Some(hdd));
    assert_eq!(s.series[0].disk, None, "no disk key: [capacity]'s disk");
    // The series' own disk is not replaced by [capacity]'s; the others' is.
    let point = |series| s.points().into_iter().find(|p| p.series == series).expect("a point");
    assert_eq!(s.sim_config(point(5)).capacity.disk, None);
    assert_eq!(s.sim_config(point(0)).capacity.disk, Some(s.disk));
    // The single-writer bound follows the series' disk: an hdd's sync is far slower.
    let (nvme, hdd) = (s.single_writer_bound(&s.series[4]), s.single_writer_bound(&s.series[5]));
    assert!(nvme.zip(hdd).is_some_and(|(n, h)| n > 10.0 * h), "{nvme:?} {hdd:?}");
}

const MIXES: &str = r#"
[mixes]
write-only = { read = 0, write = 1, cas = 0 }
read-heavy = { read = 95, write = 5, cas = 0 }
"#;

/// FILE with [mixes] and the quorum system sweeping `sweep`.
fn with_mixes(sweep: &str) -> String {
    FILE.replace("\n[capacity]", &format!("{MIXES}\n[capacity]"))
        .replace("sweep = { nodes = [3, 5], level = [\"one\", \"all\"] }", sweep)
}

#[test]
fn mixes_and_commit_logs_are_swept_as_series() {
    let text = with_mixes(
        "sweep = { nodes = [3], level = [\"one\"], mix = [\"write-only\", \"read-heavy\"], commitlog = [\"batch\", { periodic = \"10s\" }] }",
    );
    let s = parsed(&text).expect("valid");
    let names: Vec<&str> = s.series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "quorum-3-one-write-only-batch",
            "quorum-3-one-write-only-periodic-10s",
            "quorum-3-one-read-heavy-batch",
            "quorum-3-one-read-heavy-periodic-10s",
            "sqlite"
        ]
    );
    let read_heavy = &s.series[2];
    assert_eq!((read_heavy.mix.as_deref(), read_heavy.commitlog.as_deref()), (Some("read-heavy"), Some("batch")));
    assert_eq!(s.series[1].commitlog.as_deref(), Some("periodic-10s"));
    assert_eq!(read_heavy.mix_of(&*s.workload), sim::OpMix { read: 95, write: 5, cas: 0 });
    assert_eq!(s.series[4].mix_of(&*s.workload), sim::OpMix { read: 1, write: 1, cas: 0 }, "[workload]'s");
    assert_eq!((s.series[4].mix.as_deref(), s.series[4].commitlog.as_deref()), (None, None));
    assert_eq!(s.stability, Stability::DEFAULT, "no [stability]: the defaults");
}

#[test]
fn stability_bounds_are_read_and_checked_where_they_are() {
    let text = FILE.replace("\n[capacity]", "\n[stability]\nwindows = 4\nmax_cv = 0.05\n\n[capacity]");
    let s = parsed(&text).expect("valid");
    assert_eq!(s.stability, Stability { windows: 4, max_cv: 0.05, ..Stability::DEFAULT });
    let at = |table: &str| FILE.replace("\n[capacity]", &format!("\n[stability]\n{table}\n\n[capacity]"));
    let err = parsed(&at("windows = 1")).expect_err("one window");
    assert_eq!((err.line, err.column), (16, 11), "{err}");
    assert!(err.message.contains("2 to 50 sub-windows"), "{err}");
    let err = parsed(&at("max_cv = -0.1")).expect_err("negative");
    assert_eq!((err.line, err.column), (16, 10), "{err}");
    let err = parsed(&at("max_p99_growth = 0.5")).expect_err("below 1");
    assert!(err.message.contains("max_p99_growth = 0.5"), "{err}");
    let err = parsed(&at("max_refused_share = 2.0")).expect_err("above 1");
    assert!(err.message.contains("max_refused_share"), "{err}");
    let err = parsed(&at("max_latency = 3")).expect_err("unknown key");
    assert!(err.message.contains("max_latency"), "{err}");
}

#[test]
fn bad_mixes_are_refused_where_they_are_written() {
    let err = parsed(&with_mixes("sweep = { mix = [\"read-mostly\"] }")).expect_err("unknown mix");
    assert!(err.message.contains("no mix `read-mostly`") && err.message.contains("write-only, read-heavy"), "{err}");
    assert_eq!((err.line, err.column), (29, 18), "{err}");
    let err = parsed(&FILE.replace("sweep = { nodes = [3, 5],", "sweep = { mix = [\"a\"], nodes = [3, 5],"))
        .expect_err("no [mixes]");
    assert!(err.message.contains("no [mixes] table"), "{err}");
    let err = parsed(&with_mixes("sweep = { mix = \"write-only\" }")).expect_err("not a list");
    assert!(err.message.contains("sweep.mix: expected a list"), "{err}");
    let bad = with_mixes("sweep = { mix = [\"write-only\"] }").replace("read = 0, write = 1", "read = 0, write = -1");
    let err = parsed(&bad).expect_err("negative weight");
    assert_eq!((err.line, err.column), (16, 34), "the mix's own line: {err}");
    let bad = with_mixes("sweep = { mix = [\"write-only\"] }").replace("write-only = {", "Write_Only = {");
    let err = parsed(&bad).expect_err("bad name");
    assert!(err.message.contains("lowercase"), "{err}");
    let err = parsed(&with_mixes("mix = \"write-only\"")).expect_err("set in the system");
    assert!(err.message.contains("`mix` is swept"), "{err}");
}
