//! `lab experiment check FILE...`: every experiment kind parsed and validated, nothing run.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use experiment::spec::parse;
use experiment::ScriptKind;

use crate::options::ExperimentCheckArgs;

/// `lab experiment check FILE...`: one line per valid file on stdout
/// (`FILE<TAB>ok<TAB>N systems, M seeds, K faults`), each error on stderr; exit 2 on any error.
pub fn check(args: &ExperimentCheckArgs) -> Result<ExitCode> {
    let mut failed = false;
    let mut out = std::io::stdout().lock();
    for file in &args.files {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => {
                eprintln!("{}: cannot read: {e}", file.display());
                failed = true;
                continue;
            }
        };
        let checked = match ScriptKind::of(&text) {
            ScriptKind::Scaling => Some(crate::scaling::check(file, &text)),
            ScriptKind::Staleness => Some(crate::staleness::check(file, &text)),
            ScriptKind::Faults => None,
        };
        if let Some(checked) = checked {
            match checked {
                Ok(summary) => writeln!(out, "{}\tok\t{summary}", file.display())?,
                Err(error) => {
                    eprintln!("{error:#}");
                    failed = true;
                }
            }
            continue;
        }
        match parse(file, &text) {
            Ok(experiment) => writeln!(
                out,
                "{}\tok\t{} systems, {} seeds, {} faults",
                file.display(),
                experiment.systems.len(),
                experiment.seeds.len(),
                experiment.faults
            )?,
            Err(error) => {
                eprintln!("{error}");
                failed = true;
            }
        }
    }
    Ok(if failed { ExitCode::from(2) } else { ExitCode::SUCCESS })
}
