//! TLS connections as the two sockets use them.
//!
//! The personalization socket is strictly request and answer, so it runs a
//! plain blocking [`rustls::StreamOwned`]. The control socket carries
//! messages both ways at any time (a request while a result is on its
//! way), so [`Duplex`] splits one TLS connection into a reading half that
//! blocks on the socket without holding the connection and a writing half
//! that sends at once; the TLS state is shared under a mutex held only to
//! feed or drain it.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::frame::{self, Decoder, FrameError};

/// Runs the TLS handshake on a fresh connection.
pub fn handshake(conn: &mut rustls::Connection, stream: &mut TcpStream) -> io::Result<()> {
    while conn.is_handshaking() {
        conn.complete_io(stream)?;
    }
    // Flush what the handshake left (TLS 1.3 session tickets).
    while conn.wants_write() {
        conn.write_tls(stream)?;
    }
    Ok(())
}

/// The shared part of a split TLS connection.
#[derive(Clone)]
pub struct Duplex {
    conn: Arc<Mutex<rustls::Connection>>,
    stream: Arc<TcpStream>,
    max: usize,
}

/// The reading half: whole frames out.
pub struct DuplexReader {
    shared: Duplex,
    decoder: Decoder,
    plain: Vec<u8>,
}

fn lock_err() -> io::Error {
    io::Error::other("TLS connection state poisoned")
}

impl Duplex {
    /// Splits a connection whose handshake is done. Frames of at most
    /// `max` bytes.
    pub fn split(
        conn: rustls::Connection,
        stream: TcpStream,
        max: usize,
    ) -> (Duplex, DuplexReader) {
        let shared = Duplex {
            conn: Arc::new(Mutex::new(conn)),
            stream: Arc::new(stream),
            max,
        };
        let reader = DuplexReader {
            shared: shared.clone(),
            decoder: Decoder::new(max),
            plain: Vec::new(),
        };
        (shared, reader)
    }

    /// Sends one frame now.
    pub fn send(&self, body: &[u8]) -> Result<(), FrameError> {
        let bytes = frame::encode(body, self.max)?;
        let mut conn = self.conn.lock().map_err(|_| lock_err())?;
        conn.writer().write_all(&bytes)?;
        let mut s: &TcpStream = &self.stream;
        while conn.wants_write() {
            conn.write_tls(&mut s)?;
        }
        Ok(())
    }

    /// Closes both directions; the reading half's next read fails.
    pub fn close(&self) {
        if let Ok(mut conn) = self.conn.lock() {
            conn.send_close_notify();
            let mut s: &TcpStream = &self.stream;
            let _ = conn.write_tls(&mut s);
        }
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// The peer's address, for messages.
    pub fn peer(&self) -> String {
        self.stream
            .peer_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "?".into())
    }
}

impl DuplexReader {
    /// The next frame; blocks until one is whole or the connection ends.
    /// With a read timeout set on the socket, returns a timeout error
    /// ([`frame::is_timeout`]) that may simply be retried.
    pub fn next_frame(&mut self) -> Result<Vec<u8>, FrameError> {
        let mut raw = [0u8; 16 * 1024];
        loop {
            // Plaintext already decrypted goes to the decoder first.
            while !self.plain.is_empty() {
                let n = self.decoder.push(&self.plain)?;
                self.plain.drain(..n);
                if let Some(f) = self.decoder.take() {
                    return Ok(f);
                }
            }
            let mut s: &TcpStream = &self.shared.stream;
            let n = match s.read(&mut raw) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(FrameError::Io(e)),
            };
            let mut conn = self.shared.conn.lock().map_err(|_| lock_err())?;
            if n == 0 {
                return Err(self.decoder.closed());
            }
            let mut input = &raw[..n];
            while !input.is_empty() {
                conn.read_tls(&mut input)?;
                let state = conn
                    .process_new_packets()
                    .map_err(|e| FrameError::Io(io::Error::new(io::ErrorKind::InvalidData, e)))?;
                let available = state.plaintext_bytes_to_read();
                if available > 0 {
                    // Bounded: never more than a frame and what follows in
                    // one TLS record (16 KiB).
                    if self.plain.len() + available > self.shared.max + 32 * 1024 {
                        return Err(FrameError::TooLong {
                            len: self.plain.len() + available,
                            max: self.shared.max,
                        });
                    }
                    let start = self.plain.len();
                    self.plain.resize(start + available, 0);
                    conn.reader().read_exact(&mut self.plain[start..])?;
                }
                if state.peer_has_closed() && self.plain.is_empty() && !self.decoder.in_frame() {
                    return Err(FrameError::Closed);
                }
            }
            let mut w: &TcpStream = &self.shared.stream;
            while conn.wants_write() {
                conn.write_tls(&mut w)?;
            }
        }
    }

    /// Sets the socket's read timeout (both halves share the socket).
    pub fn set_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.shared.stream.set_read_timeout(t)
    }
}

/// The threads of a running station or key server and their stop flag.
pub struct Workers {
    pub stop: Arc<AtomicBool>,
    pub threads: Vec<JoinHandle<()>>,
}

impl Workers {
    /// Raises the stop flag and waits for every thread.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            let _ = t.join();
        }
    }

    /// Waits until `flag` is raised (Ctrl-C), then stops.
    pub fn run_until(self, flag: &AtomicBool) {
        while !flag.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
        }
        self.stop();
    }
}
