//! Hand-built histories, one per anomaly class, and the input errors.

use history::{Event, EventType, Process, Value};

use super::*;

/// Micro-operations written `a K V` (append) and `r K V...` (read; no values = empty),
/// separated by `;`. On invocation reads carry `nil`.
fn mops(text: &str, completed: bool) -> Value {
    let ops = text
        .split(';')
        .map(|op| {
            let words: Vec<&str> = op.split_whitespace().collect();
            let int = |w: &str| Value::Int(w.parse().expect("test integer"));
            let (f, v) = match words[0] {
                "a" => ("append", int(words[2])),
                _ if completed => ("r", Value::List(words[2..].iter().map(|w| int(w)).collect())),
                _ => ("r", Value::Nil),
            };
            Value::List(vec![f.into(), int(words[1]), v])
        })
        .collect();
    Value::List(ops)
}

fn invoke(process: u64, text: &str) -> Event {
    Event::new(Process::Client(process), EventType::Invoke, "txn", mops(text, false))
}

fn complete(process: u64, kind: EventType, text: &str) -> Event {
    Event::new(Process::Client(process), kind, "txn", mops(text, kind == EventType::Ok))
}

/// Every transaction invoked, then every one completed: all concurrent.
fn concurrent(txns: &[(EventType, &str)]) -> Vec<Event> {
    let mut events: Vec<Event> = txns.iter().enumerate().map(|(p, (_, t))| invoke(p as u64, t)).collect();
    events.extend(txns.iter().enumerate().map(|(p, (kind, t))| complete(p as u64, *kind, t)));
    events
}

/// One transaction after another.
fn sequential(txns: &[(EventType, &str)]) -> Vec<Event> {
    txns.iter().enumerate().flat_map(|(p, (kind, t))| [invoke(p as u64, t), complete(p as u64, *kind, t)]).collect()
}

fn never() -> bool {
    false
}

fn check(events: &[Event]) -> TxnReport {
    let options = TxnOptions { deadline: &never, memory_limit_bytes: 1 << 30, realtime: true };
    check_list_append(events, &options).expect("well-formed history")
}

fn classes(report: &TxnReport) -> Vec<AnomalyClass> {
    report.counts.keys().copied().collect()
}

const OK: EventType = EventType::Ok;

#[test]
fn a_serial_history_is_strict_serializable() {
    let report = check(&sequential(&[
        (OK, "a 1 1; a 2 1"),
        (OK, "r 1 1; a 1 2"),
        (OK, "r 1 1 2; r 2 1; a 2 2"),
        (OK, "r 1 1 2; r 2 1 2"),
    ]));
    assert_eq!(report.outcome, TxnOutcome::Valid, "{:?}", report.anomalies);
    assert_eq!(report.strongest, Some(IsolationLevel::StrictSerializable));
    assert_eq!(report.committed, 4);
}

#[test]
fn g0_write_cycle() {
    let report = check(&concurrent(&[(OK, "a 1 1; a 2 1"), (OK, "a 1 2; a 2 2"), (OK, "r 1 1 2; r 2 2 1")]));
    assert_eq!(classes(&report), vec![AnomalyClass::G0]);
    assert_eq!(report.strongest, Some(IsolationLevel::None));
    let text = report.anomalies[0].to_string();
    assert!(text.starts_with("G0: T"), "{text}");
    assert!(text.contains("appended the next value"), "{text}");
}

#[test]
fn g1a_aborted_read() {
    let report = check(&concurrent(&[(EventType::Fail, "a 1 1"), (OK, "r 1 1")]));
    assert_eq!(classes(&report), vec![AnomalyClass::G1a]);
    assert_eq!(report.strongest, Some(IsolationLevel::ReadUncommitted));
    assert_eq!(report.aborted, 1);
    assert_eq!(report.anomalies[0].txns, vec![2, 3], "the aborted append's and the read's completions");
}

#[test]
fn g1b_intermediate_read() {
    let report = check(&concurrent(&[(OK, "a 1 1; a 1 2"), (OK, "r 1 1"), (OK, "r 1 1 2")]));
    assert!(report.counts.contains_key(&AnomalyClass::G1b), "{:?}", report.anomalies);
    assert_eq!(report.strongest, Some(IsolationLevel::ReadUncommitted));
}

#[test]
fn g1c_circular_information_flow() {
    let report = check(&concurrent(&[(OK, "a 1 1; r 2 1"), (OK, "a 2 1; r 1 1")]));
    assert_eq!(classes(&report), vec![AnomalyClass::G1c]);
    let text = report.anomalies[0].to_string();
    assert!(text.contains("read T") && text.contains("'s append of 1 to key"), "{text}");
}

#[test]
fn g_single_read_skew() {
    let report = check(&concurrent(&[(OK, "a 1 1; a 2 1"), (OK, "r 1; r 2 1"), (OK, "r 1 1")]));
    assert_eq!(classes(&report), vec![AnomalyClass::GSingle]);
    assert_eq!(report.strongest, Some(IsolationLevel::ReadCommitted));
    let text = report.anomalies[0].to_string();
    assert!(text.contains("read key 1 (empty) before T"), "{text}");
    assert_eq!(report.anomalies[0].steps.len(), 2);
}

#[test]
fn g2_item_write_skew_is_allowed_by_snapshot_isolation() {
    let report = check(&concurrent(&[(OK, "r 1; r 2; a 1 1"), (OK, "r 1; r 2; a 2 1"), (OK, "r 1 1; r 2 1")]));
    assert_eq!(classes(&report), vec![AnomalyClass::G2Item]);
    assert_eq!(report.strongest, Some(IsolationLevel::SnapshotIsolation));
}

#[test]
fn lost_update() {
    let report = check(&concurrent(&[(OK, "r 1; a 1 1"), (OK, "r 1; a 1 2"), (OK, "r 1 1 2")]));
    assert!(report.counts.contains_key(&AnomalyClass::LostUpdate), "{:?}", report.anomalies);
    let lost = report.anomalies.iter().find(|a| a.class == AnomalyClass::LostUpdate).expect("found");
    assert_eq!(lost.txns, vec![3, 4]);
    assert_eq!(report.strongest, Some(IsolationLevel::ReadCommitted));
}

#[test]
fn incompatible_order() {
    let report = check(&concurrent(&[(OK, "a 1 1"), (OK, "a 1 2"), (OK, "r 1 1 2"), (OK, "r 1 2")]));
    assert_eq!(classes(&report), vec![AnomalyClass::IncompatibleOrder]);
    assert_eq!(report.strongest, Some(IsolationLevel::None));
}

#[test]
fn internal_inconsistency() {
    let report = check(&concurrent(&[(OK, "a 1 1; r 1")]));
    assert_eq!(classes(&report), vec![AnomalyClass::Internal]);
}

#[test]
fn reading_a_later_own_append_is_internal() {
    let report = check(&concurrent(&[(OK, "r 1 1; a 1 1")]));
    assert_eq!(classes(&report), vec![AnomalyClass::Internal]);
    assert!(report.anomalies[0].to_string().contains("appended only later"), "{}", report.anomalies[0]);
}

#[test]
fn a_stale_read_after_a_completed_append_is_a_realtime_anomaly_only() {
    let events = sequential(&[(OK, "a 1 1"), (OK, "r 1"), (OK, "r 1 1")]);
    let report = check(&events);
    assert_eq!(classes(&report), vec![AnomalyClass::GSingleRealtime]);
    assert_eq!(report.strongest, Some(IsolationLevel::Serializable));
    assert!(report.anomalies[0].to_string().contains("completed before"), "{}", report.anomalies[0]);
    let options = TxnOptions { deadline: &never, memory_limit_bytes: 1 << 30, realtime: false };
    let report = check_list_append(&events, &options).expect("well-formed");
    assert_eq!(report.outcome, TxnOutcome::Valid);
    assert_eq!(report.strongest, Some(IsolationLevel::Serializable));
}

#[test]
fn indeterminate_appends_count_when_observed() {
    // T0's append is `info` but T1 saw it: T0 is a node, and T1 -> T0 -> ... stays acyclic.
    let report = check(&concurrent(&[(EventType::Info, "a 1 1"), (OK, "r 1 1")]));
    assert_eq!(report.outcome, TxnOutcome::Valid, "{:?}", report.anomalies);
    assert_eq!(report.indeterminate, 1);
}

#[test]
fn limits_give_unknown_not_a_wrong_answer() {
    let events = concurrent(&[(OK, "a 1 1; a 2 1"), (OK, "a 1 2; a 2 2"), (OK, "r 1 1 2; r 2 2 1")]);
    let small = TxnOptions { deadline: &never, memory_limit_bytes: 10, realtime: true };
    let report = check_list_append(&events, &small).expect("well-formed");
    assert!(matches!(report.outcome, TxnOutcome::Unknown { .. }), "{:?}", report.outcome);
    assert_eq!(report.strongest, None);
    let passed = || true;
    let mut big = concurrent(&[(OK, "a 1 1")]);
    for p in 1..5000u64 {
        big.push(invoke(p, "r 1"));
        big.push(complete(p, OK, "r 1 1"));
    }
    let late = TxnOptions { deadline: &passed, memory_limit_bytes: 1 << 30, realtime: true };
    let report = check_list_append(&big, &late).expect("well-formed");
    assert!(matches!(report.outcome, TxnOutcome::Unknown { .. }), "{:?}", report.outcome);
}

fn error_event(events: &[Event]) -> (usize, String) {
    let options = TxnOptions { deadline: &never, memory_limit_bytes: 1 << 30, realtime: true };
    match check_list_append(events, &options) {
        Err(TxnError::Event { event, message }) => (event, message),
        Ok(report) => panic!("expected an input error, got {report:?}"),
    }
}

#[test]
fn an_unexplained_read_is_an_input_error_naming_the_event() {
    let (event, message) = error_event(&concurrent(&[(OK, "a 1 1"), (OK, "r 1 1 7")]));
    assert_eq!(event, 3);
    assert!(message.contains("unexplained read") && message.contains('7'), "{message}");
}

#[test]
fn a_duplicate_appended_value_is_an_input_error_naming_the_event() {
    let (event, message) = error_event(&concurrent(&[(OK, "a 1 1"), (EventType::Fail, "a 1 1")]));
    assert_eq!(event, 3);
    assert!(message.contains("duplicate appended value 1"), "{message}");
}

#[test]
fn a_duplicate_element_in_a_read_is_an_input_error_naming_the_event() {
    let (event, message) = error_event(&concurrent(&[(OK, "a 1 1"), (OK, "r 1 1"), (OK, "r 1 1 1")]));
    assert_eq!(event, 5);
    assert!(message.contains("duplicate element 1"), "{message}");
}

#[test]
fn a_malformed_micro_operation_is_an_input_error_naming_the_event() {
    let mut events = concurrent(&[(OK, "a 1 1")]);
    events[1].value = Value::List(vec![Value::List(vec!["append".into(), 1.into()])]);
    let (event, message) = error_event(&events);
    assert_eq!(event, 1);
    assert!(message.contains("malformed micro-operation"), "{message}");
}

#[test]
fn past_the_memory_limit_anomalies_are_counted_but_not_kept() {
    // An aborted append, then 3,000 committed reads of it: 3,000 G1a anomalies.
    let mut events = concurrent(&[(EventType::Fail, "a 1 1")]);
    for p in 1..=3000u64 {
        events.push(invoke(p, "r 1"));
        events.push(complete(p, OK, "r 1 1"));
    }
    let estimate = parse::parse(&events).expect("well-formed").estimated_bytes();
    let tight = TxnOptions { deadline: &never, memory_limit_bytes: estimate + 40_000, realtime: false };
    let report = check_list_append(&events, &tight).expect("well-formed");
    assert_eq!(report.outcome, TxnOutcome::Invalid);
    assert_eq!(report.counts.get(&AnomalyClass::G1a), Some(&3000), "every anomaly counted");
    assert!(report.anomalies_not_kept > 0 && !report.anomalies.is_empty(), "{}", report.anomalies_not_kept);
    assert_eq!(report.anomalies.len() + report.anomalies_not_kept, 3000);
    let report = check(&events);
    assert_eq!((report.anomalies.len(), report.anomalies_not_kept), (3000, 0), "all kept within a roomy limit");
}
