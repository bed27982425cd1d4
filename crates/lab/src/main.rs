//! `lab`: the command-line front end of the consistency laboratory.
//!
//! Every capability of the lab is a subcommand (see [`cli`]), carried out by a library crate
//! (`runner`, `claims`, `engines`; experiment files are read by `experiment`). This file only
//! parses the arguments, calls the library and turns its result into an exit status:
//! 0 success, 1 a negative finding (a history that is not linearizable, a corpus verdict
//! that disagrees), 2 a usage or input error.

mod cli;

use std::process::ExitCode;

use clap::Parser;

use cli::{BenchCommand, Cli, Command, ExperimentCommand};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Check(args) => runner::check::run(&args),
        Command::Corpus(args) => runner::corpus::run(&args),
        Command::Sim(args) => runner::simulate::run(&args),
        Command::BenchSim(args) => runner::bench::run(&args),
        Command::Bench(BenchCommand::Engines(args)) => engines::run(&args),
        Command::Bench(BenchCommand::Calibration(args)) => engines::calibration::run(&args),
        Command::Bench(BenchCommand::Messages(args)) => engines::messages::run(&args),
        Command::Bench(BenchCommand::TxnChecker(args)) => runner::txn_bench::run(&args),
        Command::Bench(BenchCommand::RegisterChecker(args)) => runner::register_bench::run(&args),
        Command::Experiment(ExperimentCommand::Check(args)) => runner::experiment_check::check(&args),
        Command::Experiment(ExperimentCommand::Registry) => runner::experiment_check::registry(),
        Command::Run(args) => runner::run::run(&args),
        Command::Merge(args) => runner::run::merge::merge(&args),
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
