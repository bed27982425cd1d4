//! Experiment files of `kind = "staleness"`, run by `lab run` beside the fault experiments.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Result};

use crate::cli::RunArgs;

/// Parses and validates a `kind = "staleness"` file; the summary `lab experiment check` prints.
pub fn check(file: &Path, _text: &str) -> Result<String> {
    bail!("{}: kind = \"staleness\" is not supported yet", file.display())
}

/// Runs a checked file: writes `args.out/NAME/` and prints its table to `out`. Returns
/// whether every run completed.
pub fn run(file: &Path, text: &str, _args: &RunArgs, _out: &mut dyn Write) -> Result<bool> {
    check(file, text)?;
    Ok(false)
}
