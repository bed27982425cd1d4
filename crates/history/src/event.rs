//! The event model: one line of a history.

use serde::{Deserialize, Serialize};

use crate::Value;

/// Who issued an operation. Jepsen clients are numbered; other actors (the nemesis) are named.
/// A named process is not a client: the checker ignores its events.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Process {
    /// A client process (Jepsen's integer process id).
    Client(u64),
    /// A non-client actor such as `nemesis`.
    Named(String),
}

impl std::fmt::Display for Process {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Process::Client(id) => write!(f, "{id}"),
            Process::Named(name) => write!(f, "{name}"),
        }
    }
}

/// The kind of an event: an invocation or one of the three completions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    /// The client sent the operation.
    Invoke,
    /// The operation happened; `value` holds its result.
    Ok,
    /// The operation certainly did not happen.
    Fail,
    /// Indeterminate: the operation may have happened at any time after its invocation, or never.
    Info,
}

impl EventType {
    /// The lowercase name used by every format (`invoke`, `ok`, `fail`, `info`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Invoke => "invoke",
            EventType::Ok => "ok",
            EventType::Fail => "fail",
            EventType::Info => "info",
        }
    }

    /// Parses a lowercase event type name.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "invoke" => Some(EventType::Invoke),
            "ok" => Some(EventType::Ok),
            "fail" => Some(EventType::Fail),
            "info" => Some(EventType::Info),
            _ => None,
        }
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One event of a history.
///
/// `time` is simulated nanoseconds for histories the lab records. Imported histories may lack
/// it; then the order of events in the history is their real-time order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    /// The process that invoked the operation.
    pub process: Process,
    /// Invocation or completion kind.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// The operation's function, such as `read`, `write`, `cas`, `get`, `put`, `append`.
    pub f: String,
    /// The key the operation addresses, for multi-key workloads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<Value>,
    /// The operation's argument (on invoke) or result (on completion).
    #[serde(default, skip_serializing_if = "Value::is_nil")]
    pub value: Value,
    /// Simulated time in nanoseconds, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<u64>,
    /// Jepsen's event index, when the source had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
}

impl Event {
    /// An event with no key, time or index.
    pub fn new(process: Process, kind: EventType, f: impl Into<String>, value: Value) -> Self {
        Self { process, kind, f: f.into(), key: None, value, time: None, index: None }
    }
}

/// A parsed history: the events, and for each event the 1-based source line it came from
/// (so that later errors can point back into the file).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// The events, in the order the source gave them.
    pub events: Vec<Event>,
    /// `lines[i]` is the source line of `events[i]` (4 bytes: a long history keeps one per
    /// event; see [`History::push_line`]).
    pub lines: Vec<u32>,
}

impl History {
    /// Appends an event read from source line `line`.
    pub fn push(&mut self, event: Event, line: usize) {
        self.events.push(event);
        self.push_line(line);
    }

    /// Appends the source line of the next event alone (a reader that keeps the lines, not
    /// the events). A line past `u32::MAX`, beyond 4 GiB of text, is kept as `u32::MAX`.
    pub fn push_line(&mut self, line: usize) {
        self.lines.push(u32::try_from(line).unwrap_or(u32::MAX));
    }

    /// Number of events.
    pub fn len(&self) -> usize {
        self.events.len()
    }

    /// True when the history holds no events.
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}
