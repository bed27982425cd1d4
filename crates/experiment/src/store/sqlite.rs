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
//! ```

use std::time::Duration;

use serde::Deserialize;
use sim::{SimConfig, SimError};
use sqlstore::{JournalMode, SqlSystem, StoreConfig, Synchronous};
use toml::Spanned;

use super::disk::{self, RawDisk};
use super::{Configured, Ran, Replicas, Store};
use crate::properties::{Ordering, Properties, SqliteBegin, SqliteJournal, SqliteSettings, SqliteSynchronous};
use crate::source::{fields_of, Checked, Section};
use crate::value::seconds;

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
}

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
        Ok(Box::new(SqliteSystem { config, disk: disk::label(raw.disk.as_ref()) }))
    }
}

/// A configured SQLite system.
#[derive(Debug, Clone)]
pub struct SqliteSystem {
    /// The store's configuration (its seed is the run's).
    pub config: StoreConfig,
    /// The disk profile when not the default (for descriptions).
    pub disk: Option<String>,
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
            // Until the store serves several connections: one, immediate, transactional.
            sqlite: Some(SqliteSettings {
                journal,
                synchronous,
                connections: 1,
                begin: SqliteBegin::Immediate,
                transactions: true,
            }),
        }
    }

    fn run(&self, config: &SimConfig, _sample_every: Option<Duration>) -> Result<Ran, SimError> {
        let mut store = self.config.clone();
        store.seed = config.seed;
        store.disk = store.disk.seeded(config.seed);
        let result = sim::run(SqlSystem::new(store), config)?;
        Ok(Ran { result, replicas: Replicas::Single })
    }

    fn disk_cost(&self) -> Option<sim::disk_cost::DiskCost> {
        Some(self.config.disk)
    }

    fn clone_box(&self) -> Box<dyn Configured> {
        Box::new(self.clone())
    }
}
