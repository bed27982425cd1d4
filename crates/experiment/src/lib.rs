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
//! anti_entropy = "1s"      # period; off when absent
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
//! ```
//!
//! # Host names in faults
//!
//! A fault is checked against every system of the file, in that system's host names: SQLite
//! has one server `db`, the quorum store `n1`..`nN`, and every system has the client hosts
//! `client-0`, `client-1`, ... The name `server` means each system's first server (`db`,
//! `n1`), so one file can isolate or crash "the server" of systems with different hosts. A
//! name some system lacks (`n2` beside a SQLite system) is an error. Crash, skew and strobe
//! name servers; the network kinds name any host. Each system has its own planned faults
//! ([`System::faults`](spec::System::faults)), drawn into a [`sim::Schedule`] per seed by
//! [`Experiment::schedule`](spec::Experiment::schedule): the same seed, the same faults.
//!
//! A heal ends every network fault in effect (partitions, one-way cuts, slow and flaky links),
//! as Jepsen's does: network faults that overlap in time end together, at the first `until`.
//!
//! Every fault ends before `duration`; faults without `until` last until the run's end, where
//! the simulation heals partitions and restarts crashed hosts before its quiet period.

pub mod properties;
pub mod raw;
pub mod scaling;
pub mod spec;
pub mod staleness;
pub mod value;

/// What an experiment file measures, from its top-level `kind` (absent: a fault experiment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptKind {
    /// Systems under a fault schedule (the format above).
    Faults,
    /// `kind = "scaling"`: throughput as offered load and cluster size grow ([`crate::scaling`]).
    Scaling,
    /// `kind = "staleness"`: Probabilistically Bounded Staleness ([`crate::staleness`]).
    Staleness,
}

impl ScriptKind {
    /// The kind `text` declares. A file that is not TOML, or whose `kind` is not a string, is
    /// taken for a fault experiment, whose parser reports the error with its position.
    pub fn of(text: &str) -> ScriptKind {
        let Ok(table) = text.parse::<toml::Table>() else { return ScriptKind::Faults };
        match table.get("kind").and_then(toml::Value::as_str) {
            Some("scaling") => ScriptKind::Scaling,
            Some("staleness") => ScriptKind::Staleness,
            _ => ScriptKind::Faults,
        }
    }
}
