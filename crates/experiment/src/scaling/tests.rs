use std::path::Path;

use super::*;

const FILE: &str = r#"
kind = "scaling"
name = "tiny"
question = "Does it scale?"
warmup = "100ms"
measure = "200ms"
keys = 100
client_hosts = 2

[capacity]
cpu_per_message_ns = 10000
cpu_per_byte_ns = 2
fsync_us = 150
write_ns_per_kib = 650

[quorum]
nodes = [3, 5]
levels = ["one", "all"]
clients_per_node = [1, 4]

[sqlite]
clients = [1, 3]
"#;

fn parsed(text: &str) -> Result<Scaling, ExperimentError> {
    parse(Path::new("s.toml"), text)
}

#[test]
fn a_grid_becomes_series_and_points() {
    let s = parsed(FILE).expect("valid");
    let names: Vec<&str> = s.series.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["quorum-3-one", "quorum-3-all", "quorum-5-one", "quorum-5-all", "sqlite"]);
    assert_eq!(s.series[2].clients, [5, 20]);
    assert_eq!(s.points().len(), 10);
    assert_eq!(s.cpu.per_message, Duration::from_micros(10));
    assert_eq!(s.disk.per_sync, Duration::from_micros(150));
    assert_eq!(s.mix, OpMix { read: 1, write: 1, cas: 0 });
}

#[test]
fn clients_spread_over_hosts_that_divide_them() {
    let s = parsed(FILE).expect("valid");
    let config = s.sim_config(Point { series: 4, clients: 3 });
    assert_eq!((config.client_hosts, config.clients_per_host), (1, 3));
    let config = s.sim_config(Point { series: 2, clients: 20 });
    assert_eq!((config.client_hosts, config.clients_per_host), (2, 10));
    assert_eq!(config.think_time, Duration::ZERO);
    assert_eq!(config.capacity, s.capacity());
    assert_eq!(config.duration, Duration::from_millis(300));
}

#[test]
fn the_sqlite_bound_is_one_over_the_cheapest_operation() {
    let s = parsed(FILE).expect("valid");
    // 10 us of CPU per request, half of them writes with a 150 us sync: 85 us per operation.
    assert!((s.sqlite_bound_ops_per_s() - 1e6 / 85.0).abs() < 1e-6);
}

#[test]
fn errors_name_the_line() {
    let bad = FILE.replace("nodes = [3, 5]", "nodes = [3, 11]");
    let err = parsed(&bad).expect_err("11 nodes");
    assert_eq!(err.line, 17, "{err}");
    assert!(err.to_string().starts_with("s.toml:17:9:"), "{err}");

    let bad = FILE.replace("keys = 100", "keys = 100\ntick_us = 100");
    let err = parsed(&bad).expect_err("unknown field");
    assert!(err.message.contains("tick_us"), "{err}");

    let bad = FILE.replace("clients = [1, 3]", "clients = [3, 1]");
    let err = parsed(&bad).expect_err("not ascending");
    assert!(err.message.contains("ascending"), "{err}");

    let bad = FILE.replace("client_hosts = 2", "client_hosts = 2\ntick_ms = 0");
    let err = parsed(&bad).expect_err("zero tick");
    assert!(err.message.contains("tick_ms"), "{err}");

    let bad = FILE.replace("kind = \"scaling\"", "kind = \"faults\"");
    assert!(parsed(&bad).is_err());
}
