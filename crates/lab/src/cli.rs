//! The command line, as clap parses it. Validation beyond what clap checks happens in the
//! subcommands.

use clap::{Parser, Subcommand};

use claims::ClaimsArgs;
use engines::calibration::BenchCalibrationArgs;
use engines::messages::BenchMessagesArgs;
use engines::BenchEnginesArgs;
use runner::options::{
    BenchRegisterArgs, BenchSimArgs, BenchTxnArgs, CheckArgs, CorpusArgs, ExperimentCheckArgs, MergeArgs, RunArgs,
    SimArgs,
};

/// A laboratory for the SQL-vs-NoSQL consistency trade-off.
#[derive(Debug, Parser)]
#[command(name = "lab", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check histories for linearizability.
    ///
    /// Prints one line per file (FILE<TAB>VERDICT<TAB>MILLISECONDS) and a summary. Exit status:
    /// 0 when every file is linearizable, 1 when any is not (or unknown), 2 on an input error.
    Check(CheckArgs),
    /// Check a corpus of histories with known verdicts (a directory with verdicts.tsv), and
    /// measure the checker on it.
    Corpus(CorpusArgs),
    /// Run the SQLite store in one simulation (optionally with a partition and a crash) and
    /// check the history: linearizability, or lost writes for the set workload. Exit status 0
    /// when the history passes, 1 when it does not.
    Sim(Box<SimArgs>),
    /// Benchmark the simulation: the SQLite store's simulated operations per wall second,
    /// beside turmoil's raw echo-RPC rate measured in the same run.
    BenchSim(BenchSimArgs),
    /// Benchmarks on this machine's real hardware.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Work with experiment scripts (experiments/*.toml).
    #[command(subcommand)]
    Experiment(ExperimentCommand),
    /// Run experiment scripts: every system for every seed (in parallel), each history
    /// checked; prints one comparison table per experiment and writes results/NAME/ (the table
    /// as Markdown, CSV and JSON, per-seed records, plots, and the history and witness of every
    /// seed that violated a property). Exit status 0 when every run completed (violations are
    /// findings, not errors), 1 when some run failed, 2 on a usage or file error.
    Run(RunArgs),
    /// Combine the results of `lab run --shard I/N` into the tables of one run.
    Merge(MergeArgs),
    /// The claims ledger: judges each claim (from the seed text and the literature) on what
    /// `lab run` (and `lab bench engines`) wrote, prints the ledger and writes OUT/claims.md
    /// and OUT/claims.json. Exit status 0 when every claim got a verdict, 1 when some claim
    /// is not measured (the command that measures it is named), 2 on unreadable results.
    Claims(ClaimsArgs),
}

/// `lab bench ...`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// The storage engines on this machine's real disk: the quorum store's commit-log engine
    /// and SQLite (default VFS) under every durability setting, beside the disk's raw fsync
    /// rate and append bandwidth measured in the same run. Prints a table and writes
    /// results/engines/. With --write-profile, measures only this disk's profile (sync
    /// latencies in place and with metadata, their tail, bandwidth, the engines' CPU per
    /// commit) and writes it to experiments/disks/measured.toml (or PATH): the `measured` disk
    /// of every experiment (rebuild to use it).
    Engines(BenchEnginesArgs),
    /// Whether the simulation charges each engine its own cost: SQLite (WAL,
    /// synchronous=FULL) and the commit log with a sync per commit, on this disk in
    /// interleaved rounds and in the simulation on the `measured` profile; prints both
    /// per-commit ratios (SQLite / log) and whether they agree within 1.5x. Exit status 1 when
    /// they do not.
    Calibration(BenchCalibrationArgs),
    /// What a message costs the CPU on this machine: the quorum node step per frame received
    /// (decode, `quorum::Node` on `MemStorage`, encode what it sends; three nodes routed
    /// in-process) and a `write` of a frame on a loopback TCP socket (127.0.0.1 only), beside
    /// the capacity model's defaults.
    Messages(BenchMessagesArgs),
    /// The list-append transaction checker (`lab check --model list-append`) on two synthetic
    /// histories (strict serializable by construction, and with stale reads injected): time
    /// per check and the process's peak memory, against the goals of under 10 s and 1 GiB.
    /// Exit status 1 when a goal is not met.
    TxnChecker(BenchTxnArgs),
    /// The linearizability checker on long register histories (1,000,000 operations by
    /// default; one client, then `--clients`), linearizable by construction and with stale
    /// reads injected: time per check and the process's peak memory, against the goals of
    /// under 10 s and 1 GiB. Exit status 1 when a goal is not met.
    RegisterChecker(BenchRegisterArgs),
}

/// `lab experiment ...`.
#[derive(Debug, Subcommand)]
pub enum ExperimentCommand {
    /// Parse and validate experiment files: prints FILE<TAB>ok<TAB>SUMMARY per valid file and
    /// FILE:LINE:COL: ERROR on stderr for the others. Exit status 2 when any file is invalid.
    Check(ExperimentCheckArgs),
    /// List the stores (`[[system]]` kinds) and workloads (`[workload]` kinds) experiment files
    /// may name, with the keys of their tables.
    Registry,
}
