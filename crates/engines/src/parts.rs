//! Where the time of one unsynced commit-log write goes: each step of `Engine::write` timed
//! alone over the same data (building the cell, encoding and framing it with its CRC, the
//! CRC alone, the memtable insert), beside one `pwrite` of a record into the page cache.
//! These explain the distance between the engine and large-block append bandwidth.

use std::fs::{self, OpenOptions};
use std::hint::black_box;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Instant;

use anyhow::Result;
use lsm::codec::{crc32, encode_cell, encode_framed_cell, frame};
use lsm::memtable::Memtable;
use serde::Serialize;

use super::lsm_cells::Data;

/// One step and its cost.
#[derive(Debug, Clone, Serialize)]
pub struct Part {
    /// What was timed.
    pub step: String,
    /// Nanoseconds per record (mean over the iterations).
    pub ns_per_record: f64,
}

fn timed(step: &str, iterations: u64, mut f: impl FnMut(u64)) -> Part {
    let start = Instant::now();
    for i in 0..iterations {
        f(i);
    }
    let ns = start.elapsed().as_nanos() as f64 / iterations.max(1) as f64;
    Part { step: step.to_owned(), ns_per_record: ns }
}

/// Times each step `iterations` times (the `pwrite` step appends to a file in `dir`, deleted
/// afterwards).
pub fn measure(dir: &Path, data: &Data, iterations: u64) -> Result<Vec<Part>> {
    let mut parts = Vec::new();
    parts.push(timed("build the cell (clone the 100-byte value)", iterations, |i| {
        black_box(data.row(i, 0));
    }));
    let (key0, cell0) = data.row(0, 0);
    let mut framed = Vec::new();
    parts.push(timed("encode_framed_cell (encode + CRC-32 into the reused buffer)", iterations, |_| {
        black_box(encode_framed_cell(&mut framed, black_box(key0), black_box(&cell0)).ok());
    }));
    let payload = encode_cell(key0, &cell0).unwrap_or_default();
    parts.push(timed("crc32 alone", iterations, |_| {
        black_box(crc32(&[black_box(&payload)]));
    }));
    let cells: Vec<_> = (0..data.keys.len() as u64).map(|i| data.row(i, 0)).collect();
    let mut memtable = Memtable::new();
    parts.push(timed(&format!("memtable insert ({} keys, overwrites)", data.keys.len()), iterations, |i| {
        let (key, cell) = &cells[(i % cells.len() as u64) as usize];
        black_box(memtable.insert(key, cell.clone()));
    }));
    let framed = frame(&payload);
    let path = dir.join("parts-pwrite");
    let _ = fs::remove_file(&path);
    let file = OpenOptions::new().read(true).write(true).create_new(true).open(&path)?;
    let mut failed = None;
    parts.push(timed(&format!("pwrite one {}-byte record (page cache)", framed.len()), iterations, |i| {
        if let Err(e) = file.write_all_at(&framed, i * framed.len() as u64) {
            failed = Some(e);
        }
    }));
    drop(file);
    fs::remove_file(&path)?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_is_timed() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("lab-parts-{}", std::process::id()));
        fs::create_dir_all(&dir)?;
        let parts = measure(&dir, &Data::new(10, 100), 100)?;
        assert_eq!(parts.len(), 5);
        assert!(parts.iter().all(|p| p.ns_per_record.is_finite() && p.ns_per_record >= 0.0));
        assert_eq!(fs::read_dir(&dir)?.count(), 0);
        fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
