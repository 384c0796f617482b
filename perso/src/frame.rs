//! Length-prefixed frames, the framing of both station sockets: a 4-byte
//! big-endian length N (1 ≤ N ≤ the socket's maximum), then N bytes.
//!
//! The [`Decoder`] is sans-I/O: bytes go in as they arrive (a TLS record,
//! half a frame, three frames), whole frames come out. It never holds more
//! than one frame and its header, so a peer announcing a huge frame is
//! refused at the header, before any of it is buffered.

use std::io::{self, Read, Write};

/// Bytes of the length header.
pub const HEADER: usize = 4;

/// Largest control message (JSON): requests and results are small; a
/// megabyte leaves room for card identification and long messages.
pub const MAX_CONTROL: usize = 1 << 20;

/// Largest personalization frame: an extended-length APDU (65,535 data
/// bytes, header, Lc, Le) or response (65,536 + SW) and the frame's own
/// type and timeout bytes.
pub const MAX_PERSO: usize = 65_536 + 16;

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The header announces more than the socket takes.
    #[error("frame of {len} bytes announced, the limit is {max}")]
    TooLong { len: usize, max: usize },
    /// A zero-length frame: nothing is sent without content.
    #[error("empty frame")]
    Empty,
    /// The peer closed the connection between frames.
    #[error("connection closed")]
    Closed,
    /// The peer closed the connection inside a frame.
    #[error("connection closed inside a frame ({have} of {want} bytes)")]
    Truncated { have: usize, want: usize },
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Encodes one frame: header and body.
pub fn encode(body: &[u8], max: usize) -> Result<Vec<u8>, FrameError> {
    if body.is_empty() {
        return Err(FrameError::Empty);
    }
    if body.len() > max {
        return Err(FrameError::TooLong {
            len: body.len(),
            max,
        });
    }
    let len = u32::try_from(body.len()).map_err(|_| FrameError::TooLong {
        len: body.len(),
        max,
    })?;
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    Ok(out)
}

/// Reassembles frames from bytes as they arrive.
#[derive(Debug)]
pub struct Decoder {
    max: usize,
    buf: Vec<u8>,
}

impl Decoder {
    /// A decoder for frames of at most `max` bytes.
    pub fn new(max: usize) -> Decoder {
        Decoder {
            max,
            buf: Vec::new(),
        }
    }

    /// How many more bytes the decoder can take before it holds a whole
    /// frame: what a reader should read at most, so the buffer stays
    /// bounded by one frame. Nothing once the header was refused.
    pub fn wants(&self) -> usize {
        if self.buf.len() < HEADER {
            return HEADER - self.buf.len();
        }
        if self.check().is_err() {
            return 0;
        }
        (HEADER + self.announced()).saturating_sub(self.buf.len())
    }

    fn announced(&self) -> usize {
        let mut h = [0u8; HEADER];
        h.copy_from_slice(&self.buf[..HEADER]);
        u32::from_be_bytes(h) as usize
    }

    /// Whether the header, once whole, announces a frame this socket takes.
    fn check(&self) -> Result<(), FrameError> {
        if self.buf.len() < HEADER {
            return Ok(());
        }
        match self.announced() {
            0 => Err(FrameError::Empty),
            len if len > self.max => Err(FrameError::TooLong { len, max: self.max }),
            _ => Ok(()),
        }
    }

    /// Bytes held: never more than one frame and its header.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Adds bytes (at most [`Decoder::wants`] of them; the rest is
    /// returned unconsumed as a count). Fails as soon as the header
    /// announces an empty or too long frame, and keeps failing without
    /// taking anything more: a caller that goes on pushing after the error
    /// cannot make it buffer the announced length.
    pub fn push(&mut self, bytes: &[u8]) -> Result<usize, FrameError> {
        self.check()?;
        let take = bytes.len().min(self.wants());
        self.buf.extend_from_slice(&bytes[..take]);
        self.check()?;
        Ok(take)
    }

    /// The frame assembled, if it is whole.
    pub fn take(&mut self) -> Option<Vec<u8>> {
        if self.buf.len() >= HEADER && self.buf.len() == HEADER + self.announced() {
            let body = self.buf.split_off(HEADER);
            self.buf.clear();
            Some(body)
        } else {
            None
        }
    }

    /// Whether part of a frame is buffered.
    pub fn in_frame(&self) -> bool {
        !self.buf.is_empty()
    }

    /// Bytes buffered and the frame length they belong to, for errors.
    fn progress(&self) -> (usize, usize) {
        let want = if self.buf.len() >= HEADER {
            HEADER + self.announced()
        } else {
            HEADER
        };
        (self.buf.len(), want)
    }

    /// The error for a connection that ended now: between frames, or
    /// inside one (saying how much of it came).
    pub fn closed(&self) -> FrameError {
        if self.in_frame() {
            let (have, want) = self.progress();
            FrameError::Truncated { have, want }
        } else {
            FrameError::Closed
        }
    }

    /// Reads from `r` until a frame is whole (blocking reads). With a read
    /// timeout on the stream, a timeout returns the I/O error and keeps
    /// what was read, so the call can simply be repeated.
    pub fn read_from(&mut self, r: &mut impl Read) -> Result<Vec<u8>, FrameError> {
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if let Some(frame) = self.take() {
                return Ok(frame);
            }
            let want = self.wants().min(chunk.len());
            let n = match r.read(&mut chunk[..want]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(FrameError::Io(e)),
            };
            if n == 0 {
                return Err(self.closed());
            }
            self.push(&chunk[..n])?;
        }
    }
}

/// Writes one frame and flushes.
pub fn write(w: &mut impl Write, body: &[u8], max: usize) -> Result<(), FrameError> {
    let bytes = encode(body, max)?;
    w.write_all(&bytes)?;
    w.flush()?;
    Ok(())
}

/// Whether an error is only a read timeout (try again) rather than a
/// broken connection.
pub fn is_timeout(e: &FrameError) -> bool {
    matches!(e, FrameError::Io(io) if matches!(io.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_split_anywhere_come_out_whole() {
        let mut stream = encode(b"hello", 100).unwrap();
        stream.extend(encode(b"w", 100).unwrap());
        for cut in 0..stream.len() {
            let mut d = Decoder::new(100);
            let mut out = Vec::new();
            for part in [&stream[..cut], &stream[cut..]] {
                let mut rest = part;
                while !rest.is_empty() {
                    let n = d.push(rest).unwrap();
                    rest = &rest[n..];
                    if let Some(f) = d.take() {
                        out.push(f);
                    }
                }
            }
            assert_eq!(out, vec![b"hello".to_vec(), b"w".to_vec()], "cut {cut}");
        }
    }

    #[test]
    fn oversized_and_empty_frames_are_refused_at_the_header() {
        let mut d = Decoder::new(10);
        let err = d.push(&[0, 0, 0, 11]).unwrap_err();
        assert!(
            matches!(err, FrameError::TooLong { len: 11, max: 10 }),
            "{err}"
        );
        let mut d = Decoder::new(10);
        assert!(matches!(d.push(&[0, 0, 0, 0]), Err(FrameError::Empty)));
        let mut d = Decoder::new(10);
        let err = d.push(&[0xFF, 0xFF, 0xFF, 0xFF]).unwrap_err();
        assert!(err.to_string().contains("4294967295"), "{err}");
        assert!(encode(&[0; 11], 10).is_err());
        assert!(encode(&[], 10).is_err());
    }

    #[test]
    fn a_refused_header_takes_nothing_more() {
        // Pushing on after the error must not buffer the announced 4 GiB.
        let mut d = Decoder::new(10);
        assert!(d.push(&[0xFF, 0xFF, 0xFF, 0xFF]).is_err());
        for _ in 0..100 {
            assert!(d.push(&[0u8; 1000]).is_err());
        }
        assert_eq!(d.buffered(), HEADER);
        assert_eq!(d.wants(), 0);
        let mut d = Decoder::new(10);
        assert!(d.push(&[0, 0, 0, 0, 1, 2, 3]).is_err());
        assert!(d.push(&[1, 2, 3]).is_err());
        assert_eq!(d.buffered(), HEADER);
    }

    #[test]
    fn a_connection_closed_inside_a_frame_says_so() {
        let bytes = encode(b"abcdef", 100).unwrap();
        let mut r = &bytes[..7];
        let err = Decoder::new(100).read_from(&mut r).unwrap_err();
        assert!(
            matches!(err, FrameError::Truncated { have: 7, want: 10 }),
            "{err}"
        );
        let mut empty: &[u8] = &[];
        let err = Decoder::new(100).read_from(&mut empty).unwrap_err();
        assert!(matches!(err, FrameError::Closed));
    }
}
