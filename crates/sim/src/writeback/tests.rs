//! The write-back model on turmoil's disk: hosts are told apart, written-back data survives a
//! power loss, a kill keeps the tracker and a power loss clears it.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use lsm::FileSystem;

use super::*;
use crate::fs::SimFs;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

const FILE: &str = "/data";
const CONTENT: &[u8] = b"unsynced";

/// What each host found on its disk when it came back, by host name.
type Found = Rc<RefCell<BTreeMap<String, Option<Vec<u8>>>>>;

/// A host that writes [`FILE`] without ever syncing it (unless it is there already: a killed
/// process restarted); after the test's restarts, it records what the file holds (`None`
/// when it is gone).
fn host_software(name: &'static str, found: Found, restarted: Rc<RefCell<bool>>) -> impl Fn() -> TestFuture {
    move || {
        let found = Rc::clone(&found);
        let restarted = Rc::clone(&restarted);
        Box::pin(async move {
            tokio::task::spawn_local(flusher(name.to_owned()));
            let path = Path::new(FILE);
            if *restarted.borrow() {
                let content = if SimFs.exists(path) {
                    let file = SimFs.open(path)?;
                    let mut buf = vec![0; CONTENT.len()];
                    let read = file.read_at(&mut buf, 0)?;
                    buf.truncate(read);
                    Some(buf)
                } else {
                    None
                };
                found.borrow_mut().insert(name.to_owned(), content);
            } else if !SimFs.exists(path) {
                time::sleep(ms(100)).await;
                SimFs.create_new(path)?.write_all_at(CONTENT, 0)?;
            }
            std::future::pending::<()>().await;
            Ok(())
        })
    }
}

type TestFuture = std::pin::Pin<Box<dyn std::future::Future<Output = turmoil::Result>>>;

#[test]
fn written_back_data_survives_a_power_loss_and_hosts_are_told_apart() {
    // Dirty from 0.1 s; eligible at 1.1 s; written back at the 1.5 s tick.
    let policy = WriteBack::periodic(ms(1000), ms(500)).expect("valid");
    let servers: Vec<String> = ["early", "late", "killed"].map(str::to_owned).to_vec();
    let mut builder = turmoil::Builder::new();
    builder.rng_seed(7).epoch(SystemTime::UNIX_EPOCH).tick_duration(ms(1)).simulation_duration(Duration::from_secs(10));
    let mut sim = builder.build();
    let os = install(&servers, policy);
    let found = Found::default();
    let restarted = Rc::new(RefCell::new(false));
    for name in ["early", "late", "killed"] {
        sim.host(name, host_software(name, Rc::clone(&found), Rc::clone(&restarted)));
    }
    let step_to = |sim: &mut turmoil::Sim<'_>, at: Duration| {
        while sim.elapsed() < at {
            sim.step().expect("the hosts run");
        }
    };

    step_to(&mut sim, ms(300));
    for host in &servers {
        let dirty = dirty(host);
        let file = dirty.iter().find(|(node, _)| *node == Node::File(FILE.into()));
        assert!(file.is_some_and(|(_, since)| (ms(100)..ms(110)).contains(since)), "{host}: {dirty:?}");
        assert!(dirty.iter().any(|(node, _)| *node == Node::Dir("/".into())), "{host}: {dirty:?}");
    }
    // A kill (a bounce): the process dies, the OS and its tracker live on.
    sim.bounce("killed");
    assert_eq!(dirty("killed").len(), 2, "a kill keeps the dirty data");

    // Power loss before the write-back: the data is gone, and so is the tracker's memory of it.
    step_to(&mut sim, ms(1200));
    sim.crash("late");
    power_loss("late");
    assert!(dirty("late").is_empty());
    assert_eq!(dirty("early").len(), 2, "one host's power loss is no other's");

    // The 1.5 s tick wrote the others back: clean, and durable through a power loss.
    step_to(&mut sim, ms(1700));
    assert!(dirty("early").is_empty(), "{:?}", dirty("early"));
    assert!(dirty("killed").is_empty(), "the killed process's data was written back: {:?}", dirty("killed"));
    for host in ["early", "killed"] {
        sim.crash(host);
        power_loss(host);
    }
    *restarted.borrow_mut() = true;
    for host in ["early", "late", "killed"] {
        sim.bounce(host);
    }
    step_to(&mut sim, ms(1800));
    let found = found.borrow().clone();
    let expected: BTreeMap<String, Option<Vec<u8>>> = [
        ("early".to_owned(), Some(CONTENT.to_vec())),
        ("killed".to_owned(), Some(CONTENT.to_vec())),
        ("late".to_owned(), None),
    ]
    .into_iter()
    .collect();
    assert_eq!(found, expected);
    drop(os);
    assert_eq!(super::policy(), WriteBack::Off, "uninstalled");
}

#[test]
fn renames_carry_dirt_and_removals_clean_and_turmoil_loses_writes_made_before_a_rename() {
    let policy = WriteBack::periodic(ms(1000), ms(500)).expect("valid");
    let mut builder = turmoil::Builder::new();
    builder.rng_seed(7).epoch(SystemTime::UNIX_EPOCH).tick_duration(ms(1)).simulation_duration(Duration::from_secs(10));
    let mut sim = builder.build();
    let _os = install(&["db".to_owned()], policy);
    let survived = Rc::new(RefCell::new(None));
    let restarted = Rc::new(RefCell::new(false));
    let (out, again) = (Rc::clone(&survived), Rc::clone(&restarted));
    sim.host("db", move || {
        let (out, again) = (Rc::clone(&out), Rc::clone(&again));
        async move {
            tokio::task::spawn_local(flusher("db".to_owned()));
            if *again.borrow() {
                let file = SimFs.open(Path::new("/b"))?;
                let mut buf = vec![0; CONTENT.len()];
                let read = file.read_at(&mut buf, 0)?;
                buf.truncate(read);
                *out.borrow_mut() = Some((buf, SimFs.exists(Path::new("/a")), SimFs.exists(Path::new("/c"))));
            } else {
                time::sleep(ms(100)).await;
                SimFs.create_new(Path::new("/a"))?.write_all_at(CONTENT, 0)?;
                SimFs.create_new(Path::new("/c"))?.write_all_at(CONTENT, 0)?;
                time::sleep(ms(100)).await;
                SimFs.rename(Path::new("/a"), Path::new("/b"))?;
                SimFs.remove_file(Path::new("/c"))?;
            }
            std::future::pending::<()>().await;
            Ok(())
        }
    });
    while sim.elapsed() < ms(300) {
        sim.step().expect("the host runs");
    }
    let dirty = dirty("db");
    let files: Vec<&Node> = dirty.iter().map(|(node, _)| node).collect();
    assert_eq!(files, [&Node::File("/b".into()), &Node::Dir("/".into())], "{dirty:?}");
    assert!((ms(100)..ms(110)).contains(&dirty[0].1), "/b is dirty since /a was: {dirty:?}");
    // Written back at 1.5 s (dirty since 0.1 s), then the power goes.
    while sim.elapsed() < ms(1600) {
        sim.step().expect("the host runs");
    }
    sim.crash("db");
    power_loss("db");
    *restarted.borrow_mut() = true;
    sim.bounce("db");
    while sim.elapsed() < ms(1700) {
        sim.step().expect("the host runs");
    }
    // The rename and the removal were written back (the directory). The data written before
    // the rename was not: turmoil keeps a pending write under the path it was made at and
    // flushes it only by a sync of that path, which no longer exists after the rename, so no
    // sync (the application's or the write-back's) can save it. A turmoil limitation; the
    // engine syncs its files before renaming them.
    assert_eq!(*survived.borrow(), Some((Vec::new(), false, false)));
}

#[test]
fn outside_a_run_the_hooks_do_nothing() {
    wrote(Path::new("/x"));
    assert!(dirty("db").is_empty());
    assert_eq!(policy(), WriteBack::Off);
    let _os = install(&["db".to_owned()], WriteBack::default());
    // Installed, but no host is being stepped: no current host.
    wrote(Path::new("/x"));
    assert!(dirty("db").is_empty());
    assert_eq!(policy(), WriteBack::default());
}

#[test]
fn ticks_are_on_the_interval_grid() {
    assert_eq!(next_tick(Duration::ZERO, ms(500)), ms(500));
    assert_eq!(next_tick(ms(499), ms(500)), ms(500));
    assert_eq!(next_tick(ms(500), ms(500)), ms(1000));
    assert_eq!(parent(Path::new("/a/b")), PathBuf::from("/a"));
    assert_eq!(parent(Path::new("b")), PathBuf::from("/"));
}
