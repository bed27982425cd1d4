//! Client operation histories, the material the linearizability checker judges.
//!
//! A history is a sequence of [`Event`]s in real-time order: a client process *invokes* an
//! operation, and later the operation *completes* as `ok` (it happened, with this result),
//! `fail` (it certainly did not happen) or `info` (unknown: it may have happened at any time
//! after its invocation, or never). This is Jepsen's model.
//!
//! Map of the crate:
//! - [`event`]: [`Event`], [`EventType`], [`Process`] and the [`History`] container.
//! - [`value`]: [`Value`], the dynamically typed payload of an operation.
//! - [`jsonl`]: the lab's native format, one JSON object per line.
//! - [`import`]: importers for Jepsen/Knossos EDN, the Porcupine/etcd `jepsen.util` log, and
//!   format detection ([`Format`]).
//! - [`stream`]: the same parsers over any reader, handing each event to a sink as it is read.
//!
//! Parsers take `&str` or a reader and never open files; errors name the line (and column) at fault and
//! what was expected. Nothing here panics on bad input.

pub mod event;
pub mod import;
pub mod jsonl;
pub mod stream;
pub mod value;

pub use event::{Event, EventType, History, Process};
pub use import::{parse, Format};
pub use stream::{read, StreamError};
pub use value::Value;

/// A history could not be read: where, and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    /// 1-based line of the input at fault.
    pub line: usize,
    /// 1-based column (in characters) at fault; 1 when the whole line is at fault.
    pub column: usize,
    /// What was found and what was expected instead.
    pub message: String,
}

impl ParseError {
    /// An error at `line`, `column` (both 1-based).
    pub fn new(line: usize, column: usize, message: impl Into<String>) -> Self {
        Self { line, column, message: message.into() }
    }
}

/// The Porcupine corpus for tests: `LAB_CORPUS`, else `../shared/corpus/porcupine` beside the
/// repository, else `/work/shared/corpus/porcupine`. Panics when none exists, so corpus tests
/// cannot pass vacuously.
#[cfg(test)]
pub(crate) fn test_corpus_dir() -> std::path::PathBuf {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        std::env::var_os("LAB_CORPUS").map(std::path::PathBuf::from),
        Some(here.join("../../../shared/corpus/porcupine")),
        Some(std::path::PathBuf::from("/work/shared/corpus/porcupine")),
    ]
    .into_iter()
    .flatten()
    .find(|dir| dir.join("verdicts.tsv").is_file())
    .expect("the Porcupine corpus was not found: set LAB_CORPUS to its directory")
}
