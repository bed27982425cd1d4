//! `kind = "quorum"`: the leaderless quorum-replicated store (hosts `n1`..`nN`).
//!
//! ```toml
//! [[system]]
//! name = "quorum-one"
//! kind = "quorum"
//! nodes = 3                # 3 to 9 (default 3)
//! n = 3                    # replicas per key, at most nodes (default 3)
//! read = "one"             # "one" | "two" | "three" | "quorum" | "all" (default quorum)
//! write = "one"            # the same, or "any"; or counts instead: r = 2, w = 2
//! level = "one"            # instead of read and write: clients ask for this level for both
//! serial = true            # lightweight transactions: reads and writes at SERIAL, through
//!                          # Paxos (instead of read/write/level; also read = "serial" or
//!                          # write = "serial" alone). A `cas` always runs through Paxos.
//! mode = "lww"             # "lww" | "abd" (default lww); abd reads and writes majorities and
//!                          # has no compare-and-set, so it takes no read/write/r/w/level/
//!                          # serial and no guard = "cas" (refused, not ignored)
//! commitlog = "batch"      # "batch" | { periodic = "10s" } | { group = "50ms" }
//! commitlog_buffer_kib = 16 # the commit log's write buffer, 1 to 1024 KiB (default off):
//!                          # a simulator economy for runs without crashes, kills or disk
//!                          # faults (see quorum::server::NodeSetup::log_buffer)
//! hints = "strict"         # "off" | "strict" | "sloppy" (default strict)
//! read_repair = "blocking" # "off" | "async" | "blocking" (default blocking)
//! anti_entropy = "1s"      # period; off when absent
//! merkle_depth = 10        # anti-entropy Merkle trees: 2^depth leaves per token range, 0 to 15
//! max_hint_window = "3h"   # hints kept this long, none for a node down longer (default 3h)
//! read_path = "cassandra"  # "cassandra" | "all-replicas" (default cassandra)
//! speculative_retry = "99p" # "<p>p" (1..=100) | a delay ("50ms") | "off" (default 99p)
//! disk = "measured"        # every node's disk profile (see `store::disk`; default measured)
//! token_aware = true       # clients send each operation to a replica of its key (default
//!                          # true, as the common drivers); false: one coordinator per client
//! guard = "cas"            # "plain" | "cas" (default plain): how a transfer's or list-append's
//!                          # steps write back what they read: a plain write, or a
//!                          # compare-and-set through Paxos, re-read and retried on a mismatch
//!                          # (sim::steps)
//! ```
//!
//! `read_path`: `cassandra` sends a read at level R to exactly R replicas in snitch order, one
//! full data read and R-1 digest reads, with a round of full reads on a digest mismatch
//! (Cassandra 4's `AbstractReadExecutor`, `DigestResolver`); `all-replicas` asks every live
//! replica for data and lets the first R answers decide (Riak, and this lab before).
//! `speculative_retry`: Cassandra's per-table option of the same name (default `99p`): after
//! that percentile of the coordinator's recent read latencies, or after the fixed delay, one
//! more data read goes to a replica not yet asked.

use std::ops::Range;
use std::time::Duration;

use lsm::CommitLogSync;
use quorum::config::{ReadPath, SpeculativeRetry};
use quorum::level::{self, Access, LevelError};
use quorum::{ClusterConfig, Hints, Level, Mode, QuorumSystem, ReadRepair};
use serde::Deserialize;
use sim::steps::Guard;
use sim::{SimConfig, SimError};
use toml::Spanned;

use super::disk::{self, RawDisk};
use super::{Configured, Ran, Replicas, Store};
use crate::properties::{Durability, Ordering, Properties, Quorums};
use crate::source::{fields_of, Checked, Section, Source};
use crate::value::seconds;

/// The quorum store's node counts.
pub const NODES: std::ops::RangeInclusive<usize> = 3..=9;

/// The quorum store.
#[derive(Debug, Clone, Copy)]
pub struct Quorum;

/// `commitlog = "batch"`, `{ periodic = "10s" }` or `{ group = "50ms" }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RawCommitLog {
    /// Sync before acknowledging each write.
    Batch,
    /// Acknowledge at once, sync every period.
    Periodic(String),
    /// Sync every period, acknowledge the writes it covered.
    Group(String),
}

/// The `[[system]]` table of a quorum system, field for field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuorum {
    nodes: Option<Spanned<usize>>,
    n: Option<Spanned<usize>>,
    read: Option<Spanned<Level>>,
    write: Option<Spanned<Level>>,
    r: Option<Spanned<usize>>,
    w: Option<Spanned<usize>>,
    level: Option<Spanned<Level>>,
    serial: Option<Spanned<bool>>,
    mode: Option<Mode>,
    commitlog: Option<Spanned<RawCommitLog>>,
    commitlog_buffer_kib: Option<Spanned<u64>>,
    hints: Option<Hints>,
    read_repair: Option<ReadRepair>,
    anti_entropy: Option<Spanned<String>>,
    merkle_depth: Option<Spanned<u64>>,
    max_hint_window: Option<Spanned<String>>,
    read_path: Option<ReadPath>,
    speculative_retry: Option<Spanned<String>>,
    disk: Option<Spanned<RawDisk>>,
    token_aware: Option<bool>,
    guard: Option<RawGuard>,
}

/// `guard = "plain"` or `"cas"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RawGuard {
    /// Plain writes.
    Plain,
    /// Compare-and-sets.
    Cas,
}

impl Store for Quorum {
    fn kind(&self) -> &'static str {
        "quorum"
    }

    fn about(&self) -> &'static str {
        "the leaderless quorum-replicated store (hosts n1..nN), Dynamo/Cassandra style"
    }

    fn keys(&self) -> &'static [&'static str] {
        fields_of::<RawQuorum>()
    }

    fn parse(&self, table: Section<'_>) -> Checked<Box<dyn Configured>> {
        let source = table.source();
        let span = table.span();
        let raw: RawQuorum = table.finish()?;
        let mut config = config(source, span, &raw)?;
        config.disk = disk::resolve(source, raw.disk.as_ref())?;
        Ok(Box::new(QuorumStore { config, disk: disk::label(raw.disk.as_ref()) }))
    }
}

/// Validates `raw` into the cluster's configuration.
fn config(source: Source<'_>, span: Range<usize>, raw: &RawQuorum) -> Checked<ClusterConfig> {
    let nodes = raw.nodes.as_ref().map_or(3, |v| *v.get_ref());
    if let Some(span) = raw.nodes.as_ref().map(Spanned::span).filter(|_| !NODES.contains(&nodes)) {
        return source.fail(span, format!("nodes = {nodes}: the quorum store runs 3 to 9 nodes"));
    }
    let mut config = ClusterConfig::new(nodes);
    let n = raw.n.as_ref().map_or(3.min(nodes), |v| *v.get_ref());
    if let Some(value) = &raw.n {
        if n == 0 || n > nodes {
            return source.fail(value.span(), format!("N = {n}: expected 1 to nodes = {nodes}"));
        }
    }
    config.node.replication = n;
    let serial = raw.serial.as_ref().is_some_and(|s| *s.get_ref());
    if serial {
        let others = [
            (raw.level.as_ref().map(Spanned::span), "level"),
            (raw.read.as_ref().map(Spanned::span), "read"),
            (raw.write.as_ref().map(Spanned::span), "write"),
            (raw.r.as_ref().map(Spanned::span), "r"),
            (raw.w.as_ref().map(Spanned::span), "w"),
        ];
        if let Some((at, name)) = others.into_iter().find_map(|(at, name)| at.map(|at| (at, name))) {
            return source.fail(at, format!("`serial = true` sets the read and write levels; give it or `{name}`"));
        }
        config.node.read = Level::Serial;
        config.node.write = Level::Serial;
    } else if let Some(level) = &raw.level {
        for (other, name) in
            [(raw.read.as_ref().map(Spanned::span), "read"), (raw.write.as_ref().map(Spanned::span), "write")]
                .into_iter()
                .chain([(raw.r.as_ref().map(Spanned::span), "r"), (raw.w.as_ref().map(Spanned::span), "w")])
        {
            if let Some(at) = other {
                return source.fail(at, format!("give `level` or `{name}`, not both"));
            }
        }
        let checked = check_level(source, *level.get_ref(), level.span(), n, Access::Read)?;
        // Clients ask for the level explicitly, as a sweep's clients do.
        config.node.read = checked;
        config.node.write = checked;
        config.read = Some(checked);
        config.write = Some(checked);
    } else {
        config.node.read = pick_level(source, &raw.read, &raw.r, n, Access::Read)?;
        config.node.write = pick_level(source, &raw.write, &raw.w, n, Access::Write)?;
    }
    if let Some(mode) = raw.mode {
        config.node.mode = mode;
    }
    if config.node.mode == Mode::Abd {
        // ABD reads and writes majorities whatever a request asks for, and has no
        // compare-and-set: a level or a guard would be accepted here and ignored there.
        let ignored = [
            (raw.level.as_ref().map(Spanned::span), "level"),
            (raw.read.as_ref().map(Spanned::span), "read"),
            (raw.write.as_ref().map(Spanned::span), "write"),
            (raw.r.as_ref().map(Spanned::span), "r"),
            (raw.w.as_ref().map(Spanned::span), "w"),
            (raw.serial.as_ref().map(Spanned::span), "serial"),
        ];
        if let Some((at, name)) = ignored.into_iter().find_map(|(at, name)| at.map(|at| (at, name))) {
            return source.fail(
                at,
                format!("`{name}` does not apply to mode = \"abd\": ABD reads and writes majority quorums whatever is asked; leave it out"),
            );
        }
        if raw.guard == Some(RawGuard::Cas) {
            return source.fail(span, "guard = \"cas\" needs compare-and-set, which mode = \"abd\" does not offer");
        }
    }
    if let Some(token_aware) = raw.token_aware {
        config.token_aware = token_aware;
    }
    if let Some(guard) = raw.guard {
        config.guard = match guard {
            RawGuard::Plain => Guard::Plain,
            RawGuard::Cas => Guard::Cas,
        };
    }
    if let Some(hints) = raw.hints {
        config.node.hints = hints;
    }
    if let Some(repair) = raw.read_repair {
        config.node.read_repair = repair;
    }
    if let Some(period) = &raw.anti_entropy {
        config.node.anti_entropy = Some(source.duration(period, "anti_entropy")?);
    }
    if let Some(depth) = &raw.merkle_depth {
        // The node's own validation knows the bound; the error names the key.
        config.node.merkle_depth = u8::try_from(*depth.get_ref()).unwrap_or(u8::MAX);
        if let Err(e) = config.node.validate() {
            return source.fail(depth.span(), format!("merkle_depth = {}: {e}", depth.get_ref()));
        }
    }
    if let Some(window) = &raw.max_hint_window {
        config.node.max_hint_window = source.duration(window, "max_hint_window")?;
    }
    if let Some(path) = raw.read_path {
        config.node.read_path = path;
    }
    if let Some(retry) = &raw.speculative_retry {
        config.node.speculative_retry = speculative_retry(source, retry)?;
    }
    if let Some(commitlog) = &raw.commitlog {
        let period = |text: &String| source.duration(&Spanned::new(commitlog.span(), text.clone()), "commitlog");
        config.sync = match commitlog.get_ref() {
            RawCommitLog::Batch => CommitLogSync::Batch,
            RawCommitLog::Periodic(text) => CommitLogSync::Periodic(period(text)?),
            RawCommitLog::Group(text) => CommitLogSync::Group(period(text)?),
        };
    }
    if let Some(kib) = &raw.commitlog_buffer_kib {
        let value = *kib.get_ref();
        if !(1..=1024).contains(&value) {
            return source
                .fail(kib.span(), format!("commitlog_buffer_kib = {value}: give 1 to 1024 (KiB), or leave it out"));
        }
        config.commitlog_buffer = usize::try_from(value * 1024).unwrap_or(usize::MAX);
    }
    if let Err(e) = config.node.validate() {
        return source.fail(span, format!("{e}"));
    }
    Ok(config)
}

/// `speculative_retry = "99p"`, `"50ms"` or `"off"`.
fn speculative_retry(source: Source<'_>, value: &Spanned<String>) -> Checked<SpeculativeRetry> {
    let text = value.get_ref().trim();
    if text.eq_ignore_ascii_case("off") || text.eq_ignore_ascii_case("none") {
        return Ok(SpeculativeRetry::Off);
    }
    if let Some(digits) = text.strip_suffix('p').or_else(|| text.strip_suffix("percentile")) {
        return match digits.parse::<u8>() {
            Ok(p) if (1..=100).contains(&p) => Ok(SpeculativeRetry::Percentile(p)),
            _ => source.fail(
                value.span(),
                format!("speculative_retry = \"{text}\": a percentile is 1p to 100p (e.g. \"99p\")"),
            ),
        };
    }
    Ok(SpeculativeRetry::Fixed(source.duration(value, "speculative_retry (\"99p\", a delay or \"off\")")?))
}

/// A read or write level, by name (`read = "quorum"`) or by count (`r = 2`), checked against N.
fn pick_level(
    source: Source<'_>,
    named: &Option<Spanned<Level>>,
    count: &Option<Spanned<usize>>,
    n: usize,
    access: Access,
) -> Checked<Level> {
    let (name, letter) = letters(access);
    match (named, count) {
        (Some(_), Some(count)) => {
            source.fail(count.span(), format!("give `{name}` or `{}`, not both", letter.to_lowercase()))
        }
        (Some(level), None) => check_level(source, *level.get_ref(), level.span(), n, access),
        (None, Some(count)) => check_level(source, Level::Count(*count.get_ref()), count.span(), n, access),
        (None, None) => Ok(Level::Quorum),
    }
}

fn letters(access: Access) -> (&'static str, &'static str) {
    match access {
        Access::Read => ("read", "R"),
        Access::Write => ("write", "W"),
    }
}

fn check_level(source: Source<'_>, level: Level, span: Range<usize>, n: usize, access: Access) -> Checked<Level> {
    let (name, letter) = letters(access);
    match level::validate(level, n, access) {
        Ok(_) => Ok(level),
        Err(LevelError::Unachievable { level: Level::Count(k), .. }) => {
            source.fail(span, format!("{letter} = {k} exceeds N = {n}"))
        }
        Err(LevelError::Unachievable { required, .. }) => {
            source.fail(span, format!("{name} = {level:?} needs {required} replicas but N = {n}"))
        }
        Err(e @ LevelError::Unsupported { .. }) => source.fail(span, format!("{letter}: {e}")),
    }
}

/// A configured quorum system.
#[derive(Debug, Clone)]
pub struct QuorumStore {
    /// The cluster's configuration.
    pub config: ClusterConfig,
    /// The disk profile when not the default (for descriptions).
    pub disk: Option<String>,
}

/// A level as tables show it: `one`, `quorum`, `all`; a count as `r2` / `w2`.
pub fn level_name(level: Level, access: Access) -> String {
    match level {
        Level::Count(k) => format!("{}{k}", letters(access).1.to_lowercase()),
        other => format!("{other:?}").to_lowercase(),
    }
}

impl Configured for QuorumStore {
    fn servers(&self) -> Vec<String> {
        sim::System::servers(&QuorumSystem::new(self.config.clone()))
    }

    fn describe(&self) -> String {
        let cluster = &self.config;
        let node = &cluster.node;
        let anti_entropy = node.anti_entropy.map_or("off".to_owned(), seconds);
        let disk = self.disk.as_ref().map(|d| format!(", disk {d}")).unwrap_or_default();
        let routing = if cluster.token_aware { "" } else { ", clients not token-aware" };
        let guard = if cluster.guard == Guard::Cas { ", steps guarded by compare-and-set" } else { "" };
        let text = format!(
            "quorum: {} nodes, N={}, R={:?} W={:?}, {:?}, commit log {:?}, hints {:?}, read repair {:?}, anti-entropy {anti_entropy}",
            cluster.nodes, node.replication, node.read, node.write, node.mode, cluster.sync, node.hints, node.read_repair
        )
        .to_lowercase();
        // Only what differs from the defaults, so that descriptions of default systems stay put.
        let mut read = String::new();
        if node.read_path != ReadPath::Cassandra {
            read.push_str(", read path all-replicas");
        }
        match node.speculative_retry {
            SpeculativeRetry::Percentile(99) => {}
            SpeculativeRetry::Percentile(p) => read.push_str(&format!(", speculative retry {p}p")),
            SpeculativeRetry::Fixed(delay) => read.push_str(&format!(", speculative retry {}", seconds(delay))),
            SpeculativeRetry::Off => read.push_str(", speculative retry off"),
        }
        text + &read + routing + guard + &disk
    }

    fn properties(&self) -> Properties {
        let node = &self.config.node;
        let n = node.replication;
        Properties {
            store: Quorum.kind().to_owned(),
            servers: self.config.nodes,
            replicas: n,
            quorums: Some(Quorums {
                n,
                r: level::required(node.read, n),
                w: level::required(node.write, n),
                read_level: level_name(node.read, Access::Read),
                write_level: level_name(node.write, Access::Write),
                read_writes_back: node.mode == Mode::Abd || node.read_repair == ReadRepair::Blocking,
                // ABD hands sloppy hints off as strict ones (quorum-core's `handoff`).
                sloppy: node.hints == Hints::Sloppy && node.mode != Mode::Abd,
                anti_entropy: node.anti_entropy.is_some(),
            }),
            ordering: match node.mode {
                Mode::Lww => Ordering::LastWriteWins,
                Mode::Abd => Ordering::LogicalTimestamps,
            },
            durability: match self.config.sync {
                CommitLogSync::Batch => Durability::SyncedBeforeAck,
                CommitLogSync::Group(_) => Durability::GroupSyncedBeforeAck,
                CommitLogSync::Periodic(_) => Durability::SyncedAfterAck,
            },
            sqlite: None,
            replication: None,
        }
    }

    fn run(&self, config: &SimConfig, sample_every: Option<Duration>) -> Result<Ran, SimError> {
        let mut cluster = self.config.clone();
        cluster.disk = cluster.disk.seeded(config.seed);
        let Some(period) = sample_every else {
            let result = sim::run(QuorumSystem::new(cluster), config)?;
            return Ok(Ran { result, replicas: Replicas::Single });
        };
        let system = QuorumSystem::new(cluster).with_sampling(period);
        // The handle shares the sampler with the system the run consumes.
        let handle = system.clone();
        let result = sim::run(system, config)?;
        let replicas = match handle.convergence().converged_since() {
            Some(since) => Replicas::AgreedSince(since),
            None => Replicas::Apart,
        };
        Ok(Ran { result, replicas })
    }

    fn disk_cost(&self) -> Option<sim::disk_cost::DiskCost> {
        Some(self.config.disk)
    }

    fn clone_box(&self) -> Box<dyn Configured> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::*;
    use crate::spec::tests::assert_error;
    use crate::{Registry, Script};

    const HEAD: &str =
        "name = \"t\"\nquestion = \"q\"\nseeds = 1\nduration = \"1s\"\n[workload]\nkind = \"kv\"\n[[system]]\nname = \"q\"\nkind = \"quorum\"\n";

    /// The node configuration of a system table's `text`.
    fn node(text: &str) -> quorum::NodeConfig {
        let raw: RawQuorum = toml::from_str(text).expect("a system table");
        let source = Source::new(Path::new("q.toml"), text);
        config(source, 0..text.len(), &raw).expect("valid").node
    }

    #[test]
    fn repair_keys_reach_the_node_config_with_cassandra_defaults() {
        let default = node("");
        assert_eq!(default.max_hint_window, Duration::from_secs(3 * 3600));
        assert_eq!(default.merkle_depth, quorum::NodeConfig::new(0, vec![0]).merkle_depth);
        let set = node("max_hint_window = \"2s\"\nmerkle_depth = 4\n");
        assert_eq!((set.max_hint_window, set.merkle_depth), (Duration::from_secs(2), 4));
    }

    #[test]
    fn the_commit_log_buffer_is_off_unless_set_and_refused_out_of_range() {
        let cluster = |text: &str| {
            let raw: RawQuorum = toml::from_str(text).expect("a system table");
            config(Source::new(Path::new("q.toml"), text), 0..text.len(), &raw).expect("valid")
        };
        assert_eq!(cluster("").commitlog_buffer, 0);
        assert_eq!(cluster("commitlog_buffer_kib = 16\n").commitlog_buffer, 16 * 1024);
        assert_error(&format!("{HEAD}commitlog_buffer_kib = 0\n"), 10, 24, "give 1 to 1024");
        assert_error(&format!("{HEAD}commitlog_buffer_kib = 2048\n"), 10, 24, "commitlog_buffer_kib = 2048");
        assert_error(&format!("{HEAD}commitlog_buffer_kib = -1\n"), 10, 24, "invalid value");
    }

    #[test]
    fn the_guard_is_plain_unless_set_to_cas_and_shows_in_the_description() {
        let cluster = |text: &str| {
            let raw: RawQuorum = toml::from_str(text).expect("a system table");
            config(Source::new(Path::new("q.toml"), text), 0..text.len(), &raw).expect("valid")
        };
        assert_eq!(cluster("").guard, Guard::Plain);
        assert_eq!(cluster("guard = \"plain\"\n").guard, Guard::Plain);
        let guarded = cluster("guard = \"cas\"\n");
        assert_eq!(guarded.guard, Guard::Cas);
        let describe = |config: ClusterConfig| QuorumStore { config, disk: None }.describe();
        assert!(describe(guarded).ends_with(", steps guarded by compare-and-set"));
        assert!(!describe(cluster("")).contains("guarded"));
        assert_error(&format!("{HEAD}guard = \"lock\"\n"), 10, 9, "unknown variant `lock`");
    }

    #[test]
    fn abd_refuses_the_levels_and_the_guard_it_would_ignore() {
        for (key, column) in [("read = \"one\"", 1), ("write = \"all\"", 1), ("r = 2", 1), ("level = \"one\"", 1)] {
            let text = format!("{HEAD}mode = \"abd\"\n{key}\n");
            assert_error(&text, 11, column + key.find('=').map_or(0, |i| i + 2), "does not apply to mode = \"abd\"");
        }
        let serial = format!("{HEAD}mode = \"abd\"\nserial = true\n");
        assert_error(&serial, 11, 10, "`serial` does not apply");
        let cas = format!("{HEAD}mode = \"abd\"\nguard = \"cas\"\n");
        let error = crate::parse(&Registry::standard(), Path::new("t.toml"), &cas).expect_err("refused");
        assert!(error.to_string().contains("does not offer"), "{error}");
    }

    #[test]
    fn bad_repair_keys_are_refused_where_they_are_wrong() {
        assert_error(&format!("{HEAD}merkle_depth = 16\n"), 10, 16, "merkle_depth = 16: invalid node configuration");
        assert_error(&format!("{HEAD}merkle_depth = 300\n"), 10, 16, "merkle_depth = 300");
        assert_error(&format!("{HEAD}merkle_depth = -1\n"), 10, 16, "invalid value");
        assert_error(&format!("{HEAD}max_hint_window = \"0s\"\n"), 10, 19, "longer than zero");
        assert_error(&format!("{HEAD}max_hint_window = \"soon\"\n"), 10, 19, "max_hint_window");
    }

    /// A fault experiment with one quorum system whose table ends with `extra` (line 13 on).
    fn file(extra: &str) -> String {
        format!(
            "name = \"t\"\nquestion = \"q\"\nseeds = 3\nduration = \"10s\"\n[workload]\nkind = \"kv\"\n\
             keys = 4\nclient_hosts = 2\n[[system]]\nname = \"q\"\nkind = \"quorum\"\nnodes = 3\n{extra}"
        )
    }

    fn node_of(extra: &str) -> quorum::NodeConfig {
        let text = file(extra);
        let raw: RawQuorum = match crate::parse(&Registry::standard(), Path::new("t.toml"), &text) {
            Ok(Script::Faults(_)) => {
                // The quorum keys of the system table (name and kind belong to the registry).
                let table = text.split("kind = \"quorum\"\n").nth(1).unwrap_or_default();
                toml::from_str(table).expect("the quorum keys")
            }
            other => panic!("expected a valid fault experiment, got {other:?}"),
        };
        let source = Source::new(Path::new("t.toml"), &text);
        config(source, 0..0, &raw).expect("valid").node
    }

    #[test]
    fn read_path_and_speculative_retry_reach_the_node_config() {
        let defaults = node_of("");
        assert_eq!(defaults.read_path, ReadPath::Cassandra);
        assert_eq!(defaults.speculative_retry, SpeculativeRetry::Percentile(99));
        let set = node_of("read_path = \"all-replicas\"\nspeculative_retry = \"50ms\"\n");
        assert_eq!(set.read_path, ReadPath::AllReplicas);
        assert_eq!(set.speculative_retry, SpeculativeRetry::Fixed(Duration::from_millis(50)));
        assert_eq!(node_of("speculative_retry = \"90p\"\n").speculative_retry, SpeculativeRetry::Percentile(90));
        assert_eq!(node_of("speculative_retry = \"off\"\n").speculative_retry, SpeculativeRetry::Off);
    }

    #[test]
    fn bad_read_settings_are_refused_where_they_are() {
        assert_error(&file("read_path = \"nearest\"\n"), 13, 13, "unknown variant `nearest`");
        assert_error(&file("speculative_retry = \"101p\"\n"), 13, 21, "a percentile is 1p to 100p");
        assert_error(&file("speculative_retry = \"0p\"\n"), 13, 21, "a percentile is 1p to 100p");
        assert_error(&file("speculative_retry = \"soon\"\n"), 13, 21, "speculative_retry");
    }

    /// A one-system experiment whose quorum table ends with `extra` (it starts at line 10).
    fn experiment(extra: &str) -> String {
        format!(
            "name = \"t\"\nquestion = \"q\"\nseeds = 1\nduration = \"1s\"\n[workload]\nkind = \"register\"\n\
             [[system]]\nname = \"s\"\nkind = \"quorum\"\n{extra}"
        )
    }

    fn levels(extra: &str) -> (Level, Level, String) {
        let text = experiment(extra);
        let Ok(crate::Script::Faults(experiment)) =
            crate::parse(&crate::Registry::standard(), Path::new("t.toml"), &text)
        else {
            panic!("expected a valid fault experiment:\n{text}");
        };
        let spec = &experiment.systems[0].spec;
        let quorums = spec.properties().quorums.expect("a quorum system");
        let (read, write) = (quorums.read_level.clone(), quorums.write_level);
        let described = spec.describe();
        let read_level = if read == "serial" { Level::Serial } else { Level::Quorum };
        let write_level = if write == "serial" { Level::Serial } else { Level::Quorum };
        (read_level, write_level, described)
    }

    #[test]
    fn serial_sets_both_levels_and_read_serial_alone_works() {
        let (read, write, described) = levels("serial = true\n");
        assert_eq!((read, write), (Level::Serial, Level::Serial));
        assert!(described.contains("r=serial w=serial"), "{described}");
        assert_eq!(levels("read = \"serial\"\n").0, Level::Serial);
        assert_eq!(levels("serial = false\n").0, Level::Quorum);
    }

    #[test]
    fn serial_with_another_level_is_refused_where_the_other_is() {
        assert_error(&experiment("serial = true\nread = \"one\"\n"), 11, 8, "give it or `read`");
        assert_error(&experiment("level = \"all\"\nserial = true\n"), 10, 9, "give it or `level`");
        assert_error(&experiment("serial = \"yes\"\n"), 10, 10, "expected a boolean");
    }
}
