//! Importers and format detection.
//!
//! - [`edn`]: Jepsen/Knossos EDN: a vector of event maps, or one map per line (Porcupine's kv
//!   corpus).
//! - [`etcd_log`]: the `INFO  jepsen.util - P<TAB>:type<TAB>:f<TAB>value` log lines of the
//!   Porcupine/etcd corpus.
//! - [`crate::jsonl`]: the native format.

pub mod edn;
pub mod etcd_log;

use crate::{History, ParseError};

/// A history file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Decide by content (see [`Format::detect`]).
    Auto,
    /// The native JSON Lines format.
    Jsonl,
    /// Jepsen/Knossos EDN.
    Edn,
    /// The `jepsen.util` log format of the etcd corpus.
    EtcdLog,
}

impl Format {
    /// Picks a concrete format from the text: a first non-blank line starting with `{"` is
    /// JSON Lines; one starting with `{`, `[`, `(`, `;` or `#` is EDN; a line containing `jepsen.util` is the
    /// etcd log. An empty text is JSON Lines (an empty history). `None` when nothing fits.
    pub fn detect(text: &str) -> Option<Format> {
        let Some(first) = text.lines().map(str::trim).find(|l| !l.is_empty()) else {
            return Some(Format::Jsonl);
        };
        if first.starts_with('{') {
            let rest = first.trim_start_matches('{').trim_start();
            if rest.starts_with('"') || rest.starts_with('}') {
                return Some(Format::Jsonl);
            }
            return Some(Format::Edn);
        }
        // A vector or a list of events, a comment, a discard (`#_`), a set or a tagged literal.
        if first.starts_with(['[', '(', ';', '#']) {
            return Some(Format::Edn);
        }
        if first.contains("jepsen.util") {
            return Some(Format::EtcdLog);
        }
        None
    }
}

/// The error when [`Format::detect`] finds nothing.
pub(crate) const UNKNOWN_FORMAT: &str = "cannot tell the format: expected JSON Lines ({\"process\": ...}), EDN ({:process ...}, [{...}] or ({...})) or a jepsen.util log line";

/// Parses `text` in `format` (detecting it when `Auto`).
pub fn parse(text: &str, format: Format) -> Result<History, ParseError> {
    crate::stream::read_history(text, format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shape_jepsen_and_knossos_write_is_detected_as_edn() {
        let event = "{:process 0, :type :invoke, :f :write, :value 1}";
        for text in [
            format!("[{event}]"),
            format!("({event})"),
            format!("(\n{event}\n)"),
            format!("; a Knossos history\n({event})"),
            format!("#_ {{:dropped 1}}\n[{event}]"),
            format!("{event}\n{event}"),
        ] {
            assert_eq!(Format::detect(&text), Some(Format::Edn), "{text}");
            let history = parse(&text, Format::Auto).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert!(!history.is_empty(), "{text}");
        }
        assert_eq!(Format::detect("{\"process\":0}"), Some(Format::Jsonl));
        assert_eq!(Format::detect("INFO  jepsen.util - 0\t:invoke\t:read\tnil"), Some(Format::EtcdLog));
        assert_eq!(Format::detect("hello"), None);
    }
}
