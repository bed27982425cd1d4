//! `lab`: the command-line front end of the consistency laboratory.
//!
//! Every capability of the lab is a subcommand (see [`cli`]). This file only parses the
//! arguments, runs the subcommand and turns its result into an exit status:
//! 0 success, 1 a negative finding (a history that is not linearizable, a corpus verdict
//! that disagrees), 2 a usage or input error.

mod bench;
mod check;
mod claims;
mod cli;
mod corpus;
mod engines;
mod experiment;
mod input;
mod plot;
mod report;
mod run;
mod scaling;
mod simulate;
mod staleness;

use std::process::ExitCode;

use clap::Parser;

use cli::{BenchCommand, Cli, Command, ExperimentCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => check::run(&args),
        Command::Corpus(args) => corpus::run(&args),
        Command::Sim(args) => simulate::run(&args),
        Command::BenchSim(args) => bench::run(&args),
        Command::Bench(BenchCommand::Engines(args)) => engines::run(&args),
        Command::Experiment(ExperimentCommand::Check(args)) => experiment::check(&args),
        Command::Run(args) => run::run(&args),
        Command::Merge(args) => run::merge::merge(&args),
        Command::Claims(args) => claims::run(&args),
    };
    match result {
        Ok(code) => code,
        // The reader went away (`lab ... | head`): nothing left to say to anyone.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("lab: error: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<std::io::Error>())
        .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
