//! Named disk profiles: the [`DiskCost`] of a kind of disk, each figure with its source.
//!
//! An experiment's `[[system]]` picks one with `disk = "NAME"`. The default, `measured`, is not
//! here: it is this machine's disk as `lab bench engines --write-profile` measured it, in the
//! committed file `experiments/disks/measured.toml` (read by the experiment crate). The others
//! are published figures where we found them and estimates (said so, and why) where we did not.
//!
//! Each profile gives four figures (see [`DiskCost`] for what they charge):
//! - `sync`: the median latency of a sync that also commits file-system metadata (an append
//!   that grew the file, a directory): a commit-log append + `fsync`;
//! - `sync_in_place`: the median latency of a sync of blocks overwritten in place
//!   (`fdatasync` with no size change): SQLite's WAL once it is being reused;
//! - `sync_p99`: the 99th percentile of `sync` (the spread, fitted as a log-normal);
//! - `write_mb_per_s`: sequential write bandwidth (10^6 bytes per second).
//!
//! | profile | sync | in place | p99 | MB/s | sources |
//! |---|---|---|---|---|---|
//! | `nvme` | 60 us | 30 us | 250 us | 2,000 | [`NVME`] |
//! | `sata-ssd` | 3 ms | 1.5 ms | 10 ms | 500 | [`SATA_SSD`] |
//! | `hdd` | 26 ms | 13 ms | 60 ms | 105 | [`HDD`] |
//! | `network-block` | 2 ms | 1 ms | 8 ms | 131 | [`NETWORK_BLOCK`] |

use std::time::Duration;

use super::{DiskCost, DiskCostError};

/// A named profile: its figures (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NamedProfile {
    /// Its name in experiment files.
    pub name: &'static str,
    /// What disk it is, in a few words.
    pub about: &'static str,
    /// Median sync that commits metadata.
    pub sync: Duration,
    /// Median sync in place.
    pub sync_in_place: Duration,
    /// 99th percentile of `sync`.
    pub sync_p99: Duration,
    /// Sequential write bandwidth, MB/s.
    pub write_mb_per_s: f64,
}

impl NamedProfile {
    /// The profile as a disk cost (validated like any other).
    pub fn cost(&self) -> Result<DiskCost, DiskCostError> {
        DiskCost::checked(self.sync, Some(self.sync_in_place), Some(self.sync_p99), self.write_mb_per_s)
    }
}

const fn us(n: u64) -> Duration {
    Duration::from_micros(n)
}

/// A datacenter NVMe SSD with power-loss protection (its write cache is safe, so a flush is
/// cheap).
///
/// - `sync` 60 us, `sync_in_place` 30 us: Mark Callaghan, "SSDs, power loss protection and
///   fsync latency" (smalldatum.blogspot.com, 2026-01-07) measured 16 KiB writes followed by a
///   sync at ~12-58 us on the devices with power-loss protection (Intel D7-P5520, Samsung
///   PM-9a3), against ~891 us on a consumer Samsung 990 Pro without it, and fsync at roughly
///   twice fdatasync on local NVMe. We take the top of the PLP range for a sync with metadata
///   and half of it in place.
/// - `sync_p99` 250 us: estimate (no published tail found): about four times the median.
/// - `write_mb_per_s` 2,000: estimate: PCIe 4 datacenter drives are quoted at a few GB/s of
///   sequential writes; 2 GB/s is a conservative round figure.
pub const NVME: NamedProfile = NamedProfile {
    name: "nvme",
    about: "datacenter NVMe SSD with power-loss protection",
    sync: us(60),
    sync_in_place: us(30),
    sync_p99: us(250),
    write_mb_per_s: 2_000.0,
};

/// A consumer SATA SSD without power-loss protection (a flush must empty its volatile cache).
///
/// - `sync` 3 ms, `sync_in_place` 1.5 ms, `sync_p99` 10 ms: estimate. No published SATA fsync
///   latency was found; consumer drives without power-loss protection flush the same way, and
///   the published consumer figures are: fsync 3.5 ms (~300 per second) on a Samsung 960 Pro
///   (Peter Zaitsev, Percona blog, 2018-07-18, "Why Consumer SSD Reviews are Useless for
///   Database Performance Use Case"); fdatasync 1.6 ms and fsync 5.6 ms for an 8 kB write on a
///   Samsung 990 Pro (Tanel Poder, "Using Postgres pg_test_fsync tool for testing low latency
///   writes", tanelpoder.com, 2025-05-27). We take fsync between those, fdatasync half of it
///   (as Poder's pair), and a tail about three times the median.
/// - `write_mb_per_s` 500: estimate from the interface: SATA III carries 6 Gb/s, 600 MB/s
///   after its 8b/10b encoding, and drives sustain a little less.
pub const SATA_SSD: NamedProfile = NamedProfile {
    name: "sata-ssd",
    about: "consumer SATA SSD without power-loss protection",
    sync: us(3_000),
    sync_in_place: us(1_500),
    sync_p99: us(10_000),
    write_mb_per_s: 500.0,
};

/// A 7,200 rpm hard disk.
///
/// - `sync_in_place` 13 ms: one positioning: average seek 9 ms plus average rotational
///   latency 4.17 ms (half of the 8.33 ms rotation), the Seagate Barracuda figures of the
///   operating-systems course notes at runestone.harisskiadas.com ("Hard disks", after OSTEP
///   ch. 37).
/// - `sync` 26 ms: estimate: a sync that commits metadata writes the data and then the file
///   system's journal elsewhere on the platter, two positionings.
/// - `sync_p99` 60 ms: estimate: two positionings at a full-stroke seek (~20 ms) plus a whole
///   rotation (8.33 ms) each.
/// - `write_mb_per_s` 105: the same source's transfer rate.
pub const HDD: NamedProfile = NamedProfile {
    name: "hdd",
    about: "7,200 rpm hard disk",
    sync: us(26_000),
    sync_in_place: us(13_000),
    sync_p99: us(60_000),
    write_mb_per_s: 105.0,
};

/// Cloud block storage: an AWS EBS gp3 volume at its baseline.
///
/// - `write_mb_per_s` 131: gp3's baseline throughput of 125 MiB/s (AWS EBS volume types; gp3
///   may be provisioned up to 1,000 MiB/s).
/// - `sync_in_place` 1 ms, `sync` 2 ms, `sync_p99` 8 ms: estimate within AWS's statement that
///   General Purpose SSD volumes "deliver single-digit millisecond latencies" (EBS volume
///   types) and that even io2 Block Express, the low-latency type, averages "under 500
///   microseconds for 16KiB I/O" (EBS user guide, "Amazon EBS optimization"): one network
///   round trip for an in-place flush, two (data, then the journal) for one with metadata,
///   and a tail at the top of "single-digit".
pub const NETWORK_BLOCK: NamedProfile = NamedProfile {
    name: "network-block",
    about: "cloud block storage (AWS EBS gp3 at baseline)",
    sync: us(2_000),
    sync_in_place: us(1_000),
    sync_p99: us(8_000),
    write_mb_per_s: 131.0,
};

/// The profile every experiment uses unless it names another: this machine's disk, from
/// `experiments/disks/measured.toml`.
pub const MEASURED: &str = "measured";

/// The published and estimated profiles, in the order listings show them.
pub const PROFILES: [NamedProfile; 4] = [NVME, SATA_SSD, HDD, NETWORK_BLOCK];

/// The profile named `name` (not `measured`, which is a file).
pub fn named(name: &str) -> Option<NamedProfile> {
    PROFILES.into_iter().find(|p| p.name == name)
}

/// Every profile name an experiment may use, `measured` first.
pub fn names() -> Vec<&'static str> {
    std::iter::once(MEASURED).chain(PROFILES.iter().map(|p| p.name)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_is_a_valid_cost_and_slower_disks_cost_more() {
        let costs: Vec<DiskCost> = PROFILES.iter().map(|p| p.cost().expect(p.name)).collect();
        for (profile, cost) in PROFILES.iter().zip(&costs) {
            assert!(cost.in_place_median() <= cost.per_sync, "{}", profile.name);
            assert!(cost.sync_p99 >= Some(cost.per_sync), "{}", profile.name);
        }
        let sync = |name| named(name).map(|p| p.sync);
        assert!(sync("nvme") < sync("network-block") && sync("network-block") < sync("sata-ssd"));
        assert!(sync("sata-ssd") < sync("hdd"));
    }

    #[test]
    fn names_start_with_measured_and_are_unique() {
        let names = names();
        assert_eq!(names[0], MEASURED);
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len());
        assert_eq!(named("measured"), None, "measured is a file, not a constant");
        assert_eq!(named("hdd"), Some(HDD));
    }
}
