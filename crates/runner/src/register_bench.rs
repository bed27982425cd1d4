//! `lab bench register-checker`: the linearizability checker on one long register history
//! (1,000,000 operations by default), sequential (one client) and with concurrent clients,
//! timed, with the process's peak memory, against the goals of under 10 s and under 1 GiB
//! (issue 20). Porcupine, the baseline named in the Makefile, keeps a bitset of every
//! operation per memoised configuration, so its time and memory per step grow with the
//! history's length; the lab's memo keys a configuration by its window (see
//! `checker::search`), whose length follows the concurrency.
//!
//! The generator runs `clients` clients on one register: a client invokes a read or a write
//! (of a fresh value), the operation takes effect at a later random turn, and completes `ok`
//! later still, so the history is linearizable by construction; the second history makes one
//! read in a thousand return a value no one wrote.
//!
//! Then `lab check` itself, as a child process, on the concurrent history written as JSON Lines
//! without times (the densest input the lab reads, 48 bytes an event) under three memo limits,
//! and on the same history as a kv store of short strings under the smallest: its peak memory
//! against the goal of under twice the input plus the memo limit (issue 20). The child reports
//! its own peak (`--json`'s `peak_mib`, the whole process's VmHWM).
//!
//! Wall time is measured here, around the check; it never enters the checker.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use checker::{CheckOptions, Outcome};
use history::{Event, EventType, Process, Value};

use crate::options::BenchRegisterArgs;
use crate::txn_bench::Rng;

enum Client {
    Idle,
    /// Invoked a write of the value, or a read (`None`).
    Invoked(Option<i64>),
    /// Took effect; the value to complete with.
    Done(bool, Value),
}

/// A register history of `ops` operations by `clients` clients; with `bad_per_mille`, that
/// many reads in a thousand return a value no one wrote (-1).
pub fn generate(ops: usize, clients: usize, seed: u64, bad_per_mille: usize) -> Vec<Event> {
    let mut rng = Rng(seed);
    let mut states: Vec<Client> = (0..clients.max(1)).map(|_| Client::Idle).collect();
    // The register starts empty (nil), as the model's initial state.
    let (mut register, mut next) = (Value::Nil, 0i64);
    let (mut invoked, mut events) = (0usize, Vec::with_capacity(ops * 2));
    while invoked < ops || states.iter().any(|c| !matches!(c, Client::Idle)) {
        let p = if states.len() == 1 { 0 } else { rng.below(states.len()) };
        let process = Process::Client(p as u64);
        states[p] = match std::mem::replace(&mut states[p], Client::Idle) {
            Client::Idle if invoked < ops => {
                invoked += 1;
                if rng.below(2) == 0 {
                    next += 1;
                    events.push(Event::new(process, EventType::Invoke, "write", Value::Int(next)));
                    Client::Invoked(Some(next))
                } else {
                    events.push(Event::new(process, EventType::Invoke, "read", Value::Nil));
                    Client::Invoked(None)
                }
            }
            Client::Idle => Client::Idle,
            Client::Invoked(Some(value)) => {
                register = Value::Int(value);
                Client::Done(true, Value::Int(value))
            }
            Client::Invoked(None) => {
                let bad = bad_per_mille > 0 && rng.below(1000) < bad_per_mille;
                Client::Done(false, if bad { Value::Int(-1) } else { register.clone() })
            }
            Client::Done(write, value) => {
                let f = if write { "write" } else { "read" };
                events.push(Event::new(process, EventType::Ok, f, value));
                Client::Idle
            }
        };
    }
    events
}

/// `events` as a `kv` history on one key: reads become gets and writes puts, integers their
/// decimal strings (a kv store of short strings, the kind a kv history holds most).
pub fn as_kv(events: Vec<Event>) -> Vec<Event> {
    events
        .into_iter()
        .map(|mut event| {
            event.f = if event.f == "read" { "get" } else { "put" }.to_owned();
            event.key = Some(Value::Str("k".to_owned()));
            if let Value::Int(n) = event.value {
                event.value = Value::Str(n.to_string());
            }
            event
        })
        .collect()
}

/// The outcome, the seconds it took and the search's work (steps, memo entries and resets).
fn check(events: &[Event]) -> Result<(Outcome, f64, String)> {
    let never = || false;
    let options = CheckOptions { deadline: &never, jobs: 1, memory_limit_bytes: 512 << 20, orders: false };
    let start = Instant::now();
    let verdict = checker::check_named("register", events, &options)?;
    let seconds = start.elapsed().as_secs_f64();
    let stat = |f: fn(&checker::SearchStats) -> u64| verdict.partitions.iter().map(|p| f(&p.stats)).sum::<u64>();
    let work = format!(
        "{} search steps, {} memo entries, {} memo resets",
        stat(|s| s.steps),
        stat(|s| s.memo_entries),
        stat(|s| s.memo_resets)
    );
    Ok((verdict.outcome, seconds, work))
}

/// Memo limits under which `lab check`'s peak memory is measured, in MiB: the smallest, a
/// small one, and the default.
const MEMO_LIMITS_MIB: [usize; 3] = [1, 16, 512];

/// A file removed when dropped.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// `lab check --json --model MODEL --memory-mib MEMORY_MIB FILE` run by `lab` (this binary):
/// its verdict and its peak memory in MiB, as it reports them.
pub fn checked_by_child(lab: &Path, file: &Path, model: &str, memory_mib: usize) -> Result<(String, f64)> {
    let output = std::process::Command::new(lab)
        .args(["check", "--json", "--timeout", "120s", "--model", model, "--memory-mib", &memory_mib.to_string()])
        .arg(file)
        .output()
        .with_context(|| format!("running {}", lab.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let json: serde_json::Value = serde_json::from_str(stdout.trim()).with_context(|| {
        format!("lab check printed no JSON object: {stdout}{}", String::from_utf8_lossy(&output.stderr))
    })?;
    let verdict = json["verdict"].as_str().unwrap_or("error").to_owned();
    let peak = json["peak_mib"].as_f64().context("lab check reported no peak memory (not Linux?)")?;
    Ok((verdict, peak))
}

/// The memory figures: `lab check` on the `clients`-client history as JSON Lines, one line
/// per memo limit, then on the same history as a kv store of short strings. True when every
/// one meets its goal.
fn memory_of_check(out: &mut impl Write, args: &BenchRegisterArgs) -> Result<bool> {
    let mut met = true;
    for kv in [false, true] {
        let events = generate(args.ops, args.clients, args.seed, 0);
        let events = if kv { as_kv(events) } else { events };
        let label = if kv { "kv of short strings" } else { "register" };
        let limits: &[usize] = if kv { &MEMO_LIMITS_MIB[..1] } else { &MEMO_LIMITS_MIB };
        let label = format!("{label}, {} clients", args.clients);
        let model = if kv { "kv" } else { "register" };
        let write = |out: &mut dyn Write| history::jsonl::write(out, &events);
        met &= memory_of_check_on(out, write, &label, model, limits, |_| "linearizable")?;
    }
    Ok(met)
}

/// `lab check --model MODEL` as a child process on the history that `write` writes as JSON
/// Lines, once per memory limit in `limits`: one line each, with the peak against its goal
/// (under twice the input plus the limit). True when every one meets its goal; an error when
/// the verdict at a limit is not `expected(limit)`.
pub(crate) fn memory_of_check_on(
    out: &mut impl Write,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    label: &str,
    model: &str,
    limits: &[usize],
    expected: impl Fn(usize) -> &'static str,
) -> Result<bool> {
    let file = TempFile(std::env::temp_dir().join(format!("lab-checker-bench-{}.jsonl", std::process::id())));
    let mut writer = std::io::BufWriter::new(std::fs::File::create(&file.0).context("creating the history file")?);
    write(&mut writer).and_then(|()| writer.flush()).context("writing the history file")?;
    let input_mib = std::fs::metadata(&file.0)?.len() as f64 / f64::from(1 << 20);
    let lab = std::env::current_exe().context("finding the lab binary")?;
    let mut met = true;
    for &limit in limits {
        let (verdict, peak) = checked_by_child(&lab, &file.0, model, limit)?;
        if verdict != expected(limit) {
            bail!("lab check --memory-mib {limit} on the {label} history said {verdict}, not {}", expected(limit));
        }
        let goal = 2.0 * input_mib + limit as f64;
        met &= peak < goal;
        writeln!(
            out,
            "lab check, {label}, as JSON Lines ({input_mib:.0} MiB), --memory-mib {limit}: \
             peak {peak:.0} MiB (goal: under twice the input plus the limit, {goal:.0} MiB): {}",
            if peak < goal { "met" } else { "NOT met" }
        )?;
    }
    Ok(met)
}

/// Runs `lab bench register-checker`. Exit status 1 when a goal is not met; an error when a
/// verdict is wrong.
pub fn run(args: &BenchRegisterArgs) -> Result<ExitCode> {
    let mut out = crate::output::stdout();
    let mut slowest: f64 = 0.0;
    for clients in [1, args.clients] {
        for (label, bad) in [("linearizable by construction", 0), ("1 read in 1,000 of a value never written", 1)] {
            let events = generate(args.ops, clients, args.seed, bad);
            let (outcome, seconds, work) = check(&events)?;
            drop(events);
            slowest = slowest.max(seconds);
            writeln!(
                out,
                "register, {} operations, {clients} client(s), seed {}, {label}: {outcome} in {seconds:.2} s ({work})",
                args.ops, args.seed
            )?;
            let expected = if bad == 0 { Outcome::Linearizable } else { Outcome::NotLinearizable };
            if args.ops >= 10_000 && outcome != expected {
                bail!("the checker's verdict is wrong: expected {expected}, got {outcome}");
            }
        }
    }
    let in_process = crate::txn_bench::goals(&mut out, slowest, "generator included")?;
    let memory_met = memory_of_check(&mut out, args)?;
    Ok(if memory_met { in_process } else { ExitCode::from(1) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_deterministic_and_its_verdicts_are_known() {
        for clients in [1, 10] {
            let a = generate(2_000, clients, 7, 0);
            assert_eq!(a, generate(2_000, clients, 7, 0));
            assert_eq!(a.len(), 4_000, "every operation invoked and completed");
            assert_eq!(check(&a).expect("well-formed").0, Outcome::Linearizable, "{clients} clients");
            let bad = generate(2_000, clients, 7, 50);
            assert_eq!(check(&bad).expect("well-formed").0, Outcome::NotLinearizable, "{clients} clients");
        }
    }
}
