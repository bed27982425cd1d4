//! `checker::staleness` against a brute-force O(n^2) reading of the same definitions on random
//! interleavings, and against the linearizability checker: a stale read or a lost write found
//! in a simulated register history means the history is not linearizable.

use std::collections::{BTreeMap, BTreeSet};

use checker::staleness::{analyze, LostWrite, StaleRead, Staleness};
use checker::{check_named, CheckOptions, Outcome};
use history::{Event, EventType, Process, Value};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// The oracle: every definition of the module doc, read literally, one pair of operations at a
// time.

/// One client operation: its invocation and, when it had one, its completion event.
struct Op {
    call: usize,
    end: Option<usize>,
}

fn brute_force(events: &[Event]) -> Staleness {
    let timed = events.iter().filter(|e| matches!(e.process, Process::Client(_))).all(|e| e.time.is_some());
    let at = |i: usize| match (timed, events[i].time) {
        (true, Some(t)) => 2 * t + u64::from(events[i].kind != EventType::Invoke),
        _ => i as u64,
    };
    let mut pending: BTreeMap<u64, usize> = BTreeMap::new();
    let mut ops = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let Process::Client(p) = event.process else { continue };
        if event.kind == EventType::Invoke {
            if let Some(old) = pending.insert(p, i) {
                ops.push(Op { call: old, end: None });
            }
        } else if let Some(call) = pending.remove(&p) {
            ops.push(Op { call, end: Some(i) });
        }
    }
    ops.extend(pending.into_values().map(|call| Op { call, end: None }));
    ops.retain(|op| matches!(events[op.call].f.as_str(), "read" | "write" | "cas"));

    let kind = |op: &Op| op.end.map(|e| events[e].kind);
    let written = |op: &Op| -> Option<Value> {
        let call = &events[op.call];
        match (call.f.as_str(), call.value.as_list()) {
            ("write", _) => Some(call.value.clone()),
            ("cas", Some([_, new])) => Some(new.clone()),
            _ => None,
        }
    };
    let is_read = |op: &Op| events[op.call].f == "read";
    let acked = |op: &Op| written(op).is_some() && kind(op) == Some(EventType::Ok);
    let precedes = |a: &Op, b: &Op| a.end.is_some_and(|e| at(e) < at(b.call));

    let mut result = Staleness::default();
    let keys: BTreeSet<Option<Value>> = ops.iter().map(|op| events[op.call].key.clone()).collect();
    for key in keys {
        let ops: Vec<&Op> = ops.iter().filter(|op| events[op.call].key == key).collect();
        // The writers of x that did not fail.
        let writers = |x: &Value| -> Vec<&Op> {
            ops.iter()
                .copied()
                .filter(|op| kind(op) != Some(EventType::Fail) && written(op).as_ref() == Some(x))
                .collect()
        };
        // w certainly took effect after x was written.
        let certainly_after = |w: &Op, x: &Value| match (x.is_nil(), writers(x).as_slice()) {
            (true, []) => true,
            (false, [wx]) => kind(wx) == Some(EventType::Ok) && precedes(wx, w),
            _ => false,
        };
        let values: BTreeSet<Value> =
            ops.iter().filter(|op| kind(op) != Some(EventType::Fail)).filter_map(|op| written(op)).collect();
        result.duplicate_values += values.iter().filter(|v| v.is_nil() || writers(v).len() > 1).count();
        result.acknowledged_writes += ops.iter().filter(|op| acked(op)).count();
        let reads: Vec<&Op> = ops.iter().copied().filter(|op| is_read(op) && kind(op) == Some(EventType::Ok)).collect();
        result.reads += reads.len();
        for r in &reads {
            let Some(read_event) = r.end else { continue };
            let x = &events[read_event].value;
            result.phantom_reads += usize::from(!x.is_nil() && writers(x).is_empty());
            let missed = ops
                .iter()
                .filter(|w| acked(w) && precedes(w, r) && certainly_after(w, x))
                .filter_map(|w| w.end.map(|e| (at(e), e)))
                .max();
            if let Some((_, missed_write_event)) = missed {
                result.stale_reads.push(StaleRead {
                    key: key.clone(),
                    read_event,
                    value: x.clone(),
                    missed_write_event,
                });
            }
        }
        let finals: Vec<&&Op> =
            reads.iter().filter(|r| ops.iter().filter(|o| o.call != r.call).all(|o| precedes(o, r))).collect();
        assert!(finals.len() <= 1, "two final reads of one key");
        let Some(Some(final_event)) = finals.first().map(|r| r.end) else {
            result.unjudged_keys += usize::from(ops.iter().any(|op| acked(op)));
            continue;
        };
        result.final_reads += 1;
        let x = &events[final_event].value;
        for w in ops.iter().filter(|w| acked(w) && certainly_after(w, x)) {
            let value = written(w).unwrap_or_default();
            result.lost_writes.push(LostWrite { key: key.clone(), write_event: w.call, value, final_value: x.clone() });
        }
    }
    result.stale_reads.sort_by_key(|s| s.read_event);
    result.lost_writes.sort_by_key(|l| l.write_event);
    result
}

// ---------------------------------------------------------------------------------------------
// Random interleavings: any order of invoke/ok/fail/info, values sometimes repeated, phantom or
// nil, stray completions and replaced invocations, nemesis events, times with ties and listed
// out of order.

/// One step: which process, what it does, on which key, which value, how much time passes
/// (and how far the event's time strays ahead).
type Step = (u8, u8, u8, u8, u8);

/// A value to read or compare with: `nil`, one nobody writes, or one tried before.
fn old(tried: &[Value], pick: u8) -> Value {
    match pick % 8 {
        0 => Value::Nil,
        1 => Value::Int(1000 + i64::from(pick)),
        _ if tried.is_empty() => Value::Nil,
        _ => tried[usize::from(pick) % tried.len()].clone(),
    }
}

fn interleaving(steps: &[Step], timed: bool, untimed_event: Option<usize>, tail: Option<[u8; 3]>) -> Vec<Event> {
    let keys = [None, Some(Value::Int(0)), Some(Value::Int(1))];
    let mut pending: BTreeMap<u64, Event> = BTreeMap::new();
    let mut tried: Vec<Value> = Vec::new();
    let mut events = Vec::new();
    let mut time = 0u64;
    for (n, &(process, action, key, pick, delta)) in steps.iter().enumerate() {
        let process = u64::from(process % 4);
        time += u64::from(delta % 3);
        let mut event = match (pending.get(&process), action % 16) {
            (_, 15) => Event::new(Process::Named("nemesis".into()), EventType::Info, "write", old(&tried, pick)),
            (None, 14) => Event::new(Process::Client(process), EventType::Ok, "read", old(&tried, pick)),
            (Some(call), a) if a != 13 => {
                let kind = [EventType::Ok, EventType::Fail, EventType::Info][usize::from(a % 3)];
                let value = if call.f == "read" { old(&tried, pick) } else { call.value.clone() };
                Event { kind, value, time: None, ..call.clone() }
            }
            _ => {
                let fresh = if pick < 12 { old(&tried, pick) } else { Value::Int(n as i64 + 1) };
                tried.push(fresh.clone());
                let (f, value) = match action % 3 {
                    0 => ("read", Value::Nil),
                    1 => ("write", fresh),
                    _ => ("cas", Value::List(vec![old(&tried, pick / 8), fresh])),
                };
                let mut call = Event::new(Process::Client(process), EventType::Invoke, f, value);
                call.key = keys[usize::from(key % 3)].clone();
                call
            }
        };
        if let Process::Client(_) = event.process {
            // Jitter lists events out of time order; a completion is never before its call.
            let called = pending.get(&process).and_then(|call| call.time).filter(|_| event.kind != EventType::Invoke);
            let at = (time + u64::from(delta / 3 % 4)).max(called.unwrap_or(0));
            event.time = (timed && untimed_event != Some(n)).then_some(at);
            if event.kind == EventType::Invoke {
                pending.insert(process, event.clone());
            } else {
                pending.remove(&process);
            }
        }
        events.push(event);
    }
    // A quiet end: what is pending completes, then one read per key, so that final reads
    // (and lost writes) are common.
    if let Some(picks) = tail {
        time += 4;
        let mut completions: Vec<Event> = std::mem::take(&mut pending)
            .into_iter()
            .map(|(process, call)| {
                let kind = [EventType::Ok, EventType::Fail, EventType::Info][(process % 3) as usize];
                let value = if call.f == "read" { Value::Nil } else { call.value.clone() };
                Event { kind, value, time: timed.then_some(time), ..call }
            })
            .collect();
        // One more write, timed before the final reads (and listed after them, below).
        for kind in [EventType::Invoke, EventType::Ok] {
            let mut write = Event::new(Process::Client(8), kind, "write", Value::Int(5000));
            (write.key, write.time) = (keys[usize::from(picks[1] % 3)].clone(), timed.then_some(time));
            completions.push(write);
        }
        let mut reads = Vec::new();
        for (key, pick) in keys.into_iter().zip(picks) {
            for kind in [EventType::Invoke, EventType::Ok] {
                time += 1;
                let value = if kind == EventType::Ok { old(&tried, pick) } else { Value::Nil };
                let mut read = Event::new(Process::Client(9), kind, "read", value);
                (read.key, read.time) = (key.clone(), timed.then_some(time));
                reads.push(read);
            }
        }
        // Sometimes listed after the reads, as in a history merged from several hosts.
        if picks[0] % 2 == 1 {
            std::mem::swap(&mut completions, &mut reads);
        }
        events.extend(completions.into_iter().chain(reads));
    }
    events
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn analyze_agrees_with_the_brute_force_reading_of_the_definitions(
        steps in prop::collection::vec(any::<Step>(), 0..80),
        timed in any::<bool>(),
        untimed_event in prop::option::weighted(0.1, 0usize..80),
        tail in prop::option::of(any::<[u8; 3]>()),
    ) {
        let events = interleaving(&steps, timed, untimed_event, tail);
        prop_assert_eq!(analyze(&events), brute_force(&events));
    }
}

// ---------------------------------------------------------------------------------------------
// The meaning: simulated registers whose operations take effect between invocation and
// completion, except that reads occasionally return an older value and acknowledged writes
// are occasionally dropped.

/// SplitMix64: the simulator's choices, from one seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, per_mille: u64) -> bool {
        self.next() % 1000 < per_mille
    }
}

/// Where a simulated client is in its current operation.
enum Phase {
    Idle,
    Invoked(Event),
    /// Took effect (or was dropped) with this completion.
    Applied(Event),
}

struct Registers {
    rng: Rng,
    /// Every value each key has held, the current one last.
    versions: Vec<Vec<Value>>,
    events: Vec<Event>,
    clock: u64,
    faults_per_mille: u64,
    /// Whether a fault was injected (a stale read or a dropped acknowledged write).
    faulty: bool,
}

impl Registers {
    fn key(index: usize) -> Option<Value> {
        (index > 0).then_some(Value::Int(index as i64))
    }

    /// Records an event at the next tick; every tick, recorded or not, is a distinct instant.
    fn record(&mut self, mut event: Event) {
        self.clock += 1;
        event.time = Some(self.clock);
        self.events.push(event);
    }

    fn invoke(&mut self, process: u64, fresh: i64) -> Event {
        let key = self.rng.below(self.versions.len());
        let versions = &self.versions[key];
        let (f, value) = match self.rng.below(10) {
            0..=3 => ("read", Value::Nil),
            4..=6 => ("write", Value::Int(fresh)),
            _ => {
                let expected = if self.rng.chance(600) { versions.len() - 1 } else { self.rng.below(versions.len()) };
                ("cas", Value::List(vec![versions[expected].clone(), Value::Int(fresh)]))
            }
        };
        let mut call = Event::new(Process::Client(process), EventType::Invoke, f, value);
        call.key = Self::key(key);
        self.record(call.clone());
        call
    }

    /// Takes effect: the completion the client will report.
    fn apply(&mut self, call: &Event) -> Event {
        self.clock += 1;
        let key = call.key.as_ref().and_then(Value::as_int).map_or(0, |k| k as usize);
        let fault = self.rng.chance(self.faults_per_mille);
        let versions = &mut self.versions[key];
        let current = versions.last().cloned().unwrap_or_default();
        let (kind, value) = match (call.f.as_str(), call.value.as_list()) {
            ("read", _) if fault => {
                let old = versions[self.rng.below(versions.len())].clone();
                self.faulty |= old != current;
                (EventType::Ok, old)
            }
            ("read", _) => (EventType::Ok, current),
            ("write", _) if fault => {
                self.faulty = true;
                (EventType::Ok, call.value.clone())
            }
            ("write", _) => {
                versions.push(call.value.clone());
                (EventType::Ok, call.value.clone())
            }
            (_, Some([expected, new])) if *expected == current => {
                versions.push(new.clone());
                (EventType::Ok, call.value.clone())
            }
            _ => (EventType::Fail, call.value.clone()),
        };
        Event { kind, value, time: None, ..call.clone() }
    }

    fn complete(&mut self, mut done: Event) {
        if self.rng.chance(80) {
            done.kind = EventType::Info;
        }
        self.record(done);
    }
}

/// A register history of `processes` clients over `keys` keys (key 0 is the key `None`),
/// `steps` scheduling steps, then one final read per key; times divided by 1 to 3 (ties
/// are concurrent), or dropped. Also says whether a fault was injected.
fn simulate(seed: u64, processes: usize, keys: usize, steps: usize, faults_per_mille: u64) -> (Vec<Event>, bool) {
    let mut sim = Registers {
        rng: Rng(seed),
        versions: vec![vec![Value::Nil]; keys],
        events: Vec::new(),
        clock: 0,
        faults_per_mille,
        faulty: false,
    };
    let mut phases: Vec<Phase> = (0..processes).map(|_| Phase::Idle).collect();
    let mut fresh = 0;
    let mut advance = |sim: &mut Registers, p: usize, phase: Phase| match phase {
        Phase::Idle => {
            fresh += 1;
            Phase::Invoked(sim.invoke(p as u64, fresh))
        }
        // Timed out before taking effect.
        Phase::Invoked(call) if sim.rng.chance(60) => {
            sim.record(Event { kind: EventType::Info, time: None, ..call });
            Phase::Idle
        }
        Phase::Invoked(call) => Phase::Applied(sim.apply(&call)),
        Phase::Applied(done) => {
            sim.complete(done);
            Phase::Idle
        }
    };
    for _ in 0..steps {
        let p = sim.rng.below(processes);
        let phase = std::mem::replace(&mut phases[p], Phase::Idle);
        phases[p] = advance(&mut sim, p, phase);
    }
    // Drain: every operation completes (a few never do), then one final read per key.
    for (p, phase) in phases.into_iter().enumerate() {
        let mut phase = phase;
        while !matches!(phase, Phase::Idle) && !sim.rng.chance(30) {
            phase = advance(&mut sim, p, phase);
        }
    }
    for key in 0..keys {
        let mut call = Event::new(Process::Client(processes as u64), EventType::Invoke, "read", Value::Nil);
        call.key = Registers::key(key);
        sim.record(call.clone());
        let done = sim.apply(&call);
        sim.record(done);
    }
    let divisor = sim.rng.below(4) as u64;
    for event in &mut sim.events {
        event.time = event.time.filter(|_| divisor > 0).map(|t| t / divisor.max(1));
    }
    (sim.events, sim.faulty)
}

/// Checks the meaning on one simulated history; true when `analyze` found an anomaly.
fn meaning_holds(events: &[Event], faulty: bool) -> Result<bool, TestCaseError> {
    let found = analyze(events);
    let verdict = check_named("cas-register", events, &CheckOptions::default())
        .map_err(|e| TestCaseError::fail(format!("the checker refused the history: {e}")))?;
    let anomalous = !found.stale_reads.is_empty() || !found.lost_writes.is_empty();
    if anomalous {
        prop_assert_eq!(verdict.outcome, Outcome::NotLinearizable, "{:?}", found);
    }
    if !faulty {
        prop_assert_eq!(verdict.outcome, Outcome::Linearizable, "the simulator itself is linearizable");
        prop_assert!(!anomalous && found.phantom_reads == 0 && found.duplicate_values == 0, "{:?}", found);
    }
    Ok(anomalous)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn stale_reads_and_lost_writes_mean_not_linearizable(
        seed in any::<u64>(),
        processes in 1usize..5,
        keys in 1usize..3,
        steps in 0usize..60,
        faults_per_mille in prop_oneof![Just(0u64), 0u64..200],
    ) {
        let (events, faulty) = simulate(seed, processes, keys, steps, faults_per_mille);
        meaning_holds(&events, faulty)?;
    }
}

/// The meaning test is not vacuous: over fixed seeds, many histories have anomalies (and all
/// of them are not linearizable), and most keys have a final read.
#[test]
fn simulated_histories_often_have_anomalies() {
    let mut anomalous = 0;
    let mut final_reads = 0;
    for seed in 0..300 {
        let (events, faulty) = simulate(seed, 3, 2, 50, 100);
        anomalous += usize::from(meaning_holds(&events, faulty).expect("the meaning holds"));
        final_reads += analyze(&events).final_reads;
    }
    assert!(anomalous >= 60, "only {anomalous} of 300 histories had a stale read or lost write");
    assert!(final_reads >= 400, "only {final_reads} final reads in 300 histories of 2 keys");
}
