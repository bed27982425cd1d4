//! What the machine is and what it did: the CPU, the kernel, the file system and block device
//! under the scratch directory, the device's flush and write counters (`/proc/diskstats`) and
//! this process's write counters (`/proc/self/io`).
//!
//! Why both counters: SQLite's default VFS cannot be intercepted without unsafe code, so its
//! syncs are estimated from the device's completed flush requests, which count every process
//! on the machine (the bench runs nothing else meanwhile; other sessions may). The commit-log
//! engine counts its syncs exactly, and its rows show both, which calibrates the estimate.
//! `/proc/self/io`'s `wchar` is exact and per process: the bytes this process handed to
//! `write`-family calls, whoever wrote them (SQLite included).

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;

/// The machine and the scratch directory's file system.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// The CPU model (`/proc/cpuinfo`).
    pub cpu: String,
    /// Logical CPUs.
    pub cpus: usize,
    /// The kernel release.
    pub kernel: String,
    /// The scratch directory (canonical).
    pub dir: PathBuf,
    /// The file system type under it (`ext4`, ...).
    pub fs_type: String,
    /// The mount point and mount options.
    pub mount: String,
    /// The block device (as named in `/proc/diskstats`), if found.
    pub device: Option<String>,
}

/// Reads what the machine is, for `dir` (which must exist). Refuses RAM-backed file systems
/// unless `allow_ram` (a test's scratch directory may be one).
pub fn describe(dir: &Path, allow_ram: bool) -> Result<Machine> {
    let dir = dir.canonicalize().with_context(|| format!("canonicalize {}", dir.display()))?;
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name").and_then(|r| r.split_once(':')).map(|(_, v)| v.trim().to_owned()))
        .unwrap_or_else(|| "unknown".to_owned());
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim().to_owned();
    let (mount_point, fs_type, options, dev) = mount_of(&dir)?;
    if !allow_ram && matches!(fs_type.as_str(), "tmpfs" | "ramfs" | "devtmpfs") {
        bail!("{} is on {fs_type}, not a real disk: pick another --dir", dir.display());
    }
    let device = device_name(dev);
    Ok(Machine { cpu, cpus, kernel, dir, fs_type, mount: format!("{mount_point} ({options})"), device })
}

/// The mount holding `path`: (mount point, type, options, device number from the path's own
/// metadata).
fn mount_of(path: &Path) -> Result<(String, String, String, u64)> {
    let dev = fs::metadata(path)?.dev();
    let mountinfo = fs::read_to_string("/proc/self/mountinfo").context("read /proc/self/mountinfo")?;
    let mut best: Option<(String, String, String)> = None;
    for line in mountinfo.lines() {
        // id parent major:minor root mount-point options [optional...] - type source super-options
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(sep) = fields.iter().position(|f| *f == "-") else { continue };
        let (Some(point), Some(options), Some(fs_type)) = (fields.get(4), fields.get(5), fields.get(sep + 1)) else {
            continue;
        };
        let point = point.replace("\\040", " ");
        if path.starts_with(&point) && best.as_ref().is_none_or(|(p, _, _)| point.len() >= p.len()) {
            best = Some((point, (*fs_type).to_owned(), (*options).to_owned()));
        }
    }
    let (point, fs_type, options) = best.context("no mount holds the scratch directory")?;
    Ok((point, fs_type, options, dev))
}

/// Linux's `major`/`minor` of a device number.
fn major_minor(dev: u64) -> (u64, u64) {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    (major, minor)
}

/// The `/proc/diskstats` name of device number `dev`.
fn device_name(dev: u64) -> Option<String> {
    let (major, minor) = major_minor(dev);
    let stats = fs::read_to_string("/proc/diskstats").ok()?;
    stats.lines().find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let name = f.get(2)?;
        (f.first()?.parse::<u64>().ok()? == major && f.get(1)?.parse::<u64>().ok()? == minor)
            .then(|| (*name).to_owned())
    })
}

/// Counters sampled before and after a measurement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// The device's completed flush requests (machine-wide; `/proc/diskstats` field 19).
    pub device_flushes: u64,
    /// Bytes the device wrote (machine-wide; sectors written x 512).
    pub device_bytes: u64,
    /// Bytes this process passed to `write`-family calls (`/proc/self/io` `wchar`).
    pub process_bytes: u64,
    /// This process's `write`-family calls (`syscw`).
    pub process_writes: u64,
}

impl Counters {
    /// Samples now (zeros for what cannot be read).
    pub fn sample(device: Option<&str>) -> Counters {
        let mut counters = Counters::default();
        if let Some(device) = device {
            let stats = fs::read_to_string("/proc/diskstats").unwrap_or_default();
            if let Some(f) =
                stats.lines().map(|l| l.split_whitespace().collect::<Vec<_>>()).find(|f| f.get(2) == Some(&device))
            {
                let at = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
                counters.device_bytes = at(9).saturating_mul(512);
                counters.device_flushes = at(18);
            }
        }
        let io = fs::read_to_string("/proc/self/io").unwrap_or_default();
        for line in io.lines() {
            if let Some((name, value)) = line.split_once(':') {
                let value = value.trim().parse().unwrap_or(0);
                match name {
                    "wchar" => counters.process_bytes = value,
                    "syscw" => counters.process_writes = value,
                    _ => {}
                }
            }
        }
        counters
    }

    /// What happened between `self` (before) and `after`.
    pub fn since(self, after: Counters) -> Counters {
        Counters {
            device_flushes: after.device_flushes.saturating_sub(self.device_flushes),
            device_bytes: after.device_bytes.saturating_sub(self.device_bytes),
            process_bytes: after.process_bytes.saturating_sub(self.process_bytes),
            process_writes: after.process_writes.saturating_sub(self.process_writes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_numbers_split_as_linux_does() {
        // makedev(254, 0) and makedev(259, 65537) (a large minor).
        assert_eq!(major_minor(0xfe00), (254, 0));
        let dev = (259u64 & 0xfff) << 8 | (65537u64 & 0xff) | ((65537u64 & !0xff) << 12);
        assert_eq!(major_minor(dev), (259, 65537));
    }

    #[test]
    fn process_write_counters_see_a_write() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("lab-machine-{}", std::process::id()));
        fs::create_dir_all(&dir)?;
        let machine = describe(&dir, true)?;
        assert!(!machine.fs_type.is_empty());
        let before = Counters::sample(machine.device.as_deref());
        fs::write(dir.join("x"), vec![7u8; 10_000])?;
        let delta = before.since(Counters::sample(machine.device.as_deref()));
        // Other test threads of this process may write too: at least ours is counted.
        assert!(delta.process_bytes >= 10_000, "{delta:?}");
        assert!(delta.process_writes >= 1);
        fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
