//! Streaming reads: events handed to a sink as they are parsed, so that a large history never
//! sits in memory whole, neither as text nor as events (a `Vec<Event>` takes about three times
//! the JSON Lines it came from).
//!
//! [`read`] takes any [`BufRead`] and a sink called with each event and its source line. The
//! line formats (JSON Lines, the `jepsen.util` log) are read one line at a time; EDN as a stream
//! of characters, a top-level vector one element at a time (it may span the whole file).
//!
//! [`crate::parse`] on a `&str` is this same reader with a [`History`] as the sink, so the
//! two agree on every input.

use std::io::{self, BufRead};

use crate::import::{edn, etcd_log, Format};
use crate::{jsonl, Event, History, ParseError};

/// Why a streamed read stopped.
#[derive(Debug)]
pub enum StreamError<E> {
    /// The input is not a history in the format (or not UTF-8 text).
    Parse(ParseError),
    /// The input could not be read.
    Io(io::Error),
    /// The sink refused an event.
    Sink(E),
}

impl<E> From<ParseError> for StreamError<E> {
    fn from(error: ParseError) -> Self {
        StreamError::Parse(error)
    }
}

/// One line of the input: its 1-based number, its text without the line ending, and whether
/// a newline ended it (only the last line may lack one).
pub(crate) struct Line {
    pub number: usize,
    pub text: String,
    pub ended: bool,
}

/// The lines of a reader, split as [`str::lines`] splits a text (`\n`, or `\r\n`).
pub(crate) struct Lines<R> {
    reader: R,
    number: usize,
    buffer: Vec<u8>,
}

impl<R: BufRead> Lines<R> {
    pub fn new(reader: R) -> Self {
        Self { reader, number: 0, buffer: Vec::new() }
    }

    /// The next line, `None` at the end of the input.
    pub fn next_line<E>(&mut self) -> Result<Option<Line>, StreamError<E>> {
        self.buffer.clear();
        let read = self.reader.read_until(b'\n', &mut self.buffer).map_err(StreamError::Io)?;
        if read == 0 {
            return Ok(None);
        }
        self.number += 1;
        let ended = self.buffer.last() == Some(&b'\n');
        if ended {
            self.buffer.pop();
            if self.buffer.last() == Some(&b'\r') {
                self.buffer.pop();
            }
        }
        let text = String::from_utf8(std::mem::take(&mut self.buffer)).map_err(|e| {
            let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let column = String::from_utf8_lossy(valid).chars().count() + 1;
            ParseError::new(self.number, column, "not UTF-8 text")
        })?;
        Ok(Some(Line { number: self.number, text, ended }))
    }
}

/// Reads a history from `reader` in `format` (detected from the first non-blank line when
/// `Auto`), calling `sink` with each event and its 1-based source line, in order. An input of
/// blank lines only is an empty history (no call).
pub fn read<R: BufRead, E>(
    reader: R,
    format: Format,
    mut sink: impl FnMut(Event, usize) -> Result<(), E>,
) -> Result<(), StreamError<E>> {
    let mut lines = Lines::new(reader);
    // Lines read before the format is known, handed to the format's reader first.
    let mut held: Vec<Line> = Vec::new();
    let format = match format {
        Format::Auto => loop {
            let Some(line) = lines.next_line()? else { break Format::Jsonl };
            let blank = line.text.trim().is_empty();
            held.push(line);
            if !blank {
                let first = &held[held.len() - 1].text;
                break Format::detect(first).ok_or_else(|| ParseError::new(1, 1, crate::import::UNKNOWN_FORMAT))?;
            }
        },
        other => other,
    };
    let mut held = held.into_iter();
    let mut next = move || -> Result<Option<Line>, StreamError<E>> {
        match held.next() {
            Some(line) => Ok(Some(line)),
            None => lines.next_line(),
        }
    };
    match format {
        Format::Jsonl => {
            while let Some(line) = next()? {
                if let Some(event) = jsonl::parse_line(&line.text, line.number)? {
                    sink(event, line.number).map_err(StreamError::Sink)?;
                }
            }
        }
        Format::EtcdLog => {
            let mut reader = etcd_log::LineReader::default();
            while let Some(line) = next()? {
                if let Some(event) = reader.line(&line.text, line.number, line.ended)? {
                    sink(event, line.number).map_err(StreamError::Sink)?;
                }
            }
            reader.finish()?;
        }
        Format::Edn => {
            // The characters of each line, then its newline; a read error ends the characters
            // and is reported in place of whatever the reader made of the cut.
            let mut failed: Option<StreamError<E>> = None;
            let mut pending = Vec::new().into_iter();
            let chars = std::iter::from_fn(|| loop {
                if let Some(c) = pending.next() {
                    return Some(c);
                }
                if failed.is_some() {
                    return None;
                }
                match next() {
                    Ok(Some(mut line)) => {
                        if line.ended {
                            line.text.push('\n');
                        }
                        pending = line.text.chars().collect::<Vec<char>>().into_iter();
                    }
                    Ok(None) => return None,
                    Err(error) => {
                        failed = Some(error);
                        return None;
                    }
                }
            });
            let read = edn::read_events(chars, &mut sink);
            if let Some(error) = failed {
                return Err(error);
            }
            read?;
        }
        Format::Auto => unreachable!("resolved above"),
    }
    Ok(())
}

/// [`read`] into a [`History`].
pub(crate) fn read_history(text: &str, format: Format) -> Result<History, ParseError> {
    let mut history = History::default();
    let sink = |event: Event, line: usize| -> Result<(), std::convert::Infallible> {
        history.push(event, line);
        Ok(())
    };
    match read(text.as_bytes(), format, sink) {
        Ok(()) => Ok(history),
        Err(StreamError::Parse(error)) => Err(error),
        Err(StreamError::Io(error)) => Err(ParseError::new(1, 1, error.to_string())),
        Err(StreamError::Sink(never)) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn streamed(text: &str, format: Format) -> Result<History, ParseError> {
        // A one-byte buffer: every line arrives in pieces.
        let reader = io::BufReader::with_capacity(1, text.as_bytes());
        let mut history = History::default();
        read(reader, format, |event, line| -> Result<(), ()> {
            history.push(event, line);
            Ok(())
        })
        .map_err(|e| match e {
            StreamError::Parse(error) => error,
            other => panic!("{other:?}"),
        })?;
        Ok(history)
    }

    #[test]
    fn a_stream_in_pieces_reads_as_the_whole_text() {
        let texts = [
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\r\n\n{\"process\":0,\"type\":\"ok\",\"f\":\"read\",\"value\":1}",
            "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nother logger\nINFO  jepsen.util - 0\t:ok\t:read\t3\n",
            "[{:process 0, :type :invoke, :f :read}\n {:process 0, :type :ok, :f :read, :value 1}]",
            "\n\n",
            "",
        ];
        for text in texts {
            let whole = crate::parse(text, Format::Auto).expect("parses");
            assert_eq!(streamed(text, Format::Auto).expect("parses"), whole, "{text:?}");
        }
        assert_eq!(streamed(texts[0], Format::Auto).expect("parses").lines, vec![1, 3]);
    }

    #[test]
    fn errors_name_the_line_in_a_stream() {
        let error = streamed("{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n{\"process\":0,", Format::Auto)
            .expect_err("cut");
        assert_eq!(error.line, 2);
        let mut bytes = b"{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n{\"f\":\"\xff\"}\n".to_vec();
        let error = match read(&bytes[..], Format::Jsonl, |_, _| -> Result<(), ()> { Ok(()) }) {
            Err(StreamError::Parse(error)) => error,
            other => panic!("{other:?}"),
        };
        assert_eq!((error.line, error.column, error.message.as_str()), (2, 7, "not UTF-8 text"));
        bytes.clear();
        let cut = "INFO  jepsen.util - 0\t:invoke\t:read\tnil\nINFO  jepsen.u";
        assert_eq!(streamed(cut, Format::EtcdLog).expect_err("cut").line, 2);
    }

    #[test]
    fn an_edn_vector_is_handed_over_one_event_at_a_time() {
        // The vector never closes: read whole, it would be an error before any event.
        let text = "[{:process 0, :type :invoke, :f :read}\n {:process 0, :type :ok, :f :read, :value 1}\n {:process";
        let mut lines = Vec::new();
        let result = read(io::BufReader::with_capacity(1, text.as_bytes()), Format::Auto, |_, line| {
            lines.push(line);
            if line == 2 {
                Err("enough")
            } else {
                Ok(())
            }
        });
        assert!(matches!(result, Err(StreamError::Sink("enough"))), "{result:?}");
        assert_eq!(lines, vec![1, 2]);
        // Read to the end, the cut map is an error.
        let error = crate::parse(text, Format::Auto).expect_err("unterminated");
        assert_eq!(error.line, 3, "{error}");
    }

    #[test]
    fn a_sink_error_stops_the_read() {
        let text =
            "{\"process\":0,\"type\":\"invoke\",\"f\":\"read\"}\n{\"process\":1,\"type\":\"invoke\",\"f\":\"read\"}\n";
        let mut seen = 0;
        let result = read(text.as_bytes(), Format::Auto, |_, line| {
            seen += 1;
            if line == 1 {
                Err("stop")
            } else {
                Ok(())
            }
        });
        assert!(matches!(result, Err(StreamError::Sink("stop"))));
        assert_eq!(seen, 1);
    }
}
