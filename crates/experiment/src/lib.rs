//! Experiment files, read into typed specs: one TOML language for every kind of experiment,
//! and the registry of the stores and workloads those files name.
//!
//! Map:
//! - [`source`]: the file cut into sections, each deserialized by the part of the lab that owns
//!   it into a raw serde struct (unknown fields and wrong types refused), then validated; every
//!   error names the file, line and column.
//! - [`common`]: what every kind shares: the head (`name`, `question`), `[workload]` and
//!   `[[system]]`, read through the [`Registry`].
//! - [`store`]: the [`Registry`] and the `Store` seam; [`store::sqlite`], [`store::quorum`].
//! - [`workload`]: the workload seam (generator, operations, judgment); [`workload::register`],
//!   [`workload::kv`], [`workload::set`].
//! - [`properties`]: what a system is (store, N/R/W, ordering, durability), recorded with every
//!   run so that claims select systems by it.
//! - The kinds: [`spec`] (faults, the default: `seeds`, `duration`, `[[fault]]`, `[nemesis]`,
//!   `[disk]`, parsed into [`raw`] first), [`scaling`] (a load sweep), [`staleness`] (PBS trials).
//! - [`value`]: durations, times and names, shared with the command line; [`explain`]: verdicts
//!   rendered for people.
//!
//! `lab experiment check FILE...` reads files of every kind and prints a summary per file.
//!
//! # The format
//!
//! ```toml
//! name = "isolate-one-node"
//! question = """
//! What do clients see when one server is cut off from every other host for a while?
//! """
//! seeds = 5                # seeds 1..=5; or a list: seeds = [1, 7, 42]
//! duration = "10s"         # simulated time of client operations (us, ms, s, m, h)
//! resolution = "10us"      # optional: model time per simulation step, a whole divisor of 1ms
//!                          # (default 1ms). Finer makes sub-ms costs (a 150 us fsync) visible
//!                          # in single operations and costs 1ms/resolution times more steps
//! latency = ["50us", "500us"]  # optional one-way network latency, [min, max] or one fixed
//!                          # value, each at least the resolution (default ["1ms", "10ms"])
//!
//! [workload]
//! kind = "kv"              # "register" | "kv" | "set"
//! keys = 10                # kv only (default 10)
//! distribution = "uniform" # kv only: "uniform" | { zipf = 1.0 }
//! mix = { read = 1, write = 1, cas = 0 }  # register, kv: integer weights (default 2:1:1)
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
//! anti_entropy = "1s"      # period (Merkle trees per token range); off when absent
//! merkle_depth = 10        # 2^depth leaves per token range, 0 to 15
//! max_hint_window = "3h"   # hints kept this long, none for a node down longer
//! read_path = "cassandra"  # "cassandra" (data + digest reads) | "all-replicas"
//! speculative_retry = "99p" # "<p>p" | a delay ("50ms") | "off"
//! serial = false           # true: reads and writes through Paxos (cas always is)
//! token_aware = true       # clients send each operation to a replica of its key
//! (the store's own docs, `store::quorum`, list every key)
//!
//! [[fault]]
//! at = "2s"                # start
//! until = "5s"             # optional end: heal / restart / clock back to 0
//! kind = "isolate"         # cut `node` off from every other host, servers and clients
//! node = "server"          # absent: a server drawn per seed
//!
//! # Network (ended by a heal):
//! # kind = "partition", left = ["client-0"], right = ["server"]
//! # kind = "halves", clients = "split"    (majority | minority of shuffled servers; "split"
//! #                                        deals client hosts to both sides, "all" keeps them
//! #                                        connected to everyone; default "split")
//! # kind = "majorities-ring"              (every server sees a different majority)
//! # kind = "bridge", clients = "split"    (two halves joined through one server)
//! # kind = "one-way", node = "n1"         (n1's outgoing messages dropped)
//! # kind = "cut-clients", servers = ["n1"] (absent: a minority drawn per seed)
//! # kind = "slow", node = "n1", latency = "200ms"  (every link of the node)
//! # kind = "flaky", node = "n1", fail_rate = 0.01  (each message may break its link)
//! # Processes (ended by restarts):
//! # kind = "crash", node = "server"  |  kind = "crash-minority"  |  kind = "crash-all"
//! #   (power loss: the host's unsynced writes are lost, as turmoil's crash does)
//! # kind = "kill", node = "server"   |  kind = "kill-minority"   |  kind = "kill-all"
//! #   (the process is killed, the OS stays up: everything it wrote survives, synced or not;
//! #    while down nothing listens, so connections are refused)
//! # Clocks (ended by the clock back at 0):
//! # kind = "skew", node = "n2", offset_ms = -2000
//! # kind = "strobe", node = "n2", offset_ms = 200, period = "50ms"
//! # Parameters left out (offset_ms, period, latency, fail_rate) are drawn per seed.
//!
//! [nemesis]                # optional: Jepsen's random nemesis, besides any [[fault]]
//! kind = "random"
//! every = "3s"             # a drawn fault starts every other period, ending at the next
//! start = "3s"             # default: one period in
//! end = "30s"              # default: the run's end
//! faults = ["isolate", "halves", "crash", "strobe"]  # any kind but "partition"
//!
//! [disk]                   # optional: turmoil's disk faults on every host, whole run
//! capacity_bytes = 1048576
//! io_error_probability = 0.001
//! # The OS's write-back on every server host (sim::writeback), Linux's defaults: a file (or
//! # directory) dirty for dirty_expire is written back at the next dirty_writeback tick, so a
//! # power loss spares unsynced data older than dirty_expire + dirty_writeback; a kill spares
//! # everything. Each a duration > 0 and <= 1h; dirty_writeback <= duration, or "off" (only
//! # syncs make data durable). Simplified: dirty ratios ignored, write-back takes no time.
//! # A SQLite system's own `writeback` key syncs its files every period on top of this.
//! dirty_expire = "30s"
//! dirty_writeback = "5s"
//! ```
//!
//! # Host names in faults
//!
//! A fault is checked against every system of the file, in that system's host names: SQLite
//! has one server `db`, the quorum store `n1`..`nN`, and every system has the client hosts
//! `client-0`, `client-1`, ... The name `server` means each system's first server (`db`,
//! `n1`), so one file can isolate or crash "the server" of systems with different hosts. A
//! name some system lacks (`n2` beside a SQLite system) is an error. Crash, kill, skew and
//! strobe name servers; the network kinds name any host. Each system has its own planned faults
//! ([`System::faults`](spec::System::faults)), drawn into a [`sim::Schedule`] per seed by
//! [`Experiment::schedule`](spec::Experiment::schedule): the same seed, the same faults.
//!
//! A heal ends every network fault in effect (partitions, one-way cuts, slow and flaky links),
//! as Jepsen's does: network faults that overlap in time end together, at the first `until`.
//!
//! Every fault ends before `duration`; faults without `until` last until the run's end, where
//! the simulation heals partitions and restarts crashed hosts before its quiet period.

pub mod common;
pub mod explain;
pub mod properties;
pub mod raw;
pub mod scaling;
pub mod source;
pub mod spec;
pub mod staleness;
pub mod store;
pub mod value;
pub mod workload;

use std::path::Path;

use toml::Spanned;

pub use source::{Checked, ExperimentError, Source};
pub use store::Registry;

/// A validated experiment file of any kind.
#[derive(Debug, Clone)]
pub enum Script {
    /// Systems under a fault schedule ([`spec`]).
    Faults(spec::Experiment),
    /// `kind = "scaling"`: throughput as offered load and cluster size grow ([`scaling`]).
    Scaling(scaling::Scaling),
    /// `kind = "staleness"`: Probabilistically Bounded Staleness ([`staleness`]).
    Staleness(staleness::StalenessSpec),
}

impl Script {
    /// The experiment's name (results go to `results/NAME/`).
    pub fn name(&self) -> &str {
        match self {
            Script::Faults(e) => &e.name,
            Script::Scaling(s) => &s.name,
            Script::Staleness(s) => &s.name,
        }
    }

    /// The one-line summary `lab experiment check` prints.
    pub fn summary(&self) -> String {
        match self {
            Script::Faults(e) => format!("{} systems, {} seeds, {} faults", e.systems.len(), e.seeds.len(), e.faults),
            Script::Scaling(s) => s.summary(),
            Script::Staleness(s) => s.summary(),
        }
    }
}

/// The kinds of file, by their `kind` (absent: `faults`).
pub const KINDS: [&str; 3] = ["faults", "scaling", "staleness"];

/// Parses and validates the experiment file `file`, whose contents are `text`, naming stores
/// and workloads from `registry`.
pub fn parse(registry: &Registry, file: &Path, text: &str) -> Checked<Script> {
    let source = Source::new(file, text);
    let mut root = source.document()?.root;
    let kind: Option<Spanned<String>> = root.take("kind")?;
    match kind.as_ref().map(|k| k.get_ref().as_str()) {
        None | Some("faults") => spec::parse(registry, root).map(Script::Faults),
        Some("scaling") => scaling::parse(registry, root).map(Script::Scaling),
        Some("staleness") => staleness::parse(registry, root).map(Script::Staleness),
        Some(other) => {
            let span = kind.as_ref().map_or(0..0, Spanned::span);
            source.fail(span, format!("unknown kind `{other}`, expected {}", store::one_of(&KINDS)))
        }
    }
}
