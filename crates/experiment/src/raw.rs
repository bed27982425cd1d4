//! The first parse: serde structs that mirror an experiment file, field for field.
//!
//! Nothing here judges values. Unknown fields and wrong types are refused by serde (every
//! struct denies unknown fields); the values [`spec`](super::spec) validates are kept as
//! [`Spanned`] so that its errors can point at the line and column they came from. Fields
//! that only some `kind`s accept are optional here and refused by `spec` for the others: a
//! flat struct keeps spans intact, where serde's internally tagged enums would lose them.

use quorum::{Hints, Level, Mode, ReadRepair};
use serde::Deserialize;
use toml::Spanned;

/// A whole experiment file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExperiment {
    /// Short name (results go to `results/NAME/`).
    pub name: Spanned<String>,
    /// The question the experiment answers, one paragraph.
    pub question: Spanned<String>,
    /// A count (seeds 1..=count) or a list.
    pub seeds: Spanned<RawSeeds>,
    /// Simulated time during which clients invoke operations, e.g. `"10s"`.
    pub duration: Spanned<String>,
    /// What the clients do.
    pub workload: RawWorkload,
    /// The systems compared (`[[system]]`).
    #[serde(default)]
    pub system: Vec<RawSystem>,
    /// The fault schedule (`[[fault]]`).
    #[serde(default)]
    pub fault: Vec<RawFault>,
    /// Disk faults for the whole run (`[disk]`).
    pub disk: Option<RawDisk>,
    /// The random nemesis (`[nemesis]`).
    pub nemesis: Option<RawNemesis>,
}

/// `[disk]`: turmoil's simulated disk faults, on every host for the whole run.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDisk {
    /// Bytes each host's disk holds; writes past it fail with "no space left".
    pub capacity_bytes: Option<Spanned<u64>>,
    /// Probability that a disk operation fails with an I/O error.
    pub io_error_probability: Option<Spanned<f64>>,
}

/// `seeds = 5` or `seeds = [1, 2, 3]`.
#[derive(Debug, Deserialize)]
#[serde(
    untagged,
    expecting = "expected a seed count (`seeds = 5`) or a list of seeds (`seeds = [1, 2, 3]`), none negative"
)]
pub enum RawSeeds {
    /// Seeds 1..=count.
    Count(u64),
    /// These seeds.
    List(Vec<u64>),
}

/// The workload kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawWorkloadKind {
    /// One register.
    Register,
    /// Many registers.
    Kv,
    /// A grow-only set.
    Set,
}

/// `distribution = "uniform"` or `distribution = { zipf = 1.0 }`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawDistribution {
    /// Every key equally likely.
    Uniform,
    /// Zipf with this exponent.
    Zipf(f64),
}

/// `[workload]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkload {
    /// register, kv or set.
    pub kind: Spanned<RawWorkloadKind>,
    /// Keys (kv only).
    pub keys: Option<Spanned<usize>>,
    /// Key distribution (kv only).
    pub distribution: Option<Spanned<RawDistribution>>,
    /// Client hosts.
    pub client_hosts: Option<Spanned<usize>>,
    /// Logical clients per client host.
    pub clients_per_host: Option<Spanned<usize>>,
    /// Operation timeout, e.g. `"1s"`.
    pub timeout: Option<Spanned<String>>,
    /// Register and kv only: the weights of reads, writes and compare-and-sets.
    pub mix: Option<Spanned<RawMix>>,
}

/// `mix = { read = 1, write = 1, cas = 0 }`: integer weights; absent ones are 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMix {
    /// Weight of reads.
    #[serde(default)]
    pub read: u32,
    /// Weight of writes.
    #[serde(default)]
    pub write: u32,
    /// Weight of compare-and-sets.
    #[serde(default)]
    pub cas: u32,
}

/// The system kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawSystemKind {
    /// One SQLite server.
    Sqlite,
    /// The quorum store.
    Quorum,
}

/// SQLite's journal mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawJournal {
    /// Write-ahead log.
    Wal,
    /// Rollback journal.
    Delete,
}

/// SQLite's `synchronous`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawSynchronous {
    /// Never sync.
    Off,
    /// Sync at critical moments.
    Normal,
    /// Sync at every commit.
    Full,
}

/// `commitlog = "batch"`, `{ periodic = "10s" }` or `{ group = "50ms" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawCommitLog {
    /// Sync before acknowledging each write.
    Batch,
    /// Acknowledge at once, sync every period.
    Periodic(String),
    /// Sync every period, acknowledge the writes it covered.
    Group(String),
}

/// `[[system]]`: a named configuration of one of the stores.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSystem {
    /// Unique within the file.
    pub name: Spanned<String>,
    /// sqlite or quorum.
    pub kind: Spanned<RawSystemKind>,
    /// SQLite: journal mode.
    pub journal: Option<Spanned<RawJournal>>,
    /// SQLite: `synchronous`.
    pub synchronous: Option<Spanned<RawSynchronous>>,
    /// Quorum: nodes (3..=9).
    pub nodes: Option<Spanned<usize>>,
    /// Quorum: replicas per key (N).
    pub n: Option<Spanned<usize>>,
    /// Quorum: read level by name.
    pub read: Option<Spanned<Level>>,
    /// Quorum: write level by name.
    pub write: Option<Spanned<Level>>,
    /// Quorum: read level as a count (R).
    pub r: Option<Spanned<usize>>,
    /// Quorum: write level as a count (W).
    pub w: Option<Spanned<usize>>,
    /// Quorum: lww or abd.
    pub mode: Option<Spanned<Mode>>,
    /// Quorum: commit log sync.
    pub commitlog: Option<Spanned<RawCommitLog>>,
    /// Quorum: hinted handoff.
    pub hints: Option<Spanned<Hints>>,
    /// Quorum: read repair.
    pub read_repair: Option<Spanned<ReadRepair>>,
    /// Quorum: anti-entropy period (off when absent).
    pub anti_entropy: Option<Spanned<String>>,
}

/// The fault kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawFaultKind {
    /// Cut one host off from every other host.
    Isolate,
    /// Cut `left` off from `right`.
    Partition,
    /// Servers split into a majority and a minority.
    Halves,
    /// Every server sees a different majority.
    MajoritiesRing,
    /// Two halves joined through one bridge server.
    Bridge,
    /// One node's outgoing messages dropped.
    OneWay,
    /// Every client host cut from some servers.
    CutClients,
    /// Crash one server.
    Crash,
    /// Crash a minority of servers.
    CrashMinority,
    /// Crash every server (power loss).
    CrashAll,
    /// Move one server's clock.
    Skew,
    /// Flip one server's clock back and forth.
    Strobe,
    /// Slow every link of one node.
    Slow,
    /// Make every link of one node fail now and then.
    Flaky,
}

/// Where client hosts go when servers are split (`halves`, `bridge`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawClientSide {
    /// Clients keep reaching every server.
    All,
    /// Client hosts are dealt to the sides.
    Split,
}

/// `[[fault]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    /// When the fault starts, e.g. `"1s"`.
    pub at: Spanned<String>,
    /// When it ends (heal, restart, clock back to 0); absent: it lasts until the run's end.
    pub until: Option<Spanned<String>>,
    /// What the fault is.
    pub kind: Spanned<RawFaultKind>,
    /// isolate, one-way, crash, skew, strobe, slow, flaky: the host (absent: drawn per seed).
    pub node: Option<Spanned<String>>,
    /// halves, bridge: where the client hosts go.
    pub clients: Option<Spanned<RawClientSide>>,
    /// cut-clients: the servers the clients lose (absent: a minority drawn per seed).
    pub servers: Option<Spanned<Vec<Spanned<String>>>>,
    /// strobe: how often the clock flips, e.g. `"50ms"`.
    pub period: Option<Spanned<String>>,
    /// slow: the latency of every message, e.g. `"200ms"`.
    pub latency: Option<Spanned<String>>,
    /// flaky: the probability that a message breaks its link (0 to 1).
    pub fail_rate: Option<Spanned<f64>>,
    /// partition: one side.
    pub left: Option<Spanned<Vec<Spanned<String>>>>,
    /// partition: the other side.
    pub right: Option<Spanned<Vec<Spanned<String>>>>,
    /// skew, strobe: the clock offset in milliseconds.
    pub offset_ms: Option<Spanned<i64>>,
}

/// `[nemesis]`: Jepsen's random nemesis.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNemesis {
    /// Only `"random"` (checked by serde: the one kind there is).
    #[allow(dead_code, reason = "serde refuses any other kind; there is nothing more to read")]
    pub kind: Spanned<RawNemesisKind>,
    /// A fault starts every other period and ends at the next, e.g. `"2s"`.
    pub every: Spanned<String>,
    /// When the first fault starts (default: one period in).
    pub start: Option<Spanned<String>>,
    /// When the last fault must have ended (default: the run's end).
    pub end: Option<Spanned<String>>,
    /// The kinds to draw from, e.g. `["isolate", "halves", "crash"]`.
    pub faults: Spanned<Vec<Spanned<RawFaultKind>>>,
}

/// The nemesis kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawNemesisKind {
    /// A fault drawn from a list, then its end, every period.
    Random,
}

#[cfg(test)]
mod tests {
    //! What the first parse refuses: unknown fields, wrong types, unknown names, missing
    //! fields, each at the line and column of the offending key or value.

    use std::path::Path;

    use crate::spec::parse;

    const HEAD: &str = "name = \"t\"\nquestion = \"q\"\nseeds = 1\nduration = \"5s\"\n[workload]\nkind = \"set\"\n";
    const SYSTEM: &str = "[[system]]\nname = \"s\"\nkind = \"sqlite\"\n";

    fn assert_error(text: &str, line: usize, column: usize, needle: &str) {
        match parse(Path::new("dir/x.toml"), text) {
            Ok(_) => panic!("expected an error for:\n{text}"),
            Err(e) => {
                assert_eq!((e.line, e.column), (line, column), "position of: {e}");
                assert!(e.message.contains(needle), "`{}` should contain `{needle}`", e.message);
                assert!(e.to_string().starts_with(&format!("dir/x.toml:{line}:{column}: ")), "{e}");
            }
        }
    }

    #[test]
    fn the_head_and_a_system_parse() {
        assert!(parse(Path::new("x.toml"), &format!("{HEAD}{SYSTEM}")).is_ok());
    }

    #[test]
    fn unknown_fields_are_refused_at_their_key() {
        assert_error(&format!("title = \"x\"\n{HEAD}{SYSTEM}"), 1, 1, "unknown field `title`");
        assert_error(&format!("{HEAD}{SYSTEM}colour = 3\n"), 10, 1, "unknown field `colour`, expected one of");
        let fault = "[[fault]]\nat = \"1s\"\nkind = \"crash-all\"\nshape = \"ring\"\n";
        assert_error(&format!("{HEAD}{SYSTEM}{fault}"), 13, 1, "unknown field `shape`");
        assert_error(&format!("{HEAD}zipf = 1\n{SYSTEM}"), 7, 1, "unknown field `zipf`");
    }

    #[test]
    fn wrong_types_are_refused_at_their_value() {
        let nodes = "[[system]]\nname = \"q\"\nkind = \"quorum\"\nnodes = \"three\"\n";
        assert_error(&format!("{HEAD}{nodes}"), 10, 9, "invalid type: string \"three\", expected usize");
        assert_error(
            &format!("{}{SYSTEM}", HEAD.replace("seeds = 1", "seeds = \"many\"")),
            3,
            9,
            "expected a seed count",
        );
        assert_error(&format!("{}{SYSTEM}", HEAD.replace("seeds = 1", "seeds = -1")), 3, 9, "none negative");
        assert_error(&format!("{}{SYSTEM}", HEAD.replace("\"5s\"", "5")), 4, 12, "invalid type: integer");
        let offset = "[[fault]]\nat = \"1s\"\nkind = \"skew\"\nnode = \"db\"\noffset_ms = \"2s\"\n";
        assert_error(&format!("{HEAD}{SYSTEM}{offset}"), 14, 13, "invalid type: string");
    }

    #[test]
    fn unknown_names_list_what_is_expected() {
        let kind = "[[system]]\nname = \"m\"\nkind = \"mysql\"\n";
        assert_error(&format!("{HEAD}{kind}"), 9, 8, "unknown variant `mysql`, expected `sqlite` or `quorum`");
        let commitlog = "[[system]]\nname = \"q\"\nkind = \"quorum\"\ncommitlog = { weekly = \"1s\" }\n";
        assert_error(&format!("{HEAD}{commitlog}"), 10, 15, "unknown variant `weekly`");
        assert_error(&format!("{}{SYSTEM}", HEAD.replace("\"set\"", "\"queue\"")), 6, 8, "unknown variant `queue`");
    }

    #[test]
    fn missing_fields_and_bad_syntax_are_refused() {
        assert_error(&format!("{}{SYSTEM}", HEAD.replace("name = \"t\"\n", "")), 1, 1, "missing field `name`");
        assert_error("name = \"t\"\nquestion = \n", 2, 12, "");
    }
}
