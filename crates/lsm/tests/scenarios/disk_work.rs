//! Disk work accounting (what the server charges as simulated time) and determinism.

use lsm::codec::{encode_cell, frame};
use lsm::DiskWork;
use turmoil::fs::shim::std::fs as simfs;

use super::common::{builder, cell, config, contents, in_host, random_script, run_script, Fault, TestResult, DIR};

#[test]
fn syncs_and_bytes_are_counted() -> TestResult {
    in_host(1, || {
        let mut engine = super::common::open(config(1 << 20, 4))?;
        let opened = engine.take_disk_work();
        assert!(opened.syncs > 0, "creating the directory syncs its parents");
        let record = frame(&encode_cell("k", &cell(1, 1, 0)).map_err(|e| format!("{e:?}"))?).len() as u64;
        engine.write("k", cell(1, 1, 0))?;
        assert_eq!(engine.take_disk_work(), DiskWork { syncs: 0, bytes_written: record });
        engine.sync()?;
        // The segment's first sync also syncs the directory (its name).
        assert_eq!(engine.take_disk_work(), DiskWork { syncs: 2, bytes_written: 0 });
        engine.sync()?;
        assert_eq!(engine.take_disk_work(), DiskWork::default(), "nothing pending: free");
        engine.write("k", cell(2, 2, 0))?;
        engine.sync()?;
        assert_eq!(engine.take_disk_work(), DiskWork { syncs: 1, bytes_written: record });
        engine.flush()?;
        let flush = engine.take_disk_work();
        // SSTable + dir, manifest + dir (rename), old segment before deletion, dir.
        assert_eq!(flush.syncs, 6, "{flush:?}");
        assert!(flush.bytes_written > record, "{flush:?}");
        assert_eq!(engine.stats().log_bytes, 0);
        Ok(())
    })
}

fn directory() -> TestResult<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    for entry in simfs::read_dir(DIR)? {
        let path = entry?.path();
        files.push((path.to_string_lossy().into_owned(), simfs::read(&path)?));
    }
    files.sort();
    Ok(files)
}

#[test]
fn same_calls_same_files_and_work() -> TestResult {
    let run = || {
        in_host(7, || {
            let mut engine = super::common::open(config(500, 2))?;
            let mut work = engine.take_disk_work();
            for (i, step) in random_script(3, 200, 20, 4, 16).into_iter().enumerate() {
                match step {
                    super::common::Step::Write(k, c) => engine.write(&k, c)?,
                    _ => engine.sync()?,
                }
                if i % 50 == 0 {
                    engine.compact()?;
                }
                work = work.plus(engine.take_disk_work());
            }
            let stats = engine.stats();
            Ok((work, stats, contents(&engine)?, directory()?))
        })
    };
    let (first, second) = (run()?, run()?);
    assert!(first.1.flushes > 0 && first.1.compactions > 0, "{:?}", first.1);
    assert_eq!(first, second);
    Ok(())
}

#[test]
fn same_seed_same_crash_run() -> TestResult {
    let run = || {
        let script = random_script(5, 100, 10, 7, 20);
        let state = run_script(builder(5).build(), config(400, 2), script, &[(33, Fault::Crash), (70, Fault::Bounce)])?;
        Ok::<_, Box<dyn std::error::Error>>((state.starts, state.stats, state.flushes, state.compactions))
    };
    assert_eq!(run()?, run()?);
    Ok(())
}
