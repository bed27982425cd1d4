//! `kind = "sqlite"`: one SQLite server (host `db`) on the simulated disk.
//!
//! ```toml
//! [[system]]
//! name = "sqlite-full"
//! kind = "sqlite"
//! journal = "wal"          # "wal" | "delete" (default wal)
//! synchronous = "full"     # "off" | "normal" | "full" (default full)
//! writeback = "5s"         # optional: also sync the store's files this often, on top of the
//!                          # OS write-back model of [disk] (dirty_expire, dirty_writeback)
//! disk = "measured"        # the disk profile (see `store::disk`; default measured)
//! connections = 4          # database connections serving clients concurrently, 1 to 256
//!                          # (default 1); more than one needs journal = "delete" (WAL runs
//!                          # with locking_mode=EXCLUSIVE, one connection)
//! begin = "immediate"      # "deferred" | "immediate" | "exclusive": how transactions that may
//!                          # write begin (default immediate; read-only ones begin deferred)
//! busy_timeout = "5s"      # how long a transaction waits for a lock another connection holds,
//!                          # in simulated time with SQLite's busy-handler delays, before it is
//!                          # rolled back, a definite failure ("0s": not at all, SQLite's own
//!                          # default; default 5s, rusqlite's; at most 60s)
//! transactions = true      # false: clients run transfers, multi-key reads and list-append
//!                          # transactions step by step, one single-key request (one SQLite
//!                          # transaction) at a time, as the quorum store runs them: the
//!                          # non-transactional equivalent (default true; see `sim::steps`)
//! ```
//!
//! With one connection, `begin` and `busy_timeout` change nothing: no lock is ever contended.
//! The keys appear in the system's description when they differ from the defaults, and in
//! its [`Properties`] (`SqliteSettings`), which the claims choose systems by.

use std::time::Duration;

use serde::Deserialize;
use sim::{SimConfig, SimError};
use sqlstore::{BeginMode, JournalMode, SqlSystem, StoreConfig, Synchronous, MAX_CONNECTIONS};
use toml::Spanned;

use super::disk::{self, RawDisk};
use super::{Configured, Ran, Replicas, Store};
use crate::properties::{Ordering, Properties, SqliteBegin, SqliteJournal, SqliteSettings, SqliteSynchronous};
use crate::source::{fields_of, Checked, Section, Source};
use crate::value::{parse_duration, seconds};

/// The SQLite store.
#[derive(Debug, Clone, Copy)]
pub struct Sqlite;

/// The `[[system]]` table of a SQLite system, field for field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSqlite {
    journal: Option<SqliteJournal>,
    synchronous: Option<SqliteSynchronous>,
    writeback: Option<Spanned<String>>,
    disk: Option<Spanned<RawDisk>>,
    connections: Option<Spanned<u64>>,
    begin: Option<Spanned<RawBegin>>,
    busy_timeout: Option<Spanned<String>>,
    transactions: Option<bool>,
}

/// `begin = "deferred" | "immediate" | "exclusive"`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum RawBegin {
    Deferred,
    Immediate,
    Exclusive,
}

/// The longest busy timeout: a transaction waiting longer than a minute for a lock is a
/// configuration mistake (and every retry is a simulated event).
const MAX_BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// The longest kernel write-back period.
const MAX_WRITEBACK: Duration = Duration::from_secs(3600);

impl Store for Sqlite {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn about(&self) -> &'static str {
        "one SQLite server (host `db`) on the simulated disk"
    }

    fn keys(&self) -> &'static [&'static str] {
        fields_of::<RawSqlite>()
    }

    fn parse(&self, table: Section<'_>) -> Checked<Box<dyn Configured>> {
        let source = table.source();
        let raw: RawSqlite = table.finish()?;
        let config = config(source, &raw)?;
        let transactions = raw.transactions.unwrap_or(true);
        Ok(Box::new(SqliteSystem { config, disk: disk::label(raw.disk.as_ref()), transactions }))
    }
}

/// The store's configuration from its table, each value checked where it was written.
fn config(source: Source<'_>, raw: &RawSqlite) -> Checked<StoreConfig> {
    let mut config = StoreConfig::default();
    if let Some(journal) = raw.journal {
        config.journal_mode = match journal {
            SqliteJournal::Wal => JournalMode::Wal,
            SqliteJournal::Delete => JournalMode::Delete,
        };
    }
    if let Some(synchronous) = raw.synchronous {
        config.synchronous = match synchronous {
            SqliteSynchronous::Off => Synchronous::Off,
            SqliteSynchronous::Normal => Synchronous::Normal,
            SqliteSynchronous::Full => Synchronous::Full,
        };
    }
    if let Some(writeback) = &raw.writeback {
        config.writeback = Some(source.duration_at_most(writeback, "writeback", MAX_WRITEBACK)?);
    }
    config.disk = disk::resolve(source, raw.disk.as_ref())?;
    if let Some(connections) = &raw.connections {
        let max = u64::try_from(MAX_CONNECTIONS).unwrap_or(u64::MAX);
        let count = source.count(connections, "connections", max)?;
        config.connections = usize::try_from(count).unwrap_or(usize::MAX);
    }
    if let Some(begin) = &raw.begin {
        config.begin = match begin.get_ref() {
            RawBegin::Deferred => BeginMode::Deferred,
            RawBegin::Immediate => BeginMode::Immediate,
            RawBegin::Exclusive => BeginMode::Exclusive,
        };
    }
    if let Some(timeout) = &raw.busy_timeout {
        let parsed = parse_duration(timeout.get_ref())
            .map_err(|e| source.error(timeout.span(), format!("busy_timeout: {e}")))?;
        if parsed > MAX_BUSY_TIMEOUT {
            return source.fail(timeout.span(), format!("busy_timeout: at most {}", seconds(MAX_BUSY_TIMEOUT)));
        }
        config.busy_timeout = parsed;
    }
    Ok(config)
}

/// A configured SQLite system.
#[derive(Debug, Clone)]
pub struct SqliteSystem {
    /// The store's configuration (its seed is the run's).
    pub config: StoreConfig,
    /// The disk profile when not the default (for descriptions).
    pub disk: Option<String>,
    /// Whether multi-key operations run as one transaction each (see the module docs).
    pub transactions: bool,
}

impl Configured for SqliteSystem {
    fn servers(&self) -> Vec<String> {
        sim::System::servers(&SqlSystem::new(self.config.clone()))
    }

    fn describe(&self) -> String {
        let config = &self.config;
        let mut text = format!("sqlite: journal {:?}, synchronous={:?}", config.journal_mode, config.synchronous);
        if let Some(writeback) = config.writeback {
            text.push_str(&format!(", kernel write-back every {}", seconds(writeback)));
        }
        let mut text = text.to_lowercase();
        if let Some(disk) = &self.disk {
            text.push_str(&format!(", disk {disk}"));
        }
        let default = StoreConfig::default();
        if config.connections != default.connections {
            text.push_str(&format!(", {} connections", config.connections));
        }
        if config.begin != default.begin {
            text.push_str(&format!(", begin {}", format!("{:?}", config.begin).to_lowercase()));
        }
        if config.busy_timeout != default.busy_timeout {
            text.push_str(&format!(", busy timeout {}", seconds(config.busy_timeout)));
        }
        if !self.transactions {
            text.push_str(", no transactions (step by step)");
        }
        text
    }

    fn properties(&self) -> Properties {
        let synchronous = match self.config.synchronous {
            Synchronous::Off => SqliteSynchronous::Off,
            Synchronous::Normal => SqliteSynchronous::Normal,
            Synchronous::Full => SqliteSynchronous::Full,
        };
        let journal = match self.config.journal_mode {
            JournalMode::Wal => SqliteJournal::Wal,
            JournalMode::Delete => SqliteJournal::Delete,
        };
        Properties {
            store: Sqlite.kind().to_owned(),
            servers: 1,
            replicas: 1,
            quorums: None,
            ordering: Ordering::SingleWriter,
            durability: synchronous.durability(),
            sqlite: Some(SqliteSettings {
                journal,
                synchronous,
                connections: self.config.connections,
                begin: match self.config.begin {
                    BeginMode::Deferred => SqliteBegin::Deferred,
                    BeginMode::Immediate => SqliteBegin::Immediate,
                    BeginMode::Exclusive => SqliteBegin::Exclusive,
                },
                transactions: self.transactions,
            }),
            replication: None,
        }
    }

    fn run(&self, config: &SimConfig, _sample_every: Option<Duration>) -> Result<Ran, SimError> {
        let mut store = self.config.clone();
        store.seed = config.seed;
        store.disk = store.disk.seeded(config.seed);
        let mut system = SqlSystem::new(store);
        system.transactions = self.transactions;
        let result = sim::run(system, config)?;
        Ok(Ran { result, replicas: Replicas::Single })
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
    use super::*;
    use crate::spec::tests::assert_error;

    /// A file whose one system is SQLite, its table ending with `extra` (line 10 on).
    fn file(extra: &str) -> String {
        format!(
            "name = \"t\"\nquestion = \"q\"\nseeds = 1\nduration = \"1s\"\n[workload]\nkind = \"kv\"\n\
             [[system]]\nname = \"s\"\nkind = \"sqlite\"\n{extra}"
        )
    }

    fn parsed(table: &str) -> StoreConfig {
        let raw: RawSqlite = toml::from_str(table).expect("a system table");
        config(Source::new(std::path::Path::new("s.toml"), table), &raw).expect("valid")
    }

    #[test]
    fn concurrency_keys_default_to_one_immediate_connection_waiting_5s() {
        let config = parsed("");
        assert_eq!((config.connections, config.begin), (1, BeginMode::Immediate));
        assert_eq!(config.busy_timeout, Duration::from_secs(5));
        let set = parsed("journal = \"delete\"\nconnections = 16\nbegin = \"deferred\"\nbusy_timeout = \"0s\"\n");
        assert_eq!((set.connections, set.begin, set.busy_timeout), (16, BeginMode::Deferred, Duration::ZERO));
        let wal = parsed("connections = 4\n");
        assert_eq!((wal.journal_mode, wal.connections), (JournalMode::Wal, 4), "WAL shares its wal-index");
        assert_eq!(
            parsed("begin = \"exclusive\"\nbusy_timeout = \"250ms\"\n").busy_timeout,
            Duration::from_millis(250)
        );
    }

    #[test]
    fn the_description_names_concurrency_settings_that_differ_from_the_defaults() {
        let describe = |table: &str| SqliteSystem { config: parsed(table), disk: None, transactions: true }.describe();
        assert_eq!(describe(""), "sqlite: journal wal, synchronous=full");
        assert_eq!(
            describe("journal = \"delete\"\nconnections = 4\nbegin = \"deferred\"\nbusy_timeout = \"0s\"\n"),
            "sqlite: journal delete, synchronous=full, 4 connections, begin deferred, busy timeout 0s"
        );
    }

    #[test]
    fn bad_concurrency_keys_are_refused_where_they_are_wrong() {
        assert_error(&file("journal = \"delete\"\nconnections = 0\n"), 11, 15, "connections = 0: expected 1 to 256");
        assert_error(&file("journal = \"delete\"\nconnections = 257\n"), 11, 15, "expected 1 to 256");
        assert_error(&file("begin = \"eventually\"\n"), 10, 9, "unknown variant");
        assert_error(&file("busy_timeout = \"forever\"\n"), 10, 16, "busy_timeout: `forever` is not a duration");
        assert_error(&file("busy_timeout = \"2m\"\n"), 10, 16, "busy_timeout: at most 60s");
        assert_error(&file("journal = \"delete\"\nconnections = -1\n"), 11, 15, "invalid value");
    }
}
