//! Everything jct prints on standard output goes through here, so that no
//! output call can panic (`println!` panics when stdout is gone).
//!
//! A closed pipe (`jct cap dump X | head`) is not a failure: the reader has
//! what it wanted. A write that meets one returns [`StdoutClosed`]; `main`
//! recognises it and ends quietly with success, as ripgrep and the classic
//! Unix tools do (Rust ignores SIGPIPE, so the write reports EPIPE instead
//! of the process being killed). Any other write error is a real error.

use std::fmt;
use std::io::{self, Write};

/// Standard output was closed by its reader: stop writing, exit 0.
#[derive(Debug)]
pub struct StdoutClosed;

impl fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("standard output closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// Writes `s` to stdout as it is.
pub fn text(s: &str) -> anyhow::Result<()> {
    write(|w| w.write_all(s.as_bytes()))
}

/// Writes one formatted line to stdout: `out::line(format_args!(...))`.
pub fn line(args: fmt::Arguments<'_>) -> anyhow::Result<()> {
    write(|w| {
        w.write_fmt(args)?;
        w.write_all(b"\n")
    })
}

/// Runs `f` on the locked stdout and flushes, so each call's output is out
/// (or its error known) before jct goes on.
fn write(f: impl FnOnce(&mut io::StdoutLock<'_>) -> io::Result<()>) -> anyhow::Result<()> {
    let mut w = io::stdout().lock();
    match f(&mut w).and_then(|()| w.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Err(StdoutClosed.into()),
        Err(e) => Err(anyhow::Error::new(e).context("writing to standard output")),
    }
}

/// Writes one formatted line to stderr (notes, progress, errors). A failure
/// to write there is ignored: there is no one left to tell, and `eprintln!`
/// would panic instead. Used through the `note!` macro.
pub fn err(args: fmt::Arguments<'_>) {
    let mut w = io::stderr().lock();
    let _ = w.write_fmt(args).and_then(|()| w.write_all(b"\n"));
}
