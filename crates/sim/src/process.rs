//! Jepsen-style client processes: the loop each logical client runs inside its client host,
//! and the final reads after the quiet period (whatever the workload's
//! [`final_reads`](crate::Workload::final_reads) are: the set, the register, or every key).
//!
//! One operation: record `invoke`, call the system under the operation timeout, record the
//! completion. The mapping (Jepsen's):
//!
//! | outcome                                      | recorded | value              | then                               |
//! |----------------------------------------------|----------|--------------------|------------------------------------|
//! | `Ok(Reply::Ok(v))`                           | `ok`     | `v`                | think (`think_time`)               |
//! | `Ok(Reply::Fail(_))`                         | `fail`   | invocation's value | back off (`backoff`)               |
//! | `Err(CallError::NotSent(_))`                 | `fail`   | invocation's value | reset, back off (`backoff`)        |
//! | `Err(CallError::Indeterminate(_))`, timeout  | `info`   | invocation's value | reset, back off (`backoff`), retire |
//!
//! (The invocation's value is [`Operation::value`], its history encoding.)
//!
//! The pause after every outcome that is not `ok` is the same back-off,
//! `max(think_time, backoff)` ([`SimConfig::backoff`](crate::SimConfig::backoff)), measured from
//! the operation's completion: a system that refuses at once and one that times out leave their
//! clients idle for the same time after each failed attempt, so neither is made to attempt (and
//! fail) more operations per second of outage than the other. A timeout has cost its operation
//! timeout before that; time-availability (the runner's `client_time`) does not count attempts.
//!
//! A retired process id is never used again: logical client `c` of `n` continues as process
//! `c + n`, then `c + 2n`, ... so the checker may leave the indeterminate operation open
//! forever without blocking the client's later operations.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use history::EventType;

use crate::record::{now, Recorder};
use crate::rng::Rng;
use crate::system::{CallError, Client, Operation, Reply, System};
use crate::workload::Workload;

/// What every process of a run needs to know.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) seed: u64,
    pub(crate) workload: Arc<dyn Workload>,
    pub(crate) clients_per_host: usize,
    pub(crate) total_clients: usize,
    pub(crate) duration: Duration,
    pub(crate) op_timeout: Duration,
    pub(crate) think_time: Duration,
    pub(crate) backoff: Duration,
    pub(crate) settle: Duration,
    pub(crate) final_read_attempts: u32,
    pub(crate) tick: Duration,
}

/// How one operation ended, as the process loop acts on it.
enum Outcome {
    /// A definite reply (`ok` or `fail` recorded).
    Replied(Reply),
    /// `fail` recorded: the request never left; the connection must be reset.
    NotSent,
    /// `info` recorded: the outcome is unknown; reset and retire the process.
    Unknown,
}

/// Records and performs one operation of `process`.
async fn perform<C: Client>(
    client: &mut C,
    process: u64,
    operation: &Operation,
    recorder: &Recorder,
    timeout: Duration,
) -> Outcome {
    recorder.invoke(process, operation);
    let result = crate::time::timeout(timeout, client.call(operation)).await;
    let (kind, value, outcome) = match result {
        Ok(Ok(Reply::Ok(value))) => (EventType::Ok, value.clone(), Outcome::Replied(Reply::Ok(value))),
        Ok(Ok(Reply::Fail(why))) => (EventType::Fail, operation.value(), Outcome::Replied(Reply::Fail(why))),
        Ok(Err(CallError::NotSent(_))) => (EventType::Fail, operation.value(), Outcome::NotSent),
        Ok(Err(CallError::Indeterminate(_))) | Err(_) => (EventType::Info, operation.value(), Outcome::Unknown),
    };
    recorder.complete(process, kind, operation, value);
    outcome
}

/// Sleeps `pause`, or one tick when the last operation took no simulated time at all: a task
/// that never lets time pass would keep turmoil's step from ending.
async fn pause(pause: Duration, started: Duration, tick: Duration) {
    let pause = if now() == started { pause.max(tick) } else { pause };
    if !pause.is_zero() {
        crate::time::sleep(pause).await;
    }
}

/// The loop of logical client `client`: operations until `plan.duration`.
async fn run_process<C: Client>(mut client: C, client_index: usize, plan: Rc<Plan>, recorder: Recorder) {
    let rng = Rng::stream(plan.seed, client_index as u64);
    let mut generator = plan.workload.generator(client_index, rng);
    let mut process = client_index as u64;
    // The same pause after every outcome that is not `ok` (the module's table).
    let backoff = plan.think_time.max(plan.backoff);
    while now() < plan.duration {
        let operation = generator.next();
        let started = now();
        let outcome = perform(&mut client, process, &operation, &recorder, plan.op_timeout).await;
        let wait = match outcome {
            Outcome::Replied(reply) => {
                let wait = if matches!(reply, Reply::Ok(_)) { plan.think_time } else { backoff };
                generator.observe(&operation, &reply);
                wait
            }
            Outcome::NotSent => {
                client.reset();
                backoff
            }
            Outcome::Unknown => {
                client.reset();
                process += plan.total_clients as u64;
                recorder.assign(process);
                backoff
            }
        };
        pause(wait, started, plan.tick).await;
    }
}

/// One final read after `duration + settle` (one of the workload's
/// [`final_reads`](Workload::final_reads): of the whole set, of the register, or of one key of a
/// kv workload). Retried (every attempt recorded, a fresh process after an indeterminate one)
/// until one is `ok` or the attempts run out.
///
/// Its process ids are above every id assigned so far, including the ids retired processes
/// would continue as; no regular process invokes after `duration`, so none can collide.
async fn final_read<C: Client>(mut client: C, operation: Operation, plan: Rc<Plan>, recorder: Recorder) {
    let start = plan.duration.saturating_add(plan.settle);
    crate::time::sleep_until(start).await;
    let mut process = recorder.fresh_process();
    for _ in 0..plan.final_read_attempts {
        let started = now();
        match perform(&mut client, process, &operation, &recorder, plan.op_timeout).await {
            Outcome::Replied(Reply::Ok(_)) => return,
            Outcome::Replied(Reply::Fail(_)) => {}
            Outcome::NotSent => client.reset(),
            Outcome::Unknown => {
                client.reset();
                process = recorder.fresh_process();
            }
        }
        pause(plan.backoff, started, plan.tick).await;
    }
}

/// The software of client host number `host`: its `clients_per_host` processes as local
/// tasks (plus, on host 0, the final readers). Ends when all of them end.
pub(crate) async fn client_host<S: System>(
    system: Rc<S>,
    host: usize,
    plan: Rc<Plan>,
    recorder: Recorder,
) -> turmoil::Result {
    let first = host * plan.clients_per_host;
    let mut tasks = Vec::with_capacity(plan.clients_per_host + 1);
    for index in first..first + plan.clients_per_host {
        let client = system.client(index);
        tasks.push(tokio::task::spawn_local(run_process(client, index, plan.clone(), recorder.clone())));
    }
    if host == 0 {
        // One client index past the processes' own: fresh connections for the final reads, one
        // per read, all at once (so that many keys do not lengthen the run).
        for operation in plan.workload.final_reads() {
            let client = system.client(plan.total_clients);
            tasks.push(tokio::task::spawn_local(final_read(client, operation, plan.clone(), recorder.clone())));
        }
    }
    for task in tasks {
        task.await?;
    }
    if host == 0 {
        // The quiet period: the run goes on until `duration + settle` for every workload, so
        // that replicas can converge (and be watched converging) with no client writing.
        let end = plan.duration.saturating_add(plan.settle);
        crate::time::sleep_until(end).await;
    }
    Ok(())
}
