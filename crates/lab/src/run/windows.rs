//! Fault windows: when some fault was in effect. (Temporary local replay until the harness
//! exports its own.)

use std::collections::BTreeSet;
use std::time::Duration;

use sim::Fault;

/// The maximal intervals `[start, end)` during which some fault was in effect.
pub fn fault_windows(applied: &[(Duration, Fault)]) -> Vec<(Duration, Duration)> {
    let mut cut = false;
    let mut crashed: BTreeSet<&str> = BTreeSet::new();
    let mut skewed: BTreeSet<&str> = BTreeSet::new();
    let mut windows = Vec::new();
    let mut open: Option<Duration> = None;
    for (at, fault) in applied {
        match fault {
            Fault::Partition { .. } => cut = true,
            Fault::Heal => cut = false,
            Fault::Crash(h) => {
                crashed.insert(h);
            }
            Fault::Restart(h) => {
                crashed.remove(h.as_str());
            }
            Fault::Skew { host, offset_ms } => {
                if *offset_ms == 0 {
                    skewed.remove(host.as_str());
                } else {
                    skewed.insert(host);
                }
            }
        }
        let active = cut || !crashed.is_empty() || !skewed.is_empty();
        match (active, open) {
            (true, None) => open = Some(*at),
            (false, Some(start)) => {
                if *at > start {
                    windows.push((start, *at));
                }
                open = None;
            }
            _ => {}
        }
    }
    if let Some(start) = open {
        windows.push((start, Duration::MAX));
    }
    windows
}
