//! The lab's native history format: JSON Lines, one [`Event`] per line.
//!
//! ```text
//! {"process":0,"type":"invoke","f":"write","key":"x","value":3,"time":1000000}
//! {"process":0,"type":"ok","f":"write","key":"x","value":3,"time":1800000}
//! ```
//!
//! Blank lines are skipped. Unknown fields are refused, so a misspelt field is an error
//! rather than a silently missing value.

use std::io::{self, Write};

use crate::{Event, History, ParseError};

/// Parses a JSON Lines history.
pub fn parse(text: &str) -> Result<History, ParseError> {
    crate::stream::read_history(text, crate::Format::Jsonl)
}

/// Parses one line (`line_no`, 1-based) of a JSON Lines history: `None` for a blank line.
pub(crate) fn parse_line(line: &str, line_no: usize) -> Result<Option<Event>, ParseError> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    serde_json::from_str(line).map(Some).map_err(|e| ParseError::new(line_no, e.column().max(1), describe(&e)))
}

/// serde_json appends " at line L column C" to its messages; the line is always 1 here.
fn describe(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

/// Writes events as JSON Lines.
pub fn write<'a, W: Write>(mut out: W, events: impl IntoIterator<Item = &'a Event>) -> io::Result<()> {
    for event in events {
        serde_json::to_writer(&mut out, event)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Renders events as a JSON Lines string.
pub fn to_string<'a>(events: impl IntoIterator<Item = &'a Event>) -> String {
    let mut out = Vec::new();
    // Writing to a Vec cannot fail, and serialising an Event cannot fail.
    let _ = write(&mut out, events);
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EventType, Process, Value};

    #[test]
    fn round_trips_every_field() {
        let mut event =
            Event::new(Process::Client(3), EventType::Invoke, "cas", Value::List(vec![Value::Int(1), Value::Nil]));
        event.key = Some(Value::from("k"));
        event.time = Some(42);
        event.index = Some(7);
        let nemesis = Event::new(Process::Named("nemesis".into()), EventType::Info, "start", Value::Nil);
        let text = to_string([&event, &nemesis]);
        let back = parse(&text).expect("own output parses");
        assert_eq!(back.events, vec![event, nemesis]);
        assert_eq!(back.lines, vec![1, 2]);
    }

    #[test]
    fn names_the_line_and_field_at_fault() {
        let text =
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n\n{\"process\":0,\"type\":\"done\",\"f\":\"read\"}\n";
        let err = parse(text).expect_err("unknown type");
        assert_eq!(err.line, 3);
        assert!(err.message.contains("done"), "{}", err.message);
        assert!(err.message.contains("invoke"), "expected variants are listed: {}", err.message);
    }

    #[test]
    fn refuses_unknown_fields_floats_and_truncation() {
        let misspelt = parse("{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"vaule\":1}").expect_err("misspelt");
        assert!(misspelt.message.contains("vaule"), "{}", misspelt.message);
        let float = parse("{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":1.5}").expect_err("float");
        assert!(float.message.contains("floating-point"), "{}", float.message);
        for big in ["99999999999999999999", "-99999999999999999999"] {
            let text = format!("{{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":{big}}}");
            let error = parse(&text).expect_err("too large");
            assert!(error.message.contains("does not fit in 64 signed bits"), "{}", error.message);
            assert!(!error.message.contains("floating"), "{}", error.message);
        }
        let truncated = parse("{\"process\":0,\"type\":\"ok\",\"f\":\"re").expect_err("truncated");
        assert_eq!(truncated.line, 1);
        assert!(truncated.message.contains("EOF"), "{}", truncated.message);
    }
}
