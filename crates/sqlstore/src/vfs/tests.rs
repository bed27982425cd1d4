//! VFS behaviour that needs no SQLite: refusals, scopes, RNG, short reads, counters, commit
//! points and full disks.

use std::rc::Rc;

use sim::disk_cost::{DiskWork, SyncKinds};

use super::*;

#[test]
fn refuses_outside_a_simulation() {
    let io = Arc::new(DiskIo::new(1));
    assert!(io.check().is_err());
    assert!(io.writeback().is_err());
    let _scope = IoScope::enter(&io);
    let vfs = DiskVfs::default();
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
        // The file grew before the first sync, not before the second.
        assert_eq!(io.take_sync_kinds(), SyncKinds { in_place: 1 });
        assert_eq!(io.take_work(), DiskWork::default());
        assert_eq!(io.writeback()?, 2);
        assert_eq!(io.writeback_syncs(), 2);
        drop(file);
        assert_eq!(io.writeback()?, 0);
        Ok(())
    });
    sim.run()
}

#[test]
fn commit_frame_headers_are_recognised() {
    let mut header = [0u8; WAL_FRAME_HEADER_BYTES];
    assert!(!is_commit_frame_header(&header, 32), "database size zero: not a commit frame");
    header[7] = 3;
    assert!(is_commit_frame_header(&header, 32));
    assert!(!is_commit_frame_header(&header, 0), "the WAL's own header comes first");
    assert!(!is_commit_frame_header(&[1u8; 4096], 56), "a page is not a header");
    let full = write_error(io::Error::other("No space left on device"));
    assert_eq!(full.kind(), io::ErrorKind::WriteZero, "becomes SQLITE_FULL");
    assert_eq!(write_error(io::Error::other("I/O error")).kind(), io::ErrorKind::Other);
}

/// Writes a WAL header, a commit frame's header, then its page, on a disk with `capacity`;
/// returns the page write's outcome, the commit points counted and the frame header read back.
fn commit_frame_on(capacity: Option<u64>) -> turmoil::Result<(io::Result<()>, u64, Vec<u8>)> {
    let mut builder = turmoil::Builder::new();
    if let Some(bytes) = capacity {
        builder.fs().capacity(bytes);
    }
    let mut sim = builder.build();
    let out = Rc::new(RefCell::new(None));
    let slot = Rc::clone(&out);
    sim.client("h", async move {
        let io = Arc::new(DiskIo::new(1));
        let _scope = IoScope::enter(&io);
        let mut wal = open_file("/db-wal", OpenAccess::Create)?;
        wal.write_all_at(&[7u8; 32], 0)?;
        let mut header = [9u8; WAL_FRAME_HEADER_BYTES];
        header[4..8].copy_from_slice(&2u32.to_be_bytes());
        wal.write_all_at(&header, 32)?;
        let page = wal.write_all_at(&[5u8; 4096], 56);
        let mut back = vec![0u8; WAL_FRAME_HEADER_BYTES];
        wal.read_exact_at(&mut back, 32)?;
        *slot.borrow_mut() = Some((page, io.commit_points(), back));
        Ok(())
    });
    sim.run()?;
    let result = out.borrow_mut().take();
    result.ok_or_else(|| "the host never ran".into())
}

#[test]
fn a_commit_frame_whose_page_fails_is_erased_and_not_a_commit_point() -> turmoil::Result {
    let (page, points, header) = commit_frame_on(None)?;
    assert!(page.is_ok());
    assert_eq!(points, 1, "a complete commit frame is a commit point");
    assert_eq!(header[4..8], 2u32.to_be_bytes());
    let (page, points, header) = commit_frame_on(Some(1_000))?;
    assert_eq!(page.map_err(|e| e.kind()), Err(io::ErrorKind::WriteZero), "the disk is full");
    assert_eq!(points, 0, "the transaction certainly did not commit");
    assert_eq!(header, vec![0u8; WAL_FRAME_HEADER_BYTES], "the header was erased");
    Ok(())
}

#[test]
fn syncs_after_a_length_change_commit_metadata_and_others_are_in_place() -> turmoil::Result {
    let mut sim = turmoil::Builder::new().build();
    sim.client("h", async {
        let io = Arc::new(DiskIo::new(1));
        let _scope = IoScope::enter(&io);
        let mut file = open_file("/f", OpenAccess::Create)?;
        file.write_all_at(&[1u8; 100], 0)?;
        file.sync(false)?; // grew: metadata (and the directory's first sync)
        file.write_all_at(&[2u8; 50], 10)?;
        file.sync(false)?; // overwrote: in place
        file.write_all_at(&[3u8; 10], 95)?;
        file.sync(false)?; // grew by 5 bytes: metadata
        file.set_len(40)?;
        file.sync(false)?; // shrank: metadata
        file.set_len(40)?;
        file.sync(false)?; // same length: in place
        assert_eq!(io.take_work().syncs, 6);
        assert_eq!(io.take_sync_kinds(), SyncKinds { in_place: 2 });
        assert_eq!(io.take_sync_kinds(), SyncKinds::default(), "taking resets");
        // A handle opened on an existing file starts from its length.
        drop(file);
        let mut again = open_file("/f", OpenAccess::Write)?;
        again.write_all_at(&[4u8; 40], 0)?;
        again.sync(false)?;
        assert_eq!(io.take_sync_kinds(), SyncKinds { in_place: 1 });
        Ok(())
    });
    sim.run()
}
