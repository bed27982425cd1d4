//! `[capacity]`'s network and admission keys: defaults, values, and refusals at file:line:col.

use super::*;

/// The scaling tests' file: its `[capacity]` table ends on line 19, so a key added after it
/// is on line 20.
use super::tests::{parsed, FILE};

fn with(keys: &str) -> String {
    FILE.replace("write_ns_per_kib = 650\n", &format!("write_ns_per_kib = 650\n{keys}\n"))
}

#[test]
fn absent_keys_take_the_documented_defaults() {
    let s = parsed(FILE).expect("valid");
    assert_eq!(s.network, defaults::network());
    assert_eq!(s.admission, defaults::ADMISSION);
    let capacity = s.capacity();
    assert_eq!((capacity.network, capacity.admission), (Some(defaults::network()), Some(defaults::ADMISSION)));
    assert_eq!(s.sim_config(Point { series: 0, seed: 1, clients: 1 }).capacity, capacity);
}

#[test]
fn keys_set_the_send_cost_the_nic_and_the_bound() {
    let s = parsed(&with(
        "cpu_send_per_message_ns = 7000\ncpu_send_per_byte_ns = 3\nnic_mbit_per_s = 800\nadmission_backlog_ms = 50",
    ))
    .expect("valid");
    assert_eq!(s.network.send, CpuCost { per_message: Duration::from_micros(7), per_byte: Duration::from_nanos(3) });
    assert_eq!(s.network.nic, Some(Nic { bytes_per_sec: 100_000_000 }));
    assert_eq!(s.admission.max_backlog, Some(Duration::from_millis(50)));
    let free = parsed(&with("cpu_send_per_message_ns = 0\ncpu_send_per_byte_ns = 0")).expect("valid");
    assert!(free.network.send.is_free());
}

#[test]
fn bad_values_are_refused_at_their_place() {
    for (keys, what) in [
        ("nic_mbit_per_s = 0", "nic_mbit_per_s"),
        ("nic_mbit_per_s = 2000000", "nic_mbit_per_s"),
        ("admission_backlog_ms = 0", "admission_backlog_ms"),
        ("cpu_send_per_message_ns = 2000000000", "cpu_send_per_message_ns"),
        ("cpu_send_per_byte_ns = 2000000", "cpu_send_per_byte_ns"),
    ] {
        let err = parsed(&with(keys)).expect_err(keys);
        assert!(err.to_string().starts_with("s.toml:20:"), "{keys}: {err}");
        assert!(err.message.contains(what), "{keys}: {err}");
    }
    let err = parsed(&with("nic_gbit = 10")).expect_err("unknown key");
    assert!(err.message.contains("nic_gbit"), "{err}");
    let err = parsed(&with("nic_mbit_per_s = -1")).expect_err("negative");
    assert!(err.to_string().starts_with("s.toml:20:"), "{err}");
}
