//! `disk = ...` on a `[[system]]` of either store: which disk its servers have.
//!
//! ```toml
//! disk = "nvme"            # a named profile: "measured" (default) | "nvme" | "sata-ssd" | "hdd"
//!                          # | "network-block" (sim::disk_cost::profile: figures and sources)
//! disk = { sync = "80us", sync_in_place = "40us", sync_p99 = "400us", write_mb_per_s = 900 }
//!                          # inline: sync (median, with metadata) and write_mb_per_s required;
//!                          # sync_in_place defaults to sync, sync_p99 to no spread
//! disk = ["nvme", "hdd"]   # fault experiments: one system per profile, NAME-nvme, NAME-hdd
//!                          # (scaling files: sweep = { disk = ["nvme", "hdd"] })
//! ```
//!
//! `measured` is this machine: the committed file [`MEASURED_FILE`], which `lab bench engines
//! --write-profile` writes. It is built into the binary (rebuild after measuring: `make
//! build`), so a run stays a function of its experiment file, its seed and the build. Its
//! `[cpu]` table holds the engines' CPU cost per commit that `lab bench calibration` uses.
//!
//! Every refusal names FILE:LINE:COL and what is allowed: an unknown profile (the known ones
//! listed), a figure that is no duration, a sync of zero or above 10 s, a tail below the
//! median, a bandwidth under 1 MB/s; the measured file's own errors point into it.

use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use serde::de::{self, MapAccess, Visitor};
use serde::Deserialize;
use sim::disk_cost::DiskCost;
use toml::Spanned;

use super::one_of;
use crate::source::{Checked, ExperimentError, Source};
use crate::value::parse_duration;

/// Where the measured profile lives (relative to the repository), as its errors name it.
pub const MEASURED_FILE: &str = "experiments/disks/measured.toml";

/// The measured profile's text, built in.
const MEASURED_TEXT: &str = include_str!("../../../../experiments/disks/measured.toml");

/// A `disk` value as the file has it: a profile's name, or an inline profile.
#[derive(Debug, Clone, PartialEq)]
pub enum RawDisk {
    /// `disk = "nvme"`.
    Name(String),
    /// `disk = { sync = "80us", ... }`.
    Inline(RawProfile),
}

/// An inline profile, and the `[disk]` table of the measured file, field for field.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProfile {
    sync: Spanned<String>,
    sync_in_place: Option<Spanned<String>>,
    sync_p99: Option<Spanned<String>>,
    write_mb_per_s: Spanned<f64>,
}

impl<'de> Deserialize<'de> for RawDisk {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DiskVisitor;
        impl<'de> Visitor<'de> for DiskVisitor {
            type Value = RawDisk;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a disk profile's name or an inline profile {{ sync = \"80us\", write_mb_per_s = 900 }}")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<RawDisk, E> {
                Ok(RawDisk::Name(name.to_owned()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawDisk, A::Error> {
                RawProfile::deserialize(de::value::MapAccessDeserializer::new(map)).map(RawDisk::Inline)
            }
        }
        deserializer.deserialize_any(DiskVisitor)
    }
}

/// The measured file, field for field.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMeasured {
    disk: Spanned<RawProfile>,
    cpu: RawCpu,
    measured: Option<toml::Table>,
}

/// The measured file's `[cpu]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCpu {
    sqlite_commit: Spanned<String>,
    commit_log_write: Spanned<String>,
}

/// The engines' CPU cost per commit, measured with no sync (see [`MEASURED_FILE`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineCpu {
    /// One SQLite autocommit upsert, WAL, `synchronous=OFF`.
    pub sqlite_commit: Duration,
    /// One commit-log engine write, no sync.
    pub commit_log_write: Duration,
}

/// The measured file, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Measured {
    /// The `measured` disk profile.
    pub disk: DiskCost,
    /// The engines' CPU per commit.
    pub cpu: EngineCpu,
}

/// The longest CPU cost per commit a measured file may give.
const MAX_CPU: Duration = Duration::from_millis(100);

/// Parses a measured-profile file (`file` names it in errors).
pub fn parse_measured(file: &Path, text: &str) -> Checked<Measured> {
    let source = Source::new(file, text);
    let root = source.document()?.root;
    let raw: RawMeasured = root.finish()?;
    let span = raw.disk.span();
    let disk = source.disk_profile(raw.disk.get_ref(), span)?;
    let cpu = |value: &Spanned<String>, what: &str| {
        let parsed = source.fine_duration(value, what)?;
        if parsed > MAX_CPU {
            return source.fail(value.span(), format!("{what}: at most {MAX_CPU:?} per commit"));
        }
        Ok(parsed)
    };
    let cpu = EngineCpu {
        sqlite_commit: cpu(&raw.cpu.sqlite_commit, "sqlite_commit")?,
        commit_log_write: cpu(&raw.cpu.commit_log_write, "commit_log_write")?,
    };
    let _ = raw.measured;
    Ok(Measured { disk, cpu })
}

/// The built-in measured file, validated (once).
pub fn measured() -> Result<Measured, ExperimentError> {
    static MEASURED: OnceLock<Checked<Measured>> = OnceLock::new();
    MEASURED.get_or_init(|| parse_measured(Path::new(MEASURED_FILE), MEASURED_TEXT)).clone()
}

/// The disk a `[[system]]` asks for: `measured` when it names none.
pub fn resolve(source: Source<'_>, value: Option<&Spanned<RawDisk>>) -> Checked<DiskCost> {
    let Some(value) = value else { return Ok(measured()?.disk) };
    match value.get_ref() {
        RawDisk::Name(name) if name == sim::disk_cost::profile::MEASURED => Ok(measured()?.disk),
        RawDisk::Name(name) => match sim::disk_cost::profile::named(name) {
            Some(profile) => profile.cost().map_err(|e| source.error(value.span(), format!("disk `{name}`: {e}"))),
            None => source.fail(
                value.span(),
                format!("unknown disk profile `{name}`, expected {}", one_of(&sim::disk_cost::profile::names())),
            ),
        },
        RawDisk::Inline(profile) => source.disk_profile(profile, value.span()),
    }
}

/// The profile's name for descriptions: `None` for the default.
pub fn label(value: Option<&Spanned<RawDisk>>) -> Option<String> {
    match value.map(Spanned::get_ref) {
        None => None,
        Some(RawDisk::Name(name)) if name == sim::disk_cost::profile::MEASURED => None,
        Some(RawDisk::Name(name)) => Some(name.clone()),
        Some(RawDisk::Inline(profile)) => Some(format!(
            "sync {}, in place {}, p99 {}, {} MB/s",
            profile.sync.get_ref(),
            profile.sync_in_place.as_ref().map_or_else(|| profile.sync.get_ref().clone(), |v| v.get_ref().clone()),
            profile.sync_p99.as_ref().map_or("none", |v| v.get_ref().as_str()),
            profile.write_mb_per_s.get_ref()
        )),
    }
}

impl Source<'_> {
    /// A duration that may be finer than a millisecond: `80us`, `1.5ms`, `650ns`, or any unit
    /// [`parse_duration`] reads.
    fn fine_duration(&self, value: &Spanned<String>, what: &str) -> Checked<Duration> {
        let text = value.get_ref().trim();
        let fine = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6)]
            .into_iter()
            .find_map(|(unit, scale)| text.strip_suffix(unit).map(|number| (number, scale)));
        let parsed = match fine {
            Some((number, scale)) => number
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .and_then(|n| Duration::try_from_secs_f64(n * scale).ok())
                .ok_or_else(|| format!("`{text}` is not a duration: expected a number with a unit (ns, us, ms, s)")),
            None => parse_duration(text),
        };
        parsed.map_err(|e| self.error(value.span(), format!("{what}: {e}")))
    }

    /// An inline or measured profile, validated into a cost; `span` is the whole value.
    fn disk_profile(&self, raw: &RawProfile, span: Range<usize>) -> Checked<DiskCost> {
        let sync = self.fine_duration(&raw.sync, "sync")?;
        let in_place = raw.sync_in_place.as_ref().map(|v| self.fine_duration(v, "sync_in_place")).transpose()?;
        let p99 = raw.sync_p99.as_ref().map(|v| self.fine_duration(v, "sync_p99")).transpose()?;
        let mb = *raw.write_mb_per_s.get_ref();
        DiskCost::checked(sync, in_place, p99, mb).map_err(|e| {
            use sim::disk_cost::DiskCostError as E;
            let at = match &e {
                E::Sync { what: "sync_in_place", .. } | E::InPlace { .. } => {
                    raw.sync_in_place.as_ref().map(Spanned::span)
                }
                E::Sync { what: "sync_p99", .. } | E::Tail { .. } => raw.sync_p99.as_ref().map(Spanned::span),
                E::Sync { .. } => Some(raw.sync.span()),
                E::Bandwidth { .. } => Some(raw.write_mb_per_s.span()),
                _ => None,
            };
            self.error(at.unwrap_or(span), format!("disk: {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::tests::assert_error;

    #[test]
    fn the_committed_measured_file_is_valid() {
        let measured = measured().expect("experiments/disks/measured.toml");
        assert!(measured.disk.per_sync > Duration::ZERO);
        assert!(measured.disk.in_place_median() <= measured.disk.per_sync);
    }

    fn measured_error(text: &str) -> ExperimentError {
        parse_measured(Path::new("disks/m.toml"), text).expect_err("refused")
    }

    const CPU: &str = "[cpu]\nsqlite_commit = \"5us\"\ncommit_log_write = \"650ns\"\n";

    #[test]
    fn a_malformed_measured_file_is_refused_where_it_is_wrong() {
        let ok = format!(
            "[disk]\nsync = \"200us\"\nsync_in_place = \"100us\"\nsync_p99 = \"2ms\"\nwrite_mb_per_s = 1500\n{CPU}"
        );
        let parsed = parse_measured(Path::new("m.toml"), &ok).expect("valid");
        assert_eq!(parsed.disk.per_sync_in_place, Some(Duration::from_micros(100)));
        assert_eq!(parsed.cpu.commit_log_write, Duration::from_nanos(650));
        let cases = [
            // Not TOML.
            ("[disk\n".to_owned(), (1, 6), ""),
            // A figure that is no duration.
            (ok.replace("\"200us\"", "\"fast\""), (2, 8), "sync: `fast` is not a duration"),
            // An unknown key.
            (ok.replace("write_mb_per_s", "mb"), (5, 1), "unknown field `mb`"),
            // A missing table.
            (ok.replace(CPU, ""), (1, 1), "missing field `cpu`"),
            // Bandwidth 0.
            (ok.replace("= 1500", "= 0"), (5, 18), "expected at least 1 MB/s"),
            // An absurd CPU cost.
            (ok.replace("\"650ns\"", "\"2s\""), (8, 20), "commit_log_write: at most"),
        ];
        for (text, (line, column), needle) in cases {
            let e = measured_error(&text);
            assert_eq!((e.line, e.column), (line, column), "{e}");
            assert!(e.message.contains(needle), "`{}` should contain `{needle}`", e.message);
            assert!(e.to_string().starts_with(&format!("disks/m.toml:{line}:{column}: ")), "{e}");
        }
    }

    #[test]
    fn fine_durations_read_every_unit() {
        let source = Source::new(Path::new("x.toml"), "");
        let read = |text: &str| source.fine_duration(&Spanned::new(0..0, text.to_owned()), "x");
        assert_eq!(read("80us").ok(), Some(Duration::from_micros(80)));
        assert_eq!(read("650ns").ok(), Some(Duration::from_nanos(650)));
        assert_eq!(read("1.5ms").ok(), Some(Duration::from_micros(1_500)));
        assert_eq!(read("2s").ok(), Some(Duration::from_secs(2)));
        assert!(read("-80us").is_err());
        assert!(read("us").is_err());
    }

    /// A fault experiment with one system whose table ends with `extra` (line 9 on).
    fn experiment(kind: &str, extra: &str) -> String {
        format!(
            "name = \"t\"\nquestion = \"q\"\nseeds = 1\nduration = \"1s\"\n[workload]\nkind = \"kv\"\n[[system]]\nname = \"s\"\nkind = \"{kind}\"\n{extra}"
        )
    }

    fn systems(text: &str) -> Result<Vec<crate::spec::System>, ExperimentError> {
        match crate::parse(&crate::Registry::standard(), Path::new("d.toml"), text)? {
            crate::Script::Faults(experiment) => Ok(experiment.systems),
            other => panic!("expected a fault experiment, got {other:?}"),
        }
    }

    #[test]
    fn both_stores_take_a_named_or_inline_disk() -> Result<(), ExperimentError> {
        for kind in ["sqlite", "quorum"] {
            let default = systems(&experiment(kind, ""))?;
            assert_eq!(default[0].spec.disk_cost(), Some(measured()?.disk), "{kind}: measured by default");
            assert!(!default[0].spec.describe().contains("disk"), "the default is not mentioned");
            let nvme = systems(&experiment(kind, "disk = \"nvme\"\n"))?;
            assert_eq!(nvme[0].spec.disk_cost(), sim::disk_cost::profile::NVME.cost().ok());
            assert!(nvme[0].spec.describe().ends_with(", disk nvme"), "{}", nvme[0].spec.describe());
            let inline =
                systems(&experiment(kind, "disk = { sync = \"80us\", sync_p99 = \"400us\", write_mb_per_s = 900 }\n"))?;
            let cost = inline[0].spec.disk_cost().expect("a disk");
            assert_eq!((cost.per_sync, cost.sync_p99), (Duration::from_micros(80), Some(Duration::from_micros(400))));
            assert_eq!(cost.in_place_median(), Duration::from_micros(80), "in place defaults to sync");
        }
        Ok(())
    }

    #[test]
    fn bad_disks_are_refused_where_they_are_written() {
        let sql = |extra: &str| experiment("sqlite", extra);
        assert_error(
            &sql("disk = \"ssd\"\n"),
            10,
            8,
            "unknown disk profile `ssd`, expected `measured`, `nvme`, `sata-ssd`, `hdd` or `network-block`",
        );
        assert_error(&experiment("quorum", "disk = \"floppy\"\n"), 10, 8, "expected `measured`, `nvme`");
        assert_error(
            &sql("disk = { sync = \"-80us\", write_mb_per_s = 900 }\n"),
            10,
            17,
            "sync: `-80us` is not a duration",
        );
        assert_error(&sql("disk = { sync = \"11s\", write_mb_per_s = 900 }\n"), 10, 17, "at most 10s");
        assert_error(&sql("disk = { sync = \"80us\", write_mb_per_s = 0 }\n"), 10, 42, "expected at least 1 MB/s");
        assert_error(&sql("disk = { sync = \"80us\", write_mb_per_s = -3 }\n"), 10, 42, "expected at least 1 MB/s");
        assert_error(
            &sql("disk = { sync = \"80us\", sync_p99 = \"10us\", write_mb_per_s = 9 }\n"),
            10,
            36,
            "sync_p99 = 10µs",
        );
        assert_error(
            &sql("disk = { sync = \"80us\", sync_in_place = \"1ms\", write_mb_per_s = 9 }\n"),
            10,
            41,
            "exceeds sync",
        );
        assert_error(&sql("disk = { sync = \"80us\" }\n"), 10, 8, "missing field `write_mb_per_s`");
        assert_error(
            &sql("disk = { sync = \"80us\", write_mb_per_s = 9, iops = 3 }\n"),
            10,
            45,
            "unknown field `iops`",
        );
        assert_error(&sql("disk = 7\n"), 10, 8, "a disk profile's name or an inline profile");
    }

    #[test]
    fn a_list_of_disks_makes_one_system_per_profile() -> Result<(), ExperimentError> {
        let list = systems(&experiment("quorum", "disk = [\"nvme\", \"hdd\"]\n"))?;
        let names: Vec<&str> = list.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["s-nvme", "s-hdd"]);
        assert_eq!(list[1].spec.disk_cost(), sim::disk_cost::profile::HDD.cost().ok());
        assert_eq!(list[0].cluster.servers, ["n1", "n2", "n3"]);
        assert_error(&experiment("quorum", "disk = [\"nvme\", \"tape\"]\n"), 10, 17, "unknown disk profile `tape`");
        assert_error(&experiment("sqlite", "disk = []\n"), 10, 8, "expected at least one value");
        // The expanded names must not collide with another system's.
        let taken =
            format!("{}[[system]]\nname = \"s-hdd\"\nkind = \"sqlite\"\n", experiment("sqlite", "disk = [\"hdd\"]\n"));
        assert_error(&taken, 12, 8, "system `s-hdd` (one per disk): the name is taken");
        Ok(())
    }

    /// A system's name, its completed operations and its history.
    type Ran = (String, usize, Vec<history::Event>);

    /// Completed writes of each system of `text`, run with `seed`, and their histories.
    fn runs(text: &str, seed: u64) -> Result<Vec<Ran>, Box<dyn std::error::Error>> {
        let crate::Script::Faults(experiment) = crate::parse(&crate::Registry::standard(), Path::new("r.toml"), text)?
        else {
            return Err("expected a fault experiment".into());
        };
        let mut out = Vec::new();
        for system in &experiment.systems {
            let config = experiment.sim_config(system, seed)?;
            let history = system.spec.run(&config, None)?.result.history;
            let ok = history.iter().filter(|e| e.kind == history::EventType::Ok).count();
            out.push((system.name.clone(), ok, history));
        }
        Ok(out)
    }

    /// A slow disk makes a durable store slower in simulated time: one closed-loop client
    /// completes under half the writes in the same simulated second on `hdd` (26 ms per sync)
    /// as on `nvme` (60 us; the client also thinks between operations); a run with a spread
    /// stays a function of its seed, and differs from one that charges the medians alone.
    #[test]
    fn the_disk_profile_sets_the_pace_and_runs_stay_deterministic() -> Result<(), Box<dyn std::error::Error>> {
        let text = "name = \"t\"\nquestion = \"q\"\nseeds = 1\nduration = \"1s\"\n[workload]\nkind = \"kv\"\nmix = { read = 0, write = 1, cas = 0 }\nclient_hosts = 1\nclients_per_host = 1\n[[system]]\nname = \"s\"\nkind = \"sqlite\"\ndisk = [\"nvme\", \"hdd\"]\n";
        let ran = runs(text, 1)?;
        let (nvme, hdd) = (ran[0].1, ran[1].1);
        assert!(nvme > 2 * hdd && hdd > 0, "nvme {nvme} writes, hdd {hdd} writes");
        let spread = text.replace("disk = [\"nvme\", \"hdd\"]", "disk = \"sata-ssd\"")
            + "[[system]]\nname = \"q\"\nkind = \"quorum\"\ndisk = \"sata-ssd\"\n";
        // The same medians without the spread.
        let medians = spread.replace(
            "disk = \"sata-ssd\"",
            "disk = { sync = \"3ms\", sync_in_place = \"1.5ms\", write_mb_per_s = 500 }",
        );
        let (a, b, c) = (runs(&spread, 3)?, runs(&spread, 3)?, runs(&medians, 3)?);
        for store in 0..2 {
            assert_eq!(a[store].2, b[store].2, "{}: same seed, same history", a[store].0);
            assert_ne!(a[store].2, c[store].2, "{}: the spread is drawn", a[store].0);
        }
        Ok(())
    }
}
