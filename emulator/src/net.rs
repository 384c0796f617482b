//! Socket settings of the card side's TCP connections (the TCP server of
//! `jct emu --listen` and the vpcd client of `jct emu --vpcd`).
//!
//! A card round trip is a few hundred bytes each way, strictly one request
//! then one reply, so every millisecond a TCP stack holds a segment back
//! shows up directly as APDU latency. Two stack behaviours do that:
//!
//! - Nagle's algorithm holds a small write while an earlier one is
//!   unacknowledged: off with TCP_NODELAY.
//! - Delayed ACKs hold the acknowledgement of what was read (up to 40 ms on
//!   Linux) hoping to piggyback it on a reply. pcscd's vpcd driver writes a
//!   frame's length and its payload in two writes with Nagle on, so its
//!   payload waits for our ACK of the length: off with TCP_QUICKACK, which
//!   Linux clears again on its own, hence [`QuickAckReader`] setting it
//!   after every read.

use std::io::{self, Read};
use std::net::TcpStream;

/// Applies the card side's settings to a freshly connected or accepted
/// socket: TCP_NODELAY, and TCP_QUICKACK where the platform has it.
pub fn configure(stream: &TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    quickack(stream);
    Ok(())
}

/// Asks the stack to acknowledge received data at once (Linux only; a
/// no-op elsewhere). Failure only costs latency, so it is not an error.
fn quickack(stream: &TcpStream) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let _ = socket2::SockRef::from(stream).set_quickack(true);
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let _ = stream;
}

/// Reads from a TCP stream and re-arms TCP_QUICKACK after each read, so
/// every segment the peer sends is acknowledged immediately rather than
/// after the delayed-ACK timer.
pub struct QuickAckReader<'a>(pub &'a TcpStream);

impl Read for QuickAckReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut stream = self.0;
        let n = stream.read(buf)?;
        quickack(self.0);
        Ok(n)
    }
}
