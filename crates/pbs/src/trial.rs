//! PBS trials on the store's own nodes: write a fresh key, wait `t` after the acknowledgement,
//! read it, and count the reads that returned the write.
//!
//! The cluster has N + 1 nodes with N replicas per key, so every key has exactly one node that
//! is not its replica; that node coordinates both the write and the read (with the client
//! beside it), as the WARS model's coordinator holds no copy. Read repair, hinted handoff and
//! anti-entropy are off: only the write's own messages propagate it. Every trial uses a new key
//! and starts once the previous trial's messages have all arrived, so trials are independent.
//! Each `t` gets its own trials and its own random stream.

use std::time::Duration;

use base::Rng;
use history::Value;
use quorum_core::{Hints, Level, Mode, NodeConfig, NodeError, Op, ReadRepair, Request, Ring};
use serde::Serialize;

use crate::delay::{DelayError, Wars};
use crate::network::Network;
use crate::wars::Quorums;

/// What to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialConfig {
    /// N, R and W.
    pub quorums: Quorums,
    /// Message delays.
    pub delays: Wars,
    /// The waits between a write's acknowledgement and the read, one measurement each.
    pub waits: Vec<Duration>,
    /// Trials per wait.
    pub trials: u64,
    /// Seeds every random stream.
    pub seed: u64,
}

/// Most trials per wait.
pub const MAX_TRIALS: u64 = 10_000_000;

/// The outcome for one wait.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Measurement {
    /// The wait after the acknowledgement.
    #[serde(serialize_with = "as_ms")]
    pub wait: Duration,
    /// Trials run.
    pub trials: u64,
    /// Reads that returned the trial's write.
    pub fresh: u64,
    /// Messages the trials sent (writes, acknowledgements, reads, answers).
    pub messages: u64,
}

fn as_ms<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

impl Measurement {
    /// The share of reads that returned the write.
    pub fn probability(&self) -> f64 {
        self.fresh as f64 / self.trials.max(1) as f64
    }

    /// The 95 % Wilson score interval of [`Measurement::probability`].
    pub fn interval95(&self) -> (f64, f64) {
        let n = self.trials.max(1) as f64;
        let p = self.probability();
        let z = 1.96f64;
        let centre = (p + z * z / (2.0 * n)) / (1.0 + z * z / n);
        let half = z / (1.0 + z * z / n) * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
        ((centre - half).max(0.0), (centre + half).min(1.0))
    }
}

/// Why trials could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrialError {
    /// R or W outside 1..=N.
    #[error("{0}: R and W must be between 1 and N")]
    Quorums(Quorums),
    /// Too many replicas for the store.
    #[error("N = {0}: at most {max} replicas", max = quorum_core::config::MAX_NODES - 1)]
    TooManyReplicas(usize),
    /// A delay that cannot be sampled.
    #[error("bad delay: {0}")]
    Delay(#[from] DelayError),
    /// No trials, or too many.
    #[error("{0} trials per wait: expected 1 to {MAX_TRIALS}")]
    Trials(u64),
    /// The store refused the configuration.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// A request got no reply (a bug: nothing can fail on this network).
    #[error("trial {trial}: the {what} got no reply")]
    NoReply {
        /// The trial.
        trial: u64,
        /// "write" or "read".
        what: &'static str,
    },
    /// A request failed or returned something no trial wrote (a bug).
    #[error("trial {trial}: the {what} answered {answer}")]
    Unexpected {
        /// The trial.
        trial: u64,
        /// "write" or "read".
        what: &'static str,
        /// The answer, printed.
        answer: String,
    },
}

/// Runs `config.trials` trials for every wait of `config`, in order.
pub fn measure(config: &TrialConfig) -> Result<Vec<Measurement>, TrialError> {
    let Quorums { n, r, w } = config.quorums;
    if !config.quorums.valid() {
        return Err(TrialError::Quorums(config.quorums));
    }
    if n + 1 > quorum_core::config::MAX_NODES {
        return Err(TrialError::TooManyReplicas(n));
    }
    config.delays.validate()?;
    if config.trials == 0 || config.trials > MAX_TRIALS {
        return Err(TrialError::Trials(config.trials));
    }
    let ids: Vec<u32> = (1..=u32::try_from(n + 1).unwrap_or(u32::MAX)).collect();
    let node_config = |id: u32| {
        let mut c = NodeConfig::new(id, ids.clone());
        c.replication = n;
        c.read = Level::Count(r);
        c.write = Level::Count(w);
        c.read_repair = ReadRepair::Off;
        c.hints = Hints::Off;
        c.anti_entropy = None;
        c.mode = Mode::Lww;
        // WARS (Bailis et al.) models Dynamo-style reads: every replica is asked, the first R
        // answers decide.
        c.read_path = quorum_core::ReadPath::AllReplicas;
        c
    };
    let ring = Ring::new(&ids, node_config(1).vnodes);
    let mut out = Vec::with_capacity(config.waits.len());
    for (index, &wait) in config.waits.iter().enumerate() {
        let rng = Rng::stream(config.seed, index as u64);
        let mut net = Network::new(ids.iter().map(|&id| node_config(id)).collect(), config.delays, rng)?;
        let mut fresh = 0;
        for trial in 0..config.trials {
            let key = format!("pbs-{trial}");
            let replicas = ring.preference_list(&key, n);
            let coordinator = ids.iter().copied().find(|id| !replicas.contains(id)).unwrap_or(ids[0]);
            let value = Value::Int(i64::try_from(trial).unwrap_or(i64::MAX));
            let (write_conn, read_conn) = (2 * trial, 2 * trial + 1);
            let put = Request {
                id: write_conn,
                op: Op::Put { key: key.clone(), value: value.clone() },
                read: None,
                write: None,
            };
            net.request(coordinator, write_conn, put);
            let (acked, reply) = net.run_until_reply(write_conn).ok_or(TrialError::NoReply { trial, what: "write" })?;
            if reply.result.is_err() {
                return Err(TrialError::Unexpected { trial, what: "write", answer: format!("{:?}", reply.result) });
            }
            net.run_until(acked.saturating_add(u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX)));
            let get = Request { id: read_conn, op: Op::Get { key }, read: None, write: None };
            net.request(coordinator, read_conn, get);
            let (_, reply) = net.run_until_reply(read_conn).ok_or(TrialError::NoReply { trial, what: "read" })?;
            match reply.result {
                Ok(read) if read == value => fresh += 1,
                Ok(Value::Nil) => {}
                other => return Err(TrialError::Unexpected { trial, what: "read", answer: format!("{other:?}") }),
            }
            net.drain();
        }
        out.push(Measurement { wait, trials: config.trials, fresh, messages: net.messages() });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delay::Delay;
    use crate::wars::{miss_probability, predict};

    fn config(n: usize, r: usize, w: usize, delays: Wars, waits_ms: &[u64], trials: u64) -> TrialConfig {
        TrialConfig {
            quorums: Quorums { n, r, w },
            delays,
            waits: waits_ms.iter().map(|&ms| Duration::from_millis(ms)).collect(),
            trials,
            seed: 1,
        }
    }

    fn exp_ms(ms: u64) -> Delay {
        Delay::exponential(Duration::from_millis(ms))
    }

    #[test]
    fn strict_quorums_always_read_the_write() {
        let delays = Wars::uniform(exp_ms(1));
        for (n, r, w) in [(3, 2, 2), (3, 1, 3), (3, 3, 1)] {
            let m = measure(&config(n, r, w, delays, &[0], 2_000)).expect("runs");
            assert_eq!(m[0].fresh, 2_000, "N={n} R={r} W={w}");
        }
    }

    #[test]
    fn nothing_propagated_misses_as_the_closed_form_says() {
        // Writes crawl, everything else is instant: at t = 0 the read quorum is a uniform pick.
        let delays = Wars {
            write: Delay::exponential(Duration::from_secs(1)),
            ack: Delay::exponential(Duration::from_micros(1)),
            read: Delay::exponential(Duration::from_micros(1)),
            response: Delay::exponential(Duration::from_micros(1)),
        };
        let m = measure(&config(3, 1, 1, delays, &[0], 10_000)).expect("runs");
        let stale = 1.0 - m[0].probability();
        assert!((stale - 2.0 / 3.0).abs() < 0.03, "stale {stale}");
        assert!((stale - miss_probability(Quorums { n: 3, r: 1, w: 1 })).abs() < 0.03);
    }

    #[test]
    fn measured_agrees_with_the_model() {
        let delays = Wars::uniform(exp_ms(1));
        for (n, r, w) in [(3, 1, 1), (3, 1, 2), (3, 2, 1), (5, 1, 1)] {
            let m = measure(&config(n, r, w, delays, &[0, 1], 5_000)).expect("runs");
            for point in &m {
                let model = predict(Quorums { n, r, w }, &delays, point.wait, 100_000, 5);
                let diff = (point.probability() - model).abs();
                assert!(diff < 0.03, "N={n} R={r} W={w} t={:?}: {} vs {model}", point.wait, point.probability());
            }
        }
    }

    #[test]
    fn same_seed_same_figures() {
        let c = config(3, 1, 1, Wars::uniform(exp_ms(2)), &[0, 3], 500);
        assert_eq!(measure(&c).expect("runs"), measure(&c).expect("runs"));
    }

    #[test]
    fn bad_configurations_are_errors() {
        let delays = Wars::uniform(exp_ms(1));
        assert!(matches!(measure(&config(3, 0, 1, delays, &[0], 10)), Err(TrialError::Quorums(_))));
        assert!(matches!(measure(&config(3, 1, 4, delays, &[0], 10)), Err(TrialError::Quorums(_))));
        assert!(matches!(measure(&config(3, 1, 1, delays, &[0], 0)), Err(TrialError::Trials(0))));
        assert!(matches!(measure(&config(64, 1, 1, delays, &[0], 1)), Err(TrialError::TooManyReplicas(64))));
        let zero = Wars::uniform(Delay::exponential(Duration::ZERO));
        assert!(matches!(measure(&config(3, 1, 1, zero, &[0], 1)), Err(TrialError::Delay(_))));
    }

    #[test]
    fn interval_contains_the_estimate() {
        let m = Measurement { wait: Duration::ZERO, trials: 10_000, fresh: 3_333, messages: 0 };
        let (lo, hi) = m.interval95();
        assert!(lo < 0.3333 && 0.3333 < hi && hi - lo < 0.02, "{lo} {hi}");
    }
}
