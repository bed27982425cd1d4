//! Reading history files: the only place the CLI touches history files.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result};
use history::{EventType, Format, History, Process};

use crate::options::FormatArg;

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
/// more than `max_input + 1` bytes are read.
pub fn read_history(path: &Path, format: FormatArg, max_input: u64) -> Result<History> {
    let bytes = read_at_most(path, max_input)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        anyhow::anyhow!("{}:{line}: not UTF-8 text", path.display())
    })?;
    let history = history::parse(&text, format.into())
        .map_err(|e| anyhow::anyhow!("{}:{}:{}: {}", path.display(), e.line, e.column, e.message))?;
    if !has_operations(&history) {
        anyhow::bail!(
            "{}: no client operation in the history ({} events): nothing to check, which is not a pass",
            path.display(),
            history.events.len()
        );
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
    let (tx, rx) = std::sync::mpsc::channel();
    let owned = path.to_owned();
    std::thread::Builder::new()
        .name("history-reader".to_owned())
        .spawn(move || {
            // The receiver may be gone (the deadline passed): nothing is waiting for the result.
            let _ = tx.send(read_history(&owned, format, max_input));
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

/// The bytes of `path`, refused when there are more than `max`.
fn read_at_most(path: &Path, max: u64) -> Result<Vec<u8>> {
    let too_large = || {
        anyhow::anyhow!(
            "{}: larger than --max-input ({}); raise --max-input to check it",
            path.display(),
            size_label(max)
        )
    };
    let file = std::fs::File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let known = file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
    if known.is_some_and(|len| len > max) {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(known.and_then(|len| usize::try_from(len).ok()).unwrap_or(0));
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    if bytes.len() as u64 > max {
        return Err(too_large());
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
