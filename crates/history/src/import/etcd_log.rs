//! The `jepsen.util` log format of the Porcupine/etcd corpus.
//!
//! ```text
//! INFO  jepsen.util - 0   :invoke   :read   nil
//! INFO  jepsen.util - 0   :ok   :read   3
//! INFO  jepsen.util - 2   :invoke   :cas   [3 0]
//! INFO  jepsen.util - 13   :info   :cas   :timed-out
//! ```
//!
//! After `jepsen.util - ` come four fields separated by a tab (shown as spaces above) or by runs
//! of spaces: the process (an integer, or a name such as `:nemesis`), the event type
//! (`:invoke`, `:ok`, `:fail`, `:info`), the function (a keyword such as `:read`) and the value:
//! the rest of the line, read as one EDN form with the rules of [`super::edn`] (`nil`, `3`,
//! `[3 0]`, `:timed-out`).
//!
//! Lines that do not contain ` jepsen.util - ` are skipped (real Jepsen logs interleave other
//! loggers), as are blank lines. Events have no time: the order of the lines is their
//! real-time order.

use super::edn;
use crate::{Event, History, ParseError};

/// What introduces an operation on a line.
const MARKER: &str = " jepsen.util - ";

/// What an operation line looks like, for error messages.
const EXAMPLE: &str = "`INFO  jepsen.util - 0 :invoke :read nil` (process, type, function, value)";

/// Parses a `jepsen.util` log.
///
/// An empty text (or one of blank lines only) is an empty history; a text with other lines but
/// no operation line at all is an error on line 1, since it is almost certainly not this format.
pub fn parse(text: &str) -> Result<History, ParseError> {
    crate::stream::read_history(text, crate::Format::EtcdLog)
}

/// The log read one line at a time (see [`parse`] for the rules).
#[derive(Default)]
pub(crate) struct LineReader {
    saw_text: bool,
    operations: usize,
}

impl LineReader {
    /// Reads line `line_no` (`ended`: a newline followed it): its event, if it is an operation
    /// line. A last line that was cut off before its fields is an error: skipping it as
    /// another logger's line would lose an operation silently.
    pub fn line(&mut self, line: &str, line_no: usize, ended: bool) -> Result<Option<Event>, ParseError> {
        if line.trim().is_empty() {
            return Ok(None);
        }
        self.saw_text = true;
        let Some(at) = line.find(MARKER) else {
            if !ended && self.operations > 0 {
                return Err(ParseError::new(
                    line_no,
                    column_of(line, line.len()),
                    format!(
                        "the file ends inside this line ({:?}, no newline after it), before its operation fields: a cut-off log",
                        line.trim()
                    ),
                ));
            }
            return Ok(None);
        };
        self.operations += 1;
        parse_operation(line, line_no, at + MARKER.len()).map(Some)
    }

    /// The end of the log: text without a single operation line is an error on line 1, since
    /// it is almost certainly not this format.
    pub fn finish(self) -> Result<(), ParseError> {
        if self.operations == 0 && self.saw_text {
            return Err(ParseError::new(
                1,
                1,
                format!("no jepsen.util operation lines found; expected lines like {EXAMPLE}"),
            ));
        }
        Ok(())
    }
}

/// Parses the fields of an operation line, which start at byte `start` of `line`.
fn parse_operation(line: &str, line_no: usize, start: usize) -> Result<Event, ParseError> {
    let missing = |what: &str, after: &str| {
        ParseError::new(
            line_no,
            column_of(line, line.len()),
            format!("missing {what} after {after}; expected a line like {EXAMPLE}"),
        )
    };
    let (at, token) = next_token(line, start).ok_or_else(|| missing("the process", "`jepsen.util - `"))?;
    let column = column_of(line, at);
    let process = edn::process_of(&edn::read_fragment(token, line_no, column, "the process")?, "the process")?;

    let (at, token) = next_token(line, at + token.len()).ok_or_else(|| missing("the event type", "the process"))?;
    let column = column_of(line, at);
    let kind = edn::event_type_of(&edn::read_fragment(token, line_no, column, "the type")?, "the type")?;

    let (at, token) = next_token(line, at + token.len()).ok_or_else(|| missing("the function", "the event type"))?;
    let column = column_of(line, at);
    let f = edn::name_of(&edn::read_fragment(token, line_no, column, "the function")?, "the function")?;

    let (at, _) = next_token(line, at + token.len()).ok_or_else(|| {
        ParseError::new(
            line_no,
            column_of(line, line.len()),
            format!(
                "missing the value after the function :{f}; expected an EDN value such as \
                 nil, 3, [3 0] or :timed-out"
            ),
        )
    })?;
    let rest = line.get(at..).unwrap_or_default();
    let value = edn::parse_value_fragment(rest, line_no, column_of(line, at))?;
    Ok(Event::new(process, kind, f, value))
}

/// The next whitespace-delimited token at or after byte `from`: its byte offset and text.
fn next_token(line: &str, from: usize) -> Option<(usize, &str)> {
    let rest = line.get(from..)?;
    let trimmed = rest.trim_start();
    if trimmed.is_empty() {
        return None;
    }
    let start = from + (rest.len() - trimmed.len());
    let len = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
    Some((start, trimmed.get(..len)?))
}

/// The 1-based column (in characters) of byte offset `byte` of `line`.
fn column_of(line: &str, byte: usize) -> usize {
    line.get(..byte).map_or(1, |prefix| prefix.chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EventType, Process, Value};
    use proptest::collection::vec;
    use proptest::prelude::*;

    fn jepsen_dir() -> std::path::PathBuf {
        crate::test_corpus_dir().join("jepsen")
    }

    fn jepsen_files() -> Vec<(String, String)> {
        let mut files: Vec<_> = std::fs::read_dir(jepsen_dir())
            .expect("the jepsen corpus is readable")
            .map(|entry| entry.expect("a directory entry").path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "log"))
            .map(|path| {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                let text = std::fs::read_to_string(&path).expect("a readable corpus file");
                (name.unwrap_or_default(), text)
            })
            .collect();
        files.sort();
        files
    }

    fn jepsen_file(name: &str) -> String {
        std::fs::read_to_string(jepsen_dir().join(name)).expect("a readable corpus file")
    }

    fn op(process: u64, kind: EventType, f: &str, value: Value) -> Event {
        Event::new(Process::Client(process), kind, f, value)
    }

    fn pair(a: i64, b: i64) -> Value {
        Value::List(vec![Value::Int(a), Value::Int(b)])
    }

    fn err(text: &str) -> ParseError {
        match parse(text) {
            Ok(history) => panic!("expected an error for {text:?}, parsed {history:?}"),
            Err(error) => error,
        }
    }

    fn assert_error(error: &ParseError, line: usize, column: usize, fragments: &[&str]) {
        assert_eq!((error.line, error.column), (line, column), "position of: {error}");
        for fragment in fragments {
            assert!(error.message.contains(fragment), "{fragment:?} missing from: {error}");
        }
    }

    #[test]
    fn a_log_cut_inside_the_last_lines_prefix_is_an_error_not_a_skipped_line() {
        let whole = "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.util - 0\t:ok\t:read\t3\n";
        assert_eq!(parse(whole).expect("whole").events.len(), 2);
        for cut in ["INFO  jepsen.ut", "INFO", "INFO  jepsen.util -"] {
            let text = format!("INFO  jepsen.util - 0\t:invoke\t:read\tnil\n{cut}");
            assert_error(&err(&text), 2, cut.chars().count() + 1, &["ends inside this line", "cut-off"]);
        }
        // Another logger's last line, complete with its newline, is still skipped.
        let other = "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.core - done\n";
        assert_eq!(parse(other).expect("other logger").events.len(), 1);
    }

    /// 1-based column (in characters) of the first occurrence of `needle` in `text`.
    fn col(text: &str, needle: &str) -> usize {
        let byte = text.find(needle).expect("needle in text");
        text[..byte].chars().count() + 1
    }

    /// The column just past the end of `line`.
    fn end(line: &str) -> usize {
        line.chars().count() + 1
    }

    #[test]
    fn parses_every_jepsen_corpus_file() {
        let files = jepsen_files();
        assert_eq!(files.len(), 103, "etcd_000 ..= etcd_102");
        let mut total = 0;
        for (name, text) in files {
            let history = parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            let op_lines: Vec<u32> = text
                .lines()
                .enumerate()
                .filter(|(_, line)| line.starts_with("INFO  jepsen.util - "))
                .map(|(i, _)| i as u32 + 1)
                .collect();
            // The corpus holds nothing but operation lines.
            assert_eq!(op_lines.len(), text.lines().count(), "{name}");
            assert_eq!(history.len(), op_lines.len(), "{name}");
            assert_eq!(history.lines, op_lines, "{name}");
            if name == "etcd_095.log" {
                assert!(history.is_empty(), "etcd_095 is empty");
            } else {
                assert!((140..=200).contains(&history.len()), "{name}: {}", history.len());
            }
            for event in &history.events {
                assert!(matches!(event.process, Process::Client(_)), "{name}: {event:?}");
                assert!(["read", "write", "cas"].contains(&event.f.as_str()), "{name}");
                assert!(event.key.is_none() && event.time.is_none() && event.index.is_none());
            }
            total += history.len();
        }
        assert_eq!(total, 17_046);
    }

    #[test]
    fn spot_checks_jepsen_events() {
        let history = parse(&jepsen_file("etcd_000.log")).expect("etcd_000 parses");
        assert_eq!(history.len(), 170);
        assert_eq!(history.events[0], op(0, EventType::Invoke, "read", Value::Nil));
        assert_eq!(history.events[2], op(2, EventType::Invoke, "write", Value::Int(4)));
        assert_eq!(history.events[12], op(0, EventType::Ok, "read", Value::Int(3)));
        assert_eq!(history.events[18], op(2, EventType::Invoke, "cas", pair(3, 0)));
        assert_eq!(history.events[28], op(1, EventType::Fail, "cas", pair(0, 3)));
        assert_eq!(history.events[60], op(4, EventType::Info, "write", Value::from("timed-out")));
        assert_eq!(history.lines[60], 61);

        // Space-separated (etcd_100 ..= etcd_102).
        let history = parse(&jepsen_file("etcd_100.log")).expect("etcd_100 parses");
        assert_eq!(history.len(), 154);
        assert_eq!(history.events[0], op(1, EventType::Invoke, "write", Value::Int(3)));
        assert_eq!(history.events[2], op(4, EventType::Invoke, "cas", pair(1, 2)));
        assert_eq!(history.events[5], op(0, EventType::Fail, "cas", pair(4, 3)));
    }

    #[test]
    fn round_trips_through_jsonl() {
        for (name, text) in jepsen_files() {
            let history = parse(&text).expect("corpus parses");
            let jsonl = crate::jsonl::to_string(&history.events);
            let back = crate::jsonl::parse(&jsonl).expect("own JSONL parses");
            assert_eq!(back.events, history.events, "{name}");
        }
    }

    #[test]
    fn tabs_and_spaces_give_the_same_events() {
        let tabs = "INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]\n";
        let spaces = "INFO  jepsen.util - 2   :invoke :cas    [3 0]   \n";
        assert_eq!(parse(tabs), parse(spaces));
        assert_eq!(parse(tabs).expect("parses").events, vec![op(2, EventType::Invoke, "cas", pair(3, 0))]);
    }

    #[test]
    fn skips_other_loggers_and_blank_lines() {
        let text = "2015-01-01 INFO  jepsen.core - Running test\r\n\
                    \r\n\
                    INFO  jepsen.util - 0\t:invoke\t:read\tnil\r\n\
                    WARN  jepsen.control - ssh hiccup\r\n\
                    INFO  jepsen.util - :nemesis\t:info\t:start\t\"Cut off [n1 n2]\"\r\n\
                    INFO  jepsen.util - 0\t:ok\t:read\t3 ; trailing comment\r\n";
        let history = parse(text).expect("parses");
        assert_eq!(
            history.events,
            vec![
                op(0, EventType::Invoke, "read", Value::Nil),
                Event::new(Process::Named("nemesis".into()), EventType::Info, "start", Value::from("Cut off [n1 n2]")),
                op(0, EventType::Ok, "read", Value::Int(3)),
            ]
        );
        assert_eq!(history.lines, vec![3, 5, 6]);
    }

    #[test]
    fn empty_text_is_an_empty_history_but_no_op_lines_is_an_error() {
        assert_eq!(parse(""), Ok(History::default()));
        assert_eq!(parse("\n  \n"), Ok(History::default()));
        let error = err("INFO  jepsen.core - Running\nsomething else\n");
        assert_error(&error, 1, 1, &["no jepsen.util operation lines found"]);
    }

    #[test]
    fn missing_fields_are_named() {
        let prefix = "INFO  jepsen.util - ";
        let second = format!("{prefix}0\t:ok\t:read");
        let text = format!("{prefix}0\t:invoke\t:read\tnil\n{second}\n");
        assert_error(&err(&text), 2, end(&second), &["missing the value after the function :read", "nil, 3, [3 0]"]);
        let text = format!("{prefix}0\t:ok\t ");
        assert_error(&err(&text), 1, end(&text), &["missing the function after the event type"]);
        let text = format!("{prefix}0");
        assert_error(&err(&text), 1, end(&text), &["missing the event type after the process"]);
        let text = prefix;
        assert_error(&err(text), 1, end(text), &["missing the process"]);
    }

    #[test]
    fn unknown_type() {
        let text = "INFO  jepsen.util - 0\t:done\t:read\tnil";
        assert_error(
            &err(text),
            1,
            col(text, ":done"),
            &["unknown event type", "the type", ":done", ":invoke", ":ok", ":fail", ":info"],
        );
        let text = "INFO  jepsen.util - 0\t7\t:read\tnil";
        assert_error(&err(text), 1, col(text, "7"), &["expected the type to be one of", "integer 7"]);
    }

    #[test]
    fn garbage_after_the_value() {
        let text = "INFO  jepsen.util - 0\t:ok\t:read\t3 4";
        assert_error(&err(text), 1, col(text, "4"), &["unexpected `4` after the value", "end of the line"]);
        let text = "INFO  jepsen.util - 0\t:ok\t:cas\t[3 0]]";
        assert_error(&err(text), 1, col(text, "]]") + 1, &["unexpected `]` after the value"]);
    }

    #[test]
    fn bad_values_and_processes() {
        let text = "INFO  jepsen.util - 0\t:ok\t:cas\t[3 0";
        assert_error(&err(text), 1, col(text, "["), &["unterminated vector", "the line ended"]);
        let text = "INFO  jepsen.util - 0\t:ok\t:read\t{:a 1}";
        assert_error(&err(text), 1, col(text, "{"), &["unsupported value in the value", "found a map"]);
        let text = "INFO  jepsen.util - 0\t:ok\t:read\t1.5";
        assert_error(&err(text), 1, col(text, "1.5"), &["floating-point number 1.5"]);
        let text = "INFO  jepsen.util - -3\t:ok\t:read\tnil";
        assert_error(&err(text), 1, col(text, "-3"), &["expected the process to be a non-negative integer"]);
        let text = "INFO  jepsen.util - [0]\t:ok\t:read\tnil";
        assert_error(&err(text), 1, col(text, "[0]"), &["expected the process to be an integer or a name"]);
        let text = "INFO  jepsen.util - 0\t:ok\t[read]\tnil";
        assert_error(&err(text), 1, col(text, "[read]"), &["expected the function to be a keyword"]);
        // Columns count characters.
        let text = "INFÖ  jepsen.util - 0\t:ok\t:read\t{}";
        assert_error(&err(text), 1, 33, &["found a map"]);
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_text(text in any::<String>()) {
            let _ = parse(&text);
            let _ = parse(&format!("INFO  jepsen.util - {text}"));
        }

        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in vec(any::<u8>(), 0..512)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = parse(&text);
            let _ = parse(&format!("x jepsen.util - {text}"));
        }

        #[test]
        fn never_panics_on_op_like_noise(text in r#"[0-9:a-z \t\[\]{}()"\\#_;,.\-é]{0,80}"#) {
            let _ = parse(&format!("INFO  jepsen.util - {text}"));
        }

        #[test]
        fn never_panics_on_truncations(cut in 0usize..7_000) {
            let text = jepsen_file("etcd_000.log");
            let cut = cut.min(text.len());
            let prefix = text.get(..cut).unwrap_or_default();
            if let Err(error) = parse(prefix) {
                prop_assert!(error.line >= 1 && error.column >= 1);
                prop_assert!(!error.message.is_empty());
            }
        }
    }
}
