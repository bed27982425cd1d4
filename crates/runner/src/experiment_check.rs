//! `lab experiment check FILE...`: every experiment kind parsed and validated, nothing run.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use experiment::{parse, Registry};

use crate::options::ExperimentCheckArgs;

/// `lab experiment registry`: the stores and workloads experiment files may name.
pub fn registry() -> Result<ExitCode> {
    crate::output::stdout().write_all(Registry::standard().listing().as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// `lab experiment check FILE...`: one line per valid file on stdout
/// (`FILE<TAB>ok<TAB>SUMMARY`), each error on stderr; exit 2 on any error.
pub fn check(args: &ExperimentCheckArgs) -> Result<ExitCode> {
    let registry = Registry::standard();
    let mut failed = false;
    let mut out = crate::output::stdout();
    for file in &args.files {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("{}: cannot read: {e}", file.display());
                failed = true;
                continue;
            }
        };
        match parse(&registry, file, &text) {
            Ok(script) => writeln!(out, "{}\tok\t{}", file.display(), script.summary())?,
            Err(error) => {
                eprintln!("{error}");
                failed = true;
            }
        }
    }
    Ok(if failed { ExitCode::from(2) } else { ExitCode::SUCCESS })
}
