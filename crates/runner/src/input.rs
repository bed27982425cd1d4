//! Reading history files: the only place the CLI touches history files.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use history::{EventType, Format, History, Process};

use crate::options::{FormatArg, ModelArg};

impl From<FormatArg> for Format {
    fn from(arg: FormatArg) -> Self {
        match arg {
            FormatArg::Auto => Format::Auto,
            FormatArg::Jsonl => Format::Jsonl,
            FormatArg::Edn => Format::Edn,
            FormatArg::EtcdLog => Format::EtcdLog,
        }
    }
}

/// Reads and parses one history file of at most `max_input` bytes; errors name the file,
/// line and column. A larger input (a huge file, a device that never ends) is refused before
/// more than `max_input + 1` bytes are read. The file is parsed as a stream: its text is never
/// held whole (only the events are).
pub fn read_history(path: &Path, format: FormatArg, max_input: u64) -> Result<History> {
    let source = Source::open(path, max_input)?;
    let mut history = History::default();
    source.stream(path, format, |event, line| -> Result<(), std::convert::Infallible> {
        history.push(event, line);
        Ok(())
    })?;
    if !has_operations(&history) {
        return Err(no_operations(path, history.events.len()));
    }
    Ok(history)
}

/// [`read_history`], given until `deadline`: `Ok(None)` when the deadline passed first (the
/// file's verdict is then `unknown`, as for a search cut off by `--timeout`). The file is read
/// and parsed on a thread of its own, so that reading a slow device or parsing a large file
/// never holds the answer past the deadline; a thread still parsing then is left to finish
/// and its result dropped.
pub fn read_history_until(
    path: &Path,
    format: FormatArg,
    max_input: u64,
    deadline: std::time::Instant,
) -> Result<Option<History>> {
    let owned = path.to_owned();
    until(path, deadline, move || read_history(&owned, format, max_input))
}

/// A history file read for a linearizability model: its operations, never its events.
pub struct PreparedFile {
    /// The model, as asked or inferred from the functions the history uses.
    pub model: &'static str,
    /// The operations.
    pub prepared: checker::NamedPrepared,
    /// The source line of every event (a history without events: reports need only these).
    pub lines: History,
}

/// Reads one history file as a stream straight into `model`'s operations
/// ([`checker::NamedPreparer`]), so that neither its text nor its events are ever held whole:
/// what stays in memory is the operations and each event's line number. With `ModelArg::Auto`
/// the file is read twice, first for the functions it uses (a regular file is read again
/// from the disk; any other input is kept in memory, within `max_input`, to be read twice).
pub fn prepare_history(path: &Path, format: FormatArg, max_input: u64, model: ModelArg) -> Result<PreparedFile> {
    let source = Source::open(path, max_input)?;
    let model = match model {
        ModelArg::Auto => {
            let mut functions: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
            source.stream(path, format, |event, _| -> Result<(), std::convert::Infallible> {
                functions.insert(event.f);
                Ok(())
            })?;
            checker::infer_from_functions(functions.iter().map(String::as_str))
        }
        named => crate::check::model_name(named, &History::default()),
    };
    let mut preparer = checker::NamedPreparer::new(model).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut lines = History::default();
    let pushed = source.stream(path, format, |event, line| {
        lines.push_line(line);
        preparer.push(&event)
    });
    let located = |error: checker::CheckError| match error {
        checker::CheckError::Event { event, message } => {
            anyhow::anyhow!("{}: {message}", event_location(path, &lines, event))
        }
        other => anyhow::anyhow!("{}: {other}", path.display()),
    };
    ended(pushed, located)?;
    if preparer.invocations() == 0 {
        return Err(no_operations(path, preparer.events()));
    }
    let prepared = preparer.finish().map_err(located)?;
    Ok(PreparedFile { model, prepared, lines })
}

/// [`prepare_history`] given until `deadline`, as [`read_history_until`].
pub fn prepare_history_until(
    path: &Path,
    format: FormatArg,
    max_input: u64,
    model: ModelArg,
    deadline: std::time::Instant,
) -> Result<Option<PreparedFile>> {
    let owned = path.to_owned();
    until(path, deadline, move || prepare_history(&owned, format, max_input, model))
}

/// A transactional history file, read as a stream: what its check needs, never its events.
pub struct TxnFile {
    /// The transactions (list-append) or the finished report (bank: judged while read).
    pub read: TxnRead,
    /// The source line of every event (a history without events).
    pub lines: History,
}

/// What a transactional history file holds for its check.
pub enum TxnRead {
    /// A list-append history's transactions.
    ListAppend(checker::txn::Parsed),
    /// A bank history's report: the bank invariant is judged read by read as the file is read.
    Bank(checker::BankReport),
}

/// Which transactional checker reads a file.
#[derive(Debug, Clone, Copy)]
pub enum TxnModel {
    /// Elle's list-append inference.
    ListAppend,
    /// The bank invariant, against `total` (or the first `ok` read's sum).
    Bank {
        /// The total every read must sum to.
        total: Option<i64>,
    },
}

/// Reads one list-append or bank history file as a stream straight into its checker's reader
/// ([`checker::ListAppendReader`], [`checker::BankReader`]): what stays in memory is the
/// transactions (or only the pending invocations) and each event's line number.
pub fn read_transactions(path: &Path, format: FormatArg, max_input: u64, model: TxnModel) -> Result<TxnFile> {
    let source = Source::open(path, max_input)?;
    let mut lines = History::default();
    // Streams the file into `push`, each event's line into `lines`.
    let mut stream = |push: &mut dyn FnMut(&history::Event) -> Result<(), checker::TxnError>| {
        let pushed = source.stream(path, format, |event, line| {
            lines.push_line(line);
            push(&event)
        });
        ended(pushed, |error| match error {
            checker::TxnError::Event { event, message } => {
                anyhow::anyhow!("{}: {message}", event_location(path, &lines, event))
            }
            other => anyhow::anyhow!("{}: {other}", path.display()),
        })
    };
    let (read, invocations, events) = match model {
        TxnModel::Bank { total } => {
            let mut reader = checker::BankReader::new(total);
            stream(&mut |event| reader.push(event))?;
            let (invocations, events) = (reader.invocations(), reader.events());
            (TxnRead::Bank(reader.finish()), invocations, events)
        }
        TxnModel::ListAppend => {
            let mut reader = checker::ListAppendReader::new();
            stream(&mut |event| reader.push(event))?;
            let (invocations, events) = (reader.transactions(), reader.events());
            (TxnRead::ListAppend(reader.finish()), invocations, events)
        }
    };
    if invocations == 0 {
        return Err(no_operations(path, events));
    }
    Ok(TxnFile { read, lines })
}

/// [`read_transactions`] given until `deadline`, as [`read_history_until`].
pub fn read_transactions_until(
    path: &Path,
    format: FormatArg,
    max_input: u64,
    model: TxnModel,
    deadline: std::time::Instant,
) -> Result<Option<TxnFile>> {
    let owned = path.to_owned();
    until(path, deadline, move || read_transactions(&owned, format, max_input, model))
}

/// Runs `work` on a thread of its own and waits for it until `deadline` (`Ok(None)` then).
fn until<T: Send + 'static>(
    path: &Path,
    deadline: std::time::Instant,
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<Option<T>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("history-reader".to_owned())
        .spawn(move || {
            // The receiver may be gone (the deadline passed): nothing is waiting for the result.
            let _ = tx.send(work());
        })
        .with_context(|| format!("{}: cannot start a reader thread", path.display()))?;
    let left = deadline.saturating_duration_since(std::time::Instant::now());
    match rx.recv_timeout(left) {
        Ok(read) => read.map(Some),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Ok(None),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            anyhow::bail!("{}: the reader thread stopped without an answer", path.display())
        }
    }
}

/// The end of a streamed read: a sink's error described by `located`, any other as it is.
fn ended<E>(pushed: std::result::Result<(), StreamFailure<E>>, located: impl FnOnce(E) -> anyhow::Error) -> Result<()> {
    match pushed {
        Ok(()) => Ok(()),
        Err(StreamFailure::Sink(error)) => Err(located(error)),
        Err(StreamFailure::Other(error)) => Err(error),
    }
}

/// Why a streamed read of a file stopped.
enum StreamFailure<E> {
    /// The sink refused an event.
    Sink(E),
    /// Anything else, already described with the file's name (and line and column).
    Other(anyhow::Error),
}

impl From<StreamFailure<std::convert::Infallible>> for anyhow::Error {
    fn from(failure: StreamFailure<std::convert::Infallible>) -> Self {
        match failure {
            StreamFailure::Sink(never) => match never {},
            StreamFailure::Other(error) => error,
        }
    }
}

/// A history's bytes, to be read (once or more) as a stream: a regular file from the disk,
/// anything else (a pipe, a device) from memory, read once within the size limit.
enum Source {
    File { max: u64 },
    Bytes(Vec<u8>),
}

/// A reader that counts what passes through it.
struct Counted<R> {
    inner: R,
    count: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

impl Source {
    fn open(path: &Path, max: u64) -> Result<Self> {
        let file = std::fs::File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
        match file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len()) {
            Some(len) if len > max => Err(too_large(path, max)),
            Some(_) => Ok(Source::File { max }),
            None => Ok(Source::Bytes(read_at_most(path, file, max)?)),
        }
    }

    /// Reads the history through `sink`; errors other than the sink's name the file.
    fn stream<E>(
        &self,
        path: &Path,
        format: FormatArg,
        sink: impl FnMut(history::Event, usize) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), StreamFailure<E>> {
        let other = |e: anyhow::Error| StreamFailure::Other(e);
        let count = std::rc::Rc::new(std::cell::Cell::new(0));
        let (result, max) = match self {
            Source::File { max } => {
                let file = std::fs::File::open(path)
                    .with_context(|| format!("{}: cannot read", path.display()))
                    .map_err(other)?;
                // The file may have grown since it was measured: never read past the limit.
                let limited = Counted { inner: file.take(max.saturating_add(1)), count: count.clone() };
                let reader = std::io::BufReader::with_capacity(1 << 16, limited);
                (history::read(reader, format.into(), sink), *max)
            }
            Source::Bytes(bytes) => (history::read(&bytes[..], format.into(), sink), u64::MAX),
        };
        if count.get() > max {
            return Err(other(too_large(path, max)));
        }
        result.map_err(|e| match e {
            history::StreamError::Sink(e) => StreamFailure::Sink(e),
            history::StreamError::Parse(e) => {
                other(anyhow::anyhow!("{}:{}:{}: {}", path.display(), e.line, e.column, e.message))
            }
            history::StreamError::Io(e) => other(anyhow::anyhow!("{}: cannot read: {e}", path.display())),
        })
    }
}

/// A history of `events` events, none a client invocation: nothing was checked, which is not
/// a pass.
fn no_operations(path: &Path, events: usize) -> anyhow::Error {
    anyhow::anyhow!(
        "{}: no client operation in the history ({events} events): nothing to check, which is not a pass",
        path.display()
    )
}

fn too_large(path: &Path, max: u64) -> anyhow::Error {
    anyhow::anyhow!("{}: larger than --max-input ({}); raise --max-input to check it", path.display(), size_label(max))
}

/// The bytes of `file` (at `path`), refused when there are more than `max`.
fn read_at_most(path: &Path, file: std::fs::File, max: u64) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    if bytes.len() as u64 > max {
        return Err(too_large(path, max));
    }
    Ok(bytes)
}

/// `1 GiB`, `64 KiB`, `1000 bytes`.
fn size_label(bytes: u64) -> String {
    for (shift, unit) in [(30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes >= 1 << shift && bytes % (1 << shift) == 0 {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes} bytes")
}

/// Whether some client process invoked an operation (a history of nothing, or of nemesis
/// events alone, says nothing about the system).
fn has_operations(history: &History) -> bool {
    history.events.iter().any(|e| matches!(e.process, Process::Client(_)) && e.kind == EventType::Invoke)
}

/// Where event `event` of `history` came from, as `FILE:LINE`.
pub fn event_location(path: &Path, history: &History, event: usize) -> String {
    match history.lines.get(event) {
        Some(line) => format!("{}:{line}", path.display()),
        None => path.display().to_string(),
    }
}
