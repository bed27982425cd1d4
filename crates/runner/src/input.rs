//! Reading history files: the only place the CLI touches history files.

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

/// Reads and parses one history file; errors name the file, line and column.
pub fn read_history(path: &Path, format: FormatArg) -> Result<History> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
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
