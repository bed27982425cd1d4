//! Experiment scripts: one TOML file describes what to compare, under which faults.
//!
//! Parsing happens twice (as ripgrep's flags do): [`raw`] mirrors the file with serde and
//! refuses unknown fields and wrong types; [`spec`] checks values and builds the validated
//! [`Experiment`](spec::Experiment) from the types a run takes. Every error names the file, line and column.
//! `lab experiment check FILE...` runs both and prints a summary per file.
//!
//! # The format
//!
//! ```toml
//! name = "isolate-one-node"
//! question = """
//! What do clients see when one server is cut off from every other host for a while?
//! """
//! seeds = 5                # seeds 1..=5; or a list: seeds = [1, 7, 42]
//! duration = "10s"         # simulated time of client operations (ms, s, m, h)
//!
//! [workload]
//! kind = "kv"              # "register" | "kv" | "set"
//! keys = 10                # kv only (default 10)
//! distribution = "uniform" # kv only: "uniform" | { zipf = 1.0 }
//! client_hosts = 2         # default 2: hosts client-0, client-1, ...
//! clients_per_host = 5     # default 5
//! timeout = "1s"           # default 1s: a later reply is an indeterminate operation
//!
//! [[system]]
//! name = "sqlite-full"     # unique in the file
//! kind = "sqlite"          # host "db"
//! journal = "wal"          # "wal" | "delete" (default wal)
//! synchronous = "full"     # "off" | "normal" | "full" (default full)
//!
//! [[system]]
//! name = "quorum-one"
//! kind = "quorum"          # hosts "n1".."nN"
//! nodes = 3                # 3 to 9 (default 3)
//! n = 3                    # replicas per key, at most nodes (default 3)
//! read = "one"             # "one" | "two" | "three" | "quorum" | "all" (default quorum)
//! write = "one"            # the same, or "any"; or counts instead: r = 2, w = 2
//! mode = "lww"             # "lww" | "abd" (default lww)
//! commitlog = "batch"      # "batch" | { periodic = "10s" } | { group = "50ms" }
//! hints = "strict"         # "off" | "strict" | "sloppy" (default strict)
//! read_repair = "blocking" # "off" | "async" | "blocking" (default blocking)
//! anti_entropy = "1s"      # period; off when absent
//!
//! [[fault]]
//! at = "2s"                # start
//! until = "5s"             # optional end: heal / restart / clock back to 0
//! kind = "isolate"         # cut `node` off from every other host, servers and clients
//! node = "server"
//!
//! # kind = "partition", left = ["client-0"], right = ["server"]
//! # kind = "crash", node = "server"       (ended by a restart)
//! # kind = "crash-all"                    (every server of the system: power loss)
//! # kind = "skew", node = "n2", offset_ms = -2000
//! ```
//!
//! # Host names in faults
//!
//! A fault is checked against every system of the file, in that system's host names: SQLite
//! has one server `db`, the quorum store `n1`..`nN`, and every system has the client hosts
//! `client-0`, `client-1`, ... The name `server` means each system's first server (`db`,
//! `n1`), so one file can isolate or crash "the server" of systems with different hosts. A
//! name some system lacks (`n2` beside a SQLite system) is an error. Crash and skew name
//! servers; isolate and partition name any host. So each system has its own
//! [`sim::Schedule`] ([`System::faults`](spec::System::faults)).
//!
//! Every fault ends before `duration`; faults without `until` last until the run's end, where
//! the simulation heals partitions and restarts crashed hosts before its quiet period.

pub mod raw;
pub mod spec;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use spec::parse;

use crate::cli::ExperimentCheckArgs;

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
