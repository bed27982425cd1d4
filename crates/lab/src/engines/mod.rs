//! `lab bench engines`: the storage engines on this machine's real disk.

use std::process::ExitCode;

use anyhow::{bail, Result};

use crate::cli::BenchEnginesArgs;

/// Runs `lab bench engines`.
pub fn run(_args: &BenchEnginesArgs) -> Result<ExitCode> {
    bail!("lab bench engines: not built yet")
}
