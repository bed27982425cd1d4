//! `lab bench txn-checker`: the list-append checker (`checker::txn`) on synthetic histories of
//! 100,000 transactions, timed, with the process's peak memory, against the goals of under
//! 10 s and under 1 GiB; then `lab check --model list-append` as a child process on the clean
//! history written as JSON Lines, at the smallest memory limit and the default, with its peak
//! against the goal of under twice the input plus the limit.
//!
//! The generator runs `processes` clients against an in-memory store of lists: a client
//! invokes a transaction of 1-4 micro-operations (appends of fresh values and reads, keys
//! uniform), later executes it atomically, later completes it `ok`, each step at a random
//! client's turn. Executing inside each transaction's invocation window makes the history
//! strict serializable by construction. The second history injects anomalies: one read in a
//! thousand returns the list without its last element (a stale read).
//!
//! The generator hands each event to the checker's reader as it makes it, as `lab check` reads
//! a file, so the history is never held whole and the peak memory is the checker's. Wall time
//! is measured here, around reading and checking (not generating); it never enters the
//! checker.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use checker::{TxnOptions, TxnOutcome, TxnReport};
use history::{Event, EventType, Process, Value};

use crate::options::BenchTxnArgs;

/// Goal: seconds per check.
const SECONDS_MAX: f64 = 10.0;
/// Goal: peak resident memory, MiB.
const MEMORY_MIB_MAX: f64 = 1024.0;

/// SplitMix64, seeded: the generator's only randomness.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n.max(1) as u64) as usize
    }
}

enum Client {
    Idle,
    Invoked(Vec<(bool, i64, i64)>),
    Executed(Value),
}

fn mop(f: &str, key: i64, value: Value) -> Value {
    Value::List(vec![f.into(), key.into(), value])
}

/// A list-append history of `args.txns` transactions; with `stale_per_mille`, that many reads
/// in a thousand miss the last element.
pub fn generate(args: &BenchTxnArgs, stale_per_mille: usize) -> Vec<Event> {
    let mut events = Vec::with_capacity(args.txns * 2);
    generate_into(args, stale_per_mille, |event| events.push(event));
    events
}

/// [`generate`], each event handed to `sink` as it is made: the history is never held.
pub fn generate_into(args: &BenchTxnArgs, stale_per_mille: usize, mut sink: impl FnMut(Event)) {
    let mut rng = Rng(args.seed);
    let mut lists: Vec<Vec<i64>> = vec![Vec::new(); args.keys.max(1)];
    let mut clients: Vec<Client> = (0..args.processes.max(1)).map(|_| Client::Idle).collect();
    let (mut invoked, mut next_value) = (0, 0i64);
    while invoked < args.txns || clients.iter().any(|c| !matches!(c, Client::Idle)) {
        let p = rng.below(clients.len());
        let process = Process::Client(p as u64);
        clients[p] = match std::mem::replace(&mut clients[p], Client::Idle) {
            Client::Idle if invoked < args.txns => {
                invoked += 1;
                let ops: Vec<(bool, i64, i64)> = (0..1 + rng.below(4))
                    .map(|_| {
                        next_value += 1;
                        (rng.below(2) == 0, rng.below(lists.len()) as i64, next_value)
                    })
                    .collect();
                let value = ops
                    .iter()
                    .map(|&(append, k, v)| if append { mop("append", k, v.into()) } else { mop("r", k, Value::Nil) })
                    .collect();
                sink(Event::new(process, EventType::Invoke, "txn", Value::List(value)));
                Client::Invoked(ops)
            }
            Client::Idle => Client::Idle,
            Client::Invoked(ops) => {
                let value = ops
                    .iter()
                    .map(|&(append, k, v)| {
                        let list = &mut lists[k as usize];
                        if append {
                            list.push(v);
                            return mop("append", k, v.into());
                        }
                        let stale = stale_per_mille > 0 && !list.is_empty() && rng.below(1000) < stale_per_mille;
                        let seen = &list[..list.len() - usize::from(stale)];
                        mop("r", k, Value::List(seen.iter().map(|&x| x.into()).collect()))
                    })
                    .collect();
                Client::Executed(Value::List(value))
            }
            Client::Executed(value) => {
                sink(Event::new(process, EventType::Ok, "txn", value));
                Client::Idle
            }
        };
    }
}

/// The history of [`generate`] read into a [`checker::ListAppendReader`] as it is made, then
/// checked: the report and the seconds spent reading and checking (not generating).
fn check(args: &BenchTxnArgs, stale_per_mille: usize) -> Result<(TxnReport, f64)> {
    let mut reader = checker::ListAppendReader::new();
    let mut reading = Duration::ZERO;
    let mut failed = None;
    generate_into(args, stale_per_mille, |event| {
        let start = Instant::now();
        if let Err(error) = reader.push(&event) {
            failed.get_or_insert(error);
        }
        reading += start.elapsed();
    });
    if let Some(error) = failed {
        return Err(error.into());
    }
    let never = || false;
    let options = TxnOptions { deadline: &never, memory_limit_bytes: 4 << 30, realtime: true };
    let start = Instant::now();
    let report = checker::check_transactions(&reader.finish(), &options)?;
    Ok((report, (reading + start.elapsed()).as_secs_f64()))
}

fn counts(report: &TxnReport) -> String {
    let counts: Vec<String> = report.counts.iter().map(|(class, n)| format!("{class}: {n}")).collect();
    if counts.is_empty() {
        "no anomaly".to_owned()
    } else {
        counts.join(", ")
    }
}

/// Runs `lab bench txn-checker`. Exit status 1 when a goal is not met; an error when the
/// checker's verdict is wrong (valid for the injected history, or invalid for the clean one).
pub fn run(args: &BenchTxnArgs) -> Result<ExitCode> {
    let mut out = crate::output::stdout();
    let shape = format!(
        "{} transactions, {} processes, 1-4 micro-operations (half appends), {} keys uniform, seed {}",
        args.txns, args.processes, args.keys, args.seed
    );
    let mut slowest: f64 = 0.0;
    for (label, stale) in [("strict serializable by construction", 0), ("1 stale read in 1,000 injected", 1)] {
        let (report, seconds) = check(args, stale)?;
        slowest = slowest.max(seconds);
        let strongest = report.strongest.map_or("unknown", |level| level.name());
        writeln!(
            out,
            "{shape}, {label}: {} in {seconds:.2} s; {}; strongest level: {strongest}",
            report.outcome.as_str(),
            counts(&report)
        )?;
        let expected = if stale == 0 { TxnOutcome::Valid } else { TxnOutcome::Invalid };
        if args.txns >= 1000 && report.outcome != expected {
            bail!("the checker's verdict is wrong: expected {}, got {}", expected.as_str(), report.outcome.as_str());
        }
    }
    let in_process = goals(&mut out, slowest, "the history streamed, never held")?;
    // The file is read as a stream: the check holds its transactions, never its events. At
    // the smallest limit the check itself is refused (`unknown`): what is measured then is
    // what reading holds.
    let write = |out: &mut dyn Write| {
        let mut failed = None;
        generate_into(args, 0, |event| {
            if failed.is_none() {
                failed = history::jsonl::write(&mut *out, [&event]).err();
            }
        });
        failed.map_or(Ok(()), Err)
    };
    let label = format!("list-append, {} transactions, {} processes", args.txns, args.processes);
    let verdict = |limit: usize| if limit == 1 { "unknown" } else { "valid" };
    let memory_met =
        crate::register_bench::memory_of_check_on(&mut out, write, &label, "list-append", &[1, 512], verdict)?;
    Ok(if memory_met { in_process } else { ExitCode::from(1) })
}

/// The checker benchmarks' goals (each check under 10 s, the process's peak memory under
/// 1 GiB), printed with the figures: exit status 1 when one is not met.
/// `held` says what the process held besides the checker.
pub(crate) fn goals(out: &mut impl Write, slowest: f64, held: &str) -> Result<ExitCode> {
    let peak = crate::output::peak_memory_mib();
    let met = |ok: bool| if ok { "met" } else { "NOT met" };
    let time_met = slowest < SECONDS_MAX;
    let memory_met = peak.is_none_or(|mib| mib < MEMORY_MIB_MAX);
    match peak {
        Some(mib) => writeln!(out, "peak memory (VmHWM, whole process, {held}): {mib:.0} MiB")?,
        None => writeln!(out, "peak memory: not available on this platform")?,
    }
    writeln!(out, "goal: each check under {SECONDS_MAX:.0} s ({slowest:.2} s): {}", met(time_met))?;
    writeln!(out, "goal: peak memory under 1 GiB: {}", met(memory_met && peak.is_some()))?;
    Ok(if time_met && memory_met { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_deterministic_and_complete() {
        let args = BenchTxnArgs { txns: 300, processes: 5, keys: 10, seed: 7 };
        let a = generate(&args, 0);
        assert_eq!(a, generate(&args, 0));
        assert_eq!(a.len(), 600, "every transaction invoked and completed");
        let (report, _) = check(&args, 0).expect("well-formed");
        assert_eq!(report.outcome, TxnOutcome::Valid, "{:?}", report.anomalies.first());
        let (report, _) = check(&args, 200).expect("well-formed");
        assert_eq!(report.outcome, TxnOutcome::Invalid);
        let events = checker::check_list_append(
            &generate(&args, 200),
            &TxnOptions { deadline: &|| false, memory_limit_bytes: 1 << 30, realtime: true },
        );
        assert_eq!(events.expect("well-formed"), report, "streamed or not, the same report");
    }
}
