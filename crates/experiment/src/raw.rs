//! The first parse: serde structs that mirror an experiment file, field for field.
//!
//! Nothing here judges values. Unknown fields and wrong types are refused by serde (every
//! struct denies unknown fields); the values [`spec`](super::spec) validates are kept as
//! [`Spanned`] so that its errors can point at the line and column they came from. Fields
//! that only some `kind`s accept are optional here and refused by `spec` for the others: a
//! flat struct keeps spans intact, where serde's internally tagged enums would lose them.

use serde::Deserialize;
use toml::Spanned;

/// The rest of a fault experiment file, once the head, `seeds`, `duration`, `[workload]` and
/// `[[system]]` are read.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExperiment {
    /// The fault schedule (`[[fault]]`).
    #[serde(default)]
    pub fault: Vec<RawFault>,
    /// Disk faults for the whole run (`[disk]`).
    pub disk: Option<RawDisk>,
    /// The random nemesis (`[nemesis]`).
    pub nemesis: Option<RawNemesis>,
}

/// `[disk]`: turmoil's simulated disk faults, on every host for the whole run, and the OS's
/// write-back of dirty data on every server host.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDisk {
    /// Bytes each host's disk holds; writes past it fail with "no space left".
    pub capacity_bytes: Option<Spanned<u64>>,
    /// Probability that a disk operation fails with an I/O error.
    pub io_error_probability: Option<Spanned<f64>>,
    /// The OS's write-back: how long data stays dirty before it is written back, e.g. `"30s"`.
    pub dirty_expire: Option<Spanned<String>>,
    /// The OS's write-back: the flusher's period, e.g. `"5s"`, or `"off"`.
    pub dirty_writeback: Option<Spanned<String>>,
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
    /// One server loses power (unsynced writes lost).
    Crash,
    /// A minority of servers loses power.
    CrashMinority,
    /// Every server loses power at once.
    CrashAll,
    /// Kill one server's process (everything it wrote survives).
    Kill,
    /// Kill a minority of servers' processes.
    KillMinority,
    /// Kill every server's process at once.
    KillAll,
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
