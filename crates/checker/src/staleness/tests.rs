//! Hand-written cases of the staleness definitions.

use super::*;

/// One event per line: `process kind f [value] [k=key] [t=time]`; a value is `nil`, an
/// integer or a pair `a,b`; a process that is not a number is named (the nemesis).
fn h(spec: &str) -> Vec<Event> {
    let int = |s: &str| if s == "nil" { Value::Nil } else { Value::Int(s.parse().expect("an integer")) };
    spec.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let process = words[0].parse().map_or_else(|_| Process::Named(words[0].to_owned()), Process::Client);
            let kind = EventType::from_name(words[1]).expect("an event type");
            let mut event = Event::new(process, kind, words[2], Value::Nil);
            for word in &words[3..] {
                if let Some(key) = word.strip_prefix("k=") {
                    event.key = Some(int(key));
                } else if let Some(time) = word.strip_prefix("t=") {
                    event.time = Some(time.parse().expect("a time"));
                } else if let Some((a, b)) = word.split_once(',') {
                    event.value = Value::List(vec![int(a), int(b)]);
                } else {
                    event.value = int(word);
                }
            }
            event
        })
        .collect()
}

fn stale(key: Option<i64>, read_event: usize, value: Option<i64>, missed_write_event: usize) -> StaleRead {
    let value = value.map_or(Value::Nil, Value::Int);
    StaleRead { key: key.map(Value::Int), read_event, value, missed_write_event }
}

#[test]
fn a_read_after_a_completed_later_write_is_stale() {
    let events = h("
        0 invoke write 1
        0 ok write 1
        1 invoke write 2
        1 ok write 2
        2 invoke read
        2 ok read 1");
    let result = analyze(&events);
    assert_eq!(result.stale_reads, vec![stale(None, 5, Some(1), 3)]);
    assert_eq!((result.reads, result.acknowledged_writes, result.phantom_reads), (1, 2, 0));
    // The read is also the final read, and it shows the second write lost.
    assert_eq!(result.final_reads, 1);
    assert_eq!(result.lost_writes.len(), 1);
    assert_eq!((result.lost_writes[0].write_event, &result.lost_writes[0].value), (2, &Value::Int(2)));
}

#[test]
fn a_read_concurrent_with_the_later_write_is_not_stale() {
    // The read is invoked before the second write completes.
    let events = h("
        0 invoke write 1
        0 ok write 1
        2 invoke read
        1 invoke write 2
        1 ok write 2
        2 ok read 1");
    assert!(analyze(&events).stale_reads.is_empty());
    // Concurrent writes: 2 is not certainly after 1, so reading 1 later is fine.
    let events = h("
        0 invoke write 1
        1 invoke write 2
        0 ok write 1
        1 ok write 2
        2 invoke read
        2 ok read 1");
    let result = analyze(&events);
    assert!(result.stale_reads.is_empty());
    assert!(result.lost_writes.is_empty());
    assert_eq!(result.final_reads, 1);
}

#[test]
fn a_nil_read_after_an_acknowledged_write_is_stale() {
    let events = h("
        0 invoke write 1
        0 ok write 1
        1 invoke read
        1 ok read nil
        0 invoke read
        0 ok read 1");
    let result = analyze(&events);
    assert_eq!(result.stale_reads, vec![stale(None, 3, None, 1)]);
    // The last read sees the write: nothing is lost.
    assert_eq!((result.final_reads, result.lost_writes.len()), (1, 0));
}

#[test]
fn the_latest_missed_write_is_reported() {
    let events = h("
        0 invoke write 1
        0 ok write 1
        0 invoke write 2
        0 ok write 2
        1 invoke write 3
        1 ok write 3
        2 invoke read
        2 ok read 1
        2 invoke read
        2 ok read 2");
    let result = analyze(&events);
    assert_eq!(result.stale_reads, vec![stale(None, 7, Some(1), 5), stale(None, 9, Some(2), 5)]);
}

#[test]
fn info_writes_never_make_a_read_stale() {
    let events = h("
        0 invoke write 1
        0 ok write 1
        1 invoke write 2
        1 info write 2
        2 invoke read
        2 ok read 1");
    let result = analyze(&events);
    assert!(result.stale_reads.is_empty());
    assert_eq!(result.acknowledged_writes, 1);
}

#[test]
fn nothing_is_certainly_after_a_write_of_unknown_outcome() {
    // Write 1 timed out: it may have taken effect after write 2, so 1 may be current.
    let events = h("
        0 invoke write 1
        0 info write 1
        1 invoke write 2
        1 ok write 2
        2 invoke read
        2 ok read 1");
    let result = analyze(&events);
    assert!(result.stale_reads.is_empty());
    assert!(result.lost_writes.is_empty());
    assert_eq!(result.final_reads, 1);
}

#[test]
fn a_failed_cas_writes_nothing() {
    // Reading the value of a failed cas: nobody wrote it.
    let events = h("
        0 invoke cas nil,1
        0 fail cas nil,1
        1 invoke read
        1 ok read 1");
    let result = analyze(&events);
    assert_eq!((result.phantom_reads, result.stale_reads.len(), result.acknowledged_writes), (1, 0, 0));
    // A failed cas after write 1 does not make reading 1 stale; an ok one does.
    let failed = h("
        0 invoke write 1
        0 ok write 1
        0 invoke cas 1,2
        0 fail cas 1,2
        1 invoke read
        1 ok read 1");
    assert!(analyze(&failed).stale_reads.is_empty());
    let succeeded = h("
        0 invoke write 1
        0 ok write 1
        0 invoke cas 1,2
        0 ok cas 1,2
        1 invoke read
        1 ok read 1");
    let result = analyze(&succeeded);
    assert_eq!(result.stale_reads, vec![stale(None, 5, Some(1), 3)]);
    assert_eq!(result.lost_writes.len(), 1);
    assert_eq!(result.lost_writes[0].write_event, 2);
}

#[test]
fn lost_writes_are_judged_against_the_final_read() {
    // Final value nil: every acknowledged write was lost, but not the unknown one.
    let events = h("
        0 invoke write 1
        0 ok write 1
        1 invoke write 2
        1 ok write 2
        1 invoke write 3
        1 info write 3
        2 invoke read
        2 ok read nil");
    let result = analyze(&events);
    let lost: Vec<(usize, &Value)> = result.lost_writes.iter().map(|l| (l.write_event, &l.value)).collect();
    assert_eq!(lost, vec![(0, &Value::Int(1)), (2, &Value::Int(2))]);
    assert!(result.lost_writes.iter().all(|l| l.final_value == Value::Nil));
    // Final value 2: write 3 came certainly after it, and was lost; write 1 is older.
    let events = h("
        0 invoke write 1
        0 ok write 1
        1 invoke write 2
        1 ok write 2
        0 invoke write 3
        0 ok write 3
        2 invoke read
        2 ok read 2");
    let result = analyze(&events);
    assert_eq!(result.lost_writes.len(), 1);
    assert_eq!(result.lost_writes[0].value, Value::Int(3));
    assert_eq!(result.lost_writes[0].final_value, Value::Int(2));
}

#[test]
fn without_a_final_read_writes_are_not_judged() {
    // An operation never completed blocks the final read.
    let events = h("
        0 invoke write 1
        0 ok write 1
        1 invoke write 2
        2 invoke read
        2 ok read nil");
    let result = analyze(&events);
    assert_eq!((result.final_reads, result.unjudged_keys, result.lost_writes.len()), (0, 1, 0));
    assert_eq!(result.stale_reads.len(), 1, "the read is still stale");
    // Two concurrent last reads: neither was invoked after the other completed.
    let events = h("
        0 invoke write 1
        0 ok write 1
        1 invoke read
        2 invoke read
        1 ok read nil
        2 ok read nil");
    let result = analyze(&events);
    assert_eq!((result.final_reads, result.unjudged_keys, result.lost_writes.len()), (0, 1, 0));
    // A failed read before it completed does not block it.
    let events = h("
        0 invoke write 1
        0 ok write 1
        1 invoke read
        1 fail read
        2 invoke read
        2 ok read nil");
    let result = analyze(&events);
    assert_eq!((result.final_reads, result.unjudged_keys, result.lost_writes.len()), (1, 0, 1));
}

#[test]
fn timed_histories_order_by_time() {
    // By event order the write completes before the read is invoked; by time they are
    // concurrent (equal times) and then reversed.
    let untimed = h("
        0 invoke write 1
        0 ok write 1
        1 invoke read
        1 ok read nil");
    assert_eq!(analyze(&untimed).stale_reads.len(), 1);
    let tie = h("
        0 invoke write 1 t=1
        0 ok write 1 t=5
        1 invoke read t=5
        1 ok read nil t=6");
    assert!(analyze(&tie).stale_reads.is_empty());
    let earlier = h("
        0 invoke write 1 t=1
        0 ok write 1 t=5
        1 invoke read t=4
        1 ok read nil t=6");
    assert!(analyze(&earlier).stale_reads.is_empty());
    let later = h("
        0 invoke write 1 t=1
        0 ok write 1 t=5
        1 invoke read t=6
        1 ok read nil t=7");
    assert_eq!(analyze(&later).stale_reads.len(), 1);
    // One client event without a time: event order decides.
    let partly = h("
        0 invoke write 1 t=1
        0 ok write 1 t=5
        1 invoke read
        1 ok read nil t=6");
    assert_eq!(analyze(&partly).stale_reads.len(), 1);
}

#[test]
fn nemesis_events_are_ignored() {
    // The nemesis has no time (the client events do) and uses register functions.
    let events = h("
        0 invoke write 1 t=1
        nemesis info write 7
        0 ok write 1 t=5
        nemesis invoke read
        1 invoke read t=5
        1 ok read nil t=6");
    let result = analyze(&events);
    assert!(result.stale_reads.is_empty(), "still timed: the read is concurrent");
    assert_eq!((result.reads, result.acknowledged_writes, result.duplicate_values), (1, 1, 0));
    assert_eq!(result.final_reads, 0, "the read overlaps the write");
}

#[test]
fn keys_are_separate_registers() {
    let events = h("
        0 invoke write 1 k=1
        0 ok write 1 k=1
        1 invoke read k=2
        1 ok read nil k=2
        1 invoke read
        1 ok read nil");
    let result = analyze(&events);
    assert!(result.stale_reads.is_empty());
    assert_eq!((result.final_reads, result.unjudged_keys), (2, 1));
    let events = h("
        0 invoke write 1 k=1
        0 ok write 1 k=1
        1 invoke read k=1
        1 ok read nil k=1");
    assert_eq!(analyze(&events).stale_reads, vec![stale(Some(1), 3, None, 1)]);
}

#[test]
fn duplicate_values_are_counted_and_not_judged() {
    let events = h("
        0 invoke write 1
        0 ok write 1
        0 invoke write 2
        0 ok write 2
        0 invoke write 1
        0 fail write 1
        1 invoke write 1
        1 info write 1
        2 invoke read
        2 ok read 1");
    let result = analyze(&events);
    assert_eq!(result.duplicate_values, 1);
    assert!(result.stale_reads.is_empty());
    assert!(result.lost_writes.is_empty());
    assert_eq!(result.final_reads, 1);
    // Writing nil makes the initial value ambiguous.
    let events = h("
        0 invoke write 1
        0 ok write 1
        0 invoke write nil
        0 info write nil
        2 invoke read
        2 ok read nil");
    let result = analyze(&events);
    assert_eq!((result.duplicate_values, result.stale_reads.len(), result.lost_writes.len()), (1, 0, 0));
}

#[test]
fn lenient_pairing_leaves_replaced_invocations_open() {
    // Process 0 invokes twice: the first write stays open and blocks the final read.
    let events = h("
        0 invoke write 1
        0 invoke write 2
        0 ok write 2
        9 ok read 5
        1 invoke read
        1 ok read 2");
    let result = analyze(&events);
    assert_eq!((result.reads, result.acknowledged_writes, result.final_reads, result.unjudged_keys), (1, 1, 0, 1));
}

/// Every read misses the write just before it: a long history is judged read by read.
fn sequential(writes: i64) -> Vec<Event> {
    let mut events = Vec::new();
    for i in 1..=writes {
        let process = Process::Client(i as u64 % 4);
        for (kind, f, value) in [
            (EventType::Invoke, "write", Value::Int(i)),
            (EventType::Ok, "write", Value::Int(i)),
            (EventType::Invoke, "read", Value::Nil),
            (EventType::Ok, "read", if i == 1 { Value::Nil } else { Value::Int(i - 1) }),
        ] {
            events.push(Event::new(process.clone(), kind, f, value));
        }
    }
    events
}

#[test]
fn long_histories_are_judged_read_by_read() {
    let writes = 50_000;
    let result = analyze(&sequential(writes));
    assert_eq!(result.stale_reads.len(), writes as usize);
    assert!(result
        .stale_reads
        .iter()
        .enumerate()
        .all(|(i, s)| s.read_event == 4 * i + 3 && s.missed_write_event == 4 * i + 1));
    // The final read returns the value before the last write: only that write is lost.
    let lost: Vec<usize> = result.lost_writes.iter().map(|l| l.write_event).collect();
    assert_eq!(lost, vec![4 * (writes as usize - 1)]);
    assert_eq!((result.reads, result.acknowledged_writes, result.final_reads), (writes as usize, writes as usize, 1));
}
