//! A workload from outside the harness: one type implementing [`sim::Workload`], with no edit
//! to sim or to any system. The [`Counter`] increments a shared counter by compare-and-set
//! (read it, then `cas` from what was read to one more, re-reading after a failed compare), a
//! generator driven by what it observes, run against the toy system of `common`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use history::{EventType, Value};
use sim::{Generate, Operation, Reply, Rng, SimConfig, Workload, WorkloadError};

mod common;

use common::Toy;

/// Clients increment one key-less counter, each by read, then compare-and-set to one more.
#[derive(Debug)]
struct Counter {
    /// How often a client reads again although it has a value to increment (per mille): a
    /// parameter, so that the generator draws from its stream.
    reread_permille: u64,
}

impl fmt::Display for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "counter (re-read {}‰)", self.reread_permille)
    }
}

impl Workload for Counter {
    fn validate(&self) -> Result<(), WorkloadError> {
        if self.reread_permille > 1000 {
            return Err(WorkloadError::Parameter {
                parameter: "reread_permille",
                problem: format!("is {}, above 1000", self.reread_permille),
            });
        }
        Ok(())
    }

    fn generator(&self, _client: usize, rng: Rng) -> Box<dyn Generate> {
        Box::new(Increments { rng, reread_permille: self.reread_permille, last: None })
    }

    fn final_reads(&self) -> Vec<Operation> {
        vec![Operation::Read { key: None }]
    }
}

/// One client's increments: `last` is the counter value it last observed, if it knows one.
struct Increments {
    rng: Rng,
    reread_permille: u64,
    last: Option<i64>,
}

impl Generate for Increments {
    fn next(&mut self) -> Operation {
        let reread = self.rng.below(1000) < self.reread_permille;
        match self.last.take() {
            Some(n) if !reread => {
                let expected = if n == 0 { Value::Nil } else { Value::Int(n) };
                Operation::Cas { key: None, expected, new: Value::Int(n + 1) }
            }
            _ => Operation::Read { key: None },
        }
    }

    fn observe(&mut self, operation: &Operation, reply: &Reply) {
        self.last = match (operation, reply) {
            (Operation::Read { .. }, Reply::Ok(Value::Nil)) => Some(0),
            (Operation::Read { .. }, Reply::Ok(Value::Int(n))) => Some(*n),
            (Operation::Cas { new: Value::Int(n), .. }, Reply::Ok(_)) => Some(*n),
            _ => None,
        };
    }
}

fn config(seed: u64) -> SimConfig {
    let mut config = SimConfig::new(seed, Counter { reread_permille: 100 });
    config.duration = Duration::from_secs(2);
    config.client_hosts = 2;
    config.clients_per_host = 3;
    config.op_timeout = Duration::from_millis(500);
    config.settle = Duration::from_secs(1);
    config
}

#[test]
fn a_workload_outside_sim_runs_and_is_judged_by_its_author() {
    let c = config(11);
    let result = sim::run(Toy::new(), &c).expect("runs");
    let history = &result.history;
    let ok_cas = history.iter().filter(|e| e.kind == EventType::Ok && e.f == "cas").count() as i64;
    assert!(ok_cas > 50, "{ok_cas} increments");
    assert!(history.iter().any(|e| e.kind == EventType::Fail && e.f == "cas"), "some compares lose a race");
    // The counter's invariant: it ends at the number of successful increments.
    let last = history.last().expect("events");
    assert_eq!((last.f.as_str(), last.kind, &last.key), ("read", EventType::Ok, &None));
    assert_eq!(last.value, Value::Int(ok_cas));
    let outcome = checker::check_named("cas-register", history, &Default::default()).expect("checkable").outcome;
    assert_eq!(outcome, checker::Outcome::Linearizable);

    // Deterministic like every workload: the same seed, the same history.
    let again = sim::run(Toy::new(), &c).expect("runs");
    assert_eq!(history::jsonl::to_string(history), history::jsonl::to_string(&again.history));
}

#[test]
fn its_validation_is_the_harness_validation() {
    let mut c = config(1);
    c.workload = Arc::new(Counter { reread_permille: 2000 });
    let err = sim::run(Toy::new(), &c).expect_err("invalid");
    assert_eq!(err.to_string(), "invalid configuration: workload: `reread_permille` is 2000, above 1000");
    assert!(c.workload.is::<Counter>());
    assert!(!c.workload.is::<sim::Register>());
}
