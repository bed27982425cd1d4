//! Standard output that outlives its reader.
//!
//! `lab check h.jsonl | head -1` closes the pipe while `lab` still has lines to write. Writing
//! then fails with `BrokenPipe`; propagated, that error would end the command early and, worse,
//! replace its exit status (an invalid history's 1, an input error's 2) with whatever the
//! broken pipe maps to. [`stdout`] gives a writer that, once the reader is gone, drops what is
//! written and lets the command finish, so that its exit status is the one it would have had.
//! Every other write error is still an error.

use std::io::{self, StdoutLock, Write};

/// A writer that discards its output once the reader has gone (see the module docs).
#[derive(Debug)]
pub struct PipeTolerant<W> {
    inner: W,
    closed: bool,
}

impl<W: Write> PipeTolerant<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        PipeTolerant { inner, closed: false }
    }

    /// Whether the reader has gone (everything written since was dropped).
    pub fn reader_gone(&self) -> bool {
        self.closed
    }

    fn absorb<T>(&mut self, result: io::Result<T>, instead: T) -> io::Result<T> {
        match result {
            Err(error) if error.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(instead)
            }
            other => other,
        }
    }
}

impl<W: Write> Write for PipeTolerant<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        let written = self.inner.write(buf);
        self.absorb(written, buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let flushed = self.inner.flush();
        self.absorb(flushed, ())
    }
}

/// The process's standard output, locked, tolerant of a closed pipe.
pub fn stdout() -> PipeTolerant<StdoutLock<'static>> {
    PipeTolerant::new(io::stdout().lock())
}

/// The process's peak resident memory so far (VmHWM) in MiB, from /proc (Linux); `None`
/// elsewhere.
pub fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that leaves after `accept` bytes; `other` fails every write with another error.
    struct Reader {
        accept: usize,
        got: Vec<u8>,
        other: bool,
    }

    impl Write for Reader {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.other {
                return Err(io::Error::other("disk full"));
            }
            if self.got.len() >= self.accept {
                return Err(io::Error::from(io::ErrorKind::BrokenPipe));
            }
            let n = buf.len().min(self.accept - self.got.len());
            self.got.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn after_the_reader_leaves_output_is_dropped_not_an_error() {
        let mut out = PipeTolerant::new(Reader { accept: 4, got: Vec::new(), other: false });
        writeln!(out, "one line").expect("the first bytes are taken, the rest dropped");
        assert!(out.reader_gone());
        writeln!(out, "another").expect("dropped");
        out.flush().expect("nothing to flush");
        assert_eq!(out.inner.got, b"one ");
    }

    #[test]
    fn other_write_errors_are_still_errors() {
        let mut out = PipeTolerant::new(Reader { accept: 100, got: Vec::new(), other: true });
        let error = writeln!(out, "x").expect_err("not a broken pipe");
        assert_eq!(error.to_string(), "disk full");
        assert!(!out.reader_gone());
    }
}
