//! `experiments/repair.toml`: a partition longer than the hint window. Over the file's seeds, the
//! system with Merkle-tree anti-entropy converges in the repair phase, the same system without
//! it never does (its hints expired and it got no new ones), and hints alone converge under the
//! default 3 h window.

use std::path::PathBuf;
use std::time::Duration;

use experiment::{Registry, Script};
use runner::run::measure::measure;
use runner::run::record::Convergence;

#[test]
fn only_anti_entropy_converges_replicas_down_longer_than_the_hint_window() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("experiments/repair.toml");
    let text = std::fs::read_to_string(&path).expect("experiments/repair.toml");
    let Script::Faults(experiment) = experiment::parse(&Registry::standard(), &path, &text).expect("valid") else {
        panic!("a fault experiment");
    };
    let expected = [("quorum-window-2s", false), ("quorum-window-2s-merkle", true), ("quorum-window-3h", true)];
    assert_eq!(experiment.systems.len(), expected.len());
    for (system, (name, converges)) in experiment.systems.iter().zip(expected) {
        assert_eq!(system.name, name);
        for &seed in &experiment.seeds {
            let measured = measure(&experiment, system, seed, Duration::from_secs(10));
            let convergence = measured.record.convergence;
            let converged = matches!(convergence, Convergence::AfterMs(_));
            assert_eq!(converged, converges, "{name}, seed {seed}: {convergence:?}");
            if !converges {
                assert_eq!(convergence, Convergence::Never, "{name}, seed {seed}");
            }
        }
    }
}
