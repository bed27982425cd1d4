//! VFS behaviour that needs no SQLite: refusals, scopes, RNG, short reads, counters.

use super::*;

#[test]
fn refuses_outside_a_simulation() {
    let io = Arc::new(DiskIo::new(1));
    assert!(io.check().is_err());
    assert!(io.writeback().is_err());
    let _scope = IoScope::enter(&io);
    let vfs = SimDiskVfs::default();
    assert!(vfs.exists("/x").is_err());
    assert!(vfs.delete("/x").is_err());
}

#[test]
fn dead_store_refuses_inside_a_simulation() -> turmoil::Result {
    let mut sim = turmoil::Builder::new().build();
    sim.client("h", async {
        let io = Arc::new(DiskIo::new(1));
        io.check()?;
        io.kill();
        assert!(io.check().is_err());
        Ok(())
    });
    sim.run()
}

#[test]
fn scopes_nest_and_restore() {
    let a = Arc::new(DiskIo::new(1));
    let b = Arc::new(DiskIo::new(2));
    assert!(current_io().is_err());
    {
        let _outer = IoScope::enter(&a);
        {
            let _inner = IoScope::enter(&b);
            assert!(Arc::ptr_eq(&current_io().expect("inner"), &b));
        }
        assert!(Arc::ptr_eq(&current_io().expect("outer"), &a));
    }
    assert!(current_io().is_err());
}

#[test]
fn random_is_seeded() {
    let draw = |seed| {
        let io = DiskIo::new(seed);
        let mut buffer = [0i8; 20];
        io.fill_random(&mut buffer);
        buffer
    };
    assert_eq!(draw(7), draw(7));
    assert_ne!(draw(7), draw(8));
}

#[test]
fn short_reads_zero_fill_and_syncs_are_counted() -> turmoil::Result {
    let mut sim = turmoil::Builder::new().build();
    sim.client("h", async {
        let io = Arc::new(DiskIo::new(1));
        let _scope = IoScope::enter(&io);
        let mut file = open_file("/f", OpenAccess::Create)?;
        file.write_all_at(b"abc", 0)?;
        let mut buf = [0xffu8; 6];
        let err = file.read_exact_at(&mut buf, 1).expect_err("short");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(&buf, b"bc\0\0\0\0");
        file.sync(false)?;
        file.sync(false)?;
        // Two file syncs, one directory sync (the first time only).
        assert_eq!(io.take_work(), DiskWork { syncs: 3, bytes_written: 3 });
        assert_eq!(io.take_work(), DiskWork::default());
        assert_eq!(io.writeback()?, 2);
        assert_eq!(io.writeback_syncs(), 2);
        drop(file);
        assert_eq!(io.writeback()?, 0);
        Ok(())
    });
    sim.run()
}
