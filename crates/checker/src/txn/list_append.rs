//! List-append inference: per-key version orders, the dependency edges they imply, and the
//! anomalies that need no cycle (G1a, G1b, internal, lost update, incompatible order).
//!
//! Input errors found here: a value appended twice to a key, a read of a value nobody
//! appended ("unexplained read"), a value twice in one read.

use std::borrow::Cow;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};

use super::anomaly::{Anomaly, AnomalyClass, Found};
use super::graph::{Graph, RW, WR, WW};
use super::parse::{Mop, Parsed, Status, Txn};
use super::{realtime, Halt, Poll, TxnError};

/// Who appended a value, and whether it was that transaction's last append to the key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Append {
    pub(crate) txn: u32,
    pub(crate) is_final: bool,
}

/// What is known of one key.
#[derive(Debug, Default)]
pub(crate) struct KeyState<'a> {
    /// Every append to the key, by value.
    pub(crate) appends: HashMap<i64, Append>,
    /// The version order: the longest `ok` read.
    pub(crate) order: Cow<'a, [i64]>,
    /// Position of each value in `order`.
    pub(crate) position: HashMap<i64, usize>,
    /// Whether every `ok` read is a prefix of `order` (otherwise the key gives no edges).
    pub(crate) compatible: bool,
}

/// The result of inference.
pub(crate) struct Inferred<'a> {
    pub(crate) keys: Vec<KeyState<'a>>,
    pub(crate) anomalies: Found,
    pub(crate) graph: Graph,
}

/// `T<event>`, the name of transaction `txn` in explanations.
pub(crate) fn name(parsed: &Parsed, txn: u32) -> String {
    format!("T{}", parsed.txns[txn as usize].event())
}

/// The values of read `op` of transaction `t` (empty when unknown).
fn read_values(parsed: &Parsed, t: u32, op: u32) -> Cow<'_, [i64]> {
    let txn = &parsed.txns[t as usize];
    parsed.read(&parsed.ops(txn)[op as usize]).map_or(Cow::Borrowed(&[]), |(_, values)| values)
}

/// How many values read `op` of transaction `t` returned (0 when unknown), without them.
fn read_len(parsed: &Parsed, t: u32, op: u32) -> usize {
    match parsed.ops(&parsed.txns[t as usize])[op as usize] {
        Mop::Read { seen, .. } => seen.len(),
        Mop::Append { .. } => 0,
    }
}

/// Infers version orders, edges (and real-time edges when asked) and cycle-free anomalies.
pub(crate) fn infer<'a>(
    parsed: &'a Parsed,
    realtime: bool,
    (anomaly_budget, edge_limit): (usize, usize),
    poll: &mut Poll<'_>,
) -> Result<Inferred<'a>, Halt> {
    let mut keys: Vec<KeyState<'a>> =
        (0..parsed.keys.len()).map(|_| KeyState { compatible: true, ..Default::default() }).collect();
    collect_appends(parsed, &mut keys, poll)?;
    // Per key, the committed reads: (txn, op).
    let mut reads: Vec<Vec<(u32, u32)>> = vec![Vec::new(); parsed.keys.len()];
    for (t, txn) in parsed.txns.iter().enumerate().filter(|(_, t)| t.status == Status::Ok) {
        for (o, op) in parsed.ops(txn).iter().enumerate() {
            if let Some((key, _)) = parsed.read(op) {
                reads[key as usize].push((t as u32, o as u32));
            }
        }
    }
    let mut anomalies = Found::new(anomaly_budget);
    for (k, key_reads) in reads.iter().enumerate() {
        if let Some(anomaly) = version_order(parsed, k, &mut keys[k], key_reads, poll)? {
            anomalies.push(anomaly);
        }
    }
    aborted_and_intermediate_reads(parsed, &keys, &reads, &mut anomalies, poll)?;
    internal(parsed, &mut anomalies, poll)?;
    lost_updates(parsed, &mut anomalies, poll)?;
    let mut edges = Vec::new();
    for (k, key_reads) in reads.iter().enumerate() {
        dependency_edges(parsed, &keys[k], key_reads, &mut edges, poll)?;
    }
    if realtime {
        realtime::edges(parsed, &mut edges, edge_limit, poll)?;
    }
    let graph = Graph::new(parsed.txns.len(), edges);
    Ok(Inferred { keys, anomalies, graph })
}

fn collect_appends(parsed: &Parsed, keys: &mut [KeyState<'_>], poll: &mut Poll<'_>) -> Result<(), Halt> {
    for (t, txn) in parsed.txns.iter().enumerate() {
        poll.tick()?;
        let ops = parsed.ops(txn);
        for (i, op) in ops.iter().enumerate() {
            let Mop::Append { key, value } = *op else { continue };
            let is_final = !ops[i + 1..].iter().any(|o| matches!(o, Mop::Append { key: k, .. } if *k == key));
            match keys[key as usize].appends.entry(value) {
                Entry::Occupied(first) => {
                    let other = parsed.txns[first.get().txn as usize].event();
                    return Err(TxnError::at(
                        txn.event(),
                        format!(
                            "duplicate appended value {value} to key {}: also appended by the transaction at event {}",
                            parsed.keys[key as usize],
                            other + 1
                        ),
                    )
                    .into());
                }
                Entry::Vacant(slot) => {
                    slot.insert(Append { txn: t as u32, is_final });
                }
            }
        }
    }
    Ok(())
}

/// Checks a read that is not known to be a prefix of the version order: every value explained
/// by an append, none twice.
fn validate_read(parsed: &Parsed, k: usize, state: &KeyState<'_>, txn: &Txn, values: &[i64]) -> Result<(), TxnError> {
    let mut seen = HashSet::with_capacity(values.len());
    for v in values {
        if !state.appends.contains_key(v) {
            return Err(TxnError::at(
                txn.event(),
                format!("unexplained read: value {v} of key {} was never appended", parsed.keys[k]),
            ));
        }
        if !seen.insert(*v) {
            return Err(TxnError::at(
                txn.event(),
                format!("duplicate element {v} in a read of key {}", parsed.keys[k]),
            ));
        }
    }
    Ok(())
}

/// Sets the key's version order (its longest read) and checks every read against it.
fn version_order<'a>(
    parsed: &'a Parsed,
    k: usize,
    state: &mut KeyState<'a>,
    reads: &[(u32, u32)],
    poll: &mut Poll<'_>,
) -> Result<Option<Anomaly>, Halt> {
    let mut longest: Option<(u32, u32)> = None;
    for &(t, o) in reads {
        let len = read_len(parsed, t, o);
        if longest.is_none_or(|(lt, lo)| len > read_len(parsed, lt, lo)) {
            longest = Some((t, o));
        }
    }
    let Some((lt, lo)) = longest else { return Ok(None) };
    let long_txn = &parsed.txns[lt as usize];
    let order = read_values(parsed, lt, lo);
    validate_read(parsed, k, state, long_txn, &order)?;
    state.position = order.iter().enumerate().map(|(i, v)| (*v, i)).collect();
    let mut conflict = None;
    for &(t, o) in reads {
        poll.tick()?;
        let txn = &parsed.txns[t as usize];
        let values = read_values(parsed, t, o);
        if values.len() <= order.len() && order[..values.len()] == *values {
            continue;
        }
        validate_read(parsed, k, state, txn, &values)?;
        state.compatible = false;
        if conflict.is_none() {
            let at = values.iter().zip(order.iter()).position(|(a, b)| a != b).unwrap_or(values.len().min(order.len()));
            let (short, long) = (name(parsed, t), name(parsed, lt));
            let step = format!(
                "{short} read key {} as {} values and {long} as {}: they differ at position {at} ({} vs {}), so \
                 neither is a prefix of the other",
                parsed.keys[k],
                values.len(),
                order.len(),
                values[at],
                order[at]
            );
            conflict = Some(Anomaly {
                class: AnomalyClass::IncompatibleOrder,
                txns: vec![long_txn.event(), txn.event()],
                steps: vec![step],
            });
        }
    }
    state.order = order;
    Ok(conflict)
}

/// G1a (a committed read saw an aborted append) and G1b (it ended in another transaction's
/// non-final append to the key).
fn aborted_and_intermediate_reads(
    parsed: &Parsed,
    keys: &[KeyState<'_>],
    reads: &[Vec<(u32, u32)>],
    anomalies: &mut Found,
    poll: &mut Poll<'_>,
) -> Result<(), Halt> {
    let status = |t: u32| parsed.txns[t as usize].status;
    for (k, state) in keys.iter().enumerate() {
        let has_aborted = state.appends.values().any(|a| status(a.txn) == Status::Fail);
        for &(t, o) in &reads[k] {
            poll.tick()?;
            let reader = &parsed.txns[t as usize];
            let values = read_values(parsed, t, o);
            let appender = |v: &i64| state.appends.get(v).copied();
            if has_aborted {
                for v in values.iter() {
                    let Some(a) = appender(v).filter(|a| status(a.txn) == Status::Fail) else { continue };
                    anomalies.push(Anomaly {
                        class: AnomalyClass::G1a,
                        txns: vec![parsed.txns[a.txn as usize].event(), reader.event()],
                        steps: vec![format!(
                            "{} read value {v} of key {}, appended by {}, which aborted",
                            name(parsed, t),
                            parsed.keys[k],
                            name(parsed, a.txn)
                        )],
                    });
                }
            }
            let Some((last, a)) = values.last().and_then(|v| appender(v).map(|a| (*v, a))) else { continue };
            if a.txn == t || a.is_final || status(a.txn) == Status::Fail {
                continue;
            }
            anomalies.push(Anomaly {
                class: AnomalyClass::G1b,
                txns: vec![parsed.txns[a.txn as usize].event(), reader.event()],
                steps: vec![format!(
                    "{} read key {} ending in {last}, an intermediate state of {}, which appended more to the key after it",
                    name(parsed, t),
                    parsed.keys[k],
                    name(parsed, a.txn)
                )],
            });
        }
    }
    Ok(())
}

/// Internal: a committed read (op `i` of `t`) that holds a value its transaction appends later.
fn read_of_a_later_append(parsed: &Parsed, t: u32, i: usize) -> Option<Anomaly> {
    let txn = &parsed.txns[t as usize];
    let ops = parsed.ops(txn);
    let (key, values) = parsed.read(&ops[i])?;
    let value = ops[i + 1..].iter().find_map(|later| match *later {
        Mop::Append { key: k, value } if k == key && values.contains(&value) => Some(value),
        _ => None,
    })?;
    Some(Anomaly {
        class: AnomalyClass::Internal,
        txns: vec![txn.event()],
        steps: vec![format!(
            "{} read key {} including {value}, which it appended only later",
            name(parsed, t),
            parsed.keys[key as usize]
        )],
    })
}

/// Within one transaction: a key, the values of its last read, its own appends since.
type Known<'a> = (u32, Option<Cow<'a, [i64]>>, Vec<i64>);

/// A committed transaction's reads must agree with its own earlier reads and appends.
fn internal(parsed: &Parsed, anomalies: &mut Found, poll: &mut Poll<'_>) -> Result<(), Halt> {
    for (t, txn) in parsed.txns.iter().enumerate().filter(|(_, t)| t.status == Status::Ok) {
        poll.tick()?;
        let mut known: Vec<Known<'_>> = Vec::new();
        for (i, op) in parsed.ops(txn).iter().enumerate() {
            anomalies.extend(read_of_a_later_append(parsed, t as u32, i));
            match *op {
                Mop::Append { key, value } => match known.iter_mut().find(|e| e.0 == key) {
                    Some(entry) => entry.2.push(value),
                    None => known.push((key, None, vec![value])),
                },
                Mop::Read { key, seen } => {
                    let Some(values) = parsed.values(seen) else { continue };
                    let Some(entry) = known.iter_mut().find(|e| e.0 == key) else {
                        known.push((key, Some(values), Vec::new()));
                        continue;
                    };
                    let expected = match &entry.1 {
                        Some(before) => {
                            let whole: Vec<i64> = before.iter().chain(&entry.2).copied().collect();
                            (*values != whole).then(|| format!("exactly {whole:?}"))
                        }
                        None => (!values.ends_with(&entry.2)).then(|| format!("ending in {:?}", entry.2)),
                    };
                    if let Some(expected) = expected {
                        anomalies.push(Anomaly {
                            class: AnomalyClass::Internal,
                            txns: vec![txn.event()],
                            steps: vec![format!(
                                "{} read key {} as {values:?}, but its own earlier operations imply {expected}",
                                name(parsed, t as u32),
                                parsed.keys[key as usize]
                            )],
                        });
                    }
                    entry.1 = Some(values);
                    entry.2.clear();
                }
            }
        }
    }
    Ok(())
}

/// Two committed transactions that read the same version of a key (before appending to it)
/// and both appended to it.
fn lost_updates(parsed: &Parsed, anomalies: &mut Found, poll: &mut Poll<'_>) -> Result<(), Halt> {
    let mut groups: BTreeMap<(u32, Option<i64>), Vec<u32>> = BTreeMap::new();
    for (t, txn) in parsed.txns.iter().enumerate().filter(|(_, t)| t.status == Status::Ok) {
        poll.tick()?;
        let mut first_seen: Vec<u32> = Vec::new();
        let ops = parsed.ops(txn);
        for (i, op) in ops.iter().enumerate() {
            let Some((key, values)) = parsed.read(op) else {
                if let Mop::Append { key, .. } = op {
                    first_seen.push(*key);
                }
                continue;
            };
            if first_seen.contains(&key) {
                continue;
            }
            first_seen.push(key);
            let appends_later = ops[i + 1..].iter().any(|o| matches!(o, Mop::Append { key: k, .. } if *k == key));
            if appends_later {
                groups.entry((key, values.last().copied())).or_default().push(t as u32);
            }
        }
    }
    for ((key, version), txns) in groups.into_iter().filter(|(_, txns)| txns.len() > 1) {
        let names: Vec<String> = txns.iter().map(|&t| name(parsed, t)).collect();
        let version = match version {
            Some(v) => format!("the version ending in {v}"),
            None => "the empty version".to_owned(),
        };
        anomalies.push(Anomaly {
            class: AnomalyClass::LostUpdate,
            txns: txns.iter().map(|&t| parsed.txns[t as usize].event()).collect(),
            steps: vec![format!(
                "{} all read {version} of key {} and then appended to it",
                names.join(", "),
                parsed.keys[key as usize]
            )],
        });
    }
    Ok(())
}

/// ww, wr and rw edges of one key (none when its reads are incompatible).
fn dependency_edges(
    parsed: &Parsed,
    state: &KeyState<'_>,
    reads: &[(u32, u32)],
    edges: &mut Vec<(u32, u32, u8)>,
    poll: &mut Poll<'_>,
) -> Result<(), Halt> {
    if !state.compatible {
        return Ok(());
    }
    // Aborted transactions take part in no edge (their reads are G1a anomalies already).
    let appender =
        |v: &i64| state.appends.get(v).map(|a| a.txn).filter(|&t| parsed.txns[t as usize].status != Status::Fail);
    for pair in state.order.windows(2) {
        poll.tick()?;
        if let (Some(a), Some(b)) = (appender(&pair[0]), appender(&pair[1])) {
            if a != b {
                edges.push((a, b, WW));
            }
        }
    }
    for &(t, o) in reads {
        poll.tick()?;
        let len = read_len(parsed, t, o);
        if let Some(a) = len.checked_sub(1).and_then(|i| appender(&state.order[i])).filter(|&a| a != t) {
            edges.push((a, t, WR));
        }
        if let Some(b) = state.order.get(len).and_then(appender).filter(|&b| b != t) {
            edges.push((t, b, RW));
        }
    }
    Ok(())
}

/// Why `from < to` by a ww, wr or rw edge (`kind` one of them), in words.
pub(crate) fn explain(parsed: &Parsed, inferred: &Inferred<'_>, (from, to): (u32, u32), kind: u8) -> String {
    let (a, b) = (name(parsed, from), name(parsed, to));
    let key_name = |k: u32| &parsed.keys[k as usize];
    let appender = |k: u32, v: &i64| inferred.keys[k as usize].appends.get(v).map(|x| x.txn);
    let reads = |t: u32| {
        let ops = parsed.ops(&parsed.txns[t as usize]).iter();
        ops.filter_map(|op| parsed.read(op)).filter(|(key, _)| inferred.keys[*key as usize].compatible)
    };
    match kind {
        WW => parsed
            .ops(&parsed.txns[from as usize])
            .iter()
            .find_map(|op| {
                let Mop::Append { key, value } = op else { return None };
                let state = &inferred.keys[*key as usize];
                let next = state.order.get(state.position.get(value)? + 1)?;
                (state.compatible && appender(*key, next) == Some(to)).then(|| {
                    format!(
                        "{a} < {b} because {a} appended {value} to key {} and {b} appended the next value, {next}",
                        key_name(*key)
                    )
                })
            })
            .unwrap_or_else(|| format!("{a} < {b} because {b} appended after {a} to a key")),
        WR => reads(to)
            .find_map(|(key, values)| {
                let last = values.last()?;
                (appender(key, last) == Some(from))
                    .then(|| format!("{a} < {b} because {b} read {a}'s append of {last} to key {}", key_name(key)))
            })
            .unwrap_or_else(|| format!("{a} < {b} because {b} read {a}'s append")),
        RW => reads(from)
            .find_map(|(key, values)| {
                let next = inferred.keys[key as usize].order.get(values.len())?;
                (appender(key, next) == Some(to)).then(|| {
                    let seen = if values.is_empty() { " (empty)" } else { "" };
                    format!("{a} < {b} because {a} read key {}{seen} before {b}'s append of {next}", key_name(key))
                })
            })
            .unwrap_or_else(|| format!("{a} < {b} because {a} read a key before {b} appended to it")),
        _ => format!("{a} < {b}"),
    }
}
